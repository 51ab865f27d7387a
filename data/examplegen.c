/*
 * examplegen.c: CsvExampleGen (see examplegen.h for the contract).
 *
 * Threads: the calling thread parses the CSV, builds each tf.Example and
 * serializes it deterministically; a writer thread hashes each record to
 * its split and shard, frames and gzips it (about half the work each). They
 * meet in a bounded queue of batches (QUEUE_DEPTH x about BATCH_BYTES), so
 * memory stays flat whatever the row count.
 */
#include "data/examplegen.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/csv.h"
#include "formats/buf.h"
#include "formats/example.h"
#include "formats/file.h"
#include "formats/sha256.h"
#include "formats/tfrecord.h"

#define BATCH_BYTES (1u << 20)
#define QUEUE_DEPTH 4
#define MAX_WARNINGS 10

/* ---- splits ------------------------------------------------------------- */

int cfx_examplegen_parse_splits(const char *spec, cfx_split_spec_t *out,
                                size_t *num, cfx_error_t *err) {
    size_t n = 0;
    uint64_t total = 0;
    const char *p = spec;
    *num = 0;
    if (!spec || !*spec)
        return cfx_error_set(err, CFX_EINVAL, "--split: empty");
    while (*p) {
        const char *colon = strchr(p, ':');
        if (!colon)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--split '%s': expected name:buckets", spec);
        size_t nl = (size_t)(colon - p);
        if (nl == 0 || nl >= CFX_EXAMPLEGEN_SPLIT_NAME_MAX)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--split '%s': split name must have 1 to %d "
                                 "characters",
                                 spec, CFX_EXAMPLEGEN_SPLIT_NAME_MAX - 1);
        for (size_t i = 0; i < nl; i++) {
            char c = p[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '_' || c == '-'))
                return cfx_error_set(err, CFX_EINVAL,
                                     "--split '%s': character '%c' not "
                                     "allowed in a split name",
                                     spec, c);
        }
        if (n == CFX_EXAMPLEGEN_MAX_SPLITS)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--split '%s': more than %d splits", spec,
                                 CFX_EXAMPLEGEN_MAX_SPLITS);
        char *end;
        errno = 0;
        unsigned long b = strtoul(colon + 1, &end, 10);
        if (end == colon + 1 || (*end && *end != ',') || errno || b == 0 ||
            colon[1] == '-' || b > CFX_EXAMPLEGEN_MAX_BUCKETS)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--split '%s': buckets of '%.*s' must be an "
                                 "integer in 1..%u",
                                 spec, (int)nl, p, CFX_EXAMPLEGEN_MAX_BUCKETS);
        memcpy(out[n].name, p, nl);
        out[n].name[nl] = '\0';
        for (size_t j = 0; j < n; j++)
            if (strcmp(out[j].name, out[n].name) == 0)
                return cfx_error_set(err, CFX_EINVAL,
                                     "--split '%s': split '%s' given twice",
                                     spec, out[n].name);
        out[n].buckets = (uint32_t)b;
        total += b;
        if (total > CFX_EXAMPLEGEN_MAX_BUCKETS)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--split '%s': more than %u buckets in all",
                                 spec, CFX_EXAMPLEGEN_MAX_BUCKETS);
        n++;
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p)
            return cfx_error_set(err, CFX_EINVAL, "--split '%s': trailing ','",
                                 spec);
    }
    *num = n;
    return 0;
}

static uint32_t bucket_of_digest(const uint8_t d[32], uint32_t total) {
    /* the hex digest as a big-endian number, reduced byte by byte */
    uint64_t r = 0;
    for (int i = 0; i < 32; i++)
        r = ((r << 8) | d[i]) % total;
    return (uint32_t)r;
}

uint32_t cfx_examplegen_bucket(const void *data, size_t len,
                               uint32_t total_buckets) {
    uint8_t d[CFX_SHA256_LEN] = {0};
    cfx_sha256(data, len, d);
    return bucket_of_digest(d, total_buckets);
}

size_t cfx_examplegen_split_of(const cfx_split_spec_t *splits, size_t n,
                               uint32_t bucket) {
    uint64_t cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += splits[i].buckets;
        if (bucket < cum)
            return i;
    }
    return n ? n - 1 : 0;
}

/* ---- the writer thread ----------------------------------------------------
 */

typedef struct rec_meta {
    uint32_t len;
} rec_meta_t;

typedef struct batch {
    cfx_buf_t data;
    rec_meta_t *meta;
    size_t n, cap;
} batch_t;

typedef struct writer_ctx {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch_t *full[QUEUE_DEPTH]; /* FIFO of batches to write */
    size_t head, count;
    batch_t *free_list[QUEUE_DEPTH + 1];
    size_t nfree;
    int done;                        /* producer finished */
    int failed;                      /* writer hit an error: producer stops */
    cfx_tfrecord_writer_t **writers; /* split * num_shards + shard */
    size_t nwriters;
    /* routing, owned by the writer thread while it runs */
    const cfx_split_spec_t *splits;
    size_t num_splits;
    unsigned num_shards;
    uint32_t total_buckets;
    uint64_t shard_next[CFX_EXAMPLEGEN_MAX_SPLITS];
    uint64_t split_rows[CFX_EXAMPLEGEN_MAX_SPLITS];
    EVP_MD_CTX *md;
    EVP_MD *sha256; /* fetched once: an implicit fetch per record costs */
    cfx_error_t err;
} writer_ctx_t;

/* Hashes one serialized example, picks its split and shard, writes it. */
static int route(writer_ctx_t *w, const uint8_t *data, size_t len) {
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (!EVP_DigestInit_ex(w->md, w->sha256, NULL) ||
        !EVP_DigestUpdate(w->md, data, len) ||
        !EVP_DigestFinal_ex(w->md, d, &dl) || dl != 32)
        return cfx_error_set(&w->err, CFX_EINTERNAL, "sha256 failed");
    size_t s = cfx_examplegen_split_of(w->splits, w->num_splits,
                                       bucket_of_digest(d, w->total_buckets));
    uint32_t shard = (uint32_t)(w->shard_next[s]++ % w->num_shards);
    w->split_rows[s]++;
    return cfx_tfrecord_write(w->writers[s * w->num_shards + shard], data, len,
                              &w->err);
}

static void *writer_main(void *arg) {
    writer_ctx_t *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->count == 0 && !w->done)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->count == 0 && w->done) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        batch_t *b = w->full[w->head];
        w->head = (w->head + 1) % QUEUE_DEPTH;
        w->count--;
        pthread_mutex_unlock(&w->mu);

        int rc = 0;
        if (!w->failed) {
            size_t off = 0;
            for (size_t i = 0; i < b->n && rc == 0; i++) {
                rc = route(w, b->data.data + off, b->meta[i].len);
                off += b->meta[i].len;
            }
        }
        b->n = 0;
        cfx_buf_reset(&b->data);
        pthread_mutex_lock(&w->mu);
        if (rc < 0)
            w->failed = 1;
        w->free_list[w->nfree++] = b;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

/* Hands a filled batch over and takes an empty one (blocks while the queue
 * is full). Returns NULL when the writer has failed. */
static batch_t *swap_batch(writer_ctx_t *w, batch_t *b) {
    pthread_mutex_lock(&w->mu);
    while (!w->failed && (w->count == QUEUE_DEPTH || w->nfree == 0))
        pthread_cond_wait(&w->cv, &w->mu);
    batch_t *e = NULL;
    if (!w->failed) {
        w->full[(w->head + w->count) % QUEUE_DEPTH] = b;
        w->count++;
        e = w->free_list[--w->nfree];
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return e;
}

/* ---- filesystem helpers ----------------------------------------------------
 */

/* ---- the run ------------------------------------------------------------- */

void cfx_examplegen_result_free(cfx_examplegen_result_t *res) {
    if (!res)
        return;
    if (res->columns)
        for (size_t i = 0; i < res->num_columns; i++)
            free(res->columns[i]);
    free(res->columns);
    free(res->types);
    res->columns = NULL;
    res->types = NULL;
    res->num_columns = 0;
}

static int cmp_col(const void *a, const void *b, void *names) {
    char **n = names;
    return strcmp(n[*(const size_t *)a], n[*(const size_t *)b]);
}

/* Pass 1: column types over every row. */
static int infer_types(const char *csv, int skip, int quiet,
                       cfx_csv_type_t **types_out, char ***names_out,
                       size_t *ncols_out, uint64_t *rows, uint64_t *bad,
                       cfx_error_t *err) {
    int rc;
    cfx_csv_reader_t *r = NULL;
    cfx_csv_type_t *types = NULL;
    char **names = NULL;
    size_t n = 0;
    *rows = *bad = 0;
    if ((rc = cfx_csv_open(csv, &r, err)) < 0)
        goto out;
    n = cfx_csv_num_columns(r);
    types = calloc(n, sizeof *types);
    names = calloc(n, sizeof *names);
    if (!types || !names) {
        rc = cfx_error_set(err, CFX_ENOMEM, "%s: column table", csv);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (!(names[i] = strdup(cfx_csv_column(r, i)))) {
            rc = cfx_error_set(err, CFX_ENOMEM, "%s: column table", csv);
            goto out;
        }
    cfx_csv_row_t row;
    for (;;) {
        rc = cfx_csv_next(r, &row, err);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (rc == CFX_EPARSE && skip) {
                if (!quiet && *bad < MAX_WARNINGS)
                    fprintf(stderr, "examplegen: skipping bad row: %s\n",
                            err->msg);
                (*bad)++;
                continue;
            }
            goto out;
        }
        (*rows)++;
        for (size_t i = 0; i < n; i++) {
            if (types[i] == CFX_CSV_STRING)
                continue;
            cfx_csv_type_t t =
                cfx_csv_infer(row.cells[i].data, row.cells[i].len);
            if (t > types[i])
                types[i] = t;
        }
    }
    rc = 0;
    if (*rows == 0)
        rc = cfx_error_set(err, CFX_EPARSE,
                           "%s:1: no data rows after the header%s", csv,
                           *bad ? " (all rows were bad)" : "");
out:
    cfx_csv_close(r);
    if (rc < 0) {
        if (names)
            for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        free(types);
        return rc;
    }
    *types_out = types;
    *names_out = names;
    *ncols_out = n;
    return 0;
}

static int add_cell(cfx_example_t *ex, const char *name, cfx_csv_type_t t,
                    const cfx_csv_cell_t *c, const char *csv, uint64_t line,
                    cfx_error_t *err) {
    switch (t) {
    case CFX_CSV_UNKNOWN:
        return cfx_example_add_none(ex, name);
    case CFX_CSV_INT: {
        int64_t v;
        if (c->len == 0)
            return cfx_example_add_int64(ex, name, NULL, 0);
        if (!cfx_csv_parse_int(c->data, c->len, &v))
            return cfx_error_set(err, CFX_EINTERNAL,
                                 "%s:%llu: column '%s': \"%.*s\" is not an "
                                 "integer (file changed during the run?)",
                                 csv, (unsigned long long)line, name,
                                 (int)(c->len > 64 ? 64 : c->len), c->data);
        return cfx_example_add_int64(ex, name, &v, 1);
    }
    case CFX_CSV_FLOAT: {
        double d;
        if (c->len == 0)
            return cfx_example_add_float(ex, name, NULL, 0);
        if (!cfx_csv_parse_float(c->data, c->len, &d))
            return cfx_error_set(err, CFX_EINTERNAL,
                                 "%s:%llu: column '%s': \"%.*s\" is not a "
                                 "number (file changed during the run?)",
                                 csv, (unsigned long long)line, name,
                                 (int)(c->len > 64 ? 64 : c->len), c->data);
        float f = (float)d;
        return cfx_example_add_float(ex, name, &f, 1);
    }
    case CFX_CSV_STRING: {
        cfx_bytes_t b = {(const uint8_t *)c->data, c->len};
        return cfx_example_add_bytes(ex, name, &b, c->len ? 1 : 0);
    }
    }
    return CFX_EINTERNAL;
}

/* Pass 2: build, hash and hand each example to the writer thread. */
static int write_examples(const char *csv, const cfx_examplegen_options_t *o,
                          const cfx_csv_type_t *types, char **names,
                          size_t expected_cols, const size_t *order,
                          writer_ctx_t *w, batch_t **curp, cfx_error_t *err) {
    int rc;
    cfx_csv_reader_t *r = NULL;
    cfx_example_t ex;
    cfx_buf_t ser;
    cfx_error_t skipped;
    cfx_example_init(&ex);
    cfx_buf_init(&ser);
    cfx_error_init(&skipped);
    if ((rc = cfx_csv_open(csv, &r, err)) < 0)
        goto out;
    size_t ncols = cfx_csv_num_columns(r);
    for (size_t i = 0; i < ncols && i < expected_cols; i++)
        if (strcmp(cfx_csv_column(r, i), names[i]) != 0)
            ncols = 0;
    if (ncols != expected_cols) {
        rc = cfx_error_set(err, CFX_ESTATE,
                           "%s:1: the header changed between the two passes",
                           csv);
        goto out;
    }
    cfx_csv_row_t row;
    for (;;) {
        rc = cfx_csv_next(r, &row, &skipped);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (rc == CFX_EPARSE && o->skip_bad_rows)
                continue; /* counted and reported by pass 1 */
            *err = skipped;
            goto out;
        }
        cfx_example_reset(&ex);
        for (size_t j = 0; j < ncols; j++) {
            size_t i = order[j];
            if ((rc = add_cell(&ex, names[i], types[i], &row.cells[i], csv,
                               row.line, err)) < 0) {
                if (rc == CFX_ENOMEM)
                    cfx_error_set(err, rc, "%s:%llu: building the example", csv,
                                  (unsigned long long)row.line);
                goto out;
            }
        }
        cfx_buf_reset(&ser);
        if ((rc = cfx_example_encode(&ex, &ser)) < 0) {
            cfx_error_set(err, rc, "%s:%llu: encoding the example", csv,
                          (unsigned long long)row.line);
            goto out;
        }
        batch_t *b = *curp;
        if (b->n == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 1024;
            rec_meta_t *m = realloc(b->meta, cap * sizeof *m);
            if (!m) {
                rc = cfx_error_set(err, CFX_ENOMEM, "write batch");
                goto out;
            }
            b->meta = m;
            b->cap = cap;
        }
        if ((rc = cfx_buf_append(&b->data, ser.data, ser.len)) < 0) {
            cfx_error_set(err, rc, "write batch");
            goto out;
        }
        b->meta[b->n].len = (uint32_t)ser.len;
        b->n++;
        if (b->data.len >= BATCH_BYTES) {
            *curp = swap_batch(w, b);
            if (!*curp) {
                *curp = b; /* still ours to free */
                rc = w->err.code ? w->err.code : CFX_EIO;
                *err = w->err;
                goto out;
            }
        }
    }
    rc = 0;
out:
    cfx_csv_close(r);
    cfx_example_free(&ex);
    cfx_buf_free(&ser);
    return rc;
}

int cfx_examplegen_run(const char *csv, const char *out_dir,
                       const cfx_examplegen_options_t *opts,
                       cfx_examplegen_result_t *res, cfx_error_t *err) {
    static const cfx_split_spec_t default_splits[2] = {{"train", 2},
                                                       {"eval", 1}};
    int rc = 0;
    cfx_examplegen_options_t o = {0};
    cfx_csv_type_t *types = NULL;
    char **names = NULL;
    size_t ncols = 0, *order = NULL;
    char tmp[4096 + 16] = "";
    char out[4096];
    writer_ctx_t w;
    pthread_t tid;
    int sync_inited = 0, thread_started = 0;
    batch_t batches[QUEUE_DEPTH + 1];
    batch_t *cur = &batches[QUEUE_DEPTH];
    uint64_t rows = 0, bad = 0;
    uint32_t total_buckets = 0;

    memset(&w, 0, sizeof w);
    memset(batches, 0, sizeof batches);
    for (size_t i = 0; i <= QUEUE_DEPTH; i++)
        cfx_buf_init(&batches[i].data);
    if (opts)
        o = *opts;
    if (!o.splits || o.num_splits == 0) {
        o.splits = default_splits;
        o.num_splits = 2;
    }
    if (res)
        memset(res, 0, sizeof *res);
    if (o.num_splits > CFX_EXAMPLEGEN_MAX_SPLITS)
        return cfx_error_set(err, CFX_EINVAL, "more than %d splits",
                             CFX_EXAMPLEGEN_MAX_SPLITS);
    if (o.num_shards == 0)
        o.num_shards = 2;
    if (o.num_shards > CFX_EXAMPLEGEN_MAX_SHARDS)
        return cfx_error_set(err, CFX_EINVAL, "--num-shards %u: at most %d",
                             o.num_shards, CFX_EXAMPLEGEN_MAX_SHARDS);
    if (o.num_shards * o.num_splits > CFX_EXAMPLEGEN_MAX_FILES)
        return cfx_error_set(
            err, CFX_EINVAL, "%zu splits x %u shards: at most %d output files",
            o.num_splits, o.num_shards, CFX_EXAMPLEGEN_MAX_FILES);
    for (size_t i = 0; i < o.num_splits; i++) {
        total_buckets += o.splits[i].buckets;
        if (o.splits[i].buckets == 0 ||
            total_buckets > CFX_EXAMPLEGEN_MAX_BUCKETS)
            return cfx_error_set(err, CFX_EINVAL,
                                 "split '%s': hash buckets must be >= 1 and "
                                 "total at most %u",
                                 o.splits[i].name, CFX_EXAMPLEGEN_MAX_BUCKETS);
    }
    if (res) {
        res->num_splits = o.num_splits;
        memcpy(res->splits, o.splits, o.num_splits * sizeof *o.splits);
    }

    size_t ol = strlen(out_dir);
    while (ol > 1 && out_dir[ol - 1] == '/')
        ol--;
    if (ol == 0 || ol >= sizeof out - 64)
        return cfx_error_set(err, CFX_EINVAL, "output directory name '%s'",
                             out_dir);
    memcpy(out, out_dir, ol);
    out[ol] = '\0';
    if ((rc = cfx_file_check_empty_dir(out, err)) < 0)
        goto out;

    /* pass 1: types */
    if ((rc = infer_types(csv, o.skip_bad_rows, o.quiet, &types, &names, &ncols,
                          &rows, &bad, err)) < 0)
        goto out;
    if (!(order = malloc(ncols * sizeof *order))) {
        rc = cfx_error_set(err, CFX_ENOMEM, "column order");
        goto out;
    }
    /* features in name order make the deterministic serialization */
    for (size_t i = 0; i < ncols; i++)
        order[i] = i;
    qsort_r(order, ncols, sizeof *order, cmp_col, names);

    /* output tree under a temporary sibling; the parent may be new */
    {
        char parent[sizeof out];
        memcpy(parent, out, ol + 1);
        char *slash = strrchr(parent, '/');
        if (slash != NULL && slash != parent) {
            *slash = '\0';
            if ((rc = cfx_file_mkdirs(parent, err)) < 0)
                goto out;
        }
    }
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", out);
    if (!mkdtemp(tmp)) {
        rc = cfx_error_set(err, CFX_EIO, "%s: cannot create: %s", tmp,
                           strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    chmod(tmp, 0755); /* mkdtemp makes it 0700; the result is shared */
    w.nwriters = o.num_splits * o.num_shards;
    if (!(w.writers = calloc(w.nwriters, sizeof *w.writers))) {
        rc = cfx_error_set(err, CFX_ENOMEM, "writers");
        goto out;
    }
    for (size_t s = 0; s < o.num_splits; s++) {
        char dir[4096 + 128];
        snprintf(dir, sizeof dir, "%s/Split-%s", tmp, o.splits[s].name);
        if (mkdir(dir, 0777) != 0) {
            rc = cfx_error_set(err, CFX_EIO, "%s: mkdir: %s", dir,
                               strerror(errno));
            goto out;
        }
        for (unsigned k = 0; k < o.num_shards; k++) {
            char path[4096 + 192];
            snprintf(path, sizeof path, "%s/data_tfrecord-%05u-of-%05u.gz", dir,
                     k, o.num_shards);
            if ((rc = cfx_tfrecord_writer_open(
                     path, &w.writers[s * o.num_shards + k], err)) < 0)
                goto out;
        }
    }

    /* pass 2: examples, with the writer thread */
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    sync_inited = 1;
    cfx_error_init(&w.err);
    w.splits = o.splits;
    w.num_splits = o.num_splits;
    w.num_shards = o.num_shards;
    w.total_buckets = total_buckets;
    if (!(w.md = EVP_MD_CTX_new()) ||
        !(w.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL))) {
        rc = cfx_error_set(err, CFX_ENOMEM, "sha256 context");
        goto out;
    }
    for (size_t i = 0; i < QUEUE_DEPTH; i++)
        w.free_list[w.nfree++] = &batches[i];
    if (pthread_create(&tid, NULL, writer_main, &w) != 0) {
        rc = cfx_error_set(err, CFX_EINTERNAL, "cannot start writer thread");
        goto out;
    }
    thread_started = 1;
    rc = write_examples(csv, &o, types, names, ncols, order, &w, &cur, err);
    if (rc == 0 && cur->n) {
        batch_t *b = swap_batch(&w, cur);
        if (b)
            cur = b;
    }
    pthread_mutex_lock(&w.mu);
    w.done = 1;
    if (rc < 0)
        w.failed = 1;
    pthread_cond_broadcast(&w.cv);
    pthread_mutex_unlock(&w.mu);
    pthread_join(tid, NULL);
    thread_started = 0;
    if (rc == 0 && w.failed) {
        *err = w.err;
        rc = w.err.code ? w.err.code : CFX_EIO;
    }
    if (rc < 0)
        goto out;

    /* close (flush + fsync) every shard, then publish */
    for (size_t i = 0; i < w.nwriters; i++) {
        cfx_tfrecord_writer_t *tw = w.writers[i];
        w.writers[i] = NULL;
        if (rc == 0)
            rc = cfx_tfrecord_writer_close(tw, err);
        else
            cfx_tfrecord_writer_abort(tw);
    }
    if (rc < 0)
        goto out;
    for (size_t s = 0; s < o.num_splits; s++) {
        char dir[4096 + 128];
        snprintf(dir, sizeof dir, "%s/Split-%s", tmp, o.splits[s].name);
        cfx_file_fsync_dir(dir, NULL);
    }
    cfx_file_fsync_dir(tmp, NULL);
    if (rename(tmp, out) != 0) {
        rc = cfx_error_set(err, CFX_EIO, "rename %s -> %s: %s", tmp, out,
                           strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    {
        char parent[4096 + 16];
        snprintf(parent, sizeof parent, "%s", out);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            cfx_file_fsync_dir(parent, NULL);
        } else if (!slash) {
            cfx_file_fsync_dir(".", NULL);
        }
    }

out:
    if (thread_started) {
        pthread_mutex_lock(&w.mu);
        w.done = 1;
        w.failed = 1;
        pthread_cond_broadcast(&w.cv);
        pthread_mutex_unlock(&w.mu);
        pthread_join(tid, NULL);
    }
    EVP_MD_CTX_free(w.md);
    EVP_MD_free(w.sha256);
    if (sync_inited) {
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
    }
    if (w.writers) {
        for (size_t i = 0; i < w.nwriters; i++)
            if (w.writers[i])
                cfx_tfrecord_writer_abort(w.writers[i]);
        free(w.writers);
    }
    for (size_t i = 0; i <= QUEUE_DEPTH; i++) {
        cfx_buf_free(&batches[i].data);
        free(batches[i].meta);
    }
    if (tmp[0])
        cfx_file_remove_tree(tmp, NULL);
    free(order);
    if (res) {
        res->rows = rows;
        res->bad_rows = bad;
        memcpy(res->split_rows, w.split_rows, sizeof w.split_rows);
        res->num_columns = ncols;
        res->columns = names;
        res->types = types;
    } else {
        if (names)
            for (size_t i = 0; i < ncols; i++)
                free(names[i]);
        free(names);
        free(types);
    }
    return rc;
}

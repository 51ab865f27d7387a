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
#include <jansson.h>
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
                          uint64_t first, uint64_t end, writer_ctx_t *w,
                          batch_t **curp, cfx_error_t *err) {
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
    /* good rows: [first, end) are built (a part's block; all in a run) */
    for (uint64_t good = 0; good < end; good++) {
        rc = cfx_csv_next(r, &row, &skipped);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (rc == CFX_EPARSE && o->skip_bad_rows) {
                good--; /* counted and reported by pass 1 */
                continue;
            }
            *err = skipped;
            goto out;
        }
        if (good < first)
            continue;
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

/* fsyncs tmp's split folders and tmp, renames it to out, fsyncs out's
 * parent; tmp[0] = 0 once renamed. */
static int publish(char *tmp, const char *out, const cfx_split_spec_t *splits,
                   size_t num_splits, cfx_error_t *err) {
    for (size_t s = 0; s < num_splits; s++) {
        char dir[4096 + 128];
        snprintf(dir, sizeof dir, "%s/Split-%s", tmp, splits[s].name);
        cfx_file_fsync_dir(dir, NULL);
    }
    cfx_file_fsync_dir(tmp, NULL);
    if (rename(tmp, out) != 0)
        return cfx_error_set(err, CFX_EIO, "rename %s -> %s: %s", tmp, out,
                             strerror(errno));
    tmp[0] = '\0';
    char parent[4096 + 16];
    snprintf(parent, sizeof parent, "%s", out);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        cfx_file_fsync_dir(parent, NULL);
    } else if (!slash) {
        cfx_file_fsync_dir(".", NULL);
    }
    return 0;
}

/* The output folder's name without trailing slashes into out (4096 bytes),
 * its parent created, and a temporary sibling made into tmp (4112 bytes). */
static int make_tmp_out(const char *out_dir, char *out, char *tmp,
                        cfx_error_t *err) {
    size_t ol = strlen(out_dir);
    while (ol > 1 && out_dir[ol - 1] == '/')
        ol--;
    if (ol == 0 || ol >= 4096 - 64)
        return cfx_error_set(err, CFX_EINVAL, "output directory name '%s'",
                             out_dir);
    memcpy(out, out_dir, ol);
    out[ol] = '\0';
    int rc = cfx_file_check_empty_dir(out, err);
    if (rc < 0)
        return rc;
    char parent[4096];
    memcpy(parent, out, ol + 1);
    char *slash = strrchr(parent, '/');
    if (slash != NULL && slash != parent) {
        *slash = '\0';
        if ((rc = cfx_file_mkdirs(parent, err)) < 0)
            return rc;
    }
    snprintf(tmp, 4096 + 16, "%s.tmp-XXXXXX", out);
    if (!mkdtemp(tmp)) {
        rc = cfx_error_set(err, CFX_EIO, "%s: cannot create: %s", tmp,
                           strerror(errno));
        tmp[0] = '\0';
        return rc;
    }
    chmod(tmp, 0755); /* mkdtemp makes it 0700; the result is shared */
    return 0;
}

/* ---- parts (docs/data.md, Across machines) ------------------------------ */

#define PART_FORMAT "cfx-examplegen-part"
#define PART_MANIFEST "part.json"
#define PART_RECORDS "examples.tfrecord"

/* What every part of one run agrees on (the manifest less the part's own
 * numbers): the CSV's content (SHA-256 and size: parts on other machines
 * may read copies at other paths), the options, the column types and the
 * row counts of pass 1. NULL with err set on failure. */
static json_t *part_invariants(const char *csv,
                               const cfx_examplegen_options_t *o, char **names,
                               const cfx_csv_type_t *types, size_t ncols,
                               unsigned nparts, uint64_t rows, uint64_t bad,
                               cfx_error_t *err) {
    char digest[CFX_SHA256_HEX_LEN + 1];
    uint64_t size = 0;
    if (cfx_sha256_file_hex(csv, UINT64_MAX, digest, &size, err) < 0)
        return NULL;
    json_t *j = json_object(), *sp = json_array(), *cols = json_array();
    if (!j || !sp || !cols)
        goto fail;
    for (size_t i = 0; i < o->num_splits; i++)
        if (json_array_append_new(
                sp, json_pack("{s:s, s:I}", "name", o->splits[i].name,
                              "buckets", (json_int_t)o->splits[i].buckets)))
            goto fail;
    for (size_t i = 0; i < ncols; i++)
        if (json_array_append_new(cols,
                                  json_pack("{s:s, s:i}", "name", names[i],
                                            "type", (int)types[i])))
            goto fail;
    if (json_object_set_new(j, "format", json_string(PART_FORMAT)) ||
        json_object_set_new(j, "version", json_integer(1)) ||
        json_object_set_new(j, "csv_sha256", json_string(digest)) ||
        json_object_set_new(j, "csv_size", json_integer((json_int_t)size)) ||
        json_object_set_new(j, "num_parts", json_integer(nparts)) ||
        json_object_set_new(j, "num_shards", json_integer(o->num_shards)) ||
        json_object_set_new(j, "skip_bad_rows",
                            json_boolean(o->skip_bad_rows)) ||
        json_object_set_new(j, "rows", json_integer((json_int_t)rows)) ||
        json_object_set_new(j, "bad_rows", json_integer((json_int_t)bad)) ||
        json_object_set(j, "splits", sp) || json_object_set(j, "columns", cols))
        goto fail;
    json_decref(sp);
    json_decref(cols);
    return j;
fail:
    json_decref(j);
    json_decref(sp);
    json_decref(cols);
    cfx_error_set(err, CFX_ENOMEM, "part manifest: out of memory");
    return NULL;
}

static int run_impl(const char *csv, const char *out_dir,
                    const cfx_examplegen_options_t *opts, unsigned part,
                    unsigned nparts, cfx_examplegen_result_t *res,
                    cfx_error_t *err) {
    static const cfx_split_spec_t default_splits[2] = {{"train", 2},
                                                       {"eval", 1}};
    int rc = 0;
    cfx_examplegen_options_t o = {0};
    cfx_csv_type_t *types = NULL;
    char **names = NULL;
    size_t ncols = 0, *order = NULL;
    char tmp[4096 + 16] = "";
    char out[4096] = "";
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

    if (nparts && part >= nparts)
        return cfx_error_set(err, CFX_EINVAL, "part %u of %u", part, nparts);
    unsigned shards_out = o.num_shards; /* of the merged output */
    if (nparts)                         /* one plain record file per split */
        o.num_shards = 1;

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

    /* a part builds its block of the good rows: [first, end) */
    uint64_t first = 0, end = UINT64_MAX;
    if (nparts) {
        first = rows / nparts * part + (rows % nparts) * part / nparts;
        end =
            rows / nparts * (part + 1) + (rows % nparts) * (part + 1) / nparts;
    }

    /* output tree under a temporary sibling; the parent may be new */
    if ((rc = make_tmp_out(out_dir, out, tmp, err)) < 0)
        goto out;
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
            if (nparts)
                snprintf(path, sizeof path, "%s/" PART_RECORDS, dir);
            else
                snprintf(path, sizeof path, "%s/data_tfrecord-%05u-of-%05u.gz",
                         dir, k, o.num_shards);
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
    rc = write_examples(csv, &o, types, names, ncols, order, first, end, &w,
                        &cur, err);
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
    if (nparts) {
        json_t *m = part_invariants(csv, &o, names, types, ncols, nparts, rows,
                                    bad, err);
        if (!m) {
            rc = err->code ? err->code : CFX_ENOMEM;
            goto out;
        }
        json_t *pr = json_array();
        char path[4096 + 64];
        for (size_t s = 0; pr && s < o.num_splits; s++)
            if (json_array_append_new(
                    pr, json_integer((json_int_t)w.split_rows[s])))
                json_decref(pr), pr = NULL;
        snprintf(path, sizeof path, "%s/" PART_MANIFEST, tmp);
        if (!m || !pr || json_object_set_new(m, "part", json_integer(part)) ||
            json_object_set_new(m, "num_shards", json_integer(shards_out)) ||
            json_object_set_new(m, "part_rows", pr)) {
            json_decref(m);
            rc = cfx_error_set(err, CFX_ENOMEM, "part manifest");
            goto out;
        }
        pr = NULL;
        rc = json_dump_file(m, path, JSON_INDENT(1) | JSON_SORT_KEYS);
        json_decref(m);
        if (rc != 0) {
            rc = cfx_error_set(err, CFX_EIO, "%s: cannot write", path);
            goto out;
        }
    }
    if ((rc = publish(tmp, out, o.splits, o.num_splits, err)) < 0)
        goto out;

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

int cfx_examplegen_run(const char *csv, const char *out_dir,
                       const cfx_examplegen_options_t *opts,
                       cfx_examplegen_result_t *res, cfx_error_t *err) {
    return run_impl(csv, out_dir, opts, 0, 0, res, err);
}

int cfx_examplegen_run_part(const char *csv, const char *out_dir,
                            const cfx_examplegen_options_t *opts, unsigned part,
                            unsigned num_parts, cfx_examplegen_result_t *res,
                            cfx_error_t *err) {
    if (num_parts == 0 || part >= num_parts)
        return cfx_error_set(err, CFX_EINVAL, "part %u of %u", part, num_parts);
    return run_impl(csv, out_dir, opts, part, num_parts, res, err);
}

/* Loads part_dir's manifest; the part's invariants must equal *inv (set
 * from the first part loaded). */
static int load_part(const char *dir, json_t **inv, json_t **parts_seen,
                     unsigned *part, json_t **part_rows, cfx_error_t *err) {
    char path[4096 + 64];
    json_error_t je;
    snprintf(path, sizeof path, "%s/" PART_MANIFEST, dir);
    json_t *m = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!m)
        return cfx_error_set(err, CFX_ECORRUPT, "%s:%d: %s", path, je.line,
                             je.text);
    json_t *jp = json_object_get(m, "part"),
           *pr = json_object_get(m, "part_rows");
    json_t *fmt = json_object_get(m, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), PART_FORMAT) ||
        !json_is_integer(jp) || !json_is_array(pr)) {
        json_decref(m);
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s: not an examplegen part manifest", path);
    }
    *part = (unsigned)json_integer_value(jp);
    *part_rows = json_incref(pr);
    json_object_del(m, "part");
    json_object_del(m, "part_rows");
    json_int_t np = json_integer_value(json_object_get(m, "num_parts"));
    if (!*inv) {
        if (np < 1 || np > 65536 || json_integer_value(jp) < 0 ||
            json_integer_value(jp) >= np) {
            json_decref(m);
            return cfx_error_set(err, CFX_ECORRUPT, "%s: part %lld of %lld",
                                 path, (long long)json_integer_value(jp),
                                 (long long)np);
        }
        *inv = m;
        *parts_seen = json_object();
    } else {
        int same = json_equal(*inv, m);
        json_decref(m);
        if (!same)
            return cfx_error_set(err, CFX_EINVAL,
                                 "%s: a part of another run (CSV, options or "
                                 "number of parts differ from the first "
                                 "part's)",
                                 path);
    }
    if (json_integer_value(jp) < 0 || json_integer_value(jp) >= np)
        return cfx_error_set(err, CFX_ECORRUPT, "%s: part %lld of %lld", path,
                             (long long)json_integer_value(jp), (long long)np);
    char key[24];
    snprintf(key, sizeof key, "%u", *part);
    if (json_object_get(*parts_seen, key))
        return cfx_error_set(err, CFX_EINVAL, "%s: part %u given twice", path,
                             *part);
    json_object_set_new(*parts_seen, key, json_string(dir));
    return 0;
}

int cfx_examplegen_merge_parts(const char *const *part_dirs, size_t n,
                               const char *out_dir,
                               cfx_examplegen_result_t *res, cfx_error_t *err) {
    int rc = 0;
    json_t *inv = NULL, *seen = NULL, **rows_of = NULL;
    const char **dir_of = NULL;
    cfx_tfrecord_writer_t **writers = NULL;
    cfx_tfrecord_reader_t *r = NULL;
    size_t nwriters = 0, num_splits = 0;
    cfx_split_spec_t splits[CFX_EXAMPLEGEN_MAX_SPLITS];
    uint64_t split_rows[CFX_EXAMPLEGEN_MAX_SPLITS] = {0};
    char tmp[4096 + 16] = "", out[4096] = "";
    if (res)
        memset(res, 0, sizeof *res);
    if (n == 0)
        return cfx_error_set(err, CFX_EINVAL, "no parts to merge");
    if (!(rows_of = calloc(n, sizeof *rows_of)) ||
        !(dir_of = calloc(n, sizeof *dir_of)))
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        unsigned part = 0;
        json_t *pr = NULL;
        if ((rc = load_part(part_dirs[i], &inv, &seen, &part, &pr, err)) < 0) {
            json_decref(pr);
            goto out;
        }
        if (part >= n) {
            json_decref(pr);
            rc = cfx_error_set(err, CFX_EINVAL,
                               "%s: part %u, but %zu parts given", part_dirs[i],
                               part, n);
            goto out;
        }
        rows_of[part] = pr;
        dir_of[part] = part_dirs[i];
    }
    json_int_t np = json_integer_value(json_object_get(inv, "num_parts"));
    if ((size_t)np != n) {
        rc = cfx_error_set(err, CFX_EINVAL, "%zu parts given, the run has %lld",
                           n, (long long)np);
        goto out;
    }
    json_t *sp = json_object_get(inv, "splits");
    json_int_t shards = json_integer_value(json_object_get(inv, "num_shards"));
    num_splits = json_array_size(sp);
    if (num_splits == 0 || num_splits > CFX_EXAMPLEGEN_MAX_SPLITS ||
        shards < 1 || shards > CFX_EXAMPLEGEN_MAX_SHARDS ||
        num_splits * (size_t)shards > CFX_EXAMPLEGEN_MAX_FILES) {
        rc = cfx_error_set(err, CFX_ECORRUPT, "%s: bad splits or num_shards",
                           dir_of[0]);
        goto out;
    }
    for (size_t s = 0; s < num_splits; s++) {
        json_t *e = json_array_get(sp, s);
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!name || strlen(name) >= CFX_EXAMPLEGEN_SPLIT_NAME_MAX ||
            strchr(name, '/') || name[0] == '.') {
            rc = cfx_error_set(err, CFX_ECORRUPT, "%s: bad split name",
                               dir_of[0]);
            goto out;
        }
        snprintf(splits[s].name, sizeof splits[s].name, "%s", name);
        splits[s].buckets =
            (uint32_t)json_integer_value(json_object_get(e, "buckets"));
    }
    if ((rc = make_tmp_out(out_dir, out, tmp, err)) < 0)
        goto out;
    nwriters = num_splits * (size_t)shards;
    if (!(writers = calloc(nwriters, sizeof *writers)))
        goto nomem;
    for (size_t s = 0; s < num_splits; s++) {
        char dir[4096 + 128];
        snprintf(dir, sizeof dir, "%s/Split-%s", tmp, splits[s].name);
        if (mkdir(dir, 0777) != 0) {
            rc = cfx_error_set(err, CFX_EIO, "%s: mkdir: %s", dir,
                               strerror(errno));
            goto out;
        }
        for (unsigned k = 0; k < (unsigned)shards; k++) {
            char path[4096 + 192];
            snprintf(path, sizeof path, "%s/data_tfrecord-%05u-of-%05u.gz", dir,
                     k, (unsigned)shards);
            if ((rc = cfx_tfrecord_writer_open(
                     path, &writers[s * (size_t)shards + k], err)) < 0)
                goto out;
        }
    }
    /* each split: the parts' records in part order (the CSV's order),
     * round-robin over the shards as one run writes them */
    for (size_t s = 0; s < num_splits; s++) {
        uint64_t next = 0;
        for (size_t p = 0; p < n; p++) {
            char path[4096 + 192];
            snprintf(path, sizeof path, "%s/Split-%s/" PART_RECORDS, dir_of[p],
                     splits[s].name);
            if ((rc = cfx_tfrecord_reader_open(path, &r, err)) < 0)
                goto out;
            uint64_t got = 0;
            for (;;) {
                const uint8_t *data;
                size_t len;
                rc = cfx_tfrecord_read(r, &data, &len, err);
                if (rc == 0)
                    break;
                if (rc < 0)
                    goto out;
                got++;
                if ((rc = cfx_tfrecord_write(
                         writers[s * (size_t)shards + next++ % (size_t)shards],
                         data, len, err)) < 0)
                    goto out;
            }
            cfx_tfrecord_reader_free(r);
            r = NULL;
            json_t *want = json_array_get(rows_of[p], s);
            if (!json_is_integer(want) ||
                (uint64_t)json_integer_value(want) != got) {
                rc = cfx_error_set(err, CFX_ECORRUPT,
                                   "%s: %llu records, its manifest says %lld",
                                   path, (unsigned long long)got,
                                   (long long)json_integer_value(want));
                goto out;
            }
        }
        split_rows[s] = next;
    }
    uint64_t total = 0;
    for (size_t s = 0; s < num_splits; s++)
        total += split_rows[s];
    json_int_t want_rows = json_integer_value(json_object_get(inv, "rows"));
    if (want_rows < 0 || total != (uint64_t)want_rows) {
        rc = cfx_error_set(err, CFX_ECORRUPT,
                           "%s: the parts hold %llu examples, their CSV had "
                           "%lld good rows",
                           dir_of[0], (unsigned long long)total,
                           (long long)want_rows);
        goto out;
    }
    for (size_t i = 0; i < nwriters; i++) {
        cfx_tfrecord_writer_t *tw = writers[i];
        writers[i] = NULL;
        if (rc == 0)
            rc = cfx_tfrecord_writer_close(tw, err);
        else
            cfx_tfrecord_writer_abort(tw);
    }
    if (rc < 0)
        goto out;
    if ((rc = publish(tmp, out, splits, num_splits, err)) < 0)
        goto out;
    if (res) {
        json_t *cols = json_object_get(inv, "columns");
        size_t nc = json_array_size(cols);
        res->rows = (uint64_t)json_integer_value(json_object_get(inv, "rows"));
        res->bad_rows =
            (uint64_t)json_integer_value(json_object_get(inv, "bad_rows"));
        res->num_splits = num_splits;
        memcpy(res->splits, splits, num_splits * sizeof *splits);
        memcpy(res->split_rows, split_rows, sizeof split_rows);
        res->columns = calloc(nc ? nc : 1, sizeof *res->columns);
        res->types = calloc(nc ? nc : 1, sizeof *res->types);
        if (!res->columns || !res->types)
            goto nomem;
        res->num_columns = nc;
        for (size_t i = 0; i < nc; i++) {
            json_t *c = json_array_get(cols, i);
            const char *name = json_string_value(json_object_get(c, "name"));
            if (!(res->columns[i] = strdup(name ? name : "")))
                goto nomem;
            res->types[i] =
                (cfx_csv_type_t)json_integer_value(json_object_get(c, "type"));
        }
    }
    goto out;
nomem:
    rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
out:
    if (r)
        cfx_tfrecord_reader_free(r);
    if (writers) {
        for (size_t i = 0; i < nwriters; i++)
            if (writers[i])
                cfx_tfrecord_writer_abort(writers[i]);
        free(writers);
    }
    if (tmp[0])
        cfx_file_remove_tree(tmp, NULL);
    if (rows_of)
        for (size_t i = 0; i < n; i++)
            json_decref(rows_of[i]);
    free(rows_of);
    free(dir_of);
    json_decref(inv);
    json_decref(seen);
    return rc;
}

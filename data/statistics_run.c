/*
 * statistics_run.c: the StatisticsGen component: every split of an
 * Examples artifact to <out>/Split-<name>/FeatureStats.pb; and the same
 * over a part of the files, saved as accumulator state
 * (<out>/Split-<name>/FeatureStats.state), with the merge of such parts.
 *
 * The TFRecord files of all splits form one work list; file i goes to
 * worker i % threads, which keeps one accumulator per split and adds its
 * files in order; the workers' accumulators are then merged in worker
 * order. The result is therefore deterministic for a given thread count
 * (floating-point sums may differ in the last bits between thread counts).
 */
#include "data/statistics.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/schema_infer.h"
#include "formats/file.h"
#include "formats/tfrecord.h"

#define MAX_SPLITS 64
#define MAX_THREADS 16
#define STATS_FILE "FeatureStats.pb"
#define STATE_FILE "FeatureStats.state"
/* A saved state is read whole; one this large is not one cfx wrote. */
#define STATE_MAX_BYTES ((size_t)1 << 33)

typedef struct work {
    size_t split;
    const char *path;
} work_t;

typedef struct shared {
    const work_t *items;
    size_t nitems;
    size_t nsplits;
    unsigned nthreads;
    const cfx_stats_options_t *opts;
    pthread_mutex_t mu;
    int failed;
    cfx_error_t err; /* first error */
} shared_t;

typedef struct worker {
    shared_t *sh;
    unsigned id;
    cfx_stats_acc_t *acc[MAX_SPLITS];
    int rc;
} worker_t;

static int read_file(worker_t *w, const work_t *it, cfx_example_t *ex,
                     cfx_error_t *err) {
    cfx_tfrecord_reader_t *r = NULL;
    int rc = cfx_tfrecord_reader_open(it->path, &r, err);
    if (rc < 0)
        return rc;
    if (!w->acc[it->split] &&
        !(w->acc[it->split] = cfx_stats_acc_new(w->sh->opts))) {
        rc = cfx_error_set(err, CFX_ENOMEM, "statistics accumulator");
        goto out;
    }
    cfx_stats_acc_t *acc = w->acc[it->split];
    uint64_t rec = 0;
    for (;;) {
        const uint8_t *data;
        size_t len;
        rc = cfx_tfrecord_read(r, &data, &len, err);
        if (rc <= 0)
            break;
        if ((rc = cfx_example_decode(ex, data, len, err)) < 0 ||
            (rc = cfx_stats_acc_add(acc, ex, err)) < 0) {
            cfx_error_prefix(err, "%s: record %llu", it->path,
                             (unsigned long long)rec);
            break;
        }
        rec++;
        if ((rec & 4095) == 0 && w->sh->failed) {
            rc = CFX_ECANCELLED;
            break;
        }
    }
out:
    cfx_tfrecord_reader_free(r);
    return rc;
}

static void *worker_main(void *arg) {
    worker_t *w = arg;
    shared_t *sh = w->sh;
    cfx_example_t ex;
    cfx_error_t err;
    cfx_example_init(&ex);
    cfx_error_init(&err);
    w->rc = 0;
    for (size_t i = w->id; i < sh->nitems; i += sh->nthreads) {
        if (sh->failed)
            break;
        int rc = read_file(w, &sh->items[i], &ex, &err);
        if (rc < 0) {
            w->rc = rc;
            pthread_mutex_lock(&sh->mu);
            if (!sh->failed && rc != CFX_ECANCELLED) {
                sh->failed = 1;
                sh->err = err;
            }
            pthread_mutex_unlock(&sh->mu);
            break;
        }
    }
    cfx_example_free(&ex);
    return NULL;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Accumulators of the splits found, by name (sorted). */
typedef struct split_set {
    size_t n;
    char *names[MAX_SPLITS];
    cfx_stats_acc_t *acc[MAX_SPLITS];
} split_set_t;

static void split_set_free(split_set_t *ss) {
    for (size_t i = 0; i < ss->n; i++) {
        free(ss->names[i]);
        cfx_stats_acc_free(ss->acc[i]);
    }
    ss->n = 0;
}

/* The Split-<name> folders of dir (cfx_schema_split_names) in byte order,
 * the order files are dealt to parts and merged in; names malloc'd. */
static int list_splits(const char *dir, char **names, size_t *n,
                       cfx_error_t *err) {
    char **all = NULL;
    size_t k = 0;
    *n = 0;
    int rc = cfx_schema_split_names(dir, NULL, &all, &k, err);
    if (rc < 0)
        return rc;
    if (k == 0)
        rc = cfx_error_set(err, CFX_ENOTFOUND,
                           "%s: no Split-<name> directories", dir);
    else if (k > MAX_SPLITS)
        rc = cfx_error_set(err, CFX_ETOOBIG, "%s: more than %d splits", dir,
                           MAX_SPLITS);
    if (rc < 0) {
        cfx_schema_split_names_free(all, k);
        return rc;
    }
    qsort(all, k, sizeof *all, cmp_str);
    memcpy(names, all, k * sizeof *all);
    *n = k;
    free(all);
    return 0;
}

/* Accumulates the files i (over all splits, in order) with
 * i % num_parts == part. */
static int compute(const char *examples_dir, const cfx_stats_options_t *o,
                   unsigned part, unsigned num_parts, split_set_t *ss,
                   cfx_error_t *err) {
    int rc = 0;
    char **files[MAX_SPLITS];
    size_t nfiles[MAX_SPLITS];
    size_t nitems = 0;
    work_t *items = NULL;
    worker_t workers[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    unsigned started = 0;
    unsigned nthreads = o->threads ? o->threads : 2;
    shared_t sh;

    memset(workers, 0, sizeof workers);
    memset(&sh, 0, sizeof sh);
    memset(files, 0, sizeof files);
    pthread_mutex_init(&sh.mu, NULL);
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    if ((rc = list_splits(examples_dir, ss->names, &ss->n, err)) < 0) {
        if (rc == CFX_ENOTFOUND && ss->n == 0 &&
            access(examples_dir, F_OK) == 0)
            cfx_error_prefix(err, "not an Examples artifact");
        goto out;
    }
    for (size_t s = 0; s < ss->n; s++) {
        char p[4096 + 256];
        snprintf(p, sizeof p, "%s/Split-%s", examples_dir, ss->names[s]);
        if ((rc = cfx_tfrecord_list_dir(p, &files[s], &nfiles[s], err)) < 0)
            goto out;
        nitems += nfiles[s];
    }
    items = calloc(nitems ? nitems : 1, sizeof *items);
    if (!items) {
        rc = cfx_error_set(err, CFX_ENOMEM, "work list");
        goto out;
    }
    size_t k = 0, all = 0;
    for (size_t s = 0; s < ss->n; s++)
        for (size_t f = 0; f < nfiles[s]; f++, all++)
            if (all % num_parts == part)
                items[k++] = (work_t){s, files[s][f]};
    nitems = k;

    sh.items = items;
    sh.nitems = nitems;
    sh.nsplits = ss->n;
    sh.opts = o;
    if (nthreads > nitems)
        nthreads = nitems ? (unsigned)nitems : 1;
    sh.nthreads = nthreads;
    cfx_error_init(&sh.err);
    for (unsigned t = 0; t < nthreads; t++) {
        workers[t].sh = &sh;
        workers[t].id = t;
        if (t == 0)
            continue; /* worker 0 runs on this thread */
        if (pthread_create(&tids[t], NULL, worker_main, &workers[t]) != 0) {
            pthread_mutex_lock(&sh.mu);
            sh.failed = 1;
            cfx_error_set(&sh.err, CFX_EINTERNAL, "cannot start a thread");
            pthread_mutex_unlock(&sh.mu);
            break;
        }
        started = t;
    }
    worker_main(&workers[0]);
    for (unsigned t = 1; t <= started; t++)
        pthread_join(tids[t], NULL);
    if (sh.failed) {
        *err = sh.err;
        rc = sh.err.code ? sh.err.code : CFX_EINTERNAL;
        goto out;
    }
    /* merge into worker 0's accumulators, in worker order */
    for (size_t s = 0; s < ss->n; s++) {
        if (!workers[0].acc[s] && !(workers[0].acc[s] = cfx_stats_acc_new(o))) {
            rc = cfx_error_set(err, CFX_ENOMEM, "statistics accumulator");
            goto out;
        }
        for (unsigned t = 1; t < nthreads; t++)
            if (workers[t].acc[s] &&
                (rc = cfx_stats_merge(workers[0].acc[s], workers[t].acc[s],
                                      err)) < 0) {
                cfx_error_prefix(err, "Split-%s", ss->names[s]);
                goto out;
            }
        ss->acc[s] = workers[0].acc[s];
        workers[0].acc[s] = NULL;
    }
out:
    for (unsigned t = 0; t < MAX_THREADS; t++)
        for (size_t s = 0; s < MAX_SPLITS; s++)
            cfx_stats_acc_free(workers[t].acc[s]);
    for (size_t s = 0; s < ss->n; s++)
        if (files[s])
            cfx_path_list_free(files[s]);
    free(items);
    pthread_mutex_destroy(&sh.mu);
    return rc;
}

/* Normalises out_dir into out; it must be absent or an empty directory. */
static int check_out(const char *out_dir, char *out, size_t cap,
                     cfx_error_t *err) {
    size_t ol = strlen(out_dir);
    while (ol > 1 && out_dir[ol - 1] == '/')
        ol--;
    if (ol == 0 || ol >= cap)
        return cfx_error_set(err, CFX_EINVAL, "output directory name '%s'",
                             out_dir);
    memcpy(out, out_dir, ol);
    out[ol] = '\0';
    return cfx_file_check_empty_dir(out, err);
}

/* Writes every split's statistics (or state) under a temporary sibling of
 * out, then renames it into place. */
static int publish(const char *out, const split_set_t *ss, int state,
                   cfx_error_t *err) {
    int rc = 0;
    char tmp[4096 + 16];
    cfx_buf_t buf;
    cfx_buf_init(&buf);
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", out);
    if (!mkdtemp(tmp)) {
        rc = cfx_error_set(err, CFX_EIO, "%s: cannot create: %s", tmp,
                           strerror(errno));
        cfx_buf_free(&buf);
        return rc;
    }
    chmod(tmp, 0755); /* mkdtemp makes it 0700; the result is shared */
    for (size_t s = 0; s < ss->n; s++) {
        char p[4096 + 512];
        snprintf(p, sizeof p, "%s/Split-%s", tmp, ss->names[s]);
        if (mkdir(p, 0777) != 0) {
            rc = cfx_error_set(err, CFX_EIO, "%s: mkdir: %s", p,
                               strerror(errno));
            goto out;
        }
        cfx_buf_reset(&buf);
        rc = state ? cfx_stats_acc_save(ss->acc[s], &buf, err)
                   : cfx_stats_acc_encode(ss->acc[s], &buf, err);
        if (rc < 0)
            goto out;
        strcat(p, state ? "/" STATE_FILE : "/" STATS_FILE);
        if ((rc = cfx_file_write_atomic(p, buf.data, buf.len, err)) < 0)
            goto out;
    }
    if (rename(tmp, out) != 0)
        rc = cfx_error_set(err, CFX_EIO, "rename %s -> %s: %s", tmp, out,
                           strerror(errno));
out:
    if (rc < 0)
        cfx_file_remove_tree(tmp, NULL);
    cfx_buf_free(&buf);
    return rc;
}

static int run(const char *examples_dir, const char *out_dir,
               const cfx_stats_options_t *opts, unsigned part,
               unsigned num_parts, int state, size_t *num_splits,
               cfx_error_t *err) {
    int rc;
    char out[4096];
    split_set_t ss;
    cfx_stats_options_t o = {0};
    memset(&ss, 0, sizeof ss);
    if (opts)
        o = *opts;
    if ((rc = check_out(out_dir, out, sizeof out, err)) < 0)
        return rc;
    if ((rc = compute(examples_dir, &o, part, num_parts, &ss, err)) == 0 &&
        (rc = publish(out, &ss, state, err)) == 0 && num_splits)
        *num_splits = ss.n;
    split_set_free(&ss);
    return rc;
}

int cfx_statistics_run(const char *examples_dir, const char *out_dir,
                       const cfx_stats_options_t *opts, size_t *num_splits,
                       cfx_error_t *err) {
    return run(examples_dir, out_dir, opts, 0, 1, 0, num_splits, err);
}

int cfx_statistics_run_part(const char *examples_dir, const char *out_dir,
                            const cfx_stats_options_t *opts, unsigned part,
                            unsigned num_parts, size_t *num_splits,
                            cfx_error_t *err) {
    if (num_parts == 0 || part >= num_parts)
        return cfx_error_set(err, CFX_EINVAL, "part %u of %u", part, num_parts);
    return run(examples_dir, out_dir, opts, part, num_parts, 1, num_splits,
               err);
}

int cfx_statistics_merge_parts(const char *const *part_dirs, size_t n,
                               const char *out_dir,
                               const cfx_stats_options_t *opts,
                               size_t *num_splits, cfx_error_t *err) {
    int rc = 0;
    char out[4096];
    split_set_t ss;
    cfx_buf_t buf;
    memset(&ss, 0, sizeof ss);
    cfx_buf_init(&buf);
    if (n == 0)
        return cfx_error_set(err, CFX_EINVAL, "nothing to merge");
    if ((rc = check_out(out_dir, out, sizeof out, err)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *names[MAX_SPLITS];
        size_t nn = 0;
        if ((rc = list_splits(part_dirs[i], names, &nn, err)) < 0)
            break;
        for (size_t k = 0; k < nn; k++) {
            char p[4096 + 512];
            cfx_stats_acc_t *acc = NULL;
            snprintf(p, sizeof p, "%s/Split-%s/" STATE_FILE, part_dirs[i],
                     names[k]);
            cfx_buf_reset(&buf);
            if (rc == 0 &&
                (rc = cfx_file_read(p, STATE_MAX_BYTES, &buf, err)) == 0 &&
                (rc = cfx_stats_acc_load(opts, buf.data, buf.len, &acc, err)) <
                    0)
                cfx_error_prefix(err, "%s", p);
            size_t s = 0;
            while (rc == 0 && s < ss.n && strcmp(ss.names[s], names[k]))
                s++;
            if (rc == 0 && s == ss.n) {
                if (ss.n == MAX_SPLITS) {
                    rc = cfx_error_set(err, CFX_ETOOBIG, "more than %d splits",
                                       MAX_SPLITS);
                } else {
                    ss.names[s] = names[k];
                    names[k] = NULL;
                    ss.acc[s] = acc;
                    acc = NULL;
                    ss.n++;
                }
            } else if (rc == 0 &&
                       (rc = cfx_stats_merge(ss.acc[s], acc, err)) < 0) {
                cfx_error_prefix(err, "%s", p);
            }
            cfx_stats_acc_free(acc);
            free(names[k]);
        }
    }
    if (rc == 0) {
        /* splits in name order, as a single run writes them */
        for (size_t a = 1; a < ss.n; a++)
            for (size_t b = a;
                 b > 0 && strcmp(ss.names[b - 1], ss.names[b]) > 0; b--) {
                char *tn = ss.names[b];
                ss.names[b] = ss.names[b - 1];
                ss.names[b - 1] = tn;
                cfx_stats_acc_t *ta = ss.acc[b];
                ss.acc[b] = ss.acc[b - 1];
                ss.acc[b - 1] = ta;
            }
        if ((rc = publish(out, &ss, 0, err)) == 0 && num_splits)
            *num_splits = ss.n;
    }
    split_set_free(&ss);
    cfx_buf_free(&buf);
    return rc;
}

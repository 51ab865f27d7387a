/*
 * statistics_run.c: the StatisticsGen component: every split of an
 * Examples artifact to <out>/Split-<name>/FeatureStats.pb.
 *
 * The TFRecord files of all splits form one work list; file i goes to
 * worker i % threads, which keeps one accumulator per split and adds its
 * files in order; the workers' accumulators are then merged in worker
 * order. The result is therefore deterministic for a given thread count
 * (floating-point sums may differ in the last bits between thread counts).
 */
#include "pipeline/statistics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/tfrecord.h"

#define MAX_SPLITS 64
#define MAX_THREADS 16

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

static int write_file(const char *path, const cfx_buf_t *b, cfx_error_t *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(fd, b->data + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return cfx_error_set(err, CFX_EIO, "%s: write: %s", path,
                                 strerror(e));
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0)
        return cfx_error_set(err, CFX_EIO, "%s: fsync/close: %s", path,
                             strerror(errno));
    return 0;
}

static void remove_tree2(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char sub[4096 + 256];
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
            char file[4096 + 512];
            snprintf(file, sizeof file, "%s/FeatureStats.pb", sub);
            unlink(file);
            if (rmdir(sub) != 0)
                unlink(sub);
        }
        closedir(d);
    }
    rmdir(dir);
}

int cfx_statistics_run(const char *examples_dir, const char *out_dir,
                       const cfx_stats_options_t *opts, size_t *num_splits,
                       cfx_error_t *err) {
    int rc = 0;
    char *split_names[MAX_SPLITS];
    char **files[MAX_SPLITS];
    size_t nfiles[MAX_SPLITS];
    size_t nsplits = 0, nitems = 0;
    work_t *items = NULL;
    worker_t workers[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    unsigned started = 0, nthreads;
    shared_t sh;
    cfx_buf_t buf;
    char out[4096], tmp[4096 + 16] = "";
    cfx_stats_options_t o = {0};
    DIR *d = NULL;

    memset(workers, 0, sizeof workers);
    memset(&sh, 0, sizeof sh);
    memset(files, 0, sizeof files);
    cfx_buf_init(&buf);
    if (opts)
        o = *opts;
    nthreads = o.threads ? o.threads : 2;
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    pthread_mutex_init(&sh.mu, NULL);

    size_t ol = strlen(out_dir);
    while (ol > 1 && out_dir[ol - 1] == '/')
        ol--;
    if (ol == 0 || ol >= sizeof out) {
        rc = cfx_error_set(err, CFX_EINVAL, "output directory name '%s'",
                           out_dir);
        goto out;
    }
    memcpy(out, out_dir, ol);
    out[ol] = '\0';
    {
        struct stat st;
        if (stat(out, &st) == 0) {
            DIR *od = opendir(out);
            int empty = 1;
            struct dirent *e;
            if (!od) {
                rc = cfx_error_set(err, CFX_EEXIST,
                                   "%s: exists and is not a directory", out);
                goto out;
            }
            while ((e = readdir(od)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                    empty = 0;
            closedir(od);
            if (!empty) {
                rc = cfx_error_set(err, CFX_EEXIST,
                                   "%s: output directory exists and is not "
                                   "empty",
                                   out);
                goto out;
            }
        }
    }

    /* splits: the Split-<name> directories, sorted */
    if (!(d = opendir(examples_dir))) {
        rc = cfx_error_set(err, errno == ENOENT ? CFX_ENOTFOUND : CFX_EIO,
                           "%s: %s", examples_dir, strerror(errno));
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "Split-", 6) != 0 || !e->d_name[6])
            continue;
        char p[4096 + 256];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", examples_dir, e->d_name);
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (nsplits == MAX_SPLITS) {
            rc = cfx_error_set(err, CFX_ETOOBIG, "%s: more than %d splits",
                               examples_dir, MAX_SPLITS);
            goto out;
        }
        if (!(split_names[nsplits] = strdup(e->d_name + 6))) {
            rc = cfx_error_set(err, CFX_ENOMEM, "split names");
            goto out;
        }
        nsplits++;
    }
    closedir(d);
    d = NULL;
    if (nsplits == 0) {
        rc = cfx_error_set(err, CFX_ENOTFOUND,
                           "%s: no Split-<name> directories (not an "
                           "Examples artifact?)",
                           examples_dir);
        goto out;
    }
    qsort(split_names, nsplits, sizeof *split_names, cmp_str);
    for (size_t s = 0; s < nsplits; s++) {
        char p[4096 + 256];
        snprintf(p, sizeof p, "%s/Split-%s", examples_dir, split_names[s]);
        if ((rc = cfx_tfrecord_list_dir(p, &files[s], &nfiles[s], err)) < 0)
            goto out;
        nitems += nfiles[s];
    }
    items = calloc(nitems ? nitems : 1, sizeof *items);
    if (!items) {
        rc = cfx_error_set(err, CFX_ENOMEM, "work list");
        goto out;
    }
    nitems = 0;
    for (size_t s = 0; s < nsplits; s++)
        for (size_t k = 0; k < nfiles[s]; k++)
            items[nitems++] = (work_t){s, files[s][k]};

    sh.items = items;
    sh.nitems = nitems;
    sh.nsplits = nsplits;
    sh.opts = &o;
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
    for (size_t s = 0; s < nsplits; s++) {
        if (!workers[0].acc[s] && !(workers[0].acc[s] = cfx_stats_acc_new(&o))) {
            rc = cfx_error_set(err, CFX_ENOMEM, "statistics accumulator");
            goto out;
        }
        for (unsigned t = 1; t < nthreads; t++)
            if (workers[t].acc[s] &&
                (rc = cfx_stats_merge(workers[0].acc[s], workers[t].acc[s],
                                      err)) < 0) {
                cfx_error_prefix(err, "Split-%s", split_names[s]);
                goto out;
            }
    }

    /* write under a temporary sibling, then publish */
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", out);
    if (!mkdtemp(tmp)) {
        rc = cfx_error_set(err, CFX_EIO, "%s: cannot create: %s", tmp,
                           strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    chmod(tmp, 0755); /* mkdtemp makes it 0700; the result is shared */
    for (size_t s = 0; s < nsplits; s++) {
        char p[4096 + 512];
        snprintf(p, sizeof p, "%s/Split-%s", tmp, split_names[s]);
        if (mkdir(p, 0777) != 0) {
            rc = cfx_error_set(err, CFX_EIO, "%s: mkdir: %s", p,
                               strerror(errno));
            goto out;
        }
        cfx_buf_reset(&buf);
        if ((rc = cfx_stats_acc_encode(workers[0].acc[s], &buf, err)) < 0)
            goto out;
        strcat(p, "/FeatureStats.pb");
        if ((rc = write_file(p, &buf, err)) < 0)
            goto out;
    }
    if (rename(tmp, out) != 0) {
        rc = cfx_error_set(err, CFX_EIO, "rename %s -> %s: %s", tmp, out,
                           strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    if (num_splits)
        *num_splits = nsplits;
out:
    if (d)
        closedir(d);
    if (tmp[0])
        remove_tree2(tmp);
    for (unsigned t = 0; t < MAX_THREADS; t++)
        for (size_t s = 0; s < MAX_SPLITS; s++)
            cfx_stats_acc_free(workers[t].acc[s]);
    for (size_t s = 0; s < nsplits; s++) {
        free(split_names[s]);
        if (files[s])
            cfx_path_list_free(files[s]);
    }
    free(items);
    cfx_buf_free(&buf);
    pthread_mutex_destroy(&sh.mu);
    return rc;
}

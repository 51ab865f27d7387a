/*
 * model_manager.c: version discovery, loading, hot swap and reference
 * counting of servables (see model_manager.h).
 *
 * Threads: one loader thread does every filesystem access, load, warmup,
 * unload and free. Request threads only take the read lock to find a
 * servable and bump its count. The state the status API shows is written
 * by the loader under the write lock. A servable whose count reaches zero
 * is pushed to a free queue and the loader is woken through an eventfd, so
 * a request thread never runs cfx_bundle_free.
 *
 * Switch policy (TF Serving's AvailabilityPreservingPolicy, §3.4): load
 * the aspired versions first, highest first; unload versions no longer
 * aspired only when an aspired version is AVAILABLE (or none is aspired).
 * A version that failed to load is retried when its files change (a
 * fingerprint of every entry's stat and of the manifest's bytes, taken
 * before each attempt, differs) and otherwise after a backoff that starts
 * at one second and doubles up to a minute, so a copy that was not atomic
 * (manifest first, weights later inside a subfolder) is loaded once it is
 * complete without anything touching the version directory.
 *
 * The model store (TF Serving unloads everything when its storage
 * flickers, its issue #1480): a base path that cannot be listed (missing,
 * not a directory, EACCES, EIO, a read error mid-listing), or that lists
 * no version directory while some version is AVAILABLE, is an outage:
 * nothing unloads, and the outage is logged once when it starts, once per
 * change of kind, and once when it ends. Only a readable listing with at
 * least one version retires the versions it no longer names.
 *
 * Startup (TF Serving's ServerCore::Create): after each pass the loader
 * counts the models still waiting for a first version (none yet, or no
 * base path yet) and those whose only versions failed; the startup wait
 * ends when none waits or one failed, so a server deployed before the
 * first push keeps polling instead of exiting.
 */
#include "serve/model_manager.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "formats/clock.h"
#include "formats/file.h"
#include "formats/sha256.h"
#include "serve/metrics.h"
#include "serve/s3_source.h"
#include "serve/service.h"
#include "store/s3.h"

#define MAX_VERSIONS_LISTED 4096 /* bound on numeric children per scan */
#define MAX_STATUS_ENTRIES 64    /* END entries kept for the status API */
#define FP_MAX_ENTRIES 4096      /* bound on entries a fingerprint walks */
#define FP_MAX_DEPTH 8           /* ... and on its folder depth */
#define FP_MAX_MANIFEST (16u << 20)
#define STORE_EMPTY (-1) /* model_t.store_err: listed, no version */

struct cfx_servable {
    atomic_int refs;
    cfx_manager_t *mgr;
    char *model_name;
    int64_t version;
    cfx_bundle_t *bundle;
    cfx_sigtab_t *sigtab;
    struct cfx_servable *next_free;
};

typedef struct version_entry {
    int64_t version;
    cfx_version_state_t state;
    int error_code;
    char error_message[512];
    cfx_servable_t *servable; /* manager's reference while AVAILABLE */
    /* Retries (loader thread only; failures is also rendered, under the
     * read lock): the fingerprint of the version's files taken before the
     * last attempt, the consecutive failed attempts, and when the backoff
     * allows the next one (monotonic µs). */
    uint8_t fp[CFX_SHA256_LEN];
    int failures;
    uint64_t retry_at_us;
} version_entry_t;

typedef struct model {
    cfx_model_config_t cfg; /* owned copy */
    version_entry_t *v;     /* sorted by version, descending */
    size_t nv, capv;
    cfx_s3_source_t *s3; /* base path s3://...: the store (docs/s3.md) */
    int wd;              /* inotify watch, -1 when none */
    int scanned;         /* one full scan done */
    uint64_t warned_us;  /* last "no versions" / "could not list" log,
                            0 when the last scan found versions */
    /* The store as the last scan found it (written by the loader under
     * the write lock): 0 listed with versions, STORE_EMPTY listed without,
     * else the errno of the listing; whether that is an outage (versions
     * kept serving); how many outages began. */
    int store_err;
    int store_outage;
    uint64_t outages;
    dev_t watch_dev; /* the base path directory wd watches */
    ino_t watch_ino;
    /* The labels requests see: cfg.labels once every label of a config
     * (startup or reload) named an AVAILABLE version; owned copies. */
    cfx_version_label_t *active;
    size_t n_active;
} model_t;

struct cfx_manager {
    cfx_manager_options_t opts;
    pthread_rwlock_t rw; /* models and their entries */
    model_t **models;
    size_t nmodels;

    pthread_mutex_t mu; /* everything below */
    pthread_cond_t cv;
    int stop;
    int rescan;
    cfx_model_list_t *pending; /* a reload waiting for the loader */
    uint64_t generation;       /* bumped after each full scan pass */
    uint64_t reload_seq;       /* reloads posted */
    uint64_t reload_done;      /* reloads applied and scanned */
    size_t n_waiting;          /* after the last pass: models with neither
                                  an AVAILABLE nor a failed version */
    size_t n_failed;           /* ... with a failed one and no AVAILABLE */
    int label_rc;              /* labels of the last config refused: */
    char label_msg[CFX_ERROR_MSG_MAX]; /* CFX_ESTATE and why, else 0 */
    cfx_servable_t *free_list;

    int wake_fd;
    int inotify_fd;
    pthread_t loader;
    int loader_running;
};

const char *cfx_version_state_name(cfx_version_state_t s) {
    switch (s) {
    case CFX_STATE_START:
        return "START";
    case CFX_STATE_LOADING:
        return "LOADING";
    case CFX_STATE_AVAILABLE:
        return "AVAILABLE";
    case CFX_STATE_UNLOADING:
        return "UNLOADING";
    case CFX_STATE_END:
        return "END";
    default:
        return "UNKNOWN";
    }
}

/* ---- servables ------------------------------------------------------------
 */

static void servable_destroy(cfx_servable_t *s) {
    cfx_sigtab_free(s->sigtab);
    cfx_bundle_free(s->bundle);
    free(s->model_name);
    free(s);
}

static void wake(cfx_manager_t *m) {
    uint64_t one = 1;
    ssize_t w = write(m->wake_fd, &one, sizeof(one));
    (void)w;
}

void cfx_servable_release(cfx_servable_t *s) {
    if (!s)
        return;
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    cfx_manager_t *m = s->mgr;
    pthread_mutex_lock(&m->mu);
    s->next_free = m->free_list;
    m->free_list = s;
    pthread_mutex_unlock(&m->mu);
    wake(m);
}

const cfx_bundle_t *cfx_servable_bundle(const cfx_servable_t *s) {
    return s->bundle;
}
int64_t cfx_servable_version(const cfx_servable_t *s) {
    return s->version;
}
const char *cfx_servable_model_name(const cfx_servable_t *s) {
    return s->model_name;
}
const struct cfx_sigtab *cfx_servable_sigtab(const cfx_servable_t *s) {
    return s->sigtab;
}

static void drain_free_list(cfx_manager_t *m) {
    pthread_mutex_lock(&m->mu);
    cfx_servable_t *l = m->free_list;
    m->free_list = NULL;
    pthread_mutex_unlock(&m->mu);
    int freed = l != NULL;
    while (l) {
        cfx_servable_t *next = l->next_free;
        fprintf(stderr,
                "cfx-serve: Done unloading servable version {name: %s "
                "version: %" PRId64 "}\n",
                l->model_name, l->version);
        servable_destroy(l);
        l = next;
    }
    /* Hand the freed weights back to the system now rather than keeping
     * them in malloc's free lists (TF Serving's issues #1346, #2142). */
    if (freed)
        malloc_trim(0);
}

/* ---- models ---------------------------------------------------------------
 */

static void model_free(model_t *md) {
    if (!md)
        return;
    for (size_t i = 0; i < md->nv; i++)
        cfx_servable_release(md->v[i].servable);
    cfx_s3_source_free(md->s3);
    free(md->v);
    free(md->cfg.name);
    free(md->cfg.base_path);
    free(md->cfg.versions);
    for (size_t i = 0; i < md->cfg.n_labels; i++)
        free(md->cfg.labels[i].label);
    free(md->cfg.labels);
    for (size_t i = 0; i < md->n_active; i++)
        free(md->active[i].label);
    free(md->active);
    free(md);
}

/* NULL with err set when out of memory or when an s3:// base path or the
 * S3 environment is refused. */
static model_t *model_new(const cfx_manager_t *m, const cfx_model_config_t *cfg,
                          cfx_error_t *err) {
    model_t *md = calloc(1, sizeof(*md));
    if (!md) {
        cfx_error_set(err, CFX_ENOMEM, "out of memory");
        return NULL;
    }
    md->wd = -1;
    cfx_model_list_t src = {(cfx_model_config_t *)cfg, 1}, dst;
    if (cfx_model_list_copy(&dst, &src)) {
        free(md);
        cfx_error_set(err, CFX_ENOMEM, "out of memory");
        return NULL;
    }
    md->cfg = dst.models[0];
    free(dst.models);
    if (cfx_s3_is_url(cfg->base_path) &&
        cfx_s3_source_new(cfg->name, cfg->base_path, m->opts.model_cache_dir,
                          m->opts.s3_max_version_bytes, &md->s3, err)) {
        cfx_error_prefix(err, "model %s", cfg->name);
        model_free(md);
        return NULL;
    }
    return md;
}

static model_t *find_model(cfx_manager_t *m, const char *name) {
    for (size_t i = 0; i < m->nmodels; i++)
        if (strcmp(m->models[i]->cfg.name, name) == 0)
            return m->models[i];
    return NULL;
}

static version_entry_t *find_entry(model_t *md, int64_t v) {
    for (size_t i = 0; i < md->nv; i++)
        if (md->v[i].version == v)
            return &md->v[i];
    return NULL;
}

/* Inserts (write lock held) keeping descending order; NULL on ENOMEM. */
static version_entry_t *add_entry(model_t *md, int64_t v) {
    if (md->nv == md->capv) {
        size_t cap = md->capv ? md->capv * 2 : 8;
        version_entry_t *n = realloc(md->v, cap * sizeof(*n));
        if (!n)
            return NULL;
        md->v = n;
        md->capv = cap;
    }
    size_t i = 0;
    while (i < md->nv && md->v[i].version > v)
        i++;
    memmove(&md->v[i + 1], &md->v[i], (md->nv - i) * sizeof(*md->v));
    md->nv++;
    memset(&md->v[i], 0, sizeof(md->v[i]));
    md->v[i].version = v;
    md->v[i].state = CFX_STATE_START;
    return &md->v[i];
}

/* Drops the oldest END entries beyond MAX_STATUS_ENTRIES (write lock). */
static void trim_entries(model_t *md) {
    while (md->nv > MAX_STATUS_ENTRIES) {
        size_t i = md->nv;
        while (i > 0 && md->v[i - 1].state != CFX_STATE_END)
            i--;
        if (i == 0)
            return;
        memmove(&md->v[i - 1], &md->v[i], (md->nv - i) * sizeof(*md->v));
        md->nv--;
    }
}

/* ---- public: lifecycle ----------------------------------------------------
 */

int cfx_manager_new(const cfx_manager_options_t *opts,
                    const cfx_model_list_t *models, cfx_manager_t **out,
                    cfx_error_t *err) {
    *out = NULL;
    cfx_manager_t *m = calloc(1, sizeof(*m));
    if (!m)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    m->opts = *opts;
    pthread_rwlock_init(&m->rw, NULL);
    pthread_mutex_init(&m->mu, NULL);
    /* The startup wait is timed; a monotonic clock keeps a wall-clock
     * step from stretching or cutting it. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    m->inotify_fd = -1;
    m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m->wake_fd < 0) {
        cfx_manager_free(m);
        return cfx_error_set(err, CFX_EIO, "eventfd: %s", strerror(errno));
    }
    if (opts->file_system_poll_wait_seconds > 0)
        m->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (models->n) {
        m->models = calloc(models->n, sizeof(*m->models));
        if (!m->models) {
            cfx_manager_free(m);
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < models->n; i++) {
            m->models[i] = model_new(m, &models->models[i], err);
            if (!m->models[i]) {
                cfx_manager_free(m);
                return err ? err->code : CFX_ENOMEM;
            }
            m->nmodels = i + 1;
        }
    }
    *out = m;
    return 0;
}

void cfx_manager_free(cfx_manager_t *m) {
    if (!m)
        return;
    if (m->loader_running) {
        pthread_mutex_lock(&m->mu);
        m->stop = 1;
        pthread_cond_broadcast(&m->cv);
        pthread_mutex_unlock(&m->mu);
        wake(m);
        pthread_join(m->loader, NULL);
    }
    for (size_t i = 0; i < m->nmodels; i++)
        model_free(m->models[i]);
    free(m->models);
    if (m->pending) {
        cfx_model_list_free(m->pending);
        free(m->pending);
    }
    drain_free_list(m);
    if (m->wake_fd >= 0)
        close(m->wake_fd);
    if (m->inotify_fd >= 0)
        close(m->inotify_fd);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    pthread_rwlock_destroy(&m->rw);
    free(m);
}

/* ---- the loader -----------------------------------------------------------
 */

/* "123" -> 123; only digits, fits int64. */
static int parse_version(const char *s, int64_t *out) {
    int64_t v = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        if (v > (INT64_MAX - (*s - '0')) / 10)
            return 0;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 1;
}

static int cmp_desc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Numeric version directories of base_path, descending; past
 * MAX_VERSIONS_LISTED, the highest ones. -1 with errno set when the base
 * path can't be listed completely (then nothing is unloaded): a listing
 * cut short by a read error or by memory must not retire versions. */
static int list_versions(const char *base, int64_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    int rc = 0;
    /* open + fdopendir rather than opendir: the descriptor is then created
     * by an intercepted open(), which keeps ThreadSanitizer's descriptor
     * tracking right when a number just closed by a worker is reused. */
    int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    size_t cap = 0, lowest = 0; /* lowest: index of the smallest when full */
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            rc = errno ? -1 : 0;
            break;
        }
        int64_t v;
        if (e->d_name[0] == '.' || !parse_version(e->d_name, &v))
            continue;
        if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN &&
            e->d_type != DT_LNK)
            continue;
        if (*n >= MAX_VERSIONS_LISTED) {
            if (v > (*out)[lowest]) {
                (*out)[lowest] = v;
                for (size_t i = 0; i < *n; i++)
                    if ((*out)[i] < (*out)[lowest])
                        lowest = i;
            }
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *p = realloc(*out, cap * sizeof(*p));
            if (!p) {
                errno = ENOMEM;
                rc = -1;
                break;
            }
            *out = p;
        }
        if (*n && v < (*out)[lowest])
            lowest = *n;
        (*out)[(*n)++] = v;
    }
    int saved = errno;
    closedir(d);
    if (rc) {
        free(*out);
        *out = NULL;
        *n = 0;
        errno = saved;
        return -1;
    }
    if (*n)
        qsort(*out, *n, sizeof(**out), cmp_desc);
    return 0;
}

static int is_aspired(const model_t *md, const int64_t *vs, size_t n,
                      int64_t v) {
    const cfx_model_config_t *c = &md->cfg;
    size_t rank = 0;
    int present = 0;
    for (size_t i = 0; i < n; i++) {
        if (vs[i] == v) {
            present = 1;
            rank = i;
            break;
        }
    }
    if (!present)
        return 0;
    switch (c->policy) {
    case CFX_POLICY_ALL:
        return 1;
    case CFX_POLICY_SPECIFIC:
        for (size_t i = 0; i < c->n_versions; i++)
            if (c->versions[i] == v)
                return 1;
        return 0;
    default:
        return rank < c->num_versions;
    }
}

static void version_dir(const model_t *md, int64_t v, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%" PRId64, md->cfg.base_path, v);
}

/* Loads one version (no lock held) into a servable. */
static int load_servable(cfx_manager_t *m, const model_t *md, int64_t v,
                         cfx_servable_t **out, cfx_error_t *err) {
    char dir[4096];
    int rc = 0;
    *out = NULL;
    version_dir(md, v, dir, sizeof(dir));
    uint64_t t0 = cfx_clock_mono_us();
    /* a version in S3 is downloaded and verified into the cache first */
    if (md->s3 && (rc = cfx_s3_source_fetch(md->s3, v, dir, sizeof(dir), err)))
        return rc;
    cfx_servable_t *s = calloc(1, sizeof(*s));
    if (!s)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    atomic_init(&s->refs, 1);
    s->mgr = m;
    s->version = v;
    s->model_name = strdup(md->cfg.name);
    if (!s->model_name) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    rc = cfx_bundle_load(dir, &s->bundle, err);
    if (rc)
        goto out;
    rc = cfx_sigtab_new(s->bundle, &s->sigtab, err);
    if (rc)
        goto out;
    if (m->opts.enable_model_warmup) {
        size_t n = 0;
        rc = cfx_service_warmup(s, &n, err);
        if (rc) {
            cfx_error_prefix(err, "warmup");
            goto out;
        }
        if (n)
            fprintf(stderr,
                    "cfx-serve: Finished reading warmup data for model "
                    "at %s. Number of warmup records read: %zu.\n",
                    dir, n);
    }
out:
    cfx_metrics_record_load(m->opts.metrics, dir,
                            rc ? cfx_service_tf_code(rc) : 0,
                            cfx_clock_mono_us() - t0);
    if (rc) {
        servable_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- retries: fingerprints and backoff ------------------------------------
 */

/* One entry's identity: what any write, truncation, rename or chmod
 * changes (ctime moves with each of them, even when mtime is set back). */
static void fp_add_stat(cfx_sha256_t *h, const char *rel,
                        const struct stat *st) {
    struct {
        uint64_t dev, ino, mode, size;
        int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
    } rec;
    memset(&rec, 0, sizeof(rec));
    rec.dev = (uint64_t)st->st_dev;
    rec.ino = (uint64_t)st->st_ino;
    rec.mode = (uint64_t)st->st_mode;
    rec.size = (uint64_t)st->st_size;
    rec.mtime_s = (int64_t)st->st_mtim.tv_sec;
    rec.mtime_ns = (int64_t)st->st_mtim.tv_nsec;
    rec.ctime_s = (int64_t)st->st_ctim.tv_sec;
    rec.ctime_ns = (int64_t)st->st_ctim.tv_nsec;
    cfx_sha256_update(h, rel, strlen(rel) + 1);
    cfx_sha256_update(h, &rec, sizeof(rec));
}

/* Adds every entry below the folder path[0..len) to h, depth first in
 * directory order, each named relative to the first root_len bytes;
 * bounded by FP_MAX_ENTRIES and FP_MAX_DEPTH (a loop of links ends). */
static void fp_add_dir(cfx_sha256_t *h, char *path, size_t len, size_t cap,
                       size_t root_len, int depth, size_t *entries) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        cfx_sha256_update(h, &e, sizeof(e));
        return;
    }
    struct dirent *de;
    while (*entries < FP_MAX_ENTRIES && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        size_t nl = strlen(de->d_name);
        if (len + 1 + nl >= cap)
            continue;
        (*entries)++;
        path[len] = '/';
        memcpy(path + len + 1, de->d_name, nl + 1);
        struct stat st;
        if (stat(path, &st) != 0) {
            int e = errno;
            cfx_sha256_update(h, path + root_len, strlen(path + root_len) + 1);
            cfx_sha256_update(h, &e, sizeof(e));
        } else {
            fp_add_stat(h, path + root_len, &st);
            if (S_ISDIR(st.st_mode) && depth < FP_MAX_DEPTH)
                fp_add_dir(h, path, len + 1 + nl, cap, root_len, depth + 1,
                           entries);
        }
        path[len] = 0;
    }
    closedir(d);
}

static int fp_chunk(void *ud, const void *data, size_t n, cfx_error_t *err) {
    (void)err;
    return cfx_sha256_update(ud, data, n);
}

/* The fingerprint of the version directory dir (loader thread): the stat
 * of the folder and of every entry below it, plus the manifest's bytes (a
 * manifest rewritten in place within one timestamp tick still differs).
 * All zeros when the hash could not even start, which reads as a change
 * once it can. */
static void version_fingerprint(const char *dir, uint8_t out[CFX_SHA256_LEN]) {
    memset(out, 0, CFX_SHA256_LEN);
    char path[4096];
    size_t len = strlen(dir);
    cfx_sha256_t h;
    if (len + sizeof("/manifest.json") > sizeof(path) || cfx_sha256_init(&h))
        return;
    memcpy(path, dir, len + 1);
    struct stat st;
    if (stat(dir, &st) == 0)
        fp_add_stat(&h, "", &st);
    size_t entries = 0;
    fp_add_dir(&h, path, len, sizeof(path), len, 0, &entries);
    memcpy(path + len, "/manifest.json", sizeof("/manifest.json"));
    cfx_error_t err;
    cfx_error_init(&err);
    int rc =
        cfx_file_read_chunks(path, FP_MAX_MANIFEST, fp_chunk, &h, NULL, &err);
    cfx_sha256_update(&h, &rc, sizeof(rc));
    if (cfx_sha256_final(&h, out))
        memset(out, 0, CFX_SHA256_LEN);
}

/* The backoff after the failures-th failed load in a row, in ms: the
 * first delay doubled per failure, at most the largest. */
static uint64_t retry_delay_ms(const cfx_manager_t *m, int failures) {
    uint64_t d = m->opts.load_retry_initial_ms > 0
                     ? (uint64_t)m->opts.load_retry_initial_ms
                     : 1000;
    uint64_t most = m->opts.load_retry_max_ms > 0
                        ? (uint64_t)m->opts.load_retry_max_ms
                        : 60000;
    for (int i = 1; i < failures && d < most; i++)
        d *= 2;
    return d < most ? d : most;
}

/* µs from now until the next backoff retry of any model, UINT64_MAX when
 * none is pending (loader thread). A deadline already past was either
 * taken by the scan just done or belongs to a version no longer aspired,
 * which the next aspiring scan retries at once; it sets no timer. */
static uint64_t next_retry_in_us(cfx_manager_t *m) {
    uint64_t now = cfx_clock_mono_us(), best = UINT64_MAX;
    for (size_t i = 0; i < m->nmodels; i++)
        for (size_t j = 0; j < m->models[i]->nv; j++) {
            const version_entry_t *e = &m->models[i]->v[j];
            if (e->state == CFX_STATE_END && e->error_code &&
                e->retry_at_us > now && e->retry_at_us - now < best)
                best = e->retry_at_us - now;
        }
    return best;
}

/* ---- the model store ------------------------------------------------------
 */

/* TF Serving logs a base path without versions, or one it cannot list, on
 * every poll. Scans also follow inotify events (a push creating its hidden
 * temporary folder is one), so the warning is held to one per poll
 * interval (loader thread). */
static int should_warn(cfx_manager_t *m, model_t *md) {
    int every = m->opts.file_system_poll_wait_seconds;
    uint64_t now = cfx_clock_mono_us();
    if (md->warned_us && every > 0 &&
        now - md->warned_us < (uint64_t)every * 1000000u)
        return 0;
    md->warned_us = now;
    return 1;
}

/* Watches md's base path, again when the folder there was replaced (moved
 * away and made anew: the old watch follows the old folder). */
static void watch_base(cfx_manager_t *m, model_t *md) {
    if (m->inotify_fd < 0 || md->s3)
        return;
    struct stat st;
    int ok = stat(md->cfg.base_path, &st) == 0 && S_ISDIR(st.st_mode);
    if (md->wd >= 0 &&
        (!ok || st.st_dev != md->watch_dev || st.st_ino != md->watch_ino)) {
        inotify_rm_watch(m->inotify_fd, md->wd);
        md->wd = -1;
    }
    if (ok && md->wd < 0) {
        md->wd = inotify_add_watch(m->inotify_fd, md->cfg.base_path,
                                   IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                       IN_DELETE | IN_DELETE_SELF |
                                       IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR);
        md->watch_dev = st.st_dev;
        md->watch_ino = st.st_ino;
    }
}

/* Records what this scan found of md's store (loader thread): err is 0
 * for a listing with n > 0 versions, STORE_EMPTY for a readable listing
 * without one, else the errno of a failed listing. Returns 1 when that is
 * an outage (the store unavailable while versions are served): then
 * nothing may unload. Outages are logged when they begin, change kind and
 * end; a model with nothing served yet gets TF Serving's warning per poll
 * instead (a server deployed before the first push). */
static int store_seen(cfx_manager_t *m, model_t *md, int err, size_t n,
                      const char *why) {
    if (!why && err > 0)
        why = strerror(err);
    size_t served = 0;
    int64_t latest = -1;
    for (size_t i = 0; i < md->nv; i++) /* the loader is the only writer */
        if (md->v[i].state == CFX_STATE_AVAILABLE) {
            served++;
            if (md->v[i].version > latest)
                latest = md->v[i].version;
        }
    int outage = err != 0 && served > 0;
    if (outage && (!md->store_outage || md->store_err != err)) {
        if (err == STORE_EMPTY)
            fprintf(stderr,
                    "cfx-serve: Model store outage for servable %s: base "
                    "path %s lists no version directory; keeping %zu "
                    "served version(s) (latest %" PRId64 ") until it lists "
                    "versions again\n",
                    md->cfg.name, md->cfg.base_path, served, latest);
        else
            fprintf(stderr,
                    "cfx-serve: Model store outage for servable %s: cannot "
                    "list base path %s: %s; keeping %zu served version(s) "
                    "(latest %" PRId64 ") until it lists versions again\n",
                    md->cfg.name, md->cfg.base_path, why, served, latest);
    } else if (!outage && md->store_outage && err == 0) {
        fprintf(stderr,
                "cfx-serve: Model store of servable %s is back: base path "
                "%s lists %zu version(s)\n",
                md->cfg.name, md->cfg.base_path, n);
    }
    if (!served && err != 0 && should_warn(m, md)) {
        if (err == STORE_EMPTY)
            fprintf(stderr,
                    "cfx-serve: No versions of servable %s found under "
                    "base path %s. Did you forget to name your leaf "
                    "directory as a number (eg. '/1/')?\n",
                    md->cfg.name, md->cfg.base_path);
        else if (err == ENOENT && !md->s3)
            fprintf(stderr,
                    "cfx-serve: FileSystemStoragePathSource "
                    "encountered a filesystem access error: Could "
                    "not find base path %s for servable %s\n",
                    md->cfg.base_path, md->cfg.name);
        else
            fprintf(stderr,
                    "cfx-serve: FileSystemStoragePathSource "
                    "encountered a filesystem access error: could "
                    "not list base path %s for servable %s: %s\n",
                    md->cfg.base_path, md->cfg.name, why);
    }
    if (err == 0)
        md->warned_us = 0;
    pthread_rwlock_wrlock(&m->rw);
    if (outage && !md->store_outage)
        md->outages++;
    md->store_outage = outage;
    md->store_err = err;
    pthread_rwlock_unlock(&m->rw);
    return outage;
}

/* ---- one scan -------------------------------------------------------------
 */

/* One model: load what is aspired and new (or failed and due for a retry),
 * then unload what is no longer aspired when that keeps availability. */

/* A message cut at a byte count may end inside a UTF-8 sequence; gRPC
 * clients refuse such a proto3 string (GetModelStatus), so the partial
 * sequence goes. */
static void utf8_cut_tail(char *s) {
    size_t n = strlen(s), k = n;
    while (k > 0 && ((unsigned char)s[k - 1] & 0xC0) == 0x80)
        k--;
    if (k == 0 || ((unsigned char)s[k - 1] & 0xC0) != 0xC0)
        return; /* ASCII last, or stray continuation bytes: left as is */
    unsigned char lead = (unsigned char)s[k - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (n - (k - 1) < want)
        s[k - 1] = '\0';
}
static void scan_model(cfx_manager_t *m, model_t *md) {
    int64_t *vs = NULL;
    size_t n = 0;
    int polls = m->opts.file_system_poll_wait_seconds > 0;
    watch_base(m, md);
    int err = 0;
    cfx_error_t serr;
    cfx_error_init(&serr);
    if (md->s3) {
        int rc =
            cfx_s3_source_list(md->s3, MAX_VERSIONS_LISTED, &vs, &n, &serr);
        if (rc)
            err = rc == CFX_ENOTFOUND      ? ENOENT
                  : rc == CFX_EUNAVAILABLE ? EHOSTUNREACH
                                           : EIO;
    } else if (list_versions(md->cfg.base_path, &vs, &n) < 0) {
        err = errno ? errno : EIO;
    }
    if (!err && n == 0)
        err = STORE_EMPTY;
    /* An unreadable store leaves everything as it is; so does an empty
     * one while versions are served (keep serving what is loaded). */
    if (store_seen(m, md, err, n, md->s3 && err > 0 ? serr.msg : NULL) ||
        err > 0) {
        md->scanned = 1;
        free(vs);
        return;
    }

    /* Load aspired versions that are new or due for a retry (highest
     * first). */
    for (size_t i = 0; i < n; i++) {
        int64_t v = vs[i];
        if (!is_aspired(md, vs, n, v))
            continue;
        char dir[4096];
        struct stat st;
        version_dir(md, v, dir, sizeof(dir));
        if (!md->s3 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
            continue;
        pthread_rwlock_rdlock(&m->rw);
        version_entry_t *e = find_entry(md, v);
        int available = e && e->state == CFX_STATE_AVAILABLE;
        int failed = e && e->state == CFX_STATE_END && e->error_code != 0;
        pthread_rwlock_unlock(&m->rw);
        if (available)
            continue;
        uint8_t fp[CFX_SHA256_LEN];
        if (md->s3)
            cfx_s3_source_fingerprint(md->s3, v, fp);
        else
            version_fingerprint(dir, fp);
        int changed = 0;
        char why[64] = "";
        if (failed) {
            changed = memcmp(fp, e->fp, sizeof(fp)) != 0;
            if (!changed && !(polls && cfx_clock_mono_us() >= e->retry_at_us))
                continue;
            if (changed)
                snprintf(why, sizeof(why), " (retry: its files changed)");
            else
                snprintf(why, sizeof(why), " (retry after %g s)",
                         (double)retry_delay_ms(m, e->failures) / 1000.0);
        }
        pthread_rwlock_wrlock(&m->rw);
        e = find_entry(md, v);
        if (!e)
            e = add_entry(md, v);
        if (e) {
            e->state = CFX_STATE_LOADING;
            e->error_code = 0;
            e->error_message[0] = 0;
        }
        pthread_rwlock_unlock(&m->rw);
        if (!e)
            continue;
        fprintf(stderr,
                "cfx-serve: Loading servable version {name: %s "
                "version: %" PRId64 "}%s\n",
                md->cfg.name, v, why);
        cfx_error_t lerr;
        cfx_error_init(&lerr);
        cfx_servable_t *s = NULL;
        int rc = load_servable(m, md, v, &s, &lerr);
        pthread_rwlock_wrlock(&m->rw);
        e = find_entry(md, v);
        memcpy(e->fp, fp, sizeof(fp));
        if (rc) {
            e->state = CFX_STATE_END;
            e->error_code = cfx_service_tf_code(rc);
            if (e->error_code == 0)
                e->error_code = 2;
            snprintf(e->error_message, sizeof(e->error_message), "%.500s",
                     lerr.msg[0] ? lerr.msg : cfx_err_str(rc));
            utf8_cut_tail(e->error_message);
            e->failures = changed ? 1 : e->failures + 1;
            e->retry_at_us =
                cfx_clock_mono_us() + retry_delay_ms(m, e->failures) * 1000u;
        } else {
            e->state = CFX_STATE_AVAILABLE;
            e->servable = s;
            e->failures = 0;
            e->retry_at_us = 0;
        }
        int failures = e->failures;
        pthread_rwlock_unlock(&m->rw);
        if (rc) {
            fprintf(stderr,
                    "cfx-serve: Loading servable: {name: %s version: "
                    "%" PRId64 "} failed: %s\n",
                    md->cfg.name, v, lerr.msg);
            if (polls)
                fprintf(stderr,
                        "cfx-serve: Will retry servable version {name: %s "
                        "version: %" PRId64 "} in %g s (failure %d in a "
                        "row), or once its files change\n",
                        md->cfg.name, v,
                        (double)retry_delay_ms(m, failures) / 1000.0, failures);
        } else {
            fprintf(stderr,
                    "cfx-serve: Successfully loaded servable version "
                    "{name: %s version: %" PRId64 "}\n",
                    md->cfg.name, v);
        }
    }

    /* Unload: only when an aspired version is ready or none is aspired. */
    pthread_rwlock_wrlock(&m->rw);
    int aspired_ready = 0, any_aspired = 0;
    for (size_t i = 0; i < n; i++)
        if (is_aspired(md, vs, n, vs[i])) {
            any_aspired = 1;
            version_entry_t *e = find_entry(md, vs[i]);
            if (e && e->state == CFX_STATE_AVAILABLE)
                aspired_ready = 1;
        }
    cfx_servable_t *drop[64];
    size_t ndrop = 0;
    if (aspired_ready || !any_aspired) {
        for (size_t i = 0; i < md->nv && ndrop < 64; i++) {
            version_entry_t *e = &md->v[i];
            if (e->state != CFX_STATE_AVAILABLE ||
                is_aspired(md, vs, n, e->version))
                continue;
            e->state = CFX_STATE_END;
            e->error_code = 0;
            e->error_message[0] = 0;
            drop[ndrop++] = e->servable;
            e->servable = NULL;
        }
    }
    /* Failed entries whose directory is gone leave the status list. */
    for (size_t i = 0; i < md->nv;) {
        version_entry_t *e = &md->v[i];
        int present = 0;
        for (size_t j = 0; j < n; j++)
            present |= vs[j] == e->version;
        if (!present && e->state == CFX_STATE_END && e->error_code != 0) {
            memmove(e, e + 1, (md->nv - i - 1) * sizeof(*e));
            md->nv--;
            continue;
        }
        i++;
    }
    trim_entries(md);
    md->scanned = 1;
    /* the cache keeps what is served (a failed download is fetched anew) */
    int64_t kept[64];
    size_t nkept = 0;
    for (size_t i = 0; md->s3 && i < md->nv && nkept < 64; i++)
        if (md->v[i].state == CFX_STATE_AVAILABLE)
            kept[nkept++] = md->v[i].version;
    pthread_rwlock_unlock(&m->rw);
    if (md->s3)
        cfx_s3_source_prune(md->s3, kept, nkept);
    for (size_t i = 0; i < ndrop; i++) {
        fprintf(stderr,
                "cfx-serve: Unloading servable version {name: %s "
                "version: %" PRId64 "}\n",
                drop[i]->model_name, drop[i]->version);
        cfx_servable_release(drop[i]);
    }
    free(vs);
}

/* Swaps in a pending model list (loader thread). */
static void apply_pending(cfx_manager_t *m, cfx_model_list_t *l) {
    model_t **nm = calloc(l->n ? l->n : 1, sizeof(*nm));
    if (!nm)
        return;
    pthread_rwlock_wrlock(&m->rw);
    for (size_t i = 0; i < l->n; i++) {
        model_t *old = find_model(m, l->models[i].name);
        cfx_error_t merr;
        cfx_error_init(&merr);
        model_t *fresh = model_new(m, &l->models[i], &merr);
        if (!fresh) {
            fprintf(stderr, "cfx-serve: %s\n", merr.msg);
            continue;
        }
        if (old) { /* keep loaded versions; take the new policy and labels */
            fresh->v = old->v;
            fresh->nv = old->nv;
            fresh->capv = old->capv;
            old->v = NULL;
            old->nv = old->capv = 0;
            fresh->active = old->active; /* until the new ones check out */
            fresh->n_active = old->n_active;
            old->active = NULL;
            old->n_active = 0;
            fresh->store_err = old->store_err;
            fresh->store_outage = old->store_outage;
            fresh->outages = old->outages;
            fresh->warned_us = old->warned_us;
        }
        nm[i] = fresh;
    }
    model_t **oldm = m->models;
    size_t oldn = m->nmodels;
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (nm[i])
            nm[k++] = nm[i];
    m->models = nm;
    m->nmodels = k;
    pthread_rwlock_unlock(&m->rw);
    if (m->inotify_fd >= 0)
        for (size_t i = 0; i < oldn; i++)
            if (oldm[i]->wd >= 0)
                inotify_rm_watch(m->inotify_fd, oldm[i]->wd);
    for (size_t i = 0; i < oldn; i++)
        model_free(oldm[i]); /* releases versions of removed models */
    free(oldm);
}

/* After the scan of a startup or reload config (loader thread): TF
 * Serving assigns a version label only to an AVAILABLE version, else the
 * whole label map is refused with FAILED_PRECONDITION and the labels in
 * force stay (the rest of the reload, policies and models, is applied).
 * --allow_version_labels_for_unavailable_models lifts the check. */
static void apply_labels(cfx_manager_t *m) {
    int rc = 0;
    char msg[CFX_ERROR_MSG_MAX];
    msg[0] = 0;
    pthread_rwlock_wrlock(&m->rw);
    for (size_t i = 0; i < m->nmodels && !rc; i++) {
        model_t *md = m->models[i];
        for (size_t j = 0; j < md->cfg.n_labels && !rc; j++) {
            version_entry_t *e = find_entry(md, md->cfg.labels[j].version);
            if (m->opts.allow_version_labels_for_unavailable_models ||
                (e && e->state == CFX_STATE_AVAILABLE))
                continue;
            rc = CFX_ESTATE;
            snprintf(msg, sizeof(msg),
                     "Request to assign label to version %" PRId64
                     " of model %.256s, which is not currently available for "
                     "inference",
                     md->cfg.labels[j].version, md->cfg.name);
        }
    }
    for (size_t i = 0; i < m->nmodels && !rc; i++) {
        model_t *md = m->models[i];
        cfx_version_label_t *a =
            calloc(md->cfg.n_labels ? md->cfg.n_labels : 1, sizeof(*a));
        if (!a) {
            rc = CFX_ENOMEM;
            snprintf(msg, sizeof(msg), "out of memory");
            break;
        }
        for (size_t j = 0; j < md->cfg.n_labels; j++) {
            a[j].label = strdup(md->cfg.labels[j].label);
            a[j].version = md->cfg.labels[j].version;
            if (!a[j].label) {
                for (size_t k = 0; k < j; k++)
                    free(a[k].label);
                free(a);
                a = NULL;
                break;
            }
        }
        if (!a) {
            rc = CFX_ENOMEM;
            snprintf(msg, sizeof(msg), "out of memory");
            break;
        }
        for (size_t j = 0; j < md->n_active; j++)
            free(md->active[j].label);
        free(md->active);
        md->active = a;
        md->n_active = md->cfg.n_labels;
    }
    pthread_rwlock_unlock(&m->rw);
    pthread_mutex_lock(&m->mu);
    m->label_rc = rc;
    memcpy(m->label_msg, msg, sizeof(msg));
    pthread_mutex_unlock(&m->mu);
}

/* After a pass (loader thread): how many models have neither an
 * AVAILABLE version nor a failed one (no version yet, or a base path that
 * does not exist yet), and how many have only failed ones. */
static void count_unsettled(cfx_manager_t *m, size_t *waiting, size_t *failed) {
    *waiting = *failed = 0;
    pthread_rwlock_rdlock(&m->rw);
    for (size_t i = 0; i < m->nmodels; i++) {
        const model_t *md = m->models[i];
        int ok = 0, bad = 0;
        for (size_t j = 0; j < md->nv; j++) {
            ok |= md->v[j].state == CFX_STATE_AVAILABLE;
            bad |= md->v[j].state == CFX_STATE_END && md->v[j].error_code;
        }
        if (!ok && bad)
            (*failed)++;
        else if (!ok)
            (*waiting)++;
    }
    pthread_rwlock_unlock(&m->rw);
}

static void drain_fd(int fd) {
    char buf[4096];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

static void *loader_main(void *arg) {
    cfx_manager_t *m = arg;
    int first = 1;
    /* A config's labels are checked after its first pass and again after
     * each later one while some model still waits for a first version:
     * TF Serving assigns labels once the models it waited for are loaded. */
    int labels_due = 1;
    /* Loads (checksums, weights, warmup) run at a lower priority than the
     * request threads, so a swap under full load costs requests little
     * CPU (TF Serving's issues #881, #1866). Nice 10 still gets ~10% of a
     * saturated CPU, so a load is slowed, never starved. Failure (e.g. a
     * seccomp filter without @resources) just leaves the default. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0)
        errno = 0;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        int stop = m->stop;
        cfx_model_list_t *pending = m->pending;
        uint64_t taken = m->reload_seq;
        m->pending = NULL;
        int rescan = m->rescan || pending || first;
        m->rescan = 0;
        pthread_mutex_unlock(&m->mu);
        if (stop)
            break;
        if (pending)
            apply_pending(m, pending);
        if (rescan) {
            for (size_t i = 0; i < m->nmodels; i++)
                scan_model(m, m->models[i]);
            size_t waiting, failed;
            count_unsettled(m, &waiting, &failed);
            if (pending || labels_due)
                apply_labels(m);
            labels_due = waiting > 0;
            pthread_mutex_lock(&m->mu);
            m->n_waiting = waiting;
            m->n_failed = failed;
            m->generation++;
            if (pending)
                m->reload_done = taken;
            pthread_cond_broadcast(&m->cv);
            pthread_mutex_unlock(&m->mu);
        }
        if (pending) {
            cfx_model_list_free(pending);
            free(pending);
        }
        first = 0;
        drain_free_list(m);

        struct pollfd pfd[2] = {{m->wake_fd, POLLIN, 0},
                                {m->inotify_fd, POLLIN, 0}};
        int timeout = -1;
        if (m->opts.file_system_poll_wait_seconds > 0) {
            /* The poll interval, or sooner when a failed load's backoff
             * ends first (rounded up: waking early would just wait
             * again). */
            uint64_t ms =
                (uint64_t)m->opts.file_system_poll_wait_seconds * 1000u;
            uint64_t retry = next_retry_in_us(m);
            if (retry != UINT64_MAX && (retry + 999) / 1000 < ms)
                ms = (retry + 999) / 1000;
            timeout = (int)ms;
        }
        int r = poll(pfd, m->inotify_fd >= 0 ? 2 : 1, timeout);
        if (r == 0) { /* the poll interval elapsed */
            pthread_mutex_lock(&m->mu);
            m->rescan = 1;
            pthread_mutex_unlock(&m->mu);
        } else if (r > 0) {
            if (pfd[0].revents)
                drain_fd(m->wake_fd);
            if (m->inotify_fd >= 0 && pfd[1].revents) {
                drain_fd(m->inotify_fd);
                pthread_mutex_lock(&m->mu);
                m->rescan = 1;
                pthread_mutex_unlock(&m->mu);
            }
        }
    }
    drain_free_list(m);
    return NULL;
}

int cfx_manager_start(cfx_manager_t *m, cfx_error_t *err) {
    int rc = pthread_create(&m->loader, NULL, loader_main, m);
    if (rc)
        return cfx_error_set(err, CFX_EINTERNAL, "pthread_create: %s",
                             strerror(rc));
    m->loader_running = 1;
    return 0;
}

/* After a pass: an error listing models without an AVAILABLE version. */
static int unavailable_error(cfx_manager_t *m, cfx_error_t *err) {
    char buf[CFX_ERROR_MSG_MAX];
    size_t len = 0;
    int bad = 0;
    buf[0] = 0;
    pthread_rwlock_rdlock(&m->rw);
    for (size_t i = 0; i < m->nmodels; i++) {
        model_t *md = m->models[i];
        int ok = 0;
        const version_entry_t *failed = NULL;
        for (size_t j = 0; j < md->nv; j++) {
            ok |= md->v[j].state == CFX_STATE_AVAILABLE;
            if (!failed && md->v[j].state == CFX_STATE_END &&
                md->v[j].error_code)
                failed = &md->v[j];
        }
        if (ok)
            continue;
        bad++;
        int w;
        if (failed)
            w = snprintf(buf + len, sizeof(buf) - len,
                         "%s{name: %s version: %" PRId64 "} due to error: %s",
                         bad > 1 ? ", " : "", md->cfg.name, failed->version,
                         failed->error_message);
        else
            w = snprintf(buf + len, sizeof(buf) - len,
                         "%s{name: %s} due to error: no version found under "
                         "%s",
                         bad > 1 ? ", " : "", md->cfg.name, md->cfg.base_path);
        if (w > 0)
            len += (size_t)w < sizeof(buf) - len ? (size_t)w
                                                 : sizeof(buf) - len - 1;
    }
    pthread_rwlock_unlock(&m->rw);
    if (!bad)
        return 0;
    return cfx_error_set(err, CFX_EUNAVAILABLE,
                         "%d model(s) did not become available: {%s}", bad,
                         buf);
}

/* After a pass of a new config: the models' error, else the labels'. */
static int config_error(cfx_manager_t *m, cfx_error_t *err) {
    int rc = unavailable_error(m, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&m->mu);
    if (m->label_rc)
        rc = cfx_error_set(err, m->label_rc, "%s", m->label_msg);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int cfx_manager_wait_initial(cfx_manager_t *m, int timeout_ms,
                             cfx_error_t *err) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    if (timeout_ms > 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    /* With no later poll (file_system_poll_wait_seconds <= 0) a model
     * without a version can never get one: report it after the first
     * pass instead of hanging (TF Serving hangs, its issue #1519). A
     * failed load ends the wait at once, even while another model still
     * waits, as TF Serving's startup does; retries with backoff serve a
     * server that is up (the caller exits on this error). */
    int polls = m->opts.file_system_poll_wait_seconds > 0;
    pthread_mutex_lock(&m->mu);
    while (!m->stop &&
           (m->generation == 0 || (polls && m->n_waiting && !m->n_failed))) {
        int w = timeout_ms < 0 ? pthread_cond_wait(&m->cv, &m->mu)
                : timeout_ms == 0
                    ? ETIMEDOUT
                    : pthread_cond_timedwait(&m->cv, &m->mu, &until);
        if (w == ETIMEDOUT) {
            pthread_mutex_unlock(&m->mu);
            return cfx_error_set(err, CFX_ETIMEOUT,
                                 "still waiting for a first version");
        }
    }
    pthread_mutex_unlock(&m->mu);
    return config_error(m, err);
}

int cfx_manager_reload(cfx_manager_t *m, const cfx_model_list_t *models,
                       cfx_error_t *err) {
    cfx_model_list_t *copy = malloc(sizeof(*copy));
    if (!copy || cfx_model_list_copy(copy, models)) {
        free(copy);
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&m->mu);
    if (m->pending) {
        cfx_model_list_free(m->pending);
        free(m->pending);
    }
    m->pending = copy;
    uint64_t seq = ++m->reload_seq;
    pthread_mutex_unlock(&m->mu);
    wake(m);
    pthread_mutex_lock(&m->mu);
    while (m->reload_done < seq && !m->stop)
        pthread_cond_wait(&m->cv, &m->mu);
    pthread_mutex_unlock(&m->mu);
    return config_error(m, err);
}

void cfx_manager_rescan(cfx_manager_t *m) {
    pthread_mutex_lock(&m->mu);
    m->rescan = 1;
    pthread_mutex_unlock(&m->mu);
    wake(m);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static int put_label(cfx_buf_t *out, const char *s) {
    int rc = 0;
    for (; *s && !rc; s++) {
        if (*s == '\\' || *s == '"')
            rc = cfx_buf_printf(out, "\\%c", *s);
        else if (*s == '\n')
            rc = cfx_buf_append(out, "\\n", 2);
        else
            rc = cfx_buf_putc(out, (uint8_t)*s);
    }
    return rc;
}

int cfx_manager_render_versions(cfx_manager_t *m, cfx_buf_t *out) {
    int rc = cfx_buf_printf(
        out, "# HELP :cfx:serving:loaded_versions The number of AVAILABLE "
             "versions of a model.\n"
             "# TYPE :cfx:serving:loaded_versions gauge\n");
    pthread_rwlock_rdlock(&m->rw);
    for (size_t i = 0; i < m->nmodels && !rc; i++) {
        size_t avail = 0;
        for (size_t j = 0; j < m->models[i]->nv; j++)
            avail += m->models[i]->v[j].state == CFX_STATE_AVAILABLE;
        rc = cfx_buf_printf(out, ":cfx:serving:loaded_versions{model_name=\"");
        if (!rc)
            rc = put_label(out, m->models[i]->cfg.name);
        if (!rc)
            rc = cfx_buf_printf(out, "\"} %zu\n", avail);
    }
    if (!rc)
        rc = cfx_buf_printf(
            out, "# HELP :cfx:serving:model_version_state 1 for the state each "
                 "known model version is in.\n"
                 "# TYPE :cfx:serving:model_version_state gauge\n");
    for (size_t i = 0; i < m->nmodels && !rc; i++)
        for (size_t j = 0; j < m->models[i]->nv && !rc; j++) {
            const version_entry_t *e = &m->models[i]->v[j];
            rc = cfx_buf_printf(out,
                                ":cfx:serving:model_version_state{model_name="
                                "\"");
            if (!rc)
                rc = put_label(out, m->models[i]->cfg.name);
            if (!rc)
                rc = cfx_buf_printf(out,
                                    "\",version=\"%" PRId64 "\",state=\"%s\"} "
                                    "1\n",
                                    e->version,
                                    cfx_version_state_name(e->state));
        }
    if (!rc)
        rc = cfx_buf_printf(
            out, "# HELP :cfx:serving:model_store_outage 1 while a model's "
                 "base path cannot be listed or lists no version and its "
                 "loaded versions are kept serving.\n"
                 "# TYPE :cfx:serving:model_store_outage gauge\n");
    for (size_t i = 0; i < m->nmodels && !rc; i++) {
        rc = cfx_buf_printf(out,
                            ":cfx:serving:model_store_outage{model_name=\"");
        if (!rc)
            rc = put_label(out, m->models[i]->cfg.name);
        if (!rc)
            rc = cfx_buf_printf(out, "\"} %d\n", m->models[i]->store_outage);
    }
    if (!rc)
        rc = cfx_buf_printf(
            out, "# HELP :cfx:serving:model_store_outages_total Model store "
                 "outages ridden out (each began while versions were "
                 "served).\n"
                 "# TYPE :cfx:serving:model_store_outages_total counter\n");
    for (size_t i = 0; i < m->nmodels && !rc; i++) {
        rc = cfx_buf_printf(
            out, ":cfx:serving:model_store_outages_total{model_name=\"");
        if (!rc)
            rc = put_label(out, m->models[i]->cfg.name);
        if (!rc)
            rc =
                cfx_buf_printf(out, "\"} %" PRIu64 "\n", m->models[i]->outages);
    }
    if (!rc)
        rc = cfx_buf_printf(
            out, "# HELP :cfx:serving:model_version_load_failures Failed "
                 "loads in a row of a version not AVAILABLE (since its files "
                 "last changed).\n"
                 "# TYPE :cfx:serving:model_version_load_failures gauge\n");
    for (size_t i = 0; i < m->nmodels && !rc; i++)
        for (size_t j = 0; j < m->models[i]->nv && !rc; j++) {
            const version_entry_t *e = &m->models[i]->v[j];
            if (e->state == CFX_STATE_AVAILABLE || !e->failures)
                continue;
            rc = cfx_buf_printf(
                out, ":cfx:serving:model_version_load_failures{model_name=\"");
            if (!rc)
                rc = put_label(out, m->models[i]->cfg.name);
            if (!rc)
                rc = cfx_buf_printf(out, "\",version=\"%" PRId64 "\"} %d\n",
                                    e->version, e->failures);
        }
    pthread_rwlock_unlock(&m->rw);
    return rc;
}

int cfx_manager_ready(cfx_manager_t *m) {
    int ready = 1;
    pthread_rwlock_rdlock(&m->rw);
    for (size_t i = 0; i < m->nmodels && ready; i++) {
        int ok = 0;
        for (size_t j = 0; j < m->models[i]->nv; j++)
            ok |= m->models[i]->v[j].state == CFX_STATE_AVAILABLE;
        ready = ok;
    }
    pthread_rwlock_unlock(&m->rw);
    return ready;
}

/* ---- requests -------------------------------------------------------------
 */

int cfx_manager_acquire(cfx_manager_t *m, const char *model_name,
                        int64_t version, const char *label,
                        cfx_servable_t **out, cfx_error_t *err) {
    int rc = 0;
    *out = NULL;
    pthread_rwlock_rdlock(&m->rw);
    model_t *md = find_model(m, model_name);
    if (label) {
        int found = 0;
        for (size_t i = 0; md && i < md->n_active; i++)
            if (strcmp(md->active[i].label, label) == 0) {
                version = md->active[i].version;
                found = 1;
                break;
            }
        if (!found) {
            rc =
                cfx_error_set(err, CFX_EINVAL,
                              "Unrecognized servable version label: %s", label);
            goto out;
        }
    }
    if (md) {
        for (size_t i = 0; i < md->nv; i++) { /* descending: first = latest */
            version_entry_t *e = &md->v[i];
            if (e->state != CFX_STATE_AVAILABLE)
                continue;
            if (version >= 0 && e->version != version)
                continue;
            atomic_fetch_add_explicit(&e->servable->refs, 1,
                                      memory_order_relaxed);
            *out = e->servable;
            goto out;
        }
    }
    if (version >= 0)
        rc = cfx_error_set(err, CFX_ENOTFOUND,
                           "Servable not found for request: Specific(%s, "
                           "%" PRId64 ")",
                           model_name, version);
    else
        rc = cfx_error_set(err, CFX_ENOTFOUND,
                           "Servable not found for request: Latest(%s)",
                           model_name);
out:
    pthread_rwlock_unlock(&m->rw);
    return rc;
}

int cfx_manager_status(cfx_manager_t *m, const char *model_name,
                       int64_t version, cfx_version_status_t **out, size_t *n,
                       cfx_error_t *err) {
    int rc = 0;
    *out = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&m->rw);
    model_t *md = find_model(m, model_name);
    size_t count = 0;
    for (size_t i = 0; md && i < md->nv; i++)
        count += version < 0 || md->v[i].version == version;
    if (count == 0) {
        if (version < 0)
            rc = cfx_error_set(err, CFX_ENOTFOUND,
                               "Could not find any versions of model %s",
                               model_name);
        else
            rc = cfx_error_set(err, CFX_ENOTFOUND,
                               "Could not find version %" PRId64 " of model %s",
                               version, model_name);
        goto out;
    }
    cfx_version_status_t *s = calloc(count, sizeof(*s));
    if (!s) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < md->nv; i++) {
        const version_entry_t *e = &md->v[i];
        if (version >= 0 && e->version != version)
            continue;
        s[k].version = e->version;
        s[k].state = e->state;
        s[k].error_code = e->error_code;
        snprintf(s[k].error_message, sizeof(s[k].error_message), "%s",
                 e->error_message);
        k++;
    }
    *out = s;
    *n = k;
out:
    pthread_rwlock_unlock(&m->rw);
    return rc;
}

/*
 * s3_source.c: listing, downloading and verifying a model's versions in S3
 * (s3_source.h, docs/s3.md).
 *
 * The cap on a version's bytes (--s3_max_version_bytes) is checked three
 * times, each with what is known by then: the listing's sizes before any
 * request for the version, the manifest's sizes before any file is
 * written, and the bytes received, counted in the sinks, while they
 * arrive. Each file's transfer is also stopped one chunk past the size
 * its manifest gives, so once the manifest's sum is within the cap the
 * files cannot pass it; the count in the sinks bounds the manifest's own
 * transfer, which no earlier check can size when the listing lies.
 */
#include "serve/s3_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/buf.h"
#include "formats/file.h"
#include "model/bundle.h"
#include "model/bundle_writer.h"
#include "store/s3.h"

#define MAX_MANIFEST (4u << 20) /* as model/bundle.c reads it */
#define MAX_FILES 100000        /* files one manifest may list */
#define MAX_OBJECTS 200000      /* objects one listing may hold */
#define TMP_PREFIX ".tmp-"

typedef struct listed {
    int64_t version;
    uint64_t bytes; /* the listed sizes of its objects, saturating */
    uint8_t fp[CFX_SHA256_LEN];
} listed_t;

struct cfx_s3_source {
    char *model_name;
    char *base_url;
    cfx_s3_url_t url;
    cfx_s3_t *s3;
    char cache[4096];           /* this model's cache folder */
    uint64_t max_version_bytes; /* 0: no cap */
    listed_t *listed; /* the last listing's versions with a manifest */
    size_t nlisted;
};

void cfx_s3_source_default_cache(char *out, size_t cap) {
    const char *d = getenv("CACHE_DIRECTORY");
    if (d && *d) {
        size_t n = strcspn(d, ":"); /* systemd lists several with ':' */
        snprintf(out, cap, "%.*s/models", (int)n, d);
        return;
    }
    if ((d = getenv("XDG_CACHE_HOME")) && *d == '/') {
        snprintf(out, cap, "%s/cfx-serve/models", d);
        return;
    }
    if ((d = getenv("HOME")) && *d == '/' && strcmp(d, "/") != 0) {
        snprintf(out, cap, "%s/.cache/cfx-serve/models", d);
        return;
    }
    snprintf(out, cap, "/var/tmp/cfx-serve-%u", (unsigned)getuid());
}

int cfx_s3_source_new(const char *model_name, const char *base_url,
                      const char *cache_dir, uint64_t max_version_bytes,
                      cfx_s3_source_t **out, cfx_error_t *err) {
    *out = NULL;
    cfx_s3_source_t *src = calloc(1, sizeof(*src));
    if (!src)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    src->max_version_bytes = max_version_bytes;
    int rc;
    cfx_s3_config_t *cfg = malloc(sizeof(*cfg));
    if (!cfg) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = cfx_s3_url_parse(base_url, &src->url, err)) ||
        (rc = cfx_s3_config_from_env(cfg, err)) ||
        (rc = cfx_s3_new(cfg, &src->s3, err)))
        goto out;
    src->model_name = strdup(model_name);
    src->base_url = strdup(base_url);
    if (!src->model_name || !src->base_url) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    /* <cache>/<model>-<first 16 hex digits of sha256(model NUL base url)>:
     * the model's own name in the hash, since two names ("a.b", "a_b")
     * clean up to one folder name and each model prunes its folder. */
    char root[3072];
    if (cache_dir && *cache_dir)
        snprintf(root, sizeof(root), "%s", cache_dir);
    else
        cfx_s3_source_default_cache(root, sizeof(root));
    uint8_t d[CFX_SHA256_LEN];
    char hex[CFX_SHA256_HEX_LEN + 1], name[128];
    cfx_buf_t key;
    cfx_buf_init(&key);
    if (cfx_buf_append(&key, model_name, strlen(model_name) + 1) ||
        cfx_buf_append(&key, base_url, strlen(base_url))) {
        cfx_buf_free(&key);
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    cfx_sha256(key.data, key.len, d);
    cfx_buf_free(&key);
    cfx_sha256_hex(d, hex);
    snprintf(name, sizeof(name), "%.64s", model_name);
    for (char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            *p = '_';
    snprintf(src->cache, sizeof(src->cache), "%s/%s-%.16s", root, name, hex);
out:
    free(cfg);
    if (rc) {
        cfx_s3_source_free(src);
        return rc;
    }
    *out = src;
    return 0;
}

const char *cfx_s3_source_cache(const cfx_s3_source_t *src) {
    return src->cache;
}

void cfx_s3_source_free(cfx_s3_source_t *src) {
    if (!src)
        return;
    cfx_s3_free(src->s3);
    free(src->model_name);
    free(src->base_url);
    free(src->listed);
    free(src);
}

/* "123" -> 123: canonical decimal only (no sign, no leading zero), so one
 * number names one key. */
static int parse_version(const char *s, size_t n, int64_t *out) {
    int64_t v = 0;
    if (n == 0 || n > 18 || (n > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* The part of key after "<prefix>/", or NULL when key is not below it. */
static const char *below_prefix(const cfx_s3_source_t *src, const char *key) {
    size_t pl = strlen(src->url.prefix);
    if (pl == 0)
        return key;
    if (strncmp(key, src->url.prefix, pl) != 0 || key[pl] != '/')
        return NULL;
    return key + pl + 1;
}

typedef struct keyed {
    int64_t version;
    const cfx_s3_object_t *obj;
} keyed_t;

static int cmp_keyed(const void *a, const void *b) {
    const keyed_t *x = a, *y = b;
    if (x->version != y->version)
        return x->version < y->version ? 1 : -1; /* descending */
    return strcmp(x->obj->key, y->obj->key);
}

int cfx_s3_source_list(cfx_s3_source_t *src, size_t max, int64_t **out,
                       size_t *n, cfx_error_t *err) {
    *out = NULL;
    *n = 0;
    cfx_s3_listing_t l;
    char prefix[sizeof(src->url.prefix) + 1];
    snprintf(prefix, sizeof(prefix), "%s%s", src->url.prefix,
             src->url.prefix[0] ? "/" : "");
    int rc =
        cfx_s3_list(src->s3, src->url.bucket, prefix, MAX_OBJECTS, &l, err);
    if (rc)
        return rc;
    keyed_t *k = l.n ? malloc(l.n * sizeof(*k)) : NULL;
    listed_t *vs = l.n ? calloc(l.n, sizeof(*vs)) : NULL;
    size_t nk = 0, nv = 0;
    if (l.n && (!k || !vs)) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        const char *rest = below_prefix(src, l.objects[i].key);
        const char *slash = rest ? strchr(rest, '/') : NULL;
        int64_t v;
        if (!slash || !parse_version(rest, (size_t)(slash - rest), &v))
            continue;
        k[nk].version = v;
        k[nk].obj = &l.objects[i];
        nk++;
    }
    if (nk)
        qsort(k, nk, sizeof(*k), cmp_keyed);
    /* one fingerprint per version over its objects in key order; only
     * versions whose manifest.json is there are listed */
    for (size_t i = 0; i < nk;) {
        size_t j = i;
        int has_manifest = 0;
        uint64_t bytes = 0;
        cfx_sha256_t h;
        if (cfx_sha256_init(&h)) {
            rc = cfx_error_set(err, CFX_EINTERNAL, "sha256 failed");
            goto out;
        }
        for (; j < nk && k[j].version == k[i].version; j++) {
            const cfx_s3_object_t *o = k[j].obj;
            const char *rest = strchr(below_prefix(src, o->key), '/') + 1;
            if (!strcmp(rest, "manifest.json"))
                has_manifest = 1;
            cfx_sha256_update(&h, o->key, strlen(o->key) + 1);
            cfx_sha256_update(&h, &o->size, sizeof(o->size));
            cfx_sha256_update(&h, o->etag, strlen(o->etag) + 1);
            bytes = o->size > UINT64_MAX - bytes ? UINT64_MAX : bytes + o->size;
        }
        uint8_t fp[CFX_SHA256_LEN];
        cfx_sha256_final(&h, fp);
        if (has_manifest) {
            vs[nv].version = k[i].version;
            vs[nv].bytes = bytes;
            memcpy(vs[nv].fp, fp, sizeof(fp));
            nv++;
        }
        i = j;
    }
    size_t keep = nv < max ? nv : max;
    int64_t *res = keep ? malloc(keep * sizeof(*res)) : NULL;
    if (keep && !res) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < keep; i++)
        res[i] = vs[i].version;
    free(src->listed);
    src->listed = vs;
    src->nlisted = nv;
    vs = NULL;
    *out = res;
    *n = keep;
out:
    free(vs);
    free(k);
    cfx_s3_listing_free(&l);
    return rc;
}

void cfx_s3_source_fingerprint(const cfx_s3_source_t *src, int64_t v,
                               uint8_t fp[CFX_SHA256_LEN]) {
    memset(fp, 0, CFX_SHA256_LEN);
    for (size_t i = 0; i < src->nlisted; i++)
        if (src->listed[i].version == v)
            memcpy(fp, src->listed[i].fp, CFX_SHA256_LEN);
}

/* ---- download ------------------------------------------------------------ */

static const listed_t *find_listed(const cfx_s3_source_t *src, int64_t v) {
    for (size_t i = 0; i < src->nlisted; i++)
        if (src->listed[i].version == v)
            return &src->listed[i];
    return NULL;
}

/* The bytes version v has received in this fetch, against the cap. */
typedef struct budget {
    const cfx_s3_source_t *src;
    int64_t version;
    const listed_t *listed; /* NULL when the last listing lacks it */
    uint64_t got;
    int over; /* the cap stopped a transfer (err says so) */
} budget_t;

/* Counts n more bytes; past the cap the transfer is to stop. */
static int budget_take(budget_t *b, size_t n, cfx_error_t *err) {
    uint64_t cap = b->src->max_version_bytes;
    if (cap == 0 || (n <= cap && b->got <= cap - n)) {
        b->got += n;
        return 0;
    }
    b->over = 1;
    char listed[64] = "";
    if (b->listed)
        snprintf(listed, sizeof(listed), " (its listing gave %" PRIu64 ")",
                 b->listed->bytes);
    return cfx_error_set(
        err, CFX_ETOOBIG,
        "model %s version %" PRId64 ": %" PRIu64 " bytes received%s, more than "
        "--s3_max_version_bytes=%" PRIu64 "; download stopped, nothing kept",
        b->src->model_name, b->version, b->got + n, listed, cap);
}

typedef struct buf_sink {
    cfx_buf_t *buf;
    budget_t *budget;
} buf_sink_t;

static int to_buf(void *ud, const void *data, size_t n, cfx_error_t *err) {
    buf_sink_t *bs = ud;
    int rc = budget_take(bs->budget, n, err);
    if (rc)
        return rc;
    if (cfx_buf_append(bs->buf, data, n))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

typedef struct file_sink {
    int fd;
    const char *path;
    cfx_sha256_t h;
    budget_t *budget;
} file_sink_t;

static int to_file(void *ud, const void *data, size_t n, cfx_error_t *err) {
    file_sink_t *fs = ud;
    int rc = budget_take(fs->budget, n, err);
    if (rc)
        return rc;
    if (cfx_file_write_all(fs->fd, data, n) != 0)
        return cfx_error_set(err, CFX_EIO, "%s: write: %s", fs->path,
                             strerror(errno));
    if (cfx_sha256_update(&fs->h, data, n))
        return cfx_error_set(err, CFX_EINTERNAL, "sha256 failed");
    return 0;
}

static int is_hex64(const char *s) {
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
              (*s >= 'A' && *s <= 'F')))
            return 0;
    return 1;
}

/* Downloads key into path (created), checking size and sha256, counting
 * what arrives in budget. */
static int download_file(cfx_s3_source_t *src, const char *key,
                         const char *path, uint64_t size, const char *sha,
                         budget_t *budget, cfx_error_t *err) {
    char parent[8400];
    snprintf(parent, sizeof(parent), "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = 0;
        int rc = cfx_file_mkdirs(parent, err);
        if (rc)
            return rc;
    }
    file_sink_t fs = {.path = path, .budget = budget};
    fs.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fs.fd < 0)
        return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
    if (cfx_sha256_init(&fs.h)) {
        close(fs.fd);
        return cfx_error_set(err, CFX_EINTERNAL, "sha256 failed");
    }
    cfx_error_t e2;
    cfx_error_init(&e2);
    int rc = cfx_s3_get(src->s3, src->url.bucket, key, size, to_file, &fs, &e2);
    uint8_t d[CFX_SHA256_LEN];
    char hex[CFX_SHA256_HEX_LEN + 1];
    if (cfx_sha256_final(&fs.h, d) && !rc)
        rc = cfx_error_set(&e2, CFX_EINTERNAL, "sha256 failed");
    struct stat st;
    if (!rc && fstat(fs.fd, &st) != 0)
        rc = cfx_error_set(&e2, CFX_EIO, "%s: %s", path, strerror(errno));
    close(fs.fd);
    if (rc == CFX_ETOOBIG && !budget->over)
        return cfx_error_set(err, CFX_ECHECKSUM,
                             "s3://%s/%s: size expected %" PRIu64
                             ", found more; the object does not match "
                             "manifest.json",
                             src->url.bucket, key, size);
    if (rc)
        return cfx_error_set(err, rc, "%s", e2.msg);
    cfx_sha256_hex(d, hex);
    if ((uint64_t)st.st_size != size)
        return cfx_error_set(err, CFX_ECHECKSUM,
                             "s3://%s/%s: size expected %" PRIu64
                             ", found %llu; the object does not match "
                             "manifest.json",
                             src->url.bucket, key, size,
                             (unsigned long long)st.st_size);
    if (strcasecmp(hex, sha) != 0)
        return cfx_error_set(err, CFX_ECHECKSUM,
                             "s3://%s/%s: sha256 expected %s, found %s; the "
                             "object does not match manifest.json",
                             src->url.bucket, key, sha, hex);
    return 0;
}

/* 1 when the file at path holds exactly data[0..len). */
static int same_content(const char *path, const void *data, size_t len) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    int same = cfx_file_read(path, len + 1, &b, NULL) == 0 && b.len == len &&
               memcmp(b.data, data, len) == 0;
    cfx_buf_free(&b);
    return same;
}

/* 1 when rel/e is a file entry of a manifest this source downloads. */
static int file_entry_ok(const char *rel, json_t *e) {
    json_t *sha = json_object_get(e, "sha256"),
           *size = json_object_get(e, "size");
    return cfx_bundle_relpath_ok(rel) && strcmp(rel, "manifest.json") != 0 &&
           json_is_string(sha) && is_hex64(json_string_value(sha)) &&
           json_is_integer(size) && json_integer_value(size) >= 0 &&
           (uint64_t)json_integer_value(size) <= CFX_BUNDLE_MAX_FILE;
}

int cfx_s3_source_fetch(cfx_s3_source_t *src, int64_t v, char *dir, size_t cap,
                        cfx_error_t *err) {
    char vkey[CFX_S3_MAX_KEY], key[CFX_S3_MAX_KEY + 1100], final[4200],
        tmp[4200], path[8400];
    const char *pre = src->url.prefix;
    const uint64_t max_bytes = src->max_version_bytes;
    int rc = 0, made_tmp = 0;
    json_t *m = NULL;
    cfx_buf_t man;
    cfx_buf_init(&man);
    budget_t budget = {.src = src, .version = v, .listed = find_listed(src, v)};
    snprintf(vkey, sizeof(vkey), "%s%s%" PRId64, pre, *pre ? "/" : "", v);
    snprintf(final, sizeof(final), "%s/%" PRId64, src->cache, v);
    snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "%ld-%" PRId64, src->cache,
             (long)getpid(), v);
    if ((size_t)snprintf(dir, cap, "%s", final) >= cap)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: path too long", final);
    /* the cap by the listing: nothing is requested */
    if (max_bytes && budget.listed && budget.listed->bytes > max_bytes) {
        rc = cfx_error_set(err, CFX_ETOOBIG,
                           "model %s version %" PRId64 ": its objects under "
                           "s3://%s/%s/ are listed with %" PRIu64
                           " bytes, more than --s3_max_version_bytes=%" PRIu64
                           "; nothing downloaded",
                           src->model_name, v, src->url.bucket, vkey,
                           budget.listed->bytes, max_bytes);
        goto out;
    }
    snprintf(key, sizeof(key), "%s/manifest.json", vkey);
    buf_sink_t ms = {.buf = &man, .budget = &budget};
    rc = cfx_s3_get(src->s3, src->url.bucket, key, MAX_MANIFEST, to_buf, &ms,
                    err);
    if (rc == CFX_ENOTFOUND) {
        rc = cfx_error_set(err, CFX_ENOTFOUND,
                           "s3://%s/%s: missing (a push still under way, "
                           "or a removed version)",
                           src->url.bucket, key);
        goto out;
    }
    if (rc)
        goto out;
    json_error_t jerr;
    m = json_loadb((const char *)man.data, man.len, JSON_REJECT_DUPLICATES,
                   &jerr);
    json_t *files = m ? json_object_get(m, "files") : NULL;
    if (!m || !json_is_object(files)) {
        rc = cfx_error_set(err, CFX_EPARSE, "s3://%s/%s: %s", src->url.bucket,
                           key, m ? "'files' must be an object" : jerr.text);
        goto out;
    }
    if (json_object_size(files) > MAX_FILES) {
        rc = cfx_error_set(err, CFX_ETOOBIG, "s3://%s/%s: more than %d files",
                           src->url.bucket, key, MAX_FILES);
        goto out;
    }
    /* every entry checked and the cap by the manifest's sizes before any
     * file is written (at most MAX_FILES of CFX_BUNDLE_MAX_FILE bytes: the
     * sum fits) */
    const char *rel;
    json_t *e;
    uint64_t declared = man.len;
    json_object_foreach(files, rel, e) {
        if (!file_entry_ok(rel, e)) {
            rc = cfx_error_set(err, CFX_ECORRUPT,
                               "s3://%s/%s: files['%.200s']: expected a "
                               "bundle file name, sha256 (64 hex digits) "
                               "and a size of at most %zu",
                               src->url.bucket, key, rel, CFX_BUNDLE_MAX_FILE);
            goto out;
        }
        declared += (uint64_t)json_integer_value(json_object_get(e, "size"));
    }
    if (max_bytes && declared > max_bytes) {
        rc = cfx_error_set(err, CFX_ETOOBIG,
                           "model %s version %" PRId64 ": s3://%s/%s and the "
                           "files it lists hold %" PRIu64
                           " bytes, more than --s3_max_version_bytes=%" PRIu64
                           "; no file downloaded",
                           src->model_name, v, src->url.bucket, key, declared,
                           max_bytes);
        goto out;
    }
    /* A cached copy with the same manifest is reused: loading it checks
     * every file against that manifest again. */
    snprintf(path, sizeof(path), "%s/manifest.json", final);
    if (same_content(path, man.data, man.len))
        goto out;
    if ((rc = cfx_file_mkdirs(src->cache, err)))
        goto out;
    cfx_file_remove_tree(tmp, NULL);
    if (mkdir(tmp, 0755) != 0) {
        rc = cfx_error_set(err, CFX_EIO, "%s: mkdir: %s", tmp, strerror(errno));
        goto out;
    }
    made_tmp = 1;
    json_object_foreach(files, rel, e) {
        snprintf(key, sizeof(key), "%s/%s", vkey, rel);
        snprintf(path, sizeof(path), "%s/%s", tmp, rel);
        if ((rc = download_file(
                 src, key, path,
                 (uint64_t)json_integer_value(json_object_get(e, "size")),
                 json_string_value(json_object_get(e, "sha256")), &budget,
                 err)))
            goto out;
    }
    /* the manifest last, then one rename publishes the version */
    snprintf(path, sizeof(path), "%s/manifest.json", tmp);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || cfx_file_write_all(fd, man.data, man.len) != 0) {
        rc = cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    close(fd);
    cfx_file_remove_tree(final, NULL);
    if (rename(tmp, final) != 0) {
        rc = cfx_error_set(err, CFX_EIO, "rename %s -> %s: %s", tmp, final,
                           strerror(errno));
        goto out;
    }
    made_tmp = 0;
out:
    if (made_tmp)
        cfx_file_remove_tree(tmp, NULL);
    json_decref(m);
    cfx_buf_free(&man);
    return rc;
}

void cfx_s3_source_prune(cfx_s3_source_t *src, const int64_t *keep, size_t n) {
    int fd = open(src->cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *e;
    char path[4400];
    while ((e = readdir(d)) != NULL) {
        int64_t v;
        int drop = 0;
        if (parse_version(e->d_name, strlen(e->d_name), &v)) {
            drop = 1;
            for (size_t i = 0; i < n; i++)
                if (keep[i] == v)
                    drop = 0;
        } else if (!strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX))) {
            long pid = strtol(e->d_name + strlen(TMP_PREFIX), NULL, 10);
            /* ours (no download runs while pruning) or of a process gone */
            drop = pid == (long)getpid() ||
                   (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH);
        }
        if (drop) {
            snprintf(path, sizeof(path), "%s/%s", src->cache, e->d_name);
            cfx_file_remove_tree(path, NULL);
        }
    }
    closedir(d);
}

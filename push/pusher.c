/*
 * pusher.c: atomic publish of a bundle as the next version (pusher.h).
 * Copy, fsync every file and folder, then one rename: the only step a
 * reader can observe.
 */
#include "push/pusher.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/file.h"
#include "model/bundle.h"
#include "store/s3.h"

#define TMP_PREFIX ".tmp-"

int cfx_pusher_is_blessed(const char *dir, const char *yes, const char *no,
                          char *why, size_t cap) {
    char p[PATH_MAX];
    struct stat st;
    if (!dir) {
        snprintf(why, cap, "no blessing folder");
        return 0;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, cap, "%s: not a folder", dir);
        return 0;
    }
    snprintf(p, sizeof p, "%s/%s", dir, no);
    if (stat(p, &st) == 0) {
        snprintf(why, cap, "%s holds %s", dir, no);
        return 0;
    }
    snprintf(p, sizeof p, "%s/%s", dir, yes);
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, cap, "%s has no %s file", dir, yes);
        return 0;
    }
    return 1;
}

/* A version folder name: digits only, no leading zero, fits int64. */
static int parse_version(const char *name, int64_t *v) {
    if (!name[0] || name[0] == '0' || strlen(name) > 18)
        return 0;
    int64_t x = 0;
    for (const char *c = name; *c; c++) {
        if (*c < '0' || *c > '9')
            return 0;
        x = x * 10 + (*c - '0');
    }
    *v = x;
    return 1;
}

int cfx_pusher_latest_version(const char *base, int64_t *version,
                              cfx_error_t *err) {
    *version = 0;
    DIR *d = opendir(base);
    if (!d)
        return cfx_error_set(err, CFX_EIO, "%s: %s", base, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t v;
        if (parse_version(e->d_name, &v) && v > *version)
            *version = v;
    }
    closedir(d);
    return 0;
}

int cfx_pusher_clean(const char *base, cfx_error_t *err) {
    DIR *d = opendir(base);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return cfx_error_set(err, CFX_EIO, "%s: %s", base, strerror(errno));
    }
    int removed = 0, ret = 0;
    struct dirent *e;
    char p[PATH_MAX];
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)))
            continue;
        long pid = strtol(e->d_name + strlen(TMP_PREFIX), NULL, 10);
        /* a live pusher's folder is left alone (not ours to judge) */
        if (pid > 0 && pid != (long)getpid() &&
            (kill((pid_t)pid, 0) == 0 || errno == EPERM))
            continue;
        snprintf(p, sizeof p, "%s/%s", base, e->d_name);
        if ((ret = cfx_file_remove_tree(p, err))) {
            cfx_error_prefix(err,
                             "%s: cannot remove a crashed push's leftovers", p);
            break;
        }
        removed++;
    }
    closedir(d);
    if (ret)
        return ret;
    if (removed && (ret = cfx_file_fsync_dir(base, err)))
        return ret;
    return removed;
}

typedef struct copy_sink {
    int fd;
    const char *dst;
} copy_sink_t;

static int copy_chunk(void *ud, const void *data, size_t n, cfx_error_t *err) {
    const copy_sink_t *s = ud;
    if (cfx_file_write_all(s->fd, data, n) != 0)
        return cfx_error_set(err, CFX_EIO, "%s: write: %s", s->dst,
                             strerror(errno));
    return 0;
}

static int copy_file(const char *src, const char *dst, cfx_error_t *err) {
    copy_sink_t s = {open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644),
                     dst};
    if (s.fd < 0)
        return cfx_error_set(err, CFX_EIO, "%s: %s", dst, strerror(errno));
    int ret =
        cfx_file_read_chunks(src, CFX_PUSH_MAX_FILE, copy_chunk, &s, NULL, err);
    if (!ret && fsync(s.fd) != 0)
        ret =
            cfx_error_set(err, CFX_EIO, "%s: fsync: %s", dst, strerror(errno));
    if (close(s.fd) != 0 && !ret)
        ret =
            cfx_error_set(err, CFX_EIO, "%s: close: %s", dst, strerror(errno));
    return ret;
}

/* Copies folder src into the new folder dst, fsyncing all. */
static int copy_tree(const char *src, const char *dst, int depth,
                     cfx_error_t *err) {
    if (depth > CFX_PUSH_MAX_DEPTH)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "%s: nested deeper than %d folders", src,
                             CFX_PUSH_MAX_DEPTH);
    if (mkdir(dst, 0755) != 0)
        return cfx_error_set(err, CFX_EIO, "%s: mkdir: %s", dst,
                             strerror(errno));
    DIR *d = opendir(src);
    if (!d)
        return cfx_error_set(err, CFX_EIO, "%s: %s", src, strerror(errno));
    int ret = 0;
    struct dirent *e;
    char s[PATH_MAX], t[PATH_MAX];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if ((size_t)snprintf(s, sizeof s, "%s/%s", src, e->d_name) >=
                sizeof s ||
            (size_t)snprintf(t, sizeof t, "%s/%s", dst, e->d_name) >=
                sizeof t) {
            ret = cfx_error_set(err, CFX_ETOOBIG, "%s/%s: path too long", src,
                                e->d_name);
            break;
        }
        struct stat st;
        if (lstat(s, &st) != 0) {
            ret = cfx_error_set(err, CFX_EIO, "%s: %s", s, strerror(errno));
            break;
        }
        if (S_ISDIR(st.st_mode))
            ret = copy_tree(s, t, depth + 1, err);
        else if (S_ISREG(st.st_mode))
            ret = copy_file(s, t, err);
        else
            ret = cfx_error_set(
                err, CFX_EUNSUPPORTED,
                "%s: not a regular file or folder (links are not pushed)", s);
        if (ret)
            break;
    }
    closedir(d);
    if (!ret)
        ret = cfx_file_fsync_dir(dst, err);
    return ret;
}

int cfx_pusher_push(const char *model_dir, const char *base, int64_t *version,
                    char *dest, size_t cap, cfx_error_t *err) {
    static atomic_uint counter;
    char tmp[PATH_MAX], final[PATH_MAX];
    cfx_bundle_t *b = NULL;
    int ret, made_tmp = 0;
    *version = 0;
    if (dest && cap)
        dest[0] = 0;
    /* verify before publishing: a version a server would refuse is never pushed
     */
    if ((ret = cfx_bundle_load(model_dir, &b, err)))
        return cfx_error_prefix(err, "push");
    cfx_bundle_free(b);
    if (cfx_s3_is_url(base))
        return cfx_pusher_push_s3(model_dir, base, version, dest, cap, err);
    if ((ret = cfx_file_mkdirs(base, err)))
        return ret;
    if ((ret = cfx_pusher_clean(base, err)) < 0)
        return ret;
    unsigned n = atomic_fetch_add(&counter, 1);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/" TMP_PREFIX "%ld-%u", base,
                         (long)getpid(), n) >= sizeof tmp)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: path too long", base);
    cfx_file_remove_tree(tmp, NULL); /* a stale one of a reused pid */
    if ((ret = copy_tree(model_dir, tmp, 0, err)))
        goto out;
    made_tmp = 1;
    if ((ret = cfx_file_fsync_dir(base, err)))
        goto out;
    for (int tries = 0;; tries++) {
        int64_t latest;
        if ((ret = cfx_pusher_latest_version(base, &latest, err)))
            goto out;
        snprintf(final, sizeof final, "%s/%lld", base, (long long)(latest + 1));
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0) {
            *version = latest + 1;
            break;
        }
        /* another pusher took that number first: take the next one */
        if ((errno == EEXIST || errno == ENOTEMPTY) && tries < 100)
            continue;
        ret = cfx_error_set(err, CFX_EIO, "rename %s -> %s: %s", tmp, final,
                            strerror(errno));
        goto out;
    }
    made_tmp = 0;
    if ((ret = cfx_file_fsync_dir(base, err)))
        goto out;
    if (dest && cap)
        snprintf(dest, cap, "%s", final);
out:
    if (ret && (made_tmp || access(tmp, F_OK) == 0))
        cfx_file_remove_tree(tmp, NULL);
    return ret;
}

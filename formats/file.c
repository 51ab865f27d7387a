/* file.c: bounded whole-file and chunked reads, atomic whole-file
 * replacement, mkdir -p and rm -r. */
#include "formats/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens path for a bounded read: refuses a directory, and a regular file
 * already larger than max. The read itself checks max again (the size may
 * change under us; pipes have none). */
static int open_bounded(const char *path, uint64_t max, int *fd_out,
                        uint64_t *size_hint, cfx_error_t *err) {
    *fd_out = -1;
    *size_hint = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cfx_error_set(err, errno == ENOENT ? CFX_ENOTFOUND : CFX_EIO,
                             "%s: open: %s", path, strerror(errno));
    int rc = 0;
    struct stat st;
    if (fstat(fd, &st) != 0)
        rc = cfx_error_set(err, CFX_EIO, "%s: stat: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        rc = cfx_error_set(err, CFX_EINVAL, "%s: is a directory", path);
    else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
        rc = cfx_error_set(err, CFX_ETOOBIG,
                           "%s: %lld bytes exceeds the limit of %llu", path,
                           (long long)st.st_size, (unsigned long long)max);
    if (rc) {
        close(fd);
        return rc;
    }
    if (S_ISREG(st.st_mode))
        *size_hint = (uint64_t)st.st_size;
    *fd_out = fd;
    return 0;
}

static int too_big(const char *path, uint64_t max, cfx_error_t *err) {
    return cfx_error_set(err, CFX_ETOOBIG,
                         "%s: more than the limit of %llu bytes", path,
                         (unsigned long long)max);
}

/* read(2) that retries on EINTR; a negative return names the path in err. */
static ssize_t read_some(int fd, void *buf, size_t n, const char *path,
                         cfx_error_t *err) {
    for (;;) {
        ssize_t k = read(fd, buf, n);
        if (k >= 0)
            return k;
        if (errno != EINTR)
            return cfx_error_set(err, CFX_EIO, "%s: read: %s", path,
                                 strerror(errno));
    }
}

int cfx_file_read(const char *path, size_t max, cfx_buf_t *out,
                  cfx_error_t *err) {
    int fd;
    uint64_t hint;
    int rc = open_bounded(path, max, &fd, &hint, err);
    if (rc)
        return rc;
    size_t start = out->len;
    /* Room for the whole of a regular file (and the NUL) at once; a file
     * that grows meanwhile, or a pipe, grows the buffer as it goes. */
    if ((rc = cfx_buf_reserve(out, (size_t)hint + 1))) {
        rc = cfx_error_set(err, rc, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        if (out->len - start > max) {
            rc = too_big(path, max, err);
            goto out;
        }
        if (out->cap - out->len <= 1) {
            /* Full: a one-byte probe tells EOF from more to come, so a file
             * of the size announced is read without growing the buffer. */
            uint8_t probe;
            ssize_t n = read_some(fd, &probe, 1, path, err);
            if (n <= 0) {
                rc = (int)n;
                if (rc)
                    goto out;
                break;
            }
            if ((rc = cfx_buf_reserve(out, 64 * 1024))) {
                rc = cfx_error_set(err, rc, "%s: out of memory", path);
                goto out;
            }
            out->data[out->len++] = probe;
            continue;
        }
        ssize_t n = read_some(fd, out->data + out->len, out->cap - out->len - 1,
                              path, err);
        if (n < 0) {
            rc = (int)n;
            goto out;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
    }
    if (out->len - start > max) {
        rc = too_big(path, max, err);
        goto out;
    }
    out->data[out->len] = '\0';
out:
    if (rc)
        out->len = start;
    close(fd);
    return rc;
}

#define CHUNK (256 * 1024)

int cfx_file_read_chunks(const char *path, uint64_t max, cfx_file_chunk_fn fn,
                         void *ud, uint64_t *size, cfx_error_t *err) {
    if (size != NULL)
        *size = 0;
    int fd;
    uint64_t hint;
    int rc = open_bounded(path, max, &fd, &hint, err);
    if (rc)
        return rc;
    uint64_t total = 0;
    uint8_t *buf = malloc(CHUNK);
    if (buf == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        ssize_t n = read_some(fd, buf, CHUNK, path, err);
        if (n < 0) {
            rc = (int)n;
            goto out;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
        if (total > max) {
            rc = too_big(path, max, err);
            goto out;
        }
        if ((rc = fn(ud, buf, (size_t)n, err)) != 0)
            goto out;
    }
    if (size != NULL)
        *size = total;
out:
    free(buf);
    close(fd);
    return rc;
}

int cfx_file_mkdirs(const char *dir, cfx_error_t *err) {
    char p[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p)
        return cfx_error_set(err, CFX_EINVAL, "'%s': bad directory name", dir);
    memcpy(p, dir, n + 1);
    for (char *q = p + 1;; q++) {
        if (*q != '/' && *q != '\0')
            continue;
        char saved = *q;
        *q = '\0';
        struct stat st;
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return cfx_error_set(err, CFX_EIO, "%s: cannot create: %s", p,
                                 strerror(errno));
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
            return cfx_error_set(err, CFX_EIO, "%s: not a directory", p);
        *q = saved;
        if (saved == '\0')
            return 0;
    }
}

int cfx_file_fsync_dir(const char *dir, cfx_error_t *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return cfx_error_set(err, CFX_EIO, "%s: open: %s", dir,
                             strerror(errno));
    int rc = 0;
    if (fsync(fd) != 0)
        rc = cfx_error_set(err, CFX_EIO, "%s: fsync: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

int cfx_file_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cfx_file_is_regular(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int cfx_file_check_empty_dir(const char *path, cfx_error_t *err) {
    struct stat st;
    if (stat(path, &st) != 0)
        return 0; /* absent, or unreachable: creating it will say why */
    if (!S_ISDIR(st.st_mode))
        return cfx_error_set(err, CFX_EEXIST,
                             "%s: exists and is not a directory", path);
    DIR *d = opendir(path);
    if (d == NULL)
        return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
    struct dirent *de;
    int empty = 1;
    while (empty && (de = readdir(d)) != NULL)
        empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
    closedir(d);
    if (!empty)
        return cfx_error_set(err, CFX_EEXIST,
                             "%s: output directory exists and is not empty",
                             path);
    return 0;
}

int cfx_file_absent_or_empty(const char *path) {
    return cfx_file_check_empty_dir(path, NULL) == 0;
}

/* nftw's callback takes no user pointer: the first failure is noted here. */
static _Thread_local struct {
    int errnum;
    char path[PATH_MAX];
} rm_failure;

static int rm_entry(const char *p, const struct stat *sb, int flag,
                    struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    /* FTW_DEPTH reports a directory after its contents (FTW_DP); one that
     * could not be read (FTW_DNR) is still tried with rmdir. */
    int r = flag == FTW_DP || flag == FTW_DNR ? rmdir(p) : unlink(p);
    if (r == 0 || errno == ENOENT)
        return 0;
    rm_failure.errnum = errno;
    snprintf(rm_failure.path, sizeof rm_failure.path, "%s", p);
    return 1;
}

int cfx_file_remove_tree(const char *path, cfx_error_t *err) {
    rm_failure.errnum = 0;
    rm_failure.path[0] = '\0';
    int r = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (r == 0)
        return 0;
    if (r > 0)
        return cfx_error_set(err, CFX_EIO, "%s: cannot remove: %s",
                             rm_failure.path, strerror(rm_failure.errnum));
    if (errno == ENOENT)
        return 0;
    return cfx_error_set(err, CFX_EIO, "%s: cannot remove: %s", path,
                         strerror(errno));
}

int cfx_file_write_all(int fd, const void *data, size_t n) {
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int cfx_file_write_atomic(const char *path, const void *data, size_t len,
                          cfx_error_t *err) {
    static atomic_uint counter;
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    const char *base = slash ? slash + 1 : path;
    if (*base == '\0')
        return cfx_error_set(err, CFX_EINVAL, "%s: not a file path", path);
    char dir[4096], tmp[4096 + 64];
    if (dlen >= sizeof dir || strlen(path) + 64 >= sizeof tmp)
        return cfx_error_set(err, CFX_EINVAL, "%s: path too long", path);
    if (slash == path) {
        strcpy(dir, "/");
    } else if (slash) {
        memcpy(dir, path, dlen);
        dir[dlen] = '\0';
    } else {
        strcpy(dir, ".");
    }
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld.%u", dir, base, (long)getpid(),
             atomic_fetch_add(&counter, 1));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return cfx_error_set(err, CFX_EIO, "%s: create: %s", tmp,
                             strerror(errno));
    int rc = 0;
    if (cfx_file_write_all(fd, data, len) != 0) {
        rc = cfx_error_set(err, CFX_EIO, "%s: write: %s", tmp, strerror(errno));
    } else if (fsync(fd) != 0) {
        rc = cfx_error_set(err, CFX_EIO, "%s: fsync: %s", tmp, strerror(errno));
    }
    if (close(fd) != 0 && rc == 0)
        rc = cfx_error_set(err, CFX_EIO, "%s: close: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = cfx_error_set(err, CFX_EIO, "%s: rename: %s", path,
                           strerror(errno));
    if (rc) {
        unlink(tmp);
        return rc;
    }
    return cfx_file_fsync_dir(dir, err);
}

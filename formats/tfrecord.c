/*
 * tfrecord.c: TFRecord reading and writing, plain or gzip, with CRC32C.
 *
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78) uses the SSE4.2
 * crc32 instruction when the CPU has it and a slicing-by-8 table otherwise;
 * both are kept and tested against each other.
 *
 * The reader pulls bytes through a small "source" layer (plain read(2) into
 * a 256 KiB buffer, or zlib inflate over one); gzip input may hold several
 * concatenated members, as `cat a.gz b.gz` produces. Offsets reported in
 * errors are offsets in the uncompressed record stream.
 *
 * The gzip writer defaults to compression level 1 (CFX_TFRECORD_GZIP_LEVEL):
 * examplegen writes millions of records and level 6 costs about three times
 * the CPU for roughly 15-20% smaller files.
 */
#include "formats/tfrecord.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "formats/file.h"
#include "formats/le.h"

#define IO_CHUNK (256u * 1024)
#define WRITE_FLUSH (1024u * 1024)
#define CRC_MASK_DELTA 0xa282ead8u

/* ---- CRC32C ------------------------------------------------------------ */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_hw;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
                              crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    crc_hw =
        __builtin_cpu_supports("sse4.2") && getenv("CFX_CRC32C_SW") == NULL;
#endif
}

/* Slicing-by-8 over the raw (unmasked, pre/post-inverted by caller) state. */
static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t n) {
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        n--;
    }
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= c; /* little-endian hosts only (x86_64, aarch64) */
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
            crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
            crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n-- > 0)
        c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2"))) static uint32_t
crc_hw_run(uint32_t c, const uint8_t *p, size_t n) {
    uint64_t c64 = c;
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c64;
    while (n-- > 0)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t cfx_crc32c(uint32_t crc, const void *data, size_t n) {
    pthread_once(&crc_once, crc_init);
    uint32_t c = ~crc;
#if defined(__x86_64__) && defined(__GNUC__)
    if (crc_hw)
        return ~crc_hw_run(c, data, n);
#endif
    return ~crc_sw(c, data, n);
}

uint32_t cfx_crc32c_sw(uint32_t crc, const void *data, size_t n) {
    pthread_once(&crc_once, crc_init);
    return ~crc_sw(~crc, data, n);
}

uint32_t cfx_crc32c_mask(uint32_t crc) {
    return ((crc >> 15) | (crc << 17)) + CRC_MASK_DELTA;
}

static int has_gz_suffix(const char *path) {
    size_t n = strlen(path);
    return n >= 3 && strcmp(path + n - 3, ".gz") == 0;
}

/* ---- reader ------------------------------------------------------------ */

struct cfx_tfrecord_reader {
    char *path;
    int fd;
    int gzip;
    int eof;       /* underlying file exhausted */
    int in_member; /* gzip: inside a member (not between members) */
    uint8_t *in;   /* IO_CHUNK raw bytes from the file */
    size_t in_pos, in_len;
    uint64_t raw_off; /* bytes of the file consumed so far (for gzip errors) */
    z_stream zs;
    int zs_ready;
    uint64_t offset; /* uncompressed offset of the next record */
    uint8_t *rec;    /* record data + its CRC */
    size_t rec_cap;
};

/* Refills r->in; returns bytes now available, 0 at EOF, <0 on error. */
static int fill_in(cfx_tfrecord_reader_t *r, cfx_error_t *err) {
    if (r->in_pos < r->in_len)
        return 1;
    if (r->eof)
        return 0;
    ssize_t n;
    do {
        n = read(r->fd, r->in, IO_CHUNK);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return cfx_error_set(err, CFX_EIO, "%s: read: %s", r->path,
                             strerror(errno));
    r->in_pos = 0;
    r->in_len = (size_t)n;
    if (n == 0) {
        r->eof = 1;
        return 0;
    }
    return 1;
}

/* Reads up to n uncompressed bytes into dst; *got < n only at end of input.
 * Returns 0 or a negative code. */
static int src_read(cfx_tfrecord_reader_t *r, uint8_t *dst, size_t n,
                    size_t *got, cfx_error_t *err) {
    *got = 0;
    while (*got < n) {
        int rc = fill_in(r, err);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (r->gzip && r->in_member)
                return cfx_error_set(err, CFX_ETRUNCATED,
                                     "%s: offset %llu: truncated gzip stream",
                                     r->path, (unsigned long long)r->offset);
            return 0;
        }
        if (!r->gzip) {
            size_t k = r->in_len - r->in_pos;
            if (k > n - *got)
                k = n - *got;
            memcpy(dst + *got, r->in + r->in_pos, k);
            r->in_pos += k;
            *got += k;
            continue;
        }
        if (!r->in_member) {
            if (inflateReset(&r->zs) != Z_OK)
                return cfx_error_set(err, CFX_EINTERNAL, "%s: inflateReset",
                                     r->path);
            r->in_member = 1;
        }
        r->zs.next_in = r->in + r->in_pos;
        r->zs.avail_in = (uInt)(r->in_len - r->in_pos);
        r->zs.next_out = dst + *got;
        size_t want = n - *got;
        r->zs.avail_out = want > (1u << 30) ? (1u << 30) : (uInt)want;
        uInt before_out = r->zs.avail_out;
        uInt before_in = r->zs.avail_in;
        int zrc = inflate(&r->zs, Z_NO_FLUSH);
        size_t used = before_in - r->zs.avail_in;
        r->in_pos += used;
        r->raw_off += used;
        *got += before_out - r->zs.avail_out;
        if (zrc == Z_STREAM_END) {
            r->in_member = 0;
        } else if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s: compressed byte %llu: gzip: %s", r->path,
                                 (unsigned long long)r->raw_off,
                                 r->zs.msg ? r->zs.msg : "inflate failed");
        }
    }
    return 0;
}

int cfx_tfrecord_reader_open(const char *path, cfx_tfrecord_reader_t **out,
                             cfx_error_t *err) {
    *out = NULL;
    int rc = 0;
    cfx_tfrecord_reader_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", path);
    r->fd = -1;
    r->path = strdup(path);
    r->in = malloc(IO_CHUNK);
    if (r->path == NULL || r->in == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        rc = cfx_error_set(err, errno == ENOENT ? CFX_ENOTFOUND : CFX_EIO,
                           "%s: open: %s", path, strerror(errno));
        goto out;
    }
    r->gzip = has_gz_suffix(path);
    if (r->gzip) {
        /* 16 + MAX_WBITS: gzip wrapper only. */
        if (inflateInit2(&r->zs, 16 + MAX_WBITS) != Z_OK) {
            rc = cfx_error_set(err, CFX_ENOMEM, "%s: inflateInit", path);
            goto out;
        }
        r->zs_ready = 1;
    }
    *out = r;
    r = NULL;
out:
    cfx_tfrecord_reader_free(r);
    return rc;
}

int cfx_tfrecord_read(cfx_tfrecord_reader_t *r, const uint8_t **data,
                      size_t *len, cfx_error_t *err) {
    *data = NULL;
    *len = 0;
    uint8_t hdr[12];
    size_t got;
    int rc = src_read(r, hdr, sizeof hdr, &got, err);
    if (rc)
        return rc;
    if (got == 0)
        return 0;
    unsigned long long off = (unsigned long long)r->offset;
    if (got < sizeof hdr)
        return cfx_error_set(err, CFX_ETRUNCATED,
                             "%s: offset %llu: truncated record header "
                             "(%zu of 12 bytes)",
                             r->path, off, got);
    uint64_t n = cfx_le_get64(hdr);
    uint32_t want = cfx_le_get32(hdr + 8);
    uint32_t have = cfx_crc32c_mask(cfx_crc32c(0, hdr, 8));
    if (want != have)
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s: offset %llu: corrupt record length "
                             "(length CRC 0x%08x, expected 0x%08x)",
                             r->path, off, have, want);
    if (n > CFX_TFRECORD_MAX_RECORD)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "%s: offset %llu: record of %llu bytes exceeds "
                             "the limit of %u",
                             r->path, off, (unsigned long long)n,
                             CFX_TFRECORD_MAX_RECORD);
    size_t need = (size_t)n + 4;
    if (need > r->rec_cap) {
        size_t cap = r->rec_cap ? r->rec_cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *p = realloc(r->rec, cap);
        if (p == NULL)
            return cfx_error_set(err, CFX_ENOMEM,
                                 "%s: offset %llu: out of memory", r->path,
                                 off);
        r->rec = p;
        r->rec_cap = cap;
    }
    rc = src_read(r, r->rec, need, &got, err);
    if (rc)
        return rc;
    if (got < need)
        return cfx_error_set(err, CFX_ETRUNCATED,
                             "%s: offset %llu: truncated record (%zu of %zu "
                             "data+CRC bytes)",
                             r->path, off, got, need);
    want = cfx_le_get32(r->rec + n);
    have = cfx_crc32c_mask(cfx_crc32c(0, r->rec, (size_t)n));
    if (want != have)
        return cfx_error_set(err, CFX_ECHECKSUM,
                             "%s: offset %llu: data CRC mismatch (0x%08x, "
                             "expected 0x%08x)",
                             r->path, off, have, want);
    r->offset += 12 + need;
    *data = r->rec;
    *len = (size_t)n;
    return 1;
}

uint64_t cfx_tfrecord_reader_offset(const cfx_tfrecord_reader_t *r) {
    return r->offset;
}

void cfx_tfrecord_reader_free(cfx_tfrecord_reader_t *r) {
    if (r == NULL)
        return;
    if (r->zs_ready)
        inflateEnd(&r->zs);
    if (r->fd >= 0)
        close(r->fd);
    free(r->rec);
    free(r->in);
    free(r->path);
    free(r);
}

/* ---- writer ------------------------------------------------------------ */

struct cfx_tfrecord_writer {
    char *path;
    int fd;
    int gzip;
    z_stream zs;
    int zs_ready;
    uint8_t *pend; /* uncompressed bytes waiting (plain: to write; gzip: to
                      deflate) */
    size_t pend_len;
    uint8_t *zout; /* gzip output chunk */
};

static int write_all(cfx_tfrecord_writer_t *w, const uint8_t *p, size_t n,
                     cfx_error_t *err) {
    if (cfx_file_write_all(w->fd, p, n) != 0)
        return cfx_error_set(err, CFX_EIO, "%s: write: %s", w->path,
                             strerror(errno));
    return 0;
}

/* Pushes the pending bytes to the file (through deflate for gzip). */
static int flush_pending(cfx_tfrecord_writer_t *w, int finish,
                         cfx_error_t *err) {
    if (!w->gzip) {
        int rc = write_all(w, w->pend, w->pend_len, err);
        w->pend_len = 0;
        return rc;
    }
    w->zs.next_in = w->pend;
    w->zs.avail_in = (uInt)w->pend_len;
    for (;;) {
        w->zs.next_out = w->zout;
        w->zs.avail_out = IO_CHUNK;
        int zrc = deflate(&w->zs, finish ? Z_FINISH : Z_NO_FLUSH);
        if (zrc == Z_STREAM_ERROR)
            return cfx_error_set(err, CFX_EINTERNAL, "%s: deflate failed",
                                 w->path);
        size_t produced = IO_CHUNK - w->zs.avail_out;
        int rc = write_all(w, w->zout, produced, err);
        if (rc)
            return rc;
        if (finish ? zrc == Z_STREAM_END
                   : (w->zs.avail_in == 0 && w->zs.avail_out != 0))
            break;
    }
    w->pend_len = 0;
    return 0;
}

int cfx_tfrecord_writer_open_level(const char *path, int gzip_level,
                                   cfx_tfrecord_writer_t **out,
                                   cfx_error_t *err) {
    *out = NULL;
    int rc = 0;
    cfx_tfrecord_writer_t *w = calloc(1, sizeof *w);
    if (w == NULL)
        return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", path);
    w->fd = -1;
    w->path = strdup(path);
    w->pend = malloc(WRITE_FLUSH);
    w->gzip = has_gz_suffix(path);
    if (w->gzip)
        w->zout = malloc(IO_CHUNK);
    if (w->path == NULL || w->pend == NULL || (w->gzip && w->zout == NULL)) {
        rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if (gzip_level < 0 || gzip_level > 9) {
        rc = cfx_error_set(err, CFX_EINVAL, "%s: gzip level %d not in 0..9",
                           path, gzip_level);
        goto out;
    }
    if (w->gzip) {
        if (deflateInit2(&w->zs, gzip_level, Z_DEFLATED, 16 + MAX_WBITS, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
            rc = cfx_error_set(err, CFX_ENOMEM, "%s: deflateInit", path);
            goto out;
        }
        w->zs_ready = 1;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        rc = cfx_error_set(err, CFX_EIO, "%s: create: %s", path,
                           strerror(errno));
        goto out;
    }
    *out = w;
    w = NULL;
out:
    cfx_tfrecord_writer_abort(w);
    return rc;
}

int cfx_tfrecord_writer_open(const char *path, cfx_tfrecord_writer_t **out,
                             cfx_error_t *err) {
    return cfx_tfrecord_writer_open_level(path, CFX_TFRECORD_GZIP_LEVEL, out,
                                          err);
}

static int pend_append(cfx_tfrecord_writer_t *w, const void *p, size_t n,
                       cfx_error_t *err) {
    const uint8_t *s = p;
    while (n > 0) {
        if (w->pend_len == WRITE_FLUSH) {
            int rc = flush_pending(w, 0, err);
            if (rc)
                return rc;
        }
        size_t k = WRITE_FLUSH - w->pend_len;
        if (k > n)
            k = n;
        memcpy(w->pend + w->pend_len, s, k);
        w->pend_len += k;
        s += k;
        n -= k;
    }
    return 0;
}

int cfx_tfrecord_write(cfx_tfrecord_writer_t *w, const void *data, size_t len,
                       cfx_error_t *err) {
    if (len > CFX_TFRECORD_MAX_RECORD)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "%s: record of %zu bytes exceeds the limit of %u",
                             w->path, len, CFX_TFRECORD_MAX_RECORD);
    uint8_t hdr[12], tail[4];
    cfx_le_put64(hdr, (uint64_t)len);
    cfx_le_put32(hdr + 8, cfx_crc32c_mask(cfx_crc32c(0, hdr, 8)));
    cfx_le_put32(tail, cfx_crc32c_mask(cfx_crc32c(0, data, len)));
    int rc = pend_append(w, hdr, sizeof hdr, err);
    if (rc == 0)
        rc = pend_append(w, data, len, err);
    if (rc == 0)
        rc = pend_append(w, tail, sizeof tail, err);
    return rc;
}

int cfx_tfrecord_writer_close(cfx_tfrecord_writer_t *w, cfx_error_t *err) {
    if (w == NULL)
        return 0;
    int rc = flush_pending(w, 1, err);
    if (rc == 0 && fsync(w->fd) != 0)
        rc = cfx_error_set(err, CFX_EIO, "%s: fsync: %s", w->path,
                           strerror(errno));
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0 && rc == 0)
        rc = cfx_error_set(err, CFX_EIO, "%s: close: %s", w->path,
                           strerror(errno));
    cfx_tfrecord_writer_abort(w);
    return rc;
}

void cfx_tfrecord_writer_abort(cfx_tfrecord_writer_t *w) {
    if (w == NULL)
        return;
    if (w->zs_ready)
        deflateEnd(&w->zs);
    if (w->fd >= 0)
        close(w->fd);
    free(w->zout);
    free(w->pend);
    free(w->path);
    free(w);
}

/* ---- directories ------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cfx_tfrecord_list_split(const char *dir, const char *split, char ***out,
                            size_t *count, cfx_error_t *err) {
    char path[4096];
    *out = NULL;
    *count = 0;
    if ((size_t)snprintf(path, sizeof path, "%s/Split-%s", dir, split) >=
        sizeof path)
        return cfx_error_set(err, CFX_EINVAL, "%s: path too long", dir);
    return cfx_tfrecord_list_dir(cfx_file_is_dir(path) ? path : dir, out, count,
                                 err);
}

void cfx_path_list_free(char **list) {
    if (list == NULL)
        return;
    for (char **p = list; *p != NULL; p++)
        free(*p);
    free(list);
}

int cfx_tfrecord_list_dir(const char *dir, char ***out, size_t *count,
                          cfx_error_t *err) {
    *out = NULL;
    *count = 0;
    int rc = 0;
    char **list = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return cfx_error_set(err, errno == ENOENT ? CFX_ENOTFOUND : CFX_EIO,
                             "%s: opendir: %s", dir, strerror(errno));
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    struct dirent *e;
    for (;;) {
        errno = 0;
        e = readdir(d);
        if (e == NULL) {
            if (errno != 0)
                rc = cfx_error_set(err, CFX_EIO, "%s: readdir: %s", dir,
                                   strerror(errno));
            break;
        }
        /* Hidden names are temporaries of atomic writers, never data. */
        if (e->d_name[0] == '.')
            continue;
        size_t nlen = strlen(e->d_name);
        char *full = malloc(dlen + 1 + nlen + 1);
        if (full == NULL) {
            rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", dir);
            break;
        }
        memcpy(full, dir, dlen);
        full[dlen] = '/';
        memcpy(full + dlen + 1, e->d_name, nlen + 1);
        struct stat st;
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(full);
            continue;
        }
        if (n + 2 > cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **p = realloc(list, ncap * sizeof *p);
            if (p == NULL) {
                free(full);
                rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", dir);
                break;
            }
            list = p;
            cap = ncap;
        }
        list[n++] = full;
        list[n] = NULL;
    }
    closedir(d);
    if (rc) {
        cfx_path_list_free(list);
        return rc;
    }
    if (list == NULL) {
        list = calloc(1, sizeof *list);
        if (list == NULL)
            return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", dir);
    }
    qsort(list, n, sizeof *list, cmp_str);
    *out = list;
    *count = n;
    return 0;
}

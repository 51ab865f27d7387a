/*
 * tfrecord_fuzz.c: libFuzzer target for the TFRecord reader.
 *
 * The first input byte picks the mode: plain file, the rest gzip-compressed
 * (so framing bugs are reachable through inflate), or the rest taken as raw
 * ".gz" bytes (inflate errors, concatenated members). Every record returned
 * must have passed its CRCs and lie within the bound; errors must carry a
 * message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "formats/tfrecord.h"

static void write_file(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        abort();
    if (n && fwrite(p, 1, n, f) != n)
        abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    char path[128];
    int mode = data[0] % 3;
    snprintf(path, sizeof path, "/tmp/cfx_fuzz_tfrecord_%ld%s", (long)getpid(),
             mode == 0 ? ".tfrecord" : ".tfrecord.gz");
    if (mode == 1) {
        uLongf cap = compressBound(size) + 32;
        uint8_t *z = malloc(cap);
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = (uint8_t *)data + 1;
        zs.avail_in = (uInt)(size - 1);
        zs.next_out = z;
        zs.avail_out = (uInt)cap;
        deflate(&zs, Z_FINISH);
        write_file(path, z, cap - zs.avail_out);
        deflateEnd(&zs);
        free(z);
    } else {
        write_file(path, data + 1, size - 1);
    }
    cfx_tfrecord_reader_t *r;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_tfrecord_reader_open(path, &r, &err) != 0)
        abort();
    const uint8_t *rec;
    size_t len;
    int rc;
    uint64_t last = 0;
    while ((rc = cfx_tfrecord_read(r, &rec, &len, &err)) == 1) {
        if (len > CFX_TFRECORD_MAX_RECORD)
            abort();
        /* re-checking the CRC touches every byte (ASan sees overreads) */
        (void)cfx_crc32c(0, rec, len);
        uint64_t off = cfx_tfrecord_reader_offset(r);
        if (off != last + 16 + len)
            abort();
        last = off;
    }
    if (rc < 0 && err.msg[0] == '\0')
        abort();
    cfx_tfrecord_reader_free(r);
    unlink(path);
    return 0;
}

/* tfrecord_test.c: CRC32C vectors, TensorFlow-written conformance files,
 * plain/gzip round trips, concatenated gzip members and corruption errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "formats/tfrecord.h"
#include "test_util.h"

static char tmpdir[256];

static void tmp_path(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static void test_crc_vectors(void **state) {
    (void)state;
    /* iSCSI (RFC 3720 B.4) vectors and the classic check value; masked values
     * from an independent bitwise Python implementation. */
    uint8_t zeros[32] = {0}, ones[32], inc[32];
    memset(ones, 0xff, sizeof ones);
    for (int i = 0; i < 32; i++)
        inc[i] = (uint8_t)i;
    assert_int_equal(cfx_crc32c(0, "123456789", 9), 0xe3069283u);
    assert_int_equal(cfx_crc32c(0, zeros, 32), 0x8a9136aau);
    assert_int_equal(cfx_crc32c(0, ones, 32), 0x62a8ab43u);
    assert_int_equal(cfx_crc32c(0, inc, 32), 0x46dd794eu);
    assert_int_equal(cfx_crc32c_sw(0, inc, 32), 0x46dd794eu);
    assert_int_equal(cfx_crc32c_mask(cfx_crc32c(0, zeros, 8)), 0x07980329u);
    assert_int_equal(cfx_crc32c_mask(cfx_crc32c(0, "", 0)), 0xa282ead8u);
    assert_int_equal(cfx_crc32c_mask(cfx_crc32c(0, "hello", 5)), 0x191c1fbbu);
    /* Incremental == one shot. */
    uint32_t c = cfx_crc32c(0, "1234", 4);
    assert_int_equal(cfx_crc32c(c, "56789", 5), 0xe3069283u);
    /* Hardware and table paths agree at every alignment and length. */
    uint8_t buf[1100];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n < 1090; n += 7)
            assert_int_equal(cfx_crc32c(7, buf + off, n),
                             cfx_crc32c_sw(7, buf + off, n));
}

static size_t count_split(const char *split) {
    char dir[1024];
    const char *src = getenv("CFX_SOURCE_DIR");
    assert_non_null(src);
    snprintf(dir, sizeof dir,
             "%s/tests/data/tfx-conformance/csv_example_gen/Split-%s", src,
             split);
    char **files;
    size_t nfiles;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_tfrecord_list_dir(dir, &files, &nfiles, &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_int_equal(nfiles, 12);
    assert_non_null(strstr(files[0], "data_tfrecord-00000-of-00012.gz"));
    assert_non_null(strstr(files[11], "data_tfrecord-00011-of-00012.gz"));
    assert_null(files[12]);
    size_t total = 0;
    for (size_t i = 0; i < nfiles; i++) {
        cfx_tfrecord_reader_t *r;
        rc = cfx_tfrecord_reader_open(files[i], &r, &err);
        if (rc)
            fail_msg("%s", err.msg);
        const uint8_t *data;
        size_t len;
        while ((rc = cfx_tfrecord_read(r, &data, &len, &err)) == 1) {
            assert_true(len > 0);
            assert_int_equal(data[0], 0x0a); /* Example.features, LEN */
            total++;
        }
        if (rc < 0)
            fail_msg("%s", err.msg);
        cfx_tfrecord_reader_free(r);
    }
    cfx_path_list_free(files);
    return total;
}

static void test_conformance_counts(void **state) {
    (void)state;
    assert_int_equal(count_split("train"), 9909);
    assert_int_equal(count_split("eval"), 5091);
}

/* A split of an Examples artifact: its Split-<name> folder when there is
 * one, else the folder given (records handed over directly). */
static void test_list_split(void **state) {
    (void)state;
    const char *src = getenv("CFX_SOURCE_DIR");
    assert_non_null(src);
    char artifact[1024], split[1100];
    snprintf(artifact, sizeof artifact,
             "%s/tests/data/tfx-conformance/csv_example_gen", src);
    cfx_error_t err;
    cfx_error_init(&err);
    char **files;
    size_t n;
    assert_int_equal(
        cfx_tfrecord_list_split(artifact, "eval", &files, &n, &err), 0);
    assert_int_equal(n, 12);
    assert_non_null(
        strstr(files[0], "/Split-eval/data_tfrecord-00000-of-00012.gz"));
    cfx_path_list_free(files);
    /* The split folder itself: no Split-eval below it, its own files. */
    snprintf(split, sizeof split, "%s/Split-train", artifact);
    assert_int_equal(cfx_tfrecord_list_split(split, "eval", &files, &n, &err),
                     0);
    assert_int_equal(n, 12);
    assert_non_null(
        strstr(files[11], "/Split-train/data_tfrecord-00011-of-00012.gz"));
    cfx_path_list_free(files);
}

/* Record i has length lens[i % n] and bytes derived from i. */
static const size_t lens[] = {0, 1, 7, 100, 5000, 300000, 12, 1 << 20};
#define NLENS (sizeof lens / sizeof lens[0])

static void fill(uint8_t *p, size_t n, size_t seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 31 + seed * 7) ^ (i >> 8));
}

static void write_file(const char *path, size_t nrec, int level) {
    cfx_tfrecord_writer_t *w;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = level < 0 ? cfx_tfrecord_writer_open(path, &w, &err)
                       : cfx_tfrecord_writer_open_level(path, level, &w, &err);
    if (rc)
        fail_msg("%s", err.msg);
    uint8_t *buf = malloc(1 << 20);
    for (size_t i = 0; i < nrec; i++) {
        size_t n = lens[i % NLENS];
        fill(buf, n, i);
        rc = cfx_tfrecord_write(w, buf, n, &err);
        if (rc)
            fail_msg("%s", err.msg);
    }
    free(buf);
    rc = cfx_tfrecord_writer_close(w, &err);
    if (rc)
        fail_msg("%s", err.msg);
}

/* Reads path expecting `reps` repetitions of the nrec-record sequence. */
static void check_file(const char *path, size_t nrec, size_t reps) {
    cfx_tfrecord_reader_t *r;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_tfrecord_reader_open(path, &r, &err);
    if (rc)
        fail_msg("%s", err.msg);
    uint8_t *want = malloc(1 << 20);
    uint64_t off = 0;
    for (size_t rep = 0; rep < reps; rep++) {
        for (size_t i = 0; i < nrec; i++) {
            assert_int_equal(cfx_tfrecord_reader_offset(r), off);
            const uint8_t *data;
            size_t len;
            rc = cfx_tfrecord_read(r, &data, &len, &err);
            if (rc != 1)
                fail_msg("record %zu: rc %d: %s", i, rc, err.msg);
            size_t n = lens[i % NLENS];
            assert_int_equal(len, n);
            fill(want, n, i);
            if (n > 0)
                assert_memory_equal(data, want, n);
            off += 16 + n;
        }
    }
    const uint8_t *data;
    size_t len;
    assert_int_equal(cfx_tfrecord_read(r, &data, &len, &err), 0);
    assert_int_equal(cfx_tfrecord_read(r, &data, &len, &err), 0);
    free(want);
    cfx_tfrecord_reader_free(r);
}

static void test_round_trip(void **state) {
    (void)state;
    char p[512], g[512], g6[512], e[512];
    tmp_path(p, sizeof p, "rt.tfrecord");
    tmp_path(g, sizeof g, "rt.tfrecord.gz");
    tmp_path(g6, sizeof g6, "rt6.tfrecord.gz");
    tmp_path(e, sizeof e, "empty.tfrecord.gz");
    write_file(p, 40, -1);
    write_file(g, 40, -1);
    write_file(g6, 40, 6);
    write_file(e, 0, -1);
    check_file(p, 40, 1);
    check_file(g, 40, 1);
    check_file(g6, 40, 1);
    check_file(e, 0, 1);
    /* The gzip file really is compressed and starts with the gzip magic. */
    FILE *f = fopen(g, "rb");
    uint8_t magic[2];
    assert_int_equal(fread(magic, 1, 2, f), 2);
    fclose(f);
    assert_int_equal(magic[0], 0x1f);
    assert_int_equal(magic[1], 0x8b);
}

/* An independent reader: Python's gzip module and a bitwise CRC32C check
 * every frame our writer produced (plain and gzip). */
static const char py_check[] =
    "import gzip, struct, sys\n"
    "def crc(b):\n"
    "    c = 0xffffffff\n"
    "    for x in b:\n"
    "        c ^= x\n"
    "        for _ in range(8):\n"
    "            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)\n"
    "    return c ^ 0xffffffff\n"
    "def mask(c):\n"
    "    return (((c >> 15) | (c << 17)) + 0xa282ead8) & 0xffffffff\n"
    "for path in sys.argv[1:]:\n"
    "    op = gzip.open if path.endswith('.gz') else open\n"
    "    d = op(path, 'rb').read()\n"
    "    off = n = 0\n"
    "    while off < len(d):\n"
    "        (ln,) = struct.unpack_from('<Q', d, off)\n"
    "        assert struct.unpack_from('<I', d, off + 8)[0] == "
    "mask(crc(d[off:off + 8]))\n"
    "        data = d[off + 12:off + 12 + ln]\n"
    "        assert len(data) == ln and data[:3] == bytes([(i * 31 + n * 7) & "
    "255 for i in range(min(3, ln))])\n"
    "        assert struct.unpack_from('<I', d, off + 12 + ln)[0] == "
    "mask(crc(data))\n"
    "        off += 16 + ln\n"
    "        n += 1\n"
    "    print(n)\n";

static void test_python_reads_ours(void **state) {
    (void)state;
    char p[512], g[512], script[512], cmd[2048];
    tmp_path(p, sizeof p, "py.tfrecord");
    tmp_path(g, sizeof g, "py.tfrecord.gz");
    tmp_path(script, sizeof script, "check.py");
    /* Small records only: the bitwise Python CRC is slow. */
    cfx_tfrecord_writer_t *w;
    cfx_error_t err;
    cfx_error_init(&err);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(cfx_tfrecord_writer_open(k ? g : p, &w, &err), 0);
        uint8_t buf[200];
        for (size_t i = 0; i < 25; i++) {
            size_t n = (i * 37) % 200;
            fill(buf, n, i);
            assert_int_equal(cfx_tfrecord_write(w, buf, n, &err), 0);
        }
        assert_int_equal(cfx_tfrecord_writer_close(w, &err), 0);
    }
    cfx_test_write_file(script, py_check);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s'", script, p, g);
    FILE *pp = popen(cmd, "r");
    assert_non_null(pp);
    char out[64] = {0};
    size_t got = fread(out, 1, sizeof out - 1, pp);
    int status = pclose(pp);
    if (status != 0)
        fail_msg("python check failed (status %d): %.*s", status, (int)got,
                 out);
    assert_string_equal(out, "25\n25\n");
}

static void test_concatenated_gzip(void **state) {
    (void)state;
    char a[512], c[512];
    tmp_path(a, sizeof a, "a.tfrecord.gz");
    tmp_path(c, sizeof c, "cat.tfrecord.gz");
    write_file(a, 9, -1);
    size_t n;
    uint8_t *p = cfx_test_read_file(a, &n);
    uint8_t *two = malloc(2 * n);
    memcpy(two, p, n);
    memcpy(two + n, p, n);
    cfx_test_write_bytes(c, two, 2 * n);
    check_file(c, 9, 2);
    /* A gzip stream cut in the middle is a truncation, not a clean end. */
    cfx_test_write_bytes(c, two, n + n / 2);
    cfx_tfrecord_reader_t *r;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_tfrecord_reader_open(c, &r, &err), 0);
    const uint8_t *d;
    size_t len;
    int rc;
    while ((rc = cfx_tfrecord_read(r, &d, &len, &err)) == 1)
        ;
    assert_int_equal(rc, CFX_ETRUNCATED);
    assert_non_null(strstr(err.msg, "cat.tfrecord.gz"));
    cfx_tfrecord_reader_free(r);
    free(two);
    free(p);
}

/* Three records of 10 bytes: offsets 0, 26, 52. Damages byte `at` (or
 * truncates to `at` when trunc) and expects `code` at record offset 26. */
static void expect_damage(size_t at, int trunc, int code,
                          const char *offset_text) {
    char path[512];
    tmp_path(path, sizeof path, "bad.tfrecord");
    cfx_tfrecord_writer_t *w;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_tfrecord_writer_open(path, &w, &err), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cfx_tfrecord_write(w, "0123456789", 10, &err), 0);
    assert_int_equal(cfx_tfrecord_writer_close(w, &err), 0);
    size_t n;
    uint8_t *p = cfx_test_read_file(path, &n);
    assert_int_equal(n, 78);
    if (trunc)
        n = at;
    else
        p[at] ^= 0x40;
    cfx_test_write_bytes(path, p, n);
    free(p);
    cfx_tfrecord_reader_t *r;
    assert_int_equal(cfx_tfrecord_reader_open(path, &r, &err), 0);
    const uint8_t *d;
    size_t len;
    assert_int_equal(cfx_tfrecord_read(r, &d, &len, &err), 1);
    int rc = cfx_tfrecord_read(r, &d, &len, &err);
    if (rc != code)
        fail_msg("damage at %zu: got %d (%s), want %d", at, rc, err.msg, code);
    if (strstr(err.msg, offset_text) == NULL ||
        strstr(err.msg, "bad.tfrecord") == NULL)
        fail_msg("message lacks file/offset: %s", err.msg);
    cfx_tfrecord_reader_free(r);
}

static void test_corruption(void **state) {
    (void)state;
    expect_damage(26 + 0, 0, CFX_ECORRUPT, "offset 26");    /* length byte */
    expect_damage(26 + 9, 0, CFX_ECORRUPT, "offset 26");    /* length CRC */
    expect_damage(26 + 15, 0, CFX_ECHECKSUM, "offset 26");  /* data byte */
    expect_damage(26 + 23, 0, CFX_ECHECKSUM, "offset 26");  /* data CRC */
    expect_damage(26 + 20, 1, CFX_ETRUNCATED, "offset 26"); /* in data */
    expect_damage(26 + 5, 1, CFX_ETRUNCATED, "offset 26");  /* in header */
}

static void test_too_big(void **state) {
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "big.tfrecord");
    uint8_t hdr[12];
    uint64_t n = (uint64_t)CFX_TFRECORD_MAX_RECORD + 1;
    for (int i = 0; i < 8; i++)
        hdr[i] = (uint8_t)(n >> (8 * i));
    uint32_t c = cfx_crc32c_mask(cfx_crc32c(0, hdr, 8));
    for (int i = 0; i < 4; i++)
        hdr[8 + i] = (uint8_t)(c >> (8 * i));
    cfx_test_write_bytes(path, hdr, sizeof hdr);
    cfx_tfrecord_reader_t *r;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_tfrecord_reader_open(path, &r, &err), 0);
    const uint8_t *d;
    size_t len;
    assert_int_equal(cfx_tfrecord_read(r, &d, &len, &err), CFX_ETOOBIG);
    assert_non_null(strstr(err.msg, "offset 0"));
    cfx_tfrecord_reader_free(r);
    /* Missing files are ENOTFOUND and name the path. */
    tmp_path(path, sizeof path, "missing.tfrecord");
    assert_int_equal(cfx_tfrecord_reader_open(path, &r, &err), CFX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "missing.tfrecord"));
}

static int setup(void **state) {
    (void)state;
    return cfx_test_tmpdir_make(tmpdir, sizeof tmpdir, "cfx_tfrecord");
}

static int teardown(void **state) {
    (void)state;
    return cfx_test_rm_rf(tmpdir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_vectors),
        cmocka_unit_test(test_conformance_counts),
        cmocka_unit_test(test_list_split),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_python_reads_ours),
        cmocka_unit_test(test_concatenated_gzip),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_too_big),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* sha256_test.c: FIPS 180-2 vectors, streaming == one shot, and file
 * digests of committed data (golden values from coreutils sha256sum and
 * Python's hashlib at test-writing time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/sha256.h"

static void hex_of(const void *p, size_t n, char out[65]) {
    uint8_t d[CFX_SHA256_LEN];
    assert_int_equal(cfx_sha256(p, n, d), 0);
    cfx_sha256_hex(d, out);
}

static void test_vectors(void **state) {
    (void)state;
    char h[65];
    hex_of("", 0, h);
    assert_string_equal(
        h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, h);
    assert_string_equal(
        h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), h);
    assert_string_equal(
        h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_streaming(void **state) {
    (void)state;
    /* "abc" x 1,000,000 fed in uneven pieces. */
    cfx_sha256_t s;
    assert_int_equal(cfx_sha256_init(&s), 0);
    char chunk[3 * 1000];
    for (int i = 0; i < 1000; i++)
        memcpy(chunk + 3 * i, "abc", 3);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(cfx_sha256_update(&s, chunk, 1000), 0);
        assert_int_equal(cfx_sha256_update(&s, chunk + 1000, 2000), 0);
    }
    uint8_t d[CFX_SHA256_LEN];
    assert_int_equal(cfx_sha256_final(&s, d), 0);
    char h[65];
    cfx_sha256_hex(d, h);
    assert_string_equal(
        h, "f4096a131e7e6ebfa7a512b5c299e13b065df34d15624ee1202ab394cc4d7e90");
    assert_int_equal(cfx_sha256_final(&s, d), CFX_ESTATE); /* already freed */
}

static void test_file(void **state) {
    (void)state;
    const char *src = getenv("CFX_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path,
             "%s/tests/data/tfx-conformance/csv_example_gen/Split-eval/"
             "data_tfrecord-00000-of-00012.gz",
             src);
    uint8_t d[CFX_SHA256_LEN];
    uint64_t size = 0;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_sha256_file(path, d, &size, &err))
        fail_msg("%s", err.msg);
    char h[65];
    cfx_sha256_hex(d, h);
    assert_int_equal(size, 18582);
    assert_string_equal(
        h, "5560a25ed081494ddd0778263d5d7199e5ddf01236cf04d4882f7cbfe10a69ff");
    snprintf(path, sizeof path, "%s/no-such-file", src);
    assert_int_equal(cfx_sha256_file(path, d, &size, &err), CFX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no-such-file"));
}

/* The hex form with a limit: the same digest, and a file one byte over the
 * limit is refused naming the path. */
static void test_file_hex(void **state) {
    (void)state;
    const char *src = getenv("CFX_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path,
             "%s/tests/data/tfx-conformance/csv_example_gen/Split-eval/"
             "data_tfrecord-00000-of-00012.gz",
             src);
    char h[CFX_SHA256_HEX_LEN + 1];
    uint64_t size = 0;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_sha256_file_hex(path, 18582, h, &size, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(size, 18582);
    assert_string_equal(
        h, "5560a25ed081494ddd0778263d5d7199e5ddf01236cf04d4882f7cbfe10a69ff");
    assert_int_equal(cfx_sha256_file_hex(path, 18581, h, &size, &err),
                     CFX_ETOOBIG);
    assert_string_equal(h, "");
    assert_int_equal(size, 0);
    assert_non_null(strstr(err.msg, "data_tfrecord-00000-of-00012.gz"));
    assert_int_equal(cfx_sha256_file_hex(src, UINT64_MAX, h, NULL, &err),
                     CFX_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_file_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

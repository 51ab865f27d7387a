/* base64_test.c: RFC 4648 section 10 vectors, URL-safe and unpadded input,
 * a round trip over every byte value, and rejected input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "formats/base64.h"

static const char *const vec[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_vectors(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        cfx_buf_t b;
        cfx_buf_init(&b);
        size_t n = strlen(vec[i][0]);
        assert_int_equal(cfx_base64_encode(vec[i][0], n, &b), 0);
        assert_int_equal(b.len, strlen(vec[i][1]));
        assert_int_equal(cfx_base64_encoded_len(n), b.len);
        if (b.len)
            assert_memory_equal(b.data, vec[i][1], b.len);
        cfx_buf_reset(&b);
        assert_int_equal(
            cfx_base64_decode(vec[i][1], strlen(vec[i][1]), &b, &err), 0);
        assert_int_equal(b.len, n);
        if (n)
            assert_memory_equal(b.data, vec[i][0], n);
        /* Unpadded input decodes the same. */
        size_t m = strlen(vec[i][1]);
        while (m > 0 && vec[i][1][m - 1] == '=')
            m--;
        cfx_buf_reset(&b);
        assert_int_equal(cfx_base64_decode(vec[i][1], m, &b, &err), 0);
        assert_int_equal(b.len, n);
        cfx_buf_free(&b);
    }
}

static void test_all_bytes_and_url_safe(void **state) {
    (void)state;
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    cfx_buf_t e, d;
    cfx_buf_init(&e);
    cfx_buf_init(&d);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_base64_encode(all, sizeof all, &e), 0);
    assert_int_equal(e.len, 344);
    assert_int_equal(cfx_base64_decode((char *)e.data, e.len, &d, &err), 0);
    assert_int_equal(d.len, 256);
    assert_memory_equal(d.data, all, 256);
    /* Same with the URL-safe alphabet. */
    for (size_t i = 0; i < e.len; i++) {
        if (e.data[i] == '+')
            e.data[i] = '-';
        else if (e.data[i] == '/')
            e.data[i] = '_';
    }
    cfx_buf_reset(&d);
    assert_int_equal(cfx_base64_decode((char *)e.data, e.len, &d, &err), 0);
    assert_memory_equal(d.data, all, 256);
    cfx_buf_free(&e);
    cfx_buf_free(&d);
}

static void test_rejects(void **state) {
    (void)state;
    cfx_buf_t b;
    cfx_buf_init(&b);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_base64_decode("Zm9v!A==", 8, &b, &err), CFX_EPARSE);
    assert_non_null(strstr(err.msg, "offset 4"));
    assert_int_equal(cfx_base64_decode("Z", 1, &b, &err), CFX_EPARSE);
    assert_int_equal(cfx_base64_decode("Zm9vY", 5, &b, &err), CFX_EPARSE);
    assert_int_equal(cfx_base64_decode("Zg=", 3, &b, &err), CFX_EPARSE);
    assert_int_equal(cfx_base64_decode("Zg===", 5, &b, &err), CFX_EPARSE);
    assert_int_equal(cfx_base64_decode("Z=g=", 4, &b, &err), CFX_EPARSE);
    /* Padding after a complete group (TF Serving's REST API refuses it in
     * "b64" values too). */
    assert_int_equal(cfx_base64_decode("Zm9v=", 5, &b, &err), CFX_EPARSE);
    assert_int_equal(cfx_base64_decode("Zm9v==", 6, &b, &err), CFX_EPARSE);
    /* White space is not skipped. */
    assert_int_equal(cfx_base64_decode("Zm9v Zg==", 9, &b, &err), CFX_EPARSE);
    /* A refused decode leaves out as it was. */
    assert_int_equal(b.len, 0);
    cfx_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_all_bytes_and_url_safe),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

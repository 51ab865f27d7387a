/* safetensors_test.c: the safetensors writer and reader: round trip with
 * metadata, the exact bytes of a tiny file (checked by hand against the
 * format: u64 header size, space-padded JSON, raw little-endian floats), and
 * refusal of truncated or inconsistent files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/safetensors.h"

static void test_round_trip(void **state) {
    (void)state;
    float k[6] = {1, 2, 3, 4, 5, -6.5f}, b[2] = {0.25f, -1};
    cfx_st_tensor_t ts[] = {
        {.name = "deep/dense_0/kernel", .ndim = 2, .shape = {3, 2}, .data = k},
        {.name = "deep/dense_0/bias", .ndim = 1, .shape = {2}, .data = b},
        {.name = "empty", .ndim = 2, .shape = {0, 4}, .data = NULL},
    };
    cfx_st_meta_t meta[] = {{"format", "cfx"}};
    cfx_buf_t buf;
    cfx_buf_init(&buf);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_safetensors_encode(ts, 3, meta, 1, &buf, &err), 0);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)buf.data[i] << (8 * i);
    assert_int_equal(hl % 8, 0);
    assert_int_equal(buf.len, 8 + hl + 8 * 4);
    assert_int_equal(buf.data[8], '{');
    cfx_safetensors_t *st = NULL;
    assert_int_equal(cfx_safetensors_parse(buf.data, buf.len, "mem", &st, &err),
                     0);
    assert_int_equal(st->count, 3);
    const cfx_st_tensor_t *t = cfx_safetensors_find(st, "deep/dense_0/kernel");
    assert_non_null(t);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 3);
    assert_int_equal(t->shape[1], 2);
    assert_memory_equal(t->data, k, sizeof k);
    t = cfx_safetensors_find(st, "deep/dense_0/bias");
    assert_memory_equal(t->data, b, sizeof b);
    assert_int_equal(cfx_safetensors_find(st, "empty")->count, 0);
    assert_string_equal(cfx_safetensors_meta(st, "format"), "cfx");
    assert_null(cfx_safetensors_find(st, "nope"));
    cfx_safetensors_free(st);
    cfx_buf_free(&buf);
}

/* One tensor "a" = [1.0] : header {"a":{"dtype":"F32","shape":[1],
 * "data_offsets":[0,4]}} is 54 bytes, padded to 56; 1.0f is 00 00 80 3f. */
static void test_exact_bytes(void **state) {
    (void)state;
    float one = 1.0f;
    cfx_st_tensor_t t = {.name = "a", .ndim = 1, .shape = {1}, .data = &one};
    cfx_buf_t buf;
    cfx_buf_init(&buf);
    assert_int_equal(cfx_safetensors_encode(&t, 1, NULL, 0, &buf, NULL), 0);
    const char *json =
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    assert_int_equal(strlen(json), 54);
    assert_int_equal(buf.len, 8 + 56 + 4);
    assert_int_equal(buf.data[0], 56);
    for (int i = 1; i < 8; i++)
        assert_int_equal(buf.data[i], 0);
    assert_memory_equal(buf.data + 8, json, 54);
    for (int i = 54; i < 56; i++)
        assert_int_equal(buf.data[8 + i], ' ');
    const uint8_t le_one[4] = {0x00, 0x00, 0x80, 0x3f};
    assert_memory_equal(buf.data + 64, le_one, 4);
    cfx_buf_free(&buf);
}

static void expect_refused(const char *file, size_t len, int code,
                           const char *needle) {
    cfx_safetensors_t *st = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_safetensors_parse((const uint8_t *)file, len, "t.safetensors",
                                   &st, &err);
    if (rc != code || strstr(err.msg, needle) == NULL)
        fail_msg("expected %d with '%s', got %d: %s", code, needle, rc,
                 err.msg);
    assert_null(st);
}

static void test_refusals(void **state) {
    (void)state;
    char f[256];
    expect_refused("\x10\0\0\0", 4, CFX_ETRUNCATED, "shorter than");
    /* header size beyond the file */
    memcpy(f, "\xff\0\0\0\0\0\0\0{}", 10);
    expect_refused(f, 10, CFX_ECORRUPT, "exceeds the file");
#define HDR(s)                                                                 \
    (snprintf(f + 8, sizeof f - 8, "%s", s), f[0] = (char)strlen(s),           \
     memset(f + 1, 0, 7), 8 + strlen(s))
    size_t n =
        HDR("{\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}");
    expect_refused(f, n + 2, CFX_EUNSUPPORTED,
                   "tensor 'a': dtype expected F32, found F16");
    n = HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}");
    expect_refused(f, n + 4, CFX_ECORRUPT,
                   "tensor 'a': data_offsets [0, 4] do not hold 2");
    n = HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
    expect_refused(f, n + 2, CFX_ECORRUPT, "tensor 'a'"); /* data cut short */
    expect_refused(f, n + 8, CFX_ECORRUPT, "8 data bytes, tensors cover 4");
    n = HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
    expect_refused(f, n + 8, CFX_ECORRUPT, "gap or overlap");
    n = HDR("{\"a\":[1,2]}");
    expect_refused(f, n, CFX_EPARSE, "tensor 'a'");
    n = HDR("not json");
    expect_refused(f, n, CFX_EPARSE, "t.safetensors: header");
#undef HDR
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* grpc_tensor_test.c: TensorProto decoding/encoding (serve/grpc_tensor.c)
 * and the gRPC wire helpers of serve/grpc.c (timeout, grpc-message,
 * message prefix, gzip/deflate messages). Request bytes are written out by hand
 * from the protobuf wire format (tag = field << 3 | wire type), not produced by
 * protobuf-c, so the decoder is checked against an independent encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "formats/arena.h"
#include "serve/grpc.h"
#include "serve/grpc_tensor.h"
#include "tensor.pb-c.h"

static int decode(const uint8_t *b, size_t n, size_t max, cfx_arena_t *a,
                  cfx_tensor_t *t, cfx_error_t *err) {
    Tensorflow__TensorProto *tp = tensorflow__tensor_proto__unpack(NULL, n, b);
    assert_non_null(tp);
    int rc = cfx_grpc_tensor_decode(tp, max, a, t, err);
    /* Values that point into the message (strings) are checked by the
     * caller before this free, so copy what the string test needs. */
    if (rc == 0 && t->cls == CFX_TENSOR_STR) {
        for (size_t i = 0; i < t->n; i++) {
            char *s = cfx_arena_strndup(a, (const char *)t->v.str[i].data,
                                        t->v.str[i].len);
            t->v.str[i].data = (const uint8_t *)s;
        }
    }
    tensorflow__tensor_proto__free_unpacked(tp, NULL);
    return rc;
}

/* DT_FLOAT [2,2] in tensor_content: 1.5, -2, 3.25, 0 as little-endian
 * IEEE-754 (0x3fc00000, 0xc0000000, 0x40500000, 0). */
static void test_float_content(void **state) {
    (void)state;
    static const uint8_t b[] = {
        0x08, 0x01,                                                 /* dtype */
        0x12, 0x08, 0x12, 0x02, 0x08, 0x02, 0x12, 0x02, 0x08, 0x02, /* [2,2] */
        0x22, 0x10, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0,
        0x00, 0x00, 0x50, 0x40, 0x00, 0x00, 0x00, 0x00};
    cfx_arena_t a;
    cfx_arena_init(&a);
    cfx_tensor_t t;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(decode(b, sizeof(b), 100, &a, &t, &err), 0);
    assert_int_equal(t.cls, CFX_TENSOR_F32);
    assert_int_equal(t.rank, 2);
    assert_int_equal(t.n, 4);
    assert_true(t.v.f32[0] == 1.5f && t.v.f32[1] == -2.0f &&
                t.v.f32[2] == 3.25f && t.v.f32[3] == 0.0f);
    cfx_arena_free(&a);
}

/* DT_INT64 [4], int64_val packed {7, 9}: TF repeats the last value. The
 * same values unpacked (wire type 0) decode identically. */
static void test_int64_repeat_last(void **state) {
    (void)state;
    static const uint8_t packed[] = {0x08, 0x09, 0x12, 0x04, 0x12, 0x02,
                                     0x08, 0x04, 0x52, 0x02, 0x07, 0x09};
    static const uint8_t unpacked[] = {0x08, 0x09, 0x12, 0x04, 0x12, 0x02,
                                       0x08, 0x04, 0x50, 0x07, 0x50, 0x09};
    const uint8_t *cases[2] = {packed, unpacked};
    size_t lens[2] = {sizeof(packed), sizeof(unpacked)};
    for (int c = 0; c < 2; c++) {
        cfx_arena_t a;
        cfx_arena_init(&a);
        cfx_tensor_t t;
        cfx_error_t err;
        cfx_error_init(&err);
        assert_int_equal(decode(cases[c], lens[c], 100, &a, &t, &err), 0);
        assert_int_equal(t.cls, CFX_TENSOR_I64);
        assert_int_equal(t.n, 4);
        assert_int_equal(t.v.i64[0], 7);
        assert_int_equal(t.v.i64[1], 9);
        assert_int_equal(t.v.i64[2], 9);
        assert_int_equal(t.v.i64[3], 9);
        cfx_arena_free(&a);
    }
}

/* DT_INT32 [2] content ff ff ff ff 02 00 00 00 -> -1, 2 (sign extended). */
static void test_int32_content_sign(void **state) {
    (void)state;
    static const uint8_t b[] = {0x08, 0x03, 0x12, 0x04, 0x12, 0x02,
                                0x08, 0x02, 0x22, 0x08, 0xff, 0xff,
                                0xff, 0xff, 0x02, 0x00, 0x00, 0x00};
    cfx_arena_t a;
    cfx_arena_init(&a);
    cfx_tensor_t t;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(decode(b, sizeof(b), 100, &a, &t, &err), 0);
    assert_int_equal(t.v.i64[0], -1);
    assert_int_equal(t.v.i64[1], 2);
    cfx_arena_free(&a);
}

/* DT_STRING [3], string_val "a", "bc" -> a, bc, bc. A scalar (no shape)
 * with no values is one empty string. */
static void test_strings(void **state) {
    (void)state;
    static const uint8_t b[] = {0x08, 0x07, 0x12, 0x04, 0x12, 0x02, 0x08, 0x03,
                                0x42, 0x01, 0x61, 0x42, 0x02, 0x62, 0x63};
    cfx_arena_t a;
    cfx_arena_init(&a);
    cfx_tensor_t t;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(decode(b, sizeof(b), 100, &a, &t, &err), 0);
    assert_int_equal(t.n, 3);
    assert_string_equal((const char *)t.v.str[0].data, "a");
    assert_string_equal((const char *)t.v.str[1].data, "bc");
    assert_string_equal((const char *)t.v.str[2].data, "bc");
    static const uint8_t scalar[] = {0x08, 0x07};
    assert_int_equal(decode(scalar, sizeof(scalar), 100, &a, &t, &err), 0);
    assert_int_equal(t.rank, 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.v.str[0].len, 0);
    cfx_arena_free(&a);
}

static void test_errors(void **state) {
    (void)state;
    cfx_arena_t a;
    cfx_arena_init(&a);
    cfx_tensor_t t;
    cfx_error_t err;
    cfx_error_init(&err);
    /* Content of 3 bytes for DT_FLOAT [1]. */
    static const uint8_t short_content[] = {
        0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x01, 0x22, 0x03, 0, 0, 0};
    assert_int_equal(
        decode(short_content, sizeof(short_content), 100, &a, &t, &err),
        CFX_EINVAL);
    assert_non_null(strstr(err.msg, "tensor_content has 3 bytes"));
    /* Three int64 values for shape [2]. */
    static const uint8_t too_many[] = {0x08, 0x09, 0x12, 0x04, 0x12, 0x02, 0x08,
                                       0x02, 0x52, 0x03, 0x01, 0x02, 0x03};
    assert_int_equal(decode(too_many, sizeof(too_many), 100, &a, &t, &err),
                     CFX_EINVAL);
    /* Shape [2^40] with one float_val: refused before allocating. */
    static const uint8_t huge[] = {0x08, 0x01, 0x12, 0x09, 0x12, 0x07, 0x08,
                                   0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x2a,
                                   0x04, 0x00, 0x00, 0x80, 0x3f};
    assert_int_equal(decode(huge, sizeof(huge), 1000000, &a, &t, &err),
                     CFX_ETOOBIG);
    /* Dimension -1 (ten-byte varint). */
    static const uint8_t neg[] = {0x08, 0x01, 0x12, 0x0d, 0x12, 0x0b,
                                  0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(decode(neg, sizeof(neg), 100, &a, &t, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "-1"));
    /* DT_RESOURCE (20) is not a value type. */
    static const uint8_t res[] = {0x08, 0x14};
    assert_int_equal(decode(res, sizeof(res), 100, &a, &t, &err), CFX_EINVAL);
    cfx_arena_free(&a);
}

/* Encoding: float_val packs as field 5 wire type 2; as_content writes
 * little-endian bytes; both decode back to the same values. */
static void test_encode_roundtrip(void **state) {
    (void)state;
    cfx_arena_t a;
    cfx_arena_init(&a);
    const float v[3] = {0.25f, -1.0f, 8.5f};
    const int64_t dims[2] = {3, 1};
    for (int content = 0; content < 2; content++) {
        Tensorflow__TensorProto tp;
        assert_int_equal(cfx_grpc_tensor_encode(&tp, CFX_DT_FLOAT, dims, 2, v,
                                                3, content, &a),
                         0);
        uint8_t buf[64];
        size_t n = tensorflow__tensor_proto__pack(&tp, buf);
        /* dtype, shape {dim{3} dim{1}}, then the values. */
        static const uint8_t head[] = {0x08, 0x01, 0x12, 0x08, 0x12, 0x02,
                                       0x08, 0x03, 0x12, 0x02, 0x08, 0x01};
        assert_memory_equal(buf, head, sizeof(head));
        /* 0.25 = 0x3e800000, -1 = 0xbf800000, 8.5 = 0x41080000 */
        static const uint8_t vals[] = {0x00, 0x00, 0x80, 0x3e, 0x00, 0x00,
                                       0x80, 0xbf, 0x00, 0x00, 0x08, 0x41};
        assert_int_equal(n, sizeof(head) + 2 + sizeof(vals));
        assert_int_equal(buf[sizeof(head)], content ? 0x22 : 0x2a);
        assert_int_equal(buf[sizeof(head) + 1], 12);
        assert_memory_equal(buf + sizeof(head) + 2, vals, sizeof(vals));
        cfx_tensor_t t;
        cfx_error_t err;
        cfx_error_init(&err);
        assert_int_equal(decode(buf, n, 100, &a, &t, &err), 0);
        assert_int_equal(t.n, 3);
        assert_true(t.v.f32[0] == 0.25f && t.v.f32[1] == -1.0f &&
                    t.v.f32[2] == 8.5f);
    }
    cfx_arena_free(&a);
}

static void test_timeout(void **state) {
    (void)state;
    uint64_t ns;
    assert_int_equal(cfx_grpc_parse_timeout("100m", &ns), 0);
    assert_true(ns == 100000000ull);
    assert_int_equal(cfx_grpc_parse_timeout("5S", &ns), 0);
    assert_true(ns == 5000000000ull);
    assert_int_equal(cfx_grpc_parse_timeout("2H", &ns), 0);
    assert_true(ns == 7200000000000ull);
    assert_int_equal(cfx_grpc_parse_timeout("99999999n", &ns), 0);
    assert_true(ns == 99999999ull);
    /* 99999999 hours overflows 64-bit ns: capped, never wrapped. */
    assert_int_equal(cfx_grpc_parse_timeout("99999999H", &ns), 0);
    assert_true(ns == (1ull << 62));
    assert_int_equal(cfx_grpc_parse_timeout("123456789S", &ns), CFX_EINVAL);
    assert_int_equal(cfx_grpc_parse_timeout("10x", &ns), CFX_EINVAL);
    assert_int_equal(cfx_grpc_parse_timeout("m", &ns), CFX_EINVAL);
    assert_int_equal(cfx_grpc_parse_timeout("1.5S", &ns), CFX_EINVAL);
}

static void test_message_encoding(void **state) {
    (void)state;
    cfx_buf_t b;
    cfx_buf_init(&b);
    assert_int_equal(cfx_grpc_encode_message("50% done\n\xc3\xa9", &b), 0);
    assert_string_equal((const char *)b.data, "50%25 done%0A%C3%A9");
    char longmsg[1500];
    memset(longmsg, 'x', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    assert_int_equal(cfx_grpc_encode_message(longmsg, &b), 0);
    assert_int_equal(b.len, 1024 + strlen("...TRUNCATED"));
    assert_string_equal((const char *)b.data + 1024, "...TRUNCATED");
    cfx_buf_free(&b);
}

static void test_unframe(void **state) {
    (void)state;
    const uint8_t *m;
    size_t n;
    int code = 0, z = -1;
    cfx_error_t err;
    cfx_error_init(&err);
    static const uint8_t ok[] = {0, 0, 0, 0, 2, 0x08, 0x01};
    assert_int_equal(cfx_grpc_unframe(ok, sizeof(ok), &m, &n, &z, &code, &err),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(z, 0);
    assert_ptr_equal(m, ok + 5);
    static const uint8_t empty[] = {0, 0, 0, 0, 0};
    assert_int_equal(cfx_grpc_unframe(empty, 5, &m, &n, &z, &code, &err), 0);
    assert_int_equal(n, 0);
    assert_int_not_equal(cfx_grpc_unframe(ok, 4, &m, &n, &z, &code, &err), 0);
    assert_int_equal(code, 13);
    static const uint8_t longer[] = {0, 0, 0, 0, 9, 0x08, 0x01};
    assert_int_not_equal(
        cfx_grpc_unframe(longer, sizeof(longer), &m, &n, &z, &code, &err), 0);
    assert_int_equal(code, 13);
    static const uint8_t flag2[] = {2, 0, 0, 0, 0};
    assert_int_not_equal(cfx_grpc_unframe(flag2, 5, &m, &n, &z, &code, &err),
                         0);
    assert_int_equal(code, 13);
    static const uint8_t gz[] = {1, 0, 0, 0, 2, 0x08, 0x01};
    assert_int_equal(cfx_grpc_unframe(gz, sizeof(gz), &m, &n, &z, &code, &err),
                     0);
    assert_int_equal(z, 1);
}

/* Compressed bytes written by Python's gzip.compress(mtime=0) and
 * zlib.compress when this test was written. */
static void test_inflate(void **state) {
    (void)state;
    static const uint8_t gz_0801[] = {
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xe3,
        0x60, 0x04, 0x00, 0x61, 0xa8, 0x07, 0xfe, 0x02, 0x00, 0x00, 0x00};
    static const uint8_t zl_0801[] = {0x78, 0x9c, 0xe3, 0x60, 0x04,
                                      0x00, 0x00, 0x13, 0x00, 0x0a};
    /* 5000 zero bytes */
    static const uint8_t gz_zeros[] = {
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03,
        0xed, 0xc1, 0x31, 0x01, 0x00, 0x00, 0x00, 0xc2, 0xa0, 0xf5,
        0x4f, 0x6d, 0x0a, 0x3f, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x80,
        0xb7, 0x01, 0xa8, 0x0e, 0xe5, 0xd8, 0x88, 0x13, 0x00, 0x00};
    cfx_buf_t out;
    cfx_buf_init(&out);
    int code = 0;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_grpc_inflate("gzip", gz_0801, sizeof(gz_0801), 100,
                                      &out, &code, &err),
                     0);
    assert_int_equal(out.len, 2);
    assert_int_equal(out.data[0], 0x08);
    assert_int_equal(out.data[1], 0x01);
    assert_int_equal(cfx_grpc_inflate("deflate", zl_0801, sizeof(zl_0801), 100,
                                      &out, &code, &err),
                     0);
    assert_int_equal(out.len, 2);
    assert_int_equal(cfx_grpc_inflate("gzip", gz_zeros, sizeof(gz_zeros), 5000,
                                      &out, &code, &err),
                     0);
    assert_int_equal(out.len, 5000);
    /* A 40-byte message that inflates past the limit. */
    assert_int_not_equal(cfx_grpc_inflate("gzip", gz_zeros, sizeof(gz_zeros),
                                          4999, &out, &code, &err),
                         0);
    assert_int_equal(code, 8);
    assert_int_not_equal(
        cfx_grpc_inflate("gzip", gz_0801, 15, 100, &out, &code, &err), 0);
    assert_int_equal(code, 13);
    assert_int_not_equal(cfx_grpc_inflate("gzip", zl_0801, sizeof(zl_0801), 100,
                                          &out, &code, &err),
                         0);
    assert_int_equal(code, 13);
    assert_int_not_equal(cfx_grpc_inflate("snappy", zl_0801, sizeof(zl_0801),
                                          100, &out, &code, &err),
                         0);
    assert_int_equal(code, 12);
    assert_int_not_equal(
        cfx_grpc_inflate("", zl_0801, sizeof(zl_0801), 100, &out, &code, &err),
        0);
    assert_int_equal(code, 13);
    cfx_buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_content),
        cmocka_unit_test(test_int64_repeat_last),
        cmocka_unit_test(test_int32_content_sign),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_message_encoding),
        cmocka_unit_test(test_unframe),
        cmocka_unit_test(test_inflate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * json_tensor_test.c: TF Serving's float formatting, base64 and the JSON ->
 * tf.Example feature mapping of classify/regress and predict_raw.
 *
 * Golden strings were computed independently with Python 3:
 *   f = struct.unpack('f', struct.pack('f', x))[0]; s = '%.6g' % f
 *   if float32(s) != f: s = '%.9g' % f;  append '.0' if no '.', 'e', 'n'.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "formats/base64.h"
#include "serve/json_tensor.h"
#include "serve/service.h"

static void check_float(float v, const char *want) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    assert_int_equal(cfx_json_put_float(&b, v), 0);
    assert_int_equal(cfx_buf_cstr(&b), 0);
    if (strcmp((const char *)b.data, want) != 0)
        fail_msg("float %.9g: got %s, want %s", (double)v, (char *)b.data,
                 want);
    cfx_buf_free(&b);
}

static void test_float_format(void **state) {
    (void)state;
    check_float(0.5f, "0.5");
    check_float(1.0f, "1.0");
    check_float(0.1f, "0.1");
    check_float(1.0f / 3.0f, "0.333333343");
    check_float(1e20f, "1e+20");
    check_float(123456789.0f, "123456792.0");
    check_float(3.0f, "3.0");
    check_float(-2.5f, "-2.5");
    check_float(1e-7f, "1e-07");
    check_float(0.7310586f, "0.731058598");
    check_float(NAN, "NaN");
    check_float(INFINITY, "Infinity");
    check_float(-INFINITY, "-Infinity");
}

static void test_string_escape(void **state) {
    (void)state;
    cfx_buf_t b;
    cfx_buf_init(&b);
    const char s[] = "a\"b\\c\nd\x01";
    assert_int_equal(cfx_json_put_string(&b, s, sizeof(s) - 1), 0);
    cfx_buf_cstr(&b);
    assert_string_equal((char *)b.data, "\"a\\\"b\\\\c\\nd\\u0001\"");
    cfx_buf_free(&b);
}

static void test_b64(void **state) {
    (void)state;
    cfx_buf_t b;
    cfx_buf_init(&b);
    /* "hello" <-> "aGVsbG8=" (RFC 4648 test vectors style); the REST layer
     * decodes with formats/base64. */
    assert_int_equal(cfx_base64_decode("aGVsbG8=", 8, &b, NULL), 0);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "hello", 5);
    cfx_buf_reset(&b);
    assert_int_equal(cfx_base64_encode((const uint8_t *)"hello", 5, &b), 0);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.data, "aGVsbG8=", 8);
    cfx_buf_reset(&b);
    assert_int_equal(cfx_base64_encode((const uint8_t *)"fo", 2, &b), 0);
    assert_memory_equal(b.data, "Zm8=", 4);
    cfx_buf_reset(&b);
    assert_int_equal(cfx_base64_decode("a*==", 4, &b, NULL), CFX_EPARSE);
    cfx_buf_free(&b);
}

/* {"b64": ...} follows TF Serving's padding rule: none, or exact. */
static void test_b64_value_padding(void **state) {
    (void)state;
    static const struct {
        const char *json;
        int rc;
        const char *bytes;
    } cases[] = {
        {"{\"b64\": \"aGk=\"}", 1, "hi"},
        {"{\"b64\": \"aGk\"}", 1, "hi"},
        {"{\"b64\": \"Zg==\"}", 1, "f"},
        {"{\"b64\": \"Zg\"}", 1, "f"},
        {"{\"b64\": \"Zg=\"}", CFX_EINVAL, NULL},
        {"{\"b64\": \"Zg===\"}", CFX_EINVAL, NULL},
        {"{\"b64\": \"Zm9v=\"}", CFX_EINVAL, NULL},
        {"{\"b64\": \"a*==\"}", CFX_EINVAL, NULL},
        {"{\"b64\": 1}", CFX_EINVAL, NULL},
        {"{\"x\": \"aGk=\"}", 0, NULL},
    };
    cfx_buf_t b;
    cfx_buf_init(&b);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t je;
        json_t *v = json_loads(cases[i].json, 0, &je);
        assert_non_null(v);
        cfx_error_t err;
        cfx_error_init(&err);
        int rc = cfx_json_b64_value(v, &b, &err);
        json_decref(v);
        assert_int_equal(rc, cases[i].rc);
        if (cases[i].bytes) {
            assert_int_equal(b.len, strlen(cases[i].bytes));
            assert_memory_equal(b.data, cases[i].bytes, b.len);
        }
        if (rc < 0)
            assert_non_null(strstr(err.msg, "'b64' value"));
    }
    cfx_buf_free(&b);
}

static void test_example_mapping(void **state) {
    (void)state;
    json_error_t je;
    json_t *doc = json_loads("{\"i\": 1, \"f\": 1.0, \"s\": \"x\", "
                             "\"b\": {\"b64\": \"aGk=\"}, \"l\": [1, 2, 3], "
                             "\"t\": true, \"e\": [2.5, 1e3]}",
                             0, &je);
    assert_non_null(doc);
    cfx_example_t ex;
    cfx_example_init(&ex);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_json_object_to_example(doc, &ex, &err), 0);
    const cfx_feature_t *f = cfx_example_find(&ex, "i");
    assert_non_null(f);
    assert_int_equal(f->kind, CFX_KIND_INT64);
    assert_int_equal(f->v.ints[0], 1);
    f = cfx_example_find(&ex, "f");
    assert_int_equal(f->kind, CFX_KIND_FLOAT);
    assert_true(f->v.floats[0] == 1.0f);
    f = cfx_example_find(&ex, "s");
    assert_int_equal(f->kind, CFX_KIND_BYTES);
    assert_int_equal(f->v.bytes[0].len, 1);
    f = cfx_example_find(&ex, "b");
    assert_int_equal(f->kind, CFX_KIND_BYTES);
    assert_memory_equal(f->v.bytes[0].data, "hi", 2);
    f = cfx_example_find(&ex, "l");
    assert_int_equal(f->count, 3);
    assert_int_equal(f->v.ints[2], 3);
    f = cfx_example_find(&ex, "t");
    assert_int_equal(f->kind, CFX_KIND_INT64);
    assert_int_equal(f->v.ints[0], 1);
    f = cfx_example_find(&ex, "e");
    assert_int_equal(f->kind, CFX_KIND_FLOAT);
    assert_true(f->v.floats[1] == 1000.0f);
    json_decref(doc);

    const char *bad[] = {"{\"m\": [1, \"x\"]}", "{\"n\": null}",
                         "{\"o\": [[1]]}", "{\"p\": {\"q\": 1}}"};
    for (size_t i = 0; i < 4; i++) {
        doc = json_loads(bad[i], 0, &je);
        assert_non_null(doc);
        cfx_example_reset(&ex);
        assert_int_equal(cfx_json_object_to_example(doc, &ex, &err),
                         CFX_EINVAL);
        json_decref(doc);
    }
    assert_non_null(strstr(err.msg, "p"));
    cfx_example_free(&ex);
}

static void test_typed(void **state) {
    (void)state;
    cfx_example_t ex;
    cfx_example_init(&ex);
    cfx_error_t err;
    cfx_error_init(&err);
    json_t *one = json_integer(3), *real = json_real(1.5),
           *str = json_string("x");
    assert_int_equal(cfx_json_add_typed(&ex, "a", CFX_DT_INT64, one, &err), 0);
    assert_int_equal(cfx_json_add_typed(&ex, "b", CFX_DT_FLOAT, one, &err), 0);
    assert_int_equal(cfx_example_find(&ex, "b")->kind, CFX_KIND_FLOAT);
    assert_true(cfx_example_find(&ex, "b")->v.floats[0] == 3.0f);
    assert_int_equal(cfx_json_add_typed(&ex, "c", CFX_DT_INT64, real, &err),
                     CFX_EINVAL);
    assert_string_equal(err.msg, "JSON Value: 1.5 Type: Number is not of "
                                 "expected type: int64 (input c)");
    assert_int_equal(cfx_json_add_typed(&ex, "d", CFX_DT_FLOAT, str, &err),
                     CFX_EINVAL);
    assert_int_equal(cfx_json_add_typed(&ex, "e", CFX_DT_STRING, str, &err), 0);
    json_decref(one);
    json_decref(real);
    json_decref(str);
    cfx_example_free(&ex);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_format),
        cmocka_unit_test(test_string_escape),
        cmocka_unit_test(test_b64),
        cmocka_unit_test(test_b64_value_padding),
        cmocka_unit_test(test_example_mapping),
        cmocka_unit_test(test_typed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* dtype_test.c: the TensorFlow dtype and tf.Example kind name tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "formats/dtype.h"

/* The numbers of tensorflow/core/framework/types.proto. */
static const struct {
    int dtype;
    const char *name, *word;
} all[] = {
    {1, "DT_FLOAT", "float"},    {2, "DT_DOUBLE", "double"},
    {3, "DT_INT32", "int32"},    {4, "DT_UINT8", "uint8"},
    {5, "DT_INT16", "int16"},    {6, "DT_INT8", "int8"},
    {7, "DT_STRING", "string"},  {9, "DT_INT64", "int64"},
    {10, "DT_BOOL", "bool"},     {22, "DT_UINT32", "uint32"},
    {23, "DT_UINT64", "uint64"},
};

static void test_names_round_trip(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        assert_string_equal(cfx_dtype_name(all[i].dtype), all[i].name);
        assert_string_equal(cfx_dtype_word(all[i].dtype), all[i].word);
        assert_int_equal(cfx_dtype_parse(all[i].name), all[i].dtype);
    }
    assert_int_equal(CFX_DT_FLOAT, 1);
    assert_int_equal(CFX_DT_STRING, 7);
    assert_int_equal(CFX_DT_INT64, 9);
}

static void test_unknown(void **state) {
    (void)state;
    static const int bad[] = {0, 8, 11, 14, 21, 24, -1, 101};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_string_equal(cfx_dtype_name(bad[i]), "DT_INVALID");
        assert_string_equal(cfx_dtype_word(bad[i]), "invalid");
    }
    assert_int_equal(cfx_dtype_parse(NULL), CFX_DT_INVALID);
    assert_int_equal(cfx_dtype_parse(""), CFX_DT_INVALID);
    assert_int_equal(cfx_dtype_parse("DT_INVALID"), CFX_DT_INVALID);
    assert_int_equal(cfx_dtype_parse("dt_float"), CFX_DT_INVALID);
    assert_int_equal(cfx_dtype_parse("DT_FLOAT "), CFX_DT_INVALID);
    assert_int_equal(cfx_dtype_parse("float"), CFX_DT_INVALID);
}

static void test_kinds(void **state) {
    (void)state;
    assert_int_equal(cfx_dtype_of_kind(CFX_KIND_INT64), CFX_DT_INT64);
    assert_int_equal(cfx_dtype_of_kind(CFX_KIND_FLOAT), CFX_DT_FLOAT);
    assert_int_equal(cfx_dtype_of_kind(CFX_KIND_BYTES), CFX_DT_STRING);
    assert_int_equal(cfx_dtype_to_kind(CFX_DT_INT64), CFX_KIND_INT64);
    assert_int_equal(cfx_dtype_to_kind(CFX_DT_FLOAT), CFX_KIND_FLOAT);
    assert_int_equal(cfx_dtype_to_kind(CFX_DT_STRING), CFX_KIND_BYTES);
    assert_int_equal(cfx_dtype_to_kind(CFX_DT_DOUBLE), CFX_KIND_BYTES);

    assert_string_equal(cfx_dtype_kind_name(CFX_KIND_INT64), "int64");
    assert_string_equal(cfx_dtype_kind_name(CFX_KIND_FLOAT), "float");
    assert_string_equal(cfx_dtype_kind_name(CFX_KIND_BYTES), "bytes");
    assert_string_equal(cfx_dtype_kind_name(CFX_KIND_NONE), "none");

    cfx_kind_t k = CFX_KIND_NONE;
    assert_int_equal(cfx_dtype_kind_parse("int64", &k), 0);
    assert_int_equal(k, CFX_KIND_INT64);
    assert_int_equal(cfx_dtype_kind_parse("float", &k), 0);
    assert_int_equal(k, CFX_KIND_FLOAT);
    assert_int_equal(cfx_dtype_kind_parse("bytes", &k), 0);
    assert_int_equal(k, CFX_KIND_BYTES);
    /* Refused names leave *k as it was. */
    assert_int_equal(cfx_dtype_kind_parse("string", &k), CFX_EINVAL);
    assert_int_equal(cfx_dtype_kind_parse("none", &k), CFX_EINVAL);
    assert_int_equal(cfx_dtype_kind_parse("Int64", &k), CFX_EINVAL);
    assert_int_equal(cfx_dtype_kind_parse(NULL, &k), CFX_EINVAL);
    assert_int_equal(k, CFX_KIND_BYTES);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

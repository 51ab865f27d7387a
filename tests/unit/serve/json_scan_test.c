/*
 * json_scan_test.c: the REST request JSON reader (serve/json_scan.h).
 *
 * Expected errors and offsets follow RapidJSON's iterative parser as TF
 * Serving runs it (kParseIterativeFlag | kParseNanAndInfFlag |
 * kParseStopWhenDoneFlag), worked out by hand from its state table: the
 * state that meets an unexpected token names the error, at the offset of
 * that token; errors inside a string or number are at the offending byte
 * (an escape's backslash for escape errors, the number's start for "too
 * big").
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "serve/json_scan.h"

static void expect(const char *doc, cfx_jerr_t want, size_t at) {
    size_t end = 12345;
    cfx_jerr_t got = cfx_jscan_validate(doc, strlen(doc), &end);
    if (got != want || end != at)
        fail_msg("%s: got %d at %zu (%s), want %d at %zu", doc, got, end,
                 cfx_jscan_error_text(got), want, at);
}

static void test_validate(void **state) {
    (void)state;
    expect("{}", CFX_JERR_NONE, 2);
    expect(" {\"a\": [1, -2.5e3, true, false, null, \"x\"]} ", CFX_JERR_NONE,
           43);
    expect("{\"a\": [NaN, Infinity, -Infinity, Inf, -Inf]}", CFX_JERR_NONE, 44);
    expect("{\"a\": 1}trailing", CFX_JERR_NONE, 8); /* stops after the root */
    expect("[1]", CFX_JERR_NONE, 3);
    /* strings longer than a word, specials at every position of one */
    expect("{\"signature_name\":\"predict_raw\",\"instances\":[1]}",
           CFX_JERR_NONE, 48);
    expect("[\"0123456789abcdef\\n0123456\\\"x\"]", CFX_JERR_NONE, 32);
    expect("[\"0123456789abcdef\x01\"]", CFX_JERR_STRING_INVALID_ENCODING, 18);
    expect("[\"01234567\xc3\xa9\xff\x80"
           "abcdefgh\"]",
           CFX_JERR_NONE, 24);
    expect("5", CFX_JERR_NONE, 1);
    expect("   ", CFX_JERR_DOCUMENT_EMPTY, 3);
    expect("]", CFX_JERR_DOCUMENT_EMPTY, 0);
    expect("instances = [1, 2]", CFX_JERR_VALUE_INVALID, 0);
    expect("{\"a\" 1}", CFX_JERR_OBJECT_MISS_COLON, 5);
    expect("{1: 2}", CFX_JERR_OBJECT_MISS_NAME, 1);
    expect("{\"a\": 1,}", CFX_JERR_OBJECT_MISS_NAME, 8);
    expect("{\"a\": 1 \"b\"}", CFX_JERR_OBJECT_MISS_COMMA_OR_CURLY_BRACKET, 8);
    expect("[1 2]", CFX_JERR_ARRAY_MISS_COMMA_OR_SQUARE_BRACKET, 3);
    expect("[1,]", CFX_JERR_VALUE_INVALID, 3);
    expect("[1", CFX_JERR_ARRAY_MISS_COMMA_OR_SQUARE_BRACKET, 2);
    expect("{\"a\":", CFX_JERR_VALUE_INVALID, 5);
    expect("[}", CFX_JERR_VALUE_INVALID, 1);
    expect("[tru]", CFX_JERR_VALUE_INVALID, 4);
    expect("[nul", CFX_JERR_VALUE_INVALID, 4);
    expect("[-]", CFX_JERR_VALUE_INVALID, 2);
    expect("[Nan]", CFX_JERR_VALUE_INVALID, 3);
    expect("[Infin]", CFX_JERR_VALUE_INVALID, 6);
    expect("[1.]", CFX_JERR_NUMBER_MISS_FRACTION, 3);
    expect("[1e]", CFX_JERR_NUMBER_MISS_EXPONENT, 3);
    expect("[1e400]", CFX_JERR_NUMBER_TOO_BIG, 1);
    expect("[01]", CFX_JERR_ARRAY_MISS_COMMA_OR_SQUARE_BRACKET, 2);
    expect("[\"a\\x\"]", CFX_JERR_STRING_ESCAPE_INVALID, 3);
    expect("[\"\\u12g4\"]", CFX_JERR_STRING_UNICODE_ESCAPE_INVALID_HEX, 2);
    expect("[\"\\ud800x\"]", CFX_JERR_STRING_UNICODE_SURROGATE_INVALID, 2);
    expect("[\"\\ud800\\u0041\"]", CFX_JERR_STRING_UNICODE_SURROGATE_INVALID,
           2);
    expect("[\"a\tb\"]", CFX_JERR_STRING_INVALID_ENCODING, 3);
    expect("[\"abc", CFX_JERR_STRING_MISS_QUOTATION_MARK, 5);
    /* a NUL byte ends the input for RapidJSON */
    size_t end;
    assert_int_equal(cfx_jscan_validate("{\"a\":1\0}", 8, &end),
                     CFX_JERR_OBJECT_MISS_COMMA_OR_CURLY_BRACKET);
    assert_int_equal(end, 6);
    assert_string_equal(cfx_jscan_error_text(CFX_JERR_VALUE_INVALID),
                        "Invalid value.");
}

static void test_deep(void **state) {
    (void)state;
    size_t n = 500000, len = 2 * n + 2;
    char *doc = malloc(len + 1);
    assert_non_null(doc);
    doc[0] = '[';
    memset(doc + 1, '[', n);
    memset(doc + 1 + n, ']', n);
    doc[len - 1] = ']';
    doc[len] = 0;
    size_t end;
    assert_int_equal(cfx_jscan_validate(doc, len, &end), CFX_JERR_NONE);
    assert_int_equal(end, len);
    assert_ptr_equal(cfx_jscan_skip(doc), doc + len);
    assert_int_equal(cfx_jscan_array_size(doc), 1);
    doc[len - 1] = '}'; /* mismatched closing at the very end */
    assert_int_equal(cfx_jscan_validate(doc, len, &end),
                     CFX_JERR_ARRAY_MISS_COMMA_OR_SQUARE_BRACKET);
    assert_int_equal(end, len - 1);
    free(doc);
}

static void test_top_members(void **state) {
    (void)state;
    const char *doc =
        "{\"a\": [1, [2, 3], {\"x\": [4]}], \"b\" : {\"c\": [5]}, "
        "\"d\": [], \"a\": 7}";
    cfx_jtop_t top;
    size_t end;
    assert_int_equal(cfx_jscan_validate_top(doc, strlen(doc), &end, &top),
                     CFX_JERR_NONE);
    assert_int_equal(top.n, 4);
    assert_false(top.more);
    assert_int_equal(top.m[0].key, 1);
    assert_int_equal(doc[top.m[0].value], '[');
    assert_int_equal(top.m[0].count, 3);
    assert_int_equal(doc[top.m[1].value], '{');
    assert_int_equal(top.m[2].count, 0);
    assert_int_equal(doc[top.m[3].value], '7');
    char many[400];
    size_t n = 0;
    many[n++] = '{';
    for (int i = 0; i < CFX_JSCAN_TOP_MAX + 1; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "%s\"k%d\": %d",
                              i ? ", " : "", i, i);
    many[n++] = '}';
    assert_int_equal(cfx_jscan_validate_top(many, n, &end, &top),
                     CFX_JERR_NONE);
    assert_true(top.more);
}

static void test_numbers(void **state) {
    (void)state;
    cfx_jnum_t n;
    cfx_jscan_number("42,", &n);
    assert_int_equal(n.kind, CFX_JNUM_INT64);
    assert_int_equal(n.i, 42);
    cfx_jscan_number("-9223372036854775808]", &n);
    assert_int_equal(n.kind, CFX_JNUM_INT64);
    assert_true(n.i == INT64_MIN);
    cfx_jscan_number("18446744073709551603}", &n);
    assert_int_equal(n.kind, CFX_JNUM_UINT64);
    assert_true(n.u == 18446744073709551603ull);
    cfx_jscan_number("18446744073709551616]", &n); /* beyond 64 bits */
    assert_int_equal(n.kind, CFX_JNUM_DOUBLE);
    assert_true(n.d == 18446744073709551616.0);
    cfx_jscan_number("-0]", &n);
    assert_int_equal(n.kind, CFX_JNUM_INT64);
    assert_int_equal(n.i, 0);
    const char *e = cfx_jscan_number("1.0e2,", &n);
    assert_int_equal(n.kind, CFX_JNUM_DOUBLE);
    assert_true(n.d == 100.0);
    assert_int_equal(*e, ',');
    cfx_jscan_number("-Infinity]", &n);
    assert_true(n.kind == CFX_JNUM_DOUBLE && n.d == -INFINITY);
    cfx_jscan_number("NaN]", &n);
    assert_true(isnan(n.d));
}

static void test_strings(void **state) {
    (void)state;
    cfx_buf_t s;
    cfx_buf_init(&s);
    const char *v;
    size_t len;
    const char *doc = "\"plain\" ";
    const char *e = cfx_jscan_string(doc, &s, &v, &len);
    assert_ptr_equal(v, doc + 1); /* in place */
    assert_int_equal(len, 5);
    assert_int_equal(*e, ' ');
    cfx_jscan_string("\"a\\n\\u00e9\\ud83d\\ude00\\/\"", &s, &v, &len);
    assert_int_equal(len, 1 + 1 + 2 + 4 + 1);
    assert_memory_equal(v, "a\n\xc3\xa9\xf0\x9f\x98\x80/", len);
    cfx_buf_reset(&s);
    const char *raw = "a\"\\\b\f\n\r\t\x01\x1f\xc3\xa9/";
    cfx_jscan_put_string(&s, raw, strlen(raw));
    cfx_buf_cstr(&s);
    assert_string_equal((char *)s.data,
                        "\"a\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001F"
                        "\xc3\xa9/\"");
    cfx_buf_free(&s);
}

static void debug(const char *doc, const char *want) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    assert_int_equal(cfx_jscan_debug_string(doc, &b), 0);
    cfx_buf_cstr(&b);
    if (strcmp((char *)b.data, want) != 0)
        fail_msg("%s: got [%s], want [%s]", doc, (char *)b.data, want);
    cfx_buf_free(&b);
}

static void test_debug_string(void **state) {
    (void)state;
    /* PrettyWriter, arrays on one line, 4 spaces per open container (an
     * object in an array in an object: 3 levels, 12 spaces) */
    debug(
        "{\"instances\" : [1, 2.50, {\"b\": null}], \"x\": {}}",
        "{\n    \"instances\": [1, 2.5, {\n            \"b\": null\n        }],"
        "\n    \"x\": {}\n}");
    debug("[1e2, 1e-7, 0.001, 12345678901234567890123, -0.0, true]",
          "[100.0, 1e-7, 0.001, 1.2345678901234568e22, -0.0, true]");
    debug("\"a\\u0001\"", "\"a\\u0001\"");
    debug("[1, NaN, 2]", "[1, "); /* the writer refuses NaN: cut there */
    /* cut at the first event once 256 bytes are written */
    char doc[700], want[300];
    size_t n = 0;
    doc[n++] = '[';
    for (int i = 0; i < 200; i++) {
        if (i)
            doc[n++] = ',';
        doc[n++] = '7';
    }
    doc[n++] = ']';
    doc[n] = 0;
    /* "[" then "7" and 127 times ", 7": 1 + 1 + 127 * 3 = 383 > 256; the
     * events stop once 256 are written: "[7" plus 85 ", 7" is 257. */
    n = 0;
    want[n++] = '[';
    want[n++] = '7';
    for (int i = 0; i < 85; i++) {
        memcpy(want + n, ", 7", 3);
        n += 3;
    }
    want[n] = 0;
    debug(doc, want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate),    cmocka_unit_test(test_deep),
        cmocka_unit_test(test_top_members), cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),     cmocka_unit_test(test_debug_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* buf_test.c: the growable buffer's UTF-8 encoding (cfx_buf_utf8_encode,
 * cfx_buf_put_utf8), against Python's str.encode("utf-8") of the same code
 * points: the first and last of each length, and two in between. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "formats/buf.h"

static const struct {
    uint32_t cp;
    size_t n;
    uint8_t bytes[4];
} utf8_cases[] = {
    {0x24, 1, {0x24}},
    {0x7F, 1, {0x7F}},
    {0x80, 2, {0xC2, 0x80}},
    {0xA2, 2, {0xC2, 0xA2}},
    {0x7FF, 2, {0xDF, 0xBF}},
    {0x800, 3, {0xE0, 0xA0, 0x80}},
    {0x20AC, 3, {0xE2, 0x82, 0xAC}},
    {0xFFFF, 3, {0xEF, 0xBF, 0xBF}},
    {0x10000, 4, {0xF0, 0x90, 0x80, 0x80}},
    {0x10348, 4, {0xF0, 0x90, 0x8D, 0x88}},
    {0x10FFFF, 4, {0xF4, 0x8F, 0xBF, 0xBF}},
};

static void test_utf8_encode(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        uint8_t out[4] = {0};
        assert_int_equal(cfx_buf_utf8_encode(utf8_cases[i].cp, out),
                         utf8_cases[i].n);
        assert_memory_equal(out, utf8_cases[i].bytes, utf8_cases[i].n);
    }
}

static void test_put_utf8_appends(void **state) {
    (void)state;
    cfx_buf_t b;
    cfx_buf_init(&b);
    assert_int_equal(cfx_buf_append(&b, "x", 1), 0);
    size_t want = 1;
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        assert_int_equal(cfx_buf_put_utf8(&b, utf8_cases[i].cp), 0);
        assert_memory_equal(b.data + want, utf8_cases[i].bytes,
                            utf8_cases[i].n);
        want += utf8_cases[i].n;
    }
    assert_int_equal(b.len, want);
    assert_int_equal(b.data[0], 'x');
    cfx_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_encode),
        cmocka_unit_test(test_put_utf8_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

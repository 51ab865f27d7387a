/* le_test.c: little-endian byte helpers and the bounds-checked reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "formats/le.h"

static void test_bytes(void **state) {
    (void)state;
    uint8_t b[8];
    cfx_le_put64(b, 0x0102030405060708ull);
    const uint8_t want64[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    assert_memory_equal(b, want64, 8);
    assert_true(cfx_le_get64(b) == 0x0102030405060708ull);
    cfx_le_put32(b, 0xA1B2C3D4u);
    const uint8_t want32[4] = {0xD4, 0xC3, 0xB2, 0xA1};
    assert_memory_equal(b, want32, 4);
    assert_true(cfx_le_get32(b) == 0xA1B2C3D4u);
    /* High bits survive (no sign extension from uint8_t promotion). */
    memset(b, 0xFF, 8);
    assert_true(cfx_le_get64(b) == UINT64_MAX);
    assert_true(cfx_le_get32(b) == UINT32_MAX);
}

static void test_append_and_read(void **state) {
    (void)state;
    cfx_buf_t b;
    cfx_buf_init(&b);
    assert_int_equal(cfx_le_append_u64(&b, 42), 0);
    /* 1.5 is 0x3FF8000000000000 in IEEE-754 binary64. */
    assert_int_equal(cfx_le_append_f64(&b, 1.5), 0);
    assert_int_equal(cfx_buf_append(&b, "abc", 3), 0);
    assert_int_equal(b.len, 19);
    const uint8_t f15[8] = {0, 0, 0, 0, 0, 0, 0xF8, 0x3F};
    assert_memory_equal(b.data + 8, f15, 8);

    cfx_le_reader_t r;
    cfx_le_reader_init(&r, b.data, b.len);
    assert_true(cfx_le_read_u64(&r) == 42);
    assert_true(cfx_le_read_f64(&r) == 1.5);
    const uint8_t *s = cfx_le_read_bytes(&r, 3);
    assert_non_null(s);
    assert_memory_equal(s, "abc", 3);
    assert_int_equal(r.off, 19);
    assert_false(r.bad);
    /* Past the end: zero, sticky bad, offset unchanged. */
    assert_true(cfx_le_read_u64(&r) == 0);
    assert_true(r.bad);
    assert_int_equal(r.off, 19);

    /* A short tail (3 bytes) is not a u64; a huge length is refused. */
    cfx_le_reader_init(&r, b.data, 11);
    assert_true(cfx_le_read_u64(&r) == 42);
    assert_true(cfx_le_read_u64(&r) == 0);
    assert_true(r.bad);
    cfx_le_reader_init(&r, b.data, b.len);
    assert_null(cfx_le_read_bytes(&r, UINT64_MAX));
    assert_true(r.bad);
    /* Once bad, even a read that would fit yields nothing. */
    assert_null(cfx_le_read_bytes(&r, 1));
    cfx_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_append_and_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

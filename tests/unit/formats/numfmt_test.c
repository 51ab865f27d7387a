/*
 * numfmt_test.c: exact float formatting and fast decimal parsing against
 * the C library as the independent reference: "%.<p>g" of glibc's printf
 * (exact, ties to even) for every precision 1..9 over random float bit
 * patterns and edge values, TF Serving's rule built from printf and strtof,
 * and strtod for decimal parsing.
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

#include "formats/numfmt.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* TF Serving's rule from the C library. */
static void tf_reference(float v, char *out, size_t cap) {
    snprintf(out, cap, "%.6g", (double)v);
    if (strtof(out, NULL) != v)
        snprintf(out, cap, "%.9g", (double)v);
    if (!strpbrk(out, ".e"))
        strcat(out, ".0");
}

static void check(float v) {
    char a[CFX_NUMFMT_MAX], b[64];
    for (int p = 1; p <= 9; p++) {
        cfx_numfmt_float_g(v, p, a);
        snprintf(b, sizeof(b), "%.*g", p, (double)v);
        if (strcmp(a, b) != 0)
            fail_msg("%a with %%.%dg: got %s, printf %s", (double)v, p, a, b);
    }
    cfx_numfmt_tf_float(v, a);
    tf_reference(v, b, sizeof(b));
    if (strcmp(a, b) != 0)
        fail_msg("%a: TF rule got %s, want %s", (double)v, a, b);
}

static void test_random_floats(void **state) {
    (void)state;
    for (int i = 0; i < 200000; i++) {
        uint32_t bits = (uint32_t)next();
        float v;
        memcpy(&v, &bits, sizeof(v));
        if (isfinite(v))
            check(v);
    }
    /* probabilities, the usual answer */
    for (int i = 0; i < 100000; i++)
        check((float)((double)(next() >> 11) / 9007199254740992.0));
}

static void test_edges(void **state) {
    (void)state;
    static const float edge[] = {
        0.0f,          -0.0f,       1e-45f,     1.17549435e-38f,
        3.4028235e38f, 0.5f,        0.1f,       1.0f,
        9000000.0f,    0.00003f,    999999.5f,  123456.5f,
        1e10f,         100000.0f,   1000000.0f, 0.0001f,
        9.999995e-5f,  16777216.0f, 0.3f};
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        check(edge[i]);
        check(-edge[i]);
    }
    char a[CFX_NUMFMT_MAX];
    cfx_numfmt_tf_float(NAN, a);
    assert_string_equal(a, "NaN");
    cfx_numfmt_tf_float(INFINITY, a);
    assert_string_equal(a, "Infinity");
    cfx_numfmt_tf_float(-INFINITY, a);
    assert_string_equal(a, "-Infinity");
    /* hand-checked: 6 digits read back / do not */
    cfx_numfmt_tf_float(0.5f, a);
    assert_string_equal(a, "0.5");
    cfx_numfmt_tf_float(9000000.0f, a);
    assert_string_equal(a, "9e+06");
    cfx_numfmt_tf_float(1.0f / 3.0f, a);
    assert_string_equal(a, "0.333333343");
    cfx_numfmt_tf_float(-0.0f, a);
    assert_string_equal(a, "-0.0");
}

static void check_parse(const char *s) {
    double a = cfx_numfmt_parse_double(s, strlen(s));
    double b = strtod(s, NULL);
    if (memcmp(&a, &b, sizeof(a)) != 0 && !(isnan(a) && isnan(b)))
        fail_msg("%s: got %.17g, strtod %.17g", s, a, b);
}

static void test_parse(void **state) {
    (void)state;
    static const char *cases[] = {"0",
                                  "-0",
                                  "0.0",
                                  "-0.0",
                                  "1",
                                  "0.1",
                                  "1.5",
                                  "16.65",
                                  "-87.72156",
                                  "41.968067",
                                  "1e22",
                                  "1e23",
                                  "9007199254740993",
                                  "123456789012345678901234",
                                  "4.9e-324",
                                  "2.2250738585072014e-308",
                                  "1.7976931348623157e308",
                                  "1e400",
                                  "-1e400",
                                  "1e-400",
                                  "0.000001",
                                  "1E5",
                                  "1e+5",
                                  "12.5e-3",
                                  "0.30000000000000004",
                                  "00",
                                  "1234567890123456789",
                                  "12345678901234567890"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_parse(cases[i]);
    char buf[64];
    for (int i = 0; i < 100000; i++) {
        uint64_t r = next();
        int digits = 1 + (int)(r % 20), frac = (int)((r >> 8) % 12);
        int ex = (int)((r >> 16) % 80) - 40;
        size_t n = 0;
        if (r >> 63)
            buf[n++] = '-';
        for (int d = 0; d < digits; d++)
            buf[n++] = (char)('0' + next() % 10);
        if (frac) {
            buf[n++] = '.';
            for (int d = 0; d < frac; d++)
                buf[n++] = (char)('0' + next() % 10);
        }
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "e%d", ex);
        check_parse(buf);
    }
    assert_true(isnan(cfx_numfmt_parse_double("NaN", 3)));
    assert_true(cfx_numfmt_parse_double("-Infinity", 9) == -INFINITY);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_floats),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

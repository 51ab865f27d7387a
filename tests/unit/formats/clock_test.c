/* clock_test.c: the monotonic clock's units agree and time moves forward. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "formats/clock.h"

static void sleep_ns(long ns) {
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Each unit's reading lies between two nanosecond readings taken around it,
 * once the nanoseconds are truncated to that unit. */
static void test_units_agree(void **state) {
    (void)state;
    uint64_t a = cfx_clock_mono_ns();
    uint64_t us = cfx_clock_mono_us();
    uint64_t ms = cfx_clock_mono_ms();
    double s = cfx_clock_mono_s();
    uint64_t b = cfx_clock_mono_ns();
    assert_true(a <= b);
    assert_true(a / 1000u <= us && us <= b / 1000u);
    assert_true(a / 1000000u <= ms && ms <= b / 1000000u);
    /* A double holds ~15 significant digits: seconds since boot keep
     * sub-microsecond precision. */
    assert_true(s >= (double)a / 1e9 - 1e-6 && s <= (double)b / 1e9 + 1e-6);
}

static void test_never_goes_back(void **state) {
    (void)state;
    uint64_t prev = cfx_clock_mono_ns();
    for (int i = 0; i < 10000; i++) {
        uint64_t t = cfx_clock_mono_ns();
        assert_true(t >= prev);
        prev = t;
    }
}

/* A 20 ms sleep reads as at least 20 ms in every unit (and not absurdly
 * more: 5 s allows for a loaded CI machine). */
static void test_measures_a_sleep(void **state) {
    (void)state;
    uint64_t ns0 = cfx_clock_mono_ns(), us0 = cfx_clock_mono_us();
    uint64_t ms0 = cfx_clock_mono_ms();
    double s0 = cfx_clock_mono_s();
    sleep_ns(20 * 1000000L);
    uint64_t dns = cfx_clock_mono_ns() - ns0;
    uint64_t dus = cfx_clock_mono_us() - us0;
    uint64_t dms = cfx_clock_mono_ms() - ms0;
    double ds = cfx_clock_mono_s() - s0;
    assert_true(dns >= 20000000u && dns < 5000000000u);
    assert_true(dus >= 20000u && dus < 5000000u);
    assert_true(dms >= 20u && dms < 5000u);
    assert_true(ds >= 0.020 && ds < 5.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_units_agree),
        cmocka_unit_test(test_never_goes_back),
        cmocka_unit_test(test_measures_a_sleep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

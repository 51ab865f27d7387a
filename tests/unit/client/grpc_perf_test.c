/* grpc_perf_test.c: the pieces of `cfx perf` that need no server: the
 * log-bucketed histogram (client/perf_hist.c) against exact quantiles of
 * known inputs, and the option parsers of client/perf.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/perf.h"
#include "client/perf_hist.h"

static void assert_rel(uint64_t got, double want, double tol) {
    double d = (double)got - want;
    if (d < 0)
        d = -d;
    if (d > tol * want)
        fail_msg("got %llu, want %.0f (tolerance %.3f relative)",
                 (unsigned long long)got, want, tol);
}

/* 1..100000 ns once each: the exact q-quantile is q * 100000; buckets are
 * 1/64 of a power of two wide, so the reported middle is within 1/128. */
static void test_hist_quantiles(void **state) {
    (void)state;
    static cfx_hist_t h;
    cfx_hist_init(&h);
    for (uint64_t v = 1; v <= 100000; v++)
        cfx_hist_record(&h, v);
    assert_int_equal(h.count, 100000);
    assert_rel(cfx_hist_quantile(&h, 0.5), 50000, 1.0 / 128);
    assert_rel(cfx_hist_quantile(&h, 0.9), 90000, 1.0 / 128);
    assert_rel(cfx_hist_quantile(&h, 0.99), 99000, 1.0 / 128);
    assert_rel(cfx_hist_quantile(&h, 0.999), 99900, 1.0 / 128);
    assert_int_equal(cfx_hist_quantile(&h, 1.0), 100000);
    /* Below 128 ns buckets are exact. */
    cfx_hist_init(&h);
    cfx_hist_record(&h, 5);
    cfx_hist_record(&h, 5);
    cfx_hist_record(&h, 7);
    assert_int_equal(cfx_hist_quantile(&h, 0.5), 5);
    assert_int_equal(cfx_hist_quantile(&h, 0.9), 7);
    /* Huge values stay in range. */
    cfx_hist_record(&h, UINT64_MAX / 2);
    assert_int_equal(cfx_hist_quantile(&h, 1.0), UINT64_MAX / 2);
}

static void test_hist_merge(void **state) {
    (void)state;
    static cfx_hist_t a, b, all;
    cfx_hist_init(&a);
    cfx_hist_init(&b);
    cfx_hist_init(&all);
    for (uint64_t v = 1000; v < 3000; v += 7) {
        cfx_hist_record(v % 2 ? &a : &b, v);
        cfx_hist_record(&all, v);
    }
    cfx_hist_merge(&a, &b);
    assert_int_equal(a.count, all.count);
    assert_int_equal(a.max, all.max);
    assert_int_equal(a.min, all.min);
    assert_memory_equal(a.b, all.b, sizeof(a.b));
}

/* wrk's closed-loop correction, by hand: 9 requests of 50 us and one of
 * 10 ms, expected interval 1 ms. The 10 ms one adds 9, 8, ..., 2 ms (1 ms
 * is not above the interval): 18 samples, 50 us x 9 then 2, 3, ..., 10 ms.
 * So p50 = 50 us (rank 9), p75 = 6 ms (rank 14), p90 = 9 ms (rank 17),
 * max 10 ms, mean
 * (9 * 0.05 + 2 + 3 + ... + 10) / 18 = 54.45 / 18 = 3.025 ms. */
static void test_hist_correct(void **state) {
    (void)state;
    static cfx_hist_t h, c;
    cfx_hist_init(&h);
    for (int i = 0; i < 9; i++)
        cfx_hist_record(&h, 50000);
    cfx_hist_record(&h, 10000000);
    cfx_hist_correct(&c, &h, 1000000);
    assert_int_equal(c.count, 18);
    assert_rel(cfx_hist_quantile(&c, 0.5), 50000, 1.0 / 128);
    assert_rel(cfx_hist_quantile(&c, 0.75), 6000000, 1.0 / 128);
    assert_rel(cfx_hist_quantile(&c, 0.9), 9000000, 1.0 / 128);
    assert_int_equal(cfx_hist_quantile(&c, 1.0), 10000000);
    assert_rel((uint64_t)(c.sum / (double)c.count), 3025000, 1e-9);
    /* The source is untouched: 90% of it is 50 us. */
    assert_int_equal(h.count, 10);
    assert_rel(cfx_hist_quantile(&h, 0.9), 50000, 1.0 / 128);
    /* Exactly twice the interval adds nothing (wrk: only above it). */
    cfx_hist_init(&h);
    cfx_hist_record(&h, 2000);
    cfx_hist_record(&h, 100);
    cfx_hist_correct(&c, &h, 1000);
    assert_int_equal(c.count, 2);
    cfx_hist_init(&h);
    cfx_hist_record(&h, 100);
    cfx_hist_record(&h, 2100);
    cfx_hist_correct(&c, &h, 1000);
    assert_int_equal(c.count, 3); /* 2100 adds 1100 */
    /* No interval: a copy. */
    cfx_hist_correct(&c, &h, 0);
    assert_memory_equal(&c, &h, sizeof(c));
}

static void test_parse(void **state) {
    (void)state;
    cfx_perf_opts_t o;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_perf_opts_init(&o);
    assert_int_equal(cfx_perf_parse_levels(&o, "1:64:x2", &err), 0);
    assert_int_equal(o.n_levels, 7);
    assert_int_equal(o.levels[0], 1);
    assert_int_equal(o.levels[6], 64);
    assert_int_equal(cfx_perf_parse_levels(&o, "8:32:+8", &err), 0);
    assert_int_equal(o.n_levels, 4);
    assert_int_equal(o.levels[3], 32);
    assert_int_equal(cfx_perf_parse_levels(&o, "1,4,16", &err), 0);
    assert_int_equal(o.n_levels, 3);
    assert_int_equal(o.levels[2], 16);
    assert_int_not_equal(cfx_perf_parse_levels(&o, "0", &err), 0);
    assert_int_not_equal(cfx_perf_parse_levels(&o, "4:2:x2", &err), 0);

    assert_int_equal(cfx_perf_parse_checks(&o,
                                           "p99<2ms,rps>=1000,errors<=0,"
                                           "p50<300us",
                                           &err),
                     0);
    assert_int_equal(o.n_checks, 4);
    assert_string_equal(o.checks[0].metric, "p99");
    assert_int_equal(o.checks[0].op, '<');
    assert_true(o.checks[0].value == 2e6);
    assert_int_equal(o.checks[1].op, 'g');
    assert_true(o.checks[1].value == 1000);
    assert_int_equal(o.checks[2].op, 'l');
    assert_true(o.checks[3].value == 300e3);
    assert_int_not_equal(cfx_perf_parse_checks(&o, "p99<2hours", &err), 0);
    assert_int_not_equal(cfx_perf_parse_checks(&o, "speed>3", &err), 0);
    assert_int_not_equal(cfx_perf_parse_checks(&o, "rps>3ms", &err), 0);
    /* A spec that checks nothing is refused, not passed. */
    assert_int_not_equal(cfx_perf_parse_checks(&o, "", &err), 0);
    assert_int_not_equal(cfx_perf_parse_checks(&o, ",", &err), 0);

    assert_int_equal(cfx_perf_parse_target(&o, "grpc://localhost:8500", &err),
                     0);
    assert_int_equal(o.proto, CFX_PERF_GRPC);
    assert_string_equal(o.host, "localhost");
    assert_int_equal(o.port, 8500);
    assert_int_equal(cfx_perf_parse_target(&o, "rest://[::1]:8501", &err), 0);
    assert_string_equal(o.host, "::1");
    assert_int_not_equal(cfx_perf_parse_target(&o, "http://x:1", &err), 0);
    assert_int_not_equal(cfx_perf_parse_target(&o, "rest://x:0", &err), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_quantiles),
        cmocka_unit_test(test_hist_merge),
        cmocka_unit_test(test_hist_correct),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

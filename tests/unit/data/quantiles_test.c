/* quantiles_test.c: exact quantiles (TFDV's rank rule), merging, the KLL
 * sketch's rank error, and the TFDV histogram rules on hand-worked
 * inputs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/quantiles.h"

static void test_exact_rule(void **state) {
    (void)state;
    cfx_quantiles_t q;
    cfx_quantiles_init(&q, 0);
    /* 1..10 added out of order; bound i = sorted[floor(i * 10 / 10)] */
    for (int v = 10; v >= 1; v--)
        assert_int_equal(cfx_quantiles_add(&q, v, 1), 0);
    double b[11], c[11];
    assert_int_equal(cfx_quantiles_query(&q, 10, b, c), 0);
    static const double want[11] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10};
    for (int i = 0; i <= 10; i++) {
        assert_true(b[i] == want[i]);
        assert_true(fabs(c[i] - i) < 1e-12);
    }
    assert_true(cfx_quantiles_exact(&q));
    /* weights: 0 x3, 5 x1, 7 x4 (N = 8); 4 quantiles: ranks 0, 2, 4, 6, max */
    cfx_quantiles_t w;
    cfx_quantiles_init(&w, 0);
    cfx_quantiles_add(&w, 7, 4);
    cfx_quantiles_add(&w, -0.0, 3);
    cfx_quantiles_add(&w, 5, 1);
    double wb[5], wc[5];
    assert_int_equal(cfx_quantiles_query(&w, 4, wb, wc), 0);
    static const double wwant[5] = {0, 0, 7, 7, 7};
    for (int i = 0; i <= 4; i++)
        assert_true(wb[i] == wwant[i]);
    assert_false(signbit(wb[0])); /* -0.0 is stored as 0.0 */
    /* median of an even count: sorted[N/2] (TFDV), not the mean of two */
    cfx_quantiles_t m;
    cfx_quantiles_init(&m, 0);
    for (int v = 1; v <= 4; v++)
        cfx_quantiles_add(&m, v, 1);
    double mb[1001], mc[1001];
    assert_int_equal(cfx_quantiles_query(&m, 1000, mb, mc), 0);
    assert_true(mb[500] == 3);
    cfx_quantiles_free(&q);
    cfx_quantiles_free(&w);
    cfx_quantiles_free(&m);
}

static uint64_t rng(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_merge_exact(void **state) {
    (void)state;
    cfx_quantiles_t all, a, b;
    cfx_quantiles_init(&all, 0);
    cfx_quantiles_init(&a, 0);
    cfx_quantiles_init(&b, 0);
    uint64_t s = 42;
    for (int i = 0; i < 20000; i++) {
        double v = (double)(rng(&s) % 5000) / 8.0;
        cfx_quantiles_add(&all, v, 1);
        cfx_quantiles_add(i % 3 ? &a : &b, v, 1);
    }
    assert_int_equal(cfx_quantiles_merge(&a, &b), 0);
    assert_true(cfx_quantiles_exact(&a));
    assert_true(a.total == all.total && a.min == all.min && a.max == all.max);
    double x[1001], y[1001], cx[1001], cy[1001];
    cfx_quantiles_query(&all, 1000, x, cx);
    cfx_quantiles_query(&a, 1000, y, cy);
    assert_memory_equal(x, y, sizeof x);
    assert_memory_equal(cx, cy, sizeof cx);
    cfx_quantiles_free(&all);
    cfx_quantiles_free(&a);
    cfx_quantiles_free(&b);
}

/* Largest |rank(bound_i) - i*N/q| / N over the boundaries, for a stream
 * that is a permutation of 0..N-1 (so rank(v) = v). */
static double max_rank_error(const cfx_quantiles_t *q, size_t nq, double n) {
    double *b = malloc((nq + 1) * sizeof *b), *c = malloc((nq + 1) * sizeof *c);
    assert_int_equal(cfx_quantiles_query(q, nq, b, c), 0);
    double worst = 0;
    for (size_t i = 0; i <= nq; i++) {
        double target = floor((double)i * n / (double)nq);
        if (target > n - 1)
            target = n - 1;
        double e = fabs(b[i] - target) / n;
        if (e > worst)
            worst = e;
    }
    free(b);
    free(c);
    return worst;
}

static void test_sketch_error(void **state) {
    (void)state;
    const uint64_t n = 400000;
    /* a permutation of 0..n-1: multiplication by an odd constant mod 2^k
     * permutes, then keep values < n */
    cfx_quantiles_t one, a, b;
    cfx_quantiles_init(&one, 1000); /* small budget: forces the sketch */
    cfx_quantiles_init(&a, 1000);
    cfx_quantiles_init(&b, 1000);
    uint64_t mask = (1u << 19) - 1, k = 0;
    for (uint64_t i = 0; i <= mask; i++) {
        uint64_t v = (i * 0x9E3779B1u) & mask;
        if (v >= n)
            continue;
        cfx_quantiles_add(&one, (double)v, 1);
        cfx_quantiles_add(k++ % 2 ? &a : &b, (double)v, 1);
    }
    assert_int_equal(one.total, n);
    assert_false(cfx_quantiles_exact(&one));
    double e1 = max_rank_error(&one, 1000, (double)n);
    assert_int_equal(cfx_quantiles_merge(&a, &b), 0);
    assert_int_equal(a.total, n);
    double e2 = max_rank_error(&a, 1000, (double)n);
    print_message("KLL k=%d: max normalized rank error %.5f (one stream), "
                  "%.5f (two merged); bound %.3f\n",
                  CFX_QUANTILES_KLL_K, e1, e2, CFX_QUANTILES_KLL_EPS);
    assert_true(e1 < CFX_QUANTILES_KLL_EPS);
    assert_true(e2 < CFX_QUANTILES_KLL_EPS);
    /* exact ends */
    double bb[11], cc[11];
    cfx_quantiles_query(&a, 10, bb, cc);
    assert_true(bb[0] == 0 && bb[10] == (double)(n - 1));
    /* an exact summary merged into a sketch keeps every value's weight */
    cfx_quantiles_t ex;
    cfx_quantiles_init(&ex, 0);
    cfx_quantiles_add(&ex, -1, 1000);
    assert_int_equal(cfx_quantiles_merge(&a, &ex), 0);
    assert_int_equal(a.total, n + 1000);
    cfx_quantiles_query(&a, 10, bb, cc);
    assert_true(bb[0] == -1);
    cfx_quantiles_free(&one);
    cfx_quantiles_free(&a);
    cfx_quantiles_free(&b);
    cfx_quantiles_free(&ex);
}

static void expect_buckets(const cfx_hist_bucket_t *got, size_t n,
                           const cfx_hist_bucket_t *want, size_t wn) {
    if (n != wn)
        fail_msg("%zu buckets, want %zu", n, wn);
    for (size_t i = 0; i < n; i++)
        if (got[i].low != want[i].low || got[i].high != want[i].high ||
            fabs(got[i].count - want[i].count) > 1e-12)
            fail_msg("bucket %zu: [%g, %g] %g, want [%g, %g] %g", i, got[i].low,
                     got[i].high, got[i].count, want[i].low, want[i].high,
                     want[i].count);
}

/* Worked by hand from TFDV's quantiles_util rules (docs/statistics.md). */
static void test_standard_histogram(void **state) {
    (void)state;
    int rc;
    cfx_hist_bucket_t out[16];
    /* values 0..9, 10 quantiles: bounds 0,1,...,9,9; cum 0..10 */
    double b[11], c[11];
    for (int i = 0; i <= 10; i++) {
        b[i] = i < 10 ? i : 9;
        c[i] = i;
    }
    size_t n = cfx_hist_standard(b, c, 11, 0, 9, 3, 0, out, &rc);
    assert_int_equal(rc, 0);
    static const cfx_hist_bucket_t w1[] = {{0, 3, 3}, {3, 6, 3}, {6, 9, 4}};
    expect_buckets(out, n, w1, 3);

    /* values 1,2,3,4,+inf: bounds 1,1,2,2,3,3,4,4,inf,inf,inf; cum i/2 */
    static const double b2[11] = {1, 1, 2,        2,        3,       3,
                                  4, 4, INFINITY, INFINITY, INFINITY};
    double c2[11];
    for (int i = 0; i <= 10; i++)
        c2[i] = i * 0.5;
    n = cfx_hist_standard(b2, c2, 11, 1, 4, 3, 1, out, &rc);
    /* buckets [1, 2) [2, 3) [3, 4], as numpy.histogram counts 1,2,3,4 */
    static const cfx_hist_bucket_t w2[] = {
        {1, 2, 1.0}, {2, 3, 1.0}, {3, 4, 2.0}, {INFINITY, INFINITY, 1}};
    expect_buckets(out, n, w2, 4);

    /* one distinct value: a single bucket */
    static const double b3[3] = {5, 5, 5};
    static const double c3[3] = {0, 1, 2};
    n = cfx_hist_standard(b3, c3, 3, 5, 5, 10, 0, out, &rc);
    static const cfx_hist_bucket_t w3[] = {{5, 5, 2}};
    expect_buckets(out, n, w3, 1);
}

static void test_quantiles_histogram(void **state) {
    (void)state;
    cfx_hist_bucket_t out[8];
    /* repeated upper bounds share their weight */
    static const double b[5] = {0, 1, 1, 1, 2};
    static const double c[5] = {0, 1, 3, 6, 10};
    size_t n = cfx_hist_quantiles(b, c, 5, out);
    static const cfx_hist_bucket_t w[] = {
        {0, 1, 2}, {1, 1, 2}, {1, 1, 2}, {1, 2, 4}};
    expect_buckets(out, n, w, 4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_rule),
        cmocka_unit_test(test_merge_exact),
        cmocka_unit_test(test_sketch_error),
        cmocka_unit_test(test_standard_histogram),
        cmocka_unit_test(test_quantiles_histogram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

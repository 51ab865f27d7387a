/*
 * analyzers_test.c: moments, vocabulary counts and bucket boundaries against
 * values computed independently (Python with exact fractions for the
 * moments; a brute-force inverted-CDF search for the quantiles; by hand for
 * the vocabulary order), and merge == single pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "transform/analyzers.h"

/* mean and population variance of these, from Python fractions:
 * mean 3.015625, var 15.173583984375 (both exact in binary). */
static const double moment_values[] = {1.5, 2.0,   -3.25, 10.0,
                                       0.0, 7.125, 2.0,   4.75};

static void test_moments(void **state) {
    (void)state;
    cfx_moments_t m;
    cfx_moments_init(&m);
    for (size_t i = 0; i < 8; i++)
        cfx_moments_add(&m, moment_values[i]);
    assert_int_equal(m.count, 8);
    assert_true(fabs(m.mean - 3.015625) < 1e-12);
    assert_true(fabs(cfx_moments_variance(&m) - 15.173583984375) < 1e-12);

    /* Merge of two shards (3 + 5) and of an empty one gives the same. */
    cfx_moments_t a, b, e;
    cfx_moments_init(&a);
    cfx_moments_init(&b);
    cfx_moments_init(&e);
    for (size_t i = 0; i < 3; i++)
        cfx_moments_add(&a, moment_values[i]);
    for (size_t i = 3; i < 8; i++)
        cfx_moments_add(&b, moment_values[i]);
    cfx_moments_merge(&a, &e);
    cfx_moments_merge(&e, &a);
    cfx_moments_merge(&e, &b);
    assert_int_equal(e.count, 8);
    assert_true(fabs(e.mean - 3.015625) < 1e-12);
    assert_true(fabs(cfx_moments_variance(&e) - 15.173583984375) < 1e-12);

    cfx_moments_t z;
    cfx_moments_init(&z);
    assert_true(cfx_moments_variance(&z) == 0.0);
    cfx_moments_add(&z, 4.0);
    cfx_moments_add(&z, 4.0);
    assert_true(cfx_moments_variance(&z) == 0.0);
}

static void add_n(cfx_vocab_counter_t *c, const char *tok, size_t len, int n) {
    cfx_error_t err;
    cfx_error_init(&err);
    for (int i = 0; i < n; i++)
        assert_int_equal(cfx_vocab_counter_add(c, tok, len, 1, &err), 0);
}

static void fill_vocab(cfx_vocab_counter_t *c) {
    add_n(c, "b", 1, 3);
    add_n(c, "a", 1, 3);
    add_n(c, "ab", 2, 3);
    add_n(c, "c", 1, 5);
    add_n(c, "", 0, 7);     /* dropped: empty */
    add_n(c, "x\ny", 3, 9); /* dropped: newline */
    add_n(c, "r\r", 2, 4);  /* dropped: carriage return */
    add_n(c, "z", 1, 1);
    add_n(c, "\xc3\xa9", 2, 3); /* e-acute, bytes c3 a9 */
}

/* Expected order: count descending, ties by bytes descending:
 * c(5), c3a9(3), b(3), ab(3), a(3), z(1). */
static const char *const vocab_expect[] = {"c",  "\xc3\xa9", "b",
                                           "ab", "a",        "z"};
static const uint64_t vocab_counts[] = {5, 3, 3, 3, 3, 1};

static void check_top(const cfx_vocab_counter_t *c, int64_t top_k,
                      size_t expect_n) {
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_vocab_entry_t *v = NULL;
    size_t n = 0;
    assert_int_equal(cfx_vocab_counter_top(c, top_k, &v, &n, &err), 0);
    assert_int_equal(n, expect_n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].len, strlen(vocab_expect[i]));
        assert_memory_equal(v[i].token, vocab_expect[i], v[i].len);
        assert_int_equal(v[i].count, vocab_counts[i]);
    }
    free(v);
}

static void test_vocab_order(void **state) {
    (void)state;
    cfx_vocab_counter_t c;
    cfx_vocab_counter_init(&c, 1000);
    fill_vocab(&c);
    assert_int_equal(c.size, 9);
    check_top(&c, 0, 6);
    check_top(&c, 4, 4);
    check_top(&c, 1000, 6);
    cfx_vocab_counter_free(&c);
}

static void test_vocab_merge_and_bounds(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    /* Two shards whose counts add up to fill_vocab's: merge == one pass. */
    cfx_vocab_counter_t a, b;
    cfx_vocab_counter_init(&a, 1000);
    cfx_vocab_counter_init(&b, 1000);
    add_n(&a, "b", 1, 2);
    add_n(&b, "b", 1, 1);
    add_n(&a, "a", 1, 3);
    add_n(&b, "ab", 2, 3);
    add_n(&a, "c", 1, 1);
    add_n(&b, "c", 1, 4);
    add_n(&a, "", 0, 7);
    add_n(&b, "x\ny", 3, 9);
    add_n(&a, "r\r", 2, 4);
    add_n(&b, "z", 1, 1);
    add_n(&a, "\xc3\xa9", 2, 2);
    assert_int_equal(cfx_vocab_counter_add(&b, "\xc3\xa9", 2, 1, &err), 0);
    assert_int_equal(cfx_vocab_counter_merge(&a, &b, &err), 0);
    check_top(&a, 0, 6);
    cfx_vocab_counter_free(&a);
    cfx_vocab_counter_free(&b);

    /* Bounds: distinct tokens and token length. */
    cfx_vocab_counter_t s;
    cfx_vocab_counter_init(&s, 2);
    add_n(&s, "p", 1, 1);
    add_n(&s, "q", 1, 1);
    add_n(&s, "p", 1, 1); /* existing: fine */
    assert_int_equal(cfx_vocab_counter_add(&s, "r", 1, 1, &err), CFX_ETOOBIG);
    static char big[CFX_VOCAB_MAX_TOKEN + 1];
    assert_int_equal(cfx_vocab_counter_add(&s, big, sizeof big, 1, &err),
                     CFX_ETOOBIG);
    cfx_vocab_counter_free(&s);

    /* Many tokens force several rehashes; counts survive. */
    cfx_vocab_counter_t g;
    cfx_vocab_counter_init(&g, 100000);
    char t[16];
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 5000; i++) {
            int n = snprintf(t, sizeof t, "t%d", i);
            assert_int_equal(cfx_vocab_counter_add(&g, t, (size_t)n, 1, &err),
                             0);
        }
    assert_int_equal(cfx_vocab_counter_add(&g, "t4999", 5, 5, &err), 0);
    cfx_vocab_entry_t *v;
    size_t n;
    assert_int_equal(cfx_vocab_counter_top(&g, 3, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(v[0].count, 7);
    assert_memory_equal(v[0].token, "t4999", 5);
    /* then count 2, descending bytes: "t999" > "t998" */
    assert_memory_equal(v[1].token, "t999", 4);
    assert_memory_equal(v[2].token, "t998", 4);
    free(v);
    cfx_vocab_counter_free(&g);
}

/* 44 float32 values: 37 around 41.88, three filled zeros, four repeats. */
static const float qvalues[] = {
    41.8671989f, 41.9056015f, 41.8686981f, 41.8642006f, 41.8334999f,
    41.8693008f, 41.9356003f, 41.9011993f, 41.9318008f, 41.8923988f,
    41.8997002f, 41.8893013f, 41.7966995f, 41.9227982f, 41.9053001f,
    41.9048996f, 41.7953987f, 41.7928009f, 41.8354988f, 41.8566017f,
    41.8953018f, 41.8777008f, 41.9059982f, 41.8479004f, 41.895401f,
    41.8997002f, 41.8469009f, 41.9659004f, 41.9077988f, 41.9398994f,
    41.848999f,  41.8429985f, 41.8628006f, 41.8746986f, 41.9115982f,
    41.8923988f, 41.8576012f, 0.0f,        0.0f,        0.0f,
    41.8671989f, 41.9056015f, 41.8686981f, 41.8642006f};
/* Smallest value v with #(x <= v) >= i/10 * 44 (brute force in Python). */
static const float qexpect[] = {41.7953987f, 41.8429985f, 41.8576012f,
                                41.8671989f, 41.8693008f, 41.8923988f,
                                41.8997002f, 41.9056015f, 41.9227982f};

static void test_quantiles(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    size_t n = sizeof qvalues / sizeof qvalues[0];
    assert_int_equal(n, 44);
    cfx_boundaries_analyzer_t q, a, b;
    cfx_boundaries_analyzer_init(&q, 0);
    cfx_boundaries_analyzer_init(&a, 0);
    cfx_boundaries_analyzer_init(&b, 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cfx_boundaries_analyzer_add(&q, qvalues[i], &err), 0);
        assert_int_equal(
            cfx_boundaries_analyzer_add(i % 3 ? &a : &b, qvalues[i], &err), 0);
    }
    assert_int_equal(cfx_boundaries_analyzer_add(&q, NAN, &err), 0);
    assert_int_equal(q.num_nan, 1); /* skipped, counted */
    float bq[9], bm[9];
    assert_int_equal(cfx_boundaries_analyzer_get(&q, 10, bq, &err), 0);
    assert_int_equal(cfx_boundaries_analyzer_merge(&a, &b, &err), 0);
    assert_int_equal(cfx_boundaries_analyzer_get(&a, 10, bm, &err), 0);
    assert_true(cfx_boundaries_analyzer_exact(&q));
    for (size_t i = 0; i < 9; i++) {
        if (bq[i] != qexpect[i] || bm[i] != qexpect[i])
            fail_msg("boundary %zu: %.9g (merged %.9g), want %.9g", i, bq[i],
                     bm[i], qexpect[i]);
    }
    /* Small exact cases: values 1..4 in 2 buckets: ceil(4/2)-1 = 1 -> 2;
     * in 3 buckets: ceil(4/3)-1 = 1 -> 2, ceil(8/3)-1 = 2 -> 3;
     * in 4 buckets: 1, 2, 3 (i*N/k integral: not one above). */
    cfx_boundaries_analyzer_t s;
    cfx_boundaries_analyzer_init(&s, 0);
    for (int i = 4; i >= 1; i--)
        assert_int_equal(cfx_boundaries_analyzer_add(&s, (float)i, &err), 0);
    float b2[1], b3[2], b4[3], b1[1] = {-1};
    assert_int_equal(cfx_boundaries_analyzer_get(&s, 2, b2, &err), 0);
    assert_true(b2[0] == 2.0f);
    assert_int_equal(cfx_boundaries_analyzer_get(&s, 3, b3, &err), 0);
    assert_true(b3[0] == 2.0f && b3[1] == 3.0f);
    assert_int_equal(cfx_boundaries_analyzer_get(&s, 4, b4, &err), 0);
    assert_true(b4[0] == 1.0f && b4[1] == 2.0f && b4[2] == 3.0f);
    assert_int_equal(cfx_boundaries_analyzer_get(&s, 1, b1, &err), 0);
    assert_true(b1[0] == -1.0f); /* one bucket: no boundary written */
    cfx_boundaries_analyzer_free(&s);
    /* No values: boundaries 0. */
    cfx_boundaries_analyzer_t e;
    cfx_boundaries_analyzer_init(&e, 0);
    assert_int_equal(cfx_boundaries_analyzer_get(&e, 3, b3, &err), 0);
    assert_true(b3[0] == 0.0f && b3[1] == 0.0f);
    cfx_boundaries_analyzer_free(&e);
    cfx_boundaries_analyzer_free(&q);
    cfx_boundaries_analyzer_free(&a);
    cfx_boundaries_analyzer_free(&b);
}

/* Past the distinct-value budget the boundaries come from a sketch: the
 * rank of each boundary stays within 1% of i * N / 10 (TFT's epsilon). */
static void test_quantiles_past_budget(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_boundaries_analyzer_t q;
    cfx_boundaries_analyzer_init(&q, 64);
    const uint32_t n = 100000;
    /* a permutation of 0..n-1 (n and 7919 coprime), as floats */
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(
            cfx_boundaries_analyzer_add(&q, (float)((i * 7919u) % n), &err), 0);
    assert_false(cfx_boundaries_analyzer_exact(&q));
    float b[9];
    assert_int_equal(cfx_boundaries_analyzer_get(&q, 10, b, &err), 0);
    for (int i = 1; i <= 9; i++) {
        /* value v has rank v + 1: #(x <= v) = v + 1 */
        double rank = (double)b[i - 1] + 1, want = i * (double)n / 10;
        if (fabs(rank - want) > 0.01 * n)
            fail_msg("boundary %d: rank %g, want %g +- %g", i, rank, want,
                     0.01 * n);
    }
    cfx_boundaries_analyzer_free(&q);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moments),
        cmocka_unit_test(test_vocab_order),
        cmocka_unit_test(test_vocab_merge_and_bounds),
        cmocka_unit_test(test_quantiles),
        cmocka_unit_test(test_quantiles_past_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

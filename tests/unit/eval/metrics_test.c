/*
 * metrics_test.c: eval/metrics.c on small sets whose metrics were computed
 * by hand (each value's derivation in the comment), ties, one-class slices,
 * and the exact AUC against a brute-force count over all (positive,
 * negative) pairs on random data. Tolerance 1e-12 unless stated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "eval/metrics.h"

#define TOL 1e-12

static void fill(cfx_slice_acc_t *a, const float *p, const float *y, size_t n) {
    cfx_slice_acc_init(a);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cfx_slice_acc_add(a, p[i], y[i], NULL), 0);
}

/* p: .9 .8 .7 .6 .3 .2, labels 1 0 1 1 0 0 (P = 3, N = 3). */
static void test_six_examples_by_hand(void **state) {
    (void)state;
    const float p[] = {0.9f, 0.8f, 0.7f, 0.6f, 0.3f, 0.2f},
                y[] = {1, 0, 1, 1, 0, 0};
    const double th[] = {0.65, 0.5};
    cfx_slice_acc_t a;
    cfx_slice_metrics_t m;
    fill(&a, p, y, 6);
    assert_int_equal(cfx_slice_metrics_compute(&a, th, 2, &m, NULL), 0);
    assert_true(m.example_count == 6);
    /* pairs pos > neg: .9 beats 3, .7 beats .3 .2, .6 beats .3 .2: 7 of 9 */
    assert_true(fabs(m.auc - 7.0 / 9.0) < 1e-7);
    /* average precision: hits at ranks 1, 3, 4: (1/1 + 2/3 + 3/4) / 3 = 29/36
     */
    assert_true(fabs(m.auc_precision_recall - 29.0 / 36.0) < 1e-7);
    /* > 0.5: .9 .8 .7 .6 positive: 3 right, .3 .2 negative: 2 right */
    assert_true(fabs(m.binary_accuracy - 5.0 / 6.0) < TOL);
    assert_true(fabs(m.precision - 3.0 / 4.0) < TOL);
    assert_true(fabs(m.recall - 1.0) < TOL);
    /* -(ln .9 + ln .2 + ln .7 + ln .6 + ln .7 + ln .8) / 6, by python3 math:
     * 0.5270195818415987 (floats of the inputs: tolerance 1e-7) */
    assert_true(fabs(m.binary_crossentropy - 0.5270195818415987) < 1e-7);
    assert_true(fabs(m.mean_label - 0.5) < TOL);
    assert_true(fabs(m.mean_prediction - 3.5 / 6.0) < 1e-7);
    assert_true(fabs(m.calibration - 3.5 / 3.0) < 1e-7); /* sum p / sum y */
    assert_int_equal(m.num_confusion, 2);
    /* > .65: .9 .8 .7: tp 2 (.9 .7), fp 1 (.8), fn 1 (.6), tn 2 */
    assert_true(m.confusion[0].tp == 2 && m.confusion[0].fp == 1);
    assert_true(m.confusion[0].fn == 1 && m.confusion[0].tn == 2);
    assert_true(fabs(m.confusion[0].precision - 2.0 / 3.0) < TOL);
    assert_true(fabs(m.confusion[0].recall - 2.0 / 3.0) < TOL);
    assert_true(m.confusion[1].tp == 3 && m.confusion[1].fp == 1 &&
                m.confusion[1].tn == 2);
    assert_true(fabs(cfx_slice_metrics_get(&m, "auc") - m.auc) < TOL);
    assert_true(isnan(cfx_slice_metrics_get(&m, "no_such_metric")));
    cfx_slice_acc_free(&a);
}

/* Ties: p .4(1) .4(0) .1(0): the tied pair counts half: (0.5 + 1) / 2. */
static void test_ties_count_half(void **state) {
    (void)state;
    const float p[] = {0.4f, 0.4f, 0.1f}, y[] = {1, 0, 0};
    cfx_slice_acc_t a;
    cfx_slice_metrics_t m;
    fill(&a, p, y, 3);
    assert_int_equal(cfx_slice_metrics_compute(&a, NULL, 0, &m, NULL), 0);
    assert_true(fabs(m.auc - 0.75) < TOL);
    /* one step at .4 holding 1 tp and 1 fp: precision 1/2 over recall 1 */
    assert_true(fabs(m.auc_precision_recall - 0.5) < TOL);
    /* nothing > .5: accuracy 2/3, precision 0 (divide_no_nan), recall 0 */
    assert_true(fabs(m.binary_accuracy - 2.0 / 3.0) < TOL);
    assert_true(m.precision == 0 && m.recall == 0);
    cfx_slice_acc_free(&a);
}

/* One class only: auc undefined (NaN), calibration NaN without positives. */
static void test_one_class(void **state) {
    (void)state;
    const float p[] = {0.2f, 0.7f}, y[] = {0, 0};
    cfx_slice_acc_t a;
    cfx_slice_metrics_t m;
    fill(&a, p, y, 2);
    assert_int_equal(cfx_slice_metrics_compute(&a, NULL, 0, &m, NULL), 0);
    assert_true(isnan(m.auc));
    assert_true(isnan(m.auc_precision_recall));
    assert_true(isnan(m.calibration));
    assert_true(fabs(m.binary_accuracy - 0.5) < TOL);
    cfx_slice_acc_free(&a);

    cfx_slice_acc_init(&a); /* empty slice: means are NaN, count 0 */
    assert_int_equal(cfx_slice_metrics_compute(&a, NULL, 0, &m, NULL), 0);
    assert_true(m.example_count == 0 && isnan(m.mean_label) && isnan(m.auc));
    cfx_slice_acc_free(&a);
}

/* Exact AUC vs the definition, counted over every pair, on random data
 * with many ties (predictions on a grid of 50 values). */
static void test_auc_matches_pair_count(void **state) {
    (void)state;
    enum { N = 2000 };
    static float p[N], y[N];
    uint64_t s = 42;
    for (size_t i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (float)((s >> 33) % 50) / 50.0f;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        /* labels correlated with p so the AUC is far from 0.5 */
        y[i] = ((double)((s >> 33) % 1000) / 1000.0) < p[i] ? 1.0f : 0.0f;
    }
    double wins = 0, pos = 0, neg = 0;
    for (size_t i = 0; i < N; i++) {
        if (y[i] > 0.5f)
            pos++;
        else
            neg++;
        if (y[i] < 0.5f)
            continue;
        for (size_t j = 0; j < N; j++)
            if (y[j] < 0.5f)
                wins += p[i] > p[j] ? 1.0 : p[i] == p[j] ? 0.5 : 0.0;
    }
    cfx_slice_acc_t a;
    cfx_slice_metrics_t m;
    fill(&a, p, y, N);
    assert_int_equal(cfx_slice_metrics_compute(&a, NULL, 0, &m, NULL), 0);
    double want = wins / (pos * neg);
    assert_true(want > 0.7);
    assert_true(fabs(m.auc - want) < 1e-12);
    cfx_slice_acc_free(&a);
}

/* A NaN prediction: metrics of the predictions are not computed. */
static void test_nan_prediction(void **state) {
    (void)state;
    const float p[] = {0.9f, NAN, 0.1f}, y[] = {1, 0, 0};
    cfx_slice_acc_t a;
    cfx_slice_metrics_t m;
    fill(&a, p, y, 3);
    assert_int_equal(cfx_slice_metrics_compute(&a, NULL, 0, &m, NULL), 0);
    assert_true(isnan(m.auc) && isnan(m.binary_accuracy));
    assert_true(isnan(m.binary_crossentropy) && isnan(m.mean_prediction));
    assert_true(m.example_count == 3 && fabs(m.mean_label - 1.0 / 3.0) < TOL);
    cfx_slice_acc_free(&a);
}

static void test_too_many_thresholds(void **state) {
    (void)state;
    double th[CFX_METRICS_MAX_THRESHOLDS + 1] = {0};
    cfx_slice_acc_t a;
    cfx_slice_metrics_t m;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_slice_acc_init(&a);
    assert_int_equal(cfx_slice_metrics_compute(
                         &a, th, CFX_METRICS_MAX_THRESHOLDS + 1, &m, &err),
                     CFX_ETOOBIG);
    cfx_slice_acc_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_six_examples_by_hand),
        cmocka_unit_test(test_ties_count_half),
        cmocka_unit_test(test_one_class),
        cmocka_unit_test(test_auc_matches_pair_count),
        cmocka_unit_test(test_nan_prediction),
        cmocka_unit_test(test_too_many_thresholds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* plots_test.c: the Evaluator's plots on six examples worked by hand (ROC
 * and PR points at each distinct prediction, calibration buckets, the
 * confusion matrix at 0.5), the ROC area against the exact AUC of
 * metrics.c, and the thinning of a large curve. */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "eval/metrics.h"
#include "eval/plots.h"
#include "test_util.h"

static double at(const json_t *a, size_t i, size_t k) {
    return json_number_value(json_array_get(json_array_get(a, i), k));
}

static void test_by_hand(void **state) {
    (void)state;
    /* sorted: 0.9+ 0.8+ 0.7- 0.6+ 0.4- 0.2-; 3 positives, 3 negatives */
    const float p[] = {0.4f, 0.9f, 0.2f, 0.7f, 0.8f, 0.6f};
    const float y[] = {0, 1, 0, 0, 1, 1};
    cfx_slice_acc_t a;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_slice_acc_init(&a);
    for (size_t i = 0; i < 6; i++)
        CFX_TEST_OK(cfx_slice_acc_add(&a, p[i], y[i], &err), err);
    json_t *doc = NULL;
    CFX_TEST_OK(cfx_slice_plots_json(&a, &doc, &err), err);
    const json_t *roc = json_object_get(doc, "roc"),
                 *pr = json_object_get(doc, "pr");
    const double want_roc[][2] = {
        {0, 0},      {0, 1. / 3}, {0, 2. / 3}, {1. / 3, 2. / 3},
        {1. / 3, 1}, {2. / 3, 1}, {1, 1}};
    assert_int_equal(json_array_size(roc), 7);
    double area = 0;
    for (size_t i = 0; i < 7; i++) {
        assert_true(fabs(at(roc, i, 0) - want_roc[i][0]) < 1e-12);
        assert_true(fabs(at(roc, i, 1) - want_roc[i][1]) < 1e-12);
        if (i)
            area += (at(roc, i, 0) - at(roc, i - 1, 0)) *
                    (at(roc, i, 1) + at(roc, i - 1, 1)) / 2;
    }
    cfx_slice_metrics_t m;
    CFX_TEST_OK(cfx_slice_metrics_compute(&a, NULL, 0, &m, &err), err);
    assert_true(fabs(area - 8. / 9) < 1e-12);
    assert_true(fabs(area - m.auc) < 1e-9);
    const double want_pr[][2] = {{1. / 3, 1}, {2. / 3, 1}, {2. / 3, 2. / 3},
                                 {1, 0.75},   {1, 0.6},    {1, 0.5}};
    assert_int_equal(json_array_size(pr), 6);
    for (size_t i = 0; i < 6; i++) {
        assert_true(fabs(at(pr, i, 0) - want_pr[i][0]) < 1e-12);
        assert_true(fabs(at(pr, i, 1) - want_pr[i][1]) < 1e-12);
    }
    /* thresholds are the predictions, float-rounded */
    assert_true(fabs(at(roc, 1, 2) - 0.9) < 1e-6);
    const json_t *cal = json_object_get(doc, "calibration");
    assert_int_equal(json_array_size(cal), CFX_PLOTS_CALIBRATION_BUCKETS);
    const json_t *b9 = json_array_get(cal, 9), *b2 = json_array_get(cal, 2),
                 *b5 = json_array_get(cal, 5);
    assert_true(json_number_value(json_object_get(b9, "count")) == 1);
    assert_true(fabs(json_number_value(json_object_get(b9, "mean_prediction")) -
                     0.9) < 1e-6);
    assert_true(json_number_value(json_object_get(b9, "mean_label")) == 1);
    assert_true(json_number_value(json_object_get(b2, "mean_label")) == 0);
    assert_true(json_is_null(
        json_object_get(json_array_get(cal, 0), "mean_prediction")));
    assert_true(json_number_value(json_object_get(b5, "count")) == 0);
    const json_t *cm = json_object_get(doc, "confusion");
    assert_true(json_number_value(json_object_get(cm, "true_positives")) == 3);
    assert_true(json_number_value(json_object_get(cm, "false_positives")) == 1);
    assert_true(json_number_value(json_object_get(cm, "true_negatives")) == 2);
    assert_true(json_number_value(json_object_get(cm, "false_negatives")) == 0);
    json_decref(doc);
    cfx_slice_acc_free(&a);
}

static void test_thinned(void **state) {
    (void)state;
    cfx_slice_acc_t a;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_slice_acc_init(&a);
    unsigned seed = 7;
    for (size_t i = 0; i < 5000; i++) {
        float pr = (float)(rand_r(&seed) % 100000) / 100000.0f;
        CFX_TEST_OK(
            cfx_slice_acc_add(
                &a, pr, rand_r(&seed) % 100 < pr * 100 ? 1.0f : 0.0f, &err),
            err);
    }
    json_t *doc = NULL;
    CFX_TEST_OK(cfx_slice_plots_json(&a, &doc, &err), err);
    const json_t *roc = json_object_get(doc, "roc");
    size_t n = json_array_size(roc);
    assert_true(n <= CFX_PLOTS_MAX_POINTS + 2 && n >= CFX_PLOTS_MAX_POINTS / 2);
    assert_true(at(roc, 0, 0) == 0 && at(roc, 0, 1) == 0);
    assert_true(at(roc, n - 1, 0) == 1 && at(roc, n - 1, 1) == 1);
    double area = 0;
    for (size_t i = 1; i < n; i++) {
        assert_true(at(roc, i, 0) >= at(roc, i - 1, 0));
        area += (at(roc, i, 0) - at(roc, i - 1, 0)) *
                (at(roc, i, 1) + at(roc, i - 1, 1)) / 2;
    }
    cfx_slice_metrics_t m;
    CFX_TEST_OK(cfx_slice_metrics_compute(&a, NULL, 0, &m, &err), err);
    printf("thinned ROC: %zu points, area %.6f, exact AUC %.6f\n", n, area,
           m.auc);
    assert_true(fabs(area - m.auc) < 2e-3);
    json_decref(doc);
    cfx_slice_acc_free(&a);
}

static void test_one_class(void **state) {
    (void)state;
    cfx_slice_acc_t a;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_slice_acc_init(&a);
    CFX_TEST_OK(cfx_slice_acc_add(&a, 0.3f, 1, &err), err);
    CFX_TEST_OK(cfx_slice_acc_add(&a, 0.7f, 1, &err), err);
    json_t *doc = NULL;
    CFX_TEST_OK(cfx_slice_plots_json(&a, &doc, &err), err);
    assert_int_equal(json_array_size(json_object_get(doc, "roc")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "pr")), 0);
    json_decref(doc);
    cfx_slice_acc_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_hand),
        cmocka_unit_test(test_thinned),
        cmocka_unit_test(test_one_class),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

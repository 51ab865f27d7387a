/* metrics_task_test.c: the multi-class and regression metrics of a slice
 * (eval/metrics.h) against scikit-learn on the same numbers (tolerance
 * 1e-12 on counts and ratios, 1e-7 on the log loss of float32
 * probabilities), and the eval config's per-task class names, class_id and
 * top_k sub keys.
 *
 * The multi-class golden values, from
 *   P = [[.7,.2,.1],[.1,.6,.3],[.3,.3,.4],[.05,.9,.05],[.4,.35,.25],
 *        [.2,.2,.6]] (float32), y = [0,1,1,1,2,2]:
 *   accuracy_score(y, P.argmax(1))                     0.6666666666666666
 *   log_loss(y, P)                                     0.6789923106568593
 *   precision/recall_score(onehot.ravel(), (P>.5).ravel()) 1, 0.66666...
 *   per class k, precision/recall_score(y==k, P[:,k]>.5):
 *     0: 1, 1   1: 1, 0.6666...   2: 1, 0.5
 *   top 2 (stable order): 4 of 6 labels -> recall 0.6666..., precision
 *   0.3333...; confusion_matrix(y, P.argmax(1)) = [[1,0,0],[0,2,1],[1,0,1]]
 * Regression: y = [3, -1.5, 2, 7.25, .5], p = [2.5, -1, 2.5, 6, 1.5]:
 *   mean_squared_error .6625, mean_absolute_error .75, RMSE
 *   0.8139410298049853, mean label 2.25, mean prediction 2.3, calibration
 *   1.0222222222222221. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "eval/eval_config.h"
#include "eval/metrics.h"

static void test_multiclass(void **state) {
    (void)state;
    static const float P[6][3] = {{.7f, .2f, .1f},   {.1f, .6f, .3f},
                                  {.3f, .3f, .4f},   {.05f, .9f, .05f},
                                  {.4f, .35f, .25f}, {.2f, .2f, .6f}};
    static const float y[6] = {0, 1, 1, 1, 2, 2};
    cfx_slice_acc_t a;
    cfx_slice_acc_init(&a);
    cfx_slice_acc_set_task(&a, CFX_TASK_MULTICLASS, 3);
    cfx_error_t err;
    cfx_error_init(&err);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(cfx_slice_acc_add_row(&a, P[i], y[i], &err), 0);
    cfx_slice_metrics_t m;
    assert_int_equal(cfx_slice_metrics_compute(&a, NULL, 0, &m, &err), 0);
    assert_float_equal(cfx_slice_metrics_get(&m, "example_count"), 6, 0);
    assert_float_equal(cfx_slice_metrics_get(&m, "sparse_categorical_accuracy"),
                       0.6666666666666666, 1e-12);
    assert_float_equal(
        cfx_slice_metrics_get(&m, "sparse_categorical_crossentropy"),
        0.6789923106568593, 1e-7);
    assert_float_equal(cfx_slice_metrics_get(&m, "precision"), 1.0, 1e-12);
    assert_float_equal(cfx_slice_metrics_get(&m, "recall"), 0.6666666666666666,
                       1e-12);
    static const double prec[3] = {1, 1, 1}, rec[3] = {1, 2.0 / 3, 0.5};
    char key[64];
    for (int k = 0; k < 3; k++) {
        snprintf(key, sizeof key, "precision/classId:%d", k);
        assert_float_equal(cfx_slice_metrics_get(&m, key), prec[k], 1e-12);
        snprintf(key, sizeof key, "recall/classId:%d", k);
        assert_float_equal(cfx_slice_metrics_get(&m, key), rec[k], 1e-12);
    }
    assert_true(isnan(cfx_slice_metrics_get(&m, "precision/classId:3")));
    assert_float_equal(cfx_slice_metrics_get(&m, "recall/topK:2"),
                       0.6666666666666666, 1e-12);
    assert_float_equal(cfx_slice_metrics_get(&m, "precision/topK:2"),
                       0.3333333333333333, 1e-12);
    assert_float_equal(cfx_slice_metrics_get(&m, "recall/topK:3"), 1.0, 1e-12);
    /* binary and regression metrics are not defined here */
    assert_true(isnan(cfx_slice_metrics_get(&m, "auc")));
    assert_true(isnan(cfx_slice_metrics_get(&m, "mean_squared_error")));
    double cm[9];
    cfx_slice_confusion(&a, cm);
    static const double want[9] = {1, 0, 0, 0, 2, 1, 1, 0, 1};
    for (int i = 0; i < 9; i++)
        assert_float_equal(cm[i], want[i], 0);
    cfx_slice_acc_free(&a);
}

static void test_regression(void **state) {
    (void)state;
    static const float y[5] = {3, -1.5f, 2, 7.25f, .5f},
                       p[5] = {2.5f, -1, 2.5f, 6, 1.5f};
    cfx_slice_acc_t a;
    cfx_slice_acc_init(&a);
    cfx_slice_acc_set_task(&a, CFX_TASK_REGRESSION, 1);
    cfx_error_t err;
    cfx_error_init(&err);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(cfx_slice_acc_add_row(&a, &p[i], y[i], &err), 0);
    cfx_slice_metrics_t m;
    assert_int_equal(cfx_slice_metrics_compute(&a, NULL, 0, &m, &err), 0);
    assert_float_equal(cfx_slice_metrics_get(&m, "mean_squared_error"), 0.6625,
                       1e-12);
    assert_float_equal(cfx_slice_metrics_get(&m, "mean_absolute_error"), 0.75,
                       1e-12);
    assert_float_equal(cfx_slice_metrics_get(&m, "root_mean_squared_error"),
                       0.8139410298049853, 1e-12);
    assert_float_equal(cfx_slice_metrics_get(&m, "mean_label"), 2.25, 1e-12);
    assert_float_equal(cfx_slice_metrics_get(&m, "mean_prediction"), 2.3,
                       1e-12);
    assert_float_equal(cfx_slice_metrics_get(&m, "calibration"),
                       1.0222222222222221, 1e-12);
    assert_true(isnan(cfx_slice_metrics_get(&m, "binary_accuracy")));
    assert_true(isnan(cfx_slice_metrics_get(&m, "recall/classId:0")));
    cfx_slice_acc_free(&a);
    /* an empty slice: NaN, so a threshold on it fails */
    cfx_slice_acc_init(&a);
    cfx_slice_acc_set_task(&a, CFX_TASK_REGRESSION, 1);
    assert_int_equal(cfx_slice_metrics_compute(&a, NULL, 0, &m, &err), 0);
    assert_true(isnan(cfx_slice_metrics_get(&m, "mean_squared_error")));
    cfx_slice_acc_free(&a);
}

static void test_config_keys(void **state) {
    (void)state;
    static const char text[] =
        "{\"metrics_specs\": [{\"metrics\": ["
        "{\"class_name\": \"SparseCategoricalAccuracy\", \"threshold\": "
        "{\"value_threshold\": {\"lower_bound\": 0.9}}},"
        "{\"class_name\": \"Precision\", \"config\": \"{\\\"class_id\\\": 2}\","
        " \"threshold\": {\"value_threshold\": {\"lower_bound\": 0.5}}},"
        "{\"class_name\": \"Recall\", \"config\": {\"top_k\": 2}},"
        "{\"class_name\": \"MultiClassConfusionMatrixPlot\"},"
        "{\"class_name\": \"RootMeanSquaredError\", \"threshold\": "
        "{\"value_threshold\": {\"upper_bound\": 60}}}]}]}";
    cfx_eval_config_t c;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(
        cfx_eval_config_parse(text, strlen(text), "eval.json", &c, &err), 0);
    assert_int_equal(c.num_metrics, 5);
    assert_string_equal(c.metrics[0], "sparse_categorical_accuracy");
    assert_string_equal(c.metrics[1], "precision/classId:2");
    assert_string_equal(c.metrics[2], "recall/topK:2");
    assert_string_equal(c.metrics[3], "multi_class_confusion_matrix_plot");
    assert_string_equal(c.metrics[4], "root_mean_squared_error");
    assert_int_equal(c.num_thresholds, 3);
    assert_string_equal(c.thresholds[1].metric, "precision/classId:2");
    static const char *const bad[] = {
        /* class_id beyond the per-class metrics, both sub keys, a sub key
         * on another metric, a threshold on a plot */
        "{\"metrics_specs\": [{\"metrics\": [{\"class_name\": \"Precision\", "
        "\"config\": {\"class_id\": 64}}]}]}",
        "{\"metrics_specs\": [{\"metrics\": [{\"class_name\": \"Recall\", "
        "\"config\": {\"class_id\": 1, \"top_k\": 2}}]}]}",
        "{\"metrics_specs\": [{\"metrics\": [{\"class_name\": "
        "\"MeanSquaredError\", \"config\": {\"class_id\": 1}}]}]}",
        "{\"metrics_specs\": [{\"metrics\": [{\"class_name\": "
        "\"MultiClassConfusionMatrixPlot\", \"threshold\": "
        "{\"value_threshold\": {\"lower_bound\": 0}}}]}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(cfx_eval_config_parse(bad[i], strlen(bad[i]),
                                                   "eval.json", &c, &err),
                             0);
        assert_non_null(strstr(err.msg, "eval.json"));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multiclass),
        cmocka_unit_test(test_regression),
        cmocka_unit_test(test_config_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

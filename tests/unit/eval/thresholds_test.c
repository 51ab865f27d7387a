/*
 * thresholds_test.c: TFMA threshold semantics (eval/thresholds.c) — value
 * bounds inclusive, change thresholds in both directions with absolute and
 * relative bounds, NaN failing, dropped change thresholds without a
 * baseline — and the eval config parser on examples/taxi/eval.json and on
 * configs it must refuse (eval/eval_config.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_config.h"
#include "eval/thresholds.h"

static cfx_threshold_t value(const char *m, int hl, double lo, int hu,
                             double up) {
    cfx_threshold_t t;
    memset(&t, 0, sizeof t);
    snprintf(t.metric, sizeof t.metric, "%s", m);
    t.has_value = 1;
    t.has_lower = hl;
    t.lower = lo;
    t.has_upper = hu;
    t.upper = up;
    return t;
}

static cfx_threshold_t change(const char *m, cfx_direction_t d, int ha,
                              double abs_, int hr, double rel) {
    cfx_threshold_t t;
    memset(&t, 0, sizeof t);
    snprintf(t.metric, sizeof t.metric, "%s", m);
    t.has_change = 1;
    t.direction = d;
    t.has_absolute = ha;
    t.absolute = abs_;
    t.has_relative = hr;
    t.relative = rel;
    return t;
}

static void test_value_bounds(void **state) {
    (void)state;
    cfx_threshold_outcome_t o;
    cfx_threshold_t t = value("binary_accuracy", 1, 0.7, 0, 0);
    assert_int_equal(cfx_threshold_check_value(&t, 0.61, &o), 0);
    assert_string_equal(o.text, "binary_accuracy 0.61 < lower bound 0.7");
    assert_int_equal(cfx_threshold_check_value(&t, 0.7, &o), 1); /* inclusive */
    t = value("binary_crossentropy", 0, 0, 1, 0.3);
    assert_int_equal(cfx_threshold_check_value(&t, 0.3, &o), 1);
    assert_int_equal(cfx_threshold_check_value(&t, 0.31, &o), 0);
    assert_string_equal(o.text, "binary_crossentropy 0.31 > upper bound 0.3");
    t = value("auc", 1, 0.9, 1, 0.99);
    assert_int_equal(cfx_threshold_check_value(&t, 0.995, NULL), 0);
    assert_int_equal(cfx_threshold_check_value(&t, 0.95, NULL), 1);
    assert_int_equal(cfx_threshold_check_value(&t, NAN, &o),
                     0); /* not computed fails */
    assert_non_null(strstr(o.text, "not computed"));
}

static void test_change_thresholds(void **state) {
    (void)state;
    cfx_threshold_outcome_t o;
    /* "not worse than the baseline" */
    cfx_threshold_t t =
        change("auc", CFX_DIRECTION_HIGHER_IS_BETTER, 1, -1e-10, 0, 0);
    assert_int_equal(cfx_threshold_check_change(&t, 0.95, 0.95, &o),
                     1); /* equal passes */
    assert_int_equal(cfx_threshold_check_change(&t, 0.96, 0.95, &o), 1);
    assert_int_equal(cfx_threshold_check_change(&t, 0.94, 0.95, &o), 0);
    assert_non_null(strstr(o.text, "candidate 0.94"));
    assert_non_null(strstr(o.text, "baseline 0.95"));
    assert_non_null(strstr(o.text, "HIGHER_IS_BETTER"));
    /* must improve by 0.01 */
    t = change("auc", CFX_DIRECTION_HIGHER_IS_BETTER, 1, 0.01, 0, 0);
    assert_int_equal(cfx_threshold_check_change(&t, 0.955, 0.95, NULL), 0);
    assert_int_equal(cfx_threshold_check_change(&t, 0.965, 0.95, NULL), 1);
    /* loss may grow by at most 10 % of the baseline: diff / base <= 0.1 */
    t = change("binary_crossentropy", CFX_DIRECTION_LOWER_IS_BETTER, 0, 0, 1,
               0.1);
    assert_int_equal(cfx_threshold_check_change(&t, 0.32, 0.30, NULL),
                     1); /* +6.7 % */
    assert_int_equal(cfx_threshold_check_change(&t, 0.34, 0.30, &o),
                     0); /* +13.3 % */
    assert_non_null(strstr(o.text, "relative change"));
    /* both bounds: both must hold */
    t = change("auc", CFX_DIRECTION_HIGHER_IS_BETTER, 1, 0.0, 1, 0.05);
    assert_int_equal(cfx_threshold_check_change(&t, 0.52, 0.50, NULL),
                     0); /* +4 % */
    assert_int_equal(cfx_threshold_check_change(&t, 0.53, 0.50, NULL),
                     1); /* +6 % */
    assert_int_equal(cfx_threshold_check_change(&t, NAN, 0.50, NULL), 0);
}

static void test_validate_with_and_without_baseline(void **state) {
    (void)state;
    cfx_threshold_t ts[2];
    ts[0] = value("binary_accuracy", 1, 0.6, 0, 0);
    ts[1] = value("auc", 1, 0.9, 0, 0);
    cfx_threshold_t c =
        change("auc", CFX_DIRECTION_HIGHER_IS_BETTER, 1, -1e-10, 0, 0);
    ts[1].has_change = 1;
    ts[1].direction = c.direction;
    ts[1].has_absolute = 1;
    ts[1].absolute = c.absolute;
    cfx_slice_metrics_t cand, base;
    memset(&cand, 0, sizeof cand);
    memset(&base, 0, sizeof base);
    cand.binary_accuracy = 0.8;
    cand.auc = 0.93;
    base.auc = 0.94;
    char reason[512], passed[512];
    size_t checked;
    /* no baseline: the change bound is not checked */
    assert_int_equal(cfx_thresholds_validate(ts, 2, &cand, NULL, reason,
                                             sizeof reason, passed,
                                             sizeof passed, &checked),
                     0);
    assert_int_equal(checked, 2);
    assert_string_equal(reason, "");
    /* with a worse baseline comparison: one failure naming both values */
    assert_int_equal(cfx_thresholds_validate(ts, 2, &cand, &base, reason,
                                             sizeof reason, passed,
                                             sizeof passed, &checked),
                     1);
    assert_int_equal(checked, 3);
    assert_non_null(
        strstr(reason, "auc change -0.01 (candidate 0.93, baseline 0.94)"));
    cand.binary_accuracy = 0.5;
    assert_int_equal(cfx_thresholds_validate(ts, 2, &cand, &base, reason,
                                             sizeof reason, NULL, 0, NULL),
                     2);
    assert_non_null(strstr(reason, "binary_accuracy 0.5 < lower bound 0.6\n"));
}

static void test_taxi_eval_config(void **state) {
    (void)state;
    char path[4096];
    const char *src = getenv("CFX_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/examples/taxi/eval.json", src ? src : ".");
    cfx_eval_config_t *c = malloc(sizeof *c);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_eval_config_load(path, c, &err), 0);
    assert_string_equal(c->label_key, "tips_xf");
    assert_int_equal(c->num_slicing_specs, 3);
    assert_int_equal(c->slicing_specs[0].num_keys, 0);
    assert_string_equal(c->slicing_specs[1].keys[0], "trip_start_hour");
    assert_int_equal(c->slicing_specs[2].num_keys, 2);
    assert_int_equal(c->num_thresholds, 2);
    assert_string_equal(c->thresholds[0].metric, "binary_accuracy");
    assert_true(c->thresholds[0].has_lower && c->thresholds[0].lower == 0.6);
    assert_false(c->thresholds[0].has_change);
    assert_string_equal(c->thresholds[1].metric, "auc");
    assert_true(c->thresholds[1].lower == 0.9);
    assert_int_equal(c->thresholds[1].direction,
                     CFX_DIRECTION_HIGHER_IS_BETTER);
    assert_true(c->thresholds[1].absolute == -1e-10);
    assert_int_equal(c->num_confusion, 3);
    cfx_eval_config_drop_change_thresholds(c);
    assert_int_equal(c->num_thresholds, 2);
    assert_false(c->thresholds[1].has_change);
    /* what is written back parses to the same thresholds */
    char *json = cfx_eval_config_to_json(c);
    assert_non_null(json);
    cfx_eval_config_t *d = malloc(sizeof *d);
    assert_int_equal(
        cfx_eval_config_parse(json, strlen(json), "roundtrip", d, &err), 0);
    assert_int_equal(d->num_thresholds, 2);
    assert_true(d->thresholds[1].lower == 0.9);
    assert_int_equal(d->num_slicing_specs, 3);
    free(json);
    free(d);
    free(c);
}

static void refused(const char *text, int code, const char *needle) {
    cfx_eval_config_t *c = malloc(sizeof *c);
    cfx_error_t err;
    cfx_error_init(&err);
    int ret = cfx_eval_config_parse(text, strlen(text), "eval.json", c, &err);
    if (ret != code || !strstr(err.msg, needle))
        fail_msg("config %s: got %d '%s', want %d with '%s'", text, ret,
                 err.msg, code, needle);
    free(c);
}

static void test_config_refusals(void **state) {
    (void)state;
    refused(
        "{\"metrics_specs\": [{\"metrics\": [{\"class_name\": \"Bogus\"}]}]}",
        CFX_EUNSUPPORTED,
        "metrics_specs[0].metrics[0].class_name: unknown metric 'Bogus'");
    refused("{\"slicing_spec\": []}", CFX_EPARSE,
            "unknown member 'slicing_spec'");
    refused("{\"metrics_specs\": [{\"metrics\": [{\"class_name\": \"AUC\", "
            "\"threshold\": "
            "{\"value_threshold\": {\"lower_bund\": 0.9}}}]}]}",
            CFX_EPARSE, "unknown member 'lower_bund'");
    refused(
        "{\"metrics_specs\": [{\"metrics\": [{\"class_name\": \"AUC\", "
        "\"threshold\": "
        "{\"change_threshold\": {\"direction\": \"UP\", \"absolute\": 0}}}]}]}",
        CFX_EPARSE, "direction");
    refused("{\"metrics_specs\": [{\"thresholds\": {\"nope\": {}}}]}",
            CFX_EINVAL, "'nope'");
    refused("{\"slicing_specs\": [{\"feature_keys\": "
            "[\"a\",\"b\",\"c\",\"d\",\"e\"]}]}",
            CFX_ETOOBIG, "feature_keys");
    refused("{", CFX_EPARSE, "eval.json:");
    /* wrapped values and the map form of thresholds are accepted */
    cfx_eval_config_t *c = malloc(sizeof *c);
    const char *ok =
        "{\"metrics_specs\": [{\"thresholds\": {\"auc\": {\"value_threshold\": "
        "{\"lower_bound\": {\"value\": 0.5}}}}}]}";
    assert_int_equal(cfx_eval_config_parse(ok, strlen(ok), "x", c, NULL), 0);
    assert_true(c->num_thresholds == 1 && c->thresholds[0].lower == 0.5);
    assert_int_equal(c->num_slicing_specs, 1); /* default: overall */
    free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_bounds),
        cmocka_unit_test(test_change_thresholds),
        cmocka_unit_test(test_validate_with_and_without_baseline),
        cmocka_unit_test(test_taxi_eval_config),
        cmocka_unit_test(test_config_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

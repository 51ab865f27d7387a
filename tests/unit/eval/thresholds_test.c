/*
 * thresholds_test.c: TFMA threshold semantics (eval/thresholds.c) — value
 * bounds inclusive, change thresholds in both directions with absolute and
 * relative bounds, NaN failing, dropped change thresholds without a
 * baseline, unsliced thresholds on every slice (TFMA's validator) — and the
 * eval config parser on examples/taxi/eval.json and on
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

/* An unsliced threshold (every_slice: TFMA's slice spec None) or one on
 * the overall slice only ({}). */
static cfx_slice_threshold_t entry(cfx_threshold_t t, int every_slice) {
    cfx_slice_threshold_t e;
    memset(&e, 0, sizeof e);
    e.threshold = t;
    e.every_slice = every_slice;
    return e;
}

static void test_validate_with_and_without_baseline(void **state) {
    (void)state;
    cfx_slice_threshold_t ts[2];
    ts[0] = entry(value("binary_accuracy", 1, 0.6, 0, 0), 1);
    cfx_threshold_t auc = value("auc", 1, 0.9, 0, 0),
                    c = change("auc", CFX_DIRECTION_HIGHER_IS_BETTER, 1, -1e-10,
                               0, 0);
    auc.has_change = 1;
    auc.direction = c.direction;
    auc.has_absolute = 1;
    auc.absolute = c.absolute;
    ts[1] = entry(auc, 1);
    cfx_slicing_spec_t overall;
    memset(&overall, 0, sizeof overall);
    cfx_slice_metrics_t cand, base;
    memset(&cand, 0, sizeof cand);
    memset(&base, 0, sizeof base);
    cand.binary_accuracy = 0.8;
    cand.auc = 0.93;
    base.auc = 0.94;
    char reason[512] = "";
    size_t checked = 0, applied[2] = {0};
    /* no baseline: the change bound is not checked */
    assert_int_equal(cfx_slice_thresholds_validate(
                         ts, 2, &overall, "Overall", &cand, NULL, reason,
                         sizeof reason, NULL, applied, &checked),
                     0);
    assert_int_equal(checked, 2);
    assert_string_equal(reason, "");
    /* with a worse baseline: one failure naming the slice and both values */
    checked = 0;
    assert_int_equal(cfx_slice_thresholds_validate(
                         ts, 2, &overall, "Overall", &cand, &base, reason,
                         sizeof reason, NULL, applied, &checked),
                     1);
    assert_int_equal(checked, 3);
    assert_string_equal(reason,
                        "Overall: auc change -0.01 (candidate 0.93, baseline "
                        "0.94) < absolute -1e-10 (HIGHER_IS_BETTER)");
    cand.binary_accuracy = 0.5;
    reason[0] = 0;
    assert_int_equal(
        cfx_slice_thresholds_validate(ts, 2, &overall, "Overall", &cand, &base,
                                      reason, sizeof reason, NULL, NULL, NULL),
        2);
    assert_non_null(
        strstr(reason, "Overall: binary_accuracy 0.5 < lower bound 0.6\n"));
    assert_int_equal(applied[0], 2);
    assert_int_equal(applied[1], 2);
}

/* TFMA's validator checks a threshold with no slicing spec on every
 * computed slice, not only the overall one; {} only on the overall one. */
static void test_unsliced_on_every_slice(void **state) {
    (void)state;
    cfx_slicing_spec_t overall, hour, cross;
    memset(&overall, 0, sizeof overall);
    memset(&hour, 0, sizeof hour);
    memset(&cross, 0, sizeof cross);
    hour.num_keys = 1;
    snprintf(hour.keys[0], sizeof hour.keys[0], "hour");
    cross.num_keys = 2;
    snprintf(cross.keys[0], sizeof cross.keys[0], "day");
    snprintf(cross.keys[1], sizeof cross.keys[1], "pay");
    cfx_slice_threshold_t ts[2];
    ts[0] = entry(value("auc", 1, 0.9, 0, 0), 1); /* unsliced */
    ts[1] = entry(value("auc", 1, 0.9, 0, 0), 0); /* the same on {} */
    cfx_slice_metrics_t m;
    memset(&m, 0, sizeof m);
    char reason[512] = "";
    size_t applied[2] = {0}, checked = 0;
    struct {
        const cfx_slicing_spec_t *from;
        const char *name;
        double auc;
    } slices[] = {{&overall, "Overall", 0.85},
                  {&hour, "hour:3", 0.95},
                  {&hour, "hour:4", 0.7},
                  {&cross, "day_X_pay:1_X_Cash", NAN}};
    size_t failed = 0;
    for (size_t i = 0; i < 4; i++) {
        m.auc = slices[i].auc;
        failed += cfx_slice_thresholds_validate(
            ts, 2, slices[i].from, slices[i].name, &m, NULL, reason,
            sizeof reason, NULL, applied, &checked);
    }
    /* the unsliced bound on all four slices; on Overall the {} entry is the
     * same bound, checked and reported once (TFMA stores a failing
     * threshold once per slice); a one-class slice's NaN fails */
    assert_int_equal(failed, 3);
    assert_int_equal(checked, 4);
    assert_int_equal(applied[0], 4);
    assert_int_equal(applied[1], 1);
    assert_string_equal(reason,
                        "Overall: auc 0.85 < lower bound 0.9\n"
                        "hour:4: auc 0.7 < lower bound 0.9\n"
                        "day_X_pay:1_X_Cash: auc was not computed (value "
                        "threshold)");
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
    /* the bounds are for the whole eval set: per-slice thresholds on the
     * overall slice, not unsliced ones (those would gate every slice) */
    assert_int_equal(c->num_thresholds, 0);
    assert_int_equal(c->num_slice_thresholds, 2);
    const cfx_slice_threshold_t *e = c->slice_thresholds;
    for (size_t i = 0; i < 2; i++) {
        assert_false(e[i].every_slice);
        assert_int_equal(e[i].spec.num_keys + e[i].spec.num_values, 0);
    }
    assert_string_equal(e[0].threshold.metric, "binary_accuracy");
    assert_true(e[0].threshold.has_lower && e[0].threshold.lower == 0.6);
    assert_false(e[0].threshold.has_change);
    assert_string_equal(e[1].threshold.metric, "auc");
    assert_true(e[1].threshold.lower == 0.9);
    assert_int_equal(e[1].threshold.direction, CFX_DIRECTION_HIGHER_IS_BETTER);
    assert_true(e[1].threshold.absolute == -1e-10);
    assert_int_equal(c->num_confusion, 3);
    cfx_eval_config_drop_change_thresholds(c);
    assert_int_equal(c->num_slice_thresholds, 2);
    assert_false(c->slice_thresholds[1].threshold.has_change);
    /* what is written back parses to the same thresholds */
    char *json = cfx_eval_config_to_json(c);
    assert_non_null(json);
    cfx_eval_config_t *d = malloc(sizeof *d);
    assert_int_equal(
        cfx_eval_config_parse(json, strlen(json), "roundtrip", d, &err), 0);
    assert_int_equal(d->num_thresholds, 0);
    assert_int_equal(d->num_slice_thresholds, 2);
    assert_true(d->slice_thresholds[1].threshold.lower == 0.9);
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
            "(top level): unknown member 'slicing_spec' (did you mean "
            "'slicing_specs'?)");
    refused("{\"metrics_specs\": [{\"metrics\": [{\"class_name\": \"AUC\", "
            "\"threshold\": "
            "{\"value_threshold\": {\"lower_bund\": 0.9}}}]}]}",
            CFX_EPARSE,
            "metrics_specs[0].metrics[0].threshold.value_threshold: unknown "
            "member 'lower_bund' (did you mean 'lower_bound'?)");
    refused("{\"metrics_specs\": [{\"metrics\": [{\"class_name\": \"Auc\"}]}]}",
            CFX_EUNSUPPORTED, "unknown metric 'Auc' (did you mean 'AUC'?)");
    refused("{\"metrics_specs\": [{\"thresholds\": {\"acu\": "
            "{\"value_threshold\": {\"lower_bound\": 0.5}}}}]}",
            CFX_EINVAL,
            "metrics_specs[0].thresholds.acu: no threshold can apply to "
            "metric 'acu' (did you mean 'auc'?)");
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
        cmocka_unit_test(test_unsliced_on_every_slice),
        cmocka_unit_test(test_taxi_eval_config),
        cmocka_unit_test(test_config_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

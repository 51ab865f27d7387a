/*
 * per_slice_thresholds_test.c: TFMA's per_slice_thresholds — which computed
 * slices a threshold's SlicingSpec applies to (eval/slicing.c, TFMA's
 * is_slice_applicable), the per-slice check with its same-threshold rule
 * (eval/thresholds.c), and the config forms, refusals with their paths,
 * dropping change thresholds and writing back (eval/eval_config.c).
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
#include "eval/slicing.h"
#include "eval/thresholds.h"

/* A spec from up to two feature_keys and up to two "key=value" pins. */
static cfx_slicing_spec_t spec(const char *k1, const char *k2, const char *v1,
                               const char *v2) {
    cfx_slicing_spec_t s;
    memset(&s, 0, sizeof s);
    const char *keys[] = {k1, k2}, *vals[] = {v1, v2};
    for (size_t i = 0; i < 2; i++) {
        if (keys[i])
            snprintf(s.keys[s.num_keys++], CFX_SLICE_FEATURE_MAX, "%s",
                     keys[i]);
        if (vals[i]) {
            const char *eq = strchr(vals[i], '=');
            snprintf(s.value_keys[s.num_values], CFX_SLICE_FEATURE_MAX, "%.*s",
                     (int)(eq - vals[i]), vals[i]);
            snprintf(s.values[s.num_values++], CFX_SLICE_VALUE_MAX, "%s",
                     eq + 1);
        }
    }
    return s;
}

static void test_applies(void **state) {
    (void)state;
    cfx_slicing_spec_t overall = spec(NULL, NULL, NULL, NULL),
                       hour = spec("hour", NULL, NULL, NULL),
                       day = spec("day", NULL, NULL, NULL),
                       cross = spec("day", "pay", NULL, NULL),
                       cross_rev = spec("pay", "day", NULL, NULL),
                       hour3 = spec(NULL, NULL, "hour=3", NULL),
                       day_cash = spec("day", NULL, "pay=Cash", NULL),
                       pay_cash = spec(NULL, NULL, "pay=Cash", NULL);
    /* {} is the overall slice and nothing else */
    assert_true(cfx_slicing_spec_applies(&overall, &overall, "Overall"));
    assert_false(cfx_slicing_spec_applies(&overall, &hour, "hour:3"));
    assert_false(cfx_slicing_spec_applies(&hour, &overall, "Overall"));
    /* feature_keys: every slice over exactly those features */
    assert_true(cfx_slicing_spec_applies(&hour, &hour, "hour:3"));
    assert_true(cfx_slicing_spec_applies(&hour, &hour, "hour:23"));
    assert_false(cfx_slicing_spec_applies(&day, &hour, "hour:3"));
    assert_false(cfx_slicing_spec_applies(&day, &cross, "day_X_pay:1_X_Cash"));
    /* a cross in either order */
    assert_true(cfx_slicing_spec_applies(&cross, &cross, "day_X_pay:1_X_Cash"));
    assert_true(
        cfx_slicing_spec_applies(&cross_rev, &cross, "day_X_pay:1_X_Cash"));
    /* feature_values pins the value, whichever spec made the slice */
    assert_true(cfx_slicing_spec_applies(&hour3, &hour, "hour:3"));
    assert_false(cfx_slicing_spec_applies(&hour3, &hour, "hour:13"));
    assert_false(cfx_slicing_spec_applies(&hour3, &hour, "hour:30"));
    assert_true(
        cfx_slicing_spec_applies(&day_cash, &cross, "day_X_pay:7_X_Cash"));
    assert_false(cfx_slicing_spec_applies(&day_cash, &cross,
                                          "day_X_pay:7_X_Credit Card"));
    /* a slice made by a pinned spec is named after the pin: "pay:Cash" */
    assert_true(cfx_slicing_spec_applies(&pay_cash, &pay_cash, "pay:Cash"));
    cfx_slicing_spec_t pay = spec("pay", NULL, NULL, NULL);
    assert_true(cfx_slicing_spec_applies(&pay, &pay_cash, "pay:Cash"));
    assert_false(cfx_slicing_spec_applies(&hour3, &pay_cash, "pay:Cash"));
    /* a name that is not one of the spec's slices */
    assert_false(cfx_slicing_spec_applies(&hour, &hour, "hours:3"));
    assert_false(cfx_slicing_spec_applies(&cross, &cross, "day_X_pay:7"));

    /* whether a configured spec can ever produce a matching slice */
    assert_true(cfx_slicing_spec_can_apply(&hour3, &hour));
    assert_true(cfx_slicing_spec_can_apply(&cross_rev, &cross));
    assert_true(cfx_slicing_spec_can_apply(&day_cash, &cross));
    assert_true(cfx_slicing_spec_can_apply(&pay, &pay_cash));
    assert_false(cfx_slicing_spec_can_apply(&day, &cross));
    assert_false(cfx_slicing_spec_can_apply(&overall, &hour));
    cfx_slicing_spec_t pay_credit = spec(NULL, NULL, "pay=Credit", NULL);
    assert_false(cfx_slicing_spec_can_apply(&pay_credit, &pay_cash));
    assert_true(cfx_slicing_spec_equal(&cross, &cross));
    assert_false(cfx_slicing_spec_equal(&cross, &cross_rev));
    assert_false(cfx_slicing_spec_equal(&pay_cash, &pay_credit));
}

static cfx_slice_threshold_t entry(cfx_slicing_spec_t s, const char *metric,
                                   double lower) {
    cfx_slice_threshold_t e;
    memset(&e, 0, sizeof e);
    e.spec = s;
    snprintf(e.threshold.metric, sizeof e.threshold.metric, "%s", metric);
    e.threshold.has_value = e.threshold.has_lower = 1;
    e.threshold.lower = lower;
    return e;
}

static void test_validate_one_slice(void **state) {
    (void)state;
    cfx_slicing_spec_t hour = spec("hour", NULL, NULL, NULL),
                       hour3 = spec(NULL, NULL, "hour=3", NULL);
    cfx_slice_threshold_t ts[4];
    ts[0] = entry(hour, "auc", 0.8);
    ts[1] = entry(hour3, "auc", 0.8); /* the same bound again: checked once */
    ts[2] = entry(hour3, "binary_accuracy", 0.9);
    ts[3] = entry(hour, "binary_accuracy", 0.5);
    ts[3].threshold.has_change = 1;
    ts[3].threshold.direction = CFX_DIRECTION_HIGHER_IS_BETTER;
    ts[3].threshold.has_absolute = 1;
    ts[3].threshold.absolute = 0.0;
    cfx_slice_metrics_t m, b;
    memset(&m, 0, sizeof m);
    memset(&b, 0, sizeof b);
    m.auc = 0.71;
    m.binary_accuracy = 0.85;
    b.binary_accuracy = 0.875;
    char reason[512] = "";
    size_t applied[4] = {0}, checked = 0, omitted = 0;

    /* hour:3 without a baseline: auc once, accuracy 0.9, accuracy 0.5 */
    size_t failed = cfx_slice_thresholds_validate(ts, 4, &hour, "hour:3", &m,
                                                  NULL, reason, sizeof reason,
                                                  &omitted, applied, &checked);
    assert_int_equal(failed, 2);
    assert_int_equal(checked, 3);
    assert_string_equal(reason,
                        "hour:3: auc 0.71 < lower bound 0.8\n"
                        "hour:3: binary_accuracy 0.85 < lower bound 0.9");
    assert_int_equal(applied[0], 1);
    assert_int_equal(applied[1], 1);
    assert_int_equal(applied[2], 1);
    assert_int_equal(applied[3], 1);

    /* hour:4 with a baseline: the pinned entries do not apply; the change
     * 0.85 - 0.875 = -0.025 < 0 fails */
    reason[0] = 0;
    checked = 0;
    m.auc = 0.8; /* inclusive */
    failed = cfx_slice_thresholds_validate(ts, 4, &hour, "hour:4", &m, &b,
                                           reason, sizeof reason, &omitted,
                                           applied, &checked);
    assert_int_equal(failed, 1);
    assert_int_equal(checked, 3);
    assert_non_null(strstr(reason, "hour:4: binary_accuracy change -0.025 "
                                   "(candidate 0.85, baseline 0.875) < "
                                   "absolute 0"));
    assert_null(strchr(reason, '\n'));
    assert_int_equal(applied[0], 2);
    assert_int_equal(applied[1], 1);

    /* NaN (one class only) fails; a line that does not fit is counted,
     * never cut */
    m.auc = NAN;
    char small[24] = "";
    failed =
        cfx_slice_thresholds_validate(ts, 1, &hour, "hour:5", &m, NULL, small,
                                      sizeof small, &omitted, NULL, NULL);
    assert_int_equal(failed, 1);
    assert_string_equal(small, "");
    assert_int_equal(omitted, 1);
}

static int parse(const char *text, cfx_eval_config_t *c, cfx_error_t *err) {
    return cfx_eval_config_parse(text, strlen(text), "eval.json", c, err);
}

static void test_config_forms(void **state) {
    (void)state;
    cfx_eval_config_t *c = malloc(sizeof *c), *d = malloc(sizeof *d);
    cfx_error_t err;
    cfx_error_init(&err);
    const char *text =
        "{\"slicing_specs\": [{}, {\"feature_keys\": [\"trip_start_hour\"]}],"
        " \"metrics_specs\": [{\"metrics\": [{\"class_name\": \"AUC\","
        "   \"per_slice_thresholds\": [{\"slicing_specs\": [{\"feature_keys\":"
        "     [\"trip_start_hour\"]}, {}], \"threshold\": {\"value_threshold\":"
        "     {\"lower_bound\": {\"value\": 0.8}}}}]}],"
        "  \"per_slice_thresholds\": {\"binary_accuracy\": {\"thresholds\": ["
        "   {\"slicing_specs\": [{\"feature_values\": {\"trip_start_hour\": "
        "\"3\"}}],"
        "    \"threshold\": {\"change_threshold\": {\"direction\": "
        "\"LOWER_IS_BETTER\", \"relative\": 0.1}}}]}}}]}";
    assert_int_equal(parse(text, c, &err), 0);
    assert_int_equal(c->num_thresholds, 0);
    assert_int_equal(c->num_slice_thresholds, 3);
    assert_string_equal(c->slice_thresholds[0].threshold.metric, "auc");
    assert_true(c->slice_thresholds[0].threshold.lower == 0.8);
    assert_string_equal(c->slice_thresholds[0].spec.keys[0], "trip_start_hour");
    assert_string_equal(c->slice_thresholds[0].path,
                        "metrics_specs[0].metrics[0].per_slice_thresholds[0]."
                        "slicing_specs[0]");
    assert_int_equal(c->slice_thresholds[1].spec.num_keys, 0);
    assert_string_equal(c->slice_thresholds[2].path,
                        "metrics_specs[0].per_slice_thresholds."
                        "binary_accuracy.thresholds[0].slicing_specs[0]");
    assert_string_equal(c->slice_thresholds[2].spec.values[0], "3");
    assert_int_equal(c->slice_thresholds[2].threshold.direction,
                     CFX_DIRECTION_LOWER_IS_BETTER);
    /* the metric a threshold names is computed */
    int has_acc = 0;
    for (size_t i = 0; i < c->num_metrics; i++)
        has_acc |= !strcmp(c->metrics[i], "binary_accuracy");
    assert_true(has_acc);

    /* written back, it parses to the same entries */
    char *json = cfx_eval_config_to_json(c);
    assert_non_null(json);
    assert_int_equal(parse(json, d, &err), 0);
    assert_int_equal(d->num_slice_thresholds, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(cfx_slicing_spec_equal(&d->slice_thresholds[i].spec,
                                           &c->slice_thresholds[i].spec));
        assert_true(cfx_threshold_same(&d->slice_thresholds[i].threshold,
                                       &c->slice_thresholds[i].threshold,
                                       i == 2));
    }
    free(json);

    /* no baseline: the change-only entry goes, as TFMA clears it */
    cfx_eval_config_drop_change_thresholds(c);
    assert_int_equal(c->num_slice_thresholds, 2);
    assert_string_equal(c->slice_thresholds[1].threshold.metric, "auc");
    json = cfx_eval_config_to_json(c);
    assert_null(strstr(json, "change_threshold"));
    free(json);
    free(d);
    free(c);
}

static void refused(const char *text, int code, const char *needle) {
    cfx_eval_config_t *c = malloc(sizeof *c);
    cfx_error_t err;
    cfx_error_init(&err);
    int ret = parse(text, c, &err);
    if (ret != code || !strstr(err.msg, needle))
        fail_msg("config %s: got %d '%s', want %d with '%s'", text, ret,
                 err.msg, code, needle);
    free(c);
}

#define HOUR_SPECS                                                             \
    "\"slicing_specs\": [{\"feature_keys\": [\"trip_start_hour\"]}], "
#define VT "\"threshold\": {\"value_threshold\": {\"lower_bound\": 0.5}}"

static void test_config_refusals(void **state) {
    (void)state;
    /* a spec no configured slicing spec produces (TFMA: missing slice) */
    refused("{" HOUR_SPECS "\"metrics_specs\": [{\"per_slice_thresholds\": "
            "{\"auc\": {\"thresholds\": [{\"slicing_specs\": [{}, "
            "{\"feature_keys\": [\"trip_start_day\"]}], " VT "}]}}}]}",
            CFX_EINVAL,
            "eval.json: metrics_specs[0].per_slice_thresholds.auc."
            "thresholds[0].slicing_specs[1]: matches no slice");
    /* a cross is not its first feature */
    refused(
        "{\"slicing_specs\": [{\"feature_keys\": [\"a\", \"b\"]}], "
        "\"metrics_specs\": [{\"metrics\": [{\"class_name\": \"AUC\", "
        "\"per_slice_thresholds\": [{\"slicing_specs\": [{\"feature_keys\": "
        "[\"a\"]}], " VT "}]}]}]}",
        CFX_EINVAL,
        "metrics_specs[0].metrics[0].per_slice_thresholds[0]."
        "slicing_specs[0]: matches no slice");
    refused("{\"metrics_specs\": [{\"per_slice_thresholds\": {\"aucc\": "
            "{\"thresholds\": [{\"slicing_specs\": [{}], " VT "}]}}}]}",
            CFX_EINVAL,
            "metrics_specs[0].per_slice_thresholds.aucc.thresholds[0]: no "
            "threshold can apply to metric 'aucc'");
    refused("{\"metrics_specs\": [{\"metrics\": [{\"class_name\": "
            "\"ConfusionMatrixAtThresholds\", \"config\": {\"thresholds\": "
            "[0.5]}, \"per_slice_thresholds\": [{\"slicing_specs\": [{}], " VT
            "}]}]}]}",
            CFX_EINVAL, "no threshold can apply to metric");
    refused("{\"metrics_specs\": [{\"metrics\": [{\"class_name\": \"AUC\", "
            "\"per_slice_thresholds\": [{\"slicing_specs\": [{}], "
            "\"threshold\": {}}]}]}]}",
            CFX_EPARSE,
            "metrics_specs[0].metrics[0].per_slice_thresholds[0].threshold: "
            "needs a value_threshold and/or a change_threshold");
    refused("{\"metrics_specs\": [{\"metrics\": [{\"class_name\": \"AUC\", "
            "\"per_slice_thresholds\": [{\"slicing_specs\": [], " VT "}]}]}]}",
            CFX_EPARSE,
            "per_slice_thresholds[0].slicing_specs: expected a "
            "non-empty array");
    refused("{\"metrics_specs\": [{\"metrics\": [{\"class_name\": \"AUC\", "
            "\"per_slice_thresholds\": [{\"slicing_specs\": [{}]}]}]}]}",
            CFX_EPARSE, "per_slice_thresholds[0]: needs a threshold");
    refused("{\"metrics_specs\": [{\"metrics\": [{\"class_name\": \"AUC\", "
            "\"per_slice_thresholds\": {}}]}]}",
            CFX_EPARSE, "metrics[0].per_slice_thresholds: expected an array");
    refused("{\"metrics_specs\": [{\"per_slice_thresholds\": {\"auc\": "
            "[{\"slicing_specs\": [{}], " VT "}]}}]}",
            CFX_EPARSE, "per_slice_thresholds.auc: expected an object");
    refused("{\"metrics_specs\": [{\"per_slice_thresholds\": {\"auc\": "
            "{\"threshold\": []}}}]}",
            CFX_EPARSE, "per_slice_thresholds.auc: unknown member 'threshold'");
    refused(
        "{" HOUR_SPECS "\"metrics_specs\": [{\"per_slice_thresholds\": "
        "{\"auc\": {\"thresholds\": [{\"slicing_specs\": [{\"feature_key\": "
        "[\"trip_start_hour\"]}], " VT "}]}}}]}",
        CFX_EPARSE,
        "thresholds[0].slicing_specs[0]: unknown member 'feature_key'");
    refused(
        "{" HOUR_SPECS "\"metrics_specs\": [{\"per_slice_thresholds\": "
        "{\"auc\": {\"thresholds\": [{\"slicing_specs\": [{}], "
        "\"threshold\": {\"value_threshold\": {\"lower_bound\": \"x\"}}}]}}}]}",
        CFX_EPARSE,
        "thresholds[0].threshold.value_threshold.lower_bound: expected a "
        "number");

    /* more entries than the bound: 65 specs on one threshold */
    char *big = malloc(4096);
    size_t l = (size_t)snprintf(
        big, 4096,
        "{\"metrics_specs\": [{\"per_slice_thresholds\": {\"auc\": "
        "{\"thresholds\": [{\"slicing_specs\": [");
    for (int i = 0; i <= CFX_MAX_SLICE_THRESHOLDS; i++)
        l += (size_t)snprintf(big + l, 4096 - l, "%s{}", i ? ", " : "");
    snprintf(big + l, 4096 - l, "], " VT "}]}}}]}");
    refused(big, CFX_ETOOBIG, "slicing_specs[64]: more than 64 per-slice");
    free(big);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_applies),
        cmocka_unit_test(test_validate_one_slice),
        cmocka_unit_test(test_config_forms),
        cmocka_unit_test(test_config_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

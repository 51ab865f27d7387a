/*
 * validate_test.c: TFDV's anomaly checks (docs/validation.md) on hand-built
 * statistics: a column of a new type, a dropped column, a new column, a new
 * category, presence and valency, domains, severity overrides, and the
 * drift / skew comparators with hand-computed distances.
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

#include "data/validate.h"
#include "formats/pbcodec.h"
#include "schema_fixture.h"

#define PB(x) TENSORFLOW__METADATA__V0__##x
#define AT(x) TENSORFLOW__METADATA__V0__ANOMALY_INFO__TYPE__##x
#define SEV(x) TENSORFLOW__METADATA__V0__ANOMALY_INFO__SEVERITY__##x

typedef Tensorflow__Metadata__V0__AnomalyInfo info_t;

/* Train: 10 examples, fare FLOAT, company {A:6, B:4}, tips INT 0/1. */
static fx_ds_t *train_stats(void) {
    fx_ds_t *d = fx_ds_new(10);
    fx_add_num(d, "fare", FX_FLOAT, 10, 0, 1, 1, 0.5, 40);
    const char *company[] = {"A", "B"};
    double cc[] = {6, 4};
    fx_add_str(d, "company", 10, 0, 1, 1, company, cc, 2);
    fx_add_num(d, "tips", FX_INT, 10, 0, 1, 1, 0, 1);
    return d;
}

static cfx_schema_t *train_schema(void) {
    fx_ds_t *d = train_stats();
    cfx_schema_options_t opt = {.infer_feature_shape = 1};
    cfx_schema_t *s = NULL;
    assert_int_equal(cfx_schema_infer(d, &opt, &s, NULL), 0);
    fx_ds_free(d);
    return s;
}

static const info_t *find_info(const cfx_anomalies_t *a, const char *name) {
    for (size_t i = 0; i < a->n_anomaly_info; i++)
        if (!strcmp(a->anomaly_info[i]->key, name))
            return a->anomaly_info[i]->value;
    return NULL;
}

static void test_clean(void **state) {
    (void)state;
    cfx_schema_t *s = train_schema();
    fx_ds_t *d = train_stats();
    cfx_anomalies_t *a = NULL;
    assert_int_equal(cfx_validate_statistics(d, s, NULL, &a, NULL), 0);
    assert_int_equal(cfx_anomalies_count(a), 0);
    assert_null(a->dataset_anomaly_info);
    assert_non_null(a->baseline);
    assert_int_equal(a->baseline->n_feature, 3);
    assert_false(a->has_data_missing && a->data_missing);
    cfx_anomalies_free(a);
    /* No examples at all: data_missing, nothing else. */
    fx_ds_t *empty = fx_ds_new(0);
    assert_int_equal(cfx_validate_statistics(empty, s, NULL, &a, NULL), 0);
    assert_true(a->data_missing);
    assert_int_equal(cfx_anomalies_count(a), 0);
    cfx_anomalies_free(a);
    fx_ds_free(empty);
    fx_ds_free(d);
    cfx_schema_free(s);
}

/* Eval (12 examples): fare is now STRING, company has a new value C (2 of
 * 12 values: ~16%), tips is gone, extra is new. */
static fx_ds_t *drifted_eval(void) {
    fx_ds_t *d = fx_ds_new(12);
    const char *fare[] = {"12.5", "n/a"};
    double fc[] = {10, 2};
    fx_add_str(d, "fare", 12, 0, 1, 1, fare, fc, 2);
    const char *company[] = {"A", "B", "C"};
    double cc[] = {6, 4, 2};
    fx_add_str(d, "company", 12, 0, 1, 1, company, cc, 3);
    fx_add_num(d, "extra", FX_INT, 12, 0, 1, 1, 1, 9);
    return d;
}

/* A string feature with a domain and values that are not UTF-8: TFDV
 * reports ENUM_TYPE_INVALID_UTF8 alone (not the values as unexpected) and
 * drops the domain from the fixed schema. */
static void test_invalid_utf8(void **state) {
    (void)state;
    cfx_schema_t *s = train_schema();
    fx_ds_t *d = fx_ds_new(10);
    fx_add_num(d, "fare", FX_FLOAT, 10, 0, 1, 1, 0.5, 40);
    const char *company[] = {"A", "__BYTES_VALUE__"};
    double cc[] = {7, 3};
    fx_fs_t *f = fx_add_str(d, "company", 10, 0, 1, 1, company, cc, 2);
    f->string_stats->invalid_utf8_count = 3;
    fx_add_num(d, "tips", FX_INT, 10, 0, 1, 1, 0, 1);
    cfx_anomalies_t *a = NULL;
    assert_int_equal(cfx_validate_statistics(d, s, NULL, &a, NULL), 0);
    assert_int_equal(a->n_anomaly_info, 1);
    const info_t *i = find_info(a, "company");
    assert_non_null(i);
    assert_int_equal(i->n_reason, 1);
    assert_int_equal(i->reason[0]->type, AT(ENUM_TYPE_INVALID_UTF8));
    assert_string_equal(i->short_description, "Invalid UTF8 strings");
    assert_string_equal(i->description,
                        "Found strings that were not valid UTF8 strings.");
    assert_int_equal(i->severity, SEV(ERROR));
    cfx_anomalies_free(a);
    /* The same values, all valid: no anomaly. */
    f->string_stats->invalid_utf8_count = 0;
    assert_int_equal(cfx_validate_statistics(d, s, NULL, &a, NULL), 0);
    assert_int_equal(cfx_anomalies_count(a),
                     1); /* __BYTES_VALUE__ is off-domain */
    assert_int_equal(find_info(a, "company")->reason[0]->type,
                     AT(ENUM_TYPE_UNEXPECTED_STRING_VALUES));
    cfx_anomalies_free(a);
    fx_ds_free(d);
    cfx_schema_free(s);
}

static void test_schema_anomalies(void **state) {
    (void)state;
    cfx_schema_t *s = train_schema();
    fx_ds_t *d = drifted_eval();
    cfx_anomalies_t *a = NULL;
    assert_int_equal(cfx_validate_statistics(d, s, NULL, &a, NULL), 0);
    assert_int_equal(a->n_anomaly_info, 4);
    /* Keys in byte order. */
    assert_string_equal(a->anomaly_info[0]->key, "company");
    assert_string_equal(a->anomaly_info[1]->key, "extra");
    assert_string_equal(a->anomaly_info[2]->key, "fare");
    assert_string_equal(a->anomaly_info[3]->key, "tips");

    const info_t *i = find_info(a, "company");
    assert_int_equal(i->n_reason, 1);
    assert_int_equal(i->reason[0]->type,
                     AT(ENUM_TYPE_UNEXPECTED_STRING_VALUES));
    assert_string_equal(i->short_description, "Unexpected string values");
    assert_string_equal(
        i->description,
        "Examples contain values missing from the schema: C (~16%). ");
    assert_int_equal(i->severity, SEV(ERROR));
    assert_string_equal(i->path->step[0], "company");

    i = find_info(a, "extra");
    assert_int_equal(i->reason[0]->type, AT(SCHEMA_NEW_COLUMN));
    assert_string_equal(i->short_description, "New column");

    i = find_info(a, "fare");
    assert_int_equal(i->n_reason, 1);
    assert_int_equal(i->reason[0]->type, AT(UNEXPECTED_DATA_TYPE));
    assert_string_equal(i->description,
                        "Expected data of type: FLOAT but got STRING");

    i = find_info(a, "tips");
    assert_int_equal(i->reason[0]->type, AT(SCHEMA_MISSING_COLUMN));
    assert_string_equal(i->short_description, "Column dropped");
    assert_string_equal(i->description, "Column is completely missing");

    /* The baseline is the schema as given (not the fixed copy). */
    assert_int_equal(a->baseline->n_feature, 3);
    assert_int_equal(a->baseline->string_domain[0]->n_value, 2);
    cfx_anomalies_free(a);

    /* The input schema was not touched. */
    assert_int_equal(s->n_feature, 3);
    assert_false(cfx_schema_find(s, "tips")->has_lifecycle_stage);

    /* A deprecated feature is not reported missing. */
    cfx_schema_find(s, "tips")->has_lifecycle_stage = 1;
    cfx_schema_find(s, "tips")->lifecycle_stage =
        PB(LIFECYCLE_STAGE__DEPRECATED);
    assert_int_equal(cfx_validate_statistics(d, s, NULL, &a, NULL), 0);
    assert_null(find_info(a, "tips"));
    assert_int_equal(a->n_anomaly_info, 3);
    cfx_anomalies_free(a);
    fx_ds_free(d);
    cfx_schema_free(s);
}

static void test_presence_and_valency(void **state) {
    (void)state;
    cfx_schema_t *s = train_schema();
    /* company: value_count instead of shape, at most 1 value. */
    cfx_schema_feature_t *c = cfx_schema_find(s, "company");
    protobuf_c_message_free_unpacked(&c->shape->base, NULL);
    c->shape = NULL;
    c->value_count = calloc(1, sizeof *c->value_count);
    tensorflow__metadata__v0__value_count__init(c->value_count);
    c->value_count->has_min = c->value_count->has_max = 1;
    c->value_count->min = c->value_count->max = 1;
    c->shape_type_case = PB(FEATURE__SHAPE_TYPE_VALUE_COUNT);

    fx_ds_t *d = fx_ds_new(12);
    /* fare missing in 2 of 12: shape dropped and low fraction. */
    fx_add_num(d, "fare", FX_FLOAT, 10, 2, 1, 1, 1, 5);
    const char *company[] = {"A", "B"};
    double cc[] = {20, 4};
    fx_add_str(d, "company", 12, 0, 1, 3, company, cc, 2);
    fx_add_num(d, "tips", FX_INT, 12, 0, 1, 1, 0, 1);
    cfx_anomalies_t *a = NULL;
    assert_int_equal(cfx_validate_statistics(d, s, NULL, &a, NULL), 0);
    assert_int_equal(a->n_anomaly_info, 2);

    const info_t *i = find_info(a, "fare");
    assert_int_equal(i->n_reason, 2);
    assert_int_equal(i->reason[0]->type, AT(INVALID_FEATURE_SHAPE));
    assert_int_equal(i->reason[1]->type, AT(FEATURE_TYPE_LOW_FRACTION_PRESENT));
    assert_string_equal(
        i->reason[1]->description,
        "The feature was present in fewer examples than expected: "
        "minimum fraction = 1.000000, actual = 0.833333");
    assert_string_equal(i->short_description, "Multiple errors");
    /* The long description joins the reasons with a space. */
    assert_non_null(strstr(i->description,
                           "nested level) or its value lengths vary. "
                           "The feature was present"));

    i = find_info(a, "company");
    assert_int_equal(i->n_reason, 1);
    assert_int_equal(i->reason[0]->type, AT(FEATURE_TYPE_HIGH_NUMBER_VALUES));
    assert_string_equal(i->short_description, "Superfluous values");
    cfx_anomalies_free(a);
    fx_ds_free(d);
    cfx_schema_free(s);
}

static void test_domain_mass_and_ranges(void **state) {
    (void)state;
    cfx_schema_t *s = train_schema();
    fx_ds_t *d = drifted_eval();
    /* 2/12 = 0.1667 off the domain: tolerated with min_domain_mass 0.8. */
    cfx_schema_feature_t *c = cfx_schema_find(s, "company");
    c->distribution_constraints =
        calloc(1, sizeof *c->distribution_constraints);
    tensorflow__metadata__v0__distribution_constraints__init(
        c->distribution_constraints);
    c->distribution_constraints->has_min_domain_mass = 1;
    c->distribution_constraints->min_domain_mass = 0.8;
    cfx_anomalies_t *a = NULL;
    assert_int_equal(cfx_validate_statistics(d, s, NULL, &a, NULL), 0);
    assert_null(find_info(a, "company"));
    cfx_anomalies_free(a);
    c->distribution_constraints->min_domain_mass = 0.9;
    assert_int_equal(cfx_validate_statistics(d, s, NULL, &a, NULL), 0);
    assert_non_null(find_info(a, "company"));
    cfx_anomalies_free(a);
    fx_ds_free(d);

    /* Integer range: a domain [0, 10] against values in [-1, 12]. */
    fx_ds_t *d2 = fx_ds_new(10);
    fx_add_num(d2, "n", FX_INT, 10, 0, 1, 1, -1, 12);
    cfx_schema_options_t opt = {.infer_feature_shape = 1};
    cfx_schema_t *s2 = NULL;
    assert_int_equal(cfx_schema_infer(d2, &opt, &s2, NULL), 0);
    cfx_schema_feature_t *n = cfx_schema_find(s2, "n");
    n->int_domain = calloc(1, sizeof *n->int_domain);
    tensorflow__metadata__v0__int_domain__init(n->int_domain);
    n->int_domain->has_min = n->int_domain->has_max = 1;
    n->int_domain->min = 0;
    n->int_domain->max = 10;
    n->domain_info_case = PB(FEATURE__DOMAIN_INFO_INT_DOMAIN);
    assert_int_equal(cfx_validate_statistics(d2, s2, NULL, &a, NULL), 0);
    const info_t *i = find_info(a, "n");
    assert_int_equal(i->n_reason, 2);
    assert_int_equal(i->reason[0]->type, AT(INT_TYPE_SMALL_INT));
    assert_string_equal(i->reason[0]->description,
                        "Unexpectedly small value: -1.");
    assert_int_equal(i->reason[1]->type, AT(INT_TYPE_BIG_INT));
    assert_string_equal(i->reason[1]->description,
                        "Unexpectedly large value: 12.");
    cfx_anomalies_free(a);
    fx_ds_free(d2);
    cfx_schema_free(s2);
    cfx_schema_free(s);
}

static void test_severity_overrides(void **state) {
    (void)state;
    cfx_schema_t *s = train_schema();
    fx_ds_t *d = drifted_eval();
    cfx_validation_config_t cfg;
    tensorflow__data_validation__validation_config__init(&cfg);
    Tensorflow__DataValidation__SeverityOverride o1, o2, *os[] = {&o1, &o2};
    tensorflow__data_validation__severity_override__init(&o1);
    tensorflow__data_validation__severity_override__init(&o2);
    o1.has_type = o1.has_severity = 1;
    o1.type = AT(SCHEMA_NEW_COLUMN);
    o1.severity = SEV(WARNING);
    o2.has_type = o2.has_severity = 1;
    o2.type = AT(SCHEMA_MISSING_COLUMN);
    o2.severity = SEV(WARNING);
    cfg.severity_overrides = os;
    cfg.n_severity_overrides = 2;
    cfx_validate_options_t opt;
    memset(&opt, 0, sizeof opt);
    opt.config = &cfg;
    cfx_anomalies_t *a = NULL;
    assert_int_equal(cfx_validate_statistics(d, s, &opt, &a, NULL), 0);
    assert_int_equal(find_info(a, "extra")->severity, SEV(WARNING));
    assert_int_equal(find_info(a, "tips")->severity, SEV(WARNING));
    assert_int_equal(find_info(a, "fare")->severity, SEV(ERROR));
    cfx_anomalies_free(a);
    /* The deprecated flag alone. */
    cfg.n_severity_overrides = 0;
    cfg.has_new_features_are_warnings = cfg.new_features_are_warnings = 1;
    assert_int_equal(cfx_validate_statistics(d, s, &opt, &a, NULL), 0);
    assert_int_equal(find_info(a, "extra")->severity, SEV(WARNING));
    assert_int_equal(find_info(a, "tips")->severity, SEV(ERROR));
    cfx_anomalies_free(a);
    fx_ds_free(d);
    cfx_schema_free(s);
}

static Tensorflow__Metadata__V0__FeatureComparator *comparator(void) {
    Tensorflow__Metadata__V0__FeatureComparator *c = calloc(1, sizeof *c);
    tensorflow__metadata__v0__feature_comparator__init(c);
    return c;
}

/* company current {A:6,B:4} vs previous {A:5,B:5}: L-inf = 0.1 (tie, the
 * later value B), normalized abs difference = 1/20 = 0.05. Against serving
 * {A:3,B:1} (.75,.25): JSD(.6,.4 || .75,.25) = 0.018621763074265267. */
static void test_drift_and_skew(void **state) {
    (void)state;
    cfx_schema_t *s = train_schema();
    fx_ds_t *cur = train_stats();
    fx_ds_t *prev = fx_ds_new(10);
    const char *ab[] = {"A", "B"};
    double pc[] = {5, 5}, sc[] = {3, 1};
    fx_add_str(prev, "company", 10, 0, 1, 1, ab, pc, 2);
    fx_ds_t *serving = fx_ds_new(4);
    fx_add_str(serving, "company", 4, 0, 1, 1, ab, sc, 2);

    cfx_schema_feature_t *c = cfx_schema_find(s, "company");
    c->drift_comparator = comparator();
    c->drift_comparator->infinity_norm =
        calloc(1, sizeof(Tensorflow__Metadata__V0__InfinityNorm));
    tensorflow__metadata__v0__infinity_norm__init(
        c->drift_comparator->infinity_norm);
    c->drift_comparator->infinity_norm->has_threshold = 1;
    c->drift_comparator->infinity_norm->threshold = 0.05;
    c->drift_comparator->normalized_abs_difference = calloc(
        1, sizeof(Tensorflow__Metadata__V0__NormalizedAbsoluteDifference));
    tensorflow__metadata__v0__normalized_absolute_difference__init(
        c->drift_comparator->normalized_abs_difference);
    c->drift_comparator->normalized_abs_difference->has_threshold = 1;
    c->drift_comparator->normalized_abs_difference->threshold = 0.06;
    c->skew_comparator = comparator();
    c->skew_comparator->jensen_shannon_divergence =
        calloc(1, sizeof(Tensorflow__Metadata__V0__JensenShannonDivergence));
    tensorflow__metadata__v0__jensen_shannon_divergence__init(
        c->skew_comparator->jensen_shannon_divergence);
    c->skew_comparator->jensen_shannon_divergence->has_threshold = 1;
    c->skew_comparator->jensen_shannon_divergence->threshold = 0.01;
    /* tips compared against serving, which lacks it. */
    cfx_schema_feature_t *t = cfx_schema_find(s, "tips");
    t->skew_comparator = comparator();
    t->skew_comparator->infinity_norm =
        calloc(1, sizeof(Tensorflow__Metadata__V0__InfinityNorm));
    tensorflow__metadata__v0__infinity_norm__init(
        t->skew_comparator->infinity_norm);
    t->skew_comparator->infinity_norm->has_threshold = 1;
    t->skew_comparator->infinity_norm->threshold = 0.1;

    cfx_validate_options_t opt;
    memset(&opt, 0, sizeof opt);
    cfx_anomalies_t *a = NULL;
    /* Without the other statistics nothing is compared. */
    assert_int_equal(cfx_validate_statistics(cur, s, &opt, &a, NULL), 0);
    assert_int_equal(cfx_anomalies_count(a), 0);
    assert_int_equal(a->n_drift_skew_info, 0);
    cfx_anomalies_free(a);

    opt.previous = prev;
    opt.serving = serving;
    assert_int_equal(cfx_validate_statistics(cur, s, &opt, &a, NULL), 0);
    const info_t *i = find_info(a, "company");
    assert_non_null(i);
    assert_int_equal(i->n_reason, 2);
    assert_int_equal(i->reason[0]->type, AT(COMPARATOR_L_INFTY_HIGH));
    assert_string_equal(i->reason[0]->short_description,
                        "High Linfty distance between current and previous");
    assert_string_equal(
        i->reason[0]->description,
        "The Linfty distance between current and previous is 0.1 (up to "
        "six significant digits), above the threshold 0.05. The feature "
        "value with maximum difference is: B");
    assert_int_equal(i->reason[1]->type,
                     AT(COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH));
    assert_string_equal(
        i->reason[1]->description,
        "The approximate Jensen-Shannon divergence between training and "
        "serving is 0.0186218 (up to six significant digits), above the "
        "threshold 0.01.");
    i = find_info(a, "tips");
    assert_int_equal(i->reason[0]->type, AT(COMPARATOR_CONTROL_DATA_MISSING));
    assert_string_equal(i->short_description, "serving data missing");

    /* Every comparison made is reported, anomaly or not. */
    assert_int_equal(a->n_drift_skew_info, 1);
    Tensorflow__Metadata__V0__DriftSkewInfo *dsi = a->drift_skew_info[0];
    assert_string_equal(dsi->path->step[0], "company");
    assert_int_equal(dsi->n_drift_measurements, 2);
    assert_int_equal(
        dsi->drift_measurements[0]->type,
        TENSORFLOW__METADATA__V0__DRIFT_SKEW_INFO__MEASUREMENT__TYPE__L_INFTY);
    assert_true(fabs(dsi->drift_measurements[0]->value - 0.1) < 1e-12);
    assert_int_equal(
        dsi->drift_measurements[1]->type,
        TENSORFLOW__METADATA__V0__DRIFT_SKEW_INFO__MEASUREMENT__TYPE__NORMALIZED_ABSOLUTE_DIFFERENCE);
    assert_true(fabs(dsi->drift_measurements[1]->value - 0.05) < 1e-12);
    assert_int_equal(dsi->n_skew_measurements, 1);
    assert_true(fabs(dsi->skew_measurements[0]->value - 0.018621763074265267) <
                1e-12);
    assert_true(dsi->skew_measurements[0]->threshold == 0.01);
    cfx_anomalies_free(a);

    fx_ds_free(cur);
    fx_ds_free(prev);
    fx_ds_free(serving);
    cfx_schema_free(s);
}

static void test_dataset_constraints(void **state) {
    (void)state;
    cfx_schema_t *s = train_schema();
    s->dataset_constraints = calloc(1, sizeof *s->dataset_constraints);
    tensorflow__metadata__v0__dataset_constraints__init(s->dataset_constraints);
    s->dataset_constraints->has_min_examples_count = 1;
    s->dataset_constraints->min_examples_count = 100;
    fx_ds_t *d = train_stats();
    cfx_anomalies_t *a = NULL;
    assert_int_equal(cfx_validate_statistics(d, s, NULL, &a, NULL), 0);
    assert_int_equal(a->n_anomaly_info, 0);
    assert_non_null(a->dataset_anomaly_info);
    assert_int_equal(a->dataset_anomaly_info->reason[0]->type,
                     AT(DATASET_LOW_NUM_EXAMPLES));
    assert_null(a->dataset_anomaly_info->path);
    assert_int_equal(cfx_anomalies_count(a), 1);
    cfx_anomalies_free(a);
    fx_ds_free(d);
    cfx_schema_free(s);
}

/* A schema as TFDV may write it, with semantic domains and a sparse feature
 * cfx does not validate: it reads, a BYTES feature's struct domain is
 * reported (and freed by the fix pass), the image domain is accepted. */
static void test_tfdv_schema_extras(void **state) {
    (void)state;
    const char *text =
        "feature { name: \"img\" type: BYTES image_domain { "
        "max_image_byte_size: 9 }\n"
        "          presence { min_count: 1 } }\n"
        "feature { name: \"s\" type: BYTES struct_domain { feature { name: "
        "\"x\" } } }\n"
        "feature { name: \"t\" type: INT time_domain { integer_format: "
        "UNIX_SECONDS } }\n"
        "sparse_feature { name: \"sp\" index_feature { name: \"i\" }\n"
        "                 value_feature { name: \"v\" } }\n";
    ProtobufCMessage *m = NULL;
    cfx_error_t e;
    cfx_error_init(&e);
    int rc = cfx_pb_text_parse(&tensorflow__metadata__v0__schema__descriptor,
                               text, strlen(text), &m, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    cfx_schema_t *s = (cfx_schema_t *)m;
    assert_int_equal(s->n_sparse_feature, 1);
    fx_ds_t *d = fx_ds_new(5);
    const char *v[] = {"a"};
    double c[] = {5};
    fx_add_str(d, "img", 5, 0, 1, 1, v, c, 1)->type =
        TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__BYTES;
    fx_add_str(d, "s", 5, 0, 1, 1, v, c, 1)->type =
        TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__BYTES;
    fx_add_num(d, "t", FX_INT, 5, 0, 1, 1, 1e9, 2e9);
    cfx_anomalies_t *a = NULL;
    assert_int_equal(cfx_validate_statistics(d, s, NULL, &a, NULL), 0);
    assert_int_equal(a->n_anomaly_info, 1);
    assert_string_equal(a->anomaly_info[0]->key, "s");
    assert_int_equal(a->anomaly_info[0]->value->reason[0]->type,
                     AT(DOMAIN_INVALID_FOR_TYPE));
    cfx_anomalies_free(a);
    fx_ds_free(d);
    cfx_schema_free(s);
}

/* tips is a label: only in TRAINING. Serving data without it is clean in
 * the SERVING environment; with it, tips is reported as out of place. */
static void test_environments(void **state) {
    (void)state;
    cfx_schema_t *s = train_schema();
    s->default_environment = calloc(2, sizeof(char *));
    s->default_environment[0] = strdup("TRAINING");
    s->default_environment[1] = strdup("SERVING");
    s->n_default_environment = 2;
    cfx_schema_feature_t *t = cfx_schema_find(s, "tips");
    t->not_in_environment = calloc(1, sizeof(char *));
    t->not_in_environment[0] = strdup("SERVING");
    t->n_not_in_environment = 1;

    fx_ds_t *serving = fx_ds_new(10);
    fx_add_num(serving, "fare", FX_FLOAT, 10, 0, 1, 1, 1, 9);
    const char *ab[] = {"A", "B"};
    double c[] = {5, 5};
    fx_add_str(serving, "company", 10, 0, 1, 1, ab, c, 2);
    cfx_validate_options_t opt;
    memset(&opt, 0, sizeof opt);
    cfx_anomalies_t *a = NULL;
    /* No environment: tips is required, hence missing. */
    assert_int_equal(cfx_validate_statistics(serving, s, &opt, &a, NULL), 0);
    assert_non_null(find_info(a, "tips"));
    cfx_anomalies_free(a);
    opt.environment = "SERVING";
    assert_int_equal(cfx_validate_statistics(serving, s, &opt, &a, NULL), 0);
    assert_int_equal(cfx_anomalies_count(a), 0);
    cfx_anomalies_free(a);
    /* TRAINING data in SERVING: tips is there although it should not be. */
    fx_ds_t *train = train_stats();
    assert_int_equal(cfx_validate_statistics(train, s, &opt, &a, NULL), 0);
    const info_t *i = find_info(a, "tips");
    assert_non_null(i);
    assert_int_equal(i->reason[0]->type, AT(SCHEMA_NEW_COLUMN));
    assert_string_equal(i->description,
                        "New column tips found in data but not in the "
                        "environment SERVING in the schema.");
    cfx_anomalies_free(a);
    fx_ds_free(train);
    fx_ds_free(serving);
    cfx_schema_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_schema_anomalies),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_presence_and_valency),
        cmocka_unit_test(test_domain_mass_and_ranges),
        cmocka_unit_test(test_severity_overrides),
        cmocka_unit_test(test_drift_and_skew),
        cmocka_unit_test(test_dataset_constraints),
        cmocka_unit_test(test_tfdv_schema_extras),
        cmocka_unit_test(test_environments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

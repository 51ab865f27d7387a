/* model_identity_test.c: the verdict of a blessing folder, written in its
 * safe order and switched from one answer to the other; which baselines may
 * be compared with a candidate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "eval/model_identity.h"
#include "test_util.h"

static char dir[256];

static int exists(const char *d, const char *name) {
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", d, name);
    return stat(p, &st) == 0;
}

static void expect_file(const char *d, const char *name, const char *want) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", d, name);
    size_t n = 0;
    uint8_t *got = cfx_test_read_file(p, &n);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(got, want, n);
    free(got);
}

static void test_write_verdict(void **state) {
    (void)state;
    char model[300], other[300], bless[300];
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(other, sizeof other, "%s/other", dir);
    snprintf(bless, sizeof bless, "%s/blessing", dir);
    assert_int_equal(mkdir(model, 0755), 0);
    assert_int_equal(mkdir(other, 0755), 0);
    assert_int_equal(mkdir(bless, 0755), 0);
    cfx_test_write_file_in(model, "manifest.json", "{\"model\": 1}\n");
    cfx_test_write_file_in(other, "manifest.json", "{\"model\": 2}\n");
    cfx_error_t err;
    cfx_error_init(&err);

    assert_int_equal(cfx_model_identity_write_verdict(bless, model, 1,
                                                      "BLESSED", "NOT_BLESSED",
                                                      "auc >= 0.5", &err),
                     0);
    assert_true(exists(bless, "BLESSED"));
    assert_false(exists(bless, "NOT_BLESSED"));
    expect_file(bless, "BLESSED", "");
    expect_file(bless, "reason", "auc >= 0.5\n");
    assert_int_equal(cfx_model_identity_check(bless, model, &err), 0);
    assert_int_equal(cfx_model_identity_check(bless, other, &err),
                     CFX_ENOTBLESSED);

    /* The same folder reused for the other answer holds only that one. */
    assert_int_equal(cfx_model_identity_write_verdict(
                         bless, other, 0, "BLESSED", "NOT_BLESSED",
                         "auc 0.4 < 0.5\nloss too high", &err),
                     0);
    assert_false(exists(bless, "BLESSED"));
    assert_true(exists(bless, "NOT_BLESSED"));
    expect_file(bless, "reason", "auc 0.4 < 0.5\nloss too high\n");
    assert_int_equal(cfx_model_identity_check(bless, other, &err), 0);

    /* A folder that cannot be written: an error naming it, no marker. */
    char gone[320];
    snprintf(gone, sizeof gone, "%s/missing", dir);
    assert_int_equal(cfx_model_identity_write_verdict(gone, model, 1, "YES",
                                                      "NO", "x", &err),
                     CFX_EIO);
    assert_non_null(strstr(err.msg, "missing"));
    assert_false(exists(gone, "YES"));
}

static int setup(void **state) {
    (void)state;
    return cfx_test_tmpdir_make(dir, sizeof dir, "cfx_model_identity");
}

/* A bundle folder holding only what cfx_model_identity_comparable reads. */
static void fake_bundle(char *out, size_t cap, const char *name,
                        const char *label, const char *sig,
                        const char *pipeline) {
    char text[1024];
    snprintf(out, cap, "%s/%s", dir, name);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(text, sizeof text,
             "{\"signatures\": {\"serving_default\": %s}, \"training\": "
             "{\"seed\": 42%s%s%s}}",
             sig, pipeline ? ", \"pipeline\": \"" : "",
             pipeline ? pipeline : "", pipeline ? "\"" : "");
    cfx_test_write_file_in(out, "manifest.json", text);
    snprintf(text, sizeof text, "{\"format_version\": 1, \"label\": %s}",
             label);
    cfx_test_write_file_in(out, "transform.json", text);
}

/* Which baselines may be compared with a candidate, and the reason given
 * for the others. */
static void test_comparable(void **state) {
    (void)state;
    static const char *const taxi =
        "{\"name\": \"tips_xf\", \"op\": \"greater_than\", \"input\": "
        "\"tips\", \"threshold_input\": \"fare\", \"threshold_scale\": 0.2, "
        "\"threshold\": 0, \"nan_value\": 0}";
    static const char *const taxi_30 =
        "{\"name\": \"tips_xf\", \"op\": \"greater_than\", \"input\": "
        "\"tips\", \"threshold_input\": \"fare\", \"threshold_scale\": 0.3, "
        "\"threshold\": 0, \"nan_value\": 0}";
    static const char *const sig =
        "{\"method_name\": \"tensorflow/serving/predict\"}";
    static const char *const sig2 =
        "{\"method_name\": \"tensorflow/serving/classify\"}";
    static const struct {
        const char *name, *label, *sig, *pipeline, *why;
    } cases[] = {
        {"same", NULL, NULL, "taxi", ""},
        {"no_pipeline", NULL, NULL, NULL, ""}, /* unknown: not judged */
        {"other_pipeline", NULL, NULL, "taxi_b",
         "another pipeline: the candidate was trained by pipeline 'taxi', "
         "the baseline by 'taxi_b'"},
        {"other_label",
         "{\"name\": \"y\", \"op\": \"greater_than\", "
         "\"input\": \"y\", \"threshold_input\": null, "
         "\"threshold_scale\": 1, \"threshold\": 0.5, "
         "\"nan_value\": 0}",
         NULL, "taxi",
         "another label: the candidate's is 'tips_xf' = tips > 0.2 * fare, "
         "the baseline's 'y' = y > 0.5"},
        {"other_threshold", NULL, NULL, "taxi",
         "another label: the candidate's is 'tips_xf' = tips > 0.2 * fare, "
         "the baseline's 'tips_xf' = tips > 0.3 * fare"},
        {"no_label", "null", NULL, "taxi",
         "another label: the candidate's is 'tips_xf' = tips > 0.2 * fare, "
         "the baseline's none"},
        {"other_sig", NULL, "x", "taxi",
         "another signature: 'serving_default' is present in the candidate, "
         "different in the baseline"},
    };
    char cand[300], base[300], why[512];
    cfx_error_t err;
    cfx_error_init(&err);
    fake_bundle(cand, sizeof cand, "cand", taxi, sig, "taxi");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *label = cases[i].label ? cases[i].label : taxi;
        if (!strcmp(cases[i].name, "other_threshold"))
            label = taxi_30;
        fake_bundle(base, sizeof base, cases[i].name, label,
                    cases[i].sig ? sig2 : sig, cases[i].pipeline);
        int rc = cfx_model_identity_comparable(cand, base, "serving_default",
                                               why, sizeof why, &err);
        assert_int_equal(rc, cases[i].why[0] ? 1 : 0);
        if (strcmp(why, cases[i].why))
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name, why,
                     cases[i].why);
    }
    /* a signature the config names that neither has */
    assert_int_equal(cfx_model_identity_comparable(cand, cand, "predict_raw",
                                                   why, sizeof why, &err),
                     1);
    assert_string_equal(why, "another signature: 'predict_raw' is absent in "
                             "the candidate, absent in the baseline");
    /* a baseline that is no bundle: an error naming the file */
    snprintf(base, sizeof base, "%s/missing", dir);
    assert_true(cfx_model_identity_comparable(cand, base, "serving_default",
                                              why, sizeof why, &err) < 0);
    assert_non_null(strstr(err.msg, "missing/manifest.json"));
}

static int teardown(void **state) {
    (void)state;
    return cfx_test_rm_rf(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_verdict),
        cmocka_unit_test(test_comparable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * transform_spec_test.c: the transform spec parser — the taxi spec, the
 * defaults, and every refusal naming the file, the output and the key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transform/tft_spec.h"

static void test_taxi_spec(void **state) {
    (void)state;
    const char *src = getenv("CFX_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/taxi/transform.json",
             src ? src : ".");
    cfx_tft_spec_t spec;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_tft_spec_load(path, &spec, &err);
    if (rc < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(spec.num_outputs, 16);
    assert_string_equal(spec.outputs[0].name, "fare_xf");
    assert_int_equal(spec.outputs[0].op, CFX_XF_OP_Z_SCORE);
    size_t vocab = 0, buckets = 0, ident = 0;
    for (size_t i = 0; i < spec.num_outputs; i++) {
        const cfx_xf_spec_output_t *o = &spec.outputs[i];
        if (o->op == CFX_XF_OP_VOCABULARY) {
            vocab++;
            assert_int_equal(o->top_k, 1000);
            assert_int_equal(o->num_oov_buckets, 10);
        } else if (o->op == CFX_XF_OP_BUCKETIZE) {
            buckets++;
            assert_int_equal(o->num_buckets, 10);
        } else if (o->op == CFX_XF_OP_IDENTITY) {
            ident++;
            assert_true(o->cardinality > 0);
        }
    }
    assert_int_equal(vocab, 4);
    assert_int_equal(buckets, 4);
    assert_int_equal(ident, 5);
    assert_string_equal(spec.label.name, "tips_xf");
    assert_string_equal(spec.label.input, "tips");
    assert_string_equal(spec.label.threshold_input, "fare");
    assert_true(spec.label.threshold_scale == 0.2);
    cfx_tft_spec_free(&spec);
}

static void test_defaults_and_constant_threshold(void **state) {
    (void)state;
    const char *text =
        "{\"outputs\": [{\"name\": \"v\", \"op\": \"vocabulary\", "
        "\"input\": \"w\"}, {\"name\": \"h\", \"op\": \"identity\", "
        "\"input\": \"n\"}], \"label\": {\"name\": \"l\", \"op\": "
        "\"greater_than\", \"input\": \"y\", \"threshold\": 0.5}}";
    cfx_tft_spec_t spec;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(
        cfx_tft_spec_parse(text, strlen(text), "t.json", &spec, &err), 0);
    assert_int_equal(spec.outputs[0].top_k, 0);           /* no cut */
    assert_int_equal(spec.outputs[0].num_oov_buckets, 1); /* >= 1 */
    assert_int_equal(spec.outputs[1].cardinality, 0);     /* inferred */
    assert_int_equal(spec.outputs[1].default_value, 0);
    assert_null(spec.label.threshold_input);
    assert_true(spec.label.threshold_const == 0.5);
    assert_true(spec.label.nan_value == 0.0);
    cfx_tft_spec_free(&spec);

    /* no label at all */
    const char *nolabel = "{\"outputs\": [{\"name\": \"z\", \"op\": "
                          "\"z_score\", \"input\": \"x\"}]}";
    assert_int_equal(
        cfx_tft_spec_parse(nolabel, strlen(nolabel), "t.json", &spec, &err), 0);
    assert_null(spec.label.name);
    cfx_tft_spec_free(&spec);
}

static void refused(const char *text, const char *needle) {
    cfx_tft_spec_t spec;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_tft_spec_parse(text, strlen(text), "spec.json", &spec, &err);
    if (rc >= 0)
        fail_msg("accepted: %s", text);
    assert_int_equal(rc, CFX_EPARSE);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' does not contain '%s'", err.msg, needle);
    assert_null(spec.outputs);
}

static void test_refusals(void **state) {
    (void)state;
    refused("{\"outputs\": [", "spec.json:1:");
    refused("[]", "must be a JSON object");
    refused("{\"outputs\": []}", "\"outputs\" must be an array of 1");
    refused("{\"outputs\": [{\"name\": \"a\", \"op\": \"z_score\", \"input\": "
            "\"x\"}], \"inputs\": []}",
            "unknown key 'inputs'");
    refused("{\"outputs\": [{\"name\": \"a\", \"op\": \"z_score\", \"input\": "
            "\"x\", \"top_k\": 3}]}",
            "spec.json: outputs[0] ('a'): unknown key 'top_k'");
    refused("{\"outputs\": [{\"name\": \"a\", \"op\": \"scale\", \"input\": "
            "\"x\"}]}",
            "\"op\" must be one of");
    refused("{\"outputs\": [{\"op\": \"z_score\", \"input\": \"x\"}]}",
            "outputs[0]: missing \"name\"");
    refused("{\"outputs\": [{\"name\": \"b\", \"op\": \"bucketize\", "
            "\"input\": \"x\"}]}",
            "('b'): missing \"num_buckets\"");
    refused("{\"outputs\": [{\"name\": \"b\", \"op\": \"bucketize\", "
            "\"input\": \"x\", \"num_buckets\": 0}]}",
            "\"num_buckets\" must be an integer in [1, 65536]");
    refused("{\"outputs\": [{\"name\": \"v\", \"op\": \"vocabulary\", "
            "\"input\": \"x\", \"num_oov_buckets\": 0}]}",
            "\"num_oov_buckets\" must be an integer in [1,");
    refused("{\"outputs\": [{\"name\": \"h\", \"op\": \"identity\", "
            "\"input\": \"x\", \"cardinality\": 5, \"default_value\": 5}]}",
            "\"default_value\" 5 is not below \"cardinality\" 5");
    refused("{\"outputs\": [{\"name\": \"a\", \"op\": \"z_score\", \"input\": "
            "\"x\"}, {\"name\": \"a\", \"op\": \"z_score\", \"input\": "
            "\"y\"}]}",
            "outputs[1]: duplicate output name 'a'");
    refused("{\"outputs\": [{\"name\": \"a\", \"op\": \"z_score\", \"input\": "
            "\"x\"}], \"label\": {\"name\": \"a\", \"op\": \"greater_than\", "
            "\"input\": \"y\", \"threshold\": 1}}",
            "name 'a' is also an output");
    refused("{\"outputs\": [{\"name\": \"a\", \"op\": \"z_score\", \"input\": "
            "\"x\"}], \"label\": {\"name\": \"l\", \"op\": \"less_than\", "
            "\"input\": \"y\", \"threshold\": 1}}",
            "\"op\" must be \"greater_than\"");
    refused("{\"outputs\": [{\"name\": \"a\", \"op\": \"z_score\", \"input\": "
            "\"x\"}], \"label\": {\"name\": \"l\", \"op\": \"greater_than\", "
            "\"input\": \"y\", \"threshold\": {\"input\": \"f\", \"scal\": "
            "2}}}",
            "label.threshold: unknown key 'scal'");
    refused("{\"outputs\": [{\"name\": \"v\", \"op\": \"vocabulary\", "
            "\"input\": \"x\", \"top_kk\": 5}]}",
            "spec.json: outputs[0] ('v'): unknown key 'top_kk' (did you mean "
            "'top_k'?)");
    refused("{\"outputs\": [{\"name\": \"a\", \"op\": \"z_score\", \"input\": "
            "\"x\"}], \"lable\": {}}",
            "spec.json: unknown key 'lable' (did you mean 'label'?)");
    /* an identity label is the class itself: no threshold to give */
    refused("{\"outputs\": [{\"name\": \"a\", \"op\": \"z_score\", \"input\": "
            "\"x\"}], \"label\": {\"name\": \"l\", \"op\": \"identity\", "
            "\"input\": \"y\", \"threshold\": 1}}",
            "spec.json: label: unknown key 'threshold'");
    refused("{\"outputs\": [{\"name\": \"a\", \"op\": \"z_score\", \"input\": "
            "\"x\", \"input\": \"y\"}]}",
            "spec.json:1:");
}

static void test_cross_and_log(void **state) {
    (void)state;
    const char *text =
        "{\"outputs\": ["
        "{\"name\": \"l\", \"op\": \"log_z_score\", \"input\": \"fare\"},"
        "{\"name\": \"h\", \"op\": \"identity\", \"input\": \"hour\"},"
        "{\"name\": \"b\", \"op\": \"bucketize\", \"input\": \"x\", "
        "\"num_buckets\": 4},"
        "{\"name\": \"hb\", \"op\": \"cross\", \"inputs\": [\"h\", \"b\"]},"
        "{\"name\": \"hbh\", \"op\": \"cross\", \"inputs\": [\"hb\", \"h\"], "
        "\"hash_bucket_size\": 100}]}";
    cfx_tft_spec_t spec;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_tft_spec_parse(text, strlen(text), "s", &spec, &err);
    if (rc < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(spec.num_outputs, 5);
    assert_int_equal(spec.outputs[0].op, CFX_XF_OP_LOG_Z_SCORE);
    assert_string_equal(cfx_xf_op_name(spec.outputs[0].op), "log_z_score");
    assert_int_equal(spec.outputs[3].op, CFX_XF_OP_CROSS);
    assert_null(spec.outputs[3].input);
    assert_int_equal(spec.outputs[3].num_cross_inputs, 2);
    assert_string_equal(spec.outputs[3].cross_inputs[0], "h");
    assert_string_equal(spec.outputs[3].cross_inputs[1], "b");
    assert_int_equal(spec.outputs[3].hash_bucket_size, 0);
    assert_int_equal(spec.outputs[4].hash_bucket_size, 100);
    assert_string_equal(cfx_xf_op_name(spec.outputs[4].op), "cross");
    cfx_tft_spec_free(&spec);

#define HB                                                                     \
    "{\"name\": \"h\", \"op\": \"identity\", \"input\": \"hour\"},"            \
    "{\"name\": \"z\", \"op\": \"z_score\", \"input\": \"x\"},"
    refused("{\"outputs\": [" HB "{\"name\": \"c\", \"op\": \"cross\", "
            "\"inputs\": [\"h\", \"z\"]}]}",
            "spec.json: outputs[2] ('c'): inputs[1] 'z' is not categorical");
    refused("{\"outputs\": [" HB "{\"name\": \"c\", \"op\": \"cross\", "
            "\"inputs\": [\"h\", \"later\"]}, {\"name\": \"later\", \"op\": "
            "\"identity\", \"input\": \"d\"}]}",
            "inputs[1] 'later' is not an earlier output");
    refused("{\"outputs\": [" HB "{\"name\": \"c\", \"op\": \"cross\", "
            "\"inputs\": [\"h\", \"c\"]}]}",
            "inputs[1] 'c' is not an earlier output");
    refused("{\"outputs\": [" HB "{\"name\": \"c\", \"op\": \"cross\", "
            "\"inputs\": [\"h\", \"h\"]}]}",
            "inputs[1] 'h' is named twice");
    refused("{\"outputs\": [" HB "{\"name\": \"c\", \"op\": \"cross\", "
            "\"inputs\": [\"h\"]}]}",
            "('c'): \"inputs\" must be an array of 2 to 8");
    refused("{\"outputs\": [" HB "{\"name\": \"c\", \"op\": \"cross\", "
            "\"inputs\": [\"h\", \"z\"], \"input\": \"x\"}]}",
            "('c'): unknown key 'input'");
    refused("{\"outputs\": [" HB "{\"name\": \"c\", \"op\": \"cross\", "
            "\"inputs\": [\"h\", 3]}]}",
            "inputs[1] must be a non-empty string");
    refused("{\"outputs\": [" HB "{\"name\": \"c\", \"op\": \"cross\", "
            "\"inputs\": [\"h\", \"z\"], \"hash_bucket_size\": 0}]}",
            "\"hash_bucket_size\" must be an integer in [1, 16777216]");
    refused("{\"outputs\": [{\"name\": \"l\", \"op\": \"log_z_score\"}]}",
            "missing \"input\"");
#undef HB
}

/* "op": "identity": the input is the class, written as input > 0.5. */
static void test_identity_label(void **state) {
    (void)state;
    const char *t = "{\"outputs\": [{\"name\": \"a\", \"op\": \"z_score\", "
                    "\"input\": \"x\"}], \"label\": {\"name\": \"l\", \"op\": "
                    "\"identity\", \"input\": \"y\", \"nan_value\": 1}}";
    cfx_tft_spec_t spec;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_tft_spec_parse(t, strlen(t), "spec.json", &spec, &err) < 0)
        fail_msg("%s", err.msg);
    assert_true(spec.label.is_class);
    assert_string_equal(spec.label.input, "y");
    assert_null(spec.label.threshold_input);
    assert_true(spec.label.threshold_const == 0.5);
    assert_true(spec.label.nan_value == 1.0);
    cfx_tft_spec_free(&spec);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taxi_spec),
        cmocka_unit_test(test_defaults_and_constant_threshold),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_cross_and_log),
        cmocka_unit_test(test_identity_label),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* task_test.c: the head (model/task.h): softmax, sigmoid and the
 * regression affine against values from numpy (tolerance 1e-7), the JSON
 * form and its errors; and the transform graph's class and value labels
 * (model/transform.h): strings, integers and integral floats looked up in
 * the label vocabulary, regression values, and the errors that name the
 * column and the value. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/example.h"
#include "model/task.h"
#include "model/transform.h"
#include "test_util.h"

CFX_TEST_TMPDIR_FIXTURE(dir, 512, "cfx_task_test")

/* numpy: z = [1, 2, -0.5]; exp(z - max) / sum -> 0.253716182, 0.689672086,
 * 0.0566117322 */
static void test_head_apply(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    const char *labels[] = {"a", "b", "c"};
    cfx_head_t h;
    CFX_TEST_OK(cfx_head_init(&h, CFX_TASK_MULTICLASS, 3, labels, &err), err);
    assert_int_equal(cfx_head_num_logits(&h), 3);
    assert_int_equal(cfx_head_output_width(&h), 3);
    float z[6] = {1.0f, 2.0f, -0.5f, 1000.0f, 1000.0f, 1000.0f};
    cfx_head_apply(&h, z, 2, z);
    assert_float_equal(z[0], 0.253716182, 1e-7);
    assert_float_equal(z[1], 0.689672086, 1e-7);
    assert_float_equal(z[2], 0.0566117322, 1e-7);
    for (int k = 3; k < 6; k++) /* no overflow: max subtracted first */
        assert_float_equal(z[k], 1.0 / 3.0, 1e-7);
    cfx_head_free(&h);

    CFX_TEST_OK(cfx_head_init_binary(&h, &err), err);
    assert_string_equal(h.class_labels[0], "0");
    assert_string_equal(h.class_labels[1], "1");
    float b[2] = {0.0f, -2.0f};
    cfx_head_apply(&h, b, 2, b);
    assert_float_equal(b[0], 0.5, 1e-7);
    assert_float_equal(b[1], 0.119202922, 1e-7); /* 1 / (1 + e^2) */
    cfx_head_free(&h);

    CFX_TEST_OK(cfx_head_init(&h, CFX_TASK_REGRESSION, 0, NULL, &err), err);
    assert_int_equal(h.num_classes, 0);
    h.label_mean = 150.0;
    h.label_std = 20.0;
    float r[2] = {0.5f, -1.25f};
    cfx_head_apply(&h, r, 2, r);
    assert_float_equal(r[0], 160.0, 1e-4);
    assert_float_equal(r[1], 125.0, 1e-4);
    cfx_head_free(&h);

    assert_int_equal(cfx_head_init(&h, CFX_TASK_BINARY, 3, labels, &err),
                     CFX_EINVAL);
    assert_int_equal(cfx_head_init(&h, CFX_TASK_MULTICLASS, 1, labels, &err),
                     CFX_EINVAL);
}

static void test_head_json(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    const char *labels[] = {"setosa", "versicolor", "virginica"};
    cfx_head_t h, back;
    CFX_TEST_OK(cfx_head_init(&h, CFX_TASK_MULTICLASS, 3, labels, &err), err);
    json_t *j = cfx_head_to_json(&h);
    assert_non_null(j);
    CFX_TEST_OK(cfx_head_from_json(j, "head", &back, &err), err);
    assert_true(cfx_head_same_classes(&h, &back));
    assert_string_equal(back.class_labels[2], "virginica");
    json_decref(j);
    cfx_head_free(&back);
    /* no head: the binary one */
    CFX_TEST_OK(cfx_head_from_json(NULL, "head", &back, &err), err);
    assert_int_equal(back.task, CFX_TASK_BINARY);
    assert_false(cfx_head_same_classes(&h, &back));
    cfx_head_free(&back);
    cfx_head_free(&h);
    static const char *const bad[] = {
        "{\"task\": \"ranking\", \"n_classes\": 0, \"label_vocabulary\": []}",
        "{\"task\": \"multiclass\", \"n_classes\": 3, "
        "\"label_vocabulary\": [\"a\", \"b\"]}",
        "{\"task\": \"regression\", \"n_classes\": 0, \"label_vocabulary\": "
        "[], \"label_std\": 0}",
        "{\"task\": \"binary\", \"n_classes\": 2, \"label_vocabulary\": "
        "[\"x\", 3]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *b = json_loads(bad[i], 0, NULL);
        assert_non_null(b);
        assert_int_not_equal(
            cfx_head_from_json(b, "manifest.json: head", &back, &err), 0);
        assert_non_null(strstr(err.msg, "manifest.json: head"));
        json_decref(b);
    }
}

static cfx_transform_t *load_graph(const char *label_json) {
    char text[2048];
    snprintf(text, sizeof text,
             "{\"format_version\": 1, \"inputs\": [{\"name\": \"x\", "
             "\"kind\": \"float\"}], \"outputs\": [{\"name\": \"x_xf\", "
             "\"op\": \"z_score\", \"input\": \"x\", \"mean\": 0, \"var\": "
             "1}], \"label\": %s}",
             label_json);
    cfx_test_write_file_in(dir, "transform.json", text);
    cfx_transform_t *t = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_transform_load(dir, &t, &err), err);
    return t;
}

static void test_class_label(void **state) {
    (void)state;
    cfx_transform_t *t =
        load_graph("{\"name\": \"sp_xf\", \"op\": \"class\", \"task\": "
                   "\"multiclass\", \"input\": \"sp\", \"label_vocabulary\": "
                   "[\"3\", \"7\", \"setosa\"]}");
    const cfx_head_t *h = cfx_transform_label_head(t);
    assert_non_null(h);
    assert_int_equal(h->task, CFX_TASK_MULTICLASS);
    assert_int_equal(h->num_classes, 3);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_example_t ex, out;
    cfx_example_init(&ex);
    cfx_example_init(&out);
    float y = -1;
    cfx_bytes_t s = {(const uint8_t *)"setosa", 6};
    assert_int_equal(cfx_example_add_bytes(&ex, "sp", &s, 1), 0);
    CFX_TEST_OK(cfx_transform_label(t, &ex, &y, &err), err);
    assert_float_equal(y, 2.0, 0);
    /* the transformed example holds the class as int64 */
    CFX_TEST_OK(cfx_transform_apply_example(t, &ex, &out, &err), err);
    const cfx_feature_t *f = cfx_example_find(&out, "sp_xf");
    assert_non_null(f);
    assert_int_equal(f->kind, CFX_KIND_INT64);
    assert_int_equal(f->v.ints[0], 2);
    cfx_example_reset(&ex);
    int64_t seven = 7;
    assert_int_equal(cfx_example_add_int64(&ex, "sp", &seven, 1), 0);
    CFX_TEST_OK(cfx_transform_label(t, &ex, &y, &err), err);
    assert_float_equal(y, 1.0, 0);
    cfx_example_reset(&ex);
    float three = 3.0f;
    assert_int_equal(cfx_example_add_float(&ex, "sp", &three, 1), 0);
    CFX_TEST_OK(cfx_transform_label(t, &ex, &y, &err), err);
    assert_float_equal(y, 0.0, 0);
    /* errors name the column and the value */
    cfx_example_reset(&ex);
    cfx_bytes_t bad = {(const uint8_t *)"rosa", 4};
    assert_int_equal(cfx_example_add_bytes(&ex, "sp", &bad, 1), 0);
    assert_int_equal(cfx_transform_label(t, &ex, &y, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "'sp'"));
    assert_non_null(strstr(err.msg, "\"rosa\""));
    cfx_example_reset(&ex);
    float half = 2.5f;
    assert_int_equal(cfx_example_add_float(&ex, "sp", &half, 1), 0);
    assert_int_equal(cfx_transform_label(t, &ex, &y, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "2.5"));
    cfx_example_reset(&ex);
    assert_int_equal(cfx_transform_label(t, &ex, &y, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "missing"));
    cfx_example_free(&ex);
    cfx_example_free(&out);
    cfx_transform_free(t);
}

static void test_value_label(void **state) {
    (void)state;
    cfx_transform_t *t =
        load_graph("{\"name\": \"y_xf\", \"op\": \"value\", \"task\": "
                   "\"regression\", \"input\": \"y\"}");
    const cfx_head_t *h = cfx_transform_label_head(t);
    assert_int_equal(h->task, CFX_TASK_REGRESSION);
    assert_int_equal(h->num_classes, 0);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_example_t ex, out;
    cfx_example_init(&ex);
    cfx_example_init(&out);
    int64_t v = 151;
    assert_int_equal(cfx_example_add_int64(&ex, "y", &v, 1), 0);
    float y = 0;
    CFX_TEST_OK(cfx_transform_label(t, &ex, &y, &err), err);
    assert_float_equal(y, 151.0, 0);
    CFX_TEST_OK(cfx_transform_apply_example(t, &ex, &out, &err), err);
    const cfx_feature_t *f = cfx_example_find(&out, "y_xf");
    assert_int_equal(f->kind, CFX_KIND_FLOAT);
    assert_float_equal(f->v.floats[0], 151.0, 0);
    cfx_example_reset(&ex);
    float nan = NAN;
    assert_int_equal(cfx_example_add_float(&ex, "y", &nan, 1), 0);
    assert_int_equal(cfx_transform_label(t, &ex, &y, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "'y'"));
    cfx_example_free(&ex);
    cfx_example_free(&out);
    cfx_transform_free(t);
    /* the derived label keeps its binary head "0", "1" */
    t = load_graph("{\"name\": \"t_xf\", \"op\": \"greater_than\", \"input\": "
                   "\"x\", \"threshold_input\": null, \"threshold_scale\": 1, "
                   "\"threshold\": 0.5, \"nan_value\": 0}");
    h = cfx_transform_label_head(t);
    assert_int_equal(h->task, CFX_TASK_BINARY);
    assert_string_equal(h->class_labels[1], "1");
    cfx_transform_free(t);
}

static void test_bad_class_graph(void **state) {
    (void)state;
    static const char *const bad[] = {
        "{\"name\": \"a\", \"op\": \"class\", \"task\": \"regression\", "
        "\"input\": \"a\", \"label_vocabulary\": [\"x\", \"y\"]}",
        "{\"name\": \"a\", \"op\": \"class\", \"task\": \"multiclass\", "
        "\"input\": \"a\", \"label_vocabulary\": [\"x\"]}",
        "{\"name\": \"a\", \"op\": \"class\", \"task\": \"multiclass\", "
        "\"input\": \"a\", \"label_vocabulary\": [\"x\", \"x\"]}",
        "{\"name\": \"a\", \"op\": \"class\", \"task\": \"binary\", "
        "\"input\": \"a\", \"label_vocabulary\": [\"x\", \"y\", \"z\"]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"format_version\": 1, \"inputs\": [{\"name\": \"x\", "
                 "\"kind\": \"float\"}], \"outputs\": [{\"name\": \"x_xf\", "
                 "\"op\": \"z_score\", \"input\": \"x\", \"mean\": 0, "
                 "\"var\": 1}], \"label\": %s}",
                 bad[i]);
        cfx_test_write_file_in(dir, "transform.json", text);
        cfx_transform_t *t = NULL;
        cfx_error_t err;
        cfx_error_init(&err);
        assert_int_not_equal(cfx_transform_load(dir, &t, &err), 0);
        assert_null(t);
        assert_non_null(strstr(err.msg, "label"));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_apply),
        cmocka_unit_test(test_head_json),
        cmocka_unit_test_setup_teardown(test_class_label, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_label, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_class_graph, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

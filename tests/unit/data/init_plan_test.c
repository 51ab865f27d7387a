/* init_plan_test.c: the choices of `cfx init` (data/init_plan.h) on column
 * profiles written by hand, and the distinct-value count over a TFRecord
 * file of examples built here (expected counts counted by hand). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "data/init_plan.h"
#include "formats/buf.h"
#include "formats/example.h"
#include "formats/tfrecord.h"
#include "test_util.h"

CFX_TEST_TMPDIR_FIXTURE(tmpdir, 256, "cfx-init-plan-test")

static cfx_init_column_t col(const char *name, cfx_init_kind_t kind,
                             uint64_t rows, uint64_t distinct) {
    cfx_init_column_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "%s", name);
    c.kind = kind;
    c.rows = c.present = rows;
    c.distinct = distinct;
    c.integral = kind != CFX_INIT_KIND_STRING;
    c.mean = c.median = 5;
    c.std_dev = 2;
    c.min = -1;
    c.max = 11;
    return c;
}

static cfx_init_task_t task_of(const cfx_init_column_t *c,
                               cfx_init_task_t asked, char *reason) {
    cfx_init_task_t t = CFX_INIT_TASK_AUTO;
    cfx_error_t err;
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_init_choose_task(c, asked, &t, reason, 256, &err), err);
    return t;
}

static void test_task_auto(void **state) {
    (void)state;
    char why[256];
    cfx_init_column_t c = col("species", CFX_INIT_KIND_STRING, 100, 3);
    assert_int_equal(task_of(&c, CFX_INIT_TASK_AUTO, why),
                     CFX_INIT_TASK_MULTICLASS);
    assert_non_null(strstr(why, "string column with 3 distinct values"));
    c.distinct = 2;
    assert_int_equal(task_of(&c, CFX_INIT_TASK_AUTO, why),
                     CFX_INIT_TASK_BINARY);
    c = col("cultivar", CFX_INIT_KIND_INT, 100, 3);
    assert_int_equal(task_of(&c, CFX_INIT_TASK_AUTO, why),
                     CFX_INIT_TASK_MULTICLASS);
    assert_non_null(strstr(why, "integer column with only 3 distinct"));
    c.distinct = CFX_INIT_MAX_INT_CLASSES;
    assert_int_equal(task_of(&c, CFX_INIT_TASK_AUTO, why),
                     CFX_INIT_TASK_MULTICLASS);
    c.distinct = CFX_INIT_MAX_INT_CLASSES + 1;
    assert_int_equal(task_of(&c, CFX_INIT_TASK_AUTO, why),
                     CFX_INIT_TASK_REGRESSION);
    assert_non_null(strstr(why, "a quantity, not classes"));
    c.distinct = 2;
    assert_int_equal(task_of(&c, CFX_INIT_TASK_AUTO, why),
                     CFX_INIT_TASK_BINARY);
    c = col("y", CFX_INIT_KIND_FLOAT, 100, 3);
    assert_int_equal(task_of(&c, CFX_INIT_TASK_AUTO, why),
                     CFX_INIT_TASK_REGRESSION);
    assert_non_null(strstr(why, "float column"));
    c.distinct = CFX_INIT_DISTINCT_CAP + 1;
    assert_int_equal(task_of(&c, CFX_INIT_TASK_AUTO, why),
                     CFX_INIT_TASK_REGRESSION);
    assert_non_null(strstr(why, "more than 1000 distinct"));
}

static void test_task_asked(void **state) {
    (void)state;
    char why[256];
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_init_task_t t;
    /* an integer label with few values may be asked to be a quantity */
    cfx_init_column_t c = col("rating", CFX_INIT_KIND_INT, 100, 5);
    assert_int_equal(task_of(&c, CFX_INIT_TASK_REGRESSION, why),
                     CFX_INIT_TASK_REGRESSION);
    assert_non_null(strstr(why, "as asked"));
    assert_int_equal(
        cfx_init_choose_task(&c, CFX_INIT_TASK_BINARY, &t, why, 256, &err),
        CFX_EINVAL);
    assert_string_equal(err.msg, "--task binary: label column 'rating' has 5 "
                                 "distinct values, not 2");
    c = col("name", CFX_INIT_KIND_STRING, 100, 4);
    assert_int_equal(
        cfx_init_choose_task(&c, CFX_INIT_TASK_REGRESSION, &t, why, 256, &err),
        CFX_EINVAL);
    assert_non_null(strstr(err.msg, "is a string column, not a number"));
    c = col("y", CFX_INIT_KIND_FLOAT, 100, 4);
    assert_int_equal(
        cfx_init_choose_task(&c, CFX_INIT_TASK_MULTICLASS, &t, why, 256, &err),
        CFX_EINVAL);
    assert_non_null(strstr(err.msg, "is a float column"));
}

static void test_task_refused(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_init_task_t t;
    char why[256];
    cfx_init_column_t c = col("y", CFX_INIT_KIND_FLOAT, 100, 50);
    c.present = 97;
    assert_int_equal(
        cfx_init_choose_task(&c, CFX_INIT_TASK_AUTO, &t, why, 256, &err),
        CFX_EINVAL);
    assert_string_equal(err.msg, "label column 'y' is missing in 3 of 100 "
                                 "train rows: drop or fill those rows first");
    c = col("y", CFX_INIT_KIND_INT, 100, 1);
    assert_int_equal(
        cfx_init_choose_task(&c, CFX_INIT_TASK_AUTO, &t, why, 256, &err),
        CFX_EINVAL);
    assert_non_null(strstr(err.msg, "single value"));
    c = col("y", CFX_INIT_KIND_NONE, 100, 0);
    c.present = 0;
    assert_int_equal(
        cfx_init_choose_task(&c, CFX_INIT_TASK_AUTO, &t, why, 256, &err),
        CFX_EINVAL);
    assert_non_null(strstr(err.msg, "no value in any train row"));
}

static void test_transforms(void **state) {
    (void)state;
    cfx_init_xf_t xf;
    /* symmetric numeric, few rows: a z-score alone */
    cfx_init_column_t c = col("x", CFX_INIT_KIND_FLOAT, 150, 40);
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_Z_SCORE);
    assert_int_equal(xf.num_buckets, 0);
    /* enough rows for 10 buckets of 100 */
    c.rows = c.present = 1000;
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_Z_SCORE);
    assert_int_equal(xf.num_buckets, 10);
    assert_non_null(strstr(xf.reason, "10 quantile buckets"));
    c.rows = c.present = 999;
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.num_buckets, 0);
    /* skewed non-negative: 3 (12 - 8) / 20 = 0.6, at the bound */
    c = col("fare", CFX_INIT_KIND_FLOAT, 150, 40);
    c.min = 0;
    c.mean = 12;
    c.median = 8;
    c.std_dev = 20;
    c.max = 300;
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_LOG_Z_SCORE);
    c.max = 79; /* below 10 x the median: no orders of magnitude to spread */
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_Z_SCORE);
    c.max = 300;
    c.median = 8.1; /* 0.585 */
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_Z_SCORE);
    c.median = 8;
    c.min = -0.5; /* a negative value: log1p would clip it */
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_Z_SCORE);
    /* integers: a code with few values, or a quantity */
    c = col("sex", CFX_INIT_KIND_INT, 300, 2);
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_VOCABULARY);
    assert_int_equal(xf.num_oov_buckets, 1);
    c.distinct = CFX_INIT_MAX_INT_CATEGORIES + 1;
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_Z_SCORE);
    /* a row number: unique integers over a dense range (97 of 1..150) */
    c = col("Id", CFX_INIT_KIND_INT, 97, 97);
    c.min = 1;
    c.max = 150;
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_SKIP);
    assert_non_null(strstr(xf.reason, "row number"));
    c.max = 1000; /* sparse: unique measurements (prices, say) */
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_Z_SCORE);
    c.max = 150;
    c.distinct = 90; /* repeats: not an id */
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_Z_SCORE);
    /* strings: a category, or an identifier */
    c = col("company", CFX_INIT_KIND_STRING, 1000, 150);
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_VOCABULARY);
    assert_int_equal(xf.top_k, 1000);
    assert_int_equal(xf.num_oov_buckets, 10);
    c.distinct = 900; /* 90% of the rows distinct */
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_SKIP);
    assert_non_null(strstr(xf.reason, "identifier"));
    /* constant and empty columns */
    c = col("k", CFX_INIT_KIND_INT, 100, 1);
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_SKIP);
    c = col("e", CFX_INIT_KIND_NONE, 100, 0);
    c.present = 0;
    cfx_init_choose_transform(&c, &xf);
    assert_int_equal(xf.op, CFX_INIT_OP_SKIP);
}

static void test_model_and_steps(void **state) {
    (void)state;
    char why[256];
    assert_int_equal(
        cfx_init_choose_model(CFX_INIT_TASK_REGRESSION, 1, why, sizeof why),
        CFX_INIT_MODEL_GBT);
    assert_int_equal(
        cfx_init_choose_model(CFX_INIT_TASK_REGRESSION, 0, why, sizeof why),
        CFX_INIT_MODEL_WIDE_DEEP);
    assert_int_equal(
        cfx_init_choose_model(CFX_INIT_TASK_MULTICLASS, 1, why, sizeof why),
        CFX_INIT_MODEL_WIDE_DEEP);
    /* 100 rows, batch 32: 4 steps an epoch, 200 for 50 epochs: the floor */
    assert_int_equal(cfx_init_train_steps(100, 32), 2000);
    /* 10,000 rows: 313 steps an epoch, x 50 */
    assert_int_equal(cfx_init_train_steps(10000, 32), 15650);
    assert_int_equal(cfx_init_train_steps(1000000, 32), 20000);
    size_t u[2];
    assert_int_equal(cfx_init_hidden_units(999, u), 1);
    assert_int_equal(u[0], 16);
    assert_int_equal(cfx_init_hidden_units(1000, u), 2);
    assert_int_equal(u[0], 32);
    assert_int_equal(u[1], 16);
    assert_int_equal(cfx_init_hidden_units(10000, u), 2);
    assert_int_equal(u[0], 64);
    /* regression: lower error wins by more than m sqrt(2/n): 3000 on 200
     * rows needs below 3000 - 300 */
    assert_true(
        cfx_init_clearly_better(CFX_INIT_TASK_REGRESSION, 3000, 2690, 200));
    assert_false(
        cfx_init_clearly_better(CFX_INIT_TASK_REGRESSION, 3000, 2710, 200));
    /* classes: accuracy 0.9 on 100 rows, SE 0.03: 0.94 wins, 0.92 not */
    assert_true(
        cfx_init_clearly_better(CFX_INIT_TASK_MULTICLASS, 0.9, 0.94, 100));
    assert_false(
        cfx_init_clearly_better(CFX_INIT_TASK_MULTICLASS, 0.9, 0.92, 100));
    assert_false(cfx_init_clearly_better(CFX_INIT_TASK_BINARY, 0.9, 0.8, 100));
    assert_false(cfx_init_clearly_better(CFX_INIT_TASK_BINARY, 0.9, NAN, 100));
    assert_true(cfx_init_clearly_better(CFX_INIT_TASK_BINARY, NAN, 0.5, 100));
    /* a perfect default cannot be beaten */
    assert_false(
        cfx_init_clearly_better(CFX_INIT_TASK_MULTICLASS, 1.0, 1.0, 100));
    assert_string_equal(cfx_init_select_metric(CFX_INIT_TASK_MULTICLASS),
                        "sparse_categorical_accuracy");
}

static void write_examples(const char *path) {
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_tfrecord_writer_t *w = NULL;
    CFX_TEST_OK(cfx_tfrecord_writer_open(path, &w, &err), err);
    cfx_example_t ex;
    cfx_example_init(&ex);
    cfx_buf_t b;
    cfx_buf_init(&b);
    static const char *const words[] = {"a", "b", "a", "c", "b", "a"};
    for (int i = 0; i < 6; i++) {
        cfx_example_reset(&ex);
        int64_t k = i % 2;            /* 0, 1: 2 values */
        float x = (float)i * 0.5f;    /* 0, 0.5, ..., 2.5: 6 values, 3 whole */
        float whole = (float)(i % 3); /* 0, 1, 2: whole numbers */
        cfx_bytes_t s = {(const uint8_t *)words[i], 1};
        assert_int_equal(cfx_example_add_int64(&ex, "k", &k, 1), 0);
        assert_int_equal(cfx_example_add_float(&ex, "x", &x, 1), 0);
        assert_int_equal(cfx_example_add_float(&ex, "whole", &whole, 1), 0);
        assert_int_equal(cfx_example_add_bytes(&ex, "s", &s, 1), 0);
        if (i < 2) /* "gap" present in 2 rows only */
            assert_int_equal(cfx_example_add_int64(&ex, "gap", &k, 1), 0);
        cfx_buf_reset(&b);
        assert_int_equal(cfx_example_encode(&ex, &b), 0);
        CFX_TEST_OK(cfx_tfrecord_write(w, b.data, b.len, &err), err);
    }
    CFX_TEST_OK(cfx_tfrecord_writer_close(w, &err), err);
    cfx_buf_free(&b);
    cfx_example_free(&ex);
}

static void test_count_distinct(void **state) {
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/data.tfrecord", tmpdir);
    write_examples(path);
    cfx_init_column_t cols[5];
    const char *names[] = {"k", "x", "whole", "s", "gap"};
    for (int i = 0; i < 5; i++)
        cfx_init_column_from_stats(&cols[i], names[i], NULL, 6);
    cfx_error_t err;
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_init_count_distinct(tmpdir, cols, 5, &err), err);
    assert_int_equal(cols[0].distinct, 2);
    assert_true(cols[0].integral);
    assert_int_equal(cols[1].distinct, 6);
    assert_false(cols[1].integral);
    assert_int_equal(cols[2].distinct, 3);
    assert_true(cols[2].integral);
    assert_int_equal(cols[3].distinct, 3);
    assert_false(cols[3].integral);
    assert_int_equal(cols[4].distinct, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_auto),
        cmocka_unit_test(test_task_asked),
        cmocka_unit_test(test_task_refused),
        cmocka_unit_test(test_transforms),
        cmocka_unit_test(test_model_and_steps),
        cmocka_unit_test_setup_teardown(test_count_distinct, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

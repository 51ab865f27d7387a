/* gbt_test.c: the gbt model type (train/gbt.h) on synthetic data: cfx's
 * tree evaluator (model/trees.h) against XGBoost's own predictor on the
 * same rows for the binary, multi-class and regression objectives
 * (margins within 1e-5 absolute: both sum float32 leaf values, possibly in
 * another order), rows with missing values included; one seed, one model;
 * early stopping keeps the best validation round; config refusals. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include <cmocka.h>

#include "model/network.h"
#include "model/trees.h"
#include "test_util.h"
#include "train/gbt.h"

#define N 3000
#define ND 3
#define NC 1

/* x0..x2 uniform in [-2, 2) (5% missing in x2), c in 0..4; the label by
 * task from a nonlinear score with noise. */
static void make_data(cfx_dataset_t *ds, cfx_task_t task, uint64_t seed) {
    uint64_t rng = seed;
    cfx_dataset_init(ds, ND, NC);
    for (size_t i = 0; i < N; i++) {
        float d[ND];
        for (size_t k = 0; k < ND; k++)
            d[k] = cfx_rng_uniform(&rng) * 4 - 2;
        int32_t c = (int32_t)(cfx_rng_next(&rng) % 5);
        float s = d[0] * d[1] + (c == 3 ? 1.5f : 0) + 0.5f * d[2] +
                  (cfx_rng_uniform(&rng) - 0.5f);
        if (cfx_rng_uniform(&rng) < 0.05f)
            d[2] = NAN;
        float y = task == CFX_TASK_BINARY       ? (s > 0)
                  : task == CFX_TASK_MULTICLASS ? (float)(s < -0.5f  ? 0
                                                          : s < 0.5f ? 1
                                                                     : 2)
                                                : s;
        assert_int_equal(cfx_dataset_push(ds, d, &c, y), 0);
    }
}

/* Trains; compares cfx's margins with XGBoost's on every row. */
static void check_task(cfx_task_t task, size_t classes, int huber) {
    cfx_dataset_t ds;
    make_data(&ds, task, 11);
    cfx_trainer_config_t cfg;
    cfx_trainer_config_default(&cfg);
    cfg.gbt.num_rounds = 40;
    cfg.gbt.max_depth = 4;
    cfg.gbt.learning_rate = 0.2;
    cfg.gbt.early_stopping_rounds = 0;
    cfg.loss.huber = huber;
    cfx_head_t head;
    cfx_error_t err;
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_head_init(&head, task, classes, NULL, &err), err);
    json_t *trees = NULL;
    void *booster = NULL;
    cfx_gbt_result_t res;
    cfx_train_metrics_t m;
    CFX_TEST_OK(cfx_gbt_fit_booster(&cfg, NULL, &head, &ds, &ds, NULL, NULL,
                                    NULL, &trees, &booster, &res, &m, &err),
                err);
    size_t K = task == CFX_TASK_MULTICLASS ? classes : 1;
    assert_int_equal(res.rounds, 40);
    assert_int_equal(res.kept_rounds, 40);
    assert_int_equal(res.num_trees, 40 * K);
    cfx_trees_t *tr = NULL;
    CFX_TEST_OK(cfx_trees_from_json(trees, "trees", NULL, &tr, &err), err);
    assert_int_equal(cfx_trees_num_outputs(tr), K);
    /* the rows as XGBoost reads them: dense then the categorical */
    float *x = malloc(N * (ND + NC) * sizeof *x);
    for (size_t i = 0; i < N; i++) {
        memcpy(x + i * (ND + NC), ds.dense + i * ND, ND * sizeof *x);
        x[i * (ND + NC) + ND] = (float)ds.cat[i];
    }
    DMatrixHandle dm;
    assert_int_equal(XGDMatrixCreateFromMat(x, N, ND + NC, NAN, &dm), 0);
    bst_ulong len = 0;
    const float *want = NULL;
    assert_int_equal(XGBoosterPredict(booster, dm, 1, 0, 0, &len, &want), 0);
    assert_int_equal(len, N * K);
    float *got = malloc(N * K * sizeof *got),
          *ref = malloc(N * K * sizeof *ref);
    cfx_trees_predict(tr, x, NULL, N, got);
    cfx_trees_predict_ref(tr, x, NULL, N, ref);
    double worst = 0;
    for (size_t i = 0; i < N * K; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        worst = d > worst ? d : worst;
        assert_float_equal(got[i], ref[i], 0);
    }
    if (worst > 1e-5)
        fail_msg("task %s: margins differ from XGBoost's by %g",
                 cfx_task_name(task), worst);
    /* it learned something: better than the base rate */
    if (task == CFX_TASK_BINARY)
        assert_true(m.auc > 0.9);
    else if (task == CFX_TASK_MULTICLASS)
        assert_true(m.accuracy > 0.7);
    XGDMatrixFree(dm);
    XGBoosterFree(booster);
    free(x);
    free(got);
    free(ref);
    cfx_trees_free(tr);
    json_decref(trees);
    cfx_head_free(&head);
    cfx_dataset_free(&ds);
}

static void test_binary_matches_xgboost(void **state) {
    (void)state;
    check_task(CFX_TASK_BINARY, 2, 0);
}
static void test_multiclass_matches_xgboost(void **state) {
    (void)state;
    check_task(CFX_TASK_MULTICLASS, 3, 0);
}
static void test_regression_matches_xgboost(void **state) {
    (void)state;
    check_task(CFX_TASK_REGRESSION, 0, 0);
    check_task(CFX_TASK_REGRESSION, 0, 1);
}

static json_t *fit(uint64_t seed, size_t esr, cfx_gbt_result_t *res) {
    cfx_dataset_t ds;
    make_data(&ds, CFX_TASK_BINARY, 5);
    cfx_trainer_config_t cfg;
    cfx_trainer_config_default(&cfg);
    cfg.seed = seed;
    cfg.gbt.num_rounds = 300;
    cfg.gbt.learning_rate = 0.3;
    cfg.gbt.max_depth = 6;
    cfg.gbt.subsample = 0.7;
    cfg.gbt.colsample_bytree = 0.8;
    cfg.gbt.early_stopping_rounds = esr;
    cfx_head_t head;
    cfx_error_t err;
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_head_init_binary(&head, &err), err);
    json_t *trees = NULL;
    CFX_TEST_OK(cfx_gbt_fit(&cfg, NULL, &head, &ds, NULL, NULL, NULL, NULL,
                            &trees, res, NULL, &err),
                err);
    cfx_head_free(&head);
    cfx_dataset_free(&ds);
    return trees;
}

static void test_deterministic_and_early_stopping(void **state) {
    (void)state;
    cfx_gbt_result_t a, b, c;
    json_t *ta = fit(42, 20, &a), *tb = fit(42, 20, &b), *tc = fit(43, 20, &c);
    assert_true(json_equal(ta, tb));
    assert_false(json_equal(ta, tc));
    /* depth 6 at rate 0.3 overfits 2,700 rows long before round 300 */
    assert_true(a.rounds < 300);
    assert_int_equal(a.rounds, a.kept_rounds + 20);
    assert_true(isfinite(a.valid_loss));
    assert_true(a.valid_rows > 200 && a.valid_rows < 400); /* 10% of 3,000 */
    assert_int_equal(a.fit_rows + a.valid_rows, N);
    json_decref(ta);
    json_decref(tb);
    json_decref(tc);
}

static void test_config(void **state) {
    (void)state;
    cfx_gbt_config_t c;
    cfx_gbt_config_default(&c);
    cfx_error_t err;
    cfx_error_init(&err);
    json_t *o = json_loads("{\"max_depth\": 3, \"l2\": 2.5}", 0, NULL);
    CFX_TEST_OK(cfx_gbt_config_parse(o, "t.json", &c, &err), err);
    assert_int_equal(c.max_depth, 3);
    assert_float_equal(c.l2, 2.5, 0);
    json_decref(o);
    o = json_loads("{\"max_dept\": 3}", 0, NULL);
    assert_int_equal(cfx_gbt_config_parse(o, "t.json", &c, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "t.json: 'gbt': unknown key 'max_dept'"));
    assert_non_null(strstr(err.msg, "max_depth"));
    json_decref(o);
    o = json_loads("{\"subsample\": 0}", 0, NULL);
    assert_int_equal(cfx_gbt_config_parse(o, "t.json", &c, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "'gbt'.'subsample'"));
    json_decref(o);
    o = json_loads("{\"num_rounds\": 2.5}", 0, NULL);
    assert_int_equal(cfx_gbt_config_parse(o, "t.json", &c, &err), CFX_EINVAL);
    json_decref(o);
    assert_true(isnan(c.base_score)); /* the default: the label's mean */
    o = json_loads("{\"base_score\": 0.25}", 0, NULL);
    CFX_TEST_OK(cfx_gbt_config_parse(o, "t.json", &c, &err), err);
    assert_float_equal(c.base_score, 0.25, 0);
    json_decref(o);
    o = json_loads("{\"base_score\": \"mean\"}", 0, NULL);
    CFX_TEST_OK(cfx_gbt_config_parse(o, "t.json", &c, &err), err);
    assert_true(isnan(c.base_score));
    json_decref(o);
    o = json_loads("{\"base_score\": \"median\"}", 0, NULL);
    assert_int_equal(cfx_gbt_config_parse(o, "t.json", &c, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "t.json: 'gbt'.'base_score'"));
    json_decref(o);
}

/* One round at a negligible learning rate leaves every margin at the
 * starting prediction: logit(base_score) for a binary label (0.3 ->
 * ln(0.3 / 0.7) = -0.847298, by hand; within 1e-4 for the float32 leaf
 * values and the one tiny step). A base_score outside (0, 1) for a binary
 * label, or any for a multi-class one, is refused. */
static void test_base_score(void **state) {
    (void)state;
    cfx_dataset_t ds;
    make_data(&ds, CFX_TASK_BINARY, 7);
    cfx_trainer_config_t cfg;
    cfx_trainer_config_default(&cfg);
    cfg.gbt.num_rounds = 1;
    cfg.gbt.learning_rate = 1e-6;
    cfg.gbt.early_stopping_rounds = 0;
    cfg.gbt.base_score = 0.3;
    cfx_head_t head;
    cfx_error_t err;
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_head_init_binary(&head, &err), err);
    json_t *trees = NULL;
    cfx_gbt_result_t res;
    CFX_TEST_OK(cfx_gbt_fit(&cfg, NULL, &head, &ds, NULL, NULL, NULL, NULL,
                            &trees, &res, NULL, &err),
                err);
    cfx_trees_t *tr = NULL;
    CFX_TEST_OK(cfx_trees_from_json(trees, "trees", NULL, &tr, &err), err);
    float x[ND + NC] = {0.5f, -1, 1, 2}, margin = 0;
    cfx_trees_predict(tr, x, NULL, 1, &margin);
    assert_float_equal(margin, -0.847298, 1e-4);
    cfx_trees_free(tr);
    json_decref(trees);
    trees = NULL;
    cfg.gbt.base_score = 1.5;
    assert_int_equal(cfx_gbt_fit(&cfg, NULL, &head, &ds, NULL, NULL, NULL, NULL,
                                 &trees, &res, NULL, &err),
                     CFX_EINVAL);
    assert_non_null(strstr(err.msg, "'base_score' 1.5"));
    cfx_head_free(&head);
    cfx_dataset_free(&ds);
    make_data(&ds, CFX_TASK_MULTICLASS, 7);
    CFX_TEST_OK(cfx_head_init(&head, CFX_TASK_MULTICLASS, 3, NULL, &err), err);
    cfg.gbt.base_score = 0.3;
    assert_int_equal(cfx_gbt_fit(&cfg, NULL, &head, &ds, NULL, NULL, NULL, NULL,
                                 &trees, &res, NULL, &err),
                     CFX_EINVAL);
    assert_non_null(strstr(err.msg, "multi-class"));
    assert_null(trees);
    cfx_head_free(&head);
    cfx_dataset_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_matches_xgboost),
        cmocka_unit_test(test_base_score),
        cmocka_unit_test(test_multiclass_matches_xgboost),
        cmocka_unit_test(test_regression_matches_xgboost),
        cmocka_unit_test(test_deterministic_and_early_stopping),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

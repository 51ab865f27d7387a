/* trainer_task_test.c: the heads' losses and gradients (softmax
 * cross-entropy over K logits, squared error and Huber on the standardised
 * label) against central finite differences of the loss the trainer
 * reports (h = 1e-3, |analytic - numeric| / (1e-2 + |numeric|) <= 2e-2:
 * the float32 forward pass leaves about 1e-4 of noise in a difference
 * quotient of a loss near 2), hand-computed losses
 * cross-entropy, and training that separates three classes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "train/trainer.h"

static cfx_net_t *make_net(size_t K) {
    static const char *names[] = {"c_xf"};
    int64_t card[] = {3};
    cfx_net_spec_t s = {.num_dense = 2,
                        .num_categorical = 1,
                        .cat_names = names,
                        .cat_cardinality = card,
                        .num_hidden = 1,
                        .deep_categorical = 1,
                        .num_outputs = K};
    s.hidden[0] = 5;
    cfx_net_t *n = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_net_new(&s, &n, &err), 0);
    assert_int_equal(n->num_outputs, K);
    assert_int_equal(cfx_net_find(n, "deep/logits/kernel")->shape[1],
                     (int64_t)K);
    assert_int_equal(cfx_net_find(n, "wide/linear/c_xf")->shape[1], (int64_t)K);
    uint64_t rng = 7;
    cfx_net_init_params(n, &rng);
    /* wide weights start at 0: give them values so their gradient counts */
    for (size_t i = n->wide_bias_off; i < n->num_params; i++)
        if (n->params[i] == 0.0f)
            n->params[i] = 0.3f * (cfx_rng_uniform(&rng) - 0.5f);
    return n;
}

static const float dense[] = {0.5f, -1.0f, 1.5f, 0.25f,  -0.75f,
                              2.0f, 0.0f,  1.0f, -1.25f, -0.5f};
static const int32_t cat[] = {0, 2, 1, 2, 0};

static double loss_of(const cfx_net_t *n, const cfx_trainer_loss_t *l,
                      const float *label) {
    cfx_trainer_ws_t *ws = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_trainer_ws_new(n, 5, &ws, &err), 0);
    cfx_trainer_ws_set_loss(ws, l);
    double v = cfx_trainer_loss_grad(n, dense, cat, label, 5, ws);
    cfx_trainer_ws_free(ws);
    return v;
}

static void grad_check(size_t K, const cfx_trainer_loss_t *l,
                       const float *label) {
    cfx_net_t *n = make_net(K);
    cfx_trainer_ws_t *ws = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_trainer_ws_new(n, 5, &ws, &err), 0);
    cfx_trainer_ws_set_loss(ws, l);
    (void)cfx_trainer_loss_grad(n, dense, cat, label, 5, ws);
    const float *g = cfx_trainer_ws_grad(ws);
    double worst = 0;
    for (size_t i = 0; i < n->num_params; i++) {
        float keep = n->params[i];
        const float h = 1e-3f;
        n->params[i] = keep + h;
        double up = loss_of(n, l, label);
        n->params[i] = keep - h;
        double down = loss_of(n, l, label);
        n->params[i] = keep;
        double num = (up - down) / (2.0 * h);
        double d = fabs((double)g[i] - num) / (1e-2 + fabs(num));
        if (d > worst)
            worst = d;
        if (d > 2e-2)
            fail_msg("parameter %zu: analytic %g, numeric %g", i, (double)g[i],
                     num);
    }
    printf("K=%zu task %s: largest relative difference %.3g over %zu "
           "parameters\n",
           K, cfx_task_name(l->task), worst, n->num_params);
    cfx_trainer_ws_free(ws);
    cfx_net_free(n);
}

static void test_softmax_gradient(void **state) {
    (void)state;
    cfx_trainer_loss_t l;
    cfx_trainer_loss_default(&l);
    l.task = CFX_TASK_MULTICLASS;
    float label[] = {0, 2, 1, 1, 2};
    grad_check(3, &l, label);
}

static void test_binary_gradient(void **state) {
    (void)state;
    cfx_trainer_loss_t l;
    cfx_trainer_loss_default(&l);
    float label[] = {0, 1, 1, 0, 1};
    grad_check(1, &l, label);
}

static void test_squared_error_gradient(void **state) {
    (void)state;
    cfx_trainer_loss_t l;
    cfx_trainer_loss_default(&l);
    l.task = CFX_TASK_REGRESSION;
    l.label_mean = 10.0;
    l.label_std = 2.0;
    float label[] = {9.0f, 14.0f, 11.5f, 6.0f, 10.25f};
    grad_check(1, &l, label);
}

static void test_huber_gradient(void **state) {
    (void)state;
    cfx_trainer_loss_t l;
    cfx_trainer_loss_default(&l);
    l.task = CFX_TASK_REGRESSION;
    l.label_mean = 10.0;
    l.label_std = 2.0;
    l.huber = 1;
    l.huber_delta = 1.0; /* 0.5 standardised: some residuals beyond it */
    float label[] = {9.0f, 14.0f, 11.5f, 6.0f, 10.25f};
    grad_check(1, &l, label);
}

/* All-zero parameters: every logit 0, so the softmax is uniform and the
 * cross-entropy is log 3 for any label; the squared error of the
 * standardised label is the mean of ((y - mean) / std)^2: with labels 9,
 * 14, 11.5, 6, 10.25, mean 10, std 2: (0.25 + 4 + 0.5625 + 4 + 0.015625)/5
 * = 1.765625. */
static void test_loss_values(void **state) {
    (void)state;
    cfx_net_t *n = make_net(3);
    memset(n->params, 0, n->num_params * sizeof *n->params);
    cfx_trainer_loss_t l;
    cfx_trainer_loss_default(&l);
    l.task = CFX_TASK_MULTICLASS;
    float cls[] = {0, 2, 1, 1, 2};
    assert_float_equal(loss_of(n, &l, cls), log(3.0), 1e-6);
    cfx_net_free(n);
    n = make_net(1);
    memset(n->params, 0, n->num_params * sizeof *n->params);
    l.task = CFX_TASK_REGRESSION;
    l.label_mean = 10.0;
    l.label_std = 2.0;
    float y[] = {9.0f, 14.0f, 11.5f, 6.0f, 10.25f};
    assert_float_equal(loss_of(n, &l, y), 1.765625, 1e-6);
    cfx_net_free(n);
}

/* Three classes, each a blob around its own point of the plane: softmax
 * training separates them (accuracy 1 on held-out rows), and the metrics
 * of the task are reported. */
static void test_fit_three_classes(void **state) {
    (void)state;
    cfx_net_t *n = make_net(3);
    cfx_dataset_t train, eval;
    cfx_dataset_init(&train, 2, 1);
    cfx_dataset_init(&eval, 2, 1);
    static const float centre[3][2] = {{-2, 0}, {2, 0}, {0, 2.5f}};
    uint64_t rng = 99;
    for (size_t i = 0; i < 600; i++) {
        size_t k = i % 3;
        float x[2] = {centre[k][0] + (cfx_rng_uniform(&rng) - 0.5f),
                      centre[k][1] + (cfx_rng_uniform(&rng) - 0.5f)};
        int32_t c = (int32_t)(i % 2);
        assert_int_equal(
            cfx_dataset_push(i < 450 ? &train : &eval, x, &c, (float)k), 0);
    }
    cfx_trainer_config_t cfg;
    cfx_trainer_config_default(&cfg);
    cfg.num_hidden = 1;
    cfg.hidden[0] = 5;
    cfg.train_steps = 400;
    cfg.batch_size = 16;
    cfg.learning_rate = 0.02;
    cfg.loss.task = CFX_TASK_MULTICLASS;
    cfx_train_metrics_t m;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(
        cfx_trainer_fit(n, &cfg, &train, &eval, NULL, NULL, NULL, &m, &err), 0);
    printf("three classes: eval accuracy %.4f, cross-entropy %.4f\n",
           m.accuracy, m.loss);
    assert_float_equal(m.accuracy, 1.0, 1e-12);
    assert_true(m.loss < 0.1);
    assert_true(isnan(m.auc));
    cfx_dataset_free(&train);
    cfx_dataset_free(&eval);
    cfx_net_free(n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_gradient),
        cmocka_unit_test(test_binary_gradient),
        cmocka_unit_test(test_squared_error_gradient),
        cmocka_unit_test(test_huber_gradient),
        cmocka_unit_test(test_loss_values),
        cmocka_unit_test(test_fit_three_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

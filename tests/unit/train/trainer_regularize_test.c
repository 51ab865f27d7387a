/* trainer_regularize_test.c: the network's early stopping, L2 and
 * learning-rate decay (trainer_config.h): a network that overfits a small
 * noisy train split stops early and keeps its best evaluation's
 * parameters (the final eval is logged at that step, before the last);
 * L2 shrinks the kernels; one seed gives one result; the keys' ranges. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"
#include "train/trainer.h"

/* 400 rows, 3 dense features, label from x0 + x1 with 30% flipped: a
 * wide network memorises the flips. */
static void make_data(cfx_dataset_t *ds, size_t n, uint64_t seed) {
    uint64_t rng = seed;
    cfx_dataset_init(ds, 3, 1);
    for (size_t i = 0; i < n; i++) {
        float d[3];
        for (int k = 0; k < 3; k++)
            d[k] = cfx_rng_uniform(&rng) * 4 - 2;
        int32_t c = (int32_t)(cfx_rng_next(&rng) % 3);
        float y = d[0] + d[1] > 0;
        if (cfx_rng_uniform(&rng) < 0.3f)
            y = 1 - y;
        assert_int_equal(cfx_dataset_push(ds, d, &c, y), 0);
    }
}

static cfx_net_t *net(void) {
    static const char *names[] = {"c_xf"};
    static const int64_t card[] = {3};
    cfx_net_spec_t s = {.num_dense = 3,
                        .num_categorical = 1,
                        .cat_names = names,
                        .cat_cardinality = card,
                        .num_hidden = 2,
                        .hidden = {64, 64},
                        .deep_categorical = 1};
    cfx_net_t *n = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_net_new(&s, &n, &err), err);
    return n;
}

typedef struct seen {
    size_t last_train, last_eval;
} seen_t;

static int record(void *ctx, const char *split, size_t step,
                  const cfx_train_metrics_t *m, cfx_error_t *err) {
    (void)m;
    (void)err;
    seen_t *s = ctx;
    if (!strcmp(split, "eval"))
        s->last_eval = step;
    else
        s->last_train = step;
    return 0;
}

static void fit(cfx_net_t *n, const cfx_trainer_config_t *cfg,
                const cfx_dataset_t *tr, const cfx_dataset_t *ev, seen_t *s,
                cfx_train_metrics_t *m) {
    cfx_error_t err;
    cfx_error_init(&err);
    memset(s, 0, sizeof *s);
    CFX_TEST_OK(cfx_trainer_fit(n, cfg, tr, ev, record, s, NULL, m, &err), err);
}

static void base_config(cfx_trainer_config_t *c) {
    cfx_trainer_config_default(c);
    c->learning_rate = 0.01;
    c->batch_size = 20;
    c->train_steps = 3000;
    c->log_every_steps = 50;
    c->eval_every_steps = 50;
}

static void test_early_stopping_keeps_the_best(void **state) {
    (void)state;
    cfx_dataset_t tr, ev;
    make_data(&tr, 400, 1);
    make_data(&ev, 2000, 2);
    cfx_trainer_config_t cfg;
    base_config(&cfg);
    cfx_net_t *plain = net(), *es = net(), *es2 = net();
    seen_t s0, s1, s2;
    cfx_train_metrics_t m0, m1, m2;
    fit(plain, &cfg, &tr, &ev, &s0, &m0);
    assert_int_equal(s0.last_eval, 3000);
    cfg.validation_fraction = 0.25;
    cfg.early_stopping_evals = 3;
    fit(es, &cfg, &tr, &ev, &s1, &m1);
    fit(es2, &cfg, &tr, &ev, &s2, &m2);
    print_message("3000 steps: eval loss %.4f; early stopping: stopped at "
                  "%zu, kept %zu, eval loss %.4f\n",
                  m0.loss, s1.last_train, s1.last_eval, m1.loss);
    /* stopped 3 evaluations after the best, which is what was kept and
     * evaluated last */
    assert_true(s1.last_train < 3000);
    assert_int_equal(s1.last_train, s1.last_eval + 3 * 50);
    /* the memorising network's eval loss is worse than the kept one's */
    assert_true(m1.loss < m0.loss);
    assert_memory_equal(es->params, es2->params,
                        es->num_params * sizeof(float));
    cfx_net_free(plain);
    cfx_net_free(es);
    cfx_net_free(es2);
    cfx_dataset_free(&tr);
    cfx_dataset_free(&ev);
}

static double kernel_norm(const cfx_net_t *n) {
    double s = 0;
    for (size_t i = 0; i < n->dense_end; i++)
        s += (double)n->params[i] * n->params[i];
    return s;
}

static void test_l2_and_decay(void **state) {
    (void)state;
    cfx_dataset_t tr;
    make_data(&tr, 400, 3);
    cfx_trainer_config_t cfg;
    base_config(&cfg);
    cfg.train_steps = 1000;
    cfx_net_t *a = net(), *b = net(), *c = net();
    seen_t s;
    cfx_train_metrics_t m;
    fit(a, &cfg, &tr, NULL, &s, &m);
    cfg.l2 = 0.01;
    fit(b, &cfg, &tr, NULL, &s, &m);
    assert_true(kernel_norm(b) < 0.8 * kernel_norm(a));
    cfg.l2 = 0;
    cfg.lr_decay_steps = 100;
    cfg.lr_decay_rate = 0.5; /* the rate halves every 100 steps: by step
                                1000 the steps are 1/1024 of the first */
    fit(c, &cfg, &tr, NULL, &s, &m);
    /* a slower, shorter walk from the same start: closer to the initial
     * weights than the undecayed run */
    cfx_net_t *init = net();
    uint64_t rng = cfg.seed;
    cfx_net_init_params(init, &rng);
    double da = 0, dc = 0;
    for (size_t i = 0; i < a->num_params; i++) {
        da += fabs((double)a->params[i] - init->params[i]);
        dc += fabs((double)c->params[i] - init->params[i]);
    }
    assert_true(dc < da);
    cfx_net_free(a);
    cfx_net_free(b);
    cfx_net_free(c);
    cfx_net_free(init);
    cfx_dataset_free(&tr);
}

static void test_config_keys(void **state) {
    (void)state;
    char dir[256], path[300];
    assert_int_equal(cfx_test_tmpdir_make(dir, sizeof dir, "cfx-reg"), 0);
    snprintf(path, sizeof path, "%s/t.json", dir);
    cfx_test_write_file(path, "{\"validation_fraction\": 0.1, "
                              "\"early_stopping_evals\": 4, \"l2\": 1e-5, "
                              "\"lr_decay_steps\": 1000, \"lr_decay_rate\": "
                              "0.5}");
    cfx_trainer_config_t c;
    cfx_error_t err;
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_trainer_config_load(path, &c, &err), err);
    assert_float_equal(c.validation_fraction, 0.1, 0);
    assert_int_equal(c.early_stopping_evals, 4);
    assert_float_equal(c.l2, 1e-5, 0);
    assert_int_equal(c.lr_decay_steps, 1000);
    assert_float_equal(c.lr_decay_rate, 0.5, 0);
    cfx_test_write_file(path, "{\"validation_fraction\": 0.9}");
    assert_int_equal(cfx_trainer_config_load(path, &c, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "'validation_fraction'"));
    cfx_test_write_file(path, "{\"lr_decay_rate\": 2}");
    assert_int_equal(cfx_trainer_config_load(path, &c, &err), CFX_EINVAL);
    cfx_test_rm_rf(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_early_stopping_keeps_the_best),
        cmocka_unit_test(test_l2_and_decay),
        cmocka_unit_test(test_config_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

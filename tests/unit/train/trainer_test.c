/* trainer_test.c: backpropagation against central finite differences of
 * the loss, AUC against hand-computed values, and training on synthetic
 * data: it learns, and one seed gives one result. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "train/trainer.h"

static cfx_net_t *small_net(int deep_cat) {
    static const char *names[] = {"u_xf", "v_xf"};
    static const int64_t card[] = {4, 3};
    cfx_net_spec_t s = {.num_dense = 3,
                        .num_categorical = 2,
                        .cat_names = names,
                        .cat_cardinality = card,
                        .num_hidden = 2,
                        .hidden = {9, 5},
                        .deep_categorical = deep_cat};
    cfx_net_t *n = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_net_new(&s, &n, &err), 0);
    return n;
}

static double loss_only(cfx_net_t *n, const float *x, const int32_t *c,
                        const float *y, size_t B, cfx_trainer_ws_t *ws) {
    double l = cfx_trainer_loss_grad(n, x, c, y, B, ws);
    memset(cfx_trainer_ws_grad(ws), 0, n->num_params * sizeof(float));
    return l;
}

static void gradient_check(int deep_cat) {
    enum { B = 6 };
    cfx_net_t *n = small_net(deep_cat);
    uint64_t rng = 7;
    cfx_net_init_params(n, &rng);
    for (size_t i = 0; i < n->num_params; i++)
        n->params[i] += 0.3f * (2 * cfx_rng_uniform(&rng) - 1);
    float x[B * 3], y[B];
    int32_t c[B * 2];
    for (size_t i = 0; i < B * 3; i++)
        x[i] = 2 * (2 * cfx_rng_uniform(&rng) - 1);
    for (size_t b = 0; b < B; b++) {
        c[2 * b] = (int32_t)(cfx_rng_next(&rng) % 4);
        c[2 * b + 1] = (int32_t)(cfx_rng_next(&rng) % 3);
        y[b] = (float)(b % 2);
    }
    cfx_trainer_ws_t *ws = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_trainer_ws_new(n, B, &ws, &err), 0);
    float *g = malloc(n->num_params * sizeof *g);
    memset(cfx_trainer_ws_grad(ws), 0, n->num_params * sizeof(float));
    cfx_trainer_loss_grad(n, x, c, y, B, ws);
    memcpy(g, cfx_trainer_ws_grad(ws), n->num_params * sizeof *g);
    memset(cfx_trainer_ws_grad(ws), 0, n->num_params * sizeof(float));
    double worst = 0;
    size_t worst_i = 0, nonzero = 0;
    const float h = 1e-3f;
    for (size_t i = 0; i < n->num_params; i++) {
        float keep = n->params[i];
        n->params[i] = keep + h;
        double lp = loss_only(n, x, c, y, B, ws);
        n->params[i] = keep - h;
        double lm = loss_only(n, x, c, y, B, ws);
        n->params[i] = keep;
        double fd = (lp - lm) / (2.0 * h);
        double d = fabs(fd - g[i]) / (1e-3 + fabs(fd));
        if (fabs(fd) > 1e-4)
            nonzero++;
        if (d > worst) {
            worst = d;
            worst_i = i;
        }
    }
    print_message("deep_categorical=%d: %zu params (%zu with a gradient), "
                  "largest relative "
                  "difference %.3g at %zu\n",
                  deep_cat, n->num_params, nonzero, worst, worst_i);
    assert_true(nonzero > n->num_params / 2);
    free(g);
    cfx_trainer_ws_free(ws);
    cfx_net_free(n);
    if (worst > 2e-2)
        fail_msg("gradient mismatch at param %zu", worst_i);
}

static void test_gradient_deep_categorical(void **state) {
    (void)state;
    gradient_check(1);
}

static void test_gradient_wide_only_categorical(void **state) {
    (void)state;
    gradient_check(0);
}

/* Classic example: p = (0.1, 0.4, 0.35, 0.8), y = (0, 0, 1, 1): of the 4
 * (positive, negative) pairs, 3 are ordered right -> AUC 0.75. Accuracy at
 * 0.5: only 0.8 is called positive -> 3/4 correct. */
static void test_metrics(void **state) {
    (void)state;
    float p[] = {0.1f, 0.4f, 0.35f, 0.8f}, y[] = {0, 0, 1, 1};
    cfx_train_metrics_t m;
    cfx_train_metrics_compute(p, y, 4, &m);
    assert_float_equal(m.auc, 0.75, 1e-12);
    assert_float_equal(m.accuracy, 0.75, 1e-12);
    /* loss = -(ln .9 + ln .6 + ln .35 + ln .8)/4 = 0.4722880 (python3 math) */
    assert_float_equal(m.loss, 0.4722880, 1e-6);
    /* ties count half: (0.5, 0.5) with labels (0, 1) -> 0.5 */
    float pt[] = {0.5f, 0.5f, 0.2f}, yt[] = {0, 1, 0};
    cfx_train_metrics_compute(pt, yt, 3, &m);
    assert_float_equal(m.auc, 0.75,
                       1e-12); /* pairs: (.5 vs .5)=.5, (.5 vs .2)=1 */
}

/* label = 1 when x0 + (u == 2) - 0.5 x1 > 0.3, learned from 3000 rows. */
static void make_data(cfx_dataset_t *ds, size_t n, uint64_t seed) {
    cfx_dataset_init(ds, 3, 2);
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) {
        float x[3];
        int32_t c[2];
        for (int j = 0; j < 3; j++)
            x[j] = 2 * cfx_rng_uniform(&rng) - 1;
        c[0] = (int32_t)(cfx_rng_next(&rng) % 4);
        c[1] = (int32_t)(cfx_rng_next(&rng) % 3);
        float s = x[0] + (c[0] == 2 ? 1.0f : 0.0f) - 0.5f * x[1];
        assert_int_equal(cfx_dataset_push(ds, x, c, s > 0.3f ? 1.0f : 0.0f), 0);
    }
}

static void train_once(cfx_net_t *n, const cfx_dataset_t *tr,
                       const cfx_dataset_t *ev, cfx_train_metrics_t *m) {
    cfx_trainer_config_t cfg;
    cfx_trainer_config_default(&cfg);
    cfg.train_steps = 1500;
    cfg.learning_rate = 0.01;
    cfg.batch_size = 32;
    cfg.eval_every_steps = 1500;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(
        cfx_trainer_fit(n, &cfg, tr, ev, NULL, NULL, NULL, m, &err), 0);
}

static void test_learns_and_is_deterministic(void **state) {
    (void)state;
    cfx_dataset_t tr, ev;
    make_data(&tr, 3000, 1);
    make_data(&ev, 1000, 2);
    cfx_net_t *a = small_net(1), *b = small_net(1);
    cfx_train_metrics_t ma, mb;
    train_once(a, &tr, &ev, &ma);
    train_once(b, &tr, &ev, &mb);
    print_message("synthetic eval: loss %.4f accuracy %.4f auc %.4f\n", ma.loss,
                  ma.accuracy, ma.auc);
    assert_true(ma.auc > 0.97);
    assert_true(ma.accuracy > 0.9);
    assert_int_equal(ma.count, 1000);
    assert_memory_equal(a->params, b->params, a->num_params * sizeof(float));
    cfx_net_free(a);
    cfx_net_free(b);
    cfx_dataset_free(&tr);
    cfx_dataset_free(&ev);
}

static int load_config_text(const char *text, cfx_trainer_config_t *cfg,
                            cfx_error_t *err) {
    char path[] = "/tmp/cfx-trainer-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    int rc = cfx_trainer_config_load(path, cfg, err);
    unlink(path);
    return rc;
}

/* The seed's widths: max(2, int(100 * 0.7**i)) in double = 100, 70, 48, 34
 * (python3: [100, 70, 48, 34]; 100 * 0.7**2 is 48.99999999999999). */
static void test_config(void **state) {
    (void)state;
    cfx_trainer_config_t cfg;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(
        load_config_text(
            "{\"first_dnn_layer_size\": 100, \"num_dnn_layers\": 4,"
            " \"dnn_decay_factor\": 0.7, \"deep_categorical\":"
            " [\"a_xf\", \"b_xf\"], \"batch_size\": 8}",
            &cfg, &err),
        0);
    assert_int_equal(cfg.num_hidden, 4);
    size_t want[] = {100, 70, 48, 34};
    for (int i = 0; i < 4; i++)
        assert_int_equal(cfg.hidden[i], want[i]);
    assert_int_equal(cfg.num_deep_features, 2);
    assert_string_equal(cfg.deep_features[1], "b_xf");
    assert_int_equal(cfg.batch_size, 8);
    assert_int_equal(cfg.train_steps, 10000); /* default kept */
    assert_int_equal(load_config_text("{\"train_step\": 5}", &cfg, &err),
                     CFX_EINVAL);
    assert_non_null(strstr(err.msg, "unknown key 'train_step' (did you mean "
                                    "'train_steps'?)"));
    assert_int_equal(load_config_text("{\"batch_size\": 0}", &cfg, &err),
                     CFX_EINVAL);
    assert_non_null(
        strstr(err.msg, "'batch_size': expected an integer in [1, "));
    assert_int_equal(
        load_config_text("{\"hidden_units\": [8], \"num_dnn_layers\": 2}", &cfg,
                         &err),
        CFX_EINVAL);
    assert_int_equal(load_config_text("{\"seed\": 1,}", &cfg, &err),
                     CFX_EPARSE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_deep_categorical),
        cmocka_unit_test(test_gradient_wide_only_categorical),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_learns_and_is_deterministic),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

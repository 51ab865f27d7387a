/* trainer_test.c: backpropagation against central finite differences of
 * the loss (one-hot and learned embeddings into the deep part, with and
 * without a dropout mask), AUC against hand-computed values, and training
 * on synthetic data: it learns, one seed gives one result, and a dropout
 * mask of ones changes nothing. */
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

/* emb: the embedding widths of u_xf and v_xf, or NULL (one-hot). */
static cfx_net_t *small_net_emb(int deep_cat, const size_t *emb) {
    static const char *names[] = {"u_xf", "v_xf"};
    static const int64_t card[] = {4, 3};
    cfx_net_spec_t s = {.num_dense = 3,
                        .num_categorical = 2,
                        .cat_names = names,
                        .cat_cardinality = card,
                        .num_hidden = 2,
                        .hidden = {9, 5},
                        .deep_categorical = deep_cat,
                        .cat_embedding_dim = emb};
    cfx_net_t *n = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_net_new(&s, &n, &err), 0);
    return n;
}

static cfx_net_t *small_net(int deep_cat) {
    return small_net_emb(deep_cat, NULL);
}

static double loss_only(cfx_net_t *n, const float *x, const int32_t *c,
                        const float *y, size_t B, cfx_trainer_ws_t *ws) {
    double l = cfx_trainer_loss_grad(n, x, c, y, B, ws);
    memset(cfx_trainer_ws_grad(ws), 0, n->num_params * sizeof(float));
    return l;
}

/* With dropout > 0 one mask is drawn (seed 3) and kept for the gradient
 * and every finite difference: the gradient of the same masked forward. */
static void gradient_check_emb(int deep_cat, const size_t *emb,
                               double dropout) {
    enum { B = 6 };
    cfx_net_t *n = small_net_emb(deep_cat, emb);
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
    double unmasked = loss_only(n, x, c, y, B, ws);
    uint64_t drop_rng = 3;
    cfx_trainer_ws_draw_dropout(ws, n, B, dropout, &drop_rng);
    double masked = cfx_trainer_loss_grad(n, x, c, y, B, ws);
    /* a mask that drops units changes the loss */
    if (dropout > 0)
        assert_true(fabs(masked - unmasked) > 1e-4);
    else
        assert_true(masked == unmasked);
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
        /* the float32 loss makes fd noisy by about 5e-5 at this h (fd of
         * one parameter moved that much between h = 3e-4 and 1e-2): below
         * |fd| of 5e-3 the check is absolute */
        double d = fabs(fd - g[i]) / (5e-3 + fabs(fd));
        if (fabs(fd) > 1e-4)
            nonzero++;
        if (d > worst) {
            worst = d;
            worst_i = i;
        }
    }
    print_message("deep_categorical=%d embedding=%zu/%zu dropout=%g: %zu "
                  "params (%zu with a gradient), largest relative "
                  "difference %.3g at %zu\n",
                  deep_cat, emb ? emb[0] : 0, emb ? emb[1] : 0, dropout,
                  n->num_params, nonzero, worst, worst_i);
    assert_true(nonzero > n->num_params / 2);
    free(g);
    cfx_trainer_ws_free(ws);
    cfx_net_free(n);
    if (worst > 2e-2)
        fail_msg("gradient mismatch at param %zu", worst_i);
}

static void gradient_check(int deep_cat) {
    gradient_check_emb(deep_cat, NULL, 0);
}

static void test_gradient_deep_categorical(void **state) {
    (void)state;
    gradient_check(1);
}

/* u_xf through a learned embedding of 3 beside v_xf one-hot, then both
 * embedded; each without and with dropout. */
static void test_gradient_embedding(void **state) {
    (void)state;
    size_t mixed[] = {3, 0}, both[] = {2, 5};
    gradient_check_emb(1, mixed, 0);
    gradient_check_emb(1, both, 0);
}

static void test_gradient_dropout(void **state) {
    (void)state;
    size_t mixed[] = {3, 0};
    gradient_check_emb(1, NULL, 0.3);
    gradient_check_emb(0, NULL, 0.3);
    gradient_check_emb(1, mixed, 0.3);
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

static void train_once_dropout(cfx_net_t *n, const cfx_dataset_t *tr,
                               const cfx_dataset_t *ev, double dropout,
                               cfx_train_metrics_t *m) {
    cfx_trainer_config_t cfg;
    cfx_trainer_config_default(&cfg);
    cfg.dropout = dropout;
    cfg.train_steps = 1500;
    cfg.learning_rate = 0.01;
    cfg.batch_size = 32;
    cfg.eval_every_steps = 1500;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(
        cfx_trainer_fit(n, &cfg, tr, ev, NULL, NULL, NULL, m, &err), 0);
}

static void train_once(cfx_net_t *n, const cfx_dataset_t *tr,
                       const cfx_dataset_t *ev, cfx_train_metrics_t *m) {
    train_once_dropout(n, tr, ev, 0, m);
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

/* Dropout 0.2 and learned embeddings (u_xf 4, v_xf 2) still learn the
 * synthetic rule, and each is deterministic: one seed, one result. */
static void test_dropout_and_embeddings_learn(void **state) {
    (void)state;
    cfx_dataset_t tr, ev;
    make_data(&tr, 3000, 1);
    make_data(&ev, 1000, 2);
    size_t emb[] = {4, 2};
    cfx_net_t *plain = small_net(1), *d1 = small_net(1), *d2 = small_net(1);
    cfx_net_t *e1 = small_net_emb(1, emb), *e2 = small_net_emb(1, emb);
    cfx_train_metrics_t mp, m1, m2, me1, me2;
    train_once(plain, &tr, &ev, &mp);
    train_once_dropout(d1, &tr, &ev, 0.2, &m1);
    train_once_dropout(d2, &tr, &ev, 0.2, &m2);
    train_once_dropout(e1, &tr, &ev, 0.2, &me1);
    train_once_dropout(e2, &tr, &ev, 0.2, &me2);
    print_message("synthetic eval auc: plain %.4f, dropout 0.2 %.4f, "
                  "embeddings + dropout %.4f\n",
                  mp.auc, m1.auc, me1.auc);
    assert_true(m1.auc > 0.97);
    assert_true(me1.auc > 0.97);
    assert_memory_equal(d1->params, d2->params, d1->num_params * sizeof(float));
    assert_memory_equal(e1->params, e2->params, e1->num_params * sizeof(float));
    assert_true(m1.loss == m2.loss && me1.loss == me2.loss);
    /* the masks do something */
    assert_true(memcmp(plain->params, d1->params,
                       plain->num_params * sizeof(float)) != 0);
    cfx_net_free(plain);
    cfx_net_free(d1);
    cfx_net_free(d2);
    cfx_net_free(e1);
    cfx_net_free(e2);
    cfx_dataset_free(&tr);
    cfx_dataset_free(&ev);
}

/* A rate of 1e-10 is below the draws' step of 2^-32 and keeps every unit,
 * with the scale 1 / (1 - 1e-10), which is 1.0f: every mask is exactly 1.
 * Training through the masked path must then give the weights of training
 * without dropout bit for bit: the masks use a stream of their own and
 * touch nothing else. */
static void test_dropout_of_ones_changes_nothing(void **state) {
    (void)state;
    cfx_dataset_t tr;
    make_data(&tr, 3000, 1);
    assert_true((float)(1.0 / (1.0 - 1e-10)) == 1.0f);
    cfx_net_t *a = small_net(1), *b = small_net(1);
    size_t emb[] = {3, 0};
    cfx_net_t *c = small_net_emb(1, emb), *d = small_net_emb(1, emb);
    cfx_train_metrics_t m;
    train_once(a, &tr, NULL, &m);
    train_once_dropout(b, &tr, NULL, 1e-10, &m);
    train_once(c, &tr, NULL, &m);
    train_once_dropout(d, &tr, NULL, 1e-10, &m);
    assert_memory_equal(a->params, b->params, a->num_params * sizeof(float));
    assert_memory_equal(c->params, d->params, c->num_params * sizeof(float));
    cfx_net_free(a);
    cfx_net_free(b);
    cfx_net_free(c);
    cfx_net_free(d);
    cfx_dataset_free(&tr);
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

/* dropout and embedding_dim: accepted values, and refusals naming the
 * key. */
static void test_config_dropout_embedding(void **state) {
    (void)state;
    cfx_trainer_config_t cfg;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(load_config_text("{}", &cfg, &err), 0);
    assert_true(cfg.dropout == 0 && cfg.embedding_dim == 0 &&
                cfg.num_embedding_features == 0);
    assert_int_equal(
        load_config_text("{\"dropout\": 0.2, \"embedding_dim\": 8}", &cfg,
                         &err),
        0);
    assert_float_equal(cfg.dropout, 0.2, 0);
    assert_int_equal(cfg.embedding_dim, 8);
    assert_int_equal(
        load_config_text("{\"embedding_dim\": {\"a_xf\": 4, \"b_xf\": 512}}",
                         &cfg, &err),
        0);
    assert_int_equal(cfg.embedding_dim, 0);
    assert_int_equal(cfg.num_embedding_features, 2);
    assert_string_equal(cfg.embedding_features[0], "a_xf");
    assert_int_equal(cfg.embedding_dims[0], 4);
    assert_string_equal(cfg.embedding_features[1], "b_xf");
    assert_int_equal(cfg.embedding_dims[1], 512);
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"{\"dropout\": 1.0}", "'dropout': expected a rate in [0, 1)"},
        {"{\"dropout\": 1}", "'dropout': expected a rate in [0, 1)"},
        {"{\"dropout\": -0.1}", "'dropout': expected a rate in [0, 1)"},
        {"{\"dropout\": \"0.1\"}", "'dropout': expected a rate in [0, 1)"},
        {"{\"embedding_dim\": 513}",
         "'embedding_dim': expected an integer in [0, 512]"},
        {"{\"embedding_dim\": -1}",
         "'embedding_dim': expected an integer in [0, 512]"},
        {"{\"embedding_dim\": 4.5}",
         "'embedding_dim': expected an integer in [0, 512] or an object"},
        {"{\"embedding_dim\": {}}",
         "'embedding_dim': expected an integer in [0, 512] or an object"},
        {"{\"embedding_dim\": {\"a_xf\": 0}}",
         "'embedding_dim.a_xf': expected an integer in [1, 512]"},
        {"{\"embedding_dim\": {\"a_xf\": 600}}",
         "'embedding_dim.a_xf': expected an integer in [1, 512]"},
        {"{\"embeding_dim\": 4}",
         "unknown key 'embeding_dim' (did you mean 'embedding_dim'?)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = load_config_text(bad[i].text, &cfg, &err);
        if (rc != CFX_EINVAL || strstr(err.msg, bad[i].msg) == NULL)
            fail_msg("%s: expected \"%s\", got %d: %s", bad[i].text, bad[i].msg,
                     rc, err.msg);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_deep_categorical),
        cmocka_unit_test(test_gradient_wide_only_categorical),
        cmocka_unit_test(test_gradient_embedding),
        cmocka_unit_test(test_gradient_dropout),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_learns_and_is_deterministic),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_config_dropout_embedding),
        cmocka_unit_test(test_dropout_and_embeddings_learn),
        cmocka_unit_test(test_dropout_of_ones_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

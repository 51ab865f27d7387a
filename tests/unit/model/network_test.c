/* network_test.c: the wide & deep forward pass: hand-computed golden
 * values (one-hot and learned embeddings into the deep part), the
 * optimized kernel against the reference loops over many shapes (widths
 * below, at and above the 8-float block, batch sizes 1..67), the
 * initialisation against an independent Python computation, and the
 * refusal of bad specs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/network.h"

/* emb: per categorical embedding widths, or NULL (all one-hot). */
static cfx_net_t *make_net(size_t nd, size_t nc, const int64_t *card, size_t nh,
                           const size_t *hidden, int deep_cat,
                           const size_t *emb) {
    static const char *names[] = {"a_xf", "b_xf", "c_xf",
                                  "d_xf", "e_xf", "f_xf"};
    cfx_net_spec_t s = {.num_dense = nd,
                        .num_categorical = nc,
                        .cat_names = names,
                        .cat_cardinality = card,
                        .num_hidden = nh,
                        .deep_categorical = deep_cat,
                        .cat_embedding_dim = emb};
    for (size_t k = 0; k < nh; k++)
        s.hidden[k] = hidden[k];
    cfx_net_t *n = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_net_new(&s, &n, &err), 0);
    return n;
}

/* 2 dense, 1 categorical (cardinality 3), one hidden layer of 2, deep
 * categorical on. By hand, for x = (1, -2), cat = 2:
 *   z0 = b0 + x.W0 + E[2] = (0.1, -0.2) + (1*0.5 + -2*0.25, 1*-1 + -2*1)
 *        + (0.3, 0.7) = (0.4, -2.5)  -> relu (0.4, 0)
 *   deep = 0.4*2 + 0*5 + 0.05 = 0.85
 *   wide = -0.5 + w[2] = -0.5 + 1.5 = 1.0         logit = 1.85 */
static void test_golden(void **state) {
    (void)state;
    int64_t card[] = {3};
    size_t hid[] = {2};
    cfx_net_t *n = make_net(2, 1, card, 1, hid, 1, NULL);
    assert_int_equal(n->num_tensors, 7);
    float *p = n->params;
    float w0[] = {0.5f, -1.0f, 0.25f, 1.0f}; /* [in=2, out=2] */
    memcpy(p + cfx_net_find(n, "deep/dense_0/kernel")->offset, w0, sizeof w0);
    p[cfx_net_find(n, "deep/dense_0/bias")->offset] = 0.1f;
    p[cfx_net_find(n, "deep/dense_0/bias")->offset + 1] = -0.2f;
    const cfx_net_tensor_t *e = cfx_net_find(n, "deep/dense_0/onehot/a_xf");
    assert_non_null(e);
    assert_int_equal(e->shape[0], 3);
    assert_int_equal(e->shape[1], 2);
    p[e->offset + 4] = 0.3f;
    p[e->offset + 5] = 0.7f;
    p[cfx_net_find(n, "deep/logits/kernel")->offset] = 2.0f;
    p[cfx_net_find(n, "deep/logits/kernel")->offset + 1] = 5.0f;
    p[cfx_net_find(n, "deep/logits/bias")->offset] = 0.05f;
    p[cfx_net_find(n, "wide/linear/bias")->offset] = -0.5f;
    p[cfx_net_find(n, "wide/linear/a_xf")->offset + 2] = 1.5f;
    float x[] = {1.0f, -2.0f};
    int32_t c[] = {2};
    float ref, fast;
    cfx_net_forward_ref(n, x, c, 1, &ref);
    float *scratch = malloc(cfx_net_scratch_floats(n, 1) * sizeof *scratch);
    cfx_net_forward(n, x, c, 1, &fast, scratch);
    assert_float_equal(ref, 1.85f, 1e-6);
    assert_float_equal(fast, 1.85f, 1e-6);
    /* Out-of-range categorical reads row 0 (all zero here): wide = -0.5,
     * z0 = (0.1, -3.2) -> deep = 0.2 + 0.05. */
    c[0] = 7;
    cfx_net_forward_ref(n, x, c, 1, &ref);
    cfx_net_forward(n, x, c, 1, &fast, scratch);
    assert_float_equal(ref, -0.25f, 1e-6);
    assert_float_equal(fast, -0.25f, 1e-6);
    free(scratch);
    cfx_net_free(n);
}

/* 1 dense, a_xf (cardinality 3) as a learned embedding of 2, b_xf
 * (cardinality 2) one-hot into the deep part, one hidden layer of 2.
 * For x = 2, a = 1, b = 1 (python3 gives the same numbers):
 *   x0 = [x, E_a[1]] = [2, 0.5, -1]
 *   z0 = b0 + x0 W0 + onehot_b[1]
 *      = (0.1, 0.2) + (2*1 + 0.5*2 + -1*0.5, 2*-1 + 0.5*0 + -1*1)
 *        + (0.3, -0.4) = (2.9, -3.2)  -> relu (2.9, 0)
 *   deep = 2.9*1.5 + 0*7 + 0.25 = 4.6
 *   wide = -1 + wa[1] + wb[1] = -1 + 0.5 - 0.2 = -0.7     logit = 3.9
 * a = 9 is out of range and reads row 0: x0 = [2, 1, 1], z0 = (4.9, -1.2),
 * deep = 7.6, wide = -1 + 0 - 0.2 = -1.2                  logit = 6.4 */
static void test_golden_embedding(void **state) {
    (void)state;
    int64_t card[] = {3, 2};
    size_t hid[] = {2}, emb[] = {2, 0};
    cfx_net_t *n = make_net(1, 2, card, 1, hid, 1, emb);
    /* 2 + 2 deep, 1 + 2 wide, one-hot b, embedding a */
    assert_int_equal(n->num_tensors, 9);
    assert_int_equal(n->width[0], 3);
    assert_null(cfx_net_find(n, "deep/dense_0/onehot/a_xf"));
    const cfx_net_tensor_t *k0 = cfx_net_find(n, "deep/dense_0/kernel");
    const cfx_net_tensor_t *ea = cfx_net_find(n, "deep/embedding/a_xf");
    const cfx_net_tensor_t *ob = cfx_net_find(n, "deep/dense_0/onehot/b_xf");
    assert_non_null(k0);
    assert_non_null(ea);
    assert_non_null(ob);
    assert_int_equal(k0->shape[0], 3);
    assert_int_equal(k0->shape[1], 2);
    assert_int_equal(ea->shape[0], 3);
    assert_int_equal(ea->shape[1], 2);
    assert_int_equal(ob->shape[0], 2);
    assert_int_equal(ob->shape[1], 2);
    /* the tables are embedding rows, after the dense tensors */
    assert_true(ea->offset >= n->dense_end && ob->offset >= n->dense_end);
    float *p = n->params;
    float w0[] = {1.0f, -1.0f, 2.0f, 0.0f, 0.5f, 1.0f}; /* [in=3, out=2] */
    memcpy(p + k0->offset, w0, sizeof w0);
    p[cfx_net_find(n, "deep/dense_0/bias")->offset] = 0.1f;
    p[cfx_net_find(n, "deep/dense_0/bias")->offset + 1] = 0.2f;
    float e[] = {1.0f, 1.0f, 0.5f, -1.0f, 9.0f, 9.0f}; /* rows 0, 1, 2 */
    memcpy(p + ea->offset, e, sizeof e);
    p[ob->offset + 2] = 0.3f;
    p[ob->offset + 3] = -0.4f;
    p[cfx_net_find(n, "deep/logits/kernel")->offset] = 1.5f;
    p[cfx_net_find(n, "deep/logits/kernel")->offset + 1] = 7.0f;
    p[cfx_net_find(n, "deep/logits/bias")->offset] = 0.25f;
    p[cfx_net_find(n, "wide/linear/bias")->offset] = -1.0f;
    p[cfx_net_find(n, "wide/linear/a_xf")->offset + 1] = 0.5f;
    p[cfx_net_find(n, "wide/linear/b_xf")->offset + 1] = -0.2f;
    float x = 2.0f, ref, fast;
    int32_t c[] = {1, 1};
    float *scratch = malloc(cfx_net_scratch_floats(n, 1) * sizeof *scratch);
    cfx_net_forward_ref(n, &x, c, 1, &ref);
    cfx_net_forward(n, &x, c, 1, &fast, scratch);
    assert_float_equal(ref, 3.9f, 1e-6);
    assert_float_equal(fast, 3.9f, 1e-6);
    c[0] = 9;
    cfx_net_forward_ref(n, &x, c, 1, &ref);
    cfx_net_forward(n, &x, c, 1, &fast, scratch);
    assert_float_equal(ref, 6.4f, 1e-6);
    assert_float_equal(fast, 6.4f, 1e-6);
    free(scratch);
    cfx_net_free(n);
}

/* The initialisation, against values computed independently in python3
 * from the documented rules (network.h): splitmix64 uniforms u in [0, 1)
 * (the top 24 bits); Glorot-uniform (2u - 1) * sqrt(6 / (fan_in +
 * fan_out)) for the first kernel (fan_in = 2 dense + 2 embedding columns + 1
 * one-hot), then the one-hot rows of a with the same limit, the logits
 * kernel (fan_in 3, fan_out 1); then the embedding of b, normal draws of
 * stddev 1/sqrt(2) (z = sqrt(-2 ln u1) cos(2 pi u2) from u1 = (top 53 bits
 * + 1) / 2^53 and u2 = top 53 bits / 2^53, redrawn while |z| > 2); biases
 * and wide weights 0. Seed 5. Tolerance 1e-6 relative (libm's log and cos
 * against python's). Then the law of a large table: every value within
 * 2/sqrt(d), the standard deviation of the truncated normal 0.8796/sqrt(d)
 * (python3: sqrt(1 - 4 phi(2) / (2 Phi(2) - 1))), within 3%. */
static void test_init(void **state) {
    (void)state;
    static const float k0[] = {-0.196123496f, 0.43700853f,    -0.462961406f,
                               -0.693964601f, -0.540468991f,  -0.206791416f,
                               0.841020703f,  0.0192283355f,  -0.127390042f,
                               0.179164246f,  -0.0857797489f, -0.62925005f};
    static const float onehot_a[] = {
        0.648221016f, -0.081913583f,  0.787526727f,
        0.76032728f,  0.573485613f,   -0.0674617738f,
        -0.593548f,   -0.0775406137f, -0.667074203f};
    static const float k1[] = {1.19404054f, -0.783639312f, 0.920156658f};
    static const float emb_b[] = {-0.317154706f, 0.184642419f,  0.492932737f,
                                  0.390127897f,  -0.117087431f, -0.0441810414f,
                                  -0.940645278f, -0.55020988f};
    int64_t card[] = {3, 4};
    size_t hid[] = {3}, emb[] = {0, 2};
    cfx_net_t *n = make_net(2, 2, card, 1, hid, 1, emb);
    uint64_t rng = 5;
    cfx_net_init_params(n, &rng);
    struct {
        const char *name;
        const float *want;
        size_t count;
    } t[] = {{"deep/dense_0/kernel", k0, 12},
             {"deep/dense_0/onehot/a_xf", onehot_a, 9},
             {"deep/logits/kernel", k1, 3},
             {"deep/embedding/b_xf", emb_b, 8}};
    double worst = 0, sum = 0;
    for (size_t i = 0; i < 4; i++) {
        const cfx_net_tensor_t *nt = cfx_net_find(n, t[i].name);
        assert_non_null(nt);
        assert_int_equal(nt->count, t[i].count);
        for (size_t j = 0; j < nt->count; j++) {
            float got = n->params[nt->offset + j];
            double d = fabs((double)got - t[i].want[j]) / fabs(t[i].want[j]);
            worst = d > worst ? d : worst;
        }
    }
    for (size_t i = 0; i < n->num_params; i++)
        sum += fabs(n->params[i]);
    double golden_sum = 0;
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < t[i].count; j++)
            golden_sum += fabs(t[i].want[j]);
    print_message("init: largest relative difference from python %.3g\n",
                  worst);
    assert_true(worst < 1e-6);
    /* nothing else is non-zero: biases and wide weights start at 0 */
    assert_float_equal(sum, golden_sum, 1e-4);
    cfx_net_free(n);

    int64_t big[] = {4000};
    size_t one[] = {8}, d8[] = {8};
    n = make_net(1, 1, big, 1, one, 1, d8);
    rng = 11;
    cfx_net_init_params(n, &rng);
    const cfx_net_tensor_t *e = cfx_net_find(n, "deep/embedding/a_xf");
    double s1 = 0, s2 = 0, bound = 2.0 / sqrt(8.0);
    for (size_t j = 0; j < e->count; j++) {
        double v = n->params[e->offset + j];
        assert_true(fabs(v) <= bound + 1e-7);
        s1 += v;
        s2 += v * v;
    }
    double mean = s1 / (double)e->count;
    double sd = sqrt(s2 / (double)e->count - mean * mean);
    print_message("embedding init: %zu values, mean %.4f, sd %.4f (want "
                  "%.4f)\n",
                  e->count, mean, sd, 0.8796 / sqrt(8.0));
    assert_true(fabs(mean) < 0.01);
    assert_true(fabs(sd / (0.8796 / sqrt(8.0)) - 1) < 0.03);
    cfx_net_free(n);
}

static void check_agree(size_t nd, size_t nc, const int64_t *card, size_t nh,
                        const size_t *hidden, int deep_cat, const size_t *emb,
                        size_t B, uint64_t seed) {
    cfx_net_t *n = make_net(nd, nc, card, nh, hidden, deep_cat, emb);
    uint64_t rng = seed;
    cfx_net_init_params(n, &rng);
    /* Non-zero biases and wide weights too, so every tensor matters. */
    for (size_t i = 0; i < n->num_params; i++)
        if (n->params[i] == 0.0f)
            n->params[i] = 0.1f * (2 * cfx_rng_uniform(&rng) - 1);
    float *x = malloc((B * nd + 1) * sizeof *x);
    int32_t *c = malloc((B * nc + 1) * sizeof *c);
    float *ref = malloc(B * sizeof *ref), *fast = malloc(B * sizeof *fast);
    float *scratch = malloc(cfx_net_scratch_floats(n, B) * sizeof *scratch);
    for (size_t i = 0; i < B * nd; i++)
        x[i] = 3 * (2 * cfx_rng_uniform(&rng) - 1);
    for (size_t b = 0; b < B; b++)
        for (size_t j = 0; j < nc; j++)
            c[b * nc + j] =
                (int32_t)(cfx_rng_next(&rng) % (uint64_t)(card[j] + 2)) - 1;
    cfx_net_forward_ref(n, x, c, B, ref);
    cfx_net_forward(n, x, c, B, fast, scratch);
    double maxdiff = 0;
    for (size_t b = 0; b < B; b++) {
        double d = fabs((double)ref[b] - fast[b]) / (1.0 + fabs(ref[b]));
        if (d > maxdiff)
            maxdiff = d;
    }
    if (maxdiff > 1e-5)
        fail_msg("nd=%zu nc=%zu B=%zu: largest relative difference %g", nd, nc,
                 B, maxdiff);
    free(x);
    free(c);
    free(ref);
    free(fast);
    free(scratch);
    cfx_net_free(n);
}

static void test_reference_agrees(void **state) {
    (void)state;
    int64_t card[] = {5, 1, 63, 10, 24, 2000};
    size_t taxi[] = {100, 70, 49, 34};
    size_t odd[] = {7, 8, 9, 17, 3};
    size_t one[] = {1};
    size_t mixed[] = {3, 0, 8, 1, 0, 16}, all4[] = {4, 4, 4, 4, 4, 4};
    size_t B[] = {1, 2, 40, 67};
    for (size_t i = 0; i < 4; i++) {
        check_agree(3, 6, card, 4, taxi, 1, NULL, B[i], 1 + i);
        check_agree(3, 6, card, 4, taxi, 0, NULL, B[i], 11 + i);
        check_agree(5, 2, card, 5, odd, 1, NULL, B[i], 21 + i);
        check_agree(1, 0, card, 1, one, 0, NULL, B[i], 31 + i);
        check_agree(0, 3, card, 2, taxi, 1, NULL, B[i], 41 + i);
        /* learned embeddings: beside one-hots, alone, without dense */
        check_agree(3, 6, card, 4, taxi, 1, mixed, B[i], 51 + i);
        check_agree(3, 6, card, 3, odd, 1, all4, B[i], 61 + i);
        check_agree(0, 6, card, 2, taxi, 1, all4, B[i], 71 + i);
    }
}

static void test_rejects_bad_spec(void **state) {
    (void)state;
    const char *names[] = {"a"};
    int64_t card[] = {0};
    cfx_net_spec_t s = {.num_dense = 1,
                        .num_categorical = 1,
                        .cat_names = names,
                        .cat_cardinality = card,
                        .num_hidden = 1,
                        .hidden = {4}};
    cfx_net_t *n = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_net_new(&s, &n, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "'a' has cardinality 0"));
    card[0] = 3;
    s.num_hidden = 0;
    assert_int_equal(cfx_net_new(&s, &n, &err), CFX_EINVAL);
    assert_null(n);
    /* an embedding only for a categorical that goes into the deep part */
    s.num_hidden = 1;
    size_t emb[] = {4};
    s.cat_embedding_dim = emb;
    assert_int_equal(cfx_net_new(&s, &n, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "'a' has embedding_dim 4 but does not go "
                                    "into the deep part"));
    s.deep_categorical = 1;
    emb[0] = CFX_NET_MAX_EMBEDDING_DIM + 1;
    assert_int_equal(cfx_net_new(&s, &n, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "'a' has embedding_dim 513, expected"));
    /* the first layer's input, dense + embeddings, within the kernel's
     * limit */
    emb[0] = 512;
    s.num_dense = CFX_NET_MAX_WIDTH - 511;
    assert_int_equal(cfx_net_new(&s, &n, &err), CFX_ETOOBIG);
    assert_non_null(strstr(err.msg, "3585 dense + 512 embedding inputs"));
    assert_null(n);
    s.num_dense = CFX_NET_MAX_WIDTH - 512;
    assert_int_equal(cfx_net_new(&s, &n, &err), 0);
    assert_int_equal(n->width[0], CFX_NET_MAX_WIDTH);
    cfx_net_free(n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_golden_embedding),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_reference_agrees),
        cmocka_unit_test(test_rejects_bad_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

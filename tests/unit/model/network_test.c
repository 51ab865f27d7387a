/* network_test.c: the wide & deep forward pass: a hand-computed golden
 * value, and the optimized kernel against the reference loops over many
 * shapes (widths below, at and above the 8-float block, batch sizes 1..67). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/network.h"

static cfx_net_t *make_net(size_t nd, size_t nc, const int64_t *card, size_t nh,
                           const size_t *hidden, int deep_cat) {
    static const char *names[] = {"a_xf", "b_xf", "c_xf",
                                  "d_xf", "e_xf", "f_xf"};
    cfx_net_spec_t s = {.num_dense = nd,
                        .num_categorical = nc,
                        .cat_names = names,
                        .cat_cardinality = card,
                        .num_hidden = nh,
                        .deep_categorical = deep_cat};
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
    cfx_net_t *n = make_net(2, 1, card, 1, hid, 1);
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

static void check_agree(size_t nd, size_t nc, const int64_t *card, size_t nh,
                        const size_t *hidden, int deep_cat, size_t B,
                        uint64_t seed) {
    cfx_net_t *n = make_net(nd, nc, card, nh, hidden, deep_cat);
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
    size_t B[] = {1, 2, 40, 67};
    for (size_t i = 0; i < 4; i++) {
        check_agree(3, 6, card, 4, taxi, 1, B[i], 1 + i);
        check_agree(3, 6, card, 4, taxi, 0, B[i], 11 + i);
        check_agree(5, 2, card, 5, odd, 1, B[i], 21 + i);
        check_agree(1, 0, card, 1, one, 0, B[i], 31 + i);
        check_agree(0, 3, card, 2, taxi, 1, B[i], 41 + i);
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
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_reference_agrees),
        cmocka_unit_test(test_rejects_bad_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

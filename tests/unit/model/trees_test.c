/* trees_test.c: the tree format and evaluator (model/trees.h): a
 * hand-computed ensemble (splits, default directions for NaN, two outputs),
 * the fast evaluator (complete layout for shallow trees, the flat walk for a
 * deep one) against the reference walk, and the format's refusals. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/network.h"
#include "model/trees.h"
#include "test_util.h"

/* Two features: f0 dense, f1 the categorical slot 0.
 *   tree 0: f0 < 0.5 ? 1.0 : (f1 < 2.5 ? -2.0 : 3.0); NaN f0 goes left
 *   tree 1: f0 < -1 ? 0.5 : -0.25;                   NaN f0 goes right */
static const char *HAND =
    "{\"format\": \"cfx-trees\", \"version\": 1,"
    " \"features\": [\"x_xf\", \"c_xf\"], \"num_outputs\": 1,"
    " \"base_margin\": [0.125],"
    " \"trees\": ["
    "  {\"output\": 0, \"feature\": [0, 0, 1, 0, 0],"
    "   \"value\": [0.5, 1.0, 2.5, -2.0, 3.0],"
    "   \"left\": [1, -1, 3, -1, -1], \"right\": [2, -1, 4, -1, -1],"
    "   \"default_left\": [1, 0, 0, 0, 0]},"
    "  {\"output\": 0, \"feature\": [0, 0, 0], \"value\": [-1, 0.5, -0.25],"
    "   \"left\": [1, -1, -1], \"right\": [2, -1, -1],"
    "   \"default_left\": [false, false, false]}]}";

static cfx_trees_t *parse(const char *text, cfx_error_t *err) {
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    assert_non_null(j);
    cfx_trees_t *tr = NULL;
    int rc = cfx_trees_from_json(j, "trees.json", NULL, &tr, err);
    json_decref(j);
    if (rc != 0)
        return NULL;
    return tr;
}

static void test_hand_computed(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_trees_t *tr = parse(HAND, &err);
    if (tr == NULL)
        fail_msg("%s", err.msg);
    assert_int_equal(cfx_trees_num_trees(tr), 2);
    assert_int_equal(cfx_trees_num_nodes(tr), 8);
    assert_int_equal(cfx_trees_max_depth(tr), 2);
    /* without a transform every feature is read from the dense row */
    float x[][2] = {{0.0f, 7},  {0.5f, 2}, {0.7f, 3},
                    {-3.0f, 0}, {NAN, 9},  {2.0f, NAN}};
    /* by hand: base + tree 0 + tree 1 */
    float want[] = {0.125f + 1.0f - 0.25f, 0.125f - 2.0f - 0.25f,
                    0.125f + 3.0f - 0.25f, 0.125f + 1.0f + 0.5f,
                    0.125f + 1.0f - 0.25f, 0.125f + 3.0f - 0.25f};
    float got[6], ref[6];
    cfx_trees_predict(tr, &x[0][0], NULL, 6, got);
    cfx_trees_predict_ref(tr, &x[0][0], NULL, 6, ref);
    for (int i = 0; i < 6; i++) {
        assert_float_equal(got[i], want[i], 0);
        assert_float_equal(ref[i], want[i], 0);
    }
    cfx_trees_free(tr);
}

static void test_two_outputs(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_trees_t *tr = parse(
        "{\"format\": \"cfx-trees\", \"version\": 1, \"features\": [\"a\"],"
        " \"num_outputs\": 2, \"base_margin\": [1, -1], \"trees\": ["
        " {\"output\": 1, \"feature\": [0, 0, 0], \"value\": [0, 10, 20],"
        "  \"left\": [1, -1, -1], \"right\": [2, -1, -1],"
        "  \"default_left\": [0, 0, 0]},"
        " {\"output\": 0, \"feature\": [0], \"value\": [5], \"left\": [-1],"
        "  \"right\": [-1], \"default_left\": [0]}]}",
        &err);
    if (tr == NULL)
        fail_msg("%s", err.msg);
    float x[] = {-1, 1}, m[4];
    cfx_trees_predict(tr, x, NULL, 2, m);
    assert_float_equal(m[0], 6, 0);
    assert_float_equal(m[1], 9, 0);
    assert_float_equal(m[2], 6, 0);
    assert_float_equal(m[3], 19, 0);
    cfx_trees_free(tr);
}

/* A random complete-ish tree of n nodes as cfx-trees arrays. */
static json_t *random_tree(uint64_t *rng, size_t nf, size_t no) {
    json_t *f = json_array(), *v = json_array(), *l = json_array(),
           *r = json_array(), *d = json_array();
    size_t count = 1, i = 0;
    /* breadth first: each node splits with probability 0.7 while the
     * tree is below 63 nodes */
    for (; i < count; i++) {
        int split = count + 2 <= 63 && cfx_rng_uniform(rng) < 0.7f;
        json_array_append_new(
            f, json_integer(split ? (json_int_t)(cfx_rng_next(rng) % nf) : 0));
        json_array_append_new(
            v, json_real((double)(cfx_rng_uniform(rng) * 4.0f - 2.0f)));
        json_array_append_new(l, json_integer(split ? (json_int_t)count : -1));
        json_array_append_new(r,
                              json_integer(split ? (json_int_t)count + 1 : -1));
        json_array_append_new(d, json_integer(cfx_rng_next(rng) & 1));
        if (split)
            count += 2;
    }
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "output",
                     (json_int_t)(cfx_rng_next(rng) % no), "feature", f,
                     "value", v, "left", l, "right", r, "default_left", d);
}

static void test_fast_matches_reference(void **state) {
    (void)state;
    uint64_t rng = 7;
    const size_t nf = 6, no = 3, T = 50, N = 500;
    json_t *trees = json_array(), *names = json_array(), *base = json_array();
    for (size_t i = 0; i < nf; i++) {
        char s[8];
        snprintf(s, sizeof s, "f%zu", i);
        json_array_append_new(names, json_string(s));
    }
    for (size_t k = 0; k < no; k++)
        json_array_append_new(base, json_real(0.1 * (double)k));
    for (size_t t = 0; t < T; t++)
        json_array_append_new(trees, random_tree(&rng, nf, no));
    json_t *root =
        json_pack("{s:s, s:i, s:o, s:I, s:o, s:o}", "format", "cfx-trees",
                  "version", 1, "features", names, "num_outputs",
                  (json_int_t)no, "base_margin", base, "trees", trees);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_trees_t *tr = NULL;
    CFX_TEST_OK(cfx_trees_from_json(root, "random", NULL, &tr, &err), err);
    float *x = malloc(N * nf * sizeof *x), *a = malloc(N * no * sizeof *a),
          *b = malloc(N * no * sizeof *b);
    for (size_t i = 0; i < N * nf; i++)
        x[i] =
            cfx_rng_uniform(&rng) < 0.1f ? NAN : cfx_rng_uniform(&rng) * 4 - 2;
    cfx_trees_predict(tr, x, NULL, N, a);
    cfx_trees_predict_ref(tr, x, NULL, N, b);
    /* the same additions in the same order: bit for bit */
    assert_memory_equal(a, b, N * no * sizeof *a);
    free(x);
    free(a);
    free(b);
    cfx_trees_free(tr);
    json_decref(root);
}

/* A chain 12 splits deep (past the complete layout's depth: the flat walk
 * serves): split k sends x < k to a leaf of value k, else on. */
static void test_deep_tree(void **state) {
    (void)state;
    json_t *f = json_array(), *v = json_array(), *l = json_array(),
           *r = json_array(), *d = json_array();
    for (int k = 0; k < 12; k++) {
        json_array_append_new(f, json_integer(0));
        json_array_append_new(v, json_real(k));
        json_array_append_new(l, json_integer(2 * k + 1));
        json_array_append_new(r, json_integer(2 * k + 2));
        json_array_append_new(d, json_integer(k == 3));
        json_array_append_new(f, json_integer(0));
        json_array_append_new(v, json_real(k));
        json_array_append_new(l, json_integer(-1));
        json_array_append_new(r, json_integer(-1));
        json_array_append_new(d, json_integer(0));
    }
    json_array_append_new(f, json_integer(0));
    json_array_append_new(v, json_real(100));
    json_array_append_new(l, json_integer(-1));
    json_array_append_new(r, json_integer(-1));
    json_array_append_new(d, json_integer(0));
    json_t *root = json_pack(
        "{s:s, s:i, s:[s], s:i, s:[f], s:[{s:i, s:o, s:o, s:o, s:o, s:o}]}",
        "format", "cfx-trees", "version", 1, "features", "x", "num_outputs", 1,
        "base_margin", 0.5, "trees", "output", 0, "feature", f, "value", v,
        "left", l, "right", r, "default_left", d);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_trees_t *tr = NULL;
    CFX_TEST_OK(cfx_trees_from_json(root, "deep", NULL, &tr, &err), err);
    assert_int_equal(cfx_trees_max_depth(tr), 12);
    /* NaN: right at splits 0..2, left at split 3 (its default) */
    float x[] = {5.5f, -1, 11.5f, 1e9f, NAN}, m[5], ref[5];
    float want[] = {6.5f, 0.5f, 100.5f, 100.5f, 3.5f};
    cfx_trees_predict(tr, x, NULL, 5, m);
    cfx_trees_predict_ref(tr, x, NULL, 5, ref);
    for (int i = 0; i < 5; i++) {
        assert_float_equal(m[i], want[i], 0);
        assert_float_equal(ref[i], want[i], 0);
    }
    cfx_trees_free(tr);
    json_decref(root);
}

static void refused(const char *trees, const char *want) {
    char text[2048];
    snprintf(text, sizeof text,
             "{\"format\": \"cfx-trees\", \"version\": 1, \"features\": "
             "[\"a\", \"b\"], \"num_outputs\": 1, \"base_margin\": [0], "
             "\"trees\": [%s]}",
             trees);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_trees_t *tr = parse(text, &err);
    assert_null(tr);
    if (strstr(err.msg, want) == NULL)
        fail_msg("expected '%s' in: %s", want, err.msg);
}

static void test_refusals(void **state) {
    (void)state;
    /* a child before its parent (would loop) */
    refused("{\"output\": 0, \"feature\": [0, 0, 0], \"value\": [0, 1, 2],"
            " \"left\": [1, -1, 0], \"right\": [2, -1, -1],"
            " \"default_left\": [0, 0, 0]}",
            "node 2: children 0 and -1");
    /* a node with two parents */
    refused("{\"output\": 0, \"feature\": [0, 0, 0, 0, 0],"
            " \"value\": [0, 1, 2, 3, 4], \"left\": [1, 3, -1, -1, -1],"
            " \"right\": [2, 4, 3, -1, -1], \"default_left\": [0, 0, 0, 0, 0]}",
            "node 2: children -1 and 3");
    refused("{\"output\": 0, \"feature\": [0, 0, 0, 0, 0],"
            " \"value\": [0, 1, 2, 3, 4], \"left\": [1, 3, 3, -1, -1],"
            " \"right\": [2, 4, 4, -1, -1], \"default_left\": [0, 0, 0, 0, 0]}",
            "node 3 has 2 parents");
    refused("{\"output\": 0, \"feature\": [2, 0, 0], \"value\": [0, 1, 2],"
            " \"left\": [1, -1, -1], \"right\": [2, -1, -1],"
            " \"default_left\": [0, 0, 0]}",
            "node 0: feature expected in [0, 2)");
    refused("{\"output\": 1, \"feature\": [0], \"value\": [0], \"left\": [-1],"
            " \"right\": [-1], \"default_left\": [0]}",
            "'output' in [0, 1)");
    refused("{\"output\": 0, \"feature\": [0], \"value\": [1e39],"
            " \"left\": [-1], \"right\": [-1], \"default_left\": [0]}",
            "value expected a finite number");
    refused("{\"output\": 0, \"feature\": [0, 0], \"value\": [0],"
            " \"left\": [-1], \"right\": [-1], \"default_left\": [0]}",
            "'value' must be a list as long as 'feature'");
    refused("{\"output\": 0, \"feature\": [], \"value\": [], \"left\": [],"
            " \"right\": [], \"default_left\": []}",
            "0 nodes");
    cfx_error_t err;
    cfx_error_init(&err);
    assert_null(parse("{\"format\": \"cfx-trees\", \"version\": 2}", &err));
    assert_non_null(strstr(err.msg, "'version' expected 1"));
    assert_null(parse("{\"format\": \"xgboost\", \"version\": 1}", &err));
    assert_non_null(strstr(err.msg, "'format' expected \"cfx-trees\""));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed),
        cmocka_unit_test(test_two_outputs),
        cmocka_unit_test(test_fast_matches_reference),
        cmocka_unit_test(test_deep_tree),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

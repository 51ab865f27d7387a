/* statistics_test.c: statistics of a small fixture whose expected values
 * were worked out by hand (numbers below; tolerance 1e-9 on doubles), the
 * merge of per-shard accumulators, and kind conflicts.
 *
 * Fixture (6 examples):
 *   i (int64):  [1] [2] [3] []      absent [4,5]
 *   f (float):  [.5] [nan] [2] [0]  [-2.5] [.5]
 *   g (float):  [inf] [1] [-inf]    absent absent absent
 *   s (bytes):  [b] [a] [b] [a,c]   []     absent
 *   n (no kind) in examples 1, 2 and 6 only
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/statistics.h"
#include "statistics.pb-c.h"

typedef Tensorflow__Metadata__V0__DatasetFeatureStatisticsList list_t;
typedef Tensorflow__Metadata__V0__FeatureNameStatistics feat_t;
typedef Tensorflow__Metadata__V0__Histogram hist_t;

#define TOL 1e-9

static void add_fixture(cfx_stats_acc_t *s, int from, int to) {
    cfx_example_t ex;
    cfx_error_t err;
    cfx_example_init(&ex);
    cfx_error_init(&err);
    for (int e = from; e < to; e++) {
        cfx_example_reset(&ex);
        static const int64_t iv[6][2] = {{1}, {2}, {3}, {0}, {0}, {4, 5}};
        static const size_t in[6] = {1, 1, 1, 0, 0, 2};
        if (e != 4)
            assert_int_equal(cfx_example_add_int64(&ex, "i", iv[e], in[e]), 0);
        float fv[6] = {0.5f, NAN, 2.0f, 0.0f, -2.5f, 0.5f};
        assert_int_equal(cfx_example_add_float(&ex, "f", &fv[e], 1), 0);
        float gv[3] = {INFINITY, 1.0f, -INFINITY};
        if (e < 3)
            assert_int_equal(cfx_example_add_float(&ex, "g", &gv[e], 1), 0);
        cfx_bytes_t a = {(const uint8_t *)"a", 1},
                    b = {(const uint8_t *)"b", 1},
                    c = {(const uint8_t *)"c", 1};
        cfx_bytes_t sv[6][2] = {{b}, {a}, {b}, {a, c}, {a}, {a}};
        static const size_t sn[6] = {1, 1, 1, 2, 0, 0};
        if (e != 5)
            assert_int_equal(cfx_example_add_bytes(&ex, "s", sv[e], sn[e]), 0);
        if (e == 0 || e == 1 || e == 5)
            assert_int_equal(cfx_example_add_none(&ex, "n"), 0);
        if (cfx_stats_acc_add(s, &ex, &err) < 0)
            fail_msg("%s", err.msg);
    }
    cfx_example_free(&ex);
}

static list_t *encode_decode(const cfx_stats_acc_t *s) {
    cfx_buf_t buf;
    cfx_error_t err;
    cfx_buf_init(&buf);
    cfx_error_init(&err);
    if (cfx_stats_acc_encode(s, &buf, &err) < 0)
        fail_msg("%s", err.msg);
    list_t *l =
        tensorflow__metadata__v0__dataset_feature_statistics_list__unpack(
            NULL, buf.len, buf.data);
    assert_non_null(l);
    cfx_buf_free(&buf);
    return l;
}

static const feat_t *find(const list_t *l, const char *name) {
    const Tensorflow__Metadata__V0__DatasetFeatureStatistics *d =
        l->datasets[0];
    for (size_t i = 0; i < d->n_features; i++) {
        const feat_t *f = d->features[i];
        assert_int_equal(
            f->field_id_case,
            TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__FIELD_ID_PATH);
        if (f->path->n_step == 1 && !strcmp(f->path->step[0], name))
            return f;
    }
    fail_msg("feature %s missing", name);
    return NULL;
}

static void near(double got, double want, const char *what) {
    if (!(fabs(got - want) <= TOL * (1 + fabs(want))) &&
        !(isinf(got) && got == want))
        fail_msg("%s: got %.17g, want %.17g (diff %.3g)", what, got, want,
                 fabs(got - want));
}

static void expect_hist(const hist_t *h, int type, const double *lo,
                        const double *hi, const double *count, size_t n,
                        const char *what) {
    assert_non_null(h);
    assert_int_equal(h->type, type);
    if (h->n_buckets != n)
        fail_msg("%s: %zu buckets, want %zu", what, h->n_buckets, n);
    for (size_t i = 0; i < n; i++) {
        char w[128];
        snprintf(w, sizeof w, "%s bucket %zu", what, i);
        near(h->buckets[i]->low_value, lo[i], w);
        near(h->buckets[i]->high_value, hi[i], w);
        near(h->buckets[i]->sample_count, count[i], w);
    }
}

static void check_fixture(const list_t *l) {
    assert_int_equal(l->n_datasets, 1);
    assert_int_equal(l->datasets[0]->num_examples, 6);
    assert_int_equal(l->datasets[0]->n_features, 5);
    /* sorted by name */
    assert_string_equal(l->datasets[0]->features[0]->path->step[0], "f");

    /* i */
    const feat_t *f = find(l, "i");
    assert_int_equal(
        f->type, TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__INT);
    const Tensorflow__Metadata__V0__NumericStatistics *ns = f->num_stats;
    const Tensorflow__Metadata__V0__CommonStatistics *cs = ns->common_stats;
    assert_int_equal(cs->num_non_missing, 5);
    assert_int_equal(cs->num_missing, 1);
    assert_int_equal(cs->min_num_values, 0);
    assert_int_equal(cs->max_num_values, 2);
    assert_int_equal(cs->tot_num_values, 5);
    near(cs->avg_num_values, 1.0, "i avg_num_values");
    {
        /* value counts 0,1,1,1,2: bounds sorted[floor(k/2)] */
        double lo[10] = {0, 0, 1, 1, 1, 1, 1, 1, 2, 2};
        double hi[10] = {0, 1, 1, 1, 1, 1, 1, 2, 2, 2};
        double c[10] = {.5, .5, .5, .5, .5, .5, .5, .5, .5, .5};
        expect_hist(cs->num_values_histogram, 1, lo, hi, c, 10,
                    "i num_values_histogram");
    }
    near(ns->mean, 3.0, "i mean");
    near(ns->std_dev, sqrt(2.0), "i std_dev");
    assert_int_equal(ns->num_zeros, 0);
    near(ns->min, 1, "i min");
    near(ns->max, 5, "i max");
    near(ns->median, 3, "i median");
    assert_int_equal(ns->n_histograms, 2);
    {
        double lo[10], hi[10];
        for (int k = 0; k < 10; k++) {
            lo[k] = 1 + k * 0.4;
            hi[k] = k == 9 ? 5 : 1 + (k + 1) * 0.4;
        }
        /* an edge value (3 at 3.0) opens its bucket: [lo, hi), the last
         * one closed */
        double c[10] = {.997, .002, .997, .002, .002,
                        .997, .002, .997, .002, 1.002};
        expect_hist(ns->histograms[0], 0, lo, hi, c, 10, "i standard");
    }
    {
        double lo[10] = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5};
        double hi[10] = {1, 2, 2, 3, 3, 4, 4, 5, 5, 5};
        double c[10] = {.5, .5, .5, .5, .5, .5, .5, .5, .5, .5};
        expect_hist(ns->histograms[1], 1, lo, hi, c, 10, "i quantiles");
    }

    /* f: non-NaN values .5 2 0 -2.5 .5 */
    f = find(l, "f");
    assert_int_equal(
        f->type,
        TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__FLOAT);
    ns = f->num_stats;
    assert_int_equal(ns->common_stats->num_non_missing, 6);
    assert_int_equal(ns->common_stats->tot_num_values, 6);
    near(ns->mean, 0.1, "f mean");
    near(ns->std_dev, sqrt(2.14), "f std_dev");
    assert_int_equal(ns->num_zeros, 1);
    near(ns->min, -2.5, "f min");
    near(ns->max, 2.0, "f max");
    near(ns->median, 0.5, "f median");
    assert_int_equal(ns->histograms[0]->num_nan, 1);
    assert_int_equal(ns->histograms[1]->num_nan, 1);

    /* g: -inf, 1, +inf (worked in docs/statistics.md terms: the -inf
     * weight is the cumulative weight at the last -inf quantile) */
    f = find(l, "g");
    ns = f->num_stats;
    near(ns->min, -INFINITY, "g min");
    near(ns->max, INFINITY, "g max");
    near(ns->median, 1, "g median");
    {
        double lo[3] = {-INFINITY, 1, INFINITY},
               hi[3] = {-INFINITY, 1, INFINITY};
        double c[3] = {.999, 1.001, 1};
        expect_hist(ns->histograms[0], 0, lo, hi, c, 3, "g standard");
    }

    /* s */
    f = find(l, "s");
    assert_int_equal(
        f->type,
        TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__STRING);
    const Tensorflow__Metadata__V0__StringStatistics *ss = f->string_stats;
    assert_int_equal(ss->common_stats->num_non_missing, 5);
    assert_int_equal(ss->common_stats->num_missing, 1);
    assert_int_equal(ss->common_stats->min_num_values, 0);
    assert_int_equal(ss->common_stats->tot_num_values, 5);
    assert_int_equal(ss->unique, 3);
    near(ss->avg_length, 1.0, "s avg_length");
    assert_int_equal(ss->n_top_values, 3);
    /* count descending, ties by value in descending byte order */
    assert_string_equal(ss->top_values[0]->value, "b");
    near(ss->top_values[0]->frequency, 2, "top 0");
    assert_string_equal(ss->top_values[1]->value, "a");
    near(ss->top_values[1]->frequency, 2, "top 1");
    assert_string_equal(ss->top_values[2]->value, "c");
    near(ss->top_values[2]->frequency, 1, "top 2");
    assert_int_equal(ss->rank_histogram->n_buckets, 3);
    assert_int_equal(ss->rank_histogram->buckets[2]->low_rank, 2);
    assert_int_equal(ss->rank_histogram->buckets[2]->high_rank, 2);
    assert_string_equal(ss->rank_histogram->buckets[2]->label, "c");
    assert_int_equal(ss->invalid_utf8_count, 0);

    /* n: never a value: STRING with common stats only */
    f = find(l, "n");
    assert_int_equal(
        f->type,
        TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__STRING);
    ss = f->string_stats;
    assert_int_equal(ss->common_stats->num_non_missing, 0);
    assert_int_equal(ss->common_stats->num_missing, 6);
    assert_null(ss->common_stats->num_values_histogram);
    assert_int_equal(ss->unique, 0);
    assert_int_equal(ss->n_top_values, 0);
    assert_null(ss->rank_histogram);
}

static void test_fixture(void **state) {
    (void)state;
    cfx_stats_acc_t *s = cfx_stats_acc_new(NULL);
    add_fixture(s, 0, 6);
    assert_int_equal(cfx_stats_acc_num_examples(s), 6);
    list_t *l = encode_decode(s);
    check_fixture(l);
    tensorflow__metadata__v0__dataset_feature_statistics_list__free_unpacked(
        l, NULL);
    cfx_stats_acc_free(s);
}

static void test_merge(void **state) {
    (void)state;
    /* three shards, merged in a different order than the rows */
    cfx_stats_acc_t *a = cfx_stats_acc_new(NULL), *b = cfx_stats_acc_new(NULL),
                    *c = cfx_stats_acc_new(NULL);
    add_fixture(a, 0, 2);
    add_fixture(b, 2, 5);
    add_fixture(c, 5, 6);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_stats_merge(c, a, &err), 0);
    assert_int_equal(cfx_stats_merge(c, b, &err), 0);
    list_t *l = encode_decode(c);
    check_fixture(l);
    tensorflow__metadata__v0__dataset_feature_statistics_list__free_unpacked(
        l, NULL);
    /* merging an empty accumulator changes nothing */
    cfx_stats_acc_t *e = cfx_stats_acc_new(NULL);
    assert_int_equal(cfx_stats_merge(c, e, &err), 0);
    assert_int_equal(cfx_stats_acc_num_examples(c), 6);
    cfx_stats_acc_free(a);
    cfx_stats_acc_free(b);
    cfx_stats_acc_free(c);
    cfx_stats_acc_free(e);
}

static void test_kind_conflict(void **state) {
    (void)state;
    cfx_stats_acc_t *s = cfx_stats_acc_new(NULL);
    cfx_example_t ex;
    cfx_error_t err;
    cfx_example_init(&ex);
    cfx_error_init(&err);
    int64_t v = 1;
    float f = 1;
    cfx_example_add_int64(&ex, "x", &v, 1);
    assert_int_equal(cfx_stats_acc_add(s, &ex, &err), 0);
    cfx_example_reset(&ex);
    cfx_example_add_float(&ex, "x", &f, 1);
    assert_int_equal(cfx_stats_acc_add(s, &ex, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "feature 'x': int64_list"));
    /* the same conflict across a merge */
    cfx_stats_acc_t *t = cfx_stats_acc_new(NULL);
    assert_int_equal(cfx_stats_acc_add(t, &ex, &err), 0);
    assert_int_equal(cfx_stats_merge(s, t, &err), CFX_EINVAL);
    cfx_example_free(&ex);
    cfx_stats_acc_free(s);
    cfx_stats_acc_free(t);
}

static void encode_bytes(const cfx_stats_acc_t *s, cfx_buf_t *out) {
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_buf_reset(out);
    if (cfx_stats_acc_encode(s, out, &err) < 0)
        fail_msg("%s", err.msg);
}

/* Saved and loaded state gives byte-identical statistics, in both quantile
 * regimes; every truncation and many corruptions are refused or survived
 * without a crash (ASan). */
static void test_state_roundtrip(void **state) {
    (void)state;
    for (int budget = 0; budget <= 4; budget += 4) {
        cfx_stats_options_t o = {.quantiles_budget = (size_t)budget};
        cfx_stats_acc_t *s = cfx_stats_acc_new(budget ? &o : NULL), *t = NULL;
        add_fixture(s, 0, 6);
        cfx_buf_t st, a, b;
        cfx_buf_init(&st);
        cfx_buf_init(&a);
        cfx_buf_init(&b);
        cfx_error_t err;
        cfx_error_init(&err);
        assert_int_equal(cfx_stats_acc_save(s, &st, &err), 0);
        if (cfx_stats_acc_load(budget ? &o : NULL, st.data, st.len, &t, &err) <
            0)
            fail_msg("%s", err.msg);
        encode_bytes(s, &a);
        encode_bytes(t, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        cfx_stats_acc_free(t);
        for (size_t cut = 0; cut < st.len; cut++) {
            t = NULL;
            assert_int_equal(cfx_stats_acc_load(NULL, st.data, cut, &t, &err),
                             CFX_ECORRUPT);
            assert_null(t);
        }
        for (size_t i = 0; i < st.len; i++) {
            uint8_t saved = st.data[i];
            st.data[i] ^= (uint8_t)(0x5a + i);
            t = NULL;
            if (cfx_stats_acc_load(NULL, st.data, st.len, &t, &err) == 0) {
                encode_bytes(t, &b); /* whatever it says, it must encode */
                cfx_stats_acc_free(t);
            }
            st.data[i] = saved;
        }
        cfx_buf_free(&st);
        cfx_buf_free(&a);
        cfx_buf_free(&b);
        cfx_stats_acc_free(s);
    }
}

/* A string feature past max_distinct_strings: memory stays bounded, the
 * values first seen after the limit are reported as untracked. */
static void test_distinct_limit(void **state) {
    (void)state;
    cfx_stats_options_t o = {.max_distinct_strings = 2};
    cfx_stats_acc_t *s = cfx_stats_acc_new(&o), *t = cfx_stats_acc_new(&o);
    cfx_example_t ex;
    cfx_error_t err;
    cfx_example_init(&ex);
    cfx_error_init(&err);
    static const char *vals[] = {"a", "b", "c", "a", "d", "b", "a"};
    for (int i = 0; i < 7; i++) {
        cfx_bytes_t b = {(const uint8_t *)vals[i], 1};
        cfx_example_reset(&ex);
        cfx_example_add_bytes(&ex, "s", &b, 1);
        assert_int_equal(cfx_stats_acc_add(i < 4 ? s : t, &ex, &err), 0);
    }
    /* s saw a b c a: keeps a:2 b:1, c untracked; t saw d b a: keeps d:1
     * b:1, a untracked; the merge keeps s's a and b (b:2), d untracked.
     * Counts past the limit are lower bounds: a is 2, not 3. */
    assert_int_equal(cfx_stats_merge(s, t, &err), 0);
    list_t *l = encode_decode(s);
    const feat_t *f = find(l, "s");
    assert_int_equal(f->string_stats->unique, 2);
    assert_int_equal(f->string_stats->common_stats->tot_num_values, 7);
    assert_string_equal(f->string_stats->top_values[0]->value, "b");
    near(f->string_stats->top_values[0]->frequency, 2, "b");
    assert_string_equal(f->string_stats->top_values[1]->value, "a");
    near(f->string_stats->top_values[1]->frequency, 2, "a");
    assert_int_equal(f->n_custom_stats, 1);
    assert_string_equal(f->custom_stats[0]->name, "untracked_values");
    near(f->custom_stats[0]->num, 3, "untracked");
    tensorflow__metadata__v0__dataset_feature_statistics_list__free_unpacked(
        l, NULL);
    cfx_example_free(&ex);
    cfx_stats_acc_free(s);
    cfx_stats_acc_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_kind_conflict),
        cmocka_unit_test(test_state_roundtrip),
        cmocka_unit_test(test_distinct_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

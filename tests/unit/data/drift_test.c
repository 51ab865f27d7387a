/*
 * drift_test.c: L-infinity, normalized absolute difference and
 * Jensen-Shannon divergence against values worked out by hand (written in
 * the comments; cross-checked with a few lines of Python's math.log2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/drift.h"

#define TOL 1e-9

typedef Tensorflow__Metadata__V0__FeatureNameStatistics fns_t;

/* A string feature whose rank histogram holds (labels[i], counts[i]). */
static fns_t *str_feature(const char **labels, const double *counts, size_t n) {
    fns_t *f = calloc(1, sizeof *f);
    tensorflow__metadata__v0__feature_name_statistics__init(f);
    f->type = TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__STRING;
    f->stats_case =
        TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__STATS_STRING_STATS;
    f->string_stats = calloc(1, sizeof *f->string_stats);
    tensorflow__metadata__v0__string_statistics__init(f->string_stats);
    Tensorflow__Metadata__V0__RankHistogram *rh = calloc(1, sizeof *rh);
    tensorflow__metadata__v0__rank_histogram__init(rh);
    rh->buckets = calloc(n, sizeof *rh->buckets);
    rh->n_buckets = n;
    for (size_t i = 0; i < n; i++) {
        rh->buckets[i] = calloc(1, sizeof *rh->buckets[i]);
        tensorflow__metadata__v0__rank_histogram__bucket__init(rh->buckets[i]);
        rh->buckets[i]->label = strdup(labels[i]);
        rh->buckets[i]->sample_count = counts[i];
        rh->buckets[i]->low_rank = rh->buckets[i]->high_rank = i;
    }
    f->string_stats->rank_histogram = rh;
    return f;
}

static Tensorflow__Metadata__V0__Histogram *histogram(const double *lo,
                                                      const double *hi,
                                                      const double *c, size_t n,
                                                      uint64_t num_nan) {
    Tensorflow__Metadata__V0__Histogram *h = calloc(1, sizeof *h);
    tensorflow__metadata__v0__histogram__init(h);
    h->num_nan = num_nan;
    h->buckets = calloc(n ? n : 1, sizeof *h->buckets);
    h->n_buckets = n;
    for (size_t i = 0; i < n; i++) {
        h->buckets[i] = calloc(1, sizeof *h->buckets[i]);
        tensorflow__metadata__v0__histogram__bucket__init(h->buckets[i]);
        h->buckets[i]->low_value = lo[i];
        h->buckets[i]->high_value = hi[i];
        h->buckets[i]->sample_count = c[i];
    }
    return h;
}

static void free_msg(void *m) {
    protobuf_c_message_free_unpacked((ProtobufCMessage *)m, NULL);
}

/* a = {a:3, b:1}, b = {a:1, b:1, c:2}. Own totals: p = {.75,.25,0},
 * q = {.25,.25,.5}: |diffs| = .5, 0, .5 -> 0.5, the later tie "c". */
static void test_linf(void **state) {
    (void)state;
    const char *la[] = {"a", "b"}, *lb[] = {"c", "a", "b"};
    double ca[] = {3, 1}, cb[] = {2, 1, 1};
    fns_t *a = str_feature(la, ca, 2), *b = str_feature(lb, cb, 3);
    double v = -1;
    const char *maxv = NULL;
    assert_int_equal(cfx_drift_linf(a, b, &v, &maxv, NULL), 0);
    assert_true(fabs(v - 0.5) < TOL);
    assert_string_equal(maxv, "c");
    /* Symmetric. */
    assert_int_equal(cfx_drift_linf(b, a, &v, &maxv, NULL), 0);
    assert_true(fabs(v - 0.5) < TOL);
    /* Identical distributions at different scales: 0. */
    double ca2[] = {30, 10};
    fns_t *a2 = str_feature(la, ca2, 2);
    assert_int_equal(cfx_drift_linf(a, a2, &v, &maxv, NULL), 0);
    assert_true(fabs(v) < TOL);
    free_msg(a);
    free_msg(b);
    free_msg(a2);
}

/* Same data, combined total 8: |3-1|/8 = .25, 0, |0-2|/8 = .25 -> 0.25.
 * {a:30,b:10} vs {a:3,b:1}: |30-3|/44 = 0.613636... */
static void test_normalized_abs_difference(void **state) {
    (void)state;
    const char *la[] = {"a", "b"}, *lb[] = {"a", "b", "c"};
    double ca[] = {3, 1}, cb[] = {1, 1, 2}, ca2[] = {30, 10};
    fns_t *a = str_feature(la, ca, 2), *b = str_feature(lb, cb, 3);
    fns_t *a2 = str_feature(la, ca2, 2);
    double v;
    const char *maxv;
    assert_int_equal(cfx_drift_normalized_abs_difference(a, b, &v, &maxv, NULL),
                     0);
    assert_true(fabs(v - 0.25) < TOL);
    assert_string_equal(maxv, "c");
    assert_int_equal(
        cfx_drift_normalized_abs_difference(a2, a, &v, &maxv, NULL), 0);
    assert_true(fabs(v - 27.0 / 44.0) < TOL);
    assert_string_equal(maxv, "a");
    free_msg(a);
    free_msg(b);
    free_msg(a2);
}

/* P = {.75,.25,0}, Q = {.25,.25,.5}, M = {.5,.25,.25}:
 * KL(P||M) = .75 log2 1.5 = 0.438721875..., KL(Q||M) = -.25 + .5 = .25,
 * JSD = 0.3443609377704336. */
static void test_jsd_categorical(void **state) {
    (void)state;
    const char *la[] = {"a", "b"}, *lb[] = {"a", "b", "c"};
    double ca[] = {3, 1}, cb[] = {1, 1, 2};
    fns_t *a = str_feature(la, ca, 2), *b = str_feature(lb, cb, 3);
    double v;
    assert_int_equal(cfx_drift_jsd(a, b, 0, &v, NULL), 0);
    assert_true(fabs(v - 0.3443609377704336) < TOL);
    /* Disjoint supports: 1 (the maximum). */
    const char *lc[] = {"x"};
    double cc[] = {5};
    fns_t *c = str_feature(lc, cc, 1);
    assert_int_equal(cfx_drift_jsd(a, c, 0, &v, NULL), 0);
    assert_true(fabs(v - 1.0) < TOL);
    /* The raw-counts entry point agrees, duplicates summed. */
    const char *va[] = {"a", "b", "a"};
    double na[] = {2, 1, 1};
    assert_int_equal(cfx_drift_jsd_counts(va, na, 3, lb, cb, 3, &v, NULL), 0);
    assert_true(fabs(v - 0.3443609377704336) < TOL);
    /* A non-positive count is refused. */
    double bad[] = {0, 1};
    cfx_error_t e;
    cfx_error_init(&e);
    assert_int_equal(cfx_drift_jsd_counts(la, bad, 2, lb, cb, 3, &v, &e),
                     CFX_EINVAL);
    free_msg(a);
    free_msg(b);
    free_msg(c);
}

/* [0,2]:4 vs [1,3]:4 re-bucketed onto {0,1,2,3}: [2,2,0] vs [0,2,2],
 * P = [.5,.5,0], Q = [0,.5,.5], M = [.25,.5,.25]: KL = .5 each, JSD 0.5. */
static void test_jsd_rebucket(void **state) {
    (void)state;
    double lo1[] = {0}, hi1[] = {2}, c1[] = {4};
    double lo2[] = {1}, hi2[] = {3}, c2[] = {4};
    Tensorflow__Metadata__V0__Histogram *h1 = histogram(lo1, hi1, c1, 1, 0);
    Tensorflow__Metadata__V0__Histogram *h2 = histogram(lo2, hi2, c2, 1, 0);
    double v;
    assert_int_equal(cfx_drift_jsd_histograms(h1, h2, &v, NULL), 0);
    assert_true(fabs(v - 0.5) < TOL);
    /* Same histogram against itself: 0. */
    assert_int_equal(cfx_drift_jsd_histograms(h1, h1, &v, NULL), 0);
    assert_true(fabs(v) < TOL);
    /* Finer bucketing of the same uniform mass: 0 after re-bucketing. */
    double lo3[] = {0, 1}, hi3[] = {1, 2}, c3[] = {10, 10};
    Tensorflow__Metadata__V0__Histogram *h3 = histogram(lo3, hi3, c3, 2, 0);
    assert_int_equal(cfx_drift_jsd_histograms(h1, h3, &v, NULL), 0);
    assert_true(fabs(v) < TOL);
    free_msg(h1);
    free_msg(h2);
    free_msg(h3);
}

/* h1 = [0,2]:4, point [5,5]:2, 2 NaNs; h2 = [1,3]:4, [-inf,0]:2.
 * Aligned (TFDV layout): finite [2,2,0] | [0,2,2]; point 5: 2 | 0;
 * h2's infinite mass: 0 | 2; NaN buckets crosswise: (0,2) | (0,0).
 * h1 = [2,2,0,2,0,0,2]/8, h2 = [0,2,2,0,2,0,0]/6 -> JSD 0.7126417936566767
 * (KL(P||M) = .75 + .25 log2(6/7), KL(Q||M) = 2/3 + 1/3 log2(8/7)). */
static void test_jsd_points_inf_nan(void **state) {
    (void)state;
    double lo1[] = {0, 5}, hi1[] = {2, 5}, c1[] = {4, 2};
    double lo2[] = {-INFINITY, 1}, hi2[] = {0, 3}, c2[] = {2, 4};
    Tensorflow__Metadata__V0__Histogram *h1 = histogram(lo1, hi1, c1, 2, 2);
    Tensorflow__Metadata__V0__Histogram *h2 = histogram(lo2, hi2, c2, 2, 0);
    double v;
    assert_int_equal(cfx_drift_jsd_histograms(h1, h2, &v, NULL), 0);
    assert_true(fabs(v - 0.7126417936566767) < TOL);
    /* Through the feature entry point (numeric features, STANDARD). */
    fns_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    fns_t *fs[] = {a, b};
    Tensorflow__Metadata__V0__Histogram *hs[] = {h1, h2};
    for (int i = 0; i < 2; i++) {
        tensorflow__metadata__v0__feature_name_statistics__init(fs[i]);
        fs[i]->type =
            TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__FLOAT;
        fs[i]->stats_case =
            TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__STATS_NUM_STATS;
        fs[i]->num_stats = calloc(1, sizeof *fs[i]->num_stats);
        tensorflow__metadata__v0__numeric_statistics__init(fs[i]->num_stats);
        fs[i]->num_stats->histograms = calloc(1, sizeof(void *));
        fs[i]->num_stats->histograms[0] = hs[i];
        fs[i]->num_stats->n_histograms = 1;
    }
    assert_int_equal(
        cfx_drift_jsd(
            a, b, TENSORFLOW__METADATA__V0__HISTOGRAM__HISTOGRAM_TYPE__STANDARD,
            &v, NULL),
        0);
    assert_true(fabs(v - 0.7126417936566767) < TOL);
    /* No QUANTILES histogram: cannot compare. */
    cfx_error_t e;
    cfx_error_init(&e);
    assert_int_equal(
        cfx_drift_jsd(
            a, b,
            TENSORFLOW__METADATA__V0__HISTOGRAM__HISTOGRAM_TYPE__QUANTILES, &v,
            &e),
        CFX_EINVAL);
    free_msg(a);
    free_msg(b);
}

/* Buckets out of ascending order are read the way TFDV reads them (no
 * out-of-bounds access): h1 = [2,3]:1 then [0,1]:1 re-buckets onto
 * {0,1,2,3} as [0,0,1] (the late [0,1] bucket covers no boundary left), h2 =
 * [0,3]:3 as [1,1,1]. P = [0,0,1], Q = [1/3]*3, M = [1/6,1/6,2/3]:
 * KL(P||M) = log2 1.5, KL(Q||M) = 1/3 -> JSD = 0.4591479170272448. */
static void test_jsd_unsorted_buckets(void **state) {
    (void)state;
    double lo1[] = {2, 0}, hi1[] = {3, 1}, c1[] = {1, 1};
    double lo2[] = {0}, hi2[] = {3}, c2[] = {3};
    Tensorflow__Metadata__V0__Histogram *h1 = histogram(lo1, hi1, c1, 2, 0);
    Tensorflow__Metadata__V0__Histogram *h2 = histogram(lo2, hi2, c2, 1, 0);
    double v;
    assert_int_equal(cfx_drift_jsd_histograms(h1, h2, &v, NULL), 0);
    assert_true(fabs(v - 0.4591479170272448) < TOL);
    /* Histograms of different types are not compared. */
    h2->type = TENSORFLOW__METADATA__V0__HISTOGRAM__HISTOGRAM_TYPE__QUANTILES;
    cfx_error_t e;
    cfx_error_init(&e);
    assert_int_equal(cfx_drift_jsd_histograms(h1, h2, &v, &e), CFX_EINVAL);
    free_msg(h1);
    free_msg(h2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linf),
        cmocka_unit_test(test_normalized_abs_difference),
        cmocka_unit_test(test_jsd_categorical),
        cmocka_unit_test(test_jsd_rebucket),
        cmocka_unit_test(test_jsd_points_inf_nan),
        cmocka_unit_test(test_jsd_unsorted_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

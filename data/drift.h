/*
 * drift.h: distances between two feature distributions, as TFDV measures
 * drift (current vs previous span) and skew (training vs serving):
 *
 *   L-infinity            categorical; each side normalised by its own total,
 *                         max over values of |p_a - p_b|
 *   normalized abs diff   categorical; both sides divided by the combined
 *                         total, max over values of |a - b| / (sum a + sum b)
 *   Jensen-Shannon        categorical over the union of values, or numeric
 *                         over histograms re-bucketed onto the union of their
 *                         boundaries (uniform mass within a bucket); log base
 *                         2, capped at 1.0
 *
 * Categorical counts come from a feature's string_stats.rank_histogram, or
 * its top_values when there is no rank histogram (as TFDV reads them).
 *
 * Pure functions over caller-owned protobuf-c messages; thread-safe.
 */
#ifndef CFX_DATA_DRIFT_H
#define CFX_DATA_DRIFT_H

#include <stddef.h>

#include "formats/err.h"
#include "statistics.pb-c.h"

typedef Tensorflow__Metadata__V0__FeatureNameStatistics cfx_drift_feature_t;
typedef Tensorflow__Metadata__V0__Histogram cfx_drift_histogram_t;

/* Max over values of |a/sum(a) - b/sum(b)|. *max_value (may be NULL) gets
 * the value with the largest difference (the last in byte order among ties,
 * like TFDV), pointing into a or b, or "" when both are empty. */
int cfx_drift_linf(const cfx_drift_feature_t *a, const cfx_drift_feature_t *b,
                   double *out, const char **max_value, cfx_error_t *err);

/* Max over values of |a - b| / (sum(a) + sum(b)). */
int cfx_drift_normalized_abs_difference(const cfx_drift_feature_t *a,
                                        const cfx_drift_feature_t *b,
                                        double *out, const char **max_value,
                                        cfx_error_t *err);

/* Jensen-Shannon divergence between two features: categorical when both have
 * value counts, otherwise numeric over their histograms of `histogram_type`
 * (Histogram STANDARD or QUANTILES). CFX_EINVAL when the two cannot be
 * compared (one string and one numeric, a missing histogram, no mass). */
int cfx_drift_jsd(const cfx_drift_feature_t *a, const cfx_drift_feature_t *b,
                  int histogram_type, double *out, cfx_error_t *err);

/* The numeric case alone: TFDV's alignment (point and infinite buckets set
 * aside, re-bucketing onto the union of finite boundaries, point masses,
 * infinite mass and NaN counts added back as extra buckets), then JSD. */
int cfx_drift_jsd_histograms(const cfx_drift_histogram_t *a,
                             const cfx_drift_histogram_t *b, double *out,
                             cfx_error_t *err);

/* The categorical case alone over two (value, count) lists; counts must be
 * positive, lists non-empty; a value may repeat (counts add up). */
int cfx_drift_jsd_counts(const char *const *values_a, const double *counts_a,
                         size_t n_a, const char *const *values_b,
                         const double *counts_b, size_t n_b, double *out,
                         cfx_error_t *err);

#endif

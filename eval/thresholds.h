/*
 * thresholds.h: TFMA's MetricThreshold semantics — value thresholds (lower
 * and upper bound) and change thresholds against a baseline model (a
 * direction and an absolute and/or relative bound on the diff).
 *
 *   value:  passes iff lower <= v <= upper (an unset bound is -inf / +inf);
 *   change: diff = candidate - baseline; HIGHER_IS_BETTER passes iff
 *           diff >= absolute (when set) and diff / baseline >= relative
 *           (when set); LOWER_IS_BETTER uses <=.
 * A metric that was not computed (NaN) fails every threshold on it. With no
 * baseline, change thresholds are dropped (TFX removes them before TFMA
 * runs), so only value thresholds decide.
 *
 * Which slices a threshold is checked on follows TFMA's validator
 * (metrics_validator.validate_metrics): an unsliced threshold (a metric's
 * `threshold`, MetricsSpec's `thresholds` map) has no slicing spec, which
 * TFMA reads as "every slice", so it is checked on every computed slice;
 * a per-slice threshold (per_slice_thresholds) pairs a threshold with a
 * SlicingSpec and is checked on every computed slice the spec applies to
 * (cfx_slicing_spec_applies). A change threshold compares with the
 * baseline's same slice.
 *
 * Thread-safety: plain functions over caller data.
 */
#ifndef CFX_EVAL_THRESHOLDS_H
#define CFX_EVAL_THRESHOLDS_H

#include <stddef.h>

#include "eval/metrics.h"
#include "eval/slicing.h"

#define CFX_METRIC_NAME_MAX 64

typedef enum cfx_direction {
    CFX_DIRECTION_UNKNOWN = 0, /* TFMA's numbers */
    CFX_DIRECTION_LOWER_IS_BETTER = 1,
    CFX_DIRECTION_HIGHER_IS_BETTER = 2,
} cfx_direction_t;

typedef struct cfx_threshold {
    char metric[CFX_METRIC_NAME_MAX]; /* TFMA key: "auc", ... */
    int has_value;                    /* a value_threshold is set */
    int has_lower, has_upper;
    double lower, upper;
    int has_change; /* a change_threshold is set */
    cfx_direction_t direction;
    int has_absolute, has_relative;
    double absolute, relative;
} cfx_threshold_t;

/* One checked bound. */
typedef struct cfx_threshold_outcome {
    int ok;
    char text[256]; /* "auc 0.957 >= lower bound 0.9" or why it failed */
} cfx_threshold_outcome_t;

/* Value part of t on value v (t->has_value must be set). Returns 1 when it
 * passes, 0 when not; out (may be NULL) gets the sentence. */
int cfx_threshold_check_value(const cfx_threshold_t *t, double v,
                              cfx_threshold_outcome_t *out);
/* Change part of t (t->has_change must be set). */
int cfx_threshold_check_change(const cfx_threshold_t *t, double candidate,
                               double baseline, cfx_threshold_outcome_t *out);

/* Most per-slice threshold entries (threshold x slicing spec) of one
 * evaluation. */
#define CFX_MAX_SLICE_THRESHOLDS 64
/* Most entries cfx_slice_thresholds_validate takes at once: the unsliced
 * thresholds and the per-slice entries of one evaluation together. */
#define CFX_MAX_THRESHOLD_ENTRIES 128

/* One PerSliceMetricThreshold with one of its slicing specs (TFMA lists
 * the threshold once per slicing spec, and so does cfx), or, with
 * every_slice set, an unsliced threshold: TFMA's slice spec None, which
 * matches every computed slice (spec and path are then unused). */
typedef struct cfx_slice_threshold {
    cfx_slicing_spec_t spec;
    cfx_threshold_t threshold;
    int every_slice;
    char path[256]; /* config path of the slicing spec, for messages */
} cfx_slice_threshold_t;

/* The threshold as a sentence without a value ("auc >= lower bound 0.8",
 * "auc change >= absolute -1e-10 (HIGHER_IS_BETTER)"); change selects the
 * change part. */
void cfx_threshold_describe(const cfx_threshold_t *t, int change, char *out,
                            size_t cap);

/* 1 when a and b check the same bound: same metric and the same value part
 * (change 0) or change part (change 1), both set. */
int cfx_threshold_same(const cfx_threshold_t *a, const cfx_threshold_t *b,
                       int change);

/* Checks, on one computed slice (slice_name, made by spec from), every
 * entry of ts that applies to it (every_slice, or its spec applies; n at
 * most CFX_MAX_THRESHOLD_ENTRIES); the change parts only with a
 * baseline (NULL drops them). As TFMA does, a bound already checked on this
 * slice by an earlier entry with the same threshold is not checked again.
 * Appends "slice_name: <why>" per failed bound to reason (cap bytes, kept
 * NUL-terminated, not cleared first; a line that does not fit is counted
 * in *omitted, which may be NULL). applied (n counters, may be NULL)
 * counts, per entry, the slices it applied to; *checked (may be NULL) is
 * increased by the bounds checked. Returns the number of failed bounds. */
size_t cfx_slice_thresholds_validate(const cfx_slice_threshold_t *ts, size_t n,
                                     const cfx_slicing_spec_t *from,
                                     const char *slice_name,
                                     const cfx_slice_metrics_t *candidate,
                                     const cfx_slice_metrics_t *baseline,
                                     char *reason, size_t cap, size_t *omitted,
                                     size_t *applied, size_t *checked);

const char *cfx_direction_name(cfx_direction_t d);

#endif

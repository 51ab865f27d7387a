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
 * Thread-safety: plain functions over caller data.
 */
#ifndef CFX_EVAL_THRESHOLDS_H
#define CFX_EVAL_THRESHOLDS_H

#include <stddef.h>

#include "eval/metrics.h"

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

/* Checks every threshold of ts on the candidate's metrics (and the
 * baseline's for change thresholds; baseline NULL drops them). Appends
 * one line per failed bound to reason (cap bytes, always NUL-terminated,
 * may be NULL) and the passed ones, "; "-separated, to passed (may be
 * NULL). Returns the number of failed bounds; *checked (may be NULL) gets
 * the number of bounds checked. */
size_t cfx_thresholds_validate(const cfx_threshold_t *ts, size_t n,
                               const cfx_slice_metrics_t *candidate,
                               const cfx_slice_metrics_t *baseline,
                               char *reason, size_t cap, char *passed,
                               size_t passed_cap, size_t *checked);

const char *cfx_direction_name(cfx_direction_t d);

#endif

/*
 * plots.h: the Evaluator's plots of one slice, what TFMA writes as its
 * plots output and its notebook draws: the ROC and precision-recall
 * curves, the calibration plot and the confusion matrix at the decision
 * threshold 0.5 (p > 0.5 is positive, as binary_accuracy counts).
 *
 *   {"roc":  [[fpr, tpr, threshold], ...]   from (0, 0) to (1, 1)
 *    "pr":   [[recall, precision, threshold], ...]
 *    "calibration": [{"lower", "upper", "count", "mean_prediction",
 *                     "mean_label"}, ...]   CFX_PLOTS_CALIBRATION_BUCKETS
 *                                           equal-width buckets of p
 *    "confusion": {"threshold": 0.5, "true_positives", "false_positives",
 *                  "true_negatives", "false_negatives"}}
 *
 * A curve point is taken at each distinct prediction value (every example
 * with p >= threshold counted positive), as the exact AUC of metrics.h is;
 * past CFX_PLOTS_MAX_POINTS distinct values the points are thinned to that
 * many, evenly by rank, always keeping both ends, so a plot stays small
 * whatever the slice's size. A curve is empty when one class is absent.
 *
 * Reentrant: reads the accumulator only.
 */
#ifndef CFX_EVAL_PLOTS_H
#define CFX_EVAL_PLOTS_H

#include <jansson.h>

#include "eval/metrics.h"
#include "formats/err.h"

#define CFX_PLOTS_MAX_POINTS 200
#define CFX_PLOTS_CALIBRATION_BUCKETS 10

/* The plots of a's examples as a new JSON object (*out, caller's
 * reference); CFX_ENOMEM. */
int cfx_slice_plots_json(const cfx_slice_acc_t *a, json_t **out,
                         cfx_error_t *err);

#endif

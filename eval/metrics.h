/*
 * metrics.h: binary-classification metrics of one slice, as TFMA names them
 * (metric keys of TFMA's output): example_count, binary_accuracy, auc,
 * auc_precision_recall, precision, recall, binary_crossentropy (log loss),
 * calibration, mean_label, mean_prediction, and
 * confusion_matrix_at_thresholds.
 *
 * Decisions (docs/evaluation.md):
 *  - A prediction is positive when p > threshold (0.5 for binary_accuracy,
 *    precision and recall), as Keras and TFMA do.
 *  - auc and auc_precision_recall are exact, from the sorted predictions
 *    (tied predictions form one step), not TFMA's 10,000-bucket
 *    approximation: auc = P(p+ > p-) + P(p+ == p-)/2 (the ROC trapezoids);
 *    auc_precision_recall = average precision, sum over distinct
 *    thresholds of (recall step) x precision there.
 *  - Ratios with an empty denominator follow Keras's divide_no_nan (0);
 *    auc of a slice holding one class only is NaN (undefined), written
 *    as null.
 *  - binary_crossentropy clips p into [1e-7, 1 - 1e-7] (Keras epsilon).
 *  - A NaN prediction makes every metric of the predictions NaN (not
 *    computed), so any threshold on them fails.
 *
 * Memory: an accumulator keeps every (prediction, label) pair of its slice,
 * bounded by CFX_METRICS_MAX_EXAMPLES.
 *
 * Thread-safety: an accumulator belongs to one thread at a time.
 */
#ifndef CFX_EVAL_METRICS_H
#define CFX_EVAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"

#define CFX_METRICS_MAX_EXAMPLES (64u * 1024 * 1024)
#define CFX_METRICS_MAX_THRESHOLDS 64

typedef struct cfx_slice_acc {
    float *pred;  /* owned */
    float *label; /* owned; 0 or 1 */
    size_t n, cap;
} cfx_slice_acc_t;

void cfx_slice_acc_init(cfx_slice_acc_t *a);
void cfx_slice_acc_free(cfx_slice_acc_t *a);
/* Adds one example: prediction in [0, 1], label 0 or 1 (any label > 0.5 is
 * counted as 1). CFX_ETOOBIG past CFX_METRICS_MAX_EXAMPLES. */
int cfx_slice_acc_add(cfx_slice_acc_t *a, float pred, float label,
                      cfx_error_t *err);

typedef struct cfx_confusion {
    double threshold;
    double tp, fp, tn, fn;
    double precision, recall; /* divide_no_nan */
} cfx_confusion_t;

typedef struct cfx_slice_metrics {
    double example_count;
    double binary_accuracy;
    double auc;                  /* NaN when one class is absent */
    double auc_precision_recall; /* NaN when no positive label */
    double precision, recall;
    double binary_crossentropy;
    double calibration; /* sum(pred) / sum(label); NaN when no positive */
    double mean_label, mean_prediction;
    size_t num_confusion;
    cfx_confusion_t confusion[CFX_METRICS_MAX_THRESHOLDS];
} cfx_slice_metrics_t;

/* Computes every metric of a's examples; thresholds (may be NULL when
 * num_thresholds is 0, at most CFX_METRICS_MAX_THRESHOLDS) give the
 * confusion matrices. Sorts a copy of the predictions; a is unchanged.
 * Mean and ratio metrics of an empty slice are NaN. */
int cfx_slice_metrics_compute(const cfx_slice_acc_t *a,
                              const double *thresholds, size_t num_thresholds,
                              cfx_slice_metrics_t *out, cfx_error_t *err);

/* The value of a scalar metric by its TFMA key ("auc", ...); NaN when the
 * key is unknown. */
double cfx_slice_metrics_get(const cfx_slice_metrics_t *m, const char *key);
/* 1 when key names a scalar metric of cfx_slice_metrics_t. */
int cfx_slice_metrics_known(const char *key);

/* The scalar metric keys, in output order; NULL-terminated. */
extern const char *const cfx_slice_metrics_keys[];

#endif

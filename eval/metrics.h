/*
 * metrics.h: the metrics of one slice per task, as TFMA names them (metric
 * keys of TFMA's output):
 *   binary      example_count, binary_accuracy, auc, auc_precision_recall,
 *               precision, recall, binary_crossentropy (log loss),
 *               calibration, mean_label, mean_prediction, and
 *               confusion_matrix_at_thresholds
 *   multiclass  example_count, sparse_categorical_accuracy (arg max equals
 *               the label), sparse_categorical_crossentropy (log loss of
 *               the label's probability, clipped at 1e-7), precision and
 *               recall (micro-averaged over the one-hot classes at 0.5),
 *               per class "precision/classId:<k>" and "recall/classId:<k>"
 *               (TFMA's class_id: the label is y == k, the prediction
 *               p_k > 0.5), "precision/topK:<k>" and "recall/topK:<k>"
 *               (TFMA's top_k: a class is predicted when it is among the k
 *               most probable; micro-averaged), and the
 *               multi_class_confusion_matrix_plot (cfx_slice_confusion)
 *   regression  example_count, mean_squared_error, mean_absolute_error,
 *               root_mean_squared_error, mean_label, mean_prediction,
 *               calibration (sum of predictions / sum of labels)
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
#include "model/task.h"

#define CFX_METRICS_MAX_EXAMPLES (64u * 1024 * 1024)
#define CFX_METRICS_MAX_THRESHOLDS 64
/* Classes with per-class precision and recall (classId < this), and the
 * largest top_k. */
#define CFX_METRICS_MAX_CLASS_METRICS 64
#define CFX_METRICS_MAX_TOP_K 10

typedef struct cfx_slice_acc {
    float *pred;  /* owned; n * width */
    float *label; /* owned; 0 or 1, the class index, or the value */
    size_t n, cap;
    cfx_task_t task; /* binary unless cfx_slice_acc_set_task */
    size_t width;    /* floats per prediction: 1, or N classes */
} cfx_slice_acc_t;

void cfx_slice_acc_init(cfx_slice_acc_t *a);
void cfx_slice_acc_free(cfx_slice_acc_t *a);
/* Before the first add: the task and the floats of one prediction (N
 * probabilities for multiclass, else 1). */
void cfx_slice_acc_set_task(cfx_slice_acc_t *a, cfx_task_t task, size_t width);
/* Adds one binary example: prediction in [0, 1], label 0 or 1 (any label >
 * 0.5 is counted as 1). CFX_ETOOBIG past CFX_METRICS_MAX_EXAMPLES. */
int cfx_slice_acc_add(cfx_slice_acc_t *a, float pred, float label,
                      cfx_error_t *err);
/* Adds one example of the accumulator's task: pred[width], label the class
 * index (binary: any label > 0.5 is 1) or the regression value. */
int cfx_slice_acc_add_row(cfx_slice_acc_t *a, const float *pred, float label,
                          cfx_error_t *err);

typedef struct cfx_confusion {
    double threshold;
    double tp, fp, tn, fn;
    double precision, recall; /* divide_no_nan */
} cfx_confusion_t;

typedef struct cfx_slice_metrics {
    cfx_task_t task;
    size_t num_classes; /* multiclass: N */
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
    /* multiclass */
    double sparse_categorical_accuracy, sparse_categorical_crossentropy;
    double class_precision[CFX_METRICS_MAX_CLASS_METRICS];
    double class_recall[CFX_METRICS_MAX_CLASS_METRICS];
    double top_k_precision[CFX_METRICS_MAX_TOP_K + 1]; /* by k, [0] unused */
    double top_k_recall[CFX_METRICS_MAX_TOP_K + 1];
    /* regression */
    double mean_squared_error, mean_absolute_error, root_mean_squared_error;
} cfx_slice_metrics_t;

/* The multi-class confusion matrix of a's examples at threshold 0 (TFMA's
 * MultiClassConfusionMatrixPlot default: the predicted class is the arg
 * max): counts[actual * N + predicted], N = a->width; counts has N * N
 * entries. */
void cfx_slice_confusion(const cfx_slice_acc_t *a, double *counts);

/* Computes every metric of a's examples; thresholds (may be NULL when
 * num_thresholds is 0, at most CFX_METRICS_MAX_THRESHOLDS) give the
 * confusion matrices. Sorts a copy of the predictions; a is unchanged.
 * Mean and ratio metrics of an empty slice are NaN. */
int cfx_slice_metrics_compute(const cfx_slice_acc_t *a,
                              const double *thresholds, size_t num_thresholds,
                              cfx_slice_metrics_t *out, cfx_error_t *err);

/* The value of a scalar metric by its TFMA key ("auc",
 * "precision/classId:2", ...); NaN when the key is unknown or not defined
 * for the slice's task. */
double cfx_slice_metrics_get(const cfx_slice_metrics_t *m, const char *key);
/* 1 when key names a scalar metric of cfx_slice_metrics_t (of some task). */
int cfx_slice_metrics_known(const char *key);

/* The binary scalar metric keys, in output order; NULL-terminated. */
extern const char *const cfx_slice_metrics_keys[];
/* The scalar metric keys of task, in output order (multiclass: without the
 * per-class and top-k keys); NULL-terminated. */
const char *const *cfx_slice_metrics_task_keys(cfx_task_t task);

#endif

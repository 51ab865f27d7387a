/*
 * eval_config.h: the evaluator's configuration, a JSON file modelled on
 * TFMA's EvalConfig in its proto-JSON form (examples/taxi/eval.json):
 *
 *   {
 *     "model_specs": [{"signature_name": "serving_default",
 *                      "label_key": "tips_xf",
 *                      "preprocessing_function_names":
 * ["transform_features"]}], "slicing_specs": [{}, {"feature_keys":
 * ["trip_start_hour"]}], "metrics_specs": [{"metrics": [
 *         {"class_name": "AUC",
 *          "threshold": {"value_threshold": {"lower_bound": 0.9},
 *                        "change_threshold": {"direction": "HIGHER_IS_BETTER",
 *                                             "absolute": -1e-10}}},
 *         {"class_name": "ConfusionMatrixAtThresholds",
 *          "config": "{\"thresholds\": [0.25, 0.5, 0.75]}"}],
 *       "thresholds": {"binary_accuracy": {...}},
 *       "per_slice_thresholds": {"auc": {"thresholds": [
 *         {"slicing_specs": [{"feature_keys": ["trip_start_hour"]}],
 *          "threshold": {"value_threshold": {"lower_bound": 0.8}}}]}}}]
 *   }
 *
 * per_slice_thresholds may also be a list on a metric (MetricConfig's
 * form). Each of its slicing specs must be able to match a slice of the
 * configured slicing_specs (or the overall slice, always computed), else
 * the config is refused with the spec's path.
 *
 * class_name (Keras/TFMA) -> metric key: ExampleCount example_count,
 * BinaryAccuracy binary_accuracy, AUC auc (auc_precision_recall with config
 * {"curve": "PR"}), AUCPrecisionRecall auc_precision_recall, Precision,
 * Recall, BinaryCrossentropy binary_crossentropy, Calibration, MeanLabel,
 * MeanPrediction, ConfusionMatrixAtThresholds. Wrapped doubles may be
 * written as numbers or {"value": x}. Unknown members are refused with the
 * path of the member, so a typo never silently drops a threshold.
 * The label always comes from the bundle's transform graph (label_key is
 * checked against it when given).
 *
 * Thread-safety: plain data.
 */
#ifndef CFX_EVAL_EVAL_CONFIG_H
#define CFX_EVAL_EVAL_CONFIG_H

#include <stddef.h>

#include "eval/metrics.h"
#include "eval/slicing.h"
#include "eval/thresholds.h"
#include "formats/err.h"

#define CFX_EVAL_MAX_SLICING_SPECS 16
#define CFX_EVAL_MAX_METRICS 32
#define CFX_EVAL_CONFIG_MAX_BYTES (1u << 20)

typedef struct cfx_eval_config {
    char signature_name[64];
    char label_key[CFX_SLICE_FEATURE_MAX]; /* "" when not given */
    size_t num_slicing_specs;
    cfx_slicing_spec_t slicing_specs[CFX_EVAL_MAX_SLICING_SPECS];
    size_t num_metrics; /* requested metric keys, config order */
    char metrics[CFX_EVAL_MAX_METRICS][CFX_METRIC_NAME_MAX];
    size_t num_thresholds; /* threshold / thresholds: every slice */
    cfx_threshold_t thresholds[CFX_EVAL_MAX_METRICS];
    size_t num_slice_thresholds; /* per_slice_thresholds, one per spec */
    cfx_slice_threshold_t slice_thresholds[CFX_MAX_SLICE_THRESHOLDS];
    size_t num_confusion;
    double confusion[CFX_METRICS_MAX_THRESHOLDS];
} cfx_eval_config_t;

/* Parses text (len bytes; name is used in messages). With no slicing_specs
 * the overall slice is evaluated; with no metrics_specs, TFMA's default
 * binary-classification metrics. */
int cfx_eval_config_parse(const char *text, size_t len, const char *name,
                          cfx_eval_config_t *out, cfx_error_t *err);
int cfx_eval_config_load(const char *path, cfx_eval_config_t *out,
                         cfx_error_t *err);

/* Removes every change threshold, per-slice ones too (no baseline: what
 * TFX does). */
void cfx_eval_config_drop_change_thresholds(cfx_eval_config_t *c);

/* The configuration as it was applied, in the same JSON form (malloc'd,
 * NULL on out-of-memory). */
char *cfx_eval_config_to_json(const cfx_eval_config_t *c);

/* Metric key of a class_name (NULL when unknown). */
const char *cfx_eval_metric_key(const char *class_name);

#endif

/*
 * evaluator.h: the Evaluator component (TFX Evaluator + TFMA): predicts the
 * raw eval examples with the candidate bundle (and the baseline bundle when
 * there is one), takes each label from the candidate's transform graph,
 * computes the metrics of every slice, checks the thresholds, and writes
 *
 *   <evaluation_dir>/metrics.json      every slice: metrics, baseline
 *                                      metrics and diffs (with a baseline)
 *   <evaluation_dir>/validations.json  validation_ok and each failed bound
 *   <evaluation_dir>/eval_config.json  the configuration as applied
 *   <blessing_dir>/BLESSED or NOT_BLESSED (empty), and reason (text: one
 *                                      line per failed bound), and
 *                                      model.json (the candidate's identity,
 *                                      eval/model_identity.h)
 *
 * Which slices a threshold is checked on is TFMA's rule (its validator,
 * metrics_validator.validate_metrics): an unsliced threshold (a metric's
 * `threshold`, a MetricsSpec's `thresholds`) on every computed slice, the
 * overall one, single-feature and crossed slices alike; a per-slice
 * threshold on the slices its slicing specs apply to. So a bound meant for
 * the whole eval set is a per_slice_thresholds entry on {} (the overall
 * slice). Each failure is reported per slice, "<slice>: <why>"; a change
 * threshold compares with the baseline's same slice.
 *
 * With no baseline, change thresholds are dropped (TFX); with no threshold
 * at all, no blessing file is written (TFX) and blessed is -1. A baseline
 * with another label, signature or pipeline than the candidate's is not
 * compared: it is dropped with its reason (baseline_dropped), never used
 * for a change threshold.
 *
 * Threads: one run per thread; bundles are loaded per run.
 */
#ifndef CFX_EVAL_EVALUATOR_H
#define CFX_EVAL_EVALUATOR_H

#include <stddef.h>

#include "eval/eval_config.h"
#include "eval/metrics.h"
#include "formats/err.h"
#include "mlmd/component.h"

typedef struct cfx_evaluator_opts {
    const char *model_dir;    /* candidate bundle */
    const char *baseline_dir; /* may be NULL */
    const char *examples_dir; /* examplegen output (its Split-eval/ is
                                 read) or a folder of TFRecord files */
    const cfx_eval_config_t *config;
    const char *evaluation_dir; /* created when absent */
    const char *blessing_dir;   /* created when absent */
    /* NULL, or why baseline_dir may not be compared with the candidate as
     * its caller found it (another pipeline, from the metadata store). */
    const char *baseline_refused;
} cfx_evaluator_opts_t;

typedef struct cfx_evaluator_result {
    int blessed; /* 1, 0, or -1 with no threshold configured */
    size_t num_examples, num_slices;
    size_t num_checked, num_failed;
    int has_baseline;
    cfx_slice_metrics_t overall, baseline_overall;
    char reason[4096];  /* failed bounds, one per line */
    char passed[2048];  /* passed bounds, "; "-separated */
    char summary[1024]; /* one line for a person */
    /* Non-empty when the baseline given was not compared: why (another
     * label, signature or pipeline: cfx_model_identity_comparable, or the
     * caller's baseline_refused). The run then goes on as with no
     * baseline, and metrics.json, validations.json and the summary say
     * so. */
    char baseline_dropped[512];
} cfx_evaluator_result_t;

int cfx_evaluator_run(const cfx_evaluator_opts_t *o,
                      cfx_evaluator_result_t *res, cfx_error_t *err);

/* Sets TFX's custom properties of a ModelBlessing output `key` of run:
 * blessed, current_model, current_model_id and, when baseline_uri is not
 * NULL, baseline_model and baseline_model_id. */
int cfx_evaluator_record_blessing(cfx_component_run_t *run, const char *key,
                                  const cfx_evaluator_result_t *res,
                                  const char *model_uri, int64_t model_id,
                                  const char *baseline_uri, int64_t baseline_id,
                                  cfx_error_t *err);

#endif

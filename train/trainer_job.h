/*
 * trainer_job.h: the Trainer component end to end (`cfx train`): read
 * transformed examples, train, evaluate, write the ModelRun (logs/) and the
 * model bundle (model/, via model/bundle_writer).
 *
 *   <output>/model/    the bundle (docs/design.md, docs/model.md)
 *   <output>/logs/     TensorBoard events + metrics.csv (trainer_log.h)
 *
 * Runs on the calling thread.
 */
#ifndef CFX_TRAIN_TRAINER_JOB_H
#define CFX_TRAIN_TRAINER_JOB_H

#include <stdio.h>

#include "formats/err.h"
#include "train/trainer.h"

#define CFX_WARMUP_ROWS 10

typedef struct cfx_train_job {
    const char
        *examples_dir; /* transformed_examples: Split-train/, Split-eval/ */
    const char *transform_graph_dir; /* transform.json, assets/,
                                        metadata/schema.pbtxt */
    const char *config_path;         /* trainer JSON; NULL = defaults */
    const char *output_dir; /* created when missing; model/ must not exist */
    const char
        *raw_examples_dir; /* examplegen output for warmup rows; may be NULL */
    FILE *progress;        /* may be NULL */
    const char
        *model_dir;       /* NULL: <output_dir>/model; may be an empty folder */
    const char *logs_dir; /* NULL: <output_dir>/logs */
    /* The pipeline the run belongs to, recorded in the manifest as
     * training.pipeline (the Evaluator compares only models of one
     * pipeline); NULL when the run is not recorded. */
    const char *pipeline_name;
} cfx_train_job_t;

typedef struct cfx_train_result {
    cfx_train_metrics_t eval;
    size_t train_rows, eval_rows;
    double train_seconds;
    size_t warmup_rows;
} cfx_train_result_t;

int cfx_trainer_run(const cfx_train_job_t *job, cfx_train_result_t *res,
                    cfx_error_t *err);

/* Writes the features of raw that the transform reads (its inputs) as one
 * JSON object line: single values as scalars, lists as arrays, bytes that
 * are not UTF-8 as {"b64": ...}; absent and empty features are left out. */
int cfx_trainer_warmup_line(const cfx_transform_t *t, const cfx_example_t *raw,
                            cfx_buf_t *out);

#endif

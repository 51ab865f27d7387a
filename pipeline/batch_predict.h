/*
 * batch_predict.h: offline batch predictions from a bundle (`cfx predict`),
 * through the same model/ code cfx-serve runs (cfx_bundle_predict).
 *
 * Inputs:
 *   - a CSV file of raw rows with a header; cells are parsed with the kinds
 *     of the bundle's raw inputs, an empty cell is a missing feature (filled
 *     by the transform as in training), other columns are ignored;
 *   - a folder of TFRecord files of raw tf.Example (an examplegen
 *     Split-<name>/ folder);
 *   - with transformed = 1, a folder of transformed examples (the rows the
 *     trainer saw), run through the network only.
 * Output: CSV "probability,class" or JSON lines {"probability":p,"class":c},
 * one per input row in input order; class is p > 0.5.
 *
 * Runs on the calling thread.
 */
#ifndef CFX_PIPELINE_BATCH_PREDICT_H
#define CFX_PIPELINE_BATCH_PREDICT_H

#include <stddef.h>
#include <stdio.h>

#include "formats/err.h"

typedef struct cfx_predict_job {
    const char *bundle_dir;
    const char *input;
    FILE *out;
    int jsonl;
    int transformed;
} cfx_predict_job_t;

int cfx_predict_run(const cfx_predict_job_t *job, size_t *rows, cfx_error_t *err);

#endif

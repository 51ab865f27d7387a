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
 * Output: one line per input row in input order, by the bundle's task:
 *   binary      CSV "probability,class" or JSON lines
 *               {"probability":p,"class":c}; class is p > 0.5: 0 or 1 for
 *               classes "0" and "1" (a derived label), else the label
 *               string of the class (a JSON string)
 *   multiclass  CSV "probability:<label>" per class then "class" (the label
 *               of the most probable class; fields quoted as RFC 4180 says)
 *               or {"probabilities":[p0,...],"class":"<label>"}
 *   regression  CSV "value" or {"value":v}
 * Numbers are written with 9 significant digits (a float32 exactly). The
 * CSV header is
 * written with the first predicted batch (or at the end when there are no
 * rows), so an input refused before any prediction leaves nothing in out.
 *
 * An input sharing no name with the bundle's raw inputs (a CSV header
 * without any of them; a raw TFRecord whose first record has none of them,
 * e.g. transformed examples without transformed = 1) is an error naming
 * the file and the inputs; a CSV header lacking only some of them gets a
 * warning on diag listing those.
 *
 * Runs on the calling thread.
 */
#ifndef CFX_EVAL_BATCH_PREDICT_H
#define CFX_EVAL_BATCH_PREDICT_H

#include <stddef.h>
#include <stdio.h>

#include "formats/err.h"

typedef struct cfx_predict_job {
    const char *bundle_dir;
    const char *input;
    FILE *out;
    int jsonl;
    int transformed;
    FILE *diag; /* warnings; may be NULL */
} cfx_predict_job_t;

int cfx_predict_run(const cfx_predict_job_t *job, size_t *rows,
                    cfx_error_t *err);

/* Inference timings over the rows of input (at most 100k kept in memory),
 * each measured for at least min_seconds of this thread's CPU time (CPU
 * time, not wall time: the figure is per core even on a busy machine).
 * With transformed, input holds transformed examples and the network alone
 * is timed (cfx_bundle_predict_transformed against cfx_net_forward_ref). */
typedef struct cfx_predict_bench {
    size_t rows;
    double single_us;     /* cfx_bundle_predict, one raw example per call */
    double batched_per_s; /* cfx_bundle_predict, 256 raw examples per call */
    double ref_single_us; /* plain loop: transform + reference forward */
    double ref_per_s;
    double max_abs_diff; /* largest |batched - reference| probability */
} cfx_predict_bench_t;

int cfx_predict_bench(const char *bundle_dir, const char *input,
                      int transformed, double min_seconds,
                      cfx_predict_bench_t *out, cfx_error_t *err);

#endif

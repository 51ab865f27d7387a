/*
 * transform_spec.h: the transform spec, a JSON file that says which
 * outputs to compute from which raw features (TFT's preprocessing_fn as
 * configuration; nothing dataset-specific lives in C). Format:
 *
 *   {"outputs": [
 *      {"name": "fare_xf", "op": "z_score", "input": "fare"},
 *      {"name": "company_xf", "op": "vocabulary", "input": "company",
 *       "top_k": 1000, "num_oov_buckets": 10},
 *      {"name": "pickup_latitude_xf", "op": "bucketize",
 *       "input": "pickup_latitude", "num_buckets": 10},
 *      {"name": "trip_start_hour_xf", "op": "identity",
 *       "input": "trip_start_hour", "cardinality": 24, "default_value": 0},
 *      {"name": "hour_x_day", "op": "cross",
 *       "inputs": ["trip_start_hour_xf", "trip_start_day_xf"]}],
 *    "label": {"name": "tips_xf", "op": "greater_than", "input": "tips",
 *              "threshold": {"input": "fare", "scale": 0.2},
 *              "nan_value": 0}}
 *
 * "threshold" may also be a plain number. A label column that already is
 * the class (0 or 1) is {"name": ..., "op": "identity", "input": ...}.
 * A label column taken as it is names its task instead of an op:
 *   {"name": "species_xf", "input": "species", "task": "multiclass"}
 *   {"name": "y_xf", "input": "y", "task": "regression"}
 *   {"name": "c_xf", "input": "c", "task": "binary"}    exactly two classes
 * A class task may list its classes ("label_vocabulary": ["a", "b", ...]);
 * otherwise they are the distinct values of the train split, in numeric
 * order when all are integers, else in byte order.
 * Unknown keys are errors naming the closest valid key (a typo must not
 * silently change a model). See docs/transform.md.
 *
 * Caller-owned struct (_load/_free); not shared between threads.
 */
#ifndef CFX_TRANSFORM_TFT_SPEC_H
#define CFX_TRANSFORM_TFT_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"
#include "model/task.h"

typedef enum cfx_xf_op {
    CFX_XF_OP_Z_SCORE = 0,
    CFX_XF_OP_VOCABULARY = 1,
    CFX_XF_OP_BUCKETIZE = 2,
    CFX_XF_OP_IDENTITY = 3,
    CFX_XF_OP_CROSS = 4,       /* categorical outputs crossed, no analyzer */
    CFX_XF_OP_LOG_Z_SCORE = 5, /* z-score of log1p(max(x, 0)) */
} cfx_xf_op_t;

/* Bounds on a spec (bound everything sized by input). */
#define CFX_XF_SPEC_MAX_OUTPUTS 1024
#define CFX_XF_SPEC_MAX_BUCKETS 65536
#define CFX_XF_SPEC_MAX_OOV 1000000
#define CFX_XF_SPEC_MAX_CARDINALITY ((int64_t)1 << 24)
#define CFX_XF_SPEC_MAX_CROSS 8 /* most outputs one cross reads */

typedef struct cfx_xf_spec_output {
    char *name;
    cfx_xf_op_t op;
    char *input;             /* NULL for a cross */
    int64_t top_k;           /* vocabulary: <= 0 means no cut */
    int64_t num_oov_buckets; /* vocabulary: >= 1, default 1 */
    int64_t num_buckets;     /* bucketize */
    int64_t cardinality;     /* identity: 0 = infer (schema, then train) */
    int64_t default_value;   /* identity: index for out-of-range values */
    /* cross: names of earlier categorical outputs (2 to
     * CFX_XF_SPEC_MAX_CROSS), and the bucket count of a hashed cross (0:
     * exact cross, cardinality the product of theirs) */
    char **cross_inputs;
    size_t num_cross_inputs;
    int64_t hash_bucket_size;
} cfx_xf_spec_output_t;

typedef struct cfx_xf_spec_label {
    char *name;             /* NULL when the spec has no label */
    char *input;            /* label = input > threshold */
    char *threshold_input;  /* NULL: threshold is threshold_const */
    double threshold_scale; /* threshold = scale * threshold_input */
    double threshold_const;
    double nan_value; /* label when either side is NaN */
    /* "op": "identity": the input is the class itself and must hold only 0
     * and 1 (checked on every split); written to the graph as input > 0.5,
     * the graph's one label op. 0: "greater_than", binary on purpose. */
    int is_class;
    /* 1: "task" without "op": the column itself is the label (a class
     * looked up in the label vocabulary, or a regression value) */
    int is_column;
    cfx_task_t task; /* binary for "greater_than" and "identity" */
    char **vocab;    /* "label_vocabulary" (NULL: from the train split) */
    size_t vocab_size;
} cfx_xf_spec_label_t;

typedef struct cfx_tft_spec {
    cfx_xf_spec_output_t *outputs;
    size_t num_outputs;
    cfx_xf_spec_label_t label;
} cfx_tft_spec_t;

/* Name of an op as written in specs and transform.json ("z_score", ...). */
const char *cfx_xf_op_name(cfx_xf_op_t op);

/* Parses the JSON text (len bytes); origin names it in errors. */
int cfx_tft_spec_parse(const char *text, size_t len, const char *origin,
                       cfx_tft_spec_t *spec, cfx_error_t *err);
/* Reads and parses a spec file (at most 16 MiB). */
int cfx_tft_spec_load(const char *path, cfx_tft_spec_t *spec, cfx_error_t *err);
void cfx_tft_spec_free(cfx_tft_spec_t *spec);

#endif

/*
 * transform.h: the transform graph, applied to *raw* examples exactly as
 * in training (shared by transform, trainer, evaluator, predict and
 * cfx-serve; no training/serving skew).
 *
 * A transform graph directory holds transform.json (ordered ops with their
 * analyzer results: means, variances, bucket boundaries, vocabulary file
 * names, label definition) and assets/ (vocabulary files, one token per line,
 * most frequent first, as TFT writes them).
 *
 * Outputs are either DENSE (float32, e.g. a z-score) or CATEGORICAL (an
 * index in [0, cardinality): vocabulary index incl. OOV buckets, bucket id,
 * or an identity-mapped integer). The label is a separate output computed
 * from raw features when they are present (training, evaluation).
 *
 * A loaded cfx_transform_t is immutable: cfx_transform_apply may be called
 * from any number of threads at once.
 */
#ifndef CFX_MODEL_TRANSFORM_H
#define CFX_MODEL_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"
#include "formats/example.h"
#include "model/task.h"

typedef enum cfx_xf_kind {
    CFX_XF_DENSE = 0,
    CFX_XF_CATEGORICAL = 1,
} cfx_xf_kind_t;

typedef struct cfx_xf_output {
    const char *name; /* e.g. "fare_xf" */
    cfx_xf_kind_t kind;
    int64_t cardinality; /* CATEGORICAL: values lie in [0, cardinality) */
    size_t slot;         /* index into the dense or categorical array */
} cfx_xf_output_t;

/* A raw input the graph reads (its serving signature input). */
typedef struct cfx_xf_input {
    const char *name;
    cfx_kind_t kind; /* CFX_KIND_INT64, CFX_KIND_FLOAT or CFX_KIND_BYTES */
} cfx_xf_input_t;

typedef struct cfx_transform cfx_transform_t;

/* Loads graph_dir/transform.json and its vocabulary assets. */
int cfx_transform_load(const char *graph_dir, cfx_transform_t **out,
                       cfx_error_t *err);
void cfx_transform_free(cfx_transform_t *t);

size_t cfx_transform_num_outputs(const cfx_transform_t *t);
const cfx_xf_output_t *cfx_transform_output(const cfx_transform_t *t, size_t i);
size_t cfx_transform_num_dense(const cfx_transform_t *t);
size_t cfx_transform_num_categorical(const cfx_transform_t *t);

/* Raw features read by the outputs (label inputs excluded unless also
 * used by a feature output). */
size_t cfx_transform_num_inputs(const cfx_transform_t *t);
const cfx_xf_input_t *cfx_transform_input(const cfx_transform_t *t, size_t i);

/* Name of the label output (e.g. "tips_xf"), NULL when none is defined. */
const char *cfx_transform_label_name(const cfx_transform_t *t);

/* raw -> dense[num_dense] and categorical[num_categorical]. A missing raw
 * feature or empty list is filled (0 / "") as in training, by the input's
 * declared kind (a vocabulary over an int64 input looks up "0"); a feature
 * of the wrong kind is an error naming it. Reentrant. */
int cfx_transform_apply(const cfx_transform_t *t, const cfx_example_t *raw,
                        float *dense, int32_t *categorical, cfx_error_t *err);

/* The label of a raw example: the class index (0 or 1 for a binary
 * label such as the taxi spec's, 0..N-1 for a multi-class one: the raw value
 * looked up in the label vocabulary) or the regression value; CFX_ENOTFOUND
 * when the graph defines no label. A class or value label that is missing,
 * not in the vocabulary or not finite is CFX_EINVAL naming the column. */
int cfx_transform_label(const cfx_transform_t *t, const cfx_example_t *raw,
                        float *label, cfx_error_t *err);

/* ---- extensions (compatible additions) ---------------------------------- */

/* Most raw inputs a graph may read (outputs and label together). */
#define CFX_XF_MAX_INPUTS 1024

/* The label's task and class labels (label_mean 0, label_std 1), NULL when
 * the graph defines no label. transform.json's label is one of
 *   {"name", "op": "greater_than", "input", "threshold_input",
 *    "threshold_scale", "threshold", "nan_value"}       binary, "0" and "1"
 *   {"name", "op": "class", "task": "binary"|"multiclass", "input",
 *    "label_vocabulary": ["a", "b", ...]}   the raw value's text (bytes, or
 *                                           an integer in decimal) -> index
 *   {"name", "op": "value", "task": "regression", "input"}
 * The transformed example holds a class as int64, a value as float. */
const cfx_head_t *cfx_transform_label_head(const cfx_transform_t *t);

/* The text of a class label value as a label vocabulary holds it: the
 * bytes of a bytes_list (*p points into f), or the integer of an int64_list,
 * or of a float_list holding an integer, in decimal into s (32 bytes, *p =
 * s). f holds at least one value; CFX_EINVAL, nothing set, for a float that
 * is not an integer. */
int cfx_transform_class_text(const cfx_feature_t *f, char *s, const char **p,
                             size_t *n);

/* Index of the output called name, or -1. */
long cfx_transform_find_output(const cfx_transform_t *t, const char *name);

/* The transformed tf.Example of raw, exactly as the transform component
 * writes transformed_examples: each DENSE output a float_list of one value,
 * each CATEGORICAL output an int64_list of one value, and the label (when
 * the graph defines one) an int64_list of one value. out is reset first;
 * features are added in output order, then the label. Reentrant. */
int cfx_transform_apply_example(const cfx_transform_t *t,
                                const cfx_example_t *raw, cfx_example_t *out,
                                cfx_error_t *err);

#endif

/*
 * task.h: what a model predicts (its task) and the head that turns a
 * model's raw outputs (logits or margins) into predictions; shared by every
 * model type (the wide & deep network, trees), the bundle, the evaluator and
 * cfx-serve (docs/model.md).
 *
 *   binary      one logit z -> P(positive class) = sigmoid(z); two classes,
 *               class 1 the positive one
 *   multiclass  N logits -> softmax, N probabilities summing to 1
 *   regression  one output z -> value = label_mean + label_std * z (a
 *               network is trained on the standardised label; a model that
 *               predicts the value itself has mean 0, std 1)
 *
 * The manifest records the head as
 *   "head": {"task": "multiclass", "n_classes": 3,
 *            "label_vocabulary": ["setosa", "versicolor", "virginica"],
 *            "label_mean": 0, "label_std": 1}
 * and a manifest without "head" is the binary head with labels "0", "1".
 *
 * A cfx_head_t is plain data once built (_init/_free); read-only use from
 * any number of threads.
 */
#ifndef CFX_MODEL_TASK_H
#define CFX_MODEL_TASK_H

#include <jansson.h>
#include <stddef.h>

#include "formats/err.h"

typedef enum cfx_task {
    CFX_TASK_BINARY = 0,
    CFX_TASK_MULTICLASS = 1,
    CFX_TASK_REGRESSION = 2,
} cfx_task_t;

/* Most classes a multi-class label may have. */
#define CFX_TASK_MAX_CLASSES 1000
/* Longest class label string, in bytes. */
#define CFX_TASK_MAX_LABEL_LEN 1024

/* "binary", "multiclass", "regression". */
const char *cfx_task_name(cfx_task_t task);
/* 0, or -1 when s names no task. */
int cfx_task_parse(const char *s, cfx_task_t *task);

typedef struct cfx_head {
    cfx_task_t task;
    size_t num_classes;  /* binary 2, multiclass N >= 2, regression 0 */
    char **class_labels; /* num_classes strings (owned) */
    double label_mean;   /* regression only */
    double label_std;    /* regression only; > 0 */
} cfx_head_t;

/* The binary head with class labels "0" and "1" (what a derived
 * greater_than label and an old manifest mean). */
int cfx_head_init_binary(cfx_head_t *h, cfx_error_t *err);
/* A head of task with num_classes labels copied (NULL labels: "0", "1",
 * ...); regression takes num_classes 0 and mean 0, std 1. */
int cfx_head_init(cfx_head_t *h, cfx_task_t task, size_t num_classes,
                  const char *const *labels, cfx_error_t *err);
void cfx_head_free(cfx_head_t *h);
/* dst becomes a deep copy of src. */
int cfx_head_copy(cfx_head_t *dst, const cfx_head_t *src, cfx_error_t *err);

/* Raw outputs a model has per example: N for multiclass, else 1. */
size_t cfx_head_num_logits(const cfx_head_t *h);
/* Floats of a prediction per example: the same (binary: P(class 1);
 * multiclass: N probabilities; regression: the value). */
size_t cfx_head_output_width(const cfx_head_t *h);

/* logits (B, num_logits) -> predictions (B, output_width); in place is
 * fine. */
void cfx_head_apply(const cfx_head_t *h, const float *logits, size_t B,
                    float *out);

/* {"task", "n_classes", "label_vocabulary", "label_mean", "label_std"}; new
 * reference, NULL when out of memory. */
json_t *cfx_head_to_json(const cfx_head_t *h);
/* Parses what cfx_head_to_json wrote (NULL o: the binary head); errors
 * name where. */
int cfx_head_from_json(json_t *o, const char *where, cfx_head_t *h,
                       cfx_error_t *err);
/* 1 when a and b have the same task and class labels. */
int cfx_head_same_classes(const cfx_head_t *a, const cfx_head_t *b);

#endif

/*
 * trainer.h: training the wide & deep network (model/network.h):
 * backpropagation, Adam, the training loop with its progress line and
 * metrics, and evaluation (loss, accuracy, AUC).
 *
 * Data is held in memory as compact arrays (a cfx_dataset_t): the taxi
 * train split is 10k rows, about 1 MB.
 *
 * Determinism: one seed (cfg->seed) drives parameter init, shuffling and
 * the dropout masks (a stream of its own, so the shuffling does not depend
 * on the rate); the same data, config and build give the same weights.
 *
 * Objects belong to one thread at a time.
 */
#ifndef CFX_TRAIN_TRAINER_H
#define CFX_TRAIN_TRAINER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/err.h"
#include "model/network.h"
#include "model/transform.h"
#include "train/trainer_config.h"

/* Rows of transformed features: dense (n, num_dense), cat (n,
 * num_categorical), label (n). Owned arrays. */
typedef struct cfx_dataset {
    size_t n, num_dense, num_categorical;
    float *dense;
    int32_t *cat;
    float *label;
} cfx_dataset_t;

#define CFX_DATASET_MAX_ROWS 50000000u

void cfx_dataset_init(cfx_dataset_t *ds, size_t num_dense,
                      size_t num_categorical);
/* Appends one row; 0 or CFX_ENOMEM / CFX_ETOOBIG. */
int cfx_dataset_push(cfx_dataset_t *ds, const float *dense, const int32_t *cat,
                     float label);
void cfx_dataset_free(cfx_dataset_t *ds);

/* Loads every TFRecord file of split_dir (transformed examples: each DENSE
 * output a float_list, each CATEGORICAL output an int64_list, the label an
 * int64_list named cfx_transform_label_name(t)). A missing feature, a wrong
 * kind or an out-of-range categorical is an error naming file, record and
 * feature. */
int cfx_dataset_load(const char *split_dir, const cfx_transform_t *t,
                     cfx_dataset_t *ds, cfx_error_t *err);

typedef struct cfx_train_metrics {
    double loss;     /* mean cross-entropy; regression: mean squared error */
    double accuracy; /* p > 0.5 counts as class 1; multiclass arg max */
    double auc;      /* exact ROC AUC, ties counted half; binary only */
    size_t count;
} cfx_train_metrics_t;

/* Metrics of predictions p[n] (probabilities) against labels[n]. */
void cfx_train_metrics_compute(const float *p, const float *label, size_t n,
                               cfx_train_metrics_t *m);
/* The same per task: binary as above; multiclass p (n, K) probabilities,
 * loss the mean cross-entropy, accuracy of the arg max, auc NaN;
 * regression p[n] values, loss the mean squared error (label units),
 * accuracy and auc NaN. */
void cfx_train_metrics_compute_task(cfx_task_t task, size_t K, const float *p,
                                    const float *label, size_t n,
                                    cfx_train_metrics_t *m);

/* Workspace for gradients of batches up to max_batch. */
typedef struct cfx_trainer_ws cfx_trainer_ws_t;
int cfx_trainer_ws_new(const cfx_net_t *n, size_t max_batch,
                       cfx_trainer_ws_t **out, cfx_error_t *err);
void cfx_trainer_ws_free(cfx_trainer_ws_t *ws);
/* The gradient (num_params floats, same layout as n->params). */
float *cfx_trainer_ws_grad(cfx_trainer_ws_t *ws);
/* Predictions of the last cfx_trainer_loss_grad batch: (B, K)
 * probabilities, or (B) regression values in label units. */
const float *cfx_trainer_ws_probs(const cfx_trainer_ws_t *ws);
/* The head's task and loss for cfx_trainer_loss_grad (default binary). */
void cfx_trainer_ws_set_loss(cfx_trainer_ws_t *ws,
                             const cfx_trainer_loss_t *loss);

/* Dropout (inverted): draws a fresh mask for every hidden unit of a batch
 * of B rows (B <= max_batch), each unit kept with probability 1 - rate (in
 * steps of 2^-32) and then scaled by 1 / (1 - rate), from the splitmix64
 * state rng (advanced).
 * cfx_trainer_loss_grad applies these masks until the next draw; rate 0
 * turns dropout off (the default). rate in [0, 1). */
void cfx_trainer_ws_draw_dropout(cfx_trainer_ws_t *ws, const cfx_net_t *n,
                                 size_t B, double rate, uint64_t *rng);

/* Mean loss of a batch (sigmoid or softmax cross-entropy, squared error or
 * Huber on the standardised label, as the workspace's loss says; the label
 * is the class index or the value); adds its gradient into the
 * workspace gradient (the caller zeroes it; the embedding rows touched are
 * remembered for the sparse Adam step). */
double cfx_trainer_loss_grad(const cfx_net_t *n, const float *dense,
                             const int32_t *cat, const float *label, size_t B,
                             cfx_trainer_ws_t *ws);

/* Metrics of n over ds (at most max_rows rows, 0 = all); binary. */
int cfx_trainer_evaluate(const cfx_net_t *n, const cfx_dataset_t *ds,
                         size_t max_rows, cfx_train_metrics_t *m,
                         cfx_error_t *err);
/* The same for the head and loss l. */
int cfx_trainer_evaluate_loss(const cfx_net_t *n, const cfx_trainer_loss_t *l,
                              const cfx_dataset_t *ds, size_t max_rows,
                              cfx_train_metrics_t *m, cfx_error_t *err);

/* Called every log_every_steps with training-window metrics and every
 * eval_every_steps (and at the end) with eval metrics; split is "train" or
 * "eval". A non-zero return stops training with that code. */
typedef int (*cfx_trainer_log_fn)(void *ctx, const char *split, size_t step,
                                  const cfx_train_metrics_t *m,
                                  cfx_error_t *err);

/* Initialises n's parameters from cfg->seed and trains it on train, with
 * cfg->dropout on the hidden layers (evaluation passes have none).
 * progress (may be NULL) gets a one-line progress display; eval (may be
 * NULL) is evaluated periodically and at the end into *final_eval. */
int cfx_trainer_fit(cfx_net_t *n, const cfx_trainer_config_t *cfg,
                    const cfx_dataset_t *train, const cfx_dataset_t *eval,
                    cfx_trainer_log_fn log, void *log_ctx, FILE *progress,
                    cfx_train_metrics_t *final_eval, cfx_error_t *err);

#endif

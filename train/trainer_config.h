/*
 * trainer_config.h: the trainer's configuration (examples/taxi/trainer.json).
 *
 *   {
 *     "model_name": "taxi",
 *     "first_dnn_layer_size": 100, "num_dnn_layers": 4,
 *     "dnn_decay_factor": 0.7,          hidden widths max(2, int(100*0.7^i)) =
 *                                       100, 70, 48, 34 in double, as TFX
 *     "hidden_units": [100, 70, 48, 34], alternative to the three above
 *     "deep_categorical": true,         categoricals into the deep part:
 *                                       true (all), false (none) or a list
 *                                       of output names, e.g.
 *                                       ["payment_type_xf"]
 *     "embedding_dim": 0,               how they enter it: 0 one-hot, N > 0
 *                                       a learned embedding of N floats
 *                                       each, or {"<output>": N, ...} per
 *                                       deep categorical (others one-hot);
 *                                       N <= CFX_NET_MAX_EMBEDDING_DIM
 *     "dropout": 0,                     rate in [0, 1) on every hidden
 *                                       layer while training; 0 off
 *     "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999,
 *     "epsilon": 1e-7, "batch_size": 40, "train_steps": 10000,
 *     "eval_steps": 5000, "log_every_steps": 100, "eval_every_steps": 1000,
 *     "seed": 42,
 *     "loss": "squared_error",          regression only: or "huber"
 *     "huber_delta": 1.0,               Huber's delta, in label units
 *     "validation_fraction": 0, "early_stopping_evals": 5, "l2": 0,
 *     "lr_decay_steps": 0, "lr_decay_rate": 1,   (below)
 *     "model": "wide_deep",             or "gbt", with "gbt": {...}
 *     "comment": "..."                  ignored
 *   }
 *
 * Every key is optional (defaults are the values above); an unknown key or
 * a value of the wrong type is refused naming the file and the key.
 * Plain data, no ownership; any thread.
 */
#ifndef CFX_TRAIN_TRAINER_CONFIG_H
#define CFX_TRAIN_TRAINER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"
#include "model/network.h"
#include "model/task.h"
#include "train/gbt_config.h"

#define CFX_TRAINER_MAX_DEEP 64

/* The head's task and loss: binary sigmoid cross-entropy, multiclass
 * softmax cross-entropy, regression squared error (Keras'
 * MeanSquaredError) or Huber on the label standardised with label_mean and
 * label_std (huber_delta in label units). The task, classes and
 * standardisation come from the transform graph's label and the train
 * split, not from the JSON; "loss" and "huber_delta" do. */
typedef struct cfx_trainer_loss {
    cfx_task_t task;
    double label_mean, label_std;
    int huber; /* regression: 0 squared_error, 1 huber */
    double huber_delta;
} cfx_trainer_loss_t;

/* Binary, mean 0, std 1, squared error, delta 1. */
void cfx_trainer_loss_default(cfx_trainer_loss_t *l);

typedef struct cfx_trainer_config {
    char model_name[128];
    size_t num_hidden;
    size_t hidden[CFX_NET_MAX_HIDDEN];
    int deep_categorical;
    size_t num_deep_features; /* 0: deep_categorical applies to all */
    char deep_features[CFX_TRAINER_MAX_DEEP][128];
    /* "embedding_dim": a number (embedding_dim, for every deep categorical)
     * or per output (num_embedding_features names with their dims; the
     * others one-hot) */
    size_t embedding_dim;
    size_t num_embedding_features;
    char embedding_features[CFX_TRAINER_MAX_DEEP][128];
    size_t embedding_dims[CFX_TRAINER_MAX_DEEP];
    double dropout; /* inverted dropout rate on the hidden layers, [0, 1) */
    double learning_rate, beta_1, beta_2, epsilon;
    size_t batch_size;
    size_t train_steps;
    size_t eval_steps; /* eval batches at most; each eval row is seen once */
    size_t log_every_steps;
    size_t eval_every_steps;
    uint64_t seed;
    cfx_trainer_loss_t loss; /* "loss", "huber_delta"; task set by the job */
    /* Regularisation and early stopping of the network (docs/model.md):
     * validation_fraction of the train rows held out (by a hash of the seed
     * and the row number; 0: none), evaluated every eval_every_steps; after
     * early_stopping_evals evaluations without a lower loss training stops
     * and the best evaluation's parameters are kept. l2 adds l2 * w to the
     * gradient of every kernel and bias (not the embedding tables). The
     * learning rate at step s is learning_rate * lr_decay_rate^(s /
     * lr_decay_steps) (lr_decay_steps 0: constant). */
    double validation_fraction;
    size_t early_stopping_evals;
    double l2;
    size_t lr_decay_steps;
    double lr_decay_rate;
    int model_gbt;        /* "model": "wide_deep" (0) or "gbt" (1) */
    cfx_gbt_config_t gbt; /* "gbt": train/gbt_config.h */
} cfx_trainer_config_t;

void cfx_trainer_config_default(cfx_trainer_config_t *cfg);
/* Defaults, then the keys of the JSON file at path. */
int cfx_trainer_config_load(const char *path, cfx_trainer_config_t *cfg,
                            cfx_error_t *err);

#endif

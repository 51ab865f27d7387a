/*
 * gbt_config.h: the hyper-parameters of the gradient-boosted trees model
 * type, the "gbt" object of the trainer's JSON (docs/model.md):
 *
 *   "model": "gbt",
 *   "gbt": {"num_rounds": 500, "learning_rate": 0.05, "max_depth": 5,
 *           "min_child_weight": 1, "l2": 1, "l1": 0, "gamma": 0,
 *           "subsample": 1, "colsample_bytree": 1, "max_bin": 256,
 *           "early_stopping_rounds": 30, "validation_fraction": 0.1,
 *           "refit": false, "base_score": "mean",
 *           "log_every_rounds": 10, "nthread": 1}
 *
 * Each key maps to the XGBoost parameter of the same meaning (eta,
 * max_depth, min_child_weight, lambda, alpha, gamma, subsample,
 * colsample_bytree, max_bin); "seed" is the trainer's. Every key is
 * optional; an unknown key or a value out of range is refused naming the
 * file and the key. Plain data; any thread.
 */
#ifndef CFX_TRAIN_GBT_CONFIG_H
#define CFX_TRAIN_GBT_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "formats/err.h"
#include "model/task.h"

typedef struct cfx_gbt_config {
    size_t num_rounds;       /* boosting rounds at most */
    double learning_rate;    /* eta */
    size_t max_depth;        /* 1..16 */
    double min_child_weight; /* hessian sum a leaf needs */
    double l2;               /* lambda: L2 on leaf weights */
    double l1;               /* alpha: L1 on leaf weights */
    double gamma;            /* loss reduction a split needs */
    double subsample;        /* rows per tree, (0, 1] */
    double colsample_bytree; /* features per tree, (0, 1] */
    size_t max_bin;          /* histogram bins per feature */
    /* Stop when the validation loss has not improved for this many rounds
     * and keep the best round's trees; 0 trains num_rounds on all of train
     * rows. */
    size_t early_stopping_rounds;
    double validation_fraction; /* of train rows held out, by seed */
    int refit; /* after early stopping, train again on all train rows */
    /* The trees' starting prediction (XGBoost's base_score): NAN (the
     * default, "base_score": "mean") for the train label's mean (its rate
     * for a binary label); else the value, a probability in (0, 1) for a
     * binary label, in label units for regression. Multi-class starts
     * every class at 0.5 and refuses a value. */
    double base_score;
    size_t log_every_rounds;
    size_t nthread; /* XGBoost threads; fixed for determinism */
} cfx_gbt_config_t;

void cfx_gbt_config_default(cfx_gbt_config_t *c);

/* Whether c's base_score suits the label's task (a probability in (0, 1)
 * for binary, none for multi-class); errors name path and the key. */
int cfx_gbt_config_check_task(const cfx_gbt_config_t *c, cfx_task_t task,
                              const char *path, cfx_error_t *err);

/* The keys of obj (the "gbt" object of the JSON file path) over c. */
int cfx_gbt_config_parse(json_t *obj, const char *path, cfx_gbt_config_t *c,
                         cfx_error_t *err);

#endif

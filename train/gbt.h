/*
 * gbt.h: training the gradient-boosted trees model type with XGBoost's C
 * API (docs/model.md), and converting XGBoost's JSON model into cfx's tree
 * format (model/trees.h), which is all serving reads.
 *
 * Rows are the transformed examples the network trains on (dense outputs,
 * then categorical indices as numbers; model/trees.h). The objective
 * follows the head: binary:logistic, multi:softprob (num_class N),
 * reg:squarederror or, for "loss": "huber", reg:pseudohubererror with
 * huber_slope = huber_delta. Trees are grown with the hist method on a
 * fixed number of threads, so one seed and one config give one model.
 *
 * With early_stopping_rounds, validation_fraction of the train rows
 * (chosen by a hash of the seed and the row number) are held out, training
 * stops when their loss has not improved for that many rounds, and the
 * trees of the best round are kept; with "refit" the model is then
 * trained again on all train rows for the same number of rounds per row
 * (kept_rounds x train rows / fit rows). The eval split is only reported, never
 * used to choose.
 *
 * Runs on the calling thread (XGBoost's own threads: nthread).
 */
#ifndef CFX_TRAIN_GBT_H
#define CFX_TRAIN_GBT_H

#include <jansson.h>
#include <stdio.h>

#include "formats/err.h"
#include "model/bundle_writer.h"
#include "model/task.h"
#include "model/transform.h"
#include "train/trainer.h"

typedef struct cfx_gbt_result {
    size_t rounds;       /* rounds trained */
    size_t kept_rounds;  /* the best round on the validation slice */
    size_t refit_rounds; /* with refit: rounds retrained on all train rows
                            (0 without) */
    size_t fit_rows, valid_rows;
    double valid_loss; /* best validation loss (XGBoost's eval metric),
                          NaN without early stopping */
    size_t num_trees, num_nodes;
} cfx_gbt_result_t;

/* Trains on train (eval, may be NULL, is logged every log_every_rounds
 * and at the end, with the final model, into *final_eval); *trees_out
 * gets the cfx-trees JSON (new reference) naming t's outputs. head's
 * task and classes pick the objective; regression trees predict the value
 * itself (the head's label_mean and label_std are not used). */
int cfx_gbt_fit(const cfx_trainer_config_t *cfg, const cfx_transform_t *t,
                const cfx_head_t *head, const cfx_dataset_t *train,
                const cfx_dataset_t *eval, cfx_trainer_log_fn log,
                void *log_ctx, FILE *progress, json_t **trees_out,
                cfx_gbt_result_t *res, cfx_train_metrics_t *final_eval,
                cfx_error_t *err);

/* The same, also handing over XGBoost's booster of the kept rounds
 * (*booster_out, a BoosterHandle the caller frees with XGBoosterFree; may be
 * NULL): for tests and benches that compare cfx's evaluator with XGBoost's
 * predictor. */
int cfx_gbt_fit_booster(const cfx_trainer_config_t *cfg,
                        const cfx_transform_t *t, const cfx_head_t *head,
                        const cfx_dataset_t *train, const cfx_dataset_t *eval,
                        cfx_trainer_log_fn log, void *log_ctx, FILE *progress,
                        json_t **trees_out, void **booster_out,
                        cfx_gbt_result_t *res, cfx_train_metrics_t *final_eval,
                        cfx_error_t *err);

/* XGBoost's JSON model (XGBoosterSaveModelToBuffer, format "json"; gbtree
 * booster, numerical splits) -> cfx-trees JSON (new reference). Feature
 * names are t's outputs in slot order, or "f0", "f1", ... when t is NULL.
 * Nodes are renumbered breadth first (children after parents, pruned
 * nodes dropped); the base margin is XGBoost's base_score through the
 * objective's link (logit for binary:logistic). */
int cfx_gbt_from_xgboost_json(const char *json, size_t len,
                              const cfx_transform_t *t, json_t **out,
                              cfx_error_t *err);

/* Writes trees (cfx_gbt_fit's JSON) into the bundle as
 * variables/trees.json and records the manifest's "trees" section
 * (docs/model.md): {"type": "gbt", "file", "objective", "num_trees",
 * "num_nodes", "rounds", "kept_rounds"}. */
int cfx_gbt_bundle_add(cfx_bundle_writer_t *w, json_t *manifest, json_t *trees,
                       const cfx_gbt_result_t *res, cfx_error_t *err);

#endif

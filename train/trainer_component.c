/*
 * trainer_component.c: the Trainer as a spec (see trainer_component.h):
 * the exec properties and inputs become a cfx_train_job_t whose model and
 * logs folders are the run's outputs.
 */
#include "train/trainer_component.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/trainer_job.h"

static int trainer_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                        cfx_error_t *err) {
    cfx_component_run_t *run = ctx->run;
    cfx_train_result_t local, *res = ctx->result ? ctx->result : &local;
    int ret;
    memset(res, 0, sizeof *res);
    const char *model = cfx_component_exec_output_dir(ctx, "model", err);
    if (!model)
        return err->code;
    const char *logs = cfx_component_exec_output_dir(ctx, "model_run", err);
    if (!logs)
        return err->code;
    cfx_train_job_t job = {
        .examples_dir = cfx_component_input_uri(run, "examples"),
        .transform_graph_dir = cfx_component_input_uri(run, "transform_graph"),
        .config_path = cfx_component_prop_path(ctx, "config"),
        .output_dir = NULL, /* both folders below are given */
        .raw_examples_dir = cfx_component_input_uri(run, "raw_examples"),
        .progress = ctx->progress,
        .model_dir = model,
        .logs_dir = logs,
        .pipeline_name = cfx_component_store(run) ? run->pipeline_name : NULL,
    };
    if ((ret = cfx_trainer_run(&job, res, err)))
        return ret;
    /* the metrics the task has: AUC for a binary model, accuracy for
     * classes (a regression's loss is its mean squared error) */
    char auc[32] = "", acc[32] = "";
    if (!isnan(res->eval.auc))
        snprintf(auc, sizeof auc, "AUC %.4f, ", res->eval.auc);
    if (!isnan(res->eval.accuracy))
        snprintf(acc, sizeof acc, "accuracy %.4f, ", res->eval.accuracy);
    snprintf(summary, cap,
             "trained on %zu rows in %.1f s; eval %zu rows: %s%sloss %.4f",
             res->train_rows, res->train_seconds, res->eval_rows, auc, acc,
             res->eval.loss);
    return 0;
}

const cfx_component_spec_t cfx_trainer_component = {
    .name = "Trainer",
    .inputs = {{"examples", "Examples", 0},
               {"transform_graph", "TransformGraph", 0},
               {"raw_examples", "Examples", 1}},
    .outputs = {{"model", "Model", 0}, {"model_run", "ModelRun", 0}},
    .paths = {"config"},
    .exec = trainer_exec,
};

/*
 * evaluator_component.c: the Evaluator as a spec (see
 * evaluator_component.h): loads the EvalConfig its properties name, runs
 * cfx_evaluator_run into the run's two folders, records the blessing.
 */
#include "eval/evaluator_component.h"

#include <stdio.h>
#include <stdlib.h>

#include "eval/eval_config.h"
#include "eval/evaluator.h"

int cfx_blessing_gate(cfx_component_ctx_t *ctx, const char *what, char *reason,
                      size_t cap) {
    long long b = cfx_component_output_int(ctx->run, "blessing", "blessed", -1);
    if (b == 1)
        return 0;
    const char *uri = cfx_component_output_uri(ctx->run, "blessing");
    snprintf(reason, cap, "model %s (%s)", b == 0 ? what : "has no blessing",
             uri ? uri : "no blessing output");
    return CFX_ENOTBLESSED;
}

static int evaluator_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                          cfx_error_t *err) {
    cfx_component_run_t *run = ctx->run;
    cfx_eval_config_t *ec = calloc(1, sizeof *ec);
    cfx_evaluator_result_t *local = NULL, *res = ctx->result;
    int ret;
    if (!res)
        res = local = calloc(1, sizeof *local);
    if (!ec || !res) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    const char *config = cfx_component_prop_path(ctx, "config");
    if (!config) {
        ret = cfx_error_set(err, CFX_EINVAL,
                            "%s: components.Evaluator.config is required",
                            ctx->origin ? ctx->origin : "Evaluator");
        goto out;
    }
    if ((ret = cfx_eval_config_load(config, ec, err)))
        goto out;
    const char *ev = cfx_component_exec_output_dir(ctx, "evaluation", err);
    const char *bl =
        ev ? cfx_component_exec_output_dir(ctx, "blessing", err) : NULL;
    if (!bl) {
        ret = err->code;
        goto out;
    }
    const char *baseline = cfx_component_input_uri(run, "baseline_model");
    cfx_evaluator_opts_t o = {
        .model_dir = cfx_component_input_uri(run, "model"),
        .baseline_dir = baseline,
        .examples_dir = cfx_component_input_uri(run, "examples"),
        .config = ec,
        .evaluation_dir = ev,
        .blessing_dir = bl,
    };
    if ((ret = cfx_evaluator_run(&o, res, err)))
        goto out;
    if ((ret = cfx_evaluator_record_blessing(
             run, "blessing", res, o.model_dir,
             cfx_component_input_id(run, "model"), baseline,
             baseline ? cfx_component_input_id(run, "baseline_model") : 0,
             err)))
        goto out;
    snprintf(summary, cap, "%s", res->summary);
out:
    free(ec);
    free(local);
    return ret;
}

static int evaluator_gate(cfx_component_ctx_t *ctx, char *reason, size_t cap,
                          cfx_error_t *err) {
    (void)err;
    return cfx_blessing_gate(ctx, "not blessed by the evaluation thresholds",
                             reason, cap);
}

const cfx_component_spec_t cfx_evaluator_component = {
    .name = "Evaluator",
    .inputs = {{"examples", "Examples", 0},
               {"model", "Model", 0},
               {"baseline_model", "Model", 1}},
    .outputs = {{"evaluation", "ModelEvaluation", 0},
                {"blessing", "ModelBlessing", 0}},
    .paths = {"config"},
    .exec = evaluator_exec,
    .gate = evaluator_gate,
};

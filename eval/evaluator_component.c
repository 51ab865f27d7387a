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
#include "mlmd/metadata.h"

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

/* The execution that published artifact id (its OUTPUT event), 0 when
 * none did (an external artifact). */
static int producer_cb(void *ud, const cfx_md_event_t *ev) {
    if (ev->type == CFX_MD_EVENT_OUTPUT)
        *(int64_t *)ud = ev->execution_id;
    return 0;
}

typedef struct member {
    int64_t want;
    int found;
} member_t;

static int member_cb(void *ud, const cfx_md_execution_t *e) {
    member_t *m = ud;
    if (e->id == m->want)
        m->found = 1;
    return m->found;
}

/* Recorded runs: a baseline whose producer is not a run of the pipeline
 * that produced the candidate (both as the store knows them) came from
 * another pipeline sharing this root; its metrics answer another question.
 * why is left empty when the store cannot tell. */
static int baseline_pipeline(cfx_component_run_t *run, char *why, size_t cap,
                             cfx_error_t *err) {
    cfx_metadata_t *md = cfx_component_store(run);
    int64_t cand = cfx_component_input_id(run, "model"),
            base = cfx_component_input_id(run, "baseline_model");
    int64_t cand_exec = 0, base_exec = 0;
    int ret;
    why[0] = 0;
    if (!md || cand <= 0 || base <= 0)
        return 0;
    if ((ret = cfx_metadata_list_events(md, -1, cand, producer_cb, &cand_exec,
                                        err)) < 0 ||
        (ret = cfx_metadata_list_events(md, -1, base, producer_cb, &base_exec,
                                        err)) < 0)
        return ret;
    if (!cand_exec || !base_exec)
        return 0;
    member_t c = {cand_exec, 0}, b = {base_exec, 0};
    if ((ret = cfx_metadata_list_context_executions(md, run->context_ids[0],
                                                    member_cb, &c, err)) < 0 ||
        (ret = cfx_metadata_list_context_executions(md, run->context_ids[0],
                                                    member_cb, &b, err)) < 0)
        return ret;
    if (c.found && !b.found)
        snprintf(why, cap,
                 "another pipeline: the baseline (artifact %lld) was not "
                 "produced by a run of pipeline '%s', the candidate was",
                 (long long)base, run->pipeline_name);
    return 0;
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
    char refused[512] = "";
    if (baseline &&
        (ret = baseline_pipeline(run, refused, sizeof refused, err)) < 0)
        goto out;
    cfx_evaluator_opts_t o = {
        .model_dir = cfx_component_input_uri(run, "model"),
        .baseline_dir = baseline,
        .examples_dir = cfx_component_input_uri(run, "examples"),
        .config = ec,
        .evaluation_dir = ev,
        .blessing_dir = bl,
        .baseline_refused = baseline && refused[0] ? refused : NULL,
    };
    if ((ret = cfx_evaluator_run(&o, res, err)))
        goto out;
    /* a baseline dropped was not compared: the blessing names none */
    if (res->baseline_dropped[0])
        baseline = NULL;
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

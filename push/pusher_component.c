/*
 * pusher_component.c: the Pusher as a spec (see pusher_component.h): the
 * blessing checks, then cfx_pusher_push, then the PushedModel record.
 */
#include "push/pusher_component.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "eval/model_identity.h"
#include "push/pusher.h"

int cfx_pusher_refusal(const char *model_dir, const char *blessing,
                       const char *infra, char *refusal, size_t cap,
                       cfx_error_t *err) {
    char why[4200];
    refusal[0] = 0;
    if (!cfx_pusher_is_blessed(blessing, "BLESSED", "NOT_BLESSED", why,
                               sizeof why)) {
        snprintf(refusal, cap, "refused, the model is not blessed: %s", why);
        return 1;
    }
    if (infra && !cfx_pusher_is_blessed(infra, "INFRA_BLESSED",
                                        "INFRA_NOT_BLESSED", why, sizeof why)) {
        snprintf(refusal, cap, "refused, the model failed infra validation: %s",
                 why);
        return 1;
    }
    /* each blessing must be about this very bundle (model.json) */
    const char *const gates[] = {blessing, infra};
    for (size_t g = 0; g < 2; g++) {
        if (!gates[g])
            continue;
        int r = cfx_model_identity_check(gates[g], model_dir, err);
        if (r == CFX_ENOTBLESSED) {
            snprintf(refusal, cap, "refused: %s", err->msg);
            cfx_error_init(err);
            return 1;
        }
        if (r < 0)
            return r;
    }
    return 0;
}

/* With a store: each blessing input whose artifact carries custom
 * current_model_id (TFX's ModelBlessing property) must name the model
 * input's artifact. CFX_ENOTBLESSED with err naming both when not. */
static int blessing_model_recorded(cfx_component_run_t *run, cfx_error_t *err) {
    const cfx_md_artifact_t *model = NULL;
    for (size_t i = 0; i < run->n_inputs; i++)
        if (!strcmp(run->inputs[i].key, "model"))
            model = &run->inputs[i].artifact;
    if (!model || !run->store)
        return 0;
    for (size_t i = 0; i < run->n_inputs; i++) {
        const cfx_md_artifact_t *b = &run->inputs[i].artifact;
        if (strcmp(run->inputs[i].key, "model_blessing") &&
            strcmp(run->inputs[i].key, "infra_blessing"))
            continue;
        cfx_md_value_t v;
        char buf[64];
        int r = cfx_metadata_get_artifact_property(
            run->store, b->id, "current_model_id", &v, buf, sizeof buf, err);
        if (r == CFX_ENOTFOUND) {
            cfx_error_init(err);
            continue;
        }
        if (r < 0)
            return r;
        if (v.kind == CFX_MD_INT && v.i != model->id)
            return cfx_error_set(
                err, CFX_ENOTBLESSED,
                "the metadata store records blessing %s (artifact %" PRId64
                ") for model artifact %" PRId64 ", not for %s (artifact "
                "%" PRId64 ")",
                b->uri, b->id, v.i, model->uri, model->id);
    }
    return 0;
}

static int pusher_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                       cfx_error_t *err) {
    cfx_component_run_t *run = ctx->run;
    cfx_pusher_outcome_t local, *res = ctx->result ? ctx->result : &local;
    char vstr[32];
    int ret;
    memset(res, 0, sizeof *res);
    const char *model = cfx_component_input_uri(run, "model");
    const char *base = cfx_component_prop_path(ctx, "push_destination");
    if (!base)
        return cfx_error_set(err, CFX_EINVAL,
                             "Pusher: push_destination is required");
    int refused = cfx_pusher_refusal(
        model, cfx_component_input_uri(run, "model_blessing"),
        cfx_component_input_uri(run, "infra_blessing"), res->refusal,
        sizeof res->refusal, err);
    if (refused < 0)
        return refused;
    if (!refused) {
        /* the store knows which model each blessing was recorded for */
        int r = blessing_model_recorded(run, err);
        if (r == CFX_ENOTBLESSED) {
            snprintf(res->refusal, sizeof res->refusal, "refused: %s",
                     err->msg);
            cfx_error_init(err);
            refused = 1;
        } else if (r < 0) {
            return r;
        }
    }
    if (refused) {
        /* As TFX's Pusher: the execution completes and its PushedModel says
         * pushed = 0; nothing reaches the serving directory. */
        if (cfx_component_store(run) &&
            (!cfx_component_exec_output_dir(ctx, "pushed_model", err) ||
             (ret = cfx_component_set_int(run, "pushed_model", "pushed", 1, 0,
                                          err))))
            return err->code ? err->code : CFX_EINTERNAL;
        snprintf(summary, cap, "%s", res->refusal);
        return 0;
    }
    if ((ret = cfx_pusher_push(model, base, &res->version, res->destination,
                               sizeof res->destination, err)))
        return ret;
    res->pushed = 1;
    snprintf(vstr, sizeof vstr, "%" PRId64, res->version);
    if ((ret = cfx_component_output_at(run, "pushed_model", "PushedModel",
                                       res->destination, err)) ||
        (ret =
             cfx_component_set_int(run, "pushed_model", "pushed", 1, 1, err)) ||
        (ret =
             cfx_component_set_string(run, "pushed_model", "pushed_destination",
                                      1, res->destination, err)) ||
        (ret = cfx_component_set_string(run, "pushed_model", "pushed_version",
                                        1, vstr, err)))
        return ret;
    snprintf(summary, cap, "pushed version %s to %s", vstr, res->destination);
    return 0;
}

static int pusher_gate(cfx_component_ctx_t *ctx, char *reason, size_t cap,
                       cfx_error_t *err) {
    (void)err;
    if (cfx_component_output_int(ctx->run, "pushed_model", "pushed", 0) == 1)
        return 0;
    const char *uri = cfx_component_output_uri(ctx->run, "pushed_model");
    snprintf(reason, cap, "model not pushed, its blessings refused it (%s)",
             uri ? uri : "no pushed_model output");
    return CFX_ENOTBLESSED;
}

const cfx_component_spec_t cfx_pusher_component = {
    .name = "Pusher",
    .inputs = {{"model", "Model", 0},
               {"model_blessing", "ModelBlessing", 0},
               {"infra_blessing", "InfraBlessing", 1}},
    .outputs = {{"pushed_model", "PushedModel", 0}},
    .exec = pusher_exec,
    .gate = pusher_gate,
};

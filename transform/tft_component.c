/*
 * tft_component.c: Transform as a spec (see tft_component.h): the exec
 * properties and inputs become cfx_tft_options_t, the outputs go to the
 * run's two folders.
 */
#include "transform/tft_component.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "data/components.h"
#include "transform/tft.h"

static int transform_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                          cfx_error_t *err) {
    cfx_component_run_t *run = ctx->run;
    char schema[PATH_MAX];
    cfx_tft_result_t local, *res = ctx->result ? ctx->result : &local;
    int ret;
    memset(res, 0, sizeof *res);
    const char *spec = cfx_component_prop_path(ctx, "spec");
    if (!spec)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: components.Transform.spec is required",
                             ctx->origin ? ctx->origin : "Transform");
    const char *graph =
        cfx_component_exec_output_dir(ctx, "transform_graph", err);
    if (!graph)
        return err->code;
    const char *texs =
        cfx_component_exec_output_dir(ctx, "transformed_examples", err);
    if (!texs)
        return err->code;
    if (cfx_component_input_uri(run, "schema") &&
        (ret =
             cfx_schema_input_file(run, "schema", schema, sizeof schema, err)))
        return ret;
    long long budget = cfx_component_prop_int(ctx, "max_quantile_values", 0);
    cfx_tft_options_t o = {
        .examples_dir = cfx_component_input_uri(run, "examples"),
        .schema_path = cfx_component_input_uri(run, "schema") ? schema : NULL,
        .spec_path = spec,
        .max_quantile_values = budget > 0 ? (size_t)budget : 0,
        .graph_dir = graph,
        .transformed_examples_dir = texs,
    };
    if ((ret = cfx_tft_run(&o, res, err)))
        goto out;
    char names[256] = "[";
    for (size_t i = 0; i < res->num_splits; i++) {
        size_t n = strlen(names);
        snprintf(names + n, sizeof names - n, "%s\"%s\"", i ? "," : "",
                 res->split_names[i]);
    }
    strncat(names, "]", sizeof names - strlen(names) - 1);
    if ((ret = cfx_component_set_string(run, "transformed_examples",
                                        "split_names", 0, names, err)))
        goto out;
    snprintf(summary, cap, "%zu transformed features over %zu splits",
             res->num_outputs, res->num_splits);
out:
    if (res == &local)
        cfx_tft_result_free(&local);
    return ret;
}

const cfx_component_spec_t cfx_transform_component = {
    .name = "Transform",
    .inputs = {{"examples", "Examples", 0}, {"schema", "Schema", 1}},
    .outputs = {{"transform_graph", "TransformGraph", 0},
                {"transformed_examples", "Examples", 0}},
    .paths = {"spec"},
    .exec = transform_exec,
};

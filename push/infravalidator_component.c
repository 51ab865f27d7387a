/*
 * infravalidator_component.c: the InfraValidator as a spec (see
 * infravalidator_component.h): settings checked first, then
 * cfx_infravalidator_run into the run's blessing folder.
 */
#include "push/infravalidator_component.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/perf.h"
#include "eval/evaluator_component.h"
#include "push/infravalidator.h"

static const char *origin(const cfx_component_ctx_t *ctx) {
    return ctx->origin ? ctx->origin : ctx->run->component;
}

/* cfx-serve: the serve_binary setting, else $CFX_SERVE, else the cfx-serve
 * beside this executable. */
static int serve_binary(const cfx_component_ctx_t *ctx, char *out, size_t cap,
                        cfx_error_t *err) {
    const char *set = cfx_component_prop_path(ctx, "serve_binary");
    const char *env = getenv("CFX_SERVE");
    int n;
    if (set || (env && env[0])) {
        n = snprintf(out, cap, "%s", set ? set : env);
    } else {
        char self[PATH_MAX];
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        if (len <= 0)
            return cfx_error_set(err, CFX_EIO,
                                 "cannot find the cfx-serve binary");
        self[len] = 0;
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = 0;
        n = snprintf(out, cap, "%s/cfx-serve", self);
    }
    if (n < 0 || (size_t)n >= cap)
        return cfx_error_set(err, CFX_ETOOBIG, "cfx-serve: path too long");
    return 0;
}

/* The load test settings, checked before anything starts. */
static int load_settings(const cfx_component_ctx_t *ctx, cfx_infra_opts_t *o,
                         cfx_error_t *err) {
    json_t *check = json_object_get(ctx->props, "load_check");
    json_t *secs = json_object_get(ctx->props, "load_seconds");
    json_t *conc = json_object_get(ctx->props, "load_concurrency");
    if (check && !json_is_string(check))
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: InfraValidator.load_check: "
                             "expected a string such as \"p99<50ms,errors<=0\"",
                             origin(ctx));
    if (check) {
        cfx_perf_opts_t po;
        cfx_perf_opts_init(&po);
        int ret = cfx_perf_parse_checks(&po, json_string_value(check), err);
        if (ret) {
            cfx_error_prefix(err, "%s: InfraValidator.load_check", origin(ctx));
            return ret;
        }
    }
    if (secs && (!json_is_number(secs) || !(json_number_value(secs) > 0) ||
                 json_number_value(secs) > 3600))
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: InfraValidator.load_seconds: "
                             "expected a number of seconds in (0, 3600]",
                             origin(ctx));
    if (conc && (!json_is_integer(conc) || json_integer_value(conc) < 1 ||
                 json_integer_value(conc) > 1024))
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: InfraValidator.load_concurrency: "
                             "expected an integer in 1..1024",
                             origin(ctx));
    if (!check && (secs || conc))
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: InfraValidator.load_seconds and "
                             "load_concurrency need load_check",
                             origin(ctx));
    o->load_check = check ? json_string_value(check) : NULL;
    o->load_seconds = secs ? json_number_value(secs) : 0;
    o->load_concurrency = conc ? (size_t)json_integer_value(conc) : 0;
    return 0;
}

static int infra_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                      cfx_error_t *err) {
    cfx_component_run_t *run = ctx->run;
    char serve[PATH_MAX];
    cfx_infra_result_t *local = NULL, *res = ctx->result;
    int ret;
    if (!res)
        res = local = calloc(1, sizeof *local);
    if (!res)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    if ((ret = serve_binary(ctx, serve, sizeof serve, err)))
        goto out;
    const char *dir = cfx_component_exec_output_dir(ctx, "blessing", err);
    if (!dir) {
        ret = err->code;
        goto out;
    }
    long long n = cfx_component_prop_int(ctx, "num_requests", 0);
    double t = cfx_component_prop_number(ctx, "load_timeout_s", 0);
    cfx_infra_opts_t o = {
        .model_dir = cfx_component_input_uri(run, "model"),
        .serve_binary = serve,
        .output_dir = dir,
        .max_requests = n > 0 ? (size_t)n : 0,
        .load_timeout_s = t > 0 ? t : 0,
    };
    if ((ret = load_settings(ctx, &o, err)))
        goto out;
    if ((ret = cfx_infravalidator_run(&o, res, err)))
        goto out;
    if ((ret = cfx_component_set_int(run, "blessing", "blessed", 1,
                                     res->blessed ? 1 : 0, err)) ||
        (ret = cfx_component_set_string(run, "blessing", "current_model", 1,
                                        o.model_dir, err)) ||
        (ret =
             cfx_component_set_int(run, "blessing", "current_model_id", 1,
                                   cfx_component_input_id(run, "model"), err)))
        goto out;
    snprintf(summary, cap, "%s", res->summary);
out:
    free(local);
    return ret;
}

static int infra_gate(cfx_component_ctx_t *ctx, char *reason, size_t cap,
                      cfx_error_t *err) {
    (void)err;
    return cfx_blessing_gate(ctx, "failed infra validation", reason, cap);
}

const cfx_component_spec_t cfx_infravalidator_component = {
    .name = "InfraValidator",
    .inputs = {{"model", "Model", 0}},
    .outputs = {{"blessing", "InfraBlessing", 0}},
    .paths = {"serve_binary"},
    .exec = infra_exec,
    .gate = infra_gate,
};

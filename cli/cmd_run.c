/*
 * cmd_run.c: `cfx run` — the whole pipeline from a config file, recorded in
 * the metadata store with caching (pipeline/runner.h). The steps of the
 * components above pipeline/ (evaluator, infra validator, pusher) are
 * appended here, where every library is linked.
 */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/evaluator.h"
#include "eval/model_identity.h"
#include "pipeline/pipeline_config.h"
#include "pipeline/runner.h"
#include "push/infravalidator.h"
#include "push/pusher.h"
#include "client/perf.h"

/* Exit status when a gate stopped the rollout (anomalies, not blessed). */
#define EXIT_STOPPED 3

/* Gates on TFX's blessing convention (custom `blessed` on the blessing
 * output): a model not blessed stops the rollout before the Pusher. */
static int blessing_gate(cfx_runner_t *r, cfx_component_run_t *run, char *reason,
                         size_t cap, const char *what) {
    long long b = cfx_runner_output_int(r, run, "blessing", "blessed", -1);
    if (b == 1) return 0;
    snprintf(reason, cap, "model %s (%s)", b == 0 ? what : "has no blessing",
             cfx_component_output_uri(run, "blessing") ? cfx_component_output_uri(run, "blessing")
                                                        : "no blessing output");
    return CFX_ENOTBLESSED;
}

static int model_blessing_gate(cfx_runner_t *r, cfx_component_run_t *run, char *reason,
                               size_t cap, cfx_error_t *err) {
    (void)err;
    return blessing_gate(r, run, reason, cap, "not blessed by the evaluation thresholds");
}

static int infra_blessing_gate(cfx_runner_t *r, cfx_component_run_t *run, char *reason,
                               size_t cap, cfx_error_t *err) {
    (void)err;
    return blessing_gate(r, run, reason, cap, "failed infra validation");
}

/* --- step functions of the components above pipeline/ ------------------ */

static int evaluator_exec(cfx_runner_t *r, cfx_component_run_t *run, char *summary,
                          size_t cap, cfx_error_t *err) {
    const cfx_pipeline_config_t *cfg = cfx_runner_config(r);
    char path[PATH_MAX];
    cfx_eval_config_t *ec = calloc(1, sizeof *ec);
    cfx_evaluator_result_t *res = calloc(1, sizeof *res);
    int ret;
    if (!ec || !res) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    int have = cfx_pipeline_config_path(cfg, "Evaluator", "config", path, sizeof path, err);
    if ((ret = have < 0 ? have : 0)) goto out;
    if (!have) {
        ret = cfx_error_set(err, CFX_EINVAL, "%s: components.Evaluator.config is required",
                            cfg->path);
        goto out;
    }
    if ((ret = cfx_eval_config_load(path, ec, err))) goto out;
    const char *ev = cfx_component_output_dir(run, "evaluation", err);
    const char *bl = ev ? cfx_component_output_dir(run, "blessing", err) : NULL;
    if (!bl) {
        ret = err->code ? err->code : CFX_EINTERNAL;
        goto out;
    }
    const char *baseline = cfx_runner_input_uri(run, "baseline_model");
    cfx_evaluator_opts_t o = {
        .model_dir = cfx_runner_input_uri(run, "model"),
        .baseline_dir = baseline,
        .examples_dir = cfx_runner_input_uri(run, "examples"),
        .config = ec,
        .evaluation_dir = ev,
        .blessing_dir = bl,
    };
    if ((ret = cfx_evaluator_run(&o, res, err))) goto out;
    if ((ret = cfx_evaluator_record_blessing(
             run, "blessing", res, o.model_dir, cfx_runner_input_id(run, "model"), baseline,
             baseline ? cfx_runner_input_id(run, "baseline_model") : 0, err)))
        goto out;
    snprintf(summary, cap, "%s", res->summary);
out:
    free(ec);
    free(res);
    return ret;
}

/* cfx-serve for the infra validation: the config's serve_binary, else
 * $CFX_SERVE, else the cfx-serve beside this cfx. */
static int serve_binary(const cfx_pipeline_config_t *cfg, char *out, size_t cap,
                        cfx_error_t *err) {
    int have = cfx_pipeline_config_path(cfg, "InfraValidator", "serve_binary", out, cap, err);
    if (have) return have < 0 ? have : 0;
    const char *env = getenv("CFX_SERVE");
    if (env && env[0]) {
        snprintf(out, cap, "%s", env);
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return cfx_error_set(err, CFX_EIO, "cannot find the cfx-serve binary");
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash) *slash = 0;
    int m = snprintf(out, cap, "%s/cfx-serve", self);
    if (m < 0 || (size_t)m >= cap)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: path too long", self);
    return 0;
}

/* InfraValidator's load test settings, checked before anything starts:
 * a bad value is a configuration error, not a verdict on the model. */
static int load_settings(const cfx_pipeline_config_t *cfg, double *seconds,
                         long long *concurrency, cfx_error_t *err) {
    json_t *c = cfx_pipeline_config_component(cfg, "InfraValidator", NULL);
    json_t *check = json_object_get(c, "load_check");
    json_t *secs = json_object_get(c, "load_seconds");
    json_t *conc = json_object_get(c, "load_concurrency");
    if (check && !json_is_string(check))
        return cfx_error_set(err, CFX_EINVAL, "%s: InfraValidator.load_check: "
                             "expected a string such as \"p99<50ms,errors<=0\"",
                             cfg->path);
    if (check) {
        cfx_perf_opts_t po;
        cfx_perf_opts_init(&po);
        int ret = cfx_perf_parse_checks(&po, json_string_value(check), err);
        if (ret) {
            cfx_error_prefix(err, "%s: InfraValidator.load_check", cfg->path);
            return ret;
        }
    }
    if (secs && (!json_is_number(secs) || !(json_number_value(secs) > 0) ||
                 json_number_value(secs) > 3600))
        return cfx_error_set(err, CFX_EINVAL, "%s: InfraValidator.load_seconds: "
                             "expected a number of seconds in (0, 3600]", cfg->path);
    if (conc && (!json_is_integer(conc) || json_integer_value(conc) < 1 ||
                 json_integer_value(conc) > 1024))
        return cfx_error_set(err, CFX_EINVAL, "%s: InfraValidator.load_concurrency: "
                             "expected an integer in 1..1024", cfg->path);
    if (!check && (secs || conc))
        return cfx_error_set(err, CFX_EINVAL, "%s: InfraValidator.load_seconds and "
                             "load_concurrency need load_check", cfg->path);
    *seconds = secs ? json_number_value(secs) : 0;
    *concurrency = conc ? json_integer_value(conc) : 0;
    return 0;
}

static int infra_exec(cfx_runner_t *r, cfx_component_run_t *run, char *summary, size_t cap,
                      cfx_error_t *err) {
    const cfx_pipeline_config_t *cfg = cfx_runner_config(r);
    char serve[PATH_MAX];
    cfx_infra_result_t *res = calloc(1, sizeof *res);
    int ret;
    if (!res) return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    if ((ret = serve_binary(cfg, serve, sizeof serve, err))) goto out;
    const char *dir = cfx_component_output_dir(run, "blessing", err);
    if (!dir) {
        ret = err->code ? err->code : CFX_EINTERNAL;
        goto out;
    }
    long long n = cfx_pipeline_config_int(cfg, "InfraValidator", "num_requests", 0);
    long long t = cfx_pipeline_config_int(cfg, "InfraValidator", "load_timeout_s", 0);
    double ls = 0;
    long long lc = 0;
    if ((ret = load_settings(cfg, &ls, &lc, err))) goto out;
    cfx_infra_opts_t o = {
        .model_dir = cfx_runner_input_uri(run, "model"),
        .serve_binary = serve,
        .output_dir = dir,
        .max_requests = n > 0 ? (size_t)n : 0,
        .load_timeout_s = t > 0 ? (double)t : 0,
        .load_check = cfx_pipeline_config_string(cfg, "InfraValidator", "load_check"),
        .load_seconds = ls,
        .load_concurrency = (size_t)lc,
    };
    if ((ret = cfx_infravalidator_run(&o, res, err))) goto out;
    int64_t model_id = 0;
    for (size_t i = 0; i < run->n_inputs; i++)
        if (!strcmp(run->inputs[i].key, "model")) model_id = run->inputs[i].artifact.id;
    if ((ret = cfx_component_set_int(run, "blessing", "blessed", 1, res->blessed ? 1 : 0,
                                     err)) ||
        (ret = cfx_component_set_string(run, "blessing", "current_model", 1, o.model_dir, err)) ||
        (ret = cfx_component_set_int(run, "blessing", "current_model_id", 1, model_id, err)))
        goto out;
    snprintf(summary, cap, "%s", res->summary);
out:
    free(res);
    return ret;
}

static int pusher_exec(cfx_runner_t *r, cfx_component_run_t *run, char *summary, size_t cap,
                       cfx_error_t *err) {
    const cfx_pipeline_config_t *cfg = cfx_runner_config(r);
    char base[PATH_MAX], dest[PATH_MAX], why[512], vstr[32];
    int64_t version = 0;
    int ret;
    if (!cfg->serving_dir)
        return cfx_error_set(err, CFX_EINVAL, "%s: serving_dir is required to push",
                             cfg->path);
    /* The gates stopped unblessed models already; checked again on the
     * files, as TFX's Pusher does. */
    const char *mb = cfx_runner_input_uri(run, "model_blessing");
    const char *ib = cfx_runner_input_uri(run, "infra_blessing");
    if (mb && !cfx_pusher_is_blessed(mb, "BLESSED", "NOT_BLESSED", why, sizeof why))
        return cfx_error_set(err, CFX_ENOTBLESSED, "%s: %s", mb, why);
    if (ib && !cfx_pusher_is_blessed(ib, "INFRA_BLESSED", "INFRA_NOT_BLESSED", why, sizeof why))
        return cfx_error_set(err, CFX_ENOTBLESSED, "%s: %s", ib, why);
    /* and each blessing must be about this very bundle */
    if ((mb && (ret = cfx_model_identity_check(mb, cfx_runner_input_uri(run, "model"), err))) ||
        (ib && (ret = cfx_model_identity_check(ib, cfx_runner_input_uri(run, "model"), err))))
        return ret;
    int n = snprintf(base, sizeof base, "%s/%s", cfg->serving_dir, cfg->model_name);
    if (n < 0 || (size_t)n >= sizeof base)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: serving path too long", cfg->path);
    if ((ret = cfx_pusher_push(cfx_runner_input_uri(run, "model"), base, &version, dest,
                               sizeof dest, err)))
        return ret;
    snprintf(vstr, sizeof vstr, "%lld", (long long)version);
    if ((ret = cfx_component_output_at(run, "pushed_model", "PushedModel", dest, err)) ||
        (ret = cfx_component_set_int(run, "pushed_model", "pushed", 1, 1, err)) ||
        (ret = cfx_component_set_string(run, "pushed_model", "pushed_destination", 1, dest,
                                        err)) ||
        (ret = cfx_component_set_string(run, "pushed_model", "pushed_version", 1, vstr, err)))
        return ret;
    snprintf(summary, cap, "pushed version %s to %s", vstr, dest);
    return 0;
}

static const cfx_runner_step_t upper_steps[] = {
    {"Evaluator",
     {{"examples", "ExampleGen", "examples", 0},
      {"model", "Trainer", "model", 0},
      {"baseline_model", CFX_RUNNER_FROM_BLESSED, NULL, 1}},
     NULL, evaluator_exec, model_blessing_gate},
    {"InfraValidator", {{"model", "Trainer", "model", 0}}, NULL, infra_exec,
     infra_blessing_gate},
    {"Pusher",
     {{"model", "Trainer", "model", 0},
      {"model_blessing", "Evaluator", "blessing", 0},
      {"infra_blessing", "InfraValidator", "blessing", 1}},
     NULL, pusher_exec, NULL},
};

static void usage(FILE *f) {
    fprintf(f,
            "usage: cfx run [--no-cache] [--run-id ID] PIPELINE_CONFIG\n\n"
            "Runs ExampleGen, StatisticsGen, SchemaGen, ExampleValidator, Transform,\n"
            "Trainer, Evaluator, InfraValidator and Pusher as PIPELINE_CONFIG (JSON)\n"
            "says, recording each in <pipeline_root>/metadata.sqlite and reusing a\n"
            "cached execution when its inputs and configuration are unchanged.\n"
            "Exit status: 0 done, %d rollout stopped (data anomalies, model not\n"
            "blessed), 1 failure, 2 usage.\n",
            EXIT_STOPPED);
}

int cfx_cmd_run(int argc, char **argv) {
    static const struct option longopts[] = {
        {"no-cache", no_argument, NULL, 'n'},
        {"run-id", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cfx_runner_options_t opts = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': opts.no_cache = 1; break;
        case 'r': opts.run_id = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    cfx_runner_step_t steps[CFX_RUNNER_MAX_STEPS];
    size_t n = 0;
    for (size_t i = 0; i < cfx_runner_num_data_steps; i++) steps[n++] = cfx_runner_data_steps[i];
    for (size_t i = 0; i < sizeof upper_steps / sizeof upper_steps[0]; i++)
        steps[n++] = upper_steps[i];

    cfx_pipeline_config_t cfg;
    cfx_runner_result_t res;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_pipeline_config_load(&cfg, argv[optind], &err)) {
        fprintf(stderr, "cfx run: %s\n", err.msg);
        return 1;
    }
    int ret = cfx_runner_run(&cfg, steps, n, &opts, &res, &err);
    if (!ret && cfg.serving_dir)
        printf("serve it: cfx-serve --model_name=%s --model_base_path=%s/%s\n"
               "where it came from: cfx lineage --config %s %s/%s/<version>\n",
               cfg.model_name, cfg.serving_dir, cfg.model_name, argv[optind],
               cfg.serving_dir, cfg.model_name);
    cfx_pipeline_config_free(&cfg);
    if (ret && res.stopped) return EXIT_STOPPED;
    if (ret) {
        fprintf(stderr, "cfx run: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/*
 * cmd_run.c: `cfx run` — the whole pipeline from a config file, recorded in
 * the metadata store with caching (pipeline/runner.h). The steps of the
 * components above pipeline/ (evaluator, infra validator, pusher) are
 * appended here, where every library is linked.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/pipeline_config.h"
#include "pipeline/runner.h"

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

static const cfx_runner_step_t upper_steps[] = {
    {"Evaluator",
     {{"examples", "ExampleGen", "examples", 0},
      {"model", "Trainer", "model", 0},
      {"baseline_model", CFX_RUNNER_FROM_BLESSED, NULL, 1}},
     NULL, NULL, model_blessing_gate},
    {"InfraValidator",
     {{"model", "Trainer", "model", 0}, {"examples", "ExampleGen", "examples", 0}},
     NULL, NULL, infra_blessing_gate},
    {"Pusher",
     {{"model", "Trainer", "model", 0},
      {"model_blessing", "Evaluator", "blessing", 0},
      {"infra_blessing", "InfraValidator", "blessing", 1}},
     NULL, NULL, NULL},
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
    cfx_pipeline_config_free(&cfg);
    if (ret && res.stopped) return EXIT_STOPPED;
    if (ret) {
        fprintf(stderr, "cfx run: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/*
 * cmd_run.c: `cfx run` — the whole pipeline from a config file, recorded in
 * the metadata store with caching: the table of pipeline/components.h run
 * by pipeline/runner.h.
 */
#include <getopt.h>
#include <stdio.h>

#include "mlmd/metadata.h"
#include "pipeline/components.h"
#include "pipeline/pipeline_config.h"
#include "pipeline/runner.h"

/* Exit status when a gate stopped the rollout (anomalies, not blessed). */
#define EXIT_STOPPED 3

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx run [--no-cache] [--run-id ID] [--metadata LOCATION]\n"
        "               PIPELINE_CONFIG\n\n"
        "Runs ExampleGen, StatisticsGen, SchemaGen, ExampleValidator, "
        "Transform,\n"
        "Trainer, Evaluator, InfraValidator and Pusher as PIPELINE_CONFIG "
        "(JSON)\n"
        "says, recording each in <pipeline_root>/metadata.sqlite and reusing "
        "a\n"
        "cached execution when its inputs and configuration are unchanged.\n"
        "Executions a killed run left RUNNING are first marked FAILED and\n"
        "their partial outputs removed.\n"
        "--metadata LOCATION records in another store (a postgresql:// URL "
        "or a\n"
        "SQLite file; docs/metadata.md) than the config's \"metadata\" or\n"
        "$CFX_METADATA or <pipeline_root>/metadata.sqlite.\n"
        "Exit status: 0 done, %d rollout stopped (data anomalies, model not\n"
        "blessed), 1 failure, 2 usage.\n",
        EXIT_STOPPED);
}

int cfx_cmd_run(int argc, char **argv) {
    static const struct option longopts[] = {
        {"no-cache", no_argument, NULL, 'n'},
        {"run-id", required_argument, NULL, 'r'},
        {"metadata", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cfx_runner_options_t opts = {0};
    const char *metadata = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            opts.no_cache = 1;
            break;
        case 'r':
            opts.run_id = optarg;
            break;
        case 'm':
            metadata = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    cfx_pipeline_config_t cfg;
    cfx_runner_result_t res;
    cfx_error_t err;
    cfx_error_init(&err);
    if (metadata && cfx_metadata_set_location(metadata, &err)) {
        fprintf(stderr, "cfx run: %s\n", err.msg);
        return 1;
    }
    if (cfx_pipeline_config_load(&cfg, argv[optind], &err)) {
        fprintf(stderr, "cfx run: %s\n", err.msg);
        return 1;
    }
    int ret = cfx_runner_run(&cfg, cfx_pipeline_steps, cfx_pipeline_num_steps,
                             &opts, &res, &err);
    if (!ret && cfg.serving_dir)
        printf("serve it: cfx-serve --model_name=%s --model_base_path=%s/%s\n"
               "where it came from: cfx lineage --config %s %s/%s/<version>\n",
               cfg.model_name, cfg.serving_dir, cfg.model_name, argv[optind],
               cfg.serving_dir, cfg.model_name);
    cfx_pipeline_config_free(&cfg);
    if (ret && res.stopped)
        return EXIT_STOPPED;
    if (ret) {
        fprintf(stderr, "cfx run: %s\n", err.msg);
        return 1;
    }
    return 0;
}

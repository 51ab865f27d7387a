/*
 * cmd_report.c: `cfx report` — one self-contained HTML page of a pipeline
 * root or an artifact (report/report.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "pipeline/pipeline_config.h"
#include "report/report.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx report PATH --output FILE.html [--run RUN_ID]\n"
        "       cfx report --config PIPELINE_CONFIG --output FILE.html "
        "[--run RUN_ID]\n\n"
        "Writes one self-contained HTML page (inline CSS and SVG, no\n"
        "network fetches) about PATH:\n"
        "  a pipeline root (or PIPELINE_CONFIG's): the run (component graph,\n"
        "    each execution's state, time and cache hit, the lineage of the\n"
        "    pushed version), statistics, schema, anomalies, training curves\n"
        "    and the evaluation, from the latest execution of each component\n"
        "    or, with --run, from that run (the id `cfx run` prints);\n"
        "  or one artifact: statistics, schema, anomalies, an evaluation or\n"
        "    blessing (or a `cfx evaluate --output` folder), a ModelRun of\n"
        "    training logs.\n"
        "Exit status: 0 written, 1 error, 2 usage.\n");
}

int cfx_cmd_report(int argc, char **argv) {
    const char *output = NULL, *run = NULL, *config = NULL;
    const cfx_opt_t options[] = {
        {"output", CFX_OPT_STRING, &output, 0, 0, 0},
        {"run", CFX_OPT_STRING, &run, 0, 0, 0},
        {"config", CFX_OPT_STRING, &config, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    cfx_args_t args;
    int ex = cfx_args_parse("report", argc, argv, options, usage, &args);
    if (ex >= 0)
        return ex;
    size_t n_pos = args.n_pos;
    const char *path = n_pos ? args.pos[0] : NULL;
    cfx_args_free(&args);
    if (n_pos > 1 || (path && config)) {
        fprintf(stderr, "cfx report: one PATH or --config, not both\n");
        return 2;
    }
    if ((!path && !config) || !output) {
        usage(stderr);
        return 2;
    }
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_pipeline_config_t cfg = {0};
    if (config &&
        cfx_pipeline_root_resolve(&cfg, NULL, config, &path, &err) < 0) {
        fprintf(stderr, "cfx report: %s\n", err.msg);
        return 1;
    }
    cfx_report_opts_t o = {path, output, run};
    const char *kind = NULL;
    int rc = cfx_report_write(&o, &kind, &err);
    if (rc < 0)
        fprintf(stderr, "cfx report: %s\n", err.msg);
    else
        printf("report of %s %s: %s\n", kind, path, output);
    cfx_pipeline_config_free(&cfg);
    return rc < 0 ? 1 : 0;
}

/* cmd_ls.c: `cfx ls` — the executions and artifacts of a pipeline root. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "mlmd/lineage.h"
#include "mlmd/metadata.h"
#include "pipeline/pipeline_config.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx ls [--pipeline-root ROOT | --config PIPELINE_CONFIG]\n"
        "              [--metadata LOCATION]\n\n"
        "Lists what ran (executions: id, component, state, start, duration;\n"
        "why a FAILED one failed; whether a RUNNING one's process still runs)\n"
        "and what it made (artifacts: id, type, uri, state, key properties)\n"
        "from ROOT/metadata.sqlite. ROOT: the pipeline_root of "
        "PIPELINE_CONFIG,\n"
        "else $CFX_PIPELINE_ROOT. --metadata LOCATION: the store is there\n"
        "(a postgresql:// URL or a SQLite file; docs/metadata.md), as with\n"
        "the config's \"metadata\" or $CFX_METADATA.\n");
}

int cfx_cmd_ls(int argc, char **argv) {
    static const struct option longopts[] = {
        {"pipeline-root", required_argument, NULL, 'r'},
        {"config", required_argument, NULL, 'c'},
        {"metadata", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *root = getenv("CFX_PIPELINE_ROOT"), *config = NULL;
    const char *metadata = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'r')
            root = optarg;
        else if (c == 'c')
            config = optarg;
        else if (c == 'm')
            metadata = optarg;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if ((!root && !config) || optind != argc) {
        usage(stderr);
        return 2;
    }
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_pipeline_config_t cfg = {0};
    if (metadata && cfx_metadata_set_location(metadata, &err)) {
        fprintf(stderr, "cfx ls: %s\n", err.msg);
        return 1;
    }
    if (cfx_pipeline_root_resolve(&cfg, root, config, &root, &err) < 0) {
        fprintf(stderr, "cfx ls: %s\n", err.msg);
        return 1;
    }
    int rc = cfx_lineage_print_ls(stdout, root, &err);
    cfx_pipeline_config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "cfx ls: %s\n", err.msg);
        return 1;
    }
    return 0;
}

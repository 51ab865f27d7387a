/* cmd_lineage.c: `cfx lineage` — where a pushed model version came from. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "mlmd/lineage.h"
#include "pipeline/pipeline_config.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx lineage [--pipeline-root ROOT | --config PIPELINE_CONFIG]\n"
        "                   VERSION_DIR|URI|#ID\n\n"
        "Walks the metadata of ROOT (or PIPELINE_CONFIG's pipeline_root, or\n"
        "$CFX_PIPELINE_ROOT) backwards\n"
        "from a pushed version directory (or any artifact uri or #id):\n"
        "the executions that made it and their inputs, down to the data.\n");
}

int cfx_cmd_lineage(int argc, char **argv) {
    static const struct option longopts[] = {
        {"pipeline-root", required_argument, NULL, 'r'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *root = getenv("CFX_PIPELINE_ROOT"), *config = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'r')
            root = optarg;
        else if (c == 'c')
            config = optarg;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if ((!root && !config) || optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_pipeline_config_t cfg = {0};
    if (cfx_pipeline_root_resolve(&cfg, root, config, &root, &err) < 0) {
        fprintf(stderr, "cfx lineage: %s\n", err.msg);
        return 1;
    }
    int rc = cfx_lineage_print(stdout, root, argv[optind], &err);
    cfx_pipeline_config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "cfx lineage: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* cmd_lineage.c: `cfx lineage` — where a pushed model version came from. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "pipeline/lineage.h"

static void usage(FILE *f) {
    fprintf(f, "usage: cfx lineage [--pipeline-root ROOT] VERSION_DIR|URI|#ID\n\n"
               "Walks the metadata of ROOT (default $CFX_PIPELINE_ROOT) backwards\n"
               "from a pushed version directory (or any artifact uri or #id):\n"
               "the executions that made it and their inputs, down to the data.\n");
}

int cfx_cmd_lineage(int argc, char **argv) {
    static const struct option longopts[] = {
        {"pipeline-root", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *root = getenv("CFX_PIPELINE_ROOT");
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'r') root = optarg;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!root || optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_lineage_print(stdout, root, argv[optind], &err) < 0) {
        fprintf(stderr, "cfx lineage: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* cmd_lineage.c: `cfx lineage` — where a pushed model version came from. */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
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
    const char *root = getenv("CFX_PIPELINE_ROOT"), *config = NULL;
    const cfx_opt_t options[] = {
        {"pipeline-root", CFX_OPT_STRING, &root, 0, 0, 0},
        {"config", CFX_OPT_STRING, &config, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    cfx_args_t args;
    int ex = cfx_args_parse("lineage", argc, argv, options, usage, &args);
    if (ex >= 0)
        return ex;
    const char *what = args.n_pos == 1 ? args.pos[0] : NULL;
    cfx_args_free(&args);
    if ((!root && !config) || !what) {
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
    int rc = cfx_lineage_print(stdout, root, what, &err);
    cfx_pipeline_config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "cfx lineage: %s\n", err.msg);
        return 1;
    }
    return 0;
}

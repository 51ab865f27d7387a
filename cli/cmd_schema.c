/*
 * cmd_schema.c: `cfx schema` — SchemaGen: infers schema.pbtxt from the
 * statistics of every split (train first, then update with the others).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "component_cmd.h"
#include "data/components.h"
#include "data/schema_infer.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx schema --statistics DIR (--output DIR | --pipeline-root "
        "ROOT)\n"
        "                  [--infer-feature-shape | --no-infer-feature-shape]\n"
        "\n"
        "Infers a tensorflow_metadata Schema from the statistics in\n"
        "DIR/Split-<name>/FeatureStats.pb (\"train\" first, then updated with "
        "the\n"
        "other splits) and writes OUTPUT/schema.pbtxt. Feature shapes are\n"
        "inferred by default (as the TFX taxi pipeline does).\n"
        "--pipeline-root records the run in ROOT/metadata.sqlite (output in\n"
        "ROOT/SchemaGen/schema/<id>/ unless --output is given).\n"
        "Exit status: 0 written, 1 error, 2 usage.\n");
}

int cfx_cmd_schema(int argc, char **argv) {
    const char *stats = NULL, *output = NULL, *root = NULL;
    cfx_schema_options_t opt = {.infer_feature_shape = 1};
    const cfx_opt_t opts[] = {
        {"infer-feature-shape", CFX_OPT_FLAG, &opt.infer_feature_shape, 0, 0,
         1},
        {"no-infer-feature-shape", CFX_OPT_FLAG, &opt.infer_feature_shape, 0, 0,
         0},
        {"statistics", CFX_OPT_STRING, &stats, 0, 0, 0},
        {"output", CFX_OPT_STRING, &output, 0, 0, 0},
        {"pipeline-root", CFX_OPT_STRING, &root, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    int ex = cfx_args_parse_options("schema", argc, argv, opts, usage);
    if (ex >= 0)
        return ex;
    if (!stats || (!output && !root))
        return cfx_args_usage_error(
            "schema", usage,
            "--statistics and --output (or --pipeline-root) are required");
    cfx_error_t err;
    cfx_error_init(&err);
    /* the settings of cfx_schemagen_component (data/components.h) */
    json_t *props = json_pack("{s:i}", "infer_feature_shape",
                              opt.infer_feature_shape ? 1 : 0);
    if (!props) {
        fprintf(stderr, "cfx schema: out of memory\n");
        return 1;
    }
    cfx_component_input_t in[] = {{"statistics", 0, stats, stats}};
    cfx_component_output_path_t out[] = {{"schema", output}};
    size_t n = 0;
    cfx_component_cli_t cli = {.root = root,
                               .props = props,
                               .inputs = in,
                               .n_inputs = 1,
                               .outputs = out,
                               .n_outputs = 1,
                               .result = &n};
    cfx_component_run_t run;
    if (cfx_cmd_run_spec("schema", &cfx_schemagen_component, &cli, &run, NULL))
        return 1;
    if (!output)
        output = cfx_component_output_uri(&run, "schema");
    printf("schema: %zu features -> %s/schema.pbtxt\n", n, output);
    /* output may point into run: free it last. */
    cfx_component_run_free(&run);
    return 0;
}

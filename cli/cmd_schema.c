/*
 * cmd_schema.c: `cfx schema` — SchemaGen: infers schema.pbtxt from the
 * statistics of every split (train first, then update with the others).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

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

/* "--name VALUE" or "--name=VALUE"; returns the value or NULL. */
static const char *flag_value(int argc, char **argv, int *i, const char *name) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int cfx_cmd_schema(int argc, char **argv) {
    const char *stats = NULL, *output = NULL, *root = NULL;
    cfx_schema_options_t opt = {.infer_feature_shape = 1};
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--infer-feature-shape")) {
            opt.infer_feature_shape = 1;
        } else if (!strcmp(argv[i], "--no-infer-feature-shape")) {
            opt.infer_feature_shape = 0;
        } else if ((v = flag_value(argc, argv, &i, "--statistics"))) {
            stats = v;
        } else if ((v = flag_value(argc, argv, &i, "--output"))) {
            output = v;
        } else if ((v = flag_value(argc, argv, &i, "--pipeline-root"))) {
            root = v;
        } else {
            fprintf(stderr, "cfx schema: unknown or incomplete argument '%s'\n",
                    argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!stats || (!output && !root)) {
        fprintf(
            stderr,
            "cfx schema: --statistics and --output (or --pipeline-root) are "
            "required\n");
        usage(stderr);
        return 2;
    }
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
    char summary[512];
    int rc = cfx_component_run_cli(&run, &cfx_schemagen_component, &cli,
                                   summary, sizeof summary, &err);
    json_decref(props);
    if (rc < 0) {
        fprintf(stderr, "cfx schema: %s\n", err.msg);
        cfx_component_run_free(&run);
        return 1;
    }
    if (!output)
        output = cfx_component_output_uri(&run, "schema");
    printf("schema: %zu features -> %s/schema.pbtxt\n", n, output);
    /* output may point into run: free it last. */
    cfx_component_run_free(&run);
    return 0;
}

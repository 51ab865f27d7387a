/*
 * cmd_validate.c: `cfx validate` — ExampleValidator: checks each split's
 * statistics against a schema (and, when given, previous / serving
 * statistics for drift / skew) and writes Split-<s>/SchemaDiff.pb.
 */
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "component_cmd.h"
#include "data/components.h"
#include "data/validate.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx validate --statistics DIR --schema FILE\n"
        "                    (--output DIR | --pipeline-root ROOT)\n"
        "                    [--previous-statistics DIR] [--serving-statistics "
        "DIR]\n"
        "                    [--validation-config FILE] [--environment ENV]\n"
        "\n"
        "Validates DIR/Split-<name>/FeatureStats.pb against the schema and "
        "writes\n"
        "a tensorflow_metadata Anomalies per split to "
        "OUTPUT/Split-<name>/SchemaDiff.pb.\n"
        "Drift (--previous-statistics) and skew (--serving-statistics) are "
        "checked\n"
        "for features whose schema sets drift_comparator / skew_comparator.\n"
        "--validation-config reads a TFDV ValidationConfig in text format\n"
        "(severity_overrides, new_features_are_warnings).\n"
        "--environment (e.g. SERVING) checks only the features the schema "
        "puts\n"
        "in that environment (default_environment, in/not_in_environment).\n"
        "--pipeline-root records the run in ROOT/metadata.sqlite with the\n"
        "`blessed` property ({\"split\": 1 clean / 0 anomalous}).\n"
        "Exit status: 0 no anomalies, %d anomalies found, 1 error, 2 usage.\n",
        CFX_VALIDATE_EXIT_ANOMALIES);
}

int cfx_cmd_validate(int argc, char **argv) {
    cfx_validate_run_options_t ro;
    memset(&ro, 0, sizeof ro);
    const char *root = NULL;
    const cfx_opt_t opts[] = {
        {"statistics", CFX_OPT_STRING, &ro.statistics_dir, 0, 0, 0},
        {"schema", CFX_OPT_STRING, &ro.schema_path, 0, 0, 0},
        {"output", CFX_OPT_STRING, &ro.output_dir, 0, 0, 0},
        {"previous-statistics", CFX_OPT_STRING, &ro.previous_statistics_dir, 0,
         0, 0},
        {"serving-statistics", CFX_OPT_STRING, &ro.serving_statistics_dir, 0, 0,
         0},
        {"validation-config", CFX_OPT_STRING, &ro.validation_config_path, 0, 0,
         0},
        {"environment", CFX_OPT_STRING, &ro.environment, 0, 0, 0},
        {"pipeline-root", CFX_OPT_STRING, &root, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    int ex = cfx_args_parse_options("validate", argc, argv, opts, usage);
    if (ex >= 0)
        return ex;
    if (!ro.statistics_dir || !ro.schema_path || (!ro.output_dir && !root))
        return cfx_args_usage_error("validate", usage,
                                    "--statistics, --schema and --output (or "
                                    "--pipeline-root) are required");
    cfx_error_t err;
    cfx_error_init(&err);
    /* The schema artifact is the directory holding the file. */
    char schema_dir[PATH_MAX], digest[65] = "";
    snprintf(schema_dir, sizeof schema_dir, "%s", ro.schema_path);
    cfx_component_input_t in[4] = {
        {"statistics", 0, ro.statistics_dir, ro.statistics_dir},
        {"schema", 0, dirname(schema_dir), ro.schema_path}};
    size_t n_in = 2;
    if (ro.previous_statistics_dir)
        in[n_in++] = (cfx_component_input_t){"previous_statistics", 0,
                                             ro.previous_statistics_dir,
                                             ro.previous_statistics_dir};
    if (ro.serving_statistics_dir)
        in[n_in++] = (cfx_component_input_t){"serving_statistics", 0,
                                             ro.serving_statistics_dir,
                                             ro.serving_statistics_dir};
    if (root && ro.validation_config_path &&
        cfx_component_file_digest(ro.validation_config_path, digest, &err) <
            0) {
        fprintf(stderr, "cfx validate: %s\n", err.msg);
        return 1;
    }
    /* the settings of cfx_example_validator_component (data/components.h) */
    json_t *props =
        json_pack("{s:s, s:s}", "validation_config_sha256", digest,
                  "environment", ro.environment ? ro.environment : "");
    if (!props ||
        (ro.validation_config_path &&
         json_object_set_new(props, "validation_config",
                             json_string(ro.validation_config_path)))) {
        fprintf(stderr, "cfx validate: out of memory\n");
        json_decref(props);
        return 1;
    }
    cfx_component_output_path_t out[] = {{"anomalies", ro.output_dir}};
    cfx_validate_summary_t sum;
    cfx_component_cli_t cli = {.root = root,
                               .props = props,
                               .inputs = in,
                               .n_inputs = n_in,
                               .outputs = out,
                               .n_outputs = 1,
                               .result = &sum};
    cfx_component_run_t run;
    if (cfx_cmd_run_spec("validate", &cfx_example_validator_component, &cli,
                         &run, NULL))
        return 1;
    if (!ro.output_dir)
        ro.output_dir = cfx_component_output_uri(&run, "anomalies");
    printf("validate: %zu split%s, %zu with anomalies (%zu anomal%s) -> %s\n",
           sum.n_splits, sum.n_splits == 1 ? "" : "s", sum.n_anomalous_splits,
           sum.n_anomalies, sum.n_anomalies == 1 ? "y" : "ies", ro.output_dir);
    /* output_dir may point into run: free it last. */
    cfx_component_run_free(&run);
    return sum.n_anomalies ? CFX_VALIDATE_EXIT_ANOMALIES : 0;
}

/*
 * cmd_validate.c: `cfx validate` — ExampleValidator: checks each split's
 * statistics against a schema (and, when given, previous / serving
 * statistics for drift / skew) and writes Split-<s>/SchemaDiff.pb.
 */
#include <stdio.h>
#include <string.h>

#include "pipeline/validate.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: cfx validate --statistics DIR --schema FILE --output DIR\n"
            "                    [--previous-statistics DIR] [--serving-statistics DIR]\n"
            "                    [--validation-config FILE]\n"
            "\n"
            "Validates DIR/Split-<name>/FeatureStats.pb against the schema and writes\n"
            "a tensorflow_metadata Anomalies per split to OUTPUT/Split-<name>/SchemaDiff.pb.\n"
            "Drift (--previous-statistics) and skew (--serving-statistics) are checked\n"
            "for features whose schema sets drift_comparator / skew_comparator.\n"
            "--validation-config reads a TFDV ValidationConfig in text format\n"
            "(severity_overrides, new_features_are_warnings).\n"
            "Exit status: 0 no anomalies, %d anomalies found, 1 error, 2 usage.\n",
            CFX_VALIDATE_EXIT_ANOMALIES);
}

static const char *flag_value(int argc, char **argv, int *i, const char *name) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n)) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] == 0 && *i + 1 < argc) return argv[++*i];
    return NULL;
}

int cfx_cmd_validate(int argc, char **argv) {
    cfx_validate_run_options_t ro;
    memset(&ro, 0, sizeof ro);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if ((v = flag_value(argc, argv, &i, "--statistics"))) {
            ro.statistics_dir = v;
        } else if ((v = flag_value(argc, argv, &i, "--schema"))) {
            ro.schema_path = v;
        } else if ((v = flag_value(argc, argv, &i, "--output"))) {
            ro.output_dir = v;
        } else if ((v = flag_value(argc, argv, &i, "--previous-statistics"))) {
            ro.previous_statistics_dir = v;
        } else if ((v = flag_value(argc, argv, &i, "--serving-statistics"))) {
            ro.serving_statistics_dir = v;
        } else if ((v = flag_value(argc, argv, &i, "--validation-config"))) {
            ro.validation_config_path = v;
        } else {
            fprintf(stderr, "cfx validate: unknown or incomplete argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!ro.statistics_dir || !ro.schema_path || !ro.output_dir) {
        fprintf(stderr, "cfx validate: --statistics, --schema and --output are required\n");
        usage(stderr);
        return 2;
    }
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_validate_summary_t sum;
    if (cfx_validate_run(&ro, &sum, &err) < 0) {
        fprintf(stderr, "cfx validate: %s\n", err.msg);
        return 1;
    }
    printf("validate: %zu split%s, %zu with anomalies (%zu anomal%s) -> %s\n", sum.n_splits,
           sum.n_splits == 1 ? "" : "s", sum.n_anomalous_splits, sum.n_anomalies,
           sum.n_anomalies == 1 ? "y" : "ies", ro.output_dir);
    return sum.n_anomalies ? CFX_VALIDATE_EXIT_ANOMALIES : 0;
}

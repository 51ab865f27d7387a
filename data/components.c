/*
 * components.c: ExampleGen, StatisticsGen, SchemaGen and ExampleValidator
 * as specs (see components.h): each exec turns its exec properties and
 * inputs into the library's options, writes its outputs where the run
 * says, and records TFX's artifact properties (docs/metadata.md).
 */
#define _XOPEN_SOURCE 700
#include "data/components.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/examplegen.h"
#include "data/schema_infer.h"
#include "data/statistics.h"
#include "data/validate.h"
#include "formats/buf.h"

/* Where a setting came from, for messages. */
static const char *origin(const cfx_component_ctx_t *ctx) {
    return ctx->origin ? ctx->origin : ctx->run->component;
}

/* A boolean setting: true, or an integer other than 0. */
static int prop_flag(const cfx_component_ctx_t *ctx, const char *name) {
    json_t *v = json_object_get(ctx->props, name);
    return json_is_true(v) ||
           (json_is_integer(v) && json_integer_value(v) != 0);
}

/* An integer setting in 0..max (0: the library's default). */
static int prop_count(const cfx_component_ctx_t *ctx, const char *name,
                      long long max, long long *out, cfx_error_t *err) {
    *out = cfx_component_prop_int(ctx, name, 0);
    if (*out < 0 || *out > max)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: %s.%s %lld: expected 1..%lld", origin(ctx),
                             ctx->run->component, name, *out, max);
    return 0;
}

int cfx_schema_input_file(const cfx_component_run_t *run, const char *key,
                          char *out, size_t cap, cfx_error_t *err) {
    const char *uri = cfx_component_input_uri(run, key);
    struct stat sb;
    int n;
    if (!uri)
        return cfx_error_set(err, CFX_EINVAL, "%s: no '%s' input",
                             run->component, key);
    if (stat(uri, &sb) == 0 && S_ISDIR(sb.st_mode))
        n = snprintf(out, cap, "%s/schema.pbtxt", uri);
    else
        n = snprintf(out, cap, "%s", uri);
    if (n < 0 || (size_t)n >= cap)
        return cfx_error_set(err, CFX_ETOOBIG, "%.64s...: path too long", uri);
    return 0;
}

/* --- ExampleGen ------------------------------------------------------------
 */

/* The input's fingerprint keys the cache: editing the CSV reruns ExampleGen
 * as it does in TFX. */
static int examplegen_prepare(json_t *props,
                              const cfx_component_input_t *inputs,
                              size_t n_inputs, cfx_error_t *err) {
    const char *input = NULL;
    char fp[512];
    for (size_t i = 0; i < n_inputs; i++)
        if (!strcmp(inputs[i].key, "input"))
            input = inputs[i].uri;
    if (!input)
        return cfx_error_set(err, CFX_EINVAL, "ExampleGen: no 'input' input");
    int ret = cfx_component_input_fingerprint(input, "single_split", fp,
                                              sizeof fp, err);
    if (ret)
        return ret;
    if (json_object_set_new(props, "input_base", json_string(input)) ||
        json_object_set_new(props, "input_fingerprint", json_string(fp)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

static int examplegen_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                           cfx_error_t *err) {
    cfx_component_run_t *run = ctx->run;
    cfx_split_spec_t splits[CFX_EXAMPLEGEN_MAX_SPLITS];
    cfx_examplegen_options_t o = {0};
    cfx_examplegen_result_t local, *res = ctx->result ? ctx->result : &local;
    char names[512] = "[", counts[512] = "", fp[512];
    long long shards;
    int ret;
    memset(res, 0, sizeof *res);
    const char *input = cfx_component_input_uri(run, "input");
    if (!input)
        return cfx_error_set(err, CFX_EINVAL, "ExampleGen: no 'input' input");
    const char *spec = cfx_component_prop_string(ctx, "splits");
    if (spec) {
        if ((ret =
                 cfx_examplegen_parse_splits(spec, splits, &o.num_splits, err)))
            return ret;
        o.splits = splits;
    }
    if ((ret = prop_count(ctx, "num_shards", CFX_EXAMPLEGEN_MAX_SHARDS, &shards,
                          err)))
        return ret;
    o.num_shards = (unsigned)shards;
    o.skip_bad_rows = prop_flag(ctx, "skip_bad_rows");
    o.quiet = ctx->progress == NULL;
    const char *dir = cfx_component_exec_output_dir(ctx, "examples", err);
    if (!dir)
        return err->code;
    if ((ret = cfx_examplegen_run(input, dir, &o, res, err)))
        goto out;
    for (size_t i = 0; i < res->num_splits; i++) {
        size_t n = strlen(names), c = strlen(counts);
        snprintf(names + n, sizeof names - n, "%s\"%s\"", i ? "," : "",
                 res->splits[i].name);
        snprintf(counts + c, sizeof counts - c, "%s%s %llu", i ? ", " : "",
                 res->splits[i].name, (unsigned long long)res->split_rows[i]);
    }
    strncat(names, "]", sizeof names - strlen(names) - 1);
    if ((ret = cfx_component_input_fingerprint(input, "single_split", fp,
                                               sizeof fp, err)) ||
        (ret = cfx_component_set_string(run, "examples", "split_names", 0,
                                        names, err)) ||
        (ret = cfx_component_set_int(run, "examples", "span", 0, 0, err)) ||
        (ret = cfx_component_set_string(run, "examples", "input_fingerprint", 1,
                                        fp, err)) ||
        (ret = cfx_component_set_string(run, "examples", "payload_format", 1,
                                        "FORMAT_TF_EXAMPLE", err)) ||
        (ret = cfx_component_set_string(run, "examples", "file_format", 1,
                                        "tfrecords_gzip", err)))
        goto out;
    snprintf(summary, cap, "%llu examples, %zu columns (%s)%s",
             (unsigned long long)res->rows, res->num_columns, counts,
             res->bad_rows ? ", some rows skipped" : "");
out:
    if (res == &local)
        cfx_examplegen_result_free(&local);
    return ret;
}

const cfx_component_spec_t cfx_examplegen_component = {
    .name = "ExampleGen",
    .inputs = {{"input", "ExternalArtifact", 0}},
    .outputs = {{"examples", "Examples", 0}},
    .prepare = examplegen_prepare,
    .exec = examplegen_exec,
};

/* --- StatisticsGen ----------------------------------------------------------
 */

static int statistics_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                           cfx_error_t *err) {
    cfx_stats_options_t o = {0};
    long long threads, budget, distinct;
    size_t n = 0;
    int ret;
    if ((ret = prop_count(ctx, "threads", 16, &threads, err)) ||
        (ret = prop_count(ctx, "quantiles_budget", 1LL << 26, &budget, err)) ||
        (ret = prop_count(ctx, "max_distinct_strings", 1LL << 30, &distinct,
                          err)))
        return ret;
    o.threads = (unsigned)threads;
    o.quantiles_budget = (size_t)budget;
    o.max_distinct_strings = (size_t)distinct;
    const char *dir = cfx_component_exec_output_dir(ctx, "statistics", err);
    if (!dir)
        return err->code;
    ret = cfx_statistics_run(cfx_component_input_uri(ctx->run, "examples"), dir,
                             &o, &n, err);
    if (ctx->result)
        *(size_t *)ctx->result = n;
    if (!ret)
        ret = cfx_component_set_split_properties(ctx->run, "statistics",
                                                 "examples", err);
    if (ret)
        return ret;
    snprintf(summary, cap, "statistics of %zu splits", n);
    return 0;
}

const cfx_component_spec_t cfx_statisticsgen_component = {
    .name = "StatisticsGen",
    .inputs = {{"examples", "Examples", 0}},
    .outputs = {{"statistics", "ExampleStatistics", 0}},
    .exec = statistics_exec,
};

/* --- SchemaGen --------------------------------------------------------------
 */

static int copy_file(const char *src, const char *dst, cfx_error_t *err) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    int ret = cfx_schema_read_file(src, &b, err);
    if (!ret)
        ret = cfx_schema_write_file(dst, b.data, b.len, err);
    cfx_buf_free(&b);
    return ret;
}

static int schema_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                       cfx_error_t *err) {
    char dst[PATH_MAX];
    size_t n = 0;
    const char *dir = cfx_component_exec_output_dir(ctx, "schema", err);
    if (!dir)
        return err->code;
    const char *user = cfx_component_prop_path(ctx, "schema");
    if (user) {
        /* A curated schema (TFX's ImportSchemaGen): used as given. */
        snprintf(dst, sizeof dst, "%s/schema.pbtxt", dir);
        int ret = copy_file(user, dst, err);
        if (ret)
            return ret;
        snprintf(summary, cap, "imported %s", user);
        return 0;
    }
    cfx_schema_options_t o = {
        .infer_feature_shape =
            (int)cfx_component_prop_int(ctx, "infer_feature_shape", 1)};
    int ret = cfx_schema_gen(cfx_component_input_uri(ctx->run, "statistics"),
                             dir, &o, &n, err);
    if (ctx->result)
        *(size_t *)ctx->result = n;
    if (ret)
        return ret;
    snprintf(summary, cap, "inferred a schema of %zu features", n);
    return 0;
}

const cfx_component_spec_t cfx_schemagen_component = {
    .name = "SchemaGen",
    .inputs = {{"statistics", "ExampleStatistics", 0}},
    .outputs = {{"schema", "Schema", 0}},
    .paths = {"schema"},
    .exec = schema_exec,
};

/* --- ExampleValidator --------------------------------------------------------
 */

/* Anomalies of severity ERROR over every Split-* of an ExampleAnomalies
 * directory (the gate stops on these; WARNINGs pass). */
static int count_errors(const char *dir, size_t *errors, cfx_error_t *err) {
    DIR *d = opendir(dir);
    struct dirent *de;
    int ret = 0;
    *errors = 0;
    if (!d)
        return cfx_error_set(err, CFX_EIO, "%s: %s", dir, strerror(errno));
    while (!ret && (de = readdir(d))) {
        char p[PATH_MAX];
        cfx_anomalies_t *a = NULL;
        if (strncmp(de->d_name, "Split-", 6))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if ((ret = cfx_anomalies_read(p, &a, err)))
            break;
        for (size_t i = 0; i < a->n_anomaly_info; i++) {
            const Tensorflow__Metadata__V0__AnomalyInfo *info =
                a->anomaly_info[i]->value;
            if (info &&
                info->severity ==
                    TENSORFLOW__METADATA__V0__ANOMALY_INFO__SEVERITY__ERROR)
                (*errors)++;
        }
        if (a->dataset_anomaly_info &&
            a->dataset_anomaly_info->severity ==
                TENSORFLOW__METADATA__V0__ANOMALY_INFO__SEVERITY__ERROR)
            (*errors)++;
        cfx_anomalies_free(a);
    }
    closedir(d);
    return ret;
}

static int validate_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                         cfx_error_t *err) {
    cfx_component_run_t *run = ctx->run;
    char schema[PATH_MAX];
    cfx_validate_summary_t local, *sum = ctx->result ? ctx->result : &local;
    size_t errors = 0;
    int ret;
    memset(sum, 0, sizeof *sum);
    const char *dir = cfx_component_exec_output_dir(ctx, "anomalies", err);
    if (!dir)
        return err->code;
    if ((ret =
             cfx_schema_input_file(run, "schema", schema, sizeof schema, err)))
        return ret;
    const char *env = cfx_component_prop_string(ctx, "environment");
    cfx_validate_run_options_t o = {
        .statistics_dir = cfx_component_input_uri(run, "statistics"),
        .schema_path = schema,
        .output_dir = dir,
        .previous_statistics_dir =
            cfx_component_input_uri(run, "previous_statistics"),
        .serving_statistics_dir =
            cfx_component_input_uri(run, "serving_statistics"),
        .validation_config_path =
            cfx_component_prop_path(ctx, "validation_config"),
        .environment = env && env[0] ? env : NULL,
    };
    if ((ret = cfx_validate_run(&o, sum, err)))
        return ret;
    if ((ret = count_errors(dir, &errors, err)) ||
        (ret = cfx_component_set_split_properties(run, "anomalies",
                                                  "statistics", err)) ||
        (ret = cfx_component_set_int(run, "anomalies", "anomalies_found", 1,
                                     (int64_t)sum->n_anomalies, err)) ||
        (ret = cfx_component_set_int(run, "anomalies", "anomaly_errors", 1,
                                     (int64_t)errors, err)) ||
        (ret = cfx_component_set_string(run, "anomalies", "blessed", 1,
                                        sum->blessed_json, err)))
        return ret;
    if (sum->n_anomalies)
        snprintf(summary, cap, "%zu anomalies (%zu ERROR) in %zu of %zu splits",
                 sum->n_anomalies, errors, sum->n_anomalous_splits,
                 sum->n_splits);
    else
        snprintf(summary, cap, "no anomalies in %zu splits", sum->n_splits);
    return 0;
}

static int validate_gate(cfx_component_ctx_t *ctx, char *reason, size_t cap,
                         cfx_error_t *err) {
    (void)err;
    long long n =
        cfx_component_output_int(ctx->run, "anomalies", "anomaly_errors", 0);
    if (n > 0 &&
        !json_is_false(json_object_get(ctx->props, "stop_on_anomalies"))) {
        snprintf(reason, cap,
                 "%lld data anomalies of severity ERROR (see `cfx show %s`)", n,
                 cfx_component_output_uri(ctx->run, "anomalies"));
        return CFX_EANOMALIES;
    }
    return 0;
}

const cfx_component_spec_t cfx_example_validator_component = {
    .name = "ExampleValidator",
    .inputs = {{"statistics", "ExampleStatistics", 0},
               {"schema", "Schema", 0},
               {"previous_statistics", "ExampleStatistics", 1},
               {"serving_statistics", "ExampleStatistics", 1}},
    .outputs = {{"anomalies", "ExampleAnomalies", 0}},
    .paths = {"validation_config"},
    .exec = validate_exec,
    .gate = validate_gate,
};

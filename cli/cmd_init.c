/*
 * cmd_init.c: `cfx init` — a new CSV to a pipeline that runs: reads the data
 * (ExampleGen, StatisticsGen and SchemaGen into a temporary folder), makes
 * the choices of data/init_plan.h (task, transform per feature, model,
 * training length), and writes pipeline.json, transform.json, trainer.json
 * and eval.json, each choice with a "comment" saying why
 * (docs/your-own-data.md).
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "data/examplegen.h"
#include "data/init_plan.h"
#include "data/schema_infer.h"
#include "data/statistics.h"
#include "data/stats_io.h"
#include "formats/file.h"
#include "formats/suggest.h"

/* The split ExampleGen makes in the generated pipeline; the choices look at
 * its train rows only, as the Transform's analyzers do. */
#define INIT_SPLITS "train:2,eval:1"
#define INIT_BATCH 32
/* Slices by a categorical raw feature with at most this many values. */
#define INIT_MAX_SLICE_VALUES 10
#define INIT_MAX_SLICES 3

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx init --csv FILE --label COLUMN --output DIR\n"
        "                [--task auto|binary|multiclass|regression] "
        "[--name NAME]\n"
        "                [--force]\n"
        "\n"
        "Reads FILE (ExampleGen, StatisticsGen, SchemaGen on a temporary "
        "copy),\n"
        "chooses the task from the label column (--task auto, the default):\n"
        "a string label, or an integer one with at most 20 distinct values, "
        "is\n"
        "classes (binary with 2, else multiclass); a float label, or an "
        "integer\n"
        "one with more values, is regression. Chooses a transform for every\n"
        "other column from its train statistics (z_score; log_z_score for\n"
        "skewed non-negative numbers; vocabulary for strings and integers "
        "with\n"
        "at most 10 values; quantile buckets besides a z-score when there are\n"
        "at least 100 train rows per bucket; identifiers and constants left\n"
        "out) and writes DIR/pipeline.json, transform.json, trainer.json and\n"
        "eval.json, each choice with a \"comment\" saying why. The reasons "
        "are\n"
        "printed, then the command that runs the pipeline:\n"
        "  cfx run DIR/pipeline.json\n"
        "\n"
        "--name     model and pipeline name (default: DIR's last component)\n"
        "--force    overwrite configuration files already in DIR\n"
        "Exit status: 0 written, 1 error, 2 usage.\n");
}

/* A model name: letters, digits, '_', '-', '.' (not first). */
static void plain_name(const char *in, char *out, size_t cap) {
    size_t j = 0;
    for (const char *p = in; *p && j + 1 < cap; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                 (c == '.' && j > 0);
        out[j++] = ok ? c : '_';
    }
    out[j] = 0;
    if (j == 0)
        snprintf(out, cap, "model");
}

/* The path of `to` relative to the directory `from` (both absolute, no
 * "." or ".." components: realpath's). */
static void relative_path(const char *from, const char *to, char *out,
                          size_t cap) {
    size_t common = 0, i = 0;
    for (; from[i] && from[i] == to[i]; i++)
        if (from[i] == '/')
            common = i;
    if (!from[i] && (to[i] == '/' || !to[i]))
        common = i;
    size_t len = 0;
    out[0] = 0;
    for (const char *p = from + common; *p; p++)
        if (*p == '/' && len + 4 < cap) {
            memcpy(out + len, "../", 3);
            len += 3;
            out[len] = 0;
        }
    if (common == 0) { /* nothing shared but the root: stay absolute */
        snprintf(out, cap, "%s", to);
        return;
    }
    const char *rest = to + common;
    if (*rest == '/')
        rest++;
    snprintf(out + len, cap - len, "%s", rest);
}

/* out = a + b, or CFX_ETOOBIG naming a. */
static int join(char *out, size_t cap, const char *a, const char *b,
                cfx_error_t *err) {
    int n = snprintf(out, cap, "%s%s", a, b);
    if (n < 0 || (size_t)n >= cap)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: path too long", a);
    return 0;
}

static int write_json(const char *dir, const char *name, json_t *doc,
                      cfx_error_t *err) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                     JSON_REAL_PRECISION(12));
    if (!text)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    size_t n = strlen(text);
    char *t2 = realloc(text, n + 2);
    if (!t2) {
        free(text);
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    t2[n] = '\n';
    t2[n + 1] = 0;
    int rc = cfx_file_write_atomic(path, t2, n + 1, err);
    free(t2);
    return rc;
}

typedef struct {
    cfx_init_column_t col;
    cfx_init_xf_t xf;
    char out_name[300], bucket_name[320];
} feature_t;

static int name_taken(const feature_t *f, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(f[i].out_name, name) || !strcmp(f[i].bucket_name, name))
            return 1;
    return 0;
}

static json_t *transform_doc(const feature_t *feats, size_t n,
                             const char *label, const char *label_out,
                             cfx_init_task_t task, const char *task_reason) {
    json_t *outs = json_array();
    for (size_t i = 0; i < n; i++) {
        const feature_t *f = &feats[i];
        if (f->xf.op == CFX_INIT_OP_SKIP)
            continue;
        json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "comment", f->xf.reason,
                              "name", f->out_name, "op",
                              cfx_init_op_name(f->xf.op), "input", f->col.name);
        if (f->xf.op == CFX_INIT_OP_VOCABULARY) {
            json_object_set_new(o, "top_k", json_integer(f->xf.top_k));
            json_object_set_new(o, "num_oov_buckets",
                                json_integer(f->xf.num_oov_buckets));
        }
        json_array_append_new(outs, o);
        if (f->xf.num_buckets)
            json_array_append_new(
                outs,
                json_pack("{s:s,s:s,s:s,s:s,s:i}", "comment",
                          "quantile buckets beside the z-score (see the "
                          "output above)",
                          "name", f->bucket_name, "op", "bucketize", "input",
                          f->col.name, "num_buckets", (int)f->xf.num_buckets));
    }
    json_t *lab =
        json_pack("{s:s,s:s,s:s,s:s}", "comment", task_reason, "name",
                  label_out, "input", label, "task", cfx_init_task_name(task));
    return json_pack("{s:s,s:o,s:o}", "comment",
                     "Written by cfx init from the train split's statistics; "
                     "each output says why it was chosen. Edit freely: "
                     "docs/transform.md lists the ops.",
                     "outputs", outs, "label", lab);
}

static json_t *trainer_doc(const char *name, cfx_init_task_t task,
                           cfx_init_model_t model, const char *model_reason,
                           uint64_t train_rows) {
    size_t steps = cfx_init_train_steps(train_rows, INIT_BATCH);
    char why[1024];
    snprintf(why, sizeof why,
             "%s. Batch %d, %zu steps: 50 passes over the %llu train rows "
             "(at least 1000 steps, at most 20000).%s",
             model_reason, INIT_BATCH, steps, (unsigned long long)train_rows,
             task == CFX_INIT_TASK_REGRESSION
                 ? " Squared error on the standardised label."
                 : "");
    json_t *t = json_pack("{s:s,s:s}", "comment", why, "model_name", name);
    if (model == CFX_INIT_MODEL_GBT) {
        json_object_set_new(t, "model", json_string("gbt"));
    } else {
        json_object_set_new(t, "hidden_units", json_pack("[i,i]", 64, 32));
        json_object_set_new(t, "deep_categorical", json_true());
        json_object_set_new(t, "learning_rate", json_real(0.003));
    }
    json_object_set_new(t, "batch_size", json_integer(INIT_BATCH));
    json_object_set_new(t, "train_steps", json_integer((json_int_t)steps));
    json_object_set_new(t, "eval_steps", json_integer(100));
    json_object_set_new(t, "log_every_steps", json_integer(100));
    json_object_set_new(t, "eval_every_steps",
                        json_integer((json_int_t)(steps / 10)));
    json_object_set_new(t, "seed", json_integer(42));
    return t;
}

/* A metric with a change threshold against the baseline (the last blessed
 * model): the first model has no baseline and is blessed, a later one must
 * not be worse by more than `tol` (key "absolute" or "relative"). */
static json_t *gated(const char *class_name, const char *direction,
                     const char *key, double tol) {
    json_t *chg =
        json_pack("{s:s,s:f}", "direction", direction, key,
                  !strcmp(direction, "HIGHER_IS_BETTER") ? -tol : tol);
    return json_pack("{s:s,s:[{s:[{}],s:{s:o}}]}", "class_name", class_name,
                     "per_slice_thresholds", "slicing_specs", "threshold",
                     "change_threshold", chg);
}

static json_t *eval_doc(const feature_t *feats, size_t n, const char *label_out,
                        cfx_init_task_t task) {
    json_t *metrics = json_array();
    const char *why;
    json_array_append_new(metrics,
                          json_pack("{s:s}", "class_name", "ExampleCount"));
    if (task == CFX_INIT_TASK_REGRESSION) {
        why = "Blessing: a change threshold only, so the first model (no "
              "baseline yet) is blessed and a later one is blessed when its "
              "mean squared error is at most 1% above the last blessed "
              "model's. No value bound: what a good error is depends on the "
              "units of the label; add one once you know.";
        json_array_append_new(
            metrics,
            gated("MeanSquaredError", "LOWER_IS_BETTER", "relative", 0.01));
        const char *more[] = {"MeanAbsoluteError", "RootMeanSquaredError",
                              "MeanPrediction", "MeanLabel"};
        for (size_t i = 0; i < 4; i++)
            json_array_append_new(metrics,
                                  json_pack("{s:s}", "class_name", more[i]));
    } else if (task == CFX_INIT_TASK_MULTICLASS) {
        why = "Blessing: a change threshold only, so the first model (no "
              "baseline yet) is blessed and a later one is blessed when its "
              "accuracy is at most 0.01 below the last blessed model's. No "
              "value bound: add one once you know what good is on this data.";
        json_array_append_new(metrics,
                              gated("SparseCategoricalAccuracy",
                                    "HIGHER_IS_BETTER", "absolute", 0.01));
        const char *more[] = {"SparseCategoricalCrossentropy",
                              "MultiClassConfusionMatrixPlot"};
        for (size_t i = 0; i < 2; i++)
            json_array_append_new(metrics,
                                  json_pack("{s:s}", "class_name", more[i]));
    } else {
        why = "Blessing: a change threshold only, so the first model (no "
              "baseline yet) is blessed and a later one is blessed when its "
              "AUC is at most 0.01 below the last blessed model's. No value "
              "bound: add one once you know what good is on this data.";
        json_array_append_new(
            metrics, json_pack("{s:s}", "class_name", "BinaryAccuracy"));
        json_array_append_new(
            metrics, gated("AUC", "HIGHER_IS_BETTER", "absolute", 0.01));
        const char *more[] = {
            "AUCPrecisionRecall", "Precision", "Recall",
            "BinaryCrossentropy", "MeanLabel", "MeanPrediction"};
        for (size_t i = 0; i < 6; i++)
            json_array_append_new(metrics,
                                  json_pack("{s:s}", "class_name", more[i]));
    }
    json_t *slices = json_array();
    json_array_append_new(slices, json_object());
    for (size_t i = 0, k = 0; i < n && k < INIT_MAX_SLICES; i++) {
        const feature_t *f = &feats[i];
        if (f->xf.op != CFX_INIT_OP_VOCABULARY ||
            f->col.distinct > INIT_MAX_SLICE_VALUES)
            continue;
        json_array_append_new(
            slices, json_pack("{s:[s]}", "feature_keys", f->col.name));
        k++;
    }
    char comment[1024];
    snprintf(comment, sizeof comment,
             "%s Slices: overall, and by each categorical feature with at "
             "most %d values (first %d).",
             why, INIT_MAX_SLICE_VALUES, INIT_MAX_SLICES);
    return json_pack(
        "{s:s,s:[{s:s,s:s,s:[s]}],s:o,s:[{s:o}]}", "comment", comment,
        "model_specs", "signature_name", "serving_default", "label_key",
        label_out, "preprocessing_function_names", "transform_features",
        "slicing_specs", slices, "metrics_specs", "metrics", metrics);
}

static json_t *pipeline_doc(const char *name, const char *data_rel,
                            cfx_init_task_t task, const char *label) {
    char desc[1024];
    snprintf(desc, sizeof desc,
             "Written by cfx init: %s of '%s' from %s. Paths are relative to "
             "this file; the pipeline's outputs go to pipeline_root, pushed "
             "versions to serving/%s.",
             cfx_init_task_name(task), label, data_rel, name);
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:{s:s,s:i},s:{},s:{s:i},s:{s:b},"
        "s:{s:s},s:{s:s},s:{s:s},s:{s:i},s:{}}}",
        "description", desc, "pipeline_name", name, "pipeline_root",
        "pipeline_root", "data", data_rel, "serving_dir", "serving",
        "model_name", name, "components", "ExampleGen", "splits", INIT_SPLITS,
        "num_shards", 1, "StatisticsGen", "SchemaGen", "infer_feature_shape", 1,
        "ExampleValidator", "stop_on_anomalies", 1, "Transform", "spec",
        "transform.json", "Trainer", "config", "trainer.json", "Evaluator",
        "config", "eval.json", "InfraValidator", "num_requests", 20, "Pusher");
}

/* Everything after the arguments; tmp is the work folder (removed by the
 * caller). */
static int init(const char *csv, const char *label, cfx_init_task_t asked,
                const char *outdir, const char *name, const char *tmp,
                cfx_error_t *err) {
    char examples[PATH_MAX], stats[PATH_MAX], schema[PATH_MAX], p[PATH_MAX];
    cfx_split_spec_t splits[CFX_EXAMPLEGEN_MAX_SPLITS];
    cfx_examplegen_options_t eo = {.splits = splits, .num_shards = 1};
    cfx_examplegen_result_t res;
    memset(&res, 0, sizeof res);
    cfx_stats_list_t *list = NULL;
    feature_t *feats = NULL;
    json_t *docs[4] = {NULL, NULL, NULL, NULL};
    int rc =
        cfx_examplegen_parse_splits(INIT_SPLITS, splits, &eo.num_splits, err);
    if (rc < 0 ||
        (rc = join(examples, sizeof examples, tmp, "/examples", err)) < 0 ||
        (rc = join(stats, sizeof stats, tmp, "/statistics", err)) < 0 ||
        (rc = join(schema, sizeof schema, tmp, "/schema", err)) < 0 ||
        (rc = cfx_examplegen_run(csv, examples, &eo, &res, err)) < 0)
        goto out;
    size_t label_i = res.num_columns;
    for (size_t i = 0; i < res.num_columns; i++)
        if (!strcmp(res.columns[i], label))
            label_i = i;
    if (label_i == res.num_columns) {
        char hint[160];
        rc = cfx_error_set(err, CFX_EINVAL, "%s: no column '%s'%s", csv, label,
                           cfx_suggest_hint(hint, sizeof hint, label,
                                            (const char *const *)res.columns,
                                            res.num_columns));
        goto out;
    }
    if (res.split_rows[0] == 0) {
        rc = cfx_error_set(err, CFX_EINVAL,
                           "%s: no row falls into the train split (%llu rows)",
                           csv, (unsigned long long)res.rows);
        goto out;
    }
    printf("ExampleGen     %llu rows, %zu columns; train %llu, eval %llu "
           "(split %s)\n",
           (unsigned long long)res.rows, res.num_columns,
           (unsigned long long)res.split_rows[0],
           (unsigned long long)res.split_rows[1], INIT_SPLITS);
    size_t nsplits = 0, nfeat = 0;
    if ((rc = cfx_statistics_run(examples, stats, NULL, &nsplits, err)) < 0)
        goto out;
    cfx_schema_options_t so = {.infer_feature_shape = 1};
    if ((rc = cfx_schema_gen(stats, schema, &so, &nfeat, err)) < 0)
        goto out;
    printf("StatisticsGen  %zu splits\nSchemaGen      %zu features\n", nsplits,
           nfeat);
    const cfx_dataset_stats_t *d = NULL;
    if ((rc = join(p, sizeof p, stats, "/Split-train/FeatureStats.pb", err)) <
            0 ||
        (rc = cfx_stats_read_default(p, &list, &d, err)) < 0)
        goto out;
    uint64_t rows = (uint64_t)d->num_examples;
    feats = calloc(res.num_columns, sizeof *feats);
    if (!feats) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    cfx_init_column_t *cols = calloc(res.num_columns, sizeof *cols);
    if (!cols) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < res.num_columns; i++)
        cfx_init_column_from_stats(&cols[i], res.columns[i],
                                   cfx_stats_find(d, res.columns[i]), rows);
    rc = join(p, sizeof p, examples, "/Split-train", err);
    if (rc == 0)
        rc = cfx_init_count_distinct(p, cols, res.num_columns, err);
    for (size_t i = 0; i < res.num_columns; i++) {
        /* strings: the statistics' exact `unique` beyond the cap */
        if (cols[i].kind == CFX_INIT_KIND_STRING &&
            cols[i].distinct > CFX_INIT_DISTINCT_CAP) {
            const cfx_feature_stats_t *f = cfx_stats_find(d, res.columns[i]);
            if (f && f->string_stats &&
                f->string_stats->unique > cols[i].distinct)
                cols[i].distinct = f->string_stats->unique;
        }
        feats[i].col = cols[i];
    }
    free(cols);
    if (rc < 0)
        goto out;

    cfx_init_task_t task;
    char task_reason[CFX_INIT_REASON_MAX];
    if ((rc = cfx_init_choose_task(&feats[label_i].col, asked, &task,
                                   task_reason, sizeof task_reason, err)) < 0)
        goto out;
    printf("\ntask: %s\n  %s\n\nfeatures:\n", cfx_init_task_name(task),
           task_reason);
    size_t kept = 0;
    for (size_t i = 0; i < res.num_columns; i++) {
        feature_t *f = &feats[i];
        if (i == label_i) {
            f->xf.op = CFX_INIT_OP_SKIP;
            continue;
        }
        cfx_init_choose_transform(&f->col, &f->xf);
        if (f->xf.op == CFX_INIT_OP_SKIP) {
            printf("  %-24s %s\n", f->col.name, f->xf.reason);
            continue;
        }
        /* output names unique among the outputs and the label's */
        for (int k = 1;; k++) {
            char base[300];
            if (k == 1)
                snprintf(base, sizeof base, "%s_xf", f->col.name);
            else
                snprintf(base, sizeof base, "%s_xf%d", f->col.name, k);
            snprintf(f->out_name, sizeof f->out_name, "%s", base);
            snprintf(f->bucket_name, sizeof f->bucket_name, "%.290s_bucket",
                     base);
            char lab[300];
            snprintf(lab, sizeof lab, "%s_xf", label);
            feature_t tmpf = *f;
            f->out_name[0] = f->bucket_name[0] = 0;
            if (!name_taken(feats, res.num_columns, tmpf.out_name) &&
                !name_taken(feats, res.num_columns, tmpf.bucket_name) &&
                strcmp(tmpf.out_name, lab) && strcmp(tmpf.bucket_name, lab)) {
                *f = tmpf;
                break;
            }
        }
        if (!f->xf.num_buckets)
            f->bucket_name[0] = 0;
        kept++;
        printf("  %-24s %s\n", f->col.name, f->xf.reason);
    }
    if (kept == 0) {
        rc = cfx_error_set(err, CFX_EINVAL,
                           "%s: no column but the label is usable as a "
                           "feature",
                           csv);
        goto out;
    }
    char model_reason[CFX_INIT_REASON_MAX];
    cfx_init_model_t model =
        cfx_init_choose_model(task, 0, model_reason, sizeof model_reason);
    printf("\nmodel:\n  %s\n", model_reason);

    char real_out[PATH_MAX], real_csv[PATH_MAX], data_rel[PATH_MAX];
    if (!realpath(outdir, real_out) || !realpath(csv, real_csv)) {
        rc = cfx_error_set(err, CFX_EIO, "%s: %s", csv, strerror(errno));
        goto out;
    }
    relative_path(real_out, real_csv, data_rel, sizeof data_rel);
    char label_out[300];
    snprintf(label_out, sizeof label_out, "%s_xf", label);
    docs[0] = pipeline_doc(name, data_rel, task, label);
    docs[1] = transform_doc(feats, res.num_columns, label, label_out, task,
                            task_reason);
    docs[2] = trainer_doc(name, task, model, model_reason, res.split_rows[0]);
    docs[3] = eval_doc(feats, res.num_columns, label_out, task);
    static const char *const files[] = {"pipeline.json", "transform.json",
                                        "trainer.json", "eval.json"};
    for (int i = 0; i < 4; i++) {
        if (!docs[i]) {
            rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = write_json(outdir, files[i], docs[i], err)) < 0)
            goto out;
    }
    printf("\nwrote %s/{pipeline,transform,trainer,eval}.json\n"
           "\nrun it:\n  cfx run %s/pipeline.json\n"
           "then serve the pushed model:\n"
           "  cfx-serve --model_name=%s --model_base_path=%s/serving/%s\n",
           outdir, outdir, name, real_out, name);
    rc = 0;
out:
    for (int i = 0; i < 4; i++)
        json_decref(docs[i]);
    free(feats);
    cfx_stats_free(list);
    cfx_examplegen_result_free(&res);
    return rc;
}

int cfx_cmd_init(int argc, char **argv) {
    const char *csv = NULL, *label = NULL, *task_s = "auto", *outdir = NULL,
               *name_s = NULL;
    int force = 0;
    const cfx_opt_t opts[] = {
        {"csv", CFX_OPT_STRING, &csv, 0, 0, 0},
        {"label", CFX_OPT_STRING, &label, 0, 0, 0},
        {"task", CFX_OPT_STRING, &task_s, 0, 0, 0},
        {"output", CFX_OPT_STRING, &outdir, 0, 0, 0},
        {"name", CFX_OPT_STRING, &name_s, 0, 0, 0},
        {"force", CFX_OPT_FLAG, &force, 0, 0, 1},
        {NULL, 0, NULL, 0, 0, 0},
    };
    int ex = cfx_args_parse_options("init", argc, argv, opts, usage);
    if (ex >= 0)
        return ex;
    if (!csv || !label || !outdir)
        return cfx_args_usage_error("init", usage,
                                    "--csv, --label and --output are required");
    cfx_init_task_t task;
    if (cfx_init_task_parse(task_s, &task) < 0) {
        char what[300];
        snprintf(what, sizeof what,
                 "--task '%s': expected auto, binary, multiclass or "
                 "regression",
                 task_s);
        return cfx_args_usage_error("init", usage, what);
    }
    char name[128];
    if (name_s) {
        plain_name(name_s, name, sizeof name);
        if (strcmp(name, name_s)) {
            fprintf(stderr,
                    "cfx init: --name '%s': use letters, digits, '_', '-' and "
                    "'.'\n",
                    name_s);
            return 2;
        }
    } else {
        char buf[PATH_MAX];
        snprintf(buf, sizeof buf, "%s", outdir);
        size_t n = strlen(buf);
        while (n > 1 && buf[n - 1] == '/')
            buf[--n] = 0;
        const char *base = strrchr(buf, '/');
        plain_name(base ? base + 1 : buf, name, sizeof name);
    }
    cfx_error_t err;
    cfx_error_init(&err);
    static const char *const files[] = {"pipeline.json", "transform.json",
                                        "trainer.json", "eval.json"};
    for (int i = 0; i < 4 && !force; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", outdir, files[i]);
        if (access(p, F_OK) == 0) {
            fprintf(stderr,
                    "cfx init: %s exists (--force to overwrite the "
                    "configuration)\n",
                    p);
            return 1;
        }
    }
    if (!cfx_file_is_regular(csv)) {
        fprintf(stderr, "cfx init: --csv %s: not a readable file\n", csv);
        return 1;
    }
    if (cfx_file_mkdirs(outdir, &err) < 0) {
        fprintf(stderr, "cfx init: %s\n", err.msg);
        return 1;
    }
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.cfx-init.XXXXXX", outdir);
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "cfx init: %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    int rc = init(csv, label, task, outdir, name, tmp, &err);
    cfx_error_t err2;
    cfx_error_init(&err2);
    if (cfx_file_remove_tree(tmp, &err2) < 0)
        fprintf(stderr, "cfx init: %s\n", err2.msg);
    if (rc < 0) {
        fprintf(stderr, "cfx init: %s\n", err.msg);
        return 1;
    }
    return 0;
}

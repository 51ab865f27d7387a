/*
 * cmd_init.c: `cfx init` — a new CSV to a pipeline that runs: reads the data
 * (ExampleGen, StatisticsGen and SchemaGen into a temporary folder), makes
 * the choices of data/init_plan.h (task, transform per feature, model,
 * training length), and writes pipeline.json, transform.json, trainer.json
 * and eval.json, each choice with a "comment" saying why
 * (docs/your-own-data.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "data/examplegen.h"
#include "data/init_plan.h"
#include "data/schema_infer.h"
#include "data/statistics.h"
#include "data/stats_io.h"
#include "formats/file.h"
#include "formats/suggest.h"
#include "train/trainer_config.h"

/* The split ExampleGen makes in the generated pipeline; the choices look at
 * its train rows only, as the Transform's analyzers do. */
#define INIT_SPLITS "train:2,eval:1"
#define INIT_BATCH 32
/* Slices by a categorical raw feature with at most this many values. */
#define INIT_MAX_SLICE_VALUES 10
#define INIT_MAX_SLICES 3

static void usage(FILE *f) {
    static const char text[] =
        "usage: cfx init --csv FILE --label COLUMN --output DIR\n"
        "                [--task auto|binary|multiclass|regression]\n"
        "                [--model auto|wide_deep|gbt] [--name NAME] [--force]\n"
        "\n"
        "Reads FILE (ExampleGen, StatisticsGen, SchemaGen into a temporary\n"
        "folder) and looks at its train rows. Chooses the task from the label\n"
        "column (--task auto, the default): strings, or integers with at most\n"
        "20 distinct values, are classes (binary with 2, else multiclass);\n"
        "floats, or integers with more values, are regression. Chooses a\n"
        "transform for every other column from its statistics: z_score;\n"
        "log_z_score for skewed non-negative numbers spanning orders of\n"
        "magnitude; vocabulary for strings and for integers with at most 10\n"
        "values; quantile buckets beside a z-score when every bucket gets at\n"
        "least 100 train rows; identifiers, row numbers and constants left\n"
        "out. Chooses the model: wide_deep for classes, gbt for a number,\n"
        "unless the other is clearly better when both are trained on half of\n"
        "the train rows and evaluated on the other half (--model auto, the\n"
        "default, when the build has gbt). Writes DIR/pipeline.json,\n"
        "transform.json, trainer.json and eval.json, each choice with a\n"
        "\"comment\" saying why, prints the reasons, then the command that\n"
        "runs the pipeline:\n"
        "  cfx run DIR/pipeline.json\n"
        "\n"
        "--task     the task, instead of the choice (when the column allows)\n"
        "--model    wide_deep or gbt, instead of the choice\n"
        "--name     model and pipeline name (default: DIR's last component)\n"
        "--force    overwrite configuration files already in DIR\n"
        "docs/your-own-data.md has the rules. Exit status: 0 written, 1 "
        "error,\n"
        "2 usage.\n";
    fputs(text, f);
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

/* The trainer configuration of `model`; reason becomes its comment. */
static json_t *trainer_doc(const char *name, cfx_init_task_t task,
                           cfx_init_model_t model, const char *reason,
                           uint64_t train_rows) {
    size_t steps = cfx_init_train_steps(train_rows, INIT_BATCH);
    size_t units[2];
    size_t nu = cfx_init_hidden_units(train_rows, units);
    char why[2048];
    if (model == CFX_INIT_MODEL_GBT)
        snprintf(why, sizeof why,
                 "%s. Trees as scikit-learn's HistGradientBoosting sets them "
                 "by default: learning rate 0.1, 100 rounds, %s.",
                 reason,
                 task == CFX_INIT_TASK_REGRESSION
                     ? "leaves of at least 20 rows (min_child_weight 20 on "
                       "squared error), no L2"
                     : "depth at most 6");
    else
        snprintf(why, sizeof why,
                 "%s. Hidden units %s for %llu train rows (a wider network "
                 "overfits small data); Adam at 0.003, batch %d, %zu steps: "
                 "50 passes over the train rows, at least 2000 and at most "
                 "20000 steps.%s",
                 reason,
                 nu == 1          ? "[16]"
                 : units[0] == 32 ? "[32, 16]"
                                  : "[64, 32]",
                 (unsigned long long)train_rows, INIT_BATCH, steps,
                 task == CFX_INIT_TASK_REGRESSION
                     ? " Squared error on the standardised label."
                     : "");
    json_t *t = json_pack("{s:s,s:s}", "comment", why, "model_name", name);
    if (model == CFX_INIT_MODEL_GBT) {
        json_object_set_new(t, "model", json_string("gbt"));
        json_t *g = json_pack("{s:f,s:i,s:i}", "learning_rate", 0.1,
                              "num_rounds", 100, "max_depth", 6);
        if (task == CFX_INIT_TASK_REGRESSION) {
            json_object_set_new(g, "min_child_weight", json_real(20));
            json_object_set_new(g, "l2", json_real(0));
        }
        /* HistGradientBoosting stops early above 10000 rows only */
        json_object_set_new(g, "early_stopping_rounds",
                            json_integer(train_rows > 10000 ? 10 : 0));
        json_object_set_new(t, "gbt", g);
        json_object_set_new(t, "seed", json_integer(42));
        return t;
    }
    json_t *hu = json_array();
    for (size_t i = 0; i < nu; i++)
        json_array_append_new(hu, json_integer((json_int_t)units[i]));
    json_object_set_new(t, "hidden_units", hu);
    json_object_set_new(t, "deep_categorical", json_true());
    json_object_set_new(t, "learning_rate", json_real(0.003));
    json_object_set_new(t, "batch_size", json_integer(INIT_BATCH));
    json_object_set_new(t, "train_steps", json_integer((json_int_t)steps));
    json_object_set_new(t, "eval_steps", json_integer(100));
    json_object_set_new(t, "log_every_steps", json_integer(100));
    json_object_set_new(t, "eval_every_steps",
                        json_integer((json_int_t)(steps / 10)));
    json_object_set_new(t, "seed", json_integer(42));
    return t;
}

/* 1 when this build's trainer reads "model": "gbt". */
static int have_gbt(const char *tmp) {
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/probe.json", tmp) >= (int)sizeof p)
        return 0;
    cfx_error_t err;
    cfx_error_init(&err);
    static const char probe[] = "{\"model\": \"gbt\"}\n";
    if (cfx_file_write_atomic(p, probe, sizeof probe - 1, &err) < 0)
        return 0;
    cfx_trainer_config_t cfg;
    int ok = cfx_trainer_config_load(p, &cfg, &err) == 0;
    unlink(p);
    return ok;
}

/* Runs this program with args (args[0] "cfx"), its output appended to
 * log; the exit status, or -1 when it did not exit. */
static int run_self(const char *log, char *const *args) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The Overall value of metric in an evaluation's metrics.json; NaN when
 * absent. */
static double overall_metric(const char *path, const char *metric) {
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    double v = NAN;
    size_t i;
    json_t *sl;
    json_array_foreach(json_object_get(root, "slices"), i, sl) {
        const char *name = json_string_value(json_object_get(sl, "slice"));
        json_t *m = json_object_get(json_object_get(sl, "metrics"), metric);
        if (name && !strcmp(name, "Overall") && json_is_number(m))
            v = json_number_value(m);
    }
    json_decref(root);
    return v;
}

/* Trains each model on half of the train split and evaluates it on the
 * other half (ExampleGen's hash buckets: with 6 buckets, 0-1 and 3-4 are
 * exactly the train rows of the pipeline's train:2,eval:1, so its eval
 * rows take no part), and picks the better by the task's metric.
 * *model keeps the default when a candidate cannot be validated. */
static void select_model(const char *csv, const char *outdir, const char *tmp,
                         const char *name, cfx_init_task_t task,
                         uint64_t train_rows, cfx_init_model_t *model,
                         char *reason, size_t cap) {
    char sel[PATH_MAX], log[PATH_MAX], ex[PATH_MAX], xf[PATH_MAX],
        spec[PATH_MAX], schema[PATH_MAX], evalcfg[PATH_MAX];
    snprintf(sel, sizeof sel, "%.4000s/select", tmp);
    snprintf(log, sizeof log, "%.4000s/log.txt", sel);
    snprintf(ex, sizeof ex, "%.4000s/examples", sel);
    snprintf(xf, sizeof xf, "%.4000s/transform", sel);
    snprintf(spec, sizeof spec, "%.4000s/transform.json", outdir);
    snprintf(evalcfg, sizeof evalcfg, "%.4000s/eval.json", outdir);
    snprintf(schema, sizeof schema, "%.4000s/schema/schema.pbtxt", tmp);
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_file_mkdirs(sel, &err) < 0)
        return;
    char *eg[] = {"cfx",
                  "examplegen",
                  "--input",
                  (char *)csv,
                  "--output",
                  ex,
                  "--split",
                  "train:2,heldout_a:1,eval:2,heldout_b:1",
                  "--num-shards",
                  "1",
                  NULL};
    char *tr[] = {"cfx",      "transform", "--examples", ex,     "--spec", spec,
                  "--output", xf,          "--schema",   schema, NULL};
    if (run_self(log, eg) != 0 || run_self(log, tr) != 0) {
        snprintf(reason + strlen(reason), cap - strlen(reason),
                 " (validation did not run: see cfx examplegen/transform)");
        return;
    }
    /* the default first: the other model must beat it clearly */
    const cfx_init_model_t cands[] = {*model, *model == CFX_INIT_MODEL_GBT
                                                  ? CFX_INIT_MODEL_WIDE_DEEP
                                                  : CFX_INIT_MODEL_GBT};
    const char *cand_names[2];
    for (int c = 0; c < 2; c++)
        cand_names[c] = cands[c] == CFX_INIT_MODEL_GBT ? "gbt" : "wide_deep";
    double score[2] = {NAN, NAN}, nval = 0;
    const char *metric = cfx_init_select_metric(task);
    for (int c = 0; c < 2; c++) {
        char cfg[PATH_MAX], out[PATH_MAX], evo[PATH_MAX], exs[PATH_MAX],
            graph[PATH_MAX], bundle[PATH_MAX], metrics[PATH_MAX];
        snprintf(cfg, sizeof cfg, "%.4000s/trainer_%s.json", sel,
                 cand_names[c]);
        snprintf(out, sizeof out, "%.4000s/train_%s", sel, cand_names[c]);
        snprintf(evo, sizeof evo, "%.4000s/eval_%s", sel, cand_names[c]);
        snprintf(exs, sizeof exs, "%.4000s/transformed_examples", xf);
        snprintf(graph, sizeof graph, "%.4000s/transform_graph", xf);
        snprintf(bundle, sizeof bundle, "%.4000s/model", out);
        snprintf(metrics, sizeof metrics, "%.4000s/evaluation/metrics.json",
                 evo);
        /* half the rows: the configuration as the pipeline would train it
         * on that many */
        json_t *doc =
            trainer_doc(name, task, cands[c], "validation", train_rows / 2);
        int ok = doc && json_dump_file(doc, cfg, 0) == 0;
        json_decref(doc);
        char *trn[] = {
            "cfx",      "train", "--examples", exs, "--transform-graph", graph,
            "--config", cfg,     "--output",   out, "--quiet",           NULL};
        char *evl[] = {"cfx",        "evaluate", "--model",  bundle,
                       "--examples", ex,         "--config", evalcfg,
                       "--output",   evo,        NULL};
        if (!ok || run_self(log, trn) != 0)
            continue;
        int rc = run_self(log, evl);
        if (rc == 0 || rc == 4) {
            score[c] = overall_metric(metrics, metric);
            nval = overall_metric(metrics, "example_count");
        }
    }
    char sc[2][32];
    for (int c = 0; c < 2; c++)
        snprintf(sc[c], sizeof sc[c], isnan(score[c]) ? "failed" : "%.4f",
                 score[c]);
    if (isnan(score[0]) && isnan(score[1])) {
        /* what the commands said, for the person to act on */
        fflush(stdout);
        FILE *f = fopen(log, "r");
        char line[1024];
        while (f && fgets(line, sizeof line, f))
            fputs(line, stderr);
        if (f)
            fclose(f);
        snprintf(reason + strlen(reason), cap - strlen(reason),
                 " (validation failed for both models: their output is "
                 "above)");
        return;
    }
    int sw = cfx_init_clearly_better(task, score[0], score[1], nval);
    *model = cands[sw];
    snprintf(reason, cap,
             "%s: validated on the train split alone, each model trained on "
             "one half of its rows (by ExampleGen's hash) and measured on the "
             "other %.0f: %s %s %s, %s %s (%s is better); the default %s %s "
             "unless the other is better by more than one standard error of "
             "its estimate",
             cand_names[sw], nval, metric, cand_names[0], sc[0], cand_names[1],
             sc[1], task == CFX_INIT_TASK_REGRESSION ? "lower" : "higher",
             cand_names[0], sw ? "lost" : "stays");
}

/* A metric gated twice: a value bound (key "lower_bound" or
 * "upper_bound") any working model passes, and a change threshold against
 * the baseline (the last blessed model; dropped for the first model, which
 * has none): a later model must not be worse by more than `tol` (key
 * "absolute" or "relative"). */
static json_t *gated(const char *class_name, const char *bound_key,
                     double bound, const char *direction, const char *key,
                     double tol) {
    json_t *chg =
        json_pack("{s:s,s:f}", "direction", direction, key,
                  !strcmp(direction, "HIGHER_IS_BETTER") ? -tol : tol);
    return json_pack("{s:s,s:[{s:[{}],s:{s:{s:f},s:o}}]}", "class_name",
                     class_name, "per_slice_thresholds", "slicing_specs",
                     "threshold", "value_threshold", bound_key, bound,
                     "change_threshold", chg);
}

/* n_classes: multiclass; label_var: the train label's population variance
 * (regression). */
static json_t *eval_doc(const feature_t *feats, size_t n, const char *label_out,
                        cfx_init_task_t task, uint64_t n_classes,
                        double label_var) {
    json_t *metrics = json_array();
    char why[768];
    json_array_append_new(metrics,
                          json_pack("{s:s}", "class_name", "ExampleCount"));
    if (task == CFX_INIT_TASK_REGRESSION) {
        double bound = 2 * label_var;
        snprintf(why, sizeof why,
                 "Blessing: the mean squared error at most %.6g, twice the "
                 "train label's variance (%.6g, the error of always "
                 "predicting the mean): any working model passes, a broken "
                 "one does not; and at most 1%% above the last blessed "
                 "model's (no baseline for the first model). Tighten the "
                 "bound once you know what good is on this data.",
                 bound, label_var);
        json_array_append_new(metrics,
                              gated("MeanSquaredError", "upper_bound", bound,
                                    "LOWER_IS_BETTER", "relative", 0.01));
        const char *more[] = {"MeanAbsoluteError", "RootMeanSquaredError",
                              "MeanPrediction", "MeanLabel"};
        for (size_t i = 0; i < 4; i++)
            json_array_append_new(metrics,
                                  json_pack("{s:s}", "class_name", more[i]));
    } else if (task == CFX_INIT_TASK_MULTICLASS) {
        double bound = 1.0 / (double)(n_classes ? n_classes : 1);
        snprintf(why, sizeof why,
                 "Blessing: accuracy at least %.6g (1/%llu, a uniform random "
                 "guess; the majority class alone scores at least that): any "
                 "working model passes, a broken one does not; and at most "
                 "0.01 below the last blessed model's (no baseline for the "
                 "first model). Tighten the bound once you know what good is "
                 "on this data.",
                 bound, (unsigned long long)n_classes);
        json_array_append_new(
            metrics, gated("SparseCategoricalAccuracy", "lower_bound", bound,
                           "HIGHER_IS_BETTER", "absolute", 0.01));
        const char *more[] = {"SparseCategoricalCrossentropy",
                              "MultiClassConfusionMatrixPlot"};
        for (size_t i = 0; i < 2; i++)
            json_array_append_new(metrics,
                                  json_pack("{s:s}", "class_name", more[i]));
    } else {
        snprintf(why, sizeof why,
                 "Blessing: AUC at least 0.5 (a random ranking): any working "
                 "model passes, a broken one does not; and at most 0.01 "
                 "below the last blessed model's (no baseline for the first "
                 "model). Tighten the bound once you know what good is on "
                 "this data.");
        json_array_append_new(
            metrics, json_pack("{s:s}", "class_name", "BinaryAccuracy"));
        json_array_append_new(metrics,
                              gated("AUC", "lower_bound", 0.5,
                                    "HIGHER_IS_BETTER", "absolute", 0.01));
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
                const char *model_s, const char *outdir, const char *name,
                const char *tmp, cfx_error_t *err) {
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
    int gbt = have_gbt(tmp);
    char model_reason[1024];
    cfx_init_model_t model =
        cfx_init_choose_model(task, gbt, model_reason, sizeof model_reason);
    if (model_s && !strcmp(model_s, "gbt") && !gbt) {
        rc = cfx_error_set(err, CFX_EUNSUPPORTED,
                           "--model gbt: this build has no gradient-boosted "
                           "trees");
        goto out;
    }
    if (model_s && strcmp(model_s, "auto")) {
        model = strcmp(model_s, "gbt") ? CFX_INIT_MODEL_WIDE_DEEP
                                       : CFX_INIT_MODEL_GBT;
        snprintf(model_reason, sizeof model_reason, "%s, as asked (--model)",
                 model_s);
    }

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
    docs[2] = NULL;
    const cfx_init_column_t *lc = &feats[label_i].col;
    docs[3] = eval_doc(feats, res.num_columns, label_out, task, lc->distinct,
                       lc->std_dev * lc->std_dev);
    static const char *const files[] = {"pipeline.json", "transform.json",
                                        "trainer.json", "eval.json"};
    for (int i = 0; i < 4; i++) {
        if (i == 2)
            continue; /* trainer.json once the model is chosen */
        if (!docs[i]) {
            rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = write_json(outdir, files[i], docs[i], err)) < 0)
            goto out;
    }
    if (gbt && (!model_s || !strcmp(model_s, "auto"))) {
        printf("\nmodel: validating wide_deep and gbt on the train split...\n");
        select_model(csv, outdir, tmp, name, task, res.split_rows[0], &model,
                     model_reason, sizeof model_reason);
    }
    printf("\nmodel:\n  %s\n", model_reason);
    if (!(docs[2] = trainer_doc(name, task, model, model_reason,
                                res.split_rows[0]))) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = write_json(outdir, "trainer.json", docs[2], err)) < 0)
        goto out;
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
               *name_s = NULL, *model_s = "auto";
    int force = 0;
    const cfx_opt_t opts[] = {
        {"csv", CFX_OPT_STRING, &csv, 0, 0, 0},
        {"label", CFX_OPT_STRING, &label, 0, 0, 0},
        {"task", CFX_OPT_STRING, &task_s, 0, 0, 0},
        {"output", CFX_OPT_STRING, &outdir, 0, 0, 0},
        {"name", CFX_OPT_STRING, &name_s, 0, 0, 0},
        {"model", CFX_OPT_STRING, &model_s, 0, 0, 0},
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
    if (strcmp(model_s, "auto") && strcmp(model_s, "wide_deep") &&
        strcmp(model_s, "gbt"))
        return cfx_args_usage_error("init", usage,
                                    "--model: expected auto, wide_deep or gbt");
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
    int rc = init(csv, label, task, model_s, outdir, name, tmp, &err);
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

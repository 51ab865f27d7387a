/*
 * show_eval.c: renders an evaluation for a person (show_eval.h), with the
 * table helpers of report/show.h.
 */
#include "report/show_eval.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/buf.h"
#include "formats/file.h"
#include "report/show.h"

#define MAX_METRICS_JSON (256u << 20)

/* Paths for lookups: one cut short simply is not found. */
static void pathf(char *p, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void pathf(char *p, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, cap, fmt, ap);
    va_end(ap);
}

static int exists(const char *dir, const char *name) {
    char p[PATH_MAX];
    struct stat st;
    pathf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

/* Finds metrics.json and the blessing folder from any accepted path. */
static void locate(const char *path, char *metrics, char *blessing,
                   size_t cap) {
    struct stat st;
    char dir[PATH_MAX];
    metrics[0] = blessing[0] = 0;
    if (stat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        if (cfx_show_is_file(path, "metrics.json"))
            pathf(metrics, cap, "%s", path);
        return;
    }
    pathf(dir, sizeof dir, "%s", path);
    if (exists(dir, "metrics.json") && exists(dir, "eval_config.json")) {
        pathf(metrics, cap, "%s/metrics.json", dir);
        /* `cfx evaluate --output` keeps blessing/ beside evaluation/ */
        char sib[PATH_MAX];
        pathf(sib, sizeof sib, "%s/../blessing", dir);
        if (exists(sib, "BLESSED") || exists(sib, "NOT_BLESSED"))
            pathf(blessing, cap, "%s", sib);
    } else if (exists(dir, "evaluation/metrics.json")) {
        pathf(metrics, cap, "%s/evaluation/metrics.json", dir);
        if (exists(dir, "blessing/BLESSED") ||
            exists(dir, "blessing/NOT_BLESSED"))
            pathf(blessing, cap, "%s/blessing", dir);
    } else if (exists(dir, "BLESSED") || exists(dir, "NOT_BLESSED")) {
        pathf(blessing, cap, "%s", dir);
    }
}

int cfx_show_eval_detect(const char *path) {
    char m[PATH_MAX], b[PATH_MAX];
    locate(path, m, b, sizeof m);
    return m[0] || b[0];
}

static void cell_num(cfx_show_table_t *t, const json_t *v, const char *fmt) {
    if (json_is_number(v))
        cfx_show_table_cell(t, fmt, json_number_value(v));
    else
        cfx_show_table_cell(t, "-");
}

static int show_blessing(const char *dir, FILE *out, cfx_error_t *err) {
    char p[PATH_MAX];
    cfx_buf_t reason;
    cfx_buf_init(&reason);
    int blessed = exists(dir, "BLESSED");
    pathf(p, sizeof p, "%s/reason", dir);
    int ret = cfx_file_read(p, 1 << 20, &reason, err);
    if (ret == CFX_ENOTFOUND)
        ret = 0;
    if (ret)
        goto out;
    fprintf(out, "Blessing: %s (%s)\n", blessed ? "BLESSED" : "NOT_BLESSED",
            dir);
    /* one bound per line */
    for (const char *r = reason.data ? (const char *)reason.data : ""; *r;) {
        const char *nl = strchr(r, '\n');
        int len = nl ? (int)(nl - r) : (int)strlen(r);
        if (len)
            fprintf(out, "  %s %.*s\n", blessed ? "passed:" : "FAILED:", len,
                    r);
        r += len + (nl ? 1 : 0);
    }
    fputc('\n', out);
out:
    cfx_buf_free(&reason);
    return ret;
}

/* Without the blessing folder (an evaluation shown on its own, or a
 * pipeline root's separate outputs), the failed bounds, overall and per
 * slice, come from validations.json beside metrics.json. */
static int show_validations(const char *mpath, FILE *out, cfx_error_t *err) {
    char p[PATH_MAX];
    cfx_buf_t text;
    json_t *doc = NULL;
    cfx_buf_init(&text);
    const char *slash = strrchr(mpath, '/');
    pathf(p, sizeof p, "%.*svalidations.json",
          slash ? (int)(slash - mpath + 1) : 0, mpath);
    int ret = cfx_file_read(p, MAX_METRICS_JSON, &text, err);
    if (ret == CFX_ENOTFOUND) {
        ret = 0;
        goto out;
    }
    if (ret)
        goto out;
    doc = json_loadb((const char *)text.data, text.len, 0, NULL);
    const json_t *ok = json_object_get(doc, "validation_ok"),
                 *fails = json_object_get(doc, "failures");
    if (!json_is_boolean(ok) || !json_is_array(fails))
        goto out; /* not ours: the metrics still show */
    fprintf(out, "Validation: %s (%s)\n", json_is_true(ok) ? "OK" : "FAILED",
            p);
    for (size_t i = 0; i < json_array_size(fails); i++)
        if (json_is_string(json_array_get(fails, i)))
            fprintf(out, "  FAILED: %s\n",
                    json_string_value(json_array_get(fails, i)));
    fputc('\n', out);
out:
    json_decref(doc);
    cfx_buf_free(&text);
    return ret;
}

int cfx_show_eval(const char *path, FILE *out, cfx_error_t *err) {
    char mpath[PATH_MAX], bpath[PATH_MAX];
    cfx_buf_t text;
    json_t *doc = NULL;
    cfx_show_table_t t;
    int ret = 0;
    cfx_buf_init(&text);
    cfx_show_table_init(&t, 10);
    locate(path, mpath, bpath, sizeof mpath);
    if (!mpath[0] && !bpath[0]) {
        ret = cfx_error_set(err, CFX_EUNSUPPORTED,
                            "%s: not an evaluation or a blessing", path);
        goto out;
    }
    if (bpath[0] && (ret = show_blessing(bpath, out, err)))
        goto out;
    if (!mpath[0])
        goto out;
    if (!bpath[0] && (ret = show_validations(mpath, out, err)))
        goto out;
    if ((ret = cfx_file_read(mpath, MAX_METRICS_JSON, &text, err)))
        goto out;
    json_error_t je;
    doc = json_loadb((const char *)text.data, text.len, 0, &je);
    const json_t *slices = json_object_get(doc, "slices");
    if (!json_is_array(slices)) {
        ret = cfx_error_set(err, CFX_EPARSE, "%s:%d:%d: not an evaluation: %s",
                            mpath, je.line, je.column,
                            doc ? "no slices" : je.text);
        goto out;
    }
    const json_t *base = json_object_get(doc, "baseline");
    fprintf(
        out, "Model: %s\nBaseline: %s\nExamples: %lld, slices: %zu\n\n",
        json_string_value(json_object_get(doc, "model")),
        json_is_string(base) ? json_string_value(base) : "none",
        (long long)json_integer_value(json_object_get(doc, "example_count")),
        json_array_size(slices));
    int with_base = json_is_string(base);
    /* the columns of the model's task, told by its metric keys */
    static const char *const bin_head[] = {
        "slice",     "examples", "accuracy", "auc",         "auc_pr",
        "precision", "recall",   "log_loss", "calibration", "auc vs base"};
    static const char *const bin_keys[] = {
        "binary_accuracy", "auc",    "auc_precision_recall",
        "precision",       "recall", "binary_crossentropy",
        "calibration",     "auc"};
    static const char *const multi_head[] = {
        "slice",     "examples", "accuracy",        "log_loss",
        "precision", "recall",   "accuracy vs base"};
    static const char *const multi_keys[] = {
        "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
        "precision", "recall", "sparse_categorical_accuracy"};
    static const char *const reg_head[] = {
        "slice",      "examples",        "rmse",        "mae",
        "mean_label", "mean_prediction", "rmse vs base"};
    static const char *const reg_keys[] = {
        "root_mean_squared_error", "mean_absolute_error", "mean_label",
        "mean_prediction", "root_mean_squared_error"};
    const json_t *m0 = json_object_get(json_array_get(slices, 0), "metrics");
    const char *const *head = bin_head, *const *keys = bin_keys;
    size_t ncols = sizeof bin_head / sizeof bin_head[0];
    if (json_object_get(m0, "sparse_categorical_accuracy")) {
        head = multi_head;
        keys = multi_keys;
        ncols = sizeof multi_head / sizeof multi_head[0];
    } else if (json_object_get(m0, "mean_squared_error")) {
        head = reg_head;
        keys = reg_keys;
        ncols = sizeof reg_head / sizeof reg_head[0];
    }
    cfx_show_table_free(&t);
    cfx_show_table_init(&t, ncols);
    t.right_align = ~1u;
    for (size_t i = 0; i < ncols; i++)
        cfx_show_table_cell(&t, "%s", head[i]);
    for (size_t i = 0; i < json_array_size(slices); i++) {
        const json_t *s = json_array_get(slices, i),
                     *m = json_object_get(s, "metrics");
        cfx_show_table_cell(&t, "%s",
                            json_string_value(json_object_get(s, "slice")));
        cell_num(&t, json_object_get(m, "example_count"), "%.0f");
        for (size_t k = 0; k + 3 < ncols; k++)
            cell_num(&t, json_object_get(m, keys[k]), "%.4f");
        if (with_base)
            cell_num(
                &t,
                json_object_get(json_object_get(s, "diff"), keys[ncols - 3]),
                "%+.4f");
        else
            cfx_show_table_cell(&t, "-");
    }
    ret = cfx_show_table_print(&t, out);
out:
    json_decref(doc);
    cfx_show_table_free(&t);
    cfx_buf_free(&text);
    return ret;
}

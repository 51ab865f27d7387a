/*
 * html_eval.c: the evaluation section of `cfx report` (html.h): the
 * blessing and its reason, every configured threshold on every slice it
 * applies to with its value and PASS/FAIL (checked with the Evaluator's own
 * eval/thresholds.h on the values of metrics.json), the metrics per slice
 * with bars (baseline and difference beside them when there was one), the
 * ROC, precision-recall and calibration plots and the confusion matrix at
 * 0.5 from plots.json (eval/plots.h).
 */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/eval_config.h"
#include "eval/thresholds.h"
#include "formats/buf.h"
#include "formats/file.h"
#include "report/html.h"

#define MAX_JSON (256u << 20)
/* Threshold rows past this many are counted, not listed. */
#define MAX_THRESHOLD_ROWS 400

static json_t *load_json(const char *path, int required, cfx_error_t *err,
                         int *ret) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    json_t *doc = NULL;
    *ret = cfx_file_read(path, MAX_JSON, &b, err);
    if (*ret == CFX_ENOTFOUND && !required) {
        *ret = 0;
    } else if (*ret == 0) {
        json_error_t je;
        doc = json_loadb((const char *)b.data, b.len, 0, &je);
        if (!doc)
            *ret = cfx_error_set(err, CFX_EPARSE, "%s:%d:%d: %s", path, je.line,
                                 je.column, je.text);
    }
    cfx_buf_free(&b);
    return doc;
}

static double jnum(const json_t *v) {
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *const metric_keys[] = {
    "binary_accuracy", "auc",    "auc_precision_recall",
    "precision",       "recall", "binary_crossentropy",
    "calibration"};
static const char *const metric_heads[] = {"accuracy",   "AUC",    "AUC-PR",
                                           "precision",  "recall", "log loss",
                                           "calibration"};
#define N_METRICS (sizeof metric_keys / sizeof metric_keys[0])

/* A metric cell with a bar (metrics in [0, 1]); baseline beside it. */
static void metric_cell(FILE *out, const char *key, double v) {
    int unit = strcmp(key, "binary_crossentropy") && strcmp(key, "calibration");
    if (isnan(v)) {
        fprintf(out, "<td class=\"num m-%s\" data-v=\"\">-</td>", key);
        return;
    }
    fprintf(out, "<td class=\"num m-%s\" data-v=\"%.17g\">%.6f", key, v, v);
    if (unit && v >= 0 && v <= 1)
        fprintf(out,
                "<div class=\"bar s0\" style=\"width:%.1f%%;min-width:1px\">"
                "</div>",
                100 * v);
    fputs("</td>", out);
}

static void blessing_banner(FILE *out, const char *bdir, const json_t *val,
                            cfx_error_t *err) {
    char p[PATH_MAX];
    int blessed = -1;
    if (bdir) {
        snprintf(p, sizeof p, "%s/BLESSED", bdir);
        if (cfx_file_is_regular(p))
            blessed = 1;
        snprintf(p, sizeof p, "%s/NOT_BLESSED", bdir);
        if (cfx_file_is_regular(p))
            blessed = 0;
    }
    cfx_buf_t reason;
    cfx_buf_init(&reason);
    if (blessed >= 0) {
        snprintf(p, sizeof p, "%s/reason", bdir);
        if (cfx_file_read(p, 1 << 20, &reason, err) < 0)
            cfx_buf_free(&reason); /* no reason: the verdict still shows */
    } else if (val && json_is_boolean(json_object_get(val, "validation_ok"))) {
        blessed = json_is_true(json_object_get(val, "validation_ok"));
    }
    if (blessed < 0) {
        fputs("<div id=\"blessing\" class=\"blessing warn\">NO BLESSING: no "
              "threshold configured</div>",
              out);
        return;
    }
    fprintf(out,
            "<div id=\"blessing\" class=\"blessing %s\"><b>%s</b>%s"
            "<ul id=\"blessing-reason\">",
            blessed ? "pass blessed" : "fail not-blessed",
            blessed ? "BLESSED" : "NOT BLESSED",
            bdir ? ""
                 : " <span class=\"small\">(from validations.json)</span>");
    if (reason.len) {
        const char *r = (const char *)reason.data, *end = r + reason.len;
        while (r < end) {
            const char *nl = memchr(r, '\n', (size_t)(end - r));
            size_t len = nl ? (size_t)(nl - r) : (size_t)(end - r);
            /* the passed bounds are one line, "; "-separated */
            for (const char *b = r, *e = r + len; blessed && b < e;) {
                const char *sep = memmem(b, (size_t)(e - b), "; ", 2);
                size_t n = sep ? (size_t)(sep - b) : (size_t)(e - b);
                fputs("<li>passed: ", out);
                cfx_html_textn(out, b, n);
                fputs("</li>", out);
                b += n + (sep ? 2 : 0);
            }
            if (len && !blessed) {
                fputs("<li>FAILED: ", out);
                cfx_html_textn(out, r, len);
                fputs("</li>", out);
            }
            r += len + 1;
        }
    } else {
        const json_t *f = json_object_get(val, "failures");
        for (size_t i = 0; i < json_array_size(f); i++) {
            fputs("<li>FAILED: ", out);
            cfx_html_text(out, json_string_value(json_array_get(f, i)));
            fputs("</li>", out);
        }
    }
    fputs("</ul></div>", out);
    cfx_buf_free(&reason);
}

/* One row per (threshold, slice it applies to). */
static void threshold_rows(FILE *out, const cfx_threshold_t *t, int every,
                           const cfx_slicing_spec_t *want,
                           const cfx_eval_config_t *cfg, const json_t *slices,
                           int with_base, size_t *rows, size_t *failed) {
    for (int change = 0; change < 2; change++) {
        if (change ? !t->has_change : !t->has_value)
            continue;
        if (change && !with_base)
            continue;
        char bound[256];
        cfx_threshold_describe(t, change, bound, sizeof bound);
        for (size_t i = 0; i < json_array_size(slices); i++) {
            const json_t *s = json_array_get(slices, i);
            const char *name = json_string_value(json_object_get(s, "slice"));
            const char *spec_name =
                json_string_value(json_object_get(s, "slicing_spec"));
            if (!name)
                continue;
            if (!every) {
                /* the spec that made this slice, from the config */
                int applies = 0;
                for (size_t k = 0; k < cfg->num_slicing_specs && !applies;
                     k++) {
                    char nm[CFX_SLICE_NAME_MAX];
                    cfx_slicing_spec_name(&cfg->slicing_specs[k], nm,
                                          sizeof nm);
                    if (spec_name && !strcmp(nm, spec_name))
                        applies = cfx_slicing_spec_applies(
                            want, &cfg->slicing_specs[k], name);
                }
                if (!applies)
                    continue;
            }
            double v =
                jnum(json_object_get(json_object_get(s, "metrics"), t->metric));
            double b = jnum(json_object_get(
                json_object_get(s, "baseline_metrics"), t->metric));
            cfx_threshold_outcome_t o;
            if (change)
                cfx_threshold_check_change(t, v, b, &o);
            else
                cfx_threshold_check_value(t, v, &o);
            *failed += !o.ok;
            if (++*rows > MAX_THRESHOLD_ROWS)
                continue;
            fprintf(out, "<tr class=\"%s\"><td>", o.ok ? "" : "anomaly");
            cfx_html_text(out, t->metric);
            fputs("</td><td>", out);
            cfx_html_text(out, name);
            fputs("</td><td>", out);
            cfx_html_text(out, bound);
            fputs("</td>", out);
            cfx_html_num_cell(out, v, NULL);
            cfx_html_num_cell(out, change ? b : NAN, NULL);
            fprintf(out,
                    "<td><span class=\"badge %s\">%s</span></td><td "
                    "class=\"small\">",
                    o.ok ? "pass" : "fail", o.ok ? "PASS" : "FAIL");
            cfx_html_text(out, o.text);
            fputs("</td></tr>\n", out);
        }
    }
}

static void thresholds_table(FILE *out, const cfx_eval_config_t *cfg,
                             const json_t *slices, int with_base) {
    size_t rows = 0, failed = 0;
    fputs("<h3>Thresholds</h3><table id=\"thresholds\" class=\"sortable\">"
          "<thead><tr><th>metric</th><th>slice</th><th>bound</th>"
          "<th>value</th><th>baseline</th><th>result</th><th>detail</th>"
          "</tr></thead><tbody>\n",
          out);
    for (size_t i = 0; i < cfg->num_thresholds; i++)
        threshold_rows(out, &cfg->thresholds[i], 1, NULL, cfg, slices,
                       with_base, &rows, &failed);
    for (size_t i = 0; i < cfg->num_slice_thresholds; i++)
        threshold_rows(out, &cfg->slice_thresholds[i].threshold,
                       cfg->slice_thresholds[i].every_slice,
                       &cfg->slice_thresholds[i].spec, cfg, slices, with_base,
                       &rows, &failed);
    fputs("</tbody></table>", out);
    if (rows == 0)
        fputs("<p class=\"muted\">No threshold configured.</p>", out);
    else
        fprintf(out, "<p class=\"small\">%zu checks, %zu failed%s</p>", rows,
                failed,
                rows > MAX_THRESHOLD_ROWS ? " (the first 400 listed)" : "");
}

static void curve(FILE *out, const json_t *pts, size_t xi, size_t yi, double *x,
                  double *y, size_t cap, size_t *n) {
    *n = 0;
    (void)out;
    for (size_t i = 0; i < json_array_size(pts) && *n < cap; i++) {
        const json_t *p = json_array_get(pts, i);
        x[*n] = jnum(json_array_get(p, xi));
        y[*n] = jnum(json_array_get(p, yi));
        (*n)++;
    }
}

/* A plot on the unit square (340 x 300) in <div id="ID">; diagonal and
 * legend as in cfx_svg_plot_t. */
static void unit_plot(FILE *out, const char *id, const char *title,
                      const char *x_label, const char *y_label, int diagonal,
                      int legend, const cfx_svg_series_t *s, size_t n_series) {
    cfx_svg_plot_t p = {.title = title,
                        .x_label = x_label,
                        .y_label = y_label,
                        .x1 = 1,
                        .y1 = 1,
                        .diagonal = diagonal,
                        .legend = legend,
                        .width = 340,
                        .height = 300};
    fprintf(out, "<div id=\"%s\">", id);
    cfx_svg_lines(out, &p, s, n_series);
    fputs("</div>", out);
}

#define MAXP 512

static void plots(FILE *out, const json_t *doc) {
    const json_t *pl[2] = {json_object_get(doc, "plots"),
                           json_object_get(doc, "baseline_plots")};
    static double x[2][3][MAXP], y[2][3][MAXP];
    cfx_svg_series_t roc[2], pr[2], cal[2];
    size_t n_series = json_is_object(pl[1]) ? 2 : 1;
    const char *names[2] = {"candidate", "baseline"};
    for (size_t k = 0; k < n_series; k++) {
        size_t n;
        curve(out, json_object_get(pl[k], "roc"), 0, 1, x[k][0], y[k][0], MAXP,
              &n);
        roc[k] = (cfx_svg_series_t){names[k], x[k][0], y[k][0], n, 0};
        curve(out, json_object_get(pl[k], "pr"), 0, 1, x[k][1], y[k][1], MAXP,
              &n);
        pr[k] = (cfx_svg_series_t){names[k], x[k][1], y[k][1], n, 0};
        const json_t *c = json_object_get(pl[k], "calibration");
        n = 0;
        for (size_t i = 0; i < json_array_size(c) && n < MAXP; i++) {
            const json_t *b = json_array_get(c, i);
            x[k][2][n] = jnum(json_object_get(b, "mean_prediction"));
            y[k][2][n] = jnum(json_object_get(b, "mean_label"));
            n++;
        }
        cal[k] = (cfx_svg_series_t){names[k], x[k][2], y[k][2], n, 1};
    }
    fputs("<h3>Overall slice</h3><div class=\"charts\">", out);
    unit_plot(out, "roc", "ROC curve", "false positive rate",
              "true positive rate", 1, 1, roc, n_series);
    unit_plot(out, "pr", "Precision-recall curve", "recall", "precision", 0, 2,
              pr, n_series);
    unit_plot(out, "calibration", "Calibration (10 buckets of prediction)",
              "mean prediction", "mean label", 1, 1, cal, n_series);
    const json_t *cm = json_object_get(pl[0], "confusion");
    if (json_is_object(cm)) {
        double tp = jnum(json_object_get(cm, "true_positives")),
               fp = jnum(json_object_get(cm, "false_positives")),
               tn = jnum(json_object_get(cm, "true_negatives")),
               fn = jnum(json_object_get(cm, "false_negatives"));
        fprintf(out,
                "<div><h3>Confusion matrix at %.2g</h3><table id=\"confusion\" "
                "class=\"cm\"><tr><th></th><th>predicted 1</th><th>predicted "
                "0</th></tr><tr><th>label 1</th><td class=\"hit\">%.0f<br>"
                "<span class=\"small\">true positives</span></td><td "
                "class=\"miss\">%.0f<br><span class=\"small\">false "
                "negatives</span></td></tr><tr><th>label 0</th><td "
                "class=\"miss\">%.0f<br><span class=\"small\">false "
                "positives</span></td><td class=\"hit\">%.0f<br><span "
                "class=\"small\">true negatives</span></td></tr></table></div>",
                jnum(json_object_get(cm, "threshold")), tp, fn, fp, tn);
    }
    fputs("</div>", out);
}

static void locate(const char *path, char *metrics_dir, char *blessing,
                   size_t cap) {
    char p[PATH_MAX];
    metrics_dir[0] = blessing[0] = 0;
    if (!path)
        return;
    snprintf(p, sizeof p, "%s/metrics.json", path);
    if (cfx_file_is_regular(p)) {
        snprintf(metrics_dir, cap, "%s", path);
        return;
    }
    snprintf(p, sizeof p, "%s/evaluation/metrics.json", path);
    if (cfx_file_is_regular(p)) {
        snprintf(metrics_dir, cap, "%s/evaluation", path);
        snprintf(blessing, cap, "%s/blessing", path);
        return;
    }
    size_t n = strlen(path);
    if (n >= 12 && !strcmp(path + n - 12, "metrics.json")) {
        snprintf(metrics_dir, cap, "%.*s", (int)(n > 13 ? n - 13 : 1),
                 n > 13 ? path : ".");
        return;
    }
    snprintf(blessing, cap, "%s", path);
}

int cfx_html_evaluation(FILE *out, const char *evaluation_path,
                        const char *blessing_path, cfx_error_t *err) {
    /* p has room for any file name below mdir */
    char mdir[PATH_MAX], bdir[PATH_MAX], p[PATH_MAX + 32];
    json_t *metrics = NULL, *val = NULL, *pl = NULL;
    cfx_eval_config_t *cfg = NULL;
    int ret = 0;
    locate(evaluation_path, mdir, bdir, sizeof mdir);
    if (blessing_path)
        snprintf(bdir, sizeof bdir, "%s", blessing_path);
    if (bdir[0]) {
        char b1[PATH_MAX + 16], b2[PATH_MAX + 16];
        snprintf(b1, sizeof b1, "%s/BLESSED", bdir);
        snprintf(b2, sizeof b2, "%s/NOT_BLESSED", bdir);
        if (!cfx_file_is_regular(b1) && !cfx_file_is_regular(b2))
            bdir[0] = 0;
    }
    fputs("<section id=\"evaluation\"><h2>Evaluation</h2>", out);
    if (mdir[0]) {
        snprintf(p, sizeof p, "%s/validations.json", mdir);
        val = load_json(p, 0, err, &ret);
        if (ret)
            goto out;
    }
    blessing_banner(out, bdir[0] ? bdir : NULL, val, err);
    if (!mdir[0])
        goto out;
    snprintf(p, sizeof p, "%s/metrics.json", mdir);
    if (!(metrics = load_json(p, 1, err, &ret)))
        goto out;
    const json_t *slices = json_object_get(metrics, "slices");
    if (!json_is_array(slices)) {
        ret = cfx_error_set(err, CFX_EPARSE, "%s: not an evaluation: no slices",
                            p);
        goto out;
    }
    const json_t *base = json_object_get(metrics, "baseline");
    int with_base = json_is_string(base);
    fputs("<p>Model <code>", out);
    cfx_html_text(out, json_string_value(json_object_get(metrics, "model")));
    fputs("</code>, baseline ", out);
    if (with_base) {
        fputs("<code>", out);
        cfx_html_text(out, json_string_value(base));
        fputs("</code>", out);
    } else {
        fputs("none", out);
    }
    const json_t *dropped = json_object_get(metrics, "baseline_dropped");
    if (json_is_object(dropped)) {
        fputs(" <span class=\"badge warn\">baseline not compared: ", out);
        cfx_html_text(out,
                      json_string_value(json_object_get(dropped, "reason")));
        fputs("</span>", out);
    }
    fprintf(out, "; %lld examples, %zu slices.</p>",
            (long long)json_integer_value(
                json_object_get(metrics, "example_count")),
            json_array_size(slices));

    snprintf(p, sizeof p, "%s/eval_config.json", mdir);
    if (cfx_file_is_regular(p)) {
        if (!(cfg = calloc(1, sizeof *cfg))) {
            ret = cfx_error_set(err, CFX_ENOMEM, "report: out of memory");
            goto out;
        }
        if ((ret = cfx_eval_config_load(p, cfg, err)))
            goto out;
        thresholds_table(out, cfg, slices, with_base);
    }

    snprintf(p, sizeof p, "%s/plots.json", mdir);
    if ((pl = load_json(p, 0, err, &ret)))
        plots(out, pl);
    else if (ret)
        goto out;
    else
        fputs("<p class=\"muted\">No plots.json in this evaluation (written "
              "by newer Evaluators): no curves.</p>",
              out);

    fprintf(out, "<h3>Metrics per slice</h3><input class=\"filter\" "
                 "type=\"search\" placeholder=\"Filter slices\" "
                 "data-table=\"slices-table\" aria-label=\"filter slices\">"
                 "<table id=\"slices-table\" class=\"sortable\"><thead><tr>"
                 "<th>slice</th><th>examples</th>");
    for (size_t k = 0; k < N_METRICS; k++)
        fprintf(out, "<th>%s</th>", metric_heads[k]);
    if (with_base)
        fputs("<th>baseline AUC</th><th>AUC change</th><th>baseline "
              "accuracy</th><th>accuracy change</th>",
              out);
    fputs("</tr></thead><tbody>\n", out);
    for (size_t i = 0; i < json_array_size(slices); i++) {
        const json_t *s = json_array_get(slices, i),
                     *m = json_object_get(s, "metrics"),
                     *bm = json_object_get(s, "baseline_metrics"),
                     *d = json_object_get(s, "diff");
        const char *name = json_string_value(json_object_get(s, "slice"));
        fputs("<tr data-name=\"", out);
        cfx_html_text(out, name);
        fputs("\" data-slice=\"", out);
        cfx_html_text(out, name);
        fputs("\"><td class=\"feat\">", out);
        cfx_html_text(out, name);
        fputs("</td>", out);
        double n = jnum(json_object_get(m, "example_count"));
        fprintf(out,
                "<td class=\"num m-example_count\" data-v=\"%.17g\">%.0f</td>",
                isnan(n) ? 0 : n, isnan(n) ? 0 : n);
        for (size_t k = 0; k < N_METRICS; k++)
            metric_cell(out, metric_keys[k],
                        jnum(json_object_get(m, metric_keys[k])));
        if (with_base) {
            cfx_html_num_cell(out, jnum(json_object_get(bm, "auc")), "b-auc");
            cfx_html_num_cell(out, jnum(json_object_get(d, "auc")), "d-auc");
            cfx_html_num_cell(out, jnum(json_object_get(bm, "binary_accuracy")),
                              "b-binary_accuracy");
            cfx_html_num_cell(out, jnum(json_object_get(d, "binary_accuracy")),
                              "d-binary_accuracy");
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>", out);
out:
    fputs("</section>\n", out);
    free(cfg);
    json_decref(metrics);
    json_decref(val);
    json_decref(pl);
    return ret;
}

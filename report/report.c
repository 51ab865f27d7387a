/*
 * report.c: `cfx report` — picks the sections for PATH and writes the page
 * (report.h).
 */
#include "report/report.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/file.h"
#include "mlmd/metadata.h"
#include "report/html.h"
#include "report/run_view.h"
#include "report/show.h"
#include "report/show_eval.h"

/* The largest page written (a report is bounded by its artifacts' bounds;
 * this only stops a runaway). */
#define MAX_PAGE (512u << 20)

static void header(FILE *out, const char *what, const char *path) {
    fputs("<header><h1>", out);
    cfx_html_text(out, what);
    fputs("</h1><p>cfx report of <code>", out);
    cfx_html_text(out, path);
    fputs("</code></p></header>\n", out);
}

static void nav(FILE *out, const char *const *ids, const char *const *names,
                size_t n) {
    fputs("<nav>", out);
    for (size_t i = 0; i < n; i++)
        if (ids[i])
            fprintf(out, "<a href=\"#%s\">%s</a>", ids[i], names[i]);
    fputs("</nav><main>\n", out);
}

static int root_report(FILE *out, const cfx_report_opts_t *o,
                       cfx_error_t *err) {
    cfx_run_view_t *v = NULL;
    int ret = cfx_run_view_load(o->path, o->run_id, &v, err);
    if (ret)
        return ret;
    const char *stats = cfx_run_view_output(v, "StatisticsGen", "statistics");
    const char *schema = cfx_run_view_output(v, "SchemaGen", "schema");
    const char *anom = cfx_run_view_output(v, "ExampleValidator", "anomalies");
    const char *mrun = cfx_run_view_output(v, "Trainer", "model_run");
    const char *eval = cfx_run_view_output(v, "Evaluator", "evaluation");
    const char *bless = cfx_run_view_output(v, "Evaluator", "blessing");
    /* a section only for what exists on disk */
    if (stats && !cfx_file_is_dir(stats))
        stats = NULL;
    if (schema && !cfx_file_is_dir(schema))
        schema = NULL;
    if (anom && !cfx_file_is_dir(anom))
        anom = NULL;
    if (mrun && !cfx_html_has_training(mrun))
        mrun = NULL;
    if (eval && !cfx_file_is_dir(eval))
        eval = NULL;
    if (bless && !cfx_file_is_dir(bless))
        bless = NULL;
    header(out, "Pipeline report", o->path);
    const char *ids[] = {"run",
                         stats ? "statistics" : NULL,
                         schema ? "schema" : NULL,
                         anom ? "anomalies" : NULL,
                         mrun ? "training" : NULL,
                         eval || bless ? "evaluation" : NULL};
    const char *names[] = {"Run",       "Statistics", "Schema",
                           "Anomalies", "Training",   "Evaluation"};
    nav(out, ids, names, sizeof ids / sizeof ids[0]);
    ret = cfx_html_run_view(out, v, err);
    if (!ret && stats)
        ret = cfx_html_statistics(out, stats, anom, err);
    if (!ret && schema)
        ret = cfx_html_schema(out, schema, err);
    if (!ret && anom)
        ret = cfx_html_anomalies(out, anom, err);
    if (!ret && mrun)
        ret = cfx_html_training(out, mrun, err);
    if (!ret && (eval || bless))
        ret = cfx_html_evaluation(out, eval, bless, err);
    free(v);
    return ret;
}

int cfx_report_write(const cfx_report_opts_t *o, const char **kind,
                     cfx_error_t *err) {
    char p[PATH_MAX];
    char *page = NULL;
    size_t len = 0;
    const char *k = NULL;
    int ret = 0;
    FILE *out = open_memstream(&page, &len);
    if (!out)
        return cfx_error_set(err, CFX_ENOMEM, "report: out of memory");
    snprintf(p, sizeof p, "%s/%s", o->path, CFX_METADATA_FILE);
    int is_root = cfx_file_is_regular(p);
    if (!is_root && o->run_id) {
        ret = cfx_error_set(err, CFX_EINVAL,
                            "%s: --run needs a pipeline root (a folder with "
                            "%s)",
                            o->path, CFX_METADATA_FILE);
        goto out;
    }
    cfx_html_begin(out, is_root ? "cfx report: pipeline" : "cfx report");
    if (is_root) {
        k = "pipeline root";
        ret = root_report(out, o, err);
    } else if (cfx_show_statistics_detect(o->path)) {
        k = "statistics";
        header(out, "Statistics", o->path);
        fputs("<main>", out);
        ret = cfx_html_statistics(out, o->path, NULL, err);
    } else if (cfx_show_anomalies_detect(o->path)) {
        k = "anomalies";
        header(out, "Anomalies", o->path);
        fputs("<main>", out);
        ret = cfx_html_anomalies(out, o->path, err);
    } else if (cfx_show_schema_detect(o->path)) {
        k = "schema";
        header(out, "Schema", o->path);
        fputs("<main>", out);
        ret = cfx_html_schema(out, o->path, err);
    } else if (cfx_show_eval_detect(o->path)) {
        k = "evaluation";
        header(out, "Evaluation", o->path);
        fputs("<main>", out);
        ret = cfx_html_evaluation(out, o->path, NULL, err);
    } else if (cfx_html_has_training(o->path)) {
        k = "training";
        header(out, "Training", o->path);
        fputs("<main>", out);
        ret = cfx_html_training(out, o->path, err);
    } else {
        ret = cfx_error_set(err, CFX_EUNSUPPORTED,
                            "%s: not a pipeline root or an artifact cfx can "
                            "report on (statistics, schema, anomalies, "
                            "evaluation, blessing, training logs)",
                            o->path);
        goto out;
    }
    if (ret)
        goto out;
    fputs("</main>", out);
    cfx_html_end(out);
    if (fflush(out) != 0 || len > MAX_PAGE) {
        ret = cfx_error_set(err, CFX_ETOOBIG, "%s: the report is too big",
                            o->output);
        goto out;
    }
    ret = cfx_file_write_atomic(o->output, page, len, err);
out:
    fclose(out);
    free(page);
    if (!ret && kind)
        *kind = k;
    return ret;
}

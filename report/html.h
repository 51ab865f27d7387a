/*
 * html.h: `cfx report` — one self-contained HTML page for a person: the
 * statistics (Facets Overview's table with histograms, train and eval
 * overlaid), the schema and the anomalies, the evaluation (TFMA's slicing
 * view: metrics per slice, ROC, precision-recall and calibration plots,
 * the confusion matrix, thresholds and the blessing), the training curves
 * and, for a pipeline root, the run (component graph, each execution's
 * state, time and cache hit) and the lineage of the pushed version.
 *
 * The page has inline CSS and SVG and one small inline script (sorting and
 * filtering tables), and a Content-Security-Policy that forbids every
 * fetch, so it reads the same offline, printed or mailed. Every string
 * that comes from an artifact (feature names, values, paths, reasons) goes
 * through cfx_html_text, which escapes the five HTML metacharacters and
 * replaces invalid UTF-8 and control characters: data can never become
 * markup.
 *
 * Sections write to a FILE; the page is assembled in memory and written
 * atomically. Reentrant; one page per thread.
 */
#ifndef CFX_REPORT_HTML_H
#define CFX_REPORT_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "formats/err.h"

/* --- writing the page (html.c) ------------------------------------------ */

/* Writes s (NUL-terminated UTF-8, may be NULL: nothing) as HTML text, also
 * safe inside a double- or single-quoted attribute value. */
void cfx_html_text(FILE *out, const char *s);
/* The same for n bytes of s (no NUL needed). */
void cfx_html_textn(FILE *out, const char *s, size_t n);
/* printf, then the result escaped as cfx_html_text (at most 4 KiB). */
void cfx_html_textf(FILE *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The page's head (title escaped), style and opening body. */
void cfx_html_begin(FILE *out, const char *title);
/* The script and the end of the page. */
void cfx_html_end(FILE *out);
/* A number for a table cell: data-v holds the full value for sorting, the
 * text is %.4g ("-" for NaN). */
void cfx_html_num_cell(FILE *out, double v, const char *cls);

/* --- charts (svg.c) ----------------------------------------------------- */

typedef struct cfx_svg_bucket {
    double low, high, count;
} cfx_svg_bucket_t;

typedef struct cfx_svg_hist {
    const char *name; /* legend text: "train", "eval" */
    const cfx_svg_bucket_t *b;
    size_t n;
    int style; /* 0: filled blue (train), 1: outlined orange (eval) */
} cfx_svg_hist_t;

/* Histograms overlaid on one x axis; each series scaled to its own total
 * (share of the split's values per bucket), so splits of different sizes
 * compare. */
void cfx_svg_histogram(FILE *out, const cfx_svg_hist_t *h, size_t n_series,
                       int width, int height);

typedef struct cfx_svg_series {
    const char *name;
    const double *x, *y; /* n points; NaN y: a gap */
    size_t n;
    int dots; /* 1: mark each point (calibration buckets) */
} cfx_svg_series_t;

typedef struct cfx_svg_plot {
    const char *title, *x_label, *y_label;
    double x0, x1, y0, y1; /* axis ranges; x0 == x1: from the data */
    int diagonal;          /* draw y = x (ROC, calibration) */
    int legend;            /* corner: 0 top right, 1 bottom right,
                              2 bottom left (where the curves are not) */
    int width, height;
} cfx_svg_plot_t;

/* A line chart with axes, ticks, a legend and a <title> per series. */
void cfx_svg_lines(FILE *out, const cfx_svg_plot_t *p,
                   const cfx_svg_series_t *s, size_t n_series);

/* --- sections (html_<kind>.c) ------------------------------------------- */

/* Statistics of one or more splits, overlaid; anomalies (path may be NULL)
 * mark features. stats_path: an ExampleStatistics artifact or one file. */
int cfx_html_statistics(FILE *out, const char *stats_path,
                        const char *anomalies_path, cfx_error_t *err);
int cfx_html_schema(FILE *out, const char *schema_path, cfx_error_t *err);
int cfx_html_anomalies(FILE *out, const char *anomalies_path, cfx_error_t *err);
/* evaluation_path and blessing_path: either may be NULL. */
int cfx_html_evaluation(FILE *out, const char *evaluation_path,
                        const char *blessing_path, cfx_error_t *err);
/* Training curves from the ModelRun's TensorBoard event files. */
int cfx_html_training(FILE *out, const char *model_run_path, cfx_error_t *err);
/* 1 when path is a ModelRun: train/events.out.tfevents.* present. */
int cfx_html_has_training(const char *path);
/* The run section is cfx_html_run_view (report/run_view.h). */

#endif

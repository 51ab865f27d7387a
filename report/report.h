/*
 * report.h: `cfx report PATH --output FILE.html` (html.h has the page).
 *
 * PATH is a pipeline root (a folder holding metadata.sqlite: every section,
 * from the artifacts of the latest execution of each component, or of one
 * run), or any single artifact `cfx show` takes: statistics, schema,
 * anomalies, an evaluation or blessing (or `cfx evaluate --output`), or a
 * ModelRun of training logs.
 *
 * Reentrant; one report per thread.
 */
#ifndef CFX_REPORT_REPORT_H
#define CFX_REPORT_REPORT_H

#include "formats/err.h"

typedef struct cfx_report_opts {
    const char *path;   /* what to report on */
    const char *output; /* the HTML file, written atomically */
    const char *run_id; /* a root's run (cfx run's id); NULL: the latest */
} cfx_report_opts_t;

/* The kind PATH was taken for ("pipeline root", "statistics", ...) goes to
 * *kind (static string) when kind is not NULL. CFX_EUNSUPPORTED when PATH
 * is none of the forms above. */
int cfx_report_write(const cfx_report_opts_t *o, const char **kind,
                     cfx_error_t *err);

#endif

/*
 * run_view.h: a pipeline run as `cfx report` shows it, read from the
 * metadata store of a pipeline root: the executions (the latest of each
 * component, or those of one run), each with its state, time, cache source
 * and summary, and the artifacts each read and wrote. The report's other
 * sections find their artifacts here (statistics, schema, ...).
 *
 * Reads the store only. One view per thread.
 */
#ifndef CFX_REPORT_RUN_VIEW_H
#define CFX_REPORT_RUN_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/err.h"
#include "mlmd/metadata.h"

#define CFX_RUN_VIEW_MAX_EXECS 32
#define CFX_RUN_VIEW_MAX_IO 8

typedef struct cfx_run_view_io {
    char key[CFX_MD_NAME_MAX];
    int64_t artifact_id;
    char type[CFX_MD_NAME_MAX];
    char uri[CFX_MD_URI_MAX];
} cfx_run_view_io_t;

typedef struct cfx_run_view_exec {
    cfx_md_execution_t e;
    int64_t cached_from; /* 0: not from the cache */
    char summary[512];
    cfx_run_view_io_t in[CFX_RUN_VIEW_MAX_IO], out[CFX_RUN_VIEW_MAX_IO];
    size_t n_in, n_out;
} cfx_run_view_exec_t;

typedef struct cfx_run_view {
    char root[CFX_MD_URI_MAX];
    char run_id[256]; /* "" for the latest of each component */
    cfx_run_view_exec_t x[CFX_RUN_VIEW_MAX_EXECS]; /* by execution id */
    size_t n;
} cfx_run_view_t;

/* Loads the view of root (which must hold a store: CFX_ENOTFOUND
 * otherwise); run_id NULL: the latest execution of each component. *out is
 * heap-allocated; free() it. */
int cfx_run_view_load(const char *root, const char *run_id,
                      cfx_run_view_t **out, cfx_error_t *err);

/* The uri of the output of an execution of `component` with output key
 * `key` (the newest such execution of the view), or NULL. */
const char *cfx_run_view_output(const cfx_run_view_t *v, const char *component,
                                const char *key);

/* The run section: the component graph (SVG), a table of the executions
 * and the lineage of the pushed version when the view has one. */
int cfx_html_run_view(FILE *out, const cfx_run_view_t *v, cfx_error_t *err);

#endif

/*
 * show.h: `cfx show PATH` — renders an artifact for a person.
 *
 * One renderer per artifact kind, found through a dispatch table in show.c:
 * each entry says whether a path is its kind (detect) and prints it
 * (render). A new kind (evaluation, blessing, ...) is a new show_<kind>.c
 * with its two functions and one line in the table.
 *
 * Output is plain text with unicode block characters for bars; widths are
 * counted in code points. Not thread-safe only in that it writes to `out`.
 */
#ifndef CFX_REPORT_SHOW_H
#define CFX_REPORT_SHOW_H

#include <stddef.h>
#include <stdio.h>

#include "data/schema_infer.h"
#include "formats/err.h"

typedef struct cfx_show_kind {
    const char *name; /* "statistics", "schema", "anomalies", ... */
    /* 1 when path (a file or an artifact directory) is of this kind. */
    int (*detect)(const char *path);
    int (*render)(const char *path, FILE *out, cfx_error_t *err);
} cfx_show_kind_t;

/* The table, in detection order (first match wins); *n gets its length. */
const cfx_show_kind_t *cfx_show_kinds(size_t *n);

/* Detects the kind of path and renders it; CFX_EUNSUPPORTED (naming the
 * kinds known) when no renderer recognises it. kind may be NULL (detect) or
 * one of the names to force a renderer. */
int cfx_show(const char *path, const char *kind, FILE *out, cfx_error_t *err);

/* --- the renderers (show_<kind>.c) -------------------------------------------
 */

int cfx_show_statistics_detect(const char *path);
int cfx_show_statistics(const char *path, FILE *out, cfx_error_t *err);
int cfx_show_schema_detect(const char *path);
int cfx_show_schema(const char *path, FILE *out, cfx_error_t *err);
int cfx_show_anomalies_detect(const char *path);
int cfx_show_anomalies(const char *path, FILE *out, cfx_error_t *err);

/* --- helpers for renderers (show_table.c) -----------------------------------
 */

/* A text table: cells are added row by row, left to right; printed with
 * columns padded to their widest cell. Caller-owned struct. */
typedef struct cfx_show_table {
    size_t n_cols;
    char **cells; /* row-major, owned */
    size_t n_cells, cap;
    unsigned right_align; /* bit i: column i is right-aligned */
} cfx_show_table_t;

void cfx_show_table_init(cfx_show_table_t *t, size_t n_cols);
void cfx_show_table_free(cfx_show_table_t *t);
int cfx_show_table_cell(cfx_show_table_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints the table with a rule under the first row (the header). */
int cfx_show_table_print(const cfx_show_table_t *t, FILE *out);
/* Display width of a UTF-8 string in code points. */
size_t cfx_show_width(const char *s);
/* A bar of `width` cells for fraction in [0, 1], in eighth blocks. */
void cfx_show_bar(double fraction, size_t width, char *out, size_t n);
/* One block character (of 8 heights) per value, scaled to max. */
void cfx_show_spark(const double *v, size_t n, char *out, size_t out_n);
/* "Split-<name>/<file>" directories or a lone file: 1 if path has any. */
int cfx_show_has_split_file(const char *path, const char *file);
/* 1 when path names a file whose base name is `file`. */
int cfx_show_is_file(const char *path, const char *file);

/* Renders one split's `file` (path) under the split name (may be ""). */
typedef int (*cfx_show_split_fn)(const char *split, const char *path, FILE *out,
                                 cfx_error_t *err);
/* Calls render for each split of an artifact given as path: the file
 * itself or a folder holding it (one split, named after its Split-<name>
 * folder, else ""), or an artifact folder with Split-<name>/<file> ("train"
 * first, then byte order). Stops at the first error and returns it. */
int cfx_show_each_split(const char *path, const char *file,
                        cfx_show_split_fn render, FILE *out, cfx_error_t *err);
/* The same with any context in place of the FILE. */
typedef int (*cfx_show_split_ud_fn)(void *ud, const char *split,
                                    const char *path, cfx_error_t *err);
int cfx_show_each_split_ud(const char *path, const char *file,
                           cfx_show_split_ud_fn fn, void *ud, cfx_error_t *err);

/* The columns of one schema feature as `cfx show` writes them
 * (show_schema.c); `cfx report` shows the same words. */
typedef struct cfx_show_schema_row {
    const char *type; /* "INT", ... or "-" (static) */
    char presence[64], valency[64], domain[300];
    int deprecated;
} cfx_show_schema_row_t;
void cfx_show_schema_describe(const cfx_schema_feature_t *f,
                              cfx_show_schema_row_t *r);

#endif

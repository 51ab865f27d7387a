/*
 * show_table.c: the small text-layout helpers the `cfx show` renderers
 * share: padded tables, unicode block bars and sparklines, artifact
 * detection by file layout.
 */
#include "report/show.h"

#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/schema_infer.h"
#include "formats/file.h"

/* Longest cell kept; longer text is cut with an ellipsis. */
#define MAX_CELL 4200

void cfx_show_table_init(cfx_show_table_t *t, size_t n_cols) {
    memset(t, 0, sizeof *t);
    t->n_cols = n_cols;
}

void cfx_show_table_free(cfx_show_table_t *t) {
    for (size_t i = 0; i < t->n_cells; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

int cfx_show_table_cell(cfx_show_table_t *t, const char *fmt, ...) {
    char buf[MAX_CELL + 4];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf, MAX_CELL + 1, fmt, ap);
    va_end(ap);
    if (k > MAX_CELL) {
        /* Cut at a code point boundary, then mark the cut. */
        size_t w = MAX_CELL;
        while (w > 0 && ((unsigned char)buf[w] & 0xC0) == 0x80)
            w--;
        memcpy(buf + w, "\xe2\x80\xa6", 4);
    }
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    if (t->n_cells == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **nc = realloc(t->cells, cap * sizeof *nc);
        if (!nc)
            return CFX_ENOMEM;
        t->cells = nc;
        t->cap = cap;
    }
    char *c = strdup(buf);
    if (!c)
        return CFX_ENOMEM;
    t->cells[t->n_cells++] = c;
    return 0;
}

size_t cfx_show_width(const char *s) {
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

int cfx_show_table_print(const cfx_show_table_t *t, FILE *out) {
    if (t->n_cols == 0 || t->n_cells == 0)
        return 0;
    size_t widths[32] = {0};
    size_t nc = t->n_cols < 32 ? t->n_cols : 32;
    for (size_t i = 0; i < t->n_cells; i++) {
        size_t c = i % t->n_cols;
        if (c < nc) {
            size_t w = cfx_show_width(t->cells[i]);
            if (w > widths[c])
                widths[c] = w;
        }
    }
    size_t total = 0;
    for (size_t c = 0; c < nc; c++)
        total += widths[c] + (c ? 2 : 0);
    for (size_t i = 0; i < t->n_cells; i++) {
        size_t c = i % t->n_cols;
        if (c >= nc)
            continue;
        size_t pad = widths[c] - cfx_show_width(t->cells[i]);
        int last = c + 1 == nc || i + 1 == t->n_cells;
        if (c)
            fputs("  ", out);
        if (t->right_align & (1u << c))
            fprintf(out, "%*s%s", (int)pad, "", t->cells[i]);
        else if (last)
            fputs(t->cells[i], out);
        else
            fprintf(out, "%s%*s", t->cells[i], (int)pad, "");
        if (last) {
            fputc('\n', out);
            if (i + 1 == t->n_cols) {
                for (size_t k = 0; k < total; k++)
                    fputs("\xe2\x94\x80", out); /* ─ */
                fputc('\n', out);
            }
        }
    }
    return ferror(out) ? CFX_EIO : 0;
}

static const char *const eighths[] = {"",
                                      "\xe2\x96\x8f",
                                      "\xe2\x96\x8e",
                                      "\xe2\x96\x8d",
                                      "\xe2\x96\x8c",
                                      "\xe2\x96\x8b",
                                      "\xe2\x96\x8a",
                                      "\xe2\x96\x89"};

void cfx_show_bar(double fraction, size_t width, char *out, size_t n) {
    if (n == 0)
        return;
    out[0] = 0;
    if (!(fraction > 0))
        return;
    if (fraction > 1)
        fraction = 1;
    size_t units = (size_t)llround(fraction * (double)width * 8);
    if (units == 0)
        units = 1; /* something visible for any non-zero share */
    size_t w = 0;
    for (size_t i = 0; i < units / 8 && w + 4 < n; i++) {
        memcpy(out + w, "\xe2\x96\x88", 3); /* █ */
        w += 3;
    }
    if (units % 8 && w + 4 < n) {
        memcpy(out + w, eighths[units % 8], 3);
        w += 3;
    }
    out[w] = 0;
}

void cfx_show_spark(const double *v, size_t n, char *out, size_t out_n) {
    static const char *const blocks[] = {
        "\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
        "\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88"};
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] > max)
            max = v[i];
    size_t w = 0;
    for (size_t i = 0; i < n && w + 4 < out_n; i++) {
        if (!(v[i] > 0) || !(max > 0)) {
            out[w++] = ' ';
            continue;
        }
        int level = (int)ceil(v[i] / max * 8) - 1;
        if (level < 0)
            level = 0;
        if (level > 7)
            level = 7;
        memcpy(out + w, blocks[level], 3);
        w += 3;
    }
    if (out_n)
        out[w < out_n ? w : out_n - 1] = 0;
}

int cfx_show_is_file(const char *path, const char *file) {
    if (!cfx_file_is_regular(path))
        return 0;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return !strcmp(base, file);
}

int cfx_show_each_split_ud(const char *path, const char *file,
                           cfx_show_split_ud_fn render, void *ud,
                           cfx_error_t *err) {
    char p[PATH_MAX];
    struct stat st;
    int is_file = cfx_show_is_file(path, file);
    if (is_file ||
        (snprintf(p, sizeof p, "%s/%s", path, file) < (int)sizeof p &&
         stat(p, &st) == 0)) {
        /* One split: name it after its Split-<name> directory. */
        char copy[PATH_MAX];
        snprintf(copy, sizeof copy, "%s", path);
        if (is_file) {
            char *slash = strrchr(copy, '/');
            if (slash)
                *slash = 0;
            else
                snprintf(copy, sizeof copy, ".");
        }
        const char *base = basename(copy);
        return render(ud, strncmp(base, "Split-", 6) ? "" : base + 6, path,
                      err);
    }
    char **names = NULL;
    size_t n = 0;
    int rc = cfx_schema_split_names(path, file, &names, &n, err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        snprintf(p, sizeof p, "%s/Split-%s/%s", path, names[i], file);
        rc = render(ud, names[i], p, err);
    }
    cfx_schema_split_names_free(names, n);
    return rc;
}

typedef struct with_file {
    cfx_show_split_fn render;
    FILE *out;
} with_file_t;

static int call_with_file(void *ud, const char *split, const char *path,
                          cfx_error_t *err) {
    const with_file_t *w = ud;
    return w->render(split, path, w->out, err);
}

int cfx_show_each_split(const char *path, const char *file,
                        cfx_show_split_fn render, FILE *out, cfx_error_t *err) {
    with_file_t w = {render, out};
    return cfx_show_each_split_ud(path, file, call_with_file, &w, err);
}

int cfx_show_has_split_file(const char *path, const char *file) {
    char p[PATH_MAX];
    if (cfx_show_is_file(path, file))
        return 1;
    if (snprintf(p, sizeof p, "%s/%s", path, file) < (int)sizeof p &&
        cfx_file_is_regular(p))
        return 1;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d))) {
        if (strncmp(e->d_name, "Split-", 6))
            continue;
        if (snprintf(p, sizeof p, "%s/%s/%s", path, e->d_name, file) <
                (int)sizeof p &&
            cfx_file_is_regular(p))
            found = 1;
    }
    closedir(d);
    return found;
}

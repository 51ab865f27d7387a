/*
 * csv.c: streaming CSV reader (semantics in csv.h) over libcsv.
 *
 * The header line is split here (no quote handling, as TFX does); the
 * records go through libcsv's csv_parse, which calls back per cell (the
 * cell's bytes are copied into one growable record buffer, bounded by
 * CFX_CSV_MAX_RECORD, and the cells point into it) and per record.
 *
 * The file is read in 1 MiB chunks and handed to csv_parse one physical
 * line at a time, so the line where a record starts is known: '\n',
 * '\r\n' and a lone '\r' each end one line, inside quotes too, so the line
 * of an error is what an editor shows. A record can only end at a line
 * end, so each call completes at most one record.
 *
 * libcsv is configured to match Python's csv module (excel dialect,
 * strict=False): no whitespace is trimmed (the space function says no to
 * every byte), and text after the closing quote of a quoted cell is
 * appended to the cell unquoted. libcsv on its own would keep that quote
 * and the cell open; a line is therefore also cut after each '"', and
 * when the parser stands just after a quote inside a quoted cell and the
 * next byte is not ',', '"' or a line end, the cell is switched to
 * unquoted (the quote dropped) through the parser's public state
 * (struct csv_parser in <csv.h>).
 */
#include "data/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csv.h>

#define CHUNK (1u << 20)

typedef struct cell_span {
    size_t off, len;
} cell_span_t;

struct cfx_csv_reader {
    int fd;
    char *path;
    uint8_t *buf;
    size_t pos, len;
    int eof;
    uint64_t offset; /* bytes consumed */
    uint64_t line;   /* line of the next byte */
    int prev_cr;
    /* header */
    char **cols;
    size_t ncols;
    /* current record */
    uint8_t *rec;
    size_t rec_len, rec_cap;
    cell_span_t *spans;
    cfx_csv_cell_t *cells;
    /* libcsv */
    struct csv_parser parser;
    int parser_ready;
    int row_open;        /* a record has begun and not ended */
    int row_done;        /* the record callback ran */
    int after_quote;     /* the last byte handed to libcsv was '"' */
    size_t ncells;       /* cells of the current record */
    size_t row_bytes;    /* bytes of the current record handed to libcsv */
    uint64_t start_line; /* line where the current record starts */
    int cb_err;          /* error code from a callback */
};

static int fill(cfx_csv_reader_t *r, cfx_error_t *err) {
    if (r->eof)
        return 0;
    for (;;) {
        ssize_t n = read(r->fd, r->buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cfx_error_set(err, CFX_EIO, "%s: read: %s", r->path,
                                 strerror(errno));
        r->pos = 0;
        r->len = (size_t)n;
        if (n == 0)
            r->eof = 1;
        return n > 0;
    }
}

/* Next byte: 1 with *c set, 0 at end of file, or a negative code. */
static inline int getbyte(cfx_csv_reader_t *r, uint8_t *c, cfx_error_t *err) {
    if (r->pos == r->len) {
        int rc = fill(r, err);
        if (rc <= 0)
            return rc;
    }
    *c = r->buf[r->pos++];
    r->offset++;
    if (*c == '\r') {
        r->line++;
        r->prev_cr = 1;
    } else {
        if (*c == '\n' && !r->prev_cr)
            r->line++;
        r->prev_cr = 0;
    }
    return 1;
}

int cfx_utf8_valid(const char *str, size_t n, size_t *bad) {
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            goto invalid;
        }
        if (i + need >= n)
            goto invalid;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                goto invalid;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            goto invalid;
        i += need + 1;
    }
    return 1;
invalid:
    if (bad)
        *bad = i;
    return 0;
}

static int is_space(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

static int read_header(cfx_csv_reader_t *r, cfx_error_t *err) {
    int rc = 0;
    size_t len = 0;
    uint8_t c;
    /* first physical line, up to '\n' */
    for (;;) {
        int g = getbyte(r, &c, err);
        if (g < 0)
            return g;
        if (g == 0 || c == '\n')
            break;
        if (c == '\r') { /* '\r\n' or a lone '\r' ends the header too */
            uint8_t c2;
            int g2 = getbyte(r, &c2, err);
            if (g2 < 0)
                return g2;
            if (g2 == 1 && c2 != '\n') {
                r->pos--; /* the byte is still in the buffer: unread it */
                r->offset--;
            }
            break;
        }
        if (len >= CFX_CSV_MAX_RECORD)
            return cfx_error_set(err, CFX_ETOOBIG,
                                 "%s:1: header longer than %u bytes", r->path,
                                 CFX_CSV_MAX_RECORD);
        if (len == r->rec_cap) {
            size_t cap = r->rec_cap ? r->rec_cap * 2 : 4096;
            uint8_t *p = realloc(r->rec, cap);
            if (!p)
                return cfx_error_set(err, CFX_ENOMEM, "%s: header", r->path);
            r->rec = p;
            r->rec_cap = cap;
        }
        r->rec[len++] = c;
    }
    /* whatever ended the header line, the next line is 2 */
    r->line = 2;
    r->prev_cr = 0;
    const uint8_t *s = r->rec;
    size_t a = 0, b = len;
    if (b >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
        a = 3;
    while (a < b && is_space(s[a]))
        a++;
    while (b > a && is_space(s[b - 1]))
        b--;
    if (a == b)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s:1: empty file (no header line)", r->path);
    size_t bad;
    if (!cfx_utf8_valid((const char *)s + a, b - a, &bad))
        return cfx_error_set(err, CFX_EPARSE,
                             "%s:1: header: invalid UTF-8 at byte %zu", r->path,
                             a + bad + 1);
    size_t n = 1;
    for (size_t i = a; i < b; i++)
        n += s[i] == ',';
    if (n > CFX_CSV_MAX_CELLS)
        return cfx_error_set(err, CFX_ETOOBIG, "%s:1: more than %u columns",
                             r->path, CFX_CSV_MAX_CELLS);
    r->cols = calloc(n, sizeof *r->cols);
    r->spans = calloc(n + 1, sizeof *r->spans);
    r->cells = calloc(n + 1, sizeof *r->cells);
    if (!r->cols || !r->spans || !r->cells)
        return cfx_error_set(err, CFX_ENOMEM, "%s: header", r->path);
    r->ncols = n;
    size_t start = a, k = 0;
    for (size_t i = a; i <= b; i++) {
        if (i < b && s[i] != ',')
            continue;
        size_t l = i - start;
        if (l == 0) {
            rc = cfx_error_set(err, CFX_EPARSE,
                               "%s:1: header: column %zu has an empty name",
                               r->path, k + 1);
            return rc;
        }
        r->cols[k] = malloc(l + 1);
        if (!r->cols[k])
            return cfx_error_set(err, CFX_ENOMEM, "%s: header", r->path);
        memcpy(r->cols[k], s + start, l);
        r->cols[k][l] = '\0';
        for (size_t j = 0; j < k; j++)
            if (strcmp(r->cols[j], r->cols[k]) == 0)
                return cfx_error_set(err, CFX_EPARSE,
                                     "%s:1: header: column '%s' appears twice "
                                     "(columns %zu and %zu)",
                                     r->path, r->cols[k], j + 1, k + 1);
        k++;
        start = i + 1;
    }
    return 0;
}

/* libcsv trims the bytes this accepts around unquoted cells; Python's csv
 * module trims nothing. */
static int no_space(unsigned char c) {
    (void)c;
    return 0;
}

int cfx_csv_open(const char *path, cfx_csv_reader_t **out, cfx_error_t *err) {
    int rc = 0;
    *out = NULL;
    cfx_csv_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        return cfx_error_set(err, CFX_ENOMEM, "%s: reader", path);
    r->fd = -1;
    r->path = strdup(path);
    r->buf = malloc(CHUNK);
    if (!r->path || !r->buf) {
        rc = cfx_error_set(err, CFX_ENOMEM, "%s: reader", path);
        goto out;
    }
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        rc = cfx_error_set(err, errno == ENOENT ? CFX_ENOTFOUND : CFX_EIO,
                           "%s: %s", path, strerror(errno));
        goto out;
    }
    r->line = 1;
    rc = read_header(r, err);
    if (rc == 0) {
        if (csv_init(&r->parser, 0) != 0) {
            rc = cfx_error_set(err, CFX_ENOMEM, "%s: reader", path);
            goto out;
        }
        r->parser_ready = 1;
        csv_set_space_func(&r->parser, no_space);
        csv_set_blk_size(&r->parser, 64 * 1024);
    }
out:
    if (rc < 0) {
        cfx_csv_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void cfx_csv_close(cfx_csv_reader_t *r) {
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    if (r->cols)
        for (size_t i = 0; i < r->ncols; i++)
            free(r->cols[i]);
    free(r->cols);
    free(r->spans);
    free(r->cells);
    free(r->rec);
    free(r->buf);
    if (r->parser_ready)
        csv_free(&r->parser);
    free(r->path);
    free(r);
}

size_t cfx_csv_num_columns(const cfx_csv_reader_t *r) {
    return r->ncols;
}

const char *cfx_csv_column(const cfx_csv_reader_t *r, size_t i) {
    return i < r->ncols ? r->cols[i] : NULL;
}

uint64_t cfx_csv_offset(const cfx_csv_reader_t *r) {
    return r->offset;
}

/* libcsv's cell callback: the cell's bytes are copied into the record
 * buffer (libcsv reuses its own). Cells past the header's count are only
 * counted. */
static void on_cell(void *data, size_t len, void *ctx) {
    cfx_csv_reader_t *r = ctx;
    size_t k = r->ncells++;
    if (k >= r->ncols || r->cb_err)
        return;
    if (r->rec_len + len > r->rec_cap) {
        size_t cap = r->rec_cap ? r->rec_cap : 4096;
        while (cap < r->rec_len + len)
            cap *= 2;
        uint8_t *p = realloc(r->rec, cap);
        if (!p) {
            r->cb_err = CFX_ENOMEM;
            return;
        }
        r->rec = p;
        r->rec_cap = cap;
    }
    if (len)
        memcpy(r->rec + r->rec_len, data, len);
    r->spans[k].off = r->rec_len;
    r->spans[k].len = len;
    r->rec_len += len;
}

static void on_row(int c, void *ctx) {
    (void)c;
    cfx_csv_reader_t *r = ctx;
    r->row_done = 1;
    r->row_open = 0;
}

/* Hands [p, p + n) to libcsv; it holds at most one line end, at its end. */
static int feed(cfx_csv_reader_t *r, const uint8_t *p, size_t n,
                cfx_error_t *err) {
    struct csv_parser *cp = &r->parser;
    if (r->after_quote && cp->pstate == 3 /* FIELD_MIGHT_HAVE_ENDED */ &&
        cp->spaces == 0 && p[0] != ',' && p[0] != '"' && p[0] != '\n' &&
        p[0] != '\r') {
        /* Python: after a closing quote the cell goes on unquoted */
        cp->entry_pos--; /* the quote libcsv kept */
        cp->quoted = 0;
        cp->pstate = 2; /* FIELD_BEGUN */
    }
    if (!r->row_open) {
        size_t k = 0;
        while (k < n && (p[k] == '\n' || p[k] == '\r'))
            k++;
        if (k < n) {
            r->row_open = 1;
            r->start_line = r->line;
            r->ncells = 0;
            r->rec_len = 0;
            r->row_bytes = 0;
        }
    }
    if (r->row_open) {
        r->row_bytes += n;
        if (r->row_bytes > CFX_CSV_MAX_RECORD)
            return cfx_error_set(
                err, CFX_ETOOBIG, "%s:%llu: record longer than %u bytes",
                r->path, (unsigned long long)r->start_line, CFX_CSV_MAX_RECORD);
    }
    if (csv_parse(cp, p, n, on_cell, on_row, r) != n)
        return cfx_error_set(err, CFX_ENOMEM, "%s:%llu: %s", r->path,
                             (unsigned long long)r->start_line,
                             csv_strerror(csv_error(cp)));
    if (r->cb_err)
        return cfx_error_set(err, r->cb_err, "%s: record buffer", r->path);
    r->after_quote = p[n - 1] == '"';
    /* line counting: '\r\n' is one line end */
    uint8_t last = p[n - 1];
    if (last == '\r' || (last == '\n' && !(n == 1 && r->prev_cr)))
        r->line++;
    r->prev_cr = last == '\r';
    r->offset += n;
    return 0;
}

/* Checks and returns the record libcsv has just completed. */
static int finish_row(cfx_csv_reader_t *r, cfx_csv_row_t *row,
                      cfx_error_t *err) {
    if (r->ncells != r->ncols)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s:%llu: expected %zu cells (as in the header), "
                             "got %zu",
                             r->path, (unsigned long long)r->start_line,
                             r->ncols, r->ncells);
    /* cell by cell: two halves of a character in adjacent cells are each
     * invalid although their concatenation is not */
    for (size_t col = 0; col < r->ncells; col++) {
        size_t bad;
        if (!cfx_utf8_valid((const char *)r->rec + r->spans[col].off,
                            r->spans[col].len, &bad))
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s:%llu: column '%s': invalid UTF-8 at "
                                 "byte %zu of the cell",
                                 r->path, (unsigned long long)r->start_line,
                                 r->cols[col], bad + 1);
    }
    for (size_t i = 0; i < r->ncells; i++) {
        r->cells[i].data = (const char *)r->rec + r->spans[i].off;
        r->cells[i].len = r->spans[i].len;
    }
    row->cells = r->cells;
    row->count = r->ncells;
    row->line = r->start_line;
    return 1;
}

int cfx_csv_next(cfx_csv_reader_t *r, cfx_csv_row_t *row, cfx_error_t *err) {
    int rc;
    r->row_done = 0;
    for (;;) {
        if (r->pos == r->len) {
            rc = fill(r, err);
            if (rc < 0)
                return rc;
            if (rc == 0)
                break;
        }
        /* up to and including the next line end or quote */
        const uint8_t *p = r->buf + r->pos;
        size_t n = r->len - r->pos, k = 0;
        while (k < n && p[k] != '\n' && p[k] != '\r' && p[k] != '"')
            k++;
        if (k < n)
            k++;
        r->pos += k;
        if ((rc = feed(r, p, k, err)) < 0)
            return rc;
        if (r->row_done)
            return finish_row(r, row, err);
    }
    /* end of file */
    if (!r->row_open)
        return 0;
    struct csv_parser *cp = &r->parser;
    if (cp->pstate == 2 /* FIELD_BEGUN */ && cp->quoted) {
        r->row_open = 0;
        csv_fini(cp, NULL, NULL, NULL);
        return cfx_error_set(err, CFX_EPARSE,
                             "%s:%llu: quoted cell not closed before end of "
                             "file",
                             r->path, (unsigned long long)r->start_line);
    }
    csv_fini(cp, on_cell, on_row, r);
    r->row_open = 0;
    if (r->cb_err)
        return cfx_error_set(err, r->cb_err, "%s: record buffer", r->path);
    if (!r->row_done)
        return 0;
    return finish_row(r, row, err);
}

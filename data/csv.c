/*
 * csv.c: streaming CSV reader (semantics in csv.h).
 *
 * The file is read in 1 MiB chunks; each record is unquoted into one
 * growable buffer (bounded by CFX_CSV_MAX_RECORD) and the cells point into
 * it, so a row costs no allocation once the buffers have warmed up.
 * Lines are counted at the byte level: '\n', '\r\n' and a lone '\r' each
 * end one line, inside quotes too, so the line of an error is what an
 * editor shows.
 */
#include "data/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

enum { START_RECORD, START_FIELD, IN_FIELD, IN_QUOTED, QUOTE_IN_QUOTED };

static inline int rec_put(cfx_csv_reader_t *r, uint8_t c, uint64_t line,
                          cfx_error_t *err) {
    if (r->rec_len == r->rec_cap) {
        if (r->rec_cap >= CFX_CSV_MAX_RECORD)
            return cfx_error_set(
                err, CFX_ETOOBIG, "%s:%llu: record longer than %u bytes",
                r->path, (unsigned long long)line, CFX_CSV_MAX_RECORD);
        size_t cap = r->rec_cap ? r->rec_cap * 2 : 4096;
        if (cap > CFX_CSV_MAX_RECORD)
            cap = CFX_CSV_MAX_RECORD;
        uint8_t *p = realloc(r->rec, cap);
        if (!p)
            return cfx_error_set(err, CFX_ENOMEM, "%s: record buffer", r->path);
        r->rec = p;
        r->rec_cap = cap;
    }
    r->rec[r->rec_len++] = c;
    return 0;
}

int cfx_csv_next(cfx_csv_reader_t *r, cfx_csv_row_t *row, cfx_error_t *err) {
    int rc;
    uint8_t c;
    int state = START_RECORD;
    size_t ncells = 0, cell_start = 0;
    uint64_t start_line = r->line;
    r->rec_len = 0;

#define END_CELL()                                                             \
    do {                                                                       \
        if (ncells <= r->ncols) {                                              \
            r->spans[ncells].off = cell_start;                                 \
            r->spans[ncells].len = r->rec_len - cell_start;                    \
        }                                                                      \
        ncells++;                                                              \
        cell_start = r->rec_len;                                               \
    } while (0)

    for (;;) {
        int g;
        /* fast path: the plain bytes of an unquoted cell, copied at once
         * (no line breaks among them, so line counting is unaffected) */
        if (state == IN_FIELD && r->pos < r->len) {
            size_t j = r->pos;
            while (j < r->len) {
                c = r->buf[j];
                if (c == ',' || c == '\n' || c == '\r')
                    break;
                j++;
            }
            size_t n = j - r->pos;
            if (n) {
                if (r->rec_len + n > r->rec_cap) {
                    /* grow through rec_put, which enforces the limit */
                    for (size_t k = r->pos; k < j; k++)
                        if ((rc = rec_put(r, r->buf[k], start_line, err)) < 0)
                            return rc;
                } else {
                    memcpy(r->rec + r->rec_len, r->buf + r->pos, n);
                    r->rec_len += n;
                }
                r->pos = j;
                r->offset += n;
                r->prev_cr = 0;
            }
        }
        g = getbyte(r, &c, err);
        if (g < 0)
            return g;
        if (g == 0)
            break;
        switch (state) {
        case START_RECORD:
            if (c == '\n' || c == '\r') {
                start_line = r->line; /* blank line: skipped */
                continue;
            }
            /* fall through */
        case START_FIELD:
            if (c == '"') {
                state = IN_QUOTED;
            } else if (c == ',') {
                END_CELL();
                state = START_FIELD;
            } else if (c == '\n' || c == '\r') {
                END_CELL();
                goto record;
            } else {
                if ((rc = rec_put(r, c, start_line, err)) < 0)
                    return rc;
                state = IN_FIELD;
            }
            break;
        case IN_FIELD:
            if (c == ',') {
                END_CELL();
                state = START_FIELD;
            } else if (c == '\n' || c == '\r') {
                END_CELL();
                goto record;
            } else if ((rc = rec_put(r, c, start_line, err)) < 0) {
                return rc;
            }
            break;
        case IN_QUOTED:
            if (c == '"')
                state = QUOTE_IN_QUOTED;
            else if ((rc = rec_put(r, c, start_line, err)) < 0)
                return rc;
            break;
        case QUOTE_IN_QUOTED:
            if (c == '"') {
                if ((rc = rec_put(r, c, start_line, err)) < 0)
                    return rc;
                state = IN_QUOTED;
            } else if (c == ',') {
                END_CELL();
                state = START_FIELD;
            } else if (c == '\n' || c == '\r') {
                END_CELL();
                goto record;
            } else {
                if ((rc = rec_put(r, c, start_line, err)) < 0)
                    return rc;
                state = IN_FIELD;
            }
            break;
        }
    }
    /* end of file */
    if (state == START_RECORD)
        return 0;
    if (state == IN_QUOTED)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s:%llu: quoted cell not closed before end of "
                             "file",
                             r->path, (unsigned long long)start_line);
    END_CELL();
record:
#undef END_CELL
    if (ncells != r->ncols)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s:%llu: expected %zu cells (as in the header), "
                             "got %zu",
                             r->path, (unsigned long long)start_line, r->ncols,
                             ncells);
    /* cell by cell: two halves of a character in adjacent cells are each
     * invalid although their concatenation is not */
    for (size_t col = 0; col < ncells; col++) {
        size_t bad;
        if (!cfx_utf8_valid((const char *)r->rec + r->spans[col].off,
                            r->spans[col].len, &bad))
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s:%llu: column '%s': invalid UTF-8 at "
                                 "byte %zu of the cell",
                                 r->path, (unsigned long long)start_line,
                                 r->cols[col], bad + 1);
    }
    for (size_t i = 0; i < ncells; i++) {
        r->cells[i].data = (const char *)r->rec + r->spans[i].off;
        r->cells[i].len = r->spans[i].len;
    }
    row->cells = r->cells;
    row->count = ncells;
    row->line = start_line;
    return 1;
}

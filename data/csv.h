/*
 * csv.h: a streaming CSV reader with the semantics TFX's CsvExampleGen
 * gets from Python's csv module (docs/data.md):
 *
 *   - the header is the first physical line, stripped of surrounding
 *     whitespace (and of a UTF-8 byte order mark) and split on ',' with no
 *     quote handling; names must be non-empty and distinct;
 *   - records follow Python csv.reader (excel dialect, strict=False):
 *     '"' opens a quoted cell that may span lines, '""' inside it is one
 *     quote, text after a closing quote up to the next ',' is appended;
 *     a record ends at '\n', '\r\n' or '\r' outside quotes;
 *   - blank records (an empty line) are skipped;
 *   - a record with a cell count different from the header, invalid UTF-8,
 *     or a quote still open at end of file is an error naming the file and
 *     the line where the record starts. After a cell-count or UTF-8 error
 *     the reader is positioned after the bad record, so a caller may count
 *     it and go on; after an open quote it is at end of file.
 *
 * Memory is bounded: records longer than CFX_CSV_MAX_RECORD bytes or with
 * more than CFX_CSV_MAX_CELLS cells are refused; nothing grows with the
 * number of rows.
 *
 * A reader belongs to one thread at a time.
 */
#ifndef CFX_DATA_CSV_H
#define CFX_DATA_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"

#define CFX_CSV_MAX_RECORD (16u * 1024 * 1024)
#define CFX_CSV_MAX_CELLS 65536u

typedef struct cfx_csv_reader cfx_csv_reader_t;

typedef struct cfx_csv_cell {
    const char *data; /* not NUL-terminated; valid until the next read */
    size_t len;
} cfx_csv_cell_t;

typedef struct cfx_csv_row {
    const cfx_csv_cell_t *cells; /* owned by the reader */
    size_t count;                /* == number of header columns */
    uint64_t line;               /* 1-based line where the record starts */
} cfx_csv_row_t;

/* Opens path and reads its header. An empty file (or one whose header line
 * is blank) is an error. */
int cfx_csv_open(const char *path, cfx_csv_reader_t **out, cfx_error_t *err);
void cfx_csv_close(cfx_csv_reader_t *r);

/* Column names from the header: NUL-terminated, owned by the reader. */
size_t cfx_csv_num_columns(const cfx_csv_reader_t *r);
const char *cfx_csv_column(const cfx_csv_reader_t *r, size_t i);

/* Next record: 1 with *row valid until the next call, 0 at end of file, or
 * a negative code with err set ("data.csv:12: expected 18 cells, got 17").
 * CFX_EPARSE means a bad record that the reader has stepped over (see the
 * top of this file); any other code is fatal. */
int cfx_csv_next(cfx_csv_reader_t *r, cfx_csv_row_t *row, cfx_error_t *err);

/* Bytes of the file consumed so far (for progress and throughput). */
uint64_t cfx_csv_offset(const cfx_csv_reader_t *r);

/* 1 when [s, s+n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF);
 * *bad receives the offset of the first invalid byte otherwise. */
int cfx_utf8_valid(const char *s, size_t n, size_t *bad);

#endif

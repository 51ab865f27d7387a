/*
 * csv_fuzz.c: libFuzzer target for the CSV reader and the cell rules.
 *
 * The input is written to a file and read to the end: every row returned
 * must have the header's cell count and valid UTF-8; after a bad-row error
 * (CFX_EPARSE) reading goes on, as --skip-bad-rows does. Each cell's
 * inferred type must agree with the parsers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/csv.h"
#include "data/csv_value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[128];
    snprintf(path, sizeof path, "/tmp/cfx_fuzz_csv_%ld.csv", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    cfx_csv_reader_t *r = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_csv_open(path, &r, &err) < 0) {
        if (!err.msg[0])
            abort();
        unlink(path);
        return 0;
    }
    size_t ncols = cfx_csv_num_columns(r);
    cfx_csv_row_t row;
    for (int guard = 0; guard < 100000; guard++) {
        int rc = cfx_csv_next(r, &row, &err);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (!err.msg[0])
                abort();
            if (rc != CFX_EPARSE)
                break;
            continue;
        }
        if (row.count != ncols || row.line < 2)
            abort();
        for (size_t i = 0; i < row.count; i++) {
            const cfx_csv_cell_t *c = &row.cells[i];
            if (!cfx_utf8_valid(c->data, c->len, NULL))
                abort();
            int64_t iv;
            double dv;
            switch (cfx_csv_infer(c->data, c->len)) {
            case CFX_CSV_UNKNOWN:
                if (c->len)
                    abort();
                break;
            case CFX_CSV_INT:
                if (!cfx_csv_parse_int(c->data, c->len, &iv) ||
                    !cfx_csv_parse_float(c->data, c->len, &dv))
                    abort();
                break;
            case CFX_CSV_FLOAT:
                if (cfx_csv_parse_int(c->data, c->len, &iv) ||
                    !cfx_csv_parse_float(c->data, c->len, &dv))
                    abort();
                break;
            case CFX_CSV_STRING:
                if (cfx_csv_parse_int(c->data, c->len, &iv))
                    abort();
                break;
            }
        }
    }
    cfx_csv_close(r);
    unlink(path);
    return 0;
}

/*
 * csv_value.h: what a CSV cell holds, by the rules TFX's CsvExampleGen uses
 * (Python int() and float() on the cell's bytes):
 *
 *   - surrounding ASCII whitespace (space, \t, \n, \r, \v, \f) is ignored;
 *   - int: optional sign, decimal digits, single '_' between digits
 *     ("1_000", "007", "+5"); a value outside int64 is not an INT (the
 *     column becomes STRING, as TFX does);
 *   - float: optional sign, then "inf", "infinity" or "nan" (any case), or
 *     digits with an optional '.', fraction and exponent ("1.", ".5",
 *     "1e-3", "1_0.2_5"); no hex;
 *   - types are ordered UNKNOWN (empty cell) < INT < FLOAT < STRING and a
 *     column's type is the maximum over its cells.
 *
 * Pure functions; any thread.
 */
#ifndef CFX_DATA_CSV_VALUE_H
#define CFX_DATA_CSV_VALUE_H

#include <stddef.h>
#include <stdint.h>

typedef enum cfx_csv_type {
    CFX_CSV_UNKNOWN = 0,
    CFX_CSV_INT = 1,
    CFX_CSV_FLOAT = 2,
    CFX_CSV_STRING = 3,
} cfx_csv_type_t;

const char *cfx_csv_type_name(cfx_csv_type_t t);

/* 1 and *v set when s parses as a Python int within int64; 0 otherwise. */
int cfx_csv_parse_int(const char *s, size_t n, int64_t *v);
/* 1 and *v set (correctly rounded double) when s parses as a Python float;
 * 0 otherwise. */
int cfx_csv_parse_float(const char *s, size_t n, double *v);
/* The type of one cell. */
cfx_csv_type_t cfx_csv_infer(const char *s, size_t n);

#endif

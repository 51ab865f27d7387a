/*
 * json_scan.h: the JSON reader of the REST request path, without a DOM.
 *
 * A request body is read twice, neither time building a tree:
 *  1. cfx_jscan_validate() checks the whole document once, with the rules
 *     and error messages of the parser TF Serving uses (RapidJSON's
 *     iterative parser with NaN/Infinity allowed and parsing stopped after
 *     the root value): the same documents are accepted, and a refused one
 *     gets the same error text and byte offset. It keeps one bit per open
 *     container and nothing else, so nesting depth costs no stack: half a
 *     million '[' in an ignored key is just a long document.
 *  2. The cursor functions below walk the validated text to the values
 *     the request needs; values nobody asked for are skipped by counting
 *     brackets. Strings without escapes are used in place; numbers are
 *     read by formats/numfmt.h.
 *
 * cfx_jscan_debug_string() renders a value as TF Serving quotes it in
 * error messages (RapidJSON's PrettyWriter with single-line arrays, cut
 * off after 256 bytes); cfx_jscan_put_string() escapes a string as its
 * writer does.
 *
 * Every cursor function requires text that cfx_jscan_validate() accepted
 * and a pointer to the first byte of a value (no leading whitespace).
 *
 * Thread-safety: reentrant.
 */
#ifndef CFX_SERVE_JSON_SCAN_H
#define CFX_SERVE_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"

/* RapidJSON's ParseErrorCode values that its parser can report here. */
typedef enum cfx_jerr {
    CFX_JERR_NONE = 0,
    CFX_JERR_DOCUMENT_EMPTY = 1,
    CFX_JERR_DOCUMENT_ROOT_NOT_SINGULAR = 2,
    CFX_JERR_VALUE_INVALID = 3,
    CFX_JERR_OBJECT_MISS_NAME = 4,
    CFX_JERR_OBJECT_MISS_COLON = 5,
    CFX_JERR_OBJECT_MISS_COMMA_OR_CURLY_BRACKET = 6,
    CFX_JERR_ARRAY_MISS_COMMA_OR_SQUARE_BRACKET = 7,
    CFX_JERR_STRING_UNICODE_ESCAPE_INVALID_HEX = 8,
    CFX_JERR_STRING_UNICODE_SURROGATE_INVALID = 9,
    CFX_JERR_STRING_ESCAPE_INVALID = 10,
    CFX_JERR_STRING_MISS_QUOTATION_MARK = 11,
    CFX_JERR_STRING_INVALID_ENCODING = 12,
    CFX_JERR_NUMBER_TOO_BIG = 13,
    CFX_JERR_NUMBER_MISS_FRACTION = 14,
    CFX_JERR_NUMBER_MISS_EXPONENT = 15,
    CFX_JERR_NO_MEMORY = 16, /* ours: the container bit stack */
} cfx_jerr_t;

/* RapidJSON's English message for an error ("Invalid value."). */
const char *cfx_jscan_error_text(cfx_jerr_t e);

/* Validates s[0..n): 0 and *end = offset just past the root value, or an
 * error with *end = the offset RapidJSON reports. */
cfx_jerr_t cfx_jscan_validate(const char *s, size_t n, size_t *end);

/* What validation notes on the way about a root object's members, so
 * that they need no second scan: where each key and value starts and,
 * for an array value, its number of elements. */
#define CFX_JSCAN_TOP_MAX 16
typedef struct cfx_jtop {
    size_t n; /* members noted */
    int more; /* the root has more than CFX_JSCAN_TOP_MAX members */
    struct {
        size_t key, value; /* offsets of the key's '"' and the value */
        size_t count;      /* elements, when the value is an array */
    } m[CFX_JSCAN_TOP_MAX];
} cfx_jtop_t;
cfx_jerr_t cfx_jscan_validate_top(const char *s, size_t n, size_t *end,
                                  cfx_jtop_t *top);

typedef enum cfx_jtype {
    CFX_JT_NULL,
    CFX_JT_FALSE,
    CFX_JT_TRUE,
    CFX_JT_NUMBER,
    CFX_JT_STRING,
    CFX_JT_ARRAY,
    CFX_JT_OBJECT,
} cfx_jtype_t;

cfx_jtype_t cfx_jscan_type(const char *p);
/* "Null", "False", "True", "Number", "String", "Array", "Object". */
const char *cfx_jscan_type_name(cfx_jtype_t t);

/* Skips JSON whitespace. */
const char *cfx_jscan_ws(const char *p);
/* Returns the byte just past the value at p. */
const char *cfx_jscan_skip(const char *p);

/* A number as RapidJSON classifies it: an integer literal within int64,
 * one above INT64_MAX within uint64, or a double (a fraction, an
 * exponent, NaN, Infinity, or an integer beyond 64 bits). */
typedef enum cfx_jnum_kind {
    CFX_JNUM_INT64,
    CFX_JNUM_UINT64,
    CFX_JNUM_DOUBLE,
} cfx_jnum_kind_t;
typedef struct cfx_jnum {
    cfx_jnum_kind_t kind;
    int64_t i;  /* CFX_JNUM_INT64 */
    uint64_t u; /* CFX_JNUM_UINT64 */
    double d;   /* CFX_JNUM_DOUBLE */
} cfx_jnum_t;
/* Reads the number at p; returns the byte after it. */
const char *cfx_jscan_number(const char *p, cfx_jnum_t *num);
/* The number as a double (RapidJSON's GetDouble) and as a float
 * (GetFloat: the double narrowed). */
double cfx_jnum_double(const cfx_jnum_t *num);

/* Reads the string at p (at its '"'); returns the byte after it. *s / *len
 * get the decoded bytes: in place when the string has no escape, else
 * appended to scratch (so *s is valid until scratch next changes). */
const char *cfx_jscan_string(const char *p, cfx_buf_t *scratch, const char **s,
                             size_t *len);

/* Containers. cfx_jscan_enter(p) with p at '[' or '{' returns the first
 * element (or member key), or NULL when the container is empty (then
 * *after is the byte past it). After an element, cfx_jscan_next(q, &q)
 * moves q to the next one and returns 1, or returns 0 with q past the
 * closing bracket. For objects, cfx_jscan_member(p, ...) reads the key at
 * p and returns the value's first byte. */
const char *cfx_jscan_enter(const char *p, const char **after);
int cfx_jscan_next(const char *q, const char **next);
const char *cfx_jscan_member(const char *p, cfx_buf_t *scratch,
                             const char **key, size_t *key_len);
/* Number of elements of the array at p. */
size_t cfx_jscan_array_size(const char *p);

/* TF Serving's rendering of the value at p for error messages. */
#define CFX_JSCAN_DEBUG_MAX 256
int cfx_jscan_debug_string(const char *p, cfx_buf_t *out);

/* Appends s[0..len) as a JSON string literal, escaped as RapidJSON's
 * writer escapes (\" \\ \b \f \n \r \t, other controls as \u00XX). */
int cfx_jscan_put_string(cfx_buf_t *b, const char *s, size_t len);

#endif

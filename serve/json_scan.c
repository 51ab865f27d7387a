/*
 * json_scan.c: validating scanner and cursor over JSON text (json_scan.h).
 *
 * The validator is a state machine with the states of RapidJSON's
 * iterative parser, so that each refusal names the error and offset that
 * TF Serving's parser names (docs/serving.md "REST API"): e.g. a ']' where
 * the document should start is "The document is empty.", a bad token after
 * an array element "Missing a comma or ']' after an array element.".
 */
#include "serve/json_scan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/numfmt.h"

/* JSON's one-letter escapes: ESC_BYTES[k] is written as a backslash and
 * ESC_LETTERS[k]. '/' is only read so (RapidJSON's Writer writes it as it
 * is). */
static const char ESC_LETTERS[] = "\"\\/bfnrt";
static const char ESC_BYTES[] = "\"\\/\b\f\n\r\t";

const char *cfx_jscan_error_text(cfx_jerr_t e) {
    switch (e) {
    case CFX_JERR_NONE:
        return "No error.";
    case CFX_JERR_DOCUMENT_EMPTY:
        return "The document is empty.";
    case CFX_JERR_DOCUMENT_ROOT_NOT_SINGULAR:
        return "The document root must not be followed by other values.";
    case CFX_JERR_VALUE_INVALID:
        return "Invalid value.";
    case CFX_JERR_OBJECT_MISS_NAME:
        return "Missing a name for object member.";
    case CFX_JERR_OBJECT_MISS_COLON:
        return "Missing a colon after a name of object member.";
    case CFX_JERR_OBJECT_MISS_COMMA_OR_CURLY_BRACKET:
        return "Missing a comma or '}' after an object member.";
    case CFX_JERR_ARRAY_MISS_COMMA_OR_SQUARE_BRACKET:
        return "Missing a comma or ']' after an array element.";
    case CFX_JERR_STRING_UNICODE_ESCAPE_INVALID_HEX:
        return "Incorrect hex digit after \\u escape in string.";
    case CFX_JERR_STRING_UNICODE_SURROGATE_INVALID:
        return "The surrogate pair in string is invalid.";
    case CFX_JERR_STRING_ESCAPE_INVALID:
        return "Invalid escape character in string.";
    case CFX_JERR_STRING_MISS_QUOTATION_MARK:
        return "Missing a closing quotation mark in string.";
    case CFX_JERR_STRING_INVALID_ENCODING:
        return "Invalid encoding in string.";
    case CFX_JERR_NUMBER_TOO_BIG:
        return "Number too big to be stored in double.";
    case CFX_JERR_NUMBER_MISS_FRACTION:
        return "Miss fraction part in number.";
    case CFX_JERR_NUMBER_MISS_EXPONENT:
        return "Miss exponent in number.";
    case CFX_JERR_NO_MEMORY:
        return "Out of memory.";
    }
    return "Unspecific syntax error.";
}

/* ---- validation ---------------------------------------------------------- */

typedef struct vstate {
    const unsigned char *s;
    size_t n, i;
    cfx_jerr_t err;
    size_t err_at;
    size_t depth;
    uint64_t small[16]; /* one bit per open container: 1 = object */
    uint64_t *bits;
    size_t cap; /* words in bits */
} vstate_t;

static inline int peek(const vstate_t *v) {
    return v->i < v->n ? v->s[v->i] : 0;
}

static inline int consume(vstate_t *v, int c) {
    if (peek(v) == c) {
        v->i++;
        return 1;
    }
    return 0;
}

static inline int is_digit(int c) {
    return c >= '0' && c <= '9';
}

static int fail(vstate_t *v, cfx_jerr_t e, size_t at) {
    if (!v->err) {
        v->err = e;
        v->err_at = at;
    }
    return -1;
}

static void skip_ws(vstate_t *v) {
    while (v->i < v->n) {
        unsigned char c = v->s[v->i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        v->i++;
    }
}

static uint64_t *stack_words(vstate_t *v) {
    return v->bits ? v->bits : v->small;
}

static int push(vstate_t *v, int object) {
    size_t w = v->depth / 64;
    size_t cap = v->bits ? v->cap : sizeof(v->small) / sizeof(v->small[0]);
    if (w >= cap) {
        size_t ncap = cap * 2;
        uint64_t *nb = realloc(v->bits, ncap * sizeof(*nb));
        if (!nb)
            return fail(v, CFX_JERR_NO_MEMORY, v->i);
        if (!v->bits)
            memcpy(nb, v->small, sizeof(v->small));
        v->bits = nb;
        v->cap = ncap;
    }
    uint64_t *st = stack_words(v);
    uint64_t bit = (uint64_t)1 << (v->depth % 64);
    st[w] = object ? (st[w] | bit) : (st[w] & ~bit);
    v->depth++;
    return 0;
}

/* 1 if the innermost open container is an object. */
static int top_is_object(const vstate_t *v) {
    const uint64_t *st = v->bits ? v->bits : v->small;
    size_t d = v->depth - 1;
    return (int)((st[d / 64] >> (d % 64)) & 1);
}

static int hex4(vstate_t *v, size_t esc_at, unsigned *cp) {
    unsigned x = 0;
    for (int k = 0; k < 4; k++) {
        int c = peek(v);
        x <<= 4;
        if (c >= '0' && c <= '9')
            x += (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x += (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            x += (unsigned)(c - 'A' + 10);
        else
            return fail(v, CFX_JERR_STRING_UNICODE_ESCAPE_INVALID_HEX, esc_at);
        v->i++;
    }
    *cp = x;
    return 0;
}

/* Whether any of the 8 bytes in x is '"', '\\' or below 0x20 (it may
 * also say so for a word without one, never the other way round). */
static inline int special8(uint64_t x) {
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
    return ((((q - ones) & ~q) | ((bs - ones) & ~bs) |
             ((x - ones * 0x20) & ~x)) &
            high) != 0;
}

static int parse_string(vstate_t *v) {
    v->i++; /* the opening quote */
    for (;;) {
        /* Plain bytes in bulk: 8 at a time, then one by one. */
        while (v->i + 8 <= v->n) {
            uint64_t x;
            memcpy(&x, v->s + v->i, 8);
            if (special8(x))
                break;
            v->i += 8;
        }
        while (v->i < v->n) {
            unsigned char c = v->s[v->i];
            if (c == '"' || c == '\\' || c < 0x20)
                break;
            v->i++;
        }
        int c = peek(v);
        if (c == '"') {
            v->i++;
            return 0;
        }
        if (c == '\\') {
            size_t esc_at = v->i;
            v->i++;
            int e = peek(v);
            if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' ||
                e == 'n' || e == 'r' || e == 't') {
                v->i++;
            } else if (e == 'u') {
                unsigned cp, cp2;
                v->i++;
                if (hex4(v, esc_at, &cp))
                    return -1;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (!consume(v, '\\') || !consume(v, 'u'))
                        return fail(v,
                                    CFX_JERR_STRING_UNICODE_SURROGATE_INVALID,
                                    esc_at);
                    if (hex4(v, esc_at, &cp2))
                        return -1;
                    if (cp2 < 0xDC00 || cp2 > 0xDFFF)
                        return fail(v,
                                    CFX_JERR_STRING_UNICODE_SURROGATE_INVALID,
                                    esc_at);
                }
            } else {
                return fail(v, CFX_JERR_STRING_ESCAPE_INVALID, esc_at);
            }
            continue;
        }
        /* A control byte, or the end (read as NUL). */
        return fail(v,
                    c == 0 ? CFX_JERR_STRING_MISS_QUOTATION_MARK
                           : CFX_JERR_STRING_INVALID_ENCODING,
                    v->i);
    }
}

static int parse_literal(vstate_t *v, const char *rest) {
    v->i++;
    for (; *rest; rest++)
        if (!consume(v, *rest))
            return fail(v, CFX_JERR_VALUE_INVALID, v->i);
    return 0;
}

static int parse_number(vstate_t *v) {
    size_t start = v->i;
    int nan_inf = 0;
    size_t int_digits = 0, frac_digits = 0;
    consume(v, '-');
    int c = peek(v);
    if (c == '0') {
        v->i++;
        int_digits = 1;
    } else if (c >= '1' && c <= '9') {
        while (is_digit(peek(v))) {
            v->i++;
            int_digits++;
        }
    } else if (c == 'I' || c == 'N') {
        if (consume(v, 'N')) {
            nan_inf = consume(v, 'a') && consume(v, 'N');
        } else if (consume(v, 'I')) {
            if (consume(v, 'n') && consume(v, 'f')) {
                nan_inf = 1;
                if (peek(v) == 'i' &&
                    !(consume(v, 'i') && consume(v, 'n') && consume(v, 'i') &&
                      consume(v, 't') && consume(v, 'y')))
                    return fail(v, CFX_JERR_VALUE_INVALID, v->i);
            }
        }
        if (!nan_inf)
            return fail(v, CFX_JERR_VALUE_INVALID, v->i);
    } else {
        return fail(v, CFX_JERR_VALUE_INVALID, v->i);
    }
    if (consume(v, '.')) {
        if (!is_digit(peek(v)))
            return fail(v, CFX_JERR_NUMBER_MISS_FRACTION, v->i);
        while (is_digit(peek(v))) {
            v->i++;
            frac_digits++;
        }
    }
    if (consume(v, 'e') || consume(v, 'E')) {
        int minus = 0;
        if (!consume(v, '+'))
            minus = consume(v, '-');
        if (!is_digit(peek(v)))
            return fail(v, CFX_JERR_NUMBER_MISS_EXPONENT, v->i);
        long ex = 0;
        long max_ex = 308 + (long)(frac_digits < 400 ? frac_digits : 400);
        while (is_digit(peek(v))) {
            ex = ex * 10 + (peek(v) - '0');
            v->i++;
            if (!minus && ex > max_ex)
                return fail(v, CFX_JERR_NUMBER_TOO_BIG, start);
            if (ex > 100000000)
                ex = 100000000;
        }
        if (!minus && ex > 290 && !nan_inf &&
            isinf(cfx_numfmt_parse_double((const char *)v->s + start,
                                          v->i - start)))
            return fail(v, CFX_JERR_NUMBER_TOO_BIG, start);
    } else if (int_digits > 300 &&
               isinf(cfx_numfmt_parse_double((const char *)v->s + start,
                                             v->i - start))) {
        return fail(v, CFX_JERR_NUMBER_TOO_BIG, start);
    }
    return 0;
}

enum {
    ST_START,
    ST_FINISH,
    ST_OBJ_INIT,
    ST_MEMBER_KEY,
    ST_KV_DELIM,
    ST_MEMBER_VALUE,
    ST_MEMBER_DELIM,
    ST_ARR_INIT,
    ST_ELEMENT,
    ST_ELEM_DELIM,
};

/* The error RapidJSON reports for a token its state does not take. */
static cfx_jerr_t state_error(int st) {
    switch (st) {
    case ST_START:
        return CFX_JERR_DOCUMENT_EMPTY;
    case ST_FINISH:
        return CFX_JERR_DOCUMENT_ROOT_NOT_SINGULAR;
    case ST_OBJ_INIT:
    case ST_MEMBER_DELIM:
        return CFX_JERR_OBJECT_MISS_NAME;
    case ST_MEMBER_KEY:
        return CFX_JERR_OBJECT_MISS_COLON;
    case ST_MEMBER_VALUE:
        return CFX_JERR_OBJECT_MISS_COMMA_OR_CURLY_BRACKET;
    case ST_KV_DELIM:
    case ST_ARR_INIT:
    case ST_ELEM_DELIM:
        return CFX_JERR_VALUE_INVALID;
    default:
        return CFX_JERR_ARRAY_MISS_COMMA_OR_SQUARE_BRACKET;
    }
}

static int after_value(vstate_t *v) {
    if (v->depth == 0)
        return ST_FINISH;
    return top_is_object(v) ? ST_MEMBER_VALUE : ST_ELEMENT;
}

/* Past the ']' or '}' at v->i, which closes the innermost container; the
 * state after it. */
static int close_container(vstate_t *v) {
    v->i++;
    v->depth--;
    return after_value(v);
}

cfx_jerr_t cfx_jscan_validate(const char *s, size_t n, size_t *end) {
    return cfx_jscan_validate_top(s, n, end, NULL);
}

cfx_jerr_t cfx_jscan_validate_top(const char *s, size_t n, size_t *end,
                                  cfx_jtop_t *top) {
    vstate_t v;
    memset(&v, 0, sizeof(v));
    v.s = (const unsigned char *)s;
    v.n = n;
    int st = ST_START;
    if (top) {
        top->n = 0;
        top->more = 0;
    }
    skip_ws(&v);
    while (peek(&v) != 0) {
        int c = peek(&v);
        switch (st) {
        case ST_START:
        case ST_KV_DELIM:
        case ST_ARR_INIT:
        case ST_ELEM_DELIM:
            if (top && top->n && v.depth <= 2 && !top->more) {
                if (v.depth == 1 && st == ST_KV_DELIM)
                    top->m[top->n - 1].value = v.i;
                else if (v.depth == 2 && st != ST_KV_DELIM && c != ']')
                    top->m[top->n - 1].count++; /* an element begins */
            }
            if (c == '{') {
                v.i++;
                if (push(&v, 1))
                    goto out;
                st = ST_OBJ_INIT;
            } else if (c == '[') {
                v.i++;
                if (push(&v, 0))
                    goto out;
                st = ST_ARR_INIT;
            } else if (c == ']' && st == ST_ARR_INIT) {
                st = close_container(&v);
            } else if (c == ']' || c == '}' || c == ',' || c == ':') {
                fail(&v, state_error(st), v.i);
                goto out;
            } else {
                int rc = c == '"'   ? parse_string(&v)
                         : c == 't' ? parse_literal(&v, "rue")
                         : c == 'f' ? parse_literal(&v, "alse")
                         : c == 'n' ? parse_literal(&v, "ull")
                                    : parse_number(&v);
                if (rc)
                    goto out;
                st = after_value(&v);
            }
            break;
        case ST_OBJ_INIT:
        case ST_MEMBER_DELIM:
            if (c == '"') {
                if (top && v.depth == 1 && !top->more) {
                    if (top->n == CFX_JSCAN_TOP_MAX) {
                        top->more = 1;
                    } else {
                        top->m[top->n].key = v.i;
                        top->m[top->n].count = 0;
                        top->n++;
                    }
                }
                if (parse_string(&v))
                    goto out;
                st = ST_MEMBER_KEY;
            } else if (c == '}' && st == ST_OBJ_INIT) {
                st = close_container(&v);
            } else {
                fail(&v, state_error(st), v.i);
                goto out;
            }
            break;
        case ST_MEMBER_KEY:
            if (c != ':') {
                fail(&v, state_error(st), v.i);
                goto out;
            }
            v.i++;
            st = ST_KV_DELIM;
            break;
        case ST_MEMBER_VALUE:
        case ST_ELEMENT:
            if (c == ',') {
                v.i++;
                st = st == ST_MEMBER_VALUE ? ST_MEMBER_DELIM : ST_ELEM_DELIM;
            } else if ((c == '}' && st == ST_MEMBER_VALUE) ||
                       (c == ']' && st == ST_ELEMENT)) {
                st = close_container(&v);
            } else {
                fail(&v, state_error(st), v.i);
                goto out;
            }
            break;
        default:
            break;
        }
        if (st == ST_FINISH)
            break;
        skip_ws(&v);
    }
    if (st != ST_FINISH)
        fail(&v, state_error(st), v.i);
out:
    free(v.bits);
    *end = v.err ? v.err_at : v.i;
    return v.err;
}

/* ---- cursor over validated text ------------------------------------------ */

cfx_jtype_t cfx_jscan_type(const char *p) {
    switch (*p) {
    case '{':
        return CFX_JT_OBJECT;
    case '[':
        return CFX_JT_ARRAY;
    case '"':
        return CFX_JT_STRING;
    case 't':
        return CFX_JT_TRUE;
    case 'f':
        return CFX_JT_FALSE;
    case 'n':
        return CFX_JT_NULL;
    default:
        return CFX_JT_NUMBER;
    }
}

const char *cfx_jscan_type_name(cfx_jtype_t t) {
    static const char *const names[] = {"Null",   "False", "True",  "Number",
                                        "String", "Array", "Object"};
    return names[t];
}

const char *cfx_jscan_ws(const char *p) {
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return p;
}

static const char *skip_string(const char *p) {
    p++;
    for (;;) {
        const char *q = p;
        while (*q != '"' && *q != '\\')
            q++;
        if (*q == '"')
            return q + 1;
        p = q + 2; /* an escape: its second byte is never the closing quote */
    }
}

static const char *skip_scalar(const char *p) {
    while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
           (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '+' || *p == '.')
        p++;
    return p;
}

const char *cfx_jscan_skip(const char *p) {
    if (*p == '"')
        return skip_string(p);
    if (*p != '[' && *p != '{')
        return skip_scalar(p);
    /* Validated: brackets match, so a depth count is enough. */
    size_t depth = 0;
    for (;;) {
        char c = *p;
        if (c == '"') {
            p = skip_string(p);
            continue;
        }
        if (c == '[' || c == '{') {
            depth++;
        } else if (c == ']' || c == '}') {
            if (--depth == 0)
                return p + 1;
        }
        p++;
    }
}

const char *cfx_jscan_number(const char *p, cfx_jnum_t *num) {
    const char *s = p;
    int minus = *p == '-';
    if (minus)
        p++;
    if (*p == 'N' || *p == 'I') {
        /* NaN, Inf or Infinity, maybe followed by what the grammar lets
         * RapidJSON read after it; the value stays NaN / infinite. */
        const char *e = skip_scalar(p);
        num->kind = CFX_JNUM_DOUBLE;
        num->d = *p == 'N' ? NAN : (minus ? -INFINITY : INFINITY);
        return e;
    }
    uint64_t u = 0;
    int overflow = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (u > (UINT64_MAX - d) / 10)
            overflow = 1;
        else
            u = u * 10 + d;
    }
    if (*p != '.' && *p != 'e' && *p != 'E' && !overflow) {
        if (!minus) {
            if (u <= (uint64_t)INT64_MAX) {
                num->kind = CFX_JNUM_INT64;
                num->i = (int64_t)u;
            } else {
                num->kind = CFX_JNUM_UINT64;
                num->u = u;
            }
            return p;
        }
        if (u <= (uint64_t)INT64_MAX + 1) {
            num->kind = CFX_JNUM_INT64;
            num->i = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
            return p;
        }
    }
    const char *e = skip_scalar(p);
    num->kind = CFX_JNUM_DOUBLE;
    num->d = cfx_numfmt_parse_double(s, (size_t)(e - s));
    return e;
}

double cfx_jnum_double(const cfx_jnum_t *num) {
    switch (num->kind) {
    case CFX_JNUM_INT64:
        return (double)num->i;
    case CFX_JNUM_UINT64:
        return (double)num->u;
    default:
        return num->d;
    }
}

static unsigned hexval(const char *p) {
    unsigned x = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        x = x * 16 + (unsigned)(c <= '9'   ? c - '0'
                                : c <= 'F' ? c - 'A' + 10
                                           : c - 'a' + 10);
    }
    return x;
}

const char *cfx_jscan_string(const char *p, cfx_buf_t *scratch, const char **s,
                             size_t *len) {
    const char *q = p + 1;
    while (*q != '"' && *q != '\\')
        q++;
    if (*q == '"') {
        *s = p + 1;
        *len = (size_t)(q - p - 1);
        return q + 1;
    }
    size_t start = scratch->len;
    int rc = cfx_buf_append(scratch, p + 1, (size_t)(q - p - 1));
    while (*q != '"') {
        if (*q != '\\') {
            const char *r = q;
            while (*r != '"' && *r != '\\')
                r++;
            rc |= cfx_buf_append(scratch, q, (size_t)(r - q));
            q = r;
            continue;
        }
        char e = q[1];
        q += 2;
        if (e == 'u') {
            unsigned cp = hexval(q);
            q += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo = hexval(q + 2);
                q += 6;
                cp = (((cp - 0xD800) << 10) | (lo - 0xDC00)) + 0x10000;
            }
            rc |= cfx_buf_put_utf8(scratch, cp);
        } else {
            const char *k = strchr(ESC_LETTERS, e);
            rc |= cfx_buf_putc(scratch,
                               (uint8_t)(k ? ESC_BYTES[k - ESC_LETTERS] : e));
        }
    }
    if (rc) { /* out of memory: an empty string, flagged by a NULL */
        *s = NULL;
        *len = 0;
        return q + 1;
    }
    *s = (const char *)scratch->data + start;
    *len = scratch->len - start;
    return q + 1;
}

const char *cfx_jscan_enter(const char *p, const char **after) {
    const char *q = cfx_jscan_ws(p + 1);
    if (*q == ']' || *q == '}') {
        *after = q + 1;
        return NULL;
    }
    return q;
}

int cfx_jscan_next(const char *q, const char **next) {
    q = cfx_jscan_ws(q);
    if (*q == ',') {
        *next = cfx_jscan_ws(q + 1);
        return 1;
    }
    *next = q + 1; /* past ']' or '}' */
    return 0;
}

const char *cfx_jscan_member(const char *p, cfx_buf_t *scratch,
                             const char **key, size_t *key_len) {
    const char *q = cfx_jscan_string(p, scratch, key, key_len);
    q = cfx_jscan_ws(q); /* at ':' */
    return cfx_jscan_ws(q + 1);
}

size_t cfx_jscan_array_size(const char *p) {
    const char *after;
    const char *q = cfx_jscan_enter(p, &after);
    size_t n = 0;
    while (q) {
        n++;
        if (!cfx_jscan_next(cfx_jscan_skip(q), &q))
            break;
    }
    return n;
}

/* ---- writing as RapidJSON writes ------------------------------------------
 */

int cfx_jscan_put_string(cfx_buf_t *b, const char *s, size_t len) {
    static const char hex[] = "0123456789ABCDEF";
    int rc = cfx_buf_reserve(b, len + 2);
    if (rc)
        return rc;
    b->data[b->len++] = '"';
    size_t run = 0; /* bytes copied as they are, pending */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc |= cfx_buf_append(b, s + run, i - run);
        run = i + 1;
        const char *k = memchr(ESC_BYTES, c, sizeof ESC_BYTES - 1);
        char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (k)
            e[1] = ESC_LETTERS[k - ESC_BYTES];
        rc |= cfx_buf_append(b, e, k ? 2 : 6);
    }
    rc |= cfx_buf_append(b, s + run, len - run);
    return rc ? rc : cfx_buf_putc(b, '"');
}

/* A double as RapidJSON's Writer prints it: the shortest digits that read
 * back (its Grisu2), placed by its Prettify rules. Error messages only. */
static size_t rj_double(double d, char *out) {
    char *o = out;
    if (d == 0) {
        strcpy(out, signbit(d) ? "-0.0" : "0.0");
        return strlen(out);
    }
    if (d < 0) {
        *o++ = '-';
        d = -d;
    }
    char e[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    char dig[20];
    int len = 0;
    for (const char *p = e; *p && *p != 'e'; p++)
        if (*p != '.')
            dig[len++] = *p;
    while (len > 1 && dig[len - 1] == '0')
        len--;
    int x = atoi(strchr(e, 'e') + 1);
    int k = x - (len - 1), kk = len + k;
    if (k >= 0 && kk <= 21) {
        memcpy(o, dig, (size_t)len);
        o += len;
        for (int i = len; i < kk; i++)
            *o++ = '0';
        memcpy(o, ".0", 2);
        o += 2;
    } else if (kk > 0 && kk <= 21) {
        memcpy(o, dig, (size_t)kk);
        o += kk;
        *o++ = '.';
        memcpy(o, dig + kk, (size_t)(len - kk));
        o += len - kk;
    } else if (kk > -6 && kk <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -kk; i++)
            *o++ = '0';
        memcpy(o, dig, (size_t)len);
        o += len;
    } else {
        *o++ = dig[0];
        if (len > 1) {
            *o++ = '.';
            memcpy(o, dig + 1, (size_t)(len - 1));
            o += len - 1;
        }
        o += sprintf(o, "e%d", kk - 1);
    }
    *o = 0;
    return (size_t)(o - out);
}

typedef struct level {
    int array;
    size_t count;
} level_t;

#define DEBUG_LEVELS (CFX_JSCAN_DEBUG_MAX + 8)

static int indent(cfx_buf_t *b, size_t depth) {
    int rc = 0;
    for (size_t i = 0; i < depth * 4 && !rc; i++)
        rc = cfx_buf_putc(b, ' ');
    return rc;
}

/* PrettyWriter's prefix before a value or key, single-line arrays. */
static int prefix(cfx_buf_t *b, level_t *lv, size_t depth) {
    if (depth == 0)
        return 0;
    level_t *l = &lv[depth - 1];
    int rc = 0;
    if (l->array) {
        if (l->count > 0)
            rc = cfx_buf_append(b, ", ", 2);
    } else {
        if (l->count > 0)
            rc = l->count % 2 == 0 ? cfx_buf_append(b, ",\n", 2)
                                   : cfx_buf_append(b, ": ", 2);
        else
            rc = cfx_buf_putc(b, '\n');
        if (l->count % 2 == 0)
            rc |= indent(b, depth);
    }
    l->count++;
    return rc;
}

int cfx_jscan_debug_string(const char *p, cfx_buf_t *out) {
    level_t lv[DEBUG_LEVELS];
    size_t depth = 0;
    size_t start = out->len;
    cfx_buf_t s;
    cfx_buf_init(&s);
    int rc = 0;
#define FULL() (out->len - start >= CFX_JSCAN_DEBUG_MAX)
    for (;;) {
        /* p is at a value, a key (in an object expecting one) or a
         * closing bracket. */
        if (FULL() || rc)
            break;
        if (*p == ']' || *p == '}') {
            depth--;
            if (*p == '}' && lv[depth].count) {
                rc |= cfx_buf_putc(out, '\n');
                rc |= indent(out, depth);
            }
            rc |= cfx_buf_putc(out, (uint8_t)*p);
            p++;
        } else if (depth && !lv[depth - 1].array &&
                   lv[depth - 1].count % 2 == 0) {
            const char *k;
            size_t kl;
            cfx_buf_reset(&s);
            p = cfx_jscan_member(p, &s, &k, &kl);
            rc |= prefix(out, lv, depth);
            rc |= cfx_jscan_put_string(out, k ? k : "", kl);
            continue; /* p is at the member's value */
        } else if (*p == '[' || *p == '{') {
            if (depth == DEBUG_LEVELS)
                break;
            rc |= prefix(out, lv, depth);
            rc |= cfx_buf_putc(out, (uint8_t)*p);
            lv[depth].array = *p == '[';
            lv[depth].count = 0;
            depth++;
            p = cfx_jscan_ws(p + 1);
            continue;
        } else if (*p == '"') {
            const char *v;
            size_t vl;
            cfx_buf_reset(&s);
            p = cfx_jscan_string(p, &s, &v, &vl);
            rc |= prefix(out, lv, depth);
            rc |= cfx_jscan_put_string(out, v ? v : "", vl);
        } else if (*p == 't' || *p == 'f' || *p == 'n') {
            const char *w = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
            rc |= prefix(out, lv, depth);
            rc |= cfx_buf_append(out, w, strlen(w));
            p += strlen(w);
        } else {
            cfx_jnum_t num;
            char t[48];
            p = cfx_jscan_number(p, &num);
            rc |= prefix(out, lv, depth);
            if (num.kind == CFX_JNUM_INT64) {
                rc |= cfx_buf_printf(out, "%lld", (long long)num.i);
            } else if (num.kind == CFX_JNUM_UINT64) {
                rc |= cfx_buf_printf(out, "%llu", (unsigned long long)num.u);
            } else {
                if (!isfinite(num.d))
                    break; /* RapidJSON's writer refuses NaN and inf */
                size_t n = rj_double(num.d, t);
                rc |= cfx_buf_append(out, t, n);
            }
        }
        if (depth == 0)
            break;
        /* After a value: to the next element / member, or the closing. */
        p = cfx_jscan_ws(p);
        if (*p == ',')
            p = cfx_jscan_ws(p + 1);
    }
#undef FULL
    cfx_buf_free(&s);
    return rc;
}

/*
 * pbcodec_text.c: protobuf text format (TextFormat) printing and parsing
 * over protobuf-c descriptors; see pbcodec.h for the accepted syntax.
 *
 * The parser is a one-token-lookahead recursive descent over a small lexer
 * that tracks line and column (1-based, columns in bytes). A non-repeated
 * field given twice is an error, as in protobuf C++.
 */
#include "formats/pbcodec.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/pbcodec_field.h"

/* ---- printing ---------------------------------------------------------- */

static int put_escaped(cfx_buf_t *out, const uint8_t *s, size_t n) {
    int rc = cfx_buf_putc(out, '"');
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint8_t c = s[i];
        switch (c) {
        case '\n':
            rc = cfx_buf_append(out, "\\n", 2);
            break;
        case '\r':
            rc = cfx_buf_append(out, "\\r", 2);
            break;
        case '\t':
            rc = cfx_buf_append(out, "\\t", 2);
            break;
        case '"':
            rc = cfx_buf_append(out, "\\\"", 2);
            break;
        case '\'':
            rc = cfx_buf_append(out, "\\'", 2);
            break;
        case '\\':
            rc = cfx_buf_append(out, "\\\\", 2);
            break;
        default:
            if (c < 0x20 || c >= 0x7f)
                rc = cfx_buf_printf(out, "\\%03o", c);
            else
                rc = cfx_buf_putc(out, c);
        }
    }
    return rc ? rc : cfx_buf_putc(out, '"');
}

static int put_indent(cfx_buf_t *out, int indent) {
    if (indent <= 0)
        return 0;
    int rc = cfx_buf_reserve(out, (size_t)indent);
    if (rc == 0) {
        memset(out->data + out->len, ' ', (size_t)indent);
        out->len += (size_t)indent;
    }
    return rc;
}

/* A float or double as Python's text_format writes it (what TFDV's
 * schema.pbtxt files hold): the shortest round-trip digits, with ".0" added
 * to a whole number so 1.0 reads "1.0", not "1". */
static int put_real(cfx_buf_t *out, const char *num) {
    int rc = cfx_buf_append(out, num, strlen(num));
    if (rc == 0 && strpbrk(num, ".eEnN") == NULL)
        rc = cfx_buf_append(out, ".0", 2);
    return rc;
}

/* Appends one scalar (not a message) stored at v. */
static int put_scalar(cfx_buf_t *out, const ProtobufCFieldDescriptor *f,
                      const void *v) {
    char num[32];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return cfx_buf_printf(out, "%" PRId32, *(const int32_t *)v);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return cfx_buf_printf(out, "%" PRIu32, *(const uint32_t *)v);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return cfx_buf_printf(out, "%" PRId64, *(const int64_t *)v);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return cfx_buf_printf(out, "%" PRIu64, *(const uint64_t *)v);
    case PROTOBUF_C_TYPE_FLOAT:
        pb_fmt_float(num, *(const float *)v);
        return put_real(out, num);
    case PROTOBUF_C_TYPE_DOUBLE:
        pb_fmt_double(num, *(const double *)v);
        return put_real(out, num);
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)v ? cfx_buf_append(out, "true", 4)
                                              : cfx_buf_append(out, "false", 5);
    case PROTOBUF_C_TYPE_ENUM: {
        int e = *(const int *)v;
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value(f->descriptor, e);
        if (ev != NULL)
            return cfx_buf_append(out, ev->name, strlen(ev->name));
        return cfx_buf_printf(out, "%d", e);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)v;
        if (s == NULL)
            s = "";
        return put_escaped(out, (const uint8_t *)s, strlen(s));
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = v;
        return put_escaped(out, b->data, b->len);
    }
    default:
        return CFX_EINTERNAL;
    }
}

static int print_msg(const ProtobufCMessage *m, int indent, cfx_buf_t *out,
                     int depth);

static int print_one(const ProtobufCFieldDescriptor *f, const void *v,
                     int indent, cfx_buf_t *out, int depth) {
    int rc = put_indent(out, indent);
    if (rc == 0)
        rc = cfx_buf_append(out, f->name, strlen(f->name));
    if (rc)
        return rc;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sm = *(ProtobufCMessage *const *)v;
        rc = cfx_buf_append(out, " {\n", 3);
        if (rc == 0 && sm != NULL)
            rc = print_msg(sm, indent + 2, out, depth + 1);
        if (rc == 0)
            rc = put_indent(out, indent);
        return rc ? rc : cfx_buf_append(out, "}\n", 2);
    }
    rc = cfx_buf_append(out, ": ", 2);
    if (rc == 0)
        rc = put_scalar(out, f, v);
    return rc ? rc : cfx_buf_putc(out, '\n');
}

/* A map entry prints its key and its value even at their defaults (a map
 * value always exists), as protobuf C++ does. */
static int print_entry(const ProtobufCFieldDescriptor *f,
                       const ProtobufCMessage *e, int indent, cfx_buf_t *out,
                       int depth) {
    const ProtobufCMessageDescriptor *ed = e->descriptor;
    int rc = put_indent(out, indent);
    if (rc == 0)
        rc = cfx_buf_printf(out, "%s {\n", f->name);
    if (rc == 0)
        rc = print_one(&ed->fields[0], pb_member(e, &ed->fields[0]), indent + 2,
                       out, depth + 1);
    if (rc == 0)
        rc = print_one(&ed->fields[1], pb_member(e, &ed->fields[1]), indent + 2,
                       out, depth + 1);
    if (rc == 0)
        rc = put_indent(out, indent);
    return rc ? rc : cfx_buf_append(out, "}\n", 2);
}

static int print_msg(const ProtobufCMessage *m, int indent, cfx_buf_t *out,
                     int depth) {
    if (depth > CFX_PB_MAX_DEPTH)
        return CFX_ETOOBIG;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    int rc = 0;
    for (unsigned i = 0; i < d->n_fields && rc == 0; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            if (pb_field_present(m, f))
                rc = print_one(f, pb_member(m, f), indent, out, depth);
            continue;
        }
        size_t n = pb_repeated_count(m, f);
        if (n == 0)
            continue;
        if (pb_is_map(f)) {
            ProtobufCMessage **s = pb_sorted_entries(m, f, &n);
            if (s == NULL)
                return CFX_ENOMEM;
            for (size_t j = 0; j < n && rc == 0; j++)
                rc = print_entry(f, s[j], indent, out, depth);
            free(s);
            continue;
        }
        const char *arr = *(const char *const *)pb_member(m, f);
        size_t es = pb_elem_size(f->type);
        for (size_t j = 0; j < n && rc == 0; j++)
            rc = print_one(f, arr + j * es, indent, out, depth);
    }
    return rc;
}

int cfx_pb_text_print(const ProtobufCMessage *m, cfx_buf_t *out,
                      cfx_error_t *err) {
    int rc = print_msg(m, 0, out, 0);
    if (rc == CFX_ETOOBIG)
        return cfx_error_set(err, rc, "%s: nesting deeper than %d",
                             m->descriptor->name, CFX_PB_MAX_DEPTH);
    if (rc)
        return cfx_error_set(err, rc, "%s: text format: %s",
                             m->descriptor->name, cfx_err_str(rc));
    return 0;
}

/* ---- lexing ------------------------------------------------------------ */

enum { T_EOF, T_IDENT, T_NUM, T_STR, T_SYM };

typedef struct {
    const char *p, *end;
    int line, col;
    /* current token */
    int kind;
    const char *tok;
    size_t len;
    int tline, tcol;
    cfx_buf_t str; /* unescaped value of a T_STR */
    cfx_error_t *err;
} lex_t;

static int lex_error(lex_t *lx, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int lex_error(lex_t *lx, int line, int col, const char *fmt, ...) {
    char msg[CFX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cfx_error_set(lx->err, CFX_EPARSE, "%d:%d: %s", line, col, msg);
}

static void bump(lex_t *lx) {
    if (*lx->p == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    lx->p++;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads a quoted literal at lx->p into lx->str (appending). */
static int lex_string(lex_t *lx) {
    char q = *lx->p;
    int line = lx->line, col = lx->col;
    bump(lx);
    for (;;) {
        if (lx->p >= lx->end || *lx->p == '\n')
            return lex_error(lx, line, col, "unterminated string");
        char c = *lx->p;
        if (c == q) {
            bump(lx);
            return 0;
        }
        int rc;
        if (c != '\\') {
            rc = cfx_buf_putc(&lx->str, (uint8_t)c);
            bump(lx);
            if (rc)
                return cfx_error_set(lx->err, rc, "out of memory");
            continue;
        }
        int eline = lx->line, ecol = lx->col;
        bump(lx);
        if (lx->p >= lx->end)
            return lex_error(lx, line, col, "unterminated string");
        c = *lx->p;
        bump(lx);
        uint32_t v = 0;
        switch (c) {
        case 'n':
            v = '\n';
            break;
        case 'r':
            v = '\r';
            break;
        case 't':
            v = '\t';
            break;
        case 'a':
            v = '\a';
            break;
        case 'b':
            v = '\b';
            break;
        case 'f':
            v = '\f';
            break;
        case 'v':
            v = '\v';
            break;
        case '\\':
            v = '\\';
            break;
        case '\'':
            v = '\'';
            break;
        case '"':
            v = '"';
            break;
        case '?':
            v = '?';
            break;
        case 'x':
        case 'X': {
            int k = 0;
            while (k < 2 && lx->p < lx->end && hexval(*lx->p) >= 0) {
                v = v * 16 + (uint32_t)hexval(*lx->p);
                bump(lx);
                k++;
            }
            if (k == 0)
                return lex_error(lx, eline, ecol, "\\x with no hex digits");
            break;
        }
        case 'u':
        case 'U': {
            int want = c == 'u' ? 4 : 8;
            for (int k = 0; k < want; k++) {
                if (lx->p >= lx->end || hexval(*lx->p) < 0)
                    return lex_error(lx, eline, ecol,
                                     "\\%c needs %d hex digits", c, want);
                v = v * 16 + (uint32_t)hexval(*lx->p);
                bump(lx);
            }
            if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
                return lex_error(lx, eline, ecol, "invalid code point U+%X",
                                 (unsigned)v);
            rc = cfx_buf_put_utf8(&lx->str, v);
            if (rc)
                return cfx_error_set(lx->err, rc, "out of memory");
            continue;
        }
        default:
            if (c >= '0' && c <= '7') {
                v = (uint32_t)(c - '0');
                for (int k = 0;
                     k < 2 && lx->p < lx->end && *lx->p >= '0' && *lx->p <= '7';
                     k++) {
                    v = v * 8 + (uint32_t)(*lx->p - '0');
                    bump(lx);
                }
                if (v > 255)
                    return lex_error(lx, eline, ecol,
                                     "octal escape out of range");
                break;
            }
            return lex_error(lx, eline, ecol, "unknown escape '\\%c'", c);
        }
        rc = cfx_buf_putc(&lx->str, (uint8_t)v);
        if (rc)
            return cfx_error_set(lx->err, rc, "out of memory");
    }
}

/* Advances to the next token. Adjacent string literals become one T_STR. */
static int adv(lex_t *lx) {
    for (;;) {
        while (lx->p < lx->end && isspace((unsigned char)*lx->p))
            bump(lx);
        if (lx->p < lx->end && *lx->p == '#') {
            while (lx->p < lx->end && *lx->p != '\n')
                bump(lx);
            continue;
        }
        break;
    }
    lx->tok = lx->p;
    lx->tline = lx->line;
    lx->tcol = lx->col;
    lx->len = 0;
    if (lx->p >= lx->end) {
        lx->kind = T_EOF;
        return 0;
    }
    unsigned char c = (unsigned char)*lx->p;
    if (isalpha(c) || c == '_') {
        while (lx->p < lx->end &&
               (isalnum((unsigned char)*lx->p) || *lx->p == '_'))
            bump(lx);
        lx->kind = T_IDENT;
    } else if (isdigit(c) || (c == '.' && lx->p + 1 < lx->end &&
                              isdigit((unsigned char)lx->p[1]))) {
        int hex = c == '0' && lx->p + 1 < lx->end &&
                  (lx->p[1] == 'x' || lx->p[1] == 'X');
        while (lx->p < lx->end) {
            char d = *lx->p;
            if (isalnum((unsigned char)d) || d == '.' || d == '_' ||
                ((d == '+' || d == '-') && !hex &&
                 (lx->p[-1] == 'e' || lx->p[-1] == 'E')))
                bump(lx);
            else
                break;
        }
        lx->kind = T_NUM;
    } else if (c == '"' || c == '\'') {
        cfx_buf_reset(&lx->str);
        int rc;
        do {
            if ((rc = lex_string(lx)))
                return rc;
            while (lx->p < lx->end && isspace((unsigned char)*lx->p))
                bump(lx);
            /* a comment may separate adjacent literals */
            while (lx->p < lx->end && *lx->p == '#') {
                while (lx->p < lx->end && *lx->p != '\n')
                    bump(lx);
                while (lx->p < lx->end && isspace((unsigned char)*lx->p))
                    bump(lx);
            }
        } while (lx->p < lx->end && (*lx->p == '"' || *lx->p == '\''));
        lx->kind = T_STR;
        lx->len = (size_t)(lx->p - lx->tok);
        return 0;
    } else {
        bump(lx);
        lx->kind = T_SYM;
    }
    lx->len = (size_t)(lx->p - lx->tok);
    return 0;
}

static int is_sym(const lex_t *lx, char c) {
    return lx->kind == T_SYM && lx->tok[0] == c;
}

static int is_ident(const lex_t *lx, const char *s) {
    return lx->kind == T_IDENT && strlen(s) == lx->len &&
           memcmp(lx->tok, s, lx->len) == 0;
}

static const char *tok_desc(const lex_t *lx, char *buf, size_t n) {
    switch (lx->kind) {
    case T_EOF:
        return "end of input";
    case T_STR:
        return "a string";
    default:
        snprintf(buf, n, "'%.*s'", (int)(lx->len > 40 ? 40 : lx->len), lx->tok);
        return buf;
    }
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct {
    lex_t lx;
} parser_t;

/* Parses an unsigned magnitude: decimal, 0x hex or 0 octal. */
static int parse_magnitude(const char *s, size_t n, uint64_t *out) {
    uint64_t v = 0;
    unsigned base = 10;
    size_t i = 0;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    } else if (n > 1 && s[0] == '0') {
        base = 8;
        i = 1;
    }
    if (i >= n)
        return -1;
    for (; i < n; i++) {
        int d = hexval((unsigned char)s[i]);
        if (d < 0 || (unsigned)d >= base)
            return -1;
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            return -2;
        v = v * base + (uint64_t)d;
    }
    *out = v;
    return 0;
}

static int err_at_tok(parser_t *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int err_at_tok(parser_t *ps, const char *fmt, ...) {
    char msg[CFX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cfx_error_set(ps->lx.err, CFX_EPARSE, "%d:%d: %s", ps->lx.tline,
                         ps->lx.tcol, msg);
}

static int is_int_type(ProtobufCType t) {
    return t != PROTOBUF_C_TYPE_FLOAT && t != PROTOBUF_C_TYPE_DOUBLE &&
           t != PROTOBUF_C_TYPE_BOOL && t != PROTOBUF_C_TYPE_ENUM &&
           t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES &&
           t != PROTOBUF_C_TYPE_MESSAGE;
}

static int is_signed_type(ProtobufCType t) {
    return t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_SINT32 ||
           t == PROTOBUF_C_TYPE_SFIXED32 || t == PROTOBUF_C_TYPE_INT64 ||
           t == PROTOBUF_C_TYPE_SINT64 || t == PROTOBUF_C_TYPE_SFIXED64;
}

static int parse_message(parser_t *ps, ProtobufCMessage *m, char close,
                         int depth);

static int ident_ci(const lex_t *lx, const char *s) {
    return lx->kind == T_IDENT && strlen(s) == lx->len &&
           strncasecmp(lx->tok, s, lx->len) == 0;
}

/* Parses one value of non-message field f at the current token and stores
 * it; advances past it. */
static int parse_value(parser_t *ps, ProtobufCMessage *m,
                       const ProtobufCFieldDescriptor *f) {
    lex_t *lx = &ps->lx;
    char tb[64];
    int neg = 0;
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES) {
        if (lx->kind != T_STR)
            return err_at_tok(ps, "field '%s': expected a string, got %s",
                              f->name, tok_desc(lx, tb, sizeof tb));
        size_t n = lx->str.len;
        uint8_t *copy = malloc(n + 1);
        if (copy == NULL)
            return cfx_error_set(lx->err, CFX_ENOMEM, "out of memory");
        if (n)
            memcpy(copy, lx->str.data, n);
        copy[n] = 0;
        if (f->type == PROTOBUF_C_TYPE_STRING && memchr(copy, 0, n) != NULL) {
            free(copy);
            return err_at_tok(ps, "field '%s': string contains a NUL byte",
                              f->name);
        }
        void *slot = pb_field_slot(m, f);
        if (slot == NULL) {
            free(copy);
            return cfx_error_set(lx->err, CFX_ENOMEM,
                                 "field '%s': out of memory", f->name);
        }
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            *(char **)slot = (char *)copy;
        } else {
            ProtobufCBinaryData *b = slot;
            b->len = n;
            b->data = copy;
        }
        return adv(lx);
    }
    int vline = lx->tline, vcol = lx->tcol;
    if (is_sym(lx, '-')) {
        neg = 1;
        int rc = adv(lx);
        if (rc)
            return rc;
    }
    union {
        int32_t i32;
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
        float f32;
        double f64;
        protobuf_c_boolean b;
        int e;
    } val;
    memset(&val, 0, sizeof val);
    if (is_int_type(f->type)) {
        uint64_t mag;
        int r =
            lx->kind == T_NUM ? parse_magnitude(lx->tok, lx->len, &mag) : -1;
        if (r == -1)
            return err_at_tok(ps, "field '%s': expected an integer, got %s",
                              f->name, tok_desc(lx, tb, sizeof tb));
        int sgn = is_signed_type(f->type);
        int wide = pb_elem_size(f->type) == 8;
        uint64_t lim = sgn ? (wide ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX)
                           : (wide ? UINT64_MAX : (uint64_t)UINT32_MAX);
        if (r == -2 || (neg && !sgn && mag != 0) ||
            mag > lim + (uint64_t)(neg && sgn))
            return cfx_error_set(lx->err, CFX_EPARSE,
                                 "%d:%d: field '%s': integer out of range",
                                 vline, vcol, f->name);
        if (wide)
            val.u64 = neg ? (uint64_t)0 - mag : mag;
        else
            val.u32 = (uint32_t)(neg ? (uint64_t)0 - mag : mag);
    } else if (f->type == PROTOBUF_C_TYPE_FLOAT ||
               f->type == PROTOBUF_C_TYPE_DOUBLE) {
        double d;
        if (ident_ci(lx, "inf") || ident_ci(lx, "infinity")) {
            d = INFINITY;
        } else if (ident_ci(lx, "nan")) {
            d = NAN;
        } else if (lx->kind == T_NUM) {
            char num[128];
            size_t n = lx->len;
            if (n > 0 && (lx->tok[n - 1] == 'f' || lx->tok[n - 1] == 'F') &&
                !(n > 1 && lx->tok[0] == '0' &&
                  (lx->tok[1] == 'x' || lx->tok[1] == 'X')))
                n--;
            if (n == 0 || n >= sizeof num)
                return err_at_tok(ps, "field '%s': bad number", f->name);
            memcpy(num, lx->tok, n);
            num[n] = 0;
            char *e;
            /* strtof for floats: no double rounding */
            d = f->type == PROTOBUF_C_TYPE_FLOAT ? (double)strtof(num, &e)
                                                 : strtod(num, &e);
            if (*e != 0 ||
                (num[0] == '0' && n > 1 && (num[1] == 'x' || num[1] == 'X')))
                return err_at_tok(ps, "field '%s': bad number %s", f->name,
                                  tok_desc(lx, tb, sizeof tb));
        } else {
            return err_at_tok(ps, "field '%s': expected a number, got %s",
                              f->name, tok_desc(lx, tb, sizeof tb));
        }
        if (neg)
            d = -d;
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            val.f32 = (float)d;
        else
            val.f64 = d;
    } else if (f->type == PROTOBUF_C_TYPE_BOOL) {
        if (!neg && (is_ident(lx, "true") || is_ident(lx, "True") ||
                     is_ident(lx, "t") ||
                     (lx->kind == T_NUM && lx->len == 1 && lx->tok[0] == '1')))
            val.b = 1;
        else if (!neg &&
                 (is_ident(lx, "false") || is_ident(lx, "False") ||
                  is_ident(lx, "f") ||
                  (lx->kind == T_NUM && lx->len == 1 && lx->tok[0] == '0')))
            val.b = 0;
        else
            return err_at_tok(ps, "field '%s': expected true or false, got %s",
                              f->name, tok_desc(lx, tb, sizeof tb));
    } else if (f->type == PROTOBUF_C_TYPE_ENUM) {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        const ProtobufCEnumValue *ev = NULL;
        if (lx->kind == T_IDENT && !neg) {
            char name[256];
            if (lx->len < sizeof name) {
                memcpy(name, lx->tok, lx->len);
                name[lx->len] = 0;
                ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
            }
        } else if (lx->kind == T_NUM) {
            uint64_t mag;
            if (parse_magnitude(lx->tok, lx->len, &mag) == 0 &&
                mag <= (uint64_t)INT32_MAX + (uint64_t)neg)
                ev = protobuf_c_enum_descriptor_get_value(
                    ed, neg ? (int)(0 - (int64_t)mag) : (int)mag);
        }
        if (ev == NULL)
            return cfx_error_set(
                lx->err, CFX_EPARSE,
                "%d:%d: field '%s': %s is not a value of enum %s", vline, vcol,
                f->name, tok_desc(lx, tb, sizeof tb), ed->name);
        val.e = ev->value;
    }
    void *slot = pb_field_slot(m, f);
    if (slot == NULL)
        return cfx_error_set(lx->err, CFX_ENOMEM, "field '%s': out of memory",
                             f->name);
    memcpy(slot, &val, pb_elem_size(f->type));
    return adv(lx);
}

/* Parses `{ ... }` or `< ... >` at the current token into a new element of
 * message field f. */
static int parse_sub(parser_t *ps, ProtobufCMessage *m,
                     const ProtobufCFieldDescriptor *f, int depth) {
    lex_t *lx = &ps->lx;
    char tb[64];
    char close;
    if (is_sym(lx, '{'))
        close = '}';
    else if (is_sym(lx, '<'))
        close = '>';
    else
        return err_at_tok(ps, "field '%s': expected '{', got %s", f->name,
                          tok_desc(lx, tb, sizeof tb));
    if (depth >= CFX_PB_MAX_DEPTH)
        return err_at_tok(ps, "nesting deeper than %d", CFX_PB_MAX_DEPTH);
    ProtobufCMessage *sm = pb_message_new(f->descriptor);
    void *slot = sm ? pb_field_slot(m, f) : NULL;
    if (slot == NULL) {
        pb_message_free(sm);
        return cfx_error_set(lx->err, CFX_ENOMEM, "field '%s': out of memory",
                             f->name);
    }
    *(ProtobufCMessage **)slot = sm; /* owned by m from here on */
    int rc = adv(lx);
    if (rc)
        return rc;
    return parse_message(ps, sm, close, depth + 1);
}

static int parse_field_values(parser_t *ps, ProtobufCMessage *m,
                              const ProtobufCFieldDescriptor *f, int depth) {
    lex_t *lx = &ps->lx;
    int is_msg = f->type == PROTOBUF_C_TYPE_MESSAGE;
    int rc;
    if (is_sym(lx, '[')) {
        if (f->label != PROTOBUF_C_LABEL_REPEATED)
            return err_at_tok(ps,
                              "field '%s' is not repeated; a list is not "
                              "allowed",
                              f->name);
        if ((rc = adv(lx)))
            return rc;
        if (is_sym(lx, ']'))
            return adv(lx);
        for (;;) {
            rc = is_msg ? parse_sub(ps, m, f, depth) : parse_value(ps, m, f);
            if (rc)
                return rc;
            if (is_sym(lx, ']'))
                return adv(lx);
            if (!is_sym(lx, ',')) {
                char tb[64];
                return err_at_tok(ps, "field '%s': expected ',' or ']', got %s",
                                  f->name, tok_desc(lx, tb, sizeof tb));
            }
            if ((rc = adv(lx)))
                return rc;
        }
    }
    return is_msg ? parse_sub(ps, m, f, depth) : parse_value(ps, m, f);
}

static int parse_message(parser_t *ps, ProtobufCMessage *m, char close,
                         int depth) {
    lex_t *lx = &ps->lx;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    char tb[64];
    unsigned char *seen = calloc(d->n_fields ? d->n_fields : 1, 1);
    if (seen == NULL)
        return cfx_error_set(lx->err, CFX_ENOMEM, "out of memory");
    int rc = 0;
    for (;;) {
        if (lx->kind == T_EOF) {
            if (close)
                rc = err_at_tok(ps, "expected '%c' before end of input", close);
            break;
        }
        if (close && is_sym(lx, close)) {
            rc = adv(lx);
            break;
        }
        if (is_sym(lx, '[')) {
            rc = err_at_tok(ps,
                            "extensions and Any expansions are not supported");
            break;
        }
        if (lx->kind != T_IDENT) {
            rc = err_at_tok(ps, "expected a field name of %s, got %s", d->name,
                            tok_desc(lx, tb, sizeof tb));
            break;
        }
        char name[256];
        const ProtobufCFieldDescriptor *f = NULL;
        if (lx->len < sizeof name) {
            memcpy(name, lx->tok, lx->len);
            name[lx->len] = 0;
            f = protobuf_c_message_descriptor_get_field_by_name(d, name);
        }
        if (f == NULL) {
            rc = err_at_tok(ps, "unknown field '%.*s' in %s",
                            (int)(lx->len > 200 ? 200 : lx->len), lx->tok,
                            d->name);
            break;
        }
        size_t idx = (size_t)(f - d->fields);
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            if (seen[idx]) {
                rc = err_at_tok(ps,
                                "non-repeated field '%s' is given more than "
                                "once",
                                f->name);
                break;
            }
            if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                *(const uint32_t *)pb_quantifier(m, f) != 0 &&
                *(const uint32_t *)pb_quantifier(m, f) != f->id) {
                const ProtobufCFieldDescriptor *o =
                    protobuf_c_message_descriptor_get_field(
                        d, *(const uint32_t *)pb_quantifier(m, f));
                rc = err_at_tok(ps,
                                "field '%s': '%s' of the same oneof is "
                                "already set",
                                f->name, o ? o->name : "?");
                break;
            }
            seen[idx] = 1;
        }
        if ((rc = adv(lx)))
            break;
        if (is_sym(lx, ':')) {
            if ((rc = adv(lx)))
                break;
        } else if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
            rc = err_at_tok(ps, "expected ':' after field '%s', got %s",
                            f->name, tok_desc(lx, tb, sizeof tb));
            break;
        }
        if ((rc = parse_field_values(ps, m, f, depth)))
            break;
        if (is_sym(lx, ',') || is_sym(lx, ';'))
            if ((rc = adv(lx)))
                break;
    }
    free(seen);
    return rc;
}

int cfx_pb_text_parse(const ProtobufCMessageDescriptor *d, const char *text,
                      size_t len, ProtobufCMessage **out, cfx_error_t *err) {
    *out = NULL;
    if (text == NULL)
        text = ""; /* with len 0: the empty message */
    parser_t ps;
    memset(&ps, 0, sizeof ps);
    ps.lx.p = text;
    ps.lx.end = text + len;
    ps.lx.line = 1;
    ps.lx.col = 1;
    ps.lx.err = err;
    cfx_buf_init(&ps.lx.str);
    ProtobufCMessage *m = pb_message_new(d);
    if (m == NULL)
        return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", d->name);
    int rc = adv(&ps.lx);
    if (rc == 0)
        rc = parse_message(&ps, m, 0, 0);
    cfx_buf_free(&ps.lx.str);
    if (rc) {
        pb_message_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

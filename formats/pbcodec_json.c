/*
 * pbcodec_json.c: proto3 JSON mapping over protobuf-c descriptors.
 *
 * Parsing goes through jansson (values, duplicates, UTF-8 and error
 * positions of the syntax); printing writes straight into a cfx_buf_t
 * because the mapping needs control jansson does not give: 64-bit integers
 * as strings, shortest round-trip floats, field order by number.
 */
#include "formats/pbcodec.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/base64.h"
#include "formats/pbcodec_field.h"

/* ---- printing ---------------------------------------------------------- */

typedef struct {
    cfx_buf_t *out;
    int flags;
} jp_t;

static int jstr(cfx_buf_t *out, const uint8_t *s, size_t n) {
    int rc = cfx_buf_putc(out, '"');
    size_t i = 0;
    while (rc == 0 && i < n) {
        size_t j = i;
        while (j < n && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\')
            j++;
        if (j > i)
            rc = cfx_buf_append(out, s + i, j - i);
        if (rc || j == n) {
            i = j;
            break;
        }
        uint8_t c = s[j];
        switch (c) {
        case '"':
            rc = cfx_buf_append(out, "\\\"", 2);
            break;
        case '\\':
            rc = cfx_buf_append(out, "\\\\", 2);
            break;
        case '\n':
            rc = cfx_buf_append(out, "\\n", 2);
            break;
        case '\r':
            rc = cfx_buf_append(out, "\\r", 2);
            break;
        case '\t':
            rc = cfx_buf_append(out, "\\t", 2);
            break;
        case '\b':
            rc = cfx_buf_append(out, "\\b", 2);
            break;
        case '\f':
            rc = cfx_buf_append(out, "\\f", 2);
            break;
        default:
            rc = cfx_buf_printf(out, "\\u%04x", c);
            break;
        }
        i = j + 1;
    }
    return rc ? rc : cfx_buf_putc(out, '"');
}

/* Well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF). */
static int utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int newline(jp_t *jp, int indent) {
    if (!(jp->flags & CFX_PB_JSON_PRETTY))
        return 0;
    int rc = cfx_buf_putc(jp->out, '\n');
    for (int i = 0; i < indent && rc == 0; i++)
        rc = cfx_buf_putc(jp->out, ' ');
    return rc;
}

static int put_json_double(cfx_buf_t *out, double v) {
    /* "-0" would read back as the integer 0; "-0.0" keeps the sign. */
    if (v == 0 && signbit(v))
        return cfx_buf_append(out, "-0.0", 4);
    if (isnan(v))
        return cfx_buf_append(out, "\"NaN\"", 5);
    if (isinf(v))
        return v < 0 ? cfx_buf_append(out, "\"-Infinity\"", 11)
                     : cfx_buf_append(out, "\"Infinity\"", 10);
    char num[32];
    pb_fmt_double(num, v);
    return cfx_buf_append(out, num, strlen(num));
}

static int print_msg(jp_t *jp, const ProtobufCMessage *m, int indent,
                     int depth);

/* One value of field f stored at v (a message pointer for messages). */
static int print_value(jp_t *jp, const ProtobufCFieldDescriptor *f,
                       const void *v, int indent, int depth) {
    cfx_buf_t *out = jp->out;
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
        return cfx_buf_printf(out, "\"%" PRId64 "\"", *(const int64_t *)v);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return cfx_buf_printf(out, "\"%" PRIu64 "\"", *(const uint64_t *)v);
    case PROTOBUF_C_TYPE_FLOAT: {
        float x = *(const float *)v;
        if (isnan(x) || isinf(x) || x == 0)
            return put_json_double(out, (double)x);
        char num[32];
        pb_fmt_float(num, x);
        return cfx_buf_append(out, num, strlen(num));
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        return put_json_double(out, *(const double *)v);
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)v ? cfx_buf_append(out, "true", 4)
                                              : cfx_buf_append(out, "false", 5);
    case PROTOBUF_C_TYPE_ENUM: {
        int e = *(const int *)v;
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value(f->descriptor, e);
        if (ev != NULL)
            return cfx_buf_printf(out, "\"%s\"", ev->name);
        return cfx_buf_printf(out, "%d", e);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)v;
        if (s == NULL)
            s = "";
        size_t n = strlen(s);
        if (!utf8_valid((const uint8_t *)s, n))
            return CFX_EINVAL; /* JSON text must be UTF-8; bytes are base64 */
        return jstr(out, (const uint8_t *)s, n);
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = v;
        int rc = cfx_buf_putc(out, '"');
        if (rc == 0)
            rc = cfx_base64_encode(b->data, b->len, out);
        return rc ? rc : cfx_buf_putc(out, '"');
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sm = *(ProtobufCMessage *const *)v;
        const ProtobufCMessageDescriptor *d = f->descriptor;
        if (pb_is_wrapper(d)) {
            if (sm == NULL)
                return cfx_buf_append(out, "null", 4);
            return print_value(jp, &d->fields[0], pb_member(sm, &d->fields[0]),
                               indent, depth);
        }
        if (sm == NULL)
            return cfx_buf_append(out, "{}", 2);
        return print_msg(jp, sm, indent, depth + 1);
    }
    }
    return CFX_EINTERNAL;
}

/* A map key as a JSON object key (always a string). */
static int print_key(jp_t *jp, const ProtobufCMessage *entry) {
    const ProtobufCFieldDescriptor *k = &entry->descriptor->fields[0];
    const void *v = pb_member(entry, k);
    switch (k->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return print_value(jp, k, v, 0, 0); /* already quoted */
    case PROTOBUF_C_TYPE_BOOL:
        return cfx_buf_append(
            jp->out, *(const protobuf_c_boolean *)v ? "\"true\"" : "\"false\"",
            *(const protobuf_c_boolean *)v ? 6 : 7);
    default: {
        int rc = cfx_buf_putc(jp->out, '"');
        if (rc == 0)
            rc = print_value(jp, k, v, 0, 0);
        return rc ? rc : cfx_buf_putc(jp->out, '"');
    }
    }
}

static int print_field(jp_t *jp, const ProtobufCMessage *m,
                       const ProtobufCFieldDescriptor *f, int indent,
                       int depth) {
    cfx_buf_t *out = jp->out;
    int pretty = jp->flags & CFX_PB_JSON_PRETTY;
    int rc = 0;
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return print_value(jp, f, pb_member(m, f), indent, depth);
    size_t n = pb_repeated_count(m, f);
    if (pb_is_map(f)) {
        ProtobufCMessage **s = pb_sorted_entries(m, f, &n);
        if (s == NULL)
            return CFX_ENOMEM;
        rc = cfx_buf_putc(out, '{');
        const ProtobufCMessageDescriptor *ed = f->descriptor;
        const ProtobufCFieldDescriptor *vf = &ed->fields[1];
        for (size_t j = 0; j < n && rc == 0; j++) {
            if (j > 0)
                rc = cfx_buf_putc(out, ',');
            if (rc == 0)
                rc = newline(jp, indent + 2);
            if (rc == 0)
                rc = print_key(jp, s[j]);
            if (rc == 0)
                rc = cfx_buf_append(out, pretty ? ": " : ":", pretty ? 2 : 1);
            if (rc == 0)
                rc = print_value(jp, vf, pb_member(s[j], vf), indent + 2,
                                 depth + 1);
        }
        free(s);
        if (rc == 0 && n > 0)
            rc = newline(jp, indent);
        return rc ? rc : cfx_buf_putc(out, '}');
    }
    const char *arr = *(const char *const *)pb_member(m, f);
    size_t es = pb_elem_size(f->type);
    rc = cfx_buf_putc(out, '[');
    for (size_t j = 0; j < n && rc == 0; j++) {
        if (j > 0)
            rc = cfx_buf_putc(out, ',');
        if (rc == 0 && f->type == PROTOBUF_C_TYPE_MESSAGE)
            rc = newline(jp, indent + 2);
        if (rc == 0)
            rc = print_value(jp, f, arr + j * es, indent + 2, depth);
    }
    if (rc == 0 && n > 0 && f->type == PROTOBUF_C_TYPE_MESSAGE)
        rc = newline(jp, indent);
    return rc ? rc : cfx_buf_putc(out, ']');
}

static int print_msg(jp_t *jp, const ProtobufCMessage *m, int indent,
                     int depth) {
    if (depth > CFX_PB_MAX_DEPTH)
        return CFX_ETOOBIG;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    cfx_buf_t *out = jp->out;
    int pretty = jp->flags & CFX_PB_JSON_PRETTY;
    int rc = cfx_buf_putc(out, '{');
    int first = 1;
    for (unsigned i = 0; i < d->n_fields && rc == 0; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        int show;
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            show = pb_repeated_count(m, f) > 0 ||
                   (jp->flags & CFX_PB_JSON_EMIT_DEFAULTS);
        else
            show = pb_field_present(m, f) ||
                   ((jp->flags & CFX_PB_JSON_EMIT_DEFAULTS) &&
                    f->label == PROTOBUF_C_LABEL_NONE &&
                    !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                    f->type != PROTOBUF_C_TYPE_MESSAGE);
        if (!show)
            continue;
        if (!first)
            rc = cfx_buf_putc(out, ',');
        first = 0;
        if (rc == 0)
            rc = newline(jp, indent + 2);
        char name[256];
        if (jp->flags & CFX_PB_JSON_ORIGINAL_NAMES)
            snprintf(name, sizeof name, "%s", f->name);
        else
            pb_json_name(f, name, sizeof name);
        if (rc == 0)
            rc = cfx_buf_printf(out, pretty ? "\"%s\": " : "\"%s\":", name);
        if (rc == 0)
            rc = print_field(jp, m, f, indent + 2, depth);
    }
    if (rc == 0 && !first)
        rc = newline(jp, indent);
    return rc ? rc : cfx_buf_putc(out, '}');
}

int cfx_pb_json_print(const ProtobufCMessage *m, int flags, cfx_buf_t *out,
                      cfx_error_t *err) {
    jp_t jp = {out, flags};
    int rc;
    if (pb_is_wrapper(m->descriptor))
        rc = print_value(&jp, &m->descriptor->fields[0],
                         pb_member(m, &m->descriptor->fields[0]), 0, 0);
    else
        rc = print_msg(&jp, m, 0, 0);
    if (rc == CFX_ETOOBIG)
        return cfx_error_set(err, rc, "%s: nesting deeper than %d",
                             m->descriptor->name, CFX_PB_MAX_DEPTH);
    if (rc == CFX_EINVAL)
        return cfx_error_set(err, rc,
                             "%s: JSON: a string field is not valid "
                             "UTF-8",
                             m->descriptor->name);
    if (rc)
        return cfx_error_set(err, rc, "%s: JSON: %s", m->descriptor->name,
                             cfx_err_str(rc));
    return 0;
}

/* ---- parsing ----------------------------------------------------------- */

#define PATH_MAX_LEN 512

typedef struct {
    char path[PATH_MAX_LEN]; /* JSON path of the value being parsed */
    size_t plen;
    cfx_error_t *err;
} jr_t;

static size_t path_push(jr_t *jr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t path_push(jr_t *jr, const char *fmt, ...) {
    size_t old = jr->plen;
    if (jr->plen < sizeof jr->path - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n =
            vsnprintf(jr->path + jr->plen, sizeof jr->path - jr->plen, fmt, ap);
        va_end(ap);
        if (n > 0)
            jr->plen += (size_t)n;
        if (jr->plen > sizeof jr->path - 1)
            jr->plen = sizeof jr->path - 1;
    }
    return old;
}

static void path_pop(jr_t *jr, size_t old) {
    jr->plen = old;
    jr->path[old] = '\0';
}

static int jerr(jr_t *jr, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int jerr(jr_t *jr, int code, const char *fmt, ...) {
    char msg[CFX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cfx_error_set(jr->err, code, "%s: %s",
                         jr->plen ? jr->path : "(top level)", msg);
}

static const char *jtype(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Integer of a JSON number or numeric string; 0, or -1 not an integer,
 * -2 out of the 64-bit range. *neg set for negatives (magnitude in *mag). */
static int json_int(const json_t *v, int *neg, uint64_t *mag) {
    *neg = 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        *neg = i < 0;
        *mag = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || !isfinite(d))
            return -1;
        if (fabs(d) >= 18446744073709551616.0)
            return -2;
        *neg = d < 0;
        *mag = (uint64_t)fabs(d);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    if (*s == '-') {
        *neg = 1;
        s++;
    }
    if (*s == '\0')
        return -1;
    uint64_t x = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -2;
        x = x * 10 + d;
    }
    *mag = x;
    return 0;
}

static int from_value(jr_t *jr, const json_t *v, ProtobufCMessage *m,
                      int depth);

static int is_signed_type(ProtobufCType t) {
    return t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_SINT32 ||
           t == PROTOBUF_C_TYPE_SFIXED32 || t == PROTOBUF_C_TYPE_INT64 ||
           t == PROTOBUF_C_TYPE_SINT64 || t == PROTOBUF_C_TYPE_SFIXED64;
}

/* Parses one value of field f from v and stores it into a fresh slot. */
static int set_value(jr_t *jr, ProtobufCMessage *m,
                     const ProtobufCFieldDescriptor *f, const json_t *v,
                     int depth) {
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
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (depth >= CFX_PB_MAX_DEPTH)
            return jerr(jr, CFX_EPARSE, "nesting deeper than %d",
                        CFX_PB_MAX_DEPTH);
        ProtobufCMessage *sm = pb_message_new(f->descriptor);
        void *slot = sm ? pb_field_slot(m, f) : NULL;
        if (slot == NULL) {
            pb_message_free(sm);
            return jerr(jr, CFX_ENOMEM, "out of memory");
        }
        *(ProtobufCMessage **)slot = sm;
        return from_value(jr, v, sm, depth + 1);
    }
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES: {
        if (!json_is_string(v))
            return jerr(jr, CFX_EPARSE, "expected a string, got %s", jtype(v));
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        uint8_t *copy;
        size_t clen = n;
        if (f->type == PROTOBUF_C_TYPE_BYTES) {
            cfx_buf_t b;
            cfx_buf_init(&b);
            int rc = cfx_base64_decode(s, n, &b, jr->err);
            if (rc) {
                cfx_buf_free(&b);
                return cfx_error_prefix(jr->err, "%s", jr->path);
            }
            clen = b.len;
            copy = b.data ? b.data : malloc(1);
        } else {
            if (memchr(s, 0, n) != NULL)
                return jerr(jr, CFX_EPARSE, "string contains a NUL character");
            copy = malloc(n + 1);
            if (copy != NULL) {
                memcpy(copy, s, n);
                copy[n] = 0;
            }
        }
        void *slot = copy ? pb_field_slot(m, f) : NULL;
        if (slot == NULL) {
            free(copy);
            return jerr(jr, CFX_ENOMEM, "out of memory");
        }
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            *(char **)slot = (char *)copy;
        } else {
            ProtobufCBinaryData *bd = slot;
            bd->data = copy;
            bd->len = clen;
        }
        return 0;
    }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double d;
        if (json_is_number(v)) {
            d = json_number_value(v);
        } else if (json_is_string(v)) {
            const char *s = json_string_value(v);
            char *e;
            if (strcmp(s, "NaN") == 0)
                d = NAN;
            else if (strcmp(s, "Infinity") == 0)
                d = INFINITY;
            else if (strcmp(s, "-Infinity") == 0)
                d = -INFINITY;
            else if (*s != '\0' && (d = strtod(s, &e), *e == '\0') &&
                     isfinite(d))
                ;
            else
                return jerr(jr, CFX_EPARSE, "expected a number, got \"%.40s\"",
                            s);
        } else {
            return jerr(jr, CFX_EPARSE, "expected a number, got %s", jtype(v));
        }
        if (f->type == PROTOBUF_C_TYPE_FLOAT) {
            if (isfinite(d) && fabs(d) > 3.4028234663852886e38)
                return jerr(jr, CFX_EPARSE, "%g is out of float range", d);
            val.f32 = (float)d;
        } else {
            val.f64 = d;
        }
        break;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return jerr(jr, CFX_EPARSE, "expected true or false, got %s",
                        jtype(v));
        val.b = json_is_true(v);
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        const ProtobufCEnumValue *ev = NULL;
        if (json_is_string(v)) {
            ev = protobuf_c_enum_descriptor_get_value_by_name(
                ed, json_string_value(v));
        } else if (json_is_integer(v)) {
            json_int_t i = json_integer_value(v);
            if (i >= INT32_MIN && i <= INT32_MAX)
                ev = protobuf_c_enum_descriptor_get_value(ed, (int)i);
        } else {
            return jerr(jr, CFX_EPARSE, "expected an enum name, got %s",
                        jtype(v));
        }
        if (ev == NULL) {
            char *txt = json_dumps(v, JSON_ENCODE_ANY);
            int rc = jerr(jr, CFX_EPARSE, "%.60s is not a value of enum %s",
                          txt ? txt : "?", ed->name);
            free(txt);
            return rc;
        }
        val.e = ev->value;
        break;
    }
    default: { /* integers */
        int neg;
        uint64_t mag;
        int r = json_int(v, &neg, &mag);
        if (r == -1)
            return jerr(jr, CFX_EPARSE, "expected an integer, got %s",
                        jtype(v));
        int sgn = is_signed_type(f->type);
        int wide = pb_elem_size(f->type) == 8;
        uint64_t lim = sgn ? (wide ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX)
                           : (wide ? UINT64_MAX : (uint64_t)UINT32_MAX);
        if (r == -2 || (neg && !sgn && mag != 0) ||
            mag > lim + (uint64_t)(neg && sgn))
            return jerr(jr, CFX_EPARSE, "integer out of range");
        if (wide)
            val.u64 = neg ? (uint64_t)0 - mag : mag;
        else
            val.u32 = (uint32_t)(neg ? (uint64_t)0 - mag : mag);
        break;
    }
    }
    void *slot = pb_field_slot(m, f);
    if (slot == NULL)
        return jerr(jr, CFX_ENOMEM, "out of memory");
    memcpy(slot, &val, pb_elem_size(f->type));
    return 0;
}

/* A JSON object key as a map key of type k, stored in entry. */
static int set_map_key(jr_t *jr, ProtobufCMessage *entry,
                       const ProtobufCFieldDescriptor *k, const char *key) {
    json_t *kv;
    if (k->type == PROTOBUF_C_TYPE_STRING) {
        kv = json_string(key);
    } else if (k->type == PROTOBUF_C_TYPE_BOOL) {
        if (strcmp(key, "true") == 0)
            kv = json_true();
        else if (strcmp(key, "false") == 0)
            kv = json_false();
        else
            return jerr(jr, CFX_EPARSE, "map key \"%.40s\" is not a boolean",
                        key);
    } else {
        kv = json_string(key);
    }
    if (kv == NULL)
        return jerr(jr, CFX_EPARSE, "map key is not valid UTF-8");
    int rc = set_value(jr, entry, k, kv, 0);
    json_decref(kv);
    return rc;
}

static const ProtobufCFieldDescriptor *
find_field(const ProtobufCMessageDescriptor *d, const char *key) {
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(d, key);
    if (f != NULL)
        return f;
    char name[256];
    for (unsigned i = 0; i < d->n_fields; i++) {
        pb_json_name(&d->fields[i], name, sizeof name);
        if (strcmp(name, key) == 0)
            return &d->fields[i];
    }
    return NULL;
}

static int from_value(jr_t *jr, const json_t *v, ProtobufCMessage *m,
                      int depth) {
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (pb_is_wrapper(d) && !json_is_object(v))
        return set_value(jr, m, &d->fields[0], v, depth);
    if (!json_is_object(v))
        return jerr(jr, CFX_EPARSE, "expected an object (%s), got %s", d->name,
                    jtype(v));
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val) {
        const ProtobufCFieldDescriptor *f = find_field(d, key);
        if (f == NULL)
            return jerr(jr, CFX_EPARSE, "unknown field \"%.100s\" in %s", key,
                        d->name);
        size_t old = path_push(jr, jr->plen ? ".%s" : "%s", key);
        int rc = 0;
        if (json_is_null(val)) {
            /* null means "not set" */
        } else if (pb_is_map(f)) {
            if (!json_is_object(val)) {
                rc = jerr(jr, CFX_EPARSE, "expected an object (map), got %s",
                          jtype(val));
            } else {
                const ProtobufCMessageDescriptor *ed = f->descriptor;
                const char *mk;
                json_t *mv;
                json_object_foreach(val, mk, mv) {
                    size_t o2 = path_push(jr, "[\"%s\"]", mk);
                    ProtobufCMessage *entry = pb_message_new(ed);
                    void *slot = entry ? pb_field_slot(m, f) : NULL;
                    if (slot == NULL) {
                        pb_message_free(entry);
                        rc = jerr(jr, CFX_ENOMEM, "out of memory");
                    } else {
                        *(ProtobufCMessage **)slot = entry;
                        rc = set_map_key(jr, entry, &ed->fields[0], mk);
                        if (rc == 0 && !json_is_null(mv))
                            rc = set_value(jr, entry, &ed->fields[1], mv,
                                           depth + 1);
                    }
                    if (rc)
                        break;
                    path_pop(jr, o2);
                }
            }
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (!json_is_array(val)) {
                rc = jerr(jr, CFX_EPARSE, "expected an array, got %s",
                          jtype(val));
            } else {
                size_t i;
                json_t *e;
                json_array_foreach(val, i, e) {
                    size_t o2 = path_push(jr, "[%zu]", i);
                    rc = set_value(jr, m, f, e, depth);
                    if (rc)
                        break;
                    path_pop(jr, o2);
                }
            }
        } else {
            if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                *(const uint32_t *)pb_quantifier(m, f) != 0 &&
                *(const uint32_t *)pb_quantifier(m, f) != f->id)
                rc = jerr(jr, CFX_EPARSE,
                          "another field of the same oneof is already set");
            else
                rc = set_value(jr, m, f, val, depth);
        }
        if (rc)
            return rc;
        path_pop(jr, old);
    }
    return 0;
}

int cfx_pb_json_from_value(const ProtobufCMessageDescriptor *d,
                           const struct json_t *v, ProtobufCMessage **out,
                           cfx_error_t *err) {
    *out = NULL;
    jr_t jr;
    jr.path[0] = '\0';
    jr.plen = 0;
    jr.err = err;
    ProtobufCMessage *m = pb_message_new(d);
    if (m == NULL)
        return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", d->name);
    int rc = from_value(&jr, v, m, 0);
    if (rc) {
        pb_message_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int cfx_pb_json_parse(const ProtobufCMessageDescriptor *d, const char *text,
                      size_t len, ProtobufCMessage **out, cfx_error_t *err) {
    *out = NULL;
    if (text == NULL)
        text = "";
    json_error_t je;
    json_t *v =
        json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (v == NULL)
        return cfx_error_set(err, CFX_EPARSE, "%d:%d: %s", je.line, je.column,
                             je.text);
    int rc = cfx_pb_json_from_value(d, v, out, err);
    json_decref(v);
    return rc;
}

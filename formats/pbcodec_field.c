/*
 * pbcodec_field.c: field access for the text-format and JSON codecs.
 *
 * Memory follows protobuf-c's unpacker: every message, string, bytes buffer
 * and repeated array is its own malloc block, so
 * protobuf_c_message_free_unpacked(m, NULL) releases what the parsers built.
 */
#include "formats/pbcodec_field.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/pbcodec.h"

int cfx_pb_push(void ***arr, size_t *n, void *p) {
    if (*n >= SIZE_MAX / sizeof **arr - 1)
        return CFX_ENOMEM;
    void **na = realloc(*arr, (*n + 1) * sizeof *na);
    if (na == NULL)
        return CFX_ENOMEM;
    na[(*n)++] = p;
    *arr = na;
    return 0;
}

size_t pb_elem_size(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static int is_ptr_type(ProtobufCType t) {
    return t == PROTOBUF_C_TYPE_STRING || t == PROTOBUF_C_TYPE_MESSAGE;
}

static int zeroish(const void *p, ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return s == NULL || s[0] == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)p == NULL;
    default: {
        /* Bit pattern, as protobuf C++ does: -0.0 is not a default. */
        size_t n = pb_elem_size(t);
        const unsigned char *b = p;
        for (size_t i = 0; i < n; i++)
            if (b[i])
                return 0;
        return 1;
    }
    }
}

int pb_field_present(const ProtobufCMessage *m,
                     const ProtobufCFieldDescriptor *f) {
    const void *v = pb_member(m, f);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(const uint32_t *)pb_quantifier(m, f) != f->id)
            return 0;
        return !is_ptr_type(f->type) || *(void *const *)v != NULL;
    }
    switch (f->label) {
    case PROTOBUF_C_LABEL_REQUIRED:
        return !is_ptr_type(f->type) || *(void *const *)v != NULL;
    case PROTOBUF_C_LABEL_OPTIONAL:
        if (is_ptr_type(f->type)) {
            const void *ptr = *(void *const *)v;
            return ptr != NULL && ptr != f->default_value;
        }
        return *(const protobuf_c_boolean *)pb_quantifier(m, f) != 0;
    case PROTOBUF_C_LABEL_NONE:
        return !zeroish(v, f->type);
    default:
        return pb_repeated_count(m, f) > 0;
    }
}

int pb_is_map(const ProtobufCFieldDescriptor *f) {
    if (f->label != PROTOBUF_C_LABEL_REPEATED ||
        f->type != PROTOBUF_C_TYPE_MESSAGE)
        return 0;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    if (d->n_fields != 2 || d->fields[0].id != 1 || d->fields[1].id != 2 ||
        strcmp(d->fields[0].name, "key") != 0 ||
        strcmp(d->fields[1].name, "value") != 0)
        return 0;
    /* protoc names the entry type after the field: foo_bar -> FooBarEntry. */
    char want[256];
    size_t n = 0;
    int up = 1;
    for (const char *c = f->name; *c && n + 6 < sizeof want; c++) {
        if (*c == '_') {
            up = 1;
            continue;
        }
        want[n++] = up ? (char)toupper((unsigned char)*c) : *c;
        up = 0;
    }
    memcpy(want + n, "Entry", 6);
    return strcmp(d->short_name, want) == 0;
}

int pb_is_wrapper(const ProtobufCMessageDescriptor *d) {
    static const char *const names[] = {
        "google.protobuf.DoubleValue", "google.protobuf.FloatValue",
        "google.protobuf.Int64Value",  "google.protobuf.UInt64Value",
        "google.protobuf.Int32Value",  "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue",   "google.protobuf.StringValue",
        "google.protobuf.BytesValue",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(d->name, names[i]) == 0)
            return d->n_fields == 1 && d->fields[0].id == 1;
    return 0;
}

ProtobufCMessage *pb_message_new(const ProtobufCMessageDescriptor *d) {
    ProtobufCMessage *m = malloc(d->sizeof_message);
    if (m != NULL)
        protobuf_c_message_init(d, m);
    return m;
}

void pb_message_free(ProtobufCMessage *m) {
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* Frees the singular value of f in m (string, bytes or message) and resets
 * the member to its default. */
static void clear_value(ProtobufCMessage *m,
                        const ProtobufCFieldDescriptor *f) {
    void *v = pb_member(m, f);
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        char *s = *(char **)v;
        if (s != NULL && s != f->default_value)
            free(s);
        *(char **)v = NULL;
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = v;
        const ProtobufCBinaryData *def = f->default_value;
        if (b->data != NULL && (def == NULL || def->data != b->data))
            free(b->data);
        b->data = NULL;
        b->len = 0;
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sm = *(ProtobufCMessage **)v;
        if (sm != NULL && (const void *)sm != f->default_value)
            protobuf_c_message_free_unpacked(sm, NULL);
        *(ProtobufCMessage **)v = NULL;
        break;
    }
    default:
        memset(v, 0, pb_elem_size(f->type));
        break;
    }
}

void *pb_field_slot(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
    void *v = pb_member(m, f);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t *n = pb_quantifier(m, f);
        void **arr = v;
        size_t es = pb_elem_size(f->type);
        if (*n >= CFX_PB_MAX_REPEATED)
            return NULL;
        /* Capacity is implicit: 4, then doubling at each power of two. */
        if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
            size_t cap = *n < 4 ? 4 : *n * 2;
            void *p = realloc(*arr, cap * es);
            if (p == NULL)
                return NULL;
            *arr = p;
        }
        void *slot = (char *)*arr + *n * es;
        memset(slot, 0, es);
        (*n)++;
        return slot;
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = pb_quantifier(m, f);
        if (*which != 0) {
            const ProtobufCFieldDescriptor *old =
                protobuf_c_message_descriptor_get_field(m->descriptor, *which);
            if (old != NULL)
                clear_value(m, old);
        }
        *which = f->id;
        memset(v, 0, pb_elem_size(f->type));
        return v;
    }
    clear_value(m, f);
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !is_ptr_type(f->type))
        *(protobuf_c_boolean *)pb_quantifier(m, f) = 1;
    return v;
}

/* Smallest %.*g precision in [1, max] whose text reads back to v; the
 * property is monotonic in the precision, so bisect. tmp is large enough
 * for any %g output; the result (at most 24 chars) is copied to buf. */
void pb_fmt_double(char *buf, double v) {
    if (isnan(v)) {
        strcpy(buf, "nan");
        return;
    }
    if (isinf(v)) {
        strcpy(buf, v < 0 ? "-inf" : "inf");
        return;
    }
    char tmp[400];
    int lo = 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(tmp, sizeof tmp, "%.*g", mid, v);
        if (strtod(tmp, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    snprintf(tmp, sizeof tmp, "%.*g", lo, v);
    size_t n = strlen(tmp);
    if (n > 31)
        n = 31;
    memcpy(buf, tmp, n);
    buf[n] = 0;
}

void pb_fmt_float(char *buf, float v) {
    if (isnan(v)) {
        strcpy(buf, "nan");
        return;
    }
    if (isinf(v)) {
        strcpy(buf, v < 0 ? "-inf" : "inf");
        return;
    }
    char tmp[400];
    int lo = 1, hi = 9;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(tmp, sizeof tmp, "%.*g", mid, (double)v);
        if (strtof(tmp, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    snprintf(tmp, sizeof tmp, "%.*g", lo, (double)v);
    size_t n = strlen(tmp);
    if (n > 31)
        n = 31;
    memcpy(buf, tmp, n);
    buf[n] = 0;
}

void pb_json_name(const ProtobufCFieldDescriptor *f, char *buf, size_t n) {
    size_t k = 0;
    int up = 0;
    for (const char *c = f->name; *c && k + 1 < n; c++) {
        if (*c == '_') {
            up = 1;
            continue;
        }
        buf[k++] = up ? (char)toupper((unsigned char)*c) : *c;
        up = 0;
    }
    buf[k] = '\0';
}

/* Orders map entries by key: strings by bytes, integers numerically. */
static int cmp_map_key(const ProtobufCMessage *a, const ProtobufCMessage *b) {
    const ProtobufCFieldDescriptor *k = &a->descriptor->fields[0];
    const void *x = pb_member(a, k), *y = pb_member(b, k);
    switch (k->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)x, *t = *(char *const *)y;
        return strcmp(s ? s : "", t ? t : "");
    }
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
        int32_t s = *(const int32_t *)x, t = *(const int32_t *)y;
        return (s > t) - (s < t);
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t s = *(const int64_t *)x, t = *(const int64_t *)y;
        return (s > t) - (s < t);
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_BOOL: {
        uint32_t s = *(const uint32_t *)x, t = *(const uint32_t *)y;
        return (s > t) - (s < t);
    }
    default: {
        uint64_t s = *(const uint64_t *)x, t = *(const uint64_t *)y;
        return (s > t) - (s < t);
    }
    }
}

typedef struct {
    ProtobufCMessage *entry;
    size_t index;
} entry_ref_t;

static int cmp_entry_ref(const void *a, const void *b) {
    const entry_ref_t *x = a, *y = b;
    int c = cmp_map_key(x->entry, y->entry);
    if (c)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

ProtobufCMessage **pb_sorted_entries(const ProtobufCMessage *m,
                                     const ProtobufCFieldDescriptor *f,
                                     size_t *n) {
    size_t cnt = pb_repeated_count(m, f);
    ProtobufCMessage *const *arr =
        *(ProtobufCMessage *const *const *)pb_member(m, f);
    ProtobufCMessage **s = malloc((cnt ? cnt : 1) * sizeof *s);
    entry_ref_t *refs = malloc((cnt ? cnt : 1) * sizeof *refs);
    if (s == NULL || refs == NULL) {
        free(s);
        free(refs);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++)
        if (arr[i] != NULL) {
            refs[k].entry = arr[i];
            refs[k].index = i;
            k++;
        }
    qsort(refs, k, sizeof *refs, cmp_entry_ref);
    /* A key given twice keeps its last value, as a map does. */
    size_t out = 0;
    for (size_t i = 0; i < k; i++)
        if (i + 1 == k || cmp_map_key(refs[i].entry, refs[i + 1].entry) != 0)
            s[out++] = refs[i].entry;
    free(refs);
    *n = out;
    return s;
}

/*
 * rest_body.c: predict / classify / regress bodies to examples
 * (rest_body.h). The error texts are TF Serving's (its json_tensor.cc),
 * with a JSON value quoted as TF Serving quotes it
 * (cfx_jscan_debug_string) and a wrapped status printed as absl prints
 * one ("INVALID_ARGUMENT: ...").
 */
#include "serve/rest_body.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/base64.h"
#include "formats/dtype.h"
#include "serve/json_scan.h"

#define MAX_RANK 32 /* list nesting of one value; deeper is refused */

typedef struct cfx_rest_shape {
    size_t name_len; /* the input's name (set by cfx_rest_predict_prepare) */
    int seen;
    int rank;
    int64_t dims[MAX_RANK];
    size_t size; /* values */
} shape_t;

void cfx_rest_body_init(cfx_rest_body_t *b, cfx_buf_t *scratch, cfx_buf_t *blob,
                        cfx_buf_t *vals) {
    /* The per-input and per-row arrays are kept for the next request. */
    size_t *ser = b->ser, ser_cap = b->ser_cap, shape_cap = b->shape_cap;
    struct cfx_rest_shape *shape = b->shape;
    memset(b, 0, sizeof(*b));
    b->ser = ser;
    b->ser_cap = ser_cap;
    b->shape = shape;
    b->shape_cap = shape_cap;
    b->scratch = scratch;
    b->blob = blob;
    b->vals = vals;
    cfx_buf_reset(scratch);
    cfx_buf_reset(blob);
    cfx_buf_reset(vals);
}

void cfx_rest_body_free(cfx_rest_body_t *b) {
    free(b->ser);
    free(b->shape);
    b->ser = NULL;
    b->shape = NULL;
    b->ser_cap = 0;
    b->shape_cap = 0;
}

/* The debug rendering of the value at p, NUL-terminated, in scratch. */
static const char *quote(cfx_rest_body_t *b, const char *p) {
    cfx_buf_reset(b->scratch);
    if (cfx_jscan_debug_string(p, b->scratch) || cfx_buf_cstr(b->scratch))
        return "";
    return (const char *)b->scratch->data;
}

/* ---- document and signature ---------------------------------------------- */

int cfx_rest_body_parse(cfx_rest_body_t *b, const char *data, size_t len,
                        const char **sig_name, size_t *sig_len,
                        cfx_error_t *err) {
    *sig_name = NULL;
    *sig_len = 0;
    b->doc = data;
    b->len = len;
    if (len == 0)
        return cfx_error_set(err, CFX_EINVAL,
                             "JSON Parse error: The document is empty");
    size_t end;
    cfx_jtop_t top;
    cfx_jerr_t je = cfx_jscan_validate_top(data, len, &end, &top);
    if (je == CFX_JERR_NO_MEMORY)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    if (je)
        return cfx_error_set(err, CFX_EINVAL,
                             "JSON Parse error: %s at offset: %zu",
                             cfx_jscan_error_text(je), end);
    const char *root = cfx_jscan_ws(data);
    if (*root != '{') {
        /* A scalar root may end the buffer: quote a terminated copy. */
        cfx_buf_t copy;
        cfx_buf_init(&copy);
        if (cfx_buf_append(&copy, root, (size_t)(data + end - root)) ||
            cfx_buf_append(&copy, " ", 2)) {
            cfx_buf_free(&copy);
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
        }
        int rc = cfx_error_set(err, CFX_EINVAL, "JSON Value: %s Is not object",
                               quote(b, (const char *)copy.data));
        cfx_buf_free(&copy);
        return rc;
    }
    /* The members validation noted, or (past CFX_JSCAN_TOP_MAX of them)
     * a walk over the root. */
    const char *after;
    const char *q = top.more ? cfx_jscan_enter(root, &after) : NULL;
    for (size_t i = 0; top.more ? q != NULL : i < top.n; i++) {
        const char *key, *v;
        size_t kl, count = SIZE_MAX;
        cfx_buf_reset(b->scratch);
        if (top.more) {
            v = cfx_jscan_member(q, b->scratch, &key, &kl);
        } else {
            cfx_jscan_string(data + top.m[i].key, b->scratch, &key, &kl);
            v = data + top.m[i].value;
            count = top.m[i].count;
        }
        const char **slot = NULL;
        size_t *slot_n = NULL;
#define KEY(s) (kl == sizeof(s) - 1 && key && memcmp(key, s, kl) == 0)
        if (KEY("signature_name")) {
            slot = &b->signature_name;
        } else if (KEY("instances")) {
            slot = &b->instances;
            slot_n = &b->instances_n;
        } else if (KEY("inputs")) {
            slot = &b->inputs;
        } else if (KEY("context")) {
            slot = &b->context;
        } else if (KEY("examples")) {
            slot = &b->examples;
            slot_n = &b->examples_n;
        }
#undef KEY
        if (slot && !*slot) {
            *slot = v;
            if (slot_n)
                *slot_n = count;
        }
        if (top.more && !cfx_jscan_next(cfx_jscan_skip(v), &q))
            break;
    }
    if (b->signature_name) {
        if (*b->signature_name != '"')
            return cfx_error_set(err, CFX_EINVAL,
                                 "JSON Value: %s not formatted correctly. "
                                 "'signature_name' key must be a string "
                                 "value.",
                                 quote(b, root));
        cfx_buf_reset(b->scratch);
        cfx_jscan_string(b->signature_name, b->scratch, sig_name, sig_len);
        if (!*sig_name)
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    return 0;
}

/* ---- values -------------------------------------------------------------- */

/* {"b64": "<string>"} and nothing else (TF Serving's IsValBase64Object);
 * *s gets the string's first byte. */
static int is_b64_object(const char *p, const char **s) {
    if (*p != '{')
        return 0;
    const char *after;
    const char *q = cfx_jscan_enter(p, &after);
    if (!q)
        return 0;
    /* The key "b64" spelled without escapes (an escaped spelling is rare
     * enough to be read as another key). */
    if (strncmp(q, "\"b64\"", 5) != 0)
        return 0;
    const char *v = cfx_jscan_ws(cfx_jscan_ws(q + 5) + 1);
    if (*v != '"')
        return 0;
    const char *next;
    if (cfx_jscan_next(cfx_jscan_skip(v), &next))
        return 0;
    *s = v;
    return 1;
}

/* Appends the decoded b64 of the string at s to blob. */
static int b64_decode(cfx_rest_body_t *b, const char *s, cfx_error_t *err) {
    const char *t;
    size_t tl;
    cfx_buf_reset(b->scratch);
    cfx_jscan_string(s, b->scratch, &t, &tl);
    if (!t)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    if (cfx_base64_decode(t, tl, b->blob, NULL))
        return cfx_error_set(err, CFX_EINVAL, "Unable to base64 decode");
    return 0;
}

/* Appends the string at s to blob; *end gets the byte after it. */
static int blob_string(cfx_rest_body_t *b, const char *s, const char **end,
                       cfx_error_t *err) {
    const char *t;
    size_t tl;
    cfx_buf_reset(b->scratch);
    *end = cfx_jscan_string(s, b->scratch, &t, &tl);
    if (!t || cfx_buf_append(b->blob, t, tl))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

/* vals holds the current feature's values, all of one kind: int64_t,
 * float, or for bytes a (offset, length) pair into blob, turned into
 * cfx_bytes_t (the same size) when the feature is added. */
typedef struct bref {
    size_t off, len;
} bref_t;

static int put_int(cfx_rest_body_t *b, int64_t v, cfx_error_t *err) {
    if (cfx_buf_append(b->vals, &v, sizeof(v)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

static int put_float(cfx_rest_body_t *b, float v, cfx_error_t *err) {
    if (cfx_buf_append(b->vals, &v, sizeof(v)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

/* The bytes appended to blob since off. */
static int put_bytes(cfx_rest_body_t *b, size_t off, cfx_error_t *err) {
    bref_t r = {off, b->blob->len - off};
    if (cfx_buf_append(b->vals, &r, sizeof(r)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

static size_t kind_size(cfx_kind_t k) {
    return k == CFX_KIND_INT64   ? sizeof(int64_t)
           : k == CFX_KIND_FLOAT ? sizeof(float)
                                 : sizeof(bref_t);
}

/* Adds vals as feature name of kind to ex; empties vals. */
static int add_vals(cfx_rest_body_t *b, cfx_example_t *ex, const char *name,
                    cfx_kind_t kind, cfx_error_t *err) {
    size_t n = b->vals->len / kind_size(kind);
    int rc;
    if (kind == CFX_KIND_INT64) {
        rc = cfx_example_add_int64(ex, name, (const int64_t *)b->vals->data, n);
    } else if (kind == CFX_KIND_FLOAT) {
        rc = cfx_example_add_float(ex, name, (const float *)b->vals->data, n);
    } else {
        _Static_assert(sizeof(bref_t) == sizeof(cfx_bytes_t), "same size");
        bref_t *r = (bref_t *)b->vals->data;
        cfx_bytes_t *v = (cfx_bytes_t *)b->vals->data;
        for (size_t k = 0; k < n; k++) {
            bref_t x = r[k];
            v[k].data =
                b->blob->data ? b->blob->data + x.off : (const uint8_t *)"";
            v[k].len = x.len;
        }
        rc = cfx_example_add_bytes(ex, name, v, n);
    }
    cfx_buf_reset(b->vals);
    if (rc)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

/* ---- predict ------------------------------------------------------------- */

static const char *kind_word(cfx_kind_t k) {
    return k == CFX_KIND_BYTES   ? "bytes"
           : k == CFX_KIND_FLOAT ? "float"
           : k == CFX_KIND_INT64 ? "int64"
                                 : "UNKNOWN";
}

static int type_error(cfx_rest_body_t *b, const char *p, int dtype,
                      cfx_error_t *err) {
    return cfx_error_set(err, CFX_EINVAL,
                         "JSON Value: %s Type: %s is not of expected type: %s",
                         quote(b, p), cfx_jscan_type_name(cfx_jscan_type(p)),
                         cfx_dtype_word(dtype));
}

/* TF Serving's GetDenseTensorShape: sizes down the first elements. */
static int dense_shape(cfx_rest_body_t *b, const char *p, shape_t *sh,
                       cfx_error_t *err) {
    const char *v = p;
    sh->rank = 0;
    while (*p == '[') {
        if (sh->rank == MAX_RANK)
            return cfx_error_set(err, CFX_EINVAL,
                                 "JSON Value: %s is a list nested more than "
                                 "%d levels deep",
                                 quote(b, v), MAX_RANK);
        size_t n = cfx_jscan_array_size(p);
        sh->dims[sh->rank++] = (int64_t)n;
        if (n == 0)
            break;
        const char *after;
        p = cfx_jscan_enter(p, &after);
    }
    return 0;
}

static int shape_equal(const shape_t *a, const shape_t *b) {
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

static void shape_str(const shape_t *s, char *out, size_t cap) {
    size_t n = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < s->rank && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%lld", i ? "," : "",
                              (long long)s->dims[i]);
    if (n < cap)
        snprintf(out + n, cap - n, "]");
}

/* Where a tensor's leaves go. */
typedef struct sink {
    const char *name;
    int dtype;
    cfx_kind_t kind;
    int serialized;    /* bytes are serialized tf.Examples: kept in ser */
    cfx_example_t *ex; /* per_leaf: leaf j -> ex[j]; else unused */
    int per_leaf;
} sink_t;

static int leaf_done(cfx_rest_body_t *b, const sink_t *s, size_t j,
                     cfx_error_t *err) {
    if (!s->per_leaf) /* the row's values stay in vals */
        return 0;
    if (s->serialized) {
        bref_t *r = (bref_t *)b->vals->data;
        b->ser[2 * j] = r->off;
        b->ser[2 * j + 1] = r->len;
        cfx_buf_reset(b->vals);
        return 0;
    }
    return add_vals(b, &s->ex[j], s->name, s->kind, err);
}

/* A scalar or b64 object at p against dtype (TF's AddValueToTensor);
 * *end gets the byte after it. */
static int put_leaf(cfx_rest_body_t *b, const char *p, int dtype,
                    const char **end, cfx_error_t *err) {
    cfx_jtype_t t = cfx_jscan_type(p);
    cfx_kind_t kind = cfx_dtype_to_kind(dtype);
    if (t == CFX_JT_OBJECT) {
        const char *s;
        if (kind != CFX_KIND_BYTES)
            return type_error(b, p, dtype, err);
        if (!is_b64_object(p, &s))
            return cfx_error_set(err, CFX_EINVAL,
                                 "JSON Value: %s not formatted correctly for "
                                 "base64 data",
                                 quote(b, p));
        size_t off = b->blob->len;
        *end = cfx_jscan_skip(p);
        int rc = b64_decode(b, s, err);
        return rc ? rc : put_bytes(b, off, err);
    }
    if (kind == CFX_KIND_BYTES) {
        if (t != CFX_JT_STRING)
            return type_error(b, p, dtype, err);
        size_t off = b->blob->len;
        int rc = blob_string(b, p, end, err);
        return rc ? rc : put_bytes(b, off, err);
    }
    if (t != CFX_JT_NUMBER)
        return type_error(b, p, dtype, err);
    cfx_jnum_t num;
    *end = cfx_jscan_number(p, &num);
    if (kind == CFX_KIND_INT64) {
        if (num.kind != CFX_JNUM_INT64)
            return type_error(b, p, dtype, err);
        return put_int(b, num.i, err);
    }
    return put_float(b, (float)cfx_jnum_double(&num), err);
}

/* TF Serving's FillTensorProto; *end gets the byte after the value. */
static int fill_tensor(cfx_rest_body_t *b, const char *p, int level,
                       const shape_t *sh, const sink_t *s, size_t *count,
                       const char **end, cfx_error_t *err) {
    if (*p != '[') {
        if (level != sh->rank)
            return cfx_error_set(err, CFX_EINVAL,
                                 "JSON Value: %s found at incorrect level: %d "
                                 "in the JSON DOM. Expected at level: %d",
                                 quote(b, p), level + 1, sh->rank);
        int rc = put_leaf(b, p, s->dtype, end, err);
        if (!rc)
            rc = leaf_done(b, s, *count, err);
        if (!rc)
            (*count)++;
        return rc;
    }
    if (level >= sh->rank)
        return cfx_error_set(err, CFX_EINVAL,
                             "Encountered list at unexpected level: %d "
                             "expected < %d",
                             level, sh->rank);
    size_t n = cfx_jscan_array_size(p);
    if ((int64_t)n != sh->dims[level])
        return cfx_error_set(err, CFX_EINVAL,
                             "Encountered list at unexpected size: %zu at "
                             "level: %d expected size: %lld",
                             n, level, (long long)sh->dims[level]);
    const char *after;
    const char *q = cfx_jscan_enter(p, &after);
    *end = after;
    while (q) {
        const char *e;
        int rc = fill_tensor(b, q, level + 1, sh, s, count, &e, err);
        if (rc)
            return rc;
        if (!cfx_jscan_next(e, &q)) {
            *end = q;
            break;
        }
    }
    return 0;
}

static int serialized_sig(const cfx_signature_t *sig) {
    return sig->kind != CFX_SIG_PREDICT_RAW;
}

int cfx_rest_predict_prepare(cfx_rest_body_t *b, const cfx_signature_t *sig,
                             cfx_error_t *err) {
    const char *root = cfx_jscan_ws(b->doc);
    size_t n = 0;
    if (b->instances) {
        if (b->inputs)
            return cfx_error_set(err, CFX_EINVAL,
                                 "JSON Value: %s Not formatted correctly "
                                 "expecting only one of 'inputs' or "
                                 "'instances' keys to exist ",
                                 quote(b, root));
        if (*b->instances != '[')
            return cfx_error_set(err, CFX_EINVAL,
                                 "JSON Value: %s Expecting 'instances' to be "
                                 "an list/array",
                                 quote(b, root));
        n = b->instances_n != SIZE_MAX ? b->instances_n
                                       : cfx_jscan_array_size(b->instances);
        if (n == 0)
            return cfx_error_set(err, CFX_EINVAL,
                                 "JSON Value: %s No values in 'instances' "
                                 "array",
                                 quote(b, root));
        b->columnar = 0;
    } else if (b->inputs) {
        const char *s;
        b->columnar = 1;
        if (*b->inputs != '{' || is_b64_object(b->inputs, &s)) {
            n = *b->inputs == '[' ? cfx_jscan_array_size(b->inputs) : 1;
        } else {
            const char *after;
            const char *q = cfx_jscan_enter(b->inputs, &after);
            while (q) {
                const char *key;
                size_t kl;
                cfx_buf_reset(b->scratch);
                const char *v = cfx_jscan_member(q, b->scratch, &key, &kl);
                size_t k = *v == '[' ? cfx_jscan_array_size(v) : 1;
                for (size_t i = 0; i < sig->n_inputs; i++)
                    if (key && strlen(sig->inputs[i].name) == kl &&
                        memcmp(sig->inputs[i].name, key, kl) == 0 && k > n)
                        n = k;
                if (!cfx_jscan_next(cfx_jscan_skip(v), &q))
                    break;
            }
        }
    } else {
        return cfx_error_set(err, CFX_EINVAL,
                             "Missing 'inputs' or 'instances' key");
    }
    if (n > CFX_SERVICE_MAX_BATCH)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "%zu instances exceed the limit of %d", n,
                             CFX_SERVICE_MAX_BATCH);
    b->n = n;
    if (sig->n_inputs > b->shape_cap) {
        free(b->shape);
        b->shape = calloc(sig->n_inputs, sizeof(*b->shape));
        if (!b->shape)
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
        b->shape_cap = sig->n_inputs;
    }
    memset(b->shape, 0, sig->n_inputs * sizeof(*b->shape));
    for (size_t k = 0; k < sig->n_inputs; k++)
        b->shape[k].name_len = strlen(sig->inputs[k].name);
    if (serialized_sig(sig) && n) {
        if (n > b->ser_cap) {
            free(b->ser);
            b->ser = malloc(2 * n * sizeof(*b->ser));
            if (!b->ser)
                return cfx_error_set(err, CFX_ENOMEM, "out of memory");
            b->ser_cap = n;
        }
        for (size_t i = 0; i < 2 * n; i++)
            b->ser[i] = SIZE_MAX;
    }
    return 0;
}

/* The input named key[0..kl), or -1. Rows usually list their keys in the
 * signature's order, so the search starts after the last match (*hint). */
static int find_input(const cfx_rest_body_t *b, const cfx_signature_t *sig,
                      const char *key, size_t kl, size_t *hint) {
    size_t n = sig->n_inputs;
    for (size_t j = 0; j < n; j++) {
        size_t i = (*hint + j) % n;
        const char *nm = sig->inputs[i].name;
        size_t j = 0;
        if (b->shape[i].name_len != kl)
            continue;
        while (j < kl && nm[j] == key[j]) /* names are short: no call */
            j++;
        if (j == kl) {
            *hint = i + 1;
            return (int)i;
        }
    }
    return -1;
}

/* AddInstanceItem's common case: a scalar where the rows so far had
 * scalars (or this is the first row): one value, no shape to compare. */
static int add_scalar_item(cfx_rest_body_t *b, const cfx_signature_t *sig,
                           const char *p, size_t k, size_t row,
                           cfx_example_t *ex, const char **end,
                           cfx_error_t *err) {
    const cfx_tensor_spec_t *in = &sig->inputs[k];
    shape_t *first = &b->shape[k];
    cfx_buf_reset(b->vals);
    int rc = put_leaf(b, p, in->dtype, end, err);
    if (rc)
        return rc;
    if (!first->seen) {
        first->rank = 0;
        first->size = 1;
        first->seen = 1;
    }
    if (serialized_sig(sig)) {
        bref_t *r = (bref_t *)b->vals->data;
        b->ser[2 * row] = r->off;
        b->ser[2 * row + 1] = r->len;
        cfx_buf_reset(b->vals);
        return 0;
    }
    return add_vals(b, &ex[row], in->name, cfx_dtype_to_kind(in->dtype), err);
}

/* TF Serving's AddInstanceItem for row `row`, input k. */
static int add_instance_item(cfx_rest_body_t *b, const cfx_signature_t *sig,
                             const char *p, size_t k, size_t row,
                             cfx_example_t *ex, const char **end,
                             cfx_error_t *err) {
    const cfx_tensor_spec_t *in = &sig->inputs[k];
    shape_t *first = &b->shape[k];
    if (*p != '[' && (!first->seen || (first->rank == 0 && first->size == 1)))
        return add_scalar_item(b, sig, p, k, row, ex, end, err);
    shape_t cur;
    int rc = dense_shape(b, p, &cur, err);
    if (rc)
        return rc;
    sink_t s = {
        in->name, in->dtype, cfx_dtype_to_kind(in->dtype), serialized_sig(sig),
        NULL,     0};
    size_t count = 0;
    cfx_buf_reset(b->vals);
    rc = fill_tensor(b, p, 0, &cur, &s, &count, end, err);
    if (rc)
        return rc;
    if (!first->seen) {
        size_t nl = first->name_len;
        *first = cur;
        first->name_len = nl;
        first->size = count;
        first->seen = 1;
    } else if (first->size != count) {
        return cfx_error_set(err, CFX_EINVAL,
                             "Expecting tensor size: %zu but got: %zu",
                             first->size, count);
    } else if (!shape_equal(first, &cur)) {
        char a[256], c[256];
        shape_str(first, a, sizeof(a));
        shape_str(&cur, c, sizeof(c));
        return cfx_error_set(err, CFX_EINVAL, "Expecting shape %s but got: %s",
                             a, c);
    }
    if (cur.rank != 0) { /* refused by cfx_rest_predict_finish */
        cfx_buf_reset(b->vals);
        return 0;
    }
    if (s.serialized) {
        bref_t *r = (bref_t *)b->vals->data;
        b->ser[2 * row] = r->off;
        b->ser[2 * row + 1] = r->len;
        cfx_buf_reset(b->vals);
        return 0;
    }
    return add_vals(b, &ex[row], in->name, s.kind, err);
}

/* err's message as the cause of a wrapped one. */
#define WRAP(fmt, ...)                                                         \
    do {                                                                       \
        char cause_[CFX_ERROR_MSG_MAX];                                        \
        snprintf(cause_, sizeof(cause_), "%s", err->msg);                      \
        if (rc == CFX_EINVAL)                                                  \
            rc = cfx_error_set(err, rc, fmt "INVALID_ARGUMENT: %s",            \
                               __VA_ARGS__, cause_);                           \
    } while (0)

static int fill_row(cfx_rest_body_t *b, const cfx_signature_t *sig,
                    const char *q, size_t i, int objects, unsigned char *seen,
                    cfx_example_t *ex, const char **end, cfx_error_t *err);

static int fill_rows(cfx_rest_body_t *b, const cfx_signature_t *sig,
                     cfx_example_t *ex, cfx_error_t *err) {
    const char *after, *s;
    const char *q = cfx_jscan_enter(b->instances, &after);
    if (*q != '{' && sig->n_inputs > 1)
        return cfx_error_set(err, CFX_EINVAL,
                             "instances is a plain list, but expecting list "
                             "of objects as multiple input tensors required "
                             "as per tensorinfo_map");
    int objects = *q == '{' && !is_b64_object(q, &s);
    unsigned char small[64];
    unsigned char *seen = small; /* per input: given in this row */
    if (objects && sig->n_inputs > sizeof(small) &&
        !(seen = calloc(sig->n_inputs, 1)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; q && !rc; i++) {
        const char *e;
        if (i >= b->n) { /* the scanner counted fewer: never write past */
            rc = cfx_error_set(err, CFX_EINVAL,
                               "instances: more elements than counted");
            break;
        }
        rc = fill_row(b, sig, q, i, objects, seen, ex, &e, err);
        if (rc || !cfx_jscan_next(e, &q))
            break;
    }
    if (seen != small)
        free(seen);
    return rc;
}

static int fill_row(cfx_rest_body_t *b, const cfx_signature_t *sig,
                    const char *q, size_t i, int objects, unsigned char *seen,
                    cfx_example_t *ex, const char **end, cfx_error_t *err) {
    const char *after, *s;
    {
        int is_obj = *q == '{' && !is_b64_object(q, &s);
        int rc = 0;
        if (objects) {
            if (!is_obj)
                return cfx_error_set(err, CFX_EINVAL,
                                     "Expecting object but got list at item "
                                     "%zu of input list",
                                     i);
            memset(seen, 0, sig->n_inputs);
            size_t hint = 0;
            const char *m = cfx_jscan_enter(q, &after);
            *end = after;
            while (m) {
                const char *key;
                size_t kl;
                cfx_buf_reset(b->scratch);
                const char *v = cfx_jscan_member(m, b->scratch, &key, &kl);
                int k = key ? find_input(b, sig, key, kl, &hint) : -1;
                if (k < 0) {
                    char name[256];
                    snprintf(name, sizeof(name), "%.*s", (int)kl,
                             key ? key : "");
                    return cfx_error_set(err, CFX_EINVAL,
                                         "Failed to process element: %zu key: "
                                         "%s of 'instances' list. Error: "
                                         "INVALID_ARGUMENT: JSON object: does "
                                         "not have named input: %s",
                                         i, name, name);
                }
                if (seen[k]++)
                    return cfx_error_set(err, CFX_EINVAL,
                                         "Failed to process element: %zu key: "
                                         "%s of 'instances' list. Error: "
                                         "INVALID_ARGUMENT: the key is given "
                                         "more than once",
                                         i, sig->inputs[k].name);
                const char *e;
                rc = add_instance_item(b, sig, v, (size_t)k, i, ex, &e, err);
                if (rc) {
                    WRAP("Failed to process element: %zu key: %s of "
                         "'instances' list. Error: ",
                         i, sig->inputs[k].name);
                    return rc;
                }
                if (!cfx_jscan_next(e, &m)) {
                    *end = m;
                    break;
                }
            }
        } else {
            if (is_obj)
                return cfx_error_set(err, CFX_EINVAL,
                                     "Expecting value/list but got object at "
                                     "item %zu of input list",
                                     i);
            rc = add_instance_item(b, sig, q, 0, i, ex, end, err);
            if (rc) {
                WRAP("Failed to process element: %zu of 'instances' list. "
                     "Error: ",
                     i);
                return rc;
            }
        }
    }
    return 0;
}

/* One column (TF's FillTensorMapFromInputsMap for one input). */
static int fill_column(cfx_rest_body_t *b, const cfx_signature_t *sig, size_t k,
                       const char *v, cfx_example_t *ex, cfx_error_t *err) {
    const cfx_tensor_spec_t *in = &sig->inputs[k];
    shape_t *sh = &b->shape[k];
    int rc = dense_shape(b, v, sh, err);
    if (rc)
        return rc;
    sh->seen = 1;
    sink_t s = {in->name,
                in->dtype,
                cfx_dtype_to_kind(in->dtype),
                serialized_sig(sig),
                ex,
                sh->rank <= 1};
    size_t count = 0;
    cfx_buf_reset(b->vals);
    const char *e;
    rc = fill_tensor(b, v, 0, sh, &s, &count, &e, err);
    cfx_buf_reset(b->vals);
    return rc;
}

int cfx_rest_predict_fill(cfx_rest_body_t *b, const cfx_signature_t *sig,
                          cfx_example_t *ex, cfx_error_t *err) {
    if (!b->columnar)
        return fill_rows(b, sig, ex, err);
    const char *s;
    const char *v = b->inputs;
    if (*v != '{' || is_b64_object(v, &s)) {
        if (sig->n_inputs > 1)
            return cfx_error_set(err, CFX_EINVAL,
                                 "inputs is a plain value/list, but expecting "
                                 "an object as multiple input tensors "
                                 "required as per tensorinfo_map");
        return fill_column(b, sig, 0, v, ex, err);
    }
    /* The first member of each input's name, in one pass. */
    const char **at = calloc(sig->n_inputs ? sig->n_inputs : 1, sizeof(*at));
    if (!at)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    const char *after;
    const char *q = cfx_jscan_enter(v, &after);
    size_t hint = 0;
    while (q) {
        const char *key;
        size_t kl;
        cfx_buf_reset(b->scratch);
        const char *val = cfx_jscan_member(q, b->scratch, &key, &kl);
        int k = key ? find_input(b, sig, key, kl, &hint) : -1;
        if (k >= 0 && !at[k])
            at[k] = val;
        if (!cfx_jscan_next(cfx_jscan_skip(val), &q))
            break;
    }
    int rc = 0;
    for (size_t k = 0; k < sig->n_inputs && !rc; k++) {
        if (!at[k]) {
            if (!serialized_sig(sig))
                continue; /* a raw feature left out: absent (docs) */
            rc = cfx_error_set(err, CFX_EINVAL,
                               "Missing named input: %s in 'inputs' object.",
                               sig->inputs[k].name);
            break;
        }
        rc = fill_column(b, sig, k, at[k], ex, err);
    }
    free(at);
    return rc;
}

int cfx_rest_predict_finish(cfx_rest_body_t *b, const cfx_signature_t *sig,
                            cfx_example_t *ex, cfx_error_t *err) {
    for (size_t k = 0; k < sig->n_inputs; k++) {
        const shape_t *sh = &b->shape[k];
        const char *name = sig->inputs[k].name;
        if (!sh->seen)
            continue;
        if (!b->columnar && sh->rank > 0)
            return cfx_error_set(err, CFX_EINVAL,
                                 "input %s has shape [-1] (one scalar per "
                                 "instance) but got a list of %lld values",
                                 name, (long long)sh->dims[0]);
        if (b->columnar && sh->rank > 1)
            return cfx_error_set(err, CFX_EINVAL,
                                 "input %s has shape [-1] (one scalar per "
                                 "row) but got a nested list of %lldx%lld",
                                 name, (long long)sh->dims[0],
                                 (long long)sh->dims[1]);
        size_t rows = sh->rank == 1 ? (size_t)sh->dims[0] : 1;
        if (b->columnar && rows != b->n)
            return cfx_error_set(err, CFX_EINVAL,
                                 "Input: %s has inconsistent batch size %zu "
                                 "(expected %zu)",
                                 name, rows, b->n);
    }
    if (!serialized_sig(sig))
        return 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->ser[2 * i] == SIZE_MAX)
            continue; /* not given: an empty example */
        const uint8_t *data =
            b->blob->data ? b->blob->data + b->ser[2 * i] : (const uint8_t *)"";
        size_t len = b->ser[2 * i + 1];
        int rc = cfx_example_decode(&ex[i], data, len, err);
        if (rc == 0 || rc == CFX_ENOMEM)
            continue;
        /* Bytes that are not a tf.Example are the client's error. */
        char printable[65];
        size_t shown = len > 64 ? 64 : len;
        for (size_t j = 0; j < shown; j++)
            printable[j] =
                data[j] >= 0x20 && data[j] < 0x7f ? (char)data[j] : '.';
        printable[shown] = '\0';
        char why[CFX_ERROR_MSG_MAX];
        snprintf(why, sizeof(why), "%s", err->msg);
        return cfx_error_set(err, CFX_EINVAL,
                             "Could not parse example input, value: '%s' (%s)",
                             printable, why);
    }
    return 0;
}

/* ---- classify / regress -------------------------------------------------- */

/* Kind check of TF Serving's AddValueToFeature. */
static int feature_kind(const char *name, cfx_kind_t *kind, cfx_kind_t want,
                        cfx_error_t *err) {
    if (*kind != CFX_KIND_NONE && *kind != want)
        return cfx_error_set(err, CFX_EINVAL,
                             "Unexpected element type in feature: %s "
                             "expecting type: %s",
                             name, kind_word(*kind));
    *kind = want;
    return 0;
}

static int feature_value(cfx_rest_body_t *b, const char *p, const char *name,
                         cfx_kind_t *kind, cfx_error_t *err) {
    cfx_jtype_t t = cfx_jscan_type(p);
    const char *s;
    int rc;
    switch (t) {
    case CFX_JT_TRUE:
    case CFX_JT_FALSE:
        rc = feature_kind(name, kind, CFX_KIND_INT64, err);
        return rc ? rc : put_int(b, t == CFX_JT_TRUE, err);
    case CFX_JT_OBJECT:
        if (!is_b64_object(p, &s))
            break;
        if ((rc = feature_kind(name, kind, CFX_KIND_BYTES, err)))
            return rc;
        size_t off = b->blob->len;
        rc = b64_decode(b, s, err);
        return rc ? rc : put_bytes(b, off, err);
    case CFX_JT_STRING:
        if ((rc = feature_kind(name, kind, CFX_KIND_BYTES, err)))
            return rc;
        off = b->blob->len;
        rc = blob_string(b, p, &s, err);
        return rc ? rc : put_bytes(b, off, err);
    case CFX_JT_NUMBER: {
        cfx_jnum_t num;
        cfx_jscan_number(p, &num);
        if (num.kind == CFX_JNUM_DOUBLE) {
            rc = feature_kind(name, kind, CFX_KIND_FLOAT, err);
            return rc ? rc : put_float(b, (float)num.d, err);
        }
        if ((rc = feature_kind(name, kind, CFX_KIND_INT64, err)))
            return rc;
        if (num.kind == CFX_JNUM_UINT64)
            return cfx_error_set(err, CFX_EINVAL,
                                 "Feature: %s has uint64_t element. Only "
                                 "int64_t is supported.",
                                 name);
        return put_int(b, num.i, err);
    }
    default:
        break;
    }
    return cfx_error_set(err, CFX_EINVAL,
                         "Feature: %s has element with unexpected JSON type: "
                         "%s",
                         name, cfx_jscan_type_name(t));
}

/* TF Serving's MakeExampleFromJsonObject. */
static int object_to_example(cfx_rest_body_t *b, const char *p,
                             cfx_example_t *ex, cfx_error_t *err) {
    if (*p != '{')
        return cfx_error_set(err, CFX_EINVAL,
                             "Example must be JSON object but got JSON %s",
                             cfx_jscan_type_name(cfx_jscan_type(p)));
    char small[128];
    char *name = small;
    size_t name_cap = sizeof(small);
    int rc = 0;
    const char *after;
    const char *q = cfx_jscan_enter(p, &after);
    while (q && !rc) {
        const char *key;
        size_t kl;
        cfx_buf_reset(b->scratch);
        const char *v = cfx_jscan_member(q, b->scratch, &key, &kl);
        if (!key)
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
        if (kl >= name_cap) {
            char *nn = malloc(kl + 1);
            if (!nn) {
                rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
                break;
            }
            if (name != small)
                free(name);
            name = nn;
            name_cap = kl + 1;
        }
        memcpy(name, key, kl);
        name[kl] = 0;
        if (memchr(name, 0, kl)) {
            rc = cfx_error_set(err, CFX_EINVAL,
                               "Feature name contains a NUL character");
            break;
        }
        cfx_kind_t kind = CFX_KIND_NONE;
        cfx_buf_reset(b->vals);
        if (*v == '[') {
            const char *e = cfx_jscan_enter(v, &after);
            while (e && !rc) {
                rc = feature_value(b, e, name, &kind, err);
                if (!cfx_jscan_next(cfx_jscan_skip(e), &e))
                    break;
            }
        } else {
            rc = feature_value(b, v, name, &kind, err);
        }
        if (!rc) /* an empty list: a present feature without values */
            rc = add_vals(b, ex, name,
                          kind == CFX_KIND_NONE ? CFX_KIND_FLOAT : kind, err);
        if (!cfx_jscan_next(cfx_jscan_skip(v), &q))
            break;
    }
    if (name != small)
        free(name);
    return rc;
}

int cfx_rest_examples_count(cfx_rest_body_t *b, cfx_example_t *context,
                            size_t *n, cfx_error_t *err) {
    const char *root = cfx_jscan_ws(b->doc);
    *n = 0;
    if (b->context) {
        int rc = object_to_example(b, b->context, context, err);
        if (rc)
            return rc;
    }
    if (!b->examples)
        return cfx_error_set(err, CFX_EINVAL,
                             "JSON Value: %s When method is classify, key "
                             "'examples' is expected and was not found",
                             quote(b, root));
    if (*b->examples != '[')
        return cfx_error_set(err, CFX_EINVAL,
                             "JSON Value: %s Expecting 'examples' value to be "
                             "an list/array",
                             quote(b, root));
    size_t k = b->examples_n != SIZE_MAX ? b->examples_n
                                         : cfx_jscan_array_size(b->examples);
    if (k == 0)
        return cfx_error_set(err, CFX_EINVAL,
                             "JSON Value: %s 'examples' value is an empty "
                             "array",
                             quote(b, root));
    if (k > CFX_SERVICE_MAX_BATCH)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "%zu examples exceed the limit of %d", k,
                             CFX_SERVICE_MAX_BATCH);
    *n = k;
    return 0;
}

int cfx_rest_examples_fill(cfx_rest_body_t *b, const cfx_example_t *context,
                           cfx_example_t *ex, cfx_example_t *one,
                           cfx_error_t *err) {
    const char *after;
    const char *q = cfx_jscan_enter(b->examples, &after);
    for (size_t i = 0; q; i++) {
        cfx_example_t *dst = context ? one : &ex[i];
        if (context)
            cfx_example_reset(one);
        int rc = object_to_example(b, q, dst, err);
        if (!rc && context && cfx_service_merge_context(&ex[i], one, context))
            rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        if (rc)
            return rc;
        if (!cfx_jscan_next(cfx_jscan_skip(q), &q))
            break;
    }
    return 0;
}

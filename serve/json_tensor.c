/*
 * json_tensor.c: JSON values <-> raw examples and TF Serving's float
 * formatting (see json_tensor.h).
 */
#include "serve/json_tensor.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/base64.h"
#include "formats/dtype.h"
#include "formats/numfmt.h"
#include "serve/service.h"

#define MAX_LIST 1000000 /* values in one feature list */

int cfx_json_put_float(cfx_buf_t *b, float v) {
    char s[CFX_NUMFMT_MAX];
    return cfx_buf_append(b, s, cfx_numfmt_tf_float(v, s));
}

int cfx_json_put_string(cfx_buf_t *b, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    int rc = cfx_buf_reserve(b, len + 2);
    if (rc)
        return rc;
    b->data[b->len++] = '"';
    for (size_t i = 0; i < len && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            rc = cfx_buf_append(b, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            if (c == '\n')
                rc = cfx_buf_append(b, "\\n", 2);
            else if (c == '\t')
                rc = cfx_buf_append(b, "\\t", 2);
            else if (c == '\r')
                rc = cfx_buf_append(b, "\\r", 2);
            else
                rc = cfx_buf_append(b, e, 6);
        } else {
            rc = cfx_buf_putc(b, c);
        }
    }
    return rc ? rc : cfx_buf_putc(b, '"');
}

const char *cfx_json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "Object";
    case JSON_ARRAY:
        return "Array";
    case JSON_STRING:
        return "String";
    case JSON_INTEGER:
    case JSON_REAL:
        return "Number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "Boolean";
    default:
        return "Null";
    }
}

int cfx_json_b64_value(const json_t *v, cfx_buf_t *out, cfx_error_t *err) {
    if (!json_is_object(v) || json_object_size(v) != 1)
        return 0;
    const json_t *s = json_object_get(v, "b64");
    if (!s)
        return 0;
    if (!json_is_string(s))
        return cfx_error_set(err, CFX_EINVAL,
                             "'b64' value is not a string (Type: %s)",
                             cfx_json_type_name(s));
    cfx_buf_reset(out);
    if (cfx_base64_decode(json_string_value(s), json_string_length(s), out,
                          NULL))
        return cfx_error_set(err, CFX_EINVAL,
                             "Unable to base64 decode the 'b64' value");
    return 1;
}

/* Kind of one scalar by the classify rules; 0 when not a scalar. */
static cfx_kind_t scalar_kind(const json_t *v) {
    if (json_is_string(v) || (json_is_object(v) && json_object_size(v) == 1 &&
                              json_object_get(v, "b64")))
        return CFX_KIND_BYTES;
    if (json_is_integer(v) || json_is_boolean(v))
        return CFX_KIND_INT64;
    if (json_is_real(v))
        return CFX_KIND_FLOAT;
    return CFX_KIND_NONE;
}

/* Adds n values of one kind from items (JSON scalars already checked). */
#define SMALL_LIST 16 /* values kept on the stack (one row is usually 1) */

static int add_values(cfx_example_t *ex, const char *name, cfx_kind_t kind,
                      const json_t *const *items, size_t n, cfx_error_t *err) {
    int rc = 0;
    cfx_buf_t blob; /* decoded b64 values */
    cfx_buf_init(&blob);
    union {
        int64_t i[SMALL_LIST];
        float f[SMALL_LIST];
        cfx_bytes_t b[SMALL_LIST];
    } small;
    size_t small_off[SMALL_LIST];
    void *vals = &small;
    size_t *off = small_off;
    if (n > MAX_LIST)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "feature %s: more than %d values", name, MAX_LIST);
    if (n > SMALL_LIST) {
        vals = malloc(n * sizeof(cfx_bytes_t)); /* the largest element */
        off = kind == CFX_KIND_BYTES ? malloc(n * sizeof(*off)) : NULL;
        if (!vals || (kind == CFX_KIND_BYTES && !off)) {
            rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (kind == CFX_KIND_INT64) {
        int64_t *v = vals;
        for (size_t i = 0; i < n; i++)
            v[i] = json_is_boolean(items[i]) ? json_is_true(items[i])
                                             : json_integer_value(items[i]);
        rc = cfx_example_add_int64(ex, name, v, n);
    } else if (kind == CFX_KIND_FLOAT) {
        float *v = vals;
        for (size_t i = 0; i < n; i++)
            v[i] = (float)json_number_value(items[i]);
        rc = cfx_example_add_float(ex, name, v, n);
    } else {
        /* Strings point into the JSON document (the adder copies them);
         * b64 values are decoded into blob and located by offset, since
         * blob may move while it grows. */
        cfx_bytes_t *v = vals;
        for (size_t i = 0; i < n && !rc; i++) {
            if (json_is_string(items[i])) {
                v[i].data = (const uint8_t *)json_string_value(items[i]);
                v[i].len = json_string_length(items[i]);
                off[i] = SIZE_MAX;
                continue;
            }
            const json_t *b = json_object_get(items[i], "b64");
            off[i] = blob.len;
            if (!json_is_string(b) ||
                cfx_base64_decode(json_string_value(b), json_string_length(b),
                                  &blob, NULL))
                rc = cfx_error_set(err, CFX_EINVAL,
                                   "feature %s: Unable to base64 decode the "
                                   "'b64' value",
                                   name);
            v[i].len = blob.len - off[i];
        }
        for (size_t i = 0; i < n && !rc; i++)
            if (off[i] != SIZE_MAX)
                v[i].data = blob.data + off[i];
        if (!rc)
            rc = cfx_example_add_bytes(ex, name, v, n);
    }
    if (rc == CFX_ENOMEM)
        rc = cfx_error_set(err, rc, "out of memory");
out:
    if (vals != (void *)&small)
        free(vals);
    if (off != small_off)
        free(off);
    cfx_buf_free(&blob);
    return rc;
}

/* items/n of v: itself when scalar, its elements when a list. */
static int as_items(const json_t *v, const json_t *const **items, size_t *n,
                    const json_t **one) {
    if (json_is_array(v)) {
        *n = json_array_size(v);
        *items = NULL;
        return 1;
    }
    *one = v;
    *items = one;
    *n = 1;
    return 0;
}

int cfx_json_add_feature(cfx_example_t *ex, const char *name, const json_t *v,
                         cfx_error_t *err) {
    const json_t *one;
    const json_t *const *items;
    size_t n;
    int rc;
    const json_t **arr = NULL;
    if (as_items(v, &items, &n, &one)) {
        arr = malloc((n ? n : 1) * sizeof(*arr));
        if (!arr)
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
            arr[i] = json_array_get(v, i);
        items = arr;
    }
    cfx_kind_t kind = CFX_KIND_NONE;
    for (size_t i = 0; i < n; i++) {
        cfx_kind_t k = scalar_kind(items[i]);
        if (k == CFX_KIND_NONE) {
            rc = cfx_error_set(err, CFX_EINVAL,
                               "Feature: %s: unexpected value of Type: %s "
                               "(expected a string, number, boolean, b64 "
                               "object or a flat list of those)",
                               name, cfx_json_type_name(items[i]));
            goto out;
        }
        if (kind != CFX_KIND_NONE && k != kind) {
            rc = cfx_error_set(err, CFX_EINVAL,
                               "Unexpected element type in feature: %s", name);
            goto out;
        }
        kind = k;
    }
    if (kind == CFX_KIND_NONE) /* an empty list: present, no values */
        kind = CFX_KIND_FLOAT;
    rc = add_values(ex, name, kind, items, n, err);
out:
    free(arr);
    return rc;
}

int cfx_json_object_to_example(const json_t *obj, cfx_example_t *ex,
                               cfx_error_t *err) {
    const char *key;
    json_t *val;
    if (!json_is_object(obj))
        return cfx_error_set(err, CFX_EINVAL,
                             "Example must be a JSON object, got Type: %s",
                             cfx_json_type_name(obj));
    json_object_foreach((json_t *)obj, key, val) {
        int rc = cfx_json_add_feature(ex, key, val, err);
        if (rc)
            return rc;
    }
    return 0;
}

int cfx_json_add_typed(cfx_example_t *ex, const char *name, int dtype,
                       const json_t *v, cfx_error_t *err) {
    const json_t *one;
    const json_t *const *items;
    size_t n;
    int rc = 0;
    const json_t **arr = NULL;
    if (as_items(v, &items, &n, &one)) {
        arr = malloc((n ? n : 1) * sizeof(*arr));
        if (!arr)
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
            arr[i] = json_array_get(v, i);
        items = arr;
    }
    cfx_kind_t kind = cfx_dtype_to_kind(dtype);
    for (size_t i = 0; i < n; i++) {
        const json_t *x = items[i];
        int ok = kind == CFX_KIND_INT64   ? json_is_integer(x)
                 : kind == CFX_KIND_FLOAT ? json_is_number(x)
                                          : scalar_kind(x) == CFX_KIND_BYTES;
        if (!ok) {
            char *txt = json_dumps(x, JSON_ENCODE_ANY | JSON_COMPACT);
            rc = cfx_error_set(err, CFX_EINVAL,
                               "JSON Value: %.200s Type: %s is not of "
                               "expected type: %s (input %s)",
                               txt ? txt : "?", cfx_json_type_name(x),
                               cfx_dtype_word(dtype), name);
            free(txt);
            goto out;
        }
    }
    rc = add_values(ex, name, kind, items, n, err);
out:
    free(arr);
    return rc;
}

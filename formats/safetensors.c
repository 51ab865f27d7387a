/*
 * safetensors.c: reader and writer of the safetensors format (safetensors.h).
 *
 * The JSON header goes through jansson. Tensor data is copied into one
 * float block so views are aligned whatever the file's buffer alignment.
 * Float bytes are little-endian in the file; cfx builds for little-endian
 * hosts only (checked at compile time).
 */
#include "formats/safetensors.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/buf.h"
#include "formats/file.h"
#include "formats/le.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

#define META_KEY "__metadata__"

static int tensor_count(const cfx_st_tensor_t *t, size_t *count,
                        cfx_error_t *err) {
    if (t->ndim > CFX_ST_MAX_DIMS)
        return cfx_error_set(err, CFX_EINVAL,
                             "tensor '%s': %zu dimensions, at most %d", t->name,
                             t->ndim, CFX_ST_MAX_DIMS);
    size_t c = 1;
    for (size_t d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0 || (uint64_t)t->shape[d] > CFX_ST_MAX_FILE / 4)
            return cfx_error_set(err, CFX_EINVAL,
                                 "tensor '%s': bad dimension %lld", t->name,
                                 (long long)t->shape[d]);
        c *= (size_t)t->shape[d];
        if (c > CFX_ST_MAX_FILE / 4)
            return cfx_error_set(err, CFX_ETOOBIG, "tensor '%s' is too large",
                                 t->name);
    }
    *count = c;
    return 0;
}

int cfx_safetensors_encode(const cfx_st_tensor_t *tensors, size_t n,
                           const cfx_st_meta_t *meta, size_t nmeta,
                           cfx_buf_t *out, cfx_error_t *err) {
    int rc = 0;
    char *hdr = NULL;
    json_t *root = json_object();
    if (root == NULL)
        return cfx_error_set(err, CFX_ENOMEM, "safetensors: out of memory");
    if (nmeta > 0) {
        json_t *m = json_object();
        if (m == NULL || json_object_set_new(root, META_KEY, m) != 0) {
            rc = cfx_error_set(err, CFX_ENOMEM, "safetensors: out of memory");
            goto out;
        }
        for (size_t i = 0; i < nmeta; i++)
            if (json_object_set_new(m, meta[i].key,
                                    json_string(meta[i].value)) != 0) {
                rc = cfx_error_set(err, CFX_EINVAL,
                                   "safetensors: bad metadata '%s'",
                                   meta[i].key);
                goto out;
            }
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const cfx_st_tensor_t *t = &tensors[i];
        size_t count;
        if ((rc = tensor_count(t, &count, err)) != 0)
            goto out;
        if (!strcmp(t->name, META_KEY) ||
            json_object_get(root, t->name) != NULL) {
            rc = cfx_error_set(err, CFX_EINVAL,
                               "safetensors: duplicate or reserved name '%s'",
                               t->name);
            goto out;
        }
        json_t *shape = json_array();
        for (size_t d = 0; d < t->ndim; d++)
            json_array_append_new(shape, json_integer(t->shape[d]));
        json_t *e = json_pack("{s:s, s:o, s:[I,I]}", "dtype", "F32", "shape",
                              shape, "data_offsets", (json_int_t)off,
                              (json_int_t)(off + count * 4));
        if (e == NULL || json_object_set_new(root, t->name, e) != 0) {
            rc = cfx_error_set(err, CFX_ENOMEM, "safetensors: out of memory");
            goto out;
        }
        off += count * 4;
    }
    hdr = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (hdr == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "safetensors: out of memory");
        goto out;
    }
    size_t hlen = strlen(hdr);
    size_t padded = (hlen + 7) & ~(size_t)7;
    uint8_t le[8];
    cfx_le_put64(le, (uint64_t)padded);
    if (cfx_buf_reserve(out, 8 + padded + off) != 0) {
        rc = cfx_error_set(err, CFX_ENOMEM, "safetensors: out of memory");
        goto out;
    }
    cfx_buf_append(out, le, 8);
    cfx_buf_append(out, hdr, hlen);
    for (size_t i = hlen; i < padded; i++)
        cfx_buf_putc(out, ' ');
    for (size_t i = 0; i < n; i++) {
        size_t count;
        tensor_count(&tensors[i], &count, NULL);
        if (count)
            cfx_buf_append(out, tensors[i].data, count * 4);
    }
out:
    free(hdr);
    json_decref(root);
    return rc;
}

static int cmp_offset(const void *a, const void *b) {
    const cfx_st_tensor_t *x = a, *y = b;
    /* data was temporarily set to (float *)begin offset during parsing */
    uintptr_t ox = (uintptr_t)x->data, oy = (uintptr_t)y->data;
    return ox < oy ? -1 : ox > oy;
}

int cfx_safetensors_parse(const uint8_t *data, size_t len, const char *what,
                          cfx_safetensors_t **out, cfx_error_t *err) {
    int rc = 0;
    json_t *root = NULL;
    cfx_safetensors_t *st = NULL;
    *out = NULL;
    if (len < 8)
        return cfx_error_set(
            err, CFX_ETRUNCATED,
            "%s: %zu bytes, shorter than the 8-byte header size", what, len);
    uint64_t hlen = cfx_le_get64(data);
    if (hlen > CFX_ST_MAX_HEADER || hlen > len - 8)
        return cfx_error_set(
            err, CFX_ECORRUPT, "%s: header size %llu exceeds %s", what,
            (unsigned long long)hlen,
            hlen > CFX_ST_MAX_HEADER ? "the 16 MiB limit" : "the file");
    json_error_t jerr;
    root = json_loadb((const char *)data + 8, (size_t)hlen,
                      JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        rc = cfx_error_set(err, CFX_EPARSE, "%s: header: %s", what,
                           root ? "not a JSON object" : jerr.text);
        goto out;
    }
    const uint8_t *body = data + 8 + hlen;
    size_t body_len = len - 8 - (size_t)hlen;
    st = calloc(1, sizeof *st);
    size_t nobj = json_object_size(root);
    size_t strbytes = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        strbytes += strlen(key) + 1;
        if (!strcmp(key, META_KEY) && json_is_object(val)) {
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                strbytes +=
                    strlen(mk) + 1 +
                    (json_is_string(mv) ? json_string_length(mv) + 1 : 1);
            }
        }
    }
    if (st == NULL ||
        (st->tensors = calloc(nobj + 1, sizeof *st->tensors)) == NULL ||
        (st->strings = malloc(strbytes + 1)) == NULL ||
        (st->block = malloc(body_len ? body_len : 4)) == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", what);
        goto out;
    }
    char *sp = st->strings;
    json_object_foreach(root, key, val) {
        size_t kl = strlen(key);
        memcpy(sp, key, kl + 1);
        const char *name = sp;
        sp += kl + 1;
        if (!strcmp(key, META_KEY)) {
            if (!json_is_object(val)) {
                rc = cfx_error_set(err, CFX_EPARSE,
                                   "%s: __metadata__ is not an object", what);
                goto out;
            }
            st->meta = calloc(json_object_size(val) + 1, sizeof *st->meta);
            if (st->meta == NULL) {
                rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", what);
                goto out;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    rc = cfx_error_set(err, CFX_EPARSE,
                                       "%s: __metadata__ '%s' is not a string",
                                       what, mk);
                    goto out;
                }
                size_t l = strlen(mk);
                memcpy(sp, mk, l + 1);
                st->meta[st->nmeta].key = sp;
                sp += l + 1;
                l = json_string_length(mv);
                memcpy(sp, json_string_value(mv), l + 1);
                st->meta[st->nmeta].value = sp;
                sp += l + 1;
                st->nmeta++;
            }
            continue;
        }
        cfx_st_tensor_t *t = &st->tensors[st->count];
        t->name = name;
        json_t *dtype = json_object_get(val, "dtype");
        json_t *shape = json_object_get(val, "shape");
        json_t *offs = json_object_get(val, "data_offsets");
        if (!json_is_object(val) || !json_is_string(dtype) ||
            !json_is_array(shape) || !json_is_array(offs) ||
            json_array_size(offs) != 2 ||
            !json_is_integer(json_array_get(offs, 0)) ||
            !json_is_integer(json_array_get(offs, 1))) {
            rc = cfx_error_set(err, CFX_EPARSE,
                               "%s: tensor '%s': expected dtype, shape and "
                               "data_offsets [begin, end]",
                               what, name);
            goto out;
        }
        if (strcmp(json_string_value(dtype), "F32") != 0) {
            rc = cfx_error_set(err, CFX_EUNSUPPORTED,
                               "%s: tensor '%s': dtype expected F32, found %s",
                               what, name, json_string_value(dtype));
            goto out;
        }
        t->ndim = json_array_size(shape);
        if (t->ndim > CFX_ST_MAX_DIMS) {
            rc = cfx_error_set(err, CFX_EUNSUPPORTED,
                               "%s: tensor '%s': %zu dimensions, at most %d",
                               what, name, t->ndim, CFX_ST_MAX_DIMS);
            goto out;
        }
        for (size_t d = 0; d < t->ndim; d++) {
            json_t *dim = json_array_get(shape, d);
            if (!json_is_integer(dim)) {
                rc = cfx_error_set(
                    err, CFX_EPARSE,
                    "%s: tensor '%s': shape[%zu] is not an integer", what, name,
                    d);
                goto out;
            }
            t->shape[d] = json_integer_value(dim);
        }
        cfx_error_t e2;
        cfx_error_init(&e2);
        if (tensor_count(t, &t->count, &e2) != 0) {
            rc = cfx_error_set(err, CFX_ECORRUPT, "%s: %s", what, e2.msg);
            goto out;
        }
        json_int_t b = json_integer_value(json_array_get(offs, 0));
        json_int_t e = json_integer_value(json_array_get(offs, 1));
        if (b < 0 || e < b || (uint64_t)e > body_len ||
            (uint64_t)(e - b) != t->count * 4) {
            rc = cfx_error_set(err, CFX_ECORRUPT,
                               "%s: tensor '%s': data_offsets [%lld, %lld] do "
                               "not hold %zu floats "
                               "within the %zu data bytes",
                               what, name, (long long)b, (long long)e, t->count,
                               body_len);
            goto out;
        }
        t->data = (const float *)(uintptr_t)b; /* offset, replaced below */
        st->count++;
    }
    qsort(st->tensors, st->count, sizeof *st->tensors, cmp_offset);
    size_t expect = 0;
    for (size_t i = 0; i < st->count; i++) {
        cfx_st_tensor_t *t = &st->tensors[i];
        size_t b = (size_t)(uintptr_t)t->data;
        if (b != expect) {
            rc = cfx_error_set(err, CFX_ECORRUPT,
                               "%s: tensor '%s': data begins at %zu, expected "
                               "%zu (gap or overlap)",
                               what, t->name, b, expect);
            goto out;
        }
        expect = b + t->count * 4;
        if (t->count)
            memcpy((uint8_t *)st->block + b, body + b, t->count * 4);
        t->data = (const float *)((uint8_t *)st->block + b);
    }
    if (expect != body_len) {
        rc = cfx_error_set(err, CFX_ECORRUPT,
                           "%s: %zu data bytes, tensors cover %zu", what,
                           body_len, expect);
        goto out;
    }
    *out = st;
    st = NULL;
out:
    cfx_safetensors_free(st);
    json_decref(root);
    return rc;
}

int cfx_safetensors_read_file(const char *path, cfx_safetensors_t **out,
                              cfx_error_t *err) {
    *out = NULL;
    cfx_buf_t data;
    cfx_buf_init(&data);
    int rc = cfx_file_read(path, CFX_ST_MAX_FILE, &data, err);
    if (rc == 0)
        rc = cfx_safetensors_parse(data.data, data.len, path, out, err);
    cfx_buf_free(&data);
    return rc;
}

void cfx_safetensors_free(cfx_safetensors_t *st) {
    if (st == NULL)
        return;
    free(st->tensors);
    free(st->meta);
    free(st->block);
    free(st->strings);
    free(st);
}

const cfx_st_tensor_t *cfx_safetensors_find(const cfx_safetensors_t *st,
                                            const char *name) {
    for (size_t i = 0; i < st->count; i++)
        if (!strcmp(st->tensors[i].name, name))
            return &st->tensors[i];
    return NULL;
}

const char *cfx_safetensors_meta(const cfx_safetensors_t *st, const char *key) {
    for (size_t i = 0; i < st->nmeta; i++)
        if (!strcmp(st->meta[i].key, key))
            return st->meta[i].value;
    return NULL;
}

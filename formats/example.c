/*
 * example.c: tf.Example wire decoding and deterministic encoding, by hand
 * (no descriptor walk) because examplegen and statistics run it per row.
 *
 * Decoding counts the elements of a list in a first pass over its bytes and
 * fills one arena array in a second, so a feature costs one or two bump
 * allocations. Encoding computes every nested length first and then writes
 * into one reserved region of the output buffer.
 *
 * Merge semantics follow protobuf: a Feature whose oneof appears twice keeps
 * the last kind, and the same list field given twice concatenates; a map key
 * given twice keeps the position of the first entry and the value of the
 * last.
 */
#include "formats/example.h"

#include <stdlib.h>
#include <string.h>

#define WT_VARINT 0
#define WT_I64 1
#define WT_LEN 2
#define WT_I32 5

/* ---- lifecycle --------------------------------------------------------- */

void cfx_example_init(cfx_example_t *ex) {
    ex->features = NULL;
    ex->count = 0;
    ex->cap = 0;
    ex->sorted = 0;
    ex->shared = NULL;
    cfx_arena_init(&ex->arena);
}

void cfx_example_init_in(cfx_example_t *ex, cfx_arena_t *arena) {
    cfx_example_init(ex);
    ex->shared = arena;
}

void cfx_example_reset(cfx_example_t *ex) {
    ex->count = 0;
    ex->sorted = 0;
    if (ex->shared) {
        /* The array lives in the caller's arena, which may be reset next. */
        ex->features = NULL;
        ex->cap = 0;
    }
    cfx_arena_reset(&ex->arena);
}

void cfx_example_free(cfx_example_t *ex) {
    if (!ex->shared)
        free(ex->features);
    cfx_arena_free(&ex->arena);
    cfx_example_init(ex);
}

/* Where names and values go: the caller's arena, else the example's own. */
static inline cfx_arena_t *values(cfx_example_t *ex) {
    return ex->shared ? ex->shared : &ex->arena;
}

static cfx_feature_t *push_feature(cfx_example_t *ex) {
    if (ex->count == ex->cap) {
        cfx_feature_t *p;
        size_t cap;
        if (ex->shared) {
            /* Small first: a batch may hold many tiny examples. */
            cap = ex->cap ? ex->cap * 2 : 4;
            p = cfx_arena_alloc(ex->shared, cap * sizeof *p);
            if (p && ex->count)
                memcpy(p, ex->features, ex->count * sizeof *p);
        } else {
            cap = ex->cap ? ex->cap * 2 : 32;
            p = realloc(ex->features, cap * sizeof *p);
        }
        if (p == NULL)
            return NULL;
        ex->features = p;
        ex->cap = cap;
    }
    cfx_feature_t *f = &ex->features[ex->count++];
    memset(f, 0, sizeof *f);
    ex->sorted = 0;
    return f;
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct {
    const uint8_t *p, *end, *base; /* base: start of the whole example */
} rd_t;

static inline __attribute__((always_inline)) int rd_varint(rd_t *r,
                                                           uint64_t *v) {
    const uint8_t *p = r->p;
    if (p < r->end && *p < 0x80) {
        *v = *p;
        r->p = p + 1;
        return 0;
    }
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= r->end)
            return CFX_ETRUNCATED;
        uint8_t b = *p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *v = x;
            r->p = p;
            return 0;
        }
    }
    return CFX_ECORRUPT;
}

static int dec_err(cfx_error_t *err, int code, const rd_t *r, const char *what,
                   const cfx_feature_t *f) {
    const char *why = code == CFX_ETRUNCATED ? "truncated" : "malformed";
    if (f != NULL && f->name != NULL)
        return cfx_error_set(err, code,
                             "tf.Example byte %zu: feature '%s': %s %s",
                             (size_t)(r->p - r->base), f->name, why, what);
    return cfx_error_set(err, code, "tf.Example byte %zu: %s %s",
                         (size_t)(r->p - r->base), why, what);
}

/* Skips a field of wire type wt; 0 or negative code. */
static int skip_field(rd_t *r, unsigned wt) {
    uint64_t v;
    switch (wt) {
    case WT_VARINT:
        return rd_varint(r, &v);
    case WT_I64:
        if (r->end - r->p < 8)
            return CFX_ETRUNCATED;
        r->p += 8;
        return 0;
    case WT_LEN: {
        int rc = rd_varint(r, &v);
        if (rc)
            return rc;
        if (v > (uint64_t)(r->end - r->p))
            return CFX_ETRUNCATED;
        r->p += v;
        return 0;
    }
    case WT_I32:
        if (r->end - r->p < 4)
            return CFX_ETRUNCATED;
        r->p += 4;
        return 0;
    default:
        return CFX_ECORRUPT; /* groups and invalid wire types */
    }
}

/* Reads a length-delimited payload into sub. */
static inline __attribute__((always_inline)) int rd_sub(rd_t *r, rd_t *sub) {
    uint64_t n;
    int rc = rd_varint(r, &n);
    if (rc)
        return rc;
    if (n > (uint64_t)(r->end - r->p))
        return CFX_ETRUNCATED;
    sub->p = r->p;
    sub->end = r->p + n;
    sub->base = r->base;
    r->p += n;
    return 0;
}

/* Decodes a BytesList/FloatList/Int64List payload `l` of the given kind,
 * appending to f's values when f already holds that kind. */
static int dec_list(cfx_example_t *ex, cfx_feature_t *f, cfx_kind_t kind,
                    rd_t l, cfx_error_t *err) {
    size_t old = f->kind == kind ? f->count : 0;
    size_t n = 0, total = 0;
    rd_t r = l;
    int rc = 0;
    /* Fast path: the list is one field-1 LEN value (what every encoder
     * writes), not merged into earlier values. */
    if (old == 0 && l.end - l.p >= 2 && l.p[0] == 0x0a && l.p[1] < 0x80 &&
        (size_t)(l.end - l.p) == 2u + l.p[1]) {
        const uint8_t *s = l.p + 2;
        size_t k = l.p[1];
        if (kind == CFX_KIND_BYTES) {
            cfx_bytes_t *arr = cfx_arena_alloc(values(ex), sizeof *arr + k + 1);
            if (arr == NULL)
                return cfx_error_set(err, CFX_ENOMEM,
                                     "tf.Example: out of memory");
            uint8_t *data = (uint8_t *)(arr + 1);
            memcpy(data, s, k);
            data[k] = 0;
            arr->data = data;
            arr->len = k;
            f->v.bytes = arr;
            f->count = 1;
            f->kind = kind;
            return 0;
        }
        if (kind == CFX_KIND_FLOAT && k % 4 == 0) {
            float *arr = cfx_arena_alloc(values(ex), k);
            if (arr == NULL)
                return cfx_error_set(err, CFX_ENOMEM,
                                     "tf.Example: out of memory");
            memcpy(arr, s, k); /* little-endian host */
            f->v.floats = arr;
            f->count = k / 4;
            f->kind = kind;
            return 0;
        }
        if (kind == CFX_KIND_INT64 && k > 0 && s[k - 1] < 0x80) {
            size_t cnt = 0;
            for (size_t i = 0; i < k; i++)
                cnt += s[i] < 0x80;
            int64_t *arr = cfx_arena_alloc(values(ex), cnt * sizeof *arr);
            if (arr == NULL)
                return cfx_error_set(err, CFX_ENOMEM,
                                     "tf.Example: out of memory");
            rd_t q = {s, s + k, l.base};
            for (size_t i = 0; i < cnt; i++) {
                uint64_t v;
                if ((rc = rd_varint(&q, &v)))
                    return dec_err(err, rc, &q, "packed int64_list", f);
                arr[i] = (int64_t)v;
            }
            f->v.ints = arr;
            f->count = cnt;
            f->kind = kind;
            return 0;
        }
        /* anything else (odd float length, ...) takes the general path,
         * which reports the error */
    }
    const char *what = kind == CFX_KIND_BYTES   ? "bytes_list"
                       : kind == CFX_KIND_FLOAT ? "float_list"
                                                : "int64_list";
    /* Pass 1: count. */
    while (r.p < r.end) {
        uint64_t tag;
        if ((rc = rd_varint(&r, &tag)))
            return dec_err(err, rc, &r, what, f);
        unsigned wt = (unsigned)(tag & 7);
        if ((tag >> 3) != 1) {
            if ((rc = skip_field(&r, wt)))
                return dec_err(err, rc, &r, what, f);
            continue;
        }
        if (kind == CFX_KIND_BYTES && wt == WT_LEN) {
            rd_t s = {NULL, NULL, NULL};
            if ((rc = rd_sub(&r, &s)))
                return dec_err(err, rc, &r, what, f);
            n++;
            total += (size_t)(s.end - s.p) + 1;
        } else if (kind == CFX_KIND_FLOAT && wt == WT_I32) {
            if (r.end - r.p < 4)
                return dec_err(err, CFX_ETRUNCATED, &r, what, f);
            r.p += 4;
            n++;
        } else if (kind == CFX_KIND_FLOAT && wt == WT_LEN) {
            rd_t s = {NULL, NULL, NULL};
            if ((rc = rd_sub(&r, &s)))
                return dec_err(err, rc, &r, what, f);
            if ((s.end - s.p) % 4 != 0)
                return dec_err(err, CFX_ECORRUPT, &s, "packed float_list", f);
            n += (size_t)(s.end - s.p) / 4;
        } else if (kind == CFX_KIND_INT64 && wt == WT_VARINT) {
            uint64_t v;
            if ((rc = rd_varint(&r, &v)))
                return dec_err(err, rc, &r, what, f);
            n++;
        } else if (kind == CFX_KIND_INT64 && wt == WT_LEN) {
            rd_t s = {NULL, NULL, NULL};
            if ((rc = rd_sub(&r, &s)))
                return dec_err(err, rc, &r, what, f);
            if (s.p < s.end && (s.end[-1] & 0x80))
                return dec_err(err, CFX_ETRUNCATED, &s, "packed int64_list", f);
            for (const uint8_t *q = s.p; q < s.end; q++)
                n += (*q < 0x80);
        } else {
            return dec_err(err, CFX_ECORRUPT, &r, what, f);
        }
    }
    /* Pass 2: fill, after the old values when merging. */
    size_t cnt = old + n;
    if (kind == CFX_KIND_BYTES) {
        cfx_bytes_t *arr = cfx_arena_alloc(values(ex), cnt * sizeof *arr);
        uint8_t *data = cfx_arena_alloc(values(ex), total);
        if (arr == NULL || data == NULL)
            return cfx_error_set(err, CFX_ENOMEM, "tf.Example: out of memory");
        if (old)
            memcpy(arr, f->v.bytes, old * sizeof *arr);
        size_t i = old;
        for (r = l; r.p < r.end;) {
            uint64_t tag = 0;
            rd_varint(&r, &tag);
            if ((tag >> 3) != 1) {
                skip_field(&r, (unsigned)(tag & 7));
                continue;
            }
            rd_t s = {NULL, NULL, NULL};
            rd_sub(&r, &s);
            size_t k = (size_t)(s.end - s.p);
            memcpy(data, s.p, k);
            data[k] = 0;
            arr[i].data = data;
            arr[i].len = k;
            data += k + 1;
            i++;
        }
        f->v.bytes = arr;
    } else if (kind == CFX_KIND_FLOAT) {
        float *arr = cfx_arena_alloc(values(ex), cnt * sizeof *arr);
        if (arr == NULL)
            return cfx_error_set(err, CFX_ENOMEM, "tf.Example: out of memory");
        if (old)
            memcpy(arr, f->v.floats, old * sizeof *arr);
        size_t i = old;
        for (r = l; r.p < r.end;) {
            uint64_t tag = 0;
            rd_varint(&r, &tag);
            unsigned wt = (unsigned)(tag & 7);
            if ((tag >> 3) != 1) {
                skip_field(&r, wt);
            } else if (wt == WT_I32) {
                memcpy(&arr[i++], r.p, 4); /* little-endian host */
                r.p += 4;
            } else {
                rd_t s = {NULL, NULL, NULL};
                rd_sub(&r, &s);
                size_t k = (size_t)(s.end - s.p) / 4;
                memcpy(&arr[i], s.p, k * 4);
                i += k;
            }
        }
        f->v.floats = arr;
    } else {
        int64_t *arr = cfx_arena_alloc(values(ex), cnt * sizeof *arr);
        if (arr == NULL)
            return cfx_error_set(err, CFX_ENOMEM, "tf.Example: out of memory");
        if (old)
            memcpy(arr, f->v.ints, old * sizeof *arr);
        size_t i = old;
        for (r = l; r.p < r.end;) {
            uint64_t tag = 0, v = 0;
            rd_varint(&r, &tag);
            unsigned wt = (unsigned)(tag & 7);
            if ((tag >> 3) != 1) {
                skip_field(&r, wt);
            } else if (wt == WT_VARINT) {
                rd_varint(&r, &v);
                arr[i++] = (int64_t)v;
            } else {
                rd_t s = {NULL, NULL, NULL};
                rd_sub(&r, &s);
                while (s.p < s.end) {
                    if ((rc = rd_varint(&s, &v)))
                        return dec_err(err, rc, &s, "packed int64_list", f);
                    arr[i++] = (int64_t)v;
                }
            }
        }
        f->v.ints = arr;
    }
    f->kind = kind;
    f->count = cnt;
    return 0;
}

/* Decodes a Feature payload into f (kind NONE when no list is present). */
static int dec_feature(cfx_example_t *ex, cfx_feature_t *f, rd_t r,
                       cfx_error_t *err) {
    f->kind = CFX_KIND_NONE;
    f->count = 0;
    f->v.ints = NULL;
    while (r.p < r.end) {
        uint64_t tag;
        int rc = rd_varint(&r, &tag);
        if (rc)
            return dec_err(err, rc, &r, "Feature", f);
        uint64_t num = tag >> 3;
        unsigned wt = (unsigned)(tag & 7);
        if (num >= 1 && num <= 3 && wt == WT_LEN) {
            rd_t s = {NULL, NULL, NULL};
            if ((rc = rd_sub(&r, &s)))
                return dec_err(err, rc, &r, "Feature", f);
            if ((rc = dec_list(ex, f, (cfx_kind_t)num, s, err)))
                return rc;
        } else if ((rc = skip_field(&r, wt))) {
            return dec_err(err, rc, &r, "Feature", f);
        }
    }
    return 0;
}

static unsigned name_bit(const uint8_t *k, size_t n) {
    return (unsigned)((n * 31u + (n ? k[0] * 7u + k[n - 1] : 0u)) & 63u);
}

/* Up to this many features a duplicate name is looked for by a scan as
 * each entry is decoded; past it, by one sort once the example is read. */
#define SCAN_MAX 32

typedef struct {
    const cfx_feature_t *f;
    size_t pos;
} named_pos_t;

static int cmp_named_pos(const void *a, const void *b) {
    const named_pos_t *x = a, *y = b;
    size_t n =
        x->f->name_len < y->f->name_len ? x->f->name_len : y->f->name_len;
    int c = memcmp(x->f->name, y->f->name, n);
    if (c)
        return c;
    if (x->f->name_len != y->f->name_len)
        return x->f->name_len < y->f->name_len ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Merges duplicate names as protobuf map decoding does: the first
 * position keeps the last value. O(n log n) whatever the names are. */
static int dedup_sorted(cfx_example_t *ex) {
    size_t n = ex->count;
    named_pos_t *idx = malloc(n * sizeof *idx);
    unsigned char *dead = calloc(n, 1);
    if (idx == NULL || dead == NULL) {
        free(idx);
        free(dead);
        return CFX_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        idx[i].f = &ex->features[i];
        idx[i].pos = i;
    }
    qsort(idx, n, sizeof *idx, cmp_named_pos);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && idx[j].f->name_len == idx[i].f->name_len &&
               memcmp(idx[j].f->name, idx[i].f->name, idx[i].f->name_len) == 0)
            dead[idx[j++].pos] = 1;
        if (j - i > 1)
            ex->features[idx[i].pos] = ex->features[idx[j - 1].pos];
        i = j;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!dead[i])
            ex->features[k++] = ex->features[i];
    ex->count = k;
    free(idx);
    free(dead);
    return 0;
}

/* One map entry {key=1, value=2}. */
static int dec_entry(cfx_example_t *ex, rd_t r, uint64_t *bloom, int *late_dups,
                     cfx_error_t *err) {
    const uint8_t *key = NULL;
    size_t key_len = 0;
    rd_t val = {NULL, NULL, r.base};
    int have_val = 0;
    while (r.p < r.end) {
        uint64_t tag;
        int rc = rd_varint(&r, &tag);
        if (rc)
            return dec_err(err, rc, &r, "feature map entry", NULL);
        uint64_t num = tag >> 3;
        unsigned wt = (unsigned)(tag & 7);
        if (num == 1 && wt == WT_LEN) {
            rd_t s = {NULL, NULL, NULL};
            if ((rc = rd_sub(&r, &s)))
                return dec_err(err, rc, &r, "feature name", NULL);
            key = s.p;
            key_len = (size_t)(s.end - s.p);
        } else if (num == 2 && wt == WT_LEN) {
            if ((rc = rd_sub(&r, &val)))
                return dec_err(err, rc, &r, "Feature", NULL);
            have_val = 1;
        } else if ((rc = skip_field(&r, wt))) {
            return dec_err(err, rc, &r, "feature map entry", NULL);
        }
    }
    if (key == NULL)
        key = (const uint8_t *)"";
    /* Names are C strings for every consumer (find, schema, transform). */
    if (memchr(key, 0, key_len) != NULL)
        return cfx_error_set(err, CFX_ECORRUPT,
                             "tf.Example byte %zu: feature name contains a "
                             "NUL byte",
                             (size_t)(key - r.base));
    /* A later duplicate key replaces the value in place: found here by a
     * scan while the example is small, by dedup_sorted once decoding ends
     * for a large one (a scan per feature would make decoding quadratic in
     * the number of features). */
    cfx_feature_t *f = NULL;
    uint64_t bit = (uint64_t)1 << name_bit(key, key_len);
    if ((*bloom & bit) && ex->count >= SCAN_MAX)
        *late_dups = 1;
    else if (*bloom & bit) {
        for (size_t i = 0; i < ex->count; i++) {
            cfx_feature_t *g = &ex->features[i];
            if (g->name_len == key_len && memcmp(g->name, key, key_len) == 0) {
                f = g;
                break;
            }
        }
    }
    if (f == NULL) {
        char *name = cfx_arena_strndup(values(ex), (const char *)key, key_len);
        if (name == NULL || (f = push_feature(ex)) == NULL)
            return cfx_error_set(err, CFX_ENOMEM, "tf.Example: out of memory");
        f->name = name;
        f->name_len = key_len;
        *bloom |= bit;
    }
    f->kind = CFX_KIND_NONE;
    f->count = 0;
    if (!have_val)
        return 0;
    return dec_feature(ex, f, val, err);
}

int cfx_example_decode(cfx_example_t *ex, const uint8_t *buf, size_t len,
                       cfx_error_t *err) {
    cfx_example_reset(ex);
    rd_t r = {buf, buf + len, buf};
    uint64_t bloom = 0;
    int late_dups = 0;
    while (r.p < r.end) {
        uint64_t tag;
        int rc = rd_varint(&r, &tag);
        if (rc)
            return dec_err(err, rc, &r, "Example", NULL);
        unsigned wt = (unsigned)(tag & 7);
        if ((tag >> 3) == 1 && wt == WT_LEN) {
            rd_t feats;
            if ((rc = rd_sub(&r, &feats)))
                return dec_err(err, rc, &r, "Example.features", NULL);
            while (feats.p < feats.end) {
                if ((rc = rd_varint(&feats, &tag)))
                    return dec_err(err, rc, &feats, "Features", NULL);
                wt = (unsigned)(tag & 7);
                if ((tag >> 3) == 1 && wt == WT_LEN) {
                    rd_t entry;
                    if ((rc = rd_sub(&feats, &entry)))
                        return dec_err(err, rc, &feats, "feature map entry",
                                       NULL);
                    if ((rc = dec_entry(ex, entry, &bloom, &late_dups, err)))
                        return rc;
                } else if ((rc = skip_field(&feats, wt))) {
                    return dec_err(err, rc, &feats, "Features", NULL);
                }
            }
        } else if ((rc = skip_field(&r, wt))) {
            return dec_err(err, rc, &r, "Example", NULL);
        }
    }
    if (late_dups && dedup_sorted(ex) != 0)
        return cfx_error_set(err, CFX_ENOMEM, "tf.Example: out of memory");
    return 0;
}

/* ---- encoding ---------------------------------------------------------- */

static inline size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint8_t *put_varint(uint8_t *p, uint64_t v) {
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Size of the list payload (BytesList/FloatList/Int64List message body);
 * *packed gets the packed payload size for int64. */
static size_t list_size(const cfx_feature_t *f, size_t *packed) {
    size_t s = 0;
    *packed = 0;
    switch (f->kind) {
    case CFX_KIND_BYTES:
        for (size_t i = 0; i < f->count; i++)
            s += 1 + varint_size(f->v.bytes[i].len) + f->v.bytes[i].len;
        return s;
    case CFX_KIND_FLOAT:
        if (f->count == 0)
            return 0;
        *packed = f->count * 4;
        return 1 + varint_size(*packed) + *packed;
    case CFX_KIND_INT64:
        if (f->count == 0)
            return 0;
        for (size_t i = 0; i < f->count; i++)
            s += varint_size((uint64_t)f->v.ints[i]);
        *packed = s;
        return 1 + varint_size(s) + s;
    default:
        return 0;
    }
}

typedef struct {
    size_t list, packed, feature, entry;
} sizes_t;

static int cmp_feature_ptr(const void *a, const void *b) {
    const cfx_feature_t *x = *(const cfx_feature_t *const *)a;
    const cfx_feature_t *y = *(const cfx_feature_t *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c)
        return c;
    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

#define STACK_FEATURES 64

int cfx_example_encode(const cfx_example_t *ex, cfx_buf_t *out) {
    size_t n = ex->count;
    const cfx_feature_t *order_stack[STACK_FEATURES];
    sizes_t sizes_stack[STACK_FEATURES];
    const cfx_feature_t **order = order_stack;
    sizes_t *sz = sizes_stack;
    int rc = 0;
    if (n > STACK_FEATURES) {
        order = malloc(n * sizeof *order);
        sz = malloc(n * sizeof *sz);
        if (order == NULL || sz == NULL) {
            rc = CFX_ENOMEM;
            goto out;
        }
    }
    int in_order = 1;
    for (size_t i = 0; i < n; i++) {
        order[i] = &ex->features[i];
        if (i > 0 && in_order && cmp_feature_ptr(&order[i - 1], &order[i]) > 0)
            in_order = 0;
    }
    if (!in_order)
        qsort(order, n, sizeof *order, cmp_feature_ptr);
    size_t features_size = 0;
    for (size_t i = 0; i < n; i++) {
        const cfx_feature_t *f = order[i];
        sz[i].list = list_size(f, &sz[i].packed);
        sz[i].feature = f->kind == CFX_KIND_NONE
                            ? 0
                            : 1 + varint_size(sz[i].list) + sz[i].list;
        sz[i].entry = 1 + varint_size(f->name_len) + f->name_len + 1 +
                      varint_size(sz[i].feature) + sz[i].feature;
        features_size += 1 + varint_size(sz[i].entry) + sz[i].entry;
    }
    size_t total = 1 + varint_size(features_size) + features_size;
    if ((rc = cfx_buf_reserve(out, total)))
        goto out;
    uint8_t *p = out->data + out->len;
    *p++ = 0x0a; /* Example.features */
    p = put_varint(p, features_size);
    for (size_t i = 0; i < n; i++) {
        const cfx_feature_t *f = order[i];
        *p++ = 0x0a; /* Features.feature entry */
        p = put_varint(p, sz[i].entry);
        *p++ = 0x0a; /* key */
        p = put_varint(p, f->name_len);
        memcpy(p, f->name, f->name_len);
        p += f->name_len;
        *p++ = 0x12; /* value */
        p = put_varint(p, sz[i].feature);
        if (f->kind == CFX_KIND_NONE)
            continue;
        *p++ = (uint8_t)((unsigned)f->kind << 3 | WT_LEN);
        p = put_varint(p, sz[i].list);
        switch (f->kind) {
        case CFX_KIND_BYTES:
            for (size_t j = 0; j < f->count; j++) {
                *p++ = 0x0a;
                p = put_varint(p, f->v.bytes[j].len);
                if (f->v.bytes[j].len)
                    memcpy(p, f->v.bytes[j].data, f->v.bytes[j].len);
                p += f->v.bytes[j].len;
            }
            break;
        case CFX_KIND_FLOAT:
            if (f->count == 0)
                break;
            *p++ = 0x0a;
            p = put_varint(p, sz[i].packed);
            memcpy(p, f->v.floats, sz[i].packed); /* little-endian host */
            p += sz[i].packed;
            break;
        case CFX_KIND_INT64:
            if (f->count == 0)
                break;
            *p++ = 0x0a;
            p = put_varint(p, sz[i].packed);
            for (size_t j = 0; j < f->count; j++)
                p = put_varint(p, (uint64_t)f->v.ints[j]);
            break;
        default:
            break;
        }
    }
    out->len += total;
out:
    if (order != order_stack)
        free(order);
    if (sz != sizes_stack)
        free(sz);
    return rc;
}

/* ---- access and building ----------------------------------------------- */

static int cmp_feature(const void *a, const void *b) {
    const cfx_feature_t *x = a, *y = b;
    return cmp_feature_ptr(&x, &y);
}

void cfx_example_sort(cfx_example_t *ex) {
    if (ex->count > 1)
        qsort(ex->features, ex->count, sizeof *ex->features, cmp_feature);
    ex->sorted = 1;
}

const cfx_feature_t *cfx_example_find(const cfx_example_t *ex,
                                      const char *name) {
    size_t n = strlen(name);
    if (ex->sorted) {
        cfx_feature_t key;
        key.name = name;
        key.name_len = n;
        return bsearch(&key, ex->features, ex->count, sizeof *ex->features,
                       cmp_feature);
    }
    for (size_t i = 0; i < ex->count; i++) {
        const cfx_feature_t *f = &ex->features[i];
        if (f->name_len == n && memcmp(f->name, name, n) == 0)
            return f;
    }
    return NULL;
}

static cfx_feature_t *add(cfx_example_t *ex, const char *name, cfx_kind_t kind,
                          size_t n) {
    size_t len = strlen(name);
    char *copy = cfx_arena_strndup(values(ex), name, len);
    if (copy == NULL)
        return NULL;
    cfx_feature_t *f = push_feature(ex);
    if (f == NULL)
        return NULL;
    f->name = copy;
    f->name_len = len;
    f->kind = kind;
    f->count = n;
    return f;
}

int cfx_example_add_none(cfx_example_t *ex, const char *name) {
    return add(ex, name, CFX_KIND_NONE, 0) ? 0 : CFX_ENOMEM;
}

int cfx_example_add_int64(cfx_example_t *ex, const char *name, const int64_t *v,
                          size_t n) {
    int64_t *copy = cfx_arena_alloc(values(ex), n * sizeof *copy);
    if (copy == NULL)
        return CFX_ENOMEM;
    if (n)
        memcpy(copy, v, n * sizeof *copy);
    cfx_feature_t *f = add(ex, name, CFX_KIND_INT64, n);
    if (f == NULL)
        return CFX_ENOMEM;
    f->v.ints = copy;
    return 0;
}

int cfx_example_add_float(cfx_example_t *ex, const char *name, const float *v,
                          size_t n) {
    float *copy = cfx_arena_alloc(values(ex), n * sizeof *copy);
    if (copy == NULL)
        return CFX_ENOMEM;
    if (n)
        memcpy(copy, v, n * sizeof *copy);
    cfx_feature_t *f = add(ex, name, CFX_KIND_FLOAT, n);
    if (f == NULL)
        return CFX_ENOMEM;
    f->v.floats = copy;
    return 0;
}

int cfx_example_add_bytes(cfx_example_t *ex, const char *name,
                          const cfx_bytes_t *v, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].len + 1;
    cfx_bytes_t *arr = cfx_arena_alloc(values(ex), n * sizeof *arr);
    uint8_t *data = cfx_arena_alloc(values(ex), total);
    if (arr == NULL || data == NULL)
        return CFX_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (v[i].len)
            memcpy(data, v[i].data, v[i].len);
        data[v[i].len] = 0;
        arr[i].data = data;
        arr[i].len = v[i].len;
        data += v[i].len + 1;
    }
    cfx_feature_t *f = add(ex, name, CFX_KIND_BYTES, n);
    if (f == NULL)
        return CFX_ENOMEM;
    f->v.bytes = arr;
    return 0;
}

/*
 * slicing.c: slice membership of examples (SlicingSpec) and the table of
 * slice names seen during an evaluation (slicing.h).
 */
#include "eval/slicing.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cfx_slicing_spec_name(const cfx_slicing_spec_t *s, char *out, size_t cap) {
    size_t l = 0;
    out[0] = 0;
    if (s->num_keys == 0 && s->num_values == 0) {
        snprintf(out, cap, "Overall");
        return;
    }
    for (size_t i = 0; i < s->num_keys + s->num_values; i++) {
        const char *k =
            i < s->num_keys ? s->keys[i] : s->value_keys[i - s->num_keys];
        int w =
            snprintf(out + l, cap > l ? cap - l : 0, "%s%s", i ? "_X_" : "", k);
        if (w < 0 || (size_t)w >= (cap > l ? cap - l : 0))
            return;
        l += (size_t)w;
    }
}

void cfx_slicing_value(const cfx_feature_t *f, size_t i, char *out,
                       size_t cap) {
    switch (f->kind) {
    case CFX_KIND_INT64:
        snprintf(out, cap, "%" PRId64, f->v.ints[i]);
        break;
    case CFX_KIND_FLOAT:
        snprintf(out, cap, "%.9g", (double)f->v.floats[i]);
        break;
    case CFX_KIND_BYTES: {
        size_t n = f->v.bytes[i].len;
        if (n >= cap)
            n = cap - 1;
        memcpy(out, f->v.bytes[i].data, n);
        out[n] = 0;
        /* a NUL inside the value would cut the name; keep what precedes it */
        break;
    }
    default:
        out[0] = 0;
    }
}

typedef struct walk {
    const cfx_slicing_spec_t *spec;
    const cfx_feature_t *feat[2 * CFX_SLICE_MAX_FEATURES];
    size_t pick[2 * CFX_SLICE_MAX_FEATURES];
    size_t depth, emitted;
    cfx_slice_cb cb;
    void *ud;
    cfx_error_t *err;
} walk_t;

static int emit(walk_t *w) {
    const cfx_slicing_spec_t *s = w->spec;
    char name[CFX_SLICE_NAME_MAX], v[CFX_SLICE_VALUE_MAX];
    if (++w->emitted > CFX_SLICE_MAX_PER_EXAMPLE)
        return cfx_error_set(
            w->err, CFX_ETOOBIG,
            "an example falls in more than %d slices of one spec",
            CFX_SLICE_MAX_PER_EXAMPLE);
    cfx_slicing_spec_name(s, name, sizeof name);
    if (s->num_keys == 0 && s->num_values == 0)
        return w->cb(w->ud, name);
    size_t l = strlen(name);
    for (size_t i = 0; i < w->depth; i++) {
        if (i < s->num_keys)
            cfx_slicing_value(w->feat[i], w->pick[i], v, sizeof v);
        else
            snprintf(v, sizeof v, "%s", s->values[i - s->num_keys]);
        int n = snprintf(name + l, sizeof name - l, "%s%s", i ? "_X_" : ":", v);
        if (n < 0 || (size_t)n >= sizeof name - l)
            return cfx_error_set(w->err, CFX_ETOOBIG,
                                 "slice name over %d bytes",
                                 CFX_SLICE_NAME_MAX);
        l += (size_t)n;
    }
    return w->cb(w->ud, name);
}

static int walk(walk_t *w, size_t i) {
    if (i == w->depth)
        return emit(w);
    const cfx_feature_t *f = w->feat[i];
    for (size_t k = 0; k < f->count; k++) {
        w->pick[i] = k;
        int ret = walk(w, i + 1);
        if (ret)
            return ret;
    }
    return 0;
}

int cfx_slicing_keys(const cfx_slicing_spec_t *spec, const cfx_example_t *ex,
                     cfx_slice_cb cb, void *ud, cfx_error_t *err) {
    walk_t w = {.spec = spec, .cb = cb, .ud = ud, .err = err};
    char v[CFX_SLICE_VALUE_MAX];
    for (size_t i = 0; i < spec->num_keys; i++) {
        const cfx_feature_t *f = cfx_example_find(ex, spec->keys[i]);
        if (!f || f->count == 0 || f->kind == CFX_KIND_NONE)
            return 0;
        w.feat[w.depth++] = f;
    }
    /* fixed values: the example must hold the value; each is one fixed
     * component of the name (a one-value step of the walk) */
    static const cfx_feature_t fixed = {.count = 1};
    for (size_t i = 0; i < spec->num_values; i++) {
        const cfx_feature_t *f = cfx_example_find(ex, spec->value_keys[i]);
        if (!f || f->kind == CFX_KIND_NONE)
            return 0;
        int found = 0;
        for (size_t k = 0; k < f->count && !found; k++) {
            cfx_slicing_value(f, k, v, sizeof v);
            found = !strcmp(v, spec->values[i]);
        }
        if (!found)
            return 0;
        w.feat[w.depth++] = &fixed;
    }
    return walk(&w, 0);
}

/* The feature of part i of the slices of s (feature_keys, then the keys of
 * feature_values, as in slice names). */
static const char *part_key(const cfx_slicing_spec_t *s, size_t i) {
    return i < s->num_keys ? s->keys[i] : s->value_keys[i - s->num_keys];
}

/* The matching of cfx_slicing_spec_applies over the parts of a slice of
 * from; vals[i] is the value of part i, or NULL when unknown (a
 * feature_keys part seen before any slice exists), which any pinned value
 * of want accepts. */
static int parts_match(const cfx_slicing_spec_t *want,
                       const cfx_slicing_spec_t *from,
                       const char *const *vals) {
    size_t d = from->num_keys + from->num_values;
    int used_key[CFX_SLICE_MAX_FEATURES] = {0},
        used_val[CFX_SLICE_MAX_FEATURES] = {0};
    if (d != want->num_keys + want->num_values)
        return 0;
    for (size_t i = 0; i < d; i++) {
        const char *k = part_key(from, i);
        int taken = 0;
        for (size_t j = 0; j < want->num_values && !taken; j++)
            if (!used_val[j] && !strcmp(want->value_keys[j], k) &&
                (!vals[i] || !strcmp(want->values[j], vals[i])))
                taken = used_val[j] = 1;
        for (size_t j = 0; j < want->num_keys && !taken; j++)
            if (!used_key[j] && !strcmp(want->keys[j], k))
                taken = used_key[j] = 1;
        if (!taken)
            return 0;
    }
    return 1; /* as many parts as want has, each took one */
}

int cfx_slicing_spec_applies(const cfx_slicing_spec_t *want,
                             const cfx_slicing_spec_t *from,
                             const char *slice_name) {
    char spec_name[CFX_SLICE_NAME_MAX];
    char vals[2 * CFX_SLICE_MAX_FEATURES][CFX_SLICE_VALUE_MAX];
    const char *ptr[2 * CFX_SLICE_MAX_FEATURES];
    size_t d = from->num_keys + from->num_values;
    if (d != want->num_keys + want->num_values)
        return 0;
    if (d == 0)
        return 1;
    cfx_slicing_spec_name(from, spec_name, sizeof spec_name);
    size_t l = strlen(spec_name);
    if (strncmp(slice_name, spec_name, l) || slice_name[l] != ':')
        return 0;
    const char *v = slice_name + l + 1;
    for (size_t i = 0; i < d; i++) {
        const char *end = i + 1 < d ? strstr(v, "_X_") : NULL;
        if (i + 1 < d && !end)
            return 0; /* not a name of this spec */
        size_t len = end ? (size_t)(end - v) : strlen(v);
        if (len >= sizeof vals[i])
            return 0; /* longer than any value a slice name holds */
        memcpy(vals[i], v, len);
        vals[i][len] = 0;
        ptr[i] = vals[i];
        v = end ? end + 3 : v + len;
    }
    return parts_match(want, from, ptr);
}

int cfx_slicing_spec_can_apply(const cfx_slicing_spec_t *want,
                               const cfx_slicing_spec_t *from) {
    const char *ptr[2 * CFX_SLICE_MAX_FEATURES];
    for (size_t i = 0; i < from->num_keys + from->num_values; i++)
        ptr[i] = i < from->num_keys ? NULL : from->values[i - from->num_keys];
    return parts_match(want, from, ptr);
}

int cfx_slicing_spec_equal(const cfx_slicing_spec_t *a,
                           const cfx_slicing_spec_t *b) {
    if (a->num_keys != b->num_keys || a->num_values != b->num_values)
        return 0;
    for (size_t i = 0; i < a->num_keys; i++)
        if (strcmp(a->keys[i], b->keys[i]))
            return 0;
    for (size_t i = 0; i < a->num_values; i++)
        if (strcmp(a->value_keys[i], b->value_keys[i]) ||
            strcmp(a->values[i], b->values[i]))
            return 0;
    return 1;
}

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

void cfx_slice_table_init(cfx_slice_table_t *t) {
    memset(t, 0, sizeof *t);
}

void cfx_slice_table_free(cfx_slice_table_t *t) {
    for (size_t i = 0; i < t->n; i++)
        free(t->names[i]);
    free(t->names);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static int grow(cfx_slice_table_t *t, cfx_error_t *err) {
    size_t ns = t->nslots ? t->nslots * 2 : 64;
    size_t *slots = calloc(ns, sizeof *slots);
    char **names = realloc(t->names, (ns / 2) * sizeof *names);
    if (!slots || !names) {
        free(slots);
        if (names)
            t->names = names;
        return cfx_error_set(err, CFX_ENOMEM, "slices: out of memory");
    }
    t->names = names;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = (size_t)(hash_name(t->names[i]) & (ns - 1));
        while (slots[h])
            h = (h + 1) & (ns - 1);
        slots[h] = i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = ns;
    return 0;
}

int cfx_slice_table_intern(cfx_slice_table_t *t, const char *name,
                           size_t *index, int *created, cfx_error_t *err) {
    if (created)
        *created = 0;
    if (t->nslots == 0 || (t->n + 1) * 2 > t->nslots) {
        int ret = grow(t, err);
        if (ret)
            return ret;
    }
    size_t h = (size_t)(hash_name(name) & (t->nslots - 1));
    while (t->slots[h]) {
        if (!strcmp(t->names[t->slots[h] - 1], name)) {
            *index = t->slots[h] - 1;
            return 0;
        }
        h = (h + 1) & (t->nslots - 1);
    }
    if (t->n >= CFX_SLICE_MAX_SLICES)
        return cfx_error_set(err, CFX_ETOOBIG, "more than %d slices",
                             CFX_SLICE_MAX_SLICES);
    char *copy = strdup(name);
    if (!copy)
        return cfx_error_set(err, CFX_ENOMEM, "slices: out of memory");
    t->names[t->n] = copy;
    t->slots[h] = t->n + 1;
    *index = t->n++;
    if (created)
        *created = 1;
    return 0;
}

/*
 * analyzers.c: mergeable moments, vocabulary counts and exact quantiles
 * (see analyzers.h for the semantics each one follows).
 */
#include "transform/analyzers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- moments ------------------------------------------------------------ */

void cfx_moments_init(cfx_moments_t *m) {
    m->count = 0;
    m->mean = 0.0;
    m->m2 = 0.0;
}

void cfx_moments_add(cfx_moments_t *m, double x) {
    m->count++;
    double d = x - m->mean;
    m->mean += d / (double)m->count;
    m->m2 += d * (x - m->mean);
}

void cfx_moments_merge(cfx_moments_t *into, const cfx_moments_t *from) {
    if (from->count == 0)
        return;
    if (into->count == 0) {
        *into = *from;
        return;
    }
    double na = (double)into->count, nb = (double)from->count;
    double n = na + nb;
    double d = from->mean - into->mean;
    into->mean += d * nb / n;
    into->m2 += from->m2 + d * d * na * nb / n;
    into->count += from->count;
}

double cfx_moments_variance(const cfx_moments_t *m) {
    if (m->count == 0)
        return 0.0;
    double v = m->m2 / (double)m->count;
    return v < 0 ? 0 : v;
}

/* ---- vocabulary counts -------------------------------------------------- */

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

void cfx_vocab_counter_init(cfx_vocab_counter_t *c, size_t max_distinct) {
    memset(c, 0, sizeof *c);
    c->max_distinct = max_distinct;
}

void cfx_vocab_counter_free(cfx_vocab_counter_t *c) {
    for (size_t i = 0; i < c->cap; i++)
        free((void *)c->slots[i].token);
    free(c->slots);
    free(c->hashes);
    memset(c, 0, sizeof *c);
}

static int grow(cfx_vocab_counter_t *c) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    cfx_vocab_entry_t *slots = calloc(cap, sizeof *slots);
    uint64_t *hashes = calloc(cap, sizeof *hashes);
    if (!slots || !hashes) {
        free(slots);
        free(hashes);
        return CFX_ENOMEM;
    }
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slots[i].token)
            continue;
        size_t j = c->hashes[i] & (cap - 1);
        while (slots[j].token)
            j = (j + 1) & (cap - 1);
        slots[j] = c->slots[i];
        hashes[j] = c->hashes[i];
    }
    free(c->slots);
    free(c->hashes);
    c->slots = slots;
    c->hashes = hashes;
    c->cap = cap;
    return 0;
}

int cfx_vocab_counter_add(cfx_vocab_counter_t *c, const void *p, size_t n,
                          uint64_t count, cfx_error_t *err) {
    if (n > CFX_VOCAB_MAX_TOKEN)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "token of %zu bytes exceeds the limit of %u", n,
                             CFX_VOCAB_MAX_TOKEN);
    const uint8_t *b = p;
    uint64_t h = fnv1a(b, n);
    if (c->cap) {
        for (size_t j = h & (c->cap - 1); c->slots[j].token;
             j = (j + 1) & (c->cap - 1)) {
            if (c->hashes[j] == h && c->slots[j].len == n &&
                memcmp(c->slots[j].token, b, n) == 0) {
                c->slots[j].count += count;
                return 0;
            }
        }
    }
    if (c->size >= c->max_distinct)
        return cfx_error_set(err, CFX_ETOOBIG, "more than %zu distinct tokens",
                             c->max_distinct);
    if ((c->size + 1) * 2 > c->cap && grow(c) < 0)
        return cfx_error_set(err, CFX_ENOMEM, "vocabulary: out of memory");
    uint8_t *tok = malloc(n ? n : 1);
    if (!tok)
        return cfx_error_set(err, CFX_ENOMEM, "vocabulary: out of memory");
    if (n)
        memcpy(tok, b, n);
    size_t j = h & (c->cap - 1);
    while (c->slots[j].token)
        j = (j + 1) & (c->cap - 1);
    c->slots[j].token = tok;
    c->slots[j].len = n;
    c->slots[j].count = count;
    c->hashes[j] = h;
    c->size++;
    return 0;
}

int cfx_vocab_counter_merge(cfx_vocab_counter_t *into,
                            const cfx_vocab_counter_t *from, cfx_error_t *err) {
    for (size_t i = 0; i < from->cap; i++) {
        const cfx_vocab_entry_t *e = &from->slots[i];
        if (!e->token)
            continue;
        int rc = cfx_vocab_counter_add(into, e->token, e->len, e->count, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Count descending, then token descending in byte order (a shorter token
 * that is a prefix of a longer one sorts lower). */
static int entry_cmp(const void *a, const void *b) {
    const cfx_vocab_entry_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->token, y->token, n) : 0;
    if (c == 0)
        c = x->len < y->len ? -1 : (x->len > y->len ? 1 : 0);
    return -c;
}

static int keep_token(const cfx_vocab_entry_t *e) {
    if (e->len == 0)
        return 0;
    return !memchr(e->token, '\n', e->len) && !memchr(e->token, '\r', e->len);
}

int cfx_vocab_counter_top(const cfx_vocab_counter_t *c, int64_t top_k,
                          cfx_vocab_entry_t **out, size_t *n,
                          cfx_error_t *err) {
    *out = NULL;
    *n = 0;
    cfx_vocab_entry_t *v = malloc((c->size ? c->size : 1) * sizeof *v);
    if (!v)
        return cfx_error_set(err, CFX_ENOMEM, "vocabulary: out of memory");
    size_t k = 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].token && keep_token(&c->slots[i]))
            v[k++] = c->slots[i];
    qsort(v, k, sizeof *v, entry_cmp);
    if (top_k > 0 && (uint64_t)top_k < k)
        k = (size_t)top_k;
    *out = v;
    *n = k;
    return 0;
}

/* ---- bucket boundaries ------------------------------------------------ */

void cfx_boundaries_analyzer_init(cfx_boundaries_analyzer_t *q, size_t budget) {
    cfx_quantiles_init(&q->summary, budget);
    q->num_nan = 0;
}

void cfx_boundaries_analyzer_free(cfx_boundaries_analyzer_t *q) {
    cfx_quantiles_free(&q->summary);
    q->num_nan = 0;
}

int cfx_boundaries_analyzer_add(cfx_boundaries_analyzer_t *q, float x,
                                cfx_error_t *err) {
    if (isnan(x)) {
        q->num_nan++;
        return 0;
    }
    if (cfx_quantiles_add(&q->summary, (double)x, 1) < 0)
        return cfx_error_set(err, CFX_ENOMEM, "quantiles: out of memory");
    return 0;
}

int cfx_boundaries_analyzer_merge(cfx_boundaries_analyzer_t *into,
                                  const cfx_boundaries_analyzer_t *from,
                                  cfx_error_t *err) {
    if (cfx_quantiles_merge(&into->summary, &from->summary) < 0)
        return cfx_error_set(err, CFX_ENOMEM, "quantiles: out of memory");
    into->num_nan += from->num_nan;
    return 0;
}

int cfx_boundaries_analyzer_exact(const cfx_boundaries_analyzer_t *q) {
    return cfx_quantiles_exact(&q->summary);
}

static int entry_value_cmp(const void *a, const void *b) {
    double x = ((const cfx_quantiles_entry_t *)a)->value;
    double y = ((const cfx_quantiles_entry_t *)b)->value;
    return (x > y) - (x < y);
}

int cfx_boundaries_analyzer_get(const cfx_boundaries_analyzer_t *q,
                                size_t num_buckets, float *out,
                                cfx_error_t *err) {
    const cfx_quantiles_t *s = &q->summary;
    if (num_buckets < 1 || num_buckets > ((size_t)1 << 20))
        return cfx_error_set(err, CFX_EINVAL,
                             "num_buckets must be in [1, 2^20]");
    if (s->total == 0) {
        for (size_t i = 1; i < num_buckets; i++)
            out[i - 1] = 0.0f;
        return 0;
    }
    if (!cfx_quantiles_exact(s)) {
        double *b = malloc((num_buckets + 1) * sizeof *b);
        double *cum = malloc((num_buckets + 1) * sizeof *cum);
        int rc =
            b && cum ? cfx_quantiles_query(s, num_buckets, b, cum) : CFX_ENOMEM;
        for (size_t i = 1; rc == 0 && i < num_buckets; i++)
            out[i - 1] = (float)b[i];
        free(b);
        free(cum);
        return rc < 0 ? cfx_error_set(err, rc, "quantiles: out of memory") : 0;
    }
    /* Exact: the distinct values with their counts, sorted; boundary i is
     * the smallest value whose cumulative count c has c * k >= i * N. */
    cfx_quantiles_entry_t *e = malloc(s->used * sizeof *e);
    if (!e)
        return cfx_error_set(err, CFX_ENOMEM, "quantiles: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].count)
            e[n++] = s->slots[i];
    qsort(e, n, sizeof *e, entry_value_cmp);
    size_t j = 0;
    unsigned __int128 cum = n ? e[0].count : 0;
    for (size_t i = 1; i < num_buckets; i++) {
        unsigned __int128 target = (unsigned __int128)i * s->total;
        while (j + 1 < n && cum * num_buckets < target) {
            j++;
            cum += e[j].count;
        }
        out[i - 1] = (float)e[j].value;
    }
    free(e);
    return 0;
}

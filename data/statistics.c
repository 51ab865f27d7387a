/*
 * statistics.c: per-feature accumulators, their merge, and the
 * DatasetFeatureStatisticsList they turn into (see statistics.h).
 *
 * Per feature: presence and value counts, a quantile summary of the value
 * counts; for numbers running mean/M2 (Welford, merged with Chan et al.'s
 * formula), zeros, NaNs, infinities, min/max and a quantile summary; for
 * bytes an exact table of distinct values with counts (its memory grows
 * with the number of distinct strings, not with rows).
 *
 * Examples of one input usually list the same features in the same order,
 * so the feature found at position i of the previous example is tried
 * first before the name table.
 */
#include "data/statistics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv.h"
#include "data/quantiles.h"
#include "formats/arena.h"
#include "formats/le.h"
#include "path.pb-c.h"
#include "statistics.pb-c.h"

#define QUANTILES_FACTOR 100 /* TFDV: 100 x histogram buckets quantiles */
#define INVALID_UTF8_LABEL "__BYTES_VALUE__"

/* ---- distinct strings with counts ------------------------------------------
 */

typedef struct str_entry {
    uint64_t hash;
    uint64_t count; /* 0: empty slot */
    const uint8_t *data;
    size_t len;
} str_entry_t;

typedef struct str_table {
    str_entry_t *slots;
    size_t cap, used;
    cfx_arena_t arena; /* the bytes of the keys */
} str_table_t;

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

static int str_grow(str_table_t *t) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    str_entry_t *s = calloc(cap, sizeof *s);
    if (!s)
        return CFX_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].count)
            continue;
        size_t j = t->slots[i].hash & (cap - 1);
        while (s[j].count)
            j = (j + 1) & (cap - 1);
        s[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = s;
    t->cap = cap;
    return 0;
}

/* Counts `count` occurrences of p[0..n). A value not yet in a table that
 * holds `limit` values is not stored: returns 1 (the caller counts it as
 * untracked). */
static int str_add(str_table_t *t, const uint8_t *p, size_t n, uint64_t h,
                   uint64_t count, size_t limit) {
    if (t->cap == 0 && str_grow(t) < 0)
        return CFX_ENOMEM;
    size_t j = h & (t->cap - 1);
    while (t->slots[j].count) {
        str_entry_t *e = &t->slots[j];
        if (e->hash == h && e->len == n && (n == 0 || !memcmp(e->data, p, n))) {
            e->count += count;
            return 0;
        }
        j = (j + 1) & (t->cap - 1);
    }
    if (t->used >= limit)
        return 1;
    uint8_t *copy = cfx_arena_alloc(&t->arena, n ? n : 1);
    if (!copy)
        return CFX_ENOMEM;
    if (n)
        memcpy(copy, p, n);
    t->slots[j] = (str_entry_t){h, count, copy, n};
    t->used++;
    if (t->used * 4 > t->cap * 3)
        return str_grow(t);
    return 0;
}

static void str_free(str_table_t *t) {
    free(t->slots);
    cfx_arena_free(&t->arena);
}

/* ---- accumulators -------------------------------------------------------- */

typedef struct feat {
    char *name;
    size_t name_len;
    uint64_t name_hash;
    cfx_kind_t kind; /* NONE until a typed list is seen */
    /* common */
    uint64_t num_non_missing, min_nv, max_nv, tot_nv;
    cfx_quantiles_t nv;
    /* numeric */
    uint64_t num_zeros, num_nan, pos_inf;
    double min, max, fmin, fmax;
    uint64_t n; /* non-NaN values */
    double mean, m2;
    cfx_quantiles_t vals;
    /* bytes */
    str_table_t strs;
    uint64_t total_bytes, invalid_utf8;
    uint64_t untracked; /* values not counted: the table was at its limit */
} feat_t;

struct cfx_stats_acc {
    cfx_stats_options_t o;
    uint64_t num_examples;
    feat_t **feats;
    size_t nfeats, cap;
    size_t *index; /* open addressing over feats: i + 1, 0 = empty */
    size_t index_cap;
    size_t *pos_cache; /* example position -> feature index + 1 */
    size_t pos_cap;
};

static const char *kind_name(cfx_kind_t k) {
    switch (k) {
    case CFX_KIND_NONE:
        return "no kind";
    case CFX_KIND_BYTES:
        return "bytes_list";
    case CFX_KIND_FLOAT:
        return "float_list";
    case CFX_KIND_INT64:
        return "int64_list";
    }
    return "?";
}

cfx_stats_acc_t *cfx_stats_acc_new(const cfx_stats_options_t *opts) {
    cfx_stats_acc_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (opts)
        s->o = *opts;
    if (!s->o.num_top_values)
        s->o.num_top_values = 20;
    if (!s->o.num_rank_buckets)
        s->o.num_rank_buckets = 1000;
    if (!s->o.num_histogram_buckets)
        s->o.num_histogram_buckets = 10;
    if (!s->o.max_distinct_strings)
        s->o.max_distinct_strings = CFX_STATS_DEFAULT_MAX_DISTINCT_STRINGS;
    if (s->o.num_histogram_buckets > 1000)
        s->o.num_histogram_buckets = 1000;
    return s;
}

static void feat_free(feat_t *f) {
    free(f->name);
    cfx_quantiles_free(&f->nv);
    cfx_quantiles_free(&f->vals);
    str_free(&f->strs);
    free(f);
}

void cfx_stats_acc_free(cfx_stats_acc_t *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->nfeats; i++)
        feat_free(s->feats[i]);
    free(s->feats);
    free(s->index);
    free(s->pos_cache);
    free(s);
}

uint64_t cfx_stats_acc_num_examples(const cfx_stats_acc_t *s) {
    return s->num_examples;
}

static int index_put(size_t *idx, size_t cap, feat_t **feats, size_t i) {
    size_t j = feats[i]->name_hash & (cap - 1);
    while (idx[j])
        j = (j + 1) & (cap - 1);
    idx[j] = i + 1;
    return 0;
}

/* The feature named (name, len), created when new. NULL: out of memory or
 * too many features (err set). */
static feat_t *feat_get(cfx_stats_acc_t *s, const char *name, size_t len,
                        size_t *out_index, cfx_error_t *err) {
    uint64_t h = hash_bytes((const uint8_t *)name, len);
    if (s->index_cap) {
        size_t j = h & (s->index_cap - 1);
        while (s->index[j]) {
            feat_t *f = s->feats[s->index[j] - 1];
            if (f->name_hash == h && f->name_len == len &&
                !memcmp(f->name, name, len)) {
                *out_index = s->index[j] - 1;
                return f;
            }
            j = (j + 1) & (s->index_cap - 1);
        }
    }
    if (s->nfeats >= CFX_STATS_MAX_FEATURES) {
        cfx_error_set(err, CFX_ETOOBIG, "more than %d features",
                      CFX_STATS_MAX_FEATURES);
        return NULL;
    }
    if (s->nfeats == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        feat_t **p = realloc(s->feats, cap * sizeof *p);
        if (!p)
            goto oom;
        s->feats = p;
        s->cap = cap;
    }
    if ((s->nfeats + 1) * 2 > s->index_cap) {
        size_t cap = s->index_cap ? s->index_cap * 2 : 64;
        size_t *idx = calloc(cap, sizeof *idx);
        if (!idx)
            goto oom;
        for (size_t i = 0; i < s->nfeats; i++)
            index_put(idx, cap, s->feats, i);
        free(s->index);
        s->index = idx;
        s->index_cap = cap;
    }
    feat_t *f = calloc(1, sizeof *f);
    if (!f)
        goto oom;
    f->name = malloc(len + 1);
    if (!f->name) {
        free(f);
        goto oom;
    }
    memcpy(f->name, name, len);
    f->name[len] = '\0';
    f->name_len = len;
    f->name_hash = h;
    f->min_nv = UINT64_MAX;
    f->min = f->fmin = INFINITY;
    f->max = f->fmax = -INFINITY;
    cfx_quantiles_init(&f->nv, s->o.quantiles_budget);
    cfx_quantiles_init(&f->vals, s->o.quantiles_budget);
    cfx_arena_init(&f->strs.arena);
    s->feats[s->nfeats] = f;
    index_put(s->index, s->index_cap, s->feats, s->nfeats);
    *out_index = s->nfeats++;
    return f;
oom:
    cfx_error_set(err, CFX_ENOMEM, "feature table");
    return NULL;
}

static int check_kind(feat_t *f, cfx_kind_t k, cfx_error_t *err) {
    if (k == CFX_KIND_NONE || k == f->kind)
        return 0;
    if (f->kind == CFX_KIND_NONE) {
        f->kind = k;
        return 0;
    }
    return cfx_error_set(err, CFX_EINVAL,
                         "feature '%s': %s in one example, %s in another",
                         f->name, kind_name(f->kind), kind_name(k));
}

static inline int add_number(feat_t *f, double x) {
    if (x == 0)
        f->num_zeros++;
    if (x < f->min)
        f->min = x;
    if (x > f->max)
        f->max = x;
    if (isfinite(x)) {
        if (x < f->fmin)
            f->fmin = x;
        if (x > f->fmax)
            f->fmax = x;
    } else if (x > 0) {
        f->pos_inf++;
    }
    f->n++;
    double d = x - f->mean;
    f->mean += d / (double)f->n;
    f->m2 += d * (x - f->mean);
    return cfx_quantiles_add(&f->vals, x, 1);
}

int cfx_stats_acc_add(cfx_stats_acc_t *s, const cfx_example_t *ex,
                      cfx_error_t *err) {
    int rc;
    if (ex->count > s->pos_cap) {
        size_t *p = realloc(s->pos_cache, ex->count * sizeof *p);
        if (!p)
            return cfx_error_set(err, CFX_ENOMEM, "feature cache");
        for (size_t i = s->pos_cap; i < ex->count; i++)
            p[i] = 0;
        s->pos_cache = p;
        s->pos_cap = ex->count;
    }
    s->num_examples++;
    for (size_t i = 0; i < ex->count; i++) {
        const cfx_feature_t *ef = &ex->features[i];
        feat_t *f = NULL;
        size_t c = s->pos_cache[i];
        if (c) {
            feat_t *g = s->feats[c - 1];
            if (g->name_len == ef->name_len &&
                !memcmp(g->name, ef->name, ef->name_len))
                f = g;
        }
        if (!f) {
            size_t fi;
            if (!(f = feat_get(s, ef->name, ef->name_len, &fi, err)))
                return err ? err->code : CFX_ENOMEM;
            s->pos_cache[i] = fi + 1;
        }
        if (ef->kind == CFX_KIND_NONE)
            continue; /* a Feature with no kind is null: missing */
        if ((rc = check_kind(f, ef->kind, err)) < 0)
            return rc;
        uint64_t nvals = ef->count;
        f->num_non_missing++;
        f->tot_nv += nvals;
        if (nvals < f->min_nv)
            f->min_nv = nvals;
        if (nvals > f->max_nv)
            f->max_nv = nvals;
        if ((rc = cfx_quantiles_add(&f->nv, (double)nvals, 1)) < 0)
            return cfx_error_set(err, rc, "feature '%s': quantiles", f->name);
        rc = 0;
        switch (ef->kind) {
        case CFX_KIND_INT64:
            for (size_t k = 0; k < nvals && rc == 0; k++)
                rc = add_number(f, (double)ef->v.ints[k]);
            break;
        case CFX_KIND_FLOAT:
            for (size_t k = 0; k < nvals && rc == 0; k++) {
                double x = ef->v.floats[k];
                if (isnan(x))
                    f->num_nan++;
                else
                    rc = add_number(f, x);
            }
            break;
        case CFX_KIND_BYTES:
            for (size_t k = 0; k < nvals && rc == 0; k++) {
                const cfx_bytes_t *b = &ef->v.bytes[k];
                f->total_bytes += b->len;
                if (!cfx_utf8_valid((const char *)b->data, b->len, NULL))
                    f->invalid_utf8++;
                rc = str_add(&f->strs, b->data, b->len,
                             hash_bytes(b->data, b->len), 1,
                             s->o.max_distinct_strings);
                if (rc == 1) {
                    f->untracked++;
                    rc = 0;
                }
            }
            break;
        case CFX_KIND_NONE:
            break;
        }
        if (rc < 0)
            return cfx_error_set(err, rc, "feature '%s': out of memory",
                                 f->name);
    }
    return 0;
}

int cfx_stats_merge(cfx_stats_acc_t *dst, const cfx_stats_acc_t *src,
                    cfx_error_t *err) {
    int rc;
    dst->num_examples += src->num_examples;
    for (size_t i = 0; i < src->nfeats; i++) {
        const feat_t *b = src->feats[i];
        size_t fi;
        feat_t *a = feat_get(dst, b->name, b->name_len, &fi, err);
        if (!a)
            return err ? err->code : CFX_ENOMEM;
        if ((rc = check_kind(a, b->kind, err)) < 0)
            return rc;
        a->num_non_missing += b->num_non_missing;
        a->tot_nv += b->tot_nv;
        if (b->min_nv < a->min_nv)
            a->min_nv = b->min_nv;
        if (b->max_nv > a->max_nv)
            a->max_nv = b->max_nv;
        a->num_zeros += b->num_zeros;
        a->num_nan += b->num_nan;
        a->pos_inf += b->pos_inf;
        if (b->min < a->min)
            a->min = b->min;
        if (b->max > a->max)
            a->max = b->max;
        if (b->fmin < a->fmin)
            a->fmin = b->fmin;
        if (b->fmax > a->fmax)
            a->fmax = b->fmax;
        if (b->n) {
            uint64_t n = a->n + b->n;
            double d = b->mean - a->mean;
            double na = (double)a->n, nb = (double)b->n;
            a->mean += d * nb / (double)n;
            a->m2 += b->m2 + d * d * na * nb / (double)n;
            a->n = n;
        }
        a->total_bytes += b->total_bytes;
        a->invalid_utf8 += b->invalid_utf8;
        a->untracked += b->untracked;
        if ((rc = cfx_quantiles_merge(&a->nv, &b->nv)) < 0 ||
            (rc = cfx_quantiles_merge(&a->vals, &b->vals)) < 0)
            return cfx_error_set(err, rc, "feature '%s': merging quantiles",
                                 a->name);
        for (size_t k = 0; k < b->strs.cap; k++) {
            const str_entry_t *e = &b->strs.slots[k];
            if (!e->count)
                continue;
            rc = str_add(&a->strs, e->data, e->len, e->hash, e->count,
                         dst->o.max_distinct_strings);
            if (rc < 0)
                return cfx_error_set(err, rc, "feature '%s': merging values",
                                     a->name);
            if (rc == 1)
                a->untracked += e->count;
        }
    }
    return 0;
}

/* ---- state ------------------------------------------------------------------
 */

#define STATE_MAGIC "CFXSTAT1"
#define STATE_MAX_NAME (1u << 16)

int cfx_stats_acc_save(const cfx_stats_acc_t *s, cfx_buf_t *out,
                       cfx_error_t *err) {
    int rc = cfx_buf_append(out, STATE_MAGIC, 8);
    rc |= cfx_le_append_u64(out, s->num_examples);
    rc |= cfx_le_append_u64(out, s->nfeats);
    for (size_t i = 0; i < s->nfeats && rc == 0; i++) {
        const feat_t *f = s->feats[i];
        rc |= cfx_le_append_u64(out, f->name_len);
        rc |= cfx_buf_append(out, f->name, f->name_len);
        const uint64_t u[] = {
            (uint64_t)f->kind, f->num_non_missing, f->min_nv,
            f->max_nv,         f->tot_nv,          f->num_zeros,
            f->num_nan,        f->pos_inf,         f->n,
            f->total_bytes,    f->invalid_utf8,    f->strs.used,
            f->untracked};
        for (size_t k = 0; k < sizeof u / sizeof u[0]; k++)
            rc |= cfx_le_append_u64(out, u[k]);
        const double d[] = {f->min, f->max, f->fmin, f->fmax, f->mean, f->m2};
        for (size_t k = 0; k < sizeof d / sizeof d[0]; k++)
            rc |= cfx_le_append_f64(out, d[k]);
        rc |= cfx_quantiles_save(&f->nv, out);
        rc |= cfx_quantiles_save(&f->vals, out);
        for (size_t k = 0; k < f->strs.cap; k++) {
            const str_entry_t *e = &f->strs.slots[k];
            if (!e->count)
                continue;
            rc |= cfx_le_append_u64(out, e->len);
            rc |= cfx_buf_append(out, e->data, e->len);
            rc |= cfx_le_append_u64(out, e->count);
        }
    }
    return rc ? cfx_error_set(err, CFX_ENOMEM, "statistics state") : 0;
}

int cfx_stats_acc_load(const cfx_stats_options_t *opts, const uint8_t *p,
                       size_t n, cfx_stats_acc_t **out, cfx_error_t *err) {
    int rc = 0;
    cfx_le_reader_t r;
    cfx_le_reader_init(&r, p, n);
    const char *what = "header";
    cfx_stats_acc_t *s = cfx_stats_acc_new(opts);
    *out = NULL;
    if (!s)
        return cfx_error_set(err, CFX_ENOMEM, "statistics state");
    const uint8_t *magic = cfx_le_read_bytes(&r, 8);
    if (!magic || memcmp(magic, STATE_MAGIC, 8) != 0) {
        rc = cfx_error_set(err, CFX_ECORRUPT,
                           "not a cfx statistics state (bad magic)");
        goto out;
    }
    s->num_examples = cfx_le_read_u64(&r);
    uint64_t nf = cfx_le_read_u64(&r);
    if (r.bad || nf > CFX_STATS_MAX_FEATURES)
        goto corrupt;
    for (uint64_t i = 0; i < nf; i++) {
        what = "feature name";
        uint64_t nl = cfx_le_read_u64(&r);
        const uint8_t *name =
            nl <= STATE_MAX_NAME ? cfx_le_read_bytes(&r, nl) : NULL;
        if (!name)
            goto corrupt;
        size_t fi;
        size_t before = s->nfeats;
        feat_t *f = feat_get(s, (const char *)name, (size_t)nl, &fi, err);
        if (!f) {
            rc = err ? err->code : CFX_ENOMEM;
            goto out;
        }
        if (s->nfeats == before) {
            what = "duplicate feature";
            goto corrupt;
        }
        what = f->name;
        uint64_t u[13];
        for (size_t k = 0; k < 13; k++)
            u[k] = cfx_le_read_u64(&r);
        double d[6];
        for (size_t k = 0; k < 6; k++)
            d[k] = cfx_le_read_f64(&r);
        if (r.bad || u[0] > CFX_KIND_INT64 || u[1] > s->num_examples ||
            (u[1] > 0 && u[2] > u[3]) || u[11] > u[4])
            goto corrupt;
        f->kind = (cfx_kind_t)u[0];
        f->num_non_missing = u[1];
        f->min_nv = u[2];
        f->max_nv = u[3];
        f->tot_nv = u[4];
        f->num_zeros = u[5];
        f->num_nan = u[6];
        f->pos_inf = u[7];
        f->n = u[8];
        f->total_bytes = u[9];
        f->invalid_utf8 = u[10];
        f->untracked = u[12];
        f->min = d[0];
        f->max = d[1];
        f->fmin = d[2];
        f->fmax = d[3];
        f->mean = d[4];
        f->m2 = d[5];
        size_t used;
        if ((rc = cfx_quantiles_load(&f->nv, r.p + r.off, r.n - r.off, &used)) <
            0)
            goto qerr;
        r.off += used;
        if ((rc = cfx_quantiles_load(&f->vals, r.p + r.off, r.n - r.off,
                                     &used)) < 0)
            goto qerr;
        r.off += used;
        if (f->nv.total != f->num_non_missing || f->vals.total != f->n)
            goto corrupt;
        for (uint64_t k = 0; k < u[11]; k++) {
            uint64_t len = cfx_le_read_u64(&r);
            const uint8_t *b = cfx_le_read_bytes(&r, len);
            uint64_t count = cfx_le_read_u64(&r);
            if (r.bad || count == 0)
                goto corrupt;
            size_t before_used = f->strs.used;
            if ((rc = str_add(&f->strs, b, (size_t)len, hash_bytes(b, len),
                              count, SIZE_MAX)) < 0) {
                rc = cfx_error_set(err, rc, "statistics state: out of memory");
                goto out;
            }
            if (f->strs.used == before_used)
                goto corrupt; /* a value listed twice */
        }
    }
    if (r.off != r.n) {
        what = "trailing bytes";
        goto corrupt;
    }
    *out = s;
    return 0;
qerr:
    if (rc == CFX_ENOMEM) {
        rc = cfx_error_set(err, rc, "statistics state: out of memory");
        goto out;
    }
corrupt:
    rc = cfx_error_set(err, CFX_ECORRUPT,
                       "statistics state corrupt or truncated at byte %zu "
                       "(%s)",
                       r.off, what);
out:
    cfx_stats_acc_free(s);
    return rc;
}

/* ---- DatasetFeatureStatisticsList -------------------------------------------
 */

typedef Tensorflow__Metadata__V0__Histogram hist_pb;
typedef Tensorflow__Metadata__V0__Histogram__Bucket bucket_pb;

#define NEW(arena, T, INIT)                                                    \
    ({                                                                         \
        T *p_ = cfx_arena_alloc((arena), sizeof(T));                           \
        if (p_) {                                                              \
            T init_ = INIT;                                                    \
            *p_ = init_;                                                       \
        }                                                                      \
        p_;                                                                    \
    })

static hist_pb *make_hist(cfx_arena_t *ar, const cfx_hist_bucket_t *b, size_t n,
                          int quantiles_type, uint64_t num_nan) {
    hist_pb *h = NEW(ar, hist_pb, TENSORFLOW__METADATA__V0__HISTOGRAM__INIT);
    if (!h)
        return NULL;
    h->type =
        quantiles_type
            ? TENSORFLOW__METADATA__V0__HISTOGRAM__HISTOGRAM_TYPE__QUANTILES
            : TENSORFLOW__METADATA__V0__HISTOGRAM__HISTOGRAM_TYPE__STANDARD;
    h->num_nan = num_nan;
    if (n == 0)
        return h;
    h->buckets = cfx_arena_alloc(ar, n * sizeof *h->buckets);
    if (!h->buckets)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        bucket_pb *bp = NEW(ar, bucket_pb,
                            TENSORFLOW__METADATA__V0__HISTOGRAM__BUCKET__INIT);
        if (!bp)
            return NULL;
        bp->low_value = b[i].low;
        bp->high_value = b[i].high;
        bp->sample_count = b[i].count;
        h->buckets[i] = bp;
    }
    h->n_buckets = n;
    return h;
}

/* QUANTILES histogram of `buckets` equal-weight bins from q. */
static hist_pb *quantiles_hist(cfx_arena_t *ar, const cfx_quantiles_t *q,
                               size_t buckets, uint64_t num_nan) {
    double bounds[1001], cum[1001];
    cfx_hist_bucket_t hb[1000];
    if (cfx_quantiles_query(q, buckets, bounds, cum) < 0)
        return NULL;
    size_t n = cfx_hist_quantiles(bounds, cum, buckets + 1, hb);
    return make_hist(ar, hb, n, 1, num_nan);
}

static int cmp_top(const void *pa, const void *pb) {
    const str_entry_t *a = *(const str_entry_t *const *)pa;
    const str_entry_t *b = *(const str_entry_t *const *)pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    /* ties: value in descending byte order */
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->data, b->data, n) : 0;
    if (c)
        return -c;
    return (a->len < b->len) - (a->len > b->len);
}

static char *label(cfx_arena_t *ar, const str_entry_t *e) {
    if (!cfx_utf8_valid((const char *)e->data, e->len, NULL))
        return cfx_arena_strndup(ar, INVALID_UTF8_LABEL,
                                 strlen(INVALID_UTF8_LABEL));
    return cfx_arena_strndup(ar, (const char *)e->data, e->len);
}

static int string_stats(cfx_arena_t *ar, const cfx_stats_acc_t *s,
                        const feat_t *f,
                        Tensorflow__Metadata__V0__StringStatistics *ss) {
    if (f->tot_nv > 0)
        ss->avg_length = (float)((double)f->total_bytes / (double)f->tot_nv);
    ss->invalid_utf8_count = f->invalid_utf8;
    if (f->strs.used == 0)
        return 0;
    const str_entry_t **all = malloc(f->strs.used * sizeof *all);
    if (!all)
        return CFX_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < f->strs.cap; i++)
        if (f->strs.slots[i].count)
            all[n++] = &f->strs.slots[i];
    qsort(all, n, sizeof *all, cmp_top);
    ss->unique = n;
    size_t ntop = n < s->o.num_top_values ? n : s->o.num_top_values;
    size_t nrank = n < s->o.num_rank_buckets ? n : s->o.num_rank_buckets;
    int rc = CFX_ENOMEM;
    ss->top_values =
        cfx_arena_alloc(ar, (ntop ? ntop : 1) * sizeof *ss->top_values);
    Tensorflow__Metadata__V0__RankHistogram *rh =
        NEW(ar, Tensorflow__Metadata__V0__RankHistogram,
            TENSORFLOW__METADATA__V0__RANK_HISTOGRAM__INIT);
    if (!ss->top_values || !rh)
        goto out;
    rh->buckets = cfx_arena_alloc(ar, nrank * sizeof *rh->buckets);
    if (!rh->buckets)
        goto out;
    for (size_t i = 0; i < ntop; i++) {
        Tensorflow__Metadata__V0__StringStatistics__FreqAndValue *fv = NEW(
            ar, Tensorflow__Metadata__V0__StringStatistics__FreqAndValue,
            TENSORFLOW__METADATA__V0__STRING_STATISTICS__FREQ_AND_VALUE__INIT);
        if (!fv || !(fv->value = label(ar, all[i])))
            goto out;
        fv->frequency = (double)all[i]->count;
        ss->top_values[i] = fv;
    }
    ss->n_top_values = ntop;
    for (size_t i = 0; i < nrank; i++) {
        Tensorflow__Metadata__V0__RankHistogram__Bucket *b =
            NEW(ar, Tensorflow__Metadata__V0__RankHistogram__Bucket,
                TENSORFLOW__METADATA__V0__RANK_HISTOGRAM__BUCKET__INIT);
        if (!b || !(b->label = label(ar, all[i])))
            goto out;
        b->low_rank = b->high_rank = i;
        b->sample_count = (double)all[i]->count;
        rh->buckets[i] = b;
    }
    rh->n_buckets = nrank;
    ss->rank_histogram = rh;
    rc = 0;
out:
    free(all);
    return rc;
}

static int numeric_stats(cfx_arena_t *ar, const cfx_stats_acc_t *s,
                         const feat_t *f,
                         Tensorflow__Metadata__V0__NumericStatistics *ns) {
    size_t nb = s->o.num_histogram_buckets;
    if (f->n == 0) {
        if (f->num_nan == 0)
            return 0;
        /* only NaNs: the histograms carry num_nan and nothing else */
        ns->histograms = cfx_arena_alloc(ar, 2 * sizeof *ns->histograms);
        if (!ns->histograms ||
            !(ns->histograms[0] = make_hist(ar, NULL, 0, 0, f->num_nan)) ||
            !(ns->histograms[1] = make_hist(ar, NULL, 0, 1, f->num_nan)))
            return CFX_ENOMEM;
        ns->n_histograms = 2;
        return 0;
    }
    ns->mean = f->mean;
    double var = f->m2 / (double)f->n;
    ns->std_dev = sqrt(var > 0 ? var : 0);
    ns->num_zeros = f->num_zeros;
    ns->min = f->min;
    ns->max = f->max;

    size_t nq = QUANTILES_FACTOR * nb;
    int rc = CFX_ENOMEM;
    double *bounds = malloc((nq + 1) * sizeof *bounds);
    double *cum = malloc((nq + 1) * sizeof *cum);
    cfx_hist_bucket_t hb[1000 + 2];
    double rb[1001], rc_cum[1001];
    if (!bounds || !cum)
        goto out;
    if ((rc = cfx_quantiles_query(&f->vals, nq, bounds, cum)) < 0)
        goto out;
    rc = CFX_ENOMEM;
    /* find_median over an odd number of boundaries: the middle one */
    ns->median = bounds[nq / 2];
    ns->histograms = cfx_arena_alloc(ar, 2 * sizeof *ns->histograms);
    if (!ns->histograms)
        goto out;
    int hrc = 0;
    size_t n = cfx_hist_standard(bounds, cum, nq + 1, f->fmin, f->fmax, nb,
                                 (double)f->pos_inf, hb, &hrc);
    if (hrc < 0)
        goto out;
    if (!(ns->histograms[0] = make_hist(ar, hb, n, 0, f->num_nan)))
        goto out;
    /* rebin: every QUANTILES_FACTOR-th boundary */
    for (size_t i = 0; i <= nb; i++) {
        rb[i] = bounds[i * QUANTILES_FACTOR];
        rc_cum[i] = cum[i * QUANTILES_FACTOR];
    }
    n = cfx_hist_quantiles(rb, rc_cum, nb + 1, hb);
    if (!(ns->histograms[1] = make_hist(ar, hb, n, 1, f->num_nan)))
        goto out;
    ns->n_histograms = 2;
    rc = 0;
out:
    free(bounds);
    free(cum);
    return rc;
}

static int cmp_feat(const void *a, const void *b) {
    const feat_t *x = *(const feat_t *const *)a, *y = *(const feat_t *const *)b;
    return strcmp(x->name, y->name);
}

int cfx_stats_acc_encode(const cfx_stats_acc_t *s, cfx_buf_t *out,
                         cfx_error_t *err) {
    int rc = CFX_ENOMEM;
    cfx_arena_t ar;
    cfx_arena_init(&ar);
    feat_t **sorted = malloc((s->nfeats ? s->nfeats : 1) * sizeof *sorted);
    Tensorflow__Metadata__V0__DatasetFeatureStatisticsList list =
        TENSORFLOW__METADATA__V0__DATASET_FEATURE_STATISTICS_LIST__INIT;
    Tensorflow__Metadata__V0__DatasetFeatureStatistics ds =
        TENSORFLOW__METADATA__V0__DATASET_FEATURE_STATISTICS__INIT;
    Tensorflow__Metadata__V0__DatasetFeatureStatistics *dsp = &ds;
    if (!sorted)
        goto out;
    if (s->nfeats) /* feats is NULL in a state with no features */
        memcpy(sorted, s->feats, s->nfeats * sizeof *sorted);
    qsort(sorted, s->nfeats, sizeof *sorted, cmp_feat);
    list.datasets = &dsp;
    list.n_datasets = 1;
    ds.num_examples = s->num_examples;
    ds.features =
        cfx_arena_alloc(&ar, (s->nfeats ? s->nfeats : 1) * sizeof *ds.features);
    if (!ds.features)
        goto out;
    for (size_t i = 0; i < s->nfeats; i++) {
        const feat_t *f = sorted[i];
        Tensorflow__Metadata__V0__FeatureNameStatistics *fs =
            NEW(&ar, Tensorflow__Metadata__V0__FeatureNameStatistics,
                TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__INIT);
        Tensorflow__Metadata__V0__Path *path =
            NEW(&ar, Tensorflow__Metadata__V0__Path,
                TENSORFLOW__METADATA__V0__PATH__INIT);
        Tensorflow__Metadata__V0__CommonStatistics *cs =
            NEW(&ar, Tensorflow__Metadata__V0__CommonStatistics,
                TENSORFLOW__METADATA__V0__COMMON_STATISTICS__INIT);
        char **steps = cfx_arena_alloc(&ar, sizeof *steps);
        if (!fs || !path || !cs || !steps)
            goto out;
        steps[0] = f->name;
        path->step = steps;
        path->n_step = 1;
        fs->field_id_case =
            TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__FIELD_ID_PATH;
        fs->path = path;

        cs->num_non_missing = f->num_non_missing;
        cs->num_missing = s->num_examples - f->num_non_missing;
        cs->tot_num_values = f->tot_nv;
        if (f->num_non_missing > 0) {
            cs->min_num_values = f->min_nv;
            cs->max_num_values = f->max_nv;
            cs->avg_num_values =
                (float)((double)f->tot_nv / (double)f->num_non_missing);
            if (!(cs->num_values_histogram = quantiles_hist(
                      &ar, &f->nv, s->o.num_histogram_buckets, 0)))
                goto out;
        }
        if (f->kind == CFX_KIND_INT64 || f->kind == CFX_KIND_FLOAT) {
            Tensorflow__Metadata__V0__NumericStatistics *ns =
                NEW(&ar, Tensorflow__Metadata__V0__NumericStatistics,
                    TENSORFLOW__METADATA__V0__NUMERIC_STATISTICS__INIT);
            if (!ns || numeric_stats(&ar, s, f, ns) < 0)
                goto out;
            ns->common_stats = cs;
            fs->type =
                f->kind == CFX_KIND_INT64
                    ? TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__INT
                    : TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__FLOAT;
            fs->stats_case =
                TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__STATS_NUM_STATS;
            fs->num_stats = ns;
        } else {
            /* bytes, or no value ever seen: TFDV reports STRING */
            Tensorflow__Metadata__V0__StringStatistics *ss =
                NEW(&ar, Tensorflow__Metadata__V0__StringStatistics,
                    TENSORFLOW__METADATA__V0__STRING_STATISTICS__INIT);
            if (!ss || string_stats(&ar, s, f, ss) < 0)
                goto out;
            ss->common_stats = cs;
            fs->type =
                TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__STRING;
            fs->stats_case =
                TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__STATS_STRING_STATS;
            fs->string_stats = ss;
            if (f->untracked) {
                /* past max_distinct_strings: say how much went uncounted */
                Tensorflow__Metadata__V0__CustomStatistic *cst =
                    NEW(&ar, Tensorflow__Metadata__V0__CustomStatistic,
                        TENSORFLOW__METADATA__V0__CUSTOM_STATISTIC__INIT);
                fs->custom_stats =
                    cfx_arena_alloc(&ar, sizeof *fs->custom_stats);
                if (!cst || !fs->custom_stats ||
                    !(cst->name =
                          cfx_arena_strndup(&ar, "untracked_values", 16)))
                    goto out;
                cst->val_case =
                    TENSORFLOW__METADATA__V0__CUSTOM_STATISTIC__VAL_NUM;
                cst->num = (double)f->untracked;
                fs->custom_stats[0] = cst;
                fs->n_custom_stats = 1;
            }
        }
        ds.features[i] = fs;
    }
    ds.n_features = s->nfeats;
    size_t size =
        tensorflow__metadata__v0__dataset_feature_statistics_list__get_packed_size(
            &list);
    if (cfx_buf_reserve(out, size) < 0)
        goto out;
    tensorflow__metadata__v0__dataset_feature_statistics_list__pack(
        &list, out->data + out->len);
    out->len += size;
    rc = 0;
out:
    if (rc < 0)
        cfx_error_set(err, rc, "statistics: out of memory building the proto");
    free(sorted);
    cfx_arena_free(&ar);
    return rc;
}

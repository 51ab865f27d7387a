/*
 * drift.c: L-infinity, normalized absolute difference and Jensen-Shannon
 * divergence between two features' statistics (see drift.h).
 *
 * The numeric JSD follows TFDV's metrics.cc step for step, including its
 * quirks, so a threshold tuned on TFDV means the same here: point buckets
 * (low == high) and buckets with an infinite bound are set aside; the finite
 * buckets of both histograms are re-bucketed onto the union of their
 * boundaries assuming a uniform spread inside each bucket; then one bucket
 * per distinct point value, one per side with infinite mass (the other side
 * 0) and, if either side has NaNs, two NaN buckets laid out crosswise
 * ([0, nan_a] against [nan_b, 0]) are appended.
 */
#include "data/drift.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Refuse absurd inputs instead of allocating for them. */
#define MAX_BUCKETS (1u << 20)

typedef struct {
    const char *value;
    double count;
} vc_t;

typedef struct {
    vc_t *v;
    size_t n;
    double total;
} counts_t;

static int vc_cmp(const void *x, const void *y) {
    return strcmp(((const vc_t *)x)->value, ((const vc_t *)y)->value);
}

/* Sorted by value, duplicates summed. */
static int counts_build(counts_t *c, const char *const *values,
                        const double *counts, size_t n) {
    memset(c, 0, sizeof *c);
    if (n == 0)
        return 0;
    if (n > MAX_BUCKETS)
        return CFX_ETOOBIG;
    c->v = malloc(n * sizeof *c->v);
    if (!c->v)
        return CFX_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        c->v[i].value = values[i] ? values[i] : "";
        c->v[i].count = counts[i];
    }
    qsort(c->v, n, sizeof *c->v, vc_cmp);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && !strcmp(c->v[w - 1].value, c->v[i].value))
            c->v[w - 1].count += c->v[i].count;
        else
            c->v[w++] = c->v[i];
    }
    c->n = w;
    for (size_t i = 0; i < w; i++)
        c->total += c->v[i].count;
    return 0;
}

static int counts_from_feature(counts_t *c, const cfx_drift_feature_t *f) {
    memset(c, 0, sizeof *c);
    if (!f ||
        f->stats_case !=
            TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__STATS_STRING_STATS ||
        !f->string_stats)
        return 0;
    const Tensorflow__Metadata__V0__StringStatistics *s = f->string_stats;
    size_t n = 0;
    int rc = 0;
    const char **values = NULL;
    double *counts = NULL;
    if (s->rank_histogram && s->rank_histogram->n_buckets > 0) {
        n = s->rank_histogram->n_buckets;
        if (n > MAX_BUCKETS)
            return CFX_ETOOBIG;
        values = malloc(n * sizeof *values);
        counts = malloc(n * sizeof *counts);
        if (!values || !counts) {
            rc = CFX_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            values[i] = s->rank_histogram->buckets[i]->label;
            counts[i] = s->rank_histogram->buckets[i]->sample_count;
        }
    } else if (s->n_top_values > 0) {
        n = s->n_top_values;
        if (n > MAX_BUCKETS)
            return CFX_ETOOBIG;
        values = malloc(n * sizeof *values);
        counts = malloc(n * sizeof *counts);
        if (!values || !counts) {
            rc = CFX_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            values[i] = s->top_values[i]->value;
            counts[i] = s->top_values[i]->frequency;
        }
    }
    rc = counts_build(c, values, counts, n);
out:
    free(values);
    free(counts);
    return rc;
}

static void counts_free(counts_t *c) {
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* Walks the union of values in byte order; scale_a/scale_b divide counts.
 * Ties keep the later value (TFDV compares with >=). */
static void max_difference(const counts_t *a, const counts_t *b, double scale_a,
                           double scale_b, double *out,
                           const char **max_value) {
    size_t i = 0, j = 0;
    double best = 0;
    const char *best_value = "";
    while (i < a->n || j < b->n) {
        int cmp;
        if (i >= a->n)
            cmp = 1;
        else if (j >= b->n)
            cmp = -1;
        else
            cmp = strcmp(a->v[i].value, b->v[j].value);
        double ca = 0, cb = 0;
        const char *value;
        if (cmp <= 0) {
            ca = a->v[i].count;
            value = a->v[i].value;
        }
        if (cmp >= 0) {
            cb = b->v[j].count;
            value = b->v[j].value;
        }
        if (cmp <= 0)
            i++;
        if (cmp >= 0)
            j++;
        double pa = scale_a > 0 ? ca / scale_a : 0;
        double pb = scale_b > 0 ? cb / scale_b : 0;
        double d = fabs(pa - pb);
        if (d >= best) {
            best = d;
            best_value = value;
        }
    }
    *out = best;
    if (max_value)
        *max_value = best_value;
}

int cfx_drift_linf(const cfx_drift_feature_t *a, const cfx_drift_feature_t *b,
                   double *out, const char **max_value, cfx_error_t *err) {
    counts_t ca, cb;
    int rc = counts_from_feature(&ca, a);
    if (rc < 0)
        return cfx_error_set(err, rc, "L-infinity: reading value counts");
    rc = counts_from_feature(&cb, b);
    if (rc < 0) {
        counts_free(&ca);
        return cfx_error_set(err, rc, "L-infinity: reading value counts");
    }
    max_difference(&ca, &cb, ca.total, cb.total, out, max_value);
    counts_free(&ca);
    counts_free(&cb);
    return 0;
}

int cfx_drift_normalized_abs_difference(const cfx_drift_feature_t *a,
                                        const cfx_drift_feature_t *b,
                                        double *out, const char **max_value,
                                        cfx_error_t *err) {
    counts_t ca, cb;
    int rc = counts_from_feature(&ca, a);
    if (rc < 0)
        return cfx_error_set(err, rc,
                             "normalized abs difference: reading value counts");
    rc = counts_from_feature(&cb, b);
    if (rc < 0) {
        counts_free(&ca);
        return cfx_error_set(err, rc,
                             "normalized abs difference: reading value counts");
    }
    double scale = ca.total + cb.total;
    max_difference(&ca, &cb, scale, scale, out, max_value);
    counts_free(&ca);
    counts_free(&cb);
    return 0;
}

static int jsd_of_counts(const counts_t *a, const counts_t *b, double *out,
                         cfx_error_t *err) {
    if (a->n == 0 || b->n == 0)
        return cfx_error_set(err, CFX_EINVAL,
                             "Jensen-Shannon divergence: a side has no values");
    for (size_t i = 0; i < a->n; i++)
        if (!(a->v[i].count > 0))
            return cfx_error_set(err, CFX_EINVAL,
                                 "Jensen-Shannon divergence: value '%s' has a "
                                 "non-positive count",
                                 a->v[i].value);
    for (size_t j = 0; j < b->n; j++)
        if (!(b->v[j].count > 0))
            return cfx_error_set(err, CFX_EINVAL,
                                 "Jensen-Shannon divergence: value '%s' has a "
                                 "non-positive count",
                                 b->v[j].value);
    size_t i = 0, j = 0;
    double kl = 0;
    while (i < a->n || j < b->n) {
        int cmp;
        if (i >= a->n)
            cmp = 1;
        else if (j >= b->n)
            cmp = -1;
        else
            cmp = strcmp(a->v[i].value, b->v[j].value);
        double pa = 0, pb = 0;
        if (cmp <= 0)
            pa = a->v[i++].count / a->total;
        if (cmp >= 0)
            pb = b->v[j++].count / b->total;
        double m = (pa + pb) / 2;
        if (pa > 0)
            kl += pa * log2(pa / m);
        if (pb > 0)
            kl += pb * log2(pb / m);
    }
    *out = fmin(kl / 2, 1.0);
    return 0;
}

int cfx_drift_jsd_counts(const char *const *values_a, const double *counts_a,
                         size_t n_a, const char *const *values_b,
                         const double *counts_b, size_t n_b, double *out,
                         cfx_error_t *err) {
    counts_t ca, cb;
    int rc = counts_build(&ca, values_a, counts_a, n_a);
    if (rc < 0)
        return cfx_error_set(err, rc, "Jensen-Shannon divergence");
    rc = counts_build(&cb, values_b, counts_b, n_b);
    if (rc < 0) {
        counts_free(&ca);
        return cfx_error_set(err, rc, "Jensen-Shannon divergence");
    }
    rc = jsd_of_counts(&ca, &cb, out, err);
    counts_free(&ca);
    counts_free(&cb);
    return rc;
}

/* --- numeric histograms ----------------------------------------------------
 */

typedef struct {
    double lo, hi, c;
} bkt_t;

typedef struct {
    bkt_t *b;
    size_t n, cap;
} hist_t;

static int hist_push(hist_t *h, double lo, double hi, double c) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        if (cap > 4 * (size_t)MAX_BUCKETS)
            return CFX_ETOOBIG;
        bkt_t *nb = realloc(h->b, cap * sizeof *nb);
        if (!nb)
            return CFX_ENOMEM;
        h->b = nb;
        h->cap = cap;
    }
    h->b[h->n++] = (bkt_t){lo, hi, c};
    return 0;
}

static int dbl_cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Sorted distinct values of v (n in, returns distinct count). */
static size_t sort_unique(double *v, size_t n) {
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, dbl_cmp);
    size_t w = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[w - 1])
            v[w++] = v[i];
    return w;
}

typedef struct {
    hist_t finite;
    bkt_t *points; /* lo = value, c = mass; sorted, distinct after merge */
    size_t n_points;
    double inf_mass;
    double num_nan;
} stripped_t;

static void stripped_free(stripped_t *s) {
    free(s->finite.b);
    free(s->points);
    memset(s, 0, sizeof *s);
}

static int bkt_lo_cmp(const void *x, const void *y) {
    return dbl_cmp(&((const bkt_t *)x)->lo, &((const bkt_t *)y)->lo);
}

static int strip(const cfx_drift_histogram_t *h, stripped_t *s) {
    memset(s, 0, sizeof *s);
    if (h->n_buckets > MAX_BUCKETS)
        return CFX_ETOOBIG;
    s->num_nan = (double)h->num_nan;
    if (h->n_buckets) {
        s->points = malloc(h->n_buckets * sizeof *s->points);
        if (!s->points)
            return CFX_ENOMEM;
    }
    for (size_t i = 0; i < h->n_buckets; i++) {
        const Tensorflow__Metadata__V0__Histogram__Bucket *b = h->buckets[i];
        if (!isfinite(b->low_value) || !isfinite(b->high_value)) {
            s->inf_mass += b->sample_count;
        } else if (b->low_value == b->high_value) {
            s->points[s->n_points++] =
                (bkt_t){b->low_value, b->low_value, b->sample_count};
        } else {
            int rc = hist_push(&s->finite, b->low_value, b->high_value,
                               b->sample_count);
            if (rc < 0)
                return rc;
        }
    }
    if (s->n_points > 1) {
        qsort(s->points, s->n_points, sizeof *s->points, bkt_lo_cmp);
        size_t w = 1;
        for (size_t i = 1; i < s->n_points; i++) {
            if (s->points[i].lo == s->points[w - 1].lo)
                s->points[w - 1].c += s->points[i].c;
            else
                s->points[w++] = s->points[i];
        }
        s->n_points = w;
    }
    return 0;
}

static int boundaries(const hist_t *h, double **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (h->n == 0)
        return 0;
    double *v = malloc(2 * h->n * sizeof *v);
    if (!v)
        return CFX_ENOMEM;
    for (size_t i = 0; i < h->n; i++) {
        v[2 * i] = h->b[i].lo;
        v[2 * i + 1] = h->b[i].hi;
    }
    *n = sort_unique(v, 2 * h->n);
    *out = v;
    return 0;
}

/* TFDV's RebucketHistogram: buckets must be ascending and disjoint; each
 * one's mass is spread over the boundaries it covers by width. */
static int rebucket(const double *u, size_t nu, hist_t *h) {
    hist_t r = {0};
    int rc = 0;
    size_t maxi = nu - 1, idx = 0;
    for (size_t k = 0; k < h->n; k++) {
        double lo = h->b[k].lo, hi = h->b[k].hi, c = h->b[k].c;
        while (lo > u[idx]) {
            if (idx + 1 > maxi) {
                rc = CFX_EINVAL;
                goto out;
            }
            if ((rc = hist_push(&r, u[idx], u[idx + 1], 0)) < 0)
                goto out;
            idx++;
        }
        size_t first = idx;
        while (hi > u[idx]) {
            if (idx + 1 > maxi) {
                rc = CFX_EINVAL;
                goto out;
            }
            idx++;
        }
        /* covered boundaries: u[first..idx] */
        for (size_t i = first; i < idx; i++)
            if ((rc = hist_push(&r, u[i], u[i + 1],
                                (u[i + 1] - u[i]) / (hi - lo) * c)) < 0)
                goto out;
    }
    for (size_t i = idx; i < maxi; i++)
        if ((rc = hist_push(&r, u[i], u[i + 1], 0)) < 0)
            goto out;
    free(h->b);
    *h = r;
    return 0;
out:
    free(r.b);
    return rc;
}

static int align(stripped_t *a, stripped_t *b) {
    double *ba = NULL, *bb = NULL, *u = NULL;
    size_t na, nb;
    int rc;
    if ((rc = boundaries(&a->finite, &ba, &na)) < 0)
        goto out;
    if ((rc = boundaries(&b->finite, &bb, &nb)) < 0)
        goto out;
    int same = na == nb && (na == 0 || !memcmp(ba, bb, na * sizeof *ba)) &&
               a->finite.n == b->finite.n;
    if (!same) {
        u = malloc((na + nb) * sizeof *u);
        if (!u) {
            rc = CFX_ENOMEM;
            goto out;
        }
        if (na)
            memcpy(u, ba, na * sizeof *u);
        if (nb)
            memcpy(u + na, bb, nb * sizeof *u);
        size_t nu = sort_unique(u, na + nb);
        if ((rc = rebucket(u, nu, &a->finite)) < 0)
            goto out;
        if ((rc = rebucket(u, nu, &b->finite)) < 0)
            goto out;
    }
    /* Point masses over the union of point values, in ascending order. */
    size_t i = 0, j = 0;
    while (i < a->n_points || j < b->n_points) {
        int cmp;
        if (i >= a->n_points)
            cmp = 1;
        else if (j >= b->n_points)
            cmp = -1;
        else
            cmp = dbl_cmp(&a->points[i].lo, &b->points[j].lo);
        double ca = cmp <= 0 ? a->points[i++].c : 0;
        double cb = cmp >= 0 ? b->points[j++].c : 0;
        if ((rc = hist_push(&a->finite, 0, 0, ca)) < 0)
            goto out;
        if ((rc = hist_push(&b->finite, 0, 0, cb)) < 0)
            goto out;
    }
    if (a->inf_mass != 0) {
        if ((rc = hist_push(&a->finite, 0, 0, a->inf_mass)) < 0)
            goto out;
        if ((rc = hist_push(&b->finite, 0, 0, 0)) < 0)
            goto out;
    }
    if (b->inf_mass != 0) {
        if ((rc = hist_push(&a->finite, 0, 0, 0)) < 0)
            goto out;
        if ((rc = hist_push(&b->finite, 0, 0, b->inf_mass)) < 0)
            goto out;
    }
    if (a->num_nan > 0 || b->num_nan > 0) {
        /* Crosswise, as TFDV lays them out. */
        if ((rc = hist_push(&a->finite, 0, 0, 0)) < 0)
            goto out;
        if ((rc = hist_push(&a->finite, 0, 0, a->num_nan)) < 0)
            goto out;
        if ((rc = hist_push(&b->finite, 0, 0, b->num_nan)) < 0)
            goto out;
        if ((rc = hist_push(&b->finite, 0, 0, 0)) < 0)
            goto out;
    }
    rc = a->finite.n == b->finite.n ? 0 : CFX_EINTERNAL;
out:
    free(ba);
    free(bb);
    free(u);
    return rc;
}

int cfx_drift_jsd_histograms(const cfx_drift_histogram_t *a,
                             const cfx_drift_histogram_t *b, double *out,
                             cfx_error_t *err) {
    stripped_t sa, sb;
    int rc = strip(a, &sa);
    if (rc == 0)
        rc = strip(b, &sb);
    else
        memset(&sb, 0, sizeof sb);
    if (rc < 0) {
        cfx_error_set(err, rc, "Jensen-Shannon divergence: reading histograms");
        goto out;
    }
    if (a->type != b->type) {
        rc = cfx_error_set(
            err, CFX_EINVAL,
            "Jensen-Shannon divergence: histograms of different types");
        goto out;
    }
    if ((rc = align(&sa, &sb)) < 0) {
        cfx_error_set(err, rc,
                      "Jensen-Shannon divergence: histogram buckets are not "
                      "ascending and disjoint");
        goto out;
    }
    double ta = 0, tb = 0;
    for (size_t i = 0; i < sa.finite.n; i++) {
        ta += sa.finite.b[i].c;
        tb += sb.finite.b[i].c;
    }
    if (!(ta > 0) || !(tb > 0)) {
        rc = cfx_error_set(err, CFX_EINVAL,
                           "Jensen-Shannon divergence: unable to normalize an "
                           "empty histogram");
        goto out;
    }
    double kl = 0;
    for (size_t i = 0; i < sa.finite.n; i++) {
        double p = sa.finite.b[i].c / ta, q = sb.finite.b[i].c / tb;
        double m = (p + q) / 2;
        if (p > 0 && m > 0)
            kl += p * log2(p / m);
        if (q > 0 && m > 0)
            kl += q * log2(q / m);
    }
    *out = fmin(kl / 2, 1.0);
    rc = 0;
out:
    stripped_free(&sa);
    stripped_free(&sb);
    return rc;
}

static const cfx_drift_histogram_t *find_histogram(const cfx_drift_feature_t *f,
                                                   int type) {
    if (!f ||
        f->stats_case !=
            TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__STATS_NUM_STATS ||
        !f->num_stats)
        return NULL;
    for (size_t i = 0; i < f->num_stats->n_histograms; i++)
        if ((int)f->num_stats->histograms[i]->type == type)
            return f->num_stats->histograms[i];
    return NULL;
}

int cfx_drift_jsd(const cfx_drift_feature_t *a, const cfx_drift_feature_t *b,
                  int histogram_type, double *out, cfx_error_t *err) {
    counts_t ca, cb;
    int rc = counts_from_feature(&ca, a);
    if (rc < 0)
        return cfx_error_set(err, rc, "Jensen-Shannon divergence");
    rc = counts_from_feature(&cb, b);
    if (rc < 0) {
        counts_free(&ca);
        return cfx_error_set(err, rc, "Jensen-Shannon divergence");
    }
    if (ca.n && cb.n) {
        rc = jsd_of_counts(&ca, &cb, out, err);
        goto out;
    }
    const cfx_drift_histogram_t *ha = find_histogram(a, histogram_type);
    const cfx_drift_histogram_t *hb = find_histogram(b, histogram_type);
    if (ha && hb) {
        rc = cfx_drift_jsd_histograms(ha, hb, out, err);
        goto out;
    }
    if ((ca.n == 0) != (cb.n == 0) && (!ha) != (!hb))
        rc = cfx_error_set(
            err, CFX_EINVAL,
            "Jensen-Shannon divergence: both sides must be numeric "
            "or both string");
    else
        rc = cfx_error_set(err, CFX_EINVAL,
                           "Jensen-Shannon divergence: a side has no values or "
                           "no histogram");
out:
    counts_free(&ca);
    counts_free(&cb);
    return rc;
}

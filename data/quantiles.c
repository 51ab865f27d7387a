/*
 * quantiles.c: exact distinct-value table, folding into a KLL sketch past
 * the budget (see quantiles.h).
 *
 * KLL here: levels h = 0..H-1 hold items of weight 2^h; level h may hold
 * cap(h) = max(2, k * (2/3)^(H-1-h)) items. When the sketch holds more than
 * the sum of the capacities, the lowest full level is sorted and halved: a
 * coin (xorshift, fixed seed) picks the odd or even positions, which move
 * up one level with twice the weight; an odd item out stays. Total weight
 * is preserved exactly. A weighted add of (v, w) puts v on the level of
 * each set bit of w, which is the same as adding w copies and compacting
 * without error.
 */
#include "data/quantiles.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/le.h"

#define KLL_MAX_LEVELS 64

struct cfx_kll {
    size_t k;
    size_t nlevels;
    double *items[KLL_MAX_LEVELS];
    size_t len[KLL_MAX_LEVELS], cap[KLL_MAX_LEVELS];
    size_t size; /* items over all levels */
    /* level capacities, recomputed when the number of levels changes */
    size_t level_cap[KLL_MAX_LEVELS], capsum, caps_for;
    uint64_t rng;
};

/* ---- KLL ------------------------------------------------------------------
 */

/* Sorts doubles ascending (no NaNs): quicksort with median-of-three and
 * insertion sort for short ranges; recursion on the smaller side keeps
 * the stack at O(log n). Inlined compares: qsort's callback dominated. */
static void sort_doubles(double *a, size_t n) {
    while (n > 16) {
        size_t mid = n / 2;
        double x = a[0], y = a[mid], z = a[n - 1];
        double pivot = x < y ? (y < z ? y : (x < z ? z : x))
                             : (x < z ? x : (y < z ? z : y));
        size_t i = 0, j = n - 1;
        for (;;) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            double t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* [0, j] <= pivot <= [j + 1, n) */
        size_t left = j + 1;
        if (left < n - left) {
            sort_doubles(a, left);
            a += left;
            n -= left;
        } else {
            sort_doubles(a + left, n - left);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        double v = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

static cfx_kll_t *kll_new(size_t k) {
    cfx_kll_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->k = k;
    s->nlevels = 1;
    s->rng = 0x9e3779b97f4a7c15ull;
    return s;
}

static void kll_free(cfx_kll_t *s) {
    if (!s)
        return;
    for (size_t h = 0; h < KLL_MAX_LEVELS; h++)
        free(s->items[h]);
    free(s);
}

static void kll_caps(cfx_kll_t *s) {
    if (s->caps_for == s->nlevels)
        return;
    s->capsum = 0;
    for (size_t h = 0; h < s->nlevels; h++) {
        double c = (double)s->k * pow(2.0 / 3.0, (double)(s->nlevels - 1 - h));
        size_t ci = (size_t)ceil(c);
        /* level 0 is a buffer of at least 256: fewer, larger sorts;
         * more room only lowers the error */
        size_t lo = h == 0 ? 256 : 2;
        s->level_cap[h] = ci < lo ? lo : ci;
        s->capsum += s->level_cap[h];
    }
    s->caps_for = s->nlevels;
}

static int kll_reserve(cfx_kll_t *s, size_t h, size_t extra) {
    if (s->len[h] + extra <= s->cap[h])
        return 0;
    size_t cap = s->cap[h] ? s->cap[h] : 16;
    while (cap < s->len[h] + extra)
        cap *= 2;
    double *p = realloc(s->items[h], cap * sizeof *p);
    if (!p)
        return CFX_ENOMEM;
    s->items[h] = p;
    s->cap[h] = cap;
    return 0;
}

/* Level 0 is an unsorted buffer; levels >= 1 are kept sorted, so a
 * compaction above level 0 needs no sort, only a linear merge. */
static int kll_insert(cfx_kll_t *s, size_t h, double v) {
    int rc = kll_reserve(s, h, 1);
    if (rc < 0)
        return rc;
    double *it = s->items[h];
    size_t n = s->len[h], pos = n;
    if (h > 0) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (it[mid] <= v)
                lo = mid + 1;
            else
                hi = mid;
        }
        pos = lo;
        memmove(it + pos + 1, it + pos, (n - pos) * sizeof *it);
    }
    it[pos] = v;
    s->len[h]++;
    s->size++;
    if (h + 1 > s->nlevels)
        s->nlevels = h + 1;
    return 0;
}

/* Merges the sorted run[0..n) into sorted level h (h >= 1). */
static int kll_merge_run(cfx_kll_t *s, size_t h, const double *run, size_t n) {
    if (n == 0)
        return 0;
    int rc = kll_reserve(s, h, n);
    if (rc < 0)
        return rc;
    double *it = s->items[h];
    size_t i = s->len[h], j = n, k = s->len[h] + n;
    while (j > 0) { /* from the back, in place */
        if (i > 0 && it[i - 1] > run[j - 1])
            it[--k] = it[--i];
        else
            it[--k] = run[--j];
    }
    s->len[h] += n;
    s->size += n;
    if (h + 1 > s->nlevels)
        s->nlevels = h + 1;
    return 0;
}

static uint64_t kll_coin(cfx_kll_t *s) {
    uint64_t x = s->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    return x >> 63;
}

static int kll_compress(cfx_kll_t *s) {
    for (;;) {
        kll_caps(s);
        if (s->size <= s->capsum)
            return 0;
        size_t h = 0;
        while (h < s->nlevels && s->len[h] < s->level_cap[h])
            h++;
        if (h == s->nlevels)
            return 0;
        if (h + 1 >= KLL_MAX_LEVELS)
            return CFX_ETOOBIG;
        double *it = s->items[h];
        size_t n = s->len[h];
        if (h == 0)
            sort_doubles(it, n);
        size_t keep = n & 1; /* the odd item out, it[0], stays */
        size_t off = (size_t)kll_coin(s);
        /* every other item, still sorted, packed at the end of it[] */
        size_t m = 0;
        for (size_t i = keep + off; i < n; i += 2)
            it[keep + m++] = it[i];
        s->len[h] = keep;
        s->size -= n - keep;
        int rc = kll_merge_run(s, h + 1, s->items[h] + keep, m);
        if (rc < 0)
            return rc;
    }
}

static int kll_add(cfx_kll_t *s, double v, uint64_t w) {
    for (size_t h = 0; w; h++, w >>= 1) {
        if (!(w & 1))
            continue;
        if (h >= KLL_MAX_LEVELS)
            return CFX_ETOOBIG;
        int rc = kll_insert(s, h, v);
        if (rc < 0)
            return rc;
    }
    return kll_compress(s);
}

static int kll_merge(cfx_kll_t *dst, const cfx_kll_t *src) {
    for (size_t h = 0; h < src->nlevels; h++) {
        int rc;
        if (h == 0) {
            rc = kll_reserve(dst, 0, src->len[0]);
            if (rc < 0)
                return rc;
            memcpy(dst->items[0] + dst->len[0], src->items[0],
                   src->len[0] * sizeof(double));
            dst->len[0] += src->len[0];
            dst->size += src->len[0];
        } else if ((rc = kll_merge_run(dst, h, src->items[h], src->len[h])) <
                   0) {
            return rc;
        }
    }
    return kll_compress(dst);
}

/* ---- exact table ------------------------------------------------------------
 */

static inline uint64_t hash_double(double v) {
    uint64_t x;
    memcpy(&x, &v, sizeof x);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static int table_grow(cfx_quantiles_t *q) {
    size_t cap = q->cap ? q->cap * 2 : 64;
    cfx_quantiles_entry_t *s = calloc(cap, sizeof *s);
    if (!s)
        return CFX_ENOMEM;
    for (size_t i = 0; i < q->cap; i++) {
        if (!q->slots[i].count)
            continue;
        size_t j = hash_double(q->slots[i].value) & (cap - 1);
        while (s[j].count)
            j = (j + 1) & (cap - 1);
        s[j] = q->slots[i];
    }
    free(q->slots);
    q->slots = s;
    q->cap = cap;
    return 0;
}

/* Moves the table into a new KLL sketch. */
static int to_sketch(cfx_quantiles_t *q) {
    cfx_kll_t *s = kll_new(CFX_QUANTILES_KLL_K);
    if (!s)
        return CFX_ENOMEM;
    for (size_t i = 0; i < q->cap; i++) {
        if (!q->slots[i].count)
            continue;
        int rc = kll_add(s, q->slots[i].value, q->slots[i].count);
        if (rc < 0) {
            kll_free(s);
            return rc;
        }
    }
    free(q->slots);
    q->slots = NULL;
    q->cap = q->used = 0;
    q->kll = s;
    return 0;
}

void cfx_quantiles_init(cfx_quantiles_t *q, size_t budget) {
    memset(q, 0, sizeof *q);
    q->budget = budget ? budget : CFX_QUANTILES_DEFAULT_BUDGET;
}

void cfx_quantiles_free(cfx_quantiles_t *q) {
    free(q->slots);
    kll_free(q->kll);
    memset(q, 0, sizeof *q);
}

int cfx_quantiles_add(cfx_quantiles_t *q, double v, uint64_t count) {
    if (count == 0)
        return 0;
    if (v == 0)
        v = 0.0; /* -0.0 and 0.0 are one value */
    if (q->total == 0) {
        q->min = q->max = v;
    } else {
        if (v < q->min)
            q->min = v;
        if (v > q->max)
            q->max = v;
    }
    q->total += count;
    if (q->kll)
        return kll_add(q->kll, v, count);
    if (q->cap == 0 && table_grow(q) < 0)
        return CFX_ENOMEM;
    size_t j = hash_double(v) & (q->cap - 1);
    while (q->slots[j].count) {
        if (q->slots[j].value == v) {
            q->slots[j].count += count;
            return 0;
        }
        j = (j + 1) & (q->cap - 1);
    }
    if (q->used + 1 > q->budget) {
        int rc = to_sketch(q);
        if (rc < 0)
            return rc;
        return kll_add(q->kll, v, count);
    }
    q->slots[j].value = v;
    q->slots[j].count = count;
    q->used++;
    if (q->used * 2 > q->cap)
        return table_grow(q);
    return 0;
}

int cfx_quantiles_merge(cfx_quantiles_t *dst, const cfx_quantiles_t *src) {
    int rc = 0;
    if (src->total == 0)
        return 0;
    double mn = src->min, mx = src->max;
    if (src->kll) {
        if (!dst->kll && (rc = to_sketch(dst)) < 0)
            return rc;
        if ((rc = kll_merge(dst->kll, src->kll)) < 0)
            return rc;
        if (dst->total == 0 || mn < dst->min)
            dst->min = mn;
        if (dst->total == 0 || mx > dst->max)
            dst->max = mx;
        dst->total += src->total;
        return 0;
    }
    for (size_t i = 0; i < src->cap; i++)
        if (src->slots[i].count &&
            (rc = cfx_quantiles_add(dst, src->slots[i].value,
                                    src->slots[i].count)) < 0)
            return rc;
    return 0;
}

static int cmp_entry(const void *a, const void *b) {
    double x = ((const cfx_quantiles_entry_t *)a)->value;
    double y = ((const cfx_quantiles_entry_t *)b)->value;
    return (x > y) - (x < y);
}

int cfx_quantiles_query(const cfx_quantiles_t *q, size_t num, double *bounds,
                        double *cum) {
    cfx_quantiles_entry_t *e = NULL;
    size_t n = 0;
    uint64_t total = 0;
    if (q->total == 0 || num == 0)
        return CFX_EINVAL;
    if (!q->kll) {
        e = malloc(q->used * sizeof *e);
        if (!e)
            return CFX_ENOMEM;
        for (size_t i = 0; i < q->cap; i++)
            if (q->slots[i].count)
                e[n++] = q->slots[i];
    } else {
        const cfx_kll_t *s = q->kll;
        size_t items = 0;
        for (size_t h = 0; h < s->nlevels; h++)
            items += s->len[h];
        e = malloc((items ? items : 1) * sizeof *e);
        if (!e)
            return CFX_ENOMEM;
        for (size_t h = 0; h < s->nlevels; h++)
            for (size_t i = 0; i < s->len[h]; i++) {
                e[n].value = s->items[h][i];
                e[n].count = (uint64_t)1 << h;
                n++;
            }
    }
    qsort(e, n, sizeof *e, cmp_entry);
    for (size_t i = 0; i < n; i++)
        total += e[i].count;
    /* walk the sorted entries once: position p = floor(i * total / num) */
    size_t j = 0;
    uint64_t end = n ? e[0].count : 0; /* exclusive end rank of entry j */
    for (size_t i = 0; i <= num; i++) {
        unsigned __int128 pp = (unsigned __int128)i * total / num;
        uint64_t p = (uint64_t)pp;
        if (p >= total)
            p = total - 1;
        while (j + 1 < n && p >= end) {
            j++;
            end += e[j].count;
        }
        bounds[i] = e[j].value;
        cum[i] = (double)i * (double)q->total / (double)num;
    }
    /* the ends are exact in both regimes */
    bounds[0] = q->min;
    bounds[num] = q->max;
    free(e);
    return 0;
}

/* ---- state -----------------------------------------------------------------
 */

#define STATE_MAX_ITEMS (1u << 26)

int cfx_quantiles_save(const cfx_quantiles_t *q, cfx_buf_t *out) {
    int rc = 0;
    rc |= cfx_le_append_u64(out, q->total);
    rc |= cfx_le_append_f64(out, q->min);
    rc |= cfx_le_append_f64(out, q->max);
    rc |= cfx_le_append_u64(out, q->kll ? 1 : 0);
    if (!q->kll) {
        rc |= cfx_le_append_u64(out, q->used);
        for (size_t i = 0; i < q->cap; i++)
            if (q->slots[i].count) {
                rc |= cfx_le_append_f64(out, q->slots[i].value);
                rc |= cfx_le_append_u64(out, q->slots[i].count);
            }
    } else {
        const cfx_kll_t *k = q->kll;
        rc |= cfx_le_append_u64(out, k->k);
        rc |= cfx_le_append_u64(out, k->rng);
        rc |= cfx_le_append_u64(out, k->nlevels);
        for (size_t h = 0; h < k->nlevels; h++) {
            rc |= cfx_le_append_u64(out, k->len[h]);
            for (size_t i = 0; i < k->len[h]; i++)
                rc |= cfx_le_append_f64(out, k->items[h][i]);
        }
    }
    return rc ? CFX_ENOMEM : 0;
}

int cfx_quantiles_load(cfx_quantiles_t *q, const uint8_t *p, size_t n,
                       size_t *used) {
    int rc = 0;
    cfx_le_reader_t r;
    cfx_le_reader_init(&r, p, n);
    size_t budget = q->budget;
    cfx_quantiles_free(q);
    cfx_quantiles_init(q, budget);
    uint64_t total = cfx_le_read_u64(&r);
    double mn = cfx_le_read_f64(&r), mx = cfx_le_read_f64(&r);
    uint64_t mode = cfx_le_read_u64(&r);
    if (r.bad || mode > 1 || isnan(mn) || isnan(mx))
        return CFX_ECORRUPT;
    if (mode == 0) {
        uint64_t m = cfx_le_read_u64(&r), sum = 0;
        if (r.bad || m > STATE_MAX_ITEMS)
            return CFX_ECORRUPT;
        for (uint64_t i = 0; i < m; i++) {
            double v = cfx_le_read_f64(&r);
            uint64_t c = cfx_le_read_u64(&r);
            if (r.bad || isnan(v) || c == 0 || v < mn || v > mx ||
                sum + c < sum)
                return CFX_ECORRUPT;
            sum += c;
            if ((rc = cfx_quantiles_add(q, v, c)) < 0)
                return rc;
        }
        if (sum != total)
            return CFX_ECORRUPT;
    } else {
        uint64_t k = cfx_le_read_u64(&r), rng = cfx_le_read_u64(&r),
                 nl = cfx_le_read_u64(&r);
        if (r.bad || k < 8 || k > 65536 || nl == 0 || nl >= KLL_MAX_LEVELS ||
            rng == 0)
            return CFX_ECORRUPT;
        cfx_kll_t *s = kll_new((size_t)k);
        if (!s)
            return CFX_ENOMEM;
        q->kll = s;
        s->rng = rng;
        unsigned __int128 weight = 0;
        for (size_t h = 0; h < nl; h++) {
            uint64_t len = cfx_le_read_u64(&r);
            if (r.bad || len > STATE_MAX_ITEMS || len > (r.n - r.off) / 8)
                return CFX_ECORRUPT;
            if ((rc = kll_reserve(s, h, (size_t)len)) < 0)
                return rc;
            for (uint64_t i = 0; i < len; i++) {
                double v = cfx_le_read_f64(&r);
                if (isnan(v) || v < mn || v > mx ||
                    (h > 0 && i > 0 && v < s->items[h][i - 1]))
                    return CFX_ECORRUPT; /* levels >= 1 must be sorted */
                s->items[h][i] = v;
            }
            s->len[h] = (size_t)len;
            s->size += (size_t)len;
            weight += (unsigned __int128)len << h;
        }
        s->nlevels = (size_t)nl;
        if (weight != total)
            return CFX_ECORRUPT;
        q->total = total;
        q->min = mn;
        q->max = mx;
        if ((rc = kll_compress(s)) < 0)
            return rc;
    }
    if (total && (q->min != mn || q->max != mx))
        return CFX_ECORRUPT;
    *used = r.off;
    return 0;
}

/* ---- histograms ------------------------------------------------------------
 */

size_t cfx_hist_quantiles(const double *bounds, const double *cum, size_t n,
                          cfx_hist_bucket_t *out) {
    if (n < 2)
        return 0;
    size_t nb = n - 1;
    for (size_t i = 0; i < nb; i++) {
        out[i].low = bounds[i];
        out[i].high = bounds[i + 1];
        out[i].count = cum[i + 1] - cum[i];
    }
    /* runs of bins with one upper bound share their weight evenly */
    size_t i = 0;
    while (i < nb) {
        size_t j = i + 1;
        while (j < nb && out[j].high == out[i].high)
            j++;
        if (j > i + 1) {
            double sum = 0;
            for (size_t k = i; k < j; k++)
                sum += out[k].count;
            for (size_t k = i; k < j; k++)
                out[k].count = sum / (double)(j - i);
        }
        i = j;
    }
    /* the weight at the first boundary goes to the bins identical to the
     * first one */
    size_t m = 0;
    while (m < nb && out[m].low == out[0].low && out[m].high == out[0].high)
        m++;
    if (m > 0)
        for (size_t k = 0; k < m; k++)
            out[k].count += cum[0] / (double)m;
    return nb;
}

/* Fraction of bin b inside [lo, hi]; *precedes / *follows when b lies
 * wholly before / after it. A point bin (a run of equal values) on an edge
 * belongs to the bucket it opens: buckets are [lo, hi), the last one
 * [lo, hi], as in the histograms TFX writes (docs/statistics.md). */
static double overlap(const cfx_hist_bucket_t *b, double lo, double hi,
                      int last, int *precedes, int *follows) {
    *precedes = *follows = 0;
    if (b->high == b->low) {
        if (b->low == lo)
            return 1.0;
        if (b->low == hi && !last)
            return 0.0;
    }
    if (b->high < lo) {
        *precedes = 1;
        return 0.0;
    }
    if (b->low > hi) {
        *follows = 1;
        return 0.0;
    }
    if (lo <= b->low && hi >= b->high)
        return 1.0;
    if (lo <= b->low)
        return (hi - b->low) / (b->high - b->low);
    if (hi >= b->high)
        return (b->high - lo) / (b->high - b->low);
    return (hi - lo) / (b->high - b->low);
}

size_t cfx_hist_standard(const double *bounds, const double *cum, size_t n,
                         double fmin, double fmax, size_t num_buckets,
                         double num_pos_inf, cfx_hist_bucket_t *out, int *rc) {
    size_t nout = 0;
    *rc = 0;
    if (!isfinite(fmin) && !isfinite(fmax)) {
        out[0].low = fmin;
        out[0].high = fmax;
        out[0].count = n ? cum[n - 1] : 0;
        return 1;
    }
    double *q = malloc((n + 1) * sizeof *q);
    double *c = malloc((n + 1) * sizeof *c);
    cfx_hist_bucket_t *qh = malloc((n + 1) * sizeof *qh);
    if (!q || !c || !qh) {
        *rc = CFX_ENOMEM;
        goto out;
    }
    /* strip -inf: the quantiles are right-hand bounds of bins */
    size_t a = 0;
    while (a < n && bounds[a] == -INFINITY)
        a++;
    double num_neg_inf = a ? cum[a - 1] : 0;
    size_t m = 0;
    for (size_t i = a; i < n; i++) {
        q[m] = bounds[i];
        c[m] = cum[i] - num_neg_inf;
        m++;
    }
    /* strip +inf, ending on the finite max instead */
    if (num_pos_inf != 0 && m > 0) {
        double finite_max_count = c[m - 1] - num_pos_inf;
        size_t p = 0;
        while (p < m && q[p] < INFINITY)
            p++;
        m = p;
        q[m] = fmax;
        c[m] = finite_max_count;
        m++;
    }
    size_t nq = cfx_hist_quantiles(q, c, m, qh);
    double edges[2 + 1024];
    size_t ne;
    if (fmin == fmax || num_buckets == 0) {
        edges[0] = fmin;
        edges[1] = fmax;
        ne = 2;
    } else {
        if (num_buckets > 1024)
            num_buckets = 1024;
        /* numpy.linspace: start + i * step, the last one exactly stop */
        double step = (fmax - fmin) / (double)num_buckets;
        for (size_t i = 0; i < num_buckets; i++)
            edges[i] = (double)i * step + fmin;
        edges[num_buckets] = fmax;
        ne = num_buckets + 1;
        for (size_t i = 0; i < ne; i++)
            if (!isfinite(edges[i]))
                goto out; /* overflow: no histogram, as TFDV */
    }
    if (num_neg_inf != 0) {
        out[nout].low = out[nout].high = -INFINITY;
        out[nout].count = num_neg_inf;
        nout++;
    }
    size_t start = 0;
    for (size_t i = 0; i + 1 < ne; i++) {
        double lo = edges[i], hi = edges[i + 1], count = 0;
        for (size_t k = start; k < nq; k++) {
            int pre, fol;
            double ov = overlap(&qh[k], lo, hi, i + 2 == ne, &pre, &fol);
            if (fol)
                break;
            if (pre)
                start = k;
            count += ov * qh[k].count;
        }
        out[nout].low = lo;
        out[nout].high = hi;
        out[nout].count = count;
        nout++;
    }
    if (num_pos_inf != 0) {
        out[nout].low = out[nout].high = INFINITY;
        out[nout].count = num_pos_inf;
        nout++;
    }
out:
    free(q);
    free(c);
    free(qh);
    return nout;
}

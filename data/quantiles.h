/*
 * quantiles.h: a mergeable quantile summary of a stream of doubles.
 *
 * Two regimes, switched automatically:
 *
 *   - exact: a hash table of distinct values with their counts. While the
 *     number of distinct values stays within `budget` the quantiles are
 *     exact, with TFDV's rule for the i-th of q quantiles over N values:
 *     the value at 0-based rank floor(i * N / q) of the sorted values
 *     (i = q gives the maximum). Memory: about 32 bytes per distinct value.
 *   - sketch: past the budget the table is folded into a KLL sketch
 *     (Karnin, Lang, Liberty 2016) with k = CFX_QUANTILES_KLL_K, whose
 *     normalized rank error is below CFX_QUANTILES_KLL_EPS (measured, see
 *     docs/statistics.md). Memory: O(k) whatever N. The minimum and maximum
 *     stay exact.
 *
 * cfx_quantiles_merge combines two summaries (of any regimes) into the
 * summary of the concatenated streams; merging exact summaries is exact.
 * The sketch is deterministic: its coin flips come from a fixed seed.
 *
 * NaN must not be added (the caller counts NaNs). -0.0 is stored as 0.0.
 * Not thread-safe; one summary belongs to one thread at a time.
 */
#ifndef CFX_DATA_QUANTILES_H
#define CFX_DATA_QUANTILES_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/err.h"

#define CFX_QUANTILES_DEFAULT_BUDGET (1u << 18)
#define CFX_QUANTILES_KLL_K 1024
#define CFX_QUANTILES_KLL_EPS 0.005

typedef struct cfx_quantiles_entry {
    double value;
    uint64_t count;
} cfx_quantiles_entry_t;

typedef struct cfx_kll cfx_kll_t;

typedef struct cfx_quantiles {
    size_t budget;   /* max distinct values kept exactly */
    uint64_t total;  /* values added */
    double min, max; /* exact; valid when total > 0 */
    /* exact regime (open addressing; count 0 = empty slot) */
    cfx_quantiles_entry_t *slots;
    size_t cap, used;
    /* sketch regime (non-NULL once over budget) */
    cfx_kll_t *kll;
} cfx_quantiles_t;

/* budget 0: CFX_QUANTILES_DEFAULT_BUDGET. */
void cfx_quantiles_init(cfx_quantiles_t *q, size_t budget);
void cfx_quantiles_free(cfx_quantiles_t *q);

/* Adds `count` copies of v. 0 or CFX_ENOMEM. */
int cfx_quantiles_add(cfx_quantiles_t *q, double v, uint64_t count);
/* dst += src (src unchanged). */
int cfx_quantiles_merge(cfx_quantiles_t *dst, const cfx_quantiles_t *src);

static inline int cfx_quantiles_exact(const cfx_quantiles_t *q) {
    return q->kll == NULL;
}

/* The num+1 quantile boundaries (bounds[0] = min, bounds[num] = max) and
 * their cumulative weights i * N / num. q must hold at least one value.
 * 0 or CFX_ENOMEM. */
int cfx_quantiles_query(const cfx_quantiles_t *q, size_t num, double *bounds,
                        double *cum_weights);

/* ---- state on disk (for merging summaries made by other processes) ---- */

/* Appends q's state to out (little-endian, self-delimiting). */
int cfx_quantiles_save(const cfx_quantiles_t *q, cfx_buf_t *out);
/* Replaces q's contents (q initialised, its budget kept) with the state at
 * p[0..n); *used receives the bytes read. Malformed state: CFX_ECORRUPT. */
int cfx_quantiles_load(cfx_quantiles_t *q, const uint8_t *p, size_t n,
                       size_t *used);

/* ---- histograms from quantiles (TFDV's quantiles_util rules) ---------- */

typedef struct cfx_hist_bucket {
    double low, high, count;
} cfx_hist_bucket_t;

/* Buckets between consecutive boundaries bounds[0..n-1] with the weight
 * between their cumulative weights; the weight of bins sharing an upper
 * bound is spread evenly over them and cum[0] over the leading bins equal
 * to the first. out has room for n - 1 buckets; returns the count. */
size_t cfx_hist_quantiles(const double *bounds, const double *cum, size_t n,
                          cfx_hist_bucket_t *out);

/* Equal-width histogram of num_buckets buckets over [finite_min,
 * finite_max], each counting the quantile bins it overlaps in proportion
 * (uniform spread inside a bin); -inf and +inf get a bucket of their own
 * at the ends. bounds/cum: n quantile boundaries and cumulative weights.
 * out has room for num_buckets + 2 buckets; returns the count (0 when the
 * bounds overflow). 0 or CFX_ENOMEM in *rc. */
size_t cfx_hist_standard(const double *bounds, const double *cum, size_t n,
                         double finite_min, double finite_max,
                         size_t num_buckets, double num_pos_inf,
                         cfx_hist_bucket_t *out, int *rc);

#endif

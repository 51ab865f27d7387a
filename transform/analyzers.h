/*
 * analyzers.h: the full-pass statistics the transform component needs
 * (TFT's analyzers): moments for z-scores, token counts for vocabularies,
 * quantile boundaries for bucketize.
 *
 * Every analyzer is mergeable (docs/design.md): run one per shard, merge them
 * in any order, then finalize; merging gives the same result as one analyzer
 * over the concatenated input (moments up to floating-point rounding).
 *
 * Bucket boundaries are exact quantiles while the distinct values fit a
 * budget, approximate (KLL) past it; memory is bounded either way.
 *
 * Objects are caller-owned (_init/_free) and belong to one thread at a time.
 */
#ifndef CFX_TRANSFORM_ANALYZERS_H
#define CFX_TRANSFORM_ANALYZERS_H

#include <stddef.h>
#include <stdint.h>

#include "data/quantiles.h"
#include "formats/err.h"

/* ---- moments: count, mean and sum of squared deviations (Welford; Chan et
 * al.'s pairwise update for merge). */
typedef struct cfx_moments {
    uint64_t count;
    double mean;
    double m2; /* sum of (x - mean)^2 */
} cfx_moments_t;

void cfx_moments_init(cfx_moments_t *m);
void cfx_moments_add(cfx_moments_t *m, double x);
void cfx_moments_merge(cfx_moments_t *into, const cfx_moments_t *from);
/* Population (biased, ddof = 0) variance, as TFT's scale_to_z_score; 0 when
 * count == 0. */
double cfx_moments_variance(const cfx_moments_t *m);

/* ---- vocabulary: distinct byte strings and their counts. */
typedef struct cfx_vocab_entry {
    const uint8_t *token; /* owned by the counter */
    size_t len;
    uint64_t count;
} cfx_vocab_entry_t;

typedef struct cfx_vocab_counter {
    cfx_vocab_entry_t *slots; /* open addressing; token == NULL is empty */
    uint64_t *hashes;
    size_t cap;          /* power of two */
    size_t size;         /* distinct tokens */
    size_t max_distinct; /* bound: more distinct tokens is CFX_ETOOBIG */
} cfx_vocab_counter_t;

/* Longest token accepted (bytes); a longer one is CFX_ETOOBIG. */
#define CFX_VOCAB_MAX_TOKEN (64u * 1024)

void cfx_vocab_counter_init(cfx_vocab_counter_t *c, size_t max_distinct);
void cfx_vocab_counter_free(cfx_vocab_counter_t *c);
/* Adds count occurrences of the n bytes at p (copied). */
int cfx_vocab_counter_add(cfx_vocab_counter_t *c, const void *p, size_t n,
                          uint64_t count, cfx_error_t *err);
int cfx_vocab_counter_merge(cfx_vocab_counter_t *into,
                            const cfx_vocab_counter_t *from, cfx_error_t *err);

/* The vocabulary as TFT writes it: tokens that are empty or contain '\n' or
 * '\r' dropped, ordered by count descending with ties by token descending
 * in byte order, cut to top_k (top_k <= 0: no cut). *out is a malloc'd
 * array of n entries whose tokens point into the counter (valid until it
 * changes or is freed); free the array with free(). */
int cfx_vocab_counter_top(const cfx_vocab_counter_t *c, int64_t top_k,
                          cfx_vocab_entry_t **out, size_t *n, cfx_error_t *err);

/* ---- bucket boundaries: quantiles of the non-NaN values, over the
 * project's mergeable quantile summary (data/quantiles.h). Exact while
 * the distinct values fit the budget (about 32 bytes each), then a KLL
 * sketch whose rank error is below CFX_QUANTILES_KLL_EPS (TFT's own
 * quantiles are approximate with epsilon 0.01): memory never grows with
 * the number of rows. */
typedef struct cfx_boundaries_analyzer {
    cfx_quantiles_t summary;
    uint64_t num_nan; /* NaNs are skipped and counted */
} cfx_boundaries_analyzer_t;

/* budget: distinct values kept exactly; 0 = CFX_QUANTILES_DEFAULT_BUDGET. */
void cfx_boundaries_analyzer_init(cfx_boundaries_analyzer_t *q, size_t budget);
void cfx_boundaries_analyzer_free(cfx_boundaries_analyzer_t *q);
int cfx_boundaries_analyzer_add(cfx_boundaries_analyzer_t *q, float x,
                                cfx_error_t *err);
int cfx_boundaries_analyzer_merge(cfx_boundaries_analyzer_t *into,
                                  const cfx_boundaries_analyzer_t *from,
                                  cfx_error_t *err);
/* 1 while every value is still kept exactly. */
int cfx_boundaries_analyzer_exact(const cfx_boundaries_analyzer_t *q);

/* The num_buckets - 1 interior boundaries (i / num_buckets quantiles,
 * i = 1 .. num_buckets - 1) into out[num_buckets - 1]. Exact regime:
 *   boundary_i = sorted[ceil(i * N / num_buckets) - 1]   (0-based, N values)
 * the inverted-CDF rule TFDV's exact quantiles follow (docs/transform.md);
 * sketch regime: the summary's approximate quantiles. Duplicates are kept.
 * With N == 0 every boundary is 0. */
int cfx_boundaries_analyzer_get(const cfx_boundaries_analyzer_t *q,
                                size_t num_buckets, float *out,
                                cfx_error_t *err);

#endif

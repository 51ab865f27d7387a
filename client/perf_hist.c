/*
 * perf_hist.c: log-bucketed latency histogram (see perf_hist.h).
 * Bucket of v >= 128: shift = msb(v) - 6, sub = v >> shift in [64, 128);
 * index 128 + (shift - 1) * 64 + (sub - 64).
 */
#include "client/perf_hist.h"

#include <string.h>

void cfx_hist_init(cfx_hist_t *h) {
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

static size_t bucket_of(uint64_t v) {
    if (v < 128)
        return (size_t)v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - 6;
    uint64_t sub = v >> shift;
    return 128 + (size_t)(shift - 1) * 64 + (size_t)(sub - 64);
}

/* Middle of bucket i. */
static uint64_t bucket_value(size_t i) {
    if (i < 128)
        return i;
    size_t shift = (i - 128) / 64 + 1;
    uint64_t sub = (i - 128) % 64 + 64;
    return (sub << shift) + ((uint64_t)1 << shift) / 2;
}

void cfx_hist_record(cfx_hist_t *h, uint64_t v) {
    h->b[bucket_of(v)]++;
    h->count++;
    h->sum += (double)v;
    if (v > h->max)
        h->max = v;
    if (v < h->min)
        h->min = v;
}

void cfx_hist_merge(cfx_hist_t *dst, const cfx_hist_t *src) {
    for (size_t i = 0; i < CFX_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
    if (src->min < dst->min)
        dst->min = src->min;
}

void cfx_hist_correct(cfx_hist_t *dst, const cfx_hist_t *src,
                      uint64_t expected) {
    *dst = *src;
    if (expected == 0)
        return;
    for (size_t i = 0; i < CFX_HIST_BUCKETS; i++) {
        uint64_t n = src->b[i];
        uint64_t v = bucket_value(i);
        if (n == 0)
            continue;
        if (v > src->max) /* the top bucket's true value is known */
            v = src->max;
        if (v / 2 < expected)
            continue;
        for (uint64_t m = v - expected; m > expected; m -= expected) {
            dst->b[bucket_of(m)] += n;
            dst->count += n;
            dst->sum += (double)m * (double)n;
        }
    }
}

uint64_t cfx_hist_quantile(const cfx_hist_t *h, double q) {
    if (h->count == 0)
        return 0;
    if (q >= 1.0)
        return h->max;
    /* The smallest value with at least ceil(q * count) values at or below. */
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if ((double)rank < q * (double)h->count)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < CFX_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t v = bucket_value(i);
            if (v > h->max)
                v = h->max;
            if (v < h->min)
                v = h->min;
            return v;
        }
    }
    return h->max;
}

/*
 * perf_hist.h: latency histogram of `cfx perf`, log-bucketed in the HDR
 * style: exact below 128 ns, then 64 sub-buckets per power of two (a
 * recorded value is reported within 1/64 = 1.6% of itself), fixed size,
 * O(1) record, mergeable across threads.
 *
 * Thread-safety: a histogram belongs to one thread; merge after the
 * threads are done.
 */
#ifndef CFX_SERVE_PERF_HIST_H
#define CFX_SERVE_PERF_HIST_H

#include <stddef.h>
#include <stdint.h>

#define CFX_HIST_BUCKETS (128 + 58 * 64)

typedef struct cfx_hist {
    uint64_t count;
    uint64_t max;
    uint64_t min;
    double sum;
    uint64_t b[CFX_HIST_BUCKETS];
} cfx_hist_t;

void cfx_hist_init(cfx_hist_t *h);
void cfx_hist_record(cfx_hist_t *h, uint64_t v);
void cfx_hist_merge(cfx_hist_t *dst, const cfx_hist_t *src);
/* Value at quantile q in [0,1] (q = 1 gives the exact max); 0 if empty. */
uint64_t cfx_hist_quantile(const cfx_hist_t *h, double q);

#endif

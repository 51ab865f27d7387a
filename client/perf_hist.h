/*
 * perf_hist.h: latency histogram of `cfx perf`, log-bucketed in the HDR
 * style: exact below 128 ns, then 64 sub-buckets per power of two (a
 * recorded value is reported within 1/64 = 1.6% of itself), fixed size,
 * O(1) record, mergeable across threads.
 *
 * Thread-safety: a histogram belongs to one thread; merge after the
 * threads are done.
 */
#ifndef CFX_CLIENT_PERF_HIST_H
#define CFX_CLIENT_PERF_HIST_H

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
/* dst = src corrected for coordinated omission the way wrk 4 corrects a
 * closed-loop run: each recorded value v >= 2 * expected adds as many
 * samples at v - expected, v - 2 * expected, ... as long as they stay above
 * expected (the requests a steady client, one every `expected` ns, would
 * have sent while this one was outstanding). expected is the mean interval
 * between requests on one in-flight slot (concurrency / throughput).
 * dst and src must differ; expected 0 copies. */
void cfx_hist_correct(cfx_hist_t *dst, const cfx_hist_t *src,
                      uint64_t expected);
/* Value at quantile q in [0,1] (q = 1 gives the exact max); 0 if empty. */
uint64_t cfx_hist_quantile(const cfx_hist_t *h, double q);

#endif

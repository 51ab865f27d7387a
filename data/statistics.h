/*
 * statistics.h: TFDV-compatible dataset statistics (StatisticsGen), written
 * as tensorflow_metadata DatasetFeatureStatisticsList
 * (docs/statistics.md).
 *
 * A cfx_stats_acc_t accumulates one dataset (one split) example by example in
 * one pass; two accumulators merge (cfx_stats_merge) into the accumulator
 * of the concatenated inputs, so shards can be summarised by different
 * threads, processes or machines and combined in one step. Everything but
 * the quantiles is exact; quantiles are exact while a feature has at most
 * `quantiles_budget` distinct values (data/quantiles.h), then a KLL
 * sketch.
 *
 * What is computed (defaults as TFDV's StatsOptions): per feature the
 * common stats (presence, value counts, 10-bucket QUANTILES histogram of
 * the value counts); for INT/FLOAT mean, population std_dev, num_zeros,
 * min, median, max, a 10-bucket STANDARD histogram interpolated from 1000
 * quantiles and a 10-bucket QUANTILES histogram; for STRING unique,
 * top_values (20), rank_histogram (1000), avg_length, invalid_utf8_count.
 *
 * A cfx_stats_acc_t belongs to one thread at a time; cfx_statistics_run uses
 * `threads` worker threads, each with its own accumulators.
 */
#ifndef CFX_DATA_STATISTICS_H
#define CFX_DATA_STATISTICS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/err.h"
#include "formats/example.h"

#define CFX_STATS_MAX_FEATURES 100000
/* Distinct values counted per string feature (bounds memory: about 40
 * bytes plus the value each). Past it, values not seen before are counted
 * as untracked: `unique` is then a lower bound and the output carries a
 * custom statistic "untracked_values". */
#define CFX_STATS_DEFAULT_MAX_DISTINCT_STRINGS (1u << 22)

typedef struct cfx_stats_options {
    size_t quantiles_budget;   /* 0: CFX_QUANTILES_DEFAULT_BUDGET */
    unsigned num_top_values;   /* 0: 20 */
    unsigned num_rank_buckets; /* 0: 1000 */
    unsigned
        num_histogram_buckets;   /* 0: 10 (standard, quantiles, num_values) */
    unsigned threads;            /* cfx_statistics_run only; 0: 2 */
    size_t max_distinct_strings; /* per string feature; 0: the default */
} cfx_stats_options_t;

typedef struct cfx_stats_acc cfx_stats_acc_t;

/* opts may be NULL (defaults). NULL when out of memory. */
cfx_stats_acc_t *cfx_stats_acc_new(const cfx_stats_options_t *opts);
void cfx_stats_acc_free(cfx_stats_acc_t *s);

/* Adds one example. A feature whose kind changes between examples (INT in
 * one, FLOAT in another) is an error naming it. */
int cfx_stats_acc_add(cfx_stats_acc_t *s, const cfx_example_t *ex,
                      cfx_error_t *err);

/* dst += src; src is unchanged. Kind conflicts are errors as above. */
int cfx_stats_merge(cfx_stats_acc_t *dst, const cfx_stats_acc_t *src,
                    cfx_error_t *err);

uint64_t cfx_stats_acc_num_examples(const cfx_stats_acc_t *s);

/* Accumulator state as bytes, so accumulators made by other processes or
 * machines can be merged: save appends s's state to out; load makes a new
 * accumulator (opts as for _new) from p[0..n). Malformed or truncated
 * state: CFX_ECORRUPT with err naming what is wrong. */
int cfx_stats_acc_save(const cfx_stats_acc_t *s, cfx_buf_t *out,
                       cfx_error_t *err);
int cfx_stats_acc_load(const cfx_stats_options_t *opts, const uint8_t *p,
                       size_t n, cfx_stats_acc_t **out, cfx_error_t *err);

/* Appends a serialized DatasetFeatureStatisticsList with one dataset
 * (features sorted by name, identified by path.step) to out. */
int cfx_stats_acc_encode(const cfx_stats_acc_t *s, cfx_buf_t *out,
                         cfx_error_t *err);

/* Reads every TFRecord file in each examples_dir/Split-<name>/ and writes
 * out_dir/Split-<name>/FeatureStats.pb for each split (into a temporary
 * sibling renamed into place at the end). out_dir must not exist or be
 * empty. On success *num_splits (may be NULL) is the number of splits. */
int cfx_statistics_run(const char *examples_dir, const char *out_dir,
                       const cfx_stats_options_t *opts, size_t *num_splits,
                       cfx_error_t *err);

/* The same over the files i (all splits' files in order) with
 * i % num_parts == part, writing accumulator state instead of statistics:
 * out_dir/Split-<name>/FeatureStats.state. Run each part anywhere (another
 * process, another machine), then merge them with
 * cfx_statistics_merge_parts. */
int cfx_statistics_run_part(const char *examples_dir, const char *out_dir,
                            const cfx_stats_options_t *opts, unsigned part,
                            unsigned num_parts, size_t *num_splits,
                            cfx_error_t *err);

/* Loads the state of every split in each of part_dirs, merges them in the
 * order given and writes out_dir/Split-<name>/FeatureStats.pb. */
int cfx_statistics_merge_parts(const char *const *part_dirs, size_t n,
                               const char *out_dir,
                               const cfx_stats_options_t *opts,
                               size_t *num_splits, cfx_error_t *err);

#endif

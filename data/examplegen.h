/*
 * examplegen.h: CSV → tf.Example TFRecord splits, with the semantics of
 * TFX's CsvExampleGen (docs/data.md).
 *
 * Two streaming passes over the CSV: the first infers every column's type
 * over the whole file, the second builds, hashes and writes the examples.
 * Each example goes to a split by SHA-256 of its deterministic
 * serialization (the digest read as a big-endian integer, mod the total of
 * the hash buckets, then the first split whose cumulative bucket count
 * exceeds it). Records are written in input order (TFX shuffles; we do not:
 * the split rule, not the order, is what TFX users depend on), round-robin
 * over the shards of their split.
 *
 * Output: <out>/Split-<name>/data_tfrecord-SSSSS-of-NNNNN.gz. Everything is
 * written under a temporary sibling directory and renamed into place at
 * the end, so on error nothing is left behind. <out> must not exist or be
 * an empty directory.
 *
 * A run uses the calling thread plus one writer thread (compression and
 * file I/O); the functions are reentrant.
 */
#ifndef CFX_DATA_EXAMPLEGEN_H
#define CFX_DATA_EXAMPLEGEN_H

#include <stddef.h>
#include <stdint.h>

#include "data/csv_value.h"
#include "formats/err.h"

#define CFX_EXAMPLEGEN_MAX_SPLITS 16
#define CFX_EXAMPLEGEN_MAX_SHARDS 128
/* Output files open at once (splits x shards): each gzip writer holds
 * about 1.3 MiB of buffers. */
#define CFX_EXAMPLEGEN_MAX_FILES 256
#define CFX_EXAMPLEGEN_SPLIT_NAME_MAX 64
/* Sum of hash buckets over the splits (keeps the mod arithmetic in 64 bit). */
#define CFX_EXAMPLEGEN_MAX_BUCKETS (1u << 24)

typedef struct cfx_split_spec {
    char name[CFX_EXAMPLEGEN_SPLIT_NAME_MAX];
    uint32_t buckets;
} cfx_split_spec_t;

typedef struct cfx_examplegen_options {
    const cfx_split_spec_t *splits; /* NULL: train:2,eval:1 */
    size_t num_splits;
    int skip_bad_rows;   /* count and skip bad records instead of failing */
    unsigned num_shards; /* per split; 0: 2 (two readers can share a split) */
    int quiet;           /* no warnings on stderr for skipped rows */
} cfx_examplegen_options_t;

typedef struct cfx_examplegen_result {
    uint64_t rows;     /* examples written */
    uint64_t bad_rows; /* records skipped (skip_bad_rows) */
    size_t num_splits;
    cfx_split_spec_t splits[CFX_EXAMPLEGEN_MAX_SPLITS];
    uint64_t split_rows[CFX_EXAMPLEGEN_MAX_SPLITS];
    size_t num_columns;
    char **columns;        /* owned */
    cfx_csv_type_t *types; /* owned, parallel to columns */
} cfx_examplegen_result_t;

/* Parses "train:2,eval:1": names [A-Za-z0-9_-]+, distinct; buckets >= 1.
 * Writes at most CFX_EXAMPLEGEN_MAX_SPLITS entries. */
int cfx_examplegen_parse_splits(const char *spec, cfx_split_spec_t *out,
                                size_t *num, cfx_error_t *err);

/* int(sha256(data).hexdigest(), 16) % total_buckets (total_buckets >= 1). */
uint32_t cfx_examplegen_bucket(const void *data, size_t len,
                               uint32_t total_buckets);

/* Index of the split a bucket belongs to (cumulative buckets). */
size_t cfx_examplegen_split_of(const cfx_split_spec_t *splits, size_t n,
                               uint32_t bucket);

/* Runs the component. result may be NULL; when given it is filled (free it
 * with cfx_examplegen_result_free, also after an error). */
int cfx_examplegen_run(const char *csv_path, const char *out_dir,
                       const cfx_examplegen_options_t *opts,
                       cfx_examplegen_result_t *result, cfx_error_t *err);
void cfx_examplegen_result_free(cfx_examplegen_result_t *result);

/* Across processes or machines (docs/data.md): part `part` of num_parts
 * reads the whole CSV for the column types (pass 1), then builds only its
 * block of the good rows, the part-th of num_parts contiguous blocks, and
 * writes out_dir/Split-<name>/examples.tfrecord (plain TFRecord, input
 * order) and out_dir/part.json (the CSV's SHA-256 and size, the options,
 * the types and counts every part agrees on, and its own rows per split).
 * result as cfx_examplegen_run's, split_rows of the part. */
int cfx_examplegen_run_part(const char *csv_path, const char *out_dir,
                            const cfx_examplegen_options_t *opts, unsigned part,
                            unsigned num_parts, cfx_examplegen_result_t *result,
                            cfx_error_t *err);
/* Merges every part of one run (each exactly once, in any order) into
 * out_dir as cfx_examplegen_run writes it: byte for byte the same files.
 * Parts of different runs (another CSV, options or part count), a missing
 * or repeated part, or records that do not match a manifest are refused
 * and nothing is written. */
int cfx_examplegen_merge_parts(const char *const *part_dirs, size_t n,
                               const char *out_dir,
                               cfx_examplegen_result_t *result,
                               cfx_error_t *err);

#endif

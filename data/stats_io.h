/*
 * stats_io.h: reading statistics artifacts: a binary
 * DatasetFeatureStatisticsList (FeatureStats.pb, as StatisticsGen writes it,
 * docs/statistics.md) and the lookups SchemaGen, ExampleValidator and the
 * statistics report make in it (default slice, feature by name, common
 * statistics, schema type).
 *
 * A list read here is a plain protobuf-c message; cfx_stats_free releases
 * it. Views returned by the lookups point into it.
 *
 * Thread-safety: reentrant; a list is read-only once read and may be shared.
 */
#ifndef CFX_DATA_STATS_IO_H
#define CFX_DATA_STATS_IO_H

#include <stddef.h>

#include "formats/err.h"
#include "statistics.pb-c.h"

typedef Tensorflow__Metadata__V0__DatasetFeatureStatisticsList cfx_stats_list_t;
typedef Tensorflow__Metadata__V0__DatasetFeatureStatistics cfx_dataset_stats_t;
typedef Tensorflow__Metadata__V0__FeatureNameStatistics cfx_feature_stats_t;
typedef Tensorflow__Metadata__V0__CommonStatistics cfx_common_stats_t;

/* Largest FeatureStats.pb read (bytes). */
#define CFX_STATS_MAX_FILE_BYTES (256u << 20)

/* Reads a binary DatasetFeatureStatisticsList (FeatureStats.pb). A path that
 * is a directory is read as <dir>/FeatureStats.pb. *out is the caller's
 * (cfx_stats_free). */
int cfx_stats_read(const char *path, cfx_stats_list_t **out, cfx_error_t *err);
void cfx_stats_free(cfx_stats_list_t *l); /* l may be NULL */

/* The default slice: the dataset of l, the one named "All Examples" or ""
 * when there are several, else the first. NULL when l has none. */
const cfx_dataset_stats_t *cfx_stats_default_dataset(const cfx_stats_list_t *l);

/* cfx_stats_read, then the default slice in *d (pointing into *out):
 * CFX_ECORRUPT naming path when the list has none. *out is the caller's to
 * free on every return, as after cfx_stats_read. */
int cfx_stats_read_default(const char *path, cfx_stats_list_t **out,
                           const cfx_dataset_stats_t **d, cfx_error_t *err);

/* The feature named `name` in d, or NULL. */
const cfx_feature_stats_t *cfx_stats_find(const cfx_dataset_stats_t *d,
                                          const char *name);

/* The feature's common statistics (from whichever stats kind it holds), or
 * NULL when it has none. */
const cfx_common_stats_t *cfx_stats_common(const cfx_feature_stats_t *f);

/* The feature's name: `name`, or its path steps joined with '.'. Returns a
 * pointer into f or into buf (size n); never NULL. */
const char *cfx_stats_feature_name(const cfx_feature_stats_t *f, char *buf,
                                   size_t n);

/* Schema FeatureType for a statistics type (INT, FLOAT, BYTES, STRUCT). */
int cfx_stats_schema_type(const cfx_feature_stats_t *f);

#endif

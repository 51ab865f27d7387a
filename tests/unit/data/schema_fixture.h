/*
 * schema_fixture.h: hand-built tensorflow_metadata statistics for the
 * schema inference and validation tests (header-only, test use only).
 * Everything is calloc'ed so protobuf_c_message_free_unpacked frees it.
 */
#ifndef CFX_TESTS_SCHEMA_FIXTURE_H
#define CFX_TESTS_SCHEMA_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "statistics.pb-c.h"

typedef Tensorflow__Metadata__V0__DatasetFeatureStatistics fx_ds_t;
typedef Tensorflow__Metadata__V0__FeatureNameStatistics fx_fs_t;

static inline fx_ds_t *fx_ds_new(uint64_t num_examples) {
    fx_ds_t *d = calloc(1, sizeof *d);
    tensorflow__metadata__v0__dataset_feature_statistics__init(d);
    d->num_examples = num_examples;
    return d;
}

static inline void fx_ds_free(fx_ds_t *d) {
    if (d)
        protobuf_c_message_free_unpacked(&d->base, NULL);
}

static inline Tensorflow__Metadata__V0__CommonStatistics *
fx_common(uint64_t non_missing, uint64_t missing, uint64_t min_nv,
          uint64_t max_nv, uint64_t tot) {
    Tensorflow__Metadata__V0__CommonStatistics *c = calloc(1, sizeof *c);
    tensorflow__metadata__v0__common_statistics__init(c);
    c->num_non_missing = non_missing;
    c->num_missing = missing;
    c->min_num_values = min_nv;
    c->max_num_values = max_nv;
    c->tot_num_values = tot;
    c->avg_num_values = non_missing ? (float)tot / (float)non_missing : 0;
    return c;
}

static inline fx_fs_t *fx_add(fx_ds_t *d, const char *name, int type) {
    fx_fs_t *f = calloc(1, sizeof *f);
    tensorflow__metadata__v0__feature_name_statistics__init(f);
    f->type = type;
    f->field_id_case =
        TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__FIELD_ID_PATH;
    f->path = calloc(1, sizeof *f->path);
    tensorflow__metadata__v0__path__init(f->path);
    f->path->step = calloc(1, sizeof(char *));
    f->path->step[0] = strdup(name);
    f->path->n_step = 1;
    d->features =
        realloc(d->features, (d->n_features + 1) * sizeof *d->features);
    d->features[d->n_features++] = f;
    return f;
}

/* An INT or FLOAT feature; tot_num_values = non_missing * max_nv. */
static inline fx_fs_t *fx_add_num(fx_ds_t *d, const char *name, int type,
                                  uint64_t non_missing, uint64_t missing,
                                  uint64_t min_nv, uint64_t max_nv, double min,
                                  double max) {
    fx_fs_t *f = fx_add(d, name, type);
    f->stats_case =
        TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__STATS_NUM_STATS;
    f->num_stats = calloc(1, sizeof *f->num_stats);
    tensorflow__metadata__v0__numeric_statistics__init(f->num_stats);
    f->num_stats->common_stats =
        fx_common(non_missing, missing, min_nv, max_nv, non_missing * max_nv);
    f->num_stats->min = min;
    f->num_stats->max = max;
    return f;
}

/* A STRING feature with a rank histogram (labels[i], counts[i]);
 * tot_num_values = sum of counts, unique = n. */
static inline fx_fs_t *fx_add_str(fx_ds_t *d, const char *name,
                                  uint64_t non_missing, uint64_t missing,
                                  uint64_t min_nv, uint64_t max_nv,
                                  const char *const *labels,
                                  const double *counts, size_t n) {
    fx_fs_t *f =
        fx_add(d, name,
               TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__STRING);
    f->stats_case =
        TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__STATS_STRING_STATS;
    f->string_stats = calloc(1, sizeof *f->string_stats);
    tensorflow__metadata__v0__string_statistics__init(f->string_stats);
    double tot = 0;
    for (size_t i = 0; i < n; i++)
        tot += counts[i];
    f->string_stats->common_stats =
        fx_common(non_missing, missing, min_nv, max_nv, (uint64_t)tot);
    f->string_stats->unique = n;
    Tensorflow__Metadata__V0__RankHistogram *rh = calloc(1, sizeof *rh);
    tensorflow__metadata__v0__rank_histogram__init(rh);
    rh->buckets = calloc(n ? n : 1, sizeof *rh->buckets);
    rh->n_buckets = n;
    for (size_t i = 0; i < n; i++) {
        rh->buckets[i] = calloc(1, sizeof *rh->buckets[i]);
        tensorflow__metadata__v0__rank_histogram__bucket__init(rh->buckets[i]);
        rh->buckets[i]->label = strdup(labels[i]);
        rh->buckets[i]->sample_count = counts[i];
        rh->buckets[i]->low_rank = rh->buckets[i]->high_rank = i;
    }
    f->string_stats->rank_histogram = rh;
    return f;
}

#define FX_INT TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__INT
#define FX_FLOAT TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__FLOAT

#endif

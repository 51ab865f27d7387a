/*
 * stats_io.c: FeatureStats.pb in, and lookups in it (stats_io.h).
 */
#include "data/stats_io.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "formats/buf.h"
#include "formats/file.h"
#include "schema.pb-c.h"

#define PB(x) TENSORFLOW__METADATA__V0__##x

int cfx_stats_read(const char *path, cfx_stats_list_t **out, cfx_error_t *err) {
    *out = NULL;
    char full[PATH_MAX];
    if (cfx_file_is_dir(path)) {
        if (snprintf(full, sizeof full, "%s/FeatureStats.pb", path) >=
            (int)sizeof full)
            return cfx_error_set(err, CFX_EINVAL, "%s: path too long", path);
        path = full;
    }
    cfx_buf_t b;
    cfx_buf_init(&b);
    int rc = cfx_file_read(path, CFX_STATS_MAX_FILE_BYTES, &b, err);
    if (rc < 0)
        goto out;
    *out = tensorflow__metadata__v0__dataset_feature_statistics_list__unpack(
        NULL, b.len, b.data);
    if (!*out)
        rc = cfx_error_set(err, CFX_ECORRUPT,
                           "%s: not a binary DatasetFeatureStatisticsList",
                           path);
out:
    cfx_buf_free(&b);
    return rc;
}

void cfx_stats_free(cfx_stats_list_t *l) {
    if (l)
        protobuf_c_message_free_unpacked(&l->base, NULL);
}

const cfx_dataset_stats_t *
cfx_stats_default_dataset(const cfx_stats_list_t *l) {
    if (!l || l->n_datasets == 0)
        return NULL;
    if (l->n_datasets == 1)
        return l->datasets[0];
    for (size_t i = 0; i < l->n_datasets; i++)
        if (!l->datasets[i]->name || !l->datasets[i]->name[0] ||
            !strcmp(l->datasets[i]->name, "All Examples"))
            return l->datasets[i];
    return l->datasets[0];
}

int cfx_stats_read_default(const char *path, cfx_stats_list_t **out,
                           const cfx_dataset_stats_t **d, cfx_error_t *err) {
    *d = NULL;
    int rc = cfx_stats_read(path, out, err);
    if (rc < 0)
        return rc;
    if (!(*d = cfx_stats_default_dataset(*out)))
        return cfx_error_set(err, CFX_ECORRUPT, "%s: no dataset", path);
    return 0;
}

const cfx_common_stats_t *cfx_stats_common(const cfx_feature_stats_t *f) {
    if (!f)
        return NULL;
    switch (f->stats_case) {
    case PB(FEATURE_NAME_STATISTICS__STATS_NUM_STATS):
        return f->num_stats ? f->num_stats->common_stats : NULL;
    case PB(FEATURE_NAME_STATISTICS__STATS_STRING_STATS):
        return f->string_stats ? f->string_stats->common_stats : NULL;
    case PB(FEATURE_NAME_STATISTICS__STATS_BYTES_STATS):
        return f->bytes_stats ? f->bytes_stats->common_stats : NULL;
    case PB(FEATURE_NAME_STATISTICS__STATS_STRUCT_STATS):
        return f->struct_stats ? f->struct_stats->common_stats : NULL;
    default:
        return NULL;
    }
}

const char *cfx_stats_feature_name(const cfx_feature_stats_t *f, char *buf,
                                   size_t n) {
    if (f->field_id_case == PB(FEATURE_NAME_STATISTICS__FIELD_ID_NAME) &&
        f->name)
        return f->name;
    if (f->field_id_case == PB(FEATURE_NAME_STATISTICS__FIELD_ID_PATH) &&
        f->path && n > 0) {
        if (f->path->n_step == 1)
            return f->path->step[0];
        size_t w = 0;
        buf[0] = 0;
        for (size_t i = 0; i < f->path->n_step; i++) {
            int k = snprintf(buf + w, n - w, "%s%s", i ? "." : "",
                             f->path->step[i]);
            if (k < 0 || (size_t)k >= n - w)
                break;
            w += (size_t)k;
        }
        return buf;
    }
    return "";
}

const cfx_feature_stats_t *cfx_stats_find(const cfx_dataset_stats_t *d,
                                          const char *name) {
    char buf[512];
    for (size_t i = 0; d && i < d->n_features; i++)
        if (!strcmp(cfx_stats_feature_name(d->features[i], buf, sizeof buf),
                    name))
            return d->features[i];
    return NULL;
}

int cfx_stats_schema_type(const cfx_feature_stats_t *f) {
    switch (f->type) {
    case PB(FEATURE_NAME_STATISTICS__TYPE__INT):
        return PB(FEATURE_TYPE__INT);
    case PB(FEATURE_NAME_STATISTICS__TYPE__FLOAT):
        return PB(FEATURE_TYPE__FLOAT);
    case PB(FEATURE_NAME_STATISTICS__TYPE__STRUCT):
        return PB(FEATURE_TYPE__STRUCT);
    default:
        return PB(FEATURE_TYPE__BYTES);
    }
}

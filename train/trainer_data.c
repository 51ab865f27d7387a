/*
 * trainer_data.c: transformed examples in memory as compact arrays
 * (cfx_dataset_t of trainer.h): loading them from a Split-<name>/ folder of
 * TFRecord files written by the transform component.
 */
#include "train/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/dtype.h"
#include "formats/example.h"
#include "formats/tfrecord.h"

static int one_value(const cfx_example_t *ex, const char *name, cfx_kind_t kind,
                     const cfx_feature_t **out, cfx_error_t *err) {
    const cfx_feature_t *f = cfx_example_find(ex, name);
    if (f == NULL)
        return cfx_error_set(err, CFX_ENOTFOUND, "feature '%s' is missing",
                             name);
    if (f->kind != kind || f->count != 1)
        return cfx_error_set(
            err, CFX_EINVAL,
            "feature '%s': expected one %s value, found %zu %s", name,
            cfx_dtype_kind_name(kind), f->count,
            f->kind == CFX_KIND_NONE ? "untyped"
                                     : cfx_dtype_kind_name(f->kind));
    *out = f;
    return 0;
}

static int decode_row(const cfx_transform_t *t, const cfx_example_t *ex,
                      const char *label_name, float *dense, int32_t *cat,
                      float *label, cfx_error_t *err) {
    int rc;
    const cfx_feature_t *f;
    for (size_t i = 0; i < cfx_transform_num_outputs(t); i++) {
        const cfx_xf_output_t *o = cfx_transform_output(t, i);
        if (o->kind == CFX_XF_DENSE) {
            if ((rc = one_value(ex, o->name, CFX_KIND_FLOAT, &f, err)) != 0)
                return rc;
            dense[o->slot] = f->v.floats[0];
        } else {
            if ((rc = one_value(ex, o->name, CFX_KIND_INT64, &f, err)) != 0)
                return rc;
            int64_t v = f->v.ints[0];
            if (v < 0 || v >= o->cardinality)
                return cfx_error_set(
                    err, CFX_EINVAL,
                    "feature '%s': value %lld outside [0, %lld)", o->name,
                    (long long)v, (long long)o->cardinality);
            cat[o->slot] = (int32_t)v;
        }
    }
    const cfx_head_t *h = cfx_transform_label_head(t);
    if (h->task == CFX_TASK_REGRESSION) {
        if ((rc = one_value(ex, label_name, CFX_KIND_FLOAT, &f, err)) != 0)
            return rc;
        *label = f->v.floats[0];
        if (!isfinite(*label))
            return cfx_error_set(err, CFX_EINVAL,
                                 "label '%s': %g is not a finite number",
                                 label_name, (double)*label);
        return 0;
    }
    if ((rc = one_value(ex, label_name, CFX_KIND_INT64, &f, err)) != 0)
        return rc;
    if (h->task == CFX_TASK_MULTICLASS) {
        if (f->v.ints[0] < 0 || f->v.ints[0] >= (int64_t)h->num_classes)
            return cfx_error_set(
                err, CFX_EINVAL, "label '%s': class %lld outside [0, %zu)",
                label_name, (long long)f->v.ints[0], h->num_classes);
        *label = (float)f->v.ints[0];
        return 0;
    }
    *label = f->v.ints[0] != 0 ? 1.0f : 0.0f;
    return 0;
}

int cfx_dataset_load(const char *split_dir, const cfx_transform_t *t,
                     cfx_dataset_t *ds, cfx_error_t *err) {
    int rc = 0;
    char **files = NULL;
    size_t nfiles = 0;
    cfx_tfrecord_reader_t *r = NULL;
    cfx_example_t ex;
    float *dense = NULL;
    int32_t *cat = NULL;
    size_t nd = cfx_transform_num_dense(t),
           nc = cfx_transform_num_categorical(t);
    const char *label_name = cfx_transform_label_name(t);
    cfx_dataset_init(ds, nd, nc);
    cfx_example_init(&ex);
    if (label_name == NULL)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: the transform graph defines no label",
                             split_dir);
    dense = calloc(nd + 1, sizeof *dense);
    cat = calloc(nc + 1, sizeof *cat);
    if (!dense || !cat) {
        rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", split_dir);
        goto out;
    }
    if ((rc = cfx_tfrecord_list_dir(split_dir, &files, &nfiles, err)) != 0)
        goto out;
    if (nfiles == 0) {
        rc = cfx_error_set(err, CFX_ENOTFOUND, "%s: no files", split_dir);
        goto out;
    }
    for (size_t fi = 0; fi < nfiles; fi++) {
        if ((rc = cfx_tfrecord_reader_open(files[fi], &r, err)) != 0)
            goto out;
        for (size_t rec = 0;; rec++) {
            const uint8_t *data;
            size_t len;
            uint64_t off = cfx_tfrecord_reader_offset(r);
            rc = cfx_tfrecord_read(r, &data, &len, err);
            if (rc == 0)
                break;
            if (rc < 0)
                goto out;
            float label = 0;
            if ((rc = cfx_example_decode(&ex, data, len, err)) != 0 ||
                (rc = decode_row(t, &ex, label_name, dense, cat, &label,
                                 err)) != 0) {
                cfx_error_prefix(err, "%s: record %zu (offset %llu)", files[fi],
                                 rec, (unsigned long long)off);
                goto out;
            }
            if ((rc = cfx_dataset_push(ds, dense, cat, label)) != 0) {
                rc = cfx_error_set(
                    err, rc, "%s: record %zu: %s", files[fi], rec,
                    rc == CFX_ETOOBIG ? "too many rows" : "out of memory");
                goto out;
            }
        }
        cfx_tfrecord_reader_free(r);
        r = NULL;
    }
out:
    if (rc != 0)
        cfx_dataset_free(ds);
    if (r)
        cfx_tfrecord_reader_free(r);
    if (files)
        cfx_path_list_free(files);
    cfx_example_free(&ex);
    free(dense);
    free(cat);
    return rc;
}

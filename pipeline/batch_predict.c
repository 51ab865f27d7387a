/*
 * batch_predict.c: `cfx predict` as a library call (batch_predict.h).
 * Rows are predicted in batches of BATCH raw examples.
 */
#include "pipeline/batch_predict.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/example.h"
#include "formats/tfrecord.h"
#include "model/bundle.h"
#include "pipeline/csv.h"
#include "pipeline/trainer.h"

#define BATCH 256

typedef struct batch {
    cfx_example_t ex[BATCH];
    const cfx_example_t *ptr[BATCH];
    float p[BATCH];
    size_t n;
} batch_t;

static int emit(FILE *out, int jsonl, const float *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int cls = p[i] > 0.5f;
        int r = jsonl ? fprintf(out, "{\"probability\":%.9g,\"class\":%d}\n", (double)p[i], cls)
                      : fprintf(out, "%.9g,%d\n", (double)p[i], cls);
        if (r < 0)
            return CFX_EIO;
    }
    return 0;
}

static int flush_batch(const cfx_bundle_t *b, batch_t *bt, const cfx_predict_job_t *job,
                       size_t *rows, cfx_error_t *err) {
    if (bt->n == 0)
        return 0;
    int rc = cfx_bundle_predict(b, bt->ptr, bt->n, bt->p, err);
    if (rc != 0)
        return rc;
    if (emit(job->out, job->jsonl, bt->p, bt->n) != 0)
        return cfx_error_set(err, CFX_EIO, "predict: writing the output: %s", strerror(errno));
    *rows += bt->n;
    bt->n = 0;
    return 0;
}

static int parse_cell(cfx_example_t *ex, const cfx_xf_input_t *in, const char *s, size_t len,
                      cfx_error_t *err) {
    char buf[128];
    if (len == 0)
        return 0; /* missing: the transform fills it */
    if (in->kind == CFX_KIND_BYTES) {
        cfx_bytes_t v = {(const uint8_t *)s, len};
        return cfx_example_add_bytes(ex, in->name, &v, 1);
    }
    if (len >= sizeof buf)
        return cfx_error_set(err, CFX_EPARSE, "column '%s': a %zu-byte number", in->name, len);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    if (in->kind == CFX_KIND_INT64) {
        long long v = strtoll(buf, &end, 10);
        if (*end != '\0' || errno) {
            double d = strtod(buf, &end);
            if (*end != '\0' || d != floor(d) || fabs(d) > 9e15)
                return cfx_error_set(err, CFX_EPARSE, "column '%s': expected an integer, got \"%s\"",
                                     in->name, buf);
            v = (long long)d;
        }
        int64_t x = v;
        return cfx_example_add_int64(ex, in->name, &x, 1);
    }
    float f = strtof(buf, &end);
    if (*end != '\0')
        return cfx_error_set(err, CFX_EPARSE, "column '%s': expected a number, got \"%s\"",
                             in->name, buf);
    return cfx_example_add_float(ex, in->name, &f, 1);
}

static int predict_csv(const cfx_bundle_t *b, const cfx_predict_job_t *job, batch_t *bt,
                       size_t *rows, cfx_error_t *err) {
    const cfx_transform_t *t = cfx_bundle_transform(b);
    cfx_csv_reader_t *r = NULL;
    long *col_of = NULL; /* per raw input: its CSV column, or -1 */
    size_t nin = cfx_transform_num_inputs(t);
    int rc = cfx_csv_open(job->input, &r, err);
    if (rc != 0)
        return rc;
    col_of = malloc((nin + 1) * sizeof *col_of);
    if (col_of == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "predict: out of memory");
        goto out;
    }
    for (size_t i = 0; i < nin; i++) {
        col_of[i] = -1;
        for (size_t c = 0; c < cfx_csv_num_columns(r); c++)
            if (!strcmp(cfx_csv_column(r, c), cfx_transform_input(t, i)->name))
                col_of[i] = (long)c;
    }
    cfx_csv_row_t row;
    while ((rc = cfx_csv_next(r, &row, err)) == 1) {
        cfx_example_t *ex = &bt->ex[bt->n];
        cfx_example_reset(ex);
        for (size_t i = 0; i < nin; i++) {
            if (col_of[i] < 0)
                continue;
            const cfx_csv_cell_t *cell = &row.cells[col_of[i]];
            if ((rc = parse_cell(ex, cfx_transform_input(t, i), cell->data, cell->len, err)) !=
                0) {
                if (rc == CFX_ENOMEM)
                    cfx_error_set(err, rc, "out of memory");
                cfx_error_prefix(err, "%s:%llu", job->input, (unsigned long long)row.line);
                goto out;
            }
        }
        bt->ptr[bt->n] = ex;
        if (++bt->n == BATCH && (rc = flush_batch(b, bt, job, rows, err)) != 0)
            goto out;
    }
    if (rc == 0)
        rc = flush_batch(b, bt, job, rows, err);
out:
    free(col_of);
    cfx_csv_close(r);
    return rc;
}

static int predict_tfrecords(const cfx_bundle_t *b, const cfx_predict_job_t *job, batch_t *bt,
                             size_t *rows, cfx_error_t *err) {
    char **files = NULL;
    size_t nfiles = 0;
    int rc = cfx_tfrecord_list_dir(job->input, &files, &nfiles, err);
    if (rc != 0)
        return rc;
    for (size_t fi = 0; fi < nfiles && rc == 0; fi++) {
        cfx_tfrecord_reader_t *r = NULL;
        if ((rc = cfx_tfrecord_reader_open(files[fi], &r, err)) != 0)
            break;
        for (;;) {
            const uint8_t *data;
            size_t len;
            uint64_t off = cfx_tfrecord_reader_offset(r);
            rc = cfx_tfrecord_read(r, &data, &len, err);
            if (rc <= 0)
                break;
            if ((rc = cfx_example_decode(&bt->ex[bt->n], data, len, err)) != 0) {
                cfx_error_prefix(err, "%s: offset %llu", files[fi], (unsigned long long)off);
                break;
            }
            bt->ptr[bt->n] = &bt->ex[bt->n];
            if (++bt->n == BATCH && (rc = flush_batch(b, bt, job, rows, err)) != 0)
                break;
        }
        cfx_tfrecord_reader_free(r);
    }
    if (rc == 0)
        rc = flush_batch(b, bt, job, rows, err);
    cfx_path_list_free(files);
    return rc;
}

static int predict_transformed(const cfx_bundle_t *b, const cfx_predict_job_t *job,
                               size_t *rows, cfx_error_t *err) {
    cfx_dataset_t ds;
    float *p = NULL;
    int rc = cfx_dataset_load(job->input, cfx_bundle_transform(b), &ds, err);
    if (rc != 0)
        return rc;
    p = malloc((ds.n + 1) * sizeof *p);
    if (p == NULL)
        rc = cfx_error_set(err, CFX_ENOMEM, "predict: out of memory");
    else if ((rc = cfx_bundle_predict_transformed(b, ds.dense, ds.cat, ds.n, p, err)) == 0) {
        if (emit(job->out, job->jsonl, p, ds.n) != 0)
            rc = cfx_error_set(err, CFX_EIO, "predict: writing the output: %s", strerror(errno));
        else
            *rows = ds.n;
    }
    free(p);
    cfx_dataset_free(&ds);
    return rc;
}

int cfx_predict_run(const cfx_predict_job_t *job, size_t *rows, cfx_error_t *err) {
    cfx_bundle_t *b = NULL;
    batch_t *bt = NULL;
    *rows = 0;
    int rc = cfx_bundle_load(job->bundle_dir, &b, err);
    if (rc != 0)
        return rc;
    if (!job->jsonl && fprintf(job->out, "probability,class\n") < 0) {
        rc = cfx_error_set(err, CFX_EIO, "predict: writing the output: %s", strerror(errno));
        goto out;
    }
    struct stat sb;
    if (stat(job->input, &sb) != 0) {
        rc = cfx_error_set(err, CFX_ENOTFOUND, "%s: %s", job->input, strerror(errno));
        goto out;
    }
    if (job->transformed) {
        rc = predict_transformed(b, job, rows, err);
        goto out;
    }
    bt = calloc(1, sizeof *bt);
    if (bt == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "predict: out of memory");
        goto out;
    }
    for (size_t i = 0; i < BATCH; i++)
        cfx_example_init(&bt->ex[i]);
    rc = S_ISDIR(sb.st_mode) ? predict_tfrecords(b, job, bt, rows, err)
                             : predict_csv(b, job, bt, rows, err);
out:
    if (bt) {
        for (size_t i = 0; i < BATCH; i++)
            cfx_example_free(&bt->ex[i]);
        free(bt);
    }
    cfx_bundle_free(b);
    return rc;
}

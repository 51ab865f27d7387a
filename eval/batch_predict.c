/*
 * batch_predict.c: `cfx predict` as a library call (batch_predict.h).
 * Rows are predicted in batches of BATCH raw examples.
 */
#include "eval/batch_predict.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "data/csv.h"
#include "formats/example.h"
#include "formats/tfrecord.h"
#include "model/bundle.h"
#include "model/network.h"
#include "train/trainer.h"

#define BATCH 256

typedef struct batch {
    cfx_example_t ex[BATCH];
    const cfx_example_t *ptr[BATCH];
    float *p; /* BATCH * output width */
    size_t n;
} batch_t;

/* The bundle's raw input names, comma separated, into buf (cut with "..."
 * when long); with col_of, only those it marks -1 (not in the header). */
static void input_names(const cfx_transform_t *t, const long *col_of, char *buf,
                        size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < cfx_transform_num_inputs(t); i++) {
        if (col_of && col_of[i] >= 0)
            continue;
        const char *name = cfx_transform_input(t, i)->name;
        size_t n = strlen(name);
        if (len + n + 6 >= cap) {
            snprintf(buf + len, cap - len, "%s...", len ? ", " : "");
            return;
        }
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "",
                                name);
    }
}

/* Where the row readers put examples: slot() gives the example to fill,
 * commit() takes it (predicting a full batch, or keeping it for a
 * benchmark); commit returns 1 to stop reading early. */
typedef struct sink {
    cfx_example_t *(*slot)(void *ctx);
    int (*commit)(void *ctx, cfx_error_t *err);
    void *ctx;
} sink_t;

typedef struct predict_ctx {
    const cfx_bundle_t *b;
    const cfx_predict_job_t *job;
    batch_t *bt;
    size_t *rows;
    int header; /* the CSV header is written */
} predict_ctx_t;

/* s as a CSV field (RFC 4180: quoted when it holds a comma, a quote or a
 * line break, quotes doubled). */
static int put_csv_field(FILE *out, const char *s) {
    if (!strpbrk(s, ",\"\r\n"))
        return fputs(s, out) < 0 ? -1 : 0;
    if (fputc('"', out) == EOF)
        return -1;
    for (; *s; s++)
        if ((*s == '"' && fputc('"', out) == EOF) || fputc(*s, out) == EOF)
            return -1;
    return fputc('"', out) == EOF ? -1 : 0;
}

/* s as a JSON string. */
static int put_json_string(FILE *out, const char *s) {
    json_t *j = json_string(s);
    char *d = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    int r = d && fputs(d, out) >= 0 ? 0 : -1;
    free(d);
    json_decref(j);
    return r;
}

/* The CSV header, once: before the first row, or alone at the end.
 * binary "probability,class"; multiclass one "probability:<label>" column
 * per class, then "class" (the label of the most probable one); regression
 * "value". */
static int header_once(const cfx_predict_job_t *job, const cfx_bundle_t *b,
                       int *done) {
    if (*done || job->jsonl)
        return 0;
    *done = 1;
    cfx_task_t task = cfx_bundle_task(b);
    if (task == CFX_TASK_BINARY)
        return fprintf(job->out, "probability,class\n") < 0 ? CFX_EIO : 0;
    if (task == CFX_TASK_REGRESSION)
        return fprintf(job->out, "value\n") < 0 ? CFX_EIO : 0;
    char name[CFX_TASK_MAX_LABEL_LEN + 16];
    for (size_t j = 0; j < cfx_bundle_num_classes(b); j++) {
        snprintf(name, sizeof name, "probability:%s",
                 cfx_bundle_class_label(b, j));
        if (put_csv_field(job->out, name) < 0 || fputc(',', job->out) == EOF)
            return CFX_EIO;
    }
    return fprintf(job->out, "class\n") < 0 ? CFX_EIO : 0;
}

static int emit(const cfx_predict_job_t *job, const cfx_bundle_t *b,
                int *header, const float *p, size_t n) {
    FILE *out = job->out;
    int jsonl = job->jsonl;
    if (n > 0 && header_once(job, b, header) != 0)
        return CFX_EIO;
    cfx_task_t task = cfx_bundle_task(b);
    size_t K = cfx_bundle_output_width(b);
    /* a binary model of classes "0" and "1" (a derived label) writes the
     * class as a number, as it always did */
    int numeric_classes = task == CFX_TASK_BINARY &&
                          !strcmp(cfx_bundle_class_label(b, 0), "0") &&
                          !strcmp(cfx_bundle_class_label(b, 1), "1");
    for (size_t i = 0; i < n; i++) {
        int r;
        if (task == CFX_TASK_BINARY && numeric_classes) {
            int cls = p[i] > 0.5f;
            r = jsonl ? fprintf(out, "{\"probability\":%.9g,\"class\":%d}\n",
                                (double)p[i], cls)
                      : fprintf(out, "%.9g,%d\n", (double)p[i], cls);
        } else if (task == CFX_TASK_BINARY) {
            /* classes named by the column's values: the label string */
            const char *label = cfx_bundle_class_label(b, p[i] > 0.5f);
            r = fprintf(out,
                        jsonl ? "{\"probability\":%.9g,\"class\":" : "%.9g,",
                        (double)p[i]);
            if (r >= 0)
                r = jsonl ? put_json_string(out, label)
                          : put_csv_field(out, label);
            if (r >= 0)
                r = fputs(jsonl ? "}\n" : "\n", out);
        } else if (task == CFX_TASK_REGRESSION) {
            r = jsonl ? fprintf(out, "{\"value\":%.9g}\n", (double)p[i])
                      : fprintf(out, "%.9g\n", (double)p[i]);
        } else {
            const float *q = p + i * K;
            size_t best = 0;
            for (size_t k = 1; k < K; k++)
                if (q[k] > q[best])
                    best = k;
            r = jsonl ? fputs("{\"probabilities\":[", out) : 0;
            for (size_t k = 0; k < K && r >= 0; k++)
                r = fprintf(out,
                            jsonl && k ? ",%.9g"
                            : jsonl    ? "%.9g"
                                       : "%.9g,",
                            (double)q[k]);
            if (r >= 0 && jsonl)
                r = fputs("],\"class\":", out);
            const char *label = cfx_bundle_class_label(b, best);
            if (r >= 0)
                r = jsonl ? put_json_string(out, label)
                          : put_csv_field(out, label);
            if (r >= 0)
                r = fputs(jsonl ? "}\n" : "\n", out);
        }
        if (r < 0)
            return CFX_EIO;
    }
    return 0;
}

static int flush_batch(const cfx_bundle_t *b, batch_t *bt,
                       const cfx_predict_job_t *job, int *header, size_t *rows,
                       cfx_error_t *err) {
    if (bt->n == 0)
        return 0;
    int rc = cfx_bundle_predict(b, bt->ptr, bt->n, bt->p, err);
    if (rc != 0)
        return rc;
    if (emit(job, b, header, bt->p, bt->n) != 0)
        return cfx_error_set(err, CFX_EIO, "predict: writing the output: %s",
                             strerror(errno));
    *rows += bt->n;
    bt->n = 0;
    return 0;
}

static cfx_example_t *predict_slot(void *ctx) {
    batch_t *bt = ((predict_ctx_t *)ctx)->bt;
    return &bt->ex[bt->n];
}

static int predict_commit(void *ctx, cfx_error_t *err) {
    predict_ctx_t *pc = ctx;
    batch_t *bt = pc->bt;
    bt->ptr[bt->n] = &bt->ex[bt->n];
    if (++bt->n == BATCH)
        return flush_batch(pc->b, bt, pc->job, &pc->header, pc->rows, err);
    return 0;
}

static int parse_cell(cfx_example_t *ex, const cfx_xf_input_t *in,
                      const char *s, size_t len, cfx_error_t *err) {
    char buf[128];
    if (len == 0)
        return 0; /* missing: the transform fills it */
    if (in->kind == CFX_KIND_BYTES) {
        cfx_bytes_t v = {(const uint8_t *)s, len};
        return cfx_example_add_bytes(ex, in->name, &v, 1);
    }
    if (len >= sizeof buf)
        return cfx_error_set(err, CFX_EPARSE, "column '%s': a %zu-byte number",
                             in->name, len);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    if (in->kind == CFX_KIND_INT64) {
        long long v = strtoll(buf, &end, 10);
        if (*end != '\0' || errno) {
            double d = strtod(buf, &end);
            if (*end != '\0' || d != floor(d) || fabs(d) > 9e15)
                return cfx_error_set(
                    err, CFX_EPARSE,
                    "column '%s': expected an integer, got \"%s\"", in->name,
                    buf);
            v = (long long)d;
        }
        int64_t x = v;
        return cfx_example_add_int64(ex, in->name, &x, 1);
    }
    float f = strtof(buf, &end);
    if (*end != '\0')
        return cfx_error_set(err, CFX_EPARSE,
                             "column '%s': expected a number, got \"%s\"",
                             in->name, buf);
    return cfx_example_add_float(ex, in->name, &f, 1);
}

static int read_csv(const cfx_bundle_t *b, const char *input, const sink_t *sk,
                    FILE *diag, cfx_error_t *err) {
    const cfx_transform_t *t = cfx_bundle_transform(b);
    cfx_csv_reader_t *r = NULL;
    long *col_of = NULL; /* per raw input: its CSV column, or -1 */
    size_t nin = cfx_transform_num_inputs(t);
    int rc = cfx_csv_open(input, &r, err);
    if (rc != 0)
        return rc;
    col_of = malloc((nin + 1) * sizeof *col_of);
    if (col_of == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "predict: out of memory");
        goto out;
    }
    size_t found = 0;
    for (size_t i = 0; i < nin; i++) {
        col_of[i] = -1;
        for (size_t c = 0; c < cfx_csv_num_columns(r); c++)
            if (!strcmp(cfx_csv_column(r, c), cfx_transform_input(t, i)->name))
                col_of[i] = (long)c;
        found += col_of[i] >= 0;
    }
    char names[1024];
    if (found == 0 && nin > 0) {
        input_names(t, NULL, names, sizeof names);
        rc = cfx_error_set(
            err, CFX_EINVAL,
            "%s: the header has none of the model's raw inputs (%s)", input,
            names);
        goto out;
    }
    if (found < nin && diag) {
        input_names(t, col_of, names, sizeof names);
        fprintf(diag,
                "cfx predict: warning: %s: %zu of the model's %zu raw inputs "
                "are not in the "
                "header, predicted as missing: %s\n",
                input, nin - found, nin, names);
    }
    cfx_csv_row_t row;
    while ((rc = cfx_csv_next(r, &row, err)) == 1) {
        cfx_example_t *ex = sk->slot(sk->ctx);
        if (ex == NULL) {
            rc = cfx_error_set(err, CFX_ENOMEM, "predict: out of memory");
            goto out;
        }
        cfx_example_reset(ex);
        for (size_t i = 0; i < nin; i++) {
            if (col_of[i] < 0)
                continue;
            const cfx_csv_cell_t *cell = &row.cells[col_of[i]];
            if ((rc = parse_cell(ex, cfx_transform_input(t, i), cell->data,
                                 cell->len, err)) != 0) {
                if (rc == CFX_ENOMEM)
                    cfx_error_set(err, rc, "out of memory");
                cfx_error_prefix(err, "%s:%llu", input,
                                 (unsigned long long)row.line);
                goto out;
            }
        }
        if ((rc = sk->commit(sk->ctx, err)) != 0)
            break;
    }
    if (rc > 0)
        rc = 0;
out:
    free(col_of);
    cfx_csv_close(r);
    return rc;
}

/* A raw record must name at least one raw input (transformed examples, or
 * another model's, name none). */
static int check_raw_record(const cfx_transform_t *t, const cfx_example_t *ex,
                            const char *file, cfx_error_t *err) {
    size_t nin = cfx_transform_num_inputs(t);
    for (size_t i = 0; i < nin; i++)
        if (cfx_example_find(ex, cfx_transform_input(t, i)->name))
            return 0;
    if (nin == 0)
        return 0;
    int transformed = 0;
    for (size_t i = 0; i < cfx_transform_num_outputs(t); i++)
        transformed |=
            cfx_example_find(ex, cfx_transform_output(t, i)->name) != NULL;
    char names[1024];
    input_names(t, NULL, names, sizeof names);
    return cfx_error_set(
        err, CFX_EINVAL,
        "%s: the first record has none of the model's raw inputs (%s)%s", file,
        names,
        transformed ? "; it holds transformed features: pass --transformed"
                    : "");
}

static int read_tfrecords(const cfx_transform_t *t, const char *input,
                          const sink_t *sk, cfx_error_t *err) {
    char **files = NULL;
    size_t nfiles = 0;
    int rc = cfx_tfrecord_list_dir(input, &files, &nfiles, err);
    if (rc != 0)
        return rc;
    for (size_t fi = 0; fi < nfiles && rc == 0; fi++) {
        cfx_tfrecord_reader_t *r = NULL;
        if ((rc = cfx_tfrecord_reader_open(files[fi], &r, err)) != 0)
            break;
        for (int first = 1;; first = 0) {
            const uint8_t *data;
            size_t len;
            uint64_t off = cfx_tfrecord_reader_offset(r);
            rc = cfx_tfrecord_read(r, &data, &len, err);
            if (rc <= 0)
                break;
            cfx_example_t *ex = sk->slot(sk->ctx);
            if (ex == NULL) {
                rc = cfx_error_set(err, CFX_ENOMEM, "predict: out of memory");
                break;
            }
            if ((rc = cfx_example_decode(ex, data, len, err)) != 0) {
                cfx_error_prefix(err, "%s: offset %llu", files[fi],
                                 (unsigned long long)off);
                break;
            }
            if (first && (rc = check_raw_record(t, ex, files[fi], err)) != 0)
                break;
            if ((rc = sk->commit(sk->ctx, err)) != 0)
                break;
        }
        cfx_tfrecord_reader_free(r);
    }
    if (rc > 0)
        rc = 0;
    cfx_path_list_free(files);
    return rc;
}

static int predict_transformed(const cfx_bundle_t *b,
                               const cfx_predict_job_t *job, size_t *rows,
                               cfx_error_t *err) {
    cfx_dataset_t ds;
    float *p = NULL;
    int rc = cfx_dataset_load(job->input, cfx_bundle_transform(b), &ds, err);
    if (rc != 0)
        return rc;
    p = malloc((ds.n + 1) * cfx_bundle_output_width(b) * sizeof *p);
    int header = 0;
    if (p == NULL)
        rc = cfx_error_set(err, CFX_ENOMEM, "predict: out of memory");
    else if ((rc = cfx_bundle_predict_transformed(b, ds.dense, ds.cat, ds.n, p,
                                                  err)) == 0) {
        if (emit(job, b, &header, p, ds.n) != 0 ||
            header_once(job, b, &header) != 0)
            rc = cfx_error_set(err, CFX_EIO, "predict: writing the output: %s",
                               strerror(errno));
        else
            *rows = ds.n;
    }
    free(p);
    cfx_dataset_free(&ds);
    return rc;
}

int cfx_predict_run(const cfx_predict_job_t *job, size_t *rows,
                    cfx_error_t *err) {
    cfx_bundle_t *b = NULL;
    batch_t *bt = NULL;
    *rows = 0;
    int rc = cfx_bundle_load(job->bundle_dir, &b, err);
    if (rc != 0)
        return rc;
    struct stat sb;
    if (stat(job->input, &sb) != 0) {
        rc = cfx_error_set(err, CFX_ENOTFOUND, "%s: %s", job->input,
                           strerror(errno));
        goto out;
    }
    if (job->transformed) {
        rc = predict_transformed(b, job, rows, err);
        goto out;
    }
    bt = calloc(1, sizeof *bt);
    if (bt &&
        !(bt->p = malloc(BATCH * cfx_bundle_output_width(b) * sizeof *bt->p))) {
        free(bt);
        bt = NULL;
    }
    if (bt == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "predict: out of memory");
        goto out;
    }
    for (size_t i = 0; i < BATCH; i++)
        cfx_example_init(&bt->ex[i]);
    predict_ctx_t pc = {b, job, bt, rows, 0};
    sink_t sk = {predict_slot, predict_commit, &pc};
    rc = S_ISDIR(sb.st_mode)
             ? read_tfrecords(cfx_bundle_transform(b), job->input, &sk, err)
             : read_csv(b, job->input, &sk, job->diag, err);
    if (rc == 0)
        rc = flush_batch(b, bt, job, &pc.header, rows, err);
    if (rc == 0 && header_once(job, b, &pc.header) != 0)
        rc = cfx_error_set(err, CFX_EIO, "predict: writing the output: %s",
                           strerror(errno));
out:
    if (bt) {
        for (size_t i = 0; i < BATCH; i++)
            cfx_example_free(&bt->ex[i]);
        free(bt->p);
        free(bt);
    }
    cfx_bundle_free(b);
    return rc;
}

/* ---- benchmark ---------------------------------------------------------- */

#define BENCH_MAX_ROWS 100000

typedef struct bench_rows {
    cfx_example_t *ex;
    const cfx_example_t **ptr;
    size_t n, inited, cap;
} bench_rows_t;

static cfx_example_t *bench_slot(void *ctx) {
    bench_rows_t *br = ctx;
    if (br->n == br->cap) {
        size_t nc = br->cap ? 2 * br->cap : 1024;
        cfx_example_t *e = realloc(br->ex, nc * sizeof *e);
        if (e == NULL)
            return NULL;
        br->ex = e;
        br->cap = nc;
    }
    if (br->inited == br->n) {
        cfx_example_init(&br->ex[br->n]);
        br->inited++;
    }
    return &br->ex[br->n];
}

static int bench_commit(void *ctx, cfx_error_t *err) {
    (void)err;
    bench_rows_t *br = ctx;
    return ++br->n >= BENCH_MAX_ROWS ? 1 : 0;
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Reference: one example at a time, transform then the textbook forward. */
static int ref_predict(const cfx_bundle_t *b, const cfx_example_t *ex,
                       float *dense, int32_t *cat, float *p, cfx_error_t *err) {
    int rc = cfx_transform_apply(cfx_bundle_transform(b), ex, dense, cat, err);
    if (rc != 0)
        return rc;
    cfx_bundle_forward_ref(b, dense, cat, 1, p);
    cfx_head_apply(cfx_bundle_head(b), p, 1, p);
    return 0;
}

/* The network alone over transformed rows. */
static int bench_network(const cfx_bundle_t *b, const char *input,
                         double min_seconds, cfx_predict_bench_t *out,
                         cfx_error_t *err) {
    cfx_dataset_t ds;
    int rc = cfx_dataset_load(input, cfx_bundle_transform(b), &ds, err);
    if (rc != 0)
        return rc;
    size_t nd = ds.num_dense, nc = ds.num_categorical, done;
    size_t W = cfx_bundle_output_width(b);
    float *p = malloc((ds.n + 1) * W * sizeof *p),
          *q = malloc((ds.n + 1) * W * sizeof *q);
    double t0, t;
    if (p == NULL || q == NULL || ds.n == 0) {
        rc = cfx_error_set(err, ds.n ? CFX_ENOMEM : CFX_EINVAL, "bench: %s",
                           ds.n ? "out of memory" : "no rows");
        goto out;
    }
    out->rows = ds.n;
    done = 0;
    t0 = cpu_s();
    do {
        for (size_t i = 0; i < ds.n; i++)
            if ((rc = cfx_bundle_predict_transformed(b, ds.dense + i * nd,
                                                     ds.cat + i * nc, 1,
                                                     p + i * W, err)) != 0)
                goto out;
        done += ds.n;
    } while ((t = cpu_s() - t0) < min_seconds);
    out->single_us = t / (double)done * 1e6;
    done = 0;
    t0 = cpu_s();
    do {
        if ((rc = cfx_bundle_predict_transformed(b, ds.dense, ds.cat, ds.n, p,
                                                 err)) != 0)
            goto out;
        done += ds.n;
    } while ((t = cpu_s() - t0) < min_seconds);
    out->batched_per_s = (double)done / t;
    done = 0;
    t0 = cpu_s();
    do {
        for (size_t i = 0; i < ds.n; i++) {
            cfx_bundle_forward_ref(b, ds.dense + i * nd, ds.cat + i * nc, 1,
                                   q + i * W);
            cfx_head_apply(cfx_bundle_head(b), q + i * W, 1, q + i * W);
        }
        done += ds.n;
    } while ((t = cpu_s() - t0) < min_seconds);
    out->ref_single_us = t / (double)done * 1e6;
    out->ref_per_s = (double)done / t;
    for (size_t i = 0; i < ds.n * W; i++) {
        double d = fabs((double)p[i] - q[i]);
        if (d > out->max_abs_diff)
            out->max_abs_diff = d;
    }
out:
    free(p);
    free(q);
    cfx_dataset_free(&ds);
    return rc;
}

int cfx_predict_bench(const char *bundle_dir, const char *input,
                      int transformed, double min_seconds,
                      cfx_predict_bench_t *out, cfx_error_t *err) {
    cfx_bundle_t *b = NULL;
    bench_rows_t br = {0};
    float *p = NULL, *q = NULL, *dense = NULL;
    int32_t *cat = NULL;
    memset(out, 0, sizeof *out);
    int rc = cfx_bundle_load(bundle_dir, &b, err);
    if (rc != 0)
        return rc;
    struct stat sb;
    if (stat(input, &sb) != 0) {
        rc =
            cfx_error_set(err, CFX_ENOTFOUND, "%s: %s", input, strerror(errno));
        goto out;
    }
    if (transformed) {
        rc = bench_network(b, input, min_seconds, out, err);
        goto out;
    }
    sink_t sk = {bench_slot, bench_commit, &br};
    rc = S_ISDIR(sb.st_mode)
             ? read_tfrecords(cfx_bundle_transform(b), input, &sk, err)
             : read_csv(b, input, &sk, NULL, err);
    if (rc != 0)
        goto out;
    if (br.n == 0) {
        rc = cfx_error_set(err, CFX_EINVAL, "%s: no rows", input);
        goto out;
    }
    const cfx_transform_t *xf = cfx_bundle_transform(b);
    size_t W = cfx_bundle_output_width(b);
    br.ptr = malloc(br.n * sizeof *br.ptr);
    p = malloc(br.n * W * sizeof *p);
    q = malloc(br.n * W * sizeof *q);
    dense = malloc((cfx_transform_num_dense(xf) + 1) * sizeof *dense);
    cat = malloc((cfx_transform_num_categorical(xf) + 1) * sizeof *cat);
    if (!br.ptr || !p || !q || !dense || !cat) {
        rc = cfx_error_set(err, CFX_ENOMEM, "bench: out of memory");
        goto out;
    }
    for (size_t i = 0; i < br.n; i++)
        br.ptr[i] = &br.ex[i];
    out->rows = br.n;
    size_t done;
    double t0, t;
    /* single example per call */
    done = 0;
    t0 = cpu_s();
    do {
        for (size_t i = 0; i < br.n; i++)
            if ((rc = cfx_bundle_predict(b, &br.ptr[i], 1, p + i * W, err)) !=
                0)
                goto out;
        done += br.n;
    } while ((t = cpu_s() - t0) < min_seconds);
    out->single_us = t / (double)done * 1e6;
    /* batches of 256 */
    done = 0;
    t0 = cpu_s();
    do {
        for (size_t i = 0; i < br.n; i += 256) {
            size_t n = br.n - i < 256 ? br.n - i : 256;
            if ((rc = cfx_bundle_predict(b, br.ptr + i, n, p + i * W, err)) !=
                0)
                goto out;
        }
        done += br.n;
    } while ((t = cpu_s() - t0) < min_seconds);
    out->batched_per_s = (double)done / t;
    /* the plain reference loop */
    done = 0;
    t0 = cpu_s();
    do {
        for (size_t i = 0; i < br.n; i++)
            if ((rc = ref_predict(b, br.ptr[i], dense, cat, q + i * W, err)) !=
                0)
                goto out;
        done += br.n;
    } while ((t = cpu_s() - t0) < min_seconds);
    out->ref_single_us = t / (double)done * 1e6;
    out->ref_per_s = (double)done / t;
    for (size_t i = 0; i < br.n * W; i++) {
        double d = fabs((double)p[i] - q[i]);
        if (d > out->max_abs_diff)
            out->max_abs_diff = d;
    }
out:
    for (size_t i = 0; i < br.inited; i++)
        cfx_example_free(&br.ex[i]);
    free(br.ex);
    free(br.ptr);
    free(p);
    free(q);
    free(dense);
    free(cat);
    cfx_bundle_free(b);
    return rc;
}

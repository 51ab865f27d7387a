/*
 * trainer_log.c: TensorBoard event files and the metrics CSV of a training
 * run (trainer_log.h). Events are encoded with the protobuf-c code
 * generated from proto/event.proto and framed by formats/tfrecord.
 */
#include "train/trainer_log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "event.pb-c.h"
#include "formats/buf.h"
#include "formats/file.h"
#include "formats/tfrecord.h"

struct cfx_train_log {
    cfx_tfrecord_writer_t *train, *eval;
    FILE *csv;
    char csv_path[4096];
    cfx_buf_t buf;
};

static double wall_now(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec * 1e-6;
}

int cfx_train_log_encode_event(double wall_time, long long step,
                               const char *const *tags, const float *values,
                               size_t n, cfx_buf_t *out) {
    Tensorflow__Event ev = TENSORFLOW__EVENT__INIT;
    Tensorflow__Summary sum = TENSORFLOW__SUMMARY__INIT;
    Tensorflow__Summary__Value vals[8];
    Tensorflow__Summary__Value *pv[8];
    if (n > 8)
        return CFX_EINVAL;
    ev.wall_time = wall_time;
    ev.step = step;
    if (tags == NULL) {
        ev.what_case = TENSORFLOW__EVENT__WHAT_FILE_VERSION;
        ev.file_version = (char *)"brain.Event:2";
    } else {
        for (size_t i = 0; i < n; i++) {
            Tensorflow__Summary__Value v = TENSORFLOW__SUMMARY__VALUE__INIT;
            v.tag = (char *)tags[i];
            v.value_case = TENSORFLOW__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
            v.simple_value = values[i];
            vals[i] = v;
            pv[i] = &vals[i];
        }
        sum.n_value = n;
        sum.value = pv;
        ev.what_case = TENSORFLOW__EVENT__WHAT_SUMMARY;
        ev.summary = &sum;
    }
    size_t len = tensorflow__event__get_packed_size(&ev);
    if (cfx_buf_reserve(out, len) != 0)
        return CFX_ENOMEM;
    tensorflow__event__pack(&ev, out->data + out->len);
    out->len += len;
    return 0;
}

static int open_events(const char *dir, const char *split,
                       cfx_tfrecord_writer_t **w, cfx_buf_t *buf,
                       cfx_error_t *err) {
    char path[4096], host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    double now = wall_now();
    snprintf(path, sizeof path, "%s/%s", dir, split);
    int rc = cfx_file_mkdirs(path, err);
    if (rc != 0)
        return rc;
    snprintf(path, sizeof path, "%s/%s/events.out.tfevents.%lld.%s", dir, split,
             (long long)now, host);
    if ((rc = cfx_tfrecord_writer_open(path, w, err)) != 0)
        return rc;
    cfx_buf_reset(buf);
    if (cfx_train_log_encode_event(now, 0, NULL, NULL, 0, buf) != 0)
        return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", path);
    return cfx_tfrecord_write(*w, buf->data, buf->len, err);
}

int cfx_train_log_open(const char *logs_dir, cfx_train_log_t **out,
                       cfx_error_t *err) {
    *out = NULL;
    cfx_train_log_t *l = calloc(1, sizeof *l);
    if (l == NULL)
        return cfx_error_set(err, CFX_ENOMEM, "train log: out of memory");
    cfx_buf_init(&l->buf);
    int rc;
    if ((rc = cfx_file_mkdirs(logs_dir, err)) != 0 ||
        (rc = open_events(logs_dir, "train", &l->train, &l->buf, err)) != 0 ||
        (rc = open_events(logs_dir, "eval", &l->eval, &l->buf, err)) != 0)
        goto fail;
    snprintf(l->csv_path, sizeof l->csv_path, "%s/metrics.csv", logs_dir);
    l->csv = fopen(l->csv_path, "w");
    if (l->csv == NULL) {
        rc =
            cfx_error_set(err, CFX_EIO, "%s: %s", l->csv_path, strerror(errno));
        goto fail;
    }
    fprintf(l->csv, "split,step,wall_time,loss,accuracy,auc,examples\n");
    *out = l;
    return 0;
fail:
    if (l->train)
        cfx_tfrecord_writer_abort(l->train);
    if (l->eval)
        cfx_tfrecord_writer_abort(l->eval);
    cfx_buf_free(&l->buf);
    free(l);
    return rc;
}

int cfx_train_log_scalars(void *ctx, const char *split, size_t step,
                          const cfx_train_metrics_t *m, cfx_error_t *err) {
    cfx_train_log_t *l = ctx;
    static const char *const all_tags[] = {"loss", "accuracy", "auc"};
    double all[3] = {m->loss, m->accuracy, m->auc};
    /* only the metrics the task has (no AUC for classes or a regression) */
    const char *tags[3];
    float vals[3];
    size_t n = 0;
    for (size_t i = 0; i < 3; i++)
        if (i == 0 || !isnan(all[i])) {
            tags[n] = all_tags[i];
            vals[n++] = (float)all[i];
        }
    double now = wall_now();
    cfx_buf_reset(&l->buf);
    if (cfx_train_log_encode_event(now, (long long)step, tags, vals, n,
                                   &l->buf) != 0)
        return cfx_error_set(err, CFX_ENOMEM, "train log: out of memory");
    int rc = cfx_tfrecord_write(strcmp(split, "eval") ? l->train : l->eval,
                                l->buf.data, l->buf.len, err);
    if (rc != 0)
        return rc;
    if (fprintf(l->csv, "%s,%zu,%.3f,%.6f,%.6f,%.6f,%zu\n", split, step, now,
                m->loss, m->accuracy, m->auc, m->count) < 0)
        return cfx_error_set(err, CFX_EIO, "%s: write failed", l->csv_path);
    return 0;
}

int cfx_train_log_close(cfx_train_log_t *l, cfx_error_t *err) {
    if (l == NULL)
        return 0;
    int rc = 0, r;
    if ((r = cfx_tfrecord_writer_close(l->train, err)) != 0)
        rc = r;
    if ((r = cfx_tfrecord_writer_close(l->eval, rc ? NULL : err)) != 0 &&
        rc == 0)
        rc = r;
    if ((fflush(l->csv) != 0 || fsync(fileno(l->csv)) != 0) && rc == 0)
        rc =
            cfx_error_set(err, CFX_EIO, "%s: %s", l->csv_path, strerror(errno));
    if (fclose(l->csv) != 0 && rc == 0)
        rc =
            cfx_error_set(err, CFX_EIO, "%s: %s", l->csv_path, strerror(errno));
    cfx_buf_free(&l->buf);
    free(l);
    return rc;
}

/*
 * trainer_job.c: `cfx train` as a library call (trainer_job.h): data in,
 * ModelRun and bundle out.
 */
#include "train/trainer_job.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "formats/base64.h"
#include "formats/buf.h"
#include "formats/clock.h"
#include "formats/example.h"
#include "formats/file.h"
#include "formats/safetensors.h"
#include "formats/tfrecord.h"
#include "model/bundle_writer.h"
#include "train/gbt.h"
#include "train/trainer_log.h"

static json_t *bytes_json(const cfx_bytes_t *b) {
    json_t *s = json_stringn((const char *)b->data, b->len);
    if (s != NULL)
        return s;
    cfx_buf_t enc;
    cfx_buf_init(&enc);
    json_t *o = NULL;
    if (cfx_base64_encode(b->data, b->len, &enc) == 0)
        o = json_pack("{s:s%}", "b64", (const char *)enc.data, enc.len);
    cfx_buf_free(&enc);
    return o;
}

/* The shortest decimal that reads back as the same float (5.85, not
 * 5.8499999), so warmup rows look like what a client sends. */
static json_t *float_json(float f) {
    char buf[32];
    if (!isfinite(f))
        return json_null();
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if ((float)strtod(buf, NULL) == f)
            break;
    }
    return json_real(strtod(buf, NULL));
}

static json_t *value_json(const cfx_feature_t *f, size_t i) {
    switch (f->kind) {
    case CFX_KIND_INT64:
        return json_integer((json_int_t)f->v.ints[i]);
    case CFX_KIND_FLOAT:
        return float_json(f->v.floats[i]);
    case CFX_KIND_BYTES:
        return bytes_json(&f->v.bytes[i]);
    default:
        return json_null();
    }
}

int cfx_trainer_warmup_line(const cfx_transform_t *t, const cfx_example_t *raw,
                            cfx_buf_t *out) {
    json_t *o = json_object();
    if (o == NULL)
        return CFX_ENOMEM;
    for (size_t i = 0; i < cfx_transform_num_inputs(t); i++) {
        const cfx_xf_input_t *in = cfx_transform_input(t, i);
        const cfx_feature_t *f = cfx_example_find(raw, in->name);
        if (f == NULL || f->count == 0 || f->kind == CFX_KIND_NONE)
            continue;
        json_t *v;
        if (f->count == 1) {
            v = value_json(f, 0);
        } else {
            v = json_array();
            for (size_t k = 0; v && k < f->count; k++)
                json_array_append_new(v, value_json(f, k));
        }
        json_object_set_new(o, in->name, v);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                JSON_REAL_PRECISION(9));
    json_decref(o);
    if (s == NULL)
        return CFX_ENOMEM;
    int rc = cfx_buf_append(out, s, strlen(s));
    if (rc == 0)
        rc = cfx_buf_putc(out, '\n');
    free(s);
    return rc;
}

/* Up to CFX_WARMUP_ROWS lines from the eval split of the raw examples. */
static int build_warmup(const char *raw_dir, const cfx_transform_t *t,
                        cfx_buf_t *out, size_t *rows, cfx_error_t *err) {
    char **files = NULL;
    size_t nfiles = 0;
    cfx_example_t ex;
    cfx_example_init(&ex);
    *rows = 0;
    int rc = cfx_tfrecord_list_split(raw_dir, "eval", &files, &nfiles, err);
    if (rc != 0)
        goto out;
    for (size_t fi = 0; fi < nfiles && *rows < CFX_WARMUP_ROWS; fi++) {
        cfx_tfrecord_reader_t *r = NULL;
        if ((rc = cfx_tfrecord_reader_open(files[fi], &r, err)) != 0)
            goto out;
        while (*rows < CFX_WARMUP_ROWS) {
            const uint8_t *data;
            size_t len;
            rc = cfx_tfrecord_read(r, &data, &len, err);
            if (rc <= 0)
                break;
            if ((rc = cfx_example_decode(&ex, data, len, err)) != 0) {
                cfx_error_prefix(err, "%s", files[fi]);
                break;
            }
            if ((rc = cfx_trainer_warmup_line(t, &ex, out)) != 0) {
                cfx_error_set(err, rc, "warmup: out of memory");
                break;
            }
            (*rows)++;
        }
        cfx_tfrecord_reader_free(r);
        if (rc < 0)
            goto out;
        rc = 0;
    }
out:
    if (files)
        cfx_path_list_free(files);
    cfx_example_free(&ex);
    return rc;
}

static int mkdir_one(const char *p, cfx_error_t *err) {
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return cfx_error_set(err, CFX_EIO, "%s: %s", p, strerror(errno));
    return 0;
}

/* The head from the transform graph's label (task and classes); for a
 * regression the train split's label mean and standard deviation, which
 * the network is trained to predict in units of (docs/model.md). */
static int label_loss(const cfx_transform_t *t, const cfx_dataset_t *train,
                      cfx_trainer_loss_t *loss, cfx_head_t *head,
                      cfx_error_t *err) {
    if (!cfx_transform_label_head(t))
        return cfx_error_set(err, CFX_EINVAL,
                             "train: the transform graph defines no label");
    int rc = cfx_head_copy(head, cfx_transform_label_head(t), err);
    if (rc != 0)
        return rc;
    loss->task = head->task;
    loss->label_mean = 0.0;
    loss->label_std = 1.0;
    if (head->task == CFX_TASK_REGRESSION && train->n > 0) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < train->n; i++)
            sum += train->label[i];
        double mean = sum / (double)train->n;
        for (size_t i = 0; i < train->n; i++)
            sq += ((double)train->label[i] - mean) *
                  ((double)train->label[i] - mean);
        double sd = sqrt(sq / (double)train->n);
        loss->label_mean = mean;
        loss->label_std = sd > 1e-12 ? sd : 1.0;
    }
    head->label_mean = loss->label_mean;
    head->label_std = loss->label_std;
    return 0;
}

/* A metric for the manifest: null when not defined (NaN). */
static json_t *metric_json(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

static int write_bundle(const cfx_train_job_t *job,
                        const cfx_trainer_config_t *cfg, const cfx_net_t *net,
                        const cfx_transform_t *t, const cfx_head_t *head,
                        json_t *trees, const cfx_gbt_result_t *gres,
                        cfx_train_result_t *res, cfx_error_t *err) {
    int rc = 0;
    char path[4096], model_dir[4096];
    cfx_bundle_writer_t *w = NULL;
    json_t *manifest = NULL;
    cfx_buf_t buf;
    cfx_st_tensor_t *ts = calloc(net ? net->num_tensors + 1 : 1, sizeof *ts);
    cfx_buf_init(&buf);
    if (ts == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "train: out of memory");
        goto out;
    }
    if (job->model_dir)
        snprintf(model_dir, sizeof model_dir, "%s", job->model_dir);
    else
        snprintf(model_dir, sizeof model_dir, "%s/model", job->output_dir);
    if ((rc = cfx_bundle_writer_open(model_dir, &w, err)) != 0)
        goto out;
    /* raw input schema: TFX keeps it at transform_graph/metadata/ */
    snprintf(path, sizeof path, "%s/metadata/schema.pbtxt",
             job->transform_graph_dir);
    if (!cfx_file_is_regular(path))
        snprintf(path, sizeof path, "%s/schema.pbtxt",
                 job->transform_graph_dir);
    if (cfx_file_is_regular(path) &&
        (rc = cfx_bundle_writer_add_file(w, "schema.pbtxt", path, err)) != 0)
        goto out;
    snprintf(path, sizeof path, "%s/transform.json", job->transform_graph_dir);
    if ((rc = cfx_bundle_writer_add_file(w, "transform.json", path, err)) != 0)
        goto out;
    snprintf(path, sizeof path, "%s/assets", job->transform_graph_dir);
    if (cfx_file_is_dir(path) &&
        (rc = cfx_bundle_writer_add_dir(w, "assets", path, err)) != 0)
        goto out;
    for (size_t i = 0; net && i < net->num_tensors; i++) {
        const cfx_net_tensor_t *nt = &net->tensors[i];
        ts[i].name = nt->name;
        ts[i].ndim = nt->ndim;
        ts[i].shape[0] = nt->shape[0];
        ts[i].shape[1] = nt->shape[1];
        ts[i].data = net->params + nt->offset;
    }
    cfx_st_meta_t meta[] = {{"format", "cfx"}, {"model_name", cfg->model_name}};
    if (net && ((rc = cfx_safetensors_encode(ts, net->num_tensors, meta, 2,
                                             &buf, err)) != 0 ||
                (rc = cfx_bundle_writer_add(w, "variables/model.safetensors",
                                            buf.data, buf.len, err)) != 0))
        goto out;
    if (job->raw_examples_dir) {
        cfx_buf_reset(&buf);
        if ((rc = build_warmup(job->raw_examples_dir, t, &buf,
                               &res->warmup_rows, err)) != 0)
            goto out;
        if (res->warmup_rows &&
            (rc = cfx_bundle_writer_add(w, "assets.extra/warmup.jsonl",
                                        buf.data, buf.len, err)) != 0)
            goto out;
    }
    manifest = cfx_bundle_manifest_new(cfg->model_name, net, t);
    if (manifest == NULL || cfx_bundle_manifest_set_head(manifest, head) < 0) {
        rc = cfx_error_set(err, CFX_ENOMEM, "train: out of memory");
        goto out;
    }
    if (trees && (rc = cfx_gbt_bundle_add(w, manifest, trees, gres, err)) != 0)
        goto out;
    json_t *training = json_pack(
        "{s:I, s:I, s:f, s:I, s:I, s:I, s:{s:o, s:o, s:o, s:I}}", "train_steps",
        (json_int_t)cfg->train_steps, "batch_size", (json_int_t)cfg->batch_size,
        "learning_rate", cfg->learning_rate, "seed", (json_int_t)cfg->seed,
        "train_rows", (json_int_t)res->train_rows, "eval_rows",
        (json_int_t)res->eval_rows, "eval", "loss", metric_json(res->eval.loss),
        "accuracy", metric_json(res->eval.accuracy), "auc",
        metric_json(res->eval.auc), "examples", (json_int_t)res->eval.count);
    /* the network's regularisation and schedule (docs/model.md, the
     * manifest table): a bundle says how its weights were trained */
    json_t *reg =
        net ? json_pack("{s:f, s:f, s:I, s:f, s:f, s:I}", "l2", cfg->l2,
                        "dropout", cfg->dropout, "lr_decay_steps",
                        (json_int_t)cfg->lr_decay_steps, "lr_decay_rate",
                        cfg->lr_decay_rate, "validation_fraction",
                        cfg->validation_fraction, "early_stopping_evals",
                        (json_int_t)cfg->early_stopping_evals)
            : NULL;
    if (training == NULL ||
        (net && (reg == NULL || json_object_update(training, reg) < 0))) {
        json_decref(reg);
        json_decref(training);
        rc = cfx_error_set(err, CFX_ENOMEM, "train: out of memory");
        goto out;
    }
    json_decref(reg);
    if (job->pipeline_name)
        json_object_set_new(training, "pipeline",
                            json_string(job->pipeline_name));
    json_object_set_new(manifest, "training", training);
    rc = cfx_bundle_writer_commit(w, manifest, err);
    w = NULL;
out:
    if (w)
        cfx_bundle_writer_abort(w);
    json_decref(manifest);
    cfx_buf_free(&buf);
    free(ts);
    return rc;
}

/* The config's embedding_dim per categorical slot (deep ones only): one
 * width for every deep categorical, or the listed outputs' own. */
static int embedding_dims(const cfx_train_job_t *job,
                          const cfx_trainer_config_t *cfg,
                          const cfx_transform_t *t, const uint8_t *deep,
                          size_t *emb, cfx_error_t *err) {
    const char *file = job->config_path ? job->config_path : "config";
    size_t nc = cfx_transform_num_categorical(t), any = 0;
    if (!cfg->deep_categorical)
        return cfg->embedding_dim || cfg->num_embedding_features
                   ? cfx_error_set(err, CFX_EINVAL,
                                   "%s: 'embedding_dim': no categorical output "
                                   "goes into the deep part "
                                   "('deep_categorical' is false)",
                                   file)
                   : 0;
    for (size_t c = 0; c < nc; c++)
        if (deep[c]) {
            emb[c] = cfg->embedding_dim;
            any = 1;
        }
    if (cfg->embedding_dim && !any)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: 'embedding_dim': the transform graph has no "
                             "categorical output",
                             file);
    for (size_t i = 0; i < cfg->num_embedding_features; i++) {
        long k = cfx_transform_find_output(t, cfg->embedding_features[i]);
        const cfx_xf_output_t *o =
            k >= 0 ? cfx_transform_output(t, (size_t)k) : NULL;
        if (o == NULL || o->kind != CFX_XF_CATEGORICAL || !deep[o->slot])
            return cfx_error_set(
                err, CFX_EINVAL,
                "%s: 'embedding_dim': '%s' is not a categorical output of the "
                "transform graph that goes into the deep part "
                "('deep_categorical')",
                file, cfg->embedding_features[i]);
        emb[o->slot] = cfg->embedding_dims[i];
    }
    return 0;
}

int cfx_trainer_run(const cfx_train_job_t *job, cfx_train_result_t *res,
                    cfx_error_t *err) {
    int rc = 0;
    cfx_trainer_config_t cfg;
    cfx_transform_t *t = NULL;
    cfx_net_t *net = NULL;
    cfx_train_log_t *log = NULL;
    cfx_dataset_t train, eval;
    const char **names = NULL;
    int64_t *card = NULL;
    uint8_t *deep = NULL;
    size_t *emb = NULL;
    char path[4096];
    cfx_head_t head;
    memset(&head, 0, sizeof head);
    json_t *trees = NULL; /* the gbt model type's cfx-trees JSON */
    cfx_gbt_result_t gres;
    memset(&gres, 0, sizeof gres);
    memset(res, 0, sizeof *res);
    cfx_dataset_init(&train, 0, 0);
    cfx_dataset_init(&eval, 0, 0);
    if (!job->output_dir && (!job->model_dir || !job->logs_dir))
        return cfx_error_set(err, CFX_EINVAL, "train: no output folder");
    if (job->config_path)
        rc = cfx_trainer_config_load(job->config_path, &cfg, err);
    else
        cfx_trainer_config_default(&cfg);
    if (rc != 0)
        goto out;
    if ((rc = cfx_transform_load(job->transform_graph_dir, &t, err)) != 0)
        goto out;
    snprintf(path, sizeof path, "%s/Split-train", job->examples_dir);
    if ((rc = cfx_dataset_load(path, t, &train, err)) != 0)
        goto out;
    snprintf(path, sizeof path, "%s/Split-eval", job->examples_dir);
    if (cfx_file_is_dir(path) &&
        (rc = cfx_dataset_load(path, t, &eval, err)) != 0)
        goto out;
    res->train_rows = train.n;
    res->eval_rows = eval.n;
    size_t nc = cfx_transform_num_categorical(t);
    names = calloc(nc + 1, sizeof *names);
    card = calloc(nc + 1, sizeof *card);
    deep = calloc(nc + 1, sizeof *deep);
    emb = calloc(nc + 1, sizeof *emb);
    if (names == NULL || card == NULL || deep == NULL || emb == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "train: out of memory");
        goto out;
    }
    for (size_t i = 0; i < cfx_transform_num_outputs(t); i++) {
        const cfx_xf_output_t *o = cfx_transform_output(t, i);
        if (o->kind == CFX_XF_CATEGORICAL) {
            names[o->slot] = o->name;
            card[o->slot] = o->cardinality;
            deep[o->slot] = cfg.num_deep_features == 0;
        }
    }
    for (size_t i = 0; i < cfg.num_deep_features; i++) {
        long k = cfx_transform_find_output(t, cfg.deep_features[i]);
        const cfx_xf_output_t *o =
            k >= 0 ? cfx_transform_output(t, (size_t)k) : NULL;
        if (o == NULL || o->kind != CFX_XF_CATEGORICAL) {
            rc = cfx_error_set(
                err, CFX_EINVAL,
                "%s: deep_categorical: '%s' is not a categorical output of the "
                "transform graph",
                job->config_path ? job->config_path : "config",
                cfg.deep_features[i]);
            goto out;
        }
        deep[o->slot] = 1;
    }
    if (!cfg.model_gbt &&
        (rc = embedding_dims(job, &cfg, t, deep, emb, err)) != 0)
        goto out;
    if ((rc = label_loss(t, &train, &cfg.loss, &head, err)) != 0)
        goto out;
    if (cfg.model_gbt &&
        (rc = cfx_gbt_config_check_task(
             &cfg.gbt, head.task,
             job->config_path ? job->config_path : "config", err)) != 0)
        goto out;
    if (cfg.model_gbt) { /* trees predict the value itself (train/gbt.h) */
        head.label_mean = 0.0;
        head.label_std = 1.0;
    }
    cfx_net_spec_t spec = {.num_dense = cfx_transform_num_dense(t),
                           .num_categorical = nc,
                           .cat_names = names,
                           .cat_cardinality = card,
                           .num_hidden = cfg.num_hidden,
                           .deep_categorical = cfg.deep_categorical,
                           .cat_deep = deep,
                           .cat_embedding_dim = emb,
                           .num_outputs = cfx_head_num_logits(&head)};
    memcpy(spec.hidden, cfg.hidden, sizeof spec.hidden);
    if ((rc = cfx_net_new(&spec, &net, err)) != 0) {
        if (cfg.embedding_dim || cfg.num_embedding_features)
            cfx_error_prefix(err, "%s: embedding_dim",
                             job->config_path ? job->config_path : "config");
        goto out;
    }
    if (job->output_dir && (rc = mkdir_one(job->output_dir, err)) != 0)
        goto out;
    if (job->model_dir)
        snprintf(path, sizeof path, "%s", job->model_dir);
    else
        snprintf(path, sizeof path, "%s/model", job->output_dir);
    if (!cfx_file_absent_or_empty(
            path)) { /* checked before training, again when publishing */
        rc = cfx_error_set(err, CFX_EEXIST, "%s: already exists", path);
        goto out;
    }
    if (job->logs_dir)
        snprintf(path, sizeof path, "%s", job->logs_dir);
    else
        snprintf(path, sizeof path, "%s/logs", job->output_dir);
    if ((rc = cfx_train_log_open(path, &log, err)) != 0)
        goto out;
    double t0 = cfx_clock_mono_s();
    if (cfg.model_gbt)
        rc = cfx_gbt_fit(&cfg, t, &head, &train, eval.n ? &eval : NULL,
                         cfx_train_log_scalars, log, job->progress, &trees,
                         &gres, &res->eval, err);
    else
        rc = cfx_trainer_fit(net, &cfg, &train, eval.n ? &eval : NULL,
                             cfx_train_log_scalars, log, job->progress,
                             &res->eval, err);
    res->train_seconds = cfx_clock_mono_s() - t0;
    if (rc != 0)
        goto out;
    rc = cfx_train_log_close(log, err);
    log = NULL;
    if (rc != 0)
        goto out;
    rc = write_bundle(job, &cfg, trees ? NULL : net, t, &head, trees, &gres,
                      res, err);
out:
    json_decref(trees);
    cfx_head_free(&head);
    if (log)
        cfx_train_log_close(log, NULL);
    cfx_dataset_free(&train);
    cfx_dataset_free(&eval);
    cfx_net_free(net);
    if (t)
        cfx_transform_free(t);
    free(names);
    free(card);
    free(deep);
    free(emb);
    return rc;
}

/*
 * perf_body.c: builds the requests of `cfx perf` (see perf_body.h).
 * Protobuf requests are written directly in the wire format (field
 * numbers of the tensorflow_serving protos); the metadata answer is read
 * with the protobuf-c generated code.
 */
#include "client/perf_body.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client/h2_client.h"
#include "client/perf_http.h"
#include "formats/base64.h"
#include "formats/dtype.h"
#include "formats/example.h"
#include "formats/tfrecord.h"
#include "get_model_metadata.pb-c.h"

#define MAX_BODIES 1024
#define MAX_ROWS 100000
#define MAX_LINE (1 << 20)
#define MAX_COLS 256
#define MAX_INPUTS 256

typedef struct raw_input {
    char name[128];
    int dtype; /* CFX_DT_FLOAT, CFX_DT_STRING or CFX_DT_INT64 */
    int col;   /* CSV column, -1 when absent */
} raw_input_t;

typedef struct table {
    char **cells; /* rows * cols, owned strings */
    size_t rows, cols;
    char *names[MAX_COLS];
    const char *src; /* the file or folder the rows came from */
    size_t *lines;   /* source line of each row; NULL: rows are examples */
} table_t;

/* --- protobuf wire helpers ---------------------------------------------------
 */

static int pb_key(cfx_buf_t *b, int field, int wt) {
    return cfx_buf_varint(b, (uint64_t)field << 3 | (uint64_t)wt);
}

static int pb_ld(cfx_buf_t *b, int field, const void *p, size_t n) {
    int rc = pb_key(b, field, 2);
    if (!rc)
        rc = cfx_buf_varint(b, n);
    if (!rc && n)
        rc = cfx_buf_append(b, p, n);
    return rc;
}

static int pb_str(cfx_buf_t *b, int field, const char *s) {
    return pb_ld(b, field, s, strlen(s));
}

static int model_spec(cfx_buf_t *out, const char *model, const char *sig) {
    cfx_buf_t s;
    cfx_buf_init(&s);
    int rc = pb_str(&s, 1, model);
    if (!rc && sig && sig[0])
        rc = pb_str(&s, 3, sig);
    if (!rc)
        rc = pb_ld(out, 1, s.data, s.len);
    cfx_buf_free(&s);
    return rc;
}

static int grpc_frame(cfx_buf_t *out, const cfx_buf_t *msg) {
    uint8_t p[5] = {0, (uint8_t)(msg->len >> 24), (uint8_t)(msg->len >> 16),
                    (uint8_t)(msg->len >> 8), (uint8_t)msg->len};
    int rc = cfx_buf_append(out, p, 5);
    return rc ? rc : cfx_buf_append(out, msg->data, msg->len);
}

/* --- metadata ---------------------------------------------------------------
 */

typedef struct fetch {
    int done;
    int status;
    cfx_buf_t body;
} fetch_t;

static void http_done(void *ud, cfx_http1c_t *c, int status,
                      const uint8_t *body, size_t len) {
    (void)c;
    fetch_t *f = ud;
    f->done = 1;
    f->status = status;
    if (len)
        cfx_buf_append(&f->body, body, len);
}

static void grpc_done(void *ud, const cfx_h2c_result_t *r) {
    fetch_t *f = ud;
    f->done = 1;
    f->status = r->grpc_status;
    if (r->body_len >= 5)
        cfx_buf_append(&f->body, r->body + 5, r->body_len - 5);
}

static int inputs_from_json(const cfx_buf_t *body, raw_input_t *in, size_t *n,
                            cfx_error_t *err) {
    json_error_t je;
    json_t *root = json_loadb((const char *)body->data, body->len, 0, &je);
    json_t *sig = json_object_get(
        json_object_get(
            json_object_get(json_object_get(root, "metadata"), "signature_def"),
            "signature_def"),
        "predict_raw");
    json_t *inputs = json_object_get(sig, "inputs");
    const char *k;
    json_t *v;
    int rc = 0;
    *n = 0;
    if (!json_is_object(inputs)) {
        rc = cfx_error_set(err, CFX_EPARSE,
                           "metadata has no predict_raw signature inputs");
        goto out;
    }
    json_object_foreach(inputs, k, v) {
        if (*n == MAX_INPUTS)
            break;
        const char *dt = json_string_value(json_object_get(v, "dtype"));
        snprintf(in[*n].name, sizeof(in[*n].name), "%s", k);
        in[*n].dtype = cfx_dtype_parse(dt);
        (*n)++;
    }
out:
    json_decref(root);
    return rc;
}

static int inputs_from_proto(const cfx_buf_t *body, raw_input_t *in, size_t *n,
                             cfx_error_t *err) {
    int rc = 0;
    Tensorflow__Serving__SignatureDefMap *map = NULL;
    Tensorflow__Serving__GetModelMetadataResponse *r =
        tensorflow__serving__get_model_metadata_response__unpack(
            NULL, body->len, body->data);
    *n = 0;
    if (!r) {
        rc = cfx_error_set(err, CFX_EPARSE, "GetModelMetadata: bad response");
        goto out;
    }
    for (size_t i = 0; i < r->n_metadata && !map; i++)
        if (!strcmp(r->metadata[i]->key, "signature_def") &&
            r->metadata[i]->value)
            map = tensorflow__serving__signature_def_map__unpack(
                NULL, r->metadata[i]->value->value.len,
                r->metadata[i]->value->value.data);
    if (!map) {
        rc = cfx_error_set(err, CFX_EPARSE,
                           "GetModelMetadata: no signature_def");
        goto out;
    }
    for (size_t i = 0; i < map->n_signature_def; i++) {
        if (strcmp(map->signature_def[i]->key, "predict_raw") != 0)
            continue;
        const Tensorflow__SignatureDef *sd = map->signature_def[i]->value;
        for (size_t j = 0; sd && j < sd->n_inputs && *n < MAX_INPUTS; j++) {
            snprintf(in[*n].name, sizeof(in[*n].name), "%s",
                     sd->inputs[j]->key);
            in[*n].dtype =
                sd->inputs[j]->value ? (int)sd->inputs[j]->value->dtype : 0;
            (*n)++;
        }
    }
    if (*n == 0)
        rc = cfx_error_set(err, CFX_EPARSE,
                           "metadata has no predict_raw signature inputs");
out:
    if (map)
        tensorflow__serving__signature_def_map__free_unpacked(map, NULL);
    if (r)
        tensorflow__serving__get_model_metadata_response__free_unpacked(r,
                                                                        NULL);
    return rc;
}

static int fetch_inputs(const cfx_perf_opts_t *o, raw_input_t *in, size_t *n,
                        cfx_error_t *err) {
    int rc = 0;
    fetch_t f = {0, 0, {0}};
    cfx_buf_t req;
    cfx_buf_init(&req);
    cfx_buf_init(&f.body);
    struct event_base *base = event_base_new();
    cfx_http1c_t *hc = NULL;
    cfx_h2c_t *gc = NULL;
    if (!base)
        return cfx_error_set(err, CFX_ENOMEM, "event base");
    int fd = cfx_perf_connect(o->host, o->port, err);
    if (fd < 0) {
        rc = fd;
        goto out;
    }
    if (o->proto == CFX_PERF_REST) {
        if ((rc = cfx_http1c_new(base, fd, http_done, &f, 16 << 20, &hc, err)))
            goto out;
        cfx_buf_printf(
            &req, "GET /v1/models/%s/metadata HTTP/1.1\r\nHost: %s\r\n\r\n",
            o->model, o->host);
        cfx_http1c_send(hc, req.data, req.len);
    } else {
        cfx_h2c_callbacks_t cb = {grpc_done, NULL};
        if ((rc = cfx_h2c_new(base, fd, &cb, &f, 16 << 20, &gc, err)))
            goto out;
        cfx_buf_t msg;
        cfx_buf_init(&msg);
        model_spec(&msg, o->model, NULL);
        pb_str(&msg, 2, "signature_def");
        grpc_frame(&req, &msg);
        cfx_buf_free(&msg);
        char auth[300];
        snprintf(auth, sizeof(auth), "%s:%d", o->host, o->port);
        if (cfx_h2c_submit(
                gc, auth,
                "/tensorflow.serving.PredictionService/GetModelMetadata", NULL,
                0, req.data, req.len, 1, NULL) < 0) {
            rc = cfx_error_set(err, CFX_EIO, "GetModelMetadata: submit");
            goto out;
        }
    }
    for (int i = 0; i < 1000000 && !f.done; i++)
        event_base_loop(base, EVLOOP_ONCE);
    if (o->proto == CFX_PERF_REST) {
        if (f.status != 200) {
            rc = cfx_error_set(err, CFX_EUNAVAILABLE,
                               "GET /v1/models/%s/metadata: HTTP %d", o->model,
                               f.status);
            goto out;
        }
        rc = inputs_from_json(&f.body, in, n, err);
    } else {
        if (f.status != 0) {
            rc = cfx_error_set(err, CFX_EUNAVAILABLE,
                               "GetModelMetadata(%s): grpc-status %d", o->model,
                               f.status);
            goto out;
        }
        rc = inputs_from_proto(&f.body, in, n, err);
    }
out:
    cfx_http1c_free(hc);
    cfx_h2c_free(gc);
    event_base_free(base);
    cfx_buf_free(&req);
    cfx_buf_free(&f.body);
    return rc;
}

/* --- CSV -------------------------------------------------------------------
 */

/* Splits one CSV record (RFC 4180 quotes) in place; returns the count. */
static size_t csv_split(char *line, char **cells, size_t max) {
    size_t n = 0;
    char *p = line;
    for (;;) {
        char *start = p, *w = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0')
                    break;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            while (*p && *p != ',')
                p++;
        } else {
            while (*p && *p != ',')
                *w++ = *p++;
        }
        char sep = *p;
        *w = '\0';
        if (n < max)
            cells[n++] = start;
        if (sep != ',')
            break;
        p++;
    }
    return n;
}

static void table_free(table_t *t) {
    if (t->cells)
        for (size_t i = 0; i < t->rows * t->cols; i++)
            free(t->cells[i]);
    free(t->cells);
    for (size_t i = 0; i < t->cols; i++)
        free(t->names[i]);
    free(t->lines);
    memset(t, 0, sizeof(*t));
}

static int table_read(table_t *t, const char *path, size_t max_rows,
                      cfx_error_t *err) {
    int rc = 0;
    char *line = malloc(MAX_LINE);
    char *cells[MAX_COLS];
    FILE *f = fopen(path, "r");
    size_t cap = 0, lineno = 0;
    memset(t, 0, sizeof(*t));
    if (!line || !f) {
        rc = cfx_error_set(err, f ? CFX_ENOMEM : CFX_EIO, "%s: %s", path,
                           f ? "out of memory" : strerror(errno));
        goto out;
    }
    while (t->rows < max_rows && fgets(line, MAX_LINE, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == MAX_LINE - 1 && line[len - 1] != '\n') {
            rc = cfx_error_set(err, CFX_ETOOBIG,
                               "%s:%zu: line longer than %d bytes", path,
                               lineno, MAX_LINE);
            goto out;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        size_t n = csv_split(line, cells, MAX_COLS);
        if (t->cols == 0) {
            t->cols = n;
            for (size_t i = 0; i < n; i++)
                t->names[i] = strdup(cells[i]);
            continue;
        }
        if (t->rows == cap) {
            cap = cap ? cap * 2 : 1024;
            char **c = realloc(t->cells, cap * t->cols * sizeof(*c));
            size_t *l = c ? realloc(t->lines, cap * sizeof(*l)) : NULL;
            if (c)
                t->cells = c;
            if (!l) {
                rc = cfx_error_set(err, CFX_ENOMEM, "%s: rows", path);
                goto out;
            }
            t->lines = l;
        }
        for (size_t i = 0; i < t->cols; i++)
            t->cells[t->rows * t->cols + i] = strdup(i < n ? cells[i] : "");
        t->lines[t->rows] = lineno;
        t->rows++;
    }
    if (t->rows == 0)
        rc = cfx_error_set(err, CFX_EINVAL, "%s: no data rows", path);
    t->src = path;
out:
    if (f)
        fclose(f);
    free(line);
    if (rc)
        table_free(t);
    return rc;
}

/* A JSON-lines file (one object of raw features per line, as a bundle's
 * assets.extra/warmup.jsonl): the columns are the keys in order of first
 * appearance; a key absent from a row (or null) is an empty cell, i.e. an
 * absent feature, like an empty CSV cell. */
/* The shortest decimal text that reads back as v: 1.1, not
 * 1.1000000000000001 (the value may go out as a string feature). */
static void real_text(char *out, size_t n, double v) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* Reads one line (up to and without '\n', NUL bytes kept) into line
 * (MAX_LINE bytes); returns its length, -1 at the end of the file, -2 when
 * it is longer than MAX_LINE. */
static long read_line(FILE *f, char *line) {
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (n == MAX_LINE)
            return -2;
        line[n++] = (char)c;
    }
    return c == EOF && n == 0 ? -1 : n;
}

static int table_from_jsonl(table_t *t, const char *path, size_t max_rows,
                            cfx_error_t *err) {
    int rc = 0;
    char *line = malloc(MAX_LINE);
    size_t lineno = 0, cap = 0;
    long got;
    FILE *f = fopen(path, "r");
    json_t *rows = json_array();
    memset(t, 0, sizeof(*t));
    if (!line || !f || !rows) {
        rc = cfx_error_set(err, f ? CFX_ENOMEM : CFX_EIO, "%s: %s", path,
                           f ? "out of memory" : strerror(errno));
        goto out;
    }
    while (json_array_size(rows) < max_rows &&
           (got = read_line(f, line)) != -1) {
        size_t len = (size_t)got;
        lineno++;
        if (got == -2) {
            rc = cfx_error_set(err, CFX_ETOOBIG,
                               "%s:%zu: line longer than %d bytes", path,
                               lineno, MAX_LINE);
            goto out;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                       line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        size_t skip = 0;
        while (skip < len && (line[skip] == ' ' || line[skip] == '\t'))
            skip++;
        if (skip == len)
            continue;
        json_error_t je;
        /* By length: a NUL byte is an error, not the end of the line. */
        json_t *row = json_loadb(line + skip, len - skip, 0, &je);
        if (!json_is_object(row)) {
            json_decref(row);
            rc = cfx_error_set(err, CFX_EPARSE,
                               "%s:%zu: expected a JSON object "
                               "of features: %s",
                               path, lineno, row ? "not an object" : je.text);
            goto out;
        }
        const char *k;
        json_t *v;
        json_object_foreach(row, k, v) {
            if (!json_is_string(v) && !json_is_number(v) &&
                !json_is_boolean(v) && !json_is_null(v)) {
                rc = cfx_error_set(err, CFX_EPARSE,
                                   "%s:%zu: feature \"%s\": "
                                   "expected a number or a string",
                                   path, lineno, k);
                json_decref(row);
                goto out;
            }
            size_t c;
            for (c = 0; c < t->cols && strcmp(t->names[c], k); c++)
                ;
            if (c == t->cols) {
                if (t->cols == MAX_COLS) {
                    rc = cfx_error_set(err, CFX_ETOOBIG,
                                       "%s:%zu: over %d features", path, lineno,
                                       MAX_COLS);
                    json_decref(row);
                    goto out;
                }
                if (!(t->names[t->cols] = strdup(k))) {
                    rc = cfx_error_set(err, CFX_ENOMEM, "%s: columns", path);
                    json_decref(row);
                    goto out;
                }
                t->cols++;
            }
        }
        if (json_array_size(rows) == cap) {
            size_t *l = realloc(t->lines, (cap ? cap * 2 : 1024) * sizeof(*l));
            if (!l) {
                json_decref(row);
                rc = cfx_error_set(err, CFX_ENOMEM, "%s: rows", path);
                goto out;
            }
            t->lines = l;
            cap = cap ? cap * 2 : 1024;
        }
        t->lines[json_array_size(rows)] = lineno;
        json_array_append_new(rows, row);
    }
    if (json_array_size(rows) == 0 || t->cols == 0) {
        rc = cfx_error_set(err, CFX_EINVAL, "%s: no data rows", path);
        goto out;
    }
    t->cells = calloc(json_array_size(rows) * t->cols, sizeof(*t->cells));
    if (!t->cells) {
        rc = cfx_error_set(err, CFX_ENOMEM, "%s: rows", path);
        goto out;
    }
    t->rows = json_array_size(rows);
    t->src = path;
    for (size_t r = 0; r < t->rows; r++) {
        json_t *row = json_array_get(rows, r);
        for (size_t c = 0; c < t->cols; c++) {
            json_t *v = json_object_get(row, t->names[c]);
            char num[64] = "";
            if (json_is_integer(v))
                snprintf(num, sizeof(num), "%lld",
                         (long long)json_integer_value(v));
            else if (json_is_real(v))
                real_text(num, sizeof(num), json_real_value(v));
            else if (json_is_boolean(v))
                snprintf(num, sizeof(num), "%d", json_is_true(v));
            char *cellv =
                strdup(json_is_string(v) ? json_string_value(v) : num);
            if (!cellv) {
                rc = cfx_error_set(err, CFX_ENOMEM, "%s: rows", path);
                goto out;
            }
            t->cells[r * t->cols + c] = cellv;
        }
    }
out:
    if (f)
        fclose(f);
    free(line);
    json_decref(rows);
    if (rc)
        table_free(t);
    return rc;
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* An examples folder (examplegen output or one Split-<name>/ of it): the
 * first value of each raw input per tf.Example becomes a table cell.
 * Split-eval is preferred, being rows the model did not train on. */
static int table_from_examples(table_t *t, const char *dir,
                               const raw_input_t *in, size_t n_in,
                               size_t max_rows, cfx_error_t *err) {
    int rc = 0;
    char **files = NULL;
    size_t n_files = 0, cap = 0;
    char split[4096] = "";
    cfx_example_t ex;
    cfx_example_init(&ex);
    memset(t, 0, sizeof(*t));
    DIR *d = opendir(dir);
    if (!d)
        return cfx_error_set(err, CFX_EIO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "Split-", 6) != 0)
            continue;
        if (!split[0] || !strcmp(e->d_name, "Split-eval"))
            snprintf(split, sizeof(split), "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if ((rc = cfx_tfrecord_list_dir(split[0] ? split : dir, &files, &n_files,
                                    err)))
        return rc;
    t->cols = n_in;
    for (size_t j = 0; j < n_in; j++)
        t->names[j] = strdup(in[j].name);
    for (size_t f = 0; f < n_files && t->rows < max_rows && !rc; f++) {
        cfx_tfrecord_reader_t *r = NULL;
        if ((rc = cfx_tfrecord_reader_open(files[f], &r, err)))
            break;
        const uint8_t *data;
        size_t len;
        while (t->rows < max_rows &&
               (rc = cfx_tfrecord_read(r, &data, &len, err)) == 1) {
            if ((rc = cfx_example_decode(&ex, data, len, err))) {
                cfx_error_prefix(err, "%s", files[f]);
                break;
            }
            if (t->rows == cap) {
                cap = cap ? cap * 2 : 1024;
                char **c = realloc(t->cells, cap * t->cols * sizeof(*c));
                if (!c) {
                    rc = cfx_error_set(err, CFX_ENOMEM, "%s: rows", dir);
                    break;
                }
                t->cells = c;
            }
            for (size_t j = 0; j < n_in; j++) {
                const cfx_feature_t *ft = cfx_example_find(&ex, in[j].name);
                char v[64] = "";
                const char *cellv = v;
                if (ft && ft->count > 0) {
                    if (ft->kind == CFX_KIND_INT64)
                        snprintf(v, sizeof(v), "%lld",
                                 (long long)ft->v.ints[0]);
                    else if (ft->kind == CFX_KIND_FLOAT)
                        snprintf(v, sizeof(v), "%.9g", (double)ft->v.floats[0]);
                    else if (ft->kind == CFX_KIND_BYTES)
                        cellv = NULL;
                }
                t->cells[t->rows * t->cols + j] =
                    cellv ? strdup(cellv)
                          : strndup((const char *)ft->v.bytes[0].data,
                                    ft->v.bytes[0].len);
            }
            t->rows++;
        }
        if (rc == 0 || rc == 1)
            rc = 0;
        cfx_tfrecord_reader_free(r);
    }
    cfx_path_list_free(files);
    cfx_example_free(&ex);
    if (!rc && t->rows == 0)
        rc = cfx_error_set(err, CFX_EINVAL, "%s: no examples", dir);
    t->src = dir;
    if (rc)
        table_free(t);
    return rc;
}

static int opendir_is_dir(const char *path) {
    DIR *d = opendir(path);
    if (d)
        closedir(d);
    return d != NULL;
}

/* Kinds from the values: every non-empty cell an integer -> int64, a
 * number -> float, else bytes. */
static void guess_inputs(const table_t *t, raw_input_t *in, size_t *n) {
    *n = 0;
    for (size_t c = 0; c < t->cols && *n < MAX_INPUTS; c++) {
        int is_int = 1, is_num = 1;
        for (size_t r = 0; r < t->rows && is_num; r++) {
            const char *v = t->cells[r * t->cols + c];
            char *end;
            if (!v[0])
                continue;
            errno = 0;
            (void)strtoll(v, &end, 10);
            if (*end || errno)
                is_int = 0;
            errno = 0;
            (void)strtof(v, &end);
            if (*end || errno)
                is_num = 0;
        }
        snprintf(in[*n].name, sizeof(in[*n].name), "%s", t->names[c]);
        in[*n].dtype = is_int && is_num ? CFX_DT_INT64
                       : is_num         ? CFX_DT_FLOAT
                                        : CFX_DT_STRING;
        (*n)++;
    }
}

/* --- values ----------------------------------------------------------------
 */

static const char *cell(const table_t *t, size_t row, int col) {
    return col < 0 ? "" : t->cells[row * t->cols + (size_t)col];
}

/* Where a row came from: "FILE:LINE", or "DIR: example N". */
static void row_place(const table_t *t, size_t row, char *out, size_t n) {
    if (t->lines)
        snprintf(out, n, "%.400s:%zu", t->src ? t->src : "?", t->lines[row]);
    else
        snprintf(out, n, "%.400s: example %zu", t->src ? t->src : "?", row + 1);
}

static int parse_value(const table_t *t, const char *s, int dtype, int64_t *i,
                       float *f, size_t row, const char *name,
                       cfx_error_t *err) {
    char *end, at[448];
    errno = 0;
    if (dtype == CFX_DT_INT64) {
        *i = s[0] ? strtoll(s, &end, 10) : 0;
        if (s[0] && (*end || errno)) {
            row_place(t, row, at, sizeof(at));
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: column '%s': expected an integer, got "
                                 "\"%s\"",
                                 at, name, s);
        }
    } else if (dtype == CFX_DT_FLOAT) {
        *f = s[0] ? strtof(s, &end) : 0.0f;
        if (s[0] && (*end || errno)) {
            row_place(t, row, at, sizeof(at));
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: column '%s': expected a number, got "
                                 "\"%s\"",
                                 at, name, s);
        }
    }
    return 0;
}

static int put_json_string(cfx_buf_t *b, const char *s) {
    int rc = cfx_buf_putc(b, '"');
    for (; *s && !rc; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            rc = cfx_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            rc = cfx_buf_printf(b, "\\u%04x", c);
        else
            rc = cfx_buf_putc(b, c);
    }
    return rc ? rc : cfx_buf_putc(b, '"');
}

/* A float that reads back as a float in TF Serving's REST (has '.' or e). */
static int put_json_float(cfx_buf_t *b, float v) {
    char tmp[64];
    if (!isfinite(v))
        v = 0;
    snprintf(tmp, sizeof(tmp), "%.9g", (double)v);
    if (!strpbrk(tmp, ".eE"))
        strcat(tmp, ".0");
    return cfx_buf_printf(b, "%s", tmp);
}

static int example_bytes(const table_t *t, size_t row, const raw_input_t *in,
                         size_t n_in, cfx_example_t *ex, cfx_buf_t *out,
                         cfx_error_t *err) {
    cfx_example_reset(ex);
    for (size_t j = 0; j < n_in; j++) {
        const char *s = cell(t, row, in[j].col);
        int64_t iv;
        float fv;
        int rc;
        if (!s[0])
            continue;
        if ((rc = parse_value(t, s, in[j].dtype, &iv, &fv, row, in[j].name,
                              err)))
            return rc;
        if (in[j].dtype == CFX_DT_INT64)
            rc = cfx_example_add_int64(ex, in[j].name, &iv, 1);
        else if (in[j].dtype == CFX_DT_FLOAT)
            rc = cfx_example_add_float(ex, in[j].name, &fv, 1);
        else {
            cfx_bytes_t b = {(const uint8_t *)s, strlen(s)};
            rc = cfx_example_add_bytes(ex, in[j].name, &b, 1);
        }
        if (rc)
            return cfx_error_set(err, rc, "example");
    }
    cfx_example_sort(ex);
    cfx_buf_reset(out);
    return cfx_example_encode(ex, out);
}

/* --- bodies ----------------------------------------------------------------
 */

static int rest_body(cfx_buf_t *json, const cfx_perf_opts_t *o, const char *sig,
                     const table_t *t, size_t first, const raw_input_t *in,
                     size_t n_in, cfx_example_t *ex, cfx_buf_t *tmp,
                     cfx_error_t *err) {
    int rc = cfx_buf_printf(json, "{\"signature_name\":");
    rc = rc ? rc : put_json_string(json, sig);
    int examples_sig = !strcmp(sig, "serving_default");
    rc = rc ? rc
            : cfx_buf_printf(json, o->api == CFX_PERF_PREDICT
                                       ? ",\"instances\":["
                                       : ",\"examples\":[");
    for (size_t k = 0; k < o->batch && !rc; k++) {
        size_t row = (first + k) % t->rows;
        if (k)
            rc = cfx_buf_putc(json, ',');
        if (o->api == CFX_PERF_PREDICT && examples_sig) {
            if ((rc = example_bytes(t, row, in, n_in, ex, tmp, err)))
                return rc;
            rc = cfx_buf_printf(json, "{\"b64\":\"");
            rc = rc ? rc : cfx_base64_encode(tmp->data, tmp->len, json);
            rc = rc ? rc : cfx_buf_printf(json, "\"}");
            continue;
        }
        rc = cfx_buf_putc(json, '{');
        int first_field = 1;
        for (size_t j = 0; j < n_in && !rc; j++) {
            const char *s = cell(t, row, in[j].col);
            int64_t iv;
            float fv;
            /* An empty cell is an absent feature, as in the CSV the model
             * was trained on: left out, so the server fills it exactly as
             * training did (cfx-serve's predict_raw accepts absent inputs). */
            if (!s[0])
                continue;
            if ((rc = parse_value(t, s, in[j].dtype, &iv, &fv, row, in[j].name,
                                  err)))
                return rc;
            rc = cfx_buf_printf(json, "%s", first_field ? "" : ",");
            first_field = 0;
            rc = rc ? rc : put_json_string(json, in[j].name);
            rc = rc ? rc : cfx_buf_putc(json, ':');
            if (rc)
                break;
            if (in[j].dtype == CFX_DT_INT64)
                rc = cfx_buf_printf(json, "%lld", (long long)iv);
            else if (in[j].dtype == CFX_DT_FLOAT)
                rc = put_json_float(json, fv);
            else
                rc = put_json_string(json, s);
        }
        rc = rc ? rc : cfx_buf_putc(json, '}');
    }
    return rc ? rc : cfx_buf_printf(json, "]}");
}

static int grpc_body(cfx_buf_t *msg, const cfx_perf_opts_t *o, const char *sig,
                     const table_t *t, size_t first, const raw_input_t *in,
                     size_t n_in, cfx_example_t *ex, cfx_buf_t *tmp,
                     cfx_error_t *err) {
    int rc = model_spec(msg, o->model, sig);
    cfx_buf_t a, b;
    cfx_buf_init(&a);
    cfx_buf_init(&b);
    if (o->api == CFX_PERF_PREDICT && strcmp(sig, "serving_default") != 0) {
        /* predict_raw: one tensor [batch] per input. */
        for (size_t j = 0; j < n_in && !rc; j++) {
            cfx_buf_reset(&a);
            cfx_buf_reset(&b);
            rc = pb_key(&a, 1, 0);
            rc = rc ? rc : cfx_buf_varint(&a, (uint64_t)in[j].dtype);
            /* shape { dim { size: batch } } */
            cfx_buf_t d;
            cfx_buf_init(&d);
            pb_key(&d, 1, 0);
            cfx_buf_varint(&d, o->batch);
            pb_ld(&b, 2, d.data, d.len);
            cfx_buf_free(&d);
            rc = rc ? rc : pb_ld(&a, 2, b.data, b.len);
            cfx_buf_reset(&b);
            for (size_t k = 0; k < o->batch && !rc; k++) {
                size_t row = (first + k) % t->rows;
                const char *s = cell(t, row, in[j].col);
                int64_t iv;
                float fv;
                if ((rc = parse_value(t, s, in[j].dtype, &iv, &fv, row,
                                      in[j].name, err)))
                    break;
                if (in[j].dtype == CFX_DT_INT64)
                    rc = cfx_buf_varint(&b, (uint64_t)iv);
                else if (in[j].dtype == CFX_DT_FLOAT)
                    rc = cfx_buf_append(&b, &fv, 4); /* little-endian hosts */
                else
                    rc = pb_str(&a, 8, s);
            }
            if (!rc && in[j].dtype != CFX_DT_STRING)
                rc = pb_ld(&a, in[j].dtype == CFX_DT_INT64 ? 10 : 5, b.data,
                           b.len);
            /* inputs map entry {key, value} */
            cfx_buf_reset(&b);
            rc = rc ? rc : pb_str(&b, 1, in[j].name);
            rc = rc ? rc : pb_ld(&b, 2, a.data, a.len);
            rc = rc ? rc : pb_ld(msg, 2, b.data, b.len);
        }
        goto out;
    }
    /* Serialized examples: a DT_STRING tensor (Predict) or an Input. */
    cfx_buf_reset(&a);
    for (size_t k = 0; k < o->batch && !rc; k++) {
        size_t row = (first + k) % t->rows;
        if ((rc = example_bytes(t, row, in, n_in, ex, tmp, err)))
            break;
        rc = pb_ld(&a, o->api == CFX_PERF_PREDICT ? 8 : 1, tmp->data, tmp->len);
    }
    if (rc)
        goto out;
    if (o->api == CFX_PERF_PREDICT) {
        cfx_buf_t d;
        cfx_buf_init(&d);
        pb_key(&b, 1, 0);
        cfx_buf_varint(&b, 7);
        pb_key(&d, 1, 0);
        cfx_buf_varint(&d, o->batch);
        cfx_buf_t s;
        cfx_buf_init(&s);
        pb_ld(&s, 2, d.data, d.len);
        pb_ld(&b, 2, s.data, s.len);
        cfx_buf_append(&b, a.data, a.len);
        cfx_buf_reset(&a);
        pb_str(&a, 1, "examples");
        rc = pb_ld(&a, 2, b.data, b.len);
        rc = rc ? rc : pb_ld(msg, 2, a.data, a.len);
        cfx_buf_free(&d);
        cfx_buf_free(&s);
    } else {
        /* Input { example_list { examples... } } */
        rc = pb_ld(&b, 1, a.data, a.len);
        rc = rc ? rc : pb_ld(msg, 2, b.data, b.len);
    }
out:
    cfx_buf_free(&a);
    cfx_buf_free(&b);
    return rc;
}

int cfx_perf_bodies_build(cfx_perf_bodies_t *bs, const cfx_perf_opts_t *o,
                          cfx_error_t *err) {
    int rc;
    raw_input_t *in = calloc(MAX_INPUTS, sizeof(*in));
    size_t n_in = 0;
    table_t t;
    cfx_example_t ex;
    cfx_buf_t tmp, payload;
    cfx_example_init(&ex);
    cfx_buf_init(&tmp);
    cfx_buf_init(&payload);
    memset(bs, 0, sizeof(*bs));
    memset(&t, 0, sizeof(t));
    if (!in)
        return cfx_error_set(err, CFX_ENOMEM, "inputs");
    snprintf(bs->authority, sizeof(bs->authority), "%s:%d", o->host, o->port);
    if (o->url_path[0]) {
        /* Plain GET of a URL: one request, no model, no rows. */
        bs->body = calloc(1, sizeof(*bs->body));
        if (!bs->body) {
            rc = cfx_error_set(err, CFX_ENOMEM, "bodies");
            goto out;
        }
        bs->n = 1;
        cfx_buf_init(&bs->body[0]);
        rc = cfx_buf_printf(&bs->body[0], "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                            o->url_path, bs->authority);
        goto out;
    }
    /* Default Predict signature: raw named features over REST; over gRPC
     * serialized tf.Examples (serving_default), because a raw tensor per
     * input cannot leave out a row's empty cells. Dtypes come from the
     * predict_raw metadata either way. */
    const char *sig = o->signature                  ? o->signature
                      : o->api == CFX_PERF_CLASSIFY ? "classify"
                      : o->api == CFX_PERF_REGRESS  ? "regress"
                      : o->proto == CFX_PERF_GRPC   ? "serving_default"
                                                    : "predict_raw";
    cfx_error_t meta_err;
    cfx_error_init(&meta_err);
    int guessed = 0;
    if ((rc = fetch_inputs(o, in, &n_in, &meta_err))) {
        /* A server without cfx's predict_raw signature (TF Serving with a
         * TFX model): tf.Example inputs can still be built, with each CSV
         * column's kind guessed from its values. */
        if (rc != CFX_EPARSE || !strcmp(sig, "predict_raw") ||
            opendir_is_dir(o->data)) {
            rc = cfx_error_set(err, rc, "%s", meta_err.msg);
            goto out;
        }
        guessed = 1;
    }
    if (opendir_is_dir(o->data))
        rc = table_from_examples(&t, o->data, in, n_in, MAX_ROWS, err);
    else if (has_suffix(o->data, ".jsonl"))
        rc = table_from_jsonl(&t, o->data, MAX_ROWS, err);
    else
        rc = table_read(&t, o->data, MAX_ROWS, err);
    if (rc)
        goto out;
    if (guessed)
        guess_inputs(&t, in, &n_in);
    for (size_t j = 0; j < n_in; j++) {
        in[j].col = -1;
        for (size_t c = 0; c < t.cols; c++)
            if (!strcmp(t.names[c], in[j].name))
                in[j].col = (int)c;
        if (in[j].dtype != CFX_DT_FLOAT && in[j].dtype != CFX_DT_STRING &&
            in[j].dtype != CFX_DT_INT64) {
            rc = cfx_error_set(err, CFX_EUNSUPPORTED,
                               "input %s: unsupported dtype %d", in[j].name,
                               in[j].dtype);
            goto out;
        }
    }
    static const char *const verbs[] = {"predict", "classify", "regress"};
    static const char *const methods[] = {"Predict", "Classify", "Regress"};
    snprintf(bs->path, sizeof(bs->path),
             "/tensorflow.serving.PredictionService/%s", methods[o->api]);
    snprintf(bs->authority, sizeof(bs->authority), "%s:%d", o->host, o->port);
    size_t n = (t.rows + o->batch - 1) / o->batch;
    if (n > MAX_BODIES)
        n = MAX_BODIES;
    bs->body = calloc(n, sizeof(*bs->body));
    if (!bs->body) {
        rc = cfx_error_set(err, CFX_ENOMEM, "bodies");
        goto out;
    }
    bs->n = n;
    for (size_t i = 0; i < n; i++) {
        cfx_buf_init(&bs->body[i]);
        cfx_buf_reset(&payload);
        size_t first = i * o->batch;
        if (o->proto == CFX_PERF_REST) {
            rc = rest_body(&payload, o, sig, &t, first, in, n_in, &ex, &tmp,
                           err);
            rc = rc ? rc
                    : cfx_buf_printf(&bs->body[i],
                                     "POST /v1/models/%s:%s HTTP/1.1\r\nHost: "
                                     "%s\r\nContent-Type: application/json\r\n"
                                     "Content-Length: %zu\r\n\r\n",
                                     o->model, verbs[o->api], bs->authority,
                                     payload.len);
            rc = rc ? rc
                    : cfx_buf_append(&bs->body[i], payload.data, payload.len);
        } else {
            rc = grpc_body(&payload, o, sig, &t, first, in, n_in, &ex, &tmp,
                           err);
            rc = rc ? rc : grpc_frame(&bs->body[i], &payload);
        }
        if (rc) {
            if (err && err->code == 0)
                cfx_error_set(err, rc, "building request %zu", i);
            goto out;
        }
    }
out:
    free(in);
    table_free(&t);
    cfx_example_free(&ex);
    cfx_buf_free(&tmp);
    cfx_buf_free(&payload);
    if (rc)
        cfx_perf_bodies_free(bs);
    return rc;
}

void cfx_perf_bodies_free(cfx_perf_bodies_t *b) {
    for (size_t i = 0; i < b->n; i++)
        cfx_buf_free(&b->body[i]);
    free(b->body);
    b->body = NULL;
    b->n = 0;
}

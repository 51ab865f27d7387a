/*
 * rest.c: TF Serving's REST API over the HTTP/1.1 server of http1.h (see
 * rest.h).
 *
 * Every request is answered synchronously on the worker thread that read
 * it: the body is validated and read without a DOM straight into the
 * model's input examples (serve/rest_body.h, with TF Serving's checks in
 * its order), the servable resolved (a reference, no lock held while
 * running), the bundle run, and the answer written into a per-worker
 * buffer in TF Serving's layout. Paths follow TF Serving's regexes
 * (case-insensitive, `[^/:]+` names, URL-decoded); anything outside /v1/
 * gets libevent's HTML 404 page; a /v1/ path that does not match, or the
 * wrong method, gets 400 "Malformed request: METHOD PATH".
 */
#include "serve/rest.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "formats/clock.h"
#include "formats/numfmt.h"
#include "serve/auth.h"
#include "serve/http1.h"
#include "serve/json_scan.h"
#include "serve/json_tensor.h"
#include "serve/rest_body.h"
#include "serve/rest_route.h"
#include "serve/service.h"
#include "serve/status_page.h"

enum {
    R_STATUS = CFX_ROUTE_STATUS,
    R_METADATA = CFX_ROUTE_METADATA,
    R_PREDICT = CFX_ROUTE_PREDICT,
    R_CLASSIFY = CFX_ROUTE_CLASSIFY,
    R_REGRESS = CFX_ROUTE_REGRESS,
};
static const char *route_api[] = {"GetModelStatus", "GetModelMetadata",
                                  "predict", "classify", "regress"};

typedef cfx_rest_route_t route_t;

struct cfx_rest {
    cfx_server_t *srv;
    struct event_base *base;
    cfx_http1_t *http;
    cfx_buf_t out;                 /* response scratch, reused */
    cfx_buf_t body;                /* inflated request body scratch */
    cfx_buf_t scratch, blob, vals; /* request body decoding (rest_body.h) */
    cfx_rest_body_t rb;
    cfx_example_t *pool;     /* examples reused across requests (batch_t) */
    cfx_arena_t batch_arena; /* a big batch's examples, reset after it */
    const cfx_example_t **pool_ptr;
    size_t pool_cap;
};

/* Connections across all workers, for --max_connections. */
static atomic_long g_connections;

/* ---- responses ------------------------------------------------------------
 */

typedef struct reqctx {
    cfx_rest_t *r;
    cfx_http1_req_t *req;
    uint64_t t0;
    const char *model;
    const char *api;
    int status_sent;
} reqctx_t;

static void access_log(reqctx_t *c, int http) {
    const char *path = c->r->srv->opts.access_log;
    static FILE *f;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    if (!path)
        return;
    pthread_mutex_lock(&mu);
    if (!f)
        f = strcmp(path, "-") == 0 ? stderr : fopen(path, "a");
    if (f) {
        fprintf(f, "%ld %s %s %s %d %zu %" PRIu64 "us\n", (long)time(NULL),
                c->req->peer, c->req->method, c->req->target, http,
                c->r->out.len, cfx_clock_mono_us() - c->t0);
        fflush(f);
    }
    pthread_mutex_unlock(&mu);
}

/* --rest_api_enable_cors_support */
static const char CORS_HEADERS[] =
    "Access-Control-Allow-Origin: *\r\n"
    "Access-Control-Allow-Methods: POST, GET\r\n"
    "Access-Control-Allow-Headers: Content-Type\r\n";

static void send_buf(reqctx_t *c, int http, const char *ctype) {
    cfx_http1_reply(c->req, http, ctype,
                    c->r->srv->opts.rest_api_enable_cors_support ? CORS_HEADERS
                                                                 : NULL,
                    c->r->out.data, c->r->out.len, c->r->srv->draining);
    access_log(c, http);
}

/* Sends {"error": msg} with the HTTP status of tf_code; records metrics. */
static void send_error(reqctx_t *c, int tf_code, const char *msg) {
    cfx_buf_t *o = &c->r->out;
    cfx_buf_reset(o);
    /* RapidJSON's PrettyWriter layout, as TF Serving's MakeJsonFromStatus */
    cfx_buf_append(o, "{\n    \"error\": ", 15);
    cfx_jscan_put_string(o, msg, strlen(msg));
    cfx_buf_append(o, "\n}", 2);
    if (c->api)
        cfx_metrics_record(c->r->srv->metrics, c->model ? c->model : "", c->api,
                           "REST", tf_code, cfx_clock_mono_us() - c->t0);
    send_buf(c, cfx_service_http_status(tf_code), "application/json");
}

static void send_cfx_error(reqctx_t *c, int rc, const cfx_error_t *err) {
    send_error(c, cfx_service_tf_code(rc),
               err->msg[0] ? err->msg : cfx_err_str(rc));
}

static void send_ok(reqctx_t *c) {
    /* --rest_api_timeout_in_ms bounds the run, as TF Serving's session-run
     * timeout: an answer that took longer is not sent. */
    uint64_t limit_us =
        (uint64_t)c->r->srv->opts.rest_api_timeout_in_ms * 1000u;
    uint64_t took = cfx_clock_mono_us() - c->t0;
    if (limit_us && took > limit_us) {
        send_error(c, 4, "Deadline Exceeded");
        return;
    }
    if (c->api)
        cfx_metrics_record(c->r->srv->metrics, c->model ? c->model : "", c->api,
                           "REST", 0, took);
    send_buf(c, 200, "application/json");
}

/* ---- request bodies -------------------------------------------------------
 */

static int is_gzip(const cfx_http1_req_t *req) {
    const char *ce = cfx_http1_header(req, "Content-Encoding");
    return ce && !strcasecmp(ce, "gzip");
}

/* The request body, inflated when gzip; errors are answered here (returns
 * -1). */
static int read_body(reqctx_t *c, const char **out, size_t *out_len) {
    size_t len = c->req->body_len;
    const char *data = (const char *)c->req->body;
    cfx_rest_t *r = c->r;
    size_t limit = r->srv->opts.max_body_bytes;
    char msg[512];
    if (len && is_gzip(c->req)) {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
            send_error(c, 13, "inflateInit failed");
            return -1;
        }
        cfx_buf_reset(&r->body);
        zs.next_in = (Bytef *)data;
        zs.avail_in = (uInt)len;
        int zr = Z_OK;
        while (zr != Z_STREAM_END) {
            if (cfx_buf_reserve(&r->body, 64 << 10)) {
                zr = Z_MEM_ERROR;
                break;
            }
            zs.next_out = r->body.data + r->body.len;
            zs.avail_out = (uInt)(r->body.cap - r->body.len);
            zr = inflate(&zs, Z_NO_FLUSH);
            r->body.len = r->body.cap - zs.avail_out;
            if (r->body.len > limit) {
                zr = Z_BUF_ERROR;
                break;
            }
            if (zr != Z_OK && zr != Z_STREAM_END)
                break;
            if (zr == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
                zr = Z_DATA_ERROR; /* truncated stream */
                break;
            }
        }
        inflateEnd(&zs);
        if (r->body.len > limit) {
            snprintf(msg, sizeof(msg),
                     "Request body exceeds %zu bytes after decompression",
                     limit);
            send_error(c, 8, msg);
            return -1;
        }
        if (zr != Z_STREAM_END) {
            send_error(c, 3, "Failed to decompress gzip request body");
            return -1;
        }
        data = (const char *)r->body.data;
        len = r->body.len;
    }
    *out = data;
    *out_len = len;
    return 0;
}

/* ---- status and metadata --------------------------------------------------
 */

static void handle_status(reqctx_t *c, const route_t *rt) {
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_version_status_t *vs = NULL;
    size_t n = 0;
    int rc = cfx_manager_status(c->r->srv->manager, rt->name, rt->version, &vs,
                                &n, &err);
    if (rc) {
        send_cfx_error(c, rc, &err);
        return;
    }
    cfx_buf_t *o = &c->r->out;
    cfx_buf_reset(o);
    cfx_buf_printf(o, "{\n \"model_version_status\": [");
    for (size_t i = 0; i < n; i++) {
        cfx_buf_printf(o,
                       "%s\n  {\n   \"version\": \"%" PRId64 "\",\n"
                       "   \"state\": \"%s\",\n   \"status\": {\n"
                       "    \"error_code\": \"%s\",\n"
                       "    \"error_message\": ",
                       i ? "," : "", vs[i].version,
                       cfx_version_state_name(vs[i].state),
                       cfx_service_tf_code_name(vs[i].error_code));
        cfx_json_put_string(o, vs[i].error_message,
                            strlen(vs[i].error_message));
        cfx_buf_printf(o, "\n   }\n  }");
    }
    cfx_buf_printf(o, "\n ]\n}\n");
    free(vs);
    send_ok(c);
}

static void put_tensor_info(cfx_buf_t *o, const cfx_tensor_spec_t *t) {
    cfx_buf_printf(o, "\"");
    cfx_buf_append(o, t->name, strlen(t->name));
    cfx_buf_printf(o, "\": {\"dtype\": \"%s\", \"tensor_shape\": {\"dim\": [",
                   cfx_dtype_name(t->dtype));
    for (int d = 0; d < t->rank; d++)
        cfx_buf_printf(o, "%s{\"size\": \"%" PRId64 "\", \"name\": \"\"}",
                       d ? ", " : "", t->dims[d]);
    cfx_buf_printf(o, "], \"unknown_rank\": false}, \"name\": ");
    cfx_json_put_string(o, t->tensor, strlen(t->tensor));
    cfx_buf_printf(o, "}");
}

static void handle_metadata(reqctx_t *c, const route_t *rt) {
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_servable_t *s = NULL;
    int rc = cfx_manager_acquire(c->r->srv->manager, rt->name, rt->version,
                                 rt->has_label ? rt->label : NULL, &s, &err);
    if (rc) {
        send_cfx_error(c, rc, &err);
        return;
    }
    cfx_buf_t *o = &c->r->out;
    cfx_buf_reset(o);
    cfx_buf_printf(o, "{\n\"model_spec\":{\"name\": ");
    cfx_json_put_string(o, rt->name, strlen(rt->name));
    cfx_buf_printf(o,
                   ", \"signature_name\": \"\", \"version\": \"%" PRId64 "\"}"
                   ",\n\"metadata\": {\"signature_def\": {\"signature_def\": {",
                   cfx_servable_version(s));
    size_t ns = cfx_service_num_signatures(s);
    for (size_t i = 0; i < ns; i++) {
        const cfx_signature_t *sig = cfx_service_signature_at(s, i);
        cfx_buf_printf(o, "%s\n\"%s\": {\"inputs\": {", i ? "," : "", sig->key);
        for (size_t k = 0; k < sig->n_inputs; k++) {
            if (k)
                cfx_buf_printf(o, ", ");
            put_tensor_info(o, &sig->inputs[k]);
        }
        cfx_buf_printf(o, "}, \"outputs\": {");
        for (size_t k = 0; k < sig->n_outputs; k++) {
            if (k)
                cfx_buf_printf(o, ", ");
            put_tensor_info(o, &sig->outputs[k]);
        }
        cfx_buf_printf(o, "}, \"method_name\": \"%s\", \"defaults\": {}}",
                       sig->method_name);
    }
    cfx_buf_printf(o, "\n}}}\n}\n");
    cfx_servable_release(s);
    send_ok(c);
}

/* ---- inference ------------------------------------------------------------
 */

/* The examples of one request: views into the worker's pool, which keeps
 * the examples (and their arenas) between requests so a request of usual
 * size allocates nothing for them. A batch of more than POOL_KEEP examples
 * is allocated for the request alone, every example in one arena (an own
 * arena per example would cost a block per example: hundreds of bytes of
 * request could pin a page each), and all of it is released after it. */
#define POOL_KEEP 256

typedef struct batch {
    cfx_rest_t *r; /* NULL until batch_init */
    cfx_example_t *ex;
    const cfx_example_t **ptr;
    size_t n;
    int own; /* ex and ptr are this request's, in r->batch_arena */
} batch_t;

static void pool_release(cfx_rest_t *r) {
    for (size_t i = 0; i < r->pool_cap; i++)
        cfx_example_free(&r->pool[i]);
    free(r->pool);
    free(r->pool_ptr);
    r->pool = NULL;
    r->pool_ptr = NULL;
    r->pool_cap = 0;
}

static int batch_init(batch_t *b, cfx_rest_t *r, size_t n) {
    b->n = 0;
    b->own = 0;
    if (n > POOL_KEEP) {
        cfx_arena_t *a = &r->batch_arena;
        b->ex = cfx_arena_alloc(a, n * sizeof(*b->ex));
        b->ptr = cfx_arena_alloc(a, n * sizeof(*b->ptr));
        if (!b->ex || !b->ptr) {
            cfx_arena_reset(a);
            return CFX_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            cfx_example_init_in(&b->ex[i], a);
            b->ptr[i] = &b->ex[i];
        }
        b->r = r;
        b->n = n;
        b->own = 1;
        return 0;
    }
    if (n > r->pool_cap) {
        cfx_example_t *ex = realloc(r->pool, n * sizeof(*ex));
        if (!ex)
            return CFX_ENOMEM;
        r->pool = ex;
        const cfx_example_t **ptr = realloc(r->pool_ptr, n * sizeof(*ptr));
        if (!ptr)
            return CFX_ENOMEM;
        r->pool_ptr = ptr;
        for (size_t i = r->pool_cap; i < n; i++)
            cfx_example_init(&r->pool[i]);
        r->pool_cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        cfx_example_reset(&r->pool[i]);
        r->pool_ptr[i] = &r->pool[i];
    }
    b->r = r;
    b->ex = r->pool;
    b->ptr = r->pool_ptr;
    b->n = n;
    return 0;
}

static void batch_free(batch_t *b) {
    if (b->r && b->own) {
        for (size_t i = 0; i < b->n; i++)
            cfx_example_free(&b->ex[i]);
        cfx_arena_reset(&b->r->batch_arena);
        b->own = 0;
    }
}

/* Runs sig over b; scores[n*k] for classify (k classes), else
 * scores[n*width] (cfx_service_output_width). */
static int run_sig(const cfx_servable_t *s, const cfx_signature_t *sig,
                   const batch_t *b, float *scores, cfx_error_t *err) {
    if (sig->kind == CFX_SIG_CLASSIFY)
        return cfx_service_classify(s, sig, b->ptr, b->n, scores, err);
    if (sig->kind == CFX_SIG_REGRESS)
        return cfx_service_regress(s, sig, b->ptr, b->n, scores, err);
    return cfx_service_predict(s, sig, b->ptr, b->n, scores, err);
}

/* Floats per example that run_sig writes. */
static size_t answer_width(const cfx_servable_t *s,
                           const cfx_signature_t *sig) {
    if (sig->kind == CFX_SIG_CLASSIFY)
        return cfx_service_num_classes(s);
    if (sig->kind == CFX_SIG_REGRESS)
        return 1;
    return cfx_service_output_width(s);
}

/* ---- answers, laid out as TF Serving's RapidJSON PrettyWriter lays them
 * out (4-space indent; single-line arrays inside a row) ---------------------
 */

static void put_float(cfx_buf_t *o, float v) {
    if (cfx_buf_reserve(o, CFX_NUMFMT_MAX) == 0)
        o->len += cfx_numfmt_tf_float(v, (char *)o->data + o->len);
}

static void put_indent(cfx_buf_t *o, int levels) {
    static const char nl[] = "\n                                ";
    cfx_buf_append(o, nl, 1 + 4 * (size_t)levels);
}

/* Value j of output k of row i. */
static void put_value(cfx_buf_t *o, const cfx_servable_t *s,
                      const cfx_signature_t *sig, size_t k, const float *scores,
                      size_t w, size_t i, size_t j) {
    if (sig->kind == CFX_SIG_CLASSIFY && k == 0) {
        const char *l = cfx_service_class_label(s, j);
        cfx_jscan_put_string(o, l, strlen(l));
    } else {
        put_float(o, scores[w * i + j]);
    }
}

/* Output k of row i on one line: [v, v, ...]. */
static void put_row(cfx_buf_t *o, const cfx_servable_t *s,
                    const cfx_signature_t *sig, size_t k, const float *scores,
                    size_t w, size_t i) {
    cfx_buf_putc(o, '[');
    for (size_t j = 0; j < w; j++) {
        if (j)
            cfx_buf_append(o, ", ", 2);
        put_value(o, s, sig, k, scores, w, i, j);
    }
    cfx_buf_putc(o, ']');
}

/* Output k as a whole [n, w] tensor, one value per line, starting at
 * indentation level `level` (the array's own level). */
static void put_column(cfx_buf_t *o, const cfx_servable_t *s,
                       const cfx_signature_t *sig, size_t k,
                       const float *scores, size_t w, size_t n, int level) {
    cfx_buf_putc(o, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            cfx_buf_putc(o, ',');
        put_indent(o, level + 1);
        cfx_buf_putc(o, '[');
        for (size_t j = 0; j < w; j++) {
            if (j)
                cfx_buf_putc(o, ',');
            put_indent(o, level + 2);
            put_value(o, s, sig, k, scores, w, i, j);
        }
        if (w)
            put_indent(o, level + 1);
        cfx_buf_putc(o, ']');
    }
    if (n)
        put_indent(o, level);
    cfx_buf_putc(o, ']');
}

static void write_predict(cfx_buf_t *o, const cfx_servable_t *s,
                          const cfx_signature_t *sig, const float *scores,
                          size_t w, size_t n, int columnar) {
    cfx_buf_reset(o);
    size_t no = sig->n_outputs;
    if (!columnar) {
        cfx_buf_append(o, "{\n    \"predictions\": [", 22);
        for (size_t i = 0; i < n; i++) {
            if (no == 1) {
                if (i)
                    cfx_buf_append(o, ", ", 2);
                put_row(o, s, sig, 0, scores, w, i);
                continue;
            }
            if (i)
                cfx_buf_putc(o, ',');
            put_indent(o, 2);
            cfx_buf_putc(o, '{');
            for (size_t k = 0; k < no; k++) {
                if (k)
                    cfx_buf_putc(o, ',');
                put_indent(o, 3);
                const char *nm = sig->outputs[k].name;
                cfx_jscan_put_string(o, nm, strlen(nm));
                cfx_buf_append(o, ": ", 2);
                put_row(o, s, sig, k, scores, w, i);
            }
            put_indent(o, 2);
            cfx_buf_putc(o, '}');
        }
        if (n)
            put_indent(o, 1);
        cfx_buf_append(o, "]\n}", 3);
        return;
    }
    cfx_buf_append(o, "{\n    \"outputs\": ", 17);
    if (no == 1) {
        put_column(o, s, sig, 0, scores, w, n, 1);
        cfx_buf_append(o, "\n}", 2);
        return;
    }
    cfx_buf_putc(o, '{');
    for (size_t k = 0; k < no; k++) {
        if (k)
            cfx_buf_putc(o, ',');
        put_indent(o, 2);
        const char *nm = sig->outputs[k].name;
        cfx_jscan_put_string(o, nm, strlen(nm));
        cfx_buf_append(o, ": ", 2);
        put_column(o, s, sig, k, scores, w, n, 2);
    }
    put_indent(o, 1);
    cfx_buf_append(o, "}\n}", 3);
}

/* Reads the body and its signature_name; answers the error itself. */
static int parse_body(reqctx_t *c, cfx_rest_body_t *b, char *key,
                      size_t key_cap, const char *dflt) {
    cfx_error_t err;
    cfx_error_init(&err);
    const char *data, *sn;
    size_t len, snl;
    cfx_rest_t *r = c->r;
    if (read_body(c, &data, &len))
        return -1;
    cfx_rest_body_init(b, &r->scratch, &r->blob, &r->vals);
    int rc = cfx_rest_body_parse(b, data, len, &sn, &snl, &err);
    if (rc) {
        send_cfx_error(c, rc, &err);
        return -1;
    }
    /* An absent or empty signature_name means the default (TF Serving). */
    if (!sn || !snl) {
        sn = dflt;
        snl = strlen(dflt);
    }
    if (snl >= key_cap) /* longer than any signature key: not found */
        snl = key_cap - 1;
    memcpy(key, sn, snl);
    key[snl] = 0;
    /* A NUL inside the name (\u0000) must not cut it down to a key that
     * exists: shown as '?', it matches none. */
    for (char *z = memchr(key, 0, snl); z;
         z = memchr(z, 0, snl - (size_t)(z - key)))
        *z = '?';
    return 0;
}

/* An unknown signature is answered with TF Serving's text: its REST
 * handler's for predict, its classifier's / regressor's otherwise. */
static int find_signature(reqctx_t *c, const cfx_servable_t *s, const char *key,
                          int predict, const cfx_signature_t **sig) {
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_service_signature(s, key, sig, &err) == 0)
        return 0;
    char msg[600];
    if (predict)
        snprintf(msg, sizeof(msg),
                 "Serving signature name: \"%.256s\" not found in signature "
                 "def",
                 key);
    else
        snprintf(msg, sizeof(msg),
                 "No signature was found with the name: %.256s", key);
    send_error(c, 3, msg);
    return -1;
}

static void handle_predict(reqctx_t *c, const route_t *rt) {
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_rest_t *r = c->r;
    cfx_servable_t *s = NULL;
    batch_t b = {0};
    float *scores = NULL;
    cfx_rest_body_t *rb = &r->rb;
    char key[300];
    if (parse_body(c, rb, key, sizeof(key), "serving_default"))
        return;
    int rc = cfx_manager_acquire(r->srv->manager, rt->name, rt->version,
                                 rt->has_label ? rt->label : NULL, &s, &err);
    if (rc) {
        send_cfx_error(c, rc, &err);
        goto out;
    }
    const cfx_signature_t *sig = NULL;
    if (find_signature(c, s, key, 1, &sig))
        goto out;
    rc = cfx_rest_predict_prepare(rb, sig, &err);
    if (!rc && batch_init(&b, r, rb->n))
        rc = cfx_error_set(&err, CFX_ENOMEM, "out of memory");
    if (!rc)
        rc = cfx_rest_predict_fill(rb, sig, b.ex, &err);
    if (!rc)
        rc = cfx_rest_predict_finish(rb, sig, b.ex, &err);
    size_t w = answer_width(s, sig);
    if (!rc && b.n) {
        scores = malloc(b.n * w * sizeof(*scores));
        if (!scores)
            rc = cfx_error_set(&err, CFX_ENOMEM, "out of memory");
        else
            rc = run_sig(s, sig, &b, scores, &err);
    }
    if (rc) {
        send_cfx_error(c, rc, &err);
        goto out;
    }
    cfx_metrics_record_examples(r->srv->metrics, rt->name, b.n);
    write_predict(&r->out, s, sig, scores, w, b.n, rb->columnar);
    send_ok(c);
out:
    free(scores);
    batch_free(&b);
    cfx_servable_release(s);
}

static void handle_classify_regress(reqctx_t *c, const route_t *rt) {
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_rest_t *r = c->r;
    cfx_servable_t *s = NULL;
    batch_t b = {0};
    float *scores = NULL;
    cfx_example_t ctx, one;
    cfx_example_init(&ctx);
    cfx_example_init(&one);
    cfx_rest_body_t *rb = &r->rb;
    int classify = rt->kind == R_CLASSIFY;
    char key[300];
    size_t n = 0;
    /* Without signature_name the model's classify/regress signature is
     * used (TF Serving would try serving_default, a predict signature). */
    if (parse_body(c, rb, key, sizeof(key), classify ? "classify" : "regress"))
        goto out;
    /* TF Serving reads the whole request before it looks the model up. */
    int rc = cfx_rest_examples_count(rb, &ctx, &n, &err);
    if (!rc && batch_init(&b, r, n))
        rc = cfx_error_set(&err, CFX_ENOMEM, "out of memory");
    if (!rc)
        rc = cfx_rest_examples_fill(rb, rb->context ? &ctx : NULL, b.ex, &one,
                                    &err);
    if (!rc)
        rc = cfx_manager_acquire(r->srv->manager, rt->name, rt->version,
                                 rt->has_label ? rt->label : NULL, &s, &err);
    if (rc) {
        send_cfx_error(c, rc, &err);
        goto out;
    }
    const cfx_signature_t *sig = NULL;
    if (find_signature(c, s, key, 0, &sig))
        goto out;
    size_t w = classify ? cfx_service_num_classes(s) : 1;
    scores = malloc(n * w * sizeof(*scores));
    if (!scores) {
        send_error(c, 8, "out of memory");
        goto out;
    }
    rc = classify ? cfx_service_classify(s, sig, b.ptr, n, scores, &err)
                  : cfx_service_regress(s, sig, b.ptr, n, scores, &err);
    if (rc) {
        send_cfx_error(c, rc, &err);
        goto out;
    }
    cfx_metrics_record_examples(r->srv->metrics, rt->name, n);
    cfx_buf_t *o = &r->out;
    cfx_buf_reset(o);
    cfx_buf_append(o, "{\n    \"results\": [", 18);
    for (size_t i = 0; i < n; i++) {
        if (i)
            cfx_buf_append(o, ", ", 2);
        if (!classify) {
            put_float(o, scores[i]);
            continue;
        }
        cfx_buf_putc(o, '[');
        for (size_t j = 0; j < w; j++) {
            const char *l = cfx_service_class_label(s, j);
            cfx_buf_append(o, j ? ", [" : "[", j ? 3 : 1);
            cfx_jscan_put_string(o, l, strlen(l));
            cfx_buf_append(o, ", ", 2);
            put_float(o, scores[w * i + j]);
            cfx_buf_putc(o, ']');
        }
        cfx_buf_putc(o, ']');
    }
    if (classify)
        put_indent(o, 1);
    cfx_buf_append(o, "]\n}", 3);
    send_ok(c);
out:
    free(scores);
    batch_free(&b);
    cfx_example_free(&ctx);
    cfx_example_free(&one);
    cfx_servable_release(s);
}

/* ---- dispatch -------------------------------------------------------------
 */

static void send_text(reqctx_t *c, int http, const char *ctype,
                      const char *body) {
    cfx_buf_reset(&c->r->out);
    cfx_buf_append(&c->r->out, body, strlen(body));
    send_buf(c, http, ctype);
}

static const char NOT_FOUND_HTML[] =
    "<HTML><HEAD>\n<TITLE>404 Not Found</TITLE>\n</HEAD><BODY>\n"
    "<H1>Not Found</H1>\n</BODY></HTML>\n";

/* Response and body scratch up to this size is kept between requests. */
#define OUT_KEEP ((size_t)1 << 20)

static void on_request(cfx_http1_req_t *req, void *arg) {
    cfx_rest_t *r = arg;
    reqctx_t c = {r, req, cfx_clock_mono_us(), NULL, NULL, 0};
    char path[2048];
    char msg[2300];
    const char *uri = req->target;
    const char *method = req->method;
    int is_get = !strcmp(method, "GET"), is_post = !strcmp(method, "POST");
    int is_options = !strcmp(method, "OPTIONS");
    size_t plen = strcspn(uri, "?#");
    if (plen >= sizeof(path)) {
        send_text(&c, 414, "text/plain", "URI too long\n");
        return;
    }
    memcpy(path, uri, plen);
    path[plen] = 0;
    if (req->over_limit) {
        send_error(&c, 14, "Too many connections");
        return;
    }
    if (!strcmp(path, "/v1/ready") || !strcmp(path, "/healthz")) {
        if (cfx_manager_ready(r->srv->manager) && !r->srv->draining)
            send_text(&c, 200, "application/json", "{\"ready\": true}\n");
        else
            send_text(&c, 503, "application/json", "{\"ready\": false}\n");
        return;
    }
    cfx_auth_peer_t who = {NULL, 0, req->peer_verified};
    if (r->srv->opts.inference_token)
        who.authorization = cfx_http1_header(req, "Authorization");
    if (cfx_auth_inference(&r->srv->opts, &who, msg, sizeof(msg))) {
        send_error(&c, 16, msg); /* 401; health checks above stay open */
        return;
    }
    if (r->srv->opts.prometheus_path &&
        !strcmp(path, r->srv->opts.prometheus_path) && is_get) {
        cfx_buf_reset(&r->out);
        cfx_metrics_render(r->srv->metrics, &r->out);
        cfx_manager_render_versions(r->srv->manager, &r->out);
        send_buf(&c, 200, "text/plain; version=0.0.4");
        return;
    }
    if (is_options && r->srv->opts.rest_api_enable_cors_support &&
        strncmp(path, "/v1/", 4) == 0) {
        /* A CORS preflight: 200 only for an http(s) Origin, as TF Serving. */
        const char *origin = cfx_http1_header(req, "Origin");
        if (origin && (!strncmp(origin, "http://", 7) ||
                       !strncmp(origin, "https://", 8))) {
            send_text(&c, 200, "application/json", "");
            return;
        }
    }
    if (is_get && (!strcmp(path, "/") || !strcmp(path, "/v1/status"))) {
        /* the status page and its JSON twin (serve/status_page.h) */
        const char *ctype;
        int http =
            cfx_status_page_respond(r->srv, path[1] == 0, &r->out, &ctype);
        send_buf(&c, http, ctype);
        return;
    }
    if (strncmp(path, "/v1/", 4) != 0) {
        send_text(&c, 404, "text/html", NOT_FOUND_HTML);
        return;
    }
    route_t rt;
    int post = is_post;
    int pr = (is_get || post)
                 ? cfx_rest_route_parse(path, post, &rt, msg, sizeof(msg))
                 : 1;
    c.api = pr == 0 ? route_api[rt.kind] : "unknown";
    c.model = pr == 0 ? rt.name : "";
    if (pr == 2) {
        send_error(&c, 3, "Missing model name in request.");
        return;
    }
    if (pr == 3) {
        send_error(&c, 3, msg);
        return;
    }
    if (pr || (rt.has_label && rt.version >= 0)) {
        snprintf(msg, sizeof(msg), "Malformed request: %s %s", method, path);
        send_error(&c, 3, msg);
        return;
    }
    if (rt.kind == R_STATUS) {
        handle_status(&c, &rt);
        return;
    }
    if (rt.kind == R_METADATA) {
        handle_metadata(&c, &rt);
        return;
    }
    size_t charge = 0;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_service_admit(r->srv->opts.max_inflight_bytes, req->body_len,
                          &charge, &err)) {
        send_error(&c, 8, err.msg); /* 429 */
        return;
    }
    if (rt.kind == R_PREDICT)
        handle_predict(&c, &rt);
    else
        handle_classify_regress(&c, &rt);
    /* Scratch grown by a big request goes with it. */
    if (r->out.cap > OUT_KEEP)
        cfx_buf_free(&r->out);
    if (r->body.cap > OUT_KEEP)
        cfx_buf_free(&r->body);
    if (r->scratch.cap > OUT_KEEP)
        cfx_buf_free(&r->scratch);
    if (r->blob.cap > OUT_KEEP)
        cfx_buf_free(&r->blob);
    if (r->vals.cap > OUT_KEEP)
        cfx_buf_free(&r->vals);
    if (r->rb.ser_cap > POOL_KEEP)
        cfx_rest_body_free(&r->rb);
    cfx_service_release(charge);
}

int cfx_rest_new(cfx_server_t *srv, struct event_base *base,
                 evutil_socket_t listen_fd, cfx_rest_t **out,
                 cfx_error_t *err) {
    *out = NULL;
    cfx_rest_t *r = calloc(1, sizeof(*r));
    if (!r) {
        close(listen_fd);
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    r->srv = srv;
    r->base = base;
    cfx_buf_init(&r->out);
    cfx_buf_init(&r->body);
    cfx_buf_init(&r->scratch);
    cfx_buf_init(&r->blob);
    cfx_buf_init(&r->vals);
    cfx_arena_init(&r->batch_arena);
    cfx_http1_options_t ho = {
        .max_body_bytes = srv->opts.max_body_bytes,
        .max_header_bytes = srv->opts.max_header_bytes,
        .idle_timeout_seconds = srv->opts.idle_timeout_seconds,
        .request_read_timeout_seconds = srv->opts.request_read_timeout_seconds,
        .max_connections = srv->opts.max_connections,
        .connections = &g_connections,
        .first_byte_timeout_seconds = srv->opts.first_byte_timeout_seconds,
        .max_connections_per_client = srv->opts.max_connections_per_client,
        .ssl = srv->opts.have_ssl ? &srv->opts.ssl : NULL,
        .ssl_where = srv->opts.ssl_config_file,
    };
    int rc = cfx_http1_new(base, listen_fd, &ho, on_request, r, &r->http, err);
    if (rc) {
        cfx_rest_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void cfx_rest_stop_accepting(cfx_rest_t *r) {
    if (r)
        cfx_http1_stop_accepting(r->http);
}

void cfx_rest_free(cfx_rest_t *r) {
    if (!r)
        return;
    cfx_http1_free(r->http);
    pool_release(r);
    cfx_arena_free(&r->batch_arena);
    cfx_buf_free(&r->out);
    cfx_buf_free(&r->body);
    cfx_buf_free(&r->scratch);
    cfx_buf_free(&r->blob);
    cfx_buf_free(&r->vals);
    cfx_rest_body_free(&r->rb);
    free(r);
}

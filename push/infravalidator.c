/*
 * infravalidator.c: a real cfx-serve, real requests (infravalidator.h).
 * The HTTP client is a plain blocking socket, one request per connection
 * (Connection: close): simple, and it exercises the server's accept path.
 */
#include "push/infravalidator.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/perf.h"
#include "eval/model_identity.h"
#include "formats/buf.h"
#include "formats/clock.h"
#include "formats/example.h"
#include "formats/file.h"
#include "model/bundle.h"
#include "model/transform.h"
#include "push/infra_grpc.h"

#define MAX_ROWS 1000
/* Most requests one validation replays (the rows cycle). */
#define MAX_REQUESTS 10000
#define MAX_WARMUP_BYTES (16u << 20)
#define MAX_RESPONSE (1u << 20)
#define STOP_GRACE_S 5.0

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One raw row of warmup.jsonl -> a tf.Example typed as the graph reads it. */
static int row_example(const cfx_transform_t *xf, const json_t *row,
                       cfx_example_t *ex, cfx_error_t *err) {
    const char *k;
    json_t *v;
    cfx_example_reset(ex);
    json_object_foreach((json_t *)row, k, v) {
        cfx_kind_t kind = CFX_KIND_NONE;
        for (size_t i = 0; i < cfx_transform_num_inputs(xf); i++)
            if (!strcmp(cfx_transform_input(xf, i)->name, k))
                kind = cfx_transform_input(xf, i)->kind;
        if (json_is_null(v))
            continue;
        if (kind == CFX_KIND_NONE)
            kind = json_is_integer(v) ? CFX_KIND_INT64
                   : json_is_real(v)  ? CFX_KIND_FLOAT
                                      : CFX_KIND_BYTES;
        int ret = 0;
        if (kind == CFX_KIND_INT64 && json_is_number(v)) {
            int64_t x = (int64_t)json_number_value(v);
            if (json_is_integer(v))
                x = json_integer_value(v);
            ret = cfx_example_add_int64(ex, k, &x, 1);
        } else if (kind == CFX_KIND_FLOAT && json_is_number(v)) {
            float x = (float)json_number_value(v);
            ret = cfx_example_add_float(ex, k, &x, 1);
        } else if (kind == CFX_KIND_BYTES && json_is_string(v)) {
            cfx_bytes_t b = {(const uint8_t *)json_string_value(v),
                             json_string_length(v)};
            ret = cfx_example_add_bytes(ex, k, &b, 1);
        } else {
            return cfx_error_set(err, CFX_EINVAL,
                                 "warm-up row: feature '%s' has the wrong type",
                                 k);
        }
        if (ret)
            return cfx_error_set(err, ret, "warm-up row: out of memory");
    }
    return 0;
}

/* POST (body != NULL) or GET path on 127.0.0.1:port; *status and resp. */
static int http(int port, const char *method, const char *path,
                const char *body, int *status, cfx_buf_t *resp, char *why,
                size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ret = -1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    struct timeval tv = {10, 0};
    cfx_buf_t req;
    cfx_buf_init(&req);
    cfx_buf_reset(resp);
    *status = 0;
    if (fd < 0) {
        snprintf(why, cap, "socket: %s", strerror(errno));
        goto out;
    }
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        snprintf(why, cap, "connect 127.0.0.1:%d: %s", port, strerror(errno));
        goto out;
    }
    size_t bl = body ? strlen(body) : 0;
    if (cfx_buf_printf(
            &req,
            "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
            method, path, bl) ||
        (bl && cfx_buf_append(&req, body, bl))) {
        snprintf(why, cap, "out of memory");
        goto out;
    }
    for (size_t off = 0; off < req.len;) {
        ssize_t w = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(why, cap, "send: %s", strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    char buf[8192];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, cap, "recv: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (resp->len + (size_t)n > MAX_RESPONSE) {
            snprintf(why, cap, "answer over %u bytes", MAX_RESPONSE);
            goto out;
        }
        if (cfx_buf_append(resp, buf, (size_t)n)) {
            snprintf(why, cap, "out of memory");
            goto out;
        }
    }
    if (cfx_buf_cstr(resp) ||
        sscanf((const char *)resp->data, "HTTP/1.%*d %d", status) != 1) {
        snprintf(why, cap, "no HTTP status line in the answer");
        goto out;
    }
    /* keep the body only */
    const char *b = strstr((const char *)resp->data, "\r\n\r\n");
    size_t skip = b ? (size_t)(b + 4 - (const char *)resp->data) : resp->len;
    memmove(resp->data, resp->data + skip, resp->len - skip);
    resp->len -= skip;
    cfx_buf_cstr(resp);
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    cfx_buf_free(&req);
    return ret;
}

/* The server under test is this process's child and dies with it: the
 * kernel sends it SIGKILL when the thread that forked it ends, however that
 * ends (SIGKILL included), so a killed validation never leaves a server
 * running (docs/push.md). It listens on ports the kernel picks, on the
 * loopback interface only: a candidate model is nobody else's business. */
static pid_t start_server(const char *bin, const char *name, const char *base,
                          const char *log) {
    char a1[PATH_MAX + 32], a2[512];
    snprintf(a1, sizeof a1, "--model_base_path=%s", base);
    snprintf(a2, sizeof a2, "--model_name=%s", name);
    char *argv[] = {(char *)bin,
                    "--port=0",
                    "--rest_api_port=auto",
                    "--grpc_bind_address=127.0.0.1",
                    "--rest_api_bind_address=127.0.0.1",
                    a2,
                    a1,
                    NULL};
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* the parent may have died before prctl: then nobody would signal */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0)
        dup2(nul, 0);
    execv(bin, argv);
    fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
    _exit(127);
}

static void stop_server(pid_t pid) {
    int st;
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    double end = cfx_clock_mono_s() + STOP_GRACE_S;
    while (cfx_clock_mono_s() < end) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD))
            return; /* gone (maybe reaped already) */
        sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

/* The port of the address after `prefix` in the server's log ("...at
 * HOST:PORT ..."): the number after the address's last ':', whatever the
 * host is printed as; 0 when absent. */
static int logged_port(const char *text, const char *prefix) {
    const char *p = strstr(text, prefix);
    if (!p)
        return 0;
    p += strlen(prefix);
    size_t n = strcspn(p, " \n");
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (p[i] == ':')
            colon = p + i;
    return colon ? atoi(colon + 1) : 0;
}

/* Reads the ports from the server's log; 1 when the REST one is known. */
static int read_ports(const char *log, int *rest, int *grpc) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    if (cfx_file_read(log, 1 << 20, &b, NULL) == 0 && b.data) {
        const char *t = (const char *)b.data;
        int r = logged_port(t, "Exporting HTTP/REST API at:");
        int g = logged_port(t, "Running gRPC ModelServer at ");
        if (r > 0)
            *rest = r;
        if (g > 0)
            *grpc = g;
    }
    cfx_buf_free(&b);
    return *rest > 0;
}

static void tail_log(const char *log, char *out, size_t cap) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    out[0] = 0;
    if (cfx_file_read(log, 1 << 20, &b, NULL) == 0 && b.data) {
        size_t from = b.len > 300 ? b.len - 300 : 0;
        snprintf(out, cap, "%s", (const char *)b.data + from);
        for (char *c = out; *c; c++)
            if (*c == '\n')
                *c = ' ';
    }
    cfx_buf_free(&b);
}

/* The checks against a started server; fills res->reason on a failure. */
/* The load test (o->load_check): cfx perf against the running server.
 * Returns 0 when every check held, else -1 with res->reason set. */
static int load_test(const cfx_infra_opts_t *o, const char *name,
                     const char *warm, pid_t pid, cfx_infra_result_t *res) {
    cfx_perf_opts_t po;
    cfx_error_t err;
    char path[PATH_MAX];
    int rc;
    cfx_error_init(&err);
    cfx_perf_opts_init(&po);
    po.proto = CFX_PERF_REST;
    snprintf(po.host, sizeof po.host, "127.0.0.1");
    po.port = res->rest_port;
    po.model = name;
    po.data = warm;
    po.levels[0] = o->load_concurrency ? o->load_concurrency : 4;
    po.n_levels = 1;
    po.duration = o->load_seconds > 0 ? o->load_seconds : 2;
    po.warmup = 0.5;
    po.threads = 1;
    po.format = CFX_PERF_JSON;
    if (cfx_perf_parse_checks(&po, o->load_check, &err)) {
        snprintf(res->reason, sizeof res->reason, "load check: %s", err.msg);
        return -1;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/load.json", o->output_dir) >=
        sizeof path) {
        snprintf(res->reason, sizeof res->reason, "%.1500s: path too long",
                 o->output_dir);
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(res->reason, sizeof res->reason, "%.1500s: %s", path,
                 strerror(errno));
        return -1;
    }
    rc = cfx_perf_run(&po, f, &err);
    if (fclose(f) != 0 && rc == 0)
        rc = cfx_error_set(&err, CFX_EIO, "%s: write failed", path);
    json_t *doc = json_load_file(path, 0, NULL);
    json_t *lv = json_array_get(doc, 0);
    json_t *codes = json_object_get(lv, "error_codes");
    res->load_rps = json_number_value(json_object_get(lv, "rps"));
    res->load_p50_ms = json_number_value(json_object_get(lv, "p50_us")) / 1e3;
    res->load_p99_ms = json_number_value(json_object_get(lv, "p99_us")) / 1e3;
    json_int_t ok = json_integer_value(json_object_get(lv, "ok"));
    json_int_t lost = json_integer_value(json_object_get(codes, "connection")) +
                      json_integer_value(json_object_get(codes, "timeout"));
    json_decref(doc);
    int st;
    /* Whatever the checks say, a server that died, dropped connections or
     * stopped answering under load has failed (error statuses are left to
     * the checks, e.g. errors<=0). */
    if (rc == 0 && waitpid(pid, &st, WNOHANG) == pid) {
        snprintf(res->reason, sizeof res->reason,
                 "load test: cfx-serve exited under load (status %d)",
                 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        return -1;
    }
    if (rc == 0 && (ok <= 0 || lost > 0))
        rc = cfx_error_set(&err, CFX_EUNAVAILABLE,
                           "%lld answers, %lld requests lost to dropped "
                           "connections or no answer",
                           (long long)ok, (long long)lost);
    if (rc) {
        snprintf(res->reason, sizeof res->reason,
                 "load test (%zu in flight, "
                 "%.1f s over REST): %s",
                 po.levels[0], po.duration, err.msg);
        return -1;
    }
    res->load_tested = 1;
    return 0;
}

static void replay(const cfx_infra_opts_t *o, const char *name, const char *log,
                   pid_t pid, json_t *rows, const cfx_example_t *ex,
                   const float *offline, size_t width, const char *warm,
                   cfx_infra_result_t *res) {
    double t0 = cfx_clock_mono_s(),
           timeout = o->load_timeout_s > 0 ? o->load_timeout_s : 60;
    double tol = o->tolerance > 0 ? o->tolerance : 1e-5;
    char why[512], path[512], logtail[320];
    int st, status;
    cfx_buf_t resp;
    cfx_buf_init(&resp);
    while (!read_ports(log, &res->rest_port, &res->grpc_port)) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            tail_log(log, logtail, sizeof logtail);
            snprintf(res->reason, sizeof res->reason,
                     "cfx-serve exited before serving (status %d): %s",
                     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
                     logtail);
            goto out;
        }
        if (cfx_clock_mono_s() - t0 > timeout) {
            snprintf(res->reason, sizeof res->reason,
                     "cfx-serve opened no REST port in %.0f s", timeout);
            goto out;
        }
        sleep_ms(20);
    }
    /* wait for the model: GET /v1/models/<name> says AVAILABLE */
    snprintf(path, sizeof path, "/v1/models/%s", name);
    for (;;) {
        if (http(res->rest_port, "GET", path, NULL, &status, &resp, why,
                 sizeof why) == 0 &&
            status == 200 && strstr((const char *)resp.data, "AVAILABLE"))
            break;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            tail_log(log, logtail, sizeof logtail);
            snprintf(res->reason, sizeof res->reason,
                     "cfx-serve exited while loading: %s", logtail);
            goto out;
        }
        if (cfx_clock_mono_s() - t0 > timeout) {
            snprintf(
                res->reason, sizeof res->reason,
                "model not AVAILABLE after %.0f s (last answer %d: %.200s)",
                timeout, status, resp.data ? (const char *)resp.data : "");
            goto out;
        }
        sleep_ms(50);
    }
    res->load_seconds = cfx_clock_mono_s() - t0;
    snprintf(path, sizeof path, "/v1/models/%s:predict", name);
    for (size_t i = 0; i < res->requests; i++) {
        size_t row = i % json_array_size(rows) + 1;
        json_t *req = json_pack("{s:s,s:[O]}", "signature_name", "predict_raw",
                                "instances", json_array_get(rows, row - 1));
        char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        if (!body) {
            snprintf(res->reason, sizeof res->reason, "out of memory");
            goto out;
        }
        int hr = http(res->rest_port, "POST", path, body, &status, &resp, why,
                      sizeof why);
        free(body);
        if (hr) {
            snprintf(res->reason, sizeof res->reason,
                     "REST request %zu (warm-up row %zu): %s", i + 1, row, why);
            goto out;
        }
        if (status != 200) {
            snprintf(res->reason, sizeof res->reason,
                     "REST request %zu (warm-up row %zu): HTTP %d: %.300s",
                     i + 1, row, status, (const char *)resp.data);
            goto out;
        }
        json_error_t je;
        json_t *doc = json_loads((const char *)resp.data, 0, &je);
        /* one row: [v] or [p_0, ..., p_N-1] (or a bare number) */
        json_t *row_p = json_array_get(json_object_get(doc, "predictions"), 0);
        int bad = json_is_array(row_p) ? json_array_size(row_p) != width
                                       : !json_is_number(row_p) || width != 1;
        for (size_t k = 0; !bad && k < width; k++) {
            json_t *p = json_is_array(row_p) ? json_array_get(row_p, k) : row_p;
            if (!json_is_number(p)) {
                bad = 1;
                break;
            }
            double served = json_number_value(p),
                   off = (double)offline[i * width + k], d = fabs(served - off);
            if (d > res->max_abs_diff)
                res->max_abs_diff = d;
            if (!(d <= tol * (fabs(off) > 1 ? fabs(off) : 1))) {
                snprintf(res->reason, sizeof res->reason,
                         "REST request %zu (warm-up row %zu): served %.9g, "
                         "offline %.9g (output %zu), |diff| %.3g > %.3g",
                         i + 1, row, served, off, k, d, tol);
                json_decref(doc);
                goto out;
            }
        }
        if (bad) {
            snprintf(res->reason, sizeof res->reason,
                     "REST request %zu: no prediction of %zu values in the "
                     "answer: %.300s",
                     i + 1, width, (const char *)resp.data);
            json_decref(doc);
            goto out;
        }
        json_decref(doc);
        res->ok++;
    }
    /* the same rows as serialized tf.Examples through gRPC Predict */
    if (res->grpc_port > 0 &&
        cfx_infra_grpc_replay(res->grpc_port, name, ex, offline, width,
                              res->requests, tol, &res->grpc_ok,
                              &res->max_abs_diff, res->reason,
                              sizeof res->reason) != 0)
        goto out;
    if (o->load_check && load_test(o, name, warm, pid, res) != 0)
        goto out;
    res->blessed = 1;
out:
    cfx_buf_free(&resp);
}

int cfx_infravalidator_run(const cfx_infra_opts_t *o, cfx_infra_result_t *res,
                           cfx_error_t *err) {
    cfx_bundle_t *b = NULL;
    cfx_buf_t text;
    json_t *rows = json_array();
    cfx_example_t *ex = NULL;
    const cfx_example_t **ptr = NULL;
    float *offline = NULL;
    char tmp[PATH_MAX] = "", models[PATH_MAX], link[PATH_MAX], log[PATH_MAX],
         abs_model[PATH_MAX];
    pid_t pid = -1;
    int ret;
    size_t n = 0, nreq = 0;
    /* what is wrong with the model: a verdict (INFRA_NOT_BLESSED), not a
     * failure of the validation */
    cfx_error_t merr;
    cfx_error_init(&merr);
    memset(res, 0, sizeof *res);
    cfx_buf_init(&text);
    if (!rows)
        return cfx_error_set(err, CFX_ENOMEM,
                             "infra validation: out of memory");
    if (o->load_check) { /* a bad spec is the caller's error, not a verdict */
        cfx_perf_opts_t po;
        cfx_perf_opts_init(&po);
        if ((ret = cfx_perf_parse_checks(&po, o->load_check, err))) {
            cfx_error_prefix(err, "load check");
            json_decref(rows);
            return ret;
        }
    }
    if ((ret = cfx_file_mkdirs(o->output_dir, err)))
        goto out;
    if (cfx_bundle_load(o->model_dir, &b, &merr))
        goto verdict;
    const char *warm = cfx_bundle_warmup_path(b);
    if (!warm) {
        cfx_error_set(&merr, CFX_ENOTFOUND,
                      "%s: the bundle has no warm-up rows to replay",
                      o->model_dir);
        goto verdict;
    }
    if (cfx_file_read(warm, MAX_WARMUP_BYTES, &text, &merr))
        goto verdict;
    for (char *line = (char *)text.data; line && *line && n < MAX_ROWS;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (*line) {
            json_error_t je;
            json_t *row = json_loads(line, 0, &je);
            if (!json_is_object(row)) {
                json_decref(row);
                cfx_error_set(&merr, CFX_EPARSE,
                              "%s:%zu: not a JSON object: %s", warm, n + 1,
                              je.text);
                goto verdict;
            }
            json_array_append_new(rows, row);
            n++;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (n == 0) {
        cfx_error_set(&merr, CFX_ENOTFOUND, "%s: no warm-up rows", warm);
        goto verdict;
    }
    /* num_requests is the number of requests replayed; the warm-up rows
     * cycle (docs/push.md) */
    nreq = o->max_requests ? o->max_requests : n;
    if (nreq > MAX_REQUESTS)
        nreq = MAX_REQUESTS;
    ex = calloc(nreq, sizeof *ex);
    ptr = calloc(nreq, sizeof *ptr);
    offline = calloc(nreq * cfx_bundle_output_width(b), sizeof *offline);
    if (!ex || !ptr || !offline) {
        ret = cfx_error_set(err, CFX_ENOMEM, "infra validation: out of memory");
        goto out;
    }
    for (size_t i = 0; i < nreq; i++)
        cfx_example_init(&ex[i]);
    for (size_t i = 0; i < nreq; i++) {
        ptr[i] = &ex[i];
        if (row_example(cfx_bundle_transform(b), json_array_get(rows, i % n),
                        &ex[i], &merr)) {
            cfx_error_prefix(&merr, "%s:%zu", warm, i % n + 1);
            goto verdict;
        }
    }
    if (cfx_bundle_predict(b, ptr, nreq, offline, &merr))
        goto verdict;
    res->requests = nreq;

    /* a model base path holding only the candidate, as version 1 */
    char abs_out[PATH_MAX];
    if (!realpath(o->output_dir, abs_out)) {
        ret = cfx_error_set(err, CFX_EIO, "%s: %s", o->output_dir,
                            strerror(errno));
        goto out;
    }
    /* the server wants an absolute base path */
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.infra-%ld", abs_out,
                         (long)getpid()) >= sizeof tmp - 32) {
        tmp[0] = 0;
        ret = cfx_error_set(err, CFX_ETOOBIG, "%s: path too long", abs_out);
        goto out;
    }
    cfx_file_remove_tree(tmp, NULL);
    /* tmp leaves 32 bytes of room (checked above), so these fit. */
    if ((size_t)snprintf(models, sizeof models, "%s/models", tmp) >=
            sizeof models ||
        (size_t)snprintf(link, sizeof link, "%s/models/1", tmp) >=
            sizeof link ||
        (size_t)snprintf(log, sizeof log, "%s/serve.log", tmp) >= sizeof log) {
        ret = cfx_error_set(err, CFX_ETOOBIG, "%s: path too long", tmp);
        tmp[0] = 0;
        goto out;
    }
    if (!realpath(o->model_dir, abs_model)) {
        ret = cfx_error_set(err, CFX_EIO, "%s: %s", o->model_dir,
                            strerror(errno));
        goto out;
    }
    if ((ret = cfx_file_mkdirs(models, err)))
        goto out;
    if (symlink(abs_model, link) != 0) {
        ret = cfx_error_set(err, CFX_EIO, "%s: symlink: %s", link,
                            strerror(errno));
        goto out;
    }
    if (access(o->serve_binary, X_OK) != 0) {
        snprintf(res->reason, sizeof res->reason, "%s: not an executable: %s",
                 o->serve_binary, strerror(errno));
    } else if ((pid = start_server(o->serve_binary, cfx_bundle_model_name(b),
                                   models, log)) < 0) {
        snprintf(res->reason, sizeof res->reason, "fork: %s", strerror(errno));
    } else {
        replay(o, cfx_bundle_model_name(b), log, pid, rows, ex, offline,
               cfx_bundle_output_width(b), warm, res);
        stop_server(pid);
        pid = -1;
    }
verdict:
    if (merr.code)
        snprintf(res->reason, sizeof res->reason, "%s", merr.msg);
    if (res->blessed) {
        int l =
            snprintf(res->summary, sizeof res->summary,
                     "INFRA_BLESSED: cfx-serve loaded the model in %.2f s and "
                     "answered %zu/%zu warm-up requests over REST and %zu/%zu "
                     "over gRPC like the offline prediction (max |diff| %.3g)",
                     res->load_seconds, res->ok, res->requests, res->grpc_ok,
                     res->grpc_port > 0 ? res->requests : 0, res->max_abs_diff);
        if (res->load_tested && l > 0 && (size_t)l < sizeof res->summary)
            snprintf(res->summary + l, sizeof res->summary - (size_t)l,
                     "; load check %s held: %.0f req/s, p50 %.3g ms, p99 "
                     "%.3g ms",
                     o->load_check, res->load_rps, res->load_p50_ms,
                     res->load_p99_ms);
    } else if (snprintf(res->summary, sizeof res->summary,
                        "INFRA_NOT_BLESSED: %s", res->reason) < 0) {
        res->summary[0] = 0;
    }
    ret = cfx_model_identity_write_verdict(
        o->output_dir, o->model_dir, res->blessed, "INFRA_BLESSED",
        "INFRA_NOT_BLESSED", res->blessed ? res->summary : res->reason, err);
out:
    if (pid > 0)
        stop_server(pid);
    if (tmp[0])
        cfx_file_remove_tree(tmp, NULL);
    for (size_t i = 0; ex && i < nreq; i++)
        cfx_example_free(&ex[i]);
    free(ex);
    free(ptr);
    free(offline);
    json_decref(rows);
    cfx_buf_free(&text);
    cfx_bundle_free(b);
    return ret;
}

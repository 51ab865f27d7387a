/*
 * perf.c: the `cfx perf` driver (see perf.h): option parsing helpers,
 * worker threads with one event base each, closed- and open-loop request
 * issue, per-level report and --check evaluation.
 *
 * Latency is measured from the moment a request was due: in the closed
 * loop that is when it was sent; in the open loop it is its slot in the
 * fixed-rate schedule, so time spent waiting for a free connection counts
 * (coordinated omission correction).
 */
#include "client/perf.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/h2_client.h"
#include "client/perf_body.h"
#include "client/perf_http.h"
#include "formats/clock.h"

#define GRPC_STREAMS_PER_CONN 100
#define DRAIN_GRACE_NS 5000000000ull
#define CODE_CONN 0       /* connection failure */
#define CODE_UNSENT (-1)  /* open loop: due in the run, never sent */
#define CODE_TIMEOUT (-2) /* still unanswered at the end of the grace time */

/* --- options ----------------------------------------------------------------
 */

void cfx_perf_opts_init(cfx_perf_opts_t *o) {
    memset(o, 0, sizeof(*o));
    o->batch = 1;
    o->levels[0] = 1;
    o->n_levels = 1;
    o->duration = 10;
    o->warmup = 1;
    o->threads = 2;
}

int cfx_perf_parse_target(cfx_perf_opts_t *o, const char *s, cfx_error_t *err) {
    const char *rest;
    size_t len;
    o->url_path[0] = '\0';
    if (!strncmp(s, "rest://", 7) || !strncmp(s, "http://", 7)) {
        o->proto = CFX_PERF_REST;
        rest = s + 7;
    } else if (!strncmp(s, "grpc://", 7)) {
        o->proto = CFX_PERF_GRPC;
        rest = s + 7;
    } else {
        return cfx_error_set(err, CFX_EINVAL,
                             "--target %s: expected rest://HOST:PORT, "
                             "grpc://HOST:PORT or http://HOST:PORT/PATH",
                             s);
    }
    len = strlen(rest);
    if (!strncmp(s, "http://", 7)) {
        const char *slash = strchr(rest, '/');
        if (!slash || strlen(slash) >= sizeof(o->url_path) ||
            strpbrk(slash, " \t\r\n"))
            return cfx_error_set(err, CFX_EINVAL,
                                 "--target %s: expected http://HOST:PORT/PATH "
                                 "(path under %zu bytes, no spaces)",
                                 s, sizeof(o->url_path));
        memcpy(o->url_path, slash, strlen(slash) + 1);
        len = (size_t)(slash - rest);
    }
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (rest[i] == ':')
            colon = rest + i;
    if (!colon || colon == rest || (size_t)(colon - rest) >= sizeof(o->host))
        return cfx_error_set(err, CFX_EINVAL, "--target %s: missing HOST:PORT",
                             s);
    size_t hl = (size_t)(colon - rest);
    if (hl >= 2 && rest[0] == '[' && rest[hl - 1] == ']') { /* [::1] */
        rest++;
        hl -= 2;
    }
    memcpy(o->host, rest, hl);
    o->host[hl] = '\0';
    long port = 0;
    const char *p = colon + 1, *end = s + 7 + len; /* len counts from s + 7 */
    if (p == end)
        return cfx_error_set(err, CFX_EINVAL, "--target %s: bad port", s);
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || port > 65535)
            return cfx_error_set(err, CFX_EINVAL, "--target %s: bad port", s);
        port = port * 10 + (*p - '0');
    }
    if (port <= 0 || port > 65535)
        return cfx_error_set(err, CFX_EINVAL, "--target %s: bad port", s);
    o->port = (int)port;
    return 0;
}

int cfx_perf_parse_levels(cfx_perf_opts_t *o, const char *s, cfx_error_t *err) {
    unsigned long a, b;
    char op;
    double step;
    int used = 0;
    o->n_levels = 0;
    if (sscanf(s, "%lu:%lu:%c%lf%n", &a, &b, &op, &step, &used) == 4 &&
        s[used] == '\0') {
        if (a == 0 || b < a || (op != 'x' && op != '+') ||
            (op == 'x' && step <= 1) || (op == '+' && step < 1))
            return cfx_error_set(
                err, CFX_EINVAL,
                "--concurrency %s: expected FROM:TO:xFACTOR or "
                "FROM:TO:+STEP",
                s);
        for (double c = (double)a;
             c <= (double)b + 1e-9 && o->n_levels < CFX_PERF_MAX_LEVELS;
             c = op == 'x' ? c * step : c + step)
            o->levels[o->n_levels++] = (size_t)llround(c);
        return 0;
    }
    const char *p = s;
    while (*p) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v == 0 || v > 100000 || (*end && *end != ','))
            return cfx_error_set(err, CFX_EINVAL,
                                 "--concurrency %s: expected N, N,M,... or "
                                 "FROM:TO:xFACTOR",
                                 s);
        if (o->n_levels == CFX_PERF_MAX_LEVELS)
            return cfx_error_set(err, CFX_ETOOBIG,
                                 "--concurrency: over %d levels",
                                 CFX_PERF_MAX_LEVELS);
        o->levels[o->n_levels++] = v;
        p = *end ? end + 1 : end;
    }
    return o->n_levels ? 0
                       : cfx_error_set(err, CFX_EINVAL, "--concurrency: empty");
}

int cfx_perf_parse_checks(cfx_perf_opts_t *o, const char *s, cfx_error_t *err) {
    size_t n_before = o->n_checks;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", s);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (o->n_checks == CFX_PERF_MAX_CHECKS)
            return cfx_error_set(err, CFX_ETOOBIG, "--check: over %d checks",
                                 CFX_PERF_MAX_CHECKS);
        cfx_perf_check_t *c = &o->checks[o->n_checks];
        snprintf(c->text, sizeof(c->text), "%s", tok);
        size_t m = strcspn(tok, "<>");
        if (m == 0 || m >= sizeof(c->metric) || !tok[m])
            return cfx_error_set(err, CFX_EINVAL,
                                 "--check '%s': expected METRIC<VALUE (p50 p90 "
                                 "p99 p999 max mean rps errors)",
                                 tok);
        memcpy(c->metric, tok, m);
        c->metric[m] = '\0';
        static const char *const known[] = {"p50", "p90",  "p99", "p999",
                                            "max", "mean", "rps", "errors"};
        int ok = 0;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok |= !strcmp(c->metric, known[i]);
        if (!ok)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--check '%s': unknown metric '%s'", tok,
                                 c->metric);
        const char *p = tok + m;
        c->op = *p++;
        if (*p == '=') {
            c->op = c->op == '<' ? 'l' : 'g';
            p++;
        }
        char *end;
        c->value = strtod(p, &end);
        if (end == p)
            return cfx_error_set(err, CFX_EINVAL, "--check '%s': missing value",
                                 tok);
        int latency = c->metric[0] == 'p' || !strcmp(c->metric, "max") ||
                      !strcmp(c->metric, "mean");
        double unit = latency ? 1e6 : 1; /* latencies default to ms */
        if (!strcmp(end, "ns"))
            unit = 1;
        else if (!strcmp(end, "us"))
            unit = 1e3;
        else if (!strcmp(end, "ms"))
            unit = 1e6;
        else if (!strcmp(end, "s"))
            unit = 1e9;
        else if (*end)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--check '%s': unknown unit '%s'", tok, end);
        if (!latency && *end)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--check '%s': %s takes no unit", tok,
                                 c->metric);
        c->value *= unit;
        o->n_checks++;
    }
    if (o->n_checks == n_before)
        return cfx_error_set(err, CFX_EINVAL, "--check '%s': no condition", s);
    return 0;
}

/* --- workers -------------------------------------------------------------- */

typedef struct worker worker_t;

typedef struct pconn {
    worker_t *w;
    size_t index;
    cfx_http1c_t *http;
    cfx_h2c_t *h2;
    size_t in_flight;
    uint64_t due; /* REST: the in-flight request's due time */
    int want;     /* closed loop: requests this connection keeps in flight */
} pconn_t;

struct worker {
    pthread_t th;
    const cfx_perf_opts_t *o;
    const cfx_perf_bodies_t *bodies;
    struct event_base *base;
    pconn_t *conns;
    size_t n_conns;
    int open_loop;
    double interval_ns; /* open loop */
    double next_due;    /* open loop: the next slot of the schedule */
    uint64_t tick_at;   /* when the tick is armed for */
    uint64_t t_measure, t_end, t_hard;
    uint64_t issue_left; /* requests still to issue */
    size_t rr;           /* round robin over connections */
    size_t body_i;
    size_t in_flight;
    int stopping;
    struct event *tick;
    cfx_hist_t hist;
    uint64_t ok, errors;
    uint64_t t_last_done; /* when the last answer arrived */
    int codes[8];
    uint64_t code_counts[8];
    size_t n_codes;
    _Atomic uint64_t progress;
    atomic_int finished;
    int rc;
    cfx_error_t err;
};

static void count_error(worker_t *w, int code) {
    w->errors++;
    for (size_t i = 0; i < w->n_codes; i++)
        if (w->codes[i] == code) {
            w->code_counts[i]++;
            return;
        }
    if (w->n_codes < 8) {
        w->codes[w->n_codes] = code;
        w->code_counts[w->n_codes++] = 1;
    }
}

static int can_issue(worker_t *w, uint64_t now) {
    return !w->stopping && w->issue_left > 0 && now < w->t_end;
}

static void maybe_finish(worker_t *w) {
    if (w->in_flight == 0 && (w->stopping || w->issue_left == 0)) {
        w->stopping = 1;
        event_base_loopbreak(w->base);
    }
}

static int send_on(worker_t *w, pconn_t *c, uint64_t due) {
    const cfx_buf_t *b = &w->bodies->body[w->body_i++ % w->bodies->n];
    int rc;
    if (w->o->proto == CFX_PERF_REST) {
        if (!c->http)
            return CFX_EUNAVAILABLE;
        c->due = due;
        rc = cfx_http1c_send(c->http, b->data, b->len);
    } else {
        if (!c->h2)
            return CFX_EUNAVAILABLE;
        int32_t id =
            cfx_h2c_submit(c->h2, w->bodies->authority, w->bodies->path, NULL,
                           0, b->data, b->len, 1, (void *)(uintptr_t)due);
        rc = id < 0 ? id : 0;
    }
    if (rc == 0) {
        c->in_flight++;
        w->in_flight++;
        if (w->issue_left != UINT64_MAX)
            w->issue_left--;
    }
    return rc;
}

static int has_room(const worker_t *w, const pconn_t *c) {
    size_t limit = w->o->proto == CFX_PERF_REST ? 1 : GRPC_STREAMS_PER_CONN;
    return c->in_flight < limit && (c->http || c->h2);
}

/* A connection with room for one more request, or NULL. */
static pconn_t *free_conn(worker_t *w) {
    for (size_t k = 0; k < w->n_conns; k++) {
        pconn_t *c = &w->conns[(w->rr + k) % w->n_conns];
        if (has_room(w, c)) {
            w->rr = (w->rr + k + 1) % w->n_conns;
            return c;
        }
    }
    return NULL;
}

static void arm_tick(worker_t *w, uint64_t now, uint64_t wait) {
    struct timeval tv = {(time_t)(wait / 1000000000u),
                         (suseconds_t)((wait % 1000000000u) / 1000)};
    w->tick_at = now + wait;
    evtimer_add(w->tick, &tv);
}

/* Open loop: sends every slot of the schedule that is due, as long as a
 * connection has room (preferring c). A slot waits for a connection
 * without being sent; its latency still counts from when it was due, so a
 * server that falls behind shows as growing latency (there is no queue:
 * the schedule itself is the backlog, as in wrk2). */
static void issue_due(worker_t *w, pconn_t *c, uint64_t now) {
    while (!w->stopping && w->next_due <= (double)now &&
           can_issue(w, (uint64_t)w->next_due)) {
        pconn_t *fc = c && has_room(w, c) ? c : free_conn(w);
        if (!fc)
            return;
        uint64_t due = (uint64_t)w->next_due;
        w->next_due += w->interval_ns;
        if (send_on(w, fc, due) != 0)
            count_error(w, CODE_CONN);
    }
    /* Not behind: wake at the next slot if the tick would be later. */
    if (!w->stopping && w->next_due > (double)now &&
        (double)w->tick_at > w->next_due && free_conn(w))
        arm_tick(w, now, (uint64_t)(w->next_due - (double)now));
}

static void refill(worker_t *w, pconn_t *c) {
    uint64_t now = cfx_clock_mono_ns();
    if (w->open_loop) {
        issue_due(w, c, now);
        return;
    }
    while (c && (int)c->in_flight < c->want && can_issue(w, now))
        if (send_on(w, c, now) != 0)
            break;
}

/* due: when the request was scheduled (open loop) or issued (closed
 * loop); it decides whether the request falls in the measured window.
 * start: where its latency counts from (see grpc_done). */
static void record(worker_t *w, uint64_t due, uint64_t start, int ok,
                   int code) {
    uint64_t now = cfx_clock_mono_ns();
    w->t_last_done = now;
    if (due >= w->t_measure) {
        if (ok)
            cfx_hist_record(&w->hist, now - start), w->ok++;
        else
            count_error(w, code);
    }
    atomic_fetch_add_explicit(&w->progress, 1, memory_order_relaxed);
}

static int connect_conn(worker_t *w, pconn_t *c);

static void reconnect_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    pconn_t *c = arg;
    worker_t *w = c->w;
    if (w->stopping)
        return;
    if (connect_conn(w, c) == 0)
        refill(w, c);
}

static void conn_lost(worker_t *w, pconn_t *c) {
    /* Try again shortly (the server may be restarting). */
    struct timeval tv = {0, 100000};
    if (!w->stopping)
        event_base_once(w->base, -1, EV_TIMEOUT, reconnect_cb, c, &tv);
    maybe_finish(w);
}

static void http_done(void *ud, cfx_http1c_t *hc, int status,
                      const uint8_t *body, size_t len) {
    (void)body;
    (void)len;
    pconn_t *c = ud;
    worker_t *w = c->w;
    c->in_flight--;
    w->in_flight--;
    record(w, c->due, c->due, status == 200, status);
    if (status == 0) {
        cfx_http1c_free(hc); /* safe: the client is done with it */
        c->http = NULL;
        conn_lost(w, c);
        return;
    }
    refill(w, c);
    maybe_finish(w);
}

static void grpc_done(void *ud, const cfx_h2c_result_t *r) {
    pconn_t *c = ud;
    worker_t *w = c->w;
    c->in_flight--;
    w->in_flight--;
    int ok = r->http_status == 200 && r->grpc_status == 0;
    int code = r->http_status == 0     ? CODE_CONN
               : r->http_status != 200 ? r->http_status
                                       : 1000 + r->grpc_status;
    /* Open loop: from the due time (coordinated omission corrected).
     * Closed loop: from when the request actually left, as wrk and h2load
     * measure; requests refilled while a batch of answers is read leave
     * together on the next writable event (client/h2_client.c). */
    uint64_t due = (uint64_t)(uintptr_t)r->req_ud;
    uint64_t start = w->o->rate > 0 || r->sent_ns == 0 || r->sent_ns < due
                         ? due
                         : r->sent_ns;
    record(w, due, start, ok, code);
    if (c->h2 && !cfx_h2c_goaway(c->h2))
        refill(w, c);
    maybe_finish(w);
}

static void grpc_closed(void *ud, cfx_h2c_t *h) {
    (void)h;
    pconn_t *c = ud;
    c->h2 = NULL; /* freed by the client right after this call */
    conn_lost(c->w, c);
}

static int connect_conn(worker_t *w, pconn_t *c) {
    int fd = cfx_perf_connect(w->o->host, w->o->port, &w->err);
    if (fd < 0)
        return fd;
    if (w->o->proto == CFX_PERF_REST)
        return cfx_http1c_new(w->base, fd, http_done, c, 1 << 20, &c->http,
                              &w->err);
    cfx_h2c_callbacks_t cb = {grpc_done, grpc_closed};
    return cfx_h2c_new(w->base, fd, &cb, c, 1 << 20, &c->h2, &w->err);
}

/* Slots of the schedule due in the measured window that were never sent
 * (the server fell so far behind that the run ended first). */
static void count_unsent(worker_t *w) {
    if (!w->open_loop || w->next_due >= (double)w->t_end)
        return;
    double from =
        w->next_due > (double)w->t_measure ? w->next_due : (double)w->t_measure;
    uint64_t n = (uint64_t)ceil(((double)w->t_end - from) / w->interval_ns);
    if (n > w->issue_left)
        n = w->issue_left;
    if (n == 0)
        return;
    count_error(w, CODE_UNSENT);
    w->errors += n - 1;
    for (size_t k = 0; k < w->n_codes; k++)
        if (w->codes[k] == CODE_UNSENT)
            w->code_counts[k] += n - 1;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    worker_t *w = arg;
    uint64_t now = cfx_clock_mono_ns();
    w->tick_at = UINT64_MAX;
    if (now >= w->t_hard) {
        /* A server that stopped answering: what it still holds is an
         * error, not something to leave out of the report. */
        for (size_t k = 0; k < w->in_flight; k++)
            count_error(w, CODE_TIMEOUT);
        event_base_loopbreak(w->base);
        return;
    }
    if (!w->stopping && (now >= w->t_end || w->issue_left == 0)) {
        count_unsent(w);
        w->stopping = 1;
        maybe_finish(w);
    }
    if (w->open_loop && !w->stopping)
        issue_due(w, NULL, now);
    /* Next tick: the next slot when a connection is free (issue_due armed
     * it), else a stop check every 10 ms; answers drive the rest. */
    uint64_t wait = 10000000;
    if (w->tick_at != UINT64_MAX && w->tick_at > now && w->tick_at - now < wait)
        return;
    arm_tick(w, now, wait);
}

static void *worker_main(void *arg) {
    worker_t *w = arg;
    uint64_t now = cfx_clock_mono_ns();
    for (size_t i = 0; i < w->n_conns && !w->rc; i++) {
        w->conns[i].w = w;
        w->conns[i].index = i;
        w->rc = connect_conn(w, &w->conns[i]);
    }
    if (!w->rc) {
        now = cfx_clock_mono_ns();
        w->next_due = (double)now;
        if (!w->open_loop)
            for (size_t i = 0; i < w->n_conns; i++)
                refill(w, &w->conns[i]);
        arm_tick(w, now, 0);
        event_base_dispatch(w->base);
    }
    atomic_store(&w->finished, 1);
    return NULL;
}

static void worker_free(worker_t *w) {
    for (size_t i = 0; i < w->n_conns; i++) {
        cfx_http1c_free(w->conns[i].http);
        cfx_h2c_free(w->conns[i].h2);
    }
    free(w->conns);
    if (w->tick)
        event_free(w->tick);
    if (w->base)
        event_base_free(w->base);
}

/* --- one level
 * ---------------------------------------------------------------- */

static int run_level(const cfx_perf_opts_t *o, const cfx_perf_bodies_t *bodies,
                     size_t concurrency, cfx_perf_level_t *lv,
                     cfx_error_t *err) {
    int rc = 0;
    int open_loop = o->rate > 0;
    size_t nt = (size_t)(o->threads > 0 ? o->threads : 1);
    if (!open_loop && nt > concurrency)
        nt = concurrency;
    worker_t *ws = calloc(nt, sizeof(*ws));
    if (!ws)
        return cfx_error_set(err, CFX_ENOMEM, "workers");
    memset(lv, 0, sizeof(*lv));
    cfx_hist_init(&lv->hist);
    lv->concurrency = open_loop ? 0 : concurrency;
    lv->rate = o->rate;
    uint64_t t0 = cfx_clock_mono_ns();
    /* --requests N measures N requests, with no warmup. */
    uint64_t warm = o->requests ? 0 : (uint64_t)(o->warmup * 1e9);
    uint64_t dur = o->requests ? UINT64_MAX / 4 : (uint64_t)(o->duration * 1e9);
    if (o->requests && open_loop)
        dur = (uint64_t)((double)o->requests / o->rate * 1e9) + 1;
    for (size_t i = 0; i < nt; i++) {
        worker_t *w = &ws[i];
        w->o = o;
        w->bodies = bodies;
        w->open_loop = open_loop;
        cfx_hist_init(&w->hist);
        cfx_error_init(&w->err);
        w->body_i = i * 7919;
        w->t_measure = t0 + warm;
        w->t_end = w->t_measure + dur;
        w->t_hard = w->t_end > UINT64_MAX - DRAIN_GRACE_NS
                        ? UINT64_MAX
                        : w->t_end + DRAIN_GRACE_NS;
        w->issue_left = UINT64_MAX;
        if (o->requests)
            w->issue_left = o->requests / nt + (i < o->requests % nt);
        size_t share;
        if (open_loop) {
            w->interval_ns = 1e9 / (o->rate / (double)nt);
            size_t total = o->connections > 0
                               ? (size_t)o->connections
                               : (o->proto == CFX_PERF_REST ? 64 : nt);
            share = total / nt + (i < total % nt);
            if (share == 0)
                share = 1;
        } else {
            share = concurrency / nt + (i < concurrency % nt);
        }
        size_t nconn = share;
        if (!open_loop && o->proto == CFX_PERF_GRPC) {
            size_t total = o->connections > 0 ? (size_t)o->connections : nt;
            nconn = total / nt + (i < total % nt);
            if (nconn == 0)
                nconn = 1;
            if (nconn > share)
                nconn = share;
        }
        w->n_conns = nconn;
        w->conns = calloc(nconn, sizeof(*w->conns));
        /* Precise timers (timerfd): the open-loop schedule needs better
         * than epoll's millisecond timeouts. */
        struct event_config *cfg = event_config_new();
        if (cfg) {
            event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
            w->base = event_base_new_with_config(cfg);
            event_config_free(cfg);
        }
        w->tick = w->base ? evtimer_new(w->base, tick_cb, w) : NULL;
        if (!w->conns || !w->base || !w->tick) {
            rc = cfx_error_set(err, CFX_ENOMEM, "worker %zu", i);
            nt = i + 1;
            goto out;
        }
        for (size_t k = 0; k < nconn && !open_loop; k++)
            w->conns[k].want = (int)(share / nconn + (k < share % nconn));
    }
    for (size_t i = 0; i < nt; i++)
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0) {
            rc = cfx_error_set(err, CFX_EINTERNAL, "pthread_create");
            for (size_t j = 0; j < i; j++)
                pthread_join(ws[j].th, NULL);
            goto out;
        }
    /* Progress, once a second, until every worker is done. */
    uint64_t last = 0, last_t = cfx_clock_mono_ns();
    for (;;) {
        size_t done = 0;
        uint64_t count = 0;
        for (size_t i = 0; i < nt; i++) {
            done += (size_t)atomic_load(&ws[i].finished);
            count +=
                atomic_load_explicit(&ws[i].progress, memory_order_relaxed);
        }
        if (done == nt)
            break;
        usleep(50000);
        uint64_t t = cfx_clock_mono_ns();
        if (o->progress && t - last_t >= 1000000000u) {
            double rps = (double)(count - last) * 1e9 / (double)(t - last_t);
            fprintf(stderr, "\r%s %-6zu %6.1fs %10llu done %10.0f req/s ",
                    open_loop ? "rate" : "conc",
                    open_loop ? (size_t)o->rate : concurrency,
                    (double)(t - t0) / 1e9, (unsigned long long)count, rps);
            last = count;
            last_t = t;
        }
    }
    if (o->progress)
        fprintf(stderr, "\r%70s\r", "");
    for (size_t i = 0; i < nt; i++)
        pthread_join(ws[i].th, NULL);
    uint64_t t_last = 0;
    for (size_t i = 0; i < nt; i++)
        if (ws[i].t_last_done > t_last)
            t_last = ws[i].t_last_done;
    for (size_t i = 0; i < nt; i++) {
        worker_t *w = &ws[i];
        if (w->rc) {
            rc = cfx_error_set(err, w->rc, "%s", w->err.msg);
            goto out;
        }
        cfx_hist_merge(&lv->hist, &w->hist);
        lv->ok += w->ok;
        lv->errors += w->errors;
        for (size_t k = 0; k < w->n_codes; k++) {
            size_t j;
            for (j = 0; j < lv->n_err_codes; j++)
                if (lv->err_code[j] == w->codes[k])
                    break;
            if (j == lv->n_err_codes) {
                if (j == 8)
                    continue;
                lv->err_code[j] = w->codes[k];
                lv->n_err_codes++;
            }
            lv->err_count[j] += w->code_counts[k];
        }
    }
    uint64_t t_meas = t0 + warm;
    /* The whole window, even when answers stopped coming before its end
     * (a stalled server must not look fast); --requests: until the last. */
    uint64_t t_stop = o->requests ? t_last : t_meas + dur;
    lv->seconds = t_stop > t_meas ? (double)(t_stop - t_meas) / 1e9 : 0;
    if (o->co_correct && !open_loop && lv->ok / concurrency > 0 &&
        lv->seconds > 0) {
        /* The mean interval between requests on one in-flight slot, as
         * wrk computes it: run time / (completed / connections), the
         * quotient in integers (no correction below one per slot). */
        lv->co_interval =
            (uint64_t)(lv->seconds * 1e9) / (lv->ok / concurrency);
        cfx_hist_t *c = malloc(sizeof(*c));
        if (!c) {
            rc = cfx_error_set(err, CFX_ENOMEM, "histogram");
            goto out;
        }
        cfx_hist_correct(c, &lv->hist, lv->co_interval);
        lv->hist = *c;
        free(c);
    }
out:
    for (size_t i = 0; i < nt; i++)
        worker_free(&ws[i]);
    free(ws);
    return rc;
}

/* --- report ----------------------------------------------------------------
 */

static double metric(const cfx_perf_level_t *lv, const char *m) {
    if (!strcmp(m, "rps"))
        return lv->seconds > 0 ? (double)lv->ok / lv->seconds : 0;
    if (!strcmp(m, "errors"))
        return (double)lv->errors;
    if (!strcmp(m, "mean"))
        return lv->hist.count ? lv->hist.sum / (double)lv->hist.count : 0;
    if (!strcmp(m, "max"))
        return (double)lv->hist.max;
    double q = !strcmp(m, "p50")   ? 0.5
               : !strcmp(m, "p90") ? 0.9
               : !strcmp(m, "p99") ? 0.99
                                   : 0.999;
    return (double)cfx_hist_quantile(&lv->hist, q);
}

static void fmt_latency(char *out, size_t n, double ns) {
    if (ns < 1e3)
        snprintf(out, n, "%.0fns", ns);
    else if (ns < 1e6)
        snprintf(out, n, "%.1fus", ns / 1e3);
    else if (ns < 1e9)
        snprintf(out, n, "%.2fms", ns / 1e6);
    else
        snprintf(out, n, "%.2fs", ns / 1e9);
}

static void code_name(char *out, size_t n, int code) {
    if (code == CODE_CONN)
        snprintf(out, n, "connection");
    else if (code == CODE_UNSENT)
        snprintf(out, n, "unsent");
    else if (code == CODE_TIMEOUT)
        snprintf(out, n, "timeout");
    else if (code >= 1000)
        snprintf(out, n, "grpc-%d", code - 1000);
    else
        snprintf(out, n, "http-%d", code);
}

static void report(const cfx_perf_opts_t *o, const cfx_perf_level_t *lv,
                   size_t i, FILE *out) {
    static const char *const lat[] = {"p50", "p90", "p99", "p999", "max"};
    char errs[256] = "";
    for (size_t k = 0; k < lv->n_err_codes; k++) {
        char name[32];
        code_name(name, sizeof(name), lv->err_code[k]);
        size_t l = strlen(errs);
        snprintf(errs + l, sizeof(errs) - l, "%s%s=%llu", k ? " " : "", name,
                 (unsigned long long)lv->err_count[k]);
    }
    if (o->format == CFX_PERF_CSV) {
        if (i == 0)
            fprintf(out, "concurrency,rate,seconds,ok,errors,rps,p50_us,p90_us,"
                         "p99_us,p999_us,max_us,error_codes,co_interval_us\n");
        fprintf(out, "%zu,%.0f,%.3f,%llu,%llu,%.1f", lv->concurrency, lv->rate,
                lv->seconds, (unsigned long long)lv->ok,
                (unsigned long long)lv->errors, metric(lv, "rps"));
        for (size_t k = 0; k < 5; k++)
            fprintf(out, ",%.1f", metric(lv, lat[k]) / 1e3);
        fprintf(out, ",%s,%.1f\n", errs, (double)lv->co_interval / 1e3);
    } else if (o->format == CFX_PERF_JSON) {
        fprintf(out,
                "%s{\"concurrency\":%zu,\"rate\":%.0f,\"seconds\":%.3f,"
                "\"ok\":%llu,\"errors\":%llu,\"rps\":%.1f",
                i ? ",\n " : "[", lv->concurrency, lv->rate, lv->seconds,
                (unsigned long long)lv->ok, (unsigned long long)lv->errors,
                metric(lv, "rps"));
        for (size_t k = 0; k < 5; k++)
            fprintf(out, ",\"%s_us\":%.1f", lat[k], metric(lv, lat[k]) / 1e3);
        fprintf(out, ",\"error_codes\":{");
        for (size_t k = 0; k < lv->n_err_codes; k++) {
            char name[32];
            code_name(name, sizeof(name), lv->err_code[k]);
            fprintf(out, "%s\"%s\":%llu", k ? "," : "", name,
                    (unsigned long long)lv->err_count[k]);
        }
        fprintf(out, "},\"co_interval_us\":%.1f}",
                (double)lv->co_interval / 1e3);
        if (i + 1 == (o->rate > 0 ? 1 : o->n_levels))
            fprintf(out, "]\n");
    } else {
        if (i == 0)
            fprintf(out, "%-11s %10s %8s %11s %9s %9s %9s %9s %9s  %s\n",
                    o->rate > 0 ? "rate" : "concurrency", "ok", "errors",
                    "req/s", "p50", "p90", "p99", "p99.9", "max",
                    "errors by status");
        char l[5][32];
        for (size_t k = 0; k < 5; k++)
            fmt_latency(l[k], sizeof(l[k]), metric(lv, lat[k]));
        fprintf(out, "%-11.0f %10llu %8llu %11.1f %9s %9s %9s %9s %9s  %s\n",
                o->rate > 0 ? lv->rate : (double)lv->concurrency,
                (unsigned long long)lv->ok, (unsigned long long)lv->errors,
                metric(lv, "rps"), l[0], l[1], l[2], l[3], l[4], errs);
    }
    fflush(out);
}

/* The payload of one request: after the HTTP header block for REST, the
 * whole gRPC-framed message otherwise. */
static int dump_request(const char *path, const cfx_buf_t *b,
                        cfx_error_t *err) {
    const uint8_t *p = b->data;
    size_t n = b->len;
    const uint8_t *hdr_end = b->len > 5 && !memcmp(b->data, "POST ", 5)
                                 ? memmem(b->data, b->len, "\r\n\r\n", 4)
                                 : NULL;
    if (hdr_end) {
        p = hdr_end + 4;
        n = b->len - (size_t)(p - b->data);
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return cfx_error_set(err, CFX_EIO, "%s: cannot create", path);
    size_t w = fwrite(p, 1, n, f);
    if (fclose(f) != 0 || w != n)
        return cfx_error_set(err, CFX_EIO, "%s: write failed", path);
    return 0;
}

int cfx_perf_run(const cfx_perf_opts_t *o, FILE *out, cfx_error_t *err) {
    cfx_perf_bodies_t bodies;
    int rc = cfx_perf_bodies_build(&bodies, o, err);
    if (rc)
        return rc;
    if (o->dump_request) {
        rc = dump_request(o->dump_request, &bodies.body[0], err);
        cfx_perf_bodies_free(&bodies);
        return rc;
    }
    if (o->format == CFX_PERF_TEXT && o->url_path[0])
        fprintf(out, "target http://%s:%d%s (GET), %d thread(s), %s\n", o->host,
                o->port, o->url_path, o->threads,
                o->rate > 0 ? "open loop" : "closed loop");
    else if (o->format == CFX_PERF_TEXT)
        fprintf(out,
                "target %s://%s:%d model %s, %zu distinct requests of %zu "
                "row(s), %d thread(s), %s\n",
                o->proto == CFX_PERF_REST ? "rest" : "grpc", o->host, o->port,
                o->model, bodies.n, o->batch, o->threads,
                o->rate > 0 ? "open loop" : "closed loop");
    if (o->format == CFX_PERF_TEXT && o->co_correct && o->rate <= 0)
        fprintf(out, "latency corrected for coordinated omission as wrk does "
                     "(interval: concurrency / req/s)\n");
    size_t n = o->rate > 0 ? 1 : o->n_levels;
    char failed[1024] = ""; /* the checks missed, for err */
    for (size_t i = 0; i < n && !rc; i++) {
        cfx_perf_level_t lv;
        rc = run_level(o, &bodies, o->levels[i], &lv, err);
        if (rc)
            break;
        report(o, &lv, i, out);
        for (size_t k = 0; k < o->n_checks; k++) {
            const cfx_perf_check_t *c = &o->checks[k];
            double v = metric(&lv, c->metric);
            int pass = c->op == '<'   ? v < c->value
                       : c->op == 'l' ? v <= c->value
                       : c->op == '>' ? v > c->value
                                      : v >= c->value;
            if (!pass) {
                int lat = c->metric[0] == 'p' || !strcmp(c->metric, "max") ||
                          !strcmp(c->metric, "mean");
                size_t l = strlen(failed);
                snprintf(failed + l, sizeof(failed) - l,
                         "%scheck failed at %s %.0f: %s (measured %s = %.6g%s)",
                         l ? "; " : "", o->rate > 0 ? "rate" : "concurrency",
                         o->rate > 0 ? o->rate : (double)lv.concurrency,
                         c->text, c->metric, lat ? v / 1e6 : v,
                         lat ? " ms" : "");
            }
        }
    }
    cfx_perf_bodies_free(&bodies);
    if (!rc && failed[0])
        rc = cfx_error_set(err, CFX_EANOMALIES, "%s", failed);
    return rc;
}

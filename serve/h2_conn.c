/*
 * h2_conn.c: server-side HTTP/2 connection over a bufferevent (see
 * h2_conn.h).
 *
 * Input is fed to nghttp2_session_mem_recv chunk by chunk; whatever nghttp2
 * wants to send is copied into the bufferevent after every read. A request
 * is dispatched from the frame-receive callback once END_STREAM arrives;
 * the response body is copied into the stream and served by a data
 * provider, whose last read submits the trailers. The connection is freed
 * only from libevent callbacks, never from inside nghttp2.
 */
#include "serve/h2_conn.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "formats/buf.h"
#include "formats/clock.h"

enum {
    H_METHOD,
    H_PATH,
    H_CTYPE,
    H_TE,
    H_TIMEOUT,
    H_ENCODING,
    H_AUTHORIZATION,
    H_COUNT
};

static const char *const header_names[H_COUNT] = {
    ":method",      ":path",         "content-type",  "te",
    "grpc-timeout", "grpc-encoding", "authorization",
};

struct cfx_h2_stream {
    int32_t id;
    cfx_h2_conn_t *conn;
    char *hdr[H_COUNT]; /* malloc'd or NULL */
    cfx_buf_t body;
    int body_too_big;
    int dispatched;
    int responded;
    uint64_t start_ns;
    /* response */
    uint8_t *resp;
    size_t resp_len, resp_off;
    nghttp2_nv *trailers; /* one malloc block: nv array then strings */
    size_t ntrailers;
    size_t held; /* bytes of body + answer charged to the queue bounds */
    cfx_h2_stream_t *prev, *next; /* the connection's open streams */
};

struct cfx_h2_conn {
    struct bufferevent *bev;
    nghttp2_session *session;
    cfx_h2_config_t cfg;
    cfx_h2_callbacks_t cb;
    void *ud;
    int dead; /* protocol error or peer gone: close once output flushed */
    cfx_h2_stream_t *streams; /* nghttp2_session_del does not close them */
    size_t held;              /* sum of the streams' held bytes */
    struct event *goaway_ev;  /* the final GOAWAY after the shutdown notice */
};

/* Bytes held by every connection of the process (max_queued_total). */
static atomic_size_t g_held;

/* Charges n more bytes to st, or returns -1 past a bound. A request body
 * may take the connection's (and the process's) held bytes up to max_body
 * when that is larger than the bounds, so that one request of the largest
 * size allowed always fits; an answer only up to the bounds. */
static int hold(cfx_h2_stream_t *st, size_t n, int body) {
    cfx_h2_conn_t *c = st->conn;
    size_t conn_max = c->cfg.max_queued_per_conn;
    size_t total_max = c->cfg.max_queued_total;
    if (body && conn_max < c->cfg.max_body)
        conn_max = c->cfg.max_body;
    if (body && total_max < c->cfg.max_body)
        total_max = c->cfg.max_body;
    if (c->held > conn_max || n > conn_max - c->held)
        return -1;
    size_t cur = atomic_load(&g_held);
    do {
        if (n > total_max || cur > total_max - n)
            return -1;
    } while (!atomic_compare_exchange_weak(&g_held, &cur, cur + n));
    c->held += n;
    st->held += n;
    return 0;
}

static void unhold(cfx_h2_stream_t *st, size_t n) {
    if (n > st->held)
        n = st->held;
    st->held -= n;
    st->conn->held -= n;
    atomic_fetch_sub(&g_held, n);
}

void cfx_h2_config_default(cfx_h2_config_t *cfg) {
    cfg->max_body = (4u << 20) + 5;
    cfg->max_concurrent_streams = 128;
    cfg->initial_window = 1u << 20;
    cfg->connection_window = 16u << 20;
    cfg->max_queued_per_conn = (size_t)16 << 20;
    cfg->max_queued_total = (size_t)256 << 20;
}

nghttp2_nv cfx_h2_nv(const char *name, const char *value) {
    nghttp2_nv nv;
    nv.name = (uint8_t *)(uintptr_t)name;
    nv.value = (uint8_t *)(uintptr_t)value;
    nv.namelen = strlen(name);
    nv.valuelen = strlen(value);
    nv.flags = NGHTTP2_NV_FLAG_NONE;
    return nv;
}

static void stream_free(cfx_h2_stream_t *st) {
    if (!st)
        return;
    if (st->prev)
        st->prev->next = st->next;
    else
        st->conn->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    unhold(st, st->held);
    for (int i = 0; i < H_COUNT; i++)
        free(st->hdr[i]);
    cfx_buf_free(&st->body);
    free(st->resp);
    free(st->trailers);
    free(st);
}

static void fill_request(const cfx_h2_stream_t *st, cfx_h2_request_t *req) {
    req->method = st->hdr[H_METHOD] ? st->hdr[H_METHOD] : "";
    req->path = st->hdr[H_PATH] ? st->hdr[H_PATH] : "";
    req->content_type = st->hdr[H_CTYPE] ? st->hdr[H_CTYPE] : "";
    req->te = st->hdr[H_TE] ? st->hdr[H_TE] : "";
    req->grpc_timeout = st->hdr[H_TIMEOUT] ? st->hdr[H_TIMEOUT] : "";
    req->grpc_encoding = st->hdr[H_ENCODING] ? st->hdr[H_ENCODING] : "";
    req->authorization = st->hdr[H_AUTHORIZATION];
    req->body = st->body.data;
    req->body_len = st->body.len;
    req->body_too_big = st->body_too_big;
    req->start_ns = st->start_ns;
}

/* --- nghttp2 callbacks -----------------------------------------------------
 */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame,
                            void *user) {
    cfx_h2_conn_t *c = user;
    if (frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    cfx_h2_stream_t *st = calloc(1, sizeof(*st));
    if (!st)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    st->id = frame->hd.stream_id;
    st->conn = c;
    st->start_ns = cfx_clock_mono_ns();
    cfx_buf_init(&st->body);
    st->next = c->streams;
    if (c->streams)
        c->streams->prev = st;
    c->streams = st;
    if (nghttp2_session_set_stream_user_data(s, st->id, st) != 0) {
        stream_free(st);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame,
                     const uint8_t *name, size_t namelen, const uint8_t *value,
                     size_t valuelen, uint8_t flags, void *user) {
    (void)flags;
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* client trailers carry nothing cfx needs */
    cfx_h2_stream_t *st =
        nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (!st)
        return 0;
    for (int i = 0; i < H_COUNT; i++) {
        if (namelen != strlen(header_names[i]) ||
            memcmp(name, header_names[i], namelen) != 0)
            continue;
        if (valuelen > CFX_H2_MAX_HEADER_VALUE || st->hdr[i])
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM */
        st->hdr[i] = malloc(valuelen + 1);
        if (!st->hdr[i])
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        memcpy(st->hdr[i], value, valuelen);
        st->hdr[i][valuelen] = '\0';
        break;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user) {
    (void)flags;
    cfx_h2_conn_t *c = user;
    cfx_h2_stream_t *st = nghttp2_session_get_stream_user_data(s, stream_id);
    if (!st || st->body_too_big)
        return 0;
    if (len > c->cfg.max_body - st->body.len) {
        /* Keep reading (flow control stays open) but drop the bytes. */
        st->body_too_big = 1;
        unhold(st, st->held);
        cfx_buf_free(&st->body);
        return 0;
    }
    if (hold(st, len, 1) != 0) {
        /* Too many bodies being received at once: this one goes. */
        st->body_too_big = 1;
        st->dispatched = 1;
        unhold(st, st->held);
        cfx_buf_free(&st->body);
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, stream_id,
                                  NGHTTP2_ENHANCE_YOUR_CALM);
        return 0;
    }
    if (cfx_buf_append(&st->body, data, len) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame,
                         void *user) {
    cfx_h2_conn_t *c = user;
    if (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    cfx_h2_stream_t *st =
        nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (!st || st->dispatched)
        return 0;
    st->dispatched = 1;
    cfx_h2_request_t req;
    fill_request(st, &req);
    c->cb.on_request(c->ud, st, &req);
    /* The request body is no longer needed. The stream may be gone: an
     * answer past the queue bounds resets it at once. */
    st = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (st) {
        if (!st->responded)
            unhold(st, st->held);
        else if (st->held > st->resp_len - st->resp_off)
            unhold(st, st->held - (st->resp_len - st->resp_off));
        cfx_buf_free(&st->body);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id,
                           uint32_t error_code, void *user) {
    (void)error_code;
    (void)user;
    cfx_h2_stream_t *st = nghttp2_session_get_stream_user_data(s, stream_id);
    if (st) {
        nghttp2_session_set_stream_user_data(s, stream_id, NULL);
        stream_free(st);
    }
    return 0;
}

static ssize_t body_read(nghttp2_session *s, int32_t stream_id, uint8_t *buf,
                         size_t length, uint32_t *data_flags,
                         nghttp2_data_source *source, void *user) {
    (void)user;
    cfx_h2_stream_t *st = source->ptr;
    size_t left = st->resp_len - st->resp_off;
    size_t n = left < length ? left : length;
    if (n)
        memcpy(buf, st->resp + st->resp_off, n);
    st->resp_off += n;
    unhold(st, n);
    if (st->resp_off == st->resp_len) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        if (st->ntrailers) {
            *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            if (nghttp2_submit_trailer(s, stream_id, st->trailers,
                                       st->ntrailers) != 0)
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
    }
    return (ssize_t)n;
}

/* --- public ----------------------------------------------------------------
 */

static int copy_nvs(const nghttp2_nv *in, size_t n, nghttp2_nv **out) {
    size_t total = n * sizeof(nghttp2_nv);
    for (size_t i = 0; i < n; i++)
        total += in[i].namelen + in[i].valuelen;
    nghttp2_nv *nv = malloc(total ? total : 1);
    if (!nv)
        return CFX_ENOMEM;
    uint8_t *p = (uint8_t *)(nv + n);
    for (size_t i = 0; i < n; i++) {
        nv[i] = in[i];
        memcpy(p, in[i].name, in[i].namelen);
        nv[i].name = p;
        p += in[i].namelen;
        memcpy(p, in[i].value, in[i].valuelen);
        nv[i].value = p;
        p += in[i].valuelen;
    }
    *out = nv;
    return 0;
}

int cfx_h2_respond(cfx_h2_stream_t *st, const nghttp2_nv *hdrs, size_t nhdrs,
                   const uint8_t *body, size_t len, const nghttp2_nv *trailers,
                   size_t ntrailers) {
    nghttp2_session *s = st->conn->session;
    if (st->responded)
        return CFX_ESTATE;
    st->responded = 1;
    st->dispatched = 1; /* an early answer: the request is never handled */
    if (len == 0 && ntrailers) {
        /* Trailers-only: one HEADERS frame with END_STREAM. */
        nghttp2_nv nv[32];
        if (nhdrs + ntrailers > 32)
            return CFX_EINVAL;
        memcpy(nv, hdrs, nhdrs * sizeof(*nv));
        memcpy(nv + nhdrs, trailers, ntrailers * sizeof(*nv));
        return nghttp2_submit_response(s, st->id, nv, nhdrs + ntrailers,
                                       NULL) == 0
                   ? 0
                   : CFX_EINTERNAL;
    }
    if (len) {
        /* The body held so far gives way to the answer. */
        unhold(st, st->held);
        if (hold(st, len, 0) != 0) {
            /* The peer does not take what it asked for: refuse to hold
             * more for it. */
            return nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id,
                                             NGHTTP2_ENHANCE_YOUR_CALM) == 0
                       ? 0
                       : CFX_EINTERNAL;
        }
        st->resp = malloc(len);
        if (!st->resp)
            return CFX_ENOMEM;
        memcpy(st->resp, body, len);
    }
    st->resp_len = len;
    st->resp_off = 0;
    if (ntrailers) {
        if (copy_nvs(trailers, ntrailers, &st->trailers) != 0)
            return CFX_ENOMEM;
        st->ntrailers = ntrailers;
    }
    nghttp2_data_provider dp;
    dp.source.ptr = st;
    dp.read_callback = body_read;
    return nghttp2_submit_response(s, st->id, hdrs, nhdrs, &dp) == 0
               ? 0
               : CFX_EINTERNAL;
}

/* Output handed to the socket's buffer at most: past it, nghttp2 keeps
 * the rest (charged to the queue bounds) until the peer reads and the
 * write callback asks for more. */
#define OUT_HIGH ((size_t)1 << 20)

/* Moves what nghttp2 wants to send into the bufferevent. */
static int conn_flush(cfx_h2_conn_t *c) {
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (evbuffer_get_length(out) < OUT_HIGH) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->session, &data);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        if (bufferevent_write(c->bev, data, (size_t)n) != 0)
            return -1;
    }
    return 0;
}

/* Closes when nghttp2 is done (or the connection is dead) and everything
 * written has left. Returns 1 when the connection was freed. */
static int conn_maybe_close(cfx_h2_conn_t *c) {
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int done = c->dead || (!nghttp2_session_want_read(c->session) &&
                           !nghttp2_session_want_write(c->session));
    if (!done || evbuffer_get_length(out) > 0)
        return 0;
    if (c->cb.on_close)
        c->cb.on_close(c->ud, c);
    cfx_h2_conn_free(c);
    return 1;
}

static void conn_read(struct bufferevent *bev, void *arg) {
    cfx_h2_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n;
    while (!c->dead && (n = evbuffer_get_contiguous_space(in)) > 0) {
        const uint8_t *data = evbuffer_pullup(in, (ev_ssize_t)n);
        ssize_t rv = nghttp2_session_mem_recv(c->session, data, n);
        if (rv < 0) {
            c->dead = 1;
            break;
        }
        evbuffer_drain(in, (size_t)rv);
    }
    if (c->dead) {
        evbuffer_drain(in, evbuffer_get_length(in));
        /* nghttp2 may have queued a GOAWAY for the protocol error. */
        conn_flush(c);
    } else if (conn_flush(c) != 0) {
        c->dead = 1;
    }
    conn_maybe_close(c);
}

static void conn_write(struct bufferevent *bev, void *arg) {
    (void)bev;
    cfx_h2_conn_t *c = arg;
    if (!c->dead && conn_flush(c) != 0)
        c->dead = 1;
    conn_maybe_close(c);
}

static void conn_event(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    cfx_h2_conn_t *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        c->dead = 1;
        /* The peer is gone: nothing more will leave. */
        struct evbuffer *out = bufferevent_get_output(c->bev);
        evbuffer_drain(out, evbuffer_get_length(out));
        conn_maybe_close(c);
    }
}

int cfx_h2_conn_new(struct bufferevent *bev, const cfx_h2_config_t *cfg,
                    const cfx_h2_callbacks_t *cb, void *ud, cfx_h2_conn_t **out,
                    cfx_error_t *err) {
    int rc = 0;
    nghttp2_session_callbacks *cbs = NULL;
    cfx_h2_conn_t *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c) {
        rc = cfx_error_set(err, CFX_ENOMEM, "h2: connection");
        goto out;
    }
    c->bev = bev;
    c->cfg = *cfg;
    c->cb = *cb;
    c->ud = ud;
    if (nghttp2_session_callbacks_new(&cbs) != 0) {
        rc = cfx_error_set(err, CFX_ENOMEM, "h2: callbacks");
        goto out;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs,
                                                            on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs,
                                                              on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
                                                           on_stream_close);
    if (nghttp2_session_server_new(&c->session, cbs, c) != 0) {
        rc = cfx_error_set(err, CFX_ENOMEM, "h2: session");
        goto out;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, cfg->initial_window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 16384},
    };
    if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv,
                                sizeof(iv) / sizeof(iv[0])) != 0 ||
        nghttp2_session_set_local_window_size(
            c->session, NGHTTP2_FLAG_NONE, 0,
            (int32_t)cfg->connection_window) != 0) {
        rc = cfx_error_set(err, CFX_EINTERNAL, "h2: settings");
        goto out;
    }
    bufferevent_setcb(bev, conn_read, conn_write, conn_event, c);
    if (bufferevent_enable(bev, EV_READ | EV_WRITE) != 0 ||
        conn_flush(c) != 0) {
        rc = cfx_error_set(err, CFX_EIO, "h2: starting connection");
        goto out;
    }
    *out = c;
    c = NULL;
out:
    if (cbs)
        nghttp2_session_callbacks_del(cbs);
    if (c) {
        c->bev = NULL; /* the caller keeps bev on failure */
        cfx_h2_conn_free(c);
    }
    return rc;
}

void cfx_h2_conn_free(cfx_h2_conn_t *c) {
    if (!c)
        return;
    /* Streams still open are freed from the connection's list. */
    if (c->session)
        nghttp2_session_del(c->session);
    while (c->streams)
        stream_free(c->streams);
    if (c->goaway_ev)
        event_free(c->goaway_ev);
    if (c->bev)
        bufferevent_free(c->bev);
    free(c);
}

int32_t cfx_h2_stream_id(const cfx_h2_stream_t *st) {
    return st->id;
}

cfx_h2_stream_t *cfx_h2_conn_stream(cfx_h2_conn_t *c, int32_t id) {
    cfx_h2_stream_t *st = nghttp2_session_get_stream_user_data(c->session, id);
    /* A stream already answered is not waiting for anything. */
    return st && !st->responded ? st : NULL;
}

int cfx_h2_conn_send(cfx_h2_conn_t *c) {
    if (c->dead)
        return CFX_EIO;
    if (conn_flush(c) != 0) {
        c->dead = 1;
        return CFX_EIO;
    }
    return 0;
}

int cfx_h2_conn_reset(cfx_h2_conn_t *c, int32_t id, uint32_t code) {
    return nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, id, code) ==
                   0
               ? 0
               : CFX_EINTERNAL;
}

void cfx_h2_conn_each_incomplete(cfx_h2_conn_t *c,
                                 void (*fn)(void *arg, cfx_h2_stream_t *st,
                                            const cfx_h2_request_t *req),
                                 void *arg) {
    cfx_h2_stream_t *st = c->streams;
    while (st) {
        cfx_h2_stream_t *next = st->next;
        if (!st->dispatched && !st->responded && st->hdr[H_PATH]) {
            cfx_h2_request_t req;
            fill_request(st, &req);
            req.body = NULL;
            req.body_len = 0;
            fn(arg, st, &req);
        }
        st = next;
    }
}

static void final_goaway(cfx_h2_conn_t *c) {
    nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(c->session),
                          NGHTTP2_NO_ERROR, NULL, 0);
    if (conn_flush(c) != 0)
        c->dead = 1;
    conn_maybe_close(c);
}

static void final_goaway_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    cfx_h2_conn_t *c = arg;
    if (!c->dead)
        final_goaway(c);
}

/* Graceful shutdown in two steps (RFC 9113, section 6.8): a GOAWAY naming
 * the largest stream id first, so a request the peer sent before it saw
 * the GOAWAY is still served (a proxy such as nginx cannot retry a gRPC
 * call it has already sent, docs/deploy.md), then, a round trip later,
 * the GOAWAY naming the last stream processed. */
#define FINAL_GOAWAY_MS 100

void cfx_h2_conn_shutdown(cfx_h2_conn_t *c) {
    if (c->dead || c->goaway_ev)
        return;
    struct timeval tv = {0, FINAL_GOAWAY_MS * 1000};
    c->goaway_ev =
        event_new(bufferevent_get_base(c->bev), -1, 0, final_goaway_cb, c);
    if (!c->goaway_ev || nghttp2_submit_shutdown_notice(c->session) != 0 ||
        event_add(c->goaway_ev, &tv) != 0) {
        final_goaway(c);
        return;
    }
    if (conn_flush(c) != 0)
        c->dead = 1;
    conn_maybe_close(c);
}

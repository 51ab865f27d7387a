/*
 * h2_client.c: client-side HTTP/2 connection for gRPC calls (see
 * h2_client.h): bytes from the bufferevent go to nghttp2_session_mem_recv;
 * nghttp2's output is sent straight to the socket (requests submitted while
 * reading answers on the next writable event); a request completes in the
 * stream-close callback.
 */
#include "client/h2_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>

#include "formats/buf.h"
#include "formats/clock.h"

#define MESSAGE_MAX 1024

typedef struct h2c_stream {
    int32_t id;
    cfx_h2c_t *c;
    void *req_ud;
    uint64_t sent_ns;   /* CLOCK_MONOTONIC when HEADERS left; 0 not yet */
    const uint8_t *req; /* request body (owned) */
    size_t req_len, req_off;
    int end_stream;
    int http_status;
    int grpc_status;
    char message[MESSAGE_MAX + 1];
    cfx_buf_t body;
    struct h2c_stream *prev, *next;
} h2c_stream_t;

struct cfx_h2c {
    struct bufferevent *bev;
    nghttp2_session *session;
    cfx_h2c_callbacks_t cb;
    void *ud;
    size_t max_body;
    size_t in_flight;
    int goaway;
    int dead;
    int in_recv; /* inside nghttp2_session_mem_recv: no mem_send now */
    h2c_stream_t *streams;
    struct event *wev; /* flush when writable: after a read, see conn_read */
};

static void stream_unlink_free(h2c_stream_t *st) {
    cfx_h2c_t *c = st->c;
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    c->in_flight--;
    cfx_buf_free(&st->body);
    free((void *)(uintptr_t)st->req);
    free(st);
}

static void stream_done(h2c_stream_t *st, uint32_t rst) {
    cfx_h2c_t *c = st->c;
    cfx_h2c_result_t r;
    r.stream_id = st->id;
    r.http_status = st->http_status;
    r.grpc_status = st->grpc_status;
    r.grpc_message = st->message;
    r.body = st->body.data;
    r.body_len = st->body.len;
    r.rst_error = rst;
    r.req_ud = st->req_ud;
    r.sent_ns = st->sent_ns;
    if (c->cb.on_done)
        c->cb.on_done(c->ud, &r);
    stream_unlink_free(st);
}

/* Stamps a request when its HEADERS frame is about to be serialized for
 * sending: the flush writes it within microseconds, so this is when the
 * request left, where h2load starts its latency clock too (its
 * before-frame-send callback) and wrk when it writes a request. */
static int before_frame_send(nghttp2_session *s, const nghttp2_frame *frame,
                             void *user) {
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    h2c_stream_t *st =
        nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (st && st->sent_ns == 0)
        st->sent_ns = cfx_clock_mono_ns();
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame,
                     const uint8_t *name, size_t namelen, const uint8_t *value,
                     size_t valuelen, uint8_t flags, void *user) {
    (void)flags;
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    h2c_stream_t *st =
        nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (!st)
        return 0;
    char v[32];
    size_t vl = valuelen < sizeof(v) - 1 ? valuelen : sizeof(v) - 1;
    memcpy(v, value, vl);
    v[vl] = '\0';
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
        st->http_status = atoi(v);
    } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
        st->grpc_status = atoi(v);
    } else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
        size_t n = valuelen < MESSAGE_MAX ? valuelen : MESSAGE_MAX;
        memcpy(st->message, value, n);
        st->message[n] = '\0';
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user) {
    (void)flags;
    cfx_h2c_t *c = user;
    h2c_stream_t *st = nghttp2_session_get_stream_user_data(s, stream_id);
    if (!st || st->body.len + len > c->max_body)
        return 0;
    if (cfx_buf_append(&st->body, data, len) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame,
                         void *user) {
    (void)s;
    cfx_h2c_t *c = user;
    if (frame->hd.type == NGHTTP2_GOAWAY)
        c->goaway = 1;
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id,
                           uint32_t error_code, void *user) {
    (void)user;
    h2c_stream_t *st = nghttp2_session_get_stream_user_data(s, stream_id);
    if (st) {
        nghttp2_session_set_stream_user_data(s, stream_id, NULL);
        stream_done(st, error_code);
    }
    return 0;
}

static ssize_t req_read(nghttp2_session *s, int32_t stream_id, uint8_t *buf,
                        size_t length, uint32_t *data_flags,
                        nghttp2_data_source *source, void *user) {
    (void)s;
    (void)stream_id;
    (void)user;
    h2c_stream_t *st = source->ptr;
    size_t left = st->req_len - st->req_off;
    size_t n = left < length ? left : length;
    if (n)
        memcpy(buf, st->req + st->req_off, n);
    st->req_off += n;
    if (st->req_off == st->req_len) {
        if (!st->end_stream)
            return NGHTTP2_ERR_DEFERRED; /* stays open (tests) */
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

/* Writes [data, data+n): straight to the socket when nothing is queued (a
 * load generator sends small requests, and going through the bufferevent
 * costs two epoll_ctl calls and a wake-up each), the rest through the
 * bufferevent. */
static int write_out(cfx_h2c_t *c, const uint8_t *data, size_t n) {
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        ssize_t w = send(bufferevent_getfd(c->bev), data, n,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            data += w;
            n -= (size_t)w;
        }
        if (n == 0)
            return 0;
    }
    return bufferevent_write(c->bev, data, n) != 0 ? CFX_EIO : 0;
}

int cfx_h2c_flush(cfx_h2c_t *c) {
    /* nghttp2 hands out one frame per mem_send call: gather them, so that
     * the requests submitted while reading a batch of answers (HEADERS and
     * DATA each) leave in one send, as h2load does, not two per request. */
    uint8_t batch[16384];
    size_t bl = 0;
    if (c->dead)
        return CFX_EIO;
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->session, &data);
        if (n < 0)
            return CFX_EIO;
        if (n > 0 && bl + (size_t)n <= sizeof(batch)) {
            memcpy(batch + bl, data, (size_t)n);
            bl += (size_t)n;
            continue;
        }
        if (bl > 0 && write_out(c, batch, bl) != 0)
            return CFX_EIO;
        bl = 0;
        if (n == 0)
            return 0;
        /* data stays valid until the next mem_send call */
        if ((size_t)n <= sizeof(batch)) {
            memcpy(batch, data, (size_t)n);
            bl = (size_t)n;
        } else if (write_out(c, data, (size_t)n) != 0) {
            return CFX_EIO;
        }
    }
}

/* Finishes every pending request and frees the connection. */
static void conn_close(cfx_h2c_t *c) {
    while (c->streams)
        stream_done(c->streams, NGHTTP2_CANCEL);
    if (c->cb.on_close)
        c->cb.on_close(c->ud, c);
    cfx_h2c_free(c);
}

static void maybe_close(cfx_h2c_t *c) {
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int done = c->dead ||
               (!nghttp2_session_want_read(c->session) &&
                !nghttp2_session_want_write(c->session)) ||
               (c->goaway && c->in_flight == 0);
    if (done && (c->dead || evbuffer_get_length(out) == 0))
        conn_close(c);
}

static void conn_read(struct bufferevent *bev, void *arg) {
    cfx_h2c_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n;
    while (!c->dead && (n = evbuffer_get_contiguous_space(in)) > 0) {
        const uint8_t *data = evbuffer_pullup(in, (ev_ssize_t)n);
        c->in_recv = 1;
        ssize_t rv = nghttp2_session_mem_recv(c->session, data, n);
        c->in_recv = 0;
        if (rv < 0) {
            c->dead = 1;
            break;
        }
        evbuffer_drain(in, (size_t)rv);
    }
    /* The requests submitted while reading leave on the next loop pass,
     * once the socket reports writable, after the other connections'
     * answers that arrived together have been read: h2load's rhythm (the
     * server then gets each burst of requests at once, and the latency
     * figures of the two tools agree). */
    if (!c->dead && nghttp2_session_want_write(c->session) &&
        event_add(c->wev, NULL) != 0)
        c->dead = 1;
    maybe_close(c);
}

/* Sends what nghttp2 has; closes when done or broken. */
static void flush_or_close(cfx_h2c_t *c) {
    if (!c->dead && cfx_h2c_flush(c) != 0)
        c->dead = 1;
    maybe_close(c);
}

/* The socket is writable after a read queued requests (wev). */
static void conn_writable(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    flush_or_close(arg);
}

/* The bufferevent drained what could not be sent at once. */
static void conn_write(struct bufferevent *bev, void *arg) {
    (void)bev;
    flush_or_close(arg);
}

static void conn_event(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    cfx_h2c_t *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        c->dead = 1;
        conn_close(c);
    }
}

int cfx_h2c_new(struct event_base *base, evutil_socket_t fd,
                const cfx_h2c_callbacks_t *cb, void *ud, size_t max_body,
                cfx_h2c_t **out, cfx_error_t *err) {
    int rc = 0, one = 1;
    nghttp2_session_callbacks *cbs = NULL;
    cfx_h2c_t *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c) {
        evutil_closesocket(fd);
        return cfx_error_set(err, CFX_ENOMEM, "h2 client");
    }
    evutil_make_socket_nonblocking(fd);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(fd);
        rc = cfx_error_set(err, CFX_ENOMEM, "h2 client: bufferevent");
        goto out;
    }
    c->cb = *cb;
    c->ud = ud;
    c->max_body = max_body;
    if (nghttp2_session_callbacks_new(&cbs) != 0) {
        rc = cfx_error_set(err, CFX_ENOMEM, "h2 client: callbacks");
        goto out;
    }
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs,
                                                              on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_before_frame_send_callback(cbs,
                                                             before_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
                                                           on_stream_close);
    if (nghttp2_session_client_new(&c->session, cbs, c) != 0) {
        rc = cfx_error_set(err, CFX_ENOMEM, "h2 client: session");
        goto out;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20},
    };
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 1);
    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0,
                                          16 << 20);
    c->wev = event_new(base, fd, EV_WRITE, conn_writable, c);
    if (!c->wev) {
        rc = cfx_error_set(err, CFX_ENOMEM, "h2 client: write event");
        goto out;
    }
    bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
    if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0 ||
        cfx_h2c_flush(c) != 0) {
        rc = cfx_error_set(err, CFX_EIO, "h2 client: starting connection");
        goto out;
    }
    *out = c;
    c = NULL;
out:
    if (cbs)
        nghttp2_session_callbacks_del(cbs);
    cfx_h2c_free(c);
    return rc;
}

void cfx_h2c_free(cfx_h2c_t *c) {
    if (!c)
        return;
    if (c->session)
        nghttp2_session_del(c->session);
    while (c->streams)
        stream_unlink_free(c->streams);
    if (c->wev)
        event_free(c->wev);
    if (c->bev)
        bufferevent_free(c->bev);
    free(c);
}

int32_t cfx_h2c_submit(cfx_h2c_t *c, const char *authority, const char *path,
                       const nghttp2_nv *extra, size_t nextra,
                       const uint8_t *body, size_t len, int end_stream,
                       void *req_ud) {
    if (c->dead || c->goaway)
        return CFX_EUNAVAILABLE;
    nghttp2_nv nv[16];
    size_t n = 0;
#define NV(k, v)                                                               \
    do {                                                                       \
        nv[n].name = (uint8_t *)(uintptr_t)(k);                                \
        nv[n].value = (uint8_t *)(uintptr_t)(v);                               \
        nv[n].namelen = strlen(k);                                             \
        nv[n].valuelen = strlen(v);                                            \
        nv[n].flags = NGHTTP2_NV_FLAG_NONE;                                    \
        n++;                                                                   \
    } while (0)
    NV(":method", "POST");
    NV(":scheme", "http");
    NV(":authority", authority);
    NV(":path", path);
    NV("content-type", "application/grpc");
    NV("te", "trailers");
#undef NV
    if (nextra > 16 - n)
        return CFX_EINVAL;
    if (nextra)
        memcpy(nv + n, extra, nextra * sizeof(*nv));
    n += nextra;
    h2c_stream_t *st = calloc(1, sizeof(*st));
    uint8_t *copy = malloc(len ? len : 1);
    if (!st || !copy) {
        free(st);
        free(copy);
        return CFX_ENOMEM;
    }
    if (len)
        memcpy(copy, body, len);
    st->c = c;
    st->req = copy;
    st->req_len = len;
    st->end_stream = end_stream;
    st->req_ud = req_ud;
    st->grpc_status = -1;
    cfx_buf_init(&st->body);
    nghttp2_data_provider dp;
    dp.source.ptr = st;
    dp.read_callback = req_read;
    int32_t id = nghttp2_submit_request(c->session, NULL, nv, n, &dp, st);
    if (id < 0) {
        free(copy);
        free(st);
        return CFX_EIO;
    }
    st->id = id;
    st->next = c->streams;
    if (c->streams)
        c->streams->prev = st;
    c->streams = st;
    c->in_flight++;
    if (!c->in_recv && cfx_h2c_flush(c) != 0)
        c->dead = 1;
    return id;
}

nghttp2_session *cfx_h2c_session(cfx_h2c_t *c) {
    return c->session;
}

size_t cfx_h2c_in_flight(const cfx_h2c_t *c) {
    return c->in_flight;
}

int cfx_h2c_goaway(const cfx_h2c_t *c) {
    return c->goaway;
}

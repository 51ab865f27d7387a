/*
 * grpc.c: the gRPC endpoint: accepts connections on a worker base, runs an
 * HTTP/2 session per connection (h2_conn.c), and turns each complete
 * request stream into one unary call of a method of grpc_methods.c.
 *
 * Status mapping (what a gRPC client sees): framing problems INTERNAL,
 * an unsupported grpc-encoding UNIMPLEMENTED, oversize RESOURCE_EXHAUSTED,
 * unknown method UNIMPLEMENTED, expired deadline DEADLINE_EXCEEDED; everything
 * else comes from the method (TF Serving's codes and messages).
 */
#include "serve/grpc.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>

#include <zlib.h>

#include "formats/clock.h"
#include "serve/auth.h"
#include "serve/h2_conn.h"
#include "serve/tls.h"

#define GRPC_MESSAGE_MAX 1024
#define ACCEPT_ENCODING "identity,gzip,deflate"

typedef struct grpc_conn {
    cfx_grpc_ctx_t *ctx;
    cfx_h2_conn_t *h2;
    int local;     /* accepted on the unix socket (--grpc_socket_path) */
    int got_bytes; /* the peer has sent something */
    struct event *first_ev; /* --first_byte_timeout_seconds, until then */
    int peer_verified;      /* TLS verified a client certificate: the TLS layer
                               sets it after its handshake (serve/auth.h) */
    uint64_t serial; /* tells a deferred answer its connection is alive */
    SSL *ssl;        /* TLS: owned by the connection's bufferevent */
    struct grpc_conn *prev, *next;
} grpc_conn_t;

/* What on_request knows about the call being handled. */
typedef struct call_priv {
    grpc_conn_t *gc;
    cfx_h2_stream_t *st;
} call_priv_t;

struct cfx_grpc_deferred {
    cfx_grpc_ctx_t *ctx;
    uint64_t serial;
    int32_t stream_id;
    uint64_t deadline_ns;
};

struct cfx_grpc_ctx {
    struct event_base *base;
    cfx_server_t *srv;
    cfx_grpc_options_t opts;
    cfx_h2_config_t h2cfg;
    cfx_tls_t *tls; /* NULL: plain TCP */
    struct evconnlistener *listener;
    struct event *expiry; /* answers requests whose deadline passes mid-body */
    grpc_conn_t *conns;
    size_t n_conns;
    uint64_t next_serial;
    size_t n_deferred; /* answers still to come: keep the context alive */
    int draining;
    cfx_arena_t arena;  /* per-request scratch, reset after each answer */
    cfx_buf_t resp;     /* 5-byte prefix + response message */
    cfx_buf_t msgbuf;   /* encoded grpc-message */
    cfx_buf_t inflated; /* a compressed request, inflated */
    cfx_grpc_pool_t pool;
};

int cfx_grpc_fail(cfx_grpc_call_t *call, int tf_code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->err.msg, sizeof(call->err.msg), fmt, ap);
    va_end(ap);
    call->tf_code = tf_code;
    call->err.code = tf_code;
    return tf_code;
}

int cfx_grpc_reply(cfx_grpc_call_t *call, const ProtobufCMessage *msg) {
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n > INT32_MAX || cfx_buf_reserve(call->resp, n) != 0)
        return cfx_grpc_fail(call, 13, "response of %zu bytes", n);
    protobuf_c_message_pack(msg, call->resp->data + call->resp->len);
    call->resp->len += n;
    return 0;
}

int cfx_grpc_parse_timeout(const char *v, uint64_t *ns) {
    size_t len = strlen(v);
    *ns = 0;
    if (len < 2 || len > 9)
        return CFX_EINVAL;
    uint64_t x = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return CFX_EINVAL;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    uint64_t unit;
    switch (v[len - 1]) {
    case 'H':
        unit = 3600ull * 1000000000ull;
        break;
    case 'M':
        unit = 60ull * 1000000000ull;
        break;
    case 'S':
        unit = 1000000000ull;
        break;
    case 'm':
        unit = 1000000ull;
        break;
    case 'u':
        unit = 1000ull;
        break;
    case 'n':
        unit = 1ull;
        break;
    default:
        return CFX_EINVAL;
    }
    /* Capped at 2^62 ns (146 years) so "now + timeout" cannot wrap. */
    const uint64_t cap = 1ull << 62;
    *ns = x > cap / unit ? cap : x * unit;
    return 0;
}

int cfx_grpc_encode_message(const char *msg, cfx_buf_t *out) {
    static const char hex[] = "0123456789ABCDEF";
    static const char trunc[] = "...TRUNCATED";
    size_t len = strlen(msg);
    size_t keep = len > GRPC_MESSAGE_MAX ? GRPC_MESSAGE_MAX : len;
    cfx_buf_reset(out);
    for (size_t i = 0; i < keep + (len > keep ? sizeof(trunc) - 1 : 0); i++) {
        uint8_t c = i < keep ? (uint8_t)msg[i] : (uint8_t)trunc[i - keep];
        int rc;
        if (c >= 0x20 && c <= 0x7e && c != '%') {
            rc = cfx_buf_putc(out, c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = cfx_buf_append(out, e, 3);
        }
        if (rc != 0)
            return rc;
    }
    return cfx_buf_cstr(out);
}

int cfx_grpc_unframe(const uint8_t *body, size_t len, const uint8_t **msg,
                     size_t *msg_len, int *compressed, int *tf_code,
                     cfx_error_t *err) {
    *msg = NULL;
    *msg_len = 0;
    *compressed = 0;
    if (len < 5) {
        *tf_code = 13;
        return cfx_error_set(err, CFX_ETRUNCATED,
                             "request has %zu bytes, less than a gRPC message "
                             "prefix (5)",
                             len);
    }
    if (body[0] > 1) {
        *tf_code = 13;
        return cfx_error_set(err, CFX_ECORRUPT,
                             "invalid gRPC compressed flag %u", body[0]);
    }
    size_t n = (size_t)body[1] << 24 | (size_t)body[2] << 16 |
               (size_t)body[3] << 8 | body[4];
    if (n != len - 5) {
        *tf_code = 13;
        return cfx_error_set(err, CFX_ECORRUPT,
                             "gRPC message prefix says %zu bytes, request "
                             "carries %zu (a unary call takes exactly one "
                             "message)",
                             n, len - 5);
    }
    *compressed = body[0];
    *msg = body + 5;
    *msg_len = n;
    return 0;
}

int cfx_grpc_inflate(const char *encoding, const uint8_t *in, size_t len,
                     size_t max, cfx_buf_t *out, int *tf_code,
                     cfx_error_t *err) {
    int gzip = !strcmp(encoding, "gzip");
    if (!gzip && strcmp(encoding, "deflate") != 0) {
        *tf_code = encoding[0] && strcmp(encoding, "identity") ? 12 : 13;
        return cfx_error_set(err, CFX_EUNSUPPORTED,
                             *tf_code == 12
                                 ? "grpc-encoding \"%s\" is not supported "
                                   "(identity, gzip, deflate)"
                                 : "compressed message with grpc-encoding "
                                   "\"%s\"",
                             encoding);
    }
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) {
        *tf_code = 13;
        return cfx_error_set(err, CFX_ENOMEM, "inflate");
    }
    int rc = 0, zr = Z_OK;
    cfx_buf_reset(out);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    while (zr != Z_STREAM_END) {
        if (out->len >= max) {
            *tf_code = 8;
            rc = cfx_error_set(err, CFX_ETOOBIG,
                               "Received message larger than max (more than "
                               "%zu bytes once inflated)",
                               max);
            break;
        }
        size_t room = max - out->len < 65536 ? max - out->len : 65536;
        if (cfx_buf_reserve(out, room) != 0) {
            *tf_code = 8;
            rc = cfx_error_set(err, CFX_ENOMEM, "inflate");
            break;
        }
        z.next_out = out->data + out->len;
        z.avail_out = (uInt)room;
        zr = inflate(&z, Z_NO_FLUSH);
        out->len += room - z.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END) {
            *tf_code = 13;
            rc = cfx_error_set(err, CFX_ECORRUPT, "corrupt %s message (%s)",
                               encoding, z.msg ? z.msg : "truncated");
            break;
        }
        if (zr == Z_OK && z.avail_in == 0 && z.avail_out > 0) {
            *tf_code = 13;
            rc = cfx_error_set(err, CFX_ETRUNCATED, "truncated %s message",
                               encoding);
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

/* --- answering ---------------------------------------------------------------
 */

static void answer_error(cfx_grpc_ctx_t *ctx, cfx_h2_stream_t *st, int tf_code,
                         const char *msg) {
    char code[16];
    snprintf(code, sizeof(code), "%d", tf_code);
    if (cfx_grpc_encode_message(msg, &ctx->msgbuf) != 0)
        cfx_buf_reset(&ctx->msgbuf);
    nghttp2_nv hdrs[] = {cfx_h2_nv(":status", "200"),
                         cfx_h2_nv("content-type", "application/grpc"),
                         cfx_h2_nv("grpc-accept-encoding", ACCEPT_ENCODING)};
    nghttp2_nv tr[] = {
        cfx_h2_nv("grpc-status", code),
        cfx_h2_nv("grpc-message",
                  ctx->msgbuf.data ? (const char *)ctx->msgbuf.data : ""),
    };
    cfx_h2_respond(st, hdrs, 3, NULL, 0, tr, ctx->msgbuf.len ? 2 : 1);
}

static void answer_ok(cfx_grpc_ctx_t *ctx, cfx_h2_stream_t *st) {
    size_t n = ctx->resp.len - 5;
    uint8_t *p = ctx->resp.data;
    p[0] = 0;
    p[1] = (uint8_t)(n >> 24);
    p[2] = (uint8_t)(n >> 16);
    p[3] = (uint8_t)(n >> 8);
    p[4] = (uint8_t)n;
    nghttp2_nv hdrs[] = {cfx_h2_nv(":status", "200"),
                         cfx_h2_nv("content-type", "application/grpc"),
                         cfx_h2_nv("grpc-accept-encoding", ACCEPT_ENCODING)};
    nghttp2_nv tr[] = {cfx_h2_nv("grpc-status", "0")};
    cfx_h2_respond(st, hdrs, 3, ctx->resp.data, ctx->resp.len, tr, 1);
}

static int content_type_ok(const char *ct) {
    if (strncmp(ct, "application/grpc", 16) != 0)
        return 0;
    return ct[16] == '\0' || ct[16] == '+' || ct[16] == ';';
}

static void on_request(void *ud, cfx_h2_stream_t *st,
                       const cfx_h2_request_t *req) {
    grpc_conn_t *gc = ud;
    cfx_grpc_ctx_t *ctx = gc->ctx;
    cfx_grpc_call_t call;
    memset(&call, 0, sizeof(call));
    call.srv = ctx->srv;
    call.arena = &ctx->arena;
    call.resp = &ctx->resp;
    call.pool = &ctx->pool;
    call_priv_t priv = {gc, st};
    call.priv = &priv;
    call.authorization = req->authorization;
    call.local = gc->local;
    if (gc->ssl && !gc->peer_verified) /* a request: the handshake is done */
        gc->peer_verified = cfx_tls_peer_verified(gc->ssl);
    call.peer_verified = gc->peer_verified;
    cfx_error_init(&call.err);
    const cfx_grpc_method_t *m = NULL;

    if (strcmp(req->method, "POST") != 0 ||
        !content_type_ok(req->content_type)) {
        /* Not gRPC at all: an HTTP answer, as gRPC servers give. */
        nghttp2_nv hdrs[] = {cfx_h2_nv(":status", "415"),
                             cfx_h2_nv("content-type", "text/plain")};
        static const char text[] = "cfx-serve: gRPC needs POST with "
                                   "content-type application/grpc\n";
        cfx_h2_respond(st, hdrs, 2, (const uint8_t *)text, sizeof(text) - 1,
                       NULL, 0);
        return;
    }
    if (req->grpc_timeout[0]) {
        uint64_t t;
        if (cfx_grpc_parse_timeout(req->grpc_timeout, &t) != 0) {
            cfx_grpc_fail(&call, 13, "malformed grpc-timeout \"%s\"",
                          req->grpc_timeout);
            goto out;
        }
        call.deadline_ns = req->start_ns + t;
    }
    m = cfx_grpc_method_find(req->path);
    if (!m) {
        cfx_grpc_fail(&call, 12, "Method not found: %s", req->path);
        goto out;
    }
    if (ctx->srv && strncmp(req->path, "/grpc.health.v1.", 16) != 0) {
        cfx_auth_peer_t who = {call.authorization, call.local,
                               call.peer_verified};
        int code = cfx_auth_inference(&ctx->srv->opts, &who, call.err.msg,
                                      sizeof(call.err.msg));
        if (code) {
            cfx_grpc_fail(&call, code, "%s", call.err.msg);
            goto out;
        }
    }
    if (req->body_too_big) {
        cfx_grpc_fail(&call, 8,
                      "Received message larger than max (more than %zu "
                      "bytes)",
                      ctx->opts.max_recv_message);
        goto out;
    }
    const uint8_t *msg;
    size_t msg_len;
    int compressed;
    if (cfx_grpc_unframe(req->body, req->body_len, &msg, &msg_len, &compressed,
                         &call.tf_code, &call.err) != 0)
        goto out;
    if (compressed) {
        if (cfx_grpc_inflate(req->grpc_encoding, msg, msg_len,
                             ctx->opts.max_recv_message, &ctx->inflated,
                             &call.tf_code, &call.err) != 0)
            goto out;
        msg = ctx->inflated.data;
        msg_len = ctx->inflated.len;
    }
    if (call.deadline_ns && cfx_clock_mono_ns() >= call.deadline_ns) {
        cfx_grpc_fail(&call, 4, "Deadline Exceeded");
        goto out;
    }
    cfx_buf_reset(&ctx->resp);
    if (cfx_buf_append(&ctx->resp, "\0\0\0\0\0", 5) != 0) {
        cfx_grpc_fail(&call, 8, "out of memory");
        goto out;
    }
    if (m->handler(&call, msg, msg_len) != 0 && call.tf_code == 0)
        cfx_grpc_fail(&call, 13, "internal error");
    if (call.deferred && call.tf_code == 0)
        goto done; /* answered by cfx_grpc_deferred_finish */
    if (call.tf_code == 0 && call.deadline_ns &&
        cfx_clock_mono_ns() >= call.deadline_ns)
        cfx_grpc_fail(&call, 4, "Deadline Exceeded");
out:
    if (call.tf_code == 0)
        answer_ok(ctx, st);
    else
        answer_error(ctx, st, call.tf_code, call.err.msg);
    if (m && m->api && ctx->srv && ctx->srv->metrics)
        cfx_metrics_record(ctx->srv->metrics, call.model, m->api, "GRPC",
                           call.tf_code,
                           (cfx_clock_mono_ns() - req->start_ns) / 1000);
done:
    cfx_arena_reset(&ctx->arena);
    if (ctx->pool.cap > 1024) /* one huge batch must not pin memory */
        cfx_grpc_pool_free(&ctx->pool);
    if (ctx->inflated.cap > (1u << 20)) {
        cfx_buf_free(&ctx->inflated);
        cfx_buf_init(&ctx->inflated);
    }
    if (ctx->resp.cap > (1u << 20)) {
        cfx_buf_free(&ctx->resp); /* don't keep a huge answer's memory */
        cfx_buf_init(&ctx->resp);
    }
}

/* --- deferred answers
 * ---------------------------------------------------------- */

cfx_grpc_deferred_t *cfx_grpc_defer(cfx_grpc_call_t *call) {
    call_priv_t *p = call->priv;
    cfx_grpc_deferred_t *d = calloc(1, sizeof(*d));
    if (!d || !p) {
        free(d);
        return NULL;
    }
    d->ctx = p->gc->ctx;
    d->serial = p->gc->serial;
    d->stream_id = cfx_h2_stream_id(p->st);
    d->deadline_ns = call->deadline_ns;
    d->ctx->n_deferred++;
    call->deferred = 1;
    return d;
}

struct event_base *cfx_grpc_deferred_base(const cfx_grpc_deferred_t *d) {
    return d->ctx->base;
}

static void ctx_destroy(cfx_grpc_ctx_t *ctx);

/* --- deadlines of requests still arriving ------------------------------------
 */

#define EXPIRY_PERIOD_US 50000

typedef struct expired {
    cfx_grpc_ctx_t *ctx;
    int32_t ids[256];
    size_t n;
} expired_t;

static void expire_stream(void *arg, cfx_h2_stream_t *st,
                          const cfx_h2_request_t *req) {
    expired_t *x = arg;
    uint64_t t;
    if (x->n == sizeof(x->ids) / sizeof(x->ids[0]) || !req->grpc_timeout[0] ||
        cfx_grpc_parse_timeout(req->grpc_timeout, &t))
        return;
    if (cfx_clock_mono_ns() >= req->start_ns + t) {
        answer_error(x->ctx, st, 4, "Deadline Exceeded");
        x->ids[x->n++] = cfx_h2_stream_id(st);
    }
}

static void expiry_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    cfx_grpc_ctx_t *ctx = arg;
    expired_t x;
    x.ctx = ctx;
    for (grpc_conn_t *gc = ctx->conns; gc; gc = gc->next) {
        x.n = 0;
        cfx_h2_conn_each_incomplete(gc->h2, expire_stream, &x);
        if (x.n == 0)
            continue;
        /* The answer leaves first; then ask the client to stop sending
         * (a RST queued with it could overtake and drop the answer). */
        cfx_h2_conn_send(gc->h2);
        for (size_t i = 0; i < x.n; i++)
            cfx_h2_conn_reset(gc->h2, x.ids[i], NGHTTP2_NO_ERROR);
        cfx_h2_conn_send(gc->h2);
    }
}

void cfx_grpc_deferred_finish(cfx_grpc_deferred_t *d, int tf_code,
                              const char *message,
                              const ProtobufCMessage *resp) {
    cfx_grpc_ctx_t *ctx = d->ctx;
    grpc_conn_t *gc = ctx->conns;
    while (gc && gc->serial != d->serial)
        gc = gc->next;
    cfx_h2_stream_t *st = gc ? cfx_h2_conn_stream(gc->h2, d->stream_id) : NULL;
    if (st) {
        cfx_grpc_call_t call;
        memset(&call, 0, sizeof(call));
        call.resp = &ctx->resp;
        cfx_buf_reset(&ctx->resp);
        if (tf_code == 0 && d->deadline_ns &&
            cfx_clock_mono_ns() >= d->deadline_ns)
            cfx_grpc_fail(&call, 4, "Deadline Exceeded");
        else if (tf_code != 0)
            cfx_grpc_fail(&call, tf_code, "%s", message ? message : "");
        else if (cfx_buf_append(&ctx->resp, "\0\0\0\0\0", 5) != 0)
            cfx_grpc_fail(&call, 8, "out of memory");
        else
            cfx_grpc_reply(&call, resp);
        if (call.tf_code == 0)
            answer_ok(ctx, st);
        else
            answer_error(ctx, st, call.tf_code, call.err.msg);
        cfx_h2_conn_send(gc->h2);
    }
    free(d);
    ctx->n_deferred--;
    if (ctx->draining && ctx->n_conns == 0 && ctx->n_deferred == 0)
        ctx_destroy(ctx);
}

/* --- connections
 * --------------------------------------------------------------- */

static void ctx_destroy(cfx_grpc_ctx_t *ctx) {
    if (ctx->listener)
        evconnlistener_free(ctx->listener);
    if (ctx->expiry)
        event_free(ctx->expiry);
    cfx_arena_free(&ctx->arena);
    cfx_buf_free(&ctx->resp);
    cfx_buf_free(&ctx->msgbuf);
    cfx_buf_free(&ctx->inflated);
    cfx_grpc_pool_free(&ctx->pool);
    cfx_tls_free(ctx->tls);
    free(ctx);
}

static void conn_unlink(grpc_conn_t *gc) {
    cfx_grpc_ctx_t *ctx = gc->ctx;
    if (gc->first_ev)
        event_free(gc->first_ev);
    if (gc->prev)
        gc->prev->next = gc->next;
    else
        ctx->conns = gc->next;
    if (gc->next)
        gc->next->prev = gc->prev;
    ctx->n_conns--;
    free(gc);
}

static void on_close(void *ud, cfx_h2_conn_t *c) {
    (void)c;
    grpc_conn_t *gc = ud;
    cfx_grpc_ctx_t *ctx = gc->ctx;
    conn_unlink(gc);
    if (ctx->draining && ctx->n_conns == 0 && ctx->n_deferred == 0)
        ctx_destroy(ctx);
}

/* The first-byte rule of the REST port (serve/http1.h), here too: a
 * connection whose peer sends nothing within --first_byte_timeout_seconds
 * is closed, so silent connections cannot pile up. Bytes are seen as they
 * land in the connection's input buffer (decrypted, on a TLS port), before
 * HTTP/2 reads them; a real client sends its preface at once. */
static void on_input_added(struct evbuffer *buf,
                           const struct evbuffer_cb_info *info, void *arg) {
    (void)buf;
    grpc_conn_t *gc = arg;
    if (info->n_added == 0 || gc->got_bytes)
        return;
    gc->got_bytes = 1;
    if (gc->first_ev)
        event_del(gc->first_ev);
}

static void on_first_byte_timeout(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    grpc_conn_t *gc = arg;
    cfx_grpc_ctx_t *ctx = gc->ctx;
    if (gc->got_bytes)
        return;
    cfx_h2_conn_free(gc->h2); /* no stream: nothing is owed */
    conn_unlink(gc);
    if (ctx->draining && ctx->n_conns == 0 && ctx->n_deferred == 0)
        ctx_destroy(ctx);
}

int cfx_grpc_ctx_adopt(cfx_grpc_ctx_t *ctx, evutil_socket_t fd,
                       cfx_error_t *err) {
    int one = 1;
    evutil_make_socket_nonblocking(fd);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct bufferevent *bev = NULL;
    SSL *ssl = NULL;
    if (ctx->tls) {
        /* libevent's OpenSSL bufferevent runs the handshake and the
         * WANT_READ / WANT_WRITE retries under the same bufferevent
         * interface h2_conn.c already drives; it owns ssl and fd from
         * here (on failure, under memory exhaustion only, both may
         * leak rather than be freed twice). */
        ssl = cfx_tls_conn_new(ctx->tls);
        if (ssl)
            bev = bufferevent_openssl_socket_new(ctx->base, fd, ssl,
                                                 BUFFEREVENT_SSL_ACCEPTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
        if (!bev) {
            ERR_clear_error();
            if (!ssl)
                evutil_closesocket(fd);
            return cfx_error_set(err, CFX_ENOMEM, "grpc: TLS bufferevent");
        }
        /* A client that closes without close_notify has just left. */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    } else {
        bev = bufferevent_socket_new(ctx->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!bev) {
        evutil_closesocket(fd);
        return cfx_error_set(err, CFX_ENOMEM, "grpc: bufferevent");
    }
    grpc_conn_t *gc = calloc(1, sizeof(*gc));
    if (!gc) {
        bufferevent_free(bev);
        return cfx_error_set(err, CFX_ENOMEM, "grpc: connection");
    }
    gc->ctx = ctx;
    gc->serial = ++ctx->next_serial;
    gc->ssl = ssl;
    cfx_h2_callbacks_t cb = {on_request, on_close};
    int rc = cfx_h2_conn_new(bev, &ctx->h2cfg, &cb, gc, &gc->h2, err);
    if (rc != 0) {
        bufferevent_free(bev);
        free(gc);
        return rc;
    }
    gc->next = ctx->conns;
    if (ctx->conns)
        ctx->conns->prev = gc;
    ctx->conns = gc;
    ctx->n_conns++;
    int secs = ctx->srv ? ctx->srv->opts.first_byte_timeout_seconds : 0;
    if (secs > 0) {
        struct timeval tv = {secs, 0};
        gc->first_ev = evtimer_new(ctx->base, on_first_byte_timeout, gc);
        if (gc->first_ev)
            evtimer_add(gc->first_ev, &tv);
        evbuffer_add_cb(bufferevent_get_input(bev), on_input_added, gc);
    }
    return 0;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg) {
    (void)l;
    (void)sa;
    (void)salen;
    cfx_grpc_ctx_t *ctx = arg;
    cfx_error_t err;
    cfx_error_init(&err);
    if (ctx->draining) {
        evutil_closesocket(fd);
        return;
    }
    if (cfx_grpc_ctx_adopt(ctx, fd, &err) != 0)
        fprintf(stderr, "cfx-serve: grpc: %s\n", err.msg);
    else if (sa && sa->sa_family == AF_UNIX)
        ctx->conns->local = 1; /* adopt put it first */
}

int cfx_grpc_ctx_new(struct event_base *base, cfx_server_t *srv,
                     const cfx_grpc_options_t *opts, cfx_grpc_ctx_t **out,
                     cfx_error_t *err) {
    cfx_grpc_ctx_t *ctx = calloc(1, sizeof(*ctx));
    *out = NULL;
    if (!ctx)
        return cfx_error_set(err, CFX_ENOMEM, "grpc: context");
    ctx->base = base;
    ctx->srv = srv;
    ctx->opts.max_recv_message = 100u << 20;
    ctx->opts.max_concurrent_streams = 128;
    if (opts)
        ctx->opts = *opts;
    cfx_h2_config_default(&ctx->h2cfg);
    ctx->h2cfg.max_body = ctx->opts.max_recv_message + 5;
    ctx->h2cfg.max_concurrent_streams = ctx->opts.max_concurrent_streams;
    cfx_arena_init(&ctx->arena);
    cfx_buf_init(&ctx->resp);
    cfx_buf_init(&ctx->msgbuf);
    cfx_buf_init(&ctx->inflated);
    if (ctx->opts.ssl) {
        int rc = cfx_tls_new(ctx->opts.ssl, ctx->opts.ssl_where,
                             CFX_TLS_ALPN_H2, &ctx->tls, err);
        if (rc) {
            ctx_destroy(ctx);
            return rc;
        }
    }
    ctx->expiry = event_new(base, -1, EV_PERSIST, expiry_cb, ctx);
    struct timeval period = {0, EXPIRY_PERIOD_US};
    if (!ctx->expiry || event_add(ctx->expiry, &period) != 0) {
        ctx_destroy(ctx);
        return cfx_error_set(err, CFX_ENOMEM, "grpc: expiry timer");
    }
    *out = ctx;
    return 0;
}

int cfx_grpc_ctx_listen(cfx_grpc_ctx_t *ctx, evutil_socket_t fd,
                        cfx_error_t *err) {
    evutil_make_socket_nonblocking(fd);
    ctx->listener = evconnlistener_new(ctx->base, on_accept, ctx,
                                       LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!ctx->listener)
        return cfx_error_set(err, CFX_EIO, "grpc: cannot listen on fd %d",
                             (int)fd);
    return 0;
}

void cfx_grpc_ctx_drain(cfx_grpc_ctx_t *ctx) {
    if (ctx->draining)
        return;
    ctx->draining = 1;
    if (ctx->listener) {
        /* Stop listening, not only accepting: a connection the kernel
         * would still complete into the backlog would wait out the drain
         * and then be reset, with its call already sent (a proxy cannot
         * retry it); refused, it goes to another replica at once
         * (docs/deploy.md). The socket itself is closed by its owner,
         * serve/server.c. */
        evutil_socket_t fd = evconnlistener_get_fd(ctx->listener);
        evconnlistener_free(ctx->listener);
        ctx->listener = NULL;
        shutdown(fd, SHUT_RDWR);
    }
    if (ctx->expiry)
        event_del(ctx->expiry);
    if (ctx->n_conns == 0) {
        if (ctx->n_deferred == 0)
            ctx_destroy(ctx);
        return;
    }
    /* Shutting a connection down may close it (and free ctx with the last
     * one), so walk a snapshot of the count. */
    size_t n = ctx->n_conns;
    grpc_conn_t *gc = ctx->conns;
    while (n-- > 0 && gc) {
        grpc_conn_t *next = gc->next;
        int last = (n == 0);
        cfx_h2_conn_shutdown(gc->h2);
        if (last)
            break;
        gc = next;
    }
}

void cfx_grpc_ctx_free(cfx_grpc_ctx_t *ctx) {
    if (!ctx)
        return;
    while (ctx->conns) {
        grpc_conn_t *gc = ctx->conns;
        cfx_h2_conn_free(gc->h2);
        conn_unlink(gc);
    }
    ctx_destroy(ctx);
}

size_t cfx_grpc_ctx_connections(const cfx_grpc_ctx_t *ctx) {
    return ctx->n_conns;
}

static void on_drain(struct event_base *base, void *arg) {
    (void)base;
    cfx_grpc_ctx_drain(arg);
}

int cfx_grpc_attach(cfx_server_t *srv, struct event_base *base,
                    evutil_socket_t listen_fd, cfx_error_t *err) {
    cfx_grpc_ctx_t *ctx = NULL;
    cfx_grpc_options_t opts = {.max_recv_message = 100u << 20,
                               .max_concurrent_streams = 128};
    if (srv && srv->opts.max_body_bytes)
        opts.max_recv_message = srv->opts.max_body_bytes;
    if (srv && srv->opts.have_ssl) {
        opts.ssl = &srv->opts.ssl;
        opts.ssl_where = srv->opts.ssl_config_file;
    }
    int rc = cfx_grpc_ctx_new(base, srv, &opts, &ctx, err);
    if (rc != 0)
        return rc;
    if ((rc = cfx_grpc_ctx_listen(ctx, listen_fd, err)) != 0 ||
        (srv && (rc = cfx_server_on_drain(srv, base, on_drain, ctx)) != 0)) {
        cfx_grpc_ctx_free(ctx);
        return rc ? rc : cfx_error_set(err, CFX_EINTERNAL, "grpc: attach");
    }
    return 0;
}

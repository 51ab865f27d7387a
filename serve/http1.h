/*
 * http1.h: a small HTTP/1.1 server on a libevent base, made for
 * cfx-serve's REST API: keep-alive, pipelining, Content-Length and chunked
 * request bodies (a handler sees both alike), "Expect: 100-continue",
 * limits on header and body size, idle timeouts, a total time limit for
 * receiving a request, a connection limit and drain.
 *
 * Why not evhttp: evhttp costs 5.5 system calls per request (it re-arms
 * epoll around every response and asks FIONREAD before each read). Here a
 * connection's read event is registered once (level-triggered, persistent)
 * and an answer is written at once, so a keep-alive request costs a read,
 * a write and a share of epoll_wait; a write event is armed only when the
 * socket is full.
 *
 * Strict framing (RFC 9112 §5, §6): a request head with a repeated
 * Content-Length, Content-Length beside Transfer-Encoding, whitespace
 * between a field name and its colon, an obs-fold continuation line, a
 * field name outside tchar, a field value byte outside VCHAR / obs-text /
 * SP / HTAB (a NUL, a bare CR or LF), or a repeated Host gets 400 and the
 * connection closes: two parsers never disagree on where a request ends.
 *
 * Connection accounting: a connection that sends nothing within
 * first_byte_timeout_seconds of its accept is closed; at most
 * max_connections_per_client connections per client address (across all
 * instances of the process; beyond it a new one is closed at once); at the
 * global max_connections a new connection closes the oldest connection of
 * its worker that has not yet sent a complete request, so a flood of idle
 * connections cannot lock a real client out (503 only when the worker
 * holds none).
 *
 * TLS (options.ssl, serve/tls.h): the same server over SSL_read and
 * SSL_write, with a non-blocking handshake driven by the connection's own
 * events; ALPN selects "http/1.1". A plain-text request on a TLS port gets
 * a plain-text 400 and a close; any other failed handshake just closes.
 * After the handshake, requests carry peer_verified (a client certificate
 * that verified against custom_ca). A plain port's code path is the one
 * it had before TLS.
 *
 * Not supported: transfer codings other than chunked (501), HTTP/2 (that
 * is the gRPC port).
 *
 * Thread-safety: one cfx_http1_t per event base, used only on that base's
 * thread; the connection counter may be shared between instances.
 */
#ifndef CFX_SERVE_HTTP1_H
#define CFX_SERVE_HTTP1_H

#include <event2/event.h>
#include <event2/util.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"

typedef struct cfx_http1 cfx_http1_t;

#define CFX_HTTP1_MAX_HEADERS 64

/* One request, valid during the handler call only. */
typedef struct cfx_http1_req {
    const char *method; /* "GET", "POST", ... */
    const char *target; /* the request-target as sent ("/v1/models/m?x") */
    const uint8_t *body;
    size_t body_len;
    const char *peer;  /* client address, "-" when unknown */
    int over_limit;    /* the connection is over max_connections: answer
                          503 (it closes after the answer) */
    int peer_verified; /* the connection's TLS layer verified a client
                          certificate (set by the TLS code on the
                          connection, see conn_t.peer_verified) */
    /* private */
    struct cfx_http1_conn *conn;
    const char *hname[CFX_HTTP1_MAX_HEADERS];
    const char *hvalue[CFX_HTTP1_MAX_HEADERS];
    size_t nheaders;
    int replied;
} cfx_http1_req_t;

/* The value of a request header (name compared case-insensitively), NULL
 * when absent. */
const char *cfx_http1_header(const cfx_http1_req_t *req, const char *name);

/* Answers req. extra_headers: complete "Name: value\r\n" lines or NULL;
 * close: close the connection after this answer. Exactly one reply per
 * request; a handler that returns without one gets a 500. */
void cfx_http1_reply(cfx_http1_req_t *req, int status, const char *ctype,
                     const char *extra_headers, const void *body, size_t len,
                     int close);

typedef void (*cfx_http1_handler_fn)(cfx_http1_req_t *req, void *arg);

typedef struct cfx_http1_options {
    size_t max_body_bytes;   /* larger body (Content-Length or decoded
                                chunked): 413 */
    size_t max_header_bytes; /* larger request head, or chunked trailer
                                section: 431 */
    int idle_timeout_seconds;
    int request_read_timeout_seconds; /* from a request's first byte to its
                                         last: beyond it 408 and close;
                                         0: no limit */
    long max_connections;     /* beyond it: the oldest connection without a
                                 complete request is closed, or requests
                                 come with over_limit */
    atomic_long *connections; /* shared counter, may be NULL */
    int first_byte_timeout_seconds; /* 0: the idle timeout applies */
    int max_connections_per_client; /* 0: no limit */
    /* TLS on this port (serve/tls.h) when not NULL: the SSLConfig, read
     * when the server is made; ssl_where names its file in errors. */
    const struct cfx_ssl_config *ssl;
    const char *ssl_where;
} cfx_http1_options_t;

/* Serves listen_fd (a bound, listening, non-blocking socket; owned from
 * now on) on base. */
int cfx_http1_new(struct event_base *base, evutil_socket_t listen_fd,
                  const cfx_http1_options_t *opts, cfx_http1_handler_fn handler,
                  void *arg, cfx_http1_t **out, cfx_error_t *err);
/* Drain: closes the listening socket, closes idle connections, and makes
 * every later answer close its connection; a request partly received may
 * still arrive and be answered. */
void cfx_http1_stop_accepting(cfx_http1_t *h);
/* Closes every connection and frees. NULL is fine. */
void cfx_http1_free(cfx_http1_t *h);

#endif

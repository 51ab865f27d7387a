/*
 * h2_conn.h: one server-side HTTP/2 connection (nghttp2 session over a
 * libevent bufferevent), the transport under gRPC.
 *
 * The connection reads frames, collects each stream's request headers and
 * body (bounded by max_body; beyond it the body is dropped and the request
 * is flagged body_too_big), and hands a complete request (END_STREAM seen)
 * to on_request. The handler answers with cfx_h2_respond before it returns
 * (cfx-serve handlers are synchronous on the event loop). Flow control is
 * nghttp2's automatic WINDOW_UPDATE with the windows of cfx_h2_config_t;
 * a client RST_STREAM simply frees the stream.
 *
 * Thread-safety: a connection belongs to the thread running its event base.
 */
#ifndef CFX_SERVE_H2_CONN_H
#define CFX_SERVE_H2_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <nghttp2/nghttp2.h>

#include "formats/err.h"

typedef struct cfx_h2_conn cfx_h2_conn_t;
typedef struct cfx_h2_stream cfx_h2_stream_t;

/* The request headers cfx keeps (NUL-terminated, "" when absent; each
 * value is at most CFX_H2_MAX_HEADER_VALUE bytes, longer ones refuse the
 * stream with RST_STREAM). */
#define CFX_H2_MAX_HEADER_VALUE 1024
typedef struct cfx_h2_request {
    const char *method;        /* :method */
    const char *path;          /* :path */
    const char *content_type;  /* content-type */
    const char *te;            /* te */
    const char *grpc_timeout;  /* grpc-timeout */
    const char *grpc_encoding; /* grpc-encoding */
    const char *authorization; /* authorization, NULL when absent */
    const uint8_t *body;       /* whole request body; may be NULL if empty */
    size_t body_len;
    int body_too_big;  /* more than max_body bytes were sent */
    uint64_t start_ns; /* CLOCK_MONOTONIC when HEADERS arrived */
} cfx_h2_request_t;

typedef struct cfx_h2_config {
    size_t max_body;                 /* bytes kept per request body */
    uint32_t max_concurrent_streams; /* SETTINGS_MAX_CONCURRENT_STREAMS */
    uint32_t initial_window;         /* per-stream receive window */
    uint32_t connection_window;      /* connection receive window */
    /* Bounds on what a client can make the server hold (docs/serving.md
     * "Limits"): bytes of request bodies being received plus answers not
     * yet taken by the peer (flow control, or a peer not reading its
     * socket), per connection and over every connection of the process.
     * A body or an answer past a bound resets its stream
     * (RST_STREAM ENHANCE_YOUR_CALM). A request body may go up to
     * max_body even where that is more. */
    size_t max_queued_per_conn;
    size_t max_queued_total; /* shared by every connection */
} cfx_h2_config_t;

/* 4 MiB + 5 bytes body, 128 streams, 1 MiB stream / 16 MiB connection
 * windows, 16 MiB queued per connection, 256 MiB in all. */
void cfx_h2_config_default(cfx_h2_config_t *cfg);

typedef struct cfx_h2_callbacks {
    /* A complete request. Either calls cfx_h2_respond(st, ...) before
     * returning, or keeps the stream id and answers later from the same
     * thread (cfx_h2_conn_stream, cfx_h2_respond, cfx_h2_conn_send); req
     * and its strings are valid only during the call. */
    void (*on_request)(void *ud, cfx_h2_stream_t *st,
                       const cfx_h2_request_t *req);
    /* The connection is gone (peer closed, protocol error, or drained
     * after cfx_h2_conn_shutdown); the connection is freed right after. */
    void (*on_close)(void *ud, cfx_h2_conn_t *c);
} cfx_h2_callbacks_t;

/* Takes over bev (freed with the connection). cfg and cb are copied; ud is
 * passed to the callbacks. Sends the server SETTINGS at once. */
int cfx_h2_conn_new(struct bufferevent *bev, const cfx_h2_config_t *cfg,
                    const cfx_h2_callbacks_t *cb, void *ud, cfx_h2_conn_t **out,
                    cfx_error_t *err);
/* Frees at once without calling on_close. NULL is fine. */
void cfx_h2_conn_free(cfx_h2_conn_t *c);

/* Graceful shutdown: GOAWAY (NO_ERROR, last processed stream); the
 * connection closes when in-flight streams are done and the output is
 * flushed. */
void cfx_h2_conn_shutdown(cfx_h2_conn_t *c);

/* Answers a stream. hdrs (":status" first) are sent as HEADERS; body
 * (may be NULL when len is 0 and trailers are given: a "trailers-only"
 * answer merges the trailers into the one HEADERS frame) as DATA; trailers
 * as a final HEADERS with END_STREAM. Everything is copied. */
int cfx_h2_respond(cfx_h2_stream_t *st, const nghttp2_nv *hdrs, size_t nhdrs,
                   const uint8_t *body, size_t len, const nghttp2_nv *trailers,
                   size_t ntrailers);

/* Later answers: the stream's id; the open stream with that id, or NULL
 * when the client reset it meanwhile; sends what cfx_h2_respond queued
 * outside the connection's own callbacks (0 or CFX_EIO). */
int32_t cfx_h2_stream_id(const cfx_h2_stream_t *st);
cfx_h2_stream_t *cfx_h2_conn_stream(cfx_h2_conn_t *c, int32_t id);
int cfx_h2_conn_send(cfx_h2_conn_t *c);

/* Calls fn for every stream whose request is still arriving (headers in,
 * END_STREAM not yet), with its headers (body NULL): the caller may answer
 * it early (a passed deadline); the request is then never dispatched. */
void cfx_h2_conn_each_incomplete(cfx_h2_conn_t *c,
                                 void (*fn)(void *arg, cfx_h2_stream_t *st,
                                            const cfx_h2_request_t *req),
                                 void *arg);

/* Queues RST_STREAM with code for stream id (NGHTTP2_NO_ERROR after an
 * early complete answer that has been sent: "stop sending the request");
 * sent by the next cfx_h2_conn_send, which frees the stream. */
int cfx_h2_conn_reset(cfx_h2_conn_t *c, int32_t id, uint32_t code);

/* Builds an nghttp2_nv from two C strings (no copy). */
nghttp2_nv cfx_h2_nv(const char *name, const char *value);

#endif

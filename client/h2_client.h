/*
 * h2_client.h: a minimal HTTP/2 client connection (nghttp2 over a
 * bufferevent) for gRPC calls: used by `cfx perf` against grpc:// targets
 * and by the in-process gRPC tests. Many requests may be in flight on one
 * connection (multiplexing); each completes through one callback.
 *
 * Response bodies are kept up to max_body bytes (the rest is counted and
 * dropped). Thread-safety: one connection belongs to its event base's
 * thread.
 */
#ifndef CFX_CLIENT_H2_CLIENT_H
#define CFX_CLIENT_H2_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/util.h>
#include <nghttp2/nghttp2.h>

#include "formats/err.h"

typedef struct cfx_h2c cfx_h2c_t;

typedef struct cfx_h2c_result {
    int32_t stream_id;
    int http_status;          /* :status, 0 when none arrived */
    int grpc_status;          /* grpc-status (headers or trailers); -1 none */
    const char *grpc_message; /* "" when none (still percent-encoded) */
    const uint8_t *body;      /* DATA as received (with gRPC prefixes) */
    size_t body_len;
    uint32_t rst_error; /* RST_STREAM code, 0 when closed normally */
    void *req_ud;       /* as given to cfx_h2c_submit */
    uint64_t sent_ns;   /* CLOCK_MONOTONIC ns when the request's HEADERS
                           frame was sent; 0 when it never was */
} cfx_h2c_result_t;

typedef struct cfx_h2c_callbacks {
    /* One request finished (answered, reset, or the connection died: then
     * http_status is 0). */
    void (*on_done)(void *ud, const cfx_h2c_result_t *r);
    /* The connection closed (after the last on_done). May be NULL. */
    void (*on_close)(void *ud, cfx_h2c_t *c);
} cfx_h2c_callbacks_t;

/* Takes over a connected socket. max_body bounds each kept body. */
int cfx_h2c_new(struct event_base *base, evutil_socket_t fd,
                const cfx_h2c_callbacks_t *cb, void *ud, size_t max_body,
                cfx_h2c_t **out, cfx_error_t *err);
/* Closes at once; pending requests get no callback. NULL is fine. */
void cfx_h2c_free(cfx_h2c_t *c);

/* POSTs body (copied) to path with the gRPC headers (content-type
 * application/grpc, te trailers) plus extra; returns the stream id (> 0) or
 * a negative cfx error. end_stream 0 leaves the request open (tests). */
int32_t cfx_h2c_submit(cfx_h2c_t *c, const char *authority, const char *path,
                       const nghttp2_nv *extra, size_t nextra,
                       const uint8_t *body, size_t len, int end_stream,
                       void *req_ud);
/* Sends what is queued (after direct nghttp2 calls on the session). */
int cfx_h2c_flush(cfx_h2c_t *c);
nghttp2_session *cfx_h2c_session(cfx_h2c_t *c);
/* Requests in flight; 1 once a GOAWAY arrived. */
size_t cfx_h2c_in_flight(const cfx_h2c_t *c);
int cfx_h2c_goaway(const cfx_h2c_t *c);

#endif

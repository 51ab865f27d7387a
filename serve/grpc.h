/*
 * grpc.h: the gRPC endpoint of cfx-serve (TF Serving's --port): unary RPCs
 * over HTTP/2 (serve/h2_conn.h), messages decoded with protobuf-c.
 *
 * Methods (serve/grpc_methods.c):
 *   /tensorflow.serving.PredictionService/{Predict, Classify, Regress,
 *       MultiInference, GetModelMetadata}
 *   /tensorflow.serving.ModelService/{GetModelStatus,
 *       HandleReloadConfigRequest}
 *   /grpc.health.v1.Health/Check
 *
 * Wire rules: a request is one length-prefixed message (1 byte compressed
 * flag, 4 bytes big-endian length); a compressed message is inflated when
 * its grpc-encoding is gzip or deflate (another encoding is UNIMPLEMENTED,
 * none at all INTERNAL); answers are never compressed; a bad
 * prefix or a length that does not match the DATA is INTERNAL; a message
 * over the receive limit (--max_body_bytes, default 100 MiB) is
 * RESOURCE_EXHAUSTED; an unknown :path is UNIMPLEMENTED; a body protobuf-c
 * cannot decode is INVALID_ARGUMENT. grpc-timeout is honoured: a request
 * whose deadline has passed when it is complete, when its answer is ready,
 * or while its body is still arriving (checked every 50 ms) gets
 * DEADLINE_EXCEEDED. Answers are HEADERS (:status 200,
 * content-type application/grpc), one DATA message and trailers
 * (grpc-status, grpc-message percent-encoded, cut at 1024 characters with
 * "...TRUNCATED" as TF Serving does); errors are trailers-only.
 *
 * Thread-safety: one cfx_grpc_ctx_t per worker event base, used only on
 * that base's thread; the methods use the thread-safe manager and metrics.
 */
#ifndef CFX_SERVE_GRPC_H
#define CFX_SERVE_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/util.h>
#include <protobuf-c/protobuf-c.h>

#include "formats/arena.h"
#include "formats/buf.h"
#include "formats/err.h"
#include "formats/example.h"
#include "serve/server.h"

/* Attaches gRPC to a worker base: accepts on listen_fd (owned by the
 * server) and sends GOAWAY to every connection when the server drains. */
int cfx_grpc_attach(cfx_server_t *srv, struct event_base *base,
                    evutil_socket_t listen_fd, cfx_error_t *err);

/* --- pieces below are for the methods and tests ------------------------ */

typedef struct cfx_grpc_ctx cfx_grpc_ctx_t;

typedef struct cfx_grpc_options {
    size_t max_recv_message; /* bytes; default 100 MiB */
    uint32_t max_concurrent_streams;
    /* TLS on every connection (serve/tls.h, ALPN "h2") when not NULL;
     * ssl_where names the config file in errors. Not owned. */
    const struct cfx_ssl_config *ssl;
    const char *ssl_where;
} cfx_grpc_options_t;

/* srv may be NULL (tests): then only Health/Check answers SERVING and the
 * model methods answer UNAVAILABLE. Frees itself after a drain once its
 * last connection is gone, or with cfx_grpc_ctx_free. */
int cfx_grpc_ctx_new(struct event_base *base, cfx_server_t *srv,
                     const cfx_grpc_options_t *opts, cfx_grpc_ctx_t **out,
                     cfx_error_t *err);
/* Starts accepting on a listening socket (not owned). */
int cfx_grpc_ctx_listen(cfx_grpc_ctx_t *ctx, evutil_socket_t fd,
                        cfx_error_t *err);
/* Serves an already connected socket (owned from now on). */
int cfx_grpc_ctx_adopt(cfx_grpc_ctx_t *ctx, evutil_socket_t fd,
                       cfx_error_t *err);
/* Stops accepting and sends GOAWAY to every connection; the context frees
 * itself once the last connection closes. */
void cfx_grpc_ctx_drain(cfx_grpc_ctx_t *ctx);
/* Closes every connection at once and frees (tests, failed attach); no
 * deferred answer may be outstanding. NULL is fine. */
void cfx_grpc_ctx_free(cfx_grpc_ctx_t *ctx);
/* Open connections (tests). */
size_t cfx_grpc_ctx_connections(const cfx_grpc_ctx_t *ctx);

/* Raw examples reused across the calls of one worker (grpc_methods.c). */
typedef struct cfx_grpc_pool {
    cfx_example_t *ex; /* owned array of cap initialised examples */
    size_t cap;
} cfx_grpc_pool_t;
void cfx_grpc_pool_free(cfx_grpc_pool_t *p);

/* One RPC being answered. */
typedef struct cfx_grpc_call {
    cfx_server_t *srv;     /* may be NULL */
    cfx_arena_t *arena;    /* per-request scratch, reset after the answer */
    cfx_buf_t *resp;       /* the serialized response message goes here */
    cfx_grpc_pool_t *pool; /* the worker's example pool */
    uint64_t deadline_ns;  /* CLOCK_MONOTONIC; 0 = none */
    int tf_code;           /* tensorflow.error.Code of the answer */
    cfx_error_t err;       /* message when tf_code != 0 */
    /* For metrics: model named by the request ("" if none). */
    char model[128];
    /* Who is calling (serve/auth.h): the authorization metadata (NULL when
     * absent), whether the call came over the unix socket, whether the
     * connection's TLS layer verified a client certificate. */
    const char *authorization;
    int local;
    int peer_verified;
    /* Set by cfx_grpc_defer: the answer comes later. */
    int deferred;
    void *priv; /* the endpoint's bookkeeping for this call */
} cfx_grpc_call_t;

/* A handler decodes req[len], fills call->resp and returns 0, or sets
 * call->tf_code / call->err and returns it. */
typedef int (*cfx_grpc_handler_fn)(cfx_grpc_call_t *call, const uint8_t *req,
                                   size_t len);

typedef struct cfx_grpc_method {
    const char *path; /* "/tensorflow.serving.PredictionService/Predict" */
    const char *api;  /* metrics API label ("Predict"), NULL = no metric */
    cfx_grpc_handler_fn handler;
} cfx_grpc_method_t;

/* NULL when path names no method. */
const cfx_grpc_method_t *cfx_grpc_method_find(const char *path);

/* Answering later, for handlers that must not block the event loop
 * (HandleReloadConfigRequest): cfx_grpc_defer returns a token (NULL when
 * out of memory) and the endpoint sends nothing now. The work may run on
 * any thread; the answer must be given on the worker's thread: post to
 * cfx_grpc_deferred_base() (event_base_once) and call
 * cfx_grpc_deferred_finish there, which answers resp (tf_code 0) or the
 * error, unless the client went away, and frees the token. */
typedef struct cfx_grpc_deferred cfx_grpc_deferred_t;
cfx_grpc_deferred_t *cfx_grpc_defer(cfx_grpc_call_t *call);
struct event_base *cfx_grpc_deferred_base(const cfx_grpc_deferred_t *d);
void cfx_grpc_deferred_finish(cfx_grpc_deferred_t *d, int tf_code,
                              const char *message,
                              const ProtobufCMessage *resp);

/* Sets call's status; returns code (for `return cfx_grpc_fail(...)`). */
int cfx_grpc_fail(cfx_grpc_call_t *call, int tf_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends the serialization of msg to call->resp; 0 or an INTERNAL
 * failure. */
int cfx_grpc_reply(cfx_grpc_call_t *call, const ProtobufCMessage *msg);

/* grpc-timeout value ("100m", "5S", at most 8 digits, units H M S m u n)
 * -> nanoseconds; CFX_EINVAL when malformed. */
int cfx_grpc_parse_timeout(const char *v, uint64_t *ns);

/* Percent-encodes msg for grpc-message (bytes outside 0x20-0x7E and '%'),
 * cut to 1024 characters + "...TRUNCATED" first; out is NUL-terminated. */
int cfx_grpc_encode_message(const char *msg, cfx_buf_t *out);

/* Checks the 5-byte prefix of a unary request body and returns the
 * message and its compressed flag. tf_code + err on failure (INTERNAL). */
int cfx_grpc_unframe(const uint8_t *body, size_t len, const uint8_t **msg,
                     size_t *msg_len, int *compressed, int *tf_code,
                     cfx_error_t *err);

/* Inflates a compressed message of grpc-encoding `encoding` ("gzip" or
 * "deflate") into out (reset first), at most max bytes. Failures set
 * tf_code: UNIMPLEMENTED (other encodings), RESOURCE_EXHAUSTED (over
 * max), INTERNAL (corrupt data). */
int cfx_grpc_inflate(const char *encoding, const uint8_t *in, size_t len,
                     size_t max, cfx_buf_t *out, int *tf_code,
                     cfx_error_t *err);

#endif

/*
 * perf_http.h: the minimal HTTP/1.1 keep-alive client of `cfx perf`: one
 * request in flight per connection, requests given as complete bytes,
 * responses framed by Content-Length (what cfx-serve and TF Serving send;
 * chunked or unframed answers count as errors). Header blocks are bounded
 * to 64 KiB, bodies to max_body (larger ones are read and dropped).
 *
 * Thread-safety: a connection belongs to its event base's thread.
 */
#ifndef CFX_CLIENT_PERF_HTTP_H
#define CFX_CLIENT_PERF_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/util.h>

#include "formats/err.h"

typedef struct cfx_http1c cfx_http1c_t;

/* status: the HTTP status, or 0 when the connection failed (then the
 * connection is dead: free it). body is valid during the call only. */
typedef void (*cfx_http1c_done_fn)(void *ud, cfx_http1c_t *c, int status,
                                   const uint8_t *body, size_t len);

/* Takes over a connected socket. */
int cfx_http1c_new(struct event_base *base, evutil_socket_t fd,
                   cfx_http1c_done_fn done, void *ud, size_t max_body,
                   cfx_http1c_t **out, cfx_error_t *err);
void cfx_http1c_free(cfx_http1c_t *c);
/* Sends req[len] (copied); CFX_ESTATE when a request is in flight or the
 * connection is dead. */
int cfx_http1c_send(cfx_http1c_t *c, const uint8_t *req, size_t len);
int cfx_http1c_dead(const cfx_http1c_t *c);

/* Blocking TCP connect to host:port (numeric or name), TCP_NODELAY set;
 * returns the socket or a negative cfx error. */
int cfx_perf_connect(const char *host, int port, cfx_error_t *err);

#endif

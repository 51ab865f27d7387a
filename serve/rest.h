/*
 * rest.h: TF Serving's REST API (docs/serving.md) on the HTTP/1.1 server of
 * serve/http1.h:
 * /v1/models/... status, metadata, :predict, :classify, :regress; plus
 * GET /v1/ready and /healthz (200 only when every configured model has an
 * AVAILABLE version, else 503) and the Prometheus text at the configured
 * monitoring path.
 *
 * One cfx_rest_t per worker thread, on that worker's event base and
 * listening socket. Thread-safety: all calls on the worker's thread.
 */
#ifndef CFX_SERVE_REST_H
#define CFX_SERVE_REST_H

#include <event2/event.h>

#include "formats/err.h"
#include "serve/server.h"

typedef struct cfx_rest cfx_rest_t;

/* Serves REST on listen_fd (a bound, listening socket; ownership passes to
 * the returned object). */
int cfx_rest_new(cfx_server_t *srv, struct event_base *base,
                 evutil_socket_t listen_fd, cfx_rest_t **out, cfx_error_t *err);
/* Stops accepting (closes the listening socket); open connections finish
 * their requests, answered with "Connection: close". */
void cfx_rest_stop_accepting(cfx_rest_t *r);
void cfx_rest_free(cfx_rest_t *r);

#endif

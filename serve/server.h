/*
 * server.h: the cfx-serve process: N worker threads, each owning its own
 * struct event_base, serving REST (serve/http1.h) and gRPC on listening sockets
 * bound with SO_REUSEPORT (one per worker, so the kernel spreads
 * connections); a model manager and metrics shared by all; signal handling
 * (SIGHUP re-reads the config file, SIGTERM/SIGINT stop accepting, drain
 * and exit 0) and sd_notify.
 *
 * Startup follows TF Serving: ports open only after every model is
 * AVAILABLE; a failed initial load fails cfx_server_run.
 *
 * Protocol modules attach to each worker base. gRPC (serve/grpc.h)
 * provides
 *   int cfx_grpc_attach(cfx_server_t *srv, struct event_base *base,
 *                       evutil_socket_t listen_fd, cfx_error_t *err);
 * called on the main thread before the workers start, once per worker with
 * that worker's base and listening socket (owned by the server; closed by
 * it after the workers stop). A module that must stop accepting when the
 * server drains registers a callback with cfx_server_on_drain.
 *
 * Thread-safety: the public fields are read-only once the workers run;
 * manager and metrics are thread-safe. cfx_server_stop may be called from
 * any thread.
 */
#ifndef CFX_SERVE_SERVER_H
#define CFX_SERVE_SERVER_H

#include <event2/event.h>
#include <event2/util.h>

#include "formats/err.h"
#include "serve/config.h"
#include "serve/metrics.h"
#include "serve/model_manager.h"

typedef struct cfx_server_priv cfx_server_priv_t;

typedef struct cfx_server {
    cfx_serve_flags_t opts; /* owned; parsed flags */
    cfx_manager_t *manager; /* owned */
    cfx_metrics_t *metrics; /* owned */
    int grpc_port;          /* bound ports (after cfx_server_run opened them) */
    int rest_port;
    _Atomic int draining; /* 1 once SIGTERM is being handled */
    cfx_server_priv_t *priv;
} cfx_server_t;

/* Called on the worker thread that owns base when draining starts. */
typedef void (*cfx_server_drain_fn)(struct event_base *base, void *arg);

/* Takes over opts (the caller must not free it afterwards). */
int cfx_server_new(cfx_serve_flags_t *opts, cfx_server_t **out,
                   cfx_error_t *err);
void cfx_server_free(cfx_server_t *srv);

/* Loads models (blocking), opens ports, runs workers, handles signals until
 * SIGTERM/SIGINT or cfx_server_stop; returns 0 after a clean drain. */
int cfx_server_run(cfx_server_t *srv, cfx_error_t *err);
/* Starts the drain from any thread. */
void cfx_server_stop(cfx_server_t *srv);

/* Registers fn(base, arg) for the drain (main thread, before workers run). */
int cfx_server_on_drain(cfx_server_t *srv, struct event_base *base,
                        cfx_server_drain_fn fn, void *arg);

/* Sends a message ("READY=1", "RELOADING=1", "STOPPING=1") to
 * $NOTIFY_SOCKET when set; 0 when sent or not under systemd. */
int cfx_server_sd_notify(const char *msg);

#endif

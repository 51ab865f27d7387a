/*
 * server.c: the cfx-serve process (see server.h): startup order, worker
 * threads with one event base each, SO_REUSEPORT listening sockets
 * (after a probe that refuses a port another process listens on),
 * signals, config polling, drain and sd_notify.
 *
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigtimedwait, which also paces config-file polling; so no
 * async-signal-safety concerns anywhere. Draining: each worker is told
 * through an event made active from the main thread; it stops accepting,
 * runs the registered drain callbacks (gRPC sends GOAWAY), keeps answering
 * requests on open connections (with "Connection: close") for a grace
 * period, then leaves its loop.
 */
#include "serve/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/thread.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "serve/grpc.h"
#include "serve/rest.h"

#define MAX_WORKERS 256
#define MAX_DRAIN_HOOKS 16
#define DRAIN_GRACE_MS 1000

typedef struct drain_hook {
    cfx_server_drain_fn fn;
    void *arg;
} drain_hook_t;

typedef struct worker {
    cfx_server_t *srv;
    struct event_base *base;
    struct event *drain_ev;
    cfx_rest_t *rest;
    evutil_socket_t rest_fd;
    evutil_socket_t grpc_fd;
    drain_hook_t hooks[MAX_DRAIN_HOOKS];
    size_t nhooks;
    pthread_t thread;
    int started;
} worker_t;

struct cfx_server_priv {
    worker_t *w;
    size_t nw;
    evutil_socket_t unix_fd; /* --grpc_socket_path, shared by the workers */
    int unix_bound;          /* the socket file is ours to remove */
};

int cfx_server_sd_notify(const char *msg) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
        return CFX_EINVAL;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = 0; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return CFX_EIO;
    socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    ssize_t n =
        sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, sl);
    close(fd);
    return n < 0 ? CFX_EIO : 0;
}

int cfx_server_new(cfx_serve_flags_t *opts, cfx_server_t **out,
                   cfx_error_t *err) {
    int rc = 0;
    cfx_model_list_t models;
    cfx_model_list_init(&models);
    *out = NULL;
    cfx_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        cfx_serve_flags_free(opts);
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    srv->opts = *opts;
    memset(opts, 0, sizeof(*opts));
    srv->priv = calloc(1, sizeof(*srv->priv));
    if (srv->priv)
        srv->priv->unix_fd = -1;
    if (!srv->priv || cfx_metrics_new(&srv->metrics)) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = cfx_serve_flags_models(&srv->opts, &models, err)))
        goto out;
    cfx_manager_options_t mo = {
        .file_system_poll_wait_seconds =
            srv->opts.file_system_poll_wait_seconds,
        .enable_model_warmup = srv->opts.enable_model_warmup,
        .allow_version_labels_for_unavailable_models =
            srv->opts.allow_version_labels_for_unavailable_models,
        .metrics = srv->metrics,
        .model_cache_dir = srv->opts.model_cache_dir,
        .s3_max_version_bytes = srv->opts.s3_max_version_bytes,
    };
    rc = cfx_manager_new(&mo, &models, &srv->manager, err);
out:
    cfx_model_list_free(&models);
    if (rc) {
        cfx_server_free(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

void cfx_server_free(cfx_server_t *srv) {
    if (!srv)
        return;
    cfx_manager_free(srv->manager);
    cfx_metrics_free(srv->metrics);
    if (srv->priv)
        free(srv->priv->w);
    free(srv->priv);
    cfx_serve_flags_free(&srv->opts);
    free(srv);
}

void cfx_server_stop(cfx_server_t *srv) {
    (void)srv;
    kill(getpid(), SIGTERM);
}

int cfx_server_on_drain(cfx_server_t *srv, struct event_base *base,
                        cfx_server_drain_fn fn, void *arg) {
    for (size_t i = 0; i < srv->priv->nw; i++) {
        worker_t *w = &srv->priv->w[i];
        if (w->base != base)
            continue;
        if (w->nhooks == MAX_DRAIN_HOOKS)
            return CFX_ETOOBIG;
        w->hooks[w->nhooks].fn = fn;
        w->hooks[w->nhooks].arg = arg;
        w->nhooks++;
        return 0;
    }
    return CFX_ENOTFOUND;
}

/* A numeric address (IPv4 or IPv6, brackets allowed) into ss; 0 or -1. */
static int parse_bind_address(const char *addr, int port,
                              struct sockaddr_storage *ss, socklen_t *len) {
    char host[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
        addr++;
        n -= 2;
    }
    if (n >= sizeof(host))
        return -1;
    memcpy(host, addr, n);
    host[n] = 0;
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof(*a4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*a6);
        return 0;
    }
    return -1;
}

/* A TCP socket (type_flags: extra socket() type flags) with SO_REUSEADDR,
 * and SO_REUSEPORT when reuseport, bound to port on addr (a numeric
 * address) or, when addr is NULL, on every address: IPv6 dual-stack when
 * possible, else IPv4. Returns the socket with *r the result of bind()
 * (errno set when it failed), or -1 with errno set when no socket could be
 * made. */
static int bind_any(const char *addr, int port, int type_flags, int reuseport,
                    int *r) {
    int one = 1;
    if (addr) {
        struct sockaddr_storage ss;
        socklen_t sl;
        if (parse_bind_address(addr, port, &ss, &sl) != 0) {
            errno = EINVAL;
            return -1;
        }
        int fd =
            socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | type_flags, 0);
        if (fd < 0)
            return -1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reuseport)
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        *r = bind(fd, (struct sockaddr *)&ss, sl);
        return fd;
    }
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | type_flags, 0);
    int v6 = fd >= 0;
    if (!v6)
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | type_flags, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (v6) {
        int zero = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        struct sockaddr_in6 a;
        memset(&a, 0, sizeof(a));
        a.sin6_family = AF_INET6;
        a.sin6_addr = in6addr_any;
        a.sin6_port = htons((uint16_t)port);
        *r = bind(fd, (struct sockaddr *)&a, sizeof(a));
    } else {
        struct sockaddr_in a;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_ANY);
        a.sin_port = htons((uint16_t)port);
        *r = bind(fd, (struct sockaddr *)&a, sizeof(a));
    }
    return fd;
}

/* A listening TCP socket on port (0: any), IPv6 dual-stack when possible,
 * else IPv4; SO_REUSEPORT so each worker gets its own accept queue. */
static int listen_on(const char *addr, int port, int *bound_port,
                     evutil_socket_t *out, cfx_error_t *err) {
    int r;
    int fd = bind_any(addr, port, SOCK_NONBLOCK, 1, &r);
    if (fd < 0)
        return cfx_error_set(err, CFX_EIO, "socket on %s: %s",
                             addr ? addr : "every address", strerror(errno));
    if (r != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        close(fd);
        return cfx_error_set(err, CFX_EIO, "bind/listen on port %d: %s", port,
                             strerror(e));
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *bound_port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    *out = fd;
    return 0;
}

/* Fails when another socket already listens on port (TF Serving refuses
 * to start then). The workers' SO_REUSEPORT sockets would otherwise bind
 * beside any SO_REUSEPORT listener of the same user and the kernel would
 * split connections between the two processes. A probe bound with
 * SO_REUSEADDR but without SO_REUSEPORT gets EADDRINUSE from an active
 * listener, while connections in TIME_WAIT do not stop it. */
static int probe_port(const char *what, const char *addr, int port,
                      cfx_error_t *err) {
    int r;
    int fd = bind_any(addr, port > 0 ? port : 0, 0, 0, &r);
    if (fd < 0)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s bind address \"%s\": %s (expected a numeric "
                             "IPv4 or IPv6 address)",
                             what, addr ? addr : "", strerror(errno));
    int e = errno;
    close(fd);
    if (r != 0)
        return cfx_error_set(err, CFX_EIO,
                             "Failed to bind %s server to %s port %d: %s", what,
                             addr ? addr : "0.0.0.0", port, strerror(e));
    return 0;
}

/* The gRPC unix socket at path, mode 0600 from its creation (umask around
 * bind), a stale socket file from an earlier run replaced; any other file
 * there is an error. */
static int listen_unix(const char *path, evutil_socket_t *out,
                       cfx_error_t *err) {
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path))
        return cfx_error_set(err, CFX_EINVAL,
                             "--grpc_socket_path=%s: longer than %zu bytes",
                             path, sizeof(sa.sun_path) - 1);
    memcpy(sa.sun_path, path, strlen(path));
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return cfx_error_set(err, CFX_EEXIST,
                                 "--grpc_socket_path=%s: exists and is not a "
                                 "socket",
                                 path);
        /* A live server there answers connect: refuse to take its place. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 &&
                   connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (live)
            return cfx_error_set(err, CFX_EIO,
                                 "--grpc_socket_path=%s: another server "
                                 "listens there",
                                 path);
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return cfx_error_set(err, CFX_EIO, "socket: %s", strerror(errno));
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = errno;
    umask(old);
    if (r != 0 || listen(fd, 1024) != 0) {
        e = r != 0 ? e : errno;
        close(fd);
        return cfx_error_set(err, CFX_EIO, "--grpc_socket_path=%s: %s", path,
                             strerror(e));
    }
    *out = fd;
    return 0;
}

static void drain_grace_done(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void on_drain(evutil_socket_t fd, short what, void *arg) {
    worker_t *w = arg;
    (void)fd;
    (void)what;
    cfx_rest_stop_accepting(w->rest);
    for (size_t i = 0; i < w->nhooks; i++)
        w->hooks[i].fn(w->base, w->hooks[i].arg);
    struct timeval tv = {DRAIN_GRACE_MS / 1000, (DRAIN_GRACE_MS % 1000) * 1000};
    event_base_once(w->base, -1, EV_TIMEOUT, drain_grace_done, w->base, &tv);
}

static void *worker_main(void *arg) {
    worker_t *w = arg;
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int ncpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void reload_config(cfx_server_t *srv) {
    cfx_error_t err;
    cfx_error_init(&err);
    if (!srv->opts.model_config_file) {
        cfx_manager_rescan(srv->manager);
        return;
    }
    cfx_model_list_t l;
    int rc = cfx_model_list_load_file(&l, srv->opts.model_config_file, &err);
    if (!rc)
        rc = cfx_manager_reload(srv->manager, &l, &err);
    cfx_model_list_free(&l);
    if (rc)
        fprintf(stderr, "cfx-serve: config reload: %s\n", err.msg);
    else
        fprintf(stderr, "cfx-serve: config reloaded from %s\n",
                srv->opts.model_config_file);
}

static int open_workers(cfx_server_t *srv, cfx_error_t *err) {
    int rc = 0;
    size_t nw = srv->opts.num_threads > 0 ? (size_t)srv->opts.num_threads
                                          : (size_t)ncpus();
    if (nw > MAX_WORKERS)
        nw = MAX_WORKERS;
    srv->priv->w = calloc(nw, sizeof(worker_t));
    if (!srv->priv->w)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    srv->priv->nw = nw;
    int rest_port = srv->opts.rest_api_port, grpc_port = srv->opts.port;
    const char *rest_addr = srv->opts.rest_api_bind_address;
    const char *grpc_addr = srv->opts.grpc_bind_address;
    if (rest_port >= 0 &&
        (rc = probe_port("HTTP/REST", rest_addr, rest_port, err)))
        return rc;
    if ((rc = probe_port("gRPC", grpc_addr, grpc_port, err)))
        return rc;
    if (srv->opts.grpc_socket_path) {
        if ((rc = listen_unix(srv->opts.grpc_socket_path, &srv->priv->unix_fd,
                              err)))
            return rc;
        srv->priv->unix_bound = 1;
    }
    for (size_t i = 0; i < nw; i++) {
        worker_t *w = &srv->priv->w[i];
        w->srv = srv;
        w->rest_fd = w->grpc_fd = -1;
        /* The changelist folds event add/del pairs made within one loop
         * iteration (gRPC's write events) into one epoll_ctl, or none. */
        struct event_config *cfg = event_config_new();
        if (cfg)
            event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        w->base = cfg ? event_base_new_with_config(cfg) : NULL;
        if (cfg)
            event_config_free(cfg);
        if (!w->base)
            return cfx_error_set(err, CFX_ENOMEM, "event_base_new failed");
        w->drain_ev = event_new(w->base, -1, 0, on_drain, w);
        if (!w->drain_ev)
            return cfx_error_set(err, CFX_ENOMEM, "event_new failed");
        if (rest_port >= 0) {
            if ((rc = listen_on(rest_addr, rest_port, &rest_port, &w->rest_fd,
                                err)))
                return cfx_error_prefix(err, "REST");
            rc = cfx_rest_new(srv, w->base, w->rest_fd, &w->rest, err);
            if (rc)
                return rc;
            w->rest_fd = -1; /* owned by the REST server now */
        }
        if ((rc =
                 listen_on(grpc_addr, grpc_port, &grpc_port, &w->grpc_fd, err)))
            return cfx_error_prefix(err, "gRPC");
        if ((rc = cfx_grpc_attach(srv, w->base, w->grpc_fd, err)))
            return rc;
        /* Every worker accepts on the one unix socket too. */
        if (srv->priv->unix_fd >= 0 &&
            (rc = cfx_grpc_attach(srv, w->base, srv->priv->unix_fd, err)))
            return rc;
    }
    srv->rest_port = rest_port;
    srv->grpc_port = grpc_port;
    if (grpc_addr && strchr(grpc_addr, ':') && grpc_addr[0] != '[')
        fprintf(stderr, "cfx-serve: Running gRPC ModelServer at [%s]:%d ...\n",
                grpc_addr, grpc_port);
    else
        fprintf(stderr, "cfx-serve: Running gRPC ModelServer at %s:%d ...\n",
                grpc_addr ? grpc_addr : "0.0.0.0", grpc_port);
    if (srv->opts.grpc_socket_path)
        fprintf(stderr,
                "cfx-serve: Running gRPC ModelServer at UNIX socket %s ...\n",
                srv->opts.grpc_socket_path);
    if (srv->opts.rest_api_port >= 0)
        fprintf(stderr,
                "cfx-serve: Exporting HTTP/REST API at:localhost:%d "
                "...\n",
                rest_port);
    return 0;
}

static void close_workers(cfx_server_t *srv) {
    for (size_t i = 0; i < srv->priv->nw; i++) {
        worker_t *w = &srv->priv->w[i];
        if (w->started)
            pthread_join(w->thread, NULL);
    }
    for (size_t i = 0; i < srv->priv->nw; i++) {
        worker_t *w = &srv->priv->w[i];
        cfx_rest_free(w->rest);
        if (w->drain_ev)
            event_free(w->drain_ev);
        if (w->base)
            event_base_free(w->base);
        if (w->rest_fd >= 0)
            close(w->rest_fd);
        if (w->grpc_fd >= 0)
            close(w->grpc_fd);
    }
    if (srv->priv->unix_fd >= 0) {
        close(srv->priv->unix_fd);
        srv->priv->unix_fd = -1;
    }
    if (srv->priv->unix_bound) {
        unlink(srv->opts.grpc_socket_path);
        srv->priv->unix_bound = 0;
    }
}

/* Running as root: say so, and with --user drop to that user for good
 * (supplementary groups, then gid, then uid, as nginx does) once every
 * socket is bound; the unix socket is handed to the user first. Fails
 * when the drop did not stick (setuid(0) must then fail). */
static int drop_privileges(cfx_server_t *srv, cfx_error_t *err) {
    const char *user = srv->opts.user;
    if (geteuid() != 0) {
        if (!user)
            return 0;
        struct passwd *pw = getpwnam(user);
        if (pw && pw->pw_uid == geteuid())
            return 0; /* already that user */
        return cfx_error_set(err, CFX_EINVAL,
                             "--user=%s: cfx-serve is not running as root, "
                             "it cannot switch users",
                             user);
    }
    if (!user) {
        fprintf(stderr,
                "cfx-serve: WARNING: running as root. A flaw in request "
                "handling would\n"
                "cfx-serve: WARNING: give an attacker the whole machine; "
                "start it as an\n"
                "cfx-serve: WARNING: unprivileged user, or pass "
                "--user=NAME to drop root\n"
                "cfx-serve: WARNING: once the ports are bound "
                "(docs/serving.md, Security).\n");
        return 0;
    }
    struct passwd *pw = getpwnam(user);
    if (!pw)
        return cfx_error_set(err, CFX_ENOTFOUND, "--user=%s: no such user",
                             user);
    if (pw->pw_uid == 0)
        return cfx_error_set(err, CFX_EINVAL,
                             "--user=%s: that user is root; name an "
                             "unprivileged one",
                             user);
    if (srv->priv->unix_bound &&
        chown(srv->opts.grpc_socket_path, pw->pw_uid, pw->pw_gid) != 0)
        return cfx_error_set(err, CFX_EIO, "--grpc_socket_path=%s: chown: %s",
                             srv->opts.grpc_socket_path, strerror(errno));
    /* glibc applies these to every thread of the process. */
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0)
        return cfx_error_set(err, CFX_EIO, "--user=%s: dropping root: %s", user,
                             strerror(errno));
    if (setuid(0) == 0 || seteuid(0) == 0 || getuid() == 0 || geteuid() == 0)
        return cfx_error_set(err, CFX_EINTERNAL,
                             "--user=%s: root could be regained after the "
                             "drop; refusing to serve",
                             user);
    fprintf(stderr, "cfx-serve: dropped root; running as %s (uid %u gid %u)\n",
            user, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
    return 0;
}

/* TF Serving's ServerCore::Create: no port opens until every model is
 * AVAILABLE or one failed, with no time limit, so a server deployed before
 * the first push waits for it. SIGTERM/SIGINT end the wait (*stopped = 1);
 * a SIGHUP stays pending for the serving loop. */
static int wait_models(cfx_server_t *srv, int *stopped, cfx_error_t *err) {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    for (;;) {
        /* 100 ms bounds how long a stop signal waits to be seen. */
        int rc = cfx_manager_wait_initial(srv->manager, 100, err);
        if (rc != CFX_ETIMEOUT)
            return rc;
        struct timespec now = {0, 0};
        int sig = sigtimedwait(&stop, NULL, &now);
        if (sig == SIGTERM || sig == SIGINT) {
            *stopped = 1;
            return 0;
        }
    }
}

int cfx_server_run(cfx_server_t *srv, cfx_error_t *err) {
    int rc = 0;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();

    if ((rc = cfx_manager_start(srv->manager, err)))
        return rc;
    int stopped = 0;
    if ((rc = wait_models(srv, &stopped, err)))
        return rc;
    if (stopped) {
        cfx_server_sd_notify("STOPPING=1");
        fprintf(stderr, "cfx-serve: stopped while waiting for models to "
                        "become available\n");
        return 0;
    }
    if ((rc = open_workers(srv, err)))
        goto out;
    if ((rc = drop_privileges(srv, err)))
        goto out;
    for (size_t i = 0; i < srv->priv->nw; i++) {
        worker_t *w = &srv->priv->w[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            rc = cfx_error_set(err, CFX_EINTERNAL, "pthread_create failed");
            srv->draining = 1;
            for (size_t k = 0; k < i; k++)
                event_active(srv->priv->w[k].drain_ev, 0, 0);
            goto out;
        }
        w->started = 1;
    }
    cfx_server_sd_notify("READY=1");

    time_t last_poll = time(NULL);
    struct stat cst;
    struct timespec cfg_mtime = {0, 0};
    if (srv->opts.model_config_file &&
        stat(srv->opts.model_config_file, &cst) == 0)
        cfg_mtime = cst.st_mtim;
    for (;;) {
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP) {
            cfx_server_sd_notify("RELOADING=1");
            reload_config(srv);
            cfx_server_sd_notify("READY=1");
            continue;
        }
        int every = srv->opts.model_config_file_poll_wait_seconds;
        if (every > 0 && srv->opts.model_config_file &&
            time(NULL) - last_poll >= every) {
            last_poll = time(NULL);
            if (stat(srv->opts.model_config_file, &cst) == 0 &&
                (cst.st_mtim.tv_sec != cfg_mtime.tv_sec ||
                 cst.st_mtim.tv_nsec != cfg_mtime.tv_nsec)) {
                cfg_mtime = cst.st_mtim;
                reload_config(srv);
            }
        }
    }
    cfx_server_sd_notify("STOPPING=1");
    fprintf(stderr, "cfx-serve: draining\n");
    srv->draining = 1;
    for (size_t i = 0; i < srv->priv->nw; i++)
        event_active(srv->priv->w[i].drain_ev, 0, 0);
out:
    close_workers(srv);
    return rc;
}

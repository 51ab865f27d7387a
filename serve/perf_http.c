/*
 * perf_http.c: HTTP/1.1 keep-alive client connection for `cfx perf` (see
 * perf_http.h). The response parser looks only at the status line,
 * Content-Length and Transfer-Encoding.
 */
#include "serve/perf_http.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#define HEADER_MAX (64 * 1024)

struct cfx_http1c {
    struct bufferevent *bev;
    cfx_http1c_done_fn done;
    void *ud;
    size_t max_body;
    int busy;
    int dead;
    /* current response */
    int status;
    long long need; /* body bytes still expected; -1 = in headers */
};

int cfx_perf_connect(const char *host, int port, cfx_error_t *err)
{
    struct addrinfo hints, *res = NULL;
    char ps[16];
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    snprintf(ps, sizeof(ps), "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0)
        return cfx_error_set(err, CFX_ENOTFOUND, "%s: %s", host,
                             gai_strerror(rc));
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return cfx_error_set(err, CFX_EUNAVAILABLE, "cannot connect to %s:%d",
                             host, port);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void fail_conn(cfx_http1c_t *c)
{
    int was_busy = c->busy;
    c->dead = 1;
    c->busy = 0;
    if (was_busy)
        c->done(c->ud, c, 0, NULL, 0);
}

/* Parses the header block in [p, p+n); sets status and need. */
static int parse_headers(cfx_http1c_t *c, const char *p, size_t n)
{
    if (n < 12 || strncmp(p, "HTTP/1.", 7) != 0)
        return -1;
    c->status = atoi(p + 9);
    c->need = -2; /* no Content-Length seen */
    const char *end = p + n;
    const char *line = memchr(p, '\n', n);
    while (line && line + 1 < end) {
        line++;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        if ((size_t)(eol - line) > 15 && strncasecmp(line, "content-length:", 15) == 0)
            c->need = atoll(line + 15);
        else if ((size_t)(eol - line) > 18 &&
                 strncasecmp(line, "transfer-encoding:", 18) == 0)
            return -1;
        line = eol;
    }
    return c->need < 0 ? -1 : 0;
}

static void conn_read(struct bufferevent *bev, void *arg)
{
    cfx_http1c_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        if (!c->busy) {
            /* Unsolicited bytes: a broken peer. */
            if (evbuffer_get_length(in) > 0)
                fail_conn(c);
            return;
        }
        if (c->need < 0) {
            struct evbuffer_ptr e = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (e.pos < 0) {
                if (evbuffer_get_length(in) > HEADER_MAX)
                    fail_conn(c);
                return;
            }
            size_t hl = (size_t)e.pos + 4;
            const char *h = (const char *)evbuffer_pullup(in, (ev_ssize_t)hl);
            if (parse_headers(c, h, hl) != 0) {
                fail_conn(c);
                return;
            }
            evbuffer_drain(in, hl);
        }
        size_t have = evbuffer_get_length(in);
        if ((long long)have < c->need)
            return;
        size_t n = (size_t)c->need;
        const uint8_t *body = n ? evbuffer_pullup(in, (ev_ssize_t)n) : NULL;
        c->busy = 0;
        c->need = -1;
        int status = c->status;
        c->done(c->ud, c, status, body, n <= c->max_body ? n : 0);
        evbuffer_drain(in, n);
        if (c->dead)
            return;
    }
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    cfx_http1c_t *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        fail_conn(c);
}

int cfx_http1c_new(struct event_base *base, evutil_socket_t fd,
                   cfx_http1c_done_fn done, void *ud, size_t max_body,
                   cfx_http1c_t **out, cfx_error_t *err)
{
    cfx_http1c_t *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c) {
        evutil_closesocket(fd);
        return cfx_error_set(err, CFX_ENOMEM, "http client");
    }
    evutil_make_socket_nonblocking(fd);
    c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(fd);
        free(c);
        return cfx_error_set(err, CFX_ENOMEM, "http client: bufferevent");
    }
    c->done = done;
    c->ud = ud;
    c->max_body = max_body;
    c->need = -1;
    bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    *out = c;
    return 0;
}

void cfx_http1c_free(cfx_http1c_t *c)
{
    if (!c)
        return;
    bufferevent_free(c->bev);
    free(c);
}

int cfx_http1c_send(cfx_http1c_t *c, const uint8_t *req, size_t len)
{
    if (c->busy || c->dead)
        return CFX_ESTATE;
    c->busy = 1;
    c->need = -1;
    if (bufferevent_write(c->bev, req, len) != 0) {
        c->busy = 0;
        c->dead = 1;
        return CFX_EIO;
    }
    return 0;
}

int cfx_http1c_dead(const cfx_http1c_t *c)
{
    return c->dead;
}

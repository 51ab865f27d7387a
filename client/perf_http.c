/*
 * perf_http.c: HTTP/1.1 keep-alive client connection for `cfx perf` (see
 * perf_http.h). The response parser looks only at the status line,
 * Content-Length and Transfer-Encoding.
 *
 * Lean on system calls, because the client's cost is part of what a load
 * generator measures: a persistent read event (no epoll_ctl per request),
 * recv into a per-connection buffer, send straight from the caller's bytes,
 * and a write event only when the socket is full. A request costs one send
 * and one recv plus a share of epoll_wait, as in wrk.
 */
#include "client/perf_http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEADER_MAX (64 * 1024)
#define IN_CHUNK (16 * 1024)

struct cfx_http1c {
    evutil_socket_t fd;
    struct event *rev; /* persistent */
    struct event *wev; /* pending only while out has unsent bytes */
    cfx_http1c_done_fn done;
    void *ud;
    size_t max_body;
    int busy;
    int dead;
    int broken; /* a send failed: fail on the next read event */
    /* current response */
    int status;
    long long need; /* body bytes still expected; -1 = in headers */
    long long skip; /* body bytes over max_body still to drop */
    uint8_t *in;
    size_t in_len, in_cap;
    uint8_t *out; /* unsent rest of the request */
    size_t out_len, out_off, out_cap;
};

int cfx_perf_connect(const char *host, int port, cfx_error_t *err) {
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

static void fail_conn(cfx_http1c_t *c) {
    int was_busy = c->busy;
    c->dead = 1;
    c->busy = 0;
    if (c->rev)
        event_del(c->rev);
    if (c->wev)
        event_del(c->wev);
    if (was_busy)
        c->done(c->ud, c, 0, NULL, 0); /* may free c */
}

/* Parses the header block in [p, p+n); sets status and need. */
static int parse_headers(cfx_http1c_t *c, const char *p, size_t n) {
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
        if ((size_t)(eol - line) > 15 &&
            strncasecmp(line, "content-length:", 15) == 0)
            c->need = atoll(line + 15);
        else if ((size_t)(eol - line) > 18 &&
                 strncasecmp(line, "transfer-encoding:", 18) == 0)
            return -1;
        line = eol;
    }
    return c->need < 0 ? -1 : 0;
}

/* Hands the complete responses in c->in to the callback; returns -1 when
 * the connection failed (c may be freed), else 0. */
static int consume(cfx_http1c_t *c) {
    size_t off = 0;
    int rc = 0;
    while (off < c->in_len) {
        if (!c->busy) { /* unsolicited bytes: a broken peer */
            fail_conn(c);
            return -1;
        }
        if (c->need < 0 && c->skip == 0) {
            const uint8_t *e =
                memmem(c->in + off, c->in_len - off, "\r\n\r\n", 4);
            if (!e) {
                if (c->in_len - off > HEADER_MAX) {
                    fail_conn(c);
                    return -1;
                }
                break;
            }
            size_t hl = (size_t)(e - (c->in + off)) + 4;
            if (parse_headers(c, (const char *)c->in + off, hl) != 0) {
                fail_conn(c);
                return -1;
            }
            off += hl;
            if ((unsigned long long)c->need > c->max_body) {
                c->skip = c->need; /* read and drop */
                c->need = -1;
            }
        }
        size_t avail = c->in_len - off;
        const uint8_t *body = NULL;
        size_t n = 0;
        if (c->skip > 0) {
            size_t d = avail < (size_t)c->skip ? avail : (size_t)c->skip;
            off += d;
            c->skip -= (long long)d;
            if (c->skip > 0)
                break;
        } else {
            if ((long long)avail < c->need)
                break;
            n = (size_t)c->need;
            body = n ? c->in + off : NULL;
            off += n;
        }
        c->busy = 0;
        c->need = -1;
        /* The callback may send the next request (which does not touch
         * c->in); it frees c only on status 0, never here. */
        c->done(c->ud, c, c->status, body, n);
        if (c->dead) {
            rc = -1;
            break;
        }
    }
    if (off > 0 && rc == 0) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    return rc;
}

static void on_read(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    cfx_http1c_t *c = arg;
    if (c->broken) {
        fail_conn(c);
        return;
    }
    for (;;) {
        if (c->in_cap - c->in_len < IN_CHUNK / 2) {
            /* Bound: a header block plus a kept body plus one chunk. */
            size_t cap = c->in_cap ? c->in_cap * 2 : IN_CHUNK;
            if (cap > HEADER_MAX + c->max_body + IN_CHUNK) {
                fail_conn(c);
                return;
            }
            uint8_t *p = realloc(c->in, cap);
            if (!p) {
                fail_conn(c);
                return;
            }
            c->in = p;
            c->in_cap = cap;
        }
        size_t room = c->in_cap - c->in_len;
        ssize_t n = recv(fd, c->in + c->in_len, room, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            if (consume(c) != 0)
                return;
            if ((size_t)n < room)
                return; /* drained: wait for the next read event */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        fail_conn(c); /* EOF or error */
        return;
    }
}

/* Sends what it can of [p, p+len); keeps the rest and arms the write
 * event. Returns -1 on a broken socket. */
static int push(cfx_http1c_t *c, const uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return -1;
    }
    if (len == 0)
        return 0;
    if (c->out_cap < len) {
        uint8_t *q = realloc(c->out, len);
        if (!q)
            return -1;
        c->out = q;
        c->out_cap = len;
    }
    memmove(c->out, p, len); /* p may point into c->out */
    c->out_off = 0;
    c->out_len = len;
    return event_add(c->wev, NULL) == 0 ? 0 : -1;
}

static void on_write(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    cfx_http1c_t *c = arg;
    size_t len = c->out_len - c->out_off;
    c->out_len = c->out_off = 0;
    if (push(c, c->out + c->out_off, len) != 0) {
        c->broken = 1;
        event_active(c->rev, EV_READ, 0);
    }
}

int cfx_http1c_new(struct event_base *base, evutil_socket_t fd,
                   cfx_http1c_done_fn done, void *ud, size_t max_body,
                   cfx_http1c_t **out, cfx_error_t *err) {
    cfx_http1c_t *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c) {
        evutil_closesocket(fd);
        return cfx_error_set(err, CFX_ENOMEM, "http client");
    }
    evutil_make_socket_nonblocking(fd);
    c->fd = fd;
    c->done = done;
    c->ud = ud;
    c->max_body = max_body;
    c->need = -1;
    c->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(base, fd, EV_WRITE, on_write, c);
    if (!c->rev || !c->wev || event_add(c->rev, NULL) != 0) {
        cfx_http1c_free(c);
        return cfx_error_set(err, CFX_ENOMEM, "http client: events");
    }
    *out = c;
    return 0;
}

void cfx_http1c_free(cfx_http1c_t *c) {
    if (!c)
        return;
    if (c->rev)
        event_free(c->rev);
    if (c->wev)
        event_free(c->wev);
    evutil_closesocket(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

int cfx_http1c_send(cfx_http1c_t *c, const uint8_t *req, size_t len) {
    if (c->busy || c->dead)
        return CFX_ESTATE;
    c->busy = 1;
    c->need = -1;
    c->skip = 0;
    if (push(c, req, len) != 0) {
        /* Reported through the callback, from the event loop. */
        c->broken = 1;
        event_active(c->rev, EV_READ, 0);
    }
    return 0;
}

int cfx_http1c_dead(const cfx_http1c_t *c) {
    return c->dead;
}

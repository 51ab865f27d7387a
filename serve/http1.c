/*
 * http1.c: the HTTP/1.1 server of cfx-serve's REST port (see http1.h).
 *
 * A connection owns an input buffer (bytes read, possibly several
 * pipelined requests) and an output buffer (answers not yet written). Its
 * read event is persistent with the idle timeout, so libevent re-arms the
 * timeout itself on activity and epoll is touched only at connect, close,
 * and when a write would block. The request head is parsed in place: the
 * header names and values are NUL-terminated inside the input buffer.
 *
 * The idle timeout is re-armed by every byte, so on its own it lets a
 * client that trickles a request hold a connection for ever. A second,
 * total limit (request_read_timeout_seconds) starts when the first byte of
 * a request arrives and is not moved by later bytes; it is a timer only
 * (no system call), armed only while a request is partly received, and
 * its expiry answers 408 and closes.
 *
 * Request framing (RFC 9112 §6): a Content-Length body is handed to the
 * handler in place, once all of it is in the input; this is the hot path
 * and it copies nothing. A chunked body ("Transfer-Encoding: chunked") is
 * decoded as it arrives (http1_chunked.c) into a per-connection buffer,
 * consuming the input, so its framing never has to be re-read; the
 * handler then gets the decoded bytes like any other body. Any other
 * Transfer-Encoding, or one beside a Content-Length, leaves the body's
 * length unknown: 400 (501 for a coding we do not decode) and close.
 */
#include "serve/http1.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "formats/buf.h"
#include "serve/http1_chunked.h"
#include "serve/tls.h"

#define READ_CHUNK 16384
#define OUT_HIGH_WATER (1u << 20) /* stop reading while this much is unsent */
/* A decoded chunked body buffer larger than this is freed after its
 * request, so an idle connection does not keep it. */
#define CHUNKED_KEEP (1u << 20)

/* The request whose chunked body is being received. Allocated on a
 * connection's first chunked request, so other connections carry only a
 * pointer. */
typedef struct chunked_req {
    cfx_http1_req_t req; /* its names and values point into conn->head */
    cfx_http1_chunked_t dec;
    cfx_buf_t body; /* decoded so far */
    int http10;
} chunked_req_t;

/* The TLS side of a connection on a TLS port (the TLS section below). */
typedef struct tls_conn {
    SSL *ssl;
    int handshaken;
    int read_wants_write; /* SSL_read or the handshake waits for the socket
                             to take bytes: the write event resumes it */
    int write_wants_read; /* SSL_write waits for bytes from the peer: the
                             read event resumes it */
    int failed;           /* a fatal TLS error: no close_notify */
} tls_conn_t;

typedef struct cfx_http1_conn {
    cfx_http1_t *h;
    evutil_socket_t fd;
    struct event *rev; /* EV_READ | EV_PERSIST, idle timeout */
    struct event *wev; /* EV_WRITE | EV_PERSIST, armed when output blocks */
    struct event *tev; /* request read deadline, armed while a request is
                          partly received */
    cfx_buf_t in;
    size_t in_off; /* first byte not consumed */
    cfx_buf_t out;
    size_t out_off;
    cfx_buf_t head;  /* copy of the current request head, parsed in place */
    int closing;     /* close once the output is written */
    int reading;     /* rev is armed */
    int counted;     /* counted against max_connections */
    int rejected;    /* over the connection limit: 503 and close */
    int continued;   /* "100 Continue" sent for the current request */
    int keepalive10; /* the current request is HTTP/1.0 with keep-alive */
    int timing;      /* tev is armed */
    int in_chunked;  /* a chunked body is being received (chunked->req) */
    chunked_req_t *chunked; /* NULL until the first chunked request */
    tls_conn_t *tls;        /* NULL on a plain port */
    unsigned long served;   /* requests handled, to see when one ends */
    int first;              /* nothing received yet: the read event runs
                               with the first-byte timeout */
    int peer_counted;       /* counted in the per-address table */
    int peer_verified;      /* TLS: a client certificate was verified;
                               the TLS layer sets it after its handshake,
                               requests carry it (cfx_http1_req_t) */
    uint8_t addr[16];       /* client address, IPv4 as ::ffff:a.b.c.d */
    char peer[INET6_ADDRSTRLEN];
    struct cfx_http1_conn *prev, *next;
} conn_t;

struct cfx_http1 {
    struct event_base *base;
    evutil_socket_t listen_fd;
    struct event *lev;
    cfx_http1_options_t opts;
    cfx_http1_handler_fn handler;
    void *arg;
    cfx_tls_t *tls; /* NULL: plain TCP */
    conn_t *conns;  /* doubly linked, newest first */
    conn_t *tail;   /* the oldest */
    int draining;
    struct timeval idle;       /* {0,0}: none */
    struct timeval req_limit;  /* {0,0}: none */
    struct timeval first_byte; /* {0,0}: the idle timeout applies */
    time_t date_at;
    char date[40]; /* "Date: ...\r\n", refreshed once a second */
    int freeing;   /* the loop will not run again: close sockets now */
};

static const char *reason(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 499:
        return "Client Closed Request";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

static const char *date_line(cfx_http1_t *h) {
    time_t now = time(NULL);
    if (now != h->date_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(h->date, sizeof(h->date),
                 "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        h->date_at = now;
    }
    return h->date;
}

/* ---- connections per client address --------------------------------------
 *
 * One table for the process (every worker's instances share it, as they
 * share the connection counter): accept and close only, under a mutex,
 * and only when a per-client limit is set. An entry lives while its
 * address has a connection, so the table is bounded by max_connections.
 */

typedef struct peer_count {
    uint8_t addr[16];
    long n;
    struct peer_count *next;
} peer_count_t;

#define PEER_BUCKETS 4096
static pthread_mutex_t g_peers_mu = PTHREAD_MUTEX_INITIALIZER;
static peer_count_t *g_peers[PEER_BUCKETS];

static size_t peer_bucket(const uint8_t a[16]) {
    uint32_t x = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        x = (x ^ a[i]) * 16777619u;
    return x % PEER_BUCKETS;
}

/* Counts a connection from a; 0 when that would exceed max. */
static int peer_acquire(const uint8_t a[16], long max) {
    int ok = 0;
    pthread_mutex_lock(&g_peers_mu);
    peer_count_t **slot = &g_peers[peer_bucket(a)], *e = *slot;
    while (e && memcmp(e->addr, a, 16) != 0)
        e = e->next;
    if (!e && (e = calloc(1, sizeof(*e))) != NULL) {
        memcpy(e->addr, a, 16);
        e->next = *slot;
        *slot = e;
    }
    if (e && e->n < max) {
        e->n++;
        ok = 1;
    }
    pthread_mutex_unlock(&g_peers_mu);
    return ok;
}

static void peer_release(const uint8_t a[16]) {
    pthread_mutex_lock(&g_peers_mu);
    peer_count_t **slot = &g_peers[peer_bucket(a)];
    while (*slot && memcmp((*slot)->addr, a, 16) != 0)
        slot = &(*slot)->next;
    if (*slot && --(*slot)->n <= 0) {
        peer_count_t *e = *slot;
        *slot = e->next;
        free(e);
    }
    pthread_mutex_unlock(&g_peers_mu);
}

/* ---- connections ----------------------------------------------------------
 */

static void close_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    evutil_closesocket((evutil_socket_t)(intptr_t)arg);
}

/*
 * Closes a socket whose events were just deleted. The workers' bases batch
 * epoll changes (EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST, server.c) and apply
 * them at the start of the next loop pass: closing now would leave that
 * epoll_ctl to a closed descriptor number that another worker's accept may
 * already have reused. epoll copes (the call fails harmlessly), but it is
 * an unordered use of one fd by two threads (ThreadSanitizer reports it).
 * So the connection ends now (shutdown: the peer reads what was sent, then
 * end of file) and the number is released 10 ms later, after the change
 * (a much shorter timer would spin the loop on libevent's coarse clock).
 */
static void close_socket_later(cfx_http1_t *h, evutil_socket_t fd) {
    static const struct timeval later = {0, 10000};
    shutdown(fd, SHUT_RDWR);
    if (h->freeing || event_base_once(h->base, -1, EV_TIMEOUT, close_cb,
                                      (void *)(intptr_t)fd, &later) != 0)
        evutil_closesocket(fd);
}

/* Ends the TLS session: close_notify when the session is sound (one
 * non-blocking try; the socket closes right after either way). */
static void tls_conn_free(tls_conn_t *t) {
    if (t->ssl) {
        if (t->handshaken && !t->failed)
            SSL_shutdown(t->ssl);
        SSL_free(t->ssl);
        ERR_clear_error();
    }
    free(t);
}

static void conn_close(conn_t *c) {
    cfx_http1_t *h = c->h;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (h->tail == c)
        h->tail = c->prev;
    if (c->counted && h->opts.connections)
        atomic_fetch_sub(h->opts.connections, 1);
    if (c->peer_counted)
        peer_release(c->addr);
    event_free(c->rev);
    event_free(c->wev);
    if (c->tev)
        event_free(c->tev);
    if (c->tls)
        tls_conn_free(c->tls);
    close_socket_later(h, c->fd);
    cfx_buf_free(&c->in);
    cfx_buf_free(&c->out);
    cfx_buf_free(&c->head);
    if (c->chunked) {
        cfx_buf_free(&c->chunked->body);
        free(c->chunked);
    }
    free(c);
}

static void set_reading(conn_t *c, int on) {
    if (on && !c->reading)
        event_add(c->rev, c->h->idle.tv_sec ? &c->h->idle : NULL);
    else if (!on && c->reading)
        event_del(c->rev);
    c->reading = on;
}

/* A fatal TLS error (or a peer gone): close without close_notify. */
static void tls_fail(conn_t *c) {
    c->tls->failed = 1;
    ERR_clear_error();
    conn_close(c);
}

/* flush over TLS: SSL_write takes what send() would (partial writes on,
 * and the output buffer may move between retries, which only append). */
static int flush_tls(conn_t *c) {
    tls_conn_t *t = c->tls;
    ERR_clear_error(); /* SSL_get_error reads this thread's queue */
    while (c->out_off < c->out.len) {
        size_t len = c->out.len - c->out_off;
        int n = SSL_write(t->ssl, c->out.data + c->out_off,
                          len > (1u << 30) ? (1 << 30) : (int)len);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE) {
            event_add(c->wev, NULL);
            if (c->out.len - c->out_off > OUT_HIGH_WATER)
                set_reading(c, 0);
            return 0;
        }
        if (e == SSL_ERROR_WANT_READ) {
            t->write_wants_read = 1;
            set_reading(c, 1);
            return 0;
        }
        tls_fail(c);
        return -1;
    }
    c->out.len = c->out_off = 0;
    if (!t->read_wants_write)
        event_del(c->wev);
    if (c->closing) {
        conn_close(c);
        return -1;
    }
    return 0;
}

/* Writes what is pending; 0, or -1 when the connection was closed. */
static int flush(conn_t *c) {
    if (c->tls)
        return flush_tls(c);
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off,
                         c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            event_add(c->wev, NULL);
            if (c->out.len - c->out_off > OUT_HIGH_WATER)
                set_reading(c, 0);
            return 0;
        }
        if (n < 0 && errno == EINTR)
            continue;
        conn_close(c);
        return -1;
    }
    c->out.len = c->out_off = 0;
    event_del(c->wev);
    if (c->closing) {
        conn_close(c);
        return -1;
    }
    return 0;
}

/* Appends v in decimal (the head is built without printf: it is on every
 * answer's path). */
static void append_uint(cfx_buf_t *b, size_t v) {
    char t[24];
    size_t n = sizeof(t);
    do {
        t[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    cfx_buf_append(b, t + n, sizeof(t) - n);
}

static void append_str(cfx_buf_t *b, const char *s) {
    cfx_buf_append(b, s, strlen(s));
}

static void append_head(conn_t *c, int status, const char *ctype, size_t len,
                        const char *extra, int close) {
    append_str(&c->out, "HTTP/1.1 ");
    append_uint(&c->out, (size_t)status);
    cfx_buf_putc(&c->out, ' ');
    append_str(&c->out, reason(status));
    append_str(&c->out, "\r\n");
    append_str(&c->out, date_line(c->h));
    append_str(&c->out, "Content-Length: ");
    append_uint(&c->out, len);
    append_str(&c->out, "\r\n");
    if (ctype) {
        append_str(&c->out, "Content-Type: ");
        append_str(&c->out, ctype);
        append_str(&c->out, "\r\n");
    }
    if (extra)
        cfx_buf_append(&c->out, extra, strlen(extra));
    if (close)
        cfx_buf_append(&c->out, "Connection: close\r\n", 19);
    else if (c->keepalive10)
        cfx_buf_append(&c->out, "Connection: keep-alive\r\n", 24);
    cfx_buf_append(&c->out, "\r\n", 2);
}

/* An answer the server gives by itself (bad syntax, limits). */
static void reply_plain(conn_t *c, int status, const char *text, int close) {
    append_head(c, status, "text/plain", strlen(text), NULL, close);
    cfx_buf_append(&c->out, text, strlen(text));
    if (close)
        c->closing = 1;
}

void cfx_http1_reply(cfx_http1_req_t *req, int status, const char *ctype,
                     const char *extra_headers, const void *body, size_t len,
                     int close) {
    conn_t *c = req->conn;
    if (req->replied)
        return;
    req->replied = 1;
    close = close || c->h->draining || c->rejected || c->closing;
    append_head(c, status, ctype, len, extra_headers, close);
    if (len && strcmp(req->method, "HEAD") != 0) /* HEAD: no body */
        cfx_buf_append(&c->out, body, len);
    if (close)
        c->closing = 1;
}

const char *cfx_http1_header(const cfx_http1_req_t *req, const char *name) {
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->hname[i], name) == 0)
            return req->hvalue[i];
    return NULL;
}

/* Byte classes of the head parser, one table lookup per byte: tchar (RFC
 * 9110 §5.6.2) for names and methods; field-value bytes (§5.5: VCHAR,
 * obs-text, SP, HTAB; so no NUL, no bare CR or LF, no other control
 * character). Filled once, before any connection (cfx_http1_new). */
enum { C_TCHAR = 1, C_VALUE = 2 };
static uint8_t byte_class[256];
static pthread_once_t byte_class_once = PTHREAD_ONCE_INIT;

static void byte_class_init(void) {
    static const char extra[] = "!#$%&'*+-.^_`|~";
    for (int ch = 0; ch < 256; ch++) {
        int t = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                (ch >= '0' && ch <= '9') ||
                (ch && memchr(extra, ch, sizeof(extra) - 1));
        int v = ch >= 0x20 ? ch != 0x7f : ch == '\t';
        byte_class[ch] = (uint8_t)((t ? C_TCHAR : 0) | (v ? C_VALUE : 0));
    }
}

static int is_token(const char *s) {
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(byte_class[(unsigned char)*s] & C_TCHAR))
            return 0;
    return 1;
}

static int is_field_value(const char *s) {
    for (; *s; s++)
        if (!(byte_class[(unsigned char)*s] & C_VALUE))
            return 0;
    return 1;
}

/* A request-target: visible ASCII only (RFC 9112 §3.2). */
static int is_target(const char *s) {
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

/* Content-Length = 1*DIGIT (RFC 9110 §8.6); *v; 0 when malformed or
 * beyond 19 digits. */
static int parse_content_length(const char *s, unsigned long long *v) {
    size_t n = 0;
    unsigned long long x = 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n == 19)
            return 0;
        x = x * 10 + (unsigned long long)(s[n] - '0');
    }
    *v = x;
    return n > 0;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = 0;
    return s;
}

/* Sends "100 Continue" while req's body is incomplete, once, if asked. */
static void maybe_continue(conn_t *c, const cfx_http1_req_t *req) {
    const char *expect = cfx_http1_header(req, "Expect");
    if (expect && !strcasecmp(expect, "100-continue") && !c->continued) {
        cfx_buf_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        c->continued = 1;
    }
}

/* Hands a complete request (body set) to the handler. */
static void dispatch(conn_t *c, cfx_http1_req_t *req, int http10) {
    cfx_http1_t *h = c->h;
    const char *conn_hdr = cfx_http1_header(req, "Connection");
    int close = http10 ? !(conn_hdr && !strcasecmp(conn_hdr, "keep-alive"))
                       : (conn_hdr && !strcasecmp(conn_hdr, "close"));
    if (close)
        c->closing = 1; /* before the handler, so its answer says so */
    c->keepalive10 = http10 && !close;
    c->continued = 0;
    c->served++;
    req->over_limit = c->rejected;
    h->handler(req, h->arg);
    if (!req->replied)
        cfx_http1_reply(req, 500, "text/plain", NULL, "no answer\n", 10, 1);
}

/* Equal, ignoring case, to the n bytes at s. */
static int token_is(const char *s, size_t n, const char *word) {
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/*
 * Checks the Transfer-Encoding of req against RFC 9112 §6.1 and §6.3: 0
 * when its body is chunked (the only coding decoded here), else the status
 * to answer with *why. Every Transfer-Encoding line counts (they form one
 * list); empty list elements are skipped.
 */
static int check_transfer_encoding(const cfx_http1_req_t *req, int http10,
                                   const char **why) {
    if (http10) {
        *why = "Transfer-Encoding in an HTTP/1.0 request\n";
        return 400;
    }
    if (cfx_http1_header(req, "Content-Length")) {
        *why = "both Transfer-Encoding and Content-Length\n";
        return 400;
    }
    size_t codings = 0, chunked = 0;
    int last_chunked = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->hname[i], "Transfer-Encoding") != 0)
            continue;
        for (const char *p = req->hvalue[i]; *p;) {
            const char *e = strchr(p, ',');
            if (!e)
                e = p + strlen(p);
            const char *a = p, *b = e;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            if (a < b) {
                codings++;
                last_chunked = token_is(a, (size_t)(b - a), "chunked");
                chunked += (size_t)last_chunked;
            }
            p = *e ? e + 1 : e;
        }
    }
    if (!last_chunked || chunked != 1) {
        /* Without chunked once and last the body has no known end. */
        *why = "Transfer-Encoding must end in a single chunked\n";
        return 400;
    }
    if (codings != 1) {
        *why = "only the chunked transfer coding is supported\n";
        return 501;
    }
    return 0;
}

/* Receives the chunked body of c->chunked->req from the input; returns as
 * process_one. */
static int process_chunked(conn_t *c) {
    static const uint8_t empty[1];
    chunked_req_t *k = c->chunked;
    size_t used = 0;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc =
        cfx_http1_chunked_decode(&k->dec, c->in.data + c->in_off,
                                 c->in.len - c->in_off, &k->body, &used, &err);
    c->in_off += used;
    if (rc < 0) {
        /* The framing is lost: nothing after this can be read. */
        char text[CFX_ERROR_MSG_MAX + 2];
        snprintf(text, sizeof(text), "%s\n", err.msg);
        c->in_chunked = 0;
        reply_plain(c, cfx_http1_chunked_status(&k->dec), text, 1);
        return -1;
    }
    if (rc == 0) {
        maybe_continue(c, &k->req);
        return 0;
    }
    c->in_chunked = 0;
    k->req.body = k->body.len ? k->body.data : empty;
    k->req.body_len = k->body.len;
    dispatch(c, &k->req, k->http10);
    if (k->body.cap > CHUNKED_KEEP)
        cfx_buf_free(&k->body);
    return c->closing ? -1 : 1;
}

/* req's head (head_len bytes of input) says Transfer-Encoding: check it,
 * consume the head and start receiving the body; returns as process_one. */
static int start_chunked(conn_t *c, const cfx_http1_req_t *req, int http10,
                         size_t head_len) {
    const char *why = NULL;
    int status = check_transfer_encoding(req, http10, &why);
    if (status) {
        reply_plain(c, status, why, 1);
        return -1;
    }
    if (!c->chunked) {
        c->chunked = calloc(1, sizeof(*c->chunked));
        if (!c->chunked) {
            reply_plain(c, 500, "out of memory\n", 1);
            return -1;
        }
        cfx_buf_init(&c->chunked->body);
    }
    chunked_req_t *k = c->chunked;
    k->req = *req; /* the head copy stays put until this request ends */
    k->http10 = http10;
    cfx_http1_chunked_init(&k->dec, c->h->opts.max_body_bytes,
                           c->h->opts.max_header_bytes);
    cfx_buf_reset(&k->body);
    c->in_off += head_len;
    c->in_chunked = 1;
    return process_chunked(c);
}

/*
 * Handles the request at the front of the input, if complete. Returns 1
 * when one was consumed (call again), 0 when more bytes are needed, -1
 * when the connection is done (closing).
 */
static int process_one(conn_t *c) {
    cfx_http1_t *h = c->h;
    if (c->in_chunked)
        return process_chunked(c);
    char *start = (char *)c->in.data + c->in_off;
    size_t avail = c->in.len - c->in_off;
    /* Tolerate empty lines between requests (RFC 9112 §2.2). */
    while (avail >= 2 && start[0] == '\r' && start[1] == '\n') {
        start += 2;
        avail -= 2;
        c->in_off += 2;
    }
    if (avail == 0)
        return 0;
    char *end = memmem(start, avail, "\r\n\r\n", 4);
    if (!end) {
        if (avail > h->opts.max_header_bytes) {
            reply_plain(c, 431, "request header too large\n", 1);
            return -1;
        }
        return 0;
    }
    size_t head_len = (size_t)(end - start) + 4;
    if (head_len > h->opts.max_header_bytes) {
        reply_plain(c, 431, "request header too large\n", 1);
        return -1;
    }
    cfx_http1_req_t req;
    memset(&req, 0, sizeof(req));
    req.conn = c;
    req.peer = c->peer;
    req.peer_verified = c->peer_verified;
    /* A NUL would end the in-place parse early and hide what follows. */
    if (memchr(start, 0, head_len)) {
        reply_plain(c, 400, "NUL byte in the request head\n", 1);
        return -1;
    }
    /* Parse a copy of the head (NUL-terminating in place), so the input
     * stays intact while the body is still arriving. */
    cfx_buf_reset(&c->head);
    if (cfx_buf_append(&c->head, start, head_len) || cfx_buf_cstr(&c->head)) {
        reply_plain(c, 500, "out of memory\n", 1);
        return -1;
    }
    char *hs = (char *)c->head.data;
    end = hs + head_len - 4;
    *end = 0;
    char *line_end = strstr(hs, "\r\n");
    if (line_end)
        *line_end = 0;
    char *method = hs, *sp1 = strchr(method, ' ');
    char *target = sp1 ? sp1 + 1 : NULL;
    char *sp2 = target ? strchr(target, ' ') : NULL;
    if (!sp1 || !sp2 || strchr(sp2 + 1, ' ')) {
        reply_plain(c, 400, "malformed request line\n", 1);
        return -1;
    }
    *sp1 = 0;
    *sp2 = 0;
    const char *version = sp2 + 1;
    if (!is_token(method) || !is_target(target) ||
        strncmp(version, "HTTP/", 5) != 0 || !is_token(version + 5)) {
        reply_plain(c, 400, "malformed request line\n", 1);
        return -1;
    }
    int http10 = strcmp(version, "HTTP/1.0") == 0;
    if (!http10 && strcmp(version, "HTTP/1.1") != 0) {
        reply_plain(c, 505, "only HTTP/1.0 and HTTP/1.1\n", 1);
        return -1;
    }
    req.method = method;
    req.target = target;
    /* Header lines (RFC 9112 §5): every deviation is a 400 and a close,
     * since a front proxy may have framed the request differently. */
    const char *cl = NULL;
    int n_host = 0;
    char *p = line_end ? line_end + 2 : end;
    while (p < end) {
        char *eol = strstr(p, "\r\n");
        if (eol)
            *eol = 0;
        if (*p == ' ' || *p == '\t') {
            reply_plain(c, 400,
                        "obs-fold (a header line starting with "
                        "whitespace) is not accepted\n",
                        1);
            return -1;
        }
        char *colon = strchr(p, ':');
        if (!colon || colon == p) {
            reply_plain(c, 400, "malformed header field\n", 1);
            return -1;
        }
        if (req.nheaders == CFX_HTTP1_MAX_HEADERS) {
            reply_plain(c, 431, "too many header fields\n", 1);
            return -1;
        }
        if (colon[-1] == ' ' || colon[-1] == '\t') {
            reply_plain(c, 400,
                        "whitespace between a header field name and "
                        "its colon\n",
                        1);
            return -1;
        }
        *colon = 0;
        if (!is_token(p)) {
            reply_plain(c, 400, "invalid character in a header field name\n",
                        1);
            return -1;
        }
        char *value = trim(colon + 1);
        if (!is_field_value(value)) {
            reply_plain(c, 400, "invalid character in a header field value\n",
                        1);
            return -1;
        }
        if ((*p == 'c' || *p == 'C') && !strcasecmp(p, "Content-Length")) {
            if (cl) {
                reply_plain(c, 400, "repeated Content-Length\n", 1);
                return -1;
            }
            cl = value;
        } else if ((*p == 'h' || *p == 'H') && !strcasecmp(p, "Host") &&
                   ++n_host > 1) {
            reply_plain(c, 400, "repeated Host\n", 1);
            return -1;
        }
        req.hname[req.nheaders] = p;
        req.hvalue[req.nheaders] = value;
        req.nheaders++;
        p = eol ? eol + 2 : end;
    }
    if (cfx_http1_header(&req, "Transfer-Encoding"))
        return start_chunked(c, &req, http10, head_len);
    size_t body_len = 0;
    if (cl) {
        unsigned long long v = 0;
        if (!parse_content_length(cl, &v)) {
            reply_plain(c, 400, "bad Content-Length\n", 1);
            return -1;
        }
        if (v > h->opts.max_body_bytes) {
            reply_plain(c, 413, "request body too large\n", 1);
            return -1;
        }
        body_len = (size_t)v;
    }
    if (avail < head_len + body_len) {
        maybe_continue(c, &req);
        return 0;
    }
    req.body = (const uint8_t *)start + head_len;
    req.body_len = body_len;
    dispatch(c, &req, http10);
    c->in_off += head_len + body_len;
    return c->closing ? -1 : 1;
}

/* Arms the request read deadline when a request has begun (restarted
 * when one ended and the next began in the same input), disarms it when
 * the input is empty and no chunked body is under way. */
static void request_timer(conn_t *c, unsigned long served_before) {
    if (!c->tev)
        return;
    if ((c->in.len > c->in_off || c->in_chunked) && !c->closing) {
        if (!c->timing || c->served != served_before) {
            event_add(c->tev, &c->h->req_limit);
            c->timing = 1;
        }
    } else if (c->timing) {
        event_del(c->tev);
        c->timing = 0;
    }
}

/* Processes every complete request in the input; -1 when closed. */
static int process(conn_t *c) {
    unsigned long served_before = c->served;
    while (process_one(c) == 1 && !c->closing) {
    }
    /* Drop consumed input. */
    if (c->in_off) {
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
    request_timer(c, served_before);
    return flush(c);
}

/* The request read deadline passed: 408, then close. */
static void on_request_timeout(evutil_socket_t fd, short what, void *arg) {
    conn_t *c = arg;
    (void)fd;
    (void)what;
    if (c->tls && !c->tls->handshaken) {
        conn_close(c); /* no handshake within the limit: nothing to say */
        return;
    }
    c->timing = 0;
    set_reading(c, 0);
    c->in.len = c->in_off = 0;
    c->in_chunked = 0;
    reply_plain(c, 408, "request not received within the time limit\n", 1);
    flush(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg) {
    conn_t *c = arg;
    (void)fd;
    (void)what;
    if (flush(c) < 0)
        return;
    if (c->out.len == 0 && !c->reading) {
        set_reading(c, 1);
        process(c); /* requests that arrived while we waited */
    }
}

/* The connection sent something: from now on its read event runs with the
 * idle timeout, not the first-byte one (an event_add of a pending event
 * only moves its timer). Both read paths (plain and TLS) call it. */
static void first_byte_seen(conn_t *c) {
    if (!c->first)
        return;
    c->first = 0;
    if (c->h->idle.tv_sec) {
        event_add(c->rev, &c->h->idle);
    } else {
        event_del(c->rev);
        event_add(c->rev, NULL);
    }
}

static void on_read(evutil_socket_t fd, short what, void *arg) {
    conn_t *c = arg;
    if (what & EV_TIMEOUT) {
        conn_close(c);
        return;
    }
    int eof = 0;
    for (;;) {
        if (cfx_buf_reserve(&c->in, READ_CHUNK)) {
            conn_close(c);
            return;
        }
        size_t space = c->in.cap - c->in.len;
        ssize_t n = recv(fd, c->in.data + c->in.len, space, 0);
        if (n > 0) {
            first_byte_seen(c);
            c->in.len += (size_t)n;
            if ((size_t)n < space)
                break;
            /* Bounded: a head plus a body at most, and some pipelining. */
            if (c->in.len > c->h->opts.max_header_bytes +
                                c->h->opts.max_body_bytes + READ_CHUNK)
                break;
            continue;
        }
        if (n == 0) {
            eof = 1;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        conn_close(c);
        return;
    }
    /* Answer every complete request first; on end of input, close once
     * the answers are written. */
    if (process(c) < 0)
        return;
    if (eof) {
        c->closing = 1;
        set_reading(c, 0);
        flush(c);
    }
}

/* ---- TLS -------------------------------------------------------------------
 *
 * A connection on a TLS port runs the same request code; only its reads
 * and writes differ, and it has its own event callbacks, so a plain
 * connection pays one pointer test in flush. The handshake is driven
 * from the read event (SSL_do_handshake until it completes); a read that
 * needs the socket writable (SSL_ERROR_WANT_WRITE) waits on the write
 * event, a write that needs bytes from the peer on the read event. With
 * read-ahead OpenSSL may hold decrypted or raw bytes the socket no longer
 * signals, so a read cut short by the input bound, or resumed after
 * output back-pressure, makes the read event active itself.
 */

/* 1 when the handshake is complete, 0 when it waits for the socket, -1
 * when it failed (the connection is closed). A client that sent plain
 * HTTP gets a plain-text 400 first. */
static int tls_handshake(conn_t *c) {
    tls_conn_t *t = c->tls;
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->handshaken = 1;
        c->peer_verified = cfx_tls_peer_verified(t->ssl);
        return 1;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        return 0;
    if (e == SSL_ERROR_WANT_WRITE) {
        t->read_wants_write = 1;
        event_add(c->wev, NULL);
        return 0;
    }
    if (e == SSL_ERROR_SSL && cfx_tls_error_is_plain_http()) {
        /* OpenSSL sent nothing yet: the socket still speaks plain text. */
        static const char text[] =
            "this port speaks HTTPS: use https:// (the plain HTTP request "
            "was refused)\n";
        char msg[256];
        int n = snprintf(msg, sizeof(msg),
                         "HTTP/1.1 400 Bad Request\r\nContent-Type: "
                         "text/plain\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n%s",
                         sizeof(text) - 1, text);
        if (n > 0 && (size_t)n < sizeof(msg) &&
            send(c->fd, msg, (size_t)n, MSG_NOSIGNAL) < 0) {
            /* best effort: the connection closes either way */
        }
    }
    tls_fail(c);
    return -1;
}

/* on_read over TLS. */
static void tls_read(conn_t *c) {
    tls_conn_t *t = c->tls;
    first_byte_seen(c); /* handshake bytes count (serve/http1.h) */
    if (!t->handshaken && tls_handshake(c) <= 0)
        return;
    int eof = 0, more = 0;
    ERR_clear_error(); /* SSL_get_error reads this thread's queue */
    for (;;) {
        if (cfx_buf_reserve(&c->in, READ_CHUNK)) {
            conn_close(c);
            return;
        }
        size_t space = c->in.cap - c->in.len;
        int n = SSL_read(t->ssl, c->in.data + c->in.len,
                         space > (1u << 30) ? (1 << 30) : (int)space);
        if (n > 0) {
            c->in.len += (size_t)n;
            /* Bounded as on_read. */
            if (c->in.len > c->h->opts.max_header_bytes +
                                c->h->opts.max_body_bytes + READ_CHUNK) {
                more = 1;
                break;
            }
            /* Nothing held back: the socket is drained (read-ahead took
             * what it had) or its level-triggered event comes again, so
             * skip the read that would only say EAGAIN. */
            if (!SSL_has_pending(t->ssl))
                break;
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            break;
        if (e == SSL_ERROR_WANT_WRITE) {
            t->read_wants_write = 1;
            event_add(c->wev, NULL);
            break;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            eof = 1;
            break;
        }
        tls_fail(c);
        return;
    }
    if (process(c) < 0)
        return;
    if (eof) {
        c->closing = 1;
        set_reading(c, 0);
        flush(c);
    } else if (more && c->reading) {
        event_active(c->rev, EV_READ, 0);
    }
}

static void on_read_tls(evutil_socket_t fd, short what, void *arg) {
    conn_t *c = arg;
    (void)fd;
    if (what & EV_TIMEOUT) {
        conn_close(c);
        return;
    }
    if (c->first) {
        /* Bytes arrived: the idle timeout from now, as on_read. */
        c->first = 0;
        if (c->h->idle.tv_sec) {
            event_add(c->rev, &c->h->idle);
        } else {
            event_del(c->rev);
            event_add(c->rev, NULL);
        }
    }
    if (c->tls->write_wants_read) {
        c->tls->write_wants_read = 0;
        if (flush(c) < 0)
            return;
    }
    tls_read(c);
}

static void on_write_tls(evutil_socket_t fd, short what, void *arg) {
    conn_t *c = arg;
    (void)fd;
    (void)what;
    if (c->tls->read_wants_write) {
        c->tls->read_wants_write = 0;
        if (c->out.len == c->out_off)
            event_del(c->wev);
        tls_read(c); /* flushes what is pending too */
        return;
    }
    if (flush(c) < 0)
        return;
    if (c->out.len == 0 && !c->reading) {
        set_reading(c, 1);
        if (process(c) < 0)
            return;
        if (c->reading && SSL_has_pending(c->tls->ssl))
            event_active(c->rev, EV_READ, 0);
    }
}

/* Gives a new connection of a TLS port its SSL; the handshake must end
 * within the request read limit. 0, or -1 (the caller closes). */
static int tls_conn_start(conn_t *c) {
    c->tls = calloc(1, sizeof(*c->tls));
    if (!c->tls)
        return -1;
    c->tls->ssl = cfx_tls_conn_new(c->h->tls);
    if (!c->tls->ssl || SSL_set_fd(c->tls->ssl, c->fd) != 1) {
        ERR_clear_error();
        return -1;
    }
    SSL_set_mode(c->tls->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Whole socket reads, not a record header and then its body: the read
     * paths above look for bytes OpenSSL holds (SSL_has_pending). */
    SSL_set_read_ahead(c->tls->ssl, 1);
    if (c->tev) {
        event_add(c->tev, &c->h->req_limit);
        c->timing = 1;
    }
    return 0;
}

/* The oldest connection of h that has not sent a complete request (none
 * dispatched, none being answered), or NULL: what a new connection
 * displaces at the connection limit. */
static conn_t *oldest_unproven(cfx_http1_t *h) {
    for (conn_t *c = h->tail; c; c = c->prev)
        if (c->served == 0 && !c->closing && c->out.len == c->out_off)
            return c;
    return NULL;
}

/* ss's address as 16 bytes (IPv4 mapped into IPv6), for the per-client
 * count; 0 for a family without one. */
static int addr_key(const struct sockaddr_storage *ss, uint8_t out[16]) {
    memset(out, 0, 16);
    if (ss->ss_family == AF_INET) {
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
        return 1;
    }
    if (ss->ss_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
        return 1;
    }
    return 0;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg) {
    cfx_http1_t *h = arg;
    (void)what;
    for (int k = 0; k < 64; k++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or another worker took it */
        uint8_t addr[16];
        int per_client =
            h->opts.max_connections_per_client > 0 && addr_key(&ss, addr);
        if (per_client &&
            !peer_acquire(addr, h->opts.max_connections_per_client)) {
            close(fd); /* this address holds its share already */
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn_t *c = calloc(1, sizeof(*c));
        if (!c) {
            if (per_client)
                peer_release(addr);
            close(fd);
            continue;
        }
        if (per_client) {
            memcpy(c->addr, addr, 16);
            c->peer_counted = 1;
        }
        c->h = h;
        c->fd = fd;
        cfx_buf_init(&c->in);
        cfx_buf_init(&c->out);
        cfx_buf_init(&c->head);
        snprintf(c->peer, sizeof(c->peer), "-");
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer,
                      sizeof(c->peer));
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
                      c->peer, sizeof(c->peer));
        if (h->opts.connections) {
            long n = atomic_fetch_add(h->opts.connections, 1) + 1;
            c->counted = 1;
            if (h->opts.max_connections > 0 && n > h->opts.max_connections) {
                /* Displace a connection that never proved itself; refuse
                 * (503) only when this worker holds none. */
                conn_t *old = oldest_unproven(h);
                if (old)
                    conn_close(old);
                else
                    c->rejected = 1;
            }
        }
        c->rev = event_new(h->base, fd, EV_READ | EV_PERSIST,
                           h->tls ? on_read_tls : on_read, c);
        c->wev = event_new(h->base, fd, EV_WRITE | EV_PERSIST,
                           h->tls ? on_write_tls : on_write, c);
        if (h->req_limit.tv_sec)
            c->tev = evtimer_new(h->base, on_request_timeout, c);
        c->next = h->conns;
        if (h->conns)
            h->conns->prev = c;
        else
            h->tail = c;
        h->conns = c;
        if (!c->rev || !c->wev || (h->req_limit.tv_sec && !c->tev) ||
            (h->tls && tls_conn_start(c) != 0)) {
            conn_close(c);
            continue;
        }
        c->first = 1;
        event_add(c->rev, h->first_byte.tv_sec ? &h->first_byte
                          : h->idle.tv_sec     ? &h->idle
                                               : NULL);
        c->reading = 1;
    }
}

int cfx_http1_new(struct event_base *base, evutil_socket_t listen_fd,
                  const cfx_http1_options_t *opts, cfx_http1_handler_fn handler,
                  void *arg, cfx_http1_t **out, cfx_error_t *err) {
    *out = NULL;
    pthread_once(&byte_class_once, byte_class_init);
    cfx_http1_t *h = calloc(1, sizeof(*h));
    if (!h) {
        evutil_closesocket(listen_fd);
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    h->base = base;
    h->listen_fd = listen_fd;
    h->opts = *opts;
    h->handler = handler;
    h->arg = arg;
    h->idle.tv_sec =
        opts->idle_timeout_seconds > 0 ? opts->idle_timeout_seconds : 0;
    h->req_limit.tv_sec = opts->request_read_timeout_seconds > 0
                              ? opts->request_read_timeout_seconds
                              : 0;
    h->first_byte.tv_sec = opts->first_byte_timeout_seconds > 0
                               ? opts->first_byte_timeout_seconds
                               : 0;
    if (opts->ssl) {
        int rc = cfx_tls_new(opts->ssl, opts->ssl_where, CFX_TLS_ALPN_HTTP1,
                             &h->tls, err);
        if (rc) {
            cfx_http1_free(h);
            return rc;
        }
    }
    evutil_make_socket_nonblocking(listen_fd);
    h->lev = event_new(base, listen_fd, EV_READ | EV_PERSIST, on_accept, h);
    if (!h->lev || event_add(h->lev, NULL) != 0) {
        cfx_http1_free(h);
        return cfx_error_set(err, CFX_EIO, "cannot watch the listening socket");
    }
    *out = h;
    return 0;
}

void cfx_http1_stop_accepting(cfx_http1_t *h) {
    if (!h || h->draining)
        return;
    h->draining = 1;
    if (h->lev) {
        event_free(h->lev);
        h->lev = NULL;
    }
    if (h->listen_fd >= 0) {
        close_socket_later(h, h->listen_fd);
        h->listen_fd = -1;
    }
    /* Idle connections go now; one still writing an answer closes after
     * it; one with a request partly received keeps reading it, and its
     * answer (made with "Connection: close", as every answer from now on)
     * closes it. */
    conn_t *c = h->conns;
    while (c) {
        conn_t *next = c->next;
        int partial = c->in.len != c->in_off || c->in_chunked;
        if (!partial && c->out.len == c->out_off)
            conn_close(c);
        else if (!partial)
            c->closing = 1;
        c = next;
    }
}

void cfx_http1_free(cfx_http1_t *h) {
    if (!h)
        return;
    h->freeing = 1;
    while (h->conns)
        conn_close(h->conns);
    if (h->lev)
        event_free(h->lev);
    if (h->listen_fd >= 0)
        evutil_closesocket(h->listen_fd);
    cfx_tls_free(h->tls);
    free(h);
}

/*
 * http1_test.c: serve/http1.c over real loopback sockets: pipelined
 * requests split at every kind of boundary (seeded random chunking),
 * Expect: 100-continue, HTTP/1.0, the limits (413, 431), malformed heads
 * (400, 501, 505), the strict framing rules of RFC 9112 (repeated
 * Content-Length, whitespace before a colon, obs-fold, bytes outside
 * tchar / field-value: 400 and close), random garbage (no crash, no hang),
 * the connection limit (an idle connection is displaced, a proven one is
 * not), the first-byte timeout, the per-client limit, and drain.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "serve/http1.h"

typedef struct fixture {
    struct event_base *base;
    cfx_http1_t *h;
    int port;
    atomic_long conns;
    int calls;
} fixture_t;

/* Echo: "<method> <target> <body>". */
static void echo(cfx_http1_req_t *req, void *arg) {
    fixture_t *f = arg;
    char buf[8192];
    f->calls++;
    if (req->over_limit) {
        cfx_http1_reply(req, 503, "text/plain", NULL, "busy", 4, 0);
        return;
    }
    int n = snprintf(buf, sizeof(buf), "%s %s ", req->method, req->target);
    size_t len = (size_t)n;
    size_t take =
        req->body_len < sizeof(buf) - len ? req->body_len : sizeof(buf) - len;
    memcpy(buf + len, req->body, take);
    len += take;
    const char *x = cfx_http1_header(req, "X-Close");
    cfx_http1_reply(req, 200, "text/plain", "X-Test: 1\r\n", buf, len,
                    x != NULL);
}

static int setup_full(void **state, long max_conns, int first_byte,
                      int per_client) {
    fixture_t *f = calloc(1, sizeof(*f));
    f->base = event_base_new();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 64), 0);
    socklen_t sl = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &sl);
    f->port = ntohs(a.sin_port);
    atomic_init(&f->conns, 0);
    cfx_http1_options_t o = {.max_body_bytes = 4096,
                             .max_header_bytes = 2048,
                             .idle_timeout_seconds = 30,
                             .max_connections = max_conns,
                             .connections = &f->conns,
                             .first_byte_timeout_seconds = first_byte,
                             .max_connections_per_client = per_client};
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_http1_new(f->base, fd, &o, echo, f, &f->h, &err), 0);
    *state = f;
    return 0;
}

static int setup(void **state) {
    return setup_full(state, 100, 0, 0);
}
static int setup_limited(void **state) {
    return setup_full(state, 1, 0, 0);
}
static int setup_first_byte(void **state) {
    return setup_full(state, 100, 1, 0);
}
static int setup_per_client(void **state) {
    return setup_full(state, 100, 0, 2);
}

static int teardown(void **state) {
    fixture_t *f = *state;
    cfx_http1_free(f->h);
    event_base_free(f->base);
    free(f);
    return 0;
}

static int client(fixture_t *f) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)f->port);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    int one = 1; /* small writes must leave at once (no Nagle delay) */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void spin(fixture_t *f) {
    for (int i = 0; i < 4; i++)
        event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* Reads what the server wrote (after letting it run); sets *closed. */
static size_t drain(fixture_t *f, int fd, char *out, size_t cap, int *closed) {
    size_t len = 0;
    *closed = 0;
    for (int round = 0; round < 50; round++) {
        spin(f);
        ssize_t n = -1;
        while (len < cap - 1 && (n = recv(fd, out + len, cap - 1 - len, 0)) > 0)
            len += (size_t)n;
        if (n == 0) {
            *closed = 1;
            break;
        }
        if (round > 3 && len)
            break;
    }
    out[len] = 0;
    return len;
}

static void send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN)
            continue;
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

static const char PIPE3[] =
    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    "GET /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    "\r\nPOST /c HTTP/1.1\r\ncontent-length: 3\r\nX-Other:  v  \r\n\r\nxyz";

static void test_pipelined_random_splits(void **state) {
    fixture_t *f = *state;
    uint64_t rng = 42;
    for (int it = 0; it < 200; it++) {
        int fd = client(f);
        size_t n = sizeof(PIPE3) - 1, off = 0;
        while (off < n) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t k = 1 + (size_t)((rng >> 33) % 40);
            if (k > n - off)
                k = n - off;
            send_all(fd, PIPE3 + off, k);
            off += k;
            spin(f);
        }
        char out[8192];
        int closed = 0;
        size_t len = 0;
        out[0] = 0;
        for (int r = 0; r < 20 && !strstr(out, "POST /c xyz"); r++) {
            int c2;
            len += drain(f, fd, out + len, sizeof(out) - len, &c2);
        }
        const char *a = strstr(out, "POST /a hello");
        const char *b = strstr(out, "GET /b?q=1 ");
        const char *c = strstr(out, "POST /c xyz");
        if (!a || !b || !c || !(a < b && b < c))
            fail_msg("iteration %d: responses out of order or missing:\n%s", it,
                     out);
        assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
        assert_non_null(strstr(out, "X-Test: 1\r\n"));
        (void)closed;
        close(fd);
        spin(f);
    }
    assert_int_equal(atomic_load(&f->conns), 0);
}

static void test_continue_and_http10(void **state) {
    fixture_t *f = *state;
    char out[4096];
    int closed;
    int fd = client(f);
    const char head[] = "POST /e HTTP/1.1\r\nExpect: 100-continue\r\n"
                        "Content-Length: 4\r\n\r\n";
    send_all(fd, head, sizeof(head) - 1);
    drain(f, fd, out, sizeof(out), &closed);
    assert_string_equal(out, "HTTP/1.1 100 Continue\r\n\r\n");
    send_all(fd, "body", 4);
    drain(f, fd, out, sizeof(out), &closed);
    assert_non_null(strstr(out, "POST /e body"));
    assert_int_equal(closed, 0);
    close(fd);

    fd = client(f);
    send_all(fd, "GET /old HTTP/1.0\r\n\r\n", 21);
    drain(f, fd, out, sizeof(out), &closed);
    assert_non_null(strstr(out, "GET /old "));
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_int_equal(closed, 1);
    close(fd);

    fd = client(f); /* HTTP/1.0 asking for keep-alive gets it */
    const char k10[] = "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    send_all(fd, k10, sizeof(k10) - 1);
    drain(f, fd, out, sizeof(out), &closed);
    assert_non_null(strstr(out, "Connection: keep-alive\r\n"));
    assert_int_equal(closed, 0);
    close(fd);

    fd = client(f); /* two requests and end of input: both answered */
    const char two[] = "GET /p HTTP/1.1\r\n\r\nHEAD /q HTTP/1.1\r\n\r\n";
    send_all(fd, two, sizeof(two) - 1);
    shutdown(fd, SHUT_WR);
    drain(f, fd, out, sizeof(out), &closed);
    assert_non_null(strstr(out, "GET /p "));
    assert_null(strstr(out, "HEAD /q ")); /* HEAD: head only */
    assert_int_equal(closed, 1);
    close(fd);

    fd = client(f); /* the handler asks to close */
    send_all(fd, "GET /x HTTP/1.1\r\nX-Close: 1\r\n\r\n", 31);
    drain(f, fd, out, sizeof(out), &closed);
    assert_int_equal(closed, 1);
    close(fd);
}

static void test_errors(void **state) {
    fixture_t *f = *state;
    static const struct {
        const char *req;
        const char *status;
    } cases[] = {
        {"GARBAGE\r\n\r\n", "HTTP/1.1 400 "},
        {"GET  HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1 x\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/3.0\r\n\r\n", "HTTP/1.1 505 "},
        {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "HTTP/1.1 400 "},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400 "},
        {"POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", "HTTP/1.1 400 "},
        {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
         "HTTP/1.1 400 "},
        {"POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", "HTTP/1.1 413 "},
        /* Chunked bodies: see http1_chunked_test.c; framing it cannot
         * trust is refused. */
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
         "Content-Length: 5\r\n\r\n0\r\n\r\n",
         "HTTP/1.1 400 "},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
         "0\r\n\r\n",
         "HTTP/1.1 501 "},
        /* RFC 9112 §6.3: a repeated Content-Length, equal or not, in two
         * lines or as a list, is a framing two parsers may read apart. */
        {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
         "\r\nhello!",
         "HTTP/1.1 400 "},
        {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n"
         "\r\nhello",
         "HTTP/1.1 400 "},
        {"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello",
         "HTTP/1.1 400 "},
        {"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello", "HTTP/1.1 400 "},
        {"POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", "HTTP/1.1 400 "},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         "HTTP/1.1 400 "},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         "HTTP/1.1 400 "},
        /* §5.1: no whitespace between the name and the colon. */
        {"POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", "HTTP/1.1 400 "},
        /* §5.2: obs-fold. */
        {"GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\r\nX-A: one\r\n\ttwo: 2\r\n\r\n", "HTTP/1.1 400 "},
        /* Names are tokens (tchar); values VCHAR / obs-text / SP / HTAB. */
        {"GET / HTTP/1.1\r\nX(A): 1\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\r\nX@A: 1\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\r\nX\x01A: 1\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\r\nX-A: a\x01b\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\r\nX-A: a\x7f\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\r\nX-A: a\nContent-Length: 5\r\n\r\nhello",
         "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 "},
        {"GET /\x01 HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\nX: y\r\n\r\n", "HTTP/1.1 400 "},
    };
    char out[4096];
    int closed;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fd = client(f);
        send_all(fd, cases[i].req, strlen(cases[i].req));
        drain(f, fd, out, sizeof(out), &closed);
        if (strncmp(out, cases[i].status, strlen(cases[i].status)) != 0)
            fail_msg("case %zu: got '%.40s', want '%s'", i, out,
                     cases[i].status);
        assert_int_equal(closed, 1);
        close(fd);
    }
    /* A NUL would end an in-place parse early and hide the next line. */
    static const char nul[] = "POST / HTTP/1.1\r\nX-A: a\0\r\n"
                              "Content-Length: 5\r\n\r\nhello";
    int fd0 = client(f);
    send_all(fd0, nul, sizeof(nul) - 1);
    drain(f, fd0, out, sizeof(out), &closed);
    assert_memory_equal(out, "HTTP/1.1 400 ", 13);
    assert_int_equal(closed, 1);
    close(fd0);
    /* A head over max_header_bytes (2048), with or without its end. */
    char big[3000];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    int fd = client(f);
    send_all(fd, big, sizeof(big));
    drain(f, fd, out, sizeof(out), &closed);
    assert_memory_equal(out, "HTTP/1.1 431 ", 13);
    close(fd);
    spin(f);
    assert_int_equal(f->calls, 0);
    assert_int_equal(atomic_load(&f->conns), 0);
}

/* What the strict rules still accept: every tchar in a name, obs-text,
 * HTAB and inner spaces in a value, one Content-Length. */
static void test_strict_accepts(void **state) {
    fixture_t *f = *state;
    char out[4096];
    int closed;
    static const char ok[] =
        "POST /ok HTTP/1.1\r\nHost: x\r\nX-B3.Trace_Id!#$%&'*+^`|~9: v\r\n"
        "X-Text: caf\xc3\xa9 \t au lait\r\nContent-Length: 2\r\n\r\nhi";
    int fd = client(f);
    send_all(fd, ok, sizeof(ok) - 1);
    drain(f, fd, out, sizeof(out), &closed);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(out, "POST /ok hi"));
    assert_int_equal(closed, 0);
    close(fd);
    spin(f);
    assert_int_equal(f->calls, 1);
}

static void test_garbage(void **state) {
    fixture_t *f = *state;
    uint64_t rng = 7;
    char buf[512], out[4096];
    int closed;
    for (int it = 0; it < 300; it++) {
        size_t n = 0;
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        size_t len = 1 + (size_t)((rng >> 33) % sizeof(buf));
        static const char alphabet[] = "GET POST / HTTP/1.1\r\n: Content-Length"
                                       "0123456789 \t\x01\xff";
        for (; n < len; n++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            buf[n] = alphabet[(rng >> 33) % (sizeof(alphabet) - 1)];
        }
        int fd = client(f);
        send_all(fd, buf, n);
        drain(f, fd, out, sizeof(out), &closed);
        close(fd);
        spin(f);
    }
    assert_int_equal(atomic_load(&f->conns), 0);
}

static void test_limit_and_drain(void **state) {
    fixture_t *f = *state; /* max_connections = 1 */
    char out[4096];
    int closed;
    /* An idle connection (no complete request yet) is displaced by a new
     * one at the limit. */
    int idle = client(f);
    spin(f);
    int a = client(f);
    spin(f);
    drain(f, idle, out, sizeof(out), &closed);
    assert_int_equal(closed, 1);
    close(idle);
    /* A connection that completed a request is not: the newcomer gets
     * 503. */
    send_all(a, "GET /1 HTTP/1.1\r\n\r\n", 19);
    drain(f, a, out, sizeof(out), &closed);
    assert_non_null(strstr(out, "200 OK"));
    int b = client(f);
    send_all(b, "GET /2 HTTP/1.1\r\n\r\n", 19);
    drain(f, b, out, sizeof(out), &closed);
    assert_non_null(strstr(out, "HTTP/1.1 503 "));
    assert_int_equal(closed, 1);
    close(b);
    spin(f);
    assert_int_equal(atomic_load(&f->conns), 1);
    /* Drain: the idle keep-alive connection is closed by the server. */
    cfx_http1_stop_accepting(f->h);
    drain(f, a, out, sizeof(out), &closed);
    assert_int_equal(closed, 1);
    close(a);
    assert_int_equal(atomic_load(&f->conns), 0);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the loop for secs, then reports whether fd was closed by the
 * server (end of file). */
static int closed_after(fixture_t *f, int fd, double secs) {
    double until = now_s() + secs;
    char b[256];
    while (now_s() < until) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        ssize_t n = recv(fd, b, sizeof(b), 0);
        if (n == 0)
            return 1;
        usleep(5000);
    }
    return 0;
}

static void test_first_byte_timeout(void **state) {
    fixture_t *f = *state; /* first byte within 1 s, idle 30 s */
    int silent = client(f), talker = client(f);
    spin(f);
    send_all(talker, "G", 1); /* one byte: past the first-byte rule */
    double t0 = now_s();
    assert_int_equal(closed_after(f, silent, 3.0), 1);
    double took = now_s() - t0;
    if (took < 0.9 || took > 2.5)
        fail_msg("silent connection closed after %.2f s, want about 1 s", took);
    assert_int_equal(closed_after(f, talker, 0.5), 0); /* still open */
    send_all(talker, "ET /t HTTP/1.1\r\n\r\n", 19);
    char out[1024];
    int closed;
    drain(f, talker, out, sizeof(out), &closed);
    assert_non_null(strstr(out, "GET /t "));
    close(silent);
    close(talker);
    spin(f);
    assert_int_equal(atomic_load(&f->conns), 0);
}

static void test_per_client_limit(void **state) {
    fixture_t *f = *state; /* 2 connections per address */
    int a = client(f), b = client(f);
    spin(f);
    int c = client(f); /* the third from 127.0.0.1: closed at once */
    assert_int_equal(closed_after(f, c, 1.0), 1);
    close(c);
    assert_int_equal(closed_after(f, a, 0.1), 0);
    close(a); /* a slot frees: a new connection is served */
    spin(f);
    int d = client(f);
    send_all(d, "GET /d HTTP/1.1\r\n\r\n", 19);
    char out[1024];
    int closed;
    drain(f, d, out, sizeof(out), &closed);
    assert_non_null(strstr(out, "GET /d "));
    close(b);
    close(d);
    spin(f);
    assert_int_equal(atomic_load(&f->conns), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pipelined_random_splits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_continue_and_http10, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strict_accepts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_byte_timeout,
                                        setup_first_byte, teardown),
        cmocka_unit_test_setup_teardown(test_per_client_limit, setup_per_client,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_limit_and_drain, setup_limited,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

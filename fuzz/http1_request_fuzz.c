/*
 * http1_request_fuzz.c: libFuzzer target for cfx-serve's HTTP/1.1 request
 * parser (serve/http1.c: request line, header fields, Content-Length and
 * chunked framing, pipelining, keep-alive), through the server itself: one
 * server on a listening unix socket for the whole run, and each input sent
 * by a new client connection, then half-closed. The handler answers every
 * request with its body, so a request the parser delivers is also
 * answered and written back.
 *
 * Properties: no crash, leak or sanitizer report on any input; every
 * delivered request has a method, a target and a body within the limit.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "serve/http1.h"

#define MAX_BODY 4096

static void handler(cfx_http1_req_t *req, void *arg) {
    (void)arg;
    if (!req->method || !req->target || req->body_len > MAX_BODY)
        abort();
    cfx_http1_reply(req, 200, "application/octet-stream", NULL, req->body,
                    req->body_len, 0);
}

static struct event_base *base;
static cfx_http1_t *server; /* lives as long as the process */
static struct sockaddr_un addr;
static socklen_t addr_len;

static void start(void) {
    static atomic_long connections;
    base = event_base_new();
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (!base || fd < 0)
        abort();
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    /* An abstract name: nothing on disk to clean up. */
    int n = snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1,
                     "cfx-http1-fuzz-%d", (int)getpid());
    addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0 ||
        listen(fd, 64) != 0)
        abort();
    cfx_http1_options_t o;
    memset(&o, 0, sizeof o);
    o.max_body_bytes = MAX_BODY;
    o.max_header_bytes = 2048;
    o.idle_timeout_seconds = 60;
    o.max_connections = 1000;
    o.connections = &connections;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_http1_new(base, fd, &o, handler, NULL, &server, &err) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!base)
        start();
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&addr, addr_len) != 0)
        abort();
    size_t off = 0;
    uint8_t sink[65536];
    for (int round = 0; round < 64; round++) {
        if (off < size) {
            ssize_t n = write(c, data + off, size - off);
            if (n > 0)
                off += (size_t)n;
        } else if (off == size) {
            shutdown(c, SHUT_WR);
            off++;
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
        ssize_t r;
        while ((r = read(c, sink, sizeof sink)) > 0)
            ;
        if (r == 0 && off > size)
            break; /* the server closed the connection */
    }
    close(c);
    /* The server sees the close and frees the connection within this
     * input (else libFuzzer's leak check runs a full scan after it). */
    for (int round = 0; round < 4; round++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    return 0;
}

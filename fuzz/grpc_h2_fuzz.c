/*
 * grpc_h2_fuzz.c: libFuzzer target for cfx-serve's gRPC endpoint below the
 * methods: the input is what a client sends on a connection (the HTTP/2
 * preface, frames, HPACK headers, gRPC length-prefixed messages), fed to a
 * real server-side nghttp2 session (serve/h2_conn.c) driven by the gRPC
 * layer (serve/grpc.c) over one end of a socket pair. There is no model
 * server behind it: Health/Check answers SERVING, model methods
 * UNAVAILABLE, so every path through framing and dispatch is reached
 * without inference.
 *
 * Properties: no crash, leak or sanitizer report on any input; the
 * connection is torn down cleanly whatever state it was left in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "serve/grpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static struct event_base *base;
    if (!base && !(base = event_base_new()))
        abort();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
        abort();
    cfx_grpc_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.max_recv_message = 1u << 16;
    opts.max_concurrent_streams = 16;
    cfx_grpc_ctx_t *ctx = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_grpc_ctx_new(base, NULL, &opts, &ctx, &err) != 0 ||
        cfx_grpc_ctx_adopt(ctx, sv[0], &err) != 0)
        abort();
    /* The client's bytes, in pieces as reads would see them; the answers
     * are read and dropped so the server never blocks on a full socket. */
    size_t off = 0;
    uint8_t sink[65536];
    for (int round = 0; round < 64; round++) {
        if (off < size) {
            ssize_t n = write(sv[1], data + off, size - off);
            if (n > 0)
                off += (size_t)n;
        } else if (off == size) {
            shutdown(sv[1], SHUT_WR);
            off++;
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
        ssize_t r;
        while ((r = read(sv[1], sink, sizeof sink)) > 0)
            ;
        if (r == 0 && off > size)
            break; /* the server closed the connection */
    }
    cfx_grpc_ctx_free(ctx);
    event_base_loop(base, EVLOOP_NONBLOCK);
    close(sv[1]);
    return 0;
}

/*
 * http1_chunked_fuzz.c: libFuzzer target for cfx-serve's chunked
 * transfer-coding decoder (serve/http1_chunked.c).
 *
 * The input is decoded twice: in one call, and split in pieces of a size
 * taken from its first byte (as a body arrives in reads). Properties: no
 * crash or leak; both ways agree on the outcome, the decoded body and the
 * bytes consumed; the body never passes the bound; a failure has an HTTP
 * status.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/http1_chunked.h"

#define MAX_BODY 4096
#define MAX_TRAILER 512

/* Feeds in[0, len) in pieces of step bytes; *used gets what was consumed
 * in all. */
static int decode(const uint8_t *in, size_t len, size_t step, cfx_buf_t *body,
                  size_t *used, int *status) {
    cfx_http1_chunked_t d;
    cfx_http1_chunked_init(&d, MAX_BODY, MAX_TRAILER);
    cfx_error_t err;
    cfx_error_init(&err);
    size_t off = 0;
    int rc = 0;
    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        size_t u = 0;
        rc = cfx_http1_chunked_decode(&d, in + off, n, body, &u, &err);
        if (u > n)
            abort();
        off += u;
        if (rc != 0)
            break;
        if (u != n)
            abort(); /* 0 means all of it was consumed */
    }
    *used = off;
    *status = cfx_http1_chunked_status(&d);
    if (rc < 0 && (*status < 400 || !err.msg[0]))
        abort();
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 17 + 1;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    cfx_buf_t a, b;
    cfx_buf_init(&a);
    cfx_buf_init(&b);
    size_t ua, ub;
    int sa, sb;
    int ra = decode(in, len, len ? len : 1, &a, &ua, &sa);
    int rb = decode(in, len, step, &b, &ub, &sb);
    if (ra != rb || a.len > MAX_BODY || b.len > MAX_BODY)
        abort();
    if (ra >= 0 && (ua != ub || a.len != b.len ||
                    (a.len && memcmp(a.data, b.data, a.len) != 0)))
        abort();
    if (ra < 0 && sa != sb)
        abort();
    cfx_buf_free(&a);
    cfx_buf_free(&b);
    return 0;
}

/* grpc_h2_test.c: the gRPC endpoint (serve/grpc.c over serve/h2_conn.c)
 * in process: a server context with no model manager and the HTTP/2
 * client of client/h2_client.c on the two ends of a socketpair, one event
 * base. Checks answers, status codes of malformed calls, many concurrent
 * streams, a client RST_STREAM, an oversize message, an expired deadline,
 * a chain of calls each submitted from the answer before it, and the
 * GOAWAY drain. Expected bytes are written from the gRPC and
 * protobuf wire formats by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>

#include "client/h2_client.h"
#include "serve/grpc.h"

#define HEALTH "/grpc.health.v1.Health/Check"

typedef struct result {
    int done;
    int http_status;
    int grpc_status;
    char message[256];
    uint8_t body[64];
    size_t body_len;
    uint32_t rst;
    int chained;
} result_t;

typedef struct fixture {
    struct event_base *base;
    cfx_grpc_ctx_t *ctx;
    cfx_h2c_t *client;
    int closed;
    size_t done;
    size_t chain;       /* calls still to submit from on_done */
    size_t chain_ok;    /* chained calls answered with status 0 */
    uint64_t last_sent; /* sent_ns of the last chained answer */
    int sent_order_ok;  /* each chained call left after the one before */
} fixture_t;

static const uint8_t EMPTY_MSG[] = {0, 0, 0, 0, 0};

static void on_done(void *ud, const cfx_h2c_result_t *r) {
    fixture_t *f = ud;
    result_t *res = r->req_ud;
    res->done = 1;
    res->http_status = r->http_status;
    res->grpc_status = r->grpc_status;
    snprintf(res->message, sizeof(res->message), "%s", r->grpc_message);
    res->body_len = r->body_len < sizeof(res->body) ? r->body_len : 0;
    if (res->body_len)
        memcpy(res->body, r->body, res->body_len);
    res->rst = r->rst_error;
    f->done++;
    if (res->chained) {
        /* sent_ns is stamped when the HEADERS frame goes out. */
        if (r->grpc_status == 0 && r->sent_ns > 0)
            f->chain_ok++;
        if (r->sent_ns < f->last_sent)
            f->sent_order_ok = 0;
        f->last_sent = r->sent_ns;
    }
    /* Submitted from inside the answer callback, while the client is
     * reading: the request must leave on the next writable event. */
    if (f->chain > 0 && f->client) {
        f->chain--;
        static result_t next[2];
        result_t *n = &next[f->chain % 2];
        memset(n, 0, sizeof(*n));
        n->chained = 1;
        assert_true(cfx_h2c_submit(f->client, "test", HEALTH, NULL, 0,
                                   EMPTY_MSG, sizeof(EMPTY_MSG), 1, n) > 0);
    }
}

static void on_close(void *ud, cfx_h2c_t *c) {
    (void)c;
    fixture_t *f = ud;
    f->closed = 1;
    f->client = NULL;
}

static int setup_limit(void **state, size_t max_recv) {
    static fixture_t f;
    memset(&f, 0, sizeof(f));
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    f.base = event_base_new();
    assert_non_null(f.base);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_grpc_options_t opts = {.max_recv_message = max_recv,
                               .max_concurrent_streams = 128};
    assert_int_equal(cfx_grpc_ctx_new(f.base, NULL, &opts, &f.ctx, &err), 0);
    assert_int_equal(cfx_grpc_ctx_adopt(f.ctx, sv[0], &err), 0);
    cfx_h2c_callbacks_t cb = {on_done, on_close};
    assert_int_equal(
        cfx_h2c_new(f.base, sv[1], &cb, &f, 1 << 20, &f.client, &err), 0);
    *state = &f;
    return 0;
}

static int setup(void **state) {
    return setup_limit(state, 8u << 20);
}

static int setup_small(void **state) {
    return setup_limit(state, 1024);
}

static int teardown(void **state) {
    fixture_t *f = *state;
    cfx_h2c_free(f->client);
    cfx_grpc_ctx_free(f->ctx);
    event_base_free(f->base);
    return 0;
}

/* Runs the loop until `want` requests finished (bounded). */
static void run_until(fixture_t *f, size_t want) {
    for (int i = 0; i < 100000 && f->done < want; i++)
        event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static int32_t call(fixture_t *f, const char *path, const uint8_t *body,
                    size_t len, result_t *res) {
    memset(res, 0, sizeof(*res));
    return cfx_h2c_submit(f->client, "test", path, NULL, 0, body, len, 1, res);
}

/* HealthCheckRequest{} -> HealthCheckResponse{status: SERVING}: the body
 * is prefix 00 00000002 then field 1 varint 1 (08 01). */
static void test_health(void **state) {
    fixture_t *f = *state;
    static const uint8_t req[] = {0, 0, 0, 0, 0};
    result_t r;
    assert_true(call(f, HEALTH, req, sizeof(req), &r) > 0);
    run_until(f, 1);
    assert_true(r.done);
    assert_int_equal(r.http_status, 200);
    assert_int_equal(r.grpc_status, 0);
    static const uint8_t want[] = {0, 0, 0, 0, 2, 0x08, 0x01};
    assert_int_equal(r.body_len, sizeof(want));
    assert_memory_equal(r.body, want, sizeof(want));
    /* A named service cfx does not have: NOT_FOUND (5). */
    static const uint8_t other[] = {0, 0, 0, 0, 5, 0x0a, 0x03, 'f', 'o', 'o'};
    assert_true(call(f, HEALTH, other, sizeof(other), &r) > 0);
    run_until(f, 2);
    assert_int_equal(r.grpc_status, 5);
}

static void test_errors(void **state) {
    fixture_t *f = *state;
    result_t r[7];
    static const uint8_t empty[] = {0, 0, 0, 0, 0};
    static const uint8_t gz[] = {1, 0, 0, 0, 0};
    static const uint8_t shortp[] = {0, 0, 0};
    static const uint8_t badlen[] = {0, 0, 0, 0, 9, 0x0a};
    /* field 1, length 5, but only one byte follows: not a protobuf. */
    static const uint8_t badpb[] = {0, 0, 0, 0, 3, 0x0a, 0x05, 'a'};
    assert_true(call(f, "/x.Y/Z", empty, 5, &r[0]) > 0);
    assert_true(call(f, HEALTH, gz, 5, &r[1]) > 0);
    assert_true(call(f, HEALTH, shortp, 3, &r[2]) > 0);
    assert_true(call(f, HEALTH, badlen, sizeof(badlen), &r[3]) > 0);
    assert_true(call(f, HEALTH, badpb, sizeof(badpb), &r[4]) > 0);
    /* A model method with no model manager: UNAVAILABLE. */
    assert_true(call(f, "/tensorflow.serving.PredictionService/Predict",
                     (const uint8_t *)"\0\0\0\0\0", 5, &r[5]) > 0);
    run_until(f, 6);
    assert_int_equal(r[0].grpc_status, 12);
    assert_non_null(strstr(r[0].message, "/x.Y/Z"));
    assert_int_equal(r[1].grpc_status, 13); /* compressed, no grpc-encoding */
    assert_int_equal(r[2].grpc_status, 13);
    assert_int_equal(r[3].grpc_status, 13);
    assert_int_equal(r[4].grpc_status, 3);
    assert_int_equal(r[5].grpc_status, 3); /* Missing ModelSpec comes first */
    /* Errors are trailers-only: no DATA. */
    assert_int_equal(r[0].body_len, 0);
    /* The connection still serves. */
    assert_true(call(f, HEALTH, empty, 5, &r[6]) > 0);
    run_until(f, 7);
    assert_int_equal(r[6].grpc_status, 0);
}

/* HealthCheckRequest{} gzip-compressed (Python gzip.compress(b"",
 * mtime=0)) with grpc-encoding gzip is answered; an unknown encoding is
 * UNIMPLEMENTED. */
static void test_compressed(void **state) {
    fixture_t *f = *state;
    static const uint8_t req[] = {1,    0,    0,    0,    20,   0x1f, 0x8b,
                                  0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
                                  0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x00};
    nghttp2_nv gz = {(uint8_t *)"grpc-encoding", (uint8_t *)"gzip", 13, 4,
                     NGHTTP2_NV_FLAG_NONE};
    nghttp2_nv sn = {(uint8_t *)"grpc-encoding", (uint8_t *)"snappy", 13, 6,
                     NGHTTP2_NV_FLAG_NONE};
    result_t r[2];
    memset(r, 0, sizeof(r));
    assert_true(cfx_h2c_submit(f->client, "test", HEALTH, &gz, 1, req,
                               sizeof(req), 1, &r[0]) > 0);
    assert_true(cfx_h2c_submit(f->client, "test", HEALTH, &sn, 1, req,
                               sizeof(req), 1, &r[1]) > 0);
    run_until(f, 2);
    assert_int_equal(r[0].grpc_status, 0);
    static const uint8_t want[] = {0, 0, 0, 0, 2, 0x08, 0x01};
    assert_int_equal(r[0].body_len, sizeof(want));
    assert_memory_equal(r[0].body, want, sizeof(want));
    assert_int_equal(r[1].grpc_status, 12);
}

/* 100 calls in flight on one connection, all answered. */
static void test_concurrent_streams(void **state) {
    fixture_t *f = *state;
    static result_t r[100];
    static const uint8_t empty[] = {0, 0, 0, 0, 0};
    for (int i = 0; i < 100; i++)
        assert_true(call(f, HEALTH, empty, 5, &r[i]) > 0);
    run_until(f, 100);
    for (int i = 0; i < 100; i++) {
        assert_true(r[i].done);
        assert_int_equal(r[i].grpc_status, 0);
    }
}

/* Each answer's callback submits the next call (as `cfx perf` refills a
 * connection): 300 calls in a chain, none stalls, each leaves after the
 * one before it was answered. */
static void test_chained_from_answer(void **state) {
    fixture_t *f = *state;
    result_t first;
    f->chain = 300;
    f->sent_order_ok = 1;
    assert_true(call(f, HEALTH, EMPTY_MSG, sizeof(EMPTY_MSG), &first) > 0);
    run_until(f, 301);
    assert_int_equal(f->done, 301);
    assert_int_equal(f->chain, 0);
    assert_int_equal(f->chain_ok, 300);
    assert_true(f->sent_order_ok);
}

/* A stream the client resets halfway (headers and part of the body sent,
 * no END_STREAM) is dropped; the next call is answered. */
static void test_client_reset(void **state) {
    fixture_t *f = *state;
    result_t half, after;
    static const uint8_t part[] = {0, 0, 0, 0, 9, 0x0a};
    memset(&half, 0, sizeof(half));
    int32_t id = cfx_h2c_submit(f->client, "test", HEALTH, NULL, 0, part,
                                sizeof(part), 0, &half);
    assert_true(id > 0);
    for (int i = 0; i < 50; i++)
        event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_int_equal(half.done, 0);
    assert_int_equal(nghttp2_submit_rst_stream(cfx_h2c_session(f->client),
                                               NGHTTP2_FLAG_NONE, id,
                                               NGHTTP2_CANCEL),
                     0);
    assert_int_equal(cfx_h2c_flush(f->client), 0);
    run_until(f, 1);
    assert_true(half.done);
    assert_int_equal(half.rst, NGHTTP2_CANCEL);
    static const uint8_t empty[] = {0, 0, 0, 0, 0};
    assert_true(call(f, HEALTH, empty, 5, &after) > 0);
    run_until(f, 2);
    assert_int_equal(after.grpc_status, 0);
}

/* Receive limit 1024 bytes: a 2000-byte message is RESOURCE_EXHAUSTED. */
static void test_oversize(void **state) {
    fixture_t *f = *state;
    static uint8_t big[5 + 2000];
    memset(big, 0, sizeof(big));
    big[3] = 2000 >> 8;
    big[4] = 2000 & 255;
    result_t r;
    assert_true(call(f, HEALTH, big, sizeof(big), &r) > 0);
    run_until(f, 1);
    assert_int_equal(r.grpc_status, 8);
}

/* A 3 MiB message is three times the 1 MiB stream window: it arrives only
 * if the server sends WINDOW_UPDATEs. Zero bytes are not a valid protobuf
 * (field number 0), so the answer is INVALID_ARGUMENT, not a hang. */
static void test_flow_control(void **state) {
    fixture_t *f = *state;
    size_t n = 3u << 20;
    uint8_t *big = calloc(1, n + 5);
    assert_non_null(big);
    big[1] = (uint8_t)(n >> 24);
    big[2] = (uint8_t)(n >> 16);
    big[3] = (uint8_t)(n >> 8);
    big[4] = (uint8_t)n;
    result_t r;
    assert_true(call(f, HEALTH, big, n + 5, &r) > 0);
    free(big);
    run_until(f, 1);
    assert_true(r.done);
    assert_int_equal(r.grpc_status, 3);
}

/* grpc-timeout of 1 ns has expired by the time the call is complete. */
static void test_deadline(void **state) {
    fixture_t *f = *state;
    static const uint8_t empty[] = {0, 0, 0, 0, 0};
    nghttp2_nv nv = {(uint8_t *)"grpc-timeout", (uint8_t *)"1n", 12, 2,
                     NGHTTP2_NV_FLAG_NONE};
    result_t r;
    memset(&r, 0, sizeof(r));
    assert_true(
        cfx_h2c_submit(f->client, "test", HEALTH, &nv, 1, empty, 5, 1, &r) > 0);
    run_until(f, 1);
    assert_int_equal(r.grpc_status, 4);
    nghttp2_nv bad = {(uint8_t *)"grpc-timeout", (uint8_t *)"soon", 12, 4,
                      NGHTTP2_NV_FLAG_NONE};
    assert_true(cfx_h2c_submit(f->client, "test", HEALTH, &bad, 1, empty, 5, 1,
                               &r) > 0);
    run_until(f, 2);
    assert_int_equal(r.grpc_status, 13);
}

/* A request whose body stops arriving gets DEADLINE_EXCEEDED when its
 * grpc-timeout (100 ms) passes, then RST_STREAM(NO_ERROR). */
static void test_deadline_mid_body(void **state) {
    fixture_t *f = *state;
    static const uint8_t part[] = {0, 0, 0, 0, 9, 0x0a};
    nghttp2_nv nv = {(uint8_t *)"grpc-timeout", (uint8_t *)"100m", 12, 4,
                     NGHTTP2_NV_FLAG_NONE};
    result_t r;
    memset(&r, 0, sizeof(r));
    assert_true(cfx_h2c_submit(f->client, "test", HEALTH, &nv, 1, part,
                               sizeof(part), 0, &r) > 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 1000 && !r.done; i++) {
        event_base_loop(f->base, EVLOOP_ONCE); /* the expiry timer wakes it */
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 3)
            break;
    }
    assert_true(r.done);
    assert_int_equal(r.grpc_status, 4);
    assert_int_equal(r.rst, NGHTTP2_NO_ERROR);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(ms >= 99); /* not before the deadline */
}

/* Drain: GOAWAY reaches the client, the connection closes, the context
 * frees itself (ASan checks the memory). */
static void test_drain(void **state) {
    fixture_t *f = *state;
    static const uint8_t empty[] = {0, 0, 0, 0, 0};
    result_t r;
    assert_true(call(f, HEALTH, empty, 5, &r) > 0);
    run_until(f, 1);
    assert_int_equal(cfx_grpc_ctx_connections(f->ctx), 1);
    cfx_grpc_ctx_drain(f->ctx);
    f->ctx = NULL; /* frees itself with its last connection */
    for (int i = 0; i < 1000 && !f->closed; i++)
        event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_true(f->closed);
    /* The server side closes once its final GOAWAY is out, 100 ms after
     * the shutdown notice (serve/h2_conn.c); then the context frees itself
     * (the leak check sees it otherwise). */
    struct timeval tv = {0, 500 * 1000};
    event_base_loopexit(f->base, &tv);
    event_base_dispatch(f->base);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_streams, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_chained_from_answer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_client_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversize, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_flow_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_mid_body, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

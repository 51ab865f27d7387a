/*
 * http1_chunked_test.c: serve/http1_chunked.c, the chunked transfer coding
 * decoder: RFC 9112 §7.1 examples fed whole, split at every byte and one
 * byte at a time; hex case, leading zeros, extensions, trailers; where the
 * body ends when a pipelined request follows; every malformation and
 * limit with the HTTP status it maps to; seeded random encodings fed in
 * random pieces (round trip), and the same with a byte mutated (no crash,
 * only the statuses above).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "serve/http1_chunked.h"

/* The example of RFC 9112 §7.1's prose, with an extension and a trailer,
 * followed by the start of a pipelined request. */
static const char WIKI[] = "4\r\nWiki\r\n"
                           "5;name=value;flag\r\npedia\r\n"
                           "E\r\n in\r\n\r\nchunks.\r\n"
                           "0\r\nExpires: never\r\n\r\n";
static const char WIKI_BODY[] = "Wikipedia in\r\n\r\nchunks.";
static const char NEXT[] = "GET / HTTP/1.1\r\n\r\n";

/* Feeds s in pieces of at most `step` bytes (0: whole); returns the last
 * result; *consumed: bytes used in all. */
static int feed(cfx_http1_chunked_t *d, const char *s, size_t len, size_t step,
                cfx_buf_t *body, size_t *consumed, cfx_error_t *err) {
    size_t off = 0;
    int rc = 0;
    *consumed = 0;
    while (off < len) {
        size_t n = step && step < len - off ? step : len - off;
        size_t used = 0;
        rc = cfx_http1_chunked_decode(d, (const uint8_t *)s + off, n, body,
                                      &used, err);
        *consumed += used;
        if (rc != 0)
            return rc;
        assert_int_equal(used, n); /* 0: all of it taken */
        off += n;
    }
    return rc;
}

static void test_wiki_whole_and_pipelined(void **state) {
    (void)state;
    char in[256];
    snprintf(in, sizeof(in), "%s%s", WIKI, NEXT);
    cfx_http1_chunked_t d;
    cfx_buf_t body;
    cfx_buf_init(&body);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_http1_chunked_init(&d, 1024, 1024);
    size_t used = 0;
    assert_int_equal(cfx_http1_chunked_decode(&d, (const uint8_t *)in,
                                              strlen(in), &body, &used, &err),
                     1);
    /* It stops exactly where the next request begins. */
    assert_int_equal(used, strlen(WIKI));
    assert_int_equal(body.len, strlen(WIKI_BODY));
    assert_memory_equal(body.data, WIKI_BODY, body.len);
    assert_int_equal(cfx_http1_chunked_status(&d), 0);
    cfx_buf_free(&body);
}

static void test_wiki_every_split(void **state) {
    (void)state;
    size_t len = strlen(WIKI);
    /* Two pieces split at every offset, then one byte at a time. */
    for (size_t cut = 0; cut <= len; cut++) {
        cfx_http1_chunked_t d;
        cfx_buf_t body;
        cfx_buf_init(&body);
        cfx_error_t err;
        cfx_error_init(&err);
        cfx_http1_chunked_init(&d, 1024, 1024);
        size_t u1 = 0, u2 = 0;
        int rc = cfx_http1_chunked_decode(&d, (const uint8_t *)WIKI, cut, &body,
                                          &u1, &err);
        assert_int_equal(rc, cut == len ? 1 : 0);
        assert_int_equal(u1, cut);
        if (cut < len)
            assert_int_equal(
                cfx_http1_chunked_decode(&d, (const uint8_t *)WIKI + cut,
                                         len - cut, &body, &u2, &err),
                1);
        assert_int_equal(u1 + u2, len);
        assert_int_equal(body.len, strlen(WIKI_BODY));
        assert_memory_equal(body.data, WIKI_BODY, body.len);
        cfx_buf_free(&body);
    }
    cfx_http1_chunked_t d;
    cfx_buf_t body;
    cfx_buf_init(&body);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_http1_chunked_init(&d, 1024, 1024);
    size_t used;
    assert_int_equal(feed(&d, WIKI, len, 1, &body, &used, &err), 1);
    assert_int_equal(used, len);
    assert_memory_equal(body.data, WIKI_BODY, body.len);
    cfx_buf_free(&body);
}

static void test_hex_forms(void **state) {
    (void)state;
    static const struct {
        const char *size;
        size_t want;
    } cases[] = {{"1A", 26},  {"1a", 26},    {"0001a", 26}, {"ff", 255},
                 {"FF", 255}, {"1a \t", 26}, {"1a ; x", 26}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char in[600];
        int n = snprintf(in, sizeof(in), "%s\r\n", cases[i].size);
        memset(in + n, 'x', cases[i].want);
        memcpy(in + n + cases[i].want, "\r\n0\r\n\r\n", 8);
        cfx_http1_chunked_t d;
        cfx_buf_t body;
        cfx_buf_init(&body);
        cfx_error_t err;
        cfx_error_init(&err);
        cfx_http1_chunked_init(&d, 1024, 1024);
        size_t used;
        int rc = feed(&d, in, strlen(in), 0, &body, &used, &err);
        if (rc != 1)
            fail_msg("case '%s': rc %d: %s", cases[i].size, rc, err.msg);
        assert_int_equal(body.len, cases[i].want);
        cfx_buf_free(&body);
    }
}

static void test_empty_body(void **state) {
    (void)state;
    cfx_http1_chunked_t d;
    cfx_buf_t body;
    cfx_buf_init(&body);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_http1_chunked_init(&d, 0, 0);
    size_t used;
    /* max_body 0 still allows an empty body; max_trailer 0 refuses any
     * trailer (even the final CRLF counts). */
    assert_int_equal(feed(&d, "000\r\n", 5, 0, &body, &used, &err), 0);
    assert_int_equal(body.len, 0);
    assert_int_equal(feed(&d, "\r\n", 2, 0, &body, &used, &err), CFX_ETOOBIG);
    assert_int_equal(cfx_http1_chunked_status(&d), 431);
    cfx_http1_chunked_init(&d, 0, 2);
    assert_int_equal(feed(&d, "0\r\n\r\n", 5, 0, &body, &used, &err), 1);
    assert_int_equal(body.len, 0);
    cfx_buf_free(&body);
}

static void test_errors(void **state) {
    (void)state;
    static const struct {
        const char *in;
        int code;
        int status;
    } cases[] = {
        /* A bare LF ends no line here. */
        {"4\nWiki\r\n0\r\n\r\n", CFX_EPARSE, 400},
        {"4\r\nWiki\n0\r\n\r\n", CFX_EPARSE, 400},
        {"4\r\nWiki\r\n0\n\r\n", CFX_EPARSE, 400},
        {"4\r\nWiki\r\n0\r\n\n", CFX_EPARSE, 400},
        {"4\r\nWiki\r\n0\r\nX: y\n\r\n", CFX_EPARSE, 400},
        /* Bare CR. */
        {"4\rWiki\r\n0\r\n\r\n", CFX_EPARSE, 400},
        /* Data longer than its size. */
        {"4\r\nWikipedia\r\n0\r\n\r\n", CFX_EPARSE, 400},
        /* No size, not hex, signs, prefixes. */
        {"\r\n", CFX_EPARSE, 400},
        {";x\r\n", CFX_EPARSE, 400},
        {" 4\r\nWiki\r\n", CFX_EPARSE, 400},
        {"G\r\n", CFX_EPARSE, 400},
        {"-1\r\n", CFX_EPARSE, 400},
        {"+4\r\n", CFX_EPARSE, 400},
        {"0x4\r\n", CFX_EPARSE, 400},
        {"4 x\r\n", CFX_EPARSE, 400},
        /* 17 significant digits do not fit 64 bits; 20 neither. */
        {"10000000000000000\r\n", CFX_EPARSE, 400},
        {"FFFFFFFFFFFFFFFFFFFF\r\n", CFX_EPARSE, 400},
        /* Fits, but over the body limit (1024). */
        {"401\r\n", CFX_ETOOBIG, 413},
        {"FFFFFFFFFFFFFFFF\r\n", CFX_ETOOBIG, 413},
        /* Control characters in an extension or a trailer. */
        {"4;a=\x01\r\nWiki\r\n0\r\n\r\n", CFX_EPARSE, 400},
        {"0\r\nX: a\x7f\r\n\r\n", CFX_EPARSE, 400},
        /* Malformed trailer lines: obs-fold, no colon, space before it. */
        {"0\r\n folded\r\n\r\n", CFX_EPARSE, 400},
        {"0\r\nNoColon\r\n\r\n", CFX_EPARSE, 400},
        {"0\r\nX : y\r\n\r\n", CFX_EPARSE, 400},
        {"0\r\n: y\r\n\r\n", CFX_EPARSE, 400},
        {"0\r\n\r\r", CFX_EPARSE, 400},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t step = 0; step <= 1; step++) {
            cfx_http1_chunked_t d;
            cfx_buf_t body;
            cfx_buf_init(&body);
            cfx_error_t err;
            cfx_error_init(&err);
            cfx_http1_chunked_init(&d, 1024, 1024);
            size_t used;
            int rc = feed(&d, cases[i].in, strlen(cases[i].in), step, &body,
                          &used, &err);
            if (rc != cases[i].code ||
                cfx_http1_chunked_status(&d) != cases[i].status)
                fail_msg("case %zu step %zu: rc %d status %d (%s)", i, step, rc,
                         cfx_http1_chunked_status(&d), err.msg);
            assert_non_null(strstr(err.msg, "chunked body"));
            /* A failed decoder stays failed. */
            size_t u;
            assert_true(cfx_http1_chunked_decode(&d, (const uint8_t *)"0", 1,
                                                 &body, &u, &err) < 0);
            assert_int_equal(u, 0);
            cfx_buf_free(&body);
        }
    }
}

static void test_error_names_the_byte(void **state) {
    (void)state;
    cfx_http1_chunked_t d;
    cfx_buf_t body;
    cfx_buf_init(&body);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_http1_chunked_init(&d, 1024, 1024);
    size_t used;
    /* "4\r\nWiki" is bytes 0-6; the byte after the data (7) must be CR. */
    const char *in = "4\r\nWikiX";
    assert_int_equal(feed(&d, in, strlen(in), 1, &body, &used, &err),
                     CFX_EPARSE);
    assert_non_null(strstr(err.msg, "byte 7"));
    assert_non_null(strstr(err.msg, "0x58"));
    cfx_buf_free(&body);
}

static void test_limit(void **state) {
    (void)state;
    /* Two chunks of 512 fill a 1024 limit exactly; one more byte is 413,
     * caught on the size line before any of its data arrives. */
    char in[1200];
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        memcpy(in + n, "200\r\n", 5);
        n += 5;
        memset(in + n, 'a' + k, 512);
        n += 512;
        memcpy(in + n, "\r\n", 2);
        n += 2;
    }
    cfx_http1_chunked_t d;
    cfx_buf_t body;
    cfx_buf_init(&body);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_http1_chunked_init(&d, 1024, 1024);
    size_t used;
    memcpy(in + n, "0\r\n\r\n", 5);
    assert_int_equal(feed(&d, in, n + 5, 7, &body, &used, &err), 1);
    assert_int_equal(body.len, 1024);
    assert_int_equal(body.data[511], 'a');
    assert_int_equal(body.data[512], 'b');
    cfx_buf_reset(&body);
    cfx_http1_chunked_init(&d, 1024, 1024);
    memcpy(in + n, "1\r\n", 3);
    assert_int_equal(feed(&d, in, n + 3, 0, &body, &used, &err), CFX_ETOOBIG);
    assert_int_equal(cfx_http1_chunked_status(&d), 413);
    assert_int_equal(body.len, 1024);
    cfx_buf_free(&body);
}

static void test_line_and_trailer_bounds(void **state) {
    (void)state;
    cfx_http1_chunked_t d;
    cfx_buf_t body;
    cfx_buf_init(&body);
    cfx_error_t err;
    cfx_error_init(&err);
    size_t used;
    /* Leading zeros and extensions count toward the size line. */
    static char line[CFX_HTTP1_CHUNK_LINE_MAX + 8];
    memset(line, '0', sizeof(line));
    cfx_http1_chunked_init(&d, 1024, 1024);
    assert_int_equal(feed(&d, line, sizeof(line), 100, &body, &used, &err),
                     CFX_EPARSE);
    assert_int_equal(cfx_http1_chunked_status(&d), 400);
    assert_non_null(strstr(err.msg, "too long"));
    memset(line, 'e', sizeof(line));
    memcpy(line, "1;", 2);
    cfx_http1_chunked_init(&d, 1024, 1024);
    assert_int_equal(feed(&d, line, sizeof(line), 0, &body, &used, &err),
                     CFX_EPARSE);
    /* Just under the bound is fine: digits, ';', text, CRLF. */
    memset(line, 'e', CFX_HTTP1_CHUNK_LINE_MAX);
    memcpy(line, "1;", 2);
    memcpy(line + CFX_HTTP1_CHUNK_LINE_MAX - 2, "\r\nx\r\n0\r\n\r\n", 10);
    cfx_http1_chunked_init(&d, 1024, 1024);
    assert_int_equal(
        feed(&d, line, CFX_HTTP1_CHUNK_LINE_MAX + 8, 0, &body, &used, &err), 1);
    assert_int_equal(body.len, 1);
    /* Trailer section: "X: 12345\r\n\r\n" is 12 bytes. */
    const char *tr = "0\r\nX: 12345\r\n\r\n";
    cfx_http1_chunked_init(&d, 1024, 12);
    assert_int_equal(feed(&d, tr, strlen(tr), 0, &body, &used, &err), 1);
    cfx_http1_chunked_init(&d, 1024, 11);
    assert_int_equal(feed(&d, tr, strlen(tr), 0, &body, &used, &err),
                     CFX_ETOOBIG);
    assert_int_equal(cfx_http1_chunked_status(&d), 431);
    cfx_buf_free(&body);
}

/* xorshift64: one seed, one sequence. */
static uint64_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A random chunked encoding of body[0, len) into out (cap bytes); its
 * length. */
static size_t encode_random(uint64_t *seed, const uint8_t *body, size_t len,
                            uint8_t *out, size_t cap) {
    size_t n = 0, i = 0;
    while (i <= len) {
        size_t c = i == len ? 0 : 1 + rnd(seed) % 700;
        if (c > len - i)
            c = len - i;
        n += (size_t)snprintf((char *)out + n, cap - n,
                              rnd(seed) % 2 ? "%0*zX" : "%0*zx",
                              (int)(rnd(seed) % 4), c);
        if (rnd(seed) % 3 == 0)
            n += (size_t)snprintf((char *)out + n, cap - n, " ;k%d=\"v\"",
                                  (int)(rnd(seed) % 100));
        memcpy(out + n, "\r\n", 2);
        n += 2;
        if (c == 0)
            break;
        memcpy(out + n, body + i, c);
        n += c;
        memcpy(out + n, "\r\n", 2);
        n += 2;
        i += c;
    }
    for (int t = (int)(rnd(seed) % 3); t > 0; t--)
        n += (size_t)snprintf((char *)out + n, cap - n, "X-T%d: %d\r\n", t,
                              (int)(rnd(seed) % 1000));
    memcpy(out + n, "\r\n", 2);
    return n + 2;
}

static void test_random(void **state) {
    (void)state;
    enum { BODY_MAX = 3000, ENC_MAX = 20000 };
    static uint8_t body[BODY_MAX], enc[ENC_MAX + 8];
    uint64_t seed = 0x9e3779b97f4a7c15u;
    cfx_buf_t out;
    cfx_buf_init(&out);
    for (int iter = 0; iter < 400; iter++) {
        size_t len = rnd(&seed) % BODY_MAX;
        for (size_t i = 0; i < len; i++)
            body[i] = (uint8_t)rnd(&seed);
        size_t n = encode_random(&seed, body, len, enc, ENC_MAX);
        memcpy(enc + n, "GET ", 4); /* a pipelined request after it */
        int mutate = iter % 2;
        size_t at = rnd(&seed) % n;
        uint8_t was = enc[at];
        if (mutate)
            enc[at] = (uint8_t)rnd(&seed);
        cfx_http1_chunked_t d;
        cfx_error_t err;
        cfx_error_init(&err);
        cfx_http1_chunked_init(&d, BODY_MAX, 64);
        cfx_buf_reset(&out);
        size_t off = 0;
        int rc = 0;
        while (off < n + 4) {
            size_t piece = 1 + rnd(&seed) % 50, used = 0;
            if (piece > n + 4 - off)
                piece = n + 4 - off;
            rc = cfx_http1_chunked_decode(&d, enc + off, piece, &out, &used,
                                          &err);
            assert_true(used <= piece);
            off += used;
            if (rc != 0)
                break;
            assert_int_equal(used, piece);
        }
        assert_true(out.len <= BODY_MAX);
        if (!mutate || enc[at] == was) {
            if (rc != 1 || off != n || out.len != len ||
                (len && memcmp(out.data, body, len)))
                fail_msg("iter %d: rc %d off %zu/%zu len %zu/%zu (%s)", iter,
                         rc, off, n, out.len, len, err.msg);
        } else if (rc < 0) {
            int st = cfx_http1_chunked_status(&d);
            assert_true(st == 400 || st == 413 || st == 431);
        } else if (rc == 1) {
            assert_true(off <= n + 4);
        }
    }
    cfx_buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wiki_whole_and_pipelined),
        cmocka_unit_test(test_wiki_every_split),
        cmocka_unit_test(test_hex_forms),
        cmocka_unit_test(test_empty_body),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_names_the_byte),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_line_and_trailer_bounds),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

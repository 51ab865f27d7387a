/*
 * pusher_s3_test.c: cfx_pusher_push_s3 (push/pusher_s3.c) against a small
 * in-process HTTP server that answers ListObjectsV2 with a fixed page and
 * records every PUT, so the version the pusher picks and the order of its
 * uploads are seen as the store sees them. The server's listing holds a
 * key shorter than the prefix asked for, as a store that does not filter
 * by prefix would send: it must be skipped, not read past its end.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "push/pusher.h"
#include "test_util.h"

#define MAX_PUTS 8

typedef struct server {
    int fd;
    int port;
    const char *listing; /* the ListBucketResult body */
    char puts[MAX_PUTS][256];
    size_t nputs;
    int lists;
    pthread_t th;
} server_t;

/* Reads one request's head into buf; its Content-Length in *clen. */
static int read_head(int c, char *buf, size_t cap, size_t *clen) {
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t k = read(c, buf + n, 1);
        if (k <= 0)
            return -1;
        n++;
        buf[n] = 0;
        if (n >= 4 && !memcmp(buf + n - 4, "\r\n\r\n", 4))
            break;
    }
    *clen = 0;
    const char *h = strcasestr(buf, "\r\ncontent-length:");
    if (h)
        *clen = (size_t)strtoul(h + 17, NULL, 10);
    return 0;
}

static void answer(int c, int status, const char *body) {
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, strlen(body));
    if (write(c, head, (size_t)n) < 0 || write(c, body, strlen(body)) < 0)
        return;
}

/* One request per connection until the listening socket is shut down. */
static void *serve(void *arg) {
    server_t *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char head[8192], body[4096];
        size_t clen = 0;
        if (read_head(c, head, sizeof(head), &clen) == 0) {
            for (size_t got = 0; got < clen;) {
                size_t want =
                    clen - got < sizeof(body) ? clen - got : sizeof(body);
                ssize_t k = read(c, body, want);
                if (k <= 0)
                    break;
                got += (size_t)k;
            }
            if (!strncmp(head, "GET /bucket?", 12)) {
                s->lists++;
                answer(c, 200, s->listing);
            } else if (!strncmp(head, "PUT /bucket/", 12) &&
                       s->nputs < MAX_PUTS) {
                size_t l = strcspn(head + 12, " ");
                snprintf(s->puts[s->nputs++], sizeof(s->puts[0]), "%.*s",
                         (int)l, head + 12);
                answer(c, 200, "");
            } else {
                answer(c, 400, "");
            }
        }
        close(c);
    }
}

static void server_start(server_t *s, const char *listing) {
    memset(s, 0, sizeof(*s));
    s->listing = listing;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_stop(server_t *s) {
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->th, NULL);
    close(s->fd);
}

static void s3_env(int port) {
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
    setenv("S3_ENDPOINT", ep, 1);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_REGION");
    unsetenv("S3_REGION");
}

CFX_TEST_TMPDIR_FIXTURE(tmp, 512, "cfx-pusher-s3")

static void test_push_next_version(void **state) {
    (void)state;
    const char *dir = tmp;
    /* a version 3 under the prefix, a push under way (7, no manifest) of
     * another prefix, and keys a store that does not filter by prefix
     * could send, one shorter than the prefix */
    static const char listing[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<ListBucketResult><IsTruncated>false</IsTruncated>"
        "<Contents><Key>a</Key><Size>1</Size></Contents>"
        "<Contents><Key>serving/taxi/3/manifest.json</Key><Size>9</Size>"
        "</Contents>"
        "<Contents><Key>serving/taxi/3/x.bin</Key><Size>3</Size></Contents>"
        "<Contents><Key>serving/other/7/x.bin</Key><Size>3</Size></Contents>"
        "</ListBucketResult>";
    server_t s;
    server_start(&s, listing);
    s3_env(s.port);
    cfx_test_write_file_in(dir, "x.bin", "abc");
    cfx_test_write_file_in(
        dir, "manifest.json",
        "{\"files\": {\"x.bin\": {\"size\": 3, \"sha256\": "
        "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\""
        "}}}");
    cfx_error_t err;
    cfx_error_init(&err);
    int64_t v = 0;
    char dest[256] = "";
    int rc = cfx_pusher_push_s3(dir, "s3://bucket/serving/taxi", &v, dest,
                                sizeof(dest), &err);
    server_stop(&s);
    CFX_TEST_OK(rc, err);
    assert_int_equal(v, 4);
    assert_string_equal(dest, "s3://bucket/serving/taxi/4");
    assert_int_equal(s.lists, 1);
    assert_int_equal(s.nputs, 2);
    assert_string_equal(s.puts[0], "serving/taxi/4/x.bin");
    assert_string_equal(s.puts[1], "serving/taxi/4/manifest.json");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_push_next_version, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

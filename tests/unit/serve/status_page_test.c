/*
 * status_page_test.c: the status page (serve/status_page.c) of a model
 * whose only version fails to load from a base path that is not UTF-8
 * (a folder name in Latin-1): the version must still be listed, in the
 * JSON twin and on the HTML page, with its load error, the byte that is
 * not UTF-8 shown as U+FFFD; a load error cut at the status's length
 * inside a character. The recent request rate, on a clock the test moves:
 * over the uptime in the first minute, then over the last 60 to 61 s only.
 * Out of memory at every allocation of a render in turn: the answer is
 * the whole page with 200 or a short error with 500, never part of a
 * page.
 *
 * Failing allocations: this test is linked with --wrap=malloc, calloc and
 * realloc (CMakeLists.txt), so every call the cfx libraries make goes
 * through __wrap_* below; jansson gets the same through
 * json_set_alloc_funcs. Only the test's own thread is counted, so the
 * manager's threads never see a failure.
 */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "formats/buf.h"
#include "serve/config.h"
#include "serve/metrics.h"
#include "serve/model_manager.h"
#include "serve/server.h"
#include "serve/status_page.h"
#include "test_util.h"

CFX_TEST_TMPDIR_FIXTURE(root, 512, "cfx-status-page-test")

/* --- failing allocations -------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

/* > 0: allocations on this thread until the one that fails (then 0 again) */
static _Thread_local long fail_in;
static _Thread_local int failed;

static int fail_now(void) {
    if (fail_in <= 0 || --fail_in > 0)
        return 0;
    failed = 1;
    return 1;
}

void *__wrap_malloc(size_t n) {
    return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size) {
    return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n) {
    return fail_now() ? NULL : __real_realloc(p, n);
}

/* jansson's allocations, counted by __wrap_malloc like the rest */
static void *json_malloc(size_t n) {
    return malloc(n);
}

/* --- a server of one broken model ---------------------------------------- */

/* A manager of model "taxi" at base (an existing folder) whose only
 * version, 1, has a manifest that is not JSON; started, with its first
 * load over (it fails). */
static cfx_manager_t *start_broken(const char *base, cfx_metrics_t *metrics,
                                   cfx_model_list_t *l) {
    char dir[1000];
    snprintf(dir, sizeof dir, "%s/1", base);
    assert_int_equal(mkdir(dir, 0755), 0);
    cfx_test_write_file_in(dir, "manifest.json", "{ not json");
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_model_list_single(l, "taxi", base, &err), 0);
    cfx_manager_options_t o = {.file_system_poll_wait_seconds = -1,
                               .metrics = metrics};
    cfx_manager_t *m = NULL;
    assert_int_equal(cfx_manager_new(&o, l, &m, &err), 0);
    assert_int_equal(cfx_manager_start(m, &err), 0);
    /* no version becomes AVAILABLE: the wait's verdict is an error */
    cfx_manager_wait_initial(m, 10000, &err);
    return m;
}

/* A server struct for the status page: manager m, metrics, and the flags
 * of model "taxi" at base (name and base point into the caller's). */
static void server_of(cfx_server_t *srv, cfx_manager_t *m,
                      cfx_metrics_t *metrics, char *name, char *base) {
    memset(srv, 0, sizeof *srv);
    srv->manager = m;
    srv->metrics = metrics;
    srv->opts.model_name = name;
    srv->opts.model_base_path = base;
}

typedef struct fake_clock {
    uint64_t us;
} fake_clock_t;

static uint64_t fake_now(void *arg) {
    return ((fake_clock_t *)arg)->us;
}

/* A server of the broken model "taxi" at root/folder (made here), with
 * its own metrics (on clk's time when clk is not NULL). */
typedef struct broken {
    char base[700];
    char name[8];
    cfx_metrics_t *metrics;
    cfx_model_list_t l;
    cfx_manager_t *m;
    cfx_server_t srv;
} broken_t;

static void broken_up(broken_t *b, const char *folder, fake_clock_t *clk) {
    snprintf(b->base, sizeof b->base, "%s/%s", root, folder);
    assert_int_equal(mkdir(b->base, 0755), 0);
    snprintf(b->name, sizeof b->name, "taxi");
    b->metrics = NULL;
    assert_int_equal(cfx_metrics_new(&b->metrics), 0);
    if (clk)
        cfx_metrics_set_clock(b->metrics, fake_now, clk);
    b->m = start_broken(b->base, b->metrics, &b->l);
    server_of(&b->srv, b->m, b->metrics, b->name, b->base);
}

static void broken_down(broken_t *b) {
    cfx_manager_free(b->m);
    cfx_model_list_free(&b->l);
    cfx_metrics_free(b->metrics);
}

/* The answer to GET / (html) or GET /v1/status, which must be 200 with
 * its content type, NUL-terminated in out. */
static void respond_ok(cfx_server_t *srv, int html, cfx_buf_t *out) {
    const char *ctype = NULL;
    assert_int_equal(cfx_status_page_respond(srv, html, out, &ctype), 200);
    assert_string_equal(ctype,
                        html ? "text/html; charset=utf-8" : "application/json");
    assert_int_equal(cfx_buf_cstr(out), 0);
}

static void test_error_not_utf8(void **state) {
    (void)state;
    broken_t b;
    broken_up(&b, "mod\xe9les", NULL); /* "modèles", Latin-1 */
    cfx_server_t *srv = &b.srv;

    cfx_buf_t out;
    cfx_buf_init(&out);
    respond_ok(srv, 0, &out);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)out.data, out.len, 0, &jerr);
    assert_non_null(doc);
    json_t *models = json_object_get(doc, "models");
    assert_int_equal(json_array_size(models), 1);
    json_t *vs = json_object_get(json_array_get(models, 0), "versions");
    assert_int_equal(json_array_size(vs), 1);
    json_t *v = json_array_get(vs, 0);
    assert_int_equal(json_integer_value(json_object_get(v, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(v, "state")), "END");
    const char *msg = json_string_value(json_object_get(v, "error_message"));
    assert_non_null(msg);
    char want[800];
    snprintf(want, sizeof want, "%s/mod\xef\xbf\xbdles/1/manifest.json", root);
    if (!strstr(msg, want))
        fail_msg("error_message %s lacks %s", msg, want);
    json_decref(doc);

    respond_ok(srv, 1, &out);
    const char *html = (const char *)out.data;
    assert_non_null(strstr(html, "<tr data-model=\"taxi\">"));
    assert_non_null(strstr(html, "<span class=\"badge END\">END</span>"));
    assert_non_null(strstr(html, want));
    assert_null(strstr(html, "no version yet"));

    cfx_buf_free(&out);
    broken_down(&b);
}

/* A load error longer than the 500 bytes a version's status keeps, cut
 * inside a two-byte character (a base path of "é" folders, with and
 * without one ASCII byte before them, so one of the two cuts lands in the
 * middle of a character): GetModelStatus's message must still be UTF-8
 * (jansson's json_string, which refuses anything else, is the check). */
static void test_long_error_cut_on_a_character(void **state) {
    (void)state;
    char e120[241];
    for (size_t i = 0; i < 120; i++)
        memcpy(e120 + 2 * i, "\xc3\xa9", 2);
    e120[240] = '\0';
    for (int pad = 0; pad < 2; pad++) {
        char base[900];
        snprintf(base, sizeof base, "%s/%s%s", root, pad ? "x" : "", e120);
        assert_int_equal(mkdir(base, 0755), 0);
        snprintf(base + strlen(base), sizeof base - strlen(base), "/%s", e120);
        assert_int_equal(mkdir(base, 0755), 0);
        cfx_model_list_t l;
        cfx_manager_t *m = start_broken(base, NULL, &l);
        cfx_error_t err;
        cfx_error_init(&err);
        cfx_version_status_t *st = NULL;
        size_t n = 0;
        CFX_TEST_OK(cfx_manager_status(m, "taxi", -1, &st, &n, &err), err);
        assert_int_equal(n, 1);
        size_t len = strlen(st[0].error_message);
        print_message("pad %d: error of %zu bytes\n", pad, len);
        assert_true(len >= 499 && len <= 500);
        json_t *j = json_string(st[0].error_message);
        if (!j)
            fail_msg("pad %d: the error is not UTF-8: %s", pad,
                     st[0].error_message);
        json_decref(j);
        free(st);
        cfx_manager_free(m);
        cfx_model_list_free(&l);
    }
}

/* --- the recent rate ------------------------------------------------------ */

/* The row of model "taxi", api and entrypoint in the JSON document. */
static json_t *row_of(json_t *doc, const char *api, const char *entrypoint) {
    json_t *req = json_object_get(doc, "requests");
    for (size_t i = 0; i < json_array_size(req); i++) {
        json_t *r = json_array_get(req, i);
        if (!strcmp(json_string_value(json_object_get(r, "model")), "taxi") &&
            !strcmp(json_string_value(json_object_get(r, "api")), api) &&
            !strcmp(json_string_value(json_object_get(r, "entrypoint")),
                    entrypoint))
            return r;
    }
    fail_msg("no row taxi/%s/%s", api, entrypoint);
    return NULL;
}

/* The JSON twin's number at key of obj, checked against want to a relative
 * 1e-5 (the document prints 6 significant digits). */
static void assert_near(const json_t *obj, const char *key, double want) {
    const json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        fail_msg("%s: not a number", key);
    double got = json_number_value(v);
    print_message("%s: %.6g, want %.6g\n", key, got, want);
    if (fabs(got - want) > 1e-5 * fabs(want) + 1e-12)
        fail_msg("%s: %.9g, want %.9g", key, got, want);
}

static json_t *status_json(cfx_server_t *srv, cfx_buf_t *out) {
    respond_ok(srv, 0, out);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)out->data, out->len, 0, &jerr);
    if (!doc)
        fail_msg("/v1/status is not JSON: %s", jerr.text);
    return doc;
}

static void assert_in_html(cfx_server_t *srv, cfx_buf_t *out,
                           const char *want) {
    respond_ok(srv, 1, out);
    if (!strstr((const char *)out->data, want))
        fail_msg("the page lacks %s", want);
}

#define SEC 1000000ull

/* Requests at known times of a clock the test moves. In the first 12.5 s
 * the window is the uptime; at 100.5 s it is 40 s to 100.5 s (the current
 * second and the 60 before it), which the requests at 39.9 s and before
 * fall out of, and the average since start (67 requests in 100.5 s here,
 * 67 over the process's uptime on the page) is another number. */
static void test_recent_rate(void **state) {
    (void)state;
    fake_clock_t clk = {1000 * SEC};
    const uint64_t t0 = clk.us;
    broken_t b;
    broken_up(&b, "models", &clk);
    cfx_server_t *srv = &b.srv;
    cfx_metrics_t *metrics = b.metrics;
    cfx_buf_t out;
    cfx_buf_init(&out);

    /* the first minute: 25 predict calls 0.48 s apart, 5 gRPC Classify
     * calls, 3 failed predict calls (not counted: successful requests
     * only), read at 12.5 s */
    for (uint64_t i = 0; i < 25; i++) {
        clk.us = t0 + i * 480000;
        cfx_metrics_record(metrics, "taxi", "predict", "REST", 0, 900);
    }
    for (uint64_t i = 0; i < 5; i++) {
        clk.us = t0 + 2 * SEC + i * SEC;
        cfx_metrics_record(metrics, "taxi", "Classify", "GRPC", 0, 700);
        if (i < 3)
            cfx_metrics_record(metrics, "taxi", "predict", "REST", 3, 50);
    }
    clk.us = t0 + 12 * SEC + SEC / 2;
    json_t *doc = status_json(srv, &out);
    assert_near(doc, "rate_window_seconds", 12.5);
    assert_near(row_of(doc, "predict", "REST"), "rate_per_second_1m",
                25 / 12.5);
    assert_near(row_of(doc, "Classify", "GRPC"), "rate_per_second_1m",
                5 / 12.5);
    json_decref(doc);
    assert_in_html(srv, &out,
                   "<th id=\"rate-window\">per second, last 12.5 s (since "
                   "start)</th>");
    assert_in_html(srv, &out,
                   "<td>taxi</td><td>predict</td><td>REST</td><td "
                   "class=\"num\">25</td><td class=\"num\">2</td>");

    /* later: 11 calls from 30 s to 39.9 s (out of the window read at
     * 100.5 s), one at 40 s and 30 from 70 s to 99 s (in it), 4 failed
     * ones in it; nothing more for Classify */
    for (uint64_t i = 0; i < 10; i++) {
        clk.us = t0 + (30 + i) * SEC;
        cfx_metrics_record(metrics, "taxi", "predict", "REST", 0, 900);
    }
    clk.us = t0 + 39 * SEC + 900000;
    cfx_metrics_record(metrics, "taxi", "predict", "REST", 0, 900);
    clk.us = t0 + 40 * SEC;
    cfx_metrics_record(metrics, "taxi", "predict", "REST", 0, 900);
    for (uint64_t i = 0; i < 30; i++) {
        clk.us = t0 + (70 + i) * SEC;
        cfx_metrics_record(metrics, "taxi", "predict", "REST", 0, 900);
        if (i < 4)
            cfx_metrics_record(metrics, "taxi", "predict", "REST", 3, 50);
    }
    clk.us = t0 + 100 * SEC + SEC / 2;
    doc = status_json(srv, &out);
    json_t *r = row_of(doc, "predict", "REST");
    assert_int_equal((int)json_number_value(json_object_get(r, "count")), 67);
    assert_near(doc, "rate_window_seconds", 60.5);
    assert_near(r, "rate_per_second_1m", 31 / 60.5);
    /* not the average since start, on either clock */
    double rate = json_number_value(json_object_get(r, "rate_per_second_1m"));
    assert_true(fabs(rate - 67 / 100.5) > 0.1);
    assert_true(fabs(rate - json_number_value(
                                json_object_get(r, "rate_per_second"))) > 0.01);
    assert_near(row_of(doc, "Classify", "GRPC"), "rate_per_second_1m", 0);
    json_decref(doc);
    assert_in_html(srv, &out,
                   "<th id=\"rate-window\">per second, last 60 s</th>");
    assert_in_html(srv, &out,
                   "<td>taxi</td><td>predict</td><td>REST</td><td "
                   "class=\"num\">67</td><td class=\"num\">0.512</td>");

    /* idle for 15 minutes: nothing in the window */
    clk.us = t0 + 1000 * SEC;
    doc = status_json(srv, &out);
    assert_near(doc, "rate_window_seconds", 60);
    assert_near(row_of(doc, "predict", "REST"), "rate_per_second_1m", 0);
    json_decref(doc);

    cfx_buf_free(&out);
    broken_down(&b);
}

/* --- out of memory -------------------------------------------------------- */

/* s with every number (digits, a fraction, an exponent) as "#": the
 * uptime and the rate since start change from one render to the next. */
static char *mask_numbers(const char *s) {
    char *o = malloc(strlen(s) + 1), *w = o;
    assert_non_null(o);
    while (*s) {
        if (*s < '0' || *s > '9') {
            *w++ = *s++;
            continue;
        }
        while ((*s >= '0' && *s <= '9') || *s == '.')
            s++;
        if (*s == 'e' && (s[1] == '+' || s[1] == '-'))
            for (s += 2; *s >= '0' && *s <= '9';)
                s++;
        *w++ = '#';
    }
    *w = 0;
    return o;
}

/* Renders with the k-th allocation failing, k = 1, 2, ... until a render
 * makes fewer: each answer must be 500 with the short error, or 200 with
 * the whole page (numbers aside, the same as without a failure). */
static void sweep(cfx_server_t *srv, int html) {
    const char *want_err =
        html ? "cfx-serve: the status page failed: out of memory\n"
             : "{\n    \"error\": \"status page: out of memory\"\n}";
    cfx_buf_t out;
    cfx_buf_init(&out);
    respond_ok(srv, html, &out);
    char *want = mask_numbers((const char *)out.data);
    cfx_buf_free(&out);
    long k, n500 = 0, n200 = 0;
    for (k = 1;; k++) {
        if (k > 100000)
            fail_msg("a render of more than 100,000 allocations");
        const char *ctype = NULL;
        cfx_buf_init(&out);
        failed = 0;
        fail_in = k;
        int http = cfx_status_page_respond(srv, html, &out, &ctype);
        fail_in = 0;
        assert_int_equal(cfx_buf_cstr(&out), 0);
        const char *body = (const char *)out.data;
        if (http == 500) {
            if (!failed)
                fail_msg("500 with no allocation failing");
            n500++;
            assert_string_equal(ctype, html ? "text/plain; charset=utf-8"
                                            : "application/json");
            if (strcmp(body, want_err))
                fail_msg("allocation %ld failing: a 500 with %s", k, body);
        } else {
            if (http != 200)
                fail_msg("allocation %ld failing: HTTP %d", k, http);
            char *got = mask_numbers(body);
            if (strcmp(got, want))
                fail_msg("allocation %ld failing: a 200 that is not the "
                         "whole page:\n%s\nwant\n%s",
                         k, got, want);
            free(got);
            n200 += failed;
        }
        cfx_buf_free(&out);
        if (!failed)
            break;
    }
    print_message("%s: %ld allocations; failing one answered 500 %ld times, "
                  "the whole page %ld times\n",
                  html ? "HTML" : "JSON", k - 1, n500, n200);
    assert_true(n500 > 0);
    free(want);
}

static void test_out_of_memory(void **state) {
    (void)state;
    broken_t b;
    broken_up(&b, "models", NULL);
    cfx_server_t *srv = &b.srv;
    cfx_metrics_t *metrics = b.metrics;
    for (int i = 0; i < 20; i++) {
        cfx_metrics_record(metrics, "taxi", "predict", "REST", 0, 100 + i);
        cfx_metrics_record(metrics, "taxi", "Classify", "GRPC", i % 3, 300);
    }
    json_set_alloc_funcs(json_malloc, free);
    sweep(srv, 0);
    sweep(srv, 1);
    json_set_alloc_funcs(malloc, free);
    broken_down(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_error_not_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_error_cut_on_a_character,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_recent_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

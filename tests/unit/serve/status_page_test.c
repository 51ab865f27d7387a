/*
 * status_page_test.c: the status page (serve/status_page.c) of a model
 * whose only version fails to load from a base path that is not UTF-8
 * (a folder name in Latin-1): the version must still be listed, in the
 * JSON twin and on the HTML page, with its load error, the byte that is
 * not UTF-8 shown as U+FFFD; a load error cut at the status's length
 * inside a character.
 */
#include <jansson.h>
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

static void test_error_not_utf8(void **state) {
    (void)state;
    char base[700];
    snprintf(base, sizeof base, "%s/mod\xe9les", root); /* "modèles", Latin-1 */
    assert_int_equal(mkdir(base, 0755), 0);
    cfx_metrics_t *metrics = NULL;
    assert_int_equal(cfx_metrics_new(&metrics), 0);
    cfx_model_list_t l;
    cfx_manager_t *m = start_broken(base, metrics, &l);

    cfx_server_t srv;
    memset(&srv, 0, sizeof srv);
    srv.manager = m;
    srv.metrics = metrics;
    char name[] = "taxi";
    srv.opts.model_name = name;
    srv.opts.model_base_path = base;

    cfx_buf_t out;
    cfx_buf_init(&out);
    assert_int_equal(cfx_status_page_render(&srv, 0, &out), 0);
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

    cfx_buf_reset(&out);
    assert_int_equal(cfx_status_page_render(&srv, 1, &out), 0);
    assert_int_equal(cfx_buf_cstr(&out), 0);
    const char *html = (const char *)out.data;
    assert_non_null(strstr(html, "<tr data-model=\"taxi\">"));
    assert_non_null(strstr(html, "<span class=\"badge END\">END</span>"));
    assert_non_null(strstr(html, want));
    assert_null(strstr(html, "no version yet"));

    cfx_buf_free(&out);
    cfx_manager_free(m);
    cfx_model_list_free(&l);
    cfx_metrics_free(metrics);
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_error_not_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_error_cut_on_a_character,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

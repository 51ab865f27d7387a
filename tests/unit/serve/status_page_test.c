/*
 * status_page_test.c: the status page (serve/status_page.c) of a model
 * whose only version fails to load from a base path that is not UTF-8
 * (a folder name in Latin-1): the version must still be listed, in the
 * JSON twin and on the HTML page, with its load error, the byte that is
 * not UTF-8 shown as U+FFFD.
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

static void test_error_not_utf8(void **state) {
    (void)state;
    char base[700], dir[800];
    snprintf(base, sizeof base, "%s/mod\xe9les", root); /* "modèles", Latin-1 */
    assert_int_equal(mkdir(base, 0755), 0);
    snprintf(dir, sizeof dir, "%s/1", base);
    assert_int_equal(mkdir(dir, 0755), 0);
    cfx_test_write_file_in(dir, "manifest.json", "{ not json");

    cfx_error_t err;
    cfx_error_init(&err);
    cfx_metrics_t *metrics = NULL;
    assert_int_equal(cfx_metrics_new(&metrics), 0);
    cfx_model_list_t l;
    assert_int_equal(cfx_model_list_single(&l, "taxi", base, &err), 0);
    cfx_manager_options_t o = {.file_system_poll_wait_seconds = -1,
                               .metrics = metrics};
    cfx_manager_t *m = NULL;
    assert_int_equal(cfx_manager_new(&o, &l, &m, &err), 0);
    assert_int_equal(cfx_manager_start(m, &err), 0);
    /* no version becomes AVAILABLE: the wait's verdict is an error */
    cfx_manager_wait_initial(m, 10000, &err);

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_error_not_utf8, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tft_spec_task_test.c: the label of a transform spec taken from a column
 * with its task (transform/tft_spec.h): multiclass, regression and binary,
 * an explicit label_vocabulary, and the errors naming the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "transform/tft_spec.h"

#define OUT                                                                    \
    "{\"outputs\": [{\"name\": \"x_xf\", \"op\": \"z_score\", "                \
    "\"input\": \"x\"}], \"label\": "

static int parse(const char *label, cfx_tft_spec_t *s, cfx_error_t *err) {
    char text[1024];
    snprintf(text, sizeof text, OUT "%s}", label);
    return cfx_tft_spec_parse(text, strlen(text), "t.json", s, err);
}

static void test_tasks(void **state) {
    (void)state;
    cfx_tft_spec_t s;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(parse("{\"name\": \"sp_xf\", \"input\": \"species\", "
                           "\"task\": \"multiclass\"}",
                           &s, &err),
                     0);
    assert_true(s.label.is_column);
    assert_int_equal(s.label.task, CFX_TASK_MULTICLASS);
    assert_string_equal(s.label.input, "species");
    assert_null(s.label.vocab);
    cfx_tft_spec_free(&s);
    assert_int_equal(parse("{\"name\": \"y_xf\", \"input\": \"y\", \"task\": "
                           "\"regression\"}",
                           &s, &err),
                     0);
    assert_int_equal(s.label.task, CFX_TASK_REGRESSION);
    cfx_tft_spec_free(&s);
    assert_int_equal(parse("{\"name\": \"c_xf\", \"input\": \"c\", \"task\": "
                           "\"binary\", \"label_vocabulary\": [\"no\", "
                           "\"yes\"]}",
                           &s, &err),
                     0);
    assert_int_equal(s.label.task, CFX_TASK_BINARY);
    assert_int_equal(s.label.vocab_size, 2);
    assert_string_equal(s.label.vocab[1], "yes");
    cfx_tft_spec_free(&s);
    /* the derived label stays binary */
    assert_int_equal(parse("{\"name\": \"t\", \"op\": \"greater_than\", "
                           "\"input\": \"tips\", \"threshold\": 1}",
                           &s, &err),
                     0);
    assert_false(s.label.is_column);
    assert_int_equal(s.label.task, CFX_TASK_BINARY);
    cfx_tft_spec_free(&s);
}

static void test_errors(void **state) {
    (void)state;
    static const struct {
        const char *label, *want;
    } bad[] = {
        {"{\"name\": \"a\", \"input\": \"a\", \"task\": \"ranking\"}",
         "\"task\""},
        {"{\"name\": \"a\", \"input\": \"a\", \"task\": \"regression\", "
         "\"label_vocabulary\": [\"x\", \"y\"]}",
         "not regression"},
        {"{\"name\": \"a\", \"input\": \"a\", \"task\": \"binary\", "
         "\"label_vocabulary\": [\"x\", \"y\", \"z\"]}",
         "label_vocabulary"},
        {"{\"name\": \"a\", \"input\": \"a\", \"task\": \"multiclass\", "
         "\"label_vocabulary\": [\"x\", \"x\"]}",
         "twice"},
        {"{\"name\": \"a\", \"input\": \"a\", \"task\": \"multiclass\", "
         "\"threshold\": 1}",
         "threshold"},
        {"{\"name\": \"a\", \"input\": \"a\"}", "\"op\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfx_tft_spec_t s;
        cfx_error_t err;
        cfx_error_init(&err);
        assert_int_equal(parse(bad[i].label, &s, &err), CFX_EPARSE);
        if (!strstr(err.msg, bad[i].want) || !strstr(err.msg, "t.json: label"))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].want);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tasks),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * cache_test.c: the execution cache of component.c — what the key covers
 * (and what it ignores), and which earlier execution a hit reuses.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md_fixture.h"
#include "mlmd/component.h"
#include "test_util.h"

MD_TEST_FIXTURE(root, 256, "cfx-cache")

#define OK(call) CFX_TEST_OK(call, err)

/* The cache key of a run that is begun and abandoned. */
static void key_of(const char *component, const char *props,
                   const cfx_component_input_t *in, size_t n, char out[65]) {
    cfx_error_t err;
    cfx_component_run_t run;
    cfx_error_init(&err);
    OK(cfx_component_begin(&run, root, component, props, in, n, &err));
    memcpy(out, run.cache_key, 65);
    cfx_component_run_free(&run);
}

/* A complete run with one output "out"; use_cache: look up first.
 * Returns the output artifact id; *hit and *exec report what happened. */
static int64_t produce(const char *props, int use_cache, int *hit,
                       int64_t *exec) {
    cfx_error_t err;
    cfx_component_run_t run;
    cfx_error_init(&err);
    OK(cfx_component_begin(&run, root, "Gen", props, NULL, 0, &err));
    *hit = 0;
    if (use_cache)
        OK(cfx_component_cached(&run, hit, &err));
    if (!*hit)
        assert_non_null(cfx_component_output_dir(&run, "out", &err));
    OK(cfx_component_finish(&run, 1, &err));
    int64_t id = cfx_component_output_id(&run, "out");
    *exec = run.execution_id;
    cfx_component_run_free(&run);
    return id;
}

static void test_key_covers(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    char a[65], b[65];
    key_of("Gen", "{\"x\":1,\"o\":{\"q\":2,\"p\":[1,2]}}", NULL, 0, a);
    /* member order, at any depth, does not matter */
    key_of("Gen", "{\"o\":{\"p\":[1,2],\"q\":2},\"x\":1}", NULL, 0, b);
    assert_string_equal(a, b);
    /* values, array order and the component do */
    key_of("Gen", "{\"x\":2,\"o\":{\"q\":2,\"p\":[1,2]}}", NULL, 0, b);
    assert_string_not_equal(a, b);
    key_of("Gen", "{\"x\":1,\"o\":{\"q\":2,\"p\":[2,1]}}", NULL, 0, b);
    assert_string_not_equal(a, b);
    key_of("Gen2", "{\"x\":1,\"o\":{\"q\":2,\"p\":[1,2]}}", NULL, 0, b);
    assert_string_not_equal(a, b);
    /* 1 and 1.0 are different JSON values: kept apart */
    key_of("Gen", "{\"x\":1.0,\"o\":{\"q\":2,\"p\":[1,2]}}", NULL, 0, b);
    assert_string_not_equal(a, b);

    /* Inputs: the artifact (by id) and its input_fingerprint. */
    cfx_metadata_t *md;
    int64_t e1, e2;
    OK(cfx_metadata_open_root(&md, root, &err));
    OK(cfx_metadata_put_artifact(md, "Examples", "/d/1", CFX_MD_ARTIFACT_LIVE,
                                 &e1, &err));
    OK(cfx_metadata_put_artifact(md, "Examples", "/d/1", CFX_MD_ARTIFACT_LIVE,
                                 &e2, &err));
    cfx_component_input_t in1[] = {{"examples", e1, NULL, NULL}};
    cfx_component_input_t in2[] = {{"examples", e2, NULL, NULL}};
    key_of("Stats", "{}", in1, 1, a);
    key_of("Stats", "{}", in2, 1, b);
    assert_string_not_equal(a, b); /* same uri, another artifact */
    cfx_md_value_t v = {.kind = CFX_MD_STRING, .s = "split:s,num_files:1"};
    OK(cfx_metadata_set_artifact_property(md, e1, "input_fingerprint", 1, &v,
                                          &err));
    key_of("Stats", "{}", in1, 1, b);
    assert_string_not_equal(a, b);
    memcpy(a, b, 65);
    v.s = "split:s,num_files:2";
    OK(cfx_metadata_set_artifact_property(md, e1, "input_fingerprint", 1, &v,
                                          &err));
    key_of("Stats", "{}", in1, 1, b);
    assert_string_not_equal(a, b);
    /* the input key is part of it too */
    cfx_component_input_t in3[] = {{"baseline", e1, NULL, NULL}};
    key_of("Stats", "{}", in3, 1, a);
    assert_string_not_equal(a, b);
    cfx_metadata_close(md);
}

static void test_hit_rules(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    int hit;
    int64_t x1, x2, x3, x4, x5;
    int64_t o1 = produce("{\"k\":1}", 1, &hit, &x1);
    assert_false(hit);
    /* A second COMPLETE run with the same key (cache not consulted). */
    int64_t o2 = produce("{\"k\":1}", 0, &hit, &x2);
    assert_true(o2 != o1);
    /* A hit reuses the newest one. */
    int64_t o3 = produce("{\"k\":1}", 1, &hit, &x3);
    assert_true(hit);
    assert_int_equal(o3, o2);
    /* A hit on a CACHED execution (the newest now) gives the same artifact. */
    int64_t o4 = produce("{\"k\":1}", 1, &hit, &x4);
    assert_true(hit);
    assert_int_equal(o4, o2);

    cfx_metadata_t *md;
    cfx_md_value_t v;
    OK(cfx_metadata_open_root(&md, root, &err));
    OK(cfx_metadata_get_execution_property(md, x4, "cached_from", &v, NULL, 0,
                                           &err));
    assert_int_equal(v.i, x3);
    /* An output no longer LIVE is not reused: the older run's is. */
    OK(cfx_metadata_set_artifact_state(md, o2, CFX_MD_ARTIFACT_DELETED, &err));
    cfx_metadata_close(md);
    int64_t o5 = produce("{\"k\":1}", 1, &hit, &x5);
    assert_true(hit);
    assert_int_equal(o5, o1);

    /* Lookup after registering outputs is a misuse. */
    cfx_component_run_t run;
    OK(cfx_component_begin(&run, root, "Gen", "{\"k\":1}", NULL, 0, &err));
    assert_non_null(cfx_component_output_dir(&run, "out", &err));
    assert_int_equal(cfx_component_cached(&run, &hit, &err), CFX_ESTATE);
    cfx_component_run_free(&run);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_covers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hit_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

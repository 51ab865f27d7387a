/*
 * components_test.c: the table of `cfx run` (pipeline/components.c) agrees
 * with the specs it names: steps in TFX's order, every wired input declared
 * by its spec (required ones wired), every producer an earlier step whose
 * spec declares that output, and each declared output type the type a
 * recorded run gives that output.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pipeline/components.h"
#include "test_util.h"

static char dir[256];

static int setup(void **state) {
    (void)state;
    return cfx_test_tmpdir_make(dir, sizeof dir, "cfx-components");
}

static int teardown(void **state) {
    (void)state;
    return cfx_test_rm_rf(dir);
}

static const cfx_component_channel_t *
channel(const cfx_component_channel_t *list, const char *key) {
    for (size_t i = 0; i < CFX_COMPONENT_SPEC_MAX_CHANNELS && list[i].key; i++)
        if (!strcmp(list[i].key, key))
            return &list[i];
    return NULL;
}

static const cfx_runner_step_t *step_named(const char *name, size_t before) {
    for (size_t i = 0; i < before; i++)
        if (!strcmp(cfx_pipeline_steps[i].spec->name, name))
            return &cfx_pipeline_steps[i];
    return NULL;
}

static void test_order(void **state) {
    (void)state;
    static const char *const want[] = {
        "ExampleGen",       "StatisticsGen",  "SchemaGen",
        "ExampleValidator", "Transform",      "Trainer",
        "Evaluator",        "InfraValidator", "Pusher"};
    assert_int_equal(cfx_pipeline_num_steps, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < cfx_pipeline_num_steps; i++) {
        assert_string_equal(cfx_pipeline_steps[i].spec->name, want[i]);
        assert_non_null(cfx_pipeline_steps[i].spec->exec);
    }
}

static void test_wiring(void **state) {
    (void)state;
    for (size_t i = 0; i < cfx_pipeline_num_steps; i++) {
        const cfx_runner_step_t *s = &cfx_pipeline_steps[i];
        const cfx_component_spec_t *spec = s->spec;
        for (size_t k = 0; k < CFX_RUNNER_MAX_STEP_INPUTS && s->inputs[k].key;
             k++) {
            const cfx_runner_input_spec_t *in = &s->inputs[k];
            const cfx_component_channel_t *decl =
                channel(spec->inputs, in->key);
            if (!decl)
                fail_msg("%s: input '%s' not declared", spec->name, in->key);
            /* a spec's required input is never left out by the pipeline */
            if (!decl->optional)
                assert_false(in->optional);
            if (in->component[0] == '@')
                continue; /* CFX_RUNNER_FROM_* */
            const cfx_runner_step_t *p = step_named(in->component, i);
            if (!p)
                fail_msg("%s: producer %s is not an earlier step", spec->name,
                         in->component);
            const cfx_component_channel_t *out =
                channel(p->spec->outputs, in->output);
            if (!out)
                fail_msg("%s has no output '%s'", in->component, in->output);
            if (strcmp(decl->type, out->type))
                fail_msg("%s.%s is %s, fed %s", spec->name, in->key, decl->type,
                         out->type);
        }
        /* every required input of the spec is wired */
        for (size_t k = 0;
             k < CFX_COMPONENT_SPEC_MAX_CHANNELS && spec->inputs[k].key; k++) {
            size_t w = 0;
            while (w < CFX_RUNNER_MAX_STEP_INPUTS && s->inputs[w].key &&
                   strcmp(s->inputs[w].key, spec->inputs[k].key))
                w++;
            int wired = w < CFX_RUNNER_MAX_STEP_INPUTS && s->inputs[w].key;
            if (!spec->inputs[k].optional && !wired)
                fail_msg("%s: required input '%s' not wired", spec->name,
                         spec->inputs[k].key);
        }
    }
}

/* The type each spec declares for an output is the one a run records. */
static void test_output_types(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    for (size_t i = 0; i < cfx_pipeline_num_steps; i++) {
        const cfx_component_spec_t *spec = cfx_pipeline_steps[i].spec;
        cfx_component_run_t run;
        assert_int_equal(
            cfx_component_begin(&run, dir, spec->name, NULL, NULL, 0, &err), 0);
        for (size_t k = 0;
             k < CFX_COMPONENT_SPEC_MAX_CHANNELS && spec->outputs[k].key; k++) {
            const char *key = spec->outputs[k].key;
            assert_non_null(cfx_component_output_dir(&run, key, &err));
            cfx_md_artifact_t a;
            assert_int_equal(cfx_metadata_get_artifact(
                                 cfx_component_store(&run),
                                 cfx_component_output_id(&run, key), &a, &err),
                             0);
            if (strcmp(a.type, spec->outputs[k].type))
                fail_msg("%s.%s: declared %s, recorded %s", spec->name, key,
                         spec->outputs[k].type, a.type);
        }
        cfx_component_run_free(&run);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_wiring),
        cmocka_unit_test_setup_teardown(test_output_types, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

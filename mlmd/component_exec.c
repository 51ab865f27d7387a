/*
 * component_exec.c: the component spec interface of component.h — reading
 * a component's settings from its exec properties, and one standalone
 * command's run of a spec (begin, place --output, exec, finish).
 */
#include "mlmd/component.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cfx_component_prop_string(const cfx_component_ctx_t *ctx,
                                      const char *name) {
    json_t *v = json_object_get(ctx->props, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *cfx_component_prop_path(const cfx_component_ctx_t *ctx,
                                    const char *name) {
    const char *s = cfx_component_prop_string(ctx, name);
    return s && s[0] ? s : NULL;
}

long long cfx_component_prop_int(const cfx_component_ctx_t *ctx,
                                 const char *name, long long def) {
    json_t *v = json_object_get(ctx->props, name);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

double cfx_component_prop_number(const cfx_component_ctx_t *ctx,
                                 const char *name, double def) {
    json_t *v = json_object_get(ctx->props, name);
    return json_is_number(v) ? json_number_value(v) : def;
}

const char *cfx_component_exec_output_dir(cfx_component_ctx_t *ctx,
                                          const char *key, cfx_error_t *err) {
    const char *dir = cfx_component_output_dir(ctx->run, key, err);
    if (!dir && !err->code)
        cfx_error_set(err, CFX_EINVAL, "%s: no folder given for output '%s'",
                      ctx->run->component, key);
    return dir;
}

int cfx_component_run_cli(cfx_component_run_t *run,
                          const cfx_component_spec_t *spec,
                          const cfx_component_cli_t *cli, char *summary,
                          size_t cap, cfx_error_t *err) {
    char *text = NULL;
    int ret;
    memset(run, 0, sizeof *run);
    summary[0] = 0;
    if (!spec->exec) {
        ret = cfx_error_set(err, CFX_EUNSUPPORTED,
                            "%s: not available in this build", spec->name);
        goto out;
    }
    if (cli->root && spec->prepare &&
        (ret = spec->prepare(cli->props, cli->inputs, cli->n_inputs, err)))
        goto out;
    if (cli->root &&
        !(text = json_dumps(cli->props, JSON_COMPACT | JSON_SORT_KEYS))) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    cfx_component_opts_t opts = {.log = cli->progress};
    if ((ret = cfx_component_begin_ex(run, cli->root, &opts, spec->name, text,
                                      cli->inputs, cli->n_inputs, err)))
        goto out;
    for (size_t i = 0; i < cli->n_outputs; i++)
        if (cli->outputs[i].path &&
            (ret = cfx_component_set_output(run, cli->outputs[i].key,
                                            cli->outputs[i].path, err)))
            goto done;
    cfx_component_ctx_t ctx = {.run = run,
                               .props = cli->props,
                               .progress = cli->progress,
                               .result = cli->result};
    ret = spec->exec(&ctx, summary, cap, err);
done:;
    cfx_error_t ferr;
    cfx_error_init(&ferr);
    int fret = ret ? cfx_component_fail(run, err->msg, &ferr)
                   : cfx_component_finish(run, 1, &ferr);
    if (!ret && fret) {
        *err = ferr;
        ret = fret;
    }
out:
    free(text);
    return ret;
}

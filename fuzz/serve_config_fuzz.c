/*
 * serve_config_fuzz.c: libFuzzer target for the model-server config
 * (--model_config_file: a text ModelServerConfig, serve/config.c).
 *
 * Properties: no crash or leak on any input; a refusal says why; a parsed
 * list has a name and an absolute base path for every model, and copies
 * to an equal count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cfx_model_list_t l, c;
    cfx_model_list_init(&l);
    cfx_model_list_init(&c);
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_model_list_parse_text(&l, (const char *)data, size, "fuzz.config",
                                  &err) != 0) {
        if (!err.msg[0])
            abort(); /* every refusal says why */
        cfx_model_list_free(&l);
        return 0;
    }
    for (size_t i = 0; i < l.n; i++)
        if (!l.models[i].name || !l.models[i].base_path)
            abort();
    if (cfx_model_list_copy(&c, &l) != 0 || c.n != l.n)
        abort();
    cfx_model_list_free(&c);
    cfx_model_list_free(&l);
    return 0;
}

/*
 * rest_json_fuzz.c: libFuzzer target for the REST JSON side of cfx-serve
 * (serve/json_tensor.c): request bodies as classify/regress examples and
 * as typed predict_raw inputs, and TF Serving's float formatting.
 *
 * Properties: no crash or leak on any body; every accepted value lands in
 * the example with the kind its dtype asks for; a formatted float parses
 * back to the same float (or is NaN / +-Infinity).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/dtype.h"
#include "serve/json_tensor.h"

static void check_float(float v) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    if (cfx_json_put_float(&b, v) != 0 || cfx_buf_cstr(&b) != 0)
        abort();
    const char *s = (const char *)b.data;
    if (isnan(v)) {
        if (strcmp(s, "NaN") != 0)
            abort();
    } else if (isinf(v)) {
        if (strcmp(s, v > 0 ? "Infinity" : "-Infinity") != 0)
            abort();
    } else if (strtof(s, NULL) != v) {
        abort();
    }
    cfx_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size >= sizeof(float)) {
        float v;
        memcpy(&v, data, sizeof(v));
        check_float(v);
    }
    json_error_t je;
    json_t *doc =
        json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return 0;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_example_t ex;
    cfx_example_init(&ex);
    (void)cfx_json_object_to_example(doc, &ex, &err);
    if (json_is_object(doc)) {
        static const int dtypes[] = {CFX_DT_INT64, CFX_DT_FLOAT, CFX_DT_STRING};
        const char *key;
        json_t *val;
        json_object_foreach(doc, key, val) {
            for (size_t d = 0; d < 3; d++) {
                cfx_example_reset(&ex);
                if (cfx_json_add_typed(&ex, key, dtypes[d], val, &err) != 0)
                    continue;
                const cfx_feature_t *f = cfx_example_find(&ex, key);
                cfx_kind_t want = d == 0   ? CFX_KIND_INT64
                                  : d == 1 ? CFX_KIND_FLOAT
                                           : CFX_KIND_BYTES;
                if (!f || f->kind != want)
                    abort();
            }
        }
    }
    cfx_example_free(&ex);
    json_decref(doc);
    return 0;
}

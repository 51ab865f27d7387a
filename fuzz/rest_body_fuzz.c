/*
 * rest_body_fuzz.c: libFuzzer target for the DOM-free REST request reader
 * (serve/json_scan.c, serve/rest_body.c): any body through validation,
 * TF Serving's quoting of the document, predict against a raw-feature
 * signature and a serialized-example signature (rows and columns), and
 * classify/regress examples with context.
 *
 * Properties: no crash, leak or unbounded recursion on any body (nesting
 * depth costs no stack); validation is repeatable and, when it accepts,
 * skipping the root lands exactly where validation ended; an accepted
 * predict fills values only of the kinds the dtypes ask for.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/dtype.h"
#include "serve/json_scan.h"
#include "serve/rest_body.h"

static const cfx_tensor_spec_t raw_in[] = {
    {"fare", "fare:0", CFX_DT_FLOAT, 1, {-1, 0}},
    {"trip_seconds", "trip_seconds:0", CFX_DT_INT64, 1, {-1, 0}},
    {"company", "company:0", CFX_DT_STRING, 1, {-1, 0}},
};
static const cfx_tensor_spec_t ser_in[] = {
    {"examples", "examples:0", CFX_DT_STRING, 1, {-1, 0}},
};
static const cfx_tensor_spec_t out[] = {
    {"outputs", "outputs:0", CFX_DT_FLOAT, 2, {-1, 1}},
};
static const cfx_signature_t sigs[] = {
    {"predict_raw", CFX_METHOD_PREDICT, CFX_SIG_PREDICT_RAW, raw_in, 3, out, 1},
    {"serving_default", CFX_METHOD_PREDICT, CFX_SIG_PREDICT_EXAMPLES, ser_in, 1,
     out, 1},
};

static void check_kinds(const cfx_example_t *ex) {
    for (size_t f = 0; f < ex->count; f++) {
        const cfx_feature_t *ft = &ex->features[f];
        for (size_t k = 0; k < 3; k++)
            if (!strcmp(ft->name, raw_in[k].name) &&
                ft->kind != cfx_dtype_to_kind(raw_in[k].dtype))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *doc = (const char *)data;
    size_t end, end2;
    cfx_jerr_t e = cfx_jscan_validate(doc, size, &end);
    if (cfx_jscan_validate(doc, size, &end2) != e || end2 != end)
        abort();
    if (e)
        return 0;
    /* The cursor reads past nothing: give it a terminated copy, without
     * what follows the root (the parser stops there: same answers). */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[end] = 0;
    size = end;
    const char *root = cfx_jscan_ws(text);
    if (cfx_jscan_skip(root) != text + end)
        abort();
    cfx_buf_t scratch, blob, vals, dbg;
    cfx_buf_init(&scratch);
    cfx_buf_init(&blob);
    cfx_buf_init(&vals);
    cfx_buf_init(&dbg);
    (void)cfx_jscan_debug_string(root, &dbg);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_rest_body_t b;
    memset(&b, 0, sizeof(b));
    for (size_t s = 0; s < 2; s++) {
        const char *sn;
        size_t snl;
        cfx_rest_body_init(&b, &scratch, &blob, &vals);
        if (cfx_rest_body_parse(&b, text, size, &sn, &snl, &err))
            break;
        if (cfx_rest_predict_prepare(&b, &sigs[s], &err) || b.n > 4096)
            continue;
        cfx_example_t *ex = calloc(b.n ? b.n : 1, sizeof(*ex));
        if (!ex)
            continue;
        for (size_t i = 0; i < b.n; i++)
            cfx_example_init(&ex[i]);
        if (!cfx_rest_predict_fill(&b, &sigs[s], ex, &err) &&
            !cfx_rest_predict_finish(&b, &sigs[s], ex, &err) && s == 0)
            for (size_t i = 0; i < b.n; i++)
                check_kinds(&ex[i]);
        for (size_t i = 0; i < b.n; i++)
            cfx_example_free(&ex[i]);
        free(ex);
    }
    /* classify / regress */
    const char *sn;
    size_t snl, n;
    cfx_example_t ctx, one;
    cfx_example_init(&ctx);
    cfx_example_init(&one);
    cfx_rest_body_init(&b, &scratch, &blob, &vals);
    if (!cfx_rest_body_parse(&b, text, size, &sn, &snl, &err) &&
        !cfx_rest_examples_count(&b, &ctx, &n, &err) && n <= 4096) {
        cfx_example_t *ex = calloc(n, sizeof(*ex));
        if (ex) {
            for (size_t i = 0; i < n; i++)
                cfx_example_init(&ex[i]);
            (void)cfx_rest_examples_fill(&b, b.context ? &ctx : NULL, ex, &one,
                                         &err);
            for (size_t i = 0; i < n; i++)
                cfx_example_free(&ex[i]);
            free(ex);
        }
    }
    cfx_example_free(&ctx);
    cfx_example_free(&one);
    cfx_rest_body_free(&b);
    cfx_buf_free(&scratch);
    cfx_buf_free(&blob);
    cfx_buf_free(&vals);
    cfx_buf_free(&dbg);
    free(text);
    return 0;
}

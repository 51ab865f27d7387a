/*
 * trees_fuzz.c: libFuzzer target for the tree format (model/trees.h), the
 * variables/trees.json of a gbt bundle that cfx-serve loads.
 *
 * Properties: no crash, leak or endless walk on any input; a refusal says
 * why; what loads evaluates (fast and reference walks agree bit for bit)
 * on a few rows, missing values included.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/trees.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    if (root == NULL)
        return 0;
    cfx_trees_t *tr = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_trees_from_json(root, "trees.json", NULL, &tr, &err);
    json_decref(root);
    if (rc != 0) {
        if (tr || !err.msg[0])
            abort();
        return 0;
    }
    size_t nf = cfx_trees_num_dense(tr), no = cfx_trees_num_outputs(tr);
    if (nf > 4096) {
        cfx_trees_free(tr);
        return 0;
    }
    enum { B = 4 };
    float *x = malloc(B * nf * sizeof *x), *a = malloc(B * no * sizeof *a),
          *b = malloc(B * no * sizeof *b);
    if (!x || !a || !b)
        abort();
    for (size_t i = 0; i < B * nf; i++)
        x[i] = i % 7 == 3 ? NAN : (float)((int)(i % 11) - 5) * 0.5f;
    cfx_trees_predict(tr, x, NULL, B, a);
    cfx_trees_predict_ref(tr, x, NULL, B, b);
    for (size_t i = 0; i < B * no; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0 &&
            !(isnan(a[i]) && isnan(b[i])))
            abort();
    free(x);
    free(a);
    free(b);
    cfx_trees_free(tr);
    return 0;
}

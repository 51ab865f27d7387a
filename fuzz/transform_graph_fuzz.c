/*
 * transform_graph_fuzz.c: libFuzzer target for a transform graph's
 * transform.json (model/transform.c), which every bundle carries and
 * cfx-serve loads, with its label (greater_than, a class through the label
 * vocabulary, a regression value); and for the head of a manifest
 * (model/task.c), when the input is an object with a "head" member.
 * Each input is written as transform.json into one temporary directory
 * (no assets: a vocabulary output is refused, its file missing).
 *
 * Properties: no crash or leak on any input; a refusal says why; a graph
 * that loads applies to an empty example without crashing, and a head
 * that parses is one of the three tasks with as many labels as classes.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/example.h"
#include "model/task.h"
#include "model/transform.h"

static char dir[64];
static char path[96];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        strcpy(dir, "/tmp/cfx-fuzz-graph-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/transform.json", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    cfx_transform_t *t = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_transform_load(dir, &t, &err);
    if (rc != 0 && (t || !err.msg[0]))
        abort();
    if (rc == 0) {
        cfx_example_t ex;
        cfx_example_init(&ex);
        float label;
        (void)cfx_transform_label(t, &ex, &label, &err);
        const cfx_head_t *h = cfx_transform_label_head(t);
        if (h && h->task != CFX_TASK_REGRESSION && h->num_classes < 2)
            abort();
        cfx_example_free(&ex);
        cfx_transform_free(t);
    }
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    json_t *head = json_object_get(doc, "head");
    if (head) {
        cfx_head_t h;
        if (cfx_head_from_json(head, "head", &h, &err) == 0) {
            if (h.task == CFX_TASK_REGRESSION ? h.num_classes != 0
                                              : h.num_classes < 2)
                abort();
            cfx_head_free(&h);
        } else if (!err.msg[0]) {
            abort();
        }
    }
    json_decref(doc);
    return 0;
}

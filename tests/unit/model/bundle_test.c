/* bundle_test.c: writing a bundle atomically, loading it back, a
 * hand-computed prediction from a raw example (also with a learned
 * embedding in the deep part: saved, loaded, the same predictions), and
 * the refusals: missing file, flipped byte, wrong tensor shape, unknown
 * format version, an inconsistent embedding, each naming the file, the
 * expected and the found value. */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "formats/safetensors.h"
#include "model/bundle.h"
#include "model/bundle_writer.h"
#include "model/network.h"
#include "test_util.h"

static char root[256];

/* A tiny graph: x -> z-score (mean 1, var 4); color -> vocabulary
 * [red, blue] + 1 OOV bucket; h -> identity, cardinality 3. */
static void write_graph(const char *dir) {
    char p[700];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/assets", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/assets/color_xf.txt", dir);
    cfx_test_write_file(p, "red\nblue\n");
    snprintf(p, sizeof p, "%s/transform.json", dir);
    cfx_test_write_file(
        p, "{\"format_version\": 1,\n"
           " \"inputs\": [{\"name\": \"x\", \"kind\": \"float\"},\n"
           "            {\"name\": \"color\", \"kind\": \"bytes\"},\n"
           "            {\"name\": \"h\", \"kind\": \"int64\"}],\n"
           " \"outputs\": [\n"
           "  {\"name\": \"x_xf\", \"op\": \"z_score\", \"input\": \"x\", "
           "\"mean\": 1, \"var\": 4},\n"
           "  {\"name\": \"color_xf\", \"op\": \"vocabulary\", \"input\": "
           "\"color\",\n"
           "   \"vocabulary_file\": \"color_xf.txt\", \"vocab_size\": 2, "
           "\"num_oov_buckets\": 1},\n"
           "  {\"name\": \"h_xf\", \"op\": \"identity\", \"input\": \"h\", "
           "\"cardinality\": 3,\n"
           "   \"default_value\": 0}]}\n");
}

/* W0 = [1, -1], b0 = 0; logits kernel [2, 3], bias 0.5; wide bias -1,
 * wide color_xf[1] = 0.25, wide h_xf[2] = -0.75.
 * With emb, color_xf also goes into the deep part as a learned embedding
 * of 2 (h_xf does not): x0 = [z, E[color]], W0 = [[1, -1], [1, 0], [0, 1]],
 * E = [[0, 0], [0.5, -2], [1, 1]]. */
static cfx_net_t *make_net(const cfx_transform_t *t, int emb) {
    assert_int_equal(cfx_transform_num_dense(t), 1);
    assert_int_equal(cfx_transform_num_categorical(t), 2);
    const char *names[2];
    int64_t card[2];
    for (size_t i = 0; i < cfx_transform_num_outputs(t); i++) {
        const cfx_xf_output_t *o = cfx_transform_output(t, i);
        if (o->kind == CFX_XF_CATEGORICAL) {
            names[o->slot] = o->name;
            card[o->slot] = o->cardinality;
        }
    }
    uint8_t deep[2] = {1, 0};
    size_t dims[2] = {2, 0};
    cfx_net_spec_t s = {.num_dense = 1,
                        .num_categorical = 2,
                        .cat_names = names,
                        .cat_cardinality = card,
                        .num_hidden = 1,
                        .hidden = {2},
                        .deep_categorical = emb,
                        .cat_deep = emb ? deep : NULL,
                        .cat_embedding_dim = emb ? dims : NULL};
    cfx_net_t *n = NULL;
    assert_int_equal(cfx_net_new(&s, &n, NULL), 0);
    float *p = n->params;
    p[cfx_net_find(n, "deep/dense_0/kernel")->offset] = 1;
    p[cfx_net_find(n, "deep/dense_0/kernel")->offset + 1] = -1;
    if (emb) {
        float w0[] = {1, -1, 1, 0, 0, 1}, e[] = {0, 0, 0.5f, -2, 1, 1};
        memcpy(p + cfx_net_find(n, "deep/dense_0/kernel")->offset, w0,
               sizeof w0);
        memcpy(p + cfx_net_find(n, "deep/embedding/color_xf")->offset, e,
               sizeof e);
    }
    p[cfx_net_find(n, "deep/logits/kernel")->offset] = 2;
    p[cfx_net_find(n, "deep/logits/kernel")->offset + 1] = 3;
    p[cfx_net_find(n, "deep/logits/bias")->offset] = 0.5f;
    p[cfx_net_find(n, "wide/linear/bias")->offset] = -1;
    p[cfx_net_find(n, "wide/linear/color_xf")->offset + 1] = 0.25f;
    p[cfx_net_find(n, "wide/linear/h_xf")->offset + 2] = -0.75f;
    return n;
}

static void encode_weights(const cfx_net_t *n, cfx_buf_t *buf,
                           const char *bad_name, int64_t bad_dim) {
    cfx_st_tensor_t ts[16];
    float zeros[64] = {0};
    assert_true(n->num_tensors <= 16);
    for (size_t i = 0; i < n->num_tensors; i++) {
        const cfx_net_tensor_t *nt = &n->tensors[i];
        ts[i] = (cfx_st_tensor_t){.name = nt->name,
                                  .ndim = nt->ndim,
                                  .shape = {nt->shape[0], nt->shape[1]},
                                  .data = n->params + nt->offset};
        if (bad_name && !strcmp(nt->name, bad_name)) {
            ts[i].shape[nt->ndim - 1] = bad_dim;
            ts[i].data = zeros;
        }
    }
    assert_int_equal(
        cfx_safetensors_encode(ts, n->num_tensors, NULL, 0, buf, NULL), 0);
}

/* Writes <root>/<name> as a bundle of the tiny graph and network (with a
 * learned embedding when emb); *net, when not NULL, receives the network. */
static void write_bundle_net(const char *name, const char *bad_tensor,
                             int64_t bad_dim, int emb, cfx_net_t **net) {
    char graph[300], dir[300];
    snprintf(graph, sizeof graph, "%s/graph", root);
    write_graph(graph);
    cfx_transform_t *t = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_transform_load(graph, &t, &err) != 0)
        fail_msg("transform: %s", err.msg);
    cfx_net_t *n = make_net(t, emb);
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    cfx_bundle_writer_t *w = NULL;
    assert_int_equal(cfx_bundle_writer_open(dir, &w, &err), 0);
    char p[700];
    snprintf(p, sizeof p, "%s/transform.json", graph);
    assert_int_equal(cfx_bundle_writer_add_file(w, "transform.json", p, &err),
                     0);
    snprintf(p, sizeof p, "%s/assets", graph);
    assert_int_equal(cfx_bundle_writer_add_dir(w, "assets", p, &err), 0);
    cfx_buf_t buf;
    cfx_buf_init(&buf);
    encode_weights(n, &buf, bad_tensor, bad_dim);
    assert_int_equal(cfx_bundle_writer_add(w, "variables/model.safetensors",
                                           buf.data, buf.len, &err),
                     0);
    cfx_buf_free(&buf);
    json_t *m = cfx_bundle_manifest_new("tiny", n, t);
    assert_non_null(m);
    if (cfx_bundle_writer_commit(w, m, &err) != 0)
        fail_msg("commit: %s", err.msg);
    json_decref(m);
    if (net)
        *net = n;
    else
        cfx_net_free(n);
    cfx_transform_free(t);
}

static void write_bundle(const char *name, const char *bad_tensor,
                         int64_t bad_dim) {
    write_bundle_net(name, bad_tensor, bad_dim, 0, NULL);
}

static int setup(void **state) {
    (void)state;
    return cfx_test_tmpdir_make(root, sizeof root, "cfx-bundle-test");
}

static int teardown(void **state) {
    (void)state;
    assert_int_equal(cfx_test_rm_rf(root), 0);
    return 0;
}

static void expect_refused(const char *name, int code, const char *needle) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    cfx_bundle_t *b = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_bundle_load(dir, &b, &err);
    if (rc != code || strstr(err.msg, needle) == NULL)
        fail_msg("%s: expected %s with \"%s\", got %s: %s", name,
                 cfx_err_name(code), needle, cfx_err_name(rc), err.msg);
    assert_null(b);
}

static void test_load_and_predict(void **state) {
    (void)state;
    write_bundle("ok", NULL, 0);
    /* nothing but the bundle and the graph: the temporary folder is gone */
    DIR *d = opendir(root);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        assert_false(de->d_name[0] == '.' && strlen(de->d_name) > 2);
    closedir(d);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ok", root);
    cfx_bundle_t *b = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_bundle_load(dir, &b, &err) != 0)
        fail_msg("load: %s", err.msg);
    assert_string_equal(cfx_bundle_model_name(b), "tiny");
    assert_null(cfx_bundle_warmup_path(b));
    /* x = 3 -> z = 1; color blue -> 1; h = 2 -> 2.
     * deep: relu(1 * [1, -1]) = [1, 0] -> 1*2 + 0*3 + 0.5 = 2.5
     * wide: -1 + 0.25 - 0.75 = -1.5        p = sigmoid(1.0) = 0.7310585786 */
    cfx_example_t ex, ex2;
    cfx_example_init(&ex);
    cfx_example_init(&ex2);
    float x = 3;
    int64_t h = 2;
    cfx_bytes_t blue = {(const uint8_t *)"blue", 4};
    cfx_example_add_float(&ex, "x", &x, 1);
    cfx_example_add_bytes(&ex, "color", &blue, 1);
    cfx_example_add_int64(&ex, "h", &h, 1);
    /* empty example: x filled 0 -> z = -0.5, color "" -> OOV 2, h 0.
     * deep: relu(-0.5 * [1, -1]) = [0, 0.5] -> 1.5 + 0.5 = 2; wide -1 */
    const cfx_example_t *raw[2] = {&ex, &ex2};
    float p[2];
    assert_int_equal(cfx_bundle_predict(b, raw, 2, p, &err), 0);
    assert_float_equal(p[0], 0.7310585786, 1e-6);
    assert_float_equal(p[1], 1.0 / (1.0 + exp(-1.0)), 1e-6);
    float dense[2] = {1, -0.5f}, q[2];
    int32_t cat[4] = {1, 2, 2, 0};
    assert_int_equal(cfx_bundle_predict_transformed(b, dense, cat, 2, q, &err),
                     0);
    assert_memory_equal(p, q, sizeof p);
    cfx_example_free(&ex);
    cfx_example_free(&ex2);
    cfx_bundle_free(b);
    /* an existing destination is never overwritten */
    cfx_bundle_writer_t *w = NULL;
    assert_int_equal(cfx_bundle_writer_open(dir, &w, &err), CFX_EEXIST);
    assert_null(w);
}

/* A pipeline's empty output folder is a valid destination. */
static void test_empty_destination(void **state) {
    (void)state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/empty", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    write_bundle("empty", NULL, 0);
    cfx_bundle_t *b = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_bundle_load(dir, &b, &err) != 0)
        fail_msg("load: %s", err.msg);
    cfx_bundle_free(b);
}

/* A graph with only z-scores has an empty assets/ folder: adding it adds
 * nothing and the bundle commits (once undefined behaviour: qsort of the
 * NULL name list, caught by UBSan). */
static void test_empty_assets_dir(void **state) {
    (void)state;
    char dir[300], src[300], p[700];
    snprintf(dir, sizeof dir, "%s/noassets", root);
    snprintf(src, sizeof src, "%s/empty_assets", root);
    assert_int_equal(mkdir(src, 0755), 0);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_bundle_writer_t *w = NULL;
    assert_int_equal(cfx_bundle_writer_open(dir, &w, &err), 0);
    if (cfx_bundle_writer_add_dir(w, "assets", src, &err) != 0)
        fail_msg("add_dir: %s", err.msg);
    assert_int_equal(cfx_bundle_writer_add(w, "x.txt", "x\n", 2, &err), 0);
    json_t *m = json_object();
    assert_non_null(m);
    if (cfx_bundle_writer_commit(w, m, &err) != 0)
        fail_msg("commit: %s", err.msg);
    json_decref(m);
    snprintf(p, sizeof p, "%s/x.txt", dir);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_size, 2);
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    json_t *man = json_load_file(p, 0, NULL);
    assert_non_null(man);
    json_t *files = json_object_get(man, "files");
    assert_int_equal(json_object_size(files), 1);
    assert_non_null(json_object_get(files, "x.txt"));
    json_decref(man);
}

static void test_missing_file(void **state) {
    (void)state;
    write_bundle("missing", NULL, 0);
    char p[700];
    snprintf(p, sizeof p, "%s/missing/assets/color_xf.txt", root);
    assert_int_equal(unlink(p), 0);
    expect_refused("missing", CFX_ENOTFOUND,
                   "assets/color_xf.txt: listed in manifest.json but missing");
}

static void test_flipped_byte(void **state) {
    (void)state;
    write_bundle("flipped", NULL, 0);
    char p[700];
    snprintf(p, sizeof p, "%s/flipped/variables/model.safetensors", root);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, -3, SEEK_END);
    int c = fgetc(f);
    fseek(f, -3, SEEK_END);
    fputc(c ^ 0x10, f);
    fclose(f);
    expect_refused("flipped", CFX_ECHECKSUM,
                   "variables/model.safetensors: sha256 expected ");
    expect_refused("flipped", CFX_ECHECKSUM, ", found ");
}

static void test_wrong_shape(void **state) {
    (void)state;
    /* consistent checksums, but the kernel is [1, 3] where the network in
     * the manifest needs [1, 2] */
    write_bundle("shape", "deep/dense_0/kernel", 3);
    expect_refused("shape", CFX_ECORRUPT,
                   "variables/model.safetensors: tensor 'deep/dense_0/kernel': "
                   "shape expected "
                   "[1, 2], found [1, 3]");
}

static void test_unknown_version(void **state) {
    (void)state;
    write_bundle("version", NULL, 0);
    char p[700];
    snprintf(p, sizeof p, "%s/version/manifest.json", root);
    json_t *m = json_load_file(p, 0, NULL);
    assert_non_null(m);
    json_object_set_new(m, "format_version", json_integer(7));
    assert_int_equal(json_dump_file(m, p, 0), 0);
    json_decref(m);
    expect_refused(
        "version", CFX_EUNSUPPORTED,
        "manifest.json: format_version 7 is not supported (this build reads "
        "format_version 1 to 2)");
}

/* The manifest at <root>/<name>: the categorical entry c of its network
 * gets embedding_dim dim (0: removed, -1: the string "2"). */
static void set_embedding_dim(const char *name, size_t c, int dim) {
    char p[700];
    snprintf(p, sizeof p, "%s/%s/manifest.json", root, name);
    json_t *m = json_load_file(p, 0, NULL);
    assert_non_null(m);
    json_t *e = json_array_get(
        json_object_get(json_object_get(m, "network"), "categorical"), c);
    assert_non_null(e);
    if (dim == 0)
        json_object_del(e, "embedding_dim");
    else
        json_object_set_new(e, "embedding_dim",
                            dim < 0 ? json_string("2") : json_integer(dim));
    assert_int_equal(json_dump_file(m, p, 0), 0);
    json_decref(m);
}

/* Saved and loaded, a network with a learned embedding predicts what it
 * did in memory, bit for bit, and what is computed by hand:
 *   x = 3 -> z = 1, blue -> 1, h = 2: x0 = [1, 0.5, -2],
 *     z0 = (1 + 0.5, -1 - 2) -> relu (1.5, 0), deep = 1.5*2 + 0.5 = 3.5,
 *     wide = -1 + 0.25 - 0.75 = -1.5, p = sigmoid(2) = 0.8807970780
 *   empty: z = -0.5, color OOV 2, h 0: x0 = [-0.5, 1, 1],
 *     z0 = (0.5, 1.5), deep = 1 + 4.5 + 0.5 = 6, wide -1, p = sigmoid(5)
 * The manifest records the width; a manifest or a weights file that does
 * not agree with the other is refused, naming what differs. */
static void test_embedding_round_trip(void **state) {
    (void)state;
    cfx_net_t *n = NULL;
    write_bundle_net("emb", NULL, 0, 1, &n);
    char dir[512], p[700];
    snprintf(dir, sizeof dir, "%s/emb", root);
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    json_t *m = json_load_file(p, 0, NULL);
    assert_non_null(m);
    json_t *cats =
        json_object_get(json_object_get(m, "network"), "categorical");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(cats, 0),
                                                        "embedding_dim")),
                     2);
    assert_null(json_object_get(json_array_get(cats, 1), "embedding_dim"));
    /* embeddings need format 2 (a build that reads only 1 refuses it by
     * name); a network without them is still written as 1 */
    assert_int_equal(json_integer_value(json_object_get(m, "format_version")),
                     2);
    json_decref(m);
    write_bundle("plain", NULL, 0);
    snprintf(p, sizeof p, "%s/plain/manifest.json", root);
    m = json_load_file(p, 0, NULL);
    assert_non_null(m);
    assert_int_equal(json_integer_value(json_object_get(m, "format_version")),
                     1);
    json_decref(m);
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    cfx_bundle_t *b = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_bundle_load(dir, &b, &err) != 0)
        fail_msg("load: %s", err.msg);
    float dense[2] = {1, -0.5f}, q[2], logits[2];
    int32_t cat[4] = {1, 2, 2, 0};
    assert_int_equal(cfx_bundle_predict_transformed(b, dense, cat, 2, q, &err),
                     0);
    assert_float_equal(q[0], 0.8807970780, 1e-6);
    assert_float_equal(q[1], 1.0 / (1.0 + exp(-5.0)), 1e-6);
    float *scratch = malloc(cfx_net_scratch_floats(n, 2) * sizeof *scratch);
    cfx_net_forward(n, dense, cat, 2, logits, scratch);
    free(scratch);
    for (int i = 0; i < 2; i++)
        assert_true(cfx_sigmoid(logits[i]) == q[i]);
    cfx_bundle_free(b);
    cfx_net_free(n);

    /* an embedding in a format 1 manifest */
    write_bundle_net("emb1", NULL, 0, 1, NULL);
    snprintf(p, sizeof p, "%s/emb1/manifest.json", root);
    m = json_load_file(p, 0, NULL);
    assert_non_null(m);
    json_object_set_new(m, "format_version", json_integer(1));
    assert_int_equal(json_dump_file(m, p, 0), 0);
    json_decref(m);
    expect_refused("emb1", CFX_EPARSE,
                   "network categorical[0] 'color_xf': embedding_dim needs "
                   "format_version 2");
    /* a width the weights do not have: the first kernel's shape differs */
    write_bundle_net("emb3", NULL, 0, 1, NULL);
    set_embedding_dim("emb3", 0, 3);
    expect_refused("emb3", CFX_ECORRUPT,
                   "tensor 'deep/dense_0/kernel': shape expected [4, 2], "
                   "found [3, 2]");
    /* an embedding table of the wrong width in the weights */
    write_bundle_net("embw", "deep/embedding/color_xf", 3, 1, NULL);
    expect_refused("embw", CFX_ECORRUPT,
                   "tensor 'deep/embedding/color_xf': shape expected [3, 2], "
                   "found [3, 3]");
    /* the manifest without the width: a one-hot table is expected */
    write_bundle_net("emb0", NULL, 0, 1, NULL);
    set_embedding_dim("emb0", 0, 0);
    expect_refused("emb0", CFX_ECORRUPT,
                   "tensor 'deep/dense_0/kernel': shape expected [1, 2], "
                   "found [3, 2]");
    /* a width on a categorical that is not deep, or not a number */
    write_bundle_net("embh", NULL, 0, 1, NULL);
    set_embedding_dim("embh", 1, 2);
    expect_refused("embh", CFX_EPARSE,
                   "manifest.json: network categorical[1] 'h_xf': "
                   "embedding_dim expected an integer in 1..512 on a deep "
                   "categorical");
    set_embedding_dim("embh", 1, 0);
    set_embedding_dim("embh", 0, -1);
    expect_refused("embh", CFX_EPARSE,
                   "network categorical[0] 'color_xf': embedding_dim "
                   "expected an integer");
    set_embedding_dim("embh", 0, 600);
    expect_refused("embh", CFX_EPARSE,
                   "network categorical[0] 'color_xf': embedding_dim "
                   "expected an integer");
}

/* The file names a bundle may hold: the writer and the loader share the
 * rule, so a manifest can never point outside its folder. */
static void test_relpath_rule(void **state) {
    (void)state;
    static const char *const ok[] = {
        "transform.json", "variables/model.safetensors",
        "assets.extra/warmup.jsonl", "a/.b/c..d", "..."};
    static const char *const bad[] = {"",      "/etc/passwd", "../x", "a/../b",
                                      "a/./b", ".",           "..",   "a//b",
                                      "a/",    "./a"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_int_equal(cfx_bundle_relpath_ok(ok[i]), 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cfx_bundle_relpath_ok(bad[i]), 0);
    char longp[1100];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(cfx_bundle_relpath_ok(longp), 0);
    longp[1024] = '\0';
    assert_int_equal(cfx_bundle_relpath_ok(longp), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_predict),
        cmocka_unit_test(test_embedding_round_trip),
        cmocka_unit_test(test_relpath_rule),
        cmocka_unit_test(test_empty_destination),
        cmocka_unit_test(test_empty_assets_dir),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_flipped_byte),
        cmocka_unit_test(test_wrong_shape),
        cmocka_unit_test(test_unknown_version),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

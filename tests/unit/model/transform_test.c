/*
 * transform_test.c: the transform graph (model/transform.c) on a graph
 * written by hand, every expected output computed by hand; FarmHash
 * Fingerprint64 against values published in TensorFlow's own tests; load
 * errors that must name the file and field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/tfrecord.h"
#include "model/fingerprint.h"
#include "model/transform.h"
#include "test_util.h"
#include "transform/tft.h"

/* ---- Fingerprint64 ------------------------------------------------------ */

/* From TensorFlow's string_to_hash_bucket_op_test.py (to_hash_bucket_fast):
 * Fingerprint64('a') = 12917804110809363939, 'b' = 11795596070477164822,
 * 'c' = 11430444447143000872, 'd' = 4470636696479570465. */
static void test_fingerprint64_published(void **state) {
    (void)state;
    assert_true(cfx_fingerprint64("a", 1) == 12917804110809363939ull);
    assert_true(cfx_fingerprint64("b", 1) == 11795596070477164822ull);
    assert_true(cfx_fingerprint64("c", 1) == 11430444447143000872ull);
    assert_true(cfx_fingerprint64("d", 1) == 4470636696479570465ull);
    /* the same test's bucket ids with 10 buckets: 9, 2, 2, 5 */
    assert_int_equal(cfx_fingerprint64("a", 1) % 10, 9);
    assert_int_equal(cfx_fingerprint64("d", 1) % 10, 5);
}

/* ---- a graph written by hand -------------------------------------------- */

static char graph_dir[256];

/* Outputs: z (z_score mean 2 var 4), zc (z_score var 0, mean 1.5),
 * v (vocabulary x,y,z + 10 OOV), vi (vocabulary over int64 "7","42","0" +
 * 3 OOV),
 * b (bucketize [1,2,2,3]), h (identity cardinality 5, default 4);
 * label tips > 0.2 * fare. */
static const char graph_json[] =
    "{\"format_version\": 1,\n"
    " \"inputs\": [{\"name\": \"num\", \"kind\": \"float\"},\n"
    "            {\"name\": \"cnt\", \"kind\": \"int64\"},\n"
    "            {\"name\": \"word\", \"kind\": \"bytes\"},\n"
    "            {\"name\": \"code\", \"kind\": \"int64\"},\n"
    "            {\"name\": \"pos\", \"kind\": \"float\"},\n"
    "            {\"name\": \"hour\", \"kind\": \"int64\"}],\n"
    " \"outputs\": [\n"
    "  {\"name\": \"z\", \"op\": \"z_score\", \"input\": \"num\",\n"
    "   \"mean\": 2.0, \"var\": 4.0},\n"
    "  {\"name\": \"v\", \"op\": \"vocabulary\", \"input\": \"word\",\n"
    "   \"vocabulary_file\": \"v.txt\", \"vocab_size\": 3,\n"
    "   \"num_oov_buckets\": 10},\n"
    "  {\"name\": \"zc\", \"op\": \"z_score\", \"input\": \"cnt\",\n"
    "   \"mean\": 1.5, \"var\": 0.0},\n"
    "  {\"name\": \"b\", \"op\": \"bucketize\", \"input\": \"pos\",\n"
    "   \"boundaries\": [1.0, 2.0, 2.0, 3.0]},\n"
    "  {\"name\": \"vi\", \"op\": \"vocabulary\", \"input\": \"code\",\n"
    "   \"vocabulary_file\": \"vi.txt\", \"vocab_size\": 3,\n"
    "   \"num_oov_buckets\": 3},\n"
    "  {\"name\": \"h\", \"op\": \"identity\", \"input\": \"hour\",\n"
    "   \"cardinality\": 5, \"default_value\": 4}],\n"
    " \"label\": {\"name\": \"tips_xf\", \"op\": \"greater_than\",\n"
    "   \"input\": \"tips\", \"threshold_input\": \"fare\",\n"
    "   \"threshold_scale\": 0.2, \"threshold\": 0, \"nan_value\": 0}}\n";

static int setup(void **state) {
    (void)state;
    if (cfx_test_tmpdir_make(graph_dir, sizeof graph_dir, "cfx_xf_test") < 0)
        return -1;
    char assets[300];
    snprintf(assets, sizeof assets, "%s/assets", graph_dir);
    if (mkdir(assets, 0755) < 0)
        return -1;
    cfx_test_write_file_in(graph_dir, "transform.json", graph_json);
    cfx_test_write_file_in(graph_dir, "assets/v.txt", "x\ny\nz\n");
    cfx_test_write_file_in(graph_dir, "assets/vi.txt", "7\n42\n0\n");
    return 0;
}

static int teardown(void **state) {
    (void)state;
    return cfx_test_rm_rf(graph_dir);
}

static void add_f(cfx_example_t *ex, const char *name, float v) {
    assert_int_equal(cfx_example_add_float(ex, name, &v, 1), 0);
}
static void add_i(cfx_example_t *ex, const char *name, int64_t v) {
    assert_int_equal(cfx_example_add_int64(ex, name, &v, 1), 0);
}
static void add_s(cfx_example_t *ex, const char *name, const char *s) {
    cfx_bytes_t b = {(const uint8_t *)s, strlen(s)};
    assert_int_equal(cfx_example_add_bytes(ex, name, &b, 1), 0);
}

static cfx_transform_t *load(void) {
    cfx_transform_t *t = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_transform_load(graph_dir, &t, &err);
    if (rc < 0)
        fprintf(stderr, "load: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return t;
}

static void test_shape(void **state) {
    (void)state;
    cfx_transform_t *t = load();
    assert_int_equal(cfx_transform_num_outputs(t), 6);
    assert_int_equal(cfx_transform_num_dense(t), 2);
    assert_int_equal(cfx_transform_num_categorical(t), 4);
    /* label inputs (tips, fare) are not serving inputs */
    assert_int_equal(cfx_transform_num_inputs(t), 6);
    assert_string_equal(cfx_transform_input(t, 2)->name, "word");
    assert_int_equal(cfx_transform_input(t, 2)->kind, CFX_KIND_BYTES);
    assert_string_equal(cfx_transform_label_name(t), "tips_xf");
    const cfx_xf_output_t *o = cfx_transform_output(t, 1);
    assert_string_equal(o->name, "v");
    assert_int_equal(o->kind, CFX_XF_CATEGORICAL);
    assert_int_equal(o->cardinality, 13);
    assert_int_equal(o->slot, 0);
    o = cfx_transform_output(t, 2);
    assert_int_equal(o->kind, CFX_XF_DENSE);
    assert_int_equal(o->slot, 1);
    assert_int_equal(cfx_transform_output(t, 3)->cardinality, 5);
    assert_int_equal(cfx_transform_output(t, 4)->cardinality, 6);
    assert_int_equal(cfx_transform_output(t, 5)->cardinality, 5);
    assert_int_equal(cfx_transform_find_output(t, "b"), 3);
    assert_int_equal(cfx_transform_find_output(t, "nope"), -1);
    cfx_transform_free(t);
}

typedef struct row {
    float num;
    int has_num;
    const char *word; /* NULL: missing */
    float pos;
    int has_pos;
    int64_t hour;
    int has_hour;
    int64_t code;
    /* expected */
    float z;
    int32_t v, b, h, vi;
} row_t;

static void test_apply_by_hand(void **state) {
    (void)state;
    cfx_transform_t *t = load();
    uint64_t fa = cfx_fingerprint64("a", 1), fe = cfx_fingerprint64("", 0);
    /* z = (num - 2) / 2; missing num -> 0 -> -1.
     * v: x,y,z -> 0,1,2; "a" -> 3 + 9 (published fingerprint) = 12;
     *    missing -> "" -> 3 + Fingerprint64("") % 10.
     * b: boundaries [1,2,2,3], bucket = #boundaries <= x.
     * h: 0..4 passthrough, out of range -> default 4, missing -> 0.
     * vi: "7" -> 0, "42" -> 1, "0" -> 2, otherwise 3 + fp % 3. */
    const row_t rows[] = {
        {5.0f, 1, "y", 0.5f, 1, 3, 1, 42, 1.5f, 1, 0, 3, 1},
        {0.0f, 0, "x", 1.0f, 1, 4, 1, 7, -1.0f, 0, 1, 4, 0},
        {-1.0f, 1, "a", 2.0f, 1, 5, 1, 7, -1.5f, 12, 3, 4, 0},
        {2.0f, 1, NULL, 2.5f, 1, -1, 1, 7, 0.0f, (int32_t)(3 + fe % 10), 3, 4,
         0},
        {3.0f, 1, "z", 3.0f, 1, 0, 0, 7, 0.5f, 2, 4, 0, 0},
        {3.0f, 1, "Z", 100.0f, 1, 0, 1, 7, 0.5f,
         (int32_t)(3 + cfx_fingerprint64("Z", 1) % 10), 4, 0, 0},
        {3.0f, 1, "z", 0.0f, 0, 0, 1, 7, 0.5f, 2, 0, 0, 0},
        {3.0f, 1, "z", NAN, 1, 0, 1, 7, 0.5f, 2, 4, 0, 0},
    };
    assert_int_equal(fa % 10, 9);
    cfx_example_t ex, out;
    cfx_example_init(&ex);
    cfx_example_init(&out);
    cfx_error_t err;
    cfx_error_init(&err);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row_t *r = &rows[i];
        cfx_example_reset(&ex);
        add_s(&ex, "unused", "ignored");
        if (r->has_num)
            add_f(&ex, "num", r->num);
        if (r->word)
            add_s(&ex, "word", r->word);
        if (r->has_pos)
            add_f(&ex, "pos", r->pos);
        if (r->has_hour)
            add_i(&ex, "hour", r->hour);
        add_i(&ex, "code", r->code);
        add_i(&ex, "cnt", 4); /* zc: var 0 -> 4 - 1.5 = 2.5 */
        float dense[2] = {-9, -9};
        int32_t cat[4] = {-9, -9, -9, -9};
        int rc = cfx_transform_apply(t, &ex, dense, cat, &err);
        if (rc < 0)
            fprintf(stderr, "row %zu: %s\n", i, err.msg);
        assert_int_equal(rc, 0);
        if (dense[0] != r->z || dense[1] != 2.5f || cat[0] != r->v ||
            cat[1] != r->b || cat[2] != r->vi || cat[3] != r->h)
            fail_msg("row %zu: got z=%g zc=%g v=%d b=%d vi=%d h=%d, want "
                     "z=%g v=%d b=%d vi=%d h=%d",
                     i, dense[0], dense[1], cat[0], cat[1], cat[2], cat[3],
                     r->z, r->v, r->b, r->vi, r->h);
        /* The transformed example holds the same values. */
        assert_int_equal(cfx_transform_apply_example(t, &ex, &out, &err), 0);
        const cfx_feature_t *f = cfx_example_find(&out, "z");
        assert_non_null(f);
        assert_int_equal(f->kind, CFX_KIND_FLOAT);
        assert_true(f->count == 1 && f->v.floats[0] == r->z);
        f = cfx_example_find(&out, "b");
        assert_int_equal(f->kind, CFX_KIND_INT64);
        assert_true(f->count == 1 && f->v.ints[0] == r->b);
        f = cfx_example_find(&out, "v");
        assert_true(f->count == 1 && f->v.ints[0] == r->v);
        f = cfx_example_find(&out, "tips_xf");
        assert_non_null(f);
        assert_true(f->count == 1 && f->v.ints[0] == 0); /* no tips, fare */
        assert_int_equal(out.count, 7);
    }
    /* int64 vocabulary inputs are looked up by their decimal form. */
    const int64_t codes[] = {-12, INT64_MIN, 42, 0};
    const char *const decimal[] = {"-12", "-9223372036854775808", "42", "0"};
    for (size_t i = 0; i < 4; i++) {
        cfx_example_reset(&ex);
        add_i(&ex, "code", codes[i]);
        float d2[2];
        int32_t c2[4];
        assert_int_equal(cfx_transform_apply(t, &ex, d2, c2, &err), 0);
        int32_t want = i == 2 ? 1 : i == 3 ? 2 : -1;
        if (want < 0)
            want = (int32_t)(3 +
                             cfx_fingerprint64(decimal[i], strlen(decimal[i])) %
                                 3);
        assert_int_equal(c2[2], want);
    }
    /* A missing-everything example is all fills. */
    cfx_example_reset(&ex);
    float dense[2];
    int32_t cat[4];
    assert_int_equal(cfx_transform_apply(t, &ex, dense, cat, &err), 0);
    assert_true(dense[0] == -1.0f && dense[1] == -1.5f);
    assert_int_equal(cat[0], (int32_t)(3 + fe % 10));
    assert_int_equal(cat[1], 0);
    assert_int_equal(cat[3], 0);
    /* TFT fills a missing int64 with 0 before the vocabulary: the token
     * "0" (index 2), not "" (an OOV bucket) as a missing string gets. */
    assert_int_equal(cat[2], 2);
    cfx_example_free(&ex);
    cfx_example_free(&out);
    cfx_transform_free(t);
}

static float label_of(const cfx_transform_t *t, int has_tips, float tips,
                      int has_fare, float fare) {
    cfx_example_t ex;
    cfx_example_init(&ex);
    if (has_tips)
        add_f(&ex, "tips", tips);
    if (has_fare)
        add_f(&ex, "fare", fare);
    float l = -1;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_transform_label(t, &ex, &l, &err), 0);
    cfx_example_free(&ex);
    return l;
}

static void test_label(void **state) {
    (void)state;
    cfx_transform_t *t = load();
    /* float32: 0.2f * 10 rounds to exactly 2.0f, so 2 > 2 is false. */
    assert_true(label_of(t, 1, 2.0f, 1, 10.0f) == 0.0f);
    assert_true(label_of(t, 1, 2.01f, 1, 10.0f) == 1.0f);
    assert_true(label_of(t, 1, 0.0f, 1, 0.0f) == 0.0f);
    /* fare missing -> filled 0: any positive tip is > 0 */
    assert_true(label_of(t, 1, 0.5f, 0, 0.0f) == 1.0f);
    assert_true(label_of(t, 0, 0.0f, 1, 3.0f) == 0.0f);
    assert_true(label_of(t, 1, 5.0f, 1, NAN) == 0.0f);
    assert_true(label_of(t, 1, NAN, 1, 1.0f) == 0.0f);
    cfx_transform_free(t);
}

static void test_wrong_kind(void **state) {
    (void)state;
    cfx_transform_t *t = load();
    cfx_example_t ex;
    cfx_example_init(&ex);
    cfx_error_t err;
    cfx_error_init(&err);
    float dense[2];
    int32_t cat[4];
    add_s(&ex, "num", "3.5");
    assert_int_equal(cfx_transform_apply(t, &ex, dense, cat, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "'num'"));
    cfx_example_reset(&ex);
    add_f(&ex, "hour", 3.0f);
    assert_int_equal(cfx_transform_apply(t, &ex, dense, cat, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "'hour'"));
    cfx_example_reset(&ex);
    add_f(&ex, "word", 3.0f);
    assert_int_equal(cfx_transform_apply(t, &ex, dense, cat, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "'word'"));
    /* int64 for a float input is converted, not refused */
    cfx_example_reset(&ex);
    add_i(&ex, "num", 6);
    assert_int_equal(cfx_transform_apply(t, &ex, dense, cat, &err), 0);
    assert_true(dense[0] == 2.0f);
    cfx_example_free(&ex);
    cfx_transform_free(t);
}

static void expect_load_error(const char *json, const char *vocab,
                              const char *needle) {
    cfx_test_write_file_in(graph_dir, "transform.json", json);
    if (vocab)
        cfx_test_write_file_in(graph_dir, "assets/v.txt", vocab);
    cfx_transform_t *t = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_transform_load(graph_dir, &t, &err);
    assert_true(rc < 0);
    assert_null(t);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' does not mention '%s'", err.msg, needle);
}

static void test_load_errors(void **state) {
    (void)state;
    /* vocabulary file shorter than vocab_size */
    expect_load_error(graph_json, "x\ny\n", "expected 3 tokens");
    expect_load_error(graph_json, "x\nx\ny\n", "duplicate token");
    expect_load_error(graph_json, "x\ny\nz", "newline");
    cfx_test_write_file_in(graph_dir, "assets/v.txt", "x\ny\nz\n");
    expect_load_error(
        "{\"format_version\": 1, \"inputs\": [{\"name\": \"w\", \"kind\": "
        "\"bytes\"}], \"outputs\": [{\"name\": \"o\", \"op\": "
        "\"vocabulary\", \"input\": \"w\", \"vocabulary_file\": "
        "\"../v.txt\", \"vocab_size\": 3, \"num_oov_buckets\": 1}]}",
        NULL, "plain file name");
    expect_load_error(
        "{\"format_version\": 1, \"inputs\": [{\"name\": \"w\", \"kind\": "
        "\"float\"}], \"outputs\": [{\"name\": \"o\", \"op\": \"hash\", "
        "\"input\": \"w\"}]}",
        NULL, "unknown op 'hash'");
    expect_load_error(
        "{\"format_version\": 1, \"inputs\": [], \"outputs\": [{\"name\": "
        "\"o\", \"op\": \"z_score\", \"input\": \"w\", \"mean\": 0, "
        "\"var\": 1}]}",
        NULL, "input 'w' is not in");
    expect_load_error(
        "{\"format_version\": 1, \"inputs\": [{\"name\": \"w\", \"kind\": "
        "\"float\"}], \"outputs\": [{\"name\": \"o\", \"op\": \"bucketize\", "
        "\"input\": \"w\", \"boundaries\": [2, 1]}]}",
        NULL, "boundaries[1] is below");
    expect_load_error("{\"format_version\": 2}", NULL, "format_version");
    expect_load_error("{\"format_version\": 1,", NULL, "transform.json:1:");
    cfx_test_write_file_in(graph_dir, "transform.json", graph_json);
}

/* No training/serving skew: run the transform component on the examples
 * TFX's CsvExampleGen wrote (older TFX: empty cells are kind-less
 * features), then feed every raw eval record to cfx_transform_apply and
 * cfx_transform_label, the functions the server calls, and compare with
 * the transformed example the component wrote for it. */
static void test_apply_matches_transformed_examples(void **state) {
    (void)state;
    const char *src = getenv("CFX_SOURCE_DIR");
    char examples[1024], spec[1024], out[600], graph[700], xf[800], raw[1100];
    snprintf(examples, sizeof examples,
             "%s/tests/data/tfx-conformance/csv_example_gen", src ? src : ".");
    snprintf(spec, sizeof spec, "%s/examples/taxi/transform.json",
             src ? src : ".");
    snprintf(out, sizeof out, "%s/component", graph_dir);
    snprintf(graph, sizeof graph, "%s/transform_graph", out);
    snprintf(xf, sizeof xf,
             "%s/transformed_examples/Split-eval/"
             "transformed_examples-00000-of-00001.gz",
             out);
    snprintf(raw, sizeof raw, "%s/Split-eval", examples);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_tft_options_t o;
    memset(&o, 0, sizeof o);
    o.examples_dir = examples;
    o.spec_path = spec;
    o.output_dir = out;
    int rc = cfx_tft_run(&o, NULL, &err);
    if (rc < 0)
        fail_msg("transform: %s", err.msg);
    cfx_transform_t *t = NULL;
    assert_int_equal(cfx_transform_load(graph, &t, &err), 0);
    size_t nd = cfx_transform_num_dense(t),
           nc = cfx_transform_num_categorical(t);
    float *dense = calloc(nd, sizeof *dense);
    int32_t *cat = calloc(nc, sizeof *cat);
    char **files = NULL;
    size_t nfiles = 0;
    assert_int_equal(cfx_tfrecord_list_dir(raw, &files, &nfiles, &err), 0);
    cfx_tfrecord_reader_t *xr = NULL;
    assert_int_equal(cfx_tfrecord_reader_open(xf, &xr, &err), 0);
    cfx_example_t ex, tx;
    cfx_example_init(&ex);
    cfx_example_init(&tx);
    size_t records = 0, kindless = 0;
    for (size_t f = 0; f < nfiles; f++) {
        cfx_tfrecord_reader_t *r = NULL;
        assert_int_equal(cfx_tfrecord_reader_open(files[f], &r, &err), 0);
        const uint8_t *d;
        size_t len;
        while ((rc = cfx_tfrecord_read(r, &d, &len, &err)) == 1) {
            assert_int_equal(cfx_example_decode(&ex, d, len, &err), 0);
            for (size_t i = 0; i < ex.count; i++)
                kindless += ex.features[i].kind == CFX_KIND_NONE;
            assert_int_equal(cfx_transform_apply(t, &ex, dense, cat, &err), 0);
            float label;
            assert_int_equal(cfx_transform_label(t, &ex, &label, &err), 0);
            assert_int_equal(cfx_tfrecord_read(xr, &d, &len, &err), 1);
            assert_int_equal(cfx_example_decode(&tx, d, len, &err), 0);
            for (size_t i = 0; i < cfx_transform_num_outputs(t); i++) {
                const cfx_xf_output_t *o2 = cfx_transform_output(t, i);
                const cfx_feature_t *g = cfx_example_find(&tx, o2->name);
                assert_non_null(g);
                assert_int_equal(g->count, 1);
                if (o2->kind == CFX_XF_DENSE) {
                    assert_int_equal(g->kind, CFX_KIND_FLOAT);
                    if (g->v.floats[0] != dense[o2->slot])
                        fail_msg("record %zu %s: file %.9g, apply %.9g",
                                 records, o2->name, g->v.floats[0],
                                 dense[o2->slot]);
                } else {
                    assert_int_equal(g->kind, CFX_KIND_INT64);
                    if (g->v.ints[0] != cat[o2->slot])
                        fail_msg("record %zu %s: file %lld, apply %d", records,
                                 o2->name, (long long)g->v.ints[0],
                                 cat[o2->slot]);
                }
            }
            const cfx_feature_t *l = cfx_example_find(&tx, "tips_xf");
            assert_non_null(l);
            assert_true(l->v.ints[0] == (int64_t)label);
            records++;
        }
        assert_int_equal(rc, 0);
        cfx_tfrecord_reader_free(r);
    }
    const uint8_t *d;
    size_t len;
    assert_int_equal(cfx_tfrecord_read(xr, &d, &len, &err), 0); /* no more */
    assert_int_equal(records, 5091);
    assert_true(kindless > 0); /* the fill of kind-less features was used */
    cfx_tfrecord_reader_free(xr);
    cfx_path_list_free(files);
    cfx_example_free(&ex);
    cfx_example_free(&tx);
    free(dense);
    free(cat);
    cfx_transform_free(t);
}

/* ---- cross and log_z_score ---------------------------------------------- */

/* b: bucketize [1, 2] (cardinality 3); h: identity cardinality 5;
 * c: exact cross [b, h] (cardinality 15); ch: cross [h, b] hashed into 7;
 * l: log_z_score of pos, mean 1 var 4. */
static const char cross_json[] =
    "{\"format_version\": 1,\n"
    " \"inputs\": [{\"name\": \"pos\", \"kind\": \"float\"},\n"
    "            {\"name\": \"hour\", \"kind\": \"int64\"}],\n"
    " \"outputs\": [\n"
    "  {\"name\": \"b\", \"op\": \"bucketize\", \"input\": \"pos\",\n"
    "   \"boundaries\": [1.0, 2.0]},\n"
    "  {\"name\": \"l\", \"op\": \"log_z_score\", \"input\": \"pos\",\n"
    "   \"mean\": 1.0, \"var\": 4.0},\n"
    "  {\"name\": \"h\", \"op\": \"identity\", \"input\": \"hour\",\n"
    "   \"cardinality\": 5, \"default_value\": 0},\n"
    "  {\"name\": \"c\", \"op\": \"cross\", \"inputs\": [\"b\", \"h\"],\n"
    "   \"hash_bucket_size\": 0, \"cardinality\": 15},\n"
    "  {\"name\": \"ch\", \"op\": \"cross\", \"inputs\": [\"h\", \"b\"],\n"
    "   \"hash_bucket_size\": 7, \"cardinality\": 7}]}\n";

/* Expected values by hand: c = b * 5 + h; ch = splitmix64's finaliser of
 * the index h * 3 + b, mod 7, computed with Python integers: 11 ->
 * 0x3462d848f53abb6d -> 4; 0 -> 0 -> 0; 12 -> 0x37be58e8d7213bbc -> 0;
 * 13 -> 0xdcfa9555b5f881d1 -> 6; 2 -> 0xdbd238973a2b148a -> 1.
 * l = (float32(log1p(max(pos, 0))) - 1) / 2 in float32, with Python's
 * math.log1p rounded to float32: pos 2.5 -> 0.12638145685195923,
 * pos 1.5 -> -0.0418546199798584, pos -3 or missing -> -0.5. */
static void test_cross_and_log(void **state) {
    (void)state;
    cfx_test_write_file_in(graph_dir, "transform.json", cross_json);
    cfx_transform_t *t = load();
    assert_int_equal(cfx_transform_num_dense(t), 1);
    assert_int_equal(cfx_transform_num_categorical(t), 4);
    assert_int_equal(cfx_transform_num_inputs(t), 2);
    const cfx_xf_output_t *c = cfx_transform_output(t, 3);
    assert_string_equal(c->name, "c");
    assert_int_equal(c->kind, CFX_XF_CATEGORICAL);
    assert_int_equal(c->cardinality, 15);
    assert_int_equal(c->slot, 2);
    assert_int_equal(cfx_transform_output(t, 4)->cardinality, 7);
    static const struct {
        int has_pos;
        float pos;
        int64_t hour;
        int32_t b, h, c, ch;
        float l;
    } cases[] = {
        {1, 2.5f, 3, 2, 3, 13, 4, 0.12638145685195923f},
        {0, 0.0f, 0, 0, 0, 0, 0, -0.5f},
        {1, -3.0f, 4, 0, 4, 4, 0, -0.5f},
        {1, 1.5f, 4, 1, 4, 9, 6, -0.0418546199798584f},
        {1, 2.5f, 9, 2, 0, 10, 1, 0.12638145685195923f}, /* hour out of range */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cfx_example_t ex;
        cfx_example_init(&ex);
        if (cases[i].has_pos)
            add_f(&ex, "pos", cases[i].pos);
        if (cases[i].has_pos || cases[i].hour)
            add_i(&ex, "hour", cases[i].hour);
        float dense[1];
        int32_t cat[4];
        cfx_error_t err;
        cfx_error_init(&err);
        assert_int_equal(cfx_transform_apply(t, &ex, dense, cat, &err), 0);
        assert_int_equal(cat[0], cases[i].b);
        assert_int_equal(cat[1], cases[i].h);
        assert_int_equal(cat[2], cases[i].c);
        assert_int_equal(cat[3], cases[i].ch);
        /* log1pf may differ from the correctly rounded value by an ulp */
        if (fabsf(dense[0] - cases[i].l) > 1e-6f)
            fail_msg("case %zu: l = %.9g, want %.9g", i, dense[0], cases[i].l);
        /* the transformed example carries the same values */
        cfx_example_t out;
        cfx_example_init(&out);
        assert_int_equal(cfx_transform_apply_example(t, &ex, &out, &err), 0);
        const cfx_feature_t *f = cfx_example_find(&out, "ch");
        assert_non_null(f);
        assert_int_equal(f->v.ints[0], cat[3]);
        f = cfx_example_find(&out, "c");
        assert_int_equal(f->v.ints[0], cat[2]);
        cfx_example_free(&out);
        cfx_example_free(&ex);
    }
    cfx_transform_free(t);
    cfx_test_write_file_in(graph_dir, "transform.json", graph_json);
}

static void test_cross_load_errors(void **state) {
    (void)state;
    static const char head[] =
        "{\"format_version\": 1, \"inputs\": [{\"name\": \"pos\", \"kind\": "
        "\"float\"}], \"outputs\": [{\"name\": \"b\", \"op\": \"bucketize\", "
        "\"input\": \"pos\", \"boundaries\": [1.0]}, {\"name\": \"z\", "
        "\"op\": \"z_score\", \"input\": \"pos\", \"mean\": 0, \"var\": 1}, ";
    char json[1024];
    snprintf(json, sizeof json,
             "%s{\"name\": \"c\", \"op\": \"cross\", \"inputs\": [\"b\", "
             "\"z\"], \"hash_bucket_size\": 0, \"cardinality\": 2}]}",
             head);
    expect_load_error(json, NULL,
                      "outputs[2] ('c'): inputs[1] is not an earlier "
                      "categorical output");
    snprintf(json, sizeof json,
             "%s{\"name\": \"c\", \"op\": \"cross\", \"inputs\": [\"b\", "
             "\"c\"], \"hash_bucket_size\": 0, \"cardinality\": 4}]}",
             head);
    expect_load_error(json, NULL, "inputs[1] is not an earlier");
    snprintf(json, sizeof json,
             "%s{\"name\": \"c\", \"op\": \"cross\", \"inputs\": [\"b\", "
             "\"b\"], \"hash_bucket_size\": 0, \"cardinality\": 5}]}",
             head);
    expect_load_error(json, NULL, "\"cardinality\" 5, expected 4");
    snprintf(json, sizeof json,
             "%s{\"name\": \"c\", \"op\": \"cross\", \"inputs\": [\"b\"], "
             "\"hash_bucket_size\": 0, \"cardinality\": 2}]}",
             head);
    expect_load_error(json, NULL, "must be an array of 2 to 8");
    cfx_test_write_file_in(graph_dir, "transform.json", graph_json);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint64_published),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_apply_by_hand),
        cmocka_unit_test(test_label),
        cmocka_unit_test(test_wrong_kind),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_apply_matches_transformed_examples),
        cmocka_unit_test(test_cross_and_log),
        cmocka_unit_test(test_cross_load_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

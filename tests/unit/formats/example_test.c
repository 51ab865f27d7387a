/* example_test.c: tf.Example decode/encode against TensorFlow-written
 * records (byte-identical re-encoding), against protobuf-c's generated
 * code, and on malformed input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "example.pb-c.h"
#include "formats/example.h"
#include "formats/tfrecord.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void split_dir(char *out, size_t n, const char *split) {
    const char *src = getenv("CFX_SOURCE_DIR");
    assert_non_null(src);
    snprintf(out, n, "%s/tests/data/tfx-conformance/csv_example_gen/Split-%s",
             src, split);
}

/* First record of Split-train/...00000: values read with an independent
 * Python wire-format walk when this test was written. */
static void test_decode_known_record(void **state) {
    (void)state;
    char dir[1024], path[1200];
    split_dir(dir, sizeof dir, "train");
    snprintf(path, sizeof path, "%s/data_tfrecord-00000-of-00012.gz", dir);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_tfrecord_reader_t *r;
    assert_int_equal(cfx_tfrecord_reader_open(path, &r, &err), 0);
    const uint8_t *d;
    size_t len;
    assert_int_equal(cfx_tfrecord_read(r, &d, &len, &err), 1);
    assert_int_equal(len, 520);
    cfx_example_t ex;
    cfx_example_init(&ex);
    if (cfx_example_decode(&ex, d, len, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(ex.count, 18);
    const cfx_feature_t *f = cfx_example_find(&ex, "company");
    assert_non_null(f);
    assert_int_equal(f->kind, CFX_KIND_BYTES);
    assert_int_equal(f->count, 1);
    assert_string_equal((const char *)f->v.bytes[0].data,
                        "Dispatch Taxi Affiliation");
    f = cfx_example_find(&ex, "dropoff_census_tract");
    assert_int_equal(f->kind, CFX_KIND_INT64);
    assert_int_equal(f->v.ints[0], 17031841900LL);
    f = cfx_example_find(&ex, "fare");
    assert_int_equal(f->kind, CFX_KIND_FLOAT);
    assert_true(f->v.floats[0] == 8.85f);
    f = cfx_example_find(&ex, "dropoff_longitude");
    assert_true(f->v.floats[0] == -87.64295959472656f);
    f = cfx_example_find(&ex, "pickup_census_tract"); /* empty CSV cell */
    assert_non_null(f);
    assert_int_equal(f->kind, CFX_KIND_NONE);
    f = cfx_example_find(&ex, "trip_start_timestamp");
    assert_int_equal(f->v.ints[0], 1444583700LL);
    assert_null(cfx_example_find(&ex, "no_such_feature"));
    cfx_example_sort(&ex);
    f = cfx_example_find(&ex, "trip_seconds");
    assert_non_null(f);
    assert_int_equal(f->v.ints[0], 660);
    assert_null(cfx_example_find(&ex, "zzz"));
    cfx_example_free(&ex);
    cfx_tfrecord_reader_free(r);
}

/* Compares our decoded example with protobuf-c's unpacking of the same bytes.
 */
static void same_as_protobuf_c(const cfx_example_t *ex, const uint8_t *d,
                               size_t len) {
    Tensorflow__Example *pe = tensorflow__example__unpack(NULL, len, d);
    assert_non_null(pe);
    assert_non_null(pe->features);
    assert_int_equal(pe->features->n_feature, ex->count);
    for (size_t i = 0; i < pe->features->n_feature; i++) {
        Tensorflow__Features__FeatureEntry *e = pe->features->feature[i];
        const cfx_feature_t *f = cfx_example_find(ex, e->key);
        assert_non_null(f);
        Tensorflow__Feature *v = e->value;
        if (v == NULL || v->kind_case == 0) {
            assert_int_equal(f->kind, CFX_KIND_NONE);
            continue;
        }
        assert_int_equal((int)f->kind, (int)v->kind_case);
        if (f->kind == CFX_KIND_BYTES) {
            assert_int_equal(f->count, v->bytes_list->n_value);
            for (size_t j = 0; j < f->count; j++) {
                assert_int_equal(f->v.bytes[j].len,
                                 v->bytes_list->value[j].len);
                assert_memory_equal(f->v.bytes[j].data,
                                    v->bytes_list->value[j].data,
                                    f->v.bytes[j].len);
            }
        } else if (f->kind == CFX_KIND_FLOAT) {
            assert_int_equal(f->count, v->float_list->n_value);
            assert_memory_equal(f->v.floats, v->float_list->value,
                                f->count * sizeof(float));
        } else {
            assert_int_equal(f->count, v->int64_list->n_value);
            assert_memory_equal(f->v.ints, v->int64_list->value,
                                f->count * sizeof(int64_t));
        }
    }
    tensorflow__example__free_unpacked(pe, NULL);
}

/* Every TF-written record decodes like protobuf-c decodes it, and re-encodes
 * to exactly the bytes TensorFlow wrote (TF writes keys sorted). */
static void test_conformance_round_trip(void **state) {
    (void)state;
    const char *splits[] = {"train", "eval"};
    cfx_example_t ex;
    cfx_example_init(&ex);
    cfx_buf_t out;
    cfx_buf_init(&out);
    cfx_error_t err;
    cfx_error_init(&err);
    size_t total = 0;
    double t_dec = 0, t_enc = 0;
    for (int s = 0; s < 2; s++) {
        char dir[1024];
        split_dir(dir, sizeof dir, splits[s]);
        char **files;
        size_t nfiles;
        assert_int_equal(cfx_tfrecord_list_dir(dir, &files, &nfiles, &err), 0);
        for (size_t i = 0; i < nfiles; i++) {
            cfx_tfrecord_reader_t *r;
            assert_int_equal(cfx_tfrecord_reader_open(files[i], &r, &err), 0);
            const uint8_t *d;
            size_t len;
            int rc;
            while ((rc = cfx_tfrecord_read(r, &d, &len, &err)) == 1) {
                double t0 = now_s();
                if (cfx_example_decode(&ex, d, len, &err))
                    fail_msg("%s record %zu: %s", files[i], total, err.msg);
                double t1 = now_s();
                cfx_buf_reset(&out);
                assert_int_equal(cfx_example_encode(&ex, &out), 0);
                t_enc += now_s() - t1;
                t_dec += t1 - t0;
                assert_int_equal(out.len, len);
                assert_memory_equal(out.data, d, len);
                if (total % 50 == 0)
                    same_as_protobuf_c(&ex, d, len);
                total++;
            }
            assert_int_equal(rc, 0);
            cfx_tfrecord_reader_free(r);
        }
        cfx_path_list_free(files);
    }
    assert_int_equal(total, 15000);
    print_message("decode %.2f us/record, encode %.2f us/record\n",
                  t_dec / (double)total * 1e6, t_enc / (double)total * 1e6);
    cfx_buf_free(&out);
    cfx_example_free(&ex);
}

/* Builds the same content through protobuf-c (entries sorted by key) and
 * through cfx_example_*, then compares the serializations. */
static void test_encode_matches_protobuf_c(void **state) {
    (void)state;
    cfx_example_t ex;
    cfx_example_init(&ex);
    /* Added out of order: the encoder sorts by key bytes ("B" < "a"). */
    int64_t ints[] = {0, -1, 1, 127, 128, INT64_MAX, INT64_MIN, 300};
    float floats[] = {0.0f, -0.0f, 1.5f, -3.25e10f, INFINITY, 1e-40f};
    cfx_bytes_t bytes[] = {{(const uint8_t *)"", 0},
                           {(const uint8_t *)"hello", 5},
                           {(const uint8_t *)"\0\xff\x80", 3}};
    assert_int_equal(cfx_example_add_int64(&ex, "zeta", ints, 8), 0);
    assert_int_equal(cfx_example_add_float(&ex, "a", floats, 6), 0);
    assert_int_equal(cfx_example_add_bytes(&ex, "B", bytes, 3), 0);
    assert_int_equal(cfx_example_add_int64(&ex, "empty_ints", NULL, 0), 0);
    assert_int_equal(cfx_example_add_float(&ex, "empty_floats", NULL, 0), 0);
    assert_int_equal(cfx_example_add_bytes(&ex, "empty_bytes", NULL, 0), 0);
    assert_int_equal(cfx_example_add_none(&ex, "ab"), 0);
    cfx_buf_t ours;
    cfx_buf_init(&ours);
    assert_int_equal(cfx_example_encode(&ex, &ours), 0);

    /* protobuf-c side, keys in byte order: B a ab empty_bytes empty_floats
     * empty_ints zeta. */
    Tensorflow__BytesList bl = TENSORFLOW__BYTES_LIST__INIT, ebl = bl;
    ProtobufCBinaryData bv[3];
    for (int i = 0; i < 3; i++) {
        bv[i].data = (uint8_t *)bytes[i].data;
        bv[i].len = bytes[i].len;
    }
    bl.n_value = 3;
    bl.value = bv;
    Tensorflow__FloatList fl = TENSORFLOW__FLOAT_LIST__INIT, efl = fl;
    fl.n_value = 6;
    fl.value = floats;
    Tensorflow__Int64List il = TENSORFLOW__INT64_LIST__INIT, eil = il;
    il.n_value = 8;
    il.value = ints;
    Tensorflow__Feature fv[7];
    for (int i = 0; i < 7; i++)
        tensorflow__feature__init(&fv[i]);
    fv[0].kind_case = TENSORFLOW__FEATURE__KIND_BYTES_LIST;
    fv[0].bytes_list = &bl;
    fv[1].kind_case = TENSORFLOW__FEATURE__KIND_FLOAT_LIST;
    fv[1].float_list = &fl;
    /* fv[2]: "ab", kind not set */
    fv[3].kind_case = TENSORFLOW__FEATURE__KIND_BYTES_LIST;
    fv[3].bytes_list = &ebl;
    fv[4].kind_case = TENSORFLOW__FEATURE__KIND_FLOAT_LIST;
    fv[4].float_list = &efl;
    fv[5].kind_case = TENSORFLOW__FEATURE__KIND_INT64_LIST;
    fv[5].int64_list = &eil;
    fv[6].kind_case = TENSORFLOW__FEATURE__KIND_INT64_LIST;
    fv[6].int64_list = &il;
    const char *keys[7] = {
        "B", "a", "ab", "empty_bytes", "empty_floats", "empty_ints", "zeta"};
    Tensorflow__Features__FeatureEntry ent[7], *entp[7];
    for (int i = 0; i < 7; i++) {
        tensorflow__features__feature_entry__init(&ent[i]);
        ent[i].key = (char *)keys[i];
        ent[i].value = &fv[i];
        entp[i] = &ent[i];
    }
    Tensorflow__Features feats = TENSORFLOW__FEATURES__INIT;
    feats.n_feature = 7;
    feats.feature = entp;
    Tensorflow__Example pe = TENSORFLOW__EXAMPLE__INIT;
    pe.features = &feats;
    size_t n = tensorflow__example__get_packed_size(&pe);
    uint8_t *theirs = malloc(n);
    assert_int_equal(tensorflow__example__pack(&pe, theirs), n);
    assert_int_equal(ours.len, n);
    assert_memory_equal(ours.data, theirs, n);

    /* And back: our decoder recovers every value, incl. -0.0 and denormals. */
    cfx_example_t back;
    cfx_example_init(&back);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_example_decode(&back, ours.data, ours.len, &err), 0);
    assert_int_equal(back.count, 7);
    const cfx_feature_t *f = cfx_example_find(&back, "zeta");
    assert_int_equal(f->count, 8);
    assert_memory_equal(f->v.ints, ints, sizeof ints);
    f = cfx_example_find(&back, "a");
    assert_memory_equal(f->v.floats, floats, sizeof floats);
    f = cfx_example_find(&back, "B");
    assert_int_equal(f->v.bytes[2].len, 3);
    assert_memory_equal(f->v.bytes[2].data, "\0\xff\x80", 3);
    f = cfx_example_find(&back, "empty_ints");
    assert_int_equal(f->kind, CFX_KIND_INT64);
    assert_int_equal(f->count, 0);
    f = cfx_example_find(&back, "ab");
    assert_int_equal(f->kind, CFX_KIND_NONE);
    free(theirs);
    cfx_buf_free(&ours);
    cfx_example_free(&back);
    cfx_example_free(&ex);
}

/* Hand-assembled wire bytes: unpacked elements, merges, duplicate keys,
 * unknown fields. */
static void test_decode_wire_variants(void **state) {
    (void)state;
    /* Example{features{
     *   feature{key "x" value{int64_list{value:5 value:[6,7] (packed),
     *                                    unknown field 2}}}
     *   feature{key "y" value{float_list{value: 1.0 (unpacked fixed32)}}}
     *   feature{key "x" value{bytes_list{value "q"}}}}
     *  unknown field 9} */
    const uint8_t w[] = {
        0x0a, 0x2b,                               /* features, 43 bytes */
        0x0a, 0x0f, 0x0a, 0x01, 'x',  0x12, 0x0a, /* entry x, Feature(10) */
        0x1a, 0x08, 0x08, 0x05, 0x0a, 0x02, 0x06, /* int64_list(8): 5, [6, */
        0x07, 0x10, 0x01,                         /* 7], field 2 = 1 */
        0x0a, 0x0c, 0x0a, 0x01, 'y',  0x12, 0x07, /* entry y, Feature(7) */
        0x12, 0x05, 0x0d, 0x00, 0x00, 0x80, 0x3f, /* float_list: 1.0f */
        0x0a, 0x0a, 0x0a, 0x01, 'x',  0x12, 0x05, /* entry x again */
        0x0a, 0x03, 0x0a, 0x01, 'q',              /* bytes_list: "q" */
        0x48, 0x01,                               /* Example field 9 */
    };
    cfx_example_t ex;
    cfx_example_init(&ex);
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_example_decode(&ex, w, sizeof w, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(ex.count, 2);
    assert_string_equal(ex.features[0].name, "x"); /* first position kept */
    assert_int_equal(ex.features[0].kind, CFX_KIND_BYTES); /* last value */
    assert_int_equal(ex.features[0].count, 1);
    assert_string_equal((const char *)ex.features[0].v.bytes[0].data, "q");
    assert_int_equal(ex.features[1].kind, CFX_KIND_FLOAT);
    assert_true(ex.features[1].v.floats[0] == 1.0f);
    /* Only the first entry (features length 17): 5 unpacked, 6 7 packed. */
    uint8_t one[2 + 17];
    memcpy(one, w, sizeof one);
    one[1] = 17;
    assert_int_equal(cfx_example_decode(&ex, one, sizeof one, &err), 0);
    assert_int_equal(ex.count, 1);
    assert_int_equal(ex.features[0].kind, CFX_KIND_INT64);
    assert_int_equal(ex.features[0].count, 3);
    assert_int_equal(ex.features[0].v.ints[0], 5);
    assert_int_equal(ex.features[0].v.ints[1], 6);
    assert_int_equal(ex.features[0].v.ints[2], 7);
    /* Re-encoding normalises to packed. */
    cfx_buf_t out;
    cfx_buf_init(&out);
    assert_int_equal(cfx_example_encode(&ex, &out), 0);
    const uint8_t want[] = {0x0a, 0x0e, 0x0a, 0x0c, 0x0a, 0x01, 'x',  0x12,
                            0x07, 0x1a, 0x05, 0x0a, 0x03, 0x05, 0x06, 0x07};
    assert_int_equal(out.len, sizeof want);
    assert_memory_equal(out.data, want, sizeof want);
    cfx_buf_free(&out);
    cfx_example_free(&ex);
}

/* Appends a map entry {key: name, value: int64_list {value: v}} (names
 * and values small enough for one-byte lengths and varints). */
static size_t put_entry(uint8_t *p, const char *name, uint8_t v) {
    size_t n = strlen(name);
    uint8_t *q = p;
    *q++ = 0x0a;
    *q++ = (uint8_t)(n + 9);
    *q++ = 0x0a;
    *q++ = (uint8_t)n;
    memcpy(q, name, n);
    q += n;
    const uint8_t feat[] = {0x12, 0x05, 0x1a, 0x03, 0x0a, 0x01, v};
    memcpy(q, feat, sizeof feat);
    return (size_t)(q + sizeof feat - p);
}

/* Past 32 features duplicates are merged by a sort at the end: the same
 * result as the scan (first position, last value), own arena or shared. */
static void test_decode_many_duplicates(void **state) {
    (void)state;
    uint8_t w[2048];
    size_t n = 3; /* 0x0a, 2-byte length, filled below */
    char name[8];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "f%d", i);
        n += put_entry(w + n, name, (uint8_t)i);
    }
    n += put_entry(w + n, "f3", 100);  /* an early name, seen by the scan */
    n += put_entry(w + n, "f35", 101); /* a late one: the sort */
    n += put_entry(w + n, "f3", 102);
    w[0] = 0x0a;
    w[1] = (uint8_t)(((n - 3) & 0x7f) | 0x80);
    w[2] = (uint8_t)((n - 3) >> 7);
    cfx_arena_t arena;
    cfx_arena_init(&arena);
    for (int shared = 0; shared < 2; shared++) {
        cfx_example_t ex;
        if (shared)
            cfx_example_init_in(&ex, &arena);
        else
            cfx_example_init(&ex);
        cfx_error_t err;
        cfx_error_init(&err);
        if (cfx_example_decode(&ex, w, n, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(ex.count, 40);
        for (int i = 0; i < 40; i++) {
            snprintf(name, sizeof name, "f%d", i);
            assert_string_equal(ex.features[i].name, name);
            assert_int_equal(ex.features[i].count, 1);
            int64_t want = i == 3 ? 102 : i == 35 ? 101 : i;
            assert_int_equal(ex.features[i].v.ints[0], want);
        }
        assert_int_equal(cfx_example_find(&ex, "f35")->v.ints[0], 101);
        cfx_example_free(&ex);
    }
    cfx_arena_free(&arena);
}

static void test_decode_errors(void **state) {
    (void)state;
    cfx_example_t ex;
    cfx_example_init(&ex);
    cfx_error_t err;
    cfx_error_init(&err);
    /* Length past the end. */
    const uint8_t a[] = {0x0a, 0x05, 0x0a, 0x01};
    assert_int_equal(cfx_example_decode(&ex, a, sizeof a, &err),
                     CFX_ETRUNCATED);
    assert_non_null(strstr(err.msg, "byte"));
    /* Packed float list of 2 bytes, inside feature "f". */
    const uint8_t b[] = {0x0a, 0x0d, 0x0a, 0x0b, 0x0a, 0x01, 'f', 0x12,
                         0x06, 0x12, 0x04, 0x0a, 0x02, 0x00, 0x00};
    assert_int_equal(cfx_example_decode(&ex, b, sizeof b, &err), CFX_ECORRUPT);
    assert_non_null(strstr(err.msg, "'f'"));
    /* Group wire type. */
    const uint8_t c[] = {0x0b, 0x0c};
    assert_int_equal(cfx_example_decode(&ex, c, sizeof c, &err), CFX_ECORRUPT);
    /* A varint cut short, then one longer than 10 bytes. */
    uint8_t d[12];
    d[0] = 0x08;
    memset(d + 1, 0xff, 11);
    assert_int_equal(cfx_example_decode(&ex, d, 6, &err), CFX_ETRUNCATED);
    assert_int_equal(cfx_example_decode(&ex, d, sizeof d, &err), CFX_ECORRUPT);
    /* A NUL inside a feature name. */
    const uint8_t e[] = {0x0a, 0x07, 0x0a, 0x05, 0x0a, 0x03, 'a', 0x00, 'b'};
    assert_int_equal(cfx_example_decode(&ex, e, sizeof e, &err), CFX_ECORRUPT);
    assert_non_null(strstr(err.msg, "NUL"));
    /* Empty input is an empty example. */
    assert_int_equal(cfx_example_decode(&ex, NULL, 0, &err), 0);
    assert_int_equal(ex.count, 0);
    cfx_example_free(&ex);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_known_record),
        cmocka_unit_test(test_conformance_round_trip),
        cmocka_unit_test(test_encode_matches_protobuf_c),
        cmocka_unit_test(test_decode_wire_variants),
        cmocka_unit_test(test_decode_many_duplicates),
        cmocka_unit_test(test_decode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* pbcodec_test.c: protobuf text format and JSON over protobuf-c descriptors:
 * golden output for every field type, parse-syntax variants, round trips
 * (compared through the binary wire form), proto2 presence, real TF Serving
 * and tensorflow_metadata configs, and errors with line:column or path. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfx_test.pb-c.h"
#include "cfx_test2.pb-c.h"
#include "formats/pbcodec.h"
#include "model_server_config.pb-c.h"
#include "schema.pb-c.h"

static const char all_input[] =
    "# every field type, in no particular order or style\n"
    "f_double: 0.1\n"
    "f_float: 1.5f\n"
    "f_int32: -2147483648\n"
    "f_int64: -9223372036854775808\n"
    "f_uint32: 0xffffffff\n"
    "f_uint64: 18446744073709551615\n"
    "f_sint32: -7 f_sint64: -70000000000;\n"
    "f_fixed32: 010    # octal\n"
    "f_fixed64: 12345678901234,\n"
    "f_sfixed32: -1\n"
    "f_sfixed64: -2\n"
    "f_bool: true\n"
    "f_string: \"tab\\there\" ' and \\'quotes\\' ' # comment between\n"
    "  \"\\x41\\101\\u00e9\"\n"
    "f_bytes: \"\\000\\001\\377\\\"\\\\\"\n"
    "f_enum: BLUE\n"
    "f_nested < name: \"n1\" child { n: 3 } >\n"
    "r_double: [1, -2.5e-3, inf]\n"
    "r_float: 0.1 r_float: -0.5\n"
    "r_int32: [1, 2]\n"
    "r_int32: 3\n"
    "r_int64: [-1]\n"
    "r_uint64: [5, 6]\n"
    "r_bool: [true, false, t, f, 1, 0]\n"
    "r_string: [\"a\", \"b c\"]\n"
    "r_bytes: \"x\"\n"
    "r_enum: [RED, 2, -3]\n"
    "r_nested: [{n: 1}, {n: 2}]\n"
    "r_nested { name: \"third\" }\n"
    "c_int64: 42\n"
    "m_str_int { key: \"b\" value: 2 }\n"
    "m_str_int { key: \"a\" value: 1 }\n"
    "m_int_msg { key: 10 value {} }\n"
    "m_int_msg { key: -5 value { name: \"neg\" } }\n"
    "m_bool_str { key: true value: \"yes\" }\n"
    "w_int64 { value: 99 };\n";

/* Written by hand from protobuf's TextFormat rules. */
static const char all_text[] =
    "f_double: 0.1\n"
    "f_float: 1.5\n"
    "f_int32: -2147483648\n"
    "f_int64: -9223372036854775808\n"
    "f_uint32: 4294967295\n"
    "f_uint64: 18446744073709551615\n"
    "f_sint32: -7\n"
    "f_sint64: -70000000000\n"
    "f_fixed32: 8\n"
    "f_fixed64: 12345678901234\n"
    "f_sfixed32: -1\n"
    "f_sfixed64: -2\n"
    "f_bool: true\n"
    "f_string: \"tab\\there and \\'quotes\\' AA\\303\\251\"\n"
    "f_bytes: \"\\000\\001\\377\\\"\\\\\"\n"
    "f_enum: BLUE\n"
    "f_nested {\n"
    "  name: \"n1\"\n"
    "  child {\n"
    "    n: 3\n"
    "  }\n"
    "}\n"
    "r_double: 1.0\n"
    "r_double: -0.0025\n"
    "r_double: inf\n"
    "r_float: 0.1\n"
    "r_float: -0.5\n"
    "r_int32: 1\n"
    "r_int32: 2\n"
    "r_int32: 3\n"
    "r_int64: -1\n"
    "r_uint64: 5\n"
    "r_uint64: 6\n"
    "r_bool: true\n"
    "r_bool: false\n"
    "r_bool: true\n"
    "r_bool: false\n"
    "r_bool: true\n"
    "r_bool: false\n"
    "r_string: \"a\"\n"
    "r_string: \"b c\"\n"
    "r_bytes: \"x\"\n"
    "r_enum: RED\n"
    "r_enum: GREEN\n"
    "r_enum: BLUE\n"
    "r_nested {\n"
    "  n: 1\n"
    "}\n"
    "r_nested {\n"
    "  n: 2\n"
    "}\n"
    "r_nested {\n"
    "  name: \"third\"\n"
    "}\n"
    "c_int64: 42\n"
    "m_str_int {\n"
    "  key: \"a\"\n"
    "  value: 1\n"
    "}\n"
    "m_str_int {\n"
    "  key: \"b\"\n"
    "  value: 2\n"
    "}\n"
    "m_int_msg {\n"
    "  key: -5\n"
    "  value {\n"
    "    name: \"neg\"\n"
    "  }\n"
    "}\n"
    "m_int_msg {\n"
    "  key: 10\n"
    "  value {\n"
    "  }\n"
    "}\n"
    "m_bool_str {\n"
    "  key: true\n"
    "  value: \"yes\"\n"
    "}\n"
    "w_int64 {\n"
    "  value: 99\n"
    "}\n";

/* proto3 JSON mapping by hand; base64 of 00 01 ff 22 5c checked with
 * Python's base64 module. */
static const char all_json[] =
    "{\"fDouble\":0.1,\"fFloat\":1.5,\"fInt32\":-2147483648,"
    "\"fInt64\":\"-9223372036854775808\",\"fUint32\":4294967295,"
    "\"fUint64\":\"18446744073709551615\",\"fSint32\":-7,"
    "\"fSint64\":\"-70000000000\",\"fFixed32\":8,"
    "\"fFixed64\":\"12345678901234\",\"fSfixed32\":-1,\"fSfixed64\":\"-2\","
    "\"fBool\":true,\"fString\":\"tab\\there and 'quotes' AA\xc3\xa9\","
    "\"fBytes\":\"AAH/Ilw=\",\"fEnum\":\"BLUE\","
    "\"fNested\":{\"name\":\"n1\",\"child\":{\"n\":3}},"
    "\"rDouble\":[1,-0.0025,\"Infinity\"],\"rFloat\":[0.1,-0.5],"
    "\"rInt32\":[1,2,3],\"rInt64\":[\"-1\"],\"rUint64\":[\"5\",\"6\"],"
    "\"rBool\":[true,false,true,false,true,false],"
    "\"rString\":[\"a\",\"b c\"],\"rBytes\":[\"eA==\"],"
    "\"rEnum\":[\"RED\",\"GREEN\",\"BLUE\"],"
    "\"rNested\":[{\"n\":1},{\"n\":2},{\"name\":\"third\"}],"
    "\"cInt64\":\"42\",\"mStrInt\":{\"a\":1,\"b\":2},"
    "\"mIntMsg\":{\"-5\":{\"name\":\"neg\"},\"10\":{}},"
    "\"mBoolStr\":{\"true\":\"yes\"},\"wInt64\":\"99\"}";

static ProtobufCMessage *parse_text_ok(const ProtobufCMessageDescriptor *d,
                                       const char *text) {
    ProtobufCMessage *m = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_pb_text_parse(d, text, strlen(text), &m, &err))
        fail_msg("text parse: %s", err.msg);
    return m;
}

static ProtobufCMessage *parse_json_ok(const ProtobufCMessageDescriptor *d,
                                       const char *text) {
    ProtobufCMessage *m = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_pb_json_parse(d, text, strlen(text), &m, &err))
        fail_msg("json parse: %s", err.msg);
    return m;
}

static void expect_text(const ProtobufCMessage *m, const char *want) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_pb_text_print(m, &b, &err), 0);
    assert_int_equal(cfx_buf_cstr(&b), 0);
    if (strcmp((char *)b.data, want) != 0)
        fail_msg("text differs:\n--- got\n%s--- want\n%s", (char *)b.data,
                 want);
    cfx_buf_free(&b);
}

static void expect_json(const ProtobufCMessage *m, int flags,
                        const char *want) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_pb_json_print(m, flags, &b, &err), 0);
    assert_int_equal(cfx_buf_cstr(&b), 0);
    if (strcmp((char *)b.data, want) != 0)
        fail_msg("json differs:\n--- got\n%s\n--- want\n%s", (char *)b.data,
                 want);
    cfx_buf_free(&b);
}

static void test_text_all_types(void **state) {
    (void)state;
    ProtobufCMessage *m =
        parse_text_ok(&cfx__test__all_types__descriptor, all_input);
    Cfx__Test__AllTypes *a = (Cfx__Test__AllTypes *)m;
    assert_true(a->f_double == 0.1);
    assert_int_equal(a->f_int64, INT64_MIN);
    assert_int_equal(a->f_uint64, UINT64_MAX);
    assert_int_equal(a->f_fixed32, 8);
    assert_int_equal(a->f_enum, CFX__TEST__COLOR__BLUE);
    assert_int_equal(a->f_bytes.len, 5);
    assert_memory_equal(a->f_bytes.data, "\0\1\377\"\\", 5);
    assert_int_equal(a->choice_case, CFX__TEST__ALL_TYPES__CHOICE_C_INT64);
    assert_int_equal(a->n_m_str_int, 2);
    assert_non_null(a->w_int64);
    assert_int_equal(a->w_int64->value, 99);
    expect_text(m, all_text);
    /* Printing what we print is a fixed point, and the same wire bytes. */
    ProtobufCMessage *m2 =
        parse_text_ok(&cfx__test__all_types__descriptor, all_text);
    expect_text(m2, all_text);
    size_t n1 = protobuf_c_message_get_packed_size(m);
    size_t n2 = protobuf_c_message_get_packed_size(m2);
    assert_int_equal(n1, n2);
    uint8_t *b1 = malloc(n1), *b2 = malloc(n2);
    protobuf_c_message_pack(m, b1);
    protobuf_c_message_pack(m2, b2);
    /* Map entries keep parse order on the wire; the texts put b before a in
     * one and a before b in the other, so compare the unpacked reprint. */
    ProtobufCMessage *u = protobuf_c_message_unpack(
        &cfx__test__all_types__descriptor, NULL, n1, b1);
    assert_non_null(u);
    expect_text(u, all_text);
    protobuf_c_message_free_unpacked(u, NULL);
    free(b1);
    free(b2);
    protobuf_c_message_free_unpacked(m2, NULL);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void test_json_all_types(void **state) {
    (void)state;
    ProtobufCMessage *m =
        parse_text_ok(&cfx__test__all_types__descriptor, all_input);
    expect_json(m, 0, all_json);
    /* JSON back to the message gives the same text. */
    ProtobufCMessage *j =
        parse_json_ok(&cfx__test__all_types__descriptor, all_json);
    expect_text(j, all_text);
    expect_json(j, 0, all_json);
    protobuf_c_message_free_unpacked(j, NULL);
    /* Original names, pretty. */
    cfx_buf_t b;
    cfx_buf_init(&b);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(
        cfx_pb_json_print(m, CFX_PB_JSON_ORIGINAL_NAMES | CFX_PB_JSON_PRETTY,
                          &b, &err),
        0);
    cfx_buf_cstr(&b);
    assert_non_null(
        strstr((char *)b.data, "\n  \"f_nested\": {\n    \"name\": \"n1\",\n"));
    assert_non_null(
        strstr((char *)b.data, "\"m_int_msg\": {\n    \"-5\": {\n"));
    j = parse_json_ok(&cfx__test__all_types__descriptor, (char *)b.data);
    expect_text(j, all_text);
    protobuf_c_message_free_unpacked(j, NULL);
    cfx_buf_free(&b);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void test_json_parse_variants(void **state) {
    (void)state;
    ProtobufCMessage *m = parse_json_ok(
        &cfx__test__all_types__descriptor,
        "{\"f_int32\": 5, \"fInt64\": 6, \"fUint64\": 7.0, \"fSint32\": \"-8\","
        " \"fDouble\": \"NaN\", \"fFloat\": \"-Infinity\", \"fEnum\": 2,"
        " \"fString\": null, \"fBytes\": \"_-8\", \"wInt64\": \"12\","
        " \"cNested\": {\"n\": 1}, \"rFloat\": [1e-45, "
        "3.4028234663852886e38]}");
    Cfx__Test__AllTypes *a = (Cfx__Test__AllTypes *)m;
    assert_int_equal(a->f_int32, 5);
    assert_int_equal(a->f_int64, 6);
    assert_int_equal(a->f_uint64, 7);
    assert_int_equal(a->f_sint32, -8);
    assert_true(a->f_double != a->f_double);
    assert_true(isinf(a->f_float) && a->f_float < 0);
    assert_int_equal(a->f_enum, CFX__TEST__COLOR__GREEN);
    assert_string_equal(a->f_string, "");
    assert_int_equal(a->f_bytes.len, 2); /* URL-safe, unpadded "_-8" */
    assert_int_equal(a->f_bytes.data[0], 0xff);
    assert_int_equal(a->f_bytes.data[1], 0xef);
    assert_int_equal(a->w_int64->value, 12);
    assert_int_equal(a->choice_case, CFX__TEST__ALL_TYPES__CHOICE_C_NESTED);
    assert_int_equal(a->c_nested->n, 1);
    expect_text(m, "f_double: nan\nf_float: -inf\nf_int32: 5\nf_int64: 6\n"
                   "f_uint64: 7\nf_sint32: -8\nf_bytes: \"\\377\\357\"\n"
                   "f_enum: GREEN\nr_float: 1e-45\nr_float: 3.4028235e+38\n"
                   "c_nested {\n  n: 1\n}\nw_int64 {\n  value: 12\n}\n");
    expect_json(m, 0,
                "{\"fDouble\":\"NaN\",\"fFloat\":\"-Infinity\",\"fInt32\":5,"
                "\"fInt64\":\"6\",\"fUint64\":\"7\",\"fSint32\":-8,"
                "\"fBytes\":\"/+8=\",\"fEnum\":\"GREEN\","
                "\"rFloat\":[1e-45,3.4028235e+38],\"cNested\":{\"n\":1},"
                "\"wInt64\":\"12\"}");
    protobuf_c_message_free_unpacked(m, NULL);
    /* -0.0 is not the proto3 default (bit pattern), and keeps its sign. */
    m = parse_text_ok(&cfx__test__all_types__descriptor, "f_double: -0");
    expect_text(m, "f_double: -0.0\n");
    expect_json(m, 0, "{\"fDouble\":-0.0}");
    protobuf_c_message_free_unpacked(m, NULL);
    /* Map entries: a repeated key keeps its last value; key and value are
     * printed even at their defaults. */
    m = parse_text_ok(&cfx__test__all_types__descriptor,
                      "m_str_int { key: 'a' value: 1 } m_str_int { key: 'a' }"
                      " m_int_msg { key: 3 }");
    expect_text(m, "m_str_int {\n  key: \"a\"\n  value: 0\n}\n"
                   "m_int_msg {\n  key: 3\n  value {\n  }\n}\n");
    expect_json(m, 0, "{\"mStrInt\":{\"a\":0},\"mIntMsg\":{\"3\":{}}}");
    protobuf_c_message_free_unpacked(m, NULL);
    /* JSON text is UTF-8: a string field holding other bytes is refused. */
    m = parse_text_ok(
        &cfx__test__all_types__descriptor,
        "r_string: 'ok' r_string: '\\303\\251' r_string: '\\377'");
    {
        cfx_buf_t b;
        cfx_buf_init(&b);
        cfx_error_t err;
        cfx_error_init(&err);
        assert_int_equal(cfx_pb_json_print(m, 0, &b, &err), CFX_EINVAL);
        assert_non_null(strstr(err.msg, "UTF-8"));
        cfx_buf_free(&b);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    /* Defaults on request. */
    m = parse_json_ok(&cfx__test__nested__descriptor, "{}");
    expect_json(m, CFX_PB_JSON_EMIT_DEFAULTS, "{\"name\":\"\",\"n\":0}");
    expect_json(m, 0, "{}");
    expect_text(m, "");
    protobuf_c_message_free_unpacked(m, NULL);
}

static void expect_text_error(const char *text, int code, const char *want) {
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_pb_text_parse(&cfx__test__all_types__descriptor, text,
                               strlen(text), &m, &err);
    if (rc != code)
        fail_msg("'%s': rc %d, want %d (%s)", text, rc, code, err.msg);
    assert_null(m);
    if (strstr(err.msg, want) == NULL)
        fail_msg("'%s': message \"%s\" lacks \"%s\"", text, err.msg, want);
}

static void test_text_errors(void **state) {
    (void)state;
    expect_text_error("f_int32: 1\n  bogus: 2\n", CFX_EPARSE,
                      "2:3: unknown field 'bogus' in cfx.test.AllTypes");
    expect_text_error("f_int32: 2147483648", CFX_EPARSE,
                      "1:10: field 'f_int32': integer out of range");
    expect_text_error("f_uint32: -1", CFX_EPARSE, "1:11: field 'f_uint32'");
    expect_text_error("f_uint64: 18446744073709551616", CFX_EPARSE,
                      "out of range");
    expect_text_error("f_enum: PURPLE", CFX_EPARSE,
                      "1:9: field 'f_enum': 'PURPLE' is not a value of enum "
                      "cfx.test.Color");
    expect_text_error("f_enum: 7", CFX_EPARSE, "not a value of enum");
    expect_text_error("f_int32: 1 f_int32: 2", CFX_EPARSE,
                      "1:12: non-repeated field 'f_int32' is given more than "
                      "once");
    expect_text_error("f_nested { name: 'x'\n", CFX_EPARSE,
                      "2:1: expected '}' before end of input");
    expect_text_error("f_nested { name: 'x' >", CFX_EPARSE,
                      "1:22: expected a field name");
    expect_text_error("\n\nf_string: \"abc\n\"", CFX_EPARSE,
                      "3:11: unterminated string");
    expect_text_error("f_string: \"\\q\"", CFX_EPARSE, "1:12: unknown escape");
    expect_text_error("c_int64: 1 c_string: 'x'", CFX_EPARSE,
                      "1:12: field 'c_string': 'c_int64' of the same oneof");
    expect_text_error("f_int32 5", CFX_EPARSE,
                      "1:9: expected ':' after field 'f_int32'");
    expect_text_error("f_nested: 5", CFX_EPARSE,
                      "1:11: field 'f_nested': expected '{'");
    expect_text_error("f_int32: [1]", CFX_EPARSE, "not repeated");
    expect_text_error("r_int32: [1 2]", CFX_EPARSE, "expected ',' or ']'");
    expect_text_error("f_bool: yes", CFX_EPARSE, "expected true or false");
    expect_text_error("f_double: 1.5.5", CFX_EPARSE, "bad number");
    expect_text_error("f_int32: 1.5", CFX_EPARSE, "expected an integer");
    expect_text_error("f_string: 5", CFX_EPARSE, "expected a string");
    expect_text_error("[ext.field]: 1", CFX_EPARSE, "not supported");
    /* Nesting past the bound is refused, not a stack overflow. */
    size_t depth = CFX_PB_MAX_DEPTH + 5, n = 0;
    char *deep = malloc(depth * 20 + 16);
    n += (size_t)sprintf(deep + n, "f_nested {");
    for (size_t i = 0; i < depth; i++)
        n += (size_t)sprintf(deep + n, " child {");
    deep[n] = 0;
    expect_text_error(deep, CFX_EPARSE, "nesting deeper than");
    free(deep);
}

static void expect_json_error(const char *text, const char *want) {
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_pb_json_parse(&cfx__test__all_types__descriptor, text,
                               strlen(text), &m, &err);
    if (rc != CFX_EPARSE)
        fail_msg("'%s': rc %d (%s)", text, rc, err.msg);
    assert_null(m);
    if (strstr(err.msg, want) == NULL)
        fail_msg("'%s': message \"%s\" lacks \"%s\"", text, err.msg, want);
}

static void test_json_errors(void **state) {
    (void)state;
    expect_json_error("{\"rNested\":[{\"n\":1},{\"n\":\"x\"}]}",
                      "rNested[1].n: expected an integer, got a string");
    expect_json_error("{\"bogus\":1}",
                      "unknown field \"bogus\" in cfx.test.AllTypes");
    expect_json_error("{\"fInt32\": 1", "1:12:");
    expect_json_error("{\"fBytes\":\"***\"}", "fBytes: base64: invalid");
    expect_json_error("{\"fInt32\": 2147483648}",
                      "fInt32: integer out of range");
    expect_json_error("{\"fUint64\": \"-1\"}", "out of range");
    expect_json_error("{\"fInt32\": 1.5}", "expected an integer");
    expect_json_error(
        "{\"fEnum\": \"PURPLE\"}",
        "fEnum: \"PURPLE\" is not a value of enum cfx.test.Color");
    expect_json_error("{\"cInt64\": 1, \"cString\": \"x\"}", "same oneof");
    expect_json_error("{\"mStrInt\": {\"a\": \"z\"}}",
                      "mStrInt[\"a\"]: expected an integer");
    expect_json_error("{\"mBoolStr\": {\"yes\": \"z\"}}", "is not a boolean");
    expect_json_error("{\"fNested\": [1]}", "fNested: expected an object");
    expect_json_error("{\"fFloat\": 1e39}", "out of float range");
    expect_json_error("[1]", "(top level): expected an object");
    expect_json_error("{\"fInt32\": 1, \"fInt32\": 2}", "duplicate");
}

static void test_proto2_presence(void **state) {
    (void)state;
    ProtobufCMessage *m =
        parse_text_ok(&cfx__test__proto2__descriptor, "id: 'x'");
    Cfx__Test__Proto2 *p = (Cfx__Test__Proto2 *)m;
    assert_int_equal(p->has_count, 0);
    assert_int_equal(p->count, 7); /* default */
    assert_string_equal(p->label, "none");
    expect_text(m, "id: \"x\"\n");
    expect_json(m, 0, "{\"id\":\"x\"}");
    protobuf_c_message_free_unpacked(m, NULL);
    /* Explicitly set to the default values: still present. */
    m = parse_text_ok(&cfx__test__proto2__descriptor,
                      "id: 'x' count: 7 label: 'none' kind: KIND_B ratio: 0 "
                      "flag: false blob: '' values: [1, 2] next { id: 'y' }");
    p = (Cfx__Test__Proto2 *)m;
    assert_int_equal(p->has_count, 1);
    assert_int_equal(p->has_flag, 1);
    expect_text(m, "id: \"x\"\ncount: 7\nlabel: \"none\"\nblob: \"\"\n"
                   "kind: KIND_B\nratio: 0.0\nflag: false\nvalues: 1\n"
                   "values: 2\nnext {\n  id: \"y\"\n}\n");
    expect_json(m, CFX_PB_JSON_ORIGINAL_NAMES,
                "{\"id\":\"x\",\"count\":7,\"label\":\"none\",\"blob\":\"\","
                "\"kind\":\"KIND_B\",\"ratio\":0,\"flag\":false,"
                "\"values\":[\"1\",\"2\"],\"next\":{\"id\":\"y\"}}");
    protobuf_c_message_free_unpacked(m, NULL);
    m = parse_json_ok(&cfx__test__proto2__descriptor,
                      "{\"id\":\"x\",\"label\":\"other\",\"count\":3}");
    p = (Cfx__Test__Proto2 *)m;
    assert_int_equal(p->has_count, 1);
    assert_int_equal(p->count, 3);
    assert_string_equal(p->label, "other");
    protobuf_c_message_free_unpacked(m, NULL);
}

static void test_model_server_config(void **state) {
    (void)state;
    /* The shape of a TF Serving --model_config_file. */
    const char *cfg =
        "model_config_list: {\n"
        "  config: {\n"
        "    name: 'taxi',\n"
        "    base_path: '/srv/models/taxi',\n"
        "    model_platform: 'tensorflow',\n"
        "    model_version_policy: { specific: { versions: 1 versions: 2 } }\n"
        "    version_labels { key: 'stable' value: 1 }\n"
        "    version_labels { key: 'canary' value: 2 }\n"
        "  }\n"
        "  config { name: 'other' base_path: '/srv/models/other' }\n"
        "}\n";
    ProtobufCMessage *m = parse_text_ok(
        &tensorflow__serving__model_server_config__descriptor, cfg);
    Tensorflow__Serving__ModelServerConfig *c =
        (Tensorflow__Serving__ModelServerConfig *)m;
    assert_int_equal(
        c->config_case,
        TENSORFLOW__SERVING__MODEL_SERVER_CONFIG__CONFIG_MODEL_CONFIG_LIST);
    assert_int_equal(c->model_config_list->n_config, 2);
    assert_string_equal(c->model_config_list->config[1]->base_path,
                        "/srv/models/other");
    expect_text(m, "model_config_list {\n"
                   "  config {\n"
                   "    name: \"taxi\"\n"
                   "    base_path: \"/srv/models/taxi\"\n"
                   "    model_platform: \"tensorflow\"\n"
                   "    model_version_policy {\n"
                   "      specific {\n"
                   "        versions: 1\n"
                   "        versions: 2\n"
                   "      }\n"
                   "    }\n"
                   "    version_labels {\n"
                   "      key: \"canary\"\n"
                   "      value: 2\n"
                   "    }\n"
                   "    version_labels {\n"
                   "      key: \"stable\"\n"
                   "      value: 1\n"
                   "    }\n"
                   "  }\n"
                   "  config {\n"
                   "    name: \"other\"\n"
                   "    base_path: \"/srv/models/other\"\n"
                   "  }\n"
                   "}\n");
    expect_json(m, CFX_PB_JSON_ORIGINAL_NAMES,
                "{\"model_config_list\":{\"config\":[{\"name\":\"taxi\","
                "\"base_path\":\"/srv/models/taxi\",\"model_platform\":"
                "\"tensorflow\",\"model_version_policy\":{\"specific\":"
                "{\"versions\":[\"1\",\"2\"]}},\"version_labels\":"
                "{\"canary\":\"2\",\"stable\":\"1\"}},{\"name\":\"other\","
                "\"base_path\":\"/srv/models/other\"}]}}");
    protobuf_c_message_free_unpacked(m, NULL);
}

static void test_schema_pbtxt(void **state) {
    (void)state;
    /* As TFDV writes a schema (proto2, enums by name, oneofs). */
    const char *txt = "feature {\n"
                      "  name: \"fare\"\n"
                      "  type: FLOAT\n"
                      "  presence {\n"
                      "    min_fraction: 1.0\n"
                      "    min_count: 1\n"
                      "  }\n"
                      "  shape {\n"
                      "    dim {\n"
                      "      size: 1\n"
                      "    }\n"
                      "  }\n"
                      "}\n"
                      "feature {\n"
                      "  name: \"payment_type\"\n"
                      "  type: BYTES\n"
                      "  domain: \"payment_type\"\n"
                      "}\n"
                      "string_domain {\n"
                      "  name: \"payment_type\"\n"
                      "  value: \"Cash\"\n"
                      "  value: \"Credit Card\"\n"
                      "}\n"
                      "default_environment: \"TRAINING\"\n";
    ProtobufCMessage *m =
        parse_text_ok(&tensorflow__metadata__v0__schema__descriptor, txt);
    Tensorflow__Metadata__V0__Schema *s = (Tensorflow__Metadata__V0__Schema *)m;
    assert_int_equal(s->n_feature, 2);
    assert_true(s->feature[0]->presence->min_fraction == 1.0);
    assert_int_equal(s->feature[0]->type,
                     TENSORFLOW__METADATA__V0__FEATURE_TYPE__FLOAT);
    /* Exactly the same text back: whole doubles keep their ".0" as in the
     * schema.pbtxt files Python's text_format writes for TFDV. */
    expect_text(m, txt);
    protobuf_c_message_free_unpacked(m, NULL);
}

/* A message built by hand with CFX_PB_PUSH is what the unpacker would
 * have made: it prints as parsed text does and the unpacker's free
 * releases it (ASan checks the last part). */
static void test_push_builds_repeated_fields(void **state) {
    (void)state;
    Tensorflow__Metadata__V0__Schema *s = malloc(sizeof *s);
    assert_non_null(s);
    tensorflow__metadata__v0__schema__init(s);
    static const char *const names[] = {"a", "b", "c"};
    for (size_t i = 0; i < 3; i++) {
        Tensorflow__Metadata__V0__Feature *f = malloc(sizeof *f);
        assert_non_null(f);
        tensorflow__metadata__v0__feature__init(f);
        f->name = strdup(names[i]);
        assert_int_equal(CFX_PB_PUSH(s->feature, s->n_feature, f), 0);
        assert_int_equal(s->n_feature, i + 1);
        assert_ptr_equal(s->feature[i], f);
    }
    expect_text(&s->base, "feature {\n  name: \"a\"\n}\n"
                          "feature {\n  name: \"b\"\n}\n"
                          "feature {\n  name: \"c\"\n}\n");
    protobuf_c_message_free_unpacked(&s->base, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_all_types),
        cmocka_unit_test(test_json_all_types),
        cmocka_unit_test(test_json_parse_variants),
        cmocka_unit_test(test_text_errors),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_proto2_presence),
        cmocka_unit_test(test_model_server_config),
        cmocka_unit_test(test_schema_pbtxt),
        cmocka_unit_test(test_push_builds_repeated_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

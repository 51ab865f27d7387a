/*
 * pbtext_fuzz.c: libFuzzer target for the protobuf text-format parser and
 * printer, on the test message covering every field kind and on the
 * tensorflow_metadata Schema.
 *
 * Whatever parses must print, and printing must be a fixed point: parse the
 * printed text again and it prints the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfx_test.pb-c.h"
#include "formats/pbcodec.h"
#include "schema.pb-c.h"

static void check(const ProtobufCMessageDescriptor *d, const uint8_t *data,
                  size_t size) {
    ProtobufCMessage *m = NULL, *m2 = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_buf_t a, b;
    cfx_buf_init(&a);
    cfx_buf_init(&b);
    if (cfx_pb_text_parse(d, (const char *)data, size, &m, &err) != 0) {
        if (m != NULL || err.msg[0] == '\0')
            abort();
        return;
    }
    if (cfx_pb_text_print(m, &a, &err) != 0)
        abort();
    if (cfx_pb_text_parse(d, (const char *)a.data, a.len, &m2, &err) != 0)
        abort();
    if (cfx_pb_text_print(m2, &b, &err) != 0)
        abort();
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
        abort();
    /* JSON of the same message must parse back too (unless a string field
     * is not UTF-8, which JSON cannot carry). */
    cfx_buf_reset(&a);
    int rc = cfx_pb_json_print(m, 0, &a, &err);
    if (rc != 0 && rc != CFX_EINVAL)
        abort();
    if (rc == 0) {
        ProtobufCMessage *j = NULL;
        if (cfx_pb_json_parse(d, (const char *)a.data, a.len, &j, &err) != 0)
            abort();
        protobuf_c_message_free_unpacked(j, NULL);
    }
    protobuf_c_message_free_unpacked(m2, NULL);
    protobuf_c_message_free_unpacked(m, NULL);
    cfx_buf_free(&a);
    cfx_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check(&cfx__test__all_types__descriptor, data, size);
    check(&tensorflow__metadata__v0__schema__descriptor, data, size);
    return 0;
}

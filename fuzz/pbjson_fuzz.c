/*
 * pbjson_fuzz.c: libFuzzer target for the proto3 JSON parser and printer.
 *
 * Whatever parses must print as JSON and text, and the printed JSON must
 * parse back to a message that prints the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfx_test.pb-c.h"
#include "formats/pbcodec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const ProtobufCMessageDescriptor *d = &cfx__test__all_types__descriptor;
    ProtobufCMessage *m = NULL, *m2 = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_pb_json_parse(d, (const char *)data, size, &m, &err) != 0) {
        if (m != NULL || err.msg[0] == '\0')
            abort();
        return 0;
    }
    cfx_buf_t j, t1, t2;
    cfx_buf_init(&j);
    cfx_buf_init(&t1);
    cfx_buf_init(&t2);
    if (cfx_pb_json_print(m, CFX_PB_JSON_PRETTY, &j, &err) != 0)
        abort();
    if (cfx_pb_text_print(m, &t1, &err) != 0)
        abort();
    if (cfx_pb_json_parse(d, (const char *)j.data, j.len, &m2, &err) != 0)
        abort();
    if (cfx_pb_text_print(m2, &t2, &err) != 0)
        abort();
    if (t1.len != t2.len || (t1.len && memcmp(t1.data, t2.data, t1.len) != 0))
        abort();
    protobuf_c_message_free_unpacked(m2, NULL);
    protobuf_c_message_free_unpacked(m, NULL);
    cfx_buf_free(&j);
    cfx_buf_free(&t1);
    cfx_buf_free(&t2);
    return 0;
}

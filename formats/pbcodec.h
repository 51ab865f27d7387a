/*
 * pbcodec.h: the one generic protobuf text-format and JSON codec of cfx,
 * driven by protobuf-c descriptors (schema.pbtxt, ModelServerConfig files,
 * pipeline configs, REST JSON).
 *
 * Text format follows protobuf's TextFormat: fields in number order,
 * `name: value`, nested `name {` ... `}` indented by 2 spaces, strings and
 * bytes C-escaped (octal for non-printable bytes), enums by name, floats in
 * the shortest form that reads back to the same value, map fields as
 * repeated `key`/`value` entries sorted by key. The parser takes comments
 * (#), an optional `:` before `{`, `{}` or `<>`, enum names or numbers,
 * repeated fields given several times or as `[a, b]`, adjacent string
 * literals concatenated, C escapes; errors read "LINE:COL: ...".
 *
 * JSON is the proto3 JSON mapping: lowerCamelCase names (or the proto field
 * names with CFX_PB_JSON_ORIGINAL_NAMES; both accepted on parse), 64-bit
 * integers as strings, enums by name, bytes as base64, maps as objects,
 * google.protobuf.*Value wrappers as bare values. Parse errors name the JSON
 * path of the value ("model_config_list.config[0].name").
 *
 * Parsed messages are allocated with malloc exactly as protobuf-c's own
 * unpacker does: free them with protobuf_c_message_free_unpacked(m, NULL).
 *
 * Reentrant; descriptors are read-only and may be shared by threads.
 */
#ifndef CFX_FORMATS_PBCODEC_H
#define CFX_FORMATS_PBCODEC_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "formats/buf.h"
#include "formats/err.h"

/* Deepest message nesting accepted by the parsers (bound on input). */
#define CFX_PB_MAX_DEPTH 100

/* Appends the text format of m to out. */
int cfx_pb_text_print(const ProtobufCMessage *m, cfx_buf_t *out,
                      cfx_error_t *err);

/* Parses text (len bytes, need not be NUL-terminated) as a message of type d;
 * on success *out is a new message (free with
 * protobuf_c_message_free_unpacked(*out, NULL)); on error *out is NULL and
 * err says "LINE:COL: ..." naming the field. */
int cfx_pb_text_parse(const ProtobufCMessageDescriptor *d, const char *text,
                      size_t len, ProtobufCMessage **out, cfx_error_t *err);

enum {
    CFX_PB_JSON_ORIGINAL_NAMES = 1 << 0, /* proto field names, not camelCase */
    CFX_PB_JSON_PRETTY = 1 << 1,         /* newlines and 2-space indent */
    CFX_PB_JSON_EMIT_DEFAULTS = 1 << 2,  /* also proto3 fields at default */
};

/* Appends the JSON of m to out (flags: CFX_PB_JSON_*). */
int cfx_pb_json_print(const ProtobufCMessage *m, int flags, cfx_buf_t *out,
                      cfx_error_t *err);

/* Parses a JSON object as a message of type d; ownership as for text. */
int cfx_pb_json_parse(const ProtobufCMessageDescriptor *d, const char *text,
                      size_t len, ProtobufCMessage **out, cfx_error_t *err);

/* Appends p to a repeated pointer field built by hand (*arr, *n: a
 * malloc'ed array, as protobuf-c's unpacker makes them, so
 * protobuf_c_message_free_unpacked(m, NULL) releases it), growing it by
 * one. 0, or CFX_ENOMEM with *arr and *n unchanged. CFX_PB_PUSH takes the
 * field and its count: CFX_PB_PUSH(schema->feature, schema->n_feature, f). */
int cfx_pb_push(void ***arr, size_t *n, void *p);
#define CFX_PB_PUSH(arr, n, p) cfx_pb_push((void ***)&(arr), &(n), (p))

/* Same from an already parsed jansson value (e.g. one member of a REST
 * request body); v is only read. */
struct json_t;
int cfx_pb_json_from_value(const ProtobufCMessageDescriptor *d,
                           const struct json_t *v, ProtobufCMessage **out,
                           cfx_error_t *err);

#endif

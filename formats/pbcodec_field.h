/*
 * pbcodec_field.h: field access shared by the text-format and JSON codecs
 * (internal to formats/): where a field's value lives in a protobuf-c
 * message, whether it is present, how to add a value to it while parsing
 * (allocating exactly as protobuf-c's unpacker does, so that
 * protobuf_c_message_free_unpacked frees it), and number formatting.
 *
 * Reentrant; a message being built belongs to one thread.
 */
#ifndef CFX_FORMATS_PBCODEC_FIELD_H
#define CFX_FORMATS_PBCODEC_FIELD_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Most elements accepted in one repeated field (bound on input). */
#define CFX_PB_MAX_REPEATED (64u * 1024 * 1024)

static inline void *pb_member(const ProtobufCMessage *m,
                              const ProtobufCFieldDescriptor *f) {
    return (char *)m + f->offset;
}

static inline void *pb_quantifier(const ProtobufCMessage *m,
                                  const ProtobufCFieldDescriptor *f) {
    return (char *)m + f->quantifier_offset;
}

/* Size of one element of the C array of a repeated field of type t. */
size_t pb_elem_size(ProtobufCType t);

/* Whether a non-repeated field would be serialized (protobuf-c's rules:
 * oneof case, has_ flag, non-NULL/non-default pointer, proto3 non-zero). */
int pb_field_present(const ProtobufCMessage *m,
                     const ProtobufCFieldDescriptor *f);

/* Number of elements of a repeated field. */
static inline size_t pb_repeated_count(const ProtobufCMessage *m,
                                       const ProtobufCFieldDescriptor *f) {
    return *(const size_t *)pb_quantifier(m, f);
}

/* A repeated message field whose type is a generated map entry. */
int pb_is_map(const ProtobufCFieldDescriptor *f);

/* For a map field, a malloc'd copy of the entry pointers sorted by key
 * (strings by bytes, integers numerically; NULL entries dropped; of entries
 * with equal keys only the last, as a map keeps it), count in *n; NULL when
 * out of memory. */
ProtobufCMessage **pb_sorted_entries(const ProtobufCMessage *m,
                                     const ProtobufCFieldDescriptor *f,
                                     size_t *n);

/* "google.protobuf.Int64Value" and friends: JSON writes the bare value. */
int pb_is_wrapper(const ProtobufCMessageDescriptor *d);

/* malloc + init; NULL when out of memory. */
ProtobufCMessage *pb_message_new(const ProtobufCMessageDescriptor *d);

/* Prepares a field to receive one value while parsing and returns where to
 * store it (zeroed for repeated elements): grows repeated arrays, switches
 * oneof cases (freeing the other member), sets has_ flags and frees an
 * earlier singular string/bytes/message value. The slot is zeroed, so a
 * message abandoned half-parsed is still safe to free. NULL when out of
 * memory or when a repeated field would exceed CFX_PB_MAX_REPEATED. */
void *pb_field_slot(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f);

/* Frees a message built by the parsers (NULL allowed). */
void pb_message_free(ProtobufCMessage *m);

/* Shortest decimal that reads back to the same value ("inf", "-inf", "nan"
 * for the specials); buf of at least 32 bytes. */
void pb_fmt_double(char *buf, double v);
void pb_fmt_float(char *buf, float v);

/* lowerCamelCase JSON name of a field, as protoc computes it. */
void pb_json_name(const ProtobufCFieldDescriptor *f, char *buf, size_t n);

#endif

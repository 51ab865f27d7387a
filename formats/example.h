/*
 * example.h: tf.Example (tensorflow/core/example/example.proto) in memory,
 * with a hand-written wire decoder and a deterministic encoder.
 *
 * Wire facts: Example{features=1}; Features{feature=1 map<string,Feature>}
 * (map entries {key=1, value=2}); Feature oneof {bytes_list=1, float_list=2,
 * int64_list=3}; each list has value=1 (floats and ints packed; the decoder
 * also accepts unpacked elements).
 *
 * A cfx_example_t owns an arena: names and values of its features live
 * there until cfx_example_reset / cfx_example_free. Features are kept in
 * insertion order after adds; cfx_example_sort orders them by name (byte
 * order), which is what deterministic serialization writes.
 *
 * Not thread-safe; one example belongs to one thread at a time.
 */
#ifndef CFX_FORMATS_EXAMPLE_H
#define CFX_FORMATS_EXAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/arena.h"
#include "formats/buf.h"
#include "formats/err.h"

/* Values are the oneof field numbers of tf.Feature. */
typedef enum cfx_kind {
    CFX_KIND_NONE = 0, /* a Feature with no kind set (decodes as null) */
    CFX_KIND_BYTES = 1,
    CFX_KIND_FLOAT = 2,
    CFX_KIND_INT64 = 3,
} cfx_kind_t;

typedef struct cfx_bytes {
    const uint8_t *data; /* in an example's arena: followed by a NUL not
                          * counted in len, so text values are C strings */
    size_t len;
} cfx_bytes_t;

typedef struct cfx_feature {
    const char *name; /* NUL-terminated, in the example's arena */
    size_t name_len;
    cfx_kind_t kind;
    size_t count; /* number of values; 0 is a present, empty list */
    union {
        const cfx_bytes_t *bytes;
        const float *floats;
        const int64_t *ints;
    } v;
} cfx_feature_t;

typedef struct cfx_example {
    cfx_feature_t *features; /* owned array */
    size_t count;
    size_t cap;
    int sorted; /* set by cfx_example_sort, cleared by adds and decode */
    cfx_arena_t arena;
    cfx_arena_t *shared; /* see cfx_example_init_in; NULL otherwise */
} cfx_example_t;

void cfx_example_init(cfx_example_t *ex);
/* An example whose names, values and feature array are allocated in the
 * caller's arena rather than its own (a request's many small examples
 * then cost no block each). The arena must outlive every use of ex; reset
 * ex before the arena is reset, free releases nothing of the arena. */
void cfx_example_init_in(cfx_example_t *ex, cfx_arena_t *arena);
/* Drops every feature, keeps memory for reuse. */
void cfx_example_reset(cfx_example_t *ex);
void cfx_example_free(cfx_example_t *ex);

/* Decodes a serialized tf.Example, replacing ex's contents. Values are
 * copied into ex's arena. A later duplicate map key replaces the earlier
 * (protobuf map semantics). A feature name containing a NUL byte is
 * refused (CFX_ECORRUPT): names are C strings everywhere else. */
int cfx_example_decode(cfx_example_t *ex, const uint8_t *buf, size_t len,
                       cfx_error_t *err);

/* Appends the serialization of ex to out, features in byte order of name
 * (deterministic, as TF's SerializeToString(deterministic=True)); ex is not
 * modified. Every present list is written, even empty (a Feature with an
 * empty int64_list is `1a 00`); a CFX_KIND_NONE feature is an empty Feature.
 * Map entries always carry key and value, as protobuf C++ writes them. */
int cfx_example_encode(const cfx_example_t *ex, cfx_buf_t *out);

/* Sorts features by name (byte order). */
void cfx_example_sort(cfx_example_t *ex);

/* NULL when absent. Binary search after cfx_example_sort, else a linear
 * scan. */
const cfx_feature_t *cfx_example_find(const cfx_example_t *ex,
                                      const char *name);

/* Adders copy name and values into the arena; return 0 or CFX_ENOMEM. */
int cfx_example_add_none(cfx_example_t *ex, const char *name);
int cfx_example_add_int64(cfx_example_t *ex, const char *name, const int64_t *v,
                          size_t n);
int cfx_example_add_float(cfx_example_t *ex, const char *name, const float *v,
                          size_t n);
int cfx_example_add_bytes(cfx_example_t *ex, const char *name,
                          const cfx_bytes_t *v, size_t n);

#endif

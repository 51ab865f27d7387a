/*
 * safetensors.h: the safetensors weight file format (F32 tensors only).
 *
 * Layout: u64 little-endian header size N, N bytes of JSON
 *   {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *    ..., "__metadata__": {"key": "string value", ...}}
 * padded with spaces so the data starts 8-byte aligned, then the raw
 * little-endian tensor bytes; offsets are relative to the start of the data
 * and the tensors tile it exactly, without gaps or overlaps.
 *
 * The reader checks every bound (header size, offsets, shape products) and
 * refuses anything else with an error naming the tensor.
 *
 * Objects are owned by one thread at a time; a parsed file is read-only and
 * may be shared once built.
 */
#ifndef CFX_FORMATS_SAFETENSORS_H
#define CFX_FORMATS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/err.h"

#define CFX_ST_MAX_DIMS 4
/* Largest header and file accepted by the reader. */
#define CFX_ST_MAX_HEADER (16u * 1024 * 1024)
#define CFX_ST_MAX_FILE ((size_t)1 << 31)

typedef struct cfx_st_tensor {
    const char *name;
    size_t ndim;
    int64_t shape[CFX_ST_MAX_DIMS];
    size_t count;      /* product of shape (1 for a scalar) */
    const float *data; /* count floats */
} cfx_st_tensor_t;

/* A metadata entry of the __metadata__ map (string -> string). */
typedef struct cfx_st_meta {
    const char *key;
    const char *value;
} cfx_st_meta_t;

/* Serializes tensors (in the order given) and metadata (may be NULL) into
 * out. Names must be unique and not "__metadata__". */
int cfx_safetensors_encode(const cfx_st_tensor_t *tensors, size_t n,
                           const cfx_st_meta_t *meta, size_t nmeta,
                           cfx_buf_t *out, cfx_error_t *err);

/* A parsed file: owns names, values and metadata. */
typedef struct cfx_safetensors {
    cfx_st_tensor_t *tensors; /* sorted by data offset */
    size_t count;
    cfx_st_meta_t *meta;
    size_t nmeta;
    float *block; /* all tensor data, one allocation */
    char *strings;
} cfx_safetensors_t;

/* Parses an in-memory file; what names the source in errors (e.g. a path). */
int cfx_safetensors_parse(const uint8_t *data, size_t len, const char *what,
                          cfx_safetensors_t **out, cfx_error_t *err);
int cfx_safetensors_read_file(const char *path, cfx_safetensors_t **out,
                              cfx_error_t *err);
void cfx_safetensors_free(cfx_safetensors_t *st);

/* NULL when absent. */
const cfx_st_tensor_t *cfx_safetensors_find(const cfx_safetensors_t *st,
                                            const char *name);
const char *cfx_safetensors_meta(const cfx_safetensors_t *st, const char *key);

#endif

/*
 * dtype.h: the names of tensor and feature types: TensorFlow's DataType
 * numbers with their "DT_FLOAT" names (signatures, GetModelMetadata, error
 * messages) and short "float" words (TF Serving's REST and gRPC messages),
 * and the tf.Example kinds' names ("int64", "float", "bytes": transform
 * graphs and specs).
 *
 * The numbers are those of tensorflow/core/framework/types.proto, so a
 * TensorProto's dtype field can be passed as it is. A raw model input is a
 * tf.Example feature, so the kinds map onto three dtypes: int64 -> DT_INT64,
 * float -> DT_FLOAT, bytes -> DT_STRING (docs/model.md, the manifest's inputs).
 *
 * Reentrant: constant tables only.
 */
#ifndef CFX_FORMATS_DTYPE_H
#define CFX_FORMATS_DTYPE_H

#include "formats/example.h"

/* tensorflow.DataType numbers that cfx reads or writes. */
typedef enum cfx_dtype {
    CFX_DT_INVALID = 0,
    CFX_DT_FLOAT = 1,
    CFX_DT_DOUBLE = 2,
    CFX_DT_INT32 = 3,
    CFX_DT_UINT8 = 4,
    CFX_DT_INT16 = 5,
    CFX_DT_INT8 = 6,
    CFX_DT_STRING = 7,
    CFX_DT_INT64 = 9,
    CFX_DT_BOOL = 10,
    CFX_DT_UINT32 = 22,
    CFX_DT_UINT64 = 23,
} cfx_dtype_t;

/* "DT_FLOAT", ... for every dtype above; "DT_INVALID" for any other number
 * (CFX_DT_INVALID included). Static storage. */
const char *cfx_dtype_name(int dtype);

/* "float", "int64", ...: the name without "DT_" in lowercase, as TF Serving
 * words type mismatches; "invalid" for any other number. */
const char *cfx_dtype_word(int dtype);

/* The dtype named "DT_FLOAT", ... (exact, case-sensitive); CFX_DT_INVALID
 * for NULL or any other string. */
int cfx_dtype_parse(const char *name);

/* The dtype of a raw input of kind k: DT_INT64, DT_FLOAT, else DT_STRING. */
int cfx_dtype_of_kind(cfx_kind_t k);

/* The kind a feature holding a dtype's values has: int64 for DT_INT64,
 * float for DT_FLOAT, else bytes. */
cfx_kind_t cfx_dtype_to_kind(int dtype);

/* "int64", "float", "bytes"; "none" for CFX_KIND_NONE or anything else. */
const char *cfx_dtype_kind_name(cfx_kind_t k);

/* The kind named "int64", "float" or "bytes" into *k: 0, or CFX_EINVAL for
 * any other string (*k untouched). */
int cfx_dtype_kind_parse(const char *name, cfx_kind_t *k);

#endif

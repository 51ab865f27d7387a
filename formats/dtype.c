/*
 * dtype.c: one table of TensorFlow dtype names and one of tf.Example kind
 * names (dtype.h).
 */
#include "formats/dtype.h"

#include <stddef.h>
#include <string.h>

#include "formats/err.h"

static const struct {
    int dtype;
    const char *name; /* "DT_" + the word in upper case */
    const char *word;
} dtypes[] = {
    {CFX_DT_FLOAT, "DT_FLOAT", "float"},
    {CFX_DT_DOUBLE, "DT_DOUBLE", "double"},
    {CFX_DT_INT32, "DT_INT32", "int32"},
    {CFX_DT_UINT8, "DT_UINT8", "uint8"},
    {CFX_DT_INT16, "DT_INT16", "int16"},
    {CFX_DT_INT8, "DT_INT8", "int8"},
    {CFX_DT_STRING, "DT_STRING", "string"},
    {CFX_DT_INT64, "DT_INT64", "int64"},
    {CFX_DT_BOOL, "DT_BOOL", "bool"},
    {CFX_DT_UINT32, "DT_UINT32", "uint32"},
    {CFX_DT_UINT64, "DT_UINT64", "uint64"},
};

#define NUM_DTYPES (sizeof dtypes / sizeof dtypes[0])

static size_t find(int dtype) {
    size_t i = 0;
    while (i < NUM_DTYPES && dtypes[i].dtype != dtype)
        i++;
    return i;
}

const char *cfx_dtype_name(int dtype) {
    size_t i = find(dtype);
    return i < NUM_DTYPES ? dtypes[i].name : "DT_INVALID";
}

const char *cfx_dtype_word(int dtype) {
    size_t i = find(dtype);
    return i < NUM_DTYPES ? dtypes[i].word : "invalid";
}

int cfx_dtype_parse(const char *name) {
    if (name == NULL)
        return CFX_DT_INVALID;
    for (size_t i = 0; i < NUM_DTYPES; i++)
        if (strcmp(dtypes[i].name, name) == 0)
            return dtypes[i].dtype;
    return CFX_DT_INVALID;
}

int cfx_dtype_of_kind(cfx_kind_t k) {
    return k == CFX_KIND_INT64   ? CFX_DT_INT64
           : k == CFX_KIND_FLOAT ? CFX_DT_FLOAT
                                 : CFX_DT_STRING;
}

cfx_kind_t cfx_dtype_to_kind(int dtype) {
    return dtype == CFX_DT_INT64   ? CFX_KIND_INT64
           : dtype == CFX_DT_FLOAT ? CFX_KIND_FLOAT
                                   : CFX_KIND_BYTES;
}

static const struct {
    cfx_kind_t kind;
    const char *name;
} kinds[] = {
    {CFX_KIND_INT64, "int64"},
    {CFX_KIND_FLOAT, "float"},
    {CFX_KIND_BYTES, "bytes"},
};

#define NUM_KINDS (sizeof kinds / sizeof kinds[0])

const char *cfx_dtype_kind_name(cfx_kind_t k) {
    for (size_t i = 0; i < NUM_KINDS; i++)
        if (kinds[i].kind == k)
            return kinds[i].name;
    return "none";
}

int cfx_dtype_kind_parse(const char *name, cfx_kind_t *k) {
    for (size_t i = 0; name != NULL && i < NUM_KINDS; i++)
        if (strcmp(kinds[i].name, name) == 0) {
            *k = kinds[i].kind;
            return 0;
        }
    return CFX_EINVAL;
}

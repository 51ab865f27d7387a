/*
 * slicing.h: TFMA's SlicingSpec — which slices an example belongs to.
 *
 *   {}                                    the overall slice ("Overall")
 *   {"feature_keys": ["trip_start_hour"]} one slice per value of the feature
 *   {"feature_keys": ["a", "b"]}          a feature cross: one slice per
 *                                         combination of values
 *   {"feature_values": {"a": "3"}}        only examples whose a is 3
 *
 * Slice names follow TFMA's stringified slice keys: "Overall",
 * "trip_start_hour:5", "a_X_b:1_X_5" (features in spec order, fixed
 * feature_values after feature_keys). An example lacking a feature of the
 * spec is in none of that spec's slices; a feature with several values puts
 * the example in one slice per value (bounded by CFX_SLICE_MAX_PER_EXAMPLE).
 * Values print as the raw example holds them: int64 in decimal, floats with
 * %.9g, bytes as they are (cut at CFX_SLICE_VALUE_MAX).
 *
 * Thread-safety: a slice table belongs to one thread at a time.
 */
#ifndef CFX_EVAL_SLICING_H
#define CFX_EVAL_SLICING_H

#include <stddef.h>

#include "formats/err.h"
#include "formats/example.h"

#define CFX_SLICE_MAX_FEATURES 4
#define CFX_SLICE_FEATURE_MAX 128
#define CFX_SLICE_VALUE_MAX 128
#define CFX_SLICE_NAME_MAX 1024
#define CFX_SLICE_MAX_PER_EXAMPLE 64
/* Most distinct slices of one evaluation. */
#define CFX_SLICE_MAX_SLICES 100000

typedef struct cfx_slicing_spec {
    size_t num_keys;
    char keys[CFX_SLICE_MAX_FEATURES][CFX_SLICE_FEATURE_MAX];
    size_t num_values;
    char value_keys[CFX_SLICE_MAX_FEATURES][CFX_SLICE_FEATURE_MAX];
    char values[CFX_SLICE_MAX_FEATURES][CFX_SLICE_VALUE_MAX];
} cfx_slicing_spec_t;

/* The spec's name for people: "Overall", "trip_start_hour",
 * "trip_start_day_X_payment_type". */
void cfx_slicing_spec_name(const cfx_slicing_spec_t *s, char *out, size_t cap);

/* Calls cb once per slice of spec that ex belongs to, with the slice name.
 * Returns 0, cb's first non-zero return, or CFX_ETOOBIG when ex would fall
 * in more than CFX_SLICE_MAX_PER_EXAMPLE slices of one spec. */
typedef int (*cfx_slice_cb)(void *ud, const char *slice_name);
int cfx_slicing_keys(const cfx_slicing_spec_t *spec, const cfx_example_t *ex,
                     cfx_slice_cb cb, void *ud, cfx_error_t *err);

/* TFMA's SingleSliceSpec.is_slice_applicable, used to match per-slice
 * thresholds: 1 when the slice slice_name, produced by spec `from`, is one
 * that `want` names. The slice's key is its set of (feature, value) pairs;
 * each pair must be taken by a pinned feature_value of want with that value
 * or else by one of want's feature_keys, and every part of want must be
 * taken, in any order. So {"feature_keys": ["a"]} matches every slice over
 * exactly a (not a cross of a and b), {} only the overall slice, and
 * {"feature_values": {"a": "3"}} the slice a:3 whichever spec made it.
 * Values are split from the name as metrics.json's slice_key does (at the
 * first "_X_"). */
int cfx_slicing_spec_applies(const cfx_slicing_spec_t *want,
                             const cfx_slicing_spec_t *from,
                             const char *slice_name);
/* 1 when some slice of `from` could satisfy cfx_slicing_spec_applies(want,
 * from, ...): the same features, and equal values where both pin one. */
int cfx_slicing_spec_can_apply(const cfx_slicing_spec_t *want,
                               const cfx_slicing_spec_t *from);
/* 1 when a and b are written alike (same keys and values, same order). */
int cfx_slicing_spec_equal(const cfx_slicing_spec_t *a,
                           const cfx_slicing_spec_t *b);

/* Formats value i of feature f (as in slice names) into out. */
void cfx_slicing_value(const cfx_feature_t *f, size_t i, char *out, size_t cap);

/* A table of slice names -> dense indices (0, 1, ... in first-seen order). */
typedef struct cfx_slice_table {
    char **names; /* owned, by index */
    size_t n;
    size_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t nslots;
} cfx_slice_table_t;

void cfx_slice_table_init(cfx_slice_table_t *t);
void cfx_slice_table_free(cfx_slice_table_t *t);
/* Index of name, inserting it when absent (*created = 1, may be NULL).
 * CFX_ETOOBIG past CFX_SLICE_MAX_SLICES. */
int cfx_slice_table_intern(cfx_slice_table_t *t, const char *name,
                           size_t *index, int *created, cfx_error_t *err);

#endif

/*
 * schema_infer.h: SchemaGen — a tensorflow_metadata Schema inferred from
 * statistics the way TFDV's infer_schema / update_schema do it
 * (docs/validation.md), and the schema.pbtxt artifact around it. Statistics
 * come in through data/stats_io.h.
 *
 * Messages built here are plain protobuf-c messages whose every pointer was
 * malloc'ed, so cfx_schema_free (protobuf_c_message_free_unpacked with the
 * default allocator) releases them, as it does messages read from disk.
 *
 * Thread-safety: functions are reentrant; a schema belongs to one thread.
 */
#ifndef CFX_DATA_SCHEMA_INFER_H
#define CFX_DATA_SCHEMA_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "data/stats_io.h"
#include "formats/err.h"
#include "schema.pb-c.h"

typedef Tensorflow__Metadata__V0__Schema cfx_schema_t;
typedef Tensorflow__Metadata__V0__Feature cfx_schema_feature_t;

/* TFDV's max_string_domain_size: more distinct values, no string_domain. */
#define CFX_SCHEMA_MAX_STRING_DOMAIN_SIZE 100
/* Largest schema.pbtxt (or validation config) read (bytes). */
#define CFX_SCHEMA_MAX_FILE_BYTES (256u << 20)

typedef struct cfx_schema_options {
    int infer_feature_shape; /* TFX default and taxi setting: 1 */
} cfx_schema_options_t;

/* --- inference ---------------------------------------------------------------
 */

/* A new empty schema (*out owned by the caller, cfx_schema_free). */
int cfx_schema_new(cfx_schema_t **out, cfx_error_t *err);
void cfx_schema_free(cfx_schema_t *s); /* s may be NULL */
/* A deep copy. */
int cfx_schema_copy(const cfx_schema_t *s, cfx_schema_t **out,
                    cfx_error_t *err);

/* Appends a feature inferred from f (type, presence, shape or value_count,
 * bool/int/string domain; a string domain is added at the top level, named
 * after the feature, suffixed 2, 3, ... on a clash). */
int cfx_schema_add_feature(cfx_schema_t *s, const cfx_feature_stats_t *f,
                           const cfx_schema_options_t *opt, cfx_error_t *err);

/* infer_schema: one feature per statistics feature, in statistics order. */
int cfx_schema_infer(const cfx_dataset_stats_t *stats,
                     const cfx_schema_options_t *opt, cfx_schema_t **out,
                     cfx_error_t *err);

/* update_schema: relaxes s so that stats validate against it (new features
 * added, presence/value counts widened, new string values appended in byte
 * order, bad shapes dropped, missing or retyped features deprecated). */
int cfx_schema_update(cfx_schema_t *s, const cfx_dataset_stats_t *stats,
                      const cfx_schema_options_t *opt, cfx_error_t *err);

/* The named top-level string domain of s, or NULL. */
Tensorflow__Metadata__V0__StringDomain *
cfx_schema_string_domain(const cfx_schema_t *s, const char *name);
/* The feature named `name` of s, or NULL. */
cfx_schema_feature_t *cfx_schema_find(const cfx_schema_t *s, const char *name);

/* --- artifacts
 * ----------------------------------------------------------------- */

/* Split names of a statistics (or examples, anomalies) artifact: the
 * Split-<name> subdirectories of dir holding `file` (any such subdirectory
 * when file is NULL); "train" first, then the rest in byte order. *names is
 * a malloc'ed array of malloc'ed strings, free with
 * cfx_schema_split_names_free. At most 1024 (CFX_ETOOBIG). */
int cfx_schema_split_names(const char *dir, const char *file, char ***names,
                           size_t *n, cfx_error_t *err);
void cfx_schema_split_names_free(char **names, size_t n);

/* Parses schema.pbtxt text read from path (named in errors) as
 * cfx_schema_read_text does; a legacy top-level
 * `generate_legacy_feature_spec: false` line in text is turned into a
 * comment in place. */
int cfx_schema_parse_text(char *text, size_t len, const char *path,
                          cfx_schema_t **out, cfx_error_t *err);
/* schema.pbtxt (protobuf text format) in and out. Writing is byte-for-byte
 * deterministic and atomic (temporary file + rename). */
int cfx_schema_read_text(const char *path, cfx_schema_t **out,
                         cfx_error_t *err);
int cfx_schema_write_text(const char *path, const cfx_schema_t *s,
                          cfx_error_t *err);

/* The SchemaGen component: infer on the first split of stats_dir ("train"),
 * update with the others, write <out_dir>/schema.pbtxt. n_features (may be
 * NULL) gets the feature count. */
int cfx_schema_gen(const char *stats_dir, const char *out_dir,
                   const cfx_schema_options_t *opt, size_t *n_features,
                   cfx_error_t *err);

/* --- helpers shared by the data-validation commands
 * -------------------------------- */

/* Python int() rules: sign, digits with single '_' between digits, spaces
 * around; must fit int64. Returns 1 and sets *out, or 0. */
int cfx_schema_parse_int(const char *s, int64_t *out);
/* Distinct string values of f (rank_histogram, else top_values) in byte
 * order; *out is malloc'ed (free it), its strings point into f. */
int cfx_schema_string_values(const cfx_feature_stats_t *f, const char ***out,
                             size_t *n);
/* cfx_file_read (formats/file.h) with the schema limit: the whole file
 * appended to b, refusing more than CFX_SCHEMA_MAX_FILE_BYTES. */
struct cfx_buf;
int cfx_schema_read_file(const char *path, struct cfx_buf *b, cfx_error_t *err);
/* cfx_file_write_atomic (formats/file.h): temporary file beside path, fsync,
 * rename, fsync of the directory. */
int cfx_schema_write_file(const char *path, const void *data, size_t n,
                          cfx_error_t *err);

#endif

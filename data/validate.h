/*
 * validate.h: ExampleValidator — checks statistics against a schema the way
 * TFDV's validate_statistics does (docs/validation.md) and reports a
 * tensorflow_metadata Anomalies per split (SchemaDiff.pb).
 *
 * The checks are TFDV's "update the schema until the statistics fit" pass:
 * each finding is a reason (type, short and long description) and also a
 * fix to a copy of the schema. cfx_validate_statistics throws the fixed copy
 * away; cfx_schema_update (schema_infer.h) keeps it.
 *
 * Drift (current vs previous statistics) and skew (training vs serving)
 * comparators run only when the schema sets them and the other statistics
 * are given; every comparison made is listed in drift_skew_info.
 *
 * Severity: ERROR for every anomaly unless a ValidationConfig overrides the
 * type (or sets new_features_are_warnings); a feature's severity is the
 * largest of its reasons'.
 *
 * Thread-safety: reentrant; inputs are read only.
 */
#ifndef CFX_DATA_VALIDATE_H
#define CFX_DATA_VALIDATE_H

#include <stddef.h>

#include "anomalies.pb-c.h"
#include "data/schema_infer.h"
#include "formats/err.h"
#include "validation_config.pb-c.h"

typedef Tensorflow__Metadata__V0__Anomalies cfx_anomalies_t;
typedef Tensorflow__DataValidation__ValidationConfig cfx_validation_config_t;

/* Exit status of `cfx validate` when anomalies were found (0: none). */
#define CFX_VALIDATE_EXIT_ANOMALIES 3

typedef struct cfx_validate_options {
    const cfx_dataset_stats_t *previous;   /* drift control; may be NULL */
    const cfx_dataset_stats_t *serving;    /* skew control; may be NULL */
    const cfx_validation_config_t *config; /* may be NULL */
    /* TFDV environment ("TRAINING", "SERVING", ...); NULL: every feature is
     * expected. A feature is in environment E when E is in its
     * in_environment, else not when in its not_in_environment, else when E
     * is one of the schema's default_environment. */
    const char *environment;
    /* For features that the fix pass adds (new columns). */
    cfx_schema_options_t schema;
} cfx_validate_options_t;

/* Checks stats against schema; *out (owned by the caller, free with
 * cfx_anomalies_free) holds the baseline schema, one anomaly_info per
 * feature with findings (keys sorted), dataset_anomaly_info when there are
 * dataset-level findings, and drift_skew_info. */
int cfx_validate_statistics(const cfx_dataset_stats_t *stats,
                            const cfx_schema_t *schema,
                            const cfx_validate_options_t *opt,
                            cfx_anomalies_t **out, cfx_error_t *err);

/* The same pass applied to `schema` itself (it is fixed in place); *out may
 * be NULL when the anomalies are not wanted. */
int cfx_validate_fix(cfx_schema_t *schema, const cfx_dataset_stats_t *stats,
                     const cfx_validate_options_t *opt, cfx_anomalies_t **out,
                     cfx_error_t *err);

void cfx_anomalies_free(cfx_anomalies_t *a); /* a may be NULL */
/* Number of features with anomalies plus 1 if there is a dataset anomaly. */
size_t cfx_anomalies_count(const cfx_anomalies_t *a);
/* Enum value names ("SCHEMA_NEW_COLUMN", "ERROR"); "?" when unknown. */
const char *cfx_anomaly_type_name(int type);
const char *cfx_anomaly_severity_name(int severity);

/* --- the ExampleValidator component
 * ------------------------------------------- */

typedef struct cfx_validate_run_options {
    const char *statistics_dir;          /* Split-<s>/FeatureStats.pb */
    const char *schema_path;             /* schema.pbtxt */
    const char *output_dir;              /* Split-<s>/SchemaDiff.pb */
    const char *previous_statistics_dir; /* may be NULL */
    const char *serving_statistics_dir;  /* may be NULL */
    const char *validation_config_path; /* text ValidationConfig; may be NULL */
    const char *environment;            /* may be NULL (see above) */
} cfx_validate_run_options_t;

typedef struct cfx_validate_summary {
    size_t n_splits;
    size_t n_anomalous_splits;
    size_t n_anomalies; /* over all splits */
    /* TFX's ExampleAnomalies `blessed` custom property: a JSON object
     * {"<split>": 1 when clean, 0 when anomalous, ...}. */
    char blessed_json[1024];
} cfx_validate_summary_t;

/* For each split: validate, write <output_dir>/Split-<s>/SchemaDiff.pb.
 * Previous/serving statistics are matched by split name (falling back to
 * their only split, then to their "train" split). */
int cfx_validate_run(const cfx_validate_run_options_t *opt,
                     cfx_validate_summary_t *summary, cfx_error_t *err);

/* Binary SchemaDiff.pb in; a directory path reads <dir>/SchemaDiff.pb. */
int cfx_anomalies_read(const char *path, cfx_anomalies_t **out,
                       cfx_error_t *err);

#endif

/*
 * metadata.h: the ML-Metadata-like store of a pipeline root, modelled on ML
 * Metadata's data model: types, artifacts, executions, contexts, events,
 * with typed properties.
 *
 * This header is the whole interface: no database type leaks through it.
 * One implementation (metadata.c) runs on two databases (md_backend.h):
 * SQLite, the file `<root>/metadata.sqlite` (the default), or PostgreSQL,
 * one server that pipelines on several machines share (a location
 * "postgresql://..."; docs/metadata.md). Both use the MLMD table names and
 * the state/kind/event numbers of ML Metadata (schema_version 10). Any
 * number of processes may read and write one store at once
 * (docs/metadata.md, Concurrency): a call waits for another process's
 * write instead of failing, for up to two minutes. Each public call that
 * writes is one transaction unless the caller wraps several in
 * cfx_metadata_begin/commit, which takes the write lock at begin.
 *
 * Most callers do not use this directly: components record themselves with
 * mlmd/component.h. Readers (cfx ls, cfx lineage, the evaluator's
 * baseline resolver) use the list/get/resolver calls below.
 *
 * Threads: a cfx_metadata_t belongs to one thread at a time (open one per
 * thread or process; the store is shared safely). Strings handed to
 * callbacks are valid only during the callback. cfx_metadata_set_location
 * is for a program's start, before other threads.
 */
#ifndef CFX_MLMD_METADATA_H
#define CFX_MLMD_METADATA_H

#include <stdint.h>

#include "formats/err.h"

/* File name of the store inside a pipeline root. */
#define CFX_METADATA_FILE "metadata.sqlite"
/* Environment variable naming the store of every pipeline root of a
 * process (as cfx_metadata_set_location) when the program sets none. */
#define CFX_METADATA_ENV "CFX_METADATA"

/* Bounds (inputs longer than these are refused with CFX_ETOOBIG). */
#define CFX_MD_URI_MAX 4096
#define CFX_MD_NAME_MAX 256

/* Type.type_kind */
enum {
    CFX_MD_EXECUTION_TYPE = 0,
    CFX_MD_ARTIFACT_TYPE = 1,
    CFX_MD_CONTEXT_TYPE = 2
};

/* Artifact.state (MLMD numbers). */
enum {
    CFX_MD_ARTIFACT_UNKNOWN = 0,
    CFX_MD_ARTIFACT_PENDING = 1,
    CFX_MD_ARTIFACT_LIVE = 2,
    CFX_MD_ARTIFACT_MARKED_FOR_DELETION = 3,
    CFX_MD_ARTIFACT_DELETED = 4,
    CFX_MD_ARTIFACT_ABANDONED = 5,
    CFX_MD_ARTIFACT_REFERENCE = 6,
};

/* Execution.last_known_state (MLMD numbers). */
enum {
    CFX_MD_EXECUTION_UNKNOWN = 0,
    CFX_MD_EXECUTION_NEW = 1,
    CFX_MD_EXECUTION_RUNNING = 2,
    CFX_MD_EXECUTION_COMPLETE = 3,
    CFX_MD_EXECUTION_FAILED = 4,
    CFX_MD_EXECUTION_CACHED = 5,
    CFX_MD_EXECUTION_CANCELED = 6,
};

/* Event.type (MLMD numbers; TFX uses INPUT and OUTPUT). A run records
 * PENDING_OUTPUT when it places an output, OUTPUT when it publishes it. */
enum {
    CFX_MD_EVENT_DECLARED_OUTPUT = 1,
    CFX_MD_EVENT_DECLARED_INPUT = 2,
    CFX_MD_EVENT_INPUT = 3,
    CFX_MD_EVENT_OUTPUT = 4,
    CFX_MD_EVENT_PENDING_OUTPUT = 7,
};

/* Property value kinds (MLMD PropertyType numbers for INT/DOUBLE/STRING). */
typedef enum cfx_md_value_kind {
    CFX_MD_INT = 1,
    CFX_MD_DOUBLE = 2,
    CFX_MD_STRING = 3,
} cfx_md_value_kind_t;

typedef struct cfx_md_value {
    cfx_md_value_kind_t kind;
    int64_t i;
    double d;
    const char *s; /* borrowed */
} cfx_md_value_t;

/* An artifact as read back (fixed storage: safe to copy and keep). */
typedef struct cfx_md_artifact {
    int64_t id;
    int64_t type_id;
    char type[CFX_MD_NAME_MAX]; /* "Examples", "Model", ... */
    char uri[CFX_MD_URI_MAX];
    char name[CFX_MD_NAME_MAX];
    int state;
    int64_t create_time_ms, update_time_ms; /* ms since the epoch */
} cfx_md_artifact_t;

typedef struct cfx_md_execution {
    int64_t id;
    int64_t type_id;
    char type[CFX_MD_NAME_MAX]; /* component name: "ExampleGen", ... */
    char name[CFX_MD_NAME_MAX];
    int state;
    int64_t create_time_ms, update_time_ms;
} cfx_md_execution_t;

typedef struct cfx_md_event {
    int64_t artifact_id;
    int64_t execution_id;
    int type;                  /* CFX_MD_EVENT_* */
    char key[CFX_MD_NAME_MAX]; /* path step 0: the input/output key */
    int64_t index;             /* path step 1 */
    int64_t time_ms;
} cfx_md_event_t;

typedef struct cfx_metadata cfx_metadata_t;

/* Opens (creating the tables when absent) the store at path: a SQLite file,
 * e.g. "<root>/metadata.sqlite", or a PostgreSQL database named by a
 * "postgresql://" (or "postgres://") URL in libpq's syntax, e.g.
 * "postgresql://cfx@db.example:5432/metadata" or
 * "postgresql:///metadata?host=/run/postgresql". *out is set only on
 * success; the caller owns it and releases it with cfx_metadata_close.
 * Messages name the location without its password. */
int cfx_metadata_open(cfx_metadata_t **out, const char *path, cfx_error_t *err);
/* Whether location names a PostgreSQL database ("postgresql://" or
 * "postgres://"). */
int cfx_md_is_postgres_url(const char *location);
/* Opens the store of a pipeline root: the process's location when one is
 * set (cfx_metadata_location), else "<root>/metadata.sqlite", creating
 * root when absent. */
int cfx_metadata_open_root(cfx_metadata_t **out, const char *root,
                           cfx_error_t *err);
/* Sets the store every cfx_metadata_open_root of this process opens,
 * whatever the root (NULL or "": unset). The command-line flag --metadata
 * sets it. */
int cfx_metadata_set_location(const char *location, cfx_error_t *err);
/* The same one level down, for a pipeline config's "metadata" member: used
 * when no location is set above. */
int cfx_metadata_set_default_location(const char *location, cfx_error_t *err);
/* The location set above, else the default one, else the environment's
 * CFX_METADATA when set and not empty, else NULL (each root's own file). */
const char *cfx_metadata_location(void);
void cfx_metadata_close(cfx_metadata_t *md); /* NULL is fine */

/* Groups several writes into one transaction (nesting is counted: only the
 * outermost commit/rollback acts). */
int cfx_metadata_begin(cfx_metadata_t *md, cfx_error_t *err);
int cfx_metadata_commit(cfx_metadata_t *md, cfx_error_t *err);
void cfx_metadata_rollback(cfx_metadata_t *md);

/* Types: returns the id of the type (kind, name), registering it first when
 * absent. */
int cfx_metadata_put_type(cfx_metadata_t *md, int kind, const char *name,
                          int64_t *id, cfx_error_t *err);

/* --- artifacts ------------------------------------------------------------ */
int cfx_metadata_put_artifact(cfx_metadata_t *md, const char *type,
                              const char *uri, int state, int64_t *id,
                              cfx_error_t *err);
int cfx_metadata_set_artifact_state(cfx_metadata_t *md, int64_t id, int state,
                                    cfx_error_t *err);
int cfx_metadata_get_artifact(cfx_metadata_t *md, int64_t id,
                              cfx_md_artifact_t *out, cfx_error_t *err);
/* The newest artifact (highest id) with this uri (trailing '/' ignored), any
 * state; CFX_ENOTFOUND when none. */
int cfx_metadata_find_artifact_by_uri(cfx_metadata_t *md, const char *uri,
                                      cfx_md_artifact_t *out, cfx_error_t *err);
/* The newest artifact with this uri (any type, as find_artifact_by_uri);
 * when there is none, registers one of this type and state first. One write
 * transaction: two processes registering one uri at once get the same
 * artifact. *created (may be NULL) says whether this call registered it. */
int cfx_metadata_find_or_put_artifact(cfx_metadata_t *md, const char *type,
                                      const char *uri, int state,
                                      cfx_md_artifact_t *out, int *created,
                                      cfx_error_t *err);
/* The newest artifact (highest id) whose string property (custom or not)
 * `name` equals value; CFX_ENOTFOUND when none. */
int cfx_metadata_find_artifact_by_property(cfx_metadata_t *md, const char *name,
                                           const char *value,
                                           cfx_md_artifact_t *out,
                                           cfx_error_t *err);
/* Sets (replacing) a property; is_custom selects custom_properties. */
int cfx_metadata_set_artifact_property(cfx_metadata_t *md, int64_t id,
                                       const char *name, int is_custom,
                                       const cfx_md_value_t *v,
                                       cfx_error_t *err);
/* Reads a property (custom or not: a non-custom one wins). For strings,
 * v->s points into buf (cap bytes, truncated values are CFX_ETOOBIG).
 * CFX_ENOTFOUND when absent. */
int cfx_metadata_get_artifact_property(cfx_metadata_t *md, int64_t id,
                                       const char *name, cfx_md_value_t *v,
                                       char *buf, size_t cap, cfx_error_t *err);

/* Every property of an artifact (non-custom first, then by name). */
typedef int (*cfx_md_property_cb)(void *ud, const char *name, int is_custom,
                                  const cfx_md_value_t *v);
int cfx_metadata_list_artifact_properties(cfx_metadata_t *md, int64_t id,
                                          cfx_md_property_cb cb, void *ud,
                                          cfx_error_t *err);
int cfx_metadata_list_execution_properties(cfx_metadata_t *md, int64_t id,
                                           cfx_md_property_cb cb, void *ud,
                                           cfx_error_t *err);

/* --- executions ----------------------------------------------------------- */
int cfx_metadata_put_execution(cfx_metadata_t *md, const char *type, int state,
                               int64_t *id, cfx_error_t *err);
int cfx_metadata_set_execution_state(cfx_metadata_t *md, int64_t id, int state,
                                     cfx_error_t *err);
/* Sets the state only when it still is `expected` (one statement, so of
 * several processes doing it at once exactly one sees *changed == 1). */
int cfx_metadata_replace_execution_state(cfx_metadata_t *md, int64_t id,
                                         int expected, int state, int *changed,
                                         cfx_error_t *err);
int cfx_metadata_get_execution(cfx_metadata_t *md, int64_t id,
                               cfx_md_execution_t *out, cfx_error_t *err);
int cfx_metadata_set_execution_property(cfx_metadata_t *md, int64_t id,
                                        const char *name, int is_custom,
                                        const cfx_md_value_t *v,
                                        cfx_error_t *err);
int cfx_metadata_get_execution_property(cfx_metadata_t *md, int64_t id,
                                        const char *name, cfx_md_value_t *v,
                                        char *buf, size_t cap,
                                        cfx_error_t *err);

/* --- contexts ------------------------------------------------------------- */
/* Returns the id of context (type, name), creating it when absent. */
int cfx_metadata_put_context(cfx_metadata_t *md, const char *type,
                             const char *name, int64_t *id, cfx_error_t *err);
int cfx_metadata_find_context(cfx_metadata_t *md, const char *type,
                              const char *name, int64_t *id, cfx_error_t *err);
int cfx_metadata_put_parent_context(cfx_metadata_t *md, int64_t child_id,
                                    int64_t parent_id, cfx_error_t *err);
/* Association (execution in context) and Attribution (artifact in context);
 * idempotent. */
int cfx_metadata_associate(cfx_metadata_t *md, int64_t context_id,
                           int64_t execution_id, cfx_error_t *err);
int cfx_metadata_attribute(cfx_metadata_t *md, int64_t context_id,
                           int64_t artifact_id, cfx_error_t *err);

/* --- events --------------------------------------------------------------- */
/* An event with path [key, index] (TFX's convention). An OUTPUT event of an
 * artifact and execution that have a PENDING_OUTPUT event replaces it (the
 * output is published; the path recorded with the pending event stays). */
int cfx_metadata_put_event(cfx_metadata_t *md, int64_t artifact_id,
                           int64_t execution_id, int type, const char *key,
                           int64_t index, cfx_error_t *err);

/* --- listing (callbacks return 0 to go on, non-zero to stop; that value is
 * then returned) ----------------------------------------------------------- */
typedef int (*cfx_md_artifact_cb)(void *ud, const cfx_md_artifact_t *a);
typedef int (*cfx_md_execution_cb)(void *ud, const cfx_md_execution_t *e);
typedef int (*cfx_md_event_cb)(void *ud, const cfx_md_event_t *ev);

/* All artifacts (type NULL) or those of one type, by ascending id. */
int cfx_metadata_list_artifacts(cfx_metadata_t *md, const char *type,
                                cfx_md_artifact_cb cb, void *ud,
                                cfx_error_t *err);
/* All executions by ascending id. */
int cfx_metadata_list_executions(cfx_metadata_t *md, cfx_md_execution_cb cb,
                                 void *ud, cfx_error_t *err);
/* Executions in one state (CFX_MD_EXECUTION_*) by ascending id. */
int cfx_metadata_list_executions_in_state(cfx_metadata_t *md, int state,
                                          cfx_md_execution_cb cb, void *ud,
                                          cfx_error_t *err);
/* Executions associated with a context, newest (highest id) first. */
int cfx_metadata_list_context_executions(cfx_metadata_t *md, int64_t context_id,
                                         cfx_md_execution_cb cb, void *ud,
                                         cfx_error_t *err);
/* Events of an execution (artifact_id < 0) or of an artifact
 * (execution_id < 0), by ascending event id. */
int cfx_metadata_list_events(cfx_metadata_t *md, int64_t execution_id,
                             int64_t artifact_id, cfx_md_event_cb cb, void *ud,
                             cfx_error_t *err);

/* --- resolvers ------------------------------------------------------------ */
/* The newest LIVE artifact (highest id) of a type; CFX_ENOTFOUND when none. */
int cfx_metadata_latest_artifact(cfx_metadata_t *md, const char *type,
                                 cfx_md_artifact_t *out, cfx_error_t *err);
/* TFX's LatestBlessedModelStrategy: the highest-id LIVE Model that has a LIVE
 * ModelBlessing with custom blessed == 1 and custom current_model_id == the
 * model's id; fills model and (when not NULL) blessing. CFX_ENOTFOUND when
 * there is none (the evaluator then has no baseline). */
int cfx_metadata_latest_blessed_model(cfx_metadata_t *md,
                                      cfx_md_artifact_t *model,
                                      cfx_md_artifact_t *blessing,
                                      cfx_error_t *err);
/* The same, never returning the model with id exclude_model_id (the
 * candidate): when a cached Trainer hands the evaluator a model that an
 * earlier run already blessed, its baseline stays what it was then, so the
 * evaluation is not redone against itself. */
int cfx_metadata_latest_blessed_model_excluding(cfx_metadata_t *md,
                                                int64_t exclude_model_id,
                                                cfx_md_artifact_t *model,
                                                cfx_md_artifact_t *blessing,
                                                cfx_error_t *err);

/* Names for people: "LIVE", "COMPLETE", "OUTPUT"... */
const char *cfx_md_artifact_state_name(int state);
const char *cfx_md_execution_state_name(int state);
const char *cfx_md_event_type_name(int type);

/* Milliseconds since the epoch (the store's clock). */
int64_t cfx_metadata_now_ms(void);

#endif

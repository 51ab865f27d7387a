/*
 * metadata.c: metadata.h on a database backend (md_backend.h): SQLite, a
 * file in the pipeline root (the default), or PostgreSQL, a server several
 * machines share (a "postgresql://" location).
 *
 * Tables and columns follow ML Metadata's schema (version 10) so the store
 * reads like an MLMD store to a person who knows one: Type, ParentType,
 * TypeProperty, Artifact, ArtifactProperty, Execution, ExecutionProperty,
 * Context, ContextProperty, ParentContext, Event, EventPath, Association,
 * Attribution, MLMDEnv. Times are milliseconds since the epoch.
 *
 * Concurrency (docs/metadata.md): any number of processes may use one
 * store. Every write transaction holds the backend's write lock from begin
 * to commit, and a write statement outside one takes it for itself, so
 * writes are serialised exactly as SQLite serialises them; the backend
 * waits for the lock (md_backend.h). Opening does not write when the
 * schema is already there.
 */
#include "mlmd/metadata.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlmd/md_backend.h"

#define SCHEMA_VERSION 10

struct cfx_metadata {
    const md_backend_t *be;
    md_conn_t *c;
    char *path; /* the location as messages name it (no password) */
    int tx_depth;
    int tx_failed;
};

static const char *const sqlite_schema_sql =
    "CREATE TABLE IF NOT EXISTS Type ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(255) NOT NULL,"
    " version VARCHAR(255), type_kind TINYINT(1) NOT NULL, description TEXT,"
    " input_type TEXT, output_type TEXT, external_id VARCHAR(255) UNIQUE);"
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_type_name ON Type(type_kind, name);"
    "CREATE TABLE IF NOT EXISTS ParentType ("
    " type_id INT NOT NULL, parent_type_id INT NOT NULL,"
    " PRIMARY KEY (type_id, parent_type_id));"
    "CREATE TABLE IF NOT EXISTS TypeProperty ("
    " type_id INT NOT NULL, name VARCHAR(255) NOT NULL, data_type INT NULL,"
    " PRIMARY KEY (type_id, name));"
    "CREATE TABLE IF NOT EXISTS Artifact ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, type_id INT NOT NULL, uri TEXT,"
    " state INT, name VARCHAR(255), external_id VARCHAR(255) UNIQUE,"
    " create_time_since_epoch INT NOT NULL DEFAULT 0,"
    " last_update_time_since_epoch INT NOT NULL DEFAULT 0,"
    " UNIQUE(type_id, name));"
    "CREATE INDEX IF NOT EXISTS idx_artifact_uri ON Artifact(uri);"
    "CREATE INDEX IF NOT EXISTS idx_artifact_type ON Artifact(type_id);"
    "CREATE TABLE IF NOT EXISTS ArtifactProperty ("
    " artifact_id INT NOT NULL, name VARCHAR(255) NOT NULL,"
    " is_custom_property TINYINT(1) NOT NULL, int_value INT,"
    " double_value DOUBLE, string_value TEXT, byte_value BLOB,"
    " proto_value BLOB, bool_value BOOLEAN,"
    " PRIMARY KEY (artifact_id, name, is_custom_property));"
    "CREATE TABLE IF NOT EXISTS Execution ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, type_id INT NOT NULL,"
    " last_known_state INT, name VARCHAR(255),"
    " external_id VARCHAR(255) UNIQUE,"
    " create_time_since_epoch INT NOT NULL DEFAULT 0,"
    " last_update_time_since_epoch INT NOT NULL DEFAULT 0,"
    " UNIQUE(type_id, name));"
    "CREATE TABLE IF NOT EXISTS ExecutionProperty ("
    " execution_id INT NOT NULL, name VARCHAR(255) NOT NULL,"
    " is_custom_property TINYINT(1) NOT NULL, int_value INT,"
    " double_value DOUBLE, string_value TEXT, byte_value BLOB,"
    " proto_value BLOB, bool_value BOOLEAN,"
    " PRIMARY KEY (execution_id, name, is_custom_property));"
    "CREATE TABLE IF NOT EXISTS Context ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, type_id INT NOT NULL,"
    " name VARCHAR(255) NOT NULL, external_id VARCHAR(255) UNIQUE,"
    " create_time_since_epoch INT NOT NULL DEFAULT 0,"
    " last_update_time_since_epoch INT NOT NULL DEFAULT 0,"
    " UNIQUE(type_id, name));"
    "CREATE TABLE IF NOT EXISTS ContextProperty ("
    " context_id INT NOT NULL, name VARCHAR(255) NOT NULL,"
    " is_custom_property TINYINT(1) NOT NULL, int_value INT,"
    " double_value DOUBLE, string_value TEXT, byte_value BLOB,"
    " proto_value BLOB, bool_value BOOLEAN,"
    " PRIMARY KEY (context_id, name, is_custom_property));"
    "CREATE TABLE IF NOT EXISTS ParentContext ("
    " context_id INT NOT NULL, parent_context_id INT NOT NULL,"
    " PRIMARY KEY (context_id, parent_context_id));"
    "CREATE TABLE IF NOT EXISTS Event ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, artifact_id INT NOT NULL,"
    " execution_id INT NOT NULL, type INT NOT NULL,"
    " milliseconds_since_epoch INT,"
    " UNIQUE(artifact_id, execution_id, type));"
    "CREATE INDEX IF NOT EXISTS idx_event_execution ON Event(execution_id);"
    "CREATE TABLE IF NOT EXISTS EventPath ("
    " event_id INT NOT NULL, is_index_step TINYINT(1) NOT NULL,"
    " step_index INT, step_key TEXT);"
    "CREATE INDEX IF NOT EXISTS idx_eventpath_event ON EventPath(event_id);"
    "CREATE TABLE IF NOT EXISTS Association ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, context_id INT NOT NULL,"
    " execution_id INT NOT NULL, UNIQUE(context_id, execution_id));"
    "CREATE TABLE IF NOT EXISTS Attribution ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, context_id INT NOT NULL,"
    " artifact_id INT NOT NULL, UNIQUE(context_id, artifact_id));"
    "CREATE TABLE IF NOT EXISTS MLMDEnv ("
    " schema_version INTEGER PRIMARY KEY);";

/* The same tables in PostgreSQL's types: BIGSERIAL ids (like SQLite's
 * AUTOINCREMENT, never reused), BIGINT for the INT columns SQLite stores
 * as 64-bit integers, DOUBLE PRECISION, BYTEA. Unquoted names, so they
 * fold to lower case in the catalog and every statement names them as
 * SQLite does. */
static const char *const pg_schema_sql =
    "CREATE TABLE IF NOT EXISTS Type ("
    " id BIGSERIAL PRIMARY KEY, name VARCHAR(255) NOT NULL,"
    " version VARCHAR(255), type_kind SMALLINT NOT NULL, description TEXT,"
    " input_type TEXT, output_type TEXT, external_id VARCHAR(255) UNIQUE);"
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_type_name ON Type(type_kind, name);"
    "CREATE TABLE IF NOT EXISTS ParentType ("
    " type_id BIGINT NOT NULL, parent_type_id BIGINT NOT NULL,"
    " PRIMARY KEY (type_id, parent_type_id));"
    "CREATE TABLE IF NOT EXISTS TypeProperty ("
    " type_id BIGINT NOT NULL, name VARCHAR(255) NOT NULL, data_type INT NULL,"
    " PRIMARY KEY (type_id, name));"
    "CREATE TABLE IF NOT EXISTS Artifact ("
    " id BIGSERIAL PRIMARY KEY, type_id BIGINT NOT NULL, uri TEXT,"
    " state INT, name VARCHAR(255), external_id VARCHAR(255) UNIQUE,"
    " create_time_since_epoch BIGINT NOT NULL DEFAULT 0,"
    " last_update_time_since_epoch BIGINT NOT NULL DEFAULT 0,"
    " UNIQUE(type_id, name));"
    "CREATE INDEX IF NOT EXISTS idx_artifact_uri ON Artifact(uri);"
    "CREATE INDEX IF NOT EXISTS idx_artifact_type ON Artifact(type_id);"
    "CREATE TABLE IF NOT EXISTS ArtifactProperty ("
    " artifact_id BIGINT NOT NULL, name VARCHAR(255) NOT NULL,"
    " is_custom_property SMALLINT NOT NULL, int_value BIGINT,"
    " double_value DOUBLE PRECISION, string_value TEXT, byte_value BYTEA,"
    " proto_value BYTEA, bool_value BOOLEAN,"
    " PRIMARY KEY (artifact_id, name, is_custom_property));"
    "CREATE TABLE IF NOT EXISTS Execution ("
    " id BIGSERIAL PRIMARY KEY, type_id BIGINT NOT NULL,"
    " last_known_state INT, name VARCHAR(255),"
    " external_id VARCHAR(255) UNIQUE,"
    " create_time_since_epoch BIGINT NOT NULL DEFAULT 0,"
    " last_update_time_since_epoch BIGINT NOT NULL DEFAULT 0,"
    " UNIQUE(type_id, name));"
    "CREATE TABLE IF NOT EXISTS ExecutionProperty ("
    " execution_id BIGINT NOT NULL, name VARCHAR(255) NOT NULL,"
    " is_custom_property SMALLINT NOT NULL, int_value BIGINT,"
    " double_value DOUBLE PRECISION, string_value TEXT, byte_value BYTEA,"
    " proto_value BYTEA, bool_value BOOLEAN,"
    " PRIMARY KEY (execution_id, name, is_custom_property));"
    "CREATE TABLE IF NOT EXISTS Context ("
    " id BIGSERIAL PRIMARY KEY, type_id BIGINT NOT NULL,"
    " name VARCHAR(255) NOT NULL, external_id VARCHAR(255) UNIQUE,"
    " create_time_since_epoch BIGINT NOT NULL DEFAULT 0,"
    " last_update_time_since_epoch BIGINT NOT NULL DEFAULT 0,"
    " UNIQUE(type_id, name));"
    "CREATE TABLE IF NOT EXISTS ContextProperty ("
    " context_id BIGINT NOT NULL, name VARCHAR(255) NOT NULL,"
    " is_custom_property SMALLINT NOT NULL, int_value BIGINT,"
    " double_value DOUBLE PRECISION, string_value TEXT, byte_value BYTEA,"
    " proto_value BYTEA, bool_value BOOLEAN,"
    " PRIMARY KEY (context_id, name, is_custom_property));"
    "CREATE TABLE IF NOT EXISTS ParentContext ("
    " context_id BIGINT NOT NULL, parent_context_id BIGINT NOT NULL,"
    " PRIMARY KEY (context_id, parent_context_id));"
    "CREATE TABLE IF NOT EXISTS Event ("
    " id BIGSERIAL PRIMARY KEY, artifact_id BIGINT NOT NULL,"
    " execution_id BIGINT NOT NULL, type INT NOT NULL,"
    " milliseconds_since_epoch BIGINT,"
    " UNIQUE(artifact_id, execution_id, type));"
    "CREATE INDEX IF NOT EXISTS idx_event_execution ON Event(execution_id);"
    "CREATE TABLE IF NOT EXISTS EventPath ("
    " event_id BIGINT NOT NULL, is_index_step SMALLINT NOT NULL,"
    " step_index BIGINT, step_key TEXT);"
    "CREATE INDEX IF NOT EXISTS idx_eventpath_event ON EventPath(event_id);"
    "CREATE TABLE IF NOT EXISTS Association ("
    " id BIGSERIAL PRIMARY KEY, context_id BIGINT NOT NULL,"
    " execution_id BIGINT NOT NULL, UNIQUE(context_id, execution_id));"
    "CREATE TABLE IF NOT EXISTS Attribution ("
    " id BIGSERIAL PRIMARY KEY, context_id BIGINT NOT NULL,"
    " artifact_id BIGINT NOT NULL, UNIQUE(context_id, artifact_id));"
    "CREATE TABLE IF NOT EXISTS MLMDEnv ("
    " schema_version INTEGER PRIMARY KEY);";

int64_t cfx_metadata_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is_pg(const cfx_metadata_t *md) {
    return md->be->dialect == MD_POSTGRES;
}

static int prep(cfx_metadata_t *md, const char *sql, md_stmt_t **st,
                cfx_error_t *err) {
    return md->be->prepare(md->c, sql, st, err);
}

/* A step: MD_ROW, MD_DONE or a negative code with err set ("<store>:
 * <what>: <database's message>"). */
static int step(cfx_metadata_t *md, md_stmt_t *st, const char *what,
                cfx_error_t *err) {
    return md->be->step(st, what, err);
}

/* "INSERT OR IGNORE INTO <rest>" in the store's dialect: PostgreSQL skips
 * a row that breaks a unique constraint with ON CONFLICT DO NOTHING. */
static const char *insert_or_ignore(cfx_metadata_t *md, char *buf, size_t cap,
                                    const char *rest) {
    snprintf(buf, cap,
             is_pg(md) ? "INSERT INTO %s ON CONFLICT DO NOTHING"
                       : "INSERT OR IGNORE INTO %s",
             rest);
    return buf;
}

static int check_len(const char *s, size_t max, const char *what,
                     cfx_error_t *err) {
    if (s && strlen(s) >= max)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "metadata: %s longer than %zu bytes", what,
                             max - 1);
    return 0;
}

/* Runs a statement that returns no rows; finalizes it. */
/* Runs a statement that returns no rows; finalizes it. */
static int step_done(cfx_metadata_t *md, md_stmt_t *st, cfx_error_t *err,
                     const char *what) {
    int rc = md->be->step(st, what, err);
    md->be->finalize(st);
    return rc < 0 ? rc : 0;
}

int cfx_metadata_begin(cfx_metadata_t *md, cfx_error_t *err) {
    if (md->tx_depth++ > 0)
        return 0;
    md->tx_failed = 0;
    int ret = md->be->begin(md->c, err);
    if (ret)
        md->tx_depth = 0;
    return ret;
}

int cfx_metadata_commit(cfx_metadata_t *md, cfx_error_t *err) {
    if (md->tx_depth <= 0)
        return cfx_error_set(err, CFX_ESTATE, "%s: commit without begin",
                             md->path);
    if (--md->tx_depth > 0)
        return 0;
    if (md->tx_failed) {
        md->be->rollback(md->c);
        return cfx_error_set(err, CFX_ESTATE,
                             "%s: transaction rolled back by an inner failure",
                             md->path);
    }
    return md->be->commit(md->c, err);
}

void cfx_metadata_rollback(cfx_metadata_t *md) {
    if (!md || md->tx_depth <= 0)
        return;
    if (--md->tx_depth > 0) {
        md->tx_failed = 1;
        return;
    }
    md->be->rollback(md->c);
}

/* The schema version of a store whose tables exist, read without taking
 * the write lock: 1 with *version set, 0 when the tables are not (all)
 * there yet (a new store, or one another process is creating). */
static int read_schema_version(cfx_metadata_t *md, int *version) {
    md_stmt_t *st = NULL;
    cfx_error_t ignore;
    int found = 0;
    cfx_error_init(&ignore);
    if (prep(md, "SELECT schema_version FROM MLMDEnv", &st, &ignore))
        return 0; /* no such table: created below */
    if (step(md, st, "MLMDEnv", &ignore) == MD_ROW) {
        *version = (int)md->be->column_int64(st, 0);
        found = 1;
    }
    md->be->finalize(st);
    return found;
}

static int check_version(cfx_metadata_t *md, int v, cfx_error_t *err) {
    if (v != SCHEMA_VERSION)
        return cfx_error_set(err, CFX_EUNSUPPORTED,
                             "%s: schema_version %d, this cfx reads %d",
                             md->path, v, SCHEMA_VERSION);
    return 0;
}

static int init_schema(cfx_metadata_t *md, cfx_error_t *err) {
    int v;
    if (read_schema_version(md, &v))
        return check_version(md, v, err); /* the common case: no write */
    /* Creating: under the write lock, so of several processes creating one
     * store the first makes the tables and the others find them. */
    int ret = cfx_metadata_begin(md, err);
    if (ret)
        return ret;
    if ((ret =
             md->be->exec(md->c, is_pg(md) ? pg_schema_sql : sqlite_schema_sql,
                          "creating tables", err)))
        goto fail;
    md_stmt_t *st = NULL;
    if ((ret = prep(md, "SELECT schema_version FROM MLMDEnv", &st, err)))
        goto fail;
    int rc = step(md, st, "MLMDEnv", err);
    if (rc == MD_ROW) {
        v = (int)md->be->column_int64(st, 0);
        md->be->finalize(st);
        if ((ret = check_version(md, v, err)))
            goto fail;
    } else {
        md->be->finalize(st);
        if (rc < 0) {
            ret = rc;
            goto fail;
        }
        if ((ret = prep(md, "INSERT INTO MLMDEnv(schema_version) VALUES (?)",
                        &st, err)))
            goto fail;
        md->be->bind_int64(st, 1, SCHEMA_VERSION);
        if ((ret = step_done(md, st, err, "MLMDEnv")))
            goto fail;
    }
    return cfx_metadata_commit(md, err);
fail:
    cfx_metadata_rollback(md);
    return ret;
}

int cfx_md_is_postgres_url(const char *location) {
    return !strncmp(location, "postgresql://", 13) ||
           !strncmp(location, "postgres://", 11);
}

/* The location as messages show it: a URL without its password. */
static char *location_label(const char *location) {
    const char *at, *colon, *slash = strstr(location, "://");
    if (!cfx_md_is_postgres_url(location) || !slash)
        return strdup(location);
    slash += 3;
    size_t auth_end = strcspn(slash, "/?");
    at = memchr(slash, '@', auth_end);
    colon = at ? memchr(slash, ':', (size_t)(at - slash)) : NULL;
    if (!colon)
        return strdup(location);
    size_t n = strlen(location) + 4;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%.*s:***%s", (int)(colon - location), location, at);
    return out;
}

int cfx_metadata_open(cfx_metadata_t **out, const char *path,
                      cfx_error_t *err) {
    *out = NULL;
    int ret = 0;
    cfx_metadata_t *md = calloc(1, sizeof *md);
    if (!md || !(md->path = location_label(path))) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    md->be = cfx_md_is_postgres_url(path) ? &cfx_md_pg_backend
                                          : &cfx_md_sqlite_backend;
    if ((ret = md->be->open(&md->c, path, md->path, err)) ||
        (ret = init_schema(md, err)))
        goto out;
    *out = md;
    md = NULL;
out:
    cfx_metadata_close(md);
    return ret;
}

/* The process's store location: set by a flag (cfx_metadata_set_location),
 * else by a pipeline config (cfx_metadata_set_default_location). */
static char *g_location, *g_default_location;

static int set_string(char **dst, const char *location, cfx_error_t *err) {
    char *copy = NULL;
    if (location && *location && !(copy = strdup(location)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    free(*dst);
    *dst = copy;
    return 0;
}

int cfx_metadata_set_location(const char *location, cfx_error_t *err) {
    return set_string(&g_location, location, err);
}

int cfx_metadata_set_default_location(const char *location, cfx_error_t *err) {
    return set_string(&g_default_location, location, err);
}

const char *cfx_metadata_location(void) {
    if (g_location)
        return g_location;
    if (g_default_location)
        return g_default_location;
    const char *env = getenv(CFX_METADATA_ENV);
    return env && *env ? env : NULL;
}

int cfx_metadata_open_root(cfx_metadata_t **out, const char *root,
                           cfx_error_t *err) {
    *out = NULL;
    const char *location = cfx_metadata_location();
    if (location)
        return cfx_metadata_open(out, location, err);
    size_t n = strlen(root) + sizeof(CFX_METADATA_FILE) + 2;
    char *p = malloc(n);
    if (!p)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    /* mkdir -p root */
    snprintf(p, n, "%s", root);
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c)
            continue;
        char keep = *c;
        *c = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int ret = cfx_error_set(err, CFX_EIO,
                                    "%s: cannot create pipeline root: %s", p,
                                    strerror(errno));
            free(p);
            return ret;
        }
        *c = keep;
        if (!keep)
            break;
    }
    snprintf(p, n, "%s/%s", root, CFX_METADATA_FILE);
    int ret = cfx_metadata_open(out, p, err);
    free(p);
    return ret;
}

void cfx_metadata_close(cfx_metadata_t *md) {
    if (!md)
        return;
    if (md->c)
        md->be->close(md->c);
    free(md->path);
    free(md);
}

/* --- types --------------------------------------------------------------- */

int cfx_metadata_put_type(cfx_metadata_t *md, int kind, const char *name,
                          int64_t *id, cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret;
    if ((ret = check_len(name, CFX_MD_NAME_MAX, "type name", err)))
        return ret;
    if ((ret = prep(md, "SELECT id FROM Type WHERE type_kind=? AND name=?", &st,
                    err)))
        return ret;
    md->be->bind_int64(st, 1, kind);
    md->be->bind_text(st, 2, name);
    int rc = step(md, st, "Type", err);
    if (rc == MD_ROW) {
        *id = md->be->column_int64(st, 0);
        md->be->finalize(st);
        return 0;
    }
    md->be->finalize(st);
    if (rc != MD_DONE)
        return rc;
    /* Another process may register it between our SELECT and INSERT. */
    char sql[256];
    if ((ret = prep(md,
                    insert_or_ignore(md, sql, sizeof sql,
                                     "Type(name, type_kind) VALUES (?,?)"),
                    &st, err)))
        return ret;
    md->be->bind_text(st, 1, name);
    md->be->bind_int64(st, 2, kind);
    if ((ret = step_done(md, st, err, "Type")))
        return ret;
    if ((ret = prep(md, "SELECT id FROM Type WHERE type_kind=? AND name=?", &st,
                    err)))
        return ret;
    md->be->bind_int64(st, 1, kind);
    md->be->bind_text(st, 2, name);
    rc = step(md, st, "Type", err);
    if (rc == MD_ROW)
        *id = md->be->column_int64(st, 0);
    else
        ret = rc;
    md->be->finalize(st);
    return ret;
}

/* --- artifacts ------------------------------------------------------------ */

static void copy_text(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src ? src : "");
}

#define ARTIFACT_COLS                                                          \
    "SELECT a.id, a.type_id, t.name, a.uri, a.name, a.state,"                  \
    " a.create_time_since_epoch, a.last_update_time_since_epoch"               \
    " FROM Artifact a JOIN Type t ON t.id = a.type_id "

static void read_artifact(cfx_metadata_t *md, md_stmt_t *st,
                          cfx_md_artifact_t *a) {
    a->id = md->be->column_int64(st, 0);
    a->type_id = md->be->column_int64(st, 1);
    copy_text(a->type, sizeof a->type, md->be->column_text(st, 2));
    copy_text(a->uri, sizeof a->uri, md->be->column_text(st, 3));
    copy_text(a->name, sizeof a->name, md->be->column_text(st, 4));
    a->state = (int)md->be->column_int64(st, 5);
    a->create_time_ms = md->be->column_int64(st, 6);
    a->update_time_ms = md->be->column_int64(st, 7);
}

/* Copies uri without trailing slashes (but keeps "/"). */
static int norm_uri(const char *uri, char *out, cfx_error_t *err) {
    size_t n = strlen(uri);
    if (n >= CFX_MD_URI_MAX)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "metadata: uri longer than %d bytes",
                             CFX_MD_URI_MAX - 1);
    while (n > 1 && uri[n - 1] == '/')
        n--;
    memcpy(out, uri, n);
    out[n] = 0;
    return 0;
}

int cfx_metadata_put_artifact(cfx_metadata_t *md, const char *type,
                              const char *uri, int state, int64_t *id,
                              cfx_error_t *err) {
    int64_t type_id;
    md_stmt_t *st = NULL;
    char u[CFX_MD_URI_MAX];
    int ret;
    if ((ret = norm_uri(uri, u, err)))
        return ret;
    if ((ret = cfx_metadata_put_type(md, CFX_MD_ARTIFACT_TYPE, type, &type_id,
                                     err)))
        return ret;
    if ((ret = prep(md,
                    "INSERT INTO Artifact(type_id, uri, state,"
                    " create_time_since_epoch, last_update_time_since_epoch)"
                    " VALUES (?,?,?,?,?)",
                    &st, err)))
        return ret;
    int64_t now = cfx_metadata_now_ms();
    md->be->bind_int64(st, 1, type_id);
    md->be->bind_text(st, 2, u);
    md->be->bind_int64(st, 3, state);
    md->be->bind_int64(st, 4, now);
    md->be->bind_int64(st, 5, now);
    if ((ret = step_done(md, st, err, "Artifact")))
        return ret;
    return md->be->last_insert_id(md->c, id, err);
}

static int set_state(cfx_metadata_t *md, const char *sql, int64_t id, int state,
                     const char *what, cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret = prep(md, sql, &st, err);
    if (ret)
        return ret;
    md->be->bind_int64(st, 1, state);
    md->be->bind_int64(st, 2, cfx_metadata_now_ms());
    md->be->bind_int64(st, 3, id);
    if ((ret = step_done(md, st, err, what)))
        return ret;
    if (md->be->changes(md->c) == 0)
        return cfx_error_set(err, CFX_ENOTFOUND, "%s: no %s with id %lld",
                             md->path, what, (long long)id);
    return 0;
}

int cfx_metadata_set_artifact_state(cfx_metadata_t *md, int64_t id, int state,
                                    cfx_error_t *err) {
    return set_state(
        md,
        "UPDATE Artifact SET state=?, last_update_time_since_epoch=?"
        " WHERE id=?",
        id, state, "artifact", err);
}

static int one_artifact(cfx_metadata_t *md, md_stmt_t *st,
                        cfx_md_artifact_t *out, cfx_error_t *err,
                        const char *what) {
    int rc = step(md, st, "Artifact", err);
    int ret = 0;
    if (rc == MD_ROW)
        read_artifact(md, st, out);
    else if (rc == MD_DONE)
        ret = cfx_error_set(err, CFX_ENOTFOUND, "%s: no artifact %s", md->path,
                            what);
    else
        ret = rc;
    md->be->finalize(st);
    return ret;
}

int cfx_metadata_get_artifact(cfx_metadata_t *md, int64_t id,
                              cfx_md_artifact_t *out, cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret = prep(md, ARTIFACT_COLS "WHERE a.id=?", &st, err);
    if (ret)
        return ret;
    md->be->bind_int64(st, 1, id);
    char what[64];
    snprintf(what, sizeof what, "with id %lld", (long long)id);
    return one_artifact(md, st, out, err, what);
}

int cfx_metadata_find_artifact_by_uri(cfx_metadata_t *md, const char *uri,
                                      cfx_md_artifact_t *out,
                                      cfx_error_t *err) {
    md_stmt_t *st = NULL;
    char u[CFX_MD_URI_MAX];
    int ret = norm_uri(uri, u, err);
    if (ret)
        return ret;
    if ((ret =
             prep(md, ARTIFACT_COLS "WHERE a.uri=? ORDER BY a.id DESC LIMIT 1",
                  &st, err)))
        return ret;
    md->be->bind_text(st, 1, u);
    char what[CFX_MD_URI_MAX + 16];
    snprintf(what, sizeof what, "at '%s'", u);
    return one_artifact(md, st, out, err, what);
}

int cfx_metadata_find_or_put_artifact(cfx_metadata_t *md, const char *type,
                                      const char *uri, int state,
                                      cfx_md_artifact_t *out, int *created,
                                      cfx_error_t *err) {
    int64_t id;
    if (created)
        *created = 0;
    /* under the write lock: a second process registering the same uri
     * waits, then finds the first one's artifact */
    int ret = cfx_metadata_begin(md, err);
    if (ret)
        return ret;
    ret = cfx_metadata_find_artifact_by_uri(md, uri, out, err);
    if (ret == CFX_ENOTFOUND) {
        cfx_error_init(err);
        if (!(ret = cfx_metadata_put_artifact(md, type, uri, state, &id, err)))
            ret = cfx_metadata_get_artifact(md, id, out, err);
        if (!ret && created)
            *created = 1;
    }
    if (ret) {
        cfx_metadata_rollback(md);
        return ret;
    }
    return cfx_metadata_commit(md, err);
}

int cfx_metadata_find_artifact_by_property(cfx_metadata_t *md, const char *name,
                                           const char *value,
                                           cfx_md_artifact_t *out,
                                           cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret =
        prep(md,
             ARTIFACT_COLS "JOIN ArtifactProperty p ON p.artifact_id = a.id"
                           " WHERE p.name=? AND p.string_value=?"
                           " ORDER BY a.id DESC LIMIT 1",
             &st, err);
    if (ret)
        return ret;
    md->be->bind_text(st, 1, name);
    md->be->bind_text(st, 2, value);
    char what[CFX_MD_URI_MAX + CFX_MD_NAME_MAX];
    snprintf(what, sizeof what, "with %.200s = '%.2000s'", name, value);
    return one_artifact(md, st, out, err, what);
}

/* --- properties (shared by artifacts, executions, contexts) --------------- */

typedef struct prop_table {
    const char *table;     /* ArtifactProperty */
    const char *owner_col; /* artifact_id */
    const char *owner;     /* Artifact */
} prop_table_t;

static const prop_table_t artifact_props = {"ArtifactProperty", "artifact_id",
                                            "Artifact"};
static const prop_table_t execution_props = {"ExecutionProperty",
                                             "execution_id", "Execution"};

static int set_property(cfx_metadata_t *md, const prop_table_t *t, int64_t id,
                        const char *name, int is_custom,
                        const cfx_md_value_t *v, cfx_error_t *err) {
    char sql[512];
    md_stmt_t *st = NULL;
    int ret;
    if ((ret = check_len(name, CFX_MD_NAME_MAX, "property name", err)))
        return ret;
    if (v->kind != CFX_MD_INT && v->kind != CFX_MD_DOUBLE &&
        v->kind != CFX_MD_STRING)
        return cfx_error_set(err, CFX_EINVAL,
                             "metadata: property '%s': bad kind %d", name,
                             (int)v->kind);
    if ((ret = cfx_metadata_begin(md, err)))
        return ret;
    if (!is_custom) {
        /* A (non-custom) property is declared by its type (MLMD). */
        char rest[128];
        snprintf(rest, sizeof rest,
                 "TypeProperty(type_id, name, data_type)"
                 " SELECT type_id, ?, ? FROM %s WHERE id=?",
                 t->owner);
        insert_or_ignore(md, sql, sizeof sql, rest);
        if ((ret = prep(md, sql, &st, err)))
            goto fail;
        md->be->bind_text(st, 1, name);
        md->be->bind_int64(st, 2, (int)v->kind);
        md->be->bind_int64(st, 3, id);
        if ((ret = step_done(md, st, err, t->table)))
            goto fail;
    }
    if (is_pg(md))
        snprintf(sql, sizeof sql,
                 "INSERT INTO %s(%s, name, is_custom_property, int_value,"
                 " double_value, string_value) VALUES (?,?,?,?,?,?)"
                 " ON CONFLICT (%s, name, is_custom_property) DO UPDATE SET"
                 " int_value=EXCLUDED.int_value,"
                 " double_value=EXCLUDED.double_value,"
                 " string_value=EXCLUDED.string_value",
                 t->table, t->owner_col, t->owner_col);
    else
        snprintf(
            sql, sizeof sql,
            "INSERT OR REPLACE INTO %s(%s, name, is_custom_property, int_value,"
            " double_value, string_value) VALUES (?,?,?,?,?,?)",
            t->table, t->owner_col);
    if ((ret = prep(md, sql, &st, err)))
        goto fail;
    md->be->bind_int64(st, 1, id);
    md->be->bind_text(st, 2, name);
    md->be->bind_int64(st, 3, is_custom ? 1 : 0);
    if (v->kind == CFX_MD_INT)
        md->be->bind_int64(st, 4, v->i);
    else if (v->kind == CFX_MD_DOUBLE)
        md->be->bind_double(st, 5, v->d);
    else
        md->be->bind_text(st, 6, v->s ? v->s : "");
    if ((ret = step_done(md, st, err, t->table)))
        goto fail;
    return cfx_metadata_commit(md, err);
fail:
    cfx_metadata_rollback(md);
    return ret;
}

static int get_property(cfx_metadata_t *md, const prop_table_t *t, int64_t id,
                        const char *name, cfx_md_value_t *v, char *buf,
                        size_t cap, cfx_error_t *err) {
    char sql[256];
    md_stmt_t *st = NULL;
    memset(v, 0, sizeof *v);
    snprintf(sql, sizeof sql,
             "SELECT int_value, double_value, string_value FROM %s"
             " WHERE %s=? AND name=? ORDER BY is_custom_property LIMIT 1",
             t->table, t->owner_col);
    int ret = prep(md, sql, &st, err);
    if (ret)
        return ret;
    md->be->bind_int64(st, 1, id);
    md->be->bind_text(st, 2, name);
    int rc = step(md, st, t->table, err);
    if (rc == MD_DONE) {
        ret = cfx_error_set(err, CFX_ENOTFOUND,
                            "%s: %s %lld has no property '%s'", md->path,
                            t->owner, (long long)id, name);
    } else if (rc != MD_ROW) {
        ret = rc;
    } else if (!md->be->column_null(st, 0)) {
        v->kind = CFX_MD_INT;
        v->i = md->be->column_int64(st, 0);
    } else if (!md->be->column_null(st, 1)) {
        v->kind = CFX_MD_DOUBLE;
        v->d = md->be->column_double(st, 1);
    } else {
        const char *s = md->be->column_text(st, 2);
        size_t n = (size_t)md->be->column_bytes(st, 2);
        v->kind = CFX_MD_STRING;
        if (!buf || n >= cap) {
            ret = cfx_error_set(
                err, CFX_ETOOBIG,
                "%s: property '%s' of %s %lld: %zu bytes, room for %zu",
                md->path, name, t->owner, (long long)id, n, cap ? cap - 1 : 0);
        } else {
            if (n)
                memcpy(buf, s, n);
            buf[n] = 0;
            v->s = buf;
        }
    }
    md->be->finalize(st);
    return ret;
}

static int list_properties(cfx_metadata_t *md, const prop_table_t *t,
                           int64_t id, cfx_md_property_cb cb, void *ud,
                           cfx_error_t *err) {
    char sql[256];
    md_stmt_t *st = NULL;
    snprintf(
        sql, sizeof sql,
        "SELECT name, is_custom_property, int_value, double_value,"
        " string_value FROM %s WHERE %s=? ORDER BY is_custom_property, name",
        t->table, t->owner_col);
    int ret = prep(md, sql, &st, err), rc;
    if (ret)
        return ret;
    md->be->bind_int64(st, 1, id);
    while ((rc = step(md, st, t->table, err)) == MD_ROW) {
        cfx_md_value_t v = {0};
        if (!md->be->column_null(st, 2)) {
            v.kind = CFX_MD_INT;
            v.i = md->be->column_int64(st, 2);
        } else if (!md->be->column_null(st, 3)) {
            v.kind = CFX_MD_DOUBLE;
            v.d = md->be->column_double(st, 3);
        } else {
            v.kind = CFX_MD_STRING;
            const char *s = md->be->column_text(st, 4);
            v.s = s ? (const char *)s : "";
        }
        const char *name = md->be->column_text(st, 0);
        if ((ret = cb(ud, name ? (const char *)name : "",
                      (int)md->be->column_int64(st, 1), &v)))
            break;
    }
    if (!ret && rc != MD_DONE)
        ret = rc;
    md->be->finalize(st);
    return ret;
}

int cfx_metadata_list_artifact_properties(cfx_metadata_t *md, int64_t id,
                                          cfx_md_property_cb cb, void *ud,
                                          cfx_error_t *err) {
    return list_properties(md, &artifact_props, id, cb, ud, err);
}

int cfx_metadata_list_execution_properties(cfx_metadata_t *md, int64_t id,
                                           cfx_md_property_cb cb, void *ud,
                                           cfx_error_t *err) {
    return list_properties(md, &execution_props, id, cb, ud, err);
}

int cfx_metadata_set_artifact_property(cfx_metadata_t *md, int64_t id,
                                       const char *name, int is_custom,
                                       const cfx_md_value_t *v,
                                       cfx_error_t *err) {
    return set_property(md, &artifact_props, id, name, is_custom, v, err);
}

int cfx_metadata_get_artifact_property(cfx_metadata_t *md, int64_t id,
                                       const char *name, cfx_md_value_t *v,
                                       char *buf, size_t cap,
                                       cfx_error_t *err) {
    return get_property(md, &artifact_props, id, name, v, buf, cap, err);
}

int cfx_metadata_set_execution_property(cfx_metadata_t *md, int64_t id,
                                        const char *name, int is_custom,
                                        const cfx_md_value_t *v,
                                        cfx_error_t *err) {
    return set_property(md, &execution_props, id, name, is_custom, v, err);
}

int cfx_metadata_get_execution_property(cfx_metadata_t *md, int64_t id,
                                        const char *name, cfx_md_value_t *v,
                                        char *buf, size_t cap,
                                        cfx_error_t *err) {
    return get_property(md, &execution_props, id, name, v, buf, cap, err);
}

/* --- executions ----------------------------------------------------------- */

#define EXECUTION_COLS                                                         \
    "SELECT e.id, e.type_id, t.name, e.name, e.last_known_state,"              \
    " e.create_time_since_epoch, e.last_update_time_since_epoch"               \
    " FROM Execution e JOIN Type t ON t.id = e.type_id "

static void read_execution(cfx_metadata_t *md, md_stmt_t *st,
                           cfx_md_execution_t *e) {
    e->id = md->be->column_int64(st, 0);
    e->type_id = md->be->column_int64(st, 1);
    copy_text(e->type, sizeof e->type, md->be->column_text(st, 2));
    copy_text(e->name, sizeof e->name, md->be->column_text(st, 3));
    e->state = (int)md->be->column_int64(st, 4);
    e->create_time_ms = md->be->column_int64(st, 5);
    e->update_time_ms = md->be->column_int64(st, 6);
}

int cfx_metadata_put_execution(cfx_metadata_t *md, const char *type, int state,
                               int64_t *id, cfx_error_t *err) {
    int64_t type_id = 0;
    md_stmt_t *st = NULL;
    int ret =
        cfx_metadata_put_type(md, CFX_MD_EXECUTION_TYPE, type, &type_id, err);
    if (ret)
        return ret;
    if ((ret = prep(md,
                    "INSERT INTO Execution(type_id, last_known_state,"
                    " create_time_since_epoch, last_update_time_since_epoch)"
                    " VALUES (?,?,?,?)",
                    &st, err)))
        return ret;
    int64_t now = cfx_metadata_now_ms();
    md->be->bind_int64(st, 1, type_id);
    md->be->bind_int64(st, 2, state);
    md->be->bind_int64(st, 3, now);
    md->be->bind_int64(st, 4, now);
    if ((ret = step_done(md, st, err, "Execution")))
        return ret;
    return md->be->last_insert_id(md->c, id, err);
}

int cfx_metadata_set_execution_state(cfx_metadata_t *md, int64_t id, int state,
                                     cfx_error_t *err) {
    return set_state(md,
                     "UPDATE Execution SET last_known_state=?,"
                     " last_update_time_since_epoch=? WHERE id=?",
                     id, state, "execution", err);
}

int cfx_metadata_replace_execution_state(cfx_metadata_t *md, int64_t id,
                                         int expected, int state, int *changed,
                                         cfx_error_t *err) {
    md_stmt_t *st = NULL;
    *changed = 0;
    int ret = prep(md,
                   "UPDATE Execution SET last_known_state=?,"
                   " last_update_time_since_epoch=? WHERE id=? AND"
                   " last_known_state=?",
                   &st, err);
    if (ret)
        return ret;
    md->be->bind_int64(st, 1, state);
    md->be->bind_int64(st, 2, cfx_metadata_now_ms());
    md->be->bind_int64(st, 3, id);
    md->be->bind_int64(st, 4, expected);
    if ((ret = step_done(md, st, err, "execution")))
        return ret;
    *changed = md->be->changes(md->c) == 1;
    return 0;
}

int cfx_metadata_get_execution(cfx_metadata_t *md, int64_t id,
                               cfx_md_execution_t *out, cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret = prep(md, EXECUTION_COLS "WHERE e.id=?", &st, err);
    if (ret)
        return ret;
    md->be->bind_int64(st, 1, id);
    int rc = step(md, st, "Execution", err);
    if (rc == MD_ROW)
        read_execution(md, st, out);
    else if (rc == MD_DONE)
        ret = cfx_error_set(err, CFX_ENOTFOUND, "%s: no execution with id %lld",
                            md->path, (long long)id);
    else
        ret = rc;
    md->be->finalize(st);
    return ret;
}

/* --- contexts ------------------------------------------------------------- */

int cfx_metadata_find_context(cfx_metadata_t *md, const char *type,
                              const char *name, int64_t *id, cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret = prep(md,
                   "SELECT c.id FROM Context c JOIN Type t ON t.id = c.type_id"
                   " WHERE t.type_kind=2 AND t.name=? AND c.name=?",
                   &st, err);
    if (ret)
        return ret;
    md->be->bind_text(st, 1, type);
    md->be->bind_text(st, 2, name);
    int rc = step(md, st, "Context", err);
    if (rc == MD_ROW)
        *id = md->be->column_int64(st, 0);
    else if (rc == MD_DONE)
        ret = cfx_error_set(err, CFX_ENOTFOUND, "%s: no %s context '%s'",
                            md->path, type, name);
    else
        ret = rc;
    md->be->finalize(st);
    return ret;
}

int cfx_metadata_put_context(cfx_metadata_t *md, const char *type,
                             const char *name, int64_t *id, cfx_error_t *err) {
    int64_t type_id;
    md_stmt_t *st = NULL;
    int ret;
    if ((ret = check_len(name, CFX_MD_NAME_MAX, "context name", err)))
        return ret;
    if ((ret = cfx_metadata_put_type(md, CFX_MD_CONTEXT_TYPE, type, &type_id,
                                     err)))
        return ret;
    char sql[256];
    if ((ret = prep(md,
                    insert_or_ignore(
                        md, sql, sizeof sql,
                        "Context(type_id, name, create_time_since_epoch,"
                        " last_update_time_since_epoch) VALUES (?,?,?,?)"),
                    &st, err)))
        return ret;
    int64_t now = cfx_metadata_now_ms();
    md->be->bind_int64(st, 1, type_id);
    md->be->bind_text(st, 2, name);
    md->be->bind_int64(st, 3, now);
    md->be->bind_int64(st, 4, now);
    if ((ret = step_done(md, st, err, "Context")))
        return ret;
    return cfx_metadata_find_context(md, type, name, id, err);
}

static int link_rows(cfx_metadata_t *md, const char *rest, int64_t a, int64_t b,
                     const char *what, cfx_error_t *err) {
    md_stmt_t *st = NULL;
    char sql[256];
    int ret = prep(md, insert_or_ignore(md, sql, sizeof sql, rest), &st, err);
    if (ret)
        return ret;
    md->be->bind_int64(st, 1, a);
    md->be->bind_int64(st, 2, b);
    return step_done(md, st, err, what);
}

int cfx_metadata_put_parent_context(cfx_metadata_t *md, int64_t child_id,
                                    int64_t parent_id, cfx_error_t *err) {
    return link_rows(md,
                     "ParentContext(context_id,"
                     " parent_context_id) VALUES (?,?)",
                     child_id, parent_id, "ParentContext", err);
}

int cfx_metadata_associate(cfx_metadata_t *md, int64_t context_id,
                           int64_t execution_id, cfx_error_t *err) {
    return link_rows(md,
                     "Association(context_id, execution_id)"
                     " VALUES (?,?)",
                     context_id, execution_id, "Association", err);
}

int cfx_metadata_attribute(cfx_metadata_t *md, int64_t context_id,
                           int64_t artifact_id, cfx_error_t *err) {
    return link_rows(md,
                     "Attribution(context_id, artifact_id)"
                     " VALUES (?,?)",
                     context_id, artifact_id, "Attribution", err);
}

/* --- events --------------------------------------------------------------- */

int cfx_metadata_put_event(cfx_metadata_t *md, int64_t artifact_id,
                           int64_t execution_id, int type, const char *key,
                           int64_t index, cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret;
    if ((ret = check_len(key, CFX_MD_NAME_MAX, "event key", err)))
        return ret;
    if ((ret = cfx_metadata_begin(md, err)))
        return ret;
    if (type == CFX_MD_EVENT_OUTPUT) {
        /* the pending output is published: its event becomes OUTPUT */
        if ((ret = prep(md,
                        "UPDATE Event SET type=?, milliseconds_since_epoch=?"
                        " WHERE artifact_id=? AND execution_id=? AND type=?",
                        &st, err)))
            goto fail;
        md->be->bind_int64(st, 1, CFX_MD_EVENT_OUTPUT);
        md->be->bind_int64(st, 2, cfx_metadata_now_ms());
        md->be->bind_int64(st, 3, artifact_id);
        md->be->bind_int64(st, 4, execution_id);
        md->be->bind_int64(st, 5, CFX_MD_EVENT_PENDING_OUTPUT);
        if ((ret = step_done(md, st, err, "Event")))
            goto fail;
        if (md->be->changes(md->c) == 1)
            return cfx_metadata_commit(md, err);
    }
    char sql[256];
    if ((ret = prep(md,
                    insert_or_ignore(md, sql, sizeof sql,
                                     "Event(artifact_id, execution_id, type,"
                                     " milliseconds_since_epoch)"
                                     " VALUES (?,?,?,?)"),
                    &st, err)))
        goto fail;
    md->be->bind_int64(st, 1, artifact_id);
    md->be->bind_int64(st, 2, execution_id);
    md->be->bind_int64(st, 3, type);
    md->be->bind_int64(st, 4, cfx_metadata_now_ms());
    if ((ret = step_done(md, st, err, "Event")))
        goto fail;
    if (md->be->changes(md->c) == 1 && key) {
        int64_t ev;
        if ((ret = md->be->last_insert_id(md->c, &ev, err)))
            goto fail;
        if ((ret =
                 prep(md,
                      "INSERT INTO EventPath(event_id, is_index_step,"
                      " step_index, step_key) VALUES (?,0,NULL,?),(?,1,?,NULL)",
                      &st, err)))
            goto fail;
        md->be->bind_int64(st, 1, ev);
        md->be->bind_text(st, 2, key);
        md->be->bind_int64(st, 3, ev);
        md->be->bind_int64(st, 4, index);
        if ((ret = step_done(md, st, err, "EventPath")))
            goto fail;
    }
    return cfx_metadata_commit(md, err);
fail:
    cfx_metadata_rollback(md);
    return ret;
}

/* --- listing -------------------------------------------------------------- */

static int list_artifacts_stmt(cfx_metadata_t *md, md_stmt_t *st,
                               cfx_md_artifact_cb cb, void *ud,
                               cfx_error_t *err) {
    cfx_md_artifact_t *a = malloc(sizeof *a);
    int ret = 0, rc;
    if (!a) {
        md->be->finalize(st);
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    while ((rc = step(md, st, "Artifact", err)) == MD_ROW) {
        read_artifact(md, st, a);
        if ((ret = cb(ud, a)))
            break;
    }
    if (!ret && rc != MD_DONE)
        ret = rc;
    md->be->finalize(st);
    free(a);
    return ret;
}

int cfx_metadata_list_artifacts(cfx_metadata_t *md, const char *type,
                                cfx_md_artifact_cb cb, void *ud,
                                cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret = prep(md,
                   type ? ARTIFACT_COLS "WHERE t.name=? ORDER BY a.id"
                        : ARTIFACT_COLS "ORDER BY a.id",
                   &st, err);
    if (ret)
        return ret;
    if (type)
        md->be->bind_text(st, 1, type);
    return list_artifacts_stmt(md, st, cb, ud, err);
}

static int list_executions_stmt(cfx_metadata_t *md, md_stmt_t *st,
                                cfx_md_execution_cb cb, void *ud,
                                cfx_error_t *err) {
    cfx_md_execution_t e;
    int ret = 0, rc;
    while ((rc = step(md, st, "Execution", err)) == MD_ROW) {
        read_execution(md, st, &e);
        if ((ret = cb(ud, &e)))
            break;
    }
    if (!ret && rc != MD_DONE)
        ret = rc;
    md->be->finalize(st);
    return ret;
}

int cfx_metadata_list_executions(cfx_metadata_t *md, cfx_md_execution_cb cb,
                                 void *ud, cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret = prep(md, EXECUTION_COLS "ORDER BY e.id", &st, err);
    if (ret)
        return ret;
    return list_executions_stmt(md, st, cb, ud, err);
}

int cfx_metadata_list_executions_in_state(cfx_metadata_t *md, int state,
                                          cfx_md_execution_cb cb, void *ud,
                                          cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret =
        prep(md, EXECUTION_COLS "WHERE e.last_known_state=? ORDER BY e.id", &st,
             err);
    if (ret)
        return ret;
    md->be->bind_int64(st, 1, state);
    return list_executions_stmt(md, st, cb, ud, err);
}

int cfx_metadata_list_context_executions(cfx_metadata_t *md, int64_t context_id,
                                         cfx_md_execution_cb cb, void *ud,
                                         cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret = prep(md,
                   EXECUTION_COLS "JOIN Association s ON s.execution_id = e.id"
                                  " WHERE s.context_id=? ORDER BY e.id DESC",
                   &st, err);
    if (ret)
        return ret;
    md->be->bind_int64(st, 1, context_id);
    return list_executions_stmt(md, st, cb, ud, err);
}

int cfx_metadata_list_events(cfx_metadata_t *md, int64_t execution_id,
                             int64_t artifact_id, cfx_md_event_cb cb, void *ud,
                             cfx_error_t *err) {
    md_stmt_t *st = NULL;
    const char *sql =
        "SELECT v.artifact_id, v.execution_id, v.type, "
        "v.milliseconds_since_epoch,"
        " (SELECT step_key FROM EventPath p WHERE p.event_id=v.id AND"
        "  p.is_index_step=0 LIMIT 1),"
        " (SELECT step_index FROM EventPath p WHERE p.event_id=v.id AND"
        "  p.is_index_step=1 LIMIT 1)"
        " FROM Event v WHERE (?1 < 0 OR v.execution_id=?1) AND"
        " (?2 < 0 OR v.artifact_id=?2) ORDER BY v.id";
    int ret = prep(md, sql, &st, err), rc;
    if (ret)
        return ret;
    md->be->bind_int64(st, 1, execution_id);
    md->be->bind_int64(st, 2, artifact_id);
    cfx_md_event_t ev;
    while ((rc = step(md, st, "Event", err)) == MD_ROW) {
        memset(&ev, 0, sizeof ev);
        ev.artifact_id = md->be->column_int64(st, 0);
        ev.execution_id = md->be->column_int64(st, 1);
        ev.type = (int)md->be->column_int64(st, 2);
        ev.time_ms = md->be->column_int64(st, 3);
        copy_text(ev.key, sizeof ev.key, md->be->column_text(st, 4));
        ev.index = md->be->column_int64(st, 5);
        if ((ret = cb(ud, &ev)))
            break;
    }
    if (!ret && rc != MD_DONE)
        ret = rc;
    md->be->finalize(st);
    return ret;
}

/* --- resolvers ------------------------------------------------------------ */

int cfx_metadata_latest_artifact(cfx_metadata_t *md, const char *type,
                                 cfx_md_artifact_t *out, cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret =
        prep(md,
             ARTIFACT_COLS "WHERE t.type_kind=1 AND t.name=? AND a.state=2"
                           " ORDER BY a.id DESC LIMIT 1",
             &st, err);
    if (ret)
        return ret;
    md->be->bind_text(st, 1, type);
    char what[CFX_MD_NAME_MAX + 32];
    snprintf(what, sizeof what, "of type %s is LIVE", type);
    return one_artifact(md, st, out, err, what);
}

/* A LIVE ModelBlessing b blessing model m (custom blessed == 1 and custom
 * current_model_id == m.id). */
#define BLESSING_OF_M                                                          \
    " FROM Artifact b JOIN Type bt ON bt.id = b.type_id"                       \
    " JOIN ArtifactProperty p1 ON p1.artifact_id = b.id AND"                   \
    "  p1.name='blessed' AND p1.is_custom_property=1 AND p1.int_value=1"       \
    " JOIN ArtifactProperty p2 ON p2.artifact_id = b.id AND"                   \
    "  p2.name='current_model_id' AND p2.is_custom_property=1 AND"             \
    "  p2.int_value=m.id"                                                      \
    " WHERE bt.type_kind=1 AND bt.name='ModelBlessing' AND b.state=2"

int cfx_metadata_latest_blessed_model(cfx_metadata_t *md,
                                      cfx_md_artifact_t *model,
                                      cfx_md_artifact_t *blessing,
                                      cfx_error_t *err) {
    return cfx_metadata_latest_blessed_model_excluding(md, 0, model, blessing,
                                                       err);
}

int cfx_metadata_latest_blessed_model_excluding(cfx_metadata_t *md,
                                                int64_t exclude_model_id,
                                                cfx_md_artifact_t *model,
                                                cfx_md_artifact_t *blessing,
                                                cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret = prep(
        md,
        "SELECT mid, bid FROM (SELECT m.id AS mid, (SELECT b.id" BLESSING_OF_M
        " ORDER BY b.id DESC LIMIT 1) AS bid"
        " FROM Artifact m JOIN Type mt ON mt.id = m.type_id"
        " WHERE mt.type_kind=1 AND mt.name='Model' AND m.state=2"
        " AND m.id != ?) AS candidates"
        " WHERE bid IS NOT NULL ORDER BY mid DESC LIMIT 1",
        &st, err);
    if (ret)
        return ret;
    md->be->bind_int64(st, 1, exclude_model_id);
    int rc = step(md, st, "Artifact", err);
    int64_t mid = 0, bid = 0;
    if (rc == MD_ROW) {
        mid = md->be->column_int64(st, 0);
        bid = md->be->column_int64(st, 1);
    } else if (rc == MD_DONE) {
        ret =
            cfx_error_set(err, CFX_ENOTFOUND, "%s: no blessed Model", md->path);
    } else {
        ret = rc;
    }
    md->be->finalize(st);
    if (ret)
        return ret;
    if ((ret = cfx_metadata_get_artifact(md, mid, model, err)))
        return ret;
    if (blessing)
        ret = cfx_metadata_get_artifact(md, bid, blessing, err);
    return ret;
}

/* --- names ---------------------------------------------------------------- */

const char *cfx_md_artifact_state_name(int state) {
    static const char *const names[] = {
        "UNKNOWN", "PENDING",   "LIVE",     "MARKED_FOR_DELETION",
        "DELETED", "ABANDONED", "REFERENCE"};
    return state >= 0 && state < 7 ? names[state] : "?";
}

const char *cfx_md_execution_state_name(int state) {
    static const char *const names[] = {"UNKNOWN",  "NEW",    "RUNNING",
                                        "COMPLETE", "FAILED", "CACHED",
                                        "CANCELED"};
    return state >= 0 && state < 7 ? names[state] : "?";
}

const char *cfx_md_event_type_name(int type) {
    static const char *const names[] = {
        "UNKNOWN", "DECLARED_OUTPUT", "DECLARED_INPUT",  "INPUT",
        "OUTPUT",  "INTERNAL_INPUT",  "INTERNAL_OUTPUT", "PENDING_OUTPUT"};
    return type >= 0 && type < 8 ? names[type] : "?";
}

/*
 * model_manager.h: the servables of cfx-serve (TF Serving's manager).
 *
 * For each configured model, a dedicated loader thread lists the numeric
 * version directories under base_path (hidden and non-numeric names are
 * ignored), applies the version policy, loads and verifies bundles
 * (cfx_bundle_load), replays assets.extra/warmup.jsonl when warmup is on,
 * and only then makes a version AVAILABLE. Switches preserve availability:
 * a new version becomes AVAILABLE before an old one unloads; a failed load
 * leaves what is serving in place and shows END + error in the status.
 * New versions are noticed through inotify on base_path, with polling as
 * the fallback. Nothing is loaded or freed on a request thread.
 *
 * The model store (docs/serving.md, "The model store"): a base path that
 * cannot be listed, or that lists no version directory while a version is
 * served, is a storage outage, not a retirement: nothing unloads, the
 * outage is logged once per change and shown in the Prometheus gauges.
 * A version missing from a readable listing that still has versions was
 * removed, and unloads as before. A version whose load failed is retried
 * when its files change and otherwise with exponential backoff.
 *
 * A servable is immutable and reference-counted: requests acquire one,
 * use it without any lock, and release it; the last release of an
 * unloaded version hands it to the loader thread to free.
 *
 * A base path s3://bucket/prefix is listed and its versions downloaded
 * into a local cache and verified before they load (serve/s3_source.h,
 * docs/s3.md); the rules above hold for it too: a listing that fails
 * keeps every served version.
 *
 * Thread-safety: acquire/release/status/ready may be called from any
 * thread at once. new/start/wait/free belong to the owning (main) thread.
 */
#ifndef CFX_SERVE_MODEL_MANAGER_H
#define CFX_SERVE_MODEL_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/err.h"
#include "model/bundle.h"
#include "serve/config.h"

/* ModelVersionStatus.State numbers. */
typedef enum cfx_version_state {
    CFX_STATE_UNKNOWN = 0,
    CFX_STATE_START = 10,
    CFX_STATE_LOADING = 20,
    CFX_STATE_AVAILABLE = 30,
    CFX_STATE_UNLOADING = 40,
    CFX_STATE_END = 50,
} cfx_version_state_t;

/* "AVAILABLE", ... */
const char *cfx_version_state_name(cfx_version_state_t s);

typedef struct cfx_version_status {
    int64_t version;
    cfx_version_state_t state;
    int error_code;          /* tensorflow.error.Code, 0 = OK */
    char error_message[512]; /* "" when OK */
} cfx_version_status_t;

typedef struct cfx_servable cfx_servable_t;
typedef struct cfx_manager cfx_manager_t;
struct cfx_metrics;

typedef struct cfx_manager_options {
    int file_system_poll_wait_seconds; /* 1; 0 = once; < 0 never */
    int enable_model_warmup;     /* replay warmup.jsonl before AVAILABLE */
    struct cfx_metrics *metrics; /* may be NULL; not owned */
    int allow_version_labels_for_unavailable_models; /* 0: a label must
                                                        name an AVAILABLE
                                                        version */
    /* Backoff between retries of a failed load whose files did not
     * change: the first delay, doubled after each failure up to the
     * second, in ms; 0 means 1000 and 60000. Retries need polling
     * (file_system_poll_wait_seconds > 0). */
    int load_retry_initial_ms;
    int load_retry_max_ms;
    /* Where versions of s3:// base paths are downloaded (docs/s3.md);
     * NULL: cfx_s3_source_default_cache. Not owned. */
    const char *model_cache_dir;
    /* The most bytes one version of an s3:// base path may download
     * (serve/s3_source.h); 0: no cap. */
    uint64_t s3_max_version_bytes;
} cfx_manager_options_t;

/* Takes a copy of models. */
int cfx_manager_new(const cfx_manager_options_t *opts,
                    const cfx_model_list_t *models, cfx_manager_t **out,
                    cfx_error_t *err);
/* Stops the loader thread and frees every servable; every acquired
 * servable must have been released. NULL is fine. */
void cfx_manager_free(cfx_manager_t *m);

/* Starts the loader thread. */
int cfx_manager_start(cfx_manager_t *m, cfx_error_t *err);
/* The startup wait (TF Serving's ServerCore::Create): waits up to
 * timeout_ms (0: just looks; < 0: no limit) until every configured model
 * has an AVAILABLE version or some model's load failed. A model with no
 * version yet, or whose base path does not exist yet, is waited for with
 * no overall limit while the loader keeps polling; only with
 * file_system_poll_wait_seconds <= 0 (no later poll) does it fail after
 * the first pass. Returns CFX_ETIMEOUT while still waiting (the caller
 * watches for signals between calls), 0 when everything is AVAILABLE and
 * the labels assigned, else err holds TF Serving's startup message
 * ("N model(s) did not become available: {...}") or the label error. */
int cfx_manager_wait_initial(cfx_manager_t *m, int timeout_ms,
                             cfx_error_t *err);

/* Replaces the model list (SIGHUP, config polling, HandleReloadConfig):
 * removed models unload, new ones load. Blocks until added models are
 * AVAILABLE or failed after one immediate rescan (TF Serving waits for
 * the next poll). A model added without a version yet is reported as not
 * available (CFX_EUNAVAILABLE, "no version found under ...") rather than
 * blocking until one is pushed, as TF Serving would; the new list stays in
 * force and the loader loads that model's first version when it appears. */
int cfx_manager_reload(cfx_manager_t *m, const cfx_model_list_t *models,
                       cfx_error_t *err);
/* Asks the loader for an immediate rescan; does not block. */
void cfx_manager_rescan(cfx_manager_t *m);

/* 1 when every configured model has an AVAILABLE version, else 0. */
int cfx_manager_ready(cfx_manager_t *m);
/* Appends the Prometheus gauges of the served versions to out:
 *   :cfx:serving:loaded_versions{model_name} = AVAILABLE versions
 *   :cfx:serving:model_version_state{model_name,version,state} = 1
 * (one series per version the manager knows, in its current state);
 *   :cfx:serving:model_store_outage{model_name} = 1 while the base path
 *       is unavailable and versions are kept serving, else 0
 *   :cfx:serving:model_store_outages_total{model_name} (counter)
 *   :cfx:serving:model_version_load_failures{model_name,version} = the
 *       consecutive failed loads of a version not AVAILABLE (only > 0). */
int cfx_manager_render_versions(cfx_manager_t *m, cfx_buf_t *out);

/*
 * Resolves a servable and takes a reference to it.
 *   version < 0 and label NULL: the highest AVAILABLE version.
 *   version >= 0: that version.  label: the version it names.
 * Errors, with TF Serving's messages:
 *   CFX_ENOTFOUND "Servable not found for request: Latest(m)" /
 *                 "...Specific(m, 7)"
 *   CFX_EINVAL    "Unrecognized servable version label: x"
 */
int cfx_manager_acquire(cfx_manager_t *m, const char *model_name,
                        int64_t version, const char *label,
                        cfx_servable_t **out, cfx_error_t *err);
/* Drops a reference; NULL is fine. Never frees on the calling thread. */
void cfx_servable_release(cfx_servable_t *s);

const cfx_bundle_t *cfx_servable_bundle(const cfx_servable_t *s);
int64_t cfx_servable_version(const cfx_servable_t *s);
const char *cfx_servable_model_name(const cfx_servable_t *s);
/* The signature table built at load (serve/service.h). */
const struct cfx_sigtab *cfx_servable_sigtab(const cfx_servable_t *s);

/*
 * GetModelStatus: versions in descending order, END entries kept.
 * version < 0: all versions; otherwise that one. (A label is ignored, as
 * in TF Serving.) *out is malloc'd; free() it.
 * Errors: CFX_ENOTFOUND "Could not find any versions of model m" /
 *         "Could not find version 7 of model m".
 */
int cfx_manager_status(cfx_manager_t *m, const char *model_name,
                       int64_t version, cfx_version_status_t **out, size_t *n,
                       cfx_error_t *err);

#endif

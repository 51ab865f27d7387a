/*
 * lineage.c: `cfx ls` and `cfx lineage` over the metadata store (see
 * lineage.h). Read-only; everything printed comes from the store.
 */
#include "mlmd/lineage.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mlmd/metadata.h"
#include "mlmd/recovery.h"

/* Deepest provenance chain printed (a pipeline is ~10 steps deep). */
#define LINEAGE_MAX_DEPTH 32
/* Artifacts remembered as already printed (the rest print again). */
#define LINEAGE_MAX_SEEN 4096

static int open_existing(cfx_metadata_t **md, const char *root,
                         cfx_error_t *err) {
    char path[PATH_MAX];
    struct stat sb;
    const char *location = cfx_metadata_location();
    if (location) /* a shared store (--metadata, CFX_METADATA) */
        return cfx_metadata_open(md, location, err);
    int n = snprintf(path, sizeof path, "%s/%s", root, CFX_METADATA_FILE);
    if (n < 0 || (size_t)n >= sizeof path)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: path too long", root);
    if (stat(path, &sb) != 0)
        return cfx_error_set(err, CFX_ENOTFOUND,
                             "%s: no metadata store (nothing has run with this "
                             "pipeline root)",
                             path);
    return cfx_metadata_open(md, path, err);
}

static void fmt_time(char *out, size_t cap, int64_t ms) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

/* uri shown relative to root when inside it. */
static const char *rel_uri(const char *uri, const char *root) {
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (!strncmp(uri, root, n) && uri[n] == '/')
        return uri + n + 1;
    return uri;
}

/* Properties worth a column in `cfx ls` (the rest: `cfx show`). */
static const char *const key_props[] = {
    "split_names",
    "span",
    "version",
    "blessed",
    "current_model_id",
    "baseline_model_id",
    "pushed",
    "pushed_version",
    "pushed_destination",
    "infra_blessed",
    "anomalies_found",
    "anomaly_errors",
};

typedef struct {
    char *p;
    size_t cap, len;
} line_t;

static void line_add(line_t *l, const char *name, const cfx_md_value_t *v) {
    if (l->len + 1 >= l->cap)
        return;
    int n;
    const char *sep = l->len ? " " : "";
    if (v->kind == CFX_MD_INT)
        n = snprintf(l->p + l->len, l->cap - l->len, "%s%s=%lld", sep, name,
                     (long long)v->i);
    else if (v->kind == CFX_MD_DOUBLE)
        n = snprintf(l->p + l->len, l->cap - l->len, "%s%s=%g", sep, name,
                     v->d);
    else
        n = snprintf(l->p + l->len, l->cap - l->len, "%s%s=%s", sep, name,
                     v->s);
    if (n > 0)
        l->len += (size_t)n;
    if (l->len >= l->cap)
        l->len = l->cap - 1;
}

static int add_key_prop(void *ud, const char *name, int is_custom,
                        const cfx_md_value_t *v) {
    (void)is_custom;
    for (size_t i = 0; i < sizeof key_props / sizeof key_props[0]; i++)
        if (!strcmp(name, key_props[i])) {
            line_add(ud, name, v);
            break;
        }
    return 0;
}

typedef struct {
    FILE *out;
    cfx_metadata_t *md;
    const char *root;
    cfx_error_t *err;
    size_t n;
} ls_t;

static int print_execution(void *ud, const cfx_md_execution_t *e) {
    ls_t *s = ud;
    char start[32], from[48] = "";
    cfx_md_value_t v;
    cfx_error_t ignore;
    fmt_time(start, sizeof start, e->create_time_ms);
    if (e->state == CFX_MD_EXECUTION_CACHED &&
        cfx_metadata_get_execution_property(s->md, e->id, "cached_from", &v,
                                            NULL, 0, &ignore) == 0 &&
        v.kind == CFX_MD_INT)
        snprintf(from, sizeof from, "from #%lld", (long long)v.i);
    fprintf(s->out, "%6lld  %-16s %-9s %s %8.3fs  %s\n", (long long)e->id,
            e->type, cfx_md_execution_state_name(e->state), start,
            (double)(e->update_time_ms - e->create_time_ms) / 1000.0, from);
    /* why it failed; whether a RUNNING one still runs (mlmd/recovery.h) */
    char why[CFX_ERROR_MSG_MAX];
    if (e->state == CFX_MD_EXECUTION_FAILED &&
        cfx_metadata_get_execution_property(s->md, e->id, CFX_RECOVERY_REASON,
                                            &v, why, sizeof why,
                                            &ignore) == 0 &&
        v.kind == CFX_MD_STRING)
        fprintf(s->out, "        reason: %s\n", why);
    if (e->state == CFX_MD_EXECUTION_RUNNING) {
        cfx_owner_state_t o =
            cfx_recovery_owner_state(s->md, e->id, why, sizeof why);
        if (o == CFX_OWNER_DEAD)
            fprintf(s->out,
                    "        left behind: owner %s (the next run marks it "
                    "FAILED)\n",
                    why);
        else
            fprintf(s->out, "        %s %s\n",
                    o == CFX_OWNER_ALIVE ? "running in" : "owner", why);
    }
    s->n++;
    return 0;
}

static int print_artifact(void *ud, const cfx_md_artifact_t *a) {
    ls_t *s = ud;
    char props[512];
    line_t l = {props, sizeof props, 0};
    props[0] = 0;
    int ret = cfx_metadata_list_artifact_properties(s->md, a->id, add_key_prop,
                                                    &l, s->err);
    if (ret < 0)
        return ret;
    fprintf(s->out, "%6lld  %-18s %-9s %s%s%s\n", (long long)a->id, a->type,
            cfx_md_artifact_state_name(a->state), rel_uri(a->uri, s->root),
            props[0] ? "  " : "", props);
    s->n++;
    return 0;
}

int cfx_lineage_print_ls(FILE *out, const char *root, cfx_error_t *err) {
    cfx_metadata_t *md = NULL;
    int ret = open_existing(&md, root, err);
    if (ret)
        return ret;
    char real[PATH_MAX];
    if (realpath(root, real))
        root = real;
    ls_t s = {out, md, root, err, 0};
    fprintf(out, "pipeline root: %s\n\nexecutions\n", root);
    fprintf(out, "%6s  %-16s %-9s %-19s %9s\n", "id", "component", "state",
            "start", "duration");
    if ((ret = cfx_metadata_list_executions(md, print_execution, &s, err)) < 0)
        goto out;
    if (!s.n)
        fprintf(out, "  (none)\n");
    s.n = 0;
    fprintf(out, "\nartifacts\n%6s  %-18s %-9s %s\n", "id", "type", "state",
            "uri  properties");
    if ((ret = cfx_metadata_list_artifacts(md, NULL, print_artifact, &s, err)) <
        0)
        goto out;
    if (!s.n)
        fprintf(out, "  (none)\n");
    ret = 0;
out:
    cfx_metadata_close(md);
    return ret;
}

/* --- lineage -------------------------------------------------------------- */

typedef struct {
    FILE *out;
    cfx_metadata_t *md;
    const char *root;
    cfx_error_t *err;
    int64_t seen[LINEAGE_MAX_SEEN]; /* artifacts; executions as -id */
    size_t n_seen;
    char prefix[LINEAGE_MAX_DEPTH * 4 + 8];
} walk_t;

static int seen_before(walk_t *w, int64_t id) {
    for (size_t i = 0; i < w->n_seen; i++)
        if (w->seen[i] == id)
            return 1;
    if (w->n_seen < LINEAGE_MAX_SEEN)
        w->seen[w->n_seen++] = id;
    return 0;
}

typedef struct {
    int64_t ids[64];
    char keys[64][CFX_MD_NAME_MAX];
    size_t n;
    int type;
} ev_list_t;

static int collect_ev(void *ud, const cfx_md_event_t *ev) {
    ev_list_t *l = ud;
    if (ev->type != l->type || l->n == 64)
        return 0;
    l->ids[l->n] =
        l->type == CFX_MD_EVENT_OUTPUT ? ev->execution_id : ev->artifact_id;
    snprintf(l->keys[l->n], sizeof l->keys[0], "%s", ev->key);
    l->n++;
    return 0;
}

static int walk_artifact(walk_t *w, const char *key, int64_t id, int depth);

static int walk_execution(walk_t *w, int64_t id, int depth) {
    cfx_md_execution_t e;
    char start[32];
    int ret = cfx_metadata_get_execution(w->md, id, &e, w->err);
    if (ret)
        return ret;
    fmt_time(start, sizeof start, e.create_time_ms);
    if (seen_before(w, -id)) {
        fprintf(w->out, "%s└─ %s execution %lld (inputs shown above)\n",
                w->prefix, e.type, (long long)e.id);
        return 0;
    }
    fprintf(w->out, "%s└─ %s execution %lld %s, %s (%.3f s)\n", w->prefix,
            e.type, (long long)e.id, cfx_md_execution_state_name(e.state),
            start, (double)(e.update_time_ms - e.create_time_ms) / 1000.0);
    ev_list_t *in = calloc(1, sizeof *in);
    if (!in)
        return cfx_error_set(w->err, CFX_ENOMEM, "out of memory");
    in->type = CFX_MD_EVENT_INPUT;
    ret = cfx_metadata_list_events(w->md, id, -1, collect_ev, in, w->err);
    if (ret >= 0) {
        ret = 0;
        size_t pl = strlen(w->prefix);
        strcat(w->prefix, "   ");
        for (size_t i = 0; i < in->n && !ret; i++)
            ret = walk_artifact(w, in->keys[i], in->ids[i], depth + 1);
        w->prefix[pl] = 0;
    }
    free(in);
    return ret;
}

static int walk_artifact(walk_t *w, const char *key, int64_t id, int depth) {
    cfx_md_artifact_t *a = malloc(sizeof *a);
    char props[512];
    line_t l = {props, sizeof props, 0};
    int ret;
    if (!a)
        return cfx_error_set(w->err, CFX_ENOMEM, "out of memory");
    if ((ret = cfx_metadata_get_artifact(w->md, id, a, w->err)))
        goto out;
    props[0] = 0;
    if ((ret = cfx_metadata_list_artifact_properties(w->md, id, add_key_prop,
                                                     &l, w->err)) < 0)
        goto out;
    ret = 0;
    fprintf(w->out, "%s%s%s%s #%lld %s%s%s\n", w->prefix, key ? key : "",
            key ? ": " : "", a->type, (long long)a->id,
            rel_uri(a->uri, w->root), props[0] ? "  " : "", props);
    if (seen_before(w, id)) {
        fprintf(w->out, "%s   (provenance shown above)\n", w->prefix);
        goto out;
    }
    if (depth >= LINEAGE_MAX_DEPTH) {
        fprintf(w->out, "%s   ... (deeper than %d)\n", w->prefix,
                LINEAGE_MAX_DEPTH);
        goto out;
    }
    /* The producer: the first execution that output it (a later CACHED one
     * reused it). */
    ev_list_t *prod = calloc(1, sizeof *prod);
    if (!prod) {
        ret = cfx_error_set(w->err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    prod->type = CFX_MD_EVENT_OUTPUT;
    ret = cfx_metadata_list_events(w->md, -1, id, collect_ev, prod, w->err);
    if (ret >= 0) {
        ret = 0;
        if (prod->n)
            ret = walk_execution(w, prod->ids[0], depth);
        else if (!strcmp(a->type, "ExternalArtifact"))
            fprintf(w->out, "%s   (input from outside the pipeline)\n",
                    w->prefix);
    }
    free(prod);
out:
    free(a);
    return ret;
}

int cfx_lineage_print(FILE *out, const char *root, const char *what,
                      cfx_error_t *err) {
    cfx_metadata_t *md = NULL;
    cfx_md_artifact_t *a = NULL;
    walk_t *w = NULL;
    int ret = open_existing(&md, root, err);
    if (ret)
        return ret;
    if (!(a = malloc(sizeof *a)) || !(w = calloc(1, sizeof *w))) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    if (what[0] == '#') {
        char *end;
        long long id = strtoll(what + 1, &end, 10);
        if (*end || id <= 0) {
            ret = cfx_error_set(err, CFX_EINVAL,
                                "'%s': expected #<artifact id>", what);
            goto out;
        }
        ret = cfx_metadata_get_artifact(md, id, a, err);
    } else {
        /* The pushed version dir as given, then as an absolute path. */
        char real[PATH_MAX];
        const char *cands[2] = {what, realpath(what, real) ? real : NULL};
        ret = CFX_ENOTFOUND;
        for (int i = 0; i < 2 && ret == CFX_ENOTFOUND; i++) {
            if (!cands[i])
                continue;
            char norm[PATH_MAX];
            snprintf(norm, sizeof norm, "%s", cands[i]);
            size_t n = strlen(norm);
            while (n > 1 && norm[n - 1] == '/')
                norm[--n] = 0;
            ret = cfx_metadata_find_artifact_by_property(
                md, "pushed_destination", norm, a, err);
            if (ret == CFX_ENOTFOUND)
                ret = cfx_metadata_find_artifact_by_uri(md, norm, a, err);
        }
        if (ret == CFX_ENOTFOUND)
            ret =
                cfx_error_set(err, CFX_ENOTFOUND,
                              "%s: no artifact recorded at this path in %s/%s "
                              "(was it pushed with this pipeline root?)",
                              what, root, CFX_METADATA_FILE);
    }
    if (ret)
        goto out;
    char real[PATH_MAX];
    w->out = out;
    w->md = md;
    w->root = realpath(root, real) ? real : root;
    w->err = err;
    ret = walk_artifact(w, NULL, a->id, 0);
out:
    free(w);
    free(a);
    cfx_metadata_close(md);
    return ret;
}

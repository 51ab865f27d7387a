/*
 * status_page.c: GET / and GET /v1/status (status_page.h). The facts are
 * gathered once into a JSON document; the HTML page is drawn from that
 * same document, so the two never disagree.
 *
 * Out of memory anywhere on the way (a jansson value, a buffer append)
 * fails the whole render, and cfx_status_page_respond answers 500 with a
 * short error instead: a page with a row or a table missing, or cut off,
 * is never answered 200. Gathering checks every jansson call; the HTML
 * goes through one page_t whose first failed append sticks.
 */
#include "serve/status_page.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "formats/html_escape.h"
#include "model/bundle.h"
#include "serve/config.h"
#include "serve/metrics.h"
#include "serve/model_manager.h"

#define MAX_BUCKETS 40
#define MAX_LABELS 4

/* --- reading our own Prometheus text back --------------------------------- */

typedef struct label {
    char name[32];
    char value[512];
} label_t;

typedef struct sample {
    char name[128];
    label_t l[MAX_LABELS];
    size_t nl;
    double value;
} sample_t;

/* Parses `name{a="x",b="y"} value` (serve/metrics.c's escaping: \\ \" \n);
 * 0 when the line is a sample, -1 otherwise (comments, blank). */
static int parse_sample(const char *line, size_t len, sample_t *s) {
    size_t i = 0, k;
    memset(s, 0, sizeof *s);
    if (!len || line[0] == '#')
        return -1;
    for (k = 0; i < len && line[i] != '{' && line[i] != ' '; i++)
        if (k + 1 < sizeof s->name)
            s->name[k++] = line[i];
    if (i < len && line[i] == '{') {
        i++;
        while (i < len && line[i] != '}') {
            label_t *l = s->nl < MAX_LABELS ? &s->l[s->nl] : NULL;
            for (k = 0; i < len && line[i] != '='; i++)
                if (l && k + 1 < sizeof l->name)
                    l->name[k++] = line[i];
            if (i + 1 >= len || line[i + 1] != '"')
                return -1;
            for (i += 2, k = 0; i < len && line[i] != '"'; i++) {
                char c = line[i];
                if (c == '\\' && i + 1 < len)
                    c = line[++i] == 'n' ? '\n' : line[i];
                if (l && k + 1 < sizeof l->value)
                    l->value[k++] = c;
            }
            if (i >= len)
                return -1;
            i++; /* closing quote */
            if (l)
                s->nl++;
            if (i < len && line[i] == ',')
                i++;
        }
        i++;
    }
    if (i >= len)
        return -1;
    char num[64];
    size_t n = len - i < sizeof num ? len - i : sizeof num - 1;
    memcpy(num, line + i, n);
    num[n] = 0;
    char *end;
    s->value = strtod(num, &end);
    return end == num ? -1 : 0;
}

static const char *label(const sample_t *s, const char *name) {
    for (size_t i = 0; i < s->nl; i++)
        if (!strcmp(s->l[i].name, name))
            return s->l[i].value;
    return "";
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* A JSON string of s, invalid UTF-8 replaced (json_string refuses it, and
 * json_pack with it fails, which would drop the whole row): a load error
 * may quote a path in another encoding or be cut inside a character. NULL
 * only when out of memory. */
static json_t *jstr(const char *s) {
    json_t *j = json_string(s ? s : "");
    if (j)
        return j;
    cfx_buf_t b;
    cfx_buf_init(&b);
    if (cfx_utf8_repair(&b, s, strlen(s)) == 0 && cfx_buf_cstr(&b) == 0)
        j = json_string((const char *)b.data);
    cfx_buf_free(&b);
    return j;
}

/* --- latency histograms --------------------------------------------------- */

typedef struct hist {
    char model[256], api[32], entrypoint[16];
    double le[MAX_BUCKETS], cum[MAX_BUCKETS]; /* le = INFINITY for +Inf */
    size_t nb;
    double sum, count;
    double recent; /* successful requests in the recent window */
} hist_t;

typedef struct facts {
    hist_t *h;
    size_t nh;
    json_t *counts; /* [{model, status, count}] */
    json_t *loads;  /* model_path -> {ok, failed, sum_us, n} (not shown) */
    json_t *models; /* name -> {versions: {v: state}, outage} */
    double window;  /* the recent window's length in seconds; < 0: none */
} facts_t;

static hist_t *hist_get(facts_t *f, const sample_t *s) {
    const char *m = label(s, "model_name"), *a = label(s, "API"),
               *e = label(s, "entrypoint");
    for (size_t i = 0; i < f->nh; i++)
        if (!strcmp(f->h[i].model, m) && !strcmp(f->h[i].api, a) &&
            !strcmp(f->h[i].entrypoint, e))
            return &f->h[i];
    if (f->nh == CFX_STATUS_MAX_ROWS)
        return NULL;
    hist_t *h = &f->h[f->nh++];
    memset(h, 0, sizeof *h);
    snprintf(h->model, sizeof h->model, "%s", m);
    snprintf(h->api, sizeof h->api, "%s", a);
    snprintf(h->entrypoint, sizeof h->entrypoint, "%s", e);
    return h;
}

/* The q-quantile of a cumulative histogram, interpolated linearly inside
 * its bucket as Prometheus's histogram_quantile does; NaN when empty. In
 * the +Inf bucket: the last finite bound (a lower bound of the truth). */
static double quantile(const hist_t *h, double q) {
    if (!(h->count > 0) || h->nb == 0)
        return NAN;
    double rank = q * h->count, lo = 0, below = 0;
    for (size_t i = 0; i < h->nb; i++) {
        if (h->cum[i] >= rank) {
            if (isinf(h->le[i]))
                return lo;
            double in = h->cum[i] - below;
            return in > 0 ? lo + (h->le[i] - lo) * (rank - below) / in
                          : h->le[i];
        }
        lo = h->le[i];
        below = h->cum[i];
    }
    return lo;
}

/* Adds one sample to the facts; 0, or CFX_ENOMEM. */
static int add_sample(facts_t *f, const sample_t *s) {
    if (!strcmp(s->name, ":tensorflow:serving:request_count")) {
        if (json_array_size(f->counts) < CFX_STATUS_MAX_ROWS &&
            json_array_append_new(f->counts,
                                  json_pack("{s:o,s:o,s:f}", "model",
                                            jstr(label(s, "model_name")),
                                            "status", jstr(label(s, "status")),
                                            "count", s->value)))
            return CFX_ENOMEM;
    } else if (!strcmp(s->name, ":cfx:serving:recent_window_seconds")) {
        f->window = s->value;
    } else if (!strcmp(s->name, ":cfx:serving:recent_request_count")) {
        hist_t *h = hist_get(f, s);
        if (h)
            h->recent = s->value;
    } else if (!strncmp(s->name, ":tensorflow:serving:request_latency_", 36)) {
        hist_t *h = hist_get(f, s);
        if (!h)
            return 0;
        if (ends_with(s->name, "_bucket") && h->nb < MAX_BUCKETS) {
            const char *le = label(s, "le");
            h->le[h->nb] = !strcmp(le, "+Inf") ? INFINITY : strtod(le, NULL);
            h->cum[h->nb++] = s->value;
        } else if (ends_with(s->name, "_sum")) {
            h->sum = s->value;
        } else if (ends_with(s->name, "_count")) {
            h->count = s->value;
        }
    } else if (!strncmp(s->name, ":tensorflow:cc:saved_model:load_", 32)) {
        const char *path = label(s, "model_path");
        json_t *l = json_object_get(f->loads, path);
        if (!l) {
            if (json_object_size(f->loads) >= CFX_STATUS_MAX_ROWS)
                return 0;
            l = json_pack("{s:f,s:f,s:f,s:f}", "ok", 0.0, "failed", 0.0,
                          "sum_us", 0.0, "n", 0.0);
            if (json_object_set_new_nocheck(f->loads, path, l))
                return CFX_ENOMEM;
        }
        const char *key = NULL;
        if (!strcmp(s->name, ":tensorflow:cc:saved_model:load_attempt_count"))
            key = strcmp(label(s, "status"), "OK") ? "failed" : "ok";
        else if (!strcmp(s->name,
                         ":tensorflow:cc:saved_model:load_latency_sum"))
            key = "sum_us";
        else if (!strcmp(s->name,
                         ":tensorflow:cc:saved_model:load_latency_count"))
            key = "n";
        if (key &&
            json_object_set_new(
                l, key,
                json_real(json_real_value(json_object_get(l, key)) + s->value)))
            return CFX_ENOMEM;
    } else if (!strcmp(s->name, ":cfx:serving:model_version_state") ||
               !strcmp(s->name, ":cfx:serving:model_store_outage")) {
        const char *name = label(s, "model_name");
        json_t *m = json_object_get(f->models, name);
        if (!m) {
            if (json_object_size(f->models) >= CFX_STATUS_MAX_ROWS)
                return 0;
            m = json_pack("{s:{},s:b}", "versions", "outage", 0);
            if (json_object_set_new_nocheck(f->models, name, m))
                return CFX_ENOMEM;
        }
        if (!strcmp(s->name, ":cfx:serving:model_store_outage")
                ? json_object_set_new(m, "outage", json_boolean(s->value > 0))
                : json_object_set_new_nocheck(json_object_get(m, "versions"),
                                              label(s, "version"),
                                              jstr(label(s, "state"))))
            return CFX_ENOMEM;
    }
    return 0;
}

/* 0, or CFX_ENOMEM (the facts are then incomplete). */
static int parse_text(facts_t *f, const cfx_buf_t *b) {
    const char *p = (const char *)b->data, *end = p + b->len;
    sample_t s;
    int rc = 0;
    while (!rc && p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (parse_sample(p, len, &s) == 0)
            rc = add_sample(f, &s);
        p += len + 1;
    }
    return rc;
}

/* --- the facts as JSON ---------------------------------------------------- */

/* Seconds since this process started, from /proc (0 when unknown). */
static double uptime_seconds(void) {
    char buf[1024];
    double up = 0;
    unsigned long long start = 0;
    FILE *f = fopen("/proc/uptime", "r");
    if (f) {
        if (fscanf(f, "%lf", &up) != 1)
            up = 0;
        fclose(f);
    }
    f = fopen("/proc/self/stat", "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        /* field 22, counted after the ")" that ends the command name */
        const char *p = strrchr(buf, ')');
        for (int field = 2; p && field < 22; field++)
            p = strchr(p + 1, ' ');
        if (p)
            start = strtoull(p + 1, NULL, 10);
    }
    long hz = sysconf(_SC_CLK_TCK);
    double t = hz > 0 ? up - (double)start / (double)hz : 0;
    return t > 0 ? t : 0;
}

static json_t *ms(double us) {
    return isnan(us) ? json_null() : json_real(us / 1000.0);
}

/* The model and version of a load's model_path (<base_path>/<version>)
 * from the configured base paths; 0 when none matches. */
static int load_owner(const cfx_model_list_t *ml, const char *path,
                      const char **model, const char **version) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return 0;
    for (size_t i = 0; i < ml->n; i++) {
        size_t n = strlen(ml->models[i].base_path);
        while (n > 1 && ml->models[i].base_path[n - 1] == '/')
            n--;
        if ((size_t)(slash - path) == n &&
            !strncmp(path, ml->models[i].base_path, n)) {
            *model = ml->models[i].name;
            *version = slash + 1;
            return 1;
        }
    }
    return 0;
}

/* The "models" array: every version the manager knows, with GetModelStatus's
 * error; load attempts and mean load time by version. 0 or CFX_ENOMEM. */
static int gather_models(cfx_server_t *srv, const facts_t *f, json_t *doc) {
    int rc = 0;
    cfx_model_list_t ml;
    cfx_error_t err;
    cfx_model_list_init(&ml);
    cfx_error_init(&err);
    json_t *loads_by = json_object(); /* "model\nversion" -> load */
    json_t *models = json_array();
    if (!loads_by || !models) {
        rc = CFX_ENOMEM;
        goto out;
    }
    /* a config file that no longer parses: no load times, the rest stays */
    rc = cfx_serve_flags_models(&srv->opts, &ml, &err);
    if (rc == CFX_ENOMEM)
        goto out;
    if (rc)
        cfx_model_list_free(&ml), cfx_model_list_init(&ml);
    rc = 0;
    const char *path;
    json_t *l;
    json_object_foreach(f->loads, path, l) {
        const char *model, *version;
        char key[1024];
        if (load_owner(&ml, path, &model, &version)) {
            snprintf(key, sizeof key, "%s\n%s", model, version);
            if (json_object_set_nocheck(loads_by, key, l)) {
                rc = CFX_ENOMEM;
                goto out;
            }
        }
    }
    const char *name;
    json_t *m;
    json_object_foreach(f->models, name, m) {
        cfx_version_status_t *st = NULL;
        size_t n = 0;
        cfx_error_t e2;
        cfx_error_init(&e2);
        json_t *versions = json_array();
        if (!versions) {
            rc = CFX_ENOMEM;
            goto out;
        }
        /* CFX_ENOTFOUND: the model went between the two readings */
        rc = cfx_manager_status(srv->manager, name, -1, &st, &n, &e2);
        rc = rc == CFX_ENOMEM ? rc : 0;
        for (size_t i = 0; !rc && i < n && i < CFX_STATUS_MAX_ROWS; i++) {
            char key[1024], v[32];
            snprintf(v, sizeof v, "%lld", (long long)st[i].version);
            snprintf(key, sizeof key, "%s\n%s", name, v);
            const json_t *ld = json_object_get(loads_by, key);
            double n_ok = json_real_value(json_object_get(ld, "n"));
            if (json_array_append_new(
                    versions,
                    json_pack("{s:I,s:s,s:i,s:o,s:f,s:f,s:o}", "version",
                              (json_int_t)st[i].version, "state",
                              cfx_version_state_name(st[i].state), "error_code",
                              st[i].error_code, "error_message",
                              jstr(st[i].error_message), "load_attempts_ok",
                              json_real_value(json_object_get(ld, "ok")),
                              "load_attempts_failed",
                              json_real_value(json_object_get(ld, "failed")),
                              "load_ms",
                              n_ok > 0 ? ms(json_real_value(
                                                json_object_get(ld, "sum_us")) /
                                            n_ok)
                                       : json_null())))
                rc = CFX_ENOMEM;
        }
        free(st);
        if (rc) {
            json_decref(versions);
            goto out;
        }
        if (json_array_append_new(
                models, json_pack("{s:o,s:o,s:O}", "name", jstr(name),
                                  "versions", versions, "store_outage",
                                  json_object_get(m, "outage")))) {
            rc = CFX_ENOMEM;
            goto out;
        }
    }
    if (json_object_set(doc, "models", models))
        rc = CFX_ENOMEM;
out:
    json_decref(models);
    json_decref(loads_by);
    cfx_model_list_free(&ml);
    return rc;
}

/* The "requests" rows: per model, API and entrypoint. 0 or CFX_ENOMEM. */
static int gather_requests(const facts_t *f, double up, json_t *doc) {
    json_t *req = json_array();
    if (!req)
        return CFX_ENOMEM;
    for (size_t i = 0; i < f->nh; i++) {
        const hist_t *h = &f->h[i];
        if (json_array_append_new(
                req,
                json_pack(
                    "{s:o,s:o,s:o,s:f,s:o,s:o,s:o,s:o,s:o,s:o}", "model",
                    jstr(h->model), "api", jstr(h->api), "entrypoint",
                    jstr(h->entrypoint), "count", h->count,
                    "rate_per_second_1m",
                    f->window > 0 ? json_real(h->recent / f->window)
                                  : json_null(),
                    "rate_per_second",
                    up > 0 ? json_real(h->count / up) : json_null(), "mean_ms",
                    h->count > 0 ? ms(h->sum / h->count) : json_null(),
                    "p50_ms", ms(quantile(h, 0.5)), "p90_ms",
                    ms(quantile(h, 0.9)), "p99_ms", ms(quantile(h, 0.99))))) {
            json_decref(req);
            return CFX_ENOMEM;
        }
    }
    int rc = json_object_set(doc, "requests", req) ? CFX_ENOMEM : 0;
    json_decref(req);
    return rc;
}

/* The facts as one JSON document; NULL only when out of memory. */
static json_t *gather(cfx_server_t *srv) {
    facts_t f = {0};
    cfx_buf_t text;
    int rc = CFX_ENOMEM;
    cfx_buf_init(&text);
    f.window = -1;
    f.h = calloc(CFX_STATUS_MAX_ROWS, sizeof *f.h);
    f.counts = json_array();
    f.loads = json_object();
    f.models = json_object();
    json_t *doc = json_object();
    if (!f.h || !f.counts || !f.loads || !f.models || !doc)
        goto out;
    if ((rc = cfx_metrics_render_with_recent(srv->metrics, &text)) ||
        (rc = parse_text(&f, &text)))
        goto out;
    cfx_buf_reset(&text);
    if ((rc = cfx_manager_render_versions(srv->manager, &text)) ||
        (rc = parse_text(&f, &text)))
        goto out;
    double up = uptime_seconds();
    rc = CFX_ENOMEM;
    if (json_object_set_new(doc, "build",
                            json_pack("{s:s,s:i}", "version", CFX_VERSION,
                                      "bundle_format",
                                      CFX_BUNDLE_FORMAT_VERSION)) ||
        json_object_set_new(doc, "uptime_seconds", json_real(up)) ||
        json_object_set_new(
            doc, "ready",
            json_boolean(cfx_manager_ready(srv->manager) && !srv->draining)) ||
        json_object_set_new(doc, "rate_window_seconds",
                            f.window >= 0 ? json_real(f.window) : json_null()))
        goto out;
    if ((rc = gather_models(srv, &f, doc)) ||
        (rc = gather_requests(&f, up, doc)))
        goto out;
    rc = json_object_set(doc, "request_counts", f.counts) ? CFX_ENOMEM : 0;
out:
    if (rc) {
        json_decref(doc);
        doc = NULL;
    }
    free(f.h);
    json_decref(f.counts);
    json_decref(f.loads);
    json_decref(f.models);
    cfx_buf_free(&text);
    return doc;
}

/* --- HTML ----------------------------------------------------------------- */

/* The page being written. Every append goes through PUTF or text, and
 * the first failure sticks: nothing more is appended, and the render
 * returns it. */
typedef struct page {
    cfx_buf_t *out;
    int rc;
} page_t;

#define PUTF(p, ...)                                                           \
    ((p)->rc ? (void)0                                                         \
             : (void)((p)->rc = cfx_buf_printf((p)->out, __VA_ARGS__)))

static void text(page_t *p, const char *s) {
    if (!p->rc && s)
        p->rc = cfx_html_escape(p->out, s, strlen(s));
}

static void num_cell(page_t *p, const json_t *v, const char *fmt) {
    if (!json_is_number(v)) {
        PUTF(p, "<td class=\"num\">-</td>");
        return;
    }
    PUTF(p, "<td class=\"num\">");
    PUTF(p, fmt, json_number_value(v));
    PUTF(p, "</td>");
}

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2733;"
    "background:#f6f7f9}header{background:#1d2733;color:#fff;padding:12px "
    "24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;"
    "color:#c5ccd6}main{padding:4px 24px 30px}section{background:#fff;"
    "border:1px solid #dde2e8;border-radius:6px;margin:14px 0;padding:10px "
    "16px}h2{font-size:16px;margin:4px 0 8px}table{border-collapse:collapse;"
    "font-size:13px}th,td{border-bottom:1px solid #e4e8ed;padding:4px 10px;"
    "text-align:left}th{background:#f0f3f6}td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}.badge{border-radius:3px;padding:1px "
    "6px;font-weight:600;font-size:12px}.AVAILABLE,.ready{background:#e3f6e8;"
    "color:#17663a}.END,.notready,.err{background:#fde7e6;color:#b42318}"
    ".LOADING,.START,.UNLOADING{background:#fff4d6;color:#7a5200}"
    ".muted{color:#6b7785}";

/* 0, or the first append's failure (out then holds part of a page). */
static int render_html(const json_t *doc, cfx_buf_t *out) {
    page_t pg = {out, 0}, *p = &pg;
    const json_t *build = json_object_get(doc, "build");
    double up = json_number_value(json_object_get(doc, "uptime_seconds"));
    int ready = json_is_true(json_object_get(doc, "ready"));
    PUTF(p,
         "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
         "'none'; style-src 'unsafe-inline'; img-src data:\">"
         "<meta http-equiv=\"refresh\" content=\"%d\">"
         "<link rel=\"icon\" href=\"data:,\"><title>cfx-serve status</title>"
         "<style>%s</style></head><body><header><h1>cfx-serve</h1><p>"
         "<span id=\"ready\" class=\"badge %s\">%s</span> &middot; up "
         "<span id=\"uptime\">%.0f</span> s (%.0fd %02.0fh %02.0fm) &middot; "
         "build cfx ",
         CFX_STATUS_REFRESH_SECONDS, style, ready ? "ready" : "notready",
         ready ? "READY" : "NOT READY", up, floor(up / 86400),
         floor(fmod(up, 86400) / 3600), floor(fmod(up, 3600) / 60));
    text(p, json_string_value(json_object_get(build, "version")));
    PUTF(p,
         ", bundle format %lld &middot; refreshes every %d s &middot; JSON: "
         "<code>/v1/status</code></p></header><main>",
         (long long)json_integer_value(json_object_get(build, "bundle_format")),
         CFX_STATUS_REFRESH_SECONDS);

    PUTF(p, "<section><h2>Models</h2><table id=\"models\"><tr>"
            "<th>model</th><th>version</th><th>state</th>"
            "<th>load time (ms)</th><th>loads ok</th>"
            "<th>loads failed</th><th>error</th></tr>");
    const json_t *models = json_object_get(doc, "models");
    for (size_t i = 0; i < json_array_size(models); i++) {
        const json_t *m = json_array_get(models, i),
                     *vs = json_object_get(m, "versions");
        const char *name = json_string_value(json_object_get(m, "name"));
        if (json_array_size(vs) == 0) {
            PUTF(p, "<tr><td>");
            text(p, name);
            PUTF(p, "</td><td colspan=\"6\" class=\"muted\">no "
                    "version yet</td></tr>");
        }
        for (size_t k = 0; k < json_array_size(vs); k++) {
            const json_t *v = json_array_get(vs, k);
            const char *state = json_string_value(json_object_get(v, "state"));
            PUTF(p, "<tr data-model=\"");
            text(p, name);
            PUTF(p, "\"><td>");
            text(p, name);
            if (json_is_true(json_object_get(m, "store_outage")))
                PUTF(p, " <span class=\"badge err\">model store "
                        "outage</span>");
            PUTF(p, "</td><td class=\"num\">%lld</td><td><span class=\"badge ",
                 (long long)json_integer_value(json_object_get(v, "version")));
            text(p, state);
            PUTF(p, "\">");
            text(p, state);
            PUTF(p, "</span></td>");
            num_cell(p, json_object_get(v, "load_ms"), "%.1f");
            num_cell(p, json_object_get(v, "load_attempts_ok"), "%.0f");
            num_cell(p, json_object_get(v, "load_attempts_failed"), "%.0f");
            PUTF(p, "<td class=\"err-msg\">");
            text(p, json_string_value(json_object_get(v, "error_message")));
            PUTF(p, "</td></tr>");
        }
    }
    if (json_array_size(models) == 0)
        PUTF(p, "<tr><td colspan=\"7\" class=\"muted\">no "
                "model</td></tr>");
    PUTF(p, "</table></section>");

    /* the recent rate's window: the last minute, or the uptime so far */
    const json_t *win = json_object_get(doc, "rate_window_seconds");
    double window = json_number_value(win);
    PUTF(p,
         "<section><h2>Requests</h2><p class=\"muted\">Successful "
         "requests; the recent rate is over the current second and the %d "
         "before it, or since start while the server has been up for less; "
         "latency percentiles estimated from the request_latency histogram "
         "(buckets 10 &micro;s &times; 1.8<sup>k</sup>).</p>"
         "<table id=\"requests\"><tr><th>model</th><th>API</th>"
         "<th>entrypoint</th><th>requests</th><th id=\"rate-window\">",
         CFX_METRICS_RECENT_SECONDS);
    if (!json_is_number(win))
        PUTF(p, "per second, recent");
    else if (window >= CFX_METRICS_RECENT_SECONDS)
        PUTF(p, "per second, last %d s", CFX_METRICS_RECENT_SECONDS);
    else
        PUTF(p, "per second, last %.1f s (since start)", window);
    PUTF(p, "</th><th>per second, since start</th><th>mean (ms)</th>"
            "<th>p50 (ms)</th><th>p90 (ms)</th><th>p99 (ms)</th></tr>");
    const json_t *req = json_object_get(doc, "requests");
    for (size_t i = 0; i < json_array_size(req); i++) {
        const json_t *r = json_array_get(req, i);
        PUTF(p, "<tr><td>");
        text(p, json_string_value(json_object_get(r, "model")));
        PUTF(p, "</td><td>");
        text(p, json_string_value(json_object_get(r, "api")));
        PUTF(p, "</td><td>");
        text(p, json_string_value(json_object_get(r, "entrypoint")));
        PUTF(p, "</td>");
        num_cell(p, json_object_get(r, "count"), "%.0f");
        num_cell(p, json_object_get(r, "rate_per_second_1m"), "%.3g");
        num_cell(p, json_object_get(r, "rate_per_second"), "%.3g");
        num_cell(p, json_object_get(r, "mean_ms"), "%.3f");
        num_cell(p, json_object_get(r, "p50_ms"), "%.3f");
        num_cell(p, json_object_get(r, "p90_ms"), "%.3f");
        num_cell(p, json_object_get(r, "p99_ms"), "%.3f");
        PUTF(p, "</tr>");
    }
    if (json_array_size(req) == 0)
        PUTF(p, "<tr><td colspan=\"10\" class=\"muted\">no request "
                "yet</td></tr>");
    PUTF(p, "</table><h2>Outcomes</h2><table id=\"outcomes\"><tr>"
            "<th>model</th><th>status</th><th>requests</th></tr>");
    const json_t *cnt = json_object_get(doc, "request_counts");
    for (size_t i = 0; i < json_array_size(cnt); i++) {
        const json_t *c = json_array_get(cnt, i);
        const char *st = json_string_value(json_object_get(c, "status"));
        PUTF(p, "<tr><td>");
        text(p, json_string_value(json_object_get(c, "model")));
        PUTF(p, "</td><td><span class=\"badge %s\">",
             st && !strcmp(st, "OK") ? "ready" : "err");
        text(p, st);
        PUTF(p, "</span></td>");
        num_cell(p, json_object_get(c, "count"), "%.0f");
        PUTF(p, "</tr>");
    }
    PUTF(p, "</table></section></main></body></html>\n");
    return p->rc;
}

/* json_dump_callback's writer. jansson 2.14 does not check every write
 * (an object key's), so the failure is kept here rather than trusted to
 * come back from jansson. */
static int dump_to(const char *buffer, size_t size, void *data) {
    page_t *p = data;
    if (!p->rc)
        p->rc = cfx_buf_append(p->out, buffer, size);
    return p->rc ? -1 : 0;
}

/* Appends the page or the JSON document to out; 0, or the first failure
 * (out then holds part of one). */
static int render(cfx_server_t *srv, int html, cfx_buf_t *out) {
    json_t *doc = gather(srv);
    if (!doc)
        return CFX_ENOMEM;
    int rc;
    if (html) {
        rc = render_html(doc, out);
    } else {
        page_t p = {out, 0};
        if (json_dump_callback(doc, dump_to, &p,
                               JSON_INDENT(1) | JSON_PRESERVE_ORDER |
                                   JSON_REAL_PRECISION(6)) &&
            !p.rc)
            p.rc = CFX_ENOMEM;
        PUTF(&p, "\n");
        rc = p.rc;
    }
    json_decref(doc);
    return rc;
}

int cfx_status_page_respond(cfx_server_t *srv, int html, cfx_buf_t *out,
                            const char **content_type) {
    cfx_buf_reset(out);
    int rc = render(srv, html, out);
    if (rc == 0) {
        *content_type = html ? "text/html; charset=utf-8" : "application/json";
        return 200;
    }
    /* whatever part of the page was written goes; a short error takes its
     * place, or nothing when even that cannot be appended */
    char msg[128];
    if (html)
        snprintf(msg, sizeof msg, "cfx-serve: the status page failed: %s\n",
                 cfx_err_str(rc));
    else
        snprintf(msg, sizeof msg, "{\n    \"error\": \"status page: %s\"\n}",
                 cfx_err_str(rc));
    cfx_buf_reset(out);
    if (cfx_buf_append(out, msg, strlen(msg)))
        cfx_buf_reset(out);
    *content_type = html ? "text/plain; charset=utf-8" : "application/json";
    return 500;
}

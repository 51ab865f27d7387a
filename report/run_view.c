/*
 * run_view.c: a pipeline run from the metadata store, and its section of
 * `cfx report` (run_view.h).
 */
#include "report/run_view.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlmd/lineage.h"
#include "report/html.h"

typedef struct load {
    cfx_run_view_t *v;
    int overflow;
} load_t;

/* Latest per component: a later execution of a component replaces the
 * earlier one (executions come by ascending id). */
static int keep_latest(void *ud, const cfx_md_execution_t *e) {
    load_t *l = ud;
    cfx_run_view_t *v = l->v;
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->x[i].e.type, e->type)) {
            memmove(&v->x[i], &v->x[i + 1], (v->n - i - 1) * sizeof v->x[0]);
            v->n--;
            break;
        }
    if (v->n == CFX_RUN_VIEW_MAX_EXECS) {
        l->overflow = 1;
        return 0;
    }
    memset(&v->x[v->n], 0, sizeof v->x[0]);
    v->x[v->n++].e = *e;
    return 0;
}

/* A run's executions come newest first: keep them, then reverse. */
static int keep_all(void *ud, const cfx_md_execution_t *e) {
    load_t *l = ud;
    if (l->v->n == CFX_RUN_VIEW_MAX_EXECS) {
        l->overflow = 1;
        return 1;
    }
    memset(&l->v->x[l->v->n], 0, sizeof l->v->x[0]);
    l->v->x[l->v->n++].e = *e;
    return 0;
}

typedef struct ev_ctx {
    cfx_metadata_t *md;
    cfx_run_view_exec_t *x;
    cfx_error_t *err;
} ev_ctx_t;

static int add_event(void *ud, const cfx_md_event_t *ev) {
    ev_ctx_t *c = ud;
    cfx_run_view_io_t *io;
    if (ev->type == CFX_MD_EVENT_INPUT && c->x->n_in < CFX_RUN_VIEW_MAX_IO)
        io = &c->x->in[c->x->n_in++];
    else if (ev->type == CFX_MD_EVENT_OUTPUT &&
             c->x->n_out < CFX_RUN_VIEW_MAX_IO)
        io = &c->x->out[c->x->n_out++];
    else
        return 0;
    cfx_md_artifact_t a;
    snprintf(io->key, sizeof io->key, "%s", ev->key);
    io->artifact_id = ev->artifact_id;
    if (cfx_metadata_get_artifact(c->md, ev->artifact_id, &a, c->err) == 0) {
        snprintf(io->type, sizeof io->type, "%s", a.type);
        memcpy(io->uri, a.uri, sizeof io->uri);
    }
    return 0;
}

int cfx_run_view_load(const char *root, const char *run_id,
                      cfx_run_view_t **out, cfx_error_t *err) {
    char path[PATH_MAX];
    struct stat st;
    cfx_metadata_t *md = NULL;
    *out = NULL;
    snprintf(path, sizeof path, "%s/%s", root, CFX_METADATA_FILE);
    if (stat(path, &st) != 0)
        return cfx_error_set(err, CFX_ENOTFOUND, "%s: no metadata store", path);
    cfx_run_view_t *v = calloc(1, sizeof *v);
    if (!v)
        return cfx_error_set(err, CFX_ENOMEM, "report: out of memory");
    /* the store's uris are absolute: so is the root they are shown under */
    char abs[PATH_MAX];
    snprintf(v->root, sizeof v->root, "%s", realpath(root, abs) ? abs : root);
    int ret = cfx_metadata_open(&md, path, err);
    if (ret)
        goto out;
    load_t l = {v, 0};
    if (run_id) {
        int64_t ctx;
        snprintf(v->run_id, sizeof v->run_id, "%s", run_id);
        if ((ret = cfx_metadata_find_context(md, "pipeline_run", run_id, &ctx,
                                             err)))
            goto out;
        if ((ret = cfx_metadata_list_context_executions(md, ctx, keep_all, &l,
                                                        err)) < 0)
            goto out;
        for (size_t i = 0; i < v->n / 2; i++) {
            cfx_run_view_exec_t t = v->x[i];
            v->x[i] = v->x[v->n - 1 - i];
            v->x[v->n - 1 - i] = t;
        }
    } else if ((ret = cfx_metadata_list_executions(md, keep_latest, &l, err)) <
               0) {
        goto out;
    }
    ret = 0;
    for (size_t i = 0; i < v->n && !ret; i++) {
        cfx_run_view_exec_t *x = &v->x[i];
        ev_ctx_t c = {md, x, err};
        cfx_md_value_t val;
        cfx_error_t ignore;
        char buf[sizeof x->summary];
        ret = cfx_metadata_list_events(md, x->e.id, -1, add_event, &c, err);
        if (ret > 0)
            ret = 0;
        if (cfx_metadata_get_execution_property(
                md, x->e.id, "summary", &val, buf, sizeof buf, &ignore) == 0 &&
            val.kind == CFX_MD_STRING)
            snprintf(x->summary, sizeof x->summary, "%s", val.s);
        if (cfx_metadata_get_execution_property(md, x->e.id, "cached_from",
                                                &val, NULL, 0, &ignore) == 0 &&
            val.kind == CFX_MD_INT)
            x->cached_from = val.i;
    }
out:
    cfx_metadata_close(md);
    if (ret) {
        free(v);
        return ret;
    }
    *out = v;
    return 0;
}

const char *cfx_run_view_output(const cfx_run_view_t *v, const char *component,
                                const char *key) {
    for (size_t i = v->n; i-- > 0;) {
        if (strcmp(v->x[i].e.type, component))
            continue;
        for (size_t k = 0; k < v->x[i].n_out; k++)
            if (!strcmp(v->x[i].out[k].key, key))
                return v->x[i].out[k].uri;
    }
    return NULL;
}

/* Index of the view's execution that wrote artifact id, or -1. */
static long producer(const cfx_run_view_t *v, int64_t id) {
    for (size_t i = 0; i < v->n; i++)
        for (size_t k = 0; k < v->x[i].n_out; k++)
            if (v->x[i].out[k].artifact_id == id)
                return (long)i;
    return -1;
}

/* A uri below the root is shown relative to it. */
static const char *rel(const cfx_run_view_t *v, const char *uri) {
    size_t n = strlen(v->root);
    if (n && !strncmp(uri, v->root, n) && uri[n] == '/')
        return uri + n + 1;
    return uri;
}

#define NODE_W 128
#define NODE_H 58
#define COL_W 150
#define ROW_H 74

static void graph(FILE *out, const cfx_run_view_t *v) {
    int layer[CFX_RUN_VIEW_MAX_EXECS], row[CFX_RUN_VIEW_MAX_EXECS];
    int per_layer[CFX_RUN_VIEW_MAX_EXECS] = {0}, n_layers = 0, max_rows = 0;
    for (size_t i = 0; i < v->n; i++) {
        layer[i] = 0;
        for (size_t k = 0; k < v->x[i].n_in; k++) {
            long p = producer(v, v->x[i].in[k].artifact_id);
            if (p >= 0 && (size_t)p < i && layer[p] + 1 > layer[i])
                layer[i] = layer[p] + 1;
        }
        row[i] = per_layer[layer[i]]++;
        if (layer[i] + 1 > n_layers)
            n_layers = layer[i] + 1;
        if (row[i] + 1 > max_rows)
            max_rows = row[i] + 1;
    }
    int W = n_layers * COL_W + 10, H = max_rows * ROW_H + 10;
    fprintf(out,
            "<div style=\"overflow-x:auto\"><svg class=\"graph\" id=\"graph\" "
            "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">",
            W, H, W, H);
    for (size_t i = 0; i < v->n; i++)
        for (size_t k = 0; k < v->x[i].n_in; k++) {
            long p = producer(v, v->x[i].in[k].artifact_id);
            if (p < 0 || (size_t)p >= i)
                continue;
            if (layer[i] - layer[p] > 1) {
                /* past other layers: down from the source into the gap
                 * below the rows, along it, up into the target */
                int lo = row[p] > row[i] ? row[p] : row[i];
                double sx = 5 + layer[p] * COL_W + NODE_W / 2.0,
                       sy = 5 + row[p] * ROW_H + NODE_H,
                       tx = 5 + layer[i] * COL_W + NODE_W / 3.0,
                       ty = 5 + row[i] * ROW_H + NODE_H,
                       lane = 5 + lo * ROW_H + NODE_H + 8;
                fprintf(out,
                        "<path class=\"edge\" d=\"M%.1f %.1fV%.1fH%.1fV%.1f\">"
                        "<title>",
                        sx, sy, lane, tx, ty + 5);
                cfx_html_text(out, v->x[i].in[k].key);
                fprintf(out,
                        "</title></path><path d=\"M%.1f %.1fl-4 6h8z\" "
                        "fill=\"#8792a2\"/>",
                        tx, ty);
                continue;
            }
            double x0 = 5 + layer[p] * COL_W + NODE_W,
                   y0 = 5 + row[p] * ROW_H + NODE_H / 2.0,
                   x1 = 5 + layer[i] * COL_W,
                   y1 = 5 + row[i] * ROW_H + NODE_H / 2.0;
            fprintf(out,
                    "<path class=\"edge\" d=\"M%.1f %.1fC%.1f %.1f %.1f %.1f "
                    "%.1f %.1f\"><title>",
                    x0, y0, (x0 + x1) / 2, y0, (x0 + x1) / 2, y1, x1 - 4, y1);
            cfx_html_text(out, v->x[i].in[k].key);
            fprintf(out,
                    "</title></path><path d=\"M%.1f %.1fl-6 -4v8z\" "
                    "fill=\"#8792a2\"/>",
                    x1, y1);
        }
    for (size_t i = 0; i < v->n; i++) {
        const cfx_run_view_exec_t *x = &v->x[i];
        const char *state = cfx_md_execution_state_name(x->e.state);
        double secs = (double)(x->e.update_time_ms - x->e.create_time_ms) / 1e3;
        int gx = 5 + layer[i] * COL_W, gy = 5 + row[i] * ROW_H;
        fprintf(out, "<g class=\"node %s\" data-component=\"", state);
        cfx_html_text(out, x->e.type);
        fprintf(out,
                "\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                "rx=\"5\"/><text x=\"%d\" y=\"%d\" font-weight=\"600\">",
                gx, gy, NODE_W, NODE_H, gx + 8, gy + 17);
        cfx_html_text(out, x->e.type);
        fprintf(out, "</text><text x=\"%d\" y=\"%d\">%s &#183; %.2f s</text>",
                gx + 8, gy + 34, state, secs);
        fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"muted\">#%lld", gx + 8,
                gy + 50, (long long)x->e.id);
        if (x->cached_from)
            fprintf(out, " cache hit (#%lld)", (long long)x->cached_from);
        fputs("</text><title>", out);
        cfx_html_text(out, x->summary);
        fputs("</title></g>", out);
    }
    fputs("</svg></div>", out);
}

int cfx_html_run_view(FILE *out, const cfx_run_view_t *v, cfx_error_t *err) {
    fputs("<section id=\"run\"><h2>Run</h2><p>", out);
    if (v->run_id[0]) {
        fputs("Run <code>", out);
        cfx_html_text(out, v->run_id);
        fputs("</code>", out);
    } else {
        fputs("The latest execution of each component", out);
    }
    fputs(" in <code>", out);
    cfx_html_text(out, v->root);
    fputs("</code>.</p>", out);
    /* the outcome first: the Evaluator's verdict (its recorded summary,
     * the failed bounds when not blessed) and what was pushed */
    for (size_t i = 0; i < v->n; i++) {
        const cfx_run_view_exec_t *x = &v->x[i];
        int eval = !strcmp(x->e.type, "Evaluator");
        if (!eval && strcmp(x->e.type, "Pusher"))
            continue;
        const char *cls = "warn";
        if (eval && !strncmp(x->summary, "BLESSED", 7))
            cls = "pass";
        else if (eval && !strncmp(x->summary, "NOT_BLESSED", 11))
            cls = "fail";
        else if (!eval && x->e.state != CFX_MD_EXECUTION_FAILED)
            cls = "pass";
        fprintf(
            out,
            "<p class=\"verdict\" id=\"verdict-%s\"><span class=\"badge %s\">",
            eval ? "evaluator" : "pusher", cls);
        cfx_html_text(out, x->e.type);
        fputs("</span> ", out);
        cfx_html_text(out, x->summary);
        fputs("</p>", out);
    }
    graph(out, v);
    fputs(
        "<table id=\"executions\" class=\"sortable\"><thead><tr>"
        "<th>execution</th><th>component</th><th>state</th><th>time</th>"
        "<th>cache</th><th>outputs</th><th>summary</th></tr></thead><tbody>\n",
        out);
    int64_t pushed = 0;
    for (size_t i = 0; i < v->n; i++) {
        const cfx_run_view_exec_t *x = &v->x[i];
        const char *state = cfx_md_execution_state_name(x->e.state);
        const char *cls = x->e.state == CFX_MD_EXECUTION_FAILED    ? "fail"
                          : x->e.state == CFX_MD_EXECUTION_RUNNING ? "warn"
                                                                   : "pass";
        fprintf(out, "<tr data-component=\"");
        cfx_html_text(out, x->e.type);
        fprintf(out, "\"><td class=\"num\" data-v=\"%lld\">#%lld</td><td>",
                (long long)x->e.id, (long long)x->e.id);
        cfx_html_text(out, x->e.type);
        fprintf(out, "</td><td><span class=\"badge %s\">%s</span></td>", cls,
                state);
        cfx_html_num_cell(
            out, (double)(x->e.update_time_ms - x->e.create_time_ms) / 1e3,
            "secs");
        if (x->cached_from)
            fprintf(out, "<td>hit (from #%lld)</td><td class=\"small\">",
                    (long long)x->cached_from);
        else
            fputs("<td>-</td><td class=\"small\">", out);
        for (size_t k = 0; k < x->n_out; k++) {
            if (k)
                fputs("<br>", out);
            cfx_html_text(out, x->out[k].type);
            fputs(" <code>", out);
            cfx_html_text(out, rel(v, x->out[k].uri));
            fputs("</code>", out);
            if (!strcmp(x->out[k].type, "PushedModel"))
                pushed = x->out[k].artifact_id;
        }
        fputs("</td><td class=\"small\">", out);
        cfx_html_text(out, x->summary);
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table>", out);
    if (pushed) {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        char what[32];
        snprintf(what, sizeof what, "#%lld", (long long)pushed);
        int ret = m ? cfx_lineage_print(m, v->root, what, err)
                    : cfx_error_set(err, CFX_ENOMEM, "report: out of memory");
        if (m)
            fclose(m);
        if (ret) {
            free(text);
            fputs("</section>\n", out);
            return ret;
        }
        fputs("<h3>Lineage of the pushed version</h3><pre id=\"lineage\">",
              out);
        cfx_html_textn(out, text, len);
        fputs("</pre>", out);
        free(text);
    }
    fputs("</section>\n", out);
    return 0;
}

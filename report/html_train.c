/*
 * html_train.c: the training section of `cfx report` (html.h): one chart
 * per scalar (loss, accuracy, auc, ...) with the train and eval curves of
 * a ModelRun, read from its TensorBoard event files
 * (<run>/<split>/events.out.tfevents.*, train/trainer_log.h): TFRecord
 * files of tensorflow.Event, each with a Summary of simple_value scalars.
 */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "event.pb-c.h"
#include "formats/file.h"
#include "formats/tfrecord.h"
#include "report/html.h"

#define MAX_TAGS 12
#define MAX_POINTS 100000 /* per curve; later points are not drawn */
#define MAX_RECORD (1u << 20)

typedef struct curve {
    char tag[64];
    double *step, *value;
    size_t n, cap;
} curve_t;

typedef struct split_curves {
    curve_t c[MAX_TAGS];
    size_t n;
} split_curves_t;

static int add_point(split_curves_t *s, const char *tag, double step,
                     double v) {
    size_t i = 0;
    for (; i < s->n && strcmp(s->c[i].tag, tag); i++)
        ;
    if (i == s->n) {
        if (s->n == MAX_TAGS)
            return 0;
        snprintf(s->c[s->n++].tag, sizeof s->c[0].tag, "%s", tag);
    }
    curve_t *c = &s->c[i];
    if (c->n == MAX_POINTS)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        double *a = realloc(c->step, cap * sizeof *a);
        if (!a)
            return CFX_ENOMEM;
        c->step = a;
        double *b = realloc(c->value, cap * sizeof *b);
        if (!b)
            return CFX_ENOMEM;
        c->value = b;
        c->cap = cap;
    }
    c->step[c->n] = step;
    c->value[c->n] = v;
    c->n++;
    return 0;
}

static int read_events(const char *path, split_curves_t *s, cfx_error_t *err) {
    cfx_tfrecord_reader_t *r = NULL;
    int ret = cfx_tfrecord_reader_open(path, &r, err);
    if (ret)
        return ret;
    const uint8_t *data;
    size_t len;
    while ((ret = cfx_tfrecord_read(r, &data, &len, err)) == 1) {
        if (len > MAX_RECORD) {
            ret = cfx_error_set(err, CFX_ETOOBIG,
                                "%s: an event of %zu bytes (most %u)", path,
                                len, MAX_RECORD);
            break;
        }
        Tensorflow__Event *e = tensorflow__event__unpack(NULL, len, data);
        if (!e) {
            ret = cfx_error_set(
                err, CFX_EPARSE, "%s: record at byte %llu is not an Event",
                path, (unsigned long long)cfx_tfrecord_reader_offset(r));
            break;
        }
        ret = 0;
        if (e->what_case == TENSORFLOW__EVENT__WHAT_SUMMARY && e->summary)
            for (size_t i = 0; i < e->summary->n_value && !ret; i++) {
                const Tensorflow__Summary__Value *v = e->summary->value[i];
                if (v->value_case ==
                        TENSORFLOW__SUMMARY__VALUE__VALUE_SIMPLE_VALUE &&
                    v->tag)
                    ret = add_point(s, v->tag, (double)e->step,
                                    (double)v->simple_value);
            }
        tensorflow__event__free_unpacked(e, NULL);
        if (ret == CFX_ENOMEM)
            ret = cfx_error_set(err, ret, "report: out of memory");
        if (ret)
            break;
    }
    cfx_tfrecord_reader_free(r);
    return ret < 0 ? ret : 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every events file of dir, in name order (time order: the name holds the
 * start time). */
static int read_split(const char *dir, split_curves_t *s, size_t *files,
                      cfx_error_t *err) {
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        if (!strncmp(e->d_name, "events.out.tfevents.", 20))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX];
        if (!ret && names[i]) {
            int w = snprintf(p, sizeof p, "%s/%s", dir, names[i]);
            ret =
                w < 0 || (size_t)w >= sizeof p
                    ? cfx_error_set(err, CFX_ETOOBIG, "%s: path too long", dir)
                    : read_events(p, s, err);
            (*files)++;
        }
        free(names[i]);
    }
    return ret;
}

int cfx_html_has_training(const char *path) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/train", path);
    if (!cfx_file_is_dir(p))
        return 0;
    DIR *d = opendir(p);
    int found = 0;
    struct dirent *e;
    while (d && !found && (e = readdir(d)))
        found = !strncmp(e->d_name, "events.out.tfevents.", 20);
    if (d)
        closedir(d);
    return found;
}

int cfx_html_training(FILE *out, const char *model_run_path, cfx_error_t *err) {
    static const char *const splits[] = {"train", "eval"};
    split_curves_t *sc = calloc(2, sizeof *sc);
    if (!sc)
        return cfx_error_set(err, CFX_ENOMEM, "report: out of memory");
    size_t files = 0;
    int ret = 0;
    for (size_t k = 0; k < 2 && !ret; k++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", model_run_path, splits[k]);
        ret = read_split(p, &sc[k], &files, err);
    }
    if (ret)
        goto out;
    fprintf(out,
            "<section id=\"training\"><h2>Training</h2><p>Curves from %zu "
            "TensorBoard event file%s",
            files, files == 1 ? "" : "s");
    for (size_t k = 0; k < 2; k++)
        if (sc[k].n)
            fprintf(out, "; <span class=\"split%zu\">%s</span>: %zu points", k,
                    splits[k], sc[k].c[0].n);
    fputs(".</p><div class=\"charts\">", out);
    /* one chart per tag of either split, train's order first */
    const char *tags[2 * MAX_TAGS];
    size_t nt = 0;
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < sc[k].n; i++) {
            int seen = 0;
            for (size_t j = 0; j < nt && !seen; j++)
                seen = !strcmp(tags[j], sc[k].c[i].tag);
            if (!seen)
                tags[nt++] = sc[k].c[i].tag;
        }
    for (size_t j = 0; j < nt; j++) {
        cfx_svg_series_t s[2];
        size_t ns = 0;
        for (size_t k = 0; k < 2; k++)
            for (size_t i = 0; i < sc[k].n; i++)
                if (!strcmp(sc[k].c[i].tag, tags[j])) {
                    s[ns++] = (cfx_svg_series_t){splits[k], sc[k].c[i].step,
                                                 sc[k].c[i].value, sc[k].c[i].n,
                                                 sc[k].c[i].n < 30};
                }
        fputs("<div class=\"curve\" data-tag=\"", out);
        cfx_html_text(out, tags[j]);
        fputs("\">", out);
        cfx_svg_plot_t p = {tags[j], "step", tags[j],
                            0,       0,      0,
                            0,       0,      strstr(tags[j], "loss") ? 0 : 1,
                            420,     260};
        cfx_svg_lines(out, &p, s, ns);
        fputs("</div>", out);
    }
    if (nt == 0)
        fputs("<p class=\"muted\">No scalars in the event files.</p>", out);
    fputs("</div></section>\n", out);
out:
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < sc[k].n; i++) {
            free(sc[k].c[i].step);
            free(sc[k].c[i].value);
        }
    free(sc);
    return ret;
}

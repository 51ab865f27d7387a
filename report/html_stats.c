/*
 * html_stats.c: the statistics, schema and anomalies sections of
 * `cfx report` (html.h). Statistics: Facets Overview's table, one row per
 * feature with each split's figures one above the other (train first, in
 * blue; eval in orange) and the splits' histograms or top values
 * overlaid in one chart; sortable, filterable; a feature with an anomaly
 * in any split is highlighted.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/schema_infer.h"
#include "data/stats_io.h"
#include "data/validate.h"
#include "formats/file.h"
#include "report/html.h"
#include "report/show.h"

#define PB(x) TENSORFLOW__METADATA__V0__##x
#define MAX_SPLITS 8
#define TOP_SHOWN 5
#define HIST_BUCKETS 64

typedef struct split {
    char name[64];
    cfx_stats_list_t *list;
    const cfx_dataset_stats_t *d;
} split_t;

typedef struct splits {
    split_t s[MAX_SPLITS];
    size_t n;
} splits_t;

static int collect(void *ud, const char *split, const char *path,
                   cfx_error_t *err) {
    splits_t *ss = ud;
    if (ss->n == MAX_SPLITS)
        return 0; /* more splits than a row can show: the first ones */
    split_t *s = &ss->s[ss->n];
    s->list = NULL;
    int rc = cfx_stats_read_default(path, &s->list, &s->d, err);
    if (rc < 0) {
        /* "no dataset" comes with the list read */
        cfx_stats_free(s->list);
        s->list = NULL;
        return rc;
    }
    snprintf(s->name, sizeof s->name, "%s", split[0] ? split : "data");
    ss->n++;
    return 0;
}

/* Feature names with an anomaly in any split. */
typedef struct marks {
    char **names;
    size_t n, cap;
} marks_t;

static int mark(marks_t *m, const char *name) {
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->names[i], name))
            return 0;
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 16;
        char **p = realloc(m->names, cap * sizeof *p);
        if (!p)
            return CFX_ENOMEM;
        m->names = p, m->cap = cap;
    }
    if (!(m->names[m->n] = strdup(name)))
        return CFX_ENOMEM;
    m->n++;
    return 0;
}

static int marked(const marks_t *m, const char *name) {
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->names[i], name))
            return 1;
    return 0;
}

static int mark_split(void *ud, const char *split, const char *path,
                      cfx_error_t *err) {
    (void)split;
    cfx_anomalies_t *a = NULL;
    int rc = cfx_anomalies_read(path, &a, err);
    for (size_t i = 0; rc == 0 && i < (a ? a->n_anomaly_info : 0); i++)
        rc = mark(ud, a->anomaly_info[i]->key);
    if (rc == CFX_ENOMEM)
        cfx_error_set(err, rc, "report: out of memory");
    cfx_anomalies_free(a);
    return rc;
}

static const char *type_name(const cfx_feature_stats_t *f) {
    switch (f->type) {
    case PB(FEATURE_NAME_STATISTICS__TYPE__INT):
        return "INT";
    case PB(FEATURE_NAME_STATISTICS__TYPE__FLOAT):
        return "FLOAT";
    case PB(FEATURE_NAME_STATISTICS__TYPE__BYTES):
        return "BYTES";
    case PB(FEATURE_NAME_STATISTICS__TYPE__STRUCT):
        return "STRUCT";
    default:
        return "STRING";
    }
}

static const Tensorflow__Metadata__V0__Histogram *
standard_histogram(const Tensorflow__Metadata__V0__NumericStatistics *ns) {
    for (size_t i = 0; i < ns->n_histograms; i++)
        if (ns->histograms[i]->type == PB(HISTOGRAM__HISTOGRAM_TYPE__STANDARD))
            return ns->histograms[i];
    return NULL;
}

static const Tensorflow__Metadata__V0__NumericStatistics *
num_stats(const cfx_feature_stats_t *f) {
    return f && f->stats_case == PB(FEATURE_NAME_STATISTICS__STATS_NUM_STATS)
               ? f->num_stats
               : NULL;
}

static const Tensorflow__Metadata__V0__StringStatistics *
str_stats(const cfx_feature_stats_t *f) {
    return f && f->stats_case == PB(FEATURE_NAME_STATISTICS__STATS_STRING_STATS)
               ? f->string_stats
               : NULL;
}

enum col {
    COL_COUNT,
    COL_MISSING,
    COL_ZEROS,
    COL_MIN,
    COL_MEAN,
    COL_MAX,
    COL_STD,
    COL_UNIQUE,
};

/* One figure of a feature in one split; NaN when it has none. */
static double figure(const split_t *s, const cfx_feature_stats_t *f,
                     enum col c) {
    if (!f)
        return NAN;
    const cfx_common_stats_t *cs = cfx_stats_common(f);
    const Tensorflow__Metadata__V0__NumericStatistics *ns = num_stats(f);
    const Tensorflow__Metadata__V0__StringStatistics *ss = str_stats(f);
    double tot = cs ? (double)cs->tot_num_values : 0;
    double n_ex = (double)s->d->num_examples;
    switch (c) {
    case COL_COUNT:
        return cs ? (double)cs->num_non_missing : 0;
    case COL_MISSING:
        return n_ex > 0 ? 100.0 * (cs ? (double)cs->num_missing : n_ex) / n_ex
                        : NAN;
    case COL_ZEROS:
        return ns && tot > 0 ? 100.0 * (double)ns->num_zeros / tot : NAN;
    case COL_MIN:
        return ns && tot > 0 ? ns->min : NAN;
    case COL_MEAN:
        return ns && tot > 0 ? ns->mean : NAN;
    case COL_MAX:
        return ns && tot > 0 ? ns->max : NAN;
    case COL_STD:
        return ns && tot > 0 ? ns->std_dev : NAN;
    case COL_UNIQUE:
        return ss ? (double)ss->unique : NAN;
    }
    return NAN;
}

/* A cell with one line per split; sorted by the first split's value. */
static void multi_cell(FILE *out, const splits_t *ss,
                       const cfx_feature_stats_t *const *fs, enum col c,
                       const char *unit) {
    double v0 = figure(&ss->s[0], fs[0], c);
    int any = 0;
    for (size_t k = 0; k < ss->n; k++)
        any |= !isnan(figure(&ss->s[k], fs[k], c));
    if (!any) {
        fputs("<td class=\"num\" data-v=\"\"></td>", out);
        return;
    }
    if (isnan(v0))
        fputs("<td class=\"num\" data-v=\"\">", out);
    else
        fprintf(out, "<td class=\"num\" data-v=\"%.17g\">", v0);
    for (size_t k = 0; k < ss->n; k++) {
        double v = figure(&ss->s[k], fs[k], c);
        fprintf(out, "<span class=\"two split%zu\" title=\"", k < 2 ? k : 1);
        cfx_html_text(out, ss->s[k].name);
        fputs("\">", out);
        if (isnan(v))
            fputs("-", out);
        else if (c == COL_COUNT || c == COL_UNIQUE)
            fprintf(out, "%.0f", v);
        else
            fprintf(out, "%.4g%s", v, unit);
        fputs("</span>", out);
    }
    fputs("</td>", out);
}

static void numeric_chart(FILE *out, const splits_t *ss,
                          const cfx_feature_stats_t *const *fs) {
    cfx_svg_bucket_t b[MAX_SPLITS][HIST_BUCKETS];
    cfx_svg_hist_t h[MAX_SPLITS];
    size_t n = 0;
    for (size_t k = 0; k < ss->n; k++) {
        const Tensorflow__Metadata__V0__NumericStatistics *ns =
            num_stats(fs[k]);
        const Tensorflow__Metadata__V0__Histogram *hist =
            ns ? standard_histogram(ns) : NULL;
        if (!hist)
            continue;
        size_t nb = 0;
        for (; nb < hist->n_buckets && nb < HIST_BUCKETS; nb++)
            b[n][nb] = (cfx_svg_bucket_t){hist->buckets[nb]->low_value,
                                          hist->buckets[nb]->high_value,
                                          hist->buckets[nb]->sample_count};
        h[n] = (cfx_svg_hist_t){ss->s[k].name, b[n], nb, k ? 1 : 0};
        n++;
    }
    cfx_svg_histogram(out, h, n, 220, 56);
}

/* A value's share of a feature's values in one split (0 when not among
 * its top values). */
static double share(const cfx_feature_stats_t *f, const char *v) {
    const Tensorflow__Metadata__V0__StringStatistics *s = str_stats(f);
    const cfx_common_stats_t *cs = f ? cfx_stats_common(f) : NULL;
    double tot = cs ? (double)cs->tot_num_values : 0, freq = 0;
    for (size_t j = 0; s && j < s->n_top_values; j++)
        if (!strcmp(s->top_values[j]->value, v))
            freq = s->top_values[j]->frequency;
    return tot > 0 ? 100 * freq / tot : 0;
}

/* Top values as bars, one per split: the first split's TOP_SHOWN most
 * frequent, then each other split's two most frequent not listed yet (a
 * value new in eval shows). */
static void string_chart(FILE *out, const splits_t *ss,
                         const cfx_feature_stats_t *const *fs) {
    const char *vals[TOP_SHOWN + 2 * MAX_SPLITS];
    size_t nv = 0;
    uint64_t unique = 0;
    for (size_t k = 0; k < ss->n; k++) {
        const Tensorflow__Metadata__V0__StringStatistics *s = str_stats(fs[k]);
        size_t added = 0, want = k == 0 ? TOP_SHOWN : 2;
        if (s && s->unique > unique)
            unique = s->unique;
        for (size_t j = 0; s && j < s->n_top_values && added < want; j++) {
            int seen = 0;
            for (size_t i = 0; i < nv && !seen; i++)
                seen = !strcmp(vals[i], s->top_values[j]->value);
            if (!seen) {
                vals[nv++] = s->top_values[j]->value;
                added++;
            }
        }
    }
    if (nv == 0) {
        fputs("<span class=\"muted small\">no values</span>", out);
        return;
    }
    /* an SVG like the histograms: per value its label, each split's
     * share after it, and one bar per split (the first two) */
    const int W = 240, ROW = 28;
    int more = unique > nv;
    int H = (int)nv * ROW + (more ? 14 : 2);
    fprintf(out,
            "<svg class=\"topvalues\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\">",
            W, H, W, H);
    for (size_t i = 0; i < nv; i++) {
        int y = (int)i * ROW;
        fprintf(out, "<text x=\"0\" y=\"%d\">", y + 10);
        size_t len = strlen(vals[i]);
        /* long values are cut (whole UTF-8 characters) in the chart; the
         * bar's title holds all of it */
        size_t cut = len;
        if (cut > 26) {
            cut = 25;
            while (cut > 0 && ((unsigned char)vals[i][cut] & 0xC0) == 0x80)
                cut--;
        }
        cfx_html_textn(out, vals[i], cut);
        if (cut < len)
            fputs("&#8230;", out);
        fputs("</text>", out);
        for (size_t k = 0; k < ss->n && k < 2; k++) {
            double sh = share(fs[k], vals[i]);
            fprintf(out,
                    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" "
                    "class=\"t%zu\">%.1f%%</text>",
                    k ? W : W - 40, y + 10, k, sh);
            fprintf(out,
                    "<rect class=\"bar s%zu\" x=\"0\" y=\"%d\" "
                    "width=\"%.1f\" height=\"5\"><title>",
                    k, y + 13 + 6 * (int)k,
                    sh / 100 * W > 1 ? sh / 100 * W : 1);
            cfx_html_textf(out, "%s: %s %.2f%%", ss->s[k].name, vals[i], sh);
            fputs("</title></rect>", out);
        }
    }
    if (more)
        fprintf(out,
                "<text x=\"0\" y=\"%d\" class=\"muted\">%llu more "
                "values</text>",
                H - 3, (unsigned long long)(unique - nv));
    fputs("</svg>", out);
}

int cfx_html_statistics(FILE *out, const char *stats_path,
                        const char *anomalies_path, cfx_error_t *err) {
    splits_t ss = {0};
    marks_t marks = {0};
    char nbuf[512];
    int rc = cfx_show_each_split_ud(stats_path, "FeatureStats.pb", collect, &ss,
                                    err);
    if (rc == 0 && anomalies_path)
        rc = cfx_show_each_split_ud(anomalies_path, "SchemaDiff.pb", mark_split,
                                    &marks, err);
    if (rc < 0)
        goto out;
    if (ss.n == 0) {
        rc = cfx_error_set(err, CFX_ENOTFOUND, "%s: no FeatureStats.pb",
                           stats_path);
        goto out;
    }
    /* features: the first split's in its order, then any other split's */
    const cfx_feature_stats_t **feats = NULL;
    size_t nf = 0, capf = 0;
    for (size_t k = 0; k < ss.n; k++)
        for (size_t i = 0; i < ss.s[k].d->n_features; i++) {
            const cfx_feature_stats_t *f = ss.s[k].d->features[i];
            const char *name = cfx_stats_feature_name(f, nbuf, sizeof nbuf);
            int seen = 0;
            for (size_t j = 0; j < nf && !seen; j++) {
                char b2[512];
                seen = !strcmp(cfx_stats_feature_name(feats[j], b2, sizeof b2),
                               name);
            }
            if (seen)
                continue;
            if (nf == capf) {
                size_t cap = capf ? 2 * capf : 32;
                const cfx_feature_stats_t **p = realloc(feats, cap * sizeof *p);
                if (!p) {
                    free(feats);
                    rc =
                        cfx_error_set(err, CFX_ENOMEM, "report: out of memory");
                    goto out;
                }
                feats = p, capf = cap;
            }
            feats[nf++] = f;
        }

    fputs("<section id=\"statistics\"><h2>Statistics</h2><p>", out);
    for (size_t k = 0; k < ss.n; k++) {
        fprintf(out, "%s<span class=\"split%zu\"><b>", k ? " &middot; " : "",
                k < 2 ? k : 1);
        cfx_html_text(out, ss.s[k].name);
        fprintf(out, "</b>: %llu examples</span>",
                (unsigned long long)ss.s[k].d->num_examples);
    }
    fprintf(out,
            " &middot; %zu features%s</p><input class=\"filter\" "
            "type=\"search\" placeholder=\"Filter features by name\" "
            "data-table=\"stats-table\" aria-label=\"filter features\">",
            nf,
            marks.n ? " &middot; <span class=\"badge fail\">features "
                      "with anomalies are highlighted</span>"
                    : "");
    fputs("<table id=\"stats-table\" class=\"sortable\"><thead><tr>"
          "<th>feature</th><th>type</th><th>count</th><th>missing</th>"
          "<th>zeros</th><th>min</th><th>mean</th><th>max</th>"
          "<th>std dev</th><th>unique</th><th>distribution</th></tr></thead>"
          "<tbody>\n",
          out);
    for (size_t i = 0; i < nf; i++) {
        char name[512];
        snprintf(name, sizeof name, "%s",
                 cfx_stats_feature_name(feats[i], nbuf, sizeof nbuf));
        const cfx_feature_stats_t *fs[MAX_SPLITS];
        int numeric = 0;
        for (size_t k = 0; k < ss.n; k++) {
            fs[k] = cfx_stats_find(ss.s[k].d, name);
            numeric |= num_stats(fs[k]) != NULL;
        }
        int anomalous = marked(&marks, name);
        fprintf(out, "<tr class=\"feature%s\" data-name=\"",
                anomalous ? " anomaly" : "");
        cfx_html_text(out, name);
        fputs("\"><td class=\"feat\">", out);
        cfx_html_text(out, name);
        if (anomalous)
            fputs(" <a class=\"badge fail\" href=\"#anomalies\">anomaly</a>",
                  out);
        fprintf(out, "</td><td>%s</td>", type_name(feats[i]));
        multi_cell(out, &ss, fs, COL_COUNT, "");
        multi_cell(out, &ss, fs, COL_MISSING, "%");
        multi_cell(out, &ss, fs, COL_ZEROS, "%");
        multi_cell(out, &ss, fs, COL_MIN, "");
        multi_cell(out, &ss, fs, COL_MEAN, "");
        multi_cell(out, &ss, fs, COL_MAX, "");
        multi_cell(out, &ss, fs, COL_STD, "");
        multi_cell(out, &ss, fs, COL_UNIQUE, "");
        fprintf(out, "<td class=\"chart %s\">",
                numeric ? "histogram" : "topvalues");
        if (numeric)
            numeric_chart(out, &ss, fs);
        else
            string_chart(out, &ss, fs);
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table></section>\n", out);
    free(feats);
out:
    for (size_t k = 0; k < ss.n; k++)
        cfx_stats_free(ss.s[k].list);
    for (size_t i = 0; i < marks.n; i++)
        free(marks.names[i]);
    free(marks.names);
    return rc;
}

int cfx_html_schema(FILE *out, const char *schema_path, cfx_error_t *err) {
    char p[4096];
    if (cfx_file_is_dir(schema_path)) {
        snprintf(p, sizeof p, "%s/schema.pbtxt", schema_path);
        schema_path = p;
    }
    cfx_schema_t *s = NULL;
    int rc = cfx_schema_read_text(schema_path, &s, err);
    if (rc < 0)
        return rc;
    fprintf(out,
            "<section id=\"schema\"><h2>Schema</h2><p>%zu features, %zu "
            "string domains</p><table id=\"schema-table\" "
            "class=\"sortable\"><thead><tr><th>feature</th><th>type</th>"
            "<th>presence</th><th>valency</th><th>domain</th></tr></thead>"
            "<tbody>\n",
            s->n_feature, s->n_string_domain);
    for (size_t i = 0; i < s->n_feature; i++) {
        cfx_show_schema_row_t r;
        cfx_show_schema_describe(s->feature[i], &r);
        fputs("<tr data-name=\"", out);
        cfx_html_text(out, s->feature[i]->name);
        fputs("\"><td class=\"feat\">", out);
        cfx_html_text(out, s->feature[i]->name);
        if (r.deprecated)
            fputs(" <span class=\"muted\">(deprecated)</span>", out);
        fprintf(out, "</td><td>%s</td><td>", r.type);
        cfx_html_text(out, r.presence);
        fputs("</td><td>", out);
        cfx_html_text(out, r.valency);
        fputs("</td><td>", out);
        cfx_html_text(out, r.domain);
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table>", out);
    for (size_t i = 0; i < s->n_string_domain; i++) {
        const Tensorflow__Metadata__V0__StringDomain *d = s->string_domain[i];
        fputs("<h3>Domain ", out);
        cfx_html_text(out, d->name);
        fprintf(out,
                " <span class=\"muted\">(%zu values)</span></h3><p "
                "class=\"small\">",
                d->n_value);
        for (size_t k = 0; k < d->n_value; k++) {
            if (k == 200) {
                fprintf(out, "&hellip; %zu more", d->n_value - k);
                break;
            }
            fputs("<span class=\"chip\">", out);
            cfx_html_text(out, d->value[k]);
            fputs("</span> ", out);
        }
        fputs("</p>", out);
    }
    fputs("</section>\n", out);
    cfx_schema_free(s);
    return 0;
}

static int anomalies_split(void *ud, const char *split, const char *path,
                           cfx_error_t *err) {
    FILE *out = ud;
    cfx_anomalies_t *a = NULL;
    int rc = cfx_anomalies_read(path, &a, err);
    if (rc < 0)
        return rc;
    size_t n = cfx_anomalies_count(a);
    fputs("<h3>Split ", out);
    cfx_html_text(out, split[0] ? split : "-");
    if (n == 0) {
        fprintf(out, ": <span class=\"badge pass\">no anomalies</span>%s</h3>",
                a->has_data_missing && a->data_missing
                    ? " (the data is missing: no examples)"
                    : "");
    } else {
        fprintf(out,
                ": <span class=\"badge fail\">%zu anomal%s</span></h3>"
                "<table class=\"anomalies sortable\"><thead><tr><th>feature"
                "</th><th>split</th><th>severity</th><th>reason</th>"
                "<th>description</th></tr></thead><tbody>\n",
                n, n == 1 ? "y" : "ies");
        for (size_t i = 0; i < a->n_anomaly_info + 1; i++) {
            const Tensorflow__Metadata__V0__AnomalyInfo *ai =
                i < a->n_anomaly_info ? a->anomaly_info[i]->value
                                      : a->dataset_anomaly_info;
            if (i == a->n_anomaly_info && !(ai && ai->n_reason))
                break;
            fputs("<tr class=\"anomaly\"><td class=\"feat\">", out);
            cfx_html_text(out, i < a->n_anomaly_info ? a->anomaly_info[i]->key
                                                     : "(dataset)");
            fputs("</td><td>", out);
            cfx_html_text(out, split);
            fprintf(out, "</td><td><span class=\"badge %s\">%s</span></td><td>",
                    ai && ai->severity == PB(ANOMALY_INFO__SEVERITY__ERROR)
                        ? "fail"
                        : "warn",
                    cfx_anomaly_severity_name(ai ? ai->severity : 0));
            for (size_t r = 0; ai && r < ai->n_reason; r++) {
                if (r)
                    fputs("<br>", out);
                cfx_html_text(out, cfx_anomaly_type_name(ai->reason[r]->type));
            }
            fputs("</td><td>", out);
            if (ai)
                cfx_html_text(out, ai->short_description);
            if (ai && ai->description && ai->description[0]) {
                fputs("<br><span class=\"muted small\">", out);
                cfx_html_text(out, ai->description);
                fputs("</span>", out);
            }
            fputs("</td></tr>\n", out);
        }
        fputs("</tbody></table>", out);
    }
    if (a->n_drift_skew_info) {
        fputs("<table class=\"drift\"><thead><tr><th>feature</th>"
              "<th>comparison</th><th>value</th><th>threshold</th></tr>"
              "</thead><tbody>",
              out);
        for (size_t i = 0; i < a->n_drift_skew_info; i++) {
            const Tensorflow__Metadata__V0__DriftSkewInfo *d =
                a->drift_skew_info[i];
            for (int kind = 0; kind < 2; kind++) {
                size_t nm =
                    kind ? d->n_skew_measurements : d->n_drift_measurements;
                Tensorflow__Metadata__V0__DriftSkewInfo__Measurement **ms =
                    kind ? d->skew_measurements : d->drift_measurements;
                for (size_t k = 0; k < nm; k++) {
                    int over = ms[k]->value > ms[k]->threshold;
                    fprintf(out, "<tr%s><td class=\"feat\">",
                            over ? " class=\"anomaly\"" : "");
                    cfx_html_text(out, d->path && d->path->n_step
                                           ? d->path->step[0]
                                           : "?");
                    fprintf(out, "</td><td>%s</td>", kind ? "skew" : "drift");
                    cfx_html_num_cell(out, ms[k]->value, NULL);
                    cfx_html_num_cell(out, ms[k]->threshold, NULL);
                    fputs("</tr>", out);
                }
            }
        }
        fputs("</tbody></table>", out);
    }
    cfx_anomalies_free(a);
    return 0;
}

int cfx_html_anomalies(FILE *out, const char *anomalies_path,
                       cfx_error_t *err) {
    fputs("<section id=\"anomalies\"><h2>Anomalies</h2>", out);
    int rc = cfx_show_each_split_ud(anomalies_path, "SchemaDiff.pb",
                                    anomalies_split, out, err);
    fputs("</section>\n", out);
    return rc;
}

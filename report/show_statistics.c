/*
 * show_statistics.c: `cfx show` for ExampleStatistics — per split, a table
 * of numeric features and one of string features, then each numeric
 * feature's STANDARD histogram and each string feature's top values as
 * unicode block bars.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "data/stats_io.h"
#include "report/show.h"

#define PB(x) TENSORFLOW__METADATA__V0__##x
#define BAR_WIDTH 30
#define TOP_SHOWN 5

int cfx_show_statistics_detect(const char *path) {
    return cfx_show_has_split_file(path, "FeatureStats.pb");
}

static double pct(double part, double whole) {
    return whole > 0 ? 100.0 * part / whole : 0;
}

static const Tensorflow__Metadata__V0__Histogram *
standard_histogram(const Tensorflow__Metadata__V0__NumericStatistics *ns) {
    for (size_t i = 0; i < ns->n_histograms; i++)
        if (ns->histograms[i]->type == PB(HISTOGRAM__HISTOGRAM_TYPE__STANDARD))
            return ns->histograms[i];
    return NULL;
}

static int render_dataset(const char *split, const cfx_dataset_stats_t *d,
                          FILE *out) {
    char nbuf[512];
    double n_ex = (double)d->num_examples;
    fprintf(out, "Split %s: %llu examples, %zu features\n\n",
            split[0] ? split : "-", (unsigned long long)d->num_examples,
            d->n_features);
    cfx_show_table_t num, str;
    cfx_show_table_init(&num, 11);
    cfx_show_table_init(&str, 8);
    num.right_align = 0x7FC; /* columns 2..10 */
    str.right_align = 0xDC;  /* count, missing, unique, freq, avg len */
    int rc = 0;
    const char *nh[] = {"numeric feature", "type",  "count", "missing", "mean",
                        "std dev",         "zeros", "min",   "median",  "max",
                        "histogram"};
    for (size_t i = 0; i < 11 && rc == 0; i++)
        rc = cfx_show_table_cell(&num, "%s", nh[i]);
    const char *sh[] = {"string feature", "type",      "count", "missing",
                        "unique",         "top value", "freq",  "avg len"};
    for (size_t i = 0; i < 8 && rc == 0; i++)
        rc = cfx_show_table_cell(&str, "%s", sh[i]);
    size_t n_num = 0, n_str = 0;
    for (size_t i = 0; i < d->n_features && rc == 0; i++) {
        const cfx_feature_stats_t *f = d->features[i];
        const char *name = cfx_stats_feature_name(f, nbuf, sizeof nbuf);
        const cfx_common_stats_t *c = cfx_stats_common(f);
        double nm = c ? (double)c->num_missing : n_ex;
        unsigned long long cnt = c ? (unsigned long long)c->num_non_missing : 0;
        const char *type =
            f->type == PB(FEATURE_NAME_STATISTICS__TYPE__INT)      ? "INT"
            : f->type == PB(FEATURE_NAME_STATISTICS__TYPE__FLOAT)  ? "FLOAT"
            : f->type == PB(FEATURE_NAME_STATISTICS__TYPE__BYTES)  ? "BYTES"
            : f->type == PB(FEATURE_NAME_STATISTICS__TYPE__STRUCT) ? "STRUCT"
                                                                   : "STRING";
        if (f->stats_case == PB(FEATURE_NAME_STATISTICS__STATS_NUM_STATS) &&
            f->num_stats) {
            const Tensorflow__Metadata__V0__NumericStatistics *ns =
                f->num_stats;
            const Tensorflow__Metadata__V0__Histogram *h =
                standard_histogram(ns);
            double v[64];
            size_t nb = 0;
            for (; h && nb < h->n_buckets && nb < 64; nb++)
                v[nb] = h->buckets[nb]->sample_count;
            char spark[64 * 3 + 1];
            cfx_show_spark(v, nb, spark, sizeof spark);
            double tot = c ? (double)c->tot_num_values : 0;
            rc = cfx_show_table_cell(&num, "%s", name);
            if (!rc)
                rc = cfx_show_table_cell(&num, "%s", type);
            if (!rc)
                rc = cfx_show_table_cell(&num, "%llu", cnt);
            if (!rc)
                rc = cfx_show_table_cell(&num, "%.1f%%", pct(nm, n_ex));
            if (tot == 0) {
                /* no values at all: TFDV computes only common stats */
                for (int k = 0; k < 6 && !rc; k++)
                    rc = cfx_show_table_cell(&num, "-");
            } else {
                if (!rc)
                    rc = cfx_show_table_cell(&num, "%.6g", ns->mean);
                if (!rc)
                    rc = cfx_show_table_cell(&num, "%.6g", ns->std_dev);
                if (!rc)
                    rc = cfx_show_table_cell(&num, "%.1f%%",
                                             pct((double)ns->num_zeros, tot));
                if (!rc)
                    rc = cfx_show_table_cell(&num, "%.6g", ns->min);
                if (!rc)
                    rc = cfx_show_table_cell(&num, "%.6g", ns->median);
                if (!rc)
                    rc = cfx_show_table_cell(&num, "%.6g", ns->max);
            }
            if (!rc)
                rc = cfx_show_table_cell(&num, "%s", spark);
            n_num++;
        } else {
            const Tensorflow__Metadata__V0__StringStatistics *ss =
                f->stats_case == PB(FEATURE_NAME_STATISTICS__STATS_STRING_STATS)
                    ? f->string_stats
                    : NULL;
            const char *top = "";
            double freq = 0, vals = c ? (double)c->tot_num_values : 0;
            if (ss && ss->n_top_values) {
                top = ss->top_values[0]->value;
                freq = ss->top_values[0]->frequency;
            } else if (ss && ss->rank_histogram &&
                       ss->rank_histogram->n_buckets) {
                top = ss->rank_histogram->buckets[0]->label;
                freq = ss->rank_histogram->buckets[0]->sample_count;
            }
            rc = cfx_show_table_cell(&str, "%s", name);
            if (!rc)
                rc = cfx_show_table_cell(&str, "%s", type);
            if (!rc)
                rc = cfx_show_table_cell(&str, "%llu", cnt);
            if (!rc)
                rc = cfx_show_table_cell(&str, "%.1f%%", pct(nm, n_ex));
            if (!rc)
                rc = cfx_show_table_cell(
                    &str, "%llu", ss ? (unsigned long long)ss->unique : 0ULL);
            if (!rc)
                rc = cfx_show_table_cell(&str, "%s", top);
            if (!rc)
                rc = cfx_show_table_cell(&str, "%.1f%%", pct(freq, vals));
            if (!rc)
                rc = cfx_show_table_cell(&str, "%.1f",
                                         ss ? (double)ss->avg_length : 0);
            n_str++;
        }
    }
    if (rc == 0 && n_num) {
        cfx_show_table_print(&num, out);
        fputc('\n', out);
    }
    if (rc == 0 && n_str) {
        cfx_show_table_print(&str, out);
        fputc('\n', out);
    }
    cfx_show_table_free(&num);
    cfx_show_table_free(&str);
    if (rc < 0)
        return rc;

    /* Details: histograms and top values. */
    for (size_t i = 0; i < d->n_features; i++) {
        const cfx_feature_stats_t *f = d->features[i];
        const char *name = cfx_stats_feature_name(f, nbuf, sizeof nbuf);
        cfx_show_table_t t;
        if (f->stats_case == PB(FEATURE_NAME_STATISTICS__STATS_NUM_STATS) &&
            f->num_stats) {
            const Tensorflow__Metadata__V0__Histogram *h =
                standard_histogram(f->num_stats);
            if (!h || h->n_buckets == 0)
                continue;
            double max = 0;
            for (size_t b = 0; b < h->n_buckets; b++)
                if (h->buckets[b]->sample_count > max)
                    max = h->buckets[b]->sample_count;
            fprintf(out, "%s\n", name);
            cfx_show_table_init(&t, 3);
            t.right_align = 0x2;
            rc = cfx_show_table_cell(&t, "bucket");
            if (!rc)
                rc = cfx_show_table_cell(&t, "count");
            if (!rc)
                rc = cfx_show_table_cell(&t, " ");
            for (size_t b = 0; b < h->n_buckets && rc == 0; b++) {
                char bar[BAR_WIDTH * 3 + 4];
                cfx_show_bar(max > 0 ? h->buckets[b]->sample_count / max : 0,
                             BAR_WIDTH, bar, sizeof bar);
                rc = cfx_show_table_cell(&t, "[%.6g, %.6g%s",
                                         h->buckets[b]->low_value,
                                         h->buckets[b]->high_value,
                                         b + 1 == h->n_buckets ? "]" : ")");
                if (!rc)
                    rc = cfx_show_table_cell(&t, "%.6g",
                                             h->buckets[b]->sample_count);
                if (!rc)
                    rc = cfx_show_table_cell(&t, "%s", bar);
            }
            if (rc == 0)
                cfx_show_table_print(&t, out);
            if (h->num_nan)
                fprintf(out, "  (%llu NaN)\n", (unsigned long long)h->num_nan);
            fputc('\n', out);
            cfx_show_table_free(&t);
        } else if (f->stats_case ==
                       PB(FEATURE_NAME_STATISTICS__STATS_STRING_STATS) &&
                   f->string_stats && f->string_stats->n_top_values) {
            const Tensorflow__Metadata__V0__StringStatistics *ss =
                f->string_stats;
            const cfx_common_stats_t *c = cfx_stats_common(f);
            double vals = c ? (double)c->tot_num_values : 0;
            fprintf(out, "%s: top values of %llu\n", name,
                    (unsigned long long)ss->unique);
            cfx_show_table_init(&t, 3);
            t.right_align = 0x2;
            rc = cfx_show_table_cell(&t, "value");
            if (!rc)
                rc = cfx_show_table_cell(&t, "count");
            if (!rc)
                rc = cfx_show_table_cell(&t, " ");
            for (size_t k = 0; k < ss->n_top_values && k < TOP_SHOWN && rc == 0;
                 k++) {
                char bar[BAR_WIDTH * 3 + 4];
                cfx_show_bar(vals > 0 ? ss->top_values[k]->frequency / vals : 0,
                             BAR_WIDTH, bar, sizeof bar);
                rc = cfx_show_table_cell(&t, "%s", ss->top_values[k]->value);
                if (!rc)
                    rc = cfx_show_table_cell(&t, "%.6g",
                                             ss->top_values[k]->frequency);
                if (!rc)
                    rc = cfx_show_table_cell(
                        &t, "%s %.1f%%", bar,
                        pct(ss->top_values[k]->frequency, vals));
            }
            if (rc == 0)
                cfx_show_table_print(&t, out);
            if (ss->n_top_values > TOP_SHOWN)
                fprintf(out, "  … %zu more\n", ss->n_top_values - TOP_SHOWN);
            fputc('\n', out);
            cfx_show_table_free(&t);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int render_file(const char *split, const char *path, FILE *out,
                       cfx_error_t *err) {
    cfx_stats_list_t *l = NULL;
    int rc = cfx_stats_read(path, &l, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < l->n_datasets && rc == 0; i++) {
        char label[300];
        if (l->n_datasets > 1 && l->datasets[i]->name &&
            l->datasets[i]->name[0])
            snprintf(label, sizeof label, "%s (%s)", split,
                     l->datasets[i]->name);
        else
            snprintf(label, sizeof label, "%s", split);
        rc = render_dataset(label, l->datasets[i], out);
        if (rc < 0)
            cfx_error_set(err, rc, "%s: rendering failed", path);
    }
    cfx_stats_free(l);
    return rc;
}

int cfx_show_statistics(const char *path, FILE *out, cfx_error_t *err) {
    return cfx_show_each_split(path, "FeatureStats.pb", render_file, out, err);
}

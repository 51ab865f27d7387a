/*
 * validate.c: ExampleValidator — TFDV's validate_statistics over one split
 * (see validate.h and docs/validation.md), and the per-split component.
 *
 * For each feature of the statistics, in order, the checks TFDV's
 * Schema::UpdateFeatureInternal makes, each one recording a reason and
 * fixing the working copy of the schema:
 *   not present at all while required (FEATURE_TYPE_NOT_PRESENT), value
 *   counts, shape, presence, data type, domain (string, bool, int, float),
 *   unique-value constraints, then the drift and skew comparators.
 * Then schema features absent from the statistics (SCHEMA_MISSING_COLUMN)
 * and dataset-level constraints. Descriptions use TFDV's wording where it
 * is known, so tooling that matches on them keeps working.
 */
#include "data/validate.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/drift.h"
#include "formats/buf.h"
#include "formats/file.h"
#include "formats/pbcodec.h"

#define PB(x) TENSORFLOW__METADATA__V0__##x
#define AT(x) TENSORFLOW__METADATA__V0__ANOMALY_INFO__TYPE__##x

typedef Tensorflow__Metadata__V0__AnomalyInfo anomaly_info_t;
typedef Tensorflow__Metadata__V0__AnomalyInfo__Reason reason_pb_t;
typedef Tensorflow__Metadata__V0__DriftSkewInfo drift_skew_t;
typedef Tensorflow__Metadata__V0__DriftSkewInfo__Measurement measurement_t;
typedef Tensorflow__Metadata__V0__FeatureComparator comparator_t;
typedef Tensorflow__Metadata__V0__StringDomain string_domain_t;

/* Longest description kept (a list of unexpected values can be long). */
#define MAX_DESCRIPTION 4096

/* --- reasons
 * -------------------------------------------------------------------- */

typedef struct {
    reason_pb_t **r;
    size_t n;
    int oom;
} reasons_t;

static void reasons_free(reasons_t *rs) {
    for (size_t i = 0; i < rs->n; i++)
        protobuf_c_message_free_unpacked(&rs->r[i]->base, NULL);
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}

static void add_reason(reasons_t *rs, int type, const char *short_desc,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_reason(reasons_t *rs, int type, const char *short_desc,
                       const char *fmt, ...) {
    char buf[MAX_DESCRIPTION];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    reason_pb_t *r = malloc(sizeof *r);
    if (!r) {
        rs->oom = 1;
        return;
    }
    tensorflow__metadata__v0__anomaly_info__reason__init(r);
    r->has_type = 1;
    r->type = type;
    r->short_description = strdup(short_desc);
    r->description = strdup(buf);
    if (!r->short_description || !r->description ||
        CFX_PB_PUSH(rs->r, rs->n, r) < 0) {
        protobuf_c_message_free_unpacked(&r->base, NULL);
        rs->oom = 1;
    }
}

/* --- names
 * ----------------------------------------------------------------------- */

const char *cfx_anomaly_type_name(int type) {
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &tensorflow__metadata__v0__anomaly_info__type__descriptor, type);
    return v ? v->name : "?";
}

const char *cfx_anomaly_severity_name(int severity) {
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &tensorflow__metadata__v0__anomaly_info__severity__descriptor,
        severity);
    return v ? v->name : "?";
}

static const char *stats_type_name(int t) {
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &tensorflow__metadata__v0__feature_name_statistics__type__descriptor,
        t);
    return v ? v->name : "unknown";
}

static const char *schema_type_name(int t) {
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &tensorflow__metadata__v0__feature_type__descriptor, t);
    return v ? v->name : "unknown";
}

/* --- the pass
 * ---------------------------------------------------------------------- */

typedef struct {
    cfx_schema_t *schema; /* the working copy being fixed */
    const cfx_dataset_stats_t *stats;
    const cfx_validate_options_t *opt;
    cfx_anomalies_t *out;
    cfx_error_t *err;
} pass_t;

static int lifecycle_deprecated(int stage) {
    switch (stage) {
    case PB(LIFECYCLE_STAGE__PLANNED):
    case PB(LIFECYCLE_STAGE__ALPHA):
    case PB(LIFECYCLE_STAGE__DEPRECATED):
    case PB(LIFECYCLE_STAGE__DEBUG_ONLY):
    case PB(LIFECYCLE_STAGE__DISABLED):
        return 1;
    default:
        return 0;
    }
}

static int feature_deprecated(const cfx_schema_feature_t *f) {
    return (f->has_deprecated && f->deprecated) ||
           (f->has_lifecycle_stage && lifecycle_deprecated(f->lifecycle_stage));
}

static void deprecate(cfx_schema_feature_t *f) {
    f->has_lifecycle_stage = 1;
    f->lifecycle_stage = PB(LIFECYCLE_STAGE__DEPRECATED);
}

static int existence_required(const cfx_schema_feature_t *f) {
    if (f->presence_constraints_case ==
            PB(FEATURE__PRESENCE_CONSTRAINTS_PRESENCE) &&
        f->presence)
        return (f->presence->has_min_count && f->presence->min_count > 0) ||
               (f->presence->has_min_fraction && f->presence->min_fraction > 0);
    if (f->presence_constraints_case ==
            PB(FEATURE__PRESENCE_CONSTRAINTS_GROUP_PRESENCE) &&
        f->group_presence)
        return f->group_presence->has_required && f->group_presence->required;
    return 0;
}

static int has_string(char **v, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (v[i] && !strcmp(v[i], s))
            return 1;
    return 0;
}

/* TFDV's IsFeatureInEnvironment. */
static int in_environment(const cfx_schema_t *s, const cfx_schema_feature_t *f,
                          const char *env) {
    if (!env)
        return 1;
    if (has_string(f->in_environment, f->n_in_environment, env))
        return 1;
    if (has_string(f->not_in_environment, f->n_not_in_environment, env))
        return 0;
    return has_string(s->default_environment, s->n_default_environment, env);
}

static void clear_domain(cfx_schema_feature_t *f) {
    /* The oneof's members share one slot: a string for `domain`, else a
     * message whose own descriptor frees it. */
    if (f->domain_info_case == PB(FEATURE__DOMAIN_INFO_DOMAIN))
        free(f->domain);
    else if (f->domain_info_case != PB(FEATURE__DOMAIN_INFO__NOT_SET) &&
             f->int_domain)
        protobuf_c_message_free_unpacked(&f->int_domain->base, NULL);
    f->domain = NULL;
    f->domain_info_case = PB(FEATURE__DOMAIN_INFO__NOT_SET);
}

/* Utf8SafeCEscape-like: escapes quotes, backslash and control bytes. */
static void c_escape(const char *s, char *out, size_t n) {
    size_t w = 0;
    for (; *s && w + 5 < n; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '\n':
            out[w++] = '\\';
            out[w++] = 'n';
            break;
        case '\r':
            out[w++] = '\\';
            out[w++] = 'r';
            break;
        case '\t':
            out[w++] = '\\';
            out[w++] = 't';
            break;
        case '"':
            out[w++] = '\\';
            out[w++] = '"';
            break;
        case '\'':
            out[w++] = '\\';
            out[w++] = '\'';
            break;
        case '\\':
            out[w++] = '\\';
            out[w++] = '\\';
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                w += (size_t)snprintf(out + w, n - w, "\\%03o", c);
            else
                out[w++] = (char)c;
        }
    }
    out[w] = 0;
}

static void percentage(double count, double total, char *out, size_t n) {
    if (total == 0) {
        snprintf(out, n, "?");
        return;
    }
    double pct = 100 * count / total;
    if (pct < 1.0)
        snprintf(out, n, "<1%%");
    else
        snprintf(out, n, "~%d%%", (int)floor(pct));
}

typedef struct {
    const char *value;
    double count;
} valcount_t;

static int valcount_cmp(const void *a, const void *b) {
    return strcmp(((const valcount_t *)a)->value,
                  ((const valcount_t *)b)->value);
}

/* Values with counts of f (rank_histogram, else top_values), byte order,
 * duplicates summed. */
static int value_counts(const cfx_feature_stats_t *f, valcount_t **out,
                        size_t *n) {
    *out = NULL;
    *n = 0;
    if (f->stats_case != PB(FEATURE_NAME_STATISTICS__STATS_STRING_STATS) ||
        !f->string_stats)
        return 0;
    const Tensorflow__Metadata__V0__StringStatistics *s = f->string_stats;
    int rank = s->rank_histogram && s->rank_histogram->n_buckets;
    size_t m = rank ? s->rank_histogram->n_buckets : s->n_top_values;
    if (m == 0)
        return 0;
    valcount_t *v = malloc(m * sizeof *v);
    if (!v)
        return CFX_ENOMEM;
    for (size_t i = 0; i < m; i++) {
        v[i].value = rank ? s->rank_histogram->buckets[i]->label
                          : s->top_values[i]->value;
        v[i].count = rank ? s->rank_histogram->buckets[i]->sample_count
                          : s->top_values[i]->frequency;
        if (!v[i].value)
            v[i].value = "";
    }
    qsort(v, m, sizeof *v, valcount_cmp);
    size_t w = 0;
    for (size_t i = 0; i < m; i++) {
        if (w && !strcmp(v[w - 1].value, v[i].value))
            v[w - 1].count += v[i].count;
        else
            v[w++] = v[i];
    }
    *out = v;
    *n = w;
    return 0;
}

static int domain_has(const string_domain_t *d, const char *v) {
    for (size_t i = 0; i < d->n_value; i++)
        if (!strcmp(d->value[i], v))
            return 1;
    return 0;
}

static int check_string_domain(cfx_schema_feature_t *feat,
                               const cfx_feature_stats_t *f, string_domain_t *d,
                               reasons_t *rs) {
    valcount_t *vc;
    size_t n;
    /* A value that is not UTF-8 cannot be compared with a domain of
     * strings: TFDV reports that alone and drops the domain from the
     * fixed schema. */
    if (f->stats_case == PB(FEATURE_NAME_STATISTICS__STATS_STRING_STATS) &&
        f->string_stats && f->string_stats->invalid_utf8_count > 0) {
        add_reason(rs, AT(ENUM_TYPE_INVALID_UTF8), "Invalid UTF8 strings",
                   "Found strings that were not valid UTF8 strings.");
        clear_domain(feat);
        return 0;
    }
    int rc = value_counts(f, &vc, &n);
    if (rc < 0)
        return rc;
    double max_off = 0;
    if (feat->distribution_constraints &&
        feat->distribution_constraints->has_min_domain_mass)
        max_off = 1.0 - feat->distribution_constraints->min_domain_mass;
    const cfx_common_stats_t *c = cfx_stats_common(f);
    double total = c ? (double)c->tot_num_values : 0;
    double missing = 0;
    size_t n_missing = 0;
    for (size_t i = 0; i < n; i++)
        if (!domain_has(d, vc[i].value)) {
            missing += vc[i].count;
            vc[n_missing++] = vc[i]; /* keep only the missing, still sorted */
        }
    if ((total > 0 && missing / total > max_off) ||
        (max_off == 0 && n_missing)) {
        cfx_buf_t b;
        cfx_buf_init(&b);
        for (size_t i = 0; i < n_missing; i++) {
            char esc[512], pct[16];
            c_escape(vc[i].value, esc, sizeof esc);
            percentage((double)(int64_t)vc[i].count, total, pct, sizeof pct);
            if (b.len < MAX_DESCRIPTION)
                cfx_buf_printf(&b, "%s%s (%s)", i ? ", " : "", esc, pct);
        }
        cfx_buf_cstr(&b);
        add_reason(rs, AT(ENUM_TYPE_UNEXPECTED_STRING_VALUES),
                   "Unexpected string values",
                   "Examples contain values missing from the schema: %s. ",
                   b.data ? (const char *)b.data : "");
        cfx_buf_free(&b);
        /* Fix: append the missing values, in byte order. */
        char **nv = realloc(d->value, (d->n_value + n_missing) * sizeof *nv);
        if (!nv) {
            rc = CFX_ENOMEM;
            goto out;
        }
        d->value = nv;
        for (size_t i = 0; i < n_missing; i++) {
            char *s = strdup(vc[i].value);
            if (!s) {
                rc = CFX_ENOMEM;
                goto out;
            }
            d->value[d->n_value++] = s;
        }
    }
out:
    free(vc);
    return rc;
}

static void check_bool_domain(cfx_schema_feature_t *feat,
                              const cfx_feature_stats_t *f, reasons_t *rs) {
    const Tensorflow__Metadata__V0__BoolDomain *bd = feat->bool_domain;
    int bad = 0;
    if (f->type == PB(FEATURE_NAME_STATISTICS__TYPE__INT) && f->num_stats) {
        if (f->num_stats->min < 0) {
            add_reason(rs, AT(BOOL_TYPE_SMALL_INT), "Non-boolean values",
                       "Integers (such as %.6g) not 0 or 1 found.",
                       f->num_stats->min);
            bad = 1;
        }
        if (f->num_stats->max > 1) {
            add_reason(rs, AT(BOOL_TYPE_BIG_INT), "Non-boolean values",
                       "Integers (such as %.6g) not 0 or 1 found.",
                       f->num_stats->max);
            bad = 1;
        }
    } else if (f->type == PB(FEATURE_NAME_STATISTICS__TYPE__FLOAT) &&
               f->num_stats) {
        const Tensorflow__Metadata__V0__NumericStatistics *ns = f->num_stats;
        int nan = 0;
        for (size_t i = 0; i < ns->n_histograms; i++)
            if (ns->histograms[i]->num_nan)
                nan = 1;
        if ((ns->min != 0 && ns->min != 1) || (ns->max != 0 && ns->max != 1) ||
            nan) {
            add_reason(rs, AT(BOOL_TYPE_UNEXPECTED_FLOAT), "Non-boolean values",
                       "Float values other than 0 and 1 found.");
            bad = 1;
        }
    } else if (f->type == PB(FEATURE_NAME_STATISTICS__TYPE__STRING)) {
        const char **v;
        size_t n;
        if (cfx_schema_string_values(f, &v, &n) < 0) {
            rs->oom = 1;
            return;
        }
        for (size_t i = 0; i < n; i++) {
            int ok = (bd->true_value && !strcmp(v[i], bd->true_value)) ||
                     (bd->false_value && !strcmp(v[i], bd->false_value));
            if (!ok) {
                char esc[256];
                c_escape(v[i], esc, sizeof esc);
                add_reason(
                    rs, AT(BOOL_TYPE_UNEXPECTED_STRING), "Non-boolean values",
                    "Saw value %s that is neither true_value nor false_value.",
                    esc);
                bad = 1;
                break;
            }
        }
        free(v);
    }
    if (bad)
        clear_domain(feat);
}

static void check_int_domain(cfx_schema_feature_t *feat,
                             const cfx_feature_stats_t *f, reasons_t *rs) {
    Tensorflow__Metadata__V0__IntDomain *d = feat->int_domain;
    int have = 0;
    int64_t lo = 0, hi = 0;
    if (f->type == PB(FEATURE_NAME_STATISTICS__TYPE__INT) && f->num_stats) {
        lo = (int64_t)f->num_stats->min;
        hi = (int64_t)f->num_stats->max;
        have = 1;
    } else if (f->type == PB(FEATURE_NAME_STATISTICS__TYPE__STRING)) {
        const char **v;
        size_t n;
        if (cfx_schema_string_values(f, &v, &n) < 0) {
            rs->oom = 1;
            return;
        }
        for (size_t i = 0; i < n; i++) {
            int64_t x;
            if (!cfx_schema_parse_int(v[i], &x)) {
                char esc[256];
                c_escape(v[i], esc, sizeof esc);
                add_reason(
                    rs, AT(INT_TYPE_NOT_INT_STRING), "Non-integer values",
                    "String values that were not ints were found, such as "
                    "\"%s\".",
                    esc);
                free(v);
                clear_domain(feat);
                return;
            }
            if (!have || x < lo)
                lo = x;
            if (!have || x > hi)
                hi = x;
            have = 1;
        }
        free(v);
    }
    if (!have)
        return;
    if (d->has_min && lo < d->min) {
        add_reason(rs, AT(INT_TYPE_SMALL_INT), "Out-of-range values",
                   "Unexpectedly small value: %lld.", (long long)lo);
        d->min = lo;
    }
    if (d->has_max && hi > d->max) {
        add_reason(rs, AT(INT_TYPE_BIG_INT), "Out-of-range values",
                   "Unexpectedly large value: %lld.", (long long)hi);
        d->max = hi;
    }
}

static void check_float_domain(cfx_schema_feature_t *feat,
                               const cfx_feature_stats_t *f, reasons_t *rs) {
    Tensorflow__Metadata__V0__FloatDomain *d = feat->float_domain;
    if ((f->type == PB(FEATURE_NAME_STATISTICS__TYPE__FLOAT) ||
         f->type == PB(FEATURE_NAME_STATISTICS__TYPE__INT)) &&
        f->num_stats) {
        const Tensorflow__Metadata__V0__NumericStatistics *ns = f->num_stats;
        if (d->has_min && ns->min < d->min) {
            add_reason(
                rs, AT(FLOAT_TYPE_SMALL_FLOAT), "Out-of-range values",
                "Unexpectedly low values: %.6g<%.6g(upto six significant "
                "digits)",
                ns->min, (double)d->min);
            d->min = (float)ns->min;
        }
        if (d->has_max && ns->max > d->max) {
            add_reason(
                rs, AT(FLOAT_TYPE_BIG_FLOAT), "Out-of-range values",
                "Unexpectedly high value: %.6g>%.6g(upto six significant "
                "digits)",
                ns->max, (double)d->max);
            d->max = (float)ns->max;
        }
        uint64_t nan = 0;
        for (size_t i = 0; i < ns->n_histograms; i++)
            if (ns->histograms[i]->num_nan > nan)
                nan = ns->histograms[i]->num_nan;
        if (d->has_disallow_nan && d->disallow_nan && nan > 0)
            add_reason(rs, AT(FLOAT_TYPE_HAS_NAN), "Invalid values",
                       "Float feature has NaN values.");
        if (d->has_disallow_inf && d->disallow_inf &&
            (isinf(ns->min) || isinf(ns->max)))
            add_reason(rs, AT(FLOAT_TYPE_HAS_INF), "Invalid values",
                       "Float feature has Inf values.");
    } else if (f->type == PB(FEATURE_NAME_STATISTICS__TYPE__STRING)) {
        const char **v;
        size_t n;
        if (cfx_schema_string_values(f, &v, &n) < 0) {
            rs->oom = 1;
            return;
        }
        for (size_t i = 0; i < n; i++) {
            char *end;
            strtod(v[i], &end);
            while (*end == ' ' || (*end >= '\t' && *end <= '\r'))
                end++;
            if (end == v[i] || *end) {
                char esc[256];
                c_escape(v[i], esc, sizeof esc);
                add_reason(
                    rs, AT(FLOAT_TYPE_STRING_NOT_FLOAT),
                    "String values not float",
                    "String values that were not floats were found, such as "
                    "\"%s\".",
                    esc);
                clear_domain(feat);
                break;
            }
        }
        free(v);
    }
}

/* --- comparators
 * ------------------------------------------------------------------ */

static measurement_t *new_measurement(int type, double value,
                                      double threshold) {
    measurement_t *m = malloc(sizeof *m);
    if (!m)
        return NULL;
    tensorflow__metadata__v0__drift_skew_info__measurement__init(m);
    m->has_type = m->has_value = m->has_threshold = 1;
    m->type = type;
    m->value = value;
    m->threshold = threshold;
    return m;
}

#define MT(x) TENSORFLOW__METADATA__V0__DRIFT_SKEW_INFO__MEASUREMENT__TYPE__##x

static int compare(pass_t *p, comparator_t *cmp, const char *name,
                   const cfx_feature_stats_t *f, int drift, reasons_t *rs,
                   drift_skew_t **dsi) {
    if (!cmp)
        return 0;
    int has_linf = cmp->infinity_norm && cmp->infinity_norm->has_threshold;
    int has_jsd = cmp->jensen_shannon_divergence &&
                  cmp->jensen_shannon_divergence->has_threshold;
    int has_nad = cmp->normalized_abs_difference &&
                  cmp->normalized_abs_difference->has_threshold;
    if (!has_linf && !has_jsd && !has_nad)
        return 0;
    const cfx_dataset_stats_t *control =
        drift ? p->opt->previous : p->opt->serving;
    if (!control)
        return 0; /* nothing to compare with: no check */
    const char *treatment_name = drift ? "current" : "training";
    const char *control_name = drift ? "previous" : "serving";
    const cfx_feature_stats_t *cf = cfx_stats_find(control, name);
    if (!cf) {
        if (has_linf)
            cmp->infinity_norm->has_threshold = 0;
        if (has_jsd)
            cmp->jensen_shannon_divergence->has_threshold = 0;
        if (has_nad)
            cmp->normalized_abs_difference->has_threshold = 0;
        char sd[64];
        snprintf(sd, sizeof sd, "%s data missing", control_name);
        add_reason(rs, AT(COMPARATOR_CONTROL_DATA_MISSING), sd,
                   "%s data is missing.", control_name);
        return 0;
    }
    measurement_t *ms[3];
    size_t n_ms = 0;
    cfx_error_t e;
    cfx_error_init(&e);
    if (has_linf) {
        double v;
        const char *maxv = "";
        double thr = cmp->infinity_norm->threshold;
        if (cfx_drift_linf(f, cf, &v, &maxv, &e) == 0) {
            if (!(ms[n_ms++] = new_measurement(MT(L_INFTY), v, thr)))
                return CFX_ENOMEM;
            if (v > thr) {
                char esc[512];
                c_escape(maxv, esc, sizeof esc);
                char sd[128];
                snprintf(sd, sizeof sd,
                         "High Linfty distance between %s and %s",
                         treatment_name, control_name);
                add_reason(
                    rs, AT(COMPARATOR_L_INFTY_HIGH), sd,
                    "The Linfty distance between %s and %s is %.6g (up to six "
                    "significant digits), above the threshold %.6g. The "
                    "feature value with maximum difference is: %s",
                    treatment_name, control_name, v, thr, esc);
                cmp->infinity_norm->threshold = v;
            }
        }
    }
    if (has_jsd) {
        double v;
        double thr = cmp->jensen_shannon_divergence->threshold;
        int htype = PB(HISTOGRAM__HISTOGRAM_TYPE__STANDARD);
        if (cmp->jensen_shannon_divergence->source &&
            cmp->jensen_shannon_divergence->source->has_type &&
            cmp->jensen_shannon_divergence->source->type ==
                PB(HISTOGRAM_SELECTION__TYPE__QUANTILES))
            htype = PB(HISTOGRAM__HISTOGRAM_TYPE__QUANTILES);
        if (cfx_drift_jsd(f, cf, htype, &v, &e) == 0) {
            measurement_t *m =
                new_measurement(MT(JENSEN_SHANNON_DIVERGENCE), v, thr);
            if (!m) {
                for (size_t i = 0; i < n_ms; i++)
                    free(ms[i]);
                return CFX_ENOMEM;
            }
            ms[n_ms++] = m;
            if (v > thr) {
                char sd[128];
                snprintf(sd, sizeof sd,
                         "High approximate Jensen-Shannon divergence between "
                         "%s and %s",
                         treatment_name, control_name);
                add_reason(
                    rs, AT(COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH), sd,
                    "The approximate Jensen-Shannon divergence between %s and "
                    "%s is %.6g (up to six significant digits), above the "
                    "threshold %.6g.",
                    treatment_name, control_name, v, thr);
                cmp->jensen_shannon_divergence->threshold = v;
            }
        }
    }
    if (has_nad) {
        double v;
        const char *maxv = "";
        double thr = cmp->normalized_abs_difference->threshold;
        if (cfx_drift_normalized_abs_difference(f, cf, &v, &maxv, &e) == 0) {
            measurement_t *m =
                new_measurement(MT(NORMALIZED_ABSOLUTE_DIFFERENCE), v, thr);
            if (!m) {
                for (size_t i = 0; i < n_ms; i++)
                    free(ms[i]);
                return CFX_ENOMEM;
            }
            ms[n_ms++] = m;
            if (v > thr) {
                char esc[512];
                c_escape(maxv, esc, sizeof esc);
                char sd[160];
                snprintf(
                    sd, sizeof sd,
                    "High normalized absolute difference between %s and %s",
                    treatment_name, control_name);
                add_reason(
                    rs, AT(COMPARATOR_NORMALIZED_ABSOLUTE_DIFFERENCE_HIGH), sd,
                    "The normalized absolute difference between %s and %s is "
                    "%.6g (up to six significant digits), above the threshold "
                    "%.6g. The feature value with maximum difference is: %s",
                    treatment_name, control_name, v, thr, esc);
                cmp->normalized_abs_difference->threshold = v;
            }
        }
    }
    if (n_ms == 0)
        return 0;
    if (!*dsi) {
        drift_skew_t *d = malloc(sizeof *d);
        Tensorflow__Metadata__V0__Path *path = malloc(sizeof *path);
        char *step = strdup(name);
        if (!d || !path || !step) {
            free(d);
            free(path);
            free(step);
            for (size_t i = 0; i < n_ms; i++)
                free(ms[i]);
            return CFX_ENOMEM;
        }
        tensorflow__metadata__v0__drift_skew_info__init(d);
        tensorflow__metadata__v0__path__init(path);
        d->path = path;
        if (CFX_PB_PUSH(path->step, path->n_step, step) < 0) {
            free(step);
            protobuf_c_message_free_unpacked(&d->base, NULL);
            for (size_t i = 0; i < n_ms; i++)
                free(ms[i]);
            return CFX_ENOMEM;
        }
        *dsi = d;
    }
    for (size_t i = 0; i < n_ms; i++) {
        int rc = drift ? CFX_PB_PUSH((*dsi)->drift_measurements,
                                     (*dsi)->n_drift_measurements, ms[i])
                       : CFX_PB_PUSH((*dsi)->skew_measurements,
                                     (*dsi)->n_skew_measurements, ms[i]);
        if (rc < 0) {
            for (size_t j = i; j < n_ms; j++)
                free(ms[j]);
            return rc;
        }
    }
    return 0;
}

/* --- one feature
 * ------------------------------------------------------------------ */

static int check_feature(pass_t *p, cfx_schema_feature_t *feat,
                         const cfx_feature_stats_t *f, const char *name,
                         reasons_t *rs, drift_skew_t **dsi) {
    int rc = 0;
    /* The schema's own consistency: a domain reference must resolve. */
    if (feat->domain_info_case == PB(FEATURE__DOMAIN_INFO_DOMAIN) &&
        !cfx_schema_string_domain(p->schema, feat->domain)) {
        add_reason(
            rs, AT(INVALID_DOMAIN_SPECIFICATION), "Missing domain",
            "The feature refers to domain '%s', which the schema does not "
            "define.",
            feat->domain);
        clear_domain(feat);
    }
    if (feature_deprecated(feat))
        return 0;

    const cfx_common_stats_t *c = cfx_stats_common(f);
    uint64_t present = c ? c->num_non_missing : 0;
    int in_env = in_environment(p->schema, feat, p->opt->environment);
    if (present == 0) {
        if (existence_required(feat) && in_env) {
            add_reason(rs, AT(FEATURE_TYPE_NOT_PRESENT), "Column dropped",
                       "The feature was not present in any examples.");
            deprecate(feat);
        }
        return 0;
    }

    /* Present but outside the environment: it belongs there after all. */
    if (!in_env) {
        const char *env = p->opt->environment;
        char **nv = realloc(feat->in_environment,
                            (feat->n_in_environment + 1) * sizeof *nv);
        char *e = strdup(env);
        if (!nv || !e) {
            free(e);
            if (nv)
                feat->in_environment = nv;
            return CFX_ENOMEM;
        }
        feat->in_environment = nv;
        feat->in_environment[feat->n_in_environment++] = e;
        add_reason(
            rs, AT(SCHEMA_NEW_COLUMN), "Column missing in environment",
            "New column %s found in data but not in the environment %s in "
            "the schema.",
            name, env);
    }

    /* Value counts. */
    if (feat->shape_type_case == PB(FEATURE__SHAPE_TYPE_VALUE_COUNT) &&
        feat->value_count) {
        Tensorflow__Metadata__V0__ValueCount *vc = feat->value_count;
        if (vc->has_min && (int64_t)c->min_num_values < vc->min) {
            add_reason(rs, AT(FEATURE_TYPE_LOW_NUMBER_VALUES), "Missing values",
                       "Some examples have fewer values than expected.");
            if (c->min_num_values == 0)
                vc->has_min = 0, vc->min = 0;
            else
                vc->min = (int64_t)c->min_num_values;
        }
        if (vc->has_max && (int64_t)c->max_num_values > vc->max) {
            add_reason(rs, AT(FEATURE_TYPE_HIGH_NUMBER_VALUES),
                       "Superfluous values",
                       "Some examples have more values than expected.");
            vc->max = (int64_t)c->max_num_values;
        }
    }

    /* Shape. */
    if (feat->shape_type_case == PB(FEATURE__SHAPE_TYPE_SHAPE) && feat->shape) {
        int64_t expected = 1;
        for (size_t i = 0; i < feat->shape->n_dim; i++) {
            int64_t s = feat->shape->dim[i]->size;
            if (s <= 0 || expected > INT64_MAX / s) {
                expected = -2;
                break;
            }
            expected *= s;
        }
        int64_t actual =
            (c->min_num_values == c->max_num_values && c->min_num_values)
                ? (int64_t)c->min_num_values
                : -1;
        /* generate_legacy_feature_spec is false in open-source TFDV. */
        int has_missing = c->num_missing != 0;
        if (actual <= 0 || has_missing) {
            add_reason(
                rs, AT(INVALID_FEATURE_SHAPE), "Feature shape dropped",
                "The feature has a shape, but it's not always present (if the "
                "feature is nested, then it should always be present at each "
                "nested level) or its value lengths vary.");
            protobuf_c_message_free_unpacked(&feat->shape->base, NULL);
            feat->shape = NULL;
            feat->shape_type_case = PB(FEATURE__SHAPE_TYPE__NOT_SET);
        } else if (actual != expected) {
            add_reason(rs, AT(INVALID_FEATURE_SHAPE), "Feature shape dropped",
                       "The feature has fixed value length %lld but it's not "
                       "compatible with the specified shape.",
                       (long long)actual);
            protobuf_c_message_free_unpacked(&feat->shape->base, NULL);
            feat->shape = NULL;
            feat->shape_type_case = PB(FEATURE__SHAPE_TYPE__NOT_SET);
        }
    }

    /* Presence. */
    if (feat->presence_constraints_case ==
            PB(FEATURE__PRESENCE_CONSTRAINTS_PRESENCE) &&
        feat->presence) {
        Tensorflow__Metadata__V0__FeaturePresence *pr = feat->presence;
        if (pr->has_min_count && (double)present < (double)pr->min_count) {
            long long orig = (long long)pr->min_count;
            pr->min_count = (int64_t)present;
            add_reason(
                rs, AT(FEATURE_TYPE_LOW_NUMBER_PRESENT), "Column dropped",
                "The feature was present in fewer examples than expected: "
                "minimum count = %lld, actual = %lld",
                orig, (long long)pr->min_count);
        }
        if (pr->has_min_fraction && p->stats->num_examples > 0) {
            double frac = (double)present / (double)p->stats->num_examples;
            if (frac < pr->min_fraction) {
                float orig = (float)pr->min_fraction;
                pr->min_fraction = frac;
                add_reason(rs, AT(FEATURE_TYPE_LOW_FRACTION_PRESENT),
                           "Column dropped",
                           "The feature was present in fewer examples than "
                           "expected: minimum fraction = %f, actual = %f",
                           (double)orig, pr->min_fraction);
            }
            if (pr->min_fraction == 1.0 && c->num_missing != 0) {
                pr->min_fraction = 0.9999;
                add_reason(
                    rs, AT(FEATURE_TYPE_LOW_FRACTION_PRESENT), "Column dropped",
                    "The feature was expected everywhere, but was missing in "
                    "%llu examples.",
                    (unsigned long long)c->num_missing);
            }
        }
    }

    /* Data type. */
    int stype = cfx_stats_schema_type(f);
    if (!feat->has_type || (int)feat->type != stype) {
        deprecate(feat);
        add_reason(rs, AT(UNEXPECTED_DATA_TYPE), "Unexpected data type",
                   "Expected data of type: %s but got %s",
                   schema_type_name(feat->has_type ? (int)feat->type : 0),
                   stats_type_name(f->type));
    }

    if (f->type == PB(FEATURE_NAME_STATISTICS__TYPE__BYTES) &&
        feat->domain_info_case != PB(FEATURE__DOMAIN_INFO__NOT_SET) &&
        feat->domain_info_case !=
            PB(FEATURE__DOMAIN_INFO_NATURAL_LANGUAGE_DOMAIN) &&
        feat->domain_info_case != PB(FEATURE__DOMAIN_INFO_IMAGE_DOMAIN) &&
        feat->domain_info_case != PB(FEATURE__DOMAIN_INFO_URL_DOMAIN)) {
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field(
                &tensorflow__metadata__v0__feature__descriptor,
                feat->domain_info_case);
        add_reason(rs, AT(DOMAIN_INVALID_FOR_TYPE), "Invalid domain type",
                   "Data is marked as BYTES with incompatible domain_info: %s",
                   fd ? fd->name : "?");
        clear_domain(feat);
    }

    switch (feat->domain_info_case) {
    case PB(FEATURE__DOMAIN_INFO_DOMAIN): {
        string_domain_t *d = cfx_schema_string_domain(p->schema, feat->domain);
        if (d)
            rc = check_string_domain(feat, f, d, rs);
        break;
    }
    case PB(FEATURE__DOMAIN_INFO_STRING_DOMAIN):
        rc = check_string_domain(feat, f, feat->string_domain, rs);
        break;
    case PB(FEATURE__DOMAIN_INFO_BOOL_DOMAIN):
        check_bool_domain(feat, f, rs);
        break;
    case PB(FEATURE__DOMAIN_INFO_INT_DOMAIN):
        check_int_domain(feat, f, rs);
        break;
    case PB(FEATURE__DOMAIN_INFO_FLOAT_DOMAIN):
        check_float_domain(feat, f, rs);
        break;
    default:
        break;
    }
    if (rc < 0)
        return rc;

    /* Unique-value constraints (strings only). */
    if (feat->unique_constraints) {
        Tensorflow__Metadata__V0__UniqueConstraints *u =
            feat->unique_constraints;
        if (f->stats_case == PB(FEATURE_NAME_STATISTICS__STATS_STRING_STATS) &&
            f->string_stats) {
            int64_t nu = (int64_t)f->string_stats->unique;
            if (u->has_min && nu < u->min) {
                add_reason(
                    rs, AT(FEATURE_TYPE_LOW_UNIQUE),
                    "Low number of unique values",
                    "Expected at least %lld unique values but found only %lld.",
                    (long long)u->min, (long long)nu);
                u->min = nu;
            }
            if (u->has_max && nu > u->max) {
                add_reason(
                    rs, AT(FEATURE_TYPE_HIGH_UNIQUE),
                    "High number of unique values",
                    "Expected no more than %lld unique values but found %lld.",
                    (long long)u->max, (long long)nu);
                u->max = nu;
            }
        } else {
            add_reason(rs, AT(FEATURE_TYPE_NO_UNIQUE), "No unique values",
                       "UniqueConstraints specified for the feature, but "
                       "unique values "
                       "were not counted (i.e., feature is not string or "
                       "categorical).");
            protobuf_c_message_free_unpacked(&u->base, NULL);
            feat->unique_constraints = NULL;
        }
    }

    if ((rc = compare(p, feat->drift_comparator, name, f, 1, rs, dsi)) < 0)
        return rc;
    if ((rc = compare(p, feat->skew_comparator, name, f, 0, rs, dsi)) < 0)
        return rc;
    return 0;
}

/* --- assembling Anomalies
 * ---------------------------------------------------------- */

static int severity_of(const cfx_validation_config_t *cfg, int type) {
    int sev = TENSORFLOW__METADATA__V0__ANOMALY_INFO__SEVERITY__ERROR;
    if (!cfg)
        return sev;
    if (cfg->has_new_features_are_warnings && cfg->new_features_are_warnings &&
        type == AT(SCHEMA_NEW_COLUMN))
        sev = TENSORFLOW__METADATA__V0__ANOMALY_INFO__SEVERITY__WARNING;
    for (size_t i = 0; i < cfg->n_severity_overrides; i++) {
        const Tensorflow__DataValidation__SeverityOverride *o =
            cfg->severity_overrides[i];
        if (o->has_type && (int)o->type == type && o->has_severity)
            sev = o->severity;
    }
    return sev;
}

/* Moves the reasons of rs into a new AnomalyInfo (path = name unless NULL). */
static anomaly_info_t *make_info(const cfx_validation_config_t *cfg,
                                 const char *name, reasons_t *rs) {
    anomaly_info_t *ai = malloc(sizeof *ai);
    if (!ai)
        return NULL;
    tensorflow__metadata__v0__anomaly_info__init(ai);
    int sev = TENSORFLOW__METADATA__V0__ANOMALY_INFO__SEVERITY__UNKNOWN;
    cfx_buf_t b;
    cfx_buf_init(&b);
    for (size_t i = 0; i < rs->n; i++) {
        int s = severity_of(cfg, rs->r[i]->type);
        if (s > sev)
            sev = s;
        cfx_buf_printf(&b, "%s%s", i ? " " : "", rs->r[i]->description);
    }
    cfx_buf_cstr(&b);
    ai->has_severity = 1;
    ai->severity = sev;
    ai->description = strdup(b.data ? (const char *)b.data : "");
    cfx_buf_free(&b);
    ai->short_description =
        strdup(rs->n == 1 ? rs->r[0]->short_description : "Multiple errors");
    ai->reason = rs->r;
    ai->n_reason = rs->n;
    rs->r = NULL;
    rs->n = 0;
    int ok = ai->description && ai->short_description;
    if (ok && name) {
        Tensorflow__Metadata__V0__Path *path = malloc(sizeof *path);
        char *step = strdup(name);
        if (path) {
            tensorflow__metadata__v0__path__init(path);
            ai->path = path;
        }
        if (!path || !step || CFX_PB_PUSH(path->step, path->n_step, step) < 0) {
            free(step);
            ok = 0;
        }
    }
    if (!ok) {
        protobuf_c_message_free_unpacked(&ai->base, NULL);
        return NULL;
    }
    return ai;
}

static int add_feature_anomaly(pass_t *p, const char *name, reasons_t *rs) {
    if (rs->oom)
        return CFX_ENOMEM;
    if (rs->n == 0)
        return 0;
    Tensorflow__Metadata__V0__Anomalies__AnomalyInfoEntry *e =
        malloc(sizeof *e);
    if (!e)
        return CFX_ENOMEM;
    tensorflow__metadata__v0__anomalies__anomaly_info_entry__init(e);
    e->key = strdup(name);
    e->value = make_info(p->opt->config, name, rs);
    if (!e->key || !e->value ||
        CFX_PB_PUSH(p->out->anomaly_info, p->out->n_anomaly_info, e) < 0) {
        protobuf_c_message_free_unpacked(&e->base, NULL);
        return CFX_ENOMEM;
    }
    return 0;
}

static int entry_cmp(const void *a, const void *b) {
    const Tensorflow__Metadata__V0__Anomalies__AnomalyInfoEntry *x =
        *(Tensorflow__Metadata__V0__Anomalies__AnomalyInfoEntry *const *)a;
    const Tensorflow__Metadata__V0__Anomalies__AnomalyInfoEntry *y =
        *(Tensorflow__Metadata__V0__Anomalies__AnomalyInfoEntry *const *)b;
    return strcmp(x->key, y->key);
}

static void check_dataset(pass_t *p, reasons_t *rs) {
    const Tensorflow__Metadata__V0__DatasetConstraints *dc =
        p->schema->dataset_constraints;
    if (!dc)
        return;
    unsigned long long n = (unsigned long long)p->stats->num_examples;
    if (dc->has_min_examples_count && (int64_t)n < dc->min_examples_count)
        add_reason(
            rs, AT(DATASET_LOW_NUM_EXAMPLES), "Low num examples in dataset.",
            "The dataset has %llu examples, which is lower than expected.", n);
    if (dc->has_max_examples_count && (int64_t)n > dc->max_examples_count)
        add_reason(
            rs, AT(DATASET_HIGH_NUM_EXAMPLES), "High num examples in dataset.",
            "The dataset has %llu examples, which is higher than expected.", n);
    const Tensorflow__Metadata__V0__NumericValueComparator *nc =
        dc->num_examples_drift_comparator;
    if (nc && p->opt->previous && p->opt->previous->num_examples > 0 && n > 0) {
        double ratio = (double)n / (double)p->opt->previous->num_examples;
        if (nc->has_min_fraction_threshold &&
            ratio < nc->min_fraction_threshold)
            add_reason(
                rs, AT(COMPARATOR_LOW_NUM_EXAMPLES),
                "Low num examples in current dataset versus the previous span.",
                "The ratio of num examples in the current dataset versus the "
                "previous span is %.6g (up to six significant digits), which "
                "is below the threshold %.6g.",
                ratio, nc->min_fraction_threshold);
        if (nc->has_max_fraction_threshold &&
            ratio > nc->max_fraction_threshold)
            add_reason(
                rs, AT(COMPARATOR_HIGH_NUM_EXAMPLES),
                "High num examples in current dataset versus the previous "
                "span.",
                "The ratio of num examples in the current dataset versus the "
                "previous span is %.6g (up to six significant digits), which "
                "is above the threshold %.6g.",
                ratio, nc->max_fraction_threshold);
    }
}

int cfx_validate_fix(cfx_schema_t *schema, const cfx_dataset_stats_t *stats,
                     const cfx_validate_options_t *opt, cfx_anomalies_t **out,
                     cfx_error_t *err) {
    cfx_validate_options_t none;
    if (!opt) {
        memset(&none, 0, sizeof none);
        opt = &none;
    }
    if (out)
        *out = NULL;
    pass_t p = {schema, stats, opt, NULL, err};
    reasons_t rs = {0};
    int rc = CFX_ENOMEM;
    cfx_anomalies_t *a = malloc(sizeof *a);
    if (!a)
        goto fail;
    tensorflow__metadata__v0__anomalies__init(a);
    p.out = a;
    if (cfx_schema_copy(schema, &a->baseline, err) < 0)
        goto fail;
    a->has_anomaly_name_format = 1;
    a->anomaly_name_format =
        TENSORFLOW__METADATA__V0__ANOMALIES__ANOMALY_NAME_FORMAT__SERIALIZED_PATH;
    if (stats->num_examples == 0) {
        a->has_data_missing = 1;
        a->data_missing = 1;
        goto done;
    }
    char nbuf[512];
    for (size_t i = 0; i < stats->n_features; i++) {
        const cfx_feature_stats_t *f = stats->features[i];
        const char *name = cfx_stats_feature_name(f, nbuf, sizeof nbuf);
        cfx_schema_feature_t *feat = cfx_schema_find(schema, name);
        drift_skew_t *dsi = NULL;
        if (!feat) {
            add_reason(&rs, AT(SCHEMA_NEW_COLUMN), "New column",
                       "New column (column in data but not in schema)");
            if ((rc = cfx_schema_add_feature(schema, f, &opt->schema, err)) < 0)
                goto fail;
        } else if ((rc = check_feature(&p, feat, f, name, &rs, &dsi)) < 0) {
            goto fail_set;
        }
        if (dsi &&
            CFX_PB_PUSH(a->drift_skew_info, a->n_drift_skew_info, dsi) < 0) {
            protobuf_c_message_free_unpacked(&dsi->base, NULL);
            rc = CFX_ENOMEM;
            goto fail_set;
        }
        if ((rc = add_feature_anomaly(&p, name, &rs)) < 0)
            goto fail_set;
    }
    for (size_t i = 0; i < schema->n_feature; i++) {
        cfx_schema_feature_t *feat = schema->feature[i];
        if (!feat->name || feature_deprecated(feat) ||
            cfx_stats_find(stats, feat->name))
            continue;
        if (!existence_required(feat) ||
            !in_environment(schema, feat, opt->environment))
            continue;
        add_reason(&rs, AT(SCHEMA_MISSING_COLUMN), "Column dropped",
                   "Column is completely missing");
        deprecate(feat);
        if ((rc = add_feature_anomaly(&p, feat->name, &rs)) < 0)
            goto fail_set;
    }
    check_dataset(&p, &rs);
    if (rs.oom) {
        rc = CFX_ENOMEM;
        goto fail_set;
    }
    if (rs.n) {
        if (!(a->dataset_anomaly_info = make_info(opt->config, NULL, &rs))) {
            rc = CFX_ENOMEM;
            goto fail_set;
        }
    }
    if (a->n_anomaly_info > 1)
        qsort(a->anomaly_info, a->n_anomaly_info, sizeof *a->anomaly_info,
              entry_cmp);
done:
    reasons_free(&rs);
    if (out)
        *out = a;
    else
        cfx_anomalies_free(a);
    return 0;
fail_set:
    cfx_error_set(err, rc, "validate: %s", cfx_err_str(rc));
fail:
    if (rc == CFX_ENOMEM && (!err || err->code != CFX_ENOMEM))
        cfx_error_set(err, rc, "validate: out of memory");
    reasons_free(&rs);
    cfx_anomalies_free(a);
    return rc;
}

int cfx_validate_statistics(const cfx_dataset_stats_t *stats,
                            const cfx_schema_t *schema,
                            const cfx_validate_options_t *opt,
                            cfx_anomalies_t **out, cfx_error_t *err) {
    cfx_schema_t *work = NULL;
    *out = NULL;
    int rc = cfx_schema_copy(schema, &work, err);
    if (rc < 0)
        return rc;
    rc = cfx_validate_fix(work, stats, opt, out, err);
    if (rc == 0) {
        /* The baseline is the schema as given, not the fixed one. */
        cfx_schema_free((*out)->baseline);
        (*out)->baseline = NULL;
        rc = cfx_schema_copy(schema, &(*out)->baseline, err);
        if (rc < 0) {
            cfx_anomalies_free(*out);
            *out = NULL;
        }
    }
    cfx_schema_free(work);
    return rc;
}

void cfx_anomalies_free(cfx_anomalies_t *a) {
    if (a)
        protobuf_c_message_free_unpacked(&a->base, NULL);
}

size_t cfx_anomalies_count(const cfx_anomalies_t *a) {
    if (!a)
        return 0;
    return a->n_anomaly_info +
           (a->dataset_anomaly_info && a->dataset_anomaly_info->n_reason ? 1
                                                                         : 0);
}

/* --- the component
 * -------------------------------------------------------------------- */

int cfx_anomalies_read(const char *path, cfx_anomalies_t **out,
                       cfx_error_t *err) {
    *out = NULL;
    char full[PATH_MAX];
    size_t len = strlen(path);
    if (len < 3 || strcmp(path + len - 3, ".pb")) {
        if (snprintf(full, sizeof full, "%s/SchemaDiff.pb", path) >=
            (int)sizeof full)
            return cfx_error_set(err, CFX_EINVAL, "%s: path too long", path);
        path = full;
    }
    cfx_buf_t b;
    cfx_buf_init(&b);
    int rc = cfx_schema_read_file(path, &b, err);
    if (rc == 0) {
        *out = tensorflow__metadata__v0__anomalies__unpack(NULL, b.len, b.data);
        if (!*out)
            rc = cfx_error_set(err, CFX_ECORRUPT, "%s: not a binary Anomalies",
                               path);
    }
    cfx_buf_free(&b);
    return rc;
}

/* The statistics of `dir` that correspond to split: same name, else its only
 * (or first, "train" first) split. *list owned by the caller. */
static int load_control(const char *dir, const char *split,
                        cfx_stats_list_t **list, cfx_error_t *err) {
    char **names = NULL;
    size_t n = 0;
    *list = NULL;
    int rc = cfx_schema_split_names(dir, "FeatureStats.pb", &names, &n, err);
    if (rc < 0)
        return rc;
    char path[PATH_MAX];
    if (n == 0) {
        /* A bare FeatureStats.pb directory is accepted too. */
        rc = cfx_stats_read(dir, list, err);
        goto out;
    }
    const char *pick = names[0];
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], split))
            pick = names[i];
    snprintf(path, sizeof path, "%s/Split-%s/FeatureStats.pb", dir, pick);
    rc = cfx_stats_read(path, list, err);
out:
    cfx_schema_split_names_free(names, n);
    return rc;
}

int cfx_validate_run(const cfx_validate_run_options_t *ro,
                     cfx_validate_summary_t *summary, cfx_error_t *err) {
    cfx_schema_t *schema = NULL;
    cfx_validation_config_t *cfg = NULL;
    cfx_stats_list_t *list = NULL, *prev = NULL, *serv = NULL;
    cfx_anomalies_t *an = NULL;
    char **splits = NULL;
    size_t n_splits = 0;
    uint8_t *packed = NULL;
    char path[PATH_MAX];
    memset(summary, 0, sizeof *summary);
    int rc = cfx_schema_read_text(ro->schema_path, &schema, err);
    if (rc < 0)
        goto out;
    if (ro->validation_config_path) {
        cfx_buf_t b;
        cfx_buf_init(&b);
        rc = cfx_schema_read_file(ro->validation_config_path, &b, err);
        ProtobufCMessage *m = NULL;
        if (rc == 0)
            rc = cfx_pb_text_parse(
                &tensorflow__data_validation__validation_config__descriptor,
                (const char *)b.data, b.len, &m, err);
        cfx_buf_free(&b);
        if (rc < 0) {
            cfx_error_prefix(err, "%s", ro->validation_config_path);
            goto out;
        }
        cfg = (cfx_validation_config_t *)m;
    }
    if ((rc = cfx_schema_split_names(ro->statistics_dir, "FeatureStats.pb",
                                     &splits, &n_splits, err)) < 0)
        goto out;
    if (n_splits == 0) {
        rc = cfx_error_set(err, CFX_ENOTFOUND,
                           "%s: no Split-<name>/FeatureStats.pb found",
                           ro->statistics_dir);
        goto out;
    }
    for (size_t i = 0; i < n_splits; i++) {
        snprintf(path, sizeof path, "%s/Split-%s/FeatureStats.pb",
                 ro->statistics_dir, splits[i]);
        const cfx_dataset_stats_t *d = NULL;
        if ((rc = cfx_stats_read_default(path, &list, &d, err)) < 0)
            goto out;
        cfx_validate_options_t vo;
        memset(&vo, 0, sizeof vo);
        vo.config = cfg;
        vo.environment = ro->environment;
        vo.schema.infer_feature_shape = 1;
        if (ro->previous_statistics_dir) {
            if ((rc = load_control(ro->previous_statistics_dir, splits[i],
                                   &prev, err)) < 0)
                goto out;
            vo.previous = cfx_stats_default_dataset(prev);
        }
        if (ro->serving_statistics_dir) {
            if ((rc = load_control(ro->serving_statistics_dir, splits[i], &serv,
                                   err)) < 0)
                goto out;
            vo.serving = cfx_stats_default_dataset(serv);
        }
        if ((rc = cfx_validate_statistics(d, schema, &vo, &an, err)) < 0) {
            cfx_error_prefix(err, "split %s", splits[i]);
            goto out;
        }
        size_t k = cfx_anomalies_count(an);
        size_t bl = strlen(summary->blessed_json);
        snprintf(summary->blessed_json + bl, sizeof summary->blessed_json - bl,
                 "%s\"%s\": %d", bl ? ", " : "{", splits[i], k ? 0 : 1);
        summary->n_splits++;
        summary->n_anomalies += k;
        if (k)
            summary->n_anomalous_splits++;
        snprintf(path, sizeof path, "%s/Split-%s", ro->output_dir, splits[i]);
        if ((rc = cfx_file_mkdirs(path, err)) < 0)
            goto out;
        size_t len = tensorflow__metadata__v0__anomalies__get_packed_size(an);
        if (!(packed = malloc(len ? len : 1))) {
            rc = cfx_error_set(err, CFX_ENOMEM, "validate: out of memory");
            goto out;
        }
        tensorflow__metadata__v0__anomalies__pack(an, packed);
        snprintf(path, sizeof path, "%s/Split-%s/SchemaDiff.pb", ro->output_dir,
                 splits[i]);
        if ((rc = cfx_schema_write_file(path, packed, len, err)) < 0)
            goto out;
        free(packed);
        packed = NULL;
        cfx_anomalies_free(an);
        an = NULL;
        cfx_stats_free(list);
        cfx_stats_free(prev);
        cfx_stats_free(serv);
        list = prev = serv = NULL;
    }
    if (rc == 0) {
        size_t bl = strlen(summary->blessed_json);
        snprintf(summary->blessed_json + bl, sizeof summary->blessed_json - bl,
                 "}");
    }
out:
    free(packed);
    cfx_anomalies_free(an);
    cfx_stats_free(list);
    cfx_stats_free(prev);
    cfx_stats_free(serv);
    cfx_schema_split_names_free(splits, n_splits);
    if (cfg)
        protobuf_c_message_free_unpacked(&cfg->base, NULL);
    cfx_schema_free(schema);
    return rc;
}

/*
 * show_schema.c: `cfx show` for a Schema (schema.pbtxt) — one row per
 * feature (type, presence, valency, domain) as TFDV's display_schema lays
 * it out, then the values of each string domain.
 */
#include <limits.h>
#include <string.h>

#include "data/schema_infer.h"
#include "formats/file.h"
#include "report/show.h"

#define PB(x) TENSORFLOW__METADATA__V0__##x

int cfx_show_schema_detect(const char *path) {
    char p[PATH_MAX];
    size_t n = strlen(path);
    if (n > 6 && !strcmp(path + n - 6, ".pbtxt") && cfx_file_is_regular(path))
        return 1;
    return snprintf(p, sizeof p, "%s/schema.pbtxt", path) < (int)sizeof p &&
           cfx_file_is_regular(p);
}

static const char *type_name(const cfx_schema_feature_t *f) {
    if (!f->has_type)
        return "-";
    switch (f->type) {
    case PB(FEATURE_TYPE__BYTES):
        return "BYTES";
    case PB(FEATURE_TYPE__INT):
        return "INT";
    case PB(FEATURE_TYPE__FLOAT):
        return "FLOAT";
    case PB(FEATURE_TYPE__STRUCT):
        return "STRUCT";
    default:
        return "-";
    }
}

static void presence(const cfx_schema_feature_t *f, char *out, size_t n) {
    if (f->presence_constraints_case !=
            PB(FEATURE__PRESENCE_CONSTRAINTS_PRESENCE) ||
        !f->presence) {
        snprintf(out, n, "optional");
        return;
    }
    const Tensorflow__Metadata__V0__FeaturePresence *p = f->presence;
    if (p->has_min_fraction && p->min_fraction >= 1.0)
        snprintf(out, n, "required");
    else if (p->has_min_fraction && p->min_fraction > 0)
        snprintf(out, n, "optional (≥ %.4g%%)", 100 * p->min_fraction);
    else
        snprintf(out, n, "optional");
}

static void valency(const cfx_schema_feature_t *f, char *out, size_t n) {
    if (f->shape_type_case == PB(FEATURE__SHAPE_TYPE_SHAPE) && f->shape) {
        if (f->shape->n_dim == 1 && f->shape->dim[0]->size == 1) {
            snprintf(out, n, "single");
            return;
        }
        size_t w = (size_t)snprintf(out, n, "shape [");
        for (size_t i = 0; i < f->shape->n_dim && w < n; i++)
            w += (size_t)snprintf(out + w, n - w, "%s%lld", i ? ", " : "",
                                  (long long)f->shape->dim[i]->size);
        if (w < n)
            snprintf(out + w, n - w, "]");
        return;
    }
    if (f->shape_type_case == PB(FEATURE__SHAPE_TYPE_VALUE_COUNT) &&
        f->value_count) {
        const Tensorflow__Metadata__V0__ValueCount *v = f->value_count;
        if (v->has_min && v->has_max && v->min == 1 && v->max == 1)
            snprintf(out, n, "single");
        else if (v->has_max)
            snprintf(out, n, "[%lld, %lld]",
                     (long long)(v->has_min ? v->min : 0), (long long)v->max);
        else
            snprintf(out, n, "[%lld, -]", (long long)(v->has_min ? v->min : 0));
        return;
    }
    snprintf(out, n, "-");
}

static void domain(const cfx_schema_feature_t *f, char *out, size_t n) {
    switch (f->domain_info_case) {
    case PB(FEATURE__DOMAIN_INFO_DOMAIN):
        snprintf(out, n, "'%s'", f->domain);
        break;
    case PB(FEATURE__DOMAIN_INFO_BOOL_DOMAIN):
        snprintf(out, n, "bool");
        break;
    case PB(FEATURE__DOMAIN_INFO_STRING_DOMAIN):
        snprintf(out, n, "%zu values (inline)", f->string_domain->n_value);
        break;
    case PB(FEATURE__DOMAIN_INFO_INT_DOMAIN): {
        const Tensorflow__Metadata__V0__IntDomain *d = f->int_domain;
        if (d->has_min || d->has_max) {
            char lo[32] = "-", hi[32] = "-";
            if (d->has_min)
                snprintf(lo, sizeof lo, "%lld", (long long)d->min);
            if (d->has_max)
                snprintf(hi, sizeof hi, "%lld", (long long)d->max);
            snprintf(out, n, "int [%s, %s]", lo, hi);
        } else {
            snprintf(out, n, "int");
        }
        break;
    }
    case PB(FEATURE__DOMAIN_INFO_FLOAT_DOMAIN): {
        const Tensorflow__Metadata__V0__FloatDomain *d = f->float_domain;
        char lo[32] = "-", hi[32] = "-";
        if (d->has_min)
            snprintf(lo, sizeof lo, "%.6g", (double)d->min);
        if (d->has_max)
            snprintf(hi, sizeof hi, "%.6g", (double)d->max);
        snprintf(out, n, "float [%s, %s]", lo, hi);
        break;
    }
    case PB(FEATURE__DOMAIN_INFO__NOT_SET):
        snprintf(out, n, "-");
        break;
    default: {
        /* Semantic and struct domains: their field name says enough. */
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field(
                &tensorflow__metadata__v0__feature__descriptor,
                f->domain_info_case);
        snprintf(out, n, "%s", fd ? fd->name : "?");
    }
    }
}

static int is_deprecated(const cfx_schema_feature_t *f) {
    if (!f->has_lifecycle_stage)
        return 0;
    switch (f->lifecycle_stage) {
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

void cfx_show_schema_describe(const cfx_schema_feature_t *f,
                              cfx_show_schema_row_t *r) {
    r->type = type_name(f);
    presence(f, r->presence, sizeof r->presence);
    valency(f, r->valency, sizeof r->valency);
    domain(f, r->domain, sizeof r->domain);
    r->deprecated = is_deprecated(f);
}

int cfx_show_schema(const char *path, FILE *out, cfx_error_t *err) {
    char p[PATH_MAX];
    if (cfx_file_is_dir(path)) {
        snprintf(p, sizeof p, "%s/schema.pbtxt", path);
        path = p;
    }
    cfx_schema_t *s = NULL;
    int rc = cfx_schema_read_text(path, &s, err);
    if (rc < 0)
        return rc;
    fprintf(out, "Schema %s: %zu features, %zu string domains\n\n", path,
            s->n_feature, s->n_string_domain);
    cfx_show_table_t t;
    cfx_show_table_init(&t, 5);
    const char *h[] = {"feature", "type", "presence", "valency", "domain"};
    for (size_t i = 0; i < 5 && rc == 0; i++)
        rc = cfx_show_table_cell(&t, "%s", h[i]);
    for (size_t i = 0; i < s->n_feature && rc == 0; i++) {
        const cfx_schema_feature_t *f = s->feature[i];
        char pr[64], va[64], dom[300];
        presence(f, pr, sizeof pr);
        valency(f, va, sizeof va);
        domain(f, dom, sizeof dom);
        rc = cfx_show_table_cell(&t, "%s%s", f->name ? f->name : "?",
                                 is_deprecated(f) ? " (deprecated)" : "");
        if (!rc)
            rc = cfx_show_table_cell(&t, "%s", type_name(f));
        if (!rc)
            rc = cfx_show_table_cell(&t, "%s", pr);
        if (!rc)
            rc = cfx_show_table_cell(&t, "%s", va);
        if (!rc)
            rc = cfx_show_table_cell(&t, "%s", dom);
    }
    if (rc == 0)
        rc = cfx_show_table_print(&t, out);
    cfx_show_table_free(&t);
    for (size_t i = 0; i < s->n_string_domain && rc == 0; i++) {
        const Tensorflow__Metadata__V0__StringDomain *d = s->string_domain[i];
        fprintf(out, "\nDomain '%s' (%zu values):\n ", d->name ? d->name : "",
                d->n_value);
        size_t col = 1;
        for (size_t k = 0; k < d->n_value; k++) {
            size_t w = cfx_show_width(d->value[k]) + 4;
            if (col + w > 80 && col > 1) {
                fputs("\n ", out);
                col = 1;
            }
            fprintf(out, " '%s'%s", d->value[k], k + 1 < d->n_value ? "," : "");
            col += w;
        }
        fputc('\n', out);
    }
    if (rc < 0)
        cfx_error_set(err, rc, "%s: rendering failed", path);
    cfx_schema_free(s);
    return rc;
}

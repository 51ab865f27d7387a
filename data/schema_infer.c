/*
 * schema_infer.c: SchemaGen — infer_schema / update_schema over statistics
 * (see schema_infer.h and docs/validation.md), and the statistics / schema
 * artifacts on disk.
 *
 * Inference per feature, as TFDV does it:
 *   type       INT -> INT, FLOAT -> FLOAT, STRING/BYTES -> BYTES
 *   presence   min_count 1 if present anywhere (else 0 and nothing more);
 *              min_fraction 1.0 only when never missing
 *   shape      (infer_feature_shape) dim {size: k} when never missing and
 *              every example has exactly k > 0 values
 *   value_count (no shape) min = max = k when fixed and k > 0; min 1 when
 *              at least one value but variable; nothing when some are empty
 *   domain     INT in [0, 1] -> bool_domain; strings that all parse as
 *              integers -> int_domain {}; 1..100 distinct valid UTF-8
 *              strings -> a top-level string_domain named after the feature
 *              with its values in byte order
 */
#include "data/schema_infer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/validate.h"
#include "formats/buf.h"
#include "formats/file.h"
#include "formats/pbcodec.h"

#define PB(x) TENSORFLOW__METADATA__V0__##x

/* --- schema lookups
 * ------------------------------------------------------------- */

Tensorflow__Metadata__V0__StringDomain *
cfx_schema_string_domain(const cfx_schema_t *s, const char *name) {
    for (size_t i = 0; i < s->n_string_domain; i++)
        if (s->string_domain[i]->name &&
            !strcmp(s->string_domain[i]->name, name))
            return s->string_domain[i];
    return NULL;
}

cfx_schema_feature_t *cfx_schema_find(const cfx_schema_t *s, const char *name) {
    for (size_t i = 0; i < s->n_feature; i++)
        if (s->feature[i]->name && !strcmp(s->feature[i]->name, name))
            return s->feature[i];
    return NULL;
}

int cfx_schema_new(cfx_schema_t **out, cfx_error_t *err) {
    *out = malloc(sizeof **out);
    if (!*out)
        return cfx_error_set(err, CFX_ENOMEM, "schema: out of memory");
    tensorflow__metadata__v0__schema__init(*out);
    return 0;
}

void cfx_schema_free(cfx_schema_t *s) {
    if (s)
        protobuf_c_message_free_unpacked(&s->base, NULL);
}

int cfx_schema_copy(const cfx_schema_t *s, cfx_schema_t **out,
                    cfx_error_t *err) {
    *out = NULL;
    size_t n = tensorflow__metadata__v0__schema__get_packed_size(s);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return cfx_error_set(err, CFX_ENOMEM, "schema copy: out of memory");
    tensorflow__metadata__v0__schema__pack(s, b);
    *out = tensorflow__metadata__v0__schema__unpack(NULL, n, b);
    free(b);
    if (!*out)
        return cfx_error_set(err, CFX_ENOMEM, "schema copy: unpack failed");
    return 0;
}

/* --- inference
 * ------------------------------------------------------------------ */

/* Python-int()-like: optional sign, digits (underscores between digits),
 * surrounding whitespace; fits int64. */
static int parse_int64(const char *s, int64_t *out) {
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    int neg = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (*s < '0' || *s > '9')
        return 0;
    uint64_t v = 0;
    int prev_digit = 0;
    for (; *s; s++) {
        if (*s == '_' && prev_digit && s[1] >= '0' && s[1] <= '9') {
            prev_digit = 0;
            continue;
        }
        if (*s < '0' || *s > '9')
            break;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
        prev_digit = 1;
    }
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    if (*s)
        return 0;
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return 0;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

int cfx_schema_parse_int(const char *s, int64_t *out) {
    return parse_int64(s, out);
}

static int valid_utf8(const unsigned char *s) {
    while (*s) {
        unsigned c = *s;
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3;
            cp = c & 0x07;
        } else
            return 0;
        for (size_t i = 1; i <= k; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) ||
            (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        s += k + 1;
    }
    return 1;
}

static int str_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct string values of f (rank_histogram, else top_values), sorted in
 * byte order; pointers into f. */
static int string_values(const cfx_feature_stats_t *f, const char ***out,
                         size_t *n) {
    *out = NULL;
    *n = 0;
    if (f->stats_case != PB(FEATURE_NAME_STATISTICS__STATS_STRING_STATS) ||
        !f->string_stats)
        return 0;
    const Tensorflow__Metadata__V0__StringStatistics *s = f->string_stats;
    size_t m = 0;
    if (s->rank_histogram && s->rank_histogram->n_buckets)
        m = s->rank_histogram->n_buckets;
    else
        m = s->n_top_values;
    if (m == 0)
        return 0;
    const char **v = malloc(m * sizeof *v);
    if (!v)
        return CFX_ENOMEM;
    for (size_t i = 0; i < m; i++)
        v[i] = (s->rank_histogram && s->rank_histogram->n_buckets)
                   ? s->rank_histogram->buckets[i]->label
                   : s->top_values[i]->value;
    qsort(v, m, sizeof *v, str_cmp);
    size_t w = 0;
    for (size_t i = 0; i < m; i++)
        if (w == 0 || strcmp(v[w - 1], v[i]))
            v[w++] = v[i];
    *out = v;
    *n = w;
    return 0;
}

int cfx_schema_string_values(const cfx_feature_stats_t *f, const char ***out,
                             size_t *n) {
    return string_values(f, out, n);
}

static int add_string_domain(cfx_schema_t *s, cfx_schema_feature_t *feat,
                             const char *fname, const char **values, size_t n) {
    char name[600];
    snprintf(name, sizeof name, "%s", fname);
    for (unsigned k = 2; cfx_schema_string_domain(s, name); k++)
        snprintf(name, sizeof name, "%s%u", fname, k);
    Tensorflow__Metadata__V0__StringDomain *d = malloc(sizeof *d);
    if (!d)
        return CFX_ENOMEM;
    tensorflow__metadata__v0__string_domain__init(d);
    int rc = CFX_ENOMEM;
    if (!(d->name = strdup(name)))
        goto fail;
    if (!(d->value = calloc(n, sizeof *d->value)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (!(d->value[i] = strdup(values[i])))
            goto fail;
        d->n_value = i + 1;
    }
    if (!(feat->domain = strdup(name)))
        goto fail;
    feat->domain_info_case = PB(FEATURE__DOMAIN_INFO_DOMAIN);
    if ((rc = CFX_PB_PUSH(s->string_domain, s->n_string_domain, d)) < 0)
        goto fail;
    return 0;
fail:
    protobuf_c_message_free_unpacked(&d->base, NULL);
    return rc;
}

static int infer_domain(cfx_schema_t *s, cfx_schema_feature_t *feat,
                        const cfx_feature_stats_t *f, const char *fname) {
    if (f->type == PB(FEATURE_NAME_STATISTICS__TYPE__BYTES))
        return 0;
    if (f->type == PB(FEATURE_NAME_STATISTICS__TYPE__INT)) {
        if (f->stats_case == PB(FEATURE_NAME_STATISTICS__STATS_NUM_STATS) &&
            f->num_stats && f->num_stats->min >= 0 && f->num_stats->max == 1) {
            Tensorflow__Metadata__V0__BoolDomain *b = malloc(sizeof *b);
            if (!b)
                return CFX_ENOMEM;
            tensorflow__metadata__v0__bool_domain__init(b);
            feat->bool_domain = b;
            feat->domain_info_case = PB(FEATURE__DOMAIN_INFO_BOOL_DOMAIN);
        }
        return 0;
    }
    if (f->type != PB(FEATURE_NAME_STATISTICS__TYPE__STRING))
        return 0;
    const char **values;
    size_t n;
    int rc = string_values(f, &values, &n);
    if (rc < 0)
        return rc;
    if (n == 0)
        goto out;
    int all_int = 1, all_utf8 = 1;
    for (size_t i = 0; i < n; i++) {
        int64_t v;
        if (all_int && !parse_int64(values[i], &v))
            all_int = 0;
        if (all_utf8 && !valid_utf8((const unsigned char *)values[i]))
            all_utf8 = 0;
    }
    if (all_int) {
        Tensorflow__Metadata__V0__IntDomain *d = malloc(sizeof *d);
        if (!d) {
            rc = CFX_ENOMEM;
            goto out;
        }
        tensorflow__metadata__v0__int_domain__init(d);
        feat->int_domain = d;
        feat->domain_info_case = PB(FEATURE__DOMAIN_INFO_INT_DOMAIN);
    } else if (all_utf8 && n <= CFX_SCHEMA_MAX_STRING_DOMAIN_SIZE) {
        rc = add_string_domain(s, feat, fname, values, n);
    }
out:
    free(values);
    return rc;
}

int cfx_schema_add_feature(cfx_schema_t *s, const cfx_feature_stats_t *f,
                           const cfx_schema_options_t *opt, cfx_error_t *err) {
    char nbuf[512];
    const char *fname = cfx_stats_feature_name(f, nbuf, sizeof nbuf);
    const cfx_common_stats_t *c = cfx_stats_common(f);
    int rc = CFX_ENOMEM;
    cfx_schema_feature_t *feat = malloc(sizeof *feat);
    if (!feat)
        goto fail;
    tensorflow__metadata__v0__feature__init(feat);
    if (!(feat->name = strdup(fname)))
        goto fail;
    feat->has_type = 1;
    feat->type = cfx_stats_schema_type(f);

    Tensorflow__Metadata__V0__FeaturePresence *p = malloc(sizeof *p);
    if (!p)
        goto fail;
    tensorflow__metadata__v0__feature_presence__init(p);
    feat->presence = p;
    feat->presence_constraints_case =
        PB(FEATURE__PRESENCE_CONSTRAINTS_PRESENCE);
    uint64_t present = c ? c->num_non_missing : 0;
    p->has_min_count = 1;
    p->min_count = present >= 1 ? 1 : 0;
    if (present > 0) {
        if (c->num_missing == 0) {
            p->has_min_fraction = 1;
            p->min_fraction = 1.0;
        }
        uint64_t lo = c->min_num_values, hi = c->max_num_values;
        if (opt && opt->infer_feature_shape && c->num_missing == 0 &&
            lo == hi && lo > 0 &&
            f->type != PB(FEATURE_NAME_STATISTICS__TYPE__STRUCT)) {
            Tensorflow__Metadata__V0__FixedShape *sh = malloc(sizeof *sh);
            if (!sh)
                goto fail;
            tensorflow__metadata__v0__fixed_shape__init(sh);
            feat->shape = sh;
            feat->shape_type_case = PB(FEATURE__SHAPE_TYPE_SHAPE);
            Tensorflow__Metadata__V0__FixedShape__Dim *d = malloc(sizeof *d);
            if (!d)
                goto fail;
            tensorflow__metadata__v0__fixed_shape__dim__init(d);
            d->has_size = 1;
            d->size = (int64_t)lo;
            if ((rc = CFX_PB_PUSH(sh->dim, sh->n_dim, d)) < 0) {
                free(d);
                goto fail;
            }
            rc = CFX_ENOMEM;
        } else if (lo > 0) {
            Tensorflow__Metadata__V0__ValueCount *vc = malloc(sizeof *vc);
            if (!vc)
                goto fail;
            tensorflow__metadata__v0__value_count__init(vc);
            feat->value_count = vc;
            feat->shape_type_case = PB(FEATURE__SHAPE_TYPE_VALUE_COUNT);
            vc->has_min = 1;
            if (lo == hi) {
                vc->min = (int64_t)lo;
                vc->has_max = 1;
                vc->max = (int64_t)hi;
            } else {
                vc->min = 1;
            }
        }
        if ((rc = infer_domain(s, feat, f, fname)) < 0)
            goto fail;
    }
    if ((rc = CFX_PB_PUSH(s->feature, s->n_feature, feat)) < 0)
        goto fail;
    return 0;
fail:
    if (feat)
        protobuf_c_message_free_unpacked(&feat->base, NULL);
    return cfx_error_set(err, rc, "schema: feature '%s': %s", fname,
                         cfx_err_str(rc));
}

int cfx_schema_infer(const cfx_dataset_stats_t *stats,
                     const cfx_schema_options_t *opt, cfx_schema_t **out,
                     cfx_error_t *err) {
    cfx_schema_t *s = NULL;
    int rc = cfx_schema_new(&s, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < stats->n_features; i++)
        if ((rc = cfx_schema_add_feature(s, stats->features[i], opt, err)) <
            0) {
            cfx_schema_free(s);
            return rc;
        }
    *out = s;
    return 0;
}

int cfx_schema_update(cfx_schema_t *s, const cfx_dataset_stats_t *stats,
                      const cfx_schema_options_t *opt, cfx_error_t *err) {
    cfx_validate_options_t vo;
    memset(&vo, 0, sizeof vo);
    if (opt)
        vo.schema = *opt;
    return cfx_validate_fix(s, stats, &vo, NULL, err);
}

/* --- files
 * ------------------------------------------------------------------------ */

int cfx_schema_read_file(const char *path, cfx_buf_t *b, cfx_error_t *err) {
    return cfx_file_read(path, CFX_SCHEMA_MAX_FILE_BYTES, b, err);
}

int cfx_schema_write_file(const char *path, const void *data, size_t n,
                          cfx_error_t *err) {
    return cfx_file_write_atomic(path, data, n, err);
}

static int split_cmp(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int tx = !strcmp(x, "train"), ty = !strcmp(y, "train");
    if (tx != ty)
        return ty - tx;
    return strcmp(x, y);
}

int cfx_schema_split_names(const char *dir, const char *file, char ***names,
                           size_t *n, cfx_error_t *err) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return cfx_error_set(err, errno == ENOENT ? CFX_ENOTFOUND : CFX_EIO,
                             "%s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "Split-", 6) || !e->d_name[6])
            continue;
        char p[PATH_MAX];
        struct stat st;
        if (snprintf(p, sizeof p, "%s/%s%s%s", dir, e->d_name, file ? "/" : "",
                     file ? file : "") >= (int)sizeof p ||
            stat(p, &st) < 0 ||
            !(file ? S_ISREG(st.st_mode) : S_ISDIR(st.st_mode)))
            continue;
        if (*n >= 1024) {
            rc = cfx_error_set(err, CFX_ETOOBIG, "%s: more than 1024 splits",
                               dir);
            break;
        }
        char *s = strdup(e->d_name + 6);
        if (!s || (rc = CFX_PB_PUSH(*names, *n, s)) < 0) {
            free(s);
            rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", dir);
            break;
        }
    }
    closedir(d);
    if (rc < 0) {
        cfx_schema_split_names_free(*names, *n);
        *names = NULL;
        *n = 0;
        return rc;
    }
    if (*n)
        qsort(*names, *n, sizeof **names, split_cmp);
    return 0;
}

void cfx_schema_split_names_free(char **names, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Schemas written before the flag was dropped end with the line
 * `generate_legacy_feature_spec: false`. The open-source tensorflow_metadata
 * schema has no such field and TFDV reads it as false, so a top-level line
 * saying exactly that is turned into a comment; `true` stays an unknown
 * field (docs/validation.md). */
static void blank_legacy_flag(char *text, size_t len) {
    static const char flag[] = "generate_legacy_feature_spec: false";
    size_t n = sizeof flag - 1;
    for (size_t i = 0; i + n <= len; i++) {
        if ((i == 0 || text[i - 1] == '\n') && memcmp(text + i, flag, n) == 0 &&
            (i + n == len || text[i + n] == '\n' || text[i + n] == '\r'))
            text[i] = '#';
    }
}

int cfx_schema_parse_text(char *text, size_t len, const char *path,
                          cfx_schema_t **out, cfx_error_t *err) {
    *out = NULL;
    blank_legacy_flag(text, len);
    ProtobufCMessage *m = NULL;
    int rc = cfx_pb_text_parse(&tensorflow__metadata__v0__schema__descriptor,
                               text ? text : "", len, &m, err);
    if (rc < 0)
        return cfx_error_prefix(err, "%s", path);
    *out = (cfx_schema_t *)m;
    return 0;
}

int cfx_schema_read_text(const char *path, cfx_schema_t **out,
                         cfx_error_t *err) {
    *out = NULL;
    cfx_buf_t b;
    cfx_buf_init(&b);
    int rc = cfx_schema_read_file(path, &b, err);
    if (rc == 0)
        rc = cfx_schema_parse_text((char *)b.data, b.len, path, out, err);
    cfx_buf_free(&b);
    return rc;
}

int cfx_schema_write_text(const char *path, const cfx_schema_t *s,
                          cfx_error_t *err) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    int rc = cfx_pb_text_print(&s->base, &b, err);
    if (rc < 0) {
        cfx_error_prefix(err, "%s", path);
        goto out;
    }
    /* TFX ends its schema.pbtxt with the legacy flag commented out (the
     * open-source schema proto has no such field). */
    static const char legacy[] = "# generate_legacy_feature_spec: false\n";
    if ((rc = cfx_buf_append(&b, legacy, sizeof legacy - 1)) < 0) {
        cfx_error_set(err, rc, "%s: out of memory", path);
        goto out;
    }
    rc = cfx_schema_write_file(path, b.data, b.len, err);
out:
    cfx_buf_free(&b);
    return rc;
}

int cfx_schema_gen(const char *stats_dir, const char *out_dir,
                   const cfx_schema_options_t *opt, size_t *n_features,
                   cfx_error_t *err) {
    char **splits = NULL;
    size_t n_splits = 0;
    cfx_schema_t *schema = NULL;
    cfx_stats_list_t *list = NULL;
    char path[PATH_MAX];
    int rc = cfx_schema_split_names(stats_dir, "FeatureStats.pb", &splits,
                                    &n_splits, err);
    if (rc < 0)
        goto out;
    if (n_splits == 0) {
        rc = cfx_error_set(err, CFX_ENOTFOUND,
                           "%s: no Split-<name>/FeatureStats.pb found",
                           stats_dir);
        goto out;
    }
    for (size_t i = 0; i < n_splits; i++) {
        snprintf(path, sizeof path, "%s/Split-%s/FeatureStats.pb", stats_dir,
                 splits[i]);
        const cfx_dataset_stats_t *d = NULL;
        if ((rc = cfx_stats_read_default(path, &list, &d, err)) < 0)
            goto out;
        rc = i == 0 ? cfx_schema_infer(d, opt, &schema, err)
                    : cfx_schema_update(schema, d, opt, err);
        if (rc < 0) {
            cfx_error_prefix(err, "%s", path);
            goto out;
        }
        cfx_stats_free(list);
        list = NULL;
    }
    if ((rc = cfx_file_mkdirs(out_dir, err)) < 0)
        goto out;
    if (snprintf(path, sizeof path, "%s/schema.pbtxt", out_dir) >=
        (int)sizeof path) {
        rc = cfx_error_set(err, CFX_EINVAL, "%s: path too long", out_dir);
        goto out;
    }
    if ((rc = cfx_schema_write_text(path, schema, err)) < 0)
        goto out;
    if (n_features)
        *n_features = schema->n_feature;
out:
    cfx_stats_free(list);
    cfx_schema_free(schema);
    cfx_schema_split_names_free(splits, n_splits);
    return rc;
}

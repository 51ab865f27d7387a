/* args.c: the argument parser of the cfx commands (see args.h). */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlmd/metadata.h"

/* The option every command with --pipeline-root shares (args.h). */
static const char *metadata_location;
static const cfx_opt_t metadata_opt = {
    "metadata", CFX_OPT_STRING, &metadata_location, 0, 0, 0};
static const char metadata_usage[] =
    "  --metadata LOCATION  the metadata store instead of "
    "ROOT/metadata.sqlite:\n"
    "                       a postgresql:// URL or a SQLite file "
    "(default:\n"
    "                       $" CFX_METADATA_ENV
    ", else the root's file; docs/metadata.md)\n";

static const cfx_opt_t *find_opt(const cfx_opt_t *opts, const char *name,
                                 size_t len) {
    for (const cfx_opt_t *o = opts; o->name; o++)
        if (strlen(o->name) == len && !strncmp(o->name, name, len))
            return o;
    return NULL;
}

/* Stores value into o's target; 0, or 2 after a message. */
static int store(const char *cmd, const cfx_opt_t *o, const char *value) {
    char *end;
    switch (o->kind) {
    case CFX_OPT_STRING:
        *(const char **)o->dst = value;
        return 0;
    case CFX_OPT_FLAG:
        *(int *)o->dst = o->set_to;
        return 0;
    case CFX_OPT_LIST: {
        cfx_opt_list_t *l = o->dst;
        if (l->n == l->cap) {
            fprintf(stderr, "cfx %s: at most %zu --%s\n", cmd, l->cap, o->name);
            return 2;
        }
        l->items[l->n++] = value;
        return 0;
    }
    case CFX_OPT_LONG: {
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!value[0] || *end || errno || (double)v < o->min ||
            (double)v > o->max) {
            fprintf(stderr,
                    "cfx %s: --%s '%s': expected an integer in %.0f..%.0f\n",
                    cmd, o->name, value, o->min, o->max);
            return 2;
        }
        *(long *)o->dst = v;
        return 0;
    }
    case CFX_OPT_DOUBLE: {
        errno = 0;
        double v = strtod(value, &end);
        if (!value[0] || *end || errno || !isfinite(v) || !(v > o->min) ||
            v > o->max) {
            fprintf(stderr,
                    "cfx %s: --%s '%s': expected a number in (%g, %g]\n", cmd,
                    o->name, value, o->min, o->max);
            return 2;
        }
        *(double *)o->dst = v;
        return 0;
    }
    }
    return 2;
}

int cfx_args_usage_error(const char *cmd, void (*usage)(FILE *),
                         const char *what) {
    if (what)
        fprintf(stderr, "cfx %s: %s\n", cmd, what);
    usage(stderr);
    return 2;
}

int cfx_args_part(const char *cmd, const char *arg, unsigned *part,
                  unsigned *nparts) {
    unsigned i, n;
    char tail;
    if (sscanf(arg, "%u/%u%c", &i, &n, &tail) != 2 || n == 0 || n > 65536 ||
        i >= n) {
        fprintf(stderr, "cfx %s: --part '%s': expected I/N with 0 <= I < N\n",
                cmd, arg);
        return 2;
    }
    *part = i;
    *nparts = n;
    return 0;
}

int cfx_args_parse(const char *cmd, int argc, char **argv,
                   const cfx_opt_t *opts, void (*usage)(FILE *),
                   cfx_args_t *args) {
    args->n_pos = 0;
    args->pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof *args->pos);
    if (!args->pos) {
        fprintf(stderr, "cfx %s: out of memory\n", cmd);
        return 1;
    }
    int only_pos = 0, rc = -1;
    for (int i = 1; i < argc && rc < 0; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1]) {
            args->pos[args->n_pos++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        int has_root = find_opt(opts, "pipeline-root", 13) != NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            if (has_root)
                fputs(metadata_usage, stdout);
            rc = 0;
            break;
        }
        const char *name = a + 2, *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cfx_opt_t *o = a[1] == '-' ? find_opt(opts, name, len) : NULL;
        if (!o && has_root && a[1] == '-' && len == 8 &&
            !strncmp(name, "metadata", 8))
            o = &metadata_opt;
        if (!o) {
            fprintf(stderr, "cfx %s: unrecognized option '%.*s'\n", cmd,
                    (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
            rc = cfx_args_usage_error(cmd, usage, NULL);
            break;
        }
        const char *value = NULL;
        if (o->kind == CFX_OPT_FLAG) {
            if (eq) {
                fprintf(stderr, "cfx %s: option '--%s' takes no value\n", cmd,
                        o->name);
                rc = cfx_args_usage_error(cmd, usage, NULL);
                break;
            }
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "cfx %s: option '--%s' requires an argument\n", cmd,
                    o->name);
            rc = cfx_args_usage_error(cmd, usage, NULL);
            break;
        }
        if (store(cmd, o, value)) {
            usage(stderr);
            rc = 2;
        }
    }
    if (rc < 0 && metadata_location) {
        cfx_error_t err;
        cfx_error_init(&err);
        if (cfx_metadata_set_location(metadata_location, &err)) {
            fprintf(stderr, "cfx %s: %s\n", cmd, err.msg);
            rc = 1;
        }
    }
    if (rc >= 0)
        cfx_args_free(args);
    return rc;
}

void cfx_args_free(cfx_args_t *args) {
    free(args->pos);
    args->pos = NULL;
    args->n_pos = 0;
}

int cfx_args_parse_options(const char *cmd, int argc, char **argv,
                           const cfx_opt_t *opts, void (*usage)(FILE *)) {
    cfx_args_t args;
    int ex = cfx_args_parse(cmd, argc, argv, opts, usage, &args);
    if (ex >= 0)
        return ex;
    if (args.n_pos) {
        fprintf(stderr, "cfx %s: unexpected argument '%s'\n", cmd, args.pos[0]);
        ex = cfx_args_usage_error(cmd, usage, NULL);
    }
    cfx_args_free(&args);
    return ex;
}

/*
 * cmd_show.c: `cfx show` — renders an artifact (statistics, schema,
 * anomalies, ...) for a person; the kinds live in report/show.c.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "report/show.h"
#include "report/show_eval.h"

static void usage(FILE *f) {
    size_t n;
    const cfx_show_kind_t *k = cfx_show_kinds(&n);
    fprintf(f, "usage: cfx show [--kind KIND] PATH\n\n"
               "Renders the artifact at PATH (a directory or file) as text.\n"
               "Kinds, detected from the files present:");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s %s", i ? "," : "", k[i].name);
    fprintf(f, ", evaluation");
    fprintf(f, ".\nExit status: 0 shown, 1 error, 2 usage.\n");
}

int cfx_cmd_show(int argc, char **argv) {
    const char *path = NULL, *kind = NULL;
    const cfx_opt_t options[] = {
        {"kind", CFX_OPT_STRING, &kind, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    cfx_args_t args;
    int ex = cfx_args_parse("show", argc, argv, options, usage, &args);
    if (ex >= 0)
        return ex;
    size_t n_pos = args.n_pos;
    path = n_pos ? args.pos[0] : NULL;
    cfx_args_free(&args);
    if (n_pos > 1) {
        fprintf(stderr, "cfx show: one PATH only\n");
        return 2;
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    cfx_error_t err;
    cfx_error_init(&err);
    /* evaluations render from report/show_eval.c */
    int is_eval =
        kind ? !strcmp(kind, "evaluation") : cfx_show_eval_detect(path);
    if ((is_eval ? cfx_show_eval(path, stdout, &err)
                 : cfx_show(path, kind, stdout, &err)) < 0) {
        fprintf(stderr, "cfx show: %s\n", err.msg);
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

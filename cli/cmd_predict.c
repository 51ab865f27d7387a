/* cmd_predict.c: `cfx predict` — batch predictions from a bundle
 * (eval/batch_predict.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "eval/batch_predict.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx predict --bundle DIR --input CSV|DIR [--output FILE]\n"
        "                   [--format csv|jsonl] [--transformed] [--benchmark "
        "SECONDS]\n\n"
        "Predicts from raw rows: a CSV with a header, or a folder of TFRecord\n"
        "files of raw tf.Example. Writes one line per row (CSV, or JSON\n"
        "lines with --format jsonl or an --output ending in .jsonl), by the\n"
        "model's task: binary probability,class; multiclass one\n"
        "probability:<label> column per class and class (the most probable\n"
        "label); regression value.\n"
        "  --transformed  the input folder holds transformed examples (what "
        "the\n"
        "                 trainer read): runs the model (network or trees) "
        "only\n"
        "  --benchmark    instead of predicting, time inference over the input "
        "rows\n"
        "                 (one per call, batches of 256, and a plain reference "
        "loop),\n"
        "                 each for SECONDS of CPU time; with --transformed, "
        "the\n"
        "                 model alone\n");
}

int cfx_cmd_predict(int argc, char **argv) {
    cfx_predict_job_t job = {.out = stdout, .diag = stderr};
    const char *output = NULL, *format = NULL;
    double bench_s = 0;
    const cfx_opt_t options[] = {
        {"bundle", CFX_OPT_STRING, &job.bundle_dir, 0, 0, 0},
        {"input", CFX_OPT_STRING, &job.input, 0, 0, 0},
        {"output", CFX_OPT_STRING, &output, 0, 0, 0},
        {"format", CFX_OPT_STRING, &format, 0, 0, 0},
        {"transformed", CFX_OPT_FLAG, &job.transformed, 0, 0, 1},
        {"benchmark", CFX_OPT_DOUBLE, &bench_s, 0, 86400, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    int ex = cfx_args_parse_options("predict", argc, argv, options, usage);
    if (ex >= 0)
        return ex;
    if (!job.bundle_dir || !job.input ||
        (format && strcmp(format, "csv") && strcmp(format, "jsonl"))) {
        usage(stderr);
        return 2;
    }
    cfx_error_t err;
    cfx_error_init(&err);
    if (bench_s > 0) {
        cfx_predict_bench_t r;
        if (cfx_predict_bench(job.bundle_dir, job.input, job.transformed,
                              bench_s, &r, &err) != 0) {
            fprintf(stderr, "cfx predict: %s\n", err.msg);
            return 1;
        }
        printf("rows       %zu\n", r.rows);
        const char *what = job.transformed ? "model only, " : "";
        printf("single     %.3f us/example (%s1 per call)\n", r.single_us,
               what);
        printf("batched    %.0f examples/s (%s)\n", r.batched_per_s,
               job.transformed ? "model only, every row in one call"
                               : "256 per call");
        printf("reference  %.3f us/example, %.0f examples/s (%s)\n",
               r.ref_single_us, r.ref_per_s,
               job.transformed ? "reference forward"
                               : "transform + reference forward");
        printf("speedup    single %.2fx, batched %.2fx vs reference; max |p - "
               "p_ref| %.3g\n",
               r.ref_single_us / r.single_us, r.batched_per_s / r.ref_per_s,
               r.max_abs_diff);
        return 0;
    }
    size_t ol = output ? strlen(output) : 0;
    job.jsonl = format ? !strcmp(format, "jsonl")
                       : (ol > 6 && !strcmp(output + ol - 6, ".jsonl"));
    /* --output is written beside itself and renamed into place on
     * success: a failed run leaves no partial file. */
    char tmp[4096];
    if (output) {
        if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", output) >=
            (int)sizeof tmp) {
            fprintf(stderr, "cfx predict: %s: path too long\n", output);
            return 1;
        }
        int fd = mkstemp(tmp);
        mode_t mask = umask(0);
        umask(mask);
        if (fd < 0 || fchmod(fd, 0666 & ~mask) != 0 ||
            (job.out = fdopen(fd, "w")) == NULL) {
            fprintf(stderr, "cfx predict: %s: %s\n", output, strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(tmp);
            }
            return 1;
        }
    }
    size_t rows = 0;
    int rc = cfx_predict_run(&job, &rows, &err);
    if (output) {
        int werr = fclose(job.out) != 0 ? errno : 0;
        if (rc == 0 && werr == 0 && rename(tmp, output) != 0)
            werr = errno;
        if (rc != 0 || werr != 0)
            unlink(tmp);
        if (rc == 0 && werr != 0) {
            fprintf(stderr, "cfx predict: %s: %s\n", output, strerror(werr));
            return 1;
        }
    }
    if (rc != 0) {
        fprintf(stderr, "cfx predict: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "cfx predict: %zu rows\n", rows);
    return 0;
}

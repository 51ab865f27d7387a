/* cmd_statistics.c: `cfx statistics` — TFDV-compatible statistics per split. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mlmd/component.h"
#include "data/statistics.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: cfx statistics --examples DIR (--output DIR | --pipeline-root ROOT)\n"
            "                      [--threads N]\n"
            "                      [--quantiles-budget N]\n\n"
            "Computes tensorflow_metadata statistics for every split of an "
            "Examples\nartifact (DIR/Split-<name>/*.gz) into "
            "OUTPUT/Split-<name>/FeatureStats.pb.\n"
            "  --threads           worker threads (default 2)\n"
            "  --quantiles-budget  distinct values per feature kept for exact "
            "quantiles\n"
            "                      before switching to a sketch (default "
            "262144)\n"
            "  --max-distinct-strings  distinct values counted per string "
            "feature\n"
            "                      (default 4194304; past it: reported as "
            "untracked_values)\n"
            "  --pipeline-root     record the run in ROOT/metadata.sqlite (output in\n"
            "                      ROOT/StatisticsGen/statistics/<id>/ unless --output)\n"
            "\nSplit across processes or machines (docs/statistics.md):\n"
            "  cfx statistics --examples DIR --part I/N --output PART_I\n"
            "      accumulator state of every N-th file from the I-th "
            "(0-based)\n"
            "  cfx statistics --merge PART_0 --merge PART_1 ... --output DIR\n"
            "      merges the parts into FeatureStats.pb per split\n");
}

int cfx_cmd_statistics(int argc, char **argv) {
    static const struct option longopts[] = {
        {"examples", required_argument, NULL, 'e'},
        {"output", required_argument, NULL, 'o'},
        {"threads", required_argument, NULL, 't'},
        {"quantiles-budget", required_argument, NULL, 'q'},
        {"pipeline-root", required_argument, NULL, 'R'},
        {"part", required_argument, NULL, 'p'},
        {"max-distinct-strings", required_argument, NULL, 'D'},
        {"merge", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *examples = NULL, *output = NULL, *root = NULL;
    cfx_stats_options_t opts = {0};
    const char *merge[256];
    size_t nmerge = 0;
    unsigned part = 0, nparts = 0;
    cfx_error_t err;
    cfx_error_init(&err);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end;
        long v;
        switch (c) {
        case 'e':
            examples = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 't':
            v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 16) {
                fprintf(stderr, "cfx statistics: --threads '%s': 1..16\n",
                        optarg);
                return 2;
            }
            opts.threads = (unsigned)v;
            break;
        case 'q':
            v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > (1L << 26)) {
                fprintf(stderr,
                        "cfx statistics: --quantiles-budget '%s': 1..%ld\n",
                        optarg, 1L << 26);
                return 2;
            }
            opts.quantiles_budget = (size_t)v;
            break;
        case 'R':
            root = optarg;
            break;
        case 'D':
            v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > (1L << 30)) {
                fprintf(stderr,
                        "cfx statistics: --max-distinct-strings '%s': 1..%ld\n",
                        optarg, 1L << 30);
                return 2;
            }
            opts.max_distinct_strings = (size_t)v;
            break;
        case 'p': {
            unsigned i, n;
            char tail;
            if (sscanf(optarg, "%u/%u%c", &i, &n, &tail) != 2 || n == 0 ||
                n > 65536 || i >= n) {
                fprintf(stderr, "cfx statistics: --part '%s': expected I/N "
                        "with 0 <= I < N\n", optarg);
                return 2;
            }
            part = i;
            nparts = n;
            break;
        }
        case 'm':
            if (nmerge == sizeof merge / sizeof merge[0]) {
                fprintf(stderr, "cfx statistics: at most %zu --merge\n",
                        sizeof merge / sizeof merge[0]);
                return 2;
            }
            merge[nmerge++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (nmerge || nparts) {
        if (!output || root || optind != argc || (nmerge && (nparts || examples)) ||
            (nparts && !examples)) {
            usage(stderr);
            return 2;
        }
        size_t ns = 0;
        int prc = nmerge ? cfx_statistics_merge_parts(merge, nmerge, output,
                                                      &opts, &ns, &err)
                         : cfx_statistics_run_part(examples, output, &opts,
                                                   part, nparts, &ns, &err);
        if (prc < 0) {
            fprintf(stderr, "cfx statistics: %s\n", err.msg);
            return 1;
        }
        printf("statistics: %zu splits -> %s (%s)\n", ns, output,
               nmerge ? "merged" : "partial state");
        return 0;
    }
    if (!examples || (!output && !root) || optind != argc) {
        usage(stderr);
        return 2;
    }
    cfx_component_run_t run = {0};
    cfx_component_input_t in[] = {{"examples", 0, examples}};
    if (cfx_component_begin_cli(&run, root, "StatisticsGen", NULL, in, 1,
                                "statistics", &output, &err) < 0) {
        fprintf(stderr, "cfx statistics: %s\n", err.msg);
        cfx_component_run_free(&run);
        return 1;
    }
    struct timespec t0, t1;
    size_t nsplits = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = cfx_statistics_run(examples, output, &opts, &nsplits, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (root) {
        cfx_error_t ferr;
        cfx_error_init(&ferr);
        if (rc == 0 && cfx_component_set_split_properties(&run, "statistics", "examples",
                                                          &ferr) < 0) {
            rc = ferr.code;
            err = ferr;
        }
        rc = cfx_component_finish_cli(&run, rc, &err);
    }
    if (rc < 0) {
        fprintf(stderr, "cfx statistics: %s\n", err.msg);
        cfx_component_run_free(&run);
        return 1;
    }
    printf("statistics: %zu splits -> %s in %.2f s\n", nsplits, output,
           (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    cfx_component_run_free(&run);
    return 0;
}

/* cmd_statistics.c: `cfx statistics` — TFDV-compatible statistics per split. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/components.h"
#include "data/statistics.h"
#include "formats/clock.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: cfx statistics --examples DIR (--output DIR | "
            "--pipeline-root ROOT)\n"
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
            "  --pipeline-root     record the run in ROOT/metadata.sqlite "
            "(output in\n"
            "                      ROOT/StatisticsGen/statistics/<id>/ unless "
            "--output)\n"
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
                fprintf(stderr,
                        "cfx statistics: --part '%s': expected I/N "
                        "with 0 <= I < N\n",
                        optarg);
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
        if (!output || root || optind != argc ||
            (nmerge && (nparts || examples)) || (nparts && !examples)) {
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
    /* the settings of cfx_statisticsgen_component (data/components.h) */
    json_t *props = json_object();
    if (!props ||
        (opts.threads &&
         json_object_set_new(props, "threads", json_integer(opts.threads))) ||
        (opts.quantiles_budget &&
         json_object_set_new(
             props, "quantiles_budget",
             json_integer((json_int_t)opts.quantiles_budget))) ||
        (opts.max_distinct_strings &&
         json_object_set_new(
             props, "max_distinct_strings",
             json_integer((json_int_t)opts.max_distinct_strings)))) {
        fprintf(stderr, "cfx statistics: out of memory\n");
        json_decref(props);
        return 1;
    }
    cfx_component_input_t in[] = {{"examples", 0, examples, examples}};
    cfx_component_output_path_t out[] = {{"statistics", output}};
    size_t nsplits = 0;
    cfx_component_cli_t cli = {.root = root,
                               .props = props,
                               .inputs = in,
                               .n_inputs = 1,
                               .outputs = out,
                               .n_outputs = 1,
                               .result = &nsplits};
    cfx_component_run_t run;
    char summary[512];
    double t0 = cfx_clock_mono_s();
    int rc = cfx_component_run_cli(&run, &cfx_statisticsgen_component, &cli,
                                   summary, sizeof summary, &err);
    double secs = cfx_clock_mono_s() - t0;
    json_decref(props);
    if (rc < 0) {
        fprintf(stderr, "cfx statistics: %s\n", err.msg);
        cfx_component_run_free(&run);
        return 1;
    }
    if (!output)
        output = cfx_component_output_uri(&run, "statistics");
    printf("statistics: %zu splits -> %s in %.2f s\n", nsplits, output, secs);
    cfx_component_run_free(&run);
    return 0;
}

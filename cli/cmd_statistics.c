/* cmd_statistics.c: `cfx statistics` — TFDV-compatible statistics per split. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "component_cmd.h"
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
    const char *examples = NULL, *output = NULL, *root = NULL, *part_arg = NULL;
    cfx_stats_options_t opts = {0};
    const char *merge[256];
    cfx_opt_list_t merges = {merge, sizeof merge / sizeof merge[0], 0};
    long threads = 0, budget = 0, distinct = 0;
    unsigned part = 0, nparts = 0;
    cfx_error_t err;
    cfx_error_init(&err);
    const cfx_opt_t options[] = {
        {"examples", CFX_OPT_STRING, &examples, 0, 0, 0},
        {"output", CFX_OPT_STRING, &output, 0, 0, 0},
        {"threads", CFX_OPT_LONG, &threads, 1, 16, 0},
        {"quantiles-budget", CFX_OPT_LONG, &budget, 1, 1L << 26, 0},
        {"pipeline-root", CFX_OPT_STRING, &root, 0, 0, 0},
        {"part", CFX_OPT_STRING, &part_arg, 0, 0, 0},
        {"max-distinct-strings", CFX_OPT_LONG, &distinct, 1, 1L << 30, 0},
        {"merge", CFX_OPT_LIST, &merges, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    int ex = cfx_args_parse_options("statistics", argc, argv, options, usage);
    if (ex >= 0)
        return ex;
    opts.threads = (unsigned)threads;
    opts.quantiles_budget = (size_t)budget;
    opts.max_distinct_strings = (size_t)distinct;
    size_t nmerge = merges.n;
    if (part_arg && cfx_args_part("statistics", part_arg, &part, &nparts))
        return 2;
    if (nmerge || nparts) {
        if (!output || root || (nmerge && (nparts || examples)) ||
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
    if (!examples || (!output && !root)) {
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
    double secs;
    if (cfx_cmd_run_spec("statistics", &cfx_statisticsgen_component, &cli, &run,
                         &secs))
        return 1;
    if (!output)
        output = cfx_component_output_uri(&run, "statistics");
    printf("statistics: %zu splits -> %s in %.2f s\n", nsplits, output, secs);
    cfx_component_run_free(&run);
    return 0;
}

/* cmd_examplegen.c: `cfx examplegen` — CSV to tf.Example TFRecord splits. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "component_cmd.h"
#include "data/components.h"
#include "data/examplegen.h"
#include "formats/clock.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx examplegen --input CSV (--output DIR | --pipeline-root "
        "ROOT)\n"
        "                      [--split name:buckets,...] "
        "[--num-shards N] [--skip-bad-rows]\n\n"
        "Converts a CSV with a header line into gzipped TFRecord files "
        "of tf.Example,\none directory per split (DIR/Split-<name>/), "
        "as TFX's CsvExampleGen does.\n"
        "  --split          hash buckets per split (default "
        "train:2,eval:1)\n"
        "  --num-shards     files per split (default 2)\n"
        "  --skip-bad-rows  count and skip malformed rows instead of "
        "failing\n"
        "  --pipeline-root  record the run in ROOT/metadata.sqlite (output in\n"
        "                   ROOT/ExampleGen/examples/<id>/ unless --output)\n"
        "\nSplit across processes or machines (docs/data.md):\n"
        "  cfx examplegen --input CSV --part I/N --output PART_I [options]\n"
        "      the examples of the I-th (0-based) of N blocks of rows\n"
        "  cfx examplegen --merge PART_0 --merge PART_1 ... --output DIR\n"
        "      the same files as one run over the whole CSV\n");
}

int cfx_cmd_examplegen(int argc, char **argv) {
    const char *input = NULL, *output = NULL, *root = NULL, *split = NULL;
    cfx_split_spec_t splits[CFX_EXAMPLEGEN_MAX_SPLITS];
    cfx_examplegen_options_t opts = {0};
    cfx_examplegen_result_t res;
    memset(&res, 0, sizeof res);
    cfx_error_t err;
    cfx_error_init(&err);
    long shards = 0;
    int skip = 0;
    const char *part_arg = NULL, *merge[1024];
    cfx_opt_list_t merges = {merge, sizeof merge / sizeof merge[0], 0};
    const cfx_opt_t options[] = {
        {"input", CFX_OPT_STRING, &input, 0, 0, 0},
        {"output", CFX_OPT_STRING, &output, 0, 0, 0},
        {"split", CFX_OPT_STRING, &split, 0, 0, 0},
        {"num-shards", CFX_OPT_LONG, &shards, 1, CFX_EXAMPLEGEN_MAX_SHARDS, 0},
        {"skip-bad-rows", CFX_OPT_FLAG, &skip, 0, 0, 1},
        {"pipeline-root", CFX_OPT_STRING, &root, 0, 0, 0},
        {"part", CFX_OPT_STRING, &part_arg, 0, 0, 0},
        {"merge", CFX_OPT_LIST, &merges, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    int ex = cfx_args_parse_options("examplegen", argc, argv, options, usage);
    if (ex >= 0)
        return ex;
    if (split && cfx_examplegen_parse_splits(split, splits, &opts.num_splits,
                                             &err) < 0) {
        fprintf(stderr, "cfx examplegen: %s\n", err.msg);
        return 2;
    }
    opts.num_shards = (unsigned)shards;
    opts.skip_bad_rows = skip;
    if (split)
        opts.splits = splits;
    if (part_arg || merges.n) {
        unsigned part = 0, nparts = 0;
        if (part_arg && cfx_args_part("examplegen", part_arg, &part, &nparts))
            return 2;
        if (!output || root || (merges.n && (part_arg || input)) ||
            (part_arg && !input))
            return cfx_args_usage_error(
                "examplegen", usage,
                "--part needs --input and --output, --merge only --output "
                "(no --pipeline-root)");
        double t0 = cfx_clock_mono_s();
        int prc = merges.n ? cfx_examplegen_merge_parts(merge, merges.n, output,
                                                        &res, &err)
                           : cfx_examplegen_run_part(input, output, &opts, part,
                                                     nparts, &res, &err);
        if (prc < 0) {
            fprintf(stderr, "cfx examplegen: %s\n", err.msg);
            cfx_examplegen_result_free(&res);
            return 1;
        }
        uint64_t n = 0;
        for (size_t s = 0; s < res.num_splits; s++)
            n += res.split_rows[s];
        printf("examplegen: %llu rows -> %s in %.2f s (%s)\n",
               (unsigned long long)n, output, cfx_clock_mono_s() - t0,
               merges.n ? "merged" : "part");
        for (size_t s = 0; s < res.num_splits; s++)
            printf("  Split-%s: %llu examples\n", res.splits[s].name,
                   (unsigned long long)res.split_rows[s]);
        cfx_examplegen_result_free(&res);
        return 0;
    }
    if (!input || (!output && !root)) {
        usage(stderr);
        return 2;
    }
    /* the settings of cfx_examplegen_component (data/components.h) */
    json_t *props = json_object();
    if (!props ||
        (split && json_object_set_new(props, "splits", json_string(split))) ||
        (opts.num_shards &&
         json_object_set_new(props, "num_shards",
                             json_integer(opts.num_shards))) ||
        (opts.skip_bad_rows &&
         json_object_set_new(props, "skip_bad_rows", json_true()))) {
        fprintf(stderr, "cfx examplegen: out of memory\n");
        json_decref(props);
        return 1;
    }
    cfx_component_input_t in[] = {{"input", 0, input, input}};
    cfx_component_output_path_t out[] = {{"examples", output}};
    cfx_component_cli_t cli = {.root = root,
                               .props = props,
                               .inputs = in,
                               .n_inputs = 1,
                               .outputs = out,
                               .n_outputs = 1,
                               .progress = stderr,
                               .result = &res};
    cfx_component_run_t run;
    double secs;
    if (cfx_cmd_run_spec("examplegen", &cfx_examplegen_component, &cli, &run,
                         &secs)) {
        if (res.bad_rows)
            fprintf(stderr, "cfx examplegen: %llu bad rows seen\n",
                    (unsigned long long)res.bad_rows);
        cfx_examplegen_result_free(&res);
        return 1;
    }
    if (!output)
        output = cfx_component_output_uri(&run, "examples");
    printf("examplegen: %llu rows -> %s in %.2f s (%.0f rows/s)\n",
           (unsigned long long)res.rows, output, secs,
           secs > 0 ? (double)res.rows / secs : 0.0);
    for (size_t s = 0; s < res.num_splits; s++)
        printf("  Split-%s: %llu examples\n", res.splits[s].name,
               (unsigned long long)res.split_rows[s]);
    if (res.bad_rows)
        printf("  skipped %llu bad rows\n", (unsigned long long)res.bad_rows);
    printf("  columns:");
    for (size_t i = 0; i < res.num_columns; i++)
        printf(" %s:%s", res.columns[i], cfx_csv_type_name(res.types[i]));
    printf("\n");
    cfx_examplegen_result_free(&res);
    cfx_component_run_free(&run);
    return 0;
}

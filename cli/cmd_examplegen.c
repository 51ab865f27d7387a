/* cmd_examplegen.c: `cfx examplegen` — CSV to tf.Example TFRecord splits. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlmd/component.h"
#include "data/examplegen.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: cfx examplegen --input CSV (--output DIR | --pipeline-root ROOT)\n"
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
            "                   ROOT/ExampleGen/examples/<id>/ unless --output)\n");
}

int cfx_cmd_examplegen(int argc, char **argv) {
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"split", required_argument, NULL, 's'},
        {"num-shards", required_argument, NULL, 'n'},
        {"skip-bad-rows", no_argument, NULL, 'k'},
        {"pipeline-root", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *input = NULL, *output = NULL, *root = NULL;
    cfx_split_spec_t splits[CFX_EXAMPLEGEN_MAX_SPLITS];
    cfx_examplegen_options_t opts = {0};
    cfx_examplegen_result_t res;
    cfx_error_t err;
    cfx_error_init(&err);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            input = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 's':
            if (cfx_examplegen_parse_splits(optarg, splits, &opts.num_splits,
                                            &err) < 0) {
                fprintf(stderr, "cfx examplegen: %s\n", err.msg);
                return 2;
            }
            opts.splits = splits;
            break;
        case 'n': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > CFX_EXAMPLEGEN_MAX_SHARDS) {
                fprintf(stderr,
                        "cfx examplegen: --num-shards '%s': expected 1..%d\n",
                        optarg, CFX_EXAMPLEGEN_MAX_SHARDS);
                return 2;
            }
            opts.num_shards = (unsigned)n;
            break;
        }
        case 'k':
            opts.skip_bad_rows = 1;
            break;
        case 'R':
            root = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!input || (!output && !root) || optind != argc) {
        usage(stderr);
        return 2;
    }
    cfx_component_run_t run = {0};
    char fp[512] = "";
    if (root && cfx_component_input_fingerprint(input, "single_split", fp,
                                                sizeof fp, &err) == 0) {
        const char *props[] = {"input_base", input, "input_fingerprint", fp, NULL};
        cfx_component_input_t in[] = {{"input", 0, input}};
        cfx_component_begin_cli(&run, root, "ExampleGen", props, in, 1,
                                "examples", &output, &err);
    }
    if (err.code) {
        fprintf(stderr, "cfx examplegen: %s\n", err.msg);
        cfx_component_run_free(&run);
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = cfx_examplegen_run(input, output, &opts, &res, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == 0 && root) {
        char names[512] = "[";
        for (size_t s = 0; s < res.num_splits; s++)
            snprintf(names + strlen(names), sizeof names - strlen(names),
                     "%s\"%s\"", s ? "," : "", res.splits[s].name);
        strncat(names, "]", sizeof names - strlen(names) - 1);
        if ((rc = cfx_component_set_string(&run, "examples", "split_names", 0,
                                           names, &err)) == 0 &&
            (rc = cfx_component_set_int(&run, "examples", "span", 0, 0, &err)) == 0 &&
            (rc = cfx_component_set_string(&run, "examples", "payload_format", 1,
                                           "FORMAT_TF_EXAMPLE", &err)) == 0 &&
            (rc = cfx_component_set_string(&run, "examples", "file_format", 1,
                                           "tfrecords_gzip", &err)) == 0)
            rc = cfx_component_set_string(&run, "examples", "input_fingerprint", 1,
                                          fp, &err);
    }
    if (root) {
        rc = cfx_component_finish_cli(&run, rc, &err);
    }
    if (rc < 0) {
        fprintf(stderr, "cfx examplegen: %s\n", err.msg);
        if (res.bad_rows)
            fprintf(stderr, "cfx examplegen: %llu bad rows seen\n",
                    (unsigned long long)res.bad_rows);
        cfx_examplegen_result_free(&res);
        cfx_component_run_free(&run);
        return 1;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
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

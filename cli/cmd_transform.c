/* cmd_transform.c: `cfx transform` — analyzers over train, the transform
 * graph, and transformed examples for every split. */
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "component_cmd.h"
#include "formats/clock.h"
#include "transform/tft.h"
#include "transform/tft_component.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: cfx transform --examples DIR --spec FILE --output DIR\n"
            "                     [--schema FILE] [--max-quantile-values N]\n"
            "                     [--pipeline-root ROOT]\n\n"
            "Runs the analyzers of the transform spec over "
            "DIR/Split-train, writes\nOUTPUT/transform_graph/ "
            "(transform.json, assets/, metadata/schema.pbtxt) and\n"
            "OUTPUT/transformed_examples/Split-<s>/ for every split, as "
            "TFX's Transform.\n"
            "  --examples   folder holding Split-<name>/ TFRecord files\n"
            "  --spec       transform spec JSON (docs/transform.md)\n"
            "  --schema     raw schema.pbtxt, copied into the graph\n"
            "  --max-quantile-values  distinct values kept for exact "
            "quantiles per\n"
            "               bucketized feature (default 262144; past it a KLL "
            "sketch)\n"
            "  --pipeline-root  record the run in ROOT/metadata.sqlite\n"
            "\nThe analyzers split across processes or machines "
            "(docs/transform.md):\n"
            "  cfx transform --examples DIR --spec FILE [--schema FILE] "
            "--part I/N\n"
            "                --output PART_I\n"
            "      analyzer state of every N-th Split-train file from the "
            "I-th (0-based)\n"
            "  cfx transform --examples DIR --spec FILE [--schema FILE]\n"
            "                --merge PART_0 --merge PART_1 ... --output DIR\n"
            "      the same output as one run, from the parts' state\n");
}

static void print_result(const cfx_tft_result_t *r, double secs) {
    for (size_t s = 0; s < r->num_splits; s++)
        printf("  Split-%s: %llu examples\n", r->split_names[s],
               (unsigned long long)r->split_examples[s]);
    printf("  %.2f s\n", secs);
    for (size_t i = 0; i < r->num_outputs; i++) {
        const cfx_tft_output_summary_t *o = &r->outputs[i];
        printf("  %-28s %-10s", o->name, o->op);
        if (o->cardinality == 0) /* dense: z_score, log_z_score */
            printf(" mean=%.6g var=%.6g", o->mean, o->var);
        else if (!strcmp(o->op, "vocabulary"))
            printf(" vocab_size=%zu cardinality=%lld", o->vocab_size,
                   (long long)o->cardinality);
        else
            printf(" cardinality=%lld%s", (long long)o->cardinality,
                   !strcmp(o->op, "bucketize") && !o->quantiles_exact
                       ? " (approximate quantiles)"
                       : "");
        if (o->train_counts) {
            printf(" train_counts=[");
            for (int64_t k = 0; k < o->cardinality; k++)
                printf("%s%llu", k ? "," : "",
                       (unsigned long long)o->train_counts[k]);
            printf("]");
        }
        printf("\n");
    }
}

/* The settings of cfx_transform_component: the spec and, recorded, its
 * digest. NULL when out of memory or the spec cannot be read (err set). */
static json_t *settings(const cfx_tft_options_t *opts, const char *root,
                        cfx_error_t *err) {
    char digest[65];
    if (root && cfx_component_file_digest(opts->spec_path, digest, err) < 0)
        return NULL;
    json_t *p = root ? json_pack("{s:s, s:s, s:I}", "spec", opts->spec_path,
                                 "spec_sha256", digest, "max_quantile_values",
                                 (json_int_t)opts->max_quantile_values)
                     : json_pack("{s:s, s:I}", "spec", opts->spec_path,
                                 "max_quantile_values",
                                 (json_int_t)opts->max_quantile_values);
    if (!p)
        cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return p;
}

int cfx_cmd_transform(int argc, char **argv) {
    cfx_tft_options_t opts;
    memset(&opts, 0, sizeof opts);
    cfx_tft_result_t res;
    memset(&res, 0, sizeof res);
    const char *root = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    long maxq = 0;
    const char *part_arg = NULL, *merge[1024];
    cfx_opt_list_t merges = {merge, sizeof merge / sizeof merge[0], 0};
    const cfx_opt_t options[] = {
        {"part", CFX_OPT_STRING, &part_arg, 0, 0, 0},
        {"merge", CFX_OPT_LIST, &merges, 0, 0, 0},
        {"examples", CFX_OPT_STRING, &opts.examples_dir, 0, 0, 0},
        {"schema", CFX_OPT_STRING, &opts.schema_path, 0, 0, 0},
        {"spec", CFX_OPT_STRING, &opts.spec_path, 0, 0, 0},
        {"output", CFX_OPT_STRING, &opts.output_dir, 0, 0, 0},
        {"max-quantile-values", CFX_OPT_LONG, &maxq, 1, 4294967296.0, 0},
        {"pipeline-root", CFX_OPT_STRING, &root, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    int ex = cfx_args_parse_options("transform", argc, argv, options, usage);
    if (ex >= 0)
        return ex;
    opts.max_quantile_values = (size_t)maxq;
    if (part_arg || merges.n) {
        unsigned part = 0, nparts = 0;
        if (part_arg && cfx_args_part("transform", part_arg, &part, &nparts))
            return 2;
        if (!opts.examples_dir || !opts.spec_path || !opts.output_dir || root ||
            (part_arg && merges.n))
            return cfx_args_usage_error(
                "transform", usage,
                "--part and --merge need --examples, --spec and --output "
                "(no --pipeline-root), and exclude each other");
        double t0 = cfx_clock_mono_s();
        if (part_arg) {
            if (cfx_tft_analyze_part(&opts, part, nparts, opts.output_dir,
                                     &err) < 0) {
                fprintf(stderr, "cfx transform: %s\n", err.msg);
                return 1;
            }
            printf("transform: analyzers part %u/%u -> %s in %.2f s\n", part,
                   nparts, opts.output_dir, cfx_clock_mono_s() - t0);
            return 0;
        }
        opts.analyzer_parts = merge;
        opts.num_analyzer_parts = merges.n;
        if (cfx_tft_run(&opts, &res, &err) < 0) {
            fprintf(stderr, "cfx transform: %s\n", err.msg);
            return 1;
        }
        printf("transform: %s + %zu analyzer parts -> %s\n", opts.examples_dir,
               merges.n, opts.output_dir);
        print_result(&res, cfx_clock_mono_s() - t0);
        cfx_tft_result_free(&res);
        return 0;
    }
    if (!opts.examples_dir || !opts.spec_path || (!opts.output_dir && !root)) {
        usage(stderr);
        return 2;
    }
    json_t *props = settings(&opts, root, &err);
    if (!props) {
        fprintf(stderr, "cfx transform: %s\n", err.msg);
        return 1;
    }
    /* inputs: the examples and the schema's folder (so runs chain in `cfx
     * lineage`), the schema file as given */
    char schema_dir[PATH_MAX];
    snprintf(schema_dir, sizeof schema_dir, "%s",
             opts.schema_path ? opts.schema_path : "");
    cfx_component_input_t in[2] = {
        {"examples", 0, opts.examples_dir, opts.examples_dir},
        {"schema", 0, dirname(schema_dir), opts.schema_path}};
    char graph[PATH_MAX], texs[PATH_MAX];
    cfx_component_output_path_t out[2] = {{"transform_graph", NULL},
                                          {"transformed_examples", NULL}};
    if (opts.output_dir) {
        snprintf(graph, sizeof graph, "%s/transform_graph", opts.output_dir);
        snprintf(texs, sizeof texs, "%s/transformed_examples", opts.output_dir);
        out[0].path = graph;
        out[1].path = texs;
    }
    cfx_component_cli_t cli = {.root = root,
                               .props = props,
                               .inputs = in,
                               .n_inputs = opts.schema_path ? 2 : 1,
                               .outputs = out,
                               .n_outputs = 2,
                               .result = &res};
    cfx_component_run_t run;
    double secs;
    if (cfx_cmd_run_spec("transform", &cfx_transform_component, &cli, &run,
                         &secs)) {
        cfx_tft_result_free(&res);
        return 1;
    }
    opts.graph_dir = cfx_component_output_uri(&run, "transform_graph");
    printf("transform: %s -> %s\n", opts.examples_dir,
           opts.output_dir ? opts.output_dir : opts.graph_dir);
    print_result(&res, secs);
    cfx_tft_result_free(&res);
    cfx_component_run_free(&run); /* owns opts.graph_dir */
    return 0;
}

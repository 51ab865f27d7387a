/* cmd_transform.c: `cfx transform` — analyzers over train, the transform
 * graph, and transformed examples for every split. */
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlmd/component.h"
#include "transform/tft.h"

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
            "  --pipeline-root  record the run in ROOT/metadata.sqlite\n");
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

/* Starts the metadata record of a standalone run: exec properties name the
 * spec and its digest; inputs are the examples and the schema's folder (so
 * runs chain in `cfx lineage`); outputs go to the root unless --output. */
static int begin_run(cfx_component_run_t *run, const char *root,
                     cfx_tft_options_t *opts, cfx_error_t *err) {
    char digest[65];
    char *props = NULL, *schema_dir = NULL;
    int rc = cfx_component_file_digest(opts->spec_path, digest, err);
    if (rc < 0)
        return rc;
    json_t *p = json_pack("{s:s, s:s, s:I}", "spec", opts->spec_path,
                          "spec_sha256", digest, "max_quantile_values",
                          (json_int_t)opts->max_quantile_values);
    props = p ? json_dumps(p, JSON_SORT_KEYS) : NULL;
    json_decref(p);
    cfx_component_input_t in[2] = {{"examples", 0, opts->examples_dir},
                                   {"schema", 0, NULL}};
    size_t n = 1;
    if (opts->schema_path) {
        schema_dir = strdup(opts->schema_path);
        if (schema_dir)
            in[n++].uri = dirname(schema_dir);
    }
    if (!props || (opts->schema_path && !schema_dir)) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = cfx_component_begin(run, root, "Transform", props, in, n, err)) <
        0)
        goto out;
    if (opts->output_dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/transform_graph", opts->output_dir);
        if ((rc = cfx_component_output_at(run, "transform_graph", NULL, path,
                                          err)) < 0)
            goto out;
        snprintf(path, sizeof path, "%s/transformed_examples",
                 opts->output_dir);
        rc = cfx_component_output_at(run, "transformed_examples", NULL, path,
                                     err);
        goto out;
    }
    opts->graph_dir = cfx_component_output_dir(run, "transform_graph", err);
    opts->transformed_examples_dir =
        cfx_component_output_dir(run, "transformed_examples", err);
    if (!opts->graph_dir || !opts->transformed_examples_dir)
        rc = err->code ? err->code : CFX_EINTERNAL;
out:
    free(props);
    free(schema_dir);
    return rc;
}

/* split_names of the transformed examples, as TFX records it. */
static int set_split_names(cfx_component_run_t *run,
                           const cfx_tft_result_t *res,
                           cfx_error_t *err) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < res->num_splits; i++)
        if (json_array_append_new(a, json_string(res->split_names[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    char *names = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    if (!names)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    int rc = cfx_component_set_string(run, "transformed_examples",
                                      "split_names", 0, names, err);
    free(names);
    return rc;
}

int cfx_cmd_transform(int argc, char **argv) {
    static const struct option longopts[] = {
        {"examples", required_argument, NULL, 'e'},
        {"schema", required_argument, NULL, 's'},
        {"spec", required_argument, NULL, 'p'},
        {"output", required_argument, NULL, 'o'},
        {"max-quantile-values", required_argument, NULL, 'q'},
        {"pipeline-root", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cfx_tft_options_t opts;
    memset(&opts, 0, sizeof opts);
    cfx_tft_result_t res;
    const char *root = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            opts.examples_dir = optarg;
            break;
        case 's':
            opts.schema_path = optarg;
            break;
        case 'p':
            opts.spec_path = optarg;
            break;
        case 'o':
            opts.output_dir = optarg;
            break;
        case 'q': {
            char *end;
            long long n = strtoll(optarg, &end, 10);
            if (*end || n < 1 || n > (1ll << 32)) {
                fprintf(stderr,
                        "cfx transform: --max-quantile-values '%s': expected "
                        "1..2^32\n",
                        optarg);
                return 2;
            }
            opts.max_quantile_values = (size_t)n;
            break;
        }
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
    if (!opts.examples_dir || !opts.spec_path || (!opts.output_dir && !root) ||
        optind != argc) {
        usage(stderr);
        return 2;
    }
    cfx_component_run_t run;
    memset(&run, 0, sizeof run);
    if (root && begin_run(&run, root, &opts, &err) < 0) {
        fprintf(stderr, "cfx transform: %s\n", err.msg);
        cfx_component_run_free(&run);
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = cfx_tft_run(&opts, &res, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (root) {
        if (rc == 0)
            rc = set_split_names(&run, &res, &err);
        rc = cfx_component_finish_cli(&run, rc, &err);
    }
    if (rc < 0) {
        fprintf(stderr, "cfx transform: %s\n", err.msg);
        cfx_tft_result_free(&res);
        cfx_component_run_free(&run);
        return 1;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("transform: %s -> %s\n", opts.examples_dir,
           opts.output_dir ? opts.output_dir : opts.graph_dir);
    print_result(&res, secs);
    cfx_tft_result_free(&res);
    cfx_component_run_free(&run); /* owns opts.graph_dir */
    return 0;
}

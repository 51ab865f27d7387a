/*
 * transform.h: the Transform component (TFX Transform, docs/transform.md).
 *
 * Reads Examples (<examples>/Split-<s>/ TFRecord.gz of tf.Example) and a
 * transform spec (transform/tft_spec.h); runs the analyzers over
 * Split-train only (one streaming pass: moments, vocabulary counts,
 * quantiles exact within a budget, identity ranges); writes
 *
 *   <output>/transform_graph/transform.json        ops + analyzer results
 *   <output>/transform_graph/assets/<output>.txt   vocabularies
 *   <output>/transform_graph/metadata/schema.pbtxt copy of the raw schema
 *   <output>/transform_graph/transformed_metadata/{schema.pbtxt,asset_map}
 *   <output>/transformed_examples/Split-<s>/transformed_examples-00000-of-00001.gz
 *
 * for every split. Transformed examples are produced by loading the graph
 * just written and calling cfx_transform_apply_example, the same code the
 * server runs, so training and serving cannot disagree.
 *
 * One call owns everything it allocates; run one per thread.
 */
#ifndef CFX_TRANSFORM_TFT_H
#define CFX_TRANSFORM_TFT_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"

typedef struct cfx_tft_options {
    const char *examples_dir; /* holds Split-<name>/ folders */
    /* Raw schema.pbtxt, may be NULL; its int_domains give identity
     * cardinalities. */
    const char *schema_path;
    const char *spec_path; /* transform spec JSON */
    /* Created when missing; may be NULL when both directories below are
     * given. */
    const char *output_dir;
    /* Distinct values kept exactly per bucketized feature (past it the
     * quantiles come from a KLL sketch); 0: CFX_QUANTILES_DEFAULT_BUDGET. */
    size_t max_quantile_values;
    /* Override output_dir/transform_graph and output_dir/transformed_examples
     * (e.g. artifact directories of a pipeline root); may be NULL. */
    const char *graph_dir;
    const char *transformed_examples_dir;
    /* A merge (docs/transform.md, Across machines): the folders of every
     * part cfx_tft_analyze_part wrote for these examples, spec, schema and
     * max_quantile_values; phase 1 merges their state instead of reading
     * Split-train, and the rest of the run is as usual. NULL: no parts. */
    const char *const *analyzer_parts;
    size_t num_analyzer_parts;
} cfx_tft_options_t;

/* Categorical outputs up to this cardinality get train counts. */
#define CFX_TRANSFORM_SUMMARY_MAX_CARD 64

typedef struct cfx_tft_output_summary {
    char *name;
    const char *op;         /* "z_score", "vocabulary", ... (static) */
    int64_t cardinality;    /* 0 for dense outputs */
    size_t vocab_size;      /* vocabulary: tokens in the file */
    double mean, var;       /* z_score */
    int quantiles_exact;    /* bucketize: 0 when a sketch gave them */
    uint64_t *train_counts; /* [cardinality] over Split-train when
                               cardinality <= CFX_TRANSFORM_SUMMARY_MAX_CARD,
                               else NULL */
} cfx_tft_output_summary_t;

typedef struct cfx_tft_result {
    cfx_tft_output_summary_t *outputs;
    size_t num_outputs;
    char **split_names; /* "train", "eval", ... */
    uint64_t *split_examples;
    size_t num_splits;
} cfx_tft_result_t;

/* Runs the component. result (may be NULL) is filled on success and must
 * be released with cfx_tft_result_free. */
int cfx_tft_run(const cfx_tft_options_t *opts, cfx_tft_result_t *result,
                cfx_error_t *err);
void cfx_tft_result_free(cfx_tft_result_t *r);

/* Part `part` of num_parts of the analyzers (docs/transform.md, Across
 * machines): the analyzers over every num_parts-th file of Split-train
 * from the part-th, each file's state saved to out_dir/analyzers.state
 * (out_dir absent or empty). A run with analyzer_parts naming all the
 * parts then writes the same bytes as one run without them: a single run
 * also merges per-file state in file order. output_dir and the two
 * directories of opts are not used. */
int cfx_tft_analyze_part(const cfx_tft_options_t *opts, unsigned part,
                         unsigned num_parts, const char *out_dir,
                         cfx_error_t *err);
/* Checks the bytes of an analyzers.state file on their own: the header and
 * every train file's state parse (the merge also matches them against its
 * spec, schema and examples). 0, or CFX_ECORRUPT naming the byte offset. */
int cfx_tft_part_state_check(const void *data, size_t len, cfx_error_t *err);

#endif

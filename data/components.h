/*
 * components.h: the data components as specs (mlmd/component.h), run alike
 * by `cfx run` and by `cfx examplegen|statistics|schema|validate`.
 *
 * Settings (exec properties) each exec reads, with the pipeline config's
 * names (docs/pipeline.md):
 *
 *   ExampleGen        splits ("train:2,eval:1"), num_shards, skip_bad_rows
 *                     (input "input": a CSV file or a folder of them)
 *   StatisticsGen     threads, quantiles_budget, max_distinct_strings
 *   SchemaGen         schema (a curated schema.pbtxt, imported as is),
 *                     infer_feature_shape (default 1)
 *   ExampleValidator  validation_config, environment, stop_on_anomalies
 *                     (the gate: anomalies of severity ERROR stop the
 *                     rollout unless it is false)
 *
 * ctx->result, when not NULL: ExampleGen a cfx_examplegen_result_t (free it
 * with cfx_examplegen_result_free), SchemaGen a size_t (the feature count),
 * StatisticsGen a size_t (the split count), ExampleValidator a
 * cfx_validate_summary_t.
 *
 * Threads: a spec is read-only; one exec per run, on the calling thread.
 */
#ifndef CFX_DATA_COMPONENTS_H
#define CFX_DATA_COMPONENTS_H

#include "mlmd/component.h"

extern const cfx_component_spec_t cfx_examplegen_component;
extern const cfx_component_spec_t cfx_statisticsgen_component;
extern const cfx_component_spec_t cfx_schemagen_component;
extern const cfx_component_spec_t cfx_example_validator_component;

/* The schema.pbtxt an input names (out: cap bytes): <folder>/schema.pbtxt
 * for a Schema artifact's folder, else the file itself (a command line's
 * --schema FILE). */
int cfx_schema_input_file(const cfx_component_run_t *run, const char *key,
                          char *out, size_t cap, cfx_error_t *err);

#endif

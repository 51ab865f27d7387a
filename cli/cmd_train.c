/* cmd_train.c: `cfx train` — the Trainer component (train/trainer_component.h).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "component_cmd.h"
#include "train/trainer_component.h"
#include "train/trainer_job.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx train --examples DIR --transform-graph DIR --output DIR\n"
        "                 [--config FILE] [--raw-examples DIR] [--quiet]\n"
        "                 [--pipeline-root ROOT]\n\n"
        "Trains the config's model (\"model\": the wide & deep network or\n"
        "gradient-boosted trees, \"gbt\") on transformed examples and writes\n"
        "OUTPUT/model/ (the bundle) and OUTPUT/logs/ (TensorBoard events, "
        "metrics.csv).\n"
        "  --examples         transformed examples (Split-train/, "
        "Split-eval/)\n"
        "  --transform-graph  transform graph (transform.json, assets/)\n"
        "  --config           trainer JSON (examples/taxi/trainer.json)\n"
        "  --raw-examples     examplegen output; its first eval rows become\n"
        "                     assets.extra/warmup.jsonl (without it the bundle "
        "has\n"
        "                     no warm-up rows and cfx infravalidate refuses "
        "it)\n"
        "  --quiet            no progress line\n"
        "  --pipeline-root    record the run in ROOT/metadata.sqlite\n");
}

int cfx_cmd_train(int argc, char **argv) {
    cfx_train_job_t job = {.progress = stderr};
    const char *root = NULL;
    int quiet = 0;
    const cfx_opt_t options[] = {
        {"examples", CFX_OPT_STRING, &job.examples_dir, 0, 0, 0},
        {"transform-graph", CFX_OPT_STRING, &job.transform_graph_dir, 0, 0, 0},
        {"config", CFX_OPT_STRING, &job.config_path, 0, 0, 0},
        {"output", CFX_OPT_STRING, &job.output_dir, 0, 0, 0},
        {"raw-examples", CFX_OPT_STRING, &job.raw_examples_dir, 0, 0, 0},
        {"quiet", CFX_OPT_FLAG, &quiet, 0, 0, 1},
        {"pipeline-root", CFX_OPT_STRING, &root, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    int ex = cfx_args_parse_options("train", argc, argv, options, usage);
    if (ex >= 0)
        return ex;
    if (quiet)
        job.progress = NULL;
    if (!job.examples_dir || !job.transform_graph_dir || !job.output_dir) {
        usage(stderr);
        return 2;
    }
    if (!job.raw_examples_dir)
        fprintf(stderr,
                "cfx train: warning: no --raw-examples: the bundle has no "
                "warm-up requests; cfx infravalidate will refuse it\n");
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_train_result_t res;
    memset(&res, 0, sizeof res);
    /* outputs at OUTPUT/model (Model) and OUTPUT/logs (ModelRun) */
    char model[4096], logs[4096], digest[65] = "";
    snprintf(model, sizeof model, "%s/model", job.output_dir);
    snprintf(logs, sizeof logs, "%s/logs", job.output_dir);
    if (root && job.config_path &&
        cfx_component_file_digest(job.config_path, digest, &err) < 0) {
        fprintf(stderr, "cfx train: %s\n", err.msg);
        return 1;
    }
    /* the settings of cfx_trainer_component */
    json_t *props = json_pack("{s:s, s:s}", "config",
                              job.config_path ? job.config_path : "",
                              "config_sha256", digest);
    if (!props) {
        fprintf(stderr, "cfx train: out of memory\n");
        return 1;
    }
    cfx_component_input_t in[] = {
        {"examples", 0, job.examples_dir, job.examples_dir},
        {"transform_graph", 0, job.transform_graph_dir,
         job.transform_graph_dir},
        {"raw_examples", 0, job.raw_examples_dir, job.raw_examples_dir}};
    cfx_component_output_path_t out[] = {{"model", model}, {"model_run", logs}};
    cfx_component_cli_t cli = {.root = root,
                               .props = props,
                               .inputs = in,
                               .n_inputs = job.raw_examples_dir ? 3 : 2,
                               .outputs = out,
                               .n_outputs = 2,
                               .progress = job.progress,
                               .result = &res};
    cfx_component_run_t run;
    if (cfx_cmd_run_spec("train", &cfx_trainer_component, &cli, &run, NULL))
        return 1;
    cfx_component_run_free(&run);
    /* accuracy and AUC only where the task has them */
    printf("trained on %zu rows in %.2f s; eval on %zu rows: loss %.4f",
           res.train_rows, res.train_seconds, res.eval.count, res.eval.loss);
    if (!isnan(res.eval.accuracy))
        printf(" accuracy %.4f", res.eval.accuracy);
    if (!isnan(res.eval.auc))
        printf(" auc %.4f", res.eval.auc);
    printf("\n");
    printf("model: %s/model (%zu warmup rows)\nlogs: %s/logs\n", job.output_dir,
           res.warmup_rows, job.output_dir);
    if (job.raw_examples_dir && res.warmup_rows == 0)
        fprintf(
            stderr,
            "cfx train: warning: --raw-examples %s gave no warm-up rows (no "
            "eval examples?); cfx infravalidate will refuse the bundle\n",
            job.raw_examples_dir);
    return 0;
}

/* cmd_evaluate.c: `cfx evaluate` — the Evaluator component
 * (eval/evaluator.h): metrics per slice, thresholds, blessing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "args.h"
#include "eval/evaluator.h"
#include "eval/evaluator_component.h"
#include "mlmd/component.h"
#include "mlmd/metadata.h"

/* Exit status of a model the thresholds did not bless. */
#define EXIT_NOT_BLESSED 4

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx evaluate --model BUNDLE_DIR --examples RAW_EXAMPLES_DIR "
        "--config EVAL_JSON\n"
        "                    --output DIR [--baseline BUNDLE_DIR] "
        "[--pipeline-root ROOT]\n\n"
        "Evaluates the bundle on the raw eval examples "
        "(RAW_EXAMPLES_DIR/Split-eval,\n"
        "labels from the bundle's transform), per slice, checks the thresholds "
        "of\n"
        "EVAL_JSON (TFMA EvalConfig form) and writes DIR/evaluation/ "
        "(metrics.json,\n"
        "validations.json, eval_config.json) and DIR/blessing/ (BLESSED or\n"
        "NOT_BLESSED, and reason).\n"
        "  --baseline       compare with this bundle (change thresholds)\n"
        "  --pipeline-root  record the run in ROOT/metadata.sqlite; without\n"
        "                   --baseline, the latest blessed model there is the "
        "baseline\n"
        "With no baseline, change thresholds are dropped (as TFX does).\n"
        "Exit status: 0 blessed (or no threshold configured), %d not blessed,\n"
        "1 failure, 2 usage.\n",
        EXIT_NOT_BLESSED);
}

/* The latest blessed model of root other than the candidate at model_dir. */
static int resolve_baseline(const char *root, const char *model_dir, char *uri,
                            size_t cap, cfx_error_t *err) {
    cfx_metadata_t *md = NULL;
    cfx_md_artifact_t cand, base;
    int64_t cand_id = 0;
    uri[0] = 0;
    int ret = cfx_metadata_open_root(&md, root, err);
    if (ret)
        return ret;
    ret = cfx_metadata_find_artifact_by_uri(md, model_dir, &cand, err);
    if (ret == 0)
        cand_id = cand.id;
    else if (ret != CFX_ENOTFOUND)
        goto out;
    ret = cfx_metadata_latest_blessed_model_excluding(md, cand_id, &base, NULL,
                                                      err);
    if (ret == CFX_ENOTFOUND) {
        cfx_error_init(err);
        ret = 0;
        goto out;
    }
    if (ret)
        goto out;
    snprintf(uri, cap, "%s", base.uri);
out:
    cfx_metadata_close(md);
    return ret;
}

int cfx_cmd_evaluate(int argc, char **argv) {
    const char *model = NULL, *examples = NULL, *config = NULL, *output = NULL,
               *baseline = NULL, *root = NULL;
    const cfx_opt_t options[] = {
        {"model", CFX_OPT_STRING, &model, 0, 0, 0},
        {"examples", CFX_OPT_STRING, &examples, 0, 0, 0},
        {"config", CFX_OPT_STRING, &config, 0, 0, 0},
        {"output", CFX_OPT_STRING, &output, 0, 0, 0},
        {"baseline", CFX_OPT_STRING, &baseline, 0, 0, 0},
        {"pipeline-root", CFX_OPT_STRING, &root, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    int ex = cfx_args_parse_options("evaluate", argc, argv, options, usage);
    if (ex >= 0)
        return ex;
    if (!model || !examples || !config || !(output || root)) {
        usage(stderr);
        return 2;
    }
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_evaluator_result_t *res = calloc(1, sizeof *res);
    cfx_component_run_t run = {0};
    json_t *props = NULL;
    char eval_dir[4096] = "", bless_dir[4096] = "", base_uri[4096] = "",
         digest[65] = "";
    int rc = 1;
    if (!res) {
        fprintf(stderr, "cfx evaluate: out of memory\n");
        goto out;
    }
    if (!baseline && root) {
        if (resolve_baseline(root, model, base_uri, sizeof base_uri, &err))
            goto fail;
        if (base_uri[0])
            baseline = base_uri;
    }
    if (output) {
        snprintf(eval_dir, sizeof eval_dir, "%s/evaluation", output);
        snprintf(bless_dir, sizeof bless_dir, "%s/blessing", output);
    }
    if (root && cfx_component_file_digest(config, digest, &err) < 0)
        goto fail;
    /* the settings of cfx_evaluator_component */
    props = root ? json_pack("{s:s, s:s}", "config", config, "config_sha256",
                             digest)
                 : json_pack("{s:s}", "config", config);
    if (!props) {
        cfx_error_set(&err, CFX_ENOMEM, "out of memory");
        goto fail;
    }
    cfx_component_input_t in[] = {{"examples", 0, examples, examples},
                                  {"model", 0, model, model},
                                  {"baseline_model", 0, baseline, baseline}};
    cfx_component_output_path_t out[] = {
        {"evaluation", output ? eval_dir : NULL},
        {"blessing", output ? bless_dir : NULL}};
    cfx_component_cli_t cli = {.root = root,
                               .props = props,
                               .inputs = in,
                               .n_inputs = baseline ? 3 : 2,
                               .outputs = out,
                               .n_outputs = 2,
                               .result = res};
    char summary[1024];
    if (cfx_component_run_cli(&run, &cfx_evaluator_component, &cli, summary,
                              sizeof summary, &err))
        goto fail;
    if (!output) {
        snprintf(eval_dir, sizeof eval_dir, "%s",
                 cfx_component_output_uri(&run, "evaluation"));
        snprintf(bless_dir, sizeof bless_dir, "%s",
                 cfx_component_output_uri(&run, "blessing"));
    }
    printf("%s\n", res->summary);
    /* a baseline that answers another question was dropped (the summary
     * says why) */
    const char *how = !baseline                  ? ", no baseline"
                      : res->baseline_dropped[0] ? ", baseline not compared: "
                                                 : ", baseline ";
    printf("%zu examples, %zu slices%s%s; evaluation: %s, blessing: %s\n",
           res->num_examples, res->num_slices, how, baseline ? baseline : "",
           eval_dir, bless_dir);
    rc = res->blessed == 0 ? EXIT_NOT_BLESSED : 0;
    goto out;
fail:
    fprintf(stderr, "cfx evaluate: %s\n", err.msg);
    rc = 1;
out:
    cfx_component_run_free(&run);
    json_decref(props);
    free(res);
    return rc;
}

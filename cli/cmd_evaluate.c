/* cmd_evaluate.c: `cfx evaluate` — the Evaluator component
 * (eval/evaluator.h): metrics per slice, thresholds, blessing. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_config.h"
#include "eval/evaluator.h"
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
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"examples", required_argument, NULL, 'e'},
        {"config", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'},
        {"baseline", required_argument, NULL, 'b'},
        {"pipeline-root", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *examples = NULL, *config = NULL, *output = NULL,
               *baseline = NULL, *root = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'e':
            examples = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'b':
            baseline = optarg;
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
    if (!model || !examples || !config || !(output || root) || optind != argc) {
        usage(stderr);
        return 2;
    }
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_eval_config_t *cfg = malloc(sizeof *cfg);
    cfx_evaluator_result_t *res = malloc(sizeof *res);
    cfx_component_run_t run = {0};
    char eval_dir[4096] = "", bless_dir[4096] = "", base_uri[4096] = "",
         digest[65] = "";
    int rc = 1, recording = 0;
    if (!cfg || !res) {
        fprintf(stderr, "cfx evaluate: out of memory\n");
        goto out;
    }
    if (cfx_eval_config_load(config, cfg, &err))
        goto fail;
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
    if (root) {
        cfx_component_input_t in[] = {{"examples", 0, examples},
                                      {"model", 0, model},
                                      {"baseline_model", 0, baseline}};
        const char *props[] = {"config", config, "config_sha256", digest, NULL};
        const char *ev = output ? eval_dir : NULL;
        if (cfx_component_file_digest(config, digest, &err) < 0 ||
            cfx_component_begin_cli(&run, root, "Evaluator", props, in,
                                    baseline ? 3 : 2, "evaluation", &ev,
                                    &err) < 0)
            goto fail;
        recording = 1;
        if (!output) {
            snprintf(eval_dir, sizeof eval_dir, "%s", ev);
            const char *b = cfx_component_output_dir(&run, "blessing", &err);
            if (!b)
                goto fail;
            snprintf(bless_dir, sizeof bless_dir, "%s", b);
        } else if (cfx_component_output_at(&run, "blessing", "ModelBlessing",
                                           bless_dir, &err) < 0) {
            goto fail;
        }
    }
    cfx_evaluator_opts_t o = {model, baseline, examples,
                              cfg,   eval_dir, bless_dir};
    if (cfx_evaluator_run(&o, res, &err))
        goto fail;
    if (recording) {
        int64_t model_id = 0, base_id = 0;
        for (size_t i = 0; i < run.n_inputs; i++) {
            if (!strcmp(run.inputs[i].key, "model"))
                model_id = run.inputs[i].artifact.id;
            if (!strcmp(run.inputs[i].key, "baseline_model"))
                base_id = run.inputs[i].artifact.id;
        }
        if (res->blessed >= 0 && cfx_evaluator_record_blessing(
                                     &run, "blessing", res, model, model_id,
                                     baseline, base_id, &err) < 0)
            goto fail;
        if (cfx_component_finish(&run, 1, &err) < 0)
            goto fail;
    }
    printf("%s\n", res->summary);
    printf("%zu examples, %zu slices%s%s; evaluation: %s, blessing: %s\n",
           res->num_examples, res->num_slices,
           baseline ? ", baseline " : ", no baseline", baseline ? baseline : "",
           eval_dir, bless_dir);
    rc = res->blessed == 0 ? EXIT_NOT_BLESSED : 0;
    goto out;
fail:
    fprintf(stderr, "cfx evaluate: %s\n", err.msg);
    rc = 1;
out:
    cfx_component_run_free(&run);
    free(cfg);
    free(res);
    return rc;
}

/* cmd_push.c: `cfx push` — the Pusher component (push/pusher.h): checks
 * the blessings, publishes the next version atomically, records the
 * PushedModel. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "push/pusher_component.h"

/* Exit status when a blessing is missing or negative. */
#define EXIT_NOT_BLESSED 4

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx push --model BUNDLE_DIR --blessing DIR [--infra-blessing "
        "DIR]\n"
        "                --to BASE [--pipeline-root ROOT]\n\n"
        "Publishes the bundle as BASE/<N+1> (N: the largest version there) "
        "through a\n"
        "hidden temporary folder in BASE, every file and folder fsynced, then "
        "one\n"
        "rename; leftovers of crashed pushes are removed first. Refuses "
        "unless\n"
        "DIR holds BLESSED (and the infra blessing INFRA_BLESSED when given)\n"
        "and its model.json names this bundle (same manifest.json sha256).\n"
        "BASE may be s3://bucket/prefix: every file is uploaded first and\n"
        "manifest.json last, so a server never lists a partial version; the\n"
        "connection comes from AWS_REGION, S3_ENDPOINT, S3_USE_HTTPS,\n"
        "S3_VERIFY_SSL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        "(docs/s3.md).\n"
        "  --pipeline-root  record the run and the PushedModel in "
        "ROOT/metadata.sqlite\n"
        "                   (pushed = 1, or 0 when refused)\n"
        "Exit status: 0 pushed, %d not blessed (nothing pushed), 1 failure, 2 "
        "usage.\n",
        EXIT_NOT_BLESSED);
}

int cfx_cmd_push(int argc, char **argv) {
    const char *model = NULL, *blessing = NULL, *infra = NULL, *base = NULL,
               *root = NULL;
    const cfx_opt_t options[] = {
        {"model", CFX_OPT_STRING, &model, 0, 0, 0},
        {"blessing", CFX_OPT_STRING, &blessing, 0, 0, 0},
        {"infra-blessing", CFX_OPT_STRING, &infra, 0, 0, 0},
        {"to", CFX_OPT_STRING, &base, 0, 0, 0},
        {"pipeline-root", CFX_OPT_STRING, &root, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    int ex = cfx_args_parse_options("push", argc, argv, options, usage);
    if (ex >= 0)
        return ex;
    if (!model || !blessing || !base) {
        usage(stderr);
        return 2;
    }
    cfx_error_t err;
    cfx_error_init(&err);
    /* the settings of cfx_pusher_component */
    json_t *props = json_pack("{s:s}", "push_destination", base);
    if (!props) {
        fprintf(stderr, "cfx push: out of memory\n");
        return 1;
    }
    cfx_component_input_t in[] = {{"model", 0, model, model},
                                  {"model_blessing", 0, blessing, blessing},
                                  {"infra_blessing", 0, infra, infra}};
    cfx_pusher_outcome_t res;
    memset(&res, 0, sizeof res);
    cfx_component_cli_t cli = {.root = root,
                               .props = props,
                               .inputs = in,
                               .n_inputs = infra ? 3 : 2,
                               .result = &res};
    cfx_component_run_t run;
    char summary[512];
    int rc = cfx_component_run_cli(&run, &cfx_pusher_component, &cli, summary,
                                   sizeof summary, &err);
    json_decref(props);
    if (rc < 0 && root && !run.execution_id) {
        /* nothing recorded; refused either way? say why it is not in the store
         */
        cfx_error_t rerr;
        cfx_error_init(&rerr);
        if (cfx_pusher_refusal(model, blessing, infra, res.refusal,
                               sizeof res.refusal, &rerr) == 1) {
            fprintf(stderr, "cfx push: the refusal is not recorded: %s\n",
                    err.msg);
            fprintf(stderr, "cfx push: %s\n", res.refusal);
            rc = EXIT_NOT_BLESSED;
            goto out;
        }
        res.refusal[0] = 0;
    }
    if (rc < 0 && res.refusal[0]) {
        fprintf(stderr, "cfx push: the refusal is not recorded: %s\n", err.msg);
        rc = 0;
    }
    if (rc < 0) {
        fprintf(stderr, "cfx push: %s\n", err.msg);
        rc = 1;
    } else if (!res.pushed) {
        fprintf(stderr, "cfx push: %s\n", res.refusal);
        rc = EXIT_NOT_BLESSED;
    } else {
        printf("pushed version %" PRId64 ": %s\n", res.version,
               res.destination);
        rc = 0;
    }
out:
    cfx_component_run_free(&run);
    return rc;
}

/* cmd_push.c: `cfx push` — the Pusher component (push/pusher.h): checks
 * the blessings, publishes the next version atomically, records the
 * PushedModel. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "eval/model_identity.h"
#include "mlmd/component.h"
#include "push/pusher.h"

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
        "  --pipeline-root  record the run and the PushedModel in "
        "ROOT/metadata.sqlite\n"
        "                   (pushed = 1, or 0 when refused)\n"
        "Exit status: 0 pushed, %d not blessed (nothing pushed), 1 failure, 2 "
        "usage.\n",
        EXIT_NOT_BLESSED);
}

/* With a store: each blessing input whose artifact carries custom
 * current_model_id (TFX's ModelBlessing property) must name the model
 * input's artifact. CFX_ENOTBLESSED with err naming both when not. */
static int blessing_model_recorded(cfx_component_run_t *run,
                                   cfx_error_t *err) {
    const cfx_md_artifact_t *model = NULL;
    for (size_t i = 0; i < run->n_inputs; i++)
        if (!strcmp(run->inputs[i].key, "model"))
            model = &run->inputs[i].artifact;
    if (!model || !run->store)
        return 0;
    for (size_t i = 0; i < run->n_inputs; i++) {
        const cfx_md_artifact_t *b = &run->inputs[i].artifact;
        if (strcmp(run->inputs[i].key, "model_blessing") &&
            strcmp(run->inputs[i].key, "infra_blessing"))
            continue;
        cfx_md_value_t v;
        char buf[64];
        int r = cfx_metadata_get_artifact_property(
            run->store, b->id, "current_model_id", &v, buf, sizeof buf, err);
        if (r == CFX_ENOTFOUND) {
            cfx_error_init(err);
            continue;
        }
        if (r < 0)
            return r;
        if (v.kind == CFX_MD_INT && v.i != model->id)
            return cfx_error_set(err, CFX_ENOTBLESSED,
                                 "the metadata store records blessing %s "
                                 "(artifact %" PRId64 ") for model artifact "
                                 "%" PRId64 ", not for %s (artifact %" PRId64
                                 ")",
                                 b->uri, b->id, v.i, model->uri, model->id);
    }
    return 0;
}

int cfx_cmd_push(int argc, char **argv) {
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"blessing", required_argument, NULL, 'b'},
        {"infra-blessing", required_argument, NULL, 'i'},
        {"to", required_argument, NULL, 't'},
        {"pipeline-root", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *blessing = NULL, *infra = NULL, *base = NULL,
               *root = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'b':
            blessing = optarg;
            break;
        case 'i':
            infra = optarg;
            break;
        case 't':
            base = optarg;
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
    if (!model || !blessing || !base || optind != argc) {
        usage(stderr);
        return 2;
    }
    char why[4200], refusal[4400] = "";
    cfx_error_t err;
    cfx_error_init(&err);
    if (!cfx_pusher_is_blessed(blessing, "BLESSED", "NOT_BLESSED", why,
                               sizeof why)) {
        snprintf(refusal, sizeof refusal,
                 "refused, the model is not blessed: %s", why);
    } else if (infra && !cfx_pusher_is_blessed(infra, "INFRA_BLESSED",
                                               "INFRA_NOT_BLESSED", why,
                                               sizeof why)) {
        snprintf(refusal, sizeof refusal,
                 "refused, the model failed infra validation: %s", why);
    } else {
        /* each blessing must be about this very bundle (model.json) */
        const char *const gates[] = {blessing, infra};
        for (size_t g = 0; g < 2 && !refusal[0]; g++) {
            if (!gates[g])
                continue;
            int r = cfx_model_identity_check(gates[g], model, &err);
            if (r == CFX_ENOTBLESSED)
                snprintf(refusal, sizeof refusal, "refused: %s", err.msg);
            else if (r < 0) {
                fprintf(stderr, "cfx push: %s\n", err.msg);
                return 1;
            }
        }
    }
    cfx_component_run_t run = {0};
    int recording = 0, rc = 1;
    char dest[4096], vstr[32];
    int64_t version = 0;
    if (root) {
        cfx_component_input_t in[] = {{"model", 0, model},
                                      {"model_blessing", 0, blessing},
                                      {"infra_blessing", 0, infra}};
        char props[4200];
        snprintf(props, sizeof props, "{\"push_destination\": \"%s\"}", base);
        if (strchr(base, '"') || strchr(base, '\\'))
            snprintf(props, sizeof props, "{}");
        if (cfx_component_begin(&run, root, "Pusher", props, in, infra ? 3 : 2,
                                &err) < 0) {
            if (!refusal[0])
                goto fail;
            /* refused either way; say why it is not in the store */
            fprintf(stderr, "cfx push: the refusal is not recorded: %s\n",
                    err.msg);
        } else {
            recording = 1;
        }
        /* the store knows which model each blessing was recorded for */
        int r = recording && !refusal[0] ? blessing_model_recorded(&run, &err)
                                         : 0;
        if (r == CFX_ENOTBLESSED)
            snprintf(refusal, sizeof refusal, "refused: %s", err.msg);
        else if (r < 0)
            goto fail;
    }
    if (refusal[0]) {
        /* As TFX's Pusher: the execution completes and its PushedModel
         * says pushed = 0; nothing reaches the serving directory. */
        if (recording &&
            (!cfx_component_output_dir(&run, "pushed_model", &err) ||
             cfx_component_set_int(&run, "pushed_model", "pushed", 1, 0, &err) < 0 ||
             cfx_component_finish(&run, 1, &err) < 0))
            fprintf(stderr, "cfx push: the refusal is not recorded: %s\n",
                    err.msg);
        fprintf(stderr, "cfx push: %s\n", refusal);
        rc = EXIT_NOT_BLESSED;
        goto out;
    }
    if (cfx_pusher_push(model, base, &version, dest, sizeof dest, &err))
        goto fail;
    snprintf(vstr, sizeof vstr, "%" PRId64, version);
    if (recording) {
        if (cfx_component_output_at(&run, "pushed_model", "PushedModel", dest,
                                    &err) < 0 ||
            cfx_component_set_int(&run, "pushed_model", "pushed", 1, 1, &err) <
                0 ||
            cfx_component_set_string(&run, "pushed_model", "pushed_destination",
                                     1, dest, &err) < 0 ||
            cfx_component_set_string(&run, "pushed_model", "pushed_version", 1,
                                     vstr, &err) < 0)
            goto fail;
        if (cfx_component_finish(&run, 1, &err) < 0)
            goto fail;
    }
    printf("pushed version %s: %s\n", vstr, dest);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "cfx push: %s\n", err.msg);
out:
    cfx_component_run_free(&run);
    return rc;
}

/* cmd_infravalidate.c: `cfx infravalidate` — the InfraValidator component
 * (push/infravalidator.h): the candidate in a real cfx-serve. */
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "client/perf.h"
#include "push/infravalidator.h"
#include "push/infravalidator_component.h"

/* Exit status of a model that failed infra validation. */
#define EXIT_NOT_BLESSED 4

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx infravalidate --model BUNDLE_DIR --output DIR "
        "[--serve-binary PATH]\n"
        "                         [--num-requests N] [--timeout SECONDS]\n"
        "                         [--load-check 'p99<50ms,errors<=0' "
        "[--load-seconds S]\n"
        "                          [--load-concurrency N]] [--pipeline-root "
        "ROOT]\n\n"
        "Starts cfx-serve on free loopback ports with the bundle, replays its "
        "warm-up\n"
        "rows over REST, compares each answer with the offline prediction, "
        "stops the\n"
        "server and writes DIR/INFRA_BLESSED or DIR/INFRA_NOT_BLESSED and "
        "DIR/reason.\n"
        "  --serve-binary   default: the cfx-serve next to this cfx\n"
        "  --num-requests   send N requests, cycling the warm-up rows "
        "(default: "
        "each row once)\n"
        "  --timeout        seconds allowed for start and load (default 60)\n"
        "  --load-check     then load the server with cfx perf (closed loop, "
        "REST,\n"
        "                   the warm-up rows) and require these checks "
        "(metrics\n"
        "                   p50 p90 p99 p999 max mean rps errors); report in\n"
        "                   DIR/load.json\n"
        "  --load-seconds   length of the load test (default 2)\n"
        "  --load-concurrency  requests in flight (default 4)\n"
        "  --pipeline-root  record the run (InfraBlessing) in "
        "ROOT/metadata.sqlite\n"
        "Exit status: 0 infra blessed, %d not, 1 failure, 2 usage.\n",
        EXIT_NOT_BLESSED);
}

int cfx_cmd_infravalidate(int argc, char **argv) {
    cfx_infra_opts_t o = {0};
    const char *root = NULL;
    int have_requests = 0, have_timeout = 0;
    char serve[PATH_MAX];
    long requests = -1, concurrency = 0;
    const cfx_opt_t options[] = {
        {"model", CFX_OPT_STRING, &o.model_dir, 0, 0, 0},
        {"output", CFX_OPT_STRING, &o.output_dir, 0, 0, 0},
        {"serve-binary", CFX_OPT_STRING, &o.serve_binary, 0, 0, 0},
        {"num-requests", CFX_OPT_LONG, &requests, 0, 1e9, 0},
        {"timeout", CFX_OPT_DOUBLE, &o.load_timeout_s, 0, 86400, 0},
        {"pipeline-root", CFX_OPT_STRING, &root, 0, 0, 0},
        {"load-check", CFX_OPT_STRING, &o.load_check, 0, 0, 0},
        {"load-seconds", CFX_OPT_DOUBLE, &o.load_seconds, 0, 3600, 0},
        {"load-concurrency", CFX_OPT_LONG, &concurrency, 1, 1024, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    int ex =
        cfx_args_parse_options("infravalidate", argc, argv, options, usage);
    if (ex >= 0)
        return ex;
    have_requests = requests >= 0;
    have_timeout = o.load_timeout_s > 0;
    if (have_requests)
        o.max_requests = (size_t)requests;
    o.load_concurrency = (size_t)concurrency;
    if (o.load_check) {
        cfx_perf_opts_t po;
        cfx_error_t perr;
        cfx_error_init(&perr);
        cfx_perf_opts_init(&po);
        if (cfx_perf_parse_checks(&po, o.load_check, &perr)) {
            fprintf(stderr, "cfx infravalidate: --load-check: %s\n", perr.msg);
            return 2;
        }
    }
    if (!o.model_dir || !(o.output_dir || root)) {
        usage(stderr);
        return 2;
    }
    if (!o.load_check && (o.load_seconds > 0 || o.load_concurrency > 0)) {
        fprintf(stderr, "cfx infravalidate: --load-seconds and "
                        "--load-concurrency need --load-check\n");
        return 2;
    }
    if (!o.serve_binary) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) {
            fprintf(
                stderr,
                "cfx infravalidate: cannot find myself; give --serve-binary\n");
            return 1;
        }
        self[n] = 0;
        snprintf(serve, sizeof serve, "%s/cfx-serve", dirname(self));
        o.serve_binary = serve;
    }
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_component_run_t run;
    cfx_infra_result_t res;
    memset(&res, 0, sizeof res);
    int rc = 1;
    /* the settings of cfx_infravalidator_component */
    json_t *props = json_pack("{s:s}", "serve_binary", o.serve_binary);
    if (!props ||
        (have_requests &&
         json_object_set_new(props, "num_requests",
                             json_integer((json_int_t)o.max_requests))) ||
        (have_timeout && json_object_set_new(props, "load_timeout_s",
                                             json_real(o.load_timeout_s))) ||
        (o.load_check &&
         json_object_set_new(props, "load_check", json_string(o.load_check))) ||
        (o.load_seconds > 0 &&
         json_object_set_new(props, "load_seconds",
                             json_real(o.load_seconds))) ||
        (o.load_concurrency &&
         json_object_set_new(props, "load_concurrency",
                             json_integer((json_int_t)o.load_concurrency)))) {
        json_decref(props);
        fprintf(stderr, "cfx infravalidate: out of memory\n");
        return 1;
    }
    cfx_component_input_t in[] = {{"model", 0, o.model_dir, o.model_dir}};
    cfx_component_output_path_t out[] = {{"blessing", o.output_dir}};
    cfx_component_cli_t cli = {.root = root,
                               .props = props,
                               .inputs = in,
                               .n_inputs = 1,
                               .outputs = out,
                               .n_outputs = 1,
                               .result = &res};
    char summary[512];
    int ret = cfx_component_run_cli(&run, &cfx_infravalidator_component, &cli,
                                    summary, sizeof summary, &err);
    json_decref(props);
    if (ret)
        goto fail;
    printf("%s\n", res.summary);
    rc = res.blessed ? 0 : EXIT_NOT_BLESSED;
    goto out;
fail:
    fprintf(stderr, "cfx infravalidate: %s\n", err.msg);
out:
    cfx_component_run_free(&run);
    return rc;
}

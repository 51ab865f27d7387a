/* cmd_infravalidate.c: `cfx infravalidate` — the InfraValidator component
 * (push/infravalidator.h): the candidate in a real cfx-serve. */
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},
        {"serve-binary", required_argument, NULL, 's'},
        {"num-requests", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'},
        {"pipeline-root", required_argument, NULL, 'R'},
        {"load-check", required_argument, NULL, 'L'},
        {"load-seconds", required_argument, NULL, 'S'},
        {"load-concurrency", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cfx_infra_opts_t o = {0};
    const char *root = NULL;
    int have_requests = 0, have_timeout = 0;
    char serve[PATH_MAX];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            o.model_dir = optarg;
            break;
        case 'o':
            o.output_dir = optarg;
            break;
        case 's':
            o.serve_binary = optarg;
            break;
        case 'n':
            o.max_requests = (size_t)strtoul(optarg, NULL, 10);
            have_requests = 1;
            break;
        case 't':
            o.load_timeout_s = atof(optarg);
            have_timeout = 1;
            break;
        case 'R':
            root = optarg;
            break;
        case 'L': {
            cfx_perf_opts_t po;
            cfx_error_t perr;
            cfx_error_init(&perr);
            cfx_perf_opts_init(&po);
            if (cfx_perf_parse_checks(&po, optarg, &perr)) {
                fprintf(stderr, "cfx infravalidate: --load-check: %s\n",
                        perr.msg);
                return 2;
            }
            o.load_check = optarg;
            break;
        }
        case 'S': {
            char *end;
            o.load_seconds = strtod(optarg, &end);
            if (*end || !(o.load_seconds > 0) || o.load_seconds > 3600) {
                fprintf(stderr,
                        "cfx infravalidate: --load-seconds %s: expected "
                        "0 < S <= 3600\n",
                        optarg);
                return 2;
            }
            break;
        }
        case 'C': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v == 0 || v > 1024) {
                fprintf(stderr,
                        "cfx infravalidate: --load-concurrency %s: "
                        "expected 1..1024\n",
                        optarg);
                return 2;
            }
            o.load_concurrency = v;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!o.model_dir || !(o.output_dir || root) || optind != argc) {
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

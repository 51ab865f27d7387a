/* cmd_perf.c: `cfx perf`, a load generator for TF Serving-compatible
 * endpoints (serve/perf.h). Argument parsing only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/perf.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: cfx perf --target rest://HOST:PORT|grpc://HOST:PORT --model "
        "NAME\n"
        "                --data CSV|JSONL|EXAMPLES_DIR [--signature S] [--api "
        "predict|classify|regress]\n"
        "                [--batch N] [--concurrency 1:64:x2 | --rate R]\n"
        "                [--duration S | --requests N] [--warmup S] [--threads "
        "N]\n"
        "                [--connections N] [--format text|csv|json]\n"
        "                [--check 'p99<2ms,errors<=0'] [--co-correct] "
        "[--no-progress]\n"
        "       cfx perf --target http://HOST:PORT/PATH [the load options "
        "above]\n\n"
        "Replays requests built from real rows (a CSV with a header, a .jsonl "
        "file\n"
        "of raw feature objects, or a folder of raw tf.Example TFRecords as "
        "cfx\n"
        "examplegen writes) against a model server and reports throughput and\n"
        "latency percentiles. An http:// target sends a plain GET of PATH "
        "instead\n"
        "(no model): the client's own ceiling.\n"
        "  --concurrency  closed loop: requests in flight; a list (1,8,64) or "
        "a\n"
        "                 sweep FROM:TO:xFACTOR / FROM:TO:+STEP (default 1)\n"
        "  --rate         open loop at R requests/s; latency counts from when\n"
        "                 each request was due (coordinated omission "
        "corrected)\n"
        "  --signature    default predict_raw (predict), classify, regress;\n"
        "                 serving_default sends serialized tf.Examples\n"
        "  --duration     seconds per level (default 10); --requests N "
        "instead\n"
        "  --warmup       seconds not measured before each level (default 1)\n"
        "  --connections  open loop: connections (REST default 64); gRPC:\n"
        "                 connections, streams multiplexed (default 1/thread)\n"
        "  --dump-request FILE  write the first request's payload (JSON body "
        "or\n"
        "                 gRPC-framed message) to FILE and exit: the same "
        "bytes\n"
        "                 for wrk or h2load\n"
        "  --co-correct   closed loop: correct latency for coordinated "
        "omission\n"
        "                 as wrk does (each latency L adds L-E, L-2E, ... > "
        "E,\n"
        "                 E = concurrency / req/s)\n"
        "  --check        fails (exit 1) when a level misses it; metrics p50 "
        "p90\n"
        "                 p99 p999 max mean (ns/us/ms/s, default ms), rps, "
        "errors\n"
        "Exit status: 0 ok, 1 a check failed or the run failed, 2 usage.\n");
}

int cfx_cmd_perf(int argc, char **argv) {
    static const struct option longopts[] = {
        {"target", required_argument, NULL, 't'},
        {"model", required_argument, NULL, 'm'},
        {"signature", required_argument, NULL, 's'},
        {"api", required_argument, NULL, 'a'},
        {"data", required_argument, NULL, 'd'},
        {"batch", required_argument, NULL, 'b'},
        {"concurrency", required_argument, NULL, 'c'},
        {"rate", required_argument, NULL, 'r'},
        {"duration", required_argument, NULL, 'D'},
        {"requests", required_argument, NULL, 'n'},
        {"warmup", required_argument, NULL, 'w'},
        {"threads", required_argument, NULL, 'T'},
        {"connections", required_argument, NULL, 'C'},
        {"format", required_argument, NULL, 'f'},
        {"check", required_argument, NULL, 'k'},
        {"no-progress", no_argument, NULL, 'P'},
        {"co-correct", no_argument, NULL, 'O'},
        {"dump-request", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cfx_perf_opts_t o;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_perf_opts_init(&o);
    o.progress = isatty(2);
    int have_target = 0, c, rc = 0;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            rc = cfx_perf_parse_target(&o, optarg, &err);
            have_target = 1;
            break;
        case 'm':
            o.model = optarg;
            break;
        case 's':
            o.signature = optarg;
            break;
        case 'a':
            if (!strcmp(optarg, "predict"))
                o.api = CFX_PERF_PREDICT;
            else if (!strcmp(optarg, "classify"))
                o.api = CFX_PERF_CLASSIFY;
            else if (!strcmp(optarg, "regress"))
                o.api = CFX_PERF_REGRESS;
            else
                rc = cfx_error_set(&err, CFX_EINVAL,
                                   "--api %s: expected predict, "
                                   "classify or regress",
                                   optarg);
            break;
        case 'd':
            o.data = optarg;
            break;
        case 'b':
            o.batch = strtoul(optarg, &end, 10);
            if (*end || o.batch == 0 || o.batch > 100000)
                rc = cfx_error_set(&err, CFX_EINVAL,
                                   "--batch %s: expected 1..100000", optarg);
            break;
        case 'c':
            rc = cfx_perf_parse_levels(&o, optarg, &err);
            break;
        case 'r':
            o.rate = strtod(optarg, &end);
            if (*end || !(o.rate > 0))
                rc = cfx_error_set(&err, CFX_EINVAL, "--rate %s: expected > 0",
                                   optarg);
            break;
        case 'D':
            o.duration = strtod(optarg, &end);
            if (*end || !(o.duration > 0))
                rc = cfx_error_set(&err, CFX_EINVAL,
                                   "--duration %s: expected > 0", optarg);
            break;
        case 'n':
            o.requests = strtoull(optarg, &end, 10);
            if (*end || o.requests == 0)
                rc = cfx_error_set(&err, CFX_EINVAL,
                                   "--requests %s: expected > 0", optarg);
            break;
        case 'w':
            o.warmup = strtod(optarg, &end);
            if (*end || o.warmup < 0)
                rc = cfx_error_set(&err, CFX_EINVAL,
                                   "--warmup %s: expected >= 0", optarg);
            break;
        case 'T':
            o.threads = atoi(optarg);
            if (o.threads < 1 || o.threads > 256)
                rc = cfx_error_set(&err, CFX_EINVAL,
                                   "--threads %s: expected 1..256", optarg);
            break;
        case 'C':
            o.connections = atoi(optarg);
            if (o.connections < 1 || o.connections > 100000)
                rc = cfx_error_set(&err, CFX_EINVAL,
                                   "--connections %s: expected "
                                   "1..100000",
                                   optarg);
            break;
        case 'f':
            if (!strcmp(optarg, "text"))
                o.format = CFX_PERF_TEXT;
            else if (!strcmp(optarg, "csv"))
                o.format = CFX_PERF_CSV;
            else if (!strcmp(optarg, "json"))
                o.format = CFX_PERF_JSON;
            else
                rc = cfx_error_set(&err, CFX_EINVAL,
                                   "--format %s: expected text, "
                                   "csv or json",
                                   optarg);
            break;
        case 'k':
            rc = cfx_perf_parse_checks(&o, optarg, &err);
            break;
        case 'P':
            o.progress = 0;
            break;
        case 'O':
            o.co_correct = 1;
            break;
        case 'R':
            o.dump_request = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        if (rc) {
            fprintf(stderr, "cfx perf: %s\n", err.msg);
            return 2;
        }
    }
    if (!have_target || optind != argc ||
        (!o.url_path[0] && (!o.model || !o.data))) {
        usage(stderr);
        return 2;
    }
    if (o.co_correct && o.rate > 0) {
        fprintf(stderr,
                "cfx perf: --co-correct is for the closed loop; --rate "
                "already counts latency from each request's due time\n");
        return 2;
    }
    rc = cfx_perf_run(&o, stdout, &err);
    if (rc)
        fprintf(stderr, "cfx perf: %s\n", err.msg);
    return rc ? 1 : 0;
}

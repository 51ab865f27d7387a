/* cmd_perf.c: `cfx perf`, a load generator for TF Serving-compatible
 * endpoints (client/perf.h). Argument parsing only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
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

/* The settings given as text: each parsed by the library, in the order a
 * user would read them. */
static int perf_settings(cfx_perf_opts_t *o, const char *target,
                         const char *api, const char *levels,
                         const char *warmup, const char *format,
                         const cfx_opt_list_t *checks, cfx_error_t *err) {
    int rc = 0;
    char *end;
    if (target && (rc = cfx_perf_parse_target(o, target, err)))
        return rc;
    if (api) {
        if (!strcmp(api, "predict"))
            o->api = CFX_PERF_PREDICT;
        else if (!strcmp(api, "classify"))
            o->api = CFX_PERF_CLASSIFY;
        else if (!strcmp(api, "regress"))
            o->api = CFX_PERF_REGRESS;
        else
            return cfx_error_set(err, CFX_EINVAL,
                                 "--api %s: expected predict, classify or "
                                 "regress",
                                 api);
    }
    if (levels && (rc = cfx_perf_parse_levels(o, levels, err)))
        return rc;
    if (warmup) {
        o->warmup = strtod(warmup, &end);
        if (!warmup[0] || *end || !(o->warmup >= 0))
            return cfx_error_set(err, CFX_EINVAL, "--warmup %s: expected >= 0",
                                 warmup);
    }
    if (format) {
        if (!strcmp(format, "text"))
            o->format = CFX_PERF_TEXT;
        else if (!strcmp(format, "csv"))
            o->format = CFX_PERF_CSV;
        else if (!strcmp(format, "json"))
            o->format = CFX_PERF_JSON;
        else
            return cfx_error_set(err, CFX_EINVAL,
                                 "--format %s: expected text, csv or json",
                                 format);
    }
    for (size_t i = 0; i < checks->n; i++)
        if ((rc = cfx_perf_parse_checks(o, checks->items[i], err)))
            return rc;
    return 0;
}

int cfx_cmd_perf(int argc, char **argv) {
    cfx_perf_opts_t o;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_perf_opts_init(&o);
    o.progress = isatty(2);
    int have_target = 0, rc = 0;
    const char *target = NULL, *api = NULL, *levels = NULL, *warmup = NULL,
               *format = NULL, *check[64];
    cfx_opt_list_t checks = {check, sizeof check / sizeof check[0], 0};
    long batch = 0, requests = 0, threads = 0, connections = 0;
    const cfx_opt_t options[] = {
        {"target", CFX_OPT_STRING, &target, 0, 0, 0},
        {"model", CFX_OPT_STRING, &o.model, 0, 0, 0},
        {"signature", CFX_OPT_STRING, &o.signature, 0, 0, 0},
        {"api", CFX_OPT_STRING, &api, 0, 0, 0},
        {"data", CFX_OPT_STRING, &o.data, 0, 0, 0},
        {"batch", CFX_OPT_LONG, &batch, 1, 100000, 0},
        {"concurrency", CFX_OPT_STRING, &levels, 0, 0, 0},
        {"rate", CFX_OPT_DOUBLE, &o.rate, 0, 1e12, 0},
        {"duration", CFX_OPT_DOUBLE, &o.duration, 0, 1e9, 0},
        {"requests", CFX_OPT_LONG, &requests, 1, 1e15, 0},
        {"warmup", CFX_OPT_STRING, &warmup, 0, 0, 0},
        {"threads", CFX_OPT_LONG, &threads, 1, 256, 0},
        {"connections", CFX_OPT_LONG, &connections, 1, 100000, 0},
        {"format", CFX_OPT_STRING, &format, 0, 0, 0},
        {"check", CFX_OPT_LIST, &checks, 0, 0, 0},
        {"no-progress", CFX_OPT_FLAG, &o.progress, 0, 0, 0},
        {"co-correct", CFX_OPT_FLAG, &o.co_correct, 0, 0, 1},
        {"dump-request", CFX_OPT_STRING, &o.dump_request, 0, 0, 0},
        {NULL, 0, NULL, 0, 0, 0},
    };
    int ex = cfx_args_parse_options("perf", argc, argv, options, usage);
    if (ex >= 0)
        return ex;
    rc = perf_settings(&o, target, api, levels, warmup, format, &checks, &err);
    if (!rc) {
        if (batch)
            o.batch = (size_t)batch;
        if (requests)
            o.requests = (unsigned long long)requests;
        if (threads)
            o.threads = (int)threads;
        if (connections)
            o.connections = (int)connections;
    }
    if (rc) {
        fprintf(stderr, "cfx perf: %s\n", err.msg);
        return 2;
    }
    have_target = target != NULL;
    if (!have_target || (!o.url_path[0] && (!o.model || !o.data))) {
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

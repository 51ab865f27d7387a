/*
 * model_manager_test.c: the model store semantics of the manager
 * (docs/serving.md, "The model store") on real bundles of a tiny network:
 *   - a base path moved away and made anew empty, replaced by a regular
 *     file, by a dangling link: the served version stays AVAILABLE and
 *     acquirable, the outage gauges say so, and end with the store;
 *   - a version removed from a listing that still has one is retired;
 *   - a version whose weights were incomplete loads once they are written
 *     in place (its folder untouched), with the backoff out of the way;
 *   - a corrupt version is retried no sooner than its backoff (200 ms
 *     doubling to 400 ms) yet before the 1 s poll, and loads once fixed.
 * cfx_manager_reload with the same list is the "scan now and wait for the
 * pass" the tests use between steps.
 */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "formats/buf.h"
#include "formats/clock.h"
#include "formats/safetensors.h"
#include "model/bundle_writer.h"
#include "model/network.h"
#include "model/transform.h"
#include "serve/model_manager.h"
#include "test_util.h"

static char root[256];
static char base[300];

/* A graph of one z-scored float and one vocabulary column. */
static void write_graph(const char *dir) {
    char p[700];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/assets", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/assets/color_xf.txt", dir);
    cfx_test_write_file(p, "red\nblue\n");
    snprintf(p, sizeof p, "%s/transform.json", dir);
    cfx_test_write_file(
        p, "{\"format_version\": 1,\n"
           " \"inputs\": [{\"name\": \"x\", \"kind\": \"float\"},\n"
           "            {\"name\": \"color\", \"kind\": \"bytes\"}],\n"
           " \"outputs\": [\n"
           "  {\"name\": \"x_xf\", \"op\": \"z_score\", \"input\": \"x\", "
           "\"mean\": 1, \"var\": 4},\n"
           "  {\"name\": \"color_xf\", \"op\": \"vocabulary\", \"input\": "
           "\"color\",\n"
           "   \"vocabulary_file\": \"color_xf.txt\", \"vocab_size\": 2, "
           "\"num_oov_buckets\": 1}]}\n");
}

/* Writes a bundle of the tiny graph and a network with every weight 0.25
 * to dir (which must not exist), published atomically. */
static void write_bundle(const char *dir) {
    char graph[300], p[700];
    snprintf(graph, sizeof graph, "%s/graph", root);
    write_graph(graph);
    cfx_transform_t *t = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_transform_load(graph, &t, &err) != 0)
        fail_msg("transform: %s", err.msg);
    const char *names[1] = {"color_xf"};
    int64_t card[1] = {3};
    cfx_net_spec_t s = {.num_dense = 1,
                        .num_categorical = 1,
                        .cat_names = names,
                        .cat_cardinality = card,
                        .num_hidden = 1,
                        .hidden = {2}};
    cfx_net_t *n = NULL;
    assert_int_equal(cfx_net_new(&s, &n, NULL), 0);
    for (size_t i = 0; i < n->num_params; i++)
        n->params[i] = 0.25f;
    cfx_st_tensor_t ts[16];
    assert_true(n->num_tensors <= 16);
    for (size_t i = 0; i < n->num_tensors; i++) {
        const cfx_net_tensor_t *nt = &n->tensors[i];
        ts[i] = (cfx_st_tensor_t){.name = nt->name,
                                  .ndim = nt->ndim,
                                  .shape = {nt->shape[0], nt->shape[1]},
                                  .data = n->params + nt->offset};
    }
    cfx_buf_t buf;
    cfx_buf_init(&buf);
    assert_int_equal(
        cfx_safetensors_encode(ts, n->num_tensors, NULL, 0, &buf, NULL), 0);
    cfx_bundle_writer_t *w = NULL;
    assert_int_equal(cfx_bundle_writer_open(dir, &w, &err), 0);
    snprintf(p, sizeof p, "%s/transform.json", graph);
    assert_int_equal(cfx_bundle_writer_add_file(w, "transform.json", p, &err),
                     0);
    snprintf(p, sizeof p, "%s/assets", graph);
    assert_int_equal(cfx_bundle_writer_add_dir(w, "assets", p, &err), 0);
    assert_int_equal(cfx_bundle_writer_add(w, "variables/model.safetensors",
                                           buf.data, buf.len, &err),
                     0);
    cfx_buf_free(&buf);
    json_t *m = cfx_bundle_manifest_new("tiny", n, t);
    assert_non_null(m);
    if (cfx_bundle_writer_commit(w, m, &err) != 0)
        fail_msg("commit: %s", err.msg);
    json_decref(m);
    cfx_net_free(n);
    cfx_transform_free(t);
}

static void version_path(int64_t v, const char *rel, char *out, size_t cap) {
    snprintf(out, cap, "%s/%lld%s%s", base, (long long)v, rel ? "/" : "",
             rel ? rel : "");
}

static void publish(int64_t v) {
    char dir[400];
    version_path(v, NULL, dir, sizeof dir);
    write_bundle(dir);
}

static int setup(void **state) {
    (void)state;
    if (cfx_test_tmpdir_make(root, sizeof root, "cfx-model-manager-test"))
        return -1;
    snprintf(base, sizeof base, "%s/taxi", root);
    return mkdir(base, 0755);
}

static int teardown(void **state) {
    (void)state;
    assert_int_equal(cfx_test_rm_rf(root), 0);
    return 0;
}

/* A started manager of one model "taxi" at base, latest{1}, polling each
 * second, with the given backoff (0: the defaults). */
static cfx_manager_t *start(cfx_model_list_t *l, int retry_ms, int retry_max) {
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_model_list_init(l);
    assert_int_equal(cfx_model_list_single(l, "taxi", base, &err), 0);
    cfx_manager_options_t o = {.file_system_poll_wait_seconds = 1,
                               .load_retry_initial_ms = retry_ms,
                               .load_retry_max_ms = retry_max};
    cfx_manager_t *m = NULL;
    assert_int_equal(cfx_manager_new(&o, l, &m, &err), 0);
    assert_int_equal(cfx_manager_start(m, &err), 0);
    int rc = cfx_manager_wait_initial(m, 10000, &err);
    if (rc)
        fail_msg("startup: %s", err.msg);
    return m;
}

/* A pass over the store, waited for; the reload's own verdict is ignored
 * (it reports a model without an AVAILABLE version). */
static void scan(cfx_manager_t *m, const cfx_model_list_t *l) {
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_manager_reload(m, l, &err);
}

static cfx_version_state_t state_of(cfx_manager_t *m, int64_t v, char *msg_out,
                                    size_t cap) {
    cfx_version_status_t *s = NULL;
    size_t n = 0;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_manager_status(m, "taxi", v, &s, &n, &err) != 0)
        return CFX_STATE_UNKNOWN;
    assert_int_equal(n, 1);
    cfx_version_state_t st = s[0].state;
    if (msg_out)
        snprintf(msg_out, cap, "%s", s[0].error_message);
    if (st == CFX_STATE_AVAILABLE) { /* served means OK, never an error */
        assert_int_equal(s[0].error_code, 0);
        assert_string_equal(s[0].error_message, "");
    }
    free(s);
    return st;
}

/* The version Latest(taxi) resolves to, -1 when none. */
static int64_t latest(cfx_manager_t *m) {
    cfx_servable_t *s = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_manager_acquire(m, "taxi", -1, NULL, &s, &err) != 0)
        return -1;
    int64_t v = cfx_servable_version(s);
    cfx_servable_release(s);
    return v;
}

/* The value of a manager metric line that starts with prefix, -1 when
 * absent. */
static long metric(cfx_manager_t *m, const char *prefix) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    assert_int_equal(cfx_manager_render_versions(m, &b), 0);
    cfx_buf_cstr(&b);
    const char *t = (const char *)b.data;
    long v = -1;
    for (const char *p = t; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (!strncmp(p, prefix, strlen(prefix)) && p[strlen(prefix)] == ' ') {
            v = strtol(p + strlen(prefix) + 1, NULL, 10);
            break;
        }
    cfx_buf_free(&b);
    return v;
}

#define OUTAGE ":cfx:serving:model_store_outage{model_name=\"taxi\"}"
#define OUTAGES ":cfx:serving:model_store_outages_total{model_name=\"taxi\"}"

/* Waits up to ms for version v to be AVAILABLE; the elapsed ms, or fails. */
static uint64_t wait_available(cfx_manager_t *m, int64_t v, uint64_t ms) {
    uint64_t t0 = cfx_clock_mono_ms();
    while (cfx_clock_mono_ms() - t0 < ms) {
        if (state_of(m, v, NULL, 0) == CFX_STATE_AVAILABLE)
            return cfx_clock_mono_ms() - t0;
        usleep(20000);
    }
    char msg[512];
    cfx_version_state_t st = state_of(m, v, msg, sizeof msg);
    fail_msg("version %lld not AVAILABLE within %llu ms: %s %s", (long long)v,
             (unsigned long long)ms, cfx_version_state_name(st), msg);
    return 0;
}

static void test_outages_keep_serving(void **state) {
    (void)state;
    publish(1);
    cfx_model_list_t l;
    cfx_manager_t *m = start(&l, 0, 0);
    assert_int_equal(latest(m), 1);
    assert_int_equal(metric(m, OUTAGE), 0);
    assert_int_equal(metric(m, OUTAGES), 0);

    /* moved away, made anew empty: an outage, nothing unloads */
    char away[400], p[400];
    snprintf(away, sizeof away, "%s/away", root);
    assert_int_equal(rename(base, away), 0);
    assert_int_equal(mkdir(base, 0755), 0);
    scan(m, &l);
    scan(m, &l);
    assert_int_equal(state_of(m, 1, NULL, 0), CFX_STATE_AVAILABLE);
    assert_int_equal(latest(m), 1);
    assert_int_equal(metric(m, OUTAGE), 1);
    assert_int_equal(metric(m, OUTAGES), 1);

    /* a regular file, then a dangling link: the same outage goes on */
    assert_int_equal(rmdir(base), 0);
    cfx_test_write_file(base, "not a folder\n");
    scan(m, &l);
    assert_int_equal(latest(m), 1);
    assert_int_equal(metric(m, OUTAGE), 1);
    assert_int_equal(unlink(base), 0);
    snprintf(p, sizeof p, "%s/nowhere", root);
    assert_int_equal(symlink(p, base), 0);
    scan(m, &l);
    assert_int_equal(latest(m), 1);
    assert_int_equal(state_of(m, 1, NULL, 0), CFX_STATE_AVAILABLE);
    assert_int_equal(metric(m, OUTAGE), 1);
    assert_int_equal(metric(m, OUTAGES), 1);

    /* the store is back, with a new version: it is picked up */
    assert_int_equal(unlink(base), 0);
    assert_int_equal(rename(away, base), 0);
    publish(2);
    scan(m, &l);
    assert_int_equal(metric(m, OUTAGE), 0);
    assert_int_equal(metric(m, OUTAGES), 1);
    assert_int_equal(latest(m), 2);
    assert_int_equal(state_of(m, 1, NULL, 0), CFX_STATE_END);

    cfx_manager_free(m);
    cfx_model_list_free(&l);
}

static void test_removed_version_retires(void **state) {
    (void)state;
    publish(1);
    publish(2);
    cfx_model_list_t l;
    cfx_manager_t *m = start(&l, 0, 0);
    assert_int_equal(latest(m), 2);
    /* version 2 removed, version 1 still listed: a rollback, not an outage */
    char dir[400];
    version_path(2, NULL, dir, sizeof dir);
    assert_int_equal(cfx_test_rm_rf(dir), 0);
    scan(m, &l);
    assert_int_equal(latest(m), 1);
    char msg[512];
    assert_int_equal(state_of(m, 2, msg, sizeof msg), CFX_STATE_END);
    assert_string_equal(msg, "");
    assert_int_equal(metric(m, OUTAGE), 0);
    assert_int_equal(metric(m, OUTAGES), 0);
    cfx_manager_free(m);
    cfx_model_list_free(&l);
}

/* Version 2 with its weights file cut to 10 bytes: the loader fails it;
 * the full weights written into the same file (the version folder and
 * variables/ keep their entries) make it load on the next poll. The
 * backoff is a minute here, so only the change can have done it. */
static void test_incomplete_version_loads(void **state) {
    (void)state;
    publish(1);
    cfx_model_list_t l;
    cfx_manager_t *m = start(&l, 60000, 60000);
    char src[400], w[500], dir[400], tmp[400];
    snprintf(src, sizeof src, "%s/full", root);
    write_bundle(src);
    /* made incomplete in a hidden folder, then renamed into place: the
     * loader never sees the complete files before the test means it to */
    char cmd[1400];
    snprintf(tmp, sizeof tmp, "%s/.tmp-2", base);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", src, tmp);
    assert_int_equal(system(cmd), 0);
    snprintf(w, sizeof w, "%s/variables/model.safetensors", tmp);
    snprintf(src, sizeof src, "%s/full/variables/model.safetensors", root);
    size_t n = 0;
    uint8_t *weights = cfx_test_read_file(src, &n);
    assert_true(n > 10);
    cfx_test_write_bytes(w, weights, 10);
    version_path(2, NULL, dir, sizeof dir);
    assert_int_equal(rename(tmp, dir), 0);
    version_path(2, "variables/model.safetensors", w, sizeof w);
    scan(m, &l);
    char msg[512];
    assert_int_equal(state_of(m, 2, msg, sizeof msg), CFX_STATE_END);
    if (!strstr(msg, "model.safetensors"))
        fail_msg("the error does not name the weights: %s", msg);
    assert_int_equal(latest(m), 1);
    struct stat before, after;
    assert_int_equal(stat(dir, &before), 0);
    cfx_test_write_bytes(w, weights, n);
    free(weights);
    uint64_t ms = wait_available(m, 2, 3000);
    print_message("incomplete version AVAILABLE %llu ms after completion\n",
                  (unsigned long long)ms);
    assert_int_equal(stat(dir, &after), 0);
    assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
    assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
    assert_int_equal(latest(m), 2);
    cfx_manager_free(m);
    cfx_model_list_free(&l);
}

/* Backoff 200 ms doubling to 400 ms: attempts at about 0, 0.2, 0.6, 1.0,
 * 1.4 s, so 1.5 s after the first there have been at most 5 (never
 * sooner than the backoff) and at least 3 (the backoff, not the 1 s poll,
 * woke the loader: the poll alone would give 2). */
static void test_corrupt_version_backoff(void **state) {
    (void)state;
    publish(1);
    cfx_model_list_t l;
    cfx_manager_t *m = start(&l, 200, 400);
    char w[400];
    publish(2);
    version_path(2, "variables/model.safetensors", w, sizeof w);
    size_t n = 0;
    uint8_t *good = cfx_test_read_file(w, &n);
    uint8_t *bad = malloc(n);
    assert_non_null(bad);
    memcpy(bad, good, n);
    bad[n - 1] ^= 0x55; /* same size, other checksum */
    /* Version 3 takes it: 2 is already loaded. */
    char src[400], dir[400], cmd[1000];
    version_path(2, NULL, src, sizeof src);
    version_path(3, NULL, dir, sizeof dir);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s/.tmp-3", base);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", src, tmp);
    assert_int_equal(system(cmd), 0);
    char tw[500];
    snprintf(tw, sizeof tw, "%s/variables/model.safetensors", tmp);
    cfx_test_write_bytes(tw, bad, n);
    scan(m, &l); /* loads 2 */
    assert_int_equal(latest(m), 2);
    assert_int_equal(rename(tmp, dir), 0);
    scan(m, &l); /* first attempt at 3 */
    uint64_t t0 = cfx_clock_mono_ms();
    char msg[512];
    assert_int_equal(state_of(m, 3, msg, sizeof msg), CFX_STATE_END);
    if (!strstr(msg, "model.safetensors"))
        fail_msg("the error does not name the weights: %s", msg);
    const char *f3 =
        ":cfx:serving:model_version_load_failures{model_name=\"taxi\","
        "version=\"3\"}";
    assert_true(metric(m, f3) >= 1);
    while (cfx_clock_mono_ms() - t0 < 1500)
        usleep(20000);
    long k = metric(m, f3);
    print_message("load attempts in 1.5 s: %ld\n", k);
    assert_true(k <= 5);
    assert_true(k >= 3);
    assert_int_equal(latest(m), 2);
    /* fixed in place: loaded at the next poll or retry */
    snprintf(tw, sizeof tw, "%s/variables/model.safetensors", dir);
    cfx_test_write_bytes(tw, good, n);
    wait_available(m, 3, 3000);
    assert_int_equal(latest(m), 3);
    assert_int_equal(metric(m, f3), -1);
    free(good);
    free(bad);
    cfx_manager_free(m);
    cfx_model_list_free(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outages_keep_serving, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_removed_version_retires, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_incomplete_version_loads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_version_backoff, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

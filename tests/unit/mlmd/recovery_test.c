/*
 * recovery_test.c: executions left RUNNING by a killed process — the owner
 * recorded at begin, the judgement of whether it is gone (a real killed
 * child, a zombie, a live process, a reused pid, another boot, another
 * host, no owner recorded), and the recovery: FAILED with the reason,
 * partial outputs and temporary folders removed, PENDING outputs ABANDONED,
 * done once when several processes recover together.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "md_fixture.h"
#include "mlmd/component.h"
#include "mlmd/recovery.h"
#include "test_util.h"

MD_TEST_FIXTURE(root, 256, "cfx-recovery")

#define OK(call) CFX_TEST_OK(call, err)

/* A child that begins a "Gen" run, places output "out" (a file in it and a
 * temporary folder beside it, as the bundle writer makes), reports the
 * execution id through fd and then: dies by SIGKILL (how = 'k'), exits
 * without finishing and stays unreaped (how = 'z'), or waits to be killed
 * (how = 'w'). */
static void child_run(int fd, char how) {
    cfx_error_t err;
    cfx_component_run_t run;
    cfx_metadata_t *md = NULL;
    char p[600];
    cfx_error_init(&err);
    /* never outlives the test, even when the test fails */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(2);
    /* a lent store: the child does not recover its elder siblings' runs
     * (a run opening its own store would) */
    if (cfx_metadata_open_root(&md, root, &err))
        _exit(2);
    cfx_component_opts_t opts = {.store = md};
    if (cfx_component_begin_ex(&run, root, &opts, "Gen", "{}", NULL, 0, &err))
        _exit(2);
    const char *dir = cfx_component_output_dir(&run, "out", &err);
    if (!dir)
        _exit(2);
    snprintf(p, sizeof p, "%s/part.txt", dir);
    cfx_test_write_file(p, "half");
    snprintf(p, sizeof p, "%s/Gen/out/.%lld.tmp-abc123", root,
             (long long)run.execution_id);
    if (mkdir(p, 0755) != 0)
        _exit(2);
    snprintf(p, sizeof p, "%s/Gen/out/%lld.tmp-def456", root,
             (long long)run.execution_id);
    if (mkdir(p, 0755) != 0)
        _exit(2);
    if (write(fd, &run.execution_id, sizeof run.execution_id) !=
        (ssize_t)sizeof run.execution_id)
        _exit(2);
    if (how == 'k')
        kill(getpid(), SIGKILL);
    if (how == 'w')
        for (;;)
            pause();
    _exit(0); /* 'z': gone without finishing */
}

/* Starts child_run; returns its pid, the execution id in *id. */
static pid_t start_child(char how, int64_t *id) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_run(fds[1], how);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], id, sizeof *id), (ssize_t)sizeof *id);
    close(fds[0]);
    return pid;
}

static void reap(pid_t pid) {
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
}

static cfx_metadata_t *open_store(void) {
    cfx_metadata_t *md = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    OK(cfx_metadata_open_root(&md, root, &err));
    return md;
}

static int exec_state(cfx_metadata_t *md, int64_t id) {
    cfx_md_execution_t e;
    cfx_error_t err;
    OK(cfx_metadata_get_execution(md, id, &e, &err));
    return e.state;
}

static void set_prop(cfx_metadata_t *md, int64_t id, const char *name,
                     cfx_md_value_t v) {
    cfx_error_t err;
    OK(cfx_metadata_set_execution_property(md, id, name, 1, &v, &err));
}

/* A run killed with SIGKILL: owner recorded, judged dead, recovered. */
static void test_killed_run_recovered(void **state) {
    (void)state;
    int64_t id;
    char out[600], tmp[600], tmp2[600], why[512], buf[512], log[4096] = "";
    cfx_error_t err;
    cfx_error_init(&err);
    pid_t pid = start_child('k', &id);
    reap(pid);
    snprintf(out, sizeof out, "%s/Gen/out/%lld", root, (long long)id);
    snprintf(tmp, sizeof tmp, "%s/Gen/out/.%lld.tmp-abc123", root,
             (long long)id);
    snprintf(tmp2, sizeof tmp2, "%s/Gen/out/%lld.tmp-def456", root,
             (long long)id);
    assert_true(cfx_test_exists(out));
    assert_true(cfx_test_exists(tmp));
    assert_true(cfx_test_exists(tmp2));

    cfx_metadata_t *md = open_store();
    assert_int_equal(exec_state(md, id), CFX_MD_EXECUTION_RUNNING);
    cfx_md_value_t v;
    OK(cfx_metadata_get_execution_property(md, id, "owner_pid", &v, NULL, 0,
                                           &err));
    assert_int_equal(v.kind, CFX_MD_INT);
    assert_int_equal(v.i, pid);
    assert_int_equal(cfx_recovery_owner_state(md, id, why, sizeof why),
                     CFX_OWNER_DEAD);
    snprintf(buf, sizeof buf, "pid %d on host", (int)pid);
    assert_non_null(strstr(why, buf));
    assert_non_null(strstr(why, "no longer running"));

    /* its root is recorded; a recovery in another root sharing the store
     * leaves it alone */
    OK(cfx_metadata_get_execution_property(md, id, CFX_RECOVERY_ROOT, &v, buf,
                                           sizeof buf, &err));
    assert_string_equal(v.s, root);
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s-other", root);
    OK(cfx_recovery_run(md, buf, NULL, &n, &err));
    assert_int_equal(n, 0);
    assert_int_equal(exec_state(md, id), CFX_MD_EXECUTION_RUNNING);
    assert_true(cfx_test_exists(out));

    FILE *f = fmemopen(log, sizeof log, "w");
    assert_non_null(f);
    snprintf(buf, sizeof buf, "%s/", root); /* a trailing slash is the same */
    OK(cfx_recovery_run(md, buf, f, &n, &err));
    fclose(f);
    assert_int_equal(n, 1);
    assert_int_equal(exec_state(md, id), CFX_MD_EXECUTION_FAILED);
    assert_false(cfx_test_exists(out));
    assert_false(cfx_test_exists(tmp));
    assert_false(cfx_test_exists(tmp2));
    snprintf(buf, sizeof buf, "recovered execution %lld (Gen)", (long long)id);
    assert_non_null(strstr(log, buf));
    assert_non_null(strstr(log, "3 partial outputs removed"));
    OK(cfx_metadata_get_execution_property(md, id, CFX_RECOVERY_REASON, &v, buf,
                                           sizeof buf, &err));
    assert_non_null(strstr(v.s, "left RUNNING by a process that died"));
    /* its output: ABANDONED, never LIVE */
    cfx_md_artifact_t a;
    OK(cfx_metadata_find_artifact_by_uri(md, out, &a, &err));
    assert_int_equal(a.state, CFX_MD_ARTIFACT_ABANDONED);

    /* a second recovery finds nothing more */
    OK(cfx_recovery_run(md, root, NULL, &n, &err));
    assert_int_equal(n, 0);
    cfx_metadata_close(md);
}

/* Exited but not reaped (a zombie): dead. A live owner: left alone. */
static void test_zombie_and_live_owner(void **state) {
    (void)state;
    int64_t zid, lid;
    char why[512], out[600];
    cfx_error_t err;
    cfx_error_init(&err);
    pid_t z = start_child('z', &zid);
    pid_t live = start_child('w', &lid);
    /* the zombie: wait until it has exited, without reaping it */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    assert_int_equal(waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT), 0);

    cfx_metadata_t *md = open_store();
    assert_int_equal(cfx_recovery_owner_state(md, zid, why, sizeof why),
                     CFX_OWNER_DEAD);
    assert_non_null(strstr(why, "has exited"));
    assert_int_equal(cfx_recovery_owner_state(md, lid, why, sizeof why),
                     CFX_OWNER_ALIVE);
    size_t n = 0;
    OK(cfx_recovery_run(md, root, NULL, &n, &err));
    assert_int_equal(n, 1);
    assert_int_equal(exec_state(md, zid), CFX_MD_EXECUTION_FAILED);
    assert_int_equal(exec_state(md, lid), CFX_MD_EXECUTION_RUNNING);
    snprintf(out, sizeof out, "%s/Gen/out/%lld/part.txt", root, (long long)lid);
    assert_true(
        cfx_test_exists(out)); /* a live run's output is never touched */

    kill(live, SIGKILL);
    reap(live);
    reap(z);
    OK(cfx_recovery_run(md, root, NULL, &n, &err));
    assert_int_equal(n, 1);
    assert_int_equal(exec_state(md, lid), CFX_MD_EXECUTION_FAILED);
    assert_false(cfx_test_exists(out));
    cfx_metadata_close(md);
}

/* The owner as recorded, edited: a reused pid and another boot are dead;
 * another host, another pid namespace and no owner at all cannot be
 * judged from here, and stay RUNNING. */
static void test_owner_judgement(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_component_run_t run;
    char why[512];
    cfx_error_init(&err);
    cfx_metadata_t *md = open_store();
    cfx_component_opts_t opts = {.store = md};
    int64_t id[5];
    for (int i = 0; i < 5; i++) {
        OK(cfx_component_begin_ex(&run, root, &opts, "Gen", "{}", NULL, 0,
                                  &err));
        id[i] = run.execution_id;
        run.finished = 1; /* leave it RUNNING, as a killed run does */
        cfx_component_run_free(&run);
    }
    /* id[0]: this process, as recorded: alive */
    assert_int_equal(cfx_recovery_owner_state(md, id[0], why, sizeof why),
                     CFX_OWNER_ALIVE);
    /* id[1]: this pid, but a process started at another time */
    cfx_md_value_t v = {.kind = CFX_MD_INT, .i = 12345};
    set_prop(md, id[1], "owner_start_time", v);
    assert_int_equal(cfx_recovery_owner_state(md, id[1], why, sizeof why),
                     CFX_OWNER_DEAD);
    assert_non_null(strstr(why, "another process"));
    /* id[2]: another boot */
    v = (cfx_md_value_t){.kind = CFX_MD_STRING,
                         .s = "00000000-0000-0000-0000-000000000000"};
    set_prop(md, id[2], "owner_boot_id", v);
    assert_int_equal(cfx_recovery_owner_state(md, id[2], why, sizeof why),
                     CFX_OWNER_DEAD);
    assert_non_null(strstr(why, "reboot"));
    /* id[3]: another host */
    v = (cfx_md_value_t){.kind = CFX_MD_STRING, .s = "elsewhere.example"};
    set_prop(md, id[3], "owner_host", v);
    assert_int_equal(cfx_recovery_owner_state(md, id[3], why, sizeof why),
                     CFX_OWNER_UNKNOWN);
    assert_non_null(strstr(why, "elsewhere.example"));
    /* id[4]: another pid namespace */
    v = (cfx_md_value_t){.kind = CFX_MD_STRING, .s = "pid:[1]"};
    set_prop(md, id[4], "owner_pid_ns", v);
    assert_int_equal(cfx_recovery_owner_state(md, id[4], why, sizeof why),
                     CFX_OWNER_UNKNOWN);
    /* bare: no owner recorded (an older cfx) */
    int64_t bare;
    OK(cfx_metadata_put_execution(md, "Gen", CFX_MD_EXECUTION_RUNNING, &bare,
                                  &err));
    assert_int_equal(cfx_recovery_owner_state(md, bare, why, sizeof why),
                     CFX_OWNER_UNKNOWN);
    assert_string_equal(why, "no owner recorded");
    size_t n = 0;
    OK(cfx_recovery_run(md, root, NULL, &n, &err));
    assert_int_equal(n, 2);
    int want[5] = {CFX_MD_EXECUTION_RUNNING, CFX_MD_EXECUTION_FAILED,
                   CFX_MD_EXECUTION_FAILED, CFX_MD_EXECUTION_RUNNING,
                   CFX_MD_EXECUTION_RUNNING};
    for (int i = 0; i < 5; i++)
        assert_int_equal(exec_state(md, id[i]), want[i]);
    assert_int_equal(exec_state(md, bare), CFX_MD_EXECUTION_RUNNING);
    cfx_metadata_close(md);
}

/* A standalone run (its own store) recovers before it begins; several
 * processes recovering the same executions at once mark each once. */
static void test_begin_recovers_once(void **state) {
    (void)state;
    enum { DEAD = 4, PROCS = 6 };
    int64_t ids[DEAD];
    cfx_error_t err;
    cfx_error_init(&err);
    for (int i = 0; i < DEAD; i++)
        reap(start_child('k', &ids[i]));
    int fds[2], gate[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(pipe(gate), 0);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] != 0)
            continue;
        char c, log[8192] = "";
        cfx_component_run_t run;
        close(fds[0]);
        close(gate[1]);
        if (read(gate[0], &c, 1) != 0)
            _exit(3);
        FILE *f = fmemopen(log, sizeof log, "w");
        cfx_component_opts_t opts = {.log = f};
        int rc = cfx_component_begin_ex(&run, root, &opts, "Other", "{}", NULL,
                                        0, &err) ||
                 cfx_component_finish(&run, 1, &err);
        cfx_component_run_free(&run);
        fclose(f);
        int lines = 0;
        for (const char *l = log; (l = strstr(l, "recovered execution")); l++)
            lines++;
        if (rc)
            fprintf(stderr, "process %d: %s\n", p, err.msg);
        if (write(fds[1], &lines, sizeof lines) != (ssize_t)sizeof lines)
            rc = 1;
        _exit(rc != 0);
    }
    close(fds[1]);
    close(gate[0]);
    close(gate[1]);
    int total = 0;
    for (int p = 0; p < PROCS; p++) {
        int st, lines;
        assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        assert_int_equal(read(fds[0], &lines, sizeof lines),
                         (ssize_t)sizeof lines);
        total += lines;
    }
    close(fds[0]);
    assert_int_equal(total, DEAD); /* each reported by exactly one */
    cfx_metadata_t *md = open_store();
    for (int i = 0; i < DEAD; i++)
        assert_int_equal(exec_state(md, ids[i]), CFX_MD_EXECUTION_FAILED);
    cfx_metadata_close(md);
}

/* cfx_component_fail records why. */
static void test_fail_reason(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_component_run_t run;
    char buf[256];
    cfx_md_value_t v;
    cfx_error_init(&err);
    OK(cfx_component_begin(&run, root, "Gen", "{}", NULL, 0, &err));
    int64_t id = run.execution_id;
    assert_non_null(cfx_component_output_dir(&run, "out", &err));
    OK(cfx_component_fail(&run, "data.csv:3: column 'x': not a number", &err));
    cfx_metadata_t *md = cfx_component_store(&run);
    assert_int_equal(exec_state(md, id), CFX_MD_EXECUTION_FAILED);
    OK(cfx_metadata_get_execution_property(md, id, CFX_RECOVERY_REASON, &v, buf,
                                           sizeof buf, &err));
    assert_string_equal(v.s, "data.csv:3: column 'x': not a number");
    cfx_component_run_free(&run);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_killed_run_recovered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zombie_and_live_owner, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_owner_judgement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_begin_recovers_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fail_reason, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

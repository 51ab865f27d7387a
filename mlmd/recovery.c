/*
 * recovery.c: owners of executions, and the recovery of executions whose
 * owner died (see recovery.h for the rules and why they are so careful).
 */
#include "mlmd/recovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "formats/file.h"

/* Who runs an execution, as recorded and as judged. */
typedef struct owner {
    long long pid;
    long long start_time; /* clock ticks after boot; -1: unknown */
    char boot_id[64];
    char host[256];
    char pid_ns[64];
} owner_t;

static void first_line(const char *path, char *out, size_t cap) {
    out[0] = 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    if (fgets(out, (int)cap, f))
        out[strcspn(out, "\n")] = 0;
    else
        out[0] = 0;
    fclose(f);
}

/* The state letter and start time of process pid from /proc/<pid>/stat.
 * 0, or -1 with errno (ENOENT: no such process). */
static int proc_stat(long long pid, char *state, long long *start_time) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%lld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int e = errno;
    close(fd);
    if (n <= 0) {
        errno = n < 0 ? e : ENOENT;
        return -1;
    }
    buf[n] = 0;
    /* the command name (field 2) is in parentheses and may hold anything,
     * so count fields from the last ')' */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2]) {
        errno = EINVAL;
        return -1;
    }
    *state = p[2];
    p += 3;
    for (int field = 4; field < 22; field++) { /* starttime is field 22 */
        p = strchr(p, ' ');
        if (!p) {
            errno = EINVAL;
            return -1;
        }
        p++;
    }
    *start_time = strtoll(p, NULL, 10);
    return 0;
}

static void self_owner(owner_t *o) {
    char st;
    memset(o, 0, sizeof *o);
    o->pid = (long long)getpid();
    if (proc_stat(o->pid, &st, &o->start_time) != 0)
        o->start_time = -1;
    first_line("/proc/sys/kernel/random/boot_id", o->boot_id,
               sizeof o->boot_id);
    if (gethostname(o->host, sizeof o->host) != 0)
        o->host[0] = 0;
    o->host[sizeof o->host - 1] = 0;
    ssize_t n = readlink("/proc/self/ns/pid", o->pid_ns, sizeof o->pid_ns - 1);
    o->pid_ns[n > 0 ? n : 0] = 0;
}

static int set_int(cfx_metadata_t *md, int64_t id, const char *name,
                   long long v, cfx_error_t *err) {
    cfx_md_value_t val = {.kind = CFX_MD_INT, .i = v};
    return cfx_metadata_set_execution_property(md, id, name, 1, &val, err);
}

static int set_str(cfx_metadata_t *md, int64_t id, const char *name,
                   const char *v, cfx_error_t *err) {
    cfx_md_value_t val = {.kind = CFX_MD_STRING, .s = v};
    return cfx_metadata_set_execution_property(md, id, name, 1, &val, err);
}

int cfx_recovery_record_owner(cfx_metadata_t *md, int64_t execution_id,
                              cfx_error_t *err) {
    owner_t o;
    int ret;
    self_owner(&o);
    if ((ret = set_int(md, execution_id, "owner_pid", o.pid, err)) ||
        (ret = set_int(md, execution_id, "owner_start_time", o.start_time,
                       err)) ||
        (ret = set_str(md, execution_id, "owner_boot_id", o.boot_id, err)) ||
        (ret = set_str(md, execution_id, "owner_host", o.host, err)) ||
        (ret = set_str(md, execution_id, "owner_pid_ns", o.pid_ns, err)))
        return ret;
    return 0;
}

/* The recorded owner; 0 when every property is there. */
static int recorded_owner(cfx_metadata_t *md, int64_t id, owner_t *o) {
    cfx_md_value_t v;
    cfx_error_t ignore;
    memset(o, 0, sizeof *o);
    if (cfx_metadata_get_execution_property(md, id, "owner_pid", &v, NULL, 0,
                                            &ignore) ||
        v.kind != CFX_MD_INT)
        return -1;
    o->pid = v.i;
    if (cfx_metadata_get_execution_property(md, id, "owner_start_time", &v,
                                            NULL, 0, &ignore) ||
        v.kind != CFX_MD_INT)
        return -1;
    o->start_time = v.i;
    if (cfx_metadata_get_execution_property(md, id, "owner_boot_id", &v,
                                            o->boot_id, sizeof o->boot_id,
                                            &ignore) ||
        cfx_metadata_get_execution_property(md, id, "owner_host", &v, o->host,
                                            sizeof o->host, &ignore) ||
        cfx_metadata_get_execution_property(
            md, id, "owner_pid_ns", &v, o->pid_ns, sizeof o->pid_ns, &ignore))
        return -1;
    return 0;
}

cfx_owner_state_t cfx_recovery_owner_state(cfx_metadata_t *md,
                                           int64_t execution_id, char *why,
                                           size_t cap) {
    owner_t rec, self;
    char dummy[8];
    if (!why) {
        why = dummy;
        cap = sizeof dummy;
    }
    if (recorded_owner(md, execution_id, &rec) != 0) {
        snprintf(why, cap, "no owner recorded");
        return CFX_OWNER_UNKNOWN;
    }
    self_owner(&self);
    if (strcmp(rec.host, self.host)) {
        snprintf(why, cap, "pid %lld on host %s", rec.pid, rec.host);
        return CFX_OWNER_UNKNOWN;
    }
    if (!rec.boot_id[0] || !self.boot_id[0]) {
        snprintf(why, cap, "pid %lld on %s (boot unknown)", rec.pid, rec.host);
        return CFX_OWNER_UNKNOWN;
    }
    if (strcmp(rec.boot_id, self.boot_id)) {
        snprintf(why, cap, "pid %lld on host %s ended with a reboot", rec.pid,
                 rec.host);
        return CFX_OWNER_DEAD;
    }
    if (!rec.pid_ns[0] || strcmp(rec.pid_ns, self.pid_ns)) {
        snprintf(why, cap, "pid %lld of another pid namespace on host %s",
                 rec.pid, rec.host);
        return CFX_OWNER_UNKNOWN;
    }
    if (rec.pid <= 0 || rec.pid > INT_MAX) {
        snprintf(why, cap, "bad owner pid %lld", rec.pid);
        return CFX_OWNER_UNKNOWN;
    }
    if (kill((pid_t)rec.pid, 0) != 0 && errno == ESRCH) {
        snprintf(why, cap, "pid %lld on host %s is no longer running", rec.pid,
                 rec.host);
        return CFX_OWNER_DEAD;
    }
    char st;
    long long start;
    if (proc_stat(rec.pid, &st, &start) != 0) {
        if (errno == ENOENT) {
            snprintf(why, cap, "pid %lld on host %s is no longer running",
                     rec.pid, rec.host);
            return CFX_OWNER_DEAD;
        }
        snprintf(why, cap, "pid %lld on host %s (its /proc entry: %s)", rec.pid,
                 rec.host, strerror(errno));
        return CFX_OWNER_UNKNOWN;
    }
    if (st == 'Z' || st == 'X') {
        snprintf(why, cap, "pid %lld on host %s has exited", rec.pid, rec.host);
        return CFX_OWNER_DEAD;
    }
    if (rec.start_time < 0) {
        snprintf(why, cap, "pid %lld on host %s (start time unknown)", rec.pid,
                 rec.host);
        return CFX_OWNER_UNKNOWN;
    }
    if (start != rec.start_time) {
        snprintf(why, cap,
                 "pid %lld on host %s is no longer running (the pid now "
                 "belongs to another process)",
                 rec.pid, rec.host);
        return CFX_OWNER_DEAD;
    }
    snprintf(why, cap, "pid %lld on host %s", rec.pid, rec.host);
    return CFX_OWNER_ALIVE;
}

/* --- recovery ------------------------------------------------------------- */

typedef struct running {
    int64_t *ids;
    size_t n, cap;
} running_t;

static int collect_running(void *ud, const cfx_md_execution_t *e) {
    running_t *r = ud;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        int64_t *ids = realloc(r->ids, cap * sizeof *ids);
        if (!ids)
            return CFX_ENOMEM;
        r->ids = ids;
        r->cap = cap;
    }
    r->ids[r->n++] = e->id;
    return 0;
}

typedef struct pending {
    int64_t ids[64];
    size_t n;
} pending_t;

static int collect_pending(void *ud, const cfx_md_event_t *ev) {
    pending_t *p = ud;
    if (ev->type == CFX_MD_EVENT_PENDING_OUTPUT &&
        p->n < sizeof p->ids / sizeof p->ids[0])
        p->ids[p->n++] = ev->artifact_id;
    return 0;
}

/* A component name usable as one folder name under the root. */
static int safe_name(const char *s) {
    return s[0] && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/');
}

/* Removes `<root>/<component>/<key>/<id>` and the temporary folders beside
 * it (`<id>.tmp-*`, as ExampleGen and StatisticsGen name theirs, and
 * `.<id>.tmp-*`, as the bundle writer does) for every key folder; returns
 * how many entries went (or a negative code). */
static int remove_outputs(const char *root, const char *component, int64_t id,
                          cfx_error_t *err) {
    char dir[PATH_MAX], path[PATH_MAX], name[32], tmp_prefix[40],
        hidden_prefix[40];
    int removed = 0, ret = 0;
    if (!safe_name(component))
        return 0;
    snprintf(name, sizeof name, "%lld", (long long)id);
    snprintf(tmp_prefix, sizeof tmp_prefix, "%lld.tmp-", (long long)id);
    snprintf(hidden_prefix, sizeof hidden_prefix, ".%lld.tmp-", (long long)id);
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", root, component) >=
        sizeof dir)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: path too long", root);
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* no output made yet */
    struct dirent *key;
    while (!ret && (key = readdir(d))) {
        char kdir[PATH_MAX];
        if (key->d_name[0] == '.' ||
            (size_t)snprintf(kdir, sizeof kdir, "%s/%s", dir, key->d_name) >=
                sizeof kdir ||
            !cfx_file_is_dir(kdir))
            continue;
        DIR *k = opendir(kdir);
        if (!k)
            continue;
        struct dirent *e;
        while (!ret && (e = readdir(k))) {
            if (strcmp(e->d_name, name) &&
                strncmp(e->d_name, tmp_prefix, strlen(tmp_prefix)) &&
                strncmp(e->d_name, hidden_prefix, strlen(hidden_prefix)))
                continue;
            if ((size_t)snprintf(path, sizeof path, "%s/%s", kdir, e->d_name) >=
                sizeof path)
                continue;
            if ((ret = cfx_file_remove_tree(path, err)) == 0)
                removed++;
        }
        closedir(k);
    }
    closedir(d);
    return ret ? ret : removed;
}

/* Under the write lock: RUNNING -> FAILED with the reason, the partial
 * outputs removed (*removed counts them), PENDING outputs ABANDONED;
 * *marked says whether this call did it. The lock orders this against the
 * owner's own last transaction: an owner that finished and exited just
 * after it was judged has made its execution COMPLETE, the state change
 * finds it so and nothing is removed. Killed half-way, the transaction
 * rolls back and the next recovery removes what is left. */
static int mark_failed(cfx_metadata_t *md, const char *root,
                       const cfx_md_execution_t *e, const char *reason,
                       int *marked, int *removed, cfx_error_t *err) {
    pending_t *p = calloc(1, sizeof *p);
    int ret;
    *marked = 0;
    *removed = 0;
    if (!p)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    if ((ret = cfx_metadata_begin(md, err)))
        goto out;
    if ((ret = cfx_metadata_replace_execution_state(
             md, e->id, CFX_MD_EXECUTION_RUNNING, CFX_MD_EXECUTION_FAILED,
             marked, err)))
        goto fail;
    if (!*marked) /* finished meanwhile, or another process recovered it */
        goto commit;
    if ((*removed = remove_outputs(root, e->type, e->id, err)) < 0) {
        ret = *removed;
        goto fail;
    }
    if ((ret = set_str(md, e->id, CFX_RECOVERY_REASON, reason, err)) ||
        (ret = cfx_metadata_list_events(md, e->id, -1, collect_pending, p,
                                        err)) < 0)
        goto fail;
    for (size_t i = 0; i < p->n; i++) {
        cfx_md_artifact_t *a = malloc(sizeof *a);
        if (!a) {
            ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto fail;
        }
        ret = cfx_metadata_get_artifact(md, p->ids[i], a, err);
        if (!ret && a->state == CFX_MD_ARTIFACT_PENDING)
            ret = cfx_metadata_set_artifact_state(
                md, a->id, CFX_MD_ARTIFACT_ABANDONED, err);
        free(a);
        if (ret)
            goto fail;
    }
commit:
    ret = cfx_metadata_commit(md, err);
    if (ret)
        *marked = 0;
    goto out;
fail:
    cfx_metadata_rollback(md);
    *marked = 0;
out:
    free(p);
    return ret;
}

int cfx_recovery_run(cfx_metadata_t *md, const char *root, FILE *log,
                     size_t *recovered, cfx_error_t *err) {
    running_t r = {0};
    size_t n = 0;
    int ret = cfx_metadata_list_executions_in_state(
        md, CFX_MD_EXECUTION_RUNNING, collect_running, &r, err);
    if (ret == CFX_ENOMEM)
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
    size_t rl = strlen(root);
    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    for (size_t i = 0; !ret && i < r.n; i++) {
        char why[512], reason[640], its_root[PATH_MAX];
        cfx_md_execution_t e;
        cfx_md_value_t v;
        cfx_error_t ignore;
        /* an execution of another root (a shared store) is that root's */
        if (cfx_metadata_get_execution_property(md, r.ids[i], CFX_RECOVERY_ROOT,
                                                &v, its_root, sizeof its_root,
                                                &ignore) == 0 &&
            v.kind == CFX_MD_STRING &&
            (strlen(v.s) != rl || strncmp(v.s, root, rl) != 0))
            continue;
        if (cfx_recovery_owner_state(md, r.ids[i], why, sizeof why) !=
            CFX_OWNER_DEAD)
            continue;
        if ((ret = cfx_metadata_get_execution(md, r.ids[i], &e, err)))
            break;
        snprintf(reason, sizeof reason,
                 "left RUNNING by a process that died: %s", why);
        int marked = 0, removed = 0;
        if ((ret = mark_failed(md, root, &e, reason, &marked, &removed, err))) {
            cfx_error_prefix(err, "recovering execution %lld", (long long)e.id);
            break;
        }
        if (!marked)
            continue;
        n++;
        if (log)
            fprintf(log,
                    "recovered execution %lld (%s): owner %s; marked FAILED, "
                    "%d partial output%s removed\n",
                    (long long)e.id, e.type, why, removed,
                    removed == 1 ? "" : "s");
    }
    free(r.ids);
    if (recovered)
        *recovered = n;
    return ret;
}

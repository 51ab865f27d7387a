/*
 * bundle_writer.c: atomic publication of a model bundle and its manifest
 * (bundle_writer.h).
 */
#include "model/bundle_writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "formats/buf.h"
#include "formats/dtype.h"
#include "formats/file.h"
#include "formats/sha256.h"
#include "model/bundle.h"

#define MAX_FILES 100000
#define MAX_DEPTH 8

typedef struct written {
    char *relpath;
    char sha256[65];
    size_t size;
} written_t;

struct cfx_bundle_writer {
    char *final_dir;
    char *tmp_dir;
    char *parent;
    written_t *files;
    size_t nfiles, cap;
    char **dirs; /* relative folders created, to fsync */
    size_t ndirs;
};

int cfx_bundle_writer_open(const char *final_dir, cfx_bundle_writer_t **out,
                           cfx_error_t *err) {
    *out = NULL;
    if (!cfx_file_absent_or_empty(final_dir))
        return cfx_error_set(err, CFX_EEXIST, "%s: already exists", final_dir);
    cfx_bundle_writer_t *w = calloc(1, sizeof *w);
    char *a = strdup(final_dir), *b = strdup(final_dir);
    if (w == NULL || a == NULL || b == NULL) {
        free(w);
        free(a);
        free(b);
        return cfx_error_set(err, CFX_ENOMEM, "bundle writer: out of memory");
    }
    /* strip trailing slashes so dirname/basename name the bundle folder */
    for (size_t l = strlen(a); l > 1 && a[l - 1] == '/'; l--)
        a[l - 1] = b[l - 1] = '\0';
    w->final_dir = strdup(a);
    w->parent = strdup(dirname(a));
    const char *base = basename(b);
    size_t tl = strlen(w->parent ? w->parent : "") + strlen(base) + 32;
    w->tmp_dir = malloc(tl);
    free(a);
    if (w->final_dir == NULL || w->parent == NULL || w->tmp_dir == NULL) {
        free(b);
        cfx_bundle_writer_abort(w);
        return cfx_error_set(err, CFX_ENOMEM, "bundle writer: out of memory");
    }
    snprintf(w->tmp_dir, tl, "%s/.%s.tmp-XXXXXX", w->parent, base);
    free(b);
    if (mkdtemp(w->tmp_dir) == NULL) {
        int e = errno;
        w->tmp_dir[0] = '\0';
        cfx_bundle_writer_abort(w);
        return cfx_error_set(
            err, CFX_EIO, "%s: cannot create a temporary folder beside it: %s",
            final_dir, strerror(e));
    }
    /* mkdtemp makes it 0700; a published bundle is read by the server's
     * own user. */
    if (chmod(w->tmp_dir, 0755) != 0) {
        int e = errno;
        cfx_bundle_writer_abort(w);
        return cfx_error_set(err, CFX_EIO, "%s: chmod: %s", final_dir,
                             strerror(e));
    }
    *out = w;
    return 0;
}

static int fsync_path(const char *path, int dir, cfx_error_t *err) {
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
    int rc = 0;
    if (fsync(fd) != 0)
        rc =
            cfx_error_set(err, CFX_EIO, "%s: fsync: %s", path, strerror(errno));
    close(fd);
    return rc;
}

/* Creates the parent folders of relpath inside the temporary directory. */
static int make_parents(cfx_bundle_writer_t *w, const char *relpath,
                        cfx_error_t *err) {
    char path[4096];
    const char *s = relpath;
    for (const char *e; (e = strchr(s, '/')) != NULL; s = e + 1) {
        size_t rl = (size_t)(e - relpath);
        snprintf(path, sizeof path, "%s/%.*s", w->tmp_dir, (int)rl, relpath);
        if (mkdir(path, 0755) == 0) {
            char **d = realloc(w->dirs, (w->ndirs + 1) * sizeof *d);
            if (d == NULL)
                return cfx_error_set(err, CFX_ENOMEM,
                                     "bundle writer: out of memory");
            w->dirs = d;
            if ((d[w->ndirs] = strndup(relpath, rl)) == NULL)
                return cfx_error_set(err, CFX_ENOMEM,
                                     "bundle writer: out of memory");
            w->ndirs++;
        } else if (errno != EEXIST) {
            return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
        }
    }
    return 0;
}

static int add_impl(cfx_bundle_writer_t *w, const char *relpath,
                    const void *data, size_t len, int record,
                    cfx_error_t *err) {
    char path[4096];
    if (!cfx_bundle_relpath_ok(relpath))
        return cfx_error_set(err, CFX_EINVAL, "bundle: bad file name '%s'",
                             relpath);
    if (len > CFX_BUNDLE_MAX_FILE)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "bundle: %s: %zu bytes, over the limit", relpath,
                             len);
    if (record && w->nfiles >= MAX_FILES)
        return cfx_error_set(err, CFX_ETOOBIG, "bundle: more than %d files",
                             MAX_FILES);
    for (size_t i = 0; i < w->nfiles; i++)
        if (!strcmp(w->files[i].relpath, relpath))
            return cfx_error_set(err, CFX_EEXIST, "bundle: %s written twice",
                                 relpath);
    int rc = make_parents(w, relpath, err);
    if (rc != 0)
        return rc;
    snprintf(path, sizeof path, "%s/%s", w->tmp_dir, relpath);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
    if (cfx_file_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(e));
    }
    if (close(fd) != 0)
        return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
    if (!record)
        return 0;
    if (w->nfiles == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 16;
        written_t *f = realloc(w->files, nc * sizeof *f);
        if (f == NULL)
            return cfx_error_set(err, CFX_ENOMEM,
                                 "bundle writer: out of memory");
        w->files = f;
        w->cap = nc;
    }
    written_t *f = &w->files[w->nfiles];
    if ((f->relpath = strdup(relpath)) == NULL)
        return cfx_error_set(err, CFX_ENOMEM, "bundle writer: out of memory");
    uint8_t d[CFX_SHA256_LEN];
    if (cfx_sha256(data, len, d) != 0) {
        free(f->relpath);
        return cfx_error_set(err, CFX_EINTERNAL, "bundle: SHA-256 failed");
    }
    cfx_sha256_hex(d, f->sha256);
    f->size = len;
    w->nfiles++;
    return 0;
}

int cfx_bundle_writer_add(cfx_bundle_writer_t *w, const char *relpath,
                          const void *data, size_t len, cfx_error_t *err) {
    if (!strcmp(relpath, "manifest.json"))
        return cfx_error_set(err, CFX_EINVAL,
                             "bundle: manifest.json is written by commit");
    return add_impl(w, relpath, data, len, 1, err);
}

int cfx_bundle_writer_add_file(cfx_bundle_writer_t *w, const char *relpath,
                               const char *src, cfx_error_t *err) {
    cfx_buf_t data;
    cfx_buf_init(&data);
    int rc = cfx_file_read(src, CFX_BUNDLE_MAX_FILE, &data, err);
    if (rc == 0)
        rc = cfx_bundle_writer_add(w, relpath, data.data, data.len, err);
    cfx_buf_free(&data);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_dir_depth(cfx_bundle_writer_t *w, const char *reldir,
                         const char *src_dir, int depth, cfx_error_t *err) {
    if (depth > MAX_DEPTH)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: folders nested too deep",
                             src_dir);
    DIR *d = opendir(src_dir);
    if (d == NULL)
        return cfx_error_set(err, CFX_EIO, "%s: %s", src_dir, strerror(errno));
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        if (nn == NULL || (nn[n] = strdup(de->d_name)) == NULL) {
            names = nn ? nn : names;
            rc = cfx_error_set(err, CFX_ENOMEM, "bundle writer: out of memory");
            goto out;
        }
        names = nn;
        n++;
        if (n > MAX_FILES) {
            rc = cfx_error_set(err, CFX_ETOOBIG, "%s: too many files", src_dir);
            goto out;
        }
    }
    /* deterministic order; an empty folder (a graph without vocabularies
     * has an empty assets/) leaves names NULL, which qsort may not get */
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char src[4096], rel[4096];
        snprintf(src, sizeof src, "%s/%s", src_dir, names[i]);
        snprintf(rel, sizeof rel, "%s/%s", reldir, names[i]);
        struct stat sb;
        if (stat(src, &sb) != 0)
            rc = cfx_error_set(err, CFX_EIO, "%s: %s", src, strerror(errno));
        else if (S_ISDIR(sb.st_mode))
            rc = add_dir_depth(w, rel, src, depth + 1, err);
        else if (S_ISREG(sb.st_mode))
            rc = cfx_bundle_writer_add_file(w, rel, src, err);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int cfx_bundle_writer_add_dir(cfx_bundle_writer_t *w, const char *reldir,
                              const char *src_dir, cfx_error_t *err) {
    return add_dir_depth(w, reldir, src_dir, 0, err);
}

static void remove_tree(const char *path, int depth) {
    DIR *d = depth <= MAX_DEPTH + 2 ? opendir(path) : NULL;
    if (d != NULL) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, de->d_name);
            struct stat sb;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
                remove_tree(p, depth + 1);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(path);
}

static void writer_free(cfx_bundle_writer_t *w) {
    for (size_t i = 0; i < w->nfiles; i++)
        free(w->files[i].relpath);
    free(w->files);
    for (size_t i = 0; i < w->ndirs; i++)
        free(w->dirs[i]);
    free(w->dirs);
    free(w->final_dir);
    free(w->tmp_dir);
    free(w->parent);
    free(w);
}

void cfx_bundle_writer_abort(cfx_bundle_writer_t *w) {
    if (w == NULL)
        return;
    if (w->tmp_dir && w->tmp_dir[0])
        remove_tree(w->tmp_dir, 0);
    writer_free(w);
}

static int cmp_written(const void *a, const void *b) {
    return strcmp(((const written_t *)a)->relpath,
                  ((const written_t *)b)->relpath);
}

int cfx_bundle_writer_commit(cfx_bundle_writer_t *w, json_t *manifest,
                             cfx_error_t *err) {
    int rc = 0;
    char *text = NULL;
    json_t *files = json_object();
    if (files == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "bundle writer: out of memory");
        goto out;
    }
    if (w->nfiles > 1) /* w->files is NULL when nothing was added */
        qsort(w->files, w->nfiles, sizeof *w->files, cmp_written);
    for (size_t i = 0; i < w->nfiles; i++) {
        json_t *e = json_pack("{s:s, s:I}", "sha256", w->files[i].sha256,
                              "size", (json_int_t)w->files[i].size);
        if (e == NULL ||
            json_object_set_new(files, w->files[i].relpath, e) != 0) {
            rc = cfx_error_set(err, CFX_ENOMEM, "bundle writer: out of memory");
            goto out;
        }
    }
    if (json_object_set(manifest, "files", files) != 0) {
        rc = cfx_error_set(err, CFX_ENOMEM, "bundle writer: out of memory");
        goto out;
    }
    text = json_dumps(manifest, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "bundle writer: out of memory");
        goto out;
    }
    size_t tl = strlen(text);
    char *with_nl = malloc(tl + 2);
    if (with_nl == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "bundle writer: out of memory");
        goto out;
    }
    memcpy(with_nl, text, tl);
    with_nl[tl] = '\n';
    rc = add_impl(w, "manifest.json", with_nl, tl + 1, 0, err);
    free(with_nl);
    if (rc != 0)
        goto out;
    char path[4096];
    for (size_t i = w->ndirs; i-- > 0;) {
        snprintf(path, sizeof path, "%s/%s", w->tmp_dir, w->dirs[i]);
        if ((rc = fsync_path(path, 1, err)) != 0)
            goto out;
    }
    if ((rc = fsync_path(w->tmp_dir, 1, err)) != 0)
        goto out;
    if (rename(w->tmp_dir, w->final_dir) != 0) {
        rc = cfx_error_set(
            err, errno == EEXIST || errno == ENOTEMPTY ? CFX_EEXIST : CFX_EIO,
            "%s: cannot publish: %s", w->final_dir, strerror(errno));
        goto out;
    }
    w->tmp_dir[0] = '\0'; /* published: nothing to remove */
    rc = fsync_path(w->parent, 1, err);
out:
    free(text);
    json_decref(files);
    cfx_bundle_writer_abort(w);
    return rc;
}

static json_t *tensor_info(const char *dtype, int rank2) {
    return rank2
               ? json_pack("{s:s, s:[i,i]}", "dtype", dtype, "shape", -1, rank2)
               : json_pack("{s:s, s:[i]}", "dtype", dtype, "shape", -1);
}

json_t *cfx_bundle_manifest_new(const char *model_name, const cfx_net_t *net,
                                const cfx_transform_t *t) {
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *m = json_object();
    json_t *inputs = json_array(), *raw_inputs = json_object();
    json_t *dense = json_array(), *cats = json_array(), *hidden = json_array();
    json_t *sigs = NULL;
    if (!m || !inputs || !raw_inputs || !dense || !cats || !hidden)
        goto fail;
    for (size_t i = 0; i < cfx_transform_num_inputs(t); i++) {
        const cfx_xf_input_t *in = cfx_transform_input(t, i);
        json_array_append_new(
            inputs, json_pack("{s:s, s:s}", "name", in->name, "dtype",
                              cfx_dtype_name(cfx_dtype_of_kind(in->kind))));
        json_object_set_new(
            raw_inputs, in->name,
            tensor_info(cfx_dtype_name(cfx_dtype_of_kind(in->kind)), 0));
    }
    /* dense and categorical names in slot order, as the network reads them */
    for (size_t s = 0; s < cfx_transform_num_dense(t); s++)
        for (size_t i = 0; i < cfx_transform_num_outputs(t); i++) {
            const cfx_xf_output_t *o = cfx_transform_output(t, i);
            if (o->kind == CFX_XF_DENSE && o->slot == s)
                json_array_append_new(dense, json_string(o->name));
        }
    for (size_t c = 0; net && c < net->num_categorical; c++) {
        json_t *e = json_pack(
            "{s:s, s:I, s:b}", "name", net->cat_names[c], "cardinality",
            (json_int_t)net->cat_cardinality[c], "deep", (int)net->cat_deep[c]);
        if (e && net->emb_dim[c]) /* absent: one-hot, as before embeddings */
            json_object_set_new(e, "embedding_dim",
                                json_integer((json_int_t)net->emb_dim[c]));
        json_array_append_new(cats, e);
    }
    for (size_t k = 0; net && k < net->num_hidden; k++)
        json_array_append_new(hidden,
                              json_integer((json_int_t)net->width[k + 1]));
    json_t *out1 = json_pack("{s:o}", "outputs", tensor_info("DT_FLOAT", 1));
    json_t *out2 = json_pack("{s:o}", "outputs", tensor_info("DT_FLOAT", 1));
    json_t *out3 = json_pack("{s:o}", "outputs", tensor_info("DT_FLOAT", 1));
    sigs = json_pack(
        "{s:{s:s, s:{s:o}, s:o}, s:{s:s, s:O, s:o}, s:{s:s, s:{s:o}, s:{s:o, "
        "s:o}},"
        " s:{s:s, s:{s:o}, s:o}}",
        "serving_default", "method_name", "tensorflow/serving/predict",
        "inputs", "examples", tensor_info("DT_STRING", 0), "outputs", out1,
        "predict_raw", "method_name", "tensorflow/serving/predict", "inputs",
        raw_inputs, "outputs", out2, "classify", "method_name",
        "tensorflow/serving/classify", "inputs", "inputs",
        tensor_info("DT_STRING", 0), "outputs", "classes",
        tensor_info("DT_STRING", 2), "scores", tensor_info("DT_FLOAT", 2),
        "regress", "method_name", "tensorflow/serving/regress", "inputs",
        "inputs", tensor_info("DT_STRING", 0), "outputs", out3);
    if (sigs == NULL)
        goto fail;
    const char *label = cfx_transform_label_name(t);
    /* the lowest format that holds it (model/bundle.h): 2 only for
     * learned embeddings */
    int format = 1;
    for (size_t c = 0; net && c < net->num_categorical; c++)
        if (net->emb_dim && net->emb_dim[c])
            format = 2;
    json_object_set_new(m, "format_version", json_integer(format));
    json_object_set_new(m, "model_name", json_string(model_name));
    json_object_set_new(m, "created", json_string(created));
    json_object_set_new(m, "label", label ? json_string(label) : json_null());
    json_object_set_new(m, "inputs", inputs);
    if (net == NULL) { /* another model type adds its own section */
        json_decref(dense);
        json_decref(cats);
        json_decref(hidden);
    } else
        json_object_set_new(m, "network",
                            json_pack("{s:s, s:o, s:o, s:o, s:b, s:s, s:s}",
                                      "type", "wide_and_deep", "dense", dense,
                                      "categorical", cats, "hidden_units",
                                      hidden, "deep_categorical",
                                      net->deep_categorical, "activation",
                                      "relu", "output", "sigmoid"));
    json_object_set_new(m, "signatures", sigs);
    json_decref(raw_inputs);
    return m;
fail:
    json_decref(m);
    json_decref(inputs);
    json_decref(raw_inputs);
    json_decref(dense);
    json_decref(cats);
    json_decref(hidden);
    return NULL;
}

int cfx_bundle_manifest_set_head(json_t *m, const cfx_head_t *head) {
    size_t K = cfx_head_output_width(head);
    json_t *raw_inputs = NULL, *sigs = json_object();
    json_t *old = json_object_get(m, "signatures");
    json_t *raw =
        json_object_get(json_object_get(old, "predict_raw"), "inputs");
    int bad = !sigs || !raw;
    if (!bad)
        raw_inputs = json_deep_copy(raw);
    bad |= !raw_inputs;
    int w = head->task == CFX_TASK_MULTICLASS ? (int)K : 1;
    bad |= json_object_set_new(
               sigs, "serving_default",
               json_pack("{s:s, s:{s:o}, s:{s:o}}", "method_name",
                         "tensorflow/serving/predict", "inputs", "examples",
                         tensor_info("DT_STRING", 0), "outputs", "outputs",
                         tensor_info("DT_FLOAT", w))) < 0;
    bad |= json_object_set_new(sigs, "predict_raw",
                               json_pack("{s:s, s:o, s:{s:o}}", "method_name",
                                         "tensorflow/serving/predict", "inputs",
                                         raw_inputs, "outputs", "outputs",
                                         tensor_info("DT_FLOAT", w))) < 0;
    raw_inputs = NULL;
    if (head->task != CFX_TASK_REGRESSION) {
        int nc = (int)head->num_classes;
        bad |= json_object_set_new(
                   sigs, "classify",
                   json_pack("{s:s, s:{s:o}, s:{s:o, s:o}}", "method_name",
                             "tensorflow/serving/classify", "inputs", "inputs",
                             tensor_info("DT_STRING", 0), "outputs", "classes",
                             tensor_info("DT_STRING", nc), "scores",
                             tensor_info("DT_FLOAT", nc))) < 0;
    }
    if (head->task != CFX_TASK_MULTICLASS)
        bad |= json_object_set_new(
                   sigs, "regress",
                   json_pack("{s:s, s:{s:o}, s:{s:o}}", "method_name",
                             "tensorflow/serving/regress", "inputs", "inputs",
                             tensor_info("DT_STRING", 0), "outputs", "outputs",
                             tensor_info("DT_FLOAT", 1))) < 0;
    if (bad) {
        json_decref(sigs);
        return CFX_ENOMEM;
    }
    json_object_set_new(m, "signatures", sigs);
    json_t *net = json_object_get(m, "network");
    if (json_is_object(net)) {
        static const char *const outputs[] = {"sigmoid", "softmax", "linear"};
        bad |= json_object_set_new(
                   net, "num_outputs",
                   json_integer((json_int_t)cfx_head_num_logits(head))) < 0;
        bad |= json_object_set_new(net, "output",
                                   json_string(outputs[head->task])) < 0;
    }
    json_t *h = cfx_head_to_json(head);
    bad |= !h || json_object_set_new(m, "head", h) < 0;
    return bad ? CFX_ENOMEM : 0;
}

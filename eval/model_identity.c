/*
 * model_identity.c: the model.json of a blessing folder — written by the
 * Evaluator and the InfraValidator, checked by the Pusher
 * (eval/model_identity.h).
 */
#include "eval/model_identity.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/buf.h"
#include "formats/file.h"
#include "formats/sha256.h"

/* model.json is a few hundred bytes; refuse anything much larger. */
#define MAX_IDENTITY_BYTES (64u << 10)

int cfx_model_identity_digest(const char *model_dir, char hex[65],
                              cfx_error_t *err) {
    char path[PATH_MAX];
    hex[0] = 0;
    if ((size_t)snprintf(path, sizeof path, "%s/manifest.json", model_dir) >=
        sizeof path)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: path too long", model_dir);
    return cfx_sha256_file_hex(path, UINT64_MAX, hex, NULL, err);
}

int cfx_model_identity_write(const char *blessing_dir, const char *model_dir,
                             cfx_error_t *err) {
    char hex[65], abs_model[PATH_MAX], path[PATH_MAX];
    int ret = 0;
    char *text = NULL;
    json_t *doc = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", blessing_dir,
                         CFX_MODEL_IDENTITY_FILE) >= sizeof path)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: path too long",
                             blessing_dir);
    if (cfx_model_identity_digest(model_dir, hex, NULL))
        hex[0] = 0; /* recorded as null: no push accepts it */
    if (!realpath(model_dir, abs_model))
        snprintf(abs_model, sizeof abs_model, "%s", model_dir);
    doc = json_pack("{s:s,s:o}", "model", abs_model, "manifest_sha256",
                    hex[0] ? json_string(hex) : json_null());
    text = doc ? json_dumps(doc, JSON_SORT_KEYS) : NULL;
    if (!text) {
        ret = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    size_t len = strlen(text);
    char *line = malloc(len + 2);
    if (!line) {
        ret = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    memcpy(line, text, len);
    line[len] = '\n';
    ret = cfx_file_write_atomic(path, line, len + 1, err);
    free(line);
out:
    free(text);
    json_decref(doc);
    return ret;
}

int cfx_model_identity_write_verdict(const char *blessing_dir,
                                     const char *model_dir, int blessed,
                                     const char *yes, const char *no,
                                     const char *text, cfx_error_t *err) {
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", blessing_dir,
                         blessed ? no : yes) >= sizeof path)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: path too long",
                             blessing_dir);
    if (unlink(path) != 0 && errno != ENOENT)
        return cfx_error_set(err, CFX_EIO, "%s: unlink: %s", path,
                             strerror(errno));
    cfx_buf_t line;
    cfx_buf_init(&line);
    int ret = cfx_buf_printf(&line, "%s\n", text);
    if (ret) {
        ret = cfx_error_set(err, ret, "%s: out of memory", blessing_dir);
        goto out;
    }
    snprintf(path, sizeof path, "%s/reason", blessing_dir);
    if ((ret = cfx_file_write_atomic(path, line.data, line.len, err)))
        goto out;
    /* which model this verdict is about, before the verdict itself */
    if ((ret = cfx_model_identity_write(blessing_dir, model_dir, err)))
        goto out;
    snprintf(path, sizeof path, "%s/%s", blessing_dir, blessed ? yes : no);
    ret = cfx_file_write_atomic(path, "", 0, err);
out:
    cfx_buf_free(&line);
    return ret;
}

int cfx_model_identity_check(const char *blessing_dir, const char *model_dir,
                             cfx_error_t *err) {
    char want[65], path[PATH_MAX];
    cfx_buf_t text;
    json_t *doc = NULL;
    int ret;
    cfx_buf_init(&text);
    if ((ret = cfx_model_identity_digest(model_dir, want, err))) {
        cfx_error_prefix(err, "model to push");
        return ret;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", blessing_dir,
                         CFX_MODEL_IDENTITY_FILE) >= sizeof path)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: path too long",
                             blessing_dir);
    cfx_error_t rerr;
    cfx_error_init(&rerr);
    if (cfx_file_read(path, MAX_IDENTITY_BYTES, &text, &rerr)) {
        ret = cfx_error_set(err, CFX_ENOTBLESSED,
                            "blessing %s names no model (%s), so it cannot "
                            "bless %s (manifest sha256 %s); evaluate that "
                            "model again",
                            blessing_dir, rerr.msg, model_dir, want);
        goto out;
    }
    json_error_t je;
    doc = json_loads((const char *)text.data, 0, &je);
    const char *got =
        json_string_value(json_object_get(doc, "manifest_sha256"));
    const char *uri = json_string_value(json_object_get(doc, "model"));
    if (!got) {
        ret = cfx_error_set(err, CFX_ENOTBLESSED,
                            "%s: no manifest_sha256 (%s), so the blessing "
                            "cannot bless %s (manifest sha256 %s)",
                            path, doc ? "null or not a string" : je.text,
                            model_dir, want);
        goto out;
    }
    if (strcmp(got, want)) {
        ret = cfx_error_set(err, CFX_ENOTBLESSED,
                            "blessing %s is for model %s (manifest sha256 "
                            "%s), not for %s (manifest sha256 %s)",
                            blessing_dir, uri ? uri : "(unnamed)", got,
                            model_dir, want);
        goto out;
    }
    ret = 0;
out:
    json_decref(doc);
    cfx_buf_free(&text);
    return ret;
}

/* A bundle's manifest.json and transform.json, parsed. */
static int load_bundle_json(const char *dir, const char *file, json_t **out,
                            cfx_error_t *err) {
    char path[PATH_MAX];
    cfx_buf_t text;
    json_error_t je;
    *out = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: path too long", dir);
    cfx_buf_init(&text);
    int ret = cfx_file_read(path, 64u << 20, &text, err);
    if (ret == 0 &&
        !(*out = json_loadb((const char *)text.data, text.len, 0, &je)))
        ret = cfx_error_set(err, CFX_EPARSE, "%s:%d:%d: %s", path, je.line,
                            je.column, je.text);
    cfx_buf_free(&text);
    return ret;
}

/* The label of a transform graph for a person: "tips_xf = tips > 0.2 *
 * fare", "'species_xf' = species (multiclass, 3 classes)", "'y_xf' = y
 * (regression)". */
static void label_text(const json_t *l, char *out, size_t cap) {
    if (!json_is_object(l)) {
        snprintf(out, cap, "none");
        return;
    }
    const char *name = json_string_value(json_object_get(l, "name"));
    const char *in = json_string_value(json_object_get(l, "input"));
    const char *task = json_string_value(json_object_get(l, "task"));
    if (task) {
        const json_t *v = json_object_get(l, "label_vocabulary");
        if (json_is_array(v))
            snprintf(out, cap, "'%s' = %s (%s, %zu classes)", name ? name : "?",
                     in ? in : "?", task, json_array_size(v));
        else
            snprintf(out, cap, "'%s' = %s (%s)", name ? name : "?",
                     in ? in : "?", task);
        return;
    }
    const char *tin = json_string_value(json_object_get(l, "threshold_input"));
    double scale = json_number_value(json_object_get(l, "threshold_scale"));
    double t = json_number_value(json_object_get(l, "threshold"));
    if (tin)
        snprintf(out, cap, "'%s' = %s > %g * %s", name ? name : "?",
                 in ? in : "?", scale, tin);
    else
        snprintf(out, cap, "'%s' = %s > %g", name ? name : "?", in ? in : "?",
                 t);
}

int cfx_model_identity_comparable(const char *model_dir,
                                  const char *baseline_dir,
                                  const char *signature_name, char *why,
                                  size_t cap, cfx_error_t *err) {
    json_t *cm = NULL, *bm = NULL, *cg = NULL, *bg = NULL;
    int ret;
    why[0] = 0;
    if ((ret = load_bundle_json(model_dir, "manifest.json", &cm, err)) ||
        (ret = load_bundle_json(baseline_dir, "manifest.json", &bm, err)) ||
        (ret = load_bundle_json(model_dir, "transform.json", &cg, err)) ||
        (ret = load_bundle_json(baseline_dir, "transform.json", &bg, err)))
        goto out;
    const json_t *cl = json_object_get(cg, "label"),
                 *bl = json_object_get(bg, "label");
    if (!cl || !bl || !json_equal((json_t *)cl, (json_t *)bl)) {
        char a[256], b[256];
        label_text(cl, a, sizeof a);
        label_text(bl, b, sizeof b);
        snprintf(why, cap,
                 "another label: the candidate's is %s, the baseline's %s", a,
                 b);
        ret = 1;
        goto out;
    }
    const json_t *cs = json_object_get(json_object_get(cm, "signatures"),
                                       signature_name),
                 *bs = json_object_get(json_object_get(bm, "signatures"),
                                       signature_name);
    if (!cs || !bs || !json_equal((json_t *)cs, (json_t *)bs)) {
        snprintf(why, cap,
                 "another signature: '%s' is %s in the candidate, %s in the "
                 "baseline",
                 signature_name, cs ? "present" : "absent",
                 !bs  ? "absent"
                 : cs ? "different"
                      : "present");
        ret = 1;
        goto out;
    }
    const char *cp = json_string_value(
        json_object_get(json_object_get(cm, "training"), "pipeline"));
    const char *bp = json_string_value(
        json_object_get(json_object_get(bm, "training"), "pipeline"));
    if (cp && bp && strcmp(cp, bp)) {
        snprintf(why, cap,
                 "another pipeline: the candidate was trained by pipeline "
                 "'%s', the baseline by '%s'",
                 cp, bp);
        ret = 1;
        goto out;
    }
    ret = 0;
out:
    json_decref(cm);
    json_decref(bm);
    json_decref(cg);
    json_decref(bg);
    return ret;
}

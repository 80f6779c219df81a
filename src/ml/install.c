/*
 * install.c — install one model of the manifest into the store.
 *
 *   npm source: `npm pack` the pinned package, check its integrity, unpack
 *               the files named in the manifest;
 *   url source: download with resume, check the publisher's checksum;
 *   convert:    a TF.js graph model becomes ONNX through scripts/tfjs2onnx.py
 *               (Debian's python3 + onnx). The conversion is deterministic, so
 *               its result must have the manifest's SHA-256; it must also
 *               agree with TF.js itself (scripts/tfjs-reference.js) on the
 *               reference input within the manifest's tolerance.
 *               An ONNX model fixed at one shape ("onnx-fixed-shape") gets a
 *               copy with open batch, height and width
 *               (scripts/onnx_dynamic.py), which must
 *               compute what the package's file computes, batch 1 and 2; the
 *               copy is what runs (its SHA-256 is the manifest's), the
 *               package file's SHA-256 is pinned and recorded beside it.
 *
 * The file is then checked against the manifest's SHA-256 and moved into
 * place with the safe-output API; the install record is written last, so a
 * failure at any step leaves the store as it was. Scratch files live in a
 * hidden folder inside the store (same file system: the final move is a
 * rename) and are removed on every path out.
 */
#include "ml/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

char *pk_tool_path(const char *name)
{
    const char *dirs[] = {getenv("POSTKIT_TOOLS_DIR"), PK_SOURCE_TOOLS_DIR, PK_INSTALLED_TOOLS_DIR};
    for (size_t i = 0; i < PK_ARRAY_LEN(dirs); i++) {
        char *p;
        if (!dirs[i] || !*dirs[i] || asprintf(&p, "%s/%s", dirs[i], name) < 0)
            continue;
        if (exists(p))
            return p;
        free(p);
    }
    return NULL;
}

char *pk_tfjs_dir(void)
{
    const char *env = getenv("POSTKIT_TFJS_DIR");
    const char *dir = env && *env ? env : PK_SOURCE_TFJS_DIR;
    char *probe;
    if (asprintf(&probe, "%s/node_modules/@tensorflow/tfjs", dir) < 0)
        return NULL;
    bool ok = exists(probe);
    free(probe);
    return ok ? strdup(dir) : NULL;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void pk_remove_tree(const char *dir)
{
    if (dir)
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Move `written` (a finished file in the target's file system) to `path`
 * through the safe-output API: it is made durable, then linked into place
 * atomically, replacing an older copy. */
static pk_status publish(pk_ctx *ctx, const char *written, const char *path)
{
    int fd = open(written, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pk_fail(ctx, PK_ERR_OUTPUT, written, "cannot open: %s", strerror(errno));
    int synced = fsync(fd);
    close(fd);
    if (synced != 0)
        return pk_fail(ctx, PK_ERR_OUTPUT, written, "cannot write: %s", strerror(errno));
    pk_safe_file *f;
    pk_status st = pk_safe_open(ctx, path, true, &f);
    if (st != PK_OK)
        return st;
    if (rename(written, pk_safe_tmp_path(f)) != 0) {
        int e = errno;
        pk_safe_abort(f);
        return pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot move the new file into place: %s", strerror(e));
    }
    return pk_safe_commit(ctx, f);
}

/* Unpack the manifest's files of an npm source into `scratch`. */
static pk_status unpack(pk_ctx *ctx, const char *tgz, const json_t *files, const char *scratch)
{
    size_t n = json_array_size(files);
    char **argv = calloc(n + 8, sizeof *argv);
    if (!argv)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    size_t k = 0;
    argv[k++] = "tar";
    argv[k++] = "-xzf";
    argv[k++] = (char *)tgz;
    argv[k++] = "-C";
    argv[k++] = (char *)scratch;
    argv[k++] = "--no-same-owner";
    size_t first_member = k;
    pk_status st = PK_OK;
    for (size_t i = 0; i < n && st == PK_OK; i++)
        if (asprintf(&argv[k++], "package/%s", json_string_value(json_array_get(files, i))) < 0)
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK) {
        char *log;
        if (asprintf(&log, "%s/tar.log", scratch) < 0)
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        else {
            st = pk_spawn(ctx, argv, NULL, log, "unpacking the package", PK_ERR_INPUT);
            free(log);
        }
    }
    for (size_t i = first_member; i < k; i++)
        free(argv[i]);
    free(argv);
    return st;
}

static void free_inputs(pk_tensor *in, size_t n)
{
    for (size_t i = 0; in && i < n; i++)
        free(in[i].data);
    free(in);
}

/* The reference inputs of `m`, shaped as the inputs of `like` (m itself,
 * or the fixed-shape model m was derived from): every float input filled
 * with the pattern, open dimensions 1 except an open batch (the first),
 * which is `batch` copies of the batch-1 pattern. *out is a new array of
 * pk_model_input_count(m) tensors (free with free_inputs). */
static pk_status pattern_inputs(pk_ctx *ctx, const pk_model *m, const pk_model *like, int64_t batch,
                                pk_tensor **out)
{
    size_t n_in = pk_model_input_count(m);
    pk_tensor *in = calloc(n_in + 1, sizeof *in);
    pk_status st = in ? PK_OK : pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; st == PK_OK && i < n_in; i++) {
        const pk_tensor_info *info = pk_model_input(like, i);
        if (info->type != PK_TENSOR_FLOAT32) {
            st = pk_fail(ctx, PK_ERR_INTERNAL, pk_model_path(m), "reference check needs float inputs");
            break;
        }
        in[i].type = PK_TENSOR_FLOAT32;
        in[i].rank = info->rank;
        for (int d = 0; d < info->rank; d++)
            in[i].dims[d] = info->dims[d] > 0 ? info->dims[d] : 1;
        size_t one = pk_tensor_count(&in[i]);
        if (info->rank > 0 && pk_model_input(m, i)->dims[0] <= 0)
            in[i].dims[0] = batch;
        in[i].data = malloc(pk_tensor_count(&in[i]) * sizeof(float));
        if (!in[i].data) {
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
            break;
        }
        for (size_t k = 0; k < pk_tensor_count(&in[i]); k += one)
            pk_ml_pattern((float *)in[i].data + k, one);
    }
    if (st != PK_OK) {
        free_inputs(in, n_in);
        in = NULL;
    }
    *out = in;
    return st;
}

/* Read a JSON reference written by scripts/tfjs-reference.js and compare the
 * model's outputs on the same input. Adds {output: error} to `errors`. */
static pk_status compare_reference(pk_ctx *ctx, pk_model *m, const char *ref_path, double tolerance,
                                   json_t *errors)
{
    json_error_t jerr;
    json_t *ref = json_load_file(ref_path, 0, &jerr);
    if (!ref)
        return pk_fail(ctx, PK_ERR_INTERNAL, ref_path, "unreadable TF.js reference: %s", jerr.text);
    size_t n_in = pk_model_input_count(m), n_out = pk_model_output_count(m);
    pk_tensor *in = NULL, *out = calloc(n_out, sizeof *out);
    pk_status st = out ? pattern_inputs(ctx, m, m, 1, &in) : pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK)
        st = pk_model_run(ctx, m, in, n_in, out, n_out);
    for (size_t i = 0; st == PK_OK && i < n_out; i++) {
        const char *name = pk_model_output(m, i)->name;
        json_t *r = json_object_get(json_object_get(ref, "outputs"), name);
        json_t *data = json_object_get(r, "data");
        size_t count = pk_tensor_count(&out[i]);
        if (!json_is_array(data) || json_array_size(data) != count) {
            st = pk_fail(ctx, PK_ERR_INPUT, pk_model_path(m),
                         "TF.js gave %zu values for output '%s', the ONNX model %zu",
                         json_array_size(data), name, count);
            break;
        }
        float *want = malloc(count * sizeof *want);
        if (!want) {
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
            break;
        }
        for (size_t k = 0; k < count; k++)
            want[k] = (float)json_number_value(json_array_get(data, k));
        double err = pk_ml_relative_error(out[i].data, want, count);
        free(want);
        json_object_set_new(errors, name, json_real(err));
        if (!(err <= tolerance))
            st = pk_fail(ctx, PK_ERR_INPUT, pk_model_path(m),
                         "converted model disagrees with TF.js on output '%s': max relative error "
                         "%.3g > %.3g; not installed",
                         name, err, tolerance);
    }
    free_inputs(in, n_in);
    for (size_t i = 0; out && i < n_out; i++)
        pk_tensor_clear(&out[i]);
    free(out);
    json_decref(ref);
    return st;
}

/* Convert a TF.js graph model to ONNX in `scratch` and check it against
 * TF.js. *onnx_out is a new allocation. Adds the reference errors to rec. */
static pk_status convert_tfjs(pk_ctx *ctx, const json_t *entry, const char *model_json,
                              const char *scratch, char **onnx_out, json_t *rec)
{
    const char *id = pk_entry_str(entry, "id");
    char *converter = pk_tool_path("tfjs2onnx.py");
    char *runner = pk_tool_path("tfjs-reference.js");
    char *tfjs = pk_tfjs_dir();
    char *onnx = NULL, *ref = NULL, *log = NULL;
    pk_model *m = NULL;
    pk_status st = PK_OK;
    if (!converter || !runner)
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL,
                     "model '%s': the TF.js converter scripts are missing (set POSTKIT_TOOLS_DIR)", id);
    else if (!tfjs)
        st = pk_fail(ctx, PK_ERR_INPUT, NULL,
                     "model '%s': TF.js, needed to check the conversion, is missing (run scripts/setup, "
                     "or set POSTKIT_TFJS_DIR)", id);
    else if (asprintf(&onnx, "%s/converted.onnx", scratch) < 0 ||
             asprintf(&ref, "%s/reference.json", scratch) < 0 ||
             asprintf(&log, "%s/convert.log", scratch) < 0)
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK) {
        /* Debian's interpreter, which has python3-onnx; the first python3 on
         * PATH may be another installation. */
        char *argv[] = {"/usr/bin/python3", converter, (char *)model_json, onnx, NULL};
        st = pk_spawn(ctx, argv, NULL, log, "converting the TF.js model to ONNX", PK_ERR_INPUT);
    }
    if (st == PK_OK) {
        const char *want = pk_entry_str(entry, "sha256");
        char got[65];
        st = pk_sha256_file(ctx, onnx, got);
        if (st == PK_OK && strcmp(got, want) != 0)
            st = pk_fail(ctx, PK_ERR_INPUT, onnx,
                         "model '%s': the conversion gave SHA-256 %s, the manifest pins %s; not "
                         "installed", id, got, want);
    }
    if (st == PK_OK)
        st = pk_model_open_file(ctx, onnx, id, pk_entry_str(entry, "version"), NULL, &m);
    if (st == PK_OK) {
        /* The runner computes the same pattern input for the model's inputs
         * and evaluates the requested outputs with TF.js's CPU backend. */
        size_t n_out = pk_model_output_count(m);
        char **argv = calloc(n_out + 8, sizeof *argv);
        if (!argv) {
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        } else {
            size_t k = 0;
            argv[k++] = "node";
            argv[k++] = runner;
            argv[k++] = tfjs;
            argv[k++] = (char *)model_json;
            argv[k++] = ref;
            for (size_t i = 0; i < n_out; i++)
                argv[k++] = (char *)pk_model_output(m, i)->name;
            st = pk_spawn(ctx, argv, NULL, log, "computing the TF.js reference output", PK_ERR_INPUT);
            free(argv);
        }
    }
    if (st == PK_OK) {
        const json_t *tol = json_object_get(json_object_get(entry, "convert"), "max_relative_error");
        json_t *errors = json_object();
        st = compare_reference(ctx, m, ref, tol ? json_number_value(tol) : 1e-4, errors);
        json_t *check = json_object();
        json_object_set_new(check, "reference", json_string("@tensorflow/tfjs (cpu backend)"));
        json_object_set_new(check, "input", json_string("pattern ((i*7919) mod 1000)/1000, batch 1"));
        json_object_set_new(check, "max_relative_error", errors);
        json_object_set_new(rec, "conversion_check", check);
    }
    pk_model_free(m);
    free(converter);
    free(runner);
    free(tfjs);
    free(ref);
    free(log);
    if (st == PK_OK)
        *onnx_out = onnx;
    else
        free(onnx);
    return st;
}

/* The largest relative error between `got` (batch `batch`, each item
 * compared) and `want` (batch 1) on one output; -1 when the shapes do not
 * fit. */
static double batch_error(const pk_tensor *got, const pk_tensor *want, int64_t batch)
{
    size_t one = pk_tensor_count(want);
    if (got->type != PK_TENSOR_FLOAT32 || want->type != PK_TENSOR_FLOAT32 || pk_tensor_count(got) != one * (size_t)batch)
        return -1;
    double worst = 0;
    for (int64_t b = 0; b < batch; b++) {
        double e = pk_ml_relative_error((const float *)got->data + (size_t)b * one, want->data, one);
        if (e > worst || e != e)
            worst = e;
    }
    return worst;
}

/* Derive a copy of a fixed-shape ONNX model with open batch, height and
 * width (scripts/onnx_dynamic.py)
 * in `scratch` and check that it computes what the package's file computes:
 * on the reference input, batch 1 and batch 2, every output within the
 * manifest's tolerance of the original's batch-1 output. *onnx_out is a new
 * allocation. Records the package file's SHA-256 and the errors in rec. */
static pk_status derive_open_shape(pk_ctx *ctx, const json_t *entry, const char *original,
                                   const char *scratch, char **onnx_out, json_t *rec)
{
    const char *id = pk_entry_str(entry, "id");
    const json_t *conv = json_object_get(entry, "convert");
    char *tool = pk_tool_path("onnx_dynamic.py");
    char *derived = NULL, *log = NULL;
    char source_sha[65];
    pk_model *orig = NULL, *m = NULL;
    pk_status st = PK_OK;
    if (!tool)
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL,
                     "model '%s': scripts/onnx_dynamic.py is missing (set POSTKIT_TOOLS_DIR)", id);
    else if (asprintf(&derived, "%s/derived.onnx", scratch) < 0 || asprintf(&log, "%s/derive.log", scratch) < 0)
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    /* The package's file is the one the manifest names as the source. */
    if (st == PK_OK)
        st = pk_sha256_file(ctx, original, source_sha);
    if (st == PK_OK && strcmp(source_sha, pk_entry_str(conv, "source_sha256")) != 0)
        st = pk_fail(ctx, PK_ERR_INPUT, original,
                     "model '%s': the package's file has SHA-256 %s, the manifest pins %s; not installed", id,
                     source_sha, pk_entry_str(conv, "source_sha256"));
    if (st == PK_OK) {
        char *argv[] = {"/usr/bin/python3", tool, (char *)original, derived, NULL};
        st = pk_spawn(ctx, argv, NULL, log, "deriving the open-shape model", PK_ERR_INPUT);
    }
    if (st == PK_OK)
        st = pk_model_open_file(ctx, original, id, pk_entry_str(entry, "version"), NULL, &orig);
    if (st == PK_OK)
        st = pk_model_open_file(ctx, derived, id, pk_entry_str(entry, "version"), NULL, &m);
    size_t n_in = orig ? pk_model_input_count(orig) : 0, n_out = orig ? pk_model_output_count(orig) : 0;
    if (st == PK_OK && (pk_model_input_count(m) != n_in || pk_model_output_count(m) != n_out))
        st = pk_fail(ctx, PK_ERR_INPUT, derived, "model '%s': the derived model has other inputs or outputs", id);
    if (st == PK_OK && pk_model_max_batch(m) != 0)
        st = pk_fail(ctx, PK_ERR_INPUT, derived, "model '%s': the derived model's shape is still fixed", id);
    pk_tensor *ref = calloc(n_out + 1, sizeof *ref), *got = calloc(n_out + 1, sizeof *got);
    json_t *errors = json_object();
    if (st == PK_OK && (!ref || !got))
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    pk_tensor *in = NULL;
    if (st == PK_OK)
        st = pattern_inputs(ctx, orig, orig, 1, &in);
    if (st == PK_OK)
        st = pk_model_run(ctx, orig, in, n_in, ref, n_out);
    free_inputs(in, n_in);
    double tol = json_number_value(json_object_get(conv, "max_relative_error"));
    for (int64_t batch = 1; batch <= 2 && st == PK_OK; batch++) {
        in = NULL;
        st = pattern_inputs(ctx, m, orig, batch, &in);
        if (st == PK_OK)
            st = pk_model_run(ctx, m, in, n_in, got, n_out);
        free_inputs(in, n_in);
        for (size_t i = 0; st == PK_OK && i < n_out; i++) {
            const char *name = pk_model_output(m, i)->name;
            double err = batch_error(&got[i], &ref[i], batch);
            const json_t *before = json_object_get(errors, name);
            if (!before || err > json_real_value(before))
                json_object_set_new(errors, name, json_real(err));
            if (err < 0 || !(err <= tol))
                st = pk_fail(ctx, PK_ERR_INPUT, derived,
                             "model '%s': the derived model disagrees with the package's on output '%s' "
                             "(batch %lld): max relative error %.3g > %.3g; not installed",
                             id, name, (long long)batch, err, tol);
        }
        for (size_t i = 0; i < n_out; i++)
            pk_tensor_clear(&got[i]);
    }
    for (size_t i = 0; ref && i < n_out; i++)
        pk_tensor_clear(&ref[i]);
    if (st == PK_OK) {
        json_t *from = json_object();
        json_object_set(from, "file", json_array_get(json_object_get(json_object_get(entry, "source"), "files"), 0));
        json_object_set_new(from, "sha256", json_string(source_sha));
        json_object_set_new(from, "tool", json_string("scripts/onnx_dynamic.py"));
        json_object_set_new(rec, "derived_from", from);
        json_t *check = json_object();
        json_object_set_new(check, "reference", json_string("the package's file (ONNX Runtime)"));
        json_object_set_new(check, "input", json_string("pattern ((i*7919) mod 1000)/1000, batch 1 and 2"));
        json_object_set_new(check, "max_relative_error", json_incref(errors));
        json_object_set_new(rec, "conversion_check", check);
    }
    json_decref(errors);
    free(ref);
    free(got);
    pk_model_free(orig);
    pk_model_free(m);
    free(tool);
    free(log);
    if (st == PK_OK)
        *onnx_out = derived;
    else
        free(derived);
    return st;
}

/* The verified tarball of `spec`: packed into `packs` once per run and
 * reused by the next model from the same package, or packed into scratch
 * when there is no `packs` folder. *tgz_out is new; *owned says whether the
 * caller deletes it. */
static pk_status get_tarball(pk_ctx *ctx, const char *spec, const char *integrity, const char *packs,
                             const char *scratch, char **tgz_out, bool *owned)
{
    *owned = packs == NULL;
    if (!packs)
        return pk_npm_pack(ctx, spec, integrity, scratch, tgz_out);
    char *dir;
    if (asprintf(&dir, "%s/%s", packs, integrity + strlen("sha512-")) < 0)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    for (char *c = dir + strlen(packs) + 1; *c; c++)
        if (*c == '/')
            *c = '_'; /* base64 may contain a slash */
    char *done;
    if (asprintf(&done, "%s/verified.tgz", dir) < 0) {
        free(dir);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    pk_status st = PK_OK;
    if (!exists(done)) {
        char *tgz = NULL;
        st = pk_mkdirs(ctx, dir);
        if (st == PK_OK)
            st = pk_npm_pack(ctx, spec, integrity, dir, &tgz);
        if (st == PK_OK && rename(tgz, done) != 0)
            st = pk_fail(ctx, PK_ERR_OUTPUT, done, "cannot keep the package: %s", strerror(errno));
        free(tgz);
    }
    free(dir);
    if (st != PK_OK) {
        free(done);
        return st;
    }
    *tgz_out = done;
    return PK_OK;
}

/* Fetch an npm source into scratch and produce the run-time file there. */
static pk_status install_npm(pk_ctx *ctx, const json_t *entry, const char *packs, const char *scratch,
                             char **file_out, json_t *rec)
{
    const json_t *src = json_object_get(entry, "source");
    const json_t *files = json_object_get(src, "files");
    char *spec = NULL, *tgz = NULL;
    if (!json_is_array(files) || json_array_size(files) == 0)
        return pk_fail(ctx, PK_ERR_INPUT, NULL, "model '%s': the manifest names no file in its package",
                       pk_entry_str(entry, "id"));
    if (asprintf(&spec, "%s@%s", pk_entry_str(src, "package"), pk_entry_str(src, "version")) < 0)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    pk_log(ctx, PK_LOG_INFO, "%s: fetching %s", pk_entry_str(entry, "id"), spec);
    bool owned = false;
    pk_status st = get_tarball(ctx, spec, pk_entry_str(src, "integrity"), packs, scratch, &tgz, &owned);
    if (st == PK_OK)
        st = unpack(ctx, tgz, files, scratch);
    char *first = NULL;
    if (st == PK_OK &&
        asprintf(&first, "%s/package/%s", scratch, json_string_value(json_array_get(files, 0))) < 0)
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK) {
        const char *conv = pk_entry_str(json_object_get(entry, "convert"), "from");
        if (strcmp(conv, "tfjs-graph") == 0) {
            st = convert_tfjs(ctx, entry, first, scratch, file_out, rec);
            free(first);
        } else if (strcmp(conv, "onnx-fixed-shape") == 0) {
            st = derive_open_shape(ctx, entry, first, scratch, file_out, rec);
            free(first);
        } else if (!*conv) {
            *file_out = first;
        } else {
            st = pk_fail(ctx, PK_ERR_INPUT, NULL, "model '%s': unknown conversion '%s'",
                         pk_entry_str(entry, "id"), conv);
            free(first);
        }
    }
    if (tgz && owned)
        unlink(tgz);
    free(tgz);
    free(spec);
    return st;
}

static pk_status write_record(pk_ctx *ctx, const char *store, const json_t *entry, json_t *rec,
                              const char *sha256, int64_t size)
{
    char now[32];
    pk_iso8601_now(now);
    json_object_set_new(rec, "id", json_string(pk_entry_str(entry, "id")));
    json_object_set_new(rec, "version", json_string(pk_entry_str(entry, "version")));
    json_object_set_new(rec, "file", json_string(pk_entry_str(entry, "file")));
    json_object_set_new(rec, "size", json_integer(size));
    json_object_set_new(rec, "sha256", json_string(sha256));
    json_object_set(rec, "source", json_object_get(entry, "source"));
    json_object_set_new(rec, "installed_at", json_string(now));
    char by[64];
    snprintf(by, sizeof by, "postkit %s", pk_version());
    json_object_set_new(rec, "installed_by", json_string(by));
    char *text = json_dumps(rec, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
    char *path = pk_store_record_path(store, pk_entry_str(entry, "id"));
    pk_status st = text && path ? pk_safe_write_all(ctx, path, text, strlen(text), true)
                                : pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    free(text);
    free(path);
    return st;
}

pk_status pk_model_install(pk_ctx *ctx, const json_t *entry, const char *store, const char *packs,
                           bool reinstall, bool *installed_now)
{
    *installed_now = false;
    const char *id = pk_entry_str(entry, "id");
    const char *file = pk_entry_str(entry, "file");
    if (!*id || !*file || strchr(id, '/') || strchr(file, '/') || id[0] == '.' || file[0] == '.')
        return pk_fail(ctx, PK_ERR_INPUT, NULL, "model '%s': bad manifest entry (id or file)", id);
    const char *state;
    char sha[65];
    int64_t size;
    pk_status st = pk_store_check(ctx, store, entry, &state, sha, &size);
    if (st != PK_OK)
        return st;
    if (strcmp(state, "ok") == 0 && !reinstall)
        return PK_OK;

    char *dir = pk_store_model_dir(store, id);
    char *target = pk_store_model_file(store, entry);
    char *scratch = NULL, *ready = NULL;
    json_t *rec = json_object();
    if (!dir || !target || !rec || asprintf(&scratch, "%s/.install-%s-XXXXXX", store, id) < 0) {
        scratch = NULL;
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    if (st == PK_OK)
        st = pk_mkdirs(ctx, dir);
    if (st == PK_OK && !mkdtemp(scratch)) {
        st = pk_fail(ctx, PK_ERR_OUTPUT, store, "cannot create a scratch folder: %s", strerror(errno));
        free(scratch);
        scratch = NULL;
    }
    const char *kind = pk_entry_source_kind(entry);
    if (st == PK_OK && strcmp(kind, "npm") == 0) {
        st = install_npm(ctx, entry, packs, scratch, &ready, rec);
    } else if (st == PK_OK && strcmp(kind, "url") == 0) {
        const json_t *src = json_object_get(entry, "source");
        const json_t *sum = json_object_get(src, "checksum");
        if (asprintf(&ready, "%s/.%s.part", dir, file) < 0) {
            ready = NULL;
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        } else {
            pk_log(ctx, PK_LOG_INFO, "%s: downloading %s", id, pk_entry_str(src, "url"));
            st = pk_url_download(ctx, pk_entry_str(src, "url"), ready, pk_entry_str(sum, "algorithm"),
                                 pk_entry_str(sum, "value"));
        }
    } else if (st == PK_OK) {
        st = pk_fail(ctx, PK_ERR_INPUT, NULL, "model '%s': unknown source kind '%s'", id, kind);
    }
    /* Whatever the source, the file must be the one the manifest pins (a
     * URL source's publisher lists another checksum, checked above; its
     * SHA-256 is recorded now for the checks at load time). */
    struct stat sb;
    if (st == PK_OK)
        st = pk_sha256_file(ctx, ready, sha);
    if (st == PK_OK) {
        const char *want = json_string_value(json_object_get(entry, "sha256"));
        if (want && strcmp(want, sha) != 0)
            st = pk_fail(ctx, PK_ERR_INPUT, NULL,
                         "model '%s': the fetched file has SHA-256 %s, the manifest pins %s; not installed",
                         id, sha, want);
    }
    if (st == PK_OK && stat(ready, &sb) != 0)
        st = pk_fail(ctx, PK_ERR_INTERNAL, ready, "vanished: %s", strerror(errno));
    if (st == PK_OK) {
        size = (int64_t)sb.st_size;
        st = publish(ctx, ready, target);
    }
    if (st == PK_OK)
        st = write_record(ctx, store, entry, rec, sha, size);
    if (st == PK_OK)
        *installed_now = true;
    pk_remove_tree(scratch);
    if (st != PK_OK && dir)
        rmdir(dir); /* only when empty: a failed first install leaves no trace */
    json_decref(rec);
    free(scratch);
    free(ready);
    free(target);
    free(dir);
    return st;
}

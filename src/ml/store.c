/*
 * store.c — the model store: the manifest, where models live, and opening an
 * installed model by id after checking it is the file the manifest names.
 *
 * Verification hashes the whole file on every open rather than trusting a
 * cached (size, mtime) pair: SHA-256 runs at about 1.5 GB/s here (OpenSSL,
 * SHA extensions), so the face and voice models (0.4–7 MB each) cost a few
 * milliseconds, far below the time their sessions take to build; and the
 * hashed bytes are the very bytes the runtime loads (see ort.c), which a
 * cache keyed on file metadata could not promise.
 */
#include "ml/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const char *const pk_manifest_json; /* generated from models/manifest.json */

pk_status pk_manifest_load(pk_ctx *ctx, json_t **out)
{
    json_error_t err;
    const char *override = getenv("POSTKIT_MANIFEST");
    json_t *m = override && *override ? json_load_file(override, 0, &err)
                                      : json_loads(pk_manifest_json, 0, &err);
    const char *name = override && *override ? override : "built-in model manifest";
    if (!m)
        return pk_fail(ctx, PK_ERR_INPUT, name, "cannot read the manifest: %s (line %d)", err.text,
                       err.line);
    if (!json_is_array(json_object_get(m, "models"))) {
        json_decref(m);
        return pk_fail(ctx, PK_ERR_INPUT, name, "not a model manifest (no \"models\" list)");
    }
    *out = m;
    return PK_OK;
}

json_t *pk_manifest_find(json_t *manifest, const char *id)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(manifest, "models"), i, e)
    {
        const char *eid = json_string_value(json_object_get(e, "id"));
        if (eid && strcmp(eid, id) == 0)
            return e;
    }
    return NULL;
}

const char *pk_entry_str(const json_t *entry, const char *key)
{
    const char *s = json_string_value(json_object_get(entry, key));
    return s ? s : "";
}

const char *pk_entry_source_kind(const json_t *entry)
{
    return pk_entry_str(json_object_get(entry, "source"), "kind");
}

bool pk_entry_is_default(const json_t *entry)
{
    const json_t *d = json_object_get(entry, "default");
    return d ? json_is_true(d) : strcmp(pk_entry_source_kind(entry), "npm") == 0;
}

char *pk_models_dir(void)
{
    const char *env = getenv("POSTKIT_MODELS");
    char *out = NULL;
    if (env && *env) {
        out = strdup(env);
    } else {
        const char *xdg = getenv("XDG_DATA_HOME");
        const char *home = getenv("HOME");
        if (xdg && *xdg == '/') {
            if (asprintf(&out, "%s/postkit/models", xdg) < 0)
                out = NULL;
        } else if (home && *home) {
            if (asprintf(&out, "%s/.local/share/postkit/models", home) < 0)
                out = NULL;
        }
    }
    if (out) {
        size_t n = strlen(out);
        while (n > 1 && out[n - 1] == '/')
            out[--n] = '\0';
    }
    return out;
}

char *pk_store_model_dir(const char *store, const char *id)
{
    char *p;
    return asprintf(&p, "%s/%s", store, id) < 0 ? NULL : p;
}

char *pk_store_model_file(const char *store, const json_t *entry)
{
    char *p;
    return asprintf(&p, "%s/%s/%s", store, pk_entry_str(entry, "id"), pk_entry_str(entry, "file")) < 0
               ? NULL
               : p;
}

char *pk_store_record_path(const char *store, const char *id)
{
    char *p;
    return asprintf(&p, "%s/%s/installed.json", store, id) < 0 ? NULL : p;
}

pk_status pk_store_read_record(pk_ctx *ctx, const char *store, const char *id, json_t **out)
{
    *out = NULL;
    char *path = pk_store_record_path(store, id);
    if (!path)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    pk_status st = PK_OK;
    if (access(path, F_OK) == 0) {
        json_error_t err;
        *out = json_load_file(path, 0, &err);
        if (!*out || !json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            st = pk_fail(ctx, PK_ERR_INPUT, path, "unreadable install record: %s (%s %s)", err.text,
                         PK_INSTALL_HINT, id);
        }
    }
    free(path);
    return st;
}

const char *pk_entry_expected_sha256(const json_t *entry, const json_t *record)
{
    const char *s = json_string_value(json_object_get(entry, "sha256"));
    if (s && *s)
        return s;
    s = json_string_value(json_object_get(record, "sha256"));
    return s && *s ? s : NULL;
}

pk_status pk_store_check(pk_ctx *ctx, const char *store, const json_t *entry, const char **state,
                         char sha256_out[65], int64_t *size_out)
{
    const char *id = pk_entry_str(entry, "id");
    char *path = pk_store_model_file(store, entry);
    if (!path)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    sha256_out[0] = '\0';
    *size_out = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        *state = "not installed";
        pk_fail(ctx, PK_ERR_INPUT, path, "model '%s' is not installed (%s %s)", id, PK_INSTALL_HINT, id);
        free(path);
        return PK_OK;
    }
    *size_out = (int64_t)st.st_size;
    json_t *record = NULL;
    pk_status s = pk_store_read_record(ctx, store, id, &record);
    if (s == PK_OK)
        s = pk_sha256_file(ctx, path, sha256_out);
    if (s != PK_OK) {
        json_decref(record);
        free(path);
        return s;
    }
    const char *want = pk_entry_expected_sha256(entry, record);
    if (!want) {
        *state = "altered";
        pk_fail(ctx, PK_ERR_INPUT, path, "model '%s' has no install record to check it against (%s %s)",
                id, PK_INSTALL_HINT, id);
    } else if (strcmp(want, sha256_out) != 0) {
        *state = "altered";
        pk_fail(ctx, PK_ERR_INPUT, path,
                "model '%s' is altered or corrupt: SHA-256 %.12s… instead of %.12s… (%s %s)", id,
                sha256_out, want, PK_INSTALL_HINT, id);
    } else {
        *state = "ok";
    }
    json_decref(record);
    free(path);
    return PK_OK;
}

/* Find the installed file of `id` and the SHA-256 it must have. On PK_OK
 * *path, *want and *version are new allocations the caller frees. */
static pk_status locate(pk_ctx *ctx, const char *id, char **path_out, char **want_out, char **version_out)
{
    *path_out = *want_out = *version_out = NULL;
    json_t *manifest;
    pk_status st = pk_manifest_load(ctx, &manifest);
    if (st != PK_OK)
        return st;
    json_t *entry = pk_manifest_find(manifest, id);
    char *store = pk_models_dir();
    char *path = store && entry ? pk_store_model_file(store, entry) : NULL;
    json_t *record = NULL;
    if (!entry) {
        st = pk_fail(ctx, PK_ERR_INPUT, NULL, "unknown model '%s' (see: postkit models)", id);
    } else if (!store) {
        st = pk_fail(ctx, PK_ERR_INPUT, NULL,
                     "no model folder: set POSTKIT_MODELS, XDG_DATA_HOME or HOME");
    } else if (!path) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    } else if (access(path, F_OK) != 0) {
        st = pk_fail(ctx, PK_ERR_INPUT, path, "model '%s' is not installed (%s %s)", id,
                     PK_INSTALL_HINT, id);
    } else if ((st = pk_store_read_record(ctx, store, id, &record)) == PK_OK) {
        const char *want = pk_entry_expected_sha256(entry, record);
        if (!want) {
            st = pk_fail(ctx, PK_ERR_INPUT, path,
                         "model '%s' has no install record to check it against (%s %s)", id,
                         PK_INSTALL_HINT, id);
        } else if (!(*want_out = strdup(want)) || !(*version_out = strdup(pk_entry_str(entry, "version")))) {
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        } else {
            *path_out = path;
            path = NULL;
        }
    }
    if (st != PK_OK) {
        free(*want_out);
        free(*version_out);
        *want_out = *version_out = NULL;
    }
    json_decref(record);
    json_decref(manifest);
    free(path);
    free(store);
    return st;
}

pk_status pk_model_open(pk_ctx *ctx, const char *id, pk_model **out)
{
    *out = NULL;
    char *path, *want, *version;
    pk_status st = locate(ctx, id, &path, &want, &version);
    if (st != PK_OK)
        return st;
    st = pk_model_open_file(ctx, path, id, version, want, out);
    free(path);
    free(want);
    free(version);
    return st;
}

pk_status pk_model_read(pk_ctx *ctx, const char *id, pk_model_bytes *out)
{
    memset(out, 0, sizeof *out);
    char *path, *want, *version;
    pk_status st = locate(ctx, id, &path, &want, &version);
    if (st != PK_OK)
        return st;
    st = pk_model_read_file(ctx, path, id, want, out);
    if (st == PK_OK) {
        out->version = version;
        version = NULL;
    }
    free(path);
    free(want);
    free(version);
    return st;
}

pk_status pk_run_open_model(pk_run *run, const char *id, pk_model **out)
{
    pk_status st = pk_model_open(pk_run_ctx(run), id, out);
    if (st != PK_OK)
        return st;
    st = pk_run_add_model(run, id, pk_model_version(*out), pk_model_sha256(*out));
    if (st != PK_OK) {
        pk_model_free(*out);
        *out = NULL;
    }
    return st;
}


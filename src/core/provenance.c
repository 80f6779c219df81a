/*
 * provenance.c — the record that lets a result be reproduced months later.
 *
 * Every file postkit writes gets "<file>.postkit.json": the postkit version
 * and git revision, the operation, every parameter value (defaults
 * included), each input's path, size and SHA-256, the models used (id,
 * version, SHA-256), the output's own SHA-256 and the start/end times.
 * A sidecar works for every format, including those with no metadata slot.
 */
#include "core/internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROVENANCE_FORMAT 1

struct pk_provenance {
    const pk_op *op;
    json_t *params;
    json_t *inputs;    /* hashed on first write */
    bool hashed;
    json_t *models;
    char started[32];
};

static json_t *file_entry(const char *path)
{
    json_t *e = json_object();
    char abs[PATH_MAX];
    json_object_set_new(e, "path", pk_json_string(realpath(path, abs) ? abs : path));
    return e;
}

pk_provenance *pk_provenance_new(const pk_op *op, const pk_args *args)
{
    pk_provenance *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->op = op;
    p->params = pk_args_to_json(args);
    p->inputs = json_array();
    p->models = json_array();
    pk_iso8601_now(p->started);
    for (size_t i = 0; i < pk_args_input_count(args); i++)
        json_array_append_new(p->inputs, file_entry(pk_args_input(args, i)));
    /* Files named by options (--ref, --transcript) are inputs too. */
    for (const pk_param_spec *s = op->params; s && s->name; s++) {
        if (s->type != PK_PARAM_PATH_IN)
            continue;
        const pk_arg_value *v = pk_args_value(args, s->name, PK_PARAM_PATH_IN);
        for (size_t k = 0; k < v->nstrs; k++)
            json_array_append_new(p->inputs, file_entry(v->strs[k]));
    }
    return p;
}

void pk_provenance_free(pk_provenance *p)
{
    if (!p)
        return;
    json_decref(p->params);
    json_decref(p->inputs);
    json_decref(p->models);
    free(p);
}

pk_status pk_provenance_add_model(pk_provenance *p, const char *id, const char *version,
                                  const char *sha256)
{
    size_t i;
    json_t *m;
    json_array_foreach(p->models, i, m) if (strcmp(json_string_value(json_object_get(m, "id")), id) == 0)
        return PK_OK;
    m = json_object();
    json_object_set_new(m, "id", pk_json_string(id));
    json_object_set_new(m, "version", pk_json_string(version ? version : ""));
    json_object_set_new(m, "sha256", pk_json_string(sha256 ? sha256 : ""));
    json_array_append_new(p->models, m);
    return PK_OK;
}

/* Fill size and sha256 of a file entry. */
static pk_status hash_entry(pk_ctx *ctx, json_t *entry)
{
    const char *path = json_string_value(json_object_get(entry, "path"));
    struct stat st;
    if (stat(path, &st) == 0)
        json_object_set_new(entry, "size", json_integer((json_int_t)st.st_size));
    char hex[65];
    pk_status s = pk_sha256_file(ctx, path, hex);
    if (s != PK_OK)
        return s;
    json_object_set_new(entry, "sha256", json_string(hex));
    return PK_OK;
}

char *pk_provenance_sidecar_path(const char *output_path)
{
    size_t n = strlen(output_path) + sizeof ".postkit.json";
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s.postkit.json", output_path);
    return s;
}

pk_status pk_provenance_write(pk_ctx *ctx, pk_provenance *p, const char *output_path,
                              json_t *details)
{
    pk_status st = PK_OK;
    if (!p->hashed) {
        size_t i;
        json_t *e;
        /* An input the run could not read (missing, unreadable) failed on
         * its own; the outputs made from the other inputs still get their
         * record, which says what happened to it. */
        json_array_foreach(p->inputs, i, e) if (hash_entry(ctx, e) != PK_OK)
            json_object_set_new(e, "error", pk_json_string(pk_ctx_errmsg(ctx)));
        pk_ctx_clear_error(ctx);
        p->hashed = true;
    }
    json_t *out = file_entry(output_path);
    if ((st = hash_entry(ctx, out)) != PK_OK) {
        json_decref(out);
        return st;
    }
    char finished[32];
    pk_iso8601_now(finished);
    json_t *rec = json_object();
    json_object_set_new(rec, "postkit_provenance", json_integer(PROVENANCE_FORMAT));
    json_t *who = json_object();
    json_object_set_new(who, "version", json_string(pk_version()));
    json_object_set_new(who, "git", json_string(pk_git_revision()));
    json_object_set_new(rec, "postkit", who);
    json_object_set_new(rec, "operation", json_string(p->op->name));
    json_object_set_new(rec, "parameters", json_incref(p->params));
    json_object_set_new(rec, "inputs", json_incref(p->inputs));
    json_object_set_new(rec, "models", json_incref(p->models));
    json_object_set_new(rec, "output", out);
    if (details)
        json_object_set_new(rec, "details", json_incref(details));
    json_object_set_new(rec, "started", json_string(p->started));
    json_object_set_new(rec, "finished", json_string(finished));
    char *text = json_dumps(rec, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(rec);
    char *sidecar = pk_provenance_sidecar_path(output_path);
    if (!text || !sidecar) {
        free(text);
        free(sidecar);
        return pk_fail(ctx, PK_ERR_INTERNAL, output_path, "out of memory");
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room: replace the NUL, write len+1 */
    st = pk_safe_write_all(ctx, sidecar, text, len + 1, true);
    free(text);
    free(sidecar);
    return st;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

pk_status pk_provenance_read(pk_ctx *ctx, const char *path, json_t **out)
{
    char *sidecar = ends_with(path, ".postkit.json") ? strdup(path) : pk_provenance_sidecar_path(path);
    if (!sidecar)
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    struct stat st;
    if (stat(sidecar, &st) != 0) {
        pk_status s = pk_fail(ctx, PK_ERR_INPUT, path,
                              "has no provenance record (%s is missing; was it written by postkit?)",
                              sidecar);
        free(sidecar);
        return s;
    }
    json_error_t err;
    json_t *rec = json_load_file(sidecar, 0, &err);
    if (!rec || !json_is_object(rec) || !json_object_get(rec, "postkit_provenance")) {
        pk_status s = pk_fail(ctx, PK_ERR_INPUT, sidecar, "not a postkit provenance record%s%s",
                              rec ? "" : ": ", rec ? "" : err.text);
        json_decref(rec);
        free(sidecar);
        return s;
    }
    free(sidecar);
    /* Check the output still is what was written. */
    json_t *o = json_object_get(rec, "output");
    const char *opath = json_string_value(json_object_get(o, "path"));
    const char *want = json_string_value(json_object_get(o, "sha256"));
    json_t *check = json_object();
    char hex[65];
    if (!opath || !want) {
        json_object_set_new(check, "status", json_string("incomplete record"));
    } else if (stat(opath, &st) != 0) {
        json_object_set_new(check, "status", json_string("output missing"));
    } else if (pk_sha256_file(ctx, opath, hex) != PK_OK) {
        json_object_set_new(check, "status", json_string("output unreadable"));
    } else {
        json_object_set_new(check, "status",
                            json_string(strcmp(hex, want) == 0 ? "unchanged" : "modified"));
        json_object_set_new(check, "sha256", json_string(hex));
    }
    json_object_set_new(rec, "check", check);
    *out = rec;
    return PK_OK;
}

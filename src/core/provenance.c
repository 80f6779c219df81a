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

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROVENANCE_FORMAT 1

/* Inputs are hashed on demand, once per run whatever the number of outputs
 * made from them, and the cache is shared by the worker threads that commit
 * outputs; `lock` guards it and the model list. */
struct pk_provenance {
    const pk_op *op;
    json_t *params;
    json_t *positional;   /* paths of the run's FILE arguments */
    json_t *option_files; /* paths named by PATH_IN options (--ref): inputs of every output */
    json_t *hashed;       /* absolute path -> {path, size, sha256 | error} */
    json_t *models;
    char started[32];
    pthread_mutex_t lock;
};

static char *absolute(const char *path)
{
    char abs[PATH_MAX];
    return strdup(realpath(path, abs) ? abs : path);
}

pk_provenance *pk_provenance_new(const pk_op *op, const pk_args *args)
{
    pk_provenance *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->op = op;
    p->params = pk_args_to_json(args);
    p->positional = json_array();
    p->option_files = json_array();
    p->hashed = json_object();
    p->models = json_array();
    pthread_mutex_init(&p->lock, NULL);
    pk_iso8601_now(p->started);
    for (size_t i = 0; i < pk_args_input_count(args); i++)
        json_array_append_new(p->positional, pk_json_string(pk_args_input(args, i)));
    for (const pk_param_spec *s = op->params; s && s->name; s++) {
        if (s->type != PK_PARAM_PATH_IN)
            continue;
        const pk_arg_value *v = pk_args_value(args, s->name, PK_PARAM_PATH_IN);
        for (size_t k = 0; k < v->nstrs; k++)
            json_array_append_new(p->option_files, pk_json_string(v->strs[k]));
    }
    return p;
}

void pk_provenance_free(pk_provenance *p)
{
    if (!p)
        return;
    json_decref(p->params);
    json_decref(p->positional);
    json_decref(p->option_files);
    json_decref(p->hashed);
    json_decref(p->models);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

pk_status pk_provenance_add_model(pk_provenance *p, const char *id, const char *version,
                                  const char *sha256)
{
    size_t i;
    json_t *m;
    pthread_mutex_lock(&p->lock);
    json_array_foreach(p->models, i, m) if (strcmp(json_string_value(json_object_get(m, "id")), id) == 0)
    {
        pthread_mutex_unlock(&p->lock);
        return PK_OK;
    }
    m = json_object();
    json_object_set_new(m, "id", pk_json_string(id));
    json_object_set_new(m, "version", pk_json_string(version ? version : ""));
    json_object_set_new(m, "sha256", pk_json_string(sha256 ? sha256 : ""));
    json_array_append_new(p->models, m);
    pthread_mutex_unlock(&p->lock);
    return PK_OK;
}

/* A new {path, size, sha256} entry for `path`. An input that cannot be
 * hashed (gone, unreadable) gets an "error" instead: the run reported it on
 * its own, and the outputs made from the other inputs still get a record. */
static json_t *hash_file(pk_ctx *ctx, const char *abs)
{
    json_t *e = json_object();
    json_object_set_new(e, "path", pk_json_string(abs));
    struct stat st;
    if (stat(abs, &st) == 0)
        json_object_set_new(e, "size", json_integer((json_int_t)st.st_size));
    char hex[65];
    if (pk_sha256_file(ctx, abs, hex) == PK_OK)
        json_object_set_new(e, "sha256", json_string(hex));
    else
        json_object_set_new(e, "error", pk_json_string(pk_ctx_errmsg(ctx)));
    return e;
}

/* The cached entry of `path`, hashing it on first use. Returns a new reference. */
static json_t *input_entry(pk_ctx *ctx, pk_provenance *p, const char *path)
{
    char *abs = absolute(path);
    if (!abs)
        return json_null();
    pthread_mutex_lock(&p->lock);
    json_t *e = json_object_get(p->hashed, abs);
    json_incref(e);
    pthread_mutex_unlock(&p->lock);
    if (!e) {
        /* Hash outside the lock: another thread may hash the same file at
         * the same time, which costs time but never a wrong record. */
        e = hash_file(ctx, abs);
        pthread_mutex_lock(&p->lock);
        json_object_set(p->hashed, abs, e);
        pthread_mutex_unlock(&p->lock);
    }
    free(abs);
    return e;
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
                              json_t *details, const json_t *made_from)
{
    pk_status st = PK_OK;
    json_t *inputs = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(p->option_files, i, v)
        json_array_append_new(inputs, input_entry(ctx, p, json_string_value(v)));
    const json_t *own = json_array_size(made_from) ? made_from : p->positional;
    json_array_foreach((json_t *)own, i, v)
        json_array_append_new(inputs, input_entry(ctx, p, json_string_value(v)));
    pk_ctx_clear_error(ctx);
    char *abs = absolute(output_path);
    json_t *out = abs ? hash_file(ctx, abs) : NULL;
    free(abs);
    if (!out || json_object_get(out, "error")) {
        json_decref(out);
        json_decref(inputs);
        return pk_fail(ctx, PK_ERR_OUTPUT, output_path, "cannot read back the written file");
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
    json_object_set_new(rec, "inputs", inputs);
    pthread_mutex_lock(&p->lock);
    json_object_set_new(rec, "models", json_deep_copy(p->models));
    pthread_mutex_unlock(&p->lock);
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
        /* No record: say first what is wrong with the file itself. */
        pk_status s = strcmp(sidecar, path) == 0 || access(path, F_OK) == 0
                          ? PK_OK
                          : pk_check_input_file(ctx, path, NULL);
        if (s == PK_OK && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            s = pk_fail(ctx, PK_ERR_INPUT, path, "is a directory, not a file written by postkit");
        if (s == PK_OK)
            s = pk_fail(ctx, PK_ERR_INPUT, path,
                        "has no provenance record (%s is missing; was it written by postkit?)",
                        sidecar);
        free(sidecar);
        return s;
    }
    FILE *fp = fopen(sidecar, "rb");
    if (!fp) {
        pk_status s = pk_fail(ctx, PK_ERR_INPUT, path, "cannot open its provenance record %s: %s",
                              sidecar, strerror(errno));
        free(sidecar);
        return s;
    }
    json_error_t err;
    json_t *rec = json_loadf(fp, 0, &err);
    fclose(fp);
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

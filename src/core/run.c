/*
 * run.c — running an operation: parameter access, records, per-file failures,
 * safe outputs bound to the run's provenance.
 */
#include "core/internal.h"

#include <stdlib.h>
#include <string.h>

struct pk_run {
    pk_ctx *ctx;
    const pk_op *op;
    const pk_args *args;
    const pk_sink *sink;
    pk_status worst;
    pk_provenance *prov;
};

struct pk_output {
    pk_safe_file *file;
    pk_ctx *ctx;        /* where this output's errors go (a worker's own context) */
    json_t *details;
    json_t *made_from;  /* inputs declared with pk_output_add_input */
};

pk_status pk_op_run(pk_ctx *ctx, const pk_op *op, const pk_args *args, const pk_sink *sink)
{
    pk_run run = {.ctx = ctx, .op = op, .args = args, .sink = sink, .worst = PK_OK};
    if (op->flags & PK_OP_WRITES) {
        run.prov = pk_provenance_new(op, args);
        if (!run.prov)
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    pk_ctx_set_threads(ctx, pk_args_threads(args));
    pk_ctx_clear_error(ctx);
    pk_status st = op->run(&run);
    pk_provenance_free(run.prov);
    if (st == PK_OK && pk_ctx_interrupted(ctx))
        st = pk_fail(ctx, PK_ERR_INTERRUPTED, NULL, "interrupted");
    if (st == PK_OK)
        st = run.worst;
    return st;
}

pk_ctx *pk_run_ctx(pk_run *run) { return run->ctx; }
const pk_op *pk_run_op(pk_run *run) { return run->op; }
size_t pk_run_input_count(const pk_run *run) { return pk_args_input_count(run->args); }
const char *pk_run_input(const pk_run *run, size_t i) { return pk_args_input(run->args, i); }
int pk_run_json(const pk_run *run) { return pk_args_json(run->args); }

int pk_run_bool(const pk_run *run, const char *name)
{
    return pk_args_value(run->args, name, PK_PARAM_BOOL)->b;
}

int64_t pk_run_int(const pk_run *run, const char *name)
{
    return pk_args_value(run->args, name, PK_PARAM_INT)->i;
}

double pk_run_float(const pk_run *run, const char *name)
{
    return pk_args_value(run->args, name, PK_PARAM_FLOAT)->f;
}

const char *pk_run_str(const pk_run *run, const char *name)
{
    const pk_arg_value *v = pk_args_value(run->args, name, PK_PARAM_STRING);
    return v->nstrs ? v->strs[0] : NULL;
}

size_t pk_run_str_count(const pk_run *run, const char *name)
{
    return pk_args_value(run->args, name, PK_PARAM_STRING)->nstrs;
}

const char *pk_run_str_at(const pk_run *run, const char *name, size_t index)
{
    const pk_arg_value *v = pk_args_value(run->args, name, PK_PARAM_STRING);
    return index < v->nstrs ? v->strs[index] : NULL;
}

int pk_run_is_set(const pk_run *run, const char *name)
{
    for (const pk_param_spec *s = run->op->params; s && s->name; s++)
        if (strcmp(s->name, name) == 0)
            return pk_args_value(run->args, name, s->type)->given;
    return 0;
}

void pk_run_emit(pk_run *run, json_t *record)
{
    if (run->sink && run->sink->record)
        run->sink->record(run->sink->user, run->op, record);
    json_decref(record);
}

pk_status pk_run_file_failed(pk_run *run, const char *path, pk_status status)
{
    if (run->sink && run->sink->file_error)
        run->sink->file_error(run->sink->user, run->op, path, status, pk_ctx_errmsg(run->ctx));
    /* An interruption is not a property of the file; it ends the run. */
    if (status != PK_ERR_INTERRUPTED && (run->worst == PK_OK || status > run->worst))
        run->worst = status;
    return status;
}

pk_status pk_run_worst(const pk_run *run) { return run->worst; }

pk_status pk_run_add_model(pk_run *run, const char *id, const char *version, const char *sha256)
{
    if (!run->prov)
        return PK_OK;
    return pk_provenance_add_model(run->prov, id, version, sha256);
}

pk_status pk_output_open_ctx(pk_run *run, pk_ctx *ctx, const char *path, pk_output **out)
{
    pk_output *o = calloc(1, sizeof *o);
    if (!o)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    pk_status st = pk_safe_open(ctx, path, pk_args_force(run->args), &o->file);
    if (st != PK_OK) {
        free(o);
        return st;
    }
    o->ctx = ctx;
    *out = o;
    return PK_OK;
}

pk_status pk_output_open(pk_run *run, const char *path, pk_output **out)
{
    return pk_output_open_ctx(run, run->ctx, path, out);
}

void pk_output_add_input(pk_output *o, const char *path)
{
    if (!o->made_from)
        o->made_from = json_array();
    json_array_append_new(o->made_from, pk_json_string(path));
}

const char *pk_output_tmp_path(const pk_output *o) { return pk_safe_tmp_path(o->file); }
const char *pk_output_path(const pk_output *o) { return pk_safe_path(o->file); }

FILE *pk_output_file(pk_output *o)
{
    return pk_safe_stream(NULL, o->file);
}

void pk_output_note(pk_output *o, const char *key, json_t *value)
{
    if (!o->details)
        o->details = json_object();
    json_object_set_new(o->details, key, value);
}

static void output_free(pk_output *o)
{
    json_decref(o->details);
    json_decref(o->made_from);
    free(o);
}

pk_status pk_output_commit(pk_run *run, pk_output *o)
{
    pk_ctx *ctx = o->ctx;
    char *path = strdup(pk_safe_path(o->file));
    if (!path) {
        pk_output_abort(run, o);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    /* Refuse to publish when the run was interrupted while writing. */
    pk_status st = pk_ctx_interrupted(ctx)
                       ? pk_fail(ctx, PK_ERR_INTERRUPTED, path, "interrupted; nothing written")
                       : PK_OK;
    if (st != PK_OK)
        pk_safe_abort(o->file);
    else
        st = pk_safe_commit(ctx, o->file);
    if (st == PK_OK && run->prov)
        st = pk_provenance_write(ctx, run->prov, path, o->details, o->made_from);
    output_free(o);
    free(path);
    return st;
}

void pk_output_abort(pk_run *run, pk_output *o)
{
    (void)run;
    if (!o)
        return;
    pk_safe_abort(o->file);
    output_free(o);
}

/*
 * op.h — the operation table.
 *
 * Every capability of postkit is one pk_op: a name, a summary, typed
 * parameters and a run function. The command line, `--help`, the README's
 * command reference, argument validation, `--json` output and the provenance
 * record of every written file are all derived from these descriptors; nothing
 * lists the operations a second time. An operation's source file ends with its
 * descriptor, and src/core/registry.c holds the one list of descriptors.
 *
 * Results are records (jansson json_t objects). JSON is their canonical form;
 * the human text the CLI prints is a view of the same records.
 */
#ifndef POSTKIT_OP_H
#define POSTKIT_OP_H

#include <stdio.h>
#include <jansson.h>
#include <postkit/postkit.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pk_param_type {
    PK_PARAM_BOOL,     /* --name / --no-name */
    PK_PARAM_INT,
    PK_PARAM_FLOAT,
    PK_PARAM_STRING,
    PK_PARAM_ENUM,     /* one of `choices`, "a|b|c" */
    PK_PARAM_PATH_IN,  /* an existing file read by the operation */
    PK_PARAM_PATH_OUT  /* a file the operation writes (safe output, provenance) */
} pk_param_type;

enum {
    PK_PARAM_REQUIRED = 1u << 0, /* must be given (no default) */
    PK_PARAM_REPEAT = 1u << 1,   /* may be given several times */
    PK_PARAM_HIDDEN = 1u << 2    /* accepted but not shown in --help */
};

/* One typed parameter. A numeric range applies when min < max (inclusive). */
typedef struct pk_param_spec {
    const char *name;      /* long option without dashes: "true-peak" */
    char short_opt;        /* 'o', or 0 for none */
    pk_param_type type;
    const char *defval;    /* default as text; NULL: unset unless given */
    double min, max;
    const char *unit;      /* shown in help and kept in JSON: "LUFS", "s" */
    const char *choices;   /* PK_PARAM_ENUM only: "ebu-r128|atsc-a85" */
    const char *metavar;   /* placeholder in help, default derived from type */
    const char *help;
    unsigned flags;
} pk_param_spec;

enum {
    PK_OP_WRITES = 1u << 0,     /* writes files: accepts --force, records provenance */
    PK_OP_NO_INPUTS = 1u << 1,  /* operates on no positional files */
    PK_OP_CHECK = 1u << 2       /* exit status 1 means the check failed (QC) */
};

typedef struct pk_run pk_run;

typedef struct pk_op {
    const char *name;         /* "probe"; a group member is "photo match" */
    const char *summary;      /* one line, no final period */
    const char *description;  /* optional paragraphs for `postkit OP --help` */
    const char *input_name;   /* placeholder for positional args: "FILE" */
    const char *input_kind;   /* "media", "audio", "image", "video", "any" */
    int min_inputs;
    int max_inputs;           /* -1: unlimited */
    const pk_param_spec *params; /* terminated by an entry with name == NULL */
    pk_status (*run)(pk_run *run);
    /* Human view of one record; NULL: the generic key/value rendering. */
    void (*print_human)(const json_t *record, FILE *out);
    unsigned flags;
} pk_op;

/* The registry. pk_op_count()/pk_op_at() enumerate in help order. */
size_t pk_op_count(void);
const pk_op *pk_op_at(size_t index);

/* Find the operation named by the leading words of argv ("photo", "match").
 * Returns the longest match and stores the number of words used in *words;
 * NULL when no operation matches. */
const pk_op *pk_op_match(int argc, char *const argv[], int *words);
const pk_op *pk_op_find(const char *name);

/* Options every operation accepts (json, progress, quiet, threads, force). */
extern const pk_param_spec pk_common_params[];

/* ---- Parsed arguments ------------------------------------------------- */

typedef struct pk_args pk_args;

/* Parse argv (the words after the operation name) against op's parameters
 * and the common ones. On a usage error returns PK_ERR_USAGE with a message
 * naming the option and what is expected. `help` is set when --help was seen
 * (then nothing else is validated). The caller frees *out with pk_args_free. */
pk_status pk_args_parse(pk_ctx *ctx, const pk_op *op, int argc, char *const argv[],
                        pk_args **out, int *help);

/* Build arguments programmatically: start empty, set values as text (each is
 * validated exactly as on the command line), add inputs, then finish (checks
 * required parameters and the number of inputs). */
pk_status pk_args_new(pk_ctx *ctx, const pk_op *op, pk_args **out);
pk_status pk_args_set(pk_ctx *ctx, pk_args *args, const char *name, const char *value);
pk_status pk_args_add_input(pk_ctx *ctx, pk_args *args, const char *path);
pk_status pk_args_finish(pk_ctx *ctx, pk_args *args);
void pk_args_free(pk_args *args);

/* Common option values after parsing. */
int pk_args_json(const pk_args *args);
int pk_args_progress(const pk_args *args);  /* 1 forced on, 0 forced off, -1 auto */
int pk_args_quiet(const pk_args *args);
int pk_args_threads(const pk_args *args);

/* ---- Running ------------------------------------------------------------ */

/* Where records go. `record` receives each result in order (the callee does
 * not own it: json_incref to keep it). `file_error` receives a per-file
 * failure the operation chose to survive (the run goes on with the next file). */
typedef struct pk_sink {
    void (*record)(void *user, const pk_op *op, json_t *record);
    void (*file_error)(void *user, const pk_op *op, const char *path, pk_status status,
                       const char *message);
    void *user;
} pk_sink;

/* Run op with parsed args. Returns the operation's status; when files failed
 * and the operation continued, the worst per-file status. The context's error
 * message describes a failure that stopped the run. */
pk_status pk_op_run(pk_ctx *ctx, const pk_op *op, const pk_args *args, const pk_sink *sink);

/* ---- For operation implementations ------------------------------------ */

pk_ctx *pk_run_ctx(pk_run *run);
const pk_op *pk_run_op(pk_run *run);
size_t pk_run_input_count(const pk_run *run);
const char *pk_run_input(const pk_run *run, size_t index);

/* Parameter values by name. Asking for a name the op does not declare, or
 * with the wrong type, is a programming error and aborts in debug builds. */
int pk_run_bool(const pk_run *run, const char *name);
int64_t pk_run_int(const pk_run *run, const char *name);
double pk_run_float(const pk_run *run, const char *name);
const char *pk_run_str(const pk_run *run, const char *name); /* NULL when unset */
size_t pk_run_str_count(const pk_run *run, const char *name);
const char *pk_run_str_at(const pk_run *run, const char *name, size_t index);
int pk_run_is_set(const pk_run *run, const char *name); /* given explicitly */
int pk_run_json(const pk_run *run);

/* Hand a result record to the sink. Steals the reference to `record`. */
void pk_run_emit(pk_run *run, json_t *record);

/* The operation could not process `path` but continues with other inputs:
 * passes the context's current error message to the sink and remembers the
 * worst status for the run's exit code. Returns `status`. */
pk_status pk_run_file_failed(pk_run *run, const char *path, pk_status status);

/* Worst per-file status recorded so far (PK_OK when none). */
pk_status pk_run_worst(const pk_run *run);

/* Record the identity of a model used by this run, for provenance. */
pk_status pk_run_add_model(pk_run *run, const char *id, const char *version, const char *sha256);

/* A JSON string for any C string: file names and camera tags are not always
 * valid UTF-8, and jansson refuses those; each bad byte becomes U+FFFD.
 * NULL gives JSON null. Never returns NULL. */
json_t *pk_json_string(const char *s);

/* ---- Safe outputs --------------------------------------------------------
 * An output is written to a hidden temporary file in the target folder and
 * renamed into place by pk_output_commit(). An existing target is refused
 * unless --force was given. An interrupted run removes its temporary files;
 * a killed one leaves only hidden temporaries that no later run trips on
 * (stale ones of dead processes are removed by the next run writing there). */
typedef struct pk_output pk_output;

/* Reserve `path` for writing. Fails with PK_ERR_OUTPUT when the target
 * exists (without --force), its folder is missing or not writable. */
pk_status pk_output_open(pk_run *run, const char *path, pk_output **out);
/* The same from a worker thread: errors of this output (open, commit) go to
 * `ctx`, the worker's own child context. Outputs of one run may be opened
 * and committed from several threads at once. */
pk_status pk_output_open_ctx(pk_run *run, pk_ctx *ctx, const char *path, pk_output **out);
/* Declare that this output was made from `path` (one of the run's inputs).
 * The provenance record then lists only the declared inputs (plus files
 * given by options such as --ref) instead of every input of the run: a
 * thumbnail of one photo does not depend on the 9,999 others. */
void pk_output_add_input(pk_output *out, const char *path);
/* The temporary path to write to (for libraries that take a file name). */
const char *pk_output_tmp_path(const pk_output *out);
const char *pk_output_path(const pk_output *out);
/* An open stdio stream on the temporary file (opened on first call). */
FILE *pk_output_file(pk_output *out);
/* Add a fact to the output's provenance record under "details" (what was
 * applied: a gain, a matrix, a limiter's activity). Steals `value`. */
void pk_output_note(pk_output *out, const char *key, json_t *value);
/* fsync, rename into place, write the provenance sidecar. Frees `out`. */
pk_status pk_output_commit(pk_run *run, pk_output *out);
/* Remove the temporary file. Frees `out`. Safe with NULL. */
void pk_output_abort(pk_run *run, pk_output *out);

#ifdef __cplusplus
}
#endif
#endif

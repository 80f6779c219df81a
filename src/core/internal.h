/*
 * internal.h — what the parts of libpostkit share and the public API does not show.
 */
#ifndef POSTKIT_CORE_INTERNAL_H
#define POSTKIT_CORE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>
#include <postkit/op.h>
#include <postkit/postkit.h>

#define PK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Room for one more element in a growable array of elements of elem bytes
 * that holds n of *cap: returns v itself when there is room, else v
 * reallocated to twice the capacity (first elements when empty) with *cap
 * updated. NULL when out of memory, with v and *cap untouched (v still
 * owned by the caller). */
void *pk_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first);

/* The list of operations in help order: registry.c in libpostkit, a light
 * copy in the `postkit` command (src/cli/ops_light_gen.c). op_table.c
 * searches it. */
extern const pk_op *const pk_registry[];
extern const size_t pk_registry_len;

/* ctx.c */
pk_status pk_vfail(pk_ctx *ctx, pk_status status, const char *path, const char *fmt, va_list ap);
void pk_ctx_clear_error(pk_ctx *ctx);
void pk_ctx_copy_error(pk_ctx *dst, const pk_ctx *src);

/* args.c: typed access for run.c. Each returns the spec's slot or aborts on a
 * programming error (unknown name, wrong type). */
typedef struct pk_arg_value {
    bool set;        /* has a value (given or default) */
    bool given;      /* given explicitly */
    int64_t i;
    double f;
    bool b;
    char **strs;     /* every value, for strings/paths/enums (repeatable) */
    size_t nstrs;
} pk_arg_value;

const pk_arg_value *pk_args_value(const pk_args *args, const char *name, pk_param_type type);
size_t pk_args_input_count(const pk_args *args);
const char *pk_args_input(const pk_args *args, size_t index);
int pk_args_force(const pk_args *args);
/* Every declared parameter of the operation with its effective value (defaults
 * included), typed, in declaration order. The caller owns the result. */
json_t *pk_args_to_json(const pk_args *args);
/* The textual form of a parameter's default for help output. */
const char *pk_param_type_name(pk_param_type type);

/* input.c: the path exists, is a non-empty regular file and can be opened
 * for reading; otherwise PK_ERR_INPUT with a message naming the cause. */
struct stat;
pk_status pk_check_input_file(pk_ctx *ctx, const char *path, struct stat *st_out);
/* pread until n bytes or end of file; the count read, -1 on error (errno). */
ssize_t pk_read_at(int fd, void *buf, size_t n, off_t off);
/* The whole content of `path` when it is at most `max` bytes, read once:
 * *data (malloc'ed, the caller frees) and *len; *data is NULL for a larger
 * file (not an error). Errors: PK_ERR_INPUT (open, read), PK_ERR_INTERNAL. */
pk_status pk_read_content(pk_ctx *ctx, const char *path, size_t max, unsigned char **data, size_t *len);

/* hash.c: SHA-256 of a whole file, streamed; hex is 65 bytes. */
pk_status pk_sha256_file(pk_ctx *ctx, const char *path, char hex[65]);
/* The same for bytes in memory (the whole content of the file `path`, read
 * once). Errors: PK_ERR_INTERNAL when OpenSSL's libcrypto cannot be loaded
 * (see hash.c); hex is then the empty string. */
pk_status pk_sha256_buffer(pk_ctx *ctx, const char *path, const void *data, size_t len, char hex[65]);

/* The raw digest of a whole file, streamed, by algorithm "sha1", "sha256" or
 * "sha512" (PK_ERR_USAGE for another name); *len receives its length in
 * bytes. Stops with PK_ERR_INTERRUPTED on Ctrl-C. */
enum { PK_DIGEST_MAX = 64 };
pk_status pk_file_digest_raw(pk_ctx *ctx, const char *path, const char *algorithm,
                             unsigned char digest[PK_DIGEST_MAX], unsigned *len);

/* time.c */
void pk_iso8601_now(char buf[32]);
double pk_monotonic_seconds(void);

/* provenance.c */
typedef struct pk_provenance pk_provenance;
pk_provenance *pk_provenance_new(const pk_op *op, const pk_args *args);
void pk_provenance_free(pk_provenance *p);
pk_status pk_provenance_add_model(pk_provenance *p, const char *id, const char *version,
                                  const char *sha256);
/* Write the sidecar of `output_path` (already renamed into place). Its
 * inputs are the files named by PATH_IN options plus `made_from` (a JSON
 * array of paths), or all of the run's FILE arguments when `made_from` is
 * NULL or empty. Inputs are hashed once per run. `details` may be NULL.
 * Thread-safe. A sidecar left by an earlier file of the same name is
 * replaced: it describes a file that is gone. */
pk_status pk_provenance_write(pk_ctx *ctx, pk_provenance *p, const char *output_path,
                              json_t *details, const json_t *made_from);
/* Read and check the record of `path` (the output or its sidecar): *out gets
 * the record with "verified" set to whether the file still has its SHA-256. */
pk_status pk_provenance_read(pk_ctx *ctx, const char *path, json_t **out);
/* "<path>.postkit.json" in a new allocation. */
char *pk_provenance_sidecar_path(const char *output_path);

/* output.c: low-level safe output, independent of a run. */
typedef struct pk_safe_file pk_safe_file;
pk_status pk_safe_open(pk_ctx *ctx, const char *path, bool force, pk_safe_file **out);
const char *pk_safe_tmp_path(const pk_safe_file *f);
const char *pk_safe_path(const pk_safe_file *f);
FILE *pk_safe_stream(pk_ctx *ctx, pk_safe_file *f);
pk_status pk_safe_commit(pk_ctx *ctx, pk_safe_file *f);
void pk_safe_abort(pk_safe_file *f);
/* Write a whole buffer to `path` safely (temp + rename). */
pk_status pk_safe_write_all(pk_ctx *ctx, const char *path, const void *data, size_t len, bool force);

/* util.c: mkdir -p. pk_mkdirs makes `dir` and the folders leading to it,
 * PK_ERR_OUTPUT naming the folder that could not be made; pk_mkdirs_for
 * makes the folders leading to the file `path` (its parent), 0 or -1 with
 * errno (ENOTDIR when the parent exists and is not a folder). */
pk_status pk_mkdirs(pk_ctx *ctx, const char *dir);
int pk_mkdirs_for(const char *path);

/* pool.c: run work(i) for i in [0, n) on the context's threads; emit(i, result)
 * is called on the calling thread in index order as results become ready.
 * At most `window` results are held at once, so memory stays bounded. Work
 * gets a child context for its own errors. Stops early when interrupted. */
typedef void *(*pk_work_fn)(pk_ctx *wctx, size_t index, void *user);
typedef void (*pk_emit_fn)(size_t index, void *result, void *user);
pk_status pk_parallel_ordered(pk_ctx *ctx, size_t n, pk_work_fn work, pk_emit_fn emit, void *user);

/* json helpers. */
/* Set a key only when the value is meaningful. */
void pk_json_set_str(json_t *obj, const char *key, const char *value);   /* skips NULL/"" */
void pk_json_set_real(json_t *obj, const char *key, double value);       /* skips NaN */
void pk_json_set_int(json_t *obj, const char *key, json_int_t value);
/* Round to `digits` decimals so JSON shows 48.0 not 47.999999999 */
double pk_round(double value, int digits);

#endif

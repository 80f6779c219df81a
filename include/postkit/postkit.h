/*
 * postkit.h — the entry point of libpostkit: status codes, the context, version.
 *
 * Every public function returns a pk_status. When it is not PK_OK, the context
 * holds a one-line message naming the file and the cause (pk_ctx_errmsg()).
 * The numeric values of pk_status are also the exit codes of the `postkit`
 * command, so a script sees the same classification the library reports.
 */
#ifndef POSTKIT_POSTKIT_H
#define POSTKIT_POSTKIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pk_status {
    PK_OK = 0,
    PK_CHECK_FAILED = 1,   /* the operation ran and its check found problems (QC) */
    PK_ERR_USAGE = 2,      /* unknown option, missing or out-of-range value */
    PK_ERR_INPUT = 3,      /* input missing, unreadable, not media, corrupt, unsupported */
    PK_ERR_OUTPUT = 4,     /* output exists, folder missing or read-only, disk full */
    PK_ERR_INTERNAL = 5,   /* a bug or resource exhaustion inside postkit */
    PK_ERR_INTERRUPTED = 130 /* stopped by Ctrl-C or SIGTERM; nothing half-written was left */
} pk_status;

/* A short, static description of a status code ("input error", ...). */
const char *pk_strerror(pk_status status);

/* Version of the library, e.g. "0.1.0", and the git revision it was built from
 * ("unknown" outside a git checkout). Both strings are static. */
const char *pk_version(void);
const char *pk_git_revision(void);

/* The context carries settings (threads, progress and log callbacks), the
 * interrupt flag and the last error message. One context may be used by one
 * thread at a time; worker threads use child contexts (pk_ctx_new_child) which
 * share the settings and the interrupt flag but keep their own error message. */
typedef struct pk_ctx pk_ctx;

/* Progress events: a task with a label and a total (0 when unknown), updated
 * with the amount done so far. `unit` names what is counted ("files", "s"). */
typedef struct pk_progress_cb {
    void (*begin)(void *user, const char *label, double total, const char *unit);
    void (*update)(void *user, double done);
    void (*end)(void *user);
    void *user;
} pk_progress_cb;

typedef enum pk_log_level { PK_LOG_ERROR, PK_LOG_WARNING, PK_LOG_INFO, PK_LOG_DEBUG } pk_log_level;
typedef void (*pk_log_fn)(void *user, pk_log_level level, const char *message);

/* Create a context. Returns PK_ERR_INTERNAL only when memory is exhausted.
 * The caller owns *out and frees it with pk_ctx_free(). */
pk_status pk_ctx_new(pk_ctx **out);

/* Create a context for a worker thread that shares parent's settings,
 * callbacks and interrupt flag. Free it with pk_ctx_free() before the parent. */
pk_status pk_ctx_new_child(pk_ctx *parent, pk_ctx **out);
void pk_ctx_free(pk_ctx *ctx);

/* Number of worker threads; 0 (the default) means one per online core. */
void pk_ctx_set_threads(pk_ctx *ctx, int threads);
int pk_ctx_threads(const pk_ctx *ctx);

/* Progress and log callbacks; both may be NULL (the default: silent). The
 * callbacks may be called from worker threads and must be thread-safe. */
void pk_ctx_set_progress(pk_ctx *ctx, const pk_progress_cb *cb);
void pk_ctx_set_log(pk_ctx *ctx, pk_log_fn fn, void *user);

/* Ask running work to stop at the next safe point. Async-signal-safe: it only
 * stores to a lock-free atomic, so a SIGINT handler may call it. */
void pk_ctx_interrupt(pk_ctx *ctx);
int pk_ctx_interrupted(const pk_ctx *ctx);

/* The message of the last failure on this context: one line naming the file
 * and the cause, e.g. "clip.mp4: moov atom not found (file truncated?)".
 * Empty when nothing failed. Valid until the next call that fails. */
const char *pk_ctx_errmsg(const pk_ctx *ctx);

/* Record a failure: formats "PATH: MESSAGE" (or just MESSAGE when path is NULL)
 * into the context and returns `status`, so callers can write
 * `return pk_fail(ctx, PK_ERR_INPUT, path, "not a media file");`. */
pk_status pk_fail(pk_ctx *ctx, pk_status status, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Log through the context's callback (no-op when none is set). */
void pk_log(pk_ctx *ctx, pk_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Progress reporting for library code; no-ops without a callback. */
void pk_progress_begin(pk_ctx *ctx, const char *label, double total, const char *unit);
void pk_progress_update(pk_ctx *ctx, double done);
void pk_progress_end(pk_ctx *ctx);

/* Remove the temporary files of outputs still being written. Only for a
 * program's last moments (a second Ctrl-C): async-signal-safe, and the
 * outputs being written are abandoned. */
void pk_emergency_cleanup(void);

/* Initialise and shut down the libraries postkit stands on (FFmpeg logging
 * here; libvips, Exempi and ONNX Runtime start when first needed, so a
 * command that uses none of them does not pay their start-up). Call
 * pk_init() once before any other function and pk_shutdown() once at the
 * end; `argv0` may be NULL (it is no longer used). */
pk_status pk_init(const char *argv0);
void pk_shutdown(void);

#ifdef __cplusplus
}
#endif
#endif

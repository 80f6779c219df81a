/*
 * ctx.c — the context: settings, callbacks, interrupt flag, last error.
 */
#include "core/internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Settings shared by a context and its children. Reference counted so a
 * child may outlive nothing but is never left with a dangling parent. */
typedef struct pk_shared {
    atomic_int refs;
    atomic_int interrupted;
    int threads;
    pk_progress_cb progress;
    int has_progress;
    pk_log_fn log_fn;
    void *log_user;
} pk_shared;

struct pk_ctx {
    pk_shared *shared;
    char errmsg[1024];
};

const char *pk_strerror(pk_status status)
{
    switch (status) {
    case PK_OK: return "success";
    case PK_CHECK_FAILED: return "check failed";
    case PK_ERR_USAGE: return "usage error";
    case PK_ERR_INPUT: return "input error";
    case PK_ERR_OUTPUT: return "output error";
    case PK_ERR_INTERNAL: return "internal error";
    case PK_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

pk_status pk_ctx_new(pk_ctx **out)
{
    pk_ctx *ctx = calloc(1, sizeof *ctx);
    pk_shared *shared = calloc(1, sizeof *shared);
    if (!ctx || !shared) {
        free(ctx);
        free(shared);
        return PK_ERR_INTERNAL;
    }
    atomic_init(&shared->refs, 1);
    atomic_init(&shared->interrupted, 0);
    ctx->shared = shared;
    *out = ctx;
    return PK_OK;
}

pk_status pk_ctx_new_child(pk_ctx *parent, pk_ctx **out)
{
    pk_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return pk_fail(parent, PK_ERR_INTERNAL, NULL, "out of memory");
    atomic_fetch_add(&parent->shared->refs, 1);
    ctx->shared = parent->shared;
    *out = ctx;
    return PK_OK;
}

void pk_ctx_free(pk_ctx *ctx)
{
    if (!ctx)
        return;
    if (atomic_fetch_sub(&ctx->shared->refs, 1) == 1)
        free(ctx->shared);
    free(ctx);
}

void pk_ctx_set_threads(pk_ctx *ctx, int threads)
{
    ctx->shared->threads = threads > 0 ? threads : 0;
}

int pk_ctx_threads(const pk_ctx *ctx)
{
    if (ctx->shared->threads > 0)
        return ctx->shared->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void pk_ctx_set_progress(pk_ctx *ctx, const pk_progress_cb *cb)
{
    ctx->shared->has_progress = cb != NULL;
    if (cb)
        ctx->shared->progress = *cb;
}

void pk_ctx_set_log(pk_ctx *ctx, pk_log_fn fn, void *user)
{
    ctx->shared->log_fn = fn;
    ctx->shared->log_user = user;
}

void pk_ctx_interrupt(pk_ctx *ctx)
{
    atomic_store(&ctx->shared->interrupted, 1);
}

int pk_ctx_interrupted(const pk_ctx *ctx)
{
    return atomic_load(&ctx->shared->interrupted);
}

const char *pk_ctx_errmsg(const pk_ctx *ctx)
{
    return ctx->errmsg;
}

void pk_ctx_clear_error(pk_ctx *ctx)
{
    ctx->errmsg[0] = '\0';
}

void pk_ctx_copy_error(pk_ctx *dst, const pk_ctx *src)
{
    memcpy(dst->errmsg, src->errmsg, sizeof dst->errmsg);
}

/* Messages are one line: control characters (a newline in an FFmpeg message,
 * a tab in a file name) are replaced so a log parser never sees two lines. */
static void flatten_line(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '.'))
        s[--n] = '\0';
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}

pk_status pk_vfail(pk_ctx *ctx, pk_status status, const char *path, const char *fmt, va_list ap)
{
    char cause[768];
    vsnprintf(cause, sizeof cause, fmt, ap);
    if (path)
        snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s: %s", path, cause);
    else
        snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", cause);
    flatten_line(ctx->errmsg);
    return status;
}

pk_status pk_fail(pk_ctx *ctx, pk_status status, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pk_vfail(ctx, status, path, fmt, ap);
    va_end(ap);
    return status;
}

void pk_log(pk_ctx *ctx, pk_log_level level, const char *fmt, ...)
{
    if (!ctx || !ctx->shared->log_fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    flatten_line(msg);
    ctx->shared->log_fn(ctx->shared->log_user, level, msg);
}

void pk_progress_begin(pk_ctx *ctx, const char *label, double total, const char *unit)
{
    if (ctx->shared->has_progress && ctx->shared->progress.begin)
        ctx->shared->progress.begin(ctx->shared->progress.user, label, total, unit);
}

void pk_progress_update(pk_ctx *ctx, double done)
{
    if (ctx->shared->has_progress && ctx->shared->progress.update)
        ctx->shared->progress.update(ctx->shared->progress.user, done);
}

void pk_progress_end(pk_ctx *ctx)
{
    if (ctx->shared->has_progress && ctx->shared->progress.end)
        ctx->shared->progress.end(ctx->shared->progress.user);
}

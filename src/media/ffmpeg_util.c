/*
 * ffmpeg_util.c — FFmpeg errors in words a user can act on.
 *
 * FFmpeg states the precise reason for a failure ("moov atom not found") only
 * through its log; the return code says "Invalid data found". A log callback
 * keeps the last error-level line of each thread, so a failure can be reported
 * with its reason. Thread-local, because FFmpeg's log callback is process-wide
 * while decoding runs on several threads.
 */
#include "media/internal.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/error.h>
#include <libavutil/log.h>

static _Thread_local char last_error[256];

static void log_callback(void *avcl, int level, const char *fmt, va_list ap)
{
    if (level <= AV_LOG_ERROR) {
        char line[256];
        vsnprintf(line, sizeof line, fmt, ap);
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '.' || line[n - 1] == ' '))
            line[--n] = '\0';
        if (n > 0)
            memcpy(last_error, line, n + 1);
    }
    if (level <= av_log_get_level())
        av_log_default_callback(avcl, level, fmt, ap);
}

void pk_ffmpeg_install_log(void)
{
    av_log_set_callback(log_callback);
}

void pk_ffmpeg_clear_error(void)
{
    last_error[0] = '\0';
}

const char *pk_ffmpeg_last_log(void)
{
    return last_error;
}

pk_status pk_ffmpeg_fail(pk_ctx *ctx, pk_status status, const char *path, const char *what, int averr)
{
    char buf[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(averr, buf, sizeof buf);
    if (last_error[0] && strcmp(last_error, buf) != 0)
        return pk_fail(ctx, status, path, "%s (%s)", what, last_error);
    return pk_fail(ctx, status, path, "%s (%s)", what, buf);
}

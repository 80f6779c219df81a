/*
 * ffmpeg_util.c — FFmpeg errors in words a user can act on.
 *
 * FFmpeg states the precise reason for a failure ("moov atom not found") only
 * through its log; the return code says "Invalid data found". A log callback
 * keeps the last error-level line of each thread, so a failure can be reported
 * with its reason. Thread-local, because FFmpeg's log callback is process-wide
 * while decoding runs on several threads.
 *
 * Also the small facts about streams that several files need (rotation, bit
 * depth, which muxer a name means), so they are computed one way.
 */
#include "media/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
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

int pk_ffmpeg_stream_rotation(const AVStream *s)
{
    const uint8_t *m = av_stream_get_side_data(s, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (!m)
        return 0;
    double ccw = av_display_rotation_get((const int32_t *)m);
    if (isnan(ccw))
        return 0;
    int cw = (int)lround(-ccw) % 360;
    return cw < 0 ? cw + 360 : cw;
}

int pk_ffmpeg_audio_bits(const AVCodecParameters *p)
{
    if (p->bits_per_raw_sample > 0)
        return p->bits_per_raw_sample;
    const AVCodecDescriptor *d = avcodec_descriptor_get(p->codec_id);
    if (d && (d->props & AV_CODEC_PROP_LOSSLESS) && p->bits_per_coded_sample > 0)
        return p->bits_per_coded_sample;
    return 0; /* lossy codecs have no bit depth */
}

const AVOutputFormat *pk_ffmpeg_guess_muxer(const char *name, const char *fallback_path)
{
    const AVOutputFormat *f = NULL;
    if (name && *name) {
        f = av_guess_format(name, NULL, NULL);
        if (!f)
            f = av_guess_format(NULL, name, NULL);
    }
    if (!f && fallback_path)
        f = av_guess_format(NULL, fallback_path, NULL);
    return f;
}

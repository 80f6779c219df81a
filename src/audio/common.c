/*
 * common.c — decode passes, measurement and output sinks shared by the
 * audio operations (loudness, normalize, match, declip).
 */
#include "audio/internal.h"

#include <math.h>
#include <string.h>
#include <strings.h>

json_t *pk_audio_figure(double v)
{
    return isfinite(v) ? json_real(pk_round(v, 2)) : json_null();
}

pk_status pk_audio_pass(pk_ctx *ctx, const char *path, const char *label,
                        pk_status (*begin)(void *user, pk_source *src), pk_block_fn fn,
                        void *user, int64_t *errors)
{
    pk_source_options opts;
    pk_source_options_init(&opts);
    opts.streams = PK_STREAM_AUDIO;
    pk_source *src;
    pk_status st = pk_source_open(ctx, path, &opts, &src);
    if (st != PK_OK)
        return st;
    const pk_audio_info *a = pk_source_audio(src);
    if (!a) {
        pk_source_free(src);
        return pk_fail(ctx, PK_ERR_INPUT, path, "no audio stream");
    }
    if (begin && (st = begin(user, src)) != PK_OK) {
        pk_source_free(src);
        /* Messages about the stream (rate, channels) should name the file. */
        const char *msg = pk_ctx_errmsg(ctx);
        if (strncmp(msg, path, strlen(path)) != 0) {
            char copy[1024];
            snprintf(copy, sizeof copy, "%s", msg);
            pk_fail(ctx, st, path, "%s", copy);
        }
        return st;
    }
    if (label)
        pk_progress_begin(ctx, label, a->duration, "s");
    int64_t bad = 0;
    pk_item it;
    while ((st = pk_source_next(src, &it)) == PK_OK && it.type != PK_ITEM_END) {
        if (it.type == PK_ITEM_DECODE_ERROR) {
            if (bad++ < 10)
                pk_log(ctx, PK_LOG_WARNING, "%s: decode error at %.3f s: %s", path, it.error_time,
                       it.error);
            continue;
        }
        if (it.type != PK_ITEM_AUDIO)
            continue;
        if ((st = fn(user, it.audio)) != PK_OK)
            break;
        if (label)
            pk_progress_update(ctx, it.audio->time + (double)it.audio->frames / it.audio->rate);
    }
    if (label)
        pk_progress_end(ctx);
    if (errors)
        *errors = bad;
    pk_source_free(src);
    return st;
}

pk_status pk_audio_meter_for(pk_ctx *ctx, const pk_audio_info *a, int threads,
                             void (*on_update)(void *, double, double, double), void *user,
                             pk_loudness **out)
{
    pk_loudness_options o;
    pk_loudness_options_init(&o, a->rate, a->channels);
    o.layout = a->delivered_layout[0] ? a->delivered_layout : NULL;
    o.threads = threads;
    o.on_update = on_update;
    o.user = user;
    pk_status st = pk_loudness_new(ctx, &o, out);
    if (st == PK_ERR_USAGE && o.layout) {
        /* A layout FFmpeg names but we cannot place ("2 channels" with an
         * unknown order): weigh the channels as front channels. */
        o.layout = NULL;
        st = pk_loudness_new(ctx, &o, out);
    }
    /* An unsupported rate or channel count is a property of the input. */
    return st == PK_ERR_USAGE ? PK_ERR_INPUT : st;
}

typedef struct measure_job {
    pk_ctx *ctx;
    int threads;
    pk_loudness *meter;
    pk_audio_info info;
} measure_job;

static pk_status measure_begin(void *user, pk_source *src)
{
    measure_job *j = user;
    const pk_audio_info *a = pk_source_audio(src);
    j->info = *a;
    j->info.codec = NULL;
    return pk_audio_meter_for(j->ctx, a, j->threads, NULL, NULL, &j->meter);
}

static pk_status measure_block(void *user, const pk_audio_block *b)
{
    measure_job *j = user;
    return pk_loudness_add(j->meter, b->interleaved, b->frames);
}

pk_status pk_audio_measure(pk_ctx *ctx, const char *path, int threads, pk_loudness **out,
                           pk_audio_info *info)
{
    measure_job j = {.ctx = ctx, .threads = threads};
    pk_status st = pk_audio_pass(ctx, path, NULL, measure_begin, measure_block, &j, NULL);
    if (st != PK_OK) {
        pk_loudness_free(j.meter);
        return st;
    }
    pk_loudness_finish(j.meter, NULL);
    *out = j.meter;
    if (info)
        *info = j.info;
    return PK_OK;
}

/* ---- sinks -------------------------------------------------------------- */

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

pk_status pk_audio_sink_open(pk_run *run, const char *in_path, const pk_audio_info *a,
                             const char *const *tags, pk_output *out, pk_audio_sink *sink)
{
    pk_ctx *ctx = pk_run_ctx(run);
    const char *out_path = pk_output_path(out);
    const char *ext = extension(out_path);
    int flac = strcasecmp(ext, "flac") == 0, wav = strcasecmp(ext, "wav") == 0;
    memset(sink, 0, sizeof *sink);
    pk_audio_format *f = &sink->fmt;
    f->rate = a->rate;
    f->channels = a->channels;
    snprintf(f->layout, sizeof f->layout, "%s", a->delivered_layout);
    if (!flac && !wav) {
        /* Same container family and codec as the input; bits 0 keeps the
         * original depth for PCM and lossless codecs. */
        sink->remuxed = 1;
        return pk_remux_open(ctx, in_path, a->stream_index, pk_output_tmp_path(out), out_path, f,
                             &sink->remux);
    }
    if (a->is_float && wav) {
        f->bits = 32;
        f->is_float = 1;
    } else if (a->bits == 0 || a->is_float || (a->bits > 24 && flac)) {
        f->bits = 24;
    } else {
        f->bits = a->bits <= 16 ? 16 : a->bits <= 24 ? 24 : 32;
    }
    return pk_audio_writer_open(ctx, pk_output_tmp_path(out), out_path, f, tags, &sink->writer);
}

pk_status pk_audio_sink_write(pk_audio_sink *sink, const float *x, int64_t frames)
{
    /* The writers take an int count; blocks here are small, but stay safe. */
    while (frames > 0) {
        int n = frames > (1 << 20) ? (1 << 20) : (int)frames;
        pk_status st = sink->writer ? pk_audio_writer_write(sink->writer, x, n)
                                    : pk_remux_write_audio(sink->remux, x, n);
        if (st != PK_OK)
            return st;
        x += (int64_t)n * sink->fmt.channels;
        frames -= n;
    }
    return PK_OK;
}

pk_status pk_audio_sink_close(pk_audio_sink *sink)
{
    return sink->writer ? pk_audio_writer_close(sink->writer) : pk_remux_close(sink->remux);
}

void pk_audio_sink_free(pk_audio_sink *sink)
{
    pk_audio_writer_free(sink->writer);
    pk_remux_free(sink->remux);
    sink->writer = NULL;
    sink->remux = NULL;
}


/*
 * audio_writer.c — WAV and FLAC files that keep the source's format: rate,
 * channel layout, bit depth, tags.
 *
 * Why this shape: FFmpeg's muxers already know the details that are easy
 * to get wrong by hand (WAVE_FORMAT_EXTENSIBLE and its channel mask, RF64
 * beyond 4 GB, FLAC's STREAMINFO and Vorbis comments), so the writer is an
 * encoder (audio_encode.c: rounding, clipping count, dither) feeding one of
 * those muxers. The caller gives the final file name for choosing the
 * format because it writes to a safe output's temporary name.
 */
#include "media/internal.h"

#include <stdlib.h>
#include <string.h>

#include <postkit/media.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>

struct pk_audio_writer {
    pk_ctx *ctx;
    char *path;
    AVFormatContext *oc;
    AVStream *st;
    pk_aenc *enc;
    int channels;
    int closed;
};

/* The layout asked for: by name, or FFmpeg's default for the count. */
static pk_status parse_layout(pk_ctx *ctx, const char *path, const pk_audio_format *fmt, AVChannelLayout *out)
{
    if (fmt->layout[0]) {
        if (av_channel_layout_from_string(out, fmt->layout) < 0)
            return pk_fail(ctx, PK_ERR_USAGE, path, "unknown channel layout '%s'", fmt->layout);
        if (fmt->channels > 0 && out->nb_channels != fmt->channels) {
            av_channel_layout_uninit(out);
            return pk_fail(ctx, PK_ERR_USAGE, path, "channel layout '%s' does not have %d channels", fmt->layout,
                           fmt->channels);
        }
        return PK_OK;
    }
    if (fmt->channels <= 0 || fmt->channels > 64)
        return pk_fail(ctx, PK_ERR_USAGE, path, "invalid channel count %d", fmt->channels);
    av_channel_layout_default(out, fmt->channels);
    return PK_OK;
}

static pk_status write_packet(void *user, AVPacket *pkt)
{
    pk_audio_writer *w = user;
    pkt->stream_index = 0;
    av_packet_rescale_ts(pkt, pk_aenc_codec(w->enc)->time_base, w->st->time_base);
    int rc = av_interleaved_write_frame(w->oc, pkt);
    if (rc < 0)
        return pk_ffmpeg_fail(w->ctx, PK_ERR_OUTPUT, w->path, "cannot write", rc);
    return PK_OK;
}

/* The codec for a container and a sample format; PK_ERR_USAGE for a
 * combination the container cannot hold. */
static pk_status pick_codec(pk_ctx *ctx, const char *path, const char *muxer, const pk_audio_format *fmt,
                            enum AVCodecID *id)
{
    int wav = strcmp(muxer, "wav") == 0;
    if (fmt->is_float) {
        if (!wav || fmt->bits != 32)
            return pk_fail(ctx, PK_ERR_USAGE, path, "float samples are written to WAV as 32-bit only");
        *id = AV_CODEC_ID_PCM_F32LE;
        return PK_OK;
    }
    switch (fmt->bits) {
    case 16: *id = wav ? AV_CODEC_ID_PCM_S16LE : AV_CODEC_ID_FLAC; return PK_OK;
    case 24: *id = wav ? AV_CODEC_ID_PCM_S24LE : AV_CODEC_ID_FLAC; return PK_OK;
    case 32:
        if (wav) {
            *id = AV_CODEC_ID_PCM_S32LE;
            return PK_OK;
        }
        return pk_fail(ctx, PK_ERR_USAGE, path, "FLAC holds 16 or 24 bits, not 32 (write WAV for 32-bit)");
    default: return pk_fail(ctx, PK_ERR_USAGE, path, "cannot write %d-bit samples (16, 24 or 32)", fmt->bits);
    }
}

pk_status pk_audio_writer_open(pk_ctx *ctx, const char *path, const char *format_name, const pk_audio_format *fmt,
                               const char *const *tags, pk_audio_writer **out)
{
    *out = NULL;
    const AVOutputFormat *of = pk_ffmpeg_guess_muxer(format_name, path);
    if (!of || (strcmp(of->name, "wav") != 0 && strcmp(of->name, "flac") != 0))
        return pk_fail(ctx, PK_ERR_USAGE, format_name ? format_name : path,
                       "audio is written as WAV or FLAC (.wav, .flac)");
    enum AVCodecID id = AV_CODEC_ID_NONE;
    pk_status st = pick_codec(ctx, path, of->name, fmt, &id);
    if (st != PK_OK)
        return st;
    if (fmt->rate <= 0 || fmt->rate > 1000000)
        return pk_fail(ctx, PK_ERR_USAGE, path, "invalid sample rate %d", fmt->rate);
    AVChannelLayout layout = {0};
    if ((st = parse_layout(ctx, path, fmt, &layout)) != PK_OK)
        return st;

    pk_audio_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        av_channel_layout_uninit(&layout);
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    }
    w->ctx = ctx;
    w->channels = layout.nb_channels;
    int rc = avformat_alloc_output_context2(&w->oc, of, NULL, path);
    if (rc < 0) {
        st = pk_ffmpeg_fail(ctx, PK_ERR_INTERNAL, path, "cannot set up the muxer", rc);
        goto fail;
    }
    /* No "Lavf" version strings: the same input gives the same bytes. */
    w->oc->flags |= AVFMT_FLAG_BITEXACT;
    pk_aenc_setup setup = {
        .encoder = avcodec_find_encoder(id),
        .rate = fmt->rate,
        .layout = &layout,
        .bits = fmt->is_float ? 0 : fmt->bits,
        .dither = !fmt->no_dither,
        .bitexact = 1,
    };
    if (!setup.encoder) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, path, "FFmpeg has no %s encoder", avcodec_get_name(id));
        goto fail;
    }
    if ((st = pk_aenc_open(ctx, w->path, &setup, write_packet, w, &w->enc)) != PK_OK)
        goto fail;
    w->st = avformat_new_stream(w->oc, NULL);
    if (!w->st || avcodec_parameters_from_context(w->st->codecpar, pk_aenc_codec(w->enc)) < 0) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
        goto fail;
    }
    w->st->time_base = (AVRational){1, fmt->rate};
    for (size_t i = 0; tags && tags[i] && tags[i + 1]; i += 2)
        av_dict_set(&w->oc->metadata, tags[i], tags[i + 1], 0);
    pk_ffmpeg_clear_error();
    if ((rc = avio_open(&w->oc->pb, path, AVIO_FLAG_WRITE)) < 0) {
        st = pk_ffmpeg_fail(ctx, PK_ERR_OUTPUT, path, "cannot create", rc);
        goto fail;
    }
    AVDictionary *opts = NULL;
    if (strcmp(of->name, "wav") == 0)
        av_dict_set(&opts, "rf64", "auto", 0); /* beyond 4 GB, RF64 instead of a broken header */
    rc = avformat_write_header(w->oc, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        st = pk_ffmpeg_fail(ctx, PK_ERR_OUTPUT, path, "cannot write the header", rc);
        goto fail;
    }
    av_channel_layout_uninit(&layout);
    *out = w;
    return PK_OK;
fail:
    av_channel_layout_uninit(&layout);
    pk_audio_writer_free(w);
    return st;
}

pk_status pk_audio_writer_write(pk_audio_writer *w, const float *interleaved, int frames)
{
    if (w->closed || frames < 0)
        return pk_fail(w->ctx, PK_ERR_INTERNAL, w->path, "write after close");
    return pk_aenc_write(w->enc, interleaved, frames);
}

pk_status pk_audio_writer_close(pk_audio_writer *w)
{
    if (w->closed)
        return PK_OK;
    w->closed = 1;
    pk_status st = pk_aenc_flush(w->enc);
    if (st != PK_OK)
        return st;
    pk_ffmpeg_clear_error();
    int rc = av_write_trailer(w->oc);
    if (rc < 0)
        return pk_ffmpeg_fail(w->ctx, PK_ERR_OUTPUT, w->path, "cannot finish the file", rc);
    avio_flush(w->oc->pb);
    int werr = w->oc->pb->error;
    rc = avio_closep(&w->oc->pb);
    if (werr < 0 || rc < 0)
        return pk_ffmpeg_fail(w->ctx, PK_ERR_OUTPUT, w->path, "cannot write", werr < 0 ? werr : rc);
    return PK_OK;
}

int64_t pk_audio_writer_clipped(const pk_audio_writer *w) { return pk_aenc_clipped(w->enc); }
int64_t pk_audio_writer_frames(const pk_audio_writer *w) { return pk_aenc_frames(w->enc); }
int pk_audio_writer_dithered(const pk_audio_writer *w) { return pk_aenc_dithered(w->enc); }

void pk_audio_writer_free(pk_audio_writer *w)
{
    if (!w)
        return;
    pk_aenc_free(w->enc);
    if (w->oc) {
        if (w->oc->pb)
            avio_closep(&w->oc->pb);
        avformat_free_context(w->oc);
    }
    free(w->path);
    free(w);
}

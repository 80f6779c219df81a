/*
 * audio_encode.c — float samples in, encoded packets out: the part of the
 * audio writer and of the remuxer that is the same.
 *
 * Why this shape: both feed an FFmpeg encoder from interleaved float blocks
 * of any size, and encoders want frames of exactly their frame_size in their
 * own sample format — so the samples are converted once into the encoder's
 * format, kept in an AVAudioFifo, and cut into frames; the packets go to a
 * callback (a muxer). The float-to-integer step is done here rather than by
 * libswresample because it must (1) count the samples clipped at full scale,
 * which swresample does silently, (2) decide per block whether 16-bit output
 * needs dither — none for samples already on 16-bit steps, so a 16-bit round
 * trip stays bit-exact — and (3) round to the target's own steps (24-bit
 * inside 32-bit words) instead of truncating. It is a few lines of
 * arithmetic; the encoding itself is all FFmpeg's.
 */
#include "media/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>

/* Samples converted per step; bounds the scratch buffer. */
#define CHUNK 4096

struct pk_aenc {
    pk_ctx *ctx;
    const char *path;
    AVCodecContext *enc;
    AVAudioFifo *fifo;
    uint8_t **conv;
    int frame_size;           /* frames per encoder call */
    int quant_bits;           /* 16, 24, 32 for integer formats, 0 float */
    int allow_dither;
    uint64_t rng;
    int64_t clipped;
    int dithered;
    int64_t frames;
    int64_t next_pts;
    AVFrame *frame;
    AVPacket *pkt;
    pk_aenc_packet_fn fn;
    void *user;
};

const AVCodec *pk_aenc_find_encoder(int codec_id)
{
    static const struct {
        enum AVCodecID id;
        const char *name;
    } preferred[] = {
        {AV_CODEC_ID_MP3, "libmp3lame"},
        {AV_CODEC_ID_OPUS, "libopus"},
        {AV_CODEC_ID_VORBIS, "libvorbis"},
        {AV_CODEC_ID_AAC, "aac"},
    };
    for (size_t i = 0; i < PK_ARRAY_LEN(preferred); i++) {
        if (preferred[i].id == (enum AVCodecID)codec_id) {
            const AVCodec *c = avcodec_find_encoder_by_name(preferred[i].name);
            if (c)
                return c;
        }
    }
    const AVCodec *c = avcodec_find_encoder((enum AVCodecID)codec_id);
    /* An experimental encoder would make a file other tools may not read. */
    if (c && (c->capabilities & AV_CODEC_CAP_EXPERIMENTAL))
        return NULL;
    return c;
}

/* xorshift64*: a small, fast generator; one state per encoder so output is
 * reproducible and threads never share it. */
static double uniform01(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53;
}

/* Triangular noise in (-1, 1) LSB: the sum of two uniform +-0.5 LSB. */
static double tpdf(uint64_t *state)
{
    return uniform01(state) + uniform01(state) - 1.0;
}

static enum AVSampleFormat choose_format(const AVCodec *codec, int bits)
{
    static const enum AVSampleFormat lossy[] = {AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_S32P,
                                                AV_SAMPLE_FMT_S32, AV_SAMPLE_FMT_S16P, AV_SAMPLE_FMT_S16,
                                                AV_SAMPLE_FMT_NONE};
    static const enum AVSampleFormat s16[] = {AV_SAMPLE_FMT_S16, AV_SAMPLE_FMT_S16P, AV_SAMPLE_FMT_S32,
                                              AV_SAMPLE_FMT_S32P, AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_FLTP,
                                              AV_SAMPLE_FMT_NONE};
    static const enum AVSampleFormat s32[] = {AV_SAMPLE_FMT_S32, AV_SAMPLE_FMT_S32P, AV_SAMPLE_FMT_FLT,
                                              AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_S16, AV_SAMPLE_FMT_S16P,
                                              AV_SAMPLE_FMT_NONE};
    const enum AVSampleFormat *prefs = bits == 0 ? lossy : bits <= 16 ? s16 : s32;
    if (!codec->sample_fmts)
        return prefs[0];
    for (int i = 0; prefs[i] != AV_SAMPLE_FMT_NONE; i++)
        for (int j = 0; codec->sample_fmts[j] != AV_SAMPLE_FMT_NONE; j++)
            if (codec->sample_fmts[j] == prefs[i])
                return prefs[i];
    return codec->sample_fmts[0];
}

static int format_supported(enum AVSampleFormat f)
{
    switch (av_get_packed_sample_fmt(f)) {
    case AV_SAMPLE_FMT_U8:
    case AV_SAMPLE_FMT_S16:
    case AV_SAMPLE_FMT_S32:
    case AV_SAMPLE_FMT_FLT:
    case AV_SAMPLE_FMT_DBL: return 1;
    default: return 0;
    }
}

pk_status pk_aenc_open(pk_ctx *ctx, const char *path, const pk_aenc_setup *setup, pk_aenc_packet_fn fn,
                       void *user, pk_aenc **out)
{
    *out = NULL;
    const AVCodec *codec = setup->encoder;
    if (setup->rate <= 0 || setup->layout->nb_channels <= 0)
        return pk_fail(ctx, PK_ERR_USAGE, path, "invalid audio format (%d Hz, %d channels)", setup->rate,
                       setup->layout->nb_channels);
    if (codec->supported_samplerates) {
        int ok = 0;
        char list[256] = "";
        size_t used = 0;
        for (int i = 0; codec->supported_samplerates[i]; i++) {
            ok |= codec->supported_samplerates[i] == setup->rate;
            if (used < sizeof list - 16)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%d", i ? ", " : "",
                                         codec->supported_samplerates[i]);
        }
        if (!ok)
            return pk_fail(ctx, PK_ERR_USAGE, path, "the %s encoder cannot take %d Hz (it takes %s)",
                           codec->name, setup->rate, list);
    }
    pk_aenc *e = calloc(1, sizeof *e);
    if (!e)
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    e->ctx = ctx;
    e->path = path;
    e->fn = fn;
    e->user = user;
    e->rng = 0x9E3779B97F4A7C15ULL;
    e->allow_dither = setup->dither;
    e->next_pts = setup->start_pts;
    pk_status st = PK_OK;
    AVCodecContext *c = e->enc = avcodec_alloc_context3(codec);
    if (!c || av_channel_layout_copy(&c->ch_layout, setup->layout) < 0) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
        goto fail;
    }
    c->sample_rate = setup->rate;
    c->time_base = (AVRational){1, setup->rate};
    c->sample_fmt = choose_format(codec, setup->bits);
    if (!format_supported(c->sample_fmt)) {
        st = pk_fail(ctx, PK_ERR_USAGE, path, "the %s encoder wants samples as %s, which postkit cannot give",
                     codec->name, av_get_sample_fmt_name(c->sample_fmt));
        goto fail;
    }
    enum AVSampleFormat packed = av_get_packed_sample_fmt(c->sample_fmt);
    e->quant_bits = packed == AV_SAMPLE_FMT_S16   ? 16
                    : packed == AV_SAMPLE_FMT_U8  ? 8
                    : packed == AV_SAMPLE_FMT_S32 ? (setup->bits == 24 || codec->id == AV_CODEC_ID_PCM_S24LE ||
                                                     codec->id == AV_CODEC_ID_PCM_S24BE ? 24 : 32)
                                                  : 0;
    if (e->quant_bits)
        c->bits_per_raw_sample = e->quant_bits;
    if (setup->bit_rate > 0)
        c->bit_rate = setup->bit_rate;
    if (setup->global_header)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (setup->bitexact)
        c->flags |= AV_CODEC_FLAG_BITEXACT;
    pk_ffmpeg_clear_error();
    int rc = avcodec_open2(c, codec, NULL);
    if (rc < 0) {
        char layout[64] = "";
        av_channel_layout_describe(setup->layout, layout, sizeof layout);
        char what[192];
        snprintf(what, sizeof what, "the %s encoder cannot encode %d Hz %s", codec->name, setup->rate, layout);
        st = pk_ffmpeg_fail(ctx, PK_ERR_USAGE, path, what, rc);
        goto fail;
    }
    e->frame_size = c->frame_size > 0 && !(codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE)
                        ? c->frame_size
                        : CHUNK;
    int channels = c->ch_layout.nb_channels;
    e->fifo = av_audio_fifo_alloc(c->sample_fmt, channels, e->frame_size + CHUNK);
    e->frame = av_frame_alloc();
    e->pkt = av_packet_alloc();
    if (!e->fifo || !e->frame || !e->pkt ||
        av_samples_alloc_array_and_samples(&e->conv, NULL, channels, CHUNK, c->sample_fmt, 0) < 0) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
        goto fail;
    }
    *out = e;
    return PK_OK;
fail:
    pk_aenc_free(e);
    return st;
}

AVCodecContext *pk_aenc_codec(pk_aenc *e) { return e->enc; }
int64_t pk_aenc_clipped(const pk_aenc *e) { return e->clipped; }
int64_t pk_aenc_frames(const pk_aenc *e) { return e->frames; }
int pk_aenc_dithered(const pk_aenc *e) { return e->dithered; }

void pk_aenc_free(pk_aenc *e)
{
    if (!e)
        return;
    avcodec_free_context(&e->enc);
    if (e->fifo)
        av_audio_fifo_free(e->fifo);
    if (e->conv)
        av_freep(&e->conv[0]);
    av_freep(&e->conv);
    av_frame_free(&e->frame);
    av_packet_free(&e->pkt);
    free(e);
}

/* Are all samples exactly on the steps of a `bits`-bit integer format? */
static int on_grid(const float *in, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++) {
        double v = (double)in[i] * scale;
        if (v != rint(v))
            return 0;
    }
    return 1;
}

/* Convert `frames` interleaved samples into e->conv in the encoder's format. */
static void convert(pk_aenc *e, const float *in, int frames)
{
    int ch = e->enc->ch_layout.nb_channels;
    enum AVSampleFormat fmt = e->enc->sample_fmt;
    int planar = av_sample_fmt_is_planar(fmt);
    enum AVSampleFormat packed = av_get_packed_sample_fmt(fmt);
    size_t n = (size_t)frames * (size_t)ch;
    if (packed == AV_SAMPLE_FMT_FLT || packed == AV_SAMPLE_FMT_DBL) {
        for (size_t i = 0; i < n; i++) {
            size_t c = i % (size_t)ch, f = i / (size_t)ch;
            size_t at = planar ? f : i;
            uint8_t *base = e->conv[planar ? c : 0];
            if (packed == AV_SAMPLE_FMT_FLT)
                ((float *)base)[at] = in[i];
            else
                ((double *)base)[at] = in[i];
        }
        return;
    }
    int bits = e->quant_bits;
    double scale = ldexp(1.0, bits - 1);
    double hi = scale - 1.0, lo = -scale;
    int dither = 0;
    if (bits <= 16 && e->allow_dither && !on_grid(in, n, scale)) {
        dither = 1;
        e->dithered = 1;
    }
    for (size_t i = 0; i < n; i++) {
        double v = (double)in[i] * scale;
        if (v != v)
            v = 0.0; /* NaN: silence rather than an undefined conversion */
        double r = rint(v);
        if (r > hi || r < lo) {
            e->clipped++;
            v = r > hi ? hi : lo;
        } else if (dither) {
            v = rint(v + tpdf(&e->rng));
            v = v > hi ? hi : v < lo ? lo : v;
        } else {
            v = r;
        }
        size_t c = i % (size_t)ch, f = i / (size_t)ch;
        size_t at = planar ? f : i;
        uint8_t *base = e->conv[planar ? c : 0];
        if (packed == AV_SAMPLE_FMT_S16)
            ((int16_t *)base)[at] = (int16_t)v;
        else if (packed == AV_SAMPLE_FMT_U8)
            ((uint8_t *)base)[at] = (uint8_t)((int)v + 128);
        else /* S32: 24-bit values sit in the top bits */
            ((int32_t *)base)[at] = (int32_t)((int64_t)v * (bits == 24 ? 256 : 1));
    }
}

static pk_status drain(pk_aenc *e)
{
    for (;;) {
        int rc = avcodec_receive_packet(e->enc, e->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return PK_OK;
        if (rc < 0)
            return pk_ffmpeg_fail(e->ctx, PK_ERR_INTERNAL, e->path, "encoding failed", rc);
        pk_status st = e->fn(e->user, e->pkt);
        av_packet_unref(e->pkt);
        if (st != PK_OK)
            return st;
    }
}

static pk_status encode_frames(pk_aenc *e, int n)
{
    AVFrame *f = e->frame;
    av_frame_unref(f);
    f->nb_samples = n;
    f->format = e->enc->sample_fmt;
    f->sample_rate = e->enc->sample_rate;
    int rc = av_channel_layout_copy(&f->ch_layout, &e->enc->ch_layout);
    if (rc >= 0)
        rc = av_frame_get_buffer(f, 0);
    if (rc < 0)
        return pk_fail(e->ctx, PK_ERR_INTERNAL, e->path, "out of memory");
    if (av_audio_fifo_read(e->fifo, (void **)f->extended_data, n) < n)
        return pk_fail(e->ctx, PK_ERR_INTERNAL, e->path, "audio queue underrun");
    f->pts = e->next_pts;
    e->next_pts += n;
    pk_ffmpeg_clear_error();
    rc = avcodec_send_frame(e->enc, f);
    if (rc < 0)
        return pk_ffmpeg_fail(e->ctx, PK_ERR_INTERNAL, e->path, "encoding failed", rc);
    return drain(e);
}

pk_status pk_aenc_write(pk_aenc *e, const float *interleaved, int frames)
{
    int ch = e->enc->ch_layout.nb_channels;
    while (frames > 0) {
        int n = frames < CHUNK ? frames : CHUNK;
        convert(e, interleaved, n);
        if (av_audio_fifo_write(e->fifo, (void **)e->conv, n) < n)
            return pk_fail(e->ctx, PK_ERR_INTERNAL, e->path, "out of memory");
        e->frames += n;
        interleaved += (size_t)n * (size_t)ch;
        frames -= n;
        while (av_audio_fifo_size(e->fifo) >= e->frame_size) {
            pk_status st = encode_frames(e, e->frame_size);
            if (st != PK_OK)
                return st;
        }
    }
    return PK_OK;
}

pk_status pk_aenc_flush(pk_aenc *e)
{
    int left = av_audio_fifo_size(e->fifo);
    if (left > 0) {
        int caps = e->enc->codec->capabilities;
        if (left < e->frame_size && !(caps & (AV_CODEC_CAP_SMALL_LAST_FRAME | AV_CODEC_CAP_VARIABLE_FRAME_SIZE))) {
            /* The encoder only takes whole frames: pad the last one with
             * silence (the container's duration still says the truth for
             * codecs that record it). */
            int pad = e->frame_size - left;
            uint8_t **zeros = NULL;
            if (av_samples_alloc_array_and_samples(&zeros, NULL, e->enc->ch_layout.nb_channels, pad,
                                                   e->enc->sample_fmt, 0) < 0)
                return pk_fail(e->ctx, PK_ERR_INTERNAL, e->path, "out of memory");
            av_samples_set_silence(zeros, 0, pad, e->enc->ch_layout.nb_channels, e->enc->sample_fmt);
            int rc = av_audio_fifo_write(e->fifo, (void **)zeros, pad);
            av_freep(&zeros[0]);
            av_freep(&zeros);
            if (rc < pad)
                return pk_fail(e->ctx, PK_ERR_INTERNAL, e->path, "out of memory");
            left = e->frame_size;
        }
        pk_status st = encode_frames(e, left);
        if (st != PK_OK)
            return st;
    }
    pk_ffmpeg_clear_error();
    int rc = avcodec_send_frame(e->enc, NULL);
    if (rc < 0 && rc != AVERROR_EOF)
        return pk_ffmpeg_fail(e->ctx, PK_ERR_INTERNAL, e->path, "encoding failed", rc);
    return drain(e);
}

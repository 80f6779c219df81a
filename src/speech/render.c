/*
 * render.c — cut a media file down to a list of kept ranges.
 *
 * One pk_source decodes audio and video once. Video frames whose time falls
 * in a kept range are re-encoded (libx264 where the container takes H.264,
 * else the container's default encoder) with consecutive timestamps, so the
 * output has a constant frame rate and every cut is exact to the frame.
 * Audio is cut at the sample positions of the same frame boundaries and
 * re-encoded with the source's codec when the container takes it; at every
 * join the last `crossfade` seconds around the outgoing cut point and the
 * first around the incoming one are mixed with a raised-cosine fade, centred
 * on the cut so the audio keeps exactly the kept length (A/V sync holds at
 * every join, and no sample jumps). Decoding stops after the last range.
 *
 * Why re-encode everything rather than only around cuts: copying H.264
 * between re-encoded pieces needs parameter sets identical to the source's,
 * which an encoder cannot promise; the full re-encode is measured against
 * an ffmpeg concat of the same ranges in bench/cut.sh.
 */
#include "speech/internal.h"
#include "speech/render.h"
#include "media/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include <postkit/media.h>

typedef enum span_kind { SPAN_PLAIN, SPAN_FADE_OUT, SPAN_FADE_IN } span_kind;

typedef struct span {
    span_kind kind;
    int64_t start, end;   /* samples from the audio's first sample */
} span;

typedef struct render {
    pk_ctx *ctx;
    const pk_render_setup *s;
    AVFormatContext *out;
    /* video */
    AVCodecContext *venc;
    int vstream;
    struct SwsContext *sws;
    AVFrame *scaled;
    int64_t frames_out;
    AVPacket *pkt;
    /* audio */
    pk_aenc *aenc;
    int astream;
    int rate, channels;
    span *spans;
    size_t n_spans, si;
    int64_t cursor;       /* next audio position expected */
    float *fade_out, *fade_in, *mix, *zeros;
    int64_t fade;         /* samples in a crossfade (even) */
    int64_t samples_out;
    bool audio_done, video_done;
} render;

static pk_status write_packet(render *r, AVPacket *pkt, int stream, AVRational tb)
{
    pkt->stream_index = stream;
    av_packet_rescale_ts(pkt, tb, r->out->streams[stream]->time_base);
    int rc = av_interleaved_write_frame(r->out, pkt);
    if (rc < 0)
        return pk_ffmpeg_fail(r->ctx, PK_ERR_OUTPUT, r->s->out_name, "cannot write", rc);
    return PK_OK;
}

static pk_status audio_packet(void *user, AVPacket *pkt)
{
    render *r = user;
    return write_packet(r, pkt, r->astream, (AVRational){1, r->rate});
}

static pk_status drain_video(render *r)
{
    for (;;) {
        int rc = avcodec_receive_packet(r->venc, r->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return PK_OK;
        if (rc < 0)
            return pk_ffmpeg_fail(r->ctx, PK_ERR_INTERNAL, r->s->out_name, "video encoding failed", rc);
        pk_status st = write_packet(r, r->pkt, r->vstream, r->venc->time_base);
        av_packet_unref(r->pkt);
        if (st != PK_OK)
            return st;
    }
}

static pk_status encode_frame(render *r, const AVFrame *src)
{
    AVFrame *f;
    if (src->format != r->venc->pix_fmt || src->width != r->venc->width || src->height != r->venc->height) {
        r->sws = sws_getCachedContext(r->sws, src->width, src->height, src->format, r->venc->width,
                                      r->venc->height, r->venc->pix_fmt, SWS_BICUBIC, NULL, NULL, NULL);
        if (!r->sws)
            return pk_fail(r->ctx, PK_ERR_INTERNAL, r->s->in, "cannot convert video frames");
        if (!r->scaled) {
            if (!(r->scaled = av_frame_alloc()))
                return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
            r->scaled->format = r->venc->pix_fmt;
            r->scaled->width = r->venc->width;
            r->scaled->height = r->venc->height;
            if (av_frame_get_buffer(r->scaled, 0) < 0)
                return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        }
        if (av_frame_make_writable(r->scaled) < 0)
            return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        sws_scale(r->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, r->scaled->data,
                  r->scaled->linesize);
        f = av_frame_clone(r->scaled);
    } else {
        f = av_frame_clone(src);
    }
    if (!f)
        return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    f->pts = r->frames_out++;
    f->pict_type = AV_PICTURE_TYPE_NONE;
    int rc = avcodec_send_frame(r->venc, f);
    av_frame_free(&f);
    if (rc < 0)
        return pk_ffmpeg_fail(r->ctx, PK_ERR_INTERNAL, r->s->out_name, "video encoding failed", rc);
    return drain_video(r);
}

/* ---- audio: spans and crossfades ---------------------------------------- */

static pk_status build_spans(render *r, const int64_t *a, const int64_t *b, size_t n)
{
    r->spans = calloc(3 * n, sizeof *r->spans);
    if (!r->spans)
        return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    int64_t h = r->fade / 2;
    for (size_t k = 0; k < n; k++) {
        int64_t ps = k == 0 ? a[k] : a[k] + h;
        int64_t pe = k + 1 == n ? b[k] : b[k] - h;
        r->spans[r->n_spans++] = (span){SPAN_PLAIN, ps, pe};
        if (k + 1 < n) {
            r->spans[r->n_spans++] = (span){SPAN_FADE_OUT, b[k] - h, b[k] + h};
            r->spans[r->n_spans++] = (span){SPAN_FADE_IN, a[k + 1] - h, a[k + 1] + h};
        }
    }
    return PK_OK;
}

/* Feed input samples [pos, pos + count) (NULL: silence) through the spans. */
static pk_status feed_audio(render *r, const float *x, int64_t pos, int64_t count)
{
    int ch = r->channels;
    int64_t end = pos + count;
    while (pos < end && r->si < r->n_spans) {
        span *sp = &r->spans[r->si];
        if (pos < sp->start) {
            int64_t skip = (sp->start < end ? sp->start : end) - pos;
            if (x)
                x += skip * ch;
            pos += skip;
            continue;
        }
        int64_t take = (sp->end < end ? sp->end : end) - pos;
        int64_t off = pos - sp->start;
        pk_status st = PK_OK;
        switch (sp->kind) {
        case SPAN_PLAIN:
            for (int64_t done = 0; done < take && st == PK_OK;) {
                int64_t nn = take - done > 4096 ? 4096 : take - done;
                st = pk_aenc_write(r->aenc, x ? x + done * ch : r->zeros, (int)nn);
                done += nn;
            }
            r->samples_out += take;
            break;
        case SPAN_FADE_OUT:
        case SPAN_FADE_IN: {
            float *dst = (sp->kind == SPAN_FADE_OUT ? r->fade_out : r->fade_in) + off * ch;
            if (x)
                memcpy(dst, x, (size_t)(take * ch) * sizeof *dst);
            else
                memset(dst, 0, (size_t)(take * ch) * sizeof *dst);
            if (sp->kind == SPAN_FADE_IN && off + take == sp->end - sp->start) {
                for (int64_t i = 0; i < r->fade; i++) {
                    double g = 0.5 - 0.5 * cos(M_PI * ((double)i + 0.5) / (double)r->fade);
                    for (int c = 0; c < ch; c++)
                        r->mix[i * ch + c] =
                            (float)(r->fade_out[i * ch + c] * (1 - g) + r->fade_in[i * ch + c] * g);
                }
                st = pk_aenc_write(r->aenc, r->mix, (int)r->fade);
                r->samples_out += r->fade;
            }
            break;
        }
        }
        if (st != PK_OK)
            return st;
        if (x)
            x += take * ch;
        pos += take;
        if (pos == sp->end)
            r->si++;
    }
    r->cursor = end > r->cursor ? end : r->cursor;
    if (r->si >= r->n_spans)
        r->audio_done = true;
    return PK_OK;
}

/* Silence from the cursor up to `pos` (input that is missing). */
static pk_status feed_silence(render *r, int64_t pos)
{
    while (r->cursor < pos && r->si < r->n_spans) {
        int64_t n = pos - r->cursor > 4096 ? 4096 : pos - r->cursor;
        /* Skip quickly over positions no span needs. */
        if (r->cursor + n <= r->spans[r->si].start) {
            int64_t to = r->spans[r->si].start < pos ? r->spans[r->si].start : pos;
            r->cursor = to;
            continue;
        }
        pk_status st = feed_audio(r, NULL, r->cursor, n);
        if (st != PK_OK)
            return st;
    }
    return PK_OK;
}

/* ---- setup ----------------------------------------------------------------- */

static const AVCodec *choose_video_encoder(const AVOutputFormat *of)
{
    const AVCodec *c = NULL;
    if (avformat_query_codec(of, AV_CODEC_ID_H264, FF_COMPLIANCE_NORMAL) == 1)
        c = avcodec_find_encoder_by_name("libx264");
    if (!c && of->video_codec != AV_CODEC_ID_NONE)
        c = avcodec_find_encoder(of->video_codec);
    return c;
}

static enum AVPixelFormat choose_pix_fmt(const AVCodec *c, enum AVPixelFormat want)
{
    if (!c->pix_fmts)
        return want;
    for (const enum AVPixelFormat *p = c->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
        if (*p == want)
            return want;
    return c->pix_fmts[0];
}

static pk_status open_video(render *r, const AVStream *ist)
{
    const pk_render_setup *s = r->s;
    const AVCodecParameters *p = ist->codecpar;
    const AVCodec *codec = choose_video_encoder(r->out->oformat);
    if (!codec)
        return pk_fail(r->ctx, PK_ERR_USAGE, s->out_name, "no video encoder for the %s container",
                       r->out->oformat->name);
    AVCodecContext *c = r->venc = avcodec_alloc_context3(codec);
    if (!c)
        return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    c->width = p->width;
    c->height = p->height;
    c->sample_aspect_ratio = p->sample_aspect_ratio;
    c->pix_fmt = choose_pix_fmt(codec, (enum AVPixelFormat)p->format);
    c->time_base = (AVRational){s->fps_den, s->fps_num};
    c->framerate = (AVRational){s->fps_num, s->fps_den};
    c->color_range = p->color_range;
    c->color_primaries = p->color_primaries;
    c->color_trc = p->color_trc;
    c->colorspace = p->color_space;
    c->chroma_sample_location = p->chroma_location;
    c->field_order = p->field_order;
    c->thread_count = 0;
    if (r->out->oformat->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *opts = NULL;
    if (strcmp(codec->name, "libx264") == 0) {
        char crf[16];
        snprintf(crf, sizeof crf, "%d", s->crf);
        av_dict_set(&opts, "crf", crf, 0);
        av_dict_set(&opts, "preset", s->preset, 0);
    } else if (p->bit_rate > 0) {
        c->bit_rate = p->bit_rate;
    }
    pk_ffmpeg_clear_error();
    int rc = avcodec_open2(c, codec, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        return pk_ffmpeg_fail(r->ctx, PK_ERR_INTERNAL, s->out_name, "cannot open the video encoder", rc);
    AVStream *ost = avformat_new_stream(r->out, NULL);
    if (!ost || avcodec_parameters_from_context(ost->codecpar, c) < 0)
        return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    ost->time_base = c->time_base;
    ost->avg_frame_rate = c->framerate;
    ost->sample_aspect_ratio = p->sample_aspect_ratio;
    for (int i = 0; i < ist->nb_side_data; i++) {
        const AVPacketSideData *sd = &ist->side_data[i];
        if (sd->type != AV_PKT_DATA_DISPLAYMATRIX)
            continue; /* rotation: the picture is unchanged, so players must still turn it */
        uint8_t *d = av_stream_new_side_data(ost, sd->type, sd->size);
        if (!d)
            return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        memcpy(d, sd->data, sd->size);
    }
    av_dict_copy(&ost->metadata, ist->metadata, 0);
    r->vstream = ost->index;
    return PK_OK;
}

static pk_status open_audio(render *r, const AVStream *ist)
{
    const AVCodecParameters *p = ist->codecpar;
    const AVOutputFormat *of = r->out->oformat;
    const AVCodec *enc = NULL;
    if (of->audio_codec == AV_CODEC_ID_PCM_S16LE) {
        /* WAV and its kin: PCM at the source's depth (24 bits for lossy
         * sources), not the source's codec even when the muxer takes it. */
        int b = pk_ffmpeg_audio_bits(p);
        enc = avcodec_find_encoder(b > 0 && b <= 16 ? AV_CODEC_ID_PCM_S16LE : AV_CODEC_ID_PCM_S24LE);
    } else if (avformat_query_codec(of, p->codec_id, FF_COMPLIANCE_NORMAL) == 1) {
        enc = pk_aenc_find_encoder(p->codec_id);
    }
    if (!enc)
        enc = pk_aenc_find_encoder(of->audio_codec);
    if (!enc)
        return pk_fail(r->ctx, PK_ERR_USAGE, r->s->out_name, "no audio encoder for the %s container", of->name);
    const AVCodecDescriptor *d = avcodec_descriptor_get(enc->id);
    bool lossless = d && (d->props & AV_CODEC_PROP_LOSSLESS);
    int bits = lossless ? (pk_ffmpeg_audio_bits(p) > 0 ? pk_ffmpeg_audio_bits(p)
                                                      : enc->id == AV_CODEC_ID_PCM_S24LE ? 24 : 16)
                        : 0;
    int64_t br = p->bit_rate > 0 && enc->id == p->codec_id ? p->bit_rate : 96000LL * p->ch_layout.nb_channels;
    if (br > 320000 && !lossless)
        br = 320000;
    pk_aenc_setup setup = {
        .encoder = enc,
        .rate = r->rate,
        .layout = &p->ch_layout,
        .bits = bits,
        .bit_rate = lossless ? 0 : br,
        .dither = 1,
        .global_header = (of->flags & AVFMT_GLOBALHEADER) != 0,
        .start_pts = 0,
    };
    pk_status st = pk_aenc_open(r->ctx, r->s->out_name, &setup, audio_packet, r, &r->aenc);
    if (st != PK_OK)
        return st;
    AVStream *ost = avformat_new_stream(r->out, NULL);
    if (!ost || avcodec_parameters_from_context(ost->codecpar, pk_aenc_codec(r->aenc)) < 0)
        return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    ost->time_base = (AVRational){1, r->rate};
    av_dict_copy(&ost->metadata, ist->metadata, 0);
    r->astream = ost->index;
    return PK_OK;
}

/* Open the output with the input's video and audio streams' parameters. */
static pk_status open_output(render *r, pk_source *src)
{
    const pk_render_setup *s = r->s;
    AVFormatContext *in;
    pk_status st = pk_ffmpeg_open(r->ctx, s->in, &in);
    if (st != PK_OK)
        return st;
    const pk_audio_info *ai = pk_source_audio(src);
    const pk_video_info *vi = pk_source_video(src);
    const AVOutputFormat *of = pk_ffmpeg_guess_muxer(s->out_name, s->out_name);
    int rc;
    if (!of) {
        st = pk_fail(r->ctx, PK_ERR_USAGE, s->out_name, "no container format for this extension");
    } else if ((rc = avformat_alloc_output_context2(&r->out, of, NULL, s->out_tmp)) < 0) {
        st = pk_ffmpeg_fail(r->ctx, PK_ERR_INTERNAL, s->out_name, "cannot set up the muxer", rc);
    } else {
        if (vi && of->video_codec != AV_CODEC_ID_NONE)
            st = open_video(r, in->streams[vi->stream_index]);
        else
            r->video_done = true;
        if (st == PK_OK && ai)
            st = open_audio(r, in->streams[ai->stream_index]);
        av_dict_copy(&r->out->metadata, in->metadata, 0);
    }
    avformat_close_input(&in);
    if (st != PK_OK)
        return st;
    if (!(of->flags & AVFMT_NOFILE) && (rc = avio_open(&r->out->pb, s->out_tmp, AVIO_FLAG_WRITE)) < 0)
        return pk_ffmpeg_fail(r->ctx, PK_ERR_OUTPUT, s->out_name, "cannot create", rc);
    pk_ffmpeg_clear_error();
    if ((rc = avformat_write_header(r->out, NULL)) < 0)
        return pk_ffmpeg_fail(r->ctx, PK_ERR_OUTPUT, s->out_name, "cannot write the header", rc);
    return PK_OK;
}

/* Sample positions of the ranges: [a[k], b[k]) from the audio's first
 * sample, whose time is `audio_t0`. */
static pk_status audio_plan(render *r, double audio_t0)
{
    size_t n = r->s->n_ranges;
    int64_t *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    for (size_t k = 0; k < n; k++) {
        a[k] = llround((r->s->ranges[k].start - audio_t0) * r->rate);
        b[k] = llround((r->s->ranges[k].end - audio_t0) * r->rate);
    }
    /* A crossfade needs room: at most a third of the shortest range or gap. */
    int64_t room = INT64_MAX;
    for (size_t k = 0; k < n; k++) {
        if (b[k] - a[k] < room)
            room = b[k] - a[k];
        if (k + 1 < n && a[k + 1] - b[k] < room)
            room = a[k + 1] - b[k];
    }
    r->fade = llround(r->s->crossfade * r->rate) & ~(int64_t)1;
    if (r->fade > room / 3 * 2)
        r->fade = (room / 3) & ~(int64_t)1;
    if (r->fade < 0)
        r->fade = 0;
    pk_status st = build_spans(r, a, b, n);
    size_t fsz = (size_t)(r->fade > 0 ? r->fade : 1) * (size_t)r->channels;
    if (st == PK_OK && (!(r->fade_out = calloc(fsz, sizeof(float))) || !(r->fade_in = calloc(fsz, sizeof(float))) ||
                        !(r->mix = calloc(fsz, sizeof(float))) ||
                        !(r->zeros = calloc((size_t)4096 * (size_t)r->channels, sizeof(float)))))
        st = pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    r->cursor = 0;
    free(a);
    free(b);
    return st;
}

static bool frame_kept(const pk_render_setup *s, size_t *ri, double t, double half)
{
    while (*ri < s->n_ranges && t >= s->ranges[*ri].end - half)
        (*ri)++;
    return *ri < s->n_ranges && t >= s->ranges[*ri].start - half;
}

pk_status pk_render_cut(pk_ctx *ctx, const pk_render_setup *s, pk_render_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    pk_source_options so;
    pk_source_options_init(&so);
    so.streams = PK_STREAM_AUDIO | PK_STREAM_VIDEO;
    so.audio_block = 4096;
    pk_source *src;
    pk_status st = pk_source_open(ctx, s->in, &so, &src);
    if (st != PK_OK)
        return st;
    render r = {.ctx = ctx, .s = s, .vstream = -1, .astream = -1};
    const pk_audio_info *ai = pk_source_audio(src);
    if (ai) {
        r.rate = ai->rate;
        r.channels = ai->channels;
    } else {
        r.audio_done = true;
    }
    if (!(r.pkt = av_packet_alloc()))
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK)
        st = open_output(&r, src);
    double half = s->fps_num > 0 ? 0.5 * s->fps_den / s->fps_num : 0;
    size_t ri = 0;
    bool audio_planned = false;
    pk_item it;
    pk_progress_begin(ctx, "cut", s->n_ranges ? s->ranges[s->n_ranges - 1].end : 0, "s");
    while (st == PK_OK && !(r.audio_done && r.video_done) && (st = pk_source_next(src, &it)) == PK_OK &&
           it.type != PK_ITEM_END) {
        if (it.type == PK_ITEM_VIDEO && !r.video_done && r.venc) {
            if (frame_kept(s, &ri, it.video->time, half))
                st = encode_frame(&r, (const AVFrame *)it.video->avframe);
            if (ri >= s->n_ranges)
                r.video_done = true;
            pk_progress_update(ctx, it.video->time);
        } else if (it.type == PK_ITEM_AUDIO && !r.audio_done) {
            const pk_audio_block *b = it.audio;
            if (!audio_planned) {
                st = audio_plan(&r, b->time - (double)b->first_sample / b->rate);
                audio_planned = true;
            }
            if (st == PK_OK && b->first_sample > r.cursor)
                st = feed_silence(&r, b->first_sample);
            if (st == PK_OK)
                st = feed_audio(&r, b->interleaved, b->first_sample, b->frames);
        }
    }
    pk_progress_end(ctx);
    /* Audio that ends before the last range: silence to keep the sync. */
    if (st == PK_OK && ai && !audio_planned)
        st = audio_plan(&r, 0);
    if (st == PK_OK && ai && r.si < r.n_spans)
        st = feed_silence(&r, r.spans[r.n_spans - 1].end);
    if (st == PK_OK && r.venc) {
        int rc = avcodec_send_frame(r.venc, NULL);
        st = rc < 0 ? pk_ffmpeg_fail(ctx, PK_ERR_INTERNAL, s->out_name, "video encoding failed", rc) : drain_video(&r);
    }
    if (st == PK_OK && r.aenc)
        st = pk_aenc_flush(r.aenc);
    if (st == PK_OK) {
        int rc = av_write_trailer(r.out);
        if (rc < 0)
            st = pk_ffmpeg_fail(ctx, PK_ERR_OUTPUT, s->out_name, "cannot finish the file", rc);
    }
    if (r.out && r.out->pb) {
        avio_flush(r.out->pb);
        int werr = r.out->pb->error;
        int rc = avio_closep(&r.out->pb);
        if (st == PK_OK && (werr < 0 || rc < 0))
            st = pk_ffmpeg_fail(ctx, PK_ERR_OUTPUT, s->out_name, "cannot write", werr < 0 ? werr : rc);
    }
    stats->frames = r.frames_out;
    stats->samples = r.samples_out;
    stats->rate = r.rate;
    stats->crossfade = r.rate ? (double)r.fade / r.rate : 0;
    stats->clipped = r.aenc ? pk_aenc_clipped(r.aenc) : 0;
    if (r.venc)
        snprintf(stats->video_codec, sizeof stats->video_codec, "%s", r.venc->codec->name);
    if (r.aenc)
        snprintf(stats->audio_codec, sizeof stats->audio_codec, "%s", pk_aenc_codec(r.aenc)->codec->name);
    avcodec_free_context(&r.venc);
    pk_aenc_free(r.aenc);
    avformat_free_context(r.out);
    sws_freeContext(r.sws);
    av_frame_free(&r.scaled);
    av_packet_free(&r.pkt);
    free(r.spans);
    free(r.fade_out);
    free(r.fade_in);
    free(r.mix);
    free(r.zeros);
    pk_source_free(src);
    return st;
}

/*
 * remux.c — a copy of a file with one audio stream replaced: what a video
 * needs after its sound was processed (normalised, cleaned), without
 * touching the picture.
 *
 * Why this shape: re-encoding video would cost quality and time, so every
 * other stream is copied packet for packet from a second demuxer opened on
 * the input, while the caller streams the new audio in. The two advance
 * together: after each encoded audio packet, the input is read up to that
 * packet's time, and FFmpeg's interleaving muxer puts the packets in order.
 * So at any moment only one look-ahead packet, the encoder's frame and the
 * muxer's short interleaving queue are held — memory does not depend on the
 * file's length. The new audio keeps the original codec (through the same
 * encoder core as the WAV/FLAC writer), its start time, metadata and
 * disposition, so players treat the file as the same programme.
 */
#include "media/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <postkit/media.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>

/* Consecutive unreadable spots in the input before giving up on it. */
#define MAX_READ_FAILURES 16

struct pk_remux {
    pk_ctx *ctx;
    char *in_path;
    char *out_path;
    AVFormatContext *in, *out;
    int *map;                 /* input stream -> output stream, -1 dropped */
    int audio_in, audio_out;
    pk_aenc *enc;
    int64_t audio_shift;      /* added to new audio timestamps (1/rate), see add_streams */
    AVPacket *pkt;            /* the look-ahead packet of the input */
    int have_pkt;
    int in_done;
    int read_failures;
    int header_written;
    int closed;
};

/* Keep a stream's codec tag when the output container knows it for that
 * codec (a HEVC 'hvc1' stays 'hvc1'); otherwise let the muxer choose. */
static unsigned copied_tag(const AVOutputFormat *of, const AVCodecParameters *p)
{
    unsigned tag = 0;
    if (!of->codec_tag || av_codec_get_id(of->codec_tag, p->codec_tag) == p->codec_id ||
        !av_codec_get_tag2(of->codec_tag, p->codec_id, &tag))
        return p->codec_tag;
    return 0;
}

static int copy_side_data(AVStream *dst, const AVStream *src)
{
    for (int i = 0; i < src->nb_side_data; i++) {
        const AVPacketSideData *sd = &src->side_data[i];
        uint8_t *d = av_stream_new_side_data(dst, sd->type, sd->size);
        if (!d)
            return AVERROR(ENOMEM);
        memcpy(d, sd->data, sd->size);
    }
    return 0;
}

static int copy_chapters(AVFormatContext *out, const AVFormatContext *in)
{
    if (in->nb_chapters == 0)
        return 0;
    out->chapters = av_calloc(in->nb_chapters, sizeof *out->chapters);
    if (!out->chapters)
        return AVERROR(ENOMEM);
    for (unsigned i = 0; i < in->nb_chapters; i++) {
        const AVChapter *c = in->chapters[i];
        AVChapter *n = av_mallocz(sizeof *n);
        if (!n)
            return AVERROR(ENOMEM);
        n->id = c->id;
        n->time_base = c->time_base;
        n->start = c->start;
        n->end = c->end;
        av_dict_copy(&n->metadata, c->metadata, 0);
        out->chapters[out->nb_chapters++] = n;
    }
    return 0;
}

/* The container to write: asked for, or the input's family by its name. */
static const AVOutputFormat *output_format(const char *format_name, const char *in_path, const AVInputFormat *inf)
{
    const AVOutputFormat *of = pk_ffmpeg_guess_muxer(format_name, in_path);
    if (of)
        return of;
    /* "mov,mp4,m4a,3gp,3g2,mj2": try each name. */
    char names[128];
    snprintf(names, sizeof names, "%s", inf->name);
    char *save = NULL;
    for (char *t = strtok_r(names, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if ((of = av_guess_format(t, NULL, NULL)))
            return of;
    return NULL;
}

static pk_status write_out(pk_remux *r, AVPacket *pkt)
{
    int rc = av_interleaved_write_frame(r->out, pkt);
    if (rc < 0)
        return pk_ffmpeg_fail(r->ctx, PK_ERR_OUTPUT, r->out_path, "cannot write", rc);
    return PK_OK;
}

/* Copy input packets of the kept streams until one lies beyond `limit`
 * seconds (it stays as the look-ahead) or the input ends. */
static pk_status pump(pk_remux *r, double limit)
{
    for (;;) {
        if (!r->have_pkt) {
            if (r->in_done)
                return PK_OK;
            pk_ffmpeg_clear_error();
            int rc = av_read_frame(r->in, r->pkt);
            if (rc == AVERROR(EAGAIN))
                continue;
            if (rc == AVERROR_EOF || (rc < 0 && avio_feof(r->in->pb) && !r->in->pb->error)) {
                r->in_done = 1;
                return PK_OK;
            }
            if (rc < 0) {
                if (r->in->pb->error || ++r->read_failures >= MAX_READ_FAILURES)
                    return pk_ffmpeg_fail(r->ctx, PK_ERR_INPUT, r->in_path, "read error", rc);
                continue;
            }
            r->read_failures = 0;
            int o = r->map[r->pkt->stream_index];
            if (o < 0 || r->pkt->stream_index == r->audio_in) {
                av_packet_unref(r->pkt);
                continue;
            }
            r->have_pkt = 1;
        }
        const AVStream *ist = r->in->streams[r->pkt->stream_index];
        int64_t ts = r->pkt->dts != AV_NOPTS_VALUE ? r->pkt->dts : r->pkt->pts;
        if (ts != AV_NOPTS_VALUE && (double)ts * av_q2d(ist->time_base) > limit)
            return PK_OK;
        AVStream *ost = r->out->streams[r->map[r->pkt->stream_index]];
        av_packet_rescale_ts(r->pkt, ist->time_base, ost->time_base);
        r->pkt->stream_index = ost->index;
        r->pkt->pos = -1;
        r->have_pkt = 0;
        pk_status st = write_out(r, r->pkt); /* takes the packet's reference */
        if (st != PK_OK)
            return st;
    }
}

/* An encoded packet of the new audio: write it, then let the other
 * streams catch up with it. */
static pk_status audio_packet(void *user, AVPacket *pkt)
{
    pk_remux *r = user;
    AVCodecContext *c = pk_aenc_codec(r->enc);
    double end = (double)(pkt->pts + pkt->duration) / c->sample_rate;
    AVStream *ost = r->out->streams[r->audio_out];
    pkt->stream_index = r->audio_out;
    pkt->pts += r->audio_shift;
    pkt->dts += r->audio_shift;
    av_packet_rescale_ts(pkt, c->time_base, ost->time_base);
    pk_status st = write_out(r, pkt);
    if (st != PK_OK)
        return st;
    return pump(r, end);
}

/* Bit rate for the new audio: the original's, else 96 kb/s per channel
 * (at most 320 kb/s, the MP3 ceiling). */
static int64_t target_bit_rate(const AVCodecParameters *p, int channels)
{
    if (p->bit_rate > 0)
        return p->bit_rate;
    int64_t br = 96000LL * channels;
    return br > 320000 ? 320000 : br;
}

/* When the original audio is first heard, in seconds of the input's own
 * timestamps. Demuxers disagree on whether a stream's start_time counts the
 * encoder's priming (Matroska's Opus does, MP4's AAC does not), so the
 * answer comes from decoding the first frame, as a player would. */
static pk_status presented_start(pk_remux *r, double *seconds)
{
    pk_source_options o;
    pk_source_options_init(&o);
    o.streams = PK_STREAM_AUDIO;
    o.audio_stream = r->audio_in;
    o.audio_block = 1;
    pk_source *src;
    pk_status st = pk_source_open(r->ctx, r->in_path, &o, &src);
    if (st != PK_OK)
        return st;
    pk_item it;
    *seconds = 0.0;
    while ((st = pk_source_next(src, &it)) == PK_OK && it.type != PK_ITEM_END) {
        if (it.type == PK_ITEM_AUDIO) {
            *seconds = it.audio->time + pk_source_timeline_origin(src);
            break;
        }
    }
    pk_source_free(src);
    return st;
}

static pk_status add_streams(pk_remux *r, const pk_audio_format *fmt, double start)
{
    AVFormatContext *in = r->in, *out = r->out;
    const AVOutputFormat *of = out->oformat;
    r->map = malloc(in->nb_streams * sizeof *r->map);
    if (!r->map)
        return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    for (unsigned i = 0; i < in->nb_streams; i++) {
        AVStream *ist = in->streams[i];
        const AVCodecParameters *p = ist->codecpar;
        r->map[i] = -1;
        if ((int)i == r->audio_in) {
            AVChannelLayout layout = {0};
            if (fmt->layout[0]) {
                if (av_channel_layout_from_string(&layout, fmt->layout) < 0)
                    return pk_fail(r->ctx, PK_ERR_USAGE, r->out_path, "unknown channel layout '%s'", fmt->layout);
            } else {
                av_channel_layout_default(&layout, fmt->channels);
            }
            const AVCodec *encoder = pk_aenc_find_encoder(p->codec_id);
            if (!encoder) {
                av_channel_layout_uninit(&layout);
                return pk_fail(r->ctx, PK_ERR_USAGE, r->in_path,
                               "cannot re-encode its %s audio: FFmpeg has no usable encoder for it",
                               avcodec_get_name(p->codec_id));
            }
            const AVCodecDescriptor *d = avcodec_descriptor_get(p->codec_id);
            int lossless = d && (d->props & AV_CODEC_PROP_LOSSLESS);
            int bits = 0;
            if (lossless)
                bits = fmt->bits > 0 ? fmt->bits : pk_ffmpeg_audio_bits(p) > 0 ? pk_ffmpeg_audio_bits(p) : 16;
            pk_aenc_setup setup = {
                .encoder = encoder,
                .rate = fmt->rate,
                .layout = &layout,
                .bits = bits,
                .bit_rate = lossless ? 0 : target_bit_rate(p, layout.nb_channels),
                .dither = !fmt->no_dither,
                .global_header = (of->flags & AVFMT_GLOBALHEADER) != 0,
                .start_pts = llrint(start * fmt->rate),
            };
            pk_status st = pk_aenc_open(r->ctx, r->out_path, &setup, audio_packet, r, &r->enc);
            av_channel_layout_uninit(&layout);
            if (st != PK_OK)
                return st;
            AVStream *ost = avformat_new_stream(out, NULL);
            if (!ost || avcodec_parameters_from_context(ost->codecpar, pk_aenc_codec(r->enc)) < 0)
                return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
            ost->time_base = (AVRational){1, fmt->rate};
            /* Matroska stores Opus's encoder delay as CodecDelay, and its
             * demuxer moves the audio back by it; but FFmpeg 5.1's muxer
             * also shifts every stream forward to make the first (negative)
             * audio timestamp zero, so the copied video would move against
             * the audio. Writing the audio delay-late keeps all timestamps. */
            AVCodecContext *c = pk_aenc_codec(r->enc);
            if (p->codec_id == AV_CODEC_ID_OPUS && c->initial_padding > 0 &&
                (strstr(of->name, "matroska") || strstr(of->name, "webm")))
                r->audio_shift = c->initial_padding;
            av_dict_copy(&ost->metadata, ist->metadata, 0);
            ost->disposition = ist->disposition;
            r->audio_out = ost->index;
            r->map[i] = ost->index;
            continue;
        }
        enum AVMediaType t = p->codec_type;
        int copyable = (t == AVMEDIA_TYPE_VIDEO || t == AVMEDIA_TYPE_AUDIO || t == AVMEDIA_TYPE_SUBTITLE ||
                        t == AVMEDIA_TYPE_DATA || t == AVMEDIA_TYPE_ATTACHMENT) &&
                       p->codec_id != AV_CODEC_ID_NONE &&
                       avformat_query_codec(of, p->codec_id, FF_COMPLIANCE_NORMAL) != 0;
        if (!copyable) {
            pk_log(r->ctx, PK_LOG_WARNING, "%s: stream %u (%s %s) is not copied: %s cannot hold it", r->in_path, i,
                   av_get_media_type_string(t) ? av_get_media_type_string(t) : "unknown",
                   avcodec_get_name(p->codec_id), of->name);
            continue;
        }
        AVStream *ost = avformat_new_stream(out, NULL);
        if (!ost || avcodec_parameters_copy(ost->codecpar, p) < 0 || copy_side_data(ost, ist) < 0)
            return pk_fail(r->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        ost->codecpar->codec_tag = copied_tag(of, p);
        ost->time_base = ist->time_base;
        ost->avg_frame_rate = ist->avg_frame_rate;
        ost->r_frame_rate = ist->r_frame_rate;
        ost->sample_aspect_ratio = ist->sample_aspect_ratio;
        ost->disposition = ist->disposition;
        av_dict_copy(&ost->metadata, ist->metadata, 0);
        r->map[i] = ost->index;
    }
    return PK_OK;
}

pk_status pk_remux_open(pk_ctx *ctx, const char *in_path, int audio_stream, const char *out_path,
                        const char *format_name, const pk_audio_format *fmt, pk_remux **out)
{
    *out = NULL;
    if (fmt->rate <= 0 || (fmt->channels <= 0 && !fmt->layout[0]))
        return pk_fail(ctx, PK_ERR_USAGE, out_path, "invalid audio format (%d Hz, %d channels)", fmt->rate,
                       fmt->channels);
    pk_remux *r = calloc(1, sizeof *r);
    if (!r || !(r->in_path = strdup(in_path)) || !(r->out_path = strdup(out_path))) {
        if (r)
            free(r->in_path);
        free(r);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    r->ctx = ctx;
    r->audio_out = -1;
    pk_status st = pk_ffmpeg_open(ctx, in_path, &r->in);
    if (st != PK_OK)
        goto fail;
    if (audio_stream >= 0) {
        if ((unsigned)audio_stream >= r->in->nb_streams ||
            r->in->streams[audio_stream]->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) {
            st = pk_fail(ctx, PK_ERR_INPUT, in_path, "stream %d is not an audio stream", audio_stream);
            goto fail;
        }
        r->audio_in = audio_stream;
    } else if ((r->audio_in = av_find_best_stream(r->in, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0)) < 0) {
        st = pk_fail(ctx, PK_ERR_INPUT, in_path, "has no audio stream to replace");
        goto fail;
    }
    const AVOutputFormat *of = output_format(format_name, in_path, r->in->iformat);
    if (!of) {
        st = pk_fail(ctx, PK_ERR_USAGE, out_path, "no container format for '%s'",
                     format_name ? format_name : in_path);
        goto fail;
    }
    int rc = avformat_alloc_output_context2(&r->out, of, NULL, out_path);
    if (rc < 0) {
        st = pk_ffmpeg_fail(ctx, PK_ERR_INTERNAL, out_path, "cannot set up the muxer", rc);
        goto fail;
    }
    double start;
    if ((st = presented_start(r, &start)) != PK_OK || (st = add_streams(r, fmt, start)) != PK_OK)
        goto fail;
    av_dict_copy(&r->out->metadata, r->in->metadata, 0);
    if (copy_chapters(r->out, r->in) < 0) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        goto fail;
    }
    if (!(of->flags & AVFMT_NOFILE) && (rc = avio_open(&r->out->pb, out_path, AVIO_FLAG_WRITE)) < 0) {
        st = pk_ffmpeg_fail(ctx, PK_ERR_OUTPUT, out_path, "cannot create", rc);
        goto fail;
    }
    pk_ffmpeg_clear_error();
    if ((rc = avformat_write_header(r->out, NULL)) < 0) {
        st = pk_ffmpeg_fail(ctx, PK_ERR_OUTPUT, out_path, "cannot write the header", rc);
        goto fail;
    }
    r->header_written = 1;
    r->pkt = av_packet_alloc();
    if (!r->pkt) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        goto fail;
    }
    /* Streams that start before the audio do not wait for it. */
    if ((st = pump(r, start)) != PK_OK)
        goto fail;
    *out = r;
    return PK_OK;
fail:
    pk_remux_free(r);
    return st;
}

int pk_remux_audio_stream(const pk_remux *r) { return r->audio_in; }
int64_t pk_remux_clipped(const pk_remux *r) { return r->enc ? pk_aenc_clipped(r->enc) : 0; }

pk_status pk_remux_write_audio(pk_remux *r, const float *interleaved, int frames)
{
    if (r->closed || frames < 0)
        return pk_fail(r->ctx, PK_ERR_INTERNAL, r->out_path, "write after close");
    if (pk_ctx_interrupted(r->ctx))
        return pk_fail(r->ctx, PK_ERR_INTERRUPTED, r->out_path, "interrupted");
    return pk_aenc_write(r->enc, interleaved, frames);
}

pk_status pk_remux_close(pk_remux *r)
{
    if (r->closed)
        return PK_OK;
    r->closed = 1;
    pk_status st = pk_aenc_flush(r->enc);
    if (st == PK_OK)
        st = pump(r, INFINITY);
    if (st != PK_OK)
        return st;
    pk_ffmpeg_clear_error();
    int rc = av_write_trailer(r->out);
    r->header_written = 0;
    if (rc < 0)
        return pk_ffmpeg_fail(r->ctx, PK_ERR_OUTPUT, r->out_path, "cannot finish the file", rc);
    if (r->out->pb) {
        avio_flush(r->out->pb);
        int werr = r->out->pb->error;
        rc = avio_closep(&r->out->pb);
        if (werr < 0 || rc < 0)
            return pk_ffmpeg_fail(r->ctx, PK_ERR_OUTPUT, r->out_path, "cannot write", werr < 0 ? werr : rc);
    }
    return PK_OK;
}

void pk_remux_free(pk_remux *r)
{
    if (!r)
        return;
    pk_aenc_free(r->enc);
    av_packet_free(&r->pkt);
    if (r->out) {
        if (r->out->pb)
            avio_closep(&r->out->pb);
        avformat_free_context(r->out);
    }
    if (r->in)
        avformat_close_input(&r->in);
    free(r->map);
    free(r->in_path);
    free(r->out_path);
    free(r);
}

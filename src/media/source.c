/*
 * source.c — one pass over a media file: demux once, decode the selected
 * audio and video streams, hand out fixed-size float audio blocks and video
 * frames merged by time.
 *
 * Why this shape: analysers (meters, detectors, fingerprinters) want a pull
 * loop — "give me the next thing" — so one read of the file can feed many of
 * them. Everything between the demuxer and the caller is a queue with a
 * bound: the AVAudioFifo holding converted samples (it also cuts the
 * decoder's variable frames into exact blocks), a short ring of decoded
 * video frames (one frame of look-ahead gives each frame its duration), and
 * a small ring of decode errors. Audio positions are counted sample by
 * sample, never derived from timestamps, so block positions are exact; video
 * times come from each frame's best-effort timestamp, so variable frame rate
 * needs no special case. A packet the decoder rejects becomes an item and
 * decoding goes on: a damaged file is still analysed to its end.
 */
#include "media/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <postkit/media.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>

/* Bounds of the time merge (see pk_source_next in media.h). */
#define AUDIO_WAIT_SECONDS 10
#define VIDEO_WAIT_FRAMES 64
#define VIDEO_WAIT_BYTES (256ll << 20)
/* The ring has room beyond the bound for what one packet, or the decoder's
 * flush at the end (frame threads and reordering hold a few frames), adds. */
#define VIDEO_RING (2 * VIDEO_WAIT_FRAMES)
#define ERROR_QUEUE 32
/* Consecutive unreadable spots in a container before giving up on it. */
#define MAX_READ_FAILURES 16

typedef struct pending_error {
    double time;
    int stream;
    char message[192];
} pending_error;

struct pk_source {
    pk_ctx *ctx;
    char *path;
    AVFormatContext *fmt;
    pk_source_options opts;
    double start;             /* the container's start time, seconds */
    AVPacket *pkt;
    AVFrame *frame;
    int demux_done;
    int read_failures;
    int64_t last_failure_pos;
    double last_time;         /* of the latest packet read, for errors and progress */

    /* audio */
    AVStream *ast;
    AVCodecContext *adec;
    SwrContext *swr;
    int swr_in_format, swr_in_rate;
    AVChannelLayout swr_in_layout;
    AVChannelLayout out_layout;
    enum AVSampleFormat out_format;
    AVAudioFifo *fifo;
    uint8_t **conv;           /* swresample output, conv_cap frames */
    int conv_cap;
    float **block;            /* one buffer (interleaved) or one per channel */
    int block_planes;
    int64_t next_sample;
    int64_t audio_limit;      /* samples the container says the stream has; -1 unknown */
    double audio_origin;      /* timeline time of the first sample */
    int audio_origin_set;
    int audio_done;           /* decoder and resampler drained */
    pk_audio_info ainfo;
    pk_audio_block ablock;

    /* video */
    AVStream *vst;
    AVCodecContext *vdec;
    AVFrame *vq[VIDEO_RING];
    int vq_head, vq_len;
    int64_t vq_bytes;
    int video_done;
    int64_t vnumber;
    int64_t v_last_pts, v_last_dur;
    AVFrame *current;         /* the frame of the current item */
    pk_frame_views *views;
    pk_video_info vinfo;
    pk_video_frame vframe;

    pending_error errors[ERROR_QUEUE];
    int err_head, err_len;
    int64_t errors_dropped;
    pending_error current_error;

    char **tags;
};

void pk_source_options_init(pk_source_options *o)
{
    memset(o, 0, sizeof *o);
    o->streams = PK_STREAM_AUDIO | PK_STREAM_VIDEO;
    o->audio_stream = -1;
    o->video_stream = -1;
}

/* ---- errors as items ---------------------------------------------------- */

/* Queue a decode error saying `message`. When the queue is full the error
 * is counted and dropped: a badly damaged file must not grow memory. */
static void push_error_text(pk_source *s, int stream, double time, const char *message)
{
    if (s->err_len == ERROR_QUEUE) {
        s->errors_dropped++;
        return;
    }
    pending_error *e = &s->errors[(s->err_head + s->err_len++) % ERROR_QUEUE];
    e->time = time;
    e->stream = stream;
    snprintf(e->message, sizeof e->message, "%s", message);
}

/* Queue a decode error for FFmpeg error code `averr`. The message is
 * FFmpeg's last log line on this thread when there is one (frame threads log
 * on their own threads, so the return code's text is the fallback). */
static void push_error(pk_source *s, int stream, double time, int averr)
{
    char buf[AV_ERROR_MAX_STRING_SIZE] = "";
    char message[sizeof s->errors[0].message];
    av_strerror(averr, buf, sizeof buf);
    const char *log = pk_ffmpeg_last_log();
    if (log[0] && strcmp(log, buf) != 0)
        snprintf(message, sizeof message, "%s (%s)", log, buf);
    else
        snprintf(message, sizeof message, "%s", buf);
    pk_ffmpeg_clear_error();
    push_error_text(s, stream, time, message);
}

static double ts_seconds(const pk_source *s, int64_t ts, AVRational tb)
{
    return ts == AV_NOPTS_VALUE ? s->last_time : (double)ts * av_q2d(tb) - s->start;
}

/* ---- audio -------------------------------------------------------------- */

/* Grow the conversion buffer to hold `frames`. */
static int ensure_conv(pk_source *s, int frames)
{
    if (frames <= s->conv_cap)
        return 0;
    if (s->conv)
        av_freep(&s->conv[0]);
    av_freep(&s->conv);
    s->conv_cap = 0;
    int rc = av_samples_alloc_array_and_samples(&s->conv, NULL, s->out_layout.nb_channels, frames,
                                                s->out_format, 0);
    if (rc < 0)
        return rc;
    s->conv_cap = frames;
    return 0;
}

/* Push what the resampler still holds into the fifo. */
static int drain_resampler(pk_source *s)
{
    if (!s->swr)
        return 0;
    for (;;) {
        int want = swr_get_out_samples(s->swr, 0);
        if (want <= 0)
            return 0;
        int rc = ensure_conv(s, want);
        if (rc < 0)
            return rc;
        int n = swr_convert(s->swr, s->conv, s->conv_cap, NULL, 0);
        if (n <= 0)
            return n;
        if (av_audio_fifo_write(s->fifo, (void **)s->conv, n) < n)
            return AVERROR(ENOMEM);
    }
}

/* (Re)build the resampler for the input format of `f`. A stream whose
 * format changes midway (broadcast captures do) keeps its output format. */
static int setup_resampler(pk_source *s, const AVFrame *f)
{
    if (s->swr && f->format == s->swr_in_format && f->sample_rate == s->swr_in_rate &&
        !av_channel_layout_compare(&f->ch_layout, &s->swr_in_layout))
        return 0;
    int rc = drain_resampler(s);
    if (rc < 0)
        return rc;
    swr_free(&s->swr);
    av_channel_layout_uninit(&s->swr_in_layout);
    AVChannelLayout in = {0}; /* av_channel_layout_copy frees what dst holds */
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&in, f->ch_layout.nb_channels);
    else if ((rc = av_channel_layout_copy(&in, &f->ch_layout)) < 0)
        return rc;
    rc = swr_alloc_set_opts2(&s->swr, &s->out_layout, s->out_format, s->ainfo.rate, &in,
                             (enum AVSampleFormat)f->format, f->sample_rate, 0, NULL);
    av_channel_layout_uninit(&in);
    if (rc < 0 || (rc = swr_init(s->swr)) < 0)
        return rc;
    s->swr_in_format = f->format;
    s->swr_in_rate = f->sample_rate;
    return av_channel_layout_copy(&s->swr_in_layout, &f->ch_layout);
}

/* Decoders conceal damage (H.264 copies blocks from the previous frame)
 * and say so only by flags on the frame: that is a decode error too. */
static void check_damage(pk_source *s, const AVStream *st, const AVFrame *f)
{
    if ((f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags)
        push_error_text(s, st->index, ts_seconds(s, f->best_effort_timestamp, st->time_base),
                        "damaged frame (the decoder concealed errors)");
}

static void audio_frame(pk_source *s, AVFrame *f)
{
    check_damage(s, s->ast, f);
    if (!s->audio_origin_set) {
        int64_t ts = f->best_effort_timestamp;
        if (ts == AV_NOPTS_VALUE)
            ts = s->ast->start_time;
        s->audio_origin = ts == AV_NOPTS_VALUE ? 0.0 : (double)ts * av_q2d(s->ast->time_base) - s->start;
        s->audio_origin_set = 1;
    }
    int rc = setup_resampler(s, f);
    if (rc >= 0)
        rc = ensure_conv(s, swr_get_out_samples(s->swr, f->nb_samples));
    if (rc >= 0)
        rc = swr_convert(s->swr, s->conv, s->conv_cap, (const uint8_t **)f->extended_data,
                         f->nb_samples);
    if (rc > 0 && av_audio_fifo_write(s->fifo, (void **)s->conv, rc) < rc)
        rc = AVERROR(ENOMEM);
    if (rc < 0)
        push_error(s, s->ast->index, ts_seconds(s, f->best_effort_timestamp, s->ast->time_base), rc);
}

/* ---- video -------------------------------------------------------------- */

static int64_t frame_bytes(const AVFrame *f)
{
    int64_t n = 0;
    for (int i = 0; i < AV_NUM_DATA_POINTERS && f->buf[i]; i++)
        n += (int64_t)f->buf[i]->size;
    return n;
}

/* Nominal duration of one frame in the stream's time base. */
static int64_t nominal_duration(const pk_source *s)
{
    AVRational fr = s->vst->avg_frame_rate.num ? s->vst->avg_frame_rate : s->vst->r_frame_rate;
    if (!fr.num || !fr.den)
        fr = (AVRational){25, 1};
    int64_t d = av_rescale_q(1, av_inv_q(fr), s->vst->time_base);
    return d > 0 ? d : 1;
}

static void video_frame(pk_source *s, AVFrame *f)
{
    check_damage(s, s->vst, f);
    int64_t pts = f->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE)
        pts = s->v_last_pts == AV_NOPTS_VALUE ? 0 : s->v_last_pts + s->v_last_dur;
    f->pts = pts;
    s->v_last_pts = pts;
    s->v_last_dur = f->pkt_duration > 0 ? f->pkt_duration : nominal_duration(s);
    AVFrame *q = s->vq_len < VIDEO_RING ? av_frame_alloc() : NULL;
    if (!q) {
        /* Not reached with sane decoders (see VIDEO_RING); said, not hidden. */
        push_error(s, s->vst->index, ts_seconds(s, pts, s->vst->time_base), AVERROR(ENOMEM));
        return;
    }
    av_frame_move_ref(q, f);
    s->vq[(s->vq_head + s->vq_len++) % VIDEO_RING] = q;
    s->vq_bytes += frame_bytes(q);
}

/* ---- decoding ----------------------------------------------------------- */

static int video_full(const pk_source *s)
{
    return s->vq_len >= VIDEO_WAIT_FRAMES || (s->vq_len >= 3 && s->vq_bytes >= VIDEO_WAIT_BYTES);
}

/* Take every frame the decoder has ready. At the end of the stream
 * (`flushing`), keep going past errors until the decoder says EOF. */
static void receive_frames(pk_source *s, AVCodecContext *dec, AVStream *st, int flushing)
{
    int failures = 0;
    for (;;) {
        int rc = avcodec_receive_frame(dec, s->frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return;
        if (rc < 0) {
            push_error(s, st->index, s->last_time, rc);
            if (!flushing || ++failures > 64)
                return;
            continue;
        }
        if (dec == s->adec)
            audio_frame(s, s->frame);
        else
            video_frame(s, s->frame);
        av_frame_unref(s->frame);
    }
}

/* An audio packet the decoder rejected becomes silence of its duration, so
 * the blocks after it keep their place on the timeline (a meter sees a gap,
 * not a jump). */
static void fill_silence(pk_source *s, const AVPacket *pkt, const AVStream *st)
{
    if (pkt->duration <= 0 || !s->audio_origin_set)
        return;
    int64_t n = av_rescale_q(pkt->duration, st->time_base, (AVRational){1, s->ainfo.rate});
    if (n <= 0 || n > (int64_t)s->ainfo.rate * 10 || ensure_conv(s, (int)n) < 0)
        return;
    av_samples_set_silence(s->conv, 0, (int)n, s->ainfo.channels, s->out_format);
    av_audio_fifo_write(s->fifo, (void **)s->conv, (int)n);
}

static void decode_packet(pk_source *s, AVCodecContext *dec, AVStream *st, const AVPacket *pkt)
{
    pk_ffmpeg_clear_error();
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = avcodec_send_packet(dec, pkt);
        if (rc == AVERROR(EAGAIN)) {
            receive_frames(s, dec, st, 0);
            continue;
        }
        if (rc < 0 && rc != AVERROR_EOF) {
            push_error(s, st->index, pkt ? ts_seconds(s, pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts, st->time_base)
                                         : s->last_time, rc);
            if (pkt && dec == s->adec)
                fill_silence(s, pkt, st);
        }
        break;
    }
    receive_frames(s, dec, st, pkt == NULL);
}

static void flush_decoders(pk_source *s)
{
    if (s->adec && !s->audio_done) {
        decode_packet(s, s->adec, s->ast, NULL);
        int rc = drain_resampler(s);
        if (rc < 0)
            push_error(s, s->ast->index, s->last_time, rc);
        s->audio_done = 1;
    }
    if (s->vdec && !s->video_done) {
        decode_packet(s, s->vdec, s->vst, NULL);
        s->video_done = 1;
    }
    s->demux_done = 1;
}

/* Read one packet and decode it. PK_ERR_INPUT only for an I/O failure; a
 * damaged container is reported as a decode error of stream -1 and reading
 * goes on from where the demuxer resynchronised. */
static pk_status read_one(pk_source *s)
{
    pk_ffmpeg_clear_error();
    int rc = av_read_frame(s->fmt, s->pkt);
    if (rc == AVERROR(EAGAIN))
        return PK_OK;
    if (rc == AVERROR_EOF || (rc < 0 && s->fmt->pb && avio_feof(s->fmt->pb) && !s->fmt->pb->error)) {
        flush_decoders(s);
        return PK_OK;
    }
    if (rc < 0) {
        if (s->fmt->pb && s->fmt->pb->error)
            return pk_ffmpeg_fail(s->ctx, PK_ERR_INPUT, s->path, "read error", s->fmt->pb->error);
        int64_t pos = s->fmt->pb ? avio_tell(s->fmt->pb) : -1;
        if (pos == s->last_failure_pos)
            s->read_failures++;
        s->last_failure_pos = pos;
        push_error(s, -1, s->last_time, rc);
        if (s->read_failures >= MAX_READ_FAILURES)
            flush_decoders(s);
        return PK_OK;
    }
    s->read_failures = 0;
    /* The demuxer skipped damaged data: it only says so in its log. */
    if (pk_ffmpeg_last_log()[0]) {
        char message[192];
        snprintf(message, sizeof message, "damaged data while reading the container (%s)", pk_ffmpeg_last_log());
        push_error_text(s, -1, s->last_time, message);
    }
    AVStream *st = s->fmt->streams[s->pkt->stream_index];
    int64_t ts = s->pkt->dts != AV_NOPTS_VALUE ? s->pkt->dts : s->pkt->pts;
    if (ts != AV_NOPTS_VALUE)
        s->last_time = ts_seconds(s, ts, st->time_base);
    if ((s->pkt->flags & AV_PKT_FLAG_CORRUPT) && (st == s->ast || st == s->vst))
        push_error_text(s, st->index, s->last_time, "packet marked damaged by the demuxer");
    if (st == s->ast && !s->audio_done)
        decode_packet(s, s->adec, st, s->pkt);
    else if (st == s->vst && !s->video_done)
        decode_packet(s, s->vdec, st, s->pkt);
    av_packet_unref(s->pkt);
    return PK_OK;
}

/* ---- opening ------------------------------------------------------------ */

static pk_status open_decoder(pk_source *s, AVStream *st, int threads, AVCodecContext **out)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec)
        return pk_fail(s->ctx, PK_ERR_INPUT, s->path, "no decoder for stream %d (codec %s)", st->index,
                       avcodec_get_name(st->codecpar->codec_id));
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    if (!dec)
        return pk_fail(s->ctx, PK_ERR_INTERNAL, s->path, "out of memory");
    int rc = avcodec_parameters_to_context(dec, st->codecpar);
    if (rc >= 0) {
        dec->pkt_timebase = st->time_base;
        dec->thread_count = threads;
        if (threads > 1)
            dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
        pk_ffmpeg_clear_error();
        rc = avcodec_open2(dec, codec, NULL);
    }
    if (rc < 0) {
        avcodec_free_context(&dec);
        return pk_ffmpeg_fail(s->ctx, PK_ERR_INPUT, s->path, "cannot open the decoder", rc);
    }
    *out = dec;
    return PK_OK;
}

/* The stream to use for `type`: the one asked for, or FFmpeg's best. For
 * video, cover art (an attached picture) does not count. -1 when none. */
static pk_status choose_stream(pk_source *s, enum AVMediaType type, int wanted, int *index)
{
    AVFormatContext *fmt = s->fmt;
    if (wanted >= 0) {
        if ((unsigned)wanted >= fmt->nb_streams || fmt->streams[wanted]->codecpar->codec_type != type)
            return pk_fail(s->ctx, PK_ERR_INPUT, s->path, "stream %d is not an %s stream", wanted,
                           type == AVMEDIA_TYPE_AUDIO ? "audio" : "video");
        *index = wanted;
        return PK_OK;
    }
    int best = av_find_best_stream(fmt, type, -1, -1, NULL, 0);
    if (best >= 0 && type == AVMEDIA_TYPE_VIDEO &&
        (fmt->streams[best]->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
        best = -1;
        for (unsigned i = 0; i < fmt->nb_streams && best < 0; i++)
            if (fmt->streams[i]->codecpar->codec_type == type &&
                !(fmt->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC))
                best = (int)i;
    }
    *index = best;
    return PK_OK;
}

static double stream_duration(const AVFormatContext *fmt, const AVStream *st)
{
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        return (double)st->duration * av_q2d(st->time_base);
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        return (double)fmt->duration / AV_TIME_BASE;
    return 0.0;
}

static pk_status open_audio(pk_source *s, int index)
{
    AVStream *st = s->fmt->streams[index];
    pk_status rc = open_decoder(s, st, 1, &s->adec);
    if (rc != PK_OK)
        return rc;
    s->ast = st;
    const AVCodecParameters *p = st->codecpar;
    pk_audio_info *a = &s->ainfo;
    a->stream_index = index;
    a->native_rate = p->sample_rate;
    a->native_channels = p->ch_layout.nb_channels;
    AVChannelLayout native = {0}; /* av_channel_layout_copy frees what dst holds */
    if (p->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&native, p->ch_layout.nb_channels);
    else if (av_channel_layout_copy(&native, &p->ch_layout) < 0)
        return pk_fail(s->ctx, PK_ERR_INTERNAL, s->path, "out of memory");
    av_channel_layout_describe(&native, a->layout, sizeof a->layout);
    a->bits = pk_ffmpeg_audio_bits(p);
    const AVCodecDescriptor *d = avcodec_descriptor_get(p->codec_id);
    enum AVSampleFormat sf = av_get_packed_sample_fmt((enum AVSampleFormat)p->format);
    a->is_float = d && (d->props & AV_CODEC_PROP_LOSSLESS) && (sf == AV_SAMPLE_FMT_FLT || sf == AV_SAMPLE_FMT_DBL);
    a->codec = d ? d->name : avcodec_get_name(p->codec_id);
    a->duration = stream_duration(s->fmt, st);
    a->rate = s->opts.audio_rate > 0 ? s->opts.audio_rate : p->sample_rate;
    int want = s->opts.audio_channels;
    if (want > 0 && want != native.nb_channels) {
        av_channel_layout_uninit(&native);
        av_channel_layout_default(&s->out_layout, want);
    } else {
        s->out_layout = native;
    }
    a->channels = s->out_layout.nb_channels;
    av_channel_layout_describe(&s->out_layout, a->delivered_layout, sizeof a->delivered_layout);
    if (a->rate <= 0 || a->channels <= 0)
        return pk_fail(s->ctx, PK_ERR_INPUT, s->path, "audio stream %d has no sample rate or channels",
                       index);
    s->out_format = s->opts.audio_planar ? AV_SAMPLE_FMT_FLTP : AV_SAMPLE_FMT_FLT;
    int block = s->opts.audio_block;
    s->fifo = av_audio_fifo_alloc(s->out_format, a->channels, block * 2);
    s->block_planes = s->opts.audio_planar ? a->channels : 1;
    s->block = calloc((size_t)s->block_planes, sizeof *s->block);
    if (!s->fifo || !s->block)
        return pk_fail(s->ctx, PK_ERR_INTERNAL, s->path, "out of memory");
    size_t per_plane = (size_t)block * (s->opts.audio_planar ? 1 : (size_t)a->channels);
    for (int i = 0; i < s->block_planes; i++)
        if (!(s->block[i] = av_malloc(per_plane * sizeof(float))))
            return pk_fail(s->ctx, PK_ERR_INTERNAL, s->path, "out of memory");
    s->ablock.channels = a->channels;
    s->ablock.rate = a->rate;
    /* MP4/MOV store AAC and MP3 in whole codec frames and say in the edit
     * list how much of them is the programme; FFmpeg 5.1 drops the priming
     * at the start but not the padding at the end. The stream's duration
     * is the edit list's, so delivery stops there. Other containers either
     * trim themselves (Ogg granules, the LAME tag) or state nothing exact. */
    s->audio_limit = -1;
    if (strstr(s->fmt->iformat->name, "mov") && st->duration > 0 && st->duration != AV_NOPTS_VALUE)
        s->audio_limit = av_rescale_q_rnd(st->duration, st->time_base, (AVRational){1, a->rate},
                                          AV_ROUND_NEAR_INF);
    return PK_OK;
}

static pk_status open_video(pk_source *s, int index)
{
    AVStream *st = s->fmt->streams[index];
    int threads = s->opts.video_threads > 0 ? s->opts.video_threads : pk_ctx_threads(s->ctx);
    pk_status rc = open_decoder(s, st, threads, &s->vdec);
    if (rc != PK_OK)
        return rc;
    s->vst = st;
    s->views = pk_frame_views_new();
    if (!s->views)
        return pk_fail(s->ctx, PK_ERR_INTERNAL, s->path, "out of memory");
    const AVCodecParameters *p = st->codecpar;
    pk_video_info *v = &s->vinfo;
    v->stream_index = index;
    v->width = p->width;
    v->height = p->height;
    AVRational fr = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
    v->fps_num = fr.num;
    v->fps_den = fr.den;
    v->tb_num = st->time_base.num;
    v->tb_den = st->time_base.den;
    const AVPixFmtDescriptor *pd = av_pix_fmt_desc_get((enum AVPixelFormat)p->format);
    v->pix_fmt = pd ? pd->name : "unknown";
    v->bits = pd ? pd->comp[0].depth : 0;
    v->rotation = pk_ffmpeg_stream_rotation(st);
    v->interlaced = p->field_order != AV_FIELD_UNKNOWN && p->field_order != AV_FIELD_PROGRESSIVE;
    v->full_range = p->color_range == AVCOL_RANGE_JPEG ||
                    (pd && strncmp(pd->name, "yuvj", 4) == 0);
    const AVCodecDescriptor *d = avcodec_descriptor_get(p->codec_id);
    v->codec = d ? d->name : avcodec_get_name(p->codec_id);
    v->duration = stream_duration(s->fmt, st);
    v->frames = st->nb_frames > 0 ? st->nb_frames : 0;
    s->v_last_pts = AV_NOPTS_VALUE;
    return PK_OK;
}

static pk_status collect_tags(pk_source *s)
{
    AVDictionary *d = NULL;
    av_dict_copy(&d, s->fmt->metadata, 0);
    if (s->ast)
        av_dict_copy(&d, s->ast->metadata, 0);
    int n = av_dict_count(d);
    s->tags = calloc((size_t)n * 2 + 1, sizeof *s->tags);
    int i = 0;
    const AVDictionaryEntry *e = NULL;
    while (s->tags && (e = av_dict_get(d, "", e, AV_DICT_IGNORE_SUFFIX))) {
        s->tags[i++] = strdup(e->key);
        s->tags[i++] = strdup(e->value);
        if (!s->tags[i - 1] || !s->tags[i - 2]) {
            av_dict_free(&d);
            return pk_fail(s->ctx, PK_ERR_INTERNAL, s->path, "out of memory");
        }
    }
    av_dict_free(&d);
    return s->tags ? PK_OK : pk_fail(s->ctx, PK_ERR_INTERNAL, s->path, "out of memory");
}

pk_status pk_source_open(pk_ctx *ctx, const char *path, const pk_source_options *opts,
                         pk_source **out)
{
    *out = NULL;
    pk_source *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    }
    s->ctx = ctx;
    if (opts)
        s->opts = *opts;
    else
        pk_source_options_init(&s->opts);
    if (s->opts.audio_block <= 0)
        s->opts.audio_block = 4096;
    s->last_failure_pos = -1;
    pk_status st = PK_OK;
    if (s->opts.audio_rate < 0 || s->opts.audio_channels < 0 || s->opts.audio_block > (1 << 24)) {
        st = pk_fail(ctx, PK_ERR_USAGE, path, "invalid source options");
        goto fail;
    }
    if ((st = pk_ffmpeg_open(ctx, path, &s->fmt)) != PK_OK)
        goto fail;
    s->start = s->fmt->start_time != AV_NOPTS_VALUE ? (double)s->fmt->start_time / AV_TIME_BASE : 0.0;
    int aidx = -1, vidx = -1;
    if ((s->opts.streams & PK_STREAM_AUDIO) &&
        (st = choose_stream(s, AVMEDIA_TYPE_AUDIO, s->opts.audio_stream, &aidx)) != PK_OK)
        goto fail;
    if ((s->opts.streams & PK_STREAM_VIDEO) &&
        (st = choose_stream(s, AVMEDIA_TYPE_VIDEO, s->opts.video_stream, &vidx)) != PK_OK)
        goto fail;
    if (aidx < 0 && vidx < 0) {
        const char *what = s->opts.streams == PK_STREAM_AUDIO   ? "audio"
                           : s->opts.streams == PK_STREAM_VIDEO ? "video"
                                                                : "audio or video";
        st = pk_fail(ctx, PK_ERR_INPUT, path, "has no %s stream", what);
        goto fail;
    }
    if (aidx >= 0 && (st = open_audio(s, aidx)) != PK_OK)
        goto fail;
    if (vidx >= 0 && (st = open_video(s, vidx)) != PK_OK)
        goto fail;
    /* The demuxer skips the packets of streams nobody decodes. */
    for (unsigned i = 0; i < s->fmt->nb_streams; i++)
        if ((int)i != aidx && (int)i != vidx)
            s->fmt->streams[i]->discard = AVDISCARD_ALL;
    if ((st = collect_tags(s)) != PK_OK)
        goto fail;
    s->pkt = av_packet_alloc();
    s->frame = av_frame_alloc();
    if (!s->pkt || !s->frame) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
        goto fail;
    }
    *out = s;
    return PK_OK;
fail:
    pk_source_free(s);
    return st;
}

void pk_source_free(pk_source *s)
{
    if (!s)
        return;
    avcodec_free_context(&s->adec);
    avcodec_free_context(&s->vdec);
    swr_free(&s->swr);
    av_channel_layout_uninit(&s->swr_in_layout);
    av_channel_layout_uninit(&s->out_layout);
    if (s->fifo)
        av_audio_fifo_free(s->fifo);
    if (s->conv)
        av_freep(&s->conv[0]);
    av_freep(&s->conv);
    for (int i = 0; s->block && i < s->block_planes; i++)
        av_free(s->block[i]);
    free(s->block);
    while (s->vq_len > 0) {
        av_frame_free(&s->vq[s->vq_head]);
        s->vq_head = (s->vq_head + 1) % VIDEO_RING;
        s->vq_len--;
    }
    av_frame_free(&s->current);
    pk_frame_views_free(s->views);
    av_packet_free(&s->pkt);
    av_frame_free(&s->frame);
    if (s->fmt)
        avformat_close_input(&s->fmt);
    for (size_t i = 0; s->tags && s->tags[i]; i++)
        free(s->tags[i]);
    free(s->tags);
    free(s->path);
    free(s);
}

const pk_audio_info *pk_source_audio(const pk_source *s) { return s->adec ? &s->ainfo : NULL; }
const pk_video_info *pk_source_video(const pk_source *s) { return s->vdec ? &s->vinfo : NULL; }
const char *const *pk_source_tags(const pk_source *s) { return (const char *const *)s->tags; }
double pk_source_timeline_origin(const pk_source *s) { return s->start; }

/* ---- delivering --------------------------------------------------------- */

static double audio_head_time(const pk_source *s)
{
    return s->audio_origin + (double)s->next_sample / s->ainfo.rate;
}

static double video_head_time(const pk_source *s)
{
    const AVFrame *f = s->vq[s->vq_head];
    return (double)f->pts * av_q2d(s->vst->time_base) - s->start;
}

static void deliver_audio(pk_source *s, pk_item *item)
{
    int n = av_audio_fifo_size(s->fifo);
    if (n > s->opts.audio_block)
        n = s->opts.audio_block;
    av_audio_fifo_read(s->fifo, (void **)s->block, n);
    pk_audio_block *b = &s->ablock;
    b->frames = n;
    b->first_sample = s->next_sample;
    b->time = audio_head_time(s);
    b->interleaved = s->opts.audio_planar ? NULL : s->block[0];
    b->planes = s->opts.audio_planar ? (const float *const *)s->block : NULL;
    s->next_sample += n;
    item->type = PK_ITEM_AUDIO;
    item->audio = b;
}

static void deliver_video(pk_source *s, pk_item *item)
{
    AVFrame *f = s->vq[s->vq_head];
    s->vq_head = (s->vq_head + 1) % VIDEO_RING;
    s->vq_len--;
    s->vq_bytes -= frame_bytes(f);
    double tb = av_q2d(s->vst->time_base);
    const AVFrame *next = s->vq_len > 0 ? s->vq[s->vq_head] : NULL;
    int64_t dur = next && next->pts > f->pts ? next->pts - f->pts
                  : f->pkt_duration > 0      ? f->pkt_duration
                                             : nominal_duration(s);
    pk_video_frame *v = &s->vframe;
    v->number = s->vnumber++;
    v->pts = f->pts;
    v->time = (double)f->pts * tb - s->start;
    v->duration = (double)dur * tb;
    v->width = f->width;
    v->height = f->height;
    v->interlaced = f->interlaced_frame;
    v->top_field_first = f->top_field_first;
    v->keyframe = f->key_frame;
    v->corrupt = (f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags != 0;
    v->avframe = f;
    s->current = f;
    pk_frame_views_reset(s->views);
    item->type = PK_ITEM_VIDEO;
    item->video = v;
}

pk_status pk_source_next(pk_source *s, pk_item *item)
{
    memset(item, 0, sizeof *item);
    av_frame_free(&s->current);
    for (;;) {
        if (pk_ctx_interrupted(s->ctx))
            return pk_fail(s->ctx, PK_ERR_INTERRUPTED, s->path, "interrupted");
        if (s->err_len > 0) {
            s->current_error = s->errors[s->err_head];
            s->err_head = (s->err_head + 1) % ERROR_QUEUE;
            s->err_len--;
            item->type = PK_ITEM_DECODE_ERROR;
            item->error_time = s->current_error.time;
            item->error_stream = s->current_error.stream;
            item->error = s->current_error.message;
            return PK_OK;
        }
        if (s->adec && s->audio_limit >= 0) {
            int64_t room = s->audio_limit - s->next_sample;
            int have = av_audio_fifo_size(s->fifo);
            if (have > room)
                av_audio_fifo_drain(s->fifo, have - (int)(room > 0 ? room : 0));
        }
        int fifo = s->adec ? av_audio_fifo_size(s->fifo) : 0;
        int a_ready = s->adec && (fifo >= s->opts.audio_block || (s->audio_done && fifo > 0));
        int a_over = s->adec && fifo >= AUDIO_WAIT_SECONDS * s->ainfo.rate;
        int a_finished = !s->adec || (s->audio_done && fifo == 0);
        /* A frame goes out when the next one is known (its duration). */
        int v_ready = s->vdec && (s->vq_len >= 2 || (s->video_done && s->vq_len > 0));
        int v_finished = !s->vdec || (s->video_done && s->vq_len == 0);
        if (a_finished && v_finished) {
            if (s->errors_dropped > 0)
                pk_log(s->ctx, PK_LOG_WARNING, "%s: %lld more decode errors not reported one by one",
                       s->path, (long long)s->errors_dropped);
            s->errors_dropped = 0;
            item->type = PK_ITEM_END;
            return PK_OK;
        }
        if (a_ready && v_ready) {
            if (audio_head_time(s) <= video_head_time(s))
                deliver_audio(s, item);
            else
                deliver_video(s, item);
            return PK_OK;
        }
        if (a_ready && (v_finished || a_over)) {
            deliver_audio(s, item);
            return PK_OK;
        }
        if (v_ready && (a_finished || video_full(s))) {
            deliver_video(s, item);
            return PK_OK;
        }
        if (s->demux_done) {
            /* Nothing more will arrive: deliver what is queued. */
            if (a_ready) {
                deliver_audio(s, item);
                return PK_OK;
            }
            if (v_ready) {
                deliver_video(s, item);
                return PK_OK;
            }
            flush_decoders(s);
            continue;
        }
        pk_status st = read_one(s);
        if (st != PK_OK)
            return st;
    }
}

double pk_source_progress(const pk_source *s)
{
    double p = 0.0;
    AVIOContext *pb = s->fmt->pb;
    int64_t size = pb ? avio_size(pb) : -1;
    if (size > 0)
        p = (double)avio_tell(pb) / (double)size;
    else if (s->fmt->duration > 0)
        p = s->last_time / ((double)s->fmt->duration / AV_TIME_BASE);
    if (s->demux_done)
        p = 1.0;
    return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

pk_status pk_frame_luma8(pk_source *s, const uint8_t **plane, int *stride)
{
    if (!s->current)
        return pk_fail(s->ctx, PK_ERR_USAGE, s->path, "the current item is not a video frame");
    return pk_frame_views_luma8(s->ctx, s->path, s->views, s->current, plane, stride);
}

pk_status pk_frame_rgb24(pk_source *s, const uint8_t **pixels, int *stride)
{
    if (!s->current)
        return pk_fail(s->ctx, PK_ERR_USAGE, s->path, "the current item is not a video frame");
    return pk_frame_views_rgb24(s->ctx, s->path, s->views, s->current, pixels, stride);
}

/* Container tags that describe the old file's technique, not its content;
 * they would be false in the new one. */
static int technical_tag(const char *key)
{
    static const char *const keys[] = {"encoder", "major_brand", "minor_version", "compatible_brands",
                                       "handler_name", "vendor_id", "creation_time", "encoded_by"};
    for (size_t i = 0; i < PK_ARRAY_LEN(keys); i++)
        if (strcasecmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

const char **pk_source_content_tags(const pk_source *src)
{
    const char *const *tags = pk_source_tags(src);
    size_t n = 0;
    while (tags[n])
        n++;
    const char **out = calloc(n + 1, sizeof *out);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (technical_tag(tags[i]))
            continue;
        out[j++] = tags[i];
        out[j++] = tags[i + 1];
    }
    return out;
}

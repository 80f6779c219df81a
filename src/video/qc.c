/*
 * qc.c — one decode, every detector: pk_qc_file.
 *
 * The calling thread demuxes and decodes (pk_source; the video decoder runs
 * its own frame threads) and hands each item on: a reference to the decoded
 * video frame (no copy) to the video thread, a copy of each audio block to
 * the audio thread, decode errors straight into the event list. The two
 * queues are short (a few frames, a few blocks), so memory stays bounded
 * and a slow analyser slows the decoder rather than piling frames up. When
 * the source ends, the analysers close their open segments and the record
 * is built: stream facts, each rule's verdict against the profile, the
 * events with timecodes, loudness and the timelines for plots.
 */
#include "video/internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>

#define VIDEO_QUEUE 4
#define AUDIO_QUEUE 16

void pk_qc_options_init(pk_qc_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_thumbnails = 60;
    o->timeline_points = 1200;
}

/* ---- a bounded queue between two threads ---------------------------------
 * A sleeping consumer is woken when `wake_at` items wait (or the queue is
 * closed), and each side signals only when the other is asleep: on a small
 * picture the analysis of a frame takes less than a thread wake-up, so the
 * video analyser waits for half a queue; on a large one (from 640x360) a
 * frame is worth the wake-up, and a core left idle while a frame waits is
 * time lost. */

typedef struct queue {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    void **items;
    int cap, head, len;
    int wake_at;               /* the consumer wakes when this many wait */
    int closed;                /* no more items will be pushed */
    int consumer_waits, producer_waits;
} queue;

static int queue_init(queue *q, int cap, int wake_at)
{
    memset(q, 0, sizeof *q);
    q->items = calloc((size_t)cap, sizeof *q->items);
    if (!q->items)
        return -1;
    q->cap = cap;
    q->wake_at = wake_at > 0 && wake_at <= cap ? wake_at : 1;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->changed, NULL);
    return 0;
}

static void queue_destroy(queue *q)
{
    if (!q->items)
        return;
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->changed);
    free(q->items);
    q->items = NULL;
}

/* Frames the video analyser waits for before it is woken (see above). */
static int video_wake_at(const pk_video_info *v)
{
    return (int64_t)v->width * v->height >= 640 * 360 ? 1 : VIDEO_QUEUE / 2;
}

/* Blocks while the queue is full. */
static void queue_push(queue *q, void *item)
{
    pthread_mutex_lock(&q->lock);
    while (q->len == q->cap) {
        q->producer_waits = 1;
        pthread_cond_broadcast(&q->changed);   /* full: the consumer must run */
        pthread_cond_wait(&q->changed, &q->lock);
    }
    q->producer_waits = 0;
    q->items[(q->head + q->len++) % q->cap] = item;
    if (q->consumer_waits && q->len >= q->wake_at)
        pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
}

/* The next item, or NULL once the queue is closed and empty. */
static void *queue_pop(queue *q)
{
    pthread_mutex_lock(&q->lock);
    if (q->len == 0)
        while (q->len < q->wake_at && !q->closed) {
            q->consumer_waits = 1;
            pthread_cond_wait(&q->changed, &q->lock);
        }
    q->consumer_waits = 0;
    void *item = NULL;
    if (q->len > 0) {
        item = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        if (q->producer_waits)
            pthread_cond_broadcast(&q->changed);
    }
    pthread_mutex_unlock(&q->lock);
    return item;
}

static void queue_close(queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
}

/* ---- the workers ----------------------------------------------------------- */

typedef struct video_item {
    AVFrame *frame;
    int64_t number;
    double time, duration;
    int interlaced;
} video_item;

typedef struct audio_item {
    int frames;
    int64_t first;
    double time;
    float x[];
} audio_item;

typedef struct pass {
    pk_ctx *ctx;
    const char *path;
    const pk_qc_profile *p;
    pk_source *src;
    const pk_video_info *vinfo;
    const pk_audio_info *ainfo;
    qc_video *video;
    qc_audio *audio;
    qc_converter *conv;
    queue vq, aq;
    int video_failed;          /* a frame could not be converted (out of memory) */
    qc_events errors;          /* decode errors, on the calling thread */
    double err_start, err_end;
    int64_t err_count;
    char err_message[192];
    const char *err_stream;
    int err_open;
} pass;

static void *video_main(void *arg)
{
    pass *ps = arg;
    video_item *it;
    while ((it = queue_pop(&ps->vq))) {
        qc_picture *pic = qc_picture_from_frame(ps->conv, it->frame, ps->vinfo->full_range);
        if (pic) {
            pic->number = it->number;
            pic->time = it->time;
            pic->duration = it->duration;
            pic->interlaced = it->interlaced;
            qc_video_frame(ps->video, pic);
            qc_picture_unref(pic);
        } else {
            ps->video_failed = 1;
        }
        av_frame_free(&it->frame);
        free(it);
    }
    qc_video_finish(ps->video);
    return NULL;
}

static void *audio_main(void *arg)
{
    pass *ps = arg;
    audio_item *it;
    while ((it = queue_pop(&ps->aq))) {
        qc_audio_block(ps->audio, it->x, it->frames, it->first, it->time);
        free(it);
    }
    qc_audio_finish(ps->audio);
    return NULL;
}

/* ---- decode errors ----------------------------------------------------------- */

static void error_close(pass *ps)
{
    if (!ps->err_open)
        return;
    ps->err_open = 0;
    json_t *v = json_object();
    json_object_set_new(v, "count", json_integer(ps->err_count));
    json_object_set_new(v, "stream", json_string(ps->err_stream));
    json_object_set_new(v, "first_error", pk_json_string(ps->err_message));
    qc_events_add(&ps->errors, QC_DECODE, "decode_error", ps->err_start, ps->err_end, -1, -1, v, NULL,
                  "%lld decode error%s (%s): %s", (long long)ps->err_count, ps->err_count == 1 ? "" : "s",
                  ps->err_stream, ps->err_message);
}

/* Errors less than a second apart on the same stream are one event. */
static void decode_error(pass *ps, const pk_item *it)
{
    const char *stream = "container";
    if (ps->vinfo && it->error_stream == ps->vinfo->stream_index)
        stream = "video";
    else if (ps->ainfo && it->error_stream == ps->ainfo->stream_index)
        stream = "audio";
    double t = it->error_time;
    if (ps->err_open && (strcmp(stream, ps->err_stream) != 0 || t > ps->err_end + 1.0 || t < ps->err_start - 1.0))
        error_close(ps);
    if (!ps->err_open) {
        ps->err_open = 1;
        ps->err_start = ps->err_end = t;
        ps->err_count = 0;
        ps->err_stream = stream;
        snprintf(ps->err_message, sizeof ps->err_message, "%s", it->error ? it->error : "");
    }
    ps->err_count++;
    if (t > ps->err_end)
        ps->err_end = t;
    if (t < ps->err_start)
        ps->err_start = t;
}

/* ---- the record ---------------------------------------------------------------- */

static int in_list(const char *list, const char *value)
{
    char buf[QC_TEXT];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, "|, ", &save); tok; tok = strtok_r(NULL, "|, ", &save))
        if (strcasecmp(tok, value) == 0)
            return 1;
    return 0;
}

static double parse_rate(const char *s)
{
    char *end;
    double a = strtod(s, &end);
    if (*end == '/') {
        double b = strtod(end + 1, NULL);
        return b > 0 ? a / b : NAN;
    }
    return a;
}

static int rate_in_list(const char *list, double fps)
{
    char buf[QC_TEXT];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, "|, ", &save); tok; tok = strtok_r(NULL, "|, ", &save))
        if (fabs(parse_rate(tok) - fps) < 0.01)
            return 1;
    return 0;
}

typedef struct facts {
    json_t *video, *audio;
    double fps;
    int fps_num, fps_den;
    const char *scan;
} facts;

static void stream_facts(pass *ps, facts *f)
{
    f->fps_num = 25;
    f->fps_den = 1;
    f->fps = 25;
    if (ps->vinfo) {
        const pk_video_info *v = ps->vinfo;
        if (v->fps_num > 0 && v->fps_den > 0) {
            f->fps_num = v->fps_num;
            f->fps_den = v->fps_den;
            f->fps = (double)v->fps_num / v->fps_den;
        }
        json_t *sum = qc_video_summary(ps->video);
        int64_t frames = json_integer_value(json_object_get(sum, "frames"));
        int64_t inter = json_integer_value(json_object_get(sum, "interlaced_frames"));
        f->scan = (frames > 0 ? inter * 2 > frames : v->interlaced) ? "interlaced" : "progressive";
        char rate[64];
        snprintf(rate, sizeof rate, "%d/%d", f->fps_num, f->fps_den);
        f->video = json_object();
        json_object_set_new(f->video, "codec", json_string(v->codec ? v->codec : "unknown"));
        json_object_set_new(f->video, "width", json_integer(v->width));
        json_object_set_new(f->video, "height", json_integer(v->height));
        json_object_set_new(f->video, "frame_rate", json_real(pk_round(f->fps, 3)));
        json_object_set_new(f->video, "frame_rate_fraction", json_string(rate));
        json_object_set_new(f->video, "scan", json_string(f->scan));
        json_object_set_new(f->video, "bit_depth", json_integer(v->bits));
        json_object_set_new(f->video, "pix_fmt", json_string(v->pix_fmt ? v->pix_fmt : "unknown"));
        json_object_set_new(f->video, "range", json_string(v->full_range ? "full" : "limited"));
        json_object_set_new(f->video, "frames", json_integer(frames));
        json_object_set_new(f->video, "duration",
                            json_real(pk_round(qc_video_end_time(ps->video) - qc_video_start_time(ps->video), 6)));
        json_object_set_new(f->video, "variable_frame_rate", json_incref(json_object_get(sum, "variable_frame_rate")));
        json_decref(sum);
    }
    if (ps->ainfo) {
        const pk_audio_info *a = ps->ainfo;
        f->audio = json_object();
        json_object_set_new(f->audio, "codec", json_string(a->codec ? a->codec : "unknown"));
        json_object_set_new(f->audio, "sample_rate", json_integer(a->native_rate));
        json_object_set_new(f->audio, "channels", json_integer(a->native_channels));
        json_object_set_new(f->audio, "layout", json_string(a->layout));
        if (a->bits)
            json_object_set_new(f->audio, "bits", json_integer(a->bits));
        json_object_set_new(f->audio, "duration", json_real(pk_round(qc_audio_duration(ps->audio), 6)));
    }
}

/* The stream rule: every constraint of the profile that the file breaks. */
static json_t *stream_check(pass *ps, const facts *f)
{
    const pk_qc_profile *p = ps->p;
    json_t *bad = json_array();
    char buf[64];
    if (ps->vinfo) {
        const pk_video_info *v = ps->vinfo;
        snprintf(buf, sizeof buf, "%dx%d", v->width, v->height);
        if (p->st_resolution[0] && !in_list(p->st_resolution, buf))
            json_array_append_new(bad, json_sprintf("resolution %s not in %s", buf, p->st_resolution));
        if (p->st_frame_rate[0] && !rate_in_list(p->st_frame_rate, f->fps))
            json_array_append_new(bad, json_sprintf("frame rate %.3f not in %s", f->fps, p->st_frame_rate));
        if (p->st_scan[0] && !in_list(p->st_scan, f->scan))
            json_array_append_new(bad, json_sprintf("scan %s, expected %s", f->scan, p->st_scan));
        if (p->st_video_codec[0] && !in_list(p->st_video_codec, v->codec ? v->codec : ""))
            json_array_append_new(bad, json_sprintf("video codec %s not in %s", v->codec, p->st_video_codec));
        snprintf(buf, sizeof buf, "%d", v->bits);
        if (p->st_bit_depth[0] && !in_list(p->st_bit_depth, buf))
            json_array_append_new(bad, json_sprintf("bit depth %d not in %s", v->bits, p->st_bit_depth));
    }
    if (ps->ainfo) {
        const pk_audio_info *a = ps->ainfo;
        snprintf(buf, sizeof buf, "%d", a->native_rate);
        if (p->st_sample_rate[0] && !in_list(p->st_sample_rate, buf))
            json_array_append_new(bad, json_sprintf("sample rate %d Hz not in %s", a->native_rate, p->st_sample_rate));
        snprintf(buf, sizeof buf, "%d", a->native_channels);
        if (p->st_channels[0] && !in_list(p->st_channels, buf))
            json_array_append_new(bad, json_sprintf("%d channels not in %s", a->native_channels, p->st_channels));
        if (p->st_audio_codec[0] && !in_list(p->st_audio_codec, a->codec ? a->codec : ""))
            json_array_append_new(bad, json_sprintf("audio codec %s not in %s", a->codec, p->st_audio_codec));
    }
    return bad;
}

static json_t *num(double v, int digits)
{
    return isfinite(v) ? json_real(pk_round(v, digits)) : json_null();
}

typedef struct verdicts {
    json_t *rules;
    int failed;
} verdicts;

/* Add one rule's verdict: `fail` < 0 means skipped (with `reason`). */
static void verdict(verdicts *vd, const pk_qc_profile *p, qc_rule r, int fail, const char *reason,
                    int64_t events, json_t *measured)
{
    json_t *o = json_object();
    qc_severity sev = p->severity[r];
    const char *v;
    if (sev == QC_OFF)
        v = "off";
    else if (fail < 0)
        v = "skipped";
    else if (!fail)
        v = "pass";
    else if (sev == QC_ERROR)
        v = "fail";
    else if (sev == QC_WARNING)
        v = "warning";
    else
        v = "info";
    if (sev == QC_ERROR && fail > 0)
        vd->failed = 1;
    json_object_set_new(o, "rule", json_string(qc_rules[r].name));
    json_object_set_new(o, "what", json_string(qc_rules[r].what));
    json_object_set_new(o, "severity", json_string(qc_severity_name(sev)));
    json_object_set_new(o, "verdict", json_string(v));
    if (events >= 0 && sev != QC_OFF && fail >= 0)
        json_object_set_new(o, "events", json_integer(events));
    if (reason && sev != QC_OFF)
        json_object_set_new(o, fail < 0 ? "reason" : "finding", json_string(reason));
    json_t *thr = qc_rule_thresholds(p, r);
    if (json_object_size(thr))
        json_object_set_new(o, "thresholds", thr);
    else
        json_decref(thr);
    if (measured)
        json_object_set_new(o, "measured", measured);
    json_array_append_new(vd->rules, o);
}

static json_t *event_json(const qc_event *e, const facts *f, const pk_qc_profile *p, int have_video)
{
    json_t *o = json_object();
    char tc[32];
    json_object_set_new(o, "type", json_string(e->type));
    json_object_set_new(o, "rule", json_string(qc_rules[e->rule].name));
    json_object_set_new(o, "severity", json_string(qc_severity_name(p->severity[e->rule])));
    json_object_set_new(o, "start", json_real(pk_round(e->start, 6)));
    json_object_set_new(o, "end", json_real(pk_round(e->end, 6)));
    json_object_set_new(o, "duration", json_real(pk_round(e->end - e->start, 6)));
    qc_timecode(e->start, f->fps_num, f->fps_den, tc);
    json_object_set_new(o, "start_tc", json_string(tc));
    qc_timecode(e->end, f->fps_num, f->fps_den, tc);
    json_object_set_new(o, "end_tc", json_string(tc));
    if (e->first_frame >= 0) {
        json_object_set_new(o, "start_frame", json_integer(e->first_frame));
        json_object_set_new(o, "end_frame", json_integer(e->last_frame));
    } else if (have_video) {
        /* Audio and container events: the frames on screen at the time. */
        json_object_set_new(o, "start_frame", json_integer((json_int_t)floor(e->start * f->fps + 1e-6)));
        json_int_t last = (json_int_t)ceil(e->end * f->fps - 1e-6) - 1;
        json_int_t first = (json_int_t)floor(e->start * f->fps + 1e-6);
        json_object_set_new(o, "end_frame", json_integer(last < first ? first : last));
    }
    json_object_set_new(o, "message", pk_json_string(e->message));
    json_object_set_new(o, "values", json_incref(e->values));
    if (e->thumb)
        json_object_set_new(o, "thumbnail", json_string(e->thumb));
    return o;
}

static json_t *build_record(pass *ps, const pk_qc_options *opts, const char *path, int *failed)
{
    const pk_qc_profile *p = ps->p;
    json_t *rec = json_object();
    json_object_set_new(rec, "path", pk_json_string(path));
    json_object_set_new(rec, "profile", pk_json_string(p->name));
    facts f = {0};
    stream_facts(ps, &f);
    json_t *streams = json_object();
    if (f.video)
        json_object_set_new(streams, "video", f.video);
    if (f.audio)
        json_object_set_new(streams, "audio", f.audio);
    json_object_set_new(rec, "streams", streams);

    qc_events all = {0};
    qc_events_merge(&all, &ps->errors);
    if (ps->video)
        qc_events_merge(&all, qc_video_events(ps->video));
    if (ps->audio)
        qc_events_merge(&all, qc_audio_events(ps->audio));
    qc_events_sort(&all);

    verdicts vd = {json_array(), 0};
    json_t *notes = json_array();
    int have_v = ps->video != NULL, have_a = ps->audio != NULL;
    if (!have_v)
        json_array_append_new(notes, json_string("no video stream: video rules skipped"));
    if (!have_a)
        json_array_append_new(notes, json_string("no audio stream: audio rules skipped"));
    for (int r = 0; r < QC_RULE_COUNT; r++) {
        qc_scope sc = qc_rules[r].scope;
        int skip = (sc == QC_SCOPE_VIDEO && !have_v) || (sc == QC_SCOPE_AUDIO && !have_a);
        const char *why = sc == QC_SCOPE_VIDEO ? "no video stream" : "no audio stream";
        int64_t n = all.count[r];
        switch (r) {
        case QC_LOUDNESS: {
            if (skip) {
                verdict(&vd, p, r, -1, why, -1, NULL);
                break;
            }
            pk_loudness_result lr;
            pk_loudness_finish(qc_audio_meter(ps->audio), &lr);
            double target = qc_audio_channels(ps->audio) == 1 ? p->lo_target_mono : p->lo_target;
            json_t *m = json_object();
            json_object_set_new(m, "integrated", num(lr.integrated, 2));
            json_object_set_new(m, "target", json_real(target));
            json_object_set_new(m, "loudness_range", num(lr.range, 2));
            char why_text[160] = "";
            int fail = 0;
            if (!isfinite(lr.integrated)) {
                fail = 1;
                snprintf(why_text, sizeof why_text, "%s",
                         isnan(lr.integrated) ? "too short to measure (under 0.4 s)"
                                              : "no programme loudness (silent or below -70 LUFS)");
            } else if (fabs(lr.integrated - target) > p->lo_tolerance + 1e-9) {
                fail = 1;
                snprintf(why_text, sizeof why_text, "integrated %.1f LUFS, target %.1f +-%.1f LU",
                         lr.integrated, target, p->lo_tolerance);
            }
            if (p->lo_max_range > 0 && isfinite(lr.range) && lr.range > p->lo_max_range) {
                fail = 1;
                size_t len = strlen(why_text);
                snprintf(why_text + len, sizeof why_text - len, "%sloudness range %.1f LU above %.1f",
                         len ? "; " : "", lr.range, p->lo_max_range);
            }
            json_object_set_new(m, "deviation", num(lr.integrated - target, 2));
            verdict(&vd, p, r, fail, fail ? why_text : NULL, -1, m);
            break;
        }
        case QC_TRUE_PEAK: {
            if (skip) {
                verdict(&vd, p, r, -1, why, -1, NULL);
                break;
            }
            pk_loudness_result lr;
            pk_loudness_finish(qc_audio_meter(ps->audio), &lr);
            json_t *m = json_object();
            json_object_set_new(m, "true_peak", num(lr.true_peak, 2));
            json_object_set_new(m, "sample_peak", num(lr.sample_peak, 2));
            char why_text[96];
            int fail = isfinite(lr.true_peak) && lr.true_peak > p->tp_max + 1e-9;
            snprintf(why_text, sizeof why_text, "true peak %.2f dBTP above %.1f", lr.true_peak, p->tp_max);
            verdict(&vd, p, r, fail, fail ? why_text : NULL, -1, m);
            break;
        }
        case QC_AV_LENGTH: {
            if (!have_v || !have_a) {
                verdict(&vd, p, r, -1, "needs both audio and video", -1, NULL);
                break;
            }
            double vd_ = qc_video_end_time(ps->video) - qc_video_start_time(ps->video);
            double ad = qc_audio_duration(ps->audio);
            double diff = ad - vd_, tol = p->av_tolerance_frames / f.fps;
            json_t *m = json_object();
            json_object_set_new(m, "video_duration", json_real(pk_round(vd_, 6)));
            json_object_set_new(m, "audio_duration", json_real(pk_round(ad, 6)));
            json_object_set_new(m, "difference", json_real(pk_round(diff, 6)));
            json_object_set_new(m, "difference_frames", json_real(pk_round(diff * f.fps, 2)));
            json_object_set_new(m, "audio_start", json_real(pk_round(qc_audio_start_time(ps->audio), 6)));
            json_object_set_new(m, "video_start", json_real(pk_round(qc_video_start_time(ps->video), 6)));
            int fail = fabs(diff) > tol + 1e-9;
            char why_text[128];
            snprintf(why_text, sizeof why_text, "audio %s than video by %.3f s (%.1f frames)",
                     diff < 0 ? "shorter" : "longer", fabs(diff), fabs(diff) * f.fps);
            verdict(&vd, p, r, fail, fail ? why_text : NULL, -1, m);
            break;
        }
        case QC_STREAM: {
            json_t *bad = stream_check(ps, &f);
            char why_text[256] = "";
            size_t i;
            json_t *b;
            json_array_foreach(bad, i, b)
            {
                size_t len = strlen(why_text);
                snprintf(why_text + len, sizeof why_text - len, "%s%s", i ? "; " : "", json_string_value(b));
            }
            verdict(&vd, p, r, json_array_size(bad) > 0, json_array_size(bad) ? why_text : NULL, -1, NULL);
            json_decref(bad);
            break;
        }
        default:
            if (skip)
                verdict(&vd, p, r, -1, why, -1, NULL);
            else if (r == QC_RANGE && have_v && ps->vinfo->full_range)
                verdict(&vd, p, r, -1, "full-range video: legal levels do not apply", -1, NULL);
            else if ((r == QC_IDENTICAL || r == QC_INVERTED || r == QC_CHANNEL_SILENCE) &&
                     qc_audio_channels(ps->audio) < 2)
                verdict(&vd, p, r, -1, "mono audio", -1, NULL);
            else
                verdict(&vd, p, r, n > 0, NULL, n, NULL);
            break;
        }
    }
    json_t *events = json_array();
    for (size_t i = 0; i < all.n; i++)
        if (p->severity[all.v[i].rule] != QC_OFF)
            json_array_append_new(events, event_json(&all.v[i], &f, p, have_v));
    int64_t dropped = 0;
    for (int r = 0; r < QC_RULE_COUNT; r++)
        dropped += all.count[r] - (int64_t)all.kept[r];
    if (dropped > 0)
        json_array_append_new(notes, json_sprintf("%lld more events counted but not listed (at most %d per rule)",
                                                  (long long)dropped, QC_MAX_EVENTS_PER_RULE));
    qc_events_free(&all);
    json_object_set_new(rec, "verdict", json_string(vd.failed ? "fail" : "pass"));
    json_object_set_new(rec, "rules", vd.rules);
    json_object_set_new(rec, "events", events);
    if (have_a)
        json_object_set_new(rec, "loudness", qc_audio_summary(ps->audio));
    if (have_v) {
        json_t *sum = qc_video_summary(ps->video);
        if (opts->cuts) {
            json_t *list = json_object_get(sum, "cut_list");
            json_object_set(rec, "cuts", list ? list : json_array());
        }
        json_object_del(sum, "cut_list");
        json_object_set_new(rec, "video", sum);
    }
    if (json_array_size(notes))
        json_object_set_new(rec, "notes", notes);
    else
        json_decref(notes);
    *failed = vd.failed;
    return rec;
}

/* ---- the pass ------------------------------------------------------------------ */

static pk_status run_pass(pass *ps)
{
    pk_status st = PK_OK;
    pk_item it;
    for (;;) {
        st = pk_source_next(ps->src, &it);
        if (st != PK_OK || it.type == PK_ITEM_END)
            break;
        if (it.type == PK_ITEM_VIDEO && ps->video) {
            video_item *vi = malloc(sizeof *vi);
            AVFrame *ref = vi ? av_frame_clone(it.video->avframe) : NULL;
            if (!ref) {
                free(vi);
                st = pk_fail(ps->ctx, PK_ERR_INTERNAL, ps->path, "out of memory");
                break;
            }
            vi->frame = ref;
            vi->number = it.video->number;
            vi->time = it.video->time;
            vi->duration = it.video->duration;
            vi->interlaced = it.video->interlaced;
            queue_push(&ps->vq, vi);
        } else if (it.type == PK_ITEM_AUDIO && ps->audio) {
            const pk_audio_block *b = it.audio;
            size_t n = (size_t)b->frames * (size_t)b->channels;
            audio_item *ai = malloc(sizeof *ai + n * sizeof(float));
            if (!ai) {
                st = pk_fail(ps->ctx, PK_ERR_INTERNAL, ps->path, "out of memory");
                break;
            }
            ai->frames = b->frames;
            ai->first = b->first_sample;
            ai->time = b->time;
            memcpy(ai->x, b->interleaved, n * sizeof(float));
            queue_push(&ps->aq, ai);
        } else if (it.type == PK_ITEM_DECODE_ERROR) {
            decode_error(ps, &it);
        }
        pk_progress_update(ps->ctx, 100.0 * pk_source_progress(ps->src));
    }
    error_close(ps);
    return st;
}

pk_status pk_qc_file(pk_ctx *ctx, const char *path, const pk_qc_profile *profile, const pk_qc_options *opts_in,
                     json_t **report)
{
    *report = NULL;
    pk_qc_options opts;
    if (opts_in)
        opts = *opts_in;
    else
        pk_qc_options_init(&opts);
    pass ps = {.ctx = ctx, .path = path, .p = profile};
    pk_source_options so;
    pk_source_options_init(&so);
    so.video_threads = opts.threads;
    pk_status st = pk_source_open(ctx, path, &so, &ps.src);
    if (st != PK_OK)
        return st;
    ps.vinfo = pk_source_video(ps.src);
    ps.ainfo = pk_source_audio(ps.src);
    pthread_t vt, at;
    int vt_started = 0, at_started = 0;
    if (ps.vinfo) {
        qc_video_setup vs = {
            .profile = profile,
            .width = ps.vinfo->width,
            .height = ps.vinfo->height,
            .fps = ps.vinfo->fps_den > 0 ? (double)ps.vinfo->fps_num / ps.vinfo->fps_den : 25,
            .want_cuts = opts.cuts,
            .thumbnails = opts.thumbnails,
            .max_thumbnails = opts.max_thumbnails,
            .timeline_points = opts.timeline_points,
        };
        if (!(ps.video = qc_video_new(&vs)) || !(ps.conv = qc_converter_new()) || queue_init(&ps.vq, VIDEO_QUEUE, video_wake_at(ps.vinfo)) < 0) {
            st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
            goto done;
        }
    }
    if (ps.ainfo) {
        qc_audio_setup as = {.ctx = ctx, .profile = profile, .info = ps.ainfo, .timeline_points = opts.timeline_points};
        if ((st = qc_audio_new(&as, &ps.audio)) != PK_OK)
            goto done;
        if (queue_init(&ps.aq, AUDIO_QUEUE, AUDIO_QUEUE / 2) < 0) {
            st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
            goto done;
        }
    }
    if (ps.video && pthread_create(&vt, NULL, video_main, &ps) == 0)
        vt_started = 1;
    if (ps.audio && pthread_create(&at, NULL, audio_main, &ps) == 0)
        at_started = 1;
    if ((ps.video && !vt_started) || (ps.audio && !at_started)) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, path, "cannot start a thread");
    } else {
        st = run_pass(&ps);
    }
    if (vt_started) {
        queue_close(&ps.vq);
        pthread_join(vt, NULL);
    }
    if (at_started) {
        queue_close(&ps.aq);
        pthread_join(at, NULL);
    }
    if (st == PK_OK && ps.video_failed)
        st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory converting a video frame");
    if (st == PK_OK) {
        int failed = 0;
        *report = build_record(&ps, &opts, path, &failed);
        st = failed ? PK_CHECK_FAILED : PK_OK;
    }
done:
    /* Items left in the queues (a stopped pass) are freed with them. */
    if (ps.vq.items) {
        video_item *vi;
        ps.vq.closed = 1;
        while ((vi = queue_pop(&ps.vq))) {
            av_frame_free(&vi->frame);
            free(vi);
        }
    }
    if (ps.aq.items) {
        void *ai;
        ps.aq.closed = 1;
        while ((ai = queue_pop(&ps.aq)))
            free(ai);
    }
    queue_destroy(&ps.vq);
    queue_destroy(&ps.aq);
    qc_events_free(&ps.errors);
    qc_video_free(ps.video);
    qc_audio_free(ps.audio);
    qc_converter_free(ps.conv);
    pk_source_free(ps.src);
    return st;
}

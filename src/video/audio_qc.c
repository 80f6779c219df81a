/*
 * audio_qc.c — the audio analyser of `postkit qc`: the BS.1770-4 meter of
 * audio.h (integrated loudness, range, true peak, clipped runs) plus the
 * detectors that need the samples themselves, all fed block by block from
 * the one decode.
 *
 *  - silence: runs where every channel's samples are below the threshold
 *    (silencedetect semantics: judged sample by sample, a run ends at the
 *    first sample above it), at least `min_duration` long;
 *  - channel silence: a channel's own silent runs in which the other
 *    channels played for at least `min_duration` (a run where all were
 *    silent is the silence rule's);
 *  - identical / inverted pairs: left/right pairs of the layout (FL/FR,
 *    BL/BR, SL/SR, ...) judged on half-second windows where both play: the
 *    energy of L-R against L+R (identical) and the correlation (inverted);
 *  - clipping: the meter's runs of at least `min_run` samples at the clip
 *    level (all of them, through its on_clip callback), grouped into one
 *    event when less than a second apart.
 * Positions are counted in samples, so times are exact to the sample.
 */
#include "video/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/channel_layout.h>

#define MAX_PAIRS 8

typedef struct run {
    int64_t start;             /* first silent sample, -1 when not in a run */
    int64_t shared;            /* samples of the run where every channel was silent */
} run;

typedef struct pair_state {
    int a, b;
    double ll, rr, lr;
    int64_t n;
    int cls;                   /* class of the open stretch: 0 none, 1 identical, 2 inverted */
    int64_t start, end;        /* samples */
    double worst;
} pair_state;

struct qc_audio {
    pk_ctx *ctx;
    const pk_qc_profile *p;
    pk_audio_info info;
    int channels, rate;
    pk_loudness *meter;
    qc_series momentary, short_term;
    double origin;             /* timeline time of the first sample */
    int origin_set;
    int64_t samples;
    qc_events ev;
    float thr_all, thr_ch;
    run all;
    run *ch;
    pair_state pairs[MAX_PAIRS];
    int npairs;
    int64_t window;
    char names[PK_LOUDNESS_MAX_CHANNELS][16];
    /* The open group of clipped runs (runs less than a second apart). */
    struct {
        int64_t runs, start, end, samples, longest;
        unsigned chmask;
        int channel;           /* of the last run: the group's when chmask has one bit */
    } clip;
};

static void on_update(void *user, double t, double m, double s)
{
    qc_audio *a = user;
    qc_series_add(&a->momentary, a->origin + t, m);
    qc_series_add(&a->short_term, a->origin + t, s);
}

static void on_clip(void *user, const pk_clip_run *r);

/* Left/right pairs by channel name: "FL"/"FR", "BL"/"BR", "TFL"/"TFR"... */
static void find_pairs(qc_audio *a)
{
    AVChannelLayout l = {0};
    if (!a->info.delivered_layout[0] || av_channel_layout_from_string(&l, a->info.delivered_layout) < 0 ||
        l.nb_channels != a->channels)
        av_channel_layout_default(&l, a->channels);
    for (int c = 0; c < a->channels && c < PK_LOUDNESS_MAX_CHANNELS; c++) {
        enum AVChannel id = av_channel_layout_channel_from_index(&l, (unsigned)c);
        if (av_channel_name(a->names[c], sizeof a->names[c], id) < 0)
            snprintf(a->names[c], sizeof a->names[c], "ch%d", c);
    }
    av_channel_layout_uninit(&l);
    for (int i = 0; i < a->channels && i < PK_LOUDNESS_MAX_CHANNELS; i++) {
        size_t len = strlen(a->names[i]);
        if (len < 2 || a->names[i][len - 1] != 'L')
            continue;
        for (int j = 0; j < a->channels && j < PK_LOUDNESS_MAX_CHANNELS; j++) {
            if (strlen(a->names[j]) == len && strncmp(a->names[i], a->names[j], len - 1) == 0 &&
                a->names[j][len - 1] == 'R' && a->npairs < MAX_PAIRS) {
                pair_state *p = &a->pairs[a->npairs++];
                memset(p, 0, sizeof *p);
                p->a = i;
                p->b = j;
            }
        }
    }
}

pk_status qc_audio_new(const qc_audio_setup *set, qc_audio **out)
{
    *out = NULL;
    qc_audio *a = calloc(1, sizeof *a);
    if (!a)
        return pk_fail(set->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    a->ctx = set->ctx;
    a->p = set->profile;
    a->info = *set->info;
    a->info.codec = NULL;
    a->channels = set->info->channels;
    a->rate = set->info->rate;
    a->thr_all = (float)pow(10, a->p->silence_db / 20);
    a->thr_ch = (float)pow(10, a->p->chsil_db / 20);
    a->window = a->rate / 2 > 0 ? a->rate / 2 : 1;
    a->all.start = -1;
    a->ch = calloc((size_t)a->channels, sizeof *a->ch);
    if (!a->ch || qc_series_init(&a->momentary, set->timeline_points, 0.1) < 0 ||
        qc_series_init(&a->short_term, set->timeline_points, 0.1) < 0) {
        qc_audio_free(a);
        return pk_fail(set->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    for (int c = 0; c < a->channels; c++)
        a->ch[c].start = -1;
    find_pairs(a);
    pk_loudness_options o;
    pk_loudness_options_init(&o, a->rate, a->channels);
    o.layout = a->info.delivered_layout;
    o.threads = 1;   /* this analyser already has a thread of its own */
    o.clip_level = pow(10, a->p->clip_level_db / 20);
    o.clip_min_run = (int)a->p->clip_min_run;
    o.on_update = on_update;
    o.on_clip = on_clip;
    o.user = a;
    pk_status st = pk_loudness_new(set->ctx, &o, &a->meter);
    if (st != PK_OK && o.layout[0]) {
        /* An unusual layout name: weigh by the default layout instead. */
        o.layout = NULL;
        st = pk_loudness_new(set->ctx, &o, &a->meter);
    }
    if (st != PK_OK) {
        qc_audio_free(a);
        return st;
    }
    *out = a;
    return PK_OK;
}

void qc_audio_free(qc_audio *a)
{
    if (!a)
        return;
    pk_loudness_free(a->meter);
    qc_series_free(&a->momentary);
    qc_series_free(&a->short_term);
    qc_events_free(&a->ev);
    free(a->ch);
    free(a);
}

static double t_of(const qc_audio *a, int64_t sample) { return a->origin + (double)sample / a->rate; }

static void silence_end(qc_audio *a, int64_t end)
{
    int64_t start = a->all.start;
    a->all.start = -1;
    if (start < 0 || (double)(end - start) < a->p->silence_min_duration * a->rate - 0.5)
        return;
    json_t *v = json_object();
    json_object_set_new(v, "duration", json_real(pk_round((double)(end - start) / a->rate, 6)));
    json_object_set_new(v, "start_sample", json_integer(start));
    json_object_set_new(v, "end_sample", json_integer(end));
    json_object_set_new(v, "threshold_db", json_real(a->p->silence_db));
    qc_events_add(&a->ev, QC_SILENCE, "silence", t_of(a, start), t_of(a, end), -1, -1, v, NULL,
                  "silence (below %.0f dBFS) for %.2f s", a->p->silence_db, (double)(end - start) / a->rate);
}

static void channel_silence_end(qc_audio *a, int c, int64_t end)
{
    run *r = &a->ch[c];
    int64_t start = r->start, shared = r->shared;
    r->start = -1;
    r->shared = 0;
    /* What counts is the time the others played: silence of all is the
     * silence rule's. */
    if (start < 0 || (double)(end - start - shared) < a->p->chsil_min_duration * a->rate - 0.5)
        return;
    json_t *v = json_object();
    json_object_set_new(v, "channel", json_string(a->names[c]));
    json_object_set_new(v, "duration", json_real(pk_round((double)(end - start) / a->rate, 6)));
    json_object_set_new(v, "start_sample", json_integer(start));
    json_object_set_new(v, "end_sample", json_integer(end));
    qc_event *e = qc_events_add(&a->ev, QC_CHANNEL_SILENCE, "channel_silence", t_of(a, start), t_of(a, end),
                                -1, -1, v, NULL, "channel %s silent for %.2f s while others play", a->names[c],
                                (double)(end - start) / a->rate);
    if (e)
        e->channel = c;
}

/* Close the open stretch of a pair. */
static void pair_end(qc_audio *a, pair_state *p)
{
    if (!p->cls)
        return;
    int cls = p->cls;
    p->cls = 0;
    double dur = (double)(p->end - p->start) / a->rate;
    double min = cls == 1 ? a->p->ident_min_duration : a->p->inv_min_duration;
    if (dur < min - 1e-9)
        return;
    json_t *v = json_object();
    json_object_set_new(v, "channels", json_pack("[s,s]", a->names[p->a], a->names[p->b]));
    json_object_set_new(v, "duration", json_real(pk_round(dur, 3)));
    json_object_set_new(v, cls == 1 ? "max_difference_db" : "min_correlation", json_real(pk_round(p->worst, 3)));
    qc_event *e = qc_events_add(&a->ev, cls == 1 ? QC_IDENTICAL : QC_INVERTED,
                                cls == 1 ? "identical_channels" : "inverted_channels", t_of(a, p->start),
                                t_of(a, p->end), -1, -1, v, NULL, "%s and %s %s for %.2f s", a->names[p->a],
                                a->names[p->b], cls == 1 ? "carry the same signal" : "are in opposite polarity", dur);
    if (e)
        e->channel = p->a;
}

/* Classify the window just completed for pair p (ending at sample `end`). */
static void pair_window(qc_audio *a, pair_state *p, int64_t end)
{
    int64_t start = end - p->n;
    double floor_e = (double)a->thr_ch * a->thr_ch * (double)p->n;
    int cls = 0;
    double measure = 0;
    if (p->ll > floor_e && p->rr > floor_e) {
        double diff = p->ll + p->rr - 2 * p->lr, sum = p->ll + p->rr + 2 * p->lr;
        double corr = p->lr / sqrt(p->ll * p->rr);
        double diff_db = 10 * log10((diff > 1e-30 ? diff : 1e-30) / (sum > 1e-30 ? sum : 1e-30));
        if (diff_db <= a->p->ident_diff_db) {
            cls = 1;
            measure = diff_db;
        } else if (corr <= a->p->inv_correlation) {
            cls = 2;
            measure = corr;
        }
    }
    if (cls != p->cls)
        pair_end(a, p);
    if (cls) {
        if (!p->cls) {
            p->cls = cls;
            p->start = start;
            p->worst = measure;
        }
        p->end = end;
        p->worst = cls == 1 ? fmax(p->worst, measure) : fmin(p->worst, measure);
    }
    p->ll = p->rr = p->lr = 0;
    p->n = 0;
}

void qc_audio_block(qc_audio *a, const float *x, int frames, int64_t first, double time)
{
    if (!a->origin_set) {
        a->origin = time - (double)first / a->rate;
        a->origin_set = 1;
    }
    pk_loudness_add(a->meter, x, frames);
    int nc = a->channels;
    const pk_qc_profile *p = a->p;
    int want_sil = p->severity[QC_SILENCE] != QC_OFF;
    int want_ch = p->severity[QC_CHANNEL_SILENCE] != QC_OFF && nc > 1;
    for (int i = 0; i < frames; i++) {
        const float *f = x + (size_t)i * nc;
        int64_t pos = first + i;
        float peak = 0;
        int loud_channels = 0;
        for (int c = 0; c < nc; c++) {
            float m = fabsf(f[c]);
            peak = m > peak ? m : peak;
            loud_channels += m >= a->thr_ch;
        }
        if (want_sil) {
            if (peak < a->thr_all) {
                if (a->all.start < 0)
                    a->all.start = pos;
            } else if (a->all.start >= 0) {
                silence_end(a, pos);
            }
        }
        if (want_ch) {
            for (int c = 0; c < nc; c++) {
                run *r = &a->ch[c];
                if (fabsf(f[c]) < a->thr_ch) {
                    if (r->start < 0)
                        r->start = pos;
                    r->shared += loud_channels == 0;
                } else if (r->start >= 0) {
                    channel_silence_end(a, c, pos);
                }
            }
        }
    }
    for (int k = 0; k < a->npairs; k++) {
        pair_state *ps = &a->pairs[k];
        for (int i = 0; i < frames; i++) {
            double l = x[(size_t)i * nc + ps->a], r = x[(size_t)i * nc + ps->b];
            ps->ll += l * l;
            ps->rr += r * r;
            ps->lr += l * r;
            if (++ps->n == a->window)
                pair_window(a, ps, first + i + 1);
        }
    }
    a->samples = first + frames;
}

/* Close the open group of clipped runs as one event. */
static void clip_flush(qc_audio *a)
{
    if (a->clip.runs == 0)
        return;
    json_t *v = json_object();
    json_object_set_new(v, "runs", json_integer(a->clip.runs));
    json_object_set_new(v, "samples", json_integer(a->clip.samples));
    json_object_set_new(v, "longest_run", json_integer(a->clip.longest));
    json_object_set_new(v, "start_sample", json_integer(a->clip.start));
    json_t *chs = json_array();
    for (int c = 0; c < a->channels && c < 32; c++)
        if (a->clip.chmask & (1u << c))
            json_array_append_new(chs, json_string(a->names[c]));
    json_object_set_new(v, "channels", chs);
    qc_event *e = qc_events_add(&a->ev, QC_CLIPPING, "clipping", t_of(a, a->clip.start), t_of(a, a->clip.end), -1,
                                -1, v, NULL, "%lld clipped run%s (%lld samples, longest %lld)",
                                (long long)a->clip.runs, a->clip.runs > 1 ? "s" : "", (long long)a->clip.samples,
                                (long long)a->clip.longest);
    if (e && (a->clip.chmask & (a->clip.chmask - 1)) == 0)
        e->channel = a->clip.channel;
    a->clip.runs = 0;
}

/* The meter's callback for each clipped run as it ends (on the analyser's
 * thread): runs less than a second apart, on any channel, make one event.
 * Runs of one block arrive channel by channel, so a run may start before
 * the group's first one. */
static void on_clip(void *user, const pk_clip_run *r)
{
    qc_audio *a = user;
    if (a->p->severity[QC_CLIPPING] == QC_OFF)
        return;
    int64_t end = r->start + r->length;
    if (a->clip.runs > 0 && r->start > a->clip.end + a->rate)
        clip_flush(a);
    if (a->clip.runs == 0) {
        a->clip.start = r->start;
        a->clip.end = end;
        a->clip.samples = a->clip.longest = 0;
        a->clip.chmask = 0;
    }
    a->clip.runs++;
    a->clip.start = r->start < a->clip.start ? r->start : a->clip.start;
    a->clip.end = end > a->clip.end ? end : a->clip.end;
    a->clip.samples += r->length;
    a->clip.longest = r->length > a->clip.longest ? r->length : a->clip.longest;
    a->clip.chmask |= 1u << (r->channel & 31);
    a->clip.channel = r->channel;
}

void qc_audio_finish(qc_audio *a)
{
    if (a->all.start >= 0)
        silence_end(a, a->samples);
    for (int c = 0; c < a->channels; c++)
        if (a->ch[c].start >= 0)
            channel_silence_end(a, c, a->samples);
    for (int k = 0; k < a->npairs; k++) {
        pair_state *ps = &a->pairs[k];
        if (ps->n >= a->window / 2)
            pair_window(a, ps, a->samples);
        pair_end(a, ps);
    }
    pk_loudness_finish(a->meter, NULL);   /* a run at the very end is reported here */
    clip_flush(a);
}

qc_events *qc_audio_events(qc_audio *a) { return &a->ev; }
pk_loudness *qc_audio_meter(qc_audio *a) { return a->meter; }
double qc_audio_duration(const qc_audio *a) { return (double)a->samples / a->rate; }
double qc_audio_start_time(const qc_audio *a) { return a->origin; }
int qc_audio_channels(const qc_audio *a) { return a->channels; }

json_t *qc_audio_summary(qc_audio *a)
{
    json_t *o = NULL;
    if (pk_loudness_json(a->meter, &o) != PK_OK || !o)
        o = json_object();
    json_object_set_new(o, "momentary_timeline", qc_series_json(&a->momentary));
    json_object_set_new(o, "short_term_timeline", qc_series_json(&a->short_term));
    return o;
}

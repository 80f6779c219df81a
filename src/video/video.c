/*
 * video.c — the video analyser: one measurement pass per frame (picture.c)
 * feeds every video detector, in frame order, on one thread.
 *
 * Segment detectors kept here because each is a few lines of state:
 *  - black (blackdetect semantics): a picture is black when at least
 *    `picture_ratio` of its pixels are at or below 16 + pixel_threshold x 219
 *    (0 + x 255 for full range), truncated to an integer code as blackdetect
 *    does; a segment runs from the first black frame's time to the first
 *    non-black frame's. Segments touching the first or last frame are the
 *    slate and the tail, reported whatever their length.
 *  - freeze (freezedetect semantics): the mean absolute difference of all
 *    planes to the first frame of the still run, divided by 256, at or below
 *    10^(noise_db/20); a run shown for `min_duration` (to the end of its last
 *    frame, so one frame held for seconds in variable-frame-rate video is a
 *    freeze too) is reported, from the run's first frame to the first frame
 *    that differs.
 *  - repeated frames: frames bit-identical to the previous one, outside a
 *    reported freeze (every repeated frame lies in a still run, so a run's
 *    duplicates go to the freeze when the run is reported, else here);
 *    repeats less than a second apart are one event (a cadence). Black and
 *    flat pictures (a colour field) are not judged: identical black frames
 *    are the black rule's, neither a freeze nor repeats.
 *  - broadcast range: frames with more than `max_fraction` of their luma or
 *    chroma samples outside the legal codes, in segments.
 *  - flash frames: a shot of 1..max_frames frames between two cuts.
 */
#include "video/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct segment {
    int open;
    double start;
    int64_t first, last;
    double end;                /* end of the last frame in it */
    double worst[3];           /* measured extremes, per detector */
    char *thumb;               /* pinned at the start */
} segment;

struct qc_video {
    qc_video_setup set;
    const pk_qc_profile *p;
    qc_grid g;
    qc_measure *m;
    uint32_t lut[2][256];      /* limited, full */
    qc_cuts *cuts;
    qc_flashing *flash;
    qc_pixels *pixels;
    qc_events ev;
    qc_stats s;
    qc_series luma;
    int full_range, matrix, started;
    int64_t frames, interlaced_frames, tff_frames;
    double first_time, end_time, min_dur, max_dur;
    /* black */
    segment black;
    /* freeze */
    qc_picture *ref, *prev;
    segment freeze;            /* the current still run (open = a run exists) */
    int freeze_reported;
    int run_all_black;         /* every frame of the run is black or flat */
    uint64_t freeze_max_sad;
    int64_t run_dups, run_first_dup, run_last_dup;
    double run_first_dup_t, run_last_dup_t, run_last_dup_end;
    /* repeated-frame groups */
    int64_t rep_count, rep_runs, rep_first, rep_last;
    double rep_start, rep_end;
    int rep_open;
    /* broadcast range */
    segment range;
    int check_range;
    /* cuts / flash frames */
    int64_t last_cut;          /* frame number of the last cut, -1 none */
    double last_cut_time;
    char *last_cut_thumb;
    /* thumbnails */
    uint8_t *rgb;
    int thumbs;
};

static void segment_clear(segment *s)
{
    free(s->thumb);
    memset(s, 0, sizeof *s);
}

qc_video *qc_video_new(const qc_video_setup *set)
{
    qc_video *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->set = *set;
    v->p = set->profile;
    const pk_qc_profile *p = v->p;
    if (qc_grid_init(&v->g, set->width, set->height) < 0)
        goto fail;
    int legal[4] = {(int)p->rg_luma_min, (int)p->rg_luma_max, (int)p->rg_chroma_min, (int)p->rg_chroma_max};
    int th_limited = (int)(16 + p->black_pixel_threshold * (235 - 16));
    int th_full = (int)(p->black_pixel_threshold * 255);
    v->m = qc_measure_new(&v->g, th_limited, th_full, p->black_picture_ratio,
                          p->severity[QC_RANGE] != QC_OFF ? legal : NULL);
    v->cuts = qc_cuts_new(&v->g, p->cut_threshold, p->cut_ratio, set->want_cuts);
    v->rgb = malloc((size_t)v->g.n * 3);
    if (!v->m || !v->cuts || !v->rgb || qc_series_init(&v->luma, set->timeline_points, 0.04) < 0)
        goto fail;
    if (p->severity[QC_PIXELS] != QC_OFF && !(v->pixels = qc_pixels_new(&v->g, p, set->fps)))
        goto fail;
    qc_luminance_table(p, 0, v->lut[0]);
    qc_luminance_table(p, 1, v->lut[1]);
    v->last_cut = -1;
    v->check_range = p->severity[QC_RANGE] != QC_OFF;
    return v;
fail:
    qc_video_free(v);
    return NULL;
}

void qc_video_free(qc_video *v)
{
    if (!v)
        return;
    qc_picture_unref(v->ref);
    qc_picture_unref(v->prev);
    qc_measure_free(v->m);
    qc_cuts_free(v->cuts);
    qc_flashing_free(v->flash);
    qc_pixels_free(v->pixels);
    qc_events_free(&v->ev);
    qc_series_free(&v->luma);
    qc_grid_free(&v->g);
    segment_clear(&v->black);
    segment_clear(&v->freeze);
    segment_clear(&v->range);
    free(v->last_cut_thumb);
    free(v->rgb);
    free(v);
}

/* A thumbnail of the current frame (NULL when turned off or enough made). */
static char *thumb_now(qc_video *v, int mark_x, int mark_y)
{
    if (!v->set.thumbnails || v->thumbs >= v->set.max_thumbnails)
        return NULL;
    qc_thumb_rgb(&v->g, &v->s, v->full_range, v->matrix, mark_x, mark_y, v->rgb);
    return qc_thumb_encode(v->rgb, v->g.cols, v->g.rows);
}

/* Hand a pinned thumbnail to an event (counts towards the limit). */
static char *take_thumb(qc_video *v, char **pinned)
{
    char *t = *pinned;
    *pinned = NULL;
    if (t && v->thumbs >= v->set.max_thumbnails) {
        free(t);
        return NULL;
    }
    if (t)
        v->thumbs++;
    return t;
}

/* ---- black --------------------------------------------------------------- */

static void black_close(qc_video *v, int at_end)
{
    segment *b = &v->black;
    if (!b->open)
        return;
    const pk_qc_profile *p = v->p;
    double dur = b->end - b->start;
    int slate = b->first == 0, tail = at_end;
    json_t *val = json_object();
    json_object_set_new(val, "duration", json_real(pk_round(dur, 6)));
    json_object_set_new(val, "frames", json_integer(b->last - b->first + 1));
    json_object_set_new(val, "min_black_ratio", json_real(pk_round(b->worst[0], 4)));
    json_object_set_new(val, "max_luma", json_real(pk_round(b->worst[1], 2)));
    if (slate && tail) {
        qc_events_add(&v->ev, QC_BLACK, "black", b->start, b->end, b->first, b->last, val,
                      take_thumb(v, &b->thumb), "the whole video is black (%.2f s)", dur);
    } else if (slate || tail) {
        qc_events_add(&v->ev, QC_BLACK_EDGES, slate ? "black_slate" : "black_tail", b->start, b->end,
                      b->first, b->last, val, take_thumb(v, &b->thumb), "black %s: %lld frame%s (%.2f s)",
                      slate ? "at the start" : "at the end", (long long)(b->last - b->first + 1),
                      b->last > b->first ? "s" : "", dur);
    } else if (dur >= p->black_min_duration - 1e-9) {
        qc_events_add(&v->ev, QC_BLACK, "black", b->start, b->end, b->first, b->last, val,
                      take_thumb(v, &b->thumb), "black for %.2f s (%lld frames)", dur,
                      (long long)(b->last - b->first + 1));
    } else {
        json_decref(val);
    }
    segment_clear(b);
}

static void black_frame(qc_video *v, const qc_picture *pic)
{
    segment *b = &v->black;
    int black = v->s.black_fraction >= v->p->black_picture_ratio;
    if (!black) {
        if (b->open)
            black_close(v, 0);
        return;
    }
    if (!b->open) {
        b->open = 1;
        b->start = pic->time;
        b->first = pic->number;
        b->worst[0] = 1;
        b->worst[1] = 0;
        b->thumb = thumb_now(v, -1, -1);
    }
    b->last = pic->number;
    b->end = pic->time + pic->duration;
    b->worst[0] = fmin(b->worst[0], v->s.black_fraction);
    b->worst[1] = fmax(b->worst[1], v->s.luma_mean);
}

/* ---- freeze and repeated frames -------------------------------------------- */

static void repeat_close(qc_video *v)
{
    if (!v->rep_open)
        return;
    v->rep_open = 0;
    if (v->rep_count < (int64_t)v->p->repeat_min_frames)
        return;
    json_t *val = json_object();
    json_object_set_new(val, "repeated", json_integer(v->rep_count));
    json_object_set_new(val, "runs", json_integer(v->rep_runs));
    qc_events_add(&v->ev, QC_REPEAT, "repeated_frames", v->rep_start, v->rep_end, v->rep_first, v->rep_last,
                  val, NULL, "%lld frame%s identical to the previous one (%lld run%s)",
                  (long long)v->rep_count, v->rep_count == 1 ? "" : "s", (long long)v->rep_runs,
                  v->rep_runs == 1 ? "" : "s");
}

/* The duplicates of a still run that was not reported as a freeze. */
static void repeat_add_run(qc_video *v)
{
    if (v->run_dups == 0)
        return;
    if (v->rep_open && v->run_first_dup_t > v->rep_end + 1.0)
        repeat_close(v);
    if (!v->rep_open) {
        v->rep_open = 1;
        v->rep_count = v->rep_runs = 0;
        v->rep_start = v->run_first_dup_t;
        v->rep_first = v->run_first_dup;
    }
    v->rep_count += v->run_dups;
    v->rep_runs++;
    v->rep_last = v->run_last_dup;
    v->rep_end = v->run_last_dup_end;
}

/* End the current still run at `end` (the first differing frame's time). */
static void run_close(qc_video *v, double end, int64_t last)
{
    segment *f = &v->freeze;
    if (!f->open)
        return;
    if (v->freeze_reported) {
        double dur = end - f->start;
        int64_t frames = last - f->first + 1;
        json_t *val = json_object();
        json_object_set_new(val, "duration", json_real(pk_round(dur, 6)));
        json_object_set_new(val, "frames", json_integer(frames));
        double mafd = (double)v->freeze_max_sad / (double)f->worst[0] / 256.0;
        json_object_set_new(val, "max_difference_db", mafd > 0 ? json_real(pk_round(20 * log10(mafd), 1)) : json_null());
        json_object_set_new(val, "exact", json_boolean(v->run_dups == frames - 1));
        if (frames == 1)
            qc_events_add(&v->ev, QC_FREEZE, "freeze", f->start, end, f->first, last, val, take_thumb(v, &f->thumb),
                          "one frame held for %.2f s", dur);
        else
            qc_events_add(&v->ev, QC_FREEZE, "freeze", f->start, end, f->first, last, val, take_thumb(v, &f->thumb),
                          "frozen picture for %.2f s (%lld frames%s)", dur, (long long)frames,
                          v->run_dups == frames - 1 ? ", identical" : "");
    } else {
        repeat_add_run(v);
    }
    segment_clear(f);
    v->freeze_reported = 0;
    v->freeze_max_sad = 0;
    v->run_dups = 0;
}

/* A picture of one flat colour (a colour field, a white flash): its
 * repeats are not a cadence and its stillness is not a frozen picture. */
static int flat_picture(const qc_video *v)
{
    float lo = v->s.y[0], hi = v->s.y[0];
    for (int i = 1; i < v->g.n; i++) {
        lo = v->s.y[i] < lo ? v->s.y[i] : lo;
        hi = v->s.y[i] > hi ? v->s.y[i] : hi;
    }
    return hi - lo <= 2.0f;
}

static void freeze_frame(qc_video *v, qc_picture *pic)
{
    const pk_qc_profile *p = v->p;
    int black = v->s.black_fraction >= p->black_picture_ratio || flat_picture(v);
    uint64_t samples = qc_picture_samples(pic);
    double noise = pow(10, p->freeze_noise_db / 20);
    uint64_t budget = (uint64_t)floor(noise * 256.0 * (double)samples);
    uint64_t sad = 0;
    int identical, frozen;
    if (v->ref && v->ref == v->prev && v->ref->cw == pic->cw && v->ref->ch == pic->ch) {
        /* Outside a still run the reference is the previous frame: one
         * comparison answers both questions (no difference = identical). */
        sad = qc_picture_sad(v->ref, pic, budget);
        identical = sad == 0;
        frozen = sad <= budget;
    } else {
        identical = v->prev && qc_picture_identical(v->prev, pic);
        frozen = identical;
        if (!frozen && v->ref) {
            sad = qc_picture_sad(v->ref, pic, budget);
            frozen = sad <= budget;
        }
    }
    segment *f = &v->freeze;
    if (!frozen) {
        run_close(v, pic->time, v->prev ? v->prev->number : pic->number);
        qc_picture_unref(v->ref);
        v->ref = qc_picture_ref(pic);
        f->open = 1;
        f->start = pic->time;
        f->first = pic->number;
        f->worst[0] = (double)qc_picture_samples(pic);
        v->run_all_black = black;
    } else {
        v->run_all_black &= black;
        if (sad > v->freeze_max_sad)
            v->freeze_max_sad = sad;
        if (identical && !black) {
            if (v->run_dups++ == 0) {
                v->run_first_dup = pic->number;
                v->run_first_dup_t = pic->time;
            }
            v->run_last_dup = pic->number;
            v->run_last_dup_end = pic->time + pic->duration;
        }
    }
    /* The run is still for as long as its last frame is shown: with a
     * variable frame rate one frame may be on screen for seconds. */
    if (!v->freeze_reported && !v->run_all_black && pic->time + pic->duration - f->start >= p->freeze_min_duration - 1e-9 &&
        p->severity[QC_FREEZE] != QC_OFF) {
        v->freeze_reported = 1;
        f->thumb = thumb_now(v, -1, -1);
    }
    f->end = pic->time + pic->duration;
    qc_picture_unref(v->prev);
    v->prev = qc_picture_ref(pic);
}

/* ---- broadcast range ------------------------------------------------------- */

static void range_close(qc_video *v)
{
    segment *r = &v->range;
    if (!r->open)
        return;
    double dur = r->end - r->start;
    if (dur >= v->p->rg_min_duration - 1e-9) {
        json_t *val = json_object();
        json_object_set_new(val, "duration", json_real(pk_round(dur, 6)));
        json_object_set_new(val, "max_luma_outside", json_real(pk_round(r->worst[0], 4)));
        json_object_set_new(val, "max_chroma_outside", json_real(pk_round(r->worst[2], 4)));
        double worst = fmax(r->worst[0], r->worst[2]);
        qc_events_add(&v->ev, QC_RANGE, "out_of_range", r->start, r->end, r->first, r->last, val,
                      take_thumb(v, &r->thumb),
                      "up to %.1f %% of the picture outside legal levels for %.2f s", 100 * worst, dur);
    }
    segment_clear(r);
}

static void range_frame(qc_video *v, const qc_picture *pic)
{
    const qc_stats *s = &v->s;
    double lim = v->p->rg_max_fraction;
    int bad = !pic->full_range && (s->luma_outside > lim || s->chroma_out > lim);
    segment *r = &v->range;
    if (!bad) {
        range_close(v);
        return;
    }
    if (!r->open) {
        r->open = 1;
        r->start = pic->time;
        r->first = pic->number;
        r->thumb = thumb_now(v, -1, -1);
    }
    r->last = pic->number;
    r->end = pic->time + pic->duration;
    r->worst[0] = fmax(r->worst[0], s->luma_outside);
    r->worst[2] = fmax(r->worst[2], s->chroma_out);
}

/* ---- cuts and flash frames ------------------------------------------------- */

static int cuts_frame(qc_video *v, const qc_picture *pic)
{
    double score;
    int cut = qc_cuts_frame(v->cuts, &v->s, pic->number, pic->time, &score);
    if (!cut)
        return 0;
    int64_t shot = pic->number - v->last_cut;
    if (v->last_cut > 0 && shot >= 1 && shot <= (int64_t)v->p->flash_max_frames) {
        json_t *val = json_object();
        json_object_set_new(val, "frames", json_integer(shot));
        json_object_set_new(val, "cut_score", json_real(pk_round(score, 2)));
        qc_events_add(&v->ev, QC_FLASH_FRAME, "flash_frame", v->last_cut_time, pic->time, v->last_cut,
                      pic->number - 1, val, take_thumb(v, &v->last_cut_thumb),
                      "a shot of %lld frame%s between two cuts", (long long)shot, shot == 1 ? "" : "s");
    }
    v->last_cut = pic->number;
    v->last_cut_time = pic->time;
    free(v->last_cut_thumb);
    v->last_cut_thumb = thumb_now(v, -1, -1);
    return 1;
}

/* ---- the frame ---------------------------------------------------------------- */

void qc_video_frame(qc_video *v, qc_picture *pic)
{
    const pk_qc_profile *p = v->p;
    if (!v->started) {
        v->started = 1;
        v->full_range = pic->full_range;
        v->matrix = pic->matrix;
        v->first_time = pic->time;
        v->min_dur = v->max_dur = pic->duration;
        if (p->severity[QC_PHOTOSENSITIVE] != QC_OFF)
            v->flash = qc_flashing_new(&v->g, p, pic->full_range, pic->matrix);
    }
    v->frames++;
    v->interlaced_frames += pic->interlaced != 0;
    v->end_time = pic->time + pic->duration;
    v->min_dur = fmin(v->min_dur, pic->duration);
    v->max_dur = fmax(v->max_dur, pic->duration);
    if (v->pixels)
        qc_pixels_scan_begin(v->pixels, pic);
    qc_measure_frame(v->m, pic, v->lut[pic->full_range ? 1 : 0], &v->s, v->pixels);
    qc_series_add(&v->luma, pic->time, v->s.luma_mean);
    black_frame(v, pic);
    freeze_frame(v, pic);
    if (v->check_range)
        range_frame(v, pic);
    int cut = cuts_frame(v, pic);
    if (v->flash) {
        qc_event *e = qc_flashing_frame(v->flash, &v->s, pic->number, pic->time, pic->duration, &v->ev);
        if (e && !e->thumb && v->thumbs < v->set.max_thumbnails && (e->thumb = thumb_now(v, -1, -1)))
            v->thumbs++;
    }
    if (v->pixels)
        qc_pixels_frame(v->pixels, pic, &v->s, cut);
}

void qc_video_finish(qc_video *v)
{
    if (!v->started)
        return;
    black_close(v, 1);
    run_close(v, v->end_time, v->prev ? v->prev->number : 0);
    repeat_close(v);
    range_close(v);
    if (v->flash)
        qc_flashing_finish(v->flash, &v->ev);
    if (v->pixels) {
        size_t before = v->ev.n;
        qc_pixels_finish(v->pixels, &v->ev);
        for (size_t i = before; i < v->ev.n; i++) {
            qc_event *e = &v->ev.v[i];
            int x = (int)json_integer_value(json_object_get(e->values, "x"));
            int y = (int)json_integer_value(json_object_get(e->values, "y"));
            if ((e->thumb = thumb_now(v, x / v->g.bs, y / v->g.bs)))
                v->thumbs++;
        }
    }
    qc_picture_unref(v->ref);
    qc_picture_unref(v->prev);
    v->ref = v->prev = NULL;
}

qc_events *qc_video_events(qc_video *v) { return &v->ev; }
int64_t qc_video_frames(const qc_video *v) { return v->frames; }
double qc_video_end_time(const qc_video *v) { return v->end_time; }
double qc_video_start_time(const qc_video *v) { return v->first_time; }

json_t *qc_video_summary(qc_video *v)
{
    json_t *o = json_object();
    json_object_set_new(o, "frames", json_integer(v->frames));
    json_object_set_new(o, "start", json_real(pk_round(v->first_time, 6)));
    json_object_set_new(o, "end", json_real(pk_round(v->end_time, 6)));
    json_object_set_new(o, "interlaced_frames", json_integer(v->interlaced_frames));
    json_object_set_new(o, "variable_frame_rate",
                        json_boolean(v->frames > 1 && v->max_dur > v->min_dur * 1.01 + 1e-6));
    json_object_set_new(o, "cuts", json_integer(qc_cuts_count(v->cuts)));
    json_t *list = qc_cuts_list(v->cuts);
    if (list)
        json_object_set_new(o, "cut_list", list);
    if (v->flash) {
        double lf, rf;
        qc_flashing_peak(v->flash, &lf, &rf);
        json_object_set_new(o, "max_flashes_per_second", json_real(lf));
        json_object_set_new(o, "max_red_flashes_per_second", json_real(rf));
    }
    json_object_set_new(o, "grid", json_pack("{s:i,s:i,s:i}", "block", v->g.bs, "cols", v->g.cols,
                                             "rows", v->g.rows));
    json_object_set_new(o, "luma", qc_series_json(&v->luma));
    return o;
}

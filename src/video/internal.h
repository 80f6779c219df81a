/*
 * video/internal.h — the parts of `postkit qc`: the profile (rules and
 * thresholds), events, the per-frame measurements every video detector
 * shares, the detectors themselves, the audio detectors, thumbnails and the
 * HTML view.
 *
 * Threading: the analysers of one file run on two worker threads, one for
 * video (qc_video) and one for audio (qc_audio); each owns its detectors and
 * its event list, so nothing here locks. The lists are merged when both
 * threads have finished.
 */
#ifndef POSTKIT_VIDEO_INTERNAL_H
#define POSTKIT_VIDEO_INTERNAL_H

#include "core/internal.h"

#include <postkit/audio.h>
#include <postkit/media.h>
#include <postkit/video.h>

struct AVFrame;

/* ---- profile.c: rules, severities, thresholds ---------------------------- */

typedef enum qc_severity { QC_OFF = 0, QC_INFO, QC_WARNING, QC_ERROR } qc_severity;

typedef enum qc_rule {
    QC_DECODE,          /* decode_errors */
    QC_BLACK,           /* black */
    QC_BLACK_EDGES,     /* black_edges: slate / tail */
    QC_FREEZE,          /* freeze */
    QC_REPEAT,          /* repeated_frames */
    QC_FLASH_FRAME,     /* flash_frames */
    QC_PHOTOSENSITIVE,  /* photosensitivity */
    QC_PIXELS,          /* dead_pixels */
    QC_RANGE,           /* broadcast_range */
    QC_CLIPPING,        /* audio_clipping */
    QC_SILENCE,         /* silence */
    QC_CHANNEL_SILENCE, /* channel_silence */
    QC_IDENTICAL,       /* identical_channels */
    QC_INVERTED,        /* inverted_channels */
    QC_LOUDNESS,        /* loudness */
    QC_TRUE_PEAK,       /* true_peak */
    QC_AV_LENGTH,       /* av_length */
    QC_STREAM,          /* stream */
    QC_RULE_COUNT
} qc_rule;

typedef enum qc_scope { QC_SCOPE_FILE, QC_SCOPE_VIDEO, QC_SCOPE_AUDIO } qc_scope;

typedef struct qc_rule_info {
    const char *name;       /* JSON key and report label: "black" */
    qc_scope scope;         /* which stream it needs */
    const char *what;       /* one line for the report and docs */
} qc_rule_info;

extern const qc_rule_info qc_rules[QC_RULE_COUNT];

#define QC_TEXT 128

struct pk_qc_profile {
    char name[64];
    char extends[64];          /* the built-in it started from */
    char summary[160];
    qc_severity severity[QC_RULE_COUNT];
    /* black */
    double black_min_duration, black_pixel_threshold, black_picture_ratio;
    /* freeze, repeated frames */
    double freeze_noise_db, freeze_min_duration, repeat_min_frames;
    /* shot cuts, flash frames */
    double cut_threshold, cut_ratio, flash_max_frames;
    /* photosensitivity (BT.1702 / Ofcom) */
    double ps_peak, ps_black, ps_delta, ps_dark, ps_area, ps_max_flashes, ps_red_ratio, ps_red_delta;
    /* dead / stuck / hot pixels */
    double px_contrast, px_fraction, px_tolerance, px_activity, px_min_duration, px_rate;
    /* broadcast range */
    double rg_luma_min, rg_luma_max, rg_chroma_min, rg_chroma_max, rg_max_fraction, rg_min_duration;
    /* audio */
    double clip_level_db, clip_min_run;
    double silence_db, silence_min_duration;
    double chsil_db, chsil_min_duration;
    double ident_diff_db, ident_min_duration;
    double inv_correlation, inv_min_duration;
    double lo_target, lo_target_mono, lo_tolerance, lo_max_range;
    double tp_max;
    double av_tolerance_frames;
    /* stream facts: "|"-separated allowed values, "" = any */
    char st_resolution[QC_TEXT], st_frame_rate[QC_TEXT], st_scan[QC_TEXT], st_video_codec[QC_TEXT];
    char st_bit_depth[QC_TEXT], st_sample_rate[QC_TEXT], st_channels[QC_TEXT], st_audio_codec[QC_TEXT];
};

const char *qc_severity_name(qc_severity s);

/* The thresholds of the table, for documentation: calls fn for each key of
 * each rule with its JSON key, unit, help and the value in `p`. */
typedef void (*qc_threshold_fn)(void *user, qc_rule rule, const char *key, const char *unit,
                                const char *help, json_t *value);
void qc_profile_each(const pk_qc_profile *p, qc_threshold_fn fn, void *user);

/* The threshold of `rule` shown with a rule's verdict (e.g. "min_duration"
 * for black): a small object of the rule's keys and values. Owned by caller. */
json_t *qc_rule_thresholds(const pk_qc_profile *p, qc_rule rule);

/* ---- events.c: what the detectors find ----------------------------------- */

#define QC_MAX_EVENTS_PER_RULE 1000

typedef struct qc_event {
    qc_rule rule;
    const char *type;          /* "black", "black_slate", "freeze", ... (static) */
    double start, end;         /* seconds on the file's timeline */
    int64_t first_frame;       /* video events: frames [first, last]; -1 otherwise */
    int64_t last_frame;
    int channel;               /* audio events on one channel; -1 otherwise */
    json_t *values;            /* measured values (owned) */
    char *message;             /* one line (owned) */
    char *thumb;               /* "data:image/jpeg;base64,..." or NULL (owned) */
} qc_event;

typedef struct qc_events {
    qc_event *v;
    size_t n, cap;
    int64_t count[QC_RULE_COUNT];   /* found, including those not kept */
    size_t kept[QC_RULE_COUNT];
} qc_events;

/* Add an event; takes ownership of `values` (may be NULL) and of `thumb`.
 * Beyond QC_MAX_EVENTS_PER_RULE of one rule the event is only counted.
 * Returns the stored event or NULL (counted only, or out of memory). */
qc_event *qc_events_add(qc_events *e, qc_rule rule, const char *type, double start, double end,
                        int64_t first_frame, int64_t last_frame, json_t *values, char *thumb,
                        const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 10, 11)))
#endif
    ;
/* Move every event of `src` into `dst` (src is left empty). */
int qc_events_merge(qc_events *dst, qc_events *src);
void qc_events_sort(qc_events *e);
void qc_events_free(qc_events *e);

/* SMPTE timecode of time `t` at `fps_num/fps_den` (drop-frame for the NTSC
 * rates 29.97 and 59.94, "HH:MM:SS;FF"); buf holds 32 bytes. */
void qc_timecode(double t, int fps_num, int fps_den, char buf[32]);

/* ---- picture.c: 8-bit planes and the per-frame measurements -------------- */

typedef struct qc_picture {
    int refs;                  /* worker-only count of holders */
    struct AVFrame *frame;     /* decoder's frame (a reference), or NULL */
    uint8_t *own;              /* converted planes when not the frame's own */
    const uint8_t *plane[3];   /* Y, Cb, Cr, 8 bits; Cb/Cr NULL for grey */
    int stride[3];
    int w, h;                  /* luma */
    int cw, ch, cxs, cys;      /* chroma size and log2 subsampling */
    int full_range;            /* levels 0..255 instead of 16..235 */
    int matrix;                /* 601, 709 or 2020 */
    int64_t number;
    double time, duration;
    int interlaced;
} qc_picture;

typedef struct qc_converter qc_converter;
qc_converter *qc_converter_new(void);
void qc_converter_free(qc_converter *c);
/* Wrap a decoded frame as 8-bit planes: 8-bit planar YUV/grey frames are
 * used as they are (the frame is referenced, not copied), deeper planar YUV
 * is shifted down to 8 bits (coded levels kept), anything else goes through
 * swscale to 8-bit 4:4:4 limited range. `f` is referenced, not taken.
 * NULL when out of memory or the format cannot be converted. */
qc_picture *qc_picture_from_frame(qc_converter *c, const struct AVFrame *f, int full_range_hint);
/* Frames of another size than the first are scaled to the first's size, so
 * the detectors see one geometry for the whole stream. */
qc_picture *qc_picture_ref(qc_picture *p);
void qc_picture_unref(qc_picture *p);

/* The block grid: the picture cut into square blocks of about 1/160 of its
 * width (an even number of pixels, at least 8), the unit of cuts, flashes
 * and thumbnails. */
typedef struct qc_grid {
    int w, h, bs, cols, rows, n;
    float *area;               /* fraction of the picture per block */
    int *count;                /* luma pixels per block */
    uint16_t *colmap;          /* luma column -> block column */
} qc_grid;

int qc_grid_init(qc_grid *g, int w, int h);
void qc_grid_free(qc_grid *g);

/* Per-frame measurements shared by the detectors. */
typedef struct qc_stats {
    double luma_mean;          /* 8-bit code value */
    double black_fraction;     /* pixels at or below the black threshold (0 when the
                                  picture is too bright to be black: not counted) */
    double luma_outside, chroma_out;   /* fractions outside the legal range (when counted) */
    float *y, *u, *v;          /* block means, 8-bit code values (grid.n each) */
    float *lum;                /* block luminance, cd/m2, through the display model */
} qc_stats;

typedef struct qc_measure qc_measure;
/* Measurements for pictures of `g`'s geometry. `black_th` and the legal
 * range (luma min, max, chroma min, max; NULL: not counted) are 8-bit code
 * values. NULL when out of memory. */
qc_measure *qc_measure_new(const qc_grid *g, int black_th_limited, int black_th_full, double black_ratio,
                           const int legal[4]);
void qc_measure_free(qc_measure *m);
/* One pass over the planes of `p` fills `s` (whose arrays the measure owns
 * and reuses). `lum_lut` gives cd/m2 x QC_LUM_SCALE per code value; it is
 * applied on a regular subsample of about 4x4 per block (see picture.c). */
#define QC_LUM_SCALE 64
typedef struct qc_pixels qc_pixels;
/* `px` (NULL: none) is handed each row of blocks while it is in cache,
 * see qc_pixels_scan_begin. */
void qc_measure_frame(qc_measure *m, const qc_picture *p, const uint32_t *lum_lut, qc_stats *s, qc_pixels *px);

/* Sum of absolute differences of the three planes of two pictures of the
 * same geometry; stops (returning a value > budget) as soon as the sum
 * exceeds `budget`. */
uint64_t qc_picture_sad(const qc_picture *a, const qc_picture *b, uint64_t budget);
/* Whether the planes are bit-identical. */
int qc_picture_identical(const qc_picture *a, const qc_picture *b);
/* Pixels counted by qc_picture_sad (luma plus chroma). */
uint64_t qc_picture_samples(const qc_picture *p);

/* ---- thumbs.c ------------------------------------------------------------ */

/* RGB thumbnail (grid.cols x grid.rows x 3) from block means; `mark_x/y` >=
 * 0 outline that block in red. `rgb` holds 3 * grid.n bytes. */
void qc_thumb_rgb(const qc_grid *g, const qc_stats *s, int full_range, int matrix, int mark_x,
                  int mark_y, uint8_t *rgb);
/* JPEG data URI of an RGB image, or NULL. The caller frees it. */
char *qc_thumb_encode(const uint8_t *rgb, int w, int h);

/* ---- timeline (qc.c): bounded series for plots --------------------------- */

typedef struct qc_series {
    int max;                   /* points kept; neighbours merge when full */
    int n;
    double step;               /* seconds per bucket (grows by doubling) */
    double *t, *lo, *hi, *sum;
    int *cnt;
} qc_series;

int qc_series_init(qc_series *s, int max, double step);
void qc_series_add(qc_series *s, double t, double v);
json_t *qc_series_json(const qc_series *s);
void qc_series_free(qc_series *s);

/* ---- the video analyser (video.c) ---------------------------------------- */

typedef struct qc_video qc_video;

typedef struct qc_video_setup {
    const pk_qc_profile *profile;
    int width, height;
    double fps;                /* nominal */
    int want_cuts, thumbnails, max_thumbnails, timeline_points;
} qc_video_setup;

/* NULL when out of memory. */
qc_video *qc_video_new(const qc_video_setup *setup);
/* Analyse one picture (takes a reference of its own as needed). */
void qc_video_frame(qc_video *v, qc_picture *p);
/* Close open segments at the end of the stream (their events join the
 * analyser's list, qc_video_events). */
void qc_video_finish(qc_video *v);
qc_events *qc_video_events(qc_video *v);
/* Facts and measurements for the report (frames, scan, cut list, luma
 * timeline). The caller owns the result. */
json_t *qc_video_summary(qc_video *v);
int64_t qc_video_frames(const qc_video *v);
double qc_video_end_time(const qc_video *v);    /* end of the last frame */
double qc_video_start_time(const qc_video *v);
void qc_video_free(qc_video *v);

/* ---- detectors used by the video analyser -------------------------------- */

/* cuts.c: shot cuts from block means; flash frames (1..max frames between
 * two cuts). */
typedef struct qc_cuts qc_cuts;
qc_cuts *qc_cuts_new(const qc_grid *g, double threshold, double ratio, int keep_list);
/* Returns 1 when a cut precedes this frame (it starts a new shot). */
int qc_cuts_frame(qc_cuts *c, const qc_stats *s, int64_t number, double time, double *score);
json_t *qc_cuts_list(qc_cuts *c);  /* the cut list (NULL when not kept); caller owns */
int64_t qc_cuts_count(const qc_cuts *c);
void qc_cuts_free(qc_cuts *c);

/* flashing.c: photosensitive flashing. */
typedef struct qc_flashing qc_flashing;
/* cd/m2 x QC_LUM_SCALE for each 8-bit code value, through the BT.1886
 * display model with the profile's peak and black luminance; `full_range`
 * picks 0..255 instead of 16..235 as the code range. */
void qc_luminance_table(const pk_qc_profile *p, int full_range, uint32_t lut[256]);
qc_flashing *qc_flashing_new(const qc_grid *g, const pk_qc_profile *p, int full_range, int matrix);
/* Feed a frame's block luminance and colour. Failing sequences become
 * events in *ev; returns the event opened at this frame (for a thumbnail),
 * else NULL. */
qc_event *qc_flashing_frame(qc_flashing *f, const qc_stats *s, int64_t number, double time,
                            double duration, qc_events *ev);
/* Close an open failing sequence. */
void qc_flashing_finish(qc_flashing *f, qc_events *ev);
/* Largest flash counts seen in any one-second window (for the verdict). */
void qc_flashing_peak(const qc_flashing *f, double *luminance_flashes, double *red_flashes);
void qc_flashing_free(qc_flashing *f);

/* pixels.c: dead / stuck / hot pixels. */
qc_pixels *qc_pixels_new(const qc_grid *g, const pk_qc_profile *p, double fps);
/* The measurement pass's share of the dead-pixel sweep: on a frame that
 * will be sampled (unless a cut, found later, makes it sampled anyway),
 * qc_pixels_scan_begin before the pass and qc_pixels_scan_rows each time
 * the pass has read the luma rows below `rows_read` test which runs of 64
 * pixels hold a pixel standing apart, while those rows are in cache;
 * qc_pixels_frame then visits only those runs. Single-threaded, like the
 * rest of qc_pixels. */
void qc_pixels_scan_begin(qc_pixels *px, const qc_picture *pic);
void qc_pixels_scan_rows(qc_pixels *px, const qc_picture *pic, int rows_read);
/* Feed a frame; `cut` says a new shot starts here. */
void qc_pixels_frame(qc_pixels *px, const qc_picture *pic, const qc_stats *s, int cut);
/* Judge the last shot and emit one event per defective pixel (values x, y). */
void qc_pixels_finish(qc_pixels *px, qc_events *ev);
void qc_pixels_free(qc_pixels *px);

/* ---- audio.c: the audio analyser ----------------------------------------- */

typedef struct qc_audio qc_audio;

typedef struct qc_audio_setup {
    pk_ctx *ctx;
    const pk_qc_profile *profile;
    const pk_audio_info *info;
    int timeline_points;
} qc_audio_setup;

pk_status qc_audio_new(const qc_audio_setup *setup, qc_audio **out);
/* Analyse `frames` interleaved samples starting at sample `first`. */
void qc_audio_block(qc_audio *a, const float *x, int frames, int64_t first, double time);
void qc_audio_finish(qc_audio *a);
qc_events *qc_audio_events(qc_audio *a);
/* Loudness record (pk_loudness_json plus timelines). Caller owns. */
json_t *qc_audio_summary(qc_audio *a);
pk_loudness *qc_audio_meter(qc_audio *a);
double qc_audio_duration(const qc_audio *a);
double qc_audio_start_time(const qc_audio *a);
int qc_audio_channels(const qc_audio *a);
void qc_audio_free(qc_audio *a);

/* ---- report.c: the HTML view of the records ------------------------------ */

/* Write the head of a self-contained HTML report. */
void qc_html_begin(FILE *out, const char *title);
/* One file's section from its record (pk_qc_file's report). */
void qc_html_file(FILE *out, const json_t *record);
void qc_html_end(FILE *out);

#endif

/*
 * audio/internal.h — DSP building blocks shared by the audio operations:
 * true-peak detection, K-weighting, the look-ahead limiter, match EQ and
 * declipping. Each works on float buffers, so each is unit-tested on
 * synthetic signals without any file.
 */
#ifndef POSTKIT_AUDIO_INTERNAL_H
#define POSTKIT_AUDIO_INTERNAL_H

#include "core/internal.h"
#include <postkit/audio.h>
#include <postkit/media.h>

/* ---- truepeak.c: BS.1770-4 Annex 2 true-peak detection ------------------
 * Oversampling by a polyphase windowed-sinc interpolator (TP_FACTOR phases,
 * TP_TAPS taps each, each phase normalised to unity DC gain). A block whose
 * largest input magnitude, times the interpolator's largest L1 gain, cannot
 * beat the peak found so far is skipped: that bound is exact, so skipping
 * never changes the result, it only saves the work on quiet passages. */
#define PK_TP_FACTOR 4
#define PK_TP_TAPS 16

typedef struct pk_truepeak pk_truepeak;

/* NULL when out of memory. */
pk_truepeak *pk_truepeak_new(int channels);
/* Feed interleaved samples (must be finite). */
void pk_truepeak_add(pk_truepeak *tp, const float *interleaved, int64_t frames);
/* Largest interpolated magnitude of channel c so far (linear). Includes the
 * samples themselves. */
double pk_truepeak_get(const pk_truepeak *tp, int c);
void pk_truepeak_free(pk_truepeak *tp);
/* The limiter's view: for each frame n, env[n] = the largest magnitude over
 * all channels of the sample n - PK_TP_DELAY and of the interpolated points
 * between it and the next sample. The first PK_TP_DELAY values of a stream
 * describe the silence before it. Updates the peaks like pk_truepeak_add. */
#define PK_TP_DELAY (PK_TP_TAPS / 2)
void pk_truepeak_envelope(pk_truepeak *tp, const float *interleaved, int64_t frames, float *env);

/* ---- kweight.c: BS.1770-4 K-weighting filter coefficients ---------------- */
typedef struct pk_biquad {
    double b0, b1, b2, a1, a2;
} pk_biquad;
/* The pre-filter (high shelf) and RLB high-pass for `rate`, by the bilinear
 * transform of the analogue prototypes behind BS.1770's 48 kHz table. */
void pk_kweight_design(double rate, pk_biquad *shelf, pk_biquad *highpass);

/* ---- channels.c --------------------------------------------------------- */
/* Fill names and BS.1770-4 weights for each channel of `layout` (FFmpeg
 * name; NULL/"" = default layout for `channels`). PK_ERR_USAGE with a message
 * for an unknown layout or a channel-count mismatch. */
pk_status pk_channel_weights(pk_ctx *ctx, const char *layout, int channels,
                             char names[][16], double *weights);

/* ---- limiter.c: look-ahead true-peak limiter ----------------------------
 * Linked across channels (one gain for all, so the stereo image never
 * moves). For every frame the gain that keeps the true-peak envelope (4x
 * interpolated, including the points between samples) under the ceiling is
 * found; a sliding minimum over the look-ahead window makes the gain reach
 * that value before the peak arrives, an exponential release lets it
 * recover, and a moving average over the look-ahead window smooths the
 * result. The average of values that are each below the requirement is below
 * it too, so the smoothing never lets a peak through, and the gain curve has
 * no corners: attack = look-ahead (a raised ramp of that length), release =
 * the time constant. Latency: pk_limiter_latency() frames. */
typedef struct pk_limiter pk_limiter;

typedef struct pk_limiter_stats {
    int64_t limited_frames;     /* frames with any gain reduction (> 0.01 dB) */
    int64_t events;             /* separate stretches of gain reduction */
    double max_reduction_db;    /* largest reduction, dB (positive) */
    double lookahead_ms, release_ms, ceiling_dbtp;
} pk_limiter_stats;

#define PK_LIMITER_LOOKAHEAD_MS 5.0
#define PK_LIMITER_RELEASE_MS 200.0

/* NULL when out of memory. */
pk_limiter *pk_limiter_new(int rate, int channels, double ceiling_dbtp, double lookahead_ms,
                           double release_ms);
/* Limit `frames` interleaved frames. Writes the frames that are ready to
 * `out` (room for `frames` frames) and returns how many: the output lags
 * the input by the latency. In-place (out == in) is allowed. */
int64_t pk_limiter_process(pk_limiter *l, const float *in, int64_t frames, float *out);
/* Emit the last frames (returns how many; `out` holds latency frames). */
int64_t pk_limiter_flush(pk_limiter *l, float *out);
int pk_limiter_latency(const pk_limiter *l);
void pk_limiter_get_stats(const pk_limiter *l, pk_limiter_stats *st);
void pk_limiter_free(pk_limiter *l);

/* ---- declip.c: clipped-run reconstruction ------------------------------
 * A run is two or more consecutive samples at the channel's clip level
 * (positive and negative levels apart, found by the caller from a first
 * pass: the largest sample, less 0.01 %). Frames of PK_DECLIP_FRAME samples,
 * overlapping by half, are repaired by least-squares AR interpolation
 * (Janssen): an AR(PK_DECLIP_ORDER) model is fitted to the frame, the clipped
 * samples are the unknowns that minimise the prediction error, and any
 * estimate that falls back inside the clip level is pinned to it (a clipped
 * sample was at least that loud) and the system solved again; the model is
 * refitted on the repaired frame once. Runs longer than PK_DECLIP_MAX_RUN
 * samples are left untouched and reported: there is too little left to
 * interpolate from. Channels are repaired independently. */
#define PK_DECLIP_FRAME 2048
#define PK_DECLIP_ORDER 32
#define PK_DECLIP_MAX_RUN 400

typedef struct pk_declip pk_declip;

typedef struct pk_declip_run {
    int channel;
    int64_t start, length;
    int repaired;                /* 0: longer than PK_DECLIP_MAX_RUN */
} pk_declip_run;

typedef struct pk_declip_stats {
    int64_t runs, repaired_runs, repaired_samples, skipped_runs;
    int64_t listed;              /* runs kept in the list (the first 1000) */
} pk_declip_stats;

/* `pos_level[c]` / `neg_level[c]`: magnitudes at which channel c clips
 * (<= 0: never). NULL when out of memory. */
pk_declip *pk_declip_new(int channels, const double *pos_level, const double *neg_level);
/* Like pk_limiter_process: returns frames written to out; lags the input. */
int64_t pk_declip_process(pk_declip *d, const float *in, int64_t frames, float *out);
/* The remaining frames (out holds PK_DECLIP_FRAME frames). */
int64_t pk_declip_flush(pk_declip *d, float *out);
void pk_declip_get_stats(const pk_declip *d, pk_declip_stats *st);
const pk_declip_run *pk_declip_runs(const pk_declip *d);
void pk_declip_free(pk_declip *d);

/* ---- matcheq.c: reference matching (spectrum, EQ curve, FIR filter) ------
 * Long-term average spectra by Welch's method (Hann, 50 % overlap, FFT of
 * about rate/6 samples: 8192 at 44.1/48 kHz, about 6 Hz per bin); frames
 * quieter than -60 dBFS RMS are skipped so pauses do not weigh. For stereo
 * the spectrum is that of the mid signal (L+R)/2, and the side/mid energy
 * ratio is kept for width matching; other layouts average all channels.
 *
 * The correction curve is the ratio of the reference's and the input's
 * spectra, each smoothed over PK_EQ_SMOOTH_OCT octave and normalised to equal
 * total power over PK_EQ_LO_HZ..PK_EQ_HI_HZ, limited to +-PK_EQ_MAX_DB,
 * sampled every 1/24 octave from 20 Hz to 20 kHz (flat beyond the band the
 * two files share). The filter realising it is a linear-phase FIR (default:
 * no phase change, delay compensated) or its minimum-phase counterpart
 * (cepstral method: no pre-ringing, at the cost of phase shifts), about
 * rate/6 taps long. FFTW plans are made with FFTW_ESTIMATE on the calling
 * thread (FFTW's planner is not thread-safe: one match at a time). */
#define PK_EQ_SMOOTH_OCT (1.0 / 6.0)
#define PK_EQ_MAX_DB 12.0
#define PK_EQ_LO_HZ 20.0
#define PK_EQ_HI_HZ 20000.0
#define PK_EQ_POINTS 241            /* 10 octaves x 24 + 1 */

typedef struct pk_spectrum pk_spectrum;
pk_spectrum *pk_spectrum_new(int rate, int channels);
void pk_spectrum_add(pk_spectrum *s, const float *interleaved, int64_t frames);
/* Smoothed level (dB, arbitrary reference) at each curve point, and the
 * side/mid energy ratio (0 when not stereo). Returns the number of frames
 * that counted (0: all silent). */
int64_t pk_spectrum_result(pk_spectrum *s, double db[PK_EQ_POINTS], double *side_mid);
void pk_spectrum_free(pk_spectrum *s);
/* Frequency of curve point i. */
double pk_eq_point_hz(int i);

/* Correction (dB per point) that turns `in` into `ref`: smoothed spectra
 * already, normalised and limited as described above. `top_hz` is the
 * highest frequency both files carry (e.g. 0.45 x the lower rate). */
void pk_eq_curve(const double in_db[PK_EQ_POINTS], const double ref_db[PK_EQ_POINTS], double top_hz,
                 double curve_db[PK_EQ_POINTS]);

typedef struct pk_fir pk_fir;
/* A filter with the response curve_db at `rate` for `channels` channels.
 * NULL when out of memory. */
pk_fir *pk_fir_new(const double curve_db[PK_EQ_POINTS], int rate, int channels, int minimum_phase);
/* Filter interleaved frames; writes the frames that are ready (aligned with
 * the input: the linear-phase delay is removed) and returns their count.
 * `out` must hold frames + pk_fir_block() frames. */
int64_t pk_fir_process(pk_fir *f, const float *in, int64_t frames, float *out);
/* The remaining frames; `out` holds 2 x pk_fir_block() frames. */
int64_t pk_fir_flush(pk_fir *f, float *out);
int pk_fir_block(const pk_fir *f);
void pk_fir_free(pk_fir *f);

/* ---- common.c: what the audio operations share ------------------------- */

/* Called for every audio block of a pass; a non-OK status stops the pass. */
typedef pk_status (*pk_block_fn)(void *user, const pk_audio_block *b);

/* One decode pass over the best audio stream of `path` (native rate and
 * layout, interleaved). `begin` (may be NULL) is called once before the
 * first block with the open source (pk_source_audio, pk_source_tags). Decode errors are logged (the
 * first ten) and counted in *errors (may be NULL); decoding goes on. */
pk_status pk_audio_pass(pk_ctx *ctx, const char *path, const char *label,
                        pk_status (*begin)(void *user, pk_source *src), pk_block_fn fn,
                        void *user, int64_t *errors);

/* A meter for the stream `a` (its delivered rate, channels and layout). */
pk_status pk_audio_meter_for(pk_ctx *ctx, const pk_audio_info *a, int threads,
                             void (*on_update)(void *, double, double, double), void *user,
                             pk_loudness **out);

/* Measure a whole file: *out gets a finished meter, *info (may be NULL) the
 * stream's facts (strings cleared). */
pk_status pk_audio_measure(pk_ctx *ctx, const char *path, int threads, pk_loudness **out,
                           pk_audio_info *info);

/* Where processed audio goes: a WAV/FLAC writer when the output name ends
 * in .wav or .flac, otherwise a copy of the input with this audio in place
 * of the original (video and other streams copied, original codec). The
 * format keeps the source's rate, layout and bit depth (lossy sources give
 * 24-bit WAV/FLAC); 16-bit output is TPDF-dithered by the writer. */
typedef struct pk_audio_sink {
    pk_audio_writer *writer;
    pk_remux *remux;
    pk_audio_format fmt;
    int remuxed;
} pk_audio_sink;

pk_status pk_audio_sink_open(pk_run *run, const char *in_path, const pk_audio_info *a,
                             const char *const *tags, pk_output *out, pk_audio_sink *sink);
pk_status pk_audio_sink_write(pk_audio_sink *sink, const float *x, int64_t frames);
pk_status pk_audio_sink_close(pk_audio_sink *sink);
void pk_audio_sink_free(pk_audio_sink *sink);


/* A JSON figure: rounded to 2 decimals, null for NaN or infinity. */
json_t *pk_audio_figure(double v);

/* ---- plot.c: self-contained SVG plots (PNG through libvips) ------------- */
typedef struct pk_timeline pk_timeline;
/* At most `max_points` buckets kept: when full, neighbours merge (maximum
 * of each), so a 3-hour programme costs the same as a 3-minute one. */
pk_timeline *pk_timeline_new(int max_points);
void pk_timeline_add(pk_timeline *t, double time, double momentary, double short_term);
void pk_timeline_mark(pk_timeline *t, double time, const char *label); /* file boundaries */
/* Add every point of `src`, shifted by `offset` seconds. */
void pk_timeline_append(pk_timeline *dst, const pk_timeline *src, double offset);
void pk_timeline_free(pk_timeline *t);
/* Write the loudness-over-time plot; target band target +-1 LU. `path`
 * ending in .png is rasterised with libvips. */
pk_status pk_plot_loudness(pk_run *run, const char *path, const pk_timeline *t, double target,
                           double integrated, const char *title);
/* EQ plot: curve and up to three spectra (dB per PK_EQ_POINTS point). */
pk_status pk_plot_eq(pk_run *run, const char *path, const double *curve, const double *in_db,
                     const double *ref_db, const double *out_db);

/* ---- presets.c: delivery targets -------------------------------------- */
typedef struct pk_loudness_preset {
    const char *name;
    double lufs, lufs_mono, true_peak;
    const char *standard;
} pk_loudness_preset;

/* The preset table, terminated by a NULL name. */
extern const pk_loudness_preset pk_loudness_presets[];
/* Resolve --target: a preset name or a number (LUFS). `channels` picks the
 * mono figure of presets that have one. *tp gets the preset's true-peak
 * limit (-1 dBTP for a number). PK_ERR_USAGE for anything else. */
pk_status pk_loudness_target(pk_ctx *ctx, const char *text, int channels, double *lufs, double *tp,
                             const char **preset);

#endif

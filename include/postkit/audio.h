/*
 * audio.h — the loudness analyser: ITU-R BS.1770-4 / EBU R128 measurement of
 * float audio blocks, built to be fed from the same decode pass as other
 * analysers (QC, indexing).
 *
 * Usage:
 *     pk_loudness_options o;
 *     pk_loudness_options_init(&o, rate, channels);
 *     o.layout = "5.1";                         // optional, FFmpeg layout name
 *     pk_loudness *m;
 *     pk_loudness_new(ctx, &o, &m);
 *     while (more) pk_loudness_add(m, interleaved, frames);
 *     pk_loudness_result r;
 *     pk_loudness_finish(m, &r);                // or pk_loudness_json()
 *     pk_loudness_free(m);
 *
 * What is measured (all in one pass, memory independent of duration):
 *  - integrated loudness with BS.1770-4 gating (400 ms blocks every 100 ms,
 *    absolute gate -70 LUFS, relative gate -10 LU);
 *  - loudness range per EBU Tech 3342 (3 s short-term values every 100 ms,
 *    absolute gate -70 LUFS, relative gate -20 LU, 10th to 95th percentile);
 *  - maximum momentary (400 ms) and short-term (3 s) loudness, evaluated
 *    every millisecond (not only every 100 ms: Tech 3341 cases 10 and 13 need
 *    that resolution);
 *  - sample peak and true peak (4x oversampling, BS.1770-4 Annex 2) per
 *    channel; runs of clipped samples; NaN and infinite samples, which are
 *    counted and measured as silence so they never poison the result.
 *
 * Gating uses histograms of 0.01 LU bins that also keep the energy sum of
 * each bin, so the integrated value is the exact energy mean of the gated
 * blocks (only blocks within 0.01 LU of the relative gate are classified by
 * their bin), and percentiles are resolved to 0.01 LU. Memory: about 400 KB
 * per meter whatever the duration.
 *
 * Channel weights (BS.1770-4 Table 3 and its rule for other positions): L, R,
 * C and every channel outside 60..120 degrees azimuth weigh 1.0; channels at
 * 60..120 degrees weigh 1.41; LFE is excluded. So the surround pair of 5.1
 * (FFmpeg calls it "back" in "5.1" and "side" in "5.1(side)") weighs 1.41;
 * in 7.1 the side pair (90 degrees) weighs 1.41 and the back pair (135-150
 * degrees) 1.0; a mono file is one channel of weight 1.0.
 *
 * Threading: a meter is used by one thread at a time. With threads != 1 it
 * runs true-peak detection on a worker thread of its own, overlapping the
 * caller's decoding and K-weighting.
 */
#ifndef POSTKIT_AUDIO_H
#define POSTKIT_AUDIO_H

#include <stdint.h>
#include <jansson.h>
#include <postkit/postkit.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PK_LOUDNESS_MAX_CHANNELS 24
#define PK_LOUDNESS_MAX_CLIP_RUNS 256   /* runs listed individually; all are counted */

typedef struct pk_clip_run {
    int channel;
    int64_t start;          /* first clipped sample (frame index) */
    int64_t length;         /* samples */
} pk_clip_run;

typedef struct pk_loudness_options {
    int rate;               /* Hz, 1000..768000 */
    int channels;           /* 1..PK_LOUDNESS_MAX_CHANNELS */
    const char *layout;     /* FFmpeg layout name ("stereo", "5.1", "7.1", "5.1(side)");
                               NULL or "": FFmpeg's default layout for `channels` */
    int true_peak;          /* measure true peak (default 1) */
    int threads;            /* 1: no worker thread; 0: per the context (default) */
    double clip_level;      /* |sample| at or above this is clipped (default 0.999, -0.009 dBFS) */
    int clip_min_run;       /* consecutive clipped samples that make a run (default 3) */
    /* Called every 100 ms of audio with the momentary and short-term loudness
     * (LUFS; NAN until 0.4 s / 3 s of audio were seen, -INFINITY for digital
     * silence). For plots and loudness-over-time checks. May be NULL. */
    void (*on_update)(void *user, double time, double momentary, double short_term);
    /* Called for every clipped run when it ends (all runs, also those beyond
     * the first PK_LOUDNESS_MAX_CLIP_RUNS that are listed), from the thread
     * calling pk_loudness_add or pk_loudness_finish. May be NULL. */
    void (*on_clip)(void *user, const pk_clip_run *run);
    void *user;
} pk_loudness_options;

/* Defaults for a stream of `rate` Hz and `channels` channels. */
void pk_loudness_options_init(pk_loudness_options *o, int rate, int channels);

typedef struct pk_loudness_channel {
    char name[16];          /* FFmpeg's channel name: "FL", "LFE", "BL" */
    double weight;          /* BS.1770-4 weight: 1.0, 1.41 or 0 (LFE) */
    double sample_peak;     /* dBFS, -INFINITY for silence */
    double true_peak;       /* dBTP, NAN when not measured */
    int64_t clipped_samples;
    int64_t clip_runs;
} pk_loudness_channel;

typedef struct pk_loudness_result {
    int rate, channels;
    int64_t frames;
    double duration;                /* seconds */
    /* LUFS. -INFINITY: no 400 ms block passed the absolute gate (silence,
     * or everything below -70 LUFS). NAN: shorter than one 400 ms block. */
    double integrated;
    double relative_gate;           /* LUFS, the -10 LU relative threshold used */
    int64_t gated_blocks;           /* 400 ms blocks that passed both gates */
    /* LU / LUFS; NAN when shorter than 3 s; 0 when nothing passed the gates. */
    double range, range_low, range_high;
    double max_momentary, max_momentary_time;   /* LUFS, end of the window (s) */
    double max_short_term, max_short_term_time; /* NAN when shorter than the window */
    double sample_peak;             /* dBFS over all channels */
    double true_peak;               /* dBTP over all channels; NAN when not measured */
    int true_peak_oversampling;     /* 4, or 0 when not measured */
    int64_t clipped_samples, clip_runs, longest_clip_run;
    int64_t over_full_scale;        /* float samples with |x| > 1.0 */
    int64_t nan_samples, inf_samples;
    double first_non_finite_time;   /* seconds, NAN when none */
    pk_loudness_channel channel[PK_LOUDNESS_MAX_CHANNELS];
} pk_loudness_result;

typedef struct pk_loudness pk_loudness;

/* Create a meter. PK_ERR_USAGE for an unsupported rate, channel count or a
 * layout name FFmpeg does not know or whose channel count differs;
 * PK_ERR_INTERNAL when memory or a thread cannot be had. Free with
 * pk_loudness_free(). */
pk_status pk_loudness_new(pk_ctx *ctx, const pk_loudness_options *o, pk_loudness **out);

/* Feed `frames` interleaved samples (nominal range -1..1). The buffer is
 * not kept after the call returns. NaN and infinite samples are counted and
 * replaced by 0 for the measurement. Must not be called after finish. */
pk_status pk_loudness_add(pk_loudness *m, const float *interleaved, int64_t frames);

/* Finish the measurement (waits for the worker) and fill *r. May be called
 * again; it returns the same result. */
pk_status pk_loudness_finish(pk_loudness *m, pk_loudness_result *r);

/* The first PK_LOUDNESS_MAX_CLIP_RUNS clipped runs in time order; valid
 * until pk_loudness_free. Returns how many are listed. */
size_t pk_loudness_clip_list(const pk_loudness *m, const pk_clip_run **runs);

/* The measurement as a record (finishes the meter if needed): the values
 * above with rounding, per-channel figures, the clipped runs and notes such
 * as "below gate" or "shorter than 3 s". The caller owns *out. */
pk_status pk_loudness_json(pk_loudness *m, json_t **out);

/* Integrated loudness and loudness range of several finished meters taken as
 * one programme (an album): their gating blocks are pooled, so this is the
 * loudness of the files played one after the other. Values follow the
 * conventions of pk_loudness_result. */
pk_status pk_loudness_album(pk_ctx *ctx, pk_loudness *const *meters, size_t n,
                            double *integrated, double *range);

void pk_loudness_free(pk_loudness *m);

#ifdef __cplusplus
}
#endif
#endif

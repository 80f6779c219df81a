/*
 * video.h — delivery QC: one decode pass over a file that finds what a client
 * or broadcaster would reject, judged against a delivery profile.
 *
 * Usage:
 *     pk_qc_profile *p;
 *     pk_qc_profile_load(ctx, "ebu-r128", &p);   // or a JSON file's path
 *     pk_qc_options o;
 *     pk_qc_options_init(&o);
 *     json_t *report;
 *     pk_status st = pk_qc_file(ctx, "clip.mov", p, &o, &report);
 *     // st: PK_OK (passes), PK_CHECK_FAILED (fails the profile), or an error
 *     json_decref(report);
 *     pk_qc_profile_free(p);
 *
 * The file is decoded once: the demuxer and decoder run on the calling
 * thread (the video decoder with its own frame threads), every video
 * detector on one worker thread and every audio detector (including the
 * BS.1770-4 meter of audio.h) on another, fed through short bounded queues.
 * Memory depends on the picture size and the profile, never on the duration.
 *
 * Detectors, each producing events (type, start/end seconds and SMPTE
 * timecode at the file's frame rate, frame numbers, severity, measured
 * values): black segments (blackdetect semantics) and black slate/tail,
 * freezes and exact repeated frames, shot cuts and flash frames (1-2 frame
 * shots), photosensitive flashing (ITU-R BT.1702 / Ofcom, luminance and
 * saturated red), dead/stuck/hot pixels, broadcast range, decode errors,
 * clipped audio, silence, silent channels, identical or inverted channel
 * pairs. Measurements judged against the profile: integrated loudness, true
 * peak, loudness range, audio vs video length, stream facts. docs/qc.md
 * documents every rule and threshold.
 */
#ifndef POSTKIT_VIDEO_H
#define POSTKIT_VIDEO_H

#include <stdint.h>
#include <jansson.h>
#include <postkit/postkit.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pk_qc_profile pk_qc_profile;

/* Load a profile: a built-in name (ebu-r128, atsc-a85, streaming, podcast,
 * youtube) or the path of a JSON file that names a built-in to start from
 * ("extends", default ebu-r128) and overrides any threshold or severity.
 * PK_ERR_USAGE with a message naming the key for an unknown name, key or an
 * out-of-range value; PK_ERR_INPUT when the file cannot be read or is not
 * JSON. Free with pk_qc_profile_free(). */
pk_status pk_qc_profile_load(pk_ctx *ctx, const char *name_or_path, pk_qc_profile **out);
void pk_qc_profile_free(pk_qc_profile *p);

/* The names of the built-in profiles, NULL-terminated (static). */
const char *const *pk_qc_profile_names(void);

/* The effective profile as JSON (every rule with its severity and
 * thresholds). The caller owns the result. */
json_t *pk_qc_profile_json(const pk_qc_profile *p);

typedef struct pk_qc_options {
    int cuts;               /* list every shot cut in the report ("cuts") */
    int thumbnails;         /* JPEG thumbnails (base64) at events, for the HTML report */
    int max_thumbnails;     /* at most this many per file (default 60) */
    int timeline_points;    /* luma/loudness points kept for plots (default 1200) */
    int threads;            /* 0: per the context */
} pk_qc_options;

void pk_qc_options_init(pk_qc_options *o);

/* Check one file. *report (always set when the file could be opened, owned
 * by the caller) is the record: verdict, streams, rules with their verdicts,
 * events, loudness, timelines. Returns PK_OK when the file passes,
 * PK_CHECK_FAILED when a rule of severity "error" failed, PK_ERR_INPUT when
 * the file cannot be read (then *report is NULL), PK_ERR_INTERRUPTED. */
pk_status pk_qc_file(pk_ctx *ctx, const char *path, const pk_qc_profile *profile,
                     const pk_qc_options *opts, json_t **report);

#ifdef __cplusplus
}
#endif
#endif

/*
 * render.h — cutting media to kept ranges (render.c) and writing the same
 * edit for editing software (exports.c).
 */
#ifndef POSTKIT_SPEECH_RENDER_H
#define POSTKIT_SPEECH_RENDER_H

#include <stdio.h>

#include "speech/internal.h"

typedef struct pk_render_setup {
    const char *in;           /* the source */
    const char *out_tmp;      /* where to write (a safe output's temporary path) */
    const char *out_name;     /* the final name: its extension chooses the container */
    const pk_range *ranges;   /* kept, sorted, on frame boundaries when there is video */
    size_t n_ranges;
    int fps_num, fps_den;     /* output frame rate (the source's) */
    double crossfade;         /* seconds of audio mixed at each join */
    int crf;                  /* libx264 quality */
    const char *preset;       /* libx264 speed preset */
} pk_render_setup;

typedef struct pk_render_stats {
    int64_t frames;           /* video frames written */
    int64_t samples;          /* audio samples per channel written */
    int rate;
    double crossfade;         /* the crossfade applied, seconds (shortened for short ranges) */
    int64_t clipped;
    char video_codec[32], audio_codec[32];
} pk_render_stats;

/* Render the kept ranges of s->in into s->out_tmp. Errors: PK_ERR_INPUT
 * (unreadable input), PK_ERR_USAGE (no encoder for the container),
 * PK_ERR_OUTPUT (cannot write). */
pk_status pk_render_cut(pk_ctx *ctx, const pk_render_setup *s, pk_render_stats *stats);

/* The edit as a timeline: source ranges played one after another. */
typedef struct pk_timeline {
    const char *source_path;  /* absolute path of the media */
    const char *name;         /* a title for the timeline */
    const pk_range *ranges;
    size_t n;
    int fps_num, fps_den;     /* the timeline's frame rate */
    double source_start;      /* the source's own timecode start, seconds (0) */
    double source_duration;
    int width, height;        /* 0 for audio only */
    int audio_rate, audio_channels;
} pk_timeline;

/* CMX 3600 EDL: TITLE, FCM line (NON-DROP FRAME or DROP FRAME), one video
 * and audio event per range, frame rate in a comment. */
void pk_export_edl(FILE *f, const pk_timeline *tl);
/* Final Cut Pro XML 1.9: one asset, one sequence, asset-clips on the spine. */
void pk_export_fcpxml(FILE *f, const pk_timeline *tl);
/* OpenTimelineIO JSON: a Timeline with a video and an audio track of Clips
 * with source_range, referencing the media as an ExternalReference. */
void pk_export_otio(FILE *f, const pk_timeline *tl);

#endif

/*
 * media.h — decode once, analyse many: streaming audio and video from any
 * file FFmpeg reads, and writing audio back without losing its format.
 *
 * A pk_source demuxes a file once and decodes the streams asked for. The
 * caller pulls items (an audio block or a video frame) in presentation order,
 * and hands each to as many analysers as it likes. Memory is bounded by one
 * block / a few frames, never by the file's duration.
 */
#ifndef POSTKIT_MEDIA_H
#define POSTKIT_MEDIA_H

#include <stdint.h>
#include <postkit/postkit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Probe one file: a JSON record (see `postkit probe --json`). The caller
 * frees *json_out with free(). */
pk_status pk_probe(pk_ctx *ctx, const char *path, char **json_out);

enum {
    PK_STREAM_AUDIO = 1u << 0,
    PK_STREAM_VIDEO = 1u << 1
};

typedef struct pk_source_options {
    unsigned streams;        /* PK_STREAM_AUDIO | PK_STREAM_VIDEO; a missing one is not an error */
    /* Audio delivery. 0 keeps the native rate / channel layout. */
    int audio_rate;
    int audio_channels;      /* 1 or 2 downmix (BS.775 coefficients), 0 native */
    int audio_planar;        /* 1: one float array per channel; 0: interleaved */
    int audio_block;         /* frames per block; 0 means 4096. Every block is
                                full except the last one. */
    int video_threads;       /* decoder threads; 0 means one per core */
    int audio_stream;        /* index of the stream to use; -1: the best one */
    int video_stream;
} pk_source_options;

/* Facts about the selected streams, valid while the source is open. */
typedef struct pk_audio_info {
    int stream_index;
    int native_rate;
    int native_channels;
    char layout[64];         /* "stereo", "5.1(side)", "2 channels" */
    int bits;                /* bit depth of the source (16, 24, 32), 0 for lossy codecs */
    int is_float;            /* source samples are floating point */
    const char *codec;
    double duration;         /* seconds; 0 when unknown */
    int rate;                /* delivered rate and channels */
    int channels;
} pk_audio_info;

typedef struct pk_video_info {
    int stream_index;
    int width, height;       /* coded size, before rotation */
    int fps_num, fps_den;    /* average frame rate (nominal for VFR) */
    int tb_num, tb_den;      /* time base of pts values */
    const char *pix_fmt;
    int bits;                /* 8, 10, 12 */
    int rotation;            /* clockwise degrees a player applies: 0/90/180/270 */
    int interlaced;          /* field order says interlaced */
    int full_range;          /* JPEG/full-range levels; 0 = limited (16-235) */
    const char *codec;
    double duration;
    int64_t frames;          /* from the container; 0 when unknown */
} pk_video_info;

typedef struct pk_audio_block {
    int frames;              /* samples per channel in this block */
    int channels;
    int rate;
    int64_t first_sample;    /* position of the block's first sample since the start */
    double time;             /* = first_sample / rate, seconds */
    const float *interleaved;     /* when options.audio_planar == 0 */
    const float *const *planes;   /* when options.audio_planar == 1 */
} pk_audio_block;

typedef struct pk_video_frame {
    int64_t number;          /* 0-based, in presentation order */
    int64_t pts;             /* in the stream's time base */
    double time;             /* seconds from the stream's start */
    double duration;         /* seconds until the next frame (nominal for the last) */
    int width, height;
    int interlaced, top_field_first, keyframe;
    int corrupt;             /* the decoder flagged damage in this frame */
    const void *avframe;     /* the native AVFrame, for code that links FFmpeg */
} pk_video_frame;

typedef enum pk_item_type {
    PK_ITEM_END = 0,         /* no more items */
    PK_ITEM_AUDIO,
    PK_ITEM_VIDEO,
    PK_ITEM_DECODE_ERROR     /* a packet could not be decoded; decoding goes on */
} pk_item_type;

typedef struct pk_item {
    pk_item_type type;
    const pk_audio_block *audio;
    const pk_video_frame *video;
    double error_time;       /* PK_ITEM_DECODE_ERROR: where, seconds */
    int error_stream;
    const char *error;       /* what the decoder said */
} pk_item;

typedef struct pk_source pk_source;

/* Open `path` read-only. Fails with PK_ERR_INPUT (message names the file and
 * cause) for a missing, empty, unreadable, non-media or truncated file, or
 * when none of the asked-for streams exists. The caller frees with
 * pk_source_free(). `opts` may be NULL (audio+video, native, interleaved). */
pk_status pk_source_open(pk_ctx *ctx, const char *path, const pk_source_options *opts,
                         pk_source **out);
void pk_source_free(pk_source *src);

const pk_audio_info *pk_source_audio(const pk_source *src);  /* NULL: no audio */
const pk_video_info *pk_source_video(const pk_source *src);  /* NULL: no video */

/* Next item in presentation order (audio and video interleaved as stored).
 * Pointers in *item stay valid until the next call. Returns PK_OK with
 * type PK_ITEM_END at the end; PK_ERR_INTERRUPTED when the context was
 * interrupted; PK_ERR_INPUT on an unrecoverable read error. */
pk_status pk_source_next(pk_source *src, pk_item *item);

/* Fraction of the file read so far, 0..1, for progress bars. */
double pk_source_progress(const pk_source *src);

/* Views of a video frame, converted on demand and cached until the next
 * item. Luma is 8-bit, full range 0..255 is NOT applied: values are the
 * coded levels (16..235 for limited range), so detectors can judge legality.
 * For 8-bit YUV sources the plane is returned without a copy. */
pk_status pk_frame_luma8(pk_source *src, const uint8_t **plane, int *stride);
/* Packed RGB, 8 bits per channel, full range, BT.601/709 per the stream. */
pk_status pk_frame_rgb24(pk_source *src, const uint8_t **pixels, int *stride);

/* ---- Writing audio ---------------------------------------------------- */

typedef struct pk_audio_format {
    int rate;
    int channels;
    char layout[64];         /* FFmpeg layout name; "" derives from channels */
    int bits;                /* 16, 24 or 32 (PCM / FLAC); 32 with is_float for float WAV */
    int is_float;
    int dither;              /* TPDF dither when reducing to 16 bits (default on) */
} pk_audio_format;

typedef struct pk_audio_writer pk_audio_writer;

/* Create a WAV or FLAC file (chosen by the extension of `path`) at `path`,
 * which should be a safe output's temporary path. `tags` may be NULL or a
 * JSON object of metadata to keep. */
pk_status pk_audio_writer_open(pk_ctx *ctx, const char *path, const char *format_name,
                               const pk_audio_format *fmt, pk_audio_writer **out);
/* Write `frames` interleaved float samples (nominal range -1..1). */
pk_status pk_audio_writer_write(pk_audio_writer *w, const float *interleaved, int frames);
/* Flush and close; then pk_output_commit the file. */
pk_status pk_audio_writer_close(pk_audio_writer *w);
void pk_audio_writer_free(pk_audio_writer *w);

#ifdef __cplusplus
}
#endif
#endif

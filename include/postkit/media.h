/*
 * media.h — decode once, analyse many: streaming audio and video from any
 * file FFmpeg reads, and writing audio back without losing its format.
 *
 * A pk_source demuxes a file once and decodes the streams asked for. The
 * caller pulls items (an audio block or a video frame) in presentation order,
 * and hands each to as many analysers as it likes. Memory is bounded by a
 * fixed window (see pk_source_next), never by the file's duration.
 *
 * A pk_audio_writer writes WAV or FLAC; a pk_remux rewrites a file with one
 * audio stream replaced and every other stream copied untouched.
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
    unsigned streams;        /* PK_STREAM_AUDIO | PK_STREAM_VIDEO; a missing one is not an
                                error as long as one asked-for stream exists */
    /* Audio delivery. 0 keeps the native rate / channel layout. */
    int audio_rate;
    int audio_channels;      /* N > 0: FFmpeg's default layout for N channels; fewer
                                channels than the source is a downmix with BS.775
                                coefficients (centre and surrounds at -3 dB, LFE
                                dropped); 0 native */
    int audio_planar;        /* 1: one float array per channel; 0: interleaved */
    int audio_block;         /* frames per block; 0 means 4096. Every block is
                                full except the last one. */
    int video_threads;       /* decoder threads; 0 means the context's (one per core) */
    int audio_stream;        /* index of the stream to use; -1: the best one. With
                                pk_source_options_init, -1 is the default. */
    int video_stream;
} pk_source_options;

/* Defaults: audio and video, native format, interleaved, 4096-frame blocks,
 * best streams. Start from this rather than from a zeroed struct, whose stream
 * indices 0 would pick stream #0 for both. */
void pk_source_options_init(pk_source_options *opts);

/* Facts about the selected streams, valid while the source is open. */
typedef struct pk_audio_info {
    int stream_index;
    int native_rate;
    int native_channels;
    char layout[64];         /* native: "stereo", "5.1(side)", "2 channels" */
    char delivered_layout[64]; /* of the blocks delivered */
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

/* Times of items are seconds on the file's timeline: 0 is the start of the
 * earliest stream (the container's start time), so audio and video times
 * compare directly. */
typedef struct pk_audio_block {
    int frames;              /* samples per channel in this block */
    int channels;
    int rate;
    int64_t first_sample;    /* position of the block's first sample since the
                                start of the stream: exact, counted, never derived
                                from timestamps */
    double time;             /* = audio start + first_sample / rate, seconds */
    const float *interleaved;     /* when options.audio_planar == 0 */
    const float *const *planes;   /* when options.audio_planar == 1 */
} pk_audio_block;

typedef struct pk_video_frame {
    int64_t number;          /* 0-based, in presentation order */
    int64_t pts;             /* in the stream's time base (FFmpeg's best-effort
                                timestamp; the same value ffprobe shows) */
    double time;             /* seconds on the file's timeline, from pts, so
                                variable frame rate is exact */
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
    PK_ITEM_DECODE_ERROR     /* a packet could not be decoded, a frame came out damaged
                                or the container had to skip data; decoding goes on.
                                An audio packet the decoder rejects is delivered as
                                silence of its duration, so later blocks keep their
                                place on the timeline. */
} pk_item_type;

typedef struct pk_item {
    pk_item_type type;
    const pk_audio_block *audio;
    const pk_video_frame *video;
    double error_time;       /* PK_ITEM_DECODE_ERROR: where, seconds (timeline) */
    int error_stream;        /* stream index; -1 when the container itself was damaged */
    const char *error;       /* what the decoder said */
} pk_item;

typedef struct pk_source pk_source;

/* Open `path` read-only. Fails with PK_ERR_INPUT (message names the file and
 * cause) for a missing, empty, unreadable, non-media or truncated file, or
 * when none of the asked-for streams exists, or a selected stream has no
 * decoder. The caller frees with pk_source_free(). `opts` may be NULL
 * (pk_source_options_init's defaults). Threading: one thread at a time per
 * source; the video decoder runs its own frame threads inside. */
pk_status pk_source_open(pk_ctx *ctx, const char *path, const pk_source_options *opts,
                         pk_source **out);
void pk_source_free(pk_source *src);

const pk_audio_info *pk_source_audio(const pk_source *src);  /* NULL: no audio */
const pk_video_info *pk_source_video(const pk_source *src);  /* NULL: no video */

/* Metadata of the container, then of the selected audio stream (a stream tag
 * replaces a container tag of the same key), as key, value, key, value, ...,
 * NULL. Owned by the source; never NULL. */
const char *const *pk_source_tags(const pk_source *src);

/* The tags of src that describe its content (title, artist, ...), without
 * those that describe the old file's technique (encoder, brands, creation
 * time) and would be false in a file made from it. A new NULL-terminated
 * array of strings borrowed from src: free only the array. NULL when out of
 * memory. */
const char **pk_source_content_tags(const pk_source *src);

/* Next item. Each stream's items come in presentation order; audio and video
 * are merged by time. The merge holds at most about 10 s of audio and 64
 * video frames (at most 256 MB of them) waiting for the other stream; when a
 * file stores audio and video further apart than that, the waiting stream is
 * delivered ahead, so memory stays bounded whatever the file's length.
 * A decode error is delivered as soon as it happens.
 * Pointers in *item stay valid until the next call. Returns PK_OK with
 * type PK_ITEM_END at the end; PK_ERR_INTERRUPTED when the context was
 * interrupted; PK_ERR_INPUT on an unrecoverable read error. */
pk_status pk_source_next(pk_source *src, pk_item *item);

/* Fraction of the file read so far, 0..1, for progress bars. */
double pk_source_progress(const pk_source *src);

/* Views of the current video frame, converted on demand and cached until the
 * next item; the memory belongs to the source. Luma is 8-bit with the coded
 * levels kept (16..235 for limited range, no expansion to 0..255) so
 * detectors can judge legality. For 8-bit YUV/gray the frame's plane is
 * returned without a copy; deeper samples are shifted down (10-bit 940 gives
 * 235). RGB sources give full-range BT.601/709 luma. PK_ERR_USAGE when the
 * current item is not a video frame. */
pk_status pk_frame_luma8(pk_source *src, const uint8_t **plane, int *stride);
/* Packed RGB, 8 bits per channel, full range, converted with the stream's
 * matrix (BT.601, BT.709 or BT.2020; unspecified: BT.709 from 720 lines up)
 * and its range. */
pk_status pk_frame_rgb24(pk_source *src, const uint8_t **pixels, int *stride);

/* ---- Writing audio ---------------------------------------------------- */

typedef struct pk_audio_format {
    int rate;
    int channels;
    char layout[64];         /* FFmpeg layout name; "" derives from channels */
    int bits;                /* 16, 24 or 32 (PCM / FLAC 16 or 24); 32 with is_float for
                                float WAV */
    int is_float;
    int no_dither;           /* 1 turns off the dither of 16-bit output (see below) */
} pk_audio_format;

typedef struct pk_audio_writer pk_audio_writer;

/* Create a WAV or FLAC file at `path`, which should be a safe output's
 * temporary path (whose name has no useful extension). `format_name` chooses
 * the container: a muxer name ("wav", "flac") or a file name whose extension
 * chooses it (the final output name); NULL guesses from `path`.
 *
 * Samples are float, nominal range -1..1. Integer output rounds to the
 * nearest step; samples beyond full scale are clipped (never wrapped) and
 * counted (pk_audio_writer_clipped). Writing 16 bits from samples finer than
 * 16-bit steps adds TPDF dither of +-1 LSB peak (triangular: the sum of two
 * independent uniform +-0.5 LSB values, seeded per writer so runs are
 * reproducible); a block already on 16-bit steps (a 16-bit source, digital
 * silence) is written exactly, so a 16-bit round trip is bit-exact. 24- and
 * 32-bit output is never dithered; float output is written as is.
 * WAV with more than two channels (or more than 16 bits, or above 48 kHz)
 * becomes WAVE_FORMAT_EXTENSIBLE with the layout's channel mask.
 * `tags` (key, value, ..., NULL; may be NULL) are written as the container's
 * metadata (RIFF INFO, Vorbis comments).
 * Errors: PK_ERR_USAGE for an unsupported combination (FLAC 32-bit, float
 * FLAC), PK_ERR_OUTPUT when the file cannot be created. */
pk_status pk_audio_writer_open(pk_ctx *ctx, const char *path, const char *format_name,
                               const pk_audio_format *fmt, const char *const *tags,
                               pk_audio_writer **out);
/* Write `frames` interleaved float samples. PK_ERR_OUTPUT on a write error. */
pk_status pk_audio_writer_write(pk_audio_writer *w, const float *interleaved, int frames);
/* Flush and close; then pk_output_commit the file. */
pk_status pk_audio_writer_close(pk_audio_writer *w);
/* Samples (counting each channel) clipped at full scale so far. */
int64_t pk_audio_writer_clipped(const pk_audio_writer *w);
/* Frames (samples per channel) written so far. */
int64_t pk_audio_writer_frames(const pk_audio_writer *w);
/* Whether dither was applied to any block. */
int pk_audio_writer_dithered(const pk_audio_writer *w);
void pk_audio_writer_free(pk_audio_writer *w);

/* ---- Replacing the audio of a file ------------------------------------ */

typedef struct pk_remux pk_remux;

/* Start a copy of `in_path` at `out_path` (a safe output's temporary path) in
 * which audio stream `audio_stream` (-1: the best one) is replaced by the
 * audio the caller writes; every other stream (video, other audio tracks,
 * subtitles, data the output muxer accepts) is copied packet for packet, with
 * the container's and streams' metadata and side data (rotation).
 * `format_name` picks the output container: a muxer name or a file name whose
 * extension chooses it; NULL keeps the input's container family.
 * `fmt` describes what the caller writes (rate, channels, layout); its bits
 * choose the depth for lossless and PCM codecs (0: the original's). The new
 * audio is encoded with the original codec (AAC, MP3 via LAME, Opus, Vorbis,
 * FLAC, ALAC, AC-3, PCM, ...) at the original's bit rate (when unknown: 96
 * kb/s per channel, at most 320), and starts where the original started.
 * Packets are interleaved by time; memory is bounded by FFmpeg's muxing queue
 * of a few seconds, not by the file's length.
 * Errors: PK_ERR_INPUT (input unreadable, no such audio stream), PK_ERR_USAGE
 * (no encoder for the codec — the message names it — or a rate the encoder
 * cannot take), PK_ERR_OUTPUT (cannot write). */
pk_status pk_remux_open(pk_ctx *ctx, const char *in_path, int audio_stream, const char *out_path,
                        const char *format_name, const pk_audio_format *fmt, pk_remux **out);
/* The audio as it was found in the input (for the caller to decode with
 * pk_source using the same stream index). */
int pk_remux_audio_stream(const pk_remux *r);
/* Write `frames` interleaved float samples of the new audio; the copied
 * streams advance with it. */
pk_status pk_remux_write_audio(pk_remux *r, const float *interleaved, int frames);
/* Flush the encoder, copy the rest of the other streams, write the trailer.
 * Audio beyond the original's end is kept; a shorter one ends early. */
pk_status pk_remux_close(pk_remux *r);
/* Samples clipped when encoding to an integer format. */
int64_t pk_remux_clipped(const pk_remux *r);
void pk_remux_free(pk_remux *r);

#ifdef __cplusplus
}
#endif
#endif

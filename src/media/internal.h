/*
 * media/internal.h — shared by the media layer (FFmpeg, libvips, LibRaw).
 */
#ifndef POSTKIT_MEDIA_INTERNAL_H
#define POSTKIT_MEDIA_INTERNAL_H

#include "core/internal.h"

#include <libraw/libraw.h>

#include <postkit/image.h>

struct AVFormatContext;
struct AVStream;
struct AVCodecParameters;
struct AVFrame;
struct AVPacket;
struct AVCodecContext;
struct AVChannelLayout;

/* ffmpeg_util.c */
void pk_ffmpeg_install_log(void);
void pk_ffmpeg_clear_error(void);
const char *pk_ffmpeg_last_log(void);
/* Fail with "PATH: WHAT (reason)", the reason being FFmpeg's last logged
 * error on this thread or else the text of `averr`. */
pk_status pk_ffmpeg_fail(pk_ctx *ctx, pk_status status, const char *path, const char *what,
                         int averr);

/* Clockwise rotation in degrees (0, 90, 180, 270) a player applies to the
 * stream, from its display matrix. */
int pk_ffmpeg_stream_rotation(const struct AVStream *s);
/* Bit depth of an audio stream's samples (16, 24, 32), 0 for lossy codecs. */
int pk_ffmpeg_audio_bits(const struct AVCodecParameters *p);
/* Choose a muxer: `name` is a muxer name ("wav") or a file name whose
 * extension chooses it ("out.flac"); NULL or no match falls back to
 * `fallback_path`'s extension. NULL when nothing matches. */
const struct AVOutputFormat *pk_ffmpeg_guess_muxer(const char *name, const char *fallback_path);

/* Open a container read-only and read its stream parameters, with the
 * checks every input gets (exists, not empty, a known format, not truncated).
 * The caller closes *out with avformat_close_input(). */
pk_status pk_ffmpeg_open(pk_ctx *ctx, const char *path, struct AVFormatContext **out);

/* Detect a file cut short: a WAV whose header declares more audio than the
 * file holds, or a container index (MP4/MOV/AVI) pointing past the end. */
pk_status pk_check_truncation(pk_ctx *ctx, const char *path, struct AVFormatContext *fmt,
                              int64_t file_size);

/* frame_convert.c: 8-bit luma and RGB views of decoded video frames, with
 * buffers and swscale contexts kept from frame to frame. Not thread-safe;
 * one per source. */
typedef struct pk_frame_views pk_frame_views;
pk_frame_views *pk_frame_views_new(void);
void pk_frame_views_free(pk_frame_views *v);
/* Forget the cached conversions (a new frame is current). */
void pk_frame_views_reset(pk_frame_views *v);
/* Luma of `f`, coded levels kept, 8 bits; see pk_frame_luma8 in media.h.
 * The plane is the frame's own (no copy) or the views' buffer. */
pk_status pk_frame_views_luma8(pk_ctx *ctx, const char *path, pk_frame_views *v,
                               const struct AVFrame *f, const uint8_t **plane, int *stride);
pk_status pk_frame_views_rgb24(pk_ctx *ctx, const char *path, pk_frame_views *v,
                               const struct AVFrame *f, const uint8_t **pixels, int *stride);

/* source.c: the container's start time in seconds, which item times are
 * relative to (item time + origin = time in the file's own timestamps). */
struct pk_source;
double pk_source_timeline_origin(const struct pk_source *src);

/* audio_encode.c: float samples in, encoded packets out, through one
 * AVCodecContext. Shared by the audio writer and the remuxer. Samples for
 * integer formats are rounded to the target's steps, clipped and counted,
 * and dithered (TPDF, +-1 LSB) only when reduced to 16 bits; see
 * pk_audio_writer_open in media.h. */
typedef struct pk_aenc pk_aenc;
typedef struct pk_aenc_setup {
    const struct AVCodec *encoder;
    int rate;
    const struct AVChannelLayout *layout;
    int bits;                /* for integer formats: 16, 24, 32; 0 lossy */
    int64_t bit_rate;        /* lossy codecs; 0 the encoder's default */
    int dither;              /* allow 16-bit dither */
    int global_header;       /* the muxer wants extradata (AVFMT_GLOBALHEADER) */
    int bitexact;            /* no encoder version strings: reproducible files */
    int64_t start_pts;       /* pts of the first sample, in 1/rate */
} pk_aenc_setup;
/* Called for each encoded packet (timestamps in 1/rate); the callee may
 * take the packet's reference (av_interleaved_write_frame does). */
typedef pk_status (*pk_aenc_packet_fn)(void *user, struct AVPacket *pkt);
pk_status pk_aenc_open(pk_ctx *ctx, const char *path, const pk_aenc_setup *setup,
                       pk_aenc_packet_fn fn, void *user, pk_aenc **out);
struct AVCodecContext *pk_aenc_codec(pk_aenc *e);
pk_status pk_aenc_write(pk_aenc *e, const float *interleaved, int frames);
/* Encode what is buffered (a short last frame) and drain the encoder. */
pk_status pk_aenc_flush(pk_aenc *e);
int64_t pk_aenc_clipped(const pk_aenc *e);
int64_t pk_aenc_frames(const pk_aenc *e);
int pk_aenc_dithered(const pk_aenc *e);
void pk_aenc_free(pk_aenc *e);
/* The encoder postkit uses for a codec: LAME for MP3, libopus for Opus,
 * libvorbis for Vorbis, else FFmpeg's own non-experimental one. NULL when
 * there is none. */
const struct AVCodec *pk_aenc_find_encoder(int codec_id);

/* image.c */
/* The text after the last dot of the file name ("" when none). */
const char *pk_path_extension(const char *path);
/* Has `path` the extension of a camera RAW format? Loading such a file
 * goes to LibRaw, whose message then tells what is wrong with it. */
int pk_has_raw_extension(const char *path);
/* Is `path` a camera RAW file (by LibRaw's reading of it)? Cheap: extension
 * first, then LibRaw's header parser. */
int pk_is_camera_raw(const char *path);
/* Which kind of file is this, by content: 1 image (libvips or LibRaw can
 * read it), 0 anything else (try FFmpeg). */
int pk_is_image(const char *path);
/* The libvips loader for a photo file (a static name such as
 * "VipsForeignLoadJpegFile"), or PK_ERR_INPUT naming the file: not an
 * image, or a HEIC while libvips lacks heifload. */
pk_status pk_image_loader(pk_ctx *ctx, const char *path, const char **loader);
/* The first line of libvips' error buffer (which it clears), in `buf`. */
const char *pk_vips_reason(char *buf, size_t size);
/* Fail with "PATH: WHAT (libvips' reason)". */
pk_status pk_vips_fail(pk_ctx *ctx, pk_status status, const char *path, const char *what);
/* LibRaw's flip code as an EXIF orientation (1..8). */
int pk_raw_flip_to_orientation(int flip);
/* Route libvips warnings away from stderr (shown with POSTKIT_DEBUG). Once,
 * when libvips starts (image_libs.c). */
void pk_vips_install_log(void);

/* image_libs.c */
/* Start libvips and Exempi, once per process (thread-safe, cheap after the
 * first call). Call before handing libvips a file, buffer or memory; not
 * needed with a VipsImage in hand. PK_ERR_INTERNAL (naming `path` in ctx
 * when ctx is not NULL) when they cannot start. */
pk_status pk_image_libs_start(pk_ctx *ctx, const char *path);
/* Stop them if they were started (pk_shutdown). */
void pk_image_libs_stop(void);

/* Copy the metadata a picture carries (EXIF and its exif-* fields, XMP,
 * IPTC, ICC, orientation) from `from` to `to`, a new image of ours. */
void pk_vips_copy_metadata(VipsImage *to, VipsImage *from);

/* Run `in` into a new memory image that only the caller holds (unlike
 * vips_image_copy_memory, which returns `in` itself when it is in memory),
 * so its metadata may be set in place. NULL with libvips' error set. */
VipsImage *pk_vips_fresh_memory(VipsImage *in);

/* image_load.c: libvips steps; each returns 0 or -1 (libvips error set)
 * and gives a new reference in *out. */
/* Longest side at most max_size (none when 0), Lanczos, alpha premultiplied. */
int pk_vips_fit(VipsImage *in, int max_size, VipsImage **out);
/* Turn `im` (a memory image only the caller holds) upright by its EXIF
 * orientation, in memory, and set the orientation to 1. Returns 0 or -1;
 * on success *im may have been replaced (the old one released). */
int pk_vips_upright(VipsImage **im);

/* image_colour.c */
/* Has `im` an ICC profile lcms2 reads that fits its bands (RGB for 3, grey
 * for 1, CMYK for 4) and is a device profile? */
int pk_vips_usable_icc(VipsImage *im);
int pk_vips_is_grey(VipsImage *im);
/* 65535 for 16-bit RGB16/GREY16, else 255 (libvips' conventions). */
double pk_vips_max_alpha(VipsImage *im);
/* Composite over white (no ink for CMYK) and drop alpha; same depth. */
int pk_vips_flatten_white(VipsImage *in, VipsImage **out);
/* Convert `in` to a pk_image_colour (KEEP gives a new reference to `in`).
 * Lazy except PK_COLOUR_LINEAR through an ICC profile, which decodes `in`
 * (decode errors: PK_ERR_INPUT naming `path`). */
pk_status pk_image_convert_colour(pk_ctx *ctx, const char *path, VipsImage *in, int colour,
                                  int rgb, VipsImage **out);

/* image_raw.c */
/* What LibRaw's callbacks learned while reading; LibRaw would otherwise
 * print these on stderr. */
typedef struct raw_state {
    pk_ctx *ctx;
    int eof;       /* the data ended early: a truncated file */
    int corrupt;   /* a decoder found data it could not make sense of */
    int nomem;
} raw_state;
/* Open `path` with postkit's callbacks installed (nothing on stderr, Ctrl-C
 * cancels). On success the caller owns *out (libraw_close). */
pk_status pk_raw_open(pk_ctx *ctx, const char *path, raw_state *st, libraw_data_t **out);
/* Turn a LibRaw return code of step `what` and the callbacks' findings into
 * a status with a one-line message. */
pk_status pk_raw_check(pk_ctx *ctx, const char *path, const raw_state *st, int rc, const char *what);
/* PK_ERR_USAGE when RAW options are out of range. */
pk_status pk_raw_check_options(pk_ctx *ctx, const pk_raw_options *ro);
/* Develop a camera RAW file with LibRaw: 16-bit, sRGB primaries, sRGB
 * curve or (linear) none; half-size when that still gives max_size;
 * upright unless keep_orientation (then the orientation is in the
 * metadata). *out wraps LibRaw's buffer (freed when the image closes).
 * PK_ERR_INPUT for unreadable, truncated or corrupt files. */
pk_status pk_raw_develop(pk_ctx *ctx, const char *path, const pk_raw_options *ro, int linear,
                         int max_size, int keep_orientation, VipsImage **out);
/* The camera's embedded preview as an upright 8-bit sRGB thumbnail of
 * longest side `size`, when the preview is at least that big; *out NULL
 * (and PK_OK) when there is none or it is too small or damaged. */
pk_status pk_raw_preview(pk_ctx *ctx, const char *path, int size, VipsImage **out);

/* image_probe.c */
/* Fill `rec` with image facts: dimensions, bands, bit depth, colour space,
 * orientation, ICC, camera metadata (EXIF, else XMP). With `verify`, decode
 * (at reduced size where the format allows) to detect truncated or corrupt
 * pictures. A file with a camera RAW extension is read by LibRaw only. */
pk_status pk_image_probe(pk_ctx *ctx, const char *path, json_t *rec, int verify);

#endif

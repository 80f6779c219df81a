/*
 * media/internal.h — shared by the media layer (FFmpeg, libvips, LibRaw).
 */
#ifndef POSTKIT_MEDIA_INTERNAL_H
#define POSTKIT_MEDIA_INTERNAL_H

#include "core/internal.h"

#include <postkit/image.h>

struct AVFormatContext;

/* ffmpeg_util.c */
void pk_ffmpeg_install_log(void);
void pk_ffmpeg_clear_error(void);
const char *pk_ffmpeg_last_log(void);
/* Fail with "PATH: WHAT (reason)", the reason being FFmpeg's last logged
 * error on this thread or else the text of `averr`. */
pk_status pk_ffmpeg_fail(pk_ctx *ctx, pk_status status, const char *path, const char *what,
                         int averr);

/* Open a container read-only and read its stream parameters, with the
 * checks every input gets (exists, not empty, a known format, not truncated).
 * The caller closes *out with avformat_close_input(). */
pk_status pk_ffmpeg_open(pk_ctx *ctx, const char *path, struct AVFormatContext **out);

/* Detect a file cut short: a WAV whose header declares more audio than the
 * file holds, or a container index (MP4/MOV/AVI) pointing past the end. */
pk_status pk_check_truncation(pk_ctx *ctx, const char *path, struct AVFormatContext *fmt,
                              int64_t file_size);

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
 * from pk_init. */
void pk_vips_install_log(void);

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
 * orientation, ICC, camera metadata. With `verify`, decode at reduced size
 * to detect truncated or corrupt pictures. */
pk_status pk_image_probe(pk_ctx *ctx, const char *path, json_t *rec, int verify);

#endif

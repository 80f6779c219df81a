/*
 * media/internal.h — shared by the media layer (FFmpeg, libvips, LibRaw).
 */
#ifndef POSTKIT_MEDIA_INTERNAL_H
#define POSTKIT_MEDIA_INTERNAL_H

#include "core/internal.h"

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
/* Is `path` a camera RAW file (by LibRaw's reading of it)? Cheap: extension
 * first, then LibRaw's header parser. */
int pk_is_camera_raw(const char *path);
/* Does the file name end with a camera RAW extension (.CR2, .NEF, ...)? Such
 * a file is LibRaw's to judge: a DNG or CR2 is also a TIFF whose small
 * embedded preview libvips would report instead of the picture. */
int pk_has_raw_extension(const char *path);
/* Which kind of file is this, by content: 1 image (libvips or LibRaw can
 * read it), 0 anything else (try FFmpeg). */
int pk_is_image(const char *path);
/* Fill `rec` with image facts: dimensions, bands, bit depth, colour space,
 * orientation, ICC, camera metadata (EXIF, else XMP). With `verify`, decode
 * (at reduced size where the format allows) to detect truncated or corrupt
 * pictures. A file with a camera RAW extension is read by LibRaw only. */
pk_status pk_image_probe(pk_ctx *ctx, const char *path, json_t *rec, int verify);

#endif

/*
 * media/jpeg.h — JPEG decoded and encoded by libjpeg(-turbo) alone, without
 * libvips, for the callers that need many small pictures fast (index,
 * faces). Anything this path refuses goes to pk_image_load.
 */
#ifndef POSTKIT_MEDIA_JPEG_H
#define POSTKIT_MEDIA_JPEG_H

#include "core/internal.h"

#include <stddef.h>
#include <stdint.h>

/* An 8-bit RGB picture, rows packed (width * 3 bytes). */
typedef struct pk_rgb_picture {
    uint8_t *px;
    int width, height;
} pk_rgb_picture;
/* Does the name say JPEG (.jpg, .jpeg, .jpe)? */
int pk_is_jpeg_name(const char *path);
/* The largest JPEG read into memory whole (hashes and decode from one read);
 * a larger one is streamed and decoded by libvips. */
#define PK_READ_ONCE_MAX ((size_t)64 << 20)
/* Do these bytes start like a JPEG stream? */
int pk_is_jpeg_data(const void *data, size_t len);
/* Decode a JPEG held in memory, scaled by the DCT to the smallest size whose
 * longest side is still >= min_side (or full size), upright by its EXIF
 * orientation, into out->px (malloc'ed, the caller frees). Returns -1 with
 * nothing allocated when this fast path does not apply: not a JPEG, CMYK or
 * YCCK (needs colour management), any decoder warning (corrupt or truncated
 * data: the strict decoder must judge), an error, no memory. Thread-safe. */
int pk_jpeg_decode_small(const void *data, size_t len, int min_side, pk_rgb_picture *out);
/* Write `im` as a baseline JPEG of the given quality (1..100) to `path`
 * (created or truncated; the caller makes it atomic). Errors: PK_ERR_OUTPUT. */
pk_status pk_jpeg_write_file(pk_ctx *ctx, const pk_rgb_picture *im, int quality, const char *path);

/* A JPEG file decoded by libjpeg alone at the DCT scale pk_image_load picks
 * for a draft of max_size (the largest of 1/8, 1/4, 1/2 by which the
 * longest side is still at least max_size), turned upright by its EXIF
 * orientation: *px (malloc'ed packed RGB, the caller frees), *width,
 * *height. *px is NULL (not an error) when the file is not for this path:
 * not named and made like a JPEG, CMYK or YCCK, an embedded ICC profile
 * (these need pk_image_load's colour management), any decoder warning
 * (damage is for the strict decoder to judge), a file over 64 MB.
 * Errors: PK_ERR_INPUT (open, read), PK_ERR_INTERNAL. Thread-safe. */
pk_status pk_jpeg_load_draft(pk_ctx *ctx, const char *path, int max_size, uint8_t **px, int *width,
                             int *height);

#endif

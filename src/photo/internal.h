/*
 * photo/internal.h — what the photo operations share and the public API
 * does not show (libvips types stay out of include/postkit/photo.h).
 */
#ifndef POSTKIT_PHOTO_INTERNAL_H
#define POSTKIT_PHOTO_INTERNAL_H

#include "core/internal.h"

#include <postkit/photo.h>
#include <vips/vips.h>

/* stats.c: a pixel's classification under `opts`. */
int pk_photo_pixel_trusted(const float *px, const pk_photo_measure_opts *opts);
int pk_photo_pixel_clipped(const float *px, const pk_photo_measure_opts *opts);

/* pk_photo_measure restricted to some statistics (the rest stay zero),
 * for the repeated measurements of planning. */
enum {
    PK_MEASURE_LUM = 1u << 0,        /* quantiles, median, clipped */
    PK_MEASURE_ILLUMINANT = 1u << 1, /* illuminant, CCT */
    PK_MEASURE_OKLAB = 1u << 2,      /* mean, covariance */
    PK_MEASURE_PEAK = 1u << 3,       /* peak, bright */
    PK_MEASURE_ALL = 15u
};
pk_status pk_photo_measure_some(pk_ctx *ctx, const float *rgb, size_t n,
                                const pk_photo_measure_opts *opts, unsigned what,
                                pk_photo_stats *out);

/* kernel.c: the corrected image as a lazily evaluated libvips image.
 *
 * `in` has 3 bands: sRGB-encoded uchar or ushort, or linear-light float.
 * `out_format` is VIPS_FORMAT_UCHAR or VIPS_FORMAT_USHORT (sRGB-encoded
 * output) or VIPS_FORMAT_FLOAT (linear light, roll-off applied, for a later
 * ICC conversion). Nothing is computed until *out is written; the image is
 * then processed in strips on libvips' threads and never held whole.
 * *out holds its own reference to `in` and to a copy of the correction;
 * the caller unrefs *out. Fails with PK_ERR_INPUT for another band count or
 * format, PK_ERR_INTERNAL when memory is exhausted. */
pk_status pk_photo_apply_vips(pk_ctx *ctx, VipsImage *in, const pk_photo_correction *c,
                              VipsBandFormat out_format, VipsImage **out);

#endif

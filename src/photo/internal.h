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
 * for the repeated measurements of planning. `source` (NULL: rgb itself)
 * holds the same pixels before a correction: a pixel clipped there is
 * clipped whatever the correction made of it. */
enum {
    PK_MEASURE_LUM = 1u << 0,        /* quantiles, median, clipped */
    PK_MEASURE_ILLUMINANT = 1u << 1, /* illuminant, CCT */
    PK_MEASURE_OKLAB = 1u << 2,      /* mean, covariance */
    PK_MEASURE_PEAK = 1u << 3,       /* peak, bright */
    PK_MEASURE_ALL = 15u
};
/* The fraction of n pixels whose channel c is clipped (clipped[c]) and
 * the fraction in deep shadow. */
pk_status pk_photo_clipping(pk_ctx *ctx, const float *rgb, size_t n,
                            const pk_photo_measure_opts *opts, double clipped[3], double *shadow);
/* Set o's window to the luminance at rank q_lo and each channel's value at
 * rank q_hi[c] (1: no limit) of n pixels, rounded outward to whole
 * histogram bins (0.8%) so runs of equal values are never split. */
pk_status pk_photo_window(pk_ctx *ctx, const float *rgb, size_t n, double q_lo,
                          const double q_hi[3], pk_photo_measure_opts *o);
pk_status pk_photo_measure_some(pk_ctx *ctx, const float *rgb, const float *source, size_t n,
                                const pk_photo_measure_opts *opts, unsigned what,
                                pk_photo_stats *out);

/* kernel.c: the corrected image as a lazily evaluated libvips image.
 *
 * `in` has 3 bands: sRGB-encoded uchar or ushort, or linear-light float.
 * `in_curves` (NULL: the sRGB curve) is, for a uchar `in` only, each band's
 * 256 levels -> linear light (pk_image_profile_to_linear), band after band;
 * the profile's matrix is then the caller's to fold into c->matrix.
 * `out_format` is VIPS_FORMAT_UCHAR or VIPS_FORMAT_USHORT (sRGB-encoded
 * output) or VIPS_FORMAT_FLOAT (linear light, roll-off applied, for a later
 * ICC conversion). Nothing is computed until *out is written; the image is
 * then processed in strips on libvips' threads and never held whole.
 * *out holds its own reference to `in` and to a copy of the correction;
 * the caller unrefs *out. Fails with PK_ERR_INPUT for another band count or
 * format, PK_ERR_INTERNAL when memory is exhausted. */
pk_status pk_photo_apply_vips(pk_ctx *ctx, VipsImage *in, const pk_photo_correction *c,
                              const float *in_curves, VipsBandFormat out_format, VipsImage **out);

/* raw.c: a camera RAW file's colour data (as read by LibRaw). */
typedef struct pk_photo_raw_info {
    double multipliers[4]; /* as shot (daylight when the file has none): R G B G2 */
    double rgb_cam[9];     /* white-balanced camera RGB -> linear sRGB */
} pk_photo_raw_info;

/* Reads only the file's header. PK_ERR_INPUT for a file LibRaw cannot
 * open or without colour data. */
pk_status pk_photo_raw_colour(pk_ctx *ctx, const char *path, pk_photo_raw_info *out);

/* The loader's limits for an exposure applied to the raw data (EV). */
#define PK_PHOTO_RAW_EV_MIN -2.0
#define PK_PHOTO_RAW_EV_MAX 3.0

/* How to develop a RAW file so that correction `c` (planned on its
 * picture developed as shot) happens on the sensor data: multipliers and
 * exposure for pk_raw_options, and `developed`, what that development does
 * to the as-shot picture in linear sRGB; the rest of c (c->matrix ·
 * developed^-1, colour transfer, roll-off) is left for the kernel. */
typedef struct pk_photo_raw_develop {
    double multipliers[4];
    double exposure;
    double developed[9];
} pk_photo_raw_develop;
void pk_photo_raw_settings(const pk_photo_raw_info *info, const pk_photo_correction *c,
                           pk_photo_raw_develop *out);

/* icc.c: linear sRGB (3-band float, e.g. the kernel's float output) into
 * the colour space of ICC profile `icc`/`icc_len` (RGB, grey or CMYK) at
 * `depth` 8 or 16 bits, through lcms2, lazily like the kernel. The profile
 * is attached to *out. PK_ERR_INPUT for a profile lcms2 cannot use. */
pk_status pk_photo_to_profile(pk_ctx *ctx, VipsImage *in, const void *icc, size_t icc_len,
                              int depth, VipsImage **out);

/* contact.c: the HTML contact sheet of a batch, written row by row through
 * a safe output (open and every call on the run's thread). With a
 * reference (`ref_path` not NULL) each row shows the `ref_uri` it is given
 * (a data URI) in a reference column. */
typedef struct pk_contact_sheet pk_contact_sheet;
pk_status pk_contact_sheet_open(pk_run *run, const char *path, const char *title,
                                const char *ref_path, pk_contact_sheet **out);
/* One row from a photo's record ("input", "output", "exposure",
 * "white_balance"); the URIs may be NULL. */
void pk_contact_sheet_add(pk_contact_sheet *cs, const json_t *record, const char *before_uri,
                          const char *after_uri, const char *ref_uri);
void pk_contact_sheet_add_failure(pk_contact_sheet *cs, const char *input, const char *message);
/* Finish and commit; frees cs. */
pk_status pk_contact_sheet_close(pk_run *run, pk_contact_sheet *cs);
void pk_contact_sheet_abort(pk_run *run, pk_contact_sheet *cs);

/* A JPEG data URI ("data:image/jpeg;base64,...") of an 8-bit sRGB image
 * scaled to `size` pixels on its longest side. The caller g_free()s *out. */
pk_status pk_photo_thumb_uri(pk_ctx *ctx, VipsImage *srgb8, int size, char **out);

/* batch.c: the batch behind `photo match` and `photo auto`. */
typedef struct pk_photo_batch {
    unsigned mode;       /* PK_PHOTO_* asked for */
    double strength;
    const char *ref;     /* reference photo; NULL: neutral target (auto) */
    const char *outdir;
    const char *format;  /* "auto", "jpeg" or "tiff" */
    int quality;
    int keep_profile;
    int contact_sheet;
    const char *title;   /* of the contact sheet */
} pk_photo_batch;
pk_status pk_photo_batch_run(pk_run *run, const pk_photo_batch *b);
void pk_photo_print_record(const json_t *record, FILE *out);
/* match.c: PK_PHOTO_* for a --mode value (exposure, wb, exposure+wb, color, all). */
unsigned pk_photo_mode_from_name(const char *name);

#endif

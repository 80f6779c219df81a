/*
 * photo.h — colour science and photo corrections: exposure, white balance and
 * colour matching between photographs, in linear light.
 *
 * Conventions used throughout:
 *  - "RGB" is linear-light sRGB (IEC 61966-2-1 primaries, D65 white), scaled
 *    so that diffuse white is (1, 1, 1). Values outside [0, 1] are allowed
 *    (wide-gamut colours, highlights above white) and pass through unchanged.
 *  - XYZ is CIE 1931 XYZ with Y = 1 for the white of the encoding.
 *  - Matrices are 3×3, row-major `double m[9]`, applied to column vectors.
 *  - Functions in the first part are pure: they allocate nothing, cannot
 *    fail, and are safe to call from any thread.
 */
#ifndef POSTKIT_PHOTO_H
#define POSTKIT_PHOTO_H

#include <stddef.h>
#include <postkit/postkit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Transfer functions and colour spaces ------------------------------ */

/* The sRGB transfer function (IEC 61966-2-1), encoded [0,1] <-> linear
 * [0,1], extended to negative values by odd symmetry. */
double pk_srgb_to_linear(double encoded);
double pk_linear_to_srgb(double linear);

/* Linear sRGB <-> XYZ (D65). */
extern const double pk_rgb_to_xyz_matrix[9];
extern const double pk_xyz_to_rgb_matrix[9];
void pk_rgb_to_xyz(const double rgb[3], double xyz[3]);
void pk_xyz_to_rgb(const double xyz[3], double rgb[3]);

/* The D65 white of sRGB as XYZ with Y = 1. */
extern const double pk_d65_xyz[3];

/* CIE 1976 L*a*b* relative to `white` (XYZ, usually pk_d65_xyz). */
void pk_xyz_to_lab(const double xyz[3], const double white[3], double lab[3]);
void pk_lab_to_xyz(const double lab[3], const double white[3], double xyz[3]);

/* Oklab (B. Ottosson, 2020) from and to linear sRGB. L is 0..1 (white = 1). */
extern const double pk_oklab_m1[9]; /* linear sRGB -> LMS */
extern const double pk_oklab_m2[9]; /* cube-root LMS -> Lab */
void pk_rgb_to_oklab(const double rgb[3], double lab[3]);
void pk_oklab_to_rgb(const double lab[3], double rgb[3]);

/* CIEDE2000 colour difference between two CIELAB colours, with the
 * parametric factors kL = kC = kH = 1 (Sharma, Wu, Dalal 2005). */
double pk_ciede2000(const double lab1[3], const double lab2[3]);

/* Chromaticity: xy of an XYZ triple (the D65 white's for black), and XYZ
 * of a chromaticity at luminance Y. */
void pk_xyz_to_xy(const double xyz[3], double xy[2]);
void pk_xy_to_xyz(const double xy[2], double Y, double xyz[3]);

/* ---- Colour temperature ------------------------------------------------ */

/* Valid range of the Planckian locus approximation used here. */
#define PK_CCT_MIN 1000.0
#define PK_CCT_MAX 15000.0

/* Correlated colour temperature (kelvin) and Duv (signed distance from the
 * Planckian locus in CIE 1960 uv; positive above the locus = greenish,
 * negative below = magenta/pink, as in ANSI C78.377) of chromaticity xy.
 * The CCT is the temperature of the nearest point of the locus (the
 * definition of CIE 15), found numerically on M. Krystek's (1985) rational
 * approximation of the locus, which is within 1e-4 in uv of Planck's law
 * between PK_CCT_MIN and PK_CCT_MAX. Returns 0, or -1 when the nearest point
 * is at the end of that range (the CCT is then clamped to it) or |Duv| >
 * 0.05 (CIE 15: the CCT of such a colour is not meaningful). */
int pk_cct_from_xy(const double xy[2], double *cct, double *duv);

/* The chromaticity of colour temperature `cct` (clamped to the valid range)
 * displaced by `duv` along the normal of the locus. */
void pk_xy_from_cct(double cct, double duv, double xy[2]);

/* ---- Chromatic adaptation --------------------------------------------- */

typedef enum pk_cat {
    PK_CAT_BRADFORD, /* Lam 1985, as in ICC v4 and Lightroom-style tools */
    PK_CAT_CAT16     /* Li et al. 2017 (CAM16) */
} pk_cat;

/* The cone-like space of a CAT: XYZ -> LMS. */
const double *pk_cat_cone_matrix(pk_cat cat);

/* A von Kries adaptation in the CAT's cone space that maps the white
 * `src_white` onto `dst_white` (both XYZ, full adaptation, D = 1):
 * m = M^-1 diag(M dst / M src) M. `m` maps XYZ to XYZ. */
void pk_cat_matrix(pk_cat cat, const double src_white[3], const double dst_white[3], double m[9]);

/* The same adaptation expressed on linear sRGB. */
void pk_cat_matrix_rgb(pk_cat cat, const double src_white[3], const double dst_white[3],
                       double m[9]);

/* ---- 3×3 matrices ------------------------------------------------------ */

void pk_mat3_identity(double m[9]);
void pk_mat3_mul(const double a[9], const double b[9], double out[9]); /* out = a b */
void pk_mat3_apply(const double m[9], const double v[3], double out[3]);
/* Returns 0, or -1 (out untouched) when m is singular. */
int pk_mat3_invert(const double m[9], double out[9]);

/* ---- Highlight roll-off ------------------------------------------------- */

/* The tone curve applied per channel after a gain, so highlights pushed above
 * white are compressed smoothly instead of being clipped:
 *
 *     f(x) = x                                              x <= k
 *     f(x) = k + (1 - k) (1 - exp(-(x - k) / (1 - k)))       x >  k
 *
 * f is continuous with slope 1 at the knee k, increases strictly, and tends
 * to 1 without reaching it, so no value is clipped and detail above white
 * stays distinguishable. With k >= 1 the curve is the identity (nothing to
 * compress). Negative values pass through. */
double pk_rolloff(double x, double knee);

/* The knee for an image whose brightest channel values (e.g. the 99.9th
 * percentile) reach `white` after correction: the identity (k = 1) when
 * white <= 1; otherwise k = (3 - white) / 2, limited to [0.6, 1], so
 * that f(white) = 1 - (1 - k) e^-3 (within 5% of the knee-to-white range
 * of 1.0) and only the range that needs it is compressed. */
double pk_rolloff_knee(double white);

/* ---- Image statistics ------------------------------------------------------
 * Measured on a reduced-size copy of a photo (a few hundred thousand pixels
 * of linear RGB): the corrections are decided there and applied to the full
 * image as a stream. */

/* Quantiles of luminance measured: q = (k + 1) / (PK_PHOTO_QUANTILES + 1). */
#define PK_PHOTO_QUANTILES 49

typedef enum pk_illuminant_method {
    /* Minkowski norm of each cone channel over the trusted pixels,
     * (mean c^p)^(1/p): p = 1 is grey-world, large p tends to white-patch
     * (Finlayson & Trezzi 2004, "Shades of grey and colour constancy"). */
    PK_ILLUM_SHADES_OF_GREY,
    /* Mean of the brightest 2% of trusted pixels (by luminance): bright-pixel
     * / white-patch (Land's retinex; Joze et al. 2012). */
    PK_ILLUM_WHITE_PATCH
} pk_illuminant_method;

typedef struct pk_photo_measure_opts {
    pk_illuminant_method method;
    double p;            /* Minkowski exponent for shades of grey (>= 1) */
    pk_cat cat;          /* cone space in which the illuminant is estimated */
    double clip_level;   /* a pixel with a channel >= this is clipped (linear) */
    double shadow_level; /* a pixel with luminance below this is deep shadow */
    /* Trusted pixels may further be limited to luminance >= window_lo and
     * each channel c < window_hi[c] (0: no limit). Planning sets these so
     * an image and its reference leave out the same pixels. */
    double window_lo, window_hi[3];
} pk_photo_measure_opts;

/* The defaults: grey-world (shades of grey, p = 1), Bradford cone space, clipped at
 * 0.955 (sRGB 250/255), deep shadow below Y = 0.002 (sRGB ~9/255). */
void pk_photo_measure_defaults(pk_photo_measure_opts *opts);

typedef struct pk_photo_stats {
    size_t pixels;          /* pixels measured */
    size_t trusted;         /* neither clipped nor deep shadow */
    double clipped;         /* fraction of pixels with a clipped channel */
    double shadow;          /* fraction of pixels in deep shadow */
    double illuminant[3];   /* estimated scene illuminant, XYZ with Y = 1 */
    double cct, duv;        /* of the illuminant (see pk_cct_from_xy) */
    int cct_valid;          /* 0 when the estimate is far from any Planckian */
    /* log2 of luminance quantiles, and whether each is usable for exposure:
     * above the deep-shadow level and below where clipping starts. */
    double log2_lum[PK_PHOTO_QUANTILES];
    unsigned char lum_ok[PK_PHOTO_QUANTILES];
    double median_lum;      /* luminance median, linear */
    double oklab_mean[3];   /* of trusted pixels */
    double oklab_cov[9];
    double peak;            /* 99.9th percentile of the largest channel */
    double bright;          /* 99th percentile of the largest channel */
} pk_photo_stats;

/* Measure `n` pixels of interleaved linear RGB (3 floats each). With no
 * trusted pixels the illuminant is D65 and trusted = 0. Fails only with
 * PK_ERR_INTERNAL when memory is exhausted. Thread-safe. */
pk_status pk_photo_measure(pk_ctx *ctx, const float *rgb, size_t n,
                           const pk_photo_measure_opts *opts, pk_photo_stats *out);

/* ---- Corrections -------------------------------------------------------- */

enum {
    PK_PHOTO_EXPOSURE = 1u << 0, /* a gain in linear light */
    PK_PHOTO_WB = 1u << 1,       /* chromatic adaptation of the illuminant */
    PK_PHOTO_COLOR = 1u << 2,    /* Monge–Kantorovich colour transfer in Oklab */
    PK_PHOTO_ALL = 7u
};

/* What is applied to an image, in this order, on linear RGB:
 *   x1 = gain * wb * x
 *   x2 = colour transfer of x1: Oklab(x1) -> color_a * Oklab(x1) + color_b
 *   x3 = pk_rolloff(x2, knee) per channel                                   */
typedef struct pk_photo_correction {
    unsigned mode;          /* PK_PHOTO_* actually applied */
    double strength;        /* 0..1: how far toward the target */
    double ev;              /* exposure change applied, EV (gain = 2^ev) */
    double ev_estimated;    /* the full offset found (ev = strength * it) */
    int ev_found;           /* 0: nothing comparable to estimate from (all
                             * clipped or black); ev is then 0 */
    double wb[9];           /* linear RGB adaptation (identity without WB) */
    double matrix[9];       /* gain * wb */
    double src_white[3];    /* estimated illuminant of the image, XYZ */
    double dst_white[3];    /* the white it was adapted to */
    double cct_before, duv_before; /* of the image's illuminant */
    double cct_target, duv_target; /* of the target illuminant */
    double cct_after, duv_after;   /* measured again after correction */
    double color_a[9], color_b[3]; /* Oklab affine map (identity without) */
    double knee;            /* roll-off knee (1: none needed) */
    double peak;            /* brightest channel value before roll-off */
} pk_photo_correction;

/* The identity correction (nothing applied). */
void pk_photo_correction_identity(pk_photo_correction *c);

/* Plan the correction that brings an image toward a reference or, with no
 * reference (ref_rgb NULL), toward a neutral rendering: illuminant D65 and
 * the median luminance at mid grey (0.18), limited so that no more than 1%
 * of the image is pushed above white.
 *
 * `rgb`/`n` and `ref_rgb`/`ref_n` are the measured pixels (as for
 * pk_photo_measure) of the image and the reference, each with its measuring
 * options (`ref_opts` NULL: `opts`); their clip_level says where each
 * file's encoding clips (1e30 for float files, which do not). Both are
 * measured over the pixels both can vouch for: per channel, the ranks where
 * either clips are left out of both, and so are the luminance ranks where
 * either is in deep shadow. Channel ranks survive an exposure change and
 * (nearly) a white-balance cast, so clipping in one of them does not bias
 * the comparison. `mode` is a set of PK_PHOTO_*; colour transfer needs a
 * reference. Returns PK_ERR_INTERNAL only when memory is exhausted.
 * Thread-safe. */
pk_status pk_photo_plan(pk_ctx *ctx, const float *rgb, size_t n,
                        const pk_photo_measure_opts *opts, const float *ref_rgb, size_t ref_n,
                        const pk_photo_measure_opts *ref_opts, unsigned mode, double strength,
                        pk_photo_correction *out);

/* Apply a correction to one linear RGB pixel, exactly (double precision):
 * the reference the fast image kernel is tested against. */
void pk_photo_correct_pixel(const pk_photo_correction *c, const double in[3], double out[3]);

/* The Monge–Kantorovich linear map between two Gaussians: the symmetric
 * positive-definite A with A src_cov A = dst_cov, so x -> A (x - src_mean) +
 * dst_mean moves one distribution onto the other with the least mean
 * squared displacement. Its eigenvalues are limited to [1/max_gain,
 * max_gain] so a nearly flat source is not amplified into noise. Returns 0,
 * or -1 (a = identity) when a covariance is not positive definite. */
int pk_monge_kantorovich(const double src_cov[9], const double dst_cov[9], double max_gain,
                         double a[9]);

/* Eigen-decomposition of a symmetric 3×3 matrix (Jacobi rotations):
 * m = v diag(w) v^T, eigenvectors in the columns of v. */
void pk_sym3_eigen(const double m[9], double w[3], double v[9]);

#ifdef __cplusplus
}
#endif
#endif

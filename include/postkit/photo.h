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

#ifdef __cplusplus
}
#endif
#endif

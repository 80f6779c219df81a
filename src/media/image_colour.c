/*
 * image_colour.c — delivering a picture's colours the way a caller asked:
 * sRGB at 8 or 16 bits (libvips' ICC transform, or its sRGB formulas when
 * the file has no profile) and linear light in float.
 *
 * Linear light goes through lcms2 directly: libvips 8.14 can only leave an
 * ICC transform at 8 or 16 bits, which would clip wide-gamut colours and
 * add a quantisation step. lcms2 transforms from the file's own bit depth
 * to unbounded float in one step.
 */
#include "media/internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <lcms2.h>
#include <vips/vips.h>

#include <postkit/image.h>

int pk_vips_is_grey(VipsImage *im)
{
    VipsInterpretation i = vips_image_guess_interpretation(im);
    int colour_bands = im->Bands - (vips_image_hasalpha(im) ? 1 : 0);
    return i == VIPS_INTERPRETATION_B_W || i == VIPS_INTERPRETATION_GREY16 || colour_bands == 1;
}

double pk_vips_max_alpha(VipsImage *im)
{
    VipsInterpretation i = vips_image_guess_interpretation(im);
    if (im->BandFmt == VIPS_FORMAT_USHORT &&
        (i == VIPS_INTERPRETATION_RGB16 || i == VIPS_INTERPRETATION_GREY16))
        return 65535.0;
    return 255.0;
}

int pk_vips_flatten_white(VipsImage *in, VipsImage **out)
{
    VipsInterpretation i = vips_image_guess_interpretation(in);
    double white;
    if (i == VIPS_INTERPRETATION_CMYK)
        white = 0; /* no ink */
    else if (in->BandFmt == VIPS_FORMAT_FLOAT || in->BandFmt == VIPS_FORMAT_DOUBLE)
        white = i == VIPS_INTERPRETATION_scRGB ? 1.0 : 255.0;
    else
        white = pk_vips_max_alpha(in);
    double bg[4] = {white, white, white, white};
    VipsArrayDouble *background = vips_array_double_new(bg, in->Bands - 1);
    VipsImage *flat;
    int bad = vips_flatten(in, &flat, "background", background, "max_alpha", pk_vips_max_alpha(in),
                           NULL);
    vips_area_unref(VIPS_AREA(background));
    if (bad)
        return -1;
    /* vips_flatten computes in float; keep the source's depth. */
    bad = vips_cast(flat, out, in->BandFmt, NULL);
    g_object_unref(flat);
    return bad;
}

int pk_vips_usable_icc(VipsImage *im)
{
    const void *blob;
    size_t len;
    if (!vips_image_get_typeof(im, VIPS_META_ICC_NAME) ||
        vips_image_get_blob(im, VIPS_META_ICC_NAME, &blob, &len) != 0)
        return 0;
    cmsHPROFILE p = cmsOpenProfileFromMem(blob, (cmsUInt32Number)len);
    if (!p)
        return 0;
    int colour_bands = im->Bands - (vips_image_hasalpha(im) ? 1 : 0);
    cmsColorSpaceSignature cs = cmsGetColorSpace(p);
    cmsProfileClassSignature cls = cmsGetDeviceClass(p);
    cmsCloseProfile(p);
    if (cls == cmsSigLinkClass || cls == cmsSigAbstractClass || cls == cmsSigNamedColorClass)
        return 0;
    return (cs == cmsSigRgbData && colour_bands == 3) || (cs == cmsSigGrayData && colour_bands == 1) ||
           (cs == cmsSigCmykData && colour_bands == 4);
}

/* Copy `in` without its ICC profile: after a conversion the profile no
 * longer describes the pixels. */
static int drop_profile(VipsImage *in, VipsImage **out)
{
    if (vips_copy(in, out, NULL))
        return -1;
    vips_image_remove(*out, VIPS_META_ICC_NAME);
    return 0;
}

/* ---- sRGB -------------------------------------------------------------- */

/* Whether `im`'s embedded RGB profile is sRGB for 8-bit purposes: a grid of
 * 16^3 8-bit colours (every level 0, 17, ..., 255) taken through it into
 * lcms2's own sRGB lands within SRGB_SAME_LEVELS of where it started. Most
 * camera and export JPEGs embed one of the many sRGB profiles (v2 tables,
 * v4 parametric curves); converting those costs a libvips ICC transform
 * (two lcms2 passes through a float connection space: ~8 % of a photo
 * match's CPU) to move no pixel by a visible amount. */
#define SRGB_SAME_LEVELS 0.5
static int embedded_is_srgb(VipsImage *im)
{
    const void *blob;
    size_t len;
    if (vips_image_get_blob(im, VIPS_META_ICC_NAME, &blob, &len) != 0)
        return 0;
    cmsHPROFILE src = cmsOpenProfileFromMem(blob, (cmsUInt32Number)len);
    if (!src)
        return 0;
    int same = 0;
    cmsHPROFILE srgb = cmsGetColorSpace(src) == cmsSigRgbData ? cmsCreate_sRGBProfile() : NULL;
    cmsHTRANSFORM t = srgb ? cmsCreateTransform(src, TYPE_RGB_8, srgb, TYPE_RGB_DBL,
                                                INTENT_RELATIVE_COLORIMETRIC, cmsFLAGS_NOCACHE)
                           : NULL;
    if (t) {
        enum { STEPS = 16, N = STEPS * STEPS * STEPS, LEVEL_STEP = 255 / (STEPS - 1) };
        uint8_t in[N * 3];
        double out[N * 3];
        for (int i = 0; i < N; i++) {
            in[3 * i] = (uint8_t)(i / (STEPS * STEPS) * LEVEL_STEP);
            in[3 * i + 1] = (uint8_t)(i / STEPS % STEPS * LEVEL_STEP);
            in[3 * i + 2] = (uint8_t)(i % STEPS * LEVEL_STEP);
        }
        cmsDoTransform(t, in, out, N);
        same = 1;
        for (int i = 0; i < N * 3 && same; i++) /* TYPE_RGB_DBL is 0..1 */
            same = fabs(out[i] * 255.0 - in[i]) <= SRGB_SAME_LEVELS;
        cmsDeleteTransform(t);
    }
    if (srgb)
        cmsCloseProfile(srgb);
    cmsCloseProfile(src);
    return same;
}

static pk_status to_srgb(pk_ctx *ctx, const char *path, VipsImage *in, int depth, int rgb,
                         VipsImage **out)
{
    int grey = pk_vips_is_grey(in) && !rgb;
    if (!grey && vips_image_get_typeof(in, VIPS_META_ICC_NAME) && depth == 8 &&
        in->BandFmt == VIPS_FORMAT_UCHAR && pk_vips_usable_icc(in) && embedded_is_srgb(in)) {
        /* Already sRGB: the pixels are the answer; the profile stays. */
        VipsImage *conv;
        if (vips_colourspace(in, &conv, VIPS_INTERPRETATION_sRGB, NULL))
            return pk_vips_fail(ctx, PK_ERR_INPUT, path, "cannot convert to sRGB");
        *out = conv;
        return PK_OK;
    }
    if (!grey && vips_image_get_typeof(in, VIPS_META_ICC_NAME)) {
        if (pk_vips_usable_icc(in) && vips_icc_transform(in, out, "srgb", "embedded", TRUE, "depth", depth, "intent",
                               VIPS_INTENT_RELATIVE, NULL) == 0)
            return PK_OK;
        /* A broken or mismatched profile: say so and assume sRGB. */
        char why[256];
        vips_error_clear();
        pk_log(ctx, PK_LOG_WARNING, "%s: ignoring its ICC profile (%s)", path,
               pk_vips_usable_icc(in) ? pk_vips_reason(why, sizeof why)
                                      : "it does not fit the pixels");
    }
    VipsInterpretation target = grey ? (depth == 8 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_GREY16)
                                     : (depth == 8 ? VIPS_INTERPRETATION_sRGB : VIPS_INTERPRETATION_RGB16);
    VipsImage *conv;
    if (vips_colourspace(in, &conv, target, NULL))
        return pk_vips_fail(ctx, PK_ERR_INPUT, path, "cannot convert to sRGB");
    /* A grey image keeps its grey profile; a colour one was converted
     * without it (there was none, or it was unusable). */
    int bad = grey ? vips_copy(conv, out, NULL) : drop_profile(conv, out);
    g_object_unref(conv);
    return bad ? pk_vips_fail(ctx, PK_ERR_INTERNAL, path, "cannot convert to sRGB") : PK_OK;
}

/* ---- linear light ------------------------------------------------------ */

/* Linear-light output profiles: sRGB primaries, D65 white, gamma 1. */
static cmsHPROFILE linear_profile(int grey)
{
    cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
    cmsToneCurve *one = cmsBuildGamma(NULL, 1.0);
    if (!one)
        return NULL;
    cmsHPROFILE p;
    if (grey) {
        p = cmsCreateGrayProfile(&d65, one);
    } else {
        cmsCIExyYTRIPLE primaries = {{0.64, 0.33, 1.0}, {0.30, 0.60, 1.0}, {0.15, 0.06, 1.0}};
        cmsToneCurve *curves[3] = {one, one, one};
        p = cmsCreateRGBProfile(&d65, &primaries, curves);
    }
    cmsFreeToneCurve(one);
    return p;
}

/* The lcms2 pixel format of the colour bands of `im` under profile `p`;
 * 0 when lcms2 cannot take them (then libvips' formulas are used). */
static cmsUInt32Number lcms_input_format(VipsImage *im, cmsHPROFILE p, int colour_bands)
{
    int wide = im->BandFmt == VIPS_FORMAT_USHORT;
    if (!wide && im->BandFmt != VIPS_FORMAT_UCHAR)
        return 0;
    switch (cmsGetColorSpace(p)) {
    case cmsSigRgbData: return colour_bands == 3 ? (wide ? TYPE_RGB_16 : TYPE_RGB_8) : 0;
    case cmsSigCmykData: return colour_bands == 4 ? (wide ? TYPE_CMYK_16 : TYPE_CMYK_8) : 0;
    case cmsSigGrayData: return colour_bands == 1 ? (wide ? TYPE_GRAY_16 : TYPE_GRAY_8) : 0;
    default: return 0;
    }
}

static void free_buffer(VipsImage *image, gpointer data)
{
    (void)image;
    g_free(data);
}

/* ---- fast path for matrix/shaper profiles ---------------------------- */

/* Most RGB and grey profiles (sRGB, Adobe RGB, Display P3, ProPhoto, gamma
 * greys) are "matrix/shaper": a curve per channel, then a 3x3 matrix. The
 * whole transform to linear light is then a look-up table per band, a
 * matrix and an offset, which libvips runs in parallel at memory speed;
 * lcms2's float pipeline costs about a microsecond per pixel (25 s for 27
 * megapixels). The tables and the matrix are read off lcms2's own transform
 * by sending it one ramp per channel, and checked against it on a grid of
 * mixed colours: a profile that fails the check (CMYK, LUT-based RGB) goes
 * pixel by pixel through lcms2 instead. */

#define MAX_IN 3
#define MAX_OUT 3

typedef struct separable {
    int n_in, n_out, levels;
    float *lut;                  /* levels x n_in, interleaved: the table image */
    double col[MAX_IN][MAX_OUT]; /* each channel's full-scale contribution */
    double off[MAX_OUT];         /* the output for an all-zero input */
} separable;

static void put_level(void *buf, int wide, size_t i, int v)
{
    if (wide)
        ((unsigned short *)buf)[i] = (unsigned short)v;
    else
        ((unsigned char *)buf)[i] = (unsigned char)v;
}

/* Fill `sp` from transform `t` (n_in channels of 8 or 16 bits in, n_out
 * floats out). Returns 1 when the transform is separable, 0 otherwise. */
static int read_separable(cmsHTRANSFORM t, int n_in, int n_out, int wide, separable *sp)
{
    int levels = wide ? 65536 : 256;
    size_t px = (size_t)levels;
    memset(sp, 0, sizeof *sp);
    sp->n_in = n_in;
    sp->n_out = n_out;
    sp->levels = levels;
    void *ramp = g_malloc0(px * (size_t)n_in * (wide ? 2 : 1));
    float *out = g_malloc(px * (size_t)n_out * sizeof(float) * (size_t)n_in);
    sp->lut = g_malloc(px * (size_t)n_in * sizeof(float));
    for (int c = 0; c < n_in; c++) {
        memset(ramp, 0, px * (size_t)n_in * (wide ? 2 : 1));
        for (int v = 0; v < levels; v++)
            put_level(ramp, wide, (size_t)v * (size_t)n_in + (size_t)c, v);
        cmsDoTransform(t, ramp, out + (size_t)c * px * (size_t)n_out, (cmsUInt32Number)px);
    }
    int ok = 1;
    for (int o = 0; o < n_out; o++)
        sp->off[o] = out[o]; /* channel 0's ramp starts at all zeros */
    for (int c = 0; c < n_in && ok; c++) {
        const float *oc = out + (size_t)c * px * (size_t)n_out;
        double norm = 0;
        for (int o = 0; o < n_out; o++) {
            sp->col[c][o] = oc[(px - 1) * (size_t)n_out + (size_t)o] - sp->off[o];
            norm += sp->col[c][o] * sp->col[c][o];
        }
        if (norm < 1e-12) {
            ok = 0;
            break;
        }
        for (int v = 0; v < levels && ok; v++) {
            double dot = 0;
            for (int o = 0; o < n_out; o++)
                dot += (oc[(size_t)v * (size_t)n_out + (size_t)o] - sp->off[o]) * sp->col[c][o];
            double k = dot / norm;
            sp->lut[(size_t)v * (size_t)n_in + (size_t)c] = (float)k;
            /* The ramp must stay on its line. */
            for (int o = 0; o < n_out; o++)
                if (fabs(oc[(size_t)v * (size_t)n_out + (size_t)o] - sp->off[o] - k * sp->col[c][o]) > 1e-4)
                    ok = 0;
        }
    }
    /* Mixed colours must be the sum of their channels. */
    static const double grid[] = {0.0, 0.1, 0.35, 0.6, 0.85, 1.0};
    int ng = (int)PK_ARRAY_LEN(grid), combos = 1;
    for (int c = 0; c < n_in; c++)
        combos *= ng;
    for (int k = 0; k < combos && ok; k++) {
        int idx[MAX_IN] = {0}, rest = k;
        unsigned short px16[MAX_IN];
        unsigned char px8[MAX_IN];
        for (int c = 0; c < n_in; c++) {
            idx[c] = (int)lround(grid[rest % ng] * (levels - 1));
            rest /= ng;
            px16[c] = (unsigned short)idx[c];
            px8[c] = (unsigned char)idx[c];
        }
        float got[MAX_OUT];
        cmsDoTransform(t, wide ? (void *)px16 : (void *)px8, got, 1);
        for (int o = 0; o < n_out; o++) {
            double want = sp->off[o];
            for (int c = 0; c < n_in; c++)
                want += sp->lut[(size_t)idx[c] * (size_t)n_in + (size_t)c] * sp->col[c][o];
            if (fabs(want - got[o]) > 1e-4)
                ok = 0;
        }
    }
    g_free(ramp);
    g_free(out);
    if (!ok) {
        g_free(sp->lut);
        sp->lut = NULL;
    }
    return ok;
}

int pk_image_profile_to_linear(VipsImage *im, float curves[3 * 256], double matrix[9])
{
    const void *blob;
    size_t len;
    if (im->BandFmt != VIPS_FORMAT_UCHAR || im->Bands != 3 || !pk_vips_usable_icc(im) ||
        vips_image_get_blob(im, VIPS_META_ICC_NAME, &blob, &len) != 0)
        return 0;
    cmsHPROFILE src = cmsOpenProfileFromMem(blob, (cmsUInt32Number)len);
    cmsHPROFILE dst = src && cmsGetColorSpace(src) == cmsSigRgbData ? linear_profile(0) : NULL;
    cmsHTRANSFORM t = dst ? cmsCreateTransform(src, TYPE_RGB_8, dst, TYPE_RGB_FLT,
                                               INTENT_RELATIVE_COLORIMETRIC, 0)
                          : NULL;
    separable sp;
    int ok = t && read_separable(t, 3, 3, 0, &sp);
    /* An offset (a profile whose black is not zero light) does not fit
     * "tables, then a matrix". */
    for (int o = 0; ok && o < 3; o++)
        ok = fabs(sp.off[o]) <= 1e-6;
    if (ok) {
        for (int c = 0; c < 3; c++)
            for (int v = 0; v < 256; v++)
                curves[c * 256 + v] = sp.lut[v * 3 + c];
        for (int o = 0; o < 3; o++)
            for (int c = 0; c < 3; c++)
                matrix[o * 3 + c] = sp.col[c][o];
    }
    if (t && sp.lut)
        g_free(sp.lut);
    if (t)
        cmsDeleteTransform(t);
    if (dst)
        cmsCloseProfile(dst);
    if (src)
        cmsCloseProfile(src);
    return ok;
}

/* Apply a separable transform to `colour` (8 or 16 bits) with libvips:
 * table per band, matrix, offset. Lazy. */
static int apply_separable(VipsImage *colour, const separable *sp, VipsImage **out)
{
    VipsImage *table = vips_image_new_from_memory_copy(sp->lut, (size_t)sp->levels * (size_t)sp->n_in * sizeof(float),
                                                       sp->levels, 1, sp->n_in, VIPS_FORMAT_FLOAT);
    double m[MAX_IN * MAX_OUT];
    for (int o = 0; o < sp->n_out; o++)
        for (int c = 0; c < sp->n_in; c++)
            m[o * sp->n_in + c] = sp->col[c][o];
    VipsImage *matrix = vips_image_new_matrix_from_array(sp->n_in, sp->n_out, m, sp->n_in * sp->n_out);
    VipsImage *mapped = NULL, *mixed = NULL;
    double ones[MAX_OUT] = {1, 1, 1};
    int bad = !table || !matrix || vips_maplut(colour, &mapped, table, NULL) ||
              vips_recomb(mapped, &mixed, matrix, NULL) ||
              vips_linear(mixed, out, ones, (double *)sp->off, sp->n_out, NULL);
    VipsImage *all[] = {table, matrix, mapped, mixed};
    for (size_t i = 0; i < PK_ARRAY_LEN(all); i++)
        if (all[i])
            g_object_unref(all[i]);
    return bad ? -1 : 0;
}

/* Transform `colour` (in memory, colour bands only) with `t` into linear
 * float, pixel by pixel: for profiles that are not matrix/shaper. */
static pk_status lcms_linear(pk_ctx *ctx, const char *path, VipsImage *colour, cmsHTRANSFORM t,
                             int grey_out, VipsImage **out)
{
    int bands = grey_out ? 1 : 3;
    size_t w = (size_t)colour->Xsize, h = (size_t)colour->Ysize;
    float *buf = g_try_malloc(w * h * (size_t)bands * sizeof(float));
    if (!buf)
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory for a %zux%zu float image", w, h);
    size_t in_row = VIPS_IMAGE_SIZEOF_LINE(colour);
    const unsigned char *src_px = (const unsigned char *)VIPS_IMAGE_ADDR(colour, 0, 0);
    for (size_t y = 0; y < h; y++) {
        if (pk_ctx_interrupted(ctx)) {
            g_free(buf);
            return pk_fail(ctx, PK_ERR_INTERRUPTED, path, "interrupted");
        }
        cmsDoTransform(t, src_px + y * in_row, buf + y * w * (size_t)bands, (cmsUInt32Number)w);
    }
    VipsImage *im = vips_image_new_from_memory(buf, w * h * (size_t)bands * sizeof(float), (int)w,
                                               (int)h, bands, VIPS_FORMAT_FLOAT);
    if (!im) {
        g_free(buf);
        return pk_vips_fail(ctx, PK_ERR_INTERNAL, path, "cannot wrap the linear picture");
    }
    g_signal_connect(im, "postclose", G_CALLBACK(free_buffer), buf);
    *out = im;
    return PK_OK;
}

/* Linear light from the colour bands of `in`, without alpha: through the
 * embedded profile when lcms2 can take it, else sRGB assumed (libvips'
 * exact sRGB curve). */
static pk_status linear_colour(pk_ctx *ctx, const char *path, VipsImage *in, int colour_bands,
                               int grey_out, VipsImage **lin)
{
    pk_status s = PK_OK;
    *lin = NULL;
    const void *blob;
    size_t len;
    cmsHPROFILE src = NULL;
    cmsUInt32Number fmt = 0;
    if (vips_image_get_typeof(in, VIPS_META_ICC_NAME) &&
        vips_image_get_blob(in, VIPS_META_ICC_NAME, &blob, &len) == 0 &&
        (src = cmsOpenProfileFromMem(blob, (cmsUInt32Number)len)) != NULL)
        fmt = lcms_input_format(in, src, colour_bands);
    VipsImage *bands = NULL;
    if (vips_extract_band(in, &bands, 0, "n", colour_bands, NULL))
        s = pk_vips_fail(ctx, PK_ERR_INTERNAL, path, "cannot separate the colour bands");
    cmsHTRANSFORM t = NULL;
    if (s == PK_OK && fmt) {
        cmsHPROFILE dst = linear_profile(grey_out);
        if (dst) {
            t = cmsCreateTransform(src, fmt, dst, grey_out ? TYPE_GRAY_FLT : TYPE_RGB_FLT,
                                   INTENT_RELATIVE_COLORIMETRIC, 0);
            cmsCloseProfile(dst);
        }
        /* No transform (an abstract or device-link profile): sRGB assumed. */
    }
    if (t) {
        separable sp;
        int n_in = T_CHANNELS(fmt), n_out = grey_out ? 1 : 3;
        if (n_in <= MAX_IN && read_separable(t, n_in, n_out, T_BYTES(fmt) == 2, &sp)) {
            if (apply_separable(bands, &sp, lin))
                s = pk_vips_fail(ctx, PK_ERR_INTERNAL, path, "cannot convert to linear light");
            g_free(sp.lut);
        } else {
            VipsImage *mem = vips_image_copy_memory(bands);
            if (!mem)
                s = pk_vips_fail(ctx, PK_ERR_INPUT, path, "corrupt or truncated image");
            else
                s = lcms_linear(ctx, path, mem, t, grey_out, lin);
            if (mem)
                g_object_unref(mem);
        }
        cmsDeleteTransform(t);
    }
    if (s == PK_OK && !*lin) {
        if (vips_image_get_typeof(in, VIPS_META_ICC_NAME))
            pk_log(ctx, PK_LOG_WARNING, "%s: ICC profile unusable for these pixels; assuming sRGB", path);
        VipsImage *sc = NULL;
        if (vips_colourspace(bands, &sc, VIPS_INTERPRETATION_scRGB, NULL))
            s = pk_vips_fail(ctx, PK_ERR_INPUT, path, "cannot convert to linear light");
        else if (grey_out && vips_extract_band(sc, lin, 0, NULL))
            s = pk_vips_fail(ctx, PK_ERR_INTERNAL, path, "cannot extract the grey band");
        else if (!grey_out)
            *lin = g_object_ref(sc);
        if (sc)
            g_object_unref(sc);
    }
    if (bands)
        g_object_unref(bands);
    if (src)
        cmsCloseProfile(src);
    return s;
}

static pk_status to_linear(pk_ctx *ctx, const char *path, VipsImage *in, int rgb, VipsImage **out)
{
    int alpha = vips_image_hasalpha(in);
    int colour_bands = in->Bands - (alpha ? 1 : 0);
    int grey_out = pk_vips_is_grey(in) && !rgb;
    VipsImage *lin;
    pk_status s = linear_colour(ctx, path, in, colour_bands, grey_out, &lin);
    if (s != PK_OK)
        return s;

    /* Alpha keeps its value on libvips' 0..255 scale for float images. */
    VipsImage *joined = NULL, *typed = NULL;
    int bad = 0;
    if (alpha) {
        VipsImage *a = NULL, *af = NULL;
        bad = vips_extract_band(in, &a, in->Bands - 1, NULL) ||
              vips_linear1(a, &af, 255.0 / pk_vips_max_alpha(in), 0.0, NULL) ||
              vips_bandjoin2(lin, af, &joined, NULL);
        if (a)
            g_object_unref(a);
        if (af)
            g_object_unref(af);
    } else {
        joined = g_object_ref(lin);
    }
    g_object_unref(lin);
    /* libvips has no linear grey interpretation: one band is MULTIBAND,
     * and every linear image is marked PK_META_LINEAR. */
    if (!bad)
        bad = vips_copy(joined, &typed, "interpretation",
                        grey_out ? VIPS_INTERPRETATION_MULTIBAND : VIPS_INTERPRETATION_scRGB, NULL);
    if (joined)
        g_object_unref(joined);
    if (bad)
        return pk_vips_fail(ctx, PK_ERR_INTERNAL, path, "cannot assemble the linear picture");
    pk_vips_copy_metadata(typed, in);
    vips_image_remove(typed, VIPS_META_ICC_NAME);
    vips_image_set_int(typed, PK_META_LINEAR, 1);
    *out = typed;
    return PK_OK;
}

pk_status pk_image_convert_colour(pk_ctx *ctx, const char *path, VipsImage *in, int colour,
                                  int rgb, VipsImage **out)
{
    switch (colour) {
    case PK_COLOUR_SRGB8: return to_srgb(ctx, path, in, 8, rgb, out);
    case PK_COLOUR_SRGB16: return to_srgb(ctx, path, in, 16, rgb, out);
    case PK_COLOUR_LINEAR: return to_linear(ctx, path, in, rgb, out);
    default:
        *out = g_object_ref(in);
        return PK_OK;
    }
}

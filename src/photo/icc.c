/*
 * icc.c — writing a corrected photo back in its own colour space
 * (--keep-profile): linear sRGB float, as the kernel leaves it, through
 * lcms2 into the input's ICC profile, evaluated strip by strip inside the
 * libvips pipeline. libvips 8.14 can only export to a profile named by a
 * file; the profile we have is the input's embedded one, in memory.
 */
#include "photo/internal.h"

#include <lcms2.h>

typedef struct icc_export {
    cmsHTRANSFORM transform;
    int out_bands;
} icc_export;

static void icc_export_free(void *p)
{
    icc_export *e = p;
    if (!e)
        return;
    if (e->transform)
        cmsDeleteTransform(e->transform);
    g_free(e);
}

/* Linear-light sRGB: the sRGB primaries and white with straight lines for
 * tone curves. */
static cmsHPROFILE linear_srgb_profile(void)
{
    cmsCIExyY white = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE primaries = {{0.64, 0.33, 1.0}, {0.30, 0.60, 1.0}, {0.15, 0.06, 1.0}};
    cmsToneCurve *linear = cmsBuildGamma(NULL, 1.0);
    if (!linear)
        return NULL;
    cmsToneCurve *curves[3] = {linear, linear, linear};
    cmsHPROFILE p = cmsCreateRGBProfile(&white, &primaries, curves);
    cmsFreeToneCurve(linear);
    return p;
}

static int generate(VipsRegion *out_region, void *seq, void *a, void *b, gboolean *stop)
{
    (void)a;
    (void)stop;
    VipsRegion *in = seq;
    const icc_export *e = b;
    VipsRect *r = &out_region->valid;
    if (vips_region_prepare(in, r))
        return -1;
    for (int y = 0; y < r->height; y++)
        cmsDoTransform(e->transform, VIPS_REGION_ADDR(in, r->left, r->top + y),
                       VIPS_REGION_ADDR(out_region, r->left, r->top + y), (cmsUInt32Number)r->width);
    return 0;
}

pk_status pk_photo_to_profile(pk_ctx *ctx, VipsImage *in, const void *icc, size_t icc_len,
                              int depth, VipsImage **out)
{
    if (in->Bands != 3 || in->BandFmt != VIPS_FORMAT_FLOAT)
        return pk_fail(ctx, PK_ERR_INTERNAL, in->filename, "profile export needs linear float RGB");
    cmsHPROFILE dst = cmsOpenProfileFromMem(icc, (cmsUInt32Number)icc_len);
    if (!dst)
        return pk_fail(ctx, PK_ERR_INPUT, in->filename, "its ICC profile cannot be read");
    cmsColorSpaceSignature cs = cmsGetColorSpace(dst);
    int bands;
    cmsUInt32Number format;
    VipsInterpretation interp;
    int b16 = depth == 16;
    if (cs == cmsSigRgbData) {
        bands = 3;
        format = b16 ? TYPE_RGB_16 : TYPE_RGB_8;
        interp = b16 ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB;
    } else if (cs == cmsSigGrayData) {
        bands = 1;
        format = b16 ? TYPE_GRAY_16 : TYPE_GRAY_8;
        interp = b16 ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W;
    } else if (cs == cmsSigCmykData) {
        bands = 4;
        format = b16 ? TYPE_CMYK_16 : TYPE_CMYK_8;
        interp = VIPS_INTERPRETATION_CMYK;
    } else {
        cmsCloseProfile(dst);
        return pk_fail(ctx, PK_ERR_INPUT, in->filename,
                       "cannot keep its ICC profile (not an RGB, grey or CMYK output profile)");
    }
    cmsHPROFILE src = linear_srgb_profile();
    icc_export *e = g_new0(icc_export, 1);
    e->out_bands = bands;
    /* Relative colorimetric keeps in-gamut colours exact; black point
     * compensation maps black to the output's black (CMYK presses).
     * No cache: the transform is shared by libvips' worker threads. */
    if (src)
        e->transform = cmsCreateTransform(src, TYPE_RGB_FLT, dst, format, INTENT_RELATIVE_COLORIMETRIC,
                                          cmsFLAGS_NOCACHE | cmsFLAGS_BLACKPOINTCOMPENSATION);
    if (src)
        cmsCloseProfile(src);
    cmsCloseProfile(dst);
    if (!e->transform) {
        icc_export_free(e);
        return pk_fail(ctx, PK_ERR_INPUT, in->filename, "cannot convert into its ICC profile");
    }
    VipsImage *o = vips_image_new();
    if (vips_image_pipelinev(o, VIPS_DEMAND_STYLE_THINSTRIP, in, NULL)) {
        icc_export_free(e);
        g_object_unref(o);
        return pk_fail(ctx, PK_ERR_INTERNAL, in->filename, "libvips: %s", vips_error_buffer());
    }
    o->Bands = bands;
    o->BandFmt = b16 ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR;
    o->Type = interp;
    g_object_set_data_full(G_OBJECT(o), "postkit-icc-export", e, icc_export_free);
    g_object_set_data_full(G_OBJECT(o), "postkit-icc-input", g_object_ref(in), g_object_unref);
    if (vips_image_generate(o, vips_start_one, generate, vips_stop_one, in, e)) {
        g_object_unref(o);
        return pk_fail(ctx, PK_ERR_INTERNAL, in->filename, "libvips: %s", vips_error_buffer());
    }
    vips_image_set_blob_copy(o, VIPS_META_ICC_NAME, icc, icc_len);
    *out = o;
    return PK_OK;
}

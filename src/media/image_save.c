/*
 * image_save.c — pk_image_save: write a VipsImage as JPEG, PNG, TIFF or
 * WebP, converting only what the format and the asked bit depth need.
 */
#include "media/internal.h"

#include <string.h>
#include <strings.h>

#include <vips/vips.h>

#include <postkit/image.h>

typedef enum { FMT_JPEG, FMT_PNG, FMT_TIFF, FMT_WEBP } save_format;

static const struct {
    const char *name;
    const char *canonical;
    save_format fmt;
} formats[] = {
    {"jpeg", "jpeg", FMT_JPEG}, {"jpg", "jpeg", FMT_JPEG}, {"png", "png", FMT_PNG},
    {"tiff", "tiff", FMT_TIFF}, {"tif", "tiff", FMT_TIFF}, {"webp", "webp", FMT_WEBP},
};

static int find_format(const char *name)
{
    for (size_t i = 0; name && i < PK_ARRAY_LEN(formats); i++)
        if (strcasecmp(name, formats[i].name) == 0)
            return (int)i;
    return -1;
}

pk_status pk_image_format_from_path(pk_ctx *ctx, const char *path, const char **format)
{
    const char *ext = pk_path_extension(path);
    int i = find_format(ext);
    if (i < 0)
        return pk_fail(ctx, PK_ERR_USAGE, path, "%s: cannot tell the image format (use .jpg, .png, .tif or .webp)",
                       *ext ? "unknown extension" : "no extension");
    *format = formats[i].canonical;
    return PK_OK;
}

static int is_linear(VipsImage *im)
{
    int mark = 0;
    if (vips_image_get_typeof(im, PK_META_LINEAR))
        vips_image_get_int(im, PK_META_LINEAR, &mark);
    int fp = im->BandFmt == VIPS_FORMAT_FLOAT || im->BandFmt == VIPS_FORMAT_DOUBLE;
    return fp && (mark || im->Type == VIPS_INTERPRETATION_scRGB);
}

/* Linear float to sRGB at `depth` bits. A 1-band linear grey goes through
 * scRGB as three equal bands (libvips has no linear grey space). */
static int linear_to_srgb(VipsImage *in, int depth, VipsImage **out)
{
    int alpha = vips_image_hasalpha(in);
    int colour_bands = in->Bands - (alpha ? 1 : 0);
    VipsInterpretation target = depth == 16 ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB;
    if (colour_bands != 1) {
        VipsImage *typed;
        if (vips_copy(in, &typed, "interpretation", VIPS_INTERPRETATION_scRGB, NULL))
            return -1;
        int bad = vips_colourspace(typed, out, target, NULL);
        g_object_unref(typed);
        return bad;
    }
    VipsImage *grey = NULL, *rgb = NULL, *typed = NULL, *conv = NULL, *g = NULL, *a = NULL;
    VipsImage *three[3];
    int bad = vips_extract_band(in, &grey, 0, NULL);
    if (!bad) {
        three[0] = three[1] = three[2] = grey;
        bad = vips_bandjoin(three, &rgb, 3, NULL) ||
              vips_copy(rgb, &typed, "interpretation", VIPS_INTERPRETATION_scRGB, NULL) ||
              vips_colourspace(typed, &conv, target, NULL) ||
              vips_extract_band(conv, &g, 0, NULL);
    }
    if (!bad && alpha) {
        /* Float alpha is 0..255; a 16-bit file's is 0..65535. */
        VipsImage *af = NULL;
        bad = vips_extract_band(in, &af, in->Bands - 1, NULL) ||
              vips_linear1(af, &a, depth == 16 ? 257.0 : 1.0, 0.0, NULL);
        if (af)
            g_object_unref(af);
        VipsImage *ac = NULL;
        if (!bad)
            bad = vips_cast(a, &ac, g->BandFmt, NULL) || vips_bandjoin2(g, ac, out, NULL);
        if (ac)
            g_object_unref(ac);
    } else if (!bad) {
        bad = vips_copy(g, out, "interpretation",
                        depth == 16 ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W, NULL);
    }
    VipsImage *all[] = {grey, rgb, typed, conv, g, a};
    for (size_t i = 0; i < PK_ARRAY_LEN(all); i++)
        if (all[i])
            g_object_unref(all[i]);
    return bad;
}

/* Bring `in` to `bits` per band (8 or 16) in a gamma-encoded space. */
static int to_depth(VipsImage *in, int bits, VipsImage **out)
{
    if (is_linear(in))
        return linear_to_srgb(in, bits, out);
    VipsInterpretation i = vips_image_guess_interpretation(in);
    int grey = pk_vips_is_grey(in);
    if (i == VIPS_INTERPRETATION_CMYK) {
        if (in->BandFmt == VIPS_FORMAT_UCHAR && bits == 8)
            return vips_copy(in, out, NULL);
        if (in->BandFmt == VIPS_FORMAT_USHORT && bits == 8)
            return vips_msb(in, out, NULL);
        return vips_cast(in, out, bits == 16 ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR, NULL);
    }
    if (in->BandFmt == VIPS_FORMAT_UCHAR && bits == 8)
        return vips_copy(in, out, NULL);
    if (in->BandFmt == VIPS_FORMAT_USHORT && bits == 16)
        return vips_copy(in, out, NULL);
    if (in->BandFmt == VIPS_FORMAT_UCHAR || in->BandFmt == VIPS_FORMAT_USHORT) {
        VipsInterpretation target = grey ? (bits == 16 ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W)
                                         : (bits == 16 ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB);
        return vips_colourspace(in, out, target, NULL);
    }
    /* Other formats (float 0..255, signed): clip into range. */
    return vips_cast(in, out, bits == 16 ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR, NULL);
}

static int default_bits(VipsImage *im, save_format f)
{
    if (f == FMT_JPEG || f == FMT_WEBP)
        return 8;
    return im->BandFmt == VIPS_FORMAT_UCHAR || im->BandFmt == VIPS_FORMAT_CHAR ? 8 : 16;
}

/* Convert `in` into what the format holds. */
static pk_status prepare(pk_ctx *ctx, const char *name, VipsImage *in, save_format f, int bits,
                         VipsImage **out)
{
    VipsImage *im = g_object_ref(in), *next = NULL;
    pk_status s = PK_OK;
    /* PNG and WebP have no CMYK: through the ICC profile to sRGB. */
    if ((f == FMT_PNG || f == FMT_WEBP) && vips_image_guess_interpretation(im) == VIPS_INTERPRETATION_CMYK) {
        if ((s = pk_image_convert_colour(ctx, name, im, PK_COLOUR_SRGB8, 1, &next)) != PK_OK)
            goto done;
        g_object_unref(im);
        im = next;
    }
    if (bits == 32) {
        if (!is_linear(im)) {
            if ((s = pk_image_convert_colour(ctx, name, im, PK_COLOUR_LINEAR, 0, &next)) != PK_OK)
                goto done;
            g_object_unref(im);
            im = next;
        }
        if (im->BandFmt != VIPS_FORMAT_FLOAT) {
            if (vips_cast(im, &next, VIPS_FORMAT_FLOAT, NULL))
                goto vips_failed;
            g_object_unref(im);
            im = next;
        }
    } else {
        if (to_depth(im, bits, &next))
            goto vips_failed;
        g_object_unref(im);
        im = next;
    }
    if (f == FMT_JPEG && vips_image_hasalpha(im)) {
        if (pk_vips_flatten_white(im, &next))
            goto vips_failed;
        g_object_unref(im);
        im = next;
    }
    *out = im;
    return PK_OK;
vips_failed:
    s = pk_vips_fail(ctx, PK_ERR_INTERNAL, name, "cannot convert the image for saving");
done:
    g_object_unref(im);
    return s;
}

pk_status pk_image_save(pk_ctx *ctx, VipsImage *image, const char *path, const char *format,
                        const pk_image_save_options *opts)
{
    static const pk_image_save_options defaults;
    const pk_image_save_options *o = opts ? opts : &defaults;
    const char *name = o->name ? o->name : path;
    int fi = find_format(format);
    if (fi < 0)
        return pk_fail(ctx, PK_ERR_USAGE, name, "unknown image format '%s' (jpeg, png, tiff or webp)",
                       format ? format : "(none)");
    save_format f = formats[fi].fmt;
    int quality = o->quality ? o->quality : 90;
    if (quality < 1 || quality > 100)
        return pk_fail(ctx, PK_ERR_USAGE, name, "quality %d is outside 1..100", quality);
    int bits = o->bits ? o->bits : default_bits(image, f);
    if (!(bits == 8 || (bits == 16 && (f == FMT_PNG || f == FMT_TIFF)) || (bits == 32 && f == FMT_TIFF)))
        return pk_fail(ctx, PK_ERR_USAGE, name, "%s cannot hold %d bits per band", formats[fi].canonical,
                       bits);
    VipsImage *ready = NULL;
    pk_status s = prepare(ctx, name, image, f, bits, &ready);
    if (s != PK_OK)
        return s;
    gboolean strip = o->strip_metadata ? TRUE : FALSE;
    int bad;
    switch (f) {
    case FMT_JPEG:
        bad = vips_jpegsave(ready, path, "Q", quality, "optimize_coding", TRUE, "strip", strip, NULL);
        break;
    case FMT_PNG:
        bad = vips_pngsave(ready, path, "compression", 6, "bitdepth", bits, "strip", strip, NULL);
        break;
    case FMT_TIFF:
        bad = vips_tiffsave(ready, path, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE,
                            "predictor", bits == 32 ? VIPS_FOREIGN_TIFF_PREDICTOR_FLOAT
                                                    : VIPS_FOREIGN_TIFF_PREDICTOR_HORIZONTAL,
                            "strip", strip, NULL);
        break;
    default:
        bad = vips_webpsave(ready, path, "Q", quality, "strip", strip, NULL);
        break;
    }
    g_object_unref(ready);
    if (bad)
        return pk_vips_fail(ctx, PK_ERR_OUTPUT, name, "cannot write the image");
    return PK_OK;
}

/*
 * image_load.c — pk_image_load and pk_image_thumbnail: decode with the
 * cheapest shrink the format offers, resize, manage colour, turn upright.
 *
 * The libvips pipeline is built lazily and run once, sequentially, into
 * memory; that single run is where a truncated or corrupt file shows, and
 * it is reported there (libvips' fail_on) instead of being handed on as a
 * half-grey picture.
 */
#include "media/internal.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include <vips/vips.h>

#include <postkit/image.h>

/* libvips treats these as damage: truncated data and decoder errors. A
 * JPEG whose scan data is garbled but complete raises only a libjpeg
 * warning, which libvips 8.14 cannot fail on without also refusing the
 * harmless warnings many camera files produce. */
#define PK_FAIL_ON VIPS_FAIL_ON_ERROR

/* The JPEG DCT scale (1, 2, 4 or 8) for shrinking by `shrink`. The DCT
 * shrink is a box filter, so a factor of two is left for the Lanczos
 * resize that follows, which keeps fine detail from aliasing. */
static int jpeg_factor(double shrink)
{
    if (shrink >= 16)
        return 8;
    if (shrink >= 8)
        return 4;
    if (shrink >= 4)
        return 2;
    return 1;
}

static int longest_side(VipsImage *im)
{
    return im->Xsize > im->Ysize ? im->Xsize : im->Ysize;
}

/* Open `path` with a known loader (its class name from pk_image_loader):
 * libvips' generic open would look for the loader again, which costs as
 * much as reading a small JPEG's header (every loader sniffs the file). */
static VipsImage *open_with(const char *loader, const char *path, int page, int fail)
{
    const char *nick = vips_nickname_find(g_type_from_name(loader));
    VipsImage *im = NULL;
    if (!nick)
        return vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    int bad = page > 0 ? vips_call(nick, path, &im, "page", page, "access", VIPS_ACCESS_SEQUENTIAL,
                                   "fail_on", fail ? PK_FAIL_ON : VIPS_FAIL_ON_NONE, NULL)
                       : vips_call(nick, path, &im, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                   fail ? PK_FAIL_ON : VIPS_FAIL_ON_NONE, NULL);
    if (bad && im) {
        g_object_unref(im);
        im = NULL;
    }
    return im;
}

/* Open `path` lazily with `loader`, shrinking on load where the format
 * allows, at a size no smaller than max_size on the longest side (when
 * given). */
static pk_status decode(pk_ctx *ctx, const char *path, const char *loader, const pk_image_options *o,
                        VipsImage **out)
{
    VipsImage *head = open_with(loader, path, 0, 0);
    if (!head)
        return pk_vips_fail(ctx, PK_ERR_INPUT, path, "not a readable image");
    int pages = vips_image_get_n_pages(head);
    int longest = longest_side(head);
    g_object_unref(head);
    if (o->page >= pages)
        return pages == 1 ? pk_fail(ctx, PK_ERR_INPUT, path, "has only one page (asked for page %d)", o->page)
                          : pk_fail(ctx, PK_ERR_INPUT, path, "has %d pages (asked for page %d)", pages, o->page);
    double shrink = o->max_size > 0 ? (double)longest / o->max_size : 1.0;

    VipsImage *im = NULL;
    int bad;
    if (strstr(loader, "Jpeg")) {
        int factor = o->draft ? (shrink >= 8 ? 8 : shrink >= 4 ? 4 : shrink >= 2 ? 2 : 1)
                              : jpeg_factor(shrink);
        bad = vips_jpegload(path, &im, "shrink", factor, "access",
                            VIPS_ACCESS_SEQUENTIAL, "fail_on", PK_FAIL_ON, NULL);
    } else if (strstr(loader, "Webp")) {
        /* libwebp scales while decoding (an area filter). */
        bad = vips_webpload(path, &im, "scale", shrink > 1 ? 1.0 / shrink : 1.0, "page", o->page,
                            "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", PK_FAIL_ON, NULL);
    } else if (strstr(loader, "Heif")) {
        /* A HEIC's embedded thumbnail is the shrink-on-load when it is at
         * least as big as asked. */
        int thumbnail = 0;
        if (o->max_size > 0) {
            VipsImage *t = NULL;
            if (vips_heifload(path, &t, "thumbnail", TRUE, "page", o->page, NULL) == 0)
                thumbnail = longest_side(t) >= o->max_size && longest_side(t) < longest;
            vips_error_clear();
            if (t)
                g_object_unref(t);
        }
        bad = vips_heifload(path, &im, "thumbnail", thumbnail, "page", o->page, "access",
                            VIPS_ACCESS_SEQUENTIAL, "fail_on", PK_FAIL_ON, NULL);
    } else {
        im = open_with(loader, path, o->page, 1);
        bad = !im;
    }
    if (bad) {
        if (im)
            g_object_unref(im);
        return pk_vips_fail(ctx, PK_ERR_INPUT, path, "not a readable image");
    }
    *out = im;
    return PK_OK;
}

int pk_vips_fit(VipsImage *in, int max_size, VipsImage **out)
{
    int longest = longest_side(in);
    if (max_size <= 0 || longest <= max_size) {
        *out = g_object_ref(in);
        return 0;
    }
    double scale = (double)max_size / longest;
    if (!vips_image_hasalpha(in))
        return vips_resize(in, out, scale, NULL);
    /* Premultiplied, so transparent pixels lend no colour to their
     * neighbours; the result keeps the source's depth. */
    double max_alpha = pk_vips_max_alpha(in);
    VipsImage *pre = NULL, *small = NULL, *un = NULL;
    int bad = vips_premultiply(in, &pre, "max_alpha", max_alpha, NULL) ||
              vips_resize(pre, &small, scale, NULL) ||
              vips_unpremultiply(small, &un, "max_alpha", max_alpha, NULL) ||
              vips_cast(un, out, in->BandFmt, NULL);
    if (pre)
        g_object_unref(pre);
    if (small)
        g_object_unref(small);
    if (un)
        g_object_unref(un);
    return bad ? -1 : 0;
}

int pk_vips_upright(VipsImage **im)
{
    int orientation = 1;
    if (vips_image_get_typeof(*im, VIPS_META_ORIENTATION))
        vips_image_get_int(*im, VIPS_META_ORIENTATION, &orientation);
    if (orientation >= 2 && orientation <= 8) {
        VipsImage *turned, *mem;
        if (vips_autorot(*im, &turned, NULL))
            return -1;
        mem = pk_vips_fresh_memory(turned);
        g_object_unref(turned);
        if (!mem)
            return -1;
        g_object_unref(*im);
        *im = mem;
    }
    /* The EXIF block written on save is rebuilt from this field: 1 means
     * no viewer turns the picture a second time. */
    vips_image_set_int(*im, VIPS_META_ORIENTATION, 1);
    return 0;
}

/* Move to the next stage of a pipeline: *im is released, `next` takes
 * its place. */
static void advance(VipsImage **im, VipsImage *next)
{
    g_object_unref(*im);
    *im = next;
}

/* Resize, flatten, convert colour, then run the pipeline into memory and
 * turn the result upright. Takes ownership of `im`. */
static pk_status finish(pk_ctx *ctx, const char *path, const pk_image_options *o, int raw,
                        VipsImage *im, VipsImage **out)
{
    VipsImage *next = NULL;
    pk_status s;
    if (o->draft && o->max_size > 0 && longest_side(im) < 2 * o->max_size) {
        /* Shrunk on load as far as asked: delivered as it is. */
    } else if (o->draft && o->max_size > 0 && !vips_image_hasalpha(im)) {
        if (vips_resize(im, &next, (double)o->max_size / longest_side(im), "kernel",
                        VIPS_KERNEL_LINEAR, NULL))
            goto vips_failed;
        advance(&im, next);
    } else {
        if (pk_vips_fit(im, o->max_size, &next))
            goto vips_failed;
        advance(&im, next);
    }
    /* Flatten in the source space (white is known there), except CMYK,
     * whose white is no ink: that waits until after conversion. */
    int cmyk = vips_image_guess_interpretation(im) == VIPS_INTERPRETATION_CMYK;
    if (o->flatten && vips_image_hasalpha(im) && !cmyk) {
        if (pk_vips_flatten_white(im, &next))
            goto vips_failed;
        advance(&im, next);
    }
    if (raw && o->colour == PK_COLOUR_LINEAR) {
        /* LibRaw developed linear 16-bit: only the scale changes. */
        VipsImage *scaled;
        if (vips_linear1(im, &scaled, 1.0 / 65535.0, 0.0, NULL))
            goto vips_failed;
        int bad = vips_copy(scaled, &next, "interpretation", VIPS_INTERPRETATION_scRGB, NULL);
        g_object_unref(scaled);
        if (bad)
            goto vips_failed;
        vips_image_set_int(next, PK_META_LINEAR, 1);
    } else if ((s = pk_image_convert_colour(ctx, path, im, o->colour, o->rgb, &next)) != PK_OK) {
        g_object_unref(im);
        return s;
    }
    advance(&im, next);
    if (o->flatten && vips_image_hasalpha(im)) {
        if (pk_vips_flatten_white(im, &next))
            goto vips_failed;
        advance(&im, next);
    }
    int upright = !o->keep_orientation && !raw;
    if (o->stream && !upright) {
        *out = im;
        return PK_OK;
    }
    /* The one run of the pipeline: decode errors surface here. */
    if (!(next = pk_vips_fresh_memory(im))) {
        g_object_unref(im);
        return pk_vips_fail(ctx, PK_ERR_INPUT, path, "corrupt or truncated image");
    }
    advance(&im, next);
    /* LibRaw has already applied a RAW file's flip. */
    if (upright && pk_vips_upright(&im))
        goto vips_failed;
    *out = im;
    return PK_OK;

vips_failed:
    g_object_unref(im);
    return pk_vips_fail(ctx, PK_ERR_INTERNAL, path, "image processing failed");
}

/* Develop or decode, then finish: the body of pk_image_load once the
 * options are checked. `loader` is NULL for a camera RAW file. */
static pk_status load(pk_ctx *ctx, const char *path, const char *loader, const pk_image_options *o,
                      VipsImage **out)
{
    VipsImage *im = NULL;
    pk_status s;
    if (!loader && o->page > 0)
        return pk_fail(ctx, PK_ERR_INPUT, path, "has only one page (asked for page %d)", o->page);
    if (!loader)
        s = pk_raw_develop(ctx, path, &o->raw, o->colour == PK_COLOUR_LINEAR, o->max_size,
                           o->keep_orientation, &im);
    else
        s = decode(ctx, path, loader, o, &im);
    if (s != PK_OK)
        return s;
    return finish(ctx, path, o, !loader, im, out);
}

pk_status pk_image_load(pk_ctx *ctx, const char *path, const pk_image_options *opts, VipsImage **out)
{
    static const pk_image_options defaults;
    const pk_image_options *o = opts ? opts : &defaults;
    if (o->max_size < 0 || o->page < 0 || (unsigned)o->colour > PK_COLOUR_LINEAR)
        return pk_fail(ctx, PK_ERR_USAGE, path, "invalid image options (max_size %d, page %d, colour %d)",
                       o->max_size, o->page, (int)o->colour);
    pk_status s = pk_raw_check_options(ctx, &o->raw);
    if (s == PK_OK)
        s = pk_check_input_file(ctx, path, NULL);
    if (s == PK_OK)
        s = pk_image_libs_start(ctx, path);
    if (s != PK_OK)
        return s;
    const char *loader = NULL;
    if (!pk_has_raw_extension(path) && (s = pk_image_loader(ctx, path, &loader)) != PK_OK)
        return s;
    return load(ctx, path, loader, o, out);
}

/* libvips' thumbnail, for what the loader path does not cover: pyramids
 * (TIFF, JPEG 2000) pick their nearest level. */
static pk_status vips_thumb(pk_ctx *ctx, const char *path, const char *loader, int size,
                            VipsImage **out)
{
    /* An embedded profile is used only when it fits (greyscale JPEGs with
     * an RGB profile exist); without one, sRGB needs no ICC transform. */
    VipsImage *head = open_with(loader, path, 0, 0);
    if (!head)
        return pk_vips_fail(ctx, PK_ERR_INPUT, path, "not a readable image");
    int icc = pk_vips_usable_icc(head);
    g_object_unref(head);
    VipsImage *t = NULL;
    if (vips_thumbnail(path, &t, size, "height", size, "size", VIPS_SIZE_DOWN, "fail_on", PK_FAIL_ON,
                       icc ? "export_profile" : NULL, "srgb", NULL))
        return pk_vips_fail(ctx, PK_ERR_INPUT, path, "not a readable image");
    /* Grey pictures become sRGB too; decoding happens here, where damage
     * shows. */
    VipsImage *srgb = NULL, *fixed = NULL;
    if (vips_colourspace(t, &srgb, VIPS_INTERPRETATION_sRGB, NULL)) {
        g_object_unref(t);
        return pk_vips_fail(ctx, PK_ERR_INTERNAL, path, "image processing failed");
    }
    g_object_unref(t);
    fixed = pk_vips_fresh_memory(srgb);
    g_object_unref(srgb);
    if (!fixed)
        return pk_vips_fail(ctx, PK_ERR_INPUT, path, "corrupt or truncated image");
    /* The pixels are upright now, and a profile other than sRGB is gone. */
    vips_image_set_int(fixed, VIPS_META_ORIENTATION, 1);
    if (!icc)
        vips_image_remove(fixed, VIPS_META_ICC_NAME);
    *out = fixed;
    return PK_OK;
}

pk_status pk_image_thumbnail(pk_ctx *ctx, const char *path, int size, VipsImage **out)
{
    if (size < 1)
        return pk_fail(ctx, PK_ERR_USAGE, path, "thumbnail size must be at least 1 pixel");
    pk_status s = pk_check_input_file(ctx, path, NULL);
    if (s == PK_OK)
        s = pk_image_libs_start(ctx, path);
    if (s != PK_OK)
        return s;
    pk_image_options o = {.max_size = size, .colour = PK_COLOUR_SRGB8, .rgb = 1};
    if (pk_has_raw_extension(path)) {
        VipsImage *preview = NULL;
        if ((s = pk_raw_preview(ctx, path, size, &preview)) != PK_OK)
            return s;
        if (preview) {
            *out = preview;
            return PK_OK;
        }
        return load(ctx, path, NULL, &o, out);
    }
    const char *loader;
    if ((s = pk_image_loader(ctx, path, &loader)) != PK_OK)
        return s;
    if (strstr(loader, "Tiff") || strstr(loader, "Jp2k"))
        return vips_thumb(ctx, path, loader, size, out);
    /* The loader path is libvips' thumbnail recipe (shrink-on-load,
     * premultiplied Lanczos, ICC to sRGB, upright) without looking for the
     * loader twice more, and it converts CMYK through the file's own
     * profile where libvips 8.14's thumbnail uses its built-in one. */
    return load(ctx, path, loader, &o, out);
}

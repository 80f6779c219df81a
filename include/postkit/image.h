/*
 * image.h — photos in and out: load any picture postkit reads (JPEG, PNG,
 * TIFF, WebP, HEIC/AVIF, GIF, JPEG XL, camera RAW) for processing, make
 * thumbnails fast, and save results.
 *
 * Images are libvips VipsImage objects (a reference-counted GObject: free
 * with g_object_unref). libvips does the decoding, resizing and colour
 * management; LibRaw develops camera RAW files; lcms2 converts through
 * embedded ICC profiles into linear light.
 *
 * Every image a load function returns is fully decoded: a truncated or
 * corrupt file fails there with PK_ERR_INPUT and a one-line message naming
 * the file, never later as a half-grey picture. Reading its pixels cannot
 * fail. Memory is that of the delivered image (width x height x bands x
 * bytes per band), so ask for a max_size when full resolution is not needed.
 *
 * Threading: every function may be called from several threads at once,
 * each with its own pk_ctx (see pk_ctx_new_child); pk_init() must have run.
 */
#ifndef POSTKIT_IMAGE_H
#define POSTKIT_IMAGE_H

#include <vips/vips.h>
#include <postkit/postkit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Integer metadata set to 1 on images in linear light (PK_COLOUR_LINEAR).
 * libvips has no linear grey interpretation, so a 1-band linear image is
 * MULTIBAND and this mark is what says it is linear. */
#define PK_META_LINEAR "postkit-linear"

/* The pixels delivered by pk_image_load. */
typedef enum pk_image_colour {
    /* As stored: the file's bands, bit depth and interpretation (CMYK stays
     * CMYK, 16-bit stays 16-bit); an embedded ICC profile stays attached as
     * metadata. A camera RAW file is developed to 16-bit sRGB. */
    PK_COLOUR_KEEP = 0,
    /* sRGB, 8 bits per band: converted through the embedded ICC profile
     * (CMYK JPEGs too), or assumed sRGB when there is none. */
    PK_COLOUR_SRGB8,
    /* sRGB, 16 bits per band (libvips RGB16 / GREY16), no 8-bit step. */
    PK_COLOUR_SRGB16,
    /* Linear light, float, sRGB primaries and D65 white (libvips scRGB;
     * 1-band grey is MULTIBAND, see PK_META_LINEAR): 0..1 is the sRGB
     * gamut, values outside it are kept (a wide-gamut ICC profile gives
     * negative or >1 components). Converted from the source bit depth
     * directly through the embedded ICC profile (lcms2), or the sRGB curve
     * when there is none: 16-bit sources keep their precision. */
    PK_COLOUR_LINEAR
} pk_image_colour;

/* White balance for developing camera RAW files. */
typedef enum pk_raw_wb {
    PK_RAW_WB_CAMERA = 0,  /* as shot (the camera's multipliers); daylight when absent */
    PK_RAW_WB_AUTO,        /* grey-world estimate over the whole picture */
    PK_RAW_WB_DAYLIGHT,    /* the camera's daylight multipliers (no per-shot correction) */
    PK_RAW_WB_CUSTOM       /* the multipliers in pk_raw_options.wb_multipliers */
} pk_raw_wb;

/* How a camera RAW file is developed (ignored for other files). A
 * zero-initialised struct gives the defaults. Corrections asked for here
 * are applied to the linear sensor data, before demosaicing, which is
 * where white balance and exposure belong. */
typedef struct pk_raw_options {
    pk_raw_wb wb;
    /* PK_RAW_WB_CUSTOM: multipliers for R, G, B, G2 (G2 0: same as G).
     * Only their ratios matter. */
    double wb_multipliers[4];
    /* Exposure change in stops, -2..+3 (0: none): a linear gain on the raw
     * data; highlights pushed past the white point clip. */
    double exposure;
    /* 1: dcraw's automatic brightness (the brightest 1% of pixels clip),
     * the look of a straight camera JPEG. 0 (default): a fixed scale where
     * the sensor's white point is 1.0, so exposures compare across files. */
    int auto_bright;
} pk_raw_options;

/* Options of pk_image_load. A zero-initialised struct (or NULL) gives the
 * defaults: full size, rotated upright, colours as stored, alpha kept,
 * first page, RAW as shot. */
typedef struct pk_image_options {
    /* Longest side in pixels of the delivered image; 0 for full size. The
     * image is never enlarged. Decoding shrinks where the format allows it
     * (JPEG DCT scaling, WebP scaled decode, a HEIC's embedded thumbnail
     * when it is big enough, RAW half-size demosaicing), then a Lanczos
     * resize (alpha premultiplied) gives the exact size. */
    int max_size;
    /* 1: speed before sharpness, for analysis (face detection) rather than
     * display. Decoding shrinks as far as the format allows while the
     * longest side stays at least max_size (JPEG DCT scaling by up to 8),
     * and that size is delivered as is: the longest side ends between
     * max_size and twice it. A format without shrink-on-load that is
     * larger than that is resized (bilinear) to max_size. */
    int draft;
    /* 0 (default): turn the pixels upright by the EXIF orientation (or the
     * RAW file's flip) and set the orientation to 1, so nothing downstream
     * rotates twice. 1: pixels as stored; the "orientation" metadata tells
     * how to display them. */
    int keep_orientation;
    pk_image_colour colour;
    /* With PK_COLOUR_SRGB8/SRGB16/LINEAR, greyscale pictures are delivered
     * as 3 bands too (by default they stay 1 band, + alpha). */
    int rgb;
    /* Composite alpha over white and drop the alpha band. */
    int flatten;
    /* Page of a multi-page file (TIFF, GIF/WebP animation, HEIC
     * collection), 0-based. Only that page is decoded. */
    int page;
    pk_raw_options raw;
    /* 1: the pixels are decoded as the returned image is read (a libvips
     * sequential pipeline, no full copy in memory): for one pass from file
     * to file. A damaged file then fails where it is read (a save), not
     * here. Ignored when the pixels must be turned upright or the colour
     * conversion needs the whole picture. */
    int stream;
} pk_image_options;

/* Load `path` for processing. `opts` may be NULL (defaults).
 *
 * On success *out is a new reference the caller releases with
 * g_object_unref; its pixels are in memory (see the top of this file).
 * Grey images stay 1 band (+ alpha) unless opts->rgb. An alpha band, when
 * kept, is 0..255 for 8-bit and float images (libvips' convention, also in
 * PK_COLOUR_LINEAR) and 0..65535 for 16-bit ones. An ICC profile stays attached
 * only while it still describes the pixels (sRGB outputs carry the sRGB
 * profile when converted through one; linear output carries none).
 *
 * Errors: PK_ERR_INPUT for a missing/unreadable file, a file that is not
 * an image postkit reads (video, document, text), a truncated or corrupt
 * picture, a page that does not exist; PK_ERR_USAGE for options out of
 * range (negative max_size, RAW exposure outside -2..+3); PK_ERR_INTERRUPTED
 * when the context was interrupted during a RAW develop; PK_ERR_INTERNAL
 * when memory is exhausted. *out is untouched on error. */
pk_status pk_image_load(pk_ctx *ctx, const char *path, const pk_image_options *opts,
                        VipsImage **out);

/* How the pixels of `im` (8-bit, 3 bands, as loaded with PK_COLOUR_KEEP)
 * become linear light with sRGB primaries and D65 white, when its embedded
 * ICC profile is an RGB "matrix/shaper" one (sRGB, Display P3, Adobe RGB,
 * ProPhoto...): linear[o] = sum over c of matrix[3o + c] * curves[256c + v_c],
 * v_c being band c's 8-bit level. Values outside 0..1 (colours outside the
 * sRGB gamut) are part of the answer. Checked against lcms2's own
 * transform on a grid of mixed colours. Returns 1 when `curves` and
 * `matrix` are filled; 0 when `im` has no such profile (none, CMYK, grey,
 * LUT-based) or is not 8-bit RGB: then convert with pk_image_load. Lets a
 * pixel operation fold the conversion into its own per-pixel work instead
 * of a separate ICC pass. */
int pk_image_profile_to_linear(VipsImage *im, float curves[3 * 256], double matrix[9]);

/* The fastest correct thumbnail of `path`: longest side `size` pixels (a
 * smaller picture is not enlarged), rotated upright, 8-bit sRGB with 3 bands
 * (+ alpha when the file has one), converted through an embedded ICC
 * profile (one that does not fit the pixels is ignored with a warning).
 * Decoding shrinks on load as libvips' thumbnail does (JPEG DCT scaling,
 * WebP scaled decode, HEIC thumbnail, TIFF/JPEG 2000 pyramid levels), then
 * a premultiplied Lanczos resize. A camera RAW file gives its embedded
 * preview when that is at least `size` on its longest side, else a
 * half-size develop. The first page of a multi-page file.
 *
 * On success *out is a new in-memory reference (g_object_unref). Errors as
 * for pk_image_load; PK_ERR_USAGE when size < 1. */
pk_status pk_image_thumbnail(pk_ctx *ctx, const char *path, int size, VipsImage **out);

/* Options of pk_image_save. Zero-initialised (or NULL) means: quality 90,
 * metadata kept, bit depth from the image. */
typedef struct pk_image_save_options {
    int quality;         /* JPEG/WebP quality 1..100; 0: 90 */
    int strip_metadata;  /* 1: write no EXIF, XMP, IPTC or ICC profile */
    /* Bits per band in the file: 0 picks from the image (16 when it has more
     * than 8 bits and the format holds 16: PNG, TIFF; else 8); 8 or 16;
     * 32 writes linear-light float (TIFF only). */
    int bits;
    /* Name to use in error messages (the final path of a safe output);
     * NULL: `path`. */
    const char *name;
    /* JPEG: 1 writes the standard Huffman tables in one pass; 0 (default)
     * optimises them: ~4% smaller, but libjpeg then holds the whole
     * picture's coefficients (~150 MB at 24 MP) and takes 2-3x the CPU. */
    int standard_huffman;
} pk_image_save_options;

/* Write `image` to `path` — normally pk_output_tmp_path() of a safe output,
 * whose name has no usable extension — as `format`: "jpeg" (or "jpg"),
 * "png", "tiff" (or "tif") or "webp", case-insensitive. The image is
 * converted as the format needs: linear float to sRGB, depth to `bits`,
 * alpha flattened on white for JPEG, CMYK to sRGB for PNG and WebP.
 * `image` itself is not modified. `opts` may be NULL.
 *
 * Errors: PK_ERR_USAGE for an unknown format, a quality outside 1..100 or a
 * bit depth the format cannot hold; PK_ERR_OUTPUT when writing fails (disk
 * full, folder gone), naming opts->name or `path`. */
pk_status pk_image_save(pk_ctx *ctx, VipsImage *image, const char *path, const char *format,
                        const pk_image_save_options *opts);

/* The format name pk_image_save accepts for the extension of `path`
 * ("photo.JPG" gives "jpeg"): *format points to a static string. Fails with
 * PK_ERR_USAGE when the extension is missing or not one of the saveable
 * formats. */
pk_status pk_image_format_from_path(pk_ctx *ctx, const char *path, const char **format);

#ifdef __cplusplus
}
#endif
#endif

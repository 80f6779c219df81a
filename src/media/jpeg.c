/*
 * jpeg.c — the fast path for JPEG, the common photo, shared by the catalogue
 * (index: hashes and decode from one read) and faces (detector input): one
 * libjpeg(-turbo) decode, from bytes already in memory, at the largest DCT
 * scale (1/8, 1/4, 1/2) that still leaves the longest side at least the
 * size asked for. At 1/8 the decoder skips the inverse DCT and most of the
 * colour work, so a 12-megapixel photo costs its entropy decoding and
 * little else — and none of libvips' per-image threads and region buffers.
 * Also the thumbnail's JPEG encoder, shared by every format.
 */
#include "media/internal.h"
#include "media/jpeg.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jpeglib.h>
#include <libexif/exif-data.h>

/* libjpeg reports errors by calling error_exit, which must not return:
 * jump back to the caller. Warnings (corrupt or truncated data) are
 * counted, so that such files go to the strict decoder instead. */
typedef struct jpeg_guard {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    int warnings;
} jpeg_guard;

static void guard_error_exit(j_common_ptr c)
{
    longjmp(((jpeg_guard *)c->err)->jump, 1);
}

static void guard_emit_message(j_common_ptr c, int level)
{
    if (level < 0)
        ((jpeg_guard *)c->err)->warnings++;
}

static void guard_init(jpeg_guard *g)
{
    jpeg_std_error(&g->mgr);
    g->mgr.error_exit = guard_error_exit;
    g->mgr.emit_message = guard_emit_message;
    g->warnings = 0;
}

/* The EXIF orientation (1..8) in an APP1 marker; 1 when absent. */
static int exif_orientation(const jpeg_saved_marker_ptr markers)
{
    for (jpeg_saved_marker_ptr m = markers; m; m = m->next) {
        if (m->marker != JPEG_APP0 + 1 || m->data_length < 6 || memcmp(m->data, "Exif\0\0", 6) != 0)
            continue;
        ExifData *ed = exif_data_new_from_data(m->data, m->data_length);
        if (!ed)
            return 1;
        int o = 1;
        ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
        if (e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->data)
            o = exif_get_short(e->data, exif_data_get_byte_order(ed));
        exif_data_unref(ed);
        return o >= 1 && o <= 8 ? o : 1;
    }
    return 1;
}

/* Turn an RGB picture upright by its EXIF orientation: a new buffer in
 * *out (or NULL when out of memory); sides swapped for 5..8. */
static uint8_t *orient_rgb(const uint8_t *in, int w, int h, int orientation, int *ow, int *oh)
{
    int swap = orientation >= 5;
    *ow = swap ? h : w;
    *oh = swap ? w : h;
    uint8_t *out = malloc((size_t)w * h * 3);
    if (!out)
        return NULL;
    for (int y = 0; y < *oh; y++)
        for (int x = 0; x < *ow; x++) {
            int sx, sy;
            switch (orientation) {
            case 2: sx = w - 1 - x; sy = y; break;
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;
            case 4: sx = x; sy = h - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = h - 1 - x; break;
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;
            case 8: sx = w - 1 - y; sy = x; break;
            default: sx = x; sy = y; break;
            }
            memcpy(out + ((size_t)y * *ow + x) * 3, in + ((size_t)sy * w + sx) * 3, 3);
        }
    return out;
}

int pk_is_jpeg_name(const char *path)
{
    const char *ext = pk_path_extension(path);
    return strcasecmp(ext, "jpg") == 0 || strcasecmp(ext, "jpeg") == 0 || strcasecmp(ext, "jpe") == 0;
}

int pk_is_jpeg_data(const void *data, size_t len)
{
    const unsigned char *p = data;
    return len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF;
}

/* Does a saved APP2 marker hold (a part of) an ICC profile? */
static int has_icc(const jpeg_saved_marker_ptr markers)
{
    for (jpeg_saved_marker_ptr m = markers; m; m = m->next)
        if (m->marker == JPEG_APP0 + 2 && m->data_length >= 12 && memcmp(m->data, "ICC_PROFILE\0", 12) == 0)
            return 1;
    return 0;
}

/* Decode into *rgb (the whole body: the caller frees). The DCT scale is
 * the largest leaving the longest side at least min_side when min_side >
 * 0, else the one pk_image_load's draft picks for -min_side (the largest
 * of 8, 4, 2 that the longest side is at least that many times); the
 * latter also refuses an embedded ICC profile. Returns 0, or -1 when the
 * stream is not for this path (see the contract in internal.h). */
static int decode(const void *data, size_t len, int min_side, pk_rgb_picture *out)
{
    struct jpeg_decompress_struct d;
    jpeg_guard g;
    guard_init(&g);
    d.err = &g.mgr;
    uint8_t *volatile pixels = NULL;
    if (setjmp(g.jump)) {
        free(pixels);
        jpeg_destroy_decompress(&d);
        return -1;
    }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, data, (unsigned long)len);
    jpeg_save_markers(&d, JPEG_APP0 + 1, 0xFFFF);
    if (min_side < 0)
        jpeg_save_markers(&d, JPEG_APP0 + 2, 0xFFFF);
    jpeg_read_header(&d, TRUE);
    /* The saved markers live until jpeg_finish_decompress. */
    volatile int orientation = exif_orientation(d.marker_list);
    /* CMYK and YCCK need colour management: the general path has it. */
    if ((d.jpeg_color_space != JCS_YCbCr && d.jpeg_color_space != JCS_GRAYSCALE &&
         d.jpeg_color_space != JCS_RGB) ||
        (min_side < 0 && has_icc(d.marker_list))) {
        jpeg_destroy_decompress(&d);
        return -1;
    }
    unsigned full_w = d.image_width, full_h = d.image_height;
    unsigned longest = full_w > full_h ? full_w : full_h;
    unsigned denom = 8;
    if (min_side > 0)
        while (denom > 1 && (longest + denom - 1) / denom < (unsigned)min_side)
            denom /= 2;
    else
        while (denom > 1 && longest < denom * (unsigned)-min_side)
            denom /= 2;
    d.scale_num = 1;
    d.scale_denom = denom;
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    int w = (int)d.output_width, h = (int)d.output_height;
    if (d.output_components != 3 || w < 1 || h < 1)
        longjmp(g.jump, 1);
    pixels = malloc((size_t)w * h * 3);
    if (!pixels)
        longjmp(g.jump, 1);
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = pixels + (size_t)d.output_scanline * w * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    if (g.warnings) {
        free(pixels);
        return -1;
    }
    if (min_side < 0) {
        /* libvips' shrink-on-load drops the last, partial block of a side
         * that is not a multiple of the scale: the same pixels, cropped. */
        int cw = (int)(full_w / denom), ch = (int)(full_h / denom);
        if (cw >= 1 && ch >= 1 && (cw < w || ch < h)) {
            for (int y = 1; y < ch; y++)
                memmove(pixels + (size_t)y * cw * 3, pixels + (size_t)y * w * 3, (size_t)cw * 3);
            w = cw;
            h = ch;
        }
    }
    if (orientation != 1) {
        int ow, oh;
        uint8_t *turned = orient_rgb(pixels, w, h, orientation, &ow, &oh);
        free(pixels);
        if (!turned)
            return -1;
        pixels = turned;
        w = ow;
        h = oh;
    }
    out->px = pixels;
    out->width = w;
    out->height = h;
    return 0;
}

int pk_jpeg_decode_small(const void *data, size_t len, int min_side, pk_rgb_picture *out)
{
    memset(out, 0, sizeof *out);
    if (!pk_is_jpeg_data(data, len))
        return -1;
    return decode(data, len, min_side, out);
}

pk_status pk_jpeg_load_draft(pk_ctx *ctx, const char *path, int max_size, uint8_t **px, int *width,
                             int *height)
{
    *px = NULL;
    *width = *height = 0;
    if (!pk_is_jpeg_name(path) || max_size < 1)
        return PK_OK;
    unsigned char *data = NULL;
    size_t len = 0;
    pk_status st = pk_read_content(ctx, path, PK_READ_ONCE_MAX, &data, &len);
    if (st != PK_OK || !data)
        return st;
    pk_rgb_picture pic;
    memset(&pic, 0, sizeof pic);
    if (pk_is_jpeg_data(data, len) && decode(data, len, -max_size, &pic) == 0) {
        *px = pic.px;
        *width = pic.width;
        *height = pic.height;
    }
    free(data);
    return PK_OK;
}

/* Encode into an open file; 0 or -1. */
static int encode(FILE *f, const pk_rgb_picture *im, int quality)
{
    struct jpeg_compress_struct c;
    jpeg_guard g;
    guard_init(&g);
    c.err = &g.mgr;
    if (setjmp(g.jump)) {
        jpeg_destroy_compress(&c);
        return -1;
    }
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)im->width;
    c.image_height = (JDIMENSION)im->height;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = im->px + (size_t)c.next_scanline * im->width * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return 0;
}

pk_status pk_jpeg_write_file(pk_ctx *ctx, const pk_rgb_picture *im, int quality, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot create: %s", strerror(errno));
    int rc = encode(f, im, quality);
    int e = ferror(f) ? EIO : 0;
    if (fclose(f) != 0 && !e)
        e = errno;
    if (rc != 0 || e)
        return pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot write JPEG%s%s", e ? ": " : "", e ? strerror(e) : "");
    return PK_OK;
}

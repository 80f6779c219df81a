/*
 * frame_convert.c — the two views of a video frame analysers ask for: 8-bit
 * luma with the coded levels kept, and full-range RGB.
 *
 * Why this shape: most detectors (black, freeze, flash, cuts) only need luma,
 * and for the common 8-bit YUV frames that is the decoder's own Y plane, so
 * it is handed out without a copy. Deeper YUV is shifted down into a buffer
 * kept from frame to frame (a shift keeps the coded levels: 10-bit 64..940
 * becomes 16..235, which a legality check needs; swscale would rescale the
 * range). Packed or big-endian layouts go through libavutil's generic
 * component reader, RGB through swscale. RGB output always goes through
 * swscale with the stream's matrix and range; contexts and buffers are
 * cached and rebuilt only when the frame geometry or format changes.
 */
#include "media/internal.h"

#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

struct pk_frame_views {
    uint8_t *luma;
    size_t luma_size;
    uint16_t *row;            /* one line of components for the generic reader */
    int row_width;
    struct SwsContext *gray_sws;
    struct SwsContext *rgb_sws;
    int rgb_matrix, rgb_range; /* colour details last set on rgb_sws */
    uint8_t *rgb;
    size_t rgb_size;
    /* cached results for the current frame */
    const uint8_t *luma_plane;
    int luma_stride;
    int rgb_stride;
    int have_luma, have_rgb;
};

pk_frame_views *pk_frame_views_new(void)
{
    pk_frame_views *v = calloc(1, sizeof *v);
    if (v)
        v->rgb_matrix = v->rgb_range = -1;
    return v;
}

void pk_frame_views_free(pk_frame_views *v)
{
    if (!v)
        return;
    av_free(v->luma);
    av_free(v->row);
    av_free(v->rgb);
    sws_freeContext(v->gray_sws);
    sws_freeContext(v->rgb_sws);
    free(v);
}

void pk_frame_views_reset(pk_frame_views *v)
{
    if (v)
        v->have_luma = v->have_rgb = 0;
}

static int aligned_stride(int width, int bytes_per_pixel)
{
    return (width * bytes_per_pixel + 63) & ~63;
}

/* Make `*buf` hold at least `size` bytes. */
static int reserve(uint8_t **buf, size_t *have, size_t size)
{
    if (size <= *have)
        return 0;
    av_free(*buf);
    *buf = av_malloc(size);
    *have = *buf ? size : 0;
    return *buf ? 0 : -1;
}

/* The swscale matrix for a frame: the stream's when it says, else the
 * customary guess (BT.709 for HD, BT.601 below). */
static int sws_matrix(const AVFrame *f)
{
    switch (f->colorspace) {
    case AVCOL_SPC_BT709: return SWS_CS_ITU709;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020;
    case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M;
    case AVCOL_SPC_FCC: return SWS_CS_FCC;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M: return SWS_CS_ITU601;
    default: return f->height >= 720 ? SWS_CS_ITU709 : SWS_CS_ITU601;
    }
}

static int is_full_range(const AVFrame *f, const AVPixFmtDescriptor *d)
{
    if (d->flags & AV_PIX_FMT_FLAG_RGB)
        return 1;
    return f->color_range == AVCOL_RANGE_JPEG || (d->name && strncmp(d->name, "yuvj", 4) == 0);
}

/* Convert with swscale into a packed buffer of `dst_format`; the context
 * is kept and its colour details set only when they change. */
static int sws_convert(struct SwsContext **ctx, int *last_matrix, int *last_range, const AVFrame *f,
                       enum AVPixelFormat dst_format, uint8_t *dst, int dst_stride)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    struct SwsContext *c = sws_getCachedContext(*ctx, f->width, f->height, (enum AVPixelFormat)f->format,
                                                f->width, f->height, dst_format,
                                                SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT,
                                                NULL, NULL, NULL);
    if (!c)
        return -1;
    int changed = c != *ctx;
    *ctx = c;
    int matrix = sws_matrix(f), range = is_full_range(f, d);
    if (changed || matrix != *last_matrix || range != *last_range) {
        const int *coeffs = sws_getCoefficients(matrix);
        /* Output full range RGB / full range gray from RGB. */
        sws_setColorspaceDetails(c, coeffs, range, coeffs, 1, 0, 1 << 16, 1 << 16);
        *last_matrix = matrix;
        *last_range = range;
    }
    uint8_t *dst_planes[4] = {dst, NULL, NULL, NULL};
    int dst_strides[4] = {dst_stride, 0, 0, 0};
    int rc = sws_scale(c, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst_planes,
                       dst_strides);
    return rc == f->height ? 0 : -1;
}

pk_status pk_frame_views_luma8(pk_ctx *ctx, const char *path, pk_frame_views *v, const AVFrame *f,
                               const uint8_t **plane, int *stride)
{
    if (v->have_luma) {
        *plane = v->luma_plane;
        *stride = v->luma_stride;
        return PK_OK;
    }
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    if (!d || (d->flags & AV_PIX_FMT_FLAG_HWACCEL) || f->width <= 0 || f->height <= 0)
        return pk_fail(ctx, PK_ERR_INPUT, path, "video frame in an unsupported pixel format");
    const AVComponentDescriptor *y = &d->comp[0];
    int rgb_like = (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_FLOAT |
                                AV_PIX_FMT_FLAG_BAYER | AV_PIX_FMT_FLAG_BITSTREAM)) ||
                   y->depth > 16;
    int w = f->width, h = f->height;
    if (!rgb_like && y->depth == 8 && y->step == 1 && y->offset == 0 && y->shift == 0 &&
        f->linesize[y->plane] > 0) {
        /* 8-bit planar or semi-planar YUV, or gray: the decoder's plane. */
        v->luma_plane = f->data[y->plane];
        v->luma_stride = f->linesize[y->plane];
    } else {
        int out_stride = aligned_stride(w, 1);
        if (reserve(&v->luma, &v->luma_size, (size_t)out_stride * (size_t)h) < 0)
            return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
        if (!rgb_like && y->depth > 8 && y->step == 2 && !(d->flags & AV_PIX_FMT_FLAG_BE)) {
            /* Deeper little-endian samples of 16-bit storage: shift down. */
            int down = y->shift + y->depth - 8;
            for (int r = 0; r < h; r++) {
                const uint16_t *src =
                    (const uint16_t *)(f->data[y->plane] + (ptrdiff_t)r * f->linesize[y->plane] + y->offset);
                uint8_t *dst = v->luma + (size_t)r * (size_t)out_stride;
                for (int x = 0; x < w; x++)
                    dst[x] = (uint8_t)(src[x] >> down);
            }
        } else if (!rgb_like) {
            /* Packed (YUYV) or big-endian layouts: libavutil reads the
             * component line by line. */
            if (v->row_width < w) {
                av_free(v->row);
                v->row = av_malloc_array((size_t)w, sizeof *v->row);
                v->row_width = v->row ? w : 0;
                if (!v->row)
                    return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
            }
            int down = y->depth - 8;
            for (int r = 0; r < h; r++) {
                av_read_image_line2(v->row, (const uint8_t **)f->data, f->linesize, d, 0, r, 0, w, 0, 2);
                uint8_t *dst = v->luma + (size_t)r * (size_t)out_stride;
                for (int x = 0; x < w; x++)
                    dst[x] = (uint8_t)(down > 0 ? v->row[x] >> down : v->row[x]);
            }
        } else {
            int m = -1, rg = -1;
            if (sws_convert(&v->gray_sws, &m, &rg, f, AV_PIX_FMT_GRAY8, v->luma, out_stride) < 0)
                return pk_fail(ctx, PK_ERR_INTERNAL, path, "cannot convert a %s frame to luma", d->name);
        }
        v->luma_plane = v->luma;
        v->luma_stride = out_stride;
    }
    v->have_luma = 1;
    *plane = v->luma_plane;
    *stride = v->luma_stride;
    return PK_OK;
}

pk_status pk_frame_views_rgb24(pk_ctx *ctx, const char *path, pk_frame_views *v, const AVFrame *f,
                               const uint8_t **pixels, int *stride)
{
    if (!v->have_rgb) {
        const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
        if (!d || (d->flags & AV_PIX_FMT_FLAG_HWACCEL) || f->width <= 0 || f->height <= 0)
            return pk_fail(ctx, PK_ERR_INPUT, path, "video frame in an unsupported pixel format");
        int out_stride = aligned_stride(f->width, 3);
        if (reserve(&v->rgb, &v->rgb_size, (size_t)out_stride * (size_t)f->height) < 0)
            return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
        if (sws_convert(&v->rgb_sws, &v->rgb_matrix, &v->rgb_range, f, AV_PIX_FMT_RGB24, v->rgb,
                        out_stride) < 0)
            return pk_fail(ctx, PK_ERR_INTERNAL, path, "cannot convert a %s frame to RGB", d->name);
        v->rgb_stride = out_stride;
        v->have_rgb = 1;
    }
    *pixels = v->rgb;
    *stride = v->rgb_stride;
    return PK_OK;
}

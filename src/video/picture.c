/*
 * picture.c — decoded frames as 8-bit planes, and the one pass over them
 * that every video detector shares.
 *
 * Why this shape: the detectors need, per frame, a few counts (black pixels,
 * pixels outside the legal range), block means of Y, Cb and Cr (cuts,
 * thumbnails, red flashes) and block luminance in cd/m2 (flashes). All of it
 * comes from one sweep over the rows: each row is added into per-column
 * sums (a plain loop over bytes the compiler turns into SIMD), and the
 * column sums are folded into blocks once per row of blocks. Luminance goes
 * through a table, which no SIMD gather helps, so it is taken on 2x2 points
 * per block: flashes are judged over at least a quarter of the screen, on
 * blocks of 2x2 blocks (16 points each).
 * Frame comparisons (freeze, repeated frames) stop as soon as the answer is
 * known, so moving pictures cost a few rows.
 */
#include "video/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

struct qc_converter {
    struct SwsContext *sws;
    int w, h;                  /* geometry of the first frame: every picture has it */
};

qc_converter *qc_converter_new(void) { return calloc(1, sizeof(qc_converter)); }

void qc_converter_free(qc_converter *c)
{
    if (!c)
        return;
    sws_freeContext(c->sws);
    free(c);
}

static int frame_matrix(const AVFrame *f)
{
    switch (f->colorspace) {
    case AVCOL_SPC_BT709:
        return 709;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
        return 2020;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
    case AVCOL_SPC_FCC:
        return 601;
    default:
        return f->height >= 720 ? 709 : 601;
    }
}

/* 8-bit or deeper planar YUV (or grey) in native byte order: usable with at
 * most a shift. Returns the bytes per sample (1 or 2), 0 otherwise. */
static int planar_yuv_bytes(const AVPixFmtDescriptor *d)
{
    if (!d || (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM |
                           AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BE | AV_PIX_FMT_FLAG_FLOAT)))
        return 0;
    int comps = d->nb_components - ((d->flags & AV_PIX_FMT_FLAG_ALPHA) ? 1 : 0);
    if (comps != 1 && comps != 3)
        return 0;
    for (int i = 0; i < comps; i++)
        if (d->comp[i].plane != i || d->comp[i].offset != 0 || d->comp[i].shift != 0)
            return 0;
    int depth = d->comp[0].depth;
    if (depth == 8 && d->comp[0].step == 1)
        return 1;
    if (depth > 8 && depth <= 16 && d->comp[0].step == 2)
        return 2;
    return 0;
}

static qc_picture *picture_new(const AVFrame *f)
{
    qc_picture *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->refs = 1;
    p->w = f->width;
    p->h = f->height;
    p->matrix = frame_matrix(f);
    return p;
}

/* Own planes of 8-bit samples: Y w x h and chroma cw x ch (cw 0: none). */
static int alloc_planes(qc_picture *p, int cw, int ch)
{
    int ys = (p->w + 63) & ~63, cs = (cw + 63) & ~63;
    size_t size = (size_t)ys * p->h + 2 * (size_t)cs * ch;
    if (!(p->own = av_malloc(size ? size : 1)))
        return -1;
    p->plane[0] = p->own;
    p->stride[0] = ys;
    p->cw = cw;
    p->ch = ch;
    if (cw > 0) {
        p->plane[1] = p->own + (size_t)ys * p->h;
        p->plane[2] = p->plane[1] + (size_t)cs * ch;
        p->stride[1] = p->stride[2] = cs;
    }
    return 0;
}

static void shift_plane(uint8_t *dst, int ds, const uint8_t *src, int ss, int w, int h, int shift)
{
    for (int y = 0; y < h; y++) {
        const uint16_t *s = (const uint16_t *)(src + (size_t)y * ss);
        uint8_t *d = dst + (size_t)y * ds;
        for (int x = 0; x < w; x++) {
            unsigned v = s[x] >> shift;
            d[x] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
}

/* Anything else (RGB, packed, semi-planar, big-endian, another size):
 * swscale to 8-bit 4:4:4 with limited levels. */
static qc_picture *via_swscale(qc_converter *c, const AVFrame *f)
{
    qc_picture *p = picture_new(f);
    if (!p)
        return NULL;
    p->w = c->w;
    p->h = c->h;
    p->cxs = p->cys = 0;
    if (alloc_planes(p, c->w, c->h) < 0)
        goto fail;
    c->sws = sws_getCachedContext(c->sws, f->width, f->height, (enum AVPixelFormat)f->format, c->w,
                                  c->h, AV_PIX_FMT_YUV444P, SWS_BILINEAR, NULL, NULL, NULL);
    if (!c->sws)
        goto fail;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    int src_full = (d && (d->flags & AV_PIX_FMT_FLAG_RGB)) || f->color_range == AVCOL_RANGE_JPEG;
    int spc = p->matrix == 709 ? SWS_CS_ITU709 : p->matrix == 2020 ? SWS_CS_BT2020 : SWS_CS_ITU601;
    sws_setColorspaceDetails(c->sws, sws_getCoefficients(spc), src_full, sws_getCoefficients(spc), 0,
                             0, 1 << 16, 1 << 16);
    uint8_t *dst[4] = {(uint8_t *)p->plane[0], (uint8_t *)p->plane[1], (uint8_t *)p->plane[2], NULL};
    int dst_stride[4] = {p->stride[0], p->stride[1], p->stride[2], 0};
    if (sws_scale(c->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_stride) <= 0)
        goto fail;
    p->full_range = 0;
    return p;
fail:
    av_free(p->own);
    free(p);
    return NULL;
}

qc_picture *qc_picture_from_frame(qc_converter *c, const AVFrame *f, int full_range_hint)
{
    if (c->w == 0) {
        c->w = f->width;
        c->h = f->height;
    }
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    int bytes = planar_yuv_bytes(d);
    if (!bytes || f->width != c->w || f->height != c->h)
        return via_swscale(c, f);
    qc_picture *p = picture_new(f);
    if (!p)
        return NULL;
    p->full_range = f->color_range == AVCOL_RANGE_JPEG || full_range_hint ||
                    (d->name && strncmp(d->name, "yuvj", 4) == 0);
    int has_chroma = d->nb_components - ((d->flags & AV_PIX_FMT_FLAG_ALPHA) ? 1 : 0) == 3;
    p->cxs = has_chroma ? d->log2_chroma_w : 0;
    p->cys = has_chroma ? d->log2_chroma_h : 0;
    int cw = has_chroma ? AV_CEIL_RSHIFT(f->width, p->cxs) : 0;
    int ch = has_chroma ? AV_CEIL_RSHIFT(f->height, p->cys) : 0;
    if (bytes == 1) {
        if (!(p->frame = av_frame_clone(f))) {
            free(p);
            return NULL;
        }
        p->cw = cw;
        p->ch = ch;
        for (int i = 0; i < (has_chroma ? 3 : 1); i++) {
            p->plane[i] = f->data[i];
            p->stride[i] = f->linesize[i];
        }
        return p;
    }
    if (alloc_planes(p, cw, ch) < 0) {
        free(p);
        return NULL;
    }
    int shift = d->comp[0].depth - 8;
    shift_plane(p->own, p->stride[0], f->data[0], f->linesize[0], p->w, p->h, shift);
    if (has_chroma) {
        shift_plane((uint8_t *)p->plane[1], p->stride[1], f->data[1], f->linesize[1], cw, ch, shift);
        shift_plane((uint8_t *)p->plane[2], p->stride[2], f->data[2], f->linesize[2], cw, ch, shift);
    }
    return p;
}

qc_picture *qc_picture_ref(qc_picture *p)
{
    if (p)
        p->refs++;
    return p;
}

void qc_picture_unref(qc_picture *p)
{
    if (!p || --p->refs > 0)
        return;
    av_frame_free(&p->frame);
    av_free(p->own);
    free(p);
}

/* ---- the grid ------------------------------------------------------------ */

int qc_grid_init(qc_grid *g, int w, int h)
{
    memset(g, 0, sizeof *g);
    if (w <= 0 || h <= 0)
        return -1;
    g->w = w;
    g->h = h;
    /* About 160 blocks across, but at least 8 pixels: the per-block work
     * (cuts, flashes) must not outweigh the per-pixel work on small pictures. */
    g->bs = 2 * ((w + 319) / 320);
    if (g->bs < 8)
        g->bs = 8;
    g->cols = (w + g->bs - 1) / g->bs;
    g->rows = (h + g->bs - 1) / g->bs;
    g->n = g->cols * g->rows;
    g->area = malloc((size_t)g->n * sizeof *g->area);
    g->count = malloc((size_t)g->n * sizeof *g->count);
    g->colmap = malloc((size_t)w * sizeof *g->colmap);
    if (!g->area || !g->count || !g->colmap) {
        qc_grid_free(g);
        return -1;
    }
    for (int x = 0; x < w; x++)
        g->colmap[x] = (uint16_t)(x / g->bs);
    for (int by = 0; by < g->rows; by++)
        for (int bx = 0; bx < g->cols; bx++) {
            int bw = (bx + 1) * g->bs > w ? w - bx * g->bs : g->bs;
            int bh = (by + 1) * g->bs > h ? h - by * g->bs : g->bs;
            g->count[by * g->cols + bx] = bw * bh;
            g->area[by * g->cols + bx] = (float)((double)bw * bh / ((double)w * h));
        }
    return 0;
}

void qc_grid_free(qc_grid *g)
{
    free(g->area);
    free(g->count);
    free(g->colmap);
    memset(g, 0, sizeof *g);
}

/* ---- the per-frame pass ---------------------------------------------------- */

struct qc_measure {
    const qc_grid *g;
    int black_th[2];           /* limited, full range */
    int legal[4];
    uint16_t *colsum;          /* luma column sums over one row of blocks */
    uint32_t *lumcol;          /* luminance sums per pair of columns */
    uint16_t *ucol, *vcol;     /* chroma column sums over one row of blocks */
    uint32_t *sy, *sl, *su, *sv;
    int *lcount;               /* luminance samples per block */
    int *ccount;               /* chroma samples per block, for ... */
    float *ccountf;            /* (the same, at least 1, as divisors) */
    uint16_t *ccolmap;         /* ... this chroma geometry */
    int *cstart;               /* first chroma column of each column of blocks (cols + 1) */
    int cw, ch, cxs, cys;
    int lstep;                 /* luminance sampling step (divides the block size) */
    double black_ratio;        /* share of black pixels that makes a black picture */
    int count_range;           /* count samples outside the legal range */
    float *y, *u, *v, *lum;
};

void qc_measure_free(qc_measure *m)
{
    if (!m)
        return;
    free(m->colsum);
    free(m->lumcol);
    free(m->ucol);
    free(m->vcol);
    free(m->sy);
    free(m->sl);
    free(m->su);
    free(m->sv);
    free(m->lcount);
    free(m->ccount);
    free(m->ccountf);
    free(m->ccolmap);
    free(m->cstart);
    free(m->y);
    free(m->u);
    free(m->v);
    free(m->lum);
    free(m);
}

qc_measure *qc_measure_new(const qc_grid *g, int black_th_limited, int black_th_full, double black_ratio,
                           const int legal[4])
{
    qc_measure *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->black_ratio = black_ratio;
    m->g = g;
    m->black_th[0] = black_th_limited;
    m->black_th[1] = black_th_full;
    if (legal)
        memcpy(m->legal, legal, sizeof m->legal);
    size_t n = (size_t)g->n, w = (size_t)g->w;
    m->count_range = legal != NULL;
    /* Luminance on a subsample of 2x2 points per block (half a block
     * apart): flashes are judged on areas of a quarter of the screen,
     * over blocks of 2x2 blocks, so 16 points per analysed block. */
    m->lstep = g->bs / 2 > 1 ? g->bs / 2 : 1;
    m->colsum = calloc(w, sizeof *m->colsum);
    m->lumcol = calloc(w / (size_t)m->lstep + 1, sizeof *m->lumcol);
    m->ucol = calloc(w, sizeof *m->ucol);
    m->vcol = calloc(w, sizeof *m->vcol);
    m->sy = calloc(n, sizeof *m->sy);
    m->sl = calloc(n, sizeof *m->sl);
    m->su = calloc(n, sizeof *m->su);
    m->sv = calloc(n, sizeof *m->sv);
    m->lcount = calloc(n, sizeof *m->lcount);
    m->ccount = calloc(n, sizeof *m->ccount);
    m->ccountf = calloc(n, sizeof *m->ccountf);
    m->ccolmap = calloc(w, sizeof *m->ccolmap);
    m->cstart = calloc((size_t)g->cols + 1, sizeof *m->cstart);
    m->y = calloc(n, sizeof *m->y);
    m->u = calloc(n, sizeof *m->u);
    m->v = calloc(n, sizeof *m->v);
    m->lum = calloc(n, sizeof *m->lum);
    if (!m->colsum || !m->lumcol || !m->ucol || !m->vcol || !m->sy || !m->sl || !m->su || !m->sv ||
        !m->lcount || !m->ccount || !m->ccountf || !m->ccolmap || !m->cstart || !m->y || !m->u || !m->v || !m->lum) {
        qc_measure_free(m);
        return NULL;
    }
    /* Luminance samples per block: every lstep-th row and column from the
     * block's corner (blocks start on multiples of lstep). */
    int st = m->lstep;
    for (int by = 0; by < g->rows; by++)
        for (int bx = 0; bx < g->cols; bx++) {
            int bw = (bx + 1) * g->bs > g->w ? g->w - bx * g->bs : g->bs;
            int bh = (by + 1) * g->bs > g->h ? g->h - by * g->bs : g->bs;
            m->lcount[by * g->cols + bx] = ((bw + st - 1) / st) * ((bh + st - 1) / st);
        }
    m->cw = -1;
    return m;
}

/* Sample counts per block for a chroma geometry (computed once). */
static void chroma_geometry(qc_measure *m, const qc_picture *p)
{
    if (m->cw == p->cw && m->ch == p->ch && m->cxs == p->cxs && m->cys == p->cys)
        return;
    const qc_grid *g = m->g;
    m->cw = p->cw;
    m->ch = p->ch;
    m->cxs = p->cxs;
    m->cys = p->cys;
    memset(m->ccount, 0, (size_t)g->n * sizeof *m->ccount);
    for (int c = 0; c < p->cw; c++) {
        int x = c << p->cxs;
        m->ccolmap[c] = (uint16_t)((x < g->w ? x : g->w - 1) / g->bs);
    }
    for (int r = 0; r < p->ch; r++) {
        int y = r << p->cys;
        int by = (y < g->h ? y : g->h - 1) / g->bs;
        for (int c = 0; c < p->cw; c++)
            m->ccount[by * g->cols + m->ccolmap[c]]++;
    }
    for (int i = 0; i < g->n; i++)
        m->ccountf[i] = (float)(m->ccount[i] ? m->ccount[i] : 1);
    /* The map is non-decreasing: each column of blocks owns a run of
     * chroma columns (empty for blocks no chroma column falls in). */
    for (int b = 0, c = 0; b <= g->cols; b++) {
        while (c < p->cw && m->ccolmap[c] < b)
            c++;
        m->cstart[b] = c;
    }
}

/* One luma row into the column sums (and the count of samples outside the
 * legal range, when a profile asks). Separate functions with restrict
 * parameters so the compiler vectorises them. */
static void row_sum(const uint8_t *restrict row, uint16_t *restrict colsum, int w)
{
    for (int x = 0; x < w; x++)
        colsum[x] = (uint16_t)(colsum[x] + row[x]);
}

static uint32_t row_sum_range(const uint8_t *restrict row, uint16_t *restrict colsum, int w, uint8_t lo,
                              uint8_t hi)
{
    uint32_t no = 0;
    for (int x = 0; x < w; x++) {
        uint8_t v = row[x];
        colsum[x] = (uint16_t)(colsum[x] + v);
        no += (v < lo) | (v > hi);
    }
    return no;
}

static uint32_t row_black(const uint8_t *restrict row, int w, uint8_t black)
{
    uint32_t nb = 0;
    for (int x = 0; x < w; x++)
        nb += row[x] <= black;
    return nb;
}

static void row_luminance(const uint8_t *restrict row, const uint32_t *restrict lut, uint32_t *restrict lumcol,
                          int w, int step)
{
    for (int x = 0, i = 0; x < w; x += step, i++)
        lumcol[i] += lut[row[x]];
}

/* The luma rows of one row of blocks: column sums, counts, and luminance
 * on every lstep-th pixel of every lstep-th row. */
static void luma_rows(qc_measure *m, const qc_picture *p, int y0, int y1, const uint32_t *lut,
                      uint64_t *outside)
{
    int w = p->w, step = m->lstep;
    const uint8_t lo = (uint8_t)m->legal[0], hi = (uint8_t)m->legal[1];
    memset(m->colsum, 0, (size_t)w * sizeof *m->colsum);
    memset(m->lumcol, 0, (size_t)(w / step + 1) * sizeof *m->lumcol);
    for (int y = y0; y < y1; y++) {
        const uint8_t *row = p->plane[0] + (size_t)y * p->stride[0];
        if (m->count_range)
            *outside += row_sum_range(row, m->colsum, w, lo, hi);
        else
            row_sum(row, m->colsum, w);
        if ((y - y0) % step == 0)
            row_luminance(row, lut, m->lumcol, w, step);
    }
}

static uint32_t chroma_row(const uint8_t *restrict u, const uint8_t *restrict v, uint16_t *restrict ucol,
                           uint16_t *restrict vcol, int cw, uint8_t lo, uint8_t hi, int count)
{
    uint32_t n = 0;
    if (count) {
        for (int c = 0; c < cw; c++) {
            ucol[c] = (uint16_t)(ucol[c] + u[c]);
            vcol[c] = (uint16_t)(vcol[c] + v[c]);
            n += (u[c] < lo) | (u[c] > hi) | (v[c] < lo) | (v[c] > hi);
        }
    } else {
        for (int c = 0; c < cw; c++) {
            ucol[c] = (uint16_t)(ucol[c] + u[c]);
            vcol[c] = (uint16_t)(vcol[c] + v[c]);
        }
    }
    return n;
}

/* Chroma columns into blocks: block b owns columns start[b] to
 * start[b + 1] - 1 (bounds known in advance, so no test per column). */
static void fold_chroma(const uint16_t *restrict ucol, const uint16_t *restrict vcol,
                        const int *restrict start, int cols, uint32_t *restrict su, uint32_t *restrict sv)
{
    for (int b = 0; b < cols; b++) {
        uint32_t a = 0, v = 0;
        for (int c = start[b]; c < start[b + 1]; c++) {
            a += ucol[c];
            v += vcol[c];
        }
        su[b] += a;
        sv[b] += v;
    }
}

/* Chroma block sums into means. As in block_means, the sums are below
 * 2^31 and convert as signed integers, which the compiler vectorises;
 * the divisions are the same. */
static void chroma_means(const uint32_t *restrict su, const uint32_t *restrict sv, const float *restrict count,
                         int n, float *restrict u, float *restrict v)
{
    for (int i = 0; i < n; i++) {
        u[i] = (float)(int32_t)su[i] / count[i];
        v[i] = (float)(int32_t)sv[i] / count[i];
    }
}

static void chroma_pass(qc_measure *m, const qc_picture *p, uint64_t *out)
{
    const qc_grid *g = m->g;
    int cw = p->cw;
    const uint8_t lo = (uint8_t)m->legal[2], hi = (uint8_t)m->legal[3];
    int cur = -1;
    uint16_t *ucol = m->ucol, *vcol = m->vcol;
    for (int r = 0; r <= p->ch; r++) {
        int by = -1;
        if (r < p->ch) {
            int y = r << p->cys;
            by = (y < g->h ? y : g->h - 1) / g->bs;
        }
        if (by != cur) {
            if (cur >= 0)
                fold_chroma(ucol, vcol, m->cstart, g->cols, m->su + (size_t)cur * g->cols,
                            m->sv + (size_t)cur * g->cols);
            memset(ucol, 0, (size_t)cw * sizeof *ucol);
            memset(vcol, 0, (size_t)cw * sizeof *vcol);
            cur = by;
        }
        if (r == p->ch)
            break;
        const uint8_t *u = p->plane[1] + (size_t)r * p->stride[1];
        const uint8_t *v = p->plane[2] + (size_t)r * p->stride[2];
        *out += chroma_row(u, v, ucol, vcol, cw, lo, hi, m->count_range);
    }
}

/* Fold the column sums of a row of blocks into the blocks: consecutive
 * columns of a block summed in a register (adding column by column into
 * the block's slot would chain every add on the previous one's store). */
static void fold(const uint16_t *restrict colsum, const uint32_t *restrict lumcol, int w, int bs, int lstep,
                 uint32_t *restrict sy, uint32_t *restrict sl)
{
    for (int x0 = 0, b = 0; x0 < w; x0 += bs, b++) {
        int x1 = x0 + bs < w ? x0 + bs : w;
        uint32_t a = 0, l = 0;
        for (int x = x0; x < x1; x++)
            a += colsum[x];
        for (int i = x0 / lstep; i * lstep < x1; i++)
            l += lumcol[i];
        sy[b] = a;
        sl[b] = l;
    }
}

/* Block sums into means: luma code values and luminance in cd/m2. The
 * sums are below 2^31 (at most 255 per pixel of a block), so they convert
 * as signed integers, which the compiler vectorises; the results are the
 * same IEEE divisions. */
static void block_means(const uint32_t *restrict sy, const uint32_t *restrict sl, const int *restrict count,
                        const int *restrict lcount, int n, float *restrict y, float *restrict lum)
{
    for (int i = 0; i < n; i++) {
        y[i] = (float)(int32_t)sy[i] / (float)count[i];
        lum[i] = (float)(int32_t)sl[i] / ((float)lcount[i] * QC_LUM_SCALE);
    }
}

void qc_measure_frame(qc_measure *m, const qc_picture *p, const uint32_t *lut, qc_stats *s, qc_pixels *px)
{
    const qc_grid *g = m->g;
    size_t n = (size_t)g->n;
    uint64_t outside = 0, black = 0;
    int th = m->black_th[p->full_range ? 1 : 0];
    uint64_t total = 0;
    for (int by = 0; by < g->rows; by++) {
        int y0 = by * g->bs, y1 = y0 + g->bs > p->h ? p->h : y0 + g->bs;
        luma_rows(m, p, y0, y1, lut, &outside);
        if (px)
            qc_pixels_scan_rows(px, p, y1);
        fold(m->colsum, m->lumcol, p->w, g->bs, m->lstep, m->sy + (size_t)by * g->cols,
             m->sl + (size_t)by * g->cols);
    }
    for (size_t i = 0; i < n; i++)
        total += m->sy[i];
    block_means(m->sy, m->sl, g->count, m->lcount, (int)n, m->y, m->lum);
    double pixels = (double)p->w * p->h;
    s->luma_mean = (double)total / pixels;
    /* Black pixels are counted only when the picture is dark enough to
     * have the black share: with a share r of pixels at or below th, the
     * mean is at most r*th + (1-r)*255. Most pictures skip the count. */
    double r = m->black_ratio;
    if (s->luma_mean <= r * th + (1 - r) * 255 + 1e-9)
        for (int y = 0; y < p->h; y++)
            black += row_black(p->plane[0] + (size_t)y * p->stride[0], p->w, (uint8_t)th);
    s->black_fraction = (double)black / pixels;
    s->luma_outside = (double)outside / pixels;
    s->chroma_out = 0;
    if (p->cw > 0) {
        chroma_geometry(m, p);
        memset(m->su, 0, n * sizeof *m->su);
        memset(m->sv, 0, n * sizeof *m->sv);
        uint64_t out = 0;
        chroma_pass(m, p, &out);
        s->chroma_out = (double)out / ((double)p->cw * p->ch);
        chroma_means(m->su, m->sv, m->ccountf, (int)n, m->u, m->v);
    } else {
        for (size_t i = 0; i < n; i++)
            m->u[i] = m->v[i] = 128.0f;
    }
    s->y = m->y;
    s->u = m->u;
    s->v = m->v;
    s->lum = m->lum;
}

/* ---- comparisons ----------------------------------------------------------- */

static uint64_t plane_sad(const uint8_t *a, int sa, const uint8_t *b, int sb, int w, int h,
                          uint64_t acc, uint64_t budget)
{
    for (int y = 0; y < h && acc <= budget; y++) {
        const uint8_t *restrict ra = a + (size_t)y * sa;
        const uint8_t *restrict rb = b + (size_t)y * sb;
        uint32_t s = 0;
        for (int x = 0; x < w; x++)
            s += (uint32_t)abs((int)ra[x] - (int)rb[x]);
        acc += s;
    }
    return acc;
}

uint64_t qc_picture_sad(const qc_picture *a, const qc_picture *b, uint64_t budget)
{
    uint64_t acc = plane_sad(a->plane[0], a->stride[0], b->plane[0], b->stride[0], a->w, a->h, 0, budget);
    if (a->cw > 0 && b->cw == a->cw && b->ch == a->ch)
        for (int i = 1; i < 3 && acc <= budget; i++)
            acc = plane_sad(a->plane[i], a->stride[i], b->plane[i], b->stride[i], a->cw, a->ch, acc, budget);
    return acc;
}

uint64_t qc_picture_samples(const qc_picture *p)
{
    return (uint64_t)p->w * p->h + 2 * (uint64_t)p->cw * p->ch;
}

int qc_picture_identical(const qc_picture *a, const qc_picture *b)
{
    if (a->w != b->w || a->h != b->h || a->cw != b->cw || a->ch != b->ch)
        return 0;
    for (int i = 0; i < (a->cw > 0 ? 3 : 1); i++) {
        int w = i ? a->cw : a->w, h = i ? a->ch : a->h;
        for (int y = 0; y < h; y++)
            if (memcmp(a->plane[i] + (size_t)y * a->stride[i], b->plane[i] + (size_t)y * b->stride[i],
                       (size_t)w) != 0)
                return 0;
    }
    return 1;
}

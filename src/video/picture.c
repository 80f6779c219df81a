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
 * through a table, which no SIMD gather helps, so it is taken on every
 * second pixel of every second row: flashes are judged over at least a
 * quarter of the screen, where a 2x2 subsample changes nothing measurable.
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
    g->bs = 2 * ((w + 319) / 320);
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
    uint32_t *ucol, *vcol;     /* chroma column sums */
    uint32_t *sy, *sl, *su, *sv;
    int *lcount;               /* luminance samples per block */
    int *ccount;               /* chroma samples per block, for ... */
    uint16_t *ccolmap;         /* ... this chroma geometry */
    int cw, ch, cxs, cys;
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
    free(m->ccolmap);
    free(m->y);
    free(m->u);
    free(m->v);
    free(m->lum);
    free(m);
}

qc_measure *qc_measure_new(const qc_grid *g, int black_th_limited, int black_th_full, const int legal[4])
{
    qc_measure *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->g = g;
    m->black_th[0] = black_th_limited;
    m->black_th[1] = black_th_full;
    memcpy(m->legal, legal, sizeof m->legal);
    size_t n = (size_t)g->n, w = (size_t)g->w;
    m->colsum = calloc(w, sizeof *m->colsum);
    m->lumcol = calloc(w / 2 + 1, sizeof *m->lumcol);
    m->ucol = calloc(w, sizeof *m->ucol);
    m->vcol = calloc(w, sizeof *m->vcol);
    m->sy = calloc(n, sizeof *m->sy);
    m->sl = calloc(n, sizeof *m->sl);
    m->su = calloc(n, sizeof *m->su);
    m->sv = calloc(n, sizeof *m->sv);
    m->lcount = calloc(n, sizeof *m->lcount);
    m->ccount = calloc(n, sizeof *m->ccount);
    m->ccolmap = calloc(w, sizeof *m->ccolmap);
    m->y = calloc(n, sizeof *m->y);
    m->u = calloc(n, sizeof *m->u);
    m->v = calloc(n, sizeof *m->v);
    m->lum = calloc(n, sizeof *m->lum);
    if (!m->colsum || !m->lumcol || !m->ucol || !m->vcol || !m->sy || !m->sl || !m->su || !m->sv ||
        !m->lcount || !m->ccount || !m->ccolmap || !m->y || !m->u || !m->v || !m->lum) {
        qc_measure_free(m);
        return NULL;
    }
    /* Luminance samples: even rows and even columns of each block (blocks
     * start on even coordinates). */
    for (int by = 0; by < g->rows; by++)
        for (int bx = 0; bx < g->cols; bx++) {
            int bw = (bx + 1) * g->bs > g->w ? g->w - bx * g->bs : g->bs;
            int bh = (by + 1) * g->bs > g->h ? g->h - by * g->bs : g->bs;
            m->lcount[by * g->cols + bx] = ((bw + 1) / 2) * ((bh + 1) / 2);
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
}

/* The luma rows of one row of blocks: column sums, counts. Written as plain
 * loops over bytes with narrow accumulators so the compiler vectorises. */
static void luma_rows(qc_measure *m, const qc_picture *p, int y0, int y1, int th, const uint32_t *lut,
                      uint64_t counts[3])
{
    int w = p->w;
    uint16_t *restrict colsum = m->colsum;
    uint32_t *restrict lumcol = m->lumcol;
    const uint8_t lo = (uint8_t)m->legal[0], hi = (uint8_t)m->legal[1];
    const uint8_t black = (uint8_t)th;
    memset(colsum, 0, (size_t)w * sizeof *colsum);
    memset(lumcol, 0, (size_t)(w / 2 + 1) * sizeof *lumcol);
    for (int y = y0; y < y1; y++) {
        const uint8_t *restrict row = p->plane[0] + (size_t)y * p->stride[0];
        uint32_t nb = 0, nl = 0, nh = 0;
        for (int x = 0; x < w; x++) {
            uint8_t v = row[x];
            colsum[x] = (uint16_t)(colsum[x] + v);
            nb += v <= black;
            nl += v < lo;
            nh += v > hi;
        }
        counts[0] += nb;
        counts[1] += nl;
        counts[2] += nh;
        if (((y - y0) & 1) == 0)
            for (int x = 0; x < w; x += 2)
                lumcol[x >> 1] += lut[row[x]];
    }
}

static void chroma_pass(qc_measure *m, const qc_picture *p, uint64_t *out)
{
    const qc_grid *g = m->g;
    int cw = p->cw;
    const uint8_t lo = (uint8_t)m->legal[2], hi = (uint8_t)m->legal[3];
    int cur = -1;
    uint32_t *restrict ucol = m->ucol, *restrict vcol = m->vcol;
    for (int r = 0; r <= p->ch; r++) {
        int by = -1;
        if (r < p->ch) {
            int y = r << p->cys;
            by = (y < g->h ? y : g->h - 1) / g->bs;
        }
        if (by != cur) {
            if (cur >= 0)
                for (int c = 0; c < cw; c++) {
                    m->su[cur * g->cols + m->ccolmap[c]] += ucol[c];
                    m->sv[cur * g->cols + m->ccolmap[c]] += vcol[c];
                }
            memset(ucol, 0, (size_t)cw * sizeof *ucol);
            memset(vcol, 0, (size_t)cw * sizeof *vcol);
            cur = by;
        }
        if (r == p->ch)
            break;
        const uint8_t *restrict u = p->plane[1] + (size_t)r * p->stride[1];
        const uint8_t *restrict v = p->plane[2] + (size_t)r * p->stride[2];
        uint32_t n = 0;
        for (int c = 0; c < cw; c++) {
            ucol[c] += u[c];
            vcol[c] += v[c];
            n += (u[c] < lo) | (u[c] > hi) | (v[c] < lo) | (v[c] > hi);
        }
        *out += n;
    }
}

void qc_measure_frame(qc_measure *m, const qc_picture *p, const uint32_t *lut, qc_stats *s)
{
    const qc_grid *g = m->g;
    size_t n = (size_t)g->n;
    memset(m->sy, 0, n * sizeof *m->sy);
    memset(m->sl, 0, n * sizeof *m->sl);
    uint64_t counts[3] = {0, 0, 0};
    int th = m->black_th[p->full_range ? 1 : 0];
    uint64_t total = 0;
    for (int by = 0; by < g->rows; by++) {
        int y0 = by * g->bs, y1 = y0 + g->bs > p->h ? p->h : y0 + g->bs;
        luma_rows(m, p, y0, y1, th, lut, counts);
        uint32_t *sy = m->sy + (size_t)by * g->cols, *sl = m->sl + (size_t)by * g->cols;
        for (int x = 0; x < p->w; x++)
            sy[g->colmap[x]] += m->colsum[x];
        for (int x = 0; x < p->w; x += 2)
            sl[g->colmap[x]] += m->lumcol[x >> 1];
    }
    for (size_t i = 0; i < n; i++) {
        total += m->sy[i];
        m->y[i] = (float)m->sy[i] / (float)g->count[i];
        m->lum[i] = (float)m->sl[i] / ((float)m->lcount[i] * QC_LUM_SCALE);
    }
    double pixels = (double)p->w * p->h;
    s->luma_mean = (double)total / pixels;
    s->black_fraction = (double)counts[0] / pixels;
    s->luma_low = (double)counts[1] / pixels;
    s->luma_high = (double)counts[2] / pixels;
    s->chroma_out = 0;
    if (p->cw > 0) {
        chroma_geometry(m, p);
        memset(m->su, 0, n * sizeof *m->su);
        memset(m->sv, 0, n * sizeof *m->sv);
        uint64_t out = 0;
        chroma_pass(m, p, &out);
        s->chroma_out = (double)out / ((double)p->cw * p->ch);
        for (size_t i = 0; i < n; i++) {
            int c = m->ccount[i] ? m->ccount[i] : 1;
            m->u[i] = (float)m->su[i] / (float)c;
            m->v[i] = (float)m->sv[i] / (float)c;
        }
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

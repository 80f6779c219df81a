/*
 * imageprint.c — perceptual fingerprints of pictures: pHash, dHash and a
 * 16x16 structure grid, for all eight rotations/mirrorings at once.
 *
 * One definition for every format: the picture, upright by its EXIF
 * orientation, is reduced by area averaging to the thumbnail (longest side
 * 256); the thumbnail file and every fingerprint come from those 8-bit RGB
 * pixels (grey = Rec. 601 luma, reduced by area averaging again). Only the
 * way to the upright picture differs: a JPEG read into memory is decoded by
 * media/jpeg.c at 1/8 scale by the DCT itself; other formats (and JPEGs that
 * path refuses) by libvips' thumbnailer, camera RAW through its embedded
 * preview. The hashes are arithmetic on a 32x32 grey square and cost
 * microseconds.
 */
#include "catalog/internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libraw/libraw.h>
#include <vips/vips.h>

enum { N = 32, THUMB = 256 };

static uint64_t phash(const float *g);

static const char *vips_why(char *buf, size_t size)
{
    char *all = vips_error_buffer_copy();
    buf[0] = '\0';
    if (all) {
        char *nl = strchr(all, '\n');
        if (nl)
            *nl = '\0';
        snprintf(buf, size, "%s", all);
        g_free(all);
    }
    return buf[0] ? buf : "unknown libvips error";
}

/* EXIF orientation (1..8) → the transform that makes the picture upright. */
static int orient(VipsImage *in, int orientation, VipsImage **out)
{
    VipsImage *t = NULL;
    int rc = 0;
    switch (orientation) {
    case 2: return vips_flip(in, out, VIPS_DIRECTION_HORIZONTAL, NULL);
    case 3: return vips_rot(in, out, VIPS_ANGLE_D180, NULL);
    case 4: return vips_flip(in, out, VIPS_DIRECTION_VERTICAL, NULL);
    case 5:
        rc = vips_rot(in, &t, VIPS_ANGLE_D90, NULL) || vips_flip(t, out, VIPS_DIRECTION_HORIZONTAL, NULL);
        break;
    case 6: return vips_rot(in, out, VIPS_ANGLE_D90, NULL);
    case 7:
        rc = vips_rot(in, &t, VIPS_ANGLE_D270, NULL) || vips_flip(t, out, VIPS_DIRECTION_HORIZONTAL, NULL);
        break;
    case 8: return vips_rot(in, out, VIPS_ANGLE_D270, NULL);
    default: return vips_copy(in, out, NULL);
    }
    if (t)
        g_object_unref(t);
    return rc;
}

/* A camera RAW file's embedded JPEG preview, upright. LibRaw reads only the
 * preview, not the sensor data: a few milliseconds. */
static pk_status raw_thumbnail(pk_ctx *ctx, const char *path, VipsImage **out)
{
    libraw_data_t *lr = libraw_init(0);
    if (!lr)
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    int rc = libraw_open_file(lr, path);
    if (rc == LIBRAW_SUCCESS)
        rc = libraw_unpack_thumb(lr);
    if (rc != LIBRAW_SUCCESS) {
        pk_status s = pk_fail(ctx, PK_ERR_INPUT, path, "camera RAW file has no readable preview (%s)",
                              libraw_strerror(rc));
        libraw_close(lr);
        return s;
    }
    static const int flip_to_exif[8] = {1, 2, 4, 3, 5, 8, 6, 7};
    int flip = lr->sizes.flip, orientation = flip >= 0 && flip < 8 ? flip_to_exif[flip] : 1;
    pk_status st = PK_OK;
    /* LibRaw turns every camera's preview into a JPEG stream or a bitmap. */
    int err = 0;
    libraw_processed_image_t *im = libraw_dcraw_make_mem_thumb(lr, &err);
    VipsImage *t = NULL, *o = NULL;
    char why[256];
    rc = -1;
    if (im && im->type == LIBRAW_IMAGE_JPEG) {
        rc = vips_thumbnail_buffer(im->data, im->data_size, &t, THUMB, "height", THUMB, "size",
                                   VIPS_SIZE_DOWN, "no_rotate", TRUE, NULL);
    } else if (im && im->type == LIBRAW_IMAGE_BITMAP && im->bits == 8) {
        VipsImage *bmp = vips_image_new_from_memory_copy(im->data, im->data_size, im->width, im->height,
                                                         im->colors, VIPS_FORMAT_UCHAR);
        rc = bmp ? vips_thumbnail_image(bmp, &t, THUMB, "height", THUMB, "size", VIPS_SIZE_DOWN, NULL) : -1;
        if (bmp)
            g_object_unref(bmp);
    }
    if (rc == 0)
        rc = orient(t, orientation, &o);
    /* Decode now: the pipeline reads LibRaw's buffer, freed below. */
    if (rc == 0) {
        VipsImage *m = vips_image_copy_memory(o);
        g_object_unref(o);
        o = m;
        rc = m ? 0 : -1;
    }
    if (rc != 0)
        st = pk_fail(ctx, PK_ERR_INPUT, path, "camera RAW preview unreadable (%s)",
                     im ? vips_why(why, sizeof why) : libraw_strerror(err));
    else
        *out = o;
    if (t)
        g_object_unref(t);
    if (im)
        libraw_dcraw_clear_mem(im);
    libraw_close(lr);
    return st;
}

/* An 8-bit sRGB thumbnail of `path`, upright, longest side <= THUMB. */
static pk_status load_thumbnail(pk_ctx *ctx, const char *path, VipsImage **out)
{
    pk_status started = pk_image_libs_start(ctx, path);
    if (started != PK_OK)
        return started;
    if (pk_is_camera_raw(path))
        return raw_thumbnail(ctx, path, out);
    VipsImage *t = NULL;
    char why[256];
    if (vips_thumbnail(path, &t, THUMB, "height", THUMB, "size", VIPS_SIZE_DOWN, "fail_on",
                       VIPS_FAIL_ON_TRUNCATED, NULL))
        return pk_fail(ctx, PK_ERR_INPUT, path, "unreadable or corrupt picture (%s)", vips_why(why, sizeof why));
    *out = t;
    return PK_OK;
}

/* Flatten transparency on white and convert to 8-bit sRGB. */
static int to_srgb8(VipsImage *in, VipsImage **out)
{
    VipsImage *a = NULL, *b = NULL;
    int rc;
    if (vips_image_hasalpha(in)) {
        double white[1] = {in->Type == VIPS_INTERPRETATION_RGB16 || in->Type == VIPS_INTERPRETATION_GREY16 ? 65535.0 : 255.0};
        VipsArrayDouble *bg = vips_array_double_new(white, 1);
        rc = vips_flatten(in, &a, "background", bg, NULL);
        vips_area_unref(VIPS_AREA(bg));
    } else {
        rc = vips_copy(in, &a, NULL);
    }
    if (!rc)
        rc = vips_colourspace(a, &b, VIPS_INTERPRETATION_sRGB, NULL);
    if (!rc && b->BandFmt != VIPS_FORMAT_UCHAR)
        rc = vips_cast(b, out, VIPS_FORMAT_UCHAR, NULL);
    else if (!rc) {
        *out = b;
        b = NULL;
    }
    if (a)
        g_object_unref(a);
    if (b)
        g_object_unref(b);
    return rc;
}

/* Write the thumbnail to `thumb_path` atomically (temp + rename). */
static pk_status save_thumbnail(pk_ctx *ctx, const pk_rgb_picture *rgb, const char *thumb_path)
{
    if (pk_mkdirs_for(thumb_path) != 0)
        return pk_fail(ctx, PK_ERR_OUTPUT, thumb_path, "cannot create the thumbnail folder: %s",
                       strerror(errno));
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld.%lx.jpg", thumb_path, (long)getpid(),
             (unsigned long)pthread_self());
    pk_status st = pk_jpeg_write_file(ctx, rgb, 80, tmp);
    if (st == PK_OK && rename(tmp, thumb_path) != 0)
        st = pk_fail(ctx, PK_ERR_OUTPUT, thumb_path, "cannot write thumbnail: %s", strerror(errno));
    if (st != PK_OK)
        unlink(tmp);
    return st;
}

/* ---- the hashes, on a 32x32 grey square ------------------------------ */

/* out = in seen through dihedral transform t (see pk_image_print). */
static void transform(const float *in, float *out, int n, int t)
{
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            int sx = x, sy = y;
            /* Undo the rotation (clockwise quarter turns), then the mirror. */
            for (int r = 0; r < (t & 3); r++) {
                int px = sx;
                sx = sy;
                sy = n - 1 - px;
            }
            if (t & 4)
                sx = n - 1 - sx;
            out[y * n + x] = in[sy * n + sx];
        }
}

uint64_t pk_phash32(const float *g)
{
    return phash(g);
}

static uint64_t phash(const float *g)
{
    /* 2-D DCT-II, only the 8x8 lowest frequencies are needed. */
    double c[8][N];
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < N; x++)
            c[u][x] = cos(M_PI * (2 * x + 1) * u / (2.0 * N));
    double rows[N][8]; /* each row transformed along x */
    for (int y = 0; y < N; y++)
        for (int v = 0; v < 8; v++) {
            double s = 0;
            for (int x = 0; x < N; x++)
                s += g[y * N + x] * c[v][x];
            rows[y][v] = s;
        }
    double coef[64], sorted[64];
    for (int u = 0; u < 8; u++)
        for (int v = 0; v < 8; v++) {
            double s = 0;
            for (int y = 0; y < N; y++)
                s += rows[y][v] * c[u][y];
            coef[u * 8 + v] = sorted[u * 8 + v] = s;
        }
    /* Median of the 64 (insertion sort: 64 values). */
    for (int i = 1; i < 64; i++) {
        double v = sorted[i];
        int j = i;
        for (; j > 0 && sorted[j - 1] > v; j--)
            sorted[j] = sorted[j - 1];
        sorted[j] = v;
    }
    double median = (sorted[31] + sorted[32]) / 2;
    uint64_t h = 0;
    for (int i = 0; i < 64; i++)
        if (coef[i] > median)
            h |= 1ull << i;
    return h;
}

/* Area-average a 1-D run of `n` samples (`stride` apart) into `m` samples
 * (`ostride` apart): each output is the mean of the input span it covers,
 * partial samples weighted by their overlap (m > n just repeats samples). */
static void area_resample_strided(const float *in, int n, int stride, float *out, int m, int ostride)
{
    double scale = (double)n / m;
    for (int j = 0; j < m; j++) {
        double a = j * scale, b = a + scale, s = 0;
        for (int i = (int)a; i < n && i < b; i++) {
            double lo = i < a ? a : i, hi = i + 1 > b ? b : i + 1;
            s += in[i * stride] * (hi - lo);
        }
        out[j * ostride] = (float)(s / scale);
    }
}

static void area_resample(const float *in, int n, int stride, float *out, int m)
{
    area_resample_strided(in, n, stride, out, m, 1);
}

/* The taps of an area-averaging reduction of n samples to m along one
 * axis: output j is the sum over k < count[j] of in[first[j] + k] *
 * weight[j * stride + k], stride = taps per output (at most). */
typedef struct taps {
    int *first, *count;
    float *weight;
    int stride;
} taps;

static void taps_free(taps *t)
{
    free(t->first);
    free(t->count);
    free(t->weight);
}

static int taps_make(int n, int m, taps *t)
{
    double scale = (double)n / m;
    t->stride = (int)ceil(scale) + 2;
    t->first = malloc((size_t)m * sizeof *t->first);
    t->count = malloc((size_t)m * sizeof *t->count);
    t->weight = calloc((size_t)m * t->stride, sizeof *t->weight);
    if (!t->first || !t->count || !t->weight) {
        taps_free(t);
        return -1;
    }
    for (int j = 0; j < m; j++) {
        double a = j * scale, b = a + scale;
        int k = 0;
        t->first[j] = (int)a;
        for (int i = (int)a; i < n && i < b && k < t->stride; i++, k++) {
            double lo = i < a ? a : i, hi = i + 1 > b ? b : i + 1;
            t->weight[j * t->stride + k] = (float)((hi - lo) / scale);
        }
        t->count[j] = k;
    }
    return 0;
}

/* Area-average a picture of `c` interleaved channels, iw x ih with rows
 * `row` samples apart, into ow x oh floats (packed). The input is bytes
 * (`bytes`) or floats (`floats`), whichever is not NULL. Rows are reduced
 * across first, then whole rows are summed down, both in memory order.
 * Returns -1 when out of memory. */
static int area_reduce(const uint8_t *bytes, const float *floats, int iw, int ih, int row, int c, float *out,
                       int ow, int oh)
{
    taps tx = {0}, ty = {0};
    float *across = NULL;
    int rc = -1;
    if (taps_make(iw, ow, &tx) != 0 || taps_make(ih, oh, &ty) != 0 ||
        !(across = malloc((size_t)ih * ow * c * sizeof *across)))
        goto done;
    for (int y = 0; y < ih; y++) {
        float *o = across + (size_t)y * ow * c;
        for (int x = 0; x < ow; x++)
            for (int k = 0; k < c; k++) {
                const float *w = tx.weight + (size_t)x * tx.stride;
                size_t at = (size_t)y * row + (size_t)tx.first[x] * c + k;
                float s = 0;
                for (int t = 0; t < tx.count[x]; t++)
                    s += w[t] * (bytes ? bytes[at + (size_t)t * c] : floats[at + (size_t)t * c]);
                o[x * c + k] = s;
            }
    }
    size_t width = (size_t)ow * c;
    for (int y = 0; y < oh; y++) {
        float *o = out + (size_t)y * width;
        for (size_t i = 0; i < width; i++)
            o[i] = 0;
        for (int t = 0; t < ty.count[y]; t++) {
            const float *in = across + (size_t)(ty.first[y] + t) * width;
            float w = ty.weight[(size_t)y * ty.stride + t];
            for (size_t i = 0; i < width; i++)
                o[i] += w * in[i];
        }
    }
    rc = 0;
done:
    free(across);
    taps_free(&tx);
    taps_free(&ty);
    return rc;
}

static uint8_t to_byte(float v)
{
    int i = (int)lroundf(v);
    return (uint8_t)(i < 0 ? 0 : i > 255 ? 255 : i);
}

static uint64_t dhash(const float *g)
{
    float cols[N][9]; /* every row reduced to 9 columns */
    for (int y = 0; y < N; y++)
        area_resample(g + y * N, N, 1, cols[y], 9);
    float small[8][9];
    for (int x = 0; x < 9; x++) {
        float column[N], reduced[8];
        for (int y = 0; y < N; y++)
            column[y] = cols[y][x];
        area_resample(column, N, 1, reduced, 8);
        for (int y = 0; y < 8; y++)
            small[y][x] = reduced[y];
    }
    uint64_t h = 0;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            if (small[y][x] > small[y][x + 1])
                h |= 1ull << (y * 8 + x);
    return h;
}

static void fill_print(const float *g, pk_image_print *p)
{
    float t[N * N];
    for (int k = 0; k < 8; k++) {
        transform(g, t, N, k);
        p->phash[k] = phash(t);
        p->dhash[k] = dhash(t);
    }
    enum { G = PK_PRINT_GRID, S = N / PK_PRINT_GRID };
    for (int y = 0; y < G; y++)
        for (int x = 0; x < G; x++) {
            float s = 0;
            for (int dy = 0; dy < S; dy++)
                for (int dx = 0; dx < S; dx++)
                    s += g[(y * S + dy) * N + x * S + dx];
            int v = (int)lroundf(s / (S * S));
            p->grid[y * G + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
}

uint64_t pk_centre_hash(const uint8_t *centre, double degrees, int t)
{
    enum { C = PK_PRINT_CENTRE };
    double a = degrees * M_PI / 180, ca = cos(a), sa = sin(a);
    double half = C / 2.0, step = (C / M_SQRT2) / N;
    float g[N * N], tg[N * N];
    for (int v = 0; v < N; v++)
        for (int u = 0; u < N; u++) {
            /* A point of the output square, in the middle region of the
             * source, turned about the centre; bilinear sample. */
            double x = (u + 0.5 - N / 2.0) * step, y = (v + 0.5 - N / 2.0) * step;
            double sx = half + x * ca - y * sa - 0.5, sy = half + x * sa + y * ca - 0.5;
            int x0 = (int)floor(sx), y0 = (int)floor(sy);
            double fx = sx - x0, fy = sy - y0;
            double s = 0;
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) {
                    int xx = x0 + dx < 0 ? 0 : x0 + dx >= C ? C - 1 : x0 + dx;
                    int yy = y0 + dy < 0 ? 0 : y0 + dy >= C ? C - 1 : y0 + dy;
                    s += centre[yy * C + xx] * (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
                }
            g[v * N + u] = (float)s;
        }
    transform(g, tg, N, t & 7);
    return phash(tg);
}

double pk_grid_correlation(const uint8_t *a, const uint8_t *b, int t)
{
    enum { G = PK_PRINT_GRID };
    float fa[G * G], ta[G * G];
    for (int i = 0; i < G * G; i++)
        fa[i] = a[i];
    transform(fa, ta, G, t & 7);
    double ma = 0, mb = 0;
    for (int i = 0; i < G * G; i++) {
        ma += ta[i];
        mb += b[i];
    }
    ma /= G * G;
    mb /= G * G;
    double sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < G * G; i++) {
        double da = ta[i] - ma, db = b[i] - mb;
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    /* Two flat pictures (a white page, a black frame) are alike. */
    if (saa < 1e-6 || sbb < 1e-6)
        return saa < 1e-6 && sbb < 1e-6 ? 1.0 : 0.0;
    return sab / sqrt(saa * sbb);
}

/* The thumbnail of an upright picture: area-reduced to a longest side of
 * THUMB (never enlarged), in thumb->px (new allocation). -1: no memory. */
static int make_thumbnail(const pk_rgb_picture *im, pk_rgb_picture *thumb)
{
    int w = im->width, h = im->height, longest = w > h ? w : h;
    int tw = w, th = h;
    if (longest > THUMB) {
        tw = w == longest ? THUMB : (int)lround((double)w * THUMB / longest);
        th = h == longest ? THUMB : (int)lround((double)h * THUMB / longest);
        tw = tw < 1 ? 1 : tw;
        th = th < 1 ? 1 : th;
    }
    size_t tn = (size_t)tw * th * 3;
    float *r = malloc(tn * sizeof *r);
    thumb->px = malloc(tn);
    if (!r || !thumb->px) {
        free(r);
        free(thumb->px);
        thumb->px = NULL;
        return -1;
    }
    int rc = area_reduce(im->px, NULL, w, h, w * 3, 3, r, tw, th);
    for (size_t i = 0; rc == 0 && i < tn; i++)
        thumb->px[i] = to_byte(r[i]);
    free(r);
    thumb->width = tw;
    thumb->height = th;
    return rc;
}

/* Every fingerprint of a thumbnail (see pk_image_print). -1: no memory. */
static int print_thumbnail(const pk_rgb_picture *t, pk_image_print *out)
{
    int w = t->width, h = t->height;
    float *grey = malloc((size_t)w * h * sizeof *grey);
    if (!grey)
        return -1;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        const uint8_t *p = t->px + i * 3;
        grey[i] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    }
    float g[N * N], centre[PK_PRINT_CENTRE * PK_PRINT_CENTRE];
    int side = w < h ? w : h;
    const float *sq = grey + (size_t)((h - side) / 2) * w + (w - side) / 2;
    int rc = area_reduce(NULL, grey, w, h, w, 1, g, N, N) ||
             area_reduce(NULL, sq, side, side, w, 1, centre, PK_PRINT_CENTRE, PK_PRINT_CENTRE);
    free(grey);
    if (rc)
        return -1;
    fill_print(g, out);
    for (int i = 0; i < PK_PRINT_CENTRE * PK_PRINT_CENTRE; i++)
        out->centre[i] = to_byte(centre[i]);
    out->width = w;
    out->height = h;
    return 0;
}

/* The upright picture by libvips: an 8-bit sRGB thumbnail, copied into
 * pic->px (new allocation). */
static pk_status vips_picture(pk_ctx *ctx, const char *path, pk_rgb_picture *pic)
{
    VipsImage *thumb = NULL, *rgb = NULL;
    pk_status st = load_thumbnail(ctx, path, &thumb);
    if (st != PK_OK)
        return st;
    char why[256];
    size_t len = 0;
    unsigned char *px = NULL;
    if (to_srgb8(thumb, &rgb) == 0)
        px = vips_image_write_to_memory(rgb, &len);
    int w = rgb ? rgb->Xsize : 0, h = rgb ? rgb->Ysize : 0, bands = rgb ? rgb->Bands : 0;
    if (!px || bands < 1 || len < (size_t)w * h * bands) {
        st = pk_fail(ctx, PK_ERR_INPUT, path, "unreadable or corrupt picture (%s)", vips_why(why, sizeof why));
    } else if (!(pic->px = malloc((size_t)w * h * 3))) {
        st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    } else {
        for (size_t i = 0; i < (size_t)w * h; i++)
            for (int k = 0; k < 3; k++)
                pic->px[i * 3 + k] = px[i * bands + (bands >= 3 ? k : 0)];
        pic->width = w;
        pic->height = h;
    }
    g_free(px);
    if (rgb)
        g_object_unref(rgb);
    g_object_unref(thumb);
    return st;
}

pk_status pk_image_print_data(pk_ctx *ctx, const char *path, const void *data, size_t len,
                              const char *thumb_path, pk_image_print *out)
{
    memset(out, 0, sizeof *out);
    pk_rgb_picture pic = {0}, thumb = {0};
    pk_status st = PK_OK;
    if (!data || pk_is_camera_raw(path) || pk_jpeg_decode_small(data, len, THUMB, &pic) != 0)
        st = vips_picture(ctx, path, &pic);
    if (st == PK_OK && make_thumbnail(&pic, &thumb) != 0)
        st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    if (st == PK_OK && print_thumbnail(&thumb, out) != 0)
        st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    /* The size as displayed comes from the probe; the thumbnail only tells
     * the aspect. */
    if (st == PK_OK && thumb_path)
        st = save_thumbnail(ctx, &thumb, thumb_path);
    free(pic.px);
    free(thumb.px);
    return st;
}

pk_status pk_image_print_file(pk_ctx *ctx, const char *path, const char *thumb_path,
                              pk_image_print *out)
{
    unsigned char *data = NULL;
    size_t len = 0;
    pk_status st = pk_is_jpeg_name(path) ? pk_read_content(ctx, path, PK_READ_ONCE_MAX, &data, &len) : PK_OK;
    if (st == PK_OK)
        st = pk_image_print_data(ctx, path, data, len, thumb_path, out);
    free(data);
    return st;
}

/*
 * face_align.c — turning a detected face into the crop a model expects:
 * a similarity transform fitted to the keypoints, resampling through it,
 * and the sharpness measure of the result.
 */
#include "ml/face.h"

#include <math.h>

pk_sim2 pk_sim2_fit(const double *src, const double *dst, int n)
{
    double mx = 0, my = 0, mu = 0, mv = 0;
    for (int i = 0; i < n; i++) {
        mx += src[2 * i];
        my += src[2 * i + 1];
        mu += dst[2 * i];
        mv += dst[2 * i + 1];
    }
    mx /= n, my /= n, mu /= n, mv /= n;
    double sxx = 0, num_a = 0, num_b = 0;
    for (int i = 0; i < n; i++) {
        double x = src[2 * i] - mx, y = src[2 * i + 1] - my;
        double u = dst[2 * i] - mu, v = dst[2 * i + 1] - mv;
        sxx += x * x + y * y;
        num_a += u * x + v * y;
        num_b += v * x - u * y;
    }
    pk_sim2 t = {1, 0, 0, 0};
    if (sxx > 0) {
        t.a = num_a / sxx;
        t.b = num_b / sxx;
    }
    t.tx = mu - (t.a * mx - t.b * my);
    t.ty = mv - (t.b * mx + t.a * my);
    return t;
}

pk_sim2 pk_sim2_invert(pk_sim2 t)
{
    double d = t.a * t.a + t.b * t.b;
    pk_sim2 r = {1, 0, 0, 0};
    if (d <= 0)
        return r;
    r.a = t.a / d;
    r.b = -t.b / d;
    r.tx = -(r.a * t.tx - r.b * t.ty);
    r.ty = -(r.b * t.tx + r.a * t.ty);
    return r;
}

/* Add the bilinear sample at (x, y), in pixel-corner coordinates already
 * shifted by half a pixel (pixel i's centre is at i), to acc; black
 * outside. The interior, where all four taps exist, takes one branch. */
static inline void add_sample(const pk_rgb8 *img, double x, double y, float acc[3])
{
    /* Truncation is floor for x >= 0; below -1 no tap is inside. */
    if (x < -1.0 || y < -1.0 || x >= img->width || y >= img->height)
        return;
    int x0 = (int)(x + 1.0) - 1, y0 = (int)(y + 1.0) - 1;
    float fx = (float)(x - x0), fy = (float)(y - y0);
    if (x0 >= 0 && y0 >= 0 && x0 + 1 < img->width && y0 + 1 < img->height) {
        const uint8_t *p = img->px + (size_t)y0 * img->stride + 3 * (size_t)x0;
        const uint8_t *q = p + img->stride;
        float w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
        acc[0] += w00 * p[0] + w01 * p[3] + w10 * q[0] + w11 * q[3];
        acc[1] += w00 * p[1] + w01 * p[4] + w10 * q[1] + w11 * q[4];
        acc[2] += w00 * p[2] + w01 * p[5] + w10 * q[2] + w11 * q[5];
        return;
    }
    for (int dy = 0; dy < 2; dy++) {
        int yy = y0 + dy;
        if (yy < 0 || yy >= img->height)
            continue;
        float wy = dy ? fy : 1 - fy;
        const uint8_t *row = img->px + (size_t)yy * img->stride;
        for (int dx = 0; dx < 2; dx++) {
            int xx = x0 + dx;
            if (xx < 0 || xx >= img->width)
                continue;
            float w = wy * (dx ? fx : 1 - fx);
            const uint8_t *p = row + 3 * (size_t)xx;
            acc[0] += w * p[0];
            acc[1] += w * p[1];
            acc[2] += w * p[2];
        }
    }
}

void pk_warp_rgb(const pk_rgb8 *img, pk_sim2 to_crop, int out_w, int out_h, float scale, float bias,
                 float *out)
{
    pk_sim2 inv = pk_sim2_invert(to_crop);
    /* Source pixels per crop pixel: above 1.5, average k x k samples per
     * crop pixel so a shrinking warp does not alias. */
    double ratio = sqrt(inv.a * inv.a + inv.b * inv.b);
    int k = ratio > 1.5 ? (int)ceil(ratio) : 1;
    if (k > 6)
        k = 6;
    float norm = scale / (float)(k * k);
    /* The sample points are affine in (u, v): source position of crop
     * point (0, 0) less the half pixel of the bilinear's centre
     * convention, the step per crop pixel, and each sub-sample's offset. */
    double sub_x[36], sub_y[36];
    for (int sy = 0; sy < k; sy++)
        for (int sx = 0; sx < k; sx++) {
            double cu = (sx + 0.5) / k, cv = (sy + 0.5) / k;
            sub_x[sy * k + sx] = inv.a * cu - inv.b * cv;
            sub_y[sy * k + sx] = inv.b * cu + inv.a * cv;
        }
    for (int v = 0; v < out_h; v++) {
        double row_x = -inv.b * v + inv.tx - 0.5, row_y = inv.a * v + inv.ty - 0.5;
        float *o = out + 3 * (size_t)v * out_w;
        for (int u = 0; u < out_w; u++, o += 3) {
            double x = row_x + inv.a * u, y = row_y + inv.b * u;
            float acc[3] = {0, 0, 0};
            for (int s = 0; s < k * k; s++)
                add_sample(img, x + sub_x[s], y + sub_y[s], acc);
            o[0] = acc[0] * norm + bias;
            o[1] = acc[1] * norm + bias;
            o[2] = acc[2] * norm + bias;
        }
    }
}

double pk_laplacian_variance(const float *rgb, int w, int h, float scale, float bias)
{
    if (w < 3 || h < 3)
        return 0;
    double sum = 0, sum2 = 0;
    size_t n = 0;
#define GREY(x, y)                                                                           \
    ((0.299f * rgb[3 * ((size_t)(y) * w + (x))] + 0.587f * rgb[3 * ((size_t)(y) * w + (x)) + 1] + \
      0.114f * rgb[3 * ((size_t)(y) * w + (x)) + 2] - bias) / scale)
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++) {
            double l = 4.0 * GREY(x, y) - GREY(x - 1, y) - GREY(x + 1, y) - GREY(x, y - 1) - GREY(x, y + 1);
            sum += l;
            sum2 += l * l;
            n++;
        }
#undef GREY
    double mean = sum / (double)n;
    return sum2 / (double)n - mean * mean;
}

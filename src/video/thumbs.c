/*
 * thumbs.c — thumbnails for the report, made from the block means the
 * detectors already have (the grid is about 160 blocks wide, a box-filtered
 * picture of thumbnail size), so an event's picture costs no extra decode
 * and no RGB conversion of the frame. Encoded as JPEG by libvips and
 * embedded as a data URI, so the report needs no other file.
 */
#include "media/internal.h"
#include "video/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/base64.h>
#include <vips/vips.h>

static uint8_t clip8(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrint(v));
}

void qc_thumb_rgb(const qc_grid *g, const qc_stats *s, int full_range, int matrix, int mark_x,
                  int mark_y, uint8_t *rgb)
{
    double kr = 0.2126, kb = 0.0722;
    if (matrix == 601) {
        kr = 0.299;
        kb = 0.114;
    } else if (matrix == 2020) {
        kr = 0.2627;
        kb = 0.0593;
    }
    double kg = 1 - kr - kb;
    for (int i = 0; i < g->n; i++) {
        double y, cb, cr;
        if (full_range) {
            y = s->y[i] / 255.0;
            cb = (s->u[i] - 128) / 255.0;
            cr = (s->v[i] - 128) / 255.0;
        } else {
            y = (s->y[i] - 16) / 219.0;
            cb = (s->u[i] - 128) / 224.0;
            cr = (s->v[i] - 128) / 224.0;
        }
        double r = y + 2 * (1 - kr) * cr, b = y + 2 * (1 - kb) * cb;
        double gg = (y - kr * r - kb * b) / kg;
        rgb[3 * i] = clip8(r * 255);
        rgb[3 * i + 1] = clip8(gg * 255);
        rgb[3 * i + 2] = clip8(b * 255);
    }
    if (mark_x < 0 || mark_y < 0)
        return;
    /* A red square of 5x5 blocks around the marked block. */
    for (int dy = -2; dy <= 2; dy++)
        for (int dx = -2; dx <= 2; dx++) {
            if (abs(dx) != 2 && abs(dy) != 2)
                continue;
            int x = mark_x + dx, y = mark_y + dy;
            if (x < 0 || y < 0 || x >= g->cols || y >= g->rows)
                continue;
            uint8_t *p = rgb + 3 * ((size_t)y * g->cols + x);
            p[0] = 255;
            p[1] = p[2] = 0;
        }
}

char *qc_thumb_encode(const uint8_t *rgb, int w, int h)
{
    if (pk_image_libs_start(NULL, NULL) != PK_OK)
        return NULL;
    VipsImage *img = vips_image_new_from_memory(rgb, (size_t)w * h * 3, w, h, 3, VIPS_FORMAT_UCHAR);
    if (!img)
        return NULL;
    /* Small pictures have small grids: show them at least 160 wide. */
    if (w < 160) {
        VipsImage *big = NULL;
        if (vips_resize(img, &big, 160.0 / w, "kernel", VIPS_KERNEL_LINEAR, NULL) == 0) {
            g_object_unref(img);
            img = big;
        }
    }
    void *jpeg = NULL;
    size_t len = 0;
    int rc = vips_jpegsave_buffer(img, &jpeg, &len, "Q", 80, "strip", TRUE, NULL);
    g_object_unref(img);
    if (rc != 0 || !jpeg) {
        vips_error_clear();
        return NULL;
    }
    static const char prefix[] = "data:image/jpeg;base64,";
    size_t need = sizeof prefix - 1 + AV_BASE64_SIZE(len);
    char *uri = malloc(need);
    if (uri) {
        memcpy(uri, prefix, sizeof prefix - 1);
        if (!av_base64_encode(uri + sizeof prefix - 1, (int)(need - (sizeof prefix - 1)), jpeg, (int)len)) {
            free(uri);
            uri = NULL;
        }
    }
    g_free(jpeg);
    return uri;
}

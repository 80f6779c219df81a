/*
 * faces_video.c — faces in a video: one frame every N seconds, decoded by
 * pk_source (FFmpeg), turned upright as a player would show it, and given
 * to the face finder.
 */
#include "catalog/people.h"

#include <stdlib.h>
#include <string.h>

#include <postkit/media.h>

/* Turn a packed RGB picture by `degrees` clockwise (90, 180, 270) into
 * `out` (w x h x 3 bytes); *ow, *oh get the turned size. */
static void rotate_rgb(const uint8_t *src, size_t stride, int w, int h, int degrees, uint8_t *out, int *ow,
                       int *oh)
{
    *ow = degrees == 180 ? w : h;
    *oh = degrees == 180 ? h : w;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int u, v;
            if (degrees == 90) {
                u = h - 1 - y;
                v = x;
            } else if (degrees == 180) {
                u = w - 1 - x;
                v = h - 1 - y;
            } else {
                u = y;
                v = w - 1 - x;
            }
            memcpy(out + ((size_t)v * *ow + u) * 3, src + (size_t)y * stride + (size_t)x * 3, 3);
        }
}

pk_status pk_faces_in_video(pk_ctx *ctx, pk_face_finder *f, const char *path, double every, pk_face **faces_out,
                            double **times_out, size_t *n_out, int *frames, int *max_per_frame, int *width,
                            int *height, pk_face_timing *timing)
{
    *faces_out = NULL;
    *times_out = NULL;
    *n_out = 0;
    *frames = *max_per_frame = 0;
    pk_source_options so;
    pk_source_options_init(&so);
    so.streams = PK_STREAM_VIDEO;
    so.video_threads = 1;  /* the pictures around run in parallel already */
    pk_source *src;
    double t0 = pk_monotonic_seconds();
    pk_status st = pk_source_open(ctx, path, &so, &src);
    if (st != PK_OK)
        return st;
    const pk_video_info *vi = pk_source_video(src);
    int rotation = vi ? vi->rotation : 0;
    pk_face *all = NULL;
    double *times = NULL;
    size_t n = 0, cap = 0;
    uint8_t *turned = NULL;
    double next = 0;
    pk_item item;
    while (st == PK_OK && (st = pk_source_next(src, &item)) == PK_OK && item.type != PK_ITEM_END) {
        if (item.type != PK_ITEM_VIDEO || item.video->time + 1e-6 < next)
            continue;
        next = item.video->time + every;
        const uint8_t *px;
        int stride;
        st = pk_frame_rgb24(src, &px, &stride);
        if (st != PK_OK)
            break;
        int w = item.video->width, h = item.video->height;
        size_t row = (size_t)stride;
        if (rotation == 90 || rotation == 180 || rotation == 270) {
            if (!turned && !(turned = malloc((size_t)w * h * 3))) {
                st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
                break;
            }
            rotate_rgb(px, row, w, h, rotation, turned, &w, &h);
            px = turned;
            row = (size_t)w * 3;
        }
        if (timing)
            timing->decode += pk_monotonic_seconds() - t0;
        pk_face *found;
        size_t k;
        st = pk_face_find_rgb(ctx, f, px, w, h, row, &found, &k, timing);
        t0 = pk_monotonic_seconds();
        if (st != PK_OK)
            break;
        (*frames)++;
        *width = w;
        *height = h;
        if ((int)k > *max_per_frame)
            *max_per_frame = (int)k;
        if (n + k > cap) {
            size_t c = cap ? cap : 16;
            while (c < n + k)
                c *= 2;
            pk_face *a = realloc(all, c * sizeof *a);
            if (a)
                all = a;
            double *b = realloc(times, c * sizeof *b);
            if (b)
                times = b;
            if (!a || !b) {
                free(found);
                st = pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
                break;
            }
            cap = c;
        }
        for (size_t i = 0; i < k; i++) {
            all[n] = found[i];
            times[n++] = item.video->time;
        }
        free(found);
    }
    free(turned);
    pk_source_free(src);
    if (st != PK_OK) {
        free(all);
        free(times);
        return st;
    }
    *faces_out = all;
    *times_out = times;
    *n_out = n;
    return PK_OK;
}

/*
 * image_raw.c — camera RAW files through LibRaw: developing the sensor data
 * into a VipsImage, and the camera's embedded preview for thumbnails.
 *
 * LibRaw's developed picture (dcraw_make_mem_image: oriented, gamma
 * applied) is handed to libvips as it is, with a callback that frees it
 * when the image closes: no copy between the two libraries.
 */
#include "media/internal.h"

#include <math.h>
#include <string.h>

#include <libraw/libraw.h>
#include <vips/vips.h>

#include <postkit/image.h>

static void on_data_error(void *data, const char *file, const int offset)
{
    (void)file;
    raw_state *s = data;
    if (offset < 0)
        s->eof = 1;
    else
        s->corrupt = 1;
}

static void on_memory_error(void *data, const char *file, const char *where)
{
    (void)file;
    (void)where;
    ((raw_state *)data)->nomem = 1;
}

/* A non-zero return cancels LibRaw's work: how Ctrl-C reaches a develop. */
static int on_progress(void *data, enum LibRaw_progress stage, int iteration, int expected)
{
    (void)stage;
    (void)iteration;
    (void)expected;
    return pk_ctx_interrupted(((raw_state *)data)->ctx) ? 1 : 0;
}

pk_status pk_raw_open(pk_ctx *ctx, const char *path, raw_state *st, libraw_data_t **out)
{
    memset(st, 0, sizeof *st);
    st->ctx = ctx;
    libraw_data_t *lr = libraw_init(0);
    if (!lr)
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    libraw_set_dataerror_handler(lr, on_data_error, st);
    libraw_set_memerror_handler(lr, on_memory_error, st);
    libraw_set_progress_handler(lr, on_progress, st);
    int rc = libraw_open_file(lr, path);
    if (rc != LIBRAW_SUCCESS) {
        pk_status s = pk_fail(ctx, PK_ERR_INPUT, path, "unreadable camera RAW file (%s)",
                              libraw_strerror(rc));
        libraw_close(lr);
        return s;
    }
    *out = lr;
    return PK_OK;
}

/* Turn a LibRaw return code and the callbacks' findings into a status. */
pk_status pk_raw_check(pk_ctx *ctx, const char *path, const raw_state *st, int rc,
                       const char *what)
{
    if (rc == LIBRAW_CANCELLED_BY_CALLBACK || pk_ctx_interrupted(ctx))
        return pk_fail(ctx, PK_ERR_INTERRUPTED, path, "interrupted");
    if (st->nomem || rc == LIBRAW_UNSUFFICIENT_MEMORY)
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory while %s", what);
    if (st->eof)
        return pk_fail(ctx, PK_ERR_INPUT, path, "truncated camera RAW file (data ends early)");
    if (st->corrupt)
        return pk_fail(ctx, PK_ERR_INPUT, path, "corrupt camera RAW data");
    if (rc != LIBRAW_SUCCESS)
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot %s (%s)", what, libraw_strerror(rc));
    return PK_OK;
}

pk_status pk_raw_check_options(pk_ctx *ctx, const pk_raw_options *ro)
{
    if ((unsigned)ro->wb > PK_RAW_WB_CUSTOM)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "unknown RAW white balance mode %d", (int)ro->wb);
    if (!(ro->exposure >= -2.0 && ro->exposure <= 3.0))
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "RAW exposure %g is outside -2..+3 stops",
                       ro->exposure);
    if (ro->wb == PK_RAW_WB_CUSTOM) {
        for (int i = 0; i < 4; i++)
            if (!(ro->wb_multipliers[i] >= 0 && ro->wb_multipliers[i] < 1e6) ||
                (i < 3 && ro->wb_multipliers[i] <= 0))
                return pk_fail(ctx, PK_ERR_USAGE, NULL,
                               "RAW white balance multipliers must be positive (R, G, B; G2 0 or positive)");
    }
    return PK_OK;
}

static void free_processed(VipsImage *image, gpointer data)
{
    (void)image;
    libraw_dcraw_clear_mem(data);
}

pk_status pk_raw_develop(pk_ctx *ctx, const char *path, const pk_raw_options *ro, int linear,
                         int max_size, int keep_orientation, VipsImage **out)
{
    pk_status s = pk_raw_check_options(ctx, ro);
    if (s == PK_OK)
        s = pk_image_libs_start(ctx, path);
    if (s != PK_OK)
        return s;
    raw_state st;
    libraw_data_t *lr;
    if ((s = pk_raw_open(ctx, path, &st, &lr)) != PK_OK)
        return s;

    libraw_output_params_t *p = &lr->params;
    p->output_bps = 16;
    p->output_color = 1; /* sRGB primaries, D65 */
    if (linear) {
        p->gamm[0] = 1.0;
        p->gamm[1] = 1.0;
    } else {
        /* The sRGB curve: exponent 2.4 with a linear toe of slope 12.92. */
        p->gamm[0] = 1.0 / 2.4;
        p->gamm[1] = 12.92;
    }
    p->no_auto_bright = !ro->auto_bright;
    p->use_camera_wb = ro->wb == PK_RAW_WB_CAMERA;
    p->use_auto_wb = ro->wb == PK_RAW_WB_AUTO;
    if (ro->wb == PK_RAW_WB_CUSTOM)
        for (int i = 0; i < 4; i++)
            p->user_mul[i] = (float)ro->wb_multipliers[i];
    if (ro->exposure != 0) {
        p->exp_correc = 1;
        p->exp_shift = (float)pow(2.0, ro->exposure);
        p->exp_preser = 0; /* a plain linear gain: comparable across files */
    }
    /* Half-size demosaicing (one pixel per 2x2 Bayer cell) is RAW's
     * shrink-on-load: four times less work, and still sharp. */
    int longest = lr->sizes.width > lr->sizes.height ? lr->sizes.width : lr->sizes.height;
    if (max_size > 0 && longest / 2 >= max_size)
        p->half_size = 1;
    if (keep_orientation)
        p->user_flip = 0;
    int flip = lr->sizes.flip;

    int rc = libraw_unpack(lr);
    if ((s = pk_raw_check(ctx, path, &st, rc, "decode the raw data")) == PK_OK) {
        rc = libraw_dcraw_process(lr);
        s = pk_raw_check(ctx, path, &st, rc, "develop");
    }
    libraw_processed_image_t *img = NULL;
    if (s == PK_OK) {
        img = libraw_dcraw_make_mem_image(lr, &rc);
        if (!img)
            s = pk_raw_check(ctx, path, &st, rc ? rc : LIBRAW_UNSUFFICIENT_MEMORY, "develop");
    }
    libraw_close(lr);
    if (s != PK_OK)
        return s;
    if (img->type != LIBRAW_IMAGE_BITMAP || img->bits != 16 || (img->colors != 1 && img->colors != 3)) {
        libraw_dcraw_clear_mem(img);
        return pk_fail(ctx, PK_ERR_INPUT, path, "unsupported camera RAW layout (%d colours)",
                       img->colors);
    }
    VipsImage *raw = vips_image_new_from_memory(img->data, img->data_size, img->width,
                                                img->height, img->colors, VIPS_FORMAT_USHORT);
    if (!raw) {
        libraw_dcraw_clear_mem(img);
        return pk_vips_fail(ctx, PK_ERR_INTERNAL, path, "cannot wrap the developed picture");
    }
    g_signal_connect(raw, "postclose", G_CALLBACK(free_processed), img);
    VipsInterpretation interp = img->colors == 3 ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_GREY16;
    VipsImage *typed;
    int bad = vips_copy(raw, &typed, "interpretation", interp, NULL);
    g_object_unref(raw);
    if (bad)
        return pk_vips_fail(ctx, PK_ERR_INTERNAL, path, "cannot wrap the developed picture");
    if (keep_orientation)
        vips_image_set_int(typed, VIPS_META_ORIENTATION, pk_raw_flip_to_orientation(flip));
    else
        vips_image_remove(typed, VIPS_META_ORIENTATION);
    *out = typed;
    return PK_OK;
}

/* The preview's pixel size: LibRaw knows it for most files; otherwise read
 * the JPEG's header. */
static int preview_longest(const libraw_thumbnail_t *t)
{
    if (t->twidth > 0 && t->theight > 0)
        return t->twidth > t->theight ? t->twidth : t->theight;
    VipsImage *h = vips_image_new_from_buffer(t->thumb, t->tlength, "", NULL);
    if (!h) {
        vips_error_clear();
        return 0;
    }
    int n = h->Xsize > h->Ysize ? h->Xsize : h->Ysize;
    g_object_unref(h);
    return n;
}

pk_status pk_raw_preview(pk_ctx *ctx, const char *path, int size, VipsImage **out)
{
    *out = NULL;
    raw_state st;
    libraw_data_t *lr;
    pk_status s = pk_image_libs_start(ctx, path);
    if (s == PK_OK)
        s = pk_raw_open(ctx, path, &st, &lr);
    if (s != PK_OK)
        return s;
    int flip = lr->sizes.flip;
    /* A missing or unreadable preview is not an error: the caller develops. */
    if (libraw_unpack_thumb(lr) != LIBRAW_SUCCESS || !lr->thumbnail.thumb ||
        lr->thumbnail.tlength == 0) {
        libraw_close(lr);
        return PK_OK;
    }
    libraw_thumbnail_t *t = &lr->thumbnail;
    VipsImage *thumb = NULL;
    int bad = 0;
    if (t->tformat == LIBRAW_THUMBNAIL_JPEG && preview_longest(t) >= size) {
        /* The preview is stored as the sensor sees it; the file's flip
         * (applied below) says how to turn it. */
        bad = vips_thumbnail_buffer(t->thumb, t->tlength, &thumb, size, "height", size, "size",
                                    VIPS_SIZE_DOWN, "no_rotate", TRUE, "export_profile", "srgb",
                                    "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    } else if (t->tformat == LIBRAW_THUMBNAIL_BITMAP && t->tcolors == 3 &&
               (t->twidth > t->theight ? t->twidth : t->theight) >= size &&
               t->tlength >= (unsigned)t->twidth * t->theight * 3u) {
        VipsImage *bitmap = vips_image_new_from_memory(t->thumb, (size_t)t->twidth * t->theight * 3,
                                                       t->twidth, t->theight, 3, VIPS_FORMAT_UCHAR);
        bad = !bitmap || vips_thumbnail_image(bitmap, &thumb, size, "height", size, "size",
                                              VIPS_SIZE_DOWN, "no_rotate", TRUE, NULL);
        if (bitmap)
            g_object_unref(bitmap);
    } else {
        libraw_close(lr);
        return PK_OK;
    }
    /* Decode now, while LibRaw still owns the preview's bytes. */
    VipsImage *mem = bad ? NULL : pk_vips_fresh_memory(thumb);
    if (thumb)
        g_object_unref(thumb);
    libraw_close(lr);
    if (!mem) {
        /* A damaged preview: fall back to developing the raw data. */
        vips_error_clear();
        return PK_OK;
    }
    vips_image_set_int(mem, VIPS_META_ORIENTATION, pk_raw_flip_to_orientation(flip));
    if (pk_vips_upright(&mem)) {
        g_object_unref(mem);
        return pk_vips_fail(ctx, PK_ERR_INTERNAL, path, "cannot rotate the preview");
    }
    *out = mem;
    return PK_OK;
}

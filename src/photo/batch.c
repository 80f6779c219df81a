/*
 * batch.c — correcting many photos toward a reference (or a neutral
 * rendering): what `photo match` and `photo auto` share.
 *
 * Per photo, on a worker thread: a reduced copy (ANALYSIS_SIZE pixels on
 * its longest side, linear light) is measured and the correction planned
 * on it; the full picture is then loaded, corrected by the kernel as a
 * libvips stream and saved to a safe output, committed there too. The
 * run's thread emits the records in input order and writes the contact sheet,
 * so memory holds the reference's reduced copy, one picture per worker and
 * a bounded window of finished results, whatever the number of photos.
 */
#include "media/internal.h"
#include "photo/internal.h"

#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <postkit/image.h>

/* Longest side of the copy the corrections are decided on: ~175,000
 * pixels for 3:2, plenty for quantiles and means, 40 ms to plan. */
#define ANALYSIS_SIZE 512
/* Longest side of the contact sheet's thumbnails. */
#define THUMB_SIZE 240

/* ---- Pixels to measure -------------------------------------------------- */

typedef struct samples {
    float *rgb;     /* n pixels of linear RGB */
    size_t n;
    int grey;       /* the photo is greyscale */
    int is_float;   /* a floating-point file: values above white are real */
    VipsImage *rgb_image; /* the reduced copy (linear float, 3 bands, upright) */
} samples;

static void samples_free(samples *s)
{
    g_free(s->rgb);
    if (s->rgb_image)
        g_object_unref(s->rgb_image);
    memset(s, 0, sizeof *s);
}

static pk_status vips_failed(pk_ctx *ctx, const char *path, const char *what)
{
    char *why = vips_error_buffer_copy();
    char *nl = why ? strchr(why, '\n') : NULL;
    if (nl)
        *nl = '\0';
    pk_status s = pk_fail(ctx, PK_ERR_INTERNAL, path, "%s%s%s", what, why && *why ? ": " : "",
                          why ? why : "");
    g_free(why);
    vips_error_clear();
    return s;
}

/* The band format `path` stores its pixels in (only its header is read);
 * VIPS_FORMAT_NOTSET for camera RAW files and unreadable headers. */
static VipsBandFormat file_band_format(const char *path)
{
    if (pk_is_camera_raw(path) || pk_image_libs_start(NULL, path) != PK_OK)
        return VIPS_FORMAT_NOTSET;
    VipsImage *h = vips_image_new_from_file(path, NULL);
    if (!h) {
        vips_error_clear();
        return VIPS_FORMAT_NOTSET;
    }
    VipsBandFormat f = h->BandFmt;
    g_object_unref(h);
    return f;
}

/* Does `path` hold floating-point pixels? */
static int file_is_float(const char *path)
{
    VipsBandFormat f = file_band_format(path);
    return f != VIPS_FORMAT_NOTSET && vips_band_format_isfloat(f);
}

/* libvips (8.14) widens an 8-bit alpha to 16 bits by ×256, so opaque
 * (255) becomes 65280, not 65535: an 8-bit file's alpha, loaded as 16-bit,
 * is brought to the full scale (×257/256, exact for every 8-bit value). */
static int alpha_full_scale(const char *path, VipsImage **alpha)
{
    if (!*alpha || (*alpha)->BandFmt != VIPS_FORMAT_USHORT ||
        file_band_format(path) != VIPS_FORMAT_UCHAR)
        return 0;
    VipsImage *t, *u;
    if (vips_linear1(*alpha, &t, 257.0 / 256.0, 0.0, NULL))
        return -1;
    int bad = vips_cast(t, &u, VIPS_FORMAT_USHORT, NULL);
    g_object_unref(t);
    if (bad)
        return -1;
    g_object_unref(*alpha);
    *alpha = u;
    return 0;
}

/* The reduced linear copy of `path` and its pixels. Pixels under a mostly
 * transparent alpha are left out: their colour is arbitrary. */
static pk_status load_samples(pk_ctx *ctx, const char *path, const pk_raw_options *raw,
                              samples *out)
{
    memset(out, 0, sizeof *out);
    pk_image_options o = {.max_size = ANALYSIS_SIZE, .colour = PK_COLOUR_LINEAR};
    if (raw)
        o.raw = *raw;
    VipsImage *im;
    pk_status s = pk_image_load(ctx, path, &o, &im);
    if (s != PK_OK)
        return s;
    int alpha = vips_image_hasalpha(im);
    int colour_bands = im->Bands - alpha;
    out->grey = colour_bands == 1;
    out->is_float = file_is_float(path);
    VipsImage *rgb = NULL, *a = NULL;
    int bad = 0;
    if (colour_bands == 1) {
        VipsImage *g;
        bad = vips_extract_band(im, &g, 0, NULL);
        if (!bad) {
            VipsImage *bands[3] = {g, g, g};
            bad = vips_bandjoin(bands, &rgb, 3, NULL);
            g_object_unref(g);
        }
    } else if (colour_bands == 3) {
        bad = vips_extract_band(im, &rgb, 0, "n", 3, NULL);
    } else {
        g_object_unref(im);
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot correct a %d-band picture", colour_bands);
    }
    if (!bad && alpha)
        bad = vips_extract_band(im, &a, im->Bands - 1, NULL);
    VipsImage *rgbf = NULL;
    if (!bad)
        bad = vips_cast(rgb, &rgbf, VIPS_FORMAT_FLOAT, NULL);
    size_t len = 0, alen = 0;
    float *px = bad ? NULL : vips_image_write_to_memory(rgbf, &len);
    float *apx = !bad && a ? vips_image_write_to_memory(a, &alen) : NULL;
    if (!px || (a && !apx)) {
        s = vips_failed(ctx, path, "cannot read the picture");
    } else {
        size_t n = len / (3 * sizeof(float)), kept = 0;
        for (size_t i = 0; i < n; i++) {
            /* libvips keeps alpha 0..255 in float images */
            if (apx && apx[i] < 128)
                continue;
            memmove(px + 3 * kept, px + 3 * i, 3 * sizeof *px);
            kept++;
        }
        out->rgb = px;
        out->n = kept;
        out->rgb_image = rgbf;
        rgbf = NULL;
        px = NULL;
    }
    g_free(px);
    g_free(apx);
    if (rgbf)
        g_object_unref(rgbf);
    if (rgb)
        g_object_unref(rgb);
    if (a)
        g_object_unref(a);
    g_object_unref(im);
    return s;
}

/* ---- The job ------------------------------------------------------------ */

typedef struct job {
    pk_run *run;
    const pk_photo_batch *b;
    char **outputs;        /* planned output path per input */
    const char **formats;  /* "jpeg" or "tiff" per input */
    samples ref;           /* the reference's pixels (b->ref) */
    pk_photo_measure_opts ref_opts;
    char *ref_uri;         /* its thumbnail for the contact sheet */
    pk_photo_measure_opts mopts;
    pk_contact_sheet *sheet;
    /* The reference is analysed as item 0 of the parallel run, beside the
     * first photos' own analyses; a photo waits for it only to plan. */
    pthread_mutex_t ref_lock;
    pthread_cond_t ref_done;
    int ref_state;         /* 0 pending, 1 ready, -1 failed */
    int items_offset;      /* 1 when item 0 is the reference, else 0 */
    pk_status setup_status; /* the reference's failure */
} job;

typedef struct result {
    pk_status status;
    int skipped;           /* the reference failed: reported once, by item 0 */
    char error[1024];
    pk_output *out;
    json_t *record;
    char *before_uri, *after_uri;
} result;

static json_t *mat_json(const double *m, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_real(pk_round(m[i], 6)));
    return a;
}

static void set_num(json_t *o, const char *key, double v, int digits)
{
    if (isfinite(v))
        json_object_set_new(o, key, json_real(pk_round(v, digits)));
}

static json_t *record_of(const job *j, size_t i, const pk_photo_correction *c, int grey,
                         const pk_photo_raw_develop *raw, int w, int h, const char *profile_note)
{
    json_t *r = json_object();
    json_object_set_new(r, "input", pk_json_string(pk_run_input(j->run, i)));
    json_object_set_new(r, "output", pk_json_string(j->outputs[i]));
    if (j->b->ref)
        json_object_set_new(r, "reference", pk_json_string(j->b->ref));
    json_object_set_new(r, "format", json_string(j->formats[i]));
    json_object_set_new(r, "width", json_integer(w));
    json_object_set_new(r, "height", json_integer(h));
    json_object_set_new(r, "strength", json_real(pk_round(c->strength, 4)));
    if (c->mode & PK_PHOTO_EXPOSURE) {
        json_t *e = json_object();
        set_num(e, "ev", c->ev, 3);
        set_num(e, "ev_estimated", c->ev_estimated, 3);
        json_object_set_new(e, "estimated", json_boolean(c->ev_found));
        json_object_set_new(r, "exposure", e);
    }
    json_t *wb = json_object();
    set_num(wb, "cct_before", c->cct_before, 0);
    set_num(wb, "duv_before", c->duv_before, 4);
    if (c->mode & PK_PHOTO_WB) {
        set_num(wb, "cct_target", c->cct_target, 0);
        set_num(wb, "duv_target", c->duv_target, 4);
        json_object_set_new(wb, "matrix", mat_json(c->wb, 9));
    }
    set_num(wb, "cct_after", c->cct_after, 0);
    set_num(wb, "duv_after", c->duv_after, 4);
    json_object_set_new(wb, "applied", json_boolean(c->mode & PK_PHOTO_WB));
    json_object_set_new(r, "white_balance", wb);
    if (c->mode & PK_PHOTO_COLOR) {
        json_t *col = json_object();
        json_object_set_new(col, "space", json_string("oklab"));
        json_object_set_new(col, "matrix", mat_json(c->color_a, 9));
        json_object_set_new(col, "offset", mat_json(c->color_b, 3));
        json_object_set_new(r, "color", col);
    }
    json_object_set_new(r, "matrix", mat_json(c->matrix, 9));
    json_t *ro = json_object();
    set_num(ro, "knee", c->knee, 4);
    set_num(ro, "peak", c->peak, 4);
    json_object_set_new(r, "rolloff", ro);
    if (raw) {
        json_t *rj = json_object();
        json_object_set_new(rj, "multipliers", mat_json(raw->multipliers, 4));
        set_num(rj, "exposure", raw->exposure, 3);
        json_object_set_new(r, "raw", rj);
    }
    json_t *notes = json_array();
    if (grey)
        json_array_append_new(notes, json_string("greyscale: white balance and colour left alone"));
    if ((c->mode & PK_PHOTO_EXPOSURE) && !c->ev_found)
        json_array_append_new(notes, json_string("exposure not estimated (nothing comparable: "
                                                 "clipped or black)"));
    if (profile_note)
        json_array_append_new(notes, json_string(profile_note));
    if (json_array_size(notes))
        json_object_set_new(r, "notes", notes);
    else
        json_decref(notes);
    return r;
}

/* The kernel's 8-bit rendering of a reduced linear copy, as a data URI. */
static pk_status thumb_of(pk_ctx *ctx, VipsImage *linear, const pk_photo_correction *c, char **uri)
{
    VipsImage *t;
    pk_status s = pk_photo_apply_vips(ctx, linear, c, NULL, VIPS_FORMAT_UCHAR, &t);
    if (s != PK_OK)
        return s;
    s = pk_photo_thumb_uri(ctx, t, THUMB_SIZE, uri);
    g_object_unref(t);
    return s;
}

/* Split off an alpha band; *rgb is 3 bands. */
static int split_alpha(VipsImage *in, VipsImage **rgb, VipsImage **alpha)
{
    *alpha = NULL;
    if (vips_image_hasalpha(in) && in->Bands == 4) {
        if (vips_extract_band(in, alpha, 3, NULL))
            return -1;
        return vips_extract_band(in, rgb, 0, "n", 3, NULL);
    }
    return vips_extract_band(in, rgb, 0, "n", 3, NULL);
}

/* Alpha in the scale of `fmt`: libvips keeps it 0..255 in float images. */
static int alpha_for(VipsImage *alpha, VipsBandFormat fmt, VipsImage **out)
{
    if (alpha->BandFmt == fmt) {
        g_object_ref(alpha);
        *out = alpha;
        return 0;
    }
    double scale = fmt == VIPS_FORMAT_USHORT && alpha->BandFmt != VIPS_FORMAT_USHORT ? 257.0 : 1.0;
    if (fmt == VIPS_FORMAT_UCHAR && alpha->BandFmt == VIPS_FORMAT_USHORT)
        scale = 1 / 257.0;
    VipsImage *t;
    if (vips_linear1(alpha, &t, scale, 0.5, NULL))
        return -1;
    int bad = vips_cast(t, out, fmt, NULL);
    g_object_unref(t);
    return bad;
}

/* The input's embedded ICC profile, read from a tiny decode. *icc is
 * g_free()d by the caller; NULL when there is none. */
static pk_status input_profile(pk_ctx *ctx, const char *path, void **icc, size_t *len)
{
    *icc = NULL;
    *len = 0;
    pk_image_options o = {.max_size = 16, .colour = PK_COLOUR_KEEP};
    VipsImage *im;
    pk_status s = pk_image_load(ctx, path, &o, &im);
    if (s != PK_OK)
        return s;
    const void *blob;
    size_t n;
    if (vips_image_get_typeof(im, VIPS_META_ICC_NAME) &&
        vips_image_get_blob(im, VIPS_META_ICC_NAME, &blob, &n) == 0 && n > 0) {
        *icc = g_memdup2(blob, n);
        *len = n;
    }
    g_object_unref(im);
    return PK_OK;
}

/* Tag `im` with libvips' sRGB profile, the one its ICC conversion to sRGB
 * attaches: a picture converted from another profile says what it now is.
 * Returns non-zero on failure (libvips error). */
static int srgb_profile(VipsImage *im)
{
    VipsBlob *blob;
    if (vips_profile_load("srgb", &blob, NULL))
        return -1;
    size_t len;
    const void *data = vips_blob_get(blob, &len);
    vips_image_set_blob_copy(im, VIPS_META_ICC_NAME, data, len);
    vips_area_unref(VIPS_AREA(blob));
    return 0;
}

/* Block until the reference is analysed (at once when there is none).
 * Returns 1 when it is ready, 0 when it failed. */
static int wait_for_reference(job *j)
{
    if (!j->items_offset)
        return 1;
    pthread_mutex_lock(&j->ref_lock);
    while (j->ref_state == 0)
        pthread_cond_wait(&j->ref_done, &j->ref_lock);
    int ready = j->ref_state > 0;
    pthread_mutex_unlock(&j->ref_lock);
    return ready;
}

/* Analyse the reference (item 0) into j->ref and its thumbnail, then wake
 * the photos waiting for it, whatever the outcome. */
static void analyse_reference(job *j, pk_ctx *ctx, result *r)
{
    const pk_photo_batch *b = j->b;
    pk_status s = load_samples(ctx, b->ref, NULL, &j->ref);
    if (s == PK_OK && j->ref.n == 0)
        s = pk_fail(ctx, PK_ERR_INPUT, b->ref, "the reference has no opaque pixels");
    if (s == PK_OK && b->contact_sheet) {
        pk_photo_correction id;
        pk_photo_correction_identity(&id);
        s = thumb_of(ctx, j->ref.rgb_image, &id, &j->ref_uri);
    }
    j->ref_opts = j->mopts;
    if (j->ref.is_float)
        j->ref_opts.clip_level = 1e30;
    if (r) {
        r->status = s;
        if (s != PK_OK)
            snprintf(r->error, sizeof r->error, "%s", pk_ctx_errmsg(ctx));
    }
    pthread_mutex_lock(&j->ref_lock);
    j->ref_state = s == PK_OK && r ? 1 : -1;
    pthread_cond_broadcast(&j->ref_done);
    pthread_mutex_unlock(&j->ref_lock);
}

/* Correct photo i; fills r. */
static void correct_one(job *j, pk_ctx *ctx, size_t i, result *r)
{
    const pk_photo_batch *b = j->b;
    const char *path = pk_run_input(j->run, i);
    const char *format = j->formats[i];
    int jpeg = strcmp(format, "jpeg") == 0;
    samples sm = {0};
    VipsImage *full = NULL, *rgb = NULL, *alpha = NULL, *fixed = NULL, *final = NULL;
    void *icc = NULL;
    size_t icc_len = 0;
    float *curves = NULL; /* the input profile's, when folded into the kernel */
    const char *profile_note = NULL;
    pk_status s;

    int raw_file = pk_is_camera_raw(path);
    if ((s = load_samples(ctx, path, NULL, &sm)) != PK_OK)
        goto done;
    if (!wait_for_reference(j)) {
        r->skipped = 1;
        s = PK_ERR_INPUT;
        goto done;
    }
    unsigned mode = sm.grey ? b->mode & PK_PHOTO_EXPOSURE : b->mode;
    pk_photo_correction c;
    pk_photo_measure_opts mo = j->mopts;
    if (sm.is_float)
        mo.clip_level = 1e30; /* a float file holds values above white */
    if ((s = pk_photo_plan(ctx, sm.rgb, sm.n, &mo, j->ref.rgb, j->ref.n, &j->ref_opts, mode,
                           b->strength, &c)) != PK_OK)
        goto done;

    /* A RAW file is developed with the white balance and exposure; the
     * kernel applies what remains (≈ identity), colour and roll-off. */
    pk_photo_correction k = c;
    pk_photo_raw_develop dev;
    /* Full size, streamed from file to file: the reduced copy above has
     * already decoded the whole file, so damage was found there. */
    pk_image_options lo = {.keep_orientation = 1, .rgb = 1, .stream = 1};
    if (raw_file) {
        pk_photo_raw_info info;
        if ((s = pk_photo_raw_colour(ctx, path, &info)) != PK_OK)
            goto done;
        pk_photo_raw_settings(&info, &c, &dev);
        lo.raw.wb = PK_RAW_WB_CUSTOM;
        memcpy(lo.raw.wb_multipliers, dev.multipliers, sizeof dev.multipliers);
        lo.raw.exposure = dev.exposure;
        double inv[9];
        if (pk_mat3_invert(dev.developed, inv) == 0)
            pk_mat3_mul(c.matrix, inv, k.matrix);
    }

    if (b->keep_profile) {
        if ((s = input_profile(ctx, path, &icc, &icc_len)) != PK_OK)
            goto done;
        if (!icc)
            profile_note = "no embedded ICC profile: written as sRGB";
    }
    int to_profile = icc != NULL;
    /* A float file's values above white are real: they reach the kernel
     * (and its roll-off) unclipped. */
    lo.colour = to_profile || sm.is_float ? PK_COLOUR_LINEAR
                : jpeg                    ? PK_COLOUR_SRGB8
                                          : PK_COLOUR_SRGB16;
    /* An 8-bit RGB picture with a matrix/shaper profile (Display P3, Adobe
     * RGB...) is read as stored: the kernel applies the profile's curves
     * and matrix with the correction, instead of a separate ICC pass (8 %
     * of a 24 MP match). Anything else is converted by the loader. */
    if (lo.colour == PK_COLOUR_SRGB8 && !sm.grey) {
        pk_image_options keep = lo;
        keep.colour = PK_COLOUR_KEEP;
        double profile[9];
        if ((s = pk_image_load(ctx, path, &keep, &full)) != PK_OK)
            goto done;
        if ((curves = g_try_malloc(3 * 256 * sizeof *curves)) &&
            pk_image_profile_to_linear(full, curves, profile)) {
            double m[9];
            pk_mat3_mul(k.matrix, profile, m);
            memcpy(k.matrix, m, sizeof m);
            vips_image_remove(full, VIPS_META_ICC_NAME);
        } else {
            g_free(curves);
            curves = NULL;
            g_object_unref(full);
            full = NULL;
        }
    }
    if (!full && (s = pk_image_load(ctx, path, &lo, &full)) != PK_OK)
        goto done;
    if (split_alpha(full, &rgb, &alpha) || alpha_full_scale(path, &alpha)) {
        s = vips_failed(ctx, path, "cannot split its alpha band");
        goto done;
    }
    VipsBandFormat kfmt = to_profile ? VIPS_FORMAT_FLOAT : jpeg ? VIPS_FORMAT_UCHAR : VIPS_FORMAT_USHORT;
    if ((s = pk_photo_apply_vips(ctx, rgb, &k, curves, kfmt, &fixed)) != PK_OK)
        goto done;
    if (curves && srgb_profile(fixed)) {
        s = vips_failed(ctx, path, "cannot attach the sRGB profile");
        goto done;
    }
    if (to_profile) {
        VipsImage *t;
        if ((s = pk_photo_to_profile(ctx, fixed, icc, icc_len, jpeg ? 8 : 16, &t)) != PK_OK)
            goto done;
        g_object_unref(fixed);
        fixed = t;
    } else if (sm.grey) {
        VipsImage *t;
        if (vips_extract_band(fixed, &t, 0, NULL) ||
            vips_copy(t, &final, "interpretation",
                      jpeg ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_GREY16, NULL)) {
            s = vips_failed(ctx, path, "cannot make the greyscale result");
            goto done;
        }
        g_object_unref(t);
        g_object_unref(fixed);
        fixed = final;
        final = NULL;
    }
    if (alpha) {
        VipsImage *a, *joined;
        if (alpha_for(alpha, fixed->BandFmt, &a) || vips_bandjoin2(fixed, a, &joined, NULL)) {
            s = vips_failed(ctx, path, "cannot restore its alpha band");
            goto done;
        }
        g_object_unref(a);
        g_object_unref(fixed);
        fixed = joined;
    }
    final = fixed;
    fixed = NULL;

    if ((s = pk_output_open_ctx(j->run, ctx, j->outputs[i], &r->out)) != PK_OK)
        goto done;
    pk_output_add_input(r->out, path);
    /* Standard Huffman tables: optimising them would hold the whole
     * picture's coefficients in memory for ~4% of file size. */
    pk_image_save_options so = {.quality = b->quality, .bits = jpeg ? 8 : 16,
                                .name = j->outputs[i], .standard_huffman = 1};
    if ((s = pk_image_save(ctx, final, pk_output_tmp_path(r->out), format, &so)) != PK_OK)
        goto done;
    r->record = record_of(j, i, &c, sm.grey, raw_file ? &dev : NULL, final->Xsize, final->Ysize,
                          profile_note);
    pk_output_note(r->out, "photo", json_deep_copy(r->record));
    if (j->sheet) {
        pk_photo_correction id;
        pk_photo_correction_identity(&id);
        if ((s = thumb_of(ctx, sm.rgb_image, &id, &r->before_uri)) != PK_OK ||
            (s = thumb_of(ctx, sm.rgb_image, &c, &r->after_uri)) != PK_OK)
            goto done;
    }
    s = pk_output_commit(j->run, r->out); /* frees it, on this worker as well */
    r->out = NULL;
done:
    if (s != PK_OK) {
        r->status = s;
        snprintf(r->error, sizeof r->error, "%s", pk_ctx_errmsg(ctx));
        pk_output_abort(j->run, r->out);
        r->out = NULL;
        json_decref(r->record);
        r->record = NULL;
    }
    g_free(icc);
    g_free(curves);
    samples_free(&sm);
    if (full)
        g_object_unref(full);
    if (rgb)
        g_object_unref(rgb);
    if (alpha)
        g_object_unref(alpha);
    if (fixed)
        g_object_unref(fixed);
    if (final)
        g_object_unref(final);
}

static void *work(pk_ctx *wctx, size_t i, void *user)
{
    job *j = user;
    result *r = calloc(1, sizeof *r);
    if (j->items_offset && i == 0)
        analyse_reference(j, wctx, r);
    else if (r)
        correct_one(j, wctx, i - (size_t)j->items_offset, r);
    return r;
}

/* Item 0 of a run with a reference: report its failure. */
static void emit_reference(job *j, result *r)
{
    pk_ctx *ctx = pk_run_ctx(j->run);
    pk_status s = r ? r->status : pk_fail(ctx, PK_ERR_INTERNAL, j->b->ref, "out of memory");
    if (r && s != PK_OK)
        pk_fail(ctx, s, NULL, "%s", r->error);
    j->setup_status = s;
    free(r);
}

static void emit(size_t i, void *res, void *user)
{
    job *j = user;
    result *r = res;
    if (j->items_offset && i == 0) {
        emit_reference(j, r);
        return;
    }
    i -= (size_t)j->items_offset;
    pk_ctx *ctx = pk_run_ctx(j->run);
    const char *path = pk_run_input(j->run, i);
    if ((r && r->skipped) || j->setup_status != PK_OK) {
        /* The reference failed: that one error is the run's. */
        if (r) {
            pk_output_abort(j->run, r->out);
            json_decref(r->record);
            g_free(r->before_uri);
            g_free(r->after_uri);
            free(r);
        }
        return;
    }
    pk_status s = r ? r->status : pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    if (r && s != PK_OK)
        pk_fail(ctx, s, NULL, "%s", r->error);
    if (s != PK_OK) {
        pk_run_file_failed(j->run, path, s);
        if (j->sheet)
            pk_contact_sheet_add_failure(j->sheet, path, pk_ctx_errmsg(ctx));
    } else {
        if (j->sheet)
            pk_contact_sheet_add(j->sheet, r->record, r->before_uri, r->after_uri, j->ref_uri);
        pk_run_emit(j->run, r->record);
        r->record = NULL;
    }
    if (r) {
        json_decref(r->record);
        g_free(r->before_uri);
        g_free(r->after_uri);
        free(r);
    }
    pk_progress_update(ctx, (double)(i + 1));
}

/* ---- Output names --------------------------------------------------------- */

static char *stem_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    return g_strndup(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

/* Output paths: OUTDIR/<stem>.jpg|.tif, "-2", "-3"... when two inputs
 * share a stem. An output that is its own input is refused: inputs are
 * never written. */
static pk_status plan_outputs(job *j)
{
    pk_ctx *ctx = pk_run_ctx(j->run);
    size_t n = pk_run_input_count(j->run);
    GHashTable *taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    size_t dlen = strlen(j->b->outdir);
    const char *sep = dlen && j->b->outdir[dlen - 1] == '/' ? "" : "/";
    pk_status s = PK_OK;
    for (size_t i = 0; i < n && s == PK_OK; i++) {
        const char *in = pk_run_input(j->run, i);
        const char *fmt = j->b->format;
        if (strcmp(fmt, "auto") == 0) {
            /* JPEG stays JPEG; anything with more to keep (16-bit TIFF or
             * PNG, RAW, HEIC) becomes 16-bit TIFF. */
            const char *by_ext = NULL;
            int known = pk_image_format_from_path(ctx, in, &by_ext) == PK_OK;
            pk_ctx_clear_error(ctx);
            fmt = known && strcmp(by_ext, "jpeg") == 0 && !pk_is_camera_raw(in) ? "jpeg" : "tiff";
        }
        j->formats[i] = fmt;
        const char *ext = strcmp(fmt, "jpeg") == 0 ? "jpg" : "tif";
        char *stem = stem_of(in);
        char *name = g_strdup_printf("%s.%s", stem, ext);
        for (int k = 2; g_hash_table_contains(taken, name); k++) {
            g_free(name);
            name = g_strdup_printf("%s-%d.%s", stem, k, ext);
        }
        g_free(stem);
        j->outputs[i] = g_strdup_printf("%s%s%s", j->b->outdir, sep, name);
        g_hash_table_add(taken, name);
        char a[PATH_MAX], o[PATH_MAX];
        if (realpath(in, a) && realpath(j->outputs[i], o) && strcmp(a, o) == 0)
            s = pk_fail(ctx, PK_ERR_USAGE, in, "the output would replace this input; choose another -o");
    }
    g_hash_table_destroy(taken);
    return s;
}

/* ---- The run ------------------------------------------------------------ */

pk_status pk_photo_batch_run(pk_run *run, const pk_photo_batch *b)
{
    pk_ctx *ctx = pk_run_ctx(run);
    size_t n = pk_run_input_count(run);
    struct stat st;
    if (stat(b->outdir, &st) != 0)
        return pk_fail(ctx, PK_ERR_OUTPUT, b->outdir, "folder does not exist");
    if (!S_ISDIR(st.st_mode))
        return pk_fail(ctx, PK_ERR_OUTPUT, b->outdir, "not a folder (-o names the folder to write to)");
    job j = {.run = run, .b = b};
    pk_photo_measure_defaults(&j.mopts);
    j.outputs = calloc(n, sizeof *j.outputs);
    j.formats = calloc(n, sizeof *j.formats);
    pk_status s = j.outputs && j.formats ? PK_OK : pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (s == PK_OK)
        s = plan_outputs(&j);
    j.items_offset = b->ref != NULL;
    pthread_mutex_init(&j.ref_lock, NULL);
    pthread_cond_init(&j.ref_done, NULL);
    if (s == PK_OK && b->contact_sheet) {
        char *path = g_build_filename(b->outdir, "contact-sheet.html", NULL);
        s = pk_contact_sheet_open(run, path, b->title, b->ref, &j.sheet);
        g_free(path);
    }
    if (s == PK_OK) {
        pk_progress_begin(ctx, pk_run_op(run)->name, (double)n, "photos");
        s = pk_parallel_ordered(ctx, n + (size_t)j.items_offset, work, emit, &j);
        pk_progress_end(ctx);
        if (s == PK_OK)
            s = j.setup_status;
    }
    pthread_cond_destroy(&j.ref_done);
    pthread_mutex_destroy(&j.ref_lock);
    if (j.sheet) {
        if (s == PK_OK)
            s = pk_contact_sheet_close(run, j.sheet);
        else
            pk_contact_sheet_abort(run, j.sheet);
    }
    samples_free(&j.ref);
    g_free(j.ref_uri);
    for (size_t i = 0; j.outputs && i < n; i++)
        g_free(j.outputs[i]);
    free(j.outputs);
    free(j.formats);
    return s;
}

/* One line per photo: what was done to it. */
void pk_photo_print_record(const json_t *r, FILE *out)
{
    fprintf(out, "%s -> %s", json_string_value(json_object_get(r, "input")),
            json_string_value(json_object_get(r, "output")));
    const json_t *e = json_object_get(r, "exposure");
    if (e)
        fprintf(out, ": %+.2f EV", json_number_value(json_object_get(e, "ev")));
    const json_t *wb = json_object_get(r, "white_balance");
    const json_t *before = json_object_get(wb, "cct_before"), *after = json_object_get(wb, "cct_after");
    if (json_is_true(json_object_get(wb, "applied")) && before && after)
        fprintf(out, "%s %.0f K -> %.0f K", e ? "," : ":", json_number_value(before),
                json_number_value(after));
    if (json_object_get(r, "color"))
        fputs(", colour matched", out);
    const json_t *notes = json_object_get(r, "notes");
    size_t k;
    const json_t *note;
    json_array_foreach(notes, k, note) fprintf(out, " (%s)", json_string_value(note));
    fputc('\n', out);
}

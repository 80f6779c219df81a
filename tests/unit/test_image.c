/* Unit tests: loading photos for processing (orientation, colour, depth,
 * alpha, shrink-on-load, damage, RAW), thumbnails and saving. Test
 * pictures are made here with libvips (and exiftool for EXIF orientation);
 * camera RAW files come from $PK_CORPORA/raw when present. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <lcms2.h>

#include "media/internal.h"
#include "media/jpeg.h"

#define A98_ICC "/usr/share/color/icc/ghostscript/a98.icc"
#define CMYK_ICC "/usr/share/color/icc/ghostscript/default_cmyk.icc"

typedef struct fixture {
    pk_ctx *ctx;
    char dir[64];
    char path[256];   /* scratch for file names */
    int live_images;  /* VipsImages alive before the test */
} fixture;

/* ---- helpers ------------------------------------------------------------ */

static const char *in_dir(fixture *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

static void *count_image(void *o, void *a, void *b)
{
    (void)b;
    if (VIPS_IS_IMAGE(o))
        (*(int *)a)++;
    return NULL;
}

/* libvips objects are excluded from LeakSanitizer (its caches), so the
 * tests count live images themselves: every test must release what it
 * loads, and postkit must release what it makes. */
static int live_images(void)
{
    int n = 0;
    vips_object_map(count_image, &n, NULL);
    return n;
}

/* A solid image w x h with `bands` bands of value v. */
static VipsImage *solid(int w, int h, int bands, double v)
{
    VipsImage *black, *out;
    assert_int_equal(vips_black(&black, w, h, "bands", bands, NULL), 0);
    assert_int_equal(vips_linear1(black, &out, 1.0, v, NULL), 0);
    g_object_unref(black);
    VipsImage *u;
    assert_int_equal(vips_cast(out, &u, VIPS_FORMAT_UCHAR, NULL), 0);
    g_object_unref(out);
    return u;
}

/* Paint a rectangle in place (the image must be in memory). */
static void rect(VipsImage *im, int x, int y, int w, int h, double r, double g, double b)
{
    double ink[3] = {r, g, b};
    assert_int_equal(vips_draw_rect(im, ink, im->Bands, x, y, w, h, "fill", TRUE, NULL), 0);
}

static VipsImage *in_memory(VipsImage *lazy)
{
    VipsImage *m = vips_image_copy_memory(lazy);
    assert_non_null(m);
    g_object_unref(lazy);
    return m;
}

/* The upright test picture: 60x40 grey, red block top-left, blue block
 * top-right, so any rotation or mirror moves them. */
static VipsImage *upright_marker(void)
{
    VipsImage *im = in_memory(solid(60, 40, 3, 128));
    rect(im, 0, 0, 16, 16, 255, 0, 0);
    rect(im, 44, 0, 16, 16, 0, 0, 255);
    return im;
}

static void pixel(VipsImage *im, int x, int y, double *v, int n)
{
    double *vec;
    int got;
    assert_int_equal(vips_getpoint(im, &vec, &got, x, y, NULL), 0);
    assert_true(got >= n);
    for (int i = 0; i < n; i++)
        v[i] = vec[i];
    g_free(vec);
}

static void save(VipsImage *im, const char *path)
{
    assert_int_equal(vips_image_write_to_file(im, path, NULL), 0);
}

static int have_tool(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* CIE76 colour difference of two 8-bit sRGB triples. */
static double delta_e(const double a[3], const double b[3])
{
    double pix[2][3];
    for (int k = 0; k < 2; k++) {
        const double *c = k ? b : a;
        VipsImage *im = in_memory(solid(1, 1, 3, 0));
        rect(im, 0, 0, 1, 1, c[0], c[1], c[2]);
        VipsImage *typed, *lab;
        assert_int_equal(vips_copy(im, &typed, "interpretation", VIPS_INTERPRETATION_sRGB, NULL), 0);
        assert_int_equal(vips_colourspace(typed, &lab, VIPS_INTERPRETATION_LAB, NULL), 0);
        pixel(lab, 0, 0, pix[k], 3);
        g_object_unref(im);
        g_object_unref(typed);
        g_object_unref(lab);
    }
    double d = 0;
    for (int i = 0; i < 3; i++)
        d += (pix[0][i] - pix[1][i]) * (pix[0][i] - pix[1][i]);
    return sqrt(d);
}

/* Write the first `fraction` of file `src` to `dst`. */
static void truncate_copy(const char *src, const char *dst, double fraction)
{
    FILE *in = fopen(src, "rb");
    assert_non_null(in);
    fseek(in, 0, SEEK_END);
    long n = ftell(in);
    fseek(in, 0, SEEK_SET);
    long keep = (long)(n * fraction);
    char *buf = malloc((size_t)keep);
    assert_int_equal(fread(buf, 1, (size_t)keep, in), (size_t)keep);
    fclose(in);
    FILE *out = fopen(dst, "wb");
    assert_int_equal(fwrite(buf, 1, (size_t)keep, out), (size_t)keep);
    fclose(out);
    free(buf);
}

/* ---- orientation -------------------------------------------------------- */

/* The stored picture that EXIF orientation n turns into `up`: the inverse
 * of the display transform, built from flips and quarter turns. */
static VipsImage *stored_for(VipsImage *up, int n)
{
    VipsImage *a = NULL, *b = NULL;
    switch (n) {
    case 1: return g_object_ref(up);
    case 2: assert_int_equal(vips_flip(up, &a, VIPS_DIRECTION_HORIZONTAL, NULL), 0); return a;
    case 3: assert_int_equal(vips_rot(up, &a, VIPS_ANGLE_D180, NULL), 0); return a;
    case 4: assert_int_equal(vips_flip(up, &a, VIPS_DIRECTION_VERTICAL, NULL), 0); return a;
    case 5: /* transpose: its own inverse */
        assert_int_equal(vips_rot(up, &a, VIPS_ANGLE_D90, NULL), 0);
        assert_int_equal(vips_flip(a, &b, VIPS_DIRECTION_HORIZONTAL, NULL), 0);
        break;
    case 6: /* shown turned 90° clockwise: store it turned back */
        assert_int_equal(vips_rot(up, &b, VIPS_ANGLE_D270, NULL), 0);
        return b;
    case 7: /* transverse: its own inverse */
        assert_int_equal(vips_rot(up, &a, VIPS_ANGLE_D270, NULL), 0);
        assert_int_equal(vips_flip(a, &b, VIPS_DIRECTION_HORIZONTAL, NULL), 0);
        break;
    default: /* 8: shown turned 90° counter-clockwise */
        assert_int_equal(vips_rot(up, &b, VIPS_ANGLE_D90, NULL), 0);
        return b;
    }
    g_object_unref(a);
    return b;
}

static void test_orientation(void **state)
{
    fixture *f = *state;
    if (!have_tool("exiftool"))
        skip();
    VipsImage *up = upright_marker();
    for (int n = 1; n <= 8; n++) {
        char path[128], cmd[512];
        snprintf(path, sizeof path, "%s/orient%d.jpg", f->dir, n);
        VipsImage *stored = stored_for(up, n);
        assert_int_equal(vips_jpegsave(stored, path, "Q", 95, NULL), 0);
        g_object_unref(stored);
        snprintf(cmd, sizeof cmd, "exiftool -q -overwrite_original -n -Orientation=%d '%s'", n, path);
        assert_int_equal(system(cmd), 0);

        VipsImage *im;
        assert_int_equal(pk_image_load(f->ctx, path, NULL, &im), PK_OK);
        assert_int_equal(im->Xsize, 60);
        assert_int_equal(im->Ysize, 40);
        double tl[3], tr[3], bl[3];
        pixel(im, 8, 8, tl, 3);
        pixel(im, 52, 8, tr, 3);
        pixel(im, 8, 32, bl, 3);
        print_message("orientation %d: top-left %.0f,%.0f,%.0f top-right %.0f,%.0f,%.0f\n", n,
                      tl[0], tl[1], tl[2], tr[0], tr[1], tr[2]);
        assert_true(tl[0] > 200 && tl[2] < 60);   /* red */
        assert_true(tr[2] > 200 && tr[0] < 60);   /* blue */
        assert_true(fabs(bl[0] - 128) < 12);      /* grey */
        int o = 0;
        assert_int_equal(vips_image_get_int(im, VIPS_META_ORIENTATION, &o), 0);
        assert_int_equal(o, 1); /* reset: nothing turns it twice */
        g_object_unref(im);

        /* keep_orientation: the stored pixels, and the tag says how. */
        pk_image_options keep = {.keep_orientation = 1};
        assert_int_equal(pk_image_load(f->ctx, path, &keep, &im), PK_OK);
        assert_int_equal(im->Xsize, n >= 5 ? 40 : 60);
        assert_int_equal(vips_image_get_int(im, VIPS_META_ORIENTATION, &o), 0);
        assert_int_equal(o, n);
        g_object_unref(im);

        /* The thumbnail is upright too. */
        assert_int_equal(pk_image_thumbnail(f->ctx, path, 30, &im), PK_OK);
        assert_int_equal(im->Xsize, 30);
        assert_int_equal(im->Ysize, 20);
        pixel(im, 3, 3, tl, 3);
        assert_true(tl[0] > 180 && tl[2] < 80);
        g_object_unref(im);
    }
    g_object_unref(up);
}

/* ---- colour ------------------------------------------------------------- */

static const double patches[4][3] = {
    {200, 60, 50}, {60, 160, 70}, {50, 70, 190}, {128, 128, 128},
};

/* 4 patches of 16x16 in a row, sRGB. */
static VipsImage *patch_image(void)
{
    VipsImage *im = in_memory(solid(64, 16, 3, 0));
    for (int i = 0; i < 4; i++)
        rect(im, i * 16, 0, 16, 16, patches[i][0], patches[i][1], patches[i][2]);
    VipsImage *typed;
    assert_int_equal(vips_copy(im, &typed, "interpretation", VIPS_INTERPRETATION_sRGB, NULL), 0);
    g_object_unref(im);
    return typed;
}

static void test_icc_adobe_rgb(void **state)
{
    fixture *f = *state;
    if (access(A98_ICC, R_OK) != 0)
        skip();
    VipsImage *ref = patch_image(), *adobe;
    /* 16-bit AdobeRGB TIFF with the profile embedded. */
    assert_int_equal(vips_icc_transform(ref, &adobe, A98_ICC, "input_profile", "srgb", "depth", 16,
                                        NULL), 0);
    const char *path = in_dir(f, "adobe.tif");
    save(adobe, path);
    g_object_unref(adobe);

    VipsImage *keep, *srgb, *lin;
    assert_int_equal(pk_image_load(f->ctx, path, NULL, &keep), PK_OK);
    pk_image_options o8 = {.colour = PK_COLOUR_SRGB8};
    assert_int_equal(pk_image_load(f->ctx, path, &o8, &srgb), PK_OK);
    pk_image_options ol = {.colour = PK_COLOUR_LINEAR};
    assert_int_equal(pk_image_load(f->ctx, path, &ol, &lin), PK_OK);
    assert_int_equal(keep->BandFmt, VIPS_FORMAT_USHORT);
    assert_int_equal(srgb->BandFmt, VIPS_FORMAT_UCHAR);
    assert_int_equal(lin->BandFmt, VIPS_FORMAT_FLOAT);
    assert_int_equal(lin->Type, VIPS_INTERPRETATION_scRGB);
    assert_false(vips_image_get_typeof(lin, VIPS_META_ICC_NAME));

    VipsImage *ref_lin;
    assert_int_equal(vips_colourspace(ref, &ref_lin, VIPS_INTERPRETATION_scRGB, NULL), 0);
    for (int i = 0; i < 4; i++) {
        double k[3], s[3], l[3], rl[3];
        pixel(keep, i * 16 + 8, 8, k, 3);
        pixel(srgb, i * 16 + 8, 8, s, 3);
        pixel(lin, i * 16 + 8, 8, l, 3);
        pixel(ref_lin, i * 16 + 8, 8, rl, 3);
        double de = delta_e(s, patches[i]);
        print_message("patch %d: sRGB %.0f,%.0f,%.0f (dE %.2f), linear %.4f,%.4f,%.4f vs %.4f,%.4f,%.4f\n",
                      i, s[0], s[1], s[2], de, l[0], l[1], l[2], rl[0], rl[1], rl[2]);
        assert_true(de < 2.0);
        for (int c = 0; c < 3; c++)
            assert_true(fabs(l[c] - rl[c]) < 0.01);
        /* The file's own numbers differ for saturated patches: a
         * conversion really took place. */
        if (i < 3)
            assert_true(delta_e((double[3]){k[0] / 257, k[1] / 257, k[2] / 257}, patches[i]) > 3.0);
    }
    g_object_unref(ref_lin);
    g_object_unref(keep);
    g_object_unref(srgb);
    g_object_unref(lin);
    g_object_unref(ref);
}

/* An 8-bit Adobe RGB JPEG: the curves and matrix of its profile give the
 * linear light pk_image_load delivers through lcms2, on every patch; a
 * file without a profile and a CMYK one give none. */
static void test_profile_to_linear(void **state)
{
    fixture *f = *state;
    if (access(A98_ICC, R_OK) != 0 || access(CMYK_ICC, R_OK) != 0)
        skip();
    VipsImage *ref = patch_image(), *adobe, *cmyk;
    assert_int_equal(vips_icc_transform(ref, &adobe, A98_ICC, "input_profile", "srgb", NULL), 0);
    char adobe_path[256];
    snprintf(adobe_path, sizeof adobe_path, "%s", in_dir(f, "adobe8.jpg"));
    assert_int_equal(vips_jpegsave(adobe, adobe_path, "Q", 98, NULL), 0);
    g_object_unref(adobe);

    VipsImage *keep, *lin;
    pk_image_options ol = {.colour = PK_COLOUR_LINEAR};
    assert_int_equal(pk_image_load(f->ctx, adobe_path, NULL, &keep), PK_OK);
    assert_int_equal(pk_image_load(f->ctx, adobe_path, &ol, &lin), PK_OK);
    float curves[3 * 256];
    double m[9];
    assert_int_equal(pk_image_profile_to_linear(keep, curves, m), 1);
    for (int i = 0; i < 4; i++) {
        double k[3], l[3];
        pixel(keep, i * 16 + 8, 8, k, 3);
        pixel(lin, i * 16 + 8, 8, l, 3);
        for (int o = 0; o < 3; o++) {
            double v = 0;
            for (int c = 0; c < 3; c++)
                v += m[o * 3 + c] * curves[c * 256 + (int)k[c]];
            assert_true(fabs(v - l[o]) < 1e-4);
        }
    }
    /* Adobe RGB green is outside sRGB: a negative red, kept. */
    assert_true(m[1] < 0);
    g_object_unref(keep);
    g_object_unref(lin);

    VipsImage *plain;
    save(ref, in_dir(f, "plain.jpg"));
    assert_int_equal(pk_image_load(f->ctx, f->path, NULL, &plain), PK_OK);
    assert_int_equal(pk_image_profile_to_linear(plain, curves, m), 0);
    g_object_unref(plain);
    assert_int_equal(vips_icc_transform(ref, &cmyk, CMYK_ICC, "input_profile", "srgb", NULL), 0);
    assert_int_equal(vips_jpegsave(cmyk, in_dir(f, "cmyk8.jpg"), "Q", 98, NULL), 0);
    g_object_unref(cmyk);
    VipsImage *c4;
    assert_int_equal(pk_image_load(f->ctx, f->path, NULL, &c4), PK_OK);
    assert_int_equal(pk_image_profile_to_linear(c4, curves, m), 0);
    g_object_unref(c4);
    g_object_unref(ref);
}

/* A JPEG tagged with an sRGB profile (lcms2's own, not the one libvips
 * converts to) is already sRGB: PK_COLOUR_SRGB8 delivers its own pixels
 * with its own profile attached, no conversion. */
/* A copy of `im` carrying lcms2's sRGB profile. */
static VipsImage *srgb_tagged(VipsImage *im)
{
    cmsHPROFILE p = cmsCreate_sRGBProfile();
    cmsUInt32Number len = 0;
    assert_true(cmsSaveProfileToMem(p, NULL, &len));
    void *icc = malloc(len);
    assert_true(cmsSaveProfileToMem(p, icc, &len));
    cmsCloseProfile(p);
    VipsImage *tagged;
    assert_int_equal(vips_copy(im, &tagged, NULL), 0);
    vips_image_set_blob_copy(tagged, VIPS_META_ICC_NAME, icc, len);
    free(icc);
    return tagged;
}

static void test_srgb_tagged_unchanged(void **state)
{
    fixture *f = *state;
    VipsImage *ref = patch_image(), *tagged = srgb_tagged(ref);
    char path[256];
    snprintf(path, sizeof path, "%s", in_dir(f, "srgb-tagged.jpg"));
    assert_int_equal(vips_jpegsave(tagged, path, "Q", 95, NULL), 0);
    const void *icc;
    size_t len;
    assert_int_equal(vips_image_get_blob(tagged, VIPS_META_ICC_NAME, &icc, &len), 0);
    VipsImage *keep, *srgb;
    pk_image_options o8 = {.colour = PK_COLOUR_SRGB8};
    assert_int_equal(pk_image_load(f->ctx, path, NULL, &keep), PK_OK);
    assert_int_equal(pk_image_load(f->ctx, path, &o8, &srgb), PK_OK);
    assert_true(vips_image_get_typeof(keep, VIPS_META_ICC_NAME) != 0);
    const void *got;
    size_t got_len;
    assert_int_equal(vips_image_get_blob(srgb, VIPS_META_ICC_NAME, &got, &got_len), 0);
    assert_true(got_len == len && memcmp(got, icc, len) == 0);
    g_object_unref(tagged);
    for (int y = 0; y < 16; y += 5)
        for (int x = 0; x < 64; x += 7) {
            double k[3], s8[3];
            pixel(keep, x, y, k, 3);
            pixel(srgb, x, y, s8, 3);
            for (int c = 0; c < 3; c++)
                assert_true(k[c] == s8[c]);
        }
    g_object_unref(keep);
    g_object_unref(srgb);
    g_object_unref(ref);
}

static void test_cmyk_jpeg(void **state)
{
    fixture *f = *state;
    if (access(CMYK_ICC, R_OK) != 0)
        skip();
    VipsImage *ref = patch_image(), *cmyk;
    assert_int_equal(vips_icc_transform(ref, &cmyk, CMYK_ICC, "input_profile", "srgb", NULL), 0);
    assert_int_equal(cmyk->Bands, 4);
    const char *path = in_dir(f, "cmyk.jpg");
    assert_int_equal(vips_jpegsave(cmyk, path, "Q", 98, NULL), 0);
    g_object_unref(cmyk);

    VipsImage *keep, *srgb, *lin;
    assert_int_equal(pk_image_load(f->ctx, path, NULL, &keep), PK_OK);
    assert_int_equal(vips_image_guess_interpretation(keep), VIPS_INTERPRETATION_CMYK);
    pk_image_options o8 = {.colour = PK_COLOUR_SRGB8};
    assert_int_equal(pk_image_load(f->ctx, path, &o8, &srgb), PK_OK);
    assert_int_equal(srgb->Bands, 3);
    pk_image_options ol = {.colour = PK_COLOUR_LINEAR};
    assert_int_equal(pk_image_load(f->ctx, path, &ol, &lin), PK_OK);
    assert_int_equal(lin->Bands, 3);
    /* The reference: lcms2 through libvips, straight from the file's CMYK. */
    VipsImage *direct;
    assert_int_equal(vips_icc_transform(keep, &direct, "srgb", "embedded", TRUE, NULL), 0);
    for (int i = 0; i < 4; i++) {
        double s[3], l[3], d[3];
        pixel(srgb, i * 16 + 8, 8, s, 3);
        pixel(lin, i * 16 + 8, 8, l, 3);
        pixel(direct, i * 16 + 8, 8, d, 3);
        double de = delta_e(s, patches[i]);
        print_message("CMYK patch %d: sRGB %.0f,%.0f,%.0f (dE %.2f from the original) linear %.3f,%.3f,%.3f\n",
                      i, s[0], s[1], s[2], de, l[0], l[1], l[2]);
        /* Through a print gamut and back: close for colours a press can
         * print (the saturated blue, patch 2, is outside it). */
        if (i != 2)
            assert_true(de < 8.0);
        assert_true(delta_e(s, d) < 1.0);
        /* The linear path (lcms2 directly) agrees with the 8-bit one. */
        for (int c = 0; c < 3; c++) {
            double enc = l[c] <= 0.0031308 ? 12.92 * l[c] : 1.055 * pow(l[c], 1 / 2.4) - 0.055;
            assert_true(fabs(enc * 255 - s[c]) < 3);
        }
    }
    g_object_unref(direct);
    g_object_unref(keep);
    g_object_unref(srgb);
    g_object_unref(lin);

    g_object_unref(ref);
}

/* Greyscale stays one band unless asked; a grey JPEG carrying an RGB
 * profile (cameras and editors write them) is read with a warning. */
static void test_grey(void **state)
{
    fixture *f = *state;
    VipsImage *grey = in_memory(solid(40, 30, 1, 128)), *typed, *srgb;
    assert_int_equal(vips_copy(grey, &typed, "interpretation", VIPS_INTERPRETATION_B_W, NULL), 0);
    const char *path = in_dir(f, "grey.png");
    save(typed, path);
    VipsImage *im;
    pk_image_options o8 = {.colour = PK_COLOUR_SRGB8};
    assert_int_equal(pk_image_load(f->ctx, path, &o8, &im), PK_OK);
    assert_int_equal(im->Bands, 1);
    g_object_unref(im);
    o8.rgb = 1;
    assert_int_equal(pk_image_load(f->ctx, path, &o8, &im), PK_OK);
    assert_int_equal(im->Bands, 3);
    g_object_unref(im);
    pk_image_options ol = {.colour = PK_COLOUR_LINEAR};
    assert_int_equal(pk_image_load(f->ctx, path, &ol, &im), PK_OK);
    assert_int_equal(im->Bands, 1);
    assert_int_equal(im->BandFmt, VIPS_FORMAT_FLOAT);
    int mark = 0;
    assert_int_equal(vips_image_get_int(im, PK_META_LINEAR, &mark), 0);
    assert_int_equal(mark, 1);
    double v;
    pixel(im, 5, 5, &v, 1);
    assert_true(fabs(v - 0.2158) < 0.002); /* sRGB 128 in linear light */
    g_object_unref(im);

    /* An RGB profile on a grey JPEG. */
    VipsImage *rgb = patch_image(), *tagged, *with_profile;
    assert_int_equal(vips_icc_transform(rgb, &tagged, "srgb", "input_profile", "srgb", NULL), 0);
    const void *blob;
    size_t len;
    assert_int_equal(vips_image_get_blob(tagged, VIPS_META_ICC_NAME, &blob, &len), 0);
    assert_int_equal(vips_copy(typed, &with_profile, NULL), 0);
    vips_image_set_blob_copy(with_profile, VIPS_META_ICC_NAME, blob, len);
    path = in_dir(f, "grey-rgb-profile.jpg");
    save(with_profile, path);
    ol.rgb = 1;
    assert_int_equal(pk_image_load(f->ctx, path, &ol, &im), PK_OK);
    assert_int_equal(im->Bands, 3);
    g_object_unref(im);
    assert_int_equal(pk_image_thumbnail(f->ctx, path, 20, &srgb), PK_OK);
    assert_int_equal(srgb->Bands, 3);
    assert_int_equal(srgb->Xsize, 20);
    g_object_unref(srgb);
    g_object_unref(with_profile);
    g_object_unref(tagged);
    g_object_unref(rgb);
    g_object_unref(typed);
    g_object_unref(grey);
}

/* 16 bits survive a trip to linear float and back: no 8-bit step. */
static void test_16bit_linear_round_trip(void **state)
{
    fixture *f = *state;
    /* A ramp over 4096 distinct 16-bit levels in each band. */
    VipsImage *x, *ramp, *ramp16, *rgb, *typed;
    assert_int_equal(vips_xyz(&x, 4096, 8, NULL), 0);
    VipsImage *xb;
    assert_int_equal(vips_extract_band(x, &xb, 0, NULL), 0);
    assert_int_equal(vips_linear1(xb, &ramp, 16.0, 20.0, NULL), 0);
    assert_int_equal(vips_cast(ramp, &ramp16, VIPS_FORMAT_USHORT, NULL), 0);
    VipsImage *three[3] = {ramp16, ramp16, ramp16};
    assert_int_equal(vips_bandjoin(three, &rgb, 3, NULL), 0);
    assert_int_equal(vips_copy(rgb, &typed, "interpretation", VIPS_INTERPRETATION_RGB16, NULL), 0);
    const char *src = in_dir(f, "ramp16.tif");
    save(typed, src);

    VipsImage *lin;
    pk_image_options ol = {.colour = PK_COLOUR_LINEAR};
    assert_int_equal(pk_image_load(f->ctx, src, &ol, &lin), PK_OK);
    char dst[256];
    snprintf(dst, sizeof dst, "%s/ramp16-out.tif", f->dir);
    pk_image_save_options so = {.bits = 16};
    assert_int_equal(pk_image_save(f->ctx, lin, dst, "tiff", &so), PK_OK);
    g_object_unref(lin);

    VipsImage *back;
    assert_int_equal(pk_image_load(f->ctx, dst, NULL, &back), PK_OK);
    assert_int_equal(back->BandFmt, VIPS_FORMAT_USHORT);
    assert_int_equal(back->Bands, 3);
    /* Count distinct values of band 0 along the ramp; compare with the source. */
    VipsImage *orig = vips_image_copy_memory(typed);
    assert_non_null(orig);
    static unsigned char seen[65536];
    memset(seen, 0, sizeof seen);
    int distinct = 0, worst = 0;
    for (int i = 0; i < 4096; i++) {
        unsigned short a = ((unsigned short *)VIPS_IMAGE_ADDR(back, i, 3))[0];
        unsigned short b = ((unsigned short *)VIPS_IMAGE_ADDR(orig, i, 3))[0];
        if (!seen[a]++)
            distinct++;
        if (abs(a - b) > worst)
            worst = abs(a - b);
    }
    print_message("16-bit round trip: %d distinct levels of 4096, worst error %d\n", distinct, worst);
    assert_true(distinct > 4000);
    assert_true(worst <= 2);
    g_object_unref(orig);
    g_object_unref(back);
    VipsImage *all[] = {x, xb, ramp, ramp16, rgb, typed};
    for (size_t i = 0; i < PK_ARRAY_LEN(all); i++)
        g_object_unref(all[i]);
}

static void test_alpha(void **state)
{
    fixture *f = *state;
    VipsImage *im = in_memory(solid(32, 32, 4, 0));
    double red_half[4] = {255, 0, 0, 128}, clear[4] = {0, 0, 0, 0}, opaque[4] = {0, 255, 0, 255};
    assert_int_equal(vips_draw_rect(im, red_half, 4, 0, 0, 16, 32, "fill", TRUE, NULL), 0);
    assert_int_equal(vips_draw_rect(im, clear, 4, 16, 0, 8, 32, "fill", TRUE, NULL), 0);
    assert_int_equal(vips_draw_rect(im, opaque, 4, 24, 0, 8, 32, "fill", TRUE, NULL), 0);
    VipsImage *typed;
    assert_int_equal(vips_copy(im, &typed, "interpretation", VIPS_INTERPRETATION_sRGB, NULL), 0);
    const char *path = in_dir(f, "alpha.png");
    save(typed, path);
    VipsImage *keep, *flat, *lin;
    assert_int_equal(pk_image_load(f->ctx, path, NULL, &keep), PK_OK);
    assert_int_equal(keep->Bands, 4);
    pk_image_options of = {.flatten = 1, .colour = PK_COLOUR_SRGB8};
    assert_int_equal(pk_image_load(f->ctx, path, &of, &flat), PK_OK);
    assert_int_equal(flat->Bands, 3);
    double p[4];
    pixel(flat, 20, 5, p, 3); /* transparent: white */
    assert_true(p[0] > 250 && p[1] > 250 && p[2] > 250);
    pixel(flat, 5, 5, p, 3);  /* half red over white */
    assert_true(p[0] > 250 && fabs(p[1] - 127) < 3);
    pixel(flat, 28, 5, p, 3); /* opaque green */
    assert_true(p[1] > 250 && p[0] < 5);
    pk_image_options ol = {.colour = PK_COLOUR_LINEAR};
    assert_int_equal(pk_image_load(f->ctx, path, &ol, &lin), PK_OK);
    assert_int_equal(lin->Bands, 4);
    pixel(lin, 5, 5, p, 4);
    assert_true(fabs(p[0] - 1.0) < 0.01 && fabs(p[3] - 128) < 0.5);
    /* Linear with alpha saved as PNG keeps the alpha scale. */
    char out[256];
    snprintf(out, sizeof out, "%s/alpha-out.png", f->dir);
    assert_int_equal(pk_image_save(f->ctx, lin, out, "png", NULL), PK_OK);
    VipsImage *back;
    assert_int_equal(pk_image_load(f->ctx, out, NULL, &back), PK_OK);
    pixel(back, 5, 5, p, 4);
    print_message("alpha after linear round trip: %g %g %g %g (format %d)\n", p[0], p[1], p[2], p[3],
                  back->BandFmt);
    assert_true(fabs(p[3] / (back->BandFmt == VIPS_FORMAT_USHORT ? 65535.0 : 255.0) - 128 / 255.0) < 0.01);
    g_object_unref(back);
    g_object_unref(keep);
    g_object_unref(flat);
    g_object_unref(lin);
    g_object_unref(typed);
    g_object_unref(im);
}

/* ---- size, pages, formats ------------------------------------------------ */

static void test_max_size(void **state)
{
    fixture *f = *state;
    VipsImage *big = upright_marker(), *large;
    assert_int_equal(vips_resize(big, &large, 50.0, "kernel", VIPS_KERNEL_NEAREST, NULL), 0); /* 3000x2000 */
    const char *names[] = {"big.jpg", "big.png", "big.webp", "big.heic"};
    for (size_t i = 0; i < PK_ARRAY_LEN(names); i++) {
        const char *path = in_dir(f, names[i]);
        if (vips_image_write_to_file(large, path, NULL) != 0) {
            /* no HEIF encoder here: nothing to test for this format */
            vips_error_clear();
            continue;
        }
        VipsImage *im;
        pk_image_options o = {.max_size = 300};
        assert_int_equal(pk_image_load(f->ctx, path, &o, &im), PK_OK);
        print_message("%s at max 300: %dx%d\n", names[i], im->Xsize, im->Ysize);
        assert_int_equal(im->Xsize, 300);
        assert_int_equal(im->Ysize, 200);
        double p[3];
        pixel(im, 10, 10, p, 3);
        assert_true(p[0] > 200 && p[2] < 60);
        g_object_unref(im);
        /* Never enlarged. */
        o.max_size = 5000;
        assert_int_equal(pk_image_load(f->ctx, path, &o, &im), PK_OK);
        assert_int_equal(im->Xsize, 3000);
        g_object_unref(im);
        assert_int_equal(pk_image_thumbnail(f->ctx, path, 128, &im), PK_OK);
        assert_int_equal(im->Xsize, 128);
        assert_int_equal(im->Bands, 3);
        assert_int_equal(im->BandFmt, VIPS_FORMAT_UCHAR);
        g_object_unref(im);
    }
    g_object_unref(large);
    g_object_unref(big);
}

static void test_pages(void **state)
{
    fixture *f = *state;
    /* Two pages stacked: black then white, page-height set. */
    VipsImage *black = solid(20, 10, 3, 0), *white = solid(20, 10, 3, 255), *both, *typed;
    assert_int_equal(vips_join(black, white, &both, VIPS_DIRECTION_VERTICAL, NULL), 0);
    assert_int_equal(vips_copy(both, &typed, NULL), 0);
    vips_image_set_int(typed, VIPS_META_PAGE_HEIGHT, 10);
    const char *path = in_dir(f, "pages.tif");
    save(typed, path);
    VipsImage *im;
    double p[3];
    assert_int_equal(pk_image_load(f->ctx, path, NULL, &im), PK_OK);
    assert_int_equal(im->Ysize, 10);
    pixel(im, 5, 5, p, 3);
    assert_true(p[0] < 5);
    g_object_unref(im);
    pk_image_options o = {.page = 1};
    assert_int_equal(pk_image_load(f->ctx, path, &o, &im), PK_OK);
    pixel(im, 5, 5, p, 3);
    assert_true(p[0] > 250);
    g_object_unref(im);
    o.page = 2;
    assert_int_equal(pk_image_load(f->ctx, path, &o, &im), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "2 pages"));
    /* An animated GIF: the first frame by default, thumbnails too. */
    const char *gif = in_dir(f, "anim.gif");
    save(typed, gif);
    assert_int_equal(pk_image_load(f->ctx, gif, NULL, &im), PK_OK);
    assert_int_equal(im->Ysize, 10);
    pixel(im, 5, 5, p, 3);
    assert_true(p[0] < 5);
    g_object_unref(im);
    o.page = 1;
    assert_int_equal(pk_image_load(f->ctx, gif, &o, &im), PK_OK);
    pixel(im, 5, 5, p, 3);
    assert_true(p[0] > 250);
    g_object_unref(im);
    assert_int_equal(pk_image_thumbnail(f->ctx, gif, 8, &im), PK_OK);
    assert_int_equal(im->Xsize, 8);
    assert_int_equal(im->Ysize, 4);
    g_object_unref(im);
    g_object_unref(typed);
    g_object_unref(both);
    g_object_unref(black);
    g_object_unref(white);
}

static void test_save_formats(void **state)
{
    fixture *f = *state;
    VipsImage *im = upright_marker();
    const char *fmts[] = {"jpeg", "png", "tiff", "webp"};
    for (size_t i = 0; i < PK_ARRAY_LEN(fmts); i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/saved-%s", f->dir, fmts[i]); /* no extension, like a temporary */
        assert_int_equal(pk_image_save(f->ctx, im, path, fmts[i], NULL), PK_OK);
        VipsImage *back;
        assert_int_equal(pk_image_load(f->ctx, path, NULL, &back), PK_OK);
        double p[3];
        pixel(back, 8, 8, p, 3);
        assert_true(p[0] > 200 && p[2] < 60);
        g_object_unref(back);
    }
    const char *fmt;
    assert_int_equal(pk_image_format_from_path(f->ctx, "a/b.JPG", &fmt), PK_OK);
    assert_string_equal(fmt, "jpeg");
    assert_int_equal(pk_image_format_from_path(f->ctx, "a/b.tif", &fmt), PK_OK);
    assert_string_equal(fmt, "tiff");
    assert_int_equal(pk_image_format_from_path(f->ctx, "a/b", &fmt), PK_ERR_USAGE);
    assert_int_equal(pk_image_save(f->ctx, im, in_dir(f, "x"), "bmp", NULL), PK_ERR_USAGE);
    pk_image_save_options bad = {.bits = 16};
    assert_int_equal(pk_image_save(f->ctx, im, in_dir(f, "x"), "jpeg", &bad), PK_ERR_USAGE);
    bad = (pk_image_save_options){.quality = 101};
    assert_int_equal(pk_image_save(f->ctx, im, in_dir(f, "x"), "webp", &bad), PK_ERR_USAGE);
    /* 32-bit float TIFF holds linear light. */
    pk_image_save_options flt = {.bits = 32};
    assert_int_equal(pk_image_save(f->ctx, im, in_dir(f, "float.tif"), "tiff", &flt), PK_OK);
    VipsImage *back;
    assert_int_equal(pk_image_load(f->ctx, in_dir(f, "float.tif"), NULL, &back), PK_OK);
    assert_int_equal(back->BandFmt, VIPS_FORMAT_FLOAT);
    double p[3];
    pixel(back, 30, 30, p, 3);
    assert_true(fabs(p[0] - 0.2158) < 0.002);
    g_object_unref(back);
    /* A folder that is gone is an output error naming the final name. */
    pk_image_save_options named = {.name = "final.jpg"};
    assert_int_equal(pk_image_save(f->ctx, im, "/nonexistent-dir/x", "jpeg", &named), PK_ERR_OUTPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "final.jpg"));
    g_object_unref(im);
}

/* Saving keeps EXIF and XMP unless asked not to; a picture turned upright
 * is saved with orientation 1. */
static void test_save_metadata(void **state)
{
    fixture *f = *state;
    if (!have_tool("exiftool"))
        skip();
    VipsImage *up = upright_marker(), *stored = stored_for(up, 6);
    const char *src = in_dir(f, "meta.jpg");
    save(stored, src);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "exiftool -q -overwrite_original -n -Orientation=6 -Artist='Ada Lovelace' -XMP-dc:Creator='Ada' '%s'",
             src);
    assert_int_equal(system(cmd), 0);
    VipsImage *im;
    assert_int_equal(pk_image_load(f->ctx, src, NULL, &im), PK_OK);
    char kept[256], stripped[256];
    snprintf(kept, sizeof kept, "%s/meta-kept", f->dir);
    snprintf(stripped, sizeof stripped, "%s/meta-stripped", f->dir);
    assert_int_equal(pk_image_save(f->ctx, im, kept, "jpeg", NULL), PK_OK);
    pk_image_save_options strip = {.strip_metadata = 1};
    assert_int_equal(pk_image_save(f->ctx, im, stripped, "jpeg", &strip), PK_OK);
    g_object_unref(im);
    snprintf(cmd, sizeof cmd, "exiftool -s3 -n -Artist -Orientation -XMP-dc:Creator '%s' > '%s/tags.txt'", kept, f->dir);
    assert_int_equal(system(cmd), 0);
    FILE *fp = fopen(in_dir(f, "tags.txt"), "r");
    char tags[256] = "";
    size_t n = fread(tags, 1, sizeof tags - 1, fp);
    tags[n] = '\0';
    fclose(fp);
    print_message("kept tags: %s", tags);
    assert_string_equal(tags, "Ada Lovelace\n1\nAda\n");
    snprintf(cmd, sizeof cmd, "exiftool -s3 -Artist -XMP-dc:Creator '%s' | grep -q .", stripped);
    assert_int_not_equal(system(cmd), 0);
    /* The kept file reads back upright, once. */
    assert_int_equal(pk_image_load(f->ctx, kept, NULL, &im), PK_OK);
    assert_int_equal(im->Xsize, 60);
    double p[3];
    pixel(im, 8, 8, p, 3);
    assert_true(p[0] > 200 && p[2] < 60);
    g_object_unref(im);
    g_object_unref(stored);
    g_object_unref(up);
}

/* ---- damage --------------------------------------------------------------- */

static void test_damaged(void **state)
{
    fixture *f = *state;
    VipsImage *big = upright_marker(), *large;
    assert_int_equal(vips_resize(big, &large, 20.0, NULL), 0);
    const char *names[] = {"whole.jpg", "whole.png"};
    for (size_t i = 0; i < PK_ARRAY_LEN(names); i++) {
        char whole[256], cut[256];
        snprintf(whole, sizeof whole, "%s/%s", f->dir, names[i]);
        snprintf(cut, sizeof cut, "%s/cut-%s", f->dir, names[i]);
        save(large, whole);
        truncate_copy(whole, cut, 0.5);
        VipsImage *im = NULL;
        pk_image_options o8 = {.colour = PK_COLOUR_SRGB8};
        assert_int_equal(pk_image_load(f->ctx, cut, &o8, &im), PK_ERR_INPUT);
        assert_null(im);
        const char *msg = pk_ctx_errmsg(f->ctx);
        print_message("%s\n", msg);
        assert_non_null(strstr(msg, cut));
        assert_non_null(strstr(msg, "truncated"));
        assert_null(strchr(msg, '\n'));
        pk_image_options ol = {.colour = PK_COLOUR_LINEAR, .max_size = 100};
        assert_int_equal(pk_image_load(f->ctx, cut, &ol, &im), PK_ERR_INPUT);
        assert_int_equal(pk_image_thumbnail(f->ctx, cut, 64, &im), PK_ERR_INPUT);
        assert_non_null(strstr(pk_ctx_errmsg(f->ctx), cut));
    }
    /* Not an image at all. */
    const char *text = in_dir(f, "notes.txt");
    FILE *fp = fopen(text, "w");
    fputs("not a picture\n", fp);
    fclose(fp);
    VipsImage *im = NULL;
    assert_int_equal(pk_image_load(f->ctx, text, NULL, &im), PK_ERR_INPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "not an image"));
    assert_int_equal(pk_image_thumbnail(f->ctx, text, 64, &im), PK_ERR_INPUT);
    assert_int_equal(pk_image_load(f->ctx, in_dir(f, "missing.jpg"), NULL, &im), PK_ERR_INPUT);
    pk_image_options bad = {.max_size = -1};
    assert_int_equal(pk_image_load(f->ctx, text, &bad, &im), PK_ERR_USAGE);
    bad = (pk_image_options){.raw.exposure = 5};
    assert_int_equal(pk_image_load(f->ctx, text, &bad, &im), PK_ERR_USAGE);
    assert_int_equal(pk_image_thumbnail(f->ctx, text, 0, &im), PK_ERR_USAGE);
    assert_null(im);
    g_object_unref(large);
    g_object_unref(big);
}

/* ---- camera RAW ------------------------------------------------------------ */

static const struct {
    const char *file;
    int width, height;
} raws[] = {
    {"Canon_PowerShot_G2_CRW_0304.CRW", 2312, 1720},
    {"Canon_PowerShot_S40_CRW_0119.CRW", 2312, 1720},
    {"Kodak_DC120_P003908.KDC", 1301, 976},
    {"Kodak_DC50_DC0008L.KDC", 768, 512},
};

static int raw_path(int i, char *buf, size_t size)
{
    const char *corpora = getenv("PK_CORPORA");
    snprintf(buf, size, "%s/raw/%s", corpora ? corpora : "../shared/corpora", raws[i].file);
    return access(buf, R_OK) == 0;
}

static void stats(VipsImage *im, double *mean, double *clipped_fraction, double white)
{
    assert_int_equal(vips_avg(im, mean, NULL), 0);
    VipsImage *hi;
    assert_int_equal(vips_moreeq_const1(im, &hi, white, NULL), 0);
    double m;
    assert_int_equal(vips_avg(hi, &m, NULL), 0);
    *clipped_fraction = m / 255.0;
    g_object_unref(hi);
}

static void test_raw_develop(void **state)
{
    fixture *f = *state;
    char path[512];
    if (!raw_path(0, path, sizeof path))
        skip();
    for (size_t i = 0; i < PK_ARRAY_LEN(raws); i++) {
        assert_true(raw_path((int)i, path, sizeof path));
        VipsImage *im;
        pk_image_options o8 = {.colour = PK_COLOUR_SRGB8};
        assert_int_equal(pk_image_load(f->ctx, path, &o8, &im), PK_OK);
        double mean, clipped;
        stats(im, &mean, &clipped, 255);
        print_message("%s: %dx%d mean %.1f clipped %.3f\n", raws[i].file, im->Xsize, im->Ysize, mean,
                      clipped);
        assert_int_equal(im->Xsize, raws[i].width);
        assert_int_equal(im->Ysize, raws[i].height);
        assert_int_equal(im->Bands, 3);
        assert_true(mean > 30 && mean < 225);
        assert_true(clipped < 0.2);
        g_object_unref(im);

        /* As stored: 16-bit sRGB. Linear: float, darker numbers (no curve). */
        VipsImage *keep, *lin;
        assert_int_equal(pk_image_load(f->ctx, path, NULL, &keep), PK_OK);
        assert_int_equal(keep->BandFmt, VIPS_FORMAT_USHORT);
        pk_image_options ol = {.colour = PK_COLOUR_LINEAR, .max_size = 400};
        assert_int_equal(pk_image_load(f->ctx, path, &ol, &lin), PK_OK);
        assert_int_equal(lin->BandFmt, VIPS_FORMAT_FLOAT);
        assert_int_equal(lin->Xsize > lin->Ysize ? lin->Xsize : lin->Ysize, 400);
        double lmean;
        assert_int_equal(vips_avg(lin, &lmean, NULL), 0);
        assert_true(lmean > 0.01 && lmean < mean / 255.0);
        /* One stop less at raw level halves linear light exactly (no
         * clipping); one more brightens, less than twice where it clips. */
        pk_image_options down = ol, up = ol;
        down.raw.exposure = -1.0;
        up.raw.exposure = 1.0;
        VipsImage *darker, *brighter;
        assert_int_equal(pk_image_load(f->ctx, path, &down, &darker), PK_OK);
        assert_int_equal(pk_image_load(f->ctx, path, &up, &brighter), PK_OK);
        double dmean, bmean;
        assert_int_equal(vips_avg(darker, &dmean, NULL), 0);
        assert_int_equal(vips_avg(brighter, &bmean, NULL), 0);
        print_message("  linear mean %.4f, -1 EV %.4f (x%.3f), +1 EV %.4f (x%.2f)\n", lmean, dmean,
                      dmean / lmean, bmean, bmean / lmean);
        assert_true(fabs(dmean / lmean - 0.5) < 0.03);
        assert_true(bmean / lmean > 1.3 && bmean / lmean < 2.05);
        g_object_unref(darker);
        /* Caller's white balance: a strong red multiplier shifts red up. */
        pk_image_options wb = ol;
        wb.raw.wb = PK_RAW_WB_CUSTOM;
        wb.raw.wb_multipliers[0] = 4;
        wb.raw.wb_multipliers[1] = 1;
        wb.raw.wb_multipliers[2] = 1;
        VipsImage *red;
        assert_int_equal(pk_image_load(f->ctx, path, &wb, &red), PK_OK);
        double rg_camera[2], rg_custom[2];
        VipsImage *band;
        for (int b = 0; b < 2; b++) {
            assert_int_equal(vips_extract_band(lin, &band, b, NULL), 0);
            assert_int_equal(vips_avg(band, &rg_camera[b], NULL), 0);
            g_object_unref(band);
            assert_int_equal(vips_extract_band(red, &band, b, NULL), 0);
            assert_int_equal(vips_avg(band, &rg_custom[b], NULL), 0);
            g_object_unref(band);
        }
        assert_true(rg_custom[0] / rg_custom[1] > 1.3 * rg_camera[0] / rg_camera[1]);
        g_object_unref(red);
        g_object_unref(brighter);
        g_object_unref(lin);
        g_object_unref(keep);

        /* Thumbnail: preview or half-size develop, 8-bit sRGB. */
        assert_int_equal(pk_image_thumbnail(f->ctx, path, 256, &im), PK_OK);
        assert_int_equal(im->Xsize > im->Ysize ? im->Xsize : im->Ysize, 256);
        assert_int_equal(im->BandFmt, VIPS_FORMAT_UCHAR);
        assert_int_equal(im->Bands, 3);
        g_object_unref(im);
    }
    /* A RAW file cut short is an input error, not a grey picture: in its
     * directory (CRW keeps it at the end) or in its pixel data (KDC). */
    for (int i = 0; i < 3; i += 2) {
        assert_true(raw_path(i, path, sizeof path));
        const char *cut = in_dir(f, i ? "cut.KDC" : "cut.CRW");
        truncate_copy(path, cut, 0.6);
        VipsImage *im = NULL;
        pk_image_options o8 = {.colour = PK_COLOUR_SRGB8};
        pk_status st = pk_image_load(f->ctx, cut, &o8, &im);
        print_message("truncated RAW: %s\n", pk_ctx_errmsg(f->ctx));
        assert_int_equal(st, PK_ERR_INPUT);
        assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "RAW"));
        assert_null(im);
        assert_int_equal(pk_image_thumbnail(f->ctx, cut, 128, &im), PK_ERR_INPUT);
        assert_null(im);
    }
}

/* ---- fixture --------------------------------------------------------------- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pk-test-image-XXXXXX");
    if (!mkdtemp(f->dir) || pk_ctx_new(&f->ctx) != PK_OK || pk_init("test_image") != PK_OK ||
        pk_image_libs_start(f->ctx, NULL) != PK_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    pk_ctx_free(f->ctx);
    free(f);
    pk_shutdown();
    return 0;
}

static int before(void **state)
{
    fixture *f = *state;
    f->live_images = live_images();
    return 0;
}

/* Everything a test loaded or made has been released. */
static int after(void **state)
{
    fixture *f = *state;
    int now = live_images();
    if (now != f->live_images) {
        fprintf(stderr, "leaked %d VipsImage(s)\n", now - f->live_images);
        return -1;
    }
    return 0;
}

/* ---- the faces' JPEG draft decode ----------------------------------- */

/* Assert that pk_jpeg_load_draft gives exactly the pixels of
 * pk_image_load's draft (as the faces load it) for `path` at max_size. */
static void assert_draft_same(fixture *f, const char *path, int max_size)
{
    uint8_t *px;
    int w, h;
    assert_int_equal(pk_jpeg_load_draft(f->ctx, path, max_size, &px, &w, &h), PK_OK);
    assert_non_null(px);
    pk_image_options o = {.max_size = max_size, .draft = 1, .colour = PK_COLOUR_SRGB8, .rgb = 1,
                          .flatten = 1};
    VipsImage *im;
    assert_int_equal(pk_image_load(f->ctx, path, &o, &im), PK_OK);
    print_message("%s at %d: %dx%d, libvips %dx%d\n", path, max_size, w, h, im->Xsize, im->Ysize);
    assert_int_equal(w, im->Xsize);
    assert_int_equal(h, im->Ysize);
    assert_int_equal(im->Bands, 3);
    size_t size = 0;
    void *ref = vips_image_write_to_memory(im, &size);
    assert_non_null(ref);
    assert_int_equal(size, (size_t)w * h * 3);
    assert_memory_equal(px, ref, size);
    g_free(ref);
    g_object_unref(im);
    free(px);
}

static void test_jpeg_draft(void **state)
{
    fixture *f = *state;
    /* Detail everywhere and sides that are no multiple of 8, so the DCT
     * scale, the crop of the partial last block and the colour
     * conversion all show. */
    VipsImage *noise, *colour;
    assert_int_equal(vips_gaussnoise(&noise, 2051, 1367, "mean", 128.0, "sigma", 50.0, NULL), 0);
    VipsImage *bands[3] = {noise, NULL, NULL};
    assert_int_equal(vips_rot180(noise, &bands[1], NULL), 0);
    assert_int_equal(vips_flip(noise, &bands[2], VIPS_DIRECTION_HORIZONTAL, NULL), 0);
    assert_int_equal(vips_bandjoin(bands, &colour, 3, NULL), 0);
    VipsImage *rgb;
    assert_int_equal(vips_copy(colour, &rgb, "interpretation", VIPS_INTERPRETATION_sRGB, NULL), 0);
    const char *names[] = {"draft-rgb.jpg", "draft-grey.jpg"};
    char path[256];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s", in_dir(f, names[i]));
        VipsImage *src = i == 0 ? rgb : noise;
        assert_int_equal(vips_jpegsave(src, path, "Q", 90, "strip", TRUE, NULL), 0);
        /* 1/4 and 1/8 (2051 is just over 4 x 512 and 8 x 256), 1/2 just
         * under 1/4 (2051 < 4 x 513), and whole. */
        assert_draft_same(f, path, 512);
        assert_draft_same(f, path, 256);
        assert_draft_same(f, path, 513);
        assert_draft_same(f, path, 1500);
    }
    if (have_tool("exiftool")) {
        char cmd[600];
        for (int n = 2; n <= 8; n++) {
            snprintf(path, sizeof path, "%s/draft-orient%d.jpg", f->dir, n);
            assert_int_equal(vips_jpegsave(rgb, path, "Q", 90, "strip", TRUE, NULL), 0);
            snprintf(cmd, sizeof cmd, "exiftool -q -overwrite_original -n -Orientation=%d '%s'", n, path);
            assert_int_equal(system(cmd), 0);
            assert_draft_same(f, path, 512);
        }
    }
    /* An embedded profile (even sRGB's) and CMYK are left to pk_image_load. */
    VipsImage *tagged = srgb_tagged(rgb);
    snprintf(path, sizeof path, "%s", in_dir(f, "draft-icc.jpg"));
    assert_int_equal(vips_jpegsave(tagged, path, "Q", 90, NULL), 0);
    g_object_unref(tagged);
    uint8_t *px = (uint8_t *)"";
    int w, h;
    assert_int_equal(pk_jpeg_load_draft(f->ctx, path, 512, &px, &w, &h), PK_OK);
    assert_null(px);
    VipsImage *cmyk;
    assert_int_equal(vips_copy(colour, &cmyk, NULL), 0);
    VipsImage *four;
    assert_int_equal(vips_bandjoin2(cmyk, noise, &four, NULL), 0);
    VipsImage *typed;
    assert_int_equal(vips_copy(four, &typed, "interpretation", VIPS_INTERPRETATION_CMYK, NULL), 0);
    snprintf(path, sizeof path, "%s", in_dir(f, "draft-cmyk.jpg"));
    assert_int_equal(vips_jpegsave(typed, path, "Q", 90, "strip", TRUE, NULL), 0);
    assert_int_equal(pk_jpeg_load_draft(f->ctx, path, 512, &px, &w, &h), PK_OK);
    assert_null(px);
    /* Not a JPEG by name, or not by content: not for this path either. */
    snprintf(path, sizeof path, "%s", in_dir(f, "draft.png"));
    assert_int_equal(vips_pngsave(rgb, path, NULL), 0);
    assert_int_equal(pk_jpeg_load_draft(f->ctx, path, 512, &px, &w, &h), PK_OK);
    assert_null(px);
    g_object_unref(typed);
    g_object_unref(four);
    g_object_unref(cmyk);
    g_object_unref(rgb);
    g_object_unref(colour);
    for (int i = 0; i < 3; i++)
        g_object_unref(bands[i]);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, before, after)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_orientation),
        TEST(test_icc_adobe_rgb),
        TEST(test_profile_to_linear),
        TEST(test_srgb_tagged_unchanged),
        TEST(test_cmyk_jpeg),
        TEST(test_grey),
        TEST(test_16bit_linear_round_trip),
        TEST(test_alpha),
        TEST(test_max_size),
        TEST(test_pages),
        TEST(test_save_formats),
        TEST(test_save_metadata),
        TEST(test_damaged),
        TEST(test_raw_develop),
        TEST(test_jpeg_draft),
    };
    return cmocka_run_group_tests_name("image", tests, setup, teardown);
}

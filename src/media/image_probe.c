/*
 * image_probe.c — what photos say about themselves, for `postkit probe`:
 * libvips for the picture and its ICC profile, libexif for the camera's
 * EXIF, LibRaw for camera RAW files (which libvips 8.14 cannot read).
 */
#include "media/internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lcms2.h>
#include <exempi/xmp.h>
#include <exempi/xmpconsts.h>
#include <libexif/exif-data.h>
#include <libraw/libraw.h>
#include <vips/vips.h>

/* ---- EXIF ------------------------------------------------------------- */

static ExifEntry *exif_find(ExifData *ed, ExifIfd ifd, ExifTag tag)
{
    return exif_content_get_entry(ed->ifd[ifd], tag);
}

static void exif_text(ExifData *ed, ExifIfd ifd, ExifTag tag, char *buf, size_t size)
{
    buf[0] = '\0';
    ExifEntry *e = exif_find(ed, ifd, tag);
    if (!e || e->format != EXIF_FORMAT_ASCII || !e->data)
        return;
    size_t n = e->size < size - 1 ? e->size : size - 1;
    memcpy(buf, e->data, n);
    buf[n] = '\0';
    /* Cameras pad with NULs and spaces. */
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\0'))
        buf[--n] = '\0';
}

/* The i-th value of a numeric entry as a double; NaN when absent. */
static double exif_number(ExifData *ed, ExifIfd ifd, ExifTag tag, unsigned i)
{
    ExifEntry *e = exif_find(ed, ifd, tag);
    if (!e || i >= e->components)
        return NAN;
    ExifByteOrder o = exif_data_get_byte_order(ed);
    unsigned sz = exif_format_get_size(e->format);
    const unsigned char *p = e->data + (size_t)i * sz;
    switch (e->format) {
    case EXIF_FORMAT_SHORT: return exif_get_short(p, o);
    case EXIF_FORMAT_LONG: return exif_get_long(p, o);
    case EXIF_FORMAT_SSHORT: return exif_get_sshort(p, o);
    case EXIF_FORMAT_SLONG: return exif_get_slong(p, o);
    case EXIF_FORMAT_BYTE: return *p;
    case EXIF_FORMAT_RATIONAL: {
        ExifRational r = exif_get_rational(p, o);
        return r.denominator ? (double)r.numerator / r.denominator : NAN;
    }
    case EXIF_FORMAT_SRATIONAL: {
        ExifSRational r = exif_get_srational(p, o);
        return r.denominator ? (double)r.numerator / r.denominator : NAN;
    }
    default: return NAN;
    }
}

/* EXIF "YYYY:MM:DD HH:MM:SS" + sub-seconds + offset → ISO 8601. */
static void exif_capture_time(ExifData *ed, char *out, size_t size)
{
    char dt[32], sub[16], off[16];
    out[0] = '\0';
    exif_text(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, dt, sizeof dt);
    if (!dt[0])
        exif_text(ed, EXIF_IFD_0, EXIF_TAG_DATE_TIME, dt, sizeof dt);
    int Y, M, D, h, m, s;
    if (sscanf(dt, "%4d:%2d:%2d %2d:%2d:%2d", &Y, &M, &D, &h, &m, &s) != 6 || Y < 1800)
        return;
    exif_text(ed, EXIF_IFD_EXIF, EXIF_TAG_SUB_SEC_TIME_ORIGINAL, sub, sizeof sub);
    exif_text(ed, EXIF_IFD_EXIF, (ExifTag)0x9011 /* OffsetTimeOriginal */, off, sizeof off);
    int n = snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d", Y, M, D, h, m, s);
    if (sub[0] && isdigit((unsigned char)sub[0]))
        n += snprintf(out + n, size - (size_t)n, ".%s", sub);
    if (off[0] == '+' || off[0] == '-')
        snprintf(out + n, size - (size_t)n, "%s", off);
}

static double gps_coordinate(ExifData *ed, ExifTag value_tag, ExifTag ref_tag)
{
    double d = exif_number(ed, EXIF_IFD_GPS, value_tag, 0);
    double m = exif_number(ed, EXIF_IFD_GPS, value_tag, 1);
    double s = exif_number(ed, EXIF_IFD_GPS, value_tag, 2);
    if (isnan(d))
        return NAN;
    double v = d + (isnan(m) ? 0 : m / 60) + (isnan(s) ? 0 : s / 3600);
    char ref[4];
    exif_text(ed, EXIF_IFD_GPS, ref_tag, ref, sizeof ref);
    if (ref[0] == 'S' || ref[0] == 'W')
        v = -v;
    return v;
}

/* Parse an EXIF blob. libexif wants the JPEG APP1 form ("Exif\0\0" and the
 * TIFF structure); WebP, PNG and HEIF carry the bare TIFF structure, which
 * gets the header put in front. The caller frees the result. */
static ExifData *exif_parse(const void *blob, size_t len)
{
    if (len < 4 || (memcmp(blob, "II*\0", 4) != 0 && memcmp(blob, "MM\0*", 4) != 0))
        return exif_data_new_from_data(blob, (unsigned)len);
    unsigned char *app1 = malloc(len + 6);
    if (!app1)
        return NULL;
    memcpy(app1, "Exif\0\0", 6);
    memcpy(app1 + 6, blob, len);
    ExifData *ed = exif_data_new_from_data(app1, (unsigned)(len + 6));
    free(app1);
    return ed;
}

static void exif_into(json_t *img, const void *blob, size_t len)
{
    ExifData *ed = exif_parse(blob, len);
    if (!ed)
        return;
    char buf[256];
    json_t *cam = json_object();
    exif_text(ed, EXIF_IFD_0, EXIF_TAG_MAKE, buf, sizeof buf);
    pk_json_set_str(cam, "make", buf);
    exif_text(ed, EXIF_IFD_0, EXIF_TAG_MODEL, buf, sizeof buf);
    pk_json_set_str(cam, "model", buf);
    exif_text(ed, EXIF_IFD_EXIF, (ExifTag)0xA434 /* LensModel */, buf, sizeof buf);
    pk_json_set_str(cam, "lens", buf);
    exif_text(ed, EXIF_IFD_EXIF, (ExifTag)0xA431 /* BodySerialNumber */, buf, sizeof buf);
    pk_json_set_str(cam, "serial", buf);
    if (json_object_size(cam))
        json_object_set_new(img, "camera", cam);
    else
        json_decref(cam);

    json_t *exp = json_object();
    pk_json_set_real(exp, "exposure_time", exif_number(ed, EXIF_IFD_EXIF, EXIF_TAG_EXPOSURE_TIME, 0));
    pk_json_set_real(exp, "f_number", exif_number(ed, EXIF_IFD_EXIF, EXIF_TAG_FNUMBER, 0));
    double iso = exif_number(ed, EXIF_IFD_EXIF, EXIF_TAG_ISO_SPEED_RATINGS, 0);
    if (!isnan(iso))
        json_object_set_new(exp, "iso", json_integer((json_int_t)iso));
    pk_json_set_real(exp, "focal_length", exif_number(ed, EXIF_IFD_EXIF, EXIF_TAG_FOCAL_LENGTH, 0));
    pk_json_set_real(exp, "exposure_bias", exif_number(ed, EXIF_IFD_EXIF, EXIF_TAG_EXPOSURE_BIAS_VALUE, 0));
    if (json_object_size(exp))
        json_object_set_new(img, "exposure", exp);
    else
        json_decref(exp);

    exif_capture_time(ed, buf, sizeof buf);
    pk_json_set_str(img, "captured", buf);

    double lat = gps_coordinate(ed, EXIF_TAG_GPS_LATITUDE, EXIF_TAG_GPS_LATITUDE_REF);
    double lon = gps_coordinate(ed, EXIF_TAG_GPS_LONGITUDE, EXIF_TAG_GPS_LONGITUDE_REF);
    if (!isnan(lat) && !isnan(lon)) {
        json_t *gps = json_object();
        json_object_set_new(gps, "latitude", json_real(pk_round(lat, 7)));
        json_object_set_new(gps, "longitude", json_real(pk_round(lon, 7)));
        double alt = exif_number(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_ALTITUDE, 0);
        if (!isnan(alt)) {
            double ref = exif_number(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_ALTITUDE_REF, 0);
            json_object_set_new(gps, "altitude", json_real(pk_round(ref == 1 ? -alt : alt, 2)));
        }
        json_object_set_new(img, "gps", gps);
    }
    exif_data_unref(ed);
}

/* ---- XMP ---------------------------------------------------------------- */

/* A property's value with surrounding blanks removed into `buf`; "" when
 * absent. */
static const char *xmp_text(XmpPtr xmp, const char *ns, const char *name, XmpStringPtr tmp,
                            char *buf, size_t size)
{
    buf[0] = '\0';
    if (!xmp_get_property(xmp, ns, name, tmp, NULL))
        return buf;
    const char *v = xmp_string_cstr(tmp);
    while (isspace((unsigned char)*v))
        v++;
    snprintf(buf, size, "%s", v);
    size_t n = strlen(buf);
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    return buf;
}

/* Fill in from an XMP packet what EXIF did not say; EXIF wins where both
 * do. Takes ownership of `xmp` (NULL is fine). */
static void xmp_fill(json_t *img, XmpPtr xmp)
{
    XmpStringPtr tmp = xmp ? xmp_string_new() : NULL;
    if (!xmp || !tmp) {
        if (xmp)
            xmp_free(xmp);
        return;
    }
    static const struct {
        const char *ns;
        const char *prop;
        const char *key;
    } camera[] = {
        {NS_TIFF, "Make", "make"},
        {NS_TIFF, "Model", "model"},
        {NS_EXIF_AUX, "Lens", "lens"},
        {NS_EXIF_AUX, "SerialNumber", "serial"},
    };
    json_t *cam = json_object_get(img, "camera");
    json_t *fresh = cam ? NULL : json_object();
    if (fresh)
        cam = fresh;
    char buf[256];
    for (size_t i = 0; i < PK_ARRAY_LEN(camera); i++) {
        if (json_object_get(cam, camera[i].key))
            continue;
        pk_json_set_str(cam, camera[i].key,
                        xmp_text(xmp, camera[i].ns, camera[i].prop, tmp, buf, sizeof buf));
    }
    if (fresh && json_object_size(fresh))
        json_object_set_new(img, "camera", fresh);
    else if (fresh)
        json_decref(fresh);
    /* XMP dates are ISO 8601 already, but may leave out zero seconds
     * ("2024-07-03T07:30"); EXIF's always has them, so add them back for
     * one form whatever the source. */
    if (!json_object_get(img, "captured")) {
        xmp_text(xmp, NS_EXIF, "DateTimeOriginal", tmp, buf, sizeof buf);
        if (!buf[0])
            xmp_text(xmp, NS_XAP, "CreateDate", tmp, buf, sizeof buf);
        size_t n = strlen(buf);
        if (n >= 16 && buf[10] == 'T' && buf[13] == ':' && buf[16] != ':' && n + 3 < sizeof buf) {
            memmove(buf + 19, buf + 16, n - 16 + 1);
            memcpy(buf + 16, ":00", 3);
        }
        pk_json_set_str(img, "captured", buf);
    }
    xmp_string_free(tmp);
    xmp_free(xmp);
}

/* Photos exported by editors (PNG, TIFF, WebP) often name the camera only in
 * their XMP packet. */
static void xmp_into(json_t *img, const void *blob, size_t len)
{
    xmp_fill(img, xmp_new(blob, len));
}

/* A TIFF keeps the camera's tags in its own directories, which libvips does
 * not hand over as an EXIF blob. Exempi's TIFF handler reads those
 * directories (not the pixels) and reconciles them into XMP. Only for TIFF:
 * other handlers of Exempi print to stderr on files they dislike. */
static void tiff_tags_into(json_t *img, const char *path)
{
    XmpFilePtr f = xmp_files_open_new(path, XMP_OPEN_READ);
    if (!f)
        return;
    xmp_fill(img, xmp_files_get_new_xmp(f));
    xmp_files_close(f, XMP_CLOSE_NOOPTION);
    xmp_files_free(f);
}

/* ---- ICC ---------------------------------------------------------------- */

static void icc_into(json_t *img, const void *blob, size_t len)
{
    cmsHPROFILE p = cmsOpenProfileFromMem(blob, (cmsUInt32Number)len);
    if (!p) {
        json_object_set_new(img, "icc_profile", json_string("(unreadable)"));
        return;
    }
    char desc[256] = "";
    cmsGetProfileInfoASCII(p, cmsInfoDescription, "en", "US", desc, sizeof desc);
    json_object_set_new(img, "icc_profile", pk_json_string(desc[0] ? desc : "(unnamed)"));
    cmsCloseProfile(p);
}

/* ---- probe ------------------------------------------------------------- */

static int format_bits(VipsBandFormat f)
{
    switch (f) {
    case VIPS_FORMAT_UCHAR: case VIPS_FORMAT_CHAR: return 8;
    case VIPS_FORMAT_USHORT: case VIPS_FORMAT_SHORT: return 16;
    case VIPS_FORMAT_UINT: case VIPS_FORMAT_INT: case VIPS_FORMAT_FLOAT: return 32;
    case VIPS_FORMAT_DOUBLE: return 64;
    default: return 0;
    }
}

/* Decode the whole picture (JPEG at 1/8 scale: the DCT does that almost for
 * free) so a truncated or corrupt file is caught here, not by a user. */
static pk_status verify_decode(pk_ctx *ctx, const char *path, const char *loader)
{
    VipsImage *im = NULL;
    int rc;
    if (strstr(loader, "Jpeg"))
        rc = vips_jpegload(path, &im, "shrink", 8, "fail_on", VIPS_FAIL_ON_TRUNCATED, "access",
                           VIPS_ACCESS_SEQUENTIAL, NULL);
    else
        im = vips_image_new_from_file(path, "fail_on", VIPS_FAIL_ON_TRUNCATED, "access",
                                      VIPS_ACCESS_SEQUENTIAL, NULL),
        rc = im ? 0 : -1;
    double avg;
    if (rc == 0)
        rc = vips_avg(im, &avg, NULL);
    if (im)
        g_object_unref(im);
    if (rc != 0) {
        char why[256];
        return pk_fail(ctx, PK_ERR_INPUT, path, "corrupt or truncated image (%s)",
                       pk_vips_reason(why, sizeof why));
    }
    return PK_OK;
}

/* Probe a camera RAW file. With `verify` the sensor data is decoded (LibRaw's
 * unpack) so a truncated or corrupt file is caught, and `bit_depth` is the
 * range the data really uses (before decoding LibRaw only knows the
 * container's nominal range, e.g. 12 bits for a 10-bit CRW). */
static pk_status probe_raw(pk_ctx *ctx, const char *path, json_t *rec, int verify)
{
    raw_state rs;
    libraw_data_t *lr;
    pk_status s = pk_raw_open(ctx, path, &rs, &lr);
    if (s != PK_OK)
        return s;
    if (verify && (s = pk_raw_check(ctx, path, &rs, libraw_unpack(lr), "decode the raw data")) != PK_OK) {
        libraw_close(lr);
        return s;
    }
    json_object_set_new(rec, "type", json_string("photo"));
    json_t *img = json_object();
    json_object_set_new(img, "format", json_string("raw"));
    json_object_set_new(img, "raw_width", json_integer(lr->sizes.raw_width));
    json_object_set_new(img, "raw_height", json_integer(lr->sizes.raw_height));
    if (verify && lr->color.maximum > 0)
        json_object_set_new(img, "bit_depth", json_integer((json_int_t)ceil(log2((double)lr->color.maximum + 1))));
    json_t *cam = json_object();
    pk_json_set_str(cam, "make", lr->idata.make);
    pk_json_set_str(cam, "model", lr->idata.model);
    pk_json_set_str(cam, "lens", lr->lens.Lens);
    json_object_set_new(img, "camera", cam);
    json_t *exp = json_object();
    if (lr->other.shutter > 0)
        json_object_set_new(exp, "exposure_time", json_real(lr->other.shutter));
    if (lr->other.aperture > 0)
        json_object_set_new(exp, "f_number", json_real(pk_round(lr->other.aperture, 2)));
    if (lr->other.iso_speed > 0)
        json_object_set_new(exp, "iso", json_integer((json_int_t)lround(lr->other.iso_speed)));
    if (lr->other.focal_len > 0)
        json_object_set_new(exp, "focal_length", json_real(pk_round(lr->other.focal_len, 2)));
    json_object_set_new(img, "exposure", exp);
    if (lr->other.timestamp > 0) {
        /* LibRaw converts the camera's local time with mktime(); undo that
         * to keep the wall-clock time the camera recorded. */
        struct tm tm;
        char buf[32];
        localtime_r(&lr->other.timestamp, &tm);
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        json_object_set_new(img, "captured", json_string(buf));
    }
    int flip = lr->sizes.flip;
    json_object_set_new(img, "orientation", json_integer(pk_raw_flip_to_orientation(flip)));
    /* The developed picture's size: sensors with non-square pixels (Kodak
     * DC120: 848 wide, 1.53:1) are stretched, as every RAW developer does.
     * LibRaw computes it (last: it spoils the sizes for a later decode); it
     * swaps the sides for a portrait flip, which the orientation says already. */
    int w = lr->sizes.width, h = lr->sizes.height;
    if (libraw_adjust_sizes_info_only(lr) == LIBRAW_SUCCESS && lr->sizes.iwidth && lr->sizes.iheight) {
        w = (flip & 4) ? lr->sizes.iheight : lr->sizes.iwidth;
        h = (flip & 4) ? lr->sizes.iwidth : lr->sizes.iheight;
    }
    json_object_set_new(img, "width", json_integer(w));
    json_object_set_new(img, "height", json_integer(h));
    json_object_set_new(rec, "image", img);
    libraw_close(lr);
    return PK_OK;
}

pk_status pk_image_probe(pk_ctx *ctx, const char *path, json_t *rec, int verify)
{
    pk_status started = pk_image_libs_start(ctx, path);
    if (started != PK_OK)
        return started;
    if (pk_has_raw_extension(path))
        return probe_raw(ctx, path, rec, verify);
    const char *loader = vips_foreign_find_load(path);
    char why[256];
    if (!loader)
        return pk_fail(ctx, PK_ERR_INPUT, path, "not a readable image (%s)", pk_vips_reason(why, sizeof why));
    VipsImage *im = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!im)
        return pk_fail(ctx, PK_ERR_INPUT, path, "not a readable image (%s)", pk_vips_reason(why, sizeof why));
    json_object_set_new(rec, "type", json_string("photo"));
    json_t *img = json_object();
    const char *vl = NULL;
    if (vips_image_get_string(im, "vips-loader", &vl) == 0 && vl) {
        char fmt[32];
        snprintf(fmt, sizeof fmt, "%s", vl);
        char *cut = strstr(fmt, "load");
        if (cut)
            *cut = '\0';
        json_object_set_new(img, "format", json_string(fmt));
    }
    json_object_set_new(img, "width", json_integer(vips_image_get_width(im)));
    json_object_set_new(img, "height", json_integer(vips_image_get_height(im)));
    json_object_set_new(img, "bands", json_integer(vips_image_get_bands(im)));
    json_object_set_new(img, "bit_depth", json_integer(format_bits(vips_image_get_format(im))));
    const char *interp = vips_enum_nick(VIPS_TYPE_INTERPRETATION, vips_image_guess_interpretation(im));
    pk_json_set_str(img, "interpretation", interp);
    json_object_set_new(img, "alpha", json_boolean(vips_image_hasalpha(im)));
    int pages = vips_image_get_n_pages(im);
    if (pages > 1)
        json_object_set_new(img, "pages", json_integer(pages));
    int orientation = 1;
    if (vips_image_get_typeof(im, "orientation"))
        vips_image_get_int(im, "orientation", &orientation);
    json_object_set_new(img, "orientation", json_integer(orientation));
    double xres = vips_image_get_xres(im);
    if (xres > 0 && fabs(xres - 1.0) > 1e-9)
        json_object_set_new(img, "dpi", json_real(pk_round(xres * 25.4, 1)));
    const void *blob;
    size_t len;
    if (vips_image_get_typeof(im, VIPS_META_ICC_NAME) &&
        vips_image_get_blob(im, VIPS_META_ICC_NAME, &blob, &len) == 0)
        icc_into(img, blob, len);
    if (vips_image_get_typeof(im, VIPS_META_EXIF_NAME) &&
        vips_image_get_blob(im, VIPS_META_EXIF_NAME, &blob, &len) == 0)
        exif_into(img, blob, len);
    int has_xmp = vips_image_get_typeof(im, VIPS_META_XMP_NAME) &&
                  vips_image_get_blob(im, VIPS_META_XMP_NAME, &blob, &len) == 0;
    if (has_xmp)
        xmp_into(img, blob, len);
    if (strstr(loader, "Tiff") && (!json_object_get(img, "camera") || !json_object_get(img, "captured")))
        tiff_tags_into(img, path);
    json_object_set_new(img, "xmp", json_boolean(has_xmp));
    json_object_set_new(rec, "image", img);
    g_object_unref(im);
    return verify ? verify_decode(ctx, path, loader) : PK_OK;
}

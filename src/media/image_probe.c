/*
 * image_probe.c — what photos say about themselves, for `postkit probe`:
 * libvips for the picture and its ICC profile, libexif for the camera's
 * EXIF, LibRaw for camera RAW files (which libvips 8.14 cannot read).
 */
#include "media/internal.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include <lcms2.h>
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

static void exif_into(json_t *img, const void *blob, size_t len)
{
    ExifData *ed = exif_data_new_from_data(blob, (unsigned)len);
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

static pk_status probe_raw(pk_ctx *ctx, const char *path, json_t *rec)
{
    libraw_data_t *lr = libraw_init(0);
    if (!lr)
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    int rc = libraw_open_file(lr, path);
    if (rc != LIBRAW_SUCCESS) {
        pk_status s = pk_fail(ctx, PK_ERR_INPUT, path, "unreadable camera RAW file (%s)", libraw_strerror(rc));
        libraw_close(lr);
        return s;
    }
    json_object_set_new(rec, "type", json_string("photo"));
    json_t *img = json_object();
    json_object_set_new(img, "format", json_string("raw"));
    json_object_set_new(img, "width", json_integer(lr->sizes.iwidth ? lr->sizes.width : lr->sizes.raw_width));
    json_object_set_new(img, "height", json_integer(lr->sizes.height));
    json_object_set_new(img, "raw_width", json_integer(lr->sizes.raw_width));
    json_object_set_new(img, "raw_height", json_integer(lr->sizes.raw_height));
    if (lr->color.maximum > 0)
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
    json_object_set_new(img, "orientation", json_integer(pk_raw_flip_to_orientation(lr->sizes.flip)));
    json_object_set_new(rec, "image", img);
    libraw_close(lr);
    return PK_OK;
}

pk_status pk_image_probe(pk_ctx *ctx, const char *path, json_t *rec, int verify)
{
    if (pk_is_camera_raw(path))
        return probe_raw(ctx, path, rec);
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
    json_object_set_new(img, "xmp", json_boolean(vips_image_get_typeof(im, VIPS_META_XMP_NAME) != 0));
    json_object_set_new(rec, "image", img);
    g_object_unref(im);
    return verify ? verify_decode(ctx, path, loader) : PK_OK;
}

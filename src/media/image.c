/*
 * image.c — which files are photos, and what the photo code shares: the
 * libvips loader check, libvips error text, libvips warnings.
 */
#include "media/internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavformat/avformat.h>
#include <libraw/libraw.h>
#include <vips/vips.h>

/* Extensions of camera RAW formats LibRaw reads. A DNG or a Canon CR2 is
 * also a TIFF, and libvips would load its small embedded preview instead. */
static const char *const raw_extensions[] = {
    "3fr", "ari", "arw", "bay", "cap", "cr2", "cr3", "crw", "dcr", "dcs", "dng", "drf", "eip",
    "erf", "fff", "iiq", "k25", "kdc", "mdc", "mef", "mos", "mrw", "nef", "nrw", "orf", "pef",
    "ptx", "pxn", "r3d", "raf", "raw", "rw2", "rwl", "rwz", "sr2", "srf", "srw", "x3f",
};

const char *pk_path_extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    return dot ? dot + 1 : "";
}

int pk_has_raw_extension(const char *path)
{
    const char *ext = pk_path_extension(path);
    for (size_t i = 0; i < PK_ARRAY_LEN(raw_extensions); i++)
        if (strcasecmp(ext, raw_extensions[i]) == 0)
            return 1;
    return 0;
}

int pk_is_camera_raw(const char *path)
{
    if (!pk_has_raw_extension(path))
        return 0;
    pk_ctx *quiet;
    if (pk_ctx_new(&quiet) != PK_OK)
        return 0;
    raw_state st;
    libraw_data_t *lr = NULL;
    int ok = pk_raw_open(quiet, path, &st, &lr) == PK_OK;
    if (lr)
        libraw_close(lr);
    pk_ctx_free(quiet);
    return ok;
}

/* libvips loaders that read photographs. Others (ImageMagick's catch-all,
 * PDF, CSV, matrix) would claim documents and text files as "images". */
static int photo_loader(const char *loader)
{
    static const char *const ok[] = {"Jpeg", "Png", "Webp", "Tiff", "Heif", "Gif",
                                     "Jp2k", "Jxl", "Rad", "Ppm", "Openexr"};
    /* Case-insensitive: libvips 8.14 reads GIF with "VipsForeignLoadNsgif". */
    for (size_t i = 0; i < PK_ARRAY_LEN(ok); i++)
        if (strcasestr(loader, ok[i]))
            return 1;
    return 0;
}

/* Does this file loader claim `path`? As libvips decides for
 * vips_foreign_find_load (is_a, else the suffix), skipping ImageMagick's
 * catch-all: photo_loader refuses it anyway, and asked about a file no other
 * loader claims (an audio file, a video), ImageMagick loads all its ~120
 * format modules first, the largest part of probing such a file. */
static void *claims(VipsForeignLoadClass *load, const char *path, void *unused)
{
    (void)unused;
    const char *nick = VIPS_OBJECT_CLASS(load)->nickname;
    if (!vips_ispostfix(nick, "load") || strstr(nick, "magick") ||
        (VIPS_OPERATION_CLASS(load)->flags & VIPS_OPERATION_BLOCKED))
        return NULL;
    int yes = load->is_a ? load->is_a(path)
                         : vips_filename_suffix_match(path, VIPS_FOREIGN_CLASS(load)->suffs);
    return yes ? load : NULL;
}

/* The class name of the first loader (by libvips' priority) that claims
 * `path`, or NULL; ImageMagick's excepted. */
static const char *find_loader(const char *path)
{
    VipsForeignLoadClass *load =
        vips_foreign_map("VipsForeignLoad", (VipsSListMap2Fn)claims, (void *)path, NULL);
    vips_error_clear();
    return load ? G_OBJECT_CLASS_NAME(load) : NULL;
}

int pk_is_image(const char *path)
{
    if (pk_is_camera_raw(path))
        return 1;
    if (pk_image_libs_start(NULL, path) != PK_OK)
        return 0;
    const char *loader = find_loader(path);
    return loader && photo_loader(loader);
}

const char *pk_vips_reason(char *buf, size_t size)
{
    char *all = vips_error_buffer_copy();
    buf[0] = '\0';
    if (all) {
        /* Lines look like "VipsJpeg: Premature end of input file"; the
         * first one is the cause, later ones the operations it stopped. */
        char *nl = strchr(all, '\n');
        if (nl)
            *nl = '\0';
        snprintf(buf, size, "%s", all);
        g_free(all);
    }
    return buf[0] ? buf : "unknown libvips error";
}

pk_status pk_vips_fail(pk_ctx *ctx, pk_status status, const char *path, const char *what)
{
    char why[256];
    return pk_fail(ctx, status, path, "%s (%s)", what, pk_vips_reason(why, sizeof why));
}

/* Does this libvips have the HEIF loader? Debian 12's does (libheif with
 * libde265), a minimal build may not. */
static int have_heif(void)
{
    return vips_type_find("VipsOperation", "heifload") != 0;
}

/* What a file no photo loader reads is, as far as FFmpeg can tell: a
 * video, an audio file, or NULL (nothing FFmpeg knows either). FFmpeg's
 * image demuxers ("image2", "png_pipe") do not count: those files are
 * damaged pictures. */
static const char *av_kind(const char *path)
{
    pk_ctx *scratch;
    if (pk_ctx_new(&scratch) != PK_OK)
        return NULL;
    AVFormatContext *fmt = NULL;
    const char *kind = NULL;
    if (pk_ffmpeg_open(scratch, path, &fmt) == PK_OK) {
        const char *name = fmt->iformat->name;
        int image_demuxer = strstr(name, "image2") || strstr(name, "_pipe");
        for (unsigned i = 0; i < fmt->nb_streams && !image_demuxer; i++) {
            const AVStream *st = fmt->streams[i];
            if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
                !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
                kind = "a video";
            else if (st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO && !kind)
                kind = "an audio file";
        }
        avformat_close_input(&fmt);
    }
    pk_ctx_free(scratch);
    return kind;
}

pk_status pk_image_loader(pk_ctx *ctx, const char *path, const char **loader)
{
    pk_status started = pk_image_libs_start(ctx, path);
    if (started != PK_OK)
        return started;
    const char *l = find_loader(path);
    if (l && photo_loader(l)) {
        *loader = l;
        return PK_OK;
    }
    const char *ext = pk_path_extension(path);
    if (!have_heif() && (!strcasecmp(ext, "heic") || !strcasecmp(ext, "heif") ||
                         !strcasecmp(ext, "avif")))
        return pk_fail(ctx, PK_ERR_INPUT, path,
                       "HEIC/AVIF not supported: this libvips was built without heifload");
    const char *kind = av_kind(path);
    if (kind)
        return pk_fail(ctx, PK_ERR_INPUT, path, "not an image: %s%s", kind,
                       strcmp(kind, "a video") == 0 ? " (video frames are not supported yet)" : "");
    return pk_fail(ctx, PK_ERR_INPUT, path, "not an image postkit reads (unsupported format)");
}

/* Metadata a picture carries beyond its pixel layout. */
static int is_carried_metadata(const char *name)
{
    static const char *const names[] = {VIPS_META_EXIF_NAME, VIPS_META_XMP_NAME,
                                        VIPS_META_IPTC_NAME, VIPS_META_ICC_NAME,
                                        VIPS_META_ORIENTATION, VIPS_META_RESOLUTION_UNIT};
    if (strncmp(name, "exif-", 5) == 0)
        return 1;
    for (size_t i = 0; i < PK_ARRAY_LEN(names); i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static void *copy_one(VipsImage *from, const char *name, GValue *value, void *to)
{
    (void)from;
    if (is_carried_metadata(name))
        vips_image_set(to, name, value);
    return NULL;
}

void pk_vips_copy_metadata(VipsImage *to, VipsImage *from)
{
    vips_image_map(from, copy_one, to);
}

VipsImage *pk_vips_fresh_memory(VipsImage *in)
{
    VipsImage *m = vips_image_new_memory();
    if (vips_image_write(in, m) != 0) {
        g_object_unref(m);
        return NULL;
    }
    return m;
}

int pk_raw_flip_to_orientation(int flip)
{
    /* LibRaw's flip: bit 2 transposes, bit 1 flips vertically, bit 0
     * horizontally (0 none, 3 180°, 5 90° CCW, 6 90° CW). */
    static const int exif[8] = {1, 2, 4, 3, 5, 8, 6, 7};
    return flip >= 0 && flip < 8 ? exif[flip] : 1;
}

/* libvips reports recoverable oddities ("ignoring nclx profile", a JPEG's
 * extraneous bytes) as GLib warnings on stderr. postkit's errors are one
 * line per file, so they are shown only with POSTKIT_DEBUG set. */
static void vips_warning(const gchar *domain, GLogLevelFlags level, const gchar *message,
                         gpointer user)
{
    if (user)
        g_log_default_handler(domain, level, message, NULL);
}

void pk_vips_install_log(void)
{
    const char *debug = getenv("POSTKIT_DEBUG");
    int show = debug && *debug && *debug != '0';
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO, vips_warning,
                      show ? (gpointer)1 : NULL);
}

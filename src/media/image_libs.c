/*
 * image_libs.c — libvips and Exempi start when a picture is first touched,
 * not in pk_init.
 *
 * Starting libvips registers its GObject types and loads its format modules
 * (ImageMagick, poppler, libheif, OpenSlide, libjxl and what they link):
 * more time than a whole `postkit search` or an audio probe needs. So every
 * function that hands libvips a picture it did not get from libvips (a file,
 * a buffer, memory) calls pk_image_libs_start() first; functions given a
 * VipsImage need not. Once per process (pthread_once), from any thread;
 * pk_shutdown() stops them when they were started.
 */
#include "media/internal.h"

#include <stdatomic.h>
#include <pthread.h>

#include <exempi/xmp.h>
#include <vips/vips.h>

enum { LIBS_VIPS = 1, LIBS_XMP = 2, LIBS_FAILED = 4 };

static pthread_once_t libs_once = PTHREAD_ONCE_INIT;
/* Which libraries started (LIBS_*), written only inside start_libs(). */
static atomic_int libs_started;

static void start_libs(void)
{
    int started = 0;
    /* argv0 only helps libvips guess its prefix; its built-in one is used. */
    if (VIPS_INIT("postkit") == 0) {
        started |= LIBS_VIPS;
        pk_vips_install_log();
        /* libvips' operation cache holds decoded images between calls;
         * postkit streams each file once, so the cache only costs memory. */
        vips_cache_set_max(0);
    }
    /* Exempi (XMP) keeps process-wide tables. */
    if (xmp_init())
        started |= LIBS_XMP;
    if (started != (LIBS_VIPS | LIBS_XMP))
        started |= LIBS_FAILED;
    atomic_store(&libs_started, started);
}

pk_status pk_image_libs_start(pk_ctx *ctx, const char *path)
{
    pthread_once(&libs_once, start_libs);
    if (!(atomic_load(&libs_started) & LIBS_FAILED))
        return PK_OK;
    return ctx ? pk_fail(ctx, PK_ERR_INTERNAL, path, "the image libraries (libvips, Exempi) could not start")
               : PK_ERR_INTERNAL;
}

void pk_image_libs_stop(void)
{
    int started = atomic_load(&libs_started);
    if (started & LIBS_XMP)
        xmp_terminate();
    if (started & LIBS_VIPS)
        vips_shutdown();
}

/*
 * init.c — library start-up and shut-down, version.
 */
#include "core/internal.h"
#include "media/internal.h"

#include <stdlib.h>

#include <exempi/xmp.h>
#include <libavutil/log.h>
#include <vips/vips.h>

#include "pk_version.h"

const char *pk_version(void) { return PK_VERSION; }
const char *pk_git_revision(void) { return PK_GIT_REVISION; }

pk_status pk_init(const char *argv0)
{
    /* FFmpeg and libvips print to stderr by default; postkit reports errors
     * itself, one line per file. POSTKIT_DEBUG=1 shows their own messages. */
    const char *debug = getenv("POSTKIT_DEBUG");
    int verbose = debug && *debug && *debug != '0';
    av_log_set_level(verbose ? AV_LOG_VERBOSE : AV_LOG_QUIET);
    pk_ffmpeg_install_log();
    if (VIPS_INIT(argv0 ? argv0 : "postkit") != 0)
        return PK_ERR_INTERNAL;
    pk_vips_install_log();
    /* Exempi (XMP) keeps process-wide tables: set up once, here. */
    if (!xmp_init())
        return PK_ERR_INTERNAL;
    /* libvips' operation cache holds decoded images between calls; postkit
     * streams each file once, so the cache only costs memory. */
    vips_cache_set_max(0);
    return PK_OK;
}

void pk_shutdown(void)
{
    xmp_terminate();
    vips_shutdown();
}

/*
 * init.c — library start-up and shut-down (the version is in version.c).
 */
#include "core/internal.h"
#include "media/internal.h"

#include <stdlib.h>

#include <libavutil/log.h>

pk_status pk_init(const char *argv0)
{
    (void)argv0;
    /* FFmpeg and libvips print to stderr by default; postkit reports errors
     * itself, one line per file. POSTKIT_DEBUG=1 shows their own messages. */
    const char *debug = getenv("POSTKIT_DEBUG");
    int verbose = debug && *debug && *debug != '0';
    av_log_set_level(verbose ? AV_LOG_VERBOSE : AV_LOG_QUIET);
    pk_ffmpeg_install_log();
    /* libvips and Exempi start on first use (media/image_libs.c): their
     * start-up costs more than a search takes. */
    return PK_OK;
}

void pk_shutdown(void)
{
    pk_image_libs_stop();
}

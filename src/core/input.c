/*
 * input.c — the checks every input file gets before a decoder sees it, so a
 * user reads "is a directory" rather than a codec library's riddle.
 */
#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

pk_status pk_check_input_file(pk_ctx *ctx, const char *path, struct stat *st_out)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        if (e == ENOENT)
            return pk_fail(ctx, PK_ERR_INPUT, path, "no such file");
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot access: %s", strerror(e));
    }
    if (S_ISDIR(st.st_mode))
        return pk_fail(ctx, PK_ERR_INPUT, path, "is a directory, not a media file");
    if (!S_ISREG(st.st_mode))
        return pk_fail(ctx, PK_ERR_INPUT, path, "is not a regular file");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot open: %s", strerror(errno));
    close(fd);
    if (st.st_size == 0)
        return pk_fail(ctx, PK_ERR_INPUT, path, "is empty (0 bytes)");
    if (st_out)
        *st_out = st;
    return PK_OK;
}

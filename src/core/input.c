/*
 * input.c — the checks every input file gets before a decoder sees it, so a
 * user reads "is a directory" rather than a codec library's riddle.
 */
#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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

ssize_t pk_read_at(int fd, void *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

pk_status pk_read_content(pk_ctx *ctx, const char *path, size_t max, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot stat: %s", strerror(e));
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        close(fd);
        return PK_OK;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    }
    ssize_t n = pk_read_at(fd, buf, size, 0);
    int e = errno;
    close(fd);
    if (n < 0) {
        free(buf);
        return pk_fail(ctx, PK_ERR_INPUT, path, "read error: %s", strerror(e));
    }
    *data = buf;
    *len = (size_t)n;
    return PK_OK;
}

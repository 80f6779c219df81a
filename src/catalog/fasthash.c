/*
 * fasthash.c — a cheap content hash for change detection: xxHash3 over the
 * size, the first 64 KiB and the last 64 KiB. Reading 128 KiB instead of a
 * whole 50 MB RAW file lets `index` recognise a moved file's candidates
 * before it pays for the SHA-256 that proves the identity.
 */
#include "catalog/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

enum { SPAN = 64 * 1024 };

static ssize_t read_at(int fd, void *buf, size_t n, off_t off)
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

void pk_fast_hash_buffer(const void *data, size_t len, char hex[17])
{
    /* The same bytes, in the same order, as pk_fast_hash reads. */
    XXH3_state_t state;
    XXH3_64bits_reset(&state);
    uint64_t size = (uint64_t)len;
    XXH3_64bits_update(&state, &size, sizeof size);
    const unsigned char *p = data;
    XXH3_64bits_update(&state, p, len < SPAN ? len : SPAN);
    if (len > 2 * SPAN)
        XXH3_64bits_update(&state, p + len - SPAN, SPAN);
    else if (len > SPAN)
        XXH3_64bits_update(&state, p + SPAN, len - SPAN);
    snprintf(hex, 17, "%016llx", (unsigned long long)XXH3_64bits_digest(&state));
}

pk_status pk_fast_hash(pk_ctx *ctx, const char *path, char hex[17])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot stat: %s", strerror(errno));
    }
    XXH3_state_t state;
    XXH3_64bits_reset(&state);
    uint64_t size = (uint64_t)st.st_size;
    XXH3_64bits_update(&state, &size, sizeof size);
    unsigned char buf[SPAN];
    ssize_t n = read_at(fd, buf, SPAN, 0);
    if (n >= 0)
        XXH3_64bits_update(&state, buf, (size_t)n);
    if (n >= 0 && st.st_size > 2 * SPAN) {
        n = read_at(fd, buf, SPAN, st.st_size - SPAN);
        if (n >= 0)
            XXH3_64bits_update(&state, buf, (size_t)n);
    } else if (n >= 0 && st.st_size > SPAN) {
        n = read_at(fd, buf, (size_t)(st.st_size - SPAN), SPAN);
        if (n >= 0)
            XXH3_64bits_update(&state, buf, (size_t)n);
    }
    int e = errno;
    close(fd);
    if (n < 0)
        return pk_fail(ctx, PK_ERR_INPUT, path, "read error: %s", strerror(e));
    snprintf(hex, 17, "%016llx", (unsigned long long)XXH3_64bits_digest(&state));
    return PK_OK;
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
    ssize_t n = read_at(fd, buf, size, 0);
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

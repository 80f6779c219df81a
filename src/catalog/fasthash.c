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
    ssize_t n = pk_read_at(fd, buf, SPAN, 0);
    if (n >= 0)
        XXH3_64bits_update(&state, buf, (size_t)n);
    if (n >= 0 && st.st_size > 2 * SPAN) {
        n = pk_read_at(fd, buf, SPAN, st.st_size - SPAN);
        if (n >= 0)
            XXH3_64bits_update(&state, buf, (size_t)n);
    } else if (n >= 0 && st.st_size > SPAN) {
        n = pk_read_at(fd, buf, (size_t)(st.st_size - SPAN), SPAN);
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

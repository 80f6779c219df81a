/*
 * hash.c — content identity: SHA-256 of files, streamed (OpenSSL's EVP, which
 * uses the CPU's SHA extensions where present).
 */
#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

static void to_hex(const unsigned char *digest, unsigned len, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < len; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[2 * len] = '\0';
}

/* The OpenSSL digest called algorithm ("sha1", "sha256", "sha512"), or NULL. */
static const EVP_MD *digest_by_name(const char *algorithm)
{
    if (strcmp(algorithm, "sha1") == 0)
        return EVP_sha1();
    if (strcmp(algorithm, "sha256") == 0)
        return EVP_sha256();
    if (strcmp(algorithm, "sha512") == 0)
        return EVP_sha512();
    return NULL;
}

pk_status pk_file_digest_raw(pk_ctx *ctx, const char *path, const char *algorithm,
                             unsigned char digest[PK_DIGEST_MAX], unsigned *len)
{
    const EVP_MD *kind = digest_by_name(algorithm);
    if (!kind)
        return pk_fail(ctx, PK_ERR_USAGE, path, "unknown checksum algorithm '%s' (sha1, sha256, sha512)",
                       algorithm);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot open: %s", strerror(errno));
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, kind, NULL) != 1) {
        EVP_MD_CTX_free(md);
        close(fd);
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "%s is unavailable", algorithm);
    }
    /* On the heap, per call: as a thread-local it was 1 MiB that every
     * process (and thread) zeroed at start-up, hashing or not. */
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    pk_status st = buf ? PK_OK : pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    while (buf) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            st = pk_fail(ctx, PK_ERR_INPUT, path, "read error: %s", strerror(errno));
            break;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)n);
        if (pk_ctx_interrupted(ctx)) {
            st = pk_fail(ctx, PK_ERR_INTERRUPTED, path, "interrupted");
            break;
        }
    }
    free(buf);
    close(fd);
    EVP_DigestFinal_ex(md, digest, len);
    EVP_MD_CTX_free(md);
    return st;
}

pk_status pk_sha256_file(pk_ctx *ctx, const char *path, char hex[65])
{
    unsigned char digest[PK_DIGEST_MAX];
    unsigned len = 0;
    pk_status st = pk_file_digest_raw(ctx, path, "sha256", digest, &len);
    if (st == PK_OK)
        to_hex(digest, len, hex);
    return st;
}

void pk_sha256_buffer(const void *data, size_t len, char hex[65])
{
    unsigned char digest[PK_DIGEST_MAX];
    unsigned n = 0;
    EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL);
    to_hex(digest, n, hex);
}

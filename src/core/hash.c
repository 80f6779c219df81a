/*
 * hash.c — content identity: SHA-256 of files, streamed (OpenSSL's EVP, which
 * uses the CPU's SHA extensions where present).
 *
 * libcrypto is opened with dlopen on first use, once per process
 * (pthread_once), and stays loaded: linked, its ~21,000 relocations cost
 * every `postkit` command ~4.7 ms of start-up (measured: an empty program
 * linked with libcrypto too starts in 7.2 ms instead of 2.5 ms), and
 * `search`, `--help` and `--version` never hash. The operations module links
 * it anyway, so there the dlopen finds it already mapped.
 */
#include "core/internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#define PK_STR_(x) #x
#define PK_STR(x) PK_STR_(x)
/* The library of the OpenSSL major version built against (its SONAME). */
#define LIBCRYPTO "libcrypto.so." PK_STR(OPENSSL_VERSION_MAJOR)

/* The functions used, from the one load attempt (written only in
 * load_crypto; all NULL when it failed). */
typedef struct crypto_api {
    const EVP_MD *(*sha1)(void);
    const EVP_MD *(*sha256)(void);
    const EVP_MD *(*sha512)(void);
    EVP_MD_CTX *(*ctx_new)(void);
    void (*ctx_free)(EVP_MD_CTX *);
    int (*init)(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
    int (*update)(EVP_MD_CTX *, const void *, size_t);
    int (*final)(EVP_MD_CTX *, unsigned char *, unsigned int *);
    int (*digest)(const void *, size_t, unsigned char *, unsigned int *, const EVP_MD *, ENGINE *);
} crypto_api;

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static crypto_api crypto_loaded;

static void load_crypto(void)
{
    void *lib = dlopen(LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return;
    crypto_api a;
    /* POSIX: a function pointer may hold dlsym's result. */
    *(void **)&a.sha1 = dlsym(lib, "EVP_sha1");
    *(void **)&a.sha256 = dlsym(lib, "EVP_sha256");
    *(void **)&a.sha512 = dlsym(lib, "EVP_sha512");
    *(void **)&a.ctx_new = dlsym(lib, "EVP_MD_CTX_new");
    *(void **)&a.ctx_free = dlsym(lib, "EVP_MD_CTX_free");
    *(void **)&a.init = dlsym(lib, "EVP_DigestInit_ex");
    *(void **)&a.update = dlsym(lib, "EVP_DigestUpdate");
    *(void **)&a.final = dlsym(lib, "EVP_DigestFinal_ex");
    *(void **)&a.digest = dlsym(lib, "EVP_Digest");
    if (a.sha1 && a.sha256 && a.sha512 && a.ctx_new && a.ctx_free && a.init && a.update && a.final && a.digest)
        crypto_loaded = a;
}

/* OpenSSL's functions, or NULL when libcrypto cannot be loaded (a broken
 * installation). Thread-safe. */
static const crypto_api *crypto(void)
{
    pthread_once(&crypto_once, load_crypto);
    return crypto_loaded.digest ? &crypto_loaded : NULL;
}

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
static const EVP_MD *digest_by_name(const crypto_api *c, const char *algorithm)
{
    if (strcmp(algorithm, "sha1") == 0)
        return c->sha1();
    if (strcmp(algorithm, "sha256") == 0)
        return c->sha256();
    if (strcmp(algorithm, "sha512") == 0)
        return c->sha512();
    return NULL;
}

pk_status pk_file_digest_raw(pk_ctx *ctx, const char *path, const char *algorithm,
                             unsigned char digest[PK_DIGEST_MAX], unsigned *len)
{
    const crypto_api *c = crypto();
    if (!c)
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "cannot load OpenSSL's %s", LIBCRYPTO);
    const EVP_MD *kind = digest_by_name(c, algorithm);
    if (!kind)
        return pk_fail(ctx, PK_ERR_USAGE, path, "unknown checksum algorithm '%s' (sha1, sha256, sha512)",
                       algorithm);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot open: %s", strerror(errno));
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    EVP_MD_CTX *md = c->ctx_new();
    if (!md || c->init(md, kind, NULL) != 1) {
        c->ctx_free(md);
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
        c->update(md, buf, (size_t)n);
        if (pk_ctx_interrupted(ctx)) {
            st = pk_fail(ctx, PK_ERR_INTERRUPTED, path, "interrupted");
            break;
        }
    }
    free(buf);
    close(fd);
    c->final(md, digest, len);
    c->ctx_free(md);
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

pk_status pk_sha256_buffer(pk_ctx *ctx, const char *path, const void *data, size_t len, char hex[65])
{
    unsigned char digest[PK_DIGEST_MAX];
    unsigned n = 0;
    hex[0] = '\0';
    const crypto_api *c = crypto();
    if (!c)
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "cannot load OpenSSL's %s", LIBCRYPTO);
    if (c->digest(data, len, digest, &n, c->sha256(), NULL) != 1)
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "sha256 is unavailable");
    to_hex(digest, n, hex);
    return PK_OK;
}

/*
 * util.c — small helpers shared by the library: time stamps and JSON values.
 */
#include "core/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void pk_iso8601_now(char buf[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

double pk_monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
    if (s[0] >= 0xF8)
        n = 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

json_t *pk_json_string(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    /* Not valid UTF-8 (a Latin-1 file name, a camera's raw tag): replace each
     * bad byte with U+FFFD so the JSON stays valid and the rest readable. */
    size_t len = strlen(s);
    char *buf = malloc(len * 3 + 1);
    if (!buf)
        return json_null();
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_seq(p);
        if (n == 0) {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
        } else {
            memcpy(buf + o, p, n);
            o += n;
            p += n;
        }
    }
    buf[o] = '\0';
    j = json_string(buf);
    free(buf);
    return j ? j : json_null();
}

void pk_json_set_str(json_t *obj, const char *key, const char *value)
{
    if (value && *value)
        json_object_set_new(obj, key, pk_json_string(value));
}

void pk_json_set_real(json_t *obj, const char *key, double value)
{
    if (isfinite(value))
        json_object_set_new(obj, key, json_real(value));
}

void pk_json_set_int(json_t *obj, const char *key, json_int_t value)
{
    json_object_set_new(obj, key, json_integer(value));
}

double pk_round(double value, int digits)
{
    if (!isfinite(value))
        return value;
    double scale = pow(10.0, digits);
    return round(value * scale) / scale;
}

void *pk_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return v;
    size_t grown = *cap ? *cap * 2 : first;
    if (grown > SIZE_MAX / elem)
        return NULL;
    void *g = realloc(v, grown * elem);
    if (g)
        *cap = grown;
    return g;
}

/* mkdir -p of `dir` itself: each missing folder on the way is made (0755
 * before the umask); a folder that appears meanwhile is fine. 0, or -1
 * with errno (*failed_at, when given, names the folder that failed: a new
 * allocation the caller frees). */
static int make_dirs(const char *dir, char **failed_at)
{
    char *p = strdup(dir);
    if (!p)
        return -1;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            if (failed_at)
                *failed_at = p;
            else
                free(p);
            return -1;
        }
        *s = c;
        if (!c)
            break;
    }
    free(p);
    return 0;
}

pk_status pk_mkdirs(pk_ctx *ctx, const char *dir)
{
    char *failed = NULL;
    if (make_dirs(dir, &failed) == 0)
        return PK_OK;
    if (!failed)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    pk_status st = pk_fail(ctx, PK_ERR_OUTPUT, failed, "cannot create the folder: %s", strerror(errno));
    free(failed);
    return st;
}

int pk_mkdirs_for(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return -1;
    struct stat st;
    int rc = stat(dir, &st) == 0 ? (S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1)) : make_dirs(dir, NULL);
    int saved = errno;
    free(dir);
    errno = saved;
    return rc;
}

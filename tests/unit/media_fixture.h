/*
 * media_fixture.h — what the media unit tests share: a scratch folder, media
 * generated with the ffmpeg command at test time, reading ffprobe's answers.
 * Static functions only; each test program includes it once.
 */
#ifndef PK_TEST_MEDIA_FIXTURE_H
#define PK_TEST_MEDIA_FIXTURE_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <postkit/media.h>

/* cmocka's assert_float_equal compares in single precision; these tests
 * need doubles. */
#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

typedef struct media_fixture {
    pk_ctx *ctx;
    char dir[512];
    char path[8][1024];   /* a few rotating path buffers */
    int next_path;
} media_fixture;

/* A folder under $PK_TMP (set by tests/run) or /tmp. */
static int fixture_open(media_fixture *f, const char *name)
{
    const char *base = getenv("PK_TMP");
    snprintf(f->dir, sizeof f->dir, "%s/%s-XXXXXX", base && *base ? base : "/tmp", name);
    if (!mkdtemp(f->dir))
        return -1;
    if (pk_ctx_new(&f->ctx) != PK_OK || pk_init(NULL) != PK_OK)
        return -1;
    return 0;
}

static void fixture_close(media_fixture *f)
{
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", f->dir);
    pk_ctx_free(f->ctx);
    pk_shutdown();
}

/* The path of `name` in the fixture's folder (valid for 8 calls). */
static const char *fx_path(media_fixture *f, const char *name)
{
    char *p = f->path[f->next_path++ % 8];
    snprintf(p, sizeof f->path[0], "%s/%s", f->dir, name);
    return p;
}

/* Run `ffmpeg -nostdin -v error -y ARGS OUT` where OUT is `name` in the
 * fixture's folder. Returns 0 on success. */
static int gen(media_fixture *f, const char *name, const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -y %s '%s/%s'", args, f->dir, name);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "# failed: %s\n", cmd);
    return rc;
}

/* Run a shell command and return its first line of output in `buf`
 * (trailing newline removed). Returns 0 on success. */
static int shell_line(char *buf, size_t size, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    buf[0] = '\0';
    if (!fgets(buf, (int)size, p))
        buf[0] = '\0';
    /* Read the rest so the command does not die of SIGPIPE. */
    char sink[4096];
    while (fgets(sink, sizeof sink, p))
        ;
    int rc = pclose(p);
    buf[strcspn(buf, "\n")] = '\0';
    return rc;
}

/* Decode every audio block of `path` with `opts` (audio only) into a new
 * interleaved array; *frames gets the total. Returns NULL on failure. */
static float *decode_audio(pk_ctx *ctx, const char *path, const pk_source_options *opts, int64_t *frames,
                           int *channels)
{
    pk_source_options o = *opts;
    o.streams = PK_STREAM_AUDIO;
    o.audio_planar = 0;
    pk_source *src;
    if (pk_source_open(ctx, path, &o, &src) != PK_OK)
        return NULL;
    int ch = pk_source_audio(src)->channels;
    size_t cap = 1 << 16, used = 0;
    float *all = malloc(cap * sizeof *all);
    pk_item it;
    pk_status st = PK_OK;
    while (all && (st = pk_source_next(src, &it)) == PK_OK && it.type != PK_ITEM_END) {
        if (it.type != PK_ITEM_AUDIO)
            continue;
        size_t n = (size_t)it.audio->frames * (size_t)ch;
        while (used + n > cap) {
            cap *= 2;
            float *g = realloc(all, cap * sizeof *all);
            if (!g) {
                free(all);
                all = NULL;
                break;
            }
            all = g;
        }
        if (all) {
            memcpy(all + used, it.audio->interleaved, n * sizeof *all);
            used += n;
        }
    }
    pk_source_free(src);
    if (all && st != PK_OK) {
        free(all);
        return NULL;
    }
    *frames = (int64_t)(used / (size_t)ch);
    *channels = ch;
    return all;
}

#endif

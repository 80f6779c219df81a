/*
 * dupes_media.c — similar audio and video for `postkit dupes`.
 *
 * Audio (and the sound of videos without a picture match): the
 * same recording when the Chromaprint fingerprints differ in at most
 * CHROMA_MAX of their bits at the best alignment (versions of one
 * clip at 8-44.1 kHz, mono/stereo: <= 0.022; other recordings >=
 * 0.2). Video: the same when one frame hash a second differs by
 * at most FRAMES_MAX bits on average (VP8/VP9 re-encodes and remux:
 * <= 1.8; other clips >= 28). Only files whose durations agree
 * within 3% (or 1 s) are compared.
 *
 * The keeper: for video the most pixels, then the bit rate; for audio a
 * lossless format first, then the sample rate, channels, bit rate; then the
 * larger file, the older file, the shorter path.
 */
#include "catalog/dupes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHROMA_MAX 0.12
#define FRAMES_MAX 10.0

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

typedef struct media {
    int64_t asset, location;
    char *path, *type, *format;
    char sha256[65];
    int64_t width, height, bit_rate, sample_rate, channels, size, mtime_ns;
    double duration;
    uint32_t *chroma;
    size_t nchroma;
    uint64_t *frames;
    size_t nframes;
} media;

struct pk_medias {
    media *v;
    size_t n, cap;
};
typedef struct pk_medias medias;

void pk_dupes_media_free(pk_medias *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].path);
        free(m->v[i].type);
        free(m->v[i].format);
        free(m->v[i].chroma);
        free(m->v[i].frames);
    }
    free(m->v);
    free(m);
}

static void *blob_copy(pk_stmt *q, int col, size_t elem, size_t *count)
{
    size_t n;
    const void *b = pk_stmt_blob(q, col, &n);
    *count = 0;
    if (!b || n < elem)
        return NULL;
    void *c = malloc(n);
    if (c) {
        memcpy(c, b, n);
        *count = n / elem;
    }
    return c;
}

static const char media_sql[] =
    "SELECT a.id, a.sha256, a.type, a.format, a.width, a.height, a.bit_rate, a.sample_rate, "
    "  a.channels, a.size, a.duration, l.id, l.path, l.mtime_ns, c.data, f.data "
    "FROM asset a "
    "JOIN location l ON l.id = (SELECT min(id) FROM location WHERE asset_id = a.id AND missing = 0) "
    "LEFT JOIN fingerprint c ON c.asset_id = a.id AND c.producer_id = ?1 AND c.kind = 'chroma' "
    "LEFT JOIN fingerprint f ON f.asset_id = a.id AND f.producer_id = ?1 AND f.kind = 'frames' "
    "WHERE a.type IN ('audio', 'video') AND a.duration IS NOT NULL ORDER BY a.duration";

pk_status pk_dupes_media_load(pk_catalog *cat, int64_t producer, pk_medias **result)
{
    medias *out = calloc(1, sizeof *out);
    if (!out)
        return pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    *result = out;
    pk_stmt *q;
    pk_status st = pk_db_prepare(cat->store, media_sql, &q);
    if (st != PK_OK)
        return st;
    pk_stmt_bind_int(q, 1, producer);
    int r;
    while ((r = pk_stmt_step(q)) == 1) {
        media *g = pk_grow(out->v, &out->cap, out->n, sizeof *g, 256);
        if (!g) {
            st = pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
            break;
        }
        out->v = g;
        media *m = &out->v[out->n];
        memset(m, 0, sizeof *m);
        m->asset = pk_stmt_int(q, 0);
        snprintf(m->sha256, sizeof m->sha256, "%s", pk_stmt_text(q, 1));
        m->type = dup_or_null(pk_stmt_text(q, 2));
        m->format = dup_or_null(pk_stmt_text(q, 3));
        m->width = pk_stmt_int(q, 4);
        m->height = pk_stmt_int(q, 5);
        m->bit_rate = pk_stmt_int(q, 6);
        m->sample_rate = pk_stmt_int(q, 7);
        m->channels = pk_stmt_int(q, 8);
        m->size = pk_stmt_int(q, 9);
        m->duration = pk_stmt_double(q, 10);
        m->location = pk_stmt_int(q, 11);
        m->path = dup_or_null(pk_stmt_text(q, 12));
        m->mtime_ns = pk_stmt_int(q, 13);
        m->chroma = blob_copy(q, 14, sizeof *m->chroma, &m->nchroma);
        m->frames = blob_copy(q, 15, sizeof *m->frames, &m->nframes);
        out->n++;
    }
    pk_stmt_free(q);
    return r < 0 ? PK_ERR_INTERNAL : st;
}

static int lossless(const media *m)
{
    static const char *const names[] = {"wav", "flac", "aiff", "w64", "alac", "ape", "wv", "caf"};
    for (size_t i = 0; m->format && i < PK_ARRAY_LEN(names); i++)
        if (strstr(m->format, names[i]))
            return 1;
    return 0;
}

/* < 0 when a is the better keeper: video by pixels then bit rate; audio
 * lossless first, then sample rate, channels, bit rate; then the larger
 * file, the older file, the shorter path. */
static int media_keeper_order(const void *pa, const void *pb, void *ms)
{
    const media *a = &((const medias *)ms)->v[*(const size_t *)pa];
    const media *b = &((const medias *)ms)->v[*(const size_t *)pb];
    int64_t xa = a->width * a->height, xb = b->width * b->height;
    if (xa != xb)
        return xa > xb ? -1 : 1;
    if (lossless(a) != lossless(b))
        return lossless(a) ? -1 : 1;
    if (a->sample_rate != b->sample_rate)
        return a->sample_rate > b->sample_rate ? -1 : 1;
    if (a->channels != b->channels)
        return a->channels > b->channels ? -1 : 1;
    if (a->bit_rate != b->bit_rate)
        return a->bit_rate > b->bit_rate ? -1 : 1;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    if (a->mtime_ns != b->mtime_ns)
        return a->mtime_ns < b->mtime_ns ? -1 : 1;
    size_t la = strlen(a->path), lb = strlen(b->path);
    return la != lb ? (la < lb ? -1 : 1) : strcmp(a->path, b->path);
}

static json_t *media_json(const media *m)
{
    json_t *j = json_object();
    json_object_set_new(j, "path", pk_json_string(m->path));
    json_object_set_new(j, "sha256", json_string(m->sha256));
    json_object_set_new(j, "size", json_integer(m->size));
    if (m->width > 0) {
        json_object_set_new(j, "width", json_integer(m->width));
        json_object_set_new(j, "height", json_integer(m->height));
    }
    pk_json_set_str(j, "format", m->format);
    if (m->sample_rate > 0)
        json_object_set_new(j, "sample_rate", json_integer(m->sample_rate));
    if (m->channels > 0)
        json_object_set_new(j, "channels", json_integer(m->channels));
    if (m->bit_rate > 0)
        json_object_set_new(j, "bit_rate", json_integer(m->bit_rate));
    pk_json_set_real(j, "duration", pk_round(m->duration, 3));
    json_object_set_new(j, "location_id", json_integer(m->location));
    return j;
}

/* Are a and b the same recording / the same video? *how says by which
 * fingerprint, *score its distance. */
static int media_alike(const media *a, const media *b, const char **how, double *score)
{
    if (a->nframes >= 2 && b->nframes >= 2) {
        *how = "frames";
        *score = pk_frames_distance(a->frames, a->nframes, b->frames, b->nframes);
        return *score <= FRAMES_MAX;
    }
    if (a->nchroma && b->nchroma && !(a->nframes >= 2 || b->nframes >= 2)) {
        *how = "chroma";
        *score = pk_chroma_distance(a->chroma, a->nchroma, b->chroma, b->nchroma);
        return *score <= CHROMA_MAX;
    }
    return 0;
}

pk_status pk_dupes_media_groups(pk_ctx *ctx, pk_medias *ms, json_t *out)
{
    size_t n = ms->n;
    size_t *parent = malloc((n ? n : 1) * sizeof *parent);
    size_t *members = malloc((n ? n : 1) * sizeof *members);
    double *scores = malloc((n ? n : 1) * sizeof *scores);
    const char **hows = malloc((n ? n : 1) * sizeof *hows);
    if (!parent || !members || !scores || !hows) {
        free(parent);
        free(members);
        free(scores);
        free(hows);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        parent[i] = i;
        scores[i] = NAN;
        hows[i] = NULL;
    }
    /* Sorted by duration: compare each file with those of about its length. */
    for (size_t i = 0; i < n; i++) {
        double d = ms->v[i].duration, window = d * 0.03 > 1.0 ? d * 0.03 : 1.0;
        for (size_t j = i + 1; j < n && ms->v[j].duration - d <= window; j++) {
            const char *how;
            double score;
            if (strcmp(ms->v[i].sha256, ms->v[j].sha256) == 0 ||
                !media_alike(&ms->v[i], &ms->v[j], &how, &score))
                continue;
            pk_uf_unite(parent, i, j);
            /* Remember the evidence on the later file. */
            if (isnan(scores[j]) || score < scores[j]) {
                scores[j] = score;
                hows[j] = how;
            }
            if (isnan(scores[i]) || score < scores[i]) {
                scores[i] = score;
                hows[i] = how;
            }
        }
        if (pk_ctx_interrupted(ctx))
            break;
    }
    for (size_t root = 0; root < n; root++) {
        if (pk_uf_find(parent, root) != root)
            continue;
        size_t m = 0;
        for (size_t i = root; i < n; i++)
            if (pk_uf_find(parent, i) == root)
                members[m++] = i;
        if (m < 2)
            continue;
        qsort_r(members, m, sizeof *members, media_keeper_order, ms);
        json_t *others = json_array();
        for (size_t i = 1; i < m; i++) {
            json_t *oj = media_json(&ms->v[members[i]]);
            if (hows[members[i]]) {
                json_t *ev = json_object();
                json_object_set_new(ev, strcmp(hows[members[i]], "frames") == 0 ? "frame_hash_distance"
                                                                                   : "chromaprint_bit_error_rate",
                                    json_real(pk_round(scores[members[i]], 3)));
                json_object_set_new(oj, "evidence", ev);
            }
            json_array_append_new(others, oj);
        }
        const media *k = &ms->v[members[0]];
        char reason[256];
        if (k->nframes >= 2)
            snprintf(reason, sizeof reason,
                     "same video (frame hashes 1/s within %.0f bits on average); keeper: most pixels, "
                     "highest bit rate, largest file, oldest",
                     FRAMES_MAX);
        else
            snprintf(reason, sizeof reason,
                     "same recording (Chromaprint bit error rate <= %.2f); keeper: lossless, highest "
                     "sample rate, channels, bit rate, largest file, oldest",
                     CHROMA_MAX);
        json_array_append_new(out, pk_dupes_group("similar", reason, media_json(k), others));
    }
    free(parent);
    free(members);
    free(scores);
    free(hows);
    return PK_OK;
}

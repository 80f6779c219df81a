/*
 * dupes.c — `postkit dupes`: duplicate groups, each with a reason and a
 * recommended keeper, and the relations that look like duplicates but are
 * not (RAW+JPEG pairs, bursts).
 *
 * exact    same SHA-256 at several live paths (hard links to one file are
 *          listed as linked, nothing to do).
 * similar  photos whose fingerprints say "the same picture": pHash within
 *          PHASH_MAX bits AND dHash within DHASH_MAX bits AND the 16x16
 *          structure grids correlate at GRID_MIN or more. Tuned on the
 *          image_neardup corpus: resized, re-encoded (JPEG/WebP/PNG) and
 *          greyscale copies score pHash <= 8, dHash <= 5, r >= 0.97;
 *          unrelated photos pHash >= 18, r <= 0.6. With --rotations the
 *          eight quarter-turns/mirrorings are tried too, and copies turned by
 *          any angle (cropped to their frame) are matched on the centre
 *          hash: within CENTRE_MAX bits at the best of 19 angles in
 *          -45..45 degrees (copies: <= 2, unrelated: >= 14).
 *          Two photos of one camera with different capture times are never
 *          duplicates: they are two exposures (a burst), however alike.
 *          Audio and video: see dupes_media.c.
 * raw+jpeg a camera RAW file and a JPEG/HEIF of the same base name in one
 *          folder with the same capture time: one shot, two formats.
 * burst    photos of one camera taken at most BURST_GAP seconds apart.
 *
 * The keeper of a group of similar photos is, in order: the most pixels;
 * colour over greyscale; the original format (RAW, then lossless TIFF/PNG,
 * then JPEG/HEIF, then the rest); the larger file; the older capture time;
 * the older file; the shorter path. Of exact copies: the older file, then
 * the shorter path. Relations have no keeper and are never acted on.
 */
#include "catalog/dupes.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { PHASH_MAX = 10, DHASH_MAX = 12, CENTRE_MAX = 6, CENTRE_RADIUS = 7 };
#define GRID_MIN 0.90
#define BURST_GAP 1.0

/* One photo (asset) with its fingerprints and the path shown for it. */
typedef struct photo {
    int64_t asset, location;
    char *path, *format, *captured, *camera;
    char sha256[65];
    int64_t width, height, bands, size, mtime_ns;
    double when;        /* capture time in seconds, NaN when unknown */
    int raw;
    uint64_t phash[8], dhash[8];
    uint8_t grid[PK_PRINT_GRID * PK_PRINT_GRID];
    uint8_t centre[PK_PRINT_CENTRE * PK_PRINT_CENTRE];
    int has_centre;
    int has_print;      /* pHash, dHash and grid of the current producer */
} photo;

typedef struct photos {
    photo *v;
    size_t n, cap;
} photos;

static void free_photos(photos *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].path);
        free(p->v[i].format);
        free(p->v[i].captured);
        free(p->v[i].camera);
    }
    free(p->v);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* "2024-06-01T10:00:00.25+02:00" → seconds (the camera's wall clock; the
 * offset is ignored: bursts compare times of one camera). */
static double parse_time(const char *s)
{
    int Y, M, D, h, m, sec, used = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &used) != 6)
        return NAN;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m,
                    .tm_sec = sec};
    double t = (double)timegm(&tm);
    if (s[used] == '.') {
        double frac = 0, scale = 0.1;
        for (const char *p = s + used + 1; isdigit((unsigned char)*p); p++, scale /= 10)
            frac += (*p - '0') * scale;
        t += frac;
    }
    return t;
}

static const char photo_sql[] =
    "SELECT a.id, a.sha256, a.format, a.width, a.height, a.bands, a.size, a.captured, "
    "  coalesce(a.camera_make, '') || ' ' || coalesce(a.camera_model, '') || ' ' || "
    "  coalesce(a.camera_serial, ''), "
    "  l.id, l.path, l.mtime_ns, p.data, d.data, g.data, c.data "
    "FROM asset a "
    "JOIN location l ON l.id = (SELECT min(id) FROM location WHERE asset_id = a.id AND missing = 0) "
    "LEFT JOIN fingerprint p ON p.asset_id = a.id AND p.producer_id = ?1 AND p.kind = 'phash' "
    "LEFT JOIN fingerprint d ON d.asset_id = a.id AND d.producer_id = ?1 AND d.kind = 'dhash' "
    "LEFT JOIN fingerprint g ON g.asset_id = a.id AND g.producer_id = ?1 AND g.kind = 'grid' "
    "LEFT JOIN fingerprint c ON c.asset_id = a.id AND c.producer_id = ?1 AND c.kind = 'centre' "
    "WHERE a.type = 'photo' ORDER BY a.id";

static pk_status load_photos(pk_catalog *cat, int64_t producer, photos *out)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(cat->store, photo_sql, &q);
    if (st != PK_OK)
        return st;
    pk_stmt_bind_int(q, 1, producer);
    int r;
    while ((r = pk_stmt_step(q)) == 1) {
        photo *g = pk_grow(out->v, &out->cap, out->n, sizeof *g, 1024);
        if (!g) {
            st = pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
            break;
        }
        out->v = g;
        photo *p = &out->v[out->n];
        memset(p, 0, sizeof *p);
        p->asset = pk_stmt_int(q, 0);
        snprintf(p->sha256, sizeof p->sha256, "%s", pk_stmt_text(q, 1));
        p->format = dup_or_null(pk_stmt_text(q, 2));
        p->width = pk_stmt_int(q, 3);
        p->height = pk_stmt_int(q, 4);
        p->bands = pk_stmt_int(q, 5);
        p->size = pk_stmt_int(q, 6);
        p->captured = dup_or_null(pk_stmt_text(q, 7));
        p->camera = dup_or_null(pk_stmt_text(q, 8));
        p->location = pk_stmt_int(q, 9);
        p->path = dup_or_null(pk_stmt_text(q, 10));
        p->mtime_ns = pk_stmt_int(q, 11);
        p->when = parse_time(p->captured);
        p->raw = p->format && strcmp(p->format, "raw") == 0;
        size_t n;
        const void *b = pk_stmt_blob(q, 12, &n);
        int printed = b && n == sizeof p->phash;
        if (!printed)
            memset(p->phash, 0, sizeof p->phash);
        if (printed)
            memcpy(p->phash, b, n);
        b = pk_stmt_blob(q, 13, &n);
        if (b && n == sizeof p->dhash)
            memcpy(p->dhash, b, n);
        else
            printed = 0;
        b = pk_stmt_blob(q, 14, &n);
        if (b && n == sizeof p->grid)
            memcpy(p->grid, b, n);
        else
            printed = 0;
        b = pk_stmt_blob(q, 15, &n);
        if (b && n == sizeof p->centre) {
            memcpy(p->centre, b, n);
            p->has_centre = 1;
        }
        if (!p->path) {
            free(p->format);
            free(p->captured);
            free(p->camera);
            continue;
        }
        /* Without fingerprints a photo takes part in relations only. */
        p->has_print = printed;
        out->n++;
    }
    pk_stmt_free(q);
    return r < 0 ? PK_ERR_INTERNAL : st;
}

static int printed(const photo *p)
{
    return p->has_print;
}

/* ---- union-find ------------------------------------------------------ */

size_t pk_uf_find(size_t *parent, size_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

void pk_uf_unite(size_t *parent, size_t a, size_t b)
{
    a = pk_uf_find(parent, a);
    b = pk_uf_find(parent, b);
    if (a != b)
        parent[a < b ? b : a] = a < b ? a : b;
}

/* ---- relations ------------------------------------------------------- */

static void stem_of(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    size_t folder = (size_t)(name - path), n = dot ? (size_t)(dot - path) : strlen(path);
    snprintf(out, size, "%.*s", (int)n, path);
    for (size_t i = folder; out[i]; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
}

static int same_second(const photo *a, const photo *b)
{
    if (!a->captured || !b->captured)
        return 1; /* one format lost the time: the name decides */
    return strncmp(a->captured, b->captured, 19) == 0;
}

/* Are a and b a RAW+JPEG pair? */
static int raw_pair(const photo *a, const photo *b)
{
    if (a->raw == b->raw)
        return 0;
    char sa[PATH_MAX], sb[PATH_MAX];
    stem_of(a->path, sa, sizeof sa);
    stem_of(b->path, sb, sizeof sb);
    return strcmp(sa, sb) == 0 && same_second(a, b);
}

/* Two exposures: same camera, both times known, different. */
static int different_shots(const photo *a, const photo *b)
{
    return a->camera && b->camera && strcmp(a->camera, b->camera) == 0 && strcmp(a->camera, "  ") != 0 &&
           !isnan(a->when) && !isnan(b->when) && fabs(a->when - b->when) > 1e-3;
}

/* ---- similarity ------------------------------------------------------ */

typedef struct pair_score {
    int phash, dhash, transform;
    double r;
    double angle; /* NaN unless matched by the centre hash */
} pair_score;

/* Does a, seen through transform t, look like b? */
static int alike(const photo *a, const photo *b, int t, pair_score *s)
{
    s->phash = pk_hamming(a->phash[t], b->phash[0]);
    s->dhash = pk_hamming(a->dhash[t], b->dhash[0]);
    s->transform = t;
    s->angle = NAN;
    if (s->phash > PHASH_MAX || s->dhash > DHASH_MAX)
        return 0;
    s->r = pk_grid_correlation(a->grid, b->grid, t);
    return s->r >= GRID_MIN;
}

typedef struct edge {
    size_t a, b;
    pair_score s;
} edge;

typedef struct edges {
    edge *v;
    size_t n, cap;
} edges;

static int add_edge(edges *e, size_t a, size_t b, const pair_score *s)
{
    edge *g = pk_grow(e->v, &e->cap, e->n, sizeof *g, 256);
    if (!g)
        return -1;
    e->v = g;
    e->v[e->n++] = (edge){a, b, *s};
    return 0;
}

static int allowed(const photo *a, const photo *b)
{
    return printed(a) && printed(b) && strcmp(a->sha256, b->sha256) != 0 && !raw_pair(a, b) &&
           !different_shots(a, b);
}

/* Candidate pairs by multi-index hashing on pHash, checked in full. */
static pk_status similar_edges(pk_ctx *ctx, const photos *ph, int rotations, edges *out)
{
    size_t n = ph->n;
    uint64_t *h = malloc((n ? n : 1) * sizeof *h);
    uint32_t *ids = malloc(4096 * sizeof *ids);
    pk_hash_index *ix = NULL;
    pk_status st = h && ids ? PK_OK : pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; st == PK_OK && i < n; i++)
        h[i] = ph->v[i].phash[0];
    if (st == PK_OK)
        st = pk_hash_index_build(ctx, h, n, &ix);
    int transforms = rotations ? 8 : 1;
    for (size_t i = 0; st == PK_OK && i < n; i++) {
        const photo *a = &ph->v[i];
        if (!printed(a))
            continue;
        for (int t = 0; t < transforms && st == PK_OK; t++) {
            size_t found = pk_hash_index_query(ix, a->phash[t], PHASH_MAX, ids, 4096);
            if (found > 4096)
                found = 4096;
            for (size_t k = 0; k < found; k++) {
                size_t j = ids[k];
                pair_score s;
                /* t = 0 pairs are symmetric: look at each once. */
                if (j == i || (t == 0 && j < i) || !allowed(a, &ph->v[j]) || !alike(a, &ph->v[j], t, &s))
                    continue;
                if (add_edge(out, i, j, &s) != 0)
                    st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
            }
        }
        if (pk_ctx_interrupted(ctx))
            st = pk_fail(ctx, PK_ERR_INTERRUPTED, NULL, "interrupted");
    }
    pk_hash_index_free(ix);
    /* Turned by an arbitrary angle: centre hashes. */
    if (st == PK_OK && rotations) {
        for (size_t i = 0; i < n; i++)
            h[i] = ph->v[i].has_centre ? pk_centre_hash(ph->v[i].centre, 0, 0) : ~0ull;
        ix = NULL;
        st = pk_hash_index_build(ctx, h, n, &ix);
        for (size_t i = 0; st == PK_OK && i < n; i++) {
            const photo *a = &ph->v[i];
            if (!a->has_centre || !printed(a))
                continue;
            for (int deg = -45; deg <= 45 && st == PK_OK; deg += 5)
                for (int t = 0; t < 8 && st == PK_OK; t++) {
                    if (deg == 0 && t == 0)
                        continue;
                    uint64_t q = pk_centre_hash(a->centre, deg, t);
                    size_t found = pk_hash_index_query(ix, q, CENTRE_MAX, ids, 4096);
                    if (found > 4096)
                        found = 4096;
                    for (size_t k = 0; k < found; k++) {
                        size_t j = ids[k];
                        if (j == i || !ph->v[j].has_centre || !allowed(a, &ph->v[j]))
                            continue;
                        pair_score s = {.phash = pk_hamming(q, h[j]), .dhash = -1, .transform = t,
                                        .r = NAN, .angle = deg};
                        if (add_edge(out, i, j, &s) != 0)
                            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
                    }
                }
        }
        pk_hash_index_free(ix);
    }
    free(h);
    free(ids);
    return st;
}

/* ---- keepers ---------------------------------------------------------- */

static int format_rank(const photo *p)
{
    if (p->raw)
        return 0;
    const char *f = p->format ? p->format : "";
    if (!strcasecmp(f, "tiff") || !strcasecmp(f, "png"))
        return 1;
    if (!strcasecmp(f, "jpeg") || !strcasecmp(f, "heif"))
        return 2;
    return 3;
}

/* < 0 when a is the better keeper. */
static int keeper_order(const photo *a, const photo *b)
{
    int64_t pa = a->width * a->height, pb = b->width * b->height;
    if (pa != pb)
        return pa > pb ? -1 : 1;
    int ca = a->bands >= 3, cb = b->bands >= 3;
    if (ca != cb)
        return ca ? -1 : 1;
    int fa = format_rank(a), fb = format_rank(b);
    if (fa != fb)
        return fa - fb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    int ta = !isnan(a->when), tb = !isnan(b->when);
    if (ta != tb)
        return ta ? -1 : 1;
    if (ta && a->when != b->when)
        return a->when < b->when ? -1 : 1;
    if (a->mtime_ns != b->mtime_ns)
        return a->mtime_ns < b->mtime_ns ? -1 : 1;
    size_t la = strlen(a->path), lb = strlen(b->path);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a->path, b->path);
}

/* ---- records ----------------------------------------------------------- */

static json_t *photo_json(const photo *p)
{
    json_t *j = json_object();
    json_object_set_new(j, "path", pk_json_string(p->path));
    json_object_set_new(j, "sha256", json_string(p->sha256));
    json_object_set_new(j, "size", json_integer(p->size));
    if (p->width > 0) {
        json_object_set_new(j, "width", json_integer(p->width));
        json_object_set_new(j, "height", json_integer(p->height));
    }
    pk_json_set_str(j, "format", p->format);
    pk_json_set_str(j, "captured", p->captured);
    json_object_set_new(j, "location_id", json_integer(p->location));
    return j;
}

json_t *pk_dupes_group(const char *kind, const char *reason, json_t *keeper, json_t *others)
{
    json_t *g = json_object();
    json_object_set_new(g, "kind", json_string(kind));
    json_object_set_new(g, "reason", json_string(reason));
    if (keeper)
        json_object_set_new(g, "keeper", keeper);
    json_object_set_new(g, keeper ? "others" : "files", others);
    return g;
}

/* Exact groups: every asset with more than one live location. */
static pk_status exact_groups(pk_catalog *cat, json_t *out)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(
        cat->store,
        "SELECT l.asset_id, a.sha256, l.id, l.path, l.size, l.mtime_ns, l.device, l.inode "
        "FROM location l JOIN asset a ON a.id = l.asset_id "
        "WHERE l.missing = 0 AND l.asset_id IN "
        "  (SELECT asset_id FROM location WHERE missing = 0 GROUP BY asset_id HAVING count(*) > 1) "
        "ORDER BY l.asset_id, l.mtime_ns, length(l.path), l.path",
        &q);
    if (st != PK_OK)
        return st;
    int64_t current = -1, kdev = 0, kino = 0;
    json_t *keeper = NULL, *others = NULL;
    int r;
    for (;;) {
        r = pk_stmt_step(q);
        int64_t asset = r == 1 ? pk_stmt_int(q, 0) : -2;
        if (asset != current && keeper) {
            json_array_append_new(out, pk_dupes_group("exact", "same content (SHA-256); keeper: the "
                                                              "oldest file, then the shortest path",
                                                    keeper, others));
            keeper = others = NULL;
        }
        if (r != 1)
            break;
        json_t *f = json_object();
        json_object_set_new(f, "path", pk_json_string(pk_stmt_text(q, 3)));
        json_object_set_new(f, "sha256", json_string(pk_stmt_text(q, 1)));
        json_object_set_new(f, "size", json_integer(pk_stmt_int(q, 4)));
        json_object_set_new(f, "location_id", json_integer(pk_stmt_int(q, 2)));
        if (asset != current) {
            current = asset;
            keeper = f;
            others = json_array();
            kdev = pk_stmt_int(q, 6);
            kino = pk_stmt_int(q, 7);
        } else {
            if (pk_stmt_int(q, 6) == kdev && pk_stmt_int(q, 7) == kino)
                json_object_set_new(f, "linked", json_true()); /* already one file */
            json_array_append_new(others, f);
        }
    }
    pk_stmt_free(q);
    return r < 0 ? PK_ERR_INTERNAL : PK_OK;
}

static int by_keeper(const void *a, const void *b, void *ph)
{
    const photo *v = ((const photos *)ph)->v;
    return keeper_order(&v[*(const size_t *)a], &v[*(const size_t *)b]);
}

static pk_status similar_groups(pk_ctx *ctx, photos *ph, int rotations, json_t *out)
{
    edges e = {0};
    pk_status st = similar_edges(ctx, ph, rotations, &e);
    size_t n = ph->n;
    size_t *parent = malloc((n ? n : 1) * sizeof *parent);
    size_t *members = malloc((n ? n : 1) * sizeof *members);
    if (st == PK_OK && (!parent || !members))
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK) {
        for (size_t i = 0; i < n; i++)
            parent[i] = i;
        for (size_t k = 0; k < e.n; k++)
            pk_uf_unite(parent, e.v[k].a, e.v[k].b);
        /* Roots in order, each group's members sorted best keeper first. */
        for (size_t root = 0; root < n; root++) {
            if (pk_uf_find(parent, root) != root)
                continue;
            size_t m = 0;
            for (size_t i = root; i < n; i++)
                if (pk_uf_find(parent, i) == root)
                    members[m++] = i;
            if (m < 2)
                continue;
            qsort_r(members, m, sizeof *members, by_keeper, ph);
            const photo *k = &ph->v[members[0]];
            json_t *others = json_array();
            for (size_t i = 1; i < m; i++) {
                const photo *o = &ph->v[members[i]];
                json_t *oj = photo_json(o);
                /* The evidence linking this file to its group. */
                for (size_t x = 0; x < e.n; x++) {
                    const edge *ed = &e.v[x];
                    if ((ed->a == members[i] || ed->b == members[i])) {
                        json_t *ev = json_object();
                        json_object_set_new(ev, "with", pk_json_string(ph->v[ed->a == members[i] ? ed->b : ed->a].path));
                        json_object_set_new(ev, isnan(ed->s.angle) ? "phash_distance" : "centre_distance",
                                            json_integer(ed->s.phash));
                        if (ed->s.dhash >= 0)
                            json_object_set_new(ev, "dhash_distance", json_integer(ed->s.dhash));
                        if (!isnan(ed->s.r))
                            json_object_set_new(ev, "structure_r", json_real(pk_round(ed->s.r, 3)));
                        if (ed->s.transform) {
                            static const char *const names[8] = {"", "rotated 90", "rotated 180", "rotated 270",
                                                                 "mirrored", "mirrored+90", "mirrored+180",
                                                                 "mirrored+270"};
                            json_object_set_new(ev, "transform", json_string(names[ed->s.transform]));
                        }
                        if (!isnan(ed->s.angle) && ed->s.angle != 0)
                            json_object_set_new(ev, "turned_degrees", json_real(ed->s.angle));
                        json_object_set_new(oj, "evidence", ev);
                        break;
                    }
                }
                json_array_append_new(others, oj);
            }
            char reason[256];
            snprintf(reason, sizeof reason,
                     "similar pictures (pHash <= %d, dHash <= %d, structure r >= %.2f%s); keeper: most "
                     "pixels, colour, original format, largest file, oldest",
                     PHASH_MAX, DHASH_MAX, GRID_MIN, rotations ? ", any rotation or mirroring" : "");
            json_array_append_new(out, pk_dupes_group("similar", reason, photo_json(k), others));
        }
    }
    free(parent);
    free(members);
    free(e.v);
    return st;
}

static int by_camera_time(const void *a, const void *b, void *ph)
{
    const photo *v = ((const photos *)ph)->v;
    const photo *x = &v[*(const size_t *)a], *y = &v[*(const size_t *)b];
    int c = strcmp(x->camera, y->camera);
    if (c)
        return c;
    if (x->when != y->when)
        return x->when < y->when ? -1 : 1;
    return strcmp(x->path, y->path);
}

static pk_status relations(pk_ctx *ctx, photos *ph, json_t *out)
{
    size_t n = ph->n;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    /* RAW+JPEG: the RAW file, then its developed partners. */
    for (size_t i = 0; i < n; i++) {
        if (!ph->v[i].raw)
            continue;
        json_t *files = NULL;
        for (size_t j = 0; j < n; j++) {
            if (j == i || !raw_pair(&ph->v[i], &ph->v[j]))
                continue;
            if (!files) {
                files = json_array();
                json_array_append_new(files, photo_json(&ph->v[i]));
            }
            json_array_append_new(files, photo_json(&ph->v[j]));
        }
        if (files)
            json_array_append_new(out, pk_dupes_group("raw+jpeg", "one shot in two formats: same base name, "
                                                                "same capture time (not a duplicate)",
                                                    NULL, files));
    }
    /* Bursts: one camera, consecutive capture times <= BURST_GAP apart.
     * A RAW+JPEG pair counts as one frame (it is one exposure). */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(ph->v[i].when) && ph->v[i].camera && strcmp(ph->v[i].camera, "  ") != 0)
            idx[m++] = i;
    qsort_r(idx, m, sizeof *idx, by_camera_time, ph);
    for (size_t s = 0; s < m;) {
        size_t e = s + 1;
        int exposures = 1;
        while (e < m && strcmp(ph->v[idx[e]].camera, ph->v[idx[s]].camera) == 0 &&
               ph->v[idx[e]].when - ph->v[idx[e - 1]].when <= BURST_GAP) {
            if (ph->v[idx[e]].when != ph->v[idx[e - 1]].when)
                exposures++;
            e++;
        }
        if (exposures >= 2) {
            json_t *files = json_array();
            for (size_t k = s; k < e; k++)
                json_array_append_new(files, photo_json(&ph->v[idx[k]]));
            char reason[160];
            snprintf(reason, sizeof reason,
                     "burst: %d exposures of one camera at most %.0f s apart (not duplicates)", exposures,
                     BURST_GAP);
            json_array_append_new(out, pk_dupes_group("burst", reason, NULL, files));
        }
        s = e;
    }
    free(idx);
    return PK_OK;
}

/* ---- the operation ---------------------------------------------------- */

static pk_status dupes_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    if (pk_run_is_set(run, "undo"))
        return pk_dupes_undo(run, pk_run_str(run, "undo"));
    const char *kind = pk_run_str(run, "kind");
    int apply = pk_run_bool(run, "apply");
    const char *move_to = pk_run_str(run, "move-to");
    int hardlink = pk_run_bool(run, "hardlink");
    if (apply && !move_to == !hardlink)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "--apply needs exactly one of --move-to DIR or --hardlink");
    if (!apply && (move_to || hardlink))
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "--move-to and --hardlink act only with --apply");
    pk_catalog *cat;
    pk_status st = pk_catalog_open_for_run(run, 0, &cat);
    if (st != PK_OK)
        return st;
    int64_t producer = 0;
    photos ph = {0};
    json_t *groups = json_array();
    int all = strcmp(kind, "all") == 0;
    /* One snapshot: a concurrent `index` does not change the answer half-way. */
    st = pk_db_begin(cat->store, 0);
    if (st == PK_OK)
        st = pk_catalog_find_producer(cat, PK_IMAGE_PRINT_PRODUCER, PK_IMAGE_PRINT_VERSION,
                                 PK_IMAGE_PRINT_PARAMS, &producer);
    if (st == PK_OK && (all || !strcmp(kind, "exact")))
        st = exact_groups(cat, groups);
    if (st == PK_OK && (all || strcmp(kind, "exact") != 0))
        st = load_photos(cat, producer, &ph);
    int64_t av_producer = 0;
    pk_medias *ms = NULL;
    if (st == PK_OK && (all || !strcmp(kind, "similar")))
        st = pk_catalog_find_producer(cat, PK_AV_PRINT_PRODUCER, PK_AV_PRINT_VERSION, PK_AV_PRINT_PARAMS,
                                 &av_producer);
    if (st == PK_OK && (all || !strcmp(kind, "similar")))
        st = pk_dupes_media_load(cat, av_producer, &ms);
    pk_db_rollback(cat->store);
    if (st == PK_OK && (all || !strcmp(kind, "similar")))
        st = similar_groups(ctx, &ph, pk_run_bool(run, "rotations"), groups);
    if (st == PK_OK && (all || !strcmp(kind, "similar")))
        st = pk_dupes_media_groups(ctx, ms, groups);
    pk_dupes_media_free(ms);
    if (st == PK_OK && (all || !strcmp(kind, "relations")) && !apply)
        st = relations(ctx, &ph, groups);
    free_photos(&ph);
    if (st == PK_OK && apply) {
        st = pk_dupes_apply(run, cat, groups, move_to, hardlink, pk_run_str(run, "journal"),
                            pk_run_bool(run, "dry-run"));
    } else if (st == PK_OK) {
        size_t i;
        json_t *g;
        json_array_foreach(groups, i, g) pk_run_emit(run, json_incref(g));
    }
    json_decref(groups);
    pk_catalog_close(cat);
    return st;
}

static void print_file(FILE *out, const char *mark, const json_t *f)
{
    fprintf(out, "  %s %s", mark, json_string_value(json_object_get(f, "path")));
    const json_t *w = json_object_get(f, "width");
    if (w)
        fprintf(out, "  (%lldx%lld)", (long long)json_integer_value(w),
                (long long)json_integer_value(json_object_get(f, "height")));
    if (json_is_true(json_object_get(f, "linked")))
        fputs("  (hard link to the keeper)", out);
    fputc('\n', out);
}

static void dupes_print(const json_t *rec, FILE *out)
{
    const char *action = json_string_value(json_object_get(rec, "action"));
    if (action) { /* a record of --apply / --undo */
        const char *to = json_string_value(json_object_get(rec, "to"));
        fprintf(out, "%s%s %s%s%s\n", json_is_true(json_object_get(rec, "dry_run")) ? "would " : "", action,
                json_string_value(json_object_get(rec, "path")), to ? " -> " : "", to ? to : "");
        return;
    }
    if (json_object_get(rec, "journal")) {
        fprintf(out, "journal: %s\n", json_string_value(json_object_get(rec, "journal")));
        return;
    }
    fprintf(out, "%s: %s\n", json_string_value(json_object_get(rec, "kind")),
            json_string_value(json_object_get(rec, "reason")));
    const json_t *keeper = json_object_get(rec, "keeper");
    size_t i;
    const json_t *f;
    if (keeper) {
        print_file(out, "keep", keeper);
        json_array_foreach(json_object_get(rec, "others"), i, f) print_file(out, "    ", f);
    } else {
        json_array_foreach(json_object_get(rec, "files"), i, f) print_file(out, "  ", f);
    }
}

static const pk_param_spec dupes_params[] = {
    PK_CATALOG_PARAM,
    {.name = "kind", .type = PK_PARAM_ENUM, .defval = "all", .choices = "all|exact|similar|relations",
     .help = "which groups: exact copies, similar photos/audio/video, relations (RAW+JPEG pairs, "
             "bursts), or all"},
    {.name = "rotations", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "also match copies that were rotated (any angle) or mirrored"},
    {.name = "apply", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "act on the non-keepers of exact and similar groups (with --move-to or --hardlink)"},
    {.name = "move-to", .type = PK_PARAM_STRING, .metavar = "DIR",
     .help = "with --apply: move non-keepers under DIR, keeping their full path"},
    {.name = "hardlink", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "with --apply: replace exact copies by hard links to the keeper"},
    {.name = "dry-run", .type = PK_PARAM_BOOL, .defval = "yes",
     .help = "with --apply: only say what would be done; --no-dry-run acts"},
    {.name = "journal", .type = PK_PARAM_STRING, .metavar = "FILE",
     .help = "with --apply: where to write the journal (default: DIR/postkit-dupes-TIME.journal, or "
             "$XDG_DATA_HOME/postkit/journals/ for --hardlink)"},
    {.name = "undo", .type = PK_PARAM_STRING, .metavar = "JOURNAL",
     .help = "put back every file a journal of --apply moved or linked"},
    {.name = NULL},
};

const pk_op pk_op_dupes = {
    .name = "dupes",
    .summary = "Find duplicate and similar files in the catalogue; move or hard-link the extra copies",
    .description =
        "Groups exact copies (same SHA-256), similar photos (resized, re-encoded, greyscale, lightly "
        "cropped; rotated or mirrored with --rotations), the same recording at another sample rate, "
        "channel count, codec or bit rate (Chromaprint), and the same video re-encoded or remuxed "
        "(frame hashes), each with a recommended keeper: for photos the most pixels, colour over "
        "greyscale, the original format (RAW, lossless, JPEG, others), the largest file, the oldest; "
        "for audio lossless first, then sample rate, channels, bit rate; for video the most pixels, "
        "then bit rate. RAW+JPEG pairs and bursts are shown as relations and never acted on. "
        "--apply is a dry run until --no-dry-run; it never deletes: it moves the extra copies (or "
        "replaces exact copies by hard links) after writing a journal that `dupes --undo` replays "
        "backwards.",
    .input_name = "",
    .input_kind = "any",
    .min_inputs = 0,
    .max_inputs = 0,
    .params = dupes_params,
    .run = dupes_run,
    .print_human = dupes_print,
    .flags = PK_OP_NO_INPUTS,
};

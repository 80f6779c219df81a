/*
 * catalog_bench.c — in-process timings of the catalogue's hot paths, without
 * the process start-up that `hyperfine postkit ...` includes:
 *   catalog_bench hash N RADIUS QUERIES   build a multi-index over N random
 *                                          64-bit hashes, time QUERIES queries
 *   catalog_bench search CATALOG REPS QUERY...  time `postkit search` (the op;
 *                                          opening the catalogue included)
 *   catalog_bench gen CATALOG ROWS        write a catalogue of ROWS generated
 *                                          locations (see gen_rows)
 *   catalog_bench gen-transcripts CATALOG SENTENCES   give the first video and
 *                                          audio assets SENTENCES transcript
 *                                          sentences (see gen_transcripts)
 * Prints one line per measure: name, median ms, mean ms.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <postkit/catalog.h>
#include <postkit/op.h>

#include "catalog/internal.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *t, int n, const char *extra)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += t[i];
    qsort(t, (size_t)n, sizeof *t, cmp_d);
    int p95 = (int)(0.95 * (n - 1) + 0.5);
    printf("%-40s median %.3f ms  p95 %.3f ms  mean %.3f ms  max %.3f ms  (%d runs)%s\n", name, t[n / 2],
           t[p95], sum / n, t[n - 1], n, extra ? extra : "");
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static int bench_hash(pk_ctx *ctx, size_t n, int radius, int queries)
{
    uint64_t *h = malloc(n * sizeof *h), seed = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++)
        h[i] = rnd(&seed);
    /* Each query has a planted neighbour at the radius. */
    for (int q = 0; q < queries && (size_t)q < n / 2; q++) {
        uint64_t v = h[q];
        for (int b = 0; b < radius; b++)
            v ^= 1ull << ((q + b * 9) % 64);
        h[n / 2 + (size_t)q] = v;
    }
    double t0 = now_ms();
    pk_hash_index *ix;
    if (pk_hash_index_build(ctx, h, n, &ix) != PK_OK)
        return 1;
    double build = now_ms() - t0;
    double *t = malloc((size_t)queries * sizeof *t);
    uint32_t ids[4096];
    size_t found = 0;
    for (int q = 0; q < queries; q++) {
        double s = cpu_ms();
        found += pk_hash_index_query(ix, h[q], radius, ids, 4096);
        t[q] = cpu_ms() - s;
    }
    /* Linear scan for comparison (a few queries). */
    double lin = now_ms();
    size_t lf = 0;
    for (int q = 0; q < 10; q++)
        for (size_t i = 0; i < n; i++)
            lf += pk_hamming(h[i], h[q]) <= radius;
    lin = (now_ms() - lin) / 10;
    char extra[160];
    snprintf(extra, sizeof extra, "; build %.0f ms; linear scan %.2f ms/query; %zu hits", build, lin, found);
    char name[64];
    snprintf(name, sizeof name, "hash query, %zu hashes, radius %d (CPU)", n, radius);
    report(name, t, queries, extra);
    pk_hash_index_free(ix);
    free(h);
    free(t);
    return 0;
}

static void count_record(void *user, const pk_op *op, json_t *r)
{
    (void)op;
    (void)r;
    (*(int *)user)++;
}

/* The search op's debug line (what it matched and scored), of the untimed
 * run only. */
static void on_log(void *user, pk_log_level level, const char *message)
{
    if (level == PK_LOG_DEBUG && *(int *)user)
        snprintf((char *)user + sizeof(int), 200, "%s", message);
}

/* Time the search op on each query: one untimed run first (the cache warm),
 * then `reps` timed runs, wall and CPU time of the calling thread (the op
 * runs on it). */
static int bench_search(pk_ctx *ctx, const char *catalog, int reps, const char *limit, int nq, char **queries)
{
    const pk_op *op = pk_op_find("search");
    struct {
        int on;
        char text[200];
    } note;
    pk_ctx_set_log(ctx, on_log, &note);
    for (int q = 0; q < nq; q++) {
        note.on = 1;
        note.text[0] = '\0';
        double *t = malloc((size_t)reps * sizeof *t), *c = malloc((size_t)reps * sizeof *c);
        int hits = 0;
        for (int r = -1; r < reps; r++) {
            pk_args *a;
            pk_args_new(ctx, op, &a);
            pk_args_set(ctx, a, "catalog", catalog);
            if (limit)
                pk_args_set(ctx, a, "limit", limit);
            pk_args_add_input(ctx, a, queries[q]);
            if (pk_args_finish(ctx, a) != PK_OK) {
                fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
                return 1;
            }
            hits = 0;
            pk_sink sink = {count_record, NULL, &hits};
            double s = now_ms(), sc = cpu_ms();
            pk_status st = pk_op_run(ctx, op, a, &sink);
            note.on = 0;
            if (r >= 0) {
                t[r] = now_ms() - s;
                c[r] = cpu_ms() - sc;
            }
            pk_args_free(a);
            if (st != PK_OK) {
                fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
                return 1;
            }
        }
        char name[160], extra[320];
        snprintf(name, sizeof name, "search '%s' (wall)", queries[q]);
        snprintf(extra, sizeof extra, "; %d results%s%s", hits, note.text[0] ? "; " : "", note.text);
        report(name, t, reps, extra);
        snprintf(name, sizeof name, "search '%s' (CPU)", queries[q]);
        report(name, c, reps, NULL);
        free(t);
        free(c);
    }
    return 0;
}

/* ---- a generated catalogue ---------------------------------------------- */

static const char *const places[] = {
    "Iceland", "Paris", "Lisbon", "Kyoto", "Reykjavik", "Berlin", "New York", "Patagonia", "Lofoten",
    "Sicily", "Provence", "Bretagne", "Dolomites", "Marrakech", "Istanbul", "Hanoi", "Seoul", "Oslo",
    "Vienna", "Prague", "Porto", "Madrid", "Sevilla", "Rome", "Venice", "Athens", "Crete", "Tenerife",
    "Scotland", "Wales", "Cornwall", "Dublin", "Amsterdam", "Bruges", "Copenhagen", "Stockholm",
    "Helsinki", "Tallinn", "Krakow", "Budapest", "Zagreb", "Montenegro", "Tokyo", "Osaka", "Bali",
    "Sydney", "Tasmania", "Queenstown", "Vancouver", "Yosemite", "Utah", "Chicago", "Havana", "Lima",
    "Cusco", "Bogota", "Quebec", "Montreal", "Alps", "Garden", "Home", "Studio", "Office", "Beach"};
static const char *const events[] = {
    "trip", "wedding", "birthday", "hike", "concert", "family", "shoot", "portraits", "sunset",
    "christmas", "holiday", "weekend", "festival", "match", "graduation", "party", "walk", "roadtrip",
    "kids", "dog", "garden", "snow", "ski", "boat", "market", "museum", "night", "drone", "interview",
    "rehearsal", "product", "headshots", "engagement", "baptism", "reunion", "camping", "climbing"};
static const char *const words_[] = {
    "waterfall", "glacier", "lighthouse", "cathedral", "harbour", "bridge", "mountain", "forest",
    "street", "portrait", "panorama", "aurora", "sunrise", "reflection", "bride", "cake", "dance",
    "skyline", "river", "lake", "volcano", "desert", "canyon", "village", "castle", "temple"};
static const char *const artists[] = {"Nina Simone", "Miles Davis", "Ane Brun", "Sigur Ros", "Bjork",
                                      "Radiohead", "Arvo Part", "Ludovico Einaudi", "The National",
                                      "Field Recordings", "Voice Memos", "Podcast"};

typedef struct camera {
    const char *make, *model, *lens;
    const char *name_fmt, *ext;   /* e.g. "IMG_%04d", ".JPG" */
    int w, h, video;              /* 1: makes videos too */
} camera;

static const camera cameras[] = {
    {"Canon", "Canon EOS 5D Mark IV", "EF24-70mm f/2.8L II USM", "IMG_%04d", ".CR2", 6720, 4480, 1},
    {"Canon", "Canon EOS R5", "RF24-105mm F4 L IS USM", "IMG_%04d", ".CR3", 8192, 5464, 1},
    {"Canon", "Canon EOS 80D", "EF-S18-135mm f/3.5-5.6 IS USM", "IMG_%04d", ".JPG", 6000, 4000, 1},
    {"NIKON CORPORATION", "NIKON D850", "AF-S NIKKOR 24-70mm f/2.8E ED VR", "DSC_%04d", ".NEF", 8256, 5504, 0},
    {"NIKON CORPORATION", "NIKON Z 6", "NIKKOR Z 24-70mm f/4 S", "DSC_%04d", ".JPG", 6048, 4024, 1},
    {"SONY", "ILCE-7M3", "FE 24-105mm F4 G OSS", "DSC%05d", ".ARW", 6000, 4000, 1},
    {"SONY", "ILCE-7RM4", "FE 85mm F1.8", "DSC%05d", ".JPG", 9504, 6336, 1},
    {"FUJIFILM", "X-T4", "XF16-80mmF4 R OIS WR", "DSCF%04d", ".RAF", 6240, 4160, 1},
    {"FUJIFILM", "X100V", "", "DSCF%04d", ".JPG", 6240, 4160, 0},
    {"Apple", "iPhone 12 Pro", "iPhone 12 Pro back triple camera 4.2mm f/1.6", "IMG_%04d", ".HEIC", 4032, 3024, 1},
    {"Apple", "iPhone 8", "iPhone 8 back camera 3.99mm f/1.8", "IMG_%04d", ".JPG", 4032, 3024, 1},
    {"Google", "Pixel 6", "", "PXL_%s", ".jpg", 4080, 3072, 1},
    {"OLYMPUS CORPORATION", "E-M10MarkIII", "OLYMPUS M.12-45mm F4.0", "P%07d", ".ORF", 4608, 3456, 0},
    {"GoPro", "HERO9 Black", "", "GOPR%04d", ".JPG", 5184, 3888, 1},
    {"DJI", "FC3170", "", "DJI_%04d", ".JPG", 4000, 3000, 1},
};

static uint64_t rnd_below(uint64_t *x, uint64_t n)
{
    return rnd(x) % n;
}

typedef struct gen_asset {
    char type[8], format[8], codec[8], captured[48], title[64], artist[32];
    const camera *cam;
    int w, h;
    double duration;
} gen_asset;

/* One location's asset, path parts and facts, all from `i` and the seed. */
static void gen_one(uint64_t *seed, int64_t i, gen_asset *a, char *folder, size_t fsize, char *name,
                    size_t nsize)
{
    memset(a, 0, sizeof *a);
    /* Recent years hold more: year = 2025 - floor(20 * u^1.6). */
    double u = (double)rnd_below(seed, 1000000) / 1e6;
    int year = 2025 - (int)(20 * u * u * 0.8 + 20 * u * 0.2);
    int month = 1 + (int)rnd_below(seed, 12), dayn = 1 + (int)rnd_below(seed, 28);
    int hh = 7 + (int)rnd_below(seed, 14), mm = (int)rnd_below(seed, 60), ss = (int)rnd_below(seed, 60);
    /* The values are in range; the check only tells the compiler so. */
    if (snprintf(a->captured, sizeof a->captured, "%04d-%02d-%02dT%02d:%02d:%02d", year, month, dayn, hh, mm,
                 ss) >= (int)sizeof a->captured)
        a->captured[0] = '\0';
    /* An event: a place and an occasion, fixed per (year, month, day/7). */
    uint64_t ev = (uint64_t)(year * 1000 + month * 10 + dayn / 7) * 2654435761u;
    const char *place = places[ev % PK_ARRAY_LEN(places)];
    const char *event = events[(ev >> 8) % PK_ARRAY_LEN(events)];
    const camera *cam = &cameras[(ev >> 16) % PK_ARRAY_LEN(cameras)];
    if (rnd_below(seed, 4) == 0)
        cam = &cameras[rnd_below(seed, PK_ARRAY_LEN(cameras))];
    uint64_t kind = rnd_below(seed, 100);
    int counter = (int)(i * 7 % 10000);
    if (kind < 80) { /* photo */
        strcpy(a->type, "photo");
        a->cam = cam;
        a->w = cam->w;
        a->h = cam->h;
        if (rnd_below(seed, 5) == 0) { /* portrait */
            a->w = cam->h;
            a->h = cam->w;
        }
        const char *ext = cam->ext;
        snprintf(a->format, sizeof a->format, "%s",
                 !strcasecmp(ext, ".JPG") ? "jpeg" : !strcasecmp(ext, ".HEIC") ? "heif" : "raw");
        const char *root = year == 2019 && month < 7 ? "/media/ana/Archive2019" : "/home/ana/Pictures";
        snprintf(folder, fsize, "%s/%d/%04d-%02d-%02d %s %s", root, year, year, month, dayn, place, event);
        if (rnd_below(seed, 33) == 0) { /* renamed by hand */
            snprintf(name, nsize, "%s_%s_%02d.jpg", place, words_[rnd_below(seed, PK_ARRAY_LEN(words_))],
                     counter % 100);
            for (char *p = name; *p; p++)
                *p = *p == ' ' ? '_' : (char)tolower((unsigned char)*p);
            strcpy(a->format, "jpeg");
        } else if (strstr(cam->name_fmt, "%s")) {
            char stamp[32];
            if (snprintf(stamp, sizeof stamp, "%04d%02d%02d_%02d%02d%02d%03d", year, month, dayn, hh, mm, ss,
                         (int)(i % 1000)) >= (int)sizeof stamp)
                stamp[0] = '\0';
            snprintf(name, nsize, "PXL_%s%s", stamp, ext);
        } else {
            char base[32];
            snprintf(base, sizeof base, cam->name_fmt, counter);
            snprintf(name, nsize, "%s%s", base, ext);
        }
    } else if (kind < 92) { /* video */
        strcpy(a->type, "video");
        a->cam = cam->video ? cam : NULL;
        int uhd = rnd_below(seed, 10) < 4;
        a->w = uhd ? 3840 : 1920;
        a->h = uhd ? 2160 : 1080;
        a->duration = 3 + (double)rnd_below(seed, 1000) * (double)rnd_below(seed, 1000) / 1000.0;
        strcpy(a->format, "mov");
        strcpy(a->codec, uhd ? "hevc" : "h264");
        snprintf(folder, fsize, "/home/ana/Videos/%d/%s %s", year, place, event);
        if (rnd_below(seed, 20) == 0)
            snprintf(name, nsize, "%s %s.mp4", place, event);
        else
            snprintf(name, nsize, "%s%04d.MP4", cam->make[0] == 'G' ? "GX01" : cam->make[0] == 'S' ? "C" : "MVI_",
                     counter);
    } else { /* audio */
        strcpy(a->type, "audio");
        const char *artist = artists[rnd_below(seed, PK_ARRAY_LEN(artists))];
        snprintf(a->artist, sizeof a->artist, "%s", artist);
        snprintf(a->title, sizeof a->title, "%s %s", words_[rnd_below(seed, PK_ARRAY_LEN(words_))],
                 events[rnd_below(seed, PK_ARRAY_LEN(events))]);
        a->duration = 30 + (double)rnd_below(seed, 570);
        int flac = rnd_below(seed, 3) == 0;
        strcpy(a->format, flac ? "flac" : "mp3");
        strcpy(a->codec, flac ? "flac" : "mp3");
        snprintf(folder, fsize, "/home/ana/Music/%s/%d", artist, year);
        snprintf(name, nsize, "%02d %s.%s", (int)(i % 20) + 1, a->title, flac ? "flac" : "mp3");
        a->captured[0] = '\0';
    }
}

/* A catalogue of `rows` locations that looks like a photographer's: 80 %
 * photos, 12 % videos, 8 % audio over twenty years (recent ones fuller),
 * folders by year and event (place + occasion), camera file names whose
 * counters wrap, some files renamed by hand, 5 % second copies of an earlier
 * file (dupes), one drive (the first half of 2019) unplugged (missing). Full
 * text is written by the same code `index` uses. */
static int gen_rows(pk_ctx *ctx, const char *path, int64_t rows)
{
    pk_catalog *cat;
    if (pk_catalog_open(ctx, path, 1, &cat) != PK_OK) {
        fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
        return 1;
    }
    pk_db *db = cat->store;
    pk_stmt *ins_asset, *ins_loc;
    if (pk_db_prepare(db,
                      "INSERT INTO asset(sha256, size, type, format, width, height, duration, captured, "
                      "camera_make, camera_model, lens, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,'now') "
                      "RETURNING id",
                      &ins_asset) != PK_OK ||
        pk_db_prepare(db,
                      "INSERT INTO location(asset_id, path, folder, name, root, size, mtime_ns, fast_hash, "
                      "missing, first_seen, last_seen) VALUES (?,?,?,?,?,?,0,'0',?,'now','now') RETURNING id",
                      &ins_loc) != PK_OK) {
        fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
        return 1;
    }
    uint64_t seed = 0x243F6A8885A308D3ull;
    int64_t nassets = 0;
    double t0 = now_ms();
    pk_status st = pk_db_begin(db, 1);
    for (int64_t i = 1; i <= rows && st == PK_OK; i++) {
        gen_asset a;
        char folder[512], name[256], full[800];
        gen_one(&seed, i, &a, folder, sizeof folder, name, sizeof name);
        int64_t asset;
        int dupe = nassets > 100 && rnd_below(&seed, 20) == 0;
        if (dupe) {
            /* A second copy of an earlier file, elsewhere. */
            asset = 1 + (int64_t)rnd_below(&seed, (uint64_t)nassets);
            snprintf(folder, sizeof folder, "/media/ana/Backup/copy %d", (int)(asset % 500));
            pk_stmt *q;
            pk_db_prepare(db,
                          "SELECT type, format, width, height, duration, captured, camera_make, camera_model, "
                          "lens, (SELECT name FROM location WHERE asset_id = asset.id LIMIT 1) "
                          "FROM asset WHERE id = ?",
                          &q);
            pk_stmt_bind_int(q, 1, asset);
            if (pk_stmt_step(q) == 1) {
                snprintf(a.type, sizeof a.type, "%s", pk_stmt_text(q, 0));
                snprintf(a.format, sizeof a.format, "%s", pk_stmt_text(q, 1) ? pk_stmt_text(q, 1) : "");
                a.w = (int)pk_stmt_int(q, 2);
                a.h = (int)pk_stmt_int(q, 3);
                a.duration = pk_stmt_double(q, 4);
                snprintf(a.captured, sizeof a.captured, "%s", pk_stmt_text(q, 5) ? pk_stmt_text(q, 5) : "");
                a.cam = NULL;
                for (size_t c = 0; c < PK_ARRAY_LEN(cameras); c++)
                    if (pk_stmt_text(q, 7) && !strcmp(cameras[c].model, pk_stmt_text(q, 7)))
                        a.cam = &cameras[c];
                snprintf(name, sizeof name, "%s", pk_stmt_text(q, 9) ? pk_stmt_text(q, 9) : "copy");
            }
            pk_stmt_free(q);
        } else {
            char sha[65];
            snprintf(sha, sizeof sha, "%016llx%048llx", (unsigned long long)i, (unsigned long long)rnd(&seed));
            pk_stmt_reset(ins_asset);
            pk_stmt_bind_text(ins_asset, 1, sha);
            pk_stmt_bind_int(ins_asset, 2, 100000 + (int64_t)rnd_below(&seed, 50000000));
            pk_stmt_bind_text(ins_asset, 3, a.type);
            pk_stmt_bind_text(ins_asset, 4, a.format);
            if (a.w) {
                pk_stmt_bind_int(ins_asset, 5, a.w);
                pk_stmt_bind_int(ins_asset, 6, a.h);
            }
            if (a.duration > 0)
                pk_stmt_bind_double(ins_asset, 7, a.duration);
            pk_stmt_bind_text(ins_asset, 8, a.captured[0] ? a.captured : NULL);
            pk_stmt_bind_text(ins_asset, 9, a.cam ? a.cam->make : NULL);
            pk_stmt_bind_text(ins_asset, 10, a.cam ? a.cam->model : NULL);
            pk_stmt_bind_text(ins_asset, 11, a.cam && a.cam->lens[0] ? a.cam->lens : NULL);
            if (pk_stmt_step(ins_asset) != 1) {
                st = PK_ERR_INTERNAL;
                break;
            }
            asset = pk_stmt_int(ins_asset, 0);
            while (pk_stmt_step(ins_asset) == 1)
                ;
            nassets++;
        }
        snprintf(full, sizeof full, "%s/%s", folder, name);
        pk_stmt_reset(ins_loc);
        pk_stmt_bind_int(ins_loc, 1, asset);
        pk_stmt_bind_text(ins_loc, 2, full);
        pk_stmt_bind_text(ins_loc, 3, folder);
        pk_stmt_bind_text(ins_loc, 4, name);
        pk_stmt_bind_text(ins_loc, 5, "/");
        pk_stmt_bind_int(ins_loc, 6, 1000 + i);
        pk_stmt_bind_int(ins_loc, 7, strncmp(folder, "/media/ana/Archive2019", 22) == 0);
        int r = pk_stmt_step(ins_loc);
        if (r != 1) {
            /* The same path twice (a counter that wrapped in the same
             * folder): skip it. */
            pk_stmt_reset(ins_loc);
            continue;
        }
        int64_t loc = pk_stmt_int(ins_loc, 0);
        while (pk_stmt_step(ins_loc) == 1)
            ;
        pk_asset_meta m;
        pk_asset_meta_from_probe(NULL, &m);
        m.format = a.format;
        m.codec = a.codec[0] ? a.codec : NULL;
        m.title = a.title[0] ? a.title : NULL;
        m.artist = a.artist[0] ? a.artist : NULL;
        m.captured = a.captured[0] ? a.captured : NULL;
        m.make = a.cam ? a.cam->make : NULL;
        m.model = a.cam ? a.cam->model : NULL;
        m.lens = a.cam && a.cam->lens[0] ? a.cam->lens : NULL;
        m.width = a.w;
        m.height = a.h;
        m.duration = a.duration > 0 ? a.duration : NAN;
        st = pk_catalog_fts_set(db, loc, name, folder, a.type, &m);
        if (st == PK_OK && i % 50000 == 0) {
            st = pk_db_commit(db);
            fprintf(stderr, "\r%lld rows, %.0f s", (long long)i, (now_ms() - t0) / 1000);
            if (st == PK_OK)
                st = pk_db_begin(db, 1);
        }
    }
    if (st == PK_OK)
        st = pk_db_commit(db);
    else
        fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
    fprintf(stderr, "\n");
    pk_stmt_free(ins_asset);
    pk_stmt_free(ins_loc);
    if (st == PK_OK)
        st = pk_db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    pk_catalog_close(cat);
    return st == PK_OK ? 0 : 1;
}

/* ---- generated transcripts ---------------------------------------------- */

enum { SENTENCES_PER_ASSET = 100 };

/* Seven sentences, one of which every generated sentence repeats: a word
 * of one ("budget", "wedding", the phrase "fellow americans") is in one
 * sentence in seven. */
static const char *const said[] = {
    "my fellow americans ask not what your country can do for you",
    "the budget for the coming year was approved by the board",
    "thank you all for coming to the wedding of anna and james",
    "the weather tomorrow will be cold with snow in the mountains",
    "we drove along the coast and stopped at every lighthouse",
    "please remember to switch off your phones during the concert",
    "this recording was made in the studio on a rainy afternoon"};
static const char *const filler[] = {"well", "so", "and", "then", "really", "actually", "you", "know",
                                     "i", "think", "that", "it", "was", "quite", "very", "nice",
                                     "there", "here", "again", "today"};

/* Give the first SENTENCES / 100 video and audio assets of a catalogue 100
 * sentences each, 4 s apart: sentence i says said[i % 7] with 0-6 filler
 * words before and after it (so lengths and word positions vary), stored
 * as `transcribe` stores them. The catalogue keeps its schema version (7 or
 * later): the same file serves a build before and after a change. */
static int gen_transcripts(pk_ctx *ctx, const char *path, int64_t sentences)
{
    pk_db *db;
    if (pk_db_open(ctx, path, 0, &db) != PK_OK) {
        fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
        return 1;
    }
    int64_t producer = 0, assets = (sentences + SENTENCES_PER_ASSET - 1) / SENTENCES_PER_ASSET, done = 0;
    pk_stmt *ids = NULL, *del = NULL, *ins = NULL;
    pk_status st = pk_db_begin(db, 1);
    if (st == PK_OK)
        st = pk_db_exec(db, "INSERT INTO producer(name, version, params, model_id) VALUES "
                            "('transcribe', '1', 'engine=bench;sentences', 'generated') ON CONFLICT DO NOTHING");
    if (st == PK_OK)
        st = pk_db_query_int(db, "SELECT id FROM producer WHERE name = 'transcribe' AND params = "
                                 "'engine=bench;sentences'", 0, &producer);
    if (st == PK_OK)
        st = pk_db_prepare(db, "SELECT id FROM asset WHERE type IN ('video', 'audio') ORDER BY id LIMIT ?", &ids);
    if (st == PK_OK)
        st = pk_db_prepare(db, "DELETE FROM transcript WHERE asset_id = ?", &del);
    if (st == PK_OK)
        st = pk_db_prepare(db, "INSERT INTO transcript(asset_id, producer_id, start_time, end_time, text) "
                               "VALUES (?,?,?,?,?)", &ins);
    uint64_t seed = 0x13198A2E03707344ull;
    int64_t *list = malloc((size_t)assets * sizeof *list), nlist = 0;
    if (st == PK_OK && list) {
        pk_stmt_bind_int(ids, 1, assets);
        while (nlist < assets && pk_stmt_step(ids) == 1)
            list[nlist++] = pk_stmt_int(ids, 0);
    }
    for (int64_t a = 0; st == PK_OK && a < nlist; a++) {
        st = pk_db_transcript_fts_unindex(db, list[a]);
        pk_stmt_reset(del);
        pk_stmt_bind_int(del, 1, list[a]);
        if (st == PK_OK && pk_stmt_step(del) < 0)
            st = PK_ERR_INTERNAL;
        for (int i = 0; st == PK_OK && i < SENTENCES_PER_ASSET && done < sentences; i++, done++) {
            char text[512] = "";
            int before = (int)rnd_below(&seed, 7), after = (int)rnd_below(&seed, 7);
            for (int w = 0; w < before; w++) {
                strcat(text, filler[rnd_below(&seed, PK_ARRAY_LEN(filler))]);
                strcat(text, " ");
            }
            strcat(text, said[i % PK_ARRAY_LEN(said)]);
            for (int w = 0; w < after; w++) {
                strcat(text, " ");
                strcat(text, filler[rnd_below(&seed, PK_ARRAY_LEN(filler))]);
            }
            pk_stmt_reset(ins);
            pk_stmt_bind_int(ins, 1, list[a]);
            pk_stmt_bind_int(ins, 2, producer);
            pk_stmt_bind_double(ins, 3, i * 4.0);
            pk_stmt_bind_double(ins, 4, i * 4.0 + 3.5);
            pk_stmt_bind_text(ins, 5, text);
            if (pk_stmt_step(ins) < 0)
                st = PK_ERR_INTERNAL;
        }
        if (st == PK_OK)
            st = pk_db_transcript_fts_index(db, list[a]);
    }
    if (st == PK_OK && !list)
        st = PK_ERR_INTERNAL;
    if (st == PK_OK)
        st = pk_db_commit(db);
    else
        pk_db_rollback(db);
    if (st != PK_OK)
        fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
    else
        fprintf(stderr, "%lld sentences over %lld assets\n", (long long)done, (long long)nlist);
    free(list);
    pk_stmt_free(ids);
    pk_stmt_free(del);
    pk_stmt_free(ins);
    pk_db_close(db);
    return st == PK_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    pk_ctx *ctx;
    if (pk_ctx_new(&ctx) != PK_OK || pk_init(argv[0]) != PK_OK)
        return 1;
    int rc = 2;
    if (argc == 5 && strcmp(argv[1], "hash") == 0)
        rc = bench_hash(ctx, (size_t)atol(argv[2]), atoi(argv[3]), atoi(argv[4]));
    else if (argc >= 7 && strcmp(argv[1], "search") == 0 && strcmp(argv[4], "--limit") == 0)
        rc = bench_search(ctx, argv[2], atoi(argv[3]), argv[5], argc - 6, argv + 6);
    else if (argc >= 5 && strcmp(argv[1], "search") == 0)
        rc = bench_search(ctx, argv[2], atoi(argv[3]), NULL, argc - 4, argv + 4);
    else if (argc == 4 && strcmp(argv[1], "gen") == 0)
        rc = gen_rows(ctx, argv[2], atoll(argv[3]));
    else if (argc == 4 && strcmp(argv[1], "gen-transcripts") == 0)
        rc = gen_transcripts(ctx, argv[2], atoll(argv[3]));
    else
        fprintf(stderr, "usage: catalog_bench hash N RADIUS QUERIES | search CATALOG REPS [--limit N] "
                        "QUERY... | gen CATALOG ROWS | gen-transcripts CATALOG SENTENCES\n");
    pk_ctx_free(ctx);
    pk_shutdown();
    return rc;
}

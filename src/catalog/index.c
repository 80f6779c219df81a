/*
 * index.c — `postkit index DIR...`: bring the catalogue up to date with the
 * folders named.
 *
 * Phase 1 walks the folders and compares each folder with the catalogue in
 * one query: a file whose size and mtime are unchanged costs a stat and
 * nothing else; a file gone from its folder is marked missing (never
 * forgotten: its drive may just be unplugged). Phase 2 reads the new and
 * changed files on every core (fast hash, SHA-256, probe, fingerprints,
 * thumbnail) and a single writer — the calling thread — stores the results in
 * short transactions of a few dozen files. A killed run loses at most the
 * batch in flight; the next run finds everything committed unchanged and goes
 * on with the rest. A new path whose content the catalogue already holds at a
 * path that no longer exists is a move: the old location row takes the new
 * path and keeps its identity. An audio or video content read here whose
 * transcript `transcribe` stored earlier gets that transcript's sentences in
 * the catalogue (one failed open per such file when there is none).
 */
#include "catalog/internal.h"

#include <postkit/speech.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { BATCH_FILES = 64 };
#define BATCH_SECONDS 0.5

/* A file phase 2 must read. */
typedef struct todo {
    char *path;
    const char *root;        /* owned by the job */
    int64_t size, mtime_ns, device, inode;
    int64_t loc_id;          /* 0: path new to the catalogue */
    int64_t old_size;
    char old_fast[17];
    char old_sha[65];
    int stale_print;         /* only the fingerprints are out of date */
} todo;

typedef enum outcome { OUT_FAILED, OUT_TOUCHED, OUT_READ } outcome;

/* What a worker learnt about one file. */
typedef struct result {
    size_t index;            /* into job.todo */
    outcome kind;
    pk_status status;
    char error[1024];
    char fast[17];
    char sha[65];
    int64_t size, mtime_ns;
    json_t *probe;           /* NULL when unreadable */
    int has_print;
    int print_only;          /* same content; refresh the fingerprints only */
    pk_image_print print;
    char *thumb;
    int has_av;
    pk_av_print av;
    int has_transcript;      /* a stored transcript of this content */
    pk_stored_transcript transcript;
    char transcript_error[512];
} result;

typedef struct counts {
    int64_t seen, unchanged, added, changed, moved, missing, revived, failed, touched, transcripts;
} counts;

typedef struct job {
    pk_run *run;
    pk_catalog *cat;
    pk_db *store;
    pk_ctx *ctx;
    int64_t producer;        /* image prints */
    int64_t av_producer;     /* audio/video prints */
    int64_t scan_id;
    char *cache_dir;
    int thumbnails;
    char now[32];
    counts n;
    /* phase 1 */
    const char *root;
    todo *todo;
    size_t ntodo, captodo;
    char **roots;
    size_t nroots;
    char **folders;          /* folders walked, for vanished-folder detection */
    size_t nfolders, capfolders;
    pk_stmt *q_folder;
    pk_status status;
    /* Locations whose file is gone: marked missing after phase 2, unless a
     * move found in phase 2 takes the row over. */
    int64_t *gone;
    size_t ngone, capgone;
    /* phase 2 */
    result **batch;
    size_t nbatch;
    double batch_started;
    struct {
        pk_stmt *asset_by_sha, *asset_insert, *asset_update, *print_upsert, *print_drop_old,
            *loc_by_path, *loc_of_asset, *loc_update, *loc_insert, *loc_touch;
    } w;
} job;

/* ---- phase 1: walk and compare ------------------------------------------ */

static int push_todo(job *j, const pk_walk_file *f, int64_t loc_id, int64_t old_size,
                     const char *old_fast, const char *old_sha, int stale)
{
    if (j->ntodo == j->captodo) {
        size_t cap = j->captodo ? j->captodo * 2 : 256;
        todo *g = realloc(j->todo, cap * sizeof *g);
        if (!g)
            return -1;
        j->todo = g;
        j->captodo = cap;
    }
    todo *t = &j->todo[j->ntodo];
    memset(t, 0, sizeof *t);
    if (!(t->path = strdup(f->path)))
        return -1;
    t->root = j->root;
    t->size = f->size;
    t->mtime_ns = f->mtime_ns;
    t->device = f->device;
    t->inode = f->inode;
    t->loc_id = loc_id;
    t->old_size = old_size;
    snprintf(t->old_fast, sizeof t->old_fast, "%s", old_fast ? old_fast : "");
    snprintf(t->old_sha, sizeof t->old_sha, "%s", old_sha ? old_sha : "");
    t->stale_print = stale;
    j->ntodo++;
    return 0;
}

static pk_status set_missing(job *j, int64_t id, int missing)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(j->store,
                                    missing ? "UPDATE location SET missing = 1 WHERE id = ?"
                                            : "UPDATE location SET missing = 0, last_seen = ? WHERE id = ?",
                                    &q);
    if (st != PK_OK)
        return st;
    if (missing) {
        pk_stmt_bind_int(q, 1, id);
    } else {
        pk_stmt_bind_text(q, 1, j->now);
        pk_stmt_bind_int(q, 2, id);
    }
    st = pk_stmt_step(q) < 0 ? PK_ERR_INTERNAL : PK_OK;
    pk_stmt_free(q);
    return st;
}

/* Apply a folder's missing/revived flags in one short transaction. */
static pk_status apply_flags(job *j, const int64_t *ids, const int *missing, size_t n)
{
    if (!n)
        return PK_OK;
    pk_status st = pk_db_begin(j->store, 1);
    for (size_t i = 0; i < n && st == PK_OK; i++)
        st = set_missing(j, ids[i], missing[i]);
    if (st == PK_OK)
        st = pk_db_commit(j->store);
    if (st != PK_OK)
        pk_db_rollback(j->store);
    return st;
}

static int file_gone(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) != 0 && (errno == ENOENT || errno == ENOTDIR);
}

static int add_gone(job *j, int64_t id)
{
    if (j->ngone == j->capgone) {
        size_t cap = j->capgone ? j->capgone * 2 : 64;
        int64_t *g = realloc(j->gone, cap * sizeof *g);
        if (!g)
            return -1;
        j->gone = g;
        j->capgone = cap;
    }
    j->gone[j->ngone++] = id;
    return 0;
}

/* Mark what is still gone after phase 2 as missing. */
static pk_status flag_gone(job *j)
{
    size_t n = 0;
    for (size_t i = 0; i < j->ngone; i++)
        if (j->gone[i])
            j->gone[n++] = j->gone[i];
    int *ones = n ? malloc(n * sizeof *ones) : NULL;
    if (n && !ones)
        return pk_fail(j->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++)
        ones[i] = 1;
    pk_status st = apply_flags(j, j->gone, ones, n);
    free(ones);
    if (st == PK_OK)
        j->n.missing += (int64_t)n;
    j->ngone = 0;
    return st;
}

/* Compare one folder on disk with its rows in the catalogue. Both lists are
 * sorted by name (byte order), so this is a merge. */
static int on_folder(void *user, const char *folder, const pk_walk_file *files, size_t n)
{
    job *j = user;
    if (j->nfolders == j->capfolders) {
        size_t cap = j->capfolders ? j->capfolders * 2 : 256;
        char **g = realloc(j->folders, cap * sizeof *g);
        if (!g)
            goto oom;
        j->folders = g;
        j->capfolders = cap;
    }
    if (!(j->folders[j->nfolders] = strdup(folder)))
        goto oom;
    j->nfolders++;

    pk_stmt *q = j->q_folder;
    pk_stmt_reset(q);
    pk_stmt_bind_int(q, 1, j->producer);
    pk_stmt_bind_int(q, 2, j->av_producer);
    pk_stmt_bind_text(q, 3, folder);
    size_t i = 0;
    int64_t *flag_ids = NULL;
    int *flag_missing = NULL;
    size_t nflags = 0, capflags = 0;
    int r;
    while ((r = pk_stmt_step(q)) == 1 || i < n) {
        const char *name = r == 1 ? pk_stmt_text(q, 1) : NULL;
        int cmp = !name ? -1 : i >= n ? 1 : strcmp(files[i].name, name);
        /* Files on disk the catalogue does not know (yet) under this name. */
        while (cmp < 0 && i < n) {
            if (push_todo(j, &files[i], 0, 0, NULL, NULL, 0) != 0)
                goto oom_flags;
            j->n.seen++;
            i++;
            cmp = !name ? -1 : i >= n ? 1 : strcmp(files[i].name, name);
        }
        if (!name)
            break;
        int64_t id = pk_stmt_int(q, 0);
        int missing = (int)pk_stmt_int(q, 4);
        int want_missing = -1;
        if (cmp == 0) {
            const pk_walk_file *f = &files[i++];
            j->n.seen++;
            int stale = (int)pk_stmt_int(q, 5);
            if (f->size == pk_stmt_int(q, 2) && f->mtime_ns == pk_stmt_int(q, 3) && !stale) {
                j->n.unchanged++;
                if (missing) {
                    want_missing = 0;
                    j->n.revived++;
                }
            } else if (push_todo(j, f, id, pk_stmt_int(q, 2), pk_stmt_text(q, 6), pk_stmt_text(q, 7),
                                 f->size == pk_stmt_int(q, 2) && f->mtime_ns == pk_stmt_int(q, 3)) != 0) {
                goto oom_flags;
            }
        } else if (!missing) {
            /* In the catalogue, not in the listing: gone, or now excluded
             * (then it still exists and is left alone). */
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", strcmp(folder, "/") ? folder : "", name);
            if (file_gone(path) && add_gone(j, id) != 0)
                goto oom_flags;
        }
        if (want_missing >= 0) {
            if (nflags == capflags) {
                capflags = capflags ? capflags * 2 : 32;
                int64_t *a = realloc(flag_ids, capflags * sizeof *a);
                if (a)
                    flag_ids = a;
                int *b = realloc(flag_missing, capflags * sizeof *b);
                if (b)
                    flag_missing = b;
                if (!a || !b)
                    goto oom_flags;
            }
            flag_ids[nflags] = id;
            flag_missing[nflags++] = want_missing;
        }
    }
    pk_stmt_reset(q);
    if (r < 0) {
        j->status = PK_ERR_INTERNAL;
    } else {
        j->status = apply_flags(j, flag_ids, flag_missing, nflags);
    }
    free(flag_ids);
    free(flag_missing);
    pk_progress_update(j->ctx, (double)j->n.seen);
    return j->status != PK_OK;
oom_flags:
    free(flag_ids);
    free(flag_missing);
    pk_stmt_reset(q);
oom:
    j->status = pk_fail(j->ctx, PK_ERR_INTERNAL, folder, "out of memory");
    return 1;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Locations under `root` in folders the walk did not reach (deleted,
 * renamed or excluded folders): those whose file is gone become missing. */
static pk_status vanished_folders(job *j, const char *root)
{
    qsort(j->folders, j->nfolders, sizeof *j->folders, by_string);
    pk_stmt *q;
    pk_status st = pk_db_prepare(j->store,
                                    "SELECT DISTINCT folder FROM location WHERE missing = 0 AND "
                                    "(folder = ? OR (folder >= ? AND folder < ?))",
                                    &q);
    if (st != PK_OK)
        return st;
    char lo[PATH_MAX + 2], hi[PATH_MAX + 2];
    int top = strcmp(root, "/") == 0;
    snprintf(lo, sizeof lo, "%s/", top ? "" : root);
    snprintf(hi, sizeof hi, "%s0", top ? "" : root); /* '0' follows '/' */
    pk_stmt_bind_text(q, 1, root);
    pk_stmt_bind_text(q, 2, lo);
    pk_stmt_bind_text(q, 3, hi);
    char **gone = NULL;
    size_t ngone = 0;
    int r;
    while ((r = pk_stmt_step(q)) == 1) {
        const char *f = pk_stmt_text(q, 0);
        if (bsearch(&f, j->folders, j->nfolders, sizeof *j->folders, by_string))
            continue;
        char **g = realloc(gone, (ngone + 1) * sizeof *g);
        if (!g || !(g[ngone] = strdup(f))) {
            gone = g ? g : gone;
            r = -2;
            break;
        }
        gone = g;
        ngone++;
    }
    pk_stmt_free(q);
    if (r == -2)
        st = pk_fail(j->ctx, PK_ERR_INTERNAL, root, "out of memory");
    else if (r < 0)
        st = PK_ERR_INTERNAL;
    for (size_t g = 0; g < ngone && st == PK_OK; g++) {
        pk_stmt *l;
        st = pk_db_prepare(j->store, "SELECT id, path FROM location WHERE folder = ? AND missing = 0", &l);
        if (st != PK_OK)
            break;
        pk_stmt_bind_text(l, 1, gone[g]);
        int64_t *ids = NULL;
        size_t nids = 0;
        while (pk_stmt_step(l) == 1) {
            if (!file_gone(pk_stmt_text(l, 1)))
                continue;
            int64_t *a = realloc(ids, (nids + 1) * sizeof *a);
            if (!a)
                break;
            ids = a;
            ids[nids++] = pk_stmt_int(l, 0);
        }
        pk_stmt_free(l);
        for (size_t k = 0; k < nids && st == PK_OK; k++)
            if (add_gone(j, ids[k]) != 0)
                st = pk_fail(j->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        free(ids);
    }
    for (size_t g = 0; g < ngone; g++)
        free(gone[g]);
    free(gone);
    for (size_t k = 0; k < j->nfolders; k++)
        free(j->folders[k]);
    j->nfolders = 0;
    return st;
}

/* ---- phase 2: read files (workers) -------------------------------------- */

static void *read_file(pk_ctx *wctx, size_t index, void *user)
{
    job *j = user;
    const todo *t = &j->todo[index];
    result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->kind = OUT_FAILED;
    struct stat sb;
    unsigned char *data = NULL;
    size_t len = 0;
    pk_status st = pk_check_input_file(wctx, t->path, &sb);
    if (st == PK_OK) {
        r->size = sb.st_size;
        r->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    }
    /* A JPEG is read once: both hashes and the decode use those bytes.
     * Not one that may only have been touched: its head and tail tell. */
    int maybe_touched = t->loc_id && t->old_sha[0] && r->size == t->old_size;
    if (st == PK_OK && !maybe_touched && pk_is_jpeg_name(t->path))
        st = pk_read_content(wctx, t->path, PK_READ_ONCE_MAX, &data, &len);
    if (st == PK_OK && data)
        pk_fast_hash_buffer(data, len, r->fast);
    else if (st == PK_OK)
        st = pk_fast_hash(wctx, t->path, r->fast);
    /* Same size and same head and tail: the content did not change, only
     * its time stamp (a copy that kept no mtime, a `touch`). */
    int same_content = st == PK_OK && maybe_touched && strcmp(r->fast, t->old_fast) == 0;
    if (same_content && !t->stale_print) {
        r->kind = OUT_TOUCHED;
        free(data);
        return r;
    }
    if (st == PK_OK && same_content)
        snprintf(r->sha, sizeof r->sha, "%s", t->old_sha);
    else if (st == PK_OK && data)
        st = pk_sha256_buffer(wctx, t->path, data, len, r->sha);
    else if (st == PK_OK)
        st = pk_sha256_file(wctx, t->path, r->sha);
    if (st != PK_OK) {
        r->status = st;
        snprintf(r->error, sizeof r->error, "%s", pk_ctx_errmsg(wctx));
        free(data);
        return r;
    }
    r->kind = OUT_READ;
    r->print_only = same_content;
    st = pk_probe_record(wctx, t->path, 0, &r->probe);
    const char *type = r->probe ? json_string_value(json_object_get(r->probe, "type")) : NULL;
    /* FFmpeg reads a damaged JPEG as a one-frame "video"; a file named as
     * a photo that no image decoder reads is a damaged photo. */
    if (st == PK_OK && pk_walk_is_photo_name(t->path) && (!type || strcmp(type, "photo") != 0))
        st = pk_fail(wctx, PK_ERR_INPUT, t->path, "unreadable or corrupt picture (no image decoder "
                                                  "recognises its content)");
    if (st == PK_OK && type && strcmp(type, "photo") == 0) {
        char *thumb = j->thumbnails ? pk_catalog_thumb_path(j->cache_dir, r->sha) : NULL;
        st = data ? pk_image_print_data(wctx, t->path, data, len, thumb, &r->print)
                  : pk_image_print_file(wctx, t->path, thumb, &r->print);
        r->has_print = st == PK_OK;
        if (st == PK_OK)
            r->thumb = thumb;
        else
            free(thumb);
    }
    if (st == PK_OK && type && (strcmp(type, "audio") == 0 || strcmp(type, "video") == 0)) {
        st = pk_av_print_file(wctx, t->path, &r->av);
        r->has_av = st == PK_OK;
        /* A stored transcript that cannot be read is not this file's
         * failure: the writer warns. */
        if (st == PK_OK && pk_stored_transcript_find(wctx, r->sha, &r->transcript, &r->has_transcript) != PK_OK)
            snprintf(r->transcript_error, sizeof r->transcript_error, "%s", pk_ctx_errmsg(wctx));
    }
    if (st != PK_OK) {
        r->status = st;
        snprintf(r->error, sizeof r->error, "%s", pk_ctx_errmsg(wctx));
    }
    free(data);
    return r;
}

static void free_result(result *r)
{
    if (!r)
        return;
    pk_av_print_free(&r->av);
    pk_stored_transcript_free(&r->transcript);
    json_decref(r->probe);
    free(r->thumb);
    free(r);
}

/* ---- phase 2: the writer ----------------------------------------------- */

static const char *const writer_sql[] = {
    "SELECT id FROM asset WHERE sha256 = ?",
    "INSERT INTO asset(sha256, size, type, format, width, height, duration, bit_rate, sample_rate, "
    "channels, bands, captured, camera_make, camera_model, camera_serial, lens, gps_lat, gps_lon, "
    "probe, error, thumbnail, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "RETURNING id",
    "UPDATE asset SET type = ?, format = ?, width = ?, height = ?, duration = ?, bit_rate = ?, "
    "sample_rate = ?, channels = ?, bands = ?, captured = ?, camera_make = ?, camera_model = ?, "
    "camera_serial = ?, lens = ?, gps_lat = ?, gps_lon = ?, probe = ?, error = ?, "
    "thumbnail = coalesce(?, thumbnail) WHERE id = ?",
    "INSERT INTO fingerprint(asset_id, producer_id, kind, hash, data) VALUES (?,?,?,?,?) "
    "ON CONFLICT (asset_id, producer_id, kind) DO UPDATE SET hash = excluded.hash, data = excluded.data",
    /* Fingerprints of another version of the same producer: never compared
     * with the new ones, so they go when the new ones are stored. */
    "DELETE FROM fingerprint WHERE asset_id = ?1 AND producer_id IN "
    "(SELECT o.id FROM producer o JOIN producer n ON o.name = n.name WHERE n.id = ?2 AND o.id <> ?2)",
    "SELECT id FROM location WHERE path = ?",
    "SELECT id, path FROM location WHERE asset_id = ? ORDER BY missing DESC, id",
    "UPDATE location SET asset_id = ?, path = ?, folder = ?, name = ?, root = ?, size = ?, mtime_ns = ?, "
    "device = ?, inode = ?, fast_hash = ?, missing = 0, last_seen = ? WHERE id = ?",
    "INSERT INTO location(asset_id, path, folder, name, root, size, mtime_ns, device, inode, "
    "fast_hash, missing, first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?,0,?,?) RETURNING id",
    "UPDATE location SET mtime_ns = ?, size = ?, fast_hash = ?, device = ?, inode = ?, missing = 0, "
    "last_seen = ? WHERE id = ?",
};

static pk_status prepare_writer(job *j)
{
    pk_stmt **slots[] = {&j->w.asset_by_sha,  &j->w.asset_insert,   &j->w.asset_update,
                         &j->w.print_upsert,  &j->w.print_drop_old, &j->w.loc_by_path,
                         &j->w.loc_of_asset,  &j->w.loc_update,     &j->w.loc_insert,
                         &j->w.loc_touch};
    for (size_t i = 0; i < PK_ARRAY_LEN(slots); i++) {
        pk_status st = pk_db_prepare(j->store, writer_sql[i], slots[i]);
        if (st != PK_OK)
            return st;
    }
    return PK_OK;
}

static void free_writer(job *j)
{
    pk_stmt_free(j->w.asset_by_sha);
    pk_stmt_free(j->w.asset_insert);
    pk_stmt_free(j->w.asset_update);
    pk_stmt_free(j->w.print_upsert);
    pk_stmt_free(j->w.print_drop_old);
    pk_stmt_free(j->w.loc_by_path);
    pk_stmt_free(j->w.loc_of_asset);
    pk_stmt_free(j->w.loc_update);
    pk_stmt_free(j->w.loc_insert);
    pk_stmt_free(j->w.loc_touch);
}

/* Run a prepared statement to its end; the id of a RETURNING row, or 0. */
static pk_status run_stmt(pk_stmt *q, int64_t *id)
{
    int r = pk_stmt_step(q);
    if (r == 1 && id)
        *id = pk_stmt_int(q, 0);
    while (r == 1)
        r = pk_stmt_step(q);
    pk_stmt_reset(q);
    return r < 0 ? PK_ERR_INTERNAL : PK_OK;
}

/* Bind the metadata columns (starting at parameter `at`), in the order of
 * both the INSERT (after sha256, size) and the UPDATE. */
/* The type stored for an asset: its probe's, "unreadable" when it could not
 * be decoded. */
static const char *asset_type(const pk_asset_meta *m, const result *r)
{
    const char *type = r->status == PK_OK ? m->type : "unreadable";
    return type ? type : "other";
}

static int bind_meta(pk_stmt *q, int at, const pk_asset_meta *m, const result *r)
{
    pk_stmt_bind_text(q, at++, asset_type(m, r));
    pk_stmt_bind_text(q, at++, m->format);
#define INT_OR_NULL(v) ((v) > 0 ? pk_stmt_bind_int(q, at++, (v)) : pk_stmt_bind_null(q, at++))
    INT_OR_NULL(m->width);
    INT_OR_NULL(m->height);
    pk_stmt_bind_double(q, at++, m->duration);
    INT_OR_NULL(m->bit_rate);
    INT_OR_NULL(m->sample_rate);
    INT_OR_NULL(m->channels);
    INT_OR_NULL(m->bands);
#undef INT_OR_NULL
    pk_stmt_bind_text(q, at++, m->captured);
    pk_stmt_bind_text(q, at++, m->make);
    pk_stmt_bind_text(q, at++, m->model);
    pk_stmt_bind_text(q, at++, m->serial);
    pk_stmt_bind_text(q, at++, m->lens);
    pk_stmt_bind_double(q, at++, m->lat);
    pk_stmt_bind_double(q, at++, m->lon);
    char *probe = r->probe ? json_dumps(r->probe, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    pk_stmt_bind_text(q, at++, probe);
    free(probe);
    pk_stmt_bind_text(q, at++, r->status == PK_OK ? NULL : r->error);
    pk_stmt_bind_text(q, at++, r->thumb);
    return at;
}

/* Remove the asset's fingerprints made by another version of `producer`
 * (same name): a re-index after a fingerprint change leaves only the new. */
static pk_status drop_old_prints(job *j, int64_t asset, int64_t producer)
{
    pk_stmt *q = j->w.print_drop_old;
    pk_stmt_bind_int(q, 1, asset);
    pk_stmt_bind_int(q, 2, producer);
    return run_stmt(q, NULL);
}

static pk_status store_prints(job *j, int64_t asset, const pk_image_print *p)
{
    struct {
        const char *kind;
        int64_t hash;
        const void *data;
        size_t len;
    } rows[] = {
        {"phash", (int64_t)p->phash[0], p->phash, sizeof p->phash},
        {"dhash", (int64_t)p->dhash[0], p->dhash, sizeof p->dhash},
        {"grid", 0, p->grid, sizeof p->grid},
        {"centre", 0, p->centre, sizeof p->centre},
    };
    pk_status st = drop_old_prints(j, asset, j->producer);
    for (size_t i = 0; i < PK_ARRAY_LEN(rows) && st == PK_OK; i++) {
        pk_stmt *q = j->w.print_upsert;
        pk_stmt_bind_int(q, 1, asset);
        pk_stmt_bind_int(q, 2, j->producer);
        pk_stmt_bind_text(q, 3, rows[i].kind);
        pk_stmt_bind_int(q, 4, rows[i].hash);
        pk_stmt_bind_blob(q, 5, rows[i].data, rows[i].len);
        st = run_stmt(q, NULL);
    }
    return st;
}

static pk_status store_av(job *j, int64_t asset, const pk_av_print *p)
{
    struct {
        const char *kind;
        int64_t hash;
        const void *data;
        size_t len;
    } rows[] = {
        /* The marker says "fingerprinted", even when a stream was absent. */
        {"av", (int64_t)(p->nchroma << 32 | p->nframes), NULL, 0},
        {"chroma", (int64_t)p->nchroma, p->chroma, p->nchroma * sizeof *p->chroma},
        {"frames", (int64_t)p->nframes, p->frames, p->nframes * sizeof *p->frames},
    };
    pk_status st = drop_old_prints(j, asset, j->av_producer);
    for (size_t i = 0; i < PK_ARRAY_LEN(rows) && st == PK_OK; i++) {
        if (i > 0 && !rows[i].len)
            continue;
        pk_stmt *q = j->w.print_upsert;
        pk_stmt_bind_int(q, 1, asset);
        pk_stmt_bind_int(q, 2, j->av_producer);
        pk_stmt_bind_text(q, 3, rows[i].kind);
        pk_stmt_bind_int(q, 4, rows[i].hash);
        pk_stmt_bind_blob(q, 5, rows[i].data ? rows[i].data : "", rows[i].len);
        st = run_stmt(q, NULL);
    }
    return st;
}

/* The asset holding this content: found by SHA-256 (metadata refreshed)
 * or created. */
static pk_status upsert_asset(job *j, const result *r, const pk_asset_meta *m, int64_t *asset)
{
    pk_stmt *q = j->w.asset_by_sha;
    pk_stmt_bind_text(q, 1, r->sha);
    *asset = 0;
    pk_status st = run_stmt(q, asset);
    if (st != PK_OK)
        return st;
    if (*asset) {
        q = j->w.asset_update;
        int at = bind_meta(q, 1, m, r);
        pk_stmt_bind_int(q, at, *asset);
        return run_stmt(q, NULL);
    }
    q = j->w.asset_insert;
    pk_stmt_bind_text(q, 1, r->sha);
    pk_stmt_bind_int(q, 2, r->size);
    int at = bind_meta(q, 3, m, r);
    pk_stmt_bind_text(q, at, j->now);
    return run_stmt(q, asset);
}

static void split_path(const char *path, char *folder, size_t fsize, const char **name)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n == 0 && slash)
        n = 1; /* the file is in "/" */
    snprintf(folder, fsize, "%.*s", (int)n, path);
    *name = slash ? slash + 1 : path;
}

/* Binds the columns that the location insert and update share, in their
 * order: asset, path, folder, name, root, size, mtime, device, inode, fast
 * hash, seen time (parameters 1-11). */
static void bind_location(pk_stmt *q, int64_t asset, const todo *t, const result *r, const char *folder,
                          const char *name, const char *now)
{
    pk_stmt_bind_int(q, 1, asset);
    pk_stmt_bind_text(q, 2, t->path);
    pk_stmt_bind_text(q, 3, folder);
    pk_stmt_bind_text(q, 4, name);
    pk_stmt_bind_text(q, 5, t->root);
    pk_stmt_bind_int(q, 6, r->size);
    pk_stmt_bind_int(q, 7, r->mtime_ns);
    pk_stmt_bind_int(q, 8, t->device);
    pk_stmt_bind_int(q, 9, t->inode);
    pk_stmt_bind_text(q, 10, r->fast);
    pk_stmt_bind_text(q, 11, now);
}

/* Where this file's location row is: its own (known path), one left by a
 * move (same content, old path gone), or a new one. */
static pk_status upsert_location(job *j, const todo *t, const result *r, int64_t asset,
                                 const pk_asset_meta *m, int64_t *loc_out)
{
    pk_stmt *q;
    int64_t loc = t->loc_id;
    pk_status st = PK_OK;
    int moved = 0;
    if (!loc) {
        /* Another process may have added it since the walk. */
        q = j->w.loc_by_path;
        pk_stmt_bind_text(q, 1, t->path);
        st = run_stmt(q, &loc);
    }
    if (st == PK_OK && !loc) {
        q = j->w.loc_of_asset;
        pk_stmt_bind_int(q, 1, asset);
        int rr;
        while ((rr = pk_stmt_step(q)) == 1) {
            const char *old = pk_stmt_text(q, 1);
            if (strcmp(old, t->path) != 0 && file_gone(old)) {
                loc = pk_stmt_int(q, 0);
                moved = 1;
                break;
            }
        }
        pk_stmt_reset(q);
        if (rr < 0)
            st = PK_ERR_INTERNAL;
    }
    char folder[PATH_MAX];
    const char *name;
    split_path(t->path, folder, sizeof folder, &name);
    if (st == PK_OK && loc) {
        q = j->w.loc_update;
        bind_location(q, asset, t, r, folder, name, j->now);
        pk_stmt_bind_int(q, 12, loc);
        st = run_stmt(q, NULL);
        if (moved) {
            j->n.moved++;
            for (size_t g = 0; g < j->ngone; g++)
                if (j->gone[g] == loc)
                    j->gone[g] = 0;
        }
        else if (!r->print_only)
            j->n.changed++;
    } else if (st == PK_OK) {
        q = j->w.loc_insert;
        bind_location(q, asset, t, r, folder, name, j->now);
        pk_stmt_bind_text(q, 12, j->now);
        st = run_stmt(q, &loc);
        j->n.added++;
    }
    if (st == PK_OK)
        st = pk_catalog_fts_set(j->store, loc, name, folder, asset_type(m, r), m);
    *loc_out = loc;
    return st;
}

static pk_status write_one(job *j, const todo *t, result *r)
{
    if (r->kind == OUT_TOUCHED) {
        pk_stmt *q = j->w.loc_touch;
        pk_stmt_bind_int(q, 1, r->mtime_ns);
        pk_stmt_bind_int(q, 2, r->size);
        pk_stmt_bind_text(q, 3, r->fast);
        pk_stmt_bind_int(q, 4, t->device);
        pk_stmt_bind_int(q, 5, t->inode);
        pk_stmt_bind_text(q, 6, j->now);
        pk_stmt_bind_int(q, 7, t->loc_id);
        j->n.touched++;
        return run_stmt(q, NULL);
    }
    pk_asset_meta m;
    if (r->probe)
        pk_asset_meta_from_probe(r->probe, &m);
    else
        pk_asset_meta_from_probe(NULL, &m);
    int64_t asset = 0, loc = 0;
    pk_status st = upsert_asset(j, r, &m, &asset);
    if (st == PK_OK && r->has_print)
        st = store_prints(j, asset, &r->print);
    if (st == PK_OK && r->has_av)
        st = store_av(j, asset, &r->av);
    if (st == PK_OK && r->has_transcript) {
        st = pk_catalog_replace_transcript(j->cat, asset, &r->transcript.by, r->transcript.sentences,
                                           r->transcript.n);
        j->n.transcripts++;
    }
    if (r->transcript_error[0])
        pk_log(j->ctx, PK_LOG_WARNING, "%s", r->transcript_error);
    if (st == PK_OK)
        st = upsert_location(j, t, r, asset, &m, &loc);
    return st;
}

static pk_status flush_batch(job *j)
{
    if (!j->nbatch)
        return PK_OK;
    pk_status st = pk_db_begin(j->store, 1);
    for (size_t i = 0; i < j->nbatch && st == PK_OK; i++)
        st = write_one(j, &j->todo[j->batch[i]->index], j->batch[i]);
    if (st == PK_OK)
        st = pk_db_commit(j->store);
    if (st != PK_OK)
        pk_db_rollback(j->store);
    for (size_t i = 0; i < j->nbatch; i++)
        free_result(j->batch[i]);
    j->nbatch = 0;
    return st;
}

/* The writer: runs on the calling thread, in file order. Failures are
 * reported per file; a file that could be hashed but not decoded is stored
 * as "unreadable" so it is reported once, not at every run. */
static void on_result(size_t index, void *res, void *user)
{
    job *j = user;
    result *r = res;
    const todo *t = &j->todo[index];
    pk_progress_update(j->ctx, (double)(index + 1));
    if (j->status != PK_OK) {
        free_result(r);
        return;
    }
    if (!r) {
        j->status = pk_fail(j->ctx, PK_ERR_INTERNAL, t->path, "out of memory");
        return;
    }
    r->index = index;
    if (r->status != PK_OK) {
        j->n.failed++;
        pk_fail(j->ctx, r->status, NULL, "%s", r->error);
        pk_run_file_failed(j->run, t->path, r->status);
        if (r->kind == OUT_FAILED || r->status == PK_ERR_INTERRUPTED) {
            free_result(r);
            return;
        }
    }
    if (j->nbatch == 0)
        j->batch_started = pk_monotonic_seconds();
    j->batch[j->nbatch++] = r;
    if (j->nbatch == BATCH_FILES || pk_monotonic_seconds() - j->batch_started > BATCH_SECONDS)
        j->status = flush_batch(j);
}

/* ---- the run ----------------------------------------------------------- */

static pk_status scan_begin(job *j)
{
    json_t *roots = json_array();
    for (size_t i = 0; i < j->nroots; i++)
        json_array_append_new(roots, pk_json_string(j->roots[i]));
    char *text = json_dumps(roots, JSON_COMPACT);
    json_decref(roots);
    pk_stmt *q;
    pk_status st = pk_db_prepare(j->store,
                                    "INSERT INTO scan(started, roots, postkit) VALUES (?,?,?) RETURNING id", &q);
    if (st == PK_OK) {
        pk_stmt_bind_text(q, 1, j->now);
        pk_stmt_bind_text(q, 2, text ? text : "[]");
        pk_stmt_bind_text(q, 3, pk_version());
        st = run_stmt(q, &j->scan_id);
        pk_stmt_free(q);
    }
    free(text);
    return st;
}

static pk_status scan_end(job *j)
{
    char now[32];
    pk_iso8601_now(now);
    pk_stmt *q;
    pk_status st = pk_db_prepare(j->store,
                                    "UPDATE scan SET finished = ?, seen = ?, added = ?, changed = ?, "
                                    "moved = ?, missing = ?, failed = ? WHERE id = ?",
                                    &q);
    if (st != PK_OK)
        return st;
    pk_stmt_bind_text(q, 1, now);
    pk_stmt_bind_int(q, 2, j->n.seen);
    pk_stmt_bind_int(q, 3, j->n.added);
    pk_stmt_bind_int(q, 4, j->n.changed);
    pk_stmt_bind_int(q, 5, j->n.moved);
    pk_stmt_bind_int(q, 6, j->n.missing);
    pk_stmt_bind_int(q, 7, j->n.failed);
    pk_stmt_bind_int(q, 8, j->scan_id);
    st = run_stmt(q, NULL);
    pk_stmt_free(q);
    return st;
}

static const char folder_sql[] =
    "SELECT l.id, l.name, l.size, l.mtime_ns, l.missing, "
    "  ((a.type = 'photo' AND NOT EXISTS (SELECT 1 FROM fingerprint f WHERE f.asset_id = a.id "
    "    AND f.producer_id = ?1 AND f.kind = 'phash')) OR "
    "   (a.type IN ('audio', 'video') AND NOT EXISTS (SELECT 1 FROM fingerprint f "
    "    WHERE f.asset_id = a.id AND f.producer_id = ?2 AND f.kind = 'av'))), "
    "  l.fast_hash, a.sha256 "
    "FROM location l JOIN asset a ON a.id = l.asset_id WHERE l.folder = ?3 ORDER BY l.name";

static pk_status walk_roots(job *j)
{
    pk_status st = pk_db_prepare(j->store, folder_sql, &j->q_folder);
    pk_walk_opts opts = {.hidden = pk_run_bool(j->run, "hidden")};
    size_t nex = pk_run_str_count(j->run, "exclude");
    const char **ex = nex ? calloc(nex, sizeof *ex) : NULL;
    for (size_t i = 0; ex && i < nex; i++)
        ex[i] = pk_run_str_at(j->run, "exclude", i);
    opts.exclude = ex;
    opts.nexclude = ex ? nex : 0;
    pk_progress_begin(j->ctx, "scanning", 0, "files");
    for (size_t i = 0; i < j->nroots && st == PK_OK; i++) {
        j->root = j->roots[i];
        j->status = PK_OK;
        st = pk_walk(j->ctx, j->roots[i], &opts, on_folder, j);
        if (st == PK_OK)
            st = j->status;
        if (st == PK_OK)
            st = vanished_folders(j, j->roots[i]);
    }
    pk_progress_end(j->ctx);
    free(ex);
    pk_stmt_free(j->q_folder);
    j->q_folder = NULL;
    return st;
}

static json_t *summary(const job *j, double seconds)
{
    json_t *rec = json_object();
    json_object_set_new(rec, "catalog", pk_json_string(j->cat->path));
    json_t *roots = json_array();
    for (size_t i = 0; i < j->nroots; i++)
        json_array_append_new(roots, pk_json_string(j->roots[i]));
    json_object_set_new(rec, "roots", roots);
    json_object_set_new(rec, "files", json_integer(j->n.seen));
    json_object_set_new(rec, "unchanged", json_integer(j->n.unchanged + j->n.touched));
    json_object_set_new(rec, "added", json_integer(j->n.added));
    json_object_set_new(rec, "changed", json_integer(j->n.changed));
    json_object_set_new(rec, "moved", json_integer(j->n.moved));
    json_object_set_new(rec, "missing", json_integer(j->n.missing));
    json_object_set_new(rec, "back", json_integer(j->n.revived));
    json_object_set_new(rec, "failed", json_integer(j->n.failed));
    json_object_set_new(rec, "transcripts", json_integer(j->n.transcripts));
    json_object_set_new(rec, "seconds", json_real(pk_round(seconds, 3)));
    return rec;
}

static void index_print(const json_t *rec, FILE *out)
{
#define N(k) (long long)json_integer_value(json_object_get(rec, k))
    fprintf(out, "%lld files: %lld unchanged, %lld added, %lld changed, %lld moved, %lld missing, "
                 "%lld back, %lld unreadable (%.1f s)\n",
            N("files"), N("unchanged"), N("added"), N("changed"), N("moved"), N("missing"), N("back"),
            N("failed"), json_real_value(json_object_get(rec, "seconds")));
    fprintf(out, "catalogue: %s\n", json_string_value(json_object_get(rec, "catalog")));
#undef N
}

static pk_status index_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    double t0 = pk_monotonic_seconds();
    job j = {.run = run, .ctx = ctx, .thumbnails = pk_run_bool(run, "thumbnails")};
    pk_iso8601_now(j.now);
    /* Canonical absolute roots: the catalogue's paths must not depend on
     * the folder `index` ran from. */
    j.nroots = pk_run_input_count(run);
    j.roots = calloc(j.nroots, sizeof *j.roots);
    if (!j.roots)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    pk_status st = PK_OK;
    for (size_t i = 0; i < j.nroots && st == PK_OK; i++) {
        const char *in = pk_run_input(run, i);
        struct stat sb;
        if (!(j.roots[i] = realpath(in, NULL)))
            st = pk_fail(ctx, PK_ERR_INPUT, in, "cannot access: %s", strerror(errno));
        else if (stat(j.roots[i], &sb) != 0 || !S_ISDIR(sb.st_mode))
            st = pk_fail(ctx, PK_ERR_INPUT, in, "is not a folder");
    }
    if (st == PK_OK)
        st = pk_catalog_cache_dir(ctx, &j.cache_dir);
    if (st == PK_OK)
        st = pk_catalog_open_for_run(run, 1, &j.cat);
    if (st == PK_OK) {
        j.store = j.cat->store;
        st = pk_catalog_producer(j.cat, PK_IMAGE_PRINT_PRODUCER, PK_IMAGE_PRINT_VERSION,
                                 PK_IMAGE_PRINT_PARAMS, &j.producer);
        if (st == PK_OK)
            st = pk_catalog_producer(j.cat, PK_AV_PRINT_PRODUCER, PK_AV_PRINT_VERSION, PK_AV_PRINT_PARAMS,
                                     &j.av_producer);
    }
    if (st == PK_OK)
        st = scan_begin(&j);
    if (st == PK_OK)
        st = walk_roots(&j);
    if (st == PK_OK && !(j.batch = calloc(BATCH_FILES, sizeof *j.batch)))
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK)
        st = prepare_writer(&j);
    if (st == PK_OK) {
        pk_progress_begin(ctx, "indexing", (double)j.ntodo, "files");
        st = pk_parallel_ordered(ctx, j.ntodo, read_file, on_result, &j);
        pk_progress_end(ctx);
        /* What was read before an interruption is kept. */
        pk_status fs = j.status == PK_OK ? flush_batch(&j) : j.status;
        if (fs == PK_OK && st == PK_OK)
            fs = flag_gone(&j);
        if (st == PK_OK)
            st = fs;
    }
    free_writer(&j);
    if (j.store && j.scan_id) {
        pk_status es = scan_end(&j);
        if (st == PK_OK)
            st = es;
    }
    if (st == PK_OK)
        pk_run_emit(run, summary(&j, pk_monotonic_seconds() - t0));
    for (size_t i = 0; i < j.nbatch; i++)
        free_result(j.batch[i]);
    free(j.batch);
    for (size_t i = 0; i < j.ntodo; i++)
        free(j.todo[i].path);
    free(j.todo);
    free(j.gone);
    for (size_t i = 0; i < j.nfolders; i++)
        free(j.folders[i]);
    free(j.folders);
    for (size_t i = 0; i < j.nroots; i++)
        free(j.roots[i]);
    free(j.roots);
    free(j.cache_dir);
    pk_catalog_close(j.cat);
    return st;
}

static const pk_param_spec index_params[] = {
    PK_CATALOG_PARAM,
    {.name = "exclude", .type = PK_PARAM_STRING, .metavar = "GLOB", .flags = PK_PARAM_REPEAT,
     .help = "skip files and folders whose name or path matches GLOB (repeatable)"},
    {.name = "hidden", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "also index hidden files and folders (names starting with a dot)"},
    {.name = "thumbnails", .type = PK_PARAM_BOOL, .defval = "yes",
     .help = "keep a 256-pixel thumbnail of every photo in $XDG_CACHE_HOME/postkit"},
    {.name = NULL},
};

const pk_op pk_op_index = {
    .name = "index",
    .summary = "Add folders of photos, videos and audio to the catalogue, or bring it up to date",
    .description =
        "Walks the folders (symbolic links are not followed; hidden and system folders are skipped) "
        "and records, per file: path, size, mtime, a fast hash and the SHA-256 of its content, the "
        "technical and camera metadata of `probe`, and for photos a thumbnail and perceptual "
        "fingerprints; an audio or video file transcribed earlier (`postkit transcribe`) gets its "
        "stored transcript's sentences, so search finds what is said. "
        "An unchanged file costs one stat. A file moved or renamed keeps its record "
        "(recognised by content); a deleted one is marked missing, not forgotten. Safe to stop at "
        "any moment, even with kill -9: the next run goes on where this one stopped. Another "
        "`postkit` may search or index the same catalogue meanwhile.",
    .input_name = "DIR",
    .input_kind = "any",
    .min_inputs = 1,
    .max_inputs = -1,
    .params = index_params,
    .run = index_run,
    .print_human = index_print,
};

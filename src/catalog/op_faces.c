/*
 * op_faces.c — `postkit faces [PATH...|--all]`: find the faces in
 * catalogued photos and videos, store them, and group them into people.
 *
 * Pictures are read on every core (pk_parallel_ordered), each worker
 * running the models single-threaded so that two pictures use two cores
 * without oversubscribing them; the calling thread stores the results in
 * short transactions, in input order. A picture is looked at once per face
 * producer (models + pipeline version): a second run skips it unless
 * --reindex. Then one clustering pass lets the new faces join the people
 * that exist or found new ones (people.c).
 *
 * A file given by path that is not in the catalogue is still looked at:
 * its faces are reported, not stored (index it to keep them).
 */
#include "catalog/people.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

enum { BATCH_ITEMS = 32 };

typedef struct item {
    char *path;
    int64_t asset;           /* 0: not in the catalogue (report only) */
    int video;
} item;

typedef struct found {
    size_t index;            /* into job.items */
    pk_status status;
    char error[1024];
    pk_face *faces;
    double *times;           /* video: frame time of each face; NULL for a photo */
    size_t n;
    int width, height, frames, max_per_frame;
    pk_face_timing timing;
} found;

/* A face of a named person, replaced by --reindex: its name goes to the
 * person its new face ends up in. */
typedef struct old_name {
    int64_t asset;
    double time;             /* -1 for a photo */
    double x, y, w, h;
    char *name;
} old_name;

typedef struct job {
    pk_run *run;
    pk_ctx *ctx;
    pk_catalog *cat;
    pk_face_finder *finder;
    int64_t producer;
    double every;
    int reindex;
    item *items;
    size_t n, cap;
    pk_status status;
    found **batch;
    size_t nbatch;
    pk_stmt *face_insert, *scan_upsert;
    old_name *names;
    size_t nnames;
    int64_t *touched_people;
    size_t ntouched;
    char now[32];
    /* totals */
    int64_t pictures, videos, frames, faces, smiling, failed, skipped, uncatalogued;
    pk_face_timing timing;
} job;

static void free_found(found *r)
{
    if (!r)
        return;
    free(r->faces);
    free(r->times);
    free(r);
}

/* ---- what to look at ----------------------------------------------------- */

static int push_item(job *j, const char *path, int64_t asset, int video)
{
    for (size_t i = 0; asset && i < j->n; i++)
        if (j->items[i].asset == asset)
            return 0;
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 64;
        item *g = realloc(j->items, cap * sizeof *g);
        if (!g)
            return -1;
        j->items = g;
        j->cap = cap;
    }
    if (!(j->items[j->n].path = strdup(path)))
        return -1;
    j->items[j->n].asset = asset;
    j->items[j->n].video = video;
    j->n++;
    return 0;
}

/* The catalogued photos and videos matching `where` (a condition on l and
 * a, with at most one text parameter `arg`), one present location each,
 * skipping those this producer saw unless --reindex. */
static pk_status select_assets(job *j, const char *where, const char *arg, const char *arg2, size_t *count)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT min(l.path), a.id, a.type FROM location l JOIN asset a ON a.id = l.asset_id "
             "WHERE l.missing = 0 AND a.type IN ('photo', 'video') AND (%s)%s GROUP BY a.id ORDER BY min(l.path)",
             where,
             j->reindex ? "" : " AND NOT EXISTS (SELECT 1 FROM face_scan s WHERE s.asset_id = a.id AND s.producer_id = ?9)");
    pk_stmt *q;
    pk_status st = pk_db_prepare(j->cat->store, sql, &q);
    if (st != PK_OK)
        return st;
    if (arg)
        pk_stmt_bind_text(q, 1, arg);
    if (arg2)
        pk_stmt_bind_text(q, 2, arg2);
    if (!j->reindex)
        pk_stmt_bind_int(q, 9, j->producer);
    int r;
    size_t before = j->n;
    while ((r = pk_stmt_step(q)) == 1)
        if (push_item(j, pk_stmt_text(q, 0), pk_stmt_int(q, 1), strcmp(pk_stmt_text(q, 2), "video") == 0) != 0) {
            r = -2;
            break;
        }
    pk_stmt_free(q);
    if (r == -2)
        return pk_fail(j->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (count)
        *count = j->n - before;
    return r < 0 ? PK_ERR_INTERNAL : PK_OK;
}

/* Was this asset seen already by the producer (a file given by path)? */
static int already_scanned(job *j, const char *path)
{
    pk_stmt *q;
    if (pk_db_prepare(j->cat->store,
                      "SELECT 1 FROM location l JOIN face_scan s ON s.asset_id = l.asset_id "
                      "WHERE l.path = ? AND s.producer_id = ?",
                      &q) != PK_OK)
        return 0;
    pk_stmt_bind_text(q, 1, path);
    pk_stmt_bind_int(q, 2, j->producer);
    int r = pk_stmt_step(q);
    pk_stmt_free(q);
    return r == 1;
}

static pk_status gather(job *j)
{
    if (pk_run_bool(j->run, "all"))
        return select_assets(j, "1 = 1", NULL, NULL, NULL);
    pk_status st = PK_OK;
    for (size_t i = 0; i < pk_run_input_count(j->run) && st == PK_OK; i++) {
        const char *in = pk_run_input(j->run, i);
        char *real = realpath(in, NULL);
        struct stat sb;
        if (!real || stat(real, &sb) != 0) {
            st = pk_fail(j->ctx, PK_ERR_INPUT, in, "cannot access: %s", strerror(errno));
            free(real);
            break;
        }
        if (S_ISDIR(sb.st_mode)) {
            /* Everything catalogued under the folder. */
            char lo[PATH_MAX + 2], hi[PATH_MAX + 2];
            int top = strcmp(real, "/") == 0;
            snprintf(lo, sizeof lo, "%s/", top ? "" : real);
            snprintf(hi, sizeof hi, "%s0", top ? "" : real);
            size_t got = 0;
            st = select_assets(j, "l.path >= ?1 AND l.path < ?2", lo, hi, &got);
            if (st == PK_OK && got == 0 && !j->reindex)
                pk_log(j->ctx, PK_LOG_INFO, "%s: nothing new to look at (index the folder first?)", in);
        } else {
            size_t got = 0;
            st = select_assets(j, "l.path = ?1", real, NULL, &got);
            if (st == PK_OK && got == 0) {
                if (already_scanned(j, real)) {
                    j->skipped++;
                } else {
                    /* Not catalogued (or not a photo/video there): look
                     * anyway and report. */
                    int video = !pk_walk_is_photo_name(real) && pk_walk_is_media_name(real);
                    if (push_item(j, real, 0, video) != 0)
                        st = pk_fail(j->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
                    j->uncatalogued++;
                }
            }
        }
        free(real);
    }
    return st;
}

/* ---- workers --------------------------------------------------------------- */

static void *look(pk_ctx *wctx, size_t index, void *user)
{
    job *j = user;
    const item *it = &j->items[index];
    found *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (it->video)
        r->status = pk_faces_in_video(wctx, j->finder, it->path, j->every, &r->faces, &r->times, &r->n,
                                      &r->frames, &r->max_per_frame, &r->width, &r->height, &r->timing);
    else
        r->status = pk_face_find_file(wctx, j->finder, it->path, &r->faces, &r->n, &r->width, &r->height,
                                      &r->timing);
    if (r->status != PK_OK)
        snprintf(r->error, sizeof r->error, "%s", pk_ctx_errmsg(wctx));
    if (!it->video)
        r->max_per_frame = (int)r->n;
    return r;
}

/* ---- the writer -------------------------------------------------------------- */

static int add_touched(job *j, int64_t person)
{
    for (size_t i = 0; i < j->ntouched; i++)
        if (j->touched_people[i] == person)
            return 0;
    int64_t *g = realloc(j->touched_people, (j->ntouched + 1) * sizeof *g);
    if (!g)
        return -1;
    j->touched_people = g;
    j->touched_people[j->ntouched++] = person;
    return 0;
}

/* --reindex: the asset's earlier faces (of any producer) go; the names of
 * their people are remembered, their people refreshed after the batch. */
static pk_status drop_old_faces(job *j, int64_t asset)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(j->cat->store,
                                 "SELECT f.person_id, p.name, coalesce(f.time, -1), f.x, f.y, f.w, f.h "
                                 "FROM face f LEFT JOIN person p ON p.id = f.person_id WHERE f.asset_id = ?",
                                 &q);
    if (st != PK_OK)
        return st;
    pk_stmt_bind_int(q, 1, asset);
    int r;
    while ((r = pk_stmt_step(q)) == 1) {
        if (pk_stmt_is_null(q, 0))
            continue;
        if (add_touched(j, pk_stmt_int(q, 0)) != 0) {
            r = -2;
            break;
        }
        const char *name = pk_stmt_text(q, 1);
        if (!name)
            continue;
        old_name *g = realloc(j->names, (j->nnames + 1) * sizeof *g);
        if (!g || !(g[j->nnames].name = strdup(name))) {
            if (g)
                j->names = g;
            r = -2;
            break;
        }
        j->names = g;
        old_name *o = &j->names[j->nnames++];
        o->asset = asset;
        o->time = pk_stmt_double(q, 2);
        o->x = pk_stmt_double(q, 3);
        o->y = pk_stmt_double(q, 4);
        o->w = pk_stmt_double(q, 5);
        o->h = pk_stmt_double(q, 6);
    }
    pk_stmt_free(q);
    if (r == -2)
        return pk_fail(j->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (r < 0)
        return PK_ERR_INTERNAL;
    static const char *const drops[] = {"DELETE FROM face WHERE asset_id = ?",
                                        "DELETE FROM face_scan WHERE asset_id = ?"};
    for (size_t i = 0; i < PK_ARRAY_LEN(drops) && st == PK_OK; i++) {
        st = pk_db_prepare(j->cat->store, drops[i], &q);
        if (st != PK_OK)
            break;
        pk_stmt_bind_int(q, 1, asset);
        st = pk_stmt_step(q) < 0 ? PK_ERR_INTERNAL : PK_OK;
        pk_stmt_free(q);
    }
    return st;
}

static char *landmarks_json(const pk_face *f)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "[");
    for (int k = 0; k < PK_FACE_LANDMARKS; k++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s[%.5f,%.5f]", k ? "," : "", f->landmarks[k][0],
                      f->landmarks[k][1]);
    snprintf(buf + n, sizeof buf - (size_t)n, "]");
    return strdup(buf);
}

static char *expressions_json(const pk_face *f)
{
    json_t *o = json_object();
    for (int e = 0; e < PK_EXPRESSIONS; e++)
        json_object_set_new(o, pk_expression_name(e), json_real(pk_round(f->expressions[e], 4)));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static int dominant(const pk_face *f)
{
    int best = 0;
    for (int e = 1; e < PK_EXPRESSIONS; e++)
        if (f->expressions[e] > f->expressions[best])
            best = e;
    return best;
}

static pk_status store_faces(job *j, const item *it, const found *r)
{
    pk_status st = PK_OK;
    if (j->reindex)
        st = drop_old_faces(j, it->asset);
    for (size_t i = 0; i < r->n && st == PK_OK; i++) {
        const pk_face *f = &r->faces[i];
        pk_stmt *q = j->face_insert;
        char *lm = landmarks_json(f), *ex = expressions_json(f);
        if (!lm || !ex) {
            free(lm);
            free(ex);
            return pk_fail(j->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        }
        pk_stmt_bind_int(q, 1, it->asset);
        pk_stmt_bind_int(q, 2, j->producer);
        if (r->times)
            pk_stmt_bind_double(q, 3, r->times[i]);
        else
            pk_stmt_bind_null(q, 3);
        pk_stmt_bind_double(q, 4, f->x);
        pk_stmt_bind_double(q, 5, f->y);
        pk_stmt_bind_double(q, 6, f->w);
        pk_stmt_bind_double(q, 7, f->h);
        pk_stmt_bind_text(q, 8, lm);
        pk_stmt_bind_double(q, 9, pk_round(f->score, 4));
        pk_stmt_bind_double(q, 10, pk_round(f->size, 1));
        pk_stmt_bind_double(q, 11, pk_round(f->sharpness, 1));
        pk_stmt_bind_int(q, 12, f->usable);
        pk_stmt_bind_text(q, 13, pk_expression_name(dominant(f)));
        pk_stmt_bind_double(q, 14, pk_round(f->expressions[PK_EXPR_HAPPY], 4));
        pk_stmt_bind_text(q, 15, ex);
        if (f->dim)
            pk_stmt_bind_blob(q, 16, f->embedding, (size_t)f->dim * sizeof(float));
        else
            pk_stmt_bind_null(q, 16);
        pk_stmt_bind_text(q, 17, j->now);
        int rr = pk_stmt_step(q);
        pk_stmt_reset(q);
        free(lm);
        free(ex);
        if (rr < 0)
            st = PK_ERR_INTERNAL;
    }
    if (st == PK_OK) {
        pk_stmt *q = j->scan_upsert;
        pk_stmt_bind_int(q, 1, it->asset);
        pk_stmt_bind_int(q, 2, j->producer);
        pk_stmt_bind_int(q, 3, r->max_per_frame);
        pk_stmt_bind_int(q, 4, r->width);
        pk_stmt_bind_int(q, 5, r->height);
        pk_stmt_bind_text(q, 6, j->now);
        st = pk_stmt_step(q) < 0 ? PK_ERR_INTERNAL : PK_OK;
        pk_stmt_reset(q);
    }
    return st;
}

static pk_status flush(job *j)
{
    if (!j->nbatch)
        return PK_OK;
    pk_status st = pk_db_begin(j->cat->store, 1);
    for (size_t i = 0; i < j->nbatch && st == PK_OK; i++)
        st = store_faces(j, &j->items[j->batch[i]->index], j->batch[i]);
    for (size_t i = 0; i < j->ntouched && st == PK_OK; i++)
        st = pk_person_refresh(j->cat, j->touched_people[i]);
    j->ntouched = 0;
    if (st == PK_OK)
        st = pk_db_commit(j->cat->store);
    if (st != PK_OK)
        pk_db_rollback(j->cat->store);
    for (size_t i = 0; i < j->nbatch; i++)
        free_found(j->batch[i]);
    j->nbatch = 0;
    return st;
}

/* The record of one picture or video: its faces, as fractions of the
 * picture and in its pixels as analysed. */
static json_t *file_record(const item *it, const found *r)
{
    json_t *rec = json_object();
    json_object_set_new(rec, "path", pk_json_string(it->path));
    json_object_set_new(rec, "type", json_string(it->video ? "video" : "photo"));
    if (!it->asset)
        json_object_set_new(rec, "catalogued", json_false());
    if (it->video)
        json_object_set_new(rec, "frames", json_integer(r->frames));
    json_object_set_new(rec, "width", json_integer(r->width));
    json_object_set_new(rec, "height", json_integer(r->height));
    json_t *list = json_array();
    int smiling = 0;
    for (size_t i = 0; i < r->n; i++) {
        const pk_face *f = &r->faces[i];
        json_t *o = json_object();
        if (r->times)
            json_object_set_new(o, "time", json_real(pk_round(r->times[i], 3)));
        json_t *box = json_array();
        json_array_append_new(box, json_real(pk_round(f->x, 4)));
        json_array_append_new(box, json_real(pk_round(f->y, 4)));
        json_array_append_new(box, json_real(pk_round(f->w, 4)));
        json_array_append_new(box, json_real(pk_round(f->h, 4)));
        json_object_set_new(o, "box", box);
        json_t *px = json_array();
        json_array_append_new(px, json_integer(lround(f->x * r->width)));
        json_array_append_new(px, json_integer(lround(f->y * r->height)));
        json_array_append_new(px, json_integer(lround(f->w * r->width)));
        json_array_append_new(px, json_integer(lround(f->h * r->height)));
        json_object_set_new(o, "box_px", px);
        json_object_set_new(o, "score", json_real(pk_round(f->score, 3)));
        json_object_set_new(o, "size", json_real(pk_round(f->size, 1)));
        json_object_set_new(o, "sharpness", json_real(pk_round(f->sharpness, 1)));
        json_object_set_new(o, "usable", json_boolean(f->usable));
        json_object_set_new(o, "expression", json_string(pk_expression_name(dominant(f))));
        json_object_set_new(o, "happy", json_real(pk_round(f->expressions[PK_EXPR_HAPPY], 3)));
        int smile = f->expressions[PK_EXPR_HAPPY] >= PK_FACE_SMILING;
        json_object_set_new(o, "smiling", json_boolean(smile));
        smiling += smile;
        json_array_append_new(list, o);
    }
    json_object_set_new(rec, "faces", list);
    json_object_set_new(rec, "smiling", json_integer(smiling));
    return rec;
}

static void on_found(size_t index, void *res, void *user)
{
    job *j = user;
    found *r = res;
    const item *it = &j->items[index];
    pk_progress_update(j->ctx, (double)(index + 1));
    if (j->status != PK_OK) {
        free_found(r);
        return;
    }
    if (!r) {
        j->status = pk_fail(j->ctx, PK_ERR_INTERNAL, it->path, "out of memory");
        return;
    }
    r->index = index;
    if (r->status != PK_OK) {
        j->failed++;
        pk_fail(j->ctx, r->status, NULL, "%s", r->error);
        pk_run_file_failed(j->run, it->path, r->status);
        free_found(r);
        return;
    }
    j->timing.decode += r->timing.decode;
    j->timing.detect += r->timing.detect;
    j->timing.align += r->timing.align;
    j->timing.embed += r->timing.embed;
    j->timing.expression += r->timing.expression;
    j->timing.windows += r->timing.windows;
    if (it->video) {
        j->videos++;
        j->frames += r->frames;
    } else {
        j->pictures++;
    }
    j->faces += (int64_t)r->n;
    json_t *rec = file_record(it, r);
    j->smiling += json_integer_value(json_object_get(rec, "smiling"));
    pk_run_emit(j->run, rec);
    if (!it->asset) {
        free_found(r);
        return;
    }
    j->batch[j->nbatch++] = r;
    if (j->nbatch == BATCH_ITEMS)
        j->status = flush(j);
}

/* ---- after the pictures ---------------------------------------------------- */

static double box_iou(double ax, double ay, double aw, double ah, double bx, double by, double bw, double bh)
{
    double x0 = fmax(ax, bx), y0 = fmax(ay, by), x1 = fmin(ax + aw, bx + bw), y1 = fmin(ay + ah, by + bh);
    if (x1 <= x0 || y1 <= y0)
        return 0;
    double inter = (x1 - x0) * (y1 - y0);
    return inter / (aw * ah + bw * bh - inter);
}

/* --reindex: a person of the new faces takes the name most of its faces
 * had before (same picture, same place), unless someone has it already. */
static pk_status carry_names(job *j)
{
    if (!j->nnames)
        return PK_OK;
    pk_stmt *q;
    pk_status st = pk_db_prepare(j->cat->store,
                                 "SELECT f.person_id, coalesce(f.time, -1), f.x, f.y, f.w, f.h FROM face f "
                                 "JOIN person p ON p.id = f.person_id WHERE f.asset_id = ? AND "
                                 "f.producer_id = ? AND p.name IS NULL",
                                 &q);
    if (st != PK_OK)
        return st;
    /* votes: (person, name index) pairs, counted. */
    typedef struct vote {
        int64_t person;
        size_t name;
        int count;
    } vote;
    vote *votes = NULL;
    size_t nvotes = 0;
    for (size_t i = 0; i < j->nnames && st == PK_OK; i++) {
        const old_name *o = &j->names[i];
        pk_stmt_reset(q);
        pk_stmt_bind_int(q, 1, o->asset);
        pk_stmt_bind_int(q, 2, j->producer);
        int r;
        while ((r = pk_stmt_step(q)) == 1) {
            if (fabs(pk_stmt_double(q, 1) - o->time) > 1e-3 ||
                box_iou(pk_stmt_double(q, 2), pk_stmt_double(q, 3), pk_stmt_double(q, 4), pk_stmt_double(q, 5),
                        o->x, o->y, o->w, o->h) < 0.5)
                continue;
            int64_t person = pk_stmt_int(q, 0);
            size_t v = 0;
            while (v < nvotes && !(votes[v].person == person && !strcmp(j->names[votes[v].name].name, o->name)))
                v++;
            if (v == nvotes) {
                vote *g = realloc(votes, (nvotes + 1) * sizeof *g);
                if (!g) {
                    r = -2;
                    break;
                }
                votes = g;
                votes[nvotes++] = (vote){person, i, 0};
            }
            votes[v].count++;
        }
        if (r == -2)
            st = pk_fail(j->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        else if (r < 0)
            st = PK_ERR_INTERNAL;
    }
    pk_stmt_free(q);
    if (st == PK_OK)
        st = pk_db_begin(j->cat->store, 1);
    pk_stmt *set = NULL;
    if (st == PK_OK)
        st = pk_db_prepare(j->cat->store,
                           "UPDATE person SET name = ?1 WHERE id = ?2 AND name IS NULL AND NOT EXISTS "
                           "(SELECT 1 FROM person o WHERE o.producer_id = ?3 AND lower(o.name) = lower(?1))",
                           &set);
    for (size_t v = 0; v < nvotes && st == PK_OK; v++) {
        /* The strongest vote for each person wins. */
        int top = 1;
        for (size_t w = 0; w < nvotes; w++)
            if (votes[w].person == votes[v].person && votes[w].count > votes[v].count)
                top = 0;
        if (!top)
            continue;
        pk_stmt_reset(set);
        pk_stmt_bind_text(set, 1, j->names[votes[v].name].name);
        pk_stmt_bind_int(set, 2, votes[v].person);
        pk_stmt_bind_int(set, 3, j->producer);
        if (pk_stmt_step(set) < 0)
            st = PK_ERR_INTERNAL;
    }
    pk_stmt_free(set);
    if (st == PK_OK)
        st = pk_db_commit(j->cat->store);
    else
        pk_db_rollback(j->cat->store);
    free(votes);
    return st;
}

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static json_t *summary(const job *j, const pk_cluster_report *c, double seconds, double cpu)
{
    json_t *rec = json_object();
    json_object_set_new(rec, "summary", json_true());
    if (j->cat)
        json_object_set_new(rec, "catalog", pk_json_string(j->cat->path));
    json_object_set_new(rec, "photos", json_integer(j->pictures));
    json_object_set_new(rec, "videos", json_integer(j->videos));
    json_object_set_new(rec, "frames", json_integer(j->frames));
    json_object_set_new(rec, "faces", json_integer(j->faces));
    json_object_set_new(rec, "smiling", json_integer(j->smiling));
    json_object_set_new(rec, "failed", json_integer(j->failed));
    json_object_set_new(rec, "already_done", json_integer(j->skipped));
    json_object_set_new(rec, "not_catalogued", json_integer(j->uncatalogued));
    json_t *people = json_object();
    json_object_set_new(people, "joined", json_integer(c->joined));
    json_object_set_new(people, "new", json_integer(c->new_people));
    json_object_set_new(people, "new_faces", json_integer(c->seeded));
    json_object_set_new(people, "waiting", json_integer(c->pending));
    json_object_set_new(rec, "people", people);
    json_t *stages = json_object();
    json_object_set_new(stages, "decode", json_real(pk_round(j->timing.decode, 3)));
    json_object_set_new(stages, "detect", json_real(pk_round(j->timing.detect, 3)));
    json_object_set_new(stages, "align", json_real(pk_round(j->timing.align, 3)));
    json_object_set_new(stages, "embed", json_real(pk_round(j->timing.embed, 3)));
    json_object_set_new(stages, "expression", json_real(pk_round(j->timing.expression, 3)));
    json_object_set_new(stages, "detector_runs", json_integer(j->timing.windows));
    json_object_set_new(rec, "stage_seconds", stages);
    json_object_set_new(rec, "seconds", json_real(pk_round(seconds, 3)));
    json_object_set_new(rec, "cpu_seconds", json_real(pk_round(cpu, 3)));
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        json_object_set_new(rec, "peak_memory_mb", json_real(pk_round(ru.ru_maxrss / 1024.0, 1)));
    int64_t n = j->pictures + j->videos;
    if (seconds > 0 && n)
        json_object_set_new(rec, "per_second", json_real(pk_round((double)n / seconds, 2)));
    return rec;
}

static void faces_print(const json_t *rec, FILE *out)
{
#define N(o, k) (long long)json_integer_value(json_object_get(o, k))
    if (json_is_true(json_object_get(rec, "summary"))) {
        const json_t *p = json_object_get(rec, "people");
        fprintf(out, "%lld photos, %lld videos (%lld frames): %lld faces, %lld smiling; %lld failed (%.1f s)\n",
                N(rec, "photos"), N(rec, "videos"), N(rec, "frames"), N(rec, "faces"), N(rec, "smiling"),
                N(rec, "failed"), json_real_value(json_object_get(rec, "seconds")));
        if (p)
            fprintf(out, "people: %lld faces joined known people, %lld new people (%lld faces), %lld faces "
                         "wait for a match\n",
                    N(p, "joined"), N(p, "new"), N(p, "new_faces"), N(p, "waiting"));
        return;
    }
    const json_t *faces = json_object_get(rec, "faces");
    fprintf(out, "%s: %zu face%s", json_string_value(json_object_get(rec, "path")), json_array_size(faces),
            json_array_size(faces) == 1 ? "" : "s");
    if (N(rec, "smiling"))
        fprintf(out, ", %lld smiling", N(rec, "smiling"));
    if (json_is_false(json_object_get(rec, "catalogued")))
        fprintf(out, " (not in the catalogue: not stored)");
    fputc('\n', out);
#undef N
}

static pk_status faces_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    double t0 = pk_monotonic_seconds(), c0 = cpu_seconds();
    job j = {.run = run, .ctx = ctx, .every = pk_run_float(run, "every"), .reindex = pk_run_bool(run, "reindex")};
    pk_iso8601_now(j.now);
    int all = pk_run_bool(run, "all");
    if (all == (pk_run_input_count(run) > 0))
        return pk_fail(ctx, PK_ERR_USAGE, NULL, all ? "give either PATHs or --all, not both"
                                                    : "give the photos or folders to look at, or --all");
    pk_face_options fo;
    pk_face_options_init(&fo);
    fo.levels = (int)pk_run_int(run, "levels");
    pk_status st = pk_catalog_open_for_run(run, 0, &j.cat);
    if (st != PK_OK)
        return st;
    /* The models run single-threaded: pictures run side by side. */
    fo.threads = 1;
    st = pk_face_finder_new(ctx, &fo, &j.finder);
    const pk_model *models[4];
    size_t nm = st == PK_OK ? pk_face_finder_models(j.finder, models) : 0;
    for (size_t i = 0; i < nm && st == PK_OK; i++)
        st = pk_run_add_model(run, pk_model_id(models[i]), pk_model_version(models[i]), pk_model_sha256(models[i]));
    if (st == PK_OK)
        st = pk_faces_producer(j.cat, j.finder, &j.producer);
    if (st == PK_OK)
        st = pk_faces_set_current(j.cat, j.producer);
    if (st == PK_OK)
        st = pk_faces_warn_stale(j.cat, j.producer);
    if (st == PK_OK)
        st = gather(&j);
    if (st == PK_OK && !(j.batch = calloc(BATCH_ITEMS, sizeof *j.batch)))
        st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st == PK_OK)
        st = pk_db_prepare(j.cat->store,
                           "INSERT INTO face(asset_id, producer_id, time, x, y, w, h, landmarks, score, size, "
                           "sharpness, usable, expression, happy, expressions, embedding, created_at) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           &j.face_insert);
    if (st == PK_OK)
        st = pk_db_prepare(j.cat->store,
                           "INSERT INTO face_scan(asset_id, producer_id, faces, width, height, scanned_at) "
                           "VALUES (?,?,?,?,?,?) ON CONFLICT (asset_id, producer_id) DO UPDATE SET "
                           "faces = excluded.faces, width = excluded.width, height = excluded.height, "
                           "scanned_at = excluded.scanned_at",
                           &j.scan_upsert);
    if (st == PK_OK) {
        pk_progress_begin(ctx, "faces", (double)j.n, "files");
        st = pk_parallel_ordered(ctx, j.n, look, on_found, &j);
        pk_progress_end(ctx);
        /* What was found before an interruption is kept. */
        pk_status fs = j.status == PK_OK ? flush(&j) : j.status;
        if (st == PK_OK)
            st = fs;
    }
    pk_stmt_free(j.face_insert);
    pk_stmt_free(j.scan_upsert);
    pk_cluster_report rep = {0};
    if (st == PK_OK)
        st = pk_people_cluster(j.cat, j.producer, pk_run_float(run, "threshold"), (int)pk_run_int(run, "min-faces"),
                               &rep);
    if (st == PK_OK && j.reindex)
        st = carry_names(&j);
    if (st == PK_OK)
        pk_run_emit(run, summary(&j, &rep, pk_monotonic_seconds() - t0, cpu_seconds() - c0));
    for (size_t i = 0; i < j.nbatch; i++)
        free_found(j.batch[i]);
    free(j.batch);
    for (size_t i = 0; i < j.n; i++)
        free(j.items[i].path);
    free(j.items);
    for (size_t i = 0; i < j.nnames; i++)
        free(j.names[i].name);
    free(j.names);
    free(j.touched_people);
    pk_face_finder_free(j.finder);
    pk_catalog_close(j.cat);
    return st;
}

static const pk_param_spec faces_params[] = {
    PK_CATALOG_PARAM,
    {.name = "all", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "every photo and video in the catalogue"},
    {.name = "reindex", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "look again at pictures already done (their faces are replaced; names carry over)"},
    {.name = "levels", .type = PK_PARAM_INT, .defval = "2", .min = 1, .max = 3, .metavar = "N",
     .help = "detection levels: 1 whole picture (faces over ~5 % of its longest side), 2 adds the "
             "picture at ~2x (down to ~3 %), 3 at ~4x (~1.5 %, slower)"},
    {.name = "every", .type = PK_PARAM_FLOAT, .defval = "5", .min = 0.04, .max = 3600, .unit = "s",
     .metavar = "SECONDS", .help = "in videos, look at one frame every SECONDS"},
    {.name = "threshold", .type = PK_PARAM_FLOAT, .defval = PK_FACE_SAME_PERSON_TEXT, .min = 0.3, .max = 0.95,
     .metavar = "COSINE", .help = "mean cosine similarity at which faces are one person"},
    {.name = "min-faces", .type = PK_PARAM_INT, .defval = "2", .min = 1, .max = 100, .metavar = "N",
     .help = "faces (big and sharp enough) it takes to make a new person"},
    {.name = NULL},
};

const pk_op pk_op_faces = {
    .name = "faces",
    .summary = "Find faces in catalogued photos and videos and group them by person",
    .description =
        "Detects faces (BlazeFace over a pyramid of the picture), aligns each by its eyes, "
        "nose and mouth, computes its embedding (faceres) and expression (emotion model), and "
        "stores box, landmarks, quality (size, sharpness, detection score), expression and "
        "embedding in the catalogue with the models' identities. New faces then join the people "
        "they resemble, or found new ones (see `postkit people`). Videos: one frame every "
        "--every seconds. A picture is looked at once per set of models; --reindex looks again. "
        "A file given by path that is not catalogued is looked at and reported, not stored.",
    .input_name = "PATH",
    .input_kind = "any",
    .min_inputs = 0,
    .max_inputs = -1,
    .params = faces_params,
    .run = faces_run,
    .print_human = faces_print,
};

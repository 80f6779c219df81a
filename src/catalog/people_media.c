/*
 * people_media.c — the parts of people that need the face models or
 * libvips: the producer row of a face finder and face thumbnails. The rest
 * of people (people.c) is plain SQLite, so the `postkit` command's core
 * can search by person without loading either.
 */
#include "catalog/people.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <postkit/image.h>

/* ---- the face producer -------------------------------------------------- */

pk_status pk_faces_producer(pk_catalog *cat, const pk_face_finder *finder, int64_t *id)
{
    const pk_model *models[4];
    size_t n = pk_face_finder_models(finder, models);
    char ids[256] = "", shas[4 * 65 + 4] = "";
    for (size_t i = 0; i < n; i++) {
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%s", i ? "," : "", pk_model_id(models[i]));
        snprintf(shas + strlen(shas), sizeof shas - strlen(shas), "%s%s", i ? "," : "",
                 pk_model_sha256(models[i]));
    }
    /* What, beyond the models, makes two runs' faces comparable: the
     * alignment and the crops (detection settings only change which faces
     * are found, not what they are). */
    static const char params[] = "align=template4/margin1.1;embed=224rgb255,l2;expr=64grey/margin1.2;"
                                 "sharpness=laplacian64";
    return pk_catalog_model_producer(cat, PK_FACES_PRODUCER, PK_FACES_VERSION, params, ids, shas, id);
}

/* ---- face thumbnails ---------------------------------------------------- */

/* Where a face's thumbnail lives: named by the picture's content and the
 * face's box, so catalogues sharing a cache folder, and faces found again
 * under new ids (--reindex), never show another face's picture. */
static void thumb_path(char *out, size_t size, const char *cache, const char *sha256, double x, double y,
                       double w, double h)
{
    snprintf(out, size, "%s/faces/%.16s-%03d-%03d-%03d-%03d.jpg", cache, sha256, (int)lround(x * 999),
             (int)lround(y * 999), (int)lround(w * 999), (int)lround(h * 999));
}

/* The face's picture (a present copy; NULL when none or a video frame),
 * content SHA-256 and box. *src and *sha are new allocations. */
static pk_status face_source(pk_catalog *cat, int64_t face, char **src, char **sha, double box[4])
{
    *src = *sha = NULL;
    pk_stmt *q;
    pk_status st = pk_db_prepare(cat->store,
                                 "SELECT (SELECT min(path) FROM location l WHERE l.asset_id = f.asset_id "
                                 "AND l.missing = 0), f.x, f.y, f.w, f.h, f.time, a.sha256 FROM face f "
                                 "JOIN asset a ON a.id = f.asset_id WHERE f.id = ?",
                                 &q);
    if (st != PK_OK)
        return st;
    pk_stmt_bind_int(q, 1, face);
    int r = pk_stmt_step(q);
    if (r == 1) {
        for (int i = 0; i < 4; i++)
            box[i] = pk_stmt_double(q, i + 1);
        if (pk_stmt_text(q, 0) && pk_stmt_is_null(q, 5))
            *src = strdup(pk_stmt_text(q, 0));
        if (pk_stmt_text(q, 6))
            *sha = strdup(pk_stmt_text(q, 6));
    }
    pk_stmt_free(q);
    if (r < 0)
        st = PK_ERR_INTERNAL;
    return st;
}

pk_status pk_face_thumbnail_path(pk_catalog *cat, int64_t face, char **out)
{
    *out = NULL;
    char *src, *sha, *cache = NULL;
    double b[4];
    pk_status st = face_source(cat, face, &src, &sha, b);
    free(src);
    if (st == PK_OK && sha && (st = pk_catalog_cache_dir(cat->ctx, &cache)) == PK_OK) {
        char path[4096];
        thumb_path(path, sizeof path, cache, sha, b[0], b[1], b[2], b[3]);
        if (!(*out = strdup(path)))
            st = pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    free(cache);
    free(sha);
    return st;
}

pk_status pk_face_thumbnail(pk_catalog *cat, int64_t face, char **out)
{
    *out = NULL;
    char *src = NULL, *sha = NULL;
    double b[4];
    pk_status st = face_source(cat, face, &src, &sha, b);
    double x = b[0], y = b[1], w = b[2], h = b[3];
    if (st != PK_OK || !src || !sha) {
        free(src);
        free(sha);
        return st;
    }
    char *cache = NULL;
    st = pk_catalog_cache_dir(cat->ctx, &cache);
    char path[4096];
    if (st == PK_OK)
        thumb_path(path, sizeof path, cache, sha, x, y, w, h);
    free(sha);
    free(cache);
    if (st == PK_OK && access(path, R_OK) != 0) {
        /* A face thumbnail that cannot be made is not worth failing for:
         * the listing shows none. */
        pk_image_options o = {.max_size = 1024, .draft = 1, .colour = PK_COLOUR_SRGB8, .rgb = 1, .flatten = 1};
        VipsImage *im = NULL, *crop = NULL, *small = NULL;
        pk_ctx *quiet;
        if (pk_ctx_new(&quiet) != PK_OK) {
            free(src);
            return pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        }
        int ok = pk_image_load(quiet, src, &o, &im) == PK_OK;
        if (ok) {
            /* The face and half its size around it, clipped to the picture. */
            double W = im->Xsize, H = im->Ysize, m = 0.25;
            int x0 = (int)fmax(0, (x - m * w) * W), y0 = (int)fmax(0, (y - m * h) * H);
            int x1 = (int)fmin(W, (x + w * (1 + m)) * W), y1 = (int)fmin(H, (y + h * (1 + m)) * H);
            ok = x1 - x0 >= 4 && y1 - y0 >= 4 && !vips_crop(im, &crop, x0, y0, x1 - x0, y1 - y0, NULL) &&
                 !vips_resize(crop, &small, 160.0 / (x1 - x0 > y1 - y0 ? x1 - x0 : y1 - y0), NULL);
        }
        ok = ok && pk_mkdirs_for(path) == 0;
        pk_safe_file *f = NULL;
        if (ok && pk_safe_open(quiet, path, true, &f) == PK_OK) {
            pk_image_save_options so = {.quality = 85, .strip_metadata = 1, .name = path};
            ok = pk_image_save(quiet, small, pk_safe_tmp_path(f), "jpeg", &so) == PK_OK &&
                 pk_safe_commit(quiet, f) == PK_OK;
            if (!ok)
                pk_safe_abort(f);
        } else {
            ok = 0;
        }
        if (!ok)
            vips_error_clear();
        if (small)
            g_object_unref(small);
        if (crop)
            g_object_unref(crop);
        if (im)
            g_object_unref(im);
        pk_ctx_free(quiet);
        if (!ok) {
            free(src);
            return PK_OK;
        }
    }
    free(src);
    if (st == PK_OK && !(*out = strdup(path)))
        st = pk_fail(cat->ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    return st;
}

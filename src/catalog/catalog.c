/*
 * catalog.c — finding, opening and upgrading the catalogue; small shared
 * helpers (producers, thumbnail paths).
 */
#include "catalog/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* "$VAR/suffix" when $VAR is set and absolute, else "$HOME/fallback/suffix". */
static pk_status xdg_path(pk_ctx *ctx, const char *var, const char *fallback, const char *suffix,
                          char **out)
{
    const char *base = getenv(var);
    char buf[4096];
    if (base && base[0] == '/') {
        snprintf(buf, sizeof buf, "%s/%s", base, suffix);
    } else {
        const char *home = getenv("HOME");
        if (!home || home[0] != '/')
            return pk_fail(ctx, PK_ERR_USAGE, NULL,
                           "neither $%s nor $HOME is set; give the path explicitly", var);
        snprintf(buf, sizeof buf, "%s/%s/%s", home, fallback, suffix);
    }
    *out = strdup(buf);
    return *out ? PK_OK : pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
}

pk_status pk_catalog_path(pk_ctx *ctx, const char *explicit_path, char **out)
{
    const char *p = explicit_path;
    if (!p || !*p)
        p = getenv("POSTKIT_CATALOG");
    if (p && *p) {
        *out = strdup(p);
        return *out ? PK_OK : pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    return xdg_path(ctx, "XDG_DATA_HOME", ".local/share", "postkit/catalog.db", out);
}

pk_status pk_catalog_cache_dir(pk_ctx *ctx, char **out)
{
    return xdg_path(ctx, "XDG_CACHE_HOME", ".cache", "postkit", out);
}


int pk_catalog_schema_version(void)
{
    return pk_schema_current();
}

pk_status pk_catalog_open(pk_ctx *ctx, const char *path, int create, pk_catalog **out)
{
    pk_catalog *cat = calloc(1, sizeof *cat);
    if (!cat || !(cat->path = strdup(path))) {
        free(cat);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    cat->ctx = ctx;
    pk_status st = pk_db_open(ctx, path, create ? PK_DB_CREATE : 0, &cat->store);
    if (st == PK_OK)
        st = pk_schema_upgrade(cat->store, pk_schema_current(), NULL);
    if (st != PK_OK) {
        pk_catalog_close(cat);
        return st;
    }
    *out = cat;
    return PK_OK;
}

void pk_catalog_close(pk_catalog *cat)
{
    if (!cat)
        return;
    pk_db_close(cat->store);
    free(cat->path);
    free(cat);
}

pk_status pk_catalog_open_for_run(pk_run *run, int create, pk_catalog **out)
{
    pk_ctx *ctx = pk_run_ctx(run);
    char *path;
    pk_status st = pk_catalog_path(ctx, pk_run_str(run, "catalog"), &path);
    if (st != PK_OK)
        return st;
    st = pk_catalog_open(ctx, path, create, out);
    free(path);
    return st;
}

/* A producer without a model is the same row kind with empty model columns
 * (the schema's defaults), so one statement serves both. */
pk_status pk_catalog_producer(pk_catalog *cat, const char *name, const char *version,
                              const char *params, int64_t *id)
{
    return pk_catalog_model_producer(cat, name, version, params, "", "", id);
}

pk_status pk_catalog_model_producer(pk_catalog *cat, const char *name, const char *version,
                                    const char *params, const char *model_id,
                                    const char *model_sha256, int64_t *id)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(cat->store,
                                 "INSERT INTO producer(name, version, params, model_id, model_sha256) "
                                 "VALUES (?,?,?,?,?) "
                                 "ON CONFLICT (name, version, params, model_id, model_sha256) "
                                 "DO UPDATE SET name = excluded.name RETURNING id",
                                 &q);
    if (st != PK_OK)
        return st;
    /* The no-op update makes RETURNING yield the id of an existing row too. */
    pk_stmt_bind_text(q, 1, name);
    pk_stmt_bind_text(q, 2, version);
    pk_stmt_bind_text(q, 3, params);
    pk_stmt_bind_text(q, 4, model_id);
    pk_stmt_bind_text(q, 5, model_sha256);
    int r = pk_stmt_step(q);
    if (r == 1)
        *id = pk_stmt_int(q, 0);
    pk_stmt_free(q);
    return r == 1 ? PK_OK : pk_fail(cat->ctx, PK_ERR_INTERNAL, cat->path, "cannot record producer %s", name);
}

pk_status pk_catalog_find_producer(pk_catalog *cat, const char *name, const char *version,
                                   const char *params, int64_t *id)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(cat->store,
                                 "SELECT id FROM producer WHERE name = ? AND version = ? AND params = ? "
                                 "AND model_id = '' AND model_sha256 = ''",
                                 &q);
    if (st != PK_OK)
        return st;
    pk_stmt_bind_text(q, 1, name);
    pk_stmt_bind_text(q, 2, version);
    pk_stmt_bind_text(q, 3, params);
    int r = pk_stmt_step(q);
    *id = r == 1 ? pk_stmt_int(q, 0) : -1;
    pk_stmt_free(q);
    return r < 0 ? PK_ERR_INTERNAL : PK_OK;
}

char *pk_catalog_thumb_path(const char *cache_dir, const char *sha256)
{
    size_t n = strlen(cache_dir) + strlen(sha256) + 32;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/thumbs/%.2s/%s.jpg", cache_dir, sha256, sha256);
    return p;
}

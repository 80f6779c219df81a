/*
 * transcripts.c — storing a transcript's sentences in the catalogue, where
 * `postkit search` finds them (see search.c; schema in schema.c).
 */
#include "catalog/internal.h"

#define TRANSCRIPT_PRODUCER "transcribe"
#define TRANSCRIPT_VERSION "1"

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* Replace asset `asset_id`'s sentences with s[0..n), made by `producer`.
 * Inside the caller's write transaction. */
static pk_status replace_sentences(pk_catalog *cat, int64_t asset_id, int64_t producer,
                                   const pk_catalog_sentence *s, size_t n)
{
    pk_status st = pk_db_transcript_fts_unindex(cat->store, asset_id);
    pk_stmt *q = NULL;
    if (st == PK_OK)
        st = pk_db_prepare(cat->store, "DELETE FROM transcript WHERE asset_id = ?", &q);
    if (st == PK_OK) {
        pk_stmt_bind_int(q, 1, asset_id);
        if (pk_stmt_step(q) < 0)
            st = PK_ERR_INTERNAL;
        pk_stmt_free(q);
        q = NULL;
    }
    if (st == PK_OK)
        st = pk_db_prepare(cat->store,
                           "INSERT INTO transcript(asset_id, producer_id, start_time, end_time, text) "
                           "VALUES (?,?,?,?,?)",
                           &q);
    for (size_t i = 0; st == PK_OK && i < n; i++) {
        if (!s[i].text || !s[i].text[0])
            continue;
        pk_stmt_reset(q);
        pk_stmt_bind_int(q, 1, asset_id);
        pk_stmt_bind_int(q, 2, producer);
        pk_stmt_bind_double(q, 3, s[i].start);
        pk_stmt_bind_double(q, 4, s[i].end);
        pk_stmt_bind_text(q, 5, s[i].text);
        if (pk_stmt_step(q) < 0)
            st = PK_ERR_INTERNAL;
    }
    pk_stmt_free(q);
    if (st == PK_OK)
        st = pk_db_transcript_fts_index(cat->store, asset_id);
    return st;
}

pk_status pk_catalog_replace_transcript(pk_catalog *cat, int64_t asset_id, const pk_catalog_transcriber *by,
                                        const pk_catalog_sentence *s, size_t n)
{
    char params[160];
    snprintf(params, sizeof params, "engine=%s;sentences", or_empty(by->engine));
    const char *model = or_empty(by->model);
    char model_id[320];
    if (by->model_version && by->model_version[0])
        snprintf(model_id, sizeof model_id, "%s@%s", model, by->model_version);
    else
        snprintf(model_id, sizeof model_id, "%s", model);
    int64_t producer = -1;
    pk_status st = pk_catalog_model_producer(cat, TRANSCRIPT_PRODUCER, TRANSCRIPT_VERSION, params, model_id,
                                             or_empty(by->model_sha256), &producer);
    if (st == PK_OK)
        st = replace_sentences(cat, asset_id, producer, s, n);
    return st;
}

pk_status pk_catalog_put_transcript(pk_catalog *cat, const char *content_sha256,
                                    const pk_catalog_transcriber *by, const pk_catalog_sentence *s,
                                    size_t n, int *catalogued)
{
    *catalogued = 0;
    pk_status st = pk_db_begin(cat->store, 1);
    if (st != PK_OK)
        return st;
    pk_stmt *q;
    int64_t asset_id = -1;
    st = pk_db_prepare(cat->store, "SELECT id FROM asset WHERE sha256 = ?", &q);
    if (st == PK_OK) {
        pk_stmt_bind_text(q, 1, content_sha256);
        int r = pk_stmt_step(q);
        if (r == 1)
            asset_id = pk_stmt_int(q, 0);
        else if (r < 0)
            st = PK_ERR_INTERNAL;
        pk_stmt_free(q);
    }
    if (st == PK_OK && asset_id >= 0)
        st = pk_catalog_replace_transcript(cat, asset_id, by, s, n);
    if (st == PK_OK)
        st = pk_db_commit(cat->store);
    if (st != PK_OK) {
        pk_db_rollback(cat->store);
        return st;
    }
    *catalogued = asset_id >= 0;
    return PK_OK;
}

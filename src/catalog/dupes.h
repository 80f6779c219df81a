/*
 * dupes.h — shared by dupes.c (finding groups) and dupes_apply.c (acting on
 * them, undoing).
 */
#ifndef POSTKIT_CATALOG_DUPES_H
#define POSTKIT_CATALOG_DUPES_H

#include "catalog/internal.h"

/* One file of a group. */
typedef struct dupe_file {
    int64_t location_id;
    char *path;
    char sha256[65];
    int64_t size, mtime_ns, device, inode;
} dupe_file;

/* dupes.c: union-find over indices, and a group record (steals keeper
 * and others; keeper NULL for relations, whose members go to "files"). */
size_t pk_uf_find(size_t *parent, size_t i);
void pk_uf_unite(size_t *parent, size_t a, size_t b);
json_t *pk_dupes_group(const char *kind, const char *reason, json_t *keeper, json_t *others);

/* dupes_media.c: audio and video assets with their fingerprints of
 * `producer` (load inside the caller's read transaction), grouped into
 * "similar" records appended to `out`. */
typedef struct pk_medias pk_medias;
pk_status pk_dupes_media_load(pk_catalog *cat, int64_t producer, pk_medias **out);
pk_status pk_dupes_media_groups(pk_ctx *ctx, pk_medias *ms, json_t *out);
void pk_dupes_media_free(pk_medias *ms);

/* Act on the non-keepers of the groups in `groups` (the records `dupes`
 * emits). Mode: move to `move_to` (mirroring each file's absolute path
 * there) or replace by a hard link to the keeper (exact groups only). The
 * journal is written and synced before the first file is touched. With
 * `dry_run`, only says what it would do. Emits one record per action. */
pk_status pk_dupes_apply(pk_run *run, pk_catalog *cat, json_t *groups, const char *move_to,
                         int hardlink, const char *journal, int dry_run);

/* Put back everything a journal records as done. */
pk_status pk_dupes_undo(pk_run *run, const char *journal);

#endif

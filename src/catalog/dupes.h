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

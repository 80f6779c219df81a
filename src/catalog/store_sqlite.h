/*
 * store_sqlite.h — what the two SQLite files of the storage interface share:
 * store_sqlite.c (the file, statements, transactions) and store_fts5.c (full
 * text). Nothing else includes this.
 */
#ifndef POSTKIT_CATALOG_STORE_SQLITE_H
#define POSTKIT_CATALOG_STORE_SQLITE_H

#include "catalog/store.h"

#include <sqlite3.h>

struct pk_db {
    pk_ctx *ctx;
    sqlite3 *db;
    char *path;
    /* full text (store_fts5.c) */
    fts5_api *fts;                  /* NULL until pk_fts5_attach */
    fts5_tokenizer tokenizer;       /* unicode61, as the index uses it */
    Fts5Tokenizer *tok;             /* created on first use */
    sqlite3_stmt *fts_insert, *fts_delete, *fts_has; /* prepared on first use */
};

struct pk_stmt {
    pk_db *store;
    sqlite3_stmt *st;
};

/* Report the connection's last error through the store's context; the
 * status follows the SQLite error (damaged file: PK_ERR_INPUT, full disk or
 * unwritable: PK_ERR_OUTPUT, else PK_ERR_INTERNAL). */
pk_status pk_sqlite_fail(pk_db *s, const char *what);

/* Register the ranking functions on a new connection. */
pk_status pk_fts5_attach(pk_db *s);
/* Free what full text holds (before the connection closes). */
void pk_fts5_detach(pk_db *s);

#endif

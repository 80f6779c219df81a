/*
 * ops_module.c — the code of the operations that are not in the command.
 *
 * `postkit` links libpostkit's core only (the operation table, arguments,
 * outputs, provenance, the catalog's search side): SQLite, jansson and
 * libcrypto. The other operations need FFmpeg, libvips, LibRaw, FFTW, curl,
 * the speech engines... ~180 shared objects whose mapping and relocation
 * cost every command ~100 ms before main(), search and --version included.
 * Their code is in the operations module (postkit-ops.so, built from the
 * same sources as libpostkit minus the core), opened with dlopen the first
 * time such an operation runs. The module takes the core's symbols from the
 * executable (linked with --export-dynamic), so there is one core in the
 * process: one list of live temporary outputs, one context.
 *
 * The command's table is a light copy of the registry (pk_ops_light.c): a
 * descriptor whose run is NULL. cli_op_resolve() finds the real one by its
 * symbol (cli_op_symbols, taken from libpostkit by the generator): in the
 * executable itself for a core operation, else in the module.
 *
 * Which module file (the first rule that applies):
 *   1. $POSTKIT_OPS_MODULE, a path (tests, unusual set-ups);
 *   2. a command running from its build folder: the module built beside it
 *      (PK_OPS_MODULE_BUILT);
 *   3. an installed command: PK_OPS_MODULE_INSTALLED, relative to the
 *      command's own folder (LIBDIR/postkit/postkit-ops.so from BINDIR), so
 *      a DESTDIR or moved installation works too; or absolute.
 * A missing or unloadable module is an installation problem, not the user's
 * input: PK_ERR_INTERNAL (exit 5), one line naming the file and the cause.
 *
 * Not thread-safe: called from main()'s thread before an operation runs.
 */
#include "cli/cli.h"
#include "core/internal.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The loaded module, once per process; never closed (its libraries keep
 * state until exit, and records may point into it). */
static void *ops_module;
static char ops_module_path[PATH_MAX];
static void (*ops_module_shutdown)(void);

/* Is the folder holding the command the build folder (same by realpath)? */
static int in_build_folder(const char *dir)
{
    char a[PATH_MAX], b[PATH_MAX];
    return realpath(dir, a) && realpath(PK_BUILD_ROOT, b) && strcmp(a, b) == 0;
}

/* Rules 1-3 of the header: the module's path into ops_module_path; PK_OK or
 * PK_ERR_INTERNAL when the command cannot tell where it is. */
static pk_status module_path(pk_ctx *ctx)
{
    const char *env = getenv("POSTKIT_OPS_MODULE");
    if (env && *env) {
        snprintf(ops_module_path, sizeof ops_module_path, "%s", env);
        return PK_OK;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || (size_t)n >= sizeof self - 1)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "the operations module cannot be located: "
                       "/proc/self/exe is unreadable (set POSTKIT_OPS_MODULE to its path)");
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    const char *dir = self[0] ? self : "/";
    int len;
    if (in_build_folder(dir))
        len = snprintf(ops_module_path, sizeof ops_module_path, "%s", PK_OPS_MODULE_BUILT);
    else if (PK_OPS_MODULE_INSTALLED[0] == '/')
        len = snprintf(ops_module_path, sizeof ops_module_path, "%s", PK_OPS_MODULE_INSTALLED);
    else
        len = snprintf(ops_module_path, sizeof ops_module_path, "%s/%s", dir,
                       PK_OPS_MODULE_INSTALLED);
    if (len < 0 || (size_t)len >= sizeof ops_module_path)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "the operations module cannot be located: "
                       "the command's folder has too long a path");
    /* BINDIR/../LIBDIR/...: name it plainly in messages (kept as is when
     * missing, for the error to say which path was tried). */
    char plain[PATH_MAX];
    if (realpath(ops_module_path, plain))
        memcpy(ops_module_path, plain, sizeof plain);
    return PK_OK;
}

/* Open the module and start it (its pk_init: FFmpeg's log capture). */
static pk_status module_load(pk_ctx *ctx, const char *argv0)
{
    if (ops_module)
        return PK_OK;
    pk_status st = module_path(ctx);
    if (st != PK_OK)
        return st;
    void *handle = dlopen(ops_module_path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        /* dlerror() repeats the path first ("PATH: cause"): keep the cause. */
        const char *why = dlerror();
        size_t len = strlen(ops_module_path);
        if (why && strncmp(why, ops_module_path, len) == 0 && strncmp(why + len, ": ", 2) == 0)
            why += len + 2;
        return pk_fail(ctx, PK_ERR_INTERNAL, ops_module_path,
                       "cannot load the postkit operations module: %s", why ? why : "unknown");
    }
    pk_status (*init)(const char *) = (pk_status(*)(const char *))dlsym(handle, "pk_init");
    void (*shutdown)(void) = (void (*)(void))dlsym(handle, "pk_shutdown");
    if (!init || !shutdown) {
        dlclose(handle);
        return pk_fail(ctx, PK_ERR_INTERNAL, ops_module_path,
                       "not a postkit operations module (it has no pk_init)");
    }
    st = init(argv0);
    if (st != PK_OK) {
        dlclose(handle);
        return pk_fail(ctx, st, ops_module_path, "the operations module failed to start");
    }
    ops_module = handle;
    ops_module_shutdown = shutdown;
    return PK_OK;
}

pk_status cli_op_resolve(pk_ctx *ctx, const pk_op *op, const char *argv0, const pk_op **real)
{
    *real = op;
    if (op->run)
        return PK_OK;
    const char *symbol = NULL;
    for (size_t i = 0; i < pk_registry_len && !symbol; i++)
        if (pk_registry[i] == op)
            symbol = cli_op_symbols[i];
    if (!symbol)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "'%s' is not in the command's table", op->name);
    const pk_op *found = dlsym(RTLD_DEFAULT, symbol); /* a core operation */
    if (!found) {
        pk_status st = module_load(ctx, argv0);
        if (st != PK_OK)
            return st;
        found = dlsym(ops_module, symbol);
    }
    if (!found || !found->run || strcmp(found->name, op->name) != 0)
        return pk_fail(ctx, PK_ERR_INTERNAL, ops_module_path[0] ? ops_module_path : NULL,
                       "the operations module has no operation '%s' (%s): it is not from this "
                       "build of postkit", op->name, symbol);
    *real = found;
    return PK_OK;
}

void cli_ops_shutdown(void)
{
    if (ops_module_shutdown)
        ops_module_shutdown();
}

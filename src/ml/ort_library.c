/*
 * ort_library.c — find and load the ONNX Runtime library when a model is
 * first opened.
 *
 * libpostkit does not link ONNX Runtime: mapping its 28 MB and running its
 * static initialisers cost every `postkit` command a large part of its
 * start-up, even --version and search, which never touch a model. Instead
 * the library is opened with dlopen the first time a model is, once per
 * process (pthread_once), and stays loaded until the process ends (no
 * dlclose: its environment singleton and sessions live in it).
 *
 * Which file (the first rule that applies):
 *   1. $POSTKIT_ONNXRUNTIME, a path (tests, unusual set-ups);
 *   2. ONNX Runtime from pkg-config: the library the build linked against
 *      (PK_ORT_SYSTEM_LIBRARY);
 *   3. a libpostkit running from its build folder: the bundled copy the
 *      build used (PK_ORT_BUNDLED_LIBRARY, in .deps/onnxruntime);
 *   4. an installed libpostkit: its private copy, postkit/libonnxruntime.so.1
 *      beside libpostkit itself (where `meson install` puts it; found from
 *      libpostkit's own location, so a DESTDIR or moved install works too);
 *      from the `postkit` command's operations module, which is installed
 *      in that private folder, the copy beside the module.
 * A missing or unloadable file is an installation problem, not the user's
 * input: PK_ERR_INTERNAL, with one line naming the file and dlopen's cause.
 */
#include "ml/internal.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <onnxruntime_c_api.h>

/* The outcome of the one load attempt, written only inside load_once(). */
typedef struct ort_library {
    const OrtApiBase *(*get_api_base)(void);
    char path[PATH_MAX];
    char error[PATH_MAX + 256];
} ort_library;

static pthread_once_t ort_once = PTHREAD_ONCE_INIT;
static ort_library ort_loaded;

#ifndef PK_ORT_SYSTEM_LIBRARY
/* Is the folder holding libpostkit the build folder (same file by realpath)? */
static int in_build_folder(const char *lib_dir)
{
    char a[PATH_MAX], b[PATH_MAX];
    return realpath(lib_dir, a) && realpath(PK_BUILD_ROOT, b) && strcmp(a, b) == 0;
}
#endif

/* Rules 2-4 of the header: the path into `out`; 0, or -1 with the reason in
 * `error` when libpostkit cannot locate itself. */
static int default_path(char *out, size_t size, char *error, size_t error_size)
{
#ifdef PK_ORT_SYSTEM_LIBRARY
    (void)error, (void)error_size;
    snprintf(out, size, "%s", PK_ORT_SYSTEM_LIBRARY);
    return 0;
#else
    Dl_info self;
    if (!dladdr((void *)pk_ort_api_base, &self) || !self.dli_fname || !strchr(self.dli_fname, '/')) {
        snprintf(error, error_size, "the ONNX Runtime library cannot be located: libpostkit does not "
                 "know its own folder (set POSTKIT_ONNXRUNTIME to the library's path)");
        return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", self.dli_fname);
    *strrchr(dir, '/') = '\0';
    /* The `postkit` command's operations module is installed in that
     * private folder itself (LIBDIR/postkit/postkit-ops.so). */
    const char *base = strrchr(self.dli_fname, '/') + 1;
    const char *sub = strcmp(base, "postkit-ops.so") == 0 ? "" : "/postkit";
    int n = in_build_folder(dir[0] ? dir : "/")
                ? snprintf(out, size, "%s", PK_ORT_BUNDLED_LIBRARY)
                : snprintf(out, size, "%s%s/libonnxruntime.so.1", dir, sub);
    if (n < 0 || (size_t)n >= size) {
        snprintf(error, error_size, "the ONNX Runtime library cannot be located: the path of "
                 "libpostkit's folder is too long");
        return -1;
    }
    return 0;
#endif
}

/* dlerror() usually starts with the file name; the message names it once. */
static const char *without_path(const char *message, const char *path)
{
    size_t n = strlen(path);
    if (strncmp(message, path, n) == 0 && message[n] == ':') {
        message += n + 1;
        while (*message == ' ')
            message++;
    }
    return message;
}

static void load_once(void)
{
    ort_library *l = &ort_loaded;
    const char *env = getenv("POSTKIT_ONNXRUNTIME");
    if (env && *env)
        snprintf(l->path, sizeof l->path, "%s", env);
    else if (default_path(l->path, sizeof l->path, l->error, sizeof l->error) != 0)
        return;
    void *handle = dlopen(l->path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        snprintf(l->error, sizeof l->error, "%s: cannot load the ONNX Runtime library: %s", l->path,
                 why ? without_path(why, l->path) : "unknown dlopen error");
        return;
    }
    void *symbol = dlsym(handle, "OrtGetApiBase");
    if (!symbol) {
        snprintf(l->error, sizeof l->error, "%.*s: not an ONNX Runtime library (it has no OrtGetApiBase)",
                 (int)sizeof l->path, l->path);
        dlclose(handle);
        return;
    }
    /* POSIX guarantees a function's address survives the trip through void *. */
    memcpy(&l->get_api_base, &symbol, sizeof symbol);
}

pk_status pk_ort_api_base(pk_ctx *ctx, const struct OrtApiBase **out)
{
    *out = NULL;
    pthread_once(&ort_once, load_once);
    if (!ort_loaded.get_api_base)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "%s", ort_loaded.error);
    *out = ort_loaded.get_api_base();
    if (!*out)
        return pk_fail(ctx, PK_ERR_INTERNAL, ort_loaded.path,
                       "the ONNX Runtime library gave no API (OrtGetApiBase returned nothing)");
    return PK_OK;
}

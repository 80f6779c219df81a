/*
 * output.c — write a file so that it appears whole or not at all.
 *
 * The data goes to a hidden temporary ".NAME.PID.postkit-tmp-XXXXXX" in the
 * target's folder (same file system, so the final rename is atomic), is
 * flushed with fsync, then linked to its final name. Without --force the link
 * fails if the target appeared meanwhile (link(2) never replaces), so a
 * concurrent writer's file is never clobbered. A temporary left behind by a
 * killed process (the PID in its name is gone) is removed by the next run
 * that writes the same target, so a rerun never trips on it.
 */
#include "core/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pk_safe_file {
    char *path;
    char *tmp;
    int fd;
    FILE *stream;
    int slot;
    bool force;
};

/* Temporary names still on disk, for the signal handler's last-resort cleanup.
 * Fixed-size storage so unlinking needs no allocation inside a handler. */
#define MAX_LIVE 64
static char live_paths[MAX_LIVE][PATH_MAX];
static volatile sig_atomic_t live_used[MAX_LIVE];
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static int live_add(const char *tmp)
{
    pthread_mutex_lock(&live_lock);
    int slot = -1;
    for (int i = 0; i < MAX_LIVE; i++)
        if (!live_used[i] && strlen(tmp) < PATH_MAX) {
            memcpy(live_paths[i], tmp, strlen(tmp) + 1);
            live_used[i] = 1;
            slot = i;
            break;
        }
    pthread_mutex_unlock(&live_lock);
    return slot;
}

static void live_remove(int slot)
{
    if (slot < 0)
        return;
    pthread_mutex_lock(&live_lock);
    live_used[slot] = 0;
    pthread_mutex_unlock(&live_lock);
}

void pk_emergency_cleanup(void)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (live_used[i])
            unlink(live_paths[i]);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Remove ".BASE.PID.postkit-tmp-*" files in dir whose PID no longer runs. */
static void remove_stale_temporaries(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t blen = strlen(base);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (n[0] != '.' || strncmp(n + 1, base, blen) != 0 || n[1 + blen] != '.')
            continue;
        char *end;
        long pid = strtol(n + 2 + blen, &end, 10);
        if (pid <= 0 || strncmp(end, ".postkit-tmp-", 13) != 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char full[PATH_MAX];
        if (snprintf(full, sizeof full, "%s/%s", dir, n) < (int)sizeof full)
            unlink(full);
    }
    closedir(d);
}

pk_status pk_safe_open(pk_ctx *ctx, const char *path, bool force, pk_safe_file **out)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return pk_fail(ctx, PK_ERR_OUTPUT, path, "is a directory, not an output file");
        if (!force)
            return pk_fail(ctx, PK_ERR_OUTPUT, path, "already exists (use --force to replace it)");
    }
    const char *base = base_of(path);
    if (!*base)
        return pk_fail(ctx, PK_ERR_OUTPUT, path, "names a folder, not an output file");
    char *dir = dir_of(path);
    if (!dir)
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    if (stat(dir, &st) != 0) {
        pk_status s = pk_fail(ctx, PK_ERR_OUTPUT, path, "folder %s does not exist", dir);
        free(dir);
        return s;
    }
    if (!S_ISDIR(st.st_mode)) {
        pk_status s = pk_fail(ctx, PK_ERR_OUTPUT, path, "%s is not a folder", dir);
        free(dir);
        return s;
    }
    remove_stale_temporaries(dir, base);

    pk_safe_file *f = calloc(1, sizeof *f);
    size_t tlen = strlen(dir) + strlen(base) + 64;
    if (!f || !(f->tmp = malloc(tlen)) || !(f->path = strdup(path))) {
        if (f) {
            free(f->tmp);
            free(f);
        }
        free(dir);
        return pk_fail(ctx, PK_ERR_INTERNAL, path, "out of memory");
    }
    snprintf(f->tmp, tlen, "%s/.%s.%ld.postkit-tmp-XXXXXX", dir, base, (long)getpid());
    free(dir);
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        int err = errno;
        pk_status s = pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot write in its folder: %s",
                              strerror(err));
        free(f->tmp);
        free(f->path);
        free(f);
        return s;
    }
    /* New files get the usual permissions (0666 & ~umask), not mkstemp's 0600. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(f->fd, 0666 & ~mask);
    f->slot = live_add(f->tmp);
    f->force = force;
    *out = f;
    return PK_OK;
}

const char *pk_safe_tmp_path(const pk_safe_file *f) { return f->tmp; }
const char *pk_safe_path(const pk_safe_file *f) { return f->path; }

FILE *pk_safe_stream(pk_ctx *ctx, pk_safe_file *f)
{
    (void)ctx;
    if (!f->stream)
        f->stream = fdopen(f->fd, "wb");
    return f->stream;
}

static void release(pk_safe_file *f)
{
    live_remove(f->slot);
    free(f->tmp);
    free(f->path);
    free(f);
}

pk_status pk_safe_commit(pk_ctx *ctx, pk_safe_file *f)
{
    int err = 0;
    if (f->stream) {
        if (fflush(f->stream) != 0)
            err = errno;
    }
    /* Libraries that wrote through the temporary's name (FFmpeg, libvips)
     * went through their own descriptor; fsync via ours covers the inode. */
    if (!err && fsync(f->fd) != 0 && errno != EINVAL)
        err = errno;
    if (f->stream) {
        if (fclose(f->stream) != 0 && !err)
            err = errno;
    } else if (close(f->fd) != 0 && !err) {
        err = errno;
    }
    f->stream = NULL;
    f->fd = -1;
    if (err) {
        pk_status s = pk_fail(ctx, PK_ERR_OUTPUT, f->path, "cannot write: %s", strerror(err));
        unlink(f->tmp);
        release(f);
        return s;
    }
    struct stat st;
    bool exists = lstat(f->path, &st) == 0;
    int rc;
    if (exists && f->force) {
        /* rename(2) replaces the old file atomically. */
        rc = rename(f->tmp, f->path);
    } else {
        rc = link(f->tmp, f->path);
        if (rc == 0)
            unlink(f->tmp);
        else if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP)
            rc = rename(f->tmp, f->path); /* file systems without hard links (FAT, some FUSE) */
    }
    if (rc != 0) {
        int e = errno;
        pk_status s = e == EEXIST
                          ? pk_fail(ctx, PK_ERR_OUTPUT, f->path,
                                    "appeared while writing (use --force to replace it)")
                          : pk_fail(ctx, PK_ERR_OUTPUT, f->path, "cannot rename into place: %s",
                                    strerror(e));
        unlink(f->tmp);
        release(f);
        return s;
    }
    /* Make the new directory entry durable too. */
    char *dir = dir_of(f->path);
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    release(f);
    return PK_OK;
}

void pk_safe_abort(pk_safe_file *f)
{
    if (!f)
        return;
    if (f->stream)
        fclose(f->stream);
    else if (f->fd >= 0)
        close(f->fd);
    unlink(f->tmp);
    release(f);
}

pk_status pk_safe_write_all(pk_ctx *ctx, const char *path, const void *data, size_t len, bool force)
{
    pk_safe_file *f;
    pk_status st = pk_safe_open(ctx, path, force, &f);
    if (st != PK_OK)
        return st;
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            pk_safe_abort(f);
            return pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot write: %s", strerror(e));
        }
        p += n;
        len -= (size_t)n;
    }
    return pk_safe_commit(ctx, f);
}

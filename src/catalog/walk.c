/*
 * walk.c — the directory walker of `index`.
 *
 * Depth-first with an explicit stack (a deep tree cannot overflow the C
 * stack), one callback per folder with the folder's media files, sorted, so
 * the indexer can compare a whole folder with the catalogue in one query.
 * Symbolic links are not followed: a link cannot lead into a loop or out of
 * the tree the user named. A folder reached twice through bind mounts is
 * walked once (its device and inode are remembered).
 */
#include "catalog/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Extensions of files the catalogue knows how to read. Others (sidecars,
 * documents, editor catalogues) are not media and are never opened. */
static const char *const media_ext[] = {
    /* photos */
    "jpg", "jpeg", "jpe", "png", "webp", "tif", "tiff", "heic", "heif", "avif", "gif", "jp2", "jxl",
    "exr", "hdr", "ppm", "pgm", "pnm", "bmp",
    /* camera RAW (as in media/image.c) */
    "3fr", "ari", "arw", "bay", "cap", "cr2", "cr3", "crw", "dcr", "dcs", "dng", "drf", "eip", "erf",
    "fff", "iiq", "k25", "kdc", "mdc", "mef", "mos", "mrw", "nef", "nrw", "orf", "pef", "ptx", "pxn",
    "r3d", "raf", "raw", "rw2", "rwl", "rwz", "sr2", "srf", "srw", "x3f",
    /* video (the photo extensions end here) */
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "mxf", "mts", "m2ts", "ts", "mpg", "mpeg", "wmv",
    "flv", "3gp", "ogv", "dv",
    /* audio */
    "wav", "flac", "mp3", "m4a", "aac", "ogg", "oga", "opus", "aif", "aiff", "wma", "alac", "ape",
    "wv", "caf", "w64", "rf64",
};

int pk_walk_is_photo_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    for (size_t i = 0; i < PK_ARRAY_LEN(media_ext) && strcmp(media_ext[i], "mp4") != 0; i++)
        if (strcasecmp(dot + 1, media_ext[i]) == 0)
            return 1;
    return 0;
}

int pk_walk_is_media_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    for (size_t i = 0; i < PK_ARRAY_LEN(media_ext); i++)
        if (strcasecmp(dot + 1, media_ext[i]) == 0)
            return 1;
    return 0;
}

/* Folders that belong to an operating system, a NAS or a trash can. */
static int system_folder(const char *name)
{
    static const char *const names[] = {"$RECYCLE.BIN", "System Volume Information", "lost+found",
                                        "@eaDir", "#recycle", "#snapshot", "RECYCLER"};
    for (size_t i = 0; i < PK_ARRAY_LEN(names); i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static int excluded(const pk_walk_opts *o, const char *name, const char *path)
{
    for (size_t i = 0; i < o->nexclude; i++)
        if (fnmatch(o->exclude[i], name, 0) == 0 || fnmatch(o->exclude[i], path, 0) == 0)
            return 1;
    return 0;
}

/* ---- a small set of (device, inode) ----------------------------------- */

typedef struct dirset {
    uint64_t *keys; /* 0 = empty */
    size_t cap, n;
} dirset;

static uint64_t dir_key(const struct stat *st)
{
    uint64_t k = ((uint64_t)st->st_dev * 0x9E3779B97F4A7C15ull) ^ (uint64_t)st->st_ino;
    return k ? k : 1;
}

/* Add; returns 1 when new, 0 when present, -1 out of memory. */
static int dirset_add(dirset *s, uint64_t k)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        uint64_t *keys = calloc(cap, sizeof *keys);
        if (!keys)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->keys[i])
                continue;
            size_t j = s->keys[i] & (cap - 1);
            while (keys[j])
                j = (j + 1) & (cap - 1);
            keys[j] = s->keys[i];
        }
        free(s->keys);
        s->keys = keys;
        s->cap = cap;
    }
    size_t j = k & (s->cap - 1);
    while (s->keys[j]) {
        if (s->keys[j] == k)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->keys[j] = k;
    s->n++;
    return 1;
}

/* ---- the walk ------------------------------------------------------------ */

typedef struct entry {
    char *name;
    struct stat st;
} entry;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

typedef struct stack {
    char **dirs;
    size_t n, cap;
} stack;

static int push(stack *s, char *dir)
{
    char **d = pk_grow(s->dirs, &s->cap, s->n, sizeof *d, 64);
    if (!d)
        return -1;
    s->dirs = d;
    s->dirs[s->n++] = dir;
    return 0;
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    size_t at = a;
    if (!(a == 1 && dir[0] == '/'))
        p[at++] = '/';
    memcpy(p + at, name, b + 1);
    return p;
}

/* Read one folder: its media files go to fn, its subfolders onto the stack
 * (in reverse order, so they are walked in name order). */
static pk_status walk_dir(pk_ctx *ctx, const char *dir, const pk_walk_opts *o, dirset *seen,
                          stack *todo, pk_walk_fn fn, void *user, int *stop)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        pk_log(ctx, PK_LOG_WARNING, "%s: folder skipped: %s", dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return PK_OK;
    }
    entry *ents = NULL;
    size_t n = 0, cap = 0;
    pk_status st = PK_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
            continue;
        if (name[0] == '.' && !o->hidden)
            continue;
        if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN && e->d_type != DT_REG)
            continue; /* links, devices, sockets */
        if (e->d_type == DT_REG && !pk_walk_is_media_name(name))
            continue;
        struct stat sb;
        if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* vanished meanwhile */
        if (!S_ISDIR(sb.st_mode) && !(S_ISREG(sb.st_mode) && pk_walk_is_media_name(name)))
            continue;
        if (S_ISREG(sb.st_mode) && sb.st_size == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            entry *grown = realloc(ents, cap * sizeof *grown);
            if (!grown) {
                st = pk_fail(ctx, PK_ERR_INTERNAL, dir, "out of memory");
                break;
            }
            ents = grown;
        }
        if (!(ents[n].name = strdup(name))) {
            st = pk_fail(ctx, PK_ERR_INTERNAL, dir, "out of memory");
            break;
        }
        ents[n++].st = sb;
    }
    closedir(d);
    if (st == PK_OK && n)
        qsort(ents, n, sizeof *ents, by_name);

    pk_walk_file *files = st == PK_OK && n ? malloc(n * sizeof *files) : NULL;
    char **paths = st == PK_OK && n ? calloc(n, sizeof *paths) : NULL;
    if (n && (!files || !paths) && st == PK_OK)
        st = pk_fail(ctx, PK_ERR_INTERNAL, dir, "out of memory");
    size_t nf = 0;
    for (size_t i = 0; i < n && st == PK_OK; i++) {
        if (!(paths[i] = join(dir, ents[i].name))) {
            st = pk_fail(ctx, PK_ERR_INTERNAL, dir, "out of memory");
            break;
        }
        if (excluded(o, ents[i].name, paths[i]))
            continue;
        if (S_ISREG(ents[i].st.st_mode)) {
            const struct stat *sb = &ents[i].st;
            files[nf++] = (pk_walk_file){
                .path = paths[i],
                .name = ents[i].name,
                .size = sb->st_size,
                .mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec,
                .device = (int64_t)sb->st_dev,
                .inode = (int64_t)sb->st_ino,
            };
        }
    }
    if (st == PK_OK)
        *stop = fn(user, dir, files, nf);
    /* Subfolders, last first onto the stack. */
    for (size_t i = n; i-- > 0 && st == PK_OK;) {
        if (!S_ISDIR(ents[i].st.st_mode) || !paths[i] || excluded(o, ents[i].name, paths[i]) ||
            system_folder(ents[i].name))
            continue;
        int added = dirset_add(seen, dir_key(&ents[i].st));
        if (added < 0)
            st = pk_fail(ctx, PK_ERR_INTERNAL, dir, "out of memory");
        else if (added) {
            if (push(todo, paths[i]) != 0)
                st = pk_fail(ctx, PK_ERR_INTERNAL, dir, "out of memory");
            else
                paths[i] = NULL; /* now owned by the stack */
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(ents[i].name);
        if (paths)
            free(paths[i]);
    }
    free(paths);
    free(files);
    free(ents);
    return st;
}

pk_status pk_walk(pk_ctx *ctx, const char *root, const pk_walk_opts *opts, pk_walk_fn fn, void *user)
{
    struct stat sb;
    if (stat(root, &sb) != 0)
        return pk_fail(ctx, PK_ERR_INPUT, root, "cannot access: %s", strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return pk_fail(ctx, PK_ERR_INPUT, root, "is not a folder");
    dirset seen = {0};
    stack todo = {0};
    char *first = strdup(root);
    pk_status st = first && dirset_add(&seen, dir_key(&sb)) >= 0 && push(&todo, first) == 0
                       ? PK_OK
                       : pk_fail(ctx, PK_ERR_INTERNAL, root, "out of memory");
    if (st != PK_OK && todo.n == 0)
        free(first);
    int stop = 0;
    while (st == PK_OK && todo.n && !stop) {
        if (pk_ctx_interrupted(ctx)) {
            st = pk_fail(ctx, PK_ERR_INTERRUPTED, NULL, "interrupted");
            break;
        }
        char *dir = todo.dirs[--todo.n];
        st = walk_dir(ctx, dir, opts, &seen, &todo, fn, user, &stop);
        free(dir);
    }
    while (todo.n)
        free(todo.dirs[--todo.n]);
    free(todo.dirs);
    free(seen.keys);
    return st;
}

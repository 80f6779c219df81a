/*
 * dupes_apply.c — acting on duplicate groups, and undoing it.
 *
 * Nothing is ever deleted. A non-keeper is either moved under a folder the
 * user names (its whole absolute path recreated there, so no two files
 * collide and the origin stays readable) or, for exact copies only,
 * replaced by a hard link to the keeper (same bytes, one copy on disk).
 *
 * The journal is the safety net: every planned action is written and synced
 * before the first file is touched, and each action is marked done right
 * after it happened. `dupes --undo JOURNAL` walks it backwards and puts back
 * what was done. The journal is an append-only log (JSON lines), not a
 * result file: it is written in place, because a crash half-way must leave
 * the record of what already happened.
 */
#include "catalog/dupes.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef struct journal {
    int fd;
    char *path;
} journal;

static pk_status journal_line(pk_ctx *ctx, journal *j, json_t *line)
{
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (!text)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    size_t n = strlen(text);
    text[n] = '\n';
    ssize_t w = write(j->fd, text, n + 1);
    free(text);
    if (w != (ssize_t)(n + 1) || fdatasync(j->fd) != 0)
        return pk_fail(ctx, PK_ERR_OUTPUT, j->path, "cannot write the journal: %s", strerror(errno));
    return PK_OK;
}

/* Copy `from` to `to` (created, must not exist), data synced. */
static pk_status copy_file(pk_ctx *ctx, const char *from, const char *to, mode_t mode)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return pk_fail(ctx, PK_ERR_INPUT, from, "cannot open: %s", strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
    if (out < 0) {
        int e = errno;
        close(in);
        return pk_fail(ctx, PK_ERR_OUTPUT, to, "cannot create: %s", strerror(e));
    }
    /* On the heap, not thread-local: the operations module is loaded with
     * dlopen, where every thread-local byte is dynamic TLS. */
    enum { COPY_CHUNK = 1 << 16 };
    char *buf = malloc(COPY_CHUNK);
    if (!buf) {
        close(in);
        close(out);
        unlink(to);
        return pk_fail(ctx, PK_ERR_INTERNAL, to, "out of memory");
    }
    pk_status st = PK_OK;
    for (;;) {
        ssize_t r = read(in, buf, COPY_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = pk_fail(ctx, PK_ERR_INPUT, from, "read error: %s", strerror(errno));
            break;
        }
        if (r == 0)
            break;
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                st = pk_fail(ctx, PK_ERR_OUTPUT, to, "write error: %s", strerror(errno));
                break;
            }
            off += w;
        }
        if (st != PK_OK)
            break;
    }
    if (st == PK_OK && fsync(out) != 0)
        st = pk_fail(ctx, PK_ERR_OUTPUT, to, "cannot sync: %s", strerror(errno));
    free(buf);
    close(in);
    close(out);
    if (st != PK_OK)
        unlink(to);
    return st;
}

static void keep_times(const char *path, const struct stat *sb)
{
    struct timespec ts[2] = {sb->st_atim, sb->st_mtim};
    utimensat(AT_FDCWD, path, ts, 0);
}

/* Move a file; across file systems: copy, check, then unlink the source. */
static pk_status move_file(pk_ctx *ctx, const char *from, const char *to)
{
    if (pk_mkdirs_for(to) != 0)
        return pk_fail(ctx, PK_ERR_OUTPUT, to, "cannot create its folder: %s", strerror(errno));
    struct stat sb;
    if (lstat(to, &sb) == 0)
        return pk_fail(ctx, PK_ERR_OUTPUT, to, "already exists; not replaced");
    if (rename(from, to) == 0)
        return PK_OK;
    if (errno != EXDEV)
        return pk_fail(ctx, PK_ERR_OUTPUT, from, "cannot move to %s: %s", to, strerror(errno));
    if (stat(from, &sb) != 0)
        return pk_fail(ctx, PK_ERR_INPUT, from, "cannot access: %s", strerror(errno));
    char a[65], b[65];
    pk_status st = copy_file(ctx, from, to, sb.st_mode);
    if (st == PK_OK)
        st = pk_sha256_file(ctx, from, a);
    if (st == PK_OK)
        st = pk_sha256_file(ctx, to, b);
    if (st == PK_OK && strcmp(a, b) != 0)
        st = pk_fail(ctx, PK_ERR_OUTPUT, to, "copy differs from %s; source kept", from);
    if (st != PK_OK) {
        unlink(to);
        return st;
    }
    keep_times(to, &sb);
    if (unlink(from) != 0)
        return pk_fail(ctx, PK_ERR_OUTPUT, from, "copied to %s but cannot remove: %s", to, strerror(errno));
    return PK_OK;
}

/* Replace `path` by a hard link to `keeper`, atomically (link to a
 * temporary name, rename over). */
static pk_status link_over(pk_ctx *ctx, const char *keeper, const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.postkit-link-%ld", path, (long)getpid());
    if (link(keeper, tmp) != 0)
        return pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot hard-link to %s: %s", keeper, strerror(errno));
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot replace: %s", strerror(e));
    }
    return PK_OK;
}

/* Make `path` an independent file again (it is a link to `keeper`),
 * restoring its mode, owner and times. */
static pk_status unlink_copy(pk_ctx *ctx, const char *path, const json_t *a)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.postkit-undo-%ld", path, (long)getpid());
    mode_t mode = (mode_t)json_integer_value(json_object_get(a, "mode"));
    pk_status st = copy_file(ctx, path, tmp, mode);
    if (st != PK_OK)
        return st;
    if (fchownat(AT_FDCWD, tmp, (uid_t)json_integer_value(json_object_get(a, "uid")),
                 (gid_t)json_integer_value(json_object_get(a, "gid")), 0) != 0) {
        /* Not root: the file stays ours, which is what a user expects. */
    }
    int64_t mt = json_integer_value(json_object_get(a, "mtime_ns"));
    struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = mt / 1000000000, .tv_nsec = mt % 1000000000}};
    utimensat(AT_FDCWD, tmp, ts, 0);
    chmod(tmp, mode & 07777);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot restore: %s", strerror(e));
    }
    return PK_OK;
}

static char *default_journal(pk_ctx *ctx, const char *move_to)
{
    char stamp[32], *p = NULL;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    char buf[PATH_MAX];
    if (move_to) {
        snprintf(buf, sizeof buf, "%s/postkit-dupes-%s-%ld.journal", move_to, stamp, (long)getpid());
        return strdup(buf);
    }
    char *db;
    if (pk_catalog_path(ctx, NULL, &db) != PK_OK)
        return NULL;
    char *slash = strrchr(db, '/');
    if (slash)
        *slash = '\0';
    snprintf(buf, sizeof buf, "%s/journals/dupes-%s-%ld.journal", db, stamp, (long)getpid());
    free(db);
    p = strdup(buf);
    return p;
}

static json_t *action_record(const char *action, const char *path, const char *to, int dry)
{
    json_t *r = json_object();
    json_object_set_new(r, "action", json_string(action));
    json_object_set_new(r, "path", pk_json_string(path));
    if (to)
        json_object_set_new(r, "to", pk_json_string(to));
    json_object_set_new(r, "dry_run", json_boolean(dry));
    return r;
}

static pk_status mark_missing(pk_catalog *cat, int64_t location)
{
    pk_stmt *q;
    pk_status st = pk_db_prepare(cat->store, "UPDATE location SET missing = 1 WHERE id = ?", &q);
    if (st != PK_OK)
        return st;
    pk_stmt_bind_int(q, 1, location);
    st = pk_stmt_step(q) < 0 ? PK_ERR_INTERNAL : PK_OK;
    pk_stmt_free(q);
    return st;
}

pk_status pk_dupes_apply(pk_run *run, pk_catalog *cat, json_t *groups, const char *move_to,
                         int hardlink, const char *journal_path, int dry_run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    char *abs_to = NULL;
    if (move_to) {
        if (pk_mkdirs_for(move_to) != 0 && errno != EEXIST)
            return pk_fail(ctx, PK_ERR_OUTPUT, move_to, "cannot create: %s", strerror(errno));
        struct stat sb;
        if (!dry_run && mkdir(move_to, 0755) != 0 && errno != EEXIST)
            return pk_fail(ctx, PK_ERR_OUTPUT, move_to, "cannot create: %s", strerror(errno));
        if (!dry_run && (stat(move_to, &sb) != 0 || !S_ISDIR(sb.st_mode)))
            return pk_fail(ctx, PK_ERR_OUTPUT, move_to, "is not a folder");
        abs_to = dry_run ? strdup(move_to) : realpath(move_to, NULL);
        if (!abs_to)
            return pk_fail(ctx, PK_ERR_OUTPUT, move_to, "cannot resolve: %s", strerror(errno));
    }
    /* The plan: one action per non-keeper. */
    json_t *plan = json_array();
    size_t i, k;
    json_t *g, *f;
    json_array_foreach(groups, i, g)
    {
        const char *kind = json_string_value(json_object_get(g, "kind"));
        const json_t *keeper = json_object_get(g, "keeper");
        if (!keeper || (hardlink && strcmp(kind, "exact") != 0))
            continue; /* relations; similar pictures cannot share bytes */
        json_array_foreach(json_object_get(g, "others"), k, f)
        {
            if (json_is_true(json_object_get(f, "linked")))
                continue;
            const char *path = json_string_value(json_object_get(f, "path"));
            json_t *a = json_object();
            json_object_set_new(a, "i", json_integer((json_int_t)json_array_size(plan)));
            json_object_set_new(a, "action", json_string(hardlink ? "hardlink" : "move"));
            json_object_set_new(a, "path", json_string(path));
            json_object_set_new(a, "keeper", json_deep_copy(json_object_get(keeper, "path")));
            json_object_set_new(a, "sha256", json_deep_copy(json_object_get(f, "sha256")));
            json_object_set_new(a, "size", json_deep_copy(json_object_get(f, "size")));
            json_object_set_new(a, "location_id", json_deep_copy(json_object_get(f, "location_id")));
            json_object_set_new(a, "group", json_string(kind));
            if (abs_to) {
                char to[PATH_MAX * 2];
                snprintf(to, sizeof to, "%s%s", abs_to, path);
                json_object_set_new(a, "to", json_string(to));
            }
            struct stat sb;
            if (stat(path, &sb) == 0) {
                json_object_set_new(a, "mode", json_integer(sb.st_mode));
                json_object_set_new(a, "uid", json_integer(sb.st_uid));
                json_object_set_new(a, "gid", json_integer(sb.st_gid));
                json_object_set_new(a, "mtime_ns", json_integer((json_int_t)sb.st_mtim.tv_sec * 1000000000 +
                                                                sb.st_mtim.tv_nsec));
            }
            json_array_append_new(plan, a);
        }
    }
    pk_status st = PK_OK;
    journal j = {.fd = -1};
    if (!dry_run && json_array_size(plan)) {
        j.path = journal_path ? strdup(journal_path) : default_journal(ctx, abs_to);
        if (!j.path)
            st = pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        else if (pk_mkdirs_for(j.path) != 0)
            st = pk_fail(ctx, PK_ERR_OUTPUT, j.path, "cannot create its folder: %s", strerror(errno));
        else if ((j.fd = open(j.path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644)) < 0)
            st = pk_fail(ctx, PK_ERR_OUTPUT, j.path, "cannot create the journal: %s", strerror(errno));
        if (st == PK_OK) {
            char now[32];
            pk_iso8601_now(now);
            json_t *head = json_pack("{s:i,s:s,s:s,s:s}", "postkit_dupes_journal", 1, "created", now, "mode",
                                     hardlink ? "hardlink" : "move", "postkit", pk_version());
            st = journal_line(ctx, &j, head);
        }
        json_array_foreach(plan, i, f) if (st == PK_OK) st = journal_line(ctx, &j, json_incref(f));
        if (st == PK_OK) {
            pk_run_emit(run, json_pack("{s:s}", "journal", j.path));
        }
    }
    json_array_foreach(plan, i, f)
    {
        if (st != PK_OK)
            break;
        const char *path = json_string_value(json_object_get(f, "path"));
        const char *to = json_string_value(json_object_get(f, "to"));
        const char *keeper = json_string_value(json_object_get(f, "keeper"));
        if (dry_run) {
            pk_run_emit(run, action_record(hardlink ? "hard-link" : "move", path, hardlink ? keeper : to, 1));
            continue;
        }
        /* The file must still be the one the catalogue describes. */
        struct stat sb;
        pk_status fs = PK_OK;
        if (stat(path, &sb) != 0)
            fs = pk_fail(ctx, PK_ERR_INPUT, path, "gone since indexing; skipped");
        else if (sb.st_size != json_integer_value(json_object_get(f, "size")))
            fs = pk_fail(ctx, PK_ERR_INPUT, path, "changed since indexing; skipped (run index again)");
        if (fs == PK_OK && hardlink) {
            char a[65], b[65];
            fs = pk_sha256_file(ctx, path, a);
            if (fs == PK_OK)
                fs = pk_sha256_file(ctx, keeper, b);
            if (fs == PK_OK && strcmp(a, b) != 0)
                fs = pk_fail(ctx, PK_ERR_INPUT, path, "content differs from %s now; skipped", keeper);
            if (fs == PK_OK)
                fs = link_over(ctx, keeper, path);
        } else if (fs == PK_OK) {
            fs = move_file(ctx, path, to);
        }
        if (fs != PK_OK) {
            pk_run_file_failed(run, path, fs);
            continue;
        }
        st = journal_line(ctx, &j, json_pack("{s:I}", "done", json_integer_value(json_object_get(f, "i"))));
        if (st == PK_OK && !hardlink)
            st = mark_missing(cat, json_integer_value(json_object_get(f, "location_id")));
        pk_run_emit(run, action_record(hardlink ? "hard-linked" : "moved", path, hardlink ? keeper : to, 0));
    }
    if (j.fd >= 0)
        close(j.fd);
    free(j.path);
    free(abs_to);
    json_decref(plan);
    return st;
}

pk_status pk_dupes_undo(pk_run *run, const char *path)
{
    pk_ctx *ctx = pk_run_ctx(run);
    FILE *in = fopen(path, "r");
    if (!in)
        return pk_fail(ctx, PK_ERR_INPUT, path, "cannot open the journal: %s", strerror(errno));
    json_t *actions = json_array(), *done = json_object();
    char *line = NULL;
    size_t cap = 0;
    int first = 1;
    pk_status st = PK_OK;
    while (getline(&line, &cap, in) > 0) {
        json_t *v = json_loads(line, 0, NULL);
        if (first && (!v || !json_object_get(v, "postkit_dupes_journal"))) {
            st = pk_fail(ctx, PK_ERR_INPUT, path, "not a journal of `postkit dupes --apply`");
            json_decref(v);
            break;
        }
        first = 0;
        if (!v)
            continue; /* a line cut by a crash */
        if (json_object_get(v, "action"))
            json_array_append(actions, v);
        else if (json_object_get(v, "done")) {
            char key[32];
            snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(v, "done")));
            json_object_set(done, key, json_true());
        } else if (json_object_get(v, "undone")) {
            char key[32];
            snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(v, "undone")));
            json_object_del(done, key);
        }
        json_decref(v);
    }
    free(line);
    fclose(in);
    if (st == PK_OK && first)
        st = pk_fail(ctx, PK_ERR_INPUT, path, "empty journal");
    journal j = {.fd = st == PK_OK ? open(path, O_WRONLY | O_APPEND | O_CLOEXEC) : -1, .path = (char *)path};
    if (st == PK_OK && j.fd < 0)
        st = pk_fail(ctx, PK_ERR_OUTPUT, path, "cannot append to the journal: %s", strerror(errno));
    /* Backwards: the last action first. */
    for (size_t i = json_array_size(actions); st == PK_OK && i-- > 0;) {
        const json_t *a = json_array_get(actions, i);
        char key[32];
        long long n = (long long)json_integer_value(json_object_get(a, "i"));
        snprintf(key, sizeof key, "%lld", n);
        if (!json_object_get(done, key))
            continue;
        const char *p = json_string_value(json_object_get(a, "path"));
        const char *act = json_string_value(json_object_get(a, "action"));
        pk_status fs;
        if (strcmp(act, "move") == 0) {
            const char *to = json_string_value(json_object_get(a, "to"));
            fs = move_file(ctx, to, p);
        } else {
            fs = unlink_copy(ctx, p, a);
        }
        if (fs != PK_OK) {
            pk_run_file_failed(run, p, fs);
            continue;
        }
        st = journal_line(ctx, &j, json_pack("{s:I}", "undone", (json_int_t)n));
        pk_run_emit(run, action_record("restored", p, NULL, 0));
    }
    if (j.fd >= 0)
        close(j.fd);
    json_decref(actions);
    json_decref(done);
    return st;
}

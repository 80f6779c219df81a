/*
 * op_people_export.c — `postkit people export NAME --to DIR`: every photo
 * and video of a person, for client delivery, as hard links (no space
 * used; the originals are never touched) or, across file systems or with
 * --copy, as copies. Each file goes through a safe output (temporary name,
 * then renamed into place); a name already taken in DIR by another file
 * gets a suffix ("-2"), a file already delivered there is left alone, so
 * running the export again after new photos adds only the new ones.
 */
#include "catalog/people.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Copy `src` into the open output stream. */
static pk_status copy_into(pk_ctx *ctx, const char *src, pk_output *o)
{
    FILE *in = fopen(src, "rb");
    if (!in)
        return pk_fail(ctx, PK_ERR_INPUT, src, "cannot read: %s", strerror(errno));
    FILE *out = pk_output_file(o);
    char buf[1 << 16];
    size_t n;
    pk_status st = out ? PK_OK : pk_fail(ctx, PK_ERR_OUTPUT, pk_output_path(o), "cannot write");
    while (st == PK_OK && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            st = pk_fail(ctx, PK_ERR_OUTPUT, pk_output_path(o), "cannot write: %s", strerror(errno));
    if (st == PK_OK && ferror(in))
        st = pk_fail(ctx, PK_ERR_INPUT, src, "read error");
    fclose(in);
    return st;
}

/* Is `a` the same file as `b`, or a file with the same content? */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return 0;
    if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
        return 1;
    if (sa.st_size != sb.st_size)
        return 0;
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    char x[1 << 15], y[1 << 15];
    while (same) {
        size_t n = fread(x, 1, sizeof x, fa), m = fread(y, 1, sizeof y, fb);
        same = n == m && memcmp(x, y, n) == 0;
        if (n == 0 || n < sizeof x)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* Where `src` goes in `dir`: its own name, or NAME-2.EXT, -3... when that
 * is another file. *done when it is already there. */
static void target_for(const char *dir, const char *src, char *out, size_t size, int *done)
{
    const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
    const char *dot = strrchr(base, '.');
    int stem = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    *done = 0;
    for (int k = 1;; k++) {
        if (k == 1)
            snprintf(out, size, "%s/%s", dir, base);
        else
            snprintf(out, size, "%s/%.*s-%d%s", dir, stem, base, k, dot && dot != base ? dot : "");
        struct stat sb;
        if (lstat(out, &sb) != 0)
            return;
        if (same_file(src, out)) {
            *done = 1;
            return;
        }
    }
}

static pk_status people_export_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    const char *dir = pk_run_str(run, "to");
    int copy = pk_run_bool(run, "copy");
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return pk_fail(ctx, PK_ERR_OUTPUT, dir, "is not an existing folder");
    pk_catalog *cat;
    int64_t producer, person = 0;
    pk_status st = pk_people_open(run, &cat, &producer);
    if (st != PK_OK)
        return st;
    st = pk_person_find(cat, producer, pk_run_input(run, 0), &person);
    pk_stmt *q = NULL;
    if (st == PK_OK)
        st = pk_db_prepare(cat->store,
                           "SELECT (SELECT min(path) FROM location l WHERE l.asset_id = f.asset_id AND l.missing = 0) "
                           "AS p FROM face f WHERE f.person_id = ? GROUP BY f.asset_id ORDER BY p",
                           &q);
    int64_t linked = 0, copied = 0, already = 0, unreachable = 0;
    if (st == PK_OK) {
        pk_stmt_bind_int(q, 1, person);
        int r;
        while (st == PK_OK && (r = pk_stmt_step(q)) == 1) {
            const char *src = pk_stmt_text(q, 0);
            if (!src) {
                unreachable++; /* every copy is on a drive not plugged in */
                continue;
            }
            char target[PATH_MAX + 16];
            int done;
            target_for(dir, src, target, sizeof target, &done);
            if (done) {
                already++;
                continue;
            }
            pk_output *o;
            pk_status fs = pk_output_open(run, target, &o);
            if (fs == PK_OK) {
                pk_output_add_input(o, src);
                /* A hard link takes the place of the (empty) temporary
                 * file; the commit then renames it into place as any
                 * output. Across file systems link() fails and the file
                 * is copied into the temporary instead. */
                int linked_now = 0;
                if (!copy) {
                    char side[PATH_MAX + 64];
                    snprintf(side, sizeof side, "%s.l", pk_output_tmp_path(o));
                    if (link(src, side) == 0) {
                        if (rename(side, pk_output_tmp_path(o)) == 0)
                            linked_now = 1;
                        else
                            unlink(side);
                    }
                }
                if (fs == PK_OK && !linked_now)
                    fs = copy_into(ctx, src, o);
                if (fs == PK_OK) {
                    fs = pk_output_commit(run, o);
                    if (fs == PK_OK)
                        linked_now ? linked++ : copied++;
                } else {
                    pk_output_abort(run, o);
                }
            }
            if (fs == PK_ERR_INTERRUPTED)
                st = fs;
            else if (fs != PK_OK)
                pk_run_file_failed(run, target, fs);
        }
        if (st == PK_OK && r < 0)
            st = PK_ERR_INTERNAL;
    }
    pk_stmt_free(q);
    if (st == PK_OK) {
        json_t *rec = json_object();
        json_object_set_new(rec, "id", json_integer(person));
        json_object_set_new(rec, "to", pk_json_string(dir));
        json_object_set_new(rec, "linked", json_integer(linked));
        json_object_set_new(rec, "copied", json_integer(copied));
        json_object_set_new(rec, "already_there", json_integer(already));
        json_object_set_new(rec, "unreachable", json_integer(unreachable));
        pk_run_emit(run, rec);
    }
    pk_catalog_close(cat);
    return st;
}

static void people_export_print(const json_t *r, FILE *out)
{
#define N(k) (long long)json_integer_value(json_object_get(r, k))
    fprintf(out, "%s: %lld linked, %lld copied, %lld already there", json_string_value(json_object_get(r, "to")),
            N("linked"), N("copied"), N("already_there"));
    if (N("unreachable"))
        fprintf(out, ", %lld on drives not plugged in", N("unreachable"));
    fputc('\n', out);
#undef N
}

static const pk_param_spec people_export_params[] = {
    PK_CATALOG_PARAM,
    {.name = "to", .type = PK_PARAM_STRING, .metavar = "DIR", .flags = PK_PARAM_REQUIRED,
     .help = "existing folder to deliver into"},
    {.name = "copy", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "copy the files instead of hard-linking them"},
    {.name = NULL},
};

const pk_op pk_op_people_export = {
    .name = "people export",
    .summary = "Put every photo and video of a person into a folder (hard links or copies)",
    .description = "NAME is the person's name or id. Files are hard-linked into DIR (copied across "
                   "file systems, or with --copy); each arrives whole or not at all. A file already "
                   "in DIR is skipped; another file of the same name gets a -2 suffix.",
    .input_name = "NAME",
    .input_kind = "any",
    .min_inputs = 1,
    .max_inputs = 1,
    .params = people_export_params,
    .run = people_export_run,
    .print_human = people_export_print,
    .flags = PK_OP_WRITES,
};

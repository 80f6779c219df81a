/* Unit tests: safe outputs appear whole or not at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/internal.h"

typedef struct fixture {
    pk_ctx *ctx;
    char dir[64];
} fixture;

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_commit_and_refuse(void **state)
{
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/out.txt", f->dir);
    assert_int_equal(pk_safe_write_all(f->ctx, path, "hello", 5, false), PK_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 5);
    /* An existing output is refused without force, and left untouched. */
    assert_int_equal(pk_safe_write_all(f->ctx, path, "xx", 2, false), PK_ERR_OUTPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "already exists"));
    stat(path, &st);
    assert_int_equal(st.st_size, 5);
    assert_int_equal(pk_safe_write_all(f->ctx, path, "xx", 2, true), PK_OK);
    stat(path, &st);
    assert_int_equal(st.st_size, 2);
    assert_int_equal(count_entries(f->dir), 1);
    unlink(path);
}

static void test_abort_leaves_nothing(void **state)
{
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/partial.bin", f->dir);
    pk_safe_file *s;
    assert_int_equal(pk_safe_open(f->ctx, path, false, &s), PK_OK);
    fputs("half", pk_safe_stream(f->ctx, s));
    assert_int_equal(count_entries(f->dir), 1); /* the hidden temporary */
    pk_safe_abort(s);
    assert_int_equal(count_entries(f->dir), 0);
}

static void test_stale_temporary_removed(void **state)
{
    fixture *f = *state;
    /* A temporary of a process that no longer exists (PID 999999 is above
     * the default pid_max of 4194304? no: use a PID that cannot be alive). */
    char stale[160], path[128];
    snprintf(path, sizeof path, "%s/a.wav", f->dir);
    snprintf(stale, sizeof stale, "%s/.a.wav.2147483000.postkit-tmp-abcdef", f->dir);
    FILE *fp = fopen(stale, "w");
    fputs("junk", fp);
    fclose(fp);
    assert_int_equal(pk_safe_write_all(f->ctx, path, "ok", 2, false), PK_OK);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(count_entries(f->dir), 1);
    unlink(path);
}

static void test_missing_folder(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/no/such/out.wav", f->dir);
    assert_int_equal(pk_safe_write_all(f->ctx, path, "x", 1, false), PK_ERR_OUTPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "does not exist"));
}

static void test_target_is_directory(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/sub", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(pk_safe_write_all(f->ctx, path, "x", 1, true), PK_ERR_OUTPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "is a directory"));
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), path));
    rmdir(path);
}

static void test_folder_is_a_file(void **state)
{
    fixture *f = *state;
    char file[160], path[200];
    snprintf(file, sizeof file, "%s/plain.txt", f->dir);
    assert_int_equal(pk_safe_write_all(f->ctx, file, "x", 1, false), PK_OK);
    snprintf(path, sizeof path, "%s/out.wav", file);
    assert_int_equal(pk_safe_write_all(f->ctx, path, "x", 1, false), PK_ERR_OUTPUT);
    assert_non_null(strstr(pk_ctx_errmsg(f->ctx), "is not a folder"));
    unlink(file);
}

/* The message must be one line: it names the file first, then the cause. */
static void test_message_names_the_file(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/missing/o.wav", f->dir);
    assert_int_equal(pk_safe_write_all(f->ctx, path, "x", 1, false), PK_ERR_OUTPUT);
    const char *m = pk_ctx_errmsg(f->ctx);
    assert_memory_equal(m, path, strlen(path));
    assert_null(strchr(m, '\n'));
}

/* A read-only folder. Root writes anywhere, so a child process drops to
 * uid/gid 65534 first; the fixture's folder is opened to it for the test.
 * Exit codes of the child: 0 refused as expected, 1 wrong result, 77 the
 * privileges could not be dropped. */
static void test_read_only_folder(void **state)
{
    fixture *f = *state;
    char ro[160], path[200];
    snprintf(ro, sizeof ro, "%s/ro", f->dir);
    assert_int_equal(mkdir(ro, 0755), 0);
    assert_int_equal(chmod(ro, 0555), 0);
    assert_int_equal(chmod(f->dir, 0755), 0);
    snprintf(path, sizeof path, "%s/out.wav", ro);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(77);
        if (access(ro, W_OK) == 0)
            _exit(77); /* still allowed to write (CAP_DAC_OVERRIDE kept?) */
        pk_ctx *ctx;
        if (pk_ctx_new(&ctx) != PK_OK)
            _exit(1);
        pk_status st = pk_safe_write_all(ctx, path, "x", 1, false);
        int ok = st == PK_ERR_OUTPUT && strstr(pk_ctx_errmsg(ctx), "cannot write in its folder") &&
                 strstr(pk_ctx_errmsg(ctx), "Permission denied") && access(path, F_OK) != 0;
        if (!ok)
            fprintf(stderr, "read-only folder: status %d, message '%s'\n", st, pk_ctx_errmsg(ctx));
        pk_ctx_free(ctx);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    chmod(ro, 0755);
    rmdir(ro);
    chmod(f->dir, 0700);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_entries(f->dir), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pk-test-output-XXXXXX");
    if (!mkdtemp(f->dir) || pk_ctx_new(&f->ctx) != PK_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rmdir(f->dir);
    pk_ctx_free(f->ctx);
    free(f);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_and_refuse),
        cmocka_unit_test(test_abort_leaves_nothing),
        cmocka_unit_test(test_stale_temporary_removed),
        cmocka_unit_test(test_missing_folder),
        cmocka_unit_test(test_target_is_directory),
        cmocka_unit_test(test_folder_is_a_file),
        cmocka_unit_test(test_message_names_the_file),
        cmocka_unit_test(test_read_only_folder),
    };
    return cmocka_run_group_tests_name("output", tests, setup, teardown);
}

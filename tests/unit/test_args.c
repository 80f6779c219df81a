/* Unit tests: parsing and validating arguments against a parameter table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/internal.h"

static const pk_param_spec params[] = {
    {.name = "target", .type = PK_PARAM_FLOAT, .defval = "-23", .min = -70, .max = 0, .unit = "LUFS"},
    {.name = "mode", .type = PK_PARAM_ENUM, .defval = "all", .choices = "exposure|wb|all"},
    {.name = "output", .short_opt = 'o', .type = PK_PARAM_PATH_OUT, .flags = PK_PARAM_REQUIRED},
    {.name = "count", .type = PK_PARAM_INT, .defval = "3", .min = 1, .max = 10},
    {.name = "dither", .type = PK_PARAM_BOOL, .defval = "yes"},
    {.name = "exclude", .type = PK_PARAM_STRING, .flags = PK_PARAM_REPEAT},
    {.name = NULL},
};

static pk_status noop(pk_run *run) { (void)run; return PK_OK; }

static const pk_op op = {.name = "demo op", .summary = "test", .min_inputs = 1, .max_inputs = 2,
                         .params = params, .run = noop, .flags = PK_OP_WRITES};

static pk_status parse(pk_ctx *ctx, int argc, char **argv, pk_args **out)
{
    int help = 0;
    return pk_args_parse(ctx, &op, argc, argv, out, &help);
}

static void test_defaults_and_values(void **state)
{
    pk_ctx *ctx = *state;
    char *argv[] = {"in.wav", "-o", "out.wav", "--target=-16", "--no-dither", "--exclude", "a",
                    "--exclude", "b", "--count", "7"};
    pk_args *a;
    assert_int_equal(parse(ctx, 11, argv, &a), PK_OK);
    assert_float_equal(pk_args_value(a, "target", PK_PARAM_FLOAT)->f, -16.0, 1e-12);
    assert_false(pk_args_value(a, "dither", PK_PARAM_BOOL)->b);
    assert_int_equal(pk_args_value(a, "count", PK_PARAM_INT)->i, 7);
    assert_int_equal(pk_args_value(a, "exclude", PK_PARAM_STRING)->nstrs, 2);
    assert_string_equal(pk_args_value(a, "mode", PK_PARAM_ENUM)->strs[0], "all");
    assert_string_equal(pk_args_input(a, 0), "in.wav");
    json_t *j = pk_args_to_json(a);
    assert_float_equal(json_real_value(json_object_get(j, "target")), -16.0, 1e-12);
    assert_true(json_is_false(json_object_get(j, "dither")));
    json_decref(j);
    pk_args_free(a);
}

static void test_unit_suffix(void **state)
{
    pk_ctx *ctx = *state;
    char *argv[] = {"x", "-o", "y", "--target", "-14LUFS"};
    pk_args *a;
    assert_int_equal(parse(ctx, 5, argv, &a), PK_OK);
    assert_float_equal(pk_args_value(a, "target", PK_PARAM_FLOAT)->f, -14.0, 1e-12);
    pk_args_free(a);
}

static void expect_usage(pk_ctx *ctx, int argc, char **argv, const char *fragment)
{
    pk_args *a = NULL;
    assert_int_equal(parse(ctx, argc, argv, &a), PK_ERR_USAGE);
    assert_null(a);
    assert_non_null(strstr(pk_ctx_errmsg(ctx), fragment));
}

static void test_usage_errors(void **state)
{
    pk_ctx *ctx = *state;
    char *unknown[] = {"x", "-o", "y", "--bogus"};
    expect_usage(ctx, 4, unknown, "unknown option '--bogus'");
    char *range[] = {"x", "-o", "y", "--target", "5"};
    expect_usage(ctx, 5, range, "out of range");
    char *notnum[] = {"x", "-o", "y", "--target", "loud"};
    expect_usage(ctx, 5, notnum, "not a number");
    char *choice[] = {"x", "-o", "y", "--mode", "sepia"};
    expect_usage(ctx, 5, choice, "not one of exposure,wb,all");
    char *missing[] = {"x"};
    expect_usage(ctx, 1, missing, "needs --output");
    char *noinput[] = {"-o", "y"};
    expect_usage(ctx, 2, noinput, "needs a FILE");
    char *toomany[] = {"a", "b", "c", "-o", "y"};
    expect_usage(ctx, 5, toomany, "at most 2");
    char *novalue[] = {"x", "-o"};
    expect_usage(ctx, 2, novalue, "needs a value");
    char *fraction[] = {"x", "-o", "y", "--count", "2.5"};
    expect_usage(ctx, 5, fraction, "not a whole number");
    char *twice[] = {"x", "-o", "y", "-o", "z"};
    expect_usage(ctx, 5, twice, "given twice");
}

static void test_double_dash_and_help(void **state)
{
    pk_ctx *ctx = *state;
    char *argv[] = {"-o", "y", "--", "--odd name.wav"};
    pk_args *a;
    assert_int_equal(parse(ctx, 4, argv, &a), PK_OK);
    assert_string_equal(pk_args_input(a, 0), "--odd name.wav");
    pk_args_free(a);
    char *help[] = {"--bogus", "--help"};
    int h = 0;
    assert_int_equal(pk_args_parse(ctx, &op, 2, help, &a, &h), PK_OK);
    assert_int_equal(h, 1);
    pk_args_free(a);
}

static int setup(void **state)
{
    pk_ctx *ctx;
    if (pk_ctx_new(&ctx) != PK_OK)
        return -1;
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    pk_ctx_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_unit_suffix),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_double_dash_and_help),
    };
    return cmocka_run_group_tests_name("args", tests, setup, teardown);
}

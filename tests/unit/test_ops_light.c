/*
 * Unit tests: the `postkit` command's light operation table (pk_ops_light.c,
 * written by src/cli/ops_light_gen.c) is a faithful copy of libpostkit's
 * registry: same operations in the same order, every field of every
 * descriptor and parameter equal, no code, and each entry's symbol names
 * the real descriptor. The generated file is compiled into this test with
 * its three tables renamed (see tests/meson.build), beside the library's.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "core/internal.h"

extern const pk_op *const light_registry[];
extern const size_t light_registry_len;
extern const char *const light_symbols[];

/* Both NULL or both the same text. */
static void assert_same_string(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* A descriptor without parameters (NULL) has an empty list in the copy. */
static void assert_same_params(const pk_param_spec *light, const pk_param_spec *real)
{
    static const pk_param_spec none[] = {{0}};
    if (!real)
        real = none;
    size_t i = 0;
    for (; real[i].name; i++) {
        const pk_param_spec *l = &light[i], *r = &real[i];
        assert_non_null(l->name);
        assert_string_equal(l->name, r->name);
        assert_int_equal(l->short_opt, r->short_opt);
        assert_int_equal(l->type, r->type);
        assert_same_string(l->defval, r->defval);
        assert_true(l->min == r->min && l->max == r->max);
        assert_same_string(l->unit, r->unit);
        assert_same_string(l->choices, r->choices);
        assert_same_string(l->metavar, r->metavar);
        assert_same_string(l->help, r->help);
        assert_int_equal(l->flags, r->flags);
    }
    assert_null(light[i].name);
}

static void test_same_operations(void **state)
{
    (void)state;
    assert_int_equal(light_registry_len, pk_op_count());
    for (size_t i = 0; i < pk_op_count(); i++) {
        const pk_op *l = light_registry[i], *r = pk_op_at(i);
        assert_string_equal(l->name, r->name);
        assert_same_string(l->summary, r->summary);
        assert_same_string(l->description, r->description);
        assert_same_string(l->input_name, r->input_name);
        assert_same_string(l->input_kind, r->input_kind);
        assert_int_equal(l->min_inputs, r->min_inputs);
        assert_int_equal(l->max_inputs, r->max_inputs);
        assert_int_equal(l->flags, r->flags);
        assert_same_params(l->params, r->params);
        /* No code: the command loads it (src/cli/ops_module.c). */
        assert_null(l->run);
        assert_null(l->print_human);
    }
}

static void test_symbols_name_the_real_descriptors(void **state)
{
    (void)state;
    for (size_t i = 0; i < pk_op_count(); i++)
        assert_ptr_equal(dlsym(RTLD_DEFAULT, light_symbols[i]), pk_op_at(i));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_operations),
        cmocka_unit_test(test_symbols_name_the_real_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

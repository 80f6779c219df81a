/*
 * args.c — parse and validate arguments against an operation's parameter table.
 *
 * The same validation serves the command line (pk_args_parse) and programs
 * that build arguments by name (pk_args_new/set/finish): a value is always
 * given as text and checked against its spec's type, range and choices.
 */
#include "core/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const pk_param_spec pk_common_params[] = {
    {.name = "json", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "print results as one JSON document on stdout"},
    {.name = "progress", .type = PK_PARAM_BOOL,
     .help = "show a progress bar on stderr (default: only on a terminal)"},
    {.name = "quiet", .short_opt = 'q', .type = PK_PARAM_BOOL, .defval = "no",
     .help = "print no warnings, only errors"},
    {.name = "threads", .short_opt = 'j', .type = PK_PARAM_INT, .defval = "0", .min = 0,
     .max = 1024, .metavar = "N", .help = "worker threads; 0 means one per core"},
    {.name = "force", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "replace existing output files"},
    {.name = NULL},
};

enum { COMMON_JSON, COMMON_PROGRESS, COMMON_QUIET, COMMON_THREADS, COMMON_FORCE, COMMON_COUNT };

struct pk_args {
    const pk_op *op;
    size_t nop;                 /* op parameters come first, then the common ones */
    size_t nall;
    const pk_param_spec **specs;
    pk_arg_value *values;
    char **inputs;
    size_t ninputs;
};

const char *pk_param_type_name(pk_param_type type)
{
    switch (type) {
    case PK_PARAM_BOOL: return "bool";
    case PK_PARAM_INT: return "integer";
    case PK_PARAM_FLOAT: return "number";
    case PK_PARAM_STRING: return "text";
    case PK_PARAM_ENUM: return "choice";
    case PK_PARAM_PATH_IN: return "file";
    case PK_PARAM_PATH_OUT: return "output file";
    }
    return "?";
}

static bool spec_has_range(const pk_param_spec *s)
{
    return s->min < s->max;
}

static bool common_applies(const pk_op *op, size_t common_index)
{
    return common_index != COMMON_FORCE || (op->flags & PK_OP_WRITES);
}

/* Is `word` one of the "a|b|c" choices? */
static bool choice_ok(const char *choices, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

/* Parse a number, accepting the spec's unit as an optional suffix
 * ("0.2s" for a parameter in seconds, "-23LUFS"). */
static bool parse_number(const pk_param_spec *s, const char *text, double *out)
{
    errno = 0;
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(v))
        return false;
    while (*end == ' ')
        end++;
    if (*end && !(s->unit && strcmp(end, s->unit) == 0))
        return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *text, bool *out)
{
    static const char *yes[] = {"yes", "true", "on", "1"};
    static const char *no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < PK_ARRAY_LEN(yes); i++) {
        if (strcmp(text, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(text, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static void format_range(const pk_param_spec *s, char *buf, size_t size)
{
    if (s->type == PK_PARAM_INT)
        snprintf(buf, size, "%lld .. %lld%s%s", (long long)s->min, (long long)s->max,
                 s->unit ? " " : "", s->unit ? s->unit : "");
    else
        snprintf(buf, size, "%g .. %g%s%s", s->min, s->max, s->unit ? " " : "",
                 s->unit ? s->unit : "");
}

static void choices_list(const char *choices, char *buf, size_t size)
{
    snprintf(buf, size, "%s", choices ? choices : "");
    for (char *p = buf; *p; p++)
        if (*p == '|')
            *p = ',';
}

/* Store one textual value into slot `v` of spec `s`, validating it.
 * `given` distinguishes a user's value from a default. */
static pk_status set_value(pk_ctx *ctx, const pk_param_spec *s, pk_arg_value *v,
                           const char *text, bool given)
{
    char range[128];
    switch (s->type) {
    case PK_PARAM_BOOL: {
        bool b;
        if (!parse_bool(text, &b))
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "--%s: '%s' is not yes or no", s->name, text);
        v->b = b;
        break;
    }
    case PK_PARAM_INT:
    case PK_PARAM_FLOAT: {
        double d;
        if (!parse_number(s, text, &d))
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "--%s: '%s' is not a number%s%s", s->name,
                           text, s->unit ? " of " : "", s->unit ? s->unit : "");
        if (s->type == PK_PARAM_INT && (d != floor(d) || fabs(d) > 9.0e15))
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "--%s: '%s' is not a whole number", s->name,
                           text);
        if (spec_has_range(s) && (d < s->min || d > s->max)) {
            format_range(s, range, sizeof range);
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "--%s: %s is out of range (%s)", s->name,
                           text, range);
        }
        v->f = d;
        v->i = (int64_t)d;
        break;
    }
    case PK_PARAM_ENUM:
        if (!choice_ok(s->choices, text)) {
            choices_list(s->choices, range, sizeof range);
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "--%s: '%s' is not one of %s", s->name, text,
                           range);
        }
        break;
    case PK_PARAM_STRING:
    case PK_PARAM_PATH_IN:
    case PK_PARAM_PATH_OUT:
        if (*text == '\0')
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "--%s: the value is empty", s->name);
        break;
    }
    if (s->type != PK_PARAM_BOOL && s->type != PK_PARAM_INT && s->type != PK_PARAM_FLOAT) {
        bool append = given && v->given && (s->flags & PK_PARAM_REPEAT);
        if (given && v->given && !(s->flags & PK_PARAM_REPEAT))
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "--%s was given twice", s->name);
        if (!append) {
            for (size_t i = 0; i < v->nstrs; i++)
                free(v->strs[i]);
            v->nstrs = 0;
        }
        char **grown = realloc(v->strs, (v->nstrs + 1) * sizeof *grown);
        if (!grown)
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        v->strs = grown;
        if (!(v->strs[v->nstrs] = strdup(text)))
            return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
        v->nstrs++;
    }
    v->set = true;
    v->given = v->given || given;
    return PK_OK;
}

pk_status pk_args_new(pk_ctx *ctx, const pk_op *op, pk_args **out)
{
    pk_args *a = calloc(1, sizeof *a);
    if (!a)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    a->op = op;
    while (op->params && op->params[a->nop].name)
        a->nop++;
    a->nall = a->nop + COMMON_COUNT;
    a->specs = calloc(a->nall, sizeof *a->specs);
    a->values = calloc(a->nall, sizeof *a->values);
    if (!a->specs || !a->values) {
        pk_args_free(a);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    }
    for (size_t i = 0; i < a->nop; i++)
        a->specs[i] = &op->params[i];
    for (size_t i = 0; i < COMMON_COUNT; i++)
        a->specs[a->nop + i] = &pk_common_params[i];
    for (size_t i = 0; i < a->nall; i++) {
        const pk_param_spec *s = a->specs[i];
        if (s->defval) {
            pk_status st = set_value(ctx, s, &a->values[i], s->defval, false);
            if (st != PK_OK) {
                /* A default that fails its own spec is a bug in the table. */
                pk_args_free(a);
                return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "%s: bad default for --%s", op->name,
                               s->name);
            }
        }
    }
    a->values[a->nop + COMMON_PROGRESS].i = -1;
    *out = a;
    return PK_OK;
}

void pk_args_free(pk_args *a)
{
    if (!a)
        return;
    for (size_t i = 0; a->values && i < a->nall; i++) {
        for (size_t k = 0; k < a->values[i].nstrs; k++)
            free(a->values[i].strs[k]);
        free(a->values[i].strs);
    }
    for (size_t i = 0; i < a->ninputs; i++)
        free(a->inputs[i]);
    free(a->inputs);
    free(a->values);
    free(a->specs);
    free(a);
}

static pk_status unknown_option(pk_ctx *ctx, const pk_op *op, const char *word)
{
    return pk_fail(ctx, PK_ERR_USAGE, NULL, "unknown option '%s' for '%s' (see: postkit %s --help)",
                   word, op->name, op->name);
}

static long find_long(const pk_args *a, const char *name, size_t len)
{
    for (size_t i = 0; i < a->nall; i++) {
        if (i >= a->nop && !common_applies(a->op, i - a->nop))
            continue;
        if (strlen(a->specs[i]->name) == len && strncmp(a->specs[i]->name, name, len) == 0)
            return (long)i;
    }
    return -1;
}

static long find_short(const pk_args *a, char c)
{
    for (size_t i = 0; i < a->nall; i++)
        if (a->specs[i]->short_opt == c && (i < a->nop || common_applies(a->op, i - a->nop)))
            return (long)i;
    return -1;
}

pk_status pk_args_set(pk_ctx *ctx, pk_args *a, const char *name, const char *value)
{
    long i = find_long(a, name, strlen(name));
    if (i < 0)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "'%s' has no parameter '%s'", a->op->name, name);
    if (a->specs[i]->type == PK_PARAM_BOOL && !value)
        value = "yes";
    if (!value)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "--%s needs a value", name);
    pk_status st = set_value(ctx, a->specs[i], &a->values[i], value, true);
    if (st == PK_OK && (size_t)i == a->nop + COMMON_PROGRESS)
        a->values[i].i = a->values[i].b ? 1 : 0;
    return st;
}

pk_status pk_args_add_input(pk_ctx *ctx, pk_args *a, const char *path)
{
    char **grown = realloc(a->inputs, (a->ninputs + 1) * sizeof *grown);
    if (!grown)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    a->inputs = grown;
    if (!(a->inputs[a->ninputs] = strdup(path)))
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    a->ninputs++;
    return PK_OK;
}

pk_status pk_args_finish(pk_ctx *ctx, pk_args *a)
{
    const pk_op *op = a->op;
    for (size_t i = 0; i < a->nop; i++)
        if ((a->specs[i]->flags & PK_PARAM_REQUIRED) && !a->values[i].set)
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "'%s' needs --%s (see: postkit %s --help)",
                           op->name, a->specs[i]->name, op->name);
    const char *what = op->input_name ? op->input_name : "FILE";
    if ((int)a->ninputs < op->min_inputs)
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "'%s' needs %s%s (see: postkit %s --help)",
                       op->name, op->min_inputs > 1 ? "more than one " : "a ", what, op->name);
    if (op->max_inputs >= 0 && (int)a->ninputs > op->max_inputs) {
        if (op->max_inputs == 0)
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "'%s' takes no %s, but got '%s'", op->name,
                           what, a->inputs[0]);
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "'%s' takes at most %d %s, got %zu", op->name,
                       op->max_inputs, what, a->ninputs);
    }
    return PK_OK;
}

pk_status pk_args_parse(pk_ctx *ctx, const pk_op *op, int argc, char *const argv[], pk_args **out,
                        int *help)
{
    pk_args *a;
    pk_status st = pk_args_new(ctx, op, &a);
    if (st != PK_OK)
        return st;
    *help = 0;
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--") == 0)
            break;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            *help = 1;
    if (*help) {
        *out = a;
        return PK_OK;
    }
    bool options_done = false;
    for (int i = 0; i < argc && st == PK_OK; i++) {
        const char *w = argv[i];
        if (options_done || w[0] != '-' || w[1] == '\0') {
            st = pk_args_add_input(ctx, a, w);
            continue;
        }
        if (strcmp(w, "--") == 0) {
            options_done = true;
            continue;
        }
        long k;
        const char *inline_value = NULL;
        bool negated = false;
        if (w[1] == '-') {
            const char *name = w + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            k = find_long(a, name, len);
            if (k < 0 && len > 3 && strncmp(name, "no-", 3) == 0) {
                k = find_long(a, name + 3, len - 3);
                negated = k >= 0;
                if (negated && (a->specs[k]->type != PK_PARAM_BOOL || eq))
                    k = -1;
            }
            if (k < 0) {
                st = unknown_option(ctx, op, w);
                break;
            }
            inline_value = eq ? eq + 1 : NULL;
        } else {
            k = find_short(a, w[1]);
            if (k < 0) {
                st = unknown_option(ctx, op, w);
                break;
            }
            if (w[2])
                inline_value = w + 2;
        }
        const pk_param_spec *s = a->specs[k];
        const char *value = inline_value;
        if (s->type == PK_PARAM_BOOL) {
            if (!value)
                value = negated ? "no" : "yes";
        } else if (!value) {
            if (i + 1 >= argc) {
                st = pk_fail(ctx, PK_ERR_USAGE, NULL, "--%s needs a value", s->name);
                break;
            }
            value = argv[++i];
        }
        st = set_value(ctx, s, &a->values[k], value, true);
        if (st == PK_OK && (size_t)k == a->nop + COMMON_PROGRESS)
            a->values[k].i = a->values[k].b ? 1 : 0;
    }
    if (st == PK_OK)
        st = pk_args_finish(ctx, a);
    if (st != PK_OK) {
        pk_args_free(a);
        return st;
    }
    *out = a;
    return PK_OK;
}

const pk_arg_value *pk_args_value(const pk_args *a, const char *name, pk_param_type type)
{
    for (size_t i = 0; i < a->nall; i++) {
        if (strcmp(a->specs[i]->name, name) != 0)
            continue;
        pk_param_type t = a->specs[i]->type;
        bool numeric = type == PK_PARAM_INT || type == PK_PARAM_FLOAT;
        bool textual = type != PK_PARAM_BOOL && !numeric;
        bool t_numeric = t == PK_PARAM_INT || t == PK_PARAM_FLOAT;
        bool t_textual = t != PK_PARAM_BOOL && !t_numeric;
        if ((numeric && t_numeric) || (textual && t_textual) || t == type)
            return &a->values[i];
        break;
    }
    fprintf(stderr, "postkit: internal error: operation '%s' has no %s parameter '%s'\n",
            a->op->name, pk_param_type_name(type), name);
    abort();
}

size_t pk_args_input_count(const pk_args *a) { return a->ninputs; }
const char *pk_args_input(const pk_args *a, size_t i) { return i < a->ninputs ? a->inputs[i] : NULL; }
int pk_args_json(const pk_args *a) { return a->values[a->nop + COMMON_JSON].b; }
int pk_args_progress(const pk_args *a) { return (int)a->values[a->nop + COMMON_PROGRESS].i; }
int pk_args_quiet(const pk_args *a) { return a->values[a->nop + COMMON_QUIET].b; }
int pk_args_threads(const pk_args *a) { return (int)a->values[a->nop + COMMON_THREADS].i; }
int pk_args_force(const pk_args *a) { return a->values[a->nop + COMMON_FORCE].b; }

json_t *pk_args_to_json(const pk_args *a)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < a->nop; i++) {
        const pk_param_spec *s = a->specs[i];
        const pk_arg_value *v = &a->values[i];
        json_t *j = NULL;
        if (!v->set)
            j = json_null();
        else if (s->type == PK_PARAM_BOOL)
            j = json_boolean(v->b);
        else if (s->type == PK_PARAM_INT)
            j = json_integer(v->i);
        else if (s->type == PK_PARAM_FLOAT)
            j = json_real(v->f);
        else if (s->flags & PK_PARAM_REPEAT) {
            j = json_array();
            for (size_t k = 0; k < v->nstrs; k++)
                json_array_append_new(j, json_string(v->strs[k]));
        } else
            j = json_string(v->strs[0]);
        json_object_set_new(obj, s->name, j);
    }
    return obj;
}

/*
 * help.c — every help text and the README's command reference, rendered from
 * the operation table. Nothing here names an operation.
 */
#include "cli/cli.h"

#include <string.h>

static const char exit_codes[] =
    "0 success; 1 a check found problems; 2 usage error; 3 input error (missing, unreadable, "
    "not media, corrupt, unsupported); 4 output error (exists, folder missing or read-only, disk "
    "full); 5 internal error; 130 interrupted (Ctrl-C), nothing half-written left behind.";

/* Print `text` wrapped at `width` columns, each line starting with `indent`
 * spaces (the first after `first_col` columns already used). */
static void wrap(FILE *out, const char *text, int indent, int first_col, int width)
{
    int col = first_col;
    if (col < indent) {
        fprintf(out, "%*s", indent - col, "");
        col = indent;
    }
    const char *p = text;
    int line_start = 1;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        int len = (int)(p - w);
        if (len == 0)
            break;
        if (!line_start && col + 1 + len > width) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
            line_start = 1;
        }
        if (!line_start) {
            fputc(' ', out);
            col++;
        }
        fwrite(w, 1, (size_t)len, out);
        col += len;
        line_start = 0;
    }
    fputc('\n', out);
}

static const char *metavar(const pk_param_spec *s, char *buf, size_t size)
{
    if (s->metavar)
        return s->metavar;
    switch (s->type) {
    case PK_PARAM_ENUM:
        snprintf(buf, size, "%s", s->choices);
        return buf;
    case PK_PARAM_PATH_IN:
    case PK_PARAM_PATH_OUT:
        return "FILE";
    case PK_PARAM_INT:
        return "N";
    case PK_PARAM_FLOAT: {
        snprintf(buf, size, "%s", s->unit ? s->unit : "X");
        for (char *c = buf; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 'a' + 'A');
        return buf;
    }
    default:
        return "TEXT";
    }
}

/* "-o, --output FILE" or "--verify, --no-verify". */
static void option_words(const pk_param_spec *s, char *buf, size_t size)
{
    char mv[128];
    int n = 0;
    if (s->short_opt)
        n = snprintf(buf, size, "-%c, ", s->short_opt);
    /* A switch that is on by default (or decided automatically) is worth
     * nothing without its negative form. */
    int on = s->defval && (strcmp(s->defval, "yes") == 0 || strcmp(s->defval, "true") == 0 ||
                           strcmp(s->defval, "on") == 0 || strcmp(s->defval, "1") == 0);
    if (s->type == PK_PARAM_BOOL && (on || !s->defval))
        snprintf(buf + n, size - (size_t)n, "--%s, --no-%s", s->name, s->name);
    else if (s->type == PK_PARAM_BOOL)
        snprintf(buf + n, size - (size_t)n, "--%s", s->name);
    else
        snprintf(buf + n, size - (size_t)n, "--%s %s", s->name, metavar(s, mv, sizeof mv));
}

/* The help sentence plus range, unit and default. */
static void option_help(const pk_param_spec *s, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s", s->help ? s->help : "");
    if (s->min < s->max) {
        if (s->type == PK_PARAM_INT)
            n += snprintf(buf + n, size - (size_t)n, "; %lld..%lld", (long long)s->min, (long long)s->max);
        else
            n += snprintf(buf + n, size - (size_t)n, "; %g..%g", s->min, s->max);
        if (s->unit)
            n += snprintf(buf + n, size - (size_t)n, " %s", s->unit);
    }
    if (s->flags & PK_PARAM_REQUIRED)
        n += snprintf(buf + n, size - (size_t)n, " (required)");
    else if (s->defval)
        n += snprintf(buf + n, size - (size_t)n, " (default: %s%s%s)", s->defval,
                      s->unit && s->type == PK_PARAM_FLOAT ? " " : "",
                      s->unit && s->type == PK_PARAM_FLOAT ? s->unit : "");
    if (s->flags & PK_PARAM_REPEAT)
        snprintf(buf + n, size - (size_t)n, " (repeatable)");
}

static void print_options(FILE *out, const pk_param_spec *specs, const pk_op *op)
{
    for (const pk_param_spec *s = specs; s && s->name; s++) {
        if (s->flags & PK_PARAM_HIDDEN)
            continue;
        if (specs == pk_common_params && strcmp(s->name, "force") == 0 && !(op->flags & PK_OP_WRITES))
            continue;
        char words[160], help[640];
        option_words(s, words, sizeof words);
        option_help(s, help, sizeof help);
        fprintf(out, "  %s", words);
        int col = 2 + (int)strlen(words);
        if (col > 28) {
            fputc('\n', out);
            col = 0;
        } else {
            col++;
            fputc(' ', out);
        }
        wrap(out, help, 30, col, 100);
    }
}

static void usage_line(FILE *out, const pk_op *op)
{
    const char *in = op->input_name ? op->input_name : "FILE";
    fprintf(out, "postkit %s [OPTIONS]", op->name);
    if (op->max_inputs != 0) {
        if (op->min_inputs == 0)
            fprintf(out, " [%s%s]", in, op->max_inputs != 1 ? "..." : "");
        else
            fprintf(out, " %s%s", in, op->max_inputs != 1 ? "..." : "");
    }
}

void cli_op_help(FILE *out, const pk_op *op)
{
    fprintf(out, "Usage: ");
    usage_line(out, op);
    fprintf(out, "\n\n%s.\n", op->summary);
    if (op->description) {
        fputc('\n', out);
        wrap(out, op->description, 0, 0, 100);
    }
    int have = 0;
    for (const pk_param_spec *s = op->params; s && s->name; s++)
        have |= !(s->flags & PK_PARAM_HIDDEN);
    if (have) {
        fprintf(out, "\nOptions:\n");
        print_options(out, op->params, op);
    }
    fprintf(out, "\nCommon options:\n");
    print_options(out, pk_common_params, op);
    fprintf(out, "  %-27s show this help\n\nExit status: ", "-h, --help");
    wrap(out, exit_codes, 2, 13, 100);
}

void cli_main_help(FILE *out)
{
    fprintf(out, "Usage: postkit OPERATION [OPTIONS] [FILE...]\n\n"
                 "On-device post-production toolkit for photo, video and audio.\n\nOperations:\n");
    for (size_t i = 0; i < pk_op_count(); i++) {
        const pk_op *op = pk_op_at(i);
        fprintf(out, "  %-18s %s\n", op->name, op->summary);
    }
    fprintf(out, "\nRun 'postkit OPERATION --help' for its options.\n"
                 "  --version          print version and git revision\n\nExit status: ");
    wrap(out, exit_codes, 2, 13, 100);
}

/* Markdown cell text: pipes would split the cell. */
static void md_cell(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '|')
            fputs("\\|", out);
        else
            fputc(*p, out);
    }
}

static void md_options(FILE *out, const pk_param_spec *specs, const pk_op *op)
{
    for (const pk_param_spec *s = specs; s && s->name; s++) {
        if (s->flags & PK_PARAM_HIDDEN)
            continue;
        if (specs == pk_common_params && strcmp(s->name, "force") == 0 && !(op->flags & PK_OP_WRITES))
            continue;
        char words[160], help[640];
        option_words(s, words, sizeof words);
        option_help(s, help, sizeof help);
        fputs("| `", out);
        md_cell(out, words);
        fputs("` | ", out);
        md_cell(out, help);
        fputs(" |\n", out);
    }
}

const char *cli_markdown_anchor(const char *heading, char *buf, size_t size)
{
    size_t n = 0;
    for (const char *p = heading; *p && n + 1 < size; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 'A' && c <= 'Z')
            buf[n++] = (char)(c - 'A' + 'a');
        else if (c == ' ')
            buf[n++] = '-';
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c >= 0x80)
            buf[n++] = (char)c;
    }
    buf[n] = '\0';
    return buf;
}

void cli_reference_markdown(FILE *out)
{
    fprintf(out, "Generated from the operation table by `postkit --reference-markdown`.\n\n");
    fprintf(out, "| operation | what it does |\n|---|---|\n");
    for (size_t i = 0; i < pk_op_count(); i++) {
        char heading[128], anchor[128];
        snprintf(heading, sizeof heading, "postkit %s", pk_op_at(i)->name);
        fprintf(out, "| [`%s`](#%s) | %s |\n", pk_op_at(i)->name,
                cli_markdown_anchor(heading, anchor, sizeof anchor), pk_op_at(i)->summary);
    }
    for (size_t i = 0; i < pk_op_count(); i++) {
        const pk_op *op = pk_op_at(i);
        fprintf(out, "\n### postkit %s\n\n```\n", op->name);
        usage_line(out, op);
        fprintf(out, "\n```\n\n%s.", op->summary);
        if (op->description)
            fprintf(out, " %s", op->description);
        fprintf(out, "\n\n| option | meaning |\n|---|---|\n");
        md_options(out, op->params, op);
        if (op->flags & PK_OP_WRITES)
            fprintf(out, "| `--force` | replace existing output files |\n");
    }
    fprintf(out, "\nEvery operation also accepts `--json`, `--progress`, `--quiet`, `--threads N` "
                 "and `--help`.\n\nExit status: %s\n", exit_codes);
}

/*
 * main.c — `postkit OPERATION [OPTIONS] [FILE...]`.
 *
 * Finds the operation in the table, parses its arguments, runs it and prints
 * its records: human text by default, one JSON document with --json. Ctrl-C
 * asks the library to stop at a safe point; a second Ctrl-C removes any
 * temporary output and leaves at once.
 */
#include "cli/cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pk_ctx *signal_ctx;
static volatile sig_atomic_t signal_count;

static void on_signal(int sig)
{
    (void)sig;
    if (++signal_count == 1) {
        pk_ctx_interrupt(signal_ctx);
        static const char msg[] = "\npostkit: stopping (Ctrl-C again to abandon at once)\n";
        ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)ignored;
        return;
    }
    pk_emergency_cleanup();
    _exit(PK_ERR_INTERRUPTED);
}

static void install_signals(pk_ctx *ctx)
{
    signal_ctx = ctx;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

typedef struct sink_state {
    int json;
    int quiet;
    size_t records;
    int last_was_block; /* the previous human record spanned several lines */
    char last_error[1024];
} sink_state;

static void json_begin(const pk_op *op)
{
    printf("{\"postkit\":{\"version\":\"%s\",\"git\":\"%s\"},", pk_version(), pk_git_revision());
    json_t *op_name = op ? json_string(op->name) : json_null();
    char *name = json_dumps(op_name, JSON_ENCODE_ANY);
    printf("\"operation\":%s,\"results\":[", name ? name : "null");
    free(name);
    json_decref(op_name);
}

static void json_item(sink_state *s, json_t *item)
{
    char *text = json_dumps(item, JSON_COMPACT | JSON_REAL_PRECISION(10));
    printf("%s\n%s", s->records++ ? "," : "", text ? text : "null");
    free(text);
    fflush(stdout);
}

static void on_record(void *user, const pk_op *op, json_t *record)
{
    sink_state *s = user;
    if (s->json) {
        json_item(s, record);
        return;
    }
    /* Rendered into memory first so that a blank line separates only
    ** multi-line records: one-line results (search hits, thumbnails) stay a
    ** compact list that grep and head can use. */
    char *text = NULL;
    size_t length = 0;
    FILE *buffer = open_memstream(&text, &length);
    if (!buffer)
        return;
    if (op->print_human)
        op->print_human(record, buffer);
    else
        cli_render_generic(record, buffer);
    fclose(buffer);
    size_t lines = 0;
    for (size_t i = 0; i < length; i++)
        lines += text[i] == '\n';
    int is_block = lines > 1;
    if (s->records++ && op->print_human && (is_block || s->last_was_block))
        fputc('\n', stdout);
    s->last_was_block = is_block;
    fwrite(text, 1, length, stdout);
    free(text);
    fflush(stdout);
}

static void on_file_error(void *user, const pk_op *op, const char *path, pk_status status,
                          const char *message)
{
    (void)op;
    sink_state *s = user;
    snprintf(s->last_error, sizeof s->last_error, "%s", message);
    cli_print_stderr("", message);
    if (s->json) {
        json_t *e = json_object();
        json_object_set_new(e, "path", pk_json_string(path));
        json_t *err = json_object();
        json_object_set_new(err, "status", json_integer(status));
        json_object_set_new(err, "kind", json_string(pk_strerror(status)));
        json_object_set_new(err, "message", pk_json_string(message));
        json_object_set_new(e, "error", err);
        json_item(s, e);
        json_decref(e);
    }
}

static void on_log(void *user, pk_log_level level, const char *message)
{
    const sink_state *s = user;
    if (level == PK_LOG_ERROR)
        cli_print_stderr("", message);
    else if (level == PK_LOG_WARNING && !s->quiet)
        cli_print_stderr("warning: ", message);
    else if (level == PK_LOG_INFO && !s->quiet && !s->json)
        cli_print_stderr("", message);
}

/* The error record of a failure that stopped the run. */
static void json_error(sink_state *s, pk_status st, const char *message)
{
    json_t *e = json_pack("{s:{s:i,s:s,s:o}}", "error", "status", (int)st, "kind",
                          pk_strerror(st), "message", pk_json_string(message));
    if (e)
        json_item(s, e);
    json_decref(e);
}

/* Was --json asked for? Looked up in the raw words, for errors found before
 * the arguments could be parsed: a script that asked for JSON gets JSON. */
static int wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            return 1;
    return 0;
}

/* Report a usage error: one line on stderr, and with --json the document
 * with the error record on stdout. */
static int usage_error(const pk_op *op, int argc, char **argv, const char *message)
{
    cli_print_stderr("", message);
    if (wants_json(argc, argv)) {
        sink_state state = {.json = 1};
        json_begin(op);
        json_error(&state, PK_ERR_USAGE, message);
        printf("],\"status\":%d}\n", PK_ERR_USAGE);
    }
    return PK_ERR_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error(NULL, argc, argv, "no operation given (see: postkit --help)");
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0 || strcmp(first, "help") == 0) {
        cli_main_help(stdout);
        return 0;
    }
    if (strcmp(first, "--version") == 0) {
        printf("postkit %s (git %s)\n", pk_version(), pk_git_revision());
        return 0;
    }
    if (strcmp(first, "--reference-markdown") == 0) {
        cli_reference_markdown(stdout);
        return 0;
    }
    int words = 0;
    const pk_op *op = pk_op_match(argc - 1, argv + 1, &words);
    if (!op) {
        char msg[512];
        if (first[0] == '-')
            snprintf(msg, sizeof msg, "no operation given before '%s' (usage: postkit OPERATION "
                     "[OPTIONS] [FILE...]; see: postkit --help)", first);
        else
            snprintf(msg, sizeof msg, "unknown operation '%s' (see: postkit --help)", first);
        return usage_error(NULL, argc, argv, msg);
    }

    /* The command has no pk_init of its own: the core needs none, and the
     * operations module runs the library's when it is loaded (ops_module.c). */
    pk_ctx *ctx;
    if (pk_ctx_new(&ctx) != PK_OK) {
        cli_print_stderr("", "cannot initialise (out of memory?)");
        return PK_ERR_INTERNAL;
    }
    pk_args *args = NULL;
    int help = 0;
    pk_status st = pk_args_parse(ctx, op, argc - 1 - words, argv + 1 + words, &args, &help);
    if (st != PK_OK) {
        if (st == PK_ERR_USAGE) {
            usage_error(op, argc, argv, pk_ctx_errmsg(ctx));
        } else {
            cli_print_stderr("", pk_ctx_errmsg(ctx));
        }
    } else if (help) {
        cli_op_help(stdout, op);
    } else {
        sink_state state = {.json = pk_args_json(args), .quiet = pk_args_quiet(args)};
        int progress = pk_args_progress(args);
        cli_progress_install(ctx, progress == 1 || (progress == -1 && isatty(STDERR_FILENO)));
        pk_ctx_set_log(ctx, on_log, &state);
        install_signals(ctx);
        pk_sink sink = {on_record, on_file_error, &state};
        if (state.json)
            json_begin(op);
        /* Parsed against the light descriptor: the real one has the same
         * parameters, and its code may be in the module loaded here. */
        const pk_op *real;
        st = cli_op_resolve(ctx, op, argv[0], &real);
        if (st == PK_OK)
            st = pk_op_run(ctx, real, args, &sink);
        const char *msg = pk_ctx_errmsg(ctx);
        /* A failure that stopped the run (not one already reported per file). */
        if (st != PK_OK && st != PK_CHECK_FAILED && msg[0] && strcmp(msg, state.last_error) != 0) {
            cli_print_stderr("", msg);
            if (state.json)
                json_error(&state, st, msg);
        }
        if (state.json)
            printf("],\"status\":%d}\n", (int)st);
    }
    pk_args_free(args);
    pk_ctx_free(ctx);
    cli_ops_shutdown();
    if (fflush(stdout) != 0 && st == PK_OK)
        st = PK_ERR_OUTPUT;
    return (int)st;
}

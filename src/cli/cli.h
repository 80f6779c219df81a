/*
 * cli.h — the `postkit` command: a thin layer over libpostkit.
 */
#ifndef POSTKIT_CLI_H
#define POSTKIT_CLI_H

#include <stdio.h>

#include <postkit/op.h>
#include <postkit/postkit.h>

/* help.c */
void cli_main_help(FILE *out);
void cli_op_help(FILE *out, const pk_op *op);
void cli_reference_markdown(FILE *out);

/* progress.c */
void cli_progress_install(pk_ctx *ctx, int enabled);
/* Print "postkit: PREFIXMESSAGE" on stderr without tearing a progress bar. */
void cli_print_stderr(const char *prefix, const char *message);

/* render.c */
void cli_render_generic(const json_t *record, FILE *out);

#endif

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
/* The anchor GitHub gives a Markdown heading: lower case, spaces become
 * hyphens, punctuation other than '-' and '_' is dropped ("postkit photo
 * match" -> "postkit-photo-match"). Writes into buf, returns buf. */
const char *cli_markdown_anchor(const char *heading, char *buf, size_t size);

/* progress.c */
void cli_progress_install(pk_ctx *ctx, int enabled);
/* Print "postkit: PREFIXMESSAGE" on stderr without tearing a progress bar. */
void cli_print_stderr(const char *prefix, const char *message);

/* render.c */
void cli_render_generic(const json_t *record, FILE *out);

#endif

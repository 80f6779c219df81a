/* Unit tests: help and reference texts rendered from the operation table
 * (src/cli/help.c, compiled into this test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

/* Operation names of two words must give the anchors GitHub gives their
 * "### postkit NAME" headings, or the reference table's links go nowhere. */
static void test_anchor_of_names_with_spaces(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(cli_markdown_anchor("postkit probe", buf, sizeof buf), "postkit-probe");
    assert_string_equal(cli_markdown_anchor("postkit photo match", buf, sizeof buf),
                        "postkit-photo-match");
    assert_string_equal(cli_markdown_anchor("postkit Audio Loudness", buf, sizeof buf),
                        "postkit-audio-loudness");
    assert_string_equal(cli_markdown_anchor("postkit qc (video)", buf, sizeof buf), "postkit-qc-video");
    assert_string_equal(cli_markdown_anchor("postkit extract-audio", buf, sizeof buf),
                        "postkit-extract-audio");
    /* Truncated to the buffer, always terminated. */
    char small[8];
    assert_string_equal(cli_markdown_anchor("postkit photo match", small, sizeof small), "postkit");
}

/* The reference's table links every operation to its own heading. */
static void test_reference_links_reach_headings(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    assert_non_null(fp);
    cli_reference_markdown(fp);
    fclose(fp);
    for (size_t i = 0; i < pk_op_count(); i++) {
        char heading[160], anchor[160], link[200], line[200];
        snprintf(heading, sizeof heading, "postkit %s", pk_op_at(i)->name);
        snprintf(link, sizeof link, "](#%s)", cli_markdown_anchor(heading, anchor, sizeof anchor));
        snprintf(line, sizeof line, "\n### %s\n", heading);
        assert_non_null(strstr(text, link));
        assert_non_null(strstr(text, line));
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anchor_of_names_with_spaces),
        cmocka_unit_test(test_reference_links_reach_headings),
    };
    return cmocka_run_group_tests_name("help", tests, NULL, NULL);
}

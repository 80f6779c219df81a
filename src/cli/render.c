/*
 * render.c — the generic human view of a record, for operations that do not
 * provide their own: "key: value" lines, nested objects indented.
 */
#include "cli/cli.h"

#include <stdlib.h>

static void render(const json_t *v, FILE *out, int depth)
{
    const char *key;
    const json_t *item;
    json_object_foreach((json_t *)v, key, item)
    {
        if (json_is_object(item)) {
            fprintf(out, "%*s%s:\n", depth * 2, "", key);
            render(item, out, depth + 1);
        } else if (json_is_string(item)) {
            fprintf(out, "%*s%s: %s\n", depth * 2, "", key, json_string_value(item));
        } else {
            char *text = json_dumps(item, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(8));
            fprintf(out, "%*s%s: %s\n", depth * 2, "", key, text ? text : "?");
            free(text);
        }
    }
}

void cli_render_generic(const json_t *record, FILE *out)
{
    render(record, out, 0);
}

/*
 * op_table.c — finding operations in the registry. The list itself is
 * pk_registry (registry.c in libpostkit; in the `postkit` command the light
 * copy generated from it, src/cli/ops_light_gen.c).
 */
#include "core/internal.h"

#include <string.h>

size_t pk_op_count(void)
{
    return pk_registry_len;
}

const pk_op *pk_op_at(size_t index)
{
    return index < pk_registry_len ? pk_registry[index] : NULL;
}

const pk_op *pk_op_find(const char *name)
{
    for (size_t i = 0; i < pk_registry_len; i++)
        if (strcmp(pk_registry[i]->name, name) == 0)
            return pk_registry[i];
    return NULL;
}

/* Does argv[0..] begin with the words of `name`? Returns the word count. */
static int words_match(const char *name, int argc, char *const argv[])
{
    int used = 0;
    const char *p = name;
    while (*p) {
        const char *space = strchr(p, ' ');
        size_t len = space ? (size_t)(space - p) : strlen(p);
        if (used >= argc || strlen(argv[used]) != len || strncmp(argv[used], p, len) != 0)
            return 0;
        used++;
        p = space ? space + 1 : p + len;
    }
    return used;
}

const pk_op *pk_op_match(int argc, char *const argv[], int *words)
{
    const pk_op *best = NULL;
    int best_words = 0;
    for (size_t i = 0; i < pk_registry_len; i++) {
        int w = words_match(pk_registry[i]->name, argc, argv);
        if (w > best_words) {
            best = pk_registry[i];
            best_words = w;
        }
    }
    *words = best_words;
    return best;
}

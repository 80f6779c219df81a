/*
 * hashindex.c — multi-index hashing for Hamming-distance queries over 64-bit
 * hashes (Norouzi, Punjani, Fleet: "Fast search in Hamming space with
 * multi-index hashing", CVPR 2012).
 *
 * Each hash is cut into four 16-bit parts; table k groups the hashes by part
 * k (a counting sort: bucket offsets + positions). If two hashes differ in at
 * most r bits, one of their four parts differs in at most floor(r/4) bits
 * (pigeonhole). A query therefore visits, in each table, the buckets of every
 * 16-bit value within floor(r/4) bits of its part — 137 buckets for r = 8 —
 * and checks the full distance of the few hashes found there. With a million
 * hashes a bucket holds ~15 of them: a query touches ~8,000 hashes instead of
 * 1,000,000.
 */
#include "catalog/internal.h"

#include <stdlib.h>
#include <string.h>

enum { PARTS = 4, PART_BITS = 16, BUCKETS = 1 << PART_BITS };

struct pk_hash_index {
    size_t n;
    uint64_t *hashes;
    uint32_t *offsets[PARTS]; /* BUCKETS + 1 each */
    uint32_t *ids[PARTS];     /* n each, grouped by bucket */
};

int pk_hamming(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

static unsigned part_of(uint64_t h, int k)
{
    return (unsigned)(h >> (k * PART_BITS)) & (BUCKETS - 1);
}

void pk_hash_index_free(pk_hash_index *ix)
{
    if (!ix)
        return;
    for (int k = 0; k < PARTS; k++) {
        free(ix->offsets[k]);
        free(ix->ids[k]);
    }
    free(ix->hashes);
    free(ix);
}

pk_status pk_hash_index_build(pk_ctx *ctx, const uint64_t *hashes, size_t n, pk_hash_index **out)
{
    if (n > UINT32_MAX)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "too many hashes for one index (%zu)", n);
    pk_hash_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    ix->n = n;
    ix->hashes = malloc((n ? n : 1) * sizeof *ix->hashes);
    int ok = ix->hashes != NULL;
    for (int k = 0; k < PARTS && ok; k++) {
        ix->offsets[k] = calloc(BUCKETS + 1, sizeof(uint32_t));
        ix->ids[k] = malloc((n ? n : 1) * sizeof(uint32_t));
        ok = ix->offsets[k] && ix->ids[k];
    }
    if (!ok) {
        pk_hash_index_free(ix);
        return pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory for a hash index of %zu", n);
    }
    if (n)
        memcpy(ix->hashes, hashes, n * sizeof *hashes);
    for (int k = 0; k < PARTS; k++) {
        uint32_t *off = ix->offsets[k];
        for (size_t i = 0; i < n; i++)
            off[part_of(hashes[i], k) + 1]++;
        for (unsigned b = 0; b < BUCKETS; b++)
            off[b + 1] += off[b];
        /* Fill using a moving cursor per bucket, then restore the offsets. */
        for (size_t i = 0; i < n; i++)
            ix->ids[k][off[part_of(hashes[i], k)]++] = (uint32_t)i;
        for (unsigned b = BUCKETS; b > 0; b--)
            off[b] = off[b - 1];
        off[0] = 0;
    }
    *out = ix;
    return PK_OK;
}

typedef struct query {
    const pk_hash_index *ix;
    uint64_t q;
    int radius, part_radius, table;
    uint32_t *ids;
    size_t max, found;
} query;

/* Was hash `h` already reachable from an earlier table? Then that table
 * reported it; reporting it again would duplicate it. */
static int seen_earlier(const query *qu, uint64_t h)
{
    for (int k = 0; k < qu->table; k++)
        if (__builtin_popcount(part_of(h, k) ^ part_of(qu->q, k)) <= qu->part_radius)
            return 1;
    return 0;
}

static void visit_bucket(query *qu, unsigned bucket)
{
    const pk_hash_index *ix = qu->ix;
    const uint32_t *off = ix->offsets[qu->table];
    for (uint32_t j = off[bucket]; j < off[bucket + 1]; j++) {
        uint32_t id = ix->ids[qu->table][j];
        uint64_t h = ix->hashes[id];
        if (pk_hamming(h, qu->q) > qu->radius || seen_earlier(qu, h))
            continue;
        if (qu->found < qu->max)
            qu->ids[qu->found] = id;
        qu->found++;
    }
}

/* Visit every bucket whose value differs from `value` by flipping `left`
 * more bits, each at a position >= `from` (so each set is visited once). */
static void enumerate(query *qu, unsigned value, int from, int left)
{
    visit_bucket(qu, value);
    if (left == 0)
        return;
    for (int b = from; b < PART_BITS; b++)
        enumerate(qu, value ^ (1u << b), b + 1, left - 1);
}

size_t pk_hash_index_query(const pk_hash_index *ix, uint64_t q, int radius, uint32_t *ids,
                           size_t max)
{
    if (radius < 0)
        return 0;
    if (radius > 31)
        radius = 31;
    query qu = {.ix = ix, .q = q, .radius = radius, .part_radius = radius / PARTS, .ids = ids,
                .max = max};
    for (qu.table = 0; qu.table < PARTS; qu.table++)
        enumerate(&qu, part_of(q, qu.table), 0, qu.part_radius);
    return qu.found;
}

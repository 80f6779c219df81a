/*
 * catalog_bench.c — in-process timings of the catalogue's hot paths, without
 * the process start-up that `hyperfine postkit ...` includes:
 *   catalog_bench hash N RADIUS QUERIES   build a multi-index over N random
 *                                          64-bit hashes, time QUERIES queries
 *   catalog_bench search CATALOG REPS QUERY...  time `postkit search` (the op)
 * Prints one line per measure: name, median ms, mean ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <postkit/catalog.h>
#include <postkit/op.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *t, int n, const char *extra)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += t[i];
    qsort(t, (size_t)n, sizeof *t, cmp_d);
    printf("%-40s median %.3f ms  mean %.3f ms  max %.3f ms  (%d runs)%s\n", name, t[n / 2], sum / n,
           t[n - 1], n, extra ? extra : "");
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static int bench_hash(pk_ctx *ctx, size_t n, int radius, int queries)
{
    uint64_t *h = malloc(n * sizeof *h), seed = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++)
        h[i] = rnd(&seed);
    /* Each query has a planted neighbour at the radius. */
    for (int q = 0; q < queries && (size_t)q < n / 2; q++) {
        uint64_t v = h[q];
        for (int b = 0; b < radius; b++)
            v ^= 1ull << ((q + b * 9) % 64);
        h[n / 2 + (size_t)q] = v;
    }
    double t0 = now_ms();
    pk_hash_index *ix;
    if (pk_hash_index_build(ctx, h, n, &ix) != PK_OK)
        return 1;
    double build = now_ms() - t0;
    double *t = malloc((size_t)queries * sizeof *t);
    uint32_t ids[4096];
    size_t found = 0;
    for (int q = 0; q < queries; q++) {
        double s = cpu_ms();
        found += pk_hash_index_query(ix, h[q], radius, ids, 4096);
        t[q] = cpu_ms() - s;
    }
    /* Linear scan for comparison (a few queries). */
    double lin = now_ms();
    size_t lf = 0;
    for (int q = 0; q < 10; q++)
        for (size_t i = 0; i < n; i++)
            lf += pk_hamming(h[i], h[q]) <= radius;
    lin = (now_ms() - lin) / 10;
    char extra[160];
    snprintf(extra, sizeof extra, "; build %.0f ms; linear scan %.2f ms/query; %zu hits", build, lin, found);
    char name[64];
    snprintf(name, sizeof name, "hash query, %zu hashes, radius %d (CPU)", n, radius);
    report(name, t, queries, extra);
    pk_hash_index_free(ix);
    free(h);
    free(t);
    return 0;
}

static void count_record(void *user, const pk_op *op, json_t *r)
{
    (void)op;
    (void)r;
    (*(int *)user)++;
}

static int bench_search(pk_ctx *ctx, const char *catalog, int reps, int nq, char **queries)
{
    const pk_op *op = pk_op_find("search");
    for (int q = 0; q < nq; q++) {
        double *t = malloc((size_t)reps * sizeof *t), *c = malloc((size_t)reps * sizeof *c);
        int hits = 0;
        for (int r = 0; r < reps; r++) {
            pk_args *a;
            pk_args_new(ctx, op, &a);
            pk_args_set(ctx, a, "catalog", catalog);
            pk_args_add_input(ctx, a, queries[q]);
            if (pk_args_finish(ctx, a) != PK_OK) {
                fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
                return 1;
            }
            hits = 0;
            pk_sink sink = {count_record, NULL, &hits};
            double s = now_ms(), sc = cpu_ms();
            pk_status st = pk_op_run(ctx, op, a, &sink);
            t[r] = now_ms() - s;
            c[r] = cpu_ms() - sc;
            pk_args_free(a);
            if (st != PK_OK) {
                fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
                return 1;
            }
        }
        char name[160], extra[64];
        snprintf(name, sizeof name, "search '%s' (wall)", queries[q]);
        snprintf(extra, sizeof extra, "; %d results", hits);
        report(name, t, reps, extra);
        snprintf(name, sizeof name, "search '%s' (CPU)", queries[q]);
        report(name, c, reps, NULL);
        free(t);
        free(c);
    }
    return 0;
}

int main(int argc, char **argv)
{
    pk_ctx *ctx;
    if (pk_ctx_new(&ctx) != PK_OK || pk_init(argv[0]) != PK_OK)
        return 1;
    int rc = 2;
    if (argc == 5 && strcmp(argv[1], "hash") == 0)
        rc = bench_hash(ctx, (size_t)atol(argv[2]), atoi(argv[3]), atoi(argv[4]));
    else if (argc >= 5 && strcmp(argv[1], "search") == 0)
        rc = bench_search(ctx, argv[2], atoi(argv[3]), argc - 4, argv + 4);
    else
        fprintf(stderr, "usage: catalog_bench hash N RADIUS QUERIES | search CATALOG REPS QUERY...\n");
    pk_ctx_free(ctx);
    pk_shutdown();
    return rc;
}

/* harness.c: the failing allocator and dense references shared by the tests. */
#include "harness.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Atomic: a sequence may run the library on several threads, which then
 * allocate concurrently. */
static atomic_long live_blocks;
static atomic_long allocations;
static long fail_at; /* 0 = never; written only between sequences */
static atomic_int failed;

static void *counting_malloc(size_t size, void *user)
{
    (void)user;
    long count = atomic_fetch_add(&allocations, 1) + 1;
    if (fail_at && count == fail_at) {
        atomic_store(&failed, 1);
        return NULL;
    }
    void *p = malloc(size);
    if (p)
        atomic_fetch_add(&live_blocks, 1);
    return p;
}

static void *counting_realloc(void *ptr, size_t size, void *user)
{
    (void)user;
    long count = atomic_fetch_add(&allocations, 1) + 1;
    if (fail_at && count == fail_at) {
        atomic_store(&failed, 1);
        return NULL;
    }
    void *p = realloc(ptr, size);
    if (p && !ptr)
        atomic_fetch_add(&live_blocks, 1);
    return p;
}

static void counting_free(void *ptr, void *user)
{
    (void)user;
    if (ptr) {
        atomic_fetch_sub(&live_blocks, 1);
        free(ptr);
    }
}

void harness_install_counting_allocator(void)
{
    qml_allocator a = {sizeof a, counting_malloc, counting_realloc, counting_free, NULL};
    atomic_store(&live_blocks, 0);
    atomic_store(&allocations, 0);
    fail_at = 0;
    atomic_store(&failed, 0);
    if (qml_set_allocator(&a) != QML_OK)
        fail_msg("qml_set_allocator failed: %s", qml_last_error());
}

void harness_restore_allocator(void)
{
    qml_set_allocator(NULL);
}

long harness_live_blocks(void)
{
    return atomic_load(&live_blocks);
}

int harness_check_allocation_failures(harness_sequence sequence, void *context)
{
    int runs = 0;
    for (long k = 1;; k++) {
        harness_install_counting_allocator();
        fail_at = k;
        int status = sequence(context);
        long leaked = atomic_load(&live_blocks);
        int hit = atomic_load(&failed);
        harness_restore_allocator();
        runs++;
        if (leaked != 0)
            fail_msg("allocation %ld failing: %ld block(s) leaked (status %d: %s)", k, leaked, status,
                     qml_last_error());
        if (!hit) {
            if (status != QML_OK)
                fail_msg("sequence failed with no allocation failure: %d (%s)", status, qml_last_error());
            return runs;
        }
        if (status != QML_ERR_OUT_OF_MEMORY)
            fail_msg("allocation %ld failing: status %d (%s), expected QML_ERR_OUT_OF_MEMORY; message: %s", k,
                     status, qml_status_string(status), qml_last_error());
        if (k > 1000000)
            fail_msg("more than a million allocations along the sequence");
    }
}

/* Instrumented or unoptimised builds (this file is built with the tests'
 * flags): the heavy cases would take minutes there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(__OPTIMIZE__)
#define HARNESS_SLOW_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define HARNESS_SLOW_BUILD 1
#endif
#endif
#ifndef HARNESS_SLOW_BUILD
#define HARNESS_SLOW_BUILD 0
#endif

bool harness_heavy(void)
{
    const char *quick = getenv("QML_TEST_QUICK");
    if (quick && *quick && strcmp(quick, "0") != 0)
        return false;
    return !HARNESS_SLOW_BUILD;
}

uint64_t harness_next(harness_rng *rng)
{
    /* SplitMix64, kept separate from the library's generator. */
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double harness_uniform(harness_rng *rng)
{
    return (double)(harness_next(rng) >> 11) * 0x1.0p-53;
}

double harness_normal(harness_rng *rng)
{
    double u1 = 1.0 - harness_uniform(rng), u2 = harness_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925286766559 * u2);
}

void harness_matmul(size_t d, const double *a, const double *b, double *c)
{
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double re = 0, im = 0;
            for (size_t k = 0; k < d; k++) {
                double ar = a[2 * (i * d + k)], ai = a[2 * (i * d + k) + 1];
                double br = b[2 * (k * d + j)], bi = b[2 * (k * d + j) + 1];
                re += ar * br - ai * bi;
                im += ar * bi + ai * br;
            }
            c[2 * (i * d + j)] = re;
            c[2 * (i * d + j) + 1] = im;
        }
}

void harness_kron(size_t da, const double *a, size_t db, const double *b, double *c)
{
    size_t d = da * db;
    for (size_t i1 = 0; i1 < da; i1++)
        for (size_t j1 = 0; j1 < da; j1++)
            for (size_t i2 = 0; i2 < db; i2++)
                for (size_t j2 = 0; j2 < db; j2++) {
                    double ar = a[2 * (i1 * da + j1)], ai = a[2 * (i1 * da + j1) + 1];
                    double br = b[2 * (i2 * db + j2)], bi = b[2 * (i2 * db + j2) + 1];
                    size_t r = i1 * db + i2, col = j1 * db + j2;
                    c[2 * (r * d + col)] = ar * br - ai * bi;
                    c[2 * (r * d + col) + 1] = ar * bi + ai * br;
                }
}

void harness_matvec(size_t d, const double *m, const double *x, double *y)
{
    for (size_t i = 0; i < d; i++) {
        double re = 0, im = 0;
        for (size_t k = 0; k < d; k++) {
            double mr = m[2 * (i * d + k)], mi = m[2 * (i * d + k) + 1];
            re += mr * x[2 * k] - mi * x[2 * k + 1];
            im += mr * x[2 * k + 1] + mi * x[2 * k];
        }
        y[2 * i] = re;
        y[2 * i + 1] = im;
    }
}

void harness_pauli_matrix(unsigned n, const char *dense, double *out)
{
    static const double I2[8] = {1, 0, 0, 0, 0, 0, 1, 0};
    static const double X2[8] = {0, 0, 1, 0, 1, 0, 0, 0};
    static const double Y2[8] = {0, 0, 0, -1, 0, 1, 0, 0};
    static const double Z2[8] = {1, 0, 0, 0, 0, 0, -1, 0};
    size_t dim = (size_t)1 << n;
    double *acc = calloc(2 * dim * dim, sizeof *acc);
    double *tmp = calloc(2 * dim * dim, sizeof *tmp);
    acc[0] = 1; /* 1 x 1 identity */
    size_t d = 1;
    /* The highest qubit is the most significant bit: kron from qubit n-1 down. */
    for (unsigned k = n; k-- > 0;) {
        const double *p = dense[k] == 'X' ? X2 : dense[k] == 'Y' ? Y2 : dense[k] == 'Z' ? Z2 : I2;
        harness_kron(d, acc, 2, p, tmp);
        d *= 2;
        memcpy(acc, tmp, 2 * d * d * sizeof *acc);
    }
    memcpy(out, acc, 2 * dim * dim * sizeof *out);
    free(acc);
    free(tmp);
}

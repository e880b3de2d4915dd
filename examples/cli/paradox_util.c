/*
 * paradox_util.c: the small helpers the stages of `qml paradox` share
 * (model names, streams, intervals); the CSV tables are paradox_table.c's.
 */
#include "cli.h"
#include "paradox.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- models ------------------------------------------------------------------------- */

const char *paradox_kind_name(int kind)
{
    switch (kind) {
    case PARADOX_KIND_UNSTRUCTURED: return "unstructured";
    case PARADOX_KIND_PERMUTATION: return "permutation";
    case PARADOX_KIND_FREE_FERMION: return "free-fermion";
    case PARADOX_KIND_PERMUTATION_LOCAL: return "permutation-local";
    case PARADOX_KIND_PERMUTATION_BOUNDED: return "permutation-bounded";
    }
    return "?";
}

const char *paradox_kind_label(int kind)
{
    switch (kind) {
    case PARADOX_KIND_UNSTRUCTURED: return "unstructured (su(2^n))";
    case PARADOX_KIND_PERMUTATION: return "permutation, collective encoding";
    case PARADOX_KIND_FREE_FERMION: return "free-fermion (so(2n))";
    case PARADOX_KIND_PERMUTATION_LOCAL: return "permutation, per-qubit encoding";
    case PARADOX_KIND_PERMUTATION_BOUNDED: return "permutation, bounded encoding";
    }
    return "?";
}

int paradox_kind_from_name(const char *name)
{
    for (int k = 0; k <= PARADOX_KIND_PERMUTATION_BOUNDED; k++)
        if (!strcmp(name, paradox_kind_name(k)))
            return k;
    return -1;
}

unsigned paradox_weights_per_layer(int kind, unsigned n)
{
    switch (kind) {
    case PARADOX_KIND_UNSTRUCTURED: return 2 * n;
    case PARADOX_KIND_FREE_FERMION: return 2 * n - 1;
    default: return 3;
    }
}

/* Gates per layer (the cost unit of the progress estimate and the depth
 * cap); the two-body permutation gate counts one pass per Z_q Z_r term. */
double paradox_gates_per_layer(int kind, unsigned n)
{
    switch (kind) {
    case PARADOX_KIND_UNSTRUCTURED: return 4.0 * n - 1.0;
    case PARADOX_KIND_FREE_FERMION: return 3.0 * n - 1.0;
    default: return 2.0 * n + (double)n * (n - 1) / 2.0 + 2.0 * n;
    }
}

/* ---- streams and intervals ---------------------------------------------------------- */

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t paradox_mix(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t state = seed;
    uint64_t x = splitmix(&state) ^ a;
    state = x;
    x = splitmix(&state) ^ b;
    state = x;
    return splitmix(&state);
}

double paradox_uniform(uint64_t *state)
{
    return (double)(splitmix(state) >> 11) * 0x1.0p-53;
}

double paradox_t975(unsigned dof)
{
    static const double t[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                 2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                 2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    return dof >= 1 && dof <= 30 ? t[dof - 1] : 1.96;
}

void paradox_wilson(unsigned k, unsigned m, double *lo, double *hi)
{
    if (m == 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    const double z = 1.959963984540054;
    double p = (double)k / m, denom = 1.0 + z * z / m;
    double centre = (p + z * z / (2.0 * m)) / denom;
    double half = z * sqrt(p * (1.0 - p) / m + z * z / (4.0 * m * (double)m)) / denom;
    *lo = fmax(0.0, centre - half);
    *hi = fmin(1.0, centre + half);
}

void paradox_mean_interval(const double *x, size_t m, double *mean, double *lo, double *hi)
{
    double s = 0.0;
    for (size_t i = 0; i < m; i++)
        s += x[i];
    *mean = m ? s / (double)m : (double)NAN;
    if (m < 2) {
        *lo = *hi = *mean;
        return;
    }
    double ss = 0.0;
    for (size_t i = 0; i < m; i++)
        ss += (x[i] - *mean) * (x[i] - *mean);
    double half = paradox_t975((unsigned)(m - 1)) * sqrt(ss / (double)(m - 1)) / sqrt((double)m);
    *lo = fmax(0.0, *mean - half);
    *hi = fmin(1.0, *mean + half);
}

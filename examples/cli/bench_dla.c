/*
 * bench_dla.c: `qml bench dla [--quick] [--json]`: dimension and seconds of
 * the Lie closure (with its structure analysis) for the families of issue 5,
 * and for the general-sum families a dense-matrix closure measured in the
 * same run at small n and extrapolated with its cost model.
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum family {
    FAMILY_HEA,        /* {X_i, Y_i, Z_i Z_{i+1}} */
    FAMILY_TFIM,       /* {X_i, Z_i Z_{i+1}} open */
    FAMILY_TFIM_GLOBAL,/* {sum X_i, sum Z_i Z_{i+1}} periodic */
    FAMILY_HEISENBERG, /* {X_i X_{i+1} + Y_i Y_{i+1} + Z_i Z_{i+1}} open */
    FAMILY_SN          /* {sum X_i, sum Z_i, sum_{i<j} Z_i Z_j} */
} family;

static const char *family_name(family f)
{
    static const char *names[] = {"hea {X_i,Y_i,Z_iZ_i+1}", "tfim {X_i,Z_iZ_i+1}", "tfim-global {SX,SZZ} periodic",
                                  "heisenberg {XX+YY+ZZ}", "sn {SX,SZ,SZ_iZ_j}"};
    return names[f];
}

/* Append "sep OP_i" terms to a growing text. */
static int append(char **text, size_t *length, size_t *capacity, const char *piece)
{
    size_t n = strlen(piece);
    if (*length + n + 1 > *capacity) {
        size_t cap = *capacity ? 2 * *capacity : 256;
        while (cap < *length + n + 1)
            cap *= 2;
        char *t = realloc(*text, cap);
        if (!t)
            return QML_ERR_OUT_OF_MEMORY;
        *text = t;
        *capacity = cap;
    }
    memcpy(*text + *length, piece, n + 1);
    *length += n;
    return 0;
}

/* The generators of a family as texts, one per generator. */
static int family_generators(family f, unsigned n, qml_pauli_sum ***out, size_t *count)
{
    size_t cap = 3 * (size_t)n + 4;
    qml_pauli_sum **g = calloc(cap, sizeof *g);
    char *text = NULL;
    size_t length = 0, capacity = 0, k = 0;
    char piece[160];
    int status = g ? 0 : QML_ERR_OUT_OF_MEMORY;
#define EMIT()                                                                  \
    do {                                                                        \
        if (!status)                                                            \
            status = qml_pauli_sum_parse(&g[k], n, text);                       \
        if (!status)                                                            \
            k++;                                                                \
        length = 0;                                                             \
    } while (0)
#define PIECE(...)                                                              \
    do {                                                                        \
        snprintf(piece, sizeof piece, __VA_ARGS__);                             \
        if (!status)                                                            \
            status = append(&text, &length, &capacity, piece);                  \
    } while (0)
    switch (f) {
    case FAMILY_HEA:
        for (unsigned i = 0; i < n; i++) {
            PIECE("X%u", i);
            EMIT();
            PIECE("Y%u", i);
            EMIT();
        }
        for (unsigned i = 0; i + 1 < n; i++) {
            PIECE("Z%u Z%u", i, i + 1);
            EMIT();
        }
        break;
    case FAMILY_TFIM:
        for (unsigned i = 0; i < n; i++) {
            PIECE("X%u", i);
            EMIT();
        }
        for (unsigned i = 0; i + 1 < n; i++) {
            PIECE("Z%u Z%u", i, i + 1);
            EMIT();
        }
        break;
    case FAMILY_TFIM_GLOBAL:
        for (unsigned i = 0; i < n; i++)
            PIECE("%sX%u", i ? " + " : "", i);
        EMIT();
        for (unsigned i = 0; i < n; i++)
            PIECE("%sZ%u Z%u", i ? " + " : "", i, (i + 1) % n);
        EMIT();
        break;
    case FAMILY_HEISENBERG:
        for (unsigned i = 0; i + 1 < n; i++) {
            PIECE("X%u X%u + Y%u Y%u + Z%u Z%u", i, i + 1, i, i + 1, i, i + 1);
            EMIT();
        }
        break;
    case FAMILY_SN:
        for (unsigned i = 0; i < n; i++)
            PIECE("%sX%u", i ? " + " : "", i);
        EMIT();
        for (unsigned i = 0; i < n; i++)
            PIECE("%sZ%u", i ? " + " : "", i);
        EMIT();
        for (unsigned i = 0; i < n; i++)
            for (unsigned j = i + 1; j < n; j++)
                PIECE("%sZ%u Z%u", (i || j > 1) ? " + " : "", i, j);
        EMIT();
        break;
    }
#undef EMIT
#undef PIECE
    free(text);
    if (status) {
        for (size_t i = 0; i < k; i++)
            qml_pauli_sum_free(g[i]);
        free(g);
        return status;
    }
    *out = g;
    *count = k;
    return 0;
}

/* ---- the dense-matrix closure (the baseline) --------------------------------- */

/* Lie closure on dense 2^n x 2^n complex matrices: bracket each new element
 * with each generator (two matrix products), Gram-Schmidt twice against the
 * basis of vectorised matrices. Returns the dimension, or 0 on failure. */
static size_t dense_closure(qml_pauli_sum **generators, size_t count, unsigned n)
{
    size_t d = (size_t)1 << n, len = 2 * d * d, cap = (size_t)1 << (2 * n);
    double *basis = malloc(cap * len * sizeof *basis);
    double *gens = malloc(count * len * sizeof *gens);
    double *cand = malloc(len * sizeof *cand), *ab = malloc(len * sizeof *ab), *ba = malloc(len * sizeof *ba);
    size_t dim = 0;
    if (!basis || !gens || !cand || !ab || !ba)
        goto done;
    for (size_t k = 0; k < count; k++)
        if (qml_pauli_sum_to_dense(generators[k], gens + k * len, len))
            goto done;
    for (size_t step = 0;; step++) {
        if (step < count) {
            memcpy(cand, gens + step * len, len * sizeof *cand);
        } else {
            size_t a = (step - count) / count, k = (step - count) % count;
            if (a >= dim)
                break;
            const double *g = gens + k * len, *b = basis + a * len;
            memset(ab, 0, len * sizeof *ab);
            memset(ba, 0, len * sizeof *ba);
            for (size_t i = 0; i < d; i++)
                for (size_t l = 0; l < d; l++) {
                    double gr = g[2 * (i * d + l)], gi = g[2 * (i * d + l) + 1];
                    double br = b[2 * (i * d + l)], bi = b[2 * (i * d + l) + 1];
                    for (size_t j = 0; j < d; j++) {
                        double xr = b[2 * (l * d + j)], xi = b[2 * (l * d + j) + 1];
                        double yr = g[2 * (l * d + j)], yi = g[2 * (l * d + j) + 1];
                        ab[2 * (i * d + j)] += gr * xr - gi * xi;
                        ab[2 * (i * d + j) + 1] += gr * xi + gi * xr;
                        ba[2 * (i * d + j)] += br * yr - bi * yi;
                        ba[2 * (i * d + j) + 1] += br * yi + bi * yr;
                    }
                }
            for (size_t i = 0; i < d * d; i++) {
                cand[2 * i] = ab[2 * i + 1] - ba[2 * i + 1];
                cand[2 * i + 1] = -(ab[2 * i] - ba[2 * i]);
            }
        }
        double norm0 = 0;
        for (size_t i = 0; i < len; i++)
            norm0 += cand[i] * cand[i];
        norm0 = sqrt(norm0);
        if (norm0 < 1e-10)
            continue;
        for (int pass = 0; pass < 2; pass++)
            for (size_t b = 0; b < dim; b++) {
                double c = 0;
                for (size_t i = 0; i < len; i++)
                    c += basis[b * len + i] * cand[i];
                for (size_t i = 0; i < len; i++)
                    cand[i] -= c * basis[b * len + i];
            }
        double norm = 0;
        for (size_t i = 0; i < len; i++)
            norm += cand[i] * cand[i];
        norm = sqrt(norm);
        if (norm > 1e-9 * norm0 && dim < cap) {
            for (size_t i = 0; i < len; i++)
                basis[dim * len + i] = cand[i] / norm;
            dim++;
        }
    }
done:
    free(basis);
    free(gens);
    free(cand);
    free(ab);
    free(ba);
    return dim;
}

/* Dense cost model: (dim * K) candidates, each two products (2 * 8^n complex
 * multiply-adds) and two projections against up to dim vectors of 2 * 4^n. */
static double dense_cost(size_t dim, size_t count, unsigned n)
{
    double d = ldexp(1.0, (int)n);
    return (double)dim * (double)count * (2.0 * d * d * d * 4.0 + 2.0 * 2.0 * (double)dim * 2.0 * d * d);
}

typedef struct row {
    family f;
    unsigned n;
    size_t dim, center, ideals;
    double seconds;
    double dense_seconds; /* measured, or extrapolated; < 0 if not applicable */
    bool dense_measured;
} row;

int bench_dla(int argc, char **argv)
{
    bool quick = false, json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = true;
        else if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: qml bench dla [--quick] [--json]\n");
            return 0;
        } else
            return cli_usage_error("bench dla: unknown option '%s'", argv[i]);
    }
    static const unsigned hea_full[] = {4, 5, 6, 7, 8, 9, 10}, hea_quick[] = {4, 5, 6, 7, 8};
    static const unsigned tfim_full[] = {10, 20, 50}, tfim_quick[] = {10, 20};
    static const unsigned heis_full[] = {4, 5, 6, 7}, heis_quick[] = {4, 5};
    static const unsigned sn_full[] = {6, 7, 8, 9}, sn_quick[] = {6, 7};
    struct {
        family f;
        const unsigned *ns;
        size_t count;
        unsigned dense_n; /* measure the dense closure at this n (0: none) */
    } plan[] = {
        {FAMILY_HEA, quick ? hea_quick : hea_full, quick ? 5u : 7u, 0},
        {FAMILY_TFIM, quick ? tfim_quick : tfim_full, quick ? 2u : 3u, 0},
        {FAMILY_TFIM_GLOBAL, quick ? tfim_quick : tfim_full, quick ? 2u : 3u, 5},
        {FAMILY_HEISENBERG, quick ? heis_quick : heis_full, quick ? 2u : 4u, 4},
        {FAMILY_SN, quick ? sn_quick : sn_full, quick ? 2u : 4u, 4},
    };
    row rows[32];
    size_t n_rows = 0;
    if (!json)
        printf("%-30s %4s %10s %7s %7s %10s %14s %9s\n", "family", "n", "dim", "centre", "ideals", "seconds",
               "dense seconds", "speed-up");
    for (size_t p = 0; p < sizeof plan / sizeof plan[0]; p++) {
        double dense_rate = 0; /* seconds per cost-model unit, measured */
        if (plan[p].dense_n) {
            qml_pauli_sum **g = NULL;
            size_t count = 0;
            unsigned n = plan[p].dense_n;
            int status = family_generators(plan[p].f, n, &g, &count);
            if (status)
                return cli_fail("bench dla", status);
            double t0 = cli_seconds();
            size_t dim = dense_closure(g, count, n);
            double seconds = cli_seconds() - t0;
            dense_rate = seconds / dense_cost(dim, count, n);
            if (!json)
                printf("%-30s %4u %10zu %7s %7s %10s %14.4f %9s  (dense closure, measured)\n",
                       family_name(plan[p].f), n, dim, "-", "-", "-", seconds, "-");
            for (size_t k = 0; k < count; k++)
                qml_pauli_sum_free(g[k]);
            free(g);
        }
        for (size_t i = 0; i < plan[p].count; i++) {
            unsigned n = plan[p].ns[i];
            qml_pauli_sum **g = NULL;
            size_t count = 0;
            int status = family_generators(plan[p].f, n, &g, &count);
            if (status)
                return cli_fail("bench dla", status);
            qml_lie_algebra *a = NULL;
            double t0 = cli_seconds();
            status = qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)g, count, NULL);
            double seconds = cli_seconds() - t0;
            row r = {plan[p].f, n, qml_lie_algebra_dim(a), qml_lie_algebra_center_dim(a),
                     qml_lie_algebra_n_ideals(a), seconds, -1.0, false};
            if (plan[p].dense_n) {
                r.dense_seconds = dense_rate * dense_cost(r.dim, count, n);
                r.dense_measured = false;
            }
            qml_lie_algebra_free(a);
            for (size_t k = 0; k < count; k++)
                qml_pauli_sum_free(g[k]);
            free(g);
            if (status)
                return cli_fail("bench dla", status);
            if (n_rows < sizeof rows / sizeof rows[0])
                rows[n_rows++] = r;
            if (!json) {
                char dense[32] = "-", speed[32] = "-";
                if (r.dense_seconds >= 0) {
                    snprintf(dense, sizeof dense, "%.3g (est.)", r.dense_seconds);
                    snprintf(speed, sizeof speed, "%.2gx", r.dense_seconds / (seconds > 1e-6 ? seconds : 1e-6));
                }
                printf("%-30s %4u %10zu %7zu %7zu %10.4f %14s %9s\n", family_name(r.f), n, r.dim, r.center,
                       r.ideals, seconds, dense, speed);
                fflush(stdout);
            }
        }
    }
    if (json) {
        printf("{\"benchmark\": \"dla\", \"quick\": %s, \"rows\": [", quick ? "true" : "false");
        for (size_t i = 0; i < n_rows; i++)
            printf("%s{\"family\": \"%s\", \"n\": %u, \"dim\": %zu, \"center_dim\": %zu, \"ideals\": %zu, "
                   "\"seconds\": %.6f, \"dense_seconds_estimate\": %.6g}",
                   i ? ", " : "", family_name(rows[i].f), rows[i].n, rows[i].dim, rows[i].center, rows[i].ideals,
                   rows[i].seconds, rows[i].dense_seconds);
        printf("]}\n");
    } else {
        printf("seconds: closure plus structure analysis, one thread. dense seconds: a dense-matrix closure measured\n"
               "at the small n shown, extrapolated with its cost model dim*K*(8*8^n + 8*dim*4^n).\n");
    }
    return 0;
}

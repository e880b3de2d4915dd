/*
 * bench_dla.c: `qml bench dla [--quick] [--json] [--threads T] [--structure-work W]`: dimension
 * and seconds of the Lie closure (and of closure plus structure analysis) for
 * the template families; for the general-sum families a dense-matrix
 * closure measured in the same run at every n where it is feasible
 * (n <= 6), extrapolated with its cost model only beyond.
 */
#include "cli.h"
#include "json.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef enum family {
    FAMILY_HEA,        /* {X_i, Y_i, Z_i Z_{i+1}} */
    FAMILY_TFIM,       /* {X_i, Z_i Z_{i+1}} open */
    FAMILY_TFIM_GLOBAL,/* {sum X_i, sum Z_i Z_{i+1}} periodic */
    FAMILY_HEISENBERG, /* {X_i X_{i+1} + Y_i Y_{i+1} + Z_i Z_{i+1}} open */
    FAMILY_SN          /* {sum X_i, sum Z_i, sum_{i<j} Z_i Z_j} */
} family;

/* Frees an array of generators and the array. */
static void free_generators(qml_pauli_sum **g, size_t count)
{
    for (size_t i = 0; i < count; i++)
        qml_pauli_sum_free(g[i]);
    free(g);
}

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
        free_generators(g, k);
        return status;
    }
    *out = g;
    *count = k;
    return 0;
}

/* ---- the dense-matrix closure (the baseline) --------------------------------- */

/* c += a b for complex row-major d x d matrices (interleaved re/im), in axpy
 * form: plain dense arithmetic, no use of the sparsity of Pauli sums. */
static void complex_matmul_add(size_t d, const double *a, const double *b, double *c)
{
    for (size_t i = 0; i < d; i++)
        for (size_t l = 0; l < d; l++) {
            double ar = a[2 * (i * d + l)], ai = a[2 * (i * d + l) + 1];
            const double *brow = b + 2 * l * d;
            double *crow = c + 2 * i * d;
            for (size_t j = 0; j < d; j++) {
                crow[2 * j] += ar * brow[2 * j] - ai * brow[2 * j + 1];
                crow[2 * j + 1] += ar * brow[2 * j + 1] + ai * brow[2 * j];
            }
        }
}

/* Lie closure on dense 2^n x 2^n complex matrices, the same algorithm as the
 * library's general closure in the dense representation: bracket each basis
 * element with each generator (two matrix products), Gram-Schmidt twice
 * against the basis of vectorised matrices, accept on a relative residual.
 * Returns the dimension, or 0 on failure. */
static size_t dense_closure(qml_pauli_sum **generators, size_t count, unsigned n)
{
    size_t d = (size_t)1 << n, len = 2 * d * d, cap = 64;
    double *basis = malloc(cap * len * sizeof *basis);
    double *gens = malloc(count * len * sizeof *gens);
    double *cand = malloc(len * sizeof *cand), *ab = malloc(len * sizeof *ab), *ba = malloc(len * sizeof *ba);
    size_t dim = 0;
    if (!basis || !gens || !cand || !ab || !ba)
        goto fail;
    for (size_t k = 0; k < count; k++)
        if (qml_pauli_sum_to_dense(generators[k], gens + k * len, len))
            goto fail;
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
            complex_matmul_add(d, g, b, ab);
            complex_matmul_add(d, b, g, ba);
            /* -i (GB - BG) */
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
        if (norm > 1e-9 * norm0) {
            if (dim == cap) {
                double *nb = realloc(basis, 2 * cap * len * sizeof *nb);
                if (!nb)
                    goto fail;
                basis = nb;
                cap *= 2;
            }
            for (size_t i = 0; i < len; i++)
                basis[dim * len + i] = cand[i] / norm;
            dim++;
        }
    }
    goto done;
fail:
    dim = 0;
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
    double closure_seconds; /* the closure alone (until the "structure" progress stage) */
    double seconds;         /* closure plus structure analysis */
    double dense_seconds;   /* measured, or extrapolated; < 0 if not applicable */
    bool dense_measured;
} row;

/* Progress callback: remember when the structure analysis starts. */
static int mark_structure(const char *stage, size_t done, size_t total, void *user)
{
    (void)done;
    (void)total;
    double *when = user;
    if (!strcmp(stage, "structure") && *when < 0)
        *when = cli_seconds();
    return 0;
}

/* The library closure of family f at n qubits into *r. */
static int run_library(family f, unsigned n, unsigned n_threads, row *r)
{
    qml_pauli_sum **g = NULL;
    size_t count = 0;
    int status = family_generators(f, n, &g, &count);
    if (status)
        return status;
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    double structure_start = -1.0;
    options.n_threads = n_threads;
    options.progress = mark_structure;
    options.progress_user = &structure_start;
    qml_lie_algebra *a = NULL;
    double t0 = cli_seconds();
    status = qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)g, count, &options);
    double t1 = cli_seconds();
    *r = (row){f, n, qml_lie_algebra_dim(a), qml_lie_algebra_center_dim(a), qml_lie_algebra_n_ideals(a),
               (structure_start >= 0 ? structure_start : t1) - t0, t1 - t0, -1.0, false};
    qml_lie_algebra_free(a);
    free_generators(g, count);
    return status;
}

/* The dense closure of family f at n qubits: seconds, and the dimension it found. */
static int run_dense(family f, unsigned n, double *seconds, size_t *dim, size_t *count)
{
    qml_pauli_sum **g = NULL;
    int status = family_generators(f, n, &g, count);
    if (status)
        return status;
    double t0 = cli_seconds();
    *dim = dense_closure(g, *count, n);
    *seconds = cli_seconds() - t0;
    free_generators(g, *count);
    return *dim ? 0 : QML_ERR_OUT_OF_MEMORY;
}

/* ---- exactness, structure and classification rows ------------------------------------ */

/* Peak resident memory of this process so far, in MB (Linux: ru_maxrss in KB). */
static double peak_mb(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage))
        return -1.0;
    return (double)usage.ru_maxrss / 1024.0;
}

/* The library's own heap, counted by an allocator installed around the S_n
 * rows (no handle alive then): current and peak bytes. Each block carries
 * its size in a 16-byte header (keeps malloc's alignment). */
static atomic_size_t heap_now, heap_peak;
static bool heap_counting;

static void heap_count(size_t add, size_t sub)
{
    size_t now = add >= sub ? atomic_fetch_add(&heap_now, add - sub) + (add - sub)
                            : atomic_fetch_sub(&heap_now, sub - add) - (sub - add);
    size_t peak = atomic_load(&heap_peak);
    while (now > peak && !atomic_compare_exchange_weak(&heap_peak, &peak, now))
        ;
}

static void *heap_malloc(size_t size, void *user)
{
    (void)user;
    size_t *p = malloc(size + 16);
    if (!p)
        return NULL;
    p[0] = size;
    heap_count(size, 0);
    return (char *)p + 16;
}

static void *heap_realloc(void *ptr, size_t size, void *user)
{
    if (!ptr)
        return heap_malloc(size, user);
    size_t *p = (size_t *)((char *)ptr - 16), old = p[0];
    size_t *q = realloc(p, size + 16);
    if (!q)
        return NULL;
    q[0] = size;
    heap_count(size, old);
    return (char *)q + 16;
}

static void heap_free(void *ptr, void *user)
{
    (void)user;
    if (!ptr)
        return;
    size_t *p = (size_t *)((char *)ptr - 16);
    heap_count(0, p[0]);
    free(p);
}

/* Start counting (no libqml handle may be alive); heap_stop restores the C
 * library's allocator. */
static int heap_start(void)
{
    static const qml_allocator counting = {sizeof(qml_allocator), heap_malloc, heap_realloc, heap_free, NULL};
    atomic_store(&heap_now, 0);
    atomic_store(&heap_peak, 0);
    int status = qml_set_allocator(&counting);
    heap_counting = status == 0;
    return status;
}

static void heap_stop(void)
{
    if (heap_counting)
        qml_set_allocator(NULL);
    heap_counting = false;
}

/* The memory column: the library's peak heap during the row when counted,
 * else the process's peak resident memory so far. */
static double row_mb(void)
{
    return heap_counting ? (double)atomic_load(&heap_peak) / (1024.0 * 1024.0) : peak_mb();
}

/* Generators from lines of text (one generator per string). */
static int parse_all(unsigned n, char **texts, size_t count, qml_pauli_sum **out)
{
    for (size_t k = 0; k < count; k++) {
        int status = qml_pauli_sum_parse(&out[k], n, texts[k]);
        if (status)
            return status;
    }
    return 0;
}

/* One structure row: close, time, print dim / centre / ideals (and the expected). */
/* --structure-work: the budget of the iterative structure analysis (0: the
 * library's default), for the rows that take it (the XY chains). */
static double bench_structure_work = 0;

static int structure_row(const char *label, unsigned n, qml_pauli_sum **g, size_t count, const char *expected,
                         cli_json *json)
{
    qml_lie_algebra *a = NULL;
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.structure_max_work = bench_structure_work;
    double t0 = cli_seconds();
    int status = qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)g, count, &options);
    double seconds = cli_seconds() - t0;
    if (status) {
        qml_lie_algebra_free(a);
        return status;
    }
    qml_lie_conditioning c = QML_LIE_CONDITIONING_INIT;
    qml_lie_algebra_conditioning(a, &c);
    char ideals[200] = "";
    size_t m = qml_lie_algebra_n_ideals(a);
    for (size_t j = 0; j < m && strlen(ideals) + 16 < sizeof ideals; j++) {
        size_t dim = 0;
        qml_lie_algebra_ideal(a, j, &dim, NULL, NULL);
        char piece[24];
        snprintf(piece, sizeof piece, "%s%zu", j ? "+" : "", dim);
        strcat(ideals, piece);
    }
    /* every simple ideal certified simple by the classification of the strings */
    bool by_classification = m > 0;
    for (size_t j = 0; j < m; j++) {
        qml_lie_certificate cert = QML_LIE_CERTIFICATE_NONE;
        qml_lie_algebra_ideal_certificate(a, j, &cert);
        by_classification = by_classification && (cert & QML_LIE_CERTIFICATE_CLASSIFICATION);
    }
    if (by_classification && strlen(ideals) + 8 < sizeof ideals)
        strcat(ideals, " (cl.)");
    if (!qml_lie_algebra_structure_known(a)) {
        qml_lie_structure_state state = QML_LIE_STRUCTURE_UNRESOLVED;
        size_t cap = 0;
        qml_lie_algebra_structure_state(a, &state, &cap);
        if (state == QML_LIE_STRUCTURE_ABOVE_CAP)
            snprintf(ideals, sizeof ideals, "(not computed: above the cap %zu)", cap);
        else if (c.largest_rejected > 1e-3)
            snprintf(ideals, sizeof ideals, "(not computed: basis not closed)");
        else
            snprintf(ideals, sizeof ideals, "(unresolved)");
    }
    if (json) {
        cli_json_object_begin(json);
        cli_json_kv_string(json, "case", label);
        cli_json_kv_u64(json, "n", n);
        cli_json_kv_u64(json, "dim", qml_lie_algebra_dim(a));
        cli_json_kv_u64(json, "centre_dim", qml_lie_algebra_center_dim(a));
        cli_json_kv_string(json, "ideal_dims", ideals);
        cli_json_kv_bool(json, "certified", c.certified);
        cli_json_kv_bool(json, "simple_by_classification", by_classification);
        cli_json_kv_string(json, "expected", expected);
        cli_json_kv_number(json, "seconds", seconds);
        cli_json_kv_number(json, "peak_mb", row_mb());
        cli_json_object_end(json);
    } else
        printf("%-26s %4u %7zu %6zu %-40s %9s %-40s %9.4f %8.0f\n", label, n, qml_lie_algebra_dim(a),
               qml_lie_algebra_center_dim(a), ideals, c.certified ? "yes" : "no", expected, seconds, row_mb());
    qml_lie_algebra_free(a);
    return 0;
}

/* Classify the `count` generators g (the first `made` of them built; `status`
 * nonzero if building failed) five times; free them; the median time. */
static int classify_timed(qml_pauli_sum **g, size_t count, size_t made, int status, qml_dla_summary *summary,
                          double *seconds)
{
    double times[5];
    for (int r = 0; r < 5 && !status; r++) {
        double t0 = cli_seconds();
        status = qml_pauli_dla_classify((const qml_pauli_sum *const *)g, count, summary);
        times[r] = cli_seconds() - t0;
    }
    free_generators(g, made);
    if (!status)
        *seconds = cli_median(times, 5);
    return status;
}

/* The classification rows: HEA strings (X_q, Y_q, Z_q Z_q+1: su(2^n), the
 * locality criterion) or the free-fermion TFIM chain (X_q, Z_q Z_q+1: so(2n),
 * the frustration graph is a path), median of 5 calls. */
static int classify_row(unsigned n, bool fermions, cli_json *json)
{
    size_t count = (fermions ? 2 : 3) * (size_t)n - 1;
    qml_pauli_sum **g = calloc(count, sizeof *g);
    char text[48];
    int status = g ? 0 : QML_ERR_OUT_OF_MEMORY;
    size_t k = 0;
    for (unsigned q = 0; q < n && !status; q++) {
        snprintf(text, sizeof text, "X%u", q);
        status = qml_pauli_sum_parse(&g[k++], n, text);
        snprintf(text, sizeof text, "Y%u", q);
        if (!status && !fermions)
            status = qml_pauli_sum_parse(&g[k++], n, text);
    }
    for (unsigned q = 0; q + 1 < n && !status; q++) {
        snprintf(text, sizeof text, "Z%u Z%u", q, q + 1);
        status = qml_pauli_sum_parse(&g[k++], n, text);
    }
    qml_dla_summary summary = {.size = sizeof summary};
    double seconds = 0.0;
    status = classify_timed(g, count, k, status, &summary, &seconds);
    if (status)
        return status;
    char dim[32];
    if (fermions)
        snprintf(dim, sizeof dim, "%.0f", summary.dimension);
    else
        snprintf(dim, sizeof dim, "4^n-1");
    if (json) {
        cli_json_object_begin(json);
        cli_json_kv_string(json, "case", fermions ? "classify free fermions" : "classify hea");
        cli_json_kv_u64(json, "n", n);
        cli_json_kv_string(json, "name", summary.name);
        cli_json_kv_number(json, "log2_dim", summary.log2_dimension);
        cli_json_kv_number(json, "seconds", seconds);
        cli_json_object_end(json);
    } else
        printf("%-26s %4u %7s %6zu %-40s %9s %-40s %9.5f %8.0f\n",
               fermions ? "classify tfim (strings)" : "classify hea (strings)", n, dim, summary.centre_dim,
               summary.name, "-", fermions ? "so(2n)" : "su(2^n)", seconds, peak_mb());
    return 0;
}

/* Classification rows for the classes decided by cycles and the
 * quadratic-form criterion (docs/lie.md), at n qubits, median of 5 calls:
 * the periodic TFIM ring, the "real" HEA strings (Y_q, Y_q Z_q+1, Z_q Y_q+1),
 * the same plus X_0, the comb (Y_q, X_q Y_q+1) and X X, Y Y, Z Z bonds. */
enum { CL_RING, CL_REAL_HEA, CL_REAL_HEA_X, CL_COMB, CL_XYZ, CL_COUNT };

/* The generators of one class row (kind < CL_COUNT), or of the HEA
 * strings (X_q, Y_q, Z_q Z_q+1) for kind == CL_COUNT. */
static int class_generators(int kind, unsigned n, qml_pauli_sum ***out, size_t *out_count)
{
    size_t cap = 3 * (size_t)n + 1, count = 0;
    qml_pauli_sum **g = calloc(cap, sizeof *g);
    int status = g ? 0 : QML_ERR_OUT_OF_MEMORY;
    char text[64];
#define ADD(...)                                                                                                     \
    do {                                                                                                             \
        snprintf(text, sizeof text, __VA_ARGS__);                                                                    \
        if (!status)                                                                                                 \
            status = qml_pauli_sum_parse(&g[count++], n, text);                                                      \
    } while (0)
    for (unsigned q = 0; q < n && !status; q++) {
        bool last = q + 1 == n;
        switch (kind) {
        case CL_RING:
            ADD("X%u", q);
            ADD("Z%u Z%u", q, last ? 0 : q + 1);
            break;
        case CL_REAL_HEA:
        case CL_REAL_HEA_X:
            ADD("Y%u", q);
            if (!last) {
                ADD("Y%u Z%u", q, q + 1);
                ADD("Z%u Y%u", q, q + 1);
            }
            if (kind == CL_REAL_HEA_X && q == 0)
                ADD("X0");
            break;
        case CL_COMB:
            ADD("Y%u", q);
            if (!last)
                ADD("X%u Y%u", q, q + 1);
            break;
        case CL_XYZ:
            if (!last) {
                ADD("X%u X%u", q, q + 1);
                ADD("Y%u Y%u", q, q + 1);
                ADD("Z%u Z%u", q, q + 1);
            }
            break;
        default:
            ADD("X%u", q);
            ADD("Y%u", q);
            if (!last)
                ADD("Z%u Z%u", q, q + 1);
            break;
        }
    }
#undef ADD
    if (status) {
        free_generators(g, count);
        return status;
    }
    *out = g;
    *out_count = count;
    return 0;
}

static int classify_class_row(int kind, unsigned n, cli_json *json)
{
    static const char *labels[CL_COUNT] = {"classify tfim ring", "classify real hea", "classify real hea + X0",
                                           "classify comb", "classify XX,YY,ZZ bonds"};
    static const char *expected[CL_COUNT] = {"so(2n) + so(2n)", "so(2^n)", "su(2^n)", "sp(2^(n-2)) + u(1)",
                                             "4 x su(2^(n-2)) (n even)"};
    qml_pauli_sum **g = NULL;
    size_t count = 0;
    int status = class_generators(kind, n, &g, &count);
    if (status)
        return status;
    qml_dla_summary summary = {.size = sizeof summary};
    double seconds = 0.0;
    status = classify_timed(g, count, count, status, &summary, &seconds);
    if (status)
        return status;
    char dim[32];
    if (summary.dimension < 1e15)
        snprintf(dim, sizeof dim, "%.0f", summary.dimension);
    else
        snprintf(dim, sizeof dim, "2^%.1f", summary.log2_dimension);
    if (json) {
        cli_json_object_begin(json);
        cli_json_kv_string(json, "case", labels[kind]);
        cli_json_kv_u64(json, "n", n);
        cli_json_kv_string(json, "name", summary.name);
        cli_json_kv_number(json, "log2_dim", summary.log2_dimension);
        cli_json_kv_number(json, "seconds", seconds);
        cli_json_object_end(json);
    } else
        printf("%-26s %4u %7s %6zu %-40s %9s %-40s %9.5f %8.0f\n", labels[kind], n, dim, summary.centre_dim,
               summary.name, "-", expected[kind], seconds, peak_mb());
    return 0;
}

/* The prediction rows: Var[l] for |0...0> and O = Z0 Z1 (Z0 for the HEA)
 * from the classification, without a basis (qml_pauli_dla_predict_variance),
 * median of 5 calls, at n qubits. */
static int predict_row(int kind, unsigned n, cli_json *json)
{
    static const char *labels[CL_COUNT + 1] = {"predict tfim ring",  "predict real hea", "predict real hea + X0",
                                               "predict comb",       "predict XX,YY,ZZ bonds", "predict hea"};
    qml_pauli_sum **g = NULL, *o = NULL;
    size_t count = 0;
    int status = class_generators(kind, n, &g, &count);
    if (status)
        return status;
    status = qml_pauli_sum_parse(&o, n, kind == CL_COUNT ? "Z0" : "Z0 Z1");
    qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
    double times[5];
    int ps = QML_OK;
    for (int r = 0; r < 5 && !status; r++) {
        double t0 = cli_seconds();
        ps = qml_pauli_dla_predict_variance((const qml_pauli_sum *const *)g, count, o, NULL, NULL, &p);
        times[r] = cli_seconds() - t0;
        if (ps && ps != QML_ERR_NOT_APPLICABLE)
            status = ps;
    }
    free_generators(g, count);
    qml_pauli_sum_free(o);
    if (status)
        return status;
    double seconds = cli_median(times, 5);
    char var[48];
    if (ps)
        snprintf(var, sizeof var, "not applicable");
    else
        snprintf(var, sizeof var, "Var[l] = %.6g", p.loss_variance);
    if (json) {
        cli_json_object_begin(json);
        cli_json_kv_string(json, "case", labels[kind]);
        cli_json_kv_u64(json, "n", n);
        cli_json_kv_number(json, "loss_variance", ps ? (double)NAN : p.loss_variance);
        cli_json_kv_number(json, "seconds", seconds);
        cli_json_object_end(json);
    } else
        printf("%-26s %4u %7s %6s %-40s %9s %-40s %9.5f %8.0f\n", labels[kind], n, "-", "-", var, "-",
               kind == CL_COUNT ? "1/(2^n+1)" : (kind == CL_RING ? "1/(2(2n-1))" : "-"), seconds, peak_mb());
    return 0;
}

/* The structure rows: exact permutation-equivariant
 * dimensions against C(n+3,3) - floor(n/2), the 2x3 TFIM lattice, so(2n) from
 * the open TFIM chain, and the classification of HEA and free-fermion strings. */
static int bench_structure(bool quick, cli_json *json)
{
    static const unsigned sn_quick[] = {10, 12}, sn_full[] = {10, 12, 16, 20};
    const unsigned *sn = quick ? sn_quick : sn_full;
    size_t n_sn = quick ? 2 : 4;
    if (json) {
        cli_json_key(json, "structure_rows");
        cli_json_array_begin(json);
    }
    else
        printf("\n%-26s %4s %7s %6s %-40s %9s %-40s %9s %8s\n", "case", "n", "dim", "centre", "ideal dims",
               "certified", "expected", "seconds", "peak MB");
    int status = 0;
    for (size_t i = 0; i < n_sn && !status; i++) {
        unsigned n = sn[i];
        qml_pauli_sum **g = NULL;
        size_t count = 0;
        status = heap_start();
        if (!status)
            status = family_generators(FAMILY_SN, n, &g, &count);
        /* Schur-Weyl: the spin-j blocks of the symmetric operators give
         * su(n+1) + su(n-1) + ... (down to su(2) or su(3)) + u(1), of
         * dimension C(n+3,3) - floor(n/2) */
        char expected[200];
        int used = snprintf(expected, sizeof expected, "%zu = c1 ",
                            (size_t)(n + 3) * (n + 2) * (n + 1) / 6 - n / 2);
        for (unsigned m = n + 1; m >= 2 && used > 0 && (size_t)used < sizeof expected; m -= 2)
            used += snprintf(expected + used, sizeof expected - (size_t)used, "%s%u", m == n + 1 ? "" : "+",
                             m * m - 1);
        if (!status)
            status = structure_row("sn {SX,SZ,SZ_iZ_j}", n, g, count, expected, json);
        free_generators(g, count);
        heap_stop();
    }
    if (!status) {
        char *texts[] = {"X0", "X1", "X2", "X3", "X4", "X5", "Z0 Z1", "Z1 Z2", "Z3 Z4", "Z4 Z5", "Z0 Z3", "Z1 Z4", "Z2 Z5"};
        qml_pauli_sum *g[13] = {0};
        status = parse_all(6, texts, 13, g);
        if (!status)
            status = structure_row("tfim 2x3 lattice", 6, g, 13, "528+528: sp(16) twice", json);
        for (size_t k = 0; k < 13; k++)
            qml_pauli_sum_free(g[k]);
    }
    if (!status) {
        qml_pauli_sum **g = NULL;
        size_t count = 0;
        status = family_generators(FAMILY_TFIM, 30, &g, &count);
        if (!status)
            status = structure_row("tfim chain = so(2n)", 30, g, count, "so(60): dim 1770", json);
        free_generators(g, count);
    }
    /* The same algebras from Pauli sums (each generator but the last
     * replaced by its sum with the next: the same span, a basis that is not
     * made of strings): the dense analysis of general algebras. */
    if (!status && !quick) {
        char *texts[] = {"X0 + X1",       "X1 + X2",       "X2 + X3",       "X3 + X4",       "X4 + X5",
                         "X5 + Z0 Z1",    "Z0 Z1 + Z1 Z2", "Z1 Z2 + Z3 Z4", "Z3 Z4 + Z4 Z5", "Z4 Z5 + Z0 Z3",
                         "Z0 Z3 + Z1 Z4", "Z1 Z4 + Z2 Z5", "Z2 Z5"};
        qml_pauli_sum *g[13] = {0};
        status = parse_all(6, texts, 13, g);
        if (!status)
            status = structure_row("tfim 2x3 lattice (sums)", 6, g, 13, "528+528: sp(16) twice", json);
        for (size_t k = 0; k < 13; k++)
            qml_pauli_sum_free(g[k]);
    }
    /* One cluster of general sums that strings do not span: the open
     * Heisenberg chain (Marvian, Nat. Phys. 18, 283 (2022)): su(m_J) on each
     * spin-J sector of multiplicity m_J = C(n,k) - C(n,k-1), J = n/2 - k,
     * plus a centre of one; n = 8 is 1426, the dense analysis. */
    static const unsigned heis_rows[] = {7, 8};
    for (size_t i = 0; i < 2 && !status && !quick; i++) {
        unsigned n = heis_rows[i];
        qml_pauli_sum **g = NULL;
        size_t count = 0;
        status = heap_start();
        if (!status)
            status = family_generators(FAMILY_HEISENBERG, n, &g, &count);
        char expected[200];
        size_t total = 1, c_prev = 0, c = 1;
        int used = 0;
        for (unsigned k = 0; 2 * k <= n; k++) {
            if (k)
                c = c * (n - k + 1) / k; /* C(n, k) */
            size_t m = c - c_prev;
            c_prev = c;
            if (m < 2)
                continue;
            total += m * m - 1;
            used += snprintf(expected + used, sizeof expected - (size_t)used, "%ssu(%zu)", used ? "+" : "", m);
            if (used < 0 || (size_t)used >= sizeof expected - 40)
                break;
        }
        char full[260];
        snprintf(full, sizeof full, "%zu: %s+u(1)", total, expected);
        if (!status)
            status = structure_row("heisenberg chain (sums)", n, g, count, full, json);
        free_generators(g, count);
        heap_stop();
    }
    /* so(2n) from sums: so(60) (dim 1770) and so(80) (dim 3160, below the
     * cap of the dense analysis: its time and peak memory). */
    static const unsigned so_sums[] = {30, 40};
    for (size_t i = 0; i < 2 && !status && !quick; i++) {
        unsigned n = so_sums[i];
        qml_pauli_sum **g = NULL;
        size_t count = 0;
        status = family_generators(FAMILY_TFIM, n, &g, &count);
        for (size_t k = 0; k + 1 < count && !status; k++)
            status = qml_pauli_sum_add(g[k], 1.0, g[k + 1]);
        char expected[64];
        snprintf(expected, sizeof expected, "so(%u): dim %u", 2 * n, n * (2 * n - 1));
        if (!status)
            status = structure_row("tfim chain = so(2n) (sums)", n, g, count, expected, json);
        free_generators(g, count);
    }
    /* Above the cap, algebras spanned by Pauli strings (the structure from
     * the strings, no dense matrix): so(144) from sums (dim 10296) and the
     * TFIM ring from sums at n = 51 (so(102) + so(102) = 10302), with the
     * library's peak heap; then an algebra above the cap that is not spanned
     * by strings (so(92) from sums beside a Heisenberg chain on three more
     * qubits, and so(144) from sums beside one on five more: 10336): decided
     * cluster by cluster (commuting generators). */
    for (int big = 0; big < 4 && !status && !quick; big++) {
        unsigned n = big == 0 || big == 3 ? 72 : big == 1 ? 51 : 46,
                 width = big == 2 ? 49 : big == 3 ? 77 : n;
        size_t count = 2 * (size_t)n - 1; /* X_0..X_n-1, Z_i Z_i+1 */
        status = heap_start();
        qml_pauli_sum *g[160] = {0};
        size_t made = 0;
        /* the chain's strings (the ring: and Z_n-1 Z_0), each summed with the next, on `width` qubits */
        char text[96], a[40], b[40];
        size_t total = count + (big == 1);
        for (size_t k = 0; k < total && !status; k++) {
            for (int side = 0; side < 2; side++) {
                size_t j = k + (size_t)side;
                char *out = side ? b : a;
                if (j >= total)
                    out[0] = '\0';
                else if (j < n)
                    snprintf(out, sizeof a, "X%zu", j);
                else if (j < count)
                    snprintf(out, sizeof a, "Z%zu Z%zu", j - n, j - n + 1);
                else
                    snprintf(out, sizeof a, "Z%u Z0", n - 1);
            }
            snprintf(text, sizeof text, "%s%s%s", a, b[0] ? " + " : "", b);
            status = qml_pauli_sum_parse(&g[made], width, text);
            made += status == 0;
        }
        /* the Heisenberg chain X X + Y Y + Z Z on the qubits n .. width-1 */
        for (unsigned q = n; q + 1 < width && !status; q++) {
            snprintf(text, sizeof text, "X%u X%u + Y%u Y%u + Z%u Z%u", q, q + 1, q, q + 1, q, q + 1);
            status = qml_pauli_sum_parse(&g[made], width, text);
            made += status == 0;
        }
        static const char *labels[] = {"so(144) (sums)", "tfim ring n=51 (sums)", "so(92) + heisenberg(3)",
                                       "so(144) + heisenberg(5)"};
        static const char *expected[] = {"so(144): dim 10296", "5151+5151: so(102) twice",
                                         "4186+3: so(92) + su(2) + u(1)", "10296+24+15: so(144)+su(5)+su(4)+u(1)"};
        if (!status)
            status = structure_row(labels[big], width, g, made, expected[big], json);
        for (size_t k = 0; k < made; k++)
            qml_pauli_sum_free(g[k]);
        heap_stop();
    }
    /* The XY chain with fields (X_i X_i+1 + Y_i Y_i+1 per bond, Z_i): u(n) =
     * su(n) + u(1), not spanned by strings and one cluster, so above the
     * dense cap the sector route decides it (lie_sector.c), with the
     * library's peak heap: n = 64 (4096) and n = 100 (10^4). */
    static const unsigned xy[] = {64, 100};
    for (size_t i = 0; i < 2 && !status && !quick; i++) {
        unsigned n = xy[i];
        status = heap_start();
        qml_pauli_sum **g = calloc(2 * (size_t)n, sizeof *g);
        size_t made = 0;
        if (!g)
            status = QML_ERR_OUT_OF_MEMORY;
        char text[64];
        for (unsigned q = 0; q < n && !status; q++) {
            if (q + 1 < n) {
                snprintf(text, sizeof text, "X%u X%u + Y%u Y%u", q, q + 1, q, q + 1);
                status = qml_pauli_sum_parse(&g[made], n, text);
                made += status == 0;
            }
            snprintf(text, sizeof text, "Z%u", q);
            if (!status)
                status = qml_pauli_sum_parse(&g[made], n, text);
            made += status == 0;
        }
        char label[48], expected[96];
        snprintf(label, sizeof label, "xy chain + fields n=%u", n);
        snprintf(expected, sizeof expected, "%zu: su(%u)+u(1)", (size_t)n * n, n);
        if (!status)
            status = structure_row(label, n, g, made, expected, json);
        if (g)
            free_generators(g, made);
        heap_stop();
    }
    /* The TFIM ring as single strings (X_q, Z_q Z_q+1 periodic): the
     * Pauli-string analysis, its component split by the parity symmetry
     * into so(2n) + so(2n) with sparse ideals (m 2^k coordinates), at
     * n = 51 (10302) and n = 500 (999000 strings), with the library's peak heap. */
    static const unsigned ring[] = {51, 500};
    for (size_t i = 0; i < 2 && !status && !quick; i++) {
        unsigned n = ring[i];
        status = heap_start();
        qml_pauli_sum **g = calloc(2 * (size_t)n, sizeof *g);
        size_t made = 0;
        if (!g)
            status = QML_ERR_OUT_OF_MEMORY;
        char text[48];
        for (unsigned q = 0; q < n && !status; q++) {
            snprintf(text, sizeof text, "X%u", q);
            status = qml_pauli_sum_parse(&g[made], n, text);
            made += status == 0;
            snprintf(text, sizeof text, "Z%u Z%u", q, (q + 1) % n);
            if (!status)
                status = qml_pauli_sum_parse(&g[made], n, text);
            made += status == 0;
        }
        char label[48], expected[96];
        snprintf(label, sizeof label, "tfim ring n=%u (strings)", n);
        snprintf(expected, sizeof expected, "%zu+%zu: so(%u) twice", (size_t)n * (2 * n - 1),
                 (size_t)n * (2 * n - 1), 2 * n);
        if (!status)
            status = structure_row(label, n, g, made, expected, json);
        if (g)
            free_generators(g, made);
        heap_stop();
    }
    static const unsigned cl[] = {50, 100, 1000};
    for (size_t i = 0; i < 3 && !status; i++)
        status = classify_row(cl[i], false, json);
    if (!status)
        status = classify_row(1000, true, json);
    for (int kind = 0; kind < CL_COUNT && !status; kind++)
        status = classify_class_row(kind, 1000, json);
    for (int kind = 0; kind <= CL_COUNT && !status; kind++)
        status = predict_row(kind, 1000, json);
    if (json)
        cli_json_array_end(json);
    else
        printf("certified: the dimension decided exactly and confirmed in floating point; peak MB: for the sn and "
               "heisenberg chain rows and the rows\nfrom so(144) on, the library's peak heap during the row (a counting allocator), for "
               "the others the\nprocess's peak resident memory so far (ru_maxrss); classify: median of 5 calls; (cl.): every "
               "simple ideal\ncertified simple by the classification of the strings (qml_lie_algebra_ideal_certificate).\n");
    return status;
}

int bench_dla(int argc, char **argv)
{
    bool quick = false, json = false;
    unsigned n_threads = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = true;
        else if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (!cli_parse_unsigned(argv[++i], &n_threads))
                return cli_usage_error("bench dla: --threads needs a count, not '%s'", argv[i]);
        } else if (!strcmp(argv[i], "--structure-work") && i + 1 < argc) {
            char *end = NULL;
            bench_structure_work = strtod(argv[++i], &end);
            if (!end || *end || !(bench_structure_work >= 0))
                return cli_usage_error("bench dla: --structure-work needs a number >= 0, not '%s'", argv[i]);
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: qml bench dla [--quick] [--json] [--threads T] [--structure-work W]\n");
            return 0;
        } else
            return cli_usage_error("bench dla: unknown option '%s'", argv[i]);
    }
    cli_idle_check idle;
    cli_idle_check_begin(&idle);
    static const unsigned hea_full[] = {4, 5, 6, 7, 8, 9, 10}, hea_quick[] = {4, 5, 6, 7, 8};
    static const unsigned tfim_full[] = {10, 20, 50}, tfim_quick[] = {10, 20};
    static const unsigned tfimg_full[] = {4, 5, 6, 10, 20, 50}, tfimg_quick[] = {4, 5, 10, 20};
    static const unsigned heis_full[] = {4, 5, 6, 7}, heis_quick[] = {4, 5};
    static const unsigned sn_full[] = {4, 5, 6, 7, 8, 9}, sn_quick[] = {4, 5, 6, 7};
    /* The dense closure is measured at every listed n <= dense_max (its
     * basis alone is dim * 2 * 4^n doubles; n = 6 takes seconds) and
     * extrapolated from the largest measured n beyond. */
    unsigned dense_max = quick ? 5u : 6u;
    struct {
        family f;
        const unsigned *ns;
        size_t count;
        bool dense;
    } plan[] = {
        {FAMILY_HEA, quick ? hea_quick : hea_full, quick ? 5u : 7u, false},
        {FAMILY_TFIM, quick ? tfim_quick : tfim_full, quick ? 2u : 3u, false},
        {FAMILY_TFIM_GLOBAL, quick ? tfimg_quick : tfimg_full, quick ? 4u : 6u, true},
        {FAMILY_HEISENBERG, quick ? heis_quick : heis_full, quick ? 2u : 4u, true},
        {FAMILY_SN, quick ? sn_quick : sn_full, quick ? 4u : 6u, true},
    };
    row rows[40];
    size_t n_rows = 0;
    if (!json)
        printf("%-30s %4s %7s %6s %6s %10s %10s %16s %10s\n", "family", "n", "dim", "centre", "ideals",
               "closure s", "total s", "dense closure s", "speed-up");
    for (size_t p = 0; p < sizeof plan / sizeof plan[0]; p++) {
        double dense_rate = -1.0; /* seconds per cost-model unit at the largest measured n */
        for (size_t i = 0; i < plan[p].count; i++) {
            unsigned n = plan[p].ns[i];
            row r;
            int status = run_library(plan[p].f, n, n_threads, &r);
            if (status)
                return cli_fail("bench dla", status);
            if (plan[p].dense) {
                size_t count = 0, dim = 0;
                if (n <= dense_max) {
                    double seconds = 0;
                    status = run_dense(plan[p].f, n, &seconds, &dim, &count);
                    if (status)
                        return cli_fail("bench dla: dense closure", status);
                    if (dim != r.dim) {
                        fprintf(stderr, "qml: bench dla: the dense closure found dim %zu, the library %zu (%s, n = %u)\n",
                                dim, r.dim, family_name(plan[p].f), n);
                        return 1;
                    }
                    r.dense_seconds = seconds;
                    r.dense_measured = true;
                    dense_rate = seconds / dense_cost(dim, count, n);
                } else if (dense_rate > 0) {
                    qml_pauli_sum **g = NULL;
                    if ((status = family_generators(plan[p].f, n, &g, &count)))
                        return cli_fail("bench dla", status);
                    free_generators(g, count);
                    r.dense_seconds = dense_rate * dense_cost(r.dim, count, n);
                }
            }
            if (n_rows < sizeof rows / sizeof rows[0])
                rows[n_rows++] = r;
            if (!json) {
                char dense[32] = "-", speed[32] = "-";
                if (r.dense_seconds >= 0) {
                    snprintf(dense, sizeof dense, "%.3g %s", r.dense_seconds, r.dense_measured ? "(meas.)" : "(est.)");
                    double c = r.closure_seconds > 1e-6 ? r.closure_seconds : 1e-6;
                    snprintf(speed, sizeof speed, "%.3gx", r.dense_seconds / c);
                }
                printf("%-30s %4u %7zu %6zu %6zu %10.4f %10.4f %16s %10s\n", family_name(r.f), n, r.dim, r.center,
                       r.ideals, r.closure_seconds, r.seconds, dense, speed);
                fflush(stdout);
            }
        }
    }
    if (json) {
        cli_json out;
        cli_json_begin(&out, stdout, "bench-dla", argc, argv);
        cli_json_kv_bool(&out, "quick", quick);
        cli_json_kv_u64(&out, "threads", n_threads);
        cli_json_key(&out, "rows");
        cli_json_array_begin(&out);
        for (size_t i = 0; i < n_rows; i++) {
            cli_json_object_begin(&out);
            cli_json_kv_string(&out, "family", family_name(rows[i].f));
            cli_json_kv_u64(&out, "n", rows[i].n);
            cli_json_kv_u64(&out, "dim", rows[i].dim);
            cli_json_kv_u64(&out, "centre_dim", rows[i].center);
            cli_json_kv_u64(&out, "ideals", rows[i].ideals);
            cli_json_kv_number(&out, "closure_seconds", rows[i].closure_seconds);
            cli_json_kv_number(&out, "seconds", rows[i].seconds);
            /* null when neither measured nor estimated (was -1) */
            cli_json_kv_number(&out, "dense_seconds", rows[i].dense_seconds >= 0 ? rows[i].dense_seconds : (double)NAN);
            cli_json_kv_bool(&out, "dense_measured", rows[i].dense_measured);
            cli_json_object_end(&out);
        }
        cli_json_array_end(&out);
        int status = bench_structure(quick, &out);
        if (status)
            return cli_fail("bench dla", status);
        cli_idle_check_end(&idle);
        cli_json_idle_check(&out, &idle);
        cli_json_end(&out);
    } else {
        printf("closure s: the Lie closure alone; total s: closure plus structure analysis (%u thread%s)\n"
               "plus, when the generators have a qubit-permutation symmetry (sn), the expansion of the basis\n"
               "from orbit sums to Pauli strings.\n"
               "dense closure s: the same closure on dense 2^n x 2^n matrices, measured (meas.) in this run at\n"
               "n <= %u, beyond that extrapolated (est.) from the largest measured n with its cost model\n"
               "dim*K*(8*8^n + 8*dim*4^n). speed-up: dense closure s / closure s.\n",
               n_threads, n_threads == 1 ? "" : "s", dense_max);
        int status = bench_structure(quick, NULL);
        if (status)
            return cli_fail("bench dla", status);
        cli_idle_check_end(&idle);
        cli_print_idle_check(&idle);
    }
    return 0;
}

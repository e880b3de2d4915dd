/*
 * dicke.c: the symmetric-subspace simulator. A circuit whose every gate
 * commutes with every permutation of the qubits, run on a permutation-
 * invariant state, never leaves the n + 1 Dicke states
 * |D_k> = C(n, k)^(-1/2) sum_{|b| = k} |b> (k qubits in |1>). The collective
 * operators act there as Hermitian tridiagonal matrices:
 *   sum_q Z_q |D_k> = (n - 2k) |D_k>,
 *   sum_{q<r} Z_q Z_r |D_k> = ((n - 2k)^2 - n)/2 |D_k>,
 *   <D_{k+1}| sum_q X_q |D_k> = sqrt((k + 1)(n - k)),
 *   <D_{k+1}| sum_q Y_q |D_k> = i sqrt((k + 1)(n - k)).
 * A gate exp(-i theta/2 H) with H = a X + b Y + diagonal (X, Y the sums) is
 * applied through H = P T P^dag, P = diag(w^k), w = (a + i b)/|a + i b|,
 * T real symmetric tridiagonal, T = V diag(lambda) V^T computed once per
 * distinct generator by cyclic Jacobi rotations (error: the orthogonality
 * and residual of V, both ~1e-15 (n + 1); the tests measure it against the
 * statevector). Rotations RX, RY, RZ of one angle on every qubit, one after
 * the other, are fused into the collective rotation they equal (they
 * commute). Gradients by adjoint differentiation in dimension n + 1.
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* c0 I + cx sum X + cy sum Y + cz sum Z + czz sum_{q<r} Z Z */
typedef struct dicke_op {
    double c0, cx, cy, cz, czz;
} dicke_op;

/* The eigenvectors of a generator's real tridiagonal T, split into the
 * blocks they live in: one block of N, or (when T commutes with the flip
 * |D_k> <-> |D_{n-k}>, i.e. cz = 0) the even and the odd block of about N/2
 * each, which halves the work of every product with them. */
typedef struct dicke_block {
    size_t size;          /* m */
    double *lambda;       /* m eigenvalues, ascending */
    double *v;            /* m x m, row-major: column j = eigenvector j (in the block's basis) */
    double *vt;           /* its transpose: row j = eigenvector j */
    bool equispaced;      /* lambda_j = lambda_0 + j step exactly (a rotated sum Z) */
    double step;
} dicke_block;

typedef struct dicke_basis {
    bool folded;          /* blocks: even (k + (n - k), and the middle), odd (k - (n - k)) */
    size_t n_blocks;
    dicke_block block[2];
} dicke_basis;

typedef struct dicke_generator {
    dicke_op op;
    double *d;            /* N: diagonal of H */
    double *u_re, *u_im;  /* N - 1: <k+1| H |k> */
    bool diagonal;        /* cx = cy = 0 */
    dicke_basis *basis;   /* the eigenvectors of T (not diagonal) */
    bool owns_basis;      /* false: borrowed from an earlier generator with the same T */
    double *p_re, *p_im;  /* N: w^k */
} dicke_generator;

typedef struct dicke_gate {
    size_t gate;          /* the circuit gate whose angle it takes (the first of a fused run) */
    size_t generator;
} dicke_gate;

struct qml__dicke {
    unsigned n_qubits;
    size_t dim;           /* N = n + 1 */
    const qml_circuit *circuit;
    size_t n_generators;
    dicke_generator *generators;
    size_t n_gates;
    dicke_gate *gates;
    dicke_generator observable;  /* its tridiagonal form (no eigenvectors) */
};

static void generator_release(dicke_generator *g)
{
    qml__free(g->d);
    qml__free(g->u_re);
    qml__free(g->u_im);
    if (g->basis && g->owns_basis) {
        for (size_t b = 0; b < g->basis->n_blocks; b++) {
            qml__free(g->basis->block[b].lambda);
            qml__free(g->basis->block[b].v);
            qml__free(g->basis->block[b].vt);
        }
        qml__free(g->basis);
    }
    qml__free(g->p_re);
    qml__free(g->p_im);
}

void qml__dicke_free(qml__dicke *sim)
{
    if (!sim)
        return;
    for (size_t i = 0; i < sim->n_generators; i++)
        generator_release(&sim->generators[i]);
    qml__free(sim->generators);
    qml__free(sim->gates);
    generator_release(&sim->observable);
    qml__free(sim);
}

size_t qml__dicke_dim(const qml__dicke *sim)
{
    return sim ? sim->dim : 0;
}

/* ---- classification of a Pauli sum ----------------------------------------- */

static unsigned string_weight(const qml_pauli_sum *s, size_t t, unsigned *first)
{
    unsigned weight = 0;
    *first = UINT32_MAX;
    for (unsigned w = 0; w < s->words; w++) {
        uint64_t bits = s->x[t * s->words + w] | s->z[t * s->words + w];
        if (bits && *first == UINT32_MAX)
            *first = 64 * w + (unsigned)__builtin_ctzll(bits);
        weight += (unsigned)__builtin_popcountll(bits);
    }
    return weight;
}

static unsigned letter_at(const qml_pauli_sum *s, size_t t, unsigned q)
{
    unsigned x = (unsigned)(s->x[t * s->words + q / 64] >> (q % 64) & 1u);
    unsigned z = (unsigned)(s->z[t * s->words + q / 64] >> (q % 64) & 1u);
    return x + 2 * z; /* 1 X, 2 Z, 3 Y */
}

/* Decompose `sum` into I, sum X, sum Y, sum Z, sum ZZ; false (with `why`) if
 * it is not such a combination. */
static bool classify(const qml_pauli_sum *sum, dicke_op *op, char *why, size_t why_size)
{
    unsigned n = sum->n_qubits;
    /* class 0 X, 1 Y, 2 Z, 3 ZZ */
    double coeff[4] = {0, 0, 0, 0};
    size_t count[4] = {0, 0, 0, 0};
    const size_t expected[4] = {n, n, n, (size_t)n * (n - 1) / 2};
    static const char *names[4] = {"sum_q X_q", "sum_q Y_q", "sum_q Z_q", "sum_{q<r} Z_q Z_r"};
    memset(op, 0, sizeof *op);
    for (size_t t = 0; t < sum->n_terms; t++) {
        unsigned first;
        unsigned weight = string_weight(sum, t, &first);
        int cls = -1;
        if (weight == 0) {
            op->c0 += sum->coeff[t];
            continue;
        }
        unsigned letter = letter_at(sum, t, first);
        if (weight == 1)
            cls = letter == 1 ? 0 : letter == 3 ? 1 : 2;
        else if (weight == 2) {
            bool zz = letter == 2;
            for (unsigned w = 0; w < sum->words; w++)
                zz = zz && sum->x[t * sum->words + w] == 0;
            if (zz)
                cls = 3;
        }
        if (cls < 0) {
            snprintf(why, why_size,
                     "term %zu acts on %u qubits and is not a Z Z pair: only sums of X, Y, Z and Z Z over all "
                     "qubits are supported",
                     t, weight);
            return false;
        }
        if (count[cls] > 0 && sum->coeff[t] != coeff[cls]) {
            snprintf(why, why_size, "the terms of %s have different coefficients (%.17g and %.17g)", names[cls],
                     coeff[cls], sum->coeff[t]);
            return false;
        }
        coeff[cls] = sum->coeff[t];
        count[cls]++;
    }
    for (int c = 0; c < 4; c++)
        if (count[c] && count[c] != expected[c]) {
            snprintf(why, why_size, "it holds %zu of the %zu terms of %s: not invariant under qubit permutations",
                     count[c], expected[c], names[c]);
            return false;
        }
    op->cx = coeff[0];
    op->cy = coeff[1];
    op->cz = coeff[2];
    op->czz = coeff[3];
    return true;
}

/* ---- the tridiagonal form and its eigenvectors ------------------------------------ */

static int tridiagonal_form(dicke_generator *g, unsigned n)
{
    size_t N = (size_t)n + 1;
    g->d = qml__malloc(N * sizeof *g->d);
    g->u_re = qml__malloc(N * sizeof *g->u_re);
    g->u_im = qml__malloc(N * sizeof *g->u_im);
    if (!g->d || !g->u_re || !g->u_im)
        return qml__oom("a symmetric-subspace operator");
    for (size_t k = 0; k < N; k++) {
        double m = (double)n - 2.0 * (double)k;
        g->d[k] = g->op.cz * m + g->op.czz * 0.5 * (m * m - (double)n);
        double r = k + 1 < N ? sqrt((double)(k + 1) * (double)(n - k)) : 0.0;
        g->u_re[k] = g->op.cx * r;
        g->u_im[k] = g->op.cy * r;
    }
    g->diagonal = g->op.cx == 0.0 && g->op.cy == 0.0;
    return QML_OK;
}

/* Eigen-decomposition of the real symmetric a (N x N, destroyed) by cyclic
 * Jacobi rotations (Golub & Van Loan, Matrix Computations, sec. 8.5): v gets
 * the eigenvectors as columns, lambda the eigenvalues. */
void qml__jacobi_eigen(size_t N, double *a, double *v, double *lambda)
{
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            v[i * N + j] = i == j ? 1.0 : 0.0;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0, total = 0.0;
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) {
                total += a[i * N + j] * a[i * N + j];
                if (i != j)
                    off += a[i * N + j] * a[i * N + j];
            }
        if (off <= 1e-32 * total || off == 0.0)
            break;
        for (size_t p = 0; p + 1 < N; p++)
            for (size_t q = p + 1; q < N; q++) {
                double apq = a[p * N + q];
                if (apq == 0.0)
                    continue;
                double theta = (a[q * N + q] - a[p * N + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (size_t k = 0; k < N; k++) { /* columns p, q */
                    double akp = a[k * N + p], akq = a[k * N + q];
                    a[k * N + p] = c * akp - s * akq;
                    a[k * N + q] = s * akp + c * akq;
                }
                for (size_t k = 0; k < N; k++) { /* rows p, q */
                    double apk = a[p * N + k], aqk = a[q * N + k];
                    a[p * N + k] = c * apk - s * aqk;
                    a[q * N + k] = s * apk + c * aqk;
                }
                for (size_t k = 0; k < N; k++) {
                    double vkp = v[k * N + p], vkq = v[k * N + q];
                    v[k * N + p] = c * vkp - s * vkq;
                    v[k * N + q] = s * vkp + c * vkq;
                }
            }
    }
    for (size_t i = 0; i < N; i++)
        lambda[i] = a[i * N + i];
}

/* Number of eigenvalues of the symmetric tridiagonal (d, e2 = e^2) below x:
 * the negative pivots of the LDL^T factorisation of T - x (Sylvester's law
 * of inertia; Golub & Van Loan, sec. 8.4.1). */
static size_t sturm_count(size_t m, const double *d, const double *e2, double x, double pivmin)
{
    size_t count = 0;
    double q = 1.0;
    for (size_t k = 0; k < m; k++) {
        q = d[k] - x - (k > 0 ? e2[k - 1] / q : 0.0);
        if (fabs(q) < pivmin)
            q = -pivmin;
        count += q < 0.0;
    }
    return count;
}

/* One eigenvector of the symmetric tridiagonal (d, e) for the eigenvalue
 * lambda, from the twisted factorisation T - lambda = N_r D_r N_r^T at the
 * twist r where |gamma_r| is smallest (Dhillon & Parlett, "Multiple
 * representations to compute orthogonal eigenvectors", 2004, sec. 3): x_r = 1
 * and the two bidiagonal solves outward from r, O(m). scratch: 2m. */
static void twisted_vector(size_t m, const double *d, const double *e, double lambda, double pivmin, double *x,
                           double *scratch)
{
    double *dp = scratch, *dm = scratch + m;
    for (size_t k = 0; k < m; k++) {
        dp[k] = d[k] - lambda - (k > 0 ? e[k - 1] * e[k - 1] / dp[k - 1] : 0.0);
        if (fabs(dp[k]) < pivmin)
            dp[k] = pivmin;
    }
    for (size_t k = m; k-- > 0;) {
        dm[k] = d[k] - lambda - (k + 1 < m ? e[k] * e[k] / dm[k + 1] : 0.0);
        if (fabs(dm[k]) < pivmin)
            dm[k] = pivmin;
    }
    size_t r = 0;
    double best = INFINITY;
    for (size_t k = 0; k < m; k++) {
        double gamma = fabs(dp[k] + dm[k] - (d[k] - lambda));
        if (gamma < best) {
            best = gamma;
            r = k;
        }
    }
    x[r] = 1.0;
    for (size_t k = r; k-- > 0;)
        x[k] = -e[k] * x[k + 1] / dp[k];
    for (size_t k = r; k + 1 < m; k++)
        x[k + 1] = -e[k] * x[k] / dm[k + 1];
    double norm = 0.0;
    for (size_t k = 0; k < m; k++)
        norm += x[k] * x[k];
    norm = 1.0 / sqrt(norm);
    for (size_t k = 0; k < m; k++)
        x[k] *= norm;
}

/* The eigenpairs of the block's tridiagonal (d, e): eigenvalues by
 * bisection on Sturm counts (each to a few ulp of |T|), eigenvectors by the
 * twisted factorisation: O(m^2) in all. If the eigenvectors come out less
 * orthogonal than 1e-12 (eigenvalues too close for the twisted solve to
 * separate), cyclic Jacobi on the block instead (O(m^3), exact to rounding
 * whatever the spectrum). `spacing` > 0: the spectrum is known to be
 * spacing/2 times integers of the parity of n (a rotated sum Z); the computed
 * eigenvalues (which agree to their bisection width) are replaced by the
 * exact ones so that the phases follow a recurrence. */
static int block_solve(dicke_block *blk, size_t m, const double *d, const double *e, double spacing, unsigned n)
{
    blk->size = m;
    blk->lambda = qml__malloc(m * sizeof *blk->lambda);
    blk->v = qml__malloc(qml__mul_size(qml__mul_size(m, m), sizeof *blk->v));
    blk->vt = qml__malloc(qml__mul_size(qml__mul_size(m, m), sizeof *blk->vt));
    double *scratch = qml__malloc(qml__mul_size(m, 3 * sizeof *scratch));
    if (!blk->lambda || !blk->v || !blk->vt || !scratch) {
        qml__free(scratch);
        return qml__oom("a symmetric-subspace generator");
    }
    double *e2 = scratch + 2 * m, norm = 0.0, lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < m; k++) {
        double left = k > 0 ? fabs(e[k - 1]) : 0.0, right = k + 1 < m ? fabs(e[k]) : 0.0;
        if (k + 1 < m)
            e2[k] = e[k] * e[k];
        lo = fmin(lo, d[k] - left - right);
        hi = fmax(hi, d[k] + left + right);
        norm = fmax(norm, fabs(d[k]) + left + right);
    }
    double pivmin = 1e-300 + DBL_EPSILON * DBL_EPSILON * norm;
    size_t found = 0;
    if (spacing > 0.0) {
        /* Known spectrum: keep the values (spacing/2) (2 j - n) that the
         * block holds, counted by Sturm on either side of each. */
        double half = 0.5 * spacing;
        for (unsigned j = 0; j <= n && found < m; j++) {
            double value = half * (2.0 * (double)j - (double)n);
            if (sturm_count(m, d, e2, value + 0.5 * half, pivmin) - sturm_count(m, d, e2, value - 0.5 * half, pivmin) ==
                1)
                blk->lambda[found++] = value;
        }
    }
    for (size_t j = 0; j < m && found != m; j++) { /* else: the j-th smallest eigenvalue by bisection */
        double a = lo, b = hi;
        for (int it = 0; it < 200 && b - a > 2.0 * DBL_EPSILON * fmax(fabs(a), fabs(b)) + pivmin; it++) {
            double mid = 0.5 * (a + b);
            if (mid <= a || mid >= b)
                break;
            if (sturm_count(m, d, e2, mid, pivmin) > j)
                b = mid;
            else
                a = mid;
        }
        blk->lambda[j] = 0.5 * (a + b);
    }
    for (size_t j = 0; j < m; j++) /* row j of vt: eigenvector j */
        twisted_vector(m, d, e, blk->lambda[j], pivmin, blk->vt + j * m, scratch);
    double worst = 0.0;
    for (size_t i = 0; i < m && worst <= 1e-12; i++)
        for (size_t j = i; j < m; j++) {
            double dot = 0.0;
            for (size_t k = 0; k < m; k++)
                dot += blk->vt[i * m + k] * blk->vt[j * m + k];
            worst = fmax(worst, fabs(dot - (i == j ? 1.0 : 0.0)));
        }
    if (worst > 1e-12) {
        double *a = qml__malloc(qml__mul_size(qml__mul_size(m, m), sizeof *a));
        if (!a) {
            qml__free(scratch);
            return qml__oom("a symmetric-subspace generator");
        }
        memset(a, 0, m * m * sizeof *a);
        for (size_t k = 0; k < m; k++) {
            a[k * m + k] = d[k];
            if (k + 1 < m)
                a[k * m + k + 1] = a[(k + 1) * m + k] = e[k];
        }
        qml__jacobi_eigen(m, a, blk->v, blk->lambda);
        qml__free(a);
        for (size_t i = 0; i + 1 < m; i++) { /* ascending (selection sort: once per block) */
            size_t best = i;
            for (size_t j = i + 1; j < m; j++)
                if (blk->lambda[j] < blk->lambda[best])
                    best = j;
            double t = blk->lambda[i];
            blk->lambda[i] = blk->lambda[best];
            blk->lambda[best] = t;
            for (size_t k = 0; k < m; k++) {
                t = blk->v[k * m + i];
                blk->v[k * m + i] = blk->v[k * m + best];
                blk->v[k * m + best] = t;
            }
        }
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < m; j++)
                blk->vt[j * m + i] = blk->v[i * m + j];
    } else {
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < m; j++)
                blk->v[i * m + j] = blk->vt[j * m + i];
    }
    qml__free(scratch);
    blk->equispaced = false;
    if (spacing > 0.0) {
        /* lambda = (spacing/2) (2 j - n) for integers j: snap to them. */
        double half = 0.5 * spacing;
        long previous = 0;
        blk->equispaced = true;
        for (size_t i = 0; i < m; i++) {
            long j = lround(0.5 * (blk->lambda[i] / half + (double)n));
            double exact = half * (2.0 * (double)j - (double)n);
            if (fabs(exact - blk->lambda[i]) > 1e-9 * norm)
                blk->equispaced = false;
            else
                blk->lambda[i] = exact;
            if (i == 1)
                blk->step = half * 2.0 * (double)(j - previous);
            else if (i > 1 && half * 2.0 * (double)(j - previous) != blk->step)
                blk->equispaced = false;
            previous = j;
        }
        if (m < 2)
            blk->equispaced = false;
    }
    return QML_OK;
}

/* `same` (may be NULL): the eigenvectors of an earlier generator with the
 * same T (same |a + ib|, cz, czz: e.g. ΣX and ΣY), borrowed. */
static int generator_prepare(dicke_generator *g, unsigned n, dicke_basis *same)
{
    int status = tridiagonal_form(g, n);
    if (status || g->diagonal)
        return status;
    size_t N = (size_t)n + 1;
    g->p_re = qml__malloc(N * sizeof *g->p_re);
    g->p_im = qml__malloc(N * sizeof *g->p_im);
    if (!g->p_re || !g->p_im)
        return qml__oom("a symmetric-subspace generator");
    double alpha = atan2(g->op.cy, g->op.cx);
    for (size_t k = 0; k < N; k++) {
        g->p_re[k] = cos((double)k * alpha);
        g->p_im[k] = sin((double)k * alpha);
    }
    if (same) {
        g->basis = same;
        g->owns_basis = false;
        return QML_OK;
    }
    g->basis = qml__calloc(1, sizeof *g->basis);
    g->owns_basis = true;
    double *t = qml__malloc(qml__mul_size(N, 4 * sizeof *t));
    if (!g->basis || !t) {
        qml__free(t);
        return qml__oom("a symmetric-subspace generator");
    }
    double *d = t, *e = t + N, *bd = t + 2 * N, *be = t + 3 * N;
    for (size_t k = 0; k < N; k++) {
        d[k] = g->d[k];
        e[k] = k + 1 < N ? hypot(g->u_re[k], g->u_im[k]) : 0.0;
    }
    /* a ΣX + b ΣY + c ΣZ is |(a, b, c)| times a rotated ΣZ: spectrum
     * |(a, b, c)| (2 j - n) exactly. */
    double spacing = g->op.czz == 0.0 ? 2.0 * sqrt(g->op.cx * g->op.cx + g->op.cy * g->op.cy + g->op.cz * g->op.cz)
                                      : 0.0;
    bool flip = true;
    for (size_t k = 0; k < N && flip; k++)
        flip = d[k] == d[N - 1 - k];
    g->basis->folded = flip && N >= 2;
    if (!g->basis->folded) {
        g->basis->n_blocks = 1;
        status = block_solve(&g->basis->block[0], N, d, e, spacing, n);
    } else {
        /* even: (|D_k> + |D_{n-k}>)/sqrt 2 for k < h, and |D_h> if N is odd;
         * odd: (|D_k> - |D_{n-k}>)/sqrt 2 for k < h. */
        size_t h = N / 2, even = (N + 1) / 2;
        g->basis->n_blocks = 2;
        for (size_t k = 0; k < even; k++) {
            bd[k] = d[k];
            be[k] = k + 1 < h ? e[k] : 0.0;
        }
        if (N % 2) {
            be[h - 1] = sqrt(2.0) * e[h - 1];
        } else {
            bd[h - 1] = d[h - 1] + e[h - 1];
        }
        status = block_solve(&g->basis->block[0], even, bd, be, spacing, n);
        for (size_t k = 0; k < h && !status; k++) {
            bd[k] = d[k];
            be[k] = k + 1 < h ? e[k] : 0.0;
        }
        if (N % 2 == 0)
            bd[h - 1] = d[h - 1] - e[h - 1];
        if (!status)
            status = block_solve(&g->basis->block[1], h, bd, be, spacing, n);
    }
    qml__free(t);
    return status;
}

/* ---- building ------------------------------------------------------------------ */

static int generator_index(qml__dicke *sim, const dicke_op *op, size_t *index)
{
    for (size_t i = 0; i < sim->n_generators; i++) {
        const dicke_op *o = &sim->generators[i].op;
        if (o->cx == op->cx && o->cy == op->cy && o->cz == op->cz && o->czz == op->czz) {
            *index = i;
            return QML_OK;
        }
    }
    dicke_generator *g = qml__realloc(sim->generators, (sim->n_generators + 1) * sizeof *g);
    if (!g)
        return qml__oom("the generators of the symmetric subspace");
    sim->generators = g;
    dicke_generator *fresh = &g[sim->n_generators];
    memset(fresh, 0, sizeof *fresh);
    fresh->op = *op;
    fresh->op.c0 = 0.0;
    dicke_basis *same = NULL;
    for (size_t i = 0; i < sim->n_generators && !same; i++) {
        const dicke_generator *o = &sim->generators[i];
        if (!o->diagonal && o->basis && hypot(o->op.cx, o->op.cy) == hypot(op->cx, op->cy) && o->op.cz == op->cz &&
            o->op.czz == op->czz)
            same = o->basis;
    }
    sim->n_generators++;
    *index = sim->n_generators - 1;
    return generator_prepare(fresh, sim->n_qubits, same);
}

static int push_gate(qml__dicke *sim, size_t *capacity, size_t gate, size_t generator)
{
    if (sim->n_gates == *capacity) {
        *capacity = *capacity ? 2 * *capacity : 64;
        dicke_gate *g = qml__realloc(sim->gates, qml__mul_size(*capacity, sizeof *g));
        if (!g)
            return qml__oom("the gates of the symmetric subspace");
        sim->gates = g;
    }
    sim->gates[sim->n_gates++] = (dicke_gate){gate, generator};
    return QML_OK;
}

/* a and b hold the same terms in the same order (a copy of one generator). */
static bool same_sum(const qml_pauli_sum *a, const qml_pauli_sum *b)
{
    if (!a || !b)
        return false;
    if (a == b)
        return true;
    size_t words = (size_t)a->n_terms * a->words;
    if (a->n_qubits != b->n_qubits || a->n_terms != b->n_terms || a->words != b->words)
        return false;
    return a->n_terms == 0 || (!memcmp(a->coeff, b->coeff, a->n_terms * sizeof *a->coeff) && !memcmp(a->x, b->x, words * sizeof *a->x) &&
           !memcmp(a->z, b->z, words * sizeof *a->z));
}

static bool same_angle(const qml__gate *a, const qml__gate *b)
{
    return a->constant == b->constant && a->weight == b->weight && a->weight_scale == b->weight_scale &&
           a->feature == b->feature && a->feature_scale == b->feature_scale;
}

/* Compile the circuit: each gate's generator is a collective operator, or a
 * one-qubit rotation that opens or continues a run of the same rotation on
 * every qubit. */
static int compile(qml__dicke *sim, const char *caller)
{
    const qml_circuit *circuit = sim->circuit;
    unsigned n = circuit->n_qubits;
    size_t capacity = 0;
    unsigned char *seen = qml__calloc(n, 1);
    if (!seen)
        return qml__oom("the symmetric-subspace compiler");
    int status = QML_OK;
    size_t run_start = SIZE_MAX;   /* first gate of the open run */
    unsigned run_count = 0;
    dicke_op run_op;
    const qml_pauli_sum *last_sum = NULL; /* the last multi-term generator classified, and its form */
    dicke_op last_op = {0, 0, 0, 0, 0};
    char why[256];
    for (size_t i = 0; i < circuit->n_gates && !status; i++) {
        const qml__gate *gate = &circuit->gates[i];
        if (!qml__gate_is_parametrised(gate->kind)) {
            if (gate->kind == QML_GATE_I)
                continue;
            status = qml__error(QML_ERR_NOT_APPLICABLE,
                                "%s: the symmetric backend does not apply: gate %zu is a fixed gate (kind %d)",
                                caller, i, (int)gate->kind);
            break;
        }
        /* RX, RY, RZ: exp(-i theta/2 P_q), read from the gate itself (no
         * generator to build: the model templates hold n of them per layer). */
        dicke_op op;
        unsigned first = 0;
        qml_pauli_sum *owned = NULL;
        const qml_pauli_sum *g = NULL;
        bool single = false;
        dicke_op one = {0, 0, 0, 0, 0};
        if ((gate->kind == QML_GATE_RX || gate->kind == QML_GATE_RY || gate->kind == QML_GATE_RZ) &&
            gate->n_targets == 1) {
            single = n > 1;
            first = gate->qubits[0];
            one.cx = gate->kind == QML_GATE_RX ? 1.0 : 0.0;
            one.cy = gate->kind == QML_GATE_RY ? 1.0 : 0.0;
            one.cz = gate->kind == QML_GATE_RZ ? 1.0 : 0.0;
        }
        if (!single) {
            /* Pauli gates own their generator: read it, do not copy it. */
            g = gate->generator;
            if (!g) {
                status = qml_circuit_gate_generator(circuit, i, &owned);
                if (status)
                    break;
                g = owned;
            }
            size_t non_identity = 0, term = 0;
            if (!same_sum(g, last_sum)) {
                for (size_t t = 0; t < g->n_terms && non_identity < 2; t++)
                    if (string_weight(g, t, &first) > 0) {
                        non_identity++;
                        term = t;
                    }
            }
            single = n > 1 && non_identity == 1 && string_weight(g, term, &first) == 1;
            if (single) {
                unsigned letter = letter_at(g, term, first);
                one.cx = letter == 1 ? g->coeff[term] : 0;
                one.cy = letter == 3 ? g->coeff[term] : 0;
                one.cz = letter == 2 ? g->coeff[term] : 0;
            }
        }
        if (single) {
            /* one rotation of a run of n */
            if (run_start == SIZE_MAX) {
                run_start = i;
                run_count = 0;
                run_op = one;
                memset(seen, 0, n);
            } else if (memcmp(&one, &run_op, sizeof one) != 0 || !same_angle(gate, &circuit->gates[run_start]) ||
                       seen[first]) {
                status = qml__error(QML_ERR_NOT_APPLICABLE,
                                    "%s: the symmetric backend does not apply: gate %zu breaks the run of equal "
                                    "one-qubit rotations that began at gate %zu after %u of %u qubits (not "
                                    "invariant under qubit permutations)",
                                    caller, i, run_start, run_count, n);
            }
            if (!status) {
                seen[first] = 1;
                if (++run_count == n) {
                    size_t index;
                    status = generator_index(sim, &run_op, &index);
                    if (!status)
                        status = push_gate(sim, &capacity, run_start, index);
                    run_start = SIZE_MAX;
                }
            }
        } else if (run_start != SIZE_MAX) {
            status = qml__error(QML_ERR_NOT_APPLICABLE,
                                "%s: the symmetric backend does not apply: the run of one-qubit rotations that began "
                                "at gate %zu stops at gate %zu after %u of %u qubits",
                                caller, run_start, i, run_count, n);
        } else if (!same_sum(g, last_sum) && !classify(g, &op, why, sizeof why)) {
            status = qml__error(QML_ERR_NOT_APPLICABLE,
                                "%s: the symmetric backend does not apply: the generator of gate %zu: %s", caller, i,
                                why);
        } else {
            if (same_sum(g, last_sum)) {
                op = last_op; /* the same generator as the last multi-term one: classified already */
            } else if (gate->generator) {
                /* remember it (only a generator the circuit owns outlives this step) */
                last_sum = gate->generator;
                last_op = op;
            }
            if (op.cx != 0 || op.cy != 0 || op.cz != 0 || op.czz != 0) {
                size_t index;
                status = generator_index(sim, &op, &index);
                if (!status)
                    status = push_gate(sim, &capacity, i, index);
            }
        }
        qml_pauli_sum_free(owned);
    }
    if (!status && run_start != SIZE_MAX)
        status = qml__error(QML_ERR_NOT_APPLICABLE,
                            "%s: the symmetric backend does not apply: the circuit ends inside the run of one-qubit "
                            "rotations that began at gate %zu (%u of %u qubits)",
                            caller, run_start, run_count, n);
    qml__free(seen);
    return status;
}

int qml__dicke_create(qml__dicke **out, const qml_circuit *circuit, const qml_pauli_sum *observable,
                      const char *caller)
{
    qml__dicke *sim = qml__calloc(1, sizeof *sim);
    if (!sim)
        return qml__oom("a symmetric-subspace plan");
    sim->n_qubits = circuit->n_qubits;
    sim->dim = (size_t)circuit->n_qubits + 1;
    sim->circuit = circuit;
    char why[256];
    int status = QML_OK;
    if (!classify(observable, &sim->observable.op, why, sizeof why))
        status = qml__error(QML_ERR_NOT_APPLICABLE, "%s: the symmetric backend does not apply: the readout: %s",
                            caller, why);
    if (!status)
        status = tridiagonal_form(&sim->observable, sim->n_qubits);
    if (!status)
        status = compile(sim, caller);
    if (status) {
        qml__dicke_free(sim);
        return status;
    }
    *out = sim;
    return QML_OK;
}

/* ---- initial state ------------------------------------------------------------- */

int qml__dicke_initial(const qml__dicke *sim, const qml_statevec *initial, double *psi, const char *caller)
{
    size_t N = sim->dim;
    memset(psi, 0, 2 * N * sizeof *psi);
    if (!initial) {
        psi[0] = 1.0; /* |0...0> = |D_0> */
        return QML_OK;
    }
    unsigned n = sim->n_qubits;
    const double *a = initial->amplitudes;
    for (uint64_t b = 0; b < initial->dim; b++) {
        unsigned k = (unsigned)__builtin_popcountll(b);
        psi[k] += a[2 * b];
        psi[N + k] += a[2 * b + 1];
    }
    double inside = 0.0, binomial = 1.0; /* C(n, k) */
    for (size_t k = 0; k < N; k++) {
        double r = 1.0 / sqrt(binomial);
        psi[k] *= r;
        psi[N + k] *= r;
        inside += psi[k] * psi[k] + psi[N + k] * psi[N + k];
        binomial = binomial * (double)(n - k) / (double)(k + 1);
    }
    if (fabs(1.0 - inside) > 1e-10)
        return qml__error(QML_ERR_NOT_APPLICABLE,
                          "%s: the symmetric backend does not apply: the initial state has %.3g %% of its weight "
                          "outside the symmetric subspace",
                          caller, 100.0 * (1.0 - inside));
    return QML_OK;
}

/* ---- kernels ------------------------------------------------------------------- */

size_t qml__dicke_work_doubles(const qml__dicke *sim)
{
    return 12 * sim->dim + sim->n_gates + 2 * sim->dim * (sim->n_gates + 1) + 1;
}

/* out = H psi for a tridiagonal H (re, im split arrays). */
static void tri_apply(const dicke_generator *g, size_t N, const double *pr, const double *pi, double *outr,
                      double *outi)
{
    for (size_t k = 0; k < N; k++) {
        double r = g->d[k] * pr[k], i = g->d[k] * pi[k];
        if (k > 0) { /* u_{k-1} psi_{k-1} */
            r += g->u_re[k - 1] * pr[k - 1] - g->u_im[k - 1] * pi[k - 1];
            i += g->u_re[k - 1] * pi[k - 1] + g->u_im[k - 1] * pr[k - 1];
        }
        if (k + 1 < N) { /* conj(u_k) psi_{k+1} */
            r += g->u_re[k] * pr[k + 1] + g->u_im[k] * pi[k + 1];
            i += g->u_re[k] * pi[k + 1] - g->u_im[k] * pr[k + 1];
        }
        outr[k] = r;
        outi[k] = i;
    }
}

/* The phases e^{-i theta/2 lambda_j} (values lambda: the eigenvalues), as
 * (c, s) pairs. Equispaced spectra use the recurrence p_{j+1} = p_j r,
 * re-started from sin/cos every 16 steps (error ~16 ulp). */
static void phases(const double *values, size_t N, bool equispaced, double step, double theta, double *c,
                   double *s)
{
    if (!equispaced) {
        for (size_t j = 0; j < N; j++) {
            c[j] = cos(0.5 * theta * values[j]);
            s[j] = -sin(0.5 * theta * values[j]);
        }
        return;
    }
    double rc = cos(0.5 * theta * step), rs = -sin(0.5 * theta * step);
    for (size_t j = 0; j < N; j++) {
        if ((j & 15u) == 0) {
            c[j] = cos(0.5 * theta * values[j]);
            s[j] = -sin(0.5 * theta * values[j]);
        } else {
            c[j] = c[j - 1] * rc - s[j - 1] * rs;
            s[j] = c[j - 1] * rs + s[j - 1] * rc;
        }
    }
}

/* The phases of a diagonal generator d_k = cz (n - 2k) + czz ((n - 2k)^2 - n)/2:
 * quadratic in k, so the ratio r_k = e^{-i theta/2 (d_{k+1} - d_k)} itself
 * advances by the constant e^{-i theta/2 4 czz}; both are re-started from
 * sin/cos every 16 steps (error ~100 ulp of the phase). */
static void diagonal_phases(const dicke_generator *g, size_t N, double theta, double *c, double *s)
{
    double h = -0.5 * theta;
    double ac = cos(h * 4.0 * g->op.czz), as = sin(h * 4.0 * g->op.czz);
    double rc = 1.0, rs = 0.0;
    for (size_t k = 0; k < N; k++) {
        if ((k & 15u) == 0) {
            c[k] = cos(h * g->d[k]);
            s[k] = sin(h * g->d[k]);
        } else {
            c[k] = c[k - 1] * rc - s[k - 1] * rs;
            s[k] = c[k - 1] * rs + s[k - 1] * rc;
            double t = rc * ac - rs * as;
            rs = rc * as + rs * ac;
            rc = t;
        }
        if ((k & 15u) == 0 && k + 1 < N) {
            rc = cos(h * (g->d[k + 1] - g->d[k]));
            rs = sin(h * (g->d[k + 1] - g->d[k]));
        }
    }
}

/* y = sum_i a_i M_i. (complex a = ar + i ai, real rows M_i of length m,
 * row-major m x m): four rows per pass, so that each y entry is loaded and
 * stored once per four rows; the j loop is unrolled by two for the
 * compiler's basic-block vectoriser at -O2. A fixed summation order. */
static void rows_combine(size_t m, const double *restrict M, const double *restrict ar, const double *restrict ai,
                         double *restrict yr, double *restrict yi)
{
    memset(yr, 0, m * sizeof *yr);
    memset(yi, 0, m * sizeof *yi);
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
        const double *r0 = M + i * m, *r1 = r0 + m, *r2 = r1 + m, *r3 = r2 + m;
        double a0 = ar[i], a1 = ar[i + 1], a2 = ar[i + 2], a3 = ar[i + 3];
        double b0 = ai[i], b1 = ai[i + 1], b2 = ai[i + 2], b3 = ai[i + 3];
        size_t j = 0;
        for (; j + 2 <= m; j += 2) {
            yr[j] += r0[j] * a0 + r1[j] * a1 + r2[j] * a2 + r3[j] * a3;
            yr[j + 1] += r0[j + 1] * a0 + r1[j + 1] * a1 + r2[j + 1] * a2 + r3[j + 1] * a3;
            yi[j] += r0[j] * b0 + r1[j] * b1 + r2[j] * b2 + r3[j] * b3;
            yi[j + 1] += r0[j + 1] * b0 + r1[j + 1] * b1 + r2[j + 1] * b2 + r3[j + 1] * b3;
        }
        for (; j < m; j++) {
            yr[j] += r0[j] * a0 + r1[j] * a1 + r2[j] * a2 + r3[j] * a3;
            yi[j] += r0[j] * b0 + r1[j] * b1 + r2[j] * b2 + r3[j] * b3;
        }
    }
    for (; i < m; i++) {
        const double *r0 = M + i * m;
        double a0 = ar[i], b0 = ai[i];
        for (size_t j = 0; j < m; j++) {
            yr[j] += r0[j] * a0;
            yi[j] += r0[j] * b0;
        }
    }
}

/* psi <- exp(-i theta/2 H) psi. scratch: 8N doubles. H = P T P^dag; in the
 * folded case T acts on the even and the odd combinations separately. */
static void evolve(const dicke_generator *g, size_t N, double theta, double *restrict pr, double *restrict pi,
                   double *restrict scratch)
{
    double *fr = scratch, *fi = scratch + N, *yr = scratch + 2 * N, *yi = scratch + 3 * N;
    double *pc = scratch + 4 * N, *ps = scratch + 5 * N;
    if (g->diagonal) {
        diagonal_phases(g, N, theta, pc, ps);
        for (size_t k = 0; k < N; k++) {
            double r = pr[k], i = pi[k];
            pr[k] = pc[k] * r - ps[k] * i;
            pi[k] = pc[k] * i + ps[k] * r;
        }
        return;
    }
    const dicke_basis *basis = g->basis;
    for (size_t i = 0; i < N; i++) { /* P^dag psi */
        double r = g->p_re[i] * pr[i] + g->p_im[i] * pi[i];
        double im = g->p_re[i] * pi[i] - g->p_im[i] * pr[i];
        pr[i] = r;
        pi[i] = im;
    }
    const double rs2 = 0.70710678118654752440; /* 1/sqrt 2 */
    size_t h = N / 2, even = (N + 1) / 2;
    if (basis->folded) {
        for (size_t k = 0; k < h; k++) {
            fr[k] = rs2 * (pr[k] + pr[N - 1 - k]);
            fi[k] = rs2 * (pi[k] + pi[N - 1 - k]);
            fr[even + k] = rs2 * (pr[k] - pr[N - 1 - k]);
            fi[even + k] = rs2 * (pi[k] - pi[N - 1 - k]);
        }
        if (N % 2) {
            fr[h] = pr[h];
            fi[h] = pi[h];
        }
    } else {
        memcpy(fr, pr, N * sizeof *fr);
        memcpy(fi, pi, N * sizeof *fi);
    }
    size_t offset = 0;
    for (size_t b = 0; b < basis->n_blocks; b++) {
        const dicke_block *blk = &basis->block[b];
        size_t m = blk->size;
        phases(blk->lambda, m, blk->equispaced, blk->step, theta, pc, ps);
        rows_combine(m, blk->v, fr + offset, fi + offset, yr, yi); /* y = V^T f */
        for (size_t j = 0; j < m; j++) {
            double r = pc[j] * yr[j] - ps[j] * yi[j], im = pc[j] * yi[j] + ps[j] * yr[j];
            yr[j] = r;
            yi[j] = im;
        }
        rows_combine(m, blk->vt, yr, yi, fr + offset, fi + offset); /* f = V y */
        offset += m;
    }
    if (basis->folded) {
        for (size_t k = 0; k < h; k++) {
            pr[k] = rs2 * (fr[k] + fr[even + k]);
            pi[k] = rs2 * (fi[k] + fi[even + k]);
            pr[N - 1 - k] = rs2 * (fr[k] - fr[even + k]);
            pi[N - 1 - k] = rs2 * (fi[k] - fi[even + k]);
        }
        if (N % 2) {
            pr[h] = fr[h];
            pi[h] = fi[h];
        }
    } else {
        memcpy(pr, fr, N * sizeof *pr);
        memcpy(pi, fi, N * sizeof *pi);
    }
    for (size_t i = 0; i < N; i++) { /* psi <- P psi */
        double r = pr[i], im = pi[i];
        pr[i] = g->p_re[i] * r - g->p_im[i] * im;
        pi[i] = g->p_re[i] * im + g->p_im[i] * r;
    }
}

int qml__dicke_evolve_collective(unsigned n, double cx, double cy, double cz, double czz, double theta,
                                 double *psi)
{
    size_t N = (size_t)n + 1;
    dicke_generator g;
    memset(&g, 0, sizeof g);
    g.op = (dicke_op){0, cx, cy, cz, czz};
    double *scratch = qml__malloc(qml__mul_size(N, 8 * sizeof *scratch));
    int status = scratch ? generator_prepare(&g, n, NULL) : qml__oom("a symmetric-subspace evolution");
    if (!status)
        evolve(&g, N, theta, psi, psi + N, scratch);
    generator_release(&g);
    qml__free(scratch);
    return status;
}

void qml__dicke_run(const qml__dicke *sim, const double *psi0, double *work, const double *weights,
                    const double *features, double *value, double *weight_gradient, double *feature_gradient)
{
    const qml_circuit *circuit = sim->circuit;
    size_t N = sim->dim;
    double *lr = work, *li = work + N, *tr = work + 2 * N, *ti = work + 3 * N, *scratch = work + 4 * N;
    double *theta = work + 12 * N;
    double *trajectory = theta + sim->n_gates; /* psi after gate i: 2N doubles each, psi0 first */
    for (size_t i = 0; i < sim->n_gates; i++)
        theta[i] = qml__gate_angle(&circuit->gates[sim->gates[i].gate], weights, features);
    memcpy(trajectory, psi0, 2 * N * sizeof *trajectory);
    for (size_t i = 0; i < sim->n_gates; i++) {
        double *next = trajectory + 2 * N * (i + 1);
        memcpy(next, next - 2 * N, 2 * N * sizeof *next);
        evolve(&sim->generators[sim->gates[i].generator], N, theta[i], next, next + N, scratch);
    }
    const double *pr = trajectory + 2 * N * sim->n_gates, *pi = pr + N;
    tri_apply(&sim->observable, N, pr, pi, lr, li);
    double loss = 0.0;
    for (size_t k = 0; k < N; k++)
        loss += pr[k] * lr[k] + pi[k] * li[k];
    loss += sim->observable.op.c0;
    if (value)
        *value = loss;
    if (!weight_gradient && !feature_gradient)
        return;
    if (weight_gradient)
        memset(weight_gradient, 0, circuit->n_weights * sizeof *weight_gradient);
    if (feature_gradient)
        memset(feature_gradient, 0, circuit->n_features * sizeof *feature_gradient);
    /* dl/dtheta_i = Im <lambda_i| G_i |psi_i>, psi_i the stored state after
     * gate i and lambda_i = U_{i+1}^dag ... U_L^dag O psi_L. */
    for (size_t i = sim->n_gates; i-- > 0;) {
        const dicke_generator *g = &sim->generators[sim->gates[i].generator];
        const double *qr = trajectory + 2 * N * (i + 1), *qi = qr + N;
        tri_apply(g, N, qr, qi, tr, ti);
        double d = 0.0;
        for (size_t k = 0; k < N; k++)
            d += lr[k] * ti[k] - li[k] * tr[k];
        const qml__gate *gate = &circuit->gates[sim->gates[i].gate];
        if (weight_gradient && gate->weight >= 0)
            weight_gradient[gate->weight] += gate->weight_scale * d;
        if (feature_gradient && gate->feature >= 0)
            feature_gradient[gate->feature] += gate->feature_scale * d;
        if (i > 0)
            evolve(g, N, -theta[i], lr, li, scratch);
    }
}

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

#include <math.h>
#include <stdio.h>
#include <string.h>

/* c0 I + cx sum X + cy sum Y + cz sum Z + czz sum_{q<r} Z Z */
typedef struct dicke_op {
    double c0, cx, cy, cz, czz;
} dicke_op;

typedef struct dicke_generator {
    dicke_op op;
    double *d;            /* N: diagonal of H */
    double *u_re, *u_im;  /* N - 1: <k+1| H |k> */
    bool diagonal;        /* cx = cy = 0 */
    double *lambda;       /* N eigenvalues of T (not diagonal) */
    double *v;            /* N x N, row-major: column j = eigenvector j */
    double *vt;           /* its transpose: row j = eigenvector j */
    bool equispaced;      /* lambda_j = lambda_0 + j step exactly (a ΣX, ΣY rotation) */
    double step;
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
    qml__free(g->lambda);
    qml__free(g->v);
    qml__free(g->vt);
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

/* `same` (may be NULL): an earlier generator with the same T (same
 * |a + ib|, cz, czz: e.g. ΣX and ΣY), whose eigenvectors are reused. */
static int generator_prepare(dicke_generator *g, unsigned n, const dicke_generator *same)
{
    int status = tridiagonal_form(g, n);
    if (status || g->diagonal)
        return status;
    size_t N = (size_t)n + 1;
    if (same) {
        g->v = qml__malloc(qml__mul_size(qml__mul_size(N, N), sizeof *g->v));
        g->vt = qml__malloc(qml__mul_size(qml__mul_size(N, N), sizeof *g->vt));
        g->lambda = qml__malloc(N * sizeof *g->lambda);
        g->p_re = qml__malloc(N * sizeof *g->p_re);
        g->p_im = qml__malloc(N * sizeof *g->p_im);
        if (!g->v || !g->vt || !g->lambda || !g->p_re || !g->p_im)
            return qml__oom("a symmetric-subspace generator");
        memcpy(g->v, same->v, N * N * sizeof *g->v);
        memcpy(g->vt, same->vt, N * N * sizeof *g->vt);
        memcpy(g->lambda, same->lambda, N * sizeof *g->lambda);
        g->equispaced = same->equispaced;
        g->step = same->step;
        double alpha = atan2(g->op.cy, g->op.cx);
        for (size_t k = 0; k < N; k++) {
            g->p_re[k] = cos((double)k * alpha);
            g->p_im[k] = sin((double)k * alpha);
        }
        return QML_OK;
    }
    double *a = qml__calloc(qml__mul_size(N, N), sizeof *a);
    g->v = qml__malloc(qml__mul_size(qml__mul_size(N, N), sizeof *g->v));
    g->lambda = qml__malloc(N * sizeof *g->lambda);
    g->p_re = qml__malloc(N * sizeof *g->p_re);
    g->p_im = qml__malloc(N * sizeof *g->p_im);
    if (!a || !g->v || !g->lambda || !g->p_re || !g->p_im) {
        qml__free(a);
        return qml__oom("a symmetric-subspace generator");
    }
    double alpha = atan2(g->op.cy, g->op.cx);
    for (size_t k = 0; k < N; k++) {
        a[k * N + k] = g->d[k];
        if (k + 1 < N) {
            double r = hypot(g->u_re[k], g->u_im[k]);
            a[k * N + k + 1] = r;
            a[(k + 1) * N + k] = r;
        }
        g->p_re[k] = cos((double)k * alpha);
        g->p_im[k] = sin((double)k * alpha);
    }
    qml__jacobi_eigen(N, a, g->v, g->lambda);
    qml__free(a);
    g->vt = qml__malloc(qml__mul_size(qml__mul_size(N, N), sizeof *g->vt));
    if (!g->vt)
        return qml__oom("a symmetric-subspace generator");
    /* Eigenpairs in ascending order (selection sort: once per generator). */
    for (size_t i = 0; i + 1 < N; i++) {
        size_t m = i;
        for (size_t j = i + 1; j < N; j++)
            if (g->lambda[j] < g->lambda[m])
                m = j;
        if (m == i)
            continue;
        double t = g->lambda[i];
        g->lambda[i] = g->lambda[m];
        g->lambda[m] = t;
        for (size_t k = 0; k < N; k++) {
            t = g->v[k * N + i];
            g->v[k * N + i] = g->v[k * N + m];
            g->v[k * N + m] = t;
        }
    }
    /* a ΣX + b ΣY is |a + ib| times a rotated ΣZ: its spectrum is exactly
     * |a + ib| (2j - n), j = 0..n; use the exact values (Jacobi's agree to
     * its residual) so that the phases follow a recurrence. */
    if (g->op.cz == 0.0 && g->op.czz == 0.0) {
        double r = hypot(g->op.cx, g->op.cy);
        g->equispaced = true;
        g->step = 2.0 * r;
        for (size_t j = 0; j < N; j++)
            g->lambda[j] = r * (2.0 * (double)j - (double)n);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            g->vt[j * N + i] = g->v[i * N + j];
    return QML_OK;
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
    const dicke_generator *same = NULL;
    for (size_t i = 0; i < sim->n_generators && !same; i++) {
        const dicke_generator *o = &sim->generators[i];
        if (!o->diagonal && o->v && hypot(o->op.cx, o->op.cy) == hypot(op->cx, op->cy) && o->op.cz == op->cz &&
            o->op.czz == op->czz)
            same = o;
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
        /* Pauli gates own their generator: read it, do not copy it. */
        qml_pauli_sum *owned = NULL;
        const qml_pauli_sum *g = gate->generator;
        if (!g) {
            status = qml_circuit_gate_generator(circuit, i, &owned);
            if (status)
                break;
            g = owned;
        }
        dicke_op op;
        unsigned first = 0;
        size_t non_identity = 0, term = 0;
        for (size_t t = 0; t < g->n_terms; t++)
            if (string_weight(g, t, &first) > 0) {
                non_identity++;
                term = t;
            }
        bool single = n > 1 && non_identity == 1 && string_weight(g, term, &first) == 1;
        if (single) {
            /* one rotation of a run of n */
            unsigned letter = letter_at(g, term, first);
            dicke_op one = {0, letter == 1 ? g->coeff[term] : 0, letter == 3 ? g->coeff[term] : 0,
                            letter == 2 ? g->coeff[term] : 0, 0};
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
        } else if (!classify(g, &op, why, sizeof why)) {
            status = qml__error(QML_ERR_NOT_APPLICABLE,
                                "%s: the symmetric backend does not apply: the generator of gate %zu: %s", caller, i,
                                why);
        } else if (op.cx != 0 || op.cy != 0 || op.cz != 0 || op.czz != 0) {
            size_t index;
            status = generator_index(sim, &op, &index);
            if (!status)
                status = push_gate(sim, &capacity, i, index);
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
    return 8 * sim->dim + sim->n_gates + 2 * sim->dim * (sim->n_gates + 1) + 1;
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

/* The phases e^{-i theta/2 lambda_j} (values lambda: the eigenvalues, or
 * the diagonal), as (c, s) pairs. Equispaced spectra use the recurrence
 * p_{j+1} = p_j r, re-started from sin/cos every 16 steps (error ~16 ulp). */
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

/* x += a row and y += b row over n entries, unrolled by four so that the
 * compiler's basic-block vectoriser packs it at -O2. */
static inline void axpy2(size_t n, const double *restrict row, double a, double b, double *restrict x,
                         double *restrict y)
{
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        x[j] += row[j] * a;
        x[j + 1] += row[j + 1] * a;
        x[j + 2] += row[j + 2] * a;
        x[j + 3] += row[j + 3] * a;
        y[j] += row[j] * b;
        y[j + 1] += row[j + 1] * b;
        y[j + 2] += row[j + 2] * b;
        y[j + 3] += row[j + 3] * b;
    }
    for (; j < n; j++) {
        x[j] += row[j] * a;
        y[j] += row[j] * b;
    }
}

/* psi <- exp(-i theta/2 H) psi. scratch: 4N doubles. Both products with the
 * eigenvectors are written as row updates (y += psi_i V_i., psi += y_j Vt_j.),
 * which the compiler vectorises and which sum in a fixed order. */
static void evolve(const dicke_generator *g, size_t N, double theta, double *restrict pr, double *restrict pi,
                   double *restrict scratch)
{
    double *pc = scratch + 2 * N, *ps = scratch + 3 * N;
    if (g->diagonal) {
        phases(g->d, N, false, 0.0, theta, pc, ps);
        for (size_t k = 0; k < N; k++) {
            double r = pr[k], i = pi[k];
            pr[k] = pc[k] * r - ps[k] * i;
            pi[k] = pc[k] * i + ps[k] * r;
        }
        return;
    }
    phases(g->lambda, N, g->equispaced, g->step, theta, pc, ps);
    double *restrict yr = scratch, *restrict yi = scratch + N;
    memset(scratch, 0, 2 * N * sizeof *scratch);
    for (size_t i = 0; i < N; i++) { /* y = V^T P^dag psi */
        double r = g->p_re[i] * pr[i] + g->p_im[i] * pi[i];
        double im = g->p_re[i] * pi[i] - g->p_im[i] * pr[i];
        axpy2(N, g->v + i * N, r, im, yr, yi);
    }
    memset(pr, 0, N * sizeof *pr);
    memset(pi, 0, N * sizeof *pi);
    for (size_t j = 0; j < N; j++) { /* psi = V e^{-i theta Lambda/2} y */
        double r = pc[j] * yr[j] - ps[j] * yi[j], im = pc[j] * yi[j] + ps[j] * yr[j];
        axpy2(N, g->vt + j * N, r, im, pr, pi);
    }
    for (size_t i = 0; i < N; i++) { /* psi <- P psi */
        double r = pr[i], im = pi[i];
        pr[i] = g->p_re[i] * r - g->p_im[i] * im;
        pi[i] = g->p_re[i] * im + g->p_im[i] * r;
    }
}

void qml__dicke_run(const qml__dicke *sim, const double *psi0, double *work, const double *weights,
                    const double *features, double *value, double *weight_gradient, double *feature_gradient)
{
    const qml_circuit *circuit = sim->circuit;
    size_t N = sim->dim;
    double *lr = work, *li = work + N, *tr = work + 2 * N, *ti = work + 3 * N, *scratch = work + 4 * N;
    double *theta = work + 8 * N;
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

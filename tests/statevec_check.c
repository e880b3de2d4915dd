/* statevec_check.c: the references the statevector tests share (see
 * statevec_check.h). */
#include "statevec_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void random_state(harness_rng *rng, size_t dim, double *amps)
{
    double norm = 0.0;
    for (size_t k = 0; k < 2 * dim; k++) {
        amps[k] = harness_normal(rng);
        norm += amps[k] * amps[k];
    }
    norm = sqrt(norm);
    for (size_t k = 0; k < 2 * dim; k++)
        amps[k] /= norm;
}

qml_statevec *state_from(unsigned n, const double *amps)
{
    qml_statevec *s = NULL;
    assert_ok(qml_statevec_create(&s, n));
    assert_ok(qml_statevec_set_amplitudes(s, amps, (size_t)1 << n, 1e-10));
    return s;
}

void assert_vectors_close(size_t dim, const double *a, const double *b, double tol, const char *what)
{
    for (size_t k = 0; k < 2 * dim; k++)
        if (!(fabs(a[k] - b[k]) <= tol))
            fail_msg("%s: component %zu (amplitude %zu): %.17g vs %.17g", what, k, k / 2, a[k], b[k]);
}

/* Embed a local 2^k x 2^k matrix acting on `qubits` (local bit j = qubit
 * qubits[j]) into the full 2^n x 2^n matrix: entry (r, c) is
 * local[sub(r), sub(c)] when r and c agree off `qubits`, else 0. */
void embed(unsigned n, const unsigned *qubits, unsigned k, const double *local, double *full)
{
    size_t dim = (size_t)1 << n, ld = (size_t)1 << k;
    uint64_t mask = 0;
    for (unsigned j = 0; j < k; j++)
        mask |= (uint64_t)1 << qubits[j];
    memset(full, 0, 2 * dim * dim * sizeof *full);
    for (size_t r = 0; r < dim; r++)
        for (size_t c = 0; c < dim; c++) {
            if ((r & ~mask) != (c & ~mask))
                continue;
            size_t lr = 0, lc = 0;
            for (unsigned j = 0; j < k; j++) {
                lr |= ((r >> qubits[j]) & 1u) << j;
                lc |= ((c >> qubits[j]) & 1u) << j;
            }
            full[2 * (r * dim + c)] = local[2 * (lr * ld + lc)];
            full[2 * (r * dim + c) + 1] = local[2 * (lr * ld + lc) + 1];
        }
}

/* A one-qubit matrix on qubit q via Kronecker products I (x) U (x) I (the
 * highest qubit is the most significant factor): a second construction. */
void kron_single(unsigned n, unsigned q, const double *u, double *full)
{
    size_t dhi = (size_t)1 << (n - q - 1), dlo = (size_t)1 << q;
    double *ihi = calloc(2 * dhi * dhi, sizeof(double)), *ilo = calloc(2 * dlo * dlo, sizeof(double));
    double *tmp = calloc(2 * dhi * 2 * dhi * 2, sizeof(double));
    for (size_t i = 0; i < dhi; i++)
        ihi[2 * (i * dhi + i)] = 1.0;
    for (size_t i = 0; i < dlo; i++)
        ilo[2 * (i * dlo + i)] = 1.0;
    harness_kron(dhi, ihi, 2, u, tmp);
    harness_kron(2 * dhi, tmp, dlo, ilo, full);
    free(ihi);
    free(ilo);
    free(tmp);
}

/* A random d x d unitary: Gram-Schmidt on the columns of a Gaussian matrix. */
void random_unitary(harness_rng *rng, size_t d, double *u)
{
    for (size_t k = 0; k < 2 * d * d; k++)
        u[k] = harness_normal(rng);
    for (size_t c = 0; c < d; c++) {
        for (size_t p = 0; p < c; p++) {
            double re = 0, im = 0; /* <col p | col c> */
            for (size_t r = 0; r < d; r++) {
                double pr = u[2 * (r * d + p)], pi = u[2 * (r * d + p) + 1];
                double cr = u[2 * (r * d + c)], ci = u[2 * (r * d + c) + 1];
                re += pr * cr + pi * ci;
                im += pr * ci - pi * cr;
            }
            for (size_t r = 0; r < d; r++) {
                double pr = u[2 * (r * d + p)], pi = u[2 * (r * d + p) + 1];
                u[2 * (r * d + c)] -= re * pr - im * pi;
                u[2 * (r * d + c) + 1] -= re * pi + im * pr;
            }
        }
        double norm = 0;
        for (size_t r = 0; r < d; r++)
            norm += u[2 * (r * d + c)] * u[2 * (r * d + c)] + u[2 * (r * d + c) + 1] * u[2 * (r * d + c) + 1];
        norm = sqrt(norm);
        for (size_t r = 0; r < d; r++) {
            u[2 * (r * d + c)] /= norm;
            u[2 * (r * d + c) + 1] /= norm;
        }
    }
}

/* Pauli sums built directly in the internal layout (no dependency on
 * pauli.c): terms given as dense strings. */
qml_pauli_sum *sum_new(unsigned n)
{
    qml_pauli_sum *s = calloc(1, sizeof *s);
    s->n_qubits = n;
    s->words = 1;
    s->capacity = 1024;
    s->x = calloc(s->capacity, sizeof(uint64_t));
    s->z = calloc(s->capacity, sizeof(uint64_t));
    s->coeff = calloc(s->capacity, sizeof(double));
    return s;
}

void sum_add(qml_pauli_sum *s, double c, const char *dense)
{
    uint64_t x = 0, z = 0;
    for (unsigned q = 0; q < s->n_qubits; q++) {
        uint64_t b = (uint64_t)1 << q;
        if (dense[q] == 'X' || dense[q] == 'Y')
            x |= b;
        if (dense[q] == 'Z' || dense[q] == 'Y')
            z |= b;
    }
    assert_true(s->n_terms < s->capacity);
    s->x[s->n_terms] = x;
    s->z[s->n_terms] = z;
    s->coeff[s->n_terms] = c;
    s->n_terms++;
}

void sum_free(qml_pauli_sum *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->z);
    free(s->coeff);
    free(s);
}

void term_string(const qml_pauli_sum *s, size_t t, char *dense)
{
    for (unsigned q = 0; q < s->n_qubits; q++) {
        unsigned xb = (unsigned)(s->x[t] >> q) & 1u, zb = (unsigned)(s->z[t] >> q) & 1u;
        dense[q] = xb ? (zb ? 'Y' : 'X') : (zb ? 'Z' : 'I');
    }
    dense[s->n_qubits] = '\0';
}

/* The dense matrix of a Pauli sum, from harness_pauli_matrix. */
void sum_dense(const qml_pauli_sum *s, double *out)
{
    size_t dim = (size_t)1 << s->n_qubits;
    double *p = malloc(2 * dim * dim * sizeof *p);
    char dense[64];
    memset(out, 0, 2 * dim * dim * sizeof *out);
    for (size_t t = 0; t < s->n_terms; t++) {
        term_string(s, t, dense);
        harness_pauli_matrix(s->n_qubits, dense, p);
        for (size_t k = 0; k < 2 * dim * dim; k++)
            out[k] += s->coeff[t] * p[k];
    }
    free(p);
}

/* exp(m) for a small dense matrix: scaling and squaring with a 30-term Taylor
 * series (a method independent of the library's product of rotations). */
void dense_expm(size_t d, const double *m, double *out)
{
    double norm = 0;
    for (size_t k = 0; k < 2 * d * d; k++)
        norm += fabs(m[k]);
    int squarings = 0;
    while (norm > 0.5) {
        norm /= 2;
        squarings++;
    }
    double scale = ldexp(1.0, -squarings);
    double *a = malloc(2 * d * d * sizeof *a), *term = malloc(2 * d * d * sizeof *a), *tmp = malloc(2 * d * d * sizeof *a);
    for (size_t k = 0; k < 2 * d * d; k++)
        a[k] = m[k] * scale;
    memset(out, 0, 2 * d * d * sizeof *out);
    memset(term, 0, 2 * d * d * sizeof *term);
    for (size_t i = 0; i < d; i++)
        out[2 * (i * d + i)] = term[2 * (i * d + i)] = 1.0;
    for (int k = 1; k <= 30; k++) {
        harness_matmul(d, term, a, tmp);
        for (size_t j = 0; j < 2 * d * d; j++) {
            term[j] = tmp[j] / k;
            out[j] += term[j];
        }
    }
    for (int s = 0; s < squarings; s++) {
        harness_matmul(d, out, out, tmp);
        memcpy(out, tmp, 2 * d * d * sizeof *out);
    }
    free(a);
    free(term);
    free(tmp);
}

/* ---- local gate matrices, written from their definitions ---------------- */

void set_entry(double *m, size_t d, size_t r, size_t c, double re, double im)
{
    m[2 * (r * d + c)] = re;
    m[2 * (r * d + c) + 1] = im;
}

/* exp(-i theta/2 G) = cos(theta/2) I - i sin(theta/2) G for G^2 = I. */
void rotation_from(size_t d, const double *g, double theta, double *out)
{
    double c = cos(theta / 2), s = sin(theta / 2);
    for (size_t r = 0; r < d; r++)
        for (size_t k = 0; k < d; k++) {
            double gr = g[2 * (r * d + k)], gi = g[2 * (r * d + k) + 1];
            out[2 * (r * d + k)] = (r == k ? c : 0.0) + s * gi;
            out[2 * (r * d + k) + 1] = -s * gr;
        }
}

/* Controlled version (control = local bit 0) of a one-qubit u on local bit 1. */
void controlled(const double *u, double *out)
{
    memset(out, 0, 32 * sizeof *out);
    set_entry(out, 4, 0, 0, 1, 0);
    set_entry(out, 4, 2, 2, 1, 0);
    /* control = 1: local indices 1 (t=0) and 3 (t=1) */
    for (unsigned r = 0; r < 2; r++)
        for (unsigned c = 0; c < 2; c++)
            set_entry(out, 4, 1 + 2 * r, 1 + 2 * c, u[2 * (2 * r + c)], u[2 * (2 * r + c) + 1]);
}


unsigned arity(qml_gate_kind kind)
{
    switch (kind) {
    case QML_GATE_CNOT: case QML_GATE_CY: case QML_GATE_CZ: case QML_GATE_SWAP: case QML_GATE_ISWAP:
    case QML_GATE_UNITARY2: case QML_GATE_RXX: case QML_GATE_RYY: case QML_GATE_RZZ: case QML_GATE_CRX:
    case QML_GATE_CRY: case QML_GATE_CRZ:
        return 2;
    case QML_GATE_TOFFOLI:
        return 3;
    default:
        return 1;
    }
}

/* The local matrix (2^arity square) of a gate of a non-Pauli kind. */
void local_matrix(const qml__gate *g, double theta, double *m)
{
    const double r2 = 1.0 / sqrt(2.0);
    unsigned k = arity(g->kind);
    size_t d = (size_t)1 << k;
    double tmp[32], u[8];
    memset(m, 0, 2 * d * d * sizeof *m);
    switch (g->kind) {
    case QML_GATE_I: set_entry(m, 2, 0, 0, 1, 0); set_entry(m, 2, 1, 1, 1, 0); break;
    case QML_GATE_X: memcpy(m, PX, sizeof PX); break;
    case QML_GATE_Y: memcpy(m, PY, sizeof PY); break;
    case QML_GATE_Z: memcpy(m, PZ, sizeof PZ); break;
    case QML_GATE_H:
        set_entry(m, 2, 0, 0, r2, 0); set_entry(m, 2, 0, 1, r2, 0);
        set_entry(m, 2, 1, 0, r2, 0); set_entry(m, 2, 1, 1, -r2, 0);
        break;
    case QML_GATE_S: set_entry(m, 2, 0, 0, 1, 0); set_entry(m, 2, 1, 1, 0, 1); break;
    case QML_GATE_SDG: set_entry(m, 2, 0, 0, 1, 0); set_entry(m, 2, 1, 1, 0, -1); break;
    case QML_GATE_T: set_entry(m, 2, 0, 0, 1, 0); set_entry(m, 2, 1, 1, r2, r2); break;
    case QML_GATE_TDG: set_entry(m, 2, 0, 0, 1, 0); set_entry(m, 2, 1, 1, r2, -r2); break;
    case QML_GATE_SX:
        set_entry(m, 2, 0, 0, 0.5, 0.5); set_entry(m, 2, 0, 1, 0.5, -0.5);
        set_entry(m, 2, 1, 0, 0.5, -0.5); set_entry(m, 2, 1, 1, 0.5, 0.5);
        break;
    case QML_GATE_CNOT: controlled(PX, m); break;
    case QML_GATE_CY: controlled(PY, m); break;
    case QML_GATE_CZ: controlled(PZ, m); break;
    case QML_GATE_SWAP:
        set_entry(m, 4, 0, 0, 1, 0); set_entry(m, 4, 1, 2, 1, 0);
        set_entry(m, 4, 2, 1, 1, 0); set_entry(m, 4, 3, 3, 1, 0);
        break;
    case QML_GATE_ISWAP:
        set_entry(m, 4, 0, 0, 1, 0); set_entry(m, 4, 1, 2, 0, 1);
        set_entry(m, 4, 2, 1, 0, 1); set_entry(m, 4, 3, 3, 1, 0);
        break;
    case QML_GATE_TOFFOLI:
        for (unsigned i = 0; i < 8; i++) {
            unsigned j = (i & 3u) == 3u ? i ^ 4u : i;
            set_entry(m, 8, j, i, 1, 0);
        }
        break;
    case QML_GATE_UNITARY1: memcpy(m, g->matrix, 8 * sizeof *m); break;
    case QML_GATE_UNITARY2: memcpy(m, g->matrix, 32 * sizeof *m); break;
    case QML_GATE_RX: rotation_from(2, PX, theta, m); break;
    case QML_GATE_RY: rotation_from(2, PY, theta, m); break;
    case QML_GATE_RZ: rotation_from(2, PZ, theta, m); break;
    case QML_GATE_RXX: harness_kron(2, PX, 2, PX, tmp); rotation_from(4, tmp, theta, m); break;
    case QML_GATE_RYY: harness_kron(2, PY, 2, PY, tmp); rotation_from(4, tmp, theta, m); break;
    case QML_GATE_RZZ: harness_kron(2, PZ, 2, PZ, tmp); rotation_from(4, tmp, theta, m); break;
    case QML_GATE_CRX: rotation_from(2, PX, theta, u); controlled(u, m); break;
    case QML_GATE_CRY: rotation_from(2, PY, theta, u); controlled(u, m); break;
    case QML_GATE_CRZ: rotation_from(2, PZ, theta, u); controlled(u, m); break;
    case QML_GATE_PHASE: set_entry(m, 2, 0, 0, 1, 0); set_entry(m, 2, 1, 1, cos(theta), sin(theta)); break;
    default: fail_msg("local_matrix: kind %d", (int)g->kind);
    }
}

/* The full 2^n matrix of gate g at angle theta. */
void gate_dense(unsigned n, const qml__gate *g, double theta, double *full)
{
    size_t dim = (size_t)1 << n;
    if (g->kind == QML_GATE_PAULI_ROTATION || g->kind == QML_GATE_PAULI_EVOLUTION) {
        double *h = malloc(2 * dim * dim * sizeof *h);
        sum_dense(g->generator, h);
        /* exp(-i theta/2 H): multiply by -i theta/2 */
        for (size_t k = 0; k < dim * dim; k++) {
            double re = h[2 * k], im = h[2 * k + 1];
            h[2 * k] = 0.5 * theta * im;
            h[2 * k + 1] = -0.5 * theta * re;
        }
        dense_expm(dim, h, full);
        free(h);
        return;
    }
    double local[128];
    local_matrix(g, theta, local);
    if (arity(g->kind) == 1 && (g->qubits[0] % 2 == 0))
        kron_single(n, g->qubits[0], local, full); /* a second construction on every other qubit */
    else
        embed(n, g->qubits, arity(g->kind), local, full);
}


qml__gate make_gate(qml_gate_kind kind, const unsigned *qubits, unsigned count, harness_rng *rng)
{
    qml__gate g;
    memset(&g, 0, sizeof g);
    g.kind = kind;
    g.n_targets = count;
    for (unsigned k = 0; k < count; k++)
        g.qubits[k] = qubits[k];
    g.weight = g.feature = QML_NONE;
    if (kind == QML_GATE_UNITARY1)
        random_unitary(rng, 2, g.matrix);
    if (kind == QML_GATE_UNITARY2)
        random_unitary(rng, 4, g.matrix);
    return g;
}

/* Apply g to a random state both ways and compare; then its inverse must
 * give the state back. */
void check_gate(unsigned n, const qml__gate *g, double theta, harness_rng *rng, const char *what)
{
    size_t dim = (size_t)1 << n;
    double *psi = calloc(2 * dim, sizeof *psi), *expect = malloc(2 * dim * sizeof *psi);
    double *full = malloc(2 * dim * dim * sizeof *full);
    random_state(rng, dim, psi);
    qml_statevec *s = state_from(n, psi);
    qml__statevec_apply(s, g, theta, false);
    gate_dense(n, g, theta, full);
    harness_matvec(dim, full, psi, expect);
    assert_vectors_close(dim, qml_statevec_data(s), expect, TOL, what);
    qml__statevec_apply(s, g, theta, true);
    assert_vectors_close(dim, qml_statevec_data(s), psi, TOL, what);
    qml_statevec_free(s);
    free(psi);
    free(expect);
    free(full);
}


/* out = (local matrix of g, the embed() convention) applied to in, without
 * forming the 2^n matrix: for each index with the gate's bits clear, the
 * 2^k amplitudes it spans are multiplied by the local matrix. */
void apply_local_naive(unsigned n, const qml__gate *g, double theta, const double *in, double *out)
{
    const size_t dim = (size_t)1 << n;
    const unsigned k = arity(g->kind);
    const size_t ld = (size_t)1 << k;
    double local[128];
    local_matrix(g, theta, local);
    uint64_t mask = 0;
    for (unsigned j = 0; j < k; j++)
        mask |= (uint64_t)1 << g->qubits[j];
    for (size_t base = 0; base < dim; base++) {
        if (base & mask)
            continue;
        size_t index[8];
        for (size_t l = 0; l < ld; l++) {
            index[l] = base;
            for (unsigned j = 0; j < k; j++)
                if ((l >> j) & 1u)
                    index[l] |= (size_t)1 << g->qubits[j];
        }
        for (size_t r = 0; r < ld; r++) {
            double re = 0.0, im = 0.0;
            for (size_t c = 0; c < ld; c++) {
                double mr = local[2 * (r * ld + c)], mi = local[2 * (r * ld + c) + 1];
                re += mr * in[2 * index[c]] - mi * in[2 * index[c] + 1];
                im += mr * in[2 * index[c] + 1] + mi * in[2 * index[c]];
            }
            out[2 * index[r]] = re;
            out[2 * index[r] + 1] = im;
        }
    }
}

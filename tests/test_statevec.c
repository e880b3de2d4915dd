/* test_statevec.c: the statevector kernels against dense matrices built
 * here, expectation values, sampling, estimates, thread-count invariance,
 * the kernel paths of one-qubit gates and expectations, the worker pool,
 * validation, allocation failures and gate fusion. The two-qubit pair,
 * diagonal and Pauli kernels on every pair: test_statevec_pairs.c. */
#include "statevec_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>

/* ======================================================================== */
/* Gates against dense matrices                                             */
/* ======================================================================== */

static void test_every_gate_every_position(void **unused)
{
    (void)unused;
    harness_rng rng = {101};
    char what[128];
    size_t cases = 0;
    for (unsigned n = 1; n <= 6; n++)
        for (size_t kk = 0; kk < N_KINDS; kk++) {
            qml_gate_kind kind = ALL_KINDS[kk];
            unsigned k = arity(kind);
            if (k > n)
                continue;
            /* every ordered tuple of distinct qubits: adjacent, spread out
             * and reversed control/target orders all occur */
            unsigned q[3];
            size_t total = 1;
            for (unsigned j = 0; j < k; j++)
                total *= n;
            for (size_t code = 0; code < total; code++) {
                size_t c = code;
                for (unsigned j = 0; j < k; j++) {
                    q[j] = (unsigned)(c % n);
                    c /= n;
                }
                if ((k > 1 && q[0] == q[1]) || (k > 2 && (q[2] == q[0] || q[2] == q[1])))
                    continue;
                qml__gate g = make_gate(kind, q, k, &rng);
                double theta = 4 * (harness_uniform(&rng) - 0.5) * 3.14159;
                snprintf(what, sizeof what, "kind %d on n=%u qubits (%u,%u,%u)", (int)kind, n, q[0],
                         k > 1 ? q[1] : 0, k > 2 ? q[2] : 0);
                check_gate(n, &g, theta, &rng, what);
                cases++;
            }
        }
    /* 15 one-qubit kinds x 21 placements, 12 two-qubit kinds x 70, Toffoli x 210 */
    assert_int_equal(cases, 15 * 21 + 12 * 70 + 210);
}

/* Pauli rotations and commuting evolutions, against exp of the dense H. */
static void test_pauli_gates(void **unused)
{
    (void)unused;
    harness_rng rng = {202};
    const char *strings[] = {"X", "Y", "Z", "XY", "ZX", "YY", "XYZX", "IZIZ", "ZIIY", "YIXIZ", "IIIIX", "XIIIIY", "ZZZZZZ"};
    for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++) {
        unsigned n = (unsigned)strlen(strings[k]);
        qml_pauli_sum *h = sum_new(n);
        sum_add(h, 1.0, strings[k]);
        qml__gate g = make_gate(QML_GATE_PAULI_ROTATION, (unsigned[]){0}, 1, &rng);
        g.generator = h;
        check_gate(n, &g, 1.234, &rng, strings[k]);
        check_gate(n, &g, -2.9, &rng, strings[k]);
        sum_free(h);
    }
    /* Commuting sums, with identity terms (a global phase) and scaled terms. */
    const char *sums[][4] = {
        {"XX", "YY", "ZZ", NULL},                 /* Heisenberg bond */
        {"ZZI", "ZIZ", "IZZ", "III"},             /* all pairs Z_i Z_j plus identity */
        {"XIX", "IZI", "XZX", NULL},
        {"IIII", NULL, NULL, NULL},               /* only a phase */
        {"YIYI", "IXIX", "ZIZI", NULL},
    };
    for (size_t k = 0; k < sizeof sums / sizeof sums[0]; k++) {
        unsigned n = (unsigned)strlen(sums[k][0]);
        qml_pauli_sum *h = sum_new(n);
        for (unsigned t = 0; t < 4 && sums[k][t]; t++)
            sum_add(h, 0.3 + 0.7 * t, sums[k][t]);
        qml__gate g = make_gate(QML_GATE_PAULI_EVOLUTION, (unsigned[]){0}, 1, &rng);
        g.generator = h;
        check_gate(n, &g, 0.77, &rng, sums[k][0]);
        sum_free(h);
    }
}

/* G |psi> against the dense generator of each parametrised kind. */
static void dense_generator(unsigned n, const qml__gate *g, double *full)
{
    size_t dim = (size_t)1 << n;
    char a[8], b[8];
    qml_pauli_sum *s = sum_new(n);
    memset(a, 'I', n);
    a[n] = '\0';
    memcpy(b, a, n + 1);
    const unsigned *q = g->qubits;
    switch (g->kind) {
    case QML_GATE_RX: a[q[0]] = 'X'; sum_add(s, 1, a); break;
    case QML_GATE_RY: a[q[0]] = 'Y'; sum_add(s, 1, a); break;
    case QML_GATE_RZ: a[q[0]] = 'Z'; sum_add(s, 1, a); break;
    case QML_GATE_RXX: a[q[0]] = a[q[1]] = 'X'; sum_add(s, 1, a); break;
    case QML_GATE_RYY: a[q[0]] = a[q[1]] = 'Y'; sum_add(s, 1, a); break;
    case QML_GATE_RZZ: a[q[0]] = a[q[1]] = 'Z'; sum_add(s, 1, a); break;
    case QML_GATE_CRX: case QML_GATE_CRY: case QML_GATE_CRZ: {
        /* (I - Z_c) P_t / 2 */
        char p = g->kind == QML_GATE_CRX ? 'X' : g->kind == QML_GATE_CRY ? 'Y' : 'Z';
        a[q[1]] = p;
        sum_add(s, 0.5, a);
        b[q[1]] = p;
        b[q[0]] = 'Z';
        sum_add(s, -0.5, b);
        break;
    }
    case QML_GATE_PHASE: sum_add(s, -1, a); a[q[0]] = 'Z'; sum_add(s, 1, a); break;
    default: fail_msg("no generator");
    }
    sum_dense(s, full);
    sum_free(s);
    (void)dim;
}

static void test_generators(void **unused)
{
    (void)unused;
    harness_rng rng = {303};
    const qml_gate_kind kinds[] = {QML_GATE_RX, QML_GATE_RY, QML_GATE_RZ, QML_GATE_RXX, QML_GATE_RYY,
                                   QML_GATE_RZZ, QML_GATE_CRX, QML_GATE_CRY, QML_GATE_CRZ, QML_GATE_PHASE};
    const unsigned n = 4;
    const size_t dim = 16;
    double psi[32], expect[32], full[2 * 16 * 16];
    qml_statevec *out = NULL;
    assert_ok(qml_statevec_create(&out, n));
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        const unsigned pairs[][2] = {{0, 1}, {3, 0}, {1, 3}, {2, 1}};
        for (size_t p = 0; p < 4; p++) {
            qml__gate g = make_gate(kinds[k], pairs[p], arity(kinds[k]), &rng);
            random_state(&rng, dim, psi);
            qml_statevec *in = state_from(n, psi);
            qml__statevec_apply_generator(out, in, &g);
            dense_generator(n, &g, full);
            harness_matvec(dim, full, psi, expect);
            assert_vectors_close(dim, qml_statevec_data(out), expect, TOL, "generator");
            qml_statevec_free(in);
        }
    }
    /* Pauli gates: the generator is the sum itself. */
    qml_pauli_sum *h = sum_new(n);
    sum_add(h, 0.5, "XXII");
    sum_add(h, -1.5, "YYII");
    sum_add(h, 2.0, "IZZI");
    sum_add(h, 0.25, "IIII");
    qml__gate g = make_gate(QML_GATE_PAULI_EVOLUTION, (unsigned[]){0}, 1, &rng);
    g.generator = h;
    random_state(&rng, dim, psi);
    qml_statevec *in = state_from(n, psi);
    qml__statevec_apply_generator(out, in, &g);
    sum_dense(h, full);
    harness_matvec(dim, full, psi, expect);
    assert_vectors_close(dim, qml_statevec_data(out), expect, TOL, "Pauli generator");
    qml_statevec_free(in);
    qml_statevec_free(out);
    sum_free(h);
}

/* 200 random gates on 5 qubits: the state equals the dense product applied
 * to |0>, and the norm stays 1. */
static void test_random_circuit(void **unused)
{
    (void)unused;
    harness_rng rng = {404};
    const unsigned n = 5;
    const size_t dim = 32;
    double *u = calloc(2 * dim * dim, sizeof *u), *gm = malloc(2 * dim * dim * sizeof *gm);
    double *tmp = malloc(2 * dim * dim * sizeof *tmp);
    for (size_t i = 0; i < dim; i++)
        u[2 * (i * dim + i)] = 1.0;
    qml_statevec *s = NULL;
    assert_ok(qml_statevec_create(&s, n));
    qml_pauli_sum *h = sum_new(n);
    sum_add(h, 1.0, "XYIZX");
    for (int step = 0; step < 200; step++) {
        qml_gate_kind kind = ALL_KINDS[harness_next(&rng) % N_KINDS];
        unsigned q[3];
        unsigned k = arity(kind);
        for (unsigned j = 0; j < k; j++) {
            bool fresh;
            do {
                q[j] = (unsigned)(harness_next(&rng) % n);
                fresh = true;
                for (unsigned i = 0; i < j; i++)
                    fresh = fresh && q[i] != q[j];
            } while (!fresh);
        }
        qml__gate g = make_gate(kind, q, k, &rng);
        if (step % 17 == 0) {
            g.kind = QML_GATE_PAULI_ROTATION;
            g.generator = h;
        }
        double theta = 6.0 * harness_uniform(&rng) - 3.0;
        qml__statevec_apply(s, &g, theta, false);
        gate_dense(n, &g, theta, gm);
        harness_matmul(dim, gm, u, tmp);
        memcpy(u, tmp, 2 * dim * dim * sizeof *u);
    }
    /* U|0> is the first column of U */
    double expect[64];
    for (size_t i = 0; i < dim; i++) {
        expect[2 * i] = u[2 * (i * dim)];
        expect[2 * i + 1] = u[2 * (i * dim) + 1];
    }
    /* 200 gates accumulate ~200 roundings of 1e-16 in both computations */
    assert_vectors_close(dim, qml_statevec_data(s), expect, 1e-12, "200-gate circuit");
    double re, im;
    assert_ok(qml_statevec_inner(s, s, &re, &im));
    assert_close(re, 1.0, 1e-12);
    assert_close(im, 0.0, 1e-12);
    /* and an expectation value on the final state against the dense one */
    qml_pauli_sum *o = sum_new(n);
    sum_add(o, 0.7, "ZZIII");
    sum_add(o, -0.4, "XIYIZ");
    sum_add(o, 1.1, "IYYXI");
    double *om = malloc(2 * dim * dim * sizeof *om), ov[64];
    sum_dense(o, om);
    harness_matvec(dim, om, expect, ov);
    double dense_value = 0;
    for (size_t i = 0; i < dim; i++)
        dense_value += expect[2 * i] * ov[2 * i] + expect[2 * i + 1] * ov[2 * i + 1];
    double value;
    assert_ok(qml_statevec_expectation(s, o, &value));
    assert_close(value, dense_value, 1e-12);
    free(om);
    sum_free(o);
    sum_free(h);
    qml_statevec_free(s);
    free(u);
    free(gm);
    free(tmp);
}

/* ======================================================================== */
/* Expectation values                                                       */
/* ======================================================================== */

/* P|psi> applied qubit by qubit from the one-qubit matrices: an independent
 * reference for sizes where dense matrices are too big. */
static void apply_string_naive(unsigned n, const char *dense, const double *in, double *out)
{
    size_t dim = (size_t)1 << n;
    memcpy(out, in, 2 * dim * sizeof *out);
    for (unsigned q = 0; q < n; q++) {
        const double *m = dense[q] == 'X' ? PX : dense[q] == 'Y' ? PY : dense[q] == 'Z' ? PZ : NULL;
        if (!m)
            continue;
        size_t b = (size_t)1 << q;
        for (size_t i = 0; i < dim; i++) {
            if (i & b)
                continue;
            double v0[2] = {out[2 * i], out[2 * i + 1]}, v1[2] = {out[2 * (i | b)], out[2 * (i | b) + 1]};
            out[2 * i] = m[0] * v0[0] - m[1] * v0[1] + m[2] * v1[0] - m[3] * v1[1];
            out[2 * i + 1] = m[0] * v0[1] + m[1] * v0[0] + m[2] * v1[1] + m[3] * v1[0];
            out[2 * (i | b)] = m[4] * v0[0] - m[5] * v0[1] + m[6] * v1[0] - m[7] * v1[1];
            out[2 * (i | b) + 1] = m[4] * v0[1] + m[5] * v0[0] + m[6] * v1[1] + m[7] * v1[0];
        }
    }
}

static double naive_expectation(const qml_pauli_sum *o, const double *psi)
{
    unsigned n = o->n_qubits;
    size_t dim = (size_t)1 << n;
    double *tmp = malloc(2 * dim * sizeof *tmp);
    char dense[64];
    double total = 0;
    for (size_t t = 0; t < o->n_terms; t++) {
        term_string(o, t, dense);
        apply_string_naive(n, dense, psi, tmp);
        double v = 0;
        for (size_t i = 0; i < dim; i++)
            v += psi[2 * i] * tmp[2 * i] + psi[2 * i + 1] * tmp[2 * i + 1];
        total += o->coeff[t] * v;
    }
    free(tmp);
    return total;
}

static qml_pauli_sum *random_sum(harness_rng *rng, unsigned n, size_t terms, double p_identity)
{
    qml_pauli_sum *o = sum_new(n);
    char dense[64];
    for (size_t t = 0; t < terms; t++) {
        for (unsigned q = 0; q < n; q++)
            dense[q] = harness_uniform(rng) < p_identity ? 'I' : "XYZ"[harness_next(rng) % 3];
        dense[n] = '\0';
        sum_add(o, harness_normal(rng), dense);
    }
    return o;
}

static void test_expectation_dense(void **unused)
{
    (void)unused;
    harness_rng rng = {505};
    for (unsigned n = 1; n <= 6; n++) {
        size_t dim = (size_t)1 << n;
        double *psi = malloc(2 * dim * sizeof *psi), *ov = malloc(2 * dim * sizeof *ov);
        double *om = malloc(2 * dim * dim * sizeof *om);
        random_state(&rng, dim, psi);
        qml_statevec *s = state_from(n, psi);
        qml_pauli_sum *o = random_sum(&rng, n, 40, 0.4);
        sum_add(o, 0.3, &"IIIIII"[6 - n]); /* an identity term */
        sum_dense(o, om);
        harness_matvec(dim, om, psi, ov);
        double dense_value = 0;
        for (size_t i = 0; i < dim; i++)
            dense_value += psi[2 * i] * ov[2 * i] + psi[2 * i + 1] * ov[2 * i + 1];
        double value;
        assert_ok(qml_statevec_expectation(s, o, &value));
        /* 40 terms with |c| ~ 1: sums of ~40 * 64 products of size <= 1 */
        assert_close(value, dense_value, 1e-12);
        /* apply_pauli_sum agrees */
        qml_statevec *out = NULL;
        assert_ok(qml_statevec_create(&out, n));
        qml__statevec_apply_pauli_sum(out, s, o);
        assert_vectors_close(dim, qml_statevec_data(out), ov, 1e-12, "apply_pauli_sum");
        qml_statevec_free(out);
        sum_free(o);
        qml_statevec_free(s);
        free(psi);
        free(ov);
        free(om);
    }
}

/* O|psi> for Pauli sums on 11 qubits (beyond the 2^8-amplitude blocks of
 * the one-pass diagonal kernel) against the sum of naive string
 * applications: a Z chain with single Z's and an identity (one pass, two
 * low masks), random Z-only sums with more low masks than a pass holds
 * (term by term), and mixed sums (the diagonal part in one pass, X/Y
 * terms added after it). Tolerance 1e-11: up to ~30 terms of size ~1. */
static void test_apply_pauli_sum_large(void **unused)
{
    (void)unused;
    harness_rng rng = {1616};
    const unsigned n = 11;
    const size_t dim = (size_t)1 << n;
    double *psi = malloc(2 * dim * sizeof *psi), *expect = malloc(2 * dim * sizeof *expect);
    double *tmp = malloc(2 * dim * sizeof *tmp);
    for (int variant = 0; variant < 4; variant++) {
        random_state(&rng, dim, psi);
        qml_statevec *s = state_from(n, psi), *out = NULL;
        assert_ok(qml_statevec_create(&out, n));
        qml_pauli_sum *o = sum_new(n);
        char d[16];
        if (variant == 0) {
            for (unsigned a = 0; a < n; a++) {
                memset(d, 'I', n);
                d[n] = '\0';
                d[a] = 'Z';
                sum_add(o, 0.2 + 0.01 * a, d);
                if (a + 1 < n) {
                    d[a + 1] = 'Z';
                    sum_add(o, 1.0 - 0.05 * a, d);
                }
            }
            memset(d, 'I', n);
            sum_add(o, -0.7, d);
        } else {
            for (int t = 0; t < 30; t++) {
                for (unsigned q = 0; q < n; q++)
                    d[q] = harness_uniform(&rng) < 0.6 ? 'I' : (variant == 3 && t % 3 == 0 ? "XYZ"[harness_next(&rng) % 3] : 'Z');
                d[n] = '\0';
                sum_add(o, harness_normal(&rng), d);
            }
        }
        memset(expect, 0, 2 * dim * sizeof *expect);
        for (size_t t = 0; t < o->n_terms; t++) {
            for (unsigned q = 0; q < n; q++) {
                uint64_t b = (uint64_t)1 << q;
                bool x = o->x[t] & b, z = o->z[t] & b;
                d[q] = x && z ? 'Y' : x ? 'X' : z ? 'Z' : 'I';
            }
            d[n] = '\0';
            apply_string_naive(n, d, psi, tmp);
            for (size_t k = 0; k < 2 * dim; k++)
                expect[k] += o->coeff[t] * tmp[k];
        }
        qml__statevec_apply_pauli_sum(out, s, o);
        assert_vectors_close(dim, qml_statevec_data(out), expect, 1e-11, "apply_pauli_sum on 11 qubits");
        sum_free(o);
        qml_statevec_free(s);
        qml_statevec_free(out);
    }
    free(psi);
    free(expect);
    free(tmp);
}

/* Beyond the 2^8-amplitude blocks: high and low bits, x-masks in the high
 * part, more distinct low masks and high terms than one batch holds. */
static void test_expectation_large(void **unused)
{
    (void)unused;
    harness_rng rng = {606};
    const unsigned n = 11;
    const size_t dim = (size_t)1 << n;
    double *psi = malloc(2 * dim * sizeof *psi);
    random_state(&rng, dim, psi);
    qml_statevec *s = state_from(n, psi);
    for (int round = 0; round < 4; round++) {
        qml_pauli_sum *o = random_sum(&rng, n, round == 0 ? 30 : 200, round == 2 ? 0.85 : 0.5);
        if (round == 3) {
            /* 150 diagonal terms: one x-group with more high terms and low
             * masks than one batch takes */
            for (size_t t = 0; t < o->n_terms; t++)
                o->x[t] = 0;
        }
        if (round == 1) {
            /* many terms sharing x = 0 (diagonal) and sharing one x-mask */
            char d[16];
            for (unsigned a = 0; a < n; a++)
                for (unsigned b = a + 1; b < n; b++) {
                    memset(d, 'I', n);
                    d[n] = '\0';
                    d[a] = d[b] = 'Z';
                    sum_add(o, 0.1 * (a + 1), d);
                    d[a] = 'X';
                    d[b] = 'Y';
                    sum_add(o, -0.05 * (b + 1), d);
                }
        }
        double value, expect = naive_expectation(o, psi);
        assert_ok(qml_statevec_expectation(s, o, &value));
        assert_close(value, expect, 1e-11);
        sum_free(o);
    }
    qml_statevec_free(s);
    free(psi);
}

/* 14 qubits: block indices past the 2^4 whose signs the expectation
 * tabulates (coefficients rebuilt as the upper bits change), diagonal
 * observables on the AVX2 and portable inner loops (the same bits), and
 * the naive sum (test_thread_invariance covers thread counts). */
static void test_expectation_paths(void **unused)
{
    (void)unused;
    harness_rng rng = {626};
    const unsigned n = 14;
    const size_t dim = (size_t)1 << n;
    double *psi = malloc(2 * dim * sizeof *psi);
    random_state(&rng, dim, psi);
    qml_statevec *s = state_from(n, psi);
    for (int round = 0; round < 4; round++) {
        qml_pauli_sum *o;
        if (round == 0) {
            /* the chain sum of Z_i Z_i+1 and one Z per qubit */
            o = sum_new(n);
            char d[32];
            for (unsigned q = 0; q < n; q++) {
                memset(d, 'I', n);
                d[n] = '\0';
                d[q] = 'Z';
                sum_add(o, 0.05 * (q + 1), d);
                if (q + 1 < n) {
                    d[q + 1] = 'Z';
                    sum_add(o, 0.1 * (q + 1), d);
                }
            }
        } else {
            o = random_sum(&rng, n, round == 3 ? 150 : 60, 0.7);
            if (round != 2)
                for (size_t t = 0; t < o->n_terms; t++)
                    o->x[t] = 0; /* diagonal; round 3: more high terms than one batch */
        }
        double value, portable;
        assert_ok(qml_statevec_expectation(s, o, &value));
        qml__expect_path_override = 0;
        assert_ok(qml_statevec_expectation(s, o, &portable));
        qml__expect_path_override = -1;
        assert_memory_equal(&portable, &value, sizeof value);
        /* up to 150 terms with |c| ~ 1 over 2^14 probabilities */
        assert_close(value, naive_expectation(o, psi), 1e-11);
        sum_free(o);
    }
    qml_statevec_free(s);
    free(psi);
}

/* Pauli rotations on 13 qubits (runs of 2^10 and line-by-line paths):
 * exp(-i t/2 P) psi = cos(t/2) psi - i sin(t/2) P psi, with P psi from the
 * qubit-by-qubit reference. */
static void test_pauli_rotation_large(void **unused)
{
    (void)unused;
    harness_rng rng = {616};
    const unsigned n = 13;
    const size_t dim = (size_t)1 << n;
    const char *strings[] = {
        "XIIIIIIIIYIIZ", "IIIIXIIIIIIIY", "YXIIIIIIIIIIX", "ZIIIIYIIIIIZX", "IIIIIIIIIIIYX",
        "XYZXYZXYZXYZX", "IIIIIIIIIIIIY", "IIZIIIIXIIIII", "XIIIIIIIIIIII", "IIIIIIIIIXIIY",
    };
    double *psi = malloc(2 * dim * sizeof *psi), *ppsi = malloc(2 * dim * sizeof *psi);
    double *expect = malloc(2 * dim * sizeof *psi);
    for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++) {
        random_state(&rng, dim, psi);
        qml_statevec *s = state_from(n, psi);
        qml_pauli_sum *h = sum_new(n);
        sum_add(h, 1.0, strings[k]);
        qml__gate g = make_gate(QML_GATE_PAULI_ROTATION, (unsigned[]){0}, 1, &rng);
        g.generator = h;
        double theta = 0.4 + (double)k;
        qml__statevec_apply(s, &g, theta, false);
        apply_string_naive(n, strings[k], psi, ppsi);
        double c = cos(theta / 2), sn = sin(theta / 2);
        for (size_t i = 0; i < dim; i++) {
            expect[2 * i] = c * psi[2 * i] + sn * ppsi[2 * i + 1];
            expect[2 * i + 1] = c * psi[2 * i + 1] - sn * ppsi[2 * i];
        }
        assert_vectors_close(dim, qml_statevec_data(s), expect, TOL, strings[k]);
        sum_free(h);
        qml_statevec_free(s);
    }
    free(psi);
    free(ppsi);
    free(expect);
}

/* ======================================================================== */
/* Sampling and estimates                                                   */
/* ======================================================================== */

static void test_sampling_chi_square(void **unused)
{
    (void)unused;
    harness_rng rng = {707};
    const unsigned n = 4;
    const size_t dim = 16, shots = 200000;
    double psi[32], p[16];
    random_state(&rng, dim, psi);
    qml_statevec *s = state_from(n, psi);
    assert_ok(qml_statevec_probabilities(s, p, dim));
    uint64_t *outcomes = malloc(shots * sizeof *outcomes);
    assert_ok(qml_statevec_sample(s, 12345, shots, outcomes));
    size_t counts[16] = {0};
    for (size_t k = 0; k < shots; k++) {
        assert_true(outcomes[k] < dim);
        counts[outcomes[k]]++;
    }
    double chi2 = 0;
    for (size_t i = 0; i < dim; i++) {
        double e = p[i] * (double)shots;
        chi2 += (counts[i] - e) * (counts[i] - e) / e;
    }
    /* 15 degrees of freedom; the 0.999 quantile of chi^2(15) is 37.70. With
     * this fixed seed the test is deterministic; a biased sampler (e.g. one
     * index off) gives chi^2 in the thousands. */
    if (!(chi2 < 37.70))
        fail_msg("chi-square %.2f >= 37.70 (15 dof, 0.999 quantile)", chi2);
    /* same seed, same outcomes */
    uint64_t again[100];
    assert_ok(qml_statevec_sample(s, 12345, 100, again));
    assert_memory_equal(again, outcomes, sizeof again);
    /* a basis state always gives its index */
    assert_ok(qml_statevec_set_basis(s, 11));
    assert_ok(qml_statevec_sample(s, 1, 100, again));
    for (int k = 0; k < 100; k++)
        assert_int_equal(again[k], 11);
    free(outcomes);
    qml_statevec_free(s);
}

static void test_estimate(void **unused)
{
    (void)unused;
    harness_rng rng = {808};
    const unsigned n = 5;
    const size_t dim = 32;
    double psi[64];
    random_state(&rng, dim, psi);
    qml_statevec *s = state_from(n, psi);
    qml_pauli_sum *o = random_sum(&rng, n, 12, 0.5);
    sum_add(o, 0.5, "IIIII");
    sum_add(o, 0.8, "XXIII");
    sum_add(o, 0.8, "YYIII");
    double exact, estimate, err;
    assert_ok(qml_statevec_expectation(s, o, &exact));
    assert_ok(qml_statevec_estimate(s, o, 20000, 99, &estimate, &err));
    /* The standard error is of order |c| / sqrt(shots) per group. Within 4
     * standard errors (a 6e-5 two-sided chance under normality); the seed is
     * fixed so the outcome is deterministic. */
    assert_true(err > 0 && err < 0.2);
    if (!(fabs(estimate - exact) <= 4 * err))
        fail_msg("estimate %.6f vs exact %.6f: %.2f standard errors (%.4g)", estimate, exact,
                 fabs(estimate - exact) / err, err);
    /* More shots shrink the error like 1/sqrt(shots). */
    double err4;
    assert_ok(qml_statevec_estimate(s, o, 80000, 99, &estimate, &err4));
    assert_close(err4 / err, 0.5, 0.05);
    /* An observable diagonal in the state's basis has no variance. */
    qml_pauli_sum *z = sum_new(n);
    sum_add(z, 2.0, "ZIIIZ");
    assert_ok(qml_statevec_set_basis(s, 1));
    assert_ok(qml_statevec_estimate(s, z, 100, 1, &estimate, &err));
    assert_close(estimate, -2.0, 0.0);
    assert_close(err, 0.0, 0.0);
    sum_free(z);
    sum_free(o);
    qml_statevec_free(s);
}

/* ======================================================================== */
/* Threads                                                                  */
/* ======================================================================== */

static void run_workload(qml_statevec *s, const qml_pauli_sum *o, qml_pauli_sum *rot, double out[3])
{
    harness_rng rng = {909};
    unsigned n = qml_statevec_n_qubits(s);
    for (size_t kk = 0; kk < N_KINDS; kk++) {
        unsigned q[3] = {(unsigned)kk % n, (unsigned)(kk * 7 + 3) % n, (unsigned)(kk * 5 + 11) % n};
        if (q[1] == q[0])
            q[1] = (q[0] + 1) % n;
        while (q[2] == q[0] || q[2] == q[1])
            q[2] = (q[2] + 1) % n;
        qml__gate g = make_gate(ALL_KINDS[kk], q, arity(ALL_KINDS[kk]), &rng);
        qml__statevec_apply(s, &g, 0.3 + 0.1 * (double)kk, false);
    }
    qml__gate g = make_gate(QML_GATE_PAULI_ROTATION, (unsigned[]){0}, 1, &rng);
    g.generator = rot;
    qml__statevec_apply(s, &g, 0.9, false);
    assert_ok(qml_statevec_expectation(s, o, &out[0]));
    assert_ok(qml_statevec_inner(s, s, &out[1], &out[2]));
}

static void test_thread_invariance(void **unused)
{
    (void)unused;
    const unsigned n = 18; /* threads start at 2^18 amplitudes */
    const size_t dim = (size_t)1 << n;
    harness_rng rng = {1010};
    double *psi = malloc(2 * dim * sizeof *psi);
    random_state(&rng, dim, psi);
    qml_pauli_sum *o = random_sum(&rng, n, 50, 0.7);
    qml_pauli_sum *rot = sum_new(n);
    sum_add(rot, 1.0, "XIIIIYIIIIZIIIIXII");
    double *first = malloc(2 * dim * sizeof *first), values1[3];
    for (unsigned threads = 1; threads <= 3; threads++) {
        qml_statevec *s = state_from(n, psi);
        assert_ok(qml_statevec_set_threads(s, threads));
        double values[3];
        run_workload(s, o, rot, values);
        if (threads == 1) {
            memcpy(first, qml_statevec_data(s), 2 * dim * sizeof *first);
            memcpy(values1, values, sizeof values);
        } else {
            assert_memory_equal(first, qml_statevec_data(s), 2 * dim * sizeof *first);
            assert_memory_equal(values1, values, sizeof values);
        }
        qml_statevec_free(s);
    }
    assert_ok(qml_statevec_set_threads(NULL, 1) == QML_ERR_INVALID_ARGUMENT ? QML_OK : -1);
    sum_free(o);
    sum_free(rot);
    free(first);
    free(psi);
}

/* The kernel paths chosen by position and size, each against
 * apply_local_naive on a random 12-qubit state (too large for dense
 * matrices): one-qubit gates on every qubit (qubits 5..10 prefetch their
 * blocks in address order, 1..2 unrolled, 0 adjacent pairs), diagonal gates
 * whose lowest qubit is 0..1 (line kernel) or >= 2 (run kernel, a phase of
 * -1 as a negation), controlled gates with the control below and above the
 * target. Then a diagonal observable (the expectation's vector loop) and
 * Pauli rotations with and without X bits inside a line, against the
 * naive references, and the whole workload for 1, 2 and 3 threads on 18
 * qubits with memcmp. Tolerance TOL: a handful of roundings per amplitude. */
static void test_kernel_paths(void **unused)
{
    (void)unused;
    harness_rng rng = {1212};
    const unsigned n = 12;
    const size_t dim = (size_t)1 << n;
    double *psi = malloc(2 * dim * sizeof *psi), *expect = malloc(2 * dim * sizeof *expect);
    static const qml_gate_kind one[] = {QML_GATE_RY, QML_GATE_RX, QML_GATE_H, QML_GATE_X, QML_GATE_Y,
                                        QML_GATE_SX, QML_GATE_UNITARY1, QML_GATE_Z, QML_GATE_S, QML_GATE_T,
                                        QML_GATE_RZ, QML_GATE_PHASE};
    static const qml_gate_kind two[] = {QML_GATE_RZZ, QML_GATE_CZ, QML_GATE_CRZ, QML_GATE_CNOT, QML_GATE_CRY};
    char what[64];
    for (unsigned q = 0; q < n; q++)
        for (size_t k = 0; k < sizeof one / sizeof one[0]; k++) {
            random_state(&rng, dim, psi);
            qml_statevec *s = state_from(n, psi);
            qml__gate g = make_gate(one[k], &q, 1, &rng);
            double theta = 0.3 + 0.7 * (double)k;
            qml__statevec_apply(s, &g, theta, false);
            apply_local_naive(n, &g, theta, psi, expect);
            snprintf(what, sizeof what, "one-qubit kind %d on qubit %u", (int)one[k], q);
            assert_vectors_close(dim, qml_statevec_data(s), expect, TOL, what);
            qml_statevec_free(s);
        }
    const unsigned pairs[][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 2}, {0, 7}, {7, 0}, {5, 11}, {11, 6}, {1, 10}, {9, 4}};
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++)
        for (size_t k = 0; k < sizeof two / sizeof two[0]; k++) {
            random_state(&rng, dim, psi);
            qml_statevec *s = state_from(n, psi);
            qml__gate g = make_gate(two[k], pairs[p], 2, &rng);
            double theta = -0.4 + 0.9 * (double)k;
            qml__statevec_apply(s, &g, theta, false);
            apply_local_naive(n, &g, theta, psi, expect);
            snprintf(what, sizeof what, "kind %d on qubits %u, %u", (int)two[k], pairs[p][0], pairs[p][1]);
            assert_vectors_close(dim, qml_statevec_data(s), expect, TOL, what);
            qml_statevec_free(s);
        }

    /* Z chains plus single Z's (at most two low masks per block: the
     * vector loop), and a few Pauli rotations with X bits inside a line */
    random_state(&rng, dim, psi);
    qml_statevec *s = state_from(n, psi);
    qml_pauli_sum *o = sum_new(n);
    char d[16];
    for (unsigned a = 0; a < n; a++) {
        memset(d, 'I', n);
        d[n] = '\0';
        d[a] = 'Z';
        sum_add(o, 0.25 + 0.01 * a, d);
        if (a + 1 < n) {
            d[a + 1] = 'Z';
            sum_add(o, 1.0 - 0.03 * a, d);
        }
    }
    double value, reference = naive_expectation(o, psi);
    assert_ok(qml_statevec_expectation(s, o, &value));
    assert_close(value, reference, 1e-11);
    sum_free(o);
    qml_statevec_free(s);

    const char *strings[] = {"XYIIIIIIZIIX", "IYXIIIIIIIXI", "XIIIIIIIIIII", "IIIIYIIIIIIY", "YYYYIIIIIIII"};
    double *ppsi = malloc(2 * dim * sizeof *ppsi);
    for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++) {
        random_state(&rng, dim, psi);
        s = state_from(n, psi);
        qml_pauli_sum *h = sum_new(n);
        sum_add(h, 1.0, strings[k]);
        qml__gate g = make_gate(QML_GATE_PAULI_ROTATION, (unsigned[]){0}, 1, &rng);
        g.generator = h;
        double theta = 1.1 - 0.3 * (double)k;
        qml__statevec_apply(s, &g, theta, false);
        apply_string_naive(n, strings[k], psi, ppsi);
        double c = cos(theta / 2), sn = sin(theta / 2);
        for (size_t i = 0; i < dim; i++) {
            expect[2 * i] = c * psi[2 * i] + sn * ppsi[2 * i + 1];
            expect[2 * i + 1] = c * psi[2 * i + 1] - sn * ppsi[2 * i];
        }
        assert_vectors_close(dim, qml_statevec_data(s), expect, TOL, strings[k]);
        sum_free(h);
        qml_statevec_free(s);
    }
    free(ppsi);
    free(psi);
    free(expect);

    /* the same paths on 18 qubits (threads start there): same bits for 1, 2, 3 threads */
    const unsigned big = 18;
    const size_t big_dim = (size_t)1 << big;
    double *start = malloc(2 * big_dim * sizeof *start), *first = malloc(2 * big_dim * sizeof *first);
    random_state(&rng, big_dim, start);
    qml_pauli_sum *zz = sum_new(big), *rot = sum_new(big);
    char dd[32];
    for (unsigned a = 0; a + 1 < big; a++) {
        memset(dd, 'I', big);
        dd[big] = '\0';
        dd[a] = dd[a + 1] = 'Z';
        sum_add(zz, 0.5 + a, dd);
    }
    sum_add(rot, 1.0, "XYIIIIIIZIIIIIIIIX");
    double first_value = 0.0;
    for (unsigned threads = 1; threads <= 3; threads++) {
        qml_statevec *t = state_from(big, start);
        assert_ok(qml_statevec_set_threads(t, threads));
        harness_rng gate_rng = {77};
        for (unsigned q = 0; q < big; q++) {
            qml__gate g = make_gate(q % 2 ? QML_GATE_RY : QML_GATE_UNITARY1, &q, 1, &gate_rng);
            qml__statevec_apply(t, &g, 0.2 + q, false);
            unsigned b[2] = {q, (q + 1) % big};
            qml__gate z = make_gate(q % 3 ? QML_GATE_RZZ : QML_GATE_CZ, b, 2, &gate_rng);
            qml__statevec_apply(t, &z, 0.1 * q, false);
        }
        qml__gate g = make_gate(QML_GATE_PAULI_ROTATION, (unsigned[]){0}, 1, &gate_rng);
        g.generator = rot;
        qml__statevec_apply(t, &g, 0.7, false);
        double v;
        assert_ok(qml_statevec_expectation(t, zz, &v));
        if (threads == 1) {
            memcpy(first, qml_statevec_data(t), 2 * big_dim * sizeof *first);
            first_value = v;
        } else {
            assert_memory_equal(first, qml_statevec_data(t), 2 * big_dim * sizeof *first);
            assert_memory_equal(&first_value, &v, sizeof v);
        }
        qml_statevec_free(t);
    }
    sum_free(zz);
    sum_free(rot);
    free(start);
    free(first);
}

/* The worker pool: nested calls (a range that calls qml__parallel_for
 * again, as a kernel inside a batch row does) finish on the calling thread
 * without deadlock and cover every item once; two program threads running
 * 2-thread kernels at once (one of them finds the pool busy and works
 * alone) get the bits of a 1-thread run; growing the pool from 2 to 4
 * workers and back changes nothing. */
typedef struct pool_probe {
    unsigned *hits;
    size_t n;
} pool_probe;

static void probe_inner(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    pool_probe *probe = context;
    for (size_t i = begin; i < end; i++)
        probe->hits[i]++;
}

static void probe_outer(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    pool_probe *probe = context;
    for (size_t i = begin; i < end; i++) {
        pool_probe inner = {probe->hits + 64 * i, 64};
        qml__parallel_for(3, 64, 8, probe_inner, &inner);
    }
}

typedef struct pool_run {
    const double *start;
    unsigned n;
    unsigned threads;
    double *result;
} pool_run;

static int pool_run_main(void *arg)
{
    pool_run *run = arg;
    qml_statevec *s = state_from(run->n, run->start);
    qml_statevec_set_threads(s, run->threads);
    harness_rng gate_rng = {5};
    for (unsigned q = 0; q < run->n; q++) {
        qml__gate g = make_gate(QML_GATE_RY, &q, 1, &gate_rng);
        qml__statevec_apply(s, &g, 0.3 + q, false);
        unsigned b[2] = {q, (q + 1) % run->n};
        qml__gate c = make_gate(QML_GATE_CNOT, b, 2, &gate_rng);
        qml__statevec_apply(s, &c, 0.0, false);
    }
    memcpy(run->result, qml_statevec_data(s), 2 * ((size_t)1 << run->n) * sizeof(double));
    qml_statevec_free(s);
    return 0;
}

static void test_worker_pool(void **unused)
{
    (void)unused;
    unsigned hits[16 * 64] = {0};
    pool_probe outer = {hits, 16};
    assert_int_equal(qml__parallel_for(2, 16, 1, probe_outer, &outer), 2);
    for (size_t i = 0; i < 16 * 64; i++)
        assert_int_equal(hits[i], 1);

    const unsigned n = 18;
    const size_t dim = (size_t)1 << n;
    harness_rng rng = {1717};
    double *start = malloc(2 * dim * sizeof *start);
    random_state(&rng, dim, start);
    double *reference = malloc(2 * dim * sizeof *reference);
    pool_run base = {start, n, 1, reference};
    pool_run_main(&base);
    for (unsigned threads = 2; threads <= 4; threads += 2) {
        double *a = malloc(2 * dim * sizeof *a), *b = malloc(2 * dim * sizeof *b);
        pool_run ra = {start, n, threads, a}, rb = {start, n, 2, b};
        thrd_t t;
        assert_int_equal(thrd_create(&t, pool_run_main, &ra), thrd_success);
        pool_run_main(&rb);
        assert_int_equal(thrd_join(t, NULL), thrd_success);
        assert_memory_equal(a, reference, 2 * dim * sizeof *a);
        assert_memory_equal(b, reference, 2 * dim * sizeof *b);
        free(a);
        free(b);
    }
    free(start);
    free(reference);
}

/* ======================================================================== */
/* Validation and allocation failures                                       */
/* ======================================================================== */

static void test_validation(void **unused)
{
    (void)unused;
    qml_statevec *s = NULL;
    clock_t start = clock();
    assert_status(qml_statevec_create(&s, 60), QML_ERR_LIMIT);
    assert_non_null(strstr(qml_last_error(), "60"));
    assert_status(qml_statevec_create(&s, 41), QML_ERR_LIMIT);
    /* 2^39 * 16 bytes = 8 TiB: more than this machine's memory */
    assert_status(qml_statevec_create(&s, 39), QML_ERR_LIMIT);
    assert_non_null(strstr(qml_last_error(), "bytes"));
    assert_true((double)(clock() - start) / CLOCKS_PER_SEC < 0.5);
    assert_status(qml_statevec_create(&s, 0), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_create(NULL, 3), QML_ERR_INVALID_ARGUMENT);
    assert_null(s);

    assert_ok(qml_statevec_create(&s, 3));
    assert_int_equal(qml_statevec_n_qubits(s), 3);
    double amps[16] = {0}, probs[8];
    assert_ok(qml_statevec_amplitudes(s, amps, 8));
    assert_true(amps[0] == 1.0);
    assert_status(qml_statevec_amplitudes(s, amps, 7), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_probabilities(s, probs, 9), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_set_amplitudes(s, amps, 4, 1e-10), QML_ERR_INVALID_ARGUMENT);
    amps[0] = 0.9;
    assert_status(qml_statevec_set_amplitudes(s, amps, 8, 1e-10), QML_ERR_NOT_NORMALIZED);
    amps[0] = NAN;
    assert_status(qml_statevec_set_amplitudes(s, amps, 8, 1e-10), QML_ERR_INVALID_ARGUMENT);
    amps[0] = 0.6;
    amps[3] = 0.8; /* 0.6|0> + 0.8i|1> */
    assert_ok(qml_statevec_set_amplitudes(s, amps, 8, 1e-12));
    assert_ok(qml_statevec_probabilities(s, probs, 8));
    assert_close(probs[0], 0.36, 1e-15);
    assert_close(probs[1], 0.64, 1e-15);
    assert_status(qml_statevec_set_amplitudes(s, amps, 8, NAN), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_set_basis(s, 8), QML_ERR_OUT_OF_RANGE);
    assert_ok(qml_statevec_set_basis(s, 7));
    assert_true(qml_statevec_data(s)[14] == 1.0);
    assert_ok(qml_statevec_set_zero(s));
    assert_true(qml_statevec_data(s)[0] == 1.0);
    assert_null(qml_statevec_data(NULL));
    assert_int_equal(qml_statevec_n_qubits(NULL), 0);

    qml_pauli_sum *big = sum_new(4), *ok = sum_new(3);
    sum_add(big, 1.0, "ZZZZ");
    sum_add(ok, NAN, "ZII");
    double v, e;
    assert_status(qml_statevec_expectation(s, big, &v), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_expectation(s, ok, &v), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_expectation(s, NULL, &v), QML_ERR_INVALID_ARGUMENT);
    ok->coeff[0] = 1.0;
    assert_status(qml_statevec_expectation(s, ok, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_ok(qml_statevec_expectation(s, ok, &v));
    assert_close(v, 1.0, 0.0);
    assert_status(qml_statevec_estimate(s, ok, 1, 0, &v, &e), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_estimate(s, big, 10, 0, &v, &e), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_sample(s, 0, 10, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_sample(NULL, 0, 0, NULL), QML_ERR_INVALID_ARGUMENT);

    qml_statevec *t = NULL;
    assert_ok(qml_statevec_create(&t, 2));
    double re, im;
    assert_status(qml_statevec_inner(s, t, &re, &im), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_inner(s, s, NULL, &im), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_copy(NULL, s), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_set_threads(NULL, 2), QML_ERR_INVALID_ARGUMENT);
    assert_ok(qml_statevec_set_threads(s, 0));
    qml_statevec_free(t);
    qml_statevec_free(NULL);
    sum_free(big);
    sum_free(ok);
    qml_statevec_free(s);
}

/* qml_statevec_run on a template circuit with weights and features equals
 * the dense product of its gates' matrices at their angles. */
static void test_run_circuit(void **unused)
{
    (void)unused;
    harness_rng rng = {1111};
    const unsigned n = 4;
    const size_t dim = 16;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    assert_ok(qml_ansatz_angle_encoding(c, QML_GATE_RX, 2, 0.7));
    assert_ok(qml_ansatz_hardware_efficient(c, 2, QML_ENTANGLER_CNOT, QML_BOUNDARY_PERIODIC));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_CRY, (unsigned[]){3, 0}, 2, 0.1, 0, 2.0, 1, -0.5));
    qml_pauli_sum *h = NULL;
    assert_ok(qml_pauli_sum_parse(&h, n, "X0 Y1 Z3 + 0.5 Z0 Z1"));
    assert_ok(qml_circuit_add_pauli_rotation(c, h, 0.2, 1, 1.0, QML_NONE, 0.0));
    size_t nw = qml_circuit_n_weights(c), nf = qml_circuit_n_features(c);
    assert_int_equal(nf, 2);
    double w[64], x[2] = {0.3, -1.1};
    for (size_t k = 0; k < nw; k++)
        w[k] = 2 * harness_uniform(&rng) - 1;
    qml_statevec *s = NULL;
    assert_ok(qml_statevec_create(&s, n));
    assert_ok(qml_statevec_run(s, c, w, nw, x, nf));
    double psi[32] = {1}, tmp[32], *gm = malloc(2 * dim * dim * sizeof *gm);
    for (size_t g = 0; g < c->n_gates; g++) {
        const qml__gate *gate = &c->gates[g];
        double theta = qml__gate_is_parametrised(gate->kind) ? qml__gate_angle(gate, w, x) : 0.0;
        gate_dense(n, gate, theta, gm);
        harness_matvec(dim, gm, psi, tmp);
        memcpy(psi, tmp, sizeof psi);
    }
    assert_vectors_close(dim, qml_statevec_data(s), psi, TOL, "qml_statevec_run");
    /* apply_gate one by one gives the same bits as run */
    qml_statevec *t = NULL;
    assert_ok(qml_statevec_create(&t, n));
    for (size_t g = 0; g < c->n_gates; g++)
        assert_ok(qml_statevec_apply_gate(t, c, g, w, nw, x, nf));
    assert_memory_equal(qml_statevec_data(t), qml_statevec_data(s), 2 * dim * sizeof(double));

    /* validation */
    assert_status(qml_statevec_apply_gate(t, c, c->n_gates, w, nw, x, nf), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_statevec_run(t, c, w, nw - 1, x, nf), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_statevec_run(t, c, NULL, nw, x, nf), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_run(t, NULL, w, nw, x, nf), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_statevec_run(NULL, c, w, nw, x, nf), QML_ERR_INVALID_ARGUMENT);
    w[0] = NAN;
    assert_status(qml_statevec_run(t, c, w, nw, x, nf), QML_ERR_INVALID_ARGUMENT);
    w[0] = 0.5;
    x[1] = INFINITY;
    assert_status(qml_statevec_apply_gate(t, c, 0, w, nw, x, nf), QML_ERR_INVALID_ARGUMENT);
    qml_statevec *big = NULL;
    assert_ok(qml_statevec_create(&big, n + 1));
    x[1] = 0.0;
    assert_status(qml_statevec_run(big, c, w, nw, x, nf), QML_ERR_INVALID_ARGUMENT);
    qml_statevec_free(big);
    qml_statevec_free(t);
    qml_statevec_free(s);
    qml_pauli_sum_free(h);
    qml_circuit_free(c);
    free(gm);
}

typedef struct alloc_context {
    qml_pauli_sum *observable;
} alloc_context;

static int sequence_statevec(void *context)
{
    alloc_context *c = context;
    qml_statevec *s = NULL, *copy = NULL;
    qml_circuit *circuit = NULL;
    int status = qml_statevec_create(&s, 4);
    if (status)
        return status;
    status = qml_circuit_create(&circuit, 4);
    if (!status)
        status = qml_ansatz_hardware_efficient(circuit, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN);
    double weights[8] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
    if (!status)
        status = qml_statevec_run(s, circuit, weights, 8, NULL, 0);
    if (!status)
        status = qml_statevec_copy(&copy, s);
    double v, e;
    uint64_t outcomes[8];
    if (!status)
        status = qml_statevec_expectation(s, c->observable, &v);
    if (!status)
        status = qml_statevec_sample(s, 1, 8, outcomes);
    if (!status)
        status = qml_statevec_estimate(s, c->observable, 16, 1, &v, &e);
    qml_statevec_free(copy);
    qml_statevec_free(s);
    qml_circuit_free(circuit);
    return status;
}

static void test_allocation_failures(void **unused)
{
    (void)unused;
    alloc_context c = {sum_new(4)};
    sum_add(c.observable, 1.0, "XYZI");
    sum_add(c.observable, 0.5, "ZZII");
    sum_add(c.observable, 0.5, "IIII");
    int runs = harness_check_allocation_failures(sequence_statevec, &c);
    assert_true(runs >= 8);
    sum_free(c.observable);
}

/* ======================================================================== */
/* Gate fusion (fusion.c)                                                   */
/* ======================================================================== */

/* A circuit over `gates` (angles in `constant`, no weights) for the fused run. */
static qml_circuit circuit_over(unsigned n, qml__gate *gates, size_t count)
{
    qml_circuit c;
    memset(&c, 0, sizeof c);
    c.n_qubits = n;
    c.n_gates = c.capacity = count;
    c.gates = gates;
    return c;
}

/* `count` random gates of every kind on distinct qubits drawn from `pool`,
 * angles in [-3, 3); a Pauli rotation (never fused) every 23rd gate when
 * `rot` is given. */
static void random_gates(harness_rng *rng, const unsigned *pool, unsigned pool_size, qml__gate *gates, size_t count,
                         qml_pauli_sum *rot)
{
    for (size_t i = 0; i < count; i++) {
        qml_gate_kind kind;
        do
            kind = ALL_KINDS[harness_next(rng) % N_KINDS];
        while (arity(kind) > pool_size);
        unsigned q[3], k = arity(kind);
        for (unsigned j = 0; j < k; j++) {
            bool fresh;
            do {
                q[j] = pool[harness_next(rng) % pool_size];
                fresh = true;
                for (unsigned t = 0; t < j; t++)
                    fresh = fresh && q[t] != q[j];
            } while (!fresh);
        }
        gates[i] = make_gate(kind, q, k, rng);
        if (rot && i % 23 == 22) {
            gates[i].kind = QML_GATE_PAULI_ROTATION;
            gates[i].generator = rot;
        }
        gates[i].constant = 6.0 * harness_uniform(rng) - 3.0;
    }
}

/* Fused runs of `gates` at every width and kernel path against the dense
 * product (independent matrices) and the gate-by-gate run; the inverse
 * fused run must give the start state back. */
static void check_fused(unsigned n, qml__gate *gates, size_t count, harness_rng *rng, const char *what)
{
    size_t dim = (size_t)1 << n;
    double *psi = malloc(2 * dim * sizeof *psi), *expect = malloc(2 * dim * sizeof *expect);
    double *tmp = malloc(2 * dim * sizeof *tmp), *full = malloc(2 * dim * dim * sizeof *full);
    random_state(rng, dim, psi);
    memcpy(expect, psi, 2 * dim * sizeof *psi);
    for (size_t i = 0; i < count; i++) {
        gate_dense(n, &gates[i], gates[i].constant, full);
        harness_matvec(dim, full, expect, tmp);
        memcpy(expect, tmp, 2 * dim * sizeof *tmp);
    }
    qml_circuit c = circuit_over(n, gates, count);
    qml_statevec *plain = state_from(n, psi);
    for (size_t i = 0; i < count; i++)
        qml__statevec_apply(plain, &gates[i], gates[i].constant, false);
    /* dense products of up to 60 gates: ~60 roundings per amplitude in both */
    assert_vectors_close(dim, qml_statevec_data(plain), expect, TOL, what);
    for (unsigned width = 2; width <= QML__FUSE_MAX_WIDTH && width <= n; width++)
        for (int path = 0; path <= qml__fusion_path(); path++) {
            char label[128];
            snprintf(label, sizeof label, "%s, width %u, path %d", what, width, path);
            qml_statevec *s = state_from(n, psi);
            size_t passes = qml__statevec_run_fused(s, &c, 0, count, NULL, NULL, width, false, path);
            assert_true(passes <= count);
            /* the fused and unfused runs differ by the order of a few
             * roundings per gate: 1e-13 on states of norm 1 */
            assert_vectors_close(dim, qml_statevec_data(s), qml_statevec_data(plain), 1e-13, label);
            assert_vectors_close(dim, qml_statevec_data(s), expect, TOL, label);
            qml__statevec_run_fused(s, &c, 0, count, NULL, NULL, width, true, path);
            assert_vectors_close(dim, qml_statevec_data(s), psi, TOL, label);
            qml_statevec_free(s);
        }
    qml_statevec_free(plain);
    free(psi);
    free(expect);
    free(tmp);
    free(full);
}

static void test_fusion_dense(void **unused)
{
    (void)unused;
    harness_rng rng = {1515};
    const unsigned n = 7;
    qml_pauli_sum *rot = sum_new(n);
    sum_add(rot, 1.0, "XIZIIYI");
    qml__gate gates[60];
    unsigned all[7] = {0, 1, 2, 3, 4, 5, 6};
    for (int rep = 0; rep < 4; rep++) {
        random_gates(&rng, all, n, gates, 60, rot);
        check_fused(n, gates, 60, &rng, "random circuit on 7 qubits");
    }
    /* every window of w consecutive qubits (blocks inside, across and above
     * the low qubits 0-4 with their own kernels), and scattered sets */
    for (unsigned w = 2; w <= 5; w++)
        for (unsigned start = 0; start + w <= n; start++) {
            unsigned pool[5];
            for (unsigned j = 0; j < w; j++)
                pool[j] = start + j;
            random_gates(&rng, pool, w, gates, 24, NULL);
            char label[64];
            snprintf(label, sizeof label, "qubits %u..%u", start, start + w - 1);
            check_fused(n, gates, 24, &rng, label);
        }
    static const unsigned scattered[][4] = {{0, 6, 0, 0}, {1, 5, 0, 0}, {0, 3, 6, 0}, {2, 4, 5, 0}, {0, 1, 5, 6}};
    static const unsigned scattered_size[] = {2, 2, 3, 3, 4};
    for (size_t i = 0; i < sizeof scattered_size / sizeof scattered_size[0]; i++) {
        random_gates(&rng, scattered[i], scattered_size[i], gates, 24, NULL);
        check_fused(n, gates, 24, &rng, "scattered qubits");
    }
    /* a diagonal run (one diagonal pass) and a real run (RY + CNOT ladder) */
    unsigned q[2];
    for (unsigned i = 0; i < 12; i++) {
        q[0] = i % n, q[1] = (i + 1) % n;
        gates[i] = make_gate(i % 3 == 0 ? QML_GATE_RZZ : i % 3 == 1 ? QML_GATE_CZ : QML_GATE_RZ, q,
                             i % 3 == 2 ? 1 : 2, &rng);
        gates[i].constant = 0.3 + 0.1 * i;
    }
    check_fused(n, gates, 12, &rng, "diagonal run");
    for (unsigned i = 0; i < n; i++) {
        q[0] = i;
        gates[i] = make_gate(QML_GATE_RY, q, 1, &rng);
        gates[i].constant = 0.2 + 0.37 * i;
    }
    for (unsigned i = 0; i + 1 < n; i++) {
        q[0] = i, q[1] = i + 1;
        gates[n + i] = make_gate(QML_GATE_CNOT, q, 2, &rng);
    }
    check_fused(n, gates, 2 * n - 1, &rng, "RY + CNOT ladder");
    sum_free(rot);
}

/* qml_statevec_run fuses from QML__FUSE_MIN_QUBITS on: the same bits for 1,
 * 2 and 3 threads (n = 18, where the kernels split; the low blocks' cache
 * tiles are split over the threads too) and without the tiles, 1e-13 from
 * the gate-by-gate run. */
static void test_fusion_run_threads(void **unused)
{
    (void)unused;
    const unsigned n = 18;
    const size_t dim = (size_t)1 << n;
    assert_true(qml__fusion_width(n) >= 2);
    harness_rng rng = {1616};
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    double w[64];
    size_t n_w = 0;
    for (int layer = 0; layer < 2; layer++) {
        for (unsigned i = 0; i < n; i++) {
            w[n_w] = 2.0 * harness_uniform(&rng) - 1.0;
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &i, 1, 0.0, (int64_t)n_w, 1.0, QML_NONE, 0.0));
            n_w++;
        }
        for (unsigned i = 0; i + 1 < n; i++) {
            unsigned q[2] = {i, i + 1};
            assert_ok(qml_circuit_add_gate(c, layer ? QML_GATE_CZ : QML_GATE_CNOT, q, 2));
        }
        unsigned h = 3, sw[2] = {4, 12};
        assert_ok(qml_circuit_add_gate(c, QML_GATE_H, &h, 1));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_ISWAP, sw, 2));
    }
    double *first = malloc(2 * dim * sizeof *first);
    for (unsigned threads = 1; threads <= 3; threads++) {
        qml_statevec *s = NULL;
        assert_ok(qml_statevec_create(&s, n));
        assert_ok(qml_statevec_set_threads(s, threads));
        assert_ok(qml_statevec_run(s, c, w, n_w, NULL, 0));
        if (threads == 1)
            memcpy(first, qml_statevec_data(s), 2 * dim * sizeof *first);
        else
            assert_memory_equal(first, qml_statevec_data(s), 2 * dim * sizeof *first);
        qml_statevec_free(s);
    }
    /* the low blocks' cache tiles, now split over the threads, against
     * the same blocks applied one by one (no tiles): the same bits */
    qml__fusion_tiling = false;
    for (unsigned threads = 1; threads <= 2; threads++) {
        qml_statevec *s = NULL;
        assert_ok(qml_statevec_create(&s, n));
        assert_ok(qml_statevec_set_threads(s, threads));
        assert_ok(qml_statevec_run(s, c, w, n_w, NULL, 0));
        assert_memory_equal(first, qml_statevec_data(s), 2 * dim * sizeof *first);
        qml_statevec_free(s);
    }
    qml__fusion_tiling = true;
    qml_statevec *plain = NULL;
    assert_ok(qml_statevec_create(&plain, n));
    for (size_t g = 0; g < c->n_gates; g++) {
        const qml__gate *gate = &c->gates[g];
        double theta = qml__gate_is_parametrised(gate->kind) ? qml__gate_angle(gate, w, NULL) : 0.0;
        qml__statevec_apply(plain, gate, theta, false);
    }
    assert_vectors_close(dim, first, qml_statevec_data(plain), 1e-13, "fused run of 2 layers at n = 18");
    qml_statevec_free(plain);
    qml_circuit_free(c);
    free(first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_gate_every_position),
        cmocka_unit_test(test_pauli_gates),
        cmocka_unit_test(test_generators),
        cmocka_unit_test(test_random_circuit),
        cmocka_unit_test(test_expectation_dense),
        cmocka_unit_test(test_expectation_large),
        cmocka_unit_test(test_expectation_paths),
        cmocka_unit_test(test_apply_pauli_sum_large),
        cmocka_unit_test(test_pauli_rotation_large),
        cmocka_unit_test(test_sampling_chi_square),
        cmocka_unit_test(test_estimate),
        cmocka_unit_test(test_thread_invariance),
        cmocka_unit_test(test_kernel_paths),
        cmocka_unit_test(test_worker_pool),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_run_circuit),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_fusion_dense),
        cmocka_unit_test(test_fusion_run_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_gsim.c: the algebraic backends (g-sim and the symmetric subspace)
 * against the statevector, which is an independent simulator of the same
 * circuits: values and gradients to 1e-10 at n <= 12 over random
 * parameters (rounding of both is ~1e-14 per gate; 1e-10 leaves room for
 * the hundreds of gates here), the backend choice, the refusals and their
 * messages, thread-count independence, and the failing-allocator sweep.
 */
#include "harness.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-10
#define TWO_PI 6.283185307179586476925

/* Compare backend `b` with the statevector on one input: value, weight and
 * feature gradients. */
static void compare(const qml_circuit *c, const qml_pauli_sum *o, const qml_statevec *init, qml_backend b,
                    harness_rng *rng)
{
    size_t nw = qml_circuit_n_weights(c), nf = qml_circuit_n_features(c);
    double *w = calloc(nw + 1, sizeof *w), *x = calloc(nf + 1, sizeof *x);
    double *g0 = calloc(nw + 1, sizeof *g0), *g1 = calloc(nw + 1, sizeof *g1);
    double *f0 = calloc(nf + 1, sizeof *f0), *f1 = calloc(nf + 1, sizeof *f1);
    assert_true(w && x && g0 && g1 && f0 && f1);
    for (size_t k = 0; k < nw; k++)
        w[k] = TWO_PI * harness_uniform(rng);
    for (size_t k = 0; k < nf; k++)
        x[k] = 2 * harness_uniform(rng) - 1;
    qml_gradient_options sv = QML_GRADIENT_OPTIONS_INIT, alg = QML_GRADIENT_OPTIONS_INIT;
    sv.feature_gradients = alg.feature_gradients = 1;
    alg.backend = b;
    double v0 = 0, v1 = 0;
    assert_ok(qml_gradient(c, o, init, w, nw, x, nf, &sv, &v0, g0, f0));
    assert_ok(qml_gradient(c, o, init, w, nw, x, nf, &alg, &v1, g1, f1));
    assert_close(v1, v0, TOL);
    for (size_t k = 0; k < nw; k++)
        assert_close(g1[k], g0[k], TOL);
    for (size_t k = 0; k < nf; k++)
        assert_close(f1[k], f0[k], TOL);
    free(w), free(x), free(g0), free(g1), free(f0), free(f1);
}

static qml_pauli_sum *parse(unsigned n, const char *text)
{
    qml_pauli_sum *s = NULL;
    assert_ok(qml_pauli_sum_parse(&s, n, text));
    return s;
}

static qml_backend chosen(const qml_circuit *c, const qml_pauli_sum *o, const qml_statevec *init, qml_backend b,
                          double *dim)
{
    qml_backend out = QML_BACKEND_STATEVECTOR;
    assert_ok(qml_backend_select(c, o, init, b, &out, dim));
    return out;
}

/* ---- g-sim ------------------------------------------------------------------ */

static void test_free_fermion(void **state)
{
    (void)state;
    harness_rng rng = {11};
    for (unsigned n = 2; n <= 10; n += 4) {
        qml_model *m = NULL;
        assert_ok(qml_model_create_template(&m, QML_MODEL_FREE_FERMION, n, 3, n > 2 ? 3 : 2, QML_LOSS_MSE));
        const qml_circuit *c = qml_model_circuit(m);
        double dim = 0;
        assert_int_equal(chosen(c, qml_model_readout(m), NULL, QML_BACKEND_GSIM, &dim), QML_BACKEND_GSIM);
        assert_true(dim == n * (2.0 * n - 1)); /* Z0 Z1 is quadratic in Majoranas: all of so(2n) */
        for (int trial = 0; trial < 3; trial++)
            compare(c, qml_model_readout(m), NULL, QML_BACKEND_GSIM, &rng);
        /* Z0 is a single Majorana operator: its module is the 2n linear ones. */
        qml_pauli_sum *z0 = parse(n, "Z0");
        assert_int_equal(chosen(c, z0, NULL, QML_BACKEND_GSIM, &dim), QML_BACKEND_GSIM);
        assert_true(dim == 2.0 * n);
        compare(c, z0, NULL, QML_BACKEND_GSIM, &rng);
        qml_pauli_sum_free(z0);
        /* AUTO: the symmetric backend does not apply; g-sim where its n (2n - 1)
         * strings are fewer than the 2^n amplitudes. */
        assert_int_equal(chosen(c, qml_model_readout(m), NULL, QML_BACKEND_AUTO, NULL),
                         n * (2.0 * n - 1) <= ldexp(1, (int)n) ? QML_BACKEND_GSIM : QML_BACKEND_STATEVECTOR);
        qml_model_free(m);
    }
}

/* Periodic TFIM with local weights (RZZ on every bond of the ring, RX on
 * every qubit) and the global periodic TFIM family, from |0> and from a
 * random initial state. */
static void test_tfim(void **state)
{
    (void)state;
    harness_rng rng = {12};
    for (unsigned n = 3; n <= 7; n += 2) {
        qml_circuit *c = NULL;
        assert_ok(qml_circuit_create(&c, n));
        long w = 0;
        for (int layer = 0; layer < 3; layer++) {
            for (unsigned q = 0; q < n; q++) {
                unsigned pair[2] = {q, (q + 1) % n};
                assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZZ, pair, 2, 0.1, w++, 0.5 + q % 2, QML_NONE, 0));
            }
            for (unsigned q = 0; q < n; q++)
                assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q, 1, 0, w++, 1.0, QML_NONE, 0));
        }
        qml_pauli_sum *o = parse(n, "Z0 Z1 + 0.5*X2 - 0.25");
        compare(c, o, NULL, QML_BACKEND_GSIM, &rng);
        /* a random initial state */
        qml_statevec *init = NULL;
        assert_ok(qml_statevec_create(&init, n));
        size_t d = (size_t)1 << n;
        double *amp = calloc(2 * d, sizeof *amp), norm = 0;
        for (size_t i = 0; i < 2 * d; i++)
            {
                amp[i] = harness_normal(&rng);
                norm += amp[i] * amp[i];
            }
        for (size_t i = 0; i < 2 * d; i++)
            amp[i] /= sqrt(norm);
        assert_ok(qml_statevec_set_amplitudes(init, amp, d, 1e-12));
        compare(c, o, init, QML_BACKEND_GSIM, &rng);
        /* AUTO with a given state: reading it costs 2^n per string, so g-sim
         * is chosen only for a module smaller than the gate count. */
        double dim = 0;
        assert_int_equal(chosen(c, o, init, QML_BACKEND_GSIM, &dim), QML_BACKEND_GSIM);
        assert_int_equal(chosen(c, o, init, QML_BACKEND_AUTO, NULL),
                         dim <= (double)qml_circuit_n_gates(c) && dim <= ldexp(1, (int)n) ? QML_BACKEND_GSIM
                                                                                          : QML_BACKEND_STATEVECTOR);
        free(amp);
        qml_statevec_free(init);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);

        assert_ok(qml_circuit_create(&c, n));
        assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_TFIM_GLOBAL, 4));
        o = parse(n, "X0");
        compare(c, o, NULL, QML_BACKEND_GSIM, &rng);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
}

/* A larger chain (n = 12) and every gate kind whose generator is a Pauli
 * string or a sum of commuting strings (CRX: (I - Z) X / 2; PHASE: Z - I). */
static void test_gate_kinds(void **state)
{
    (void)state;
    harness_rng rng = {13};
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_FREE_FERMION, 12, 2, 4, QML_LOSS_MSE));
    compare(qml_model_circuit(m), qml_model_readout(m), NULL, QML_BACKEND_GSIM, &rng);
    qml_model_free(m);

    qml_circuit *c = NULL;
    unsigned q0 = 0, q1 = 1, pair[2] = {0, 1}, rev[2] = {2, 1};
    assert_ok(qml_circuit_create(&c, 3));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q0, 1, 0.3, 0, 1.0, 0, 0.5));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_CRX, pair, 2, 0.0, 1, -1.5, QML_NONE, 0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RXX, rev, 2, 0.0, 2, 1.0, 1, 1.0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_PHASE, &q1, 1, 0.0, 0, 2.0, QML_NONE, 0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RYY, pair, 2, 0.0, 3, 1.0, QML_NONE, 0));
    assert_ok(qml_circuit_add_gate(c, QML_GATE_I, &q1, 1));
    qml_pauli_sum *h = parse(3, "0.5*Z0 Z1 + X2 - 0.3*Z0 Z1 X2");
    assert_ok(qml_circuit_add_pauli_rotation(c, h, 0.2, 4, 0.7, QML_NONE, 0));
    qml_pauli_sum *o = parse(3, "Z0 + 0.5*X1 + Y0 Y1 Z2 + 2");
    for (int trial = 0; trial < 4; trial++)
        compare(c, o, NULL, QML_BACKEND_GSIM, &rng);
    /* The statevector stays the choice of AUTO where the module is not
     * smaller than 2^n. */
    double dim = 0;
    assert_int_equal(chosen(c, o, NULL, QML_BACKEND_GSIM, &dim), QML_BACKEND_GSIM);
    assert_true(dim > 8);
    assert_int_equal(chosen(c, o, NULL, QML_BACKEND_AUTO, &dim), QML_BACKEND_STATEVECTOR);
    assert_true(dim == 8);
    qml_pauli_sum_free(h);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
}

/* ---- the symmetric subspace ---------------------------------------------- */

static void test_symmetric(void **state)
{
    (void)state;
    harness_rng rng = {14};
    for (unsigned n = 2; n <= 9; n += 7) {
        qml_model *m = NULL;
        assert_ok(qml_model_create_template(&m, QML_MODEL_PERMUTATION, n, 3, 2, QML_LOSS_BCE));
        const qml_circuit *c = qml_model_circuit(m);
        double dim = 0;
        assert_int_equal(chosen(c, qml_model_readout(m), NULL, QML_BACKEND_AUTO, &dim), QML_BACKEND_SYMMETRIC);
        assert_true(dim == n + 1.0);
        for (int trial = 0; trial < 3; trial++)
            compare(c, qml_model_readout(m), NULL, QML_BACKEND_SYMMETRIC, &rng);
        qml_model_free(m);
    }
    /* The S_n family (sum_{i<j} ZZ, sum X, sum Z), a readout with every
     * collective term, from |+>^n (symmetric, not a basis state). */
    unsigned n = 6;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_SN, 3));
    qml_pauli_sum *sy = parse(n, "Y0 + Y1 + Y2 + Y3 + Y4 + Y5");
    assert_ok(qml_circuit_add_pauli_rotation(c, sy, 0.1, 0, 0.5, QML_NONE, 0));
    qml_pauli_sum *o = parse(n, "0.5*X0 + 0.5*X1 + 0.5*X2 + 0.5*X3 + 0.5*X4 + 0.5*X5 + Z0 Z5 + Z0 Z1 + Z0 Z2 + Z0 Z3 + "
                                "Z0 Z4 + Z1 Z2 + Z1 Z3 + Z1 Z4 + Z1 Z5 + Z2 Z3 + Z2 Z4 + Z2 Z5 + Z3 Z4 + Z3 Z5 + Z4 Z5 + "
                                "-0.3*Y0 - 0.3*Y1 - 0.3*Y2 - 0.3*Y3 - 0.3*Y4 - 0.3*Y5 + 1.5");
    qml_statevec *plus = NULL;
    assert_ok(qml_statevec_create(&plus, n));
    size_t d = (size_t)1 << n;
    double *amp = calloc(2 * d, sizeof *amp);
    for (size_t i = 0; i < d; i++)
        amp[2 * i] = 1 / sqrt((double)d);
    assert_ok(qml_statevec_set_amplitudes(plus, amp, d, 1e-12));
    for (int trial = 0; trial < 3; trial++) {
        compare(c, o, NULL, QML_BACKEND_SYMMETRIC, &rng);
        compare(c, o, plus, QML_BACKEND_SYMMETRIC, &rng);
    }
    /* g-sim runs it too (n = 6: the module is large but below the limit). */
    compare(c, o, NULL, QML_BACKEND_GSIM, &rng);
    /* A state outside the symmetric subspace is refused, and AUTO falls back. */
    amp[0] = 1, amp[2] = 0;
    for (size_t i = 1; i < d; i++)
        amp[2 * i] = 0;
    amp[0] = 0, amp[2] = 1; /* |100000>: one excitation on qubit 0 only */
    assert_ok(qml_statevec_set_amplitudes(plus, amp, d, 1e-12));
    qml_backend out;
    assert_int_equal(qml_backend_select(c, o, plus, QML_BACKEND_SYMMETRIC, &out, NULL), QML_ERR_NOT_APPLICABLE);
    assert_non_null(strstr(qml_last_error(), "outside the symmetric subspace"));
    assert_int_equal(chosen(c, o, plus, QML_BACKEND_AUTO, NULL), QML_BACKEND_STATEVECTOR);
    free(amp);
    qml_statevec_free(plus);
    qml_pauli_sum_free(sy);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
}

/* The symmetric subspace's eigen-solvers against a dense reference: psi <-
 * exp(-i theta/2 H) psi for collective H of every shape its solver treats
 * differently: a ΣX + c ΣZ (no flip symmetry: one block, known spectrum),
 * a ΣX + b ΣY (flip-symmetric: even and odd blocks, known spectrum),
 * b ΣY + d ΣZZ (blocks, spectrum by bisection), 1e-3 ΣX + ΣZ + ΣZZ (its
 * diagonal is degenerate at Dicke levels far apart, so eigenvalues split by
 * powers of 1e-3: the twisted eigenvectors lose orthogonality and the block
 * falls back to Jacobi), and diagonal ones (phases by recurrence). Circuits
 * only reach c ΣX, c ΣY and diagonal generators (a generator's terms must
 * commute); the rest guards the general solver. The reference: H as a dense
 * (n + 1)-matrix from the tridiagonal formulas and a Taylor series on steps
 * of norm <= 1/2 (30 terms: truncation < 1e-40 per step), to 1e-11 (the
 * eigenvectors are orthogonal to ~1e-14 (n + 1)). */
static void test_symmetric_generators(void **state)
{
    (void)state;
    static const double ops[][4] = {{0.7, 0, 0.3, 0}, {0.5, 0.5, 0, 0}, {0, -1.1, 0, 0.4},
                                    {1e-3, 0, 1.0, 1.0}, {0, 0, 0.3, 0.2}, {1.3, 0, 0, 0}};
    static const unsigned sizes[] = {1, 2, 10, 11, 40};
    harness_rng rng = {41};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        unsigned n = sizes[si];
        size_t N = n + 1;
        double *hr = calloc(N * N, sizeof *hr), *hi = calloc(N * N, sizeof *hi);
        double *psi = calloc(2 * N, sizeof *psi), *ref = calloc(2 * N, sizeof *ref);
        double *term = calloc(2 * N, sizeof *term), *next = calloc(2 * N, sizeof *next);
        assert_true(hr && hi && psi && ref && term && next);
        for (size_t oi = 0; oi < sizeof ops / sizeof ops[0]; oi++) {
            const double *op = ops[oi];
            double theta = 2.0 * (2 * harness_uniform(&rng) - 1), norm = 0;
            memset(hr, 0, N * N * sizeof *hr);
            memset(hi, 0, N * N * sizeof *hi);
            for (size_t k = 0; k < N; k++) {
                double m = (double)n - 2.0 * (double)k;
                hr[k * N + k] = op[2] * m + op[3] * 0.5 * (m * m - n);
                if (k + 1 < N) { /* <k+1|H|k> = (cx + i cy) r */
                    double r = sqrt((k + 1.0) * (double)(n - k));
                    hr[(k + 1) * N + k] = hr[k * N + k + 1] = op[0] * r;
                    hi[(k + 1) * N + k] = op[1] * r;
                    hi[k * N + k + 1] = -op[1] * r;
                }
            }
            for (size_t i = 0; i < N; i++) {
                double row = 0;
                for (size_t j = 0; j < N; j++)
                    row += hypot(hr[i * N + j], hi[i * N + j]);
                norm = fmax(norm, row);
            }
            double total = 0;
            for (size_t k = 0; k < 2 * N; k++) {
                psi[k] = 2 * harness_uniform(&rng) - 1;
                total += psi[k] * psi[k];
            }
            for (size_t k = 0; k < 2 * N; k++)
                ref[k] = psi[k] /= sqrt(total);
            /* ref <- exp(-i dt H) ref, steps times */
            int steps = (int)ceil(fabs(0.5 * theta) * norm / 0.5) + 1;
            double dt = 0.5 * theta / steps;
            for (int s = 0; s < steps; s++) {
                memcpy(term, ref, 2 * N * sizeof *term);
                for (int t = 1; t <= 30; t++) { /* term <- (-i dt H) term / t */
                    for (size_t i = 0; i < N; i++) {
                        double re = 0, im = 0;
                        for (size_t j = 0; j < N; j++) {
                            re += hr[i * N + j] * term[j] - hi[i * N + j] * term[N + j];
                            im += hr[i * N + j] * term[N + j] + hi[i * N + j] * term[j];
                        }
                        next[i] = dt * im / t; /* -i (re + i im) = im - i re */
                        next[N + i] = -dt * re / t;
                    }
                    memcpy(term, next, 2 * N * sizeof *term);
                    for (size_t k = 0; k < 2 * N; k++)
                        ref[k] += term[k];
                }
            }
            assert_ok(qml__dicke_evolve_collective(n, op[0], op[1], op[2], op[3], theta, psi));
            for (size_t k = 0; k < 2 * N; k++)
                assert_close(psi[k], ref[k], 1e-11);
        }
        free(hr), free(hi), free(psi), free(ref), free(term), free(next);
    }
}

/* ---- refusals ---------------------------------------------------------------- */

static void test_not_applicable(void **state)
{
    (void)state;
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 4, 1, 2, QML_LOSS_BCE));
    const qml_circuit *c = qml_model_circuit(m);
    const qml_pauli_sum *o = qml_model_readout(m);
    double w[8] = {0}, x[2] = {0}, v;
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    opt.backend = QML_BACKEND_GSIM;
    /* its CZ ladder is Clifford: g-sim runs it (n = 4: at most 255 strings) */
    assert_ok(qml_gradient(c, o, NULL, w, 8, x, 2, &opt, &v, NULL, NULL));
    opt.backend = QML_BACKEND_SYMMETRIC;
    assert_int_equal(qml_gradient(c, o, NULL, w, 8, x, 2, &opt, &v, NULL, NULL), QML_ERR_NOT_APPLICABLE);
    assert_non_null(strstr(qml_last_error(), "symmetric backend does not apply"));
    opt.backend = QML_BACKEND_AUTO;
    assert_ok(qml_gradient(c, o, NULL, w, 8, x, 2, &opt, &v, NULL, NULL));
    assert_int_equal(chosen(c, o, NULL, QML_BACKEND_AUTO, NULL), QML_BACKEND_STATEVECTOR);
    /* Non-adjoint methods run on the statevector only. */
    opt.backend = QML_BACKEND_GSIM;
    opt.method = QML_GRADIENT_PARAMETER_SHIFT;
    assert_int_equal(qml_gradient(c, o, NULL, w, 8, x, 2, &opt, &v, w, NULL), QML_ERR_NOT_APPLICABLE);
    opt.backend = (qml_backend)9;
    assert_int_equal(qml_gradient(c, o, NULL, w, 8, x, 2, &opt, &v, w, NULL), QML_ERR_INVALID_ARGUMENT);
    qml_model_free(m);

    /* The free-fermion model is not permutation-invariant: the message names the run. */
    assert_ok(qml_model_create_template(&m, QML_MODEL_FREE_FERMION, 4, 1, 2, QML_LOSS_BCE));
    qml_backend out;
    assert_int_equal(qml_backend_select(qml_model_circuit(m), qml_model_readout(m), NULL, QML_BACKEND_SYMMETRIC, &out,
                                        NULL),
                     QML_ERR_NOT_APPLICABLE);
    assert_non_null(strstr(qml_last_error(), "qml_backend_select: the symmetric backend does not apply"));
    qml_model_free(m);

    /* Wide circuits: HEA at n = 50 has no backend at all. */
    assert_ok(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 50, 1, 2, QML_LOSS_BCE));
    assert_int_equal(qml_backend_select(qml_model_circuit(m), qml_model_readout(m), NULL, QML_BACKEND_AUTO, &out, NULL),
                     QML_ERR_NOT_APPLICABLE);
    assert_non_null(strstr(qml_last_error(), "no backend applies"));
    /* ... and the statevector asked for by name is refused, not promised. */
    assert_int_equal(qml_backend_select(qml_model_circuit(m), qml_model_readout(m), NULL, QML_BACKEND_STATEVECTOR,
                                        &out, NULL),
                     QML_ERR_NOT_APPLICABLE);
    assert_non_null(strstr(qml_last_error(), "qml_backend_select: the statevector holds at most"));
    qml_model_free(m);

    /* names */
    assert_string_equal(qml_backend_name(QML_BACKEND_GSIM), "gsim");
    assert_null(qml_backend_name((qml_backend)7));
    qml_backend b;
    assert_ok(qml_backend_from_name("symmetric", &b));
    assert_int_equal(b, QML_BACKEND_SYMMETRIC);
    assert_int_equal(qml_backend_from_name("dense", &b), QML_ERR_INVALID_ARGUMENT);
}

/* ---- fixed Clifford gates ------------------------------------------------- */

/* Every fixed Clifford kind between rotations, from |0> and from a random
 * state, against the statevector; the hardware-efficient model (a CZ
 * ladder); a T gate is refused. */
static void test_clifford(void **state)
{
    (void)state;
    harness_rng rng = {22};
    unsigned n = 5;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    long w = 0;
    for (int layer = 0; layer < 2; layer++) {
        unsigned q[2];
        q[0] = 0; assert_ok(qml_circuit_add_gate(c, QML_GATE_H, q, 1));
        q[0] = 0; q[1] = 1; assert_ok(qml_circuit_add_gate(c, QML_GATE_CNOT, q, 2));
        q[0] = 1; assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZ, q, 1, 0.0, w++, 1.0, QML_NONE, 0));
        q[0] = 1; q[1] = 2; assert_ok(qml_circuit_add_gate(c, QML_GATE_CZ, q, 2));
        q[0] = 2; assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0.0, w++, 1.0, QML_NONE, 0));
        q[0] = 3; assert_ok(qml_circuit_add_gate(c, QML_GATE_S, q, 1));
        q[0] = 3; q[1] = 4; assert_ok(qml_circuit_add_gate(c, QML_GATE_SWAP, q, 2));
        q[0] = 4; assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, q, 1, 0.0, w++, 1.0, QML_NONE, 0));
        q[0] = 2; assert_ok(qml_circuit_add_gate(c, QML_GATE_X, q, 1));
        q[0] = 2; q[1] = 3; assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZZ, q, 2, 0.0, w++, 1.0, QML_NONE, 0));
        q[0] = 0; assert_ok(qml_circuit_add_gate(c, QML_GATE_SDG, q, 1));
        q[0] = 1; assert_ok(qml_circuit_add_gate(c, QML_GATE_Y, q, 1));
        q[0] = 4; assert_ok(qml_circuit_add_gate(c, QML_GATE_Z, q, 1));
        q[0] = 4; q[1] = 0; assert_ok(qml_circuit_add_gate(c, QML_GATE_CY, q, 2));
        q[0] = 3; assert_ok(qml_circuit_add_gate(c, QML_GATE_SX, q, 1));
        q[0] = 0; q[1] = 4; assert_ok(qml_circuit_add_rotation(c, QML_GATE_RXX, q, 2, 0.0, w++, 1.0, QML_NONE, 0));
        q[0] = 1; q[1] = 3; assert_ok(qml_circuit_add_gate(c, QML_GATE_ISWAP, q, 2));
    }
    qml_pauli_sum *o = parse(n, "Z0 Z1 + X2 - 0.5*Y3 Z4 + 0.25*Z4");
    for (int trial = 0; trial < 3; trial++)
        compare(c, o, NULL, QML_BACKEND_GSIM, &rng);
    qml_statevec *init = NULL;
    assert_ok(qml_statevec_create(&init, n));
    size_t d = (size_t)1 << n;
    double *amp = calloc(2 * d, sizeof *amp), norm = 0;
    for (size_t i = 0; i < 2 * d; i++) {
        amp[i] = harness_normal(&rng);
        norm += amp[i] * amp[i];
    }
    for (size_t i = 0; i < 2 * d; i++)
        amp[i] /= sqrt(norm);
    assert_ok(qml_statevec_set_amplitudes(init, amp, d, 1e-12));
    compare(c, o, init, QML_BACKEND_GSIM, &rng);
    /* a T gate is not Clifford */
    unsigned q0 = 2;
    assert_ok(qml_circuit_add_gate(c, QML_GATE_T, &q0, 1));
    qml_backend out;
    assert_int_equal(qml_backend_select(c, o, NULL, QML_BACKEND_GSIM, &out, NULL), QML_ERR_NOT_APPLICABLE);
    assert_non_null(strstr(qml_last_error(), "not Clifford"));
    free(amp);
    qml_statevec_free(init);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);

    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 6, 2, 3, QML_LOSS_MSE));
    for (int trial = 0; trial < 2; trial++)
        compare(qml_model_circuit(m), qml_model_readout(m), NULL, QML_BACKEND_GSIM, &rng);
    qml_model_free(m);
}

/* ---- Pauli-sum generators ------------------------------------------------- */

/* The projector onto the one-magnon state with the flip on qubit `site`:
 * |1><1|_site prod_{q != site} |0><0|_q = prod (I -+ Z_q) / 2, 2^n strings. */
static qml_pauli_sum *magnon_projector(unsigned n, unsigned site, double scale)
{
    qml_pauli_sum *p = NULL;
    assert_ok(qml_pauli_sum_create(&p, n));
    for (unsigned long mask = 0; mask < (1ul << n); mask++) {
        char text[256] = "";
        size_t len = 0;
        double coeff = scale / (double)(1ul << n);
        for (unsigned q = 0; q < n; q++)
            if (mask >> q & 1ul) {
                len += (size_t)snprintf(text + len, sizeof text - len, "Z%u ", q);
                if (q == site)
                    coeff = -coeff;
            }
        qml_pauli_sum *term = parse(n, len ? text : "1");
        assert_ok(qml_pauli_sum_add(p, coeff, term));
        qml_pauli_sum_free(term);
    }
    return p;
}

/* A Heisenberg chain (X X + Y Y + Z Z per open bond, local weights, run as
 * sums: their terms separately close an exponential module) with local
 * fields RZ, from the one-magnon state |10...0>, read out by projectors onto
 * one-magnon states. Everything conserves the magnetisation and the readout
 * lives in the one-magnon block, so its module lies in u(n) on that block:
 * dimension <= n^2 (polynomial; n^2 - 1 = 99 at n = 10), where the readout
 * Z_0 reaches 8, 27, 88 at n = 3, 4, 5 (exponential). */
static void test_heisenberg(void **state)
{
    (void)state;
    harness_rng rng = {21};
    for (unsigned n = 4; n <= 10; n += 3) {
        qml_circuit *c = NULL;
        assert_ok(qml_circuit_create(&c, n));
        long w = 0;
        for (int layer = 0; layer < 4; layer++) {
            assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_HEISENBERG, 1));
            for (unsigned q = 0; q < n; q++)
                assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZ, &q, 1, 0.0, w++ % 5, 1.0, QML_NONE, 0));
        }
        qml_pauli_sum *o = magnon_projector(n, 0, 0.7), *far = magnon_projector(n, n - 1, -0.4);
        assert_ok(qml_pauli_sum_add(o, 1.0, far));
        qml_statevec *init = NULL;
        assert_ok(qml_statevec_create(&init, n));
        size_t d = (size_t)1 << n;
        double *amp = calloc(2 * d, sizeof *amp);
        amp[2] = 1.0; /* |1 0 ... 0>: qubit 0 flipped */
        assert_ok(qml_statevec_set_amplitudes(init, amp, d, 1e-12));
        double dim = 0;
        assert_int_equal(chosen(c, o, init, QML_BACKEND_GSIM, &dim), QML_BACKEND_GSIM);
        assert_true(dim >= n && dim <= (double)n * n);
        for (int trial = 0; trial < (n < 10 ? 3 : 1); trial++)
            compare(c, o, init, QML_BACKEND_GSIM, &rng);
        /* AUTO: reading the given state on every string of the basis (up to
         * 2^n per element) costs more than the statevector's gates */
        assert_int_equal(chosen(c, o, init, QML_BACKEND_AUTO, NULL), QML_BACKEND_STATEVECTOR);
        /* The readout Z_0 has an exponential module under the bonds: refused
         * past the limit (n = 10), AUTO then runs the statevector. */
        if (n == 10) {
            qml_pauli_sum *z0 = parse(n, "Z0");
            assert_int_equal(chosen(c, z0, NULL, QML_BACKEND_AUTO, NULL), QML_BACKEND_STATEVECTOR);
            qml_pauli_sum_free(z0);
        }
        free(amp);
        qml_statevec_free(init);
        qml_pauli_sum_free(far);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
}

/* Fixed Clifford gates among Pauli-sum generators: V^dag B_a V is again a
 * Pauli sum, the module is closed under those images too, and V runs as the
 * orthogonal matrix Q_ca = <B_c, V^dag B_a V>. (a) n = 3, every kind of
 * Clifford between Heisenberg bonds (the module fits whatever it is: su(8)
 * has 63 elements; at n = 4 su(16)'s 255 elements make one Jacobi block of
 * 255 that costs seconds); (b) n = 8, Cliffords that keep the one-magnon block
 * (SWAP, iSWAP, CZ, S, Z) in a Heisenberg chain with the magnon readout: the
 * module stays <= n^2 where the terms' string module would not; (c) a
 * Hadamard breaks the magnetisation and the module passes the cap: refused
 * (the string path, tried next, refuses too: the readout alone has 64). */
static void add_fixed(qml_circuit *c, qml_gate_kind kind, unsigned q0, unsigned q1)
{
    unsigned q[2] = {q0, q1};
    assert_ok(qml_circuit_add_gate(c, kind, q, kind == QML_GATE_H || kind == QML_GATE_S || kind == QML_GATE_Z ||
                                                       kind == QML_GATE_X || kind == QML_GATE_SDG
                                                   ? 1
                                                   : 2));
}

static void test_clifford_sums(void **state)
{
    (void)state;
    harness_rng rng = {23};
    /* (a) */
    {
        unsigned n = 3;
        qml_circuit *c = NULL;
        assert_ok(qml_circuit_create(&c, n));
        for (int layer = 0; layer < 2; layer++) {
            assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_HEISENBERG, 1));
            add_fixed(c, QML_GATE_H, 0, 0);
            add_fixed(c, QML_GATE_CNOT, 0, 1);
            unsigned q = 1;
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZ, &q, 1, 0.0, (long)qml_circuit_n_weights(c), 1.0,
                                               QML_NONE, 0));
            add_fixed(c, QML_GATE_CZ, 1, 2);
            add_fixed(c, QML_GATE_S, 2, 2);
            add_fixed(c, QML_GATE_SWAP, 0, 2);
            add_fixed(c, QML_GATE_X, 2, 2);
        }
        qml_pauli_sum *o = parse(n, "Z0 Z1 + X2 - 0.5*Y2 Z0 + 0.25*Z2 + 0.1");
        qml__gsim *sim = NULL;
        assert_ok(qml__gsim_create(&sim, c, o, 0, "test"));
        assert_true(qml__gsim_strings(sim) > qml__gsim_dim(sim)); /* the sum path: elements of several strings */
        qml__gsim_free(sim);
        for (int trial = 0; trial < 3; trial++)
            compare(c, o, NULL, QML_BACKEND_GSIM, &rng);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
    /* (b) and (c) */
    unsigned n = 8;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    long w = 0;
    for (int layer = 0; layer < 3; layer++) {
        assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_HEISENBERG, 1));
        add_fixed(c, QML_GATE_SWAP, (unsigned)layer, 5);
        add_fixed(c, QML_GATE_CZ, 1, 2);
        add_fixed(c, QML_GATE_S, 3, 3);
        add_fixed(c, QML_GATE_ISWAP, 6, (unsigned)layer + 1);
        add_fixed(c, QML_GATE_Z, 7, 7);
        for (unsigned q = 0; q < n; q += 2)
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZ, &q, 1, 0.0, w++ % 3, 1.0, QML_NONE, 0));
    }
    qml_pauli_sum *o = magnon_projector(n, 0, 0.7), *far = magnon_projector(n, 5, -0.4);
    assert_ok(qml_pauli_sum_add(o, 1.0, far));
    qml_statevec *init = NULL;
    assert_ok(qml_statevec_create(&init, n));
    size_t d = (size_t)1 << n;
    double *amp = calloc(2 * d, sizeof *amp);
    amp[2 * 1] = 0.6;     /* 0.6 |qubit 0 flipped> */
    amp[2 * 8 + 1] = 0.8; /* + 0.8 i |qubit 3 flipped> */
    assert_ok(qml_statevec_set_amplitudes(init, amp, d, 1e-12));
    double dim = 0;
    assert_int_equal(chosen(c, o, init, QML_BACKEND_GSIM, &dim), QML_BACKEND_GSIM);
    assert_true(dim >= n && dim <= (double)n * n);
    for (int trial = 0; trial < 2; trial++)
        compare(c, o, init, QML_BACKEND_GSIM, &rng);
    free(amp);
    qml_statevec_free(init);
    qml_pauli_sum_free(far);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
    /* (c): n = 6, the same kind of chain fits in a cap of 60 (<= n^2 = 36);
     * a Hadamard mixes the magnetisation sectors and the module passes the
     * cap on both paths: refused. */
    n = 6;
    assert_ok(qml_circuit_create(&c, n));
    for (int layer = 0; layer < 2; layer++) {
        assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_HEISENBERG, 1));
        add_fixed(c, QML_GATE_SWAP, 0, 3);
        add_fixed(c, QML_GATE_CZ, 1, 2);
    }
    o = magnon_projector(n, 0, 1.0);
    qml__gsim *sim = NULL;
    assert_ok(qml__gsim_create(&sim, c, o, 60, "test"));
    assert_true(qml__gsim_dim(sim) <= 36);
    qml__gsim_free(sim);
    add_fixed(c, QML_GATE_H, 4, 4);
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_HEISENBERG, 1));
    sim = NULL;
    assert_int_equal(qml__gsim_create(&sim, c, o, 60, "test"), QML_ERR_NOT_APPLICABLE);
    assert_null(sim);
    assert_non_null(strstr(qml_last_error(), "more than 60"));
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
}

/* Every study template (the five model kinds, the five ansatz families with
 * a collective readout) on every algebraic backend: where the backend
 * accepts it, values and gradients equal the statevector's to 1e-10; where
 * it does not, the refusal is QML_ERR_NOT_APPLICABLE with a reason. The
 * templates the backends exist for must be accepted. n = 5. */
static void test_templates(void **state)
{
    (void)state;
    harness_rng rng = {29};
    const unsigned n = 5;
    const qml_backend backends[2] = {QML_BACKEND_GSIM, QML_BACKEND_SYMMETRIC};
    qml_pauli_sum *collective_z = parse(n, "0.2*Z0 + 0.2*Z1 + 0.2*Z2 + 0.2*Z3 + 0.2*Z4");
    for (int kind = 0; kind <= 4; kind++) {
        qml_model *m = NULL;
        unsigned features = kind == QML_MODEL_PERMUTATION_LOCAL ? n : 2;
        assert_ok(qml_model_create_template(&m, (qml_model_kind)kind, n, 2, features, QML_LOSS_MSE));
        for (int b = 0; b < 2; b++) {
            qml_backend out;
            int status = qml_backend_select(qml_model_circuit(m), qml_model_readout(m), NULL, backends[b], &out, NULL);
            if (status == QML_OK)
                compare(qml_model_circuit(m), qml_model_readout(m), NULL, backends[b], &rng);
            else
                assert_int_equal(status, QML_ERR_NOT_APPLICABLE);
            bool expected = (backends[b] == QML_BACKEND_SYMMETRIC &&
                             (kind == QML_MODEL_PERMUTATION || kind == QML_MODEL_PERMUTATION_BOUNDED)) ||
                            (backends[b] == QML_BACKEND_GSIM && kind == QML_MODEL_FREE_FERMION);
            if (expected)
                assert_int_equal(status, QML_OK);
        }
        qml_model_free(m);
    }
    for (int family = 0; family <= 4; family++) {
        qml_circuit *c = NULL;
        assert_ok(qml_circuit_create(&c, n));
        assert_ok(qml_ansatz_family_append(c, (qml_ansatz_family)family, 2));
        for (int b = 0; b < 2; b++) {
            qml_backend out;
            int status = qml_backend_select(c, collective_z, NULL, backends[b], &out, NULL);
            if (status == QML_OK)
                compare(c, collective_z, NULL, backends[b], &rng);
            else
                assert_int_equal(status, QML_ERR_NOT_APPLICABLE);
            bool expected = (backends[b] == QML_BACKEND_SYMMETRIC && family == QML_ANSATZ_SN) ||
                            (backends[b] == QML_BACKEND_GSIM &&
                             (family == QML_ANSATZ_TFIM || family == QML_ANSATZ_TFIM_GLOBAL ||
                              family == QML_ANSATZ_HEISENBERG));
            if (expected)
                assert_int_equal(status, QML_OK);
        }
        qml_circuit_free(c);
    }
    qml_pauli_sum_free(collective_z);
}

/* ---- large n ---------------------------------------------------------------- */

/* n = 100: the gradient against central differences of the g-sim value
 * itself (step 1e-5: truncation ~1e-10 |l'''|, rounding ~1e-16 L / 1e-5). */
static void test_large(void **state)
{
    (void)state;
    harness_rng rng = {15};
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_FREE_FERMION, 100, 2, 3, QML_LOSS_MSE));
    const qml_circuit *c = qml_model_circuit(m);
    const qml_pauli_sum *o = qml_model_readout(m);
    size_t nw = qml_circuit_n_weights(c);
    double *w = calloc(nw, sizeof *w), *g = calloc(nw, sizeof *g), x[3] = {0.3, -0.2, 0.9}, fg[3], v;
    for (size_t k = 0; k < nw; k++)
        w[k] = TWO_PI * harness_uniform(&rng);
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    opt.backend = QML_BACKEND_AUTO;
    opt.feature_gradients = 1;
    assert_ok(qml_gradient(c, o, NULL, w, nw, x, 3, &opt, &v, g, fg));
    assert_true(fabs(v) <= 1.0);
    size_t probe[2] = {57, nw - 1};
    for (int i = 0; i < 2; i++) {
        double keep = w[probe[i]], vp, vm;
        w[probe[i]] = keep + 1e-5;
        assert_ok(qml_gradient(c, o, NULL, w, nw, x, 3, &opt, &vp, NULL, fg));
        w[probe[i]] = keep - 1e-5;
        assert_ok(qml_gradient(c, o, NULL, w, nw, x, 3, &opt, &vm, NULL, fg));
        w[probe[i]] = keep;
        assert_close(g[probe[i]], (vp - vm) / 2e-5, 1e-7);
    }
    qml_model_free(m);

    /* The permutation model at n = 100 on the symmetric backend. */
    assert_ok(qml_model_create_template(&m, QML_MODEL_PERMUTATION, 100, 2, 2, QML_LOSS_MSE));
    c = qml_model_circuit(m);
    o = qml_model_readout(m);
    nw = qml_circuit_n_weights(c);
    for (size_t k = 0; k < nw; k++)
        w[k] = TWO_PI * harness_uniform(&rng);
    assert_ok(qml_gradient(c, o, NULL, w, nw, x, 2, &opt, &v, g, fg));
    for (size_t k = 0; k < nw; k++) {
        double keep = w[k], vp, vm;
        w[k] = keep + 1e-5;
        assert_ok(qml_gradient(c, o, NULL, w, nw, x, 2, &opt, &vp, NULL, fg));
        w[k] = keep - 1e-5;
        assert_ok(qml_gradient(c, o, NULL, w, nw, x, 2, &opt, &vm, NULL, fg));
        w[k] = keep;
        assert_close(g[k], (vp - vm) / 2e-5, 1e-6);
    }
    qml_model_free(m);
    free(w);
    free(g);
}

/* ---- batches and threads ------------------------------------------------------- */

static void test_batch(void **state)
{
    (void)state;
    harness_rng rng = {16};
    qml_model_kind kinds[2] = {QML_MODEL_FREE_FERMION, QML_MODEL_PERMUTATION};
    for (int i = 0; i < 2; i++) {
        qml_model *m = NULL;
        assert_ok(qml_model_create_template(&m, kinds[i], 6, 2, 2, QML_LOSS_MSE));
        const qml_circuit *c = qml_model_circuit(m);
        const qml_pauli_sum *o = qml_model_readout(m);
        size_t nw = qml_circuit_n_weights(c), rows = 7;
        double *w = calloc(nw + 1, sizeof *w), x[14], v0[7], v1[7], v2[7];
        double *g0 = calloc(rows * (nw + 1), sizeof *g0), *g1 = calloc(rows * (nw + 1), sizeof *g1);
        double *s1 = calloc(nw + 1, sizeof *s1), *s2 = calloc(nw + 1, sizeof *s2);
        for (size_t k = 0; k < nw; k++)
            w[k] = TWO_PI * harness_uniform(&rng);
        for (size_t k = 0; k < 14; k++)
            x[k] = harness_normal(&rng);
        qml_gradient_options sv = QML_GRADIENT_OPTIONS_INIT, alg = QML_GRADIENT_OPTIONS_INIT;
        alg.backend = QML_BACKEND_AUTO;
        assert_ok(qml_gradient_batch(c, o, NULL, w, nw + 1, x, rows, 2, &sv, QML_BATCH_PER_ROW, v0, g0));
        assert_ok(qml_gradient_batch(c, o, NULL, w, nw + 1, x, rows, 2, &alg, QML_BATCH_PER_ROW, v1, g1));
        for (size_t r = 0; r < rows; r++) {
            assert_close(v1[r], v0[r], TOL);
            for (size_t k = 0; k <= nw; k++)
                assert_close(g1[r * (nw + 1) + k], g0[r * (nw + 1) + k], TOL);
        }
        alg.n_threads = 1;
        assert_ok(qml_gradient_batch(c, o, NULL, w, nw, x, rows, 2, &alg, QML_BATCH_SUM, v1, s1));
        alg.n_threads = 3;
        assert_ok(qml_gradient_batch(c, o, NULL, w, nw, x, rows, 2, &alg, QML_BATCH_SUM, v2, s2));
        assert_memory_equal(v1, v2, sizeof v1);
        assert_memory_equal(s1, s2, nw * sizeof *s1);
        for (size_t k = 0; k < nw; k++) {
            double sum = 0;
            for (size_t r = 0; r < rows; r++)
                sum += g0[r * (nw + 1) + k];
            assert_close(s1[k], sum, TOL);
        }
        free(w), free(g0), free(g1), free(s1), free(s2);
        qml_model_free(m);
    }
}


/* ---- variance against the Lie-algebraic prediction ------------------------------ */

/* Majorana operator a on n qubits (Jordan-Wigner): gamma_{2q} = Z_0..Z_{q-1} X_q,
 * gamma_{2q+1} = Z_0..Z_{q-1} Y_q; letters only (the phase does not matter
 * for a rotation by a uniformly random angle). */
static void majorana(unsigned a, unsigned n, char *s)
{
    unsigned q = a / 2;
    for (unsigned k = 0; k < n; k++)
        s[k] = k < q ? 'Z' : 'I';
    s[q] = a % 2 ? 'Y' : 'X';
    s[n] = '\0';
}

static char letter_product(char p, char r)
{
    int x = (p == 'X' || p == 'Y') ^ (r == 'X' || r == 'Y'), z = (p == 'Z' || p == 'Y') ^ (r == 'Z' || r == 'Y');
    return x ? (z ? 'Y' : 'X') : (z ? 'Z' : 'I');
}

/* L layers, each a rotation about i gamma_a gamma_b for every pair of a
 * random perfect matching of the 2n Majoranas: a free-fermion circuit
 * (DLA so(2n)) that approaches the Haar measure in a few layers (a
 * nearest-neighbour chain needs ~n^2 layers: the modes diffuse). */
static qml_circuit *random_matching_circuit(unsigned n, unsigned layers, harness_rng *rng)
{
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    char *a = malloc(n + 1), *b = malloc(n + 1);
    unsigned *perm = malloc(2 * n * sizeof *perm);
    long w = 0;
    for (unsigned l = 0; l < layers; l++) {
        for (unsigned i = 0; i < 2 * n; i++)
            perm[i] = i;
        for (unsigned i = 2 * n - 1; i > 0; i--) {
            unsigned j = (unsigned)(harness_next(rng) % (i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (unsigned i = 0; i < n; i++) {
            majorana(perm[2 * i], n, a);
            majorana(perm[2 * i + 1], n, b);
            for (unsigned k = 0; k < n; k++)
                a[k] = letter_product(a[k], b[k]);
            qml_pauli_sum *g = NULL;
            assert_ok(qml_pauli_sum_create(&g, n));
            assert_ok(qml_pauli_sum_add_string(g, 1.0, a));
            assert_ok(qml_circuit_add_pauli_rotation(c, g, 0, w++, 1, QML_NONE, 0));
            qml_pauli_sum_free(g);
        }
    }
    free(a), free(b), free(perm);
    return c;
}

/* Var[l] and Var[dl/dw_middle] measured with g-sim against lie.c's Ragone /
 * Fontana predictions for so(2n), readout Z_0, from |0...0>: within 3
 * standard errors (the SE of a sample variance, qml_gradient_stats). */
static void test_variance_prediction(void **state)
{
    (void)state;
    harness_rng rng = {17};
    /* (n = 50 and 64 here; the benchmark compares n = 50, 100, 200 with lie.c's
     * prediction, which equals 1/(2n - 1) and 4 (n - 1) / (n (2n - 1)^2) there.) */
    const unsigned sizes[2] = {50, 64};
    const size_t samples[2] = {400, 250};
    for (int i = 0; i < 2; i++) {
        unsigned n = sizes[i];
        qml_circuit *c = random_matching_circuit(n, 16, &rng);
        char text[32];
        qml_pauli_sum *o = parse(n, "Z0");
        qml_pauli_sum **gens = calloc(2 * n, sizeof *gens);
        size_t K = 0;
        for (unsigned q = 0; q < n; q++) { /* a chain of generators of so(2n) */
            snprintf(text, sizeof text, "Z%u", q);
            gens[K++] = parse(n, text);
            if (q + 1 < n) {
                snprintf(text, sizeof text, "X%u X%u", q, q + 1);
                gens[K++] = parse(n, text);
            }
        }
        qml_lie_algebra *alg = NULL;
        assert_ok(qml_lie_algebra_create(&alg, (const qml_pauli_sum *const *)gens, K, NULL));
        assert_int_equal(qml_lie_algebra_dim(alg), (size_t)n * (2 * n - 1));
        size_t middle = qml_circuit_n_weights(c) / 2;
        qml_pauli_sum *g = NULL;
        assert_ok(qml_circuit_weight_generator(c, (int64_t)middle, &g));
        qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
        assert_ok(qml_lie_algebra_predict_variance(alg, NULL, o, g, &p));
        qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
        lo.samples = samples[i];
        lo.seed = 5;
        lo.backend = QML_BACKEND_GSIM;
        lo.params = QML_PARAMS_MIDDLE;
        lo.n_threads = 2;
        qml_gradient_stats *s = NULL;
        assert_ok(qml_gradient_stats_create(&s, c, o, NULL, NULL, 0, &lo));
        double v, se;
        assert_ok(qml_gradient_stats_loss(s, NULL, NULL, &v, &se));
        assert_close(v, p.loss_variance, 3 * se);
        assert_close(p.loss_variance, 1.0 / (2 * n - 1), 1e-12); /* P(rho) = n, P(O) = 1, dim n (2n - 1) */
        assert_ok(qml_gradient_stats_weight(s, middle, NULL, NULL, &v, &se));
        assert_close(v, p.middle_gate_gradient_variance, 3 * se);
        qml_gradient_stats_free(s);
        qml_pauli_sum_free(g);
        qml_lie_algebra_free(alg);
        for (size_t k = 0; k < K; k++)
            qml_pauli_sum_free(gens[k]);
        free(gens);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
}

/* The same statistics on g-sim and on the statevector (n = 6), and bitwise
 * the same for one and three threads. */
static void test_landscape_backends(void **state)
{
    (void)state;
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_PERMUTATION, 6, 3, 1, QML_LOSS_MSE));
    const qml_circuit *c = qml_model_circuit(m);
    const qml_pauli_sum *o = qml_model_readout(m);
    double x[1] = {0.4};
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = 40;
    lo.params = QML_PARAMS_ALL;
    qml_gradient_stats *s0 = NULL, *s1 = NULL, *s2 = NULL;
    assert_ok(qml_gradient_stats_create(&s0, c, o, NULL, x, 1, &lo));
    lo.backend = QML_BACKEND_AUTO;
    assert_ok(qml_gradient_stats_create(&s1, c, o, NULL, x, 1, &lo));
    lo.n_threads = 3;
    assert_ok(qml_gradient_stats_create(&s2, c, o, NULL, x, 1, &lo));
    double a[4], b[4], d[4];
    assert_ok(qml_gradient_stats_summary(s0, &a[0], &a[1]));
    assert_ok(qml_gradient_stats_summary(s1, &b[0], &b[1]));
    assert_ok(qml_gradient_stats_summary(s2, &d[0], &d[1]));
    assert_ok(qml_gradient_stats_loss(s0, NULL, NULL, &a[2], &a[3]));
    assert_ok(qml_gradient_stats_loss(s1, NULL, NULL, &b[2], &b[3]));
    assert_ok(qml_gradient_stats_loss(s2, NULL, NULL, &d[2], &d[3]));
    for (int i = 0; i < 4; i++)
        assert_close(b[i], a[i], TOL);
    assert_memory_equal(b, d, sizeof b);
    /* shots need the statevector */
    lo.backend = QML_BACKEND_SYMMETRIC;
    lo.shots = 100;
    assert_int_equal(qml_gradient_stats_create(&s0, c, o, NULL, x, 1, &lo), QML_ERR_NOT_APPLICABLE);
    qml_gradient_stats_free(s0);
    qml_gradient_stats_free(s1);
    qml_gradient_stats_free(s2);
    qml_model_free(m);
}


/* Training on the symmetric backend follows the statevector's trajectory
 * (to rounding, amplified by a few Adam steps). */
static void test_train_backend(void **state)
{
    (void)state;
    qml_dataset *d = NULL;
    assert_ok(qml_dataset_moons(&d, 24, 0.1, 3));
    double h0[2], h1[2];
    for (int b = 0; b < 2; b++) {
        qml_model *m = NULL;
        assert_ok(qml_model_create_template(&m, QML_MODEL_PERMUTATION, 5, 2, 2, QML_LOSS_BCE));
        qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
        opt.epochs = 2;
        opt.batch_size = 8;
        opt.backend = b ? QML_BACKEND_SYMMETRIC : QML_BACKEND_STATEVECTOR;
        qml_train_epoch hist[2];
        hist[0].size = sizeof hist[0];
        assert_ok(qml_model_train(m, d, NULL, &opt, hist, 2));
        (b ? h1 : h0)[0] = hist[0].loss;
        (b ? h1 : h0)[1] = hist[1].loss;
        qml_model_free(m);
    }
    assert_close(h1[0], h0[0], 1e-9);
    assert_close(h1[1], h0[1], 1e-9);
    /* The unstructured model's CZ ladder is Clifford: g-sim trains it too
     * (n = 3: at most 63 strings). */
    qml_model *m = NULL;
    assert_ok(qml_model_create_template(&m, QML_MODEL_UNSTRUCTURED, 3, 1, 2, QML_LOSS_BCE));
    qml_train_options opt = QML_TRAIN_OPTIONS_INIT;
    opt.epochs = 1;
    opt.backend = QML_BACKEND_GSIM;
    assert_ok(qml_model_train(m, d, NULL, &opt, NULL, 0));
    qml_model_free(m);
    qml_dataset_free(d);
}

/* ---- allocation failures -------------------------------------------------------- */

typedef struct alloc_case {
    qml_model_kind kind;
    qml_backend backend;
    int batch;
} alloc_case;

static int sequence_backend(void *context)
{
    const alloc_case *ac = context;
    qml_model *m = NULL;
    int status = qml_model_create_template(&m, ac->kind, 3, 1, 2, QML_LOSS_MSE);
    if (status)
        return status;
    const qml_circuit *c = qml_model_circuit(m);
    const qml_pauli_sum *o = qml_model_readout(m);
    double w[8] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, x[4] = {0.1, -0.2, 0.3, 0.4}, v[2], g[16], fg[2];
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    opt.backend = ac->backend;
    if (ac->batch == 2) {
        qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
        lo.samples = 3;
        lo.backend = ac->backend;
        lo.n_threads = 1; /* the harness counts allocations without atomics */
        qml_gradient_stats *s = NULL;
        status = qml_gradient_stats_create(&s, c, o, NULL, x, 2, &lo);
        qml_gradient_stats_free(s);
    } else if (ac->batch == 3) {
        qml_dataset *d = NULL;
        status = qml_dataset_create(&d, 2, 2, x, (const int[]){0, 1});
        qml_train_options to = QML_TRAIN_OPTIONS_INIT;
        to.epochs = 1;
        to.batch_size = 2;
        to.backend = ac->backend;
        if (!status)
            status = qml_model_train(m, d, NULL, &to, NULL, 0);
        qml_dataset_free(d);
    } else if (ac->batch) {
        status = qml_gradient_batch(c, o, NULL, w, 8, x, 2, 2, &opt, QML_BATCH_SUM, v, g);
    } else {
        opt.feature_gradients = 1;
        status = qml_gradient(c, o, NULL, w, 8, x, 2, &opt, v, g, fg);
        qml_backend b;
        double dim;
        if (!status)
            status = qml_backend_select(c, o, NULL, ac->backend, &b, &dim);
    }
    qml_model_free(m);
    return status;
}

/* The Pauli-sum path: Heisenberg bonds, local fields, a given initial state. */
static int sequence_sums(void *context)
{
    (void)context;
    qml_circuit *c = NULL;
    qml_pauli_sum *o = NULL;
    qml_statevec *init = NULL;
    int status = qml_circuit_create(&c, 3);
    if (!status)
        status = qml_ansatz_family_append(c, QML_ANSATZ_HEISENBERG, 2);
    unsigned q = 1, pair[2] = {0, 2};
    if (!status)
        status = qml_circuit_add_rotation(c, QML_GATE_RZ, &q, 1, 0.0, 0, 1.0, QML_NONE, 0);
    if (!status) /* a Clifford on the sum path */
        status = qml_circuit_add_gate(c, QML_GATE_SWAP, pair, 2);
    if (!status)
        status = qml_ansatz_family_append(c, QML_ANSATZ_HEISENBERG, 1);
    if (!status)
        status = qml_pauli_sum_parse(&o, 3, "Z0 - 0.5*Z0 Z1 + 0.25");
    if (!status)
        status = qml_statevec_create(&init, 3);
    double amp[16] = {0};
    amp[2] = 0.6;     /* 0.6 |q0 = 1> */
    amp[2 * 2 + 1] = 0.8; /* + 0.8 i |q1 = 1> */
    if (!status)
        status = qml_statevec_set_amplitudes(init, amp, 8, 1e-12);
    double w[8] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, v, g[8];
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    opt.backend = QML_BACKEND_GSIM;
    if (!status)
        status = qml_gradient(c, o, init, w, qml_circuit_n_weights(c), NULL, 0, &opt, &v, g, NULL);
    qml_statevec_free(init);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
    return status;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    static alloc_case cases[] = {
        {QML_MODEL_FREE_FERMION, QML_BACKEND_GSIM, 0},     {QML_MODEL_FREE_FERMION, QML_BACKEND_GSIM, 1},
        {QML_MODEL_PERMUTATION, QML_BACKEND_SYMMETRIC, 0}, {QML_MODEL_PERMUTATION, QML_BACKEND_SYMMETRIC, 1},
        {QML_MODEL_PERMUTATION, QML_BACKEND_AUTO, 0},      {QML_MODEL_FREE_FERMION, QML_BACKEND_AUTO, 1},
        {QML_MODEL_FREE_FERMION, QML_BACKEND_GSIM, 2},     {QML_MODEL_PERMUTATION, QML_BACKEND_SYMMETRIC, 2},
        {QML_MODEL_FREE_FERMION, QML_BACKEND_GSIM, 3},     {QML_MODEL_PERMUTATION, QML_BACKEND_SYMMETRIC, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_true(harness_check_allocation_failures(sequence_backend, &cases[i]) > 5);
    assert_true(harness_check_allocation_failures(sequence_sums, NULL) > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_fermion), cmocka_unit_test(test_tfim),
        cmocka_unit_test(test_gate_kinds),   cmocka_unit_test(test_symmetric), cmocka_unit_test(test_symmetric_generators),
        cmocka_unit_test(test_not_applicable), cmocka_unit_test(test_large),
        cmocka_unit_test(test_batch),        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_variance_prediction), cmocka_unit_test(test_landscape_backends),
        cmocka_unit_test(test_train_backend),        cmocka_unit_test(test_heisenberg), cmocka_unit_test(test_clifford), cmocka_unit_test(test_clifford_sums), cmocka_unit_test(test_templates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_gradient.c: adjoint differentiation, parameter shift and finite
 * differences against each other and against closed forms; shot noise;
 * batches against single rows, bitwise; validation; allocation failures. */
#include "harness.h"
#include "internal.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_QUBITS 4
#define N_WEIGHTS 7
#define N_FEATURES 3

/* ---- fixtures --------------------------------------------------------------- */

typedef struct fixture {
    qml_circuit *circuit;
    qml_pauli_sum *observable;
    qml_statevec *initial;
    double weights[N_WEIGHTS];
    double features[N_FEATURES];
} fixture;

static qml_pauli_sum *parse_sum(unsigned n, const char *text)
{
    qml_pauli_sum *sum = NULL;
    assert_ok(qml_pauli_sum_parse(&sum, n, text));
    return sum;
}

/* A random angle reference: weight (often shared), feature, both or neither,
 * with non-unit scales. */
static void random_angle(harness_rng *rng, double *constant, long *weight, double *wscale, long *feature,
                         double *fscale)
{
    unsigned pick = (unsigned)(harness_next(rng) % 8);
    *constant = 2.0 * harness_uniform(rng) - 1.0;
    *weight = pick < 6 ? (long)(harness_next(rng) % N_WEIGHTS) : QML_NONE;
    *feature = (pick >= 4 && pick < 7) ? (long)(harness_next(rng) % N_FEATURES) : QML_NONE;
    *wscale = 0.5 + 1.5 * harness_uniform(rng) * (harness_next(rng) & 1 ? 1.0 : -1.0);
    *fscale = 0.3 + 1.2 * harness_uniform(rng);
}

static void distinct_qubits(harness_rng *rng, unsigned *q, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        bool again;
        do {
            q[i] = (unsigned)(harness_next(rng) % N_QUBITS);
            again = false;
            for (unsigned j = 0; j < i; j++)
                again |= q[j] == q[i];
        } while (again);
    }
}

static void add_random_rotation(qml_circuit *c, harness_rng *rng, qml_gate_kind kind)
{
    unsigned q[3];
    unsigned arity = (kind >= QML_GATE_RXX && kind <= QML_GATE_CRZ) ? 2 : 1;
    distinct_qubits(rng, q, arity);
    double constant, ws, fs;
    int64_t w, f;
    random_angle(rng, &constant, &w, &ws, &f, &fs);
    assert_ok(qml_circuit_add_rotation(c, kind, q, arity, constant, w, ws, f, fs));
}

static void add_random_fixed(qml_circuit *c, harness_rng *rng)
{
    static const qml_gate_kind one[] = {QML_GATE_H, QML_GATE_S, QML_GATE_T, QML_GATE_SX, QML_GATE_X};
    static const qml_gate_kind two[] = {QML_GATE_CNOT, QML_GATE_CZ, QML_GATE_SWAP, QML_GATE_ISWAP, QML_GATE_CY};
    unsigned q[3];
    if (harness_next(rng) & 1) {
        distinct_qubits(rng, q, 1);
        assert_ok(qml_circuit_add_gate(c, one[harness_next(rng) % 5], q, 1));
    } else {
        distinct_qubits(rng, q, 2);
        assert_ok(qml_circuit_add_gate(c, two[harness_next(rng) % 5], q, 2));
    }
}

/* A circuit that uses every parametrised gate kind (twice over, in random
 * order), fixed gates in between, shared weights, features with non-unit
 * scales and constant-only angles; an observable with many terms; a random
 * initial state. */
static void fixture_random(fixture *fx, uint64_t seed)
{
    harness_rng rng = {seed};
    assert_ok(qml_circuit_create(&fx->circuit, N_QUBITS));
    qml_gate_kind kinds[] = {QML_GATE_RX,  QML_GATE_RY,  QML_GATE_RZ,  QML_GATE_RXX,
                             QML_GATE_RYY, QML_GATE_RZZ, QML_GATE_CRX, QML_GATE_CRY,
                             QML_GATE_CRZ, QML_GATE_PHASE, QML_GATE_PAULI_ROTATION, QML_GATE_PAULI_EVOLUTION};
    const size_t n_kinds = sizeof kinds / sizeof kinds[0];
    qml_pauli_sum *rotation = parse_sum(N_QUBITS, "Y0 Z1 X3");
    /* Pairwise commuting, non-unit coefficients, an identity term (a phase). */
    qml_pauli_sum *evolution = parse_sum(N_QUBITS, "0.7*Z0 Z1 - 1.3*X2 X3 + 0.45*Y0 Y1 + 0.2");
    for (int round = 0; round < 2; round++) {
        for (size_t i = n_kinds; i > 1; i--) { /* Fisher-Yates */
            size_t j = (size_t)(harness_next(&rng) % i);
            qml_gate_kind t = kinds[i - 1];
            kinds[i - 1] = kinds[j];
            kinds[j] = t;
        }
        for (size_t i = 0; i < n_kinds; i++) {
            if (kinds[i] == QML_GATE_PAULI_ROTATION || kinds[i] == QML_GATE_PAULI_EVOLUTION) {
                double constant, ws, fs;
                int64_t w, f;
                random_angle(&rng, &constant, &w, &ws, &f, &fs);
                assert_ok(qml_circuit_add_pauli_rotation(fx->circuit,
                                                         kinds[i] == QML_GATE_PAULI_ROTATION ? rotation : evolution,
                                                         constant, w, ws, f, fs));
            } else {
                add_random_rotation(fx->circuit, &rng, kinds[i]);
            }
            add_random_fixed(fx->circuit, &rng);
        }
    }
    /* Make sure every weight and feature is read at least once. */
    for (long w = 0; w < N_WEIGHTS; w++) {
        unsigned q = (unsigned)w % N_QUBITS;
        assert_ok(qml_circuit_add_rotation(fx->circuit, QML_GATE_RY, &q, 1, 0.1, w, 1.3, QML_NONE, 0.0));
    }
    for (long f = 0; f < N_FEATURES; f++) {
        unsigned q = (unsigned)f;
        assert_ok(qml_circuit_add_rotation(fx->circuit, QML_GATE_RX, &q, 1, 0.0, QML_NONE, 0.0, f, -0.8));
    }
    qml_pauli_sum_free(rotation);
    qml_pauli_sum_free(evolution);

    /* 14 random terms. */
    assert_ok(qml_pauli_sum_create(&fx->observable, N_QUBITS));
    for (int t = 0; t < 14; t++) {
        char dense[N_QUBITS + 1];
        for (int q = 0; q < N_QUBITS; q++)
            dense[q] = "IXYZ"[harness_next(&rng) % 4];
        dense[N_QUBITS] = '\0';
        assert_ok(qml_pauli_sum_add_string(fx->observable, 2.0 * harness_uniform(&rng) - 1.0, dense));
    }

    double amplitudes[2 << N_QUBITS], norm = 0.0;
    for (size_t i = 0; i < 2u << N_QUBITS; i++) {
        amplitudes[i] = harness_normal(&rng);
        norm += amplitudes[i] * amplitudes[i];
    }
    for (size_t i = 0; i < 2u << N_QUBITS; i++)
        amplitudes[i] /= sqrt(norm);
    assert_ok(qml_statevec_create(&fx->initial, N_QUBITS));
    assert_ok(qml_statevec_set_amplitudes(fx->initial, amplitudes, 1u << N_QUBITS, 1e-12));

    for (int k = 0; k < N_WEIGHTS; k++)
        fx->weights[k] = 6.0 * harness_uniform(&rng) - 3.0;
    for (int k = 0; k < N_FEATURES; k++)
        fx->features[k] = 2.0 * harness_uniform(&rng) - 1.0;
}

static void fixture_free(fixture *fx)
{
    qml_circuit_free(fx->circuit);
    qml_pauli_sum_free(fx->observable);
    qml_statevec_free(fx->initial);
}

static qml_gradient_options method_options(qml_gradient_method method)
{
    qml_gradient_options o = QML_GRADIENT_OPTIONS_INIT;
    o.method = method;
    o.feature_gradients = 1;
    return o;
}

/* ---- the three methods agree -------------------------------------------------- */

static void test_methods_agree(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        fixture fx;
        fixture_random(&fx, seed);
        assert_int_equal(qml_circuit_n_weights(fx.circuit), N_WEIGHTS);
        assert_int_equal(qml_circuit_n_features(fx.circuit), N_FEATURES);
        double value[3], wg[3][N_WEIGHTS], fg[3][N_FEATURES];
        qml_gradient_method methods[3] = {QML_GRADIENT_ADJOINT, QML_GRADIENT_PARAMETER_SHIFT,
                                          QML_GRADIENT_FINITE_DIFFERENCE};
        for (int m = 0; m < 3; m++) {
            qml_gradient_options o = method_options(methods[m]);
            /* h = 1e-5: truncation h^2/6 |l'''| <= 1e-10/6 * ||O||_1 (sum |scales|)^3
             * ~ 1e-10 * 14 * 8^3 / 6 ~ 1e-7, rounding eps ||O||_1 / h ~ 3e-10. */
            o.step = 1e-5;
            assert_ok(qml_gradient(fx.circuit, fx.observable, fx.initial, fx.weights, N_WEIGHTS, fx.features,
                                   N_FEATURES, &o, &value[m], wg[m], fg[m]));
        }
        /* The value is the same forward pass for every method. */
        assert_true(value[0] == value[1] && value[0] == value[2]);
        double largest = 0.0;
        for (int k = 0; k < N_WEIGHTS; k++) {
            /* Adjoint and shift are both exact: they differ by rounding only,
             * ~ (gates) * eps * ||O||_1 ~ 100 * 2e-16 * 14 ~ 3e-13. */
            assert_close(wg[0][k], wg[1][k], 1e-10);
            assert_close(wg[0][k], wg[2][k], 1e-6);
            largest = fmax(largest, fabs(wg[0][k]));
        }
        for (int k = 0; k < N_FEATURES; k++) {
            assert_close(fg[0][k], fg[1][k], 1e-10);
            assert_close(fg[0][k], fg[2][k], 1e-6);
            largest = fmax(largest, fabs(fg[0][k]));
        }
        /* The comparison is not vacuous: the gradient is far from zero. */
        assert_true(largest > 0.05);
        fixture_free(&fx);
    }
}

/* Without an initial state and without feature gradients; extra trailing
 * weights get zero. */
static void test_defaults_and_padding(void **state)
{
    (void)state;
    fixture fx;
    fixture_random(&fx, 11);
    double w[N_WEIGHTS + 2], g_adj[N_WEIGHTS + 2], g_shift[N_WEIGHTS + 2];
    memcpy(w, fx.weights, sizeof fx.weights);
    w[N_WEIGHTS] = w[N_WEIGHTS + 1] = 0.5;
    g_adj[N_WEIGHTS] = g_adj[N_WEIGHTS + 1] = 99.0;
    double v_adj, v_shift, v_null;
    assert_ok(qml_gradient(fx.circuit, fx.observable, NULL, w, N_WEIGHTS + 2, fx.features, N_FEATURES, NULL,
                           &v_adj, g_adj, NULL));
    qml_gradient_options o = method_options(QML_GRADIENT_PARAMETER_SHIFT);
    o.feature_gradients = 0;
    assert_ok(qml_gradient(fx.circuit, fx.observable, NULL, w, N_WEIGHTS + 2, fx.features, N_FEATURES, &o,
                           &v_shift, g_shift, NULL));
    assert_true(g_adj[N_WEIGHTS] == 0.0 && g_adj[N_WEIGHTS + 1] == 0.0);
    for (int k = 0; k < N_WEIGHTS; k++)
        assert_close(g_adj[k], g_shift[k], 1e-10);
    /* Value only. */
    assert_ok(qml_gradient(fx.circuit, fx.observable, NULL, w, N_WEIGHTS, fx.features, N_FEATURES, NULL, &v_null,
                           NULL, NULL));
    assert_true(v_null == v_adj && v_adj == v_shift);
    /* The value against a run of the circuit and the public expectation. */
    qml_statevec *s = NULL;
    double expected;
    assert_ok(qml_statevec_create(&s, N_QUBITS));
    assert_ok(qml_statevec_run(s, fx.circuit, w, N_WEIGHTS, fx.features, N_FEATURES));
    assert_ok(qml_statevec_expectation(s, fx.observable, &expected));
    assert_close(v_adj, expected, 1e-12);
    qml_statevec_free(s);
    fixture_free(&fx);
}

/* ---- closed forms --------------------------------------------------------------- */

static void all_methods(const qml_circuit *c, const qml_pauli_sum *o, const double *w, size_t nw, const double *x,
                        size_t nx, double expected_value, const double *expected_wg, const double *expected_fg)
{
    qml_gradient_method methods[3] = {QML_GRADIENT_ADJOINT, QML_GRADIENT_PARAMETER_SHIFT,
                                      QML_GRADIENT_FINITE_DIFFERENCE};
    for (int m = 0; m < 3; m++) {
        qml_gradient_options opt = method_options(methods[m]);
        opt.feature_gradients = nx > 0;
        double value, wg[8], fg[8];
        assert_ok(qml_gradient(c, o, NULL, w, nw, x, nx, &opt, &value, wg, nx ? fg : NULL));
        /* exact methods: rounding only; finite differences (h = 1e-6):
         * eps/h ~ 2e-10 plus h^2 ~ 1e-12. */
        double tol = methods[m] == QML_GRADIENT_FINITE_DIFFERENCE ? 1e-8 : 1e-12;
        assert_close(value, expected_value, 1e-12);
        for (size_t k = 0; k < nw; k++)
            assert_close(wg[k], expected_wg[k], tol);
        for (size_t k = 0; k < nx; k++)
            assert_close(fg[k], expected_fg[k], tol);
    }
}

static void test_closed_forms(void **state)
{
    (void)state;
    unsigned q0 = 0, q1 = 1, pair[2] = {0, 1};
    /* <Z> after RY(theta) |0> is cos(theta); theta = 0.3 + 1.7 w - 0.6 x. */
    {
        qml_circuit *c = NULL;
        qml_pauli_sum *z = parse_sum(1, "Z0");
        assert_ok(qml_circuit_create(&c, 1));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q0, 1, 0.3, 0, 1.7, 0, -0.6));
        double w = 0.9, x = -0.4, theta = 0.3 + 1.7 * w - 0.6 * x;
        double dw = -1.7 * sin(theta), dx = 0.6 * sin(theta);
        all_methods(c, z, &w, 1, &x, 1, cos(theta), &dw, &dx);
        qml_circuit_free(c);
        qml_pauli_sum_free(z);
    }
    /* RX(a) on q0, CNOT(0, 1), RY(b) on q1 from |00>: the state is
     * cos(a/2)|0>|RY(b)0> - i sin(a/2)|1>|RY(b)1>, so <Z1> = cos a cos b and
     * <Z0 Z1> = cos b; O = Z1 + 0.5 Z0 Z1 gives l = (cos a + 0.5) cos b,
     * dl/da = -sin a cos b, dl/db = -(cos a + 0.5) sin b. */
    {
        qml_circuit *c = NULL;
        qml_pauli_sum *o = parse_sum(2, "Z1 + 0.5*Z0 Z1");
        assert_ok(qml_circuit_create(&c, 2));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q0, 1, 0.0, 0, 1.0, QML_NONE, 0.0));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_CNOT, pair, 2));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q1, 1, 0.0, 1, 1.0, QML_NONE, 0.0));
        double w[2] = {0.7, -1.1}, a = w[0], b = w[1];
        double g[2] = {-sin(a) * cos(b), -(cos(a) + 0.5) * sin(b)};
        all_methods(c, o, w, 2, NULL, 0, (cos(a) + 0.5) * cos(b), g, NULL);
        qml_circuit_free(c);
        qml_pauli_sum_free(o);
    }
    /* PHASE(phi) on |+>: (|0> + e^{i phi}|1>)/sqrt 2, <X> = cos phi (the
     * generator Z - I has eigenvalues {0, -2}). */
    {
        qml_circuit *c = NULL;
        qml_pauli_sum *x = parse_sum(1, "X0");
        assert_ok(qml_circuit_create(&c, 1));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_H, &q0, 1));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_PHASE, &q0, 1, 0.0, 0, 1.0, QML_NONE, 0.0));
        double w = 1.2, g = -sin(w);
        all_methods(c, x, &w, 1, NULL, 0, cos(w), &g, NULL);
        qml_circuit_free(c);
        qml_pauli_sum_free(x);
    }
    /* CRX(theta) with the control in |+>, target |0>: the target sees I or
     * RX(theta) with probability 1/2 each, so <Z_t> = (1 + cos theta)/2 and
     * the derivative is -sin(theta)/2 ((I - Z_c)X_t/2 has eigenvalues
     * {0, 0, 1, -1}: the two-term rule alone would be wrong). CRY likewise; CRZ
     * on |+>_c |+>_t with <X_t> = (1 + cos theta)/2. */
    {
        qml_gate_kind kinds[3] = {QML_GATE_CRX, QML_GATE_CRY, QML_GATE_CRZ};
        for (int k = 0; k < 3; k++) {
            qml_circuit *c = NULL;
            qml_pauli_sum *o = parse_sum(2, kinds[k] == QML_GATE_CRZ ? "X1" : "Z1");
            assert_ok(qml_circuit_create(&c, 2));
            assert_ok(qml_circuit_add_gate(c, QML_GATE_H, &q0, 1));
            if (kinds[k] == QML_GATE_CRZ)
                assert_ok(qml_circuit_add_gate(c, QML_GATE_H, &q1, 1));
            assert_ok(qml_circuit_add_rotation(c, kinds[k], pair, 2, 0.0, 0, 1.0, QML_NONE, 0.0));
            double w = 0.8, g = -0.5 * sin(w);
            all_methods(c, o, &w, 1, NULL, 0, 0.5 * (1.0 + cos(w)), &g, NULL);
            qml_circuit_free(c);
            qml_pauli_sum_free(o);
        }
    }
    /* Evolution under 0.5 Z0 + 1.5 Z1 on |++>: <X0 + X1> = cos(0.5 t) +
     * cos(1.5 t), derivative -0.5 sin(0.5 t) - 1.5 sin(1.5 t). */
    {
        qml_circuit *c = NULL;
        qml_pauli_sum *o = parse_sum(2, "X0 + X1");
        qml_pauli_sum *h = parse_sum(2, "0.5*Z0 + 1.5*Z1");
        assert_ok(qml_circuit_create(&c, 2));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_H, &q0, 1));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_H, &q1, 1));
        assert_ok(qml_circuit_add_pauli_rotation(c, h, 0.0, 0, 1.0, QML_NONE, 0.0));
        double t = 0.9, g = -0.5 * sin(0.5 * t) - 1.5 * sin(1.5 * t);
        all_methods(c, o, &t, 1, NULL, 0, cos(0.5 * t) + cos(1.5 * t), &g, NULL);
        qml_circuit_free(c);
        qml_pauli_sum_free(o);
        qml_pauli_sum_free(h);
    }
}

/* ---- shot-based parameter shift ------------------------------------------------ */

/* Two qubits, four weights, O = Z0 + 0.5 X1 (two measurement bases). */
static void shot_fixture(qml_circuit **c, qml_pauli_sum **o, double *w)
{
    unsigned q0 = 0, q1 = 1, pair[2] = {0, 1};
    assert_ok(qml_circuit_create(c, 2));
    assert_ok(qml_circuit_add_rotation(*c, QML_GATE_RY, &q0, 1, 0.0, 0, 1.0, QML_NONE, 0.0));
    assert_ok(qml_circuit_add_rotation(*c, QML_GATE_RX, &q1, 1, 0.0, 1, 1.0, QML_NONE, 0.0));
    assert_ok(qml_circuit_add_rotation(*c, QML_GATE_CRY, pair, 2, 0.0, 2, 1.0, QML_NONE, 0.0));
    assert_ok(qml_circuit_add_rotation(*c, QML_GATE_RZZ, pair, 2, 0.0, 3, 0.7, QML_NONE, 0.0));
    assert_ok(qml_circuit_add_rotation(*c, QML_GATE_RY, &q1, 1, 0.0, 3, 1.0, QML_NONE, 0.0));
    *o = parse_sum(2, "Z0 + 0.5*X1");
    w[0] = 1.7;
    w[1] = -0.9;
    w[2] = -1.0;
    w[3] = 0.35;
}

#define SHOT_REPEATS 400

static void shot_statistics(const qml_circuit *c, const qml_pauli_sum *o, const double *w, uint64_t shots,
                            double *mean, double *variance)
{
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    opt.method = QML_GRADIENT_PARAMETER_SHIFT;
    opt.shots = shots;
    double sum[4] = {0}, sum2[4] = {0};
    for (int r = 0; r < SHOT_REPEATS; r++) {
        double g[4];
        opt.seed = 1000 + (uint64_t)r;
        assert_ok(qml_gradient(c, o, NULL, w, 4, NULL, 0, &opt, NULL, g, NULL));
        for (int k = 0; k < 4; k++) {
            sum[k] += g[k];
            sum2[k] += g[k] * g[k];
        }
    }
    for (int k = 0; k < 4; k++) {
        mean[k] = sum[k] / SHOT_REPEATS;
        variance[k] = (sum2[k] - SHOT_REPEATS * mean[k] * mean[k]) / (SHOT_REPEATS - 1);
    }
}

static void test_shots_unbiased_and_variance(void **state)
{
    (void)state;
    qml_circuit *c;
    qml_pauli_sum *o;
    double w[4], exact[4];
    shot_fixture(&c, &o, w);
    assert_ok(qml_gradient(c, o, NULL, w, 4, NULL, 0, NULL, NULL, exact, NULL));

    /* The same seed gives the same bits; another seed does not. */
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    opt.method = QML_GRADIENT_PARAMETER_SHIFT;
    opt.shots = 100;
    opt.seed = 5;
    double g1[4], g2[4], g3[4];
    assert_ok(qml_gradient(c, o, NULL, w, 4, NULL, 0, &opt, NULL, g1, NULL));
    assert_ok(qml_gradient(c, o, NULL, w, 4, NULL, 0, &opt, NULL, g2, NULL));
    opt.seed = 6;
    assert_ok(qml_gradient(c, o, NULL, w, 4, NULL, 0, &opt, NULL, g3, NULL));
    assert_memory_equal(g1, g2, sizeof g1);
    assert_memory_not_equal(g1, g3, sizeof g1);

    /* Unbiased: over R = 400 repeats the mean is within 3 standard errors
     * sqrt(var / R) of the exact gradient. Each repeat is a sum of
     * binomial averages over >= 1000 shots, close to normal, and R = 400
     * estimates the standard error itself to ~sqrt(1/(2R)) = 3.5%, so the
     * band is a true ~3-sigma band (a correct estimator fails it with
     * probability ~0.3% per component; the seeds are fixed, so the outcome
     * is reproducible). With 1000 shots the band is ~3 * 0.03 / 20 ~ 5e-3,
     * far narrower than the gradients (0.08 .. 1.1): a biased estimator (say
     * a wrong shift or a missing factor 1/2) fails it. */
    double mean_lo[4], var_lo[4], mean_hi[4], var_hi[4];
    shot_statistics(c, o, w, 1000, mean_lo, var_lo);
    for (int k = 0; k < 4; k++) {
        double se = sqrt(var_lo[k] / SHOT_REPEATS);
        assert_true(var_lo[k] > 0.0);
        assert_close(mean_lo[k], exact[k], 3.0 * se);
        assert_true(3.0 * se < 0.1 * fabs(exact[k]));
    }
    /* Variance scales as 1/shots: 16x the shots, 1/16 the variance. The
     * ratio of two sample variances of R = 400 normal draws is F(399, 399)
     * distributed, whose central 99.9% interval is about [0.72, 1.38]; so
     * accept 16 within a factor 1.45. */
    shot_statistics(c, o, w, 16000, mean_hi, var_hi);
    for (int k = 0; k < 4; k++) {
        double ratio = var_lo[k] / var_hi[k];
        if (!(ratio > 16.0 / 1.45 && ratio < 16.0 * 1.45))
            fail_msg("weight %d: variance ratio %.3f for 16x the shots, expected 16", k, ratio);
        assert_close(mean_hi[k], exact[k], 3.0 * sqrt(var_hi[k] / SHOT_REPEATS));
    }
    qml_circuit_free(c);
    qml_pauli_sum_free(o);
}

/* ---- batches equal single rows, bitwise ---------------------------------------- */

#define BATCH_ROWS 7
#define BATCH_STRIDE 4 /* > N_FEATURES: rows carry a trailing unused column */

static void test_batch_matches_single_rows(void **state)
{
    (void)state;
    fixture fx;
    fixture_random(&fx, 21);
    harness_rng rng = {77};
    double rows[BATCH_ROWS * BATCH_STRIDE];
    for (size_t i = 0; i < BATCH_ROWS * BATCH_STRIDE; i++)
        rows[i] = 2.0 * harness_uniform(&rng) - 1.0;
    const size_t nw = N_WEIGHTS + 1; /* one trailing weight the circuit does not read */
    double w[N_WEIGHTS + 1];
    memcpy(w, fx.weights, sizeof fx.weights);
    w[N_WEIGHTS] = 3.0;

    struct {
        qml_gradient_method method;
        uint64_t shots;
    } cases[] = {{QML_GRADIENT_ADJOINT, 0},
                 {QML_GRADIENT_PARAMETER_SHIFT, 0},
                 {QML_GRADIENT_PARAMETER_SHIFT, 50},
                 {QML_GRADIENT_FINITE_DIFFERENCE, 0}};
    for (size_t m = 0; m < sizeof cases / sizeof cases[0]; m++) {
        qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
        opt.method = cases[m].method;
        opt.shots = cases[m].shots;
        opt.seed = 42;
        /* The single-row references; row r of a batch uses seed + r. */
        double single_values[BATCH_ROWS], single[BATCH_ROWS][N_WEIGHTS + 1], sum[N_WEIGHTS + 1] = {0};
        for (size_t r = 0; r < BATCH_ROWS; r++) {
            qml_gradient_options o1 = opt;
            o1.seed = opt.seed + r;
            assert_ok(qml_gradient(fx.circuit, fx.observable, fx.initial, w, nw, rows + r * BATCH_STRIDE,
                                   BATCH_STRIDE, &o1, &single_values[r], single[r], NULL));
            for (size_t k = 0; k < nw; k++)
                sum[k] += single[r][k];
        }
        for (unsigned threads = 1; threads <= 3; threads++) {
            opt.n_threads = threads;
            double values[BATCH_ROWS], per_row[BATCH_ROWS][N_WEIGHTS + 1], summed[N_WEIGHTS + 1];
            memset(per_row, 0xff, sizeof per_row);
            assert_ok(qml_gradient_batch(fx.circuit, fx.observable, fx.initial, w, nw, rows, BATCH_ROWS,
                                         BATCH_STRIDE, &opt, QML_BATCH_PER_ROW, values, &per_row[0][0]));
            assert_memory_equal(values, single_values, sizeof values);
            assert_memory_equal(per_row, single, sizeof per_row);
            memset(values, 0, sizeof values);
            assert_ok(qml_gradient_batch(fx.circuit, fx.observable, fx.initial, w, nw, rows, BATCH_ROWS,
                                         BATCH_STRIDE, &opt, QML_BATCH_SUM, values, summed));
            assert_memory_equal(values, single_values, sizeof values);
            assert_memory_equal(summed, sum, sizeof summed);
            /* Values only, and gradients only. */
            assert_ok(qml_gradient_batch(fx.circuit, fx.observable, fx.initial, w, nw, rows, BATCH_ROWS,
                                         BATCH_STRIDE, &opt, QML_BATCH_SUM, NULL, summed));
            assert_memory_equal(summed, sum, sizeof summed);
            assert_ok(qml_gradient_batch(fx.circuit, fx.observable, fx.initial, w, nw, rows, BATCH_ROWS,
                                         BATCH_STRIDE, &opt, QML_BATCH_PER_ROW, values, NULL));
            assert_memory_equal(values, single_values, sizeof values);
        }
        assert_true(single[0][N_WEIGHTS] == 0.0 && sum[N_WEIGHTS] == 0.0);
    }
    /* Zero rows: the sum is zero. */
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    double summed[N_WEIGHTS + 1] = {1, 1, 1, 1, 1, 1, 1, 1};
    assert_ok(qml_gradient_batch(fx.circuit, fx.observable, NULL, w, nw, NULL, 0, BATCH_STRIDE, &opt,
                                 QML_BATCH_SUM, NULL, summed));
    for (size_t k = 0; k < nw; k++)
        assert_true(summed[k] == 0.0);
    fixture_free(&fx);
}

/* The kernels' thread count does not change the bits of a single call
 * (14 qubits: the fused overlap kernel runs in two chunks or more). */
static void test_kernel_threads_bitwise(void **state)
{
    (void)state;
    const unsigned n = 14;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    assert_ok(qml_ansatz_hardware_efficient(c, 2, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    size_t nw = qml_circuit_n_weights(c);
    double *w = malloc(nw * sizeof *w), *g1 = malloc(nw * sizeof *g1), *g3 = malloc(nw * sizeof *g3);
    harness_rng rng = {3};
    for (size_t k = 0; k < nw; k++)
        w[k] = 6.0 * harness_uniform(&rng);
    qml_pauli_sum *o = parse_sum(n, "Z0 Z1 + 0.5*X3 + 0.25*Y13 Y12 - Z7");
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    double v1, v3;
    assert_ok(qml_gradient(c, o, NULL, w, nw, NULL, 0, &opt, &v1, g1, NULL));
    opt.n_threads = 3;
    assert_ok(qml_gradient(c, o, NULL, w, nw, NULL, 0, &opt, &v3, g3, NULL));
    assert_true(v1 == v3);
    assert_memory_equal(g1, g3, nw * sizeof *g1);
    double largest = 0.0;
    for (size_t k = 0; k < nw; k++)
        largest = fmax(largest, fabs(g1[k]));
    assert_true(largest > 1e-3);
    free(w);
    free(g1);
    free(g3);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
}

/* Runs of diagonal gates are differentiated in one pass (gradient.c splits
 * each Z mask into bits below and above bit 6): on 14 qubits, with Z masks
 * that lie below, above and across bit 6, and one diagonal evolution with
 * more than 64 terms, the adjoint gradient agrees with parameter shift and
 * is bitwise the same on 1 and 2 threads (two chunks of 2^13 amplitudes). */
static void test_diagonal_runs(void **state)
{
    (void)state;
    const unsigned n = 14;
    harness_rng rng = {99};
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    long w = 0;
    for (unsigned q = 0; q < n; q++) {
        assert_ok(qml_circuit_add_gate(c, QML_GATE_H, &q, 1));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, 0.3, w++, 0.9, QML_NONE, 0.0));
    }
    for (int layer = 0; layer < 2; layer++) {
        for (unsigned q = 0; q < n; q++)
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZ, &q, 1, 0.0, w++, 1.1, QML_NONE, 0.0));
        unsigned p1[2] = {5, 6}, p2[2] = {0, 13}, p3[2] = {2, 9}, p4[2] = {11, 1}, p5[2] = {4, 5};
        unsigned q6 = 6, q3 = 3;
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZZ, p1, 2, 0.0, w++, -0.7, QML_NONE, 0.0));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_T, &q3, 1));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZZ, p2, 2, 0.2, w++, 1.0, QML_NONE, 0.0));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_CRZ, p3, 2, 0.0, w++, 1.3, QML_NONE, 0.0));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_CZ, p5, 2));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_CRZ, p4, 2, 0.0, 0, 0.5, QML_NONE, 0.0)); /* shared */
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_PHASE, &q6, 1, 0.0, w++, 1.0, QML_NONE, 0.0));
        qml_pauli_sum *h = NULL;
        assert_ok(qml_pauli_sum_create(&h, n));
        for (int t = 0; t < 90; t++) {
            char dense[15];
            for (unsigned q = 0; q < n; q++)
                dense[q] = harness_next(&rng) % 3 == 0 ? 'Z' : 'I';
            dense[n] = '\0';
            dense[harness_next(&rng) % n] = 'Z';
            assert_ok(qml_pauli_sum_add_string(h, 2.0 * harness_uniform(&rng) - 1.0, dense));
        }
        assert_true(qml_pauli_sum_n_terms(h) > 64);
        assert_ok(qml_circuit_add_pauli_rotation(c, h, 0.1, w++, 0.8, QML_NONE, 0.0));
        qml_pauli_sum_free(h);
        for (unsigned q = 0; q < n; q += 3)
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q, 1, 0.0, w++, 1.0, QML_NONE, 0.0));
    }
    size_t nw = qml_circuit_n_weights(c);
    double *weights = malloc(nw * sizeof *weights), *g_adj = malloc(nw * sizeof *g_adj);
    double *g_adj2 = malloc(nw * sizeof *g_adj2), *g_shift = malloc(nw * sizeof *g_shift);
    for (size_t k = 0; k < nw; k++)
        weights[k] = 6.0 * harness_uniform(&rng) - 3.0;
    qml_pauli_sum *o = parse_sum(n, "X0 X1 + 0.5*Y5 X6 + X13 + 0.3*X2 Y9 - 0.8*Y11 + 0.6*X4 Z7");
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    double v1, v2, vs;
    assert_ok(qml_gradient(c, o, NULL, weights, nw, NULL, 0, &opt, &v1, g_adj, NULL));
    opt.n_threads = 2;
    assert_ok(qml_gradient(c, o, NULL, weights, nw, NULL, 0, &opt, &v2, g_adj2, NULL));
    assert_true(v1 == v2);
    assert_memory_equal(g_adj, g_adj2, nw * sizeof *g_adj);
    opt.n_threads = 1;
    opt.method = QML_GRADIENT_PARAMETER_SHIFT;
    assert_ok(qml_gradient(c, o, NULL, weights, nw, NULL, 0, &opt, &vs, g_shift, NULL));
    double largest = 0.0;
    for (size_t k = 0; k < nw; k++) {
        /* both exact; rounding ~ gates * eps * ||O||_1 ~ 1e-13 */
        assert_close(g_adj[k], g_shift[k], 1e-10);
        largest = fmax(largest, fabs(g_adj[k]));
    }
    assert_true(largest > 0.05);
    free(weights);
    free(g_adj);
    free(g_adj2);
    free(g_shift);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
}

/* ---- validation ------------------------------------------------------------------ */

/* The RY + CNOT-ladder circuit the adjoint is tuned for, with RX, CRX and
 * CRY gates on the lowest and highest qubits (the fused backward step:
 * overlap and un-applying in one pass, controls below and above targets),
 * a feature-driven RY, and the observable sum_i Z_i Z_i+1 (applied in one
 * pass) plus an X term (applied after it). Adjoint against parameter shift
 * at n = 9 (both exact: rounding ~ gates * eps * ||O||_1 ~ 1e-13, so
 * 1e-10); then value and gradient bitwise the same for 1, 2 and 3 threads
 * at n = 18, where kernels start threads. */
static qml_circuit *ladder_circuit(unsigned n, unsigned layers)
{
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    long w = 0;
    for (unsigned l = 0; l < layers; l++) {
        for (unsigned q = 0; q < n; q++)
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, 0.1 * q, w++, 1.0, QML_NONE, 0.0));
        for (unsigned q = 0; q + 1 < n; q++)
            assert_ok(qml_circuit_add_gate(c, QML_GATE_CNOT, (unsigned[]){q, q + 1}, 2));
        unsigned top = n - 1;
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &top, 1, 0.2, w++, -0.7, QML_NONE, 0.0));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_CRX, (unsigned[]){0, 1}, 2, 0.0, w++, 1.0, QML_NONE, 0.0));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_CRY, (unsigned[]){top, 0}, 2, 0.3, w++, 0.5, QML_NONE, 0.0));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_CRY, (unsigned[]){2, 1}, 2, 0.0, w++, 1.0, 0, 0.9));
    }
    return c;
}

static qml_pauli_sum *zz_chain(unsigned n)
{
    qml_pauli_sum *o = NULL;
    assert_ok(qml_pauli_sum_create(&o, n));
    for (unsigned q = 0; q + 1 < n; q++)
        assert_ok(qml_pauli_sum_add_term(o, 1.0 + 0.1 * q, "ZZ", (unsigned[]){q, q + 1}, 2));
    assert_ok(qml_pauli_sum_add_term(o, 0.4, "X", (unsigned[]){1}, 1));
    return o;
}

static void test_fused_adjoint_ladder(void **state)
{
    (void)state;
    const double feature = 0.37;
    {
        const unsigned n = 9;
        qml_circuit *c = ladder_circuit(n, 3);
        qml_pauli_sum *o = zz_chain(n);
        size_t nw = qml_circuit_n_weights(c);
        double *w = malloc(nw * sizeof *w), *g_adj = malloc(nw * sizeof *g_adj), *g_shift = malloc(nw * sizeof *g_shift);
        harness_rng rng = {15};
        for (size_t k = 0; k < nw; k++)
            w[k] = 6.0 * harness_uniform(&rng);
        double v_adj, v_shift, f_adj, f_shift;
        qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
        opt.feature_gradients = 1;
        assert_ok(qml_gradient(c, o, NULL, w, nw, &feature, 1, &opt, &v_adj, g_adj, &f_adj));
        opt.method = QML_GRADIENT_PARAMETER_SHIFT;
        assert_ok(qml_gradient(c, o, NULL, w, nw, &feature, 1, &opt, &v_shift, g_shift, &f_shift));
        assert_true(v_adj == v_shift);
        double largest = 0.0;
        for (size_t k = 0; k < nw; k++) {
            assert_close(g_adj[k], g_shift[k], 1e-10);
            largest = fmax(largest, fabs(g_adj[k]));
        }
        assert_close(f_adj, f_shift, 1e-10);
        assert_true(largest > 0.05);
        free(w);
        free(g_adj);
        free(g_shift);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
    {
        const unsigned n = 18;
        qml_circuit *c = ladder_circuit(n, 1);
        qml_pauli_sum *o = zz_chain(n);
        size_t nw = qml_circuit_n_weights(c);
        double *w = malloc(nw * sizeof *w), *g1 = malloc(nw * sizeof *g1), *gt = malloc(nw * sizeof *gt);
        harness_rng rng = {16};
        for (size_t k = 0; k < nw; k++)
            w[k] = 6.0 * harness_uniform(&rng);
        qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
        double v1, vt;
        assert_ok(qml_gradient(c, o, NULL, w, nw, &feature, 1, &opt, &v1, g1, NULL));
        for (unsigned threads = 2; threads <= 3; threads++) {
            opt.n_threads = threads;
            assert_ok(qml_gradient(c, o, NULL, w, nw, &feature, 1, &opt, &vt, gt, NULL));
            assert_true(v1 == vt);
            assert_memory_equal(g1, gt, nw * sizeof *g1);
        }
        free(w);
        free(g1);
        free(gt);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
}

/* From QML__FUSE_MIN_QUBITS on, the forward run and the un-applying of gates
 * that differentiate nothing go through fused blocks (fusion.c): adjoint
 * against parameter shift (whose runs are fused too, so the value against
 * a gate-by-gate run) on the ladder with fixed runs added (H, SWAP, CZ,
 * Toffoli between the layers). Tolerances as in test_fused_adjoint_ladder. */
static void test_fused_blocks_adjoint(void **state)
{
    (void)state;
    const unsigned n = QML__FUSE_MIN_QUBITS;
    assert_true(qml__fusion_width(n) >= 2);
    const double feature = 0.37;
    qml_circuit *c = ladder_circuit(n, 2);
    for (unsigned q = 0; q + 2 < n; q += 3) {
        assert_ok(qml_circuit_add_gate(c, QML_GATE_H, &q, 1));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_SWAP, (unsigned[]){q, q + 2}, 2));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_CZ, (unsigned[]){q + 1, q + 2}, 2));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_TOFFOLI, (unsigned[]){q, q + 1, (q + 7) % n}, 3));
    }
    unsigned top = n - 1;
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &top, 1, 0.0, 0, 1.0, QML_NONE, 0.0));
    qml_pauli_sum *o = zz_chain(n);
    size_t nw = qml_circuit_n_weights(c);
    double *w = malloc(nw * sizeof *w), *g_adj = malloc(nw * sizeof *g_adj), *g_shift = malloc(nw * sizeof *g_shift);
    harness_rng rng = {17};
    for (size_t k = 0; k < nw; k++)
        w[k] = 6.0 * harness_uniform(&rng);
    double v_adj, v_shift, f_adj, f_shift;
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    opt.feature_gradients = 1;
    assert_ok(qml_gradient(c, o, NULL, w, nw, &feature, 1, &opt, &v_adj, g_adj, &f_adj));
    opt.method = QML_GRADIENT_PARAMETER_SHIFT;
    assert_ok(qml_gradient(c, o, NULL, w, nw, &feature, 1, &opt, &v_shift, g_shift, &f_shift));
    double largest = 0.0;
    for (size_t k = 0; k < nw; k++) {
        assert_close(g_adj[k], g_shift[k], 1e-10);
        largest = fmax(largest, fabs(g_adj[k]));
    }
    assert_close(f_adj, f_shift, 1e-10);
    assert_true(largest > 0.05);
    /* the value against a gate-by-gate run */
    qml_statevec *s = NULL;
    assert_ok(qml_statevec_create(&s, n));
    for (size_t g = 0; g < c->n_gates; g++) {
        const qml__gate *gate = &c->gates[g];
        double theta = qml__gate_is_parametrised(gate->kind) ? qml__gate_angle(gate, w, &feature) : 0.0;
        qml__statevec_apply(s, gate, theta, false);
    }
    double v_plain;
    assert_ok(qml_statevec_expectation(s, o, &v_plain));
    assert_close(v_adj, v_plain, 1e-11);
    qml_statevec_free(s);
    free(w);
    free(g_adj);
    free(g_shift);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
}

/* ---- the backward sweep in fused blocks ------------------------------------- */

/* Qubit for a block test: mostly 0..4 (blocks straddling the low qubits,
 * where four bases are not adjacent amplitudes), sometimes any. */
static unsigned block_qubit(harness_rng *rng, unsigned n)
{
    return (unsigned)(harness_next(rng) % 4 ? harness_next(rng) % 5 : harness_next(rng) % n);
}

static void block_qubits(harness_rng *rng, unsigned n, unsigned *q, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        bool again;
        do {
            q[i] = block_qubit(rng, n);
            again = false;
            for (unsigned j = 0; j < i; j++)
                again |= q[j] == q[i];
        } while (again);
    }
}

/* Random circuit on n qubits: every differentiable kind (three rounds),
 * fixed one-, two- and three-qubit gates and an explicit unitary in between,
 * one Pauli rotation (never in a block: it splits the backward sweep), on
 * mostly low qubits; angles as random_angle gives them (shared weights,
 * features, scales). */
static qml_circuit *block_circuit(unsigned n, uint64_t seed)
{
    static const qml_gate_kind kinds[] = {QML_GATE_RX,  QML_GATE_RY,  QML_GATE_RZ,  QML_GATE_RXX, QML_GATE_RYY,
                                          QML_GATE_RZZ, QML_GATE_CRX, QML_GATE_CRY, QML_GATE_CRZ, QML_GATE_PHASE};
    static const qml_gate_kind fixed1[] = {QML_GATE_H, QML_GATE_X, QML_GATE_Y, QML_GATE_Z,  QML_GATE_S,
                                           QML_GATE_T, QML_GATE_SX, QML_GATE_SDG, QML_GATE_TDG};
    static const qml_gate_kind fixed2[] = {QML_GATE_CNOT, QML_GATE_CY, QML_GATE_CZ, QML_GATE_SWAP, QML_GATE_ISWAP};
    harness_rng rng = {seed};
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    for (int round = 0; round < 3; round++) {
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            unsigned q[3];
            unsigned arity = (kinds[k] >= QML_GATE_RXX && kinds[k] <= QML_GATE_CRZ) ? 2 : 1;
            block_qubits(&rng, n, q, arity);
            double constant, ws, fs;
            long w, f;
            random_angle(&rng, &constant, &w, &ws, &f, &fs);
            assert_ok(qml_circuit_add_rotation(c, kinds[k], q, arity, constant, w, ws, f, fs));
            unsigned pick = (unsigned)(harness_next(&rng) % 4);
            if (pick == 0) {
                block_qubits(&rng, n, q, 1);
                assert_ok(qml_circuit_add_gate(c, fixed1[harness_next(&rng) % 9], q, 1));
            } else if (pick == 1) {
                block_qubits(&rng, n, q, 2);
                assert_ok(qml_circuit_add_gate(c, fixed2[harness_next(&rng) % 5], q, 2));
            } else if (pick == 2 && harness_next(&rng) % 3 == 0) {
                block_qubits(&rng, n, q, 3);
                assert_ok(qml_circuit_add_gate(c, QML_GATE_TOFFOLI, q, 3));
            }
        }
        /* a random 2x2 unitary: (a, b; -conj b, conj a) e^{i phi} */
        double a_re = harness_uniform(&rng) - 0.5, a_im = harness_uniform(&rng) - 0.5;
        double b_re = harness_uniform(&rng) - 0.5, b_im = harness_uniform(&rng) - 0.5;
        double norm = sqrt(a_re * a_re + a_im * a_im + b_re * b_re + b_im * b_im);
        a_re /= norm, a_im /= norm, b_re /= norm, b_im /= norm;
        const double m[8] = {a_re, a_im, b_re, b_im, -b_re, b_im, a_re, -a_im};
        unsigned q = block_qubit(&rng, n);
        assert_ok(qml_circuit_add_unitary(c, m, &q, 1));
        if (round == 1) {
            qml_pauli_sum *g = NULL;
            assert_ok(qml_pauli_sum_create(&g, n));
            assert_ok(qml_pauli_sum_add_term(g, 1.0, "XYZ", (unsigned[]){1, 3, n - 1}, 3));
            assert_ok(qml_circuit_add_pauli_rotation(c, g, 0.4, 2, 1.0, QML_NONE, 0.0));
            qml_pauli_sum_free(g);
        }
    }
    return c;
}

/* The adjoint method gate by gate, dense and slow, as the reference:
 * psi_K by qml__statevec_apply, lambda = O psi_K, and backwards
 * d_k = Im <lambda| G_k psi> with G_k psi built by the generator kernel. */
static void reference_adjoint(const qml_circuit *c, const qml_pauli_sum *o, const double *w, const double *x,
                              double *value, double *gw, size_t nw, double *gx, size_t nx)
{
    const unsigned n = qml_circuit_n_qubits(c);
    qml_statevec *psi = NULL, *lam = NULL, *gpsi = NULL;
    assert_ok(qml_statevec_create(&psi, n));
    assert_ok(qml_statevec_create(&lam, n));
    assert_ok(qml_statevec_create(&gpsi, n));
    for (size_t g = 0; g < c->n_gates; g++) {
        const qml__gate *gate = &c->gates[g];
        qml__statevec_apply(psi, gate, qml__gate_is_parametrised(gate->kind) ? qml__gate_angle(gate, w, x) : 0.0,
                            false);
    }
    assert_ok(qml_statevec_expectation(psi, o, value));
    qml__statevec_apply_pauli_sum(lam, psi, o);
    memset(gw, 0, nw * sizeof *gw);
    memset(gx, 0, nx * sizeof *gx);
    for (size_t g = c->n_gates; g-- > 0;) {
        const qml__gate *gate = &c->gates[g];
        if (!qml__gate_is_parametrised(gate->kind))
            goto unapply;
        qml__statevec_apply_generator(gpsi, psi, gate);
        double re, im;
        assert_ok(qml_statevec_inner(lam, gpsi, &re, &im));
        if (gate->weight >= 0)
            gw[gate->weight] += gate->weight_scale * im;
        if (gate->feature >= 0)
            gx[gate->feature] += gate->feature_scale * im;
    unapply:;
        double theta = qml__gate_is_parametrised(gate->kind) ? qml__gate_angle(gate, w, x) : 0.0;
        qml__statevec_apply(psi, gate, theta, true);
        qml__statevec_apply(lam, gate, theta, true);
    }
    qml_statevec_free(psi);
    qml_statevec_free(lam);
    qml_statevec_free(gpsi);
}

/* From QML__FUSE_MIN_QUBITS on, the backward sweep runs in fused blocks
 * (fusion_adjoint.c). On random circuits of every differentiable kind at
 * n = 14, 15, 16: weights and features against the dense reference adjoint
 * to 1e-12 (both exact; rounding ~ gates * eps * ||O||_1 ~ 100 * 2.2e-16 *
 * 3 ~ 7e-14, ~ 50 times more for the summed shared weights still under
 * 1e-12) and against parameter shift to 1e-10 (as in the tests above). */
/* The adjoint (value, weight and feature gradients) at seeded random angles
 * against the dense reference adjoint (1e-12: both sum the same terms in
 * double precision, on states of norm 1) and parameter shift (1e-10: its
 * two runs per angle subtract values of order 1). */
static void check_against_references(const qml_circuit *c, const qml_pauli_sum *o, uint64_t seed)
{
    size_t nw = qml_circuit_n_weights(c), nx = qml_circuit_n_features(c);
    assert_true(nw <= N_WEIGHTS && nx <= N_FEATURES && nw > 0 && nx > 0);
    double w[N_WEIGHTS], x[N_FEATURES], g_adj[N_WEIGHTS], g_ref[N_WEIGHTS], g_shift[N_WEIGHTS];
    double f_adj[N_FEATURES], f_ref[N_FEATURES], f_shift[N_FEATURES];
    harness_rng rng = {seed};
    for (size_t k = 0; k < nw; k++)
        w[k] = 6.0 * harness_uniform(&rng);
    for (size_t k = 0; k < nx; k++)
        x[k] = 2.0 * harness_uniform(&rng) - 1.0;
    double v_adj, v_ref, v_shift;
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    opt.feature_gradients = 1;
    assert_ok(qml_gradient(c, o, NULL, w, nw, x, nx, &opt, &v_adj, g_adj, f_adj));
    reference_adjoint(c, o, w, x, &v_ref, g_ref, nw, f_ref, nx);
    opt.method = QML_GRADIENT_PARAMETER_SHIFT;
    assert_ok(qml_gradient(c, o, NULL, w, nw, x, nx, &opt, &v_shift, g_shift, f_shift));
    assert_close(v_adj, v_ref, 1e-12);
    double largest = 0.0;
    for (size_t k = 0; k < nw; k++) {
        assert_close(g_adj[k], g_ref[k], 1e-12);
        assert_close(g_adj[k], g_shift[k], 1e-10);
        largest = fmax(largest, fabs(g_adj[k]));
    }
    for (size_t k = 0; k < nx; k++) {
        assert_close(f_adj[k], f_ref[k], 1e-12);
        assert_close(f_adj[k], f_shift[k], 1e-10);
    }
    assert_true(largest > 1e-3);
}

static void test_backward_blocks_random(void **state)
{
    (void)state;
    for (unsigned n = QML__FUSE_MIN_QUBITS; n <= QML__FUSE_MIN_QUBITS + 2; n++) {
        assert_true(qml__fusion_width(n) >= 3);
        qml_circuit *c = block_circuit(n, 100 + n);
        qml_pauli_sum *o = zz_chain(n);
        check_against_references(c, o, 200 + n);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
}

/* Layers on the five qubits low .. low + 4 (and one on n - 1): RY on each
 * (consecutive real one-qubit gates on different qubits run as pairs of
 * gates in one loop over quadruples), H, RX, RZ, CRY and RZZ, a CNOT ladder
 * (slot relabellings inside a block); weights and features as random_angle
 * gives them. `low` = 0, 1, 2, 3 makes the blocks' lowest qubit 0 (the
 * 16-byte loads), 1 (two pairs of adjacent bases) and 2, 3 (four adjacent
 * bases). */
static qml_circuit *low_block_circuit(unsigned n, unsigned low, uint64_t seed)
{
    harness_rng rng = {seed};
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    for (unsigned layer = 0; layer < 4; layer++) {
        for (unsigned q = low; q < low + 5; q++) {
            double constant, ws, fs;
            long w, f;
            random_angle(&rng, &constant, &w, &ws, &f, &fs);
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, constant, w, ws, f, fs));
        }
        unsigned h = low + (unsigned)(harness_next(&rng) % 5), r = low + (unsigned)(harness_next(&rng) % 5);
        assert_ok(qml_circuit_add_gate(c, QML_GATE_H, &h, 1));
        static const qml_gate_kind kinds[] = {QML_GATE_RX, QML_GATE_RZ, QML_GATE_CRY, QML_GATE_RZZ};
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            unsigned q[2] = {r, low + (r - low + 1 + (unsigned)(harness_next(&rng) % 4)) % 5};
            unsigned arity = kinds[k] == QML_GATE_CRY || kinds[k] == QML_GATE_RZZ ? 2 : 1;
            double constant, ws, fs;
            long w, f;
            random_angle(&rng, &constant, &w, &ws, &f, &fs);
            assert_ok(qml_circuit_add_rotation(c, kinds[k], q, arity, constant, w, ws, f, fs));
        }
        for (unsigned q = low; q + 1 < low + 5; q++)
            assert_ok(qml_circuit_add_gate(c, QML_GATE_CNOT, (unsigned[]){q, q + 1}, 2));
        unsigned top = n - 1;
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &top, 1, 0.3, (long)layer % N_WEIGHTS, 1.0, QML_NONE,
                                           0.0));
    }
    return c;
}

/* Blocks whose lowest qubit is 0, 1, 2 or 3 (every load and store path of
 * the block kernel) at n = 14, 15, 16: weights and features against the
 * dense reference adjoint (1e-12) and parameter shift (1e-10), tolerances
 * as in test_backward_blocks_random; at n = 18 (split over threads) the same
 * bits for 1, 2 and 3 threads. */
static void test_backward_blocks_low_qubits(void **state)
{
    (void)state;
    for (unsigned low = 0; low < 4; low++) {
        const unsigned n = QML__FUSE_MIN_QUBITS + low % 3;
        qml_circuit *c = low_block_circuit(n, low, 500 + low);
        qml_pauli_sum *o = zz_chain(n);
        check_against_references(c, o, 600 + low);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
    for (unsigned low = 0; low < 4; low++) {
        const unsigned n = 18;
        qml_circuit *c = low_block_circuit(n, low, 700 + low);
        qml_pauli_sum *o = zz_chain(n);
        size_t nw = qml_circuit_n_weights(c), nx = qml_circuit_n_features(c);
        double w[N_WEIGHTS], x[N_FEATURES], g1[N_WEIGHTS], gt[N_WEIGHTS], f1[N_FEATURES], ft[N_FEATURES];
        harness_rng rng = {800 + low};
        for (size_t k = 0; k < nw; k++)
            w[k] = 6.0 * harness_uniform(&rng);
        for (size_t k = 0; k < nx; k++)
            x[k] = 2.0 * harness_uniform(&rng) - 1.0;
        qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
        opt.feature_gradients = 1;
        double v1, vt;
        assert_ok(qml_gradient(c, o, NULL, w, nw, x, nx, &opt, &v1, g1, f1));
        for (unsigned threads = 2; threads <= 3; threads++) {
            opt.n_threads = threads;
            assert_ok(qml_gradient(c, o, NULL, w, nw, x, nx, &opt, &vt, gt, ft));
            assert_true(v1 == vt);
            assert_memory_equal(g1, gt, nw * sizeof *g1);
            assert_memory_equal(f1, ft, nx * sizeof *f1);
        }
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
}

/* Real gates only on the five qubits low .. low + 4 (RY, CRY, H, CZ, a CNOT
 * ladder): the blocks whose gates all treat real and imaginary parts alike,
 * which keep the states' interleaved layout in the block kernel. */
static qml_circuit *real_block_circuit(unsigned n, unsigned low, uint64_t seed)
{
    harness_rng rng = {seed};
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    for (unsigned layer = 0; layer < 4; layer++) {
        for (unsigned q = low; q < low + 5; q++) {
            double constant, ws, fs;
            long w, f;
            random_angle(&rng, &constant, &w, &ws, &f, &fs);
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, constant, w, ws, f, fs));
        }
        unsigned a = low + (unsigned)(harness_next(&rng) % 5);
        unsigned q[2] = {a, low + (a - low + 1 + (unsigned)(harness_next(&rng) % 4)) % 5};
        double constant, ws, fs;
        long w, f;
        random_angle(&rng, &constant, &w, &ws, &f, &fs);
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_CRY, q, 2, constant, w, ws, f, fs));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_H, &q[1], 1));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_CZ, q, 2));
        for (unsigned t = low; t + 1 < low + 5; t++)
            assert_ok(qml_circuit_add_gate(c, QML_GATE_CNOT, (unsigned[]){t, t + 1}, 2));
    }
    return c;
}

/* Every path of the block kernel (portable, vectors, AVX2, as far as this
 * CPU has them), forced: random blocks of every kind, blocks whose
 * lowest qubit is 0..3 and real blocks (real_block_circuit) there at n = 14
 * against the dense reference adjoint
 * (1e-12) and parameter shift (1e-10), tolerances as in
 * test_backward_blocks_random; at n = 18 the same bits for 1 and 3 threads
 * on each path. */
static void test_backward_blocks_every_path(void **state)
{
    (void)state;
    const unsigned n = QML__FUSE_MIN_QUBITS;
    /* path 3 (AVX-512) runs the AVX2 block kernel: 0..2 are the kernels */
    for (int path = 0; path <= qml__fusion_path() && path <= 2; path++) {
        qml__adjoint_path_override = path;
        qml_circuit *c = block_circuit(n, 900 + (uint64_t)path);
        qml_pauli_sum *o = zz_chain(n);
        check_against_references(c, o, 910 + (uint64_t)path);
        qml_circuit_free(c);
        for (unsigned low = 0; low < 4; low++) {
            c = low_block_circuit(n, low, 920 + 4 * (uint64_t)path + low);
            check_against_references(c, o, 940 + 4 * (uint64_t)path + low);
            qml_circuit_free(c);
            c = real_block_circuit(n, low, 1020 + 4 * (uint64_t)path + low);
            check_against_references(c, o, 1040 + 4 * (uint64_t)path + low);
            qml_circuit_free(c);
        }
        qml_pauli_sum_free(o);
        c = low_block_circuit(18, (unsigned)path % 4, 960 + (uint64_t)path);
        o = zz_chain(18);
        size_t nw = qml_circuit_n_weights(c), nx = qml_circuit_n_features(c);
        double w[N_WEIGHTS], x[N_FEATURES], g1[N_WEIGHTS], gt[N_WEIGHTS], f1[N_FEATURES], ft[N_FEATURES];
        harness_rng rng = {980 + (uint64_t)path};
        for (size_t k = 0; k < nw; k++)
            w[k] = 6.0 * harness_uniform(&rng);
        for (size_t k = 0; k < nx; k++)
            x[k] = 2.0 * harness_uniform(&rng) - 1.0;
        qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
        opt.feature_gradients = 1;
        double v1, vt;
        assert_ok(qml_gradient(c, o, NULL, w, nw, x, nx, &opt, &v1, g1, f1));
        opt.n_threads = 3;
        assert_ok(qml_gradient(c, o, NULL, w, nw, x, nx, &opt, &vt, gt, ft));
        assert_true(v1 == vt);
        assert_memory_equal(g1, gt, nw * sizeof *g1);
        assert_memory_equal(f1, ft, nx * sizeof *f1);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
    qml__adjoint_path_override = -1;
}

/* The RY + CNOT ladder (`layers` layers of RY on every qubit, then CNOT
 * q -> q+1; the weights shared, N_WEIGHTS of them), the first RY of each
 * layer reading a feature too: its backward
 * blocks are real, so their first and last operations read and write the
 * states directly (edges). */
static qml_circuit *ry_ladder_circuit(unsigned n, unsigned layers)
{
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    long w = 0;
    for (unsigned l = 0; l < layers; l++) {
        for (unsigned q = 0; q < n; q++)
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, 0.1 * q, w++ % N_WEIGHTS, 1.0 - 0.1 * l,
                                               q == 0 ? 0 : QML_NONE, q == 0 ? 0.5 : 0.0));
        for (unsigned q = 0; q + 1 < n; q++)
            assert_ok(qml_circuit_add_gate(c, QML_GATE_CNOT, (unsigned[]){q, q + 1}, 2));
    }
    return c;
}

/* One gradient with the edges on or off (qml__adjoint_edges). */
static void edges_gradient(const qml_circuit *c, const qml_pauli_sum *o, const double *w, const double *x,
                           bool edges, unsigned threads, double *v, double *g, double *f)
{
    qml__adjoint_edges = edges;
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    opt.feature_gradients = 1;
    opt.n_threads = threads;
    assert_ok(qml_gradient(c, o, NULL, w, qml_circuit_n_weights(c), x, qml_circuit_n_features(c), &opt, v, g, f));
    qml__adjoint_edges = true;
}

/* Edges (a real width-4 block's first and last operation on the states
 * themselves) on every kernel path: the RY + CNOT ladder and real blocks
 * with their lowest qubit at 2 and 3 (edges) and 0 and 1 (none) at n = 14
 * and 15 bitwise the same as with every block going through the local
 * copy (the same operations in the same order: only where the operands
 * are loaded from differs), the ladder at n = 14 against the dense
 * reference (1e-12) and parameter shift (1e-10) as in
 * test_backward_blocks_every_path (which checks the real blocks, edges
 * on, against them); the ladder at n = 18 bitwise the same on 1 and 3
 * threads with edges, and with and without them. */
static void test_backward_blocks_edges(void **state)
{
    (void)state;
    for (int path = 0; path <= qml__fusion_path() && path <= 2; path++) {
        qml__adjoint_path_override = path;
        for (unsigned variant = 0; variant < 6; variant++) {
            const unsigned n = QML__FUSE_MIN_QUBITS + variant % 2;
            qml_circuit *c = variant < 2 ? ry_ladder_circuit(n, 3)
                                         : real_block_circuit(n, variant - 2, 1100 + 8 * (uint64_t)path + variant);
            qml_pauli_sum *o = zz_chain(n);
            /* the real blocks meet the references in test_backward_blocks_every_path */
            if (variant == 0)
                check_against_references(c, o, 1200 + 8 * (uint64_t)path + variant);
            size_t nw = qml_circuit_n_weights(c), nx = qml_circuit_n_features(c);
            double w[N_WEIGHTS], x[N_FEATURES], g1[N_WEIGHTS], g0[N_WEIGHTS], f1[N_FEATURES], f0[N_FEATURES];
            harness_rng rng = {1300 + 8 * (uint64_t)path + variant};
            for (size_t k = 0; k < nw; k++)
                w[k] = 6.0 * harness_uniform(&rng);
            for (size_t k = 0; k < nx; k++)
                x[k] = 2.0 * harness_uniform(&rng) - 1.0;
            double v1, v0;
            edges_gradient(c, o, w, x, true, 1, &v1, g1, f1);
            edges_gradient(c, o, w, x, false, 1, &v0, g0, f0);
            assert_true(v1 == v0);
            assert_memory_equal(g1, g0, nw * sizeof *g1);
            assert_memory_equal(f1, f0, nx * sizeof *f1);
            qml_pauli_sum_free(o);
            qml_circuit_free(c);
        }
    }
    qml__adjoint_path_override = -1;
    {
        qml_circuit *c = ry_ladder_circuit(18, 2);
        qml_pauli_sum *o = zz_chain(18);
        size_t nw = qml_circuit_n_weights(c), nx = qml_circuit_n_features(c);
        double w[N_WEIGHTS], x[N_FEATURES], g1[N_WEIGHTS], gt[N_WEIGHTS], f1[N_FEATURES], ft[N_FEATURES];
        harness_rng rng = {1400};
        for (size_t k = 0; k < nw; k++)
            w[k] = 6.0 * harness_uniform(&rng);
        for (size_t k = 0; k < nx; k++)
            x[k] = 2.0 * harness_uniform(&rng) - 1.0;
        double v1, vt;
        edges_gradient(c, o, w, x, true, 1, &v1, g1, f1);
        edges_gradient(c, o, w, x, true, 3, &vt, gt, ft);
        assert_true(v1 == vt);
        assert_memory_equal(g1, gt, nw * sizeof *g1);
        assert_memory_equal(f1, ft, nx * sizeof *f1);
        edges_gradient(c, o, w, x, false, 3, &vt, gt, ft);
        assert_memory_equal(g1, gt, nw * sizeof *g1);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
}

/* The block kernel against the reference on a state of 2^18 amplitudes,
 * where it splits over threads: value and gradients bitwise the same for 1,
 * 2 and 3 threads; and qml_gradient_batch (rows of features) against single
 * calls, bitwise, and the same for 1, 2 and 3 batch threads. */
static void test_backward_blocks_threads_batch(void **state)
{
    (void)state;
    {
        const unsigned n = 18;
        qml_circuit *c = block_circuit(n, 301);
        qml_pauli_sum *o = zz_chain(n);
        size_t nw = qml_circuit_n_weights(c), nx = qml_circuit_n_features(c);
        double w[N_WEIGHTS], x[N_FEATURES], g1[N_WEIGHTS], gt[N_WEIGHTS], f1[N_FEATURES], ft[N_FEATURES];
        double g_ref[N_WEIGHTS], f_ref[N_FEATURES];
        harness_rng rng = {302};
        for (size_t k = 0; k < nw; k++)
            w[k] = 6.0 * harness_uniform(&rng);
        for (size_t k = 0; k < nx; k++)
            x[k] = 2.0 * harness_uniform(&rng) - 1.0;
        qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
        opt.feature_gradients = 1;
        double v1, vt, v_ref;
        assert_ok(qml_gradient(c, o, NULL, w, nw, x, nx, &opt, &v1, g1, f1));
        reference_adjoint(c, o, w, x, &v_ref, g_ref, nw, f_ref, nx);
        for (size_t k = 0; k < nw; k++)
            assert_close(g1[k], g_ref[k], 1e-12);
        for (size_t k = 0; k < nx; k++)
            assert_close(f1[k], f_ref[k], 1e-12);
        for (unsigned threads = 2; threads <= 3; threads++) {
            opt.n_threads = threads;
            assert_ok(qml_gradient(c, o, NULL, w, nw, x, nx, &opt, &vt, gt, ft));
            assert_true(v1 == vt);
            assert_memory_equal(g1, gt, nw * sizeof *g1);
            assert_memory_equal(f1, ft, nx * sizeof *f1);
        }
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
    {
        const unsigned n = 14;
        enum { ROWS = 3 };
        qml_circuit *c = block_circuit(n, 401);
        qml_pauli_sum *o = zz_chain(n);
        size_t nw = qml_circuit_n_weights(c), nx = qml_circuit_n_features(c);
        double w[N_WEIGHTS], rows[ROWS * N_FEATURES], values[ROWS], grads[ROWS * N_WEIGHTS];
        harness_rng rng = {402};
        for (size_t k = 0; k < nw; k++)
            w[k] = 6.0 * harness_uniform(&rng);
        for (size_t k = 0; k < ROWS * nx; k++)
            rows[k] = 2.0 * harness_uniform(&rng) - 1.0;
        qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
        for (unsigned threads = 1; threads <= 3; threads++) {
            opt.n_threads = threads;
            assert_ok(qml_gradient_batch(c, o, NULL, w, nw, rows, ROWS, nx, &opt, QML_BATCH_PER_ROW, values, grads));
            opt.n_threads = 1;
            for (size_t r = 0; r < ROWS; r++) {
                double v, g[N_WEIGHTS];
                assert_ok(qml_gradient(c, o, NULL, w, nw, rows + r * nx, nx, &opt, &v, g, NULL));
                assert_true(v == values[r]);
                assert_memory_equal(g, grads + r * nw, nw * sizeof *g);
            }
        }
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
}

static void test_validation(void **state)
{
    (void)state;
    fixture fx;
    fixture_random(&fx, 31);
    const qml_circuit *c = fx.circuit;
    const qml_pauli_sum *o = fx.observable;
    double *w = fx.weights, *x = fx.features;
    double value, wg[N_WEIGHTS], fg[N_FEATURES];
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    const int BAD = QML_ERR_INVALID_ARGUMENT;

    assert_status(qml_gradient(NULL, o, NULL, w, N_WEIGHTS, x, N_FEATURES, &opt, &value, wg, NULL), BAD);
    assert_status(qml_gradient(c, NULL, NULL, w, N_WEIGHTS, x, N_FEATURES, &opt, &value, wg, NULL), BAD);
    assert_status(qml_gradient(c, o, NULL, NULL, N_WEIGHTS, x, N_FEATURES, &opt, &value, wg, NULL), BAD);
    /* Too short: out of range, as for qml_statevec_run. */
    assert_status(qml_gradient(c, o, NULL, w, N_WEIGHTS - 1, x, N_FEATURES, &opt, &value, wg, NULL),
                  QML_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(qml_last_error(), "qml_gradient"));
    assert_status(qml_gradient(c, o, NULL, w, N_WEIGHTS, NULL, N_FEATURES, &opt, &value, wg, NULL), BAD);
    assert_status(qml_gradient(c, o, NULL, w, N_WEIGHTS, x, N_FEATURES - 1, &opt, &value, wg, NULL),
                  QML_ERR_OUT_OF_RANGE);
    assert_status(qml_gradient(c, o, NULL, w, N_WEIGHTS, x, N_FEATURES, &opt, NULL, NULL, NULL), BAD);

    /* Qubit counts. */
    qml_pauli_sum *o3 = parse_sum(3, "Z0");
    qml_statevec *s3 = NULL;
    assert_ok(qml_statevec_create(&s3, 3));
    assert_status(qml_gradient(c, o3, NULL, w, N_WEIGHTS, x, N_FEATURES, &opt, &value, wg, NULL), BAD);
    assert_non_null(strstr(qml_last_error(), "observable"));
    assert_status(qml_gradient(c, o, s3, w, N_WEIGHTS, x, N_FEATURES, &opt, &value, wg, NULL), BAD);
    assert_non_null(strstr(qml_last_error(), "initial"));

    /* NaN and inf inputs. */
    double wn[N_WEIGHTS], xn[N_FEATURES];
    memcpy(wn, w, sizeof wn);
    wn[2] = NAN;
    assert_status(qml_gradient(c, o, NULL, wn, N_WEIGHTS, x, N_FEATURES, &opt, &value, wg, NULL), BAD);
    assert_non_null(strstr(qml_last_error(), "weight 2"));
    memcpy(xn, x, sizeof xn);
    xn[1] = INFINITY;
    assert_status(qml_gradient(c, o, NULL, w, N_WEIGHTS, xn, N_FEATURES, &opt, &value, wg, NULL), BAD);
    assert_non_null(strstr(qml_last_error(), "feature 1"));

    /* Options. */
    opt.method = (qml_gradient_method)7;
    assert_status(qml_gradient(c, o, NULL, w, N_WEIGHTS, x, N_FEATURES, &opt, &value, wg, NULL), BAD);
    opt.method = QML_GRADIENT_FINITE_DIFFERENCE;
    double steps[] = {0.0, -1e-3, NAN, INFINITY};
    for (size_t i = 0; i < 4; i++) {
        opt.step = steps[i];
        assert_status(qml_gradient(c, o, NULL, w, N_WEIGHTS, x, N_FEATURES, &opt, &value, wg, NULL), BAD);
        assert_non_null(strstr(qml_last_error(), "step"));
    }
    opt = (qml_gradient_options)QML_GRADIENT_OPTIONS_INIT;
    opt.shots = 10; /* adjoint does not sample */
    assert_status(qml_gradient(c, o, NULL, w, N_WEIGHTS, x, N_FEATURES, &opt, &value, wg, NULL), BAD);
    opt = (qml_gradient_options)QML_GRADIENT_OPTIONS_INIT;
    opt.size = 0;
    assert_status(qml_gradient(c, o, NULL, w, N_WEIGHTS, x, N_FEATURES, &opt, &value, wg, NULL), BAD);
    struct {
        qml_gradient_options base;
        double future;
    } newer = {QML_GRADIENT_OPTIONS_INIT, 1.0};
    newer.base.size = sizeof newer;
    assert_status(qml_gradient(c, o, NULL, w, N_WEIGHTS, x, N_FEATURES, &newer.base, &value, wg, NULL), BAD);
    newer.future = 0.0; /* a zero unknown field is accepted */
    assert_ok(qml_gradient(c, o, NULL, w, N_WEIGHTS, x, N_FEATURES, &newer.base, &value, wg, NULL));
    opt = (qml_gradient_options)QML_GRADIENT_OPTIONS_INIT;
    opt.feature_gradients = 1;
    assert_status(qml_gradient(c, o, NULL, w, N_WEIGHTS, x, N_FEATURES, &opt, &value, wg, NULL), BAD);
    assert_ok(qml_gradient(c, o, NULL, w, N_WEIGHTS, x, N_FEATURES, &opt, &value, wg, fg));

    /* Batches. */
    opt = (qml_gradient_options)QML_GRADIENT_OPTIONS_INIT;
    double rows[2 * N_FEATURES] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, values[2];
    assert_ok(qml_gradient_batch(c, o, NULL, w, N_WEIGHTS, rows, 2, N_FEATURES, &opt, QML_BATCH_SUM, values, wg));
    assert_status(qml_gradient_batch(NULL, o, NULL, w, N_WEIGHTS, rows, 2, N_FEATURES, &opt, QML_BATCH_SUM,
                                     values, wg), BAD);
    assert_status(qml_gradient_batch(c, NULL, NULL, w, N_WEIGHTS, rows, 2, N_FEATURES, &opt, QML_BATCH_SUM,
                                     values, wg), BAD);
    assert_status(qml_gradient_batch(c, o3, NULL, w, N_WEIGHTS, rows, 2, N_FEATURES, &opt, QML_BATCH_SUM,
                                     values, wg), BAD);
    assert_status(qml_gradient_batch(c, o, s3, w, N_WEIGHTS, rows, 2, N_FEATURES, &opt, QML_BATCH_SUM,
                                     values, wg), BAD);
    assert_status(qml_gradient_batch(c, o, NULL, w, N_WEIGHTS - 1, rows, 2, N_FEATURES, &opt, QML_BATCH_SUM,
                                     values, wg), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_gradient_batch(c, o, NULL, NULL, N_WEIGHTS, rows, 2, N_FEATURES, &opt, QML_BATCH_SUM,
                                     values, wg), BAD);
    double wbad[N_WEIGHTS];
    memcpy(wbad, w, sizeof wbad);
    wbad[N_WEIGHTS - 1] = -INFINITY;
    assert_status(qml_gradient_batch(c, o, NULL, wbad, N_WEIGHTS, rows, 2, N_FEATURES, &opt, QML_BATCH_SUM,
                                     values, wg), BAD);
    assert_status(qml_gradient_batch(c, o, NULL, w, N_WEIGHTS, NULL, 2, N_FEATURES, &opt, QML_BATCH_SUM,
                                     values, wg), BAD);
    assert_status(qml_gradient_batch(c, o, NULL, w, N_WEIGHTS, rows, 2, N_FEATURES - 1, &opt, QML_BATCH_SUM,
                                     values, wg), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_gradient_batch(c, o, NULL, w, N_WEIGHTS, rows, 2, N_FEATURES, &opt,
                                     (qml_batch_reduction)5, values, wg), BAD);
    assert_status(qml_gradient_batch(c, o, NULL, w, N_WEIGHTS, rows, 2, N_FEATURES, &opt, QML_BATCH_SUM,
                                     NULL, NULL), BAD);
    rows[4] = NAN;
    assert_status(qml_gradient_batch(c, o, NULL, w, N_WEIGHTS, rows, 2, N_FEATURES, &opt, QML_BATCH_SUM,
                                     values, wg), BAD);
    assert_non_null(strstr(qml_last_error(), "row 1"));
    rows[4] = 0.5;
    opt.feature_gradients = 1;
    assert_status(qml_gradient_batch(c, o, NULL, w, N_WEIGHTS, rows, 2, N_FEATURES, &opt, QML_BATCH_SUM,
                                     values, wg), BAD);
    opt.feature_gradients = 0;
    opt.method = QML_GRADIENT_FINITE_DIFFERENCE;
    opt.step = -1.0;
    assert_status(qml_gradient_batch(c, o, NULL, w, N_WEIGHTS, rows, 2, N_FEATURES, &opt, QML_BATCH_SUM,
                                     values, wg), BAD);

    qml_pauli_sum_free(o3);
    qml_statevec_free(s3);
    fixture_free(&fx);
}

/* ---- cache tiles ------------------------------------------------------------------ */

/* The fused forward run and the backward blocks held back and run tile by
 * tile (one thread) give the bits of block by block: on random block
 * circuits with a Pauli rotation in the middle (a gate applied directly,
 * which ends a run of tiles) followed by ladder layers, on the ladder, and
 * on a ladder over qubits 0..13 of 16 (backward blocks on qubits 10..13,
 * tiled only from a span of 14), at n = 15 and 16, for every tile span of
 * either sweep from 13 to 15 (1 to 4 grains of 2^13 amplitudes per tile).
 * The tiled results also meet the dense references in
 * test_backward_blocks_random and the other n >= 14 tests, which run with
 * the default tiles. */
static void tiles_compare(const qml_circuit *c, const qml_pauli_sum *o, const double *w, size_t nw, const double *x,
                          size_t nx)
{
    /* untiled, then (backward span, forward span) */
    static const unsigned spans[][2] = {{0, 0}, {13, 13}, {14, 13}, {14, 14}, {15, 15}, {13, 15}};
    enum { MODES = sizeof spans / sizeof spans[0] };
    const unsigned n = qml_circuit_n_qubits(c);
    double v[MODES], *g[MODES], fg[MODES][8];
    qml_statevec *s[MODES];
    assert_true(nx <= 8);
    const unsigned saved[2] = {qml__tile_span_bits, qml__tile_span_forward_bits};
    for (int t = 0; t < MODES; t++) {
        qml__fusion_tiling = t > 0;
        qml__tile_span_bits = spans[t][0];
        qml__tile_span_forward_bits = spans[t][1];
        g[t] = malloc(nw * sizeof *g[t]);
        qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
        opt.feature_gradients = nx > 0;
        assert_ok(qml_gradient(c, o, NULL, w, nw, x, nx, &opt, &v[t], g[t], nx ? fg[t] : NULL));
        assert_ok(qml_statevec_create(&s[t], n));
        assert_ok(qml_statevec_run(s[t], c, w, nw, x, nx));
    }
    qml__fusion_tiling = true;
    qml__tile_span_bits = saved[0];
    qml__tile_span_forward_bits = saved[1];
    for (int t = 1; t < MODES; t++) {
        assert_true(v[0] == v[t]);
        assert_memory_equal(g[0], g[t], nw * sizeof *g[0]);
        if (nx)
            assert_memory_equal(fg[0], fg[t], nx * sizeof fg[0][0]);
        assert_memory_equal(s[0]->amplitudes, s[t]->amplitudes, (size_t)16 << n);
    }
    double largest = 0.0;
    for (size_t k = 0; k < nw; k++)
        largest = fmax(largest, fabs(g[1][k]));
    assert_true(largest > 1e-3);
    for (int t = 0; t < MODES; t++) {
        free(g[t]);
        qml_statevec_free(s[t]);
    }
}

static void test_cache_tiles(void **state)
{
    (void)state;
    for (unsigned n = 15; n <= 16; n++) {
        qml_circuit *c = block_circuit(n, 300 + n);
        qml_pauli_sum *h = parse_sum(n, "0.5*Z0 Z1 + X2 X3");
        assert_ok(qml_circuit_add_pauli_rotation(c, h, 0.3, QML_NONE, 0.0, QML_NONE, 0.0));
        /* after it, two RY + CNOT ladder layers (blocks below and above bit 13) */
        for (unsigned l = 0; l < 2; l++) {
            for (unsigned q = 0; q < n; q++)
                assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, 0.2 * q, 0, 0.5 + 0.1 * l, QML_NONE, 0.0));
            for (unsigned q = 0; q + 1 < n; q++)
                assert_ok(qml_circuit_add_gate(c, QML_GATE_CNOT, (unsigned[]){q, q + 1}, 2));
        }
        qml_pauli_sum *o = zz_chain(n);
        size_t nw = qml_circuit_n_weights(c), nx = qml_circuit_n_features(c);
        double *w = malloc((nw + 1) * sizeof *w), x[8];
        harness_rng rng = {500 + n};
        for (size_t k = 0; k < nw; k++)
            w[k] = 6.0 * harness_uniform(&rng) - 3.0;
        for (size_t k = 0; k < 8; k++)
            x[k] = 2.0 * harness_uniform(&rng) - 1.0;
        tiles_compare(c, o, w, nw, x, nx);
        free(w);
        qml_pauli_sum_free(o);
        qml_pauli_sum_free(h);
        qml_circuit_free(c);
    }
    qml_circuit *c = ry_ladder_circuit(16, 4);
    qml_pauli_sum *o = zz_chain(16);
    size_t nw = qml_circuit_n_weights(c);
    double *w = malloc(nw * sizeof *w);
    for (size_t k = 0; k < nw; k++)
        w[k] = 0.1 + 0.37 * (double)k;
    const double x1[1] = {0.4};
    tiles_compare(c, o, w, nw, x1, 1);
    qml_circuit_free(c);
    /* the ladder on qubits 0..13 of 16, then one RY on each of 14 and 15 */
    assert_ok(qml_circuit_create(&c, 16));
    for (unsigned l = 0; l < 3; l++) {
        for (unsigned q = 0; q < 14; q++)
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, 0.1 * q, (long)(14 * l + q) % N_WEIGHTS,
                                               1.0 - 0.1 * l, QML_NONE, 0.0));
        for (unsigned q = 0; q + 1 < 14; q++)
            assert_ok(qml_circuit_add_gate(c, QML_GATE_CNOT, (unsigned[]){q, q + 1}, 2));
    }
    for (unsigned q = 14; q < 16; q++)
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, 0.3, (long)q % N_WEIGHTS, 1.0, QML_NONE, 0.0));
    tiles_compare(c, o, w, nw, NULL, 0);
    free(w);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
}

/* ---- the observable's light cone ------------------------------------------------- */

/* Value and gradients with the light cone (the default) against the same
 * call running every gate (qml__gradient_light_cone off), per method. Both
 * exact methods differ from each other by rounding only: ~ (gates) eps
 * ||O||_1 ~ 200 * 1.1e-16 * 3 < 1e-13, so 1e-12; finite differences divide
 * that by the step h = 1e-5, so 1e-7. Weights in `zero` are read only by
 * gates outside the cone: with the cone their gradient is exactly 0, and
 * without it within rounding of 0 (the theory's check on the full run). */
static void cone_compare(const qml_circuit *c, const qml_pauli_sum *o, const qml_statevec *init, const double *w,
                         size_t nw, const double *x, size_t nx, const bool *zero)
{
    qml_gradient_method methods[3] = {QML_GRADIENT_ADJOINT, QML_GRADIENT_PARAMETER_SHIFT,
                                      QML_GRADIENT_FINITE_DIFFERENCE};
    const double tolerance[3] = {1e-12, 1e-12, 1e-7};
    double *g[2], fg[2][8];
    g[0] = malloc(nw * sizeof *g[0]);
    g[1] = malloc(nw * sizeof *g[1]);
    assert_true(g[0] && g[1] && nx <= 8);
    for (int m = 0; m < 3; m++) {
        qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
        opt.method = methods[m];
        opt.feature_gradients = nx > 0;
        opt.step = 1e-5;
        double v[2];
        for (int cone = 0; cone < 2; cone++) {
            qml__gradient_light_cone = cone == 0;
            int status = qml_gradient(c, o, init, w, nw, x, nx, &opt, &v[cone], g[cone], nx ? fg[cone] : NULL);
            qml__gradient_light_cone = true;
            assert_ok(status);
        }
        if (fabs(v[0] - v[1]) > 1e-12)
            fail_msg("method %d: value %.17g with the light cone, %.17g with every gate", m, v[0], v[1]);
        for (size_t k = 0; k < nw; k++) {
            if (fabs(g[0][k] - g[1][k]) > tolerance[m])
                fail_msg("method %d: weight %zu: %.17g with the light cone, %.17g with every gate", m, k, g[0][k],
                         g[1][k]);
            if (zero[k] && m < 2) {
                assert_true(g[0][k] == 0.0);
                assert_true(fabs(g[1][k]) < 1e-13);
            }
        }
        for (size_t k = 0; k < nx; k++)
            if (fabs(fg[0][k] - fg[1][k]) > tolerance[m])
                fail_msg("method %d: feature %zu: %.17g against %.17g", m, k, fg[0][k], fg[1][k]);
    }
    free(g[0]);
    free(g[1]);
}

/* A normalised random state of n qubits. */
static qml_statevec *random_state(unsigned n, uint64_t seed)
{
    harness_rng rng = {seed};
    size_t count = (size_t)2 << n;
    double *a = malloc(count * sizeof *a), norm = 0.0;
    assert_non_null(a);
    for (size_t i = 0; i < count; i++) {
        a[i] = harness_normal(&rng);
        norm += a[i] * a[i];
    }
    for (size_t i = 0; i < count; i++)
        a[i] /= sqrt(norm);
    qml_statevec *state = NULL;
    assert_ok(qml_statevec_create(&state, n));
    assert_ok(qml_statevec_set_amplitudes(state, a, (size_t)1 << n, 1e-12));
    free(a);
    return state;
}

/* Random circuits on 7 qubits (every kind of gate, shared weights and
 * features), each followed by a layer of RY on every qubit and RZ on qubits
 * 0 and 1 on weights of their own, against local observables: diagonal ones
 * (which also pass diagonal gates and keep monomial ones diagonal), non-
 * diagonal ones, one with an identity term, and the identity alone (every
 * gate pruned). Then the fused paths: the hardware-efficient template at
 * n = 15 with O = Z0 Z1, where the light cone keeps about half the gates. */
static void test_light_cone(void **state)
{
    (void)state;
    enum { N = 7, NW = 9 + N + 2 };
    static const char *observables[] = {"Z0 Z1", "X3", "0.5*Z2 - Z5 + 0.25", "Y6 Z5", "Z0 Z6", "X1 Y2 + Z1", "1.5"};
    static const qml_gate_kind kinds[] = {QML_GATE_RX,  QML_GATE_RY,  QML_GATE_RZ,  QML_GATE_RXX, QML_GATE_RYY,
                                          QML_GATE_RZZ, QML_GATE_CRX, QML_GATE_CRY, QML_GATE_CRZ, QML_GATE_PHASE};
    static const qml_gate_kind fixed1[] = {QML_GATE_H, QML_GATE_S, QML_GATE_T, QML_GATE_SX, QML_GATE_X, QML_GATE_Y,
                                           QML_GATE_Z};
    static const qml_gate_kind fixed2[] = {QML_GATE_CNOT, QML_GATE_CZ, QML_GATE_SWAP, QML_GATE_ISWAP, QML_GATE_CY};
    qml_pauli_sum *zrot = parse_sum(N, "Z2 Z4"), *xrot = parse_sum(N, "X0 Y5");
    for (uint64_t seed = 1; seed <= 12; seed++) {
        harness_rng rng = {900 + seed};
        qml_circuit *c = NULL;
        assert_ok(qml_circuit_create(&c, N));
        for (int i = 0; i < 40; i++) {
            unsigned q[3];
            unsigned pick = (unsigned)(harness_next(&rng) % 10);
            long w = (long)(harness_next(&rng) % 9), f = harness_next(&rng) % 4 == 0 ? (long)(i % 3) : QML_NONE;
            double constant = 2.0 * harness_uniform(&rng) - 1.0;
            if (pick < 5) {
                qml_gate_kind kind = kinds[harness_next(&rng) % 10];
                unsigned arity = (kind >= QML_GATE_RXX && kind <= QML_GATE_CRZ) ? 2 : 1;
                q[0] = (unsigned)(harness_next(&rng) % N);
                q[1] = (q[0] + 1 + (unsigned)(harness_next(&rng) % (N - 1))) % N;
                assert_ok(qml_circuit_add_rotation(c, kind, q, arity, constant, w, 0.9, f, 0.7));
            } else if (pick < 7) {
                q[0] = (unsigned)(harness_next(&rng) % N);
                assert_ok(qml_circuit_add_gate(c, fixed1[harness_next(&rng) % 7], q, 1));
            } else if (pick < 9) {
                q[0] = (unsigned)(harness_next(&rng) % N);
                q[1] = (q[0] + 1 + (unsigned)(harness_next(&rng) % (N - 1))) % N;
                assert_ok(qml_circuit_add_gate(c, fixed2[harness_next(&rng) % 5], q, 2));
            } else {
                assert_ok(qml_circuit_add_pauli_rotation(c, harness_next(&rng) & 1 ? zrot : xrot, constant, w, 1.1,
                                                         QML_NONE, 0.0));
            }
        }
        bool zero[NW] = {false};
        for (unsigned q = 0; q < N; q++)
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, 0.2, 9 + (long)q, 1.0, QML_NONE, 0.0));
        for (unsigned q = 0; q < 2; q++)
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZ, &q, 1, 0.1, 9 + N + (long)q, 1.0, QML_NONE, 0.0));
        size_t nw = qml_circuit_n_weights(c), nx = qml_circuit_n_features(c);
        assert_true(nw <= NW);
        double w[NW], x[3] = {0.3, -0.7, 1.1};
        for (size_t k = 0; k < NW; k++)
            w[k] = 6.0 * harness_uniform(&rng) - 3.0;
        const char *text = observables[(seed - 1) % 7];
        qml_pauli_sum *o = parse_sum(N, text);
        /* What the final layers' weights must give: the RY on a qubit no
         * term touches, and both RZ when every term is diagonal. */
        bool diagonal = strchr(text, 'X') == NULL && strchr(text, 'Y') == NULL;
        for (unsigned q = 0; q < N; q++) {
            char name[4];
            snprintf(name, sizeof name, "%u", q);
            zero[9 + q] = strstr(text, name) == NULL;
        }
        zero[9 + N] = zero[9 + N + 1] = diagonal;
        if (seed > 6) {
            /* Trailing monomial and diagonal gates: a diagonal O stays
             * diagonal through them, with its support moved and spread. */
            static const qml_gate_kind trail[] = {QML_GATE_CNOT, QML_GATE_X,   QML_GATE_SWAP, QML_GATE_CZ,
                                                  QML_GATE_Y,    QML_GATE_CY,  QML_GATE_ISWAP, QML_GATE_T,
                                                  QML_GATE_RZZ,  QML_GATE_PHASE, QML_GATE_TOFFOLI};
            for (int i = 0; i < 10; i++) {
                qml_gate_kind kind = trail[harness_next(&rng) % 11];
                unsigned q[3] = {(unsigned)(harness_next(&rng) % N)};
                q[1] = (q[0] + 1 + (unsigned)(harness_next(&rng) % (N - 1))) % N;
                q[2] = (q[1] + 1) % N == q[0] ? (q[1] + 2) % N : (q[1] + 1) % N;
                unsigned arity = kind == QML_GATE_TOFFOLI ? 3
                                 : kind == QML_GATE_X || kind == QML_GATE_Y || kind == QML_GATE_T ||
                                           kind == QML_GATE_PHASE
                                     ? 1
                                     : 2;
                if (kind == QML_GATE_RZZ || kind == QML_GATE_PHASE)
                    assert_ok(qml_circuit_add_rotation(c, kind, q, arity, 0.4, (long)(harness_next(&rng) % 9), 1.2,
                                                       QML_NONE, 0.0));
                else
                    assert_ok(qml_circuit_add_gate(c, kind, q, arity));
            }
            memset(zero, 0, sizeof zero);
        }
        qml_statevec *init = seed % 2 ? random_state(N, seed) : NULL;
        cone_compare(c, o, init, w, nw, x, nx, zero);
        qml_statevec_free(init);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
    qml_pauli_sum_free(zrot);
    qml_pauli_sum_free(xrot);

    /* The fused forward and backward blocks (from 14 qubits), an initial
     * state other than |0...0>, and exact zeros for the final RZ layer and
     * the final RY on qubits 2 and up. */
    unsigned n = 15;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    assert_ok(qml_ansatz_hardware_efficient(c, 3, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    size_t nw = qml_circuit_n_weights(c);
    assert_int_equal(nw, 2 * 3 * n);
    double *w = malloc(nw * sizeof *w);
    bool *zero = calloc(nw, sizeof *zero);
    assert_true(w && zero);
    harness_rng rng = {77};
    for (size_t k = 0; k < nw; k++)
        w[k] = 6.0 * harness_uniform(&rng) - 3.0;
    /* the last layer's gates in the order the template adds them: RY on
     * every qubit, then RZ on every qubit, then the CZ ladder */
    for (size_t g = 0; g < qml_circuit_n_gates(c); g++) {
        qml_gate_kind kind;
        unsigned q[3];
        size_t count;
        double constant, ws, fs;
        int64_t weight, feature;
        assert_ok(qml_circuit_gate(c, g, &kind, q, &count));
        if (kind != QML_GATE_RY && kind != QML_GATE_RZ)
            continue;
        assert_ok(qml_circuit_gate_angle(c, g, &constant, &weight, &ws, &feature, &fs));
        if ((size_t)weight >= 2 * 2 * n)
            zero[weight] = kind == QML_GATE_RZ || q[0] >= 2;
    }
    size_t n_zero = 0;
    for (size_t k = 0; k < nw; k++)
        n_zero += zero[k];
    assert_int_equal(n_zero, n + n - 2);
    qml_pauli_sum *o = parse_sum(n, "Z0 Z1");
    qml_statevec *init = random_state(n, 78);
    cone_compare(c, o, init, w, nw, NULL, 0, zero);
    cone_compare(c, o, NULL, w, nw, NULL, 0, zero);
    qml_statevec_free(init);
    qml_pauli_sum_free(o);
    free(zero);
    free(w);
    qml_circuit_free(c);
}

/* What the light cone keeps, counted: the hardware-efficient template at
 * n = 20, L = 20 with O = Z0 Z1 keeps 664 of 1180 gates (the figure in
 * docs/gradients.md; by hand: the last layer keeps RY 0, RY 1, and layer
 * L - j before it keeps the RY, RZ of qubits 0..j+1 and the CZ of bonds
 * 0..j, capped at n qubits); the RY + CNOT ladder with sum Z_i Z_i+1 folds
 * its last CNOT ladder into the observable (19 terms still) and keeps the
 * rest. Then the folded observable itself, against the statevector: for a
 * circuit T made only of permutation and diagonal gates, every gate is
 * dropped and <psi| T^dag O T |psi> = <psi| O' |psi> for random psi. */
static void test_light_cone_counts(void **state)
{
    (void)state;
    unsigned n = 20;
    qml_circuit *c = NULL;
    qml_pauli_sum *folded = NULL;
    size_t kept = 0;
    assert_ok(qml_circuit_create(&c, n));
    assert_ok(qml_ansatz_hardware_efficient(c, n, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    qml_pauli_sum *o = parse_sum(n, "Z0 Z1");
    assert_ok(qml__gradient_light_cone_plan(c, o, &kept, &folded));
    assert_null(folded);
    size_t expected = 2;
    for (unsigned j = 1; j < n; j++) {
        unsigned width = j + 2 < n ? j + 2 : n;
        expected += 2 * width + (width - 1);
    }
    assert_int_equal(qml_circuit_n_gates(c), 1180);
    assert_int_equal(kept, expected);
    assert_int_equal(kept, 664);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);

    c = ry_ladder_circuit(n, 10);
    assert_ok(qml_pauli_sum_create(&o, n));
    for (unsigned q = 0; q + 1 < n; q++)
        assert_ok(qml_pauli_sum_add_term(o, 1.0, "ZZ", (unsigned[]){q, q + 1}, 2));
    assert_ok(qml__gradient_light_cone_plan(c, o, &kept, &folded));
    assert_non_null(folded);
    /* Through the ladder CNOT(0,1) ... CNOT(n-2,n-1), Z_q Z_q+1 becomes
     * Z_q+1: qubit 0 leaves the support, so the last RY on it goes too. */
    assert_int_equal(kept, qml_circuit_n_gates(c) - (n - 1) - 1);
    assert_int_equal(qml_pauli_sum_n_terms(folded), n - 1);
    for (unsigned q = 0; q + 1 < n; q++) {
        double coefficient;
        char dense[32];
        assert_ok(qml_pauli_sum_term(folded, q, &coefficient, dense));
        for (unsigned k = 0; k < n; k++)
            assert_true(dense[k] == (k == q + 1 ? 'Z' : 'I'));
        assert_true(coefficient == 1.0);
    }
    qml_pauli_sum_free(folded);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);

    enum { M = 5 };
    static const qml_gate_kind kinds[] = {QML_GATE_CNOT, QML_GATE_X,     QML_GATE_SWAP, QML_GATE_CZ,
                                          QML_GATE_Y,    QML_GATE_CY,    QML_GATE_ISWAP, QML_GATE_T,
                                          QML_GATE_S,    QML_GATE_Z};
    static const char *observables[] = {"Z0 Z1 + 0.5*Z3 - 0.25*Z2 Z4 + 0.1", "Z4", "Z0 Z1 Z2 Z3 Z4 - Z1"};
    for (uint64_t seed = 1; seed <= 30; seed++) {
        harness_rng rng = {4000 + seed};
        assert_ok(qml_circuit_create(&c, M));
        for (int i = 0; i < 12; i++) {
            qml_gate_kind kind = kinds[harness_next(&rng) % 10];
            unsigned q[2] = {(unsigned)(harness_next(&rng) % M)};
            q[1] = (q[0] + 1 + (unsigned)(harness_next(&rng) % (M - 1))) % M;
            bool one = kind == QML_GATE_X || kind == QML_GATE_Y || kind == QML_GATE_T || kind == QML_GATE_S ||
                       kind == QML_GATE_Z;
            assert_ok(qml_circuit_add_gate(c, kind, q, one ? 1 : 2));
        }
        o = parse_sum(M, observables[seed % 3]);
        assert_ok(qml__gradient_light_cone_plan(c, o, &kept, &folded));
        assert_int_equal(kept, 0);
        /* folded is NULL when only diagonal and untouched gates were dropped */
        const qml_pauli_sum *folded_or_o = folded ? folded : o;
        assert_int_equal(qml_pauli_sum_n_terms(folded_or_o), qml_pauli_sum_n_terms(o));
        for (int r = 0; r < 4; r++) {
            qml_statevec *psi = random_state(M, 100 * seed + (uint64_t)r), *moved = NULL;
            assert_ok(qml_statevec_copy(&moved, psi));
            assert_ok(qml_statevec_run(moved, c, NULL, 0, NULL, 0));
            double a, b;
            assert_ok(qml_statevec_expectation(moved, o, &a));
            assert_ok(qml_statevec_expectation(psi, folded_or_o, &b));
            /* |terms| * eps * ||O||_1-scale rounding: 1e-13 */
            if (fabs(a - b) > 1e-13)
                fail_msg("seed %llu: <T^dag O T> = %.17g, folded <O'> = %.17g", (unsigned long long)seed, a, b);
            qml_statevec_free(moved);
            qml_statevec_free(psi);
        }
        qml_pauli_sum_free(folded);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
}

/* ---- caller-owned scratch states ---------------------------------------------- */

/* options.scratch: every method gives the bits it gives with states of its
 * own, with and without an initial state, also when the scratch states hold
 * the previous call's leftovers; the scratch states' thread counts are
 * restored. Then the fused paths (the ladder at n = 16, blocks from 14
 * qubits on) on 1 and 2 kernel threads. */
static void scratch_gradient(const qml_circuit *c, const qml_pauli_sum *o, const qml_statevec *init,
                             const double *w, size_t nw, const double *x, size_t nx, qml_gradient_options opt,
                             qml_statevec *const scratch[2])
{
    double v0, v1, v2, wg0[256], wg1[256], wg2[256], fg0[N_FEATURES], fg1[N_FEATURES], fg2[N_FEATURES];
    assert_true(nw <= 256 && nx <= N_FEATURES);
    double *f0 = opt.feature_gradients ? fg0 : NULL, *f1 = opt.feature_gradients ? fg1 : NULL,
           *f2 = opt.feature_gradients ? fg2 : NULL;
    assert_ok(qml_gradient(c, o, init, w, nw, x, nx, &opt, &v0, wg0, f0));
    opt.scratch[0] = scratch[0];
    opt.scratch[1] = scratch[1];
    assert_ok(qml_gradient(c, o, init, w, nw, x, nx, &opt, &v1, wg1, f1));
    assert_ok(qml_gradient(c, o, init, w, nw, x, nx, &opt, &v2, wg2, f2));
    assert_true(v0 == v1 && v0 == v2);
    assert_memory_equal(wg0, wg1, nw * sizeof *wg0);
    assert_memory_equal(wg0, wg2, nw * sizeof *wg0);
    if (opt.feature_gradients) {
        assert_memory_equal(fg0, fg1, nx * sizeof *fg0);
        assert_memory_equal(fg0, fg2, nx * sizeof *fg0);
    }
    assert_int_equal(scratch[0]->n_threads, 1);
    assert_int_equal(scratch[1]->n_threads, 1);
}

static void test_scratch_states(void **state)
{
    (void)state;
    qml_statevec *scratch[2] = {NULL, NULL};
    assert_ok(qml_statevec_create(&scratch[0], N_QUBITS));
    assert_ok(qml_statevec_create(&scratch[1], N_QUBITS));
    qml_gradient_method methods[3] = {QML_GRADIENT_ADJOINT, QML_GRADIENT_PARAMETER_SHIFT,
                                      QML_GRADIENT_FINITE_DIFFERENCE};
    for (uint64_t seed = 21; seed <= 23; seed++) {
        fixture fx;
        fixture_random(&fx, seed);
        for (int m = 0; m < 3; m++) {
            qml_gradient_options opt = method_options(methods[m]);
            opt.n_threads = seed == 22 ? 2 : 1;
            scratch_gradient(fx.circuit, fx.observable, fx.initial, fx.weights, N_WEIGHTS, fx.features, N_FEATURES,
                             opt, scratch);
            scratch_gradient(fx.circuit, fx.observable, NULL, fx.weights, N_WEIGHTS, fx.features, N_FEATURES, opt,
                             scratch);
        }
        fixture_free(&fx);
    }
    qml_statevec_free(scratch[0]);
    qml_statevec_free(scratch[1]);

    const unsigned n = 16;
    qml_circuit *c = ladder_circuit(n, 3);
    qml_pauli_sum *o = zz_chain(n);
    size_t nw = qml_circuit_n_weights(c);
    double w[256];
    assert_true(nw <= 256);
    for (size_t k = 0; k < nw; k++)
        w[k] = 0.1 + 0.37 * (double)k;
    assert_ok(qml_statevec_create(&scratch[0], n));
    assert_ok(qml_statevec_create(&scratch[1], n));
    for (unsigned threads = 1; threads <= 2; threads++) {
        qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
        opt.n_threads = threads;
        const double x[1] = {0.3};
        scratch_gradient(c, o, NULL, w, nw, x, 1, opt, scratch);
    }
    qml_statevec_free(scratch[0]);
    qml_statevec_free(scratch[1]);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
}

/* ---- allocation failures ---------------------------------------------------------- */

typedef struct alloc_case {
    qml_gradient_method method;
    uint64_t shots;
    unsigned threads;
    int batch;
    int scratch;                     /* qml_gradient in two caller-owned states (options.scratch) */
    int local;                       /* O = Z0 after a final RY on qubit 1: the light cone drops gates */
} alloc_case;

static int sequence_gradient(void *context)
{
    const alloc_case *ac = context;
    unsigned q0 = 0, q1 = 1, pair[2] = {0, 1};
    qml_circuit *c = NULL;
    qml_pauli_sum *o = NULL, *h = NULL;
    qml_statevec *init = NULL, *scratch[2] = {NULL, NULL};
    int status = qml_circuit_create(&c, 2);
    if (!status)
        status = qml_circuit_add_rotation(c, QML_GATE_RY, &q0, 1, 0.1, 0, 1.0, 0, 0.5);
    if (!status)
        status = qml_circuit_add_rotation(c, QML_GATE_CRX, pair, 2, 0.0, 1, -1.5, QML_NONE, 0.0);
    if (!status)
        status = qml_circuit_add_gate(c, QML_GATE_CNOT, pair, 2);
    if (!status)
        status = qml_pauli_sum_parse(&h, 2, "0.5*Z0 Z1 + X0 X1");
    if (!status)
        status = qml_circuit_add_pauli_rotation(c, h, 0.0, 0, 0.7, QML_NONE, 0.0);
    if (!status)
        status = qml_circuit_add_rotation(c, QML_GATE_RX, &q1, 1, 0.0, 1, 1.0, 1, 1.0);
    if (!status && ac->local)
        status = qml_circuit_add_rotation(c, QML_GATE_RY, &q1, 1, 0.2, 0, 1.0, QML_NONE, 0.0);
    if (!status)
        status = qml_pauli_sum_parse(&o, 2, ac->local ? "Z0" : "Z0 + 0.5*X1 + Y0 Y1");
    if (!status)
        status = qml_statevec_create(&init, 2);
    if (!status)
        status = qml_statevec_set_basis(init, 2);
    for (int i = 0; i < 2 && ac->scratch && !status; i++)
        status = qml_statevec_create(&scratch[i], 2);
    if (!status) {
        qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
        opt.method = ac->method;
        opt.shots = ac->shots;
        opt.n_threads = ac->threads;
        opt.scratch[0] = scratch[0];
        opt.scratch[1] = scratch[1];
        double w[2] = {0.3, -0.8}, x[6] = {0.2, 0.9, -0.4, 0.1, 0.5, -0.3}, value, values[3], g[6], fg[2];
        if (ac->batch) {
            status = qml_gradient_batch(c, o, init, w, 2, x, 3, 2, &opt, QML_BATCH_PER_ROW, values, g);
            if (!status)
                status = qml_gradient_batch(c, o, init, w, 2, x, 3, 2, &opt, QML_BATCH_SUM, values, g);
        } else {
            opt.feature_gradients = 1;
            status = qml_gradient(c, o, init, w, 2, x, 2, &opt, &value, g, fg);
        }
    }
    qml_statevec_free(init);
    qml_statevec_free(scratch[0]);
    qml_statevec_free(scratch[1]);
    qml_pauli_sum_free(o);
    qml_pauli_sum_free(h);
    qml_circuit_free(c);
    return status;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    /* The shared counting allocator is not thread-safe (workers allocate:
     * expectations group their terms in scratch memory), so one thread
     * here; test_allocation_failures_threads covers several. */
    alloc_case cases[] = {
        {QML_GRADIENT_ADJOINT, 0, 1, 0, 0, 0},         {QML_GRADIENT_PARAMETER_SHIFT, 0, 1, 0, 0, 0},
        {QML_GRADIENT_PARAMETER_SHIFT, 20, 1, 0, 0, 0}, {QML_GRADIENT_FINITE_DIFFERENCE, 0, 1, 0, 0, 0},
        {QML_GRADIENT_ADJOINT, 0, 1, 1, 0, 0},         {QML_GRADIENT_PARAMETER_SHIFT, 0, 1, 1, 0, 0},
        {QML_GRADIENT_PARAMETER_SHIFT, 20, 1, 1, 0, 0}, {QML_GRADIENT_FINITE_DIFFERENCE, 0, 1, 1, 0, 0},
        {QML_GRADIENT_ADJOINT, 0, 1, 0, 1, 0},         {QML_GRADIENT_PARAMETER_SHIFT, 0, 1, 0, 1, 0},
        {QML_GRADIENT_FINITE_DIFFERENCE, 0, 1, 0, 1, 0},
        {QML_GRADIENT_ADJOINT, 0, 1, 0, 0, 1},      {QML_GRADIENT_PARAMETER_SHIFT, 0, 1, 1, 0, 1},
        {QML_GRADIENT_FINITE_DIFFERENCE, 0, 1, 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int runs = harness_check_allocation_failures(sequence_gradient, &cases[i]);
        assert_true(runs > 5);
    }
}

/* A thread-safe failing allocator: the k-th allocation (counted across all
 * threads) fails; live blocks are counted atomically. */
static atomic_long mt_allocations, mt_live, mt_fail_at;
static atomic_int mt_failed;

static void *mt_malloc(size_t size, void *user)
{
    (void)user;
    if (atomic_fetch_add(&mt_allocations, 1) + 1 == atomic_load(&mt_fail_at)) {
        atomic_store(&mt_failed, 1);
        return NULL;
    }
    void *p = malloc(size);
    if (p)
        atomic_fetch_add(&mt_live, 1);
    return p;
}

static void *mt_realloc(void *ptr, size_t size, void *user)
{
    (void)user;
    if (atomic_fetch_add(&mt_allocations, 1) + 1 == atomic_load(&mt_fail_at)) {
        atomic_store(&mt_failed, 1);
        return NULL;
    }
    void *p = realloc(ptr, size);
    if (p && !ptr)
        atomic_fetch_add(&mt_live, 1);
    return p;
}

static void mt_free(void *ptr, void *user)
{
    (void)user;
    if (ptr) {
        atomic_fetch_sub(&mt_live, 1);
        free(ptr);
    }
}

/* Batches on 2 and 3 workers with the k-th allocation failing, for every k
 * along the sequence: the workspaces of all workers are created before any
 * work starts, and a failure inside a worker (an expectation's scratch)
 * reaches the caller with its row; nothing leaks. */
static void test_allocation_failures_threads(void **state)
{
    (void)state;
    qml_allocator a = {sizeof a, mt_malloc, mt_realloc, mt_free, NULL};
    for (unsigned threads = 2; threads <= 3; threads++) {
        for (int method = 0; method < 3; method++) {
            alloc_case ac = {(qml_gradient_method)method, 0, threads, 1, 0, 0};
            int hits = 0;
            for (long k = 1;; k++) {
                atomic_store(&mt_allocations, 0);
                atomic_store(&mt_live, 0);
                atomic_store(&mt_failed, 0);
                atomic_store(&mt_fail_at, k);
                assert_ok(qml_set_allocator(&a));
                int status = sequence_gradient(&ac);
                qml_set_allocator(NULL);
                if (atomic_load(&mt_live) != 0)
                    fail_msg("%u threads, allocation %ld failing: %ld block(s) leaked", threads, k,
                             atomic_load(&mt_live));
                if (!atomic_load(&mt_failed)) {
                    assert_ok(status);
                    break;
                }
                hits++;
                if (status != QML_ERR_OUT_OF_MEMORY)
                    fail_msg("%u threads, allocation %ld failing: status %d (%s)", threads, k, status,
                             qml_last_error());
            }
            assert_true(hits > 5);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_methods_agree),
        cmocka_unit_test(test_defaults_and_padding),
        cmocka_unit_test(test_closed_forms),
        cmocka_unit_test(test_shots_unbiased_and_variance),
        cmocka_unit_test(test_batch_matches_single_rows),
        cmocka_unit_test(test_kernel_threads_bitwise),
        cmocka_unit_test(test_diagonal_runs),
        cmocka_unit_test(test_fused_adjoint_ladder),
        cmocka_unit_test(test_fused_blocks_adjoint),
        cmocka_unit_test(test_backward_blocks_random),
        cmocka_unit_test(test_backward_blocks_threads_batch),
        cmocka_unit_test(test_backward_blocks_low_qubits),
        cmocka_unit_test(test_backward_blocks_every_path),
        cmocka_unit_test(test_backward_blocks_edges),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_scratch_states),
        cmocka_unit_test(test_cache_tiles),
        cmocka_unit_test(test_light_cone),
        cmocka_unit_test(test_light_cone_counts),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_allocation_failures_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

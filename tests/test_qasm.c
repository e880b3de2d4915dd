/* test_qasm.c: OpenQASM in and out. Every qelib1.inc gate against the
 * unitary its OpenQASM 2 definition gives (dense matrices built here from
 * U = Rz(phi) Ry(theta) Rz(lambda) and CX, up to a global phase); the round
 * trip parse(format(c)) on random circuits of every gate kind, bit for bit;
 * hand-written files in the styles Qiskit and PennyLane write; every error
 * path with its line and column; allocation failures; inputs the fuzzer
 * found. */
#include "harness.h"
#include "internal.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef QML_TEST_QASM_DIR
#define QML_TEST_QASM_DIR "tests/qasm"
#endif

static const double PI = 3.14159265358979323846;

/* ---- dense references ------------------------------------------------------ */

#define MAXN 5
#define MAXD (1 << MAXN)

/* A dense 2^n x 2^n unitary, built by applying gates to it from the left. */
typedef struct dense {
    unsigned n;
    double m[2 * MAXD * MAXD];
} dense;

static void dense_identity(dense *d, unsigned n)
{
    d->n = n;
    size_t dim = (size_t)1 << n;
    memset(d->m, 0, sizeof d->m);
    for (size_t i = 0; i < dim; i++)
        d->m[2 * (i * dim + i)] = 1;
}

/* d = (V on qubit q) d */
static void dense_apply1(dense *d, const double v[8], unsigned q)
{
    size_t dim = (size_t)1 << d->n;
    for (size_t c = 0; c < dim; c++)
        for (size_t r = 0; r < dim; r++) {
            if (r >> q & 1u)
                continue;
            size_t r1 = r | ((size_t)1 << q);
            double a0r = d->m[2 * (r * dim + c)], a0i = d->m[2 * (r * dim + c) + 1];
            double a1r = d->m[2 * (r1 * dim + c)], a1i = d->m[2 * (r1 * dim + c) + 1];
            d->m[2 * (r * dim + c)] = v[0] * a0r - v[1] * a0i + v[2] * a1r - v[3] * a1i;
            d->m[2 * (r * dim + c) + 1] = v[0] * a0i + v[1] * a0r + v[2] * a1i + v[3] * a1r;
            d->m[2 * (r1 * dim + c)] = v[4] * a0r - v[5] * a0i + v[6] * a1r - v[7] * a1i;
            d->m[2 * (r1 * dim + c) + 1] = v[4] * a0i + v[5] * a0r + v[6] * a1i + v[7] * a1r;
        }
}

/* d = CX(c, t) d: swap rows with bit c set that differ in bit t. */
static void dense_cx(dense *d, unsigned control, unsigned target)
{
    size_t dim = (size_t)1 << d->n;
    for (size_t r = 0; r < dim; r++) {
        if (!(r >> control & 1u) || (r >> target & 1u))
            continue;
        size_t r1 = r | ((size_t)1 << target);
        for (size_t c = 0; c < 2 * dim; c++) {
            double tmp = d->m[2 * r * dim + c];
            d->m[2 * r * dim + c] = d->m[2 * r1 * dim + c];
            d->m[2 * r1 * dim + c] = tmp;
        }
    }
}

static void mul2(const double a[8], const double b[8], double c[8])
{
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 2; k++) {
            double re = 0, im = 0;
            for (int j = 0; j < 2; j++) {
                double ar = a[2 * (r * 2 + j)], ai = a[2 * (r * 2 + j) + 1];
                double br = b[2 * (j * 2 + k)], bi = b[2 * (j * 2 + k) + 1];
                re += ar * br - ai * bi;
                im += ar * bi + ai * br;
            }
            c[2 * (r * 2 + k)] = re;
            c[2 * (r * 2 + k) + 1] = im;
        }
}

/* The OpenQASM 2 primitive U(theta, phi, lambda) = Rz(phi) Ry(theta) Rz(lambda). */
static void spec_u(double theta, double phi, double lambda, double out[8])
{
    double rz_phi[8] = {cos(phi / 2), -sin(phi / 2), 0, 0, 0, 0, cos(phi / 2), sin(phi / 2)};
    double ry[8] = {cos(theta / 2), 0, -sin(theta / 2), 0, sin(theta / 2), 0, cos(theta / 2), 0};
    double rz_lambda[8] = {cos(lambda / 2), -sin(lambda / 2), 0, 0, 0, 0, cos(lambda / 2), sin(lambda / 2)};
    double tmp[8];
    mul2(ry, rz_lambda, tmp);
    mul2(rz_phi, tmp, out);
}

/* The qelib1.inc bodies, written as U and CX. */
static void U(dense *d, double theta, double phi, double lambda, unsigned q)
{
    double v[8];
    spec_u(theta, phi, lambda, v);
    dense_apply1(d, v, q);
}
static void u1(dense *d, double l, unsigned q) { U(d, 0, 0, l, q); }
static void u2(dense *d, double p, double l, unsigned q) { U(d, PI / 2, p, l, q); }
static void h(dense *d, unsigned q) { u2(d, 0, PI, q); }
static void s(dense *d, unsigned q) { u1(d, PI / 2, q); }
static void sdg(dense *d, unsigned q) { u1(d, -PI / 2, q); }
static void t(dense *d, unsigned q) { u1(d, PI / 4, q); }
static void tdg(dense *d, unsigned q) { u1(d, -PI / 4, q); }
static void x(dense *d, unsigned q) { U(d, PI, 0, PI, q); }
static void cx(dense *d, unsigned a, unsigned b) { dense_cx(d, a, b); }
static void cu1(dense *d, double l, unsigned a, unsigned b)
{
    u1(d, l / 2, a);
    cx(d, a, b);
    u1(d, -l / 2, b);
    cx(d, a, b);
    u1(d, l / 2, b);
}
static void ccx(dense *d, unsigned a, unsigned b, unsigned c)
{
    h(d, c); cx(d, b, c); tdg(d, c); cx(d, a, c); t(d, c); cx(d, b, c); tdg(d, c); cx(d, a, c);
    t(d, b); t(d, c); h(d, c); cx(d, a, b); t(d, a); tdg(d, b); cx(d, a, b);
}
static void cu3(dense *d, double th, double ph, double la, unsigned c, unsigned tq)
{
    u1(d, (la + ph) / 2, c);
    u1(d, (la - ph) / 2, tq);
    cx(d, c, tq);
    U(d, -th / 2, 0, -(ph + la) / 2, tq);
    cx(d, c, tq);
    U(d, th / 2, ph, 0, tq);
}

/* A multi-controlled 2x2 V (controls: all qubits but the last listed). */
static void dense_multi_controlled(dense *d, const unsigned *q, unsigned k, const double v[8])
{
    size_t dim = (size_t)1 << d->n;
    unsigned target = q[k - 1];
    dense before = *d;
    for (size_t r = 0; r < dim; r++) {
        bool on = true;
        for (unsigned j = 0; j + 1 < k; j++)
            on = on && (r >> q[j] & 1u);
        if (!on || (r >> target & 1u))
            continue;
        size_t r1 = r | ((size_t)1 << target);
        for (size_t c = 0; c < dim; c++) {
            double a0r = before.m[2 * (r * dim + c)], a0i = before.m[2 * (r * dim + c) + 1];
            double a1r = before.m[2 * (r1 * dim + c)], a1i = before.m[2 * (r1 * dim + c) + 1];
            d->m[2 * (r * dim + c)] = v[0] * a0r - v[1] * a0i + v[2] * a1r - v[3] * a1i;
            d->m[2 * (r * dim + c) + 1] = v[0] * a0i + v[1] * a0r + v[2] * a1i + v[3] * a1r;
            d->m[2 * (r1 * dim + c)] = v[4] * a0r - v[5] * a0i + v[6] * a1r - v[7] * a1i;
            d->m[2 * (r1 * dim + c) + 1] = v[4] * a0i + v[5] * a0r + v[6] * a1i + v[7] * a1r;
        }
    }
}

/* The circuit's unitary, column by column through the simulator. */
static void circuit_unitary(const qml_circuit *circuit, const double *weights, size_t n_weights, dense *out)
{
    unsigned n = qml_circuit_n_qubits(circuit);
    assert_true(n <= MAXN);
    size_t dim = (size_t)1 << n;
    out->n = n;
    qml_statevec *state = NULL;
    assert_ok(qml_statevec_create(&state, n));
    double amplitudes[2 * MAXD];
    for (size_t c = 0; c < dim; c++) {
        assert_ok(qml_statevec_set_basis(state, c));
        assert_ok(qml_statevec_run(state, circuit, weights, n_weights, NULL, 0));
        assert_ok(qml_statevec_amplitudes(state, amplitudes, dim));
        for (size_t r = 0; r < dim; r++) {
            out->m[2 * (r * dim + c)] = amplitudes[2 * r];
            out->m[2 * (r * dim + c) + 1] = amplitudes[2 * r + 1];
        }
    }
    qml_statevec_free(state);
}

/* max |a - e^{i g} b| over the entries, for the phase g read off the largest entry of b. */
static double phase_distance(const dense *a, const dense *b)
{
    size_t dim = (size_t)1 << a->n, best = 0;
    double largest = -1;
    for (size_t k = 0; k < dim * dim; k++) {
        double m = hypot(b->m[2 * k], b->m[2 * k + 1]);
        if (m > largest) {
            largest = m;
            best = k;
        }
    }
    /* phase = a_best / b_best */
    double br = b->m[2 * best], bi = b->m[2 * best + 1], ar = a->m[2 * best], ai = a->m[2 * best + 1];
    double norm = br * br + bi * bi;
    double pr = (ar * br + ai * bi) / norm, pi_ = (ai * br - ar * bi) / norm;
    double worst = 0;
    for (size_t k = 0; k < dim * dim; k++) {
        double er = pr * b->m[2 * k] - pi_ * b->m[2 * k + 1], ei = pr * b->m[2 * k + 1] + pi_ * b->m[2 * k];
        double diff = hypot(a->m[2 * k] - er, a->m[2 * k + 1] - ei);
        if (diff > worst)
            worst = diff;
    }
    return worst;
}

static qml_circuit *parse_text(const char *text)
{
    qml_circuit *c = NULL;
    int status = qml_circuit_parse_qasm(&c, text, strlen(text));
    if (status != QML_OK)
        fail_msg("parse failed (%d): %s\n--- text:\n%s", status, qml_last_error(), text);
    return c;
}

/* ---- every qelib1 gate against its definition ------------------------------- */

typedef void (*reference_fn)(dense *d);

static void ref_u3(dense *d) { U(d, 0.4, -0.5, 0.6, 0); }
static void ref_u2(dense *d) { u2(d, PI / 4, -PI / 8, 0); }
static void ref_u1(dense *d) { u1(d, 0.7, 0); }
static void ref_id(dense *d) { U(d, 0, 0, 0, 0); }
static void ref_x(dense *d) { x(d, 0); }
static void ref_y(dense *d) { U(d, PI, PI / 2, PI / 2, 0); }
static void ref_z(dense *d) { u1(d, PI, 0); }
static void ref_h(dense *d) { h(d, 0); }
static void ref_s(dense *d) { s(d, 0); }
static void ref_sdg(dense *d) { sdg(d, 0); }
static void ref_t(dense *d) { t(d, 0); }
static void ref_tdg(dense *d) { tdg(d, 0); }
static void ref_sx(dense *d) { sdg(d, 0); h(d, 0); sdg(d, 0); }
static void ref_sxdg(dense *d) { s(d, 0); h(d, 0); s(d, 0); }
static void ref_rx(dense *d) { U(d, 0.3, -PI / 2, PI / 2, 0); }
static void ref_ry(dense *d) { U(d, 0.3, 0, 0, 0); }
static void ref_rz(dense *d) { u1(d, 0.3, 0); }
static void ref_cx(dense *d) { cx(d, 0, 1); }
static void ref_cy(dense *d) { sdg(d, 1); cx(d, 0, 1); s(d, 1); }
static void ref_cz(dense *d) { h(d, 1); cx(d, 0, 1); h(d, 1); }
static void ref_swap(dense *d) { cx(d, 0, 1); cx(d, 1, 0); cx(d, 0, 1); }
static void ref_ch(dense *d)
{
    h(d, 1); sdg(d, 1); cx(d, 0, 1); h(d, 1); t(d, 1); cx(d, 0, 1); t(d, 1); h(d, 1); s(d, 1); x(d, 1); s(d, 0);
}
static void ref_csx(dense *d) { h(d, 1); cu1(d, PI / 2, 0, 1); h(d, 1); }
static void ref_crx(dense *d)
{
    u1(d, PI / 2, 1); cx(d, 0, 1); U(d, -0.3 / 2, 0, 0, 1); cx(d, 0, 1); U(d, 0.3 / 2, -PI / 2, 0, 1);
}
static void ref_cry(dense *d) { U(d, 0.3 / 2, 0, 0, 1); cx(d, 0, 1); U(d, -0.3 / 2, 0, 0, 1); cx(d, 0, 1); }
static void ref_crz(dense *d) { u1(d, 0.3 / 2, 1); cx(d, 0, 1); u1(d, -0.3 / 2, 1); cx(d, 0, 1); }
static void ref_cu1(dense *d) { cu1(d, 0.3, 0, 1); }
static void ref_cu3(dense *d) { cu3(d, 0.41, 0.42, 0.43, 0, 1); }
static void ref_cu(dense *d)
{
    /* cu(theta, phi, lambda, gamma) c,t { p(gamma) c; cu3 body } */
    u1(d, 0.54, 0);
    cu3(d, 0.51, 0.52, 0.53, 0, 1);
}
static void ref_rxx(dense *d)
{
    U(d, PI / 2, 0.3, 0, 0); h(d, 1); cx(d, 0, 1); u1(d, -0.3, 1); cx(d, 0, 1); h(d, 1); u2(d, -PI, PI - 0.3, 0);
}
static void ref_rzz(dense *d) { cx(d, 0, 1); u1(d, 0.3, 1); cx(d, 0, 1); }
static void ref_ccx(dense *d) { ccx(d, 0, 1, 2); }
static void ref_cswap(dense *d) { cx(d, 2, 1); ccx(d, 0, 1, 2); cx(d, 2, 1); }
static void ref_rccx(dense *d)
{
    u2(d, 0, PI, 2); u1(d, PI / 4, 2); cx(d, 1, 2); u1(d, -PI / 4, 2); cx(d, 0, 2); u1(d, PI / 4, 2);
    cx(d, 1, 2); u1(d, -PI / 4, 2); u2(d, 0, PI, 2);
}
static void ref_c3x(dense *d)
{
    const double xm[8] = {0, 0, 1, 0, 1, 0, 0, 0};
    const unsigned q[4] = {0, 1, 2, 3};
    dense_multi_controlled(d, q, 4, xm);
}
static void ref_c4x(dense *d)
{
    const double xm[8] = {0, 0, 1, 0, 1, 0, 0, 0};
    const unsigned q[5] = {0, 1, 2, 3, 4};
    dense_multi_controlled(d, q, 5, xm);
}
static void ref_c3sqrtx(dense *d)
{
    const double sx[8] = {0.5, 0.5, 0.5, -0.5, 0.5, -0.5, 0.5, 0.5};
    const unsigned q[4] = {0, 1, 2, 3};
    dense_multi_controlled(d, q, 4, sx);
}

typedef struct gate_case {
    const char *statement;
    unsigned n;
    reference_fn reference;
} gate_case;

static const gate_case gate_cases[] = {
    {"U(0.4,-0.5,0.6) q[0];", 1, ref_u3},
    {"u3(0.4,-0.5,0.6) q[0];", 1, ref_u3},
    {"u(0.4,-0.5,0.6) q[0];", 1, ref_u3},
    {"u2(pi/4,-pi/8) q[0];", 1, ref_u2},
    {"u1(0.7) q[0];", 1, ref_u1},
    {"p(0.7) q[0];", 1, ref_u1},
    {"u0(3) q[0];", 1, ref_id},
    {"id q[0];", 1, ref_id},
    {"x q[0];", 1, ref_x},
    {"y q[0];", 1, ref_y},
    {"z q[0];", 1, ref_z},
    {"h q[0];", 1, ref_h},
    {"s q[0];", 1, ref_s},
    {"sdg q[0];", 1, ref_sdg},
    {"t q[0];", 1, ref_t},
    {"tdg q[0];", 1, ref_tdg},
    {"sx q[0];", 1, ref_sx},
    {"sxdg q[0];", 1, ref_sxdg},
    {"rx(0.3) q[0];", 1, ref_rx},
    {"ry(0.3) q[0];", 1, ref_ry},
    {"rz(0.3) q[0];", 1, ref_rz},
    {"CX q[0],q[1];", 2, ref_cx},
    {"cx q[0],q[1];", 2, ref_cx},
    {"cy q[0],q[1];", 2, ref_cy},
    {"cz q[0],q[1];", 2, ref_cz},
    {"swap q[0],q[1];", 2, ref_swap},
    {"ch q[0],q[1];", 2, ref_ch},
    {"csx q[0],q[1];", 2, ref_csx},
    {"crx(0.3) q[0],q[1];", 2, ref_crx},
    {"cry(0.3) q[0],q[1];", 2, ref_cry},
    {"crz(0.3) q[0],q[1];", 2, ref_crz},
    {"cu1(0.3) q[0],q[1];", 2, ref_cu1},
    {"cp(0.3) q[0],q[1];", 2, ref_cu1},
    {"cu3(0.41,0.42,0.43) q[0],q[1];", 2, ref_cu3},
    {"cu(0.51,0.52,0.53,0.54) q[0],q[1];", 2, ref_cu},
    {"rxx(0.3) q[0],q[1];", 2, ref_rxx},
    {"rzz(0.3) q[0],q[1];", 2, ref_rzz},
    {"ccx q[0],q[1],q[2];", 3, ref_ccx},
    {"cswap q[0],q[1],q[2];", 3, ref_cswap},
    {"rccx q[0],q[1],q[2];", 3, ref_rccx},
    {"c3x q[0],q[1],q[2],q[3];", 4, ref_c3x},
    {"c3sqrtx q[0],q[1],q[2],q[3];", 4, ref_c3sqrtx},
    {"c4x q[0],q[1],q[2],q[3],q[4];", 5, ref_c4x},
};

static void test_qelib1_unitaries(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof gate_cases / sizeof *gate_cases; k++) {
        const gate_case *g = &gate_cases[k];
        char text[256];
        snprintf(text, sizeof text, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[%u];\n%s\n", g->n, g->statement);
        qml_circuit *c = parse_text(text);
        static dense actual, expected;
        circuit_unitary(c, NULL, 0, &actual);
        dense_identity(&expected, g->n);
        g->reference(&expected);
        /* Products of a few dozen 2x2 rotations: rounding stays near 1e-15. */
        double distance = phase_distance(&actual, &expected);
        if (!(distance < 1e-12))
            fail_msg("%s: distance %.3g from the qelib1 definition", g->statement, distance);
        qml_circuit_free(c);
    }
    /* rc3x is C3X up to relative phases: the same moduli entry by entry. */
    qml_circuit *c = parse_text("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[4]; rc3x q[0],q[1],q[2],q[3];");
    static dense actual, expected;
    circuit_unitary(c, NULL, 0, &actual);
    dense_identity(&expected, 4);
    ref_c3x(&expected);
    for (size_t k = 0; k < 256; k++)
        assert_close(hypot(actual.m[2 * k], actual.m[2 * k + 1]), hypot(expected.m[2 * k], expected.m[2 * k + 1]),
                     1e-12);
    qml_circuit_free(c);
}

/* A gate with weights: the decompositions keep the angle's binding, and the
 * unitary at weights w matches the constant gate at the same angles. */
static void test_parametrised_decompositions(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"u3(theta[0], 0.3*theta[1], x[0]) q[0];", "u3(0.7, 0.3*-1.1, 0.25) q[0];"},
        {"u2(theta[1], -theta[1]) q[0];", "u2(-1.1, 1.1) q[0];"},
        {"cu3(theta[0], 0, 0) q[1],q[0];", "cu3(0.7, 0, 0) q[1],q[0];"},
        {"cu3(theta[0], 2*theta[1], 1 - theta[1]) q[0],q[1];", "cu3(0.7, -2.2, 2.1) q[0],q[1];"},
        {"cu(theta[0], 0.5, x[0], theta[1]) q[0],q[1];", "cu(0.7, 0.5, 0.25, -1.1) q[0],q[1];"},
        {"cp(theta[0]) q[0],q[1];", "cp(0.7) q[0],q[1];"},
        {"cu1(2*theta[1] + x[0]) q[1],q[0];", "cu1(-1.95) q[1],q[0];"},
    };
    const double weights[2] = {0.7, -1.1};
    for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; %s", pairs[k][0]);
        snprintf(b, sizeof b, "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; %s", pairs[k][1]);
        qml_circuit *ca = parse_text(a), *cb = parse_text(b);
        static dense ua, ub;
        qml_statevec *sv = NULL;
        assert_ok(qml_statevec_create(&sv, 2));
        double amplitudes[8];
        for (size_t col = 0; col < 4; col++) {
            const double feature = 0.25;
            assert_ok(qml_statevec_set_basis(sv, col));
            assert_ok(qml_statevec_run(sv, ca, weights, 2, &feature, 1));
            assert_ok(qml_statevec_amplitudes(sv, amplitudes, 4));
            for (size_t r = 0; r < 4; r++) {
                ua.m[2 * (r * 4 + col)] = amplitudes[2 * r];
                ua.m[2 * (r * 4 + col) + 1] = amplitudes[2 * r + 1];
            }
        }
        ua.n = 2;
        qml_statevec_free(sv);
        circuit_unitary(cb, NULL, 0, &ub);
        double distance = phase_distance(&ua, &ub);
        if (!(distance < 1e-12))
            fail_msg("%s against %s: distance %.3g", pairs[k][0], pairs[k][1], distance);
        qml_circuit_free(ca);
        qml_circuit_free(cb);
    }
}

/* ---- round trip ------------------------------------------------------------------ */

static void random_unitary1(harness_rng *rng, double m[8])
{
    double th = 3 * harness_uniform(rng), ph = 6 * harness_uniform(rng), la = 6 * harness_uniform(rng);
    double g = 6 * harness_uniform(rng);
    spec_u(th, ph, la, m);
    for (int k = 0; k < 4; k++) {
        double re = m[2 * k], im = m[2 * k + 1];
        m[2 * k] = cos(g) * re - sin(g) * im;
        m[2 * k + 1] = cos(g) * im + sin(g) * re;
    }
}

static void random_unitary2(harness_rng *rng, double m[32])
{
    /* (A x B) CX: a 4x4 unitary with entangling part; index b0 + 2 b1. */
    double a[8], b[8];
    random_unitary1(rng, a);
    random_unitary1(rng, b);
    double ab[32];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            /* (A on bit 0) (B on bit 1) */
            int r0 = r & 1, r1 = r >> 1, c0 = c & 1, c1 = c >> 1;
            double ar = a[2 * (r0 * 2 + c0)], ai = a[2 * (r0 * 2 + c0) + 1];
            double br = b[2 * (r1 * 2 + c1)], bi = b[2 * (r1 * 2 + c1) + 1];
            ab[2 * (r * 4 + c)] = ar * br - ai * bi;
            ab[2 * (r * 4 + c) + 1] = ar * bi + ai * br;
        }
    /* times CX(control bit 0, target bit 1): column c maps from c ^ (c&1)<<1 */
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            int src = c ^ ((c & 1) << 1);
            m[2 * (r * 4 + c)] = ab[2 * (r * 4 + src)];
            m[2 * (r * 4 + c) + 1] = ab[2 * (r * 4 + src) + 1];
        }
}

static double random_number(harness_rng *rng)
{
    /* Numbers of every shape: short decimals, full-precision, tiny, huge, negative. */
    switch (harness_next(rng) % 5) {
    case 0: return (double)(int64_t)(harness_next(rng) % 200) / 8 - 12;
    case 1: return 4 * harness_normal(rng);
    case 2: return harness_normal(rng) * 1e-150;
    case 3: return harness_normal(rng) * 1e150;
    default: return -harness_uniform(rng) / 3;
    }
}

static void random_circuit(harness_rng *rng, unsigned n, size_t n_gates, qml_circuit **out)
{
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    static const qml_gate_kind kinds[] = {
        QML_GATE_I, QML_GATE_X, QML_GATE_Y, QML_GATE_Z, QML_GATE_H, QML_GATE_S, QML_GATE_SDG, QML_GATE_T,
        QML_GATE_TDG, QML_GATE_SX, QML_GATE_CNOT, QML_GATE_CY, QML_GATE_CZ, QML_GATE_SWAP, QML_GATE_ISWAP,
        QML_GATE_TOFFOLI, QML_GATE_UNITARY1, QML_GATE_UNITARY2, QML_GATE_RX, QML_GATE_RY, QML_GATE_RZ,
        QML_GATE_RXX, QML_GATE_RYY, QML_GATE_RZZ, QML_GATE_CRX, QML_GATE_CRY, QML_GATE_CRZ, QML_GATE_PHASE,
        QML_GATE_PAULI_ROTATION, QML_GATE_PAULI_EVOLUTION};
    for (size_t i = 0; i < n_gates; i++) {
        /* every kind at least once, then at random */
        qml_gate_kind kind = kinds[i < sizeof kinds / sizeof *kinds ? i : harness_next(rng) % (sizeof kinds / sizeof *kinds)];
        unsigned q[3];
        q[0] = (unsigned)(harness_next(rng) % n);
        q[1] = (q[0] + 1 + (unsigned)(harness_next(rng) % (n - 1))) % n;
        do
            q[2] = (unsigned)(harness_next(rng) % n);
        while (q[2] == q[0] || q[2] == q[1]);
        double constant = random_number(rng);
        int64_t weight = harness_next(rng) % 3 ? (int64_t)(harness_next(rng) % 7) : QML_NONE;
        int64_t feature = harness_next(rng) % 2 ? (int64_t)(harness_next(rng) % 4) : QML_NONE;
        double ws = weight == QML_NONE ? 0 : random_number(rng), fs = feature == QML_NONE ? 0 : random_number(rng);
        if (harness_next(rng) % 4 == 0 && weight != QML_NONE)
            constant = 0;
        if (harness_next(rng) % 4 == 0 && weight != QML_NONE)
            ws = harness_next(rng) % 2 ? 1.0 : -1.0;
        if (kind <= QML_GATE_TOFFOLI) {
            unsigned arity = kind == QML_GATE_TOFFOLI ? 3 : kind >= QML_GATE_CNOT ? 2 : 1;
            assert_ok(qml_circuit_add_gate(c, kind, q, arity));
        } else if (kind == QML_GATE_UNITARY1) {
            double m[8];
            random_unitary1(rng, m);
            assert_ok(qml_circuit_add_unitary(c, m, q, 1));
        } else if (kind == QML_GATE_UNITARY2) {
            double m[32];
            random_unitary2(rng, m);
            assert_ok(qml_circuit_add_unitary(c, m, q, 2));
        } else if (kind <= QML_GATE_PHASE) {
            unsigned arity = kind == QML_GATE_RX || kind == QML_GATE_RY || kind == QML_GATE_RZ ||
                                     kind == QML_GATE_PHASE ? 1 : 2;
            assert_ok(qml_circuit_add_rotation(c, kind, q, arity, constant, weight, ws, feature, fs));
        } else {
            qml_pauli_sum *g = NULL;
            assert_ok(qml_pauli_sum_create(&g, n));
            char dense_string[MAXN + 8];
            if (kind == QML_GATE_PAULI_ROTATION) {
                do {
                    for (unsigned k = 0; k < n; k++)
                        dense_string[k] = "IXYZ"[harness_next(rng) % 4];
                    dense_string[n] = 0;
                } while (strspn(dense_string, "I") == n);
                assert_ok(qml_pauli_sum_add_string(g, 1.0, dense_string));
            } else {
                /* commuting terms: Z strings, an identity, and X on a qubit no Z string touches */
                for (int term = 0; term < 3; term++) {
                    for (unsigned k = 0; k < n; k++)
                        dense_string[k] = k + 1 < n && harness_next(rng) % 2 ? 'Z' : 'I';
                    dense_string[n] = 0;
                    assert_ok(qml_pauli_sum_add_string(g, random_number(rng), dense_string));
                }
                for (unsigned k = 0; k < n; k++)
                    dense_string[k] = k + 1 == n ? 'X' : 'I';
                assert_ok(qml_pauli_sum_add_string(g, random_number(rng), dense_string));
            }
            assert_ok(qml_circuit_add_pauli_rotation(c, g, constant, weight, ws, feature, fs));
            qml_pauli_sum_free(g);
        }
    }
    *out = c;
}

static char *format_circuit(const qml_circuit *c)
{
    size_t length = 0;
    assert_status(qml_circuit_format_qasm(c, NULL, 0, &length), QML_ERR_OUT_OF_RANGE);
    char *text = malloc(length + 1);
    assert_non_null(text);
    assert_ok(qml_circuit_format_qasm(c, text, length + 1, NULL));
    assert_int_equal(strlen(text), length);
    return text;
}

/* Same doubles: == (so -0 == +0), and NaN never occurs in a circuit. */
static void assert_same_circuit(const qml_circuit *a, const qml_circuit *b)
{
    assert_int_equal(a->n_qubits, b->n_qubits);
    assert_int_equal(a->n_gates, b->n_gates);
    assert_int_equal(a->n_weights, b->n_weights);
    assert_int_equal(a->n_features, b->n_features);
    assert_int_equal(a->n_parametrised, b->n_parametrised);
    for (size_t i = 0; i < a->n_gates; i++) {
        const qml__gate *ga = &a->gates[i], *gb = &b->gates[i];
        if (ga->kind != gb->kind)
            fail_msg("gate %zu: kind %d became %d", i, ga->kind, gb->kind);
        assert_int_equal(ga->n_targets, gb->n_targets);
        for (unsigned k = 0; k < ga->n_targets && k < 3; k++)
            assert_int_equal(ga->qubits[k], gb->qubits[k]);
        if (qml__gate_is_parametrised(ga->kind)) {
            assert_int_equal(ga->weight, gb->weight);
            assert_int_equal(ga->feature, gb->feature);
            if (ga->constant != gb->constant ||
                (ga->weight != QML_NONE && ga->weight_scale != gb->weight_scale) ||
                (ga->feature != QML_NONE && ga->feature_scale != gb->feature_scale))
                fail_msg("gate %zu: angle %.17g %+.17g w%ld %+.17g x%ld became %.17g %+.17g w%ld %+.17g x%ld", i,
                         ga->constant, ga->weight_scale, ga->weight, ga->feature_scale, ga->feature, gb->constant,
                         gb->weight_scale, gb->weight, gb->feature_scale, gb->feature);
        }
        if (ga->kind == QML_GATE_UNITARY1 || ga->kind == QML_GATE_UNITARY2)
            for (size_t k = 0; k < (ga->kind == QML_GATE_UNITARY1 ? 8u : 32u); k++)
                if (ga->matrix[k] != gb->matrix[k])
                    fail_msg("gate %zu: matrix entry %zu %.17g became %.17g", i, k, ga->matrix[k], gb->matrix[k]);
        if (ga->generator) {
            assert_non_null(gb->generator);
            assert_int_equal(ga->generator->n_terms, gb->generator->n_terms);
            char da[MAXN + 1], db[MAXN + 1];
            for (size_t t = 0; t < ga->generator->n_terms; t++) {
                double ca, cb;
                assert_ok(qml_pauli_sum_term(ga->generator, t, &ca, da));
                assert_ok(qml_pauli_sum_term(gb->generator, t, &cb, db));
                assert_string_equal(da, db);
                if (ca != cb)
                    fail_msg("gate %zu term %zu: coefficient %.17g became %.17g", i, t, ca, cb);
            }
        }
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    harness_rng rng = {0x9a5e};
    for (int trial = 0; trial < 40; trial++) {
        unsigned n = 3 + (unsigned)(trial % 3);
        qml_circuit *c = NULL;
        random_circuit(&rng, n, 30 + (size_t)(trial % 7) * 10, &c);
        char *text = format_circuit(c);
        qml_circuit *back = parse_text(text);
        assert_same_circuit(c, back);
        /* and the text is a fixed point */
        char *again = format_circuit(back);
        assert_string_equal(text, again);
        /* the generators of every weight agree */
        for (size_t w = 0; w < qml_circuit_n_weights(c); w++) {
            qml_pauli_sum *ga = NULL, *gb = NULL;
            assert_ok(qml_circuit_weight_generator(c, (int64_t)w, &ga));
            assert_ok(qml_circuit_weight_generator(back, (int64_t)w, &gb));
            int equal = 0;
            assert_ok(qml_pauli_sum_equal(ga, gb, 0.0, &equal));
            assert_true(equal);
            qml_pauli_sum_free(ga);
            qml_pauli_sum_free(gb);
        }
        free(text);
        free(again);
        qml_circuit_free(c);
        qml_circuit_free(back);
    }
}

/* What other readers see: the definitions libqml writes for its own gates
 * expand (here, by libqml with the qml_ names renamed away) to the same
 * unitary, up to a global phase (qml_unitary2 is opaque and left out). */
static void test_exported_definitions_expand_correctly(void **state)
{
    (void)state;
    harness_rng rng = {77};
    for (int trial = 0; trial < 12; trial++) {
        qml_circuit *c = NULL;
        assert_ok(qml_circuit_create(&c, 3));
        unsigned q[3] = {0, 1, 2};
        double m[8];
        random_unitary1(&rng, m);
        assert_ok(qml_circuit_add_unitary(c, m, q + trial % 3, 1));
        assert_ok(qml_circuit_add_gate(c, QML_GATE_ISWAP, q, 2));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_RYY, q + 1, 2, random_number(&rng) / 1e3 + 0.4, QML_NONE, 0,
                                           QML_NONE, 0));
        qml_pauli_sum *g = NULL;
        const char *strings[] = {"XYZ", "YIX", "ZZY", "IYI"};
        assert_ok(qml_pauli_sum_parse(&g, 3, "0"));
        assert_ok(qml_pauli_sum_add_string(g, 1.0, strings[trial % 4]));
        assert_ok(qml_circuit_add_pauli_rotation(c, g, 0.3 + trial, QML_NONE, 0, QML_NONE, 0));
        qml_pauli_sum_free(g);
        assert_ok(qml_pauli_sum_parse(&g, 3, "0.5*Z0 Z1 - 0.25*Z2 + 0.125*I + 0.75*Z0"));
        assert_ok(qml_circuit_add_pauli_rotation(c, g, 1.1 - trial, QML_NONE, 0, QML_NONE, 0));
        qml_pauli_sum_free(g);
        char *text = format_circuit(c);
        /* rename libqml's own names so that their bodies are expanded */
        for (char *s = text; (s = strstr(s, "qml_")) != NULL; s++)
            memcpy(s, "usr_", 4);
        for (char *s = text; (s = strstr(s, "iswap")) != NULL; s++)
            memcpy(s, "iswp_", 5);
        for (char *s = text; (s = strstr(s, "ryy")) != NULL; s++)
            memcpy(s, "r_y", 3);
        qml_circuit *expanded = parse_text(text);
        assert_true(qml_circuit_n_gates(expanded) > qml_circuit_n_gates(c));
        static dense a, b;
        circuit_unitary(c, NULL, 0, &a);
        circuit_unitary(expanded, NULL, 0, &b);
        double distance = phase_distance(&a, &b);
        if (!(distance < 1e-12))
            fail_msg("trial %d: expanded definitions differ by %.3g\n%s", trial, distance, text);
        free(text);
        qml_circuit_free(c);
        qml_circuit_free(expanded);
    }
}

/* Writing and reading use '.' whatever the locale: checked in every locale
 * of a list that this machine has (a comma-decimal one where installed). */
static void test_locale_independent(void **state)
{
    (void)state;
    const char *locales[] = {"C", "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "C.UTF-8"};
    for (size_t k = 0; k < sizeof locales / sizeof *locales; k++) {
        if (!setlocale(LC_NUMERIC, locales[k]))
            continue;
        qml_circuit *c = parse_text("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[1]; rx(0.25 + 1.5*theta[0]) q[0];");
        double constant = 0, scale = 0;
        assert_ok(qml_circuit_gate_angle(c, 0, &constant, NULL, &scale, NULL, NULL));
        assert_true(constant == 0.25 && scale == 1.5);
        char *text = format_circuit(c);
        assert_non_null(strstr(text, "rx(0.25 + 1.5*theta[0])"));
        free(text);
        qml_circuit_free(c);
    }
    setlocale(LC_NUMERIC, "C");
}

/* ---- hand-written files ---------------------------------------------------------- */

typedef struct file_case {
    const char *name;
    unsigned n_qubits;
    size_t n_weights, n_features, n_gates, n_parametrised;
} file_case;

static const file_case file_cases[] = {
    /* ry x3, cx x2, ry x3 */
    {"qiskit_real_amplitudes.qasm", 3, 6, 0, 8, 6},
    {"qiskit_efficient_su2.qasm", 4, 16, 0, 19, 16},
    /* rzx: h cx rz cx h (5); ryy native (1); r: rz ry rz (3); layer: ry ry + rzx (2 + 5) */
    {"qiskit_custom_gates.qasm", 2, 4, 0, 16, 8},
    /* h h p p cx p cx ry ry cx */
    {"qiskit_feature_map.qasm", 2, 2, 2, 10, 5},
    {"qiskit_qelib1_all.qasm", 5, 0, 0, 0, 0},   /* gate count checked by the unitary test */
    /* h a (2), ry b (3), cx, cz a,b[1] (2), rzz */
    {"qiskit_two_registers.qasm", 5, 2, 0, 9, 4},
    {"pennylane_basic.qasm", 2, 0, 0, 3, 2},
    {"pennylane_strongly_entangling.qasm", 3, 0, 0, 12, 9},
    {"pennylane_qaoa.qasm", 4, 2, 0, 12, 8},
    {"qasm3_inputs.qasm", 2, 4, 2, 7, 6},
    {"shared_weights.qasm", 3, 2, 1, 5, 5},
    {"comments_and_layout.qasm", 2, 1, 0, 4, 2},
};

static void test_files(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof file_cases / sizeof *file_cases; k++) {
        const file_case *f = &file_cases[k];
        char path[512];
        snprintf(path, sizeof path, "%s/%s", QML_TEST_QASM_DIR, f->name);
        qml_circuit *c = NULL;
        int status = qml_circuit_load_qasm(&c, path);
        if (status)
            fail_msg("%s: %s", f->name, qml_last_error());
        assert_int_equal(qml_circuit_n_qubits(c), f->n_qubits);
        if (f->n_gates) {
            if (qml_circuit_n_gates(c) != f->n_gates || qml_circuit_n_weights(c) != f->n_weights ||
                qml_circuit_n_features(c) != f->n_features || qml_circuit_n_parametrised(c) != f->n_parametrised)
                fail_msg("%s: %zu gates, %zu weights, %zu features, %zu parametrised", f->name,
                         qml_circuit_n_gates(c), qml_circuit_n_weights(c), qml_circuit_n_features(c),
                         qml_circuit_n_parametrised(c));
        }
        /* and each file survives the round trip */
        char *text = format_circuit(c);
        qml_circuit *back = parse_text(text);
        assert_same_circuit(c, back);
        free(text);
        qml_circuit_free(back);
        qml_circuit_free(c);
    }
}

/* The angles of shared_weights.qasm, one by one. */
static void test_angle_expressions(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/shared_weights.qasm", QML_TEST_QASM_DIR);
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_load_qasm(&c, path));
    double c0, cw, cf;
    int64_t w, f;
    assert_ok(qml_circuit_gate_angle(c, 0, &c0, &w, &cw, &f, &cf));
    assert_true(c0 == 0 && w == 0 && cw == 2 && f == QML_NONE);
    assert_ok(qml_circuit_gate_angle(c, 2, &c0, &w, &cw, &f, &cf));
    assert_true(c0 == -PI / 4 && w == 1 && cw == 0.5 && f == QML_NONE);
    assert_ok(qml_circuit_gate_angle(c, 3, &c0, &w, &cw, &f, &cf));
    assert_true(c0 == 0 && w == 1 && cw == -1 && f == 0 && cf == 0.5);
    assert_ok(qml_circuit_gate_angle(c, 4, &c0, &w, &cw, &f, &cf));
    assert_true(c0 == pow(log(2.0), 2.0) && w == 1 && cw == sqrt(2.0) && f == 0 && cf == 3);
    /* the shared weight's generator: 2 (Z0 Z1 + Z1 Z2) */
    qml_pauli_sum *g = NULL, *expected = NULL;
    assert_ok(qml_circuit_weight_generator(c, 0, &g));
    assert_ok(qml_pauli_sum_parse(&expected, 3, "2*Z0 Z1 + 2*Z1 Z2"));
    int equal = 0;
    assert_ok(qml_pauli_sum_equal(g, expected, 0.0, &equal));
    assert_true(equal);
    qml_pauli_sum_free(g);
    qml_pauli_sum_free(expected);
    qml_circuit_free(c);
}

/* docs/circuits.md walks through tests/qasm/docs_example.qasm line by line:
 * what it says each line becomes is checked here. */
static void test_docs_example(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/docs_example.qasm", QML_TEST_QASM_DIR);
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_load_qasm(&c, path));
    assert_int_equal(qml_circuit_n_qubits(c), 3);
    assert_int_equal(qml_circuit_n_gates(c), 9);
    assert_int_equal(qml_circuit_n_weights(c), 3);
    assert_int_equal(qml_circuit_n_features(c), 1);
    static const struct {
        qml_gate_kind kind;
        unsigned q0, q1;
        double c0;
        int64_t w;
        double cw;
        int64_t f;
        double cf;
    } expected[] = {
        {QML_GATE_H, 0, 0, 0, QML_NONE, 0, QML_NONE, 0},
        {QML_GATE_H, 1, 0, 0, QML_NONE, 0, QML_NONE, 0},
        {QML_GATE_RZ, 1, 0, 3.14159265358979323846 / 4, QML_NONE, 0, 0, 0.5},
        {QML_GATE_RY, 0, 0, 0, 0, 1, QML_NONE, 0},
        {QML_GATE_CZ, 0, 1, 0, QML_NONE, 0, QML_NONE, 0},
        {QML_GATE_RZZ, 1, 2, 0, 1, 2, QML_NONE, 0},
        {QML_GATE_RZ, 2, 0, 3.14159265358979323846, QML_NONE, 0, QML_NONE, 0},
        {QML_GATE_RY, 2, 0, 0, 2, 1, QML_NONE, 0},
        {QML_GATE_PAULI_EVOLUTION, 0, 2, 0, 1, 1, QML_NONE, 0},
    };
    for (size_t i = 0; i < 9; i++) {
        qml_gate_kind kind;
        unsigned q[3] = {0, 0, 0};
        size_t count = 0;
        assert_ok(qml_circuit_gate(c, i, &kind, q, &count));
        assert_int_equal(kind, expected[i].kind);
        assert_int_equal(q[0], expected[i].q0);
        if (count > 1)
            assert_int_equal(q[1], expected[i].q1);
        if (kind >= QML_GATE_RX) {
            double c0, cw, cf;
            int64_t w, f;
            assert_ok(qml_circuit_gate_angle(c, i, &c0, &w, &cw, &f, &cf));
            assert_true(c0 == expected[i].c0 && w == expected[i].w && f == expected[i].f);
            if (w != QML_NONE)
                assert_true(cw == expected[i].cw);
            if (f != QML_NONE)
                assert_true(cf == expected[i].cf);
        }
    }
    /* cp(theta[1]): exp(i theta |11><11|) = exp(-i theta/2 G), G = -(I - Z0 - Z2 + Z0 Z2)/2,
     * and weight 1's effective generator adds rzz's 2 Z1 Z2 */
    qml_pauli_sum *g = NULL, *e = NULL;
    assert_ok(qml_circuit_gate_generator(c, 8, &g));
    assert_ok(qml_pauli_sum_parse(&e, 3, "-0.5*I + 0.5*Z0 + 0.5*Z2 - 0.5*Z0 Z2"));
    int equal = 0;
    assert_ok(qml_pauli_sum_equal(g, e, 0.0, &equal));
    assert_true(equal);
    qml_pauli_sum_free(g);
    qml_pauli_sum_free(e);
    assert_ok(qml_circuit_weight_generator(c, 1, &g));
    assert_ok(qml_pauli_sum_parse(&e, 3, "2*Z1 Z2 - 0.5*I + 0.5*Z0 + 0.5*Z2 - 0.5*Z0 Z2"));
    assert_ok(qml_pauli_sum_equal(g, e, 0.0, &equal));
    assert_true(equal);
    qml_pauli_sum_free(g);
    qml_pauli_sum_free(e);
    qml_circuit_free(c);
}

/* ---- errors --------------------------------------------------------------------- */

typedef struct error_case {
    const char *text;
    int status;
    const char *mentions;   /* a piece of the message, e.g. "line 4, column 9" */
} error_case;

#define HEAD "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\n"

static const error_case error_cases[] = {
    {"", QML_ERR_PARSE, "no quantum register"},
    {"OPENQASM 2.0;", QML_ERR_PARSE, "no quantum register"},
    {"OPENQASM 4.0;", QML_ERR_UNSUPPORTED, "line 1, column 10"},
    {"qreg q[2];\nOPENQASM 2.0;", QML_ERR_PARSE, "line 2, column 1: OPENQASM must be the first"},
    {HEAD "h q[0]", QML_ERR_PARSE, "line 4, column 7: expected ';', found the end"},
    {HEAD "h q[2];", QML_ERR_PARSE, "line 4, column 5: index 2 is outside register 'q' of size 2"},
    {HEAD "foo q[0];", QML_ERR_PARSE, "line 4, column 1: unknown gate 'foo'"},
    {"OPENQASM 2.0;\nqreg q[1];\nh q[0];", QML_ERR_PARSE, "include \"qelib1.inc\" first"},
    {HEAD "cx q[0];", QML_ERR_PARSE, "acts on 2 qubits, 1 given"},
    {HEAD "cx q[0],q[0];", QML_ERR_PARSE, "given qubit 0 twice"},
    {HEAD "rx q[0];", QML_ERR_PARSE, "takes 1 parameter, 0 given"},
    {HEAD "rx(0.1, 0.2) q[0];", QML_ERR_PARSE, "takes 1 parameter, 2 given"},
    {HEAD "rx(phi) q[0];", QML_ERR_PARSE, "line 4, column 4: unknown name 'phi'"},
    {HEAD "rx(theta[0]*theta[1]) q[0];", QML_ERR_PARSE, "line 4, column 12: product of theta[0] and theta[1]"},
    {HEAD "rx(theta[0]*x[1]) q[0];", QML_ERR_PARSE, "product of theta[0] and x[1]"},
    {HEAD "rx(theta[0] + theta[1]) q[0];", QML_ERR_PARSE, "at most one weight"},
    {HEAD "rx(x[0] - x[1]) q[0];", QML_ERR_PARSE, "at most one feature"},
    {HEAD "rx(sin(theta[0])) q[0];", QML_ERR_PARSE, "sin of theta[0]"},
    {HEAD "rx(1/theta[0]) q[0];", QML_ERR_PARSE, "division by a weight"},
    {HEAD "rx(1/0) q[0];", QML_ERR_PARSE, "division by zero"},
    {HEAD "rx(theta[0]^2) q[0];", QML_ERR_PARSE, "'^' of a weight"},
    {HEAD "rx(ln(-1)) q[0];", QML_ERR_PARSE, "not a finite number"},
    {HEAD "rx(1e999) q[0];", QML_ERR_PARSE, "overflows"},
    {HEAD "rx(theta) q[0];", QML_ERR_PARSE, "'[' after theta"},
    {HEAD "rx(theta[16777216]) q[0];", QML_ERR_LIMIT, "larger than"},
    {HEAD "rx(2pi) q[0];", QML_ERR_PARSE, "a letter directly after the number"},
    {HEAD "rx((((0.1)) q[0];", QML_ERR_PARSE, "expected ')'"},
    {HEAD "gate g a { h a; g a; }", QML_ERR_PARSE, "calls itself"},
    {HEAD "gate g a { k a; }\ngate k a { h a; }", QML_ERR_PARSE, "defined before it"},
    {HEAD "gate g(p) a { rx(p) b; }\ng(1) q[0];", QML_ERR_PARSE, "'b' is not a qubit argument of gate 'g'"},
    {HEAD "gate g a { h a; ", QML_ERR_PARSE, "body not closed"},
    {HEAD "gate h a { x a; }", QML_ERR_PARSE, "gate 'h' is already defined"},
    {HEAD "opaque magic a;\nmagic q[0];", QML_ERR_UNSUPPORTED, "opaque gate 'magic'"},
    {HEAD "creg c[2];\nmeasure q[0] -> c[0];\nh q[0];", QML_ERR_UNSUPPORTED, "used after it was measured"},
    {HEAD "creg c[1];\nmeasure q -> c;", QML_ERR_PARSE, "2 qubits into 1 bits"},
    {HEAD "reset q[0];", QML_ERR_UNSUPPORTED, "'reset' is not supported"},
    {HEAD "creg c[1];\nif (c==1) x q[0];", QML_ERR_UNSUPPORTED, "'if' is not supported"},
    {HEAD "h q[0];\nqreg r[1];", QML_ERR_UNSUPPORTED, "after the first gate"},
    {HEAD "qreg q[3];", QML_ERR_PARSE, "'q' is already declared"},
    {HEAD "qreg r[3];\ncx q, r;", QML_ERR_PARSE, "registers of different sizes"},
    {"OPENQASM 2.0;\ninclude \"other.inc\";", QML_ERR_UNSUPPORTED, "cannot include \"other.inc\""},
    {HEAD "h q[0]; /* open", QML_ERR_PARSE, "line 4, column 9: unterminated comment"},
    {HEAD "h q[0]; @", QML_ERR_PARSE, "unexpected character '@'"},
    {HEAD "h q[0];\n\x01", QML_ERR_PARSE, "line 5, column 1: unexpected byte 0x01"},
    {"OPENQASM 3.0;\ninclude \"stdgates.inc\";\ninput array[angle, 2] theta;\nqubit[1] q;\nrx(theta[2]) q[0];",
     QML_ERR_PARSE, "theta[2] is outside the declared input array of 2"},
    {"OPENQASM 3.0;\ninput array[angle, 2] phi;", QML_ERR_UNSUPPORTED, "input 'phi'"},
    {"OPENQASM 3.0;\ninput angle theta;", QML_ERR_PARSE, "expected 'array'"},
    {HEAD "gate qml_evolution_0(t) a { h a; }\nqml_evolution_0(1) q[0];", QML_ERR_PARSE,
     "may only call qml_pauli_* gates"},
    {HEAD "qreg big[2000];\nh q[0];", QML_ERR_LIMIT, "line 5, column 1: qml_circuit_create: n_qubits"},
    {HEAD "qml_unitary2_x(1,0,0,0,0,0,1,0) q[0];", QML_ERR_PARSE, "unknown gate"},
    {HEAD "gate qml_unitary1_a(a,b,c,d,e,f,g,h) q { }\nqml_unitary1_a(2,0,0,0,0,0,1,0) q[0];", QML_ERR_PARSE,
     "line 5, column 1: qml_circuit_add_unitary: the matrix is not unitary"},
    {HEAD "qreg big[2000000];", QML_ERR_LIMIT, "register size 2000000 is larger than"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof error_cases / sizeof *error_cases; k++) {
        const error_case *e = &error_cases[k];
        qml_circuit *c = (qml_circuit *)0x1;
        int status = qml_circuit_parse_qasm(&c, e->text, strlen(e->text));
        if (status != e->status || !strstr(qml_last_error(), e->mentions))
            fail_msg("case %zu: status %d (expected %d), message \"%s\" (expected to mention \"%s\")", k, status,
                     e->status, qml_last_error(), e->mentions);
        assert_ptr_equal(c, (qml_circuit *)0x1);
    }
    /* Qiskit's ZZFeatureMap writes products of two features: a clear error. */
    const char *zz = HEAD "p(2.0*(pi - x[0])*(pi - x[1])) q[1];";
    qml_circuit *c = NULL;
    assert_status(qml_circuit_parse_qasm(&c, zz, strlen(zz)), QML_ERR_PARSE);
    assert_non_null(strstr(qml_last_error(), "product of x[0] and x[1]"));
}

static void test_limits(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    /* larger than 16 MiB: refused before reading */
    assert_status(qml_circuit_parse_qasm(&c, "", (size_t)17 << 20), QML_ERR_LIMIT);
    /* a NUL byte inside the text */
    const char nul[] = HEAD "h q[0];\0h q[1];";
    assert_status(qml_circuit_parse_qasm(&c, nul, sizeof nul - 1), QML_ERR_PARSE);
    /* deep parentheses */
    char *deep = malloc(20000);
    assert_non_null(deep);
    strcpy(deep, HEAD "rx(");
    for (int k = 0; k < 5000; k++)
        strcat(deep, "(");
    strcat(deep, "1");
    for (int k = 0; k < 5000; k++)
        strcat(deep, ")");
    strcat(deep, ") q[0];");
    assert_status(qml_circuit_parse_qasm(&c, deep, strlen(deep)), QML_ERR_LIMIT);
    /* many unary minus signs */
    strcpy(deep, HEAD "rx(");
    for (int k = 0; k < 5000; k++)
        strcat(deep, "-");
    strcat(deep, "1) q[0];");
    assert_status(qml_circuit_parse_qasm(&c, deep, strlen(deep)), QML_ERR_LIMIT);
    /* definitions that double at each level: 2^40 statements */
    strcpy(deep, HEAD "gate g0 a { barrier a; }\n");
    for (int k = 1; k <= 40; k++) {
        char line[96];
        snprintf(line, sizeof line, "gate g%d a { g%d a; g%d a; }\n", k, k - 1, k - 1);
        strcat(deep, line);
    }
    strcat(deep, "g40 q[0];");
    assert_status(qml_circuit_parse_qasm(&c, deep, strlen(deep)), QML_ERR_LIMIT);
    assert_non_null(strstr(qml_last_error(), "statements executed"));
    free(deep);
    /* a missing file */
    assert_status(qml_circuit_load_qasm(&c, "/nonexistent/circuit.qasm"), QML_ERR_IO);
    assert_non_null(strstr(qml_last_error(), "/nonexistent/circuit.qasm"));
    /* the file name in parse errors */
    char path[512];
    snprintf(path, sizeof path, "%s/pennylane_basic.qasm", QML_TEST_QASM_DIR);
    assert_ok(qml_circuit_load_qasm(&c, path));
    qml_circuit_free(c);
    /* a buffer one byte short */
    c = parse_text(HEAD "h q[0];");
    size_t length = 0;
    assert_status(qml_circuit_format_qasm(c, NULL, 0, &length), QML_ERR_OUT_OF_RANGE);
    char *text = malloc(length + 1);
    assert_status(qml_circuit_format_qasm(c, text, length, NULL), QML_ERR_OUT_OF_RANGE);
    assert_ok(qml_circuit_format_qasm(c, text, length + 1, NULL));
    free(text);
    qml_circuit_free(c);
}

/* Inputs the fuzzer found, kept as regression cases: each must fail cleanly
 * or parse, never crash or leak. */
static const char *const fuzz_regressions[] = {
    "OPENQASM 2.0;",
    "qreg q[1];gate g(a) b { rx(a) b; } g(theta[0]) q;",
    "qreg q[1];gate g b { } g q; g q[0];",
    "qreg q[2];gate qml_pauli_ii(t) a,b { } qml_pauli_ii(theta[0]) q[0],q[1];",
    "qreg q[1];gate qml_evolution_0(t) a { } qml_evolution_0(1) q[0];",
    "qreg q[1];opaque qml_unitary2(a,b) c,d;",
    "qreg q[1];rx(\xce\xb8) q[0];",
    "qreg q[1];rx(\xce\xb8[0]) q[0];\xce",
    "qreg q[1];/* \x00 */ rx(-0) q[0];",
    "qreg q[1];rx(0*theta[0] - 0*theta[0]) q[0];",
    "qreg q[3];gate g a,b { cx a,b; } g q[0],q;",
    "OPENQASM 3;qubit q;bit c;c = measure q;",
    "OPENQASM 3;input array[float[64],2] x;qubit[1] q;rx(x[1]) q;",
};

static void test_fuzz_regressions(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof fuzz_regressions / sizeof *fuzz_regressions; k++) {
        qml_circuit *c = NULL;
        if (qml_circuit_parse_qasm(&c, fuzz_regressions[k], strlen(fuzz_regressions[k])) == QML_OK)
            qml_circuit_free(c);
    }
}

/* ---- allocation failures ---------------------------------------------------------- */

static int sequence_parse_format(void *context)
{
    (void)context;
    const char *text = HEAD "creg c[2];\ngate g(a) x0,x1 { ry(a) x0; cp(a/2) x0,x1; }\n"
                            "g(theta[0]) q[0],q[1];\nu3(0.1,0.2,0.3) q[1];\nrzz(2*theta[1] + x[0]) q[0],q[1];\n"
                            "measure q -> c;\n";
    qml_circuit *c = NULL;
    int status = qml_circuit_parse_qasm(&c, text, strlen(text));
    if (status)
        return status;
    qml_gate_kind kind = QML_GATE_I;
    unsigned q[3] = {0, 1, 0};
    (void)kind;
    status = qml_circuit_add_gate(c, QML_GATE_ISWAP, q, 2);
    char buffer[4096];
    if (status == QML_OK)
        status = qml_circuit_format_qasm(c, buffer, sizeof buffer, NULL);
    qml_circuit *back = NULL;
    if (status == QML_OK)
        status = qml_circuit_parse_qasm(&back, buffer, strlen(buffer));
    qml_circuit_free(back);
    back = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/qiskit_custom_gates.qasm", QML_TEST_QASM_DIR);
    if (status == QML_OK)
        status = qml_circuit_load_qasm(&back, path);
    qml_circuit_free(back);
    qml_circuit_free(c);
    return status;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    assert_true(harness_check_allocation_failures(sequence_parse_format, NULL) > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qelib1_unitaries),
        cmocka_unit_test(test_parametrised_decompositions),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_exported_definitions_expand_correctly),
        cmocka_unit_test(test_locale_independent),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_angle_expressions),
        cmocka_unit_test(test_docs_example),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_fuzz_regressions),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

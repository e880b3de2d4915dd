/* test_circuit.c: circuits and templates: construction, queries, every
 * validation path, the generator convention against textbook gate matrices,
 * weight sharing, templates, deep copies and allocation failures. */
#include "harness.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

/* ---- helpers ------------------------------------------------------------ */

/* A Pauli sum from (coefficient, dense string) pairs, terminated by a NULL string. */
typedef struct term_spec {
    double coefficient;
    const char *dense;
} term_spec;

static qml_pauli_sum *make_sum(unsigned n, const term_spec *terms)
{
    qml_pauli_sum *sum = NULL;
    assert_ok(qml_pauli_sum_create(&sum, n));
    for (const term_spec *t = terms; t->dense; t++)
        assert_ok(qml_pauli_sum_add_string(sum, t->coefficient, t->dense));
    return sum;
}

static void assert_sum_equals(const qml_pauli_sum *actual, unsigned n, const term_spec *expected)
{
    qml_pauli_sum *reference = make_sum(n, expected);
    int equal = 0;
    /* Coefficients are sums of a few products of small exact numbers. */
    assert_ok(qml_pauli_sum_equal(actual, reference, 1e-15, &equal));
    if (!equal) {
        char dense[64];
        double c;
        for (size_t t = 0; t < qml_pauli_sum_n_terms(actual); t++) {
            assert_ok(qml_pauli_sum_term(actual, t, &c, dense));
            fprintf(stderr, "# actual term %zu: %.17g %s\n", t, c, dense);
        }
    }
    assert_true(equal);
    qml_pauli_sum_free(reference);
}

static void assert_error_mentions(const char *needle)
{
    if (!strstr(qml_last_error(), needle))
        fail_msg("message \"%s\" does not mention \"%s\"", qml_last_error(), needle);
}

/* Assert status and that the message names the function and the value. */
#define assert_fails(expr, code, function, value)                              \
    do {                                                                       \
        assert_status((expr), (code));                                         \
        assert_error_mentions(function);                                       \
        assert_error_mentions(value);                                          \
    } while (0)

/* exp(A) for a d x d complex matrix by scaling and squaring with a Taylor
 * series: an independent route to exp(-i theta/2 G). With ||A / 2^s||_1 <=
 * 1/2 and 30 terms the truncation error is below 0.5^30 / 30! (negligible);
 * the squarings lose a few ulps each, hence the 1e-12 tolerances below. */
static void matrix_exponential(size_t d, const double *a, double *out)
{
    double norm = 0.0;
    for (size_t c = 0; c < d; c++) {
        double column = 0.0;
        for (size_t r = 0; r < d; r++)
            column += hypot(a[2 * (r * d + c)], a[2 * (r * d + c) + 1]);
        norm = fmax(norm, column);
    }
    int s = 0;
    while (norm > 0.5) {
        norm /= 2;
        s++;
    }
    double scale = ldexp(1.0, -s);
    size_t n2 = 2 * d * d;
    double *scaled = calloc(n2, sizeof *scaled), *term = calloc(n2, sizeof *term), *next = calloc(n2, sizeof *next);
    for (size_t i = 0; i < n2; i++)
        scaled[i] = a[i] * scale;
    memset(out, 0, n2 * sizeof *out);
    for (size_t i = 0; i < d; i++)
        out[2 * (i * d + i)] = term[2 * (i * d + i)] = 1.0;
    for (int k = 1; k <= 30; k++) {
        harness_matmul(d, term, scaled, next);
        for (size_t i = 0; i < n2; i++) {
            term[i] = next[i] / k;
            out[i] += term[i];
        }
    }
    for (int k = 0; k < s; k++) {
        harness_matmul(d, out, out, next);
        memcpy(out, next, n2 * sizeof *out);
    }
    free(scaled);
    free(term);
    free(next);
}

/* The dense matrix of exp(-i theta/2 G) for the generator of gate `index`,
 * via qml_pauli_sum_to_dense and matrix_exponential. */
static void gate_matrix_from_generator(const qml_circuit *circuit, size_t index, double theta, double *out)
{
    unsigned n = qml_circuit_n_qubits(circuit);
    size_t d = (size_t)1 << n;
    qml_pauli_sum *g = NULL;
    assert_ok(qml_circuit_gate_generator(circuit, index, &g));
    double *dense = calloc(2 * d * d, sizeof *dense);
    assert_ok(qml_pauli_sum_to_dense(g, dense, 2 * d * d));
    for (size_t i = 0; i < d * d; i++) {
        /* -i theta/2 (re + i im) = theta/2 im - i theta/2 re */
        double re = dense[2 * i], im = dense[2 * i + 1];
        dense[2 * i] = theta / 2 * im;
        dense[2 * i + 1] = -theta / 2 * re;
    }
    matrix_exponential(d, dense, out);
    free(dense);
    qml_pauli_sum_free(g);
}

/* Embed a k-qubit matrix `local` (local index = sum_i b_{qubits[i]} 2^i, as
 * for UNITARY2) into n qubits: entry (r, c) is local(lr, lc) when r and c
 * agree on every other qubit, else 0. */
static void embed(unsigned n, unsigned k, const double *local, const unsigned *qubits, double *out)
{
    size_t d = (size_t)1 << n, dl = (size_t)1 << k;
    uint64_t mask = 0;
    for (unsigned i = 0; i < k; i++)
        mask |= (uint64_t)1 << qubits[i];
    for (size_t r = 0; r < d; r++)
        for (size_t c = 0; c < d; c++) {
            double re = 0, im = 0;
            if ((r & ~mask) == (c & ~mask)) {
                size_t lr = 0, lc = 0;
                for (unsigned i = 0; i < k; i++) {
                    lr |= (r >> qubits[i] & 1u) << i;
                    lc |= (c >> qubits[i] & 1u) << i;
                }
                re = local[2 * (lr * dl + lc)];
                im = local[2 * (lr * dl + lc) + 1];
            }
            out[2 * (r * d + c)] = re;
            out[2 * (r * d + c) + 1] = im;
        }
}

static void assert_matrices_close(size_t d, const double *a, const double *b, double tolerance, const char *what)
{
    for (size_t i = 0; i < 2 * d * d; i++)
        if (!(fabs(a[i] - b[i]) <= tolerance))
            fail_msg("%s: entry (%zu, %zu) %s part: %.17g vs %.17g", what, i / 2 / d, i / 2 % d,
                     i % 2 ? "imaginary" : "real", a[i], b[i]);
}

/* ---- construction and queries --------------------------------------------- */

static void test_create_and_queries(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 4));
    assert_int_equal(qml_circuit_n_qubits(c), 4);
    assert_int_equal(qml_circuit_n_gates(c), 0);
    assert_int_equal(qml_circuit_n_weights(c), 0);
    assert_int_equal(qml_circuit_n_features(c), 0);
    assert_int_equal(qml_circuit_n_parametrised(c), 0);
    assert_int_equal(qml_circuit_n_qubits(NULL), 0);
    assert_int_equal(qml_circuit_n_gates(NULL), 0);
    assert_int_equal(qml_circuit_n_weights(NULL), 0);
    assert_int_equal(qml_circuit_n_features(NULL), 0);
    assert_int_equal(qml_circuit_n_parametrised(NULL), 0);

    /* Every fixed kind with its qubit count. */
    static const struct {
        qml_gate_kind kind;
        size_t count;
    } fixed[] = {
        {QML_GATE_I, 1}, {QML_GATE_X, 1}, {QML_GATE_Y, 1}, {QML_GATE_Z, 1}, {QML_GATE_H, 1},
        {QML_GATE_S, 1}, {QML_GATE_SDG, 1}, {QML_GATE_T, 1}, {QML_GATE_TDG, 1}, {QML_GATE_SX, 1},
        {QML_GATE_CNOT, 2}, {QML_GATE_CY, 2}, {QML_GATE_CZ, 2}, {QML_GATE_SWAP, 2}, {QML_GATE_ISWAP, 2},
        {QML_GATE_TOFFOLI, 3},
    };
    const unsigned qubits[3] = {3, 1, 2};
    size_t n_fixed = sizeof fixed / sizeof fixed[0];
    for (size_t i = 0; i < n_fixed; i++)
        assert_ok(qml_circuit_add_gate(c, fixed[i].kind, qubits, fixed[i].count));
    assert_int_equal(qml_circuit_n_gates(c), n_fixed);
    assert_int_equal(qml_circuit_n_parametrised(c), 0);
    for (size_t i = 0; i < n_fixed; i++) {
        qml_gate_kind kind;
        unsigned got[3] = {99, 99, 99};
        size_t count = 0;
        assert_ok(qml_circuit_gate(c, i, &kind, got, &count));
        assert_int_equal(kind, fixed[i].kind);
        assert_int_equal(count, fixed[i].count);
        for (size_t k = 0; k < count; k++)
            assert_int_equal(got[k], qubits[k]);
        for (size_t k = count; k < 3; k++)
            assert_int_equal(got[k], 99); /* untouched */
    }
    assert_ok(qml_circuit_gate(c, 0, NULL, NULL, NULL));

    /* Parametrised gates: weight and feature counts are max index + 1. */
    unsigned q0 = 0, pair[2] = {2, 0};
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q0, 1, 0.25, 4, 2.0, QML_NONE, 0.0));
    assert_int_equal(qml_circuit_n_weights(c), 5);
    assert_int_equal(qml_circuit_n_features(c), 0);
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_CRZ, pair, 2, 0.0, 1, 1.0, 2, -0.5));
    assert_int_equal(qml_circuit_n_weights(c), 5);
    assert_int_equal(qml_circuit_n_features(c), 3);
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_PHASE, &q0, 1, 1.5, QML_NONE, 0.0, QML_NONE, 0.0));
    assert_int_equal(qml_circuit_n_parametrised(c), 3);
    assert_int_equal(qml_circuit_n_gates(c), n_fixed + 3);

    double constant, wscale, fscale;
    int64_t weight, feature;
    assert_ok(qml_circuit_gate_angle(c, n_fixed + 1, &constant, &weight, &wscale, &feature, &fscale));
    assert_true(constant == 0.0 && weight == 1 && wscale == 1.0 && feature == 2 && fscale == -0.5);
    assert_ok(qml_circuit_gate_angle(c, n_fixed, &constant, &weight, &wscale, &feature, &fscale));
    assert_true(constant == 0.25 && weight == 4 && wscale == 2.0 && feature == QML_NONE);
    assert_ok(qml_circuit_gate_angle(c, n_fixed + 2, NULL, &weight, NULL, &feature, NULL));
    assert_true(weight == QML_NONE && feature == QML_NONE);

    /* The private angle the simulator evaluates: c + a w[k] + b x[j]. */
    const double w[5] = {0, 0.5, 0, 0, 3.0}, x[3] = {0, 0, 4.0};
    assert_true(qml__gate_angle(&c->gates[n_fixed], w, x) == 0.25 + 2.0 * 3.0);
    assert_true(qml__gate_angle(&c->gates[n_fixed + 1], w, x) == 0.5 - 0.5 * 4.0);
    assert_true(qml__gate_angle(&c->gates[n_fixed + 2], NULL, NULL) == 1.5);

    /* More gates than the initial capacity: the list grows. */
    for (int i = 0; i < 100; i++)
        assert_ok(qml_circuit_add_gate(c, QML_GATE_H, &q0, 1));
    assert_int_equal(qml_circuit_n_gates(c), n_fixed + 103);
    qml_gate_kind kind;
    assert_ok(qml_circuit_gate(c, n_fixed + 1, &kind, NULL, NULL));
    assert_int_equal(kind, QML_GATE_CRZ);
    qml_circuit_free(c);
    qml_circuit_free(NULL);

    /* The largest circuit. */
    assert_ok(qml_circuit_create(&c, 1024));
    unsigned top = 1023, wide[2] = {70, 1023}, got[3];
    size_t n_got = 0;
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &top, 1, 0, 0, 1, QML_NONE, 0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZZ, wide, 2, 0, 1, 1, QML_NONE, 0));
    qml_pauli_sum *g = NULL;
    assert_ok(qml_circuit_gate_generator(c, 1, &g));
    double coeff = 0;
    char *dense = malloc(1025);
    assert_non_null(dense);
    assert_ok(qml_pauli_sum_term(g, 0, &coeff, dense));
    assert_true(coeff == 1.0 && dense[70] == 'Z' && dense[1023] == 'Z' && dense[0] == 'I');
    free(dense);
    qml_pauli_sum_free(g);
    /* A generator across words: the support summary sees both words. */
    assert_ok(qml_pauli_sum_create(&g, 1024));
    assert_ok(qml_pauli_sum_add_term(g, 1.0, "XY", wide, 2));
    assert_ok(qml_circuit_add_pauli_rotation(c, g, 0, 2, 1, QML_NONE, 0));
    assert_ok(qml_circuit_gate(c, 2, NULL, got, &n_got));
    assert_true(n_got == 2 && got[0] == 70 && got[1] == 1023);
    qml_pauli_sum_free(g);
    /* The statevector refuses such a circuit cleanly. */
    qml_statevec *sv = NULL;
    assert_int_equal(qml_statevec_create(&sv, 1024), QML_ERR_LIMIT);
    double w3[3] = {0.1, 0.2, 0.3}, value = 0;
    qml_pauli_sum *z = NULL;
    assert_ok(qml_pauli_sum_create(&z, 1024));
    assert_ok(qml_pauli_sum_add_term(z, 1.0, "Z", &top, 1));
    assert_int_equal(qml_gradient(c, z, NULL, w3, 3, NULL, 0, NULL, &value, NULL, NULL), QML_ERR_LIMIT);
    qml_pauli_sum_free(z);
    qml_circuit_free(c);
}

static void test_unitary(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 3));
    /* H and a 4x4 unitary: iSWAP with an extra phase on |11>. */
    const double r = 1 / sqrt(2.0);
    const double h[8] = {r, 0, r, 0, r, 0, -r, 0};
    double u[32] = {0};
    u[2 * (0 * 4 + 0)] = 1;
    u[2 * (1 * 4 + 2) + 1] = 1;
    u[2 * (2 * 4 + 1) + 1] = 1;
    u[2 * (3 * 4 + 3)] = cos(0.3);
    u[2 * (3 * 4 + 3) + 1] = sin(0.3);
    unsigned q = 2, pair[2] = {2, 0};
    assert_ok(qml_circuit_add_unitary(c, h, &q, 1));
    assert_ok(qml_circuit_add_unitary(c, u, pair, 2));
    qml_gate_kind kind;
    size_t count;
    unsigned got[3];
    assert_ok(qml_circuit_gate(c, 1, &kind, got, &count));
    assert_int_equal(kind, QML_GATE_UNITARY2);
    assert_int_equal(count, 2);
    assert_int_equal(got[0], 2);
    assert_int_equal(got[1], 0);
    assert_memory_equal(c->gates[0].matrix, h, sizeof h);
    assert_memory_equal(c->gates[1].matrix, u, sizeof u);
    assert_int_equal(c->gates[0].kind, QML_GATE_UNITARY1);
    assert_int_equal(qml_circuit_n_parametrised(c), 0);

    /* Within the tolerance (1e-12 off) accepted; 1e-8 off refused. */
    double near[8];
    memcpy(near, h, sizeof near);
    near[0] += 1e-12;
    assert_ok(qml_circuit_add_unitary(c, near, &q, 1));
    near[0] += 1e-8;
    assert_fails(qml_circuit_add_unitary(c, near, &q, 1), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_unitary",
                 "not unitary");
    /* A non-unitary 4x4: a projector. */
    double projector[32] = {0};
    projector[0] = 1;
    assert_fails(qml_circuit_add_unitary(c, projector, pair, 2), QML_ERR_INVALID_ARGUMENT,
                 "qml_circuit_add_unitary", "(1, 1)");
    near[3] = NAN;
    assert_fails(qml_circuit_add_unitary(c, near, &q, 1), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_unitary", "nan");
    near[3] = INFINITY;
    assert_fails(qml_circuit_add_unitary(c, near, &q, 1), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_unitary", "inf");
    unsigned three[3] = {0, 1, 2};
    assert_fails(qml_circuit_add_unitary(c, u, three, 3), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_unitary", "3");
    assert_fails(qml_circuit_add_unitary(c, u, three, 0), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_unitary", "0");
    assert_fails(qml_circuit_add_unitary(c, NULL, &q, 1), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_unitary",
                 "matrix");
    assert_fails(qml_circuit_add_unitary(NULL, h, &q, 1), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_unitary",
                 "circuit");
    unsigned bad = 3, same[2] = {1, 1};
    assert_fails(qml_circuit_add_unitary(c, h, &bad, 1), QML_ERR_OUT_OF_RANGE, "qml_circuit_add_unitary", "qubit 3");
    assert_fails(qml_circuit_add_unitary(c, u, same, 2), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_unitary",
                 "qubit 1");
    assert_int_equal(qml_circuit_n_gates(c), 3);
    qml_circuit_free(c);
}

/* ---- validation ------------------------------------------------------------ */

static void test_create_validation(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    assert_fails(qml_circuit_create(NULL, 2), QML_ERR_INVALID_ARGUMENT, "qml_circuit_create", "out");
    assert_fails(qml_circuit_create(&c, 0), QML_ERR_INVALID_ARGUMENT, "qml_circuit_create", "0");
    assert_fails(qml_circuit_create(&c, 1025), QML_ERR_INVALID_ARGUMENT, "qml_circuit_create", "1025");
    assert_null(c);
    assert_fails(qml_circuit_copy(NULL, c), QML_ERR_INVALID_ARGUMENT, "qml_circuit_copy", "out");
    assert_fails(qml_circuit_copy(&c, NULL), QML_ERR_INVALID_ARGUMENT, "qml_circuit_copy", "circuit");
}

static void test_add_gate_validation(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 3));
    const unsigned q[3] = {0, 1, 2};
    assert_fails(qml_circuit_add_gate(NULL, QML_GATE_X, q, 1), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_gate",
                 "circuit");
    /* Kinds that are not fixed gates, including the matrices and rotations. */
    const int not_fixed[] = {-1, 16, 19, QML_GATE_UNITARY1, QML_GATE_UNITARY2, QML_GATE_RX, QML_GATE_PHASE,
                             QML_GATE_PAULI_ROTATION, QML_GATE_PAULI_EVOLUTION, 42};
    for (size_t i = 0; i < sizeof not_fixed / sizeof not_fixed[0]; i++) {
        char value[16];
        snprintf(value, sizeof value, "kind %d", not_fixed[i]);
        assert_fails(qml_circuit_add_gate(c, (qml_gate_kind)not_fixed[i], q, 1), QML_ERR_INVALID_ARGUMENT,
                     "qml_circuit_add_gate", value);
    }
    assert_fails(qml_circuit_add_gate(c, QML_GATE_CNOT, q, 1), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_gate",
                 "CNOT acts on 2");
    assert_fails(qml_circuit_add_gate(c, QML_GATE_H, q, 2), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_gate",
                 "2 given");
    assert_fails(qml_circuit_add_gate(c, QML_GATE_TOFFOLI, q, 2), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_gate",
                 "TOFFOLI acts on 3");
    assert_fails(qml_circuit_add_gate(c, QML_GATE_X, NULL, 1), QML_ERR_INVALID_ARGUMENT, "qml_circuit_add_gate",
                 "qubits");
    const unsigned out_of_range[2] = {1, 3}, twice[3] = {2, 0, 2};
    assert_fails(qml_circuit_add_gate(c, QML_GATE_CZ, out_of_range, 2), QML_ERR_OUT_OF_RANGE, "qml_circuit_add_gate",
                 "qubit 3 out of range for a 3-qubit");
    assert_fails(qml_circuit_add_gate(c, QML_GATE_TOFFOLI, twice, 3), QML_ERR_INVALID_ARGUMENT,
                 "qml_circuit_add_gate", "qubit 2 appears twice");
    assert_int_equal(qml_circuit_n_gates(c), 0);
    qml_circuit_free(c);
}

static void test_add_rotation_validation(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 3));
    const unsigned q[2] = {0, 1}, same[2] = {2, 2}, far[2] = {0, 5};
    const char *f = "qml_circuit_add_rotation";
    assert_fails(qml_circuit_add_rotation(NULL, QML_GATE_RX, q, 1, 0, 0, 1, QML_NONE, 0), QML_ERR_INVALID_ARGUMENT,
                 f, "circuit");
    const int not_rotation[] = {QML_GATE_X, QML_GATE_CNOT, QML_GATE_UNITARY1, QML_GATE_PAULI_ROTATION,
                                QML_GATE_PAULI_EVOLUTION, 29, -3};
    for (size_t i = 0; i < sizeof not_rotation / sizeof not_rotation[0]; i++) {
        char value[16];
        snprintf(value, sizeof value, "kind %d", not_rotation[i]);
        assert_fails(qml_circuit_add_rotation(c, (qml_gate_kind)not_rotation[i], q, 1, 0, 0, 1, QML_NONE, 0),
                     QML_ERR_INVALID_ARGUMENT, f, value);
    }
    assert_fails(qml_circuit_add_rotation(c, QML_GATE_RZZ, q, 1, 0, 0, 1, QML_NONE, 0), QML_ERR_INVALID_ARGUMENT, f,
                 "RZZ acts on 2");
    assert_fails(qml_circuit_add_rotation(c, QML_GATE_PHASE, q, 2, 0, 0, 1, QML_NONE, 0), QML_ERR_INVALID_ARGUMENT,
                 f, "PHASE acts on 1");
    assert_fails(qml_circuit_add_rotation(c, QML_GATE_CRX, same, 2, 0, 0, 1, QML_NONE, 0), QML_ERR_INVALID_ARGUMENT,
                 f, "qubit 2 appears twice");
    assert_fails(qml_circuit_add_rotation(c, QML_GATE_CRY, far, 2, 0, 0, 1, QML_NONE, 0), QML_ERR_OUT_OF_RANGE, f,
                 "qubit 5");
    assert_fails(qml_circuit_add_rotation(c, QML_GATE_RX, NULL, 1, 0, 0, 1, QML_NONE, 0), QML_ERR_INVALID_ARGUMENT,
                 f, "qubits");
    /* Numbers. */
    assert_fails(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, NAN, 0, 1, QML_NONE, 0), QML_ERR_INVALID_ARGUMENT, f,
                 "constant angle is nan");
    assert_fails(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0, 0, INFINITY, QML_NONE, 0),
                 QML_ERR_INVALID_ARGUMENT, f, "weight_scale is inf");
    assert_fails(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0, 0, 1, 0, -INFINITY), QML_ERR_INVALID_ARGUMENT, f,
                 "feature_scale is -inf");
    /* Two finite scales of one weight whose sum overflows: out of range, not
     * out of memory, in the weight generator and in the circuit's algebra. */
    qml_circuit *big = NULL;
    assert_ok(qml_circuit_create(&big, 1));
    assert_ok(qml_circuit_add_rotation(big, QML_GATE_RX, q, 1, 0, 0, 1e308, QML_NONE, 0));
    assert_ok(qml_circuit_add_rotation(big, QML_GATE_RX, q, 1, 0, 0, 1e308, QML_NONE, 0));
    qml_pauli_sum *g = NULL;
    assert_fails(qml_circuit_weight_generator(big, 0, &g), QML_ERR_OUT_OF_RANGE, "qml_circuit_weight_generator",
                 "overflows");
    qml_lie_algebra *a = NULL;
    assert_fails(qml_lie_algebra_from_circuit(&a, big, NULL), QML_ERR_OUT_OF_RANGE, "qml_lie_algebra_from_circuit",
                 "overflows");
    assert_null(g);
    assert_null(a);
    qml_circuit_free(big);
    /* Indices. */
    assert_fails(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0, -2, 1, QML_NONE, 0), QML_ERR_OUT_OF_RANGE, f,
                 "weight index -2");
    assert_fails(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0, 1L << 24, 1, QML_NONE, 0), QML_ERR_OUT_OF_RANGE,
                 f, "weight index 16777216");
    assert_fails(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0, QML_NONE, 1, -7, 1), QML_ERR_OUT_OF_RANGE, f,
                 "feature index -7");
    assert_fails(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0, QML_NONE, 1, 1L << 30, 1), QML_ERR_OUT_OF_RANGE,
                 f, "feature index 1073741824");
    assert_int_equal(qml_circuit_n_gates(c), 0);
    assert_int_equal(qml_circuit_n_weights(c), 0);
    /* The largest index accepted. */
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, q, 1, 0, (1L << 24) - 1, 1, QML_NONE, 0));
    assert_int_equal(qml_circuit_n_weights(c), 1u << 24);
    qml_circuit_free(c);
}

static void test_query_validation(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 2));
    const unsigned q = 1;
    assert_ok(qml_circuit_add_gate(c, QML_GATE_H, &q, 1));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, 0, 1, 1, QML_NONE, 0));
    qml_pauli_sum *g = NULL;
    qml_gate_kind kind;
    double constant;
    assert_fails(qml_circuit_gate(NULL, 0, &kind, NULL, NULL), QML_ERR_INVALID_ARGUMENT, "qml_circuit_gate",
                 "circuit");
    assert_fails(qml_circuit_gate(c, 2, &kind, NULL, NULL), QML_ERR_OUT_OF_RANGE, "qml_circuit_gate", "gate 2");
    assert_fails(qml_circuit_gate_angle(c, 0, &constant, NULL, NULL, NULL, NULL), QML_ERR_INVALID_ARGUMENT,
                 "qml_circuit_gate_angle", "gate 0 (H)");
    assert_fails(qml_circuit_gate_angle(c, 7, &constant, NULL, NULL, NULL, NULL), QML_ERR_OUT_OF_RANGE,
                 "qml_circuit_gate_angle", "gate 7");
    assert_fails(qml_circuit_gate_angle(NULL, 1, &constant, NULL, NULL, NULL, NULL), QML_ERR_INVALID_ARGUMENT,
                 "qml_circuit_gate_angle", "circuit");
    assert_fails(qml_circuit_gate_generator(c, 0, &g), QML_ERR_INVALID_ARGUMENT, "qml_circuit_gate_generator",
                 "gate 0 (H)");
    assert_fails(qml_circuit_gate_generator(c, 2, &g), QML_ERR_OUT_OF_RANGE, "qml_circuit_gate_generator", "gate 2");
    assert_fails(qml_circuit_gate_generator(c, 1, NULL), QML_ERR_INVALID_ARGUMENT, "qml_circuit_gate_generator",
                 "out");
    assert_fails(qml_circuit_weight_generator(c, -1, &g), QML_ERR_INVALID_ARGUMENT, "qml_circuit_weight_generator",
                 "-1");
    assert_fails(qml_circuit_weight_generator(c, 2, &g), QML_ERR_OUT_OF_RANGE, "qml_circuit_weight_generator",
                 "weight 2");
    assert_fails(qml_circuit_weight_generator(NULL, 0, &g), QML_ERR_INVALID_ARGUMENT,
                 "qml_circuit_weight_generator", "circuit");
    assert_null(g);
    /* Weight 0 exists (n_weights = 2) but no gate reads it: the zero operator. */
    assert_ok(qml_circuit_weight_generator(c, 0, &g));
    assert_int_equal(qml_pauli_sum_n_terms(g), 0);
    assert_int_equal(qml_pauli_sum_n_qubits(g), 2);
    qml_pauli_sum_free(g);
    qml_circuit_free(c);
}

static void test_check_inputs(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 2));
    const char *f = "caller_name";
    assert_ok(qml__circuit_check_inputs(c, NULL, 0, NULL, 0, f));
    const unsigned q = 0;
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q, 1, 0, 2, 1, 1, 1));
    double w[4] = {0.1, 0.2, 0.3, NAN}, x[2] = {1, 2};
    assert_ok(qml__circuit_check_inputs(c, w, 3, x, 2, f));
    assert_ok(qml__circuit_check_inputs(c, w, 4, x, 2, f)); /* w[3] is never read: its NaN is harmless */
    assert_fails(qml__circuit_check_inputs(c, w, 2, x, 2, f), QML_ERR_OUT_OF_RANGE, f, "2 weights given");
    assert_fails(qml__circuit_check_inputs(c, w, 3, x, 1, f), QML_ERR_OUT_OF_RANGE, f, "1 features given");
    assert_fails(qml__circuit_check_inputs(c, NULL, 3, x, 2, f), QML_ERR_INVALID_ARGUMENT, f, "weights");
    assert_fails(qml__circuit_check_inputs(c, w, 3, NULL, 2, f), QML_ERR_INVALID_ARGUMENT, f, "features");
    assert_fails(qml__circuit_check_inputs(NULL, w, 3, x, 2, f), QML_ERR_INVALID_ARGUMENT, f, "circuit");
    w[1] = INFINITY;
    assert_fails(qml__circuit_check_inputs(c, w, 3, x, 2, f), QML_ERR_INVALID_ARGUMENT, f, "weight 1 is inf");
    w[1] = 0.2;
    x[0] = NAN;
    assert_fails(qml__circuit_check_inputs(c, w, 3, x, 2, f), QML_ERR_INVALID_ARGUMENT, f, "feature 0 is nan");
    qml_circuit_free(c);
}

/* ---- Pauli rotations and evolutions ---------------------------------------- */

static void test_pauli_rotation(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 7));
    const char *f = "qml_circuit_add_pauli_rotation";
    /* Support {1, 3, 4, 6}: count is the support, qubits its first three. */
    qml_pauli_sum *p = make_sum(7, (term_spec[]){{1.0, "IXIYZIX"}, {0, NULL}});
    assert_ok(qml_circuit_add_pauli_rotation(c, p, 0.5, 0, 1.0, QML_NONE, 0.0));
    qml_gate_kind kind;
    unsigned qubits[3];
    size_t count;
    assert_ok(qml_circuit_gate(c, 0, &kind, qubits, &count));
    assert_int_equal(kind, QML_GATE_PAULI_ROTATION);
    assert_int_equal(count, 4);
    assert_int_equal(qubits[0], 1);
    assert_int_equal(qubits[1], 3);
    assert_int_equal(qubits[2], 4);
    assert_int_equal(c->gates[0].n_targets, 4);
    /* The circuit owns a copy: changing the caller's sum changes nothing. */
    assert_ok(qml_pauli_sum_add_string(p, 3.0, "ZZZZZZZ"));
    qml_pauli_sum *g = NULL;
    assert_ok(qml_circuit_gate_generator(c, 0, &g));
    assert_sum_equals(g, 7, (term_spec[]){{1.0, "IXIYZIX"}, {0, NULL}});
    assert_true(g != c->gates[0].generator);
    qml_pauli_sum_free(g);
    qml_pauli_sum_free(p);

    /* Coefficient other than 1: an evolution; identity terms allowed. */
    static const struct {
        term_spec terms[4];
        qml_gate_kind kind;
        size_t support;
    } cases[] = {
        {{{2.0, "ZIIIIII"}, {0, NULL}}, QML_GATE_PAULI_EVOLUTION, 1},
        {{{-1.0, "ZIIIIII"}, {0, NULL}}, QML_GATE_PAULI_EVOLUTION, 1},
        {{{1.0, "XXIIIII"}, {1.0, "YYIIIII"}, {1.0, "ZZIIIII"}, {0, NULL}}, QML_GATE_PAULI_EVOLUTION, 2},
        {{{0.5, "IIIIIII"}, {1.0, "IIZIIZI"}, {0, NULL}}, QML_GATE_PAULI_EVOLUTION, 2},
        {{{1.0, "IIIIIII"}, {0, NULL}}, QML_GATE_PAULI_ROTATION, 0}, /* a global phase */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        qml_pauli_sum *h = make_sum(7, cases[i].terms);
        assert_ok(qml_circuit_add_pauli_rotation(c, h, 0.0, QML_NONE, 0.0, 3, 2.0));
        assert_ok(qml_circuit_gate(c, 1 + i, &kind, NULL, &count));
        assert_int_equal(kind, cases[i].kind);
        assert_int_equal(count, cases[i].support);
        assert_ok(qml_circuit_gate_generator(c, 1 + i, &g));
        assert_sum_equals(g, 7, cases[i].terms);
        qml_pauli_sum_free(g);
        qml_pauli_sum_free(h);
    }
    assert_int_equal(qml_circuit_n_parametrised(c), 6);
    assert_int_equal(qml_circuit_n_features(c), 4);

    /* Refusals: anticommuting terms name both terms. */
    qml_pauli_sum *bad = make_sum(7, (term_spec[]){{1.0, "XIIIIII"}, {0.5, "IZIIIII"}, {0.25, "ZIIIIII"}, {0, NULL}});
    assert_fails(qml_circuit_add_pauli_rotation(c, bad, 0, 0, 1, QML_NONE, 0), QML_ERR_UNSUPPORTED, f,
                 "XIIIIII");
    assert_error_mentions("ZIIIIII");
    assert_error_mentions("anticommute");
    qml_pauli_sum_free(bad);
    /* Two-qubit strings that anticommute although they share a commuting letter. */
    bad = make_sum(7, (term_spec[]){{1.0, "XZIIIII"}, {1.0, "ZZIIIII"}, {0, NULL}});
    assert_fails(qml_circuit_add_pauli_rotation(c, bad, 0, 0, 1, QML_NONE, 0), QML_ERR_UNSUPPORTED, f, "XZIIIII");
    qml_pauli_sum_free(bad);
    qml_pauli_sum *empty = make_sum(7, (term_spec[]){{0, NULL}});
    assert_fails(qml_circuit_add_pauli_rotation(c, empty, 0, 0, 1, QML_NONE, 0), QML_ERR_INVALID_ARGUMENT, f,
                 "zero operator");
    qml_pauli_sum_free(empty);
    qml_pauli_sum *other = make_sum(3, (term_spec[]){{1.0, "XII"}, {0, NULL}});
    assert_fails(qml_circuit_add_pauli_rotation(c, other, 0, 0, 1, QML_NONE, 0), QML_ERR_INVALID_ARGUMENT, f,
                 "acts on 3 qubits");
    qml_pauli_sum_free(other);
    /* A coefficient that is not finite (set behind the Pauli API's back). */
    qml_pauli_sum *nan = make_sum(7, (term_spec[]){{1.0, "XIIIIII"}, {0, NULL}});
    nan->coeff[0] = NAN;
    assert_fails(qml_circuit_add_pauli_rotation(c, nan, 0, 0, 1, QML_NONE, 0), QML_ERR_INVALID_ARGUMENT, f, "nan");
    qml_pauli_sum_free(nan);
    qml_pauli_sum *ok = make_sum(7, (term_spec[]){{1.0, "XIIIIII"}, {0, NULL}});
    assert_fails(qml_circuit_add_pauli_rotation(c, NULL, 0, 0, 1, QML_NONE, 0), QML_ERR_INVALID_ARGUMENT, f,
                 "generator");
    assert_fails(qml_circuit_add_pauli_rotation(NULL, ok, 0, 0, 1, QML_NONE, 0), QML_ERR_INVALID_ARGUMENT, f,
                 "circuit");
    assert_fails(qml_circuit_add_pauli_rotation(c, ok, NAN, 0, 1, QML_NONE, 0), QML_ERR_INVALID_ARGUMENT, f, "nan");
    assert_fails(qml_circuit_add_pauli_rotation(c, ok, 0, -5, 1, QML_NONE, 0), QML_ERR_OUT_OF_RANGE, f, "-5");
    assert_fails(qml_circuit_add_pauli_rotation(c, ok, 0, 0, 1, 1L << 24, 1), QML_ERR_OUT_OF_RANGE, f, "16777216");
    qml_pauli_sum_free(ok);
    assert_int_equal(qml_circuit_n_gates(c), 6);
    qml_circuit_free(c);
}

/* ---- the generator convention against textbook matrices --------------------- */

/* Textbook 2x2 and 4x4 matrices (local index b_q0 + 2 b_q1). */
static void rotation_2x2(char axis, double theta, double *m)
{
    double c = cos(theta / 2), s = sin(theta / 2);
    memset(m, 0, 8 * sizeof *m);
    switch (axis) {
    case 'X': /* [[c, -i s], [-i s, c]] */
        m[0] = c, m[3] = -s, m[5] = -s, m[6] = c;
        break;
    case 'Y': /* [[c, -s], [s, c]] */
        m[0] = c, m[2] = -s, m[4] = s, m[6] = c;
        break;
    default: /* Z: diag(e^{-i theta/2}, e^{i theta/2}) */
        m[0] = c, m[1] = -s, m[6] = c, m[7] = s;
        break;
    }
}

static void textbook_matrix(qml_gate_kind kind, double theta, double *m)
{
    double c = cos(theta / 2), s = sin(theta / 2);
    memset(m, 0, 32 * sizeof *m);
#define E(r, col, re, im) (m[2 * ((r) * 4 + (col))] = (re), m[2 * ((r) * 4 + (col)) + 1] = (im))
    switch (kind) {
    case QML_GATE_RX: rotation_2x2('X', theta, m); break;
    case QML_GATE_RY: rotation_2x2('Y', theta, m); break;
    case QML_GATE_RZ: rotation_2x2('Z', theta, m); break;
    case QML_GATE_PHASE: /* diag(1, e^{i theta}) */
        m[0] = 1, m[6] = cos(theta), m[7] = sin(theta);
        break;
    case QML_GATE_RXX: /* cos I - i sin XX: XX swaps 00<->11 and 01<->10 */
        E(0, 0, c, 0), E(1, 1, c, 0), E(2, 2, c, 0), E(3, 3, c, 0);
        E(0, 3, 0, -s), E(3, 0, 0, -s), E(1, 2, 0, -s), E(2, 1, 0, -s);
        break;
    case QML_GATE_RYY: /* YY = [[0,0,0,-1],[0,0,1,0],[0,1,0,0],[-1,0,0,0]] */
        E(0, 0, c, 0), E(1, 1, c, 0), E(2, 2, c, 0), E(3, 3, c, 0);
        E(0, 3, 0, s), E(3, 0, 0, s), E(1, 2, 0, -s), E(2, 1, 0, -s);
        break;
    case QML_GATE_RZZ: /* diag(e^{-i t/2}, e^{i t/2}, e^{i t/2}, e^{-i t/2}) */
        E(0, 0, c, -s), E(1, 1, c, s), E(2, 2, c, s), E(3, 3, c, -s);
        break;
    case QML_GATE_CRX:
    case QML_GATE_CRY:
    case QML_GATE_CRZ: {
        /* Identity when the control (local bit 0) is 0; the rotation on the
         * target (local bit 1) between indices 1 and 3 when it is 1. */
        double r[8];
        rotation_2x2(kind == QML_GATE_CRX ? 'X' : kind == QML_GATE_CRY ? 'Y' : 'Z', theta, r);
        E(0, 0, 1, 0), E(2, 2, 1, 0);
        E(1, 1, r[0], r[1]), E(1, 3, r[2], r[3]), E(3, 1, r[4], r[5]), E(3, 3, r[6], r[7]);
        break;
    }
    default:
        fail_msg("no textbook matrix for kind %d", (int)kind);
    }
#undef E
}

static void test_generator_convention(void **state)
{
    (void)state;
    enum { N = 3, D = 8 };
    static const qml_gate_kind kinds[] = {QML_GATE_RX, QML_GATE_RY, QML_GATE_RZ, QML_GATE_RXX, QML_GATE_RYY,
                                          QML_GATE_RZZ, QML_GATE_CRX, QML_GATE_CRY, QML_GATE_CRZ, QML_GATE_PHASE};
    /* Qubit placements: adjacent, reversed, non-adjacent. */
    static const unsigned placements[][2] = {{0, 1}, {1, 0}, {2, 0}, {0, 2}, {1, 2}};
    static const double thetas[] = {0.7, -2.3, PI, 5.9};
    double expected[2 * D * D], actual[2 * D * D], local[32];
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t p = 0; p < sizeof placements / sizeof placements[0]; p++)
            for (size_t t = 0; t < sizeof thetas / sizeof thetas[0]; t++) {
                qml_circuit *c = NULL;
                assert_ok(qml_circuit_create(&c, N));
                size_t count = (kinds[k] == QML_GATE_RX || kinds[k] == QML_GATE_RY || kinds[k] == QML_GATE_RZ ||
                                kinds[k] == QML_GATE_PHASE)
                                   ? 1
                                   : 2;
                assert_ok(qml_circuit_add_rotation(c, kinds[k], placements[p], count, 0, 0, 1, QML_NONE, 0));
                textbook_matrix(kinds[k], thetas[t], local);
                embed(N, (unsigned)count, local, placements[p], expected);
                gate_matrix_from_generator(c, 0, thetas[t], actual);
                char what[64];
                snprintf(what, sizeof what, "kind %d on (%u, %u), theta %g", (int)kinds[k], placements[p][0],
                         placements[p][1], thetas[t]);
                assert_matrices_close(D, actual, expected, 1e-12, what);
                qml_circuit_free(c);
            }
}

/* Pauli rotation: exp(-i t/2 P) = cos(t/2) I - i sin(t/2) P with P from
 * Kronecker products; evolution under XX + YY + ZZ = 2 SWAP - I is
 * e^{i t/2} (cos t I - i sin t SWAP) since SWAP^2 = I. */
static void test_pauli_generator_convention(void **state)
{
    (void)state;
    enum { N = 3, D = 8 };
    double expected[2 * D * D], actual[2 * D * D], pauli[2 * D * D];
    const double theta = 1.3;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, N));
    qml_pauli_sum *p = make_sum(N, (term_spec[]){{1.0, "XYZ"}, {0, NULL}});
    assert_ok(qml_circuit_add_pauli_rotation(c, p, 0, 0, 1, QML_NONE, 0));
    qml_pauli_sum_free(p);
    harness_pauli_matrix(N, "XYZ", pauli);
    for (size_t i = 0; i < 2 * D * D; i++)
        expected[i] = 0;
    for (size_t i = 0; i < D; i++)
        expected[2 * (i * D + i)] = cos(theta / 2);
    for (size_t i = 0; i < D * D; i++) {
        /* -i sin(t/2) (re + i im) */
        expected[2 * i] += sin(theta / 2) * pauli[2 * i + 1];
        expected[2 * i + 1] += -sin(theta / 2) * pauli[2 * i];
    }
    gate_matrix_from_generator(c, 0, theta, actual);
    assert_matrices_close(D, actual, expected, 1e-12, "XYZ rotation");

    qml_pauli_sum *h = make_sum(N, (term_spec[]){{1.0, "XIX"}, {1.0, "YIY"}, {1.0, "ZIZ"}, {0, NULL}});
    assert_ok(qml_circuit_add_pauli_rotation(c, h, 0, 0, 1, QML_NONE, 0));
    qml_pauli_sum_free(h);
    double swap[32] = {0}, local[32];
    swap[2 * 0] = swap[2 * (1 * 4 + 2)] = swap[2 * (2 * 4 + 1)] = swap[2 * 15] = 1;
    double pr = cos(theta / 2), pi = sin(theta / 2); /* e^{i t/2} */
    for (size_t i = 0; i < 16; i++) {
        double re = (i % 5 == 0 ? cos(theta) : 0.0), im = -sin(theta) * swap[2 * i];
        local[2 * i] = pr * re - pi * im;
        local[2 * i + 1] = pr * im + pi * re;
    }
    const unsigned qubits[2] = {0, 2};
    embed(N, 2, local, qubits, expected);
    gate_matrix_from_generator(c, 1, theta, actual);
    assert_matrices_close(D, actual, expected, 1e-12, "Heisenberg bond evolution");
    qml_circuit_free(c);
}

/* ---- weight sharing ------------------------------------------------------------ */

static void test_weight_generator(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 3));
    const unsigned q0 = 0, q1 = 1, q2 = 2, b01[2] = {0, 1}, c21[2] = {2, 1};
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q0, 1, 0, 0, 1.0, QML_NONE, 0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZZ, b01, 2, 0, 0, 2.0, QML_NONE, 0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q2, 1, 0, 1, 1.0, 0, 1.0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_PHASE, &q1, 1, 0.3, 0, -0.5, QML_NONE, 0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_CRY, c21, 2, 0, 3, 4.0, QML_NONE, 0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q1, 1, 0, 4, 1.0, QML_NONE, 0));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q1, 1, 0, 4, -1.0, QML_NONE, 0));
    qml_pauli_sum *h = make_sum(3, (term_spec[]){{0.5, "XXI"}, {0.5, "YYI"}, {0, NULL}});
    assert_ok(qml_circuit_add_pauli_rotation(c, h, 0, 0, 3.0, QML_NONE, 0));
    qml_pauli_sum_free(h);
    assert_int_equal(qml_circuit_n_weights(c), 5);

    qml_pauli_sum *g = NULL;
    /* Weight 0: X0 + 2 Z0Z1 - 0.5 (Z1 - I) + 3 (0.5 XX + 0.5 YY). */
    assert_ok(qml_circuit_weight_generator(c, 0, &g));
    assert_sum_equals(g, 3,
                      (term_spec[]){{1.0, "XII"}, {2.0, "ZZI"}, {-0.5, "IZI"}, {0.5, "III"}, {1.5, "XXI"},
                                    {1.5, "YYI"}, {0, NULL}});
    qml_pauli_sum_free(g);
    /* Weight 1: Y2 alone (the feature does not matter). */
    assert_ok(qml_circuit_weight_generator(c, 1, &g));
    assert_sum_equals(g, 3, (term_spec[]){{1.0, "IIY"}, {0, NULL}});
    qml_pauli_sum_free(g);
    /* Weight 2: read by nobody. */
    assert_ok(qml_circuit_weight_generator(c, 2, &g));
    assert_int_equal(qml_pauli_sum_n_terms(g), 0);
    qml_pauli_sum_free(g);
    /* Weight 3: 4 (I - Z2) Y1 / 2 = 2 Y1 - 2 Z2 Y1. */
    assert_ok(qml_circuit_weight_generator(c, 3, &g));
    assert_sum_equals(g, 3, (term_spec[]){{2.0, "IYI"}, {-2.0, "IYZ"}, {0, NULL}});
    qml_pauli_sum_free(g);
    /* Weight 4: X1 - X1 cancels exactly. */
    assert_ok(qml_circuit_weight_generator(c, 4, &g));
    assert_int_equal(qml_pauli_sum_n_terms(g), 0);
    qml_pauli_sum_free(g);
    qml_circuit_free(c);
}

/* ---- templates --------------------------------------------------------------- */

static void assert_gate(const qml_circuit *c, size_t index, qml_gate_kind kind, size_t count, unsigned a, unsigned b,
                        long weight)
{
    qml_gate_kind got;
    unsigned qubits[3];
    size_t got_count;
    assert_ok(qml_circuit_gate(c, index, &got, qubits, &got_count));
    if (got != kind || got_count != count || qubits[0] != a || (count > 1 && qubits[1] != b))
        fail_msg("gate %zu: kind %d on %zu qubits (%u, %u), expected kind %d on %zu (%u, %u)", index, (int)got,
                 got_count, qubits[0], got_count > 1 ? qubits[1] : 0, (int)kind, count, a, b);
    if (qml__gate_is_parametrised(kind)) {
        int64_t w;
        double scale, constant;
        assert_ok(qml_circuit_gate_angle(c, index, &constant, &w, &scale, NULL, NULL));
        assert_int_equal(w, weight);
        assert_true(scale == 1.0 && constant == 0.0);
    }
}

static void test_hardware_efficient(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 3));
    /* One weight already in use: the template numbers from 1. */
    const unsigned q0 = 0;
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q0, 1, 0, 0, 1, QML_NONE, 0));
    assert_ok(qml_ansatz_hardware_efficient(c, 2, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    /* Per layer: 3 RY, 3 RZ, CZ(0,1), CZ(1,2). */
    assert_int_equal(qml_circuit_n_gates(c), 1 + 2 * 8);
    assert_int_equal(qml_circuit_n_weights(c), 1 + 2 * 6);
    assert_int_equal(qml_circuit_n_parametrised(c), 1 + 2 * 6);
    for (unsigned layer = 0; layer < 2; layer++) {
        size_t g = 1 + 8 * layer;
        long w = 1 + 6 * (long)layer;
        for (unsigned q = 0; q < 3; q++) {
            assert_gate(c, g + q, QML_GATE_RY, 1, q, 0, w + q);
            assert_gate(c, g + 3 + q, QML_GATE_RZ, 1, q, 0, w + 3 + q);
        }
        assert_gate(c, g + 6, QML_GATE_CZ, 2, 0, 1, 0);
        assert_gate(c, g + 7, QML_GATE_CZ, 2, 1, 2, 0);
    }
    qml_pauli_sum *g = NULL;
    assert_ok(qml_circuit_weight_generator(c, 8, &g)); /* layer 1, RY on qubit 1 */
    assert_sum_equals(g, 3, (term_spec[]){{1.0, "IYI"}, {0, NULL}});
    qml_pauli_sum_free(g);
    assert_ok(qml_circuit_weight_generator(c, 12, &g)); /* layer 1, RZ on qubit 2 */
    assert_sum_equals(g, 3, (term_spec[]){{1.0, "IIZ"}, {0, NULL}});
    qml_pauli_sum_free(g);
    qml_circuit_free(c);

    /* Periodic CNOT on 4 qubits: bonds (0,1) (1,2) (2,3) (3,0). */
    assert_ok(qml_circuit_create(&c, 4));
    assert_ok(qml_ansatz_hardware_efficient(c, 1, QML_ENTANGLER_CNOT, QML_BOUNDARY_PERIODIC));
    assert_int_equal(qml_circuit_n_gates(c), 12);
    assert_int_equal(qml_circuit_n_weights(c), 8);
    assert_gate(c, 8, QML_GATE_CNOT, 2, 0, 1, 0);
    assert_gate(c, 10, QML_GATE_CNOT, 2, 2, 3, 0);
    assert_gate(c, 11, QML_GATE_CNOT, 2, 3, 0, 0);
    /* Zero layers: nothing. */
    assert_ok(qml_ansatz_hardware_efficient(c, 0, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    assert_int_equal(qml_circuit_n_gates(c), 12);
    qml_circuit_free(c);

    /* Periodic on 2 qubits has the single bond (0, 1); on 1 qubit none. */
    assert_ok(qml_circuit_create(&c, 2));
    assert_ok(qml_ansatz_hardware_efficient(c, 3, QML_ENTANGLER_CZ, QML_BOUNDARY_PERIODIC));
    assert_int_equal(qml_circuit_n_gates(c), 3 * 5);
    qml_circuit_free(c);
    assert_ok(qml_circuit_create(&c, 1));
    assert_ok(qml_ansatz_hardware_efficient(c, 2, QML_ENTANGLER_CNOT, QML_BOUNDARY_PERIODIC));
    assert_int_equal(qml_circuit_n_gates(c), 4);
    assert_int_equal(qml_circuit_n_weights(c), 4);

    const char *f = "qml_ansatz_hardware_efficient";
    assert_fails(qml_ansatz_hardware_efficient(NULL, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN),
                 QML_ERR_INVALID_ARGUMENT, f, "circuit");
    assert_fails(qml_ansatz_hardware_efficient(c, 1, (qml_entangler)2, QML_BOUNDARY_OPEN), QML_ERR_INVALID_ARGUMENT,
                 f, "entangler 2");
    assert_fails(qml_ansatz_hardware_efficient(c, 1, QML_ENTANGLER_CZ, (qml_boundary)-1), QML_ERR_INVALID_ARGUMENT,
                 f, "boundary -1");
    assert_int_equal(qml_circuit_n_gates(c), 4);
    qml_circuit_free(c);
}

static void test_layered(void **state)
{
    (void)state;
    qml_pauli_sum *zz = make_sum(2, (term_spec[]){{1.0, "ZZ"}, {0, NULL}});
    qml_pauli_sum *x0 = make_sum(2, (term_spec[]){{1.0, "XI"}, {0, NULL}});
    qml_pauli_sum *x1 = make_sum(2, (term_spec[]){{1.0, "IX"}, {0, NULL}});
    const qml_pauli_sum *generators[3] = {zz, x0, x1};
    qml_circuit *c = NULL;
    qml_pauli_sum *g = NULL;

    /* One weight per generator per layer. */
    assert_ok(qml_circuit_create(&c, 2));
    assert_ok(qml_ansatz_layered(c, generators, 3, NULL, 2, 0));
    assert_int_equal(qml_circuit_n_gates(c), 6);
    assert_int_equal(qml_circuit_n_weights(c), 6);
    assert_gate(c, 0, QML_GATE_PAULI_ROTATION, 2, 0, 1, 0);
    assert_gate(c, 4, QML_GATE_PAULI_ROTATION, 1, 0, 0, 4);
    assert_ok(qml_circuit_weight_generator(c, 5, &g));
    assert_sum_equals(g, 2, (term_spec[]){{1.0, "IX"}, {0, NULL}});
    qml_pauli_sum_free(g);
    qml_circuit_free(c);

    /* Groups {7, 3, 3}: labels need not be dense; weights by first appearance. */
    const unsigned groups[3] = {7, 3, 3};
    assert_ok(qml_circuit_create(&c, 2));
    const unsigned q0 = 0;
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q0, 1, 0, 0, 1, QML_NONE, 0));
    assert_ok(qml_ansatz_layered(c, generators, 3, groups, 2, 0));
    assert_int_equal(qml_circuit_n_gates(c), 7);
    assert_int_equal(qml_circuit_n_weights(c), 5);
    assert_ok(qml_circuit_weight_generator(c, 2, &g)); /* layer 0, group 3 */
    assert_sum_equals(g, 2, (term_spec[]){{1.0, "XI"}, {1.0, "IX"}, {0, NULL}});
    qml_pauli_sum_free(g);
    assert_ok(qml_circuit_weight_generator(c, 3, &g)); /* layer 1, group 7 */
    assert_sum_equals(g, 2, (term_spec[]){{1.0, "ZZ"}, {0, NULL}});
    qml_pauli_sum_free(g);
    qml_circuit_free(c);

    /* Shared across layers: 3 layers read the same 2 weights. */
    assert_ok(qml_circuit_create(&c, 2));
    assert_ok(qml_ansatz_layered(c, generators, 3, groups, 3, 1));
    assert_int_equal(qml_circuit_n_gates(c), 9);
    assert_int_equal(qml_circuit_n_weights(c), 2);
    assert_ok(qml_circuit_weight_generator(c, 1, &g));
    assert_sum_equals(g, 2, (term_spec[]){{3.0, "XI"}, {3.0, "IX"}, {0, NULL}});
    qml_pauli_sum_free(g);
    /* Zero layers: nothing. */
    assert_ok(qml_ansatz_layered(c, generators, 3, NULL, 0, 0));
    assert_int_equal(qml_circuit_n_gates(c), 9);

    /* Refusals leave the circuit unchanged. */
    const char *f = "qml_ansatz_layered";
    qml_pauli_sum *y0 = make_sum(2, (term_spec[]){{1.0, "YI"}, {1.0, "XI"}, {0, NULL}});
    qml_pauli_sum *three = make_sum(3, (term_spec[]){{1.0, "ZII"}, {0, NULL}});
    const qml_pauli_sum *bad_commute[2] = {zz, y0}, *bad_size[2] = {zz, three}, *bad_null[2] = {zz, NULL};
    assert_fails(qml_ansatz_layered(c, bad_commute, 2, NULL, 1, 0), QML_ERR_UNSUPPORTED, f, "YI");
    assert_error_mentions("XI");
    assert_fails(qml_ansatz_layered(c, bad_size, 2, NULL, 1, 0), QML_ERR_INVALID_ARGUMENT, f, "3 qubits");
    assert_fails(qml_ansatz_layered(c, bad_null, 2, NULL, 1, 0), QML_ERR_INVALID_ARGUMENT, f, "generator 1");
    assert_fails(qml_ansatz_layered(c, generators, 0, NULL, 1, 0), QML_ERR_INVALID_ARGUMENT, f, "count = 0");
    assert_fails(qml_ansatz_layered(c, NULL, 3, NULL, 1, 0), QML_ERR_INVALID_ARGUMENT, f, "generators");
    assert_fails(qml_ansatz_layered(NULL, generators, 3, NULL, 1, 0), QML_ERR_INVALID_ARGUMENT, f, "circuit");
    assert_int_equal(qml_circuit_n_gates(c), 9);
    assert_int_equal(qml_circuit_n_weights(c), 2);
    qml_pauli_sum_free(y0);
    qml_pauli_sum_free(three);
    qml_circuit_free(c);
    qml_pauli_sum_free(zz);
    qml_pauli_sum_free(x0);
    qml_pauli_sum_free(x1);
}

static void assert_weight_generator(const qml_circuit *c, long weight, unsigned n, const term_spec *terms)
{
    qml_pauli_sum *g = NULL;
    assert_ok(qml_circuit_weight_generator(c, weight, &g));
    assert_sum_equals(g, n, terms);
    qml_pauli_sum_free(g);
}

static void test_families(void **state)
{
    (void)state;
    qml_circuit *c = NULL, *reference = NULL;

    /* HEA: the open CZ hardware-efficient ansatz, gate for gate. */
    assert_ok(qml_circuit_create(&c, 4));
    assert_ok(qml_circuit_create(&reference, 4));
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_HEA, 2));
    assert_ok(qml_ansatz_hardware_efficient(reference, 2, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    assert_int_equal(qml_circuit_n_gates(c), qml_circuit_n_gates(reference));
    assert_int_equal(qml_circuit_n_gates(c), 2 * (8 + 3));
    assert_memory_equal(c->gates, reference->gates, c->n_gates * sizeof *c->gates);
    qml_circuit_free(c);
    qml_circuit_free(reference);

    /* TFIM, open, local: per layer RZZ on 3 bonds then RX on 4 qubits. */
    assert_ok(qml_circuit_create(&c, 4));
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_TFIM, 2));
    assert_int_equal(qml_circuit_n_gates(c), 14);
    assert_int_equal(qml_circuit_n_weights(c), 14);
    assert_gate(c, 2, QML_GATE_RZZ, 2, 2, 3, 2);
    assert_gate(c, 3, QML_GATE_RX, 1, 0, 0, 3);
    assert_gate(c, 7, QML_GATE_RZZ, 2, 0, 1, 7);
    assert_weight_generator(c, 8, 4, (term_spec[]){{1.0, "IZZI"}, {0, NULL}});
    assert_weight_generator(c, 13, 4, (term_spec[]){{1.0, "IIIX"}, {0, NULL}});
    qml_circuit_free(c);

    /* TFIM_GLOBAL: periodic sum ZZ, then sum X, one weight each per layer. */
    assert_ok(qml_circuit_create(&c, 4));
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_TFIM_GLOBAL, 3));
    assert_int_equal(qml_circuit_n_gates(c), 6);
    assert_int_equal(qml_circuit_n_weights(c), 6);
    assert_gate(c, 0, QML_GATE_PAULI_EVOLUTION, 4, 0, 1, 0);
    assert_weight_generator(c, 4, 4,
                            (term_spec[]){{1.0, "ZZII"}, {1.0, "IZZI"}, {1.0, "IIZZ"}, {1.0, "ZIIZ"}, {0, NULL}});
    assert_weight_generator(c, 5, 4,
                            (term_spec[]){{1.0, "XIII"}, {1.0, "IXII"}, {1.0, "IIXI"}, {1.0, "IIIX"}, {0, NULL}});
    qml_circuit_free(c);
    /* On 2 qubits the periodic chain has the one bond (0, 1): Z0Z1 once (a
     * single string with coefficient 1, so a Pauli rotation). */
    assert_ok(qml_circuit_create(&c, 2));
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_TFIM_GLOBAL, 1));
    assert_gate(c, 0, QML_GATE_PAULI_ROTATION, 2, 0, 1, 0);
    assert_weight_generator(c, 0, 2, (term_spec[]){{1.0, "ZZ"}, {0, NULL}});
    qml_circuit_free(c);

    /* SN: sum_{i<j} Z_i Z_j, sum X_i, sum Z_i, one weight each per layer. */
    assert_ok(qml_circuit_create(&c, 4));
    const unsigned q0 = 0;
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q0, 1, 0, 4, 1, QML_NONE, 0)); /* n_weights 5 */
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_SN, 2));
    assert_int_equal(qml_circuit_n_gates(c), 7);
    assert_int_equal(qml_circuit_n_weights(c), 11);
    assert_weight_generator(c, 8, 4,
                            (term_spec[]){{1.0, "ZZII"},
                                          {1.0, "ZIZI"},
                                          {1.0, "ZIIZ"},
                                          {1.0, "IZZI"},
                                          {1.0, "IZIZ"},
                                          {1.0, "IIZZ"},
                                          {0, NULL}});
    assert_weight_generator(c, 9, 4,
                            (term_spec[]){{1.0, "XIII"}, {1.0, "IXII"}, {1.0, "IIXI"}, {1.0, "IIIX"}, {0, NULL}});
    assert_weight_generator(c, 10, 4,
                            (term_spec[]){{1.0, "ZIII"}, {1.0, "IZII"}, {1.0, "IIZI"}, {1.0, "IIIZ"}, {0, NULL}});
    qml_circuit_free(c);

    /* HEISENBERG: one XX + YY + ZZ evolution per open bond, local weights. */
    assert_ok(qml_circuit_create(&c, 4));
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_HEISENBERG, 2));
    assert_int_equal(qml_circuit_n_gates(c), 6);
    assert_int_equal(qml_circuit_n_weights(c), 6);
    assert_gate(c, 4, QML_GATE_PAULI_EVOLUTION, 2, 1, 2, 4);
    assert_weight_generator(c, 4, 4, (term_spec[]){{1.0, "IXXI"}, {1.0, "IYYI"}, {1.0, "IZZI"}, {0, NULL}});
    /* Zero layers: nothing. */
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_HEISENBERG, 0));
    assert_int_equal(qml_circuit_n_gates(c), 6);
    const char *f = "qml_ansatz_family_append";
    assert_fails(qml_ansatz_family_append(c, (qml_ansatz_family)5, 1), QML_ERR_INVALID_ARGUMENT, f, "family 5");
    assert_fails(qml_ansatz_family_append(NULL, QML_ANSATZ_SN, 1), QML_ERR_INVALID_ARGUMENT, f, "circuit");
    qml_circuit_free(c);

    /* Families that couple qubits need two; HEA on one qubit is fine. */
    assert_ok(qml_circuit_create(&c, 1));
    for (int family = QML_ANSATZ_TFIM; family <= QML_ANSATZ_HEISENBERG; family++)
        assert_fails(qml_ansatz_family_append(c, (qml_ansatz_family)family, 1), QML_ERR_INVALID_ARGUMENT, f,
                     "has 1");
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_HEA, 1));
    assert_int_equal(qml_circuit_n_gates(c), 2);
    qml_circuit_free(c);
}

static void test_angle_encoding(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 5));
    assert_ok(qml_ansatz_angle_encoding(c, QML_GATE_RY, 2, 0.5));
    assert_int_equal(qml_circuit_n_gates(c), 5);
    assert_int_equal(qml_circuit_n_features(c), 2);
    assert_int_equal(qml_circuit_n_weights(c), 0);
    for (unsigned q = 0; q < 5; q++) {
        qml_gate_kind kind;
        unsigned qubit;
        int64_t weight, feature;
        double constant, scale;
        assert_ok(qml_circuit_gate(c, q, &kind, &qubit, NULL));
        assert_ok(qml_circuit_gate_angle(c, q, &constant, &weight, NULL, &feature, &scale));
        assert_int_equal(kind, QML_GATE_RY);
        assert_int_equal(qubit, q);
        assert_int_equal(weight, QML_NONE);
        assert_int_equal(feature, q % 2);
        assert_true(scale == 0.5 && constant == 0.0);
    }
    /* More features than qubits: each qubit reads its own. */
    assert_ok(qml_ansatz_angle_encoding(c, QML_GATE_RZ, 8, 1.0));
    assert_int_equal(qml_circuit_n_features(c), 5);
    const char *f = "qml_ansatz_angle_encoding";
    assert_fails(qml_ansatz_angle_encoding(c, QML_GATE_RZZ, 2, 1.0), QML_ERR_INVALID_ARGUMENT, f, "kind 35");
    assert_fails(qml_ansatz_angle_encoding(c, QML_GATE_PHASE, 2, 1.0), QML_ERR_INVALID_ARGUMENT, f, "kind 39");
    assert_fails(qml_ansatz_angle_encoding(c, QML_GATE_RX, 0, 1.0), QML_ERR_INVALID_ARGUMENT, f, "n_features = 0");
    assert_fails(qml_ansatz_angle_encoding(c, QML_GATE_RX, 2, NAN), QML_ERR_INVALID_ARGUMENT, f, "nan");
    assert_fails(qml_ansatz_angle_encoding(NULL, QML_GATE_RX, 2, 1.0), QML_ERR_INVALID_ARGUMENT, f, "circuit");
    assert_int_equal(qml_circuit_n_gates(c), 10);
    qml_circuit_free(c);
}

/* ---- copies ------------------------------------------------------------------- */

static void test_copy_independence(void **state)
{
    (void)state;
    qml_circuit *c = NULL, *copy = NULL;
    assert_ok(qml_circuit_create(&c, 3));
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_SN, 1));
    const unsigned q = 1;
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q, 1, 0.1, 3, 2.0, 1, 0.5));
    assert_ok(qml_circuit_copy(&copy, c));
    assert_int_equal(qml_circuit_n_qubits(copy), 3);
    assert_int_equal(qml_circuit_n_gates(copy), 4);
    assert_int_equal(qml_circuit_n_weights(copy), 4);
    assert_int_equal(qml_circuit_n_features(copy), 2);
    assert_int_equal(qml_circuit_n_parametrised(copy), 4);
    for (size_t i = 0; i < 3; i++)
        assert_true(copy->gates[i].generator != c->gates[i].generator);
    /* Growing the copy leaves the original alone, and the copy outlives it. */
    assert_ok(qml_ansatz_family_append(copy, QML_ANSATZ_TFIM_GLOBAL, 1));
    assert_int_equal(qml_circuit_n_gates(copy), 6);
    assert_int_equal(qml_circuit_n_gates(c), 4);
    assert_int_equal(qml_circuit_n_weights(c), 4);
    qml_circuit_free(c);
    assert_weight_generator(copy, 1, 3, (term_spec[]){{1.0, "XII"}, {1.0, "IXI"}, {1.0, "IIX"}, {0, NULL}});
    assert_weight_generator(copy, 3, 3, (term_spec[]){{2.0, "IXI"}, {0, NULL}});
    double constant, scale;
    int64_t feature;
    assert_ok(qml_circuit_gate_angle(copy, 3, &constant, NULL, NULL, &feature, &scale));
    assert_true(constant == 0.1 && feature == 1 && scale == 0.5);
    /* Copying an empty circuit. */
    qml_circuit *empty = NULL, *empty_copy = NULL;
    assert_ok(qml_circuit_create(&empty, 2));
    assert_ok(qml_circuit_copy(&empty_copy, empty));
    assert_int_equal(qml_circuit_n_gates(empty_copy), 0);
    assert_ok(qml_ansatz_hardware_efficient(empty_copy, 1, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    qml_circuit_free(empty);
    qml_circuit_free(empty_copy);
    qml_circuit_free(copy);
}

/* ---- generators transported through fixed Clifford gates ----------------- */

/* Textbook matrices of the fixed gates (local index b_q0 + 2 b_q1). */
static unsigned fixed_textbook(qml_gate_kind kind, double *m)
{
    const double r = 1 / sqrt(2.0);
    memset(m, 0, 32 * sizeof *m);
    size_t d = kind >= QML_GATE_CNOT ? 4 : 2;
#define F(row, col, re, im) (m[2 * ((row) * d + (col))] = (re), m[2 * ((row) * d + (col)) + 1] = (im))
    switch (kind) {
    case QML_GATE_X: F(0, 1, 1, 0), F(1, 0, 1, 0); break;
    case QML_GATE_Y: F(0, 1, 0, -1), F(1, 0, 0, 1); break;
    case QML_GATE_Z: F(0, 0, 1, 0), F(1, 1, -1, 0); break;
    case QML_GATE_H: F(0, 0, r, 0), F(0, 1, r, 0), F(1, 0, r, 0), F(1, 1, -r, 0); break;
    case QML_GATE_S: F(0, 0, 1, 0), F(1, 1, 0, 1); break;
    case QML_GATE_SDG: F(0, 0, 1, 0), F(1, 1, 0, -1); break;
    case QML_GATE_SX: F(0, 0, .5, .5), F(0, 1, .5, -.5), F(1, 0, .5, -.5), F(1, 1, .5, .5); break;
    case QML_GATE_CNOT: F(0, 0, 1, 0), F(2, 2, 1, 0), F(1, 3, 1, 0), F(3, 1, 1, 0); break;
    case QML_GATE_CY: F(0, 0, 1, 0), F(2, 2, 1, 0), F(3, 1, 0, 1), F(1, 3, 0, -1); break;
    case QML_GATE_CZ: F(0, 0, 1, 0), F(1, 1, 1, 0), F(2, 2, 1, 0), F(3, 3, -1, 0); break;
    case QML_GATE_SWAP: F(0, 0, 1, 0), F(1, 2, 1, 0), F(2, 1, 1, 0), F(3, 3, 1, 0); break;
    case QML_GATE_ISWAP: F(0, 0, 1, 0), F(1, 2, 0, 1), F(2, 1, 0, 1), F(3, 3, 1, 0); break;
    default: fail_msg("no textbook matrix for fixed kind %d", (int)kind);
    }
#undef F
    return d == 4 ? 2 : 1;
}

static void dagger(size_t d, const double *a, double *out)
{
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            out[2 * (j * d + i)] = a[2 * (i * d + j)];
            out[2 * (j * d + i) + 1] = -a[2 * (i * d + j) + 1];
        }
}

/* Random circuits of Clifford fixed gates, rotations reading weights and
 * rotations reading none (constant angles, input features held at 0): (1)
 * each transported generator is V^dagger G V with V the dense product of the
 * gates before it that read no weight; (2) the whole circuit equals
 * V_end prod_k exp(-i theta_k/2 G'_k). */
static void test_transported_generators(void **state)
{
    (void)state;
    enum { N = 3, D = 8, GATES = 40 };
    static const qml_gate_kind fixed[] = {QML_GATE_X, QML_GATE_Y, QML_GATE_Z, QML_GATE_H, QML_GATE_S,
                                          QML_GATE_SDG, QML_GATE_SX, QML_GATE_CNOT, QML_GATE_CY, QML_GATE_CZ,
                                          QML_GATE_SWAP, QML_GATE_ISWAP};
    static const qml_gate_kind rotations[] = {QML_GATE_RX, QML_GATE_RY, QML_GATE_RZ, QML_GATE_RXX,
                                              QML_GATE_RYY, QML_GATE_RZZ, QML_GATE_CRX, QML_GATE_CRY,
                                              QML_GATE_CRZ, QML_GATE_PHASE};
    double *v = calloc(2 * D * D, sizeof *v), *u = calloc(2 * D * D, sizeof *u), *w = calloc(2 * D * D, sizeof *w);
    double *tmp = calloc(2 * D * D, sizeof *tmp), *vd = calloc(2 * D * D, sizeof *vd);
    double *g = calloc(2 * D * D, sizeof *g), *expected = calloc(2 * D * D, sizeof *expected);
    double *actual = calloc(2 * D * D, sizeof *actual), *r = calloc(2 * D * D, sizeof *r);
    double *moved = calloc(2 * D * D, sizeof *moved);
    harness_rng rng = {2026};
    for (int trial = 0; trial < 12; trial++) {
        qml_circuit *c = NULL;
        assert_ok(qml_circuit_create(&c, N));
        double thetas[GATES];
        for (int i = 0; i < GATES; i++) {
            unsigned qubits[2] = {(unsigned)(harness_next(&rng) % N), 0};
            qubits[1] = (qubits[0] + 1 + (unsigned)(harness_next(&rng) % (N - 1))) % N;
            thetas[i] = 2 * PI * harness_uniform(&rng) - PI;
            if (harness_next(&rng) % 2) {
                qml_gate_kind kind = fixed[harness_next(&rng) % (sizeof fixed / sizeof fixed[0])];
                assert_ok(qml_circuit_add_gate(c, kind, qubits, kind >= QML_GATE_CNOT ? 2 : 1));
            } else if (harness_next(&rng) % 4 == 0) {
                /* A rotation that reads no weight: a constant angle (a
                 * multiple of pi/2 half the time, where the image must stay
                 * one string per term) or an input feature with an offset,
                 * moved through at its angle with the features at 0. */
                qml_gate_kind kind = rotations[harness_next(&rng) % (sizeof rotations / sizeof rotations[0])];
                size_t count = kind == QML_GATE_RX || kind == QML_GATE_RY || kind == QML_GATE_RZ ||
                                       kind == QML_GATE_PHASE
                                   ? 1
                                   : 2;
                double constant = harness_next(&rng) % 2 ? PI / 2 * (double)(harness_next(&rng) % 7) - 1.5 * PI
                                                         : thetas[i];
                int64_t feature = harness_next(&rng) % 3 == 0 ? (int64_t)(harness_next(&rng) % 2) : QML_NONE;
                assert_ok(qml_circuit_add_rotation(c, kind, qubits, count, constant, QML_NONE, 0, feature, 0.5));
            } else if (harness_next(&rng) % 5 == 0) {
                qml_pauli_sum *h = make_sum(N, (term_spec[]){{0.5, "XXI"}, {-1.5, "ZZY"}, {0, NULL}});
                assert_ok(qml_circuit_add_pauli_rotation(c, h, 0, i, 1, QML_NONE, 0));
                qml_pauli_sum_free(h);
            } else {
                qml_gate_kind kind = rotations[harness_next(&rng) % (sizeof rotations / sizeof rotations[0])];
                size_t count = kind == QML_GATE_RX || kind == QML_GATE_RY || kind == QML_GATE_RZ ||
                                       kind == QML_GATE_PHASE
                                   ? 1
                                   : 2;
                assert_ok(qml_circuit_add_rotation(c, kind, qubits, count, 0, i, 1, QML_NONE, 0));
            }
        }
        /* v: product of the fixed gates so far; u: the whole circuit so far;
         * w: prod_k exp(-i theta_k/2 G'_k) so far. */
        memset(v, 0, 2 * D * D * sizeof *v);
        memset(u, 0, 2 * D * D * sizeof *u);
        memset(w, 0, 2 * D * D * sizeof *w);
        for (size_t i = 0; i < D; i++)
            v[2 * (i * D + i)] = u[2 * (i * D + i)] = w[2 * (i * D + i)] = 1;
        for (size_t k = 0; k < qml_circuit_n_gates(c); k++) {
            qml_gate_kind kind;
            unsigned qubits[3];
            assert_ok(qml_circuit_gate(c, k, &kind, qubits, NULL));
            double constant = 0;
            int64_t weight = QML_NONE;
            if (qml__gate_is_parametrised(kind))
                assert_ok(qml_circuit_gate_angle(c, k, &constant, &weight, NULL, NULL, NULL));
            if (!qml__gate_is_parametrised(kind) || weight == QML_NONE) {
                if (qml__gate_is_parametrised(kind)) {
                    gate_matrix_from_generator(c, k, constant, g);
                } else {
                    double local[32];
                    unsigned count = fixed_textbook(kind, local);
                    embed(N, count, local, qubits, g);
                }
                harness_matmul(D, g, v, tmp);
                memcpy(v, tmp, sizeof tmp[0] * 2 * D * D);
                harness_matmul(D, g, u, tmp);
                memcpy(u, tmp, sizeof tmp[0] * 2 * D * D);
                continue;
            }
            /* (1) G' = V^dagger G V. */
            qml_pauli_sum *gk = NULL, *transported = NULL;
            assert_ok(qml_circuit_gate_generator(c, k, &gk));
            assert_ok(qml_pauli_sum_to_dense(gk, g, 2 * D * D));
            dagger(D, v, vd);
            harness_matmul(D, g, v, tmp);
            harness_matmul(D, vd, tmp, expected);
            assert_ok(qml__circuit_transported_generator(c, k, &transported));
            assert_ok(qml_pauli_sum_to_dense(transported, moved, 2 * D * D));
            /* Entries are sums of products of +-1, +-i and 1/sqrt(2)s in the
             * dense reference: rounding only. */
            assert_matrices_close(D, moved, expected, 1e-12, "transported generator");
            qml_pauli_sum_free(gk);
            qml_pauli_sum_free(transported);
            /* (2) u <- R_k u with R_k from the gate's own generator;
             * w <- exp(-i theta/2 G') w. */
            gate_matrix_from_generator(c, k, thetas[k], r);
            harness_matmul(D, r, u, tmp);
            memcpy(u, tmp, sizeof tmp[0] * 2 * D * D);
            for (size_t i = 0; i < D * D; i++) {
                double re = moved[2 * i], im = moved[2 * i + 1];
                moved[2 * i] = thetas[k] / 2 * im;
                moved[2 * i + 1] = -thetas[k] / 2 * re;
            }
            matrix_exponential(D, moved, r);
            harness_matmul(D, r, w, tmp);
            memcpy(w, tmp, sizeof tmp[0] * 2 * D * D);
        }
        harness_matmul(D, v, w, actual);
        assert_matrices_close(D, actual, u, 1e-11, "U = V_end prod exp(-i theta/2 G')");
        qml_circuit_free(c);
    }
    free(v), free(u), free(w), free(tmp), free(vd), free(g), free(expected), free(actual), free(r), free(moved);
}

/* The Lie algebra of a circuit sees its constant rotations: RX(w0) RY(pi/2)
 * RX(w1) generates {X, Z} (su(2), dim 3), not {X} (dim 1); an input feature
 * is held at 0, so RX(w0) RZ(x) RX(w1) generates {X} only. And a 100-qubit
 * circuit (past one mask word) gives the free-fermion prediction
 * Var[<Z0 Z1>] = (n - 1) / (n (2n - 1)) on |0...0>: P_g(rho) = (n - 1) / 2^n
 * (the n - 1 neighbouring Z Z strings have expectation 1), P_g(O) = 2^n,
 * dim so(2n) = n (2n - 1) (Ragone et al., Nat. Commun. 15, 7172 (2024)). */
static void test_lie_of_circuits(void **state)
{
    (void)state;
    const unsigned q0 = 0;
    for (int feature = 0; feature < 2; feature++) {
        qml_circuit *c = NULL;
        assert_ok(qml_circuit_create(&c, 1));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q0, 1, 0, 0, 1, QML_NONE, 0));
        if (feature)
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZ, &q0, 1, 0, QML_NONE, 0, 0, 1));
        else
            assert_ok(qml_circuit_add_rotation(c, QML_GATE_RY, &q0, 1, PI / 2, QML_NONE, 0, QML_NONE, 0));
        assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q0, 1, 0, 1, 1, QML_NONE, 0));
        qml_lie_algebra *a = NULL;
        assert_ok(qml_lie_algebra_from_circuit(&a, c, NULL));
        assert_int_equal(qml_lie_algebra_dim(a), feature ? 1 : 3);
        qml_lie_algebra_free(a);
        qml_circuit_free(c);
    }
    enum { N = 100 };
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, N));
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_TFIM, 1));
    qml_lie_algebra *a = NULL;
    assert_ok(qml_lie_algebra_from_circuit(&a, c, NULL));
    assert_int_equal(qml_lie_algebra_dim(a), N * (2 * N - 1));
    qml_pauli_sum *zz = NULL;
    assert_ok(qml_pauli_sum_parse(&zz, N, "Z0 Z1"));
    qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
    assert_ok(qml_lie_algebra_predict_variance(a, NULL, zz, NULL, &p));
    double expected = (N - 1.0) / (N * (2.0 * N - 1.0));
    /* Two purities and a division: relative rounding of a few ulps. */
    assert_true(fabs(p.loss_variance - expected) <= 1e-12 * expected);
    qml_pauli_sum_free(zz);
    qml_lie_algebra_free(a);
    qml_circuit_free(c);
}

/* A random circuit of fixed Clifford gates, constant rotations and rotations
 * reading weights drawn from a small pool (so weights are shared and some
 * are read by no gate). */
static qml_circuit *random_shared_weight_circuit(harness_rng *rng, unsigned n, int gates, size_t n_weights)
{
    static const qml_gate_kind fixed[] = {QML_GATE_H, QML_GATE_S, QML_GATE_SX, QML_GATE_CNOT, QML_GATE_CZ,
                                          QML_GATE_SWAP, QML_GATE_I};
    static const qml_gate_kind rotations[] = {QML_GATE_RX, QML_GATE_RY, QML_GATE_RZ, QML_GATE_RXX, QML_GATE_RZZ,
                                              QML_GATE_CRY};
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, n));
    for (int i = 0; i < gates; i++) {
        unsigned qubits[2] = {(unsigned)(harness_next(rng) % n), 0};
        qubits[1] = (qubits[0] + 1 + (unsigned)(harness_next(rng) % (n - 1))) % n;
        uint64_t pick = harness_next(rng) % 6;
        if (pick < 2) {
            qml_gate_kind kind = fixed[harness_next(rng) % (sizeof fixed / sizeof fixed[0])];
            assert_ok(qml_circuit_add_gate(c, kind, qubits, kind >= QML_GATE_CNOT ? 2 : 1));
            continue;
        }
        qml_gate_kind kind = rotations[harness_next(rng) % (sizeof rotations / sizeof rotations[0])];
        size_t count = kind == QML_GATE_RX || kind == QML_GATE_RY || kind == QML_GATE_RZ ? 1 : 2;
        if (pick == 2) /* a constant, 0 (which moves nothing) one time in three */
            assert_ok(qml_circuit_add_rotation(c, kind, qubits, count,
                                               harness_next(rng) % 3 ? 2 * PI * harness_uniform(rng) : 0.0,
                                               QML_NONE, 0, QML_NONE, 0));
        else
            assert_ok(qml_circuit_add_rotation(c, kind, qubits, count, 0,
                                               (int64_t)(harness_next(rng) % n_weights), 0.5 + harness_uniform(rng),
                                               QML_NONE, 0));
    }
    return c;
}

/* All weights' generators in one pass equal the per-weight function's (itself
 * checked against dense matrices above) term by term, bit for bit: the same
 * gates in the same order, the walk only skipping gates that move nothing. */
static void test_transported_all_weights(void **state)
{
    (void)state;
    harness_rng rng = {1206};
    for (int trial = 0; trial < 40; trial++) {
        unsigned n = 2 + (unsigned)(trial % 5);
        qml_circuit *c = random_shared_weight_circuit(&rng, n, 10 + trial, 6);
        size_t n_weights = qml_circuit_n_weights(c);
        qml_pauli_sum **all = calloc(n_weights + 1, sizeof *all);
        assert_non_null(all);
        assert_ok(qml__circuit_transported_weight_generators(c, all));
        for (size_t w = 0; w < n_weights; w++) {
            qml_pauli_sum *one = NULL;
            assert_ok(qml__circuit_transported_weight_generator(c, (long)w, &one));
            assert_int_equal(qml_pauli_sum_n_terms(one), qml_pauli_sum_n_terms(all[w]));
            char a[8], b[8];
            for (size_t t = 0; t < qml_pauli_sum_n_terms(one); t++) {
                double ca, cb;
                assert_ok(qml_pauli_sum_term(one, t, &ca, a));
                assert_ok(qml_pauli_sum_term(all[w], t, &cb, b));
                assert_string_equal(a, b);
                assert_memory_equal(&ca, &cb, sizeof ca);
            }
            qml_pauli_sum_free(one);
            qml_pauli_sum_free(all[w]);
        }
        free(all);
        qml_circuit_free(c);
    }
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 2));
    qml_pauli_sum *none = NULL;
    assert_status(qml__circuit_transported_weight_generators(NULL, &none), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml__circuit_transported_weight_generators(c, NULL), QML_ERR_INVALID_ARGUMENT);
    qml_circuit_free(c);
}

typedef struct all_weights_context {
    qml_circuit *circuit;
} all_weights_context;

static int sequence_all_weights(void *context)
{
    all_weights_context *ctx = context;
    size_t n_weights = qml_circuit_n_weights(ctx->circuit);
    qml_pauli_sum *out[8] = {0};
    assert_true(n_weights <= 8);
    int status = qml__circuit_transported_weight_generators(ctx->circuit, out);
    for (size_t w = 0; w < n_weights; w++) {
        if (status)
            assert_null(out[w]);
        qml_pauli_sum_free(out[w]);
    }
    return status;
}

static void test_transported_all_weights_allocation(void **state)
{
    (void)state;
    harness_rng rng = {77};
    all_weights_context ctx = {random_shared_weight_circuit(&rng, 4, 30, 6)};
    assert_true(harness_check_allocation_failures(sequence_all_weights, &ctx) > 10);
    qml_circuit_free(ctx.circuit);
}

static void test_transported_hea_and_refusals(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    assert_ok(qml_circuit_create(&c, 3));
    assert_ok(qml_ansatz_hardware_efficient(c, 2, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    qml_pauli_sum *g = NULL;
    /* Layer 0 sees no CZ: raw generators. */
    assert_ok(qml__circuit_transported_weight_generator(c, 0, &g));
    assert_sum_equals(g, 3, (term_spec[]){{1.0, "YII"}, {0, NULL}});
    qml_pauli_sum_free(g);
    /* Layer 1, RY on qubit 0 after CZ(0,1) CZ(1,2): CZ Y0 CZ = Y0 Z1. */
    assert_ok(qml__circuit_transported_weight_generator(c, 6, &g));
    assert_sum_equals(g, 3, (term_spec[]){{1.0, "YZI"}, {0, NULL}});
    qml_pauli_sum_free(g);
    /* RY on qubit 1: Y1 Z0 Z2; RZ commutes with CZ. */
    assert_ok(qml__circuit_transported_weight_generator(c, 7, &g));
    assert_sum_equals(g, 3, (term_spec[]){{1.0, "ZYZ"}, {0, NULL}});
    qml_pauli_sum_free(g);
    assert_ok(qml__circuit_transported_weight_generator(c, 10, &g));
    assert_sum_equals(g, 3, (term_spec[]){{1.0, "IZI"}, {0, NULL}});
    qml_pauli_sum_free(g);

    /* A non-Clifford gate in front refuses; behind it is harmless. */
    const unsigned q0 = 0, q1 = 1;
    assert_ok(qml_circuit_add_gate(c, QML_GATE_T, &q1, 1));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RX, &q0, 1, 0, 12, 1, QML_NONE, 0));
    assert_ok(qml__circuit_transported_weight_generator(c, 11, &g));
    qml_pauli_sum_free(g);
    g = NULL;
    assert_fails(qml__circuit_transported_weight_generator(c, 12, &g), QML_ERR_NOT_APPLICABLE,
                 "qml__circuit_transported_generator", "gate 16 (T)");
    assert_null(g);
    qml_circuit_free(c);
    /* Clifford matrices are accepted, others refused. */
    assert_ok(qml_circuit_create(&c, 1));
    const double r = 1 / sqrt(2.0), hadamard[8] = {r, 0, r, 0, r, 0, -r, 0};
    double ry[8];
    rotation_2x2('Y', 0.3, ry);
    assert_ok(qml_circuit_add_unitary(c, hadamard, &q0, 1));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZ, &q0, 1, 0, 0, 1, QML_NONE, 0));
    assert_ok(qml__circuit_transported_generator(c, 1, &g));
    assert_sum_equals(g, 1, (term_spec[]){{1.0, "X"}, {0, NULL}});
    qml_pauli_sum_free(g);
    assert_ok(qml_circuit_add_unitary(c, ry, &q0, 1));
    assert_ok(qml_circuit_add_rotation(c, QML_GATE_RZ, &q0, 1, 0, 1, 1, QML_NONE, 0));
    assert_fails(qml__circuit_transported_generator(c, 3, &g), QML_ERR_NOT_APPLICABLE,
                 "qml__circuit_transported_generator", "UNITARY1");
    assert_fails(qml__circuit_transported_generator(c, 2, &g), QML_ERR_INVALID_ARGUMENT,
                 "qml__circuit_transported_generator", "not parametrised");
    assert_fails(qml__circuit_transported_generator(c, 4, &g), QML_ERR_OUT_OF_RANGE,
                 "qml__circuit_transported_generator", "gate 4");
    assert_fails(qml__circuit_transported_weight_generator(c, 2, &g), QML_ERR_OUT_OF_RANGE,
                 "qml__circuit_transported_weight_generator", "weight 2");
    assert_fails(qml__circuit_transported_weight_generator(c, -1, &g), QML_ERR_INVALID_ARGUMENT,
                 "qml__circuit_transported_weight_generator", "-1");
    qml_circuit_free(c);
}

/* ---- allocation failures --------------------------------------------------- */

#define TRY(expr)                                                               \
    do {                                                                       \
        status = (expr);                                                       \
        if (status)                                                            \
            goto done;                                                         \
    } while (0)

/* Run a template; if it fails, the counts must be those before the call
 * (QML_ERR_LIMIT flags a broken rollback to the harness). */
#define TRY_TEMPLATE(expr)                                                      \
    do {                                                                       \
        size_t gates_ = c->n_gates, weights_ = c->n_weights, param_ = c->n_parametrised;     \
        status = (expr);                                  \
        if (status) {                                                          \
            if (c->n_gates != gates_ || c->n_weights != weights_ || c->n_parametrised != param_) \
                status = QML_ERR_LIMIT;                                        \
            goto done;                                                         \
        }                                                                      \
    } while (0)

static int sequence_build(void *context)
{
    (void)context;
    qml_circuit *c = NULL, *copy = NULL;
    qml_pauli_sum *h = NULL, *g = NULL, *zz = NULL;
    int status = QML_OK;
    const unsigned q[3] = {0, 1, 2};
    const double r = 1 / sqrt(2.0), hadamard[8] = {r, 0, r, 0, r, 0, -r, 0};
    TRY(qml_circuit_create(&c, 3));
    TRY(qml_circuit_add_gate(c, QML_GATE_TOFFOLI, q, 3));
    TRY(qml_circuit_add_unitary(c, hadamard, q, 1));
    TRY(qml_circuit_add_rotation(c, QML_GATE_CRX, q, 2, 0.1, 0, 1.0, 0, 1.0));
    TRY(qml_pauli_sum_create(&h, 3));
    TRY(qml_pauli_sum_add_string(h, 1.0, "XXI"));
    TRY(qml_pauli_sum_add_string(h, 1.0, "YYI"));
    TRY(qml_pauli_sum_create(&zz, 3));
    TRY(qml_pauli_sum_add_string(zz, 1.0, "ZIZ"));
    TRY(qml_circuit_add_pauli_rotation(c, h, 0.0, 1, 1.0, QML_NONE, 0.0));
    TRY_TEMPLATE(qml_ansatz_hardware_efficient(c, 3, QML_ENTANGLER_CNOT, QML_BOUNDARY_PERIODIC));
    const qml_pauli_sum *generators[2] = {h, zz};
    TRY_TEMPLATE(qml_ansatz_layered(c, generators, 2, NULL, 2, 0));
    for (int family = QML_ANSATZ_HEA; family <= QML_ANSATZ_HEISENBERG; family++)
        TRY_TEMPLATE(qml_ansatz_family_append(c, (qml_ansatz_family)family, 2));
    TRY_TEMPLATE(qml_ansatz_angle_encoding(c, QML_GATE_RX, 3, 1.0));
    TRY(qml_circuit_copy(&copy, c));
    TRY(qml_circuit_gate_generator(copy, 2, &g));
    qml_pauli_sum_free(g);
    g = NULL;
    TRY(qml_circuit_gate_generator(copy, 3, &g));
    qml_pauli_sum_free(g);
    g = NULL;
    TRY(qml_circuit_weight_generator(copy, 0, &g));
    qml_pauli_sum_free(g);
    g = NULL;
    TRY(qml_circuit_weight_generator(copy, 1, &g));
    qml_pauli_sum_free(g);
    g = NULL;
    qml_pauli_sum_free(g);
    g = NULL;
    /* Transport needs Clifford gates in front: a fresh HEA without the Toffoli. */
    qml_circuit_free(c);
    c = NULL;
    TRY(qml_circuit_create(&c, 3));
    TRY(qml_ansatz_hardware_efficient(c, 2, QML_ENTANGLER_CNOT, QML_BOUNDARY_PERIODIC));
    TRY(qml__circuit_transported_weight_generator(c, 7, &g));
done:
    qml_pauli_sum_free(g);
    qml_pauli_sum_free(h);
    qml_pauli_sum_free(zz);
    qml_circuit_free(copy);
    qml_circuit_free(c);
    return status;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    int runs = harness_check_allocation_failures(sequence_build, NULL);
    /* The sequence allocates: it must have failed somewhere more than a few times. */
    assert_true(runs > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_queries),
        cmocka_unit_test(test_unitary),
        cmocka_unit_test(test_create_validation),
        cmocka_unit_test(test_add_gate_validation),
        cmocka_unit_test(test_add_rotation_validation),
        cmocka_unit_test(test_query_validation),
        cmocka_unit_test(test_check_inputs),
        cmocka_unit_test(test_pauli_rotation),
        cmocka_unit_test(test_generator_convention),
        cmocka_unit_test(test_pauli_generator_convention),
        cmocka_unit_test(test_weight_generator),
        cmocka_unit_test(test_hardware_efficient),
        cmocka_unit_test(test_layered),
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_angle_encoding),
        cmocka_unit_test(test_copy_independence),
        cmocka_unit_test(test_transported_generators),
        cmocka_unit_test(test_transported_hea_and_refusals),
        cmocka_unit_test(test_transported_all_weights),
        cmocka_unit_test(test_transported_all_weights_allocation),
        cmocka_unit_test(test_lie_of_circuits),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

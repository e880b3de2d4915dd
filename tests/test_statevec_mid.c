/* test_statevec_mid.c: the variants of the pair kernels' mid-qubit walk
 * (a target on qubits 5..10, alone or under controls at 12 and above),
 * chosen by the internal switch qml__pair_mid_override that `qml bench
 * gate --ab pair_mid=...` compares: every variant against dense matrices
 * and a naive reference, and bit for bit the same as the default walk on
 * 1, 2 and 3 threads. */
#include "statevec_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The switch's values: -1 (the default) and the variants 0..6. */
#define MODE_FIRST (-1)
#define MODE_LAST 6

/* Every one-qubit kind on qubits 5..n-1 at n = 9, 10 under every variant:
 * against the dense matrix (1e-13: one gate, a few roundings per
 * amplitude of a state of norm 1), and the variants bitwise equal to the
 * default (they change only the prefetches and the loop, not the
 * arithmetic). */
static void test_mid_walks_dense(void **unused)
{
    (void)unused;
    harness_rng rng = {2408};
    char what[96];
    size_t cases = 0;
    for (unsigned n = 9; n <= 10; n++) {
        const size_t dim = (size_t)1 << n;
        double *psi = malloc(2 * dim * sizeof *psi), *expect = malloc(2 * dim * sizeof *expect);
        double *first = malloc(2 * dim * sizeof *first), *full = malloc(2 * dim * dim * sizeof *full);
        assert_non_null(psi);
        assert_non_null(expect);
        assert_non_null(first);
        assert_non_null(full);
        for (size_t kk = 0; kk < N_KINDS; kk++) {
            const qml_gate_kind kind = ALL_KINDS[kk];
            if (arity(kind) != 1)
                continue;
            for (unsigned t = 5; t < n; t++) {
                qml__gate g = make_gate(kind, &t, 1, &rng);
                const double theta = 4 * (harness_uniform(&rng) - 0.5) * 3.14159;
                random_state(&rng, dim, psi);
                gate_dense(n, &g, theta, full);
                harness_matvec(dim, full, psi, expect);
                for (int mode = MODE_FIRST; mode <= MODE_LAST; mode++) {
                    qml_statevec *s = state_from(n, psi);
                    qml__pair_mid_override = mode;
                    qml__statevec_apply(s, &g, theta, false);
                    qml__pair_mid_override = -1;
                    snprintf(what, sizeof what, "kind %d on qubit %u of %u, variant %d", (int)kind, t, n, mode);
                    assert_vectors_close(dim, qml_statevec_data(s), expect, 1e-13, what);
                    if (mode == MODE_FIRST)
                        memcpy(first, qml_statevec_data(s), 2 * dim * sizeof *first);
                    else
                        assert_memory_equal(first, qml_statevec_data(s), 2 * dim * sizeof *first);
                    qml_statevec_free(s);
                }
                cases++;
            }
        }
        free(psi);
        free(expect);
        free(first);
        free(full);
    }
    /* 15 one-qubit kinds on qubits 5..8 and 5..9 */
    assert_int_equal(cases, 15 * (4 + 5));
}

/* The long-stream case: controlled gates with their target on 5..10 and
 * controls at 12 and 13 (n = 14) walk the mid-qubit stretches; every
 * variant against the naive reference (TOL) and bitwise the default. */
static void test_mid_walks_controlled(void **unused)
{
    (void)unused;
    harness_rng rng = {2409};
    const unsigned n = 14;
    const size_t dim = (size_t)1 << n;
    double *psi = malloc(2 * dim * sizeof *psi), *expect = malloc(2 * dim * sizeof *expect);
    double *first = malloc(2 * dim * sizeof *first);
    assert_non_null(psi);
    assert_non_null(expect);
    assert_non_null(first);
    static const qml_gate_kind kinds[] = {QML_GATE_CNOT, QML_GATE_CY, QML_GATE_CRX, QML_GATE_CRY, QML_GATE_TOFFOLI};
    char what[96];
    size_t cases = 0;
    for (size_t kk = 0; kk < sizeof kinds / sizeof kinds[0]; kk++)
        for (unsigned t = 5; t <= 10; t++)
            for (unsigned c = 12; c <= 13; c++) {
                const unsigned q[3] = {kinds[kk] == QML_GATE_TOFFOLI ? 12u : c, kinds[kk] == QML_GATE_TOFFOLI ? 13u : t,
                                       t};
                if (kinds[kk] == QML_GATE_TOFFOLI && c == 13)
                    continue;
                qml__gate g = make_gate(kinds[kk], q, arity(kinds[kk]), &rng);
                const double theta = 4 * (harness_uniform(&rng) - 0.5) * 3.14159;
                random_state(&rng, dim, psi);
                apply_local_naive(n, &g, theta, psi, expect);
                for (int mode = MODE_FIRST; mode <= MODE_LAST; mode++) {
                    qml_statevec *s = state_from(n, psi);
                    qml__pair_mid_override = mode;
                    qml__statevec_apply(s, &g, theta, false);
                    qml__pair_mid_override = -1;
                    snprintf(what, sizeof what, "kind %d target %u control %u, variant %d", (int)kinds[kk], t, c,
                             mode);
                    assert_vectors_close(dim, qml_statevec_data(s), expect, TOL, what);
                    if (mode == MODE_FIRST)
                        memcpy(first, qml_statevec_data(s), 2 * dim * sizeof *first);
                    else
                        assert_memory_equal(first, qml_statevec_data(s), 2 * dim * sizeof *first);
                    qml_statevec_free(s);
                }
                cases++;
            }
    /* 4 kinds x 6 targets x 2 controls, Toffoli x 6 targets */
    assert_int_equal(cases, 4 * 6 * 2 + 6);
    free(psi);
    free(expect);
    free(first);
}

/* n = 18 (threads start there): a sequence of mid-qubit gates gives the
 * same bits under every variant on 1, 2 and 3 threads. */
static void test_mid_walks_threads(void **unused)
{
    (void)unused;
    harness_rng rng = {2410};
    const unsigned n = 18;
    const size_t dim = (size_t)1 << n;
    double *psi = malloc(2 * dim * sizeof *psi), *first = malloc(2 * dim * sizeof *first);
    assert_non_null(psi);
    assert_non_null(first);
    random_state(&rng, dim, psi);
    const unsigned q7[1] = {7}, q9[1] = {9}, q10[1] = {10}, c8[2] = {17, 8}, c6[2] = {12, 6};
    const qml__gate gates[] = {make_gate(QML_GATE_X, q7, 1, &rng),    make_gate(QML_GATE_RY, q9, 1, &rng),
                               make_gate(QML_GATE_H, q10, 1, &rng),   make_gate(QML_GATE_CRY, c8, 2, &rng),
                               make_gate(QML_GATE_CNOT, c6, 2, &rng), make_gate(QML_GATE_RX, q7, 1, &rng)};
    for (int mode = MODE_FIRST; mode <= MODE_LAST; mode++)
        for (unsigned threads = 1; threads <= 3; threads++) {
            qml_statevec *s = state_from(n, psi);
            assert_int_equal(qml_statevec_set_threads(s, threads), QML_OK);
            qml__pair_mid_override = mode;
            for (size_t k = 0; k < sizeof gates / sizeof gates[0]; k++)
                qml__statevec_apply(s, &gates[k], 0.3 + (double)k, false);
            qml__pair_mid_override = -1;
            if (mode == MODE_FIRST && threads == 1)
                memcpy(first, qml_statevec_data(s), 2 * dim * sizeof *first);
            else
                assert_memory_equal(first, qml_statevec_data(s), 2 * dim * sizeof *first);
            qml_statevec_free(s);
        }
    free(psi);
    free(first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mid_walks_dense),
        cmocka_unit_test(test_mid_walks_controlled),
        cmocka_unit_test(test_mid_walks_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

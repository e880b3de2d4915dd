/* test_statevec_pairs.c: the statevector's two-qubit kernels (the pair
 * kernels' walks, the diagonal kernels, the weight-2 Pauli rotations) on
 * every ordered pair of qubits, against dense matrices and naive
 * references built here; their forced paths and walks give the same bits,
 * and so do 1, 2 and 3 threads. */
#include "statevec_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every two-qubit kind on every ordered pair, and Toffoli on every ordered
 * triple that touches qubits 0..2, on 9 qubits against apply_local_naive:
 * gates whose lowest qubit is 0, 1 or 2 take the octet walk (the pattern
 * of pairs inside 8 amplitudes, runs of octets split by the qubits at 3
 * and above), the others the run walk; diagonal gates on qubits 0, 1 the
 * line walk, RXX/RYY on qubits 0..3 the 16-amplitude block walk; the
 * dense-matrix test above covers n <= 6. Then a low-pair workload on 18 qubits (threads start there) for
 * 1, 2 and 3 threads, compared with memcmp. Tolerance TOL: one gate, a
 * handful of roundings per amplitude. */
static void test_every_pair_low_qubits(void **unused)
{
    (void)unused;
    harness_rng rng = {1515};
    const unsigned n = 9;
    const size_t dim = (size_t)1 << n;
    double *psi = malloc(2 * dim * sizeof *psi), *expect = malloc(2 * dim * sizeof *expect);
    char what[96];
    size_t cases = 0;
    for (size_t kk = 0; kk < N_KINDS; kk++) {
        const qml_gate_kind kind = ALL_KINDS[kk];
        const unsigned k = arity(kind);
        if (k < 2)
            continue;
        for (unsigned a = 0; a < n; a++)
            for (unsigned b = 0; b < n; b++)
                for (unsigned c = 0; c < (k == 3 ? n : 1); c++) {
                    unsigned q[3] = {a, b, c};
                    if (a == b || (k == 3 && (c == a || c == b || (a > 2 && b > 2 && c > 2))))
                        continue;
                    random_state(&rng, dim, psi);
                    qml_statevec *s = state_from(n, psi);
                    qml__gate g = make_gate(kind, q, k, &rng);
                    double theta = 0.37 + 0.11 * (double)(a + 3 * b);
                    qml__statevec_apply(s, &g, theta, false);
                    apply_local_naive(n, &g, theta, psi, expect);
                    snprintf(what, sizeof what, "kind %d on qubits %u, %u, %u of 9", (int)kind, a, b, k == 3 ? c : 0);
                    assert_vectors_close(dim, qml_statevec_data(s), expect, TOL, what);
                    qml_statevec_free(s);
                    cases++;
                }
    }
    /* 12 two-qubit kinds x 72 pairs; Toffoli: 504 triples less the 6 * 5 * 4 above qubit 2 */
    assert_int_equal(cases, 12 * 72 + 504 - 120);
    free(psi);
    free(expect);

    const unsigned big = 18;
    const size_t big_dim = (size_t)1 << big;
    double *start = malloc(2 * big_dim * sizeof *start), *first = malloc(2 * big_dim * sizeof *first);
    random_state(&rng, big_dim, start);
    static const qml_gate_kind kinds[] = {QML_GATE_CNOT, QML_GATE_SWAP, QML_GATE_CRY, QML_GATE_CRX, QML_GATE_CY,
                                          QML_GATE_ISWAP, QML_GATE_CZ, QML_GATE_RZZ, QML_GATE_RXX, QML_GATE_RYY};
    const unsigned pairs[][2] = {{0, 1}, {1, 0}, {1, 2}, {2, 1}, {0, 2}, {2, 17}, {17, 0}, {0, 6}, {5, 1}, {2, 9}};
    for (unsigned threads = 1; threads <= 3; threads++) {
        qml_statevec *t = state_from(big, start);
        assert_ok(qml_statevec_set_threads(t, threads));
        harness_rng gate_rng = {99};
        for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++)
            for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
                qml__gate g = make_gate(kinds[k], pairs[p], 2, &gate_rng);
                qml__statevec_apply(t, &g, 0.3 + 0.1 * (double)p, false);
            }
        qml__gate tof = make_gate(QML_GATE_TOFFOLI, (unsigned[]){0, 2, 1}, 3, &gate_rng);
        qml__statevec_apply(t, &tof, 0.0, false);
        if (threads == 1)
            memcpy(first, qml_statevec_data(t), 2 * big_dim * sizeof *first);
        else
            assert_memory_equal(first, qml_statevec_data(t), 2 * big_dim * sizeof *first);
        qml_statevec_free(t);
    }
    free(start);
    free(first);
}

/* out = a 4 x 4 matrix m4 (local bit 0 on qubit a, bit 1 on b) applied to
 * every quadruple of amplitudes of `in` (the reference of the pair tests). */
static void apply_quad_reference(unsigned n, unsigned a, unsigned b, const double *m4, const double *in, double *out)
{
    const size_t dim = (size_t)1 << n;
    for (size_t i = 0; i < dim; i++) {
        if (i >> a & 1 || i >> b & 1)
            continue;
        size_t idx[4];
        for (unsigned j = 0; j < 4; j++)
            idx[j] = i | (size_t)(j & 1) << a | (size_t)(j >> 1) << b;
        for (unsigned j = 0; j < 4; j++) {
            double re = 0, im = 0;
            for (unsigned k = 0; k < 4; k++) {
                const double mr = m4[2 * (4 * j + k)], mi = m4[2 * (4 * j + k) + 1];
                re += mr * in[2 * idx[k]] - mi * in[2 * idx[k] + 1];
                im += mr * in[2 * idx[k] + 1] + mi * in[2 * idx[k]];
            }
            out[2 * idx[j]] = re;
            out[2 * idx[j] + 1] = im;
        }
    }
}

/* Apply g to psi with a kernel switch at `value` and check that the result
 * has the bits of `reference` (the walks' alternatives change only how the
 * state is walked). */
static void assert_switch_same_bits(int *kernel_switch, int value, unsigned n, const double *psi,
                                    const qml__gate *g, double theta, const qml_statevec *reference)
{
    qml_statevec *forced = state_from(n, psi);
    *kernel_switch = value;
    qml__statevec_apply(forced, g, theta, false);
    *kernel_switch = -1;
    assert_memory_equal(qml_statevec_data(forced), qml_statevec_data(reference),
                        ((size_t)2 << n) * sizeof *psi);
    qml_statevec_free(forced);
}

/* Every two-qubit kind on pairs whose walks are long plain streams (a fixed
 * bit at 12 or 13 of 14 qubits: the kernels skip their software prefetch
 * there), and on pairs whose walks go as two streams or prefetch the lines
 * they skip, against a reference built here: the gate's 4 x 4 matrix
 * (dense, on qubits 0 and 1 of a 2-qubit register) applied to every
 * quadruple of amplitudes. 1e-13 as above. The walks' alternatives (one
 * stream, touched lines only, the mid-qubit walk's prefetch in address
 * order or per stream) and the pair kernels' scalar and portable vector
 * paths give the same bits. */
static void test_long_stream_pairs(void **unused)
{
    (void)unused;
    const unsigned n = 14;
    const size_t dim = (size_t)1 << n;
    harness_rng rng = {1414};
    double *psi = malloc(2 * dim * sizeof *psi), *expect = malloc(2 * dim * sizeof *expect);
    assert_non_null(psi);
    assert_non_null(expect);
    const unsigned pairs[][2] = {{0, 13}, {13, 0}, {1, 13}, {13, 1}, {2, 13}, {13, 2}, {3, 13}, {13, 3},
                                 {12, 13}, {13, 12}, {0, 12}, {12, 3}, {4, 12}, {11, 13},
                                 /* a target at 5..10 under a control at 12+ (the mid-qubit walk), and
                                  * low controls over such a target (the linear octet prefetch) */
                                 {13, 8}, {12, 5}, {13, 10}, {0, 8}, {1, 10}, {5, 2},
                                 /* octet walks over every line (two streams) and
                                  * controls on 2, 3 (prefetching the lines they skip) */
                                 {0, 1}, {1, 0}, {1, 3}, {2, 0}, {2, 1}, {3, 12}, {3, 9},
                                 /* a control on 3 over a target on 0..2 (blocks of 16 whose
                                  * upper half is touched), CZ 2 3 (one line in four: the
                                  * diagonal walk skips the others) */
                                 {3, 0}, {3, 1}, {3, 2}, {2, 3}};
    size_t cases = 0;
    char what[96];
    for (size_t kk = 0; kk < N_KINDS; kk++) {
        const qml_gate_kind kind = ALL_KINDS[kk];
        if (arity(kind) != 2)
            continue;
        for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
            const unsigned a = pairs[p][0], b = pairs[p][1], local[2] = {0, 1};
            qml__gate g = make_gate(kind, pairs[p], 2, &rng), g2 = g;
            g2.qubits[0] = local[0];
            g2.qubits[1] = local[1];
            const double theta = 4 * (harness_uniform(&rng) - 0.5) * 3.14159;
            double m4[32];
            gate_dense(2, &g2, theta, m4);
            random_state(&rng, dim, psi);
            apply_quad_reference(n, a, b, m4, psi, expect);
            qml_statevec *st = state_from(n, psi), *plain = state_from(n, psi);
            qml__statevec_apply(st, &g, theta, false);
            snprintf(what, sizeof what, "kind %d on qubits %u, %u of %u", (int)kind, a, b, n);
            assert_vectors_close(dim, qml_statevec_data(st), expect, 1e-13, what);
            /* the walks' other choices (one stream, touched lines only,
             * skipping lines whose phases are 1): the same bits */
            qml__pair_walk_override = qml__diagonal_walk_override = qml__pauli2_walk_override = 0;
            qml__statevec_apply(plain, &g, theta, false);
            qml__pair_walk_override = qml__diagonal_walk_override = qml__pauli2_walk_override = -1;
            assert_memory_equal(qml_statevec_data(plain), qml_statevec_data(st), 2 * dim * sizeof *psi);
            qml_statevec_free(plain);
            /* the walk of runs of 8 pairs without rewriting the lines
             * between them, a control on the top qubit as one stream, an
             * index per run under a high control: the same bits */
            for (int value = 7; value <= 9; value++)
                assert_switch_same_bits(&qml__pair_walk_override, value, n, psi, &g, theta, st);
            /* the mid-qubit walk's prefetch, each stream on its own or in
             * address order: the same bits */
            for (int streams = 0; streams <= 1; streams++) {
                qml_statevec *forced = state_from(n, psi);
                qml__pair_stream_ahead_override = streams;
                qml__statevec_apply(forced, &g, theta, false);
                qml__pair_stream_ahead_override = -1;
                assert_memory_equal(qml_statevec_data(forced), qml_statevec_data(st), 2 * dim * sizeof *psi);
                qml_statevec_free(forced);
            }
            /* the pair kernels' scalar and portable vector paths (CRY) */
            for (int path = 0; path <= 1; path++) {
                qml_statevec *forced = state_from(n, psi);
                qml__pair_path_override = path;
                qml__statevec_apply(forced, &g, theta, false);
                qml__pair_path_override = -1;
                assert_memory_equal(qml_statevec_data(forced), qml_statevec_data(st), 2 * dim * sizeof *psi);
                qml_statevec_free(forced);
            }
            /* the octet walk's prefetch in units of 32 blocks (the previous
             * walk), on every path: the same bits */
            for (int path = -1; path <= 1; path++) {
                qml_statevec *forced = state_from(n, psi);
                qml__pair_octet_override = 0;
                qml__pair_path_override = path;
                qml__statevec_apply(forced, &g, theta, false);
                qml__pair_octet_override = qml__pair_path_override = -1;
                assert_memory_equal(qml_statevec_data(forced), qml_statevec_data(st), 2 * dim * sizeof *psi);
                qml_statevec_free(forced);
            }
            qml__statevec_apply(st, &g, theta, true);
            assert_vectors_close(dim, qml_statevec_data(st), psi, 2e-13, what);
            qml_statevec_free(st);
            cases++;
        }
    }
    assert_int_equal(cases, 12 * (sizeof pairs / sizeof pairs[0]));
    free(psi);
    free(expect);
}

/* The two-qubit Pauli rotation kernel (statevec_pauli2.c): exp(-i theta/2
 * (c0 I + c1 P_a Q_b)) for P, Q in {X, Y} on every ordered pair of n =
 * 7..10 qubits, without the identity term (the kernel's imaginary form for
 * XX, YY, its real form for XY, YX) and with it (a global phase folded in:
 * the general form), against the 4 x 4 matrix exp(-i theta/2 c1 P Q) times
 * e^(-i theta c0 / 2) applied to every quadruple, 1e-13 (two products
 * summed per amplitude, and the phase: a few ulp of 1). Its portable path
 * gives the bits of the path this CPU takes (the same operations lane by
 * lane), and the general Pauli kernel it replaced agrees to 1e-13; the
 * walk as one stream gives the bits of the two-stream walk (n = 14). Then pairs at n = 14 where the walk prefetches (the higher qubit at
 * 5..10, or the lower at 5..10 under one at 11+) or runs long plain
 * streams (and two streams: the higher qubit at 10 or below), and at
 * n = 18, where kernels start threads, 1, 2 and 3 threads give the same bits. */
static qml_pauli_sum *pair_string_sum(unsigned n, unsigned a, unsigned b, char pa, char pb, double c0, double c1)
{
    qml_pauli_sum *h = sum_new(n);
    char dense[64];
    memset(dense, 'I', n);
    dense[n] = '\0';
    if (c0 != 0.0)
        sum_add(h, c0, dense);
    dense[a] = pa;
    dense[b] = pb;
    sum_add(h, c1, dense);
    return h;
}

static void check_pauli2(unsigned n, unsigned a, unsigned b, char pa, char pb, bool phase, harness_rng *rng,
                         double *psi, double *expect, unsigned *compared)
{
    const size_t dim = (size_t)1 << n;
    const double c0 = phase ? 0.7 : 0.0, c1 = phase ? -1.3 : 1.0;
    const double theta = 4 * (harness_uniform(rng) - 0.5) * 3.14159;
    qml_pauli_sum *h = pair_string_sum(n, a, b, pa, pb, c0, c1);
    qml__gate g = make_gate(QML_GATE_PAULI_ROTATION, (unsigned[]){0}, 1, rng);
    g.generator = h;
    /* the 4 x 4 reference: local bit 0 is qubit a ("PQ": char 0 on bit 0) */
    const char local[3] = {pa, pb, '\0'};
    double p4[32], m4[32];
    harness_pauli_matrix(2, local, p4);
    rotation_from(4, p4, c1 * theta, m4);
    const double pr = cos(-0.5 * theta * c0), pi = sin(-0.5 * theta * c0);
    for (unsigned k = 0; k < 16; k++) {
        const double re = m4[2 * k], im = m4[2 * k + 1];
        m4[2 * k] = re * pr - im * pi;
        m4[2 * k + 1] = re * pi + im * pr;
    }
    random_state(rng, dim, psi);
    apply_quad_reference(n, a, b, m4, psi, expect);
    char what[96];
    snprintf(what, sizeof what, "%c%u %c%u%s of %u", pa, a, pb, b, phase ? " with a phase" : "", n);
    qml_statevec *chosen = state_from(n, psi), *portable = state_from(n, psi), *general = state_from(n, psi);
    qml__statevec_apply(chosen, &g, theta, false);
    assert_vectors_close(dim, qml_statevec_data(chosen), expect, 1e-13, what);
    qml__pauli2_path_override = 1;
    qml__statevec_apply(portable, &g, theta, false);
    qml__pauli2_path_override = 0;
    qml__statevec_apply(general, &g, theta, false);
    qml__pauli2_path_override = -1;
    assert_memory_equal(qml_statevec_data(portable), qml_statevec_data(chosen), 2 * dim * sizeof *psi);
    /* one stream in address order: the bits of the two-stream walk */
    assert_switch_same_bits(&qml__pauli2_walk_override, 0, n, psi, &g, theta, chosen);
    assert_vectors_close(dim, qml_statevec_data(general), expect, 1e-13, what);
    /* and back */
    qml__statevec_apply(chosen, &g, theta, true);
    assert_vectors_close(dim, qml_statevec_data(chosen), psi, 2e-13, what);
    qml_statevec_free(chosen);
    qml_statevec_free(portable);
    qml_statevec_free(general);
    sum_free(h);
    (*compared)++;
}

static void test_pauli2_every_pair(void **unused)
{
    (void)unused;
    harness_rng rng = {2222};
    static const char letters[2] = {'X', 'Y'};
    unsigned compared = 0;
    for (unsigned n = 7; n <= 10; n++) {
        const size_t dim = (size_t)1 << n;
        double *psi = malloc(2 * dim * sizeof *psi), *expect = malloc(2 * dim * sizeof *expect);
        assert_non_null(psi);
        assert_non_null(expect);
        for (unsigned a = 0; a < n; a++)
            for (unsigned b = 0; b < n; b++)
                for (unsigned l = 0; l < 4 && a != b; l++)
                    check_pauli2(n, a, b, letters[l & 1], letters[l >> 1], (a + b + l) % 3 == 0, &rng, psi, expect,
                                 &compared);
        free(psi);
        free(expect);
    }
    /* 4 strings on 42 + 56 + 72 + 90 ordered pairs */
    assert_int_equal(compared, 4 * (42 + 56 + 72 + 90));

    const unsigned n = 14;
    const size_t dim = (size_t)1 << n;
    double *psi = malloc(2 * dim * sizeof *psi), *expect = malloc(2 * dim * sizeof *expect);
    assert_non_null(psi);
    assert_non_null(expect);
    const unsigned long_pairs[][2] = {{0, 13}, {13, 1}, {2, 12}, {12, 13}, {3, 8}, {8, 0}, {1, 10}, {9, 2},
                                      {5, 13}, {12, 8}, {10, 11}, {4, 12}, {11, 7}, {6, 7}};
    compared = 0;
    for (size_t p = 0; p < sizeof long_pairs / sizeof long_pairs[0]; p++)
        for (unsigned l = 0; l < 4; l++)
            check_pauli2(n, long_pairs[p][0], long_pairs[p][1], letters[l & 1], letters[l >> 1], l == 2, &rng, psi,
                         expect, &compared);
    assert_int_equal(compared, 4 * (sizeof long_pairs / sizeof long_pairs[0]));
    free(psi);
    free(expect);

    const unsigned big = 18;
    const size_t big_dim = (size_t)1 << big;
    double *start = malloc(2 * big_dim * sizeof *start), *first = malloc(2 * big_dim * sizeof *first);
    assert_non_null(start);
    assert_non_null(first);
    random_state(&rng, big_dim, start);
    const unsigned pairs[][2] = {{0, 1}, {3, 8}, {8, 2}, {0, 17}, {17, 6}, {9, 10}, {2, 3}, {12, 16}, {1, 5}};
    for (unsigned threads = 1; threads <= 3; threads++) {
        qml_statevec *t = state_from(big, start);
        assert_ok(qml_statevec_set_threads(t, threads));
        harness_rng gate_rng = {55};
        for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++)
            for (unsigned l = 0; l < 4; l++) {
                qml_pauli_sum *h = pair_string_sum(big, pairs[p][0], pairs[p][1], letters[l & 1], letters[l >> 1],
                                                   l == 3 ? 0.4 : 0.0, 1.0);
                qml__gate g = make_gate(QML_GATE_PAULI_ROTATION, (unsigned[]){0}, 1, &gate_rng);
                g.generator = h;
                qml__statevec_apply(t, &g, 0.3 + 0.1 * (double)p, false);
                sum_free(h);
            }
        if (threads == 1)
            memcpy(first, qml_statevec_data(t), 2 * big_dim * sizeof *first);
        else
            assert_memory_equal(first, qml_statevec_data(t), 2 * big_dim * sizeof *first);
        qml_statevec_free(t);
    }
    free(start);
    free(first);
}

/* The walk of targets 5..10 (one-qubit gates, and gates whose controls
 * are at 12 and above), which prefetches in address order or, for swaps on
 * target 8, each of its two streams on its own: every one-qubit kind on
 * every qubit 5..n-1 of 9 and 10 qubits against its dense 2^n x 2^n
 * matrix (1e-13, as below: at most four products summed per amplitude),
 * with the prefetch chosen by the kernel, forced to address order and
 * forced per stream; the three give the same bits. Then X on 8 and CNOT
 * 17 -> 8, 13 -> 8, 17 -> 6, Toffoli 16, 17 -> 8 on 18 qubits, where
 * kernels start threads: 1, 2 and 3 threads and both prefetches give the
 * same bits. */
static void test_mid_qubit_streams(void **unused)
{
    (void)unused;
    harness_rng rng = {810};
    char what[96];
    size_t cases = 0;
    for (unsigned n = 9; n <= 10; n++) {
        const size_t dim = (size_t)1 << n;
        double *psi = malloc(2 * dim * sizeof *psi), *expect = malloc(2 * dim * sizeof *expect);
        double *full = malloc(2 * dim * dim * sizeof *full);
        assert_non_null(psi);
        assert_non_null(expect);
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
                qml_statevec *st[3];
                for (int streams = -1; streams <= 1; streams++) {
                    st[streams + 1] = state_from(n, psi);
                    qml__pair_stream_ahead_override = streams;
                    qml__statevec_apply(st[streams + 1], &g, theta, false);
                    qml__pair_stream_ahead_override = -1;
                }
                snprintf(what, sizeof what, "kind %d on qubit %u of %u", (int)kind, t, n);
                assert_vectors_close(dim, qml_statevec_data(st[0]), expect, 1e-13, what);
                for (int k = 1; k < 3; k++)
                    assert_memory_equal(qml_statevec_data(st[k]), qml_statevec_data(st[0]), 2 * dim * sizeof *psi);
                for (int k = 0; k < 3; k++)
                    qml_statevec_free(st[k]);
                cases++;
            }
        }
        free(psi);
        free(expect);
        free(full);
    }
    /* 15 one-qubit kinds on qubits 5..8 and 5..9 */
    assert_int_equal(cases, 15 * (4 + 5));

    const unsigned n = 18;
    const size_t dim = (size_t)1 << n;
    double *psi = malloc(2 * dim * sizeof *psi), *first = malloc(2 * dim * sizeof *first);
    assert_non_null(psi);
    assert_non_null(first);
    random_state(&rng, dim, psi);
    const unsigned x8[1] = {8}, c17[2] = {17, 8}, c13[2] = {13, 8}, c6[2] = {17, 6}, t8[3] = {16, 17, 8};
    const qml__gate gates[] = {make_gate(QML_GATE_X, x8, 1, &rng), make_gate(QML_GATE_CNOT, c17, 2, &rng),
                               make_gate(QML_GATE_CNOT, c13, 2, &rng), make_gate(QML_GATE_CNOT, c6, 2, &rng),
                               make_gate(QML_GATE_TOFFOLI, t8, 3, &rng), make_gate(QML_GATE_RY, x8, 1, &rng)};
    for (int streams = -1; streams <= 1; streams++)
        for (unsigned threads = 1; threads <= 3; threads++) {
            qml_statevec *s = state_from(n, psi);
            assert_int_equal(qml_statevec_set_threads(s, threads), QML_OK);
            qml__pair_stream_ahead_override = streams;
            for (size_t k = 0; k < sizeof gates / sizeof gates[0]; k++)
                qml__statevec_apply(s, &gates[k], 0.3 + (double)k, false);
            qml__pair_stream_ahead_override = -1;
            if (streams == -1 && threads == 1)
                memcpy(first, qml_statevec_data(s), 2 * dim * sizeof *first);
            else
                assert_memory_equal(first, qml_statevec_data(s), 2 * dim * sizeof *first);
            qml_statevec_free(s);
        }
    free(psi);
    free(first);
}

/* Every two-qubit kind on every ordered pair of n = 7..10 qubits (both
 * orders, adjacent and distant, each qubit 0..n-1 as either member)
 * against its dense 2^n x 2^n matrix, and its inverse back to the start.
 * From n = 7 on, every walk of the pair kernels occurs with runs longer
 * than one unit: the octet walk with and without a fixed bit above its
 * block, the run walk with runs of 8..64 pairs, the diagonal line and
 * block walks. Tolerance 1e-13 (absolute, amplitudes of a random unit
 * vector, |a| <= 1): one gate is at most four products summed per
 * amplitude, so about 4 ulp of 1, 1e-15; the inverse doubles that. Then
 * the pairs whose walks prefetch ahead or change with the thread split
 * (lowest qubit 2, 3, 4, the top qubit, controls above targets) at n = 18,
 * where kernels start threads: 1, 2 and 3 threads give the same bits.
 * The diagonal kinds run on both paths of their kernels (portable and,
 * where the CPU has it, AVX2) on 7 and 8 qubits, and so does CRY (the
 * pair kernels' real class: the scalar octet walk, then the vector ones);
 * on 12 qubits every path of both gives the same bits. */
/* The rotations' runs of contiguous pairs on AVX2 vectors give the bits of
 * the scalar loops (qml__pair_path_override = 0), for every kind on every
 * qubit (one-qubit kinds) and every ordered pair (two-qubit kinds) of 11
 * qubits, odd run lengths at range ends included: the state is also split
 * over 3 threads at 18 qubits for one qubit of each walk. */
static void test_runs_vector_bitwise(void **unused)
{
    (void)unused;
    harness_rng rng = {1111};
    size_t compared = 0;
    for (unsigned n = 11; n <= 18; n += 7) {
        const size_t dim = (size_t)1 << n;
        double *psi = malloc(2 * dim * sizeof *psi);
        assert_non_null(psi);
        for (size_t kk = 0; kk < N_KINDS; kk++) {
            const qml_gate_kind kind = ALL_KINDS[kk];
            const unsigned k = arity(kind);
            if (k > 2)
                continue;
            for (unsigned a = 0; a < n; a++)
                for (unsigned b = 0; b < (k == 2 ? n : 1); b++) {
                    if (k == 2 && a == b)
                        continue;
                    if (n > 11 && (a % 7 != 3 || (k == 2 && b != n - 1 - a)))
                        continue;
                    const unsigned q[2] = {a, b};
                    qml__gate g = make_gate(kind, q, k, &rng);
                    const double theta = 4 * (harness_uniform(&rng) - 0.5) * 3.14159;
                    random_state(&rng, dim, psi);
                    qml_statevec *chosen = state_from(n, psi), *scalar = state_from(n, psi);
                    if (n > 11) {
                        assert_ok(qml_statevec_set_threads(chosen, 3));
                        assert_ok(qml_statevec_set_threads(scalar, 3));
                    }
                    qml__statevec_apply(chosen, &g, theta, false);
                    qml__pair_path_override = 0;
                    qml__statevec_apply(scalar, &g, theta, false);
                    qml__pair_path_override = -1;
                    assert_memory_equal(qml_statevec_data(chosen), qml_statevec_data(scalar),
                                        2 * dim * sizeof *psi);
                    qml_statevec_free(chosen);
                    qml_statevec_free(scalar);
                    compared++;
                }
        }
        free(psi);
    }
    assert_true(compared > 1500);
}

static void test_every_pair_dense_7_10(void **unused)
{
    (void)unused;
    const double tol = 1e-13;
    harness_rng rng = {715};
    char what[128];
    size_t cases = 0;
    /* the diagonal kinds twice (on 7 and 8 qubits): their portable path,
     * then the one this CPU takes */
    for (int path = 0; path < 2; path++)
    for (unsigned n = 7; n <= (path == 0 ? 8u : 10u); n++) {
        const size_t dim = (size_t)1 << n;
        qml__diagonal_path_override = qml__pair_path_override = path == 0 ? 0 : -1;
        double *psi = malloc(2 * dim * sizeof *psi), *expect = malloc(2 * dim * sizeof *expect);
        double *full = malloc(2 * dim * dim * sizeof *full);
        assert_non_null(psi);
        assert_non_null(expect);
        assert_non_null(full);
        for (size_t kk = 0; kk < N_KINDS; kk++) {
            const qml_gate_kind kind = ALL_KINDS[kk];
            if (arity(kind) != 2 ||
                (path == 0 && kind != QML_GATE_CZ && kind != QML_GATE_CRZ && kind != QML_GATE_RZZ &&
                 kind != QML_GATE_CRY))
                continue;
            for (unsigned a = 0; a < n; a++)
                for (unsigned b = 0; b < n; b++) {
                    if (a == b)
                        continue;
                    const unsigned q[2] = {a, b};
                    qml__gate g = make_gate(kind, q, 2, &rng);
                    const double theta = 4 * (harness_uniform(&rng) - 0.5) * 3.14159;
                    random_state(&rng, dim, psi);
                    qml_statevec *st = state_from(n, psi);
                    qml__statevec_apply(st, &g, theta, false);
                    gate_dense(n, &g, theta, full);
                    harness_matvec(dim, full, psi, expect);
                    snprintf(what, sizeof what, "kind %d on qubits %u, %u of %u", (int)kind, a, b, n);
                    assert_vectors_close(dim, qml_statevec_data(st), expect, tol, what);
                    qml__statevec_apply(st, &g, theta, true);
                    assert_vectors_close(dim, qml_statevec_data(st), psi, 2 * tol, what);
                    qml_statevec_free(st);
                    cases++;
                }
        }
        free(psi);
        free(expect);
        free(full);
    }
    qml__pair_path_override = -1;
    /* 3 diagonal kinds and CRY x (42 + 56), 12 two-qubit kinds x (42 + 56 + 72 + 90) ordered pairs */
    assert_int_equal(cases, 4 * (42 + 56) + 12 * (42 + 56 + 72 + 90));

    /* the two paths of the diagonal kernels give the same bits (the same
     * operations lane by lane), on every ordered pair of 12 qubits: every
     * walk (runs, lines in address order with one or two sets of phases,
     * every line with its own phases, line by line), and so do the
     * skipping line walk that every-line walk replaced and the walk of
     * lines with two sets of phases as one stream instead of two */
    {
        const unsigned n = 12;
        const size_t dim = (size_t)1 << n;
        double *psi = malloc(2 * dim * sizeof *psi);
        assert_non_null(psi);
        size_t compared = 0;
        static const qml_gate_kind diagonal[] = {QML_GATE_CZ, QML_GATE_CRZ, QML_GATE_RZZ};
        for (size_t kk = 0; kk < 3; kk++)
            for (unsigned a = 0; a < n; a++)
                for (unsigned b = 0; b < n; b++) {
                    if (a == b)
                        continue;
                    const unsigned q[2] = {a, b};
                    qml__gate g = make_gate(diagonal[kk], q, 2, &rng);
                    random_state(&rng, dim, psi);
                    qml_statevec *portable = state_from(n, psi), *chosen = state_from(n, psi);
                    qml__diagonal_path_override = 0;
                    qml__statevec_apply(portable, &g, 0.7, false);
                    qml__diagonal_path_override = -1;
                    qml__statevec_apply(chosen, &g, 0.7, false);
                    assert_memory_equal(qml_statevec_data(portable), qml_statevec_data(chosen),
                                        2 * dim * sizeof *psi);
                    /* the walk that skips the lines whose phases are all 1
                     * (gates with a control among a line's bits): the bits
                     * of the every-line walk, which multiplies them by 1 */
                    qml_statevec *skipping = state_from(n, psi), *prefetched = state_from(n, psi);
                    qml__diagonal_walk_override = 0;
                    qml__statevec_apply(skipping, &g, 0.7, false);
                    /* and the prefetched walk of a contiguous run of lines */
                    qml__diagonal_walk_override = 5;
                    qml__statevec_apply(prefetched, &g, 0.7, false);
                    qml__diagonal_walk_override = -1;
                    assert_memory_equal(qml_statevec_data(skipping), qml_statevec_data(chosen),
                                        2 * dim * sizeof *psi);
                    assert_memory_equal(qml_statevec_data(prefetched), qml_statevec_data(chosen),
                                        2 * dim * sizeof *psi);
                    /* and one stream where lines have two sets of phases */
                    assert_switch_same_bits(&qml__diagonal_walk_override, 6, n, psi, &g, 0.7, chosen);
                    qml_statevec_free(prefetched);
                    qml_statevec_free(skipping);
                    qml_statevec_free(portable);
                    qml_statevec_free(chosen);
                    compared++;
                }
        assert_int_equal(compared, 3 * 132);
        /* CRY: the octet walk's scalar path, its portable vectors (one
         * amplitude each) and the path this CPU takes (AVX2: two
         * amplitudes per vector, by the shape of the block's pairs) */
        compared = 0;
        for (unsigned a = 0; a < n; a++)
            for (unsigned b = 0; b < n; b++) {
                if (a == b)
                    continue;
                const unsigned q[2] = {a, b};
                qml__gate g = make_gate(QML_GATE_CRY, q, 2, &rng);
                random_state(&rng, dim, psi);
                qml_statevec *chosen = state_from(n, psi);
                qml__statevec_apply(chosen, &g, 0.7, false);
                for (int path = 0; path <= 1; path++) {
                    qml_statevec *forced = state_from(n, psi);
                    qml__pair_path_override = path;
                    qml__statevec_apply(forced, &g, 0.7, false);
                    qml__pair_path_override = -1;
                    assert_memory_equal(qml_statevec_data(forced), qml_statevec_data(chosen),
                                        2 * dim * sizeof *psi);
                    qml_statevec_free(forced);
                    compared++;
                }
                qml_statevec_free(chosen);
            }
        assert_int_equal(compared, 2 * 132);
        free(psi);
    }
    qml__diagonal_path_override = -1;

    const unsigned big = 18;
    const size_t big_dim = (size_t)1 << big;
    double *start = malloc(2 * big_dim * sizeof *start), *first = malloc(2 * big_dim * sizeof *first);
    assert_non_null(start);
    assert_non_null(first);
    random_state(&rng, big_dim, start);
    const unsigned pairs[][2] = {{3, 8}, {8, 3}, {2, 8}, {8, 2}, {8, 0}, {2, 1}, {2, 0}, {3, 17}, {17, 3},
                                 {4, 9}, {0, 3}, {1, 4}, {11, 12}, {16, 17}, {17, 2}, {5, 16},
                                 /* targets at 5..10 under high or low controls, diagonal
                                  * walks in address order */
                                 {17, 8}, {12, 6}, {0, 8}, {1, 10}, {2, 3}, {0, 17}, {1, 8}};
    for (unsigned threads = 1; threads <= 3; threads++) {
        qml_statevec *t = state_from(big, start);
        assert_ok(qml_statevec_set_threads(t, threads));
        harness_rng gate_rng = {77};
        for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++)
            for (size_t kk = 0; kk < N_KINDS; kk++)
                if (arity(ALL_KINDS[kk]) == 2) {
                    qml__gate g = make_gate(ALL_KINDS[kk], pairs[p], 2, &gate_rng);
                    qml__statevec_apply(t, &g, 0.3 + 0.1 * (double)p, false);
                }
        if (threads == 1)
            memcpy(first, qml_statevec_data(t), 2 * big_dim * sizeof *first);
        else
            assert_memory_equal(first, qml_statevec_data(t), 2 * big_dim * sizeof *first);
        qml_statevec_free(t);
    }
    free(start);
    free(first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_pair_low_qubits),
        cmocka_unit_test(test_every_pair_dense_7_10),
        cmocka_unit_test(test_runs_vector_bitwise),
        cmocka_unit_test(test_long_stream_pairs),
        cmocka_unit_test(test_mid_qubit_streams),
        cmocka_unit_test(test_pauli2_every_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

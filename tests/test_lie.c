/* test_lie.c: dynamical Lie algebras: dimensions against closed forms and an
 * independent dense-matrix closure, structure, basis, purities against dense
 * references, the variance closed forms, limits, cancellation, allocation. */
#include "harness.h"
#include "internal.h"
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------------- */

#include "lie_sets.h"

/* {X_i, Y_i, Z_i Z_{i+1}}: the hardware-efficient generators. */
static void hea_generators(generator_set *set, unsigned n)
{
    char text[64];
    for (unsigned i = 0; i < n; i++) {
        snprintf(text, sizeof text, "X%u", i);
        set_add(set, n, text);
        snprintf(text, sizeof text, "Y%u", i);
        set_add(set, n, text);
    }
    for (unsigned i = 0; i + 1 < n; i++) {
        snprintf(text, sizeof text, "Z%u Z%u", i, i + 1);
        set_add(set, n, text);
    }
}

/* {X_i, Z_i Z_{i+1}} open: free fermions, so(2n). */
static void tfim_generators(generator_set *set, unsigned n)
{
    char text[64];
    for (unsigned i = 0; i < n; i++) {
        snprintf(text, sizeof text, "X%u", i);
        set_add(set, n, text);
    }
    for (unsigned i = 0; i + 1 < n; i++) {
        snprintf(text, sizeof text, "Z%u Z%u", i, i + 1);
        set_add(set, n, text);
    }
}

/* {sum X_i, sum Z_i, sum_{i<j} Z_i Z_j}: permutation-equivariant. */
static void sn_generators(generator_set *set, unsigned n)
{
    char text[4096], *p;
    p = text;
    for (unsigned i = 0; i < n; i++)
        p += sprintf(p, "%sX%u", i ? " + " : "", i);
    set_add(set, n, text);
    p = text;
    for (unsigned i = 0; i < n; i++)
        p += sprintf(p, "%sZ%u", i ? " + " : "", i);
    set_add(set, n, text);
    p = text;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = i + 1; j < n; j++)
            p += sprintf(p, "%sZ%u Z%u", p == text ? "" : " + ", i, j);
    set_add(set, n, text);
}

/* A statevector on the stack (the struct layout is internal.h's), so the
 * tests do not depend on statevec.c. */
typedef struct test_state {
    struct qml_statevec state;
    double amplitudes[2 * 64];
} test_state;

static void state_zero(test_state *s, unsigned n)
{
    assert_true(n <= 6);
    memset(s, 0, sizeof *s);
    s->state.n_qubits = n;
    s->state.dim = (uint64_t)1 << n;
    s->state.amplitudes = s->amplitudes;
    s->state.n_threads = 1;
    s->amplitudes[0] = 1.0;
}

static void state_random(test_state *s, unsigned n, harness_rng *rng)
{
    state_zero(s, n);
    double norm = 0;
    for (size_t i = 0; i < 2 * s->state.dim; i++) {
        s->amplitudes[i] = harness_normal(rng);
        norm += s->amplitudes[i] * s->amplitudes[i];
    }
    for (size_t i = 0; i < 2 * s->state.dim; i++)
        s->amplitudes[i] /= sqrt(norm);
}

/* The dense 2^n x 2^n matrix of a Pauli sum, built from harness_pauli_matrix
 * (Kronecker products), independent of pauli.c's own to_dense. */
static double *dense_of(const qml_pauli_sum *sum)
{
    unsigned n = qml_pauli_sum_n_qubits(sum);
    size_t d = (size_t)1 << n;
    double *m = calloc(2 * d * d, sizeof *m);
    double *p = malloc(2 * d * d * sizeof *p);
    char dense[64];
    assert_non_null(m);
    assert_non_null(p);
    for (size_t t = 0; t < qml_pauli_sum_n_terms(sum); t++) {
        double c;
        assert_ok(qml_pauli_sum_term(sum, t, &c, dense));
        harness_pauli_matrix(n, dense, p);
        for (size_t i = 0; i < 2 * d * d; i++)
            m[i] += c * p[i];
    }
    free(p);
    return m;
}

/* Re Tr(A B) for d x d complex matrices. */
static double trace_product(size_t d, const double *a, const double *b)
{
    double s = 0;
    for (size_t i = 0; i < d; i++)
        for (size_t k = 0; k < d; k++) {
            const double *x = a + 2 * (i * d + k), *y = b + 2 * (k * d + i);
            s += x[0] * y[0] - x[1] * y[1];
        }
    return s;
}

/* <psi|M|psi> for a Hermitian M. */
static double dense_expectation(size_t d, const double *m, const double *psi)
{
    double *y = malloc(2 * d * sizeof *y);
    assert_non_null(y);
    harness_matvec(d, m, psi, y);
    double s = 0;
    for (size_t i = 0; i < d; i++)
        s += psi[2 * i] * y[2 * i] + psi[2 * i + 1] * y[2 * i + 1];
    free(y);
    return s;
}

/* ---- an independent dense closure -------------------------------------------- */

/* Lie closure of Hermitian matrices under -i[A, B], by Gram-Schmidt on the
 * vectorised matrices (real inner product Re Tr(A^dag B)), bracketing new
 * elements with the generators; returns the dimension. Tolerance 1e-8
 * relative: the matrices are O(1) and exact up to ~1e-14 rounding. */
static size_t dense_closure_dim(const generator_set *set, unsigned n)
{
    size_t d = (size_t)1 << n, len = 2 * d * d, cap = (size_t)1 << (2 * n);
    double *basis = malloc(cap * len * sizeof *basis);
    double **gens = malloc(set->count * sizeof *gens);
    double *cand = malloc(len * sizeof *cand), *ab = malloc(len * sizeof *ab), *ba = malloc(len * sizeof *ba);
    assert_true(basis && gens && cand && ab && ba);
    size_t dim = 0;
    for (size_t k = 0; k < set->count; k++)
        gens[k] = dense_of(set->items[k]);
    /* candidates: the generators, then brackets of basis elements with generators */
    for (size_t step = 0;; step++) {
        size_t k, a;
        if (step < set->count) {
            memcpy(cand, gens[step], len * sizeof *cand);
        } else {
            size_t idx = step - set->count;
            a = idx / set->count;
            k = idx % set->count;
            if (a >= dim)
                break;
            harness_matmul(d, gens[k], basis + a * len, ab);
            harness_matmul(d, basis + a * len, gens[k], ba);
            for (size_t i = 0; i < d * d; i++) { /* -i (ab - ba) */
                double re = ab[2 * i] - ba[2 * i], im = ab[2 * i + 1] - ba[2 * i + 1];
                cand[2 * i] = im;
                cand[2 * i + 1] = -re;
            }
        }
        double norm0 = 0;
        for (size_t i = 0; i < len; i++)
            norm0 += cand[i] * cand[i];
        norm0 = sqrt(norm0);
        if (norm0 < 1e-12)
            continue;
        for (int pass = 0; pass < 2; pass++)
            for (size_t b = 0; b < dim; b++) {
                double c = 0;
                for (size_t i = 0; i < len; i++)
                    c += basis[b * len + i] * cand[i];
                for (size_t i = 0; i < len; i++)
                    cand[i] -= c * basis[b * len + i];
            }
        double norm = 0;
        for (size_t i = 0; i < len; i++)
            norm += cand[i] * cand[i];
        norm = sqrt(norm);
        if (norm > 1e-8 * norm0) {
            assert_true(dim < cap);
            for (size_t i = 0; i < len; i++)
                basis[dim * len + i] = cand[i] / norm;
            dim++;
        }
    }
    for (size_t k = 0; k < set->count; k++)
        free(gens[k]);
    free(gens);
    free(basis);
    free(cand);
    free(ab);
    free(ba);
    return dim;
}

/* ---- dimensions ---------------------------------------------------------------- */

static void test_hea_is_full(void **state)
{
    (void)state;
    for (unsigned n = 1; n <= 5; n++) {
        generator_set set = {0};
        hea_generators(&set, n);
        qml_lie_algebra *a = close_set(&set);
        size_t expected = ((size_t)1 << (2 * n)) - 1;
        assert_int_equal(qml_lie_algebra_dim(a), expected);
        assert_int_equal(qml_lie_algebra_n_qubits(a), n);
        assert_true(qml_lie_algebra_is_full(a));
        assert_int_equal(qml_lie_algebra_center_dim(a), 0);
        assert_int_equal(qml_lie_algebra_n_ideals(a), 1);
        size_t dim, rank;
        const char *names;
        assert_ok(qml_lie_algebra_ideal(a, 0, &dim, &rank, &names));
        assert_int_equal(dim, expected);
        assert_int_equal(rank, ((size_t)1 << n) - 1);
        if (n == 1)
            assert_string_equal(names, "su(2) = so(3) = sp(1)");
        if (n == 2)
            assert_string_equal(names, "su(4) = so(6)");
        if (n == 3)
            assert_string_equal(names, "su(8)");
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

static void test_free_fermions_so2n(void **state)
{
    (void)state;
    for (unsigned n = 2; n <= 8; n++) {
        generator_set set = {0};
        tfim_generators(&set, n);
        qml_lie_algebra *a = close_set(&set);
        assert_int_equal(qml_lie_algebra_dim(a), (size_t)n * (2 * n - 1));
        assert_false(qml_lie_algebra_is_full(a) && n > 2);
        assert_int_equal(qml_lie_algebra_center_dim(a), 0);
        if (n == 2) {
            /* so(4) = su(2) + su(2) */
            assert_int_equal(qml_lie_algebra_n_ideals(a), 2);
        } else {
            assert_int_equal(qml_lie_algebra_n_ideals(a), 1);
            size_t dim, rank;
            const char *names;
            assert_ok(qml_lie_algebra_ideal(a, 0, &dim, &rank, &names));
            assert_int_equal(rank, n);
            if (n == 3)
                assert_string_equal(names, "su(4) = so(6)");
            else
                assert_non_null(strstr(names, "so("));
        }
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

static void test_local_su2(void **state)
{
    (void)state;
    for (unsigned n = 1; n <= 6; n++) {
        generator_set set = {0};
        char text[16];
        for (unsigned i = 0; i < n; i++) {
            snprintf(text, sizeof text, "X%u", i);
            set_add(&set, n, text);
            snprintf(text, sizeof text, "Y%u", i);
            set_add(&set, n, text);
        }
        qml_lie_algebra *a = close_set(&set);
        assert_int_equal(qml_lie_algebra_dim(a), 3 * n);
        assert_int_equal(qml_lie_algebra_n_ideals(a), n);
        for (size_t j = 0; j < n; j++) {
            size_t dim, rank;
            const char *names;
            assert_ok(qml_lie_algebra_ideal(a, j, &dim, &rank, &names));
            assert_int_equal(dim, 3);
            assert_int_equal(rank, 1);
            assert_string_equal(names, "su(2) = so(3) = sp(1)");
        }
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

static size_t binomial(size_t n, size_t k)
{
    size_t r = 1;
    for (size_t i = 1; i <= k; i++)
        r = r * (n - k + i) / i;
    return r;
}

/* The closed form C(n+3,3) - floor(n/2) for the permutation-
 * equivariant generators, checked against the library for n = 2..6 and
 * against the independent dense closure for n = 2..4. */
static void test_permutation_equivariant(void **state)
{
    (void)state;
    for (unsigned n = 2; n <= 6; n++) {
        generator_set set = {0};
        sn_generators(&set, n);
        qml_lie_algebra *a = close_set(&set);
        size_t dim = qml_lie_algebra_dim(a);
        if (n <= 4)
            assert_int_equal(dim, dense_closure_dim(&set, n));
        size_t closed = binomial(n + 3, 3) - n / 2;
        printf("# S_n-equivariant n = %u: dim %zu, C(n+3,3) - floor(n/2) = %zu\n", n, dim, closed);
        assert_int_equal(dim, closed);
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

/* Random Pauli-sum generators: the library's dimension equals the dense
 * closure's (n = 2, 3; fixed seeds). */
static void test_random_sums_against_dense(void **state)
{
    (void)state;
    harness_rng rng = {12345};
    const char ops[] = "IXYZ";
    for (int trial = 0; trial < 12; trial++) {
        unsigned n = 2 + (unsigned)(trial % 2);
        generator_set set = {0};
        size_t count = 1 + (size_t)(harness_next(&rng) % 3);
        for (size_t k = 0; k < count; k++) {
            qml_pauli_sum *s = NULL;
            assert_ok(qml_pauli_sum_create(&s, n));
            size_t terms = 1 + (size_t)(harness_next(&rng) % 3);
            for (size_t t = 0; t < terms; t++) {
                char dense[8] = {0};
                for (unsigned q = 0; q < n; q++)
                    dense[q] = ops[harness_next(&rng) % 4];
                /* small integer coefficients make coincidences (and so smaller
                 * algebras) likely, which is what we want to exercise */
                assert_ok(qml_pauli_sum_add_string(s, (double)(1 + harness_next(&rng) % 3), dense));
            }
            set.items[set.count++] = s;
        }
        qml_lie_algebra *a = close_set(&set);
        assert_int_equal(qml_lie_algebra_dim(a), dense_closure_dim(&set, n));
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

/* ---- structure ------------------------------------------------------------------ */

static void test_so4_two_ideals(void **state)
{
    (void)state;
    /* the real antisymmetric 4x4 matrices: strings with an odd number of Y */
    const char *strings[] = {"IY", "YI", "XY", "YX", "ZY", "YZ"};
    generator_set set = {0};
    for (size_t i = 0; i < 6; i++) {
        qml_pauli_sum *s = NULL;
        assert_ok(qml_pauli_sum_create(&s, 2));
        assert_ok(qml_pauli_sum_add_string(s, 1.0, strings[i]));
        set.items[set.count++] = s;
    }
    qml_lie_algebra *a = close_set(&set);
    assert_int_equal(qml_lie_algebra_dim(a), 6);
    assert_int_equal(qml_lie_algebra_center_dim(a), 0);
    assert_int_equal(qml_lie_algebra_n_ideals(a), 2);
    for (size_t j = 0; j < 2; j++) {
        size_t dim, rank;
        assert_ok(qml_lie_algebra_ideal(a, j, &dim, &rank, NULL));
        assert_int_equal(dim, 3);
        assert_int_equal(rank, 1);
    }
    /* the ideals commute with each other and are closed */
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 3; k++) {
            qml_pauli_sum *p = NULL, *q = NULL;
            assert_ok(qml_lie_algebra_ideal_element(a, 0, i, &p));
            assert_ok(qml_lie_algebra_ideal_element(a, 1, k, &q));
            int commute = 0;
            assert_ok(qml_pauli_sum_commutes(p, q, 1e-10, &commute));
            assert_true(commute);
            qml_pauli_sum_free(p);
            qml_pauli_sum_free(q);
        }
    qml_lie_algebra_free(a);
    set_free(&set);
}

static void test_centres(void **state)
{
    (void)state;
    generator_set set = {0};
    set_add(&set, 2, "Z0");
    set_add(&set, 2, "Z1");
    qml_lie_algebra *a = close_set(&set);
    assert_int_equal(qml_lie_algebra_dim(a), 2);
    assert_int_equal(qml_lie_algebra_center_dim(a), 2);
    assert_int_equal(qml_lie_algebra_n_ideals(a), 0);
    qml_lie_algebra_free(a);
    set_free(&set);

    /* su(2) on qubit 0 plus the u(1) of Z1 */
    set_add(&set, 2, "X0");
    set_add(&set, 2, "Y0");
    set_add(&set, 2, "Z0 + Z1");
    a = close_set(&set);
    assert_int_equal(qml_lie_algebra_dim(a), 4);
    assert_int_equal(qml_lie_algebra_center_dim(a), 1);
    assert_int_equal(qml_lie_algebra_n_ideals(a), 1);
    size_t dim, rank;
    assert_ok(qml_lie_algebra_ideal(a, 0, &dim, &rank, NULL));
    assert_int_equal(dim, 3);
    assert_int_equal(rank, 1);
    qml_pauli_sum *z = NULL, *expected = parse(2, "Z1");
    assert_ok(qml_lie_algebra_center_element(a, 0, &z));
    double inner = 0;
    assert_ok(qml_pauli_sum_inner(z, expected, &inner));
    assert_close(fabs(inner), 1.0, 1e-10); /* the centre is spanned by Z1 */
    qml_pauli_sum_free(z);
    qml_pauli_sum_free(expected);
    assert_false(qml_lie_algebra_is_full(a));
    qml_lie_algebra_free(a);
    set_free(&set);

    /* su(2) + su(2) + centre from sums: {X0 + X1, Z0, Z1, Z2} on 3 qubits */
    set_add(&set, 3, "X0 + 2 X1");
    set_add(&set, 3, "Z0");
    set_add(&set, 3, "Z1");
    set_add(&set, 3, "Z2");
    a = close_set(&set);
    assert_int_equal(qml_lie_algebra_dim(a), dense_closure_dim(&set, 3));
    assert_int_equal(qml_lie_algebra_dim(a), 7);
    assert_int_equal(qml_lie_algebra_center_dim(a), 1);
    assert_int_equal(qml_lie_algebra_n_ideals(a), 2);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* Orthonormality of the basis and closure of the span under brackets, for
 * a general algebra (S_n-equivariant, n = 3) and a string algebra. */
static void check_basis_and_closure(qml_lie_algebra *a)
{
    size_t d = qml_lie_algebra_dim(a);
    qml_pauli_sum **b = calloc(d, sizeof *b);
    assert_non_null(b);
    for (size_t i = 0; i < d; i++)
        assert_ok(qml_lie_algebra_basis_element(a, i, &b[i]));
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double ip;
            assert_ok(qml_pauli_sum_inner(b[i], b[j], &ip));
            assert_close(ip, i == j ? 1.0 : 0.0, 1e-12);
        }
    for (size_t i = 0; i < d; i++)
        for (size_t j = i + 1; j < d; j++) {
            qml_pauli_sum *br = NULL;
            assert_ok(qml_pauli_sum_bracket(&br, b[i], b[j]));
            double norm2 = 0, proj2 = 0;
            assert_ok(qml_pauli_sum_norm(br, &norm2));
            norm2 *= norm2;
            for (size_t k = 0; k < d; k++) {
                double ip;
                assert_ok(qml_pauli_sum_inner(b[k], br, &ip));
                proj2 += ip * ip;
            }
            /* the bracket of unit elements has norm <= 2; residual ~ rounding */
            assert_true(norm2 - proj2 <= 1e-10);
            qml_pauli_sum_free(br);
        }
    for (size_t i = 0; i < d; i++)
        qml_pauli_sum_free(b[i]);
    free(b);
}

static void test_basis_orthonormal_and_closed(void **state)
{
    (void)state;
    generator_set set = {0};
    sn_generators(&set, 3);
    qml_lie_algebra *a = close_set(&set);
    check_basis_and_closure(a);
    /* the ideals and the centre together are orthonormal and span g */
    size_t total = qml_lie_algebra_center_dim(a);
    for (size_t j = 0; j < qml_lie_algebra_n_ideals(a); j++) {
        size_t dim;
        assert_ok(qml_lie_algebra_ideal(a, j, &dim, NULL, NULL));
        total += dim;
    }
    assert_int_equal(total, qml_lie_algebra_dim(a));
    qml_lie_algebra_free(a);
    set_free(&set);
    tfim_generators(&set, 4);
    a = close_set(&set);
    check_basis_and_closure(a);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* ---- purities ------------------------------------------------------------------- */

/* Reference: P_j(H) = sum_a Tr(B_a H)^2 with B_a = E_a / sqrt(2^n), E_a the
 * library's ideal elements as dense matrices (normalised in Tr(AB)/2^n). */
static void check_purities(qml_lie_algebra *a, unsigned n, harness_rng *rng)
{
    size_t D = (size_t)1 << n;
    size_t m = qml_lie_algebra_n_ideals(a);
    double two_n = (double)D;
    /* random Hermitian H as a random Pauli sum over all strings */
    qml_pauli_sum *h = NULL;
    assert_ok(qml_pauli_sum_create(&h, n));
    char dense[8] = {0};
    for (size_t idx = 0; idx < D * D; idx++) {
        size_t v = idx;
        for (unsigned q = 0; q < n; q++, v /= 4)
            dense[q] = "IXYZ"[v % 4];
        assert_ok(qml_pauli_sum_add_string(h, harness_normal(rng), dense));
    }
    double *hm = dense_of(h);
    test_state ts;
    state_random(&ts, n, rng);
    double per[64], per_s[64], total, total_s;
    size_t count;
    assert_ok(qml_lie_algebra_purity(a, h, &total, per, 64, &count));
    assert_int_equal(count, m + 1);
    assert_ok(qml_lie_algebra_state_purity(a, &ts.state, &total_s, per_s, 64, &count));
    double ref_total = 0, ref_total_s = 0;
    for (size_t j = 0; j <= m; j++) {
        size_t dim = 0;
        if (j < m)
            assert_ok(qml_lie_algebra_ideal(a, j, &dim, NULL, NULL));
        else
            dim = qml_lie_algebra_center_dim(a);
        double ref = 0, ref_s = 0;
        for (size_t i = 0; i < dim; i++) {
            qml_pauli_sum *e = NULL;
            if (j < m)
                assert_ok(qml_lie_algebra_ideal_element(a, j, i, &e));
            else
                assert_ok(qml_lie_algebra_center_element(a, i, &e));
            double *em = dense_of(e);
            double tr = trace_product(D, em, hm) / sqrt(two_n);
            ref += tr * tr;
            double ex = dense_expectation(D, em, ts.amplitudes) / sqrt(two_n);
            ref_s += ex * ex;
            free(em);
            qml_pauli_sum_free(e);
        }
        /* sums of O(4^n) O(1) products: 1e-9 relative covers rounding */
        assert_close(per[j], ref, 1e-9 * (1 + ref));
        assert_close(per_s[j], ref_s, 1e-9);
        ref_total += ref;
        ref_total_s += ref_s;
    }
    assert_close(total, ref_total, 1e-9 * (1 + ref_total));
    assert_close(total_s, ref_total_s, 1e-9);
    /* capacity too small: the count is still reported */
    assert_status(qml_lie_algebra_purity(a, h, &total, per, m, &count), QML_ERR_OUT_OF_RANGE);
    assert_int_equal(count, m + 1);
    free(hm);
    qml_pauli_sum_free(h);
}

static void test_purities_against_dense(void **state)
{
    (void)state;
    harness_rng rng = {777};
    generator_set set = {0};
    sn_generators(&set, 3);
    qml_lie_algebra *a = close_set(&set);
    check_purities(a, 3, &rng);
    qml_lie_algebra_free(a);
    set_free(&set);

    set_add(&set, 3, "X0 + 2 X1");
    set_add(&set, 3, "Z0");
    set_add(&set, 3, "Z1");
    set_add(&set, 3, "Z2");
    a = close_set(&set);
    check_purities(a, 3, &rng);
    qml_lie_algebra_free(a);
    set_free(&set);

    tfim_generators(&set, 4);
    a = close_set(&set);
    check_purities(a, 4, &rng);
    /* a statevector from statevec.c gives the same purities as the stack one */
    {
        test_state ts;
        state_random(&ts, 4, &rng);
        qml_statevec *sv = NULL;
        assert_ok(qml_statevec_create(&sv, 4));
        assert_ok(qml_statevec_set_amplitudes(sv, ts.amplitudes, 16, 1e-12));
        double t1, t2;
        assert_ok(qml_lie_algebra_state_purity(a, sv, &t1, NULL, 0, NULL));
        assert_ok(qml_lie_algebra_state_purity(a, &ts.state, &t2, NULL, 0, NULL));
        assert_close(t1, t2, 1e-14);
        qml_statevec_free(sv);
    }
    qml_lie_algebra_free(a);
    set_free(&set);

    hea_generators(&set, 2);
    a = close_set(&set);
    check_purities(a, 2, &rng);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* ---- predicted variances ------------------------------------------------------------ */

static void test_variance_closed_forms(void **state)
{
    (void)state;
    /* HEA: su(2^n), O = Z_0, rho = |0..0>: Var = 1/(2^n + 1). */
    for (unsigned n = 1; n <= 4; n++) {
        generator_set set = {0};
        hea_generators(&set, n);
        qml_lie_algebra *a = close_set(&set);
        test_state ts;
        state_zero(&ts, n);
        qml_pauli_sum *o = parse(n, "Z0");
        qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
        assert_ok(qml_lie_algebra_predict_variance(a, &ts.state, o, NULL, &p));
        assert_int_equal(p.hypothesis, QML_LIE_HYPOTHESIS_OBSERVABLE);
        assert_close(p.loss_variance, 1.0 / ((double)(1u << n) + 1.0), 1e-12);
        qml_lie_prediction q = QML_LIE_PREDICTION_INIT; /* NULL state = |0...0> */
        assert_ok(qml_lie_algebra_predict_variance(a, NULL, o, NULL, &q));
        assert_true(q.loss_variance == p.loss_variance);
        assert_close(p.loss_mean, 0.0, 1e-12);
        qml_pauli_sum_free(o);
        qml_lie_algebra_free(a);
        set_free(&set);
    }
    /* open TFIM, local weights: so(2n), O = Z0 Z1: Var = (n-1)/(n(2n-1)). */
    for (unsigned n = 2; n <= 6; n++) {
        generator_set set = {0};
        tfim_generators(&set, n);
        qml_lie_algebra *a = close_set(&set);
        test_state ts;
        state_zero(&ts, n);
        qml_pauli_sum *o = parse(n, "Z0 Z1");
        qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
        assert_ok(qml_lie_algebra_predict_variance(a, &ts.state, o, NULL, &p));
        assert_int_equal(p.hypothesis, QML_LIE_HYPOTHESIS_OBSERVABLE);
        assert_close(p.loss_variance, (double)(n - 1) / ((double)n * (2.0 * n - 1.0)), 1e-12);
        qml_pauli_sum_free(o);
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

/* One qubit, g = su(2) from {Y, Z}, O = Z, rho = |0>, G = Y. By hand: the
 * first-gate derivative is (R v)_z with v = (1, 0, 0) and R Haar on SO(3):
 * Var = 1/3. A middle gate: sigma = (n_z X - n_x Z)/2 for a Haar-random Bloch
 * vector n, so Var = E[n_x^2 + n_z^2] / 3 = 2/9. */
static void test_gradient_variances_single_qubit(void **state)
{
    (void)state;
    generator_set set = {0};
    set_add(&set, 1, "Y0");
    set_add(&set, 1, "Z0");
    qml_lie_algebra *a = close_set(&set);
    test_state ts;
    state_zero(&ts, 1);
    qml_pauli_sum *o = parse(1, "Z0");
    qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
    assert_ok(qml_lie_algebra_predict_variance(a, &ts.state, o, NULL, &p));
    assert_close(p.loss_variance, 1.0 / 3.0, 1e-12);
    assert_close(p.first_gate_gradient_variance, 1.0 / 3.0, 1e-12);
    assert_close(p.middle_gate_gradient_variance, 2.0 / 9.0, 1e-12);
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* The state in i g, the observable not: the formula still applies. */
static void test_variance_hypotheses(void **state)
{
    (void)state;
    generator_set set = {0};
    tfim_generators(&set, 3);
    qml_lie_algebra *a = close_set(&set);
    test_state ts;
    state_zero(&ts, 3);
    /* O = X0 X1 X2 is not in so(6), and |+++><+++| is not in i g + R I: the
     * formula does not apply. X0 X1 X2 is the fermion parity here (it
     * commutes with every X_i and Z_i Z_{i+1}), fixed by e^g: the exact
     * average gives mean <+++|X0 X1 X2|+++> = 1 and Var 0. */
    qml_pauli_sum *o = parse(3, "X0 X1 X2");
    test_state plus;
    state_zero(&plus, 3);
    for (size_t i = 0; i < 8; i++)
        plus.amplitudes[2 * i] = 1.0 / sqrt(8.0);
    qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
    assert_ok(qml_lie_algebra_predict_variance(a, &plus.state, o, NULL, &p));
    assert_int_equal(p.hypothesis, QML_LIE_HYPOTHESIS_NONE);
    assert_close(p.loss_variance, 0.0, 1e-12);
    assert_close(p.loss_mean, 1.0, 1e-12);
    assert_true(isnan(p.first_gate_gradient_variance));
    assert_non_null(strstr(p.message, "exactly"));
    qml_pauli_sum_free(o);
    /* An identity offset changes the mean, not the variance. */
    o = parse(3, "Z0 Z1 + 0.5");
    assert_ok(qml_lie_algebra_predict_variance(a, &ts.state, o, NULL, &p));
    assert_close(p.loss_mean, 0.5, 1e-12);
    assert_close(p.loss_variance, 2.0 / 15.0, 1e-12);
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    set_free(&set);
    assert_string_equal(qml_lie_hypothesis_string(QML_LIE_HYPOTHESIS_STATE), "the state lies in i g");
    assert_string_equal(qml_lie_hypothesis_string((qml_lie_hypothesis)99), "unknown");
    assert_int_equal(QML_LIE_HYPOTHESIS_OBSERVABLE, 0);
    assert_int_equal(QML_LIE_HYPOTHESIS_STATE, 1);
    assert_int_equal(QML_LIE_HYPOTHESIS_NONE, 2);

    /* centre: g = {Z0, Z1} abelian: everything is fixed, Var = 0, mean = <Z0> */
    set_add(&set, 2, "Z0");
    set_add(&set, 2, "Z1");
    a = close_set(&set);
    state_zero(&ts, 2);
    o = parse(2, "Z0");
    assert_ok(qml_lie_algebra_predict_variance(a, &ts.state, o, NULL, &p));
    assert_close(p.loss_variance, 0.0, 1e-15);
    assert_close(p.loss_mean, 1.0, 1e-12);
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* The circuit link: weights' generators, shared weights summed. */
static void test_from_circuit(void **state)
{
    (void)state;
    qml_circuit *c = NULL;
    qml_lie_algebra *a = NULL;
    assert_ok(qml_circuit_create(&c, 4));
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_TFIM, 2));
    assert_ok(qml_lie_algebra_from_circuit(&a, c, NULL));
    assert_int_equal(qml_lie_algebra_dim(a), 4 * 7); /* so(8) */
    qml_lie_algebra_free(a);
    qml_circuit_free(c);
    assert_ok(qml_circuit_create(&c, 3));
    assert_ok(qml_ansatz_hardware_efficient(c, 2, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN));
    assert_ok(qml_lie_algebra_from_circuit(&a, c, NULL));
    /* RY, RZ and fixed CZs: the generators moved through the CZ ladder
     * (V^dag G V) generate su(8); the raw Y_i, Z_i alone would give su(2)^3 */
    assert_int_equal(qml_lie_algebra_dim(a), 63);
    assert_true(qml_lie_algebra_is_full(a));
    qml_lie_algebra_free(a);
    qml_circuit_free(c);
    /* shared weights: {sum X_i, sum Z_i, sum Z_i Z_j} on 3 qubits = the S_n algebra */
    assert_ok(qml_circuit_create(&c, 3));
    assert_ok(qml_ansatz_family_append(c, QML_ANSATZ_SN, 1));
    assert_ok(qml_lie_algebra_from_circuit(&a, c, NULL));
    assert_int_equal(qml_lie_algebra_dim(a), 19);
    qml_lie_algebra_free(a);
    qml_circuit_free(c);
    assert_ok(qml_circuit_create(&c, 2));
    assert_status(qml_lie_algebra_from_circuit(&a, c, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_lie_algebra_from_circuit(&a, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    qml_circuit_free(c);
}

/* Neither O nor rho in i g: the exact average on the g-module of O,
 * against hand computations. */
static void test_exact_module_average(void **state)
{
    (void)state;
    harness_rng rng = {4242};
    /* collective su(2) {X0 + X1, Z0 + Z1} on 2 qubits, O = Z0: U = u (x) u,
     * l = <psi| (R z).sigma_0 |psi> = (R z) . r0 with r0 the Bloch vector of
     * qubit 0, so E[l] = 0 and Var = |r0|^2 / 3. */
    generator_set set = {0};
    set_add(&set, 2, "X0 + X1");
    set_add(&set, 2, "Z0 + Z1");
    qml_lie_algebra *a = close_set(&set);
    assert_int_equal(qml_lie_algebra_dim(a), 3);
    qml_pauli_sum *o = parse(2, "Z0");
    for (int trial = 0; trial < 3; trial++) {
        test_state ts;
        if (trial == 0)
            state_zero(&ts, 2);
        else
            state_random(&ts, 2, &rng);
        double r2 = 0, m[2 * 16];
        const char *axes[3] = {"XI", "YI", "ZI"};
        for (int k = 0; k < 3; k++) {
            harness_pauli_matrix(2, axes[k], m);
            double e = dense_expectation(4, m, ts.amplitudes);
            r2 += e * e;
        }
        qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
        assert_ok(qml_lie_algebra_predict_variance(a, &ts.state, o, NULL, &p));
        assert_int_equal(p.hypothesis, QML_LIE_HYPOTHESIS_NONE);
        /* eigen-decompositions of 9 x 9 and 81 x 81 matrices: 1e-10 */
        assert_close(p.loss_variance, r2 / 3.0, 1e-10);
        assert_close(p.loss_mean, 0.0, 1e-10);
    }
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    set_free(&set);

    /* su(2) on qubit 0 of 2, O = Z0 Z1 + 0.5 X1, rho = |00>: l = (R z)_z * <Z1> + 0.5 <X1>
     * = (R z)_z: mean 0, Var 1/3 */
    set_add(&set, 2, "X0");
    set_add(&set, 2, "Y0");
    a = close_set(&set);
    o = parse(2, "Z0 Z1 + 0.5 X1");
    test_state ts;
    state_zero(&ts, 2);
    qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
    assert_ok(qml_lie_algebra_predict_variance(a, &ts.state, o, NULL, &p));
    assert_int_equal(p.hypothesis, QML_LIE_HYPOTHESIS_NONE);
    assert_close(p.loss_variance, 1.0 / 3.0, 1e-10);
    assert_close(p.loss_mean, 0.0, 1e-10);
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    set_free(&set);

    /* a module larger than the exact average handles: NOT_APPLICABLE */
    for (unsigned i = 0; i < 4; i++) {
        char text[16];
        snprintf(text, sizeof text, "X%u", i);
        set_add(&set, 4, text);
        snprintf(text, sizeof text, "Y%u", i);
        set_add(&set, 4, text);
    }
    a = close_set(&set);
    o = parse(4, "Z0 Z1 Z2 Z3"); /* module: the 3^4 products of Paulis */
    state_zero(&ts, 4);
    assert_status(qml_lie_algebra_predict_variance(a, &ts.state, o, NULL, &p), QML_ERR_NOT_APPLICABLE);
    assert_int_equal(p.hypothesis, QML_LIE_HYPOTHESIS_NONE);
    assert_true(isnan(p.loss_variance));
    assert_non_null(strstr(qml_last_error(), "neither"));
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* ---- limits, cancellation, validation, allocation ------------------------------------ */

/* Generators with a partial qubit-permutation symmetry (blocks {0, 1},
 * {2}, {3}; non-unit coefficients) close in orbit coordinates: the
 * dimension equals the dense closure's, the expanded basis is orthonormal
 * and closed, and it lies in the dense algebra (adding the basis elements to
 * the dense closure's generators leaves its dimension unchanged). A copy whose
 * coefficients break the symmetry closes on strings and must also agree. */
static void test_orbit_coordinates(void **state)
{
    (void)state;
    static const char *const symmetric[] = {"X0 + X1", "0.5 Z0 + 0.5 Z1", "Z0 Z2 + Z1 Z2", "Y2 Y3", "0.25 X3"};
    static const char *const broken[] = {"X0 + 0.75 X1", "0.5 Z0 + 0.5 Z1", "Z0 Z2 + Z1 Z2", "Y2 Y3", "0.25 X3"};
    const char *const *families[] = {symmetric, broken};
    for (int f = 0; f < 2; f++) {
        generator_set set = {0};
        for (size_t k = 0; k < 5; k++)
            set_add(&set, 4, families[f][k]);
        qml_lie_algebra *a = close_set(&set);
        size_t dim = qml_lie_algebra_dim(a);
        assert_int_equal(dim, dense_closure_dim(&set, 4));
        check_basis_and_closure(a);
        for (size_t i = 0; i < dim; i++)
            assert_ok(qml_lie_algebra_basis_element(a, i, &set.items[set.count++]));
        assert_int_equal(dense_closure_dim(&set, 4), dim);
        qml_lie_algebra_free(a);
        set_free(&set);
    }
    /* the partial algebra of max_dim is expanded too: orthonormal strings sums */
    generator_set set = {0};
    sn_generators(&set, 5);
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.max_dim = 20;
    qml_lie_algebra *a = NULL;
    assert_status(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options),
                  QML_ERR_LIMIT);
    assert_int_equal(qml_lie_algebra_dim(a), 20);
    for (size_t i = 0; i < 20; i++) {
        qml_pauli_sum *b = NULL;
        double norm;
        assert_ok(qml_lie_algebra_basis_element(a, i, &b));
        assert_ok(qml_pauli_sum_norm(b, &norm));
        assert_close(norm, 1.0, 1e-12); /* unit up to rounding of the expansion */
        qml_pauli_sum_free(b);
    }
    qml_lie_algebra_free(a);
    set_free(&set);
}

static void test_max_dim_partial(void **state)
{
    (void)state;
    generator_set set = {0};
    hea_generators(&set, 3);
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.max_dim = 10;
    qml_lie_algebra *a = NULL;
    assert_status(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options),
                  QML_ERR_LIMIT);
    assert_non_null(a);
    assert_int_equal(qml_lie_algebra_dim(a), 10);
    assert_false(qml_lie_algebra_structure_known(a));
    assert_int_equal(qml_lie_algebra_n_ideals(a), 0);
    qml_lie_algebra_free(a);
    set_free(&set);
    /* the general engine too */
    sn_generators(&set, 4);
    a = NULL;
    assert_status(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options),
                  QML_ERR_LIMIT);
    assert_non_null(a);
    assert_int_equal(qml_lie_algebra_dim(a), 10);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* The open TFIM chain {X_i, Z_i Z_i+1} with each generator but the last
 * replaced by its sum with the next one: the same span, hence so(2n), but a
 * basis that is not made of strings (the general engine). */
static void tfim_pair_sums(generator_set *set, unsigned n)
{
    generator_set strings = {0};
    tfim_generators(&strings, n);
    char text[128], a[48], b[48];
    for (size_t k = 0; k < strings.count; k++) {
        if (k < (size_t)n)
            snprintf(a, sizeof a, "X%zu", k);
        else
            snprintf(a, sizeof a, "Z%zu Z%zu", k - n, k - n + 1);
        if (k + 1 < (size_t)n)
            snprintf(b, sizeof b, "X%zu", k + 1);
        else if (k + 1 < strings.count)
            snprintf(b, sizeof b, "Z%zu Z%zu", k + 1 - n, k + 2 - n);
        else
            b[0] = '\0';
        if (b[0])
            snprintf(text, sizeof text, "%s + %s", a, b);
        else
            snprintf(text, sizeof text, "%s", a);
        set_add(set, n, text);
    }
    set_free(&strings);
}

/* Whether the structure is known, and why not: known (sums, and the full
 * su(2^n) of sums at 4095 without the dense analysis), partial, above the
 * cap of the dense analysis (reported, not silent). */
static void test_structure_state(void **state)
{
    (void)state;
    generator_set set = {0};
    qml_lie_structure_state st = QML_LIE_STRUCTURE_PARTIAL;
    size_t cap = 0;
    /* so(16) from sums: known, one simple ideal of rank 8 */
    tfim_pair_sums(&set, 8);
    qml_lie_algebra *a = close_set(&set);
    assert_int_equal(qml_lie_algebra_dim(a), 120);
    assert_ok(qml_lie_algebra_structure_state(a, &st, &cap));
    assert_int_equal(st, QML_LIE_STRUCTURE_KNOWN);
    assert_int_equal(cap, 4000);
    assert_true(qml_lie_algebra_structure_known(a));
    assert_int_equal(qml_lie_algebra_center_dim(a), 0);
    assert_int_equal(qml_lie_algebra_n_ideals(a), 1);
    size_t dim = 0, rank = 0;
    assert_ok(qml_lie_algebra_ideal(a, 0, &dim, &rank, NULL));
    assert_int_equal(dim, 120);
    assert_int_equal(rank, 8);
    qml_lie_algebra_free(a);
    set_free(&set);
    /* so(92) from sums, dim 4186 > 4000: above the cap of the dense
     * analysis, but spanned by Pauli strings: known, so(92) */
    tfim_pair_sums(&set, 46);
    a = close_set(&set);
    assert_int_equal(qml_lie_algebra_dim(a), 4186);
    assert_ok(qml_lie_algebra_structure_state(a, &st, NULL));
    assert_int_equal(st, QML_LIE_STRUCTURE_KNOWN);
    assert_int_equal(qml_lie_algebra_n_ideals(a), 1);
    assert_int_equal(qml_lie_algebra_center_dim(a), 0);
    const char *so_names = NULL;
    assert_ok(qml_lie_algebra_ideal(a, 0, &dim, &rank, &so_names));
    assert_int_equal(dim, 4186);
    assert_int_equal(rank, 46);
    assert_string_equal(so_names, "so(92)");
    qml_lie_algebra_free(a);
    set_free(&set);
    /* the same plus two commuting sums that share their strings (not
     * spanned by strings; the commuting clusters' bases are not orthogonal,
     * so they decline): above the cap, said so. (Beside a Heisenberg chain
     * instead, the clusters decide it: tests/test_lie_sums.c.) */
    {
        /* tfim_pair_sums(46) on 49 qubits: X_k + X_k+1, ..., Z_k Z_k+1 + ... */
        char text[64];
        for (unsigned k = 0; k < 91; k++) {
            char first[24], second[24] = "";
            if (k < 46)
                snprintf(first, sizeof first, "X%u", k);
            else
                snprintf(first, sizeof first, "Z%u Z%u", k - 46, k - 45);
            if (k + 1 < 46)
                snprintf(second, sizeof second, " + X%u", k + 1);
            else if (k + 1 < 91)
                snprintf(second, sizeof second, " + Z%u Z%u", k - 45, k - 44);
            snprintf(text, sizeof text, "%s%s", first, second);
            set_add(&set, 49, text);
        }
    }
    set_add(&set, 49, "X46 X47 + Y46 Y47 + Z46 Z47");
    set_add(&set, 49, "X46 X47 + Y46 Y47 + Z46 Z47 + Z48");
    /* the iterative analysis (lie_krylov.c) stops at its work cap, here a
     * small one so that the test stays short (its ideal so(92) would cost
     * ~4 d^3), and says so */
    qml__lie_krylov_max_work = 1e8;
    a = close_set(&set);
    qml__lie_krylov_max_work = LIE_KRYLOV_MAX_WORK;
    assert_int_equal(qml_lie_algebra_dim(a), 4188);
    assert_ok(qml_lie_algebra_structure_state(a, &st, NULL));
    assert_int_equal(st, QML_LIE_STRUCTURE_ABOVE_CAP);
    assert_non_null(strstr(qml_lie_algebra_structure_message(a), "iterative structure analysis"));
    assert_false(qml_lie_algebra_structure_known(a));
    assert_int_equal(qml_lie_algebra_n_ideals(a), 0);
    assert_int_equal(qml_lie_algebra_center_dim(a), 0);
    qml_lie_algebra_free(a);
    set_free(&set);
    /* the HEA with one sum generator at n = 6: dim 4095 = su(64), above the
     * cap but known without analysis */
    char text[256] = "";
    for (unsigned q = 0; q < 6; q++) {
        char piece[16];
        snprintf(piece, sizeof piece, "X%u", q);
        set_add(&set, 6, piece);
        snprintf(piece, sizeof piece, "Y%u", q);
        set_add(&set, 6, piece);
        if (q + 1 < 6) {
            snprintf(piece, sizeof piece, "%sZ%u Z%u", q ? " + " : "", q, q + 1);
            strcat(text, piece);
        }
    }
    set_add(&set, 6, text);
    a = close_set(&set);
    assert_int_equal(qml_lie_algebra_dim(a), 4095);
    assert_ok(qml_lie_algebra_structure_state(a, &st, NULL));
    assert_int_equal(st, QML_LIE_STRUCTURE_KNOWN);
    assert_true(qml_lie_algebra_is_full(a));
    assert_int_equal(qml_lie_algebra_n_ideals(a), 1);
    assert_ok(qml_lie_algebra_ideal(a, 0, &dim, &rank, NULL));
    assert_int_equal(dim, 4095);
    assert_int_equal(rank, 63);
    /* g = su(64): every traceless operator has full purity in the ideal */
    qml_pauli_sum *o = parse(6, "Z0 Z3 + X2");
    double total = 0, per[2] = {0};
    size_t count = 0;
    assert_ok(qml_lie_algebra_purity(a, o, &total, per, 2, &count));
    assert_int_equal(count, 2);
    assert_true(fabs(total - 2.0 * 64.0) < 1e-9 * 128.0); /* Tr(O^2) = 2 * 2^6 */
    assert_true(fabs(per[0] - total) < 1e-9 * 128.0);
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    set_free(&set);
    /* (S_n at n = 14, whose breadth-first basis is not closed, is rebuilt by
     * the pivoted closure and fully resolved: test_lie_exact.c) */
    /* partial */
    sn_generators(&set, 4);
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.max_dim = 10;
    a = NULL;
    assert_status(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options),
                  QML_ERR_LIMIT);
    assert_ok(qml_lie_algebra_structure_state(a, &st, NULL));
    assert_int_equal(st, QML_LIE_STRUCTURE_PARTIAL);
    qml_lie_algebra_free(a);
    set_free(&set);
}

static int cancel_after(const char *stage, size_t done, size_t total, void *user)
{
    (void)stage;
    (void)done;
    (void)total;
    int *calls = user;
    return ++*calls >= 2;
}

static void test_cancellation(void **state)
{
    (void)state;
    generator_set set = {0};
    sn_generators(&set, 6);
    int calls = 0;
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.progress = cancel_after;
    options.progress_user = &calls;
    qml_lie_algebra *a = NULL;
    assert_status(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options),
                  QML_ERR_CANCELLED);
    assert_null(a);
    assert_int_equal(calls, 2);
    set_free(&set);
}

/* ---- threads, the product cache, many words ------------------------------------------ */

/* {X_i X_{i+1} + Y_i Y_{i+1} + Z_i Z_{i+1}} open: the Heisenberg exchange. */
static void heisenberg_generators(generator_set *set, unsigned n)
{
    char text[128];
    for (unsigned i = 0; i + 1 < n; i++) {
        snprintf(text, sizeof text, "X%u X%u + Y%u Y%u + Z%u Z%u", i, i + 1, i, i + 1, i, i + 1);
        set_add(set, n, text);
    }
}

/* Every coefficient of every basis, centre and ideal element of a and b is
 * bitwise equal (same strings in the same order). */
static void assert_same_bits(const qml_lie_algebra *a, const qml_lie_algebra *b)
{
    assert_int_equal(qml_lie_algebra_dim(a), qml_lie_algebra_dim(b));
    assert_int_equal(qml_lie_algebra_center_dim(a), qml_lie_algebra_center_dim(b));
    assert_int_equal(qml_lie_algebra_n_ideals(a), qml_lie_algebra_n_ideals(b));
    unsigned n = qml_lie_algebra_n_qubits(a);
    char sa[80], sb[80];
    for (size_t kind = 0; kind < 2 + qml_lie_algebra_n_ideals(a); kind++) {
        size_t count = kind == 0 ? qml_lie_algebra_dim(a) : kind == 1 ? qml_lie_algebra_center_dim(a) : 0;
        if (kind >= 2) {
            size_t da, db, ra, rb;
            const char *na, *nb;
            assert_ok(qml_lie_algebra_ideal(a, kind - 2, &da, &ra, &na));
            assert_ok(qml_lie_algebra_ideal(b, kind - 2, &db, &rb, &nb));
            assert_int_equal(da, db);
            assert_int_equal(ra, rb);
            assert_string_equal(na, nb);
            count = da;
        }
        for (size_t i = 0; i < count; i++) {
            qml_pauli_sum *ea = NULL, *eb = NULL;
            if (kind == 0) {
                assert_ok(qml_lie_algebra_basis_element(a, i, &ea));
                assert_ok(qml_lie_algebra_basis_element(b, i, &eb));
            } else if (kind == 1) {
                assert_ok(qml_lie_algebra_center_element(a, i, &ea));
                assert_ok(qml_lie_algebra_center_element(b, i, &eb));
            } else {
                assert_ok(qml_lie_algebra_ideal_element(a, kind - 2, i, &ea));
                assert_ok(qml_lie_algebra_ideal_element(b, kind - 2, i, &eb));
            }
            assert_int_equal(qml_pauli_sum_n_terms(ea), qml_pauli_sum_n_terms(eb));
            for (size_t t = 0; t < qml_pauli_sum_n_terms(ea); t++) {
                double ca, cb;
                assert_true(n < sizeof sa);
                assert_ok(qml_pauli_sum_term(ea, t, &ca, sa));
                assert_ok(qml_pauli_sum_term(eb, t, &cb, sb));
                assert_string_equal(sa, sb);
                assert_memory_equal(&ca, &cb, sizeof ca); /* bitwise, not within a tolerance */
            }
            qml_pauli_sum_free(ea);
            qml_pauli_sum_free(eb);
        }
    }
}

/* Same inputs, same bits, whatever n_threads: the dense structure kernels
 * split rows over threads; the algebras here are large enough (dim 40-129)
 * that the split really happens (grain 16 rows). */
static void test_thread_count_invariance(void **state)
{
    (void)state;
    for (int family = 0; family < 3; family++) {
        generator_set set = {0};
        if (family == 0)
            heisenberg_generators(&set, 5); /* dim 40: centre + 2 ideals */
        else if (family == 1)
            sn_generators(&set, 5); /* dim 54: centre + 3 ideals */
        else
            heisenberg_generators(&set, 6); /* dim 129 */
        qml_lie_algebra *one = NULL;
        qml_lie_options options = QML_LIE_OPTIONS_INIT;
        assert_ok(qml_lie_algebra_create(&one, (const qml_pauli_sum *const *)set.items, set.count, &options));
        for (unsigned threads = 2; threads <= 3; threads++) {
            qml_lie_algebra *many = NULL;
            options.n_threads = threads;
            assert_ok(qml_lie_algebra_create(&many, (const qml_pauli_sum *const *)set.items, set.count, &options));
            assert_same_bits(one, many);
            qml_lie_algebra_free(many);
        }
        qml_lie_algebra_free(one);
        set_free(&set);
    }
}

static int count_stages(const char *stage, size_t done, size_t total, void *user)
{
    (void)done;
    (void)total;
    size_t *counts = user;
    counts[strcmp(stage, "closure") == 0 ? 0 : strcmp(stage, "structure") == 0 ? 1 : 2]++;
    return 0;
}

static int cancel_at_structure(const char *stage, size_t done, size_t total, void *user)
{
    (void)done;
    (void)total;
    (void)user;
    return strcmp(stage, "structure") == 0;
}

/* The progress stages: "closure" now and then, "structure" once before the
 * structure analysis, which the callback can cancel. */
static void test_progress_stages(void **state)
{
    (void)state;
    generator_set set = {0};
    heisenberg_generators(&set, 4);
    size_t counts[3] = {0};
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.progress = count_stages;
    options.progress_user = counts;
    qml_lie_algebra *a = NULL;
    assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options));
    assert_true(counts[0] >= 1);
    assert_int_equal(counts[1], 1);
    assert_int_equal(counts[2], 0);
    qml_lie_algebra_free(a);
    a = NULL;
    options.progress = cancel_at_structure;
    assert_status(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options),
                  QML_ERR_CANCELLED);
    assert_null(a);
    set_free(&set);
}

/* The product cache and the dictionary on many words: the same generators on
 * qubits {0, 1} and on qubits {0, 599} (10 words per mask, beyond the
 * cache's on-stack product) give the same algebra, and the 2-qubit one the
 * dense closure's dimension; Heisenberg n = 4, 5 against the dense closure
 * (cached products reused across many basis elements). */
static void test_cache_and_wide_strings(void **state)
{
    (void)state;
    static const char *narrow[] = {"X0 + 0.5 X1", "Z0 Z1 + Y1"}, *wide[] = {"X0 + 0.5 X599", "Z0 Z599 + Y599"};
    generator_set small = {0}, big = {0};
    for (int k = 0; k < 2; k++) {
        set_add(&small, 2, narrow[k]);
        set_add(&big, 600, wide[k]);
    }
    qml_lie_algebra *a = close_set(&small), *b = close_set(&big);
    assert_int_equal(qml_lie_algebra_dim(a), dense_closure_dim(&small, 2));
    assert_int_equal(qml_lie_algebra_dim(a), qml_lie_algebra_dim(b));
    assert_int_equal(qml_lie_algebra_center_dim(a), qml_lie_algebra_center_dim(b));
    assert_int_equal(qml_lie_algebra_n_ideals(a), qml_lie_algebra_n_ideals(b));
    /* purities do not care which qubits: P(Z_0) alike */
    qml_pauli_sum *za = parse(2, "Z0"), *zb = parse(600, "Z0");
    double pa, pb;
    assert_ok(qml_lie_algebra_purity(a, za, &pa, NULL, 0, NULL));
    assert_ok(qml_lie_algebra_purity(b, zb, &pb, NULL, 0, NULL));
    /* relative to 2^n: P = 2^n sum_a c_a^2 with the same c_a */
    assert_true(fabs(pa / 4.0 - ldexp(pb, -600)) <= 1e-12);
    qml_pauli_sum_free(za);
    qml_pauli_sum_free(zb);
    qml_lie_algebra_free(a);
    qml_lie_algebra_free(b);
    set_free(&small);
    set_free(&big);
    for (unsigned n = 4; n <= 5; n++) {
        generator_set set = {0};
        heisenberg_generators(&set, n);
        a = close_set(&set);
        assert_int_equal(qml_lie_algebra_dim(a), dense_closure_dim(&set, n));
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

static void test_validation(void **state)
{
    (void)state;
    qml_lie_algebra *a = NULL;
    qml_pauli_sum *g[2] = {parse(2, "X0"), parse(3, "Z0")};
    assert_status(qml_lie_algebra_create(NULL, (const qml_pauli_sum *const *)g, 1, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_lie_algebra_create(&a, NULL, 1, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)g, 0, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)g, 2, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "generator 1"));
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.tolerance = NAN;
    assert_status(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)g, 1, &options), QML_ERR_INVALID_ARGUMENT);
    options.tolerance = 1e-9;
    options.size = 0;
    assert_status(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)g, 1, &options), QML_ERR_INVALID_ARGUMENT);
    assert_null(a);
    assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)g, 1, NULL));
    qml_pauli_sum *e = NULL;
    assert_status(qml_lie_algebra_basis_element(a, 1, &e), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_lie_algebra_basis_element(NULL, 0, &e), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_lie_algebra_ideal(a, 0, NULL, NULL, NULL), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_lie_algebra_center_element(a, 1, &e), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_lie_algebra_ideal_element(a, 0, 0, &e), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_lie_algebra_purity(a, g[1], NULL, NULL, 0, NULL), QML_ERR_INVALID_ARGUMENT);
    qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
    test_state ts;
    state_zero(&ts, 2);
    p.size = 3;
    assert_status(qml_lie_algebra_predict_variance(a, &ts.state, g[0], NULL, &p), QML_ERR_INVALID_ARGUMENT);
    assert_int_equal(qml_lie_algebra_dim(NULL), 0);
    assert_int_equal(qml_lie_algebra_n_qubits(NULL), 0);
    assert_int_equal(qml_lie_algebra_center_dim(NULL), 0);
    assert_int_equal(qml_lie_algebra_is_full(NULL), 0);
    qml_lie_algebra_free(a);
    qml_lie_algebra_free(NULL);
    qml_pauli_sum_free(g[0]);
    qml_pauli_sum_free(g[1]);
}

/* ---- the dense kernels of the structure analysis (lie_dense.c) ------------ */

/* c = a b by the plain triple loop, k ascending */
static void plain_product(size_t n, const double *a, const double *b, double *c)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double x = 0;
            for (size_t k = 0; k < n; k++)
                x += a[i * n + k] * b[k * n + j];
            c[i * n + j] = x;
        }
}

/* Products against the triple loop at sizes around the 4 x 4 tiles and the
 * 64 x 256 panels (odd sizes too), dense and sparse left factors (the two
 * kernels), full, symmetric (a a for antisymmetric a) and antisymmetric
 * (b a b) results; the same bits with one and two threads. Every
 * entry sums over k in ascending order in all three codes, so they agree
 * to the last bit up to contraction into fused multiply-adds, which the
 * tolerance 1e-13 (relative to n max|a| max|b|) allows. */
static void test_dense_products(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 63, 64, 65, 67, 129, 255, 257, 301};
    harness_rng rng = {0x5eed0001};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        double *a = malloc(n * n * sizeof *a), *b = malloc(n * n * sizeof *b);
        double *c = malloc(n * n * sizeof *c), *c2 = malloc(n * n * sizeof *c2), *ref = malloc(n * n * sizeof *ref);
        assert_true(a && b && c && c2 && ref);
        for (int sparse = 0; sparse < 2; sparse++) {
            /* antisymmetric a and b; sparse: about 1 entry in 20 of a */
            memset(a, 0, n * n * sizeof *a);
            for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++) {
                    double v = sparse && harness_uniform(&rng) > 0.05 ? 0.0 : harness_normal(&rng);
                    a[i * n + j] = v;
                    a[j * n + i] = -v;
                }
            for (size_t i = 0; i < n; i++)
                for (size_t j = i; j < n; j++) {
                    double v = i == j ? 0.0 : harness_normal(&rng);
                    b[i * n + j] = v;
                    b[j * n + i] = -v;
                }
            double amax = 1e-300, bmax = 1e-300;
            for (size_t i = 0; i < n * n; i++) {
                amax = fmax(amax, fabs(a[i]));
                bmax = fmax(bmax, fabs(b[i]));
            }
            double tol = 1e-13 * (double)n * amax * bmax;
            /* full */
            plain_product(n, a, b, ref);
            qml__lie_product(1, n, a, b, c, QML__LIE_PRODUCT_FULL);
            for (size_t i = 0; i < n * n; i++)
                assert_true(fabs(c[i] - ref[i]) <= tol);
            qml__lie_product(2, n, a, b, c2, QML__LIE_PRODUCT_FULL);
            assert_memory_equal(c, c2, n * n * sizeof *c);
            /* symmetric: a a (a antisymmetric) */
            plain_product(n, a, a, ref);
            qml__lie_product(1, n, a, a, c, QML__LIE_PRODUCT_SYMMETRIC);
            for (size_t i = 0; i < n * n; i++)
                assert_true(fabs(c[i] - ref[i]) <= 1e-13 * (double)n * amax * amax);
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                    assert_true(c[i * n + j] == c[j * n + i]);
            qml__lie_product(2, n, a, a, c2, QML__LIE_PRODUCT_SYMMETRIC);
            assert_memory_equal(c, c2, n * n * sizeof *c);
            /* antisymmetric: [a, b] from one product */
            plain_product(n, a, b, ref);
            plain_product(n, b, a, c2);
            for (size_t i = 0; i < n * n; i++)
                ref[i] -= c2[i];
            qml__lie_product(1, n, a, b, c, QML__LIE_PRODUCT_FULL);
            qml__lie_antisymmetric_part(n, c);
            for (size_t i = 0; i < n * n; i++)
                assert_true(fabs(c[i] - ref[i]) <= 2 * tol);
            /* W^T M W is antisymmetric for antisymmetric M: the upper
             * triangle computed, mirrored with the sign */
            qml__lie_transpose(n, b, c2); /* c2 = b^T = -b */
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                    assert_true(c2[i * n + j] == b[j * n + i]);
            qml__lie_product(1, n, a, b, c2, QML__LIE_PRODUCT_FULL); /* a b */
            plain_product(n, b, c2, ref);                               /* b a b */
            qml__lie_product(1, n, b, c2, c, QML__LIE_PRODUCT_ANTISYMMETRIC);
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++) {
                    assert_true(fabs(c[i * n + j] - ref[i * n + j]) <= 1e-12 * (double)n * (double)n * amax * bmax * bmax);
                    assert_true(c[i * n + j] == -c[j * n + i]);
                }
        }
        free(a);
        free(b);
        free(c);
        free(c2);
        free(ref);
    }
}

/* The eigensolver: residual ||A v - lambda v|| and orthogonality of the
 * vectors, eigenvalues ascending and equal to those computed without
 * vectors, on random symmetric matrices at sizes that cross the 8-row
 * blocks and (731: about 4 * 10^5 rotations > 2^18 recorded at a time)
 * the flushes of the recorded sweeps, and on -X^2 for a random
 * antisymmetric X of odd size (eigenvalues in pairs, one 0): tolerances
 * 1e-12 n ||A|| (backward-stable Householder and QL). */
static void test_dense_eigen(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 8, 9, 17, 100, 731};
    harness_rng rng = {0x5eed0002};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        for (int kind = 0; kind < 2; kind++) {
            if (kind == 1 && n > 101)
                continue;
            size_t m = kind ? (n | 1) : n; /* -X^2: an odd size */
            double *a = malloc(m * m * sizeof *a), *v = malloc(m * m * sizeof *v), *w = malloc(m * sizeof *w);
            double *w2 = malloc(m * sizeof *w2), *r = malloc(m * sizeof *r);
            assert_true(a && v && w && w2 && r);
            if (kind == 0) {
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j <= i; j++)
                        a[i * m + j] = a[j * m + i] = harness_normal(&rng);
            } else {
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j <= i; j++) {
                        double x = i == j ? 0.0 : harness_normal(&rng);
                        v[i * m + j] = x;
                        v[j * m + i] = -x;
                    }
                plain_product(m, v, v, a);
                for (size_t i = 0; i < m * m; i++)
                    a[i] = -a[i];
                for (size_t i = 0; i < m; i++) /* exactly symmetric */
                    for (size_t j = 0; j < i; j++)
                        a[i * m + j] = a[j * m + i];
            }
            double norm = 0;
            for (size_t i = 0; i < m * m; i++)
                norm += a[i] * a[i];
            norm = sqrt(norm);
            memcpy(v, a, m * m * sizeof *v);
            assert_ok(qml__lie_symmetric_eigen(m, v, w, true));
            memcpy(w2, a, m * sizeof *w2); /* scratch for the eigenvalues-only run */
            double *u = malloc(m * m * sizeof *u);
            assert_non_null(u);
            memcpy(u, a, m * m * sizeof *u);
            assert_ok(qml__lie_symmetric_eigen(m, u, w2, false));
            free(u);
            double tol = 1e-12 * (double)m * fmax(norm, 1e-300);
            for (size_t j = 0; j < m; j++) {
                if (j)
                    assert_true(w[j - 1] <= w[j]);
                assert_true(fabs(w[j] - w2[j]) <= tol);
                const double *x = v + j * m; /* eigenvector j: contiguous */
                for (size_t i = 0; i < m; i++) {
                    double y = 0;
                    for (size_t k = 0; k < m; k++)
                        y += a[i * m + k] * x[k];
                    r[i] = y - w[j] * x[i];
                }
                double res = 0;
                for (size_t i = 0; i < m; i++)
                    res += r[i] * r[i];
                assert_true(sqrt(res) <= tol);
                for (size_t q = 0; q <= j; q++) {
                    double d = 0;
                    for (size_t i = 0; i < m; i++)
                        d += x[i] * v[q * m + i];
                    assert_true(fabs(d - (q == j ? 1.0 : 0.0)) <= 1e-12 * (double)m);
                }
            }
            if (kind == 1) /* -X^2 of odd size: one zero eigenvalue, the rest in pairs */
                assert_true(fabs(w[0]) <= tol);
            /* the portable build against the one this processor takes
             * (AVX2 on most x86-64): the same bits, values and vectors */
            {
                double *pv = malloc(m * m * sizeof *pv), *pw = malloc(m * sizeof *pw);
                assert_true(pv && pw);
                memcpy(pv, a, m * m * sizeof *pv);
                qml__eigen_path_override = 0;
                int st = qml__lie_symmetric_eigen(m, pv, pw, true);
                qml__eigen_path_override = -1;
                assert_ok(st);
                assert_memory_equal(pw, w, m * sizeof *w);
                assert_memory_equal(pv, v, m * m * sizeof *v);
                free(pv);
                free(pw);
            }
            free(a);
            free(v);
            free(w);
            free(w2);
            free(r);
        }
    }
}

/* {Y_q, X_q Y_q+1} (the comb) with each generator but the last replaced by
 * its sum with the next: sp(2^(n-2)) + u(1) from sums. */
static void comb_pair_sums(generator_set *set, unsigned n)
{
    char text[64];
    size_t count = 2 * (size_t)n - 1;
    for (size_t k = 0; k < count; k++) {
        char a[24], b[24] = "";
        if (k < n)
            snprintf(a, sizeof a, "Y%zu", k);
        else
            snprintf(a, sizeof a, "X%zu Y%zu", k - n, k - n + 1);
        if (k + 1 < n)
            snprintf(b, sizeof b, "Y%zu", k + 1);
        else if (k + 1 < count)
            snprintf(b, sizeof b, "X%zu Y%zu", k + 1 - n, k + 2 - n);
        if (b[0])
            snprintf(text, sizeof text, "%s + %s", a, b);
        else
            snprintf(text, sizeof text, "%s", a);
        set_add(set, n, text);
    }
}

/* The structure of algebras written as Pauli sums, with exact answers:
 * sp(8) + u(1) and sp(16) + u(1) (the comb), so(2n) at n = 12 and at
 * n = 32 (dim 2016: above the former cap of 2000; heavy, see harness.h). */
static void test_structure_of_sums(void **state)
{
    (void)state;
    for (unsigned n = 5; n <= 6; n++) {
        generator_set set = {0};
        comb_pair_sums(&set, n);
        qml_lie_algebra *a = close_set(&set);
        size_t r = (size_t)1 << (n - 2);
        assert_int_equal(qml_lie_algebra_dim(a), r * (2 * r + 1) + 1);
        assert_true(qml_lie_algebra_structure_known(a));
        assert_int_equal(qml_lie_algebra_center_dim(a), 1);
        assert_int_equal(qml_lie_algebra_n_ideals(a), 1);
        size_t dim = 0, rank = 0;
        const char *names = NULL;
        assert_ok(qml_lie_algebra_ideal(a, 0, &dim, &rank, &names));
        assert_int_equal(dim, r * (2 * r + 1));
        assert_int_equal(rank, r);
        assert_non_null(strstr(names, "sp("));
        qml_lie_algebra_free(a);
        set_free(&set);
    }
    static const unsigned so_n[] = {12, 32};
    /* so(32) (d = 2016, an O(d^3) dense analysis) is a heavy case */
    for (size_t i = 0; i < (harness_heavy() ? 2u : 1u); i++) {
        unsigned n = so_n[i];
        generator_set set = {0};
        tfim_pair_sums(&set, n);
        qml_lie_algebra *a = close_set(&set);
        assert_int_equal(qml_lie_algebra_dim(a), (size_t)n * (2 * n - 1));
        qml_lie_structure_state st = QML_LIE_STRUCTURE_PARTIAL;
        assert_ok(qml_lie_algebra_structure_state(a, &st, NULL));
        assert_int_equal(st, QML_LIE_STRUCTURE_KNOWN);
        assert_int_equal(qml_lie_algebra_center_dim(a), 0);
        assert_int_equal(qml_lie_algebra_n_ideals(a), 1);
        size_t dim = 0, rank = 0;
        const char *names = NULL;
        assert_ok(qml_lie_algebra_ideal(a, 0, &dim, &rank, &names));
        assert_int_equal(dim, (size_t)n * (2 * n - 1));
        assert_int_equal(rank, n);
        assert_non_null(strstr(names, "so("));
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

typedef struct alloc_context {
    const generator_set *set;
    const char *observable;
} alloc_context;

static int sequence_lie(void *context)
{
    const alloc_context *c = context;
    unsigned n = qml_pauli_sum_n_qubits(c->set->items[0]);
    qml_lie_algebra *a = NULL;
    int status = qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)c->set->items, c->set->count, NULL);
    if (status)
        return status;
    qml_pauli_sum *o = NULL, *e = NULL;
    status = qml_pauli_sum_parse(&o, n, c->observable);
    double total, per[16];
    size_t count;
    if (!status)
        status = qml_lie_algebra_purity(a, o, &total, per, 16, &count);
    test_state ts;
    state_zero(&ts, n);
    if (!status)
        status = qml_lie_algebra_state_purity(a, &ts.state, &total, per, 16, &count);
    qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
    if (!status)
        status = qml_lie_algebra_predict_variance(a, &ts.state, o, NULL, &p);
    if (!status)
        status = qml_lie_algebra_basis_element(a, 0, &e);
    qml_pauli_sum_free(e);
    e = NULL;
    if (!status && qml_lie_algebra_n_ideals(a))
        status = qml_lie_algebra_ideal_element(a, 0, 0, &e);
    qml_pauli_sum_free(e);
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    return status;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    generator_set set = {0};
    /* general sums with a centre: every branch of the general engine */
    set_add(&set, 3, "X0 + 2 X1");
    set_add(&set, 3, "Z0");
    set_add(&set, 3, "Z1");
    set_add(&set, 3, "Z2");
    alloc_context c = {&set, "Z0 + X1"};
    assert_true(harness_check_allocation_failures(sequence_lie, &c) > 10);
    c.observable = "Z0 Z2"; /* outside i g: the exact module average */
    assert_true(harness_check_allocation_failures(sequence_lie, &c) > 10);
    set_free(&set);
    /* more than 64 strings and 64 cached rows: the dictionary, the product
     * cache and the inverse index grow while the closure runs */
    sn_generators(&set, 4);
    c.observable = "Z0 + Z1 + Z2 + Z3"; /* in i g */
    assert_true(harness_check_allocation_failures(sequence_lie, &c) > 10);
    set_free(&set);
    /* sums closing to su(2^n): the structure without the dense analysis */
    set_add(&set, 2, "X0");
    set_add(&set, 2, "Y0");
    set_add(&set, 2, "X1");
    set_add(&set, 2, "Y1 + Z0 Z1");
    c.observable = "Z0 Z1";
    assert_true(harness_check_allocation_failures(sequence_lie, &c) > 10);
    set_free(&set);
    /* Pauli strings: the exact engine and a split component */
    tfim_generators(&set, 3);
    c.observable = "Z0 Z1";
    assert_true(harness_check_allocation_failures(sequence_lie, &c) > 10);
    set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hea_is_full),
        cmocka_unit_test(test_free_fermions_so2n),
        cmocka_unit_test(test_local_su2),
        cmocka_unit_test(test_permutation_equivariant),
        cmocka_unit_test(test_random_sums_against_dense),
        cmocka_unit_test(test_so4_two_ideals),
        cmocka_unit_test(test_centres),
        cmocka_unit_test(test_basis_orthonormal_and_closed),
        cmocka_unit_test(test_purities_against_dense),
        cmocka_unit_test(test_variance_closed_forms),
        cmocka_unit_test(test_gradient_variances_single_qubit),
        cmocka_unit_test(test_variance_hypotheses),
        cmocka_unit_test(test_exact_module_average),
        cmocka_unit_test(test_from_circuit),
        cmocka_unit_test(test_max_dim_partial),
        cmocka_unit_test(test_structure_state),
        cmocka_unit_test(test_orbit_coordinates),
        cmocka_unit_test(test_cancellation),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_thread_count_invariance),
        cmocka_unit_test(test_progress_stages),
        cmocka_unit_test(test_cache_and_wide_strings),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_dense_products),
        cmocka_unit_test(test_dense_eigen),
        cmocka_unit_test(test_structure_of_sums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

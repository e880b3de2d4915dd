/* test_lie_exact.c: Lie-algebra answers that must not depend on numerics:
 * strings on any qubit (masks wider than one word), exact dimensions of the
 * permutation-equivariant algebra against the closed form C(n+3,3) -
 * floor(n/2), scale invariance, conditioning figures and the certified flag,
 * flags and means that are true. */
#include "harness.h"
#include "lie_internal.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MAX_SN
#define MAX_SN 12
#endif
/* The largest n of the S_n structure test (dim 961 at n = 16: a few seconds,
 * most of it the dense structure analysis); 12 under AddressSanitizer, which
 * makes the dense analysis several times slower (n = 14, 16 then run in the
 * unsanitised suite only). */
#if defined(__SANITIZE_ADDRESS__)
#define QML_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QML_TEST_ASAN 1
#endif
#endif
#ifndef MAX_SN_STRUCTURE
#ifdef QML_TEST_ASAN
#define MAX_SN_STRUCTURE 12
#else
#define MAX_SN_STRUCTURE 16
#endif
#endif

/* ---- helpers ---------------------------------------------------------------- */

#include "lie_sets.h"

static size_t binomial(size_t n, size_t k)
{
    size_t r = 1;
    for (size_t i = 1; i <= k; i++)
        r = r * (n - k + i) / i;
    return r;
}

/* "c*P0 + c*P1 + ..." into a growing buffer. */
static char *append(char *text, size_t *len, const char *piece)
{
    size_t add = strlen(piece);
    text = realloc(text, *len + add + 1);
    assert_non_null(text);
    memcpy(text + *len, piece, add + 1);
    *len += add;
    return text;
}

/* {c0 sum X_i, c1 sum Z_i, c2 sum_{i<j} Z_i Z_j}: permutation-equivariant. */
static void sn_generators_scaled(generator_set *set, unsigned n, const double c[3])
{
    char piece[96];
    for (unsigned g = 0; g < 3; g++) {
        char *text = NULL;
        size_t len = 0;
        text = append(text, &len, "");
        for (unsigned i = 0; i < n; i++) {
            if (g < 2) {
                snprintf(piece, sizeof piece, "%s%.17g*%c%u", i ? " + " : "", c[g], g == 0 ? 'X' : 'Z', i);
                text = append(text, &len, piece);
                continue;
            }
            for (unsigned j = i + 1; j < n; j++) {
                snprintf(piece, sizeof piece, "%s%.17g*Z%u Z%u", len ? " + " : "", c[g], i, j);
                text = append(text, &len, piece);
            }
        }
        set_add(set, n, text);
        free(text);
    }
}

static void sn_generators(generator_set *set, unsigned n)
{
    static const double one[3] = {1, 1, 1};
    sn_generators_scaled(set, n, one);
}

/* ---- strings on qubits >= 64 ---------------------------------------------------- */

/* The |0...0> expectation of a string reads every word of its masks: X70 on
 * 71 qubits has an empty first word and <0|X70|0> = 0, not 1. */
static void test_wide_strings_state_zero(void **state)
{
    (void)state;
    const char *texts[] = {"X70", "Y64", "X0 Y70"};
    for (size_t c = 0; c < sizeof texts / sizeof texts[0]; c++) {
        generator_set set = {0};
        set_add(&set, 71, texts[c]);
        qml_lie_algebra *a = close_set(&set);
        double total = -1;
        assert_ok(qml_lie_algebra_state_purity(a, NULL, &total, NULL, 0, NULL));
        assert_close(total, 0.0, 0.0);
        qml_lie_prediction r = QML_LIE_PREDICTION_INIT;
        (void)qml_lie_algebra_predict_variance(a, NULL, set.items[0], NULL, &r);
        assert_close(r.loss_mean, 0.0, 0.0);
        qml_lie_algebra_free(a);
        set_free(&set);
    }
    /* Z70 on |0...0>: expectation 1, purity 1 / 2^71 * 1^2 (one basis element). */
    generator_set set = {0};
    set_add(&set, 71, "Z70");
    qml_lie_algebra *a = close_set(&set);
    double total = -1;
    assert_ok(qml_lie_algebra_state_purity(a, NULL, &total, NULL, 0, NULL));
    assert_close(total, ldexp(1.0, -71), 1e-30);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* ---- exact dimensions ------------------------------------------------------------- */

/* {sum X, sum Z, sum_{q<r} Z Z}: dim C(n+3,3) - floor(n/2) with a centre of
 * dimension 1 (su(n+1) + su(n-1) + ... + u(1)). */
static void check_sn(unsigned n, const double c[3])
{
    generator_set set = {0};
    sn_generators_scaled(&set, n, c);
    qml_lie_algebra *a = close_set(&set);
    size_t dim = qml_lie_algebra_dim(a), closed = binomial(n + 3, 3) - n / 2;
    printf("# S_n-equivariant n = %u (c = %g, %g, %g): dim %zu (closed form %zu), centre %zu\n", n, c[0], c[1], c[2],
           dim, closed, qml_lie_algebra_center_dim(a));
    assert_int_equal(dim, closed);
    if (qml_lie_algebra_structure_known(a))
        assert_int_equal(qml_lie_algebra_center_dim(a), 1);
    qml_lie_algebra_free(a);
    set_free(&set);
}

static void test_permutation_equivariant_exact(void **state)
{
    (void)state;
    static const double one[3] = {1, 1, 1};
    for (unsigned n = 2; n <= MAX_SN; n++)
        check_sn(n, one);
    generator_set set = {0};
    sn_generators(&set, 3);
    set_free(&set);
}

/* dim, centre dim and the sorted ideal dimensions of an algebra */
typedef struct shape {
    size_t dim, centre, n_ideals, ideal[64];
} shape;

static shape shape_of(const qml_lie_algebra *a)
{
    shape sh = {qml_lie_algebra_dim(a), qml_lie_algebra_center_dim(a), qml_lie_algebra_n_ideals(a), {0}};
    assert_true(qml_lie_algebra_structure_known(a));
    assert_true(sh.n_ideals <= 64);
    for (size_t j = 0; j < sh.n_ideals; j++)
        assert_ok(qml_lie_algebra_ideal(a, j, &sh.ideal[j], NULL, NULL));
    return sh;
}

static void assert_same_shape(const shape *a, const shape *b)
{
    assert_int_equal(a->dim, b->dim);
    assert_int_equal(a->centre, b->centre);
    assert_int_equal(a->n_ideals, b->n_ideals);
    for (size_t j = 0; j < a->n_ideals; j++)
        assert_int_equal(a->ideal[j], b->ideal[j]);
}

static void assert_certified(const qml_lie_algebra *a)
{
    qml_lie_conditioning c = QML_LIE_CONDITIONING_INIT;
    assert_ok(qml_lie_algebra_conditioning(a, &c));
    assert_true(c.exact);
    assert_true(c.certified);
}

/* Scaling generators by c_k in 1e-8..1e8 changes nothing: same dim, centre
 * and ideal dimensions (the cases: the S_n generators on very
 * different scales, {3e4 X1, 3e-5 Z0 Z1} = su(2), a 5-qubit Heisenberg chain
 * with bonds alternating 1e6 and 1e-6). */
static void test_scale_invariance(void **state)
{
    (void)state;
    static const double one[3] = {1, 1, 1};
    static const double scales[][3] = {{1e8, 1e-8, 1}, {1e-8, 1, 1e8}, {3e4, 3e-5, 7}, {1e-6, 1e6, 1e-6}};
    for (unsigned n = 4; n <= 6; n++) {
        generator_set set = {0};
        sn_generators_scaled(&set, n, one);
        qml_lie_algebra *a = close_set(&set);
        shape ref = shape_of(a);
        assert_certified(a);
        qml_lie_algebra_free(a);
        set_free(&set);
        for (size_t c = 0; c < sizeof scales / sizeof scales[0]; c++) {
            sn_generators_scaled(&set, n, scales[c]);
            a = close_set(&set);
            shape sh = shape_of(a);
            assert_same_shape(&sh, &ref);
            assert_certified(a);
            qml_lie_algebra_free(a);
            set_free(&set);
        }
    }
    /* su(2) from {3e4 X1, 3e-5 Z0 Z1}: one ideal of dim 3, no centre */
    generator_set set = {0};
    set_add(&set, 2, "3e4*X1");
    set_add(&set, 2, "3e-5*Z0 Z1");
    qml_lie_algebra *a = close_set(&set);
    shape sh = shape_of(a);
    assert_int_equal(sh.dim, 3);
    assert_int_equal(sh.centre, 0);
    assert_int_equal(sh.n_ideals, 1);
    assert_int_equal(sh.ideal[0], 3);
    qml_lie_algebra_free(a);
    set_free(&set);
    /* Heisenberg chain on 5 qubits: bonds 1e6 and 1e-6 alternating versus all 1 */
    for (int scaled = 0; scaled <= 1; scaled++) {
        static shape ref;
        char text[128];
        for (unsigned q = 0; q + 1 < 5; q++) {
            double c = scaled ? (q % 2 ? 1e-6 : 1e6) : 1.0;
            snprintf(text, sizeof text, "%g*X%u X%u + %g*Y%u Y%u + %g*Z%u Z%u", c, q, q + 1, c, q, q + 1, c, q, q + 1);
            set_add(&set, 5, text);
        }
        a = close_set(&set);
        sh = shape_of(a);
        printf("# Heisenberg chain n = 5%s: dim %zu, centre %zu, %zu ideals\n", scaled ? " (bonds 1e6, 1e-6)" : "",
               sh.dim, sh.centre, sh.n_ideals);
        if (!scaled)
            ref = sh;
        else
            assert_same_shape(&sh, &ref);
        assert_int_equal(sh.centre, 1);
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

/* Generators 1e-9 away (relative) from a symmetric set: the exact mode gives
 * the dimension of what was written, certified, and says that a tolerance
 * alone would have been on a knife's edge. */
static void test_near_symmetric(void **state)
{
    (void)state;
    for (unsigned n = 3; n <= 4; n++) {
        static const double one[3] = {1, 1, 1};
        generator_set set = {0};
        sn_generators_scaled(&set, n, one);
        qml_lie_algebra *sym = close_set(&set);
        size_t dim_sym = qml_lie_algebra_dim(sym);
        qml_lie_conditioning c = QML_LIE_CONDITIONING_INIT;
        assert_ok(qml_lie_algebra_conditioning(sym, &c));
        assert_true(c.certified);
        assert_false(c.tolerance_sensitive);
        qml_lie_algebra_free(sym);
        set_free(&set);
        /* perturb the coefficient of X0 in sum X by 1e-9 relative */
        char text[512] = "1.000000001*X0", piece[32];
        for (unsigned q = 1; q < n; q++) {
            snprintf(piece, sizeof piece, " + X%u", q);
            strcat(text, piece);
        }
        set_add(&set, n, text);
        text[0] = '\0';
        for (unsigned q = 0; q < n; q++) {
            snprintf(piece, sizeof piece, "%sZ%u", q ? " + " : "", q);
            strcat(text, piece);
        }
        set_add(&set, n, text);
        text[0] = '\0';
        for (unsigned q = 0; q < n; q++)
            for (unsigned r = q + 1; r < n; r++) {
                snprintf(piece, sizeof piece, "%sZ%u Z%u", text[0] ? " + " : "", q, r);
                strcat(text, piece);
            }
        set_add(&set, n, text);
        qml_lie_algebra *a = close_set(&set);
        c = (qml_lie_conditioning)QML_LIE_CONDITIONING_INIT;
        assert_ok(qml_lie_algebra_conditioning(a, &c));
        printf("# near-symmetric n = %u: dim %zu (symmetric %zu), smallest accepted %.3g, largest rejected %.3g, "
               "certified %d, sensitive %d\n",
               n, qml_lie_algebra_dim(a), dim_sym, c.smallest_accepted, c.largest_rejected, c.certified,
               c.tolerance_sensitive);
        assert_true(c.exact);
        assert_true(qml_lie_algebra_dim(a) > dim_sym); /* the symmetry is broken */
        assert_true(c.smallest_accepted < 1e-6);        /* ... by a direction of relative size ~1e-9 */
        /* the same generators, a tolerance alone: the dimension depends on it */
        qml_lie_options loose = QML_LIE_OPTIONS_INIT;
        loose.exact = 0;
        loose.tolerance = 1e-6;
        qml_lie_algebra *b = NULL;
        assert_ok(qml_lie_algebra_create(&b, (const qml_pauli_sum *const *)set.items, set.count, &loose));
        printf("#   tolerance 1e-6 alone: dim %zu\n", qml_lie_algebra_dim(b));
        assert_true(qml_lie_algebra_dim(b) < qml_lie_algebra_dim(a));
        qml_lie_algebra_free(b);
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

/* full is decided by the dimension: the hardware-efficient generators with
 * the entangler written as one sum generator reach 4^n - 1. */
static void test_full_by_dimension(void **state)
{
    (void)state;
    for (unsigned n = 2; n <= 4; n++) {
        generator_set set = {0};
        char text[256], piece[32];
        text[0] = '\0';
        for (unsigned q = 0; q < n; q++) {
            snprintf(piece, sizeof piece, "X%u", q);
            set_add(&set, n, piece);
            snprintf(piece, sizeof piece, "Y%u", q);
            set_add(&set, n, piece);
        }
        for (unsigned q = 0; q + 1 < n; q++) {
            snprintf(piece, sizeof piece, "%sZ%u Z%u", q ? " + " : "", q, q + 1);
            strcat(text, piece);
        }
        set_add(&set, n, text);
        qml_lie_algebra *a = close_set(&set);
        assert_int_equal(qml_lie_algebra_dim(a), ((size_t)1 << (2 * n)) - 1);
        assert_true(qml_lie_algebra_is_full(a));
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

/* ---- the mean: projection onto the commutant ---------------------------------------- */

/* Apply exp(-i theta (XX + YY + ZZ)) on qubits (a, b): XX + YY + ZZ = 2 SWAP
 * - I, so the gate is e^{i theta} (cos 2theta - i sin 2theta SWAP). */
static void heisenberg_gate(double *psi, unsigned n, unsigned a, unsigned b, double theta)
{
    size_t d = (size_t)1 << n;
    double c = cos(2 * theta), s = sin(2 * theta), pr = cos(theta), pi = sin(theta);
    double *out = malloc(2 * d * sizeof *out);
    assert_non_null(out);
    for (size_t i = 0; i < d; i++) {
        size_t ba = (i >> a) & 1u, bb = (i >> b) & 1u;
        size_t j = ba == bb ? i : i ^ (((size_t)1 << a) | ((size_t)1 << b)); /* SWAP|i> */
        /* (c - i s SWAP) psi at i: c psi_i - i s psi_j */
        double re = c * psi[2 * i] + s * psi[2 * j + 1];
        double im = c * psi[2 * i + 1] - s * psi[2 * j];
        out[2 * i] = pr * re - pi * im;
        out[2 * i + 1] = pr * im + pi * re;
    }
    memcpy(psi, out, 2 * d * sizeof *out);
    free(out);
}

/* Monte Carlo of <psi|U^dag Z0 Z1 U|psi> over deep random Heisenberg-ring circuits. */
static void ring_monte_carlo(uint64_t basis, double *mean, double *stderr_)
{
    const unsigned n = 4;
    harness_rng rng = {12345 + basis};
    const size_t samples = 1500;
    double sum = 0, sum2 = 0;
    for (size_t k = 0; k < samples; k++) {
        double psi[32] = {0};
        psi[2 * basis] = 1.0;
        for (unsigned layer = 0; layer < 12; layer++)
            for (unsigned q = 0; q < n; q++)
                heisenberg_gate(psi, n, q, (q + 1) % n, 2 * M_PI * harness_uniform(&rng));
        double l = 0;
        for (size_t i = 0; i < 16; i++) {
            double sign = (((i >> 0) ^ (i >> 1)) & 1u) ? -1.0 : 1.0;
            l += sign * (psi[2 * i] * psi[2 * i] + psi[2 * i + 1] * psi[2 * i + 1]);
        }
        sum += l;
        sum2 += l * l;
    }
    *mean = sum / (double)samples;
    *stderr_ = sqrt((sum2 / (double)samples - *mean * *mean) / (double)(samples - 1));
}

/* The 4-qubit Heisenberg ring with O = Z0 Z1: neither O nor rho lies in i g;
 * the mean is still exact: -1/3 for the Neel state |0101>, and exactly 1 for
 * |0000>, which every circuit leaves invariant. Checked against Monte Carlo. */
static void test_heisenberg_ring_mean(void **state)
{
    (void)state;
    generator_set set = {0};
    for (unsigned q = 0; q < 4; q++) {
        char text[64];
        unsigned r = (q + 1) % 4;
        snprintf(text, sizeof text, "X%u X%u + Y%u Y%u + Z%u Z%u", q, r, q, r, q, r);
        set_add(&set, 4, text);
    }
    qml_lie_algebra *a = close_set(&set);
    qml_pauli_sum *o = parse(4, "Z0 Z1");
    const uint64_t bases[2] = {0x5 /* |0101>: qubits 0 and 2 set */, 0x0};
    const double exact[2] = {-1.0 / 3.0, 1.0};
    for (int c = 0; c < 2; c++) {
        qml_statevec *sv = NULL;
        assert_ok(qml_statevec_create(&sv, 4));
        assert_ok(qml_statevec_set_basis(sv, bases[c]));
        qml_lie_prediction r = QML_LIE_PREDICTION_INIT;
        int status = qml_lie_algebra_predict_variance(a, sv, o, NULL, &r);
        assert_true(status == QML_OK || status == QML_ERR_NOT_APPLICABLE);
        double mc, se;
        ring_monte_carlo(bases[c], &mc, &se);
        printf("# Heisenberg ring, O = Z0 Z1, basis state %llu: predicted mean %.12g (exact %.12g), Monte Carlo "
               "%.4f +- %.4f; %s\n",
               (unsigned long long)bases[c], r.loss_mean, exact[c], mc, se, r.message);
        assert_close(r.loss_mean, exact[c], 1e-9);
        assert_close(mc, exact[c], 4 * se + 1e-12);
        qml_statevec_free(sv);
    }
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* ---- simple ideals that are simple -------------------------------------------------- */

static bool is_simple_shape(size_t dim, size_t r)
{
    if (r == 0)
        return false;
    return dim == r * (r + 2) || dim == r * (2 * r + 1) || (r >= 3 && dim == r * (2 * r - 1)) ||
           (dim == 14 && r == 2) || (dim == 52 && r == 4) || (dim == 78 && r == 6) || (dim == 133 && r == 7) ||
           (dim == 248 && r == 8);
}

/* ||v - sum_i <e_i, v> e_i||, the e_i orthonormal in Tr(AB) / 2^n. */
static double residual(const qml_pauli_sum *v, qml_pauli_sum *const *e, size_t count)
{
    qml_pauli_sum *r = NULL;
    assert_ok(qml_pauli_sum_copy(&r, v));
    for (size_t i = 0; i < count; i++) {
        double c = 0;
        assert_ok(qml_pauli_sum_inner(e[i], v, &c));
        assert_ok(qml_pauli_sum_add(r, -c, e[i]));
    }
    double norm = 0;
    assert_ok(qml_pauli_sum_norm(r, &norm));
    qml_pauli_sum_free(r);
    return norm;
}

/* The structure checked with Pauli-sum brackets only (independent of the
 * analysis): dims add up, every ideal has a simple algebra's dimension and
 * rank, is mapped into itself by every generator, commutes with every
 * other ideal, and the centre commutes with every generator. */
static void verify_structure_sampled(const qml_lie_algebra *a, const generator_set *set, size_t sample)
{
    assert_true(qml_lie_algebra_structure_known(a));
    size_t n_ideals = qml_lie_algebra_n_ideals(a), total = qml_lie_algebra_center_dim(a);
    qml_pauli_sum **elements[64] = {0};
    size_t dims[64] = {0};
    assert_true(n_ideals <= 64);
    for (size_t j = 0; j < n_ideals; j++) {
        size_t rank = 0;
        assert_ok(qml_lie_algebra_ideal(a, j, &dims[j], &rank, NULL));
        if (!is_simple_shape(dims[j], rank))
            fail_msg("ideal %zu: dimension %zu and rank %zu: no simple Lie algebra", j, dims[j], rank);
        total += dims[j];
        elements[j] = calloc(dims[j], sizeof *elements[j]);
        assert_non_null(elements[j]);
        for (size_t i = 0; i < dims[j]; i++)
            assert_ok(qml_lie_algebra_ideal_element(a, j, i, &elements[j][i]));
    }
    assert_int_equal(total, qml_lie_algebra_dim(a));
    for (size_t j = 0; j < n_ideals; j++) {
        for (size_t i = 0; i < dims[j] && i < sample; i++) {
            for (size_t k = 0; k < set->count; k++) {
                qml_pauli_sum *br = NULL;
                assert_ok(qml_pauli_sum_bracket(&br, set->items[k], elements[j][i]));
                double gnorm = 0;
                assert_ok(qml_pauli_sum_norm(set->items[k], &gnorm));
                assert_true(residual(br, elements[j], dims[j]) <= 1e-8 * (1 + gnorm));
                qml_pauli_sum_free(br);
            }
            for (size_t l = j + 1; l < n_ideals; l++)
                for (size_t m = 0; m < dims[l] && m < sample; m++) {
                    qml_pauli_sum *br = NULL;
                    double norm = 0;
                    assert_ok(qml_pauli_sum_bracket(&br, elements[j][i], elements[l][m]));
                    assert_ok(qml_pauli_sum_norm(br, &norm));
                    assert_true(norm <= 1e-8);
                    qml_pauli_sum_free(br);
                }
        }
    }
    for (size_t i = 0; i < qml_lie_algebra_center_dim(a); i++) {
        qml_pauli_sum *z = NULL;
        assert_ok(qml_lie_algebra_center_element(a, i, &z));
        for (size_t k = 0; k < set->count; k++) {
            qml_pauli_sum *br = NULL;
            double norm = 0, gnorm = 0;
            assert_ok(qml_pauli_sum_bracket(&br, set->items[k], z));
            assert_ok(qml_pauli_sum_norm(br, &norm));
            assert_ok(qml_pauli_sum_norm(set->items[k], &gnorm));
            assert_true(norm <= 1e-8 * (1 + gnorm));
            qml_pauli_sum_free(br);
        }
        qml_pauli_sum_free(z);
    }
    for (size_t j = 0; j < n_ideals; j++) {
        for (size_t i = 0; i < dims[j]; i++)
            qml_pauli_sum_free(elements[j][i]);
        free(elements[j]);
    }
}

static void verify_structure(const qml_lie_algebra *a, const generator_set *set)
{
    verify_structure_sampled(a, set, SIZE_MAX);
}

/* ---- a well-conditioned float basis ------------------------------------------------ */

/* The S_n algebra's exact structure (Schur-Weyl): su(n+1) + su(n-1) + ... +
 * u(1), ideal dims m^2 - 1 for m = n+1, n-1, ... down to 3 (n even) or 2 (n odd), a
 * centre of dimension 1; the basis closed to rounding (every bracket of an
 * element with a generator within 1e-10 of the span, relative), certified. */
static void check_sn_structure(unsigned n)
{
    generator_set set = {0};
    sn_generators(&set, n);
    qml_lie_algebra *a = close_set(&set);
    qml_lie_conditioning c = QML_LIE_CONDITIONING_INIT;
    assert_ok(qml_lie_algebra_conditioning(a, &c));
    printf("# S_n n = %2u: dim %zu, centre %zu, %zu ideals, closure defect %.1e, accepted >= %.1e, rejected <= %.1e\n",
           n, qml_lie_algebra_dim(a), qml_lie_algebra_center_dim(a), qml_lie_algebra_n_ideals(a), a->closure_defect,
           c.smallest_accepted, c.largest_rejected);
    assert_int_equal(qml_lie_algebra_dim(a), binomial(n + 3, 3) - n / 2);
    qml_lie_structure_state st = QML_LIE_STRUCTURE_UNRESOLVED;
    assert_ok(qml_lie_algebra_structure_state(a, &st, NULL));
    assert_int_equal(st, QML_LIE_STRUCTURE_KNOWN);
    assert_int_equal(qml_lie_algebra_center_dim(a), 1);
    assert_int_equal(qml_lie_algebra_n_ideals(a), (n + 1) / 2); /* m = n + 1, n - 1, ..., 3 or 2 */
    for (unsigned j = 0; j < (n + 1) / 2; j++) {
        size_t dim = 0, rank = 0, m = n + 1 - 2 * j;
        assert_ok(qml_lie_algebra_ideal(a, j, &dim, &rank, NULL));
        assert_int_equal(dim, m * m - 1);
        assert_int_equal(rank, m - 1);
    }
    assert_true(c.exact && c.certified && !c.tolerance_sensitive);
    assert_true(a->closure_defect < 1e-10);
    assert_true(c.largest_rejected < 1e-10);
    qml_lie_algebra_free(a);
    set_free(&set);
}

static void test_sn_structure(void **state)
{
    (void)state;
    for (unsigned n = 4; n <= 12; n++)
        check_sn_structure(n);
}

static void test_sn_structure_large(void **state)
{
    (void)state;
    for (unsigned n = 14; n <= MAX_SN_STRUCTURE; n += 2)
        check_sn_structure(n);
}

/* The pivoted re-closure forced on every exact Pauli-sum basis (as it runs
 * by itself when a basis is not closed): the same algebra as the
 * breadth-first basis (dim, centre, ideal dims), closed and with its
 * structure verified by Pauli-sum brackets only, on S_n and on sets with no
 * permutation symmetry (string coordinates). */
static void test_pivoted_basis_forced(void **state)
{
    (void)state;
    static const char *other[][4] = {{"X0 X1 + Y1 Y2", "Z0 + Z2", "X1 + 0.5*Z1 Z2", NULL},
                                     {"X0 X1 + Y0 Y1 + Z0 Z1", "X1 X2 + Y1 Y2 + Z1 Z2", "Z0", NULL}};
    for (unsigned which = 0; which < 5; which++) {
        unsigned n = which < 3 ? which + 3 : 3;
        generator_set set = {0};
        if (which < 3)
            sn_generators(&set, n);
        else
            for (unsigned k = 0; other[which - 3][k]; k++)
                set_add(&set, n, other[which - 3][k]);
        qml_lie_algebra *a = close_set(&set);
        shape ref = shape_of(a);
        qml_lie_algebra_free(a);
        qml__lie_rebuild_above = -1.0;
        a = close_set(&set);
        qml__lie_rebuild_above = LIE_CLOSED_DEFECT;
        shape sh = shape_of(a);
        assert_same_shape(&sh, &ref);
        assert_certified(a);
        assert_true(a->closure_defect < 1e-12);
        /* every basis element's bracket with a generator lies in the span */
        size_t dim = qml_lie_algebra_dim(a);
        qml_pauli_sum **e = calloc(dim, sizeof *e);
        assert_non_null(e);
        for (size_t i = 0; i < dim; i++)
            assert_ok(qml_lie_algebra_basis_element(a, i, &e[i]));
        for (size_t i = 0; i < dim; i++) {
            double norm = 0;
            assert_ok(qml_pauli_sum_norm(e[i], &norm));
            assert_true(fabs(norm - 1.0) < 1e-12);
            for (size_t j = 0; j < i; j++) {
                double ip = 0;
                assert_ok(qml_pauli_sum_inner(e[i], e[j], &ip));
                assert_true(fabs(ip) < 1e-12);
            }
            for (size_t k = 0; k < set.count; k++) {
                qml_pauli_sum *br = NULL;
                double bnorm = 0;
                assert_ok(qml_pauli_sum_bracket(&br, set.items[k], e[i]));
                assert_ok(qml_pauli_sum_norm(br, &bnorm));
                assert_true(residual(br, e, dim) <= 1e-12 * (1 + bnorm));
                qml_pauli_sum_free(br);
            }
        }
        for (size_t i = 0; i < dim; i++)
            qml_pauli_sum_free(e[i]);
        free(e);
        /* every pair of S_5's ideal elements is ~700 brackets of sums of
         * hundreds of strings: all of them in heavy runs, 12 per ideal else */
        if (n <= 5)
            verify_structure_sampled(a, &set, n < 5 || harness_heavy() ? SIZE_MAX : 12);
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

/* The TFIM on a 2 x 3 lattice (X_q, Z_q Z_r on its 7 bonds): dim 1056 =
 * two simple ideals of 528 (rank 16 each), found by the parity symmetry;
 * checked on a sample of each ideal's elements. */
static void test_tfim_lattice_ideals(void **state)
{
    (void)state;
    generator_set set = {0};
    char text[32];
    for (unsigned q = 0; q < 6; q++) {
        snprintf(text, sizeof text, "X%u", q);
        set_add(&set, 6, text);
    }
    static const unsigned bonds[7][2] = {{0, 1}, {1, 2}, {3, 4}, {4, 5}, {0, 3}, {1, 4}, {2, 5}};
    for (unsigned b = 0; b < 7; b++) {
        snprintf(text, sizeof text, "Z%u Z%u", bonds[b][0], bonds[b][1]);
        set_add(&set, 6, text);
    }
    qml_lie_algebra *a = close_set(&set);
    shape sh = shape_of(a);
    assert_int_equal(sh.dim, 1056);
    assert_int_equal(sh.centre, 0);
    assert_int_equal(sh.n_ideals, 2);
    assert_int_equal(sh.ideal[0], 528);
    assert_int_equal(sh.ideal[1], 528);
    verify_structure_sampled(a, &set, 8);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* The case: X0 X1; Z0 Z1 Y2; Z0 Y2; Y0 X1; X0 Y1 is u(1) + four su(2),
 * not twice "so(4)". */
static void test_so4_splits(void **state)
{
    (void)state;
    generator_set set = {0};
    const char *texts[] = {"X0 X1", "Z0 Z1 Y2", "Z0 Y2", "Y0 X1", "X0 Y1"};
    for (size_t i = 0; i < 5; i++)
        set_add(&set, 3, texts[i]);
    qml_lie_algebra *a = close_set(&set);
    shape sh = shape_of(a);
    assert_int_equal(sh.dim, 13);
    assert_int_equal(sh.centre, 1);
    assert_int_equal(sh.n_ideals, 4);
    for (size_t j = 0; j < 4; j++)
        assert_int_equal(sh.ideal[j], 3);
    verify_structure(a, &set);
    qml_lie_algebra_free(a);
    set_free(&set);
    /* the same algebra through the general closure: scaled generators and a
     * redundant sum of two of them */
    const char *sums[] = {"2*X0 X1", "0.5*Z0 Z1 Y2", "Z0 Y2", "3*Y0 X1", "X0 Y1", "X0 X1 + 0.25*Z0 Y2"};
    for (size_t i = 0; i < 6; i++)
        set_add(&set, 3, sums[i]);
    a = close_set(&set);
    shape sg = shape_of(a);
    assert_same_shape(&sg, &sh);
    verify_structure(a, &set);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* The dense 2^n x 2^n matrix of a Pauli sum from harness_pauli_matrix
 * (Kronecker products), independent of pauli.c. */
static double *dense_of_sum(const qml_pauli_sum *sum)
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

/* ---- so(2r+1) versus sp(r) ---------------------------------------------------------- */

/* The single ideal of an algebra: its name. */
static const char *single_ideal_name(const qml_lie_algebra *a, size_t dim, size_t rank)
{
    assert_true(qml_lie_algebra_structure_known(a));
    assert_int_equal(qml_lie_algebra_dim(a), dim);
    assert_int_equal(qml_lie_algebra_center_dim(a), 0);
    assert_int_equal(qml_lie_algebra_n_ideals(a), 1);
    size_t d = 0, r = 0;
    const char *names = NULL;
    assert_ok(qml_lie_algebra_ideal(a, 0, &d, &r, &names));
    assert_int_equal(d, dim);
    assert_int_equal(r, rank);
    return names;
}

/* Reference for so(2r+1): the algebra is spanned by the 2r+1 Majorana
 * operators' bilinears -i[g_a, g_b] (Jordan-Wigner g_{2q} = Z..Z X_q,
 * g_{2q+1} = Z..Z Y_q and g_{2n} = Z...Z); the g_a are checked as dense
 * matrices to square to 1 and anticommute pairwise (a Clifford algebra, whose
 * bilinears span so(2r+1)), and every basis element of the algebra lies in
 * their span. */
static void check_majorana_span(const qml_lie_algebra *a, unsigned n)
{
    size_t m = 2 * (size_t)n + 1, d = (size_t)1 << n;
    qml_pauli_sum *g[32] = {0};
    for (size_t k = 0; k < m; k++) {
        char text[128] = "", piece[16];
        unsigned q = (unsigned)(k / 2);
        for (unsigned p = 0; p < q && p < n; p++) {
            snprintf(piece, sizeof piece, "Z%u ", p);
            strcat(text, piece);
        }
        if (k + 1 < m) {
            snprintf(piece, sizeof piece, "%c%u", k % 2 ? 'Y' : 'X', q);
            strcat(text, piece);
        }
        g[k] = parse(n, text);
    }
    double *dense[32] = {0}, *prod = malloc(2 * d * d * sizeof *prod), *prod2 = malloc(2 * d * d * sizeof *prod2);
    assert_non_null(prod);
    assert_non_null(prod2);
    for (size_t k = 0; k < m; k++)
        dense[k] = dense_of_sum(g[k]);
    for (size_t i = 0; i < m; i++)
        for (size_t j = i; j < m; j++) {
            harness_matmul(d, dense[i], dense[j], prod);
            harness_matmul(d, dense[j], dense[i], prod2);
            for (size_t e = 0; e < d * d; e++) {
                double want = i == j && e % (d + 1) == 0 ? 2.0 : 0.0; /* {g_i, g_j} = 2 delta_ij */
                assert_true(fabs(prod[2 * e] + prod2[2 * e] - want) < 1e-12);
                assert_true(fabs(prod[2 * e + 1] + prod2[2 * e + 1]) < 1e-12);
            }
        }
    qml_pauli_sum *bilinear[64] = {0};
    size_t nb = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++) {
            qml_pauli_sum *b = NULL;
            double norm = 0;
            assert_ok(qml_pauli_sum_bracket(&b, g[i], g[j]));
            assert_ok(qml_pauli_sum_norm(b, &norm));
            assert_ok(qml_pauli_sum_scale(b, 1.0 / norm)); /* distinct strings: orthonormal */
            bilinear[nb++] = b;
        }
    assert_int_equal(nb, qml_lie_algebra_dim(a));
    for (size_t i = 0; i < qml_lie_algebra_dim(a); i++) {
        qml_pauli_sum *e = NULL;
        assert_ok(qml_lie_algebra_basis_element(a, i, &e));
        assert_true(residual(e, bilinear, nb) < 1e-9);
        qml_pauli_sum_free(e);
    }
    for (size_t k = 0; k < nb; k++)
        qml_pauli_sum_free(bilinear[k]);
    for (size_t k = 0; k < m; k++) {
        qml_pauli_sum_free(g[k]);
        free(dense[k]);
    }
    free(prod);
    free(prod2);
}

/* Reference for sp(N) on n qubits (2N = 2^n): every basis element B, as a
 * dense matrix, satisfies B^T J + J B = 0 with J = i Y on qubit 0 (real,
 * antisymmetric, J^2 = -1): iB lies in sp(2N, C) and in u(2N), whose
 * intersection is the compact sp(N) of dimension N(2N + 1). */
static void check_symplectic(const qml_lie_algebra *a, unsigned n)
{
    size_t d = (size_t)1 << n;
    double *j = calloc(2 * d * d, sizeof *j), *y = malloc(2 * d * d * sizeof *y);
    double *bt = malloc(2 * d * d * sizeof *bt), *p1 = malloc(2 * d * d * sizeof *p1), *p2 = malloc(2 * d * d * sizeof *p2);
    assert_true(j && y && bt && p1 && p2);
    char dense[8] = "YII";
    dense[n] = '\0';
    harness_pauli_matrix(n, dense, y);
    for (size_t e = 0; e < d * d; e++) { /* J = i Y: (re, im) -> (-im, re) */
        j[2 * e] = -y[2 * e + 1];
        j[2 * e + 1] = y[2 * e];
    }
    for (size_t e = 0; e < d * d; e++)
        assert_true(fabs(j[2 * e + 1]) < 1e-15); /* J is real */
    for (size_t i = 0; i < qml_lie_algebra_dim(a); i++) {
        qml_pauli_sum *el = NULL;
        assert_ok(qml_lie_algebra_basis_element(a, i, &el));
        double *b = dense_of_sum(el);
        for (size_t r = 0; r < d; r++)
            for (size_t c = 0; c < d; c++) {
                bt[2 * (r * d + c)] = b[2 * (c * d + r)];
                bt[2 * (r * d + c) + 1] = b[2 * (c * d + r) + 1];
            }
        harness_matmul(d, bt, j, p1);
        harness_matmul(d, j, b, p2);
        for (size_t e = 0; e < 2 * d * d; e++)
            assert_true(fabs(p1[e] + p2[e]) < 1e-9);
        free(b);
        qml_pauli_sum_free(el);
    }
    assert_int_equal(qml_lie_algebra_dim(a), (d / 2) * (d + 1));
    free(j);
    free(y);
    free(bt);
    free(p1);
    free(p2);
}

/* so(2r+1) and sp(r) have the same dimension and rank; the library tells
 * them apart by their roots. so(7) (n = 3) and so(9) (n = 4) as the
 * Majorana chains Z_q, X_q X_{q+1}, ..., X_{n-1}, strings and sums; sp(4)
 * (n = 3) from the 36 strings P with P^T J = -J P (J = iY_0), strings and
 * sums; the 2x3 TFIM's two ideals of 528 are sp(16): each acts on one
 * 32-dimensional parity sector, and so(33) has no faithful representation
 * of dimension below 33. */
static void test_so_versus_sp(void **state)
{
    (void)state;
    for (unsigned n = 3; n <= 4; n++) {
        for (int sums = 0; sums <= 1; sums++) {
            generator_set set = {0};
            char text[128];
            for (unsigned q = 0; q < n; q++) {
                if (q + 1 < n)
                    snprintf(text, sizeof text, sums ? "Z%u + 0.5*X%u X%u" : "Z%u", q, q, q + 1);
                else
                    snprintf(text, sizeof text, sums ? "Z%u + 0.25*X%u" : "Z%u", q, q);
                set_add(&set, n, text);
                if (!sums) {
                    snprintf(text, sizeof text, q + 1 < n ? "X%u X%u" : "X%u", q, q + 1);
                    set_add(&set, n, text);
                }
            }
            if (sums)
                set_add(&set, n, "X0 X1");
            qml_lie_algebra *a = close_set(&set);
            size_t r = n;
            const char *name = single_ideal_name(a, r * (2 * r + 1), r);
            char want[16];
            snprintf(want, sizeof want, "so(%zu)", 2 * r + 1);
            printf("# Majorana chain n = %u (%s): %s\n", n, sums ? "sums" : "strings", name);
            assert_string_equal(name, want);
            check_majorana_span(a, n);
            qml_lie_algebra_free(a);
            set_free(&set);
        }
    }
    /* sp(4): the strings P on 3 qubits with (-1)^{#Y} = -(1 if P commutes with Y0 else -1) */
    char strings[64][16];
    size_t n_sp = 0;
    for (unsigned code = 1; code < 64; code++) {
        char ops[3];
        unsigned ny = 0;
        for (unsigned q = 0; q < 3; q++) {
            ops[q] = "IXYZ"[(code >> (2 * q)) & 3u];
            ny += ops[q] == 'Y';
        }
        int commutes = ops[0] == 'I' || ops[0] == 'Y';
        if ((ny % 2 ? -1 : 1) * (commutes ? 1 : -1) != -1)
            continue;
        char *t = strings[n_sp++];
        t[0] = '\0';
        for (unsigned q = 0; q < 3; q++)
            if (ops[q] != 'I') {
                char piece[8];
                snprintf(piece, sizeof piece, "%c%u ", ops[q], q);
                strcat(t, piece);
            }
    }
    assert_int_equal(n_sp, 36);
    for (int sums = 0; sums <= 1; sums++) {
        generator_set set = {0};
        for (size_t i = 0; i < n_sp; i += sums ? 3 : 1) {
            char text[64];
            if (sums)
                snprintf(text, sizeof text, "%s + 0.%zu*%s", strings[i], 3 + i % 5, strings[(i + 7) % n_sp]);
            else
                snprintf(text, sizeof text, "%s", strings[i]);
            set_add(&set, 3, text);
        }
        qml_lie_algebra *a = close_set(&set);
        const char *name = single_ideal_name(a, 36, 4);
        printf("# symplectic strings n = 3 (%s): %s\n", sums ? "sums" : "strings", name);
        assert_string_equal(name, "sp(4)");
        check_symplectic(a, 3);
        qml_lie_algebra_free(a);
        set_free(&set);
    }
    /* the 2x3 TFIM: two sp(16) */
    generator_set set = {0};
    char text[32];
    for (unsigned q = 0; q < 6; q++) {
        snprintf(text, sizeof text, "X%u", q);
        set_add(&set, 6, text);
    }
    static const unsigned bonds[7][2] = {{0, 1}, {1, 2}, {3, 4}, {4, 5}, {0, 3}, {1, 4}, {2, 5}};
    for (unsigned b = 0; b < 7; b++) {
        snprintf(text, sizeof text, "Z%u Z%u", bonds[b][0], bonds[b][1]);
        set_add(&set, 6, text);
    }
    qml_lie_algebra *a = close_set(&set);
    assert_int_equal(qml_lie_algebra_n_ideals(a), 2);
    for (size_t j = 0; j < 2; j++) {
        const char *names = NULL;
        assert_ok(qml_lie_algebra_ideal(a, j, NULL, NULL, &names));
        assert_non_null(strstr(names, "sp(16)"));
        assert_null(strstr(names, "so(33)"));
    }
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* A random generator as text: `terms` random strings on n qubits with
 * coefficients 1..3 (an all-identity draw becomes `fallback` on qubit 0).
 * text holds 512 bytes. */
static void random_sum_text(harness_rng *rng, unsigned n, size_t terms, char fallback, char *text)
{
    char piece[64];
    text[0] = '\0';
    for (size_t t = 0; t < terms; t++) {
        char ops[16];
        int any = 0;
        for (unsigned q = 0; q < n; q++) {
            ops[q] = "IXYZ"[harness_next(rng) % 4];
            any |= ops[q] != 'I';
        }
        if (!any)
            ops[0] = fallback;
        snprintf(piece, sizeof piece, "%s%d*", t ? " + " : "", 1 + (int)(harness_next(rng) % 3));
        strcat(text, piece);
        for (unsigned q = 0; q < n; q++)
            if (ops[q] != 'I') {
                snprintf(piece, sizeof piece, "%c%u ", ops[q], q);
                strcat(text, piece);
            }
    }
}

/* Random strings and sums on n = 2..4 qubits (fixed seed): every structure
 * passes the independent checks of verify_structure. */
static void test_random_structures(void **state)
{
    (void)state;
    harness_rng rng = {0x5eed1e5};
    size_t checked = 0, unknown = 0;
    for (size_t trial = 0; trial < 220; trial++) {
        unsigned n = 2 + (unsigned)(trial % 3);
        bool sums = trial % 2 == 1;
        size_t count = 2 + (size_t)(harness_next(&rng) % 3);
        generator_set set = {0};
        for (size_t k = 0; k < count; k++) {
            char text[512];
            random_sum_text(&rng, n, sums ? 1 + (size_t)(harness_next(&rng) % 3) : 1, 'X', text);
            set_add(&set, n, text);
        }
        qml_lie_algebra *a = close_set(&set);
        if (qml_lie_algebra_structure_known(a)) {
            verify_structure(a, &set);
            checked++;
        } else {
            unknown++;
        }
        qml_lie_algebra_free(a);
        set_free(&set);
    }
    printf("# random structures: %zu verified, %zu unknown\n", checked, unknown);
    assert_int_equal(unknown, 0);
}

/* ---- the standing cross-check against a dense reference ------------------------------ */

/* The reference works on Hermitian 2^n x 2^n matrices as real vectors of
 * 2 D^2 numbers (interleaved re/im): the Euclidean product of two is
 * Re Tr(A B), proportional to the library's inner product, so orthonormal
 * sets correspond. */
#define REF_MAX_DIM 80u    /* the dense closure stops above this */
#define REF_STRUCT_DIM 20u /* the commutant (d(d+1)/2 unknowns) up to this */

/* c = -i [g, b] for Hermitian g, b (interleaved complex, D x D). */
static void ref_bracket(size_t D, const double *g, const double *b, double *c)
{
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++) {
            double re = 0, im = 0;
            for (size_t l = 0; l < D; l++) {
                const double *g1 = g + 2 * (i * D + l), *b1 = b + 2 * (l * D + j);
                const double *b2 = b + 2 * (i * D + l), *g2 = g + 2 * (l * D + j);
                re += g1[0] * b1[0] - g1[1] * b1[1] - (b2[0] * g2[0] - b2[1] * g2[1]);
                im += g1[0] * b1[1] + g1[1] * b1[0] - (b2[0] * g2[1] + b2[1] * g2[0]);
            }
            /* -i (re + i im) = im - i re */
            c[2 * (i * D + j)] = im;
            c[2 * (i * D + j) + 1] = -re;
        }
}

/* Project v (length L) off the orthonormal rows of basis (count x L), twice;
 * accept it as a new row if what is left exceeds tol of its norm. A
 * candidate of norm <= 1e-10 `scale` (the norm of the generator that made
 * it, times that of a unit basis vector) is a vanishing bracket's rounding,
 * rejected whatever its direction. */
static bool ref_accept(double *basis, size_t *count, size_t L, double *v, double tol, double scale)
{
    double n0 = 0;
    for (size_t i = 0; i < L; i++)
        n0 += v[i] * v[i];
    n0 = sqrt(n0);
    if (n0 <= 1e-10 * scale)
        return false;
    for (int pass = 0; pass < 2; pass++)
        for (size_t a = 0; a < *count; a++) {
            double p = 0;
            for (size_t i = 0; i < L; i++)
                p += basis[a * L + i] * v[i];
            for (size_t i = 0; i < L; i++)
                v[i] -= p * basis[a * L + i];
        }
    double n1 = 0;
    for (size_t i = 0; i < L; i++)
        n1 += v[i] * v[i];
    n1 = sqrt(n1);
    if (n1 <= tol * n0)
        return false;
    if (*count >= REF_MAX_DIM) {
        *count = REF_MAX_DIM + 1; /* too large: the caller stops */
        return false;
    }
    for (size_t i = 0; i < L; i++)
        basis[*count * L + i] = v[i] / n1;
    ++*count;
    return true;
}

/* Cyclic Jacobi eigenvalues of a symmetric n x n matrix (destroyed); a
 * method of its own, independent of the library's Householder/QL. */
static void ref_jacobi(size_t n, double *m, double *w)
{
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                *(i == j ? &diag : &off) += m[i * n + j] * m[i * n + j];
        if (off <= 1e-30 * (diag + off) || off == 0)
            break;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = m[p * n + q];
                if (apq == 0)
                    continue;
                double theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), sn = t * c;
                for (size_t k = 0; k < n; k++) {
                    double akp = m[k * n + p], akq = m[k * n + q];
                    m[k * n + p] = c * akp - sn * akq;
                    m[k * n + q] = sn * akp + c * akq;
                }
                for (size_t k = 0; k < n; k++) {
                    double apk = m[p * n + k], aqk = m[q * n + k];
                    m[p * n + k] = c * apk - sn * aqk;
                    m[q * n + k] = sn * apk + c * aqk;
                }
            }
    }
    for (size_t i = 0; i < n; i++)
        w[i] = m[i * n + i];
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? 1 : x > y ? -1 : 0; /* decreasing */
}

/* The reference shape of the algebra of `set`: dense closure (dim), and for
 * dim <= REF_STRUCT_DIM the centre and ideal dimensions from a random
 * symmetric element of the commutant of {ad G_k} on g. The commutant of a
 * compact algebra's adjoint action is End(centre) + span of the projectors
 * onto the simple ideals (each adjoint representation of a compact simple
 * algebra is absolutely irreducible, and no two are isomorphic), so a random
 * symmetric element has one eigenvalue of multiplicity dim g_j per ideal and
 * c simple eigenvalues on the centre (no simple algebra has dimension 1).
 * Returns false when the closure exceeds REF_MAX_DIM. */
static bool ref_shape(const generator_set *set, harness_rng *rng, shape *out, bool *structure)
{
    unsigned n = qml_pauli_sum_n_qubits(set->items[0]);
    size_t D = (size_t)1 << n, L = 2 * D * D, K = set->count;
    double **g = calloc(K, sizeof *g);
    double *basis = calloc((REF_MAX_DIM + 1) * L, sizeof *basis);
    double *v = calloc(L, sizeof *v);
    assert_non_null(g);
    assert_non_null(basis);
    assert_non_null(v);
    size_t d = 0;
    /* tolerance 1e-8: the coefficients are small integers, a new direction
     * of these sets leaves a residual of order 1e-2 or more; rounding leaves
     * ~1e-14 (the library's exact closure is the other side of the check) */
    double *gnorm = calloc(K, sizeof *gnorm);
    assert_non_null(gnorm);
    for (size_t k = 0; k < K; k++) {
        g[k] = dense_of_sum(set->items[k]);
        for (size_t i = 0; i < L; i++)
            gnorm[k] += g[k][i] * g[k][i];
        gnorm[k] = sqrt(gnorm[k]);
        memcpy(v, g[k], L * sizeof *v);
        ref_accept(basis, &d, L, v, 1e-8, gnorm[k]);
    }
    for (size_t a = 0; a < d && d <= REF_MAX_DIM; a++)
        for (size_t k = 0; k < K && d <= REF_MAX_DIM; k++) {
            ref_bracket(D, g[k], basis + a * L, v);
            ref_accept(basis, &d, L, v, 1e-8, gnorm[k]);
        }
    bool ok = d <= REF_MAX_DIM;
    *structure = false;
    memset(out, 0, sizeof *out);
    out->dim = d;
    if (ok && d <= REF_STRUCT_DIM) {
        /* ad matrices: A_k[i][j] = <b_i, -i[G_k, b_j]> */
        double *ad = calloc(K * d * d + 1, sizeof *ad);
        assert_non_null(ad);
        for (size_t k = 0; k < K; k++)
            for (size_t j = 0; j < d; j++) {
                ref_bracket(D, g[k], basis + j * L, v);
                for (size_t i = 0; i < d; i++) {
                    double p = 0;
                    for (size_t t = 0; t < L; t++)
                        p += basis[i * L + t] * v[t];
                    ad[(k * d + i) * d + j] = p;
                }
            }
        /* symmetric X (upper triangle, m unknowns) with A_k X - X A_k = 0:
         * the commutator of an antisymmetric and a symmetric matrix is
         * symmetric, so the equations (i <= j) suffice; reduced row echelon
         * form by Gauss-Jordan with partial pivoting */
        size_t m = d * (d + 1) / 2, neq = K * m;
        size_t *sym = malloc(d * d * sizeof *sym);
        double *e = calloc(neq * m + 1, sizeof *e);
        assert_non_null(sym);
        assert_non_null(e);
        for (size_t i = 0, c = 0; i < d; i++)
            for (size_t j = i; j < d; j++, c++)
                sym[i * d + j] = sym[j * d + i] = c;
        double emax = 0;
        for (size_t k = 0, r = 0; k < K; k++)
            for (size_t i = 0; i < d; i++)
                for (size_t j = i; j < d; j++, r++)
                    for (size_t l = 0; l < d; l++) {
                        const double *A = ad + k * d * d;
                        e[r * m + sym[l * d + j]] += A[i * d + l];
                        e[r * m + sym[i * d + l]] -= A[l * d + j];
                    }
        for (size_t i = 0; i < neq * m; i++)
            emax = fmax(emax, fabs(e[i]));
        size_t *pivot_col = malloc((m + 1) * sizeof *pivot_col);
        bool *is_pivot = calloc(m + 1, sizeof *is_pivot);
        assert_non_null(pivot_col);
        assert_non_null(is_pivot);
        size_t rank = 0;
        for (size_t col = 0; col < m && rank < neq; col++) {
            size_t best = rank;
            for (size_t r = rank; r < neq; r++)
                if (fabs(e[r * m + col]) > fabs(e[best * m + col]))
                    best = r;
            /* structure constants are O(1); an eliminated entry is ~1e-13 */
            if (fabs(e[best * m + col]) <= 1e-9 * emax)
                continue;
            for (size_t t = 0; t < m; t++) {
                double tmp = e[rank * m + t];
                e[rank * m + t] = e[best * m + t];
                e[best * m + t] = tmp;
            }
            double pv = e[rank * m + col];
            for (size_t t = 0; t < m; t++)
                e[rank * m + t] /= pv;
            for (size_t r = 0; r < neq; r++) {
                if (r == rank || e[r * m + col] == 0)
                    continue;
                double f = e[r * m + col];
                for (size_t t = 0; t < m; t++)
                    e[r * m + t] -= f * e[rank * m + t];
            }
            pivot_col[rank++] = col;
            is_pivot[col] = true;
        }
        /* a random null vector: free unknowns random, pivots from their rows */
        double *u = calloc(m + 1, sizeof *u);
        assert_non_null(u);
        for (size_t col = 0; col < m; col++)
            if (!is_pivot[col])
                u[col] = harness_normal(rng);
        for (size_t r = 0; r < rank; r++) {
            double x = 0;
            for (size_t col = 0; col < m; col++)
                if (!is_pivot[col])
                    x -= e[r * m + col] * u[col];
            u[pivot_col[r]] = x;
        }
        double *xm = calloc(d * d + 1, sizeof *xm), *w = calloc(d + 1, sizeof *w);
        assert_non_null(xm);
        assert_non_null(w);
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++)
                xm[i * d + j] = u[sym[i * d + j]];
        ref_jacobi(d, xm, w);
        /* sort, then cluster equal eigenvalues (distinct ones differ by O(1)) */
        for (size_t i = 1; i < d; i++)
            for (size_t j = i; j > 0 && w[j - 1] > w[j]; j--) {
                double t = w[j];
                w[j] = w[j - 1];
                w[j - 1] = t;
            }
        double scale = d ? fmax(fabs(w[0]), fabs(w[d - 1])) : 0;
        size_t start = 0;
        for (size_t i = 1; i <= d; i++)
            if (i == d || w[i] - w[i - 1] > 1e-6 * scale) {
                size_t size = i - start;
                if (size == 1)
                    out->centre++;
                else
                    out->ideal[out->n_ideals++] = size;
                start = i;
            }
        qsort(out->ideal, out->n_ideals, sizeof out->ideal[0], cmp_size);
        /* the commutant's dimension: c(c+1)/2 + number of ideals */
        assert_int_equal(m - rank, out->centre * (out->centre + 1) / 2 + out->n_ideals);
        *structure = true;
        free(ad);
        free(sym);
        free(e);
        free(pivot_col);
        free(is_pivot);
        free(u);
        free(xm);
        free(w);
    }
    for (size_t k = 0; k < K; k++)
        free(g[k]);
    free(g);
    free(gnorm);
    free(basis);
    free(v);
    return ok;
}

/* >= 200 random generator sets (strings and sums, n = 2..4, seeded): the
 * library's dimension against the dense closure, and its centre and simple
 * ideal dimensions against the commutant reference where dim <= 20. */
static void test_random_against_dense(void **state)
{
    (void)state;
    harness_rng rng = {0xc0ffee18};
    size_t compared = 0, with_structure = 0, large = 0, trial = 0;
    while ((compared < 200 || with_structure < 120) && trial < 2000) {
        unsigned n = 2 + (unsigned)(trial % 3);
        bool sums = (trial / 3) % 2 == 1;
        trial++;
        size_t count = 2 + (size_t)(harness_next(&rng) % 2);
        generator_set set = {0};
        for (size_t k = 0; k < count; k++) {
            char text[512];
            random_sum_text(&rng, n, sums ? 2 + (size_t)(harness_next(&rng) % 2) : 1, 'Z', text);
            set_add(&set, n, text);
        }
        shape ref;
        bool structure = false;
        bool ok = ref_shape(&set, &rng, &ref, &structure);
        qml_lie_algebra *a = close_set(&set);
        if (!ok) {
            assert_true(qml_lie_algebra_dim(a) > REF_MAX_DIM);
            large++;
        } else {
            if (qml_lie_algebra_dim(a) != ref.dim)
                for (size_t k = 0; k < set.count; k++) {
                    char t[1024];
                    if (qml_pauli_sum_format(set.items[k], t, sizeof t, NULL) == QML_OK)
                        fprintf(stderr, "# trial %zu: %s\n", trial, t);
                }
            assert_int_equal(qml_lie_algebra_dim(a), ref.dim);
            compared++;
            if (structure) {
                shape lib = shape_of(a);
                qsort(lib.ideal, lib.n_ideals, sizeof lib.ideal[0], cmp_size);
                if (lib.centre != ref.centre || lib.n_ideals != ref.n_ideals) {
                    fprintf(stderr, "# trial %zu (n = %u): library centre %zu, %zu ideals; reference %zu, %zu\n",
                            trial, n, lib.centre, lib.n_ideals, ref.centre, ref.n_ideals);
                    for (size_t k = 0; k < set.count; k++) {
                        char t[1024];
                        if (qml_pauli_sum_format(set.items[k], t, sizeof t, NULL) == QML_OK)
                            fprintf(stderr, "#   %s\n", t);
                    }
                }
                assert_int_equal(lib.centre, ref.centre);
                assert_int_equal(lib.n_ideals, ref.n_ideals);
                for (size_t j = 0; j < ref.n_ideals; j++)
                    assert_int_equal(lib.ideal[j], ref.ideal[j]);
                with_structure++;
            }
        }
        qml_lie_algebra_free(a);
        set_free(&set);
    }
    printf("# random sets against the dense reference: %zu trials, %zu dimensions compared (%zu with centre and "
           "ideals), %zu above %u\n",
           trial, compared, with_structure, large, REF_MAX_DIM);
    assert_true(compared >= 200);
    assert_true(with_structure >= 120);
}

/* ---- qml_pauli_dla_classify ----------------------------------------------------------- */

static void hea_strings(generator_set *set, unsigned n, qml_pauli_sum **items, size_t *count)
{
    (void)set;
    char text[48];
    size_t c = 0;
    for (unsigned q = 0; q < n; q++) {
        snprintf(text, sizeof text, "X%u", q);
        items[c++] = parse(n, text);
        snprintf(text, sizeof text, "Y%u", q);
        items[c++] = parse(n, text);
    }
    for (unsigned q = 0; q + 1 < n; q++) {
        snprintf(text, sizeof text, "Z%u Z%u", q, q + 1);
        items[c++] = parse(n, text);
    }
    *count = c;
}

/* HEA generators at n = 50, 100, 1000: su(2^n), decided without a basis. */
static void test_classify_hea_large(void **state)
{
    (void)state;
    static const unsigned sizes[] = {2, 50, 100, 1000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned n = sizes[i];
        qml_pauli_sum **items = calloc(3 * (size_t)n, sizeof *items);
        assert_non_null(items);
        size_t count = 0;
        hea_strings(NULL, n, items, &count);
        qml_dla_summary s = {.size = sizeof s};
        assert_ok(qml_pauli_dla_classify((const qml_pauli_sum *const *)items, count, &s));
        printf("# HEA n = %u: %s, log2 dim %.6f, full %d\n", n, s.name, s.log2_dimension, s.is_full);
        assert_true(s.is_full);
        assert_int_equal(s.n_components, 1);
        assert_int_equal(s.centre_dim, 0);
        assert_close(s.log2_dimension, 2.0 * n + log2(1.0 - pow(4.0, -(double)n)), 1e-9);
        if (n == 2)
            assert_string_equal(s.name, "su(4)");
        else {
            char expect[32];
            snprintf(expect, sizeof expect, "su(2^%u)", n);
            assert_string_equal(s.name, expect);
        }
        for (size_t k = 0; k < count; k++)
            qml_pauli_sum_free(items[k]);
        free(items);
    }
    /* a sum is not a string */
    qml_pauli_sum *g[2] = {parse(2, "X0 + Z1"), parse(2, "Z0")};
    qml_dla_summary s = {.size = sizeof s};
    assert_status(qml_pauli_dla_classify((const qml_pauli_sum *const *)g, 2, &s), QML_ERR_NOT_APPLICABLE);
    qml_pauli_sum_free(g[0]);
    qml_pauli_sum_free(g[1]);
    /* three-qubit strings are not edges: local su(2) + Z0 Z1 Z2 is not su(8) */
    generator_set set = {0};
    const char *texts[] = {"X0", "Y0", "X1", "Y1", "X2", "Y2", "Z0 Z1 Z2"};
    for (size_t i = 0; i < 7; i++)
        set_add(&set, 3, texts[i]);
    s = (qml_dla_summary){.size = sizeof s};
    assert_ok(qml_pauli_dla_classify((const qml_pauli_sum *const *)set.items, set.count, &s));
    qml_lie_algebra *a = close_set(&set);
    printf("# local su(2) + Z0 Z1 Z2: %s (dim %.0f), enumeration dim %zu\n", s.name, s.dimension,
           qml_lie_algebra_dim(a));
    assert_false(s.is_full);
    assert_close(s.dimension, (double)qml_lie_algebra_dim(a), 0.0);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* >= 500 random string sets on n = 2..6 qubits: the classification against
 * the enumerating closure (dim, centre, number of ideals, full). Half the
 * sets are built to meet the locality criterion or nearly (a qubit short of
 * a second letter, or a disconnected graph). */
static void test_classify_random(void **state)
{
    (void)state;
    harness_rng rng = {0xc1a55ull};
    size_t full_sets = 0;
    for (size_t trial = 0; trial < 520; trial++) {
        unsigned n = 2 + (unsigned)(harness_next(&rng) % 5);
        generator_set set = {0};
        char text[64], piece[16];
        bool local = trial % 2 == 0;
        if (local) {
            for (unsigned q = 0; q < n; q++) {
                unsigned l1 = (unsigned)(harness_next(&rng) % 3), l2 = (unsigned)(harness_next(&rng) % 3);
                snprintf(text, sizeof text, "%c%u", "XYZ"[l1], q);
                set_add(&set, n, text);
                if (harness_next(&rng) % 8 != 0 && l2 != l1) {
                    snprintf(text, sizeof text, "%c%u", "XYZ"[l2], q);
                    set_add(&set, n, text);
                }
            }
            unsigned edges = (unsigned)(harness_next(&rng) % (n + 1));
            for (unsigned e = 0; e < edges && set.count < 60; e++) {
                unsigned a = (unsigned)(harness_next(&rng) % n), b = (unsigned)(harness_next(&rng) % n);
                if (a == b)
                    continue;
                snprintf(text, sizeof text, "%c%u %c%u", "XYZ"[harness_next(&rng) % 3], a, "XYZ"[harness_next(&rng) % 3], b);
                set_add(&set, n, text);
            }
        } else {
            size_t count = 1 + (size_t)(harness_next(&rng) % 5);
            for (size_t k = 0; k < count; k++) {
                text[0] = '\0';
                for (unsigned q = 0; q < n; q++) {
                    unsigned l = (unsigned)(harness_next(&rng) % 4);
                    if (l == 3)
                        continue;
                    snprintf(piece, sizeof piece, "%c%u ", "XYZ"[l], q);
                    strcat(text, piece);
                }
                if (!text[0])
                    snprintf(text, sizeof text, "Z0");
                set_add(&set, n, text);
            }
        }
        qml_dla_summary s = {.size = sizeof s};
        assert_ok(qml_pauli_dla_classify((const qml_pauli_sum *const *)set.items, set.count, &s));
        qml_lie_options options = QML_LIE_OPTIONS_INIT;
        qml_lie_algebra *a = NULL;
        assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options));
        assert_close(s.dimension, (double)qml_lie_algebra_dim(a), 0.0);
        assert_int_equal(s.is_full, qml_lie_algebra_is_full(a));
        if (qml_lie_algebra_structure_known(a)) {
            assert_int_equal(s.centre_dim, qml_lie_algebra_center_dim(a));
            assert_int_equal(s.n_components, qml_lie_algebra_n_ideals(a));
        }
        full_sets += (size_t)s.is_full;
        qml_lie_algebra_free(a);
        set_free(&set);
    }
    printf("# classification: 520 random sets agree with the enumerating closure (%zu full)\n", full_sets);
}

static int sequence_classify(void *context)
{
    (void)context;
    qml_pauli_sum *g[3] = {NULL, NULL, NULL};
    int status = qml_pauli_sum_parse(&g[0], 3, "X0 X1");
    if (!status)
        status = qml_pauli_sum_parse(&g[1], 3, "Z0 Z1 Y2");
    if (!status)
        status = qml_pauli_sum_parse(&g[2], 3, "Y0 X1");
    qml_dla_summary s = {.size = sizeof s};
    if (!status)
        status = qml_pauli_dla_classify((const qml_pauli_sum *const *)g, 3, &s);
    for (int k = 0; k < 3; k++)
        qml_pauli_sum_free(g[k]);
    return status;
}

static int sequence_exact(void *context)
{
    (void)context;
    qml_pauli_sum *g[3] = {NULL, NULL, NULL};
    int status = qml_pauli_sum_parse(&g[0], 3, "X0 + X1 + X2");
    if (!status)
        status = qml_pauli_sum_parse(&g[1], 3, "Z0 + Z1 + 1.5*Z2");
    if (!status)
        status = qml_pauli_sum_parse(&g[2], 3, "Z0 Z1 + Z1 Z2 + Z0 Z2");
    qml_lie_algebra *a = NULL;
    if (!status)
        status = qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)g, 3, NULL);
    qml_lie_algebra_free(a);
    for (int k = 0; k < 3; k++)
        qml_pauli_sum_free(g[k]);
    return status;
}

/* so(7) from strings and from sums: the root-length paths of the naming. */
static int sequence_roots(void *context)
{
    (void)context;
    static const char *texts[2][6] = {{"Z0", "X0 X1", "Z1", "X1 X2", "Z2", "X2"},
                                      {"Z0 + 0.5*X0 X1", "Z1 + 0.5*X1 X2", "Z2 + 0.25*X2", "X0 X1", "Z0", "Z1"}};
    int status = 0;
    for (int sums = 0; sums <= 1 && !status; sums++) {
        qml_pauli_sum *g[6] = {0};
        for (int k = 0; k < 6 && !status; k++)
            status = qml_pauli_sum_parse(&g[k], 3, texts[sums][k]);
        qml_lie_algebra *a = NULL;
        if (!status)
            status = qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)g, 6, NULL);
        qml_lie_algebra_free(a);
        for (int k = 0; k < 6; k++)
            qml_pauli_sum_free(g[k]);
    }
    return status;
}

static void test_allocation_failures_exact(void **state)
{
    (void)state;
    int roots = harness_check_allocation_failures(sequence_roots, NULL);
    printf("# allocation failures: so/sp naming %d runs\n", roots);
    int runs = harness_check_allocation_failures(sequence_classify, NULL);
    printf("# allocation failures: classify %d runs\n", runs);
    runs = harness_check_allocation_failures(sequence_exact, NULL);
    printf("# allocation failures: exact closure %d runs\n", runs);
    qml__lie_rebuild_above = -1.0; /* the pivoted re-closure on the same set */
    runs = harness_check_allocation_failures(sequence_exact, NULL);
    qml__lie_rebuild_above = LIE_CLOSED_DEFECT;
    printf("# allocation failures: exact closure and pivoted re-closure %d runs\n", runs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wide_strings_state_zero),
        cmocka_unit_test(test_permutation_equivariant_exact),
        cmocka_unit_test(test_sn_structure),
        cmocka_unit_test(test_sn_structure_large),
        cmocka_unit_test(test_pivoted_basis_forced),
        cmocka_unit_test(test_scale_invariance),
        cmocka_unit_test(test_near_symmetric),
        cmocka_unit_test(test_full_by_dimension),
        cmocka_unit_test(test_heisenberg_ring_mean),
        cmocka_unit_test(test_so4_splits),
        cmocka_unit_test(test_tfim_lattice_ideals),
        cmocka_unit_test(test_random_structures),
        cmocka_unit_test(test_random_against_dense),
        cmocka_unit_test(test_so_versus_sp),
        cmocka_unit_test(test_classify_hea_large),
        cmocka_unit_test(test_classify_random),
        cmocka_unit_test(test_allocation_failures_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

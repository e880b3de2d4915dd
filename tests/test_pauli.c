/* test_pauli.c: Pauli strings and sums against dense matrices built here,
 * algebraic identities at large n, the text form, validation, and OOM. */
#include "harness.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- references built in the test ------------------------------------------ */

/* A random sum kept as the list of (coefficient, dense string) it was built
 * from, so that the reference matrix never goes through the library. */
typedef struct listed_sum {
    unsigned n;
    size_t count;
    double coeff[64];
    char dense[64][8];
} listed_sum;

static char random_letter(harness_rng *rng)
{
    return "IXYZ"[harness_next(rng) & 3u];
}

static void random_listed(harness_rng *rng, unsigned n, size_t count, listed_sum *out)
{
    out->n = n;
    out->count = count;
    for (size_t t = 0; t < count; t++) {
        out->coeff[t] = harness_normal(rng);
        for (unsigned q = 0; q < n; q++)
            out->dense[t][q] = random_letter(rng);
        out->dense[t][n] = '\0';
    }
}

static qml_pauli_sum *build_listed(const listed_sum *l)
{
    qml_pauli_sum *sum = NULL;
    assert_ok(qml_pauli_sum_create(&sum, l->n));
    for (size_t t = 0; t < l->count; t++)
        assert_ok(qml_pauli_sum_add_string(sum, l->coeff[t], l->dense[t]));
    return sum;
}

static double *dense_alloc(unsigned n)
{
    size_t d = (size_t)1 << n;
    double *m = calloc(2 * d * d, sizeof *m);
    assert_non_null(m);
    return m;
}

/* sum_t c_t P_t from Kronecker products of 2x2 Pauli matrices. */
static double *listed_matrix(const listed_sum *l)
{
    size_t d = (size_t)1 << l->n;
    double *m = dense_alloc(l->n), *p = dense_alloc(l->n);
    for (size_t t = 0; t < l->count; t++) {
        harness_pauli_matrix(l->n, l->dense[t], p);
        for (size_t i = 0; i < 2 * d * d; i++)
            m[i] += l->coeff[t] * p[i];
    }
    free(p);
    return m;
}

static void assert_matrices_close(unsigned n, const double *a, const double *b, double tol)
{
    size_t d = (size_t)1 << n;
    for (size_t i = 0; i < 2 * d * d; i++)
        if (!(fabs(a[i] - b[i]) <= tol))
            fail_msg("matrices differ at entry %zu (%s part): %.17g vs %.17g (tol %g)", i / 2, i % 2 ? "imag" : "real",
                     a[i], b[i], tol);
}

static double *library_matrix(const qml_pauli_sum *sum)
{
    unsigned n = qml_pauli_sum_n_qubits(sum);
    size_t d = (size_t)1 << n;
    double *m = dense_alloc(n);
    assert_ok(qml_pauli_sum_to_dense(sum, m, 2 * d * d));
    return m;
}

/* Build a sum from text, failing the test on error. */
static qml_pauli_sum *parse_ok(unsigned n, const char *text)
{
    qml_pauli_sum *sum = NULL;
    int status = qml_pauli_sum_parse(&sum, n, text);
    if (status != QML_OK)
        fail_msg("parse of \"%s\" failed: %s", text, qml_last_error());
    return sum;
}

static void assert_equal_sums(const qml_pauli_sum *a, const qml_pauli_sum *b, double tol)
{
    int equal = -1;
    assert_ok(qml_pauli_sum_equal(a, b, tol, &equal));
    if (!equal) {
        char *ta = malloc(1 << 16), *tb = malloc(1 << 16);
        size_t la, lb;
        qml_pauli_sum_format(a, ta, 1 << 16, &la);
        qml_pauli_sum_format(b, tb, 1 << 16, &lb);
        fail_msg("sums differ (tol %g):\n  %.2000s\n  %.2000s", tol, ta, tb);
    }
}

/* A random sum of `count` random strings on n qubits (any n), through
 * add_term with random subsets of qubits. */
static qml_pauli_sum *random_sparse_sum(harness_rng *rng, unsigned n, size_t count, unsigned weight)
{
    qml_pauli_sum *sum = NULL;
    assert_ok(qml_pauli_sum_create(&sum, n));
    unsigned *qubits = malloc(weight * sizeof *qubits);
    char *ops = malloc(weight);
    for (size_t t = 0; t < count; t++) {
        unsigned k = 0;
        while (k < weight) {
            unsigned q = (unsigned)(harness_next(rng) % n);
            int dup = 0;
            for (unsigned j = 0; j < k; j++)
                dup |= qubits[j] == q;
            if (dup)
                continue;
            qubits[k] = q;
            ops[k] = "XYZ"[harness_next(rng) % 3];
            k++;
        }
        assert_ok(qml_pauli_sum_add_term(sum, harness_normal(rng), ops, qubits, weight));
    }
    free(qubits);
    free(ops);
    return sum;
}

/* A random sum whose strings act on 3 of 8 "hot" qubits spread over the
 * words (so that brackets are non-trivial at large n) and on 1 random qubit. */
static qml_pauli_sum *random_hot_sum(harness_rng *rng, unsigned n, size_t count)
{
    const unsigned hot[8] = {0, 1, 5, 63, 64, n / 2, n - 2, n - 1};
    qml_pauli_sum *sum = NULL;
    assert_ok(qml_pauli_sum_create(&sum, n));
    for (size_t t = 0; t < count; t++) {
        unsigned qubits[4];
        char ops[4];
        unsigned k = 0;
        while (k < 4) {
            unsigned q = k < 3 ? hot[harness_next(rng) % 8] : (unsigned)(harness_next(rng) % n);
            int dup = 0;
            for (unsigned j = 0; j < k; j++)
                dup |= qubits[j] == q;
            if (dup)
                continue;
            qubits[k] = q;
            ops[k] = "XYZ"[harness_next(rng) % 3];
            k++;
        }
        assert_ok(qml_pauli_sum_add_term(sum, harness_normal(rng), ops, qubits, 4));
    }
    return sum;
}

/* One random string of the given weight with coefficient 1. */
static qml_pauli_sum *random_string(harness_rng *rng, unsigned n, unsigned weight)
{
    qml_pauli_sum *sum = random_sparse_sum(rng, n, 1, weight);
    assert_ok(qml_pauli_sum_scale(sum, 0.0));
    qml_pauli_sum *one = random_sparse_sum(rng, n, 1, weight);
    char *dense = malloc(n + 1);
    assert_ok(qml_pauli_sum_term(one, 0, NULL, dense));
    assert_ok(qml_pauli_sum_add_string(sum, 1.0, dense));
    free(dense);
    qml_pauli_sum_free(one);
    return sum;
}

/* ---- handles and building ------------------------------------------------------ */

static void test_create_and_validation(void **state)
{
    (void)state;
    qml_pauli_sum *sum = NULL;
    assert_status(qml_pauli_sum_create(NULL, 2), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_create(&sum, 0), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "n_qubits"));
    assert_status(qml_pauli_sum_create(&sum, (1u << 20) + 1), QML_ERR_LIMIT);
    assert_null(sum);
    assert_ok(qml_pauli_sum_create(&sum, 3));
    assert_int_equal(qml_pauli_sum_n_qubits(sum), 3);
    assert_int_equal(qml_pauli_sum_n_terms(sum), 0);
    assert_int_equal(qml_pauli_sum_n_qubits(NULL), 0);
    assert_int_equal(qml_pauli_sum_n_terms(NULL), 0);
    qml_pauli_sum_free(NULL);

    /* add_term validation, each with its own message */
    unsigned q2[2] = {1, 1};
    assert_status(qml_pauli_sum_add_term(sum, 1.0, "XZ", q2, 2), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "twice"));
    unsigned q1[1] = {3};
    assert_status(qml_pauli_sum_add_term(sum, 1.0, "X", q1, 1), QML_ERR_OUT_OF_RANGE);
    q1[0] = 0;
    assert_status(qml_pauli_sum_add_term(sum, 1.0, "x", q1, 1), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_add_term(sum, NAN, "X", q1, 1), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_add_term(sum, INFINITY, "X", q1, 1), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_add_term(sum, 1.0, NULL, q1, 1), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_add_term(NULL, 1.0, "X", q1, 1), QML_ERR_INVALID_ARGUMENT);
    unsigned q4[4] = {0, 1, 2, 0};
    assert_status(qml_pauli_sum_add_term(sum, 1.0, "XXXX", q4, 4), QML_ERR_INVALID_ARGUMENT);
    /* add_string validation */
    assert_status(qml_pauli_sum_add_string(sum, 1.0, "XY"), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_add_string(sum, 1.0, "XYZI"), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_add_string(sum, 1.0, "XqZ"), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "character 1"));
    assert_status(qml_pauli_sum_add_string(sum, NAN, "XYZ"), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_add_string(sum, 1.0, NULL), QML_ERR_INVALID_ARGUMENT);
    /* nothing was added by any failing call */
    assert_int_equal(qml_pauli_sum_n_terms(sum), 0);
    /* term() validation */
    assert_status(qml_pauli_sum_term(sum, 0, NULL, NULL), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_pauli_sum_term(NULL, 0, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    qml_pauli_sum_free(sum);
}

static void test_merge_order_and_zeros(void **state)
{
    (void)state;
    qml_pauli_sum *sum = NULL;
    assert_ok(qml_pauli_sum_create(&sum, 3));
    unsigned q[2] = {2, 0};
    assert_ok(qml_pauli_sum_add_term(sum, 0.5, "ZX", q, 2));  /* X0 Z2 */
    assert_ok(qml_pauli_sum_add_string(sum, 2.0, "IYI"));      /* Y1 */
    assert_ok(qml_pauli_sum_add_term(sum, 3.0, NULL, NULL, 0)); /* 3 I */
    assert_ok(qml_pauli_sum_add_string(sum, 0.25, "XIZ"));     /* merges into X0 Z2 */
    assert_ok(qml_pauli_sum_add_string(sum, 0.0, "ZZZ"));      /* a zero adds nothing */
    assert_int_equal(qml_pauli_sum_n_terms(sum), 3);
    double c;
    char dense[4];
    assert_ok(qml_pauli_sum_term(sum, 0, &c, dense));
    assert_string_equal(dense, "XIZ");
    assert_true(c == 0.75);
    assert_ok(qml_pauli_sum_term(sum, 1, &c, dense));
    assert_string_equal(dense, "IYI");
    assert_ok(qml_pauli_sum_term(sum, 2, &c, dense));
    assert_string_equal(dense, "III");
    assert_true(c == 3.0);
    /* An exact cancellation removes the term and keeps the others' order. */
    assert_ok(qml_pauli_sum_add_string(sum, -0.75, "XIZ"));
    assert_int_equal(qml_pauli_sum_n_terms(sum), 2);
    assert_ok(qml_pauli_sum_term(sum, 0, &c, dense));
    assert_string_equal(dense, "IYI");
    assert_ok(qml_pauli_sum_term(sum, 1, &c, dense));
    assert_string_equal(dense, "III");
    /* ... and the hash map still finds every term after the compaction. */
    assert_ok(qml_pauli_sum_add_string(sum, 1.0, "III"));
    assert_ok(qml_pauli_sum_term(sum, 1, &c, dense));
    assert_true(c == 4.0);
    assert_int_equal(qml_pauli_sum_n_terms(sum), 2);
    double trace;
    assert_ok(qml_pauli_sum_trace(sum, &trace));
    assert_true(trace == 4.0);
    qml_pauli_sum_free(sum);

    /* Many terms: growth and rehashing keep insertion order and merging. */
    assert_ok(qml_pauli_sum_create(&sum, 12));
    char s[13];
    for (unsigned pass = 0; pass < 2; pass++)
        for (unsigned k = 0; k < 4096; k++) {
            for (unsigned qb = 0; qb < 6; qb++)
                s[qb] = "IXYZ"[(k >> (2 * qb)) & 3u];
            memset(s + 6, 'I', 6);
            s[12] = '\0';
            assert_ok(qml_pauli_sum_add_string(sum, (double)(k + 1), s));
        }
    assert_int_equal(qml_pauli_sum_n_terms(sum), 4096);
    for (unsigned k = 0; k < 4096; k += 97) {
        assert_ok(qml_pauli_sum_term(sum, k, &c, s));
        assert_true(c == 2.0 * (double)(k + 1));
        for (unsigned qb = 0; qb < 6; qb++)
            assert_int_equal(s[qb], "IXYZ"[(k >> (2 * qb)) & 3u]);
    }
    qml_pauli_sum_free(sum);
}

/* The internals other units use directly: add_masks, find, prune, and the
 * layout invariants (term-major masks, hash slots holding index + 1). */
static void test_internals(void **state)
{
    (void)state;
    qml_pauli_sum *sum = NULL;
    const unsigned n = 130; /* three words */
    assert_ok(qml_pauli_sum_create(&sum, n));
    assert_int_equal(sum->words, 3);
    uint64_t x[3] = {0}, z[3] = {0};
    for (unsigned k = 0; k < 100; k++) {
        x[k % 3] = k + 1;
        z[(k + 1) % 3] = 3 * k;
        assert_ok(qml__pauli_sum_add_masks(sum, 0.01 * (double)k + 0.001, x, z));
        memset(x, 0, sizeof x);
        memset(z, 0, sizeof z);
    }
    assert_int_equal(sum->n_terms, 100);
    assert_true(sum->n_slots >= 2 * sum->n_terms && (sum->n_slots & (sum->n_slots - 1)) == 0);
    for (size_t t = 0; t < sum->n_terms; t++)
        assert_int_equal(qml__pauli_sum_find(sum, sum->x + 3 * t, sum->z + 3 * t), t);
    x[1] = 12345;
    assert_true(qml__pauli_sum_find(sum, x, z) == SIZE_MAX);
    assert_status(qml__pauli_sum_add_masks(sum, NAN, x, z), QML_ERR_INVALID_ARGUMENT);
    assert_ok(qml__pauli_sum_add_masks(sum, 0.0, x, z)); /* adds nothing */
    assert_int_equal(sum->n_terms, 100);
    /* prune below 0.5: keeps terms k >= 50 in order, and find still works */
    qml__pauli_sum_prune(sum, 0.5);
    assert_int_equal(sum->n_terms, 50);
    for (size_t t = 0; t < sum->n_terms; t++) {
        assert_true(sum->coeff[t] == 0.01 * (double)(t + 50) + 0.001);
        assert_int_equal(qml__pauli_sum_find(sum, sum->x + 3 * t, sum->z + 3 * t), t);
    }
    /* exact cancellation through add_masks drops the term */
    uint64_t x0[3], z0[3];
    memcpy(x0, sum->x, sizeof x0);
    memcpy(z0, sum->z, sizeof z0);
    assert_ok(qml__pauli_sum_add_masks(sum, -sum->coeff[0], x0, z0));
    assert_int_equal(sum->n_terms, 49);
    assert_true(qml__pauli_sum_find(sum, x0, z0) == SIZE_MAX);
    assert_true(sum->coeff[0] == 0.01 * 51.0 + 0.001);
    qml__pauli_sum_prune(sum, 1e9);
    assert_int_equal(sum->n_terms, 0);
    assert_true(qml__pauli_sum_find(sum, x0, z0) == SIZE_MAX);
    qml_pauli_sum_free(sum);
}

/* ---- products against dense matrices ------------------------------------------- */

/* Every pair of 2-qubit strings: the product phase and the commutation
 * predicate agree with the 4x4 matrices. */
static void test_product_phase_dense(void **state)
{
    (void)state;
    const unsigned n = 2;
    const size_t d = 4;
    double *pa = dense_alloc(n), *pb = dense_alloc(n), *pc = dense_alloc(n), *ab = dense_alloc(n),
           *ba = dense_alloc(n);
    for (unsigned i = 0; i < 16; i++)
        for (unsigned j = 0; j < 16; j++) {
            char sa[3] = {"IXYZ"[i & 3], "IXYZ"[i >> 2], 0}, sb[3] = {"IXYZ"[j & 3], "IXYZ"[j >> 2], 0};
            qml_pauli_sum *a = NULL, *b = NULL;
            assert_ok(qml_pauli_sum_create(&a, n));
            assert_ok(qml_pauli_sum_create(&b, n));
            assert_ok(qml_pauli_sum_add_string(a, 1.0, sa));
            assert_ok(qml_pauli_sum_add_string(b, 1.0, sb));
            unsigned phase = qml__pauli_product_phase(1, a->x, a->z, b->x, b->z);
            uint64_t xc = a->x[0] ^ b->x[0], zc = a->z[0] ^ b->z[0];
            char sc[3];
            for (unsigned q = 0; q < 2; q++)
                sc[q] = "IXZY"[((xc >> q) & 1u) | (((zc >> q) & 1u) << 1)];
            sc[2] = 0;
            harness_pauli_matrix(n, sa, pa);
            harness_pauli_matrix(n, sb, pb);
            harness_pauli_matrix(n, sc, pc);
            harness_matmul(d, pa, pb, ab);
            harness_matmul(d, pb, pa, ba);
            /* i^phase P_c, exactly: the entries are 0, +-1, +-i */
            static const double re[4] = {1, 0, -1, 0}, im[4] = {0, 1, 0, -1};
            for (size_t e = 0; e < d * d; e++) {
                double er = re[phase] * pc[2 * e] - im[phase] * pc[2 * e + 1];
                double ei = re[phase] * pc[2 * e + 1] + im[phase] * pc[2 * e];
                assert_true(ab[2 * e] == er && ab[2 * e + 1] == ei);
            }
            int anti = memcmp(ab, ba, 2 * d * d * sizeof *ab) != 0;
            assert_int_equal(qml__pauli_anticommute(1, a->x, a->z, b->x, b->z), anti);
            int commute = -1;
            assert_ok(qml_pauli_strings_commute(n, sa, sb, &commute));
            assert_int_equal(commute, !anti);
            qml_pauli_sum_free(a);
            qml_pauli_sum_free(b);
        }
    free(pa);
    free(pb);
    free(pc);
    free(ab);
    free(ba);
    int commute;
    assert_status(qml_pauli_strings_commute(2, "XY", "X", &commute), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_strings_commute(2, "XY", "XYZ", &commute), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_strings_commute(2, "XY", "Xa", &commute), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_strings_commute(0, "", "", &commute), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_strings_commute(2, "XY", "XX", NULL), QML_ERR_INVALID_ARGUMENT);
}

/* Random sums for n = 1..5: to_dense, bracket, anticommutator, inner, norm,
 * trace and commutes against the matrices built here.
 * Tolerance: entries are sums of at most 64*64 products of N(0,1)
 * coefficients (|.| < ~50 each), rounded in different orders by the library
 * and by harness_matmul; 1e-12 is ~1e4 ulps of the largest possible sum and
 * far below any real error (which would be O(1)). */
static void test_random_sums_dense(void **state)
{
    (void)state;
    harness_rng rng = {20240601};
    const double tol = 1e-12;
    for (unsigned n = 1; n <= 5; n++)
        for (unsigned trial = 0; trial < 6; trial++) {
            listed_sum la, lb;
            random_listed(&rng, n, 1 + harness_next(&rng) % 12, &la);
            random_listed(&rng, n, 1 + harness_next(&rng) % 12, &lb);
            if (trial == 0) /* exercise identical strings in A and B */
                lb = la;
            qml_pauli_sum *a = build_listed(&la), *b = build_listed(&lb);
            double *ma = listed_matrix(&la), *mb = listed_matrix(&lb);
            size_t d = (size_t)1 << n;
            double *ab = dense_alloc(n), *ba = dense_alloc(n), *expect = dense_alloc(n);
            harness_matmul(d, ma, mb, ab);
            harness_matmul(d, mb, ma, ba);

            double *got = library_matrix(a);
            assert_matrices_close(n, got, ma, tol);
            free(got);

            /* -i (AB - BA): (re, im) -> (im, -re) */
            for (size_t e = 0; e < d * d; e++) {
                expect[2 * e] = ab[2 * e + 1] - ba[2 * e + 1];
                expect[2 * e + 1] = -(ab[2 * e] - ba[2 * e]);
            }
            qml_pauli_sum *c = NULL;
            assert_ok(qml_pauli_sum_bracket(&c, a, b));
            got = library_matrix(c);
            assert_matrices_close(n, got, expect, tol);
            free(got);
            int commute = -1;
            double max_entry = 0;
            for (size_t e = 0; e < 2 * d * d; e++)
                max_entry = fmax(max_entry, fabs(expect[e]));
            assert_ok(qml_pauli_sum_commutes(a, b, tol, &commute));
            assert_int_equal(commute, max_entry <= tol);
            qml_pauli_sum_free(c);

            for (size_t e = 0; e < 2 * d * d; e++)
                expect[e] = 0.5 * (ab[e] + ba[e]);
            assert_ok(qml_pauli_sum_anticommutator(&c, a, b));
            got = library_matrix(c);
            assert_matrices_close(n, got, expect, tol);
            free(got);
            qml_pauli_sum_free(c);

            /* Tr(AB) / 2^n, and it is real for Hermitian A, B */
            double tr_re = 0, tr_im = 0;
            for (size_t r = 0; r < d; r++) {
                tr_re += ab[2 * (r * d + r)];
                tr_im += ab[2 * (r * d + r) + 1];
            }
            double inner;
            assert_ok(qml_pauli_sum_inner(a, b, &inner));
            assert_close(inner, tr_re / (double)d, tol);
            assert_close(tr_im, 0.0, tol);
            double norm = 0, aa_re = 0, trace = 0;
            double *aa = dense_alloc(n);
            harness_matmul(d, ma, ma, aa);
            for (size_t r = 0; r < d; r++) {
                aa_re += aa[2 * (r * d + r)];
                trace += ma[2 * (r * d + r)];
            }
            free(aa);
            assert_ok(qml_pauli_sum_norm(a, &norm));
            assert_close(norm, sqrt(aa_re / (double)d), tol);
            double tr;
            assert_ok(qml_pauli_sum_trace(a, &tr));
            assert_close(tr, trace / (double)d, tol);

            free(ma);
            free(mb);
            free(ab);
            free(ba);
            free(expect);
            qml_pauli_sum_free(a);
            qml_pauli_sum_free(b);
        }
}

/* Commuting sums that are not termwise commuting: [X0 X1, Z0 Z1] = 0 as
 * strings, and A = X0 + Z0 commutes with itself though X0, Z0 do not. */
static void test_commutes(void **state)
{
    (void)state;
    qml_pauli_sum *a = parse_ok(2, "X0 + Z0"), *b = parse_ok(2, "X0 X1"), *c = parse_ok(2, "Z0 Z1");
    int commute = -1;
    assert_ok(qml_pauli_sum_commutes(a, a, 0.0, &commute));
    assert_int_equal(commute, 1);
    assert_ok(qml_pauli_sum_commutes(b, c, 0.0, &commute));
    assert_int_equal(commute, 1);
    assert_ok(qml_pauli_sum_commutes(a, b, 0.0, &commute));
    assert_int_equal(commute, 0);
    assert_status(qml_pauli_sum_commutes(a, b, -1.0, &commute), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_commutes(a, b, NAN, &commute), QML_ERR_INVALID_ARGUMENT);
    qml_pauli_sum_free(a);
    qml_pauli_sum_free(b);
    qml_pauli_sum_free(c);

    /* Near the limits of a double: the bracket of sums with coefficients of
     * 1e200 overflows and that of sums of 1e-200 underflows, but whether
     * they commute is still decided (the scaled bracket), with the
     * tolerance in the units of the unscaled one. */
    qml_pauli_sum *big = parse_ok(2, "1e200*X0 + 3e199*Z0 Z1 - 1e200*Y1"), *tiny = parse_ok(2, "1e-200*X0 + 2e-200*Z0");
    qml_pauli_sum *big_z = parse_ok(2, "1e200*Z0 Z1 + 5e199*Z1");
    assert_ok(qml_pauli_sum_commutes(big, big, 1e-9, &commute));
    assert_int_equal(commute, 1);
    assert_ok(qml_pauli_sum_commutes(big, big_z, 0.0, &commute));
    assert_int_equal(commute, 0);
    assert_ok(qml_pauli_sum_commutes(big_z, big_z, 0.0, &commute));
    assert_int_equal(commute, 1);
    /* -i[1e-200 X0 + 2e-200 Z0, itself] = 0; against Z0 alone it is
     * 2e-200 * 2 Y0 up to sign: not zero at tolerance 0, zero at 1e-100 */
    qml_pauli_sum *z0 = parse_ok(2, "Z0");
    assert_ok(qml_pauli_sum_commutes(tiny, tiny, 0.0, &commute));
    assert_int_equal(commute, 1);
    assert_ok(qml_pauli_sum_commutes(tiny, z0, 0.0, &commute));
    assert_int_equal(commute, 0);
    assert_ok(qml_pauli_sum_commutes(tiny, z0, 1e-100, &commute));
    assert_int_equal(commute, 1);
    assert_ok(qml_pauli_sum_commutes(tiny, z0, 1.9e-200, &commute));
    assert_int_equal(commute, 0);
    assert_ok(qml_pauli_sum_commutes(tiny, z0, 2.1e-200, &commute));
    assert_int_equal(commute, 1);
    qml_pauli_sum_free(big);
    qml_pauli_sum_free(tiny);
    qml_pauli_sum_free(big_z);
    qml_pauli_sum_free(z0);
}

/* ---- large n ---------------------------------------------------------------------- */

/* The product of two strings computed qubit by qubit from the 1-qubit
 * table (sigma_a sigma_b = delta_ab I + i eps_abc sigma_c): a second method
 * for the multi-word phase rule. */
static unsigned naive_phase(unsigned n, const char *a, const char *b, char *c)
{
    unsigned phase = 0;
    for (unsigned q = 0; q < n; q++) {
        char p = a[q], r = b[q];
        if (p == 'I') {
            c[q] = r;
        } else if (r == 'I') {
            c[q] = p;
        } else if (p == r) {
            c[q] = 'I';
        } else {
            /* XY = iZ, YZ = iX, ZX = iY; reversed order gives -i */
            static const char order[] = "XYZ";
            int ip = (int)(strchr(order, p) - order), ir = (int)(strchr(order, r) - order);
            c[q] = order[3 - ip - ir];
            phase += ((ir - ip + 3) % 3 == 1) ? 1u : 3u;
        }
    }
    c[n] = '\0';
    return phase & 3u;
}

static void test_large_n_phase(void **state)
{
    (void)state;
    harness_rng rng = {77};
    const unsigned ns[] = {63, 64, 65, 100, 1000};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        unsigned n = ns[k];
        char *sa = malloc(n + 1), *sb = malloc(n + 1), *sc = malloc(n + 1), *got = malloc(n + 1);
        for (unsigned trial = 0; trial < 50; trial++) {
            for (unsigned q = 0; q < n; q++) {
                sa[q] = random_letter(&rng);
                sb[q] = random_letter(&rng);
            }
            sa[n] = sb[n] = '\0';
            unsigned phase = naive_phase(n, sa, sb, sc);
            qml_pauli_sum *a = NULL, *b = NULL, *c = NULL;
            assert_ok(qml_pauli_sum_create(&a, n));
            assert_ok(qml_pauli_sum_create(&b, n));
            assert_ok(qml_pauli_sum_add_string(a, 1.0, sa));
            assert_ok(qml_pauli_sum_add_string(b, 1.0, sb));
            unsigned words = qml__pauli_words(n);
            assert_int_equal(qml__pauli_product_phase(words, a->x, a->z, b->x, b->z), phase);
            int anti = phase & 1u;
            assert_int_equal(qml__pauli_anticommute(words, a->x, a->z, b->x, b->z), anti);
            int commute;
            assert_ok(qml_pauli_strings_commute(n, sa, sb, &commute));
            assert_int_equal(commute, !anti);
            /* bracket: 2 i^{phase-1} P_c when anticommuting; anticommutator: i^phase P_c */
            assert_ok(anti ? qml_pauli_sum_bracket(&c, a, b) : qml_pauli_sum_anticommutator(&c, a, b));
            assert_int_equal(qml_pauli_sum_n_terms(c), 1);
            double coeff;
            assert_ok(qml_pauli_sum_term(c, 0, &coeff, got));
            assert_string_equal(got, sc);
            double expect = anti ? (phase == 1 ? 2.0 : -2.0) : (phase == 0 ? 1.0 : -1.0);
            assert_true(coeff == expect);
            qml_pauli_sum_free(c);
            assert_ok(anti ? qml_pauli_sum_anticommutator(&c, a, b) : qml_pauli_sum_bracket(&c, a, b));
            assert_int_equal(qml_pauli_sum_n_terms(c), 0);
            qml_pauli_sum_free(c);
            qml_pauli_sum_free(a);
            qml_pauli_sum_free(b);
        }
        free(sa);
        free(sb);
        free(sc);
        free(got);
    }
}

/* Jacobi, antisymmetry, bilinearity and HS orthonormality at n = 100 and
 * 1000. Coefficients are N(0,1) and sums have <= 24 terms of weight 4, so
 * the nested brackets have coefficients of O(10^2); the identities hold
 * exactly in real arithmetic and to a few ulps in doubles: tolerance 1e-10. */
static void test_large_n_identities(void **state)
{
    (void)state;
    harness_rng rng = {31337};
    const unsigned ns[] = {100, 1000};
    const double tol = 1e-10;
    for (size_t k = 0; k < 2; k++) {
        unsigned n = ns[k];
        qml_pauli_sum *a = random_hot_sum(&rng, n, 20), *b = random_hot_sum(&rng, n, 24),
                      *c = random_hot_sum(&rng, n, 16);

        /* antisymmetry: -i[A,B] = -(-i[B,A]) */
        qml_pauli_sum *ab = NULL, *ba = NULL;
        assert_ok(qml_pauli_sum_bracket(&ab, a, b));
        assert_ok(qml_pauli_sum_bracket(&ba, b, a));
        assert_true(qml_pauli_sum_n_terms(ab) > 0);
        assert_ok(qml_pauli_sum_scale(ba, -1.0));
        assert_equal_sums(ab, ba, tol);

        /* Jacobi: [A,[B,C]] + [B,[C,A]] + [C,[A,B]] = 0 (the -i factors
         * multiply every term by the same -1). */
        qml_pauli_sum *bc = NULL, *ca = NULL, *t1 = NULL, *t2 = NULL, *t3 = NULL;
        assert_ok(qml_pauli_sum_bracket(&bc, b, c));
        assert_ok(qml_pauli_sum_bracket(&ca, c, a));
        assert_ok(qml_pauli_sum_bracket(&t1, a, bc));
        assert_ok(qml_pauli_sum_bracket(&t2, b, ca));
        assert_ok(qml_pauli_sum_bracket(&t3, c, ab));
        assert_true(qml_pauli_sum_n_terms(t1) > 0);
        assert_ok(qml_pauli_sum_add(t1, 1.0, t2));
        assert_ok(qml_pauli_sum_add(t1, 1.0, t3));
        qml_pauli_sum *zero = NULL;
        assert_ok(qml_pauli_sum_create(&zero, n));
        assert_equal_sums(t1, zero, tol);

        /* bilinearity: [A + 2.5 C, B] = [A, B] + 2.5 [C, B], and likewise
         * for the anticommutator */
        qml_pauli_sum *mix = NULL, *lhs = NULL, *cb = NULL;
        assert_ok(qml_pauli_sum_copy(&mix, a));
        assert_ok(qml_pauli_sum_add(mix, 2.5, c));
        assert_ok(qml_pauli_sum_bracket(&lhs, mix, b));
        assert_ok(qml_pauli_sum_bracket(&cb, c, b));
        assert_ok(qml_pauli_sum_add(cb, 1.0 / 2.5, ab));
        assert_ok(qml_pauli_sum_scale(cb, 2.5));
        assert_equal_sums(lhs, cb, tol);
        qml_pauli_sum_free(lhs);
        qml_pauli_sum_free(cb);
        qml_pauli_sum *an = NULL, *an_ab = NULL, *an_cb = NULL;
        assert_ok(qml_pauli_sum_anticommutator(&an, mix, b));
        assert_ok(qml_pauli_sum_anticommutator(&an_ab, a, b));
        assert_ok(qml_pauli_sum_anticommutator(&an_cb, c, b));
        assert_ok(qml_pauli_sum_add(an_ab, 2.5, an_cb));
        assert_equal_sums(an, an_ab, tol);
        /* the anticommutator is symmetric */
        qml_pauli_sum *an_ba = NULL;
        assert_ok(qml_pauli_sum_anticommutator(&an_ba, b, a));
        assert_equal_sums(an_ab, an_ab, 0.0);
        qml_pauli_sum_free(an);
        qml_pauli_sum_free(an_cb);
        qml_pauli_sum_free(an_ba);
        qml_pauli_sum_free(an_ab);

        /* Tr(A [B, C]) = Tr([A, B] C): the bracket is ad-invariant for HS */
        double lhs_v, rhs_v;
        assert_ok(qml_pauli_sum_inner(a, bc, &lhs_v));
        assert_ok(qml_pauli_sum_inner(ab, c, &rhs_v));
        assert_close(lhs_v, rhs_v, tol);

        /* HS orthonormality: distinct random strings have inner product 0,
         * each has norm 1. */
        for (unsigned trial = 0; trial < 40; trial++) {
            qml_pauli_sum *p = random_string(&rng, n, 1 + (unsigned)(harness_next(&rng) % 5));
            qml_pauli_sum *r = random_string(&rng, n, 1 + (unsigned)(harness_next(&rng) % 5));
            double ip, iself;
            int same;
            assert_ok(qml_pauli_sum_equal(p, r, 0.0, &same));
            assert_ok(qml_pauli_sum_inner(p, r, &ip));
            assert_ok(qml_pauli_sum_inner(p, p, &iself));
            assert_true(ip == (same ? 1.0 : 0.0));
            assert_true(iself == 1.0);
            qml_pauli_sum_free(p);
            qml_pauli_sum_free(r);
        }

        qml_pauli_sum_free(mix);
        qml_pauli_sum_free(zero);
        qml_pauli_sum_free(t1);
        qml_pauli_sum_free(t2);
        qml_pauli_sum_free(t3);
        qml_pauli_sum_free(bc);
        qml_pauli_sum_free(ca);
        qml_pauli_sum_free(ab);
        qml_pauli_sum_free(ba);
        qml_pauli_sum_free(a);
        qml_pauli_sum_free(b);
        qml_pauli_sum_free(c);
    }
}

/* ---- add, scale, equal, support, to_dense limits ----------------------------------- */

static void test_add_scale_equal(void **state)
{
    (void)state;
    qml_pauli_sum *a = parse_ok(3, "0.5*X0 Z2 - 2*Y1 + 3"), *b = parse_ok(3, "2*Y1 + Z0"), *other = NULL;
    assert_ok(qml_pauli_sum_add(a, 1.0, b)); /* Y1 cancels exactly and is dropped */
    qml_pauli_sum *expect = parse_ok(3, "0.5*X0 Z2 + 3*I + Z0");
    assert_equal_sums(a, expect, 0.0);
    assert_int_equal(qml_pauli_sum_n_terms(a), 3);
    /* a += -1 * a empties it (aliasing) */
    assert_ok(qml_pauli_sum_add(a, -1.0, a));
    assert_int_equal(qml_pauli_sum_n_terms(a), 0);
    assert_ok(qml_pauli_sum_add(a, 2.0, b));
    assert_ok(qml_pauli_sum_add(a, 1.0, a));
    qml_pauli_sum *b4 = NULL;
    assert_ok(qml_pauli_sum_copy(&b4, b));
    assert_ok(qml_pauli_sum_scale(b4, 4.0));
    assert_equal_sums(a, b4, 0.0);
    assert_ok(qml_pauli_sum_scale(b4, 0.0));
    assert_int_equal(qml_pauli_sum_n_terms(b4), 0);
    /* equal within a tolerance, both ways, and missing terms count */
    qml_pauli_sum *p = parse_ok(2, "X0 + 1e-9*Z1"), *q = parse_ok(2, "1.0000000001*X0");
    int eq;
    assert_ok(qml_pauli_sum_equal(p, q, 1e-8, &eq));
    assert_int_equal(eq, 1);
    assert_ok(qml_pauli_sum_equal(q, p, 1e-8, &eq));
    assert_int_equal(eq, 1);
    assert_ok(qml_pauli_sum_equal(p, q, 1e-10, &eq));
    assert_int_equal(eq, 0);
    assert_ok(qml_pauli_sum_equal(q, p, 1e-10, &eq));
    assert_int_equal(eq, 0);
    /* validation */
    assert_ok(qml_pauli_sum_create(&other, 4));
    assert_status(qml_pauli_sum_add(a, 1.0, other), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "3 and 4"));
    assert_status(qml_pauli_sum_add(a, NAN, b), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_add(NULL, 1.0, b), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_scale(a, INFINITY), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_equal(p, other, 0.0, &eq), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_equal(p, q, -1.0, &eq), QML_ERR_INVALID_ARGUMENT);
    double v;
    assert_status(qml_pauli_sum_inner(a, other, &v), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_inner(a, b, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_norm(NULL, &v), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_trace(a, NULL), QML_ERR_INVALID_ARGUMENT);
    qml_pauli_sum *c = NULL;
    assert_status(qml_pauli_sum_bracket(&c, a, other), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_bracket(NULL, a, b), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_anticommutator(&c, NULL, b), QML_ERR_INVALID_ARGUMENT);
    assert_null(c);
    /* overflow is an error that leaves the sum unchanged */
    qml_pauli_sum *big = parse_ok(1, "1e300*X0 + Z0");
    assert_status(qml_pauli_sum_scale(big, 1e10), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_pauli_sum_add(big, 1e10, big), QML_ERR_OUT_OF_RANGE);
    qml_pauli_sum *big2 = parse_ok(1, "1.7e308*X0");
    assert_status(qml_pauli_sum_add(big2, 1.0, big2), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_pauli_sum_add_string(big2, 1.7e308, "X"), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_pauli_sum_anticommutator(&c, big, big), QML_ERR_OUT_OF_RANGE); /* 1e600 */
    assert_null(c);
    double coeff;
    assert_ok(qml_pauli_sum_term(big, 0, &coeff, NULL));
    assert_true(coeff == 1e300);
    assert_ok(qml_pauli_sum_norm(big, &v)); /* no overflow inside the norm */
    assert_close(v, 1e300, 1e285);
    qml_pauli_sum_free(big);
    qml_pauli_sum_free(big2);
    qml_pauli_sum_free(p);
    qml_pauli_sum_free(q);
    qml_pauli_sum_free(a);
    qml_pauli_sum_free(b);
    qml_pauli_sum_free(b4);
    qml_pauli_sum_free(expect);
    qml_pauli_sum_free(other);
}

static void test_support_and_dense_limits(void **state)
{
    (void)state;
    qml_pauli_sum *a = parse_ok(200, "X3 Z150 + 2*Y64 - I + Z3");
    unsigned qubits[4];
    size_t count = 0;
    assert_ok(qml_pauli_sum_support(a, qubits, 4, &count));
    assert_int_equal(count, 3);
    assert_int_equal(qubits[0], 3);
    assert_int_equal(qubits[1], 64);
    assert_int_equal(qubits[2], 150);
    assert_status(qml_pauli_sum_support(a, qubits, 2, &count), QML_ERR_OUT_OF_RANGE);
    assert_int_equal(count, 3);
    assert_status(qml_pauli_sum_support(a, NULL, 0, &count), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_pauli_sum_support(a, NULL, 4, &count), QML_ERR_INVALID_ARGUMENT);
    double m[2];
    assert_status(qml_pauli_sum_to_dense(a, m, 2), QML_ERR_LIMIT);
    qml_pauli_sum_free(a);
    a = parse_ok(2, "X0");
    assert_status(qml_pauli_sum_to_dense(a, m, 2), QML_ERR_OUT_OF_RANGE);
    assert_status(qml_pauli_sum_to_dense(a, NULL, 32), QML_ERR_INVALID_ARGUMENT);
    qml_pauli_sum_free(a);
    a = parse_ok(15, "X14");
    assert_status(qml_pauli_sum_to_dense(a, m, 2), QML_ERR_LIMIT);
    qml_pauli_sum_free(a);
}

/* ---- text ---------------------------------------------------------------------------- */

typedef struct expected_term {
    double coeff;
    const char *dense;
} expected_term;

static void assert_parses_to(unsigned n, const char *text, unsigned expect_n, const expected_term *terms, size_t count)
{
    qml_pauli_sum *sum = parse_ok(n, text);
    assert_int_equal(qml_pauli_sum_n_qubits(sum), expect_n);
    if (qml_pauli_sum_n_terms(sum) != count)
        fail_msg("\"%s\": %zu terms, expected %zu", text, qml_pauli_sum_n_terms(sum), count);
    char dense[64];
    for (size_t t = 0; t < count; t++) {
        double c;
        assert_ok(qml_pauli_sum_term(sum, t, &c, dense));
        if (c != terms[t].coeff || strcmp(dense, terms[t].dense) != 0)
            fail_msg("\"%s\" term %zu: %.17g %s, expected %.17g %s", text, t, c, dense, terms[t].coeff,
                     terms[t].dense);
    }
    qml_pauli_sum_free(sum);
}

static void test_parse_forms(void **state)
{
    (void)state;
    const expected_term t1[] = {{0.5, "XIIZ"}, {-2, "IYII"}, {1, "ZIII"}};
    assert_parses_to(0, "0.5*X0 Z3 - 2 Y1 + Z0", 4, t1, 3);
    assert_parses_to(4, "  0.5 * X0   Z3\t-\n2Y1+Z0  ", 4, t1, 3);
    assert_parses_to(0, "0.5*X0*Z3 - 2*Y1 + 1*Z0", 4, t1, 3);
    assert_parses_to(0, "0.5 X0*Z3 -2Y1+Z0", 4, t1, 3);
    assert_parses_to(0, "5.e-1*X0 Z3 - 2. Y1 + Z0", 4, t1, 3);
    assert_parses_to(0, "+0.5*Z3 X0 - 2.0e0 Y1 + Z0", 4, t1, 3);
    const expected_term t2[] = {{1, "XIZ"}};
    assert_parses_to(0, "XIZ", 3, t2, 1);
    assert_parses_to(3, "X0Z2", 3, t2, 1);
    const expected_term t3[] = {{0.5, "XIZ"}, {-1, "ZZZ"}};
    assert_parses_to(0, "0.5*XIZ - ZZZ", 3, t3, 2);
    assert_parses_to(3, "0.5 XIZ + -ZZZ", 3, t3, 2);
    const expected_term t4[] = {{3, "II"}, {0.5, "XI"}};
    assert_parses_to(2, "3*I + 0.5 I1 X0", 2, t4, 2);
    assert_parses_to(2, "3 + 0.5*X0 I1", 2, t4, 2);
    const expected_term t5[] = {{1e-3, "X"}, {-2.5e10, "Y"}};
    assert_parses_to(0, "1e-3*X0 - 2.5E+10*Y0", 1, t5, 2);
    const expected_term t6[] = {{-1, "IX"}, {0.25, "II"}};
    assert_parses_to(0, "-X1 + .25", 2, t6, 2);
    assert_parses_to(0, "- X1 - -0.25*I", 2, t6, 2);
    /* terms that cancel, the zero operator, n inferred as 1 for identities */
    assert_parses_to(0, "X0 - X0", 1, NULL, 0);
    assert_parses_to(0, "0", 1, NULL, 0);
    assert_parses_to(5, "0*X4", 5, NULL, 0);
    /* merging keeps the first occurrence's position */
    const expected_term t7[] = {{3, "XI"}, {1, "IZ"}};
    assert_parses_to(0, "X0 + Z1 + 2 X0", 2, t7, 2);
    /* large index, many digits of a coefficient */
    qml_pauli_sum *big = parse_ok(0, "0.100000000000000005551115123125782702118158340454101562500000*X999");
    assert_int_equal(qml_pauli_sum_n_qubits(big), 1000);
    double c;
    assert_ok(qml_pauli_sum_term(big, 0, &c, NULL));
    assert_true(c == 0.1);
    qml_pauli_sum_free(big);
}

typedef struct bad_text {
    const char *text;
    unsigned n;
    int status;
    const char *position; /* "position K" expected in the message */
} bad_text;

static void test_parse_errors(void **state)
{
    (void)state;
    const bad_text cases[] = {
        {"", 0, QML_ERR_PARSE, "position 0"},
        {"   ", 2, QML_ERR_PARSE, "position 3"},
        {"X0 +", 0, QML_ERR_PARSE, "position 4"},
        {"X0 + + + X1", 0, QML_ERR_PARSE, "position 7"},
        {"X0 + X1 +", 0, QML_ERR_PARSE, "position 9"},
        {"--X0", 0, QML_ERR_PARSE, "position 1"},
        {"X0 Z0", 0, QML_ERR_PARSE, "position 3"},
        {"X0 I0", 0, QML_ERR_PARSE, "position 3"},
        {"nan*X0", 0, QML_ERR_PARSE, "position 0"},
        {"X0 + inf*X1", 0, QML_ERR_PARSE, "position 5"},
        {"INF*X1", 0, QML_ERR_PARSE, "position 1"},
        {"1e999*X0", 0, QML_ERR_PARSE, "position 0"},
        {"0x10*X0", 0, QML_ERR_PARSE, "position 1"},
        {"x0", 0, QML_ERR_PARSE, "position 0"},
        {"X", 0, QML_OK, NULL},
        {"X0 2", 0, QML_ERR_PARSE, "position 3"},
        {"2*", 0, QML_ERR_PARSE, "position 2"},
        {"2**X0", 0, QML_ERR_PARSE, "position 2"},
        {"X0 * ", 0, QML_ERR_PARSE, "position 5"},
        {"XZ1", 0, QML_ERR_PARSE, "position 0"},
        {"XIZ Y1", 0, QML_ERR_PARSE, "position 4"},
        {"X0 XIZ", 0, QML_ERR_PARSE, "position 3"},
        {"XIZ + XI", 0, QML_ERR_OUT_OF_RANGE, "position 6"},
        {"XIZ + X5", 0, QML_ERR_OUT_OF_RANGE, "position 0"},
        {"XIZ", 4, QML_ERR_OUT_OF_RANGE, "position 0"},
        {"X0 + Y4", 4, QML_ERR_OUT_OF_RANGE, "position 5"},
        {"X99999999999999999999", 0, QML_ERR_OUT_OF_RANGE, "position 0"},
        {"X99999999999999999999", 7, QML_ERR_OUT_OF_RANGE, "position 0"},
        {"X1048576", 0, QML_ERR_OUT_OF_RANGE, "position 0"},
        {"1.2.3*X0", 0, QML_ERR_PARSE, "position 3"},
        {"1e*X0", 0, QML_ERR_PARSE, "position 1"},
        {"X0 / 2", 0, QML_ERR_PARSE, "position 3"},
        {"X0 + 1,5*Z0", 0, QML_ERR_PARSE, "position 6"},
        {"X-1", 3, QML_ERR_OUT_OF_RANGE, "position 0"}, /* dense "X" for 3 qubits */
        {"(X0)", 0, QML_ERR_PARSE, "position 0"},
        {"X0\x01", 0, QML_ERR_PARSE, "position 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        qml_pauli_sum *sum = NULL;
        int status = qml_pauli_sum_parse(&sum, cases[i].n, cases[i].text);
        if (status != cases[i].status)
            fail_msg("\"%s\" (n %u): status %d (%s), expected %d", cases[i].text, cases[i].n, status,
                     qml_last_error(), cases[i].status);
        if (status == QML_OK) {
            qml_pauli_sum_free(sum);
            continue;
        }
        assert_null(sum);
        if (!strstr(qml_last_error(), cases[i].position) || !strstr(qml_last_error(), "qml_pauli_sum_parse"))
            fail_msg("\"%s\": message \"%s\" does not name %s", cases[i].text, qml_last_error(), cases[i].position);
    }
    /* The message quotes the offending text, truncated. */
    qml_pauli_sum *sum = NULL;
    assert_status(qml_pauli_sum_parse(&sum, 0, "X0 + X1 + ?this text goes on and on and on"), QML_ERR_PARSE);
    assert_non_null(strstr(qml_last_error(), "'?this text goes on and o...'"));
    assert_status(qml_pauli_sum_parse(NULL, 0, "X0"), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_parse(&sum, 0, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_parse(&sum, (1u << 20) + 1, "X0"), QML_ERR_LIMIT);
    /* a number too long to be typed */
    char *digits = malloc(1002);
    memset(digits, '1', 1000);
    digits[1000] = '\0';
    assert_status(qml_pauli_sum_parse(&sum, 0, digits), QML_ERR_PARSE);
    free(digits);
    assert_null(sum);
}

/* Random bytes and random token soups: no crash, no leak (ASan), a status
 * that is OK or one of the documented errors. */
static void test_parse_garbage(void **state)
{
    (void)state;
    harness_rng rng = {4242};
    static const char *tokens[] = {"X", "Y", "Z", "I", "0", "1", "7", "12", " ", "*", "+", "-", ".", "e", "E",
                                   "XIZ", "1e-3", "\t", "9999999999", "nan", "?"};
    size_t n_tokens = sizeof tokens / sizeof tokens[0];
    const size_t text_size = 400000;
    char *text = malloc(text_size);
    for (unsigned trial = 0; trial < 3000; trial++) {
        size_t length = 0, target = 1 + harness_next(&rng) % (trial < 2900 ? 40 : 100000);
        if (trial % 2) {
            while (length < target) {
                const char *t = tokens[harness_next(&rng) % n_tokens];
                size_t k = strlen(t);
                if (length + k > 100000)
                    break;
                memcpy(text + length, t, k);
                length += k;
            }
        } else {
            for (; length < target; length++)
                text[length] = (char)(1 + harness_next(&rng) % 255);
        }
        text[length] = '\0';
        qml_pauli_sum *sum = NULL;
        unsigned n = (unsigned)(harness_next(&rng) % 3) * 8;
        int status = qml_pauli_sum_parse(&sum, n, text);
        if (status != QML_OK && status != QML_ERR_PARSE && status != QML_ERR_OUT_OF_RANGE)
            fail_msg("status %d on garbage: %s", status, qml_last_error());
        if (status == QML_OK)
            assert_non_null(sum);
        else
            assert_null(sum);
        qml_pauli_sum_free(sum);
    }
    /* A long valid sum of 20000 terms parses, merges and round-trips. */
    size_t length = 0;
    for (unsigned k = 0; k < 20000; k++)
        length += (size_t)snprintf(text + length, text_size - length, "%s%u*X%u", k ? "+" : "", k % 7 + 1, k % 3000);
    qml_pauli_sum *sum = parse_ok(0, text);
    assert_int_equal(qml_pauli_sum_n_terms(sum), 3000);
    assert_int_equal(qml_pauli_sum_n_qubits(sum), 3000);
    qml_pauli_sum_free(sum);
    free(text);
}

static char *format_alloc(const qml_pauli_sum *sum)
{
    size_t length = 0;
    int status = qml_pauli_sum_format(sum, NULL, 0, &length);
    assert_true(status == QML_ERR_OUT_OF_RANGE);
    char *text = malloc(length + 1);
    assert_ok(qml_pauli_sum_format(sum, text, length + 1, &length));
    assert_int_equal(strlen(text), length);
    return text;
}

static void assert_formats_to(unsigned n, const char *in, const char *out)
{
    qml_pauli_sum *sum = parse_ok(n, in);
    char *text = format_alloc(sum);
    if (strcmp(text, out) != 0)
        fail_msg("\"%s\" formats as \"%s\", expected \"%s\"", in, text, out);
    free(text);
    qml_pauli_sum_free(sum);
}

static void test_format(void **state)
{
    (void)state;
    assert_formats_to(0, "0.5*X0 Z3 - 2 Y1 + Z0", "0.5*X0 Z3 - 2*Y1 + Z0");
    assert_formats_to(0, "-XIZ + 0.5 + 3*I - I", "-X0 Z2 + 2.5*I");
    assert_formats_to(1, "-I", "-I");
    assert_formats_to(1, "0", "0");
    assert_formats_to(2, "0.1*X1 + 1e-300*Y0 + 1e21*Z0 Z1", "0.1*X1 + 1e-300*Y0 + 1e+21*Z0 Z1");
    assert_formats_to(0, "0.30000000000000004*X0", "0.30000000000000004*X0");
    assert_formats_to(0, "0.3*X0", "0.3*X0");
    assert_formats_to(0, "X127 Y64 Z63", "Z63 Y64 X127");
    /* capacity handling: too small is an error that writes nothing */
    qml_pauli_sum *sum = parse_ok(0, "X0 + Z1");
    char buffer[8] = "unused!";
    size_t length = 0;
    assert_status(qml_pauli_sum_format(sum, buffer, 7, &length), QML_ERR_OUT_OF_RANGE);
    assert_int_equal(length, 7);
    assert_string_equal(buffer, "unused!");
    assert_ok(qml_pauli_sum_format(sum, buffer, 8, &length));
    assert_string_equal(buffer, "X0 + Z1");
    assert_ok(qml_pauli_sum_format(sum, buffer, 8, NULL));
    assert_status(qml_pauli_sum_format(NULL, buffer, 8, &length), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_pauli_sum_format(sum, NULL, 8, &length), QML_ERR_INVALID_ARGUMENT);
    qml_pauli_sum_free(sum);
}

/* parse(format(S)) == S bit for bit, in the same term order, for random
 * sums with awkward coefficients, n from 1 to 130 (one to three words). */
static double awkward_double(harness_rng *rng)
{
    uint64_t kind = harness_next(rng) % 6;
    switch (kind) {
    case 0: return harness_normal(rng);
    case 1: return (double)(int64_t)(harness_next(rng) % 2001) - 1000.0;
    case 2: return ldexp(harness_normal(rng), (int)(harness_next(rng) % 2000) - 1000);
    case 3: { /* any finite non-zero bit pattern, denormals included */
        double v;
        do {
            uint64_t bits = harness_next(rng);
            memcpy(&v, &bits, sizeof v);
        } while (!isfinite(v) || v == 0.0);
        return v;
    }
    case 4: return 1.0 / (double)(1 + harness_next(rng) % 97);
    default: return (harness_next(rng) & 1) ? 1.0 : -1.0;
    }
}

static void test_format_round_trip(void **state)
{
    (void)state;
    harness_rng rng = {99};
    for (unsigned trial = 0; trial < 300; trial++) {
        unsigned n = 1 + (unsigned)(harness_next(&rng) % 130);
        qml_pauli_sum *sum = NULL;
        assert_ok(qml_pauli_sum_create(&sum, n));
        size_t count = harness_next(&rng) % 30;
        char *dense = malloc(n + 1);
        for (size_t t = 0; t < count; t++) {
            for (unsigned q = 0; q < n; q++)
                dense[q] = (harness_next(&rng) % 4 == 0) ? random_letter(&rng) : 'I';
            dense[n] = '\0';
            assert_ok(qml_pauli_sum_add_string(sum, awkward_double(&rng), dense));
        }
        char *text = format_alloc(sum);
        qml_pauli_sum *back = parse_ok(n, text);
        assert_int_equal(qml_pauli_sum_n_terms(back), qml_pauli_sum_n_terms(sum));
        char *dense_back = malloc(n + 1);
        for (size_t t = 0; t < qml_pauli_sum_n_terms(sum); t++) {
            double c1, c2;
            assert_ok(qml_pauli_sum_term(sum, t, &c1, dense));
            assert_ok(qml_pauli_sum_term(back, t, &c2, dense_back));
            if (memcmp(&c1, &c2, sizeof c1) != 0 || strcmp(dense, dense_back) != 0)
                fail_msg("term %zu: %.17g %s came back as %.17g %s from \"%.200s\"", t, c1, dense, c2, dense_back, text);
        }
        char *again = format_alloc(back);
        assert_string_equal(text, again);
        free(again);
        free(text);
        free(dense);
        free(dense_back);
        qml_pauli_sum_free(sum);
        qml_pauli_sum_free(back);
    }
}

/* ---- allocation failures ------------------------------------------------------------ */

static int sequence_text_and_algebra(void *context)
{
    unsigned n = *(const unsigned *)context;
    qml_pauli_sum *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
    char *text = NULL;
    int status = qml_pauli_sum_create(&a, n);
    char spec[256];
    snprintf(spec, sizeof spec, "0.5*X0 Z%u - 2 Y1 + Z0 + 0.25*I + X%u Y%u + 1e-3*Z%u", n - 1, n / 2, n - 1, n / 3);
    if (!status)
        status = qml_pauli_sum_parse(&b, n, spec);
    unsigned qubits[3] = {0, n / 2, n - 1};
    for (unsigned k = 0; k < 20 && !status; k++) {
        qubits[0] = k % (n / 2);
        status = qml_pauli_sum_add_term(a, 1.0 + k, k % 2 ? "XYZ" : "ZZX", qubits, 3);
    }
    if (!status)
        status = qml_pauli_sum_add(a, 0.5, b);
    if (!status)
        status = qml_pauli_sum_bracket(&c, a, b);
    if (!status)
        status = qml_pauli_sum_anticommutator(&d, c, b);
    if (!status)
        status = qml_pauli_sum_copy(&e, d);
    int commute;
    if (!status)
        status = qml_pauli_sum_commutes(a, b, 1e-12, &commute);
    double trace;
    if (!status)
        status = qml_pauli_sum_trace(e, &trace);
    unsigned support[8];
    size_t count;
    if (!status) {
        status = qml_pauli_sum_support(b, support, 8, &count);
    }
    if (!status) {
        size_t length = 0;
        status = qml_pauli_sum_format(c, NULL, 0, &length);
        if (status == QML_ERR_OUT_OF_RANGE) {
            text = malloc(length + 1);
            status = qml_pauli_sum_format(c, text, length + 1, &length);
        }
    }
    qml_pauli_sum_free(a);
    qml_pauli_sum_free(b);
    qml_pauli_sum_free(c);
    qml_pauli_sum_free(d);
    qml_pauli_sum_free(e);
    free(text);
    return status;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    /* one word (stack scratch), and n = 2000 (heap scratch, 32 words) */
    unsigned ns[] = {5, 100, 2000};
    for (size_t k = 0; k < 3; k++) {
        int runs = harness_check_allocation_failures(sequence_text_and_algebra, &ns[k]);
        assert_true(runs > 10);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_validation),
        cmocka_unit_test(test_merge_order_and_zeros),
        cmocka_unit_test(test_internals),
        cmocka_unit_test(test_product_phase_dense),
        cmocka_unit_test(test_random_sums_dense),
        cmocka_unit_test(test_commutes),
        cmocka_unit_test(test_large_n_phase),
        cmocka_unit_test(test_large_n_identities),
        cmocka_unit_test(test_add_scale_equal),
        cmocka_unit_test(test_support_and_dense_limits),
        cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_garbage),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

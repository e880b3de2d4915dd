/* test_lie_exact.c: Lie-algebra answers that must not depend on numerics:
 * strings on any qubit (masks wider than one word), exact dimensions of the
 * permutation-equivariant algebra against the closed form C(n+3,3) -
 * floor(n/2), scale invariance, conditioning figures and the certified flag,
 * flags and means that are true. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MAX_SN
#define MAX_SN 12
#endif

/* ---- helpers ---------------------------------------------------------------- */

static qml_pauli_sum *parse(unsigned n, const char *text)
{
    qml_pauli_sum *s = NULL;
    assert_ok(qml_pauli_sum_parse(&s, n, text));
    return s;
}

typedef struct generator_set {
    size_t count;
    qml_pauli_sum *items[64];
} generator_set;

static void set_add(generator_set *set, unsigned n, const char *text)
{
    assert_true(set->count < 64);
    set->items[set->count++] = parse(n, text);
}

static void set_free(generator_set *set)
{
    for (size_t i = 0; i < set->count; i++)
        qml_pauli_sum_free(set->items[i]);
    set->count = 0;
}

static qml_lie_algebra *close_set(const generator_set *set)
{
    qml_lie_algebra *a = NULL;
    assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set->items, set->count, NULL));
    return a;
}

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wide_strings_state_zero),
        cmocka_unit_test(test_permutation_equivariant_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

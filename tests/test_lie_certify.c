/* test_lie_certify.c: the classification's certificates of Pauli-string
 * ideals part by part, and so(2r+1) told from sp(r) in the match:
 * - generator sets that join a part the classification decides by theorem
 *   with one it does not (on other qubits): the decided part's ideals are
 *   certified, with the (dimension, rank) of its own algebra, the others
 *   keep their other certificates, and the message says which (seeded
 *   random pairs, and fixed ones);
 * - so(7), so(9) (free-fermion trees) and sp(4) (the quadratic form)
 *   alone and together: named by roots and certified; a classification
 *   whose type is switched on purpose (internal switch) is INCONSISTENT
 *   with both answers;
 * - allocation failures. */
#include "harness.h"
#include "internal.h"
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lie_sets.h"

static void add_all(generator_set *set, unsigned n, const char *const *strings, size_t count)
{
    for (size_t k = 0; k < count; k++)
        set_add(set, n, strings[k]);
}

static qml_lie_algebra *close_capped(const generator_set *set, size_t max_dim, int *status)
{
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.max_dim = max_dim;
    qml_lie_algebra *a = NULL;
    *status = qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set->items, set->count, &options);
    if (*status) {
        qml_lie_algebra_free(a);
        return NULL;
    }
    return a;
}

static int classify_status(const generator_set *set)
{
    qml_dla_summary summary = {.size = sizeof summary};
    qml_pauli_dla_options options = QML_PAULI_DLA_OPTIONS_INIT;
    options.no_closure = 1;
    return qml_pauli_dla_classify_with((const qml_pauli_sum *const *)set->items, set->count, &options, &summary);
}

static unsigned certificate(const qml_lie_algebra *a, size_t j)
{
    qml_lie_certificate cert = QML_LIE_CERTIFICATE_NONE;
    assert_ok(qml_lie_algebra_ideal_certificate(a, j, &cert));
    return (unsigned)cert;
}

typedef struct dimrank {
    size_t dim, rank;
} dimrank;

static int dimrank_cmp(const void *pa, const void *pb)
{
    const dimrank *a = pa, *b = pb;
    if (a->dim != b->dim)
        return a->dim < b->dim ? -1 : 1;
    return a->rank < b->rank ? -1 : a->rank > b->rank;
}

/* The (dimension, rank) of a's ideals, sorted, into out (count returned);
 * with `which` >= 0 only those with (which = 1) or without (which = 0) the
 * classification's certificate. */
static size_t ideal_shapes(const qml_lie_algebra *a, int which, dimrank *out, size_t cap)
{
    size_t count = 0;
    for (size_t j = 0; j < qml_lie_algebra_n_ideals(a); j++) {
        int by_class = (certificate(a, j) & QML_LIE_CERTIFICATE_CLASSIFICATION) != 0;
        if (which >= 0 && by_class != which)
            continue;
        assert_true(count < cap);
        assert_ok(qml_lie_algebra_ideal(a, j, &out[count].dim, &out[count].rank, NULL));
        count++;
    }
    qsort(out, count, sizeof *out, dimrank_cmp);
    return count;
}

static void assert_same_shapes(const dimrank *a, size_t na, const dimrank *b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t j = 0; j < na; j++) {
        assert_int_equal(a[j].dim, b[j].dim);
        assert_int_equal(a[j].rank, b[j].rank);
    }
}

/* A random string on qubits [first, first + n). */
static void random_string(harness_rng *rng, unsigned first, unsigned n, char *text, size_t cap)
{
    static const char letters[] = "IXYZ";
    for (;;) {
        size_t len = 0;
        bool any = false;
        text[0] = '\0';
        for (unsigned q = 0; q < n; q++) {
            unsigned l = (unsigned)(harness_next(rng) >> 62);
            if (!l)
                continue;
            any = true;
            len += (size_t)snprintf(text + len, cap - len, "%c%u ", letters[l], first + q);
        }
        if (any)
            return;
    }
}

/* A seeded random set of 2..5 strings on qubits [first, first + n) whose
 * classification without enumeration is `want` (QML_OK or QML_ERR_LIMIT)
 * and whose algebra closes below 1500. */
static void random_part(harness_rng *rng, unsigned first, unsigned n, unsigned width, int want, generator_set *set)
{
    for (unsigned tries = 0;; tries++) {
        assert_true(tries < 5000);
        generator_set trial = {0};
        size_t count = 2 + (size_t)(harness_uniform(rng) * 4.0);
        char text[128];
        for (size_t k = 0; k < count; k++) {
            random_string(rng, first, n, text, sizeof text);
            set_add(&trial, width, text);
        }
        int status = QML_OK;
        qml_lie_algebra *a = classify_status(&trial) == want ? close_capped(&trial, 1500, &status) : NULL;
        if (a && qml_lie_algebra_structure_known(a)) {
            qml_lie_algebra_free(a);
            *set = trial;
            return;
        }
        qml_lie_algebra_free(a);
        set_free(&trial);
    }
}

/* Checks the algebra of A + B (on disjoint qubits; A decided by the
 * classification, B not): the certified ideals are A's, the others B's. */
static void check_mixed(const generator_set *decided, const generator_set *undecided, bool *message_seen)
{
    generator_set both = {0};
    for (size_t k = 0; k < decided->count; k++)
        both.items[both.count++] = decided->items[k];
    for (size_t k = 0; k < undecided->count; k++)
        both.items[both.count++] = undecided->items[k];
    int status = QML_OK;
    qml_lie_algebra *whole = close_capped(&both, 3000, &status);
    qml_lie_algebra *a = close_capped(decided, 3000, &status);
    qml_lie_algebra *b = close_capped(undecided, 3000, &status);
    assert_non_null(whole);
    assert_non_null(a);
    assert_non_null(b);
    qml_lie_structure_state st = QML_LIE_STRUCTURE_UNRESOLVED;
    assert_ok(qml_lie_algebra_structure_state(whole, &st, NULL));
    assert_int_equal(st, QML_LIE_STRUCTURE_KNOWN);
    assert_int_equal(qml_lie_algebra_dim(whole), qml_lie_algebra_dim(a) + qml_lie_algebra_dim(b));
    dimrank got[64], want[64];
    size_t ng = ideal_shapes(whole, 1, got, 64), nw = ideal_shapes(a, -1, want, 64);
    assert_same_shapes(got, ng, want, nw);
    ng = ideal_shapes(whole, 0, got, 64);
    nw = ideal_shapes(b, -1, want, 64);
    assert_same_shapes(got, ng, want, nw);
    /* every ideal of the decided part alone is certified by the classification too */
    for (size_t j = 0; j < qml_lie_algebra_n_ideals(a); j++)
        assert_true(certificate(a, j) & QML_LIE_CERTIFICATE_CLASSIFICATION);
    const char *message = qml_lie_algebra_structure_message(whole);
    if (qml_lie_algebra_n_ideals(a)) {
        assert_non_null(strstr(message, "independent parts of the generators"));
        *message_seen = true;
    }
    for (size_t j = 0; j < qml_lie_algebra_n_ideals(whole); j++) {
        const char *names = NULL;
        assert_ok(qml_lie_algebra_ideal(whole, j, NULL, NULL, &names));
        if (certificate(whole, j) & QML_LIE_CERTIFICATE_CLASSIFICATION)
            assert_null(strstr(names, "not checked"));
    }
    qml_lie_algebra_free(whole);
    qml_lie_algebra_free(a);
    qml_lie_algebra_free(b);
}

/* 40 seeded random pairs: a set of 2..5 strings on qubits 0..n_a-1 that the
 * classification decides without enumeration, joined with one on the next
 * n_b qubits that it does not decide. */
static void test_mixed_random(void **state)
{
    (void)state;
    harness_rng rng = {0x7061727473ull};
    bool message_seen = false;
    size_t certified_parts = 0;
    for (unsigned trial = 0; trial < 40; trial++) {
        unsigned na = 2 + (unsigned)(harness_uniform(&rng) * 3.0), nb = 2 + (unsigned)(harness_uniform(&rng) * 3.0);
        generator_set a = {0}, b = {0};
        random_part(&rng, 0, na, na + nb, QML_OK, &a);
        random_part(&rng, na, nb, na + nb, QML_ERR_LIMIT, &b);
        check_mixed(&a, &b, &message_seen);
        certified_parts += a.count > 0;
        set_free(&a);
        set_free(&b);
    }
    assert_true(message_seen);
    print_message("# %zu mixed sets: decided parts certified, undecided ones left as they were\n", certified_parts);
}

/* Fixed mixed sets: sp(4) (quadratic form) or so(7) (a tree) beside
 * u(1) + 4 su(2) and beside 2 so(5), which the classification leaves to
 * enumeration. */
static const char *const sp4[] = {"X0", "Z0", "X1", "Z1", "X2", "Z2", "Z0 Z1 Z2"};
static const char *const so7[] = {"Z0", "X0 X1", "Z1", "X1 X2", "Z2", "X2"};
static const char *const so9[] = {"Z0", "X0 X1", "Z1", "X1 X2", "Z2", "X2 X3", "Z3", "X3"};
static const char *const u1_su2x4[] = {"X4 X5", "Z4 Z5 Y6", "Z4 Y6", "Y4 X5", "X4 Y5"};
static const char *const so5x2[] = {"X4 X5", "Z4 Y5 Z6", "Y4 Z6 X7", "Z5 Z7", "X6 Y7 Z4"};

static void test_mixed_fixed(void **state)
{
    (void)state;
    const char *const *decided[] = {sp4, so7};
    size_t n_decided[] = {7, 6};
    const char *const *undecided[] = {u1_su2x4, so5x2};
    size_t n_undecided[] = {5, 5};
    bool message_seen = false;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            generator_set a = {0}, b = {0};
            add_all(&a, 8, decided[i], n_decided[i]);
            add_all(&b, 8, undecided[j], n_undecided[j]);
            assert_int_equal(classify_status(&a), QML_OK);
            assert_int_equal(classify_status(&b), QML_ERR_LIMIT);
            check_mixed(&a, &b, &message_seen);
            set_free(&a);
            set_free(&b);
        }
    /* the message names the undecided ideals' dimensions */
    generator_set both = {0};
    add_all(&both, 8, sp4, 7);
    add_all(&both, 8, so5x2, 5);
    qml_lie_algebra *a = close_set(&both);
    const char *message = qml_lie_algebra_structure_message(a);
    assert_non_null(strstr(message, "decides 1 of 2 independent parts"));
    assert_non_null(strstr(message, "certifies the simple ideals in them (1)"));
    assert_non_null(strstr(message, "2 ideals lie in parts it does not decide (dimensions 10, 10)"));
    qml_lie_algebra_free(a);
    set_free(&both);
}

/* so(2r+1) and sp(r) share dimension and rank: the enumerated side names
 * them by root lengths, the classification by its theorem (a tree of 2r
 * Majorana bilinears: so(2r+1); the quadratic form with Arf invariant 1:
 * sp(2^b)); the match needs both to agree, and one of them switched on
 * purpose makes the structure INCONSISTENT with both answers. */
static void test_b_against_c(void **state)
{
    (void)state;
    static const struct {
        const char *const *strings;
        size_t count;
        const char *names;
        size_t dim;
    } cases[] = {{so7, 6, "so(7)", 21}, {so9, 8, "so(9)", 36}, {sp4, 7, "sp(4)", 36}};
    for (size_t i = 0; i < 3; i++) {
        generator_set set = {0};
        add_all(&set, 4, cases[i].strings, cases[i].count);
        qml_lie_algebra *a = close_set(&set);
        assert_int_equal(qml_lie_algebra_dim(a), cases[i].dim);
        assert_int_equal(qml_lie_algebra_n_ideals(a), 1);
        const char *names = NULL;
        assert_ok(qml_lie_algebra_ideal(a, 0, NULL, NULL, &names));
        assert_string_equal(names, cases[i].names);
        assert_true(certificate(a, 0) & QML_LIE_CERTIFICATE_CLASSIFICATION);
        qml_lie_algebra_free(a);
        /* the classification's type switched: so(2r+1) against sp(r) */
        qml__lie_classify_tamper = 2;
        a = close_set(&set);
        qml__lie_classify_tamper = 0;
        qml_lie_structure_state st = QML_LIE_STRUCTURE_KNOWN;
        assert_ok(qml_lie_algebra_structure_state(a, &st, NULL));
        assert_int_equal(st, QML_LIE_STRUCTURE_INCONSISTENT);
        assert_false(qml_lie_algebra_structure_known(a));
        const char *message = qml_lie_algebra_structure_message(a);
        bool b_type = cases[i].names[1] == 'o';
        char mine[32], theirs[32];
        snprintf(mine, sizeof mine, "ideals %zu:%d%s)", cases[i].dim, cases[i].dim == 21 ? 3 : 4, b_type ? "(so)" : "(sp)");
        snprintf(theirs, sizeof theirs, "ideals %zu:%d%s;", cases[i].dim, cases[i].dim == 21 ? 3 : 4, b_type ? "(sp)" : "(so)");
        if (!strstr(message, mine) || !strstr(message, theirs))
            fail_msg("%s: message \"%s\"", cases[i].names, message);
        assert_non_null(strstr(message, "does not match the classification"));
        qml_lie_algebra_free(a);
        set_free(&set);
    }
    /* together: sp(4) + so(7), both certified; switched: inconsistent */
    generator_set set = {0};
    const char *const so7_up[] = {"Z3", "X3 X4", "Z4", "X4 X5", "Z5", "X5"};
    add_all(&set, 6, sp4, 7);
    add_all(&set, 6, so7_up, 6);
    qml_lie_algebra *a = close_set(&set);
    assert_int_equal(qml_lie_algebra_n_ideals(a), 2);
    for (size_t j = 0; j < 2; j++)
        assert_true(certificate(a, j) & QML_LIE_CERTIFICATE_CLASSIFICATION);
    assert_string_equal(qml_lie_algebra_structure_message(a), "");
    qml_lie_algebra_free(a);
    qml__lie_classify_tamper = 2;
    a = close_set(&set);
    qml__lie_classify_tamper = 0;
    qml_lie_structure_state st = QML_LIE_STRUCTURE_KNOWN;
    assert_ok(qml_lie_algebra_structure_state(a, &st, NULL));
    assert_int_equal(st, QML_LIE_STRUCTURE_INCONSISTENT);
    qml_lie_algebra_free(a);
    set_free(&set);
}

static int sequence_mixed(void *context)
{
    const generator_set *set = context;
    qml_lie_algebra *a = NULL;
    int status = qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set->items, set->count, NULL);
    qml_lie_certificate cert;
    for (size_t j = 0; !status && j < qml_lie_algebra_n_ideals(a); j++)
        status = qml_lie_algebra_ideal_certificate(a, j, &cert);
    if (!status && qml_lie_algebra_structure_message(a)[0] == '\0')
        status = QML_ERR_INVALID_ARGUMENT; /* a success without the message: never expected */
    qml_lie_algebra_free(a);
    return status;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    generator_set set = {0};
    add_all(&set, 8, so7, 6);
    add_all(&set, 8, so5x2, 5);
    assert_true(harness_check_allocation_failures(sequence_mixed, &set) > 10);
    set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_random),
        cmocka_unit_test(test_mixed_fixed),
        cmocka_unit_test(test_b_against_c),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

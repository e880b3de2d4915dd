/* test_lie_chain.c: the general (Pauli-sum) closure on spin chains: the
 * Heisenberg chain's algebra against its closed form (Marvian, Nat. Phys.
 * 18, 283 (2022): the SU(2)-invariant 2-local algebra), the contiguous
 * layout of the closure's inverse index against the order it was built in
 * (the same bits everywhere: basis, conditioning figures, structure,
 * purities, predictions), and allocation failures along the compactions. */
#include "harness.h"
#include "internal.h"
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lie_sets.h"

/* ---- generator sets ----------------------------------------------------------- */

/* Open chain X X + Y Y + delta Z Z on n qubits (delta = 1: Heisenberg). */
static void xxz_chain(generator_set *set, unsigned n, double delta)
{
    for (unsigned i = 0; i + 1 < n; i++) {
        char text[128];
        snprintf(text, sizeof text, "X%u X%u + Y%u Y%u + %.17g Z%u Z%u", i, i + 1, i, i + 1, delta, i, i + 1);
        set_add(set, n, text);
    }
}

/* {sum X, sum Z, sum Z_i Z_j}: the closure runs in orbit coordinates. */
static void sn_set(generator_set *set, unsigned n)
{
    char text[1024], *p = text;
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

/* ---- the closed form ------------------------------------------------------------ */

static size_t binomial(unsigned n, unsigned k)
{
    if (k > n)
        return 0;
    size_t c = 1;
    for (unsigned i = 1; i <= k; i++)
        c = c * (n - k + i) / i;
    return c;
}

/* Multiplicity of total spin J = n/2 - k in (C^2)^{(x) n}: the dimension of
 * the S_n irreducible (n - k, k), C(n, k) - C(n, k - 1). */
static size_t spin_multiplicity(unsigned n, unsigned k)
{
    return binomial(n, k) - (k ? binomial(n, k - 1) : 0);
}

/* ---- the Heisenberg chain against the closed form ----------------------------------- */

/* The open Heisenberg chain generates the SU(2)-invariant 2-local algebra:
 * on the spin-J sector (multiplicity m_J) it acts as su(m_J), independently
 * for each J (the closed form of the semisimple part), plus a centre inside
 * the functions of the total spin S^2, which the dense analysis finds
 * one-dimensional at every n tried (3..8) and which is asserted here. So
 * dim g = 1 + sum_{m_J >= 2} (m_J^2 - 1), and the ideals are su(m_J), rank
 * m_J - 1, one per sector with m_J >= 2: checked on the exact (modular)
 * dimension and the dense analysis, n = 3..7 (n = 8, 1426, takes ~10 s and
 * is a `qml bench dla` row). */
static void test_heisenberg_closed_form(void **state)
{
    (void)state;
    for (unsigned n = 3; n <= 7; n++) {
        generator_set set = {0};
        xxz_chain(&set, n, 1.0);
        qml_lie_algebra *a = close_set(&set);
        size_t want_dim = 1, want_ideals = 0;
        size_t want[16];
        for (unsigned k = 0; 2 * k <= n; k++) {
            size_t m = spin_multiplicity(n, k);
            if (m >= 2) {
                want[want_ideals++] = m;
                want_dim += m * m - 1;
            }
        }
        print_message("# heisenberg n = %u: dim %zu (closed form %zu), centre %zu, %zu ideals\n", n,
                      qml_lie_algebra_dim(a), want_dim, qml_lie_algebra_center_dim(a), qml_lie_algebra_n_ideals(a));
        assert_int_equal(qml_lie_algebra_dim(a), want_dim);
        assert_true(qml_lie_algebra_structure_known(a));
        assert_int_equal(qml_lie_algebra_center_dim(a), 1);
        assert_int_equal(qml_lie_algebra_n_ideals(a), want_ideals);
        qml_lie_conditioning c = QML_LIE_CONDITIONING_INIT;
        assert_ok(qml_lie_algebra_conditioning(a, &c));
        assert_true(c.exact && c.certified);
        bool used[16] = {0};
        for (size_t j = 0; j < want_ideals; j++) {
            size_t dim = 0, rank = 0;
            const char *names = NULL;
            assert_ok(qml_lie_algebra_ideal(a, j, &dim, &rank, &names));
            bool found = false;
            for (size_t i = 0; i < want_ideals && !found; i++) {
                char name[32];
                snprintf(name, sizeof name, "su(%zu)", want[i]);
                if (used[i] || dim != want[i] * want[i] - 1 || rank != want[i] - 1 || strncmp(names, name, strlen(name)))
                    continue;
                used[i] = found = true;
            }
            if (!found)
                fail_msg("heisenberg n = %u: ideal %zu (dim %zu, rank %zu, %s) is not an su(m_J)", n, j, dim, rank,
                         names);
        }
        qml_lie_algebra_free(a);
        set_free(&set);
    }
}

/* ---- the contiguous index gives the same bits ------------------------------------ */

typedef struct closure_bits {
    size_t dim, n_entries, centre, n_ideals;
    size_t *start, *col;
    double *val;
    double accepted, rejected, total, per[32], mean, variance;
    size_t ideal_dim[32], ideal_rank[32];
    char names[32][96];
} closure_bits;

static void capture(const generator_set *set, int never, unsigned n_threads, const char *observable,
                    closure_bits *out)
{
    memset(out, 0, sizeof *out);
    qml__lie_compact_never = never;
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.n_threads = n_threads;
    qml_lie_algebra *a = NULL;
    assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set->items, set->count, &options));
    out->dim = a->dim;
    out->n_entries = a->n_entries;
    out->start = malloc((a->dim + 1) * sizeof *out->start);
    out->col = malloc((a->n_entries + 1) * sizeof *out->col);
    out->val = malloc((a->n_entries + 1) * sizeof *out->val);
    assert_true(out->start && out->col && out->val);
    /* a set whose generators are all single strings closes on strings
     * (no general basis, no index): only the structure is compared */
    memset(out->start, 0, (a->dim + 1) * sizeof *out->start);
    if (!a->pure)
        memcpy(out->start, a->start, (a->dim + 1) * sizeof *out->start);
    if (a->n_entries) {
        memcpy(out->col, a->col, a->n_entries * sizeof *out->col);
        memcpy(out->val, a->val, a->n_entries * sizeof *out->val);
    }
    out->accepted = a->smallest_accepted;
    out->rejected = a->largest_rejected;
    out->centre = qml_lie_algebra_center_dim(a);
    out->n_ideals = qml_lie_algebra_n_ideals(a);
    assert_true(out->n_ideals <= 31);
    for (size_t j = 0; j < out->n_ideals; j++) {
        const char *names = NULL;
        assert_ok(qml_lie_algebra_ideal(a, j, &out->ideal_dim[j], &out->ideal_rank[j], &names));
        snprintf(out->names[j], sizeof out->names[j], "%s", names);
    }
    unsigned n = qml_pauli_sum_n_qubits(set->items[0]);
    qml_pauli_sum *o = parse(n, observable);
    size_t count = 0;
    assert_ok(qml_lie_algebra_purity(a, o, &out->total, out->per, 32, &count));
    /* the prediction: in i g or through the module closure (also compacted) */
    qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
    int status = qml_lie_algebra_predict_variance(a, NULL, o, NULL, &p);
    assert_true(status == QML_OK || status == QML_ERR_NOT_APPLICABLE);
    out->mean = p.loss_mean;
    out->variance = p.loss_variance;
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    qml__lie_compact_never = 0;
}

static void release(closure_bits *b)
{
    free(b->start);
    free(b->col);
    free(b->val);
}

/* Bitwise: memcmp on the doubles (NaN figures compare equal as bits). */
static void assert_same_bits(const closure_bits *p, const closure_bits *q, const char *what)
{
    if (p->dim != q->dim || p->n_entries != q->n_entries || p->centre != q->centre || p->n_ideals != q->n_ideals)
        fail_msg("%s: dim %zu/%zu entries %zu/%zu centre %zu/%zu ideals %zu/%zu", what, p->dim, q->dim, p->n_entries,
                 q->n_entries, p->centre, q->centre, p->n_ideals, q->n_ideals);
    if (memcmp(p->start, q->start, (p->dim + 1) * sizeof *p->start) ||
        memcmp(p->col, q->col, p->n_entries * sizeof *p->col) || memcmp(p->val, q->val, p->n_entries * sizeof *p->val))
        fail_msg("%s: the bases differ", what);
    if (memcmp(&p->accepted, &q->accepted, sizeof p->accepted) || memcmp(&p->rejected, &q->rejected, sizeof p->rejected))
        fail_msg("%s: conditioning %.17g/%.17g, %.17g/%.17g", what, p->accepted, q->accepted, p->rejected, q->rejected);
    for (size_t j = 0; j < p->n_ideals; j++)
        if (p->ideal_dim[j] != q->ideal_dim[j] || p->ideal_rank[j] != q->ideal_rank[j] || strcmp(p->names[j], q->names[j]))
            fail_msg("%s: ideal %zu: %zu/%zu, %s/%s", what, j, p->ideal_dim[j], q->ideal_dim[j], p->names[j], q->names[j]);
    if (memcmp(&p->total, &q->total, sizeof p->total) || memcmp(p->per, q->per, sizeof p->per) ||
        memcmp(&p->mean, &q->mean, sizeof p->mean) || memcmp(&p->variance, &q->variance, sizeof p->variance))
        fail_msg("%s: purities or predictions differ (%.17g / %.17g)", what, p->variance, q->variance);
}

static void compare_layouts(const generator_set *set, const char *observable, const char *what)
{
    closure_bits built, compact, two;
    capture(set, 1, 1, observable, &built);
    capture(set, 0, 1, observable, &compact);
    capture(set, 0, 2, observable, &two);
    assert_same_bits(&built, &compact, what);
    assert_same_bits(&compact, &two, what);
    release(&built);
    release(&compact);
    release(&two);
}

static void test_compact_same_bits(void **state)
{
    (void)state;
    char what[96];
    /* the Heisenberg chain at n = 5..7 (1.2k to 83k entries: compactions
     * during the closure past 1024 entries) and XXZ chains (not
     * SU(2)-invariant: dims 32 and 124 at n = 4, 5) */
    /* n = 7 (83k entries) is a heavy case */
    for (unsigned n = 4; n <= (harness_heavy() ? 7u : 6u); n++) {
        generator_set set = {0};
        if (n >= 5) {
            xxz_chain(&set, n, 1.0);
            snprintf(what, sizeof what, "heisenberg n = %u", n);
            compare_layouts(&set, "Z0 Z1 + 0.5 X1 X2", what);
            set_free(&set);
        }
        if (n <= 5) {
            xxz_chain(&set, n, 0.5);
            snprintf(what, sizeof what, "xxz 0.5 n = %u", n);
            compare_layouts(&set, "Z0 + X1 X2", what);
            set_free(&set);
        }
    }
    /* orbit coordinates */
    {
        generator_set set = {0};
        sn_set(&set, 7);
        compare_layouts(&set, "Z0 Z1 + Z2 Z3", "S_7");
        set_free(&set);
    }
    /* the pivoted re-closure (its installed basis is compacted too) */
    {
        generator_set set = {0};
        xxz_chain(&set, 6, 1.0);
        qml__lie_rebuild_above = -1.0;
        compare_layouts(&set, "Z0 Z1", "heisenberg n = 6, rebuilt");
        qml__lie_rebuild_above = LIE_CLOSED_DEFECT;
        set_free(&set);
    }
    /* random sums of random strings on 4 qubits, fixed seed (often su(16)) */
    harness_rng rng = {0xc0ffee5eedull};
    static const char ops[] = "IXYZ";
    for (unsigned trial = 0; trial < 10; trial++) {
        generator_set set = {0};
        size_t count = 2 + (size_t)(harness_next(&rng) % 3);
        for (size_t k = 0; k < count; k++) {
            qml_pauli_sum *s = NULL;
            assert_ok(qml_pauli_sum_create(&s, 4));
            size_t terms = 1 + (size_t)(harness_next(&rng) % 3);
            for (size_t t = 0; t < terms; t++) {
                char dense[5] = "IIII";
                for (unsigned q = 0; q < 4; q++)
                    dense[q] = ops[harness_next(&rng) % 4];
                if (!strcmp(dense, "IIII"))
                    dense[0] = 'X';
                assert_ok(qml_pauli_sum_add_string(s, (double)(1 + harness_next(&rng) % 3), dense));
            }
            set.items[set.count++] = s;
        }
        snprintf(what, sizeof what, "random sums %u", trial);
        compare_layouts(&set, "X0 Z1 + Y2 + 0.5 Z3", what);
        set_free(&set);
    }
}

/* ---- allocation failures ------------------------------------------------------------ */

static int sequence_chain(void *context)
{
    const generator_set *set = context;
    qml_lie_algebra *a = NULL;
    int status = qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set->items, set->count, NULL);
    qml_pauli_sum *o = NULL;
    if (!status)
        status = qml_pauli_sum_parse(&o, 5, "Z0 Z1");
    double total = 0, per[8];
    size_t count = 0;
    if (!status)
        status = qml_lie_algebra_purity(a, o, &total, per, 8, &count);
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    return status;
}

/* The Heisenberg chain at n = 5 (1.2k entries): compactions during the
 * closure (past 1024 entries), at its end and (forced) after the pivoted
 * re-closure. */
static void test_allocation_failures(void **state)
{
    (void)state;
    generator_set set = {0};
    xxz_chain(&set, 5, 1.0);
    assert_true(harness_check_allocation_failures(sequence_chain, &set) > 10);
    qml__lie_rebuild_above = -1.0;
    assert_true(harness_check_allocation_failures(sequence_chain, &set) > 10);
    qml__lie_rebuild_above = LIE_CLOSED_DEFECT;
    set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heisenberg_closed_form),
        cmocka_unit_test(test_compact_same_bits),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

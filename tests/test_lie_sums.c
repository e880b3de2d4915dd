/* test_lie_sums.c: the structure of general (Pauli-sum) algebras from the
 * commuting clusters of their generators (lib/lie_sums.c), forced onto
 * algebras below the dense cap and compared with the dense analysis of the
 * whole algebra (centre, ideal dimensions, ranks, names, per-ideal purities
 * of a fixed observable, which test the ideals and the installed basis), the
 * same bits for one and two threads, allocation failures, and algebras above
 * the cap with their exact answers. */
#include "harness.h"
#include "internal.h"
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lie_sets.h"

/* ---- generator sets ----------------------------------------------------------- */

/* The Heisenberg chain X X + Y Y + Z Z on qubits first .. first + len - 1. */
static void heisenberg_block(generator_set *set, unsigned n, unsigned first, unsigned len)
{
    for (unsigned i = first; i + 1 < first + len; i++) {
        char text[96];
        snprintf(text, sizeof text, "X%u X%u + Y%u Y%u + Z%u Z%u", i, i + 1, i, i + 1, i, i + 1);
        set_add(set, n, text);
    }
}

/* The TFIM chain strings X_q, Z_q Z_q+1 on a block, summed with their
 * neighbour in that list (so(2 len)). */
static void tfim_block(generator_set *set, unsigned n, unsigned first, unsigned len)
{
    char list[256][24];
    size_t count = 0;
    for (unsigned i = 0; i < len; i++)
        snprintf(list[count++], sizeof list[0], "X%u", first + i);
    for (unsigned i = 0; i + 1 < len; i++)
        snprintf(list[count++], sizeof list[0], "Z%u Z%u", first + i, first + i + 1);
    for (size_t k = 0; k < count; k++) {
        char text[64];
        if (k + 1 < count)
            snprintf(text, sizeof text, "%.23s + %.23s", list[k], list[k + 1]);
        else
            snprintf(text, sizeof text, "%.23s", list[k]);
        set_add(set, n, text);
    }
}

/* {sum X, sum Z, sum Z_i Z_j} on a block: permutation-symmetric there. */
static void sn_block(generator_set *set, unsigned n, unsigned first, unsigned len)
{
    char text[512], *p = text;
    for (unsigned i = 0; i < len; i++)
        p += sprintf(p, "%sX%u", i ? " + " : "", first + i);
    set_add(set, n, text);
    p = text;
    for (unsigned i = 0; i < len; i++)
        p += sprintf(p, "%sZ%u", i ? " + " : "", first + i);
    set_add(set, n, text);
    p = text;
    for (unsigned i = 0; i < len; i++)
        for (unsigned j = i + 1; j < len; j++)
            p += sprintf(p, "%sZ%u Z%u", p == text ? "" : " + ", first + i, first + j);
    set_add(set, n, text);
}

/* 1-3 random sums of 1-3 random strings with integer weights, on a block. */
static void random_block(generator_set *set, unsigned n, unsigned first, unsigned len, harness_rng *rng)
{
    static const char ops[] = "IXYZ";
    size_t count = 1 + (size_t)(harness_next(rng) % 3);
    for (size_t k = 0; k < count; k++) {
        qml_pauli_sum *s = NULL;
        assert_ok(qml_pauli_sum_create(&s, n));
        size_t terms = 1 + (size_t)(harness_next(rng) % 3);
        for (size_t t = 0; t < terms; t++) {
            char dense[16];
            memset(dense, 'I', sizeof dense);
            dense[n] = '\0';
            bool identity = true;
            while (identity)
                for (unsigned q = 0; q < len; q++) {
                    dense[first + q] = ops[harness_next(rng) % 4];
                    identity = identity && dense[first + q] == 'I';
                }
            assert_ok(qml_pauli_sum_add_string(s, (double)(1 + harness_next(rng) % 3), dense));
        }
        assert_true(set->count < 256);
        set->items[set->count++] = s;
    }
}

/* ---- what is compared ------------------------------------------------------------ */

typedef struct structure_summary {
    size_t dim, centre, n_ideals;
    size_t ideal_dim[32], ideal_rank[32];
    char names[32][96];
    double purity[32]; /* of a fixed observable, per ideal */
    double total;
    bool known, clustered;
} structure_summary;

static void summarise(const generator_set *set, int force, unsigned n_threads, const char *observable,
                      structure_summary *out)
{
    int saved = qml__lie_clusters_always;
    qml__lie_clusters_always = force;
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.n_threads = n_threads;
    qml_lie_algebra *a = NULL;
    assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set->items, set->count, &options));
    qml__lie_clusters_always = saved;
    memset(out, 0, sizeof *out);
    out->dim = qml_lie_algebra_dim(a);
    out->known = qml_lie_algebra_structure_known(a);
    out->clustered = a->clustered;
    out->centre = qml_lie_algebra_center_dim(a);
    out->n_ideals = qml_lie_algebra_n_ideals(a);
    assert_true(out->n_ideals <= 32);
    for (size_t j = 0; j < out->n_ideals; j++) {
        const char *names = NULL;
        assert_ok(qml_lie_algebra_ideal(a, j, &out->ideal_dim[j], &out->ideal_rank[j], &names));
        snprintf(out->names[j], sizeof out->names[j], "%s", names);
    }
    qml_pauli_sum *o = parse(qml_pauli_sum_n_qubits(set->items[0]), observable);
    size_t count = 0;
    double per[33];
    assert_ok(qml_lie_algebra_purity(a, o, &out->total, per, 33, &count));
    for (size_t j = 0; j < out->n_ideals; j++)
        out->purity[j] = per[j];
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
}

/* Ideals match as multisets of (dim, rank, names, purity): equal-dimension
 * ideals may come in another order. Purities to 1e-10 relative to the total
 * (sums of squares of O(1) coordinates in two orthonormal bases, each
 * accurate to ~1e-13). */
static void assert_same_structure(const structure_summary *dense, const structure_summary *other, const char *what)
{
    if (dense->dim != other->dim || dense->known != other->known || dense->centre != other->centre ||
        dense->n_ideals != other->n_ideals)
        fail_msg("%s: dim %zu/%zu known %d/%d centre %zu/%zu ideals %zu/%zu", what, dense->dim, other->dim,
                 dense->known, other->known, dense->centre, other->centre, dense->n_ideals, other->n_ideals);
    double tol = 1e-10 * (1.0 + fabs(dense->total));
    if (fabs(dense->total - other->total) > tol)
        fail_msg("%s: total purity %.15g / %.15g", what, dense->total, other->total);
    bool used[32] = {0};
    for (size_t i = 0; i < dense->n_ideals; i++) {
        bool found = false;
        for (size_t j = 0; j < other->n_ideals && !found; j++) {
            if (used[j] || dense->ideal_dim[i] != other->ideal_dim[j] || dense->ideal_rank[i] != other->ideal_rank[j] ||
                strcmp(dense->names[i], other->names[j]) || fabs(dense->purity[i] - other->purity[j]) > tol)
                continue;
            used[j] = found = true;
        }
        if (!found)
            fail_msg("%s: ideal %zu (dim %zu, rank %zu, %s, purity %.12g) has no match", what, i, dense->ideal_dim[i],
                     dense->ideal_rank[i], dense->names[i], dense->purity[i]);
    }
}

/* One set: the dense analysis (the default below the cap) and the forced
 * cluster analysis agree; returns whether the clusters decided it. */
static bool compare(const generator_set *set, const char *observable, const char *what)
{
    structure_summary dense, clusters;
    summarise(set, 0, 1, observable, &dense);
    summarise(set, 1, 1, observable, &clusters);
    assert_false(dense.clustered);
    assert_true(dense.known);
    assert_same_structure(&dense, &clusters, what);
    return clusters.clustered;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_forced_matches_dense(void **state)
{
    (void)state;
    size_t applied = 0, compared = 0;
    char what[96];
    /* Heisenberg chains side by side: su(2) + u(1), su(2) twice + ... */
    static const unsigned heis[][2] = {{2, 2}, {3, 2}, {2, 3}, {3, 3}};
    for (size_t i = 0; i < sizeof heis / sizeof heis[0]; i++) {
        generator_set set = {0};
        unsigned n = heis[i][0] + heis[i][1];
        heisenberg_block(&set, n, 0, heis[i][0]);
        heisenberg_block(&set, n, heis[i][0], heis[i][1]);
        snprintf(what, sizeof what, "heisenberg %u + %u", heis[i][0], heis[i][1]);
        applied += compare(&set, "Z0 Z1 + X1 X2 + 0.5 Y2 Y3", what);
        compared++;
        set_free(&set);
    }
    /* TFIM sums beside a Heisenberg chain, and beside another TFIM block */
    for (unsigned len = 2; len <= 3; len++) {
        generator_set set = {0};
        tfim_block(&set, len + 3, 0, len);
        heisenberg_block(&set, len + 3, len, 3);
        snprintf(what, sizeof what, "tfim %u + heisenberg 3", len);
        applied += compare(&set, "X0 + Z0 Z1 + Z2 Z3 + X4 X3", what);
        compared++;
        set_free(&set);
        tfim_block(&set, 2 * len, 0, len);
        tfim_block(&set, 2 * len, len, len);
        snprintf(what, sizeof what, "tfim %u + tfim %u", len, len);
        applied += compare(&set, "X0 + Z0 Z1 + 0.5 X2 + Y3", what);
        compared++;
        set_free(&set);
    }
    /* S_n sums on one block beside a chain (the whole set has no qubit
     * symmetry; the S_n cluster closes in orbit coordinates) */
    {
        generator_set set = {0};
        sn_block(&set, 5, 0, 3);
        heisenberg_block(&set, 5, 3, 2);
        tfim_block(&set, 5, 3, 2);
        applied += compare(&set, "Z0 Z1 + X2 + X3 Y4", "S_3 + heisenberg/tfim 2");
        compared++;
        set_free(&set);
    }
    /* generators on the same qubits that commute: XX+YY+ZZ and Z0+Z1 (u(1) + u(1)), with su(2) on qubit 2 */
    {
        generator_set set = {0};
        set_add(&set, 3, "X0 X1 + Y0 Y1 + Z0 Z1");
        set_add(&set, 3, "Z0 + Z1");
        set_add(&set, 3, "X2");
        set_add(&set, 3, "Y2 + 0.5 Z2");
        applied += compare(&set, "Z0 + X0 X1 + Z2", "commuting on shared qubits");
        compared++;
        set_free(&set);
        /* centres that overlap (Z0 beside Z0 + Z1): the sum is not orthogonal, the clusters decline */
        set_add(&set, 3, "Z0");
        set_add(&set, 3, "Z0 + Z1");
        set_add(&set, 3, "X2 + Y1");
        set_add(&set, 3, "X2");
        compare(&set, "Z0 + Z1 + X2", "overlapping centres");
        compared++;
        set_free(&set);
    }
    /* random sums on 2 or 3 disjoint blocks, n = 3..5 */
    harness_rng rng = {0x5e5a1c0de5ull};
    size_t random_applied = 0;
    for (unsigned trial = 0; trial < 30; trial++) {
        unsigned n = 3 + trial % 3;
        generator_set set = {0};
        unsigned blocks = n >= 4 && trial % 2 ? 3 : 2;
        unsigned first = 0;
        for (unsigned b = 0; b < blocks; b++) {
            unsigned len = b + 1 < blocks ? 1 + (unsigned)(harness_next(&rng) % (n - first - (blocks - b - 1))) : n - first;
            if (len > n - first - (blocks - b - 1))
                len = n - first - (blocks - b - 1);
            random_block(&set, n, first, len, &rng);
            first += len;
        }
        snprintf(what, sizeof what, "random blocks %u (n = %u)", trial, n);
        bool used = compare(&set, n == 3 ? "X0 Z1 + Y2" : n == 4 ? "X0 Z1 + Y2 + 0.5 Z3" : "X0 + Z1 Y2 + Z3 X4",
                            what);
        random_applied += used;
        compared++;
        set_free(&set);
    }
    applied += random_applied;
    print_message("# cluster analysis decided %zu of %zu sets (%zu of 30 random)\n", applied, compared,
                  random_applied);
    assert_true(applied >= 20);
}

/* The bits do not depend on the thread count: the installed basis and every
 * ideal's coordinates. */
static void test_thread_counts(void **state)
{
    (void)state;
    generator_set set = {0};
    tfim_block(&set, 6, 0, 3);
    heisenberg_block(&set, 6, 3, 3);
    qml_lie_algebra *a[2] = {0};
    for (unsigned t = 0; t < 2; t++) {
        qml_lie_options options = QML_LIE_OPTIONS_INIT;
        options.n_threads = t + 1;
        qml__lie_clusters_always = 1;
        assert_ok(qml_lie_algebra_create(&a[t], (const qml_pauli_sum *const *)set.items, set.count, &options));
        qml__lie_clusters_always = 0;
        assert_true(a[t]->clustered);
    }
    assert_int_equal(a[0]->dim, a[1]->dim);
    assert_int_equal(a[0]->n_entries, a[1]->n_entries);
    assert_memory_equal(a[0]->start, a[1]->start, (a[0]->dim + 1) * sizeof *a[0]->start);
    assert_memory_equal(a[0]->col, a[1]->col, a[0]->n_entries * sizeof *a[0]->col);
    assert_memory_equal(a[0]->val, a[1]->val, a[0]->n_entries * sizeof *a[0]->val);
    assert_int_equal(a[0]->n_ideals, a[1]->n_ideals);
    for (size_t j = 0; j < a[0]->n_ideals; j++) {
        const lie_component *p = &a[0]->ideals[j], *q = &a[1]->ideals[j];
        assert_int_equal(p->dim, q->dim);
        assert_int_equal(p->n_support, q->n_support);
        assert_memory_equal(p->support, q->support, p->n_support * sizeof *p->support);
        assert_int_equal(p->coords != NULL, q->coords != NULL);
        if (p->coords)
            assert_memory_equal(p->coords, q->coords, p->n_support * p->dim * sizeof *p->coords);
    }
    qml_lie_algebra_free(a[0]);
    qml_lie_algebra_free(a[1]);
    set_free(&set);
}

/* The installed basis is orthonormal and every ideal is invariant: the
 * bracket of a generator with an ideal element stays in that ideal. */
static void test_basis_and_ideals(void **state)
{
    (void)state;
    generator_set set = {0};
    tfim_block(&set, 5, 0, 2);
    heisenberg_block(&set, 5, 2, 3);
    qml__lie_clusters_always = 1;
    qml_lie_algebra *a = close_set(&set);
    qml__lie_clusters_always = 0;
    assert_true(a->clustered);
    size_t d = qml_lie_algebra_dim(a);
    qml_pauli_sum **b = calloc(d, sizeof *b);
    assert_non_null(b);
    for (size_t i = 0; i < d; i++)
        assert_ok(qml_lie_algebra_basis_element(a, i, &b[i]));
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j <= i; j++) {
            double ip = 0;
            assert_ok(qml_pauli_sum_inner(b[i], b[j], &ip));
            assert_true(fabs(ip - (i == j ? 1.0 : 0.0)) < 1e-12);
        }
    for (size_t j = 0; j < qml_lie_algebra_n_ideals(a); j++) {
        size_t dim = 0;
        assert_ok(qml_lie_algebra_ideal(a, j, &dim, NULL, NULL));
        for (size_t e = 0; e < dim; e++) {
            qml_pauli_sum *y = NULL;
            assert_ok(qml_lie_algebra_ideal_element(a, j, e, &y));
            for (size_t k = 0; k < set.count; k++) {
                qml_pauli_sum *br = NULL;
                assert_ok(qml_pauli_sum_bracket(&br, set.items[k], y));
                /* all its purity lies in ideal j */
                double total = 0, per[8];
                size_t count = 0;
                assert_ok(qml_lie_algebra_purity(a, br, &total, per, 8, &count));
                for (size_t i = 0; i < count && i < 8; i++)
                    assert_true(fabs(per[i] - (i == j ? total : 0.0)) <= 1e-10 * (1 + total));
                qml_pauli_sum_free(br);
            }
            qml_pauli_sum_free(y);
        }
    }
    for (size_t i = 0; i < d; i++)
        qml_pauli_sum_free(b[i]);
    free(b);
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* Above the cap: so(92) from sums beside a Heisenberg chain of three qubits
 * (4190 = 4186 + su(2) + u(1)), decided by default; before, the cap. */
static void test_above_cap(void **state)
{
    (void)state;
    const unsigned n = 46, width = 49;
    generator_set set = {0};
    tfim_block(&set, width, 0, n);
    heisenberg_block(&set, width, n, 3);
    qml_lie_algebra *a = close_set(&set);
    assert_int_equal(qml_lie_algebra_dim(a), 4190);
    assert_true(qml_lie_algebra_structure_known(a));
    assert_true(a->clustered);
    assert_int_equal(qml_lie_algebra_center_dim(a), 1);
    assert_int_equal(qml_lie_algebra_n_ideals(a), 2);
    size_t dim = 0, rank = 0;
    const char *names = NULL;
    assert_ok(qml_lie_algebra_ideal(a, 0, &dim, &rank, &names));
    assert_int_equal(dim, 4186);
    assert_int_equal(rank, 46);
    assert_string_equal(names, "so(92)");
    assert_ok(qml_lie_algebra_ideal(a, 1, &dim, &rank, &names));
    assert_int_equal(dim, 3);
    assert_int_equal(rank, 1);
    /* the centre: the Heisenberg chain's sum of its generators' ... lies in the chain's qubits */
    qml_pauli_sum *z = NULL;
    assert_ok(qml_lie_algebra_center_element(a, 0, &z));
    for (size_t k = 0; k < set.count; k++) {
        int commute = 0;
        assert_ok(qml_pauli_sum_commutes(z, set.items[k], 1e-12, &commute));
        assert_true(commute);
    }
    qml_pauli_sum_free(z);
    /* purity of an observable across both: each part counted in its ideal */
    qml_pauli_sum *o = parse(width, "X0 + Z0 Z1 + X46 X47");
    double total = 0, per[4];
    size_t count = 0;
    assert_ok(qml_lie_algebra_purity(a, o, &total, per, 4, &count));
    /* X0 + Z0 Z1 lies in so(92): all of its purity is ideal 0's, and ideal
     * 0's share of the whole observable is that */
    qml_pauli_sum *o1 = parse(width, "X0 + Z0 Z1");
    double total1 = 0, per1[4];
    assert_ok(qml_lie_algebra_purity(a, o1, &total1, per1, 4, &count));
    assert_true(total1 > 0.1);
    assert_true(fabs(per1[0] - total1) < 1e-10 * total1);
    assert_true(fabs(per1[1]) < 1e-12);
    assert_true(fabs(per[0] - total1) < 1e-10 * total1);
    assert_true(per[1] > 0.0 && total > per[0] + per[1] - 1e-12);
    qml_pauli_sum_free(o1);
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    set_free(&set);
}

typedef struct alloc_context {
    const generator_set *set;
    const char *observable;
} alloc_context;

static int sequence_clusters(void *context)
{
    const alloc_context *c = context;
    unsigned n = qml_pauli_sum_n_qubits(c->set->items[0]);
    int saved = qml__lie_clusters_always;
    qml__lie_clusters_always = 1;
    qml_lie_algebra *a = NULL;
    int status = qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)c->set->items, c->set->count, NULL);
    qml__lie_clusters_always = saved;
    if (status)
        return status;
    qml_pauli_sum *o = NULL, *e = NULL;
    status = qml_pauli_sum_parse(&o, n, c->observable);
    double total, per[16];
    size_t count;
    if (!status)
        status = qml_lie_algebra_purity(a, o, &total, per, 16, &count);
    if (!status && qml_lie_algebra_n_ideals(a))
        status = qml_lie_algebra_ideal_element(a, 0, 0, &e);
    qml_pauli_sum_free(e);
    e = NULL;
    if (!status && qml_lie_algebra_center_dim(a))
        status = qml_lie_algebra_center_element(a, 0, &e);
    qml_pauli_sum_free(e);
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    return status;
}

/* The caller's progress callback sees the clusters' closures (after the
 * stage "structure" of g) and cancels them: QML_ERR_CANCELLED, nothing
 * returned, nothing leaked. */
typedef struct progress_log {
    size_t calls, after_structure;
    bool structure_seen;
    size_t cancel_after; /* cancel at this call after "structure" (0: never) */
} progress_log;

static int count_progress(const char *stage, size_t done, size_t total, void *user)
{
    (void)done;
    (void)total;
    progress_log *log = user;
    log->calls++;
    if (log->structure_seen)
        log->after_structure++;
    if (!strcmp(stage, "structure"))
        log->structure_seen = true;
    return log->cancel_after && log->after_structure >= log->cancel_after;
}

static void test_progress_and_cancel(void **state)
{
    (void)state;
    generator_set set = {0};
    tfim_block(&set, 6, 0, 3);
    heisenberg_block(&set, 6, 3, 3);
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.progress = count_progress;
    for (int force = 0; force < 2; force++) {
        progress_log log = {0};
        options.progress_user = &log;
        qml__lie_clusters_always = force;
        qml_lie_algebra *a = NULL;
        assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options));
        qml__lie_clusters_always = 0;
        assert_int_equal(a->clustered, force);
        assert_true(log.structure_seen);
        print_message("# progress: %zu calls, %zu after \"structure\" (clusters %s)\n", log.calls,
                      log.after_structure, force ? "forced" : "off");
        /* the dense analysis makes no calls after "structure"; each
         * cluster's closure makes at least two (closure, structure) */
        assert_true(force ? log.after_structure >= 4 : log.after_structure == 0);
        qml_lie_algebra_free(a);
    }
    progress_log log = {.cancel_after = 1};
    options.progress_user = &log;
    qml__lie_clusters_always = 1;
    qml_lie_algebra *a = NULL;
    assert_int_equal(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options),
                     QML_ERR_CANCELLED);
    qml__lie_clusters_always = 0;
    assert_null(a);
    assert_int_equal(log.after_structure, 1);
    set_free(&set);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    generator_set set = {0};
    tfim_block(&set, 5, 0, 2);
    heisenberg_block(&set, 5, 2, 3);
    alloc_context c = {&set, "X0 + Z2 Z3"};
    assert_true(harness_check_allocation_failures(sequence_clusters, &c) > 10);
    set_free(&set);
    /* commuting generators on shared qubits, a centre of two */
    set_add(&set, 3, "X0 X1 + Y0 Y1 + Z0 Z1");
    set_add(&set, 3, "Z0 + Z1");
    set_add(&set, 3, "X2");
    set_add(&set, 3, "Y2");
    c.observable = "Z0 + X2";
    assert_true(harness_check_allocation_failures(sequence_clusters, &c) > 10);
    set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forced_matches_dense),
        cmocka_unit_test(test_thread_counts),
        cmocka_unit_test(test_basis_and_ideals),
        cmocka_unit_test(test_above_cap),
        cmocka_unit_test(test_progress_and_cancel),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_lie_krylov.c: the iterative structure analysis of general (Pauli-sum)
 * algebras (lib/lie_krylov.c) against the dense one (lie_structure.c), with
 * the internal switch that sends algebras below the dense cap through the
 * iterative path: centre dimension, ideals (dimension, rank, names, as
 * multisets) and per-ideal purities of a few observables; the XY chain with
 * fields against its closed form u(n); the same bits on 1 and 2 threads; the
 * reported work cap; the block growth against the one-candidate growth
 * (projectors); options.structure_max_work; allocation failures. */
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

/* XY chain with fields: X_i X_i+1 + Y_i Y_i+1 (one sum per bond) and Z_i.
 * Number-conserving free fermions (Jordan-Wigner): the DLA is u(n) =
 * su(n) + u(1), dimension n^2. */
static void xy_chain(generator_set *set, unsigned n)
{
    for (unsigned i = 0; i + 1 < n; i++) {
        char text[64];
        snprintf(text, sizeof text, "X%u X%u + Y%u Y%u", i, i + 1, i, i + 1);
        set_add(set, n, text);
    }
    for (unsigned i = 0; i < n; i++) {
        char text[16];
        snprintf(text, sizeof text, "Z%u", i);
        set_add(set, n, text);
    }
}

/* 1..3 random sums of 1..3 random strings with small integer coefficients
 * (coincidences, so smaller algebras with several ideals, are likely). */
static void random_sums(generator_set *set, unsigned n, harness_rng *rng)
{
    const char ops[] = "IXYZ";
    size_t count = 2 + (size_t)(harness_next(rng) % 3);
    for (size_t k = 0; k < count; k++) {
        qml_pauli_sum *s = NULL;
        assert_ok(qml_pauli_sum_create(&s, n));
        size_t terms = 1 + (size_t)(harness_next(rng) % 3);
        for (size_t t = 0; t < terms; t++) {
            char dense[8] = {0};
            for (unsigned q = 0; q < n; q++)
                dense[q] = ops[harness_next(rng) % 4];
            assert_ok(qml_pauli_sum_add_string(s, (double)(1 + harness_next(rng) % 3), dense));
        }
        set->items[set->count++] = s;
    }
}

/* ---- the structure, as the public API reports it ---------------------------------- */

#define MAX_IDEALS 16
#define N_OBSERVABLES 3

typedef struct structure {
    size_t dim, centre, n_ideals;
    qml_lie_structure_state state;
    size_t ideal_dim[MAX_IDEALS], ideal_rank[MAX_IDEALS];
    char names[MAX_IDEALS][96];
    double purity[N_OBSERVABLES][MAX_IDEALS + 1], total[N_OBSERVABLES];
} structure;

static void capture(const generator_set *set, unsigned n, int krylov, unsigned n_threads, structure *out)
{
    memset(out, 0, sizeof *out);
    qml__lie_krylov_always = krylov;
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.n_threads = n_threads;
    qml_lie_algebra *a = NULL;
    assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set->items, set->count, &options));
    qml__lie_krylov_always = 0;
    out->dim = qml_lie_algebra_dim(a);
    assert_ok(qml_lie_algebra_structure_state(a, &out->state, NULL));
    out->centre = qml_lie_algebra_center_dim(a);
    out->n_ideals = qml_lie_algebra_n_ideals(a);
    assert_true(out->n_ideals <= MAX_IDEALS);
    for (size_t j = 0; j < out->n_ideals; j++) {
        const char *names = NULL;
        assert_ok(qml_lie_algebra_ideal(a, j, &out->ideal_dim[j], &out->ideal_rank[j], &names));
        snprintf(out->names[j], sizeof out->names[j], "%s", names);
    }
    /* observables: Z0 Z1, X0 (on every n) and a fixed mixed sum */
    const char *texts[N_OBSERVABLES] = {"Z0 Z1", "X0", "X0 Y1 + 0.5 Z1 + 0.25 Y0 X1"};
    for (int o = 0; o < N_OBSERVABLES; o++) {
        qml_pauli_sum *op = parse(n, texts[o]);
        size_t count = 0;
        if (out->state == QML_LIE_STRUCTURE_KNOWN)
            assert_ok(qml_lie_algebra_purity(a, op, &out->total[o], out->purity[o], MAX_IDEALS + 1, &count));
        qml_pauli_sum_free(op);
    }
    qml_lie_algebra_free(a);
}

/* The iterative and the dense structure agree: centre dimension; ideals
 * matched one to one with the same dimension, rank, names and purities.
 * Purities are sums of squares of coordinates from orthonormal bases of the
 * same subspaces (checked invariant to 1e-6, grown to 1e-7; each basis is
 * orthonormal to rounding), so they agree to rounding: 1e-10 relative to the
 * total purity (2^n at most for a Pauli string) leaves a margin of ~1e4
 * over the ~1e-14 seen. */
static void assert_agree(const structure *dense, const structure *iter, const char *what)
{
    if (dense->state != QML_LIE_STRUCTURE_KNOWN)
        fail_msg("%s: dense state %d", what, (int)dense->state);
    if (iter->state != QML_LIE_STRUCTURE_KNOWN)
        fail_msg("%s: iterative state %d", what, (int)iter->state);
    assert_int_equal(dense->dim, iter->dim);
    if (dense->centre != iter->centre || dense->n_ideals != iter->n_ideals)
        fail_msg("%s: dense centre %zu, %zu ideals; iterative centre %zu, %zu ideals", what, dense->centre,
                 dense->n_ideals, iter->centre, iter->n_ideals);
    bool used[MAX_IDEALS] = {0};
    for (size_t j = 0; j < dense->n_ideals; j++) {
        bool found = false;
        for (size_t i = 0; i < iter->n_ideals && !found; i++) {
            if (used[i] || dense->ideal_dim[j] != iter->ideal_dim[i] || dense->ideal_rank[j] != iter->ideal_rank[i] ||
                strcmp(dense->names[j], iter->names[i]))
                continue;
            bool same = true;
            for (int o = 0; o < N_OBSERVABLES; o++)
                same = same && fabs(dense->purity[o][j] - iter->purity[o][i]) <= 1e-10 * fmax(1.0, dense->total[o]);
            if (same)
                used[i] = found = true;
        }
        if (!found)
            fail_msg("%s: dense ideal %zu (dim %zu, rank %zu, %s) has no iterative match", what, j,
                     dense->ideal_dim[j], dense->ideal_rank[j], dense->names[j]);
    }
    for (int o = 0; o < N_OBSERVABLES; o++) {
        double centre_dense = dense->purity[o][dense->n_ideals], centre_iter = iter->purity[o][iter->n_ideals];
        assert_true(fabs(centre_dense - centre_iter) <= 1e-10 * fmax(1.0, dense->total[o]));
        assert_true(fabs(dense->total[o] - iter->total[o]) <= 1e-10 * fmax(1.0, dense->total[o]));
    }
}

static size_t compare_set(const generator_set *set, unsigned n, const char *what)
{
    structure dense, iter;
    capture(set, n, 0, 1, &dense);
    capture(set, n, 1, 1, &iter);
    assert_agree(&dense, &iter, what);
    return dense.n_ideals;
}

/* ---- tests ---------------------------------------------------------------------- */

/* 36 seeded random sum sets on n = 2..4: every one agrees with the dense
 * analysis (sets whose basis is not closed enough for any analysis, or
 * which the dense analysis leaves unresolved, are skipped and counted). */
static void test_random_sums(void **state)
{
    (void)state;
    harness_rng rng = {20261206};
    size_t compared = 0, ideals = 0, several = 0;
    for (int trial = 0; compared < 36 && trial < 200; trial++) {
        unsigned n = 2 + (unsigned)(trial % 3);
        generator_set set = {0};
        random_sums(&set, n, &rng);
        structure dense;
        capture(&set, n, 0, 1, &dense);
        if (dense.state == QML_LIE_STRUCTURE_KNOWN && dense.dim > 1) {
            char what[64];
            snprintf(what, sizeof what, "random set %d (n = %u, dim %zu)", trial, n, dense.dim);
            size_t k = compare_set(&set, n, what);
            ideals += k;
            several += k >= 2;
            compared++;
        }
        set_free(&set);
    }
    print_message("# %zu random sets agree (%zu ideals, %zu sets with two or more)\n", compared, ideals, several);
    assert_true(compared >= 36);
    assert_true(several >= 5);
}

/* Heisenberg chains n = 4..7 (su(m_J) per spin sector; equal ideals such
 * as su(14) twice at n = 7 must come out separated), XXZ chains (delta =
 * 0.5) n = 4, 5 (n = 6, dim 458, takes ~6 s per closure) and XY chains
 * n = 4..12. */
static void test_chains(void **state)
{
    (void)state;
    for (unsigned n = 4; n <= 7; n++)
        for (int xxz = 0; xxz < (n <= 5 ? 2 : 1); xxz++) {
            generator_set set = {0};
            xxz_chain(&set, n, xxz ? 0.5 : 1.0);
            char what[64];
            snprintf(what, sizeof what, "%s chain n = %u", xxz ? "XXZ" : "Heisenberg", n);
            compare_set(&set, n, what);
            set_free(&set);
        }
    for (unsigned n = 4; n <= 12; n++) {
        generator_set set = {0};
        xy_chain(&set, n);
        char what[64];
        snprintf(what, sizeof what, "XY chain n = %u", n);
        compare_set(&set, n, what);
        set_free(&set);
    }
}

/* The XY chain with fields against the closed form u(n): centre 1, one
 * simple ideal su(n) of rank n - 1, on the iterative path (block growth).
 * (At n = 64, dim 4096, one ideal of dimension ~d costs ~4 d^3 and the
 * default work cap stops it: reported above the cap, see test_cap_reported.) */
static void check_xy_closed_form(unsigned n)
{
    generator_set set = {0};
    xy_chain(&set, n);
    structure s;
    capture(&set, n, 1, 1, &s);
    print_message("# XY chain n = %u: dim %zu, state %d, centre %zu, %zu ideals\n", n, s.dim, (int)s.state, s.centre,
                  s.n_ideals);
    assert_int_equal(s.dim, (size_t)n * n);
    assert_int_equal(s.state, QML_LIE_STRUCTURE_KNOWN);
    assert_int_equal(s.centre, 1);
    assert_int_equal(s.n_ideals, 1);
    assert_int_equal(s.ideal_dim[0], (size_t)n * n - 1);
    assert_int_equal(s.ideal_rank[0], n - 1);
    char name[32];
    snprintf(name, sizeof name, "su(%u)", n);
    assert_string_equal(s.names[0], name);
    set_free(&set);
}

static void test_xy_closed_form(void **state)
{
    (void)state;
    for (unsigned n = 16; n <= 24; n += 4)
        check_xy_closed_form(n);
}

/* su(11) has dimension 120, as so(16) has: the dimension does not decide
 * the rank. With the always-dense limit at 0 the rank is computed within
 * the work budget (the default holds it): 10, named su(11), like the dense
 * analysis. */
static void test_rank_within_budget(void **state)
{
    (void)state;
    generator_set set = {0};
    xy_chain(&set, 11);
    qml__lie_krylov_rank_dense = 0;
    structure s;
    capture(&set, 11, 1, 1, &s);
    qml__lie_krylov_rank_dense = 1500;
    assert_int_equal(s.state, QML_LIE_STRUCTURE_KNOWN);
    assert_int_equal(s.n_ideals, 1);
    assert_int_equal(s.ideal_dim[0], 120);
    assert_int_equal(s.ideal_rank[0], 10);
    assert_string_equal(s.names[0], "su(11)");
    set_free(&set);
}

/* 1 and 2 threads: the same bits. The closure's bits do not depend on the
 * thread count; the block growth splits its products so that each entry is
 * summed by one thread in a fixed order. The XY chain at n = 20 (d = 400)
 * has blocks above KRYLOV_PARALLEL_WORK (2e6 multiply-adds), so two threads
 * really run; the XXZ chain at n = 6 stays on one. */
static void test_threads_same_bits(void **state)
{
    (void)state;
    generator_set set = {0};
    xxz_chain(&set, 6, 1.0);
    structure one, two;
    capture(&set, 6, 1, 1, &one);
    capture(&set, 6, 1, 2, &two);
    assert_int_equal(one.state, QML_LIE_STRUCTURE_KNOWN);
    assert_memory_equal(&one, &two, sizeof one);
    set_free(&set);
    generator_set xy = {0};
    xy_chain(&xy, 20);
    capture(&xy, 20, 1, 1, &one);
    capture(&xy, 20, 1, 2, &two);
    assert_int_equal(one.state, QML_LIE_STRUCTURE_KNOWN);
    assert_memory_equal(&one, &two, sizeof one);
    set_free(&xy);
}

/* ---- the block growth against the one-candidate growth ---------------------- */

/* The projector V V^T (d x d) of a component with dense coordinates over
 * the algebra's basis. */
static double *projector(const lie_component *c, size_t d)
{
    double *p = calloc(d * d, sizeof *p);
    assert_non_null(p);
    if (!c->coords) {
        /* sparse columns: column j on the basis elements support[rows[.]]; or
         * none */
        if (!c->col_nnz) {
            /* a span of basis elements (the string analyses): column j is B_support[j] */
            assert_int_equal(c->n_support, c->dim);
            for (size_t j = 0; j < c->dim; j++)
                p[c->support[j] * d + c->support[j]] = 1.0;
            return p;
        }
        for (size_t j = 0; j < c->dim; j++)
            for (size_t e = 0; e < c->col_nnz; e++)
                for (size_t f = 0; f < c->col_nnz; f++)
                    p[c->support[c->rows[j * c->col_nnz + e]] * d + c->support[c->rows[j * c->col_nnz + f]]] +=
                        c->vals[j * c->col_nnz + e] * c->vals[j * c->col_nnz + f];
        return p;
    }
    for (size_t a = 0; a < c->n_support; a++)
        for (size_t b = 0; b < c->n_support; b++) {
            double s = 0;
            for (size_t j = 0; j < c->dim; j++)
                s += c->coords[a * c->dim + j] * c->coords[b * c->dim + j];
            p[c->support[a] * d + c->support[b]] = s;
        }
    return p;
}

static double max_difference(const double *x, const double *y, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i] - y[i]));
    return m;
}

static qml_lie_algebra *close_iteratively(const generator_set *set, int unblocked)
{
    qml__lie_krylov_always = 1;
    qml__lie_krylov_unblocked = unblocked;
    qml_lie_algebra *a = close_set(set);
    qml__lie_krylov_always = 0;
    qml__lie_krylov_unblocked = 0;
    return a;
}

/* The same ideals (dimensions as multisets) and the same subspaces: every
 * ideal's projector, and the centre's, equal to SUBSPACE_TOL entrywise.
 * Simple ideals and the centre are unique subspaces, so the two growths
 * (their random draws differ), and the dense analysis, must find the same
 * ones. How close: each grown row carries the rounding of its candidate
 * divided by the share of it that was new, and the renormalisations pass
 * it on from row to row; at u(12) (d = 144) both growths sit 1.1e-10 from
 * each other and 1.2e-10 from the dense analysis (largest projector entry
 * difference), so 1e-8 leaves a margin of ~100, while an ideal with one
 * direction more or less differs by the square of that direction's largest
 * coordinate, at least 1/d ~ 7e-3 here. */
#define SUBSPACE_TOL 1e-8
static void compare_subspaces(const generator_set *set, bool dense, const char *what)
{
    qml_lie_algebra *blocked = close_iteratively(set, 0);
    qml_lie_algebra *plain = dense ? close_set(set) : close_iteratively(set, 1);
    assert_true(qml_lie_algebra_structure_known(blocked));
    assert_true(qml_lie_algebra_structure_known(plain));
    size_t d = blocked->dim;
    assert_int_equal(d, plain->dim);
    if (blocked->n_ideals != plain->n_ideals || blocked->center.dim != plain->center.dim)
        fail_msg("%s: blocked %zu ideals, centre %zu; unblocked %zu ideals, centre %zu", what, blocked->n_ideals,
                 blocked->center.dim, plain->n_ideals, plain->center.dim);
    bool used[MAX_IDEALS] = {0};
    assert_true(plain->n_ideals <= MAX_IDEALS);
    for (size_t j = 0; j < blocked->n_ideals; j++) {
        double *pb = projector(&blocked->ideals[j], d);
        bool matched = false;
        double closest = HUGE_VAL;
        for (size_t i = 0; i < plain->n_ideals && !matched; i++) {
            if (used[i] || plain->ideals[i].dim != blocked->ideals[j].dim)
                continue;
            double *pp = projector(&plain->ideals[i], d);
            double diff = max_difference(pb, pp, d * d);
            closest = fmin(closest, diff);
            if (diff <= SUBSPACE_TOL)
                matched = used[i] = true;
            free(pp);
        }
        free(pb);
        if (!matched)
            fail_msg("%s: blocked ideal %zu (dim %zu) has no equal %s ideal (closest %g)", what, j,
                     blocked->ideals[j].dim, dense ? "dense" : "unblocked", closest);
    }
    /* the dense analysis keeps its centre as Pauli sums, not coordinates */
    if (blocked->center.dim && !dense) {
        double *pb = projector(&blocked->center, d), *pp = projector(&plain->center, d);
        double diff = max_difference(pb, pp, d * d);
        free(pb);
        free(pp);
        if (diff > SUBSPACE_TOL)
            fail_msg("%s: centres differ by %g", what, diff);
    }
    qml_lie_algebra_free(blocked);
    qml_lie_algebra_free(plain);
}

static void test_blocked_growth(void **state)
{
    (void)state;
    generator_set xy = {0};
    xy_chain(&xy, 12); /* u(12): one ideal of 143 over several blocks */
    compare_subspaces(&xy, false, "xy chain n = 12");
    compare_subspaces(&xy, true, "xy chain n = 12");
    set_free(&xy);
    generator_set xxz = {0};
    xxz_chain(&xxz, 6, 1.0);
    compare_subspaces(&xxz, false, "heisenberg chain n = 6");
    set_free(&xxz);
    harness_rng rng = {0x5eedb10c};
    for (int trial = 0; trial < 6; trial++) {
        generator_set set = {0};
        random_sums(&set, 4, &rng);
        char what[48];
        snprintf(what, sizeof what, "random sums, trial %d", trial);
        compare_subspaces(&set, false, what);
        set_free(&set);
    }
}

/* ---- options.structure_max_work ---------------------------------------------- */

static void test_structure_budget(void **state)
{
    (void)state;
    generator_set set = {0};
    xy_chain(&set, 12);
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    assert_true(options.structure_max_work == 0.0); /* the default */
    qml__lie_krylov_always = 1;
    /* the default budget (4e9) covers u(12) (~1e7 multiply-adds) */
    qml_lie_algebra *a = NULL;
    assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options));
    assert_true(qml_lie_algebra_structure_known(a));
    qml_lie_algebra_free(a);
    /* a budget below it: above the cap, with the work it would need */
    options.structure_max_work = 1e5;
    a = NULL;
    assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options));
    qml_lie_structure_state st;
    assert_ok(qml_lie_algebra_structure_state(a, &st, NULL));
    assert_int_equal(st, QML_LIE_STRUCTURE_ABOVE_CAP);
    assert_non_null(strstr(qml_lie_algebra_structure_message(a), "cap of 1e+05"));
    assert_non_null(strstr(qml_lie_algebra_structure_message(a), "structure_max_work"));
    qml_lie_algebra_free(a);
    /* a raised budget overrides a lowered default: the field wins over the
     * internal cap whenever it is set */
    qml__lie_krylov_max_work = 1e5;
    options.structure_max_work = 1e10;
    a = NULL;
    assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options));
    qml__lie_krylov_max_work = LIE_KRYLOV_MAX_WORK;
    assert_true(qml_lie_algebra_structure_known(a));
    assert_int_equal(qml_lie_algebra_center_dim(a), 1);
    assert_int_equal(qml_lie_algebra_n_ideals(a), 1);
    qml_lie_algebra_free(a);
    /* invalid: negative, NaN */
    const double bad[] = {-1.0, (double)NAN};
    for (int i = 0; i < 2; i++) {
        options.structure_max_work = bad[i];
        a = NULL;
        assert_int_equal(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options),
                         QML_ERR_INVALID_ARGUMENT);
        assert_null(a);
        assert_non_null(strstr(qml_last_error(), "structure_max_work"));
    }
    qml__lie_krylov_always = 0;
    set_free(&set);
}

/* A work cap too small for the analysis: reported above the cap, with a
 * message, never a partial structure. */
static void test_cap_reported(void **state)
{
    (void)state;
    generator_set set = {0};
    xxz_chain(&set, 6, 1.0);
    qml__lie_krylov_max_work = 1e6;
    qml__lie_krylov_always = 1;
    qml_lie_algebra *a = close_set(&set);
    qml__lie_krylov_always = 0;
    qml__lie_krylov_max_work = LIE_KRYLOV_MAX_WORK;
    qml_lie_structure_state st;
    assert_ok(qml_lie_algebra_structure_state(a, &st, NULL));
    assert_int_equal(st, QML_LIE_STRUCTURE_ABOVE_CAP);
    assert_false(qml_lie_algebra_structure_known(a));
    assert_int_equal(qml_lie_algebra_n_ideals(a), 0);
    assert_non_null(strstr(qml_lie_algebra_structure_message(a), "iterative structure analysis"));
    qml_lie_algebra_free(a);
    set_free(&set);
}

/* The iterative analysis reports its rows to the progress callback, in
 * order, and stops with QML_ERR_CANCELLED (no algebra, no leak) when the
 * callback asks it to. */
typedef struct progress_log {
    size_t calls, last_done, total, cancel_at;
    bool ordered;
} progress_log;

static int log_progress(const char *stage, size_t done, size_t total, void *user)
{
    progress_log *log = user;
    if (strcmp(stage, "structure") || !total)
        return 0;
    log->ordered = log->ordered && done == log->last_done + 1 && (!log->total || total == log->total);
    log->calls++;
    log->last_done = done;
    log->total = total;
    return log->cancel_at && done >= log->cancel_at;
}

static void test_progress_and_cancel(void **state)
{
    (void)state;
    generator_set set = {0};
    xy_chain(&set, 8);
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.progress = log_progress;
    progress_log log = {.ordered = true};
    options.progress_user = &log;
    qml__lie_krylov_always = 1;
    qml_lie_algebra *a = NULL;
    assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options));
    /* every row but the centre's is reported: the 63 rows of su(8), then the centre's */
    assert_true(log.ordered);
    assert_int_equal(log.total, 64);
    assert_true(log.calls >= 63);
    assert_int_equal(qml_lie_algebra_n_ideals(a), 1);
    qml_lie_algebra_free(a);

    progress_log stop = {.ordered = true, .cancel_at = 10};
    options.progress_user = &stop;
    a = NULL;
    assert_int_equal(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set.items, set.count, &options),
                     QML_ERR_CANCELLED);
    qml__lie_krylov_always = 0;
    assert_null(a);
    assert_int_equal(stop.last_done, 10);
    assert_non_null(strstr(qml_last_error(), "iterative structure analysis"));
    set_free(&set);
}

/* ---- allocation failures ------------------------------------------------------------ */

static int sequence_krylov(void *context)
{
    const generator_set *set = context;
    qml__lie_krylov_always = 1;
    qml_lie_algebra *a = NULL;
    int status = qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set->items, set->count, NULL);
    qml__lie_krylov_always = 0;
    qml_pauli_sum *o = NULL;
    if (!status)
        status = qml_pauli_sum_parse(&o, 4, "Z0 Z1");
    double total = 0, per[8];
    size_t count = 0;
    if (!status)
        status = qml_lie_algebra_purity(a, o, &total, per, 8, &count);
    qml_pauli_sum_free(o);
    qml_lie_algebra_free(a);
    return status;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    generator_set set = {0};
    xxz_chain(&set, 4, 1.0);
    assert_true(harness_check_allocation_failures(sequence_krylov, &set) > 10);
    set_free(&set);
}

int main(void)
{
    /* The reference is the dense analysis itself: the sector route, which
     * would decide the XY chains first and rotate their basis, stays off
     * (tests/test_lie_sector.c compares it with the dense analysis). */
    qml__lie_sector_off = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_sums),
        cmocka_unit_test(test_chains),
        cmocka_unit_test(test_xy_closed_form),
        cmocka_unit_test(test_rank_within_budget),
        cmocka_unit_test(test_threads_same_bits),
        cmocka_unit_test(test_cap_reported),
        cmocka_unit_test(test_blocked_growth),
        cmocka_unit_test(test_structure_budget),
        cmocka_unit_test(test_progress_and_cancel),
        cmocka_unit_test(test_allocation_failures),
    };
    const char *only = getenv("QML_TEST_ONLY");
    if (only)
        cmocka_set_test_filter(only);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_samples.c: mergeable partial results. Any split of an estimate into
 * contiguous parts, computed separately, sent through bytes and merged in
 * any order, must give bitwise the statistics of one call; bad parts and
 * bad bytes must be refused with a clear status, never a crash or a leak.
 */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_TOTAL 7u

/* A 3-qubit hardware-efficient circuit of two layers (12 weights). */
static qml_circuit *small_circuit(void)
{
    qml_circuit *circuit = NULL;
    assert_ok(qml_circuit_create(&circuit, 3));
    assert_ok(qml_ansatz_family_append(circuit, QML_ANSATZ_HEA, 2));
    return circuit;
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Every getter of two statistics gives the same bits. */
static void assert_stats_identical(const qml_gradient_stats *a, const qml_gradient_stats *b)
{
    double x[4], y[4];
    assert_ok(qml_gradient_stats_loss(a, &x[0], &x[1], &x[2], &x[3]));
    assert_ok(qml_gradient_stats_loss(b, &y[0], &y[1], &y[2], &y[3]));
    for (int i = 0; i < 4; i++)
        if (!same_bits(x[i], y[i]))
            fail_msg("loss statistic %d: %.17g vs %.17g", i, x[i], y[i]);
    assert_int_equal(qml_gradient_stats_n_weights(a), qml_gradient_stats_n_weights(b));
    for (size_t k = 0; k < qml_gradient_stats_n_weights(a); k++) {
        int sa = qml_gradient_stats_weight(a, k, &x[0], &x[1], &x[2], &x[3]);
        int sb = qml_gradient_stats_weight(b, k, &y[0], &y[1], &y[2], &y[3]);
        assert_int_equal(sa, sb);
        if (sa)
            continue;
        for (int i = 0; i < 4; i++)
            if (!same_bits(x[i], y[i]))
                fail_msg("weight %zu statistic %d: %.17g vs %.17g", k, i, x[i], y[i]);
    }
    assert_ok(qml_gradient_stats_summary(a, &x[0], &x[1]));
    assert_ok(qml_gradient_stats_summary(b, &y[0], &y[1]));
    assert_true(same_bits(x[0], y[0]) && same_bits(x[1], y[1]));
}

/* A part through bytes and back, as a process boundary would see it. */
static qml_gradient_samples *through_bytes(const qml_gradient_samples *part)
{
    size_t length = 0;
    assert_status(qml_gradient_samples_serialize(part, NULL, 0, &length), QML_ERR_OUT_OF_RANGE);
    unsigned char *bytes = malloc(length);
    assert_non_null(bytes);
    assert_ok(qml_gradient_samples_serialize(part, bytes, length, &length));
    qml_gradient_samples *copy = NULL;
    assert_ok(qml_gradient_samples_deserialize(&copy, bytes, length));
    free(bytes);
    return copy;
}

/* Every composition of S = 7 samples into contiguous parts (2^6 = 64 of
 * them, 1..7 parts), each part computed on its own with 1 or 2 threads,
 * sent through bytes, and merged in reverse order: all give the bits of
 * qml_gradient_stats_create(), for each weight selection and with shots. */
static void test_every_split_merges_to_the_same_bits(void **state)
{
    (void)state;
    qml_circuit *circuit = small_circuit();
    qml_pauli_sum *observable = NULL;
    assert_ok(qml_pauli_sum_parse(&observable, 3, "Z0 + 0.5*X1 X2"));
    const qml_param_selection selections[] = {QML_PARAMS_FIRST, QML_PARAMS_MIDDLE, QML_PARAMS_ALL};
    for (int variant = 0; variant < 4; variant++) {
        qml_landscape_options options = QML_LANDSCAPE_OPTIONS_INIT;
        options.samples = S_TOTAL;
        options.seed = 1234 + (uint64_t)variant;
        options.params = selections[variant % 3];
        options.shots = variant == 3 ? 50 : 0;
        qml_gradient_stats *whole = NULL;
        assert_ok(qml_gradient_stats_create(&whole, circuit, observable, NULL, NULL, 0, &options));
        for (unsigned cuts = 0; cuts < (1u << (S_TOTAL - 1)); cuts++) {
            qml_gradient_samples *parts[S_TOTAL];
            size_t n_parts = 0, first = 0;
            for (size_t s = 1; s <= S_TOTAL; s++) {
                if (s == S_TOTAL || (cuts >> (s - 1)) & 1u) {
                    qml_landscape_options part_options = options;
                    part_options.n_threads = 1 + (unsigned)(n_parts % 2);
                    qml_gradient_samples *part = NULL;
                    assert_ok(qml_gradient_samples_create(&part, circuit, observable, NULL, NULL, 0, &part_options,
                                                          first, s - first));
                    parts[n_parts++] = through_bytes(part);
                    qml_gradient_samples_free(part);
                    first = s;
                }
            }
            const qml_gradient_samples *reversed[S_TOTAL];
            for (size_t i = 0; i < n_parts; i++)
                reversed[i] = parts[n_parts - 1 - i];
            qml_gradient_samples *merged = NULL;
            assert_ok(qml_gradient_samples_merge(&merged, reversed, n_parts));
            size_t m_first, m_count, m_total;
            assert_ok(qml_gradient_samples_range(merged, &m_first, &m_count, &m_total));
            assert_int_equal(m_first, 0);
            assert_int_equal(m_count, S_TOTAL);
            assert_int_equal(m_total, S_TOTAL);
            qml_gradient_stats *stats = NULL;
            assert_ok(qml_gradient_stats_from_samples(&stats, merged));
            assert_stats_identical(whole, stats);
            qml_gradient_stats_free(stats);
            qml_gradient_samples_free(merged);
            for (size_t i = 0; i < n_parts; i++)
                qml_gradient_samples_free(parts[i]);
        }
        qml_gradient_stats_free(whole);
    }
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
}

/* Merges nest: merging merged pieces gives the same bits as one merge. */
static void test_merges_nest(void **state)
{
    (void)state;
    qml_circuit *circuit = small_circuit();
    qml_pauli_sum *observable = NULL;
    assert_ok(qml_pauli_sum_parse(&observable, 3, "Z1"));
    qml_landscape_options options = QML_LANDSCAPE_OPTIONS_INIT;
    options.samples = 9;
    options.params = QML_PARAMS_ALL;
    qml_gradient_samples *p[3] = {NULL, NULL, NULL}, *left = NULL, *all = NULL;
    assert_ok(qml_gradient_samples_create(&p[0], circuit, observable, NULL, NULL, 0, &options, 0, 2));
    assert_ok(qml_gradient_samples_create(&p[1], circuit, observable, NULL, NULL, 0, &options, 2, 5));
    assert_ok(qml_gradient_samples_create(&p[2], circuit, observable, NULL, NULL, 0, &options, 7, 2));
    const qml_gradient_samples *first_two[2] = {p[1], p[0]};
    assert_ok(qml_gradient_samples_merge(&left, first_two, 2));
    /* A part that is not complete has no statistics yet. */
    qml_gradient_stats *stats = NULL;
    assert_status(qml_gradient_stats_from_samples(&stats, left), QML_ERR_NOT_APPLICABLE);
    assert_null(stats);
    const qml_gradient_samples *rest[2] = {p[2], left};
    assert_ok(qml_gradient_samples_merge(&all, rest, 2));
    qml_gradient_stats *whole = NULL;
    assert_ok(qml_gradient_stats_create(&whole, circuit, observable, NULL, NULL, 0, &options));
    assert_ok(qml_gradient_stats_from_samples(&stats, all));
    assert_stats_identical(whole, stats);
    qml_gradient_stats_free(stats);
    qml_gradient_stats_free(whole);
    qml_gradient_samples_free(all);
    qml_gradient_samples_free(left);
    for (int i = 0; i < 3; i++)
        qml_gradient_samples_free(p[i]);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
}

/* Batched gradients over rows: the documented recipe (rows [a, b) computed
 * per row with seed + a, concatenated, added in row order from zero) gives
 * the bits of QML_BATCH_SUM over all rows, exact and with shots, for every
 * split of 6 rows. */
static void test_batch_rows_merge(void **state)
{
    (void)state;
    enum { ROWS = 6, FEATURES = 2 };
    qml_circuit *circuit = NULL;
    assert_ok(qml_circuit_create(&circuit, 2));
    assert_ok(qml_ansatz_angle_encoding(circuit, QML_GATE_RY, FEATURES, 1.0));
    assert_ok(qml_ansatz_family_append(circuit, QML_ANSATZ_HEA, 1));
    qml_pauli_sum *observable = NULL;
    assert_ok(qml_pauli_sum_parse(&observable, 2, "Z0 Z1 + 0.3*X1"));
    const size_t n_weights = qml_circuit_n_weights(circuit);
    double weights[64], rows[ROWS * FEATURES];
    harness_rng rng = {5};
    for (size_t k = 0; k < n_weights; k++)
        weights[k] = 6.283 * harness_uniform(&rng);
    for (size_t i = 0; i < ROWS * FEATURES; i++)
        rows[i] = 2.0 * harness_uniform(&rng) - 1.0;
    for (int shots = 0; shots <= 1; shots++) {
        qml_gradient_options options = QML_GRADIENT_OPTIONS_INIT;
        options.seed = 31;
        if (shots) {
            options.method = QML_GRADIENT_PARAMETER_SHIFT;
            options.shots = 64;
        }
        double sum[64];
        assert_ok(qml_gradient_batch(circuit, observable, NULL, weights, n_weights, rows, ROWS, FEATURES, &options,
                                     QML_BATCH_SUM, NULL, sum));
        for (unsigned cuts = 0; cuts < (1u << (ROWS - 1)); cuts++) {
            double per_row[ROWS * 64];
            size_t first = 0;
            for (size_t r = 1; r <= ROWS; r++) {
                if (r == ROWS || (cuts >> (r - 1)) & 1u) {
                    qml_gradient_options part = options;
                    part.seed = options.seed + first;
                    assert_ok(qml_gradient_batch(circuit, observable, NULL, weights, n_weights, rows + first * FEATURES,
                                                 r - first, FEATURES, &part, QML_BATCH_PER_ROW, NULL,
                                                 per_row + first * n_weights));
                    first = r;
                }
            }
            for (size_t k = 0; k < n_weights; k++) {
                double total = 0.0;
                for (size_t r = 0; r < ROWS; r++)
                    total += per_row[r * n_weights + k];
                if (!same_bits(total, sum[k]))
                    fail_msg("shots %d, cuts %#x, weight %zu: %.17g vs %.17g", shots, cuts, k, total, sum[k]);
            }
        }
    }
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
}

/* Rows of two scans equal except for their wall-clock seconds. */
static void assert_scans_identical(const qml_bp_scan *a, const qml_bp_scan *b)
{
    assert_int_equal(qml_bp_scan_n_rows(a), qml_bp_scan_n_rows(b));
    for (size_t r = 0; r < qml_bp_scan_n_rows(a); r++) {
        qml_bp_row x = QML_BP_ROW_INIT, y = QML_BP_ROW_INIT;
        assert_ok(qml_bp_scan_row(a, r, &x));
        assert_ok(qml_bp_scan_row(b, r, &y));
        assert_int_equal(x.n_qubits, y.n_qubits);
        assert_int_equal(x.layers, y.layers);
        assert_int_equal(x.samples, y.samples);
        assert_int_equal(x.n_params, y.n_params);
        assert_int_equal(x.dim_g, y.dim_g);
        assert_int_equal(x.dim_g_capped, y.dim_g_capped);
        if (!same_bits(x.var_measured, y.var_measured) || !same_bits(x.var_stderr, y.var_stderr) ||
            !same_bits(x.var_predicted, y.var_predicted))
            fail_msg("row %zu: (%.17g, %.17g, %.17g) vs (%.17g, %.17g, %.17g)", r, x.var_measured, x.var_stderr,
                     x.var_predicted, y.var_measured, y.var_stderr, y.var_predicted);
    }
    qml_bp_fit fa = QML_BP_FIT_INIT, fb = QML_BP_FIT_INIT;
    int sa = qml_bp_scan_fit(a, &fa), sb = qml_bp_scan_fit(b, &fb);
    assert_int_equal(sa, sb);
    if (sa == QML_OK) {
        assert_int_equal(fa.model, fb.model);
        assert_true(same_bits(fa.rate, fb.rate) && same_bits(fa.rate_stderr, fb.rate_stderr));
    }
}

static qml_bp_scan *scan_through_bytes(const qml_bp_scan *scan)
{
    size_t length = 0;
    assert_status(qml_bp_scan_serialize(scan, NULL, 0, &length), QML_ERR_OUT_OF_RANGE);
    unsigned char *bytes = malloc(length);
    assert_non_null(bytes);
    assert_ok(qml_bp_scan_serialize(scan, bytes, length, &length));
    qml_bp_scan *copy = NULL;
    assert_ok(qml_bp_scan_deserialize(&copy, bytes, length));
    free(bytes);
    return copy;
}

/* A scan that kept its rows' algebras, through bytes and merged: the rows
 * survive, the algebras stay with the process that closed them. */
static void test_scan_algebras_stay_local(void **state)
{
    (void)state;
    qml_bp_scan_options scan_options = QML_BP_SCAN_OPTIONS_INIT;
    scan_options.n_min = 2;
    scan_options.n_max = 3;
    scan_options.layers = 2;
    scan_options.max_dim = 300;
    scan_options.keep_algebras = 1;
    qml_landscape_options stats = QML_LANDSCAPE_OPTIONS_INIT;
    stats.samples = 4;
    qml_bp_scan *whole = NULL;
    assert_ok(qml_bp_scan_family(&whole, QML_ANSATZ_TFIM, &scan_options, &stats));
    const qml_lie_algebra *kept = NULL;
    assert_ok(qml_bp_scan_row_algebra(whole, 1, &kept));
    assert_int_equal(qml_lie_algebra_dim(kept), 15); /* so(6) */
    qml_bp_scan *copy = scan_through_bytes(whole);
    qml_bp_row row = {.size = sizeof row};
    assert_ok(qml_bp_scan_row(copy, 1, &row));
    assert_int_equal(row.dim_g, 15);
    assert_status(qml_bp_scan_row_algebra(copy, 1, &kept), QML_ERR_NOT_APPLICABLE);
    assert_null(kept);
    /* two parts: the one holding sample 0 keeps the algebras, the merge not */
    qml_bp_scan *parts[2] = {NULL, NULL}, *merged = NULL;
    assert_ok(qml_bp_scan_family_part(&parts[0], QML_ANSATZ_TFIM, &scan_options, &stats, 0, 2));
    assert_ok(qml_bp_scan_family_part(&parts[1], QML_ANSATZ_TFIM, &scan_options, &stats, 2, 2));
    assert_ok(qml_bp_scan_row_algebra(parts[0], 1, &kept));
    assert_int_equal(qml_lie_algebra_dim(kept), 15);
    assert_status(qml_bp_scan_row_algebra(parts[1], 1, &kept), QML_ERR_NOT_APPLICABLE);
    assert_ok(qml_bp_scan_merge(&merged, (const qml_bp_scan *const *)parts, 2));
    assert_ok(qml_bp_scan_row(merged, 1, &row));
    assert_int_equal(row.dim_g, 15);
    assert_status(qml_bp_scan_row_algebra(merged, 1, &kept), QML_ERR_NOT_APPLICABLE);
    qml_bp_scan_free(merged);
    qml_bp_scan_free(parts[0]);
    qml_bp_scan_free(parts[1]);
    qml_bp_scan_free(copy);
    qml_bp_scan_free(whole);
}

/* A scan (n = 2..4, DLA and predictions on) dealt to 1..7 "ranks" the way
 * an MPI program deals it (rank r takes samples [r S / P, (r + 1) S / P)),
 * each part through bytes, merged: the rows and the fit of one call. */
static void test_scan_split_over_ranks(void **state)
{
    (void)state;
    qml_bp_scan_options scan_options = QML_BP_SCAN_OPTIONS_INIT;
    scan_options.n_min = 2;
    scan_options.n_max = 4;
    scan_options.layers = 2;
    scan_options.max_dim = 300;
    qml_landscape_options stats = QML_LANDSCAPE_OPTIONS_INIT;
    stats.samples = 11;
    stats.seed = 77;
    qml_bp_scan *whole = NULL;
    assert_ok(qml_bp_scan_family(&whole, QML_ANSATZ_HEA, &scan_options, &stats));
    for (size_t ranks = 1; ranks <= 7; ranks++) {
        qml_bp_scan *parts[7];
        const qml_bp_scan *order[7];
        for (size_t r = 0; r < ranks; r++) {
            size_t first = r * stats.samples / ranks, last = (r + 1) * stats.samples / ranks;
            qml_bp_scan *part = NULL;
            assert_ok(qml_bp_scan_family_part(&part, QML_ANSATZ_HEA, &scan_options, &stats, first, last - first));
            parts[r] = scan_through_bytes(part);
            qml_bp_scan_free(part);
        }
        /* Merge in a scrambled order: rank r goes to slot (5 r + 1) mod P,
         * a permutation whenever 5 does not divide P. */
        for (size_t r = 0; r < ranks; r++)
            order[r] = parts[r];
        if (ranks % 5 != 0)
            for (size_t r = 0; r < ranks; r++)
                order[(r * 5 + 1) % ranks] = parts[r];
        qml_bp_scan *merged = NULL;
        assert_ok(qml_bp_scan_merge(&merged, order, ranks));
        assert_scans_identical(whole, merged);
        qml_bp_scan *copy = scan_through_bytes(merged);
        assert_scans_identical(whole, copy);
        qml_bp_scan_free(copy);
        qml_bp_scan_free(merged);
        for (size_t r = 0; r < ranks; r++)
            qml_bp_scan_free(parts[r]);
    }
    qml_bp_scan_free(whole);
}

/* (row, sample range) pieces dealt the way qml-mpi bp deals them: the
 * (row, sample) pairs of the scan in row order, P contiguous shares of
 * them; a share that spans rows is one piece per row, merged on its "rank"
 * (rows it does not touch stay empty), sent as bytes, and the ranks' scans
 * merged: bitwise the rows and the fit of one call, for P = 1..19 ranks
 * (more ranks than rows and than samples of a row: 3 rows of S = 5). */
static void test_scan_pieces_over_more_ranks_than_samples(void **state)
{
    (void)state;
    qml_bp_scan_options scan_options = QML_BP_SCAN_OPTIONS_INIT;
    scan_options.n_min = 2;
    scan_options.n_max = 4;
    scan_options.layers = 2;
    scan_options.max_dim = 300;
    qml_landscape_options stats = QML_LANDSCAPE_OPTIONS_INIT;
    stats.samples = 5;
    stats.seed = 91;
    const size_t rows = 3, total = rows * stats.samples;
    qml_bp_scan *whole = NULL;
    assert_ok(qml_bp_scan_family(&whole, QML_ANSATZ_HEA, &scan_options, &stats));
    for (size_t ranks = 1; ranks <= 19; ranks++) {
        qml_bp_scan *of_rank[19];
        size_t n_ranks_with_work = 0;
        for (size_t r = 0; r < ranks; r++) {
            size_t lo = r * total / ranks, hi = (r + 1) * total / ranks;
            qml_bp_scan *pieces[3];
            size_t n_pieces = 0;
            for (size_t at = lo; at < hi;) {
                size_t row = at / stats.samples, first = at % stats.samples;
                size_t end = (row + 1) * stats.samples < hi ? (row + 1) * stats.samples : hi;
                qml_bp_scan *piece = NULL;
                assert_ok(qml_bp_scan_family_piece(&piece, QML_ANSATZ_HEA, &scan_options, &stats, row, first,
                                                   end - at));
                pieces[n_pieces++] = piece;
                at = end;
            }
            if (n_pieces == 0)
                continue; /* a rank without work sends nothing */
            qml_bp_scan *local = NULL;
            assert_ok(qml_bp_scan_merge(&local, (const qml_bp_scan *const *)pieces, n_pieces));
            for (size_t i = 0; i < n_pieces; i++)
                qml_bp_scan_free(pieces[i]);
            of_rank[n_ranks_with_work++] = scan_through_bytes(local);
            qml_bp_scan_free(local);
        }
        qml_bp_scan *merged = NULL;
        assert_ok(qml_bp_scan_merge(&merged, (const qml_bp_scan *const *)of_rank, n_ranks_with_work));
        assert_scans_identical(whole, merged);
        for (size_t r = 0; r < n_ranks_with_work; r++)
            qml_bp_scan_free(of_rank[r]);
        qml_bp_scan_free(merged);
    }
    qml_bp_scan_free(whole);

    /* A piece alone: its row holds its samples, the others none; no fit;
     * pieces that overlap on a row, a row past the last and an empty range
     * are refused. */
    qml_bp_scan *piece = NULL, *again = NULL, *out = NULL;
    assert_ok(qml_bp_scan_family_piece(&piece, QML_ANSATZ_HEA, &scan_options, &stats, 1, 0, 3));
    qml_bp_row row = QML_BP_ROW_INIT;
    assert_ok(qml_bp_scan_row(piece, 1, &row));
    assert_int_equal(row.samples, 3);
    assert_true(row.dim_g > 0);
    assert_ok(qml_bp_scan_row(piece, 2, &row));
    assert_int_equal(row.samples, 0);
    assert_int_equal(row.n_qubits, 4);
    assert_true(isnan(row.var_measured));
    qml_bp_fit fit = QML_BP_FIT_INIT;
    assert_status(qml_bp_scan_fit(piece, &fit), QML_ERR_NOT_APPLICABLE);
    assert_ok(qml_bp_scan_family_piece(&again, QML_ANSATZ_HEA, &scan_options, &stats, 1, 2, 3));
    const qml_bp_scan *overlap[2] = {piece, again};
    assert_status(qml_bp_scan_merge(&out, overlap, 2), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_bp_scan_family_piece(&out, QML_ANSATZ_HEA, &scan_options, &stats, 3, 0, 1),
                  QML_ERR_OUT_OF_RANGE);
    assert_status(qml_bp_scan_family_piece(&out, QML_ANSATZ_HEA, &scan_options, &stats, 0, 5, 1),
                  QML_ERR_OUT_OF_RANGE);
    assert_null(out);
    qml_bp_scan_free(piece);
    qml_bp_scan_free(again);
}

/* Pieces of a generator scan (one row per depth of a list) merge to the
 * scan of one call. */
static void test_generator_pieces(void **state)
{
    (void)state;
    qml_pauli_sum *g[2] = {NULL, NULL};
    assert_ok(qml_pauli_sum_parse(&g[0], 3, "X0 + X1 + X2"));
    assert_ok(qml_pauli_sum_parse(&g[1], 3, "Z0 Z1 + Z1 Z2"));
    const unsigned depths[2] = {2, 5};
    qml_bp_scan_options scan_options = QML_BP_SCAN_OPTIONS_INIT;
    scan_options.n_min = scan_options.n_max = 3;
    scan_options.depth = QML_BP_DEPTH_LIST;
    scan_options.depths = depths;
    scan_options.n_depths = 2;
    scan_options.max_dim = 100;
    qml_landscape_options stats = QML_LANDSCAPE_OPTIONS_INIT;
    stats.samples = 6;
    stats.seed = 5;
    qml_bp_scan *whole = NULL, *pieces[4] = {NULL}, *merged = NULL;
    const qml_pauli_sum *const *gens = (const qml_pauli_sum *const *)g;
    assert_ok(qml_bp_scan_generators(&whole, gens, 2, NULL, &scan_options, &stats));
    /* Row 0 in two pieces, row 1 in two others; merged in a scrambled order. */
    assert_ok(qml_bp_scan_generators_piece(&pieces[2], gens, 2, NULL, &scan_options, &stats, 0, 0, 4));
    assert_ok(qml_bp_scan_generators_piece(&pieces[0], gens, 2, NULL, &scan_options, &stats, 0, 4, 2));
    assert_ok(qml_bp_scan_generators_piece(&pieces[3], gens, 2, NULL, &scan_options, &stats, 1, 0, 1));
    assert_ok(qml_bp_scan_generators_piece(&pieces[1], gens, 2, NULL, &scan_options, &stats, 1, 1, 5));
    assert_ok(qml_bp_scan_merge(&merged, (const qml_bp_scan *const *)pieces, 4));
    assert_scans_identical(whole, merged);
    for (int i = 0; i < 4; i++)
        qml_bp_scan_free(pieces[i]);
    qml_bp_scan_free(merged);
    qml_bp_scan_free(whole);
    qml_pauli_sum_free(g[0]);
    qml_pauli_sum_free(g[1]);
}

/* Parts of different estimates, gaps, overlaps and incomplete scans are
 * refused with a message that names the problem. */
static void test_merge_refuses_what_does_not_fit(void **state)
{
    (void)state;
    qml_circuit *circuit = small_circuit();
    qml_pauli_sum *observable = NULL, *other = NULL;
    assert_ok(qml_pauli_sum_parse(&observable, 3, "Z0"));
    assert_ok(qml_pauli_sum_parse(&other, 3, "Z1"));
    qml_landscape_options options = QML_LANDSCAPE_OPTIONS_INIT;
    options.samples = 6;
    qml_gradient_samples *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *out = NULL;
    assert_ok(qml_gradient_samples_create(&a, circuit, observable, NULL, NULL, 0, &options, 0, 3));
    assert_ok(qml_gradient_samples_create(&b, circuit, observable, NULL, NULL, 0, &options, 4, 2));
    assert_ok(qml_gradient_samples_create(&c, circuit, observable, NULL, NULL, 0, &options, 2, 4));
    assert_ok(qml_gradient_samples_create(&d, circuit, other, NULL, NULL, 0, &options, 3, 3));
    options.seed = 5;
    assert_ok(qml_gradient_samples_create(&e, circuit, observable, NULL, NULL, 0, &options, 3, 3));

    const qml_gradient_samples *gap[2] = {a, b};
    assert_status(qml_gradient_samples_merge(&out, gap, 2), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "a gap"));
    const qml_gradient_samples *overlap[2] = {a, c};
    assert_status(qml_gradient_samples_merge(&out, overlap, 2), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "an overlap"));
    const qml_gradient_samples *wrong_observable[2] = {a, d};
    assert_status(qml_gradient_samples_merge(&out, wrong_observable, 2), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "observable"));
    const qml_gradient_samples *wrong_seed[2] = {a, e};
    assert_status(qml_gradient_samples_merge(&out, wrong_seed, 2), QML_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(qml_last_error(), "seed"));
    const qml_gradient_samples *with_null[2] = {a, NULL};
    assert_status(qml_gradient_samples_merge(&out, with_null, 2), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_gradient_samples_merge(&out, gap, 0), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_gradient_samples_merge(NULL, gap, 2), QML_ERR_INVALID_ARGUMENT);
    assert_null(out);

    /* Ranges outside [0, S) or empty. */
    options.seed = 0;
    assert_status(qml_gradient_samples_create(&out, circuit, observable, NULL, NULL, 0, &options, 6, 1),
                  QML_ERR_OUT_OF_RANGE);
    assert_status(qml_gradient_samples_create(&out, circuit, observable, NULL, NULL, 0, &options, 2, 0),
                  QML_ERR_OUT_OF_RANGE);
    assert_status(qml_gradient_samples_create(&out, circuit, observable, NULL, NULL, 0, &options, 3, SIZE_MAX),
                  QML_ERR_OUT_OF_RANGE);
    assert_status(qml_gradient_samples_create(&out, NULL, observable, NULL, NULL, 0, &options, 0, 1),
                  QML_ERR_INVALID_ARGUMENT);
    assert_null(out);
    assert_status(qml_gradient_samples_range(NULL, NULL, NULL, NULL), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_gradient_samples_serialize(a, NULL, 8, NULL), QML_ERR_INVALID_ARGUMENT);

    /* Scans: a whole scan is not a part; partial rows have no fit yet. */
    qml_bp_scan_options scan_options = QML_BP_SCAN_OPTIONS_INIT;
    scan_options.n_min = 2;
    scan_options.n_max = 3;
    scan_options.layers = 1;
    qml_landscape_options stats = QML_LANDSCAPE_OPTIONS_INIT;
    stats.samples = 4;
    qml_bp_scan *whole = NULL, *part = NULL, *merged = NULL;
    assert_ok(qml_bp_scan_family(&whole, QML_ANSATZ_HEA, &scan_options, &stats));
    assert_ok(qml_bp_scan_family_part(&part, QML_ANSATZ_HEA, &scan_options, &stats, 1, 2));
    qml_bp_row row = QML_BP_ROW_INIT;
    assert_ok(qml_bp_scan_row(part, 0, &row));
    assert_true(isnan(row.var_measured));
    assert_int_equal(row.samples, 2);
    qml_bp_fit fit = QML_BP_FIT_INIT;
    assert_status(qml_bp_scan_fit(part, &fit), QML_ERR_NOT_APPLICABLE);
    const qml_bp_scan *not_parts[2] = {whole, part};
    assert_status(qml_bp_scan_merge(&merged, not_parts, 2), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_bp_scan_family_part(&merged, QML_ANSATZ_HEA, &scan_options, &stats, 4, 1),
                  QML_ERR_OUT_OF_RANGE);
    scan_options.n_max = 4;
    qml_bp_scan *taller = NULL;
    assert_ok(qml_bp_scan_family_part(&taller, QML_ANSATZ_HEA, &scan_options, &stats, 0, 1));
    const qml_bp_scan *different[2] = {taller, part};
    assert_status(qml_bp_scan_merge(&merged, different, 2), QML_ERR_INVALID_ARGUMENT);
    assert_null(merged);
    qml_bp_scan_free(taller);
    qml_bp_scan_free(part);
    qml_bp_scan_free(whole);

    qml_gradient_samples_free(a);
    qml_gradient_samples_free(b);
    qml_gradient_samples_free(c);
    qml_gradient_samples_free(d);
    qml_gradient_samples_free(e);
    qml_pauli_sum_free(other);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
}

/* Bytes that are not a part: every truncation, every single corrupted byte
 * and random garbage give QML_ERR_PARSE or a valid part, never a crash, and
 * a forged huge count is refused before anything is allocated. */
static void test_bad_bytes_are_refused(void **state)
{
    (void)state;
    qml_circuit *circuit = small_circuit();
    qml_pauli_sum *observable = NULL;
    assert_ok(qml_pauli_sum_parse(&observable, 3, "Z0"));
    qml_landscape_options options = QML_LANDSCAPE_OPTIONS_INIT;
    options.samples = 5;
    options.params = QML_PARAMS_ALL;
    qml_gradient_samples *part = NULL;
    assert_ok(qml_gradient_samples_create(&part, circuit, observable, NULL, NULL, 0, &options, 1, 3));
    size_t length = 0;
    qml_gradient_samples_serialize(part, NULL, 0, &length);
    unsigned char *bytes = malloc(length), *work = malloc(length);
    assert_ok(qml_gradient_samples_serialize(part, bytes, length, &length));
    qml_gradient_samples *copy = NULL;
    for (size_t cut = 0; cut < length; cut++) {
        assert_status(qml_gradient_samples_deserialize(&copy, bytes, cut), QML_ERR_PARSE);
        assert_null(copy);
    }
    for (size_t i = 0; i < 96; i++) { /* every header byte */
        memcpy(work, bytes, length);
        work[i] ^= 0x41;
        int status = qml_gradient_samples_deserialize(&copy, work, length);
        assert_true(status == QML_ERR_PARSE || status == QML_OK);
        qml_gradient_samples_free(copy);
        copy = NULL;
    }
    /* A forged sample count of 2^60. */
    memcpy(work, bytes, length);
    uint64_t huge = (uint64_t)1 << 60, total = huge + 1;
    memcpy(work + 5 * 8, &huge, 8);
    memcpy(work + 3 * 8, &total, 8);
    assert_status(qml_gradient_samples_deserialize(&copy, work, length), QML_ERR_PARSE);
    harness_rng rng = {99};
    for (int trial = 0; trial < 2000; trial++) {
        size_t n = (size_t)(harness_next(&rng) % length) + 1;
        for (size_t i = 0; i < n; i++)
            work[i] = (unsigned char)harness_next(&rng);
        if (trial % 2) /* keep a valid header some of the time */
            memcpy(work, bytes, n < 24 ? n : 24);
        int status = qml_gradient_samples_deserialize(&copy, work, n);
        assert_true(status == QML_ERR_PARSE || status == QML_OK);
        qml_gradient_samples_free(copy);
        copy = NULL;
        qml_bp_scan *scan = NULL;
        status = qml_bp_scan_deserialize(&scan, work, n);
        assert_true(status == QML_ERR_PARSE || status == QML_OK);
        qml_bp_scan_free(scan);
    }
    assert_status(qml_gradient_samples_deserialize(NULL, bytes, length), QML_ERR_INVALID_ARGUMENT);
    assert_status(qml_gradient_samples_deserialize(&copy, NULL, length), QML_ERR_INVALID_ARGUMENT);
    free(work);
    free(bytes);
    qml_gradient_samples_free(part);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
}

/* Allocation failures anywhere in create, serialise, read, merge and the
 * statistics, for estimates and for scans: the right status, no leak. */
static int samples_sequence(void *context)
{
    (void)context;
    qml_circuit *circuit = NULL;
    qml_pauli_sum *observable = NULL;
    qml_gradient_samples *a = NULL, *b = NULL, *read = NULL, *merged = NULL;
    qml_gradient_stats *stats = NULL;
    unsigned char *bytes = NULL;
    qml_bp_scan *p = NULL, *q = NULL, *scan = NULL, *scan_read = NULL;
    int status = qml_circuit_create(&circuit, 2);
    if (!status)
        status = qml_ansatz_family_append(circuit, QML_ANSATZ_HEA, 1);
    if (!status)
        status = qml_pauli_sum_parse(&observable, 2, "Z0");
    qml_landscape_options options = QML_LANDSCAPE_OPTIONS_INIT;
    options.samples = 4;
    options.params = QML_PARAMS_ALL;
    if (!status)
        status = qml_gradient_samples_create(&a, circuit, observable, NULL, NULL, 0, &options, 0, 2);
    if (!status)
        status = qml_gradient_samples_create(&b, circuit, observable, NULL, NULL, 0, &options, 2, 2);
    size_t length = 0;
    if (!status) {
        qml_gradient_samples_serialize(b, NULL, 0, &length);
        bytes = malloc(length);
        status = bytes ? qml_gradient_samples_serialize(b, bytes, length, &length) : QML_ERR_INVALID_ARGUMENT;
    }
    if (!status)
        status = qml_gradient_samples_deserialize(&read, bytes, length);
    if (!status) {
        const qml_gradient_samples *parts[2] = {read, a};
        status = qml_gradient_samples_merge(&merged, parts, 2);
    }
    if (!status)
        status = qml_gradient_stats_from_samples(&stats, merged);
    qml_bp_scan_options scan_options = QML_BP_SCAN_OPTIONS_INIT;
    scan_options.n_min = 2;
    scan_options.n_max = 2;
    scan_options.layers = 1;
    scan_options.max_dim = 20;
    qml_landscape_options scan_stats = QML_LANDSCAPE_OPTIONS_INIT;
    scan_stats.samples = 3;
    if (!status)
        status = qml_bp_scan_family_part(&p, QML_ANSATZ_HEA, &scan_options, &scan_stats, 0, 1);
    if (!status)
        status = qml_bp_scan_family_part(&q, QML_ANSATZ_HEA, &scan_options, &scan_stats, 1, 2);
    if (!status) {
        const qml_bp_scan *parts[2] = {q, p};
        status = qml_bp_scan_merge(&scan, parts, 2);
    }
    qml_bp_scan *piece = NULL, *pieces_merged = NULL;
    if (!status)
        status = qml_bp_scan_family_piece(&piece, QML_ANSATZ_HEA, &scan_options, &scan_stats, 0, 0, 3);
    if (!status) {
        const qml_bp_scan *one[1] = {piece};
        status = qml_bp_scan_merge(&pieces_merged, one, 1);
    }
    qml_bp_scan_free(pieces_merged);
    qml_bp_scan_free(piece);
    if (!status) {
        free(bytes);
        qml_bp_scan_serialize(scan, NULL, 0, &length);
        bytes = malloc(length);
        status = bytes ? qml_bp_scan_serialize(scan, bytes, length, &length) : QML_ERR_INVALID_ARGUMENT;
    }
    if (!status)
        status = qml_bp_scan_deserialize(&scan_read, bytes, length);
    free(bytes);
    qml_bp_scan_free(scan_read);
    qml_bp_scan_free(scan);
    qml_bp_scan_free(q);
    qml_bp_scan_free(p);
    qml_gradient_stats_free(stats);
    qml_gradient_samples_free(merged);
    qml_gradient_samples_free(read);
    qml_gradient_samples_free(b);
    qml_gradient_samples_free(a);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
    return status;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    assert_int_equal(samples_sequence(NULL), QML_OK);
    int runs = harness_check_allocation_failures(samples_sequence, NULL);
    assert_true(runs > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split_merges_to_the_same_bits),
        cmocka_unit_test(test_merges_nest),
        cmocka_unit_test(test_batch_rows_merge),
        cmocka_unit_test(test_scan_algebras_stay_local),
        cmocka_unit_test(test_scan_split_over_ranks),
        cmocka_unit_test(test_scan_pieces_over_more_ranks_than_samples),
        cmocka_unit_test(test_generator_pieces),
        cmocka_unit_test(test_merge_refuses_what_does_not_fit),
        cmocka_unit_test(test_bad_bytes_are_refused),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

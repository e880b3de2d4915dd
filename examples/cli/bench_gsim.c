/*
 * bench_gsim.c: `qml bench gsim [--quick] [--json]`: the algebraic backends
 * (docs/gsim.md). Medians of three repeats, ratios measured in the same run:
 *   1. the free-fermion chain (TFIM family: RZZ on open bonds, RX on every
 *      qubit, local weights; readout Z0 Z1; DLA so(2n)) at n = 100 and 200,
 *      L = 100: one qml_gradient call (closing the module, value, every
 *      weight's derivative) on g-sim, and the process's peak memory;
 *   2. the permutation model at n = 100, L = 100 (symmetric backend);
 *   3. g-sim against the statevector on the same circuit at n = 20;
 *   4. a gradient-variance scan at n = 50, 100, 200 (1000 draws each; a
 *      random-matching free-fermion circuit of L = 4 ceil(log2 2n) layers:
 *      a mode's light cone doubles per layer, so each half of the circuit
 *      around the middle gate covers the 2n modes twice over)
 *      against lie.c's Ragone / Fontana predictions for so(2n), readout
 *      Z0, state |0...0> (they equal Var[l] = 1/(2n - 1) and
 *      Var[dl/dw_middle] = 4 (n - 1) / (n (2n - 1)^2)); the time lie.c takes
 *      to close so(2n) is printed apart from the scan's.
 * 3b. a Heisenberg chain (Pauli-sum generators) at n = 10, with and without
 *      fixed Clifford gates, on g-sim and on the statevector.
 */
#include "cli.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define TWO_PI 6.283185307179586476925

static double peak_mib(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage))
        return NAN;
    return (double)usage.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

/* Median seconds of three qml_gradient calls (value and every weight), and
 * (cpu non-NULL) the median CPU seconds of the process over each call. */
static int time_gradient_cpu(const qml_circuit *c, const qml_pauli_sum *o, qml_backend backend,
                             const double *features, size_t n_features, int repeats, double *seconds, double *value,
                             double *cpu)
{
    double cpu_times[3];
    size_t nw = qml_circuit_n_weights(c);
    double *w = malloc((nw + 1) * sizeof *w), *g = malloc((nw + 1) * sizeof *g), times[3];
    if (!w || !g) {
        free(w), free(g);
        return QML_ERR_OUT_OF_MEMORY;
    }
    qml_rng *rng = NULL;
    int status = qml_rng_create(&rng, 7, 0);
    for (size_t k = 0; k < nw && !status; k++)
        w[k] = TWO_PI * qml_rng_uniform(rng);
    qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
    opt.backend = backend;
    for (int r = 0; r < repeats && !status; r++) {
        double start = cli_seconds();
        clock_t cpu_start = clock();
        status = qml_gradient(c, o, NULL, w, nw, features, n_features, &opt, value, g, NULL);
        times[r] = cli_seconds() - start;
        cpu_times[r] = (double)(clock() - cpu_start) / CLOCKS_PER_SEC;
    }
    if (!status)
        *seconds = cli_median(times, repeats);
    if (!status && cpu)
        *cpu = cli_median(cpu_times, repeats);
    qml_rng_free(rng);
    free(w), free(g);
    return status;
}

static int time_gradient(const qml_circuit *c, const qml_pauli_sum *o, qml_backend backend, const double *features,
                         size_t n_features, int repeats, double *seconds, double *value)
{
    return time_gradient_cpu(c, o, backend, features, n_features, repeats, seconds, value, NULL);
}

static int free_fermion(unsigned n, unsigned layers, qml_circuit **c, qml_pauli_sum **o)
{
    int status = qml_circuit_create(c, n);
    if (!status)
        status = qml_ansatz_family_append(*c, QML_ANSATZ_TFIM, layers);
    if (!status)
        status = qml_pauli_sum_parse(o, n, "Z0 Z1");
    return status;
}

/* ---- the variance scan's circuit ---------------------------------------------------- */

static void majorana(unsigned a, unsigned n, char *s)
{
    unsigned q = a / 2;
    for (unsigned k = 0; k < n; k++)
        s[k] = k < q ? 'Z' : 'I';
    s[q] = a % 2 ? 'Y' : 'X';
    s[n] = '\0';
}

static char letter_product(char p, char r)
{
    int x = (p == 'X' || p == 'Y') ^ (r == 'X' || r == 'Y'), z = (p == 'Z' || p == 'Y') ^ (r == 'Z' || r == 'Y');
    return x ? (z ? 'Y' : 'X') : (z ? 'Z' : 'I');
}

/* L layers of rotations about i gamma_a gamma_b over a random perfect
 * matching of the 2n Majorana operators (library PRNG, stream 0 of seed 3). */
static int matching_circuit(unsigned n, unsigned layers, qml_circuit **out)
{
    char *a = malloc(n + 1), *b = malloc(n + 1);
    unsigned *perm = malloc(2 * (size_t)n * sizeof *perm);
    qml_rng *rng = NULL;
    qml_pauli_sum *g = NULL;
    int status = !a || !b || !perm ? QML_ERR_OUT_OF_MEMORY : qml_circuit_create(out, n);
    if (!status)
        status = qml_rng_create(&rng, 3, 0);
    long w = 0;
    for (unsigned l = 0; l < layers && !status; l++) {
        for (unsigned i = 0; i < 2 * n; i++)
            perm[i] = i;
        for (unsigned i = 2 * n - 1; i > 0; i--) {
            unsigned j = (unsigned)qml_rng_below(rng, i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (unsigned i = 0; i < n && !status; i++) {
            majorana(perm[2 * i], n, a);
            majorana(perm[2 * i + 1], n, b);
            for (unsigned k = 0; k < n; k++)
                a[k] = letter_product(a[k], b[k]);
            status = qml_pauli_sum_create(&g, n);
            if (!status)
                status = qml_pauli_sum_add_string(g, 1.0, a);
            if (!status)
                status = qml_circuit_add_pauli_rotation(*out, g, 0, w++, 1, QML_NONE, 0);
            qml_pauli_sum_free(g);
            g = NULL;
        }
    }
    qml_rng_free(rng);
    free(a), free(b), free(perm);
    return status;
}

/* ---- the benchmark --------------------------------------------------------------------- */

/* lie.c's Ragone / Fontana prediction for the matching circuit: its DLA is
 * so(2n), generated by the chain Z_q, X_q X_{q+1}. */
static int lie_prediction(const qml_circuit *c, const qml_pauli_sum *o, size_t weight, double *loss, double *gradient)
{
    unsigned n = qml_circuit_n_qubits(c);
    qml_pauli_sum **gens = calloc(2 * (size_t)n, sizeof *gens), *g = NULL;
    qml_lie_algebra *alg = NULL;
    size_t K = 0;
    int status = gens ? QML_OK : QML_ERR_OUT_OF_MEMORY;
    for (unsigned q = 0; q < n && !status; q++) {
        char text[48];
        snprintf(text, sizeof text, "Z%u", q);
        status = qml_pauli_sum_parse(&gens[K++], n, text);
        if (!status && q + 1 < n) {
            snprintf(text, sizeof text, "X%u X%u", q, q + 1);
            status = qml_pauli_sum_parse(&gens[K++], n, text);
        }
    }
    if (!status)
        status = qml_lie_algebra_create(&alg, (const qml_pauli_sum *const *)gens, K, NULL);
    if (!status)
        status = qml_circuit_weight_generator(c, (int64_t)weight, &g);
    qml_lie_prediction p = QML_LIE_PREDICTION_INIT;
    if (!status)
        status = qml_lie_algebra_predict_variance(alg, NULL, o, g, &p);
    if (!status) {
        *loss = p.loss_variance;
        *gradient = p.middle_gate_gradient_variance;
    }
    qml_pauli_sum_free(g);
    qml_lie_algebra_free(alg);
    for (size_t k = 0; k < K; k++)
        qml_pauli_sum_free(gens[k]);
    free(gens);
    return status;
}

/* A Heisenberg chain (n = 10, L = 10, local fields RZ) from |10...0>, read
 * out by the one-magnon projectors at both ends (module <= n^2), on g-sim's
 * Pauli-sum path and on the statevector; with `clifford`, every layer also
 * holds SWAP, iSWAP, CZ and S gates (they keep the one-magnon block, so the
 * module stays small), which g-sim applies as orthogonal matrices. */
static int heisenberg_row(int clifford, int json, const char *sep)
{
    const unsigned n = 10, L = 10;
    qml_circuit *c = NULL;
    qml_pauli_sum *o = NULL, *term = NULL;
    qml_statevec *init = NULL;
    int status = qml_circuit_create(&c, n);
    for (unsigned layer = 0; layer < L && !status; layer++) {
        status = qml_ansatz_family_append(c, QML_ANSATZ_HEISENBERG, 1);
        for (unsigned q = 0; q < n && !status; q++)
            status = qml_circuit_add_rotation(c, QML_GATE_RZ, &q, 1, 0.0, (long)qml_circuit_n_weights(c), 1.0,
                                              QML_NONE, 0);
        unsigned swap[2] = {0, 3}, iswap[2] = {5, 1}, cz[2] = {2, 7}, s = 4;
        if (clifford && !status)
            status = qml_circuit_add_gate(c, QML_GATE_SWAP, swap, 2);
        if (clifford && !status)
            status = qml_circuit_add_gate(c, QML_GATE_ISWAP, iswap, 2);
        if (clifford && !status)
            status = qml_circuit_add_gate(c, QML_GATE_CZ, cz, 2);
        if (clifford && !status)
            status = qml_circuit_add_gate(c, QML_GATE_S, &s, 1);
    }
    if (!status)
        status = qml_pauli_sum_create(&o, n);
    for (unsigned long mask = 0; mask < (1ul << n) && !status; mask++) {
        char text[128] = "1";
        size_t len = 0;
        double sign0 = 1, sign1 = 1;
        for (unsigned q = 0; q < n; q++)
            if (mask >> q & 1ul) {
                len += (size_t)snprintf(text + len, sizeof text - len, "Z%u ", q);
                sign0 = q == 0 ? -sign0 : sign0;
                sign1 = q == n - 1 ? -sign1 : sign1;
            }
        status = qml_pauli_sum_parse(&term, n, text);
        if (!status) /* |1><1|_0 |0..0><0..0| - 0.5 |1><1|_{n-1} |0..0><0..0| */
            status = qml_pauli_sum_add(o, (sign0 - 0.5 * sign1) / (double)(1ul << n), term);
        qml_pauli_sum_free(term);
        term = NULL;
    }
    if (!status)
        status = qml_statevec_create(&init, n);
    double *amp = status ? NULL : calloc(2u << n, sizeof *amp);
    if (!status && !amp)
        status = QML_ERR_OUT_OF_MEMORY;
    if (!status) {
        amp[2] = 1.0;
        status = qml_statevec_set_amplitudes(init, amp, (size_t)1 << n, 1e-12);
    }
    double dim = 0, t[2] = {0, 0}, val[2] = {0, 0};
    qml_backend chosen = QML_BACKEND_STATEVECTOR;
    if (!status)
        status = qml_backend_select(c, o, init, QML_BACKEND_GSIM, &chosen, &dim);
    size_t nw = qml_circuit_n_weights(c);
    double *w = status ? NULL : calloc(nw + 1, sizeof *w), *g = status ? NULL : calloc(nw + 1, sizeof *g);
    if (!status && (!w || !g))
        status = QML_ERR_OUT_OF_MEMORY;
    for (size_t k = 0; k < nw && !status; k++)
        w[k] = 0.37 * (double)k;
    for (int b = 0; b < 2 && !status; b++) {
        qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
        opt.backend = b ? QML_BACKEND_GSIM : QML_BACKEND_STATEVECTOR;
        double times[3];
        for (int r = 0; r < 3 && !status; r++) {
            double start = cli_seconds();
            status = qml_gradient(c, o, init, w, nw, NULL, 0, &opt, &val[b], g, NULL);
            times[r] = cli_seconds() - start;
        }
        if (!status)
            t[b] = cli_median(times, 3);
    }
    const char *name = clifford ? "heisenberg-clifford" : "heisenberg";
    if (!status) {
        if (json)
            printf("%s{\"case\":\"%s\",\"n\":%u,\"L\":%u,\"module\":%.0f,\"statevector_seconds\":%.6g,"
                   "\"gsim_seconds\":%.6g,\"ratio\":%.6g,\"value_difference\":%.3g}",
                   sep, name, n, L, dim, t[0], t[1], t[1] / t[0], fabs(val[0] - val[1]));
        else
            printf("Heisenberg chain n = %u, L = %u%s (one-magnon readout, Pauli-sum generators), g-sim module %.0f "
                   "elements: g-sim %.4f s per call (closure included), statevector %.4f s: g-sim/statevector "
                   "%.1fx (values differ by %.1e)\n",
                   n, L, clifford ? " with SWAP, iSWAP, CZ, S per layer" : "", dim, t[1], t[0], t[1] / t[0],
                   fabs(val[0] - val[1]));
    }
    free(w), free(g), free(amp);
    qml_statevec_free(init);
    qml_pauli_sum_free(o);
    qml_circuit_free(c);
    return status;
}

int bench_gsim(int argc, char **argv)
{
    int quick = 0, json = 0;
    unsigned threads = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (!cli_parse_unsigned(argv[++i], &threads))
                return cli_usage_error("bench gsim: --threads '%s' is not an integer", argv[i]);
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: qml bench gsim [--quick] [--json] [--threads T]\n"
                   "  g-sim and the symmetric backend: free-fermion chain n = 100, 200 (L = 100), the\n"
                   "  permutation model n = 100 (L = 100), g-sim / statevector at n = 20, a Heisenberg\n"
                   "  chain at n = 10 (Pauli-sum generators, with and without Clifford gates), and a\n"
                   "  gradient-variance scan at n = 50, 100, 200 against lie.c's prediction (1000\n"
                   "  draws; --quick: 200 draws, n = 50, 100; the scan uses T threads, default 1)\n");
            return 0;
        } else
            return cli_usage_error("bench gsim: unknown option '%s'", argv[i]);
    }
    if (json)
        printf("{\"benchmark\":\"gsim\",\"results\":[");
    int status = QML_OK;
    const char *sep = "";

    /* 1. free-fermion chain, n = 100 and 200, L = 100 */
    const unsigned ff_sizes[2] = {100, 200};
    for (int i = 0; i < (quick ? 1 : 2) && !status; i++) {
        unsigned n = ff_sizes[i], L = 100;
        qml_circuit *c = NULL;
        qml_pauli_sum *o = NULL;
        double seconds = 0, value = 0, dim = 0;
        qml_backend chosen;
        status = free_fermion(n, L, &c, &o);
        if (!status)
            status = qml_backend_select(c, o, NULL, QML_BACKEND_GSIM, &chosen, &dim);
        if (!status)
            status = time_gradient(c, o, QML_BACKEND_GSIM, NULL, 0, 3, &seconds, &value);
        if (!status) {
            if (json)
                printf("%s{\"case\":\"free-fermion\",\"n\":%u,\"L\":%u,\"weights\":%zu,\"dim\":%.0f,"
                       "\"seconds\":%.6g,\"peak_mib\":%.1f}",
                       sep, n, L, qml_circuit_n_weights(c), dim, seconds, peak_mib());
            else
                printf("free-fermion chain n = %u, L = %u (%zu weights), g-sim module %.0f strings: value + "
                       "gradient %.3f s (median of 3; includes closing the module); peak memory %.0f MiB\n",
                       n, L, qml_circuit_n_weights(c), dim, seconds, peak_mib());
            sep = ",";
        }
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }

    /* 2. the permutation model, n = 100, L = 100 */
    if (!status) {
        qml_model *m = NULL;
        double seconds = 0, call_cpu = 0, value = 0, x[2] = {0.3, -0.7};
        status = qml_model_create_template(&m, QML_MODEL_PERMUTATION, 100, 100, 2, QML_LOSS_MSE);
        if (!status)
            status = time_gradient_cpu(qml_model_circuit(m), qml_model_readout(m), QML_BACKEND_SYMMETRIC, x, 2, 3,
                                       &seconds, &value, &call_cpu);
        /* the same call on a prepared plan: a batch of 20 rows, per row */
        double per_row = 0, per_row_cpu = 0; /* wall and CPU (one thread: the same work) */
        if (!status) {
            size_t nw = qml_model_n_weights(m), rows = 20;
            double *w = calloc(nw, sizeof *w), *g = calloc(nw, sizeof *g), xs[40], v[20];
            for (size_t k = 0; k < nw; k++)
                w[k] = 0.01 * (double)k;
            for (size_t k = 0; k < 40; k++)
                xs[k] = 0.05 * (double)k;
            qml_gradient_options opt = QML_GRADIENT_OPTIONS_INIT;
            opt.backend = QML_BACKEND_SYMMETRIC;
            double times[3], cpu[3];
            for (int r = 0; r < 3 && !status; r++) {
                double start = cli_seconds();
                clock_t cpu_start = clock();
                status = qml_gradient_batch(qml_model_circuit(m), qml_model_readout(m), NULL, w, nw, xs, rows, 2,
                                            &opt, QML_BATCH_SUM, v, g);
                times[r] = (cli_seconds() - start) / (double)rows;
                cpu[r] = (double)(clock() - cpu_start) / CLOCKS_PER_SEC / (double)rows;
            }
            if (!status) {
                per_row = cli_median(times, 3);
                per_row_cpu = cli_median(cpu, 3);
            }
            free(w), free(g);
        }
        if (!status) {
            if (json)
                printf("%s{\"case\":\"permutation\",\"n\":100,\"L\":100,\"seconds\":%.6g,\"cpu_seconds\":%.6g,"
                       "\"batch_seconds_per_row\":%.6g,\"batch_cpu_seconds_per_row\":%.6g}",
                       sep, seconds, call_cpu, per_row, per_row_cpu);
            else
                printf("permutation model n = 100, L = 100, symmetric backend: value + gradient %.2f ms per call "
                       "(plan included; %.2f ms of CPU time), %.2f ms per row in a batch of 20 (%.2f ms of CPU time: "
                       "on a loaded machine the wall clock counts other jobs too)\n",
                       1e3 * seconds, 1e3 * call_cpu, 1e3 * per_row, 1e3 * per_row_cpu);
            sep = ",";
        }
        qml_model_free(m);
    }

    /* 3. g-sim against the statevector at n = 20 (free-fermion chain, L = 20) */
    if (!status) {
        qml_circuit *c = NULL;
        qml_pauli_sum *o = NULL;
        double t_sv = 0, t_g = 0, v_sv = 0, v_g = 0;
        status = free_fermion(20, 20, &c, &o);
        if (!status)
            status = time_gradient(c, o, QML_BACKEND_STATEVECTOR, NULL, 0, quick ? 1 : 3, &t_sv, &v_sv);
        if (!status)
            status = time_gradient(c, o, QML_BACKEND_GSIM, NULL, 0, 3, &t_g, &v_g);
        if (!status) {
            if (json)
                printf("%s{\"case\":\"gsim-vs-statevector\",\"n\":20,\"L\":20,\"statevector_seconds\":%.6g,"
                       "\"gsim_seconds\":%.6g,\"speedup\":%.6g,\"value_difference\":%.3g}",
                       sep, t_sv, t_g, t_sv / t_g, fabs(v_sv - v_g));
            else
                printf("n = 20, L = 20 free-fermion chain: statevector %.3f s, g-sim %.2f ms: %.0fx "
                       "(values differ by %.1e)\n",
                       t_sv, 1e3 * t_g, t_sv / t_g, fabs(v_sv - v_g));
            sep = ",";
        }
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }

    /* 3b. a Heisenberg chain through its bonds' adjoint matrices, and the
     * same chain with fixed Cliffords that keep the one-magnon block */
    for (int clifford = 0; clifford < 2 && !status; clifford++) {
        status = heisenberg_row(clifford, json, sep);
        sep = ",";
    }

    /* 4. the variance scan */
    const unsigned scan_sizes[3] = {50, 100, 200};
    size_t draws = quick ? 200 : 1000;
    double scan_start = cli_seconds();
    if (!json && !status)
        printf("%5s %4s %6s %12s %10s %12s %6s %14s %10s %14s %6s %8s %8s\n", "n", "L", "draws", "Var[l]", "SE",
               "lie.c", "z", "Var[dl/dw]", "SE", "lie.c", "z", "scan s", "lie.c s");
    for (int i = 0; i < (quick ? 2 : 3) && !status; i++) {
        unsigned n = scan_sizes[i];
        qml_circuit *c = NULL;
        qml_pauli_sum *o = NULL;
        qml_gradient_stats *s = NULL;
        double start = cli_seconds();
        unsigned layers = 4 * (unsigned)ceil(log2(2.0 * n));
        status = matching_circuit(n, layers, &c);
        if (!status)
            status = qml_pauli_sum_parse(&o, n, "Z0");
        qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
        lo.samples = draws;
        lo.seed = 11;
        lo.params = QML_PARAMS_MIDDLE;
        lo.backend = QML_BACKEND_GSIM;
        lo.n_threads = threads;
        if (!status)
            status = qml_gradient_stats_create(&s, c, o, NULL, NULL, 0, &lo);
        double vl = 0, sel = 0, vg = 0, seg = 0;
        if (!status)
            status = qml_gradient_stats_loss(s, NULL, NULL, &vl, &sel);
        if (!status)
            status = qml_gradient_stats_weight(s, qml_circuit_n_weights(c) / 2, NULL, NULL, &vg, &seg);
        double seconds = cli_seconds() - start;
        /* lie.c's prediction: the DLA so(2n) of the chain generators Z_q,
         * X_q X_{q+1} (the matching circuit's algebra), readout Z0, |0...0>,
         * the middle weight's generator. */
        double pl = 0, pg = 0, lie_start = cli_seconds();
        if (!status)
            status = lie_prediction(c, o, qml_circuit_n_weights(c) / 2, &pl, &pg);
        double lie_seconds = cli_seconds() - lie_start;
        if (!status) {
            if (json)
                printf("%s{\"case\":\"variance\",\"n\":%u,\"L\":%u,\"draws\":%zu,\"loss_variance\":%.6g,\"loss_se\":%.3g,"
                       "\"loss_prediction\":%.6g,\"gradient_variance\":%.6g,\"gradient_se\":%.3g,"
                       "\"gradient_prediction\":%.6g,\"seconds\":%.3f,\"prediction_seconds\":%.3f}",
                       sep, n, layers, draws, vl, sel, pl, vg, seg, pg, seconds, lie_seconds);
            else
                printf("%5u %4u %6zu %12.5e %10.2e %12.5e %6.2f %14.5e %10.2e %14.5e %6.2f %8.2f %8.2f\n", n, layers,
                       draws, vl, sel, pl, (vl - pl) / sel, vg, seg, pg, (vg - pg) / seg, seconds, lie_seconds);
            sep = ",";
        }
        qml_gradient_stats_free(s);
        qml_pauli_sum_free(o);
        qml_circuit_free(c);
    }
    if (!status && !json)
        printf("variance scan: %.1f s in total on %u thread(s)\n", cli_seconds() - scan_start, threads);
    if (json)
        printf("]}\n");
    if (status)
        return cli_fail("bench gsim", status);
    return 0;
}

/*
 * bench_grad.c: `qml bench grad [--quick] [--json]`: the cost of a gradient
 * in forward passes (adjoint and parameter shift) on the hardware-efficient
 * template and on an RY + CNOT ladder with the observable sum Z_i Z_i+1, and
 * batch throughput.
 */
#include "cli.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPEATS 9

/* The library's switch (lib/internal.h): false runs the adjoint over every
 * gate instead of the observable's light cone. */
extern bool qml__gradient_light_cone;

typedef struct grad_result {
    unsigned n, layers;
    size_t params;
    double forward_s, adjoint_s, shift_s;
    double gate_forward_s;           /* the forward pass gate by gate (no fused blocks) */
    double full_adjoint_s;           /* the adjoint running every gate (light cone off) */
    size_t shift_measured;           /* parameters the shift time was measured on */
} grad_result;

typedef struct batch_result {
    unsigned threads;
    double rows_per_second;
} batch_result;

/* Process CPU seconds: the single-threaded measurements below are CPU
 * time, so that their ratios do not move with the load of a shared machine
 * (the batch throughput, which is about threads, is wall-clock time). */
static double cpu_seconds(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

/* One forward pass gate by gate (one kernel sweep per gate, as before gate
 * fusion) plus expectation: the unit the adjoint's cost was first stated in. */
static int gate_by_gate_forward(qml_statevec *state, const qml_circuit *circuit, const double *weights, size_t p,
                                const qml_pauli_sum *observable, double *value)
{
    int status = qml_statevec_set_zero(state);
    for (size_t g = 0; g < qml_circuit_n_gates(circuit) && !status; g++)
        status = qml_statevec_apply_gate(state, circuit, g, weights, p, NULL, 0);
    return status ? status : qml_statevec_expectation(state, observable, value);
}

/* The same gate sequence as `source`, but only every `stride`-th weight-reading
 * gate keeps a (new, consecutive) weight; the others get their angle as a
 * constant (kept_weights gets the kept weights' values). Simulation cost is
 * unchanged; the parameter shift then differentiates only the kept gates,
 * spread evenly through the circuit. */
static int thinned_copy(const qml_circuit *source, const double *weights, size_t stride, qml_circuit **out,
                        double *kept_weights, size_t *kept)
{
    qml_circuit *copy = NULL;
    int status = qml_circuit_create(&copy, qml_circuit_n_qubits(source));
    long next = 0;
    size_t seen = 0;
    for (size_t g = 0; status == QML_OK && g < qml_circuit_n_gates(source); g++) {
        qml_gate_kind kind;
        unsigned qubits[3];
        size_t count;
        status = qml_circuit_gate(source, g, &kind, qubits, &count);
        if (status)
            break;
        if (kind < QML_GATE_RX || kind > QML_GATE_PHASE) {
            status = qml_circuit_add_gate(copy, kind, qubits, count);
            continue;
        }
        double constant, wscale, fscale;
        long weight, feature;
        status = qml_circuit_gate_angle(source, g, &constant, &weight, &wscale, &feature, &fscale);
        if (status)
            break;
        if (weight >= 0 && seen++ % stride == stride / 2) {
            kept_weights[next] = weights[weight];
            status = qml_circuit_add_rotation(copy, kind, qubits, count, constant, next++, wscale, QML_NONE, 0.0);
        } else
            status = qml_circuit_add_rotation(copy, kind, qubits, count,
                                              constant + (weight >= 0 ? wscale * weights[weight] : 0.0), QML_NONE,
                                              0.0, QML_NONE, 0.0);
    }
    if (status) {
        qml_circuit_free(copy);
        return status;
    }
    *out = copy;
    *kept = (size_t)next;
    return QML_OK;
}

/* The adjoint with the light cone switched off: every gate run (the cost of
 * the sweep itself). */
static int every_gate_adjoint(const qml_circuit *circuit, const qml_pauli_sum *observable, const double *weights,
                              size_t p, const qml_gradient_options *options, double *gradient, double *seconds)
{
    double value;
    qml__gradient_light_cone = false;
    double t0 = cpu_seconds();
    int status = qml_gradient(circuit, observable, NULL, weights, p, NULL, 0, options, &value, gradient, NULL);
    *seconds = cpu_seconds() - t0;
    qml__gradient_light_cone = true;
    return status;
}

static int measure_size(unsigned n, int repeats, grad_result *result)
{
    int status;
    qml_circuit *circuit = NULL, *thin = NULL;
    qml_pauli_sum *observable = NULL;
    qml_statevec *state = NULL, *scratch[2] = {NULL, NULL};
    qml_rng *rng = NULL;
    double *weights = NULL, *gradient = NULL, *thin_weights = NULL, *thin_gradient = NULL;
    memset(result, 0, sizeof *result);
    result->n = result->layers = n;
    if ((status = qml_circuit_create(&circuit, n)) ||
        (status = qml_ansatz_hardware_efficient(circuit, n, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN)) ||
        (status = qml_pauli_sum_parse(&observable, n, "Z0 Z1")) || (status = qml_statevec_create(&state, n)) ||
        (status = qml_statevec_create(&scratch[0], n)) || (status = qml_statevec_create(&scratch[1], n)) ||
        (status = qml_rng_create(&rng, 2024, n)))
        goto done;
    size_t p = qml_circuit_n_weights(circuit);
    result->params = p;
    weights = calloc(p, sizeof *weights);
    gradient = calloc(p, sizeof *gradient);
    thin_weights = calloc(p, sizeof *thin_weights);
    thin_gradient = calloc(p, sizeof *thin_gradient);
    if (!weights || !gradient || !thin_weights || !thin_gradient) {
        status = QML_ERR_OUT_OF_MEMORY;
        goto done;
    }
    for (size_t k = 0; k < p; k++)
        weights[k] = 6.283185307179586 * qml_rng_uniform(rng);

    /* One forward pass plus expectation, and adjoint value+gradient,
     * interleaved so that both see the same machine. Both work in states
     * allocated once outside the loop (the forward in `state`, the adjoint
     * in options.scratch), so neither pays for allocating and faulting in
     * memory. */
    double times[MAX_REPEATS], adjoint_times[MAX_REPEATS], gate_times[MAX_REPEATS], full_times[MAX_REPEATS];
    double value;
    qml_gradient_options options = QML_GRADIENT_OPTIONS_INIT;
    options.scratch[0] = scratch[0];
    options.scratch[1] = scratch[1];
    for (int r = 0; r < repeats; r++) {
        double g0 = cpu_seconds();
        if ((status = gate_by_gate_forward(state, circuit, weights, p, observable, &value)))
            goto done;
        gate_times[r] = cpu_seconds() - g0;
        double t0 = cpu_seconds();
        if ((status = qml_statevec_set_zero(state)) ||
            (status = qml_statevec_run(state, circuit, weights, p, NULL, 0)) ||
            (status = qml_statevec_expectation(state, observable, &value)))
            goto done;
        double t1 = cpu_seconds();
        if ((status = qml_gradient(circuit, observable, NULL, weights, p, NULL, 0, &options, &value, gradient, NULL)))
            goto done;
        times[r] = t1 - t0;
        adjoint_times[r] = cpu_seconds() - t1;
        if ((status = every_gate_adjoint(circuit, observable, weights, p, &options, gradient, &full_times[r])))
            goto done;
    }
    result->forward_s = cli_median(times, repeats);
    result->adjoint_s = cli_median(adjoint_times, repeats);
    result->full_adjoint_s = cli_median(full_times, repeats);
    result->gate_forward_s = cli_median(gate_times, repeats);

    /* Parameter shift costs ~P forward passes or more: beyond 16 qubits it is
     * measured on an evenly spread subset of the parameters and extrapolated
     * per parameter: full = forward + (subset - forward) * P / measured. */
    size_t stride = n <= 12 ? 1 : n <= 16 ? p / 32 : p / 12;
    if (stride < 1)
        stride = 1;
    size_t kept = 0;
    if ((status = thinned_copy(circuit, weights, stride, &thin, thin_weights, &kept)))
        goto done;
    options.method = QML_GRADIENT_PARAMETER_SHIFT;
    options.scratch[0] = options.scratch[1] = NULL;
    int shift_repeats = n >= 20 ? 1 : repeats;
    for (int r = 0; r < shift_repeats; r++) {
        double t0 = cpu_seconds();
        if ((status = qml_gradient(thin, observable, NULL, thin_weights, kept, NULL, 0, &options, &value,
                                   thin_gradient, NULL)))
            goto done;
        times[r] = cpu_seconds() - t0;
    }
    double subset = cli_median(times, shift_repeats);
    result->shift_measured = kept;
    result->shift_s = kept == p ? subset
                                : result->forward_s + (subset - result->forward_s) * (double)p / (double)kept;
done:
    free(weights);
    free(gradient);
    free(thin_weights);
    free(thin_gradient);
    qml_rng_free(rng);
    qml_statevec_free(state);
    qml_statevec_free(scratch[0]);
    qml_statevec_free(scratch[1]);
    qml_pauli_sum_free(observable);
    qml_circuit_free(thin);
    qml_circuit_free(circuit);
    return status;
}

/* Adjoint value+gradient over one forward pass + expectation on the RY +
 * CNOT ladder: `layers` layers of RY on every qubit then CNOT i -> i+1,
 * observable sum_i Z_i Z_i+1 (all terms diagonal: O|psi> is one pass). */
typedef struct ladder_result {
    unsigned n, layers;
    size_t params;
    double forward_s, adjoint_s;
    double gate_forward_s;           /* the forward pass gate by gate (no fused blocks) */
    double fresh_adjoint_s;          /* the adjoint allocating its two states in the call */
    double full_adjoint_s;           /* the adjoint running every gate (light cone off) */
} ladder_result;

static int measure_ladder(unsigned n, unsigned layers, int repeats, ladder_result *result)
{
    qml_circuit *circuit = NULL;
    qml_pauli_sum *observable = NULL;
    qml_statevec *state = NULL, *scratch[2] = {NULL, NULL};
    double *weights = NULL, *gradient = NULL;
    int status = qml_circuit_create(&circuit, n);
    int64_t w = 0;
    for (unsigned l = 0; l < layers && !status; l++) {
        for (unsigned q = 0; q < n && !status; q++)
            status = qml_circuit_add_rotation(circuit, QML_GATE_RY, &q, 1, 0.0, w++, 1.0, QML_NONE, 0.0);
        for (unsigned q = 0; q + 1 < n && !status; q++)
            status = qml_circuit_add_gate(circuit, QML_GATE_CNOT, (unsigned[]){q, q + 1}, 2);
    }
    if (!status)
        status = qml_pauli_sum_create(&observable, n);
    for (unsigned q = 0; q + 1 < n && !status; q++)
        status = qml_pauli_sum_add_term(observable, 1.0, "ZZ", (unsigned[]){q, q + 1}, 2);
    if (!status)
        status = qml_statevec_create(&state, n);
    for (int i = 0; i < 2 && !status; i++)
        status = qml_statevec_create(&scratch[i], n);
    if (status)
        goto done;
    size_t p = (size_t)w;
    weights = calloc(p, sizeof *weights);
    gradient = calloc(p, sizeof *gradient);
    if (!weights || !gradient) {
        status = QML_ERR_OUT_OF_MEMORY;
        goto done;
    }
    for (size_t k = 0; k < p; k++)
        weights[k] = 0.1 + 0.37 * (double)k;
    double times[MAX_REPEATS], adjoint_times[MAX_REPEATS], gate_times[MAX_REPEATS], fresh_times[MAX_REPEATS];
    double full_times[MAX_REPEATS], value;
    qml_gradient_options options = QML_GRADIENT_OPTIONS_INIT;
    options.scratch[0] = scratch[0];
    options.scratch[1] = scratch[1];
    for (int r = 0; r < repeats; r++) {
        double g0 = cpu_seconds();
        if ((status = gate_by_gate_forward(state, circuit, weights, p, observable, &value)))
            goto done;
        gate_times[r] = cpu_seconds() - g0;
        double t0 = cpu_seconds();
        if ((status = qml_statevec_set_zero(state)) ||
            (status = qml_statevec_run(state, circuit, weights, p, NULL, 0)) ||
            (status = qml_statevec_expectation(state, observable, &value)))
            goto done;
        double t1 = cpu_seconds();
        if ((status = qml_gradient(circuit, observable, NULL, weights, p, NULL, 0, &options, &value, gradient, NULL)))
            goto done;
        double t2 = cpu_seconds();
        if ((status = qml_gradient(circuit, observable, NULL, weights, p, NULL, 0, NULL, &value, gradient, NULL)))
            goto done;
        times[r] = t1 - t0;
        adjoint_times[r] = t2 - t1;
        fresh_times[r] = cpu_seconds() - t2;
        if ((status = every_gate_adjoint(circuit, observable, weights, p, &options, gradient, &full_times[r])))
            goto done;
    }
    result->full_adjoint_s = cli_median(full_times, repeats);
    result->n = n;
    result->layers = layers;
    result->params = p;
    result->forward_s = cli_median(times, repeats);
    result->adjoint_s = cli_median(adjoint_times, repeats);
    result->gate_forward_s = cli_median(gate_times, repeats);
    result->fresh_adjoint_s = cli_median(fresh_times, repeats);
done:
    free(weights);
    free(gradient);
    qml_statevec_free(state);
    qml_statevec_free(scratch[0]);
    qml_statevec_free(scratch[1]);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
    return status;
}

/* Value + summed weight gradient (adjoint) over `rows` rows at n = 8, L = 8,
 * with an RY angle encoding of 8 features in front of the ansatz. */
static int measure_batch(unsigned threads, size_t n_rows, int repeats, batch_result *result)
{
    const unsigned n = 8;
    int status;
    qml_circuit *circuit = NULL;
    qml_pauli_sum *observable = NULL;
    qml_rng *rng = NULL;
    double *weights = NULL, *rows = NULL, *values = NULL, *gradient = NULL;
    if ((status = qml_circuit_create(&circuit, n)) ||
        (status = qml_ansatz_angle_encoding(circuit, QML_GATE_RY, n, 1.0)) ||
        (status = qml_ansatz_hardware_efficient(circuit, n, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN)) ||
        (status = qml_pauli_sum_parse(&observable, n, "Z0")) || (status = qml_rng_create(&rng, 7, 0)))
        goto done;
    size_t p = qml_circuit_n_weights(circuit);
    weights = calloc(p, sizeof *weights);
    gradient = calloc(p, sizeof *gradient);
    rows = calloc(n_rows * n, sizeof *rows);
    values = calloc(n_rows, sizeof *values);
    if (!weights || !gradient || !rows || !values) {
        status = QML_ERR_OUT_OF_MEMORY;
        goto done;
    }
    for (size_t k = 0; k < p; k++)
        weights[k] = 6.283185307179586 * qml_rng_uniform(rng);
    for (size_t k = 0; k < n_rows * n; k++)
        rows[k] = 2.0 * qml_rng_uniform(rng) - 1.0;
    qml_gradient_options options = QML_GRADIENT_OPTIONS_INIT;
    options.n_threads = threads;
    double times[MAX_REPEATS];
    for (int r = 0; r < repeats; r++) {
        double t0 = cli_seconds();
        if ((status = qml_gradient_batch(circuit, observable, NULL, weights, p, rows, n_rows, n, &options,
                                         QML_BATCH_SUM, values, gradient)))
            goto done;
        times[r] = cli_seconds() - t0;
    }
    result->threads = threads;
    result->rows_per_second = (double)n_rows / cli_median(times, repeats);
done:
    free(weights);
    free(gradient);
    free(rows);
    free(values);
    qml_rng_free(rng);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
    return status;
}

int bench_grad(int argc, char **argv)
{
    bool quick = false, json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = true;
        else if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: qml bench grad [--quick] [--json]\n"
                   "  adjoint and parameter-shift value+gradient time over one forward pass plus\n"
                   "  expectation, hardware-efficient ansatz at n = 12, 16, 20 (--quick: 12, 16),\n"
                   "  L = n layers, O = Z0 Z1; adjoint on an RY + CNOT ladder, 10 layers, n = 20\n"
                   "  (--quick: 16), O = sum Z_i Z_i+1; batch rows/s at n = 8, L = 8 on 1 and 2\n"
                   "  threads (1000 rows; --quick: 200). Medians of repeats.\n");
            return 0;
        } else
            return cli_usage_error("bench grad: unknown option '%s'", argv[i]);
    }
    cli_idle_check idle;
    cli_idle_check_begin(&idle);
    const unsigned sizes[] = {12, 16, 20};
    const size_t n_sizes = quick ? 2 : 3;
    grad_result results[3];
    for (size_t i = 0; i < n_sizes; i++) {
        int repeats = sizes[i] >= 20 ? 3 : quick ? 3 : 5;
        int status = measure_size(sizes[i], repeats, &results[i]);
        if (status)
            return cli_fail("bench grad", status);
    }
    ladder_result ladder = {.n = 0};
    {
        int status = measure_ladder(quick ? 16 : 20, 10, quick ? 3 : 5, &ladder);
        if (status)
            return cli_fail("bench grad: ladder", status);
    }
    /* The same ladder at smaller sizes, where both states of the backward
     * stay in the caches (n = 16: 2 MiB, n = 18: 8 MiB, n = 20: 32 MiB):
     * how much of the ratio at n = 20 is the memory hierarchy. */
    const unsigned small_sizes[] = {16, 18};
    const size_t n_small = quick ? 0 : 2;
    ladder_result small[2];
    for (size_t i = 0; i < n_small; i++) {
        int status = measure_ladder(small_sizes[i], 10, 5, &small[i]);
        if (status)
            return cli_fail("bench grad: ladder", status);
    }
    const size_t n_rows = quick ? 200 : 1000;
    batch_result batch[2];
    for (unsigned t = 1; t <= 2; t++) {
        int status = measure_batch(t, n_rows, quick ? 3 : 5, &batch[t - 1]);
        if (status)
            return cli_fail("bench grad: batch", status);
    }
    cli_idle_check_end(&idle);

    if (json) {
        cli_json out;
        cli_json_begin(&out, stdout, "bench-grad", argc, argv);
        cli_json_kv_bool(&out, "quick", quick);
        cli_json_key(&out, "results");
        cli_json_array_begin(&out);
        for (size_t i = 0; i < n_sizes; i++) {
            const grad_result *r = &results[i];
            cli_json_object_begin(&out);
            cli_json_kv_u64(&out, "n", r->n);
            cli_json_kv_u64(&out, "layers", r->layers);
            cli_json_kv_u64(&out, "params", r->params);
            cli_json_kv_number(&out, "adjoint_over_forward", r->adjoint_s / r->forward_s);
            cli_json_kv_number(&out, "adjoint_over_gate_by_gate_forward", r->adjoint_s / r->gate_forward_s);
            cli_json_kv_number(&out, "every_gate_adjoint_over_forward", r->full_adjoint_s / r->forward_s);
            cli_json_kv_number(&out, "shift_over_forward", r->shift_s / r->forward_s);
            cli_json_kv_u64(&out, "shift_params_measured", r->shift_measured);
            cli_json_kv_number(&out, "forward_seconds", r->forward_s);
            cli_json_object_end(&out);
        }
        cli_json_array_end(&out);
        cli_json_key(&out, "ladder");
        cli_json_object_begin(&out);
        cli_json_kv_u64(&out, "n", ladder.n);
        cli_json_kv_u64(&out, "layers", ladder.layers);
        cli_json_kv_u64(&out, "params", ladder.params);
        cli_json_kv_string(&out, "observable", "sum Z_i Z_i+1");
        cli_json_kv_number(&out, "adjoint_over_forward", ladder.adjoint_s / ladder.forward_s);
        cli_json_kv_number(&out, "adjoint_over_gate_by_gate_forward", ladder.adjoint_s / ladder.gate_forward_s);
        cli_json_kv_number(&out, "allocating_adjoint_over_forward", ladder.fresh_adjoint_s / ladder.forward_s);
        cli_json_kv_number(&out, "every_gate_adjoint_over_forward", ladder.full_adjoint_s / ladder.forward_s);
        cli_json_kv_number(&out, "forward_seconds", ladder.forward_s);
        cli_json_object_end(&out);
        cli_json_key(&out, "ladder_smaller");
        cli_json_array_begin(&out);
        for (size_t i = 0; i < n_small; i++) {
            cli_json_object_begin(&out);
            cli_json_kv_u64(&out, "n", small[i].n);
            cli_json_kv_number(&out, "adjoint_over_forward", small[i].adjoint_s / small[i].forward_s);
            cli_json_kv_number(&out, "forward_seconds", small[i].forward_s);
            cli_json_object_end(&out);
        }
        cli_json_array_end(&out);
        cli_json_key(&out, "batch");
        cli_json_array_begin(&out);
        for (unsigned t = 0; t < 2; t++) {
            cli_json_object_begin(&out);
            cli_json_kv_u64(&out, "threads", batch[t].threads);
            cli_json_kv_number(&out, "rows_per_second", batch[t].rows_per_second);
            cli_json_object_end(&out);
        }
        cli_json_array_end(&out);
        cli_json_kv_u64(&out, "batch_rows", n_rows);
        cli_json_kv_number(&out, "batch_speedup", batch[1].rows_per_second / batch[0].rows_per_second);
        cli_json_idle_check(&out, &idle);
        cli_json_end(&out);
        return 0;
    }
    printf("gradient cost, hardware-efficient ansatz (RY RZ per qubit + open CZ ladder), L = n, O = Z0 Z1\n"
           "ratios of CPU time to one forward pass + expectation, one thread; medians of repeats\n\n");
    printf("%4s %6s %7s %12s %15s %11s %14s %s\n", "n", "layers", "params", "forward [s]", "adjoint/forward",
           "every gate", "shift/forward", "shift measured on");
    for (size_t i = 0; i < n_sizes; i++) {
        const grad_result *r = &results[i];
        char note[64];
        if (r->shift_measured == r->params)
            snprintf(note, sizeof note, "all %zu params", r->params);
        else
            snprintf(note, sizeof note, "%zu params, extrapolated", r->shift_measured);
        printf("%4u %6u %7zu %12.4g %15.2f %11.2f %14.1f %s\n", r->n, r->layers, r->params, r->forward_s,
               r->adjoint_s / r->forward_s, r->full_adjoint_s / r->forward_s, r->shift_s / r->forward_s, note);
    }
    printf("adjoint over the gate-by-gate forward pass:");
    for (size_t i = 0; i < n_sizes; i++)
        printf(" %.2f (n = %u)", results[i].adjoint_s / results[i].gate_forward_s, results[i].n);
    printf("\nforward = qml_statevec_run (fused blocks from 14 qubits on) + expectation; both the forward and\n"
           "the adjoint work in states allocated once (the adjoint through options.scratch). The gradient\n"
           "runs only the gates in the backward light cone of O = Z0 Z1; 'every gate' is the same call with\n"
           "that pruning switched off (the cost of the sweep itself)\n");
    printf("\ntarget: adjoint/forward <= 2.5 on this template\n\n");
    printf("RY + CNOT ladder, %u layers, n = %u, %zu params, O = sum Z_i Z_i+1: adjoint/forward %.2f "
           "(forward %.4g s; target <= 3); over the gate-by-gate forward %.2f; allocating its states in the "
           "call (no options.scratch) %.2f; every gate (the last CNOT ladder not folded into O) %.2f\n\n",
           ladder.layers, ladder.n, ladder.params, ladder.adjoint_s / ladder.forward_s, ladder.forward_s,
           ladder.adjoint_s / ladder.gate_forward_s, ladder.fresh_adjoint_s / ladder.forward_s,
           ladder.full_adjoint_s / ladder.forward_s);
    if (n_small) {
        printf("the same ladder where both states stay in the caches: adjoint/forward");
        for (size_t i = 0; i < n_small; i++)
            printf(" %.2f (n = %u)", small[i].adjoint_s / small[i].forward_s, small[i].n);
        printf("\n\n");
    }
    printf("batch value+gradient (adjoint, summed), n = 8, L = 8, %zu rows; wall-clock time\n", n_rows);
    printf("%8s %12s %8s\n", "threads", "rows/s", "speedup");
    for (unsigned t = 0; t < 2; t++)
        printf("%8u %12.1f %8.2f\n", batch[t].threads, batch[t].rows_per_second,
               batch[t].rows_per_second / batch[0].rows_per_second);
    printf("target: 2 threads >= 1.8x one\n");
    cli_print_idle_check(&idle);
    return 0;
}

/*
 * bench_bp.c: `qml bench bp [--quick] [--json]`: gradient-statistics samples
 * per second for the hardware-efficient ansatz (L = n, every weight, exact
 * adjoint gradients) at n = 10 and 16 on 1 and 2 threads, and the speed-up
 * of 2 threads over 1 measured in the same run. Medians of three repeats.
 */
#include "cli.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int measure(unsigned n, unsigned threads, size_t samples, double *rate);

int bench_bp(int argc, char **argv)
{
    int quick = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: qml bench bp [--quick] [--json]\n"
                   "  samples/s of gradient statistics: hardware-efficient ansatz, L = n, all weights,\n"
                   "  n = 10 and 16 (--quick: 10 only), 1 and 2 threads; medians of 3 repeats\n");
            return 0;
        } else
            return cli_usage_error("bench bp: unknown option '%s'", argv[i]);
    }
    const unsigned sizes[2] = {10, 16};
    const size_t n_sizes = quick ? 1 : 2;
    cli_json out;
    if (json) {
        cli_json_begin(&out, stdout, "bench-bp", argc, argv);
        cli_json_kv_bool(&out, "quick", quick);
        cli_json_key(&out, "results");
        cli_json_array_begin(&out);
    } else
        printf("%4s %4s %8s %8s %14s\n", "n", "L", "threads", "samples", "samples/s");
    for (size_t i = 0; i < n_sizes; i++) {
        unsigned n = sizes[i];
        /* Enough samples for ~0.3 s per repeat on one core at these sizes
         * (the cost grows as 2^n n^2 per sample). */
        size_t samples = n <= 10 ? (quick ? 200 : 400) : 8;
        double rate[2];
        for (unsigned t = 1; t <= 2; t++) {
            int status = measure(n, t, samples, &rate[t - 1]);
            if (status)
                return cli_fail("bench bp", status);
            if (json) {
                cli_json_object_begin(&out);
                cli_json_kv_u64(&out, "n", n);
                cli_json_kv_u64(&out, "layers", n);
                cli_json_kv_u64(&out, "threads", t);
                cli_json_kv_u64(&out, "samples", samples);
                cli_json_kv_number(&out, "samples_per_second", rate[t - 1]);
                cli_json_object_end(&out);
            } else
                printf("%4u %4u %8u %8zu %14.4g\n", n, n, t, samples, rate[t - 1]);
        }
        if (!json)
            printf("  n = %u: 2 threads / 1 thread = %.2fx\n", n, rate[1] / rate[0]);
    }
    if (json) {
        cli_json_array_end(&out);
        cli_json_end(&out);
    }
    return 0;
}

static int measure(unsigned n, unsigned threads, size_t samples, double *rate)
{
    qml_circuit *circuit = NULL;
    qml_pauli_sum *observable = NULL;
    int status = qml_circuit_create(&circuit, n);
    if (!status)
        status = qml_ansatz_hardware_efficient(circuit, n, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN);
    if (!status)
        status = qml_pauli_sum_parse(&observable, n, "Z0");
    qml_landscape_options options = QML_LANDSCAPE_OPTIONS_INIT;
    options.samples = samples;
    options.params = QML_PARAMS_ALL;
    options.n_threads = threads;
    double rates[3];
    for (int repeat = 0; repeat < 3 && !status; repeat++) {
        qml_gradient_stats *stats = NULL;
        double start = cli_seconds();
        status = qml_gradient_stats_create(&stats, circuit, observable, NULL, NULL, 0, &options);
        double elapsed = cli_seconds() - start;
        qml_gradient_stats_free(stats);
        rates[repeat] = (double)samples / (elapsed > 0 ? elapsed : 1e-9);
    }
    if (!status) {
        *rate = cli_median(rates, 3);
    }
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
    return status;
}

/*
 * bench_statevec.c: `qml bench [statevec] [--quick] [--json] [--threads-list 1,2]
 * [--sizes 16,20,24]`.
 * Times the statevector kernels (ns per gate, effective GB/s) and measures,
 * in the same run, the machine's in-place and read bandwidth, so that each
 * figure is reported as a ratio to a limit measured here and now.
 */
/* madvise(MADV_HUGEPAGE) is a Linux extension, hidden by _POSIX_C_SOURCE alone. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1
#endif
#include "cli.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define MAX_THREAD_COUNTS 8
#define LIMIT_BUFFER_BYTES ((size_t)512 << 20)

typedef struct result {
    const char *workload;
    unsigned n;
    unsigned threads;
    double ns_per_gate;
    double gbps;
    double ratio;                  /* to the in-place (gates) or read (expectation) limit */
} result;

/* ---- the machine's limits ------------------------------------------------ */

/* a[i] = s a[i] + t: read and write every element once, like a gate
 * (16 bytes per element). */
static double inplace_gbps(double *buffer, size_t count, int repeats)
{
    double times[16];
    for (int r = 0; r < repeats; r++) {
        double start = cli_seconds();
        double *restrict a = buffer;
        const double s = 0.999999, t = 1e-7;
        for (size_t i = 0; i < count; i++)
            a[i] = s * a[i] + t;
        times[r] = cli_seconds() - start;
    }
    return 16.0 * (double)count / cli_median(times, repeats) / 1e9;
}

/* A sum with eight accumulators (8 bytes per element), like an expectation. */
static double read_gbps(const double *buffer, size_t count, int repeats, double *sink)
{
    double times[16];
    for (int r = 0; r < repeats; r++) {
        double start = cli_seconds();
        const double *restrict a = buffer;
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t i = 0; i + 8 <= count; i += 8)
            for (int u = 0; u < 8; u++)
                acc[u] += a[i + (size_t)u];
        times[r] = cli_seconds() - start;
        for (int u = 0; u < 8; u++)
            *sink += acc[u];
    }
    return 8.0 * (double)count / cli_median(times, repeats) / 1e9;
}

/* ---- workloads ------------------------------------------------------------ */

/* A layer of gates of one workload on n qubits; weights all 0.3. */
static int build_layer(const char *workload, unsigned n, qml_circuit **out, size_t *n_gates)
{
    qml_circuit *c = NULL;
    int status = qml_circuit_create(&c, n);
    if (status)
        return status;
    if (!strcmp(workload, "ry")) {
        for (unsigned q = 0; q < n && !status; q++)
            status = qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, 0.3, QML_NONE, 0, QML_NONE, 0);
    } else if (!strcmp(workload, "cnot")) {
        for (unsigned q = 0; q + 1 < n && !status; q++)
            status = qml_circuit_add_gate(c, QML_GATE_CNOT, (unsigned[]){q, q + 1}, 2);
    } else if (!strcmp(workload, "rzz")) {
        for (unsigned q = 0; q + 1 < n && !status; q++)
            status = qml_circuit_add_rotation(c, QML_GATE_RZZ, (unsigned[]){q, q + 1}, 2, 0.3, QML_NONE, 0,
                                              QML_NONE, 0);
    } else { /* pauli4: X Y Z X on qubits 0, n/3, 2n/3, n-1; four copies */
        qml_pauli_sum *p = NULL;
        status = qml_pauli_sum_create(&p, n);
        unsigned qubits[4] = {0, n / 3, 2 * n / 3, n - 1};
        if (!status)
            status = qml_pauli_sum_add_term(p, 1.0, "XYZX", qubits, 4);
        for (int k = 0; k < 4 && !status; k++)
            status = qml_circuit_add_pauli_rotation(c, p, 0.3, QML_NONE, 0, QML_NONE, 0);
        qml_pauli_sum_free(p);
    }
    if (status) {
        qml_circuit_free(c);
        return status;
    }
    *out = c;
    *n_gates = qml_circuit_n_gates(c);
    return QML_OK;
}

/* Median seconds of one call of the workload (each repeat loops until it
 * has run for at least `min_seconds`). */
static int time_workload(const char *workload, qml_statevec *state, unsigned n, int repeats, double min_seconds,
                         double *seconds, size_t *units)
{
    double times[16];
    qml_circuit *circuit = NULL;
    qml_pauli_sum *zz = NULL;
    int status;
    if (!strcmp(workload, "expval_zz")) {
        status = qml_pauli_sum_create(&zz, n);
        for (unsigned q = 0; q + 1 < n && !status; q++)
            status = qml_pauli_sum_add_term(zz, 1.0, "ZZ", (unsigned[]){q, q + 1}, 2);
        *units = 1; /* one pass for all terms */
    } else {
        status = build_layer(workload, n, &circuit, units);
    }
    for (int r = 0; r < repeats && !status; r++) {
        long iterations = 0;
        double start = cli_seconds(), elapsed;
        do {
            if (zz) {
                double value;
                status = qml_statevec_expectation(state, zz, &value);
            } else {
                status = qml_statevec_run(state, circuit, NULL, 0, NULL, 0);
            }
            iterations++;
            elapsed = cli_seconds() - start;
        } while (!status && elapsed < min_seconds);
        times[r] = elapsed / (double)iterations;
    }
    if (!status)
        *seconds = cli_median(times, repeats);
    qml_circuit_free(circuit);
    qml_pauli_sum_free(zz);
    return status;
}

static bool parse_thread_list(const char *text, unsigned *list, int *count)
{
    char copy[128];
    if (!text || strlen(text) >= sizeof copy)
        return false;
    strcpy(copy, text);
    *count = 0;
    for (char *token = strtok(copy, ","); token; token = strtok(NULL, ",")) {
        if (*count == MAX_THREAD_COUNTS || !cli_parse_unsigned(token, &list[*count]) || list[*count] == 0)
            return false;
        (*count)++;
    }
    return *count > 0;
}

/* Up to 3 qubit counts in 16..30 (the default is 16, 20, 24). */
static bool parse_size_list(const char *text, unsigned *list, int *count)
{
    char copy[64];
    if (!text || strlen(text) >= sizeof copy)
        return false;
    strcpy(copy, text);
    *count = 0;
    for (char *token = strtok(copy, ","); token; token = strtok(NULL, ",")) {
        if (*count == 3 || !cli_parse_unsigned(token, &list[*count]) || list[*count] < 16 || list[*count] > 30)
            return false;
        (*count)++;
    }
    return *count > 0;
}

int bench_statevec(int argc, char **argv)
{
    bool quick = false, json = false;
    unsigned thread_list[MAX_THREAD_COUNTS] = {1, 2};
    int n_thread_counts = 2;
    unsigned size_list[3] = {16, 20, 24};
    int n_sizes = 0;
    /* argv[0] is "statevec" or "bench" (the default benchmark): skip it. */
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--quick"))
            quick = true;
        else if (!strcmp(argv[k], "--json"))
            json = true;
        else if (!strcmp(argv[k], "--sizes") && k + 1 < argc) {
            if (!parse_size_list(argv[++k], size_list, &n_sizes))
                return cli_usage_error("bench statevec: bad size list '%s' (e.g. 20,24; each 16..30)", argv[k]);
        } else if ((!strcmp(argv[k], "--threads-list") || !strcmp(argv[k], "--threads")) && k + 1 < argc) {
            if (!parse_thread_list(argv[++k], thread_list, &n_thread_counts))
                return cli_usage_error("bench statevec: bad thread list '%s' (e.g. 1,2)", argv[k]);
        } else if (!strcmp(argv[k], "statevec"))
            continue;
        else
            return cli_usage_error("bench statevec: unknown option '%s' "
                                   "(usage: qml bench [statevec] [--quick] [--json] [--threads-list 1,2] [--sizes 16,20,24])",
                                   argv[k]);
    }
    const unsigned *sizes = size_list;
    if (n_sizes == 0)
        n_sizes = quick ? 2 : 3;
    const int repeats = quick ? 3 : 7;
    const double min_seconds = quick ? 0.02 : 0.05;
    static const char *const workloads[] = {"ry", "cnot", "rzz", "pauli4", "expval_zz"};
    const int n_workloads = 5;

    /* The limits, over a 512 MiB buffer (far beyond the caches). */
    size_t count = LIMIT_BUFFER_BYTES / sizeof(double);
    /* Large states ask for transparent huge pages (docs/simulator.md), so the
     * limit buffer does too: a limit measured on 4 KiB pages would flatter
     * every ratio by the TLB and prefetcher effects of the page size. */
    double *buffer = NULL;
    if (posix_memalign((void **)&buffer, (size_t)2 << 20, LIMIT_BUFFER_BYTES) != 0)
        buffer = NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (buffer)
        (void)madvise(buffer, LIMIT_BUFFER_BYTES, MADV_HUGEPAGE);
#endif
    if (!buffer) {
        fprintf(stderr, "qml: bench statevec: cannot allocate the 512 MiB bandwidth buffer\n");
        return 1;
    }
    for (size_t i = 0; i < count; i++)
        buffer[i] = (double)(i & 1023) * 1e-3;
    double sink = 0.0;
    double limit_inplace = inplace_gbps(buffer, count, quick ? 3 : 5);
    double limit_read = read_gbps(buffer, count, quick ? 3 : 5, &sink);
    free(buffer);

    result results[3 * MAX_THREAD_COUNTS * 5];
    int n_results = 0;
    for (int si = 0; si < n_sizes; si++) {
        unsigned n = sizes[si];
        qml_statevec *state = NULL;
        int status = qml_statevec_create(&state, n);
        if (status)
            return cli_fail("bench statevec: create", status);
        /* a spread-out state, so that no kernel meets only zeros */
        qml_circuit *prep = NULL;
        size_t prep_gates;
        if ((status = build_layer("ry", n, &prep, &prep_gates)) != 0 ||
            (status = qml_statevec_run(state, prep, NULL, 0, NULL, 0)) != 0) {
            qml_circuit_free(prep);
            qml_statevec_free(state);
            return cli_fail("bench statevec: prepare", status);
        }
        qml_circuit_free(prep);
        for (int ti = 0; ti < n_thread_counts; ti++) {
            qml_statevec_set_threads(state, thread_list[ti]);
            for (int w = 0; w < n_workloads; w++) {
                double seconds;
                size_t units;
                status = time_workload(workloads[w], state, n, repeats, min_seconds, &seconds, &units);
                if (status) {
                    qml_statevec_free(state);
                    return cli_fail("bench statevec: workload", status);
                }
                bool is_expectation = !strcmp(workloads[w], "expval_zz");
                double bytes = (is_expectation ? 16.0 : 32.0) * (double)((uint64_t)1 << n);
                result *r = &results[n_results++];
                r->workload = workloads[w];
                r->n = n;
                r->threads = thread_list[ti];
                r->ns_per_gate = seconds / (double)units * 1e9;
                r->gbps = bytes / (r->ns_per_gate * 1e-9) / 1e9;
                r->ratio = r->gbps / (is_expectation ? limit_read : limit_inplace);
            }
        }
        qml_statevec_free(state);
    }

    if (json) {
        cli_json out;
        cli_json_begin(&out, stdout, "bench-statevec", argc, argv);
        cli_json_kv_bool(&out, "quick", quick);
        cli_json_kv_number(&out, "inplace_gbps", limit_inplace);
        cli_json_kv_number(&out, "read_gbps", limit_read);
        cli_json_key(&out, "results");
        cli_json_array_begin(&out);
        for (int k = 0; k < n_results; k++) {
            cli_json_object_begin(&out);
            cli_json_kv_string(&out, "workload", results[k].workload);
            cli_json_kv_u64(&out, "n", results[k].n);
            cli_json_kv_u64(&out, "threads", results[k].threads);
            cli_json_kv_number(&out, "ns_per_gate", results[k].ns_per_gate);
            cli_json_kv_number(&out, "gbps", results[k].gbps);
            cli_json_kv_number(&out, "ratio_to_limit", results[k].ratio);
            cli_json_object_end(&out);
        }
        cli_json_array_end(&out);
        cli_json_end(&out);
    } else {
        printf("machine limits (512 MiB buffer on huge pages where available, 1 thread): in-place %.2f GB/s (a[i] = s*a[i] + t, 16 B/element), "
               "read %.2f GB/s (8 accumulators, 8 B/element)\n",
               limit_inplace, limit_read);
        printf("gates stream 32 B per amplitude, an expectation pass 16 B; ratio = GB/s / limit "
               "(in-place for gates, read for expval_zz); speedup = this thread count vs the first\n"
               "(kernels start threads only from 2^18 amplitudes: rows with n < 18 run on one thread "
               "whatever the count)\n\n");
        printf("%-10s %3s %7s %14s %9s %7s %8s\n", "workload", "n", "threads", "ns/gate", "GB/s", "ratio",
               "speedup");
        for (int k = 0; k < n_results; k++) {
            const result *r = &results[k];
            double base = r->ns_per_gate;
            for (int j = 0; j < n_results; j++)
                if (results[j].n == r->n && !strcmp(results[j].workload, r->workload) &&
                    results[j].threads == thread_list[0])
                    base = results[j].ns_per_gate;
            printf("%-10s %3u %7u %14.1f %9.2f %7.2f %8.2f\n", r->workload, r->n, r->threads, r->ns_per_gate,
                   r->gbps, r->ratio, base / r->ns_per_gate);
        }
    }
    if (sink == 42.0) /* keep the read loop from being optimised away */
        fputc(' ', stderr);
    return 0;
}

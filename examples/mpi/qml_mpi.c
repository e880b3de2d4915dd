/*
 * qml-mpi: barren-plateau scans dealt over MPI ranks. Rank r computes
 * samples [r S / P, (r + 1) S / P) of every row of the scan with libqml's
 * partial-scan API, serialises its part, and rank 0 gathers the parts,
 * merges them and writes the result: bitwise the numbers `qml bp` prints
 * for the same options on one machine, whatever P is (docs/scaling.md).
 *
 * libqml itself knows nothing of MPI; this program is the only place that
 * links it. A rank that fails makes every rank exit with that rank's
 * message, and rank 0 writes nothing unless every part arrived and merged.
 */
#include <mpi.h>
#include <qml.h>

#include "../cli/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_MAX 512

typedef struct scan_request {
    qml_ansatz_family family;
    qml_bp_scan_options scan;
    qml_landscape_options stats;
    int json;
    const char *out_path;
} scan_request;

static const struct {
    const char *name;
    qml_ansatz_family family;
} families[] = {
    {"hea", QML_ANSATZ_HEA},
    {"tfim", QML_ANSATZ_TFIM},
    {"tfim-global", QML_ANSATZ_TFIM_GLOBAL},
    {"sn", QML_ANSATZ_SN},
    {"heisenberg", QML_ANSATZ_HEISENBERG},
};

static void usage(FILE *to)
{
    fprintf(to,
            "usage: mpirun -np P qml-mpi bp [--ansatz NAME] [--qubits A-B] [--layers L | --layers-per-qubit k]\n"
            "              [--samples S] [--seed X] [--observable OP] [--param first|middle|all]\n"
            "              [--quantity gradient|loss] [--initial zero|neel] [--max-dim D]\n"
            "              [--threads T] [--json] [--out FILE]\n"
            "\n"
            "The scan of `qml bp` with the same options and defaults, its samples dealt\n"
            "over the P ranks; the numbers do not depend on P or T. Rank 0 prints the\n"
            "rows and the fit (or writes them to FILE, only once everything merged).\n");
}

/* Strict unsigned parsing: the whole string, in range. */
static int parse_u64(const char *text, uint64_t *out)
{
    if (!text || !*text || *text == '-' || *text == '+')
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end)
        return 0;
    *out = (uint64_t)v;
    return 1;
}

static int parse_unsigned(const char *text, unsigned *out)
{
    uint64_t v;
    if (!parse_u64(text, &v) || v > 0xFFFFFFFFu)
        return 0;
    *out = (unsigned)v;
    return 1;
}

/* Options into a request; 0 on success, else a usage message in `error`. */
static int parse_options(int argc, char **argv, scan_request *request, char *error, size_t error_size)
{
    qml_bp_scan_options scan = QML_BP_SCAN_OPTIONS_INIT;
    qml_landscape_options stats = QML_LANDSCAPE_OPTIONS_INIT;
    scan.n_min = 2;
    scan.n_max = 8;
    scan.layers = 10;
    scan.depth = QML_BP_DEPTH_PER_QUBIT;
    scan.max_dim = 4096;
    stats.samples = 500;
    stats.seed = 1;
    stats.n_threads = 0;
    request->family = QML_ANSATZ_HEA;
    request->json = 0;
    request->out_path = NULL;
    int layers_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--json")) {
            request->json = 1;
            continue;
        }
        const char *value = i + 1 < argc ? argv[++i] : NULL;
        if (!value) {
            snprintf(error, error_size, "bp: %s needs a value", arg);
            return 1;
        }
        int ok = 1;
        if (!strcmp(arg, "--ansatz")) {
            size_t f = 0, n = sizeof families / sizeof families[0];
            while (f < n && strcmp(value, families[f].name))
                f++;
            ok = f < n;
            if (ok)
                request->family = families[f].family;
        } else if (!strcmp(arg, "--qubits")) {
            const char *dash = strchr(value, '-');
            char head[32];
            if (dash && (size_t)(dash - value) < sizeof head) {
                memcpy(head, value, (size_t)(dash - value));
                head[dash - value] = '\0';
                ok = parse_unsigned(head, &scan.n_min) && parse_unsigned(dash + 1, &scan.n_max);
            } else {
                ok = parse_unsigned(value, &scan.n_min);
                scan.n_max = scan.n_min;
            }
            ok = ok && scan.n_min >= 1 && scan.n_min <= scan.n_max;
        } else if (!strcmp(arg, "--layers") || !strcmp(arg, "--layers-per-qubit")) {
            ok = !layers_given && parse_unsigned(value, &scan.layers) && scan.layers >= 1;
            scan.depth = !strcmp(arg, "--layers") ? QML_BP_DEPTH_FIXED : QML_BP_DEPTH_PER_QUBIT;
            layers_given = 1;
        } else if (!strcmp(arg, "--samples")) {
            uint64_t s;
            ok = parse_u64(value, &s) && s >= 2 && s <= (uint64_t)1 << 40;
            stats.samples = (size_t)s;
        } else if (!strcmp(arg, "--seed")) {
            ok = parse_u64(value, &stats.seed);
        } else if (!strcmp(arg, "--observable")) {
            scan.observable = value;
        } else if (!strcmp(arg, "--param")) {
            ok = !strcmp(value, "first") || !strcmp(value, "middle") || !strcmp(value, "all");
            stats.params = !strcmp(value, "all")      ? QML_PARAMS_ALL
                           : !strcmp(value, "middle") ? QML_PARAMS_MIDDLE
                                                      : QML_PARAMS_FIRST;
        } else if (!strcmp(arg, "--quantity")) {
            ok = !strcmp(value, "gradient") || !strcmp(value, "loss");
            scan.quantity = !strcmp(value, "loss") ? QML_BP_LOSS : QML_BP_GRADIENT;
        } else if (!strcmp(arg, "--initial")) {
            ok = !strcmp(value, "zero") || !strcmp(value, "neel");
            scan.initial = !strcmp(value, "neel") ? QML_BP_INITIAL_NEEL : QML_BP_INITIAL_ZERO;
        } else if (!strcmp(arg, "--max-dim")) {
            ok = parse_u64(value, &scan.max_dim);
        } else if (!strcmp(arg, "--threads")) {
            ok = parse_unsigned(value, &stats.n_threads);
        } else if (!strcmp(arg, "--out")) {
            request->out_path = value;
        } else {
            snprintf(error, error_size, "bp: unknown option '%s' (qml-mpi bp --help)", arg);
            return 1;
        }
        if (!ok) {
            snprintf(error, error_size, "bp: %s '%s' is not valid (qml-mpi bp --help)", arg, value);
            return 1;
        }
    }
    request->scan = scan;
    request->stats = stats;
    return 0;
}

/* The command line, for the JSON's run metadata (set once in main). */
static int run_argc;
static char **run_argv;

/* The rows and the fit, in the keys of `qml bp --json` (the same writer),
 * plus the number of ranks. */
static void write_json(FILE *to, const qml_bp_scan *scan, int ranks)
{
    cli_json out;
    cli_json_begin(&out, to, "mpi-bp", run_argc, run_argv);
    cli_json_kv_u64(&out, "ranks", (uint64_t)ranks);
    cli_json_key(&out, "rows");
    cli_json_array_begin(&out);
    for (size_t r = 0; r < qml_bp_scan_n_rows(scan); r++) {
        qml_bp_row row = QML_BP_ROW_INIT;
        qml_bp_scan_row(scan, r, &row);
        cli_json_object_begin(&out);
        cli_json_kv_u64(&out, "n", row.n_qubits);
        cli_json_kv_u64(&out, "layers", row.layers);
        cli_json_kv_u64(&out, "samples", row.samples);
        cli_json_key(&out, "dim_g");
        if (row.dim_g_capped || row.dim_g == 0)
            cli_json_null(&out);
        else
            cli_json_u64(&out, row.dim_g);
        cli_json_kv_bool(&out, "dim_g_capped", row.dim_g_capped != 0);
        cli_json_kv_number(&out, "var_measured", row.var_measured);
        cli_json_kv_number(&out, "var_stderr", row.var_stderr);
        cli_json_kv_number(&out, "var_predicted", row.var_predicted);
        cli_json_object_end(&out);
    }
    cli_json_array_end(&out);
    cli_json_key(&out, "fit");
    qml_bp_fit fit = QML_BP_FIT_INIT;
    if (qml_bp_scan_fit(scan, &fit) == QML_OK) {
        cli_json_object_begin(&out);
        cli_json_kv_string(&out, "model", fit.model == QML_BP_POWER ? "power" : "exponential");
        cli_json_kv_number(&out, "rate", fit.rate);
        cli_json_kv_number(&out, "rate_stderr", fit.rate_stderr);
        cli_json_object_end(&out);
    } else {
        cli_json_null(&out);
    }
    cli_json_end(&out);
}

static void write_table(FILE *to, const qml_bp_scan *scan, int ranks)
{
    fprintf(to, "# %d ranks\n%4s %5s %8s %10s %14s %12s %14s\n", ranks, "n", "L", "samples", "dim_g",
            "var_measured", "var_stderr", "var_predicted");
    for (size_t r = 0; r < qml_bp_scan_n_rows(scan); r++) {
        qml_bp_row row = QML_BP_ROW_INIT;
        qml_bp_scan_row(scan, r, &row);
        fprintf(to, "%4u %5u %8zu %10" PRIu64 " %14.6e %12.3e %14.6e\n", row.n_qubits, row.layers, row.samples,
                row.dim_g, row.var_measured, row.var_stderr, row.var_predicted);
    }
}

/* Write to FILE.partial, then rename: a reader never sees half a result. */
static int write_output(const scan_request *request, const qml_bp_scan *scan, int ranks, char *error,
                        size_t error_size)
{
    if (!request->out_path) {
        if (request->json)
            write_json(stdout, scan, ranks);
        else
            write_table(stdout, scan, ranks);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    char temp[4096];
    if (snprintf(temp, sizeof temp, "%s.partial", request->out_path) >= (int)sizeof temp) {
        snprintf(error, error_size, "--out path is too long");
        return 1;
    }
    FILE *file = fopen(temp, "w");
    if (!file) {
        snprintf(error, error_size, "cannot write '%.300s': %.100s", temp, strerror(errno));
        return 1;
    }
    if (request->json)
        write_json(file, scan, ranks);
    else
        write_table(file, scan, ranks);
    int failed = ferror(file);
    failed |= fclose(file) != 0;
    if (failed || rename(temp, request->out_path) != 0) {
        snprintf(error, error_size, "cannot write '%.300s': %.100s", request->out_path, strerror(errno));
        remove(temp);
        return 1;
    }
    return 0;
}

/* Every rank learns whether any rank failed and, if so, the message of the
 * lowest failing rank; returns 1 if some rank failed. */
static int agree_on_failure(int failed, char *message, int rank)
{
    int failing_rank = failed ? rank : 0x7fffffff;
    int lowest = 0;
    MPI_Allreduce(&failing_rank, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (lowest == 0x7fffffff)
        return 0;
    MPI_Bcast(message, MESSAGE_MAX, MPI_CHAR, lowest, MPI_COMM_WORLD);
    message[MESSAGE_MAX - 1] = '\0';
    return 1;
}

static int run_bp(int argc, char **argv, int rank, int ranks)
{
    char message[MESSAGE_MAX] = "";
    scan_request request;
    int failed = parse_options(argc, argv, &request, message, sizeof message);
    if (agree_on_failure(failed, message, rank)) {
        if (rank == 0)
            fprintf(stderr, "qml-mpi: %s\n", message);
        return 2;
    }

    /* This rank's samples; a rank with none sends an empty part. */
    const size_t total = request.stats.samples;
    const size_t first = (size_t)((uint64_t)rank * total / (uint64_t)ranks);
    const size_t last = (size_t)((uint64_t)(rank + 1) * total / (uint64_t)ranks);
    qml_bp_scan *part = NULL;
    unsigned char *bytes = NULL;
    size_t length = 0;
    int status = QML_OK;
    if (last > first) {
        status = qml_bp_scan_family_part(&part, request.family, &request.scan, &request.stats, first, last - first);
        if (status == QML_OK) {
            qml_bp_scan_serialize(part, NULL, 0, &length);
            bytes = malloc(length);
            status = bytes ? qml_bp_scan_serialize(part, bytes, length, &length) : QML_ERR_OUT_OF_MEMORY;
        }
        if (status)
            snprintf(message, sizeof message, "rank %d: %s: %s", rank, qml_status_string(status), qml_last_error());
    }
    qml_bp_scan_free(part);
    if (!status && length > (size_t)0x7fffffff) {
        status = QML_ERR_LIMIT;
        snprintf(message, sizeof message, "rank %d: a part of %zu bytes is beyond one MPI message", rank, length);
    }
    if (agree_on_failure(status != QML_OK, message, rank)) {
        free(bytes);
        if (rank == 0)
            fprintf(stderr, "qml-mpi: %s\n", message);
        return 1;
    }

    /* Gather the parts on rank 0: lengths, then the bytes. */
    int my_length = (int)length;
    int *lengths = rank == 0 ? calloc((size_t)ranks, sizeof *lengths) : NULL;
    int *offsets = rank == 0 ? calloc((size_t)ranks, sizeof *offsets) : NULL;
    MPI_Gather(&my_length, 1, MPI_INT, lengths, 1, MPI_INT, 0, MPI_COMM_WORLD);
    unsigned char *all = NULL;
    long long sum = 0;
    if (rank == 0) {
        for (int r = 0; r < ranks; r++) {
            offsets[r] = (int)sum;
            sum += lengths[r];
        }
        all = sum <= 0x7fffffff ? malloc(sum ? (size_t)sum : 1) : NULL;
    }
    int gather_ok = rank != 0 || all != NULL;
    MPI_Bcast(&gather_ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!gather_ok) {
        if (rank == 0)
            fprintf(stderr, "qml-mpi: rank 0 cannot hold the %lld bytes of the parts\n", sum);
        free(bytes);
        free(lengths);
        free(offsets);
        return 1;
    }
    MPI_Gatherv(bytes, my_length, MPI_UNSIGNED_CHAR, all, lengths, offsets, MPI_UNSIGNED_CHAR, 0, MPI_COMM_WORLD);
    free(bytes);

    int exit_code = 0;
    if (rank == 0) {
        qml_bp_scan **parts = calloc((size_t)ranks, sizeof *parts);
        size_t n_parts = 0;
        status = parts ? QML_OK : QML_ERR_OUT_OF_MEMORY;
        for (int r = 0; r < ranks && status == QML_OK; r++) {
            if (lengths[r] == 0)
                continue;
            status = qml_bp_scan_deserialize(&parts[n_parts], all + offsets[r], (size_t)lengths[r]);
            if (status == QML_OK)
                n_parts++;
        }
        qml_bp_scan *merged = NULL;
        if (status == QML_OK)
            status = qml_bp_scan_merge(&merged, (const qml_bp_scan *const *)parts, n_parts);
        if (status) {
            fprintf(stderr, "qml-mpi: merging the parts: %s: %s\n", qml_status_string(status), qml_last_error());
            exit_code = 1;
        } else if (write_output(&request, merged, ranks, message, sizeof message)) {
            fprintf(stderr, "qml-mpi: %s\n", message);
            exit_code = 1;
        }
        qml_bp_scan_free(merged);
        for (size_t i = 0; i < n_parts; i++)
            qml_bp_scan_free(parts[i]);
        free(parts);
    }
    free(all);
    free(lengths);
    free(offsets);
    MPI_Bcast(&exit_code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return exit_code;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    run_argc = argc;
    run_argv = argv;
    int rank = 0, ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    int code;
    if (argc >= 2 && !strcmp(argv[1], "bp")) {
        if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
            if (rank == 0)
                usage(stdout);
            code = 0;
        } else {
            code = run_bp(argc - 1, argv + 1, rank, ranks);
        }
    } else {
        if (rank == 0)
            usage(stderr);
        code = 2;
    }
    MPI_Finalize();
    return code;
}

/*
 * qml-mpi: barren-plateau scans and the paradox study dealt over MPI ranks.
 *
 * bp: the (row, sample) pairs of the scan are cut into P contiguous shares
 * of equal estimated cost; rank r computes its share as (row, sample range)
 * pieces with libqml's piece API, merges them into one partial scan and
 * serialises it, and rank 0 gathers the parts, merges them and writes the result: bitwise the numbers `qml bp` prints
 * for the same options on one machine, whatever P is (docs/scaling.md).
 *
 * paradox: the study of `qml paradox` (examples/cli/cmd_paradox.c), its rows
 * (landscape cells, training runs, baselines, roughness, the large-n
 * tables) dealt to ranks by row index (examples/cli/paradox_table.c); rank
 * 0 gathers the rows and writes the CSV files the plain program writes, in
 * its order, then the report.
 *
 * libqml itself knows nothing of MPI; this program is the only place that
 * links it. A rank that fails makes every rank exit with that rank's
 * message, and rank 0 writes nothing unless every part arrived and merged.
 */
#include <mpi.h>
#include <qml.h>

#include "../cli/cli.h"
#include "../cli/json.h"
#include "../cli/paradox.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
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

/* The pieces of rank k of P: the (row, sample) pairs of the scan in row
 * order, each weighted by the cost of a sample of its row (gates x
 * amplitudes, about L n 2^n), cut into P contiguous shares of equal cost;
 * share k covers samples [ranges[2 r], ranges[2 r] + ranges[2 r + 1]) of
 * row r (count 0: none). Every rank computes every boundary the same way,
 * and rank k's upper boundary is rank k + 1's lower one, so the shares
 * tile the scan whatever the rounding; a rank may get no pair at all when
 * ranks outnumber the pairs. The numbers do not depend on the dealing (the
 * merge is exact), only the balance does. */
static double sample_cost(const scan_request *request, unsigned n)
{
    double layers = request->scan.depth == QML_BP_DEPTH_PER_QUBIT ? (double)request->scan.layers * n
                                                                   : (double)request->scan.layers;
    return layers * n * ldexp(1.0, (int)n);
}

static size_t share_bound(const scan_request *request, double start, double unit, double cut)
{
    const double samples = (double)request->stats.samples;
    double s = ceil((cut - start) / unit);
    return s <= 0.0 ? 0 : s >= samples ? request->stats.samples : (size_t)s;
}

static void deal_pieces(const scan_request *request, int rank, int ranks, size_t *ranges)
{
    const unsigned n_min = request->scan.n_min, n_max = request->scan.n_max;
    double total = 0.0;
    for (unsigned n = n_min; n <= n_max; n++)
        total += sample_cost(request, n) * (double)request->stats.samples;
    double start = 0.0;
    for (unsigned n = n_min; n <= n_max; n++) {
        size_t r = n - n_min;
        double unit = sample_cost(request, n);
        size_t lo = rank == 0 ? 0 : share_bound(request, start, unit, total * rank / ranks);
        size_t hi = rank == ranks - 1 ? request->stats.samples
                                      : share_bound(request, start, unit, total * (rank + 1) / ranks);
        ranges[2 * r] = lo;
        ranges[2 * r + 1] = hi > lo ? hi - lo : 0;
        start += unit * (double)request->stats.samples;
    }
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

    /* This rank's (row, sample range) pieces, merged into one partial scan;
     * a rank with none sends an empty part. */
    const size_t rows = request.scan.n_max - request.scan.n_min + 1;
    size_t *ranges = calloc(2 * rows, sizeof *ranges);
    qml_bp_scan **pieces = calloc(rows, sizeof *pieces);
    size_t n_pieces = 0;
    qml_bp_scan *part = NULL;
    unsigned char *bytes = NULL;
    size_t length = 0;
    int status = ranges && pieces ? QML_OK : QML_ERR_OUT_OF_MEMORY;
    if (status)
        snprintf(message, sizeof message, "rank %d: out of memory", rank);
    else
        deal_pieces(&request, rank, ranks, ranges);
    for (size_t r = 0; r < rows && status == QML_OK; r++) {
        if (ranges[2 * r + 1] == 0)
            continue;
        status = qml_bp_scan_family_piece(&pieces[n_pieces], request.family, &request.scan, &request.stats, r,
                                          ranges[2 * r], ranges[2 * r + 1]);
        if (status == QML_OK)
            n_pieces++;
        else
            snprintf(message, sizeof message, "rank %d: %s: %s", rank, qml_status_string(status), qml_last_error());
    }
    if (status == QML_OK && n_pieces > 0) {
        status = qml_bp_scan_merge(&part, (const qml_bp_scan *const *)pieces, n_pieces);
        if (status == QML_OK) {
            qml_bp_scan_serialize(part, NULL, 0, &length);
            bytes = malloc(length);
            status = bytes ? qml_bp_scan_serialize(part, bytes, length, &length) : QML_ERR_OUT_OF_MEMORY;
        }
        if (status)
            snprintf(message, sizeof message, "rank %d: %s: %s", rank, qml_status_string(status), qml_last_error());
    }
    qml_bp_scan_free(part);
    for (size_t i = 0; i < n_pieces; i++)
        qml_bp_scan_free(pieces[i]);
    free(pieces);
    free(ranges);
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

/* ---- paradox ----------------------------------------------------------------- */

#define TAG_STOP 17

/* What the hooks of a dealt study share (examples/cli/paradox.h). */
typedef struct paradox_mpi {
    int rank, ranks;
    int announced;        /* this rank told the others to stop */
    int received;         /* stop messages received so far */
    int stop_flag;        /* the payload of the sends */
    MPI_Request *sends;
    int fail_rank;        /* QML_MPI_TEST_FAIL_RANK (tests), or -1 */
} paradox_mpi;

/* Between rows: has another rank failed? (A stop message waits.) The test
 * hook QML_MPI_TEST_FAIL_RANK=r makes rank r fail at its first row, to
 * exercise the failure path on a rank other than 0. */
static int paradox_stopped(void *user)
{
    paradox_mpi *m = user;
    if (m->fail_rank == m->rank) {
        m->fail_rank = -1;
        fprintf(stderr, "qml-mpi: paradox: rank %d fails as QML_MPI_TEST_FAIL_RANK asks\n", m->rank);
        return 1;
    }
    int waiting = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, TAG_STOP, MPI_COMM_WORLD, &waiting, &status);
    if (!waiting)
        return 0;
    int payload;
    MPI_Recv(&payload, 1, MPI_INT, status.MPI_SOURCE, TAG_STOP, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    m->received++;
    return 1;
}

/* Every rank's code to the run's (the largest); a failing rank first tells
 * the others, who stop at their next row instead of computing on; every
 * stop message is received before this returns. */
static int paradox_agree(int code, void *user)
{
    paradox_mpi *m = user;
    if (code && !m->announced && m->ranks > 1) {
        m->sends = calloc((size_t)m->ranks, sizeof *m->sends);
        for (int r = 0, k = 0; r < m->ranks && m->sends; r++)
            if (r != m->rank)
                MPI_Isend(&m->stop_flag, 1, MPI_INT, r, TAG_STOP, MPI_COMM_WORLD, &m->sends[k++]);
        m->announced = m->sends != NULL;
    }
    int announcers = 0;
    MPI_Allreduce(&m->announced, &announcers, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    for (; m->received < announcers - m->announced; m->received++) {
        int payload;
        MPI_Recv(&payload, 1, MPI_INT, MPI_ANY_SOURCE, TAG_STOP, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    if (m->sends) {
        MPI_Waitall(m->ranks - 1, m->sends, MPI_STATUSES_IGNORE);
        free(m->sends);
        m->sends = NULL;
    }
    int run = 0;
    MPI_Allreduce(&code, &run, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return run;
}

/* Every rank's rows to rank 0: per table, the lines joined by newlines. */
static int paradox_gather(paradox_tables *t, double *cpu_seconds, void *user)
{
    paradox_mpi *m = user;
    double cpu_sum = 0.0;
    MPI_Reduce(cpu_seconds, &cpu_sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (m->rank == 0)
        *cpu_seconds = cpu_sum;
    paradox_table *list[PARADOX_N_TABLES];
    size_t n_tables = paradox_tables_list(t, list);
    int code = 0;
    for (size_t k = 0; k < n_tables; k++) {
        paradox_table *table = list[k];
        /* This rank's rows (rank 0's are in place already). */
        size_t length = 0;
        for (size_t r = 0; m->rank != 0 && r < table->n_rows; r++)
            length += strlen(table->lines[r]) + 1;
        char *mine = malloc(length + 1);
        int my_length = mine && length <= INT_MAX ? (int)length : -1;
        for (size_t r = 0, at = 0; my_length > 0 && r < table->n_rows; r++) {
            size_t l = strlen(table->lines[r]);
            memcpy(mine + at, table->lines[r], l);
            mine[at + l] = '\n';
            at += l + 1;
        }
        int *lengths = m->rank == 0 ? calloc((size_t)m->ranks, sizeof *lengths) : NULL;
        int *offsets = m->rank == 0 ? calloc((size_t)m->ranks, sizeof *offsets) : NULL;
        MPI_Gather(&my_length, 1, MPI_INT, lengths, 1, MPI_INT, 0, MPI_COMM_WORLD);
        char *all = NULL;
        int ok = 1;
        if (m->rank == 0) {
            long long sum = 0;
            for (int r = 0; lengths && offsets && r < m->ranks; r++) {
                ok = ok && lengths[r] >= 0;
                offsets[r] = (int)(sum <= INT_MAX ? sum : 0);
                sum += lengths[r] > 0 ? lengths[r] : 0;
            }
            ok = ok && lengths && offsets && sum <= INT_MAX;
            all = ok ? malloc((size_t)sum + 1) : NULL;
            ok = ok && all;
            if (!ok)
                fprintf(stderr, "qml-mpi: paradox: rank 0 cannot gather the rows of %s\n", table->name);
        }
        MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (ok) {
            MPI_Gatherv(mine, my_length, MPI_CHAR, all, lengths, offsets, MPI_CHAR, 0, MPI_COMM_WORLD);
            for (int r = 1; m->rank == 0 && r < m->ranks && !code; r++) {
                char *p = all + offsets[r], *end = p + lengths[r];
                while (p < end && !code) {
                    char *newline = memchr(p, '\n', (size_t)(end - p));
                    if (!newline)
                        break;
                    *newline = '\0';
                    code = paradox_table_add_line(table, p);
                    p = newline + 1;
                }
            }
        } else {
            code = 1;
        }
        free(all);
        free(lengths);
        free(offsets);
        free(mine);
    }
    return code;
}

static void paradox_usage(FILE *to)
{
    fprintf(to, "usage: mpirun -np P qml-mpi paradox [--out DIR] [--quick | --long] [--seed X] [--threads T]\n"
                "              [--seeds K] [--qubits LIST] [--shots LIST] [--json]\n"
                "\n"
                "The study of `qml paradox` with the same options, its rows dealt over the P ranks by\n"
                "row index. Rank 0 gathers the rows and writes the CSV files of the plain program (the\n"
                "same rows in the same order; only the `seconds` columns, wall times, differ), then the\n"
                "report. Nothing is written until every row is there; a dealt run cannot --resume.\n");
}

static int run_paradox(int argc, char **argv, int rank, int ranks)
{
    paradox_setup setup;
    const char *resume = NULL;
    bool stop = false;
    int both[2] = {0, 0};
    /* Rank 0 parses first (its messages are the only ones), the others
     * only once the options are known to be good. */
    if (rank == 0) {
        for (int i = 1; i < argc; i++)
            if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                paradox_usage(stdout);
                both[1] = 1;
            }
        if (!both[1]) {
            both[0] = paradox_parse(argc, argv, &setup, &resume, &stop);
            both[1] = stop;
        }
        if (!both[0] && !both[1] && resume) {
            fprintf(stderr, "qml-mpi: paradox: a dealt run cannot --resume (it writes nothing before every row is "
                            "there); continue with 'qml paradox --resume DIR' or run again\n");
            both[0] = 2;
        }
    }
    MPI_Bcast(both, 2, MPI_INT, 0, MPI_COMM_WORLD);
    if (both[0] || both[1])
        return both[0];
    if (rank != 0 && paradox_parse(argc, argv, &setup, &resume, &stop) != 0)
        return 1; /* cannot happen: rank 0 parsed the same words */
    paradox_mpi m = {rank, ranks, 0, 0, 1, NULL, -1};
    const char *fail = getenv("QML_MPI_TEST_FAIL_RANK");
    if (fail && *fail)
        m.fail_rank = atoi(fail);
    paradox_ranks hooks = {(unsigned)rank, (unsigned)ranks, &m, paradox_stopped, paradox_agree, paradox_gather};
    return paradox_run(&setup, argc, argv, NULL, &hooks);
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
    } else if (argc >= 2 && !strcmp(argv[1], "paradox")) {
        code = run_paradox(argc - 1, argv + 1, rank, ranks);
    } else {
        if (rank == 0) {
            usage(stderr);
            paradox_usage(stderr);
        }
        code = 2;
    }
    MPI_Finalize();
    return code;
}

/*
 * cmd_bp.c: `qml bp`, a barren-plateau scan: the measured gradient (or
 * loss) variance per qubit count beside the Lie-algebraic prediction, and
 * a fit of how it decays. A thin layer over qml_bp_scan_*.
 */
#include "cli.h"
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum output_format { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON } output_format;

/* A generator list read from a file, one Pauli sum per line. */
typedef struct generator_file {
    qml_pauli_sum **sums;
    size_t count;
} generator_file;

typedef struct progress_line {
    double last;
    int shown;
} progress_line;

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

/* The algebra of a row's circuit, closed as the scan closes it (the row's
 * ansatz at n qubits and L layers, up to max_dim), for its simple ideals and
 * their certificates; NULL when it is not computed or above the cap. */
static void usage(FILE *to)
{
    fprintf(to,
            "usage: qml bp [--ansatz NAME] [--qubits A-B] [--layers L | --layers-per-qubit k]\n"
            "              [--samples S] [--seed X] [--observable OP] [--param first|middle|all]\n"
            "              [--quantity gradient|loss] [--initial zero|neel] [--max-dim D]\n"
            "              [--threads T] [--backend B] [--json|--csv]\n"
            "\n"
            "Draws the weights uniformly in [0, 2 pi) S times per qubit count n and prints\n"
            "one row per n: n, L, samples, dim_g, var_measured, var_stderr, var_predicted\n"
            "(empty when not computed or not applicable), then a fit of ln Var against n\n"
            "(exponential) and against ln n (power law); the model with the smaller\n"
            "weighted chi^2 is named. See docs/landscape.md.\n"
            "\n"
            "  --ansatz NAME        hea (default), tfim, tfim-global, sn, heisenberg, or\n"
            "                       file:PATH (one Pauli sum per line, '#' comments; the\n"
            "                       scan runs at the file's qubit count)\n"
            "  --qubits A-B         qubit counts (default 2-8; a file: its own count)\n"
            "  --layers L           L layers for every n\n"
            "  --layers-per-qubit k L = k n (default 10: deep enough for the\n"
            "                       hardware-efficient ansatz to match the Haar value;\n"
            "                       free-fermion chains need about 8 n^2 layers)\n"
            "  --samples S          weight draws per row (default 500)\n"
            "  --seed X             row r uses seed X + r (default 1)\n"
            "  --observable OP      e.g. 'Z0 Z1' (default Z0 for hea and files, Z0 Z1 otherwise)\n"
            "  --param P            first (weight 0, default), middle (weight n_weights/2),\n"
            "                       all (the mean variance over every weight)\n"
            "  --quantity Q         gradient (Var[dl/dw], default) or loss (Var[l])\n"
            "  --initial I          zero or neel (default zero; neel for heisenberg)\n"
            "  --max-dim D          compute the dynamical Lie algebra up to dimension D\n"
            "                       (default 4096; 0 = do not)\n"
            "  --threads T          worker threads, 0 = all cores (default 0); the numbers\n"
            "                       do not depend on T\n"
            "  --backend B          statevector (default), auto, gsim or symmetric: the\n"
            "                       algebraic backends reach hundreds of qubits where\n"
            "                       they apply (docs/gsim.md); with auto, a row no\n"
            "                       simulator fits is printed unmeasured with the reason\n"
            "  --circuit FILE.qasm  one row for an OpenQASM circuit (weights theta[k], features\n"
            "                       x[j] held at 0) instead of a scan over a family\n"
            "  --json | --csv       machine-readable output, one of them (CSV: rows only on\n"
            "                       stdout, the fit on stderr)\n");
}

static int read_generator_file(const char *path, generator_file *out);
static void free_generator_file(generator_file *file);
static int show_progress(const char *stage, size_t done, size_t total, void *user);
static void print_number(FILE *to, double value, output_format format);
static int bp_of_circuit(const char *path, const char *observable_text, qml_bp_quantity quantity,
                         qml_landscape_options *lo, size_t max_dim, output_format format);
static void unmeasured_reason(const generator_file *file, qml_ansatz_family family, unsigned n, unsigned layers,
                              const char *observable_text, unsigned threads, char *reason, size_t size);

int cmd_bp(int argc, char **argv)
{
    const char *ansatz = "hea", *observable = NULL, *circuit_file = NULL;
    unsigned n_min = 2, n_max = 8, layers = 10, threads = 0;
    int layers_fixed = 0, qubits_given = 0, layers_given = 0;
    uint64_t samples = 500, seed = 1, max_dim = 4096;
    qml_param_selection params = QML_PARAMS_FIRST;
    qml_bp_quantity quantity = QML_BP_GRADIENT;
    qml_bp_initial initial = QML_BP_INITIAL_DEFAULT;
    output_format format = FORMAT_TABLE;
    qml_backend backend = QML_BACKEND_STATEVECTOR;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(arg, "--json") || !strcmp(arg, "--csv")) {
            output_format chosen = !strcmp(arg, "--json") ? FORMAT_JSON : FORMAT_CSV;
            if (format != FORMAT_TABLE && format != chosen)
                return cli_usage_error("bp: --json and --csv exclude each other; give one");
            format = chosen;
            continue;
        }
        if (!value)
            return cli_usage_error("bp: %s needs a value (qml bp --help)", arg);
        i++;
        if (!strcmp(arg, "--ansatz")) {
            ansatz = value;
        } else if (!strcmp(arg, "--circuit")) {
            circuit_file = value;
        } else if (!strcmp(arg, "--qubits")) {
            if (!cli_parse_range(value, &n_min, &n_max) || n_min < 1)
                return cli_usage_error("bp: --qubits '%s' is not a range A-B with 1 <= A <= B", value);
            qubits_given = 1;
        } else if (!strcmp(arg, "--layers") || !strcmp(arg, "--layers-per-qubit")) {
            if (layers_given)
                return cli_usage_error("bp: give one of --layers and --layers-per-qubit");
            if (!cli_parse_unsigned(value, &layers) || layers < 1)
                return cli_usage_error("bp: %s '%s' is not a positive integer", arg, value);
            layers_fixed = !strcmp(arg, "--layers");
            layers_given = 1;
        } else if (!strcmp(arg, "--samples")) {
            if (!cli_parse_u64(value, &samples) || samples < 2)
                return cli_usage_error("bp: --samples '%s' is not an integer >= 2", value);
        } else if (!strcmp(arg, "--seed")) {
            if (!cli_parse_u64(value, &seed))
                return cli_usage_error("bp: --seed '%s' is not a non-negative integer", value);
        } else if (!strcmp(arg, "--observable")) {
            observable = value;
        } else if (!strcmp(arg, "--param")) {
            if (!strcmp(value, "first"))
                params = QML_PARAMS_FIRST;
            else if (!strcmp(value, "middle"))
                params = QML_PARAMS_MIDDLE;
            else if (!strcmp(value, "all"))
                params = QML_PARAMS_ALL;
            else
                return cli_usage_error("bp: --param '%s' is not first, middle or all", value);
        } else if (!strcmp(arg, "--quantity")) {
            if (!strcmp(value, "gradient"))
                quantity = QML_BP_GRADIENT;
            else if (!strcmp(value, "loss"))
                quantity = QML_BP_LOSS;
            else
                return cli_usage_error("bp: --quantity '%s' is not gradient or loss", value);
        } else if (!strcmp(arg, "--initial")) {
            if (!strcmp(value, "zero"))
                initial = QML_BP_INITIAL_ZERO;
            else if (!strcmp(value, "neel"))
                initial = QML_BP_INITIAL_NEEL;
            else
                return cli_usage_error("bp: --initial '%s' is not zero or neel", value);
        } else if (!strcmp(arg, "--max-dim")) {
            if (!cli_parse_u64(value, &max_dim))
                return cli_usage_error("bp: --max-dim '%s' is not a non-negative integer", value);
        } else if (!strcmp(arg, "--threads")) {
            if (!cli_parse_unsigned(value, &threads))
                return cli_usage_error("bp: --threads '%s' is not a non-negative integer", value);
        } else if (!strcmp(arg, "--backend")) {
            if (qml_backend_from_name(value, &backend))
                return cli_usage_error("bp: --backend '%s' is not statevector, auto, gsim or symmetric", value);
        } else {
            return cli_usage_error("bp: unknown option '%s' (qml bp --help)", arg);
        }
    }

    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    so.n_min = n_min;
    so.n_max = n_max;
    so.depth = layers_fixed ? QML_BP_DEPTH_FIXED : QML_BP_DEPTH_PER_QUBIT;
    so.layers = layers;
    so.observable = observable;
    so.quantity = quantity;
    so.initial = initial;
    so.max_dim = max_dim;
    /* the rows' algebras, for their ideals and certificates (not in CSV) */
    so.keep_algebras = format != FORMAT_CSV && max_dim > 0;
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = (size_t)samples;
    lo.seed = seed;
    lo.params = params;
    lo.n_threads = threads;
    lo.backend = backend;
    progress_line line = {0.0, 0};
    if (isatty(fileno(stderr))) {
        lo.progress = show_progress;
        lo.progress_user = &line;
    }

    if (circuit_file) {
        int code = bp_of_circuit(circuit_file, observable, quantity, &lo, (size_t)max_dim, format);
        if (line.shown)
            fputs("\r\033[K", stderr);
        return code;
    }
    qml_bp_scan *scan = NULL;
    int status;
    generator_file file = {NULL, 0};
    qml_ansatz_family family = QML_ANSATZ_HEA;
    qml_dla_summary file_class = {.size = sizeof file_class};
    bool file_classified = false;
    double class_variance = (double)NAN; /* predicted from the classification */
    char class_note[320] = "";
    if (!strncmp(ansatz, "file:", 5)) {
        int read = read_generator_file(ansatz + 5, &file);
        if (read)
            return read;
        unsigned n = qml_pauli_sum_n_qubits(file.sums[0]);
        if (qubits_given && (n_min != n || n_max != n)) {
            free_generator_file(&file);
            return cli_usage_error("bp: the generators in '%s' act on %u qubits; --qubits must be %u", ansatz + 5,
                                   n, n);
        }
        so.n_min = so.n_max = 0;
        status = qml_bp_scan_generators(&scan, (const qml_pauli_sum *const *)file.sums, file.count, NULL, &so, &lo);
        /* string generators: the classification gives dim g at any n, and
         * the loss variance predicted from it without a basis
         * (qml_pauli_dla_predict_variance, docs/lie.md) */
        bool strings_only = true;
        for (size_t k = 0; k < file.count && strings_only; k++)
            strings_only = qml_pauli_sum_n_terms(file.sums[k]) == 1;
        if (!status && strings_only &&
            qml_pauli_dla_classify((const qml_pauli_sum *const *)file.sums, file.count, &file_class) == QML_OK) {
            file_classified = true;
            qml_pauli_sum *o = NULL;
            qml_lie_prediction prediction = QML_LIE_PREDICTION_INIT;
            int ps = qml_pauli_sum_parse(&o, n, observable ? observable : "Z0");
            if (!ps)
                ps = qml_pauli_dla_predict_variance((const qml_pauli_sum *const *)file.sums, file.count, o, NULL,
                                                    NULL, &prediction);
            qml_pauli_sum_free(o);
            if (!ps && quantity == QML_BP_LOSS)
                class_variance = prediction.loss_variance;
            else if (!ps && params == QML_PARAMS_FIRST && isfinite(prediction.first_gate_gradient_variance))
                class_variance = prediction.first_gate_gradient_variance;
            else if (!ps)
                snprintf(class_note, sizeof class_note,
                         "from the classification: the loss variance (--quantity loss) and the first gate's "
                         "(--param first, where its part counts it)");
            else
                snprintf(class_note, sizeof class_note, "%s", qml_last_error());
        }
    } else {
        size_t f = 0, n_families = sizeof families / sizeof families[0];
        while (f < n_families && strcmp(ansatz, families[f].name))
            f++;
        if (f == n_families)
            return cli_usage_error("bp: unknown ansatz '%s' (hea, tfim, tfim-global, sn, heisenberg, file:PATH)",
                                   ansatz);
        family = families[f].family;
        status = qml_bp_scan_family(&scan, family, &so, &lo);
    }
    if (line.shown)
        fputs("\r\033[K", stderr);
    if (status) {
        free_generator_file(&file);
        return cli_fail("bp", status);
    }

    size_t n_rows = qml_bp_scan_n_rows(scan);
    qml_bp_fit fit = {.size = sizeof fit};
    int fit_status = qml_bp_scan_fit(scan, &fit);
    if (fit_status && fit_status != QML_ERR_NOT_APPLICABLE) {
        qml_bp_scan_free(scan);
        free_generator_file(&file);
        return cli_fail("bp: fit", fit_status);
    }
    const char *model = fit.model == QML_BP_POWER ? "power" : "exponential";
    char fit_message[256] = "";
    if (fit_status) /* keep it: reading the rows clears the thread's last error */
        snprintf(fit_message, sizeof fit_message, "%s", qml_last_error());

    /* A decay rate and a choice between two 2-parameter models by chi^2:
     * with fewer than 4 points each fit has at most 1 degree of freedom and
     * the choice means little. Said on stderr (and in the JSON). */
    char fit_warning[160] = "";
    if (!fit_status && n_rows < 4)
        snprintf(fit_warning, sizeof fit_warning,
                 "only %zu point%s: the exponential/power choice by chi^2 needs at least 4 (give a wider --qubits)",
                 n_rows, n_rows == 1 ? "" : "s");
    if (fit_warning[0])
        fprintf(stderr, "qml: bp: warning: fit on %s\n", fit_warning);

    cli_json json;
    if (format == FORMAT_TABLE)
        printf("%4s %5s %8s %10s %14s %12s %14s %8s\n", "n", "L", "samples", "dim_g", "var_measured", "var_stderr",
               "var_predicted", "seconds");
    else if (format == FORMAT_CSV)
        printf("n,layers,samples,dim_g,var_measured,var_stderr,var_predicted\n");
    else {
        cli_json_begin(&json, stdout, "bp", argc, argv);
        cli_json_key(&json, "rows");
        cli_json_array_begin(&json);
    }
    char notes[4][800];
    size_t n_notes = 0;
    /* each row's simple ideals and their certificates, as `qml dla` prints
     * them: the algebras the scan closed for its predictions (owned by it) */
    const qml_lie_algebra **algebras = calloc(n_rows + 1, sizeof *algebras);
    if (!algebras) {
        qml_bp_scan_free(scan);
        free_generator_file(&file);
        return cli_fail("bp", QML_ERR_OUT_OF_MEMORY);
    }
    for (size_t r = 0; r < n_rows; r++) {
        qml_bp_row row = {.size = sizeof row};
        qml_bp_scan_row(scan, r, &row);
        if (format != FORMAT_CSV && qml_bp_scan_row_algebra(scan, r, &algebras[r]) != QML_OK)
            algebras[r] = NULL; /* none computed: max_dim 0 or exceeded */
        char dim[32] = "";
        bool classified_dim = false;
        if (row.dim_g_capped && file_classified) {
            /* past the closure's cap: the classification's dimension */
            classified_dim = true;
            if (file_class.dimension < 1e15)
                snprintf(dim, sizeof dim, "%.0f", file_class.dimension);
            else
                snprintf(dim, sizeof dim, "2^%.2f", file_class.log2_dimension);
            if (!isfinite(row.var_predicted) && isfinite(class_variance))
                row.var_predicted = class_variance;
        } else if (row.dim_g_capped)
            snprintf(dim, sizeof dim, ">%" PRIu64, max_dim);
        else if (row.dim_g)
            snprintf(dim, sizeof dim, "%" PRIu64, row.dim_g);
        /* AUTO found no simulator for this row: its measured cells stay
         * empty, and the reason is given (below the table, on stderr for
         * CSV, in the row for JSON) */
        char reason[768] = "";
        if (row.samples == 0)
            unmeasured_reason(file.count ? &file : NULL, family, row.n_qubits, row.layers, observable, threads,
                              reason, sizeof reason);
        if (reason[0] && format == FORMAT_TABLE && n_notes < 4)
            snprintf(notes[n_notes], sizeof notes[0], "n = %u not measured: %s", row.n_qubits, reason);
        if (reason[0] && format == FORMAT_TABLE)
            n_notes++;
        else if (reason[0] && format == FORMAT_CSV)
            fprintf(stderr, "qml: bp: n = %u not measured: %s\n", row.n_qubits, reason);
        if (format == FORMAT_TABLE && row.samples == 0) {
            printf("%4u %5u %8zu %10s %14s %12s ", row.n_qubits, row.layers, row.samples, dim, "", "");
            if (isfinite(row.var_predicted))
                printf("%14.6e", row.var_predicted);
            else
                printf("%14s", "");
            printf(" %8.2f\n", row.seconds);
        } else if (format == FORMAT_TABLE) {
            printf("%4u %5u %8zu %10s %14.6e %12.3e ", row.n_qubits, row.layers, row.samples, dim, row.var_measured,
                   row.var_stderr);
            if (isfinite(row.var_predicted))
                printf("%14.6e", row.var_predicted);
            else
                printf("%14s", "");
            printf(" %8.2f\n", row.seconds);
        } else if (format == FORMAT_CSV) {
            printf("%u,%u,%zu,%s,", row.n_qubits, row.layers, row.samples,
                   (row.dim_g && !row.dim_g_capped) || classified_dim ? dim : "");
            print_number(stdout, row.var_measured, format);
            putchar(',');
            print_number(stdout, row.var_stderr, format);
            putchar(',');
            print_number(stdout, row.var_predicted, format);
            putchar('\n');
        } else {
            cli_json_object_begin(&json);
            cli_json_kv_u64(&json, "n", row.n_qubits);
            cli_json_kv_u64(&json, "layers", row.layers);
            cli_json_kv_u64(&json, "samples", row.samples);
            cli_json_key(&json, "dim_g");
            if (row.dim_g && !row.dim_g_capped)
                cli_json_u64(&json, row.dim_g);
            else if (classified_dim && file_class.dimension < 9007199254740992.0)
                cli_json_u64(&json, (uint64_t)file_class.dimension);
            else
                cli_json_null(&json);
            cli_json_kv_bool(&json, "dim_g_capped", row.dim_g_capped != 0);
            if (file_classified) {
                cli_json_kv_string(&json, "dla_classified", file_class.name);
                cli_json_kv_number(&json, "log2_dim_g", file_class.log2_dimension);
            }
            cli_json_kv_number(&json, "var_measured", row.var_measured);
            cli_json_kv_number(&json, "var_stderr", row.var_stderr);
            cli_json_kv_number(&json, "var_predicted", row.var_predicted);
            if (reason[0])
                cli_json_kv_string(&json, "not_measured", reason);
            cli_json_ideals(&json, algebras[r]);
            cli_json_kv_number(&json, "seconds", row.seconds);
            cli_json_object_end(&json);
        }
    }
    for (size_t r = 0; r < n_rows && format == FORMAT_TABLE; r++) {
        qml_bp_row row = {.size = sizeof row};
        qml_bp_scan_row(scan, r, &row);
        char lead[32];
        snprintf(lead, sizeof lead, "# n = %u: ", row.n_qubits);
        if (algebras[r])
            cli_print_ideals(stdout, algebras[r], lead);
    }
    free(algebras);
    for (size_t k = 0; k < n_notes && k < 4; k++)
        printf("# %s\n", notes[k]);
    if (n_notes > 4)
        printf("# ... and %zu more rows not measured\n", n_notes - 4);
    if (file_classified && class_note[0] && format != FORMAT_JSON)
        fprintf(stderr, "qml: bp: no variance predicted from the classification: %s\n", class_note);
    if (format == FORMAT_JSON) {
        cli_json_array_end(&json);
        if (file_classified)
            cli_json_kv_string(&json, "prediction_note", class_note[0] ? class_note : NULL);
        cli_json_key(&json, "fit");
        if (fit_status) {
            cli_json_null(&json);
        } else {
            cli_json_object_begin(&json);
            cli_json_kv_string(&json, "model", model);
            cli_json_kv_number(&json, "rate", fit.rate);
            cli_json_kv_number(&json, "rate_stderr", fit.rate_stderr);
            cli_json_kv_number(&json, "exponential_rate", fit.exponential_rate);
            cli_json_kv_number(&json, "exponential_stderr", fit.exponential_stderr);
            cli_json_kv_number(&json, "exponential_chi2", fit.exponential_chi2);
            cli_json_kv_number(&json, "power_rate", fit.power_rate);
            cli_json_kv_number(&json, "power_stderr", fit.power_stderr);
            cli_json_kv_number(&json, "power_chi2", fit.power_chi2);
            cli_json_object_end(&json);
        }
        cli_json_kv_string(&json, "fit_note", fit_status ? fit_message : NULL);
        cli_json_kv_string(&json, "fit_warning", fit_warning[0] ? fit_warning : NULL);
        cli_json_end(&json);
    } else {
        /* CSV stays pure CSV on stdout (every line a row): the fit, which is
         * no row, goes to stderr. */
        FILE *to = format == FORMAT_CSV ? stderr : stdout;
        const char *lead = format == FORMAT_CSV ? "qml: bp: " : "";
        if (fit_status)
            fprintf(to, "%sfit: not applicable (%s)\n", lead, fit_message);
        else
            fprintf(to, "%sfit: %s, rate %.4g +- %.2g (exponential: -dlnVar/dn = %.4g +- %.2g, chi2 %.4g; "
                    "power: -dlnVar/dln n = %.4g +- %.2g, chi2 %.4g; smaller chi2 wins)\n",
                    lead, model, fit.rate, fit.rate_stderr, fit.exponential_rate, fit.exponential_stderr,
                    fit.exponential_chi2, fit.power_rate, fit.power_stderr, fit.power_chi2);
    }
    qml_bp_scan_free(scan);
    free_generator_file(&file);
    return 0;
}

/* Why AUTO left a row unmeasured. The row records no message, so the
 * row's circuit is built again and the library asked: which backend
 * would run (qml_backend_select), and whether its memory check passes
 * (qml_gradient_stats_create refuses before it allocates). The initial
 * state is |0...0> here (a Neel state of 50 qubits cannot be held). */
static void unmeasured_reason(const generator_file *file, qml_ansatz_family family, unsigned n, unsigned layers,
                              const char *observable_text, unsigned threads, char *reason, size_t size)
{
    qml_circuit *circuit = NULL;
    qml_pauli_sum *observable = NULL;
    qml_gradient_stats *stats = NULL;
    const char *text = observable_text ? observable_text
                       : (file || family == QML_ANSATZ_HEA) ? "Z0"
                                                            : "Z0 Z1";
    snprintf(reason, size, "no simulator fits this row");
    int status = qml_circuit_create(&circuit, n);
    if (!status)
        status = file ? qml_ansatz_layered(circuit, (const qml_pauli_sum *const *)file->sums, file->count, NULL,
                                           layers, 0)
                      : qml_ansatz_family_append(circuit, family, layers);
    if (!status)
        status = qml_pauli_sum_parse(&observable, n, text);
    qml_backend chosen = QML_BACKEND_AUTO;
    if (!status)
        status = qml_backend_select(circuit, observable, NULL, QML_BACKEND_AUTO, &chosen, NULL);
    if (status == QML_ERR_NOT_APPLICABLE || status == QML_ERR_LIMIT) {
        snprintf(reason, size, "%s", qml_last_error());
    } else if (!status) {
        qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
        lo.samples = 2;
        lo.n_threads = threads;
        lo.backend = chosen;
        status = qml_gradient_stats_create(&stats, circuit, observable, NULL, NULL, 0, &lo);
        if (status)
            snprintf(reason, size, "%s", qml_last_error());
    }
    qml_gradient_stats_free(stats);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
}

/* A JSON string with the characters JSON needs escaped. */
static void json_text(FILE *to, const char *text)
{
    fputc('"', to);
    for (const char *c = text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(to, "\\%c", *c);
        else if ((unsigned char)*c < 0x20)
            fprintf(to, "\\u%04x", (unsigned)(unsigned char)*c);
        else
            fputc(*c, to);
    }
    fputc('"', to);
}

/* The prediction from the Pauli-string classification for an algebra
 * whose structure the closure did not give (it stopped at the cap, or its
 * structure was not analysed): the first n_weights elements of a circuit's
 * (partial) algebra are its distinct transported generators, then
 * brackets, all in g, so they generate g (as qml diagnose does). */
static int classified_prediction(const qml_lie_algebra *algebra, size_t n_weights, const qml_pauli_sum *observable,
                                 qml_lie_prediction *prediction)
{
    size_t k = qml_lie_algebra_dim(algebra);
    if (k > n_weights)
        k = n_weights;
    qml_pauli_sum **generators = calloc(k ? k : 1, sizeof *generators);
    if (!generators)
        return QML_ERR_OUT_OF_MEMORY;
    int status = k ? QML_OK : QML_ERR_NOT_APPLICABLE;
    for (size_t i = 0; i < k && status == QML_OK; i++)
        status = qml_lie_algebra_basis_element(algebra, i, &generators[i]);
    if (status == QML_OK)
        status = qml_pauli_dla_predict_variance((const qml_pauli_sum *const *)generators, k, observable, NULL, NULL,
                                                prediction);
    for (size_t i = 0; i < k; i++)
        qml_pauli_sum_free(generators[i]);
    free(generators);
    return status;
}

/* One row for an OpenQASM circuit: the measured variance of the selected
 * quantity at the file's size beside the Lie-algebraic prediction. */
static int bp_of_circuit(const char *path, const char *observable_text, qml_bp_quantity quantity,
                         qml_landscape_options *lo, size_t max_dim, output_format format)
{
    qml_circuit *circuit = NULL;
    qml_pauli_sum *observable = NULL;
    qml_gradient_stats *stats = NULL;
    qml_lie_algebra *algebra = NULL;
    double *features = NULL;
    int exit_code = 1;
    int status = qml_circuit_load_qasm(&circuit, path);
    if (status) {
        cli_fail("bp: --circuit", status);
        goto done;
    }
    unsigned n = qml_circuit_n_qubits(circuit);
    if ((status = qml_pauli_sum_parse(&observable, n, observable_text ? observable_text : "Z0"))) {
        cli_fail("bp: --observable", status);
        goto done;
    }
    size_t n_features = qml_circuit_n_features(circuit);
    features = calloc(n_features ? n_features : 1, sizeof *features);
    if (!features) {
        fprintf(stderr, "qml: bp: out of memory\n");
        goto done;
    }
    double t0 = cli_seconds();
    /* With --backend auto and no simulator that fits, the row is printed
     * unmeasured with the library's reason (as a scan's row is). */
    char reason[768] = "";
    status = qml_gradient_stats_create(&stats, circuit, observable, NULL, features, n_features, lo);
    if ((status == QML_ERR_LIMIT || status == QML_ERR_NOT_APPLICABLE) && lo->backend == QML_BACKEND_AUTO) {
        snprintf(reason, sizeof reason, "%s", qml_last_error());
    } else if (status) {
        cli_fail("bp: --circuit", status);
        goto done;
    }
    double seconds = cli_seconds() - t0, variance = (double)NAN, stderr_ = (double)NAN;
    if (stats && quantity == QML_BP_LOSS)
        qml_gradient_stats_loss(stats, NULL, NULL, &variance, &stderr_);
    else if (stats)
        qml_gradient_stats_summary(stats, &variance, &stderr_);
    double predicted = (double)NAN;
    char dim[32] = "";
    if (max_dim > 0) {
        qml_lie_options options = QML_LIE_OPTIONS_INIT;
        options.max_dim = max_dim;
        options.n_threads = lo->n_threads;
        status = qml_lie_algebra_from_circuit(&algebra, circuit, &options);
        if (status == QML_ERR_LIMIT)
            snprintf(dim, sizeof dim, ">%zu", max_dim);
        else if (status == QML_OK)
            snprintf(dim, sizeof dim, "%zu", qml_lie_algebra_dim(algebra));
        qml_lie_prediction prediction = QML_LIE_PREDICTION_INIT;
        int ps = QML_ERR_LIMIT;
        if (status == QML_OK && qml_lie_algebra_structure_known(algebra))
            ps = qml_lie_algebra_predict_variance(algebra, NULL, observable, NULL, &prediction);
        else if (algebra && (status == QML_OK || status == QML_ERR_LIMIT))
            ps = classified_prediction(algebra, qml_circuit_n_weights(circuit), observable, &prediction);
        if (ps == QML_OK)
            predicted = quantity == QML_BP_LOSS                ? prediction.loss_variance
                        : lo->params == QML_PARAMS_FIRST  ? prediction.first_gate_gradient_variance
                        : lo->params == QML_PARAMS_MIDDLE ? prediction.middle_gate_gradient_variance
                                                          : (double)NAN;
    }
    if (format == FORMAT_TABLE) {
        printf("%4s %5s %8s %10s %14s %12s %14s %8s\n", "n", "L", "samples", "dim_g", "var_measured", "var_stderr",
               "var_predicted", "seconds");
        if (reason[0])
            printf("%4u %5s %8d %10s %14s %12s ", n, "-", 0, dim, "", "");
        else
            printf("%4u %5s %8zu %10s %14.6e %12.3e ", n, "-", lo->samples, dim, variance, stderr_);
        if (isfinite(predicted))
            printf("%14.6e", predicted);
        else
            printf("%14s", "");
        printf(" %8.2f\n# %s; fit: not applicable (one circuit)\n", seconds, path);
        if (algebra && status == QML_OK)
            cli_print_ideals(stdout, algebra, "# ");
        if (reason[0])
            printf("# not measured: %s\n", reason);
    } else if (format == FORMAT_CSV) {
        printf("n,L,samples,dim_g,var_measured,var_stderr,var_predicted\n%u,,%zu,%s,", n,
               reason[0] ? (size_t)0 : lo->samples, dim[0] == '>' ? "" : dim);
        print_number(stdout, variance, format);
        putchar(',');
        print_number(stdout, stderr_, format);
        putchar(',');
        print_number(stdout, predicted, format);
        putchar('\n');
        if (reason[0])
            fprintf(stderr, "qml: bp: not measured: %s\n", reason);
    } else {
        printf("{\"circuit\":\"%s\",\"rows\":[{\"n\":%u,\"L\":null,\"samples\":%zu,\"dim_g\":%s,\"var_measured\":",
               path, n, reason[0] ? (size_t)0 : lo->samples, dim[0] && dim[0] != '>' ? dim : "null");
        print_number(stdout, variance, format);
        printf(",\"var_stderr\":");
        print_number(stdout, stderr_, format);
        printf(",\"var_predicted\":");
        print_number(stdout, predicted, format);
        if (reason[0]) {
            printf(",\"not_measured\":");
            json_text(stdout, reason);
        }
        printf("}],\"fit\":null}\n");
    }
    exit_code = 0;
done:
    qml_lie_algebra_free(algebra);
    qml_gradient_stats_free(stats);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
    free(features);
    return exit_code;
}

/* Finite numbers round-trip (%.17g); NaN is empty in CSV and null in JSON. */
static void print_number(FILE *to, double value, output_format format)
{
    if (isfinite(value))
        fprintf(to, "%.17g", value);
    else if (format == FORMAT_JSON)
        fputs("null", to);
}

static int show_progress(const char *stage, size_t done, size_t total, void *user)
{
    progress_line *line = user;
    double now = cli_seconds();
    if (done < total && now - line->last < 0.2)
        return 0;
    line->last = now;
    line->shown = 1;
    fprintf(stderr, "\r\033[K%s: %zu/%zu samples", stage, done, total);
    fflush(stderr);
    return 0;
}

static void free_generator_file(generator_file *file)
{
    for (size_t k = 0; k < file->count; k++)
        qml_pauli_sum_free(file->sums[k]);
    free(file->sums);
    file->sums = NULL;
    file->count = 0;
}

/* Two passes: parse every line with its own qubit count to find the largest,
 * then parse them all again on that many qubits. Lines have no length cap
 * (one generator may be a long sum); the file is bounded by CLI_TEXT_MAX. */
static int read_generator_file(const char *path, generator_file *out)
{
    char *text = cli_read_text("bp", path);
    if (!text)
        return 1;
    cli_lines lines = {0};
    int result = 0;
    if (cli_split_lines(text, &lines))
        result = cli_usage_error("bp: out of memory reading '%s'", path);
    unsigned n = 0;
    for (size_t i = 0; i < lines.count && !result; i++) {
        qml_pauli_sum *sum = NULL;
        int status = qml_pauli_sum_parse(&sum, 0, lines.lines[i]);
        if (status) {
            char what[512];
            snprintf(what, sizeof what, "bp: %s line %zu", path, lines.numbers[i]);
            result = cli_fail(what, status);
        } else if (qml_pauli_sum_n_qubits(sum) > n) {
            n = qml_pauli_sum_n_qubits(sum);
        }
        qml_pauli_sum_free(sum);
    }
    if (!result && lines.count == 0)
        result = cli_usage_error("bp: '%s' holds no generator", path);
    if (!result) {
        out->sums = calloc(lines.count, sizeof *out->sums);
        if (!out->sums)
            result = cli_usage_error("bp: out of memory reading '%s'", path);
    }
    for (size_t i = 0; i < lines.count && !result; i++) {
        int status = qml_pauli_sum_parse(&out->sums[i], n, lines.lines[i]);
        if (status) {
            char what[512];
            snprintf(what, sizeof what, "bp: %s line %zu", path, lines.numbers[i]);
            result = cli_fail(what, status);
        } else {
            out->count = i + 1;
        }
    }
    cli_lines_free(&lines);
    free(text);
    if (result)
        free_generator_file(out);
    return result;
}

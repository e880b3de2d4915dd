/*
 * cmd_dla.c: `qml dla [--json] [--qubits N] [--max-dim D] [--threads T]
 * [--tolerance TOL] [--no-exact] [--structure-work W] [--purity OP] [--state zero] FILE`: the dynamical Lie algebra of the
 * generators in FILE (one per line, `#` comments, `-` for stdin).
 */
#include "cli.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Why the structure is not known, as a sentence ("" when it is). */
static const char *structure_reason(const qml_lie_algebra *algebra, char *buffer, size_t size)
{
    qml_lie_structure_state state = QML_LIE_STRUCTURE_UNRESOLVED;
    size_t cap = 0;
    qml_lie_algebra_structure_state(algebra, &state, &cap);
    switch (state) {
    case QML_LIE_STRUCTURE_KNOWN:
        snprintf(buffer, size, "%s", "");
        break;
    case QML_LIE_STRUCTURE_PARTIAL:
        snprintf(buffer, size, "partial algebra");
        break;
    case QML_LIE_STRUCTURE_ABOVE_CAP:
        if (*qml_lie_algebra_structure_message(algebra))
            snprintf(buffer, size, "dimension %zu above the cap %zu of the dense analysis, and %s",
                     qml_lie_algebra_dim(algebra), cap, qml_lie_algebra_structure_message(algebra));
        else
            snprintf(buffer, size, "dimension %zu above the cap %zu of the dense analysis", qml_lie_algebra_dim(algebra),
                     cap);
        break;
    case QML_LIE_STRUCTURE_SPLIT_CAP:
    case QML_LIE_STRUCTURE_INCONSISTENT:
        snprintf(buffer, size, "%s", qml_lie_algebra_structure_message(algebra));
        break;
    default: {
        qml_lie_conditioning c = QML_LIE_CONDITIONING_INIT;
        qml_lie_algebra_conditioning(algebra, &c);
        if (c.largest_rejected > 1e-3)
            snprintf(buffer, size,
                     "the floating-point basis is not closed (a rejected bracket left %.2g of its norm outside it)",
                     c.largest_rejected);
        else
            snprintf(buffer, size, "not resolved into simple ideals that pass the checks");
        break;
    }
    }
    return buffer;
}

/* The state as a JSON word. */
static const char *structure_state_name(const qml_lie_algebra *algebra)
{
    qml_lie_structure_state state = QML_LIE_STRUCTURE_UNRESOLVED;
    qml_lie_algebra_structure_state(algebra, &state, NULL);
    static const char *names[] = {"known", "partial", "above_cap", "unresolved", "split_cap", "inconsistent"};
    return (unsigned)state < 6 ? names[state] : "unresolved";
}

/* Past the enumeration limit, the classification is the answer; with
 * --purity OP --state zero, the variance predicted from it
 * (qml_pauli_dla_predict_variance, no basis). */
/* The "prediction" object of --json: source names where it came from (NULL
 * for the algebra's own prediction, which says nothing). */
static void json_prediction(cli_json *out, const char *source, const qml_lie_prediction *prediction, int status)
{
    cli_json_key(out, "prediction");
    cli_json_object_begin(out);
    if (source)
        cli_json_kv_string(out, "source", source);
    cli_json_kv_string(out, "hypothesis", qml_lie_hypothesis_string(prediction->hypothesis));
    cli_json_kv_bool(out, "applicable", status == 0);
    cli_json_kv_number(out, "loss_mean", prediction->loss_mean);
    cli_json_kv_number(out, "loss_variance", prediction->loss_variance);
    cli_json_kv_number(out, "first_gate_gradient_variance", prediction->first_gate_gradient_variance);
    cli_json_kv_number(out, "middle_gate_gradient_variance", prediction->middle_gate_gradient_variance);
    cli_json_kv_string(out, "message", prediction->message);
    cli_json_object_end(out);
}

static int print_classification(qml_pauli_sum *const *generators, size_t n_generators, const qml_dla_summary *summary,
                                double seconds, const qml_pauli_sum *observable, bool zero_state, bool json, int argc,
                                char **argv)
{
    unsigned n_qubits = qml_pauli_sum_n_qubits(generators[0]);
    qml_lie_prediction prediction = QML_LIE_PREDICTION_INIT;
    int prediction_status = QML_ERR_NOT_APPLICABLE;
    if (observable && zero_state) {
        prediction_status = qml_pauli_dla_predict_variance((const qml_pauli_sum *const *)generators, n_generators,
                                                           observable, NULL, NULL, &prediction);
        if (prediction_status && prediction_status != QML_ERR_NOT_APPLICABLE && prediction_status != QML_ERR_LIMIT)
            return cli_fail("dla: prediction", prediction_status);
        if (prediction_status == QML_ERR_LIMIT)
            snprintf(prediction.message, sizeof prediction.message, "%s", qml_last_error());
    } else if (observable) {
        fprintf(stderr, "qml: dla: the purities need a basis of the algebra; dim %.6g is past the enumeration "
                        "limit, so only the classification is given (with --state zero, the predicted variance)\n",
                summary->dimension);
    }
    bool predicted = observable && zero_state;
    if (json) {
        cli_json out;
        cli_json_begin(&out, stdout, "dla", argc, argv);
        cli_json_kv_u64(&out, "qubits", n_qubits);
        cli_json_key(&out, "dim");
        if (summary->dimension < 9007199254740992.0)
            cli_json_u64(&out, (uint64_t)summary->dimension);
        else
            cli_json_null(&out);
        cli_json_kv_number(&out, "log2_dim", summary->log2_dimension);
        cli_json_kv_bool(&out, "partial", false);
        cli_json_kv_bool(&out, "classified", true);
        cli_json_kv_string(&out, "classified_name", summary->name);
        cli_json_kv_bool(&out, "full", summary->is_full != 0);
        cli_json_kv_u64(&out, "centre_dim", summary->centre_dim);
        cli_json_kv_u64(&out, "n_ideals", summary->n_components);
        cli_json_kv_number(&out, "seconds", seconds);
        if (predicted) {
            json_prediction(&out, "classification", &prediction, prediction_status);
        }
        cli_json_end(&out);
    } else {
        printf("qubits      %u\n", n_qubits);
        if (summary->dimension < 9007199254740992.0)
            printf("dim         %.0f%s\n", summary->dimension, summary->is_full ? " (contains su(2^n))" : "");
        else
            printf("dim         2^%.6f%s\n", summary->log2_dimension, summary->is_full ? " (contains su(2^n))" : "");
        printf("algebra     %s (classified from the strings, without enumeration)\n", summary->name);
        printf("centre dim  %zu\n", summary->centre_dim);
        printf("ideals      %zu\n", summary->n_components);
        printf("seconds     %.4f\n", seconds);
        if (predicted && prediction_status == QML_OK) {
            printf("hypothesis                %s\n", qml_lie_hypothesis_string(prediction.hypothesis));
            printf("predicted mean            %.10g\n", prediction.loss_mean);
            printf("predicted Var[loss]       %.10g\n", prediction.loss_variance);
            printf("predicted Var[grad] mid   %.10g\n", prediction.middle_gate_gradient_variance);
            printf("note                      %s\n", prediction.message);
        } else if (predicted) {
            printf("prediction                not available: %s\n", prediction.message);
        }
    }
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: qml dla [--json] [--qubits N] [--max-dim D] [--threads T] [--tolerance TOL] [--no-exact]\n"
                 "               [--structure-work W] [--purity OP] [--state zero] FILE\n"
                 "  FILE: one generator (a Pauli sum) per line; blank lines and # comments ignored; - for stdin\n"
                 "  --no-exact: let the tolerance (default 1e-9) decide the dimension instead of exact arithmetic\n"
                 "  --structure-work W: budget in multiply-adds of the iterative structure analysis of large\n"
                 "    Pauli-sum algebras (default 0: 4e9); a simple ideal of dimension m in dimension d needs ~4 m^2 d\n"
                 "  --purity OP: g-purities of the observable OP; with --state zero also the predicted variance\n"
                 "  --circuit FILE.qasm instead of FILE: the DLA of an OpenQASM circuit's weight generators\n"
                 "    (each moved to the front of the circuit through the fixed gates before it)\n");
}

static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned)(unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

static void print_number(double v)
{
    if (v != v)
        printf("null");
    else
        printf("%.17g", v);
}

/* `qml dla --circuit FILE.qasm`: the algebra of an OpenQASM circuit's weight
 * generators (qml_lie_algebra_from_circuit), its structure, and with
 * --purity OP [--state zero] the purities and the variance prediction. */
static int dla_of_circuit(const char *path, const char *purity_text, bool zero_state, bool json, size_t max_dim,
                          unsigned threads, double structure_work)
{
    qml_circuit *circuit = NULL;
    qml_pauli_sum *observable = NULL;
    qml_lie_algebra *algebra = NULL;
    int status = qml_circuit_load_qasm(&circuit, path);
    if (status)
        return cli_fail("dla: --circuit", status);
    unsigned n_qubits = qml_circuit_n_qubits(circuit);
    if (purity_text && (status = qml_pauli_sum_parse(&observable, n_qubits, purity_text))) {
        qml_circuit_free(circuit);
        return cli_fail("dla: --purity", status);
    }
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.max_dim = max_dim;
    options.n_threads = threads;
    options.structure_max_work = structure_work;
    double t0 = cli_seconds();
    status = qml_lie_algebra_from_circuit(&algebra, circuit, &options);
    double seconds = cli_seconds() - t0;
    bool partial = status == QML_ERR_LIMIT;
    int exit_code = partial ? 1 : 0;
    if (status && !partial) {
        exit_code = cli_fail("dla: --circuit", status);
        goto done;
    }
    if (partial)
        fprintf(stderr, "qml: dla: %s\n", qml_last_error());
    size_t m = qml_lie_algebra_n_ideals(algebra);
    double total_o = (double)NAN, total_r = (double)NAN;
    qml_lie_prediction prediction = QML_LIE_PREDICTION_INIT;
    int prediction_status = QML_ERR_NOT_APPLICABLE;
    if (observable && !partial) {
        qml_lie_algebra_purity(algebra, observable, &total_o, NULL, 0, NULL);
        if (zero_state) {
            qml_lie_algebra_state_purity(algebra, NULL, &total_r, NULL, 0, NULL);
            prediction_status = qml_lie_algebra_predict_variance(algebra, NULL, observable, NULL, &prediction);
        }
    }
    if (json) {
        printf("{\"circuit\": ");
        print_json_string(path);
        printf(", \"qubits\": %u, \"weights\": %zu, \"dim\": %zu, \"partial\": %s, \"structure_known\": %s, "
               "\"full\": %s, \"center_dim\": %zu, \"ideals\": [",
               n_qubits, qml_circuit_n_weights(circuit), qml_lie_algebra_dim(algebra), partial ? "true" : "false",
               qml_lie_algebra_structure_known(algebra) ? "true" : "false",
               qml_lie_algebra_is_full(algebra) ? "true" : "false", qml_lie_algebra_center_dim(algebra));
        for (size_t j = 0; j < m; j++) {
            size_t dim = 0, rank = 0;
            const char *names = "";
            qml_lie_algebra_ideal(algebra, j, &dim, &rank, &names);
            printf("%s{\"dim\": %zu, \"rank\": %zu, \"names\": ", j ? ", " : "", dim, rank);
            print_json_string(names);
            printf("}");
        }
        printf("], \"seconds\": %.6f, \"purity_observable\": ", seconds);
        print_number(total_o);
        printf(", \"purity_state\": ");
        print_number(total_r);
        printf(", \"predicted_loss_variance\": ");
        print_number(prediction_status ? (double)NAN : prediction.loss_variance);
        printf("}\n");
    } else {
        printf("circuit     %s (%zu weights)\n", path, qml_circuit_n_weights(circuit));
        printf("qubits      %u\n", n_qubits);
        printf("dim         %zu%s%s\n", qml_lie_algebra_dim(algebra), partial ? " (partial: max-dim reached)" : "",
               qml_lie_algebra_is_full(algebra) ? " (contains su(2^n))" : "");
        if (qml_lie_algebra_structure_known(algebra)) {
            printf("centre dim  %zu\nideals      %zu\n", qml_lie_algebra_center_dim(algebra), m);
            for (size_t j = 0; j < m; j++) {
                size_t dim = 0, rank = 0;
                const char *names = "";
                qml_lie_algebra_ideal(algebra, j, &dim, &rank, &names);
                char cert[96];
                cli_certificate_words(algebra, j, cert, sizeof cert);
                printf("  ideal %zu: dim %zu, rank %zu: %s%s%s%s\n", j, dim, rank, names,
                       cert[0] ? " (simple: " : "", cert, cert[0] ? ")" : "");
            }
            if (qml_lie_algebra_structure_message(algebra)[0])
                printf("certificates %s\n", qml_lie_algebra_structure_message(algebra));
        } else {
            char reason[512];
            printf("structure   not computed: %s\n", structure_reason(algebra, reason, sizeof reason));
        }
        printf("seconds     %.4f\n", seconds);
        if (observable && !partial)
            printf("purity of the observable  %.10g\n", total_o);
        if (zero_state && !partial)
            printf("purity of |0...0>         %.10g\n", total_r);
        if (prediction_status == QML_OK)
            printf("predicted Var[loss]       %.10g\nnote                      %s\n", prediction.loss_variance,
                   prediction.message);
    }
done:
    qml_lie_algebra_free(algebra);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
    return exit_code;
}

int cmd_dla(int argc, char **argv)
{
    bool json = false, zero_state = false;
    unsigned n_qubits = 0, threads = 1;
    uint64_t max_dim = 0;
    const char *file = NULL, *purity_text = NULL, *circuit_file = NULL;
    bool exact = true;
    double tolerance = 1e-9, structure_work = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--qubits") && i + 1 < argc) {
            if (!cli_parse_unsigned(argv[++i], &n_qubits) || n_qubits == 0)
                return cli_usage_error("dla: --qubits needs a positive integer, not '%s'", argv[i]);
        } else if (!strcmp(a, "--max-dim") && i + 1 < argc) {
            if (!cli_parse_u64(argv[++i], &max_dim))
                return cli_usage_error("dla: --max-dim needs a non-negative integer, not '%s'", argv[i]);
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (!cli_parse_unsigned(argv[++i], &threads))
                return cli_usage_error("dla: --threads needs a non-negative integer, not '%s'", argv[i]);
        } else if (!strcmp(a, "--no-exact")) {
            exact = false;
        } else if (!strcmp(a, "--tolerance") && i + 1 < argc) {
            char *end = NULL;
            tolerance = strtod(argv[++i], &end);
            if (!end || *end || !(tolerance > 0 && tolerance < 1))
                return cli_usage_error("dla: --tolerance needs a number in (0, 1), not '%s'", argv[i]);
        } else if (!strcmp(a, "--structure-work") && i + 1 < argc) {
            char *end = NULL;
            structure_work = strtod(argv[++i], &end);
            if (!end || *end || !(structure_work >= 0))
                return cli_usage_error("dla: --structure-work needs a number >= 0, not '%s'", argv[i]);
        } else if (!strcmp(a, "--circuit") && i + 1 < argc) {
            circuit_file = argv[++i];
        } else if (!strcmp(a, "--purity") && i + 1 < argc) {
            purity_text = argv[++i];
        } else if (!strcmp(a, "--state") && i + 1 < argc) {
            if (strcmp(argv[++i], "zero"))
                return cli_usage_error("dla: --state supports only 'zero', not '%s'", argv[i]);
            zero_state = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_usage_error("dla: unknown or incomplete option '%s'", a);
        } else if (!file) {
            file = a;
        } else {
            return cli_usage_error("dla: more than one FILE ('%s' and '%s')", file, a);
        }
    }
    if (circuit_file && file)
        return cli_usage_error("dla: give FILE or --circuit FILE.qasm, not both");
    if (!file && !circuit_file) {
        usage(stderr);
        return 2;
    }
    if (zero_state && !purity_text)
        return cli_usage_error("dla: --state zero needs --purity OP (the observable)");

    if (circuit_file)
        return dla_of_circuit(circuit_file, purity_text, zero_state, json, (size_t)max_dim, threads, structure_work);
    char *text = cli_read_text("dla", file);
    if (!text)
        return 1;
    cli_lines lines = {0};
    int exit_code = 0;
    qml_pauli_sum **generators = NULL;
    qml_pauli_sum *observable = NULL;
    qml_lie_algebra *algebra = NULL;
    size_t n_generators = 0;
    if (cli_split_lines(text, &lines)) {
        fprintf(stderr, "qml: dla: out of memory\n");
        exit_code = 1;
        goto done;
    }
    if (lines.count == 0) {
        exit_code = cli_usage_error("dla: '%s' has no generator", file);
        goto done;
    }
    /* infer the qubit count from the widest generator unless given */
    if (n_qubits == 0) {
        for (size_t i = 0; i < lines.count; i++) {
            qml_pauli_sum *s = NULL;
            int status = qml_pauli_sum_parse(&s, 0, lines.lines[i]);
            if (status) {
                char what[512];
                snprintf(what, sizeof what, "dla: %s line %zu", file, lines.numbers[i]);
                exit_code = cli_fail(what, status);
                goto done;
            }
            if (qml_pauli_sum_n_qubits(s) > n_qubits)
                n_qubits = qml_pauli_sum_n_qubits(s);
            qml_pauli_sum_free(s);
        }
    }
    generators = calloc(lines.count, sizeof *generators);
    if (!generators) {
        fprintf(stderr, "qml: dla: out of memory\n");
        exit_code = 1;
        goto done;
    }
    for (size_t i = 0; i < lines.count; i++, n_generators++) {
        int status = qml_pauli_sum_parse(&generators[i], n_qubits, lines.lines[i]);
        if (status) {
            char what[512];
            snprintf(what, sizeof what, "dla: %s line %zu", file, lines.numbers[i]);
            exit_code = cli_fail(what, status);
            goto done;
        }
    }
    if (purity_text) {
        int status = qml_pauli_sum_parse(&observable, n_qubits, purity_text);
        if (status) {
            exit_code = cli_fail("dla: --purity", status);
            goto done;
        }
    }

    /* Generators that are single Pauli strings: the classification
     * (qml_pauli_dla_classify, docs/lie.md) names the algebra at any n. It
     * is asked not to enumerate anything here: where it does not decide,
     * the closure below is the one enumeration (and past its limit the
     * classification may still close a part within its own cap). Past the
     * enumeration limit (--max-dim, else 2^20) it is the whole answer. */
    qml_dla_summary summary = {.size = sizeof summary};
    bool classified = false;
    char classify_note[320] = "";
    bool strings_only = true;
    double limit = max_dim ? (double)max_dim : 1048576.0;
    for (size_t i = 0; i < n_generators && strings_only; i++)
        strings_only = qml_pauli_sum_n_terms(generators[i]) == 1;
    if (strings_only) {
        double c0 = cli_seconds();
        qml_pauli_dla_options dla_options = QML_PAULI_DLA_OPTIONS_INIT;
        dla_options.no_closure = 1;
        int cs = qml_pauli_dla_classify_with((const qml_pauli_sum *const *)generators, n_generators, &dla_options,
                                             &summary);
        double classify_seconds = cli_seconds() - c0;
        if (!cs) {
            classified = true;
        } else if (cs == QML_ERR_LIMIT || cs == QML_ERR_NOT_APPLICABLE) {
            snprintf(classify_note, sizeof classify_note, "%s", qml_last_error());
        } else {
            exit_code = cli_fail("dla: classification", cs);
            goto done;
        }
        if (classified && summary.dimension > limit) {
            exit_code = print_classification(generators, n_generators, &summary, classify_seconds, observable,
                                             zero_state, json, argc, argv);
            goto done;
        }
    }

    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.max_dim = (size_t)max_dim;
    options.n_threads = threads;
    options.tolerance = tolerance;
    options.exact = exact;
    options.structure_max_work = structure_work;
    double t0 = cli_seconds();
    int status = qml_lie_algebra_create(&algebra, (const qml_pauli_sum *const *)generators, n_generators, &options);
    double seconds = cli_seconds() - t0;
    bool partial = status == QML_ERR_LIMIT;
    if (status && !partial) {
        exit_code = cli_fail("dla", status);
        goto done;
    }
    if (partial && strings_only && !classified) {
        /* the closure stopped at the limit: the classification closes only
         * the undecided part, within its own cap */
        double c0 = cli_seconds();
        int cs = qml_pauli_dla_classify((const qml_pauli_sum *const *)generators, n_generators, &summary);
        double classify_seconds = cli_seconds() - c0;
        if (!cs && summary.dimension > limit) {
            exit_code = print_classification(generators, n_generators, &summary, classify_seconds, observable,
                                             zero_state, json, argc, argv);
            goto done;
        }
    }
    if (partial)
        fprintf(stderr, "qml: dla: %s\n", qml_last_error());
    qml_lie_conditioning conditioning = QML_LIE_CONDITIONING_INIT;
    qml_lie_algebra_conditioning(algebra, &conditioning);
    /* On a knife's edge, say what a tolerance alone would give. */
    size_t tolerance_dims[2] = {0, 0};
    static const double tolerances[2] = {1e-8, 1e-6};
    if (conditioning.tolerance_sensitive && !partial) {
        for (int t = 0; t < 2; t++) {
            qml_lie_options loose = options;
            loose.exact = 0;
            loose.tolerance = tolerances[t];
            qml_lie_algebra *other = NULL;
            int st = qml_lie_algebra_create(&other, (const qml_pauli_sum *const *)generators, n_generators, &loose);
            if (!st || st == QML_ERR_LIMIT)
                tolerance_dims[t] = qml_lie_algebra_dim(other);
            qml_lie_algebra_free(other);
        }
    }

    size_t m = qml_lie_algebra_n_ideals(algebra);
    double total_o = 0, total_r = 0;
    double *per_o = calloc(m + 1, sizeof *per_o), *per_r = calloc(m + 1, sizeof *per_r);
    qml_lie_prediction prediction = QML_LIE_PREDICTION_INIT;
    int prediction_status = QML_OK;
    if (!per_o || !per_r) {
        free(per_o);
        free(per_r);
        fprintf(stderr, "qml: dla: out of memory\n");
        exit_code = 1;
        goto done;
    }
    if (observable && !partial) {
        size_t count = 0;
        status = qml_lie_algebra_purity(algebra, observable, &total_o, per_o, m + 1, &count);
        if (!status && zero_state) {
            status = qml_lie_algebra_state_purity(algebra, NULL, &total_r, per_r, m + 1, &count); /* |0...0> */
            if (!status) {
                prediction_status = qml_lie_algebra_predict_variance(algebra, NULL, observable, NULL, &prediction);
                if (prediction_status && prediction_status != QML_ERR_NOT_APPLICABLE && prediction_status != QML_ERR_LIMIT)
                    status = prediction_status;
            }
        }
        if (status) {
            free(per_o);
            free(per_r);
            exit_code = cli_fail("dla: purity", status);
            goto done;
        }
    }

    if (json) {
        cli_json out;
        cli_json_begin(&out, stdout, "dla", argc, argv);
        cli_json_kv_u64(&out, "qubits", n_qubits);
        cli_json_kv_u64(&out, "dim", qml_lie_algebra_dim(algebra));
        cli_json_kv_bool(&out, "partial", partial);
        cli_json_kv_bool(&out, "structure_known", qml_lie_algebra_structure_known(algebra));
        cli_json_kv_string(&out, "structure_state", structure_state_name(algebra));
        cli_json_kv_bool(&out, "full", qml_lie_algebra_is_full(algebra));
        cli_json_kv_bool(&out, "classified", classified);
        cli_json_kv_string(&out, "classified_name", classified ? summary.name : "");
        cli_json_key(&out, "centre_dim");
        if (qml_lie_algebra_structure_known(algebra))
            cli_json_u64(&out, qml_lie_algebra_center_dim(algebra));
        else
            cli_json_null(&out);
        cli_json_key(&out, "ideals");
        cli_json_array_begin(&out);
        for (size_t j = 0; j < m; j++) {
            size_t dim, rank;
            const char *names;
            qml_lie_algebra_ideal(algebra, j, &dim, &rank, &names);
            cli_json_object_begin(&out);
            cli_json_kv_u64(&out, "dim", dim);
            cli_json_kv_u64(&out, "rank", rank);
            cli_json_kv_string(&out, "names", names);
            char cert[96];
            cli_certificate_words(algebra, j, cert, sizeof cert);
            cli_json_kv_bool(&out, "simple_certified", cert[0] != '\0');
            cli_json_kv_string(&out, "certificates", cert);
            cli_json_object_end(&out);
        }
        cli_json_array_end(&out);
        const char *structure_message = qml_lie_algebra_structure_message(algebra);
        cli_json_kv_string(&out, "structure_message", structure_message[0] ? structure_message : NULL);
        cli_json_kv_bool(&out, "exact", conditioning.exact);
        cli_json_kv_bool(&out, "certified", conditioning.certified);
        cli_json_kv_number(&out, "smallest_accepted_residual", conditioning.smallest_accepted);
        cli_json_kv_number(&out, "largest_rejected_residual", conditioning.largest_rejected);
        cli_json_kv_bool(&out, "tolerance_sensitive", conditioning.tolerance_sensitive);
        if (conditioning.tolerance_sensitive && !partial) {
            cli_json_key(&out, "dim_at_tolerance");
            cli_json_object_begin(&out);
            cli_json_kv_u64(&out, "1e-8", tolerance_dims[0]);
            cli_json_kv_u64(&out, "1e-6", tolerance_dims[1]);
            cli_json_object_end(&out);
        }
        cli_json_kv_number(&out, "seconds", seconds);
        if (observable && !partial) {
            cli_json_key(&out, "purity");
            cli_json_object_begin(&out);
            cli_json_kv_number(&out, "observable", total_o);
            cli_json_key(&out, "observable_per_component");
            cli_json_array_begin(&out);
            for (size_t j = 0; j <= m; j++)
                cli_json_number(&out, per_o[j]);
            cli_json_array_end(&out);
            if (zero_state) {
                cli_json_kv_number(&out, "state", total_r);
                cli_json_key(&out, "state_per_component");
                cli_json_array_begin(&out);
                for (size_t j = 0; j <= m; j++)
                    cli_json_number(&out, per_r[j]);
                cli_json_array_end(&out);
            }
            cli_json_object_end(&out);
            if (zero_state && prediction_status != QML_ERR_LIMIT) {
                json_prediction(&out, NULL, &prediction, prediction_status);
            }
        }
        cli_json_end(&out);
    } else {
        printf("qubits      %u\n", n_qubits);
        printf("dim         %zu%s%s\n", qml_lie_algebra_dim(algebra), partial ? " (partial: max-dim reached)" : "",
               qml_lie_algebra_is_full(algebra) ? " (contains su(2^n))" : "");
        if (qml_lie_algebra_structure_known(algebra)) {
            printf("centre dim  %zu\n", qml_lie_algebra_center_dim(algebra));
            printf("ideals      %zu\n", m);
            for (size_t j = 0; j < m; j++) {
                size_t dim, rank;
                const char *names;
                qml_lie_algebra_ideal(algebra, j, &dim, &rank, &names);
                char cert[96];
                cli_certificate_words(algebra, j, cert, sizeof cert);
                printf("  ideal %zu: dim %zu, rank %zu: %s%s%s%s\n", j, dim, rank, names,
                       cert[0] ? " (simple: " : "", cert, cert[0] ? ")" : "");
            }
            if (qml_lie_algebra_structure_message(algebra)[0])
                printf("certificates %s\n", qml_lie_algebra_structure_message(algebra));
        } else {
            char reason[512];
            printf("structure   not computed: %s\n", structure_reason(algebra, reason, sizeof reason));
        }
        if (classified)
            printf("algebra     %s (classification of the strings)\n", summary.name);
        else if (classify_note[0])
            printf("algebra     not classified: %s\n", classify_note);
        printf("certified   %s\n", conditioning.certified ? "yes (exact dimension, confirmed in floating point)"
                                   : conditioning.exact   ? "no (exact dimension, not confirmed in floating point)"
                                                          : "no (floating point with a tolerance)");
        if (conditioning.smallest_accepted == conditioning.smallest_accepted ||
            conditioning.largest_rejected == conditioning.largest_rejected)
            printf("residuals   smallest accepted %.3g, largest rejected %.3g (relative)\n",
                   conditioning.smallest_accepted, conditioning.largest_rejected);
        if (conditioning.tolerance_sensitive && !partial)
            printf("warning     dimension depends on the tolerance: %zu at 1e-8, %zu at 1e-6%s\n", tolerance_dims[0],
                   tolerance_dims[1], conditioning.exact ? "; the exact dimension is the one above" : "");
        printf("seconds     %.4f\n", seconds);
        if (observable && !partial) {
            printf("purity of the observable  %.10g", total_o);
            for (size_t j = 0; j < m; j++)
                printf("%s ideal %zu: %.6g", j ? "," : " (", j, per_o[j]);
            printf("%s centre: %.6g)\n", m ? "," : " (", per_o[m]);
            if (zero_state) {
                printf("purity of |0...0>         %.10g", total_r);
                for (size_t j = 0; j < m; j++)
                    printf("%s ideal %zu: %.6g", j ? "," : " (", j, per_r[j]);
                printf("%s centre: %.6g)\n", m ? "," : " (", per_r[m]);
                if (prediction_status == QML_ERR_LIMIT) {
                    printf("prediction                not available (structure unknown)\n");
                } else {
                    printf("hypothesis                %s\n", qml_lie_hypothesis_string(prediction.hypothesis));
                    printf("predicted mean            %.10g\n", prediction.loss_mean);
                    printf("predicted Var[loss]       %.10g\n", prediction.loss_variance);
                    printf("predicted Var[grad] first %.10g\n", prediction.first_gate_gradient_variance);
                    printf("predicted Var[grad] mid   %.10g\n", prediction.middle_gate_gradient_variance);
                    printf("note                      %s\n", prediction.message);
                }
            }
        }
    }
    free(per_o);
    free(per_r);
    if (partial)
        exit_code = 1;
done:
    qml_lie_algebra_free(algebra);
    qml_pauli_sum_free(observable);
    for (size_t i = 0; i < n_generators; i++)
        qml_pauli_sum_free(generators[i]);
    free(generators);
    cli_lines_free(&lines);
    free(text);
    return exit_code;
}

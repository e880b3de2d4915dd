/*
 * cmd_dla.c: `qml dla [--json] [--qubits N] [--max-dim D] [--threads T]
 * [--purity OP] [--state zero] FILE`: the dynamical Lie algebra of the
 * generators in FILE (one per line, `#` comments, `-` for stdin).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: qml dla [--json] [--qubits N] [--max-dim D] [--threads T] [--purity OP] [--state zero] FILE\n"
                 "  FILE: one generator (a Pauli sum) per line; blank lines and # comments ignored; - for stdin\n"
                 "  --purity OP: g-purities of the observable OP; with --state zero also the predicted variance\n");
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

int cmd_dla(int argc, char **argv)
{
    bool json = false, zero_state = false;
    unsigned n_qubits = 0, threads = 1;
    uint64_t max_dim = 0;
    const char *file = NULL, *purity_text = NULL;
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
    if (!file) {
        usage(stderr);
        return 2;
    }
    if (zero_state && !purity_text)
        return cli_usage_error("dla: --state zero needs --purity OP (the observable)");

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

    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.max_dim = (size_t)max_dim;
    options.n_threads = threads;
    double t0 = cli_seconds();
    int status = qml_lie_algebra_create(&algebra, (const qml_pauli_sum *const *)generators, n_generators, &options);
    double seconds = cli_seconds() - t0;
    bool partial = status == QML_ERR_LIMIT;
    if (status && !partial) {
        exit_code = cli_fail("dla", status);
        goto done;
    }
    if (partial)
        fprintf(stderr, "qml: dla: %s\n", qml_last_error());

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
        printf("{\"qubits\": %u, \"dim\": %zu, \"partial\": %s, \"structure_known\": %s, \"full\": %s, "
               "\"center_dim\": %zu, \"ideals\": [",
               n_qubits, qml_lie_algebra_dim(algebra), partial ? "true" : "false",
               qml_lie_algebra_structure_known(algebra) ? "true" : "false",
               qml_lie_algebra_is_full(algebra) ? "true" : "false", qml_lie_algebra_center_dim(algebra));
        for (size_t j = 0; j < m; j++) {
            size_t dim, rank;
            const char *names;
            qml_lie_algebra_ideal(algebra, j, &dim, &rank, &names);
            printf("%s{\"dim\": %zu, \"rank\": %zu, \"names\": ", j ? ", " : "", dim, rank);
            print_json_string(names);
            printf("}");
        }
        printf("], \"seconds\": %.6f", seconds);
        if (observable && !partial) {
            printf(", \"purity\": {\"observable\": ");
            print_number(total_o);
            printf(", \"observable_per_component\": [");
            for (size_t j = 0; j <= m; j++) {
                printf("%s", j ? ", " : "");
                print_number(per_o[j]);
            }
            printf("]");
            if (zero_state) {
                printf(", \"state\": ");
                print_number(total_r);
                printf(", \"state_per_component\": [");
                for (size_t j = 0; j <= m; j++) {
                    printf("%s", j ? ", " : "");
                    print_number(per_r[j]);
                }
                printf("]");
            }
            printf("}");
            if (zero_state && prediction_status != QML_ERR_LIMIT) {
                printf(", \"prediction\": {\"hypothesis\": ");
                print_json_string(qml_lie_hypothesis_string(prediction.hypothesis));
                printf(", \"applicable\": %s, \"loss_mean\": ", prediction_status ? "false" : "true");
                print_number(prediction.loss_mean);
                printf(", \"loss_variance\": ");
                print_number(prediction.loss_variance);
                printf(", \"first_gate_gradient_variance\": ");
                print_number(prediction.first_gate_gradient_variance);
                printf(", \"middle_gate_gradient_variance\": ");
                print_number(prediction.middle_gate_gradient_variance);
                printf(", \"message\": ");
                print_json_string(prediction.message);
                printf("}");
            }
        }
        printf("}\n");
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
                printf("  ideal %zu: dim %zu, rank %zu: %s\n", j, dim, rank, names);
            }
        } else {
            printf("structure   not computed (%s)\n", partial ? "partial algebra" : "too large for the dense analysis");
        }
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

/*
 * cmd_pauli.c: `qml pauli bracket|anticommutator|inner A B [--qubits N]`,
 * Pauli-sum algebra from the command line, printed in the library's text form.
 */
#include "cli.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *to)
{
    fprintf(to,
            "usage: qml pauli OPERATION A B [--qubits N] [--json]\n"
            "\n"
            "operations:\n"
            "  bracket         -i[A, B] = -i(AB - BA), Hermitian again\n"
            "  anticommutator  {A, B}/2 = (AB + BA)/2\n"
            "  inner           Tr(AB)/2^n, the normalised Hilbert-Schmidt inner product\n"
            "\n"
            "A and B are Pauli sums, indexed (\"0.5*X0 Z3 - 2 Y1 + Z0\") or dense (\"XIZ\":\n"
            "character k acts on qubit k, the reverse of Qiskit's labels). Without\n"
            "--qubits, n is the larger of the two inferred qubit counts. --json prints\n"
            "one object (schema qml-pauli/1) with the result as \"sum\" (text) or \"value\".\n"
            "\n"
            "examples:\n"
            "  qml pauli bracket X0 Y0            prints 2*Z0\n"
            "  qml pauli anticommutator 'X0 + Z0' X0\n"
            "  qml pauli inner XIZ '0.5*XIZ + Y1' prints 0.5\n");
}

static void print_json(int argc, char **argv, const char *operation, unsigned n_qubits, const char *const *operands,
                       const char *sum, double value)
{
    cli_json out;
    cli_json_begin(&out, stdout, "pauli", argc, argv);
    cli_json_kv_string(&out, "operation", operation);
    cli_json_kv_u64(&out, "qubits", n_qubits);
    cli_json_kv_string(&out, "a", operands[1]);
    cli_json_kv_string(&out, "b", operands[2]);
    cli_json_kv_string(&out, "sum", sum);
    cli_json_key(&out, "value");
    if (sum)
        cli_json_null(&out);
    else
        cli_json_number(&out, value);
    cli_json_end(&out);
}

/* Parse both operands on a common number of qubits. */
static int parse_pair(const char *text_a, const char *text_b, unsigned n_qubits, qml_pauli_sum **a,
                      qml_pauli_sum **b)
{
    int status = qml_pauli_sum_parse(a, n_qubits, text_a);
    if (status)
        return cli_fail("cannot parse A", status);
    status = qml_pauli_sum_parse(b, n_qubits, text_b);
    if (status) {
        qml_pauli_sum_free(*a);
        return cli_fail("cannot parse B", status);
    }
    if (n_qubits != 0)
        return 0;
    /* Inferred counts may differ: re-read the smaller on the larger. */
    unsigned na = qml_pauli_sum_n_qubits(*a), nb = qml_pauli_sum_n_qubits(*b);
    if (na == nb)
        return 0;
    qml_pauli_sum **smaller = na < nb ? a : b;
    const char *text = na < nb ? text_a : text_b;
    qml_pauli_sum *again = NULL;
    status = qml_pauli_sum_parse(&again, na > nb ? na : nb, text);
    if (status) {
        qml_pauli_sum_free(*a);
        qml_pauli_sum_free(*b);
        return cli_fail(na < nb ? "cannot parse A on the qubits of B" : "cannot parse B on the qubits of A", status);
    }
    qml_pauli_sum_free(*smaller);
    *smaller = again;
    return 0;
}

int cmd_pauli(int argc, char **argv)
{
    const char *positional[3];
    int n_positional = 0;
    unsigned n_qubits = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--json")) {
            json = true;
            continue;
        }
        if (!strcmp(argv[i], "--qubits")) {
            if (i + 1 >= argc)
                return cli_usage_error("pauli: --qubits needs a value");
            if (!cli_parse_unsigned(argv[i + 1], &n_qubits) || n_qubits == 0)
                return cli_usage_error("pauli: --qubits '%s' is not a positive integer", argv[i + 1]);
            i++;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] == '-')
            return cli_usage_error("pauli: unknown option '%s' (see qml pauli --help)", argv[i]);
        if (n_positional == 3)
            return cli_usage_error("pauli: too many arguments (see qml pauli --help)");
        positional[n_positional++] = argv[i];
    }
    if (n_positional == 0) {
        usage(stderr);
        return 2;
    }
    const char *operation = positional[0];
    if (strcmp(operation, "bracket") != 0 && strcmp(operation, "anticommutator") != 0 &&
        strcmp(operation, "inner") != 0)
        return cli_usage_error("pauli: unknown operation '%s' (bracket, anticommutator, inner)", operation);
    if (n_positional != 3)
        return cli_usage_error("pauli %s: needs two operands A and B", operation);

    qml_pauli_sum *a = NULL, *b = NULL;
    int code = parse_pair(positional[1], positional[2], n_qubits, &a, &b);
    if (code)
        return code;
    unsigned n = qml_pauli_sum_n_qubits(a);
    if (!strcmp(operation, "inner")) {
        double value = 0;
        int status = qml_pauli_sum_inner(a, b, &value);
        qml_pauli_sum_free(a);
        qml_pauli_sum_free(b);
        if (status)
            return cli_fail("inner", status);
        if (json)
            print_json(argc, argv, operation, n, positional, NULL, value);
        else
            printf("%.17g\n", value);
        return 0;
    }
    qml_pauli_sum *result = NULL;
    int status = !strcmp(operation, "bracket") ? qml_pauli_sum_bracket(&result, a, b)
                                               : qml_pauli_sum_anticommutator(&result, a, b);
    qml_pauli_sum_free(a);
    qml_pauli_sum_free(b);
    if (status)
        return cli_fail(operation, status);
    char *text = cli_format_sum(result);
    qml_pauli_sum_free(result);
    if (!text)
        return cli_fail("format", qml_last_status() != QML_OK ? (int)qml_last_status() : QML_ERR_OUT_OF_MEMORY);
    if (json)
        print_json(argc, argv, operation, n, positional, text, 0.0);
    else
        printf("%s\n", text);
    free(text);
    return 0;
}

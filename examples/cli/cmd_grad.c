/*
 * cmd_grad.c: `qml grad`: the value and gradient of a template circuit with
 * random weights, by any of the three methods, for cross-checks by hand.
 */
#include "cli.h"
#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int hea;                        /* 1: hardware-efficient, else a family */
    qml_ansatz_family family;
} ansatze[] = {
    {"hea", 1, QML_ANSATZ_HEA},
    {"tfim", 0, QML_ANSATZ_TFIM},
    {"tfim-global", 0, QML_ANSATZ_TFIM_GLOBAL},
    {"sn", 0, QML_ANSATZ_SN},
    {"heisenberg", 0, QML_ANSATZ_HEISENBERG},
};

static const struct {
    const char *name;
    qml_gradient_method method;
} methods[] = {
    {"adjoint", QML_GRADIENT_ADJOINT},
    {"shift", QML_GRADIENT_PARAMETER_SHIFT},
    {"fd", QML_GRADIENT_FINITE_DIFFERENCE},
};

static void grad_usage(FILE *to)
{
    fprintf(to,
            "usage: qml grad --ansatz hea|tfim|tfim-global|sn|heisenberg --qubits N --layers L\n"
            "                [--observable OP] [--method adjoint|shift|fd] [--seed S]\n"
            "                [--shots K] [--step H] [--backend statevector|auto|gsim|symmetric] [--json]\n"
            "       qml grad --circuit FILE.qasm [same options but --ansatz, --qubits, --layers]\n"
            "  Prints l = <psi(w)|OP|psi(w)> and dl/dw for weights drawn uniformly from\n"
            "  [0, 2 pi) with the library PRNG (stream 0 of the seed). OP defaults to Z0.\n"
            "  --shots K: shot-based parameter shift; --step H: finite-difference step.\n"
            "  --backend: the simulator (default statevector); auto picks the cheapest that\n"
            "  applies and says which (docs/gsim.md).\n"
            "  --circuit FILE: an OpenQASM circuit (weights theta[k]; features x[j] held at 0).\n"
            "  --json: one JSON object (schema qml-grad/1) instead of text.\n");
}

int cmd_grad(int argc, char **argv)
{
    const char *ansatz_name = "hea", *observable_text = "Z0", *method_name = "adjoint", *backend_name = NULL;
    const char *circuit_file = NULL;
    unsigned n_qubits = 0, layers = 0;
    uint64_t seed = 1, shots = 0;
    double step = 1e-6;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            grad_usage(stdout);
            return 0;
        }
        if (!strcmp(arg, "--json")) {
            json = true;
            continue;
        }
        if (!next)
            return cli_usage_error("grad: '%s' needs a value (see qml grad --help)", arg);
        i++; /* the value */
        if (!strcmp(arg, "--ansatz"))
            ansatz_name = next;
        else if (!strcmp(arg, "--circuit"))
            circuit_file = next;
        else if (!strcmp(arg, "--observable"))
            observable_text = next;
        else if (!strcmp(arg, "--method"))
            method_name = next;
        else if (!strcmp(arg, "--backend"))
            backend_name = next;
        else if (!strcmp(arg, "--qubits")) {
            if (!cli_parse_unsigned(next, &n_qubits) || n_qubits == 0)
                return cli_usage_error("grad: --qubits '%s' is not a positive integer", next);
        } else if (!strcmp(arg, "--layers")) {
            if (!cli_parse_unsigned(next, &layers) || layers == 0)
                return cli_usage_error("grad: --layers '%s' is not a positive integer", next);
        } else if (!strcmp(arg, "--seed")) {
            if (!cli_parse_u64(next, &seed))
                return cli_usage_error("grad: --seed '%s' is not an unsigned integer", next);
        } else if (!strcmp(arg, "--shots")) {
            if (!cli_parse_u64(next, &shots))
                return cli_usage_error("grad: --shots '%s' is not an unsigned integer", next);
        } else if (!strcmp(arg, "--step")) {
            if (!cli_parse_double(next, &step) || !(step > 0.0))
                return cli_usage_error("grad: --step '%s' is not a positive number", next);
        } else
            return cli_usage_error("grad: unknown option '%s' (see qml grad --help)", arg);
    }
    if (!circuit_file && (n_qubits == 0 || layers == 0))
        return cli_usage_error("grad: --qubits and --layers (or --circuit FILE) are required (see qml grad --help)");
    size_t a = 0, m = 0;
    while (a < sizeof ansatze / sizeof ansatze[0] && strcmp(ansatze[a].name, ansatz_name))
        a++;
    if (a == sizeof ansatze / sizeof ansatze[0])
        return cli_usage_error("grad: unknown ansatz '%s'", ansatz_name);
    while (m < sizeof methods / sizeof methods[0] && strcmp(methods[m].name, method_name))
        m++;
    if (m == sizeof methods / sizeof methods[0])
        return cli_usage_error("grad: unknown method '%s' (adjoint, shift, fd)", method_name);

    qml_backend backend = QML_BACKEND_STATEVECTOR;
    if (backend_name && qml_backend_from_name(backend_name, &backend))
        return cli_usage_error("grad: unknown backend '%s' (statevector, auto, gsim, symmetric)", backend_name);

    int exit_code = 1, status;
    qml_circuit *circuit = NULL;
    qml_pauli_sum *observable = NULL;
    qml_rng *rng = NULL;
    double *weights = NULL, *gradient = NULL, *features = NULL;
    if (circuit_file) {
        if ((status = qml_circuit_load_qasm(&circuit, circuit_file))) {
            cli_fail("grad: --circuit", status);
            goto done;
        }
        n_qubits = qml_circuit_n_qubits(circuit);
        ansatz_name = circuit_file;
    } else if ((status = qml_circuit_create(&circuit, n_qubits))) {
        cli_fail("grad: circuit", status);
        goto done;
    }
    if (circuit_file)
        status = QML_OK;
    else
        status = ansatze[a].hea ? qml_ansatz_hardware_efficient(circuit, layers, QML_ENTANGLER_CZ, QML_BOUNDARY_OPEN)
                                : qml_ansatz_family_append(circuit, ansatze[a].family, layers);
    if (status) {
        cli_fail("grad: ansatz", status);
        goto done;
    }
    if ((status = qml_pauli_sum_parse(&observable, n_qubits, observable_text))) {
        cli_fail("grad: observable", status);
        goto done;
    }
    size_t n_weights = qml_circuit_n_weights(circuit);
    weights = calloc(n_weights ? n_weights : 1, sizeof *weights);
    gradient = calloc(n_weights ? n_weights : 1, sizeof *gradient);
    size_t n_features = qml_circuit_n_features(circuit);
    features = calloc(n_features ? n_features : 1, sizeof *features);
    if (!weights || !gradient || !features) {
        fprintf(stderr, "qml: grad: out of memory\n");
        goto done;
    }
    if ((status = qml_rng_create(&rng, seed, 0))) {
        cli_fail("grad: rng", status);
        goto done;
    }
    for (size_t k = 0; k < n_weights; k++)
        weights[k] = 6.283185307179586 * qml_rng_uniform(rng);

    qml_gradient_options options = QML_GRADIENT_OPTIONS_INIT;
    options.method = methods[m].method;
    options.shots = shots;
    options.seed = seed;
    options.step = step;
    options.backend = backend;
    if (backend_name) {
        qml_backend chosen;
        double dim;
        if ((status = qml_backend_select(circuit, observable, NULL, backend, &chosen, &dim))) {
            cli_fail("grad: backend", status);
            goto done;
        }
        printf("# backend %s (asked: %s), dimension %.17g\n", qml_backend_name(chosen), backend_name, dim);
    }
    double value;
    double t0 = cli_seconds();
    status = qml_gradient(circuit, observable, NULL, weights, n_weights, n_features ? features : NULL, n_features,
                          &options, &value, gradient, NULL);
    double elapsed = cli_seconds() - t0;
    if (status) {
        cli_fail("grad", status);
        goto done;
    }
    if (json) {
        cli_json out;
        cli_json_begin(&out, stdout, "grad", argc, argv);
        cli_json_kv_string(&out, "ansatz", ansatz_name);
        cli_json_kv_u64(&out, "qubits", n_qubits);
        cli_json_kv_u64(&out, "layers", layers);
        cli_json_kv_string(&out, "observable", observable_text);
        cli_json_kv_string(&out, "method", method_name);
        cli_json_kv_u64(&out, "seed", seed);
        cli_json_kv_u64(&out, "shots", shots);
        cli_json_kv_number(&out, "seconds", elapsed);
        cli_json_kv_number(&out, "value", value);
        cli_json_key(&out, "weights");
        cli_json_array_begin(&out);
        for (size_t k = 0; k < n_weights; k++)
            cli_json_number(&out, weights[k]);
        cli_json_array_end(&out);
        cli_json_key(&out, "gradient");
        cli_json_array_begin(&out);
        for (size_t k = 0; k < n_weights; k++)
            cli_json_number(&out, gradient[k]);
        cli_json_array_end(&out);
        cli_json_end(&out);
    } else {
        printf("# ansatz %s, %u qubits, %u layers, %zu weights, method %s, seed %" PRIu64 "%s (%.3f s)\n",
               ansatz_name, n_qubits, layers, n_weights, method_name, seed, shots ? ", shot-based" : "", elapsed);
        printf("value %.17g\n", value);
        for (size_t k = 0; k < n_weights; k++)
            printf("dw[%zu] %.17g\n", k, gradient[k]);
    }
    exit_code = 0;
done:
    qml_rng_free(rng);
    free(weights);
    free(gradient);
    free(features);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
    return exit_code;
}

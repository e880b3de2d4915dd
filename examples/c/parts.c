/* Worked example (docs/landscape.md, docs/scaling.md): one estimate split
 * into three parts, each sent through bytes as to another process, merged
 * in another order: the statistics are bitwise those of one call. Built and
 * run by the test suite (suite 'examples'). */
#include <qml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A part through bytes and back, as a message to another process would be. */
static qml_gradient_samples *send_and_receive(const qml_gradient_samples *part)
{
    size_t length = 0;
    qml_gradient_samples_serialize(part, NULL, 0, &length); /* asks for the length */
    unsigned char *bytes = malloc(length);
    qml_gradient_samples *received = NULL;
    if (bytes && qml_gradient_samples_serialize(part, bytes, length, &length) == QML_OK)
        qml_gradient_samples_deserialize(&received, bytes, length);
    free(bytes);
    return received;
}

int main(void)
{
    qml_circuit *circuit = NULL;
    qml_pauli_sum *observable = NULL;
    if (qml_circuit_create(&circuit, 4) || qml_ansatz_family_append(circuit, QML_ANSATZ_HEA, 8) ||
        qml_pauli_sum_parse(&observable, 4, "Z0 Z1")) {
        fprintf(stderr, "parts: %s\n", qml_last_error());
        return 1;
    }
    qml_landscape_options options = QML_LANDSCAPE_OPTIONS_INIT;
    options.samples = 300;
    options.params = QML_PARAMS_ALL;

    /* Samples [0, 100), [100, 250), [250, 300): as three ranks would. */
    const size_t first[3] = {0, 100, 250}, count[3] = {100, 150, 50};
    qml_gradient_samples *received[3] = {NULL, NULL, NULL}, *all = NULL;
    for (int p = 0; p < 3; p++) {
        qml_gradient_samples *part = NULL;
        if (qml_gradient_samples_create(&part, circuit, observable, NULL, NULL, 0, &options, first[p], count[p]) ==
            QML_OK)
            received[p] = send_and_receive(part);
        qml_gradient_samples_free(part);
    }
    const qml_gradient_samples *in_any_order[3] = {received[2], received[0], received[1]};
    qml_gradient_stats *merged = NULL, *whole = NULL;
    int status = qml_gradient_samples_merge(&all, in_any_order, 3);
    if (status == QML_OK)
        status = qml_gradient_stats_from_samples(&merged, all);
    if (status == QML_OK)
        status = qml_gradient_stats_create(&whole, circuit, observable, NULL, NULL, 0, &options);
    int same = 0;
    if (status == QML_OK) {
        double v[2], w[2];
        qml_gradient_stats_summary(merged, &v[0], &v[1]);
        qml_gradient_stats_summary(whole, &w[0], &w[1]);
        same = memcmp(v, w, sizeof v) == 0;
        printf("mean Var[dl/dw] over %zu weights: %.17g +- %.3g (merged), %.17g (one call): %s\n",
               qml_circuit_n_weights(circuit), v[0], v[1], w[0], same ? "the same bits" : "DIFFERENT");
    } else {
        fprintf(stderr, "parts: %s\n", qml_last_error());
    }
    qml_gradient_stats_free(whole);
    qml_gradient_stats_free(merged);
    qml_gradient_samples_free(all);
    for (int p = 0; p < 3; p++)
        qml_gradient_samples_free(received[p]);
    qml_pauli_sum_free(observable);
    qml_circuit_free(circuit);
    return status == QML_OK && same ? 0 : 1;
}

/*
 * fuzz_qasm.c: libFuzzer harness for the OpenQASM reader and writer. Any
 * input must either fail with a status and a message or parse; a circuit
 * that parses must format, and its text must parse again to a circuit with
 * the same gate count (the writer's output is always valid to the reader).
 */
#include "qml.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qml_circuit *circuit = NULL;
    if (qml_circuit_parse_qasm(&circuit, (const char *)data, size) != QML_OK) {
        if (qml_last_error()[0] == '\0')
            abort(); /* a failure without a message */
        return 0;
    }
    size_t length = 0;
    if (qml_circuit_format_qasm(circuit, NULL, 0, &length) != QML_ERR_OUT_OF_RANGE)
        abort();
    char *text = malloc(length + 1);
    if (text) {
        if (qml_circuit_format_qasm(circuit, text, length + 1, NULL) != QML_OK)
            abort();
        qml_circuit *back = NULL;
        if (qml_circuit_parse_qasm(&back, text, length) != QML_OK)
            abort(); /* what the writer writes, the reader reads */
        if (qml_circuit_n_gates(back) != qml_circuit_n_gates(circuit) ||
            qml_circuit_n_weights(back) != qml_circuit_n_weights(circuit))
            abort();
        qml_circuit_free(back);
        free(text);
    }
    qml_circuit_free(circuit);
    return 0;
}

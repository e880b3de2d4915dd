/* fuzz_pauli.c: Pauli text round trip. Whatever qml_pauli_sum_parse
 * accepts, qml_pauli_sum_format writes back in a form that parses to the
 * same operator bit for bit, and formats to the same text; the dense terms
 * rebuild it too. Whatever it refuses, it refuses with a pinned status and a
 * message. First byte: the qubit count (0 = infer), the rest: the text. */
#include "fuzz_common.h"

static char *format(const qml_pauli_sum *sum)
{
    size_t length = 0;
    int status = qml_pauli_sum_format(sum, NULL, 0, &length);
    FUZZ_CHECK(status == QML_OK || status == QML_ERR_OUT_OF_RANGE);
    char *text = malloc(length + 1);
    FUZZ_CHECK(text != NULL);
    size_t again = 0;
    FUZZ_CHECK(qml_pauli_sum_format(sum, text, length + 1, &again) == QML_OK);
    FUZZ_CHECK(again == length && strlen(text) == length);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_limit_blocks((size_t)1 << 20);
    if (size < 1)
        return 0;
    unsigned n_qubits = data[0] < 128 ? 0u : (unsigned)(data[0] - 127);
    char *text = fuzz_text(data + 1, size - 1);
    qml_pauli_sum *a = NULL;
    int status = qml_pauli_sum_parse(&a, n_qubits, text);
    if (status != QML_OK) {
        fuzz_check_failure(status);
        FUZZ_CHECK(a == NULL);
        free(text);
        return 0;
    }
    unsigned n = qml_pauli_sum_n_qubits(a);
    FUZZ_CHECK(n >= 1 && (n_qubits == 0 || n == n_qubits));

    char *first = format(a);
    qml_pauli_sum *b = NULL;
    status = qml_pauli_sum_parse(&b, n, first);
    FUZZ_CHECK(status == QML_OK);
    int equal = 0;
    FUZZ_CHECK(qml_pauli_sum_equal(a, b, 0.0, &equal) == QML_OK && equal);
    FUZZ_CHECK(qml_pauli_sum_n_terms(a) == qml_pauli_sum_n_terms(b));
    char *second = format(b);
    FUZZ_CHECK(strcmp(first, second) == 0);

    /* The dense form of every term rebuilds the operator (small n only:
     * a dense string is n letters per term). */
    size_t n_terms = qml_pauli_sum_n_terms(a);
    if (n <= 256 && n_terms <= 256) {
        qml_pauli_sum *c = NULL;
        FUZZ_CHECK(qml_pauli_sum_create(&c, n) == QML_OK);
        char dense[257];
        for (size_t t = 0; t < n_terms; t++) {
            double coefficient = 0.0;
            FUZZ_CHECK(qml_pauli_sum_term(a, t, &coefficient, dense) == QML_OK);
            FUZZ_CHECK(strlen(dense) == n);
            FUZZ_CHECK(qml_pauli_sum_add_string(c, coefficient, dense) == QML_OK);
        }
        FUZZ_CHECK(qml_pauli_sum_equal(a, c, 0.0, &equal) == QML_OK && equal);
        qml_pauli_sum_free(c);
    }
    /* A sum commutes with itself. */
    if (n_terms <= 64) {
        int commute = 0;
        FUZZ_CHECK(qml_pauli_sum_commutes(a, a, 1e-9, &commute) == QML_OK);
    }
    free(first);
    free(second);
    qml_pauli_sum_free(a);
    qml_pauli_sum_free(b);
    free(text);
    return 0;
}

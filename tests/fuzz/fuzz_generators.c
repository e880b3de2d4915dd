/* fuzz_generators.c: generator files as `qml dla` and `qml bp --ansatz
 * file:` read them (the command-line program's own line splitter, then one
 * Pauli sum per line on the widest line's qubit count), then the dynamical
 * Lie algebra of small inputs under a dimension cap. Checks: the splitter
 * keeps true, increasing line numbers and drops nothing but blanks and
 * comments (no line is ever cut in pieces); every line that parses on its
 * own parses on the common qubit count; the closure ends with OK or LIMIT. */
#include "fuzz_common.h"

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_limit_blocks((size_t)1 << 20);
    if (memchr(data, '\0', size))
        return 0; /* the reader refuses NUL bytes before splitting */
    char *text = fuzz_text(data, size);
    char *original = fuzz_text(data, size);
    cli_lines lines = {0};
    if (cli_split_lines(text, &lines)) {
        cli_lines_free(&lines);
        free(text);
        free(original);
        return 0;
    }
    size_t newlines = 0;
    for (size_t k = 0; k < size; k++)
        newlines += data[k] == '\n';
    size_t kept_bytes = 0;
    for (size_t i = 0; i < lines.count; i++) {
        FUZZ_CHECK(lines.numbers[i] >= 1 && lines.numbers[i] <= newlines + 1);
        FUZZ_CHECK(i == 0 || lines.numbers[i] > lines.numbers[i - 1]);
        size_t length = strlen(lines.lines[i]);
        FUZZ_CHECK(length > 0 && !strchr(lines.lines[i], '#') && !strchr(lines.lines[i], '\n'));
        /* The kept text is a piece of the original line, whole up to its comment. */
        FUZZ_CHECK(strstr(original, lines.lines[i]) != NULL);
        kept_bytes += length;
    }
    FUZZ_CHECK(kept_bytes <= size);

    unsigned n = 0;
    size_t total_terms = 0;
    int all_parse = 1;
    for (size_t i = 0; i < lines.count; i++) {
        qml_pauli_sum *sum = NULL;
        int status = qml_pauli_sum_parse(&sum, 0, lines.lines[i]);
        if (status) {
            fuzz_check_failure(status);
            all_parse = 0;
            break;
        }
        if (qml_pauli_sum_n_qubits(sum) > n)
            n = qml_pauli_sum_n_qubits(sum);
        total_terms += qml_pauli_sum_n_terms(sum);
        qml_pauli_sum_free(sum);
    }
    if (all_parse && lines.count > 0) {
        qml_pauli_sum **sums = calloc(lines.count, sizeof *sums);
        FUZZ_CHECK(sums != NULL);
        size_t count = 0;
        for (size_t i = 0; i < lines.count; i++) {
            int status = qml_pauli_sum_parse(&sums[i], n, lines.lines[i]);
            if (status) {
                /* A line can parse alone and not on the common count (a
                 * dense string shorter than another line's index). */
                fuzz_check_failure(status);
                break;
            }
            count++;
        }
        if (count == lines.count && n <= 10 && total_terms <= 48 && count <= 8) {
            qml_lie_options options = QML_LIE_OPTIONS_INIT;
            options.max_dim = 48;
            qml_lie_algebra *algebra = NULL;
            int status = qml_lie_algebra_create(&algebra, (const qml_pauli_sum *const *)sums, count, &options);
            if (status == QML_OK) {
                size_t dim = qml_lie_algebra_dim(algebra);
                FUZZ_CHECK(dim <= 48);
            } else {
                fuzz_check_failure(status);
            }
            qml_lie_algebra_free(algebra);
        }
        for (size_t i = 0; i < count; i++)
            qml_pauli_sum_free(sums[i]);
        free(sums);
    }
    cli_lines_free(&lines);
    free(text);
    free(original);
    return 0;
}

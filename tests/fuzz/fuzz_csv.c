/* fuzz_csv.c: CSV round trip. Whatever qml_dataset_parse_csv accepts,
 * qml_dataset_format_csv writes back so that parsing gives the same dataset
 * bit for bit, and formats to the same text; refusals carry a pinned status
 * and a message. First byte: the options (header mode, label column), the
 * rest: the text. */
#include "fuzz_common.h"

static void same_dataset(const qml_dataset *a, const qml_dataset *b)
{
    size_t rows = qml_dataset_n_rows(a), nf = qml_dataset_n_features(a);
    FUZZ_CHECK(rows == qml_dataset_n_rows(b) && nf == qml_dataset_n_features(b));
    FUZZ_CHECK(rows >= 1 && nf >= 1);
    FUZZ_CHECK(memcmp(qml_dataset_features(a), qml_dataset_features(b), rows * nf * sizeof(double)) == 0);
    FUZZ_CHECK(memcmp(qml_dataset_labels(a), qml_dataset_labels(b), rows * sizeof(int)) == 0);
    for (size_t i = 0; i < rows; i++)
        FUZZ_CHECK(qml_dataset_labels(a)[i] == 0 || qml_dataset_labels(a)[i] == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    qml_csv_options options = QML_CSV_OPTIONS_INIT;
    options.header = (qml_csv_header)(data[0] & 3);           /* 3 is not a mode: refused */
    options.label_column = (int64_t)((data[0] >> 2) & 7) - 1; /* -1 .. 6 */
    char *text = fuzz_text(data + 1, size - 1);
    qml_dataset *a = NULL;
    int status = qml_dataset_parse_csv(&a, text, &options);
    free(text);
    if (status != QML_OK) {
        fuzz_check_failure(status);
        FUZZ_CHECK(a == NULL);
        return 0;
    }
    const double *x = qml_dataset_features(a);
    for (size_t k = 0; k < qml_dataset_n_rows(a) * qml_dataset_n_features(a); k++)
        FUZZ_CHECK(x[k] == x[k] && x[k] - x[k] == 0.0); /* finite */
    char *first = NULL, *second = NULL;
    size_t length = 0;
    FUZZ_CHECK(qml_dataset_format_csv(a, &first, &length) == QML_OK);
    FUZZ_CHECK(strlen(first) == length);
    qml_dataset *b = NULL;
    FUZZ_CHECK(qml_dataset_parse_csv(&b, first, NULL) == QML_OK);
    same_dataset(a, b);
    FUZZ_CHECK(qml_dataset_format_csv(b, &second, NULL) == QML_OK);
    FUZZ_CHECK(strcmp(first, second) == 0);
    qml_free(first);
    qml_free(second);
    qml_dataset_free(a);
    qml_dataset_free(b);
    return 0;
}

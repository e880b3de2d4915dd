/* Worked example (docs/landscape.md): a small barren-plateau scan of the
 * hardware-efficient ansatz, measured gradient variance against n next to
 * the Lie-algebraic prediction. Built and run by the test suite (suite
 * 'examples'). */
#include <qml.h>
#include <stdio.h>

int main(void)
{
    qml_bp_scan_options scan = QML_BP_SCAN_OPTIONS_INIT;
    scan.n_min = 2;
    scan.n_max = 4;
    scan.layers = 4;      /* L = 4 n */
    scan.max_dim = 4096;  /* compute the DLA, and with it the prediction */
    qml_landscape_options stats = QML_LANDSCAPE_OPTIONS_INIT;
    stats.samples = 100;
    stats.seed = 7;
    qml_bp_scan *result = NULL;
    int status = qml_bp_scan_family(&result, QML_ANSATZ_HEA, &scan, &stats);
    if (status != QML_OK) {
        fprintf(stderr, "landscape: %s\n", qml_last_error());
        return 1;
    }
    printf("%3s %6s %14s %12s %14s\n", "n", "dim_g", "var_measured", "stderr", "var_predicted");
    for (size_t r = 0; r < qml_bp_scan_n_rows(result); r++) {
        qml_bp_row row = QML_BP_ROW_INIT;
        if (qml_bp_scan_row(result, r, &row) != QML_OK)
            break;
        printf("%3u %6llu %14.4e %12.2e %14.4e\n", row.n_qubits, (unsigned long long)row.dim_g, row.var_measured,
               row.var_stderr, row.var_predicted);
    }
    qml_bp_scan_free(result);
    return 0;
}

/*
 * landscape.h: the result types of the landscape estimators, shared by
 * landscape.c (which computes them) and samples.c (which merges and
 * serialises their parts). Private to the library.
 */
#ifndef QML_LANDSCAPE_H
#define QML_LANDSCAPE_H

#include "internal.h"

/* Samples [first, first + count) of an estimate of `total` samples: the
 * loss of each and the derivatives of the selected weights. */
struct qml_gradient_samples {
    size_t total;
    size_t first;
    size_t count;
    uint64_t seed;
    uint64_t shots;
    size_t n_weights;
    qml_param_selection params;
    size_t n_selected;
    uint64_t fingerprint;      /* of circuit, observable, initial state, features */
    double *values;            /* count losses */
    double *gradients;         /* count * n_selected, sample-major */
};

struct qml_bp_scan {
    size_t n_rows;
    qml_bp_row *rows;
    unsigned fit_layers;       /* depth-list scans fit the rows of this depth; 0 = all rows */
    qml_bp_quantity quantity;
    double *observable_scale;  /* per row: sum_t |c_t| of the row's observable */
    qml_gradient_samples **parts; /* per row, or NULL for a scan one call computed whole */
    qml_lie_algebra **algebras;   /* per row (keep_algebras), else NULL; a row's entry is NULL when it
                                     computed none */
};

/* The per-sample values of a selected-weights estimate, then its statistics. */
qml_gradient_samples *qml__gradient_samples_new(size_t count, size_t n_selected);
int qml__gradient_stats_build(qml_gradient_stats **out, const qml_gradient_samples *samples);
/* Fill a row's measured variance from complete samples (the rounding-level
 * rule of qml_bp_row.var_measured included). */
int qml__bp_row_measure(qml_bp_row *row, const qml_gradient_samples *samples, qml_bp_quantity quantity,
                        double observable_scale);
/* A 64-bit FNV-1a fingerprint of what an estimate is computed from. */
uint64_t qml__landscape_fingerprint(const qml_circuit *circuit, const qml_pauli_sum *observable,
                                    const qml_statevec *initial, const double *features, size_t n_features);

#endif

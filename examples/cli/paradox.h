/* paradox.h: what the experiment driver (cmd_paradox.c) hands to the report
 * writer (paradox_report.c): the setup, and one cell per model and qubit
 * count with its training runs and landscape statistics. */
#ifndef QML_CLI_PARADOX_H
#define QML_CLI_PARADOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qml.h"

#define PARADOX_MAX_QUBITS 8   /* entries of --qubits */
#define PARADOX_MODELS 3

/* The experiment's choices, all of which the report states. */
typedef struct paradox_setup {
    bool quick;
    uint64_t seed;
    unsigned threads;
    unsigned qubits[PARADOX_MAX_QUBITS];
    size_t n_qubit_counts;
    size_t n_rows;              /* dataset size */
    double noise;
    double test_fraction;
    size_t n_train, n_test;
    unsigned n_seeds;           /* training runs per (model, n) */
    unsigned epochs;
    size_t batch_size;
    double learning_rate;
    double head_scale, head_bias;
    size_t samples;             /* landscape weight draws */
    size_t lie_max_dim;         /* cap of the DLA closure */
    unsigned lie_max_qubits_general; /* compute non-string DLAs only up to this n */
    double feature_point[2];    /* the input the landscape fixes */
    const char *out_dir;
    unsigned threads_used;      /* --threads, or the number of online cores for 0 */
    char command[512];          /* the command line, for the report */
} paradox_setup;

/* One training run. */
typedef struct paradox_run {
    uint64_t seed;
    double train_accuracy, test_accuracy, train_loss, test_loss, seconds;
} paradox_run;

/* One model at one qubit count. */
typedef struct paradox_cell {
    qml_model_kind kind;
    unsigned n_qubits, layers;
    size_t n_weights;
    size_t expected_weights;         /* the formula (2 n L, 3 L, (2n - 1) L) */
    uint64_t dla_dim;                /* the dimension, computed or closed form */
    uint64_t dla_closed_form;        /* the closed form (0 if none) */
    bool dla_computed;               /* dla_dim came from the closure */
    double dla_seconds;
    /* Landscape at initialisation (uniform weights, fixed features). */
    double var_loss, var_loss_se;          /* Var[l] */
    double var_mid, var_mid_se;            /* Var[dl/dw_mid], mid = n_weights / 2 */
    double var_all, var_all_se;            /* mean over all weights of Var[dl/dw_k] */
    double pred_loss, pred_mid;            /* Lie-algebraic predictions; NaN if none */
    char pred_note[200];                   /* where the prediction comes from, or why it is blank */
    double landscape_seconds;
    /* Training. */
    paradox_run *runs;                     /* n_seeds */
    double train_mean, train_sd, test_mean, test_sd, seconds_mean;
    qml_train_epoch *curve;                /* epochs entries: the first seed's history */
} paradox_cell;

/* Write report.md, results.csv, summary.csv, curves.csv and the figures to
 * setup->out_dir; returns the process exit code (0, or 1 with a message). */
int paradox_write_outputs(const paradox_setup *setup, paradox_cell *cells, size_t n_cells, double wall_seconds);

/* Model names for tables and legends. */
const char *paradox_model_label(qml_model_kind kind);

#endif

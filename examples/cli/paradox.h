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
#define PARADOX_MAX_DEPTHS 8   /* rungs of the depth ladder */

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
    /* The depth study: every model at L = f n for each factor f (the first
     * is 1, the training depth); the free-fermion model also at
     * L = ff_quadratic n^2 when that is deeper and its cost (layers x gates
     * per layer x 2^n) stays within depth_cost_cap. */
    unsigned depth_factors[PARADOX_MAX_DEPTHS];
    size_t n_depth_factors;
    unsigned ff_quadratic;      /* 0: no quadratic rung */
    double depth_cost_cap;
    const char *out_dir;
    unsigned threads_used;      /* --threads, or the number of online cores for 0 */
    char command[512];          /* the command line, for the report */
} paradox_setup;

/* One training run. */
typedef struct paradox_run {
    uint64_t seed;
    double train_accuracy, test_accuracy, train_loss, test_loss, seconds;
} paradox_run;

/* One rung of the depth ladder: the landscape at initialisation at L layers. */
typedef struct paradox_depth {
    unsigned layers;
    size_t n_weights;
    double var_loss, var_loss_se;          /* Var[l] */
    double var_mid, var_mid_se;            /* Var[dl/dw_mid], mid = n_weights / 2 */
    /* The middle-gate prediction for this rung's middle weight: the cell's
     * when the weight has the same generator as at L = n, the closed form
     * (marked) for the permutation model otherwise, else NaN. */
    double pred_mid;
    bool pred_mid_cf;
    double seconds;
} paradox_depth;

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
    bool pred_loss_cf, pred_mid_cf;        /* the prediction is the closed form (not lie.c's) */
    double cf_loss, cf_mid;                /* the closed forms (NaN if none), also where lie.c computed */
    double lie_loss, lie_mid;              /* lie.c's predictions (NaN where not computed) */
    unsigned light_cone_layers;            /* layers of the readout's backward light cone to cover all qubits (0: never) */
    char pred_note[200];                   /* where the prediction comes from, or why it is blank */
    double landscape_seconds;
    /* Training. */
    paradox_run *runs;                     /* n_seeds */
    double train_mean, train_sd, test_mean, test_sd, seconds_mean;
    qml_train_epoch *curve;                /* epochs entries: the first seed's history */
    /* The depth ladder (depth[0] is L = n, the numbers above). */
    paradox_depth depth[PARADOX_MAX_DEPTHS];
    size_t n_depth;
} paradox_cell;

/* Write report.md, results.csv, summary.csv, curves.csv and the figures to
 * setup->out_dir; returns the process exit code (0, or 1 with a message). */
int paradox_write_outputs(const paradox_setup *setup, paradox_cell *cells, size_t n_cells, double wall_seconds);

/* Model names for tables and legends. */
const char *paradox_model_label(qml_model_kind kind);

#endif

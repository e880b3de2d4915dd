/* paradox.h: the parts of `qml paradox` (cmd_paradox.c drives the stages,
 * paradox_table.c keeps the CSV files, paradox_landscape.c and
 * paradox_train.c measure, paradox_report.c decides and writes the report,
 * baselines.c fits the classical baselines). */
#ifndef QML_CLI_PARADOX_H
#define QML_CLI_PARADOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qml.h"

#define PARADOX_MAX_LIST 8

/* Model kinds the study names (the library's values where they exist). */
#define PARADOX_KIND_UNSTRUCTURED 0
#define PARADOX_KIND_PERMUTATION 1
#define PARADOX_KIND_FREE_FERMION 2
#define PARADOX_KIND_PERMUTATION_LOCAL 3
#define PARADOX_KIND_PERMUTATION_BOUNDED 4

/* The experiment's choices, all of which the report states. */
typedef struct paradox_setup {
    bool quick, long_mode;
    bool json;                  /* the closing summary as JSON on stdout */
    uint64_t seed;
    unsigned threads, threads_used;
    double learning_rate;
    size_t batch_size;
    /* Landscape: every model at L = f n for each factor, land_samples draws. */
    unsigned land_qubits[PARADOX_MAX_LIST];
    size_t n_land_qubits;
    unsigned depth_factors[4];
    size_t n_depth_factors;
    unsigned ff_quadratic;      /* free-fermion rung L = ff_quadratic n^2 where affordable (0: none) */
    double depth_cost_cap;      /* layers x gates per layer x 2^n */
    size_t land_samples;
    size_t data_rows;           /* rows of the data-averaged loss */
    size_t lie_max_dim;
    unsigned lie_max_qubits_general;
    /* C1: trainability under a shot budget. */
    unsigned c1_qubits[PARADOX_MAX_LIST];
    size_t n_c1_qubits;
    unsigned c1_max_qubits_permutation; /* the costlier permutation model stops here */
    unsigned c1_depth_factor;   /* L = f n */
    uint64_t shots[4];          /* 0 = exact */
    size_t n_shots;
    unsigned c1_seeds, c1_epochs;
    size_t c1_train_rows, c1_test_rows;
    double success_threshold;
    size_t roughness_draws;     /* weight draws of the roughness diagnostic */
    /* C2: geometric prior. */
    unsigned c2_qubits, c2_layers;
    size_t c2_sizes[4];
    size_t n_c2_sizes;
    size_t c2_test_rows;
    unsigned c2_seeds, c2_steps;
    /* C3: capacity. */
    unsigned c3_qubits;
    size_t c3_params;           /* the common weight count the layers are chosen for */
    size_t c3_rows, c3_test_rows;
    unsigned c3_seeds, c3_steps;
    double flip_fraction;
    /* Large n on the algebra simulators (the permutation and free-fermion
     * models only; empty list: not run). */
    int backend;                /* qml_backend asked for (--backend): used where it applies, else auto's choice */
    unsigned large_qubits[PARADOX_MAX_LIST];
    size_t n_large_qubits;
    size_t large_samples;       /* draws per large-n landscape cell */
    unsigned large_seeds;       /* C1 runs per large-n cell (exact gradients) */
    unsigned large_c1_max;      /* the large-n C1 runs stop here (0: no cap; cost ~ n^3 per row and step) */
    /* Output. */
    const char *out_dir;
    char options[512];          /* the options as given (without --out/--resume), for --resume */
    char command[640];          /* the command line relative to the output folder */
} paradox_setup;

/* ---- CSV tables (paradox_table.c) ------------------------------------------------ */

/* One CSV file of the output folder, held in memory and appended to row by
 * row (each row flushed as it is written, so an interrupted run keeps it). */
typedef struct paradox_table {
    char name[64];
    size_t n_cols;
    char header[1024];
    char **lines;       /* the data rows as written (without the newline) */
    size_t n_rows, cap;
    FILE *file;         /* open for appending while the study runs */
    size_t n_keys;      /* the first n_keys columns identify a row */
} paradox_table;

/* Open DIR/NAME: load its rows if it exists and its header matches (a
 * partial last line, from an interrupted run, is dropped), else start it.
 * With dir NULL the table is held in memory only. Returns 0, or 1 with a
 * message. */
int paradox_table_open(paradox_table *t, const char *dir, const char *name, const char *header, size_t n_keys);
void paradox_table_close(paradox_table *t);
/* The row whose key columns equal `key` (the first n_keys fields joined by
 * commas), or -1. */
long paradox_table_find(const paradox_table *t, const char *key);
/* Append a row (printf-style, no newline); returns 0 or 1 with a message. */
int paradox_table_append(paradox_table *t, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Column index by name, or -1. */
int paradox_table_column(const paradox_table *t, const char *column);
/* Field `column` of row `row` into buf (empty if absent). */
const char *paradox_table_field(const paradox_table *t, size_t row, const char *column, char *buf, size_t size);
/* The field as a number (NaN if absent or not a number). */
double paradox_table_number(const paradox_table *t, size_t row, const char *column);

/* All tables of a run. */
typedef struct paradox_tables {
    paradox_table landscape, c1, c2, c3, baselines, roughness;
    paradox_table large, c1_large, cost; /* large n on the algebra simulators */
} paradox_tables;

/* The tables of a run as a list (the order of the struct; a table the run
 * does not use has no name); returns the count. */
#define PARADOX_N_TABLES 9
size_t paradox_tables_list(paradox_tables *t, paradox_table *list[PARADOX_N_TABLES]);

/* ---- a run dealt over processes (qml-mpi paradox; paradox_table.c) ---------------- */

/* How a run is shared between `size` processes; the plain program has none.
 * Every row (a line of any table) has an index: the order in which the
 * stages first ask for its key (paradox_table_find), which is the same in
 * every process because the stages ask for the same keys in the same order
 * whatever they compute. Row i is computed by process i mod size only: for
 * the others paradox_table_find answers "done". */
typedef struct paradox_ranks {
    unsigned rank, size;
    void *user;
    /* Between rows: nonzero when another process failed (this one then
     * skips its remaining rows). */
    int (*stopped)(void *user);
    /* After the stages, on every process with its own exit code: the code
     * of the run (0 only if every process's is 0); a process that failed
     * tells the others here. */
    int (*agree)(int code, void *user);
    /* After a successful agree: move every process's rows into the tables
     * of rank 0 (appended in any order) and sum the CPU seconds of all;
     * returns the run's code. */
    int (*gather)(paradox_tables *t, double *cpu_seconds, void *user);
} paradox_ranks;

/* Start / stop dealing rows (NULL: every row is this process's). */
void paradox_deal_begin(const paradox_ranks *ranks);
void paradox_deal_end(void);
/* Nonzero if a row was skipped because another process stopped the run. */
int paradox_deal_stopped(void);
/* Put the rows of a table in the order of their indices (the plain program's
 * order); returns 0 or 1 with a message (a row no process was dealt). */
int paradox_table_sort_dealt(paradox_table *t);
/* Add a row computed elsewhere (no file is written); 0 or 1 with a message. */
int paradox_table_add_line(paradox_table *t, const char *line);
/* Write a table (held in memory) to DIR/NAME through DIR/NAME.partial and
 * a rename; returns 0 or 1 with a message. */
int paradox_table_write(const paradox_table *t, const char *dir);
/* The run of `qml paradox` after the options (cmd_paradox.c): `resume` as
 * given, ranks NULL for one process. */
int paradox_run(paradox_setup *setup, int argc, char **argv, const char *resume, const paradox_ranks *ranks);
/* Parse the options of `qml paradox` (argv[0] is the command name) into a
 * zeroed setup; 0, or the exit code of a usage error / --help (*stop set). */
int paradox_parse(int argc, char **argv, paradox_setup *s, const char **resume, bool *stop);

/* ---- progress (cmd_paradox.c) ----------------------------------------------------- */

typedef struct paradox_progress {
    bool tty;
    double start;             /* wall clock at the start */
    double units_total;       /* estimated work of the jobs still to run at the start */
    double units_done;
    double seconds_done;      /* wall time spent on finished jobs */
    size_t jobs_total, jobs_done;
    char prefix[160];
    unsigned epochs;
    bool quiet;               /* no output (the processes of a dealt run other than rank 0) */
    volatile int *interrupted;
} paradox_progress;

/* A job finished: one line on stderr with the elapsed time and the estimate
 * of the time left. */
void paradox_progress_done(paradox_progress *p, const char *what, double units, double seconds);
/* The live status line (terminals only). */
void paradox_progress_show(const paradox_progress *p, const char *detail);
int paradox_on_epoch(unsigned epoch, const qml_train_epoch *record, void *user);
int paradox_on_samples(const char *stage, size_t done, size_t total, void *user);

/* ---- stages ----------------------------------------------------------------------- */

/* Each stage runs the jobs its table lacks (counting with `count_only`
 * instead: adds the jobs and their estimated work to the progress). */
int paradox_landscape(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only);
int paradox_c1(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only);
int paradox_c2(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only);
int paradox_c3(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only);
int paradox_roughness(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only);
/* Large n on the algebra simulators: the landscape of the permutation and
 * free-fermion models (large.csv), their C1 runs with exact gradients
 * (c1_large.csv), and the cost of a gradient and of a training step on each
 * backend beside the statevector's at the largest C1 n (cost.csv). */
int paradox_landscape_large(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only);
int paradox_c1_large(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only);
int paradox_cost(const paradox_setup *s, paradox_tables *t, paradox_progress *p, bool count_only);
/* The backend a row runs on: the one asked for (s->backend) where it
 * applies, else what QML_BACKEND_AUTO picks; the statevector with shots.
 * Returns a qml_status. */
int paradox_choose_backend(const paradox_setup *s, const qml_circuit *circuit, const qml_pauli_sum *readout,
                           uint64_t shots, int *chosen);
/* The algebraic backend of a model (large n): the one asked for if it is
 * algebraic and applies, else auto's choice, else the symmetric backend or
 * g-sim, whichever applies; 0 (the statevector) if none does. */
int paradox_algebraic_backend(const paradox_setup *s, const qml_model *model);
const char *paradox_backend_name(int backend);
/* The work of one pass through `layers` layers of model `kind` on its
 * algebra simulator, in the progress estimate's unit (gates x 2^n on the
 * statevector). */
double paradox_algebra_units(int kind, unsigned n, unsigned layers);
/* The Lie-algebraic predictions in closed form (docs/paradox.md): dim g,
 * Var[l] and Var[dl/dw] of the weight at position `pos` of a layer, for a
 * circuit Haar-random on e^g (NaN where not derived). */
uint64_t paradox_dla_closed_form(int kind, unsigned n);
double paradox_loss_variance_closed_form(int kind, unsigned n);
double paradox_mid_gradient_closed_form(int kind, unsigned n, size_t pos);

/* The layers of model `kind` in C3: the weight count closest to c3_params. */
unsigned paradox_c3_layers(const paradox_setup *s, int kind);

/* Two moons as every two-moons part uses it: 3/2 c1_train_rows points,
 * noise 0.15, a stratified split of one third for testing, features
 * rescaled to [-pi/2, pi/2] with the training set's ranges. */
int paradox_moons(const paradox_setup *s, qml_dataset **train, qml_dataset **test);

/* Write report.md, verdicts.csv and the figures from the tables (wall and
 * CPU time of this process, compute time of every row); returns 0 or 1
 * with a message. */
int paradox_report(const paradox_setup *s, paradox_tables *t, double wall_seconds, double compute_seconds,
                   double cpu_seconds);

/* ---- shared helpers --------------------------------------------------------------- */

const char *paradox_kind_name(int kind);   /* "unstructured", ..., as the CSVs spell them */
const char *paradox_kind_label(int kind);  /* for tables and legends */
int paradox_kind_from_name(const char *name);
unsigned paradox_weights_per_layer(int kind, unsigned n);
double paradox_gates_per_layer(int kind, unsigned n);
/* A SplitMix64 mix of (seed, a, b): independent streams per job. */
uint64_t paradox_mix(uint64_t seed, uint64_t a, uint64_t b);
/* Uniform double in [0, 1) from a SplitMix64 state. */
double paradox_uniform(uint64_t *state);
/* Student t quantile t_{0.975, dof} (dof >= 1; 1.96 beyond the table). */
double paradox_t975(unsigned dof);
/* Wilson 95 % interval of k successes in m trials. */
void paradox_wilson(unsigned k, unsigned m, double *lo, double *hi);
/* Mean and 95 % interval (mean +- t sd / sqrt(m)) clipped to [0, 1]. */
void paradox_mean_interval(const double *x, size_t m, double *mean, double *lo, double *hi);

#endif

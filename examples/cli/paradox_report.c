/*
 * paradox_report.c: the outputs of `qml paradox`: report.md (every number in
 * it printed from the measurements), results.csv, summary.csv, curves.csv
 * and the SVG figures.
 */
#include "cli.h"
#include "paradox.h"
#include "svg.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *paradox_model_label(qml_model_kind kind)
{
    switch (kind) {
    case QML_MODEL_UNSTRUCTURED:
        return "unstructured (HEA)";
    case QML_MODEL_PERMUTATION:
        return "permutation-equivariant";
    case QML_MODEL_FREE_FERMION:
        return "free-fermion";
    }
    return "?";
}

/* ---- helpers ---------------------------------------------------------------------- */

typedef struct outputs {
    const paradox_setup *setup;
    paradox_cell *cells;
    size_t n_cells;
    size_t n_q;       /* qubit counts */
    char path[4096];
    int failed;
} outputs;

static const char *file_path(outputs *o, const char *name)
{
    snprintf(o->path, sizeof o->path, "%s/%s", o->setup->out_dir, name);
    return o->path;
}

static FILE *open_output(outputs *o, const char *name)
{
    FILE *f = fopen(file_path(o, name), "w");
    if (!f) {
        fprintf(stderr, "qml: paradox: cannot write %s: %s\n", o->path, strerror(errno));
        o->failed = 1;
    }
    return f;
}

static void close_output(outputs *o, FILE *f)
{
    if (!f)
        return;
    if (ferror(f) | fclose(f)) {
        fprintf(stderr, "qml: paradox: write error on %s\n", o->path);
        o->failed = 1;
    }
}

/* Cell of model k at qubit index q. */
static paradox_cell *cell_at(const outputs *o, size_t k, size_t q)
{
    return &o->cells[k * o->n_q + q];
}

/* A number with 3 significant digits for Markdown: "-" for NaN. */
static const char *num(char *buf, size_t size, double v)
{
    if (!isfinite(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.3g", v);
    return buf;
}

/* "1.23e-04 +- 4.5e-06" */
static const char *with_se(char *buf, size_t size, double v, double se)
{
    if (!isfinite(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.3g ± %.2g", v, se);
    return buf;
}

static const char *mean_sd(char *buf, size_t size, double mean, double sd)
{
    if (isfinite(sd))
        snprintf(buf, size, "%.3f ± %.3f", mean, sd);
    else
        snprintf(buf, size, "%.3f", mean);
    return buf;
}

/* ---- CSV -------------------------------------------------------------------------- */

static void write_csv(outputs *o)
{
    const paradox_setup *s = o->setup;
    FILE *f = open_output(o, "results.csv");
    if (f) {
        fprintf(f, "model,n_qubits,layers,n_weights,run,seed,train_accuracy,test_accuracy,train_loss,test_loss,"
                   "seconds\n");
        for (size_t c = 0; c < o->n_cells; c++) {
            const paradox_cell *cell = &o->cells[c];
            for (unsigned r = 0; r < s->n_seeds; r++) {
                const paradox_run *run = &cell->runs[r];
                fprintf(f, "%s,%u,%u,%zu,%u,%" PRIu64 ",%.17g,%.17g,%.17g,%.17g,%.3f\n",
                        qml_model_kind_name(cell->kind), cell->n_qubits, cell->layers, cell->n_weights, r + 1,
                        run->seed, run->train_accuracy, run->test_accuracy, run->train_loss, run->test_loss,
                        run->seconds);
            }
        }
        close_output(o, f);
    }
    f = open_output(o, "summary.csv");
    if (f) {
        fprintf(f, "model,n_qubits,layers,n_weights,n_params,dla_dim,dla_source,dla_closed_form,var_loss,"
                   "var_loss_stderr,var_loss_predicted,var_grad_mid,var_grad_mid_stderr,var_grad_mid_predicted,"
                   "var_grad_mean,var_grad_mean_stderr,train_accuracy_mean,train_accuracy_sd,test_accuracy_mean,"
                   "test_accuracy_sd,seconds_per_run,landscape_seconds,dla_seconds\n");
        for (size_t c = 0; c < o->n_cells; c++) {
            const paradox_cell *cell = &o->cells[c];
            fprintf(f,
                    "%s,%u,%u,%zu,%zu,%" PRIu64 ",%s,%" PRIu64 ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,"
                    "%.17g,%.17g,%.17g,%.17g,%.3f,%.3f,%.3f\n",
                    qml_model_kind_name(cell->kind), cell->n_qubits, cell->layers, cell->n_weights,
                    cell->n_weights + 2, cell->dla_dim, cell->dla_computed ? "computed" : "closed form",
                    cell->dla_closed_form, cell->var_loss, cell->var_loss_se, cell->pred_loss, cell->var_mid,
                    cell->var_mid_se, cell->pred_mid, cell->var_all, cell->var_all_se, cell->train_mean,
                    cell->train_sd, cell->test_mean, cell->test_sd, cell->seconds_mean, cell->landscape_seconds,
                    cell->dla_seconds);
        }
        close_output(o, f);
    }
    f = open_output(o, "curves.csv");
    if (f) {
        fprintf(f, "model,n_qubits,run,epoch,train_loss,train_accuracy,test_loss,test_accuracy\n");
        for (size_t c = 0; c < o->n_cells; c++) {
            const paradox_cell *cell = &o->cells[c];
            for (unsigned e = 0; e < s->epochs; e++)
                fprintf(f, "%s,%u,1,%u,%.17g,%.17g,%.17g,%.17g\n", qml_model_kind_name(cell->kind), cell->n_qubits,
                        e + 1, cell->curve[e].loss, cell->curve[e].train_accuracy, cell->curve[e].test_loss,
                        cell->curve[e].test_accuracy);
        }
        close_output(o, f);
    }
}

/* ---- figures ------------------------------------------------------------------------ */

static const char *const model_colors[PARADOX_MODELS] = {"#d62728", "#1f77b4", "#2ca02c"};

static void figure(outputs *o, const char *name, const svg_plot *plot)
{
    if (svg_write(file_path(o, name), plot) != 0) {
        fprintf(stderr, "qml: paradox: cannot write %s: %s\n", o->path, strerror(errno));
        o->failed = 1;
    }
}

static void write_figures(outputs *o)
{
    size_t nq = o->n_q;
    /* Per model: x = n and the columns the figures need. */
    double x[PARADOX_MAX_QUBITS];
    double col[PARADOX_MODELS][12][PARADOX_MAX_QUBITS];
    char labels[PARADOX_MODELS][6][96];
    for (size_t q = 0; q < nq; q++)
        x[q] = o->setup->qubits[q];
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        for (size_t q = 0; q < nq; q++) {
            const paradox_cell *c = cell_at(o, k, q);
            double v[12] = {c->var_mid,    c->var_mid_se, c->pred_mid,  c->var_loss,
                            c->var_loss_se, c->pred_loss, c->train_mean, c->train_sd,
                            c->test_mean,  c->test_sd,    c->dla_computed ? (double)c->dla_dim : (double)NAN,
                            c->dla_closed_form ? (double)c->dla_closed_form : (double)NAN};
            for (int j = 0; j < 12; j++)
                col[k][j][q] = v[j];
        }
        const char *name = paradox_model_label(cell_at(o, k, 0)->kind);
        snprintf(labels[k][0], sizeof labels[k][0], "%s", name);
        snprintf(labels[k][1], sizeof labels[k][1], "%s, predicted", name);
        snprintf(labels[k][2], sizeof labels[k][2], "%s, train", name);
        snprintf(labels[k][3], sizeof labels[k][3], "%s, test", name);
        snprintf(labels[k][4], sizeof labels[k][4], "%s, computed", name);
        snprintf(labels[k][5], sizeof labels[k][5], "%s, closed form", name);
    }
    svg_series series[2 * PARADOX_MODELS];
    svg_plot plot = {0};
    plot.x_label = "qubits n";
    plot.series = series;
    plot.n_series = 2 * PARADOX_MODELS;

    /* Var[dl/dw_mid] against n, with the Lie-algebraic predictions. */
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        series[2 * k] = (svg_series){labels[k][0], x, col[k][0], col[k][1], nq, false, false, model_colors[k]};
        series[2 * k + 1] = (svg_series){labels[k][1], x, col[k][2], NULL, nq, true, false, model_colors[k]};
    }
    plot.title = "Gradient variance at initialisation (middle weight)";
    plot.y_label = "Var[dl/dw_mid]";
    plot.log_y = true;
    plot.y_min = plot.y_max = NAN;
    figure(o, "variance.svg", &plot);

    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        series[2 * k] = (svg_series){labels[k][0], x, col[k][3], col[k][4], nq, false, false, model_colors[k]};
        series[2 * k + 1] = (svg_series){labels[k][1], x, col[k][5], NULL, nq, true, false, model_colors[k]};
    }
    plot.title = "Loss variance at initialisation";
    plot.y_label = "Var[l] = Var[<O>]";
    figure(o, "loss_variance.svg", &plot);

    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        series[2 * k] = (svg_series){labels[k][2], x, col[k][6], col[k][7], nq, false, false, model_colors[k]};
        series[2 * k + 1] = (svg_series){labels[k][3], x, col[k][8], col[k][9], nq, true, false, model_colors[k]};
    }
    plot.title = "Final accuracy (mean ± sd over seeds)";
    plot.y_label = "accuracy";
    plot.log_y = false;
    figure(o, "accuracy.svg", &plot);

    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        /* The closed form first, so that the computed markers sit on top. */
        series[2 * k] = (svg_series){labels[k][5], x, col[k][11], NULL, nq, true, false, model_colors[k]};
        series[2 * k + 1] = (svg_series){labels[k][4], x, col[k][10], NULL, nq, false, true, model_colors[k]};
    }
    plot.title = "Dimension of the dynamical Lie algebra";
    plot.y_label = "dim g";
    plot.log_y = true;
    figure(o, "dla.svg", &plot);

    /* One training curve per model at the largest n. */
    unsigned epochs = o->setup->epochs;
    double *ex = calloc(4 * (size_t)epochs, sizeof *ex);
    if (!ex) {
        o->failed = 1;
        return;
    }
    for (unsigned e = 0; e < epochs; e++)
        ex[e] = e + 1;
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        const paradox_cell *c = cell_at(o, k, nq - 1);
        for (unsigned e = 0; e < epochs; e++) {
            ex[epochs + e] = c->curve[e].loss;
            ex[2 * epochs + e] = c->curve[e].train_accuracy;
            ex[3 * epochs + e] = c->curve[e].test_accuracy;
        }
        svg_series cs[3] = {
            {"training loss (BCE)", ex, ex + epochs, NULL, epochs, false, false, "#444444"},
            {"train accuracy", ex, ex + 2 * epochs, NULL, epochs, false, false, model_colors[k]},
            {"test accuracy", ex, ex + 3 * epochs, NULL, epochs, true, false, model_colors[k]},
        };
        char title[128], name[64];
        snprintf(title, sizeof title, "Training, %s, n = %u (run 1)", paradox_model_label(c->kind), c->n_qubits);
        snprintf(name, sizeof name, "curve_%s.svg", qml_model_kind_name(c->kind));
        svg_plot cp = {title, "epoch", "loss / accuracy", false, 0.0, NAN, cs, 3};
        figure(o, name, &cp);
    }
    free(ex);
}

/* ---- the report -------------------------------------------------------------------- */

typedef struct decay {
    int status;           /* QML_OK or the fit's error */
    qml_bp_fit fit;
} decay;

static decay fit_decay(const outputs *o, size_t k, bool mid)
{
    decay d = {QML_ERR_NOT_APPLICABLE, {0}};
    double n[PARADOX_MAX_QUBITS], v[PARADOX_MAX_QUBITS], se[PARADOX_MAX_QUBITS];
    size_t m = 0;
    for (size_t q = 0; q < o->n_q; q++) {
        const paradox_cell *c = cell_at(o, k, q);
        double val = mid ? c->var_mid : c->var_all, err = mid ? c->var_mid_se : c->var_all_se;
        if (val > 0.0 && err > 0.0 && isfinite(val) && isfinite(err)) {
            n[m] = c->n_qubits;
            v[m] = val;
            se[m] = err;
            m++;
        }
    }
    d.fit.size = sizeof d.fit;
    if (m >= 3)
        d.status = qml_bp_fit_data(n, v, se, m, &d.fit);
    return d;
}

static void write_report(outputs *o, double wall)
{
    const paradox_setup *s = o->setup;
    FILE *f = open_output(o, "report.md");
    if (!f)
        return;
    char b1[64], b2[64], b3[64], b4[64], b5[64], b6[64], b7[64];
    size_t nq = o->n_q;
    unsigned n_max = s->qubits[nq - 1];

    fprintf(f, "# Expressivity against trainability: unstructured and symmetric classifiers\n\n");
    fprintf(f, "Written by `%s` (libqml %s, seed %" PRIu64 ", %u threads, %.1f s wall time). Every number below "
               "is printed by the program from its own measurements; rerunning with the same seed gives the same "
               "numbers (timings aside) whatever `--threads`. docs/paradox.md explains each choice.\n\n",
            s->command, qml_version_string(), s->seed, s->threads_used, wall);

    fprintf(f, "## Setup\n\n");
    fprintf(f, "- **Data**: two moons, %zu points, noise %.2f, seed %" PRIu64 "; stratified split %zu train / "
               "%zu test; both features rescaled to [-pi/2, pi/2] with the training set's ranges.\n",
            s->n_rows, s->noise, s->seed, s->n_train, s->n_test);
    fprintf(f, "- **Models** (L = n layers each, readout O, head p = sigmoid(a <O> + b), a = %g and b = %g "
               "initially, both trained):\n"
               "  - *unstructured*: per layer RY(x_{q mod 2}) on every qubit, then RY(w), RZ(w) on every qubit and "
               "an open CZ ladder; 2n^2 weights; O = Z_0.\n"
               "  - *permutation-equivariant*: per layer exp(-i x_0/2 sum X_q), exp(-i x_1/2 sum Z_q), then "
               "exp(-i w/2 (2/n) sum_{q<r} Z_q Z_r), RX(w') and RY(w'') on every qubit with one shared weight each; "
               "3n weights; O = (1/n) sum Z_q.\n"
               "  - *free-fermion*: per layer RX(x_{q mod 2}) on every qubit, then RZZ(w) on each open bond and "
               "RX(w) on each qubit, local weights; n(2n-1) weights; O = Z_0 Z_1.\n",
            s->head_scale, s->head_bias);
    fprintf(f, "- **Training**: binary cross-entropy, Adam (learning rate %g, betas 0.9/0.999), batch %zu, "
               "%u epochs, weights initialised uniformly in [0, 2 pi) (the regime where barren plateaus bite); "
               "%u runs per model and n with seeds derived from %" PRIu64 " (the data stay fixed, the "
               "initialisation and minibatch order change). Same settings for every model; the learning rate "
               "was not tuned per model.\n",
            s->learning_rate, s->batch_size, s->epochs, s->n_seeds, s->seed);
    fprintf(f, "- **Gradient variance at initialisation**: %zu uniform weight draws, features fixed to the first "
               "training point (%.4f, %.4f); l = <O> (the readout, not the loss); exact adjoint gradients. "
               "Var[dl/dw_mid] is the middle weight's (index n_weights/2), 'mean Var' the average over all "
               "weights. Standard errors are those of the sample variance.\n",
            s->samples, s->feature_point[0], s->feature_point[1]);
    fprintf(f, "- **DLA**: the Lie closure of the weight generators (fixed CZ gates moved to the start, where they "
               "leave |0...0> unchanged), computed with a cap of %zu (non-string generators up to n = %u), else "
               "the closed form: 4^n - 1, 1 + sum_J ((2J+1)^2 - 1) over J = n/2, n/2 - 1, ..., >= 0, and "
               "n(2n-1). Predictions: Ragone et al. (Var[l]) and Fontana et al. (Var[dl/dw] of a middle gate) "
               "for a circuit Haar-random on e^g, from the computed algebra; Var[l] also in closed form "
               "(1/(2^n+1) and 1/(3n)) where the DLA is not computed.\n\n",
            s->lie_max_dim, s->lie_max_qubits_general);

    fprintf(f, "## Results\n\n");
    fprintf(f, "| model | n | weights | DLA dim | Var[l] | predicted | Var[dl/dw_mid] | predicted | mean Var "
               "over weights | train accuracy | test accuracy | s/run |\n");
    fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t k = 0; k < PARADOX_MODELS; k++)
        for (size_t q = 0; q < nq; q++) {
            const paradox_cell *c = cell_at(o, k, q);
            fprintf(f, "| %s | %u | %zu | %" PRIu64 "%s | %s | %s | %s | %s | %s | %s | %s | %.2f |\n",
                    paradox_model_label(c->kind), c->n_qubits, c->n_weights, c->dla_dim,
                    c->dla_computed ? "" : " (closed form)", with_se(b1, sizeof b1, c->var_loss, c->var_loss_se),
                    num(b2, sizeof b2, c->pred_loss), with_se(b3, sizeof b3, c->var_mid, c->var_mid_se),
                    num(b4, sizeof b4, c->pred_mid), with_se(b5, sizeof b5, c->var_all, c->var_all_se),
                    mean_sd(b6, sizeof b6, c->train_mean, c->train_sd),
                    mean_sd(b7, sizeof b7, c->test_mean, c->test_sd), c->seconds_mean);
        }
    fprintf(f, "\nAccuracies are mean ± sample standard deviation over %u runs; s/run is the wall time of one "
               "training run. A '-' prediction means there is none for that cell",
            s->n_seeds);
    size_t n_notes = 0;
    for (size_t c = 0; c < o->n_cells; c++)
        n_notes += !isfinite(o->cells[c].pred_mid) || !o->cells[c].dla_computed ||
                   o->cells[c].dla_dim != o->cells[c].dla_closed_form;
    fprintf(f, "%s\n", n_notes ? "; the notes:\n" : " (every cell has both predictions here).");
    for (size_t c = 0; c < o->n_cells; c++)
        if (!isfinite(o->cells[c].pred_mid) || !o->cells[c].dla_computed)
            fprintf(f, "- %s, n = %u: %s\n", paradox_model_label(o->cells[c].kind), o->cells[c].n_qubits,
                    o->cells[c].pred_note[0] ? o->cells[c].pred_note : "no prediction");
    for (size_t c = 0; c < o->n_cells; c++)
        if (o->cells[c].dla_computed && o->cells[c].dla_dim != o->cells[c].dla_closed_form)
            fprintf(f, "- %s, n = %u: the computed DLA dimension %" PRIu64 " differs from the closed form %" PRIu64
                       ".\n",
                    paradox_model_label(o->cells[c].kind), o->cells[c].n_qubits, o->cells[c].dla_dim,
                    o->cells[c].dla_closed_form);
    fprintf(f, "\nFigures: `variance.svg`, `loss_variance.svg`, `accuracy.svg`, `dla.svg`, `curve_*.svg` (n = %u). "
               "Raw numbers: `results.csv` (one row per run), `summary.csv` (one row per model and n), "
               "`curves.csv` (per-epoch history of run 1).\n\n",
            n_max);

    /* Findings, from the numbers. */
    fprintf(f, "## Findings\n\n");
    const paradox_cell *hea = cell_at(o, 0, nq - 1), *sym = cell_at(o, 1, nq - 1), *ff = cell_at(o, 2, nq - 1);
    fprintf(f, "**Training accuracy.** At n = %u the unstructured model ends at %.3f train accuracy, the "
               "permutation-equivariant one at %.3f and the free-fermion one at %.3f. ",
            n_max, hea->train_mean, sym->train_mean, ff->train_mean);
    fprintf(f, "From n = %u to n = %u the mean train accuracy goes ", s->qubits[0], n_max);
    for (size_t k = 0; k < PARADOX_MODELS; k++)
        fprintf(f, "%sfrom %.3f to %.3f for the %s model", k == 0 ? "" : k + 1 == PARADOX_MODELS ? " and " : ", ",
                cell_at(o, k, 0)->train_mean, cell_at(o, k, nq - 1)->train_mean,
                qml_model_kind_name(cell_at(o, k, 0)->kind));
    fprintf(f, ". ");
    size_t hea_higher = 0;
    for (size_t q = 0; q < nq; q++)
        hea_higher += cell_at(o, 0, q)->train_mean > cell_at(o, 1, q)->train_mean;
    fprintf(f, "The unstructured model's mean train accuracy is higher than the symmetric one's at %zu of %zu "
               "qubit counts.\n\n",
            hea_higher, nq);
    fprintf(f, "**Generalisation.** Train minus test accuracy at n = %u: unstructured %+.3f, "
               "permutation-equivariant %+.3f, free-fermion %+.3f. Test accuracy: %.3f, %.3f and %.3f.\n\n",
            n_max, hea->train_mean - hea->test_mean, sym->train_mean - sym->test_mean, ff->train_mean - ff->test_mean,
            hea->test_mean, sym->test_mean, ff->test_mean);

    decay fits[PARADOX_MODELS];
    fprintf(f, "**Gradient variance.** ");
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        fits[k] = fit_decay(o, k, false);
        const paradox_cell *first = cell_at(o, k, 0), *last = cell_at(o, k, nq - 1);
        fprintf(f, "%s: the mean variance over weights goes from %.3g (n = %u) to %.3g (n = %u)", 
                paradox_model_label(first->kind), first->var_all, first->n_qubits, last->var_all, last->n_qubits);
        if (fits[k].status == QML_OK) {
            fprintf(f, "; fitted Var ~ e^{-r n} with r = %.3f ± %.3f (chi^2 %.3g) and Var ~ n^{-p} with p = "
                       "%.3f ± %.3f (chi^2 %.3g): the %s fits better",
                    fits[k].fit.exponential_rate, fits[k].fit.exponential_stderr, fits[k].fit.exponential_chi2,
                    fits[k].fit.power_rate, fits[k].fit.power_stderr, fits[k].fit.power_chi2,
                    fits[k].fit.model == QML_BP_EXPONENTIAL ? "exponential" : "power law");
            if (fits[k].fit.exponential_rate < 0.0 && fits[k].fit.power_rate < 0.0)
                fprintf(f, " (both rates are negative: the variance grows with n here, it does not decay)");
        } else {
            fprintf(f, " (no decay fit: it needs at least three qubit counts)");
        }
        fprintf(f, ". ");
    }
    fprintf(f, "\n\n");
    fprintf(f, "**Predictions.** Measured over predicted Var[dl/dw_mid] where both exist: ");
    int any = 0;
    for (size_t c = 0; c < o->n_cells; c++) {
        const paradox_cell *cell = &o->cells[c];
        if (isfinite(cell->pred_mid) && cell->pred_mid > 0.0) {
            fprintf(f, "%s%s n = %u: %.2f", any ? "; " : "", qml_model_kind_name(cell->kind), cell->n_qubits,
                    cell->var_mid / cell->pred_mid);
            any = 1;
        }
    }
    fprintf(f, "%s. Measured over predicted Var[l]: ", any ? "" : "none");
    any = 0;
    for (size_t c = 0; c < o->n_cells; c++) {
        const paradox_cell *cell = &o->cells[c];
        if (isfinite(cell->pred_loss) && cell->pred_loss > 0.0) {
            fprintf(f, "%s%s n = %u: %.2f", any ? "; " : "", qml_model_kind_name(cell->kind), cell->n_qubits,
                    cell->var_loss / cell->pred_loss);
            any = 1;
        }
    }
    fprintf(f, "%s. A ratio near 1 says the circuit at L = n layers is already close to Haar-random on its "
               "group; the sample variance of %zu draws has a relative standard error of roughly "
               "sqrt(2/%zu) = %.2f or more.\n\n",
            any ? "" : "none", s->samples, s->samples, sqrt(2.0 / (double)s->samples));

    /* Where the numbers agree or disagree with the paper's claims. */
    fprintf(f, "## Against the paper's claims\n\n");
    fprintf(f, "The claims tested (arXiv:2606.31536 as summarised in DESIGN.md), each checked by the program:\n\n");
    double min_hea_train = 1.0;
    for (size_t q = 0; q < nq; q++)
        min_hea_train = fmin(min_hea_train, cell_at(o, 0, q)->train_mean);
    fprintf(f, "1. *The unstructured model reaches near-perfect training accuracy.* Its lowest mean train accuracy "
               "over n is %.3f: %s\n",
            min_hea_train,
            min_hea_train >= 0.95 ? "consistent (>= 0.95 at every n)."
                                  : "**not observed** at these sizes and this training budget (threshold 0.95).");
    size_t worse = 0;
    for (size_t q = 0; q < nq; q++)
        worse += cell_at(o, 0, q)->test_mean < cell_at(o, 1, q)->test_mean;
    fprintf(f, "2. *The unstructured model generalises worse than the symmetric one.* Its test accuracy is lower "
               "at %zu of %zu qubit counts: %s\n",
            worse, nq, 2 * worse > nq ? "consistent." : "**not observed** at most sizes.");
    if (fits[0].status == QML_OK && fits[1].status == QML_OK) {
        bool ok = fits[0].fit.model == QML_BP_EXPONENTIAL && fits[1].fit.model == QML_BP_POWER;
        fprintf(f, "3. *Unstructured gradients vanish exponentially, symmetric ones polynomially.* The better fit is "
                   "%s for the unstructured model and %s for the symmetric one: %s\n",
                fits[0].fit.model == QML_BP_EXPONENTIAL ? "exponential" : "a power law",
                fits[1].fit.model == QML_BP_EXPONENTIAL ? "exponential" : "a power law",
                ok ? "consistent." : "**not clearly separated** by these qubit counts and samples.");
    } else {
        fprintf(f, "3. *Unstructured gradients vanish exponentially, symmetric ones polynomially.* Not tested in "
                   "this run (fewer than three qubit counts).\n");
    }
    size_t spread = 0, measured = 0;
    double worst_sd = 0.0;
    for (size_t q = 0; q < nq; q++) {
        double sd = cell_at(o, 1, q)->train_sd;
        if (!isfinite(sd))
            continue;
        measured++;
        spread += sd > 0.05;
        worst_sd = fmax(worst_sd, sd);
    }
    if (measured == 0)
        fprintf(f, "4. *The symmetric model trains reliably.* Not tested (one run per cell).\n\n");
    else
        fprintf(f, "4. *The symmetric model trains reliably.* The standard deviation of its train accuracy over runs "
                   "exceeds 0.05 at %zu of %zu qubit counts (largest %.3f): %s\n\n",
                spread, measured, worst_sd, spread == 0 ? "consistent." : "**not observed** at every n.");

    fprintf(f, "## Limitations\n\n");
    fprintf(f, "- Small sizes (n <= %u), %u runs per cell and one dataset: the error bars are wide and the "
               "decay fits rest on %zu points.\n",
            n_max, s->n_seeds, nq);
    fprintf(f, "- The landscape is measured for l = <O> at one input point; the training loss differs by the head "
               "(dL/dw = (p - y) a dl/dw for cross-entropy).\n");
    fprintf(f, "- The predictions assume a circuit Haar-random on e^g; L = n layers may be too shallow for that, "
               "and the DLA ignores the feature gates (their generators lie in g for all three models).\n");
    fprintf(f, "- One learning rate for all models, not tuned per model; %u epochs. A longer budget could change "
               "the train accuracies.\n",
            s->epochs);
    fprintf(f, "- Timings (total %.1f s on %u threads) depend on the machine; everything else depends only on the "
               "seed.\n",
            wall, s->threads_used);
    close_output(o, f);
}

int paradox_write_outputs(const paradox_setup *setup, paradox_cell *cells, size_t n_cells, double wall_seconds)
{
    outputs o = {setup, cells, n_cells, setup->n_qubit_counts, {0}, 0};
    write_csv(&o);
    write_figures(&o);
    write_report(&o, wall_seconds);
    return o.failed ? 1 : 0;
}

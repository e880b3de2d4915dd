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
    case QML_MODEL_PERMUTATION_LOCAL:
        return "permutation-equivariant, local encoding";
    case QML_MODEL_PERMUTATION_BOUNDED:
        return "permutation-equivariant, bounded encoding";
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

/* The deepest rung of a cell's depth ladder. */
static const paradox_depth *deep(const paradox_cell *cell)
{
    return &cell->depth[cell->n_depth - 1];
}

/* The rung at L = factor n (the deepest common rung is the last factor), the
 * deepest rung for factor 0, or NULL. */
static const paradox_depth *rung(const paradox_cell *cell, unsigned factor)
{
    if (factor == 0)
        return cell->n_depth ? &cell->depth[cell->n_depth - 1] : NULL;
    for (size_t d = 0; d < cell->n_depth; d++)
        if (cell->depth[d].layers == factor * cell->n_qubits)
            return &cell->depth[d];
    return NULL;
}

static const char *prediction_source(double value, bool closed_form)
{
    return !isfinite(value) ? "none" : closed_form ? "closed form" : "computed";
}

/* A prediction for Markdown: "-", "1.23e-04" or "1.23e-04 (cf)". */
static const char *pred(char *buf, size_t size, double v, bool closed_form)
{
    if (!isfinite(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.3g%s", v, closed_form ? " (cf)" : "");
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
                   "test_accuracy_sd,seconds_per_run,landscape_seconds,dla_seconds,var_loss_predicted_source,"
                   "var_grad_mid_predicted_source,var_loss_closed_form,var_grad_mid_closed_form,var_loss_lie,"
                   "var_grad_mid_lie,light_cone_layers,deep_layers,deep_var_loss,deep_var_loss_stderr,"
                   "deep_var_grad_mid,deep_var_grad_mid_stderr\n");
        for (size_t c = 0; c < o->n_cells; c++) {
            const paradox_cell *cell = &o->cells[c];
            fprintf(f,
                    "%s,%u,%u,%zu,%zu,%" PRIu64 ",%s,%" PRIu64 ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,"
                    "%.17g,%.17g,%.17g,%.17g,%.3f,%.3f,%.3f,%s,%s,%.17g,%.17g,%.17g,%.17g,%u,%u,%.17g,%.17g,%.17g,"
                    "%.17g\n",
                    qml_model_kind_name(cell->kind), cell->n_qubits, cell->layers, cell->n_weights,
                    cell->n_weights + 2, cell->dla_dim, cell->dla_computed ? "computed" : "closed form",
                    cell->dla_closed_form, cell->var_loss, cell->var_loss_se, cell->pred_loss, cell->var_mid,
                    cell->var_mid_se, cell->pred_mid, cell->var_all, cell->var_all_se, cell->train_mean,
                    cell->train_sd, cell->test_mean, cell->test_sd, cell->seconds_mean, cell->landscape_seconds,
                    cell->dla_seconds, prediction_source(cell->pred_loss, cell->pred_loss_cf),
                    prediction_source(cell->pred_mid, cell->pred_mid_cf), cell->cf_loss, cell->cf_mid, cell->lie_loss,
                    cell->lie_mid, cell->light_cone_layers, deep(cell)->layers, deep(cell)->var_loss,
                    deep(cell)->var_loss_se, deep(cell)->var_mid, deep(cell)->var_mid_se);
        }
        close_output(o, f);
    }
    f = open_output(o, "depth.csv");
    if (f) {
        fprintf(f, "model,n_qubits,layers,n_weights,var_loss,var_loss_stderr,var_grad_mid,var_grad_mid_stderr,"
                   "var_loss_predicted,var_grad_mid_predicted,seconds\n");
        for (size_t c = 0; c < o->n_cells; c++) {
            const paradox_cell *cell = &o->cells[c];
            for (size_t d = 0; d < cell->n_depth; d++) {
                const paradox_depth *r = &cell->depth[d];
                fprintf(f, "%s,%u,%u,%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.3f\n", qml_model_kind_name(cell->kind),
                        cell->n_qubits, r->layers, r->n_weights, r->var_loss, r->var_loss_se, r->var_mid,
                        r->var_mid_se, cell->pred_loss, r->pred_mid, r->seconds);
            }
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

    /* The depth study at the largest n: variance against L (log-log), the
     * prediction of the Haar-random limit as a dashed horizontal line. */
    double dx[PARADOX_MODELS][PARADOX_MAX_DEPTHS], dy[PARADOX_MODELS][4][PARADOX_MAX_DEPTHS];
    double hx[PARADOX_MODELS][2], hy[PARADOX_MODELS][2][2];
    double l_lo = INFINITY, l_hi = 0.0;
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        const paradox_cell *c = cell_at(o, k, nq - 1);
        for (size_t d = 0; d < c->n_depth; d++) {
            dx[k][d] = c->depth[d].layers;
            dy[k][0][d] = c->depth[d].var_mid;
            dy[k][1][d] = c->depth[d].var_mid_se;
            dy[k][2][d] = c->depth[d].var_loss;
            dy[k][3][d] = c->depth[d].var_loss_se;
            l_lo = fmin(l_lo, dx[k][d]);
            l_hi = fmax(l_hi, dx[k][d]);
        }
    }
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        const paradox_cell *c = cell_at(o, k, nq - 1);
        hx[k][0] = l_lo;
        hx[k][1] = l_hi;
        hy[k][0][0] = hy[k][0][1] = deep(c)->pred_mid;
        hy[k][1][0] = hy[k][1][1] = c->pred_loss;
    }
    svg_plot dp = {0};
    dp.x_label = "layers L (log scale)";
    dp.series = series;
    dp.n_series = 2 * PARADOX_MODELS;
    dp.log_y = dp.log_x = true;
    dp.y_min = dp.y_max = NAN;
    char dtitle[128];
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        const paradox_cell *c = cell_at(o, k, nq - 1);
        series[2 * k] = (svg_series){labels[k][0], dx[k], dy[k][0], dy[k][1], c->n_depth, false, false, model_colors[k]};
        series[2 * k + 1] = (svg_series){labels[k][1], hx[k], hy[k][0], NULL, 2, true, false, model_colors[k]};
    }
    snprintf(dtitle, sizeof dtitle, "Gradient variance against depth, n = %u (middle weight)", o->setup->qubits[nq - 1]);
    dp.title = dtitle;
    dp.y_label = "Var[dl/dw_mid]";
    figure(o, "depth.svg", &dp);
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        const paradox_cell *c = cell_at(o, k, nq - 1);
        series[2 * k] = (svg_series){labels[k][0], dx[k], dy[k][2], dy[k][3], c->n_depth, false, false, model_colors[k]};
        series[2 * k + 1] = (svg_series){labels[k][1], hx[k], hy[k][1], NULL, 2, true, false, model_colors[k]};
    }
    snprintf(dtitle, sizeof dtitle, "Loss variance against depth, n = %u", o->setup->qubits[nq - 1]);
    dp.y_label = "Var[l]";
    figure(o, "depth_loss.svg", &dp);

    /* Var[dl/dw_mid] against n at the deepest common rung, with the predictions. */
    unsigned f_max = o->setup->depth_factors[o->setup->n_depth_factors - 1];
    double ry[PARADOX_MODELS][3][PARADOX_MAX_QUBITS];
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        for (size_t q = 0; q < nq; q++) {
            const paradox_depth *r = rung(cell_at(o, k, q), f_max);
            ry[k][0][q] = r ? r->var_mid : (double)NAN;
            ry[k][1][q] = r ? r->var_mid_se : (double)NAN;
            ry[k][2][q] = r ? r->pred_mid : (double)NAN;
        }
        series[2 * k] = (svg_series){labels[k][0], x, ry[k][0], ry[k][1], nq, false, false, model_colors[k]};
        series[2 * k + 1] = (svg_series){labels[k][1], x, ry[k][2], NULL, nq, true, false, model_colors[k]};
    }
    snprintf(dtitle, sizeof dtitle, "Gradient variance at L = %u n (middle weight)", f_max);
    plot.title = dtitle;
    plot.y_label = "Var[dl/dw_mid]";
    plot.log_y = true;
    figure(o, "deep_variance.svg", &plot);

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
        svg_plot cp = {title, "epoch", "loss / accuracy", false, 0.0, NAN, cs, 3, false};
        figure(o, name, &cp);
    }
    free(ex);
}

/* ---- the report -------------------------------------------------------------------- */

typedef struct decay {
    int status;           /* QML_OK or the fit's error */
    qml_bp_fit fit;
} decay;

/* The points of a decay fit: a point counts only if its value and its
 * standard error are positive and finite. */
typedef struct decay_points {
    double n[PARADOX_MAX_QUBITS], value[PARADOX_MAX_QUBITS], stderr_[PARADOX_MAX_QUBITS];
    size_t count;
} decay_points;

static void add_point(decay_points *p, unsigned n_qubits, double value, double stderr_)
{
    if (value > 0.0 && stderr_ > 0.0 && isfinite(value) && isfinite(stderr_)) {
        p->n[p->count] = n_qubits;
        p->value[p->count] = value;
        p->stderr_[p->count] = stderr_;
        p->count++;
    }
}

/* Fit ln Var against n and ln n; at least three points. */
static decay fit_points(const decay_points *p)
{
    decay d = {QML_ERR_NOT_APPLICABLE, {0}};
    d.fit.size = sizeof d.fit;
    if (p->count >= 3)
        d.status = qml_bp_fit_data(p->n, p->value, p->stderr_, p->count, &d.fit);
    return d;
}

static decay fit_decay(const outputs *o, size_t k, bool mid)
{
    decay_points p = {.count = 0};
    for (size_t q = 0; q < o->n_q; q++) {
        const paradox_cell *c = cell_at(o, k, q);
        add_point(&p, c->n_qubits, mid ? c->var_mid : c->var_all, mid ? c->var_mid_se : c->var_all_se);
    }
    return fit_points(&p);
}

/* The decay fit against n of the variances at L = factor n (mid: the middle
 * weight's gradient, else the loss). */
static decay fit_rung(const outputs *o, size_t k, unsigned factor, bool mid)
{
    decay_points p = {.count = 0};
    for (size_t q = 0; q < o->n_q; q++) {
        const paradox_cell *c = cell_at(o, k, q);
        const paradox_depth *r = rung(c, factor);
        if (r)
            add_point(&p, c->n_qubits, mid ? r->var_mid : r->var_loss, mid ? r->var_mid_se : r->var_loss_se);
    }
    return fit_points(&p);
}

/* The same fit of the predictions themselves, weighted with the measured
 * relative standard errors: the rates the prediction implies over these n. */
static decay fit_prediction(const outputs *o, size_t k, unsigned factor, bool mid)
{
    decay_points p = {.count = 0};
    for (size_t q = 0; q < o->n_q; q++) {
        const paradox_cell *c = cell_at(o, k, q);
        const paradox_depth *r = rung(c, factor);
        if (!r)
            continue;
        double predicted = mid ? r->pred_mid : c->pred_loss;
        double value = mid ? r->var_mid : r->var_loss, err = mid ? r->var_mid_se : r->var_loss_se;
        if (value > 0.0 && err > 0.0 && isfinite(value) && isfinite(err))
            add_point(&p, c->n_qubits, predicted, predicted * err / value);
    }
    return fit_points(&p);
}

static void print_fit(FILE *f, const decay *d, const decay *predicted)
{
    if (d->status != QML_OK) {
        fprintf(f, "no decay fit (it needs at least three qubit counts)");
        return;
    }
    fprintf(f, "Var ~ e^{-r n} with r = %.3f ± %.3f (chi^2 %.3g), Var ~ n^{-p} with p = %.3f ± %.3f (chi^2 %.3g): "
               "the %s fits better",
            d->fit.exponential_rate, d->fit.exponential_stderr, d->fit.exponential_chi2, d->fit.power_rate,
            d->fit.power_stderr, d->fit.power_chi2, d->fit.model == QML_BP_EXPONENTIAL ? "exponential" : "power law");
    if (d->fit.exponential_rate < 0.0 && d->fit.power_rate < 0.0)
        fprintf(f, " (both rates negative: it grows with n)");
    if (predicted && predicted->status == QML_OK)
        fprintf(f, " [the predictions over the same n: r = %.3f, p = %.3f, %s fits better]",
                predicted->fit.exponential_rate, predicted->fit.power_rate,
                predicted->fit.model == QML_BP_EXPONENTIAL ? "exponential" : "power law");
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
               "for a circuit Haar-random on e^g (Ragone et al., Nat. Commun. 15, 7172 (2024); Fontana et al., "
               "Nat. Commun. 15, 7171 (2024)), from the computed algebra; in closed form where the DLA is not "
               "computed: Var[l] = 1/(2^n+1) and Var[dl/dw_mid] = 4^n/(2(2^n-1)(2^n+1)^2) for su(2^n), "
               "Var[l] = 1/(3n) and Var[dl/dw_mid] = kappa/(12 n^2 (n+2)) for the permutation model (kappa from "
               "the spectrum of the middle generator on the symmetric sector; docs/paradox.md).\n",
            s->lie_max_dim, s->lie_max_qubits_general);

    fprintf(f, "- **Depth study**: the same landscape protocol (%zu draws, middle weight and Var[l]) at L = ",
            s->samples);
    for (size_t d = 0; d < s->n_depth_factors; d++)
        fprintf(f, "%s%u n", d == 0 ? "" : d + 1 == s->n_depth_factors ? " and " : ", ", s->depth_factors[d]);
    if (s->ff_quadratic)
        fprintf(f, ", and for the free-fermion model also L = %u n^2 (the depth its matchgate circuit needs to "
                   "approach the Haar measure on SO(2n)) when the cost, L x gates per layer x 2^n, stays below "
                   "%.3g; otherwise the deepest multiple of 8n that fits",
                s->ff_quadratic, s->depth_cost_cap);
    fprintf(f, ". The L = n rung is the measurement of the main table; the deeper rungs are untrained circuits, "
               "measured only to see where the variance goes as the circuit approaches the Haar-random limit "
               "that the DLA prediction describes.\n\n");

    fprintf(f, "## Results\n\n");
    fprintf(f, "| model | n | weights | DLA dim | Var[l] | predicted | Var[dl/dw_mid] | predicted | mean Var "
               "over weights | L_deep | Var[l] at L_deep | Var[dl/dw_mid] at L_deep | train accuracy | "
               "test accuracy | s/run |\n");
    fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t k = 0; k < PARADOX_MODELS; k++)
        for (size_t q = 0; q < nq; q++) {
            const paradox_cell *c = cell_at(o, k, q);
            char b8[64], b9[64];
            fprintf(f, "| %s | %u | %zu | %" PRIu64 "%s | %s | %s | %s | %s | %s | %u | %s | %s | %s | %s | %.2f |\n",
                    paradox_model_label(c->kind), c->n_qubits, c->n_weights, c->dla_dim,
                    c->dla_computed ? "" : " (cf)", with_se(b1, sizeof b1, c->var_loss, c->var_loss_se),
                    pred(b2, sizeof b2, c->pred_loss, c->pred_loss_cf),
                    with_se(b3, sizeof b3, c->var_mid, c->var_mid_se),
                    pred(b4, sizeof b4, c->pred_mid, c->pred_mid_cf),
                    with_se(b5, sizeof b5, c->var_all, c->var_all_se), deep(c)->layers,
                    with_se(b8, sizeof b8, deep(c)->var_loss, deep(c)->var_loss_se),
                    with_se(b9, sizeof b9, deep(c)->var_mid, deep(c)->var_mid_se),
                    mean_sd(b6, sizeof b6, c->train_mean, c->train_sd),
                    mean_sd(b7, sizeof b7, c->test_mean, c->test_sd), c->seconds_mean);
        }
    fprintf(f, "\nThe variances left of L_deep are at L = n, the depth that is trained; L_deep is the deepest rung "
               "of the depth study (next table). '(cf)' marks a closed form (docs/paradox.md derives each), "
               "otherwise the DLA dimension and the predictions come from lie.c's closure. Accuracies are mean ± "
               "sample standard deviation over %u runs; s/run is the wall time of one training run. "
               "A '-' prediction means there is none for that cell",
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

    /* The closed forms against lie.c where both exist. */
    double worst_cf = 0.0;
    size_t n_cf = 0;
    fprintf(f, "\n**Closed forms against lie.c.** Where the DLA is computed, the closed-form predictions are "
               "compared with lie.c's (relative difference): ");
    for (size_t c = 0; c < o->n_cells; c++) {
        const paradox_cell *cell = &o->cells[c];
        double pairs[2][2] = {{cell->cf_loss, cell->lie_loss}, {cell->cf_mid, cell->lie_mid}};
        for (int j = 0; j < 2; j++) {
            if (!isfinite(pairs[j][0]) || !isfinite(pairs[j][1]) || cell->kind == QML_MODEL_FREE_FERMION)
                continue;
            double rel = fabs(pairs[j][0] - pairs[j][1]) / pairs[j][1];
            worst_cf = fmax(worst_cf, rel);
            fprintf(f, "%s%s n = %u %s %.1e", n_cf ? "; " : "", qml_model_kind_name(cell->kind), cell->n_qubits,
                    j ? "Var[dl/dw_mid]" : "Var[l]", rel);
            n_cf++;
        }
    }
    if (n_cf)
        fprintf(f, ". Largest: %.1e (%s).\n\n", worst_cf,
                worst_cf < 1e-6 ? "the closed forms agree with the computed algebra" : "**they disagree**");
    else
        fprintf(f, "none in this run.\n\n");

    /* The depth ladder. */
    fprintf(f, "### Depth study: variance at initialisation against the number of layers\n\n");
    fprintf(f, "| model | n | L | weights | Var[l] | predicted | ratio | Var[dl/dw_mid] | predicted | ratio | s |\n");
    fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t k = 0; k < PARADOX_MODELS; k++)
        for (size_t q = 0; q < nq; q++) {
            const paradox_cell *c = cell_at(o, k, q);
            for (size_t d = 0; d < c->n_depth; d++) {
                const paradox_depth *r = &c->depth[d];
                fprintf(f, "| %s | %u | %u | %zu | %s | %s | %s | %s | %s | %s | %.2f |\n",
                        paradox_model_label(c->kind), c->n_qubits, r->layers, r->n_weights,
                        with_se(b1, sizeof b1, r->var_loss, r->var_loss_se),
                        pred(b2, sizeof b2, c->pred_loss, c->pred_loss_cf),
                        num(b3, sizeof b3, c->pred_loss > 0.0 ? r->var_loss / c->pred_loss : (double)NAN),
                        with_se(b4, sizeof b4, r->var_mid, r->var_mid_se),
                        pred(b5, sizeof b5, r->pred_mid, r->pred_mid_cf),
                        num(b6, sizeof b6, r->pred_mid > 0.0 ? r->var_mid / r->pred_mid : (double)NAN), r->seconds);
            }
        }
    fprintf(f, "\nratio = measured / predicted; the predictions are those of a circuit Haar-random on e^g and do not "
               "depend on L. A ratio that tends to 1 as L grows says the DLA fixes the plateau the deep circuit "
               "reaches.");
    bool moved = false;
    for (size_t c = 0; c < o->n_cells; c++)
        for (size_t d = 1; d < o->cells[c].n_depth; d++)
            moved = moved || o->cells[c].depth[d].pred_mid_cf != o->cells[c].pred_mid_cf ||
                    isfinite(o->cells[c].depth[d].pred_mid) != isfinite(o->cells[c].pred_mid);
    if (moved)
        fprintf(f, " For odd n the middle weight of an even-L circuit is a different gate than at L = n: its "
                   "prediction is then the closed form for the permutation model and '-' for the free-fermion model "
                   "(lie.c's prediction is computed for the L = n gate only).");
    fprintf(f, "\n");
    fprintf(f, "\nFigures: `variance.svg`, `loss_variance.svg`, `deep_variance.svg` (Var[dl/dw_mid] against n at "
               "L = %u n), `depth.svg` and `depth_loss.svg` (variance against L at n = %u), `accuracy.svg`, "
               "`dla.svg`, `curve_*.svg` (n = %u). Raw numbers: `results.csv` (one row per run), `summary.csv` "
               "(one row per model and n), `depth.csv` (one row per model, n and L), `curves.csv` (per-epoch "
               "history of run 1).\n\n",
            s->depth_factors[s->n_depth_factors - 1], n_max, n_max);

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
               "permutation-equivariant %+.3f, free-fermion %+.3f. Test accuracy: %.3f, %.3f and %.3f. ",
            n_max, hea->train_mean - hea->test_mean, sym->train_mean - sym->test_mean, ff->train_mean - ff->test_mean,
            hea->test_mean, sym->test_mean, ff->test_mean);
    size_t gap_sym = 0, gap_ff = 0, test_low_sym = 0, test_low_ff = 0;
    for (size_t q = 0; q < nq; q++) {
        const paradox_cell *h = cell_at(o, 0, q), *p = cell_at(o, 1, q), *g = cell_at(o, 2, q);
        gap_sym += h->train_mean - h->test_mean > p->train_mean - p->test_mean;
        gap_ff += h->train_mean - h->test_mean > g->train_mean - g->test_mean;
        test_low_sym += h->test_mean < p->test_mean;
        test_low_ff += h->test_mean < g->test_mean;
    }
    fprintf(f, "Over the %zu qubit counts the unstructured model's train-test gap is larger than the symmetric "
               "model's at %zu and than the free-fermion model's at %zu; its test accuracy is lower than theirs at "
               "%zu and %zu. %s\n\n",
            nq, gap_sym, gap_ff, test_low_sym, test_low_ff,
            2 * test_low_sym <= nq && 2 * test_low_ff <= nq
                ? "At these sizes, on this task and with this training budget, the unstructured model does not "
                  "generalise worse (the paper's claim is not reproduced here)."
                : "The unstructured model generalises worse at most sizes, as the paper claims.");

    decay fits[PARADOX_MODELS];
    fprintf(f, "**Gradient variance at the trained depth L = n.** ");
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

    /* The light cone: why L = n is not the DLA regime. */
    fprintf(f, "**Why L = n is not the regime of the prediction.** The prediction is for a circuit Haar-random on "
               "e^g. A local circuit gets there only once the backward light cone of the readout (the qubits that "
               "can influence <O>, following the gates back from the end) covers every qubit, and then only after "
               "further layers of mixing. ");
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        const paradox_cell *c0 = cell_at(o, k, 0);
        if (c0->kind == QML_MODEL_PERMUTATION) {
            fprintf(f, "The permutation model's readout and two-body gate act on all qubits, so its light cone is "
                       "everything after %u layer%s. ",
                    c0->light_cone_layers, c0->light_cone_layers == 1 ? "" : "s");
            continue;
        }
        fprintf(f, "For the %s model (readout %s) the light cone covers all n qubits after ",
                qml_model_kind_name(c0->kind), c0->kind == QML_MODEL_UNSTRUCTURED ? "Z_0" : "Z_0 Z_1");
        for (size_t q = 0; q < nq; q++) {
            const paradox_cell *c = cell_at(o, k, q);
            fprintf(f, "%s%u layers at n = %u", q == 0 ? "" : q + 1 == nq ? " and " : ", ", c->light_cone_layers,
                    c->n_qubits);
        }
        fprintf(f, ". ");
    }
    if (hea->light_cone_layers > 0 && hea->light_cone_layers <= hea->layers)
        fprintf(f, "So at L = n = %u the last qubit of the unstructured circuit enters the light cone only through "
                   "the first %u of its %u layers. ",
                n_max, hea->layers - hea->light_cone_layers + 1, hea->layers);
    double ratio_n = hea->var_mid / hea->pred_mid, ratio_deep = deep(hea)->var_mid / deep(hea)->pred_mid;
    fprintf(f, "Measured over predicted Var[dl/dw_mid] of the unstructured model at n = %u: %.3g at L = n, %.3g at "
               "L = %u%s\n\n",
            n_max, ratio_n, ratio_deep, deep(hea)->layers,
            ratio_n > 2.0 && fabs(log(ratio_deep)) < fabs(log(ratio_n))
                ? ": the shallow circuit behaves like a local circuit whose variance is set by its light cone, and "
                  "moves towards the su(2^n) prediction as the depth grows."
                : ".");

    /* Where the variance goes with depth. */
    unsigned f_max = s->depth_factors[s->n_depth_factors - 1];
    fprintf(f, "**Where the variance goes with depth (n = %u).** ", n_max);
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        const paradox_cell *c = cell_at(o, k, nq - 1);
        fprintf(f, "%s: Var[dl/dw_mid] ", paradox_model_label(c->kind));
        for (size_t d = 0; d < c->n_depth; d++)
            fprintf(f, "%s%.3g (L = %u)", d == 0 ? "" : ", ", c->depth[d].var_mid, c->depth[d].layers);
        if (isfinite(deep(c)->pred_mid) && deep(c)->pred_mid > 0.0)
            fprintf(f, " against the prediction %.3g%s at L = %u: measured/predicted %.3g at L = n and %.3g at "
                       "L = %u",
                    deep(c)->pred_mid, deep(c)->pred_mid_cf ? " (cf)" : "", deep(c)->layers,
                    c->var_mid / c->pred_mid, deep(c)->var_mid / deep(c)->pred_mid, deep(c)->layers);
        if (isfinite(c->pred_loss) && c->pred_loss > 0.0)
            fprintf(f, "; Var[l] measured/predicted %.3g at L = n and %.3g at L = %u", c->var_loss / c->pred_loss,
                    deep(c)->var_loss / c->pred_loss, deep(c)->layers);
        fprintf(f, ". ");
    }
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        const paradox_cell *c = cell_at(o, k, 0);
        if (c->kind != QML_MODEL_FREE_FERMION || !s->ff_quadratic)
            continue;
        fprintf(f, "The free-fermion model was taken to L = ");
        for (size_t q = 0; q < nq; q++) {
            const paradox_cell *cq = cell_at(o, k, q);
            unsigned target = s->ff_quadratic * cq->n_qubits * cq->n_qubits;
            fprintf(f, "%s%u at n = %u%s", q == 0 ? "" : ", ", deep(cq)->layers, cq->n_qubits,
                    deep(cq)->layers >= target ? "" : " (short of the 8n^2 target: cost cap)");
        }
        fprintf(f, ". ");
    }
    fprintf(f, "\n\n");

    decay deep_mid[PARADOX_MODELS], deep_loss[PARADOX_MODELS];
    fprintf(f, "**Decay with n at depth L = %u n.** Fits of ln Var against n and ln n (qml_bp_fit_data, weighted "
               "by the standard errors; the better model has the smaller chi^2), each followed by the same fit of "
               "the predictions (weighted with the measured relative errors), which says what the DLA implies over "
               "these n: over %zu qubit counts a slow exponential and a power law can both fit a polynomial "
               "prediction. ",
            f_max, nq);
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        deep_mid[k] = fit_rung(o, k, f_max, true);
        deep_loss[k] = fit_rung(o, k, f_max, false);
        decay pm = fit_prediction(o, k, f_max, true), pl = fit_prediction(o, k, f_max, false);
        fprintf(f, "%s: Var[dl/dw_mid]: ", paradox_model_label(cell_at(o, k, 0)->kind));
        print_fit(f, &deep_mid[k], &pm);
        fprintf(f, "; Var[l]: ");
        print_fit(f, &deep_loss[k], &pl);
        fprintf(f, ". ");
    }
    for (size_t k = 0; k < PARADOX_MODELS; k++) {
        bool deeper = false;
        for (size_t q = 0; q < nq; q++)
            deeper = deeper || deep(cell_at(o, k, q))->layers > f_max * cell_at(o, k, q)->n_qubits;
        if (!deeper)
            continue;
        decay dm = fit_rung(o, k, 0, true), pm = fit_prediction(o, k, 0, true);
        fprintf(f, "At its deepest rungs (L = ");
        for (size_t q = 0; q < nq; q++)
            fprintf(f, "%s%u", q ? ", " : "", deep(cell_at(o, k, q))->layers);
        fprintf(f, " for n = ");
        for (size_t q = 0; q < nq; q++)
            fprintf(f, "%s%u", q ? ", " : "", cell_at(o, k, q)->n_qubits);
        fprintf(f, ") the %s model's Var[dl/dw_mid]: ", qml_model_kind_name(cell_at(o, k, 0)->kind));
        print_fit(f, &dm, &pm);
        fprintf(f, ". ");
    }
    if (deep_mid[0].status == QML_OK) {
        double r = deep_mid[0].fit.exponential_rate, se = deep_mid[0].fit.exponential_stderr;
        double z = se > 0.0 ? (r - log(2.0)) / se : (double)NAN;
        fprintf(f, "The DLA prediction for the unstructured model falls as 2^-n (rate ln 2 = %.3f); the fitted "
                   "exponential rate of its gradient variance at L = %u n is %.3f ± %.3f, %.1f standard errors from "
                   "ln 2: %s. ",
                log(2.0), f_max, r, se, z,
                fabs(z) <= 2.0 ? "consistent with the 2^-n decay"
                : r < log(2.0) ? "slower than 2^-n (the circuit is not yet fully mixed at the larger n)"
                               : "faster than 2^-n");
        double z_loss = deep_loss[0].status == QML_OK && deep_loss[0].fit.exponential_stderr > 0.0
                            ? (deep_loss[0].fit.exponential_rate - log(2.0)) / deep_loss[0].fit.exponential_stderr
                            : (double)NAN;
        if (isfinite(z_loss))
            fprintf(f, "For Var[l] the rate is %.3f ± %.3f (%.1f standard errors from ln 2). ",
                    deep_loss[0].fit.exponential_rate, deep_loss[0].fit.exponential_stderr, z_loss);
        for (size_t k = 1; k < PARADOX_MODELS; k++) {
            if (deep_mid[k].status != QML_OK)
                continue;
            fprintf(f, "The %s model's gradient variance %s (exponential rate %.3f ± %.3f against the unstructured "
                       "model's %.3f). ",
                    qml_model_kind_name(cell_at(o, k, 0)->kind),
                    deep_mid[k].fit.model == QML_BP_POWER ? "is better described by a power law"
                                                          : "is (slightly) better described by an exponential",
                    deep_mid[k].fit.exponential_rate, deep_mid[k].fit.exponential_stderr, r);
        }
    }
    fprintf(f, "\n\n");

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
        fprintf(f, "3. *Unstructured gradients vanish exponentially, symmetric ones polynomially.* At the trained "
                   "depth L = n (mean variance over weights) the better fit is %s for the unstructured model and %s "
                   "for the symmetric one: %s",
                fits[0].fit.model == QML_BP_EXPONENTIAL ? "exponential" : "a power law",
                fits[1].fit.model == QML_BP_EXPONENTIAL ? "exponential" : "a power law",
                ok ? "consistent." : "**not clearly separated** by these qubit counts and samples.");
        if (deep_mid[0].status == QML_OK && deep_mid[1].status == QML_OK && deep_mid[2].status == QML_OK) {
            bool deep_ok = deep_mid[0].fit.model == QML_BP_EXPONENTIAL && deep_mid[1].fit.model == QML_BP_POWER &&
                           deep_mid[2].fit.model == QML_BP_POWER;
            fprintf(f, " At L = %u n (middle weight) it is %s for the unstructured model (rate %.3f ± %.3f; "
                       "ln 2 = %.3f), %s for the symmetric one and %s for the free-fermion one: %s\n",
                    f_max, deep_mid[0].fit.model == QML_BP_EXPONENTIAL ? "exponential" : "a power law",
                    deep_mid[0].fit.exponential_rate, deep_mid[0].fit.exponential_stderr, log(2.0),
                    deep_mid[1].fit.model == QML_BP_EXPONENTIAL ? "exponential" : "a power law",
                    deep_mid[2].fit.model == QML_BP_EXPONENTIAL ? "exponential" : "a power law",
                    deep_ok ? "consistent: the contrast the DLA predicts appears once the circuits are deep."
                            : "**not clearly separated** even there.");
        } else {
            fprintf(f, "\n");
        }
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
    fprintf(f, "- The predictions assume a circuit Haar-random on e^g; the trained models have L = n layers, which "
               "the depth study shows is too shallow for that in the local models. The deep rungs are measured "
               "at initialisation only, not trained. The DLA ignores the feature gates (their generators lie in g "
               "for all three models).\n");
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

/*
 * paradox_report.c: decide the claims from the CSV rows and write
 * report.md (the verdict table first), verdicts.csv and the figures. Every
 * number in the report is computed here from the tables; the criteria are
 * stated in the report before any number and do not depend on the data.
 * tests/check_paradox.py recomputes every verdict and table value from the
 * CSV files.
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

#define MAXV 64 /* values per cell (seeds) */

typedef struct writer {
    const paradox_setup *s;
    paradox_tables *t;
    char path[4096];
    int failed;
} writer;

static const char *out_path(writer *w, const char *name)
{
    snprintf(w->path, sizeof w->path, "%s/%s", w->s->out_dir, name);
    return w->path;
}

static void figure(writer *w, const char *name, const svg_plot *plot)
{
    if (svg_write(out_path(w, name), plot) != 0) {
        fprintf(stderr, "qml: paradox: cannot write %s: %s\n", w->path, strerror(errno));
        w->failed = 1;
    }
}

static const char *color_of(int kind)
{
    switch (kind) {
    case PARADOX_KIND_UNSTRUCTURED: return svg_okabe_ito[6];        /* vermillion */
    case PARADOX_KIND_FREE_FERMION: return svg_okabe_ito[3];        /* bluish green */
    case PARADOX_KIND_PERMUTATION: return svg_okabe_ito[5];         /* blue */
    case PARADOX_KIND_PERMUTATION_LOCAL: return svg_okabe_ito[5];
    case PARADOX_KIND_PERMUTATION_BOUNDED: return svg_okabe_ito[7]; /* reddish purple */
    }
    return svg_okabe_ito[0];
}

static svg_marker marker_of(int kind)
{
    switch (kind) {
    case PARADOX_KIND_UNSTRUCTURED: return SVG_SQUARE;
    case PARADOX_KIND_FREE_FERMION: return SVG_TRIANGLE;
    case PARADOX_KIND_PERMUTATION_BOUNDED: return SVG_DIAMOND;
    default: return SVG_CIRCLE;
    }
}

static bool is_polynomial(int kind)
{
    return kind != PARADOX_KIND_UNSTRUCTURED;
}

/* ---- C1 ------------------------------------------------------------------------------ */

typedef struct c1_cell {
    int kind;
    unsigned n;
    uint64_t shots;
    unsigned k, m;
    double train_sum, test_sum;
} c1_cell;

typedef struct c1_data {
    c1_cell cells[256];
    size_t n_cells;
    int kinds[4];
    size_t n_kinds;
    uint64_t shots[4];
    size_t n_shots;
    unsigned qubits[PARADOX_MAX_LIST];
    size_t n_qubits;
} c1_data;

static void add_unique_u(unsigned *list, size_t *count, unsigned v, size_t cap)
{
    for (size_t i = 0; i < *count; i++)
        if (list[i] == v)
            return;
    if (*count < cap)
        list[(*count)++] = v;
}

static int cmp_u(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static c1_cell *c1_find(c1_data *d, int kind, unsigned n, uint64_t shots)
{
    for (size_t i = 0; i < d->n_cells; i++)
        if (d->cells[i].kind == kind && d->cells[i].n == n && d->cells[i].shots == shots)
            return &d->cells[i];
    return NULL;
}

static void c1_collect(const paradox_table *t, c1_data *d)
{
    memset(d, 0, sizeof *d);
    char buf[64];
    for (size_t r = 0; r < t->n_rows; r++) {
        int kind = paradox_kind_from_name(paradox_table_field(t, r, "model", buf, sizeof buf));
        unsigned n = (unsigned)paradox_table_number(t, r, "n_qubits");
        uint64_t shots = (uint64_t)paradox_table_number(t, r, "shots");
        c1_cell *c = c1_find(d, kind, n, shots);
        if (!c && d->n_cells < 256) {
            c = &d->cells[d->n_cells++];
            *c = (c1_cell){kind, n, shots, 0, 0, 0.0, 0.0};
        }
        if (!c)
            continue;
        c->m++;
        c->k += paradox_table_number(t, r, "success") > 0.5;
        c->train_sum += paradox_table_number(t, r, "train_accuracy");
        c->test_sum += paradox_table_number(t, r, "test_accuracy");
        unsigned kk = (unsigned)kind;
        add_unique_u((unsigned *)d->kinds, &d->n_kinds, kk, 4);
        add_unique_u(d->qubits, &d->n_qubits, n, PARADOX_MAX_LIST);
        bool seen = false;
        for (size_t i = 0; i < d->n_shots; i++)
            seen = seen || d->shots[i] == shots;
        if (!seen && d->n_shots < 4)
            d->shots[d->n_shots++] = shots;
    }
    qsort(d->kinds, d->n_kinds, sizeof d->kinds[0], cmp_u);
    qsort(d->qubits, d->n_qubits, sizeof d->qubits[0], cmp_u);
    qsort(d->shots, d->n_shots, sizeof d->shots[0], cmp_u64);
}

/* Exact-gradient training of the model at n succeeds (success probability
 * >= 1/2): only then can a failure at a finite budget be the plateau's. */
static bool c1_exact_ok(c1_data *d, int kind, unsigned n)
{
    c1_cell *c = c1_find(d, kind, n, 0);
    return c && 2 * c->k >= c->m;
}

/* The failure point caused by the plateau: the smallest n whose success
 * probability is below 1/2 while exact-gradient training of the same model
 * at that n succeeds; 0 if none in the grid. */
static unsigned c1_fail(c1_data *d, int kind, uint64_t shots)
{
    for (size_t q = 0; q < d->n_qubits; q++) {
        c1_cell *c = c1_find(d, kind, d->qubits[q], shots);
        if (c && 2 * c->k < c->m && c1_exact_ok(d, kind, d->qubits[q]))
            return d->qubits[q];
    }
    return 0;
}

/* Successes and runs over n >= from, in the cells where exact-gradient
 * training of the model succeeds. */
static void c1_pool(c1_data *d, int kind, uint64_t shots, unsigned from, unsigned *k, unsigned *m)
{
    *k = *m = 0;
    for (size_t i = 0; i < d->n_cells; i++)
        if (d->cells[i].kind == kind && d->cells[i].shots == shots && d->cells[i].n >= from &&
            c1_exact_ok(d, kind, d->cells[i].n)) {
            *k += d->cells[i].k;
            *m += d->cells[i].m;
        }
}

static const char *shots_text(uint64_t shots, char *buf, size_t size)
{
    if (shots)
        snprintf(buf, size, "%" PRIu64, shots);
    else
        snprintf(buf, size, "exact");
    return buf;
}

/* ---- verdicts ------------------------------------------------------------------------- */

typedef struct verdict {
    const char *claim;
    const char *criterion;
    char measured[1024];
    const char *verdict; /* "supported", "refuted", "inconclusive" */
} verdict;

static void c1_verdicts(const paradox_setup *s, c1_data *d, verdict *a, verdict *b)
{
    a->claim = "C1a: polynomial-DLA models keep training at larger n";
    a->criterion = "a failure caused by the plateau is a cell (model, n, S) with success probability < 1/2 where "
                   "exact-gradient training of the same model at that n succeeds (>= 1/2); supported if at some "
                   "finite S the unstructured model has such a failure at n_u in the grid, every polynomial-DLA model "
                   "has its first one later or none, and pooled over n >= n_u (cells whose exact training succeeds) "
                   "its success rate's Wilson 95 % interval lies above the unstructured one's; refuted if a "
                   "polynomial-DLA model has its first such failure at a smaller n than the unstructured model (or "
                   "where the unstructured model has none)";
    b->claim = "C1b: the unstructured failure point moves with log2(S B)";
    b->criterion = "over the finite budgets, n_u (as in C1a; beyond the grid if it never fails) never decreases with S and is "
                   "larger at the largest S than at the smallest; refuted if it decreases, or stays put while "
                   "log2(S_max / S_min) is at least twice the grid spacing";
    size_t used = 0;
    bool any_finite = false, support = false, refute = false;
    a->measured[0] = '\0';
    for (size_t si = 0; si < d->n_shots; si++) {
        uint64_t S = d->shots[si];
        if (!S)
            continue;
        any_finite = true;
        unsigned nu = c1_fail(d, PARADOX_KIND_UNSTRUCTURED, S);
        char sb[32];
        used += (size_t)snprintf(a->measured + used, sizeof a->measured - (used < sizeof a->measured ? used : 0),
                                 "%sS = %s: n_u = %s", used ? "; " : "", shots_text(S, sb, sizeof sb),
                                 nu ? "" : "none");
        if (nu && used < sizeof a->measured)
            used += (size_t)snprintf(a->measured + used, sizeof a->measured - used, "%u", nu);
        bool all_ok = nu != 0, tested = false;
        for (size_t k = 0; k < d->n_kinds; k++) {
            int kind = d->kinds[k];
            if (!is_polynomial(kind))
                continue;
            unsigned np = c1_fail(d, kind, S);
            if (np && (!nu || np < nu))
                refute = true;
            if (used < sizeof a->measured)
                used += (size_t)snprintf(a->measured + used, sizeof a->measured - used, ", %s fails at %s",
                                         paradox_kind_name(kind), np ? "" : "none");
            if (np && used < sizeof a->measured)
                used += (size_t)snprintf(a->measured + used, sizeof a->measured - used, "%u", np);
            if (!nu)
                continue;
            unsigned kp, mp, ku, mu;
            c1_pool(d, kind, S, nu, &kp, &mp);
            c1_pool(d, PARADOX_KIND_UNSTRUCTURED, S, nu, &ku, &mu);
            if (!mp)
                continue; /* not run at n >= n_u (cost cap) */
            tested = true;
            double lp, hp, lu, hu;
            paradox_wilson(kp, mp, &lp, &hp);
            paradox_wilson(ku, mu, &lu, &hu);
            if (used < sizeof a->measured)
                used += (size_t)snprintf(a->measured + used, sizeof a->measured - used,
                                         " (n >= %u: %u/%u [%.3f, %.3f] against %u/%u [%.3f, %.3f])", nu, kp, mp, lp,
                                         hp, ku, mu, lu, hu);
            all_ok = all_ok && (!np || np > nu) && lp > hu;
        }
        support = support || (all_ok && tested);
    }
    if (!any_finite)
        snprintf(a->measured, sizeof a->measured, "no finite shot budget in this run");
    a->verdict = refute ? "refuted" : support ? "supported" : "inconclusive";

    /* C1b */
    uint64_t finite[4];
    unsigned nf[4];
    size_t m = 0;
    bool any_fail = false;
    unsigned beyond = d->n_qubits ? d->qubits[d->n_qubits - 1] + 2 : 0;
    for (size_t si = 0; si < d->n_shots; si++)
        if (d->shots[si]) {
            finite[m] = d->shots[si];
            unsigned f = c1_fail(d, PARADOX_KIND_UNSTRUCTURED, d->shots[si]);
            any_fail = any_fail || f;
            nf[m++] = f ? f : beyond;
        }
    used = 0;
    b->measured[0] = '\0';
    for (size_t i = 0; i < m; i++) {
        char sb[32];
        double x = log2((double)finite[i] * (double)s->batch_size);
        if (nf[i] == beyond)
            used += (size_t)snprintf(b->measured + used, sizeof b->measured - used,
                                     "%sS = %s (log2(S B) = %.2f): n_u beyond the grid", i ? "; " : "",
                                     shots_text(finite[i], sb, sizeof sb), x);
        else
            used += (size_t)snprintf(b->measured + used, sizeof b->measured - used,
                                     "%sS = %s (log2(S B) = %.2f): n_u = %u", i ? "; " : "",
                                     shots_text(finite[i], sb, sizeof sb), x, nf[i]);
    }
    if (m < 2 || !any_fail) {
        if (!m)
            snprintf(b->measured, sizeof b->measured, "no finite shot budget in this run");
        else if (used < sizeof b->measured)
            snprintf(b->measured + used, sizeof b->measured - used, "%s",
                     m < 2 ? " (one finite budget)" : " (no failure at any budget)");
        b->verdict = "inconclusive";
        return;
    }
    bool decreasing = false;
    for (size_t i = 1; i < m; i++)
        decreasing = decreasing || nf[i] < nf[i - 1];
    unsigned spacing = 0;
    for (size_t q = 1; q < d->n_qubits; q++) {
        unsigned gap = d->qubits[q] - d->qubits[q - 1];
        spacing = spacing == 0 || gap < spacing ? gap : spacing;
    }
    double shift = log2((double)finite[m - 1] / (double)finite[0]);
    if (decreasing || (nf[m - 1] == nf[0] && spacing && shift >= 2.0 * spacing))
        b->verdict = "refuted";
    else if (nf[m - 1] > nf[0])
        b->verdict = "supported";
    else
        b->verdict = "inconclusive";
}

/* ---- C2 and C3 cells --------------------------------------------------------------------- */

typedef struct acc_cell {
    double train[MAXV], test[MAXV];
    size_t m;
    double train_mean, train_lo, train_hi, test_mean, test_lo, test_hi;
    double weights, layers, rank_sum;
    size_t rank_m;
} acc_cell;

static void acc_finish(acc_cell *c)
{
    paradox_mean_interval(c->train, c->m, &c->train_mean, &c->train_lo, &c->train_hi);
    paradox_mean_interval(c->test, c->m, &c->test_mean, &c->test_lo, &c->test_hi);
}

/* Rows of `t` whose column a equals va (and b equals vb, and the numeric
 * column c equals vc when c is not NULL). */
static void acc_collect(const paradox_table *t, const char *a, const char *va, const char *b, const char *vb,
                        const char *c, double vc, acc_cell *out)
{
    memset(out, 0, sizeof *out);
    char buf[64];
    for (size_t r = 0; r < t->n_rows; r++) {
        if (strcmp(paradox_table_field(t, r, a, buf, sizeof buf), va) != 0)
            continue;
        if (b && strcmp(paradox_table_field(t, r, b, buf, sizeof buf), vb) != 0)
            continue;
        if (c && paradox_table_number(t, r, c) != vc)
            continue;
        if (out->m == MAXV)
            break;
        out->train[out->m] = paradox_table_number(t, r, "train_accuracy");
        out->test[out->m] = paradox_table_number(t, r, "test_accuracy");
        out->weights = paradox_table_number(t, r, "n_weights");
        out->layers = paradox_table_number(t, r, "layers");
        double rank = paradox_table_number(t, r, "jacobian_rank");
        if (isfinite(rank)) {
            out->rank_sum += rank;
            out->rank_m++;
        }
        out->m++;
    }
    acc_finish(out);
}

/* Baselines: mean train and test accuracy over the seeds of (experiment,
 * condition, size, method); size 0 = any. */
static void base_collect(const paradox_table *t, const char *experiment, const char *condition, double size,
                         const char *method, acc_cell *out)
{
    memset(out, 0, sizeof *out);
    char e[32], c[32], m[32];
    for (size_t r = 0; r < t->n_rows; r++) {
        if (strcmp(paradox_table_field(t, r, "experiment", e, sizeof e), experiment) ||
            strcmp(paradox_table_field(t, r, "condition", c, sizeof c), condition) ||
            strcmp(paradox_table_field(t, r, "method", m, sizeof m), method) ||
            (size > 0 && paradox_table_number(t, r, "size") != size) || out->m == MAXV)
            continue;
        out->train[out->m] = paradox_table_number(t, r, "train_accuracy");
        out->test[out->m] = paradox_table_number(t, r, "test_accuracy");
        out->m++;
    }
    acc_finish(out);
}

static const char *const c2_tasks[2] = {"invariant", "broken"};
static const int c2_kinds[2] = {PARADOX_KIND_PERMUTATION_LOCAL, PARADOX_KIND_UNSTRUCTURED};
static const char *const c3_labels[3] = {"clean", "flip20", "random"};
static const int c3_kinds[3] = {PARADOX_KIND_UNSTRUCTURED, PARADOX_KIND_FREE_FERMION, PARADOX_KIND_PERMUTATION};
static const char *const base_methods[3] = {"logistic-1", "logistic-3", "knn-5"};

static void c2_verdicts(const paradox_setup *s, paradox_tables *t, verdict *a, verdict *b)
{
    a->claim = "C2a: the permutation-equivariant model wins on an S_n-invariant task at small training sets";
    a->criterion = "at some training size <= 30 the per-qubit permutation-equivariant model's mean test accuracy "
                   "has a 95 % interval (t over seeds) entirely above the unstructured model's, and at no size is "
                   "the unstructured one's entirely above; refuted if it is at some size <= 30, or if the "
                   "equivariant mean is not above the unstructured one at any size <= 30";
    b->claim = "C2b: on the symmetry-broken control the equivariant model fails and the unstructured one succeeds";
    b->criterion = "at the largest training size the equivariant model's mean test accuracy is at most the best "
                   "any S_n-invariant classifier can reach on that test set plus 0.05, and the unstructured "
                   "model's 95 % interval lies entirely above the equivariant one's; refuted if the equivariant "
                   "model beats that bound by more than 0.05 or the unstructured mean is not above it";
    if (t->c2.n_rows == 0) {
        snprintf(a->measured, sizeof a->measured, "not run: this build of libqml has no symmetric datasets and "
                                                  "per-qubit permutation-equivariant model");
        snprintf(b->measured, sizeof b->measured, "not run (as C2a)");
        a->verdict = b->verdict = "inconclusive";
        return;
    }
    bool sep_p = false, sep_u = false, any_small = false, ahead = false;
    size_t used = 0;
    a->measured[0] = '\0';
    for (size_t z = 0; z < s->n_c2_sizes; z++) {
        acc_cell p, u;
        acc_collect(&t->c2, "task", "invariant", "model", paradox_kind_name(c2_kinds[0]), "train_size",
                    (double)s->c2_sizes[z], &p);
        acc_collect(&t->c2, "task", "invariant", "model", paradox_kind_name(c2_kinds[1]), "train_size",
                    (double)s->c2_sizes[z], &u);
        if (!p.m || !u.m)
            continue;
        bool small = s->c2_sizes[z] <= 30;
        if (small) {
            any_small = true;
            sep_p = sep_p || p.test_lo > u.test_hi;
            ahead = ahead || p.test_mean > u.test_mean;
        }
        sep_u = sep_u || u.test_lo > p.test_hi;
        if (small && u.test_lo > p.test_hi)
            sep_u = true;
        if (used < sizeof a->measured)
            used += (size_t)snprintf(a->measured + used, sizeof a->measured - used,
                                     "%sm = %zu: %.3f [%.3f, %.3f] against %.3f [%.3f, %.3f]", used ? "; " : "",
                                     s->c2_sizes[z], p.test_mean, p.test_lo, p.test_hi, u.test_mean, u.test_lo,
                                     u.test_hi);
    }
    bool small_sep_u = false;
    for (size_t z = 0; z < s->n_c2_sizes; z++) {
        if (s->c2_sizes[z] > 30)
            continue;
        acc_cell p, u;
        acc_collect(&t->c2, "task", "invariant", "model", paradox_kind_name(c2_kinds[0]), "train_size",
                    (double)s->c2_sizes[z], &p);
        acc_collect(&t->c2, "task", "invariant", "model", paradox_kind_name(c2_kinds[1]), "train_size",
                    (double)s->c2_sizes[z], &u);
        small_sep_u = small_sep_u || (p.m && u.m && u.test_lo > p.test_hi);
    }
    if (small_sep_u || (any_small && !ahead))
        a->verdict = "refuted";
    else if (sep_p && !sep_u)
        a->verdict = "supported";
    else
        a->verdict = "inconclusive";

    size_t largest = s->c2_sizes[s->n_c2_sizes - 1];
    acc_cell p, u, bound;
    acc_collect(&t->c2, "task", "broken", "model", paradox_kind_name(c2_kinds[0]), "train_size", (double)largest, &p);
    acc_collect(&t->c2, "task", "broken", "model", paradox_kind_name(c2_kinds[1]), "train_size", (double)largest, &u);
    base_collect(&t->baselines, "c2", "broken", 0, "best-invariant", &bound);
    double best = bound.m ? bound.test[0] : (double)NAN;
    snprintf(b->measured, sizeof b->measured,
             "m = %zu: equivariant %.3f [%.3f, %.3f], unstructured %.3f [%.3f, %.3f], best S_n-invariant "
             "classifier %.3f",
             largest, p.test_mean, p.test_lo, p.test_hi, u.test_mean, u.test_lo, u.test_hi, best);
    if (!p.m || !u.m || !isfinite(best))
        b->verdict = "inconclusive";
    else if (p.test_mean > best + 0.05 || u.test_mean <= p.test_mean)
        b->verdict = "refuted";
    else if (u.test_lo > p.test_hi)
        b->verdict = "supported";
    else
        b->verdict = "inconclusive";
}

static void c3_verdict(paradox_tables *t, const char *labels, verdict *v)
{
    acc_cell u;
    acc_collect(&t->c3, "labels", labels, "model", paradox_kind_name(PARADOX_KIND_UNSTRUCTURED), NULL, 0, &u);
    snprintf(v->measured, sizeof v->measured, "train accuracy: unstructured %.3f [%.3f, %.3f]", u.train_mean,
             u.train_lo, u.train_hi);
    bool all_below = u.m > 0, any_above = false;
    for (int k = 1; k < 3; k++) {
        acc_cell p;
        acc_collect(&t->c3, "labels", labels, "model", paradox_kind_name(c3_kinds[k]), NULL, 0, &p);
        size_t used = strlen(v->measured);
        snprintf(v->measured + used, sizeof v->measured - used, ", %s %.3f [%.3f, %.3f]",
                 paradox_kind_name(c3_kinds[k]), p.train_mean, p.train_lo, p.train_hi);
        all_below = all_below && p.m && p.train_hi < u.train_lo;
        any_above = any_above || (p.m && u.m && p.train_mean >= u.train_mean);
    }
    v->verdict = any_above ? "refuted" : all_below ? "supported" : "inconclusive";
}

/* ---- landscape fits ---------------------------------------------------------------------- */

typedef struct fit_row {
    int kind;
    unsigned factor;
    const char *quantity;   /* column prefix: "var_loss", "var_grad_mid", "var_data_loss" */
    bool exponential;       /* the form the theory gives: e^{-r n} for su(2^n), n^{-p} otherwise */
    size_t points;
    double value, lo, hi;   /* slope of ln Var against n, or exponent against ln n, with a 95 % interval */
    double predicted;       /* the same fit of the predictions (NaN: none) */
    const char *consistent;
} fit_row;

static const char *const quantities[3] = {"var_loss", "var_grad_mid", "var_data_loss"};
static const char *const quantity_names[3] = {"Var[l]", "Var[dl/dw_mid]", "Var[training loss]"};
static const char *const pred_columns[3] = {"pred_loss", "pred_grad_mid", NULL};

static void landscape_fit(paradox_tables *t, int kind, unsigned factor, int qi, fit_row *out)
{
    double n[32], v[32], se[32], pv[32], pse[32];
    size_t m = 0, pm = 0;
    char buf[64];
    const paradox_table *L = &t->landscape;
    for (size_t r = 0; r < L->n_rows && m < 32; r++) {
        if (strcmp(paradox_table_field(L, r, "model", buf, sizeof buf), paradox_kind_name(kind)) != 0)
            continue;
        double nq = paradox_table_number(L, r, "n_qubits"), layers = paradox_table_number(L, r, "layers");
        if (layers != factor * nq)
            continue;
        char col[64];
        snprintf(col, sizeof col, "%s_stderr", quantities[qi]);
        double val = paradox_table_number(L, r, quantities[qi]), err = paradox_table_number(L, r, col);
        if (!(val > 0.0 && err > 0.0 && isfinite(val) && isfinite(err)))
            continue;
        n[m] = nq;
        v[m] = val;
        se[m] = err;
        m++;
        double pred = pred_columns[qi] ? paradox_table_number(L, r, pred_columns[qi]) : (double)NAN;
        if (pred > 0.0 && isfinite(pred)) {
            pv[pm] = pred;
            pse[pm] = pred * err / val; /* the measured relative error */
            pm++;
        }
    }
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->factor = factor;
    out->quantity = quantity_names[qi];
    out->exponential = kind == PARADOX_KIND_UNSTRUCTURED;
    out->points = m;
    out->value = out->lo = out->hi = out->predicted = NAN;
    out->consistent = "-";
    qml_bp_fit fit = QML_BP_FIT_INIT;
    if (m < 3 || qml_bp_fit_data(n, v, se, m, &fit) != QML_OK)
        return;
    double rate = out->exponential ? fit.exponential_rate : fit.power_rate;
    double rse = out->exponential ? fit.exponential_stderr : fit.power_stderr;
    double half = paradox_t975((unsigned)(m - 2)) * rse;
    out->value = -rate;
    out->lo = -rate - half;
    out->hi = -rate + half;
    if (pm == m) {
        qml_bp_fit pf = QML_BP_FIT_INIT;
        if (qml_bp_fit_data(n, pv, pse, pm, &pf) == QML_OK)
            out->predicted = -(out->exponential ? pf.exponential_rate : pf.power_rate);
    }
    /* su(2^n): compare with -ln 2, the asymptotic slope of every prediction;
     * polynomial algebras: with the exponent of the predictions. */
    double target = out->exponential && pred_columns[qi] ? -log(2.0) : out->predicted;
    if (isfinite(target))
        out->consistent = target >= out->lo && target <= out->hi ? "yes" : "no";
}

/* ---- formatting ---------------------------------------------------------------------------- */

static const char *fmt_ci(char *buf, size_t size, double mean, double lo, double hi)
{
    if (!isfinite(mean))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.3f [%.3f, %.3f]", mean, lo, hi);
    return buf;
}

static const char *fmt_se(char *buf, size_t size, double v, double se)
{
    if (!isfinite(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.3g ± %.2g", v, se);
    return buf;
}

static const char *fmt_g(char *buf, size_t size, double v)
{
    if (!isfinite(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.3g", v);
    return buf;
}

static const char *fmt_f(char *buf, size_t size, double v)
{
    if (!isfinite(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.3f", v);
    return buf;
}

/* ---- figures ---------------------------------------------------------------------------------- */

static void c1_figures(writer *w, c1_data *d)
{
    const paradox_setup *s = w->s;
    enum { MAXS = 16 };
    svg_series series[MAXS];
    double x[MAXS][PARADOX_MAX_LIST], xc[MAXS][PARADOX_MAX_LIST], y[MAXS][PARADOX_MAX_LIST];
    double lo[MAXS][PARADOX_MAX_LIST], hi[MAXS][PARADOX_MAX_LIST];
    char labels[MAXS][96];
    size_t ns = 0, nc = 0;
    static const svg_dash dashes[4] = {SVG_SOLID, SVG_DASHED, SVG_DOTTED, SVG_DASH_DOT};
    for (size_t k = 0; k < d->n_kinds; k++)
        for (size_t si = 0; si < d->n_shots && ns < MAXS; si++) {
            size_t m = 0;
            for (size_t q = 0; q < d->n_qubits; q++) {
                c1_cell *c = c1_find(d, d->kinds[k], d->qubits[q], d->shots[si]);
                if (!c)
                    continue;
                /* Offset slightly in n per budget and model so that equal
                 * points do not hide each other. */
                double jitter = 0.12 * ((double)si - 0.5 * (double)(d->n_shots - 1)) +
                                0.04 * ((double)k - 0.5 * (double)(d->n_kinds - 1));
                x[ns][m] = c->n + jitter;
                xc[ns][m] = d->shots[si] ? c->n + jitter - log2((double)d->shots[si] * (double)s->batch_size)
                                         : (double)NAN;
                y[ns][m] = (double)c->k / c->m;
                paradox_wilson(c->k, c->m, &lo[ns][m], &hi[ns][m]);
                m++;
            }
            if (!m)
                continue;
            char sb[32];
            snprintf(labels[ns], sizeof labels[ns], "%s, S = %s", paradox_kind_name(d->kinds[k]),
                     shots_text(d->shots[si], sb, sizeof sb));
            series[ns] = (svg_series){labels[ns], x[ns], y[ns], NULL, m, dashes[si % 4], false, color_of(d->kinds[k]),
                                      marker_of(d->kinds[k]), si > 0, lo[ns], hi[ns]};
            ns++;
        }
    if (!ns)
        return;
    svg_hline half = {0.5, "success probability 1/2 (failure point)", SVG_DOTTED, "#777777"};
    char title[160];
    snprintf(title, sizeof title, "C1: training success (train accuracy >= %.2f) at L = %un", s->success_threshold,
             s->c1_depth_factor);
    svg_plot plot = {title, "qubits n", "success probability", false, 0.0, 1.0, series, ns, false, &half, 1};
    figure(w, "c1_success.svg", &plot);
    /* Against n - log2(S B): finite budgets only. */
    svg_series finite[MAXS];
    for (size_t i = 0; i < ns; i++) {
        finite[nc] = series[i];
        if (!strstr(series[i].label, "exact")) {
            finite[nc].x = xc[i];
            nc++;
        }
    }
    if (!nc)
        return;
    snprintf(title, sizeof title, "C1: success against n - log2(S B), B = %zu, L = %un", s->batch_size,
             s->c1_depth_factor);
    svg_plot collapse = {title, "n - log2(S B)", "success probability", false, 0.0, 1.0, finite, nc, false, &half, 1};
    figure(w, "c1_collapse.svg", &collapse);
}

static void c2_figure(writer *w)
{
    const paradox_setup *s = w->s;
    paradox_tables *t = w->t;
    if (!t->c2.n_rows)
        return;
    svg_series series[6];
    double x[6][4], y[6][4], lo[6][4], hi[6][4];
    char labels[6][96];
    size_t ns = 0;
    for (int task = 0; task < 2; task++)
        for (int k = 0; k < 2; k++) {
            size_t m = 0;
            for (size_t z = 0; z < s->n_c2_sizes; z++) {
                acc_cell c;
                acc_collect(&t->c2, "task", c2_tasks[task], "model", paradox_kind_name(c2_kinds[k]), "train_size",
                            (double)s->c2_sizes[z], &c);
                if (!c.m)
                    continue;
                x[ns][m] = (double)s->c2_sizes[z];
                y[ns][m] = c.test_mean;
                lo[ns][m] = c.test_lo;
                hi[ns][m] = c.test_hi;
                m++;
            }
            snprintf(labels[ns], sizeof labels[ns], "%s, %s task", k == 0 ? "equivariant" : "unstructured",
                     c2_tasks[task]);
            series[ns] = (svg_series){labels[ns], x[ns], y[ns], NULL, m, task ? SVG_DASHED : SVG_SOLID, false,
                                      color_of(c2_kinds[k]), marker_of(c2_kinds[k]), task == 1, lo[ns], hi[ns]};
            ns++;
        }
    /* The logistic-3 baseline on the invariant task, for scale. */
    size_t m = 0;
    for (size_t z = 0; z < s->n_c2_sizes; z++) {
        acc_cell b;
        base_collect(&t->baselines, "c2", "invariant", (double)s->c2_sizes[z], "logistic-3", &b);
        if (!b.m)
            continue;
        x[ns][m] = (double)s->c2_sizes[z];
        y[ns][m] = b.test_mean;
        lo[ns][m] = b.test_lo;
        hi[ns][m] = b.test_hi;
        m++;
    }
    snprintf(labels[ns], sizeof labels[ns], "cubic logistic regression, invariant task");
    series[ns] = (svg_series){labels[ns], x[ns], y[ns], NULL, m, SVG_DOTTED, false, svg_okabe_ito[0], SVG_CROSS, false,
                              lo[ns], hi[ns]};
    ns++;
    acc_cell bound;
    base_collect(&t->baselines, "c2", "broken", 0, "best-invariant", &bound);
    svg_hline lines[2] = {{0.5, "chance 0.5", SVG_DOTTED, "#777777"},
                          {bound.m ? bound.test[0] : (double)NAN, "best S_n-invariant rule, broken task", SVG_DASH_DOT,
                           svg_okabe_ito[1]}};
    char title[160];
    snprintf(title, sizeof title, "C2: test accuracy against training size (n = %u, L = %u)", s->c2_qubits,
             s->c2_layers);
    svg_plot plot = {title, "training set size (log scale)", "test accuracy", false, 0.0, 1.0, series, ns, true,
                     lines, bound.m ? 2 : 1};
    figure(w, "c2_prior.svg", &plot);
}

static double wrong_share(int labels, const paradox_setup *s)
{
    return labels == 0 ? 0.0 : labels == 1 ? s->flip_fraction : 0.5;
}

static void c3_figure(writer *w)
{
    const paradox_setup *s = w->s;
    paradox_tables *t = w->t;
    if (!t->c3.n_rows)
        return;
    svg_series series[6];
    double x[6][3], y[6][3], lo[6][3], hi[6][3];
    char labels[6][96];
    size_t ns = 0;
    for (int k = 0; k < 3; k++) {
        size_t m = 0;
        for (int l = 0; l < 3; l++) {
            acc_cell c;
            acc_collect(&t->c3, "labels", c3_labels[l], "model", paradox_kind_name(c3_kinds[k]), NULL, 0, &c);
            if (!c.m)
                continue;
            x[ns][m] = wrong_share(l, s);
            y[ns][m] = c.train_mean;
            lo[ns][m] = c.train_lo;
            hi[ns][m] = c.train_hi;
            m++;
            snprintf(labels[ns], sizeof labels[ns], "%s (%.0f weights)", paradox_kind_name(c3_kinds[k]), c.weights);
        }
        series[ns] = (svg_series){labels[ns], x[ns], y[ns], NULL, m, SVG_SOLID, false, color_of(c3_kinds[k]),
                                  marker_of(c3_kinds[k]), false, lo[ns], hi[ns]};
        ns++;
    }
    for (int b = 1; b < 3; b++) {
        size_t m = 0;
        for (int l = 0; l < 3; l++) {
            acc_cell c;
            base_collect(&t->baselines, "c3", c3_labels[l], 0, base_methods[b], &c);
            if (!c.m)
                continue;
            x[ns][m] = wrong_share(l, s);
            y[ns][m] = c.train_mean;
            lo[ns][m] = c.train_lo;
            hi[ns][m] = c.train_hi;
            m++;
        }
        snprintf(labels[ns], sizeof labels[ns], "%s", b == 1 ? "cubic logistic regression" : "5-nearest neighbours");
        series[ns] = (svg_series){labels[ns], x[ns], y[ns], NULL, m, b == 1 ? SVG_DOTTED : SVG_DASH_DOT, false,
                                  svg_okabe_ito[0], b == 1 ? SVG_CROSS : SVG_PLUS, false, lo[ns], hi[ns]};
        ns++;
    }
    svg_hline chance = {0.5, "chance 0.5", SVG_DOTTED, "#777777"};
    char title[160];
    snprintf(title, sizeof title, "C3: fit of noisy labels, n = %u, L = %u/%u/%u for %zu weights", s->c3_qubits,
             paradox_c3_layers(s, c3_kinds[0]), paradox_c3_layers(s, c3_kinds[1]), paradox_c3_layers(s, c3_kinds[2]),
             s->c3_params);
    svg_plot plot = {title, "expected share of wrong labels (clean, flipped, random)", "train accuracy", false, 0.0,
                     1.0, series, ns, false, &chance, 1};
    figure(w, "c3_capacity.svg", &plot);
}

/* Var against n at L = f n for one quantity: measured points, the
 * predictions, and the fitted line with its slope or exponent. */
static void landscape_figure(writer *w, int qi, unsigned factor, const char *name)
{
    const paradox_table *L = &w->t->landscape;
    static const int kinds[3] = {PARADOX_KIND_UNSTRUCTURED, PARADOX_KIND_PERMUTATION, PARADOX_KIND_FREE_FERMION};
    svg_series series[9];
    double x[9][32], y[9][32], e[9][32];
    char labels[9][128];
    size_t ns = 0;
    char buf[64], col[64];
    snprintf(col, sizeof col, "%s_stderr", quantities[qi]);
    for (int k = 0; k < 3; k++) {
        size_t m = 0, pm = 0;
        size_t im = ns, ip = ns + 1;
        for (size_t r = 0; r < L->n_rows && m < 32; r++) {
            if (strcmp(paradox_table_field(L, r, "model", buf, sizeof buf), paradox_kind_name(kinds[k])) != 0)
                continue;
            double nq = paradox_table_number(L, r, "n_qubits");
            if (paradox_table_number(L, r, "layers") != factor * nq)
                continue;
            x[im][m] = nq;
            y[im][m] = paradox_table_number(L, r, quantities[qi]);
            e[im][m] = paradox_table_number(L, r, col);
            m++;
            if (pred_columns[qi]) {
                x[ip][pm] = nq;
                y[ip][pm] = paradox_table_number(L, r, pred_columns[qi]);
                pm++;
            }
        }
        if (!m)
            continue;
        snprintf(labels[im], sizeof labels[im], "%s, measured", paradox_kind_name(kinds[k]));
        series[ns++] = (svg_series){labels[im], x[im], y[im], e[im], m, SVG_SOLID, true, color_of(kinds[k]),
                                    marker_of(kinds[k]), false, NULL, NULL};
        if (pred_columns[qi]) {
            snprintf(labels[ip], sizeof labels[ip], "%s, predicted", paradox_kind_name(kinds[k]));
            series[ns++] = (svg_series){labels[ip], x[ip], y[ip], NULL, pm, SVG_DOTTED, false, color_of(kinds[k]),
                                        marker_of(kinds[k]), true, NULL, NULL};
        }
        fit_row f;
        landscape_fit(w->t, kinds[k], factor, qi, &f);
        if (isfinite(f.value)) {
            /* The fitted line through the weighted centre: drawn from the
             * fit's intercept, recomputed here from the slope. */
            size_t il = ns;
            double sw = 0.0, sx = 0.0, sy = 0.0;
            for (size_t i = 0; i < m; i++) {
                if (!(y[im][i] > 0.0 && e[im][i] > 0.0))
                    continue;
                double rel = e[im][i] / y[im][i], wt = 1.0 / (rel * rel);
                double xv = f.exponential ? x[im][i] : log(x[im][i]);
                sw += wt;
                sx += wt * xv;
                sy += wt * log(y[im][i]);
            }
            double xbar = sx / sw, ybar = sy / sw;
            size_t nl = 0;
            for (size_t i = 0; i < m; i++) {
                double xv = f.exponential ? x[im][i] : log(x[im][i]);
                x[il][nl] = x[im][i];
                y[il][nl] = exp(ybar + f.value * (xv - xbar));
                nl++;
            }
            if (f.exponential)
                snprintf(labels[il], sizeof labels[il], "%s fit: slope %.2f [%.2f, %.2f]", paradox_kind_name(kinds[k]),
                         f.value, f.lo, f.hi);
            else
                snprintf(labels[il], sizeof labels[il], "%s fit: n^(%.2f) [%.2f, %.2f]", paradox_kind_name(kinds[k]),
                         f.value, f.lo, f.hi);
            series[ns++] = (svg_series){labels[il], x[il], y[il], NULL, nl, SVG_DASHED, false, color_of(kinds[k]),
                                        SVG_NO_MARKER, false, NULL, NULL};
        }
    }
    if (!ns)
        return;
    char title[160];
    snprintf(title, sizeof title, "%s at initialisation against n, L = %un", quantity_names[qi], factor);
    svg_plot plot = {title, "qubits n", quantity_names[qi], true, NAN, NAN, series, ns, false, NULL, 0};
    figure(w, name, &plot);
}

/* ---- large n on the algebra simulators ---------------------------------------------------- */

/* "name (k rows), ..." over the distinct values of a table's backend column,
 * in order of first appearance. */
static const char *backend_summary(const paradox_table *t, char *buf, size_t size)
{
    char names[4][24];
    size_t counts[4] = {0}, n = 0, used = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        char b[24];
        paradox_table_field(t, r, "backend", b, sizeof b);
        size_t i = 0;
        while (i < n && strcmp(names[i], b))
            i++;
        if (i == n && n < 4)
            snprintf(names[n++], sizeof names[0], "%s", b);
        if (i < n)
            counts[i]++;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s (%zu row%s)", i ? ", " : "", names[i], counts[i],
                                 counts[i] == 1 ? "" : "s");
    if (!n)
        snprintf(buf, size, "none");
    return buf;
}

static const char *fmt_var_ci(char *buf, size_t size, double v, double se)
{
    if (!isfinite(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.3g [%.3g, %.3g]", v, fmax(v - 1.96 * se, 0.0), v + 1.96 * se);
    return buf;
}

static void large_section(FILE *f, const paradox_setup *s, paradox_tables *t)
{
    char b1[96], b2[96], b3[96], b4[96];
    const paradox_table *G = &t->large, *C = &t->c1_large, *K = &t->cost;
    fprintf(f, "## Large n on the algebra simulators\n\n");
    fprintf(f, "The permutation model (collective encoding) and the free-fermion model at n far beyond any "
               "statevector, on libqml's algebra simulators (docs/gsim.md): `symmetric` evolves the n + 1 Dicke "
               "states of a permutation-invariant circuit, `gsim` the expectation values of the Pauli strings of "
               "the readout's module (the adjoint representation of so(2n) here). The backend column says which "
               "one each row used (`--backend` asks for one; a row it does not apply to uses the one `auto` "
               "picks).\n\n");
    if (G->n_rows) {
        fprintf(f, "Landscape at L = f n: Var[l] and Var[dl/dw_mid] over %zu uniform weight draws per cell, 95 %% "
                   "intervals (± 1.96 standard errors), against the closed-form predictions for a circuit "
                   "Haar-random on e^g (docs/paradox.md; they equal lie.c's where both exist: the small-n rows of the landscape table). The "
                   "data-averaged loss is not measured here (the model's evaluation runs on the statevector).\n\n",
                s->large_samples);
        fprintf(f, "| model | n | L | backend | dim g | Var[l] [95 %%] | predicted | Var[dl/dw_mid] [95 %%] | "
                   "predicted |\n|---|---:|---:|---|---:|---:|---:|---:|---:|\n");
        unsigned in_l = 0, in_g = 0;
        for (size_t r = 0; r < G->n_rows; r++) {
            char model[32], backend[24], dim[32];
            paradox_table_field(G, r, "model", model, sizeof model);
            paradox_table_field(G, r, "backend", backend, sizeof backend);
            paradox_table_field(G, r, "dla_dim", dim, sizeof dim);
            double vl = paradox_table_number(G, r, "var_loss"), sl = paradox_table_number(G, r, "var_loss_stderr");
            double vg = paradox_table_number(G, r, "var_grad_mid"),
                   sg = paradox_table_number(G, r, "var_grad_mid_stderr");
            double pl = paradox_table_number(G, r, "pred_loss"), pg = paradox_table_number(G, r, "pred_grad_mid");
            in_l += fabs(vl - pl) <= 1.96 * sl;
            in_g += fabs(vg - pg) <= 1.96 * sg;
            fprintf(f, "| %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s |\n", model,
                    paradox_table_number(G, r, "n_qubits"), paradox_table_number(G, r, "layers"), backend, dim,
                    fmt_var_ci(b1, sizeof b1, vl, sl), fmt_g(b2, sizeof b2, pl), fmt_var_ci(b3, sizeof b3, vg, sg),
                    fmt_g(b4, sizeof b4, pg));
        }
        fprintf(f, "\nThe prediction lies inside the interval in %u of %zu rows for Var[l] and %u of %zu for "
                   "Var[dl/dw_mid]. Where it does not, the circuit at that depth is not Haar-random on its group: "
                   "the nearest-neighbour free-fermion chain spreads a mode by a random walk and needs about n^2 "
                   "layers to mix, so at L = n and 8n its variances stay above the so(2n) values. None of these "
                   "variances falls like 2^-n.\n\n",
                in_l, G->n_rows, in_g, G->n_rows);
    }
    if (C->n_rows) {
        fprintf(f, "C1 at large n (two moons, L = %un, as in C1) with exact gradients only: the library simulates "
                   "shot noise on the statevector only (its Gaussian shot model needs the readout's single-shot "
                   "variance at each row's state), so no finite budget runs at these n and these rows do not "
                   "enter C1a or C1b.",
                s->c1_depth_factor);
        bool capped = false;
        for (size_t q = 0; q < s->n_large_qubits; q++)
            capped = capped || (s->large_c1_max && s->large_qubits[q] > s->large_c1_max);
        if (capped)
            fprintf(f, " They stop at n = %u: a run's cost grows like n^3 per row and step (`--qubits-large LIST` "
                       "runs every n of its list).",
                    s->large_c1_max);
        fprintf(f, "\n\n");
        fprintf(f, "| model | n | backend | weights | successes | success probability [95 %%] | mean train "
                   "accuracy | mean test accuracy | seconds per run |\n|---|---:|---|---:|---:|---:|---:|---:|---:|\n");
        /* Cells in row order of first appearance. */
        for (size_t r = 0; r < C->n_rows; r++) {
            char model[32], backend[24], other[32];
            paradox_table_field(C, r, "model", model, sizeof model);
            double n = paradox_table_number(C, r, "n_qubits");
            bool first = true;
            for (size_t q = 0; q < r && first; q++)
                first = !(paradox_table_number(C, q, "n_qubits") == n &&
                          !strcmp(paradox_table_field(C, q, "model", other, sizeof other), model));
            if (!first)
                continue;
            unsigned k = 0, m = 0;
            double train = 0.0, test = 0.0, secs = 0.0;
            for (size_t q = r; q < C->n_rows; q++) {
                if (paradox_table_number(C, q, "n_qubits") != n ||
                    strcmp(paradox_table_field(C, q, "model", other, sizeof other), model))
                    continue;
                m++;
                k += paradox_table_number(C, q, "success") > 0.5;
                train += paradox_table_number(C, q, "train_accuracy");
                test += paradox_table_number(C, q, "test_accuracy");
                secs += paradox_table_number(C, q, "seconds");
            }
            double lo, hi;
            paradox_wilson(k, m, &lo, &hi);
            paradox_table_field(C, r, "backend", backend, sizeof backend);
            fprintf(f, "| %s | %.0f | %s | %.0f | %u/%u | %s | %.3f | %.3f | %.1f |\n", model, n, backend,
                    paradox_table_number(C, r, "n_weights"), k, m, fmt_ci(b1, sizeof b1, (double)k / m, lo, hi),
                    train / m, test / m, secs / m);
        }
        fprintf(f, "\n");
    }
    if (K->n_rows) {
        unsigned n_sv = 0;
        for (size_t q = 0; q < s->n_c1_qubits; q++)
            n_sv = s->c1_qubits[q] > n_sv ? s->c1_qubits[q] : n_sv;
        fprintf(f, "Cost of the C1 models at L = 8n on one thread: one adjoint gradient (the value and every "
                   "weight's derivative for one data row) and one training step's gradients (a batch of B = %zu "
                   "rows), medians of repeated calls, on the statevector and on the algebra simulator at n = %u "
                   "(the largest n this run trains on the statevector) and on the algebra simulator at the large "
                   "n. The working dimension is 2^n amplitudes for the statevector, the module's strings for "
                   "gsim, n + 1 for the symmetric backend. Wall-clock times on a possibly shared machine: the "
                   "ratios within one run are the figures to trust.\n\n",
                s->batch_size, n_sv);
        fprintf(f, "| model | n | backend | dimension | weights | seconds per gradient | seconds per step | step "
                   "time / statevector's at n = %u |\n|---|---:|---|---:|---:|---:|---:|---:|\n",
                n_sv);
        for (size_t r = 0; r < K->n_rows; r++) {
            char model[32], backend[24], other[32], side[24];
            paradox_table_field(K, r, "model", model, sizeof model);
            paradox_table_field(K, r, "backend", backend, sizeof backend);
            double ref = NAN;
            for (size_t q = 0; q < K->n_rows; q++)
                if (!strcmp(paradox_table_field(K, q, "model", other, sizeof other), model) &&
                    !strcmp(paradox_table_field(K, q, "side", side, sizeof side), "statevector"))
                    ref = paradox_table_number(K, q, "seconds_step");
            double step = paradox_table_number(K, r, "seconds_step");
            char ratio[32];
            if (isfinite(ref) && ref > 0.0)
                snprintf(ratio, sizeof ratio, "%.3g", step / ref);
            else
                snprintf(ratio, sizeof ratio, "-");
            fprintf(f, "| %s | %.0f | %s | %.0f | %.0f | %.3g | %.3g | %s |\n", model,
                    paradox_table_number(K, r, "n_qubits"), backend, paradox_table_number(K, r, "dimension"),
                    paradox_table_number(K, r, "n_weights"), paradox_table_number(K, r, "seconds_gradient"), step,
                    ratio);
        }
        fprintf(f, "\n");
    }
    unsigned n_max = 0;
    for (size_t q = 0; q < s->n_large_qubits; q++)
        n_max = s->large_qubits[q] > n_max ? s->large_qubits[q] : n_max;
    fprintf(f, "These rows show what the next section says: the models whose DLA has polynomial dimension are "
               "followed exactly by a classical computer at n up to %u, at a cost that grows like a power of n, "
               "not like 2^n.\n\n",
            n_max);
}

/* ---- the report ----------------------------------------------------------------------------- */

static void write_verdicts_csv(writer *w, verdict *v, size_t count)
{
    FILE *f = fopen(out_path(w, "verdicts.csv"), "w");
    if (!f) {
        fprintf(stderr, "qml: paradox: cannot write %s\n", w->path);
        w->failed = 1;
        return;
    }
    fprintf(f, "claim,verdict\n");
    for (size_t i = 0; i < count; i++)
        fprintf(f, "%.3s,%s\n", v[i].claim, v[i].verdict);
    if (ferror(f) | fclose(f))
        w->failed = 1;
}

int paradox_report(const paradox_setup *s, paradox_tables *t, double wall_seconds, double compute_seconds,
                   double cpu_seconds)
{
    writer w = {s, t, {0}, 0};
    c1_data *c1 = calloc(1, sizeof *c1);
    if (!c1) {
        fprintf(stderr, "qml: paradox: out of memory\n");
        return 1;
    }
    c1_collect(&t->c1, c1);
    verdict v[6];
    memset(v, 0, sizeof v);
    c1_verdicts(s, c1, &v[0], &v[1]);
    c2_verdicts(s, t, &v[2], &v[3]);
    v[4].claim = "C3a: restricting the DLA lowers the fit of random labels";
    v[4].criterion = "at equal weight count, every polynomial-DLA model's mean train accuracy on random labels has "
                     "a 95 % interval entirely below the unstructured model's; refuted if a polynomial-DLA model's "
                     "mean is at or above the unstructured one's";
    c3_verdict(t, "random", &v[4]);
    v[5].claim = "C3b: restricting the DLA lowers the fit of 20 % flipped labels";
    v[5].criterion = "as C3a, on labels of which 20 % are flipped";
    c3_verdict(t, "flip20", &v[5]);
    write_verdicts_csv(&w, v, 6);

    c1_figures(&w, c1);
    c2_figure(&w);
    c3_figure(&w);
    unsigned deep = s->depth_factors[s->n_depth_factors - 1];
    landscape_figure(&w, 1, deep, "landscape_grad.svg");
    landscape_figure(&w, 0, deep, "landscape_loss.svg");
    landscape_figure(&w, 2, deep, "landscape_data_loss.svg");

    FILE *f = fopen(out_path(&w, "report.md"), "w");
    if (!f) {
        fprintf(stderr, "qml: paradox: cannot write %s\n", w.path);
        free(c1);
        return 1;
    }
    char b1[96], b2[96], b3[96], b4[96], b5[96];
    fprintf(f, "# Does the Lie algebra decide? Three claims tested with criteria fixed in advance\n\n");
    fprintf(f, "Written by `%s` (run from the folder that holds this one; libqml %s, seed %" PRIu64
               ", %u threads). This invocation took %.1f s of wall time and %.1f s of CPU time (all threads); "
               "the rows took %.1f s of wall time in all, earlier invocations of a resumed run included. Every number below is computed by the program from the CSV files in this folder; "
               "rerunning with the same options gives the same numbers (timings aside) whatever `--threads`.\n\n",
            s->command, qml_version_string(), s->seed, s->threads_used, wall_seconds, cpu_seconds, compute_seconds);

    fprintf(f, "## Verdicts\n\n");
    fprintf(f, "Each claim was given its criterion before any number was measured (docs/paradox.md states them "
               "too); the verdict is computed from the CSV files (verdicts.csv).\n\n");
    fprintf(f, "| claim | criterion | measured | verdict |\n|---|---|---|---|\n");
    for (int i = 0; i < 6; i++)
        fprintf(f, "| %s | %s | %s | **%s** |\n", v[i].claim, v[i].criterion, v[i].measured, v[i].verdict);
    fprintf(f, "\nInconclusive means the data of this run cannot decide with these sample sizes; `--long` has "
               "more qubits, seeds and budgets.\n\n");

    /* ---- C1 ---- */
    fprintf(f, "## C1: trainability under a shot budget\n\n");
    fprintf(f, "Two moons (%zu training rows, %zu test rows), every model at L = %un layers, Adam (learning rate "
               "%g, batch B = %zu), %u epochs, weights drawn uniformly in [0, 2 pi); %u seeds per cell. With a "
               "finite budget S every gradient component a step uses carries the noise of S measurement shots "
               "per circuit evaluation (the library's Gaussian shot model: the exact gradient plus noise of the "
               "shot estimator's variance); `exact` is the exact gradient. A run succeeds when its final train "
               "accuracy is at least %.2f. Intervals are Wilson 95 %%.\n\n",
            s->c1_train_rows, s->c1_test_rows, s->c1_depth_factor, s->learning_rate, s->batch_size, s->c1_epochs,
            s->c1_seeds, s->success_threshold);
    fprintf(f, "| model | n | weights | S | successes | success probability [95 %%] | mean train accuracy | mean "
               "test accuracy |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t k = 0; k < c1->n_kinds; k++)
        for (size_t si = 0; si < c1->n_shots; si++)
            for (size_t q = 0; q < c1->n_qubits; q++) {
                c1_cell *c = c1_find(c1, c1->kinds[k], c1->qubits[q], c1->shots[si]);
                if (!c)
                    continue;
                double lo, hi;
                paradox_wilson(c->k, c->m, &lo, &hi);
                fprintf(f, "| %s | %u | %u | %s | %u/%u | %s | %.3f | %.3f |\n", paradox_kind_name(c->kind), c->n,
                        paradox_weights_per_layer(c->kind, c->n) * s->c1_depth_factor * c->n,
                        shots_text(c->shots, b1, sizeof b1), c->k, c->m,
                        fmt_ci(b2, sizeof b2, (double)c->k / c->m, lo, hi), c->train_sum / c->m, c->test_sum / c->m);
            }
    fprintf(f, "\nBackends of these runs (c1.csv, column backend): %s.\n", backend_summary(&t->c1, b1, sizeof b1));
    /* Failures that exact gradients share are not the plateau's (C1a). */
    {
        size_t listed = 0;
        fprintf(f, "\nFailures with exact gradients too, so not counted as caused by the plateau in C1a and C1b: ");
        for (size_t k = 0; k < c1->n_kinds; k++)
            for (size_t q = 0; q < c1->n_qubits; q++) {
                c1_cell *c = c1_find(c1, c1->kinds[k], c1->qubits[q], 0);
                if (c && 2 * c->k < c->m)
                    fprintf(f, "%s%s at n = %u (exact %u/%u)", listed++ ? "; " : "", paradox_kind_name(c->kind), c->n,
                            c->k, c->m);
            }
        fprintf(f, "%s.\n", listed ? "" : "none");
    }
    /* Findings: the success probability at the smallest and the largest n
     * of every model and budget (rows of the table above). */
    if (c1->n_qubits >= 2) {
        unsigned lo_n = c1->qubits[0], hi_n = c1->qubits[c1->n_qubits - 1];
        fprintf(f, "\nFindings (rows of the table above):\n\n");
        for (size_t si = 0; si < c1->n_shots; si++) {
            fprintf(f, "- S = %s:", shots_text(c1->shots[si], b1, sizeof b1));
            for (size_t k = 0; k < c1->n_kinds; k++) {
                c1_cell *a = c1_find(c1, c1->kinds[k], lo_n, c1->shots[si]);
                c1_cell *z = c1_find(c1, c1->kinds[k], hi_n, c1->shots[si]);
                if (!a)
                    continue;
                fprintf(f, "%s %s %.3f at n = %u", k ? ";" : "", paradox_kind_name(c1->kinds[k]), (double)a->k / a->m,
                        lo_n);
                if (z)
                    fprintf(f, ", %.3f at n = %u", (double)z->k / z->m, hi_n);
            }
            fprintf(f, " (success probability).\n");
        }
    }
    acc_cell base[3];
    for (int b = 0; b < 3; b++)
        base_collect(&t->baselines, "c1", "moons", 0, base_methods[b], &base[b]);
    fprintf(f, "\nClassical baselines on the same split: logistic regression on degree-1 features %.3f train / %.3f "
               "test, on degree-3 features %.3f / %.3f, 5-nearest neighbours %.3f / %.3f.\n\n",
            base[0].train_mean, base[0].test_mean, base[1].train_mean, base[1].test_mean, base[2].train_mean,
            base[2].test_mean);
    if (t->c1.n_rows) {
        char sizes[64];
        snprintf(sizes, sizeof sizes, "%u", s->c1_seeds);
        fprintf(f, "![C1: training success probability against the number of qubits n at depth L = %un, %s seeds "
                   "per point, Wilson 95 %% intervals; line style = shot budget S, colour and marker = model; points offset "
                   "slightly in n so that equal ones stay visible]"
                   "(c1_success.svg)\n\n",
                s->c1_depth_factor, sizes);
        bool finite = false;
        for (size_t si = 0; si < c1->n_shots; si++)
            finite = finite || c1->shots[si];
        if (finite)
            fprintf(f, "![C1: the same success probabilities against n - log2(S B) (B = %zu), finite budgets only: "
                       "if the plateau sets the failure point, the unstructured curves fall at the same abscissa]"
                       "(c1_collapse.svg)\n\n",
                    s->batch_size);
    }
    fprintf(f, "The two-moons task has no permutation symmetry: here the polynomial-DLA models are the "
               "\"symmetry not matched\" case%s.\n\n",
            " (the permutation model with the bounded-bandwidth collective encoding)");

    if (t->roughness.n_rows) {
        fprintf(f, "How rough each model's function of x is at initialisation: the mean of (df/dx)^2 over %zu "
                   "uniform weight draws on the first 16 training rows (qml_model_roughness; mean ± standard "
                   "error). A collective encoding exp(-i x/2 sum_q X_q) puts frequencies up to n on x, so its "
                   "roughness grows with n; a bounded-bandwidth encoding keeps it flat.\n\n",
                s->roughness_draws);
        fprintf(f, "| model | n | L | mean (df/dx)^2 |\n|---|---:|---:|---:|\n");
        for (size_t r = 0; r < t->roughness.n_rows; r++) {
            char model[40];
            paradox_table_field(&t->roughness, r, "model", model, sizeof model);
            fprintf(f, "| %s | %.0f | %.0f | %s |\n", model, paradox_table_number(&t->roughness, r, "n_qubits"),
                    paradox_table_number(&t->roughness, r, "layers"),
                    fmt_se(b1, sizeof b1, paradox_table_number(&t->roughness, r, "mean_square_slope"),
                           paradox_table_number(&t->roughness, r, "stderr")));
        }
        fprintf(f, "\n");
    }

    /* ---- C2 ---- */
    fprintf(f, "## C2: the geometric prior\n\n");
    if (!t->c2.n_rows) {
        fprintf(f, "Not run: this build of libqml has no S_n-invariant datasets and per-qubit "
                   "permutation-equivariant model.\n\n");
    } else {
        fprintf(f, "n = %u qubits, one feature per qubit, features uniform in [-pi, pi); the S_n-invariant task "
                   "y = [mean_q cos x_q > 0] (0 is the median) and the symmetry-broken control y = [x_0 > 0] on "
                   "the same inputs; training sets of %zu",
                s->c2_qubits, s->c2_sizes[0]);
        for (size_t z = 1; z < s->n_c2_sizes; z++)
            fprintf(f, ", %zu", s->c2_sizes[z]);
        fprintf(f, " rows, a test set of %zu rows; %u seeds per cell (each a new training sample and "
                   "initialisation); L = %u for both models, about %u optimiser steps each (exact gradients). "
                   "Test accuracy: mean [95 %% t-interval over seeds, clipped to [0, 1]].\n\n",
                s->c2_test_rows, s->c2_seeds, s->c2_layers, s->c2_steps);
        fprintf(f, "| task | model | weights | m | test accuracy [95 %%] | train accuracy |\n"
                   "|---|---|---:|---:|---:|---:|\n");
        for (int task = 0; task < 2; task++) {
            for (int k = 0; k < 2; k++)
                for (size_t z = 0; z < s->n_c2_sizes; z++) {
                    acc_cell c;
                    acc_collect(&t->c2, "task", c2_tasks[task], "model", paradox_kind_name(c2_kinds[k]),
                                "train_size", (double)s->c2_sizes[z], &c);
                    if (!c.m)
                        continue;
                    fprintf(f, "| %s | %s | %.0f | %zu | %s | %.3f |\n", c2_tasks[task], paradox_kind_name(c2_kinds[k]),
                            c.weights, s->c2_sizes[z], fmt_ci(b1, sizeof b1, c.test_mean, c.test_lo, c.test_hi),
                            c.train_mean);
                }
            for (int b = 0; b < 3; b++)
                for (size_t z = 0; z < s->n_c2_sizes; z++) {
                    acc_cell c;
                    base_collect(&t->baselines, "c2", c2_tasks[task], (double)s->c2_sizes[z], base_methods[b], &c);
                    if (!c.m)
                        continue;
                    fprintf(f, "| %s | %s | - | %zu | %s | %.3f |\n", c2_tasks[task], base_methods[b], s->c2_sizes[z],
                            fmt_ci(b1, sizeof b1, c.test_mean, c.test_lo, c.test_hi), c.train_mean);
                }
        }
        acc_cell bound;
        base_collect(&t->baselines, "c2", "broken", 0, "best-invariant", &bound);
        fprintf(f, "\nThe best any S_n-invariant classifier can do on the broken task's test set is %s: with k of "
                   "n features positive, P(x_0 > 0 | the multiset of features) = k/n, so the best invariant rule "
                   "is right with probability max(k, n - k)/n, averaged over the test rows.\n\n",
                fmt_f(b1, sizeof b1, bound.m ? bound.test[0] : (double)NAN));
        fprintf(f, "![C2: test accuracy against training-set size (log scale), n = %u, L = %u, %u seeds per "
                   "point, 95 %% t-intervals; solid: invariant task, dashed and open markers: broken control; "
                   "the chance line at 0.5 and the best S_n-invariant accuracy on the broken task]"
                   "(c2_prior.svg)\n\n",
                s->c2_qubits, s->c2_layers, s->c2_seeds);
    }

    /* ---- C3 ---- */
    fprintf(f, "## C3: capacity at equal weight count\n\n");
    fprintf(f, "n = %u qubits, two-moons inputs (%zu training rows), labels clean, with %.0f %% flipped, or "
               "replaced by fair coin flips (new labels per seed); every model has the layer count that brings "
               "its weights closest to %zu; about %u optimiser steps (exact gradients); %u seeds per cell. "
               "Train accuracy measures the fit; mean [95 %% t-interval].\n\n",
            s->c3_qubits, s->c3_rows, 100.0 * s->flip_fraction, s->c3_params, s->c3_steps, s->c3_seeds);
    fprintf(f, "| labels | model | layers | weights | train accuracy [95 %%] | clean-test accuracy | Jacobian rank |\n"
               "|---|---|---:|---:|---:|---:|---:|\n");
    for (int l = 0; l < 3; l++) {
        for (int k = 0; k < 3; k++) {
            acc_cell c;
            acc_collect(&t->c3, "labels", c3_labels[l], "model", paradox_kind_name(c3_kinds[k]), NULL, 0, &c);
            if (!c.m)
                continue;
            fprintf(f, "| %s | %s | %.0f | %.0f | %s | %.3f | %s |\n", c3_labels[l], paradox_kind_name(c3_kinds[k]),
                    c.layers, c.weights, fmt_ci(b1, sizeof b1, c.train_mean, c.train_lo, c.train_hi), c.test_mean,
                    fmt_g(b2, sizeof b2, c.rank_m ? c.rank_sum / c.rank_m : (double)NAN));
        }
        for (int b = 0; b < 3; b++) {
            acc_cell c;
            base_collect(&t->baselines, "c3", c3_labels[l], 0, base_methods[b], &c);
            if (!c.m)
                continue;
            fprintf(f, "| %s | %s | - | - | %s | %.3f | - |\n", c3_labels[l], base_methods[b],
                    fmt_ci(b1, sizeof b1, c.train_mean, c.train_lo, c.train_hi), c.test_mean);
        }
    }
    fprintf(f, "\nThe Jacobian rank is that of the model's predictions over the training rows with respect to the "
               "weights, after training (mean over seeds).\n\n");
    if (t->c3.n_rows)
        fprintf(f, "![C3: train accuracy against the expected share of wrong labels (clean 0, flipped %.2f, random "
                   "0.5), n = %u, L = %u (unstructured), %u (free-fermion), %u (permutation) for weight counts near %zu, "
                   "%u seeds per point, 95 %% t-intervals; classical baselines in black; chance line at 0.5]"
                   "(c3_capacity.svg)\n\n",
                s->flip_fraction, s->c3_qubits, paradox_c3_layers(s, c3_kinds[0]), paradox_c3_layers(s, c3_kinds[1]),
                paradox_c3_layers(s, c3_kinds[2]), s->c3_params, s->c3_seeds);

    /* ---- landscape ---- */
    fprintf(f, "## Beside the claims: the landscape at initialisation\n\n");
    fprintf(f, "Weights drawn uniformly in [0, 2 pi), %zu draws per cell; features fixed to the first training "
               "point of C1 for l = <O> and dl/dw_mid (w_mid = weight n_weights/2, exact adjoint gradients); the "
               "training loss (binary cross-entropy, head a = 1, b = 0) averaged over the first %zu training rows "
               "for the data-averaged loss. Standard errors are those of the sample variance. Predictions are for a "
               "circuit Haar-random on e^g: Var[l] (Ragone et al., Nat. Commun. 15, 7172 (2024)) and Var[dl/dw] of "
               "a middle gate (Fontana et al., Nat. Commun. 15, 7171 (2024)), from the computed algebra where the "
               "closure ran, else in closed form.\n\n",
            s->land_samples, s->data_rows);
    fprintf(f, "| model | n | L | DLA dim | Var[l] | predicted | Var[dl/dw_mid] | predicted | Var[training loss] |\n"
               "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    const paradox_table *L = &t->landscape;
    for (size_t r = 0; r < L->n_rows; r++) {
        char model[32], dim[32];
        paradox_table_field(L, r, "model", model, sizeof model);
        paradox_table_field(L, r, "dla_dim", dim, sizeof dim);
        fprintf(f, "| %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s |\n", model, paradox_table_number(L, r, "n_qubits"),
                paradox_table_number(L, r, "layers"), dim,
                fmt_se(b1, sizeof b1, paradox_table_number(L, r, "var_loss"),
                       paradox_table_number(L, r, "var_loss_stderr")),
                fmt_g(b2, sizeof b2, paradox_table_number(L, r, "pred_loss")),
                fmt_se(b3, sizeof b3, paradox_table_number(L, r, "var_grad_mid"),
                       paradox_table_number(L, r, "var_grad_mid_stderr")),
                fmt_g(b4, sizeof b4, paradox_table_number(L, r, "pred_grad_mid")),
                fmt_se(b5, sizeof b5, paradox_table_number(L, r, "var_data_loss"),
                       paradox_table_number(L, r, "var_data_loss_stderr")));
    }
    fprintf(f, "\nBackends of these rows (landscape.csv, column backend): %s.\n", backend_summary(L, b1, sizeof b1));
    fprintf(f, "\n**Decay fitted to the form the theory gives.** For su(2^n) the predictions fall as 2^-n, so "
               "ln Var is fitted as a line in n and its slope compared with -ln 2 = %.3f; for the polynomial "
               "algebras they fall as a power of n, so ln Var is fitted as a line in ln n and its exponent "
               "compared with the same fit of the predictions. Weighted least squares on ln Var (weights from the "
               "standard errors, qml_bp_fit_data, standard errors scaled up by the Birge ratio when the scatter "
               "exceeds them); 95 %% intervals with t on m - 2 degrees of freedom.\n\n",
            -log(2.0));
    fprintf(f, "| model | L | quantity | form | points | fitted [95 %%] | predicted | consistent |\n"
               "|---|---|---|---|---:|---:|---:|---|\n");
    static const int land_kinds[3] = {PARADOX_KIND_UNSTRUCTURED, PARADOX_KIND_PERMUTATION, PARADOX_KIND_FREE_FERMION};
    for (int k = 0; k < 3; k++)
        for (size_t d = 0; d < s->n_depth_factors; d++)
            for (int qi = 0; qi < 3; qi++) {
                fit_row fr;
                landscape_fit(t, land_kinds[k], s->depth_factors[d], qi, &fr);
                if (fr.points < 3)
                    continue;
                double target = fr.exponential && pred_columns[qi] ? -log(2.0) : fr.predicted;
                fprintf(f, "| %s | %un | %s | %s | %zu | %s | %s | %s |\n", paradox_kind_name(fr.kind), fr.factor,
                        fr.quantity, fr.exponential ? "slope of ln Var in n" : "exponent of n", fr.points,
                        fmt_ci(b1, sizeof b1, fr.value, fr.lo, fr.hi), fmt_f(b2, sizeof b2, target), fr.consistent);
            }
    {
        fit_row fu, fp, ff;
        landscape_fit(t, PARADOX_KIND_UNSTRUCTURED, deep, 1, &fu);
        landscape_fit(t, PARADOX_KIND_PERMUTATION, deep, 1, &fp);
        landscape_fit(t, PARADOX_KIND_FREE_FERMION, deep, 1, &ff);
        if (isfinite(fu.value))
            fprintf(f, "\nFindings (rows of the fit table): at L = %un the unstructured model's Var[dl/dw_mid] falls "
                       "with slope %.3f [%.3f, %.3f] in n against -ln 2 = %.3f (%s); the permutation model's "
                       "exponent is %s against the predictions' %s, the free-fermion model's %s against %s.\n",
                    deep, fu.value, fu.lo, fu.hi, -log(2.0),
                    fu.lo <= -log(2.0) && -log(2.0) <= fu.hi ? "consistent" : "not consistent",
                    fmt_ci(b1, sizeof b1, fp.value, fp.lo, fp.hi), fmt_f(b2, sizeof b2, fp.predicted),
                    fmt_ci(b3, sizeof b3, ff.value, ff.lo, ff.hi), fmt_f(b4, sizeof b4, ff.predicted));
    }
    fprintf(f, "\n![Var[dl/dw_mid] at initialisation against n at depth L = %un, %zu draws per point (error bars: "
               "one standard error); open markers and dotted lines: the predictions; dashed: the fitted decay with "
               "its slope or exponent](landscape_grad.svg)\n\n",
            deep, s->land_samples);
    fprintf(f, "![Var[l] (the readout's variance) at initialisation against n at L = %un, %zu draws per point, with "
               "the predictions and the fitted decay](landscape_loss.svg)\n\n",
            deep, s->land_samples);
    fprintf(f, "![The variance of the training loss averaged over %zu training rows (binary cross-entropy, head "
               "a = 1, b = 0) at initialisation against n at L = %un, %zu draws per point, with the fitted "
               "decay](landscape_data_loss.svg)\n\n",
            s->data_rows, deep, s->land_samples);
    size_t ff_deep = 0;
    for (size_t r = 0; r < L->n_rows; r++)
        ff_deep += paradox_table_number(L, r, "layers") > deep * paradox_table_number(L, r, "n_qubits");
    if (ff_deep)
        fprintf(f, "The free-fermion rows deeper than L = %un are the matchgate circuit taken towards L = %un^2, the "
                   "depth it needs to approach the Haar measure on its group, where the cost (layers x gates per "
                   "layer x 2^n) stays below %.3g.\n\n",
                deep, s->ff_quadratic, s->depth_cost_cap);

    /* ---- simulability and limits ---- */
    if (t->large.n_rows || t->c1_large.n_rows || t->cost.n_rows)
        large_section(f, s, t);
    fprintf(f, "## What a polynomial DLA also means\n\n");
    fprintf(f, "Circuits whose dynamical Lie algebra has polynomial dimension, as the free-fermion and permutation "
               "models here, can be simulated classically in time polynomial in n for these observables and "
               "initial states (Cerezo et al., arXiv:2312.09121): the structure that keeps their gradients from "
               "vanishing is the same structure that lets a classical computer follow them. A trainability "
               "advantage of such a model is therefore not a quantum advantage.%s\n\n",
            t->large.n_rows || t->cost.n_rows
                ? " The section above shows it: the same models at large n on the algebra simulators."
                : " `qml paradox --long` (or `--qubits-large LIST`) shows it: the same models at n = 50-200 on "
                  "libqml's algebra simulators.");
    fprintf(f, "## Limitations\n\n");
    fprintf(f, "- Small sizes and few seeds: %u runs per C1 cell, %u per C2 and C3 cell; the Wilson and t "
               "intervals above say how little that decides, and the verdicts say inconclusive where it does "
               "not.\n",
            s->c1_seeds, s->c2_seeds);
    fprintf(f, "- One learning rate (%g) and one optimiser for every model, not tuned per model; fixed epoch and "
               "step budgets.\n",
            s->learning_rate);
    fprintf(f, "- The landscape predictions hold for circuits that are Haar-random on their group; at L = n the "
               "local models are not, which the L = n rows show.\n");
    fprintf(f, "- Timings depend on the machine and its load; every other number depends only on the options and "
               "the seed.\n");
    if (ferror(f) | fclose(f))
        w.failed = 1;
    free(c1);
    return w.failed;
}

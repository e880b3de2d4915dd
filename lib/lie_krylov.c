/*
 * lie_krylov.c: the structure of a general (Pauli-sum) algebra without the
 * dense d x d matrices of lie_structure.c: matrix-free adjoint actions,
 * a Lanczos vector of one simple ideal, the ideal grown from it by Krylov
 * steps, deflation, and the centre as what is left.
 *
 * Why this route. The basis of g is orthonormal for the Hilbert-Schmidt
 * form, which is ad-invariant, so every ad(y) is antisymmetric and
 * g = z + g_1 + ... + g_p is an orthogonal sum of the centre and the simple
 * ideals, each invariant under every ad(G_k) (the generators generate g).
 * For a generic element x, S = -ad(x)^2 is symmetric positive semidefinite
 * and block diagonal over that sum; its eigenvalues on g_j are alpha(x)^2
 * over the roots alpha of g_j (Humphreys, Introduction to Lie Algebras and
 * Representation Theory, section 8) and 0 on the Cartan subalgebra and the
 * centre. With x built from nested brackets of random combinations of the
 * generators (as the dense analysis does, so that two isomorphic ideals get
 * different spectra), an eigenvector of the largest eigenvalue lies in one
 * simple ideal g_j; the smallest subspace containing it that every ad(G_k)
 * leaves invariant is then an ideal inside g_j, hence g_j itself. Lanczos
 * (with full reorthogonalisation and explicit restarts) finds that vector
 * with products by S only; S is applied through the sparse columns of
 * ad(G_k) (a bracket touches few basis elements), never as a matrix. The
 * ideal is grown by Gram-Schmidt from the vector under two random
 * combinations of the generators and then checked against every ad(G_k)
 * (a direction a check finds outside is added and the growth goes on with
 * every generator). The next ideal is sought in the orthogonal complement
 * of those found; when S vanishes on the complement, the complement is the
 * centre, which is checked against every generator.
 *
 * Cost: the growth of an ideal of dimension m costs about 4 m^2 d
 * multiply-adds (each new direction is orthogonalised against the ideals
 * found), the storage m d doubles; both are counted and the analysis stops
 * at a work cap (options.structure_max_work, default LIE_KRYLOV_MAX_WORK),
 * which is reported (ABOVE_CAP with a message giving the work the rest would
 * need), never silent. One ideal of dimension ~d costs ~4 d^3, the dense
 * analysis' order, so the growth orthogonalises its candidates a block at a
 * time: block classical Gram-Schmidt with one re-orthogonalisation (CGS2,
 * Giraud, Langou, Rozloznik, Comput. Math. Appl. 50 (2005) 1069), whose two
 * products (coefficients Q W^T, update W -= C^T Q) read the rows found once
 * per block instead of once per candidate, split over threads so that every
 * output entry is summed by one thread in a fixed order.
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qml__lie_krylov_always = 0;
double qml__lie_krylov_max_work = LIE_KRYLOV_MAX_WORK;
int qml__lie_krylov_unblocked = 0;

/* Growth: a candidate A u (u a unit vector of the ideal) is a new direction
 * when what is left after orthogonalisation exceeds this share of ||A u||.
 * The Lanczos vector's components outside its ideal are at most
 * KRYLOV_RESIDUAL / (relative gap) ~1e-9 for gaps above 1e-3, so they stay
 * below it. */
#define KRYLOV_GROW_TOL 1e-7
/* The block growth takes a candidate only when what is left exceeds this
 * share: a direction barely outside the span is mostly rounding, which the
 * normalisation amplifies by ||A u|| / (what is left); taken, such rows
 * tilt the span until it swallows a central direction (seen at u(32) with
 * 1e-7). A true direction skipped here is not lost: the check finds it
 * (an escape of a random vector is O(1) of its image) and adds it. */
#define KRYLOV_BLOCK_GROW_TOL 1e-2
/* Check: a unit vector u of an ideal (of the centre) passes when ad(G_k) u
 * leaves it (is non-zero) by at most this share of ||ad(G_k)||_F; a true
 * escape is O(1), rounding and rejected growth residuals are below 1e-7. */
#define KRYLOV_CHECK_TOL 1e-6
/* Lanczos: steps per restart, restarts, and the target residual of the top
 * Ritz pair relative to the largest eigenvalue of S on g. */
#define KRYLOV_STEPS 120u
#define KRYLOV_RESTARTS 40u
#define KRYLOV_RESIDUAL 1e-11
/* Ideals whose rank their dimension does not decide get it from the dense
 * restriction of ad(x) (m x m: about m^2 (d + m) multiply-adds, a quarter
 * of what growing the ideal cost): always up to this dimension, above it
 * when the work budget still holds it (else the rank is left 0, not
 * computed, and the name says so). */
#define KRYLOV_RANK_DENSE 1500u
size_t qml__lie_krylov_rank_dense = KRYLOV_RANK_DENSE;
/* Block growth: candidates per block (the rows found are read once per
 * block), the doubles of a row in one cache tile of the update (the block's
 * tiles, KRYLOV_BLOCK * KRYLOV_TILE * 8 = 32 KiB, stay in L1/L2 while the
 * rows stream through), and the multiply-adds below which one thread does a
 * product (starting threads costs more). */
#define KRYLOV_BLOCK 16u
#define KRYLOV_TILE 256u
#define KRYLOV_PARALLEL_WORK 2e6

/* d x d sparse matrices, stored by column. */
typedef struct kcols {
    size_t *start; /* d + 1 */
    size_t *row;
    double *val;
    size_t count, capacity;
} kcols;

typedef struct krylov {
    const qml_lie_algebra *algebra;
    size_t d, K;
    kcols *ad;      /* K: ad(G_k) */
    double *norm;   /* K: Frobenius norms */
    kcols t, u, v;  /* random combinations: x = t + [u,t] + [u,[v,t]] + [v,t] */
    double *w1, *w2, *w3, *w4, *w5; /* d each: scratch of x_apply */
    double work, max_work;
    bool capped;
    /* the orthonormal rows found so far: ideals, then the centre */
    double *q;
    size_t rows, row_capacity;
} krylov;

static void kcols_release(kcols *c)
{
    qml__free(c->start);
    qml__free(c->row);
    qml__free(c->val);
    memset(c, 0, sizeof *c);
}

/* Column b from the dense column's entries at the ascending indices
 * idx[0..n) (zeros skipped): what kcols_push stores, without reading all d. */
static int kcols_push_listed(kcols *c, size_t b, const double *column, const size_t *idx, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        size_t i = idx[t];
        if (column[i] == 0.0)
            continue;
        if (c->count == c->capacity) {
            size_t cap = c->capacity ? 2 * c->capacity : 64;
            size_t *row = qml__realloc(c->row, cap * sizeof *row);
            if (!row)
                return qml__oom("the sparse adjoint actions");
            c->row = row;
            double *val = qml__realloc(c->val, cap * sizeof *val);
            if (!val)
                return qml__oom("the sparse adjoint actions");
            c->val = val;
            c->capacity = cap;
        }
        c->row[c->count] = i;
        c->val[c->count++] = column[i];
    }
    c->start[b + 1] = c->count;
    return QML_OK;
}

static int compare_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* out = A u */
static void kcols_apply(const kcols *c, size_t d, const double *u, double *out)
{
    memset(out, 0, d * sizeof *out);
    for (size_t b = 0; b < d; b++) {
        double ub = u[b];
        if (ub == 0.0)
            continue;
        for (size_t e = c->start[b]; e < c->start[b + 1]; e++)
            out[c->row[e]] += c->val[e] * ub;
    }
}

/* out = ad(x) u for x = t + [u,t] + [u,[v,t]] + [v,t] (ad is a Lie algebra
 * map: ad([a,b]) = [ad a, ad b]); eleven sparse products. */
static void x_apply(krylov *k, const double *in, double *out)
{
    size_t d = k->d;
    double *tw = k->w1, *a = k->w2, *b = k->w3, *c = k->w4, *e = k->w5;
    kcols_apply(&k->t, d, in, tw);
    memcpy(out, tw, d * sizeof *out);
    /* [U,T] w = U T w - T U w */
    kcols_apply(&k->u, d, tw, a);
    kcols_apply(&k->u, d, in, c); /* c = U w, kept */
    kcols_apply(&k->t, d, c, b);  /* b = T U w */
    for (size_t i = 0; i < d; i++)
        out[i] += a[i] - b[i];
    /* [V,T] w = V T w - T V w, into a */
    kcols_apply(&k->v, d, tw, a);
    kcols_apply(&k->v, d, in, e);
    kcols_apply(&k->t, d, e, tw); /* tw no longer needed */
    for (size_t i = 0; i < d; i++) {
        a[i] -= tw[i];
        out[i] += a[i];
    }
    /* [U,[V,T]] w = U ([V,T] w) - [V,T] (U w): [V,T] c = V (T c) - T (V c); T c = b */
    kcols_apply(&k->u, d, a, e);
    for (size_t i = 0; i < d; i++)
        out[i] += e[i];
    kcols_apply(&k->v, d, b, a); /* V T U w */
    kcols_apply(&k->v, d, c, e); /* V U w */
    kcols_apply(&k->t, d, e, b); /* T V U w */
    for (size_t i = 0; i < d; i++)
        out[i] -= a[i] - b[i];
}

/* out = S in = -ad(x)^2 in = ad(x)^T ad(x) in; tmp: d doubles. */
static void s_apply(krylov *k, const double *in, double *out, double *tmp)
{
    x_apply(k, in, tmp);
    x_apply(k, tmp, out);
    k->work += 2.0 * (double)(3 * k->t.count + 4 * k->u.count + 4 * k->v.count);
    for (size_t i = 0; i < k->d; i++)
        out[i] = -out[i];
}

/* w -= the projection onto rows [0, n) of q, twice (classical Gram-Schmidt
 * with one reorthogonalisation). */
static void project_out(krylov *k, size_t n, double *w)
{
    size_t d = k->d;
    for (int pass = 0; pass < 2; pass++)
        for (size_t j = 0; j < n; j++) {
            const double *qj = k->q + j * d;
            double c = qml__lie_dot(d, qj, w);
            if (c == 0.0)
                continue;
            for (size_t i = 0; i < d; i++)
                w[i] -= c * qj[i];
        }
    k->work += 4.0 * (double)n * (double)d;
}

/* One block product over rows [0, n) of q and nb candidate rows w (d each):
 * c = Q W^T (n x nb) or W -= C^T Q. */
typedef struct block_job {
    const double *q;
    double *w, *c;
    size_t n, nb, d;
} block_job;

/* c[j nb + b] = q_j . w_b for the rows j in [begin, end): each entry is
 * qml__lie_dot, so the same bits for any split of the rows. q_j stays in
 * cache while the block's candidates stream past it. */
static void block_coefficients(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const block_job *job = context;
    size_t d = job->d, nb = job->nb;
    for (size_t j = begin; j < end; j++)
        for (size_t b = 0; b < nb; b++)
            job->c[j * nb + b] = qml__lie_dot(d, job->q + j * d, job->w + b * d);
}

/* w_b[i] -= sum_j c[j nb + b] q_j[i] for the columns i in [begin, end),
 * j ascending in every entry (the order of one thread), tile by tile. */
static void block_update(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const block_job *job = context;
    size_t d = job->d, nb = job->nb, n = job->n;
    for (size_t i0 = begin; i0 < end; i0 += KRYLOV_TILE) {
        size_t len = end - i0 < KRYLOV_TILE ? end - i0 : KRYLOV_TILE;
        for (size_t j = 0; j < n; j++) {
            const double *restrict qj = job->q + j * d + i0;
            const double *cj = job->c + j * nb;
            for (size_t b = 0; b < nb; b++) {
                double cb = cj[b];
                double *restrict wb = job->w + b * d + i0;
                for (size_t i = 0; i < len; i++)
                    wb[i] -= cb * qj[i];
            }
        }
    }
}

/* The nb candidates w (rows of d) minus their projection onto rows [0, n)
 * of q, by block CGS2: coefficients, update, twice. c: n nb doubles. */
static void project_block(krylov *k, size_t n, double *w, size_t nb, double *c)
{
    if (!n || !nb)
        return;
    size_t d = k->d;
    block_job job = {.q = k->q, .w = w, .c = c, .n = n, .nb = nb, .d = d};
    double product = (double)n * (double)nb * (double)d;
    unsigned threads = product < KRYLOV_PARALLEL_WORK ? 1 : k->algebra->n_threads;
    for (int pass = 0; pass < 2; pass++) {
        qml__parallel_for(threads, n, 8, block_coefficients, &job);
        qml__parallel_for(threads, d, KRYLOV_TILE, block_update, &job);
    }
    k->work += 4.0 * product;
}

static int push_row(krylov *k, const double *w, double scale)
{
    size_t d = k->d;
    if (k->rows == k->row_capacity) {
        size_t cap = k->row_capacity ? 2 * k->row_capacity : 16;
        if (cap > d)
            cap = d;
        double *q = qml__realloc(k->q, qml__mul_size(qml__mul_size(cap, d), sizeof *q));
        if (!q)
            return qml__oom("the iterative structure analysis");
        k->q = q;
        k->row_capacity = cap;
    }
    double *dst = k->q + k->rows * d;
    for (size_t i = 0; i < d; i++)
        dst[i] = w[i] * scale;
    k->rows++;
    /* The analysis can take seconds: each row found is reported to the
     * caller's progress callback (rows so far, of d), which can cancel it. */
    const qml_lie_options *o = &k->algebra->options;
    if (o->progress && o->progress("structure", k->rows, d, o->progress_user))
        return qml__error(QML_ERR_CANCELLED, "qml_lie_algebra_create: cancelled by the progress callback during the "
                                             "iterative structure analysis (%zu of %zu rows)",
                          k->rows, d);
    return QML_OK;
}

static double norm2(size_t d, const double *w)
{
    return sqrt(qml__lie_dot(d, w, w));
}

/* The largest eigenvalue of S on the orthogonal complement of the rows
 * found (P S P, P the projector), and a unit Ritz vector y of it, by
 * Lanczos with full reorthogonalisation from `start` (projected here),
 * restarted from the Ritz vector until its residual is below
 * KRYLOV_RESIDUAL * scale (scale = 0: the first call, which sets it).
 * *theta = 0 when S vanishes on the complement (to LIE_STRUCT_TOL * scale). */
static int lanczos_top(krylov *k, double *start, double *scale, double *y, double *theta, bool *converged)
{
    size_t d = k->d, found = k->rows;
    size_t steps = d - found < KRYLOV_STEPS ? d - found : KRYLOV_STEPS;
    int status = QML_OK;
    double *basis = qml__malloc(qml__mul_size(qml__mul_size(steps + 1, d), sizeof *basis));
    double *alpha = qml__malloc((2 * steps + 2) * sizeof *alpha);
    double *tri = qml__malloc(qml__mul_size(steps * steps + 1, sizeof *tri));
    double *ev = qml__malloc((steps + 1) * sizeof *ev);
    double *w = qml__malloc((2 * d + 1) * sizeof *w);
    if (!basis || !alpha || !tri || !ev || !w) {
        status = qml__oom("the Lanczos iteration");
        goto done;
    }
    double *beta = alpha + steps + 1, *tmp = w + d;
    *theta = 0;
    *converged = false;
    memcpy(y, start, d * sizeof *y);
    for (unsigned restart = 0; restart < KRYLOV_RESTARTS && !*converged; restart++) {
        project_out(k, found, y);
        double n0 = norm2(d, y);
        if (n0 == 0.0 || steps == 0) {
            *theta = 0;
            *converged = true;
            break;
        }
        for (size_t i = 0; i < d; i++)
            basis[i] = y[i] / n0;
        size_t m = 0;
        for (; m < steps; m++) {
            double *qm = basis + m * d;
            s_apply(k, qm, w, tmp);
            project_out(k, found, w);
            alpha[m] = qml__lie_dot(d, qm, w);
            /* full reorthogonalisation against the Lanczos vectors, twice */
            for (int pass = 0; pass < 2; pass++)
                for (size_t j = 0; j <= m; j++) {
                    double c = qml__lie_dot(d, basis + j * d, w);
                    for (size_t i = 0; i < d; i++)
                        w[i] -= c * basis[j * d + i];
                }
            k->work += 4.0 * (double)(m + 1) * (double)d;
            beta[m] = norm2(d, w);
            if (m + 1 == steps || beta[m] <= 1e-14 * (fabs(alpha[m]) + (*scale > 0 ? *scale : 1.0))) {
                m++;
                break;
            }
            for (size_t i = 0; i < d; i++)
                basis[(m + 1) * d + i] = w[i] / beta[m];
        }
        memset(tri, 0, m * m * sizeof *tri);
        for (size_t i = 0; i < m; i++) {
            tri[i * m + i] = alpha[i];
            if (i + 1 < m)
                tri[i * m + i + 1] = tri[(i + 1) * m + i] = beta[i];
        }
        status = qml__lie_symmetric_eigen(m, tri, ev, true);
        if (status)
            goto done;
        *theta = ev[m - 1]; /* ascending */
        if (*scale == 0.0)
            *scale = *theta;
        if (*scale <= 0.0 || *theta <= LIE_STRUCT_TOL * *scale) {
            *theta = 0;
            *converged = true;
            break;
        }
        const double *c = tri + (m - 1) * m;
        memset(y, 0, d * sizeof *y);
        for (size_t j = 0; j < m; j++)
            for (size_t i = 0; i < d; i++)
                y[i] += c[j] * basis[j * d + i];
        project_out(k, found, y);
        double ny = norm2(d, y);
        for (size_t i = 0; i < d; i++)
            y[i] /= ny;
        s_apply(k, y, w, tmp);
        project_out(k, found, w);
        for (size_t i = 0; i < d; i++)
            w[i] -= *theta * y[i];
        *converged = norm2(d, w) <= KRYLOV_RESIDUAL * *scale;
    }
done:
    qml__free(basis);
    qml__free(alpha);
    qml__free(tri);
    qml__free(ev);
    qml__free(w);
    return status;
}

/* Rows [first, rows) grow into the smallest subspace containing them that
 * every ad(G_k) leaves invariant (orthogonal to rows [0, first)). First
 * under the random combinations u and v of the generators (two candidates
 * per direction), then checked: a random unit vector of the subspace under
 * every ad(G_k); a check that leaves it restarts the growth under every
 * generator. *escaped: a check that failed after growth under every
 * generator (the subspace is not an ideal to the tolerances). */
static int grow_ideal_unblocked(krylov *k, size_t first, struct qml_rng *rng, bool *escaped)
{
    size_t d = k->d;
    int status = QML_OK;
    double *w = qml__malloc((2 * d + 1) * sizeof *w);
    if (!w)
        return qml__oom("the growth of an ideal");
    double *u = w + d;
    bool every = false;
    *escaped = false;
    for (;;) {
        size_t n_ops = every ? k->K : 2;
        for (size_t i = first; i < k->rows && !status; i++) {
            for (size_t op = 0; op < n_ops && !status; op++) {
                const kcols *a = every ? &k->ad[op] : op == 0 ? &k->u : &k->v;
                kcols_apply(a, d, k->q + i * d, w);
                double n0 = norm2(d, w);
                if (n0 == 0.0)
                    continue;
                project_out(k, k->rows, w);
                double n1 = norm2(d, w);
                if (n1 > KRYLOV_GROW_TOL * n0)
                    status = push_row(k, w, 1.0 / n1);
                if (k->work > k->max_work) {
                    k->capped = true;
                    goto done;
                }
            }
        }
        if (status)
            break;
        /* check */
        bool left = false;
        for (size_t g = 0; g < k->K && !status; g++) {
            memset(u, 0, d * sizeof *u);
            for (size_t i = first; i < k->rows; i++) {
                double c = qml__rng_normal(rng);
                for (size_t j = 0; j < d; j++)
                    u[j] += c * k->q[i * d + j];
            }
            k->work += 2.0 * (double)(k->rows - first) * (double)d;
            double nu = norm2(d, u);
            if (nu == 0.0)
                break;
            kcols_apply(&k->ad[g], d, u, w);
            project_out(k, k->rows, w);
            double n1 = norm2(d, w);
            if (n1 > KRYLOV_CHECK_TOL * k->norm[g] * nu) {
                left = true;
                if (!every)
                    status = push_row(k, w, 1.0 / n1);
            }
        }
        if (status || !left)
            break;
        if (every) {
            *escaped = true;
            break;
        }
        every = true;
    }
done:
    qml__free(w);
    return status;
}

/* The nb candidates w (rows of d) orthogonalised against the rows found as
 * a block; *left counts those whose norm left then exceeds thr[b]. When
 * `push`, they are then taken as in a column-pivoted QR: the candidate
 * furthest above its share take[b] first, the others orthogonalised
 * against it, until none is above. Why pivot and why a share: a candidate
 * barely outside the span is mostly rounding, amplified by the
 * normalisation by ||A u|| / (what is left); the span's tilt out of the
 * ideal (its component along the centre) grows by that factor with each
 * such row, until the checks add the centre itself (seen at u(32)). Taken
 * last, after the clearly new directions, such candidates are mostly
 * rejected. norms: nb doubles. */
static int accept_block(krylov *k, double *w, size_t nb, const double *thr, const double *take, bool push, double *c,
                        double *norms, size_t *left)
{
    size_t d = k->d;
    int status = QML_OK;
    *left = 0;
    project_block(k, k->rows, w, nb, c);
    for (size_t b = 0; b < nb; b++) {
        norms[b] = norm2(d, w + b * d);
        *left += norms[b] > thr[b];
    }
    while (push && !status) {
        size_t best = nb;
        double best_ratio = 1.0;
        for (size_t b = 0; b < nb; b++)
            if (norms[b] >= 0 && norms[b] > best_ratio * take[b]) {
                best = b;
                best_ratio = take[b] > 0 ? norms[b] / take[b] : HUGE_VAL;
            }
        if (best == nb)
            break;
        double *wb = w + best * d;
        double scale = 1.0 / norms[best];
        for (size_t i = 0; i < d; i++)
            wb[i] *= scale;
        norms[best] = -1.0; /* taken */
        for (size_t b = 0; b < nb; b++) {
            if (norms[b] < 0)
                continue;
            double *wo = w + b * d;
            for (int pass = 0; pass < 2; pass++) {
                double cb = qml__lie_dot(d, wb, wo);
                for (size_t i = 0; i < d; i++)
                    wo[i] -= cb * wb[i];
            }
            norms[b] = norm2(d, wo);
        }
        k->work += 5.0 * (double)nb * (double)d;
        status = push_row(k, wb, 1.0);
    }
    return status;
}

/* The check of rows [first, rows): one random unit vector u of their span
 * under every ad(G_k), the K images orthogonalised as one block; *left
 * counts the images that leave the span by more than KRYLOV_CHECK_TOL *
 * ||ad(G_k)||_F ||u||; when `push`, those that leave it by more than
 * KRYLOV_BLOCK_GROW_TOL of their norm are added as rows. A non-invariant
 * span keeps a random u inside it under every ad(G_k) with probability 0,
 * so one u serves every generator. w: K rows of d; c: d K; thr: 2 K; u: d. */
static int check_block(krylov *k, size_t first, struct qml_rng *rng, double *w, double *c, double *thr, double *u,
                       double *norms, bool push, size_t *left)
{
    size_t d = k->d, K = k->K;
    *left = 0;
    memset(u, 0, d * sizeof *u);
    for (size_t i = first; i < k->rows; i++) {
        double a = qml__rng_normal(rng);
        const double *restrict qi = k->q + i * d;
        for (size_t j = 0; j < d; j++)
            u[j] += a * qi[j];
    }
    k->work += 2.0 * (double)(k->rows - first) * (double)d;
    double nu = norm2(d, u);
    if (nu == 0.0)
        return QML_OK;
    double *take = thr + K;
    for (size_t g = 0; g < K; g++) {
        kcols_apply(&k->ad[g], d, u, w + g * d);
        thr[g] = KRYLOV_CHECK_TOL * k->norm[g] * nu;
        take[g] = fmax(thr[g], KRYLOV_BLOCK_GROW_TOL * norm2(d, w + g * d));
    }
    return accept_block(k, w, K, thr, take, push, c, norms, left);
}

/* grow_ideal_unblocked's result with its candidates taken KRYLOV_BLOCK at a
 * time (each row under u and v, in order) and orthogonalised by
 * accept_block. A block that adds nothing triggers a check: when it passes,
 * the span is invariant and the candidates left (all of them would be
 * rejected, about half of the unblocked work) are skipped; when it fails,
 * its escapes are added and the growth goes on. The final check and the
 * fallback under every generator are grow_ideal_unblocked's. */
static int grow_ideal_blocked(krylov *k, size_t first, struct qml_rng *rng, bool *escaped)
{
    size_t d = k->d, cap = k->K > KRYLOV_BLOCK ? k->K : KRYLOV_BLOCK;
    int status = QML_OK;
    double *w = qml__malloc(qml__mul_size(qml__mul_size(cap, d) + d + 1, sizeof *w));
    double *c = qml__malloc(qml__mul_size(qml__mul_size(cap, d) + 1, sizeof *c));
    double *thr = qml__malloc((3 * cap + 1) * sizeof *thr);
    *escaped = false;
    if (!w || !c || !thr) {
        status = qml__oom("the growth of an ideal");
        goto done;
    }
    double *u = w + cap * d, *norms = thr + 2 * cap;
    bool every = false;
    size_t next = first, op = 0;
    for (;;) {
        size_t n_ops = every ? k->K : 2;
        bool closed = false;
        while (next < k->rows && !status && !closed) {
            size_t rows0 = k->rows, nb = 0;
            while (nb < KRYLOV_BLOCK && next < rows0) {
                const kcols *a = every ? &k->ad[op] : op == 0 ? &k->u : &k->v;
                double *wb = w + nb * d;
                kcols_apply(a, d, k->q + next * d, wb);
                double n0 = norm2(d, wb);
                if (n0 > 0.0)
                    thr[nb++] = KRYLOV_BLOCK_GROW_TOL * n0;
                if (++op == n_ops) {
                    op = 0;
                    next++;
                }
            }
            size_t accepted = 0;
            status = accept_block(k, w, nb, thr, thr, true, c, norms, &accepted);
            if (!status && !accepted && !every && k->work <= k->max_work) {
                size_t left = 0;
                status = check_block(k, first, rng, w, c, thr, u, norms, true, &left);
                closed = !left;
            }
            if (!status && k->work > k->max_work) {
                k->capped = true;
                goto done;
            }
        }
        if (status || closed)
            break;
        size_t left = 0;
        status = check_block(k, first, rng, w, c, thr, u, norms, !every, &left);
        if (!status && k->work > k->max_work) {
            k->capped = true;
            break;
        }
        if (status || !left)
            break;
        if (every) {
            *escaped = true;
            break;
        }
        every = true;
        next = first;
        op = 0;
    }
done:
    qml__free(w);
    qml__free(c);
    qml__free(thr);
    return status;
}

/* Tests only: qml__lie_krylov_unblocked selects the one-candidate growth. */
static int grow_ideal(krylov *k, size_t first, struct qml_rng *rng, bool *escaped)
{
    return qml__lie_krylov_unblocked ? grow_ideal_unblocked(k, first, rng, escaped)
                                     : grow_ideal_blocked(k, first, rng, escaped);
}

/* The rank of a compact simple algebra of dimension m when the dimension
 * decides it (every simple algebra of that dimension has the same rank; the
 * classification is qml__lie_simple_shape's); 0 when none or several ranks
 * fit. A rank r of dimension m has r^2 <= m. */
static size_t rank_from_dimension(size_t m)
{
    size_t rank = 0;
    int found = 0;
    for (size_t r = 1; r * r <= m; r++)
        if (qml__lie_simple_shape(m, r)) {
            found++;
            rank = r;
        }
    return found == 1 ? rank : 0;
}

/* Whether some compact simple algebra has dimension m. A grown subspace of
 * any other dimension is not a simple ideal (rounding let the growth take a
 * direction of another ideal or of the centre). */
static bool simple_dimension(size_t m)
{
    for (size_t r = 1; r * r <= m; r++)
        if (qml__lie_simple_shape(m, r))
            return true;
    return false;
}

/* The rank of the ideal of rows [first, first + m): the null space of the
 * restriction of ad(x) (x regular: its centraliser is a Cartan
 * subalgebra), from the dense m x m matrix M = Q ad(x) Q^T and the
 * eigenvalues of M^T M. */
static int rank_dense(krylov *k, size_t first, size_t m, size_t *rank)
{
    size_t d = k->d;
    double *mat = qml__malloc(qml__mul_size(m * m + 1, sizeof *mat));
    double *sq = qml__malloc(qml__mul_size(m * m + 1, sizeof *sq));
    double *w = qml__malloc((m + d + 1) * sizeof *w);
    if (!mat || !sq || !w) {
        qml__free(mat);
        qml__free(sq);
        qml__free(w);
        return qml__oom("the rank of an ideal");
    }
    double *ev = w + d;
    for (size_t j = 0; j < m; j++) {
        x_apply(k, k->q + (first + j) * d, w);
        for (size_t i = 0; i < m; i++)
            mat[i * m + j] = qml__lie_dot(d, k->q + (first + i) * d, w);
    }
    for (size_t i = 0; i < m; i++)
        for (size_t j = i; j < m; j++) {
            double s = 0;
            for (size_t l = 0; l < m; l++)
                s += mat[l * m + i] * mat[l * m + j];
            sq[i * m + j] = sq[j * m + i] = s;
        }
    int status = qml__lie_symmetric_eigen(m, sq, ev, false);
    if (!status) {
        double top = 0;
        for (size_t i = 0; i < m; i++)
            top = fmax(top, fabs(ev[i]));
        size_t zeros = 0;
        for (size_t i = 0; i < m; i++)
            zeros += fabs(ev[i]) <= LIE_STRUCT_TOL * top;
        *rank = zeros;
    }
    qml__free(mat);
    qml__free(sq);
    qml__free(w);
    return status;
}

/* Rows [first, first + m) as a component over every basis element. */
static int component_from_rows(const krylov *k, size_t first, size_t m, lie_component *c)
{
    size_t d = k->d;
    memset(c, 0, sizeof *c);
    c->dim = m;
    c->n_support = d;
    c->support = qml__malloc((d + 1) * sizeof *c->support);
    c->coords = qml__malloc(qml__mul_size(qml__mul_size(d, m) + 1, sizeof *c->coords));
    if (!c->support || !c->coords) {
        qml__lie_component_release(c);
        return qml__oom("a simple ideal");
    }
    for (size_t i = 0; i < d; i++)
        c->support[i] = i;
    for (size_t j = 0; j < m; j++) {
        const double *row = k->q + (first + j) * d;
        for (size_t i = 0; i < d; i++)
            c->coords[i * m + j] = row[i];
    }
    return QML_OK;
}

static void krylov_release(krylov *k)
{
    if (k->ad)
        for (size_t g = 0; g < k->K; g++)
            kcols_release(&k->ad[g]);
    qml__free(k->ad);
    qml__free(k->norm);
    kcols_release(&k->t);
    kcols_release(&k->u);
    kcols_release(&k->v);
    qml__free(k->w1);
    qml__free(k->q);
}

/* The sparse ad(G_k) (column b = coordinates of -i[G_k, B_b]; the closure
 * bracketed every pair, so the products are cached) and the three random
 * combinations. A column touches few coordinates: they are listed (mark,
 * sorted ascending so the sums run in index order) rather than found by
 * scanning d entries, which cost K d^2 (2 10^10 at d = 10^4). */
static int krylov_setup(krylov *k, qml_lie_algebra *algebra, struct qml_rng *rng)
{
    size_t d = k->d, K = k->K;
    int status = QML_OK;
    sparse_acc acc = {0};
    double *col = qml__calloc(4 * d + 1, sizeof *col);
    double *coef = qml__malloc((3 * K + 1) * sizeof *coef);
    size_t *listed = qml__malloc((2 * d + 1) * sizeof *listed); /* the column's rows, then the sums' */
    unsigned char *mark = qml__calloc(2 * d + 1, 1);
    k->ad = qml__calloc(K + 1, sizeof *k->ad);
    k->norm = qml__calloc(K + 1, sizeof *k->norm);
    k->w1 = qml__malloc(qml__mul_size(5 * d + 1, sizeof *k->w1));
    if (!col || !coef || !listed || !mark || !k->ad || !k->norm || !k->w1) {
        status = qml__oom("the iterative structure analysis");
        goto done;
    }
    k->w2 = k->w1 + d;
    k->w3 = k->w2 + d;
    k->w4 = k->w3 + d;
    k->w5 = k->w4 + d;
    kcols *combo[3] = {&k->t, &k->u, &k->v};
    for (size_t g = 0; g < K && !status; g++) {
        k->ad[g].start = qml__calloc(d + 1, sizeof *k->ad[g].start);
        if (!k->ad[g].start)
            status = qml__oom("the sparse adjoint actions");
    }
    for (int c = 0; c < 3 && !status; c++) {
        combo[c]->start = qml__calloc(d + 1, sizeof *combo[c]->start);
        if (!combo[c]->start)
            status = qml__oom("the sparse adjoint actions");
    }
    for (size_t g = 0; g < K; g++)
        for (int c = 0; c < 3; c++)
            coef[3 * g + c] = qml__rng_normal(rng);
    if (!status)
        status = qml__lie_acc_reserve(&acc, algebra->strings.count, d);
    size_t *sum_rows = listed + d;
    unsigned char *sum_mark = mark + d;
    for (size_t b = 0; b < d && !status; b++) {
        double *sum = col + d;
        size_t n_sum = 0;
        for (size_t g = 0; g < K && !status; g++) {
            status = qml__lie_cache_prefill(algebra, b, g);
            if (!status)
                status = qml__lie_acc_reserve(&acc, algebra->strings.count, d);
            if (status)
                break;
            qml__lie_bracket_cached(algebra, &acc, b, g);
            /* qml__lie_acc_coordinates, listing the coordinates it touches */
            size_t n_col = 0;
            for (size_t t = 0; t < acc.n_touched; t++) {
                size_t str = acc.touched[t];
                double v = acc.value[str];
                if (v == 0.0 || str >= algebra->head_capacity)
                    continue;
                for (size_t e = algebra->head[str]; e != SIZE_MAX; e = algebra->node[e].next) {
                    size_t owner = algebra->node[e].owner;
                    col[owner] += algebra->node[e].val * v;
                    if (!mark[owner]) {
                        mark[owner] = 1;
                        listed[n_col++] = owner;
                    }
                }
            }
            qml__lie_acc_clear(&acc);
            qsort(listed, n_col, sizeof *listed, compare_size);
            status = kcols_push_listed(&k->ad[g], b, col, listed, n_col);
            for (size_t t = 0; t < n_col; t++) {
                size_t i = listed[t];
                mark[i] = 0;
                if (col[i] == 0.0)
                    continue;
                k->norm[g] += col[i] * col[i];
                for (int c = 0; c < 3; c++)
                    sum[c * d + i] += coef[3 * g + c] * col[i];
                if (!sum_mark[i]) {
                    sum_mark[i] = 1;
                    sum_rows[n_sum++] = i;
                }
                col[i] = 0.0;
            }
        }
        qsort(sum_rows, n_sum, sizeof *sum_rows, compare_size);
        for (int c = 0; c < 3 && !status; c++)
            status = kcols_push_listed(combo[c], b, sum + c * d, sum_rows, n_sum);
        for (size_t t = 0; t < n_sum; t++) {
            size_t i = sum_rows[t];
            sum_mark[i] = 0;
            for (int c = 0; c < 3; c++)
                sum[c * d + i] = 0.0;
        }
    }
    for (size_t g = 0; g < K; g++)
        k->norm[g] = sqrt(k->norm[g]);
done:
    qml__lie_acc_release(&acc);
    qml__free(col);
    qml__free(coef);
    qml__free(listed);
    qml__free(mark);
    return status;
}

int qml__lie_structure_krylov(qml_lie_algebra *algebra, struct qml_rng *rng, size_t *n_ideals,
                              lie_component **ideals, bool *valid, bool *capped)
{
    size_t d = algebra->dim;
    /* the caller's budget (options.structure_max_work, 0: the default) */
    double budget = algebra->options.structure_max_work > 0 ? algebra->options.structure_max_work
                                                            : qml__lie_krylov_max_work;
    krylov k = {.algebra = algebra, .d = d, .K = algebra->n_generators, .max_work = budget};
    *valid = false;
    *capped = false;
    int status = krylov_setup(&k, algebra, rng);
    double *start = qml__malloc((3 * d + 1) * sizeof *start);
    if (!status && !start)
        status = qml__oom("the iterative structure analysis");
    double *y = start ? start + d : NULL;
    double scale = 0;
    bool escaped = false, lost = false;
    size_t *bounds = NULL, n_bounds = 0; /* ideal j = rows [bounds[j], bounds[j+1]) */
    while (!status && !escaped && !lost && !k.capped) {
        size_t first = k.rows;
        for (size_t i = 0; i < d; i++)
            start[i] = qml__rng_normal(rng);
        double theta = 0;
        bool converged = false;
        status = lanczos_top(&k, start, &scale, y, &theta, &converged);
        if (status)
            break;
        if (k.work > k.max_work) {
            k.capped = true;
            break;
        }
        if (theta == 0.0)
            break; /* S vanishes on the complement: the centre */
        if (!converged) {
            lost = true;
            break;
        }
        /* The ideal is grown from S y / ||S y|| rather than y: S = -ad(x)^2
         * maps into [g, g] and kills the centre, so the first row's
         * component along the centre is rounding instead of the Lanczos
         * residual (~1e-11), and the growth, which can amplify that tilt
         * (accept_block), starts from none. S y lies in y's ideal. */
        s_apply(&k, y, start, start + 2 * d);
        project_out(&k, k.rows, start);
        double ns = norm2(d, start);
        if (ns > 0.0)
            for (size_t i = 0; i < d; i++)
                y[i] = start[i] / ns;
        status = push_row(&k, y, 1.0);
        if (!status)
            status = grow_ideal(&k, first, rng, &escaped);
        if (status || escaped || k.capped)
            break;
        if (!simple_dimension(k.rows - first)) {
            escaped = true;
            break;
        }
        size_t *nb = qml__realloc(bounds, (n_bounds + 2) * sizeof *nb);
        if (!nb) {
            status = qml__oom("the iterative structure analysis");
            break;
        }
        bounds = nb;
        if (n_bounds == 0)
            bounds[n_bounds++] = first;
        bounds[n_bounds++] = k.rows;
    }
    size_t n_center = d - k.rows;
    size_t ideal_rows = k.rows;
    /* the centre: an orthonormal basis of the complement, each vector
     * checked to commute with every generator */
    bool central = !status && !escaped && !lost && !k.capped;
    double *w = NULL;
    if (central && n_center) {
        w = qml__malloc((d + 1) * sizeof *w);
        if (!w)
            status = qml__oom("the centre");
        for (unsigned tries = 0; !status && k.rows < d && tries < 4 * n_center + 8; tries++) {
            for (size_t i = 0; i < d; i++)
                start[i] = qml__rng_normal(rng);
            double n0 = norm2(d, start);
            project_out(&k, k.rows, start);
            double n1 = norm2(d, start);
            if (n1 > 1e-3 * n0)
                status = push_row(&k, start, 1.0 / n1);
        }
        central = k.rows == d;
        for (size_t r = ideal_rows; r < k.rows && central && !status; r++)
            for (size_t g = 0; g < k.K && central; g++) {
                kcols_apply(&k.ad[g], d, k.q + r * d, w);
                central = norm2(d, w) <= KRYLOV_CHECK_TOL * k.norm[g];
            }
    }
    qml__free(w);
    lie_component *items = NULL;
    size_t count = n_bounds ? n_bounds - 1 : 0;
    if (!status && central) {
        items = qml__calloc(count + 1, sizeof *items);
        if (!items)
            status = qml__oom("the simple ideals");
        for (size_t j = 0; j < count && !status; j++) {
            size_t m = bounds[j + 1] - bounds[j];
            size_t rank = rank_from_dimension(m);
            double rank_work = (double)m * (double)m * (double)(d + m);
            if (!rank && (m <= qml__lie_krylov_rank_dense || k.work + rank_work <= k.max_work)) {
                k.work += rank_work;
                status = rank_dense(&k, bounds[j], m, &rank);
            }
            if (!status)
                status = component_from_rows(&k, bounds[j], m, &items[j]);
            items[j].rank = rank;
            items[j].certificate = QML_LIE_CERTIFICATE_DECOMPOSITION;
        }
        if (!status)
            status = component_from_rows(&k, ideal_rows, n_center, &algebra->center);
        if (status && items) {
            for (size_t j = 0; j < count; j++)
                qml__lie_component_release(&items[j]);
            qml__free(items);
            items = NULL;
        }
    }
    if (!status && k.capped) {
        *capped = true;
        /* What the rest would need: the m dimensions not yet in a closed
         * ideal may be one ideal, whose growth costs about 4 m^2 d. */
        size_t covered = n_bounds ? bounds[n_bounds - 1] : 0, rest = d - covered;
        double need = k.work + 4.0 * (double)rest * (double)rest * (double)d;
        snprintf(algebra->structure_message, sizeof algebra->structure_message,
                 "the iterative structure analysis (dimension %zu) stopped at its cap of %.3g multiply-adds after "
                 "%zu simple ideals covering %zu dimensions; the %zu left may need about %.2g in all "
                 "(4 m^2 d for m = %zu; raise options.structure_max_work, qml dla --structure-work)",
                 d, k.max_work, n_bounds ? n_bounds - 1 : 0, covered, rest, need, rest);
    }
    if (!status && items) {
        *n_ideals = count;
        *ideals = items;
        *valid = true;
    }
    qml__free(bounds);
    qml__free(start);
    krylov_release(&k);
    return status;
}

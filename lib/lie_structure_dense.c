/*
 * lie_structure_dense.c: the dense structure analysis of a general algebra
 * (d <= LIE_GENERAL_DENSE_MAX) and the eigenvector split of one block into
 * centre and simple ideals, which Pauli-string components up to
 * LIE_DENSE_MAX use too. The dense products and the eigensolver are in
 * lie_dense.c.
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The adjoint actions of the generators on g, sparse: column b of A_k holds
 * the coordinates of -i[G_k, B_b] (a bracket touches few basis elements, so
 * A_k u costs its non-zeros, not d^2). The structure analysis of general
 * algebras uses them to decide the centre and to verify every ideal. */
typedef struct ad_sparse {
    size_t d, K;
    size_t *start;        /* K*d + 1: column (k, b) = entries [start[k*d+b], start[k*d+b+1]) */
    size_t *row;
    double *val;
    size_t count, capacity;
    double *norm;         /* K: Frobenius norms (>= the spectral norms) */
} ad_sparse;

static void ad_release(ad_sparse *ad)
{
    qml__free(ad->start);
    qml__free(ad->row);
    qml__free(ad->val);
    qml__free(ad->norm);
    memset(ad, 0, sizeof *ad);
}

/* Append column (k, b) from its dense coordinates. */
static int ad_push_column(ad_sparse *ad, size_t k, size_t b, const double *column)
{
    size_t d = ad->d;
    for (size_t i = 0; i < d; i++) {
        if (column[i] == 0.0)
            continue;
        if (ad->count == ad->capacity) {
            size_t cap = ad->capacity ? 2 * ad->capacity : 4 * d + 16;
            size_t *row = qml__realloc(ad->row, qml__mul_size(cap, sizeof *row));
            if (!row)
                return qml__oom("the adjoint actions");
            ad->row = row;
            double *val = qml__realloc(ad->val, qml__mul_size(cap, sizeof *val));
            if (!val)
                return qml__oom("the adjoint actions");
            ad->val = val;
            ad->capacity = cap;
        }
        ad->row[ad->count] = i;
        ad->val[ad->count++] = column[i];
        ad->norm[k] += column[i] * column[i];
    }
    ad->start[k * d + b + 1] = ad->count;
    return QML_OK;
}

/* out = A_k u (d entries). */
static void ad_apply(const ad_sparse *ad, size_t k, const double *u, double *out)
{
    size_t d = ad->d;
    memset(out, 0, d * sizeof *out);
    for (size_t b = 0; b < d; b++) {
        double ub = u[b];
        if (ub == 0.0)
            continue;
        for (size_t e = ad->start[k * d + b]; e < ad->start[k * d + b + 1]; e++)
            out[ad->row[e]] += ad->val[e] * ub;
    }
}

/* Relative threshold of the checks against the sparse adjoint actions: a
 * central or invariant direction leaves a residual of rounding size (the
 * eigenvectors are accurate to ~1e-13 relative when the eigenvalues of S
 * are separated by more than ~1e-3 of its norm, as generic ones are); a
 * direction that is not leaves O(1). */
#define LIE_CHECK_TOL 1e-8

/* Whether unit vector w is central: ||A_k w|| <= tol ||A_k|| for every k. */
static bool ad_central(const ad_sparse *ad, const double *w, double *scratch)
{
    for (size_t k = 0; k < ad->K; k++) {
        ad_apply(ad, k, w, scratch);
        if (sqrt(qml__lie_dot(ad->d, scratch, scratch)) > LIE_CHECK_TOL * ad->norm[k])
            return false;
    }
    return true;
}

/* Make the union-find classes of the eigenvectors W (columns of w, m = d)
 * invariant under every A_k: for a random unit vector u of each class C,
 * the coordinates of A_k u on the eigenvectors outside C must vanish (a
 * random u leaves the class only if the class is not invariant, with
 * probability 1); classes that a residual reaches are merged with C, until
 * every class passes. Central eigenvectors (central[i]) are never merged. */
static int ad_verify_classes(const ad_sparse *ad, struct qml_rng *rng, size_t m, const double *w, size_t *parent,
                             const unsigned char *central)
{
    double *u = qml__malloc((2 * m + 1) * sizeof *u);
    size_t *members = qml__malloc((m + 1) * sizeof *members);
    if (!u || !members) {
        qml__free(u);
        qml__free(members);
        return qml__oom("the ideal check");
    }
    double *r = u + m;
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t root = 0; root < m && !changed; root++) {
            if (central[root] || qml__uf_find(parent, root) != root)
                continue;
            size_t k_members = 0;
            for (size_t i = 0; i < m; i++)
                if (!central[i] && qml__uf_find(parent, i) == root)
                    members[k_members++] = i;
            for (size_t k = 0; k < ad->K && !changed; k++) {
                memset(u, 0, m * sizeof *u);
                for (size_t a = 0; a < k_members; a++) {
                    double c = qml__rng_normal(rng);
                    const double *col = w + members[a] * m;
                    for (size_t i = 0; i < m; i++)
                        u[i] += c * col[i];
                }
                double un = sqrt(qml__lie_dot(m, u, u));
                if (un == 0.0)
                    continue;
                ad_apply(ad, k, u, r);
                double limit = LIE_CHECK_TOL * ad->norm[k] * un;
                for (size_t j = 0; j < m; j++) {
                    if (central[j] || qml__uf_find(parent, j) == root)
                        continue;
                    if (fabs(qml__lie_dot(m, w + j * m, r)) > limit) {
                        qml__lie_uf_union(parent, root, j);
                        changed = true;
                    }
                }
            }
        }
    }
    qml__free(u);
    qml__free(members);
    return QML_OK;
}

/* Split a block of dimension m into its centre and simple ideals, given
 * X = ad(x) for a generic element x and R = ad(r) for any other element
 * (m x m, row-major, antisymmetric, in an orthonormal basis of the block;
 * R may be sparse: the ad action of a combination of the generators).
 * S = -X^2 is block diagonal over the ideals; on an ideal its eigenvalues
 * are alpha(x)^2, twice for each positive root alpha, and 0 on the Cartan
 * subalgebra (the centraliser of x, of dimension the rank) and on the
 * centre. For generic x the non-zero eigenvalues of two ideals differ (two
 * isomorphic ideals too: x is built with nested brackets, see
 * generic_elements), so each eigenvector of a non-zero eigenvalue lies in
 * one ideal. The null space (the Cartan subalgebras and the centre) is
 * split by the eigenvectors of W0^T R^T R W0, block diagonal over the
 * ideals too; its zero eigenvalues (checked against every generator) are
 * the centre. Eigenvectors p, q lie in the same ideal iff they are linked
 * by a chain of non-zero entries of W^T R W (an invariant subspace spanned
 * by eigenvectors is a sum of ideals; the links are checked below against
 * every generator). The rank of an ideal is the number of its null
 * eigenvectors. Dense work: one half product (X^2), one eigen-decomposition
 * and one half product (W^T (R W); R W is sparse work when R is sparse).
 * x is overwritten. `basis` (m_rows x m, column j = block basis vector j
 * in g coordinates, or NULL for the identity) maps the ideals back. */
int qml__lie_split_block(unsigned n_threads, size_t m, double *x, const double *r, const size_t *support,
                       size_t n_support, const double *basis, ideal_list *out, const ad_sparse *ad,
                       struct qml_rng *rng, lie_component *center)
{
    int status = QML_OK;
    size_t mm = m * m;
    double *s = qml__malloc(qml__mul_size(mm + 1, sizeof *s));
    double *t1 = qml__malloc(qml__mul_size(mm + 1, sizeof *t1));
    double *t2 = qml__malloc(qml__mul_size(mm + 1, sizeof *t2));
    double *lambda = qml__malloc((m + 1) * sizeof *lambda);
    size_t *parent = qml__malloc((m + 1) * sizeof *parent);
    size_t *members = qml__malloc((m + 1) * sizeof *members);
    unsigned char *central = qml__calloc(m + 1, 1);
    unsigned char *null = qml__calloc(m + 1, 1);
    double *small = NULL;
    if (!s || !t1 || !t2 || !lambda || !parent || !members || !central || !null) {
        status = qml__oom("the ideal decomposition");
        goto done;
    }
    qml__lie_product(n_threads, m, x, x, s, QML__LIE_PRODUCT_SYMMETRIC);
    for (size_t i = 0; i < mm; i++)
        s[i] = -s[i];
    status = qml__lie_symmetric_eigen(m, s, lambda, true); /* s now holds W column-major: W^T row-major */
    if (status)
        goto done;
    double lmax = 0;
    for (size_t i = 0; i < m; i++)
        lmax = fmax(lmax, fabs(lambda[i]));
    size_t n_null = 0;
    for (size_t i = 0; i < m; i++)
        if (fabs(lambda[i]) <= LIE_STRUCT_TOL * lmax) {
            null[i] = 1;
            n_null++;
        }
    /* The null space: t1 = R W0 (columns of W0 are rows of s), then
     * small = (R W0)^T (R W0), its eigenvectors rotate W0 in place. */
    if (n_null) {
        small = qml__malloc(qml__mul_size(n_null * n_null + n_null + 1, sizeof *small));
        if (!small) {
            status = qml__oom("the ideal decomposition");
            goto done;
        }
        size_t col = 0;
        for (size_t j = 0; j < m; j++) {
            if (!null[j])
                continue;
            const double *w = s + j * m;
            double *rw = t1 + col * m;
            for (size_t i = 0; i < m; i++)
                rw[i] = qml__lie_dot(m, r + i * m, w);
            col++;
        }
        for (size_t a = 0; a < n_null; a++)
            for (size_t b = a; b < n_null; b++)
                small[a * n_null + b] = small[b * n_null + a] = qml__lie_dot(m, t1 + a * m, t1 + b * m);
        double *mu = small + n_null * n_null;
        status = qml__lie_symmetric_eigen(n_null, small, mu, true);
        if (status)
            goto done;
        /* t2 rows = rotated null vectors */
        for (size_t a = 0; a < n_null; a++) {
            double *out_row = t2 + a * m;
            memset(out_row, 0, m * sizeof *out_row);
            size_t src = 0;
            for (size_t j = 0; j < m; j++) {
                if (!null[j])
                    continue;
                double q = small[a * n_null + src];
                const double *w = s + j * m;
                for (size_t i = 0; i < m; i++)
                    out_row[i] += q * w[i];
                src++;
            }
        }
        size_t dst = 0;
        for (size_t j = 0; j < m; j++) {
            if (!null[j])
                continue;
            memcpy(s + j * m, t2 + dst * m, m * sizeof *s);
            dst++;
        }
        /* The centre (general algebras): null vectors that R leaves at 0,
         * each checked against every A_k (a Cartan vector that R nearly
         * fixes stays with the ideals, and a split it spoils is caught by
         * the shape check). */
        if (center) {
            double mumax = 0;
            for (size_t a = 0; a < n_null; a++)
                mumax = fmax(mumax, fabs(mu[a]));
            dst = 0;
            for (size_t j = 0; j < m; j++) {
                if (!null[j])
                    continue;
                if (fabs(mu[dst]) <= LIE_STRUCT_TOL * mumax && ad_central(ad, s + j * m, t1))
                    central[j] = 1;
                dst++;
            }
        }
    }
    size_t n_center = 0;
    if (center) {
        for (size_t i = 0; i < m; i++)
            n_center += central[i];
        center->dim = n_center;
        center->n_support = n_support;
        center->support = qml__malloc((n_support + 1) * sizeof *center->support);
        center->coords = qml__malloc((n_support * n_center + 1) * sizeof *center->coords);
        if (!center->support || !center->coords) {
            status = qml__oom("the centre");
            goto done;
        }
        memcpy(center->support, support, n_support * sizeof *support);
        size_t col = 0;
        for (size_t j = 0; j < m; j++) {
            if (!central[j])
                continue;
            for (size_t i = 0; i < n_support; i++)
                center->coords[i * n_center + col] = s[j * m + i];
            col++;
        }
    }
    /* links: t1 = W (row-major), t2 = R W, x = W^T (R W) (antisymmetric) */
    qml__lie_transpose(m, s, t1);
    qml__lie_product(n_threads, m, r, t1, t2, QML__LIE_PRODUCT_FULL);
    qml__lie_product(n_threads, m, s, t2, x, QML__LIE_PRODUCT_ANTISYMMETRIC);
    double *zt = x;
    double zmax = 0;
    for (size_t i = 0; i < mm; i++)
        zmax = fmax(zmax, fabs(zt[i]));
    for (size_t i = 0; i < m; i++)
        parent[i] = i;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++)
            if (!central[i] && !central[j] && fabs(zt[i * m + j]) > LIE_STRUCT_TOL * zmax)
                qml__lie_uf_union(parent, i, j);
    if (ad) {
        status = ad_verify_classes(ad, rng, m, s, parent, central);
        if (status)
            goto done;
    }
    for (size_t root = 0; root < m && !status; root++) {
        if (central[root] || qml__uf_find(parent, root) != root)
            continue;
        size_t k = 0;
        for (size_t i = root; i < m; i++)
            if (!central[i] && qml__uf_find(parent, i) == root)
                members[k++] = i;
        /* rank: the null eigenvectors of S in the ideal */
        lie_component c = {0};
        c.dim = k;
        c.n_support = n_support;
        c.support = qml__malloc(n_support * sizeof *c.support);
        c.coords = qml__malloc(qml__mul_size(n_support * k, sizeof *c.coords));
        if (!c.support || !c.coords) {
            qml__lie_component_release(&c);
            status = qml__oom("a simple ideal");
            break;
        }
        {
            size_t zeros = 0;
            for (size_t a = 0; a < k; a++)
                zeros += null[members[a]];
            c.rank = zeros;
            memcpy(c.support, support, n_support * sizeof *support);
            /* coords = basis * W[:, members] */
            for (size_t i = 0; i < n_support; i++)
                for (size_t col = 0; col < k; col++) {
                    const double *wcol = s + members[col] * m;
                    double v;
                    if (basis) {
                        v = 0;
                        for (size_t q = 0; q < m; q++)
                            v += basis[i * m + q] * wcol[q];
                    } else {
                        v = wcol[i];
                    }
                    c.coords[i * k + col] = v;
                }
            c.names = qml__lie_ideal_names(k, c.rank, true);
            c.certificate = QML_LIE_CERTIFICATE_DECOMPOSITION;
            if (!c.names)
                status = qml__oom("ideal names");
        }
        if (status)
            qml__lie_component_release(&c);
        else
            status = qml__lie_ideal_push(out, &c);
    }
done:
    qml__free(s);
    qml__free(t1);
    qml__free(t2);
    qml__free(small);
    qml__free(null);
    qml__free(lambda);
    qml__free(parent);
    qml__free(members);
    qml__free(central);
    return status;
}

/* From T, U, V (ad actions of random combinations t, u, v of the
 * generators) the ad action of x = t + [u, t] + [v, t] + [u, [v, t]], in
 * place of T (matrix commutators are ad actions of brackets). The
 * generators' parts in two isomorphic ideals can be images of each other
 * under one map that is not a homomorphism (e.g. the orientation reversal
 * phi of su(2), with phi[a, b] = -[phi a, phi b]); then every polynomial in
 * linear combinations of their ad actions has the same spectrum on both
 * ideals. x's parts are then x_1 and phi(x_1') where x_1' has the terms with
 * one bracket negated; |x_1|^2 - |x_1'|^2 = 4 [u, [v, t]] . ([u, t] + [v, t])
 * contains the triple product u . (v x t) (in su(2)), non-zero for random
 * t, u, v: the spectra of ad(x)^2 differ, the tie is broken. Three
 * products, each with a sparse left factor. */
static int generic_elements(unsigned n_threads, size_t d, double *t, const double *u, const double *v)
{
    size_t dd = d * d;
    double *c1 = qml__malloc(qml__mul_size(dd + 1, sizeof *c1));
    double *q = qml__malloc(qml__mul_size(dd + 1, sizeof *q));
    if (!c1 || !q) {
        qml__free(c1);
        qml__free(q);
        return qml__oom("the structure analysis");
    }
    /* [A, B] = AB - (AB)^T for antisymmetric A, B: one product each */
    qml__lie_product(n_threads, d, v, t, c1, QML__LIE_PRODUCT_FULL); /* c1 = [V, T] */
    qml__lie_antisymmetric_part(d, c1);
    qml__lie_product(n_threads, d, u, c1, q, QML__LIE_PRODUCT_FULL); /* q = [U, c1] */
    qml__lie_antisymmetric_part(d, q);
    for (size_t i = 0; i < dd; i++)
        q[i] += c1[i];
    qml__lie_product(n_threads, d, u, t, c1, QML__LIE_PRODUCT_FULL); /* c1 = [U, T] */
    qml__lie_antisymmetric_part(d, c1);
    for (size_t i = 0; i < dd; i++)
        t[i] += c1[i] + q[i];
    qml__free(c1);
    qml__free(q);
    return QML_OK;
}

/* The structure of a general algebra, densely: X (the ad action of a
 * generic element built from random combinations of the generators, d x d)
 * and V (of one random combination of the generators: sparse), one
 * symmetric eigen-decomposition of -X^2 on all of g (qml__lie_split_block), and the
 * eigenvectors grouped into ideals, each group checked to be invariant
 * under every generator's sparse ad action. O(d^3) time (two half products
 * and one eigen-decomposition of d x d matrices), at most 5 d^2 doubles of
 * memory. */
int qml__lie_structure_general(qml_lie_algebra *algebra, struct qml_rng *rng, ideal_list *ideals)
{
    size_t d = algebra->dim, K = algebra->n_generators;
    const string_table *t = &algebra->strings;
    int status = QML_OK;
    sparse_acc acc = {0};
    ad_sparse ad = {.d = d, .K = K};
    double *x = qml__calloc(d * d + 1, sizeof *x);
    double *y = qml__calloc(d * d + 1, sizeof *y);
    double *v = qml__calloc(d * d + 1, sizeof *v);
    double *colv = qml__calloc(d + 1, sizeof *colv);
    size_t *all = qml__malloc((d + 1) * sizeof *all);
    ad.start = qml__calloc(qml__mul_size(K, d) + 1, sizeof *ad.start);
    ad.norm = qml__calloc(K + 1, sizeof *ad.norm);
    if (!x || !y || !v || !colv || !all || !ad.start || !ad.norm) {
        status = qml__oom("the structure analysis");
        goto done;
    }
    status = qml__lie_acc_reserve(&acc, t->count, d);
    for (size_t k = 0; k < K && !status; k++) {
        double rx = qml__rng_normal(rng), ry = qml__rng_normal(rng), rv = qml__rng_normal(rng);
        for (size_t b = 0; b < d && !status; b++) {
            /* The closure bracketed every basis element with every generator,
             * so every product is cached and in the dictionary already. */
            status = qml__lie_cache_prefill(algebra, b, k);
            if (!status)
                status = qml__lie_acc_reserve(&acc, algebra->strings.count, d);
            if (status)
                break;
            qml__lie_bracket_cached(algebra, &acc, b, k);
            /* column b of A_k = coordinates of -i[G_k, B_b] */
            memset(colv, 0, d * sizeof *colv);
            qml__lie_acc_coordinates(algebra, &acc, colv);
            qml__lie_acc_clear(&acc);
            status = ad_push_column(&ad, k, b, colv);
            for (size_t i = 0; i < d; i++) {
                if (colv[i] == 0.0)
                    continue;
                x[i * d + b] += rx * colv[i];
                y[i * d + b] += ry * colv[i];
                v[i * d + b] += rv * colv[i];
            }
        }
        ad.norm[k] = sqrt(ad.norm[k]);
    }
    if (!status)
        status = generic_elements(algebra->n_threads, d, x, y, v);
    qml__free(y);
    y = NULL;
    if (status)
        goto done;
    for (size_t i = 0; i < d; i++)
        all[i] = i;
    status = qml__lie_split_block(algebra->n_threads, d, x, v, all, d, NULL, ideals, &ad, rng, &algebra->center);
done:
    qml__lie_acc_release(&acc);
    ad_release(&ad);
    qml__free(x);
    qml__free(y);
    qml__free(v);
    qml__free(colv);
    qml__free(all);
    return status;
}

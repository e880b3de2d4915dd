/*
 * lie_structure.c: the structure of a closed algebra: centre, simple ideals
 * (dense method for general sums, components and symmetries for Pauli
 * strings), ranks and names. The dense products and the eigensolver are in
 * lie_dense.c.
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- structure -------------------------------------------------------------------- */

static void uf_union(size_t *parent, size_t a, size_t b)
{
    a = qml__uf_find(parent, a);
    b = qml__uf_find(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

void qml__lie_component_release(lie_component *component)
{
    qml__free(component->support);
    qml__free(component->coords);
    qml__free(component->names);
    qml__free(component->rows);
    qml__free(component->vals);
    memset(component, 0, sizeof *component);
}

/* The compact simple Lie algebras of dimension `dim` and rank `rank`
 * (su(r+1): r(r+2); so(2r+1), sp(r): r(2r+1); so(2r): r(2r-1); g2, f4, e6, e7, e8). */
/* Root-system verdicts that (dim, rank) alone leave open (see string_root_type). */
enum {
    ROOTS_UNKNOWN = 0,
    ROOTS_B = 'B',        /* so(2r+1): 2r short roots, 2r(r-1) long ones */
    ROOTS_C = 'C',        /* sp(r): 2r long roots, 2r(r-1) short ones */
    ROOTS_SIMPLY_LACED = 'S' /* one root length: A, D, E */
};

static char *ideal_names_typed(size_t dim, size_t rank, bool checked, int roots)
{
    qml__buffer b = {0};
    size_t r = rank;
    const char *sep = "";
    if (r == 0) {
        qml__buffer_printf(&b, "unknown (dimension %zu, rank not computed)", dim);
    } else if (r == 1 && dim == 3) {
        qml__buffer_printf(&b, "su(2) = so(3) = sp(1)");
    } else if (r == 2 && dim == 10) {
        qml__buffer_printf(&b, "so(5) = sp(2)");
    } else if (r == 3 && dim == 15) {
        qml__buffer_printf(&b, "su(4) = so(6)");
    } else if (r == 2 && dim == 6) {
        qml__buffer_printf(&b, "so(4) = su(2) + su(2) (not simple)");
    } else {
        if (dim == r * (r + 2)) {
            qml__buffer_printf(&b, "%ssu(%zu)", sep, r + 1);
            sep = " or ";
        }
        if (dim == r * (2 * r + 1) && roots != ROOTS_SIMPLY_LACED) {
            if (roots == ROOTS_B)
                qml__buffer_printf(&b, "%sso(%zu)", sep, 2 * r + 1);
            else if (roots == ROOTS_C)
                qml__buffer_printf(&b, "%ssp(%zu)", sep, r);
            else
                qml__buffer_printf(&b, "%sso(%zu) or sp(%zu)", sep, 2 * r + 1, r);
            sep = " or ";
        }
        if (r >= 4 && dim == r * (2 * r - 1)) {
            qml__buffer_printf(&b, "%sso(%zu)", sep, 2 * r);
            sep = " or ";
        }
        static const struct {
            size_t dim, rank;
            const char *name;
        } exceptional[] = {{14, 2, "g2"}, {52, 4, "f4"}, {78, 6, "e6"}, {133, 7, "e7"}, {248, 8, "e8"}};
        for (size_t i = 0; i < sizeof exceptional / sizeof exceptional[0]; i++)
            if (dim == exceptional[i].dim && r == exceptional[i].rank &&
                (roots == ROOTS_UNKNOWN || roots == ROOTS_SIMPLY_LACED || exceptional[i].name[0] == 'f' ||
                 exceptional[i].name[0] == 'g')) {
                qml__buffer_printf(&b, "%s%s", sep, exceptional[i].name);
                sep = " or ";
            }
        if (!*sep)
            qml__buffer_printf(&b, "unknown (dimension %zu, rank %zu)", dim, r);
    }
    if (!checked)
        qml__buffer_printf(&b, " (not checked to be simple)");
    if (b.failed) {
        qml__buffer_release(&b);
        return NULL;
    }
    return b.data;
}

static char *ideal_names(size_t dim, size_t rank, bool checked)
{
    return ideal_names_typed(dim, rank, checked, ROOTS_UNKNOWN);
}

typedef struct ideal_list {
    size_t count;
    lie_component *items;
} ideal_list;

static int ideal_push(ideal_list *list, lie_component *c)
{
    lie_component *items = qml__realloc(list->items, (list->count + 1) * sizeof *items);
    if (!items) {
        qml__lie_component_release(c);
        return qml__oom("simple ideals");
    }
    list->items = items;
    list->items[list->count++] = *c;
    memset(c, 0, sizeof *c);
    return QML_OK;
}

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
                        uf_union(parent, root, j);
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
static int split_block(unsigned n_threads, size_t m, double *x, const double *r, const size_t *support,
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
                uf_union(parent, i, j);
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
            c.names = ideal_names(k, c.rank, true);
            c.certificate = QML_LIE_CERTIFICATE_DECOMPOSITION;
            if (!c.names)
                status = qml__oom("ideal names");
        }
        if (status)
            qml__lie_component_release(&c);
        else
            status = ideal_push(out, &c);
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


/* Strings indexed by qubit: for each qubit q, the members whose support
 * contains q (a linked list through the entries). Two strings anticommute
 * only if their supports meet, so "the first member that anticommutes with
 * P" walks the lists of P's qubits only (lowest qubit first, stopping at
 * the first hit), not every member: with local members, a few tests per
 * qubit of P until one anticommutes. */
typedef struct qubit_index {
    unsigned n;
    size_t *head;        /* n: first entry, SIZE_MAX if none */
    size_t *id, *next;   /* entries: member id, next entry of the same qubit */
    size_t count, capacity;
} qubit_index;

static int qindex_init(qubit_index *q, unsigned n)
{
    memset(q, 0, sizeof *q);
    q->n = n;
    q->head = qml__malloc(((size_t)n + 1) * sizeof *q->head);
    if (!q->head)
        return qml__oom("a qubit index of strings");
    for (unsigned i = 0; i < n; i++)
        q->head[i] = SIZE_MAX;
    return QML_OK;
}

static void qindex_release(qubit_index *q)
{
    qml__free(q->head);
    qml__free(q->id);
    qml__free(q->next);
    memset(q, 0, sizeof *q);
}

/* Add string `id` of table t to the lists of its qubits. */
static int qindex_add(qubit_index *q, const string_table *t, size_t id)
{
    unsigned words = t->words;
    const uint64_t *x = t->x + id * words, *z = t->z + id * words;
    for (unsigned w = 0; w < words; w++) {
        for (uint64_t bits = x[w] | z[w]; bits; bits &= bits - 1) {
            unsigned qubit = 64 * w + lowest_bit64(bits);
            if (q->count == q->capacity) {
                size_t cap = q->capacity ? 2 * q->capacity : 64;
                size_t *ids = qml__realloc(q->id, cap * sizeof *ids);
                if (!ids)
                    return qml__oom("a qubit index of strings");
                q->id = ids;
                size_t *next = qml__realloc(q->next, cap * sizeof *next);
                if (!next)
                    return qml__oom("a qubit index of strings");
                q->next = next;
                q->capacity = cap;
            }
            q->id[q->count] = id;
            q->next[q->count] = q->head[qubit];
            q->head[qubit] = q->count++;
        }
    }
    return QML_OK;
}

/* The first member found that anticommutes with string (x, z), or SIZE_MAX
 * when it commutes with all of them. */
static size_t qindex_anticommuting(const qubit_index *q, const string_table *t, const uint64_t *x, const uint64_t *z)
{
    unsigned words = t->words;
    for (unsigned w = 0; w < words; w++) {
        for (uint64_t bits = x[w] | z[w]; bits; bits &= bits - 1) {
            unsigned qubit = 64 * w + lowest_bit64(bits);
            for (size_t e = q->head[qubit]; e != SIZE_MAX; e = q->next[e]) {
                size_t id = q->id[e];
                if (strings_anticommute(words, x, z, t->x + id * words, t->z + id * words))
                    return id;
            }
        }
    }
    return SIZE_MAX;
}

static bool simple_shape(size_t dim, size_t rank);
static int nonsimple_exists(size_t dim, size_t rank, bool *exists, bool *decided);

/* Whether string (x, z) commutes with every string of `set` (ids). */
static bool commutes_with_all(const string_table *t, const uint64_t *x, const uint64_t *z, const size_t *set,
                              size_t count)
{
    unsigned words = t->words;
    for (size_t i = 0; i < count; i++)
        if (strings_anticommute(words, x, z, t->x + set[i] * words, t->z + set[i] * words))
            return false;
    return true;
}

/* Whether a Pauli-string component (the strings `members`, a sum of
 * n_group isomorphic simple ideals of rank `rank` each) has the root system
 * of so(2r+1) (B_r) or sp(r) (C_r), or one root length (A, D, E): dimension
 * and rank do not tell B_r from C_r (both r(2r+1), rank r). Facts used
 * (Humphreys, Introduction to Lie Algebras and Representation Theory, sec.
 * 12.1): B_r has 2r short roots +-e_i and 2r(r-1) long roots +-e_i +- e_j,
 * C_r has 2r long roots +-2e_i and 2r(r-1) short ones, with |long|^2 =
 * 2 |short|^2; the trace form is invariant, hence proportional to the
 * Killing form on each simple ideal, so lengths may be measured with it.
 * A maximal set of commuting strings h_1..h_R spans a Cartan subalgebra
 * (orthonormal); a string Q outside it spans, with the products h_S Q,
 * joint eigenspaces of the ad(h_i) on which ad(h_i) has eigenvalues +-2i if
 * h_i anticommutes with Q and 0 otherwise, so every root vector built from
 * Q has |alpha|^2 = 4 c(Q), c(Q) = the number of h_i anticommuting with Q.
 * Each string outside the Cartan set is one real root dimension (a root
 * and its negative span two). For a component split into n_group ideals
 * by central symmetries s (see split_by_symmetry), the Cartan set is a
 * union of cosets s h, every part sees each coset once with the same
 * norm, and the counts of every part are those of the component divided by
 * n_group. *roots = ROOTS_UNKNOWN when the counts fit none of these. */
static int string_root_type(const string_table *t, const size_t *members, size_t m, size_t n_group, size_t rank,
                            int *roots)
{
    *roots = ROOTS_UNKNOWN;
    unsigned words = t->words;
    size_t *cartan = qml__malloc((m + 1) * sizeof *cartan);
    size_t *count = qml__calloc(m + 1, sizeof *count); /* count[c] = strings with c(Q) = c */
    if (!cartan || !count) {
        qml__free(cartan);
        qml__free(count);
        return qml__oom("the roots of an ideal");
    }
    size_t nt = 0;
    for (size_t i = 0; i < m; i++) {
        const uint64_t *ax = t->x + members[i] * words, *az = t->z + members[i] * words;
        if (commutes_with_all(t, ax, az, cartan, nt))
            cartan[nt++] = members[i];
    }
    size_t c_max = 0, n_values = 0;
    for (size_t i = 0; i < m; i++) {
        const uint64_t *ax = t->x + members[i] * words, *az = t->z + members[i] * words;
        size_t c = 0;
        for (size_t j = 0; j < nt; j++)
            c += (size_t)strings_anticommute(words, ax, az, t->x + cartan[j] * words, t->z + cartan[j] * words);
        if (c == 0)
            continue; /* a Cartan string */
        n_values += count[c] == 0;
        count[c]++;
        c_max = c > c_max ? c : c_max;
    }
    int type = ROOTS_UNKNOWN;
    size_t r = rank;
    if (nt == n_group * r && n_values == 1) {
        type = ROOTS_SIMPLY_LACED;
    } else if (nt == n_group * r && n_values == 2 && c_max % 2 == 0 && count[c_max / 2] > 0 && r >= 3) {
        size_t n_long = count[c_max] / n_group, n_short = count[c_max / 2] / n_group;
        if (n_short == 2 * r && n_long == 2 * r * (r - 1))
            type = ROOTS_B;
        else if (n_long == 2 * r && n_short == 2 * r * (r - 1))
            type = ROOTS_C;
    }
    qml__free(cartan);
    qml__free(count);
    *roots = type;
    return QML_OK;
}

/* The name of a Pauli-string ideal (or of each of n_group alike parts of a
 * component), with so(2r+1) and sp(r) told apart by their roots. */
static char *string_ideal_names(const string_table *t, const size_t *members, size_t m, size_t n_group, size_t dim,
                                size_t rank, bool checked)
{
    int roots = ROOTS_UNKNOWN;
    if (rank >= 3 && dim == rank * (2 * rank + 1) && string_root_type(t, members, m, n_group, rank, &roots))
        return NULL; /* the callers report out of memory */
    return ideal_names_typed(dim, rank, checked, roots);
}

/* Whether string Q = (qx, qz) is one of the n_group strings of the symmetry
 * group S (rows of sx, sz). */
static bool group_contains(unsigned words, const uint64_t *sx, const uint64_t *sz, size_t n_group,
                           const uint64_t *qx, const uint64_t *qz)
{
    for (size_t g = 0; g < n_group; g++)
        if (!memcmp(sx + g * words, qx, words * sizeof *qx) && !memcmp(sz + g * words, qz, words * sizeof *qz))
            return true;
    return false;
}

/* S := S u Q S for a string Q outside S that commutes with S (a product of
 * commuting Hermitian strings is +- a string: the sign goes to sign[]).
 * Returns the new order 2 n_group. */
static size_t group_double(unsigned words, uint64_t *sx, uint64_t *sz, int *sign, size_t n_group,
                           const uint64_t *qx, const uint64_t *qz)
{
    for (size_t g = 0; g < n_group; g++) {
        const uint64_t *gx = sx + g * words, *gz = sz + g * words;
        unsigned phase = strings_product_phase(words, qx, qz, gx, gz); /* 0 or 2 */
        for (unsigned w = 0; w < words; w++) {
            sx[(n_group + g) * words + w] = qx[w] ^ gx[w];
            sz[(n_group + g) * words + w] = qz[w] ^ gz[w];
        }
        sign[n_group + g] = sign[g] * (phase == 2u ? -1 : 1);
    }
    return 2 * n_group;
}

/* Split a large Pauli-string component by its symmetries. A string Q that
 * commutes with the component and maps its strings onto its strings (Q P =
 * +-R, R in the component) makes Pi = (1 + Q) / 2 a central projector: Pi g
 * and (1 - Pi) g are commuting ideals. Every such Q is P_0 R for the first
 * string P_0 and some R of the component commuting with it, so the
 * candidates are few. A group S of 2^k such Q splits the component into
 * 2^k ideals of dim m / 2^k, spanned by (1/sqrt|S|) sum_{s in S} chi(s) s P
 * for the characters chi. Each gets rank (total) / 2^k when that is the only
 * rank a simple algebra of its dimension has; otherwise nothing is split. */
static int split_by_symmetry(qml_lie_algebra *algebra, const size_t *order, size_t m, size_t total_rank,
                             ideal_list *ideals, bool *split)
{
    *split = false;
    const string_table *t = &algebra->strings;
    unsigned words = t->words;
    enum { MAX_K = 8 };
    size_t group_cap = (size_t)1 << MAX_K;
    uint64_t *sx = qml__calloc(group_cap * words, sizeof *sx);
    uint64_t *sz = qml__calloc(group_cap * words, sizeof *sz);
    int *sign = qml__calloc(group_cap, sizeof *sign);
    uint64_t *px = qml__calloc(4 * (size_t)words, sizeof *px); /* P, then Q */
    size_t *gens = qml__malloc((algebra->n_generators + 1) * sizeof *gens);
    size_t *pos = NULL, *target = NULL;
    double *value = NULL;
    unsigned char *seen = NULL;
    if (!sx || !sz || !sign || !px || !gens) {
        qml__free(sx);
        qml__free(sz);
        qml__free(sign);
        qml__free(px);
        qml__free(gens);
        return qml__oom("the symmetries of a Pauli-string component");
    }
    uint64_t *pz = px + words, *qx = px + 2 * words, *qz = px + 3 * words;
    int status = QML_OK;
    pos = qml__malloc((algebra->dim + 1) * sizeof *pos);
    if (!pos) {
        status = qml__oom("the symmetries of a Pauli-string component");
        goto done;
    }
    for (size_t a = 0; a < algebra->dim; a++)
        pos[a] = SIZE_MAX;
    for (size_t i = 0; i < m; i++)
        pos[order[i]] = i;
    /* the component's generators: Q must commute with them (then with all of it) */
    size_t n_gens = 0;
    for (size_t k = 0; k < algebra->n_generators; k++) {
        size_t id = qml__lie_table_find(t, algebra->generators[k]->x, algebra->generators[k]->z);
        for (size_t i = 0; i < m; i++)
            if (order[i] == id) {
                gens[n_gens++] = id;
                break;
            }
    }
    /* S starts as {I} */
    size_t n_group = 1;
    sign[0] = 1;
    unsigned k = 0;
    const uint64_t *p0x = t->x + order[0] * words, *p0z = t->z + order[0] * words;
    for (size_t c = 1; c < m && k < MAX_K; c++) {
        const uint64_t *rx = t->x + order[c] * words, *rz = t->z + order[c] * words;
        if (strings_anticommute(words, p0x, p0z, rx, rz))
            continue;
        for (unsigned w = 0; w < words; w++) {
            qx[w] = p0x[w] ^ rx[w];
            qz[w] = p0z[w] ^ rz[w];
        }
        /* already in S? */
        bool known = group_contains(words, sx, sz, n_group, qx, qz);
        if (known || !commutes_with_all(t, qx, qz, gens, n_gens))
            continue;
        bool maps = true;
        for (size_t i = 0; i < m && maps; i++) {
            for (unsigned w = 0; w < words; w++) {
                px[w] = qx[w] ^ t->x[order[i] * words + w];
                pz[w] = qz[w] ^ t->z[order[i] * words + w];
            }
            size_t id = qml__lie_table_find(t, px, pz);
            maps = id != SIZE_MAX && pos[id] != SIZE_MAX;
        }
        if (!maps)
            continue;
        /* S := S u Q S (Q commutes with S: products of commuting Hermitian strings are +-strings) */
        n_group = group_double(words, sx, sz, sign, n_group, qx, qz);
        k++;
    }
    size_t part = m / n_group, part_rank = total_rank / n_group;
    /* The ranks r_chi of the parts sum to the total and each is a rank a
     * simple algebra of dimension `part` has. Accept only when equal ranks
     * are the one way to do that (two parts: no other pair; more: a single
     * possible rank), so that each part's rank is known. */
    bool decided = k > 0 && m % n_group == 0 && total_rank % n_group == 0 && simple_shape(part, part_rank);
    for (size_t r = 1; r <= part && decided; r++) {
        if (r == part_rank || !simple_shape(part, r))
            continue;
        if (n_group > 2 || (total_rank > r && simple_shape(part, total_rank - r)))
            decided = false;
    }
    if (!decided)
        goto done;
    /* The group acts freely on the component's strings and on its maximal
     * commuting set (a union of cosets: s h commutes with whatever h does),
     * so each part has rank total / 2^k exactly; a part (semisimple) is
     * simple when no sum of simple algebras has its shape. */
    bool nonsimple = true, checked_rank = false;
    status = nonsimple_exists(part, part_rank, &nonsimple, &checked_rank);
    if (status)
        goto done;
    bool checked = checked_rank && !nonsimple;
    /* Each part's column c lives on one coset s P (|S| strings): stored
     * sparse, m entries per part, m 2^k in all; the dense form (m x m / 2^k
     * per part) only as the tests' reference. Above the entry cap the
     * component stays unsplit: the structure is reported unresolved. */
    bool dense = qml__lie_split_dense && m <= LIE_SPLIT_MAX;
    if (!dense && m > qml__lie_split_max_entries / n_group) {
        algebra->split_entries = m > SIZE_MAX / n_group ? SIZE_MAX : m * n_group;
        algebra->split_cap = qml__lie_split_max_entries;
        goto done;
    }
    seen = qml__calloc(m, 1);
    target = qml__malloc(2 * n_group * sizeof *target);
    value = qml__malloc(n_group * sizeof *value);
    if (!seen || !target || !value) {
        status = qml__oom("the symmetries of a Pauli-string component");
        goto done;
    }
    size_t *slot = target + n_group;
    lie_component *parts = qml__calloc(n_group, sizeof *parts);
    if (!parts) {
        status = qml__oom("simple ideals");
        goto done;
    }
    /* the parts are alike: their roots (and names) are counted once */
    char *names = string_ideal_names(t, order, m, n_group, part, part_rank, checked);
    size_t names_size = names ? strlen(names) + 1 : 0;
    if (!names)
        status = qml__oom("simple ideals");
    for (size_t chi = 0; chi < n_group && !status; chi++) {
        parts[chi].dim = part;
        parts[chi].rank = part_rank;
        parts[chi].certificate = checked ? QML_LIE_CERTIFICATE_SHAPE : QML_LIE_CERTIFICATE_NONE;
        parts[chi].n_support = m;
        parts[chi].support = qml__malloc(m * sizeof(size_t));
        parts[chi].names = qml__malloc(names_size);
        if (dense) {
            parts[chi].coords = qml__calloc(m * part, sizeof(double));
        } else {
            parts[chi].col_nnz = n_group;
            parts[chi].rows = qml__malloc(m * sizeof(size_t));
            parts[chi].vals = qml__malloc(m * sizeof(double));
        }
        if (!parts[chi].support || !parts[chi].names || (dense ? !parts[chi].coords : !parts[chi].rows || !parts[chi].vals)) {
            status = qml__oom("simple ideals");
        } else {
            memcpy(parts[chi].support, order, m * sizeof *order);
            memcpy(parts[chi].names, names, names_size);
        }
    }
    qml__free(names);
    double norm = 1.0 / sqrt((double)n_group);
    size_t col = 0;
    for (size_t i = 0; i < m && !status; i++) {
        if (seen[i])
            continue;
        const uint64_t *ax = t->x + order[i] * words, *az = t->z + order[i] * words;
        for (size_t g = 0; g < n_group; g++) {
            const uint64_t *gx = sx + g * words, *gz = sz + g * words;
            unsigned phase = strings_product_phase(words, gx, gz, ax, az); /* 0 or 2: commuting */
            for (unsigned w = 0; w < words; w++) {
                px[w] = gx[w] ^ ax[w];
                pz[w] = gz[w] ^ az[w];
            }
            target[g] = pos[qml__lie_table_find(t, px, pz)];
            seen[target[g]] = 1;
            value[g] = norm * sign[g] * (phase == 2u ? -1.0 : 1.0);
            /* the entries in ascending row order (insertion sort of |S| slots) */
            size_t e = g;
            while (e > 0 && target[slot[e - 1]] > target[g]) {
                slot[e] = slot[e - 1];
                e--;
            }
            slot[e] = g;
        }
        /* chi(g) = (-1)^{popcount(chi & g)}: g's bits say which Q_j it contains */
        for (size_t chi = 0; chi < n_group; chi++) {
            for (size_t e = 0; e < n_group; e++) {
                size_t g = slot[e];
                double v = (popcount64(chi & g) & 1u) ? -value[g] : value[g];
                if (dense) {
                    parts[chi].coords[target[g] * part + col] = v;
                } else {
                    parts[chi].rows[col * n_group + e] = target[g];
                    parts[chi].vals[col * n_group + e] = v;
                }
            }
        }
        col++;
    }
    for (size_t chi = 0; chi < n_group; chi++) {
        if (!status)
            status = ideal_push(ideals, &parts[chi]);
        else
            qml__lie_component_release(&parts[chi]);
    }
    qml__free(parts);
    *split = status == QML_OK;
done:
    qml__free(sx);
    qml__free(sz);
    qml__free(sign);
    qml__free(px);
    qml__free(gens);
    qml__free(pos);
    qml__free(seen);
    qml__free(target);
    qml__free(value);
    return status;
}

static int structure_pure(qml_lie_algebra *algebra, struct qml_rng *rng, ideal_list *ideals)
{
    const string_table *t = &algebra->strings;
    unsigned words = algebra->words;
    size_t d = algebra->dim, K = algebra->n_generators;
    int status = QML_OK;
    size_t *parent = qml__malloc((d + 1) * sizeof *parent);
    size_t *gid = qml__malloc((K + 1) * sizeof *gid);
    size_t *sorted = qml__malloc((d + 1) * sizeof *sorted);
    size_t *local = qml__malloc((d + 1) * sizeof *local);
    size_t *slot = qml__malloc((d + 1) * sizeof *slot);
    double *r = qml__malloc(2 * (K + 1) * sizeof *r);
    uint64_t *px = qml__malloc(2 * (size_t)words * sizeof *px);
    qubit_index gq = {0};
    if (!parent || !gid || !sorted || !local || !slot || !r || !px) {
        status = qml__oom("the structure of a Pauli-string algebra");
        goto done;
    }
    if ((status = qindex_init(&gq, algebra->n_qubits)))
        goto done;
    uint64_t *pz = px + words;
    for (size_t k = 0; k < K; k++) {
        gid[k] = qml__lie_table_find(t, algebra->generators[k]->x, algebra->generators[k]->z);
        r[2 * k] = qml__rng_normal(rng);
        r[2 * k + 1] = qml__rng_normal(rng);
        if ((status = qindex_add(&gq, t, gid[k])))
            goto done;
    }
    for (size_t a = 0; a < d; a++)
        parent[a] = a;
    /* Components of the anticommutation graph: every non-generator string
     * anticommutes with the generator that produced it, so linking strings
     * to the generators they anticommute with gives the same components.
     * The generators are linked pair by pair (through the qubit index);
     * a string of the closure of one component of the generators' graph
     * commutes with every generator outside it (a string commuting with P
     * and Q commutes with PQ), so it anticommutes with generators of one
     * component only, and the first one found links it. */
    for (size_t k = 0; k < K; k++) {
        const uint64_t *ax = t->x + gid[k] * words, *az = t->z + gid[k] * words;
        for (unsigned w = 0; w < words; w++)
            for (uint64_t bits = ax[w] | az[w]; bits; bits &= bits - 1)
                for (size_t e = gq.head[64 * w + lowest_bit64(bits)]; e != SIZE_MAX; e = gq.next[e])
                    if (strings_anticommute(words, ax, az, t->x + gq.id[e] * words, t->z + gq.id[e] * words))
                        uf_union(parent, gid[k], gq.id[e]);
    }
    /* Every string of the closure of a component of the generators lives
     * on that component's qubits. When the qubit sets of the components
     * with two or more generators are disjoint, a non-generator string
     * (never central: it anticommutes with the generator that produced it)
     * belongs to the component owning its lowest qubit; otherwise the index
     * finds a generator it anticommutes with. */
    unsigned n_qubits = algebra->n_qubits;
    size_t *owner = qml__malloc(((size_t)n_qubits + 1) * sizeof *owner); /* per qubit: a root, SIZE_MAX none */
    if (!owner) {
        status = qml__oom("the structure of a Pauli-string algebra");
        goto done;
    }
    unsigned char *is_gen = (unsigned char *)local;
    size_t *gens_of = slot; /* per root: how many generators it has */
    memset(is_gen, 0, d + 1);
    memset(gens_of, 0, (d + 1) * sizeof *gens_of);
    bool disjoint = true;
    for (unsigned q = 0; q < n_qubits; q++)
        owner[q] = SIZE_MAX;
    for (size_t k = 0; k < K; k++) {
        gens_of[qml__uf_find(parent, gid[k])] += !is_gen[gid[k]];
        is_gen[gid[k]] = 1;
    }
    for (size_t k = 0; k < K && disjoint; k++) {
        size_t root = qml__uf_find(parent, gid[k]);
        if (gens_of[root] < 2)
            continue; /* a central generator: it produces nothing */
        const uint64_t *ax = t->x + gid[k] * words, *az = t->z + gid[k] * words;
        for (unsigned w = 0; w < words && disjoint; w++)
            for (uint64_t bits = ax[w] | az[w]; bits && disjoint; bits &= bits - 1) {
                unsigned q = 64 * w + lowest_bit64(bits);
                if (owner[q] == SIZE_MAX)
                    owner[q] = root;
                disjoint = owner[q] == root;
            }
    }
    for (size_t a = 0; a < d; a++) {
        if (is_gen[a])
            continue;
        const uint64_t *ax = t->x + a * words, *az = t->z + a * words;
        size_t id = SIZE_MAX;
        if (disjoint) {
            for (unsigned w = 0; w < words && id == SIZE_MAX; w++)
                if (ax[w] | az[w])
                    id = owner[64 * w + lowest_bit64(ax[w] | az[w])];
        } else {
            id = qindex_anticommuting(&gq, t, ax, az);
        }
        if (id != SIZE_MAX)
            uf_union(parent, a, id);
    }
    qml__free(owner);
    /* counting sort of the elements by root: `sorted` lists each component
     * contiguously (ascending ids), from slot[root] - count[root] */
    size_t *count = local;
    memset(count, 0, (d + 1) * sizeof *count);
    for (size_t a = 0; a < d; a++) {
        parent[a] = qml__uf_find(parent, a);
        count[parent[a]]++;
    }
    size_t n_center = 0;
    for (size_t a = 0; a < d; a++)
        n_center += count[a] == 1;
    algebra->center.dim = n_center;
    algebra->center.n_support = n_center;
    algebra->center.support = qml__malloc((n_center + 1) * sizeof(size_t));
    if (!algebra->center.support) {
        status = qml__oom("the centre");
        goto done;
    }
    size_t nc = 0;
    for (size_t a = 0; a < d; a++)
        if (count[a] == 1 && parent[a] == a)
            algebra->center.support[nc++] = a;
    size_t offset = 0;
    for (size_t a = 0; a < d; a++) {
        slot[a] = offset;
        offset += count[a];
    }
    for (size_t a = 0; a < d; a++)
        sorted[slot[parent[a]]++] = a;
    for (size_t root = 0; root < d && !status; root++) {
        if (parent[root] != root || count[root] < 2)
            continue;
        size_t m = count[root];
        const size_t *order = sorted + slot[root] - m;
        lie_component c = {0};
        unsigned n = algebra->n_qubits;
        if (n < 32 && (uint64_t)m == (((uint64_t)1 << (2 * n)) - 1)) {
            c.rank = ((size_t)1 << n) - 1; /* all non-identity strings: su(2^n) */
        } else if (m <= LIE_DENSE_MAX) {
            double *x = qml__calloc(m * m, sizeof *x);
            double *y = qml__calloc(m * m, sizeof *y);
            size_t *pos = qml__malloc(d * sizeof *pos);
            if (!x || !y || !pos) {
                qml__free(x);
                qml__free(y);
                qml__free(pos);
                status = qml__oom("a Pauli-string component");
                break;
            }
            for (size_t i = 0; i < m; i++)
                pos[order[i]] = i;
            /* X, Y = ad of random combinations of every string of the
             * component, not only of the generators: the generators' parts
             * in two isomorphic ideals can be images of each other under one
             * isomorphism (then every polynomial in their ad actions has the
             * same spectrum on both, and the eigenvectors mix the ideals);
             * the basis as a whole cannot be (it would span a diagonal). */
            double *weight = qml__malloc(2 * m * sizeof *weight);
            if (!weight) {
                qml__free(x);
                qml__free(y);
                qml__free(pos);
                status = qml__oom("a Pauli-string component");
                break;
            }
            for (size_t j = 0; j < 2 * m; j++)
                weight[j] = qml__rng_normal(rng);
            for (size_t i = 0; i < m; i++) {
                const uint64_t *ax = t->x + order[i] * words, *az = t->z + order[i] * words;
                for (size_t j = 0; j < m; j++) {
                    const uint64_t *gx = t->x + order[j] * words, *gz = t->z + order[j] * words;
                    if (!strings_anticommute(words, gx, gz, ax, az))
                        continue;
                    for (unsigned w = 0; w < words; w++) {
                        px[w] = gx[w] ^ ax[w];
                        pz[w] = gz[w] ^ az[w];
                    }
                    size_t target = pos[qml__lie_table_find(t, px, pz)];
                    double v = bracket_sign(strings_product_phase(words, gx, gz, ax, az));
                    x[target * m + i] += weight[2 * j] * v;
                    y[target * m + i] += weight[2 * j + 1] * v;
                }
            }
            qml__free(weight);
            qml__free(pos);
            size_t before = ideals->count;
            status = split_block(algebra->n_threads, m, x, y, order, m, NULL, ideals, NULL, NULL, NULL);
            qml__free(x);
            qml__free(y);
            /* A component that is one simple ideal: its strings are its
             * basis, so its roots can be read off them (so(2r+1) or sp(r)). */
            lie_component *whole = ideals->count == before + 1 ? &ideals->items[before] : NULL;
            if (!status && whole && whole->dim == m && whole->rank >= 3 && m == whole->rank * (2 * whole->rank + 1)) {
                char *names = string_ideal_names(t, order, m, 1, m, whole->rank, true);
                if (!names) {
                    status = qml__oom("ideal names");
                    break;
                }
                qml__free(whole->names);
                whole->names = names;
            }
            continue;
        } else {
            /* Rank = size of a maximal set of commuting strings: a combination
             * commuting with every string of such a set has all its strings
             * commuting with the set, so the set spans a maximal abelian
             * subalgebra, i.e. a Cartan subalgebra of this compact ideal. */
            qubit_index cartan;
            if ((status = qindex_init(&cartan, n)))
                break;
            size_t nt = 0;
            for (size_t i = 0; i < m && !status; i++) {
                const uint64_t *ax = t->x + order[i] * words, *az = t->z + order[i] * words;
                if (qindex_anticommuting(&cartan, t, ax, az) == SIZE_MAX) {
                    status = qindex_add(&cartan, t, order[i]);
                    nt++;
                }
            }
            qindex_release(&cartan);
            if (status)
                break;
            c.rank = nt;
            if (!simple_shape(m, nt)) {
                bool split = false;
                status = split_by_symmetry(algebra, order, m, nt, ideals, &split);
                if (status)
                    break;
                if (split)
                    continue;
            }
        }
        c.dim = m;
        c.n_support = m;
        c.support = qml__malloc(m * sizeof *c.support);
        bool full = n < 32 && (uint64_t)m == (((uint64_t)1 << (2 * n)) - 1);
        bool exact = full;
        if (!exact && simple_shape(m, c.rank)) {
            /* a component is semisimple (no centre) with its rank exact:
             * simple when no sum of simple algebras has its shape */
            bool nonsimple = true, decided = false;
            status = nonsimple_exists(m, c.rank, &nonsimple, &decided);
            if (status)
                break;
            exact = decided && !nonsimple;
        }
        c.names = string_ideal_names(t, order, m, 1, m, c.rank, exact);
        if (exact)
            c.certificate = full ? QML_LIE_CERTIFICATE_FULL : QML_LIE_CERTIFICATE_SHAPE;
        if (!c.support || !c.names) {
            qml__lie_component_release(&c);
            status = qml__oom("a simple ideal");
            break;
        }
        memcpy(c.support, order, m * sizeof *order);
        status = ideal_push(ideals, &c);
    }
done:
    qindex_release(&gq);
    qml__free(parent);
    qml__free(gid);
    qml__free(sorted);
    qml__free(local);
    qml__free(slot);
    qml__free(r);
    qml__free(px);
    return status;
}

/* Coordinates (in the basis) of a sparse accumulator over string ids. */
void qml__lie_acc_coordinates(const qml_lie_algebra *algebra, const sparse_acc *acc, double *coords)
{
    for (size_t i = 0; i < acc->n_touched; i++) {
        size_t s = acc->touched[i];
        double v = acc->value[s];
        if (v == 0.0 || s >= algebra->head_capacity)
            continue;
        for (size_t e = algebra->head[s]; e != SIZE_MAX; e = algebra->node[e].next)
            coords[algebra->node[e].owner] += algebra->node[e].val * v;
    }
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
 * symmetric eigen-decomposition of -X^2 on all of g (split_block), and the
 * eigenvectors grouped into ideals, each group checked to be invariant
 * under every generator's sparse ad action. O(d^3) time (two half products
 * and one eigen-decomposition of d x d matrices), at most 5 d^2 doubles of
 * memory. */
static int structure_general(qml_lie_algebra *algebra, struct qml_rng *rng, ideal_list *ideals)
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
    status = split_block(algebra->n_threads, d, x, v, all, d, NULL, ideals, &ad, rng, &algebra->center);
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

/* Whether a compact simple Lie algebra has dimension `dim` and rank `rank`:
 * su(r+1) r(r+2), so(2r+1) and sp(r) r(2r+1), so(2r) r(2r-1) for r >= 3,
 * g2, f4, e6, e7, e8. so(4) = su(2) + su(2) (6, 2) is not simple. */
static bool simple_shape(size_t dim, size_t rank)
{
    size_t r = rank;
    if (r == 0)
        return false;
    if (dim == r * (r + 2) || dim == r * (2 * r + 1) || (r >= 3 && dim == r * (2 * r - 1)))
        return true;
    return (dim == 14 && r == 2) || (dim == 52 && r == 4) || (dim == 78 && r == 6) || (dim == 133 && r == 7) ||
           (dim == 248 && r == 8);
}

static void ideal_list_release(ideal_list *list)
{
    for (size_t j = 0; j < list->count; j++)
        qml__lie_component_release(&list->items[j]);
    qml__free(list->items);
    *list = (ideal_list){0};
}

/* A general algebra's ideal of shape (r(2r+1), r), r >= 3, that is spanned
 * by Pauli strings (its elements touch exactly dim strings; the closure of
 * sums often is, e.g. sums of the strings of sp(r)) gets its roots from those
 * strings as in string_root_type. Ideals that are not spanned by strings,
 * and algebras closed in orbit coordinates, keep "so(2r+1) or sp(r)". */
static int name_string_spanned(qml_lie_algebra *algebra, lie_component *c)
{
    size_t k = c->dim, r = c->rank;
    if (algebra->pure || algebra->orbit || r < 3 || k != r * (2 * r + 1) || !c->coords)
        return QML_OK;
    size_t n_strings = algebra->strings.count;
    double *weight = qml__calloc(n_strings + 1, sizeof *weight);
    double *column = qml__calloc(n_strings + 1, sizeof *column);
    size_t *ids = qml__malloc((k + 1) * sizeof *ids);
    if (!weight || !column || !ids) {
        qml__free(weight);
        qml__free(column);
        qml__free(ids);
        return qml__oom("the roots of an ideal");
    }
    /* weight[s] = sum over the ideal's orthonormal elements of their squared
     * coefficient on string s: the squared norm of s's projection onto the
     * ideal (1 iff s lies in it). The ideal is spanned by strings iff k
     * strings have weight 1. */
    for (size_t col = 0; col < k; col++) {
        memset(column, 0, n_strings * sizeof *column);
        for (size_t i = 0; i < c->n_support; i++) {
            double v = c->coords[i * k + col];
            if (v == 0.0)
                continue;
            size_t a = c->support[i];
            for (size_t e = algebra->start[a]; e < algebra->start[a + 1]; e++)
                column[algebra->col[e]] += v * algebra->val[e];
        }
        for (size_t sid = 0; sid < n_strings; sid++)
            weight[sid] += column[sid] * column[sid];
    }
    size_t n_in = 0;
    bool spanned = true;
    for (size_t sid = 0; sid < n_strings && spanned; sid++) {
        if (weight[sid] > 1.0 - 1e-6 && weight[sid] < 1.0 + 1e-6) {
            if (n_in < k)
                ids[n_in] = sid;
            n_in++;
        } else if (weight[sid] > 1e-6) {
            spanned = false; /* part of a string in the ideal, part outside */
        }
    }
    int status = QML_OK;
    int roots = ROOTS_UNKNOWN;
    if (spanned && n_in == k)
        status = string_root_type(&algebra->strings, ids, k, 1, r, &roots);
    if (!status && roots != ROOTS_UNKNOWN) {
        char *names = ideal_names_typed(k, r, true, roots);
        if (!names)
            status = qml__oom("ideal names");
        else {
            qml__free(c->names);
            c->names = names;
        }
    }
    qml__free(weight);
    qml__free(column);
    qml__free(ids);
    return status;
}

/* ---- algebras spanned by Pauli strings (any dimension) ------------------------ */

/* Tests only: 1 sends every general algebra through the string-spanned
 * analysis first (by default only those above LIE_GENERAL_DENSE_MAX). */
int qml__lie_spanned_always = 0;
int qml__lie_split_dense = 0;
size_t qml__lie_split_max_entries = LIE_SPLIT_MAX_ENTRIES;

/* The dimensions of the compact simple Lie algebras of rank r (the
 * classification: su(r+1) r(r+2), so(2r+1) and sp(r) r(2r+1), so(2r) r(2r-1)
 * for r >= 4, g2 14, f4 52, e6 78, e7 133, e8 248); returns how many. */
static size_t simple_dims(size_t r, size_t dims[4])
{
    size_t n = 0;
    dims[n++] = r * (r + 2);
    if (r >= 2)
        dims[n++] = r * (2 * r + 1);
    if (r >= 4)
        dims[n++] = r * (2 * r - 1);
    static const size_t exceptional[][2] = {{2, 14}, {4, 52}, {6, 78}, {7, 133}, {8, 248}};
    for (size_t i = 0; i < sizeof exceptional / sizeof exceptional[0]; i++)
        if (exceptional[i][0] == r)
            dims[n++] = exceptional[i][1];
    return n;
}

/* Whether some semisimple algebra with two or more simple ideals has
 * dimension `dim` and rank `rank`. A semisimple algebra of that dimension
 * and rank for which none does is simple: that is how the analysis below
 * certifies simplicity (so(144): rank 72, dimension 10296; su(4): 15 and
 * 3; not su(8): 63 and 7 are also so(11) + su(3)). A subset-sum over the
 * ranks with bitsets of dimensions: O(rank^2 dim / 64) word operations;
 * *decided = false (undecided) when that passes 2^28. */
static int nonsimple_exists(size_t dim, size_t rank, bool *exists, bool *decided)
{
    *exists = false;
    *decided = true;
    if (rank < 2)
        return QML_OK;
    size_t words = dim / 64 + 1;
    if ((double)rank * (double)rank * (double)words > 268435456.0) {
        *decided = false;
        return QML_OK;
    }
    /* any[r] = dimensions of the semisimple algebras of rank r (one or more ideals) */
    uint64_t *any = qml__calloc((rank + 1) * words, sizeof *any);
    if (!any)
        return qml__oom("the simplicity check");
    for (size_t r = 1; r <= rank; r++) {
        uint64_t *row = any + r * words;
        size_t dims[8];
        for (size_t a = 1; a <= r; a++) {
            size_t n = simple_dims(a, dims);
            for (size_t i = 0; i < n; i++) {
                size_t shift = dims[i];
                if (shift > dim)
                    continue;
                if (a == r) {
                    row[shift / 64] |= (uint64_t)1 << (shift % 64);
                    continue;
                }
                /* row |= any[r - a] << shift; at r == rank only for the answer */
                const uint64_t *src = any + (r - a) * words;
                size_t ws = shift / 64, bs = shift % 64;
                for (size_t w = words; w-- > ws;) {
                    uint64_t v = src[w - ws] << bs;
                    if (bs && w - ws >= 1)
                        v |= src[w - ws - 1] >> (64 - bs);
                    row[w] |= v;
                }
                if (r == rank && ((row[dim / 64] >> (dim % 64)) & 1u))
                    *exists = true;
            }
        }
    }
    qml__free(any);
    return QML_OK;
}

/* A basis element under construction: |group| strings with coefficients. */
typedef struct spanned_entry {
    size_t id;
    double val;
} spanned_entry;

typedef struct spanned_basis {
    size_t *start;        /* d + 2 */
    size_t *col;
    double *val;
    size_t dim, count, capacity;
} spanned_basis;

static int spanned_push(spanned_basis *b, const spanned_entry *e, size_t n)
{
    if (b->count + n > b->capacity) {
        size_t cap = b->capacity ? b->capacity : 256;
        while (cap < b->count + n)
            cap *= 2;
        size_t *col = qml__realloc(b->col, cap * sizeof *col);
        if (!col)
            return qml__oom("the string basis");
        b->col = col;
        double *val = qml__realloc(b->val, cap * sizeof *val);
        if (!val)
            return qml__oom("the string basis");
        b->val = val;
        b->capacity = cap;
    }
    for (size_t i = 0; i < n; i++) {
        b->col[b->count] = e[i].id;
        b->val[b->count++] = e[i].val;
    }
    b->start[++b->dim] = b->count;
    return QML_OK;
}

/* A component whose elements are basis elements [first, first + dim). */
static int spanned_ideal(const string_table *t, const size_t *members, size_t m, size_t n_group, size_t first,
                         size_t dim, size_t rank, bool checked, ideal_list *ideals)
{
    lie_component c = {0};
    c.dim = c.n_support = dim;
    c.rank = rank;
    c.support = qml__malloc((dim + 1) * sizeof *c.support);
    c.names = string_ideal_names(t, members, m, n_group, dim, rank, checked);
    c.certificate = checked ? QML_LIE_CERTIFICATE_SHAPE : QML_LIE_CERTIFICATE_NONE;
    if (!c.support || !c.names) {
        qml__lie_component_release(&c);
        return qml__oom("a simple ideal");
    }
    for (size_t i = 0; i < dim; i++)
        c.support[i] = first + i;
    return ideal_push(ideals, &c);
}

/* The structure of a general algebra that is spanned by Pauli strings, with
 * no dense matrix. It applies when the strings S on which the orthonormal
 * basis puts weight (sum over the basis of coefficient^2 > 1/2) number
 * exactly d = dim g, contain every generator term, and are closed under
 * the bracket with every term (-i[t, s] = +-2 s' with s' in S, or 0).
 * Then span S contains the generators and is invariant under their ad
 * actions, so it contains g, and has g's dimension: g = span S. (With an
 * exact dimension this is a proof; the weights only propose S.) So g is
 * the DLA of the single strings S, and its structure is that of a Pauli-
 * string algebra, decided combinatorially:
 * - components of the anticommutation graph of S (each string linked to the
 *   terms it anticommutes with: every string of S is a nested bracket of
 *   terms, so strings of different components commute) are commuting
 *   ideals; a string that commutes with every term is central;
 * - the rank of a component: the size of a maximal set of commuting
 *   strings, which spans a Cartan subalgebra (as in structure_pure);
 * - symmetries (split_by_symmetry): a group of 2^k strings Q commuting
 *   with the component and mapping its strings onto its strings splits it
 *   into 2^k ideals (1/2^k) sum_Q chi(Q) Q g; the group acts freely on
 *   the strings and on the Cartan set (a maximal commuting set is a union of
 *   its cosets), so each part has dimension m / 2^k and rank nt / 2^k;
 * - a part (semisimple: a component has no centre) is simple when no
 *   semisimple algebra with two or more ideals has its dimension and rank
 *   (nonsimple_exists); a part whose (dimension, rank) a simple algebra has
 *   but also a sum of several is named "(not checked to be simple)"; any
 *   other makes the structure unresolved (*valid = false).
 * On success the basis is replaced by one adapted to the ideals (each
 * element a string, or a character sum over a symmetry coset: orthonormal,
 * the same span), so every component is a range of basis elements and
 * costs no coordinates. Work O(d T) for T generator terms (plus the
 * symmetry search), memory O(d + strings met). */
static int structure_spanned(qml_lie_algebra *algebra, ideal_list *ideals, bool *applies, bool *valid)
{
    *applies = false;
    *valid = false;
    const string_table *t = &algebra->strings;
    unsigned words = t->words;
    size_t d = algebra->dim, N = t->count;
    if (algebra->pure || algebra->orbit || words > 8 || d == 0)
        return QML_OK;
    size_t n_terms = 0;
    for (size_t k = 0; k < algebra->n_generators; k++)
        n_terms += algebra->generators[k]->n_terms;
    int status = QML_OK;
    enum { MAX_K = 8 };
    size_t group_cap = (size_t)1 << MAX_K;
    double *weight = qml__calloc(N + 1, sizeof *weight);
    size_t *pos = qml__malloc((N + 1) * sizeof *pos);
    size_t *ids = qml__malloc((d + 1) * sizeof *ids);
    size_t *terms = qml__malloc((n_terms + 1) * sizeof *terms);
    unsigned char *is_term = qml__calloc(d + 1, 1);
    size_t *parent = qml__malloc((d + 1) * sizeof *parent);
    size_t *members = qml__malloc((d + 1) * sizeof *members);
    size_t *member_ids = qml__malloc((d + 1) * sizeof *member_ids);
    size_t *cartan = qml__malloc((d + 1) * sizeof *cartan);
    size_t *comp_terms = qml__malloc((n_terms + 1) * sizeof *comp_terms);
    unsigned char *seen = qml__calloc(d + 1, 1);
    spanned_entry *coset = qml__malloc((d + 1) * sizeof *coset);
    uint64_t *sx = qml__calloc(group_cap * words, sizeof *sx);
    uint64_t *sz = qml__calloc(group_cap * words, sizeof *sz);
    int *sign = qml__calloc(group_cap, sizeof *sign);
    spanned_entry *element = qml__malloc(group_cap * sizeof *element);
    spanned_basis nb = {0};
    nb.start = qml__calloc(d + 2, sizeof *nb.start);
    size_t *center = qml__malloc((d + 1) * sizeof *center);
    index_node *node = NULL;
    if (!weight || !pos || !ids || !terms || !is_term || !parent || !members || !member_ids || !cartan ||
        !comp_terms || !seen || !coset || !sx || !sz || !sign || !element || !nb.start || !center) {
        status = qml__oom("the structure of a string-spanned algebra");
        goto done;
    }
    /* S: the strings the basis weighs (weight[s] = the squared norm of the
     * projection of s onto g: 1 when s lies in g) */
    for (size_t e = 0; e < algebra->n_entries; e++)
        weight[algebra->col[e]] += algebra->val[e] * algebra->val[e];
    size_t m_all = 0;
    for (size_t s = 0; s < N; s++) {
        pos[s] = SIZE_MAX;
        if (weight[s] > 0.5) {
            if (m_all == d) {
                m_all++;
                break;
            }
            pos[s] = m_all;
            ids[m_all++] = s;
        }
    }
    if (m_all != d)
        goto done;
    /* the generator terms, each in S */
    size_t nt_all = 0;
    for (size_t k = 0; k < algebra->n_generators; k++) {
        const qml_pauli_sum *g = algebra->generators[k];
        for (size_t i = 0; i < g->n_terms; i++) {
            size_t id = qml__lie_table_find(t, g->x + i * words, g->z + i * words);
            if (id == SIZE_MAX || pos[id] == SIZE_MAX)
                goto done;
            if (!is_term[pos[id]]) {
                is_term[pos[id]] = 1;
                terms[nt_all++] = pos[id];
            }
        }
    }
    /* S closed under the bracket with every term; the links of the
     * anticommutation graph on the way */
    for (size_t i = 0; i < d; i++)
        parent[i] = i;
    for (size_t i = 0; i < d; i++) {
        const uint64_t *ax = t->x + ids[i] * words, *az = t->z + ids[i] * words;
        for (size_t j = 0; j < nt_all; j++) {
            const uint64_t *bx = t->x + ids[terms[j]] * words, *bz = t->z + ids[terms[j]] * words;
            if (!strings_anticommute(words, ax, az, bx, bz))
                continue;
            uint64_t px[8], pz[8];
            for (unsigned w = 0; w < words; w++) {
                px[w] = ax[w] ^ bx[w];
                pz[w] = az[w] ^ bz[w];
            }
            size_t id = qml__lie_table_find(t, px, pz);
            if (id == SIZE_MAX || pos[id] == SIZE_MAX)
                goto done;
            uf_union(parent, i, terms[j]);
        }
    }
    *applies = true;
    /* component sizes (count[root]) */
    size_t *count = members; /* reused below, after the sizes are read */
    memset(count, 0, (d + 1) * sizeof *count);
    for (size_t i = 0; i < d; i++)
        count[qml__uf_find(parent, i)]++;
    size_t n_center = 0;
    for (size_t i = 0; i < d; i++)
        if (count[i] == 1 && parent[i] == i)
            center[n_center++] = i;
    unsigned char *multi = seen; /* roots of components of two or more strings */
    for (size_t i = 0; i < d; i++)
        multi[i] = parent[i] == i && count[i] >= 2;
    /* new basis: the centre first */
    for (size_t c = 0; c < n_center && !status; c++) {
        spanned_entry e = {ids[center[c]], 1.0};
        status = spanned_push(&nb, &e, 1);
        center[c] = c;
    }
    bool ok = true;
    unsigned char *in_comp = is_term; /* re-used: 2 = member of the current component */
    for (size_t root = 0; root < d && !status && ok; root++) {
        if (!multi[root])
            continue;
        size_t m = 0, n_ct = 0;
        for (size_t i = root; i < d; i++)
            if (qml__uf_find(parent, i) == root) {
                members[m] = i;
                member_ids[m++] = ids[i];
            }
        for (size_t j = 0; j < nt_all; j++)
            if (qml__uf_find(parent, terms[j]) == root)
                comp_terms[n_ct++] = ids[terms[j]];
        for (size_t i = 0; i < m; i++)
            in_comp[members[i]] |= 2;
        /* rank: a maximal set of commuting strings */
        size_t nt = 0;
        for (size_t i = 0; i < m; i++)
            if (commutes_with_all(t, t->x + member_ids[i] * words, t->z + member_ids[i] * words, cartan, nt))
                cartan[nt++] = member_ids[i];
        /* symmetries: Q = P_0 R for R commuting with P_0, commuting with the
         * component's terms and mapping its strings onto its strings */
        size_t n_group = 1;
        sign[0] = 1;
        memset(sx, 0, words * sizeof *sx);
        memset(sz, 0, words * sizeof *sz);
        unsigned k = 0;
        const uint64_t *p0x = t->x + member_ids[0] * words, *p0z = t->z + member_ids[0] * words;
        for (size_t c = 1; c < m && k < MAX_K; c++) {
            const uint64_t *rx = t->x + member_ids[c] * words, *rz = t->z + member_ids[c] * words;
            if (strings_anticommute(words, p0x, p0z, rx, rz))
                continue;
            uint64_t qx[8], qz[8], px[8], pz[8];
            for (unsigned w = 0; w < words; w++) {
                qx[w] = p0x[w] ^ rx[w];
                qz[w] = p0z[w] ^ rz[w];
            }
            bool known = group_contains(words, sx, sz, n_group, qx, qz);
            bool commutes = true;
            for (size_t j = 0; j < n_ct && commutes && !known; j++)
                commutes = !strings_anticommute(words, qx, qz, t->x + comp_terms[j] * words, t->z + comp_terms[j] * words);
            if (known || !commutes)
                continue;
            bool maps = true;
            for (size_t i = 0; i < m && maps; i++) {
                for (unsigned w = 0; w < words; w++) {
                    px[w] = qx[w] ^ t->x[member_ids[i] * words + w];
                    pz[w] = qz[w] ^ t->z[member_ids[i] * words + w];
                }
                size_t id = qml__lie_table_find(t, px, pz);
                maps = id != SIZE_MAX && pos[id] != SIZE_MAX && (in_comp[pos[id]] & 2);
            }
            if (!maps)
                continue;
            n_group = group_double(words, sx, sz, sign, n_group, qx, qz);
            k++;
        }
        size_t part = m / n_group, part_rank = nt / n_group;
        ok = m % n_group == 0 && nt % n_group == 0 && simple_shape(part, part_rank);
        bool nonsimple = true, decided = false;
        if (ok)
            status = nonsimple_exists(part, part_rank, &nonsimple, &decided);
        if (!ok || status)
            break;
        bool checked = decided && !nonsimple;
        if (n_group == 1) {
            size_t first = nb.dim;
            for (size_t i = 0; i < m && !status; i++) {
                spanned_entry e = {member_ids[i], 1.0};
                status = spanned_push(&nb, &e, 1);
            }
            if (!status)
                status = spanned_ideal(t, member_ids, m, 1, first, m, nt, checked, ideals);
        } else {
            /* cosets S P: coset c holds entries [c * n_group, (c + 1) * n_group) */
            double norm = 1.0 / sqrt((double)n_group);
            size_t n_cosets = 0;
            for (size_t i = 0; i < m; i++)
                in_comp[members[i]] &= (unsigned char)~4u;
            for (size_t i = 0; i < m && ok; i++) {
                if (in_comp[members[i]] & 4)
                    continue;
                const uint64_t *ax = t->x + member_ids[i] * words, *az = t->z + member_ids[i] * words;
                for (size_t g = 0; g < n_group; g++) {
                    const uint64_t *gx = sx + g * words, *gz = sz + g * words;
                    uint64_t px[8], pz[8];
                    unsigned phase = strings_product_phase(words, gx, gz, ax, az); /* 0 or 2: commuting */
                    for (unsigned w = 0; w < words; w++) {
                        px[w] = gx[w] ^ ax[w];
                        pz[w] = gz[w] ^ az[w];
                    }
                    size_t id = qml__lie_table_find(t, px, pz); /* in the component: checked above */
                    in_comp[pos[id]] |= 4;
                    coset[n_cosets * n_group + g] = (spanned_entry){id, norm * sign[g] * (phase == 2u ? -1.0 : 1.0)};
                }
                n_cosets++;
            }
            for (size_t chi = 0; chi < n_group && !status; chi++) {
                size_t first = nb.dim;
                for (size_t c = 0; c < n_cosets && !status; c++) {
                    /* chi(g) = (-1)^{popcount(chi & g)}; entries in string-id order */
                    for (size_t g = 0; g < n_group; g++) {
                        spanned_entry e = coset[c * n_group + g];
                        if (popcount64(chi & g) & 1u)
                            e.val = -e.val;
                        size_t j = g;
                        while (j > 0 && element[j - 1].id > e.id) {
                            element[j] = element[j - 1];
                            j--;
                        }
                        element[j] = e;
                    }
                    status = spanned_push(&nb, element, n_group);
                }
                if (!status)
                    status = spanned_ideal(t, member_ids, m, n_group, first, part, part_rank, false, ideals);
                if (!status && checked) {
                    /* the name of a certified part loses "(not checked ...)" */
                    lie_component *c = &ideals->items[ideals->count - 1];
                    c->certificate = QML_LIE_CERTIFICATE_SHAPE;
                    char *names = string_ideal_names(t, member_ids, m, n_group, part, part_rank, true);
                    if (!names)
                        status = qml__oom("ideal names");
                    else {
                        qml__free(c->names);
                        c->names = names;
                    }
                }
            }
        }
        for (size_t i = 0; i < m; i++)
            in_comp[members[i]] = 0;
    }
    if (status || !ok)
        goto done;
    if (nb.dim != d || nb.count == 0)
        goto done; /* cannot happen (the parts partition S): unresolved, not wrong */
    node = qml__malloc(nb.count * sizeof *node);
    algebra->center.support = qml__malloc((n_center + 1) * sizeof *algebra->center.support);
    if (!node || !algebra->center.support) {
        status = qml__oom("the string basis");
        goto done;
    }
    algebra->center.dim = algebra->center.n_support = n_center;
    memcpy(algebra->center.support, center, n_center * sizeof *center);
    /* install the new basis and its inverse index */
    qml__free(algebra->start);
    qml__free(algebra->col);
    qml__free(algebra->val);
    qml__free(algebra->node);
    algebra->start = nb.start;
    algebra->col = nb.col;
    algebra->val = nb.val;
    algebra->node = node;
    algebra->n_entries = nb.count;
    algebra->entry_capacity = nb.count;
    algebra->element_capacity = d + 2;
    nb = (spanned_basis){0};
    node = NULL;
    for (size_t s = 0; s < algebra->head_capacity; s++)
        algebra->head[s] = SIZE_MAX;
    for (size_t a = 0; a < d; a++)
        for (size_t e = algebra->start[a]; e < algebra->start[a + 1]; e++) {
            size_t s = algebra->col[e];
            algebra->node[e] = (index_node){algebra->head[s], a, algebra->val[e]};
            algebra->head[s] = e;
        }
    algebra->spanned = true;
    *valid = true;
done:
    qml__free(weight);
    qml__free(pos);
    qml__free(ids);
    qml__free(terms);
    qml__free(is_term);
    qml__free(parent);
    qml__free(members);
    qml__free(member_ids);
    qml__free(cartan);
    qml__free(comp_terms);
    qml__free(seen);
    qml__free(coset);
    qml__free(sx);
    qml__free(sz);
    qml__free(sign);
    qml__free(element);
    qml__free(nb.start);
    qml__free(nb.col);
    qml__free(nb.val);
    qml__free(center);
    qml__free(node);
    return status;
}

int qml__lie_classify_tamper = 0;

static int dim_rank_cmp(const void *pa, const void *pb)
{
    const size_t *a = pa, *b = pb;
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    return a[1] < b[1] ? -1 : a[1] > b[1];
}

/* " (not checked to be simple)" off the end of a name, once certified. */
static void names_checked(char *names)
{
    static const char suffix[] = " (not checked to be simple)";
    size_t len = names ? strlen(names) : 0, sl = sizeof suffix - 1;
    if (len >= sl && !strcmp(names + len - sl, suffix))
        names[len - sl] = '\0';
}

/* The certificates of a Pauli-string algebra's ideals. Every ideal whose
 * shape admits no sum of simple algebras gets QML_LIE_CERTIFICATE_SHAPE.
 * Then the generators are classified without enumeration (lie_classify.c:
 * where a theorem decides every part; otherwise there is no such
 * certificate): when the centre dimension, the dimension and the multiset
 * of (dimension, rank) of the simple ideals agree with the enumerated ones,
 * each ideal is certified simple by the classification (a summand decided
 * by theorem is simple, and the enumerated ideals are invariant subspaces
 * that add up to g, so equal dimensions pair them one to one); when they do
 * not, the two methods disagree: *consistent = false and the message gives
 * both. */
static int certify_pure(qml_lie_algebra *algebra, ideal_list *list, bool *consistent)
{
    *consistent = true;
    for (size_t j = 0; j < list->count; j++) {
        lie_component *c = &list->items[j];
        if ((c->certificate & QML_LIE_CERTIFICATE_SHAPE) || !simple_shape(c->dim, c->rank))
            continue;
        bool nonsimple = true, decided = false;
        int status = nonsimple_exists(c->dim, c->rank, &nonsimple, &decided);
        if (status)
            return status;
        if (decided && !nonsimple)
            c->certificate |= QML_LIE_CERTIFICATE_SHAPE;
    }
    pauli_classification pc;
    int status = qml__pauli_classify_ex((const qml_pauli_sum *const *)algebra->generators, algebra->n_generators,
                                        algebra->n_qubits, 1, NULL, &pc);
    if (status == QML_ERR_LIMIT)
        return QML_OK; /* a part no theorem decides: no certificate from the classification */
    if (status)
        return status;
    if (qml__lie_classify_tamper && pc.n_ideals)
        pc.ideals[0].rank++;
    size_t count = list->count;
    size_t *pairs = qml__malloc((4 * count + 1) * sizeof *pairs);
    if (!pairs) {
        qml__pauli_classification_release(&pc);
        return qml__oom("the certificates of the simple ideals");
    }
    bool same = pc.n_ideals == count && pc.centre_dim == algebra->center.dim &&
                (algebra->dim >= ((size_t)1 << 53) || pc.dimension == (double)algebra->dim);
    for (size_t j = 0; j < count && same; j++) {
        pairs[2 * j] = list->items[j].dim;
        pairs[2 * j + 1] = list->items[j].rank;
        pairs[2 * count + 2 * j] = pc.ideals[j].dim;
        pairs[2 * count + 2 * j + 1] = pc.ideals[j].rank;
    }
    if (same) {
        qsort(pairs, count, 2 * sizeof *pairs, dim_rank_cmp);
        qsort(pairs + 2 * count, count, 2 * sizeof *pairs, dim_rank_cmp);
        same = !memcmp(pairs, pairs + 2 * count, 2 * count * sizeof *pairs);
    }
    qml__free(pairs);
    if (same) {
        for (size_t j = 0; j < count; j++) {
            list->items[j].certificate |= QML_LIE_CERTIFICATE_CLASSIFICATION;
            names_checked(list->items[j].names);
        }
    } else {
        *consistent = false;
        qml__buffer b = {0};
        qml__buffer_printf(&b, "the enumerated structure (dim %zu, centre %zu, ideals", algebra->dim,
                           algebra->center.dim);
        for (size_t j = 0; j < count && j < 8; j++)
            qml__buffer_printf(&b, " %zu:%zu", list->items[j].dim, list->items[j].rank);
        qml__buffer_printf(&b, "%s) does not match the classification of the generators (dim %.17g, centre %zu, "
                           "ideals", count > 8 ? " ..." : "", pc.dimension, pc.centre_dim);
        for (size_t j = 0; j < pc.n_ideals && j < 8; j++)
            qml__buffer_printf(&b, " %zu:%zu", pc.ideals[j].dim, pc.ideals[j].rank);
        qml__buffer_printf(&b, "%s; dim:rank): an internal inconsistency, please report it", pc.n_ideals > 8 ? " ..." : "");
        snprintf(algebra->structure_message, sizeof algebra->structure_message, "%s",
                 b.data && !b.failed ? b.data : "the enumerated structure does not match the classification");
        qml__buffer_release(&b);
    }
    qml__pauli_classification_release(&pc);
    return QML_OK;
}

/* Centre and simple ideals. The split uses random elements; a split that
 * leaves a component whose dimension and rank no simple algebra has (two
 * ideals whose parts the random elements could not tell apart) is redone
 * with other random elements, and if it stays so the structure is reported
 * unknown rather than wrong. */
int qml__lie_analyse_structure(qml_lie_algebra *algebra)
{
    algebra->structure_state = QML_LIE_STRUCTURE_UNRESOLVED;
    algebra->split_entries = 0;
    algebra->structure_message[0] = '\0';
    unsigned n = algebra->n_qubits;
    if (!algebra->pure && n < 32 && (uint64_t)algebra->dim == ((uint64_t)1 << (2 * n)) - 1) {
        /* dim = 4^n - 1: g is su(2^n) itself (lie.c's `full`), simple, with
         * the basis as its orthonormal basis; no analysis needed at any size. */
        lie_component c = {0};
        c.dim = c.n_support = algebra->dim;
        c.rank = ((size_t)1 << n) - 1;
        c.support = qml__malloc(c.dim * sizeof *c.support);
        c.names = ideal_names(c.dim, c.rank, true);
        c.certificate = QML_LIE_CERTIFICATE_FULL;
        algebra->ideals = qml__malloc(sizeof *algebra->ideals);
        if (!c.support || !c.names || !algebra->ideals) {
            qml__lie_component_release(&c);
            qml__free(algebra->ideals);
            algebra->ideals = NULL;
            return qml__oom("the structure of su(2^n)");
        }
        for (size_t i = 0; i < c.dim; i++)
            c.support[i] = i;
        algebra->ideals[0] = c;
        algebra->n_ideals = 1;
        algebra->structure_known = true;
        algebra->structure_state = QML_LIE_STRUCTURE_KNOWN;
        return QML_OK;
    }
    /* A floating-point basis that a rejected bracket left more than 1e-3
     * outside is not closed enough for the ad matrices to decompose (the
     * checks would fail every seed): reported unresolved at once. */
    if (!algebra->pure && algebra->largest_rejected > LIE_BASIS_OPEN)
        return QML_OK;
    ideal_list list = {0};
    bool valid = false;
    if (!algebra->pure &&
        (algebra->dim > LIE_GENERAL_DENSE_MAX || qml__lie_spanned_always || qml__lie_clusters_always)) {
        /* Spanned by Pauli strings: decided combinatorially at any
         * dimension. Otherwise above the cap the structure is reported not
         * computed (the documented limit of the dense analysis). */
        bool applies = false;
        qml__lie_component_release(&algebra->center);
        int status = QML_OK;
        if (algebra->dim > LIE_GENERAL_DENSE_MAX || qml__lie_spanned_always)
            status = structure_spanned(algebra, &list, &applies, &valid);
        if (status || !valid) {
            ideal_list_release(&list);
            qml__lie_component_release(&algebra->center);
        }
        if (status)
            return status;
        if (!valid && (algebra->dim > LIE_GENERAL_DENSE_MAX || qml__lie_clusters_always)) {
            /* commuting clusters of generators, each analysed on its own (lie_sums.c) */
            bool clustered = false, capped = false;
            status = qml__lie_structure_clusters(algebra, &clustered, &capped);
            if (status || clustered)
                return status;
            applies = applies && !capped;
        }
        if (!valid && algebra->dim > LIE_GENERAL_DENSE_MAX && applies)
            return QML_OK; /* a string component no simple algebra fits: unresolved */
        /* below the cap (tests): the dense analysis when this one did not decide;
         * above it: the iterative analysis (lie_krylov.c) */
    }
    bool krylov = !algebra->pure && (algebra->dim > LIE_GENERAL_DENSE_MAX || qml__lie_krylov_always);
    for (unsigned attempt = 0; attempt < 4 && !valid; attempt++) {
        struct qml_rng rng;
        qml__rng_init(&rng, LIE_SEED, attempt);
        ideal_list_release(&list);
        qml__lie_component_release(&algebra->center);
        bool checked = true, capped = false;
        int status = algebra->pure ? structure_pure(algebra, &rng, &list)
                     : krylov      ? qml__lie_structure_krylov(algebra, &rng, &list.count, &list.items, &checked, &capped)
                                   : structure_general(algebra, &rng, &list);
        if (status) {
            ideal_list_release(&list);
            return status;
        }
        if (capped) {
            algebra->structure_state = QML_LIE_STRUCTURE_ABOVE_CAP;
            return QML_OK;
        }
        valid = checked;
        /* the iterative analysis leaves a rank the dimension does not decide at 0 (not computed) */
        for (size_t j = 0; j < list.count && valid; j++)
            valid = simple_shape(list.items[j].dim, list.items[j].rank) || (krylov && !list.items[j].rank);
        for (size_t j = 0; j < list.count && valid; j++)
            if (!list.items[j].names && !(list.items[j].names = ideal_names(list.items[j].dim, list.items[j].rank, true))) {
                ideal_list_release(&list);
                qml__lie_component_release(&algebra->center);
                return qml__oom("ideal names");
            }
        /* A large Pauli-string component is not split (no random elements):
         * another attempt would give the same. */
        if (!valid && algebra->pure && algebra->dim > LIE_DENSE_MAX)
            break;
    }
    if (!valid) {
        ideal_list_release(&list);
        qml__lie_component_release(&algebra->center);
        if (algebra->pure && algebra->split_entries) {
            algebra->structure_state = QML_LIE_STRUCTURE_SPLIT_CAP;
            snprintf(algebra->structure_message, sizeof algebra->structure_message,
                     "the symmetry split of a Pauli-string component into simple ideals needs %zu sparse entries, "
                     "above the cap of %zu",
                     algebra->split_entries, algebra->split_cap);
        }
        return QML_OK; /* structure unknown, never a non-simple "simple ideal" */
    }
    if (algebra->pure) {
        bool consistent = true;
        int status = certify_pure(algebra, &list, &consistent);
        if (status || !consistent) {
            ideal_list_release(&list);
            qml__lie_component_release(&algebra->center);
            if (!status)
                algebra->structure_state = QML_LIE_STRUCTURE_INCONSISTENT;
            return status;
        }
    }
    /* order: decreasing dimension, ties in discovery order (stable insertion sort) */
    for (size_t i = 1; i < list.count; i++) {
        lie_component c = list.items[i];
        size_t j = i;
        while (j > 0 && list.items[j - 1].dim < c.dim) {
            list.items[j] = list.items[j - 1];
            j--;
        }
        list.items[j] = c;
    }
    for (size_t j = 0; j < list.count; j++) {
        int status = name_string_spanned(algebra, &list.items[j]);
        if (status) {
            ideal_list_release(&list);
            qml__lie_component_release(&algebra->center);
            return status;
        }
    }
    algebra->ideals = list.items;
    algebra->n_ideals = list.count;
    algebra->structure_known = true;
    algebra->structure_state = QML_LIE_STRUCTURE_KNOWN;
    return QML_OK;
}


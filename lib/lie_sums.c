/*
 * lie_sums.c: the structure of general (Pauli-sum) algebras above the dense
 * cap by commuting clusters of generators.
 *
 * Generators G_a, G_b with [G_a, G_b] = 0 lie in each other's centraliser.
 * Let the clusters be the connected components of the graph "[G_a, G_b] !=
 * 0" and g_c the closure of cluster c's generators. The centraliser of g_c'
 * is a subalgebra containing every generator of another cluster c, so it
 * contains g_c: [g_c, g_c'] = 0 (Jacobi). Hence sum_c g_c is a subalgebra of
 * g containing every generator, so it is g, and dim g <= sum_c dim g_c with
 * equality iff the sum is direct. When the dimensions add up, each g_c is an
 * ideal ([g_c, g] = [g_c, g_c]), the simple ideals of g are those of the
 * g_c, and the centre of g is the sum of their centres. Each g_c is closed
 * and analysed on its own (qml_lie_algebra_create: dense below the cap,
 * string-spanned, or its own clusters), so a cluster small enough for the
 * dense analysis is decided by it however large the other clusters are.
 *
 * The basis of g is then replaced by the concatenation of the clusters'
 * orthonormal bases, so that every ideal keeps its coordinates (shifted to
 * its cluster's range). That basis spans g (the sum is g) and is
 * orthonormal when no Pauli string carries weight in two clusters (checked:
 * derived algebras of commuting clusters are orthogonal, Tr(A [B, C]) =
 * Tr([A, B] C), but two centres need not be, e.g. Z0 beside Z0 + Z1);
 * otherwise the analysis falls back to the other paths.
 */
#include "lie_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int qml__lie_clusters_always = 0;

/* Coefficients of -i[G_a, G_b] at most this (the generators have unit norm)
 * count as zero: the closure's own acceptance tolerance is far above it. */
#define LIE_CLUSTER_COMMUTE_TOL 1e-12

/* Bit q of a mask of `words` words. */
static inline unsigned cl_bit(const uint64_t *m, unsigned q)
{
    return (unsigned)((m[q / 64] >> (q % 64)) & 1u);
}

/* A cluster's generator on its own qubits: qubit i of the copy is qubit
 * qubits[i] of g (so that idle qubits neither cost nor look like a
 * permutation symmetry to the cluster's closure). */
static int cl_gather(const qml_pauli_sum *g, const unsigned *qubits, unsigned m, qml_pauli_sum **out)
{
    *out = NULL;
    qml_pauli_sum *s = NULL;
    int status = qml_pauli_sum_create(&s, m);
    uint64_t x[4], z[4]; /* m <= 256 qubits: see the caller */
    for (size_t i = 0; i < g->n_terms && !status; i++) {
        memset(x, 0, sizeof x);
        memset(z, 0, sizeof z);
        const uint64_t *gx = g->x + i * g->words, *gz = g->z + i * g->words;
        for (unsigned b = 0; b < m; b++) {
            x[b / 64] |= (uint64_t)cl_bit(gx, qubits[b]) << (b % 64);
            z[b / 64] |= (uint64_t)cl_bit(gz, qubits[b]) << (b % 64);
        }
        status = qml__pauli_sum_add_masks(s, g->coeff[i], x, z);
    }
    if (status) {
        qml_pauli_sum_free(s);
        return status;
    }
    *out = s;
    return QML_OK;
}

typedef struct cl_entry {
    size_t id;
    double val;
} cl_entry;

static int cl_entry_cmp(const void *pa, const void *pb)
{
    const cl_entry *a = pa, *b = pb;
    return (a->id > b->id) - (a->id < b->id);
}

/* A component of a cluster's algebra moved into g: support shifted by
 * `offset`, coordinates copied. */
static int cl_component_copy(const lie_component *in, size_t offset, lie_component *out)
{
    memset(out, 0, sizeof *out);
    out->dim = in->dim;
    out->rank = in->rank;
    out->certificate = in->certificate; /* simplicity is intrinsic: a simple ideal of a
                                           direct summand is a simple ideal of g */
    out->n_support = in->n_support;
    out->support = qml__malloc((in->n_support + 1) * sizeof *out->support);
    if (in->coords)
        out->coords = qml__malloc(qml__mul_size(in->n_support * in->dim + 1, sizeof *out->coords));
    if (in->col_nnz) { /* sparse columns (a symmetry split of strings): rows are support positions */
        size_t entries = qml__mul_size(in->dim, in->col_nnz);
        out->col_nnz = in->col_nnz;
        out->rows = qml__malloc(qml__mul_size(entries + 1, sizeof *out->rows));
        out->vals = qml__malloc(qml__mul_size(entries + 1, sizeof *out->vals));
        if (out->rows && out->vals) {
            memcpy(out->rows, in->rows, entries * sizeof *out->rows);
            memcpy(out->vals, in->vals, entries * sizeof *out->vals);
        }
    }
    if (in->names) {
        size_t len = strlen(in->names);
        out->names = qml__malloc(len + 1);
        if (out->names)
            memcpy(out->names, in->names, len + 1);
    }
    if (!out->support || (in->coords && !out->coords) || (in->names && !out->names) ||
        (in->col_nnz && (!out->rows || !out->vals))) {
        qml__lie_component_release(out);
        return qml__oom("a simple ideal");
    }
    for (size_t i = 0; i < in->n_support; i++)
        out->support[i] = in->support[i] + offset;
    if (in->coords)
        memcpy(out->coords, in->coords, in->n_support * in->dim * sizeof *out->coords);
    return QML_OK;
}

/* The centre of g: the clusters' centres side by side (block-diagonal
 * coordinates; a centre without coordinates is its support's elements). */
static int cl_centre(qml_lie_algebra *const *sub, const size_t *offset, size_t n_clusters, lie_component *out)
{
    memset(out, 0, sizeof *out);
    size_t dim = 0, n_support = 0;
    bool dense = false;
    for (size_t c = 0; c < n_clusters; c++) {
        const lie_component *z = &sub[c]->center;
        if (z->dim == 0)
            continue;
        dim += z->dim;
        n_support += z->n_support;
        dense = dense || z->coords || z->n_support != z->dim;
    }
    if (dim == 0)
        return QML_OK;
    out->dim = dim;
    out->n_support = n_support;
    out->support = qml__malloc((n_support + 1) * sizeof *out->support);
    if (dense)
        out->coords = qml__calloc(qml__mul_size(n_support, dim) + 1, sizeof *out->coords);
    if (!out->support || (dense && !out->coords)) {
        qml__lie_component_release(out);
        return qml__oom("the centre");
    }
    size_t row = 0, col = 0;
    for (size_t c = 0; c < n_clusters; c++) {
        const lie_component *z = &sub[c]->center;
        if (z->dim == 0)
            continue;
        for (size_t i = 0; i < z->n_support; i++) {
            out->support[row + i] = z->support[i] + offset[c];
            if (!dense)
                continue;
            for (size_t j = 0; j < z->dim; j++)
                out->coords[(row + i) * dim + col + j] =
                    z->coords ? z->coords[i * z->dim + j] : (i == j ? 1.0 : 0.0);
        }
        row += z->n_support;
        col += z->dim;
    }
    return QML_OK;
}

/* Replace g's basis by the clusters' bases, one after the other (element
 * offset[c] + b = cluster c's element b), in g's string ids. *ok = false
 * (nothing changed) when a string is not in g's dictionary, carries weight
 * in two clusters, or an element is not of unit norm. */
static int cl_install_basis(qml_lie_algebra *algebra, qml_lie_algebra *const *sub, const unsigned *qubits,
                            const unsigned *n_local, size_t n_clusters, bool *ok)
{
    *ok = false;
    const string_table *t = &algebra->strings;
    unsigned words = algebra->words;
    size_t d = algebra->dim, N = t->count;
    int status = QML_OK;
    size_t *owner = qml__calloc(N + 1, sizeof *owner); /* cluster + 1 */
    uint64_t *sx = qml__calloc(2 * (size_t)words, sizeof *sx), *sz = sx ? sx + words : NULL;
    size_t *start = qml__malloc((d + 2) * sizeof *start);
    size_t *col = NULL;
    double *val = NULL;
    cl_entry *entries = NULL;
    size_t count = 0, capacity = 0, entry_capacity = 0, a = 0;
    bool good = true;
    if (!owner || !start || !sx) {
        status = qml__oom("the cluster basis");
        goto done;
    }
    start[0] = 0;
    for (size_t c = 0; c < n_clusters && good && !status; c++) {
        for (size_t b = 0; b < sub[c]->dim && good && !status; b++) {
            qml_pauli_sum *s = NULL;
            status = qml_lie_algebra_basis_element(sub[c], b, &s);
            if (status)
                break;
            if (s->n_terms > entry_capacity) {
                cl_entry *e = qml__realloc(entries, s->n_terms * sizeof *e);
                if (!e) {
                    qml_pauli_sum_free(s);
                    status = qml__oom("the cluster basis");
                    break;
                }
                entries = e;
                entry_capacity = s->n_terms;
            }
            double norm = 0;
            const unsigned *map = qubits + c * algebra->n_qubits;
            for (size_t i = 0; i < s->n_terms && good; i++) {
                memset(sx, 0, 2 * (size_t)words * sizeof *sx);
                const uint64_t *lx = s->x + i * s->words, *lz = s->z + i * s->words;
                for (unsigned bit = 0; bit < n_local[c]; bit++) {
                    sx[map[bit] / 64] |= (uint64_t)cl_bit(lx, bit) << (map[bit] % 64);
                    sz[map[bit] / 64] |= (uint64_t)cl_bit(lz, bit) << (map[bit] % 64);
                }
                size_t id = qml__lie_table_find(t, sx, sz);
                if (id == SIZE_MAX || (owner[id] && owner[id] != c + 1)) {
                    good = false;
                    break;
                }
                owner[id] = c + 1;
                entries[i] = (cl_entry){id, s->coeff[i]};
                norm += s->coeff[i] * s->coeff[i];
            }
            size_t n = s->n_terms;
            qml_pauli_sum_free(s);
            if (!good || fabs(norm - 1.0) > 1e-9) {
                good = false;
                break;
            }
            qsort(entries, n, sizeof *entries, cl_entry_cmp);
            if (count + n > capacity) {
                size_t cap = capacity ? capacity : 256;
                while (cap < count + n)
                    cap *= 2;
                size_t *c2 = qml__realloc(col, cap * sizeof *c2);
                if (c2)
                    col = c2;
                double *v2 = c2 ? qml__realloc(val, cap * sizeof *v2) : NULL;
                if (v2)
                    val = v2;
                if (!c2 || !v2) {
                    status = qml__oom("the cluster basis");
                    break;
                }
                capacity = cap;
            }
            for (size_t i = 0; i < n; i++) {
                col[count] = entries[i].id;
                val[count++] = entries[i].val;
            }
            start[++a] = count;
        }
    }
    if (status || !good || a != d || count == 0)
        goto done;
    status = qml__lie_install_basis(algebra, start, col, val, count, count);
    if (status)
        goto done;
    start = NULL;
    col = NULL;
    val = NULL;
    *ok = true;
done:
    qml__free(owner);
    qml__free(sx);
    qml__free(start);
    qml__free(col);
    qml__free(val);
    qml__free(entries);
    return status;
}

int qml__lie_structure_clusters(qml_lie_algebra *algebra, bool *applies, bool *capped)
{
    *applies = false;
    *capped = false;
    size_t K = algebra->n_generators;
    unsigned words = algebra->words;
    if (algebra->pure || algebra->orbit || K < 2 || algebra->dim == 0 || !algebra->head || words > 4)
        return QML_OK;
    int status = QML_OK;
    size_t *parent = qml__malloc(K * sizeof *parent);
    size_t *cluster_of = qml__malloc(K * sizeof *cluster_of);
    uint64_t *mask = qml__calloc(qml__mul_size(K, words) + 1, sizeof *mask);
    const qml_pauli_sum **members = qml__malloc(K * sizeof *members);
    qml_lie_algebra **sub = qml__calloc(K, sizeof *sub);
    size_t *offset = qml__calloc(K + 1, sizeof *offset);
    unsigned n = algebra->n_qubits;
    unsigned *qubits = qml__malloc(qml__mul_size(K, n) * sizeof *qubits + 1);
    unsigned *n_local = qml__calloc(K + 1, sizeof *n_local);
    qml_pauli_sum **local = qml__calloc(K + 1, sizeof *local);
    lie_component *ideals = NULL;
    size_t n_ideals = 0, n_clusters = 0;
    lie_component centre = {0};
    if (!parent || !cluster_of || !mask || !members || !sub || !offset || !qubits || !n_local || !local) {
        status = qml__oom("the commuting clusters");
        goto done;
    }
    /* the graph "[G_a, G_b] != 0": disjoint supports commute at no cost */
    for (size_t k = 0; k < K; k++) {
        parent[k] = k;
        const qml_pauli_sum *g = algebra->generators[k];
        for (size_t i = 0; i < g->n_terms; i++)
            for (unsigned w = 0; w < words; w++)
                mask[k * words + w] |= g->x[i * words + w] | g->z[i * words + w];
    }
    for (size_t a = 0; a < K && !status; a++)
        for (size_t b = a + 1; b < K && !status; b++) {
            size_t ra = qml__uf_find(parent, a), rb = qml__uf_find(parent, b);
            if (ra == rb)
                continue;
            bool overlap = false;
            for (unsigned w = 0; w < words && !overlap; w++)
                overlap = (mask[a * words + w] & mask[b * words + w]) != 0;
            if (!overlap)
                continue;
            int commute = 1;
            status = qml_pauli_sum_commutes(algebra->generators[a], algebra->generators[b], LIE_CLUSTER_COMMUTE_TOL,
                                            &commute);
            if (!status && !commute)
                parent[ra < rb ? rb : ra] = ra < rb ? ra : rb;
        }
    if (status)
        goto done;
    /* clusters in the order of their first generator */
    for (size_t k = 0; k < K; k++) {
        size_t r = qml__uf_find(parent, k);
        cluster_of[k] = r == k ? n_clusters++ : cluster_of[r];
    }
    if (n_clusters < 2)
        goto done;
    /* close and analyse each cluster on its own (the generators as given, so
     * that the exact closure reads their rational coefficients), with the
     * caller's options: its tolerance and exact mode decide the clusters'
     * dimensions as they did g's, and its progress callback sees the
     * clusters' closures and can cancel them (QML_ERR_CANCELLED) */
    qml_lie_options options = algebra->options;
    options.n_threads = algebra->n_threads;
    options.max_dim = 0; /* a cluster is no larger than g, which is closed */
    size_t total = 0;
    for (size_t c = 0; c < n_clusters && !status; c++) {
        /* the cluster's qubits: the union of its generators' supports */
        unsigned *map = qubits + c * n;
        for (unsigned q = 0; q < n; q++) {
            bool used = false;
            for (size_t k = 0; k < K && !used; k++)
                used = cluster_of[k] == c && cl_bit(mask + k * words, q);
            if (used)
                map[n_local[c]++] = q;
        }
        if (n_local[c] == 0)
            goto done; /* identity generators only: nothing to gain */
        size_t m = 0;
        for (size_t k = 0; k < K && !status; k++)
            if (cluster_of[k] == c) {
                status = cl_gather(algebra->originals[k], map, n_local[c], &local[m]);
                members[m] = local[m];
                m += status == QML_OK;
            }
        if (!status)
            status = qml_lie_algebra_create(&sub[c], members, m, &options);
        for (size_t k = 0; k < m; k++) {
            qml_pauli_sum_free(local[k]);
            local[k] = NULL;
        }
        if (status == QML_ERR_LIMIT) {
            qml_lie_algebra_free(sub[c]);
            sub[c] = NULL;
        }
        if (status)
            break;
        offset[c] = total;
        total += sub[c]->dim;
    }
    if (status)
        goto done;
    /* Directness by the dimension count; otherwise the clusters overlap (in
     * the centre) and the other paths decide. */
    if (total != algebra->dim)
        goto done;
    for (size_t c = 0; c < n_clusters; c++)
        if (!sub[c]->structure_known) {
            *capped = *capped || sub[c]->structure_state == QML_LIE_STRUCTURE_ABOVE_CAP;
            goto done;
        }
    for (size_t c = 0; c < n_clusters; c++)
        n_ideals += sub[c]->n_ideals;
    ideals = qml__calloc(n_ideals + 1, sizeof *ideals);
    if (!ideals) {
        status = qml__oom("the simple ideals");
        goto done;
    }
    size_t made = 0;
    for (size_t c = 0; c < n_clusters && !status; c++)
        for (size_t j = 0; j < sub[c]->n_ideals && !status; j++) {
            status = cl_component_copy(&sub[c]->ideals[j], offset[c], &ideals[made]);
            made += status == QML_OK;
        }
    if (!status)
        status = cl_centre(sub, offset, n_clusters, &centre);
    if (status)
        goto done;
    /* decreasing dimension, ties in cluster order (stable insertion sort) */
    for (size_t i = 1; i < n_ideals; i++) {
        lie_component c = ideals[i];
        size_t j = i;
        while (j > 0 && ideals[j - 1].dim < c.dim) {
            ideals[j] = ideals[j - 1];
            j--;
        }
        ideals[j] = c;
    }
    bool ok = false;
    status = cl_install_basis(algebra, sub, qubits, n_local, n_clusters, &ok);
    if (status || !ok)
        goto done;
    qml__lie_component_release(&algebra->center);
    algebra->center = centre;
    memset(&centre, 0, sizeof centre);
    algebra->ideals = ideals;
    algebra->n_ideals = n_ideals;
    ideals = NULL;
    n_ideals = 0;
    algebra->structure_known = true;
    algebra->structure_state = QML_LIE_STRUCTURE_KNOWN;
    algebra->clustered = true;
    *applies = true;
done:
    if (ideals)
        for (size_t j = 0; j < n_ideals; j++)
            qml__lie_component_release(&ideals[j]);
    qml__free(ideals);
    qml__lie_component_release(&centre);
    if (sub)
        for (size_t c = 0; c < n_clusters; c++)
            qml_lie_algebra_free(sub[c]);
    qml__free(sub);
    qml__free(offset);
    qml__free(qubits);
    qml__free(n_local);
    qml__free(local);
    qml__free(members);
    qml__free(mask);
    qml__free(cluster_of);
    qml__free(parent);
    return status;
}

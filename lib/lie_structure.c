/*
 * lie_structure.c: the structure of a closed algebra: centre, simple ideals,
 * ranks and names. The dispatcher picks the method; the methods live in
 * lie_structure_strings.c (Pauli strings, combinatorially),
 * lie_structure_dense.c (general algebras, densely), lie_sums.c (commuting
 * clusters), lie_sector.c (su(m) on a sector of basis states),
 * lie_krylov.c (general algebras, iteratively), lie_simple.c (shapes, roots,
 * names) and lie_certify.c (the certificates of string ideals).
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- structure -------------------------------------------------------------------- */

void qml__lie_uf_union(size_t *parent, size_t a, size_t b)
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

int qml__lie_ideal_push(ideal_list *list, lie_component *c)
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

void qml__lie_ideal_list_release(ideal_list *list)
{
    for (size_t j = 0; j < list->count; j++)
        qml__lie_component_release(&list->items[j]);
    qml__free(list->items);
    *list = (ideal_list){0};
}

int qml__lie_install_basis(qml_lie_algebra *algebra, size_t *start, size_t *col, double *val, size_t count,
                           size_t capacity)
{
    index_node *node = qml__malloc((count + 1) * sizeof *node);
    if (!node)
        return qml__oom("the new basis");
    size_t d = algebra->dim;
    qml__free(algebra->start);
    qml__free(algebra->col);
    qml__free(algebra->val);
    qml__free(algebra->node);
    algebra->start = start;
    algebra->col = col;
    algebra->val = val;
    algebra->node = node;
    algebra->n_entries = count;
    algebra->entry_capacity = capacity;
    algebra->element_capacity = d + 2;
    for (size_t s = 0; s < algebra->head_capacity; s++)
        algebra->head[s] = SIZE_MAX;
    /* each string's list newest element first, as the closure leaves it */
    for (size_t a = 0; a < d; a++)
        for (size_t e = start[a]; e < start[a + 1]; e++) {
            size_t s = col[e];
            node[e] = (index_node){algebra->head[s], a, val[e]};
            algebra->head[s] = e;
        }
    return QML_OK;
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

/* Tests only: 1 sends every general algebra through the string-spanned
 * analysis first (by default only those above LIE_GENERAL_DENSE_MAX). */
int qml__lie_spanned_always = 0;

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
        c.names = qml__lie_ideal_names(c.dim, c.rank, true);
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
            status = qml__lie_structure_spanned(algebra, &list, &applies, &valid);
        if (status || !valid) {
            qml__lie_ideal_list_release(&list);
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
    if (!valid && !algebra->pure && !qml__lie_sector_off && !qml__lie_krylov_always) {
        /* one ideal su(m) and a small centre, shown on a sector of m basis
         * states (lie_sector.c): m x m matrices instead of d x d, so tried
         * first at every dimension (it declines at once unless d is
         * m^2 - 1 + c with c <= 3) */
        qml__lie_ideal_list_release(&list);
        qml__lie_component_release(&algebra->center);
        bool decided = false;
        int status = qml__lie_structure_sector(algebra, &decided);
        if (status || decided)
            return status;
    }
    bool krylov = !algebra->pure && (algebra->dim > LIE_GENERAL_DENSE_MAX || qml__lie_krylov_always);
    for (unsigned attempt = 0; attempt < 4 && !valid; attempt++) {
        struct qml_rng rng;
        qml__rng_init(&rng, LIE_SEED, attempt);
        qml__lie_ideal_list_release(&list);
        qml__lie_component_release(&algebra->center);
        bool checked = true, capped = false;
        int status;
        if (algebra->pure)
            status = qml__lie_structure_pure(algebra, &rng, &list);
        else if (krylov)
            status = qml__lie_structure_krylov(algebra, &rng, &list.count, &list.items, &checked, &capped);
        else
            status = qml__lie_structure_general(algebra, &rng, &list);
        if (status) {
            qml__lie_ideal_list_release(&list);
            return status;
        }
        if (capped) {
            algebra->structure_state = QML_LIE_STRUCTURE_ABOVE_CAP;
            return QML_OK;
        }
        valid = checked;
        /* the iterative analysis leaves a rank the dimension does not decide at 0 (not computed) */
        for (size_t j = 0; j < list.count && valid; j++)
            valid = qml__lie_simple_shape(list.items[j].dim, list.items[j].rank) || (krylov && !list.items[j].rank);
        for (size_t j = 0; j < list.count && valid; j++) {
            lie_component *ideal = &list.items[j];
            if (!ideal->names && !(ideal->names = qml__lie_ideal_names(ideal->dim, ideal->rank, true))) {
                qml__lie_ideal_list_release(&list);
                qml__lie_component_release(&algebra->center);
                return qml__oom("ideal names");
            }
        }
        /* A large Pauli-string component is not split (no random elements):
         * another attempt would give the same. */
        if (!valid && algebra->pure && algebra->dim > LIE_DENSE_MAX)
            break;
    }
    if (!valid) {
        qml__lie_ideal_list_release(&list);
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
        int status = qml__lie_certify_pure(algebra, &list, &consistent);
        if (status || !consistent) {
            qml__lie_ideal_list_release(&list);
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
        int status = qml__lie_name_string_spanned(algebra, &list.items[j]);
        if (status) {
            qml__lie_ideal_list_release(&list);
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


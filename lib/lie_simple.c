/*
 * lie_simple.c: what a simple ideal is: the shapes (dimension, rank) of the
 * compact simple Lie algebras, the simplicity check by shape, so(2r+1)
 * against sp(r) by root lengths, and the names of ideals.
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether a compact simple Lie algebra has dimension `dim` and rank `rank`:
 * su(r+1) r(r+2), so(2r+1) and sp(r) r(2r+1), so(2r) r(2r-1) for r >= 3,
 * g2, f4, e6, e7, e8. so(4) = su(2) + su(2) (6, 2) is not simple. */
bool qml__lie_simple_shape(size_t dim, size_t rank)
{
    size_t r = rank;
    if (r == 0)
        return false;
    if (dim == r * (r + 2) || dim == r * (2 * r + 1) || (r >= 3 && dim == r * (2 * r - 1)))
        return true;
    return (dim == 14 && r == 2) || (dim == 52 && r == 4) || (dim == 78 && r == 6) || (dim == 133 && r == 7) ||
           (dim == 248 && r == 8);
}

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
int qml__lie_nonsimple_exists(size_t dim, size_t rank, bool *exists, bool *decided)
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

/* The names of the compact simple Lie algebras of dimension `dim` and rank
 * `rank` (su(r+1): r(r+2); so(2r+1), sp(r): r(2r+1); so(2r): r(2r-1); g2, f4,
 * e6, e7, e8), narrowed by a root-system verdict. */
char *qml__lie_ideal_names_typed(size_t dim, size_t rank, bool checked, int roots)
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

char *qml__lie_ideal_names(size_t dim, size_t rank, bool checked)
{
    return qml__lie_ideal_names_typed(dim, rank, checked, ROOTS_UNKNOWN);
}

/* Whether string (x, z) commutes with every string of `set` (ids). */
bool qml__lie_commutes_with_all(const string_table *t, const uint64_t *x, const uint64_t *z, const size_t *set,
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
int qml__lie_string_root_type(const string_table *t, const size_t *members, size_t m, size_t n_group, size_t rank,
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
        if (qml__lie_commutes_with_all(t, ax, az, cartan, nt))
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
char *qml__lie_string_ideal_names(const string_table *t, const size_t *members, size_t m, size_t n_group, size_t dim,
                                size_t rank, bool checked)
{
    int roots = ROOTS_UNKNOWN;
    if (rank >= 3 && dim == rank * (2 * rank + 1) && qml__lie_string_root_type(t, members, m, n_group, rank, &roots))
        return NULL; /* the callers report out of memory */
    return qml__lie_ideal_names_typed(dim, rank, checked, roots);
}

/* A general algebra's ideal of shape (r(2r+1), r), r >= 3, that is spanned
 * by Pauli strings (its elements touch exactly dim strings; the closure of
 * sums often is, e.g. sums of the strings of sp(r)) gets its roots from those
 * strings as in qml__lie_string_root_type. Ideals that are not spanned by strings,
 * and algebras closed in orbit coordinates, keep "so(2r+1) or sp(r)". */
int qml__lie_name_string_spanned(qml_lie_algebra *algebra, lie_component *c)
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
        status = qml__lie_string_root_type(&algebra->strings, ids, k, 1, r, &roots);
    if (!status && roots != ROOTS_UNKNOWN) {
        char *names = qml__lie_ideal_names_typed(k, r, true, roots);
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

/*
 * lie_classify.c: the DLA of single-Pauli-string generators without building
 * a basis where a theorem decides it, by the exact string closure otherwise:
 * qml_pauli_dla_classify().
 *
 * The decided case (milliseconds at any n): every qubit carries two different
 * single-qubit generators (two anticommuting strings on one qubit generate
 * su(2) there) and the generators acting on exactly two qubits connect all
 * qubits. A two-qubit string with su(2) on both its qubits generates su(4)
 * on the pair (its brackets with the local strings give all nine two-qubit
 * strings of that pair, the local ones the other six), and su(4) on the edges
 * of a connected graph generates su(2^n) (e.g. Lloyd 1995; Dodd, Nielsen,
 * Bremner, Thew 2002: any entangling two-body Hamiltonian with local control
 * is universal). Any further generator lies in su(2^n) already. Strings on
 * three or more qubits do not count as edges: with local su(2), Z0 Z1 Z2
 * generates only the odd-weight strings of its qubits, not su(8).
 *
 * Everything else is closed exactly (bit arithmetic on strings) up to a cap,
 * and read off the structure analysis; above the cap the call says so.
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Beyond this dimension the enumerating closure is not attempted. */
#define CLASSIFY_MAX_DIM ((size_t)1 << 22)

static size_t uf_root(size_t *parent, size_t a)
{
    while (parent[a] != a) {
        parent[a] = parent[parent[a]];
        a = parent[a];
    }
    return a;
}

/* The short name of a compact simple algebra of dimension `dim`, rank `r`. */
static void simple_name(char *out, size_t cap, size_t dim, size_t r)
{
    if (r >= 1 && dim == r * (r + 2)) {
        size_t m = r + 1;
        if (m >= 64 && (m & (m - 1)) == 0) {
            unsigned k = 0;
            while (((size_t)1 << k) < m)
                k++;
            snprintf(out, cap, "su(2^%u)", k);
        } else {
            snprintf(out, cap, "su(%zu)", m);
        }
    } else if (r >= 2 && dim == r * (2 * r + 1)) {
        snprintf(out, cap, "so(%zu)|sp(%zu)", 2 * r + 1, r);
    } else if (r >= 3 && dim == r * (2 * r - 1)) {
        snprintf(out, cap, "so(%zu)", 2 * r);
    } else if (dim == 14 && r == 2) {
        snprintf(out, cap, "g2");
    } else if (dim == 52 && r == 4) {
        snprintf(out, cap, "f4");
    } else if (dim == 78 && r == 6) {
        snprintf(out, cap, "e6");
    } else if (dim == 133 && r == 7) {
        snprintf(out, cap, "e7");
    } else if (dim == 248 && r == 8) {
        snprintf(out, cap, "e8");
    } else {
        snprintf(out, cap, "[dim %zu, rank %zu]", dim, r);
    }
}

/* Append "+ name" (or "k x name" runs) to the summary name, truncating with "...". */
static void name_append(char *name, size_t cap, const char *part, size_t times)
{
    size_t used = strlen(name);
    char piece[96];
    if (times > 1)
        snprintf(piece, sizeof piece, "%s%zu x %s", used ? " + " : "", times, part);
    else
        snprintf(piece, sizeof piece, "%s%s", used ? " + " : "", part);
    if (used + strlen(piece) + 4 >= cap) {
        if (used + 4 < cap && strcmp(name + (used >= 3 ? used - 3 : 0), "..."))
            strcat(name, " ...");
        return;
    }
    strcat(name, piece);
}

/* The decided case: su(2^n). 1 when it applies. */
static int universal_by_locality(const qml_pauli_sum *const *generators, size_t count, unsigned n, int *decided)
{
    *decided = 0;
    unsigned words = qml__pauli_words(n);
    /* per qubit: a bit per single-qubit letter seen (X 1, Y 2, Z 4) */
    unsigned char *letters = qml__calloc(n, 1);
    size_t *parent = qml__malloc(n * sizeof *parent);
    if (!letters || !parent) {
        qml__free(letters);
        qml__free(parent);
        return qml__oom("the Pauli-string classification");
    }
    for (unsigned q = 0; q < n; q++)
        parent[q] = q;
    for (size_t k = 0; k < count; k++) {
        const qml_pauli_sum *g = generators[k];
        unsigned support[2], weight = 0;
        for (unsigned w = 0; w < words && weight <= 2; w++) {
            uint64_t bits = g->x[w] | g->z[w];
            while (bits && weight <= 2) {
                unsigned b = 0;
                while (!((bits >> b) & 1u))
                    b++;
                bits &= bits - 1;
                if (weight < 2)
                    support[weight] = w * 64 + b;
                weight++;
            }
        }
        if (weight == 1) {
            unsigned q = support[0], w = q / 64, b = q % 64;
            unsigned bx = (unsigned)(g->x[w] >> b) & 1u, bz = (unsigned)(g->z[w] >> b) & 1u;
            letters[q] |= (unsigned char)(bx && !bz ? 1u : (bx && bz ? 2u : 4u));
        } else if (weight == 2) {
            size_t a = uf_root(parent, support[0]), b = uf_root(parent, support[1]);
            if (a != b)
                parent[a < b ? b : a] = a < b ? a : b;
        }
    }
    int ok = 1;
    for (unsigned q = 0; q < n && ok; q++) {
        unsigned l = letters[q];
        ok = (l & (l - 1)) != 0; /* at least two different letters */
        ok = ok && (n == 1 || uf_root(parent, q) == uf_root(parent, 0));
    }
    qml__free(letters);
    qml__free(parent);
    *decided = ok;
    return QML_OK;
}

int qml_pauli_dla_classify(const qml_pauli_sum *const *generators, size_t count, qml_dla_summary *summary)
{
    QML_CHECK_NULL(generators);
    QML_CHECK_NULL(summary);
    QML_CHECK_ARG(summary->size >= offsetof(qml_dla_summary, name) + sizeof summary->name,
                  "%s: summary->size is %zu; set it to sizeof(qml_dla_summary)", __func__, summary->size);
    QML_CHECK_ARG(count >= 1, "%s: count is 0; give at least one generator", __func__);
    unsigned n = 0;
    for (size_t k = 0; k < count; k++) {
        QML_CHECK_ARG(generators[k] != NULL, "%s: generator %zu is NULL", __func__, k);
        if (k == 0)
            n = generators[k]->n_qubits;
        QML_CHECK_ARG(generators[k]->n_qubits == n, "%s: generator %zu acts on %u qubits, generator 0 on %u",
                      __func__, k, generators[k]->n_qubits, n);
        QML_CHECK_ARG(generators[k]->n_terms == 0 || isfinite(generators[k]->coeff[0]),
                      "%s: generator %zu has a non-finite coefficient", __func__, k);
        if (generators[k]->n_terms != 1)
            return qml__error(QML_ERR_NOT_APPLICABLE,
                              "%s: generator %zu has %zu terms; the classification needs single Pauli strings "
                              "(use qml_lie_algebra_create for sums)",
                              __func__, k, generators[k]->n_terms);
        if (generators[k]->coeff[0] == 0.0)
            return qml__error(QML_ERR_NOT_APPLICABLE, "%s: generator %zu is zero", __func__, k);
    }
    qml_dla_summary s;
    memset(&s, 0, sizeof s);
    s.size = summary->size;
    int decided = 0;
    int status = universal_by_locality(generators, count, n, &decided);
    if (status)
        return status;
    if (decided) {
        /* dim su(2^n) = 4^n - 1 */
        s.log2_dimension = 2.0 * n + log2(1.0 - ldexp(1.0, -2 * (int)(n < 512 ? n : 512)));
        /* exact below 2^53; rounded above; infinite from n = 512 (log2_dimension holds it) */
        s.dimension = n < 27 ? ldexp(1.0, 2 * (int)n) - 1.0 : (n < 512 ? ldexp(1.0, 2 * (int)n) : (double)INFINITY);
        s.centre_dim = 0;
        s.n_components = 1;
        s.is_full = 1;
        if (n <= 5)
            snprintf(s.name, sizeof s.name, "su(%u)", 1u << n);
        else
            snprintf(s.name, sizeof s.name, "su(2^%u)", n);
    } else {
        qml_lie_algebra *algebra = NULL;
        qml_lie_options options = QML_LIE_OPTIONS_INIT;
        options.max_dim = CLASSIFY_MAX_DIM;
        status = qml_lie_algebra_create(&algebra, generators, count, &options);
        if (status == QML_ERR_LIMIT) {
            qml_lie_algebra_free(algebra);
            return qml__error(QML_ERR_LIMIT,
                              "%s: these strings do not meet the locality criterion for su(2^n), and their "
                              "algebra exceeds the enumeration cap of %zu elements",
                              __func__, CLASSIFY_MAX_DIM);
        }
        if (status)
            return qml__error_context(status, __func__);
        s.dimension = (double)algebra->dim;
        s.log2_dimension = algebra->dim ? log2((double)algebra->dim) : -(double)INFINITY;
        s.is_full = algebra->full;
        if (!algebra->structure_known) {
            qml_lie_algebra_free(algebra);
            return qml__error(QML_ERR_LIMIT, "%s: the structure of this algebra (dim %zu) was not resolved", __func__,
                              (size_t)s.dimension);
        }
        s.centre_dim = algebra->center.dim;
        s.n_components = algebra->n_ideals;
        /* names, runs of equal ideals (they come sorted by decreasing dimension) */
        for (size_t j = 0; j < algebra->n_ideals;) {
            size_t run = 1;
            while (j + run < algebra->n_ideals && algebra->ideals[j + run].dim == algebra->ideals[j].dim &&
                   algebra->ideals[j + run].rank == algebra->ideals[j].rank)
                run++;
            char part[64];
            simple_name(part, sizeof part, algebra->ideals[j].dim, algebra->ideals[j].rank);
            name_append(s.name, sizeof s.name, part, run);
            j += run;
        }
        if (s.centre_dim) {
            char part[32];
            if (s.centre_dim == 1)
                snprintf(part, sizeof part, "u(1)");
            else
                snprintf(part, sizeof part, "u(1)^%zu", s.centre_dim);
            name_append(s.name, sizeof s.name, part, 1);
        }
        if (!s.name[0])
            snprintf(s.name, sizeof s.name, "0");
        qml_lie_algebra_free(algebra);
    }
    size_t size = summary->size, copy = size < sizeof s ? size : sizeof s;
    memcpy(summary, &s, copy);
    summary->size = size;
    qml__ok();
    return QML_OK;
}

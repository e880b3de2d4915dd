/*
 * lie_classify.c: the DLA of single-Pauli-string generators without building
 * a basis where a theorem decides it, by the exact string closure of the
 * undecided part otherwise: qml_pauli_dla_classify().
 *
 * The generators are split into independent parts, each decided on its own:
 *
 * 1. Qubit clusters. Strings with disjoint supports commute, and every string
 *    of the closure of one cluster lives on that cluster's qubits and is not
 *    the identity, so the DLA is the direct sum of the clusters' DLAs.
 *
 * 2. Locality (su(2^m) on a cluster of m qubits). When every qubit carries
 *    two different single-qubit generators (two anticommuting strings on one
 *    qubit generate su(2) there), g is spanned by whole "supports": a string
 *    on support S in g brings every string on S (a bracket with a local
 *    Pauli changes one letter), and the bracket of the strings on supports A
 *    and B gives every string on (A xor B) + T for each odd-sized T inside
 *    A and B (letters equal on the rest of the overlap cancel; an odd number
 *    of differing letters is what makes them anticommute). Blocks of qubits
 *    with all their strings in g (su(2^|C|)) start as single qubits; a
 *    generator meeting exactly two blocks C1, C2 shrinks, by brackets with
 *    strings inside the blocks (B = A and C, T = one qubit), to a two-qubit
 *    support {x, y} across them, and from it and the blocks' own supports
 *    every support inside C1 + C2 is reached: the blocks merge into one
 *    (local control plus one entangling string is universal: Lloyd 1995;
 *    Dodd, Nielsen, Bremner, Thew 2002). Repeated until nothing merges; a
 *    cluster that ends as one block is su(2^m), whatever its further
 *    generators. HEA strings (X_q, Y_q, Z_q Z_q+1) merge in one pass, and so
 *    do the non-local strings that an HEA's rotations become when moved
 *    through CZ or CNOT ladders (Y_q Z_q-1 Z_q+1, ...). A generator meeting
 *    three or more blocks does not merge them by itself: with local su(2),
 *    Z0 Z1 Z2 generates only the odd-weight strings of its qubits, not su(8).
 *
 * 3. The frustration (anticommutation) graph. Its components generate
 *    commuting algebras, and their sum is direct when the components' spans
 *    in F_2^{2n} are independent (the cluster's rank, by Gaussian
 *    elimination, is the sum of theirs): the closures then lie in
 *    independent subspaces. For a component whose strings are linearly
 *    independent the Lie algebra is determined by its frustration graph alone
 *    (Aguilar, Cichy, Eisert, Bittel, "Full classification of Pauli Lie
 *    algebras", arXiv:2408.00081: independent generators with equal
 *    frustration graphs generate isomorphic algebras), and:
 *    - an isolated generator is a u(1) of the centre;
 *    - a component that is the line graph L(T) of a tree T with k edges is
 *      the frustration graph of the k Majorana bilinears g_a g_b on the edges
 *      (a, b) of T (two bilinears anticommute exactly when their edges share
 *      one end), which are independent and generate all bilinears of k + 1
 *      Majorana modes: so(k + 1), the free-fermion class of the theorem
 *      (e.g. the TFIM chain X_q, Z_q Z_q+1: a path of 2n - 1 vertices,
 *      so(2n)). The tree is built greedily from the graph and then verified
 *      edge by edge, so a wrong guess can only send the component to step 4,
 *      never give a wrong answer.
 *
 * 4. Everything else (components with dependent strings, clusters whose
 *    components' spans overlap, components of other graphs: the exponentially large classes of the theorem, so(2^m),
 *    sp(2^m), su(2^m) and their controlled copies) is closed exactly (bit
 *    arithmetic on strings) up to a cap and read off the structure analysis;
 *    above the cap the call reports that it did not decide.
 */
/*
 * Predictions: with a pauli_prediction attached (qml_pauli_dla_predict_variance),
 * every decided part also reports its g-purities of |0...0> and of the
 * observable, counted from its description (lie_classify_predict.c).
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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
    } else if (r == 2 && dim == 10) {
        snprintf(out, cap, "so(5)"); /* = sp(2) */
    } else if (r >= 3 && dim == r * (2 * r + 1)) {
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

#define NONE ((size_t)-1)

/* ---- result building ------------------------------------------------------------ */

typedef struct builder {
    pauli_classification *c;
    size_t cap;
    int no_closure;          /* undecided parts are reported (1: QML_ERR_LIMIT; 2: recorded, see
                                qml__pauli_classify_parts), not closed */
    pauli_prediction *pred;  /* NULL unless a prediction is collected */
    size_t parts_cap;        /* no_closure == 2: the capacity of c->parts */
} builder;

/* A new independent part, `first` one of its generators (recorded when
 * no_closure == 2). */
static int begin_part(builder *b, const qml_pauli_sum *first)
{
    pauli_classification *c = b->c;
    if (b->no_closure == 2) {
        if (c->n_parts == b->parts_cap) {
            size_t cap = b->parts_cap ? 2 * b->parts_cap : 8;
            pauli_part *grown = qml__realloc(c->parts, cap * sizeof *grown);
            if (!grown)
                return qml__oom("the Pauli-string classification");
            c->parts = grown;
            b->parts_cap = cap;
        }
        c->parts[c->n_parts] = (pauli_part){first, 0, 1};
    }
    c->n_parts++;
    return QML_OK;
}

static void add_dimension(pauli_classification *c, double dim, double log2_dim)
{
    c->dimension += dim;
    if (c->log2_dimension == -(double)INFINITY)
        c->log2_dimension = log2_dim;
    else {
        double hi = c->log2_dimension > log2_dim ? c->log2_dimension : log2_dim;
        double lo = c->log2_dimension > log2_dim ? log2_dim : c->log2_dimension;
        c->log2_dimension = hi + log2(1.0 + exp2(lo - hi));
    }
}

static int add_ideal(builder *b, pauli_ideal ideal)
{
    pauli_classification *c = b->c;
    if (c->n_ideals == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 8;
        pauli_ideal *grown = qml__realloc(c->ideals, cap * sizeof *grown);
        if (!grown)
            return qml__oom("the Pauli-string classification");
        c->ideals = grown;
        b->cap = cap;
    }
    ideal.part = c->n_parts ? c->n_parts - 1 : 0;
    c->ideals[c->n_ideals++] = ideal;
    add_dimension(c, ideal.dim ? (double)ideal.dim : exp2(ideal.log2_dim), ideal.log2_dim);
    return QML_OK;
}

static void add_centre(pauli_classification *c, size_t dim)
{
    if (!dim)
        return;
    c->centre_dim += dim;
    if (c->parts && c->n_parts)
        c->parts[c->n_parts - 1].centre_dim += dim;
    add_dimension(c, (double)dim, log2((double)dim));
}

/* su(2^m) of a cluster decided by locality. */
static int add_su_pow2(builder *b, unsigned m)
{
    pauli_ideal ideal = {0};
    ideal.su_log2 = m;
    ideal.log2_dim = 2.0 * m + log2(1.0 - ldexp(1.0, -2 * (int)(m < 512 ? m : 512)));
    ideal.dim = m < 32 ? ((size_t)1 << (2 * m)) - 1 : 0;
    ideal.rank = m < 64 ? (m ? ((size_t)1 << m) - 1 : 0) : 0;
    return add_ideal(b, ideal);
}

/* so(N) of a free-fermion component, as simple ideals (so(2) is central,
 * so(4) = su(2) + su(2)). */
static int add_so(builder *b, size_t N)
{
    if (N == 2) {
        add_centre(b->c, 1);
        return QML_OK;
    }
    pauli_ideal ideal = {0};
    if (N == 4) {
        ideal.dim = 3;
        ideal.rank = 1;
        ideal.log2_dim = log2(3.0);
        int status = add_ideal(b, ideal);
        return status ? status : add_ideal(b, ideal);
    }
    ideal.dim = N * (N - 1) / 2;
    ideal.rank = N / 2;
    ideal.log2_dim = log2((double)ideal.dim);
    ideal.so_n = N;
    return add_ideal(b, ideal);
}

/* so(2r+1) and sp(r) (r >= 3) share dimension and rank; the structure
 * analysis tells them apart by the root lengths of a string-spanned ideal
 * (see qml__lie_string_root_type in lie_simple.c) and then names exactly one of
 * them: keep that verdict, so that the summary's name is unambiguous. */
static void name_by_roots(pauli_ideal *ideal, const char *names)
{
    size_t r = ideal->rank;
    if (!names || r < 3 || ideal->dim != r * (2 * r + 1))
        return;
    char want[48];
    snprintf(want, sizeof want, "so(%zu)", 2 * r + 1);
    if (!strcmp(names, want)) {
        ideal->so_n = 2 * r + 1;
        return;
    }
    snprintf(want, sizeof want, "sp(%zu)", r);
    if (!strcmp(names, want))
        ideal->sp_r = r;
}

/* The exact closure of a part (step 4). */
static int close_part(builder *b, const qml_pauli_sum *const *generators, size_t count)
{
    if (b->no_closure == 2) {
        b->c->parts[b->c->n_parts - 1].decided = 0;
        return QML_OK;
    }
    if (b->no_closure)
        return qml__error(QML_ERR_LIMIT,
                          "qml_pauli_dla_classify: not decided without enumeration: %zu of these strings fall under "
                          "no criterion of the classification",
                          count);
    qml_lie_algebra *algebra = NULL;
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    /* the closure costs about dim x count brackets: bound that work too */
    size_t by_work = ((size_t)1 << 25) / count;
    options.max_dim = by_work < CLASSIFY_MAX_DIM ? (by_work > count ? by_work : count) : CLASSIFY_MAX_DIM;
    int status = qml_lie_algebra_create(&algebra, generators, count, &options);
    if (status == QML_ERR_LIMIT) {
        qml_lie_algebra_free(algebra);
        return qml__error(QML_ERR_LIMIT,
                          "qml_pauli_dla_classify: not decided: %zu of these strings fall under no criterion "
                          "that decides them without enumeration, and their algebra exceeds the enumeration cap "
                          "of %zu elements",
                          count, options.max_dim);
    }
    if (status)
        return status;
    b->c->n_closed++;
    if (!qml_lie_algebra_structure_known(algebra)) {
        size_t dim = qml_lie_algebra_dim(algebra);
        qml_lie_algebra_free(algebra);
        return qml__error(QML_ERR_LIMIT, "qml_pauli_dla_classify: the structure of a part of dim %zu was not resolved",
                          dim);
    }
    if (b->pred && (status = qml__lie_part_prediction(algebra, b->pred))) {
        qml_lie_algebra_free(algebra);
        return status;
    }
    add_centre(b->c, qml_lie_algebra_center_dim(algebra));
    size_t n_ideals = qml_lie_algebra_n_ideals(algebra);
    for (size_t j = 0; j < n_ideals && !status; j++) {
        pauli_ideal ideal = {0};
        const char *names = NULL;
        status = qml_lie_algebra_ideal(algebra, j, &ideal.dim, &ideal.rank, &names);
        if (!status) {
            ideal.log2_dim = log2((double)ideal.dim);
            name_by_roots(&ideal, names);
            status = add_ideal(b, ideal);
        }
    }
    qml_lie_algebra_free(algebra);
    return status;
}

/* ---- the frustration graph -------------------------------------------------------- */

/* The rank over F_2 of the vectors (x | z) of the listed strings (equal to
 * `count` when they are linearly independent). Each basis vector is kept with its lowest set bit as pivot, one
 * vector per pivot: a combination of basis vectors has the smallest of their
 * pivots as lowest bit, so a vector whose lowest bit is no pivot is outside
 * the span, and one whose lowest bit is a pivot is reduced by that vector
 * (which only changes higher bits). */
static int span_rank(const qml_pauli_sum *const *g, const size_t *list, size_t count, unsigned words, size_t *rank_out)
{
    size_t width = 2 * (size_t)words, bits = 64 * width;
    uint64_t *basis = qml__calloc(count ? count * width : 1, sizeof *basis);
    size_t *owner = qml__malloc(bits * sizeof *owner);
    size_t *end = qml__malloc((count ? count : 1) * sizeof *end); /* past each row's last non-zero word */
    uint64_t *v = qml__malloc(width * sizeof *v);
    if (!basis || !owner || !end || !v) {
        qml__free(basis);
        qml__free(owner);
        qml__free(end);
        qml__free(v);
        return qml__oom("the Pauli-string classification");
    }
    for (size_t b = 0; b < bits; b++)
        owner[b] = NONE;
    size_t rank = 0;
    for (size_t i = 0; i < count; i++) {
        memcpy(v, g[list[i]]->x, words * sizeof *v);
        memcpy(v + words, g[list[i]]->z, words * sizeof *v);
        size_t w = 0;
        for (;;) {
            while (w < width && !v[w])
                w++;
            if (w == width)
                break; /* reduced to zero: dependent */
            size_t p = w * 64 + lowest_bit64(v[w]);
            if (owner[p] == NONE) {
                memcpy(basis + rank * width, v, width * sizeof *v);
                size_t e = width;
                while (e > w && !v[e - 1])
                    e--;
                end[rank] = e;
                owner[p] = rank++;
                break;
            }
            const uint64_t *b = basis + owner[p] * width;
            for (size_t t = w; t < end[owner[p]]; t++)
                v[t] ^= b[t];
        }
    }
    qml__free(basis);
    qml__free(owner);
    qml__free(end);
    qml__free(v);
    *rank_out = rank;
    return QML_OK;
}

typedef struct graph {
    size_t *start; /* count + 1 */
    size_t *adj;
} graph;

/* The connected component of `start` in the graph, breadth first, into comp;
 * marks it in seen; returns its size. */
static size_t component_of(const graph *gr, size_t start, unsigned char *seen, size_t *comp)
{
    size_t k = 0;
    comp[k++] = start;
    seen[start] = 1;
    for (size_t h = 0; h < k; h++)
        for (size_t t = gr->start[comp[h]]; t < gr->start[comp[h] + 1]; t++)
            if (!seen[gr->adj[t]]) {
                seen[gr->adj[t]] = 1;
                comp[k++] = gr->adj[t];
            }
    return k;
}

static void graph_release(graph *gr)
{
    qml__free(gr->start);
    qml__free(gr->adj);
}

/* The frustration graph of the strings g[0..count): only pairs that share a
 * qubit can anticommute, so pairs are found through the per-qubit lists. */
static int frustration_graph(const qml_pauli_sum *const *g, size_t count, unsigned n, const size_t *sup_start,
                             const unsigned *sup, graph *out)
{
    unsigned words = qml__pauli_words(n);
    int status = QML_OK;
    size_t total = sup_start[count];
    size_t *inc_start = qml__calloc((size_t)n + 1, sizeof *inc_start);
    size_t *inc = qml__malloc((total ? total : 1) * sizeof *inc);
    size_t *fill = qml__calloc((size_t)n + 1, sizeof *fill);
    size_t *stamp = qml__malloc((count ? count : 1) * sizeof *stamp);
    size_t n_edges = 0, cap = 0, *edges = NULL;
    out->start = qml__calloc(count + 1, sizeof *out->start);
    out->adj = NULL;
    if (!inc_start || !inc || !fill || !stamp || !out->start) {
        status = qml__oom("the Pauli-string classification");
        goto done;
    }
    for (size_t i = 0; i < total; i++)
        inc_start[sup[i] + 1]++;
    for (unsigned q = 0; q < n; q++)
        inc_start[q + 1] += inc_start[q];
    for (size_t k = 0; k < count; k++)
        for (size_t e = sup_start[k]; e < sup_start[k + 1]; e++)
            inc[inc_start[sup[e]] + fill[sup[e]]++] = k;
    for (size_t k = 0; k < count; k++)
        stamp[k] = NONE;
    for (size_t i = 0; i < count; i++) {
        for (size_t e = sup_start[i]; e < sup_start[i + 1]; e++) {
            unsigned q = sup[e];
            for (size_t t = inc_start[q]; t < inc_start[q + 1]; t++) {
                size_t j = inc[t];
                if (j <= i || stamp[j] == i)
                    continue;
                stamp[j] = i;
                if (!strings_anticommute(words, g[i]->x, g[i]->z, g[j]->x, g[j]->z))
                    continue;
                if (n_edges == cap) {
                    size_t grown_cap = cap ? 2 * cap : 64;
                    size_t *grown = qml__realloc(edges, 2 * grown_cap * sizeof *grown);
                    if (!grown) {
                        status = qml__oom("the Pauli-string classification");
                        goto done;
                    }
                    edges = grown;
                    cap = grown_cap;
                }
                edges[2 * n_edges] = i;
                edges[2 * n_edges + 1] = j;
                n_edges++;
            }
        }
    }
    out->adj = qml__malloc((n_edges ? 2 * n_edges : 1) * sizeof *out->adj);
    if (!out->adj) {
        status = qml__oom("the Pauli-string classification");
        goto done;
    }
    for (size_t e = 0; e < n_edges; e++) {
        out->start[edges[2 * e] + 1]++;
        out->start[edges[2 * e + 1] + 1]++;
    }
    for (size_t k = 0; k < count; k++)
        out->start[k + 1] += out->start[k];
    for (size_t k = 0; k < count; k++)
        stamp[k] = 0;
    for (size_t e = 0; e < n_edges; e++) {
        size_t a = edges[2 * e], c = edges[2 * e + 1];
        out->adj[out->start[a] + stamp[a]++] = c;
        out->adj[out->start[c] + stamp[c]++] = a;
    }
done:
    qml__free(inc_start);
    qml__free(inc);
    qml__free(fill);
    qml__free(stamp);
    qml__free(edges);
    if (status) {
        graph_release(out);
        out->start = out->adj = NULL;
    }
    return status;
}

/* Whether the connected component comp[0..k) (k >= 2, in breadth-first
 * order from comp[0]) of the graph is the line graph of a tree. Greedy
 * construction of the tree: every vertex of the component is a tree edge
 * (ea, eb); a vertex met first from v shares one end with v (the end whose
 * other tree edges it is adjacent to) and brings a new end. Then the check
 * that the line graph of the tree is exactly the component: every graph edge
 * joins tree edges with a common end, and the number of graph edges equals
 * the number of line-graph edges, the sum over tree vertices of C(deg, 2)
 * (the tree has no parallel edges, so two tree edges share at most one end).
 * `local` (one entry per graph vertex) maps comp[i] to i. */
static int tree_line_graph(const graph *gr, const size_t *comp, size_t k, const size_t *local, int *result,
                           size_t **ea_out, size_t **eb_out)
{
    *result = 0;
    size_t *ea = qml__malloc(k * sizeof *ea), *eb = qml__malloc(k * sizeof *eb);
    size_t *first = qml__malloc((k + 1) * sizeof *first), *second = qml__malloc((k + 1) * sizeof *second);
    size_t *deg = qml__calloc(k + 1, sizeof *deg), *stamp = qml__malloc(k * sizeof *stamp);
    if (!ea || !eb || !first || !second || !deg || !stamp) {
        qml__free(ea);
        qml__free(eb);
        qml__free(first);
        qml__free(second);
        qml__free(deg);
        qml__free(stamp);
        return qml__oom("the Pauli-string classification");
    }
    for (size_t i = 0; i < k; i++) {
        ea[i] = eb[i] = NONE;
        stamp[i] = NONE;
    }
    for (size_t h = 0; h <= k; h++)
        first[h] = second[h] = NONE;
    size_t n_ends = 2;
    ea[0] = 0;
    eb[0] = 1;
    first[0] = first[1] = 0;
    deg[0] = deg[1] = 1;
    int ok = 1;
    for (size_t i = 0; i < k && ok; i++) {
        size_t v = comp[i];
        for (size_t t = gr->start[v]; t < gr->start[v + 1] && ok; t++) {
            size_t w = local[gr->adj[t]];
            if (ea[w] != NONE)
                continue;
            /* the neighbours of w, stamped */
            size_t gw = comp[w];
            for (size_t u = gr->start[gw]; u < gr->start[gw + 1]; u++)
                stamp[local[gr->adj[u]]] = w;
            size_t other_a = first[ea[i]] != i ? first[ea[i]] : second[ea[i]];
            size_t other_b = first[eb[i]] != i ? first[eb[i]] : second[eb[i]];
            size_t end;
            if (other_a != NONE)
                end = stamp[other_a] == w ? ea[i] : eb[i];
            else if (other_b != NONE)
                end = stamp[other_b] == w ? eb[i] : ea[i];
            else
                end = ea[i];
            if (n_ends > k) {
                ok = 0;
                break;
            }
            ea[w] = end;
            eb[w] = n_ends++;
            first[eb[w]] = w;
            deg[eb[w]] = 1;
            if (first[end] == NONE)
                first[end] = w;
            else if (second[end] == NONE)
                second[end] = w;
            deg[end]++;
        }
    }
    /* the check */
    size_t graph_edges = 0, line_edges = 0;
    for (size_t i = 0; i < k && ok; i++) {
        size_t v = comp[i];
        if (ea[i] == NONE) {
            ok = 0;
            break;
        }
        for (size_t t = gr->start[v]; t < gr->start[v + 1]; t++) {
            size_t w = local[gr->adj[t]];
            graph_edges++;
            if (ea[w] != ea[i] && ea[w] != eb[i] && eb[w] != ea[i] && eb[w] != eb[i]) {
                ok = 0;
                break;
            }
        }
    }
    for (size_t h = 0; h < n_ends && ok; h++)
        line_edges += deg[h] * (deg[h] - 1) / 2;
    *result = ok && n_ends == k + 1 && graph_edges == 2 * line_edges;
    if (*result && ea_out) { /* the tree's edges, for a prediction */
        *ea_out = ea;
        *eb_out = eb;
        ea = eb = NULL;
    }
    qml__free(ea);
    qml__free(eb);
    qml__free(first);
    qml__free(second);
    qml__free(deg);
    qml__free(stamp);
    return QML_OK;
}

/* A component whose frustration graph is a cycle s_0 - s_1 - ... - s_{k-1}
 * - s_0 (k >= 3: every vertex of degree 2), independent or with one
 * dependency among its strings (the periodic TFIM ring {X_q, Z_q Z_q+1 mod
 * n}, k = 2n, is the example). Let P be the product of all k strings: it
 * commutes with every s_i (s_i anticommutes with exactly two factors). A
 * product of a subset D of the strings is the identity only if it commutes
 * with all of them, so every s_i has an even number of neighbours in D:
 * D is all strings, or (k even) every other one. With rank k - 1 there is one
 * such D; leaving out a string v of D (rank k: any v) leaves a path of
 * independent strings, the line graph of a path with k - 1 edges: the
 * free-fermion so(k) of k Majorana modes (Aguilar et al., arXiv:2408.00081),
 * spanned by the strings Q of the bilinears g_a g_b. The product of the path
 * is the bilinear g_0 g_{k-1} = b in Q, and v = P b (up to a phase). So:
 * - P = 1 (D = all strings): v lies in Q and the algebra is so(k);
 * - otherwise the algebra is Q + P Q (P commutes with Q and P^2 = 1; the
 *   brackets of P b with Q give P times the ideal of so(k) generated by b,
 *   all of so(k)), and a + P b -> (a + b, a - b) maps it onto so(k) + so(k)
 *   when P Q and Q share no string. They share none when P is outside the
 *   span of the path (rank k); inside it (rank k - 1, D every other string),
 *   P is the product g_0 ... g_{k-1} of all modes (the only even monomial
 *   besides 1 that commutes with every bilinear), P g_a g_b has degree
 *   k - 2, and it is a bilinear exactly when k = 4: so(4) there, so(k) +
 *   so(k) for k >= 6. The ring is so(2n) + so(2n), dimension 2n(2n - 1)
 *   (its parity sectors: Jordan-Wigner maps the boundary bond to P g_{2n-1}
 *   g_0). Anything else (lower rank, odd k with P != 1, which the argument
 *   rules out) is left undecided: *decided = 0. */
static int cycle_decision(builder *b, const graph *gr, const qml_pauli_sum *const *g, const size_t *comp, size_t k,
                          size_t rank, unsigned words, int *decided)
{
    *decided = 0;
    if (k < 3 || rank + 1 < k)
        return QML_OK;
    for (size_t i = 0; i < k; i++)
        if (gr->start[comp[i] + 1] - gr->start[comp[i]] != 2)
            return QML_OK;
    int p_is_identity = 1;
    for (unsigned w = 0; w < words && p_is_identity; w++) {
        uint64_t x = 0, z = 0;
        for (size_t i = 0; i < k; i++) {
            x ^= g[comp[i]]->x[w];
            z ^= g[comp[i]]->z[w];
        }
        p_is_identity = !x && !z;
    }
    int status = QML_OK;
    if (rank == k) {
        status = add_so(b, k);
        if (!status)
            status = add_so(b, k);
    } else if (p_is_identity || k == 4) {
        status = add_so(b, k);
    } else if (k % 2 == 0) {
        status = add_so(b, k);
        if (!status)
            status = add_so(b, k);
    } else {
        return QML_OK;
    }
    if (!status)
        *decided = 1;
    return status;
}

/* ---- the quadratic-form criterion (so(2^m), sp(2^(m-1)), su(2^m) and their copies) ---- */

/* For k linearly independent strings s_i, V = F_2^k (their products, each
 * string a vector of coordinates), with w(u, v) = 1 when the products u
 * and v anticommute (the frustration graph's adjacency G as a bilinear
 * form) and the quadratic form q with q(s_i) = 1 and q(u + v) = q(u) + q(v)
 * + w(u, v). A bracket of two anticommuting strings u, v of q = 1 is the
 * string u + v, and q(u + v) = 1 + 1 + 1 = 1: every string of the DLA has
 * q = 1. It is never in the radical R of w (strings commuting with all of
 * V): u + v = r in R would make q(v) = q(u + r) = q(u) + q(r), so q(r) = 0.
 * Hence g is contained in L* = span{v in V \ R : q(v) = 1}, itself a Lie
 * algebra. Writing V = R + W (W a complement, w non-degenerate on it, dim
 * 2m), q restricted to R is linear:
 * - q = 0 on R: L* is 2^dim R copies of the span of the q = 1 vectors of W,
 *   so(2^m) when q has Arf invariant 0 (2^(2m-1) - 2^(m-1) of them) and
 *   sp(2^(m-1)) when it is 1 (2^(2m-1) + 2^(m-1));
 * - q != 0 on R: 2^(dim R - 1) copies of su(2^m) (for each w != 0 in W one
 *   of w, w + r has q = 1, r in R with q(r) = 1).
 * These are the non-free-fermion classes of Aguilar, Cichy, Eisert, Bittel
 * (arXiv:2408.00081, Theorem 1: the symplectic, antisymmetric and full
 * Pauli algebras and their controlled copies); the quadratic-space reading
 * follows Cuypers (arXiv:2603.08373).
 *
 * When g = L* is not taken from the theorem but proved here. Extension
 * lemma: let g(S) = L*(S), w of symplectic rank 2m >= 6 on V = span S, and
 * t a string outside V that anticommutes with some element of S; let
 * tau = w(., t) on V. Then g(S + t) = L*(S + t). Proof sketch: the targets
 * are (a) v + t with q(v) = tau(v), v + t outside the new radical, and (b)
 * r in R with q(r) = tau(r) = 1. (a1) [t, v] = v + t for v in L*(S) with
 * tau(v) = 1. (a2) For q(w') = tau(w') = 0: pick v outside R with q(v) = 1,
 * tau(v) = 1, w(v, w') = 0 and v + w' outside R; then u = v + w' is in
 * L*(S) and [v + t, u] = w' + t. Such v exist: the conditions cut an
 * affine subspace of codimension <= 2 (tau and w(., w') are independent or
 * w(., w') = 0; tau = w(., w') puts w' + t in the new radical), on which
 * the polar form keeps rank >= 2m - 4 >= 2, so q = 1 on at least
 * 2^(k-3)(1 - 2^(2-m)) > 2 |R| of its points, more than the 2 |R| excluded.
 * (a1') v in R, q(v) = tau(v) = 1: [y + t, v + y] = v + t with y outside R,
 * q(y) = tau(y) = 0 (from a2). (b) [v + t, v + r + t] = r for any v outside
 * R with q(v) = tau(v). So a prefix S0 of a connected ordering whose closure
 * (enumerated, exact) reaches dim L*(S0) with 2m >= 6 certifies the whole
 * component, one string at a time. Free-fermion components never certify
 * (their algebras are smaller than L*) and go to the other rules or the
 * closure. */

typedef struct quad_form {
    size_t m;       /* half the rank of w */
    size_t rho;     /* dim of the radical */
    int q_on_rad;   /* q is not zero on the radical */
    unsigned arf;   /* Arf invariant of q on a complement (meaningful when !q_on_rad) */
} quad_form;

/* The invariants of (w, q) on the span of the first j strings (G: the
 * frustration graph of B, rows of kw words), by symplectic elimination on
 * the Gram matrix A (initially G, q = 1 on every vector): for a pair a, b
 * with A[a][b] = 1, every other vector c becomes c' = c + A[c][b] a +
 * A[c][a] b, orthogonal to both, so A' = A + alpha beta^T + beta alpha^T
 * (alpha = column b, beta = column a) and q(c') = q(c) + alpha_c q(a) +
 * beta_c q(b) + alpha_c beta_c. Only the neighbours of a and b change: on
 * sparse graphs in breadth-first order this stays near O(k kw). A vector
 * left without neighbours is radical. Arf = sum of q(a) q(b) over the pairs. */
static int quad_invariants(const uint64_t *G, size_t kw, size_t j, quad_form *out)
{
    memset(out, 0, sizeof *out);
    uint64_t *A = qml__malloc((j * kw + 3 * kw + 1) * sizeof *A);
    unsigned char *qv = qml__malloc(j + 1);
    if (!A || !qv) {
        qml__free(A);
        qml__free(qv);
        return qml__oom("the Pauli-string classification");
    }
    uint64_t *alive = A + j * kw, *ra = alive + kw, *rb = ra + kw;
    memset(alive, 0, kw * sizeof *alive);
    for (size_t i = 0; i < j; i++) {
        alive[i / 64] |= (uint64_t)1 << (i % 64);
        qv[i] = 1;
    }
    for (size_t i = 0; i < j; i++)
        for (size_t w = 0; w < kw; w++)
            A[i * kw + w] = G[i * kw + w] & alive[w];
    for (size_t a = 0; a < j; a++) {
        if (!((alive[a / 64] >> (a % 64)) & 1u))
            continue;
        alive[a / 64] &= ~((uint64_t)1 << (a % 64));
        size_t b = NONE;
        for (size_t w = 0; w < kw && b == NONE; w++) {
            uint64_t bits = A[a * kw + w] & alive[w];
            if (bits)
                b = w * 64 + lowest_bit64(bits);
        }
        if (b == NONE) {
            out->rho++;
            if (qv[a])
                out->q_on_rad = 1;
            continue;
        }
        alive[b / 64] &= ~((uint64_t)1 << (b % 64));
        out->m++;
        out->arf ^= (unsigned)(qv[a] & qv[b]);
        for (size_t w = 0; w < kw; w++) {
            ra[w] = A[a * kw + w] & alive[w]; /* beta */
            rb[w] = A[b * kw + w] & alive[w]; /* alpha */
        }
        for (size_t w = 0; w < kw; w++) {
            uint64_t both = ra[w] | rb[w];
            while (both) {
                size_t c = w * 64 + lowest_bit64(both);
                both &= both - 1;
                unsigned beta = (unsigned)(ra[w] >> (c % 64)) & 1u, alpha = (unsigned)(rb[w] >> (c % 64)) & 1u;
                qv[c] ^= (unsigned char)((alpha & qv[a]) ^ (beta & qv[b]) ^ (alpha & beta));
                uint64_t *row = A + c * kw;
                if (alpha)
                    for (size_t t = 0; t < kw; t++)
                        row[t] ^= ra[t];
                if (beta)
                    for (size_t t = 0; t < kw; t++)
                        row[t] ^= rb[t];
            }
        }
    }
    qml__free(A);
    qml__free(qv);
    return QML_OK;
}

/* dim L* (as a double; exact while small). */
static double quad_dim(const quad_form *f)
{
    double m = (double)f->m, rho = (double)f->rho;
    if (f->q_on_rad)
        return exp2(rho - 1.0) * (exp2(2.0 * m) - 1.0);
    double sign = f->arf ? 1.0 : -1.0;
    return exp2(rho) * (exp2(2.0 * m - 1.0) + sign * exp2(m - 1.0));
}

/* Prefixes tried as seeds, and the largest seed algebra enumerated. */
#define QUAD_SEED_TRIES 6
#define QUAD_SEED_MAX_DIM 4096.0
/* Copies beyond this many are not listed (the call reports not decided). */
#define QUAD_MAX_RHO 16

/* Splits the component comp[0..k) (breadth-first order) into a basis B, the
 * strings independent of those before them, and the others, written as sums
 * of B (coordinates, kw words each, over B's indices): Gaussian elimination
 * with the lowest set bit as pivot, as span_rank, tracking combinations. */
typedef struct quad_basis {
    size_t nb;         /* |B| */
    size_t *member;    /* nb local indices */
    size_t nd;         /* dependent strings */
    uint64_t *coords;  /* nd x kw: their coordinates over B (earlier members only) */
    size_t *dep_pos;   /* nd positions in comp, increasing */
} quad_basis;

static void quad_basis_release(quad_basis *qb)
{
    qml__free(qb->member);
    qml__free(qb->coords);
    qml__free(qb->dep_pos);
    memset(qb, 0, sizeof *qb);
}

static int quad_split(const qml_pauli_sum *const *g, const size_t *comp, size_t k, unsigned words, size_t kw,
                      quad_basis *out)
{
    memset(out, 0, sizeof *out);
    size_t width = 2 * (size_t)words, bits = 64 * width;
    uint64_t *rows = qml__malloc(k * width * sizeof *rows + 1);
    uint64_t *combos = qml__calloc(k * kw + 1, sizeof *combos);
    size_t *owner = qml__malloc(bits * sizeof *owner);
    uint64_t *v = qml__malloc((width + kw) * sizeof *v);
    /* the non-zero word ranges of each row and combination: the strings of
     * a component are local, so rows and combinations are short */
    size_t *range = qml__malloc((3 * k + 1) * sizeof *range);
    out->member = qml__malloc(k * sizeof *out->member);
    out->coords = qml__malloc(k * kw * sizeof *out->coords + 1);
    out->dep_pos = qml__malloc(k * sizeof *out->dep_pos);
    if (!rows || !combos || !owner || !v || !range || !out->member || !out->coords || !out->dep_pos) {
        qml__free(rows);
        qml__free(combos);
        qml__free(owner);
        qml__free(v);
        qml__free(range);
        quad_basis_release(out);
        return qml__oom("the Pauli-string classification");
    }
    uint64_t *c = v + width;
    for (size_t bit = 0; bit < bits; bit++)
        owner[bit] = NONE;
    for (size_t i = 0; i < k; i++) {
        memcpy(v, g[comp[i]]->x, words * sizeof *v);
        memcpy(v + words, g[comp[i]]->z, words * sizeof *v);
        memset(c, 0, kw * sizeof *c);
        size_t w = 0;
        int dependent = 0;
        for (;;) {
            while (w < width && !v[w])
                w++;
            if (w == width) {
                dependent = 1;
                break;
            }
            size_t pivot = w * 64 + lowest_bit64(v[w]);
            if (owner[pivot] == NONE) {
                size_t beta = out->nb++;
                out->member[beta] = i;
                memcpy(rows + beta * width, v, width * sizeof *v);
                c[beta / 64] ^= (uint64_t)1 << (beta % 64);
                memcpy(combos + beta * kw, c, kw * sizeof *c);
                size_t e = width, lo = 0, hi = kw;
                while (e > w && !v[e - 1])
                    e--;
                while (lo < kw && !c[lo])
                    lo++;
                while (hi > lo && !c[hi - 1])
                    hi--;
                range[3 * beta] = e;
                range[3 * beta + 1] = lo;
                range[3 * beta + 2] = hi;
                owner[pivot] = beta;
                break;
            }
            size_t r = owner[pivot];
            for (size_t t = w; t < range[3 * r]; t++)
                v[t] ^= rows[r * width + t];
            for (size_t t = range[3 * r + 1]; t < range[3 * r + 2]; t++)
                c[t] ^= combos[r * kw + t];
        }
        if (dependent) {
            out->dep_pos[out->nd] = i;
            memcpy(out->coords + (out->nd++) * kw, c, kw * sizeof *c);
        }
    }
    qml__free(rows);
    qml__free(combos);
    qml__free(range);
    qml__free(owner);
    qml__free(v);
    return QML_OK;
}

/* The dimension of the algebra generated by the seed strings, enumerated
 * exactly in coordinates over the first nbj members of B (at most 2^nbj
 * strings; each string of the span is one coordinate vector): the span of
 * the right-nested brackets with the generators, a bracket of anticommuting
 * strings u, v being the string u + v. */
static int seed_closure_dim(const uint64_t *G, size_t kw, size_t nbj, const uint32_t *gens, size_t n_gens,
                            size_t *dim)
{
    size_t size = (size_t)1 << nbj;
    uint64_t *seen = qml__calloc(size / 64 + 1, sizeof *seen);
    uint32_t *queue = qml__malloc(size * sizeof *queue);
    uint32_t *rows = qml__malloc((nbj + 1) * sizeof *rows);
    if (!seen || !queue || !rows) {
        qml__free(seen);
        qml__free(queue);
        qml__free(rows);
        return qml__oom("the Pauli-string classification");
    }
    uint32_t mask = (uint32_t)(size - 1);
    for (size_t i = 0; i < nbj; i++)
        rows[i] = (uint32_t)G[i * kw] & mask;
    size_t count = 0;
    for (size_t i = 0; i < n_gens; i++) {
        uint32_t x = gens[i];
        if (x && !((seen[x / 64] >> (x % 64)) & 1u)) {
            seen[x / 64] |= (uint64_t)1 << (x % 64);
            queue[count++] = x;
        }
    }
    for (size_t h = 0; h < count; h++) {
        uint32_t x = queue[h];
        for (size_t i = 0; i < n_gens; i++) {
            uint32_t y = gens[i];
            unsigned parity = 0;
            for (uint32_t bits = x; bits; bits &= bits - 1)
                parity ^= popcount64((uint64_t)(rows[lowest_bit64(bits)] & y));
            uint32_t z = x ^ y;
            if ((parity & 1u) && z && !((seen[z / 64] >> (z % 64)) & 1u)) {
                seen[z / 64] |= (uint64_t)1 << (z % 64);
                queue[count++] = z;
            }
        }
    }
    qml__free(seen);
    qml__free(queue);
    qml__free(rows);
    *dim = count;
    return QML_OK;
}

static int quad_decision(builder *b, const graph *gr, const qml_pauli_sum *const *g, const size_t *comp, size_t k,
                         const size_t *local, unsigned words, int *decided)
{
    *decided = 0;
    if (k < 6)
        return QML_OK;
    size_t kw = (k + 63) / 64;
    quad_basis qb;
    int status = quad_split(g, comp, k, words, kw, &qb);
    if (status)
        return status;
    size_t nb = qb.nb;
    uint64_t *G = qml__calloc(nb * kw + 1, sizeof *G);
    size_t *to_basis = qml__malloc(k * sizeof *to_basis);
    if (!G || !to_basis) {
        status = qml__oom("the Pauli-string classification");
        goto done;
    }
    /* w on B: the frustration graph among B's strings (B keeps the
     * breadth-first order, so each member anticommutes with an earlier
     * string, which lies in the span of the earlier members) */
    for (size_t i = 0; i < k; i++)
        to_basis[i] = NONE;
    for (size_t beta = 0; beta < nb; beta++) {
        to_basis[qb.member[beta]] = beta;
    }
    for (size_t beta = 0; beta < nb; beta++) {
        size_t v = comp[qb.member[beta]];
        for (size_t t = gr->start[v]; t < gr->start[v + 1]; t++) {
            size_t other = to_basis[local[gr->adj[t]]];
            if (other != NONE)
                G[beta * kw + other / 64] |= (uint64_t)1 << (other % 64);
        }
    }
    /* A string in the span of B is not in its radical (it anticommutes with
     * a neighbour). With q = 1 it lies in L*(B) and adds nothing. With q = 0
     * (t) the algebra is S(V) = span(V \ R), every non-radical string: for
     * u outside R with q(u) = 0, d = u + t has q(d) = w(t, d), and y1 in
     * L*(B) with w(t, y1) = 1, w(d, y1) = q(d), y1 and d + y1 outside R
     * (an affine subspace of codimension <= 2: the count of the extension
     * lemma, m >= 3) gives y2 = d + y1 in L*(B) and [[t, y1], y2] = u;
     * radical strings are never brackets. That is 2^dim R copies of
     * su(2^m). The extension lemma holds for S(V) as well (same counts:
     * v + t from [t, v] when tau(v) = 1, else from [v' + t, v + v'] with
     * tau(v') = 1, w(v', v) = 0; r in R with tau(r) = 1 from [v + t, v + r
     * + t]; v + t, v in R, from [y + t, v + y] with tau(y) = 1 + tau(v)). So
     * the seed (a prefix of the breadth-first order, dependent strings
     * included) is certified against L* or S of its span, the members of B
     * after it extend it one by one, and the dependent strings after it
     * come last (each then anticommutes with a string of the span). */
    int all_strings = 0;
    unsigned char *dep_q = qml__malloc(qb.nd + 1);
    if (!dep_q) {
        status = qml__oom("the Pauli-string classification");
        goto done;
    }
    for (size_t d = 0; d < qb.nd; d++) {
        /* q = |c| + pairs inside c, the pairs from the (sparse) graph */
        const uint64_t *c = qb.coords + d * kw;
        size_t twice_pairs = 0, weight = 0;
        for (size_t w = 0; w < kw; w++) {
            uint64_t bits = c[w];
            while (bits) {
                size_t beta = w * 64 + lowest_bit64(bits);
                bits &= bits - 1;
                weight++;
                size_t v = comp[qb.member[beta]];
                for (size_t t = gr->start[v]; t < gr->start[v + 1]; t++) {
                    size_t other = to_basis[local[gr->adj[t]]];
                    twice_pairs += other != NONE && ((c[other / 64] >> (other % 64)) & 1u);
                }
            }
        }
        dep_q[d] = (unsigned char)((weight + twice_pairs / 2) & 1u);
        all_strings |= !dep_q[d];
    }
    int certified = 0, tries = 0;
    size_t nbj = 0, ndj = 0;
    for (size_t j = 1; j <= k && !certified && tries < QUAD_SEED_TRIES && !status; j++) {
        int seed_all = 0;
        if (ndj < qb.nd && qb.dep_pos[ndj] == j - 1)
            ndj++;
        else
            nbj++;
        for (size_t d = 0; d < ndj; d++)
            seed_all |= !dep_q[d];
        if (nbj < 6)
            continue;
        quad_form f;
        if ((status = quad_invariants(G, kw, nbj, &f)))
            break;
        if (f.m < 3)
            continue;
        double want = seed_all ? exp2((double)f.rho) * (exp2(2.0 * f.m) - 1.0) : quad_dim(&f);
        if (want > QUAD_SEED_MAX_DIM || nbj > 24)
            break;
        tries++;
        uint32_t *gens = qml__malloc(j * sizeof *gens);
        if (!gens) {
            status = qml__oom("the Pauli-string classification");
            break;
        }
        size_t n_gens = 0, beta = 0, d = 0;
        for (size_t i = 0; i < j; i++) {
            if (d < qb.nd && qb.dep_pos[d] == i)
                gens[n_gens++] = (uint32_t)qb.coords[(d++) * kw];
            else
                gens[n_gens++] = (uint32_t)1 << beta++;
        }
        size_t got = 0;
        status = seed_closure_dim(G, kw, nbj, gens, n_gens, &got);
        qml__free(gens);
        if (!status && (double)got == want)
            certified = 1;
    }
    qml__free(dep_q);
    quad_form f;
    if (status || !certified || (status = quad_invariants(G, kw, nb, &f)))
        goto done;
    if (f.rho > QUAD_MAX_RHO)
        goto done;
    size_t copies = (size_t)1 << (f.q_on_rad && !all_strings ? f.rho - 1 : f.rho);
    unsigned m = (unsigned)f.m;
    if (f.q_on_rad || all_strings) {
        for (size_t cpy = 0; cpy < copies && !status; cpy++)
            status = add_su_pow2(b, m);
    } else {
        pauli_ideal ideal = {0};
        double sign = f.arf ? 1.0 : -1.0;
        ideal.log2_dim = (2.0 * m - 1.0) + log2(1.0 + sign * exp2(-(double)m));
        if (2 * m < 64)
            ideal.dim = (size_t)(exp2(2.0 * m - 1.0) + sign * exp2(m - 1.0));
        ideal.rank = m - 1 < 64 ? (size_t)1 << (m - 1) : 0;
        if (f.arf)
            ideal.sp_log2 = m - 1;
        else
            ideal.so_log2 = m;
        for (size_t cpy = 0; cpy < copies && !status; cpy++)
            status = add_ideal(b, ideal);
    }
    if (!status) {
        *decided = 1;
        b->c->n_certified++;
        if (b->pred)
            status = qml__predict_quad(b->pred, g, comp, qb.member, nb, G, kw, words, m, f.rho, f.q_on_rad, f.arf,
                                       all_strings);
    }
done:
    quad_basis_release(&qb);
    qml__free(G);
    qml__free(to_basis);
    return status;
}

/* ---- the classification ----------------------------------------------------------- */

typedef struct hashed {
    uint64_t hash;
    size_t index;
} hashed;

static int hashed_cmp(const void *pa, const void *pb)
{
    const hashed *a = pa, *b = pb;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return a->index < b->index ? -1 : (a->index > b->index);
}

static int ideal_cmp(const void *pa, const void *pb)
{
    const pauli_ideal *a = pa, *b = pb;
    if (a->log2_dim != b->log2_dim)
        return a->log2_dim > b->log2_dim ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank > b->rank ? -1 : 1;
    if (a->so_n != b->so_n)
        return a->so_n > b->so_n ? -1 : 1;
    if (a->sp_r != b->sp_r)
        return a->sp_r > b->sp_r ? -1 : 1;
    if (a->so_log2 != b->so_log2)
        return a->so_log2 > b->so_log2 ? -1 : 1;
    if (a->sp_log2 != b->sp_log2)
        return a->sp_log2 > b->sp_log2 ? -1 : 1;
    return (a->su_log2 < b->su_log2) - (a->su_log2 > b->su_log2);
}

void qml__pauli_classification_release(pauli_classification *c)
{
    if (!c)
        return;
    qml__free(c->ideals);
    qml__free(c->parts);
    c->ideals = NULL;
    c->parts = NULL;
    c->n_ideals = 0;
}

/* The strings of `list` as a pointer array, closed exactly. */
static int close_list(builder *b, const qml_pauli_sum *const *g, const size_t *list, size_t count)
{
    const qml_pauli_sum **part = qml__malloc(count * sizeof *part);
    if (!part)
        return qml__oom("the Pauli-string classification");
    for (size_t i = 0; i < count; i++)
        part[i] = g[list[i]];
    int status = close_part(b, part, count);
    qml__free(part);
    return status;
}

int qml__pauli_classify(const qml_pauli_sum *const *generators, size_t count, unsigned n, pauli_classification *out)
{
    return qml__pauli_classify_ex(generators, count, n, 0, NULL, out);
}

int qml__pauli_classify_parts(const qml_pauli_sum *const *generators, size_t count, unsigned n,
                              pauli_classification *out)
{
    return qml__pauli_classify_ex(generators, count, n, 2, NULL, out);
}

int qml__pauli_classify_ex(const qml_pauli_sum *const *generators, size_t count, unsigned n, int no_closure,
                           pauli_prediction *pred, pauli_classification *out)
{
    memset(out, 0, sizeof *out);
    out->log2_dimension = -(double)INFINITY;
    builder b = {out, 0, no_closure, pred, 0};
    unsigned words = qml__pauli_words(n);
    int status = QML_OK;
    hashed *order = qml__malloc(count * sizeof *order);
    const qml_pauli_sum **g = qml__malloc(count * sizeof *g);
    size_t *qparent = qml__malloc(((size_t)n + 1) * sizeof *qparent);
    size_t *eparent = qml__malloc(((size_t)n + 1) * sizeof *eparent);
    unsigned char *letters = qml__calloc((size_t)n + 1, 1);
    size_t *sup_start = qml__calloc(count + 1, sizeof *sup_start);
    unsigned *sup = NULL;
    size_t *cl_count = qml__calloc((size_t)n + 1, sizeof *cl_count);
    size_t *cl_start = qml__calloc((size_t)n + 2, sizeof *cl_start);
    unsigned char *cl_ok = qml__malloc((size_t)n + 1);
    size_t *members = qml__malloc(count * sizeof *members);
    size_t *fill = qml__calloc((size_t)n + 1, sizeof *fill);
    size_t *local = qml__malloc(count * sizeof *local);
    unsigned char *seen = qml__calloc(count, 1);
    size_t *comp = qml__malloc(count * sizeof *comp);
    graph gr = {NULL, NULL};
    size_t *qroot = NULL; /* the cluster root of every qubit, for a prediction */
    if (!order || !g || !qparent || !eparent || !letters || !sup_start || !cl_count || !cl_start || !cl_ok ||
        !members || !fill || !local || !seen || !comp) {
        status = qml__oom("the Pauli-string classification");
        goto done;
    }
    /* distinct strings (a repeated string adds nothing); the identity is left to the closure */
    int has_identity = 0;
    for (size_t k = 0; k < count; k++) {
        order[k].hash = string_hash(words, generators[k]->x, generators[k]->z);
        order[k].index = k;
        int zero = 1;
        for (unsigned w = 0; w < words && zero; w++)
            zero = !generators[k]->x[w] && !generators[k]->z[w];
        has_identity |= zero;
    }
    if (has_identity) {
        status = begin_part(&b, generators[0]);
        if (!status)
            status = close_part(&b, generators, count);
        goto done;
    }
    qsort(order, count, sizeof *order, hashed_cmp);
    size_t m = 0;
    for (size_t k = 0; k < count; k++) {
        const qml_pauli_sum *s = generators[order[k].index];
        int repeat = 0;
        for (size_t j = k; j > 0 && order[j - 1].hash == order[k].hash && !repeat; j--) {
            const qml_pauli_sum *t = generators[order[j - 1].index];
            repeat = !memcmp(s->x, t->x, words * sizeof *s->x) && !memcmp(s->z, t->z, words * sizeof *s->z);
        }
        if (!repeat)
            g[m++] = s;
    }
    /* supports */
    for (size_t k = 0; k < m; k++) {
        size_t weight = 0;
        for (unsigned w = 0; w < words; w++)
            weight += popcount64(g[k]->x[w] | g[k]->z[w]);
        sup_start[k + 1] = sup_start[k] + weight;
    }
    sup = qml__malloc((sup_start[m] ? sup_start[m] : 1) * sizeof *sup);
    if (!sup) {
        status = qml__oom("the Pauli-string classification");
        goto done;
    }
    for (size_t k = 0; k < m; k++) {
        size_t e = sup_start[k];
        for (unsigned w = 0; w < words; w++) {
            uint64_t bits = g[k]->x[w] | g[k]->z[w];
            while (bits) {
                unsigned bit = lowest_bit64(bits);
                bits &= bits - 1;
                sup[e++] = w * 64 + bit;
            }
        }
    }
    /* qubit clusters (qparent) and local letters */
    for (unsigned q = 0; q <= n; q++)
        qparent[q] = eparent[q] = q;
    for (size_t k = 0; k < m; k++) {
        size_t weight = sup_start[k + 1] - sup_start[k];
        const unsigned *s = sup + sup_start[k];
        for (size_t e = 1; e < weight; e++) {
            size_t a = uf_root(qparent, s[0]), c = uf_root(qparent, s[e]);
            if (a != c)
                qparent[a < c ? c : a] = a < c ? a : c;
        }
        if (weight == 1) {
            unsigned q = s[0], w = q / 64, bit = q % 64;
            unsigned bx = (unsigned)(g[k]->x[w] >> bit) & 1u, bz = (unsigned)(g[k]->z[w] >> bit) & 1u;
            letters[q] |= (unsigned char)(bx && !bz ? 1u : (bx && bz ? 2u : 4u));
        }
    }
    /* Blocks with su on them (eparent): a string that meets exactly two
     * blocks joins them; repeated until nothing changes (see the header:
     * the support calculus under local su(2)). */
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t k = 0; k < m; k++) {
            size_t weight = sup_start[k + 1] - sup_start[k];
            const unsigned *s = sup + sup_start[k];
            if (weight < 2)
                continue;
            size_t first = uf_root(eparent, s[0]), second = NONE;
            int more = 0;
            for (size_t e = 1; e < weight && !more; e++) {
                size_t r = uf_root(eparent, s[e]);
                if (r == first || r == second)
                    continue;
                if (second == NONE)
                    second = r;
                else
                    more = 1;
            }
            if (!more && second != NONE) {
                eparent[first < second ? second : first] = first < second ? first : second;
                changed = 1;
            }
        }
    }
    /* the locality criterion per cluster: root -> ok, and its qubit count */
    for (unsigned q = 0; q < n; q++)
        cl_ok[q] = 1;
    for (size_t k = 0; k < m; k++)
        for (size_t e = sup_start[k]; e < sup_start[k + 1]; e++)
            cl_count[sup[e]] = 1; /* qubit in use */
    {
        size_t *edge_rep = fill; /* per cluster root: edge root of its first qubit, plus 1 */
        for (unsigned q = 0; q < n; q++) {
            if (!cl_count[q])
                continue;
            size_t r = uf_root(qparent, q);
            unsigned l = letters[q];
            if ((l & (l - 1)) == 0)
                cl_ok[r] = 0; /* fewer than two different local letters */
            size_t er = uf_root(eparent, q) + 1;
            if (!edge_rep[r])
                edge_rep[r] = er;
            else if (edge_rep[r] != er)
                cl_ok[r] = 0; /* two-qubit strings do not connect the cluster */
        }
        for (unsigned q = 0; q < n; q++)
            edge_rep[q] = 0;
    }
    size_t *qubits = fill; /* qubits per cluster root */
    for (unsigned q = 0; q < n; q++)
        if (cl_count[q])
            qubits[uf_root(qparent, q)]++;
    /* generators per cluster (counting sort by root) */
    for (size_t k = 0; k < m; k++)
        cl_start[uf_root(qparent, sup[sup_start[k]]) + 1]++;
    for (unsigned q = 0; q <= n; q++)
        cl_start[q + 1] += cl_start[q];
    for (unsigned q = 0; q <= n; q++)
        cl_count[q] = 0;
    for (size_t k = 0; k < m; k++) {
        size_t r = uf_root(qparent, sup[sup_start[k]]);
        members[cl_start[r] + cl_count[r]++] = k;
    }
    /* the frustration graph, unless every cluster is decided by locality */
    int graph_needed = 0;
    for (unsigned r = 0; r < n && !graph_needed; r++)
        graph_needed = cl_start[r + 1] > cl_start[r] && !cl_ok[r];
    if (graph_needed && (status = frustration_graph(g, m, n, sup_start, sup, &gr)))
        goto done;
    for (size_t k = 0; k < m; k++)
        seen[k] = 0;
    if (pred) {
        qroot = qml__malloc(((size_t)n + 1) * sizeof *qroot);
        if (!qroot) {
            status = qml__oom("a prediction from the classification");
            goto done;
        }
        for (unsigned q = 0; q < n; q++)
            qroot[q] = uf_root(qparent, q);
    }
    for (unsigned r = 0; r < n && !status; r++) {
        size_t k0 = cl_start[r], kc = cl_start[r + 1] - k0;
        if (!kc)
            continue;
        if (cl_ok[r]) {
            if ((status = begin_part(&b, g[members[k0]])))
                break;
            status = add_su_pow2(&b, (unsigned)qubits[r]);
            if (pred)
                qml__predict_su(pred, qroot, r, (unsigned)qubits[r], words);
            continue;
        }
        /* The components of the frustration graph are direct summands when
         * their spans are independent (the cluster's rank is the sum of
         * theirs): their closures then lie in independent subspaces of
         * F_2^{2n} and commute. Otherwise the cluster is closed as a whole. */
        size_t cluster_rank = 0, sum_of_ranks = 0;
        status = span_rank(g, members + k0, kc, words, &cluster_rank);
        for (size_t i = 0; i < kc && !status && cluster_rank < kc; i++) {
            size_t start = members[k0 + i];
            if (seen[start])
                continue;
            size_t k = component_of(&gr, start, seen, comp), component_rank = cluster_rank;
            if (k < kc) /* else it is the whole cluster */
                status = span_rank(g, comp, k, words, &component_rank);
            sum_of_ranks += component_rank;
        }
        if (status)
            break;
        for (size_t i = 0; i < kc; i++)
            seen[members[k0 + i]] = 0;
        if (cluster_rank < kc && sum_of_ranks != cluster_rank) {
            if ((status = begin_part(&b, g[members[k0]])))
                break;
            status = close_list(&b, g, members + k0, kc);
            continue;
        }
        for (size_t i = 0; i < kc && !status; i++) {
            size_t start = members[k0 + i];
            if (seen[start])
                continue;
            size_t k = component_of(&gr, start, seen, comp);
            if ((status = begin_part(&b, g[comp[0]])))
                break;
            if (k == 1) {
                add_centre(out, 1);
                if (pred)
                    qml__predict_centre_string(pred, g[comp[0]]);
                continue;
            }
            size_t component_rank = k;
            if (k == kc) /* the cluster's only component */
                component_rank = cluster_rank;
            else if (cluster_rank < kc && (status = span_rank(g, comp, k, words, &component_rank)))
                break;
            int cycle = 0;
            if ((status = cycle_decision(&b, &gr, g, comp, k, component_rank, words, &cycle)))
                break;
            if (cycle && pred)
                status = k == 4 ? qml__predict_by_closing(pred, g, comp, k)
                                : qml__predict_cycle(pred, gr.start, gr.adj, g, comp, k, component_rank, words);
            if (cycle)
                continue;
            for (size_t h = 0; h < k; h++)
                local[comp[h]] = h;
            if (component_rank < k) { /* dependent strings: the quadratic form, else its own closure */
                int quad = 0;
                if ((status = quad_decision(&b, &gr, g, comp, k, local, words, &quad)))
                    break;
                if (!quad)
                    status = close_list(&b, g, comp, k);
                continue;
            }
            /* independent: the theorem (the graph decides) */
            for (size_t h = 0; h < k; h++)
                local[comp[h]] = h;
            int tree = 0;
            size_t *ea = NULL, *eb = NULL;
            status = tree_line_graph(&gr, comp, k, local, &tree, pred ? &ea : NULL, pred ? &eb : NULL);
            if (status)
                break;
            if (tree) {
                status = add_so(&b, k + 1);
                if (!status && pred)
                    status = k + 1 == 4 ? qml__predict_by_closing(pred, g, comp, k)
                                        : qml__predict_tree(pred, g, comp, k, ea, eb, words);
                qml__free(ea);
                qml__free(eb);
                continue;
            }
            int quad = 0;
            if ((status = quad_decision(&b, &gr, g, comp, k, local, words, &quad)))
                break;
            if (!quad)
                status = close_list(&b, g, comp, k);
        }
    }
done:
    if (!status) {
        if (out->n_ideals > 1)
            qsort(out->ideals, out->n_ideals, sizeof *out->ideals, ideal_cmp);
        out->full = 0;
        for (size_t j = 0; j < out->n_ideals; j++)
            if (out->ideals[j].su_log2 == n && n > 0)
                out->full = 1;
        if (n < 27 && out->dimension == ldexp(1.0, 2 * (int)n) - 1.0)
            out->full = 1;
        if (!out->n_ideals && !out->centre_dim)
            out->log2_dimension = -(double)INFINITY;
    } else {
        qml__pauli_classification_release(out);
    }
    qml__free(order);
    qml__free(g);
    qml__free(qparent);
    qml__free(eparent);
    qml__free(letters);
    qml__free(sup_start);
    qml__free(sup);
    qml__free(cl_count);
    qml__free(cl_start);
    qml__free(cl_ok);
    qml__free(members);
    qml__free(fill);
    qml__free(local);
    qml__free(seen);
    qml__free(comp);
    qml__free(qroot);
    graph_release(&gr);
    return status;
}

/* The name of one ideal. */
static void ideal_name(char *out, size_t cap, const pauli_ideal *ideal)
{
    if (ideal->su_log2) {
        if (ideal->su_log2 <= 5)
            snprintf(out, cap, "su(%u)", 1u << ideal->su_log2);
        else
            snprintf(out, cap, "su(2^%u)", ideal->su_log2);
    } else if (ideal->so_log2) {
        if (ideal->so_log2 <= 5)
            snprintf(out, cap, "so(%u)", 1u << ideal->so_log2);
        else
            snprintf(out, cap, "so(2^%u)", ideal->so_log2);
    } else if (ideal->sp_log2) {
        if (ideal->sp_log2 <= 5)
            snprintf(out, cap, "sp(%u)", 1u << ideal->sp_log2);
        else
            snprintf(out, cap, "sp(2^%u)", ideal->sp_log2);
    } else if (ideal->sp_r >= 3) {
        snprintf(out, cap, "sp(%zu)", ideal->sp_r); /* decided by its roots */
    } else if (ideal->so_n >= 5 && ideal->so_n % 2) {
        snprintf(out, cap, "so(%zu)", ideal->so_n); /* decided as so(2r+1); so(5) = sp(2) */
    } else if (ideal->so_n >= 8) {
        snprintf(out, cap, "so(%zu)", ideal->so_n);
    } else {
        simple_name(out, cap, ideal->dim, ideal->rank);
    }
}

int qml__pauli_check_strings(const qml_pauli_sum *const *generators, size_t count, unsigned *n_out, const char *func)
{
    QML_CHECK_ARG(generators != NULL, "%s: argument 'generators' is NULL", func);
    QML_CHECK_ARG(count >= 1, "%s: count is 0; give at least one generator", func);
    unsigned n = 0;
    for (size_t k = 0; k < count; k++) {
        QML_CHECK_ARG(generators[k] != NULL, "%s: generator %zu is NULL", func, k);
        if (k == 0)
            n = generators[k]->n_qubits;
        QML_CHECK_ARG(generators[k]->n_qubits == n, "%s: generator %zu acts on %u qubits, generator 0 on %u",
                      func, k, generators[k]->n_qubits, n);
        QML_CHECK_ARG(generators[k]->n_terms == 0 || isfinite(generators[k]->coeff[0]),
                      "%s: generator %zu has a non-finite coefficient", func, k);
        if (generators[k]->n_terms != 1)
            return qml__error(QML_ERR_NOT_APPLICABLE,
                              "%s: generator %zu has %zu terms; the classification needs single Pauli strings "
                              "(use qml_lie_algebra_create for sums)",
                              func, k, generators[k]->n_terms);
        if (generators[k]->coeff[0] == 0.0)
            return qml__error(QML_ERR_NOT_APPLICABLE, "%s: generator %zu is zero", func, k);
    }
    *n_out = n;
    return QML_OK;
}

int qml_pauli_dla_classify(const qml_pauli_sum *const *generators, size_t count, qml_dla_summary *summary)
{
    return qml_pauli_dla_classify_with(generators, count, NULL, summary);
}

int qml_pauli_dla_classify_with(const qml_pauli_sum *const *generators, size_t count,
                                const qml_pauli_dla_options *options, qml_dla_summary *summary)
{
    QML_CHECK_NULL(generators);
    QML_CHECK_NULL(summary);
    QML_CHECK_ARG(summary->size >= offsetof(qml_dla_summary, name) + sizeof summary->name,
                  "%s: summary->size is %zu; set it to sizeof(qml_dla_summary)", __func__, summary->size);
    qml_pauli_dla_options opts;
    static const qml_pauli_dla_options defaults = QML_PAULI_DLA_OPTIONS_INIT;
    int check = qml__options_copy(&opts, sizeof opts, options, &defaults, __func__);
    if (check)
        return check;
    unsigned n = 0;
    if ((check = qml__pauli_check_strings(generators, count, &n, __func__)))
        return check;
    pauli_classification c;
    int status = qml__pauli_classify_ex(generators, count, n, opts.no_closure != 0, NULL, &c);
    if (status)
        return status;
    qml_dla_summary s;
    memset(&s, 0, sizeof s);
    s.size = summary->size;
    s.dimension = c.dimension;
    s.log2_dimension = c.log2_dimension;
    s.centre_dim = c.centre_dim;
    s.n_components = c.n_ideals;
    s.is_full = c.full;
    /* names, runs of equal ideals (sorted by decreasing dimension) */
    for (size_t j = 0; j < c.n_ideals;) {
        size_t run = 1;
        char part[64], next[64];
        ideal_name(part, sizeof part, &c.ideals[j]);
        while (j + run < c.n_ideals) {
            ideal_name(next, sizeof next, &c.ideals[j + run]);
            if (strcmp(part, next))
                break;
            run++;
        }
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
    qml__pauli_classification_release(&c);
    size_t size = summary->size, copy = size < sizeof s ? size : sizeof s;
    memcpy(summary, &s, copy);
    summary->size = size;
    qml__ok();
    return QML_OK;
}

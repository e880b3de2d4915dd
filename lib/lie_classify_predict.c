/*
 * lie_classify_predict.c: what each part of a classified Pauli-string DLA
 * (lie_classify.c) adds to the variance prediction for rho = |0...0>
 * (qml_pauli_dla_predict_variance, lie_predict.c): the g-purities of the
 * state and of the observable counted from the part's description, without
 * a basis.
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE ((size_t)-1)
#define LN2 0.69314718055994530942

/* What each part adds to the formula of Ragone et al. (Nat. Commun. 15,
 * 7172 (2024)), Var = sum_j P_j(rho) P_j(O) / dim g_j, and to Fontana et
 * al.'s middle-gate variance (Nat. Commun. 15, 7171 (2024)),
 * 1/4 sum_j P_j(rho) P_j(O) kappa_j(G) / dim(g_j)^2. Strings are
 * orthonormal in <A, B> = Tr(A B) / 2^n. For a part spanned by strings that
 * is one simple ideal of dimension d: P(rho) = Tr(rho_g^2) = N_Z / 2^n, N_Z
 * the number of its strings without an X or Y letter (<0|P|0> = 1 for those
 * and 0 for the others), and P(O) = 2^n sum c_i^2 over the terms c_i P_i of
 * O in it: the part adds N_Z sum c_i^2 / d. A part made of 2^r copies of
 * one simple algebra, split by a group R of 2^r commuting central strings
 * with g R = g (the ideals g e_chi, e_chi = 2^-r sum_{s in R} chi(s) s),
 * has sum_chi P_chi(rho) P_chi(O) = 2^-r sum_{s in R} Tr(rho_g^2 s)
 * Tr(O_g^2 s) (orthogonality of the characters), where Tr(rho_g^2 s) =
 * N_Z / 2^n when s has no X or Y letter and 0 otherwise: it adds
 * N_Z (sum c_i^2 + x) / (2^r d), x the sum over such s != 1 of the
 * coefficient of s in O_g^2. The Killing form of a simple ideal is a
 * multiple of the norm, so kappa_chi(G) = 4 c_G^2 a for G = c_G P_G in the
 * part, a the number of strings of one simple copy that anticommute with
 * one of its strings; the part's middle-gate term is (c_G^2 a / d) times
 * its loss term.
 *
 * The first gate sees sigma = -(i/2)[G, rho] instead of rho. For G in g,
 * ad_G is skew and maps each ideal to itself, so it commutes with the
 * orthogonal projection onto an ideal: the part of sigma in g_j is
 * -(i/2)[G, rho_j]. In a part spanned by strings that is one simple ideal
 * containing G = c_G P_G, [P_G, Q] = 2 P_G Q for the N_A Z-type strings Q
 * of the part that anticommute with P_G (0 for the others), all different,
 * so P(sigma) = c_G^2 N_A / 2^n: the part's first-gate term is
 * (c_G^2 N_A / N_Z) times its loss term (the ideals without G get
 * [G, rho_j] = 0). log2_anti_z = log2 N_A (NaN: not counted). With
 * copies see predict_free_fermion and qml__predict_quad. */
static void predict_add(pauli_prediction *p, double log2_nz, double c2, double log2_copies, double log2_d,
                        double log2_anti, double log2_anti_z, int gate_in)
{
    if (gate_in)
        p->gate_found = 1;
    if (c2 == 0.0 || log2_nz == -(double)INFINITY)
        return;
    double v = exp2(log2_nz - log2_copies - log2_d) * c2;
    p->var += v;
    if (gate_in) {
        double cg = p->gate->coeff[0];
        p->var_middle += exp2(log2_anti - log2_d) * cg * cg * v;
        if (isnan(log2_anti_z))
            p->first_unknown = 1;
        else
            p->var_first += exp2(log2_anti_z - log2_nz) * cg * cg * v;
    }
}

static void predict_unknown(pauli_prediction *p, const char *what)
{
    if (!p->unknown)
        snprintf(p->why, sizeof p->why, "%s", what);
    p->unknown = 1;
}

static int is_identity_term(const qml_pauli_sum *s, size_t i)
{
    for (unsigned w = 0; w < s->words; w++)
        if (s->x[i * s->words + w] | s->z[i * s->words + w])
            return 0;
    return 1;
}

/* su(2^m) on the qubits whose cluster root is r: every non-identity string
 * on them, N_Z = 2^m - 1, d = 4^m - 1, a = 4^m / 2: the part adds
 * sum c_i^2 / (2^m + 1). */
void qml__predict_su(pauli_prediction *p, const size_t *root, size_t r, unsigned m, unsigned words)
{
    const qml_pauli_sum *o = p->observable;
    double c2 = 0;
    int gate_in = 1;
    for (size_t i = 0; i <= o->n_terms; i++) {
        const uint64_t *x = i < o->n_terms ? o->x + i * words : p->gate->x;
        const uint64_t *z = i < o->n_terms ? o->z + i * words : p->gate->z;
        int inside = 1, empty = 1;
        for (unsigned w = 0; w < words && inside; w++) {
            uint64_t bits = x[w] | z[w];
            empty &= !bits;
            while (bits && inside) {
                size_t q = (size_t)w * 64 + lowest_bit64(bits);
                bits &= bits - 1;
                inside = root[q] == r;
            }
        }
        if (i == o->n_terms) {
            gate_in = inside && !empty;
        } else if (inside && !empty) {
            p->term_in_g[i] = 1;
            c2 += o->coeff[i] * o->coeff[i];
        }
    }
    double md = (double)m;
    double log2_nz = md + log2(-expm1(-md * LN2));
    double log2_d = 2.0 * md + log2(-expm1(-2.0 * md * LN2));
    /* N_A: a string with an X or Y letter anticommutes with half of the 2^m
     * Z-type strings on the cluster; a Z-type one with none */
    int gate_moves = 0;
    for (unsigned w = 0; w < words; w++)
        gate_moves |= p->gate->x[w] != 0;
    predict_add(p, log2_nz, c2, 0.0, log2_d, 2.0 * md - 1.0, gate_moves ? md - 1.0 : -(double)INFINITY, gate_in);
    if (m == p->observable->n_qubits)
        p->rho_in_g = 1;
    p->nz += exp2(log2_nz);
}

/* An isolated string: a u(1) of the centre. It is fixed by the group, so it
 * adds c <0|P|0> to the mean and nothing to the variance. */
void qml__predict_centre_string(pauli_prediction *p, const qml_pauli_sum *s)
{
    const qml_pauli_sum *o = p->observable;
    unsigned words = o->words;
    for (size_t i = 0; i < o->n_terms; i++) {
        if (memcmp(o->x + i * words, s->x, words * sizeof *s->x) || memcmp(o->z + i * words, s->z, words * sizeof *s->z))
            continue;
        p->term_in_g[i] = 1;
        int z_type = 1;
        for (unsigned w = 0; w < words; w++)
            z_type &= !s->x[w];
        if (z_type)
            p->mean += o->coeff[i];
    }
    /* a central gate commutes with every ideal: its first-gate variance is 0 */
    if (!memcmp(p->gate->x, s->x, words * sizeof *s->x) && !memcmp(p->gate->z, s->z, words * sizeof *s->z))
        p->gate_found = 1;
    int z_type = 1;
    for (unsigned w = 0; w < words; w++)
        z_type &= !s->x[w];
    p->nz += z_type;
}

/* Vertex potentials of a tree (or path) of strings: psi(a) in F_2^{2n}
 * with psi(a) + psi(b) the product of the strings on the tree path from a
 * to b, so that the strings of the free-fermion algebra (the bilinears
 * g_a g_b, products of the edges' strings along the path: see step 3 of
 * the header) are the psi(a) + psi(b), a != b, all different. Rows are
 * [words | x | z], sorted twice (by x | z, and by x alone). */
typedef struct potentials {
    size_t count;
    unsigned words;
    uint64_t *rows;       /* count x (1 + 2 words) */
    uint64_t **by_full;   /* sorted by (x, z) */
    uint64_t **by_x;      /* sorted by x */
    uint64_t *key;        /* scratch row */
} potentials;

static int row_cmp_full(const void *pa, const void *pb)
{
    const uint64_t *a = *(const uint64_t *const *)pa, *b = *(const uint64_t *const *)pb;
    size_t width = 2 * (size_t)a[0];
    for (size_t w = 1; w <= width; w++)
        if (a[w] != b[w])
            return a[w] < b[w] ? -1 : 1;
    return 0;
}

static int row_cmp_x(const void *pa, const void *pb)
{
    const uint64_t *a = *(const uint64_t *const *)pa, *b = *(const uint64_t *const *)pb;
    for (size_t w = 1; w <= a[0]; w++)
        if (a[w] != b[w])
            return a[w] < b[w] ? -1 : 1;
    return 0;
}

static void potentials_release(potentials *pt)
{
    qml__free(pt->rows);
    qml__free(pt->by_full);
    qml__free(pt->by_x);
    qml__free(pt->key);
    memset(pt, 0, sizeof *pt);
}

static int potentials_alloc(potentials *pt, size_t count, unsigned words)
{
    memset(pt, 0, sizeof *pt);
    size_t stride = 1 + 2 * (size_t)words;
    pt->count = count;
    pt->words = words;
    pt->rows = qml__calloc(count * stride, sizeof *pt->rows);
    pt->by_full = qml__malloc(count * sizeof *pt->by_full);
    pt->by_x = qml__malloc(count * sizeof *pt->by_x);
    pt->key = qml__malloc(stride * sizeof *pt->key);
    if (!pt->rows || !pt->by_full || !pt->by_x || !pt->key) {
        potentials_release(pt);
        return qml__oom("a prediction from the classification");
    }
    for (size_t a = 0; a < count; a++) {
        pt->rows[a * stride] = words;
        pt->by_full[a] = pt->by_x[a] = pt->rows + a * stride;
    }
    pt->key[0] = words;
    return QML_OK;
}

static uint64_t *potential(potentials *pt, size_t a)
{
    return pt->rows + a * (1 + 2 * (size_t)pt->words) + 1;
}

static void potentials_sort(potentials *pt)
{
    qsort(pt->by_full, pt->count, sizeof *pt->by_full, row_cmp_full);
    qsort(pt->by_x, pt->count, sizeof *pt->by_x, row_cmp_x);
}

/* How many rows of the sorted list equal the key (by cmp). */
static size_t rows_equal(uint64_t **sorted, size_t count, const uint64_t *key, int (*cmp)(const void *, const void *))
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp(&sorted[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < count && !cmp(&sorted[end], &key))
        end++;
    return end - lo;
}

/* Pairs {a, b}, a != b, with x(psi(a)) + x(psi(b)) = tx (NULL: 0): the
 * strings psi(a) + psi(b) whose x part is tx. */
static double potentials_pairs_x(potentials *pt, const uint64_t *tx)
{
    double total = 0;
    for (size_t a = 0; a < pt->count; a++) {
        const uint64_t *pa = potential(pt, a);
        for (unsigned w = 0; w < pt->words; w++)
            pt->key[1 + w] = pa[w] ^ (tx ? tx[w] : 0);
        total += (double)rows_equal(pt->by_x, pt->count, pt->key, row_cmp_x);
    }
    if (!tx)
        total -= (double)pt->count;
    return total / 2;
}

/* Whether the non-identity string (x, z) is some psi(a) + psi(b); if so
 * and ends is not NULL, a and b. */
static int potentials_find(potentials *pt, const uint64_t *x, const uint64_t *z, size_t *ends)
{
    unsigned words = pt->words;
    size_t stride = 1 + 2 * (size_t)words;
    for (size_t a = 0; a < pt->count; a++) {
        const uint64_t *pa = potential(pt, a);
        for (unsigned w = 0; w < words; w++) {
            pt->key[1 + w] = pa[w] ^ x[w];
            pt->key[1 + words + w] = pa[words + w] ^ z[w];
        }
        if (!rows_equal(pt->by_full, pt->count, pt->key, row_cmp_full))
            continue;
        if (ends) {
            uint64_t **row = bsearch(&pt->key, pt->by_full, pt->count, sizeof *pt->by_full, row_cmp_full);
            ends[0] = a;
            ends[1] = row ? (size_t)(*row - pt->rows) / stride : NONE;
        }
        return 1;
    }
    return 0;
}

/* N_A of the gate psi(c) + psi(d) (see predict_add): the bilinears that
 * anticommute with it share exactly one mode with it, {e, b} with e in
 * {c, d} and b not in {c, d}; those psi(e) + psi(b) (+ the central string
 * whose x part is shift, NULL: none) without X or Y letters have
 * x(psi(b)) = x(psi(e)) + shift. */
static double potentials_anti_z(potentials *pt, const size_t *ends, const uint64_t *shift)
{
    unsigned words = pt->words;
    double total = 0;
    for (int e = 0; e < 2; e++) {
        const uint64_t *pe = potential(pt, ends[e]), *po = potential(pt, ends[1 - e]);
        int self = 1, other = 1;
        for (unsigned w = 0; w < words; w++) {
            pt->key[1 + w] = pe[w] ^ (shift ? shift[w] : 0);
            self &= pt->key[1 + w] == pe[w];
            other &= pt->key[1 + w] == po[w];
        }
        total += (double)rows_equal(pt->by_x, pt->count, pt->key, row_cmp_x) - (double)self - (double)other;
    }
    return total;
}

/* The free-fermion part spanned by the strings {psi(a) + psi(b)} (and, when
 * P is given, by their products with the central string P as well: two
 * copies, R = {1, P}). N = count modes; one copy is so(N), d = N(N-1)/2,
 * a = 2(N - 2) (a bilinear anticommutes with those sharing one mode). */
static void predict_free_fermion(pauli_prediction *p, potentials *pt, const uint64_t *P)
{
    const qml_pauli_sum *o = p->observable;
    unsigned words = pt->words;
    size_t N = pt->count;
    potentials_sort(pt);
    uint64_t *sx = pt->key + 1 + 2 * (size_t)words; /* past the key: room allocated by the caller */
    uint64_t *sz = sx + words;
    int p_z_type = 1;
    if (P)
        for (unsigned w = 0; w < words; w++)
            p_z_type &= !P[w];
    double nz = potentials_pairs_x(pt, NULL);
    if (P)
        nz += p_z_type ? nz : potentials_pairs_x(pt, P);
    double c2 = 0;
    int gate_in = 0;
    size_t ends[2] = {NONE, NONE};
    for (size_t i = 0; i <= o->n_terms; i++) {
        const uint64_t *x = i < o->n_terms ? o->x + i * words : p->gate->x;
        const uint64_t *z = i < o->n_terms ? o->z + i * words : p->gate->z;
        if (i < o->n_terms && is_identity_term(o, i))
            continue;
        int in = potentials_find(pt, x, z, i == o->n_terms ? ends : NULL);
        if (!in && P) {
            int zero = 1;
            for (unsigned w = 0; w < words; w++) {
                sx[w] = x[w] ^ P[w];
                sz[w] = z[w] ^ P[words + w];
                zero &= !sx[w] && !sz[w];
            }
            in = !zero && potentials_find(pt, sx, sz, i == o->n_terms ? ends : NULL);
        }
        if (i == o->n_terms) {
            gate_in = in;
        } else if (in) {
            p->term_in_g[i] = 1;
            c2 += o->coeff[i] * o->coeff[i];
        }
    }
    /* x: the coefficient of P in O_g^2 (P without X or Y letters only),
     * from the pairs of terms whose product is P */
    if (P && p_z_type) {
        for (size_t i = 0; i < o->n_terms; i++) {
            if (!p->term_in_g[i])
                continue;
            for (size_t j = i + 1; j < o->n_terms; j++) {
                if (!p->term_in_g[j])
                    continue;
                int hit = 1;
                for (unsigned w = 0; w < words && hit; w++)
                    hit = (o->x[i * words + w] ^ o->x[j * words + w]) == P[w] &&
                          (o->z[i * words + w] ^ o->z[j * words + w]) == P[words + w];
                if (!hit)
                    continue;
                unsigned phase = strings_product_phase(words, o->x + i * words, o->z + i * words, o->x + j * words,
                                                       o->z + j * words);
                c2 += 2.0 * o->coeff[i] * o->coeff[j] * (phase == 0 ? 1.0 : -1.0);
            }
        }
    }
    double d = (double)N * (double)(N - 1) / 2.0;
    /* N_A, when the gate is a bilinear or its product with P (P is
     * central: the same strings anticommute with both), over both copies
     * as N_Z is: with copies, the characters' sum has the factor
     * Tr(sigma_g^2 s) = c_G^2 N_A / 2^n where Tr(rho_g^2 s) = N_Z / 2^n
     * (s = P without X or Y letters: Q -> P Q pairs the Z-type strings that
     * anticommute with G), and 0 where that is 0 */
    double anti_z = (double)NAN;
    if (gate_in && ends[1] != NONE) {
        double count = potentials_anti_z(pt, ends, NULL);
        if (P)
            count += p_z_type ? count : potentials_anti_z(pt, ends, P);
        anti_z = count > 0 ? log2(count) : -(double)INFINITY;
    }
    predict_add(p, nz > 0 ? log2(nz) : -(double)INFINITY, c2, P ? 1.0 : 0.0, log2(d), log2(2.0 * (double)(N - 2)),
                anti_z, gate_in);
    p->nz += nz;
}

/* The tree with edges (ea[i], eb[i]) carrying the strings g[comp[i]], k
 * edges, k + 1 vertices: so(k + 1) (step 3). */
int qml__predict_tree(pauli_prediction *p, const qml_pauli_sum *const *g, const size_t *comp, size_t k,
                      const size_t *ea, const size_t *eb, unsigned words)
{
    potentials pt;
    int status = potentials_alloc(&pt, k + 1, words);
    size_t *start = qml__calloc(k + 3, sizeof *start), *inc = qml__malloc(2 * k * sizeof *inc);
    size_t *queue = qml__malloc((k + 1) * sizeof *queue);
    unsigned char *done = qml__calloc(k + 1, 1);
    uint64_t *key = status ? NULL : qml__realloc(pt.key, (1 + 4 * (size_t)words) * sizeof *key);
    if (key)
        pt.key = key;
    if (status || !start || !inc || !queue || !done || !key) {
        if (!status)
            potentials_release(&pt);
        qml__free(start);
        qml__free(inc);
        qml__free(queue);
        qml__free(done);
        return status ? status : qml__oom("a prediction from the classification");
    }
    for (size_t i = 0; i < k; i++) {
        start[ea[i] + 2]++;
        start[eb[i] + 2]++;
    }
    for (size_t v = 0; v <= k; v++)
        start[v + 2] += start[v + 1];
    for (size_t i = 0; i < k; i++) {
        inc[start[ea[i] + 1]++] = i;
        inc[start[eb[i] + 1]++] = i;
    }
    size_t head = 0, tail = 0;
    queue[tail++] = 0;
    done[0] = 1;
    while (head < tail) {
        size_t v = queue[head++];
        for (size_t t = start[v]; t < start[v + 1]; t++) {
            size_t i = inc[t], u = ea[i] == v ? eb[i] : ea[i];
            if (done[u])
                continue;
            done[u] = 1;
            queue[tail++] = u;
            uint64_t *pu = potential(&pt, u);
            const uint64_t *pv = potential(&pt, v);
            const qml_pauli_sum *s = g[comp[i]];
            for (unsigned w = 0; w < words; w++) {
                pu[w] = pv[w] ^ s->x[w];
                pu[words + w] = pv[words + w] ^ s->z[w];
            }
        }
    }
    predict_free_fermion(p, &pt, NULL);
    potentials_release(&pt);
    qml__free(start);
    qml__free(inc);
    qml__free(queue);
    qml__free(done);
    return QML_OK;
}

/* A cycle decided by cycle_decision (k >= 5 when this is called): the
 * path left when one string v is taken out is so(k) on its Majorana
 * bilinears Q; the algebra is Q (P = 1) or Q + P Q, two copies split by
 * the central P, the product of all k strings. v is chosen as there: any
 * string when the strings are independent or P = 1, else one of the
 * dependent set D (every other string). */
int qml__predict_cycle(pauli_prediction *p, const size_t *start, const size_t *adj, const qml_pauli_sum *const *g,
                       const size_t *comp, size_t k, size_t rank, unsigned words)
{
    potentials pt;
    int status = potentials_alloc(&pt, k, words);
    size_t *order = qml__malloc(k * sizeof *order);
    uint64_t *P = qml__calloc(4 * (size_t)words, sizeof *P);
    uint64_t *key = status ? NULL : qml__realloc(pt.key, (1 + 4 * (size_t)words) * sizeof *key);
    if (key)
        pt.key = key;
    if (status || !order || !P || !key) {
        if (!status)
            potentials_release(&pt);
        qml__free(order);
        qml__free(P);
        return status ? status : qml__oom("a prediction from the classification");
    }
    uint64_t *even = P + 2 * (size_t)words;
    size_t prev = NONE, cur = comp[0];
    for (size_t i = 0; i < k; i++) {
        order[i] = cur;
        size_t a = adj[start[cur]], c = adj[start[cur] + 1];
        size_t next = a != prev ? a : c;
        prev = cur;
        cur = next;
    }
    int p_identity = 1, even_identity = 1;
    for (unsigned w = 0; w < words; w++) {
        for (size_t i = 0; i < k; i++) {
            P[w] ^= g[order[i]]->x[w];
            P[words + w] ^= g[order[i]]->z[w];
            if (i % 2 == 0) {
                even[w] ^= g[order[i]]->x[w];
                even[words + w] ^= g[order[i]]->z[w];
            }
        }
        p_identity &= !P[w] && !P[words + w];
        even_identity &= !even[w] && !even[words + w];
    }
    size_t v = rank == k || p_identity || even_identity ? 0 : 1;
    for (size_t j = 0; j + 1 < k; j++) {
        const qml_pauli_sum *s = g[order[(v + 1 + j) % k]];
        const uint64_t *a = potential(&pt, j);
        uint64_t *b = potential(&pt, j + 1);
        for (unsigned w = 0; w < words; w++) {
            b[w] = a[w] ^ s->x[w];
            b[words + w] = a[words + w] ^ s->z[w];
        }
    }
    predict_free_fermion(p, &pt, p_identity ? NULL : P);
    potentials_release(&pt);
    qml__free(order);
    qml__free(P);
    return QML_OK;
}

/* A small part whose ideals are not spanned by strings (so(4) = su(2) +
 * su(2)): its purities from its exact closure. */
int qml__predict_by_closing(pauli_prediction *p, const qml_pauli_sum *const *g, const size_t *list, size_t count)
{
    const qml_pauli_sum **part = qml__malloc(count * sizeof *part);
    if (!part)
        return qml__oom("a prediction from the classification");
    for (size_t i = 0; i < count; i++)
        part[i] = g[list[i]];
    qml_lie_algebra *algebra = NULL;
    qml_lie_options options = QML_LIE_OPTIONS_INIT;
    options.max_dim = 4096;
    int status = qml_lie_algebra_create(&algebra, part, count, &options);
    qml__free(part);
    if (!status && !qml_lie_algebra_structure_known(algebra))
        predict_unknown(p, "the structure of a small free-fermion part was not resolved");
    else if (!status)
        status = qml__lie_part_prediction(algebra, p);
    else if (status == QML_ERR_LIMIT) {
        predict_unknown(p, "a small free-fermion part could not be closed");
        status = QML_OK;
    }
    qml_lie_algebra_free(algebra);
    return status;
}

/* ---- components decided by the quadratic form ------------------------------------------ */

/* Gaussian elimination over F_2 (lowest set bit as pivot, as span_rank in
 * lie_classify.c), every row keeping the combination of inputs it is and
 * a bit that adds up along combinations. */
typedef struct echelon {
    size_t width, cw, rank;
    uint64_t *rows, *combos;
    unsigned char *bit;
    size_t *owner; /* 64 width pivots */
} echelon;

static void echelon_release(echelon *e)
{
    qml__free(e->rows);
    qml__free(e->combos);
    qml__free(e->bit);
    qml__free(e->owner);
    memset(e, 0, sizeof *e);
}

static int echelon_alloc(echelon *e, size_t width, size_t cw, size_t max_rows)
{
    memset(e, 0, sizeof *e);
    e->width = width;
    e->cw = cw;
    e->rows = qml__malloc((max_rows * width + 1) * sizeof *e->rows);
    e->combos = qml__malloc((max_rows * cw + 1) * sizeof *e->combos);
    e->bit = qml__malloc(max_rows + 1);
    e->owner = qml__malloc((64 * width + 1) * sizeof *e->owner);
    if (!e->rows || !e->combos || !e->bit || !e->owner) {
        echelon_release(e);
        return qml__oom("a prediction from the classification");
    }
    for (size_t i = 0; i < 64 * width; i++)
        e->owner[i] = NONE;
    return QML_OK;
}

/* Reduces v (with its combination c and bit *b) by the rows; returns 1
 * when it becomes zero (c, *b then describe a dependency), else 0, and
 * with `insert` makes it a new row. */
static int echelon_reduce(echelon *e, uint64_t *v, uint64_t *c, unsigned char *b, int insert)
{
    size_t w = 0;
    for (;;) {
        while (w < e->width && !v[w])
            w++;
        if (w == e->width)
            return 1;
        size_t pivot = w * 64 + lowest_bit64(v[w]);
        size_t r = e->owner[pivot];
        if (r == NONE) {
            if (insert) {
                memcpy(e->rows + e->rank * e->width, v, e->width * sizeof *v);
                memcpy(e->combos + e->rank * e->cw, c, e->cw * sizeof *c);
                e->bit[e->rank] = *b;
                e->owner[pivot] = e->rank++;
            }
            return 0;
        }
        for (size_t t = w; t < e->width; t++)
            v[t] ^= e->rows[r * e->width + t];
        for (size_t t = 0; t < e->cw; t++)
            c[t] ^= e->combos[r * e->cw + t];
        *b ^= e->bit[r];
    }
}

/* q(c) for coordinates c over B: |c| + the edges of the frustration graph inside c. */
static unsigned quad_value(const uint64_t *G, size_t kw, const uint64_t *c)
{
    size_t weight = 0, twice_edges = 0;
    for (size_t w = 0; w < kw; w++) {
        uint64_t bits = c[w];
        while (bits) {
            size_t i = w * 64 + lowest_bit64(bits);
            bits &= bits - 1;
            weight++;
            for (size_t t = 0; t < kw; t++)
                twice_edges += popcount64(G[i * kw + t] & c[t]);
        }
    }
    return (unsigned)((weight + twice_edges / 2) & 1u);
}

/* Where the string (x, z) stands: 0 outside V, 1 in V and in the radical,
 * 2 in V outside it (then *q is its q). */
static int quad_place(echelon *span, const uint64_t *G, size_t kw, const qml_pauli_sum *const *g, const size_t *comp,
                      const size_t *member, size_t nb, unsigned words, const uint64_t *x, const uint64_t *z,
                      uint64_t *v, uint64_t *c, unsigned *q)
{
    memcpy(v, x, words * sizeof *v);
    memcpy(v + words, z, words * sizeof *v);
    memset(c, 0, kw * sizeof *c);
    unsigned char bit = 0;
    if (!echelon_reduce(span, v, c, &bit, 0))
        return 0;
    for (size_t i = 0; i < nb; i++) {
        const qml_pauli_sum *s = g[comp[member[i]]];
        if (strings_anticommute(words, x, z, s->x, s->z)) {
            *q = quad_value(G, kw, c);
            return 2;
        }
    }
    return 1;
}

/* The component is L* = {v in V \ R : q(v) = 1} (or, all_strings, every
 * string of V \ R): 2^|S| copies split by S = R (q = 0 on R, or all
 * strings) or S = {r in R : q(r) = 0} (index 2: su(2^m) copies). Its
 * strings without X or Y letters lie in V_Z = {v in V : x(v) = 0}, where
 * all strings commute, so that q is linear there (its polar form is 0):
 * N_Z = [q != 0 on V_Z] 2^(dim V_Z - 1) - [q != 0 on R_Z] 2^(dim R_Z - 1)
 * with R_Z = V_Z and R (all strings: 2^dim V_Z - 2^dim R_Z). The dimensions
 * come from two eliminations: the x parts of B (V_Z is the kernel), then
 * the frustration products G K of V_Z's basis K (R_Z is their kernel, q
 * adding up along it). One copy: so(2^m) (Arf 0), sp(2^(m-1)) (Arf 1) or
 * su(2^m); a = 2^(2m-2) - 2^(m-1), 2^(2m-2) + 2^(m-1), 2^(2m-1) strings of a
 * copy anticommute with one of them (the Killing form, (N - 2) Tr, (N + 2)
 * Tr and 2N Tr on the defining representation, N = 2^m, over 4). */
int qml__predict_quad(pauli_prediction *p, const qml_pauli_sum *const *g, const size_t *comp, const size_t *member,
                      size_t nb, const uint64_t *G, size_t kw, unsigned words, unsigned m, size_t rho, int q_on_rad,
                      unsigned arf, int all_strings)
{
    const qml_pauli_sum *o = p->observable;
    echelon span, ex, er;
    memset(&ex, 0, sizeof ex);
    memset(&er, 0, sizeof er);
    size_t width = 2 * (size_t)words;
    uint64_t *v = qml__malloc((width + kw + 1) * sizeof *v);
    uint64_t *kernel = qml__malloc((nb * kw + 1) * sizeof *kernel);
    unsigned char *kq = qml__malloc(nb + 1);
    int status = echelon_alloc(&span, width, kw, nb);
    if (!status)
        status = echelon_alloc(&ex, words, kw, nb);
    if (!status && (!v || !kernel || !kq))
        status = qml__oom("a prediction from the classification");
    if (status)
        goto done;
    uint64_t *c = v + width;
    /* V's echelon form, and V_Z: the kernel of the x parts */
    size_t dvz = 0;
    for (size_t i = 0; i < nb; i++) {
        const qml_pauli_sum *s = g[comp[member[i]]];
        unsigned char bit = 0;
        memcpy(v, s->x, words * sizeof *v);
        memcpy(v + words, s->z, words * sizeof *v);
        memset(c, 0, kw * sizeof *c);
        c[i / 64] |= (uint64_t)1 << (i % 64);
        echelon_reduce(&span, v, c, &bit, 1);
        memcpy(v, s->x, words * sizeof *v);
        memset(c, 0, kw * sizeof *c);
        c[i / 64] |= (uint64_t)1 << (i % 64);
        if (echelon_reduce(&ex, v, c, &bit, 1)) {
            memcpy(kernel + dvz * kw, c, kw * sizeof *c);
            kq[dvz++] = (unsigned char)quad_value(G, kw, c);
        }
    }
    /* R_Z: combinations of the kernel basis with G K = 0 */
    size_t tw = (dvz + 63) / 64 + 1, drz = 0;
    int q_vz = 0, q_rz = 0;
    if ((status = echelon_alloc(&er, kw, tw, dvz)))
        goto done;
    uint64_t *row = qml__malloc((kw + tw + 1) * sizeof *row);
    if (!row) {
        status = qml__oom("a prediction from the classification");
        goto done;
    }
    for (size_t t = 0; t < dvz; t++) {
        q_vz |= kq[t];
        memset(row, 0, (kw + tw) * sizeof *row);
        const uint64_t *k = kernel + t * kw;
        for (size_t w = 0; w < kw; w++) {
            uint64_t bits = k[w];
            while (bits) {
                size_t i = w * 64 + lowest_bit64(bits);
                bits &= bits - 1;
                for (size_t u = 0; u < kw; u++)
                    row[u] ^= G[i * kw + u];
            }
        }
        uint64_t *comb = row + kw;
        comb[t / 64] |= (uint64_t)1 << (t % 64);
        unsigned char bit = kq[t];
        if (echelon_reduce(&er, row, comb, &bit, 1)) {
            drz++;
            q_rz |= bit;
        }
    }
    qml__free(row);
    double log2_nz;
    if (all_strings) {
        log2_nz = dvz == drz ? -(double)INFINITY
                             : (double)dvz + log2(-expm1(-((double)dvz - (double)drz) * LN2));
    } else if (!q_vz) {
        log2_nz = -(double)INFINITY;
    } else {
        double a = (double)dvz - 1.0, bexp = (double)drz - 1.0;
        log2_nz = q_rz ? (a == bexp ? -(double)INFINITY : a + log2(-expm1(-(a - bexp) * LN2))) : a;
    }
    int su = all_strings || q_on_rad;
    double md = (double)m;
    double log2_copies = su && !all_strings ? (double)rho - 1.0 : (double)rho;
    double log2_d, log2_anti;
    if (su) {
        log2_d = 2.0 * md + log2(-expm1(-2.0 * md * LN2));
        log2_anti = 2.0 * md - 1.0;
    } else {
        double sign = arf ? 1.0 : -1.0;
        log2_d = (2.0 * md - 1.0) + log2(1.0 + sign * exp2(-md));
        log2_anti = (2.0 * md - 2.0) + log2(1.0 + sign * exp2(1.0 - md));
    }
    /* the terms of O and the gate in g; the pairs whose product is in S without X or Y letters */
    double c2 = 0;
    int gate_in = 0;
    unsigned char *in = qml__calloc(o->n_terms + 1, 1);
    if (!in) {
        status = qml__oom("a prediction from the classification");
        goto done;
    }
    for (size_t i = 0; i <= o->n_terms; i++) {
        const uint64_t *x = i < o->n_terms ? o->x + i * words : p->gate->x;
        const uint64_t *z = i < o->n_terms ? o->z + i * words : p->gate->z;
        unsigned q = 0;
        int place = quad_place(&span, G, kw, g, comp, member, nb, words, x, z, v, c, &q);
        int member_of_g = place == 2 && (all_strings || q == 1);
        if (i == o->n_terms) {
            gate_in = member_of_g;
        } else if (member_of_g) {
            in[i] = 1;
            p->term_in_g[i] = 1;
            c2 += o->coeff[i] * o->coeff[i];
        }
    }
    uint64_t *sx = qml__malloc((2 * (size_t)words + 1) * sizeof *sx);
    if (!sx) {
        qml__free(in);
        status = qml__oom("a prediction from the classification");
        goto done;
    }
    for (size_t i = 0; i < o->n_terms; i++) {
        for (size_t j = i + 1; in[i] && j < o->n_terms; j++) {
            if (!in[j] || memcmp(o->x + i * words, o->x + j * words, words * sizeof *sx))
                continue; /* the product must have no X or Y letter */
            for (unsigned w = 0; w < words; w++) {
                sx[w] = 0;
                sx[words + w] = o->z[i * words + w] ^ o->z[j * words + w];
            }
            unsigned q = 0;
            int place = quad_place(&span, G, kw, g, comp, member, nb, words, sx, sx + words, v, c, &q);
            if (place != 1 || (q_on_rad && !all_strings && quad_value(G, kw, c)))
                continue; /* not in S */
            unsigned phase = strings_product_phase(words, o->x + i * words, o->z + i * words, o->x + j * words,
                                                   o->z + j * words);
            c2 += 2.0 * o->coeff[i] * o->coeff[j] * (phase == 0 ? 1.0 : -1.0);
        }
    }
    qml__free(sx);
    qml__free(in);
    /* N_A (see predict_add): the strings of L* in V_Z that anticommute with
     * the gate. l(v) = <v, G> is linear, and 0 on the radical (G is in V),
     * so N_A counts v in V_Z with l = 1 (and q = 1 unless all strings):
     * 2^(dim V_Z - 1) when l = q on V_Z (or all strings), 2^(dim V_Z - 2)
     * when l and q are independent, 0 when either is 0 there. With copies
     * the factor holds term by term (s in S is central and g s = g). */
    double anti_z = (double)NAN;
    if (gate_in) {
        int l_nonzero = 0, l_is_q = 1;
        for (size_t t = 0; t < dvz; t++) {
            unsigned l = 0;
            const uint64_t *k = kernel + t * kw;
            for (size_t w = 0; w < kw; w++) {
                uint64_t bits = k[w];
                while (bits) {
                    size_t i = w * 64 + lowest_bit64(bits);
                    bits &= bits - 1;
                    const qml_pauli_sum *s = g[comp[member[i]]];
                    l ^= (unsigned)strings_anticommute(words, s->x, s->z, p->gate->x, p->gate->z);
                }
            }
            l_nonzero |= (int)l;
            l_is_q &= l == kq[t];
        }
        double dv = (double)dvz;
        if (!l_nonzero || (!all_strings && !q_vz))
            anti_z = -(double)INFINITY;
        else
            anti_z = all_strings || l_is_q ? dv - 1.0 : dv - 2.0;
    }
    predict_add(p, log2_nz, c2, log2_copies, log2_d, log2_anti, anti_z, gate_in);
    if (log2_nz > -(double)INFINITY)
        p->nz += exp2(log2_nz);
    if (all_strings && dvz == o->n_qubits && drz == 0)
        p->rho_in_g = 1;
done:
    echelon_release(&span);
    echelon_release(&ex);
    echelon_release(&er);
    qml__free(v);
    qml__free(kernel);
    qml__free(kq);
    return status;
}

/*
 * lie_sector.c: the structure of a general (Pauli-sum) algebra from its
 * action on a sector (a set of computational basis states whose span every
 * generator maps into itself), when the algebra acts there as su(m) or u(m).
 *
 * Why this route. An algebra of dimension d ~ m^2 with one large simple
 * ideal, such as u(m) for number-conserving free fermions (the XY chain
 * with fields), costs the dense analysis and the iterative one ~d^3
 * operations or more (above the dense cap the iterative one stopped at its
 * budget at u(64)). Its action on m basis states decides the same structure
 * with m x m matrices, so the route is tried first, at every dimension:
 *
 * 1. Sectors. A Pauli string maps |b> to a phase times |b xor x>; the states
 *    a generator reaches from |b> with a non-zero amplitude (the terms with
 *    the same x summed) are its neighbours, and the connected set V of a
 *    seed state spans a subspace every generator, hence g, leaves invariant.
 *    rho(y) = y restricted to span V is a representation of g.
 * 2. su(m) <= rho(g) (m = |V|). Let h in i rho(g) be Hermitian with
 *    eigenvalues l_1..l_m. ad(h) acts on gl(m) diagonally in the matrix
 *    units E_ab of h's eigenbasis, with eigenvalues l_a - l_b. The
 *    complexification rho(g)_C is ad(h)-invariant, so it is the sum of its
 *    intersections with the eigenspaces of ad(h). Where l_a - l_b (a != b)
 *    is unique among all the differences its eigenspace is C E_ab, and an
 *    element of rho(g)_C with a non-zero (a, b) entry in that basis puts
 *    E_ab itself in rho(g)_C. As [E_ab, E_bc] = E_ac (a != c), a connected
 *    graph of such edges on 1..m puts every E_ab (a != b) in rho(g)_C, hence
 *    sl(m) and su(m) <= rho(g) <= u(m). h is a random combination of the
 *    generators plus a random bracket; the edges come from two more random
 *    combinations. (Every element of so(m) or sp(m/2) has a spectrum
 *    symmetric about 0, so its differences pair up and no edge is unique:
 *    such sectors are refused, as they must be.)
 * 3. Faithful up to the centre. K = ker rho is an ideal with g = K + K^perp
 *    (orthogonal, Hilbert-Schmidt) and K^perp ~ rho(g), which is su(m) or
 *    u(m). Every compact Lie algebra of dimension <= 2 is abelian and an
 *    abelian ideal of a compact algebra is central, so when dim K <= 2,
 *    g = z + s with s ~ su(m) simple of rank m - 1 and the centre z of
 *    dimension c = d - (m^2 - 1): decided by d = dim g alone.
 * 4. The centre. For any invariant sector W, y -> tr_W(y) is a Lie algebra
 *    homomorphism g -> iR, zero on [g, g] = s; in the orthonormal basis of
 *    g it is y -> <t_W, y>, so t_W lies in s^perp = z. The trace vectors of
 *    the sectors met are collected until they span c dimensions; each
 *    centre vector is checked to commute with every generator.
 * 5. The basis of g is rotated on the support of z (a Householder
 *    completion of z's orthonormal vectors), so that z and s are spanned by
 *    basis elements: the centre and the ideal take the identity form of
 *    lie_component and cost no coordinates.
 *
 * Floating point: h is diagonalised through the real symmetric 2m x 2m
 * embedding of a Hermitian matrix (each eigenvalue twice). An attempt counts
 * only when h's eigenvalues are separated by 1e-7 of its spread (so the
 * computed eigenvectors are within ~1e-9 of the true ones), an edge only
 * when its difference stands 1e-9 of the spread from every other (the
 * differences are accurate to ~1e-13) and its entry exceeds 1e-6 of the
 * combination's norm (the entries are accurate to ~1e-9 of it): a sector is
 * accepted on margins of 1e3 and more, never on rounding. Transitions are
 * edges when their amplitude is not exactly zero; an amplitude that is
 * non-zero but below 1e-12 of its terms (cancellation up to rounding) makes
 * the route decline rather than guess.
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qml__lie_sector_off = 0;

/* The largest sector (m): the eigen-decomposition is of size 2m and the
 * transforms cost ~4 m^3 complex multiply-adds each (~1 s at the cap). */
#define SECTOR_MAX 512u
/* Work of the sector search: (state, generator term) visits and seeds
 * tried, ~0.5 s. */
#define SECTOR_SEARCH_WORK 1e8
/* Random attempts at h (a failed attempt is a spectrum too close to tell). */
#define SECTOR_ATTEMPTS 4u
/* The certificate's margins (see the top of this file): eigenvalues of h
 * apart, eigenvalue pairs of the real embedding together, differences
 * apart (all relative to h's spread), entries non-zero (relative to the
 * combination's norm). */
#define SECTOR_EIGEN_GAP 1e-7
#define SECTOR_PAIR_TOL 1e-10
#define SECTOR_DIFF_GAP 1e-9
#define SECTOR_ENTRY_TOL 1e-6
/* A transition amplitude that is not zero but below this share of its
 * terms' magnitudes is a cancellation up to rounding: declined. */
#define SECTOR_AMBIGUOUS 1e-12
/* A trace vector (unit basis elements, traces averaged over the sector's
 * states) of norm at most this is taken for rounding (~1e-16 of it). Its
 * norm is the scalar by which the unit centre element it points along acts
 * on the sector: zero, or of order one for the centres met in practice. A
 * true one below this is merely not used (the route declines when fewer
 * than c directions are found); rounding taken for one would be refused as
 * a direction too many. */
#define SECTOR_TRACE_MIN 1e-8
/* Centre vectors: coordinates below SECTOR_CENTRE_DROP of the largest are
 * rounding (dropped), a trace vector adds a dimension when what is left
 * after orthogonalisation exceeds SECTOR_CENTRE_NEW of its norm, and a
 * centre vector commutes with a generator when the bracket's norm is at
 * most SECTOR_CENTRE_CHECK (both unit norm). */
#define SECTOR_CENTRE_DROP 1e-13
#define SECTOR_CENTRE_NEW 1e-6
#define SECTOR_CENTRE_CHECK 1e-8
/* Entries of the rotated basis elements (|support of z|^2 x terms). */
#define SECTOR_BASIS_ENTRIES ((size_t)1 << 25)

/* One generator's terms, sorted by x: a group of equal x maps a state to
 * one state, its amplitudes summed. */
typedef struct sector_gen {
    const qml_pauli_sum *sum;
    size_t *order;       /* term indices, by x */
    size_t n_groups;
    size_t *group_start; /* n_groups + 1 into order */
} sector_gen;

typedef struct sector_ctx {
    unsigned words;
    size_t K;
    sector_gen *gen;
    size_t max_group;    /* largest group count of a generator */
    uint64_t *target;    /* max_group * words: images of one state */
    double *amp_re, *amp_im;
    uint64_t *zero;      /* words zeros: the z part of a state's table key */
    uint64_t *state;     /* words: a copy of the state being expanded */
    double work;
} sector_ctx;

static void ctx_release(sector_ctx *ctx)
{
    if (ctx->gen)
        for (size_t k = 0; k < ctx->K; k++) {
            qml__free(ctx->gen[k].order);
            qml__free(ctx->gen[k].group_start);
        }
    qml__free(ctx->gen);
    qml__free(ctx->target);
    qml__free(ctx->amp_re);
    qml__free(ctx->amp_im);
    qml__free(ctx->zero);
    qml__free(ctx->state);
    memset(ctx, 0, sizeof *ctx);
}

/* Term indices by x (insertion sort: generators have few terms; qsort's
 * comparator could not see the sum without file-scope state). */
static void sort_terms_by_x(const qml_pauli_sum *s, size_t *order)
{
    unsigned words = s->words;
    for (size_t i = 0; i < s->n_terms; i++) {
        size_t t = order[i] = i, j = i;
        while (j > 0) {
            const uint64_t *xa = s->x + order[j - 1] * words, *xb = s->x + t * words;
            int cmp = 0;
            for (unsigned w = 0; w < words && !cmp; w++)
                cmp = xa[w] != xb[w] ? (xa[w] < xb[w] ? 1 : -1) : 0;
            if (cmp <= 0)
                break;
            order[j] = order[j - 1];
            j--;
        }
        order[j] = t;
    }
}

static int ctx_init(sector_ctx *ctx, const qml_lie_algebra *algebra)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->words = algebra->words;
    ctx->K = algebra->n_generators;
    ctx->gen = qml__calloc(ctx->K + 1, sizeof *ctx->gen);
    ctx->zero = qml__calloc(ctx->words, sizeof *ctx->zero);
    ctx->state = qml__calloc(ctx->words, sizeof *ctx->state);
    if (!ctx->gen || !ctx->zero || !ctx->state)
        return qml__oom("the sector search");
    for (size_t k = 0; k < ctx->K; k++) {
        const qml_pauli_sum *s = algebra->generators[k];
        sector_gen *g = &ctx->gen[k];
        g->sum = s;
        g->order = qml__malloc((s->n_terms + 1) * sizeof *g->order);
        g->group_start = qml__malloc((s->n_terms + 2) * sizeof *g->group_start);
        if (!g->order || !g->group_start)
            return qml__oom("the sector search");
        sort_terms_by_x(s, g->order);
        for (size_t i = 0; i < s->n_terms; i++)
            if (i == 0 || memcmp(s->x + g->order[i] * s->words, s->x + g->order[i - 1] * s->words,
                                 s->words * sizeof *s->x))
                g->group_start[g->n_groups++] = i;
        g->group_start[g->n_groups] = s->n_terms;
        if (g->n_groups > ctx->max_group)
            ctx->max_group = g->n_groups;
    }
    ctx->target = qml__calloc(qml__mul_size(ctx->max_group + 1, ctx->words), sizeof *ctx->target);
    ctx->amp_re = qml__calloc(ctx->max_group + 1, sizeof *ctx->amp_re);
    ctx->amp_im = qml__calloc(ctx->max_group + 1, sizeof *ctx->amp_im);
    if (!ctx->target || !ctx->amp_re || !ctx->amp_im)
        return qml__oom("the sector search");
    return QML_OK;
}

/* The images of |b> under generator k with non-zero amplitude: targets
 * ctx->target[0..*count) with amplitudes (amp_re, amp_im). P(x, z) =
 * i^{|x&z|} X^x Z^z maps |b> to i^{|x&z| + 2|z&b|} |b xor x>. Returns false
 * when an amplitude is a cancellation up to rounding (SECTOR_AMBIGUOUS). */
static bool sector_images(sector_ctx *ctx, size_t k, const uint64_t *b, size_t *count)
{
    const sector_gen *g = &ctx->gen[k];
    const qml_pauli_sum *s = g->sum;
    unsigned words = ctx->words;
    size_t n = 0;
    for (size_t grp = 0; grp < g->n_groups; grp++) {
        double re = 0, im = 0, mag = 0;
        for (size_t i = g->group_start[grp]; i < g->group_start[grp + 1]; i++) {
            size_t t = g->order[i];
            const uint64_t *x = s->x + t * words, *z = s->z + t * words;
            unsigned e = 0;
            for (unsigned w = 0; w < words; w++)
                e += popcount64(x[w] & z[w]) + 2u * popcount64(z[w] & b[w]);
            double c = s->coeff[t];
            switch (e & 3u) {
            case 0: re += c; break;
            case 1: im += c; break;
            case 2: re -= c; break;
            default: im -= c; break;
            }
            mag += fabs(c);
        }
        ctx->work += (double)(g->group_start[grp + 1] - g->group_start[grp]);
        if (re == 0.0 && im == 0.0)
            continue;
        if (hypot(re, im) <= SECTOR_AMBIGUOUS * mag)
            return false;
        const uint64_t *x = s->x + g->order[g->group_start[grp]] * words;
        for (unsigned w = 0; w < words; w++)
            ctx->target[n * words + w] = b[w] ^ x[w];
        ctx->amp_re[n] = re;
        ctx->amp_im[n] = im;
        n++;
    }
    *count = n;
    return true;
}

/* The sector of `seed` into `out` (states as x keys, z = 0), stopping once
 * it has more than `limit` states (*complete false). *ambiguous: a
 * transition could not be decided. */
static int sector_grow(sector_ctx *ctx, const uint64_t *seed, size_t limit, string_table *out, bool *complete,
                       bool *ambiguous)
{
    *complete = false;
    *ambiguous = false;
    size_t id;
    bool inserted;
    int status = qml__lie_table_insert(out, seed, ctx->zero, &id, &inserted);
    for (size_t next = 0; next < out->count && !status; next++) {
        memcpy(ctx->state, out->x + next * ctx->words, ctx->words * sizeof *ctx->state);
        for (size_t k = 0; k < ctx->K && !status; k++) {
            size_t count = 0;
            if (!sector_images(ctx, k, ctx->state, &count)) {
                *ambiguous = true;
                return QML_OK;
            }
            for (size_t i = 0; i < count && !status; i++) {
                status = qml__lie_table_insert(out, ctx->target + i * ctx->words, ctx->zero, &id, &inserted);
                if (!status && out->count > limit)
                    return QML_OK;
            }
        }
    }
    *complete = status == QML_OK;
    return status;
}

/* Seed `index` of the search: |0...0>, then weight one, weight two, |1...1>
 * and weight n - 1; false past the last. */
static bool sector_seed(unsigned n, size_t index, uint64_t *b, unsigned words)
{
    memset(b, 0, words * sizeof *b);
    if (index == 0)
        return true;
    index--;
    if (index < n) {
        b[index / 64] |= (uint64_t)1 << (index % 64);
        return true;
    }
    index -= n;
    size_t pairs = (size_t)n * (n - 1) / 2;
    if (index < pairs) {
        unsigned q = 0;
        while (index >= n - 1 - q) {
            index -= n - 1 - q;
            q++;
        }
        unsigned r = q + 1 + (unsigned)index;
        b[q / 64] |= (uint64_t)1 << (q % 64);
        b[r / 64] |= (uint64_t)1 << (r % 64);
        return true;
    }
    index -= pairs;
    if (index > n)
        return false;
    for (unsigned q = 0; q < n; q++)
        b[q / 64] |= (uint64_t)1 << (q % 64);
    if (index > 0) {
        unsigned q = (unsigned)index - 1;
        b[q / 64] &= ~((uint64_t)1 << (q % 64));
    }
    return true;
}

/* ---- the su(m) certificate ------------------------------------------------------- */

/* c = a b for complex m x m row-major matrices (re, im apart); c != a, b. */
static void cmul(size_t m, const double *ar, const double *ai, const double *br, const double *bi, double *cr,
                 double *ci)
{
    memset(cr, 0, m * m * sizeof *cr);
    memset(ci, 0, m * m * sizeof *ci);
    for (size_t i = 0; i < m; i++)
        for (size_t k = 0; k < m; k++) {
            double x = ar[i * m + k], y = ai[i * m + k];
            if (x == 0.0 && y == 0.0)
                continue;
            const double *rr = br + k * m, *ri = bi + k * m;
            double *outr = cr + i * m, *outi = ci + i * m;
            for (size_t j = 0; j < m; j++) {
                outr[j] += x * rr[j] - y * ri[j];
                outi[j] += x * ri[j] + y * rr[j];
            }
        }
}

typedef struct sector_diff {
    double value;
    size_t a, b;
} sector_diff;

static int diff_cmp(const void *pa, const void *pb)
{
    const sector_diff *a = pa, *b = pb;
    if (a->value != b->value)
        return a->value < b->value ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

int qml__lie_su_certificate(size_t m, const double *h_re, const double *h_im, size_t n_combos,
                            const double *const *c_re, const double *const *c_im, bool *contains, bool *told)
{
    *contains = false;
    *told = false;
    if (m < 2)
        return QML_OK;
    size_t m2 = 2 * m;
    double *v = qml__malloc(qml__mul_size(m2 * m2 + 1, sizeof *v));
    double *w = qml__malloc((m2 + 1) * sizeof *w);
    double *u = qml__malloc(qml__mul_size(4 * m * m + 1, sizeof *u)); /* U re, U im, T re, T im */
    double *t = qml__malloc(qml__mul_size(2 * m * m + 1, sizeof *t)); /* U^H re, im: then the transform */
    double *tr = qml__malloc(qml__mul_size(2 * m * m + 1, sizeof *tr));
    double *lambda = qml__malloc((m + 1) * sizeof *lambda);
    size_t n_diff = m * (m - 1) / 2;
    sector_diff *diff = qml__malloc((n_diff + 1) * sizeof *diff);
    unsigned char *clean = qml__calloc(m * m + 1, 1);
    size_t *parent = qml__malloc((m + 1) * sizeof *parent);
    int status = QML_OK;
    if (!v || !w || !u || !t || !tr || !lambda || !diff || !clean || !parent) {
        status = qml__oom("the su(m) certificate");
        goto done;
    }
    /* the real symmetric embedding [[A, -B], [B, A]] of h = A + i B */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++) {
            double a = h_re[i * m + j], b = h_im[i * m + j];
            v[i * m2 + j] = a;
            v[i * m2 + m + j] = -b;
            v[(m + i) * m2 + j] = b;
            v[(m + i) * m2 + m + j] = a;
        }
    status = qml__lie_symmetric_eigen(m2, v, w, true);
    if (status)
        goto done;
    double spread = w[m2 - 1] - w[0];
    if (!(spread > 0) || !isfinite(spread))
        goto done;
    for (size_t p = 0; p < m; p++) {
        if (w[2 * p + 1] - w[2 * p] > SECTOR_PAIR_TOL * spread)
            goto done; /* not paired: the embedding's spectrum is doubled exactly */
        if (p + 1 < m && w[2 * p + 2] - w[2 * p + 1] < SECTOR_EIGEN_GAP * spread)
            goto done; /* eigenvalues too close: another h */
        lambda[p] = 0.5 * (w[2 * p] + w[2 * p + 1]);
    }
    /* eigenvector p: column 2p of the embedding, (x; y) -> x + i y */
    double *ure = u, *uim = u + m * m, *hre = t, *him = t + m * m;
    for (size_t p = 0; p < m; p++) {
        const double *col = v + 2 * p * m2;
        for (size_t k = 0; k < m; k++) {
            ure[k * m + p] = col[k];
            uim[k * m + p] = col[m + k];
            hre[p * m + k] = col[k];  /* U^H: row p = conj(u_p) */
            him[p * m + k] = -col[m + k];
        }
    }
    /* clean differences: unique among all by SECTOR_DIFF_GAP of the spread */
    size_t nd = 0;
    for (size_t a = 0; a < m; a++)
        for (size_t b = a + 1; b < m; b++)
            diff[nd++] = (sector_diff){lambda[b] - lambda[a], a, b};
    qsort(diff, nd, sizeof *diff, diff_cmp);
    for (size_t i = 0; i < nd; i++) {
        bool unique = (i == 0 || diff[i].value - diff[i - 1].value > SECTOR_DIFF_GAP * spread) &&
                      (i + 1 == nd || diff[i + 1].value - diff[i].value > SECTOR_DIFF_GAP * spread);
        clean[diff[i].a * m + diff[i].b] = unique;
    }
    /* edges: clean positions where a combination's transform is non-zero */
    for (size_t i = 0; i < m; i++)
        parent[i] = i;
    double *T = u + 2 * m * m; /* C U: re then im */
    for (size_t r = 0; r < n_combos; r++) {
        double norm2 = 0;
        for (size_t i = 0; i < m * m; i++)
            norm2 += c_re[r][i] * c_re[r][i] + c_im[r][i] * c_im[r][i];
        if (!(norm2 > 0))
            continue;
        double threshold = SECTOR_ENTRY_TOL * sqrt(norm2);
        cmul(m, c_re[r], c_im[r], ure, uim, T, T + m * m);
        cmul(m, hre, him, T, T + m * m, tr, tr + m * m);
        for (size_t a = 0; a < m; a++)
            for (size_t b = a + 1; b < m; b++)
                if (clean[a * m + b] && hypot(tr[a * m + b], tr[m * m + a * m + b]) > threshold)
                    qml__lie_uf_union(parent, a, b);
    }
    *told = true;
    size_t root = qml__uf_find(parent, 0);
    bool connected = true;
    for (size_t i = 1; i < m && connected; i++)
        connected = qml__uf_find(parent, i) == root;
    *contains = connected;
done:
    qml__free(v);
    qml__free(w);
    qml__free(u);
    qml__free(t);
    qml__free(tr);
    qml__free(lambda);
    qml__free(diff);
    qml__free(clean);
    qml__free(parent);
    return status;
}

/* Random combinations of the generators restricted to the sector `sec`
 * (m states): out[r] = sum_k coef[r][k] G_k|_V, complex m x m (re, im). */
static int sector_combinations(sector_ctx *ctx, const string_table *sec, size_t n_out, const double *coef,
                               double *const *out_re, double *const *out_im)
{
    size_t m = sec->count;
    for (size_t r = 0; r < n_out; r++) {
        memset(out_re[r], 0, m * m * sizeof *out_re[r]);
        memset(out_im[r], 0, m * m * sizeof *out_im[r]);
    }
    for (size_t j = 0; j < m; j++) {
        memcpy(ctx->state, sec->x + j * ctx->words, ctx->words * sizeof *ctx->state);
        for (size_t k = 0; k < ctx->K; k++) {
            size_t count = 0;
            if (!sector_images(ctx, k, ctx->state, &count))
                return QML_ERR_NOT_APPLICABLE; /* not reached: the search met the same amplitudes */
            for (size_t e = 0; e < count; e++) {
                size_t i = qml__lie_table_find(sec, ctx->target + e * ctx->words, ctx->zero);
                if (i == SIZE_MAX)
                    return QML_ERR_NOT_APPLICABLE; /* not reached: the sector is closed */
                for (size_t r = 0; r < n_out; r++) {
                    double c = coef[r * ctx->K + k];
                    out_re[r][i * m + j] += c * ctx->amp_re[e];
                    out_im[r][i * m + j] += c * ctx->amp_im[e];
                }
            }
        }
    }
    return QML_OK;
}

/* Does the algebra act on the sector as (at least) su(m)? Up to
 * SECTOR_ATTEMPTS random h. */
static int sector_contains_su(sector_ctx *ctx, const string_table *sec, bool *contains)
{
    *contains = false;
    size_t m = sec->count, K = ctx->K;
    enum { N_MAT = 7 }; /* h, two bracket factors, two edge combinations, product scratch (2) */
    double *buf = qml__malloc(qml__mul_size(qml__mul_size(2 * N_MAT, m * m) + 1, sizeof *buf));
    double *coef = qml__malloc(qml__mul_size(5 * K + 1, sizeof *coef));
    if (!buf || !coef) {
        qml__free(buf);
        qml__free(coef);
        return qml__oom("the sector certificate");
    }
    double *re[N_MAT], *im[N_MAT];
    for (int i = 0; i < N_MAT; i++) {
        re[i] = buf + (size_t)(2 * i) * m * m;
        im[i] = buf + (size_t)(2 * i + 1) * m * m;
    }
    int status = QML_OK;
    for (unsigned attempt = 0; attempt < SECTOR_ATTEMPTS && !status && !*contains; attempt++) {
        struct qml_rng rng;
        qml__rng_init(&rng, LIE_SEED, 0x5ec7u + attempt);
        for (size_t i = 0; i < 5 * K; i++)
            coef[i] = qml__rng_normal(&rng);
        status = sector_combinations(ctx, sec, 5, coef, re, im);
        if (status == QML_ERR_NOT_APPLICABLE) {
            status = QML_OK;
            break;
        }
        if (status)
            break;
        /* h = h1 / ||h1|| + i[A, B] / ||i[A, B]||: the bracket takes h off the
         * span of the generators (a generic element of the algebra) */
        cmul(m, re[1], im[1], re[2], im[2], re[5], im[5]); /* P = A B */
        double n1 = 0, n2 = 0;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < m; j++) {
                /* i (P - P^H): entry (i, j) = i P_ij - i conj(P_ji) */
                double pr = re[5][i * m + j], pi = im[5][i * m + j];
                double qr = re[5][j * m + i], qi = im[5][j * m + i];
                re[6][i * m + j] = -pi - qi;
                im[6][i * m + j] = pr - qr;
                n1 += re[0][i * m + j] * re[0][i * m + j] + im[0][i * m + j] * im[0][i * m + j];
                n2 += re[6][i * m + j] * re[6][i * m + j] + im[6][i * m + j] * im[6][i * m + j];
            }
        double s1 = n1 > 0 ? 1.0 / sqrt(n1) : 0.0, s2 = n2 > 0 ? 1.0 / sqrt(n2) : 0.0;
        for (size_t i = 0; i < m * m; i++) {
            re[0][i] = s1 * re[0][i] + s2 * re[6][i];
            im[0][i] = s1 * im[0][i] + s2 * im[6][i];
        }
        const double *cre[2] = {re[3], re[4]}, *cim[2] = {im[3], im[4]};
        bool told = false;
        status = qml__lie_su_certificate(m, re[0], im[0], 2, cre, cim, contains, &told);
    }
    qml__free(buf);
    qml__free(coef);
    return status;
}

/* ---- the centre ------------------------------------------------------------------ */

/* t[a] = tr_V(B_a) / |V| over the sector's states (only Z-type strings have
 * a trace): zs lists the Z-type string ids. */
static void sector_trace_vector(const qml_lie_algebra *algebra, const string_table *sec, const size_t *zs, size_t nz,
                                double *t)
{
    unsigned words = algebra->words;
    memset(t, 0, algebra->dim * sizeof *t);
    for (size_t i = 0; i < nz; i++) {
        size_t s = zs[i];
        if (s >= algebra->head_capacity || algebra->head[s] == SIZE_MAX)
            continue;
        const uint64_t *z = algebra->strings.z + s * words;
        double tr = 0;
        for (size_t b = 0; b < sec->count; b++) {
            unsigned e = 0;
            for (unsigned w = 0; w < words; w++)
                e += popcount64(z[w] & sec->x[b * words + w]);
            tr += (e & 1u) ? -1.0 : 1.0;
        }
        tr /= (double)sec->count;
        for (size_t e = algebra->head[s]; e != SIZE_MAX; e = algebra->node[e].next)
            t[algebra->node[e].owner] += algebra->node[e].val * tr;
    }
}

/* Add t (d) to the orthonormal centre vectors zc[0..*nc) when it adds a
 * dimension (two passes of Gram-Schmidt); ignored at norm SECTOR_TRACE_MIN
 * or less; coordinates below SECTOR_CENTRE_DROP of the largest are dropped
 * first. *excess: a direction beyond max_nc. */
static void centre_add(size_t d, double *t, double *zc, size_t *nc, size_t max_nc, bool *excess)
{
    double big = 0, norm0 = 0;
    for (size_t a = 0; a < d; a++) {
        big = fmax(big, fabs(t[a]));
        norm0 += t[a] * t[a];
    }
    if (!(sqrt(norm0) > SECTOR_TRACE_MIN))
        return;
    norm0 = 0;
    for (size_t a = 0; a < d; a++) {
        if (fabs(t[a]) <= SECTOR_CENTRE_DROP * big)
            t[a] = 0;
        norm0 += t[a] * t[a];
    }
    norm0 = sqrt(norm0);
    for (int pass = 0; pass < 2; pass++)
        for (size_t j = 0; j < *nc; j++) {
            double dot = qml__lie_dot(d, zc + j * d, t);
            for (size_t a = 0; a < d; a++)
                t[a] -= dot * zc[j * d + a];
        }
    double norm = sqrt(qml__lie_dot(d, t, t));
    if (!(norm > SECTOR_CENTRE_NEW * norm0))
        return;
    if (*nc == max_nc) {
        *excess = true;
        return;
    }
    for (size_t a = 0; a < d; a++)
        zc[*nc * d + a] = t[a] / norm;
    (*nc)++;
}

/* Every centre vector commutes with every generator (unit norms). */
static int centre_commutes(const qml_lie_algebra *algebra, const double *zc, size_t nc, bool *commutes)
{
    *commutes = true;
    size_t d = algebra->dim;
    size_t *support = qml__malloc((d + 1) * sizeof *support);
    if (!support)
        return qml__oom("the centre check");
    int status = QML_OK;
    for (size_t j = 0; j < nc && *commutes && !status; j++) {
        size_t n_support = 0;
        for (size_t a = 0; a < d; a++)
            if (zc[j * d + a] != 0.0)
                support[n_support++] = a;
        double *coords = qml__malloc((n_support + 1) * sizeof *coords);
        if (!coords) {
            status = qml__oom("the centre check");
            break;
        }
        for (size_t i = 0; i < n_support; i++)
            coords[i] = zc[j * d + support[i]];
        lie_component c = {.dim = 1, .n_support = n_support, .support = support, .coords = coords};
        qml_pauli_sum *z = NULL;
        status = qml__lie_element_to_sum(algebra, coords, &c, 0, &z);
        double zn = 0;
        if (!status)
            status = qml_pauli_sum_norm(z, &zn);
        for (size_t k = 0; k < algebra->n_generators && !status && *commutes; k++) {
            qml_pauli_sum *br = NULL;
            double gn = 0, bn = 0;
            status = qml_pauli_sum_bracket(&br, z, algebra->generators[k]);
            if (!status)
                status = qml_pauli_sum_norm(br, &bn);
            if (!status)
                status = qml_pauli_sum_norm(algebra->generators[k], &gn);
            *commutes = status || bn <= SECTOR_CENTRE_CHECK * zn * gn;
            qml_pauli_sum_free(br);
        }
        qml_pauli_sum_free(z);
        qml__free(coords);
    }
    qml__free(support);
    return status;
}

/* ---- the rotated basis ----------------------------------------------------------- */

/* Rotate the basis on S (s ascending indices): new B_{S[j]} = sum_i
 * Q[i][j] B_{S[i]} (Q s x s orthogonal, row-major); *ok false when the
 * rotated elements would exceed SECTOR_BASIS_ENTRIES (nothing changes). */
static int rotate_basis(qml_lie_algebra *algebra, const size_t *S, size_t s, const double *Q, bool *ok)
{
    *ok = false;
    size_t d = algebra->dim, N = algebra->strings.count;
    size_t old_in_s = 0;
    for (size_t i = 0; i < s; i++)
        old_in_s += algebra->start[S[i] + 1] - algebra->start[S[i]];
    if (old_in_s > SECTOR_BASIS_ENTRIES / (s ? s : 1))
        return QML_OK;
    double *acc = qml__calloc(N + 1, sizeof *acc);
    unsigned char *mark = qml__calloc(N + 1, 1);
    size_t *touched = qml__malloc((N + 1) * sizeof *touched);
    size_t *pos = qml__malloc((d + 1) * sizeof *pos);
    size_t capacity = algebra->n_entries - old_in_s + s * old_in_s + 1;
    size_t *start = qml__malloc((d + 2) * sizeof *start);
    size_t *col = qml__malloc(capacity * sizeof *col);
    double *val = qml__malloc(capacity * sizeof *val);
    int status = QML_OK;
    if (!acc || !mark || !touched || !pos || !start || !col || !val) {
        status = qml__oom("the rotated basis");
        goto done;
    }
    for (size_t a = 0; a < d; a++)
        pos[a] = SIZE_MAX;
    for (size_t i = 0; i < s; i++)
        pos[S[i]] = i;
    size_t count = 0;
    start[0] = 0;
    for (size_t a = 0; a < d; a++) {
        if (pos[a] == SIZE_MAX) {
            for (size_t e = algebra->start[a]; e < algebra->start[a + 1]; e++) {
                col[count] = algebra->col[e];
                val[count++] = algebra->val[e];
            }
        } else {
            size_t j = pos[a], n_touched = 0;
            for (size_t i = 0; i < s; i++) {
                double q = Q[i * s + j];
                if (q == 0.0)
                    continue;
                for (size_t e = algebra->start[S[i]]; e < algebra->start[S[i] + 1]; e++) {
                    size_t id = algebra->col[e];
                    if (!mark[id]) {
                        mark[id] = 1;
                        touched[n_touched++] = id;
                    }
                    acc[id] += q * algebra->val[e];
                }
            }
            /* ascending string ids, as the closure stores them */
            for (size_t i = 1; i < n_touched; i++) {
                size_t x = touched[i], k = i;
                while (k > 0 && touched[k - 1] > x) {
                    touched[k] = touched[k - 1];
                    k--;
                }
                touched[k] = x;
            }
            for (size_t i = 0; i < n_touched; i++) {
                size_t id = touched[i];
                if (acc[id] != 0.0) {
                    col[count] = id;
                    val[count++] = acc[id];
                }
                acc[id] = 0;
                mark[id] = 0;
            }
        }
        start[a + 1] = count;
    }
    status = qml__lie_install_basis(algebra, start, col, val, count, capacity);
    if (status)
        goto done;
    start = NULL;
    col = NULL;
    val = NULL;
    *ok = true;
done:
    qml__free(acc);
    qml__free(mark);
    qml__free(touched);
    qml__free(pos);
    qml__free(start);
    qml__free(col);
    qml__free(val);
    return status;
}

/* Q (s x s, row-major, orthogonal) whose first nc columns are the centre
 * vectors restricted to S (orthonormal), by Householder reflections. */
static int householder_completion(const double *zc, size_t d, size_t nc, const size_t *S, size_t s, double *Q)
{
    double *a = qml__malloc(qml__mul_size(s * nc + 1, sizeof *a)); /* s x nc, column-major */
    double *vs = qml__calloc(qml__mul_size(s * nc + 1, 1), sizeof *vs);
    double *beta = qml__calloc(nc + 1, sizeof *beta);
    if (!a || !vs || !beta) {
        qml__free(a);
        qml__free(vs);
        qml__free(beta);
        return qml__oom("the rotated basis");
    }
    for (size_t j = 0; j < nc; j++)
        for (size_t i = 0; i < s; i++)
            a[j * s + i] = zc[j * d + S[i]];
    /* H_j = I - beta_j v_j v_j^T zeroes column j below row j */
    for (size_t j = 0; j < nc; j++) {
        double *col = a + j * s, *v = vs + j * s;
        double norm = 0;
        for (size_t i = j; i < s; i++)
            norm += col[i] * col[i];
        norm = sqrt(norm);
        double alpha = col[j] > 0 ? -norm : norm;
        for (size_t i = j; i < s; i++)
            v[i] = col[i];
        v[j] -= alpha;
        double vv = 0;
        for (size_t i = j; i < s; i++)
            vv += v[i] * v[i];
        beta[j] = vv > 0 ? 2.0 / vv : 0.0;
        for (size_t l = j; l < nc; l++) {
            double *cl = a + l * s, dot = 0;
            for (size_t i = j; i < s; i++)
                dot += v[i] * cl[i];
            for (size_t i = j; i < s; i++)
                cl[i] -= beta[j] * dot * v[i];
        }
    }
    /* Q = H_0 ... H_{nc-1}: column k = H_0 (... (H_{nc-1} e_k)). The
     * reflections' product maps e_j (j < nc) to +-z_j: the signs do not
     * matter (a centre vector or its negative). */
    double *e = qml__malloc((s + 1) * sizeof *e);
    if (!e) {
        qml__free(a);
        qml__free(vs);
        qml__free(beta);
        return qml__oom("the rotated basis");
    }
    for (size_t k = 0; k < s; k++) {
        memset(e, 0, s * sizeof *e);
        e[k] = 1;
        for (size_t j = nc; j-- > 0;) {
            const double *v = vs + j * s;
            double dot = 0;
            for (size_t i = j; i < s; i++)
                dot += v[i] * e[i];
            for (size_t i = j; i < s; i++)
                e[i] -= beta[j] * dot * v[i];
        }
        for (size_t i = 0; i < s; i++)
            Q[i * s + k] = e[i];
    }
    qml__free(e);
    qml__free(a);
    qml__free(vs);
    qml__free(beta);
    return QML_OK;
}

/* ---- the route ------------------------------------------------------------------- */

int qml__lie_structure_sector(qml_lie_algebra *algebra, bool *decided)
{
    *decided = false;
    size_t d = algebra->dim;
    unsigned n = algebra->n_qubits, words = algebra->words;
    if (algebra->pure || algebra->orbit || d < 3 || !algebra->start || algebra->n_generators == 0)
        return QML_OK;
    size_t m = (size_t)sqrt((double)d + 1.0);
    while (m * m > d + 1)
        m--;
    while ((m + 1) * (m + 1) <= d + 1)
        m++;
    if (m < 2 || m > SECTOR_MAX || d + 1 - m * m > 3)
        return QML_OK;
    size_t c = d + 1 - m * m; /* the centre's dimension, if the route applies */

    sector_ctx ctx;
    string_table seen = {.words = words}, sec = {.words = words}, target = {.words = words};
    size_t *zs = NULL, nz = 0, *S = NULL;
    double *t = NULL, *zc = NULL, *Q = NULL;
    uint64_t *seed = NULL;
    ideal_list list = {0};
    lie_component centre = {0}, ideal = {0};
    int status = ctx_init(&ctx, algebra);
    if (!status) {
        zs = qml__malloc((algebra->strings.count + 1) * sizeof *zs);
        t = qml__malloc((d + 1) * sizeof *t);
        zc = qml__calloc(qml__mul_size(4, d) + 1, sizeof *zc);
        seed = qml__calloc(words, sizeof *seed);
        if (!zs || !t || !zc || !seed)
            status = qml__oom("the sector search");
    }
    if (status)
        goto done;
    for (size_t s = 0; s < algebra->strings.count; s++) {
        bool diagonal = true;
        for (unsigned w = 0; w < words && diagonal; w++)
            diagonal = algebra->strings.x[s * words + w] == 0;
        if (diagonal)
            zs[nz++] = s;
    }

    /* Seeds in order until a sector of m states is found and the sectors'
     * trace vectors span c dimensions (or the search's work runs out). */
    size_t nc = 0;
    bool excess = false, found = false, target_traced = false;
    for (size_t index = 0; sector_seed(n, index, seed, words) && ctx.work < SECTOR_SEARCH_WORK; index++) {
        if (found && nc == c)
            break;
        ctx.work += 1.0; /* a seed met before costs a look-up: counted, so n^2 / 2 of them stay bounded */
        if (qml__lie_table_find(&seen, seed, ctx.zero) != SIZE_MAX)
            continue;
        bool complete = false, ambiguous = false;
        qml__lie_table_release(&sec);
        status = sector_grow(&ctx, seed, m, &sec, &complete, &ambiguous);
        if (status || ambiguous)
            goto done;
        for (size_t i = 0; i < sec.count && !status; i++) {
            size_t id;
            bool inserted;
            status = qml__lie_table_insert(&seen, sec.x + i * words, ctx.zero, &id, &inserted);
        }
        if (status)
            goto done;
        if (!complete)
            continue;
        sector_trace_vector(algebra, &sec, zs, nz, t);
        if (!found && sec.count == m) {
            string_table swap = target;
            target = sec;
            sec = swap;
            found = true;
            /* rho(g) = u(m) iff some element has a trace on V: t_V != 0
             * (read before centre_add orthogonalises t in place) */
            target_traced = sqrt(qml__lie_dot(d, t, t)) > SECTOR_TRACE_MIN;
        }
        centre_add(d, t, zc, &nc, c, &excess);
        if (excess)
            goto done; /* more central directions than the dimension allows: not this route */
    }
    if (!found || nc != c)
        goto done;
    /* ker rho has dimension c - 1 (rho(g) = u(m)) or c (su(m)): at most 2 */
    if (!target_traced && c > 2)
        goto done;
    bool contains = false;
    status = sector_contains_su(&ctx, &target, &contains);
    if (status || !contains)
        goto done;
    bool commutes = false;
    status = centre_commutes(algebra, zc, nc, &commutes);
    if (status || !commutes)
        goto done;

    /* rotate the basis on the centre's support, then both parts are basis elements */
    size_t s = 0;
    S = qml__malloc((d + 1) * sizeof *S);
    if (!S) {
        status = qml__oom("the rotated basis");
        goto done;
    }
    for (size_t a = 0; a < d; a++) {
        bool used = false;
        for (size_t j = 0; j < nc && !used; j++)
            used = zc[j * d + a] != 0.0;
        if (used)
            S[s++] = a;
    }
    if (nc > 0) {
        if (s > 8192u)
            goto done;
        Q = qml__malloc(qml__mul_size(s * s + 1, sizeof *Q));
        if (!Q) {
            status = qml__oom("the rotated basis");
            goto done;
        }
        status = householder_completion(zc, d, nc, S, s, Q);
        bool ok = false;
        if (!status)
            status = rotate_basis(algebra, S, s, Q, &ok);
        if (status || !ok)
            goto done;
    }
    centre.dim = centre.n_support = nc;
    centre.support = qml__malloc((nc + 1) * sizeof *centre.support);
    ideal.dim = ideal.n_support = d - nc;
    ideal.rank = m - 1;
    ideal.support = qml__malloc((d - nc + 1) * sizeof *ideal.support);
    ideal.names = qml__lie_ideal_names(ideal.dim, ideal.rank, true);
    ideal.certificate = QML_LIE_CERTIFICATE_REPRESENTATION;
    if (!centre.support || !ideal.support || !ideal.names) {
        status = qml__oom("the structure");
        goto done;
    }
    for (size_t j = 0; j < nc; j++)
        centre.support[j] = S[j];
    for (size_t a = 0, i = 0; a < d; a++) {
        bool central = false;
        for (size_t j = 0; j < nc && !central; j++)
            central = S[j] == a;
        if (!central)
            ideal.support[i++] = a;
    }
    status = qml__lie_ideal_push(&list, &ideal);
    if (status)
        goto done;
    qml__lie_component_release(&algebra->center);
    algebra->center = centre;
    memset(&centre, 0, sizeof centre);
    algebra->ideals = list.items;
    algebra->n_ideals = list.count;
    list = (ideal_list){0};
    algebra->structure_known = true;
    algebra->structure_state = QML_LIE_STRUCTURE_KNOWN;
    *decided = true;
done:
    ctx_release(&ctx);
    qml__lie_table_release(&seen);
    qml__lie_table_release(&sec);
    qml__lie_table_release(&target);
    qml__lie_ideal_list_release(&list);
    qml__lie_component_release(&centre);
    qml__lie_component_release(&ideal);
    qml__free(zs);
    qml__free(t);
    qml__free(zc);
    qml__free(Q);
    qml__free(S);
    qml__free(seed);
    return status;
}

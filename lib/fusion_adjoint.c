/*
 * fusion_adjoint.c: the backward sweep of the adjoint gradient in fused
 * blocks (docs/simulator.md, "The adjoint's cost model"). The sweep is
 * planned as the forward run is (fusion.c, qml__fusion_plan); each block of
 * at most `width` qubits is then done in one pass over both states: for
 * every group of 2^k amplitudes (the block's k qubits varying, the others
 * fixed) psi and lambda are loaded into local vectors, and for the block's
 * gates from last to first the gate's overlap Im <lambda| G |psi> is taken
 * from the local vectors and the gate is un-applied on both of them; the
 * vectors are then written back. In real width-4 blocks on qubits 2 and up
 * the first and the last operation, when they are real one-qubit gates,
 * read and write the states themselves instead (the block's edges,
 * adj_edge).
 *
 * Why the local overlaps are right: a generator G is supported on its gate's
 * qubits, so <lambda| G |psi> is a sum over the groups of the local
 * overlaps; gates of other open blocks not yet un-applied act on other
 * qubits and commute with G (the planner keeps open blocks disjoint).
 *
 * Groups are taken LANES at a time, one group per vector lane, so every
 * operation is a vector operation whatever the block's qubits. Partial sums
 * are reduced in a fixed order (within a grain of ADJ_GRAIN amplitudes in
 * an order that depends only on the block: chunks, then each gate's slots,
 * then groups, then lanes; then grains in index order), so the bits do not
 * depend on the thread count.
 */
#include "internal.h"

#include <string.h>

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

#if defined(__GNUC__) && defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define ADJ_VECTORS 1
#endif
#endif

#ifdef ADJ_VECTORS
#define LANES 4u
typedef double lane_t __attribute__((vector_size(32)));
#define SPLAT(v) ((lane_t){0.0, 0.0, 0.0, 0.0} + (v))
#else
#define LANES 1u
typedef double lane_t;
#define SPLAT(v) (v)
#endif

#if defined(ADJ_VECTORS) && (defined(__x86_64__) || defined(__i386__))
#define ADJ_AVX2 1
#endif

#define MAXK (1u << QML__FUSE_MAX_WIDTH)
#define ADJ_MAX_FACTORS 2u
/* Amplitudes per grain of the parallel split and of the reduction. */
#define ADJ_GRAIN ((uint64_t)1 << QML__TILE_BITS)
/* Slots (lane vectors of one state's real or imaginary parts) per chunk of
 * groups held at once: each gate is taken over the whole chunk (16 KiB of
 * local vectors), so its constants and slot indices are loaded once. 16 KiB
 * leaves half of a 32 KiB L1 to the states' lines: measured about 9 % less
 * time than 32 KiB on the ladder's backward (n = 16 and 20), where
 * instruction counts cannot tell the two apart. */
#define ADJ_CHUNK 128u


enum { OP_NONE, OP_DIAGONAL, OP_REAL, OP_COMPLEX, OP_QUAD, OP_PAIR, OP_PAIR_DIAGONAL };

/* What a one-qubit gate's overlap needs (OP_PAIR): with G = [[a, b],
 * [conj b, d]] on the pair (0, 1), u = conj(l0) p1, v = conj(l1) p0:
 * Im <l|G|p> = a Im(conj(l0) p0) + d Im(conj(l1) p1) + Re b (Im u + Im v)
 * + Im b (Re u - Re v). */
enum { OV_NONE, OV_IMAG_OFF, OV_REAL_OFF, OV_DIAGONAL, OV_GENERAL };

/* One factor c P(x, z) of a generator in block-local bits: the lane sum
 * sum_c w[c] t_c with t_c = Re or Im of conj(lambda_{c ^ x}) psi_c gives
 * c Im <lambda| P |psi> (P|j> = i^{|x&z|} (-1)^{|j&z|} |j ^ x>, so
 * <lambda|P|psi> = i^{|x&z|} S, S = sum_c (-1)^{|c&z|} conj(lambda_{c^x}) psi_c;
 * w folds c, the sign and the power of i). */
typedef struct adj_factor {
    bool use_real;              /* |x & z| odd: Im(i^p S) is +-Re S */
    uint8_t partner[MAXK];
    double w[MAXK];
} adj_factor;

/* One gate of a block: U^dagger on the local vectors, and its overlap. */
typedef struct adj_op {
    int cls;
    unsigned dim;               /* 2^m for the gate's m qubits (OP_REAL, OP_COMPLEX) */
    uint8_t index[MAXK];        /* dense: index[s * dim + r] is the local amplitude of row r in sub-block s */
    double mr[64], mi[64];      /* dense: dim x dim row-major; diagonal: the entries of slots[] */
    unsigned n_slots;           /* diagonal: the slots whose entry is not 1 */
    uint8_t slots[MAXK];
    bool real;                  /* diagonal, pair: every imaginary part 0 */
    int ov;                     /* pair: OV_*; the generator's a, d, Re b, Im b */
    double ga, gd, gbr, gbi;
    unsigned n_factors;
    adj_factor factor[ADJ_MAX_FACTORS];
    /* OP_QUAD: this real one-qubit gate (mr[0..3], gbi) then a second one
     * (mr2, gbi2) on another qubit, in one loop over quadruples of slots:
     * quad[4t], quad[4t + 1] pair under the first, quad[4t], quad[4t + 2]
     * under the second; out1, out2: whether each has an output */
    double mr2[4], gbi2;
    bool out1, out2;
    uint8_t quad[MAXK];
} adj_op;

typedef struct adj_context {
    double *psi, *lambda;
    unsigned k;
    unsigned fixed[QML__FUSE_MAX_WIDTH];
    uint64_t off[MAXK];         /* offset in doubles (2 per amplitude) of local index c (loads) */
    uint64_t off_out[MAXK];     /* of the amplitude in slot c at the end (stores) */
    uint64_t lane_off[LANES];   /* amplitude offset of lane l's base from lane 0's */
    const adj_op *ops;
    unsigned n_ops;
    unsigned n_out;             /* gates with an overlap (outputs in op order) */
    uint64_t groups_per_grain;  /* groups of LANES bases */
    uint64_t n_grains;
    double *partials;           /* n_grains x n_out, or NULL */
    bool interleaved;           /* real_block(): the local vectors keep the states' interleaved layout */
    bool edge_in, edge_out;     /* interleaved, adjacent: the first / last op reads / writes the states (adj_edge) */
    int path;
} adj_context;

/* ---- kernels ---------------------------------------------------------------- */

static ALWAYS_INLINE void op_unapply(const adj_op *op, unsigned K, lane_t *restrict vr, lane_t *restrict vi)
{
    switch (op->cls) {
    case OP_DIAGONAL:
        if (op->real) {
            for (unsigned j = 0; j < op->n_slots; j++) {
                const unsigned c = op->slots[j];
                vr[c] *= op->mr[j], vi[c] *= op->mr[j];
            }
            return;
        }
        for (unsigned j = 0; j < op->n_slots; j++) {
            const unsigned c = op->slots[j];
            const lane_t xr = vr[c], xi = vi[c];
            vr[c] = op->mr[j] * xr - op->mi[j] * xi;
            vi[c] = op->mr[j] * xi + op->mi[j] * xr;
        }
        return;
    case OP_NONE:
        return;
    default:
        break;
    }
    const unsigned D = op->dim;
    const bool real = op->cls == OP_REAL;
    if (D == 2) {
        const double a = op->mr[0], b = op->mr[1], c = op->mr[2], d = op->mr[3];
        const double ai = op->mi[0], bi = op->mi[1], ci = op->mi[2], di = op->mi[3];
        for (unsigned s = 0; s < K / 2; s++) {
            const unsigned i0 = op->index[2 * s], i1 = op->index[2 * s + 1];
            const lane_t xr = vr[i0], xi = vi[i0], yr = vr[i1], yi = vi[i1];
            if (real) {
                vr[i0] = a * xr + b * yr, vi[i0] = a * xi + b * yi;
                vr[i1] = c * xr + d * yr, vi[i1] = c * xi + d * yi;
            } else {
                vr[i0] = a * xr + b * yr - ai * xi - bi * yi, vi[i0] = a * xi + b * yi + ai * xr + bi * yr;
                vr[i1] = c * xr + d * yr - ci * xi - di * yi, vi[i1] = c * xi + d * yi + ci * xr + di * yr;
            }
        }
        return;
    }
    for (unsigned s = 0; s < K / D; s++) {
        const uint8_t *ix = op->index + s * D;
        lane_t xr[8], xi[8];
        for (unsigned c = 0; c < D; c++)
            xr[c] = vr[ix[c]], xi[c] = vi[ix[c]];
        for (unsigned r = 0; r < D; r++) {
            const double *mr = op->mr + r * D, *mi = op->mi + r * D;
            lane_t sr = mr[0] * xr[0], si = mr[0] * xi[0];
            if (!real)
                sr -= mi[0] * xi[0], si += mi[0] * xr[0];
            for (unsigned c = 1; c < D; c++) {
                sr += mr[c] * xr[c], si += mr[c] * xi[c];
                if (!real)
                    sr -= mi[c] * xi[c], si += mi[c] * xr[c];
            }
            vr[ix[r]] = sr, vi[ix[r]] = si;
        }
    }
}

/* A one-qubit gate: its overlap and U^dagger on both states in one loop
 * over the pairs (the overlap's terms read the values the rotation loads). */
static ALWAYS_INLINE void pair_body(const adj_op *op, unsigned K, lane_t *restrict local, unsigned nq,
                                    lane_t *restrict acc, bool real, bool diagonal, int ov)
{
    const double a = op->mr[0], b = op->mr[1], c = op->mr[2], d = op->mr[3];
    const double ai = op->mi[0], bi = op->mi[1], ci = op->mi[2], di = op->mi[3];
    const double ga = op->ga, gd = op->gd, gbr = op->gbr, gbi = op->gbi;
    uint8_t index[MAXK];
    memcpy(index, op->index, sizeof index);
    /* pairs outer, groups inner: a pair's slot offsets are computed once
     * for the chunk, and the inner loop walks the groups at a fixed stride */
    lane_t sum = SPLAT(0.0);
    for (unsigned s = 0; s < K / 2; s++) {
        const unsigned i0 = index[2 * s], i1 = index[2 * s + 1];
        for (unsigned q = 0; q < nq; q++) {
            lane_t *restrict pr = local + 4 * K * q, *restrict pi = pr + K, *restrict lr = pr + 2 * K,
                             *restrict li = pr + 3 * K;
            const lane_t p0r = pr[i0], p0i = pi[i0], p1r = pr[i1], p1i = pi[i1];
            const lane_t l0r = lr[i0], l0i = li[i0], l1r = lr[i1], l1i = li[i1];
            if (ov == OV_IMAG_OFF) {
                /* Im b (Re u - Re v) */
                sum += gbi * ((l0r * p1r + l0i * p1i) - (l1r * p0r + l1i * p0i));
            } else if (ov == OV_REAL_OFF) {
                sum += gbr * ((l0r * p1i - l0i * p1r) + (l1r * p0i - l1i * p0r));
            } else if (ov == OV_DIAGONAL) {
                sum += ga * (l0r * p0i - l0i * p0r) + gd * (l1r * p1i - l1i * p1r);
            } else if (ov == OV_GENERAL) {
                const lane_t ur = l0r * p1r + l0i * p1i, ui = l0r * p1i - l0i * p1r;
                const lane_t vr_ = l1r * p0r + l1i * p0i, vi_ = l1r * p0i - l1i * p0r;
                sum += ga * (l0r * p0i - l0i * p0r) + gd * (l1r * p1i - l1i * p1r) + gbr * (ui + vi_) +
                       gbi * (ur - vr_);
            }
            if (diagonal) {
                pr[i0] = a * p0r - ai * p0i, pi[i0] = a * p0i + ai * p0r;
                pr[i1] = d * p1r - di * p1i, pi[i1] = d * p1i + di * p1r;
                lr[i0] = a * l0r - ai * l0i, li[i0] = a * l0i + ai * l0r;
                lr[i1] = d * l1r - di * l1i, li[i1] = d * l1i + di * l1r;
            } else if (real) {
                pr[i0] = a * p0r + b * p1r, pi[i0] = a * p0i + b * p1i;
                pr[i1] = c * p0r + d * p1r, pi[i1] = c * p0i + d * p1i;
                lr[i0] = a * l0r + b * l1r, li[i0] = a * l0i + b * l1i;
                lr[i1] = c * l0r + d * l1r, li[i1] = c * l0i + d * l1i;
            } else {
                pr[i0] = a * p0r + b * p1r - ai * p0i - bi * p1i, pi[i0] = a * p0i + b * p1i + ai * p0r + bi * p1r;
                pr[i1] = c * p0r + d * p1r - ci * p0i - di * p1i, pi[i1] = c * p0i + d * p1i + ci * p0r + di * p1r;
                lr[i0] = a * l0r + b * l1r - ai * l0i - bi * l1i, li[i0] = a * l0i + b * l1i + ai * l0r + bi * l1r;
                lr[i1] = c * l0r + d * l1r - ci * l0i - di * l1i, li[i1] = c * l0i + d * l1i + ci * l0r + di * l1r;
            }
        }
    }
    if (ov != OV_NONE)
        *acc += sum;
}

/* The pairs (matrix, overlap) one-qubit rotations make: RY (real, Im b),
 * RZ (diagonal, a and d), RX (complex, Re b), fixed real or complex gates
 * (no overlap) and general generators (complex, every term). Any other pair
 * (a rotation at an angle where its matrix happens to be real, say) takes
 * the complex general body, whose extra terms are exact zeros: fewer
 * specialisations, each of which is compiled once per block width and
 * instruction set. */
static ALWAYS_INLINE void pair_op(const adj_op *op, unsigned K, lane_t *local, unsigned nq, lane_t *acc)
{
    const bool diagonal = op->cls == OP_PAIR_DIAGONAL, real = op->real && !diagonal;
    if (real && op->ov == OV_IMAG_OFF)
        pair_body(op, K, local, nq, acc, true, false, OV_IMAG_OFF);
    else if (real && op->ov == OV_NONE)
        pair_body(op, K, local, nq, acc, true, false, OV_NONE);
    else if (diagonal && op->ov == OV_DIAGONAL)
        pair_body(op, K, local, nq, acc, false, true, OV_DIAGONAL);
    else if (!real && !diagonal && op->ov == OV_REAL_OFF)
        pair_body(op, K, local, nq, acc, false, false, OV_REAL_OFF);
    else if (!real && !diagonal && op->ov == OV_NONE)
        pair_body(op, K, local, nq, acc, false, false, OV_NONE);
    else
        pair_body(op, K, local, nq, acc, false, false, OV_GENERAL);
}

/* A real 2x2 un-applied on the pair (0, 1) of both states, after the
 * overlap gbi (Re conj(l0) p1 - Re conj(l1) p0) (an imaginary off-diagonal
 * generator, RY's) if `ov`. */
static ALWAYS_INLINE void real_pair(const double *m, double gbi, bool ov, lane_t *sum, lane_t *p0r, lane_t *p0i,
                                    lane_t *p1r, lane_t *p1i, lane_t *l0r, lane_t *l0i, lane_t *l1r, lane_t *l1i)
{
    const lane_t xr = *p0r, xi = *p0i, yr = *p1r, yi = *p1i, ur = *l0r, ui = *l0i, vr = *l1r, vi = *l1i;
    if (ov)
        *sum += gbi * ((ur * yr + ui * yi) - (vr * xr + vi * xi));
    *p0r = m[0] * xr + m[1] * yr, *p0i = m[0] * xi + m[1] * yi;
    *p1r = m[2] * xr + m[3] * yr, *p1i = m[2] * xi + m[3] * yi;
    *l0r = m[0] * ur + m[1] * vr, *l0i = m[0] * ui + m[1] * vi;
    *l1r = m[2] * ur + m[3] * vr, *l1i = m[2] * ui + m[3] * vi;
}

/* OP_QUAD over the chunk: both gates on each quadruple of slots loaded once. */
static ALWAYS_INLINE void quad_body(const adj_op *op, unsigned K, lane_t *restrict local, unsigned nq,
                                    lane_t *restrict acc1, lane_t *restrict acc2, bool ov1, bool ov2)
{
    double m1[4], m2[4];
    memcpy(m1, op->mr, sizeof m1);
    memcpy(m2, op->mr2, sizeof m2);
    const double g1 = op->gbi, g2 = op->gbi2;
    uint8_t quad[MAXK];
    memcpy(quad, op->quad, sizeof quad);
    /* quadruples outer, groups inner (as pair_body) */
    lane_t s1 = SPLAT(0.0), s2 = SPLAT(0.0);
    for (unsigned t = 0; t < K / 4; t++) {
        const unsigned i0 = quad[4 * t], i1 = quad[4 * t + 1], i2 = quad[4 * t + 2], i3 = quad[4 * t + 3];
        for (unsigned q = 0; q < nq; q++) {
            lane_t *restrict pr = local + 4 * K * q, *restrict pi = pr + K, *restrict lr = pr + 2 * K,
                             *restrict li = pr + 3 * K;
            lane_t p0r = pr[i0], p0i = pi[i0], p1r = pr[i1], p1i = pi[i1];
            lane_t p2r = pr[i2], p2i = pi[i2], p3r = pr[i3], p3i = pi[i3];
            lane_t l0r = lr[i0], l0i = li[i0], l1r = lr[i1], l1i = li[i1];
            lane_t l2r = lr[i2], l2i = li[i2], l3r = lr[i3], l3i = li[i3];
            real_pair(m1, g1, ov1, &s1, &p0r, &p0i, &p1r, &p1i, &l0r, &l0i, &l1r, &l1i);
            real_pair(m1, g1, ov1, &s1, &p2r, &p2i, &p3r, &p3i, &l2r, &l2i, &l3r, &l3i);
            real_pair(m2, g2, ov2, &s2, &p0r, &p0i, &p2r, &p2i, &l0r, &l0i, &l2r, &l2i);
            real_pair(m2, g2, ov2, &s2, &p1r, &p1i, &p3r, &p3i, &l1r, &l1i, &l3r, &l3i);
            pr[i0] = p0r, pi[i0] = p0i, pr[i1] = p1r, pi[i1] = p1i;
            pr[i2] = p2r, pi[i2] = p2i, pr[i3] = p3r, pi[i3] = p3i;
            lr[i0] = l0r, li[i0] = l0i, lr[i1] = l1r, li[i1] = l1i;
            lr[i2] = l2r, li[i2] = l2i, lr[i3] = l3r, li[i3] = l3i;
        }
    }
    if (ov1)
        *acc1 += s1;
    if (ov2)
        *acc2 += s2;
}

static ALWAYS_INLINE void quad_op(const adj_op *op, unsigned K, lane_t *local, unsigned nq, lane_t *acc1,
                                  lane_t *acc2)
{
    if (op->out1 && op->out2)
        quad_body(op, K, local, nq, acc1, acc2, true, true);
    else if (op->out1)
        quad_body(op, K, local, nq, acc1, acc2, true, false);
    else if (op->out2)
        quad_body(op, K, local, nq, acc1, acc2, false, true);
    else
        quad_body(op, K, local, nq, acc1, acc2, false, false);
}

#ifdef ADJ_VECTORS
/* The block's first operation reading the chunk's groups straight from the
 * states (`from`) instead of from the local copy the gather would make, or
 * its last writing them straight back (`to`) instead of through the
 * scatter: one load and one store of every slot fewer per state at each
 * end. Interleaved layout, adjacent bases (gather4 / scatter4 without the
 * split): slot c of group q is the 8 doubles at psi + 2 addr[q] + off[c]
 * when the block starts, at off_out[c] when it ends. */
typedef struct adj_edge {
    double *psi, *lambda;
    const uint64_t *off, *off_out;
    const uint64_t (*addr)[LANES];
} adj_edge;

static ALWAYS_INLINE void edge_load(const double *a, uint64_t o, lane_t *r, lane_t *i)
{
    memcpy(r, a + o, sizeof *r);
    memcpy(i, a + o + 4, sizeof *i);
}

static ALWAYS_INLINE void edge_store(double *a, uint64_t o, const lane_t *r, const lane_t *i)
{
    memcpy(a + o, r, sizeof *r);
    memcpy(a + o + 4, i, sizeof *i);
}

/* OP_QUAD as an edge: the arithmetic of quad_body, in its order (an
 * overlap without output is computed and dropped). */
static ALWAYS_INLINE void edge_quad(const adj_op *op, unsigned K, lane_t *restrict local, unsigned nq,
                                    lane_t *restrict acc1, lane_t *restrict acc2, const adj_edge *e, bool from,
                                    bool to)
{
    double m1[4], m2[4];
    memcpy(m1, op->mr, sizeof m1);
    memcpy(m2, op->mr2, sizeof m2);
    const double g1 = op->gbi, g2 = op->gbi2;
    uint8_t quad[MAXK];
    memcpy(quad, op->quad, sizeof quad);
    lane_t s1 = SPLAT(0.0), s2 = SPLAT(0.0);
    for (unsigned t = 0; t < K / 4; t++) {
        const unsigned i0 = quad[4 * t], i1 = quad[4 * t + 1], i2 = quad[4 * t + 2], i3 = quad[4 * t + 3];
        const uint64_t *eo = from ? e->off : e->off_out;
        const uint64_t o0 = eo[i0], o1 = eo[i1], o2 = eo[i2], o3 = eo[i3];
        for (unsigned q = 0; q < nq; q++) {
            lane_t *restrict pr = local + 4 * K * q, *restrict pi = pr + K, *restrict lr = pr + 2 * K,
                             *restrict li = pr + 3 * K;
            double *ps = e->psi + 2 * e->addr[q][0], *ls = e->lambda + 2 * e->addr[q][0];
            lane_t p0r, p0i, p1r, p1i, p2r, p2i, p3r, p3i, l0r, l0i, l1r, l1i, l2r, l2i, l3r, l3i;
            if (from) {
                edge_load(ps, o0, &p0r, &p0i), edge_load(ps, o1, &p1r, &p1i);
                edge_load(ps, o2, &p2r, &p2i), edge_load(ps, o3, &p3r, &p3i);
                edge_load(ls, o0, &l0r, &l0i), edge_load(ls, o1, &l1r, &l1i);
                edge_load(ls, o2, &l2r, &l2i), edge_load(ls, o3, &l3r, &l3i);
            } else {
                p0r = pr[i0], p0i = pi[i0], p1r = pr[i1], p1i = pi[i1];
                p2r = pr[i2], p2i = pi[i2], p3r = pr[i3], p3i = pi[i3];
                l0r = lr[i0], l0i = li[i0], l1r = lr[i1], l1i = li[i1];
                l2r = lr[i2], l2i = li[i2], l3r = lr[i3], l3i = li[i3];
            }
            real_pair(m1, g1, true, &s1, &p0r, &p0i, &p1r, &p1i, &l0r, &l0i, &l1r, &l1i);
            real_pair(m1, g1, true, &s1, &p2r, &p2i, &p3r, &p3i, &l2r, &l2i, &l3r, &l3i);
            real_pair(m2, g2, true, &s2, &p0r, &p0i, &p2r, &p2i, &l0r, &l0i, &l2r, &l2i);
            real_pair(m2, g2, true, &s2, &p1r, &p1i, &p3r, &p3i, &l1r, &l1i, &l3r, &l3i);
            if (to) {
                edge_store(ps, o0, &p0r, &p0i), edge_store(ps, o1, &p1r, &p1i);
                edge_store(ps, o2, &p2r, &p2i), edge_store(ps, o3, &p3r, &p3i);
                edge_store(ls, o0, &l0r, &l0i), edge_store(ls, o1, &l1r, &l1i);
                edge_store(ls, o2, &l2r, &l2i), edge_store(ls, o3, &l3r, &l3i);
            } else {
                pr[i0] = p0r, pi[i0] = p0i, pr[i1] = p1r, pi[i1] = p1i;
                pr[i2] = p2r, pi[i2] = p2i, pr[i3] = p3r, pi[i3] = p3i;
                lr[i0] = l0r, li[i0] = l0i, lr[i1] = l1r, li[i1] = l1i;
                lr[i2] = l2r, li[i2] = l2i, lr[i3] = l3r, li[i3] = l3i;
            }
        }
    }
    if (op->out1)
        *acc1 += s1;
    if (op->out2)
        *acc2 += s2;
}

/* A real one-qubit gate of RY's kind (quad_candidate) as an edge: the
 * arithmetic of pair_body (real, OV_IMAG_OFF), in its order. */
static ALWAYS_INLINE void edge_pair(const adj_op *op, unsigned K, lane_t *restrict local, unsigned nq,
                                    lane_t *restrict acc, const adj_edge *e, bool from, bool to)
{
    double m[4];
    memcpy(m, op->mr, sizeof m);
    const double g = op->gbi;
    uint8_t index[MAXK];
    memcpy(index, op->index, sizeof index);
    lane_t sum = SPLAT(0.0);
    for (unsigned s = 0; s < K / 2; s++) {
        const unsigned i0 = index[2 * s], i1 = index[2 * s + 1];
        const uint64_t *eo = from ? e->off : e->off_out;
        const uint64_t o0 = eo[i0], o1 = eo[i1];
        for (unsigned q = 0; q < nq; q++) {
            lane_t *restrict pr = local + 4 * K * q, *restrict pi = pr + K, *restrict lr = pr + 2 * K,
                             *restrict li = pr + 3 * K;
            double *ps = e->psi + 2 * e->addr[q][0], *ls = e->lambda + 2 * e->addr[q][0];
            lane_t p0r, p0i, p1r, p1i, l0r, l0i, l1r, l1i;
            if (from) {
                edge_load(ps, o0, &p0r, &p0i), edge_load(ps, o1, &p1r, &p1i);
                edge_load(ls, o0, &l0r, &l0i), edge_load(ls, o1, &l1r, &l1i);
            } else {
                p0r = pr[i0], p0i = pi[i0], p1r = pr[i1], p1i = pi[i1];
                l0r = lr[i0], l0i = li[i0], l1r = lr[i1], l1i = li[i1];
            }
            real_pair(m, g, true, &sum, &p0r, &p0i, &p1r, &p1i, &l0r, &l0i, &l1r, &l1i);
            if (to) {
                edge_store(ps, o0, &p0r, &p0i), edge_store(ps, o1, &p1r, &p1i);
                edge_store(ls, o0, &l0r, &l0i), edge_store(ls, o1, &l1r, &l1i);
            } else {
                pr[i0] = p0r, pi[i0] = p0i, pr[i1] = p1r, pi[i1] = p1i;
                lr[i0] = l0r, li[i0] = l0i, lr[i1] = l1r, li[i1] = l1i;
            }
        }
    }
    if (op->ov != OV_NONE)
        *acc += sum;
}
#endif

/* A diagonal without overlap over the chunk: slots outer, groups inner (as
 * pair_body), on both states. */
static ALWAYS_INLINE void diagonal_chunk(const adj_op *op, unsigned K, lane_t *restrict local, unsigned nq)
{
    for (unsigned j = 0; j < op->n_slots; j++) {
        const unsigned c = op->slots[j];
        const double mr = op->mr[j], mi = op->mi[j];
        for (unsigned q = 0; q < 2 * nq; q++) {
            /* psi then lambda of group q / 2 */
            lane_t *restrict vr = local + 2 * K * q, *restrict vi = vr + K;
            if (op->real) {
                vr[c] *= mr, vi[c] *= mr;
            } else {
                const lane_t xr = vr[c], xi = vi[c];
                vr[c] = mr * xr - mi * xi;
                vi[c] = mr * xi + mi * xr;
            }
        }
    }
}

/* *acc += the lanes' Im <lambda| G |psi> (local). */
static ALWAYS_INLINE void op_overlap(const adj_op *op, unsigned K, const lane_t *pr, const lane_t *pi,
                                     const lane_t *lr, const lane_t *li, lane_t *acc)
{
    lane_t total = SPLAT(0.0);
    for (unsigned f = 0; f < op->n_factors; f++) {
        const adj_factor *fa = &op->factor[f];
        lane_t s = SPLAT(0.0);
        if (fa->use_real) {
            for (unsigned c = 0; c < K; c++) {
                const unsigned p = fa->partner[c];
                s += fa->w[c] * (lr[p] * pr[c] + li[p] * pi[c]);
            }
        } else {
            for (unsigned c = 0; c < K; c++) {
                const unsigned p = fa->partner[c];
                s += fa->w[c] * (lr[p] * pi[c] - li[p] * pr[c]);
            }
        }
        total += s;
    }
    *acc += total;
}

#ifndef ADJ_VECTORS
/* One lane: the portable build without vector extensions. */
static ALWAYS_INLINE void gather(const double *a, const uint64_t *addr, const uint64_t *off, unsigned K, lane_t *vr,
                                 lane_t *vi)
{
    for (unsigned c = 0; c < K; c++) {
        double tr[LANES], ti[LANES];
        for (unsigned l = 0; l < LANES; l++) {
            const double *x = a + 2 * addr[l] + off[c];
            tr[l] = x[0], ti[l] = x[1];
        }
        memcpy(&vr[c], tr, sizeof tr);
        memcpy(&vi[c], ti, sizeof ti);
    }
}

static ALWAYS_INLINE void scatter(double *a, const uint64_t *addr, const uint64_t *off, unsigned K, const lane_t *vr,
                                  const lane_t *vi)
{
    for (unsigned c = 0; c < K; c++) {
        double tr[LANES], ti[LANES];
        memcpy(tr, &vr[c], sizeof tr);
        memcpy(ti, &vi[c], sizeof ti);
        for (unsigned l = 0; l < LANES; l++) {
            double *x = a + 2 * addr[l] + off[c];
            x[0] = tr[l], x[1] = ti[l];
        }
    }
}
#endif

#ifdef ADJ_VECTORS
/* Four adjacent bases (the block's lowest qubit is 2 or more): for each c
 * eight consecutive doubles, split into real and imaginary lanes. */
static ALWAYS_INLINE void gather4(const double *a, uint64_t addr, const uint64_t *off, unsigned K, lane_t *vr,
                                  lane_t *vi, bool split)
{
    const double *p = a + 2 * addr;
    for (unsigned c = 0; c < K; c++) {
        lane_t lo, hi;
        memcpy(&lo, p + off[c], sizeof lo);
        memcpy(&hi, p + off[c] + 4, sizeof hi);
        if (split) {
            vr[c] = __builtin_shufflevector(lo, hi, 0, 4, 2, 6);
            vi[c] = __builtin_shufflevector(lo, hi, 1, 5, 3, 7);
        } else {
            vr[c] = lo, vi[c] = hi;
        }
    }
}

static ALWAYS_INLINE void scatter4(double *a, uint64_t addr, const uint64_t *off, unsigned K, const lane_t *vr,
                                   const lane_t *vi, bool split)
{
    double *p = a + 2 * addr;
    for (unsigned c = 0; c < K; c++) {
        const lane_t lo = split ? __builtin_shufflevector(vr[c], vi[c], 0, 4, 2, 6) : vr[c];
        const lane_t hi = split ? __builtin_shufflevector(vr[c], vi[c], 1, 5, 3, 7) : vi[c];
        memcpy(p + off[c], &lo, sizeof lo);
        memcpy(p + off[c] + 4, &hi, sizeof hi);
    }
}
/* Four bases anywhere (the block holds qubit 0 or 1): each amplitude is one
 * 16-byte load per lane; two of them make a four-lane vector that is split
 * into real and imaginary lanes. */
typedef double half_t __attribute__((vector_size(16)));

static ALWAYS_INLINE void gather2(const double *a, const uint64_t *addr, const uint64_t *off, unsigned K, lane_t *vr,
                                  lane_t *vi, bool split)
{
    for (unsigned c = 0; c < K; c++) {
        half_t x[LANES];
        for (unsigned l = 0; l < LANES; l++)
            memcpy(&x[l], a + 2 * addr[l] + off[c], sizeof x[l]);
        const lane_t lo = __builtin_shufflevector(x[0], x[1], 0, 1, 2, 3);
        const lane_t hi = __builtin_shufflevector(x[2], x[3], 0, 1, 2, 3);
        vr[c] = split ? __builtin_shufflevector(lo, hi, 0, 4, 2, 6) : lo;
        vi[c] = split ? __builtin_shufflevector(lo, hi, 1, 5, 3, 7) : hi;
    }
}

static ALWAYS_INLINE void scatter2(double *a, const uint64_t *addr, const uint64_t *off, unsigned K, const lane_t *vr,
                                   const lane_t *vi, bool split)
{
    for (unsigned c = 0; c < K; c++) {
        const lane_t lo = split ? __builtin_shufflevector(vr[c], vi[c], 0, 4, 2, 6) : vr[c];
        const lane_t hi = split ? __builtin_shufflevector(vr[c], vi[c], 1, 5, 3, 7) : vi[c];
        const half_t x0 = __builtin_shufflevector(lo, lo, 0, 1), x1 = __builtin_shufflevector(lo, lo, 2, 3);
        const half_t x2 = __builtin_shufflevector(hi, hi, 0, 1), x3 = __builtin_shufflevector(hi, hi, 2, 3);
        memcpy(a + 2 * addr[0] + off[c], &x0, sizeof x0);
        memcpy(a + 2 * addr[1] + off[c], &x1, sizeof x1);
        memcpy(a + 2 * addr[2] + off[c], &x2, sizeof x2);
        memcpy(a + 2 * addr[3] + off[c], &x3, sizeof x3);
    }
}
#endif

/* Grain `grain`: out[o] = the grain's sum for output o (lanes in order,
 * groups in order). */
static ALWAYS_INLINE void grain_body(const adj_context *ctx, uint64_t grain, double *out, const unsigned K,
                                     const bool split)
{
    (void)split;
    lane_t acc[QML__FUSE_MAX_GATES];
    for (unsigned o = 0; o < ctx->n_out; o++)
        acc[o] = SPLAT(0.0);
    const uint64_t g0 = grain * ctx->groups_per_grain, g1 = g0 + ctx->groups_per_grain;
#ifdef ADJ_VECTORS
    const bool adjacent = ctx->fixed[0] >= 2;
#else
    const bool adjacent = false;
#endif
    /* bases below the lowest block qubit are adjacent amplitudes: the
     * address is deposited once per run of them */
    const uint64_t run = (uint64_t)1 << ctx->fixed[0];
    (void)run;
    /* groups held at once (both powers of two, so they divide the grain) */
    const unsigned nq = (uint64_t)(ADJ_CHUNK / K) < ctx->groups_per_grain ? ADJ_CHUNK / K
                                                                           : (unsigned)ctx->groups_per_grain;
    lane_t local[4 * ADJ_CHUNK];
    uint64_t addr[ADJ_CHUNK / 2][LANES];
#ifdef ADJ_VECTORS
    /* only the interleaved width-4 case is built with edges */
    const bool edge_in = !split && K == 16 && adjacent && ctx->edge_in;
    const bool edge_out = !split && K == 16 && adjacent && ctx->edge_out;
    const adj_edge edge = {ctx->psi, ctx->lambda, ctx->off, ctx->off_out, (const uint64_t(*)[LANES])addr};
#else
    const bool edge_in = false, edge_out = false;
#endif
    for (uint64_t gc = g0; gc < g1; gc += nq) {
        for (unsigned q = 0; q < nq; q++) {
            const uint64_t g = gc + q;
            lane_t *pr = local + 4 * K * q, *pi = pr + K, *lr = pr + 2 * K, *li = pr + 3 * K;
            if (adjacent) {
#ifdef ADJ_VECTORS
                if (g == g0 || (g * LANES & (run - 1)) == 0)
                    addr[q][0] = qml__deposit_zeros(g * LANES, ctx->fixed, ctx->k);
                else
                    addr[q][0] = addr[q ? q - 1 : nq - 1][0] + LANES;
                if (!edge_in) {
                    gather4(ctx->psi, addr[q][0], ctx->off, K, pr, pi, split);
                    gather4(ctx->lambda, addr[q][0], ctx->off, K, lr, li, split);
                }
#endif
            } else {
                /* deposit(4g + l) = deposit(4g) + deposit(l): the bits are disjoint */
                const uint64_t base = qml__deposit_zeros(g * LANES, ctx->fixed, ctx->k);
                for (unsigned l = 0; l < LANES; l++)
                    addr[q][l] = base + ctx->lane_off[l];
#ifdef ADJ_VECTORS
                gather2(ctx->psi, addr[q], ctx->off, K, pr, pi, split);
                gather2(ctx->lambda, addr[q], ctx->off, K, lr, li, split);
#else
                gather(ctx->psi, addr[q], ctx->off, K, pr, pi);
                gather(ctx->lambda, addr[q], ctx->off, K, lr, li);
#endif
            }
        }
        /* every gate over the chunk's groups: per output, the groups' sums
         * are added in group order as before */
        unsigned o = 0;
        for (unsigned i = 0; i < ctx->n_ops; i++) {
            const adj_op *op = &ctx->ops[i];
#ifdef ADJ_VECTORS
            if ((edge_in && i == 0) || (edge_out && i + 1 == ctx->n_ops)) {
                const bool from = edge_in && i == 0;
                if (op->cls == OP_QUAD) {
                    lane_t *acc1 = &acc[op->out1 ? o : 0];
                    o += op->out1;
                    lane_t *acc2 = &acc[op->out2 ? o : 0];
                    o += op->out2;
                    if (from)
                        edge_quad(op, K, local, nq, acc1, acc2, &edge, true, false);
                    else
                        edge_quad(op, K, local, nq, acc1, acc2, &edge, false, true);
                } else {
                    lane_t *a = &acc[op->n_factors ? o++ : 0];
                    if (from)
                        edge_pair(op, K, local, nq, a, &edge, true, false);
                    else
                        edge_pair(op, K, local, nq, a, &edge, false, true);
                }
                continue;
            }
#endif
            if (op->cls == OP_QUAD) {
                lane_t *acc1 = &acc[op->out1 ? o : 0];
                o += op->out1;
                lane_t *acc2 = &acc[op->out2 ? o : 0];
                o += op->out2;
                quad_op(op, K, local, nq, acc1, acc2);
                continue;
            }
            if (op->cls >= OP_PAIR) {
                pair_op(op, K, local, nq, &acc[op->n_factors ? o++ : 0]);
                continue;
            }
            if (op->cls == OP_DIAGONAL && !op->n_factors) {
                diagonal_chunk(op, K, local, nq);
                continue;
            }
            for (unsigned q = 0; q < nq; q++) {
                lane_t *pr = local + 4 * K * q, *pi = pr + K, *lr = pr + 2 * K, *li = pr + 3 * K;
                if (op->n_factors)
                    op_overlap(op, K, pr, pi, lr, li, &acc[o]);
                op_unapply(op, K, pr, pi);
                op_unapply(op, K, lr, li);
            }
            if (op->n_factors)
                o++;
        }
        for (unsigned q = 0; q < nq && !edge_out; q++) {
            const lane_t *pr = local + 4 * K * q, *pi = pr + K, *lr = pr + 2 * K, *li = pr + 3 * K;
            if (adjacent) {
#ifdef ADJ_VECTORS
                scatter4(ctx->psi, addr[q][0], ctx->off_out, K, pr, pi, split);
                scatter4(ctx->lambda, addr[q][0], ctx->off_out, K, lr, li, split);
#endif
            } else {
#ifdef ADJ_VECTORS
                scatter2(ctx->psi, addr[q], ctx->off_out, K, pr, pi, split);
                scatter2(ctx->lambda, addr[q], ctx->off_out, K, lr, li, split);
#else
                scatter(ctx->psi, addr[q], ctx->off_out, K, pr, pi);
                scatter(ctx->lambda, addr[q], ctx->off_out, K, lr, li);
#endif
            }
        }
    }
    for (unsigned o = 0; o < ctx->n_out; o++) {
        double lanes[LANES];
        memcpy(lanes, &acc[o], sizeof lanes);
        double s = lanes[0];
        for (unsigned l = 1; l < LANES; l++)
            s += lanes[l];
        out[o] = s;
    }
}

/* K a constant for the full width of the backward blocks (qml_gradient's
 * 4), so that the loops over the slots unroll; narrower blocks (the last
 * qubits of a circuit, small circuits) take the generic body. Every
 * specialisation costs compile time, most of all in sanitized builds: with
 * constant bodies for K = 2, 4 and 8 too, this file took 51 s to build with
 * gcc -O2 and 400 s with ASan + UBSan (12 s and 96 s without them), for no
 * difference in `qml bench grad` beyond its run-to-run spread. */
static ALWAYS_INLINE void grain_dispatch(const adj_context *ctx, uint64_t grain, double *out)
{
#ifdef ADJ_VECTORS
    if (ctx->interleaved && ctx->k == 4) {
        grain_body(ctx, grain, out, 16, false);
        return;
    }
#endif
    if (ctx->k == 4)
        grain_body(ctx, grain, out, 16, true);
    else
        grain_body(ctx, grain, out, 1u << ctx->k, true);
}

static void grain_portable(const adj_context *ctx, uint64_t grain, double *out)
{
#ifdef ADJ_AVX2
    /* On x86-64 this path runs only where AVX2 is missing (and in the tests'
     * path comparisons): the generic body alone, one specialisation instead
     * of three. */
    grain_body(ctx, grain, out, 1u << ctx->k, true);
#else
    grain_dispatch(ctx, grain, out);
#endif
}

#ifdef ADJ_AVX2
/* The same source for AVX2 with multiply-adds contracted to FMA, as the
 * fused forward kernels (fusion.c): other last bits than the portable path,
 * never other bits between thread counts. */
#if defined(__clang__)
__attribute__((target("avx2,fma"))) static void grain_avx2(const adj_context *ctx, uint64_t grain, double *out)
{
#pragma clang fp contract(fast)
    grain_dispatch(ctx, grain, out);
}
#else
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast", "O3")
__attribute__((target("avx2,fma"))) static void grain_avx2(const adj_context *ctx, uint64_t grain, double *out)
{
    grain_dispatch(ctx, grain, out);
}
#pragma GCC pop_options
#endif

#endif

static void grain_run(const adj_context *ctx, uint64_t grain, double *out)
{
#ifdef ADJ_AVX2
    /* path 3 (AVX-512) takes the AVX2 build: the same source built for
     * AVX-512 F + VL measured no faster here (0.92 to 1.03 of the AVX2
     * time, timed alternately; loaded machine) and cost a third more
     * compile time */
    if (ctx->path >= 2) {
        grain_avx2(ctx, grain, out);
        return;
    }
#endif
    grain_portable(ctx, grain, out);
}

static void grain_worker(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const adj_context *ctx = context;
    for (size_t g = begin; g < end; g++)
        grain_run(ctx, g, ctx->partials + g * ctx->n_out);
}

/* ---- building the operations ---------------------------------------------- */

static unsigned parity(uint64_t v)
{
    return (unsigned)__builtin_parityll(v);
}

/* Block-local bits of the global mask m (positions fixed[0..k)). */
static unsigned to_local(uint64_t m, const unsigned *fixed, unsigned k)
{
    unsigned out = 0;
    for (unsigned j = 0; j < k; j++)
        if (m >> fixed[j] & 1)
            out |= 1u << j;
    return out;
}

/* Deposit the bits of s at the local positions not in `used` (K local bits). */
static unsigned deposit_local(unsigned s, unsigned used, unsigned k)
{
    unsigned out = 0, bitpos = 0;
    for (unsigned j = 0; j < k; j++)
        if (!(used >> j & 1)) {
            if (s >> bitpos & 1)
                out |= 1u << j;
            bitpos++;
        }
    return out;
}

/* Build the operation of gate g (U^dagger at angle theta, and its factors)
 * on the local vectors, where logical local index c lives in slot map[c]. A
 * permutation (CNOT, SWAP, X, Toffoli) moves no data: it only updates map
 * and leaves the operation OP_NONE. */
static void op_build(adj_op *op, const qml__gate *g, double theta, const qml__pauli_factor *factors,
                     unsigned n_factors, const unsigned *fixed, unsigned k, uint8_t *map)
{
    const unsigned K = 1u << k;
    /* the gate's distinct qubits, ascending, and their local positions */
    unsigned gq[3], m = 0;
    for (unsigned t = 0; t < g->n_targets && t < 3; t++) {
        bool seen = false;
        for (unsigned j = 0; j < m; j++)
            seen = seen || gq[j] == g->qubits[t];
        if (!seen)
            gq[m++] = g->qubits[t];
    }
    qml__sort_bits(gq, m);
    unsigned pos[3], used = 0;
    for (unsigned j = 0; j < m; j++) {
        pos[j] = 0;
        while (fixed[pos[j]] != gq[j])
            pos[j]++;
        used |= 1u << pos[j];
    }
    const unsigned D = 1u << m;
    /* U^dagger on the gate's own qubits, built by the gate kernel on a
     * 2m-qubit state holding the identity (amplitude c * D + r is M[r][c]) */
    double buffer[2 * 64];
    memset(buffer, 0, sizeof(double) * 2 * D * D);
    for (unsigned c = 0; c < D; c++)
        buffer[2 * (c * D + c)] = 1.0;
    qml_statevec mini = {.n_qubits = 2 * m, .dim = (uint64_t)D * D, .amplitudes = buffer, .n_threads = 1,
                         .block = NULL};
    qml__gate copy = *g;
    for (unsigned t = 0; t < copy.n_targets && t < 3; t++)
        for (unsigned j = 0; j < m; j++)
            if (g->qubits[t] == gq[j])
                copy.qubits[t] = j;
    qml__statevec_apply(&mini, &copy, theta, true);
    bool diagonal = true, real = true, permutation = true;
    unsigned col_of[8];
    for (unsigned r = 0; r < D; r++) {
        unsigned ones = 0;
        for (unsigned c = 0; c < D; c++) {
            const double re = buffer[2 * (c * D + r)], im = buffer[2 * (c * D + r) + 1];
            op->mr[r * D + c] = re, op->mi[r * D + c] = im;
            real = real && im == 0.0;
            diagonal = diagonal && (r == c || (re == 0.0 && im == 0.0));
            if (re == 1.0 && im == 0.0)
                col_of[r] = c, ones++;
            else if (re != 0.0 || im != 0.0)
                permutation = false;
        }
        permutation = permutation && ones == 1;
    }
    op->dim = D;
    /* local index of sub-block s, gate-local row r */
    for (unsigned s = 0; s < K / D; s++) {
        const unsigned base = deposit_local(s, used, k);
        for (unsigned r = 0; r < D; r++) {
            unsigned idx = base;
            for (unsigned j = 0; j < m; j++)
                if (r >> j & 1)
                    idx |= 1u << pos[j];
            op->index[s * D + r] = (uint8_t)idx;
        }
    }
    op->n_factors = n_factors;
    for (unsigned f = 0; f < n_factors; f++) {
        /* taken before the gate is un-applied: the map as it stands */
        adj_factor *fa = &op->factor[f];
        const unsigned x = to_local(factors[f].x, fixed, k), z = to_local(factors[f].z, fixed, k);
        const unsigned p = (unsigned)__builtin_popcount(x & z) & 3u;
        /* Im(i^p S) = Im S, Re S, -Im S, -Re S for p = 0, 1, 2, 3 */
        fa->use_real = p & 1u;
        const double sign = p >= 2 ? -factors[f].coeff : factors[f].coeff;
        for (unsigned c = 0; c < K; c++) {
            fa->partner[map[c]] = map[c ^ x];
            fa->w[map[c]] = parity(c & z) ? -sign : sign;
        }
    }
    op->real = real;
    if (m == 1 && !permutation && (n_factors || !diagonal)) {
        /* one-qubit gate: overlap and un-applying in one loop; the
         * generator's 2x2 matrix G[c ^ x][c] += coeff i^{xz} (-1)^{cz} */
        double gr[4] = {0}, gi[4] = {0};
        for (unsigned f = 0; f < n_factors; f++) {
            const unsigned xb = (unsigned)(factors[f].x >> gq[0] & 1), zb = (unsigned)(factors[f].z >> gq[0] & 1);
            for (unsigned c = 0; c < 2; c++) {
                const double v = (c & zb) ? -factors[f].coeff : factors[f].coeff;
                const unsigned e = (c ^ xb) * 2 + c;
                if (xb & zb)
                    gi[e] += v;
                else
                    gr[e] += v;
            }
        }
        op->ga = gr[0], op->gd = gr[3], op->gbr = gr[1], op->gbi = gi[1];
        op->ov = n_factors == 0 ? OV_NONE
               : (op->ga == 0.0 && op->gd == 0.0 && op->gbr == 0.0) ? OV_IMAG_OFF
               : (op->ga == 0.0 && op->gd == 0.0 && op->gbi == 0.0) ? OV_REAL_OFF
               : (op->gbr == 0.0 && op->gbi == 0.0)                 ? OV_DIAGONAL
                                                                    : OV_GENERAL;
        for (unsigned i = 0; i < K; i++)
            op->index[i] = map[op->index[i]];
        op->cls = diagonal ? OP_PAIR_DIAGONAL : OP_PAIR;
        op->n_factors = n_factors ? 1 : 0; /* one output, from the pair loop */
        return;
    }
    if (diagonal) {
        double dr[8], di[8];
        for (unsigned r = 0; r < D; r++)
            dr[r] = op->mr[r * D + r], di[r] = op->mi[r * D + r];
        op->n_slots = 0;
        for (unsigned s = 0; s < K / D; s++)
            for (unsigned r = 0; r < D; r++) {
                if (dr[r] == 1.0 && di[r] == 0.0)
                    continue;
                op->slots[op->n_slots] = map[op->index[s * D + r]];
                op->mr[op->n_slots] = dr[r];
                op->mi[op->n_slots] = di[r];
                op->n_slots++;
            }
        op->cls = OP_DIAGONAL;
    } else if (permutation) {
        /* new[c] = old[index of column col_of[r]]: logical c now lives
         * where that column's amplitude was */
        uint8_t next[MAXK];
        memcpy(next, map, K);
        for (unsigned s = 0; s < K / D; s++)
            for (unsigned r = 0; r < D; r++)
                next[op->index[s * D + r]] = map[op->index[s * D + col_of[r]]];
        memcpy(map, next, K);
        op->cls = OP_NONE;
    } else {
        for (unsigned i = 0; i < K; i++)
            op->index[i] = map[op->index[i]];
        op->cls = real ? OP_REAL : OP_COMPLEX;
    }
}

/* A real one-qubit gate whose overlap, if any, is RY's kind (OV_IMAG_OFF). */
static bool quad_candidate(const adj_op *op)
{
    return op->cls == OP_PAIR && op->real && (op->ov == OV_NONE || op->ov == OV_IMAG_OFF);
}

/* Merge consecutive candidates on different qubits into OP_QUAD operations
 * (their slot pairs must form quadruples: the partner under the first of
 * the partner under the second is the partner under the second of the
 * partner under the first); the number of operations left. */
static unsigned merge_quads(adj_op *ops, unsigned n_ops, unsigned K)
{
    if (K < 4)
        return n_ops;
    unsigned out = 0;
    for (unsigned i = 0; i < n_ops; i++) {
        if (i + 1 < n_ops && quad_candidate(&ops[i]) && quad_candidate(&ops[i + 1])) {
            const adj_op *a = &ops[i], *b = &ops[i + 1];
            /* partners, and whether a slot is the gate's |0> side */
            uint8_t pa[MAXK], pb[MAXK], za[MAXK], zb[MAXK], done[MAXK] = {0}, quad[MAXK];
            for (unsigned s = 0; s < K / 2; s++) {
                const unsigned a0 = a->index[2 * s], a1 = a->index[2 * s + 1];
                const unsigned b0 = b->index[2 * s], b1 = b->index[2 * s + 1];
                pa[a0] = (uint8_t)a1, pa[a1] = (uint8_t)a0, za[a0] = 1, za[a1] = 0;
                pb[b0] = (uint8_t)b1, pb[b1] = (uint8_t)b0, zb[b0] = 1, zb[b1] = 0;
            }
            bool ok = true;
            unsigned t = 0;
            for (unsigned s = 0; s < K && ok; s++) {
                if (done[s] || !za[s] || !zb[s])
                    continue;
                /* s is |00>: |10> (first gate's qubit set), |01>, |11> */
                const unsigned s1 = pa[s], s2 = pb[s], s3 = pa[s2];
                ok = !za[s1] && zb[s1] && za[s2] && !zb[s2] && !za[s3] && !zb[s3] && pb[s1] == s3 && !done[s1] &&
                     !done[s2] && !done[s3];
                quad[4 * t] = (uint8_t)s, quad[4 * t + 1] = (uint8_t)s1;
                quad[4 * t + 2] = (uint8_t)s2, quad[4 * t + 3] = (uint8_t)s3;
                done[s] = done[s1] = done[s2] = done[s3] = 1;
                t++;
            }
            if (ok && 4 * t == K) {
                adj_op merged = *a;
                merged.cls = OP_QUAD;
                memcpy(merged.mr2, b->mr, sizeof merged.mr2);
                merged.gbi2 = b->gbi;
                merged.out1 = a->ov != OV_NONE;
                merged.out2 = b->ov != OV_NONE;
                memcpy(merged.quad, quad, K);
                ops[out++] = merged;
                i++;
                continue;
            }
        }
        if (out != i)
            ops[out] = ops[i];
        out++;
    }
    return out;
}

/* Whether every operation of the block treats real and imaginary parts
 * alike, so that the local vectors may keep the states' interleaved layout
 * (slot c's "real" vector holding {re, im, re', im'} of two bases and its
 * "imaginary" vector the next two; the loads and stores then need no
 * shuffles): real matrices, and overlaps that are sums of Re conj(l) p,
 * i.e. sum_c w_c (l_r p_r + l_i p_i) over every double (RY's kind). */
static bool real_block(const adj_op *ops, unsigned n_ops)
{
    for (unsigned i = 0; i < n_ops; i++) {
        const adj_op *op = &ops[i];
        switch (op->cls) {
        case OP_QUAD:
            continue;
        case OP_PAIR:
        case OP_PAIR_DIAGONAL:
            if (!op->real || (op->ov != OV_NONE && op->ov != OV_IMAG_OFF))
                return false;
            continue;
        case OP_NONE:
        case OP_DIAGONAL:
        case OP_REAL:
            if (op->cls != OP_NONE && !op->real)
                return false;
            for (unsigned f = 0; f < op->n_factors; f++)
                if (!op->factor[f].use_real)
                    return false;
            continue;
        default:
            return false;
        }
    }
    return true;
}

/* An operation the edges are built for (edge_quad, edge_pair). */
static bool edge_candidate(const adj_op *op)
{
    return op->cls == OP_QUAD || quad_candidate(op);
}

/* ---- the block -------------------------------------------------------------- */

int qml__adjoint_path_override = -1;
bool qml__adjoint_edges = true;

static void block_prepare(adj_context *pctx, adj_op *ops, qml_statevec *psi, qml_statevec *lambda,
                          const qml_circuit *circuit, const qml__adjoint_gate *gates, unsigned n_gates, uint64_t mask,
                          const double *weights, const double *features, int path);

/* Consecutive backward blocks whose qubits all lie below the grain's bits
 * map every grain (ADJ_GRAIN amplitudes of both states, 2 x 128 KiB) to
 * itself, so they are run grain by grain: all of them on one grain while it
 * stays in L2, then the next (qml__adjoint_tiled). Each block still adds
 * its grains' partial sums in grain order, and each amplitude sees the same
 * operations in the same order: the same bits as block by block. */
void qml__adjoint_tiled(qml_statevec *psi, qml_statevec *lambda, const qml_circuit *circuit,
                        const qml__adjoint_gate *const *gates, const unsigned *n_gates, const uint64_t *masks,
                        unsigned n_blocks, const double *weights, const double *features, double *const *d)
{
    if (n_blocks == 0)
        return;
    size_t n_ops = 0;
    for (unsigned b = 0; b < n_blocks; b++)
        n_ops += n_gates[b];
    adj_op *ops = qml__malloc(n_ops * sizeof *ops);
    if (!ops) {
        /* block by block: the same bits, only slower */
        for (unsigned b = 0; b < n_blocks; b++)
            qml__adjoint_block(psi, lambda, circuit, gates[b], n_gates[b], masks[b], weights, features, NULL, 0, -1,
                               d[b]);
        return;
    }
    adj_context ctx[QML__TILE_BLOCKS];
    double total[QML__TILE_BLOCKS][QML__FUSE_MAX_GATES] = {{0}};
    for (unsigned b = 0, first = 0; b < n_blocks; first += n_gates[b], b++)
        block_prepare(&ctx[b], ops + first, psi, lambda, circuit, gates[b], n_gates[b], masks[b], weights, features,
                      -1);
    /* a tile is `per` consecutive grains of every block: a k-qubit block's
     * grain holds its qubits and its 13 - k lowest other qubits, and the
     * grain index spells the remaining qubits in ascending order. With
     * every block qubit below the span, the index's lowest span - 13 bits
     * are qubits below the span and the others are the tile's, so tile t
     * is grains t * per .. t * per + per - 1 of every block, in order */
    const uint64_t per = (uint64_t)1 << (qml__tile_span() - QML__TILE_BITS);
    double part[QML__FUSE_MAX_GATES];
    for (uint64_t t = 0; t < ctx[0].n_grains; t += per)
        for (unsigned b = 0; b < n_blocks; b++)
            for (uint64_t gr = t; gr < t + per; gr++) {
                grain_run(&ctx[b], gr, part);
                for (unsigned o = 0; o < ctx[b].n_out; o++)
                    total[b][o] += part[o];
            }
    for (unsigned b = 0; b < n_blocks; b++) {
        unsigned o = 0;
        for (unsigned i = 0; i < n_gates[b]; i++)
            d[b][i] = gates[b][i].n_factors ? total[b][o++] : 0.0;
    }
    qml__free(ops);
}

static void block_prepare(adj_context *pctx, adj_op *ops, qml_statevec *psi, qml_statevec *lambda,
                          const qml_circuit *circuit, const qml__adjoint_gate *gates, unsigned n_gates, uint64_t mask,
                          const double *weights, const double *features, int path)
{
    adj_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.psi = psi->amplitudes;
    ctx.lambda = lambda->amplitudes;
    for (unsigned q = 0; q < 64; q++)
        if (mask >> q & 1)
            ctx.fixed[ctx.k++] = q;
    const unsigned K = 1u << ctx.k;
    for (unsigned c = 0; c < K; c++) {
        uint64_t o = 0;
        for (unsigned j = 0; j < ctx.k; j++)
            if (c >> j & 1)
                o |= (uint64_t)1 << ctx.fixed[j];
        ctx.off[c] = 2 * o;
    }
    uint8_t map[MAXK];
    for (unsigned c = 0; c < K; c++)
        map[c] = (uint8_t)c;
    unsigned n_ops = 0;
    for (unsigned i = 0; i < n_gates; i++) {
        const qml__gate *g = &circuit->gates[gates[i].gate];
        const double theta = qml__gate_is_parametrised(g->kind) ? qml__gate_angle(g, weights, features) : 0.0;
        op_build(&ops[n_ops], g, theta, gates[i].factors, (unsigned)gates[i].n_factors, ctx.fixed, ctx.k, map);
        if (gates[i].n_factors)
            ctx.n_out++;
        if (ops[n_ops].cls != OP_NONE || ops[n_ops].n_factors)
            n_ops++;
    }
    for (unsigned c = 0; c < K; c++)
        ctx.off_out[map[c]] = ctx.off[c];
    for (unsigned l = 0; l < LANES; l++)
        ctx.lane_off[l] = qml__deposit_zeros(l, ctx.fixed, ctx.k);
    n_ops = merge_quads(ops, n_ops, K);
    ctx.ops = ops;
    ctx.n_ops = n_ops;
    ctx.interleaved = real_block(ops, n_ops);
#ifdef ADJ_VECTORS
    /* edges only where grain_dispatch builds them (interleaved, width 4,
     * adjacent bases); the last op only if it is not also the first (the
     * slots' final places may be other slots' first places: CNOT
     * relabellings) */
    if (qml__adjoint_edges && ctx.interleaved && ctx.k == 4 && ctx.fixed[0] >= 2) {
        ctx.edge_in = n_ops >= 1 && edge_candidate(&ops[0]);
        ctx.edge_out = n_ops >= 2 && edge_candidate(&ops[n_ops - 1]);
    }
#endif
    if (path < 0)
        path = qml__adjoint_path_override;
    ctx.path = path < 0 || path > qml__fusion_path() ? qml__fusion_path() : path;
    const uint64_t grain_amplitudes = psi->dim < ADJ_GRAIN ? psi->dim : ADJ_GRAIN;
    ctx.groups_per_grain = grain_amplitudes / ((uint64_t)K * LANES);
    ctx.n_grains = psi->dim / grain_amplitudes;
    *pctx = ctx;
}

void qml__adjoint_block(qml_statevec *psi, qml_statevec *lambda, const qml_circuit *circuit,
                        const qml__adjoint_gate *gates, unsigned n_gates, uint64_t mask, const double *weights,
                        const double *features, double *partials, size_t partials_capacity, int path, double *d)
{
    adj_op ops[QML__FUSE_MAX_GATES];
    adj_context ctx;
    block_prepare(&ctx, ops, psi, lambda, circuit, gates, n_gates, mask, weights, features, path);
    double total[QML__FUSE_MAX_GATES] = {0};
    const unsigned workers = psi->dim >= QML__PARALLEL_MIN_DIM ? psi->n_threads : 1;
    if (workers > 1 && partials && ctx.n_grains > 1 && ctx.n_grains * ctx.n_out <= partials_capacity) {
        ctx.partials = partials;
        qml__parallel_for(workers, (size_t)ctx.n_grains, 1, grain_worker, &ctx);
        for (uint64_t gr = 0; gr < ctx.n_grains; gr++)
            for (unsigned o = 0; o < ctx.n_out; o++)
                total[o] += partials[gr * ctx.n_out + o];
    } else {
        double part[QML__FUSE_MAX_GATES];
        for (uint64_t gr = 0; gr < ctx.n_grains; gr++) {
            grain_run(&ctx, gr, part);
            for (unsigned o = 0; o < ctx.n_out; o++)
                total[o] += part[o];
        }
    }
    unsigned o = 0;
    for (unsigned i = 0; i < n_gates; i++)
        d[i] = gates[i].n_factors ? total[o++] : 0.0;
}

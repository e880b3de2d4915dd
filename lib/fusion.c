/*
 * fusion.c: gate fusion for the statevector run. Consecutive gates acting on
 * at most `width` qubits are multiplied into one dense 2^k x 2^k matrix
 * (k <= width) and applied in one pass over the amplitudes; blocks whose
 * gates are all diagonal are applied as one diagonal. The planning rule
 * (docs/simulator.md, "Gate fusion") follows the greedy rule of qsim's basic
 * fuser: open blocks live on disjoint qubit sets, a gate joins the blocks it
 * touches while their union stays within the width, otherwise the widest of
 * those blocks is applied first.
 *
 * A block's matrix is built by the gate kernels themselves: its gates are
 * applied to a 2k-qubit state holding the identity (column c in the high k
 * bits), so the fused matrix is the exact floating-point product of the
 * gates' own matrices. The plan depends only on the circuit, and each output
 * amplitude of the dense kernel is computed by the same operations whatever
 * the split over threads: the same bits for any thread count.
 */
#include "internal.h"

#include <string.h>

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
/* complete unrolling of the loops over the matrix (K is a constant), so
 * that the amplitudes of a base stay in registers */
#define UNROLL _Pragma("GCC unroll 32")
#else
#define ALWAYS_INLINE inline
#define UNROLL
#endif

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && defined(__has_builtin)
#if __has_builtin(__builtin_cpu_supports) && __has_builtin(__builtin_shufflevector)
#define FUSION_AVX2 1
#include <immintrin.h>
#endif
#endif

#if defined(__GNUC__) && defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define FUSION_VECTORS 1
typedef double v2d __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));
#endif
#endif

/* Gates per open block before it is applied (the plan lives on the stack). */
#define FUSE_MAX_GATES QML__FUSE_MAX_GATES
/* Matrices up to this dimension are broadcast into a table (dense_job.tab). */
#define FUSE_TABLE_K 16u
/* The widest block with unrolled vector kernels. */
#define FUSE_VECTOR_WIDTH 3u
/* Bases per grain of the parallel split (each base is 2^k amplitudes). */
#define FUSE_GRAIN ((size_t)256)

bool qml__fusion_tiling = true;
/* The backward's tiles span 2^14 amplitudes (internal.h); the forward's
 * keep 2^13: at 14 the ladder's and the template's forward ran 0.5-0.9 %
 * slower (interleaved, n = 20, loaded), having no block on qubit 13 below
 * qubit 14 to gain. */
unsigned qml__tile_span_bits = 14;
unsigned qml__tile_span_forward_bits = QML__TILE_BITS;

typedef struct dense_job {
    double *a;
    unsigned k;                 /* qubits of the block */
    unsigned fixed[QML__FUSE_MAX_WIDTH]; /* ascending */
    uint64_t off[1u << QML__FUSE_MAX_WIDTH]; /* amplitude offset of local index c */
    bool real;                  /* every imaginary part of the matrix is 0 */
    bool diagonal;              /* only mr/mi[c * K + c] are used */
    double mr[1u << (2 * QML__FUSE_MAX_WIDTH)]; /* row-major real parts */
    double mi[1u << (2 * QML__FUSE_MAX_WIDTH)]; /* row-major imaginary parts */
    /* K <= FUSE_TABLE_K: every entry broadcast to the vector width, real
     * parts then imaginary parts (dense_apply); before that, the scratch
     * state on which block_apply builds the matrix */
    _Alignas(64) double tab[2u << (2 * QML__FUSE_MAX_WIDTH)];
} dense_job;

/* ---- kernels ------------------------------------------------------------- */

/* The scalar kernel on bases [begin, end): the reference for the vector ones
 * (the same operations in the same order per amplitude). */
static void dense_scalar(const dense_job *job, size_t begin, size_t end)
{
    const unsigned K = 1u << job->k;
    double vr[1u << QML__FUSE_MAX_WIDTH], vi[1u << QML__FUSE_MAX_WIDTH];
    for (size_t b = begin; b < end; b++) {
        double *p = job->a + 2 * qml__deposit_zeros(b, job->fixed, job->k);
        for (unsigned c = 0; c < K; c++)
            vr[c] = p[2 * job->off[c]], vi[c] = p[2 * job->off[c] + 1];
        for (unsigned r = 0; r < K; r++) {
            const double *mr = job->mr + (size_t)r * K, *mi = job->mi + (size_t)r * K;
            double sr = mr[0] * vr[0], si = mr[0] * vi[0];
            if (!job->real)
                sr -= mi[0] * vi[0], si += mi[0] * vr[0];
            for (unsigned c = 1; c < K; c++) {
                sr += mr[c] * vr[c], si += mr[c] * vi[c];
                if (!job->real)
                    sr -= mi[c] * vi[c], si += mi[c] * vr[c];
            }
            p[2 * job->off[r]] = sr, p[2 * job->off[r] + 1] = si;
        }
    }
}

static void diagonal_scalar(const dense_job *job, size_t begin, size_t end)
{
    const unsigned K = 1u << job->k;
    for (size_t b = begin; b < end; b++) {
        double *p = job->a + 2 * qml__deposit_zeros(b, job->fixed, job->k);
        for (unsigned c = 0; c < K; c++) {
            double dr = job->mr[c * K + c], di = job->mi[c * K + c];
            double *x = p + 2 * job->off[c];
            double xr = x[0], xi = x[1];
            x[0] = dr * xr - di * xi, x[1] = dr * xi + di * xr;
        }
    }
}

#ifdef FUSION_VECTORS
/* The matrix entry (r, c) as a vector: from the table of broadcast entries
 * for K <= 16 (one multiply-add with a memory operand), else broadcast from
 * the plain matrix. */
#define FUSION_ENTRY(VT, L, table, plain, r, c)                                                           \
    (K <= FUSE_TABLE_K ? *(const VT *)((table) + ((size_t)(r) * K + (c)) * (L)) : (VT)((plain)[(r) * K + (c)] + (VT){0}))

/* One amplitude per two-lane vector: out_r = sum_c M_rc v_c, the imaginary
 * part as Im(M_rc) * {-im, re}. Bases are walked as runs of consecutive
 * indices below the block's lowest qubit. K is a constant after inlining. */
static ALWAYS_INLINE void dense_v2(const dense_job *job, size_t begin, size_t end, unsigned K, bool real)
{
    uint64_t off[1u << QML__FUSE_MAX_WIDTH];
    memcpy(off, job->off, K * sizeof off[0]);
    const double *tr = job->tab, *ti = job->tab + (size_t)K * K * 2;
    const v2d flip = {-1.0, 1.0};
    const size_t run = (size_t)1 << job->fixed[0];
    for (size_t b = begin; b < end;) {
        size_t len = run - (b & (run - 1));
        if (len > end - b)
            len = end - b;
        double *p = job->a + 2 * qml__deposit_zeros(b, job->fixed, job->k);
        for (size_t t = 0; t < len; t++, p += 2) {
            v2d v[1u << QML__FUSE_MAX_WIDTH], w[1u << QML__FUSE_MAX_WIDTH];
            UNROLL
            for (unsigned c = 0; c < K; c++) {
                memcpy(&v[c], p + 2 * off[c], sizeof v[c]);
                if (!real)
                    w[c] = __builtin_shufflevector(v[c], v[c], 1, 0) * flip;
            }
            UNROLL
            for (unsigned r = 0; r < K; r++) {
                v2d s = FUSION_ENTRY(v2d, 2, tr, job->mr, r, 0) * v[0];
                if (!real)
                    s += FUSION_ENTRY(v2d, 2, ti, job->mi, r, 0) * w[0];
                UNROLL
                for (unsigned c = 1; c < K; c++) {
                    s += FUSION_ENTRY(v2d, 2, tr, job->mr, r, c) * v[c];
                    if (!real)
                        s += FUSION_ENTRY(v2d, 2, ti, job->mi, r, c) * w[c];
                }
                memcpy(p + 2 * off[r], &s, sizeof s);
            }
        }
        b += len;
    }
}

/* Two bases at once (the lowest qubit of the block is not 0, so bases 2j and
 * 2j + 1 are adjacent amplitudes): four-lane vectors {re, im, re', im'}. */
static ALWAYS_INLINE void dense_v4(const dense_job *job, size_t begin, size_t end, unsigned K, bool real)
{
    uint64_t off[1u << QML__FUSE_MAX_WIDTH];
    memcpy(off, job->off, K * sizeof off[0]);
    const double *tr = job->tab, *ti = job->tab + (size_t)K * K * 4;
    const v4d flip = {-1.0, 1.0, -1.0, 1.0};
    const size_t run = (size_t)1 << (job->fixed[0] - 1); /* pairs of bases per run */
    for (size_t b = begin; b < end;) {
        size_t len = run - (b & (run - 1));
        if (len > end - b)
            len = end - b;
        double *p = job->a + 2 * qml__deposit_zeros(2 * b, job->fixed, job->k);
        for (size_t t = 0; t < len; t++, p += 4) {
            v4d v[1u << QML__FUSE_MAX_WIDTH], w[1u << QML__FUSE_MAX_WIDTH];
            UNROLL
            for (unsigned c = 0; c < K; c++) {
                memcpy(&v[c], p + 2 * off[c], sizeof v[c]);
                if (!real)
                    w[c] = __builtin_shufflevector(v[c], v[c], 1, 0, 3, 2) * flip;
            }
            UNROLL
            for (unsigned r = 0; r < K; r++) {
                v4d s = FUSION_ENTRY(v4d, 4, tr, job->mr, r, 0) * v[0];
                if (!real)
                    s += FUSION_ENTRY(v4d, 4, ti, job->mi, r, 0) * w[0];
                UNROLL
                for (unsigned c = 1; c < K; c++) {
                    s += FUSION_ENTRY(v4d, 4, tr, job->mr, r, c) * v[c];
                    if (!real)
                        s += FUSION_ENTRY(v4d, 4, ti, job->mi, r, c) * w[c];
                }
                memcpy(p + 2 * off[r], &s, sizeof s);
            }
        }
        b += len;
    }
}

/* Every (K, real, lane count) specialised, so that the loops over c and r
 * have constant bounds. `pairs`: bases counted in pairs (dense_v4). */
static ALWAYS_INLINE void dense_dispatch(const dense_job *job, size_t begin, size_t end, bool pairs)
{
#define FUSION_CASE(KK)                                                                                   \
    case KK:                                                                                              \
        if (pairs)                                                                                        \
            job->real ? dense_v4(job, begin, end, KK, true) : dense_v4(job, begin, end, KK, false);       \
        else                                                                                              \
            job->real ? dense_v2(job, begin, end, KK, true) : dense_v2(job, begin, end, KK, false);       \
        break;
    switch (1u << job->k) {
    FUSION_CASE(2)
    FUSION_CASE(4)
    FUSION_CASE(8)
    default: /* wider blocks take the scalar kernel (dense_apply) */
        break;
    }
#undef FUSION_CASE
}

static void dense_portable(const dense_job *job, size_t begin, size_t end, bool pairs)
{
    dense_dispatch(job, begin, end, pairs);
}

#ifdef FUSION_AVX2
/* The same source compiled for AVX2 with multiply-adds contracted to FMA
 * (one instruction, one rounding: results differ from the portable path in
 * the last bits, never between thread counts). */
#if defined(__clang__)
__attribute__((target("avx2,fma"))) static void dense_avx2(const dense_job *job, size_t begin, size_t end, bool pairs)
{
#pragma clang fp contract(fast)
    dense_dispatch(job, begin, end, pairs);
}
#else
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")
__attribute__((target("avx2,fma"))) static void dense_avx2(const dense_job *job, size_t begin, size_t end, bool pairs)
{
    dense_dispatch(job, begin, end, pairs);
}
#pragma GCC pop_options
#endif

/* The same source again for AVX-512 (F and VL): four-lane vectors still,
 * but EVEX encodings reach 32 vector registers instead of 16. */
#if defined(__clang__)
__attribute__((target("avx512f,avx512vl,avx2,fma"))) static void dense_avx512(const dense_job *job, size_t begin,
                                                                               size_t end, bool pairs)
{
#pragma clang fp contract(fast)
    dense_dispatch(job, begin, end, pairs);
}
#else
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")
__attribute__((target("avx512f,avx512vl,avx2,fma"))) static void dense_avx512(const dense_job *job, size_t begin,
                                                                               size_t end, bool pairs)
{
    dense_dispatch(job, begin, end, pairs);
}
#pragma GCC pop_options
#endif

/* No cache in a static: two threads writing one would be a data race (C11
 * 5.1.2.4), and the test is a few loads of the CPU model that libgcc's
 * constructor (or compiler-rt's) filled in before main. */
static bool have_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static bool have_avx512(void)
{
    return have_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
}
#endif
#endif /* FUSION_VECTORS */

typedef struct range_context {
    const dense_job *job;
    bool pairs;
    int path;                   /* 0 scalar, 1 portable vectors, 2 AVX2, 3 AVX-512 */
} range_context;

static void dense_range(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const range_context *ctx = context;
    if (ctx->job->diagonal) {
        diagonal_scalar(ctx->job, begin, end);
        return;
    }
#ifdef FUSION_VECTORS
#ifdef FUSION_AVX2
    if (ctx->path == 3) {
        dense_avx512(ctx->job, begin, end, ctx->pairs);
        return;
    }
    if (ctx->path == 2) {
        dense_avx2(ctx->job, begin, end, ctx->pairs);
        return;
    }
#endif
    if (ctx->path >= 1) {
        dense_portable(ctx->job, begin, end, ctx->pairs);
        return;
    }
#endif
    dense_scalar(ctx->job, begin, end);
}

int qml__fusion_path(void)
{
#ifdef FUSION_VECTORS
#ifdef FUSION_AVX2
    if (have_avx512())
        return 3;
    if (have_avx2())
        return 2;
#endif
    return 1;
#else
    return 0;
#endif
}

/* The kernel range of `job` over `dim` amplitudes: the path, whether bases
 * go in pairs, and the broadcast tables (dense_apply, tile_flush). */
static range_context dense_prepare(uint64_t dim, dense_job *job, int path, size_t *items_out)
{
    /* Only blocks of up to FUSE_VECTOR_K amplitudes have unrolled vector
     * kernels: fully unrolled 16 x 16 and 32 x 32 products in eight variants
     * made this unit take minutes to compile (longer under sanitizers), and
     * widths 4 and 5 were slower than 3 on the measured layers anyway. */
    if (job->k > FUSE_VECTOR_WIDTH)
        path = 0;
    range_context ctx = {.job = job, .pairs = false, .path = path};
    size_t items = (size_t)(dim >> job->k);
    if (!job->diagonal && path >= 1 && job->fixed[0] > 0) {
        ctx.pairs = true;
        items /= 2;
    }
    const unsigned K = 1u << job->k, L = ctx.pairs ? 4 : 2;
    if (!job->diagonal && path >= 1 && K <= FUSE_TABLE_K)
        for (unsigned e = 0; e < K * K; e++)
            for (unsigned l = 0; l < L; l++) {
                job->tab[e * L + l] = job->mr[e];
                job->tab[(size_t)K * K * L + e * L + l] = job->mi[e];
            }
    *items_out = items;
    return ctx;
}

/* Apply the matrix of `job` (fixed, off, k, mr, mi, real, diagonal set). */
static void dense_apply(qml_statevec *state, dense_job *job, int path)
{
    size_t items;
    range_context ctx = dense_prepare(state->dim, job, path, &items);
    unsigned workers = state->dim >= QML__PARALLEL_MIN_DIM ? state->n_threads : 1;
    qml__parallel_for(workers, items, FUSE_GRAIN, dense_range, &ctx);
}

/* ---- building a block's matrix ------------------------------------------- */

static bool kind_is_diagonal(qml_gate_kind kind)
{
    switch (kind) {
    case QML_GATE_I:
    case QML_GATE_Z:
    case QML_GATE_S:
    case QML_GATE_SDG:
    case QML_GATE_T:
    case QML_GATE_TDG:
    case QML_GATE_CZ:
    case QML_GATE_RZ:
    case QML_GATE_RZZ:
    case QML_GATE_CRZ:
    case QML_GATE_PHASE:
        return true;
    default:
        return false;
    }
}

/* The bits of the qubits gate `g` acts on, or 0 for a gate that is never
 * fused (Pauli rotations and evolutions: their support is a Pauli sum). */
static uint64_t gate_mask(const qml__gate *g)
{
    if (g->kind == QML_GATE_PAULI_ROTATION || g->kind == QML_GATE_PAULI_EVOLUTION)
        return 0;
    uint64_t m = 0;
    for (unsigned t = 0; t < g->n_targets && t < 3; t++)
        m |= (uint64_t)1 << g->qubits[t];
    return m;
}

typedef struct fuse_block {
    uint64_t mask;
    unsigned n_gates;
    size_t gates[FUSE_MAX_GATES];
} fuse_block;

typedef struct fuse_run {
    qml_statevec *state;
    const qml_circuit *circuit;
    const double *weights;
    const double *features;
    bool inverse;               /* apply U^dagger: blocks of the reversed, inverted gates */
    int path;
    fuse_block open[QML__STATEVEC_MAX_QUBITS];
    unsigned n_open;
    size_t n_passes;            /* sweeps over the state (statistics for tests and the bench) */
    unsigned width;             /* the widest block (fuse_sweep) */
    qml__fuse_emit emit;        /* non-NULL: hand blocks to it instead of applying them */
    void *user;
    /* cache tiling (tile_flush): dense blocks on qubits below the span
     * held back, then applied tile by tile; NULL: no tiling */
    dense_job *tile_jobs;
    unsigned n_tile;
} fuse_run;

/* Consecutive dense blocks whose qubits all lie below the forward's tile
 * span (qml__tile_span_forward_bits: 13, 128 KiB) map every tile to itself,
 * so they
 * are applied tile by tile: all of them on one tile while it stays in L2,
 * then the next tile. Each amplitude sees the same operations in the same
 * order as block by block: the same bits. */
static unsigned forward_span(void)
{
    return qml__tile_span_of(qml__tile_span_forward_bits);
}

/* The held-back blocks on tiles [begin, end) of the state: on each tile all
 * blocks in order, then the next tile. Every block's qubits lie below the
 * span, so tile t holds exactly the bases t * items .. (t + 1) * items - 1
 * of each block's walk over the whole state, in the same order. */
typedef struct tile_context {
    range_context *ctx;
    const size_t *items;        /* bases of each block per tile */
    unsigned n_blocks;
} tile_context;

static void tile_range(void *context, size_t begin, size_t end, unsigned worker)
{
    const tile_context *tc = context;
    for (size_t t = begin; t < end; t++)
        for (unsigned b = 0; b < tc->n_blocks; b++)
            dense_range(&tc->ctx[b], t * tc->items[b], (t + 1) * tc->items[b], worker);
}

/* Tiles go to the workers in contiguous ranges: each amplitude sees the
 * same operations in the same order whichever thread runs its tile, so
 * the bits do not depend on the thread count. (Tiling was single-threaded
 * and so switched off on states with more threads: with 2 threads each of
 * these blocks cost a pass of its own, 12 passes over memory for the RY +
 * CNOT layer at n = 24 instead of 7, and the second thread gained 1.07x.) */
static void tile_flush(fuse_run *run)
{
    if (run->n_tile == 0)
        return;
    const uint64_t tile = (uint64_t)1 << forward_span();
    range_context ctx[QML__TILE_BLOCKS];
    size_t items[QML__TILE_BLOCKS];
    for (unsigned b = 0; b < run->n_tile; b++) {
        run->tile_jobs[b].a = run->state->amplitudes;
        ctx[b] = dense_prepare(tile, &run->tile_jobs[b], run->path, &items[b]);
    }
    tile_context tc = {.ctx = ctx, .items = items, .n_blocks = run->n_tile};
    const qml_statevec *state = run->state;
    unsigned workers = state->dim >= QML__PARALLEL_MIN_DIM ? state->n_threads : 1;
    qml__parallel_for(workers, (size_t)(state->dim / tile), 1, tile_range, &tc);
    run->n_tile = 0;
}

static double angle_of(const fuse_run *run, const qml__gate *g)
{
    return qml__gate_is_parametrised(g->kind) ? qml__gate_angle(g, run->weights, run->features) : 0.0;
}

/* Build the block's matrix by applying its gates to the identity held in a
 * 2k-qubit state (amplitude c * 2^k + r is M[r][c]), then apply it. */
static void block_apply(fuse_run *run, const fuse_block *block)
{
    const qml__gate *gates = run->circuit->gates;
    const bool tiled = run->tile_jobs && block->n_gates > 1 && block->mask < ((uint64_t)1 << forward_span());
    if (!tiled)
        tile_flush(run);
    if (block->n_gates == 1) {
        const qml__gate *g = &gates[block->gates[0]];
        qml__statevec_apply(run->state, g, angle_of(run, g), run->inverse);
        run->n_passes++;
        return;
    }
    dense_job job;
    unsigned k = 0;
    unsigned local[64];
    for (unsigned q = 0; q < 64; q++)
        if (block->mask >> q & 1) {
            job.fixed[k] = q;
            local[q] = k++;
        }
    const unsigned K = 1u << k;
    job.k = k;
    job.a = run->state->amplitudes;
    for (unsigned c = 0; c < K; c++) {
        uint64_t o = 0;
        for (unsigned j = 0; j < k; j++)
            if (c >> j & 1)
                o |= (uint64_t)1 << job.fixed[j];
        job.off[c] = o;
    }
    double *buffer = job.tab;
    memset(buffer, 0, sizeof(double) * 2 * K * K);
    for (unsigned c = 0; c < K; c++)
        buffer[2 * (c * K + c)] = 1.0;
    qml_statevec mini = {.n_qubits = 2 * k, .dim = (uint64_t)K * K, .amplitudes = buffer, .n_threads = 1,
                         .block = NULL};
    bool diagonal = true;
    for (unsigned i = 0; i < block->n_gates; i++) {
        /* in application order (for an inverse run the circuit's last gate first) */
        const qml__gate *g = &gates[block->gates[i]];
        qml__gate copy = *g;
        for (unsigned t = 0; t < copy.n_targets && t < 3; t++)
            copy.qubits[t] = local[g->qubits[t]];
        qml__statevec_apply(&mini, &copy, angle_of(run, g), run->inverse);
        diagonal = diagonal && kind_is_diagonal(g->kind);
    }
    bool real = true;
    for (unsigned r = 0; r < K; r++)
        for (unsigned c = 0; c < K; c++) {
            job.mr[r * K + c] = buffer[2 * (c * K + r)];
            job.mi[r * K + c] = buffer[2 * (c * K + r) + 1];
            real = real && job.mi[r * K + c] == 0.0;
        }
    job.real = real;
    job.diagonal = diagonal;
    run->n_passes++;
    if (tiled) {
        memcpy(&run->tile_jobs[run->n_tile++], &job, sizeof job);
        if (run->n_tile == QML__TILE_BLOCKS)
            tile_flush(run);
        return;
    }
    dense_apply(run->state, &job, run->path);
}

/* Apply open block `i` and remove it (order of the others kept). */
static void block_emit(fuse_run *run, const fuse_block *block)
{
    if (run->emit)
        run->emit(run->user, block->gates, block->n_gates, block->mask);
    else
        block_apply(run, block);
}

static void flush_one(fuse_run *run, unsigned i)
{
    block_emit(run, &run->open[i]);
    memmove(&run->open[i], &run->open[i + 1], (run->n_open - i - 1) * sizeof run->open[0]);
    run->n_open--;
}

static unsigned popcount(uint64_t v)
{
    return (unsigned)__builtin_popcountll(v);
}

/* Apply every open block. They are disjoint, so they commute: blocks whose
 * union stays within the width are packed into one first (first fit, in
 * order), so that the singletons left at the end of a sweep (a layer of
 * one-qubit gates) cost one pass per `width` qubits, not one per gate. */
static void flush_all(fuse_run *run)
{
    for (unsigned i = 0; i < run->n_open; i++) {
        fuse_block *b = &run->open[i];
        for (unsigned j = i + 1; j < run->n_open;) {
            const fuse_block *o = &run->open[j];
            if (popcount(b->mask | o->mask) <= run->width && b->n_gates + o->n_gates <= FUSE_MAX_GATES) {
                memcpy(&b->gates[b->n_gates], o->gates, o->n_gates * sizeof o->gates[0]);
                b->n_gates += o->n_gates;
                b->mask |= o->mask;
                memmove(&run->open[j], &run->open[j + 1], (run->n_open - j - 1) * sizeof run->open[0]);
                run->n_open--;
            } else {
                j++;
            }
        }
        block_emit(run, b);
    }
    run->n_open = 0;
}

/* Add gate `index` to the plan (gates arrive in application order). */
static void fuse_gate(fuse_run *run, size_t index, unsigned width)
{
    const qml__gate *g = &run->circuit->gates[index];
    if (g->kind == QML_GATE_I)
        return;
    uint64_t gm = gate_mask(g);
    if (gm == 0 || popcount(gm) > width) {
        /* never fused: apply every block it touches (all of them for a
         * Pauli gate), then the gate itself */
        if (gm == 0) {
            flush_all(run);
        } else {
            for (unsigned i = run->n_open; i-- > 0;)
                if (run->open[i].mask & gm)
                    flush_one(run, i);
        }
        if (run->emit) {
            run->emit(run->user, &index, 1, 0);
        } else {
            tile_flush(run);
            qml__statevec_apply(run->state, g, angle_of(run, g), run->inverse);
        }
        run->n_passes++;
        return;
    }
    for (;;) {
        uint64_t u = gm;
        unsigned gates = 1, widest = 0, widest_bits = 0;
        bool any = false;
        for (unsigned i = 0; i < run->n_open; i++)
            if (run->open[i].mask & gm) {
                u |= run->open[i].mask;
                gates += run->open[i].n_gates;
                unsigned bits = popcount(run->open[i].mask);
                if (!any || bits > widest_bits)
                    widest = i, widest_bits = bits;
                any = true;
            }
        if (popcount(u) <= width && gates <= FUSE_MAX_GATES) {
            /* merge the touched blocks (disjoint, so they commute) into the
             * first of them, then append the gate */
            fuse_block *into = NULL;
            for (unsigned i = 0; i < run->n_open;) {
                fuse_block *b = &run->open[i];
                if (!(b->mask & gm)) {
                    i++;
                    continue;
                }
                if (!into) {
                    into = b;
                    i++;
                    continue;
                }
                memcpy(&into->gates[into->n_gates], b->gates, b->n_gates * sizeof b->gates[0]);
                into->n_gates += b->n_gates;
                into->mask |= b->mask;
                memmove(b, b + 1, (run->n_open - i - 1) * sizeof *b);
                run->n_open--;
            }
            if (!into) {
                into = &run->open[run->n_open++];
                into->mask = 0;
                into->n_gates = 0;
            }
            into->mask |= gm;
            into->gates[into->n_gates++] = index;
            return;
        }
        /* too wide: apply the widest touched block first and try again */
        flush_one(run, widest);
    }
}

/* Fuse gates begin..end of run->circuit (backwards if run->inverse) in
 * blocks of at most `width` qubits (clamped to 1..QML__FUSE_MAX_WIDTH and
 * the qubits of the state, or of the circuit when planning), applying or emitting each block; the passes made. */
static size_t fuse_sweep(fuse_run *run, size_t begin, size_t end, unsigned width)
{
    if (width < 1)
        width = 1;
    if (width > QML__FUSE_MAX_WIDTH)
        width = QML__FUSE_MAX_WIDTH;
    const unsigned n = run->state ? run->state->n_qubits : run->circuit->n_qubits;
    if (width > n)
        width = n;
    run->width = width;
    if (run->inverse) {
        for (size_t g = end; g-- > begin;)
            fuse_gate(run, g, width);
    } else {
        for (size_t g = begin; g < end; g++)
            fuse_gate(run, g, width);
    }
    flush_all(run);
    return run->n_passes;
}

size_t qml__statevec_run_fused(qml_statevec *state, const qml_circuit *circuit, size_t begin, size_t end,
                               const double *weights, const double *features, unsigned width, bool inverse,
                               int path)
{
    fuse_run run = {.state = state, .circuit = circuit, .weights = weights, .features = features,
                    .inverse = inverse, .path = path < 0 || path > qml__fusion_path() ? qml__fusion_path() : path, .n_open = 0, .n_passes = 0};
    /* tiling on any number of threads (tile_flush hands whole tiles to the
     * workers); without its buffer (a failed allocation) the blocks run one
     * by one, same bits */
    if (qml__fusion_tiling && state->dim > ((uint64_t)1 << forward_span()))
        run.tile_jobs = qml__aligned_alloc(QML__TILE_BLOCKS * sizeof(dense_job));
    size_t passes = fuse_sweep(&run, begin, end, width);
    tile_flush(&run);
    qml__aligned_free(run.tile_jobs);
    return passes;
}

size_t qml__fusion_plan(const qml_circuit *circuit, size_t begin, size_t end, unsigned width, bool inverse,
                        qml__fuse_emit emit, void *user)
{
    fuse_run run = {.state = NULL, .circuit = circuit, .inverse = inverse, .n_open = 0, .n_passes = 0,
                    .emit = emit, .user = user};
    return fuse_sweep(&run, begin, end, width);
}

unsigned qml__fusion_width(unsigned n_qubits)
{
    return n_qubits >= QML__FUSE_MIN_QUBITS ? QML__FUSE_WIDTH : 0;
}

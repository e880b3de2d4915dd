/*
 * statevec_pairs.c: the pair kernels of the statevector (a 2x2 matrix on the
 * amplitude pairs (i | off0, i | off1), i over the indices with the gate's
 * qubits clear) and the fused backward step of the adjoint gradient built
 * on the same walk. statevec.c chooses the kernel for each gate.
 *
 * Walks (docs/simulator.md): contiguous runs below the lowest fixed bit; a
 * one-qubit gate on qubit 0 as one stride-4 loop; qubits 1, 2 in unrolled
 * blocks; qubits 5..10 (alone, or under controls at 12 and above) with
 * software prefetch in address order; and gates
 * with two or more fixed bits, the lowest of them 0, 1 or 2, in octets of
 * 8 amplitudes with the pattern of pairs inside an octet computed once.
 */
#include "internal.h"

#include <string.h>

/* Software prefetch distance of the pair kernels, in doubles (32 KiB). */
#define PAIR_PREFETCH 4096u
/* The octet walk: blocks of 2^OCTET_BITS amplitudes (two cache lines). */
#define OCTET_BITS 3u
/* Walks that skip memory or alternate between streams in short runs (two
 * fixed bits) prefetch, in the walk's own order, the lines they will touch
 * this many pairs later: 32 KiB of touched data ahead. Measured on Zen 4,
 * writing every other 128-byte block of a 256 MiB buffer ran at a third of
 * a full sweep's speed without this, and faster than a full sweep with it
 * (the hardware prefetchers do not follow such patterns, nor cross the
 * 4 KiB pages of a skipped region). */
#define AHEAD_PAIRS ((size_t)1024)
/* ... issued per unit of at most this many pairs (run walk) or blocks
 * (octet walk), so that a long run does not prefetch all at once. */
#define AHEAD_UNIT ((size_t)64)
/* The octet walk's unit is 4 blocks (8..16 prefetches): with 32 (64
 * prefetches at once for a control on qubit 3 over a target on 0..2) the
 * AVX2 walk of CRY 3 -> 0, which runs ahead of memory, took 1.6x the time
 * of the scalar one on an AMD EPYC (Zen 3) and 1.85x its own with units of
 * 4 (n = 24, interleaved, medians of 11, load 4-6 on 2 cores; presumably
 * a burst of prefetches beyond the core's outstanding misses stalls it: the
 * machine has no counters to tell); CRY 3 -> 1, CNOT 3 -> 1, CRY 8 -> 1
 * took 0.83-0.89 of the time so, CNOT 8 -> 0, 2 -> 0 0.94-0.98.
 * The previous unit is qml__pair_octet_override = 0. */
#define AHEAD_UNIT_BLOCKS ((size_t)4)
#define AHEAD_UNIT_BLOCKS_WIDE ((size_t)32)
/* ... but only where the walk skips lines or its contiguous stretches are
 * shorter than 2^this amplitudes (64 KiB): longer ones are one or two plain
 * streams that the hardware prefetchers follow, and prefetching them only
 * costs instructions (at n = 24, CRY 0 -> 23, CNOT 0 -> 23, SWAP 1 23 took
 * 1.4-1.6x as long with it; a control on qubit 2 skips lines and keeps it). */
#define AHEAD_MAX_STRETCH_BITS 12u
/* The adjoint step sums at most this many chunk partials (on the stack),
 * so the chunking depends only on the number of pairs. */
#define ADJOINT_MAX_CHUNKS 1024u
/* ... and chunks of at least this many pairs (per-chunk set-up). */
#define ADJOINT_MIN_CHUNK ((size_t)2048)

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

#if defined(QML_HAVE_V2D)
/* Four-lane vectors (two amplitudes): AVX registers in the AVX2 copy of the
 * octet walk, two SSE registers each in the portable one. Only ever passed
 * to always-inlined functions through pointers (no -Wpsabi). */
typedef double pair_v4d __attribute__((vector_size(32)));
#if (defined(__x86_64__) || defined(__i386__)) && __has_builtin(__builtin_cpu_supports)
#define PAIR_AVX2 1
#endif
#endif

/* A 2x2 matrix on pairs (i | off0, i | off1), i over the indices whose
 * `fixed` bits (ascending) are 0. */
typedef struct pair_job {
    double *amplitudes;
    unsigned n_fixed;
    unsigned fixed[3];
    uint64_t off0, off1;
    qml__pair_class cls;
    double m[8];               /* row-major 2x2, interleaved; QML__PAIR_REAL reads m[0], m[2], m[4], m[6] */
    /* the octet walk (fixed[0] < OCTET_BITS, n_fixed >= 2) */
    bool octets;
    unsigned block_bits;       /* octets, or blocks of 16 or 32 when bits 3 (and 4) are fixed too */
    unsigned n_high;           /* fixed bits >= block_bits */
    unsigned high[3];          /* those bits - block_bits: positions in the block index */
    uint64_t off0_high, off1_high; /* the offsets' bits >= block_bits */
    unsigned n_pairs;          /* pairs per block: 2^block_bits >> (fixed bits below block_bits) */
    unsigned pu[5], qu[5];     /* the pairs' positions inside the blocks, in doubles */
    unsigned n_plines, n_qlines; /* the cache lines of a block holding p and q amplitudes */
    unsigned plines[8], qlines[8]; /* (prefetch), in doubles from the block's start */
    size_t n_items;            /* pairs in the whole state */
    bool fill_gap;             /* run walk: prefetch the control = 0 runs between the touched ones too */
    bool strided;              /* run walk, runs of 8 pairs: units of 8 runs 16 amplitudes apart */
    bool rewrite_gap;          /* ... rewrite the control = 0 run before each run unchanged */
    uint64_t half;             /* octet walk, > 0: block o + (blocks / 2), this many doubles on, with block o */
    bool vec;                  /* octet walk, QML__PAIR_REAL: vectors */
    bool runs_avx2;            /* the walks compiled for AVX2, with vector runs (pair_walk_avx2) */
    bool wide_units;           /* octet walk: prefetch units of AHEAD_UNIT_BLOCKS_WIDE (the previous walk) */
    unsigned shape;            /* ... 1: each pair's q right after its p (a target on qubit 0), 2: pairs
                                * 2j, 2j + 1 adjacent in both streams (a target on 1..4), 3: p and q
                                * odd amplitudes (a control on qubit 0), 0: none of these */
} pair_job;

int qml__pair_walk_override = -1;
int qml__pair_path_override = -1;
int qml__pair_octet_override = -1;

/* The octet walk goes as two streams from this many amplitudes on (64 KiB:
 * smaller states are in L1 or L2, where the walk does not matter). */
#define PAIR_HALVES_MIN_DIM ((uint64_t)1 << 12)

/* Split `n_items` over the state's threads when the state is large enough. */
static void run_parallel(const qml_statevec *state, size_t n_items, size_t grain, qml__range_fn fn, void *context)
{
    unsigned workers = state->dim >= QML__PARALLEL_MIN_DIM ? state->n_threads : 1;
    qml__parallel_for(workers, n_items, grain, fn, context);
}

#if defined(QML_HAVE_V2D)
/* One amplitude per two-lane vector. A complex row (a, b) times (p, q) as
 * ((ar p + {-ai, ai} swap(p)) + br q) + {-bi, bi} swap(q): lane by lane the
 * same operations in the same order as pair_general below, so the same
 * bits. (pair_general and pair_real themselves stay scalar: gcc compiles
 * them as well as this, measured with callgrind.) */
static ALWAYS_INLINE qml__v2d row_complex(qml__v2d ar, qml__v2d ai, qml__v2d br, qml__v2d bi, qml__v2d p, qml__v2d q)
{
    return ((ar * p + ai * qml__swap_if(p, true)) + br * q) + bi * qml__swap_if(q, true);
}
#endif

/* The inner loops: `stride` doubles between consecutive pairs (2 for runs of
 * contiguous amplitudes, 4 for a gate on qubit 0). Inlined with a constant
 * stride so that each variant compiles to its own branch-free loop. */
static inline void pair_general(double *restrict p, double *restrict q, size_t count, size_t stride,
                                const double *restrict m)
{
    const double m00r = m[0], m00i = m[1], m01r = m[2], m01i = m[3];
    const double m10r = m[4], m10i = m[5], m11r = m[6], m11i = m[7];
    for (size_t k = 0; k < count; k++) {
        double pr = p[k * stride], pi = p[k * stride + 1];
        double qr = q[k * stride], qi = q[k * stride + 1];
        p[k * stride] = m00r * pr - m00i * pi + m01r * qr - m01i * qi;
        p[k * stride + 1] = m00r * pi + m00i * pr + m01r * qi + m01i * qr;
        q[k * stride] = m10r * pr - m10i * pi + m11r * qr - m11i * qi;
        q[k * stride + 1] = m10r * pi + m10i * pr + m11r * qi + m11i * qr;
    }
}

static inline void pair_real(double *restrict p, double *restrict q, size_t count, size_t stride,
                             const double *restrict m)
{
    const double m00 = m[0], m01 = m[2], m10 = m[4], m11 = m[6];
    for (size_t k = 0; k < count; k++) {
        double pr = p[k * stride], pi = p[k * stride + 1];
        double qr = q[k * stride], qi = q[k * stride + 1];
        p[k * stride] = m00 * pr + m01 * qr;
        p[k * stride + 1] = m00 * pi + m01 * qi;
        q[k * stride] = m10 * pr + m11 * qr;
        q[k * stride + 1] = m10 * pi + m11 * qi;
    }
}

static inline void pair_swap(double *restrict p, double *restrict q, size_t count, size_t stride)
{
    for (size_t k = 0; k < count; k++) {
        double pr = p[k * stride], pi = p[k * stride + 1];
        p[k * stride] = q[k * stride];
        p[k * stride + 1] = q[k * stride + 1];
        q[k * stride] = pr;
        q[k * stride + 1] = pi;
    }
}

#if defined(PAIR_AVX2)
/* The rotation of two amplitudes of p (x) and of q (y) per AVX vector, for
 * the run walks: lane by lane the operations of pair_real and pair_general
 * in their order (a - b c as a + (-b) c, exact), and AVX2 without FMA does
 * not contract them, so the same bits. The scalar loops ran about 10
 * instructions per amplitude, enough to hold RY on qubits 1..4 at 0.8 of
 * the memory limit (n = 24). c[0..7]: the matrix's real parts and signed
 * imaginary parts ({-im, im, -im, im}) of m00, m01, m10, m11. */
static ALWAYS_INLINE void rotate_v4d(double *x0, double *y0, bool real, const pair_v4d *c)
{
    pair_v4d x, y, u, v;
    memcpy(&x, x0, sizeof x);
    memcpy(&y, y0, sizeof y);
    if (real) {
        u = c[0] * x + c[2] * y;
        v = c[4] * x + c[6] * y;
    } else {
        const pair_v4d xs = __builtin_shufflevector(x, x, 1, 0, 3, 2), ys = __builtin_shufflevector(y, y, 1, 0, 3, 2);
        u = ((c[0] * x + c[1] * xs) + c[2] * y) + c[3] * ys;
        v = ((c[4] * x + c[5] * xs) + c[6] * y) + c[7] * ys;
    }
    memcpy(x0, &u, sizeof u);
    memcpy(y0, &v, sizeof v);
}

/* Qubit 1 or 2 over items [begin, end) (multiples of 4): amplitudes
 * 2 begin .. 2 end in blocks of 8, four vectors each, paired (0, 1), (2, 3)
 * on qubit 1 and (0, 2), (1, 3) on qubit 2; one call for the whole range
 * (a call per run of 2 pairs cost what the vectors saved). */
static ALWAYS_INLINE void low_runs_v4d(double *restrict a, size_t begin, size_t end, unsigned t, bool real,
                                       const pair_v4d *c)
{
    const size_t second = t == 1 ? 4 : 8, other = t == 1 ? 8 : 4;
    for (size_t k = begin; k < end; k += 4) {
        double *p = a + 4 * k;
        rotate_v4d(p, p + second, real, c);
        rotate_v4d(p + other, p + other + second, real, c);
    }
}
#endif

/* A run of `count` contiguous pairs under the job's rotation; `vec` (NULL:
 * scalar) the coefficient vectors of pair_walk_avx2. */
static ALWAYS_INLINE void pair_rotation_runs(const pair_job *job, double *p, double *q, size_t count, bool real,
                                             const void *vec)
{
    size_t k = 0;
#if defined(PAIR_AVX2)
    if (vec) {
        for (; k + 2 <= count; k += 2)
            rotate_v4d(p + 2 * k, q + 2 * k, real, vec);
    }
#else
    (void)vec;
#endif
    if (k < count && real)
        pair_real(p + 2 * k, q + 2 * k, count - k, 2, job->m);
    else if (k < count)
        pair_general(p + 2 * k, q + 2 * k, count - k, 2, job->m);
}

/* A run of `count` contiguous pairs under the job's matrix, whatever its
 * class (each rotation class inlined with `real` a constant). */
static ALWAYS_INLINE void pair_dispatch(const pair_job *job, double *p, double *q, size_t count, const void *vec)
{
    if (job->cls == QML__PAIR_GENERAL)
        pair_rotation_runs(job, p, q, count, false, vec);
    else if (job->cls == QML__PAIR_REAL)
        pair_rotation_runs(job, p, q, count, true, vec);
    else
        pair_swap(p, q, count, 2);
}

int qml__pair_stream_ahead_override = -1;
int qml__pair_mid_override = -1;

/* Whether a swap on target t prefetches each of its two streams on its own
 * (stream_ahead) instead of in address order. On target 8 the two streams
 * are exactly 4 KiB apart, so a pair's two amplitudes agree in address bits
 * 0..11; there the exchange (X, CNOT 23 -> 8) ran slower than the real
 * rotation on the same qubit (15.1 against 11.8 ms for X and RY at n = 24),
 * and prefetching each stream 2 blocks ahead in its own order took 0.79-0.90
 * of the time of the address-order prefetch for X 8, 0.85 for CNOT 13 -> 8,
 * 0.86-1.03 for CNOT 23 -> 8 (n = 24, interleaved, medians of 11-15, load
 * 3-7 on 2 cores; docs/simulator.md). Rotations gained
 * nothing so (1.02-1.09), nor did targets 5..7, 9, 10, nor the octet
 * walk's low controls over target 8 (SWAP 0 8: 1.3x as long). */
static bool stream_ahead(qml__pair_class cls, unsigned t)
{
    if (qml__pair_stream_ahead_override >= 0)
        return qml__pair_stream_ahead_override && t >= 5 && t <= 10;
    return cls == QML__PAIR_SWAP && t == 8;
}

/* A one-qubit gate on qubit 5..10 (or a gate controlled on qubits 12 and
 * above with its target there, which is one on the stretches of 2^12 or
 * more amplitudes whose controls are set): each block of 2^(t+1) amplitudes pairs
 * its lower half with its upper half, two streams 0.5..16 KiB apart in
 * short runs, which the hardware prefetchers of the machine we measured
 * (Zen 4) follow badly: a plain loop ran at a third of the bandwidth of
 * qubits 0..4 or 12+. Prefetching the memory in address order, two lines
 * per line of the lower half, makes the sweep a linear stream again: for
 * qubits 5..8 into L1 at least two blocks and 16 KiB ahead (then about
 * 51 GB/s, the speed of qubit 0, against 16..25), for 9..10 into L2 four
 * blocks ahead (farther than L1 holds; about 42 against 27..34). */
/* The address-order walk of pair_mid_qubit with the prefetch level a
 * constant and 8 pairs per step: four prefetches at fixed offsets from one
 * pointer (the same lines as its 4-pair steps), so no level test and one
 * address update per 8 pairs. */
static ALWAYS_INLINE void mid_runs_unrolled(const pair_job *job, size_t begin, size_t end, qml__pair_class cls,
                                            size_t ahead, bool to_l2, const void *vec)
{
    const unsigned t = job->fixed[0];
    const size_t run = (size_t)1 << t;
    for (size_t k = begin; k < end; k += run) {
        const uint64_t i = job->n_fixed == 1 ? ((uint64_t)k >> t) << (t + 1)
                                             : qml__deposit_zeros(k, job->fixed, job->n_fixed);
        double *p = job->amplitudes + 2 * (i | job->off0);
        double *q = job->amplitudes + 2 * (i | job->off1);
        const double *f = p + ahead;
        for (size_t l = 0; l < run; l += 8, p += 16, q += 16, f += 32) {
#if defined(__GNUC__)
            if (to_l2) {
                __builtin_prefetch(f, 1, 2);
                __builtin_prefetch(f + 8, 1, 2);
                __builtin_prefetch(f + 16, 1, 2);
                __builtin_prefetch(f + 24, 1, 2);
            } else {
                __builtin_prefetch(f, 1, 3);
                __builtin_prefetch(f + 8, 1, 3);
                __builtin_prefetch(f + 16, 1, 3);
                __builtin_prefetch(f + 24, 1, 3);
            }
#endif
            if (cls == QML__PAIR_GENERAL)
                pair_rotation_runs(job, p, q, 8, false, vec);
            else if (cls == QML__PAIR_REAL)
                pair_rotation_runs(job, p, q, 8, true, vec);
            else
                pair_swap(p, q, 8, 2);
        }
    }
}

static ALWAYS_INLINE void pair_mid_qubit(const pair_job *job, size_t begin, size_t end, qml__pair_class cls,
                                         const void *vec)
{
    const unsigned t = job->fixed[0];
    const size_t run = (size_t)1 << t;
    if (stream_ahead(cls, t)) {
        const size_t ahead = 8 * run > 2048 ? 8 * run : 2048; /* doubles, in each stream: two blocks */
        for (size_t k = begin; k < end; k += run) {
            const uint64_t i = job->n_fixed == 1 ? ((uint64_t)k >> t) << (t + 1)
                                                 : qml__deposit_zeros(k, job->fixed, job->n_fixed);
            double *p = job->amplitudes + 2 * (i | job->off0);
            double *q = job->amplitudes + 2 * (i | job->off1);
            for (size_t l = 0; l < run; l += 4) {
#if defined(__GNUC__)
                __builtin_prefetch(p + ahead + 2 * l, 1, 3);
                __builtin_prefetch(q + ahead + 2 * l, 1, 3);
#endif
                if (cls == QML__PAIR_GENERAL)
                    pair_rotation_runs(job, p + 2 * l, q + 2 * l, 4, false, vec);
                else if (cls == QML__PAIR_REAL)
                    pair_rotation_runs(job, p + 2 * l, q + 2 * l, 4, true, vec);
                else
                    pair_swap(p + 2 * l, q + 2 * l, 4, 2);
            }
        }
        return;
    }
    /* qml__pair_mid_override (`qml bench gate --ab pair_mid=0,3`), for the
     * address-order walk: 0 this walk as chosen below, 1 no software
     * prefetch, 2 twice the distance, 3 half of it, 4 into L2 and 5 into L1
     * at twice the distance, 6 the same lines as 0 in steps of 8 pairs
     * (mid_runs_unrolled). At n = 22 under heavy load (CPU over wall 0.2,
     * medians of 7-9 interleaved), X and RY on qubits 7, 9, 10: 1 took
     * 1.7-1.9x the time; 2, 4, 5 0.79-1.19x and 3 0.80-1.11x, noise as large
     * as the effect, so the default stays. 6 runs 15-18 % fewer
     * instructions (callgrind, n = 18, per amplitude: X 5.0-5.2 -> 4.3, RY
     * 9.0-9.2 -> 8.3, against 3.5 and 7.5 without prefetch on qubits 11
     * and up), but its A/B (CPU over wall 0.06-0.15) gave 0.78-1.53x: to be
     * measured on an idle machine. One prefetch per two lines (relying on
     * the adjacent-line prefetcher) cut 0.7 instructions per amplitude but
     * took 1.1-2.1x the time. */
    const int mode = qml__pair_mid_override;
    const bool to_l2 = mode == 4 ? true : mode == 5 ? false : t >= 9;
    size_t ahead = to_l2 ? 16 * run : 8 * run; /* doubles: a block is 4 * run */
    if (ahead < 2048)
        ahead = 2048;
    if (mode == 2 || mode == 4 || mode == 5)
        ahead *= 2;
    if (mode == 3)
        ahead /= 2;
    if (mode == 6) {
        if (to_l2)
            mid_runs_unrolled(job, begin, end, cls, ahead, true, vec);
        else
            mid_runs_unrolled(job, begin, end, cls, ahead, false, vec);
        return;
    }
    if (mode == 1) {
        for (size_t k = begin; k < end; k += run) {
            const uint64_t i = job->n_fixed == 1 ? ((uint64_t)k >> t) << (t + 1)
                                                 : qml__deposit_zeros(k, job->fixed, job->n_fixed);
            double *p = job->amplitudes + 2 * (i | job->off0);
            double *q = job->amplitudes + 2 * (i | job->off1);
            if (cls == QML__PAIR_GENERAL)
                pair_rotation_runs(job, p, q, run, false, vec);
            else if (cls == QML__PAIR_REAL)
                pair_rotation_runs(job, p, q, run, true, vec);
            else
                pair_swap(p, q, run, 2);
        }
        return;
    }
    /* ranges are whole runs: QML__PARALLEL_GRAIN pairs or the whole state, and runs are at most 2^10 */
    for (size_t k = begin; k < end; k += run) {
        const uint64_t i = job->n_fixed == 1 ? ((uint64_t)k >> t) << (t + 1)
                                             : qml__deposit_zeros(k, job->fixed, job->n_fixed);
        double *p = job->amplitudes + 2 * (i | job->off0);
        double *q = job->amplitudes + 2 * (i | job->off1);
        for (size_t l = 0; l < run; l += 4) {
#if defined(__GNUC__)
            if (to_l2) {
                __builtin_prefetch(p + ahead + 4 * l, 1, 2);
                __builtin_prefetch(p + ahead + 4 * l + 8, 1, 2);
            } else {
                __builtin_prefetch(p + ahead + 4 * l, 1, 3);
                __builtin_prefetch(p + ahead + 4 * l + 8, 1, 3);
            }
#endif
            if (cls == QML__PAIR_GENERAL)
                pair_rotation_runs(job, p + 2 * l, q + 2 * l, 4, false, vec);
            else if (cls == QML__PAIR_REAL)
                pair_rotation_runs(job, p + 2 * l, q + 2 * l, 4, true, vec);
            else
                pair_swap(p + 2 * l, q + 2 * l, 4, 2);
        }
    }
}


/* ---- the octet walk ------------------------------------------------------
 * A gate with two or more fixed bits, the lowest of them 0, 1 or 2 (CNOT,
 * CZ-free controlled gates, SWAP, Toffoli on low qubits): runs below the
 * lowest fixed bit hold 1, 2 or 4 pairs, and the general walk recomputed
 * index, run length and dispatch for each (about 35 instructions per
 * 16-byte swap for a CNOT 0 -> 1). Every octet of 8 amplitudes (two cache
 * lines) holds the same pattern of pairs, so the pattern is computed once
 * and unrolled; the fixed bits at 3 and above split the octets into runs,
 * like the amplitudes of the general walk. Items are still pairs (ranges
 * are whole octets: grains and the total are multiples of 4 >= n_pairs). */
static ALWAYS_INLINE void octet_pair(double *p, double *q, const double *m, qml__pair_class cls, bool vec)
{
#if defined(QML_HAVE_V2D)
    if (vec && cls == QML__PAIR_REAL) {
        /* one amplitude per vector: the same products and sums, lane by
         * lane, as pair_real, so the same bits (gcc keeps pair_real on
         * single pairs scalar: 20 instructions a pair against 10) */
        const qml__v2d P = qml__load_v2d(p), Q = qml__load_v2d(q);
        qml__store_v2d(p, m[0] * P + m[2] * Q);
        qml__store_v2d(q, m[4] * P + m[6] * Q);
        return;
    }
#else
    (void)vec;
#endif
    if (cls == QML__PAIR_GENERAL)
        pair_general(p, q, 1, 2, m);
    else if (cls == QML__PAIR_REAL)
        pair_real(p, q, 1, 2, m);
    else
        pair_swap(p, q, 1, 2);
}

#if defined(QML_HAVE_V2D)
static ALWAYS_INLINE void load_v4d(pair_v4d *v, const double *p)
{
    memcpy(v, p, sizeof *v);
}

static ALWAYS_INLINE void store_v4d(double *p, const pair_v4d *v)
{
    memcpy(p, v, sizeof *v);
}

/* A real matrix on the pairs of a block, two amplitudes per vector, the
 * same products and sums lane by lane as pair_real (a sum's operands
 * swapped at most: the same bits). Shape 1: {p, q} in one vector, the
 * rows {m00, m00, m11, m11} . v + {m01, m01, m10, m10} . (v halves
 * swapped); shape 2: {p_2j, p_2j+1} and {q_2j, q_2j+1}; shape 3: each p
 * and q the upper amplitude of its vector (a control on qubit 0), the
 * lower one, which the gate does not change, stored back as loaded. */
static ALWAYS_INLINE void octet_real_wide(double *P, double *Q, const unsigned *pu, const unsigned *qu, unsigned np,
                                          unsigned shape, const pair_v4d *diag, const pair_v4d *cross,
                                          const double *m)
{
    if (shape == 1) {
        for (unsigned k = 0; k < np; k++) {
            pair_v4d v;
            load_v4d(&v, P + pu[k]);
            const pair_v4d out = *diag * v + *cross * __builtin_shufflevector(v, v, 2, 3, 0, 1);
            store_v4d(P + pu[k], &out);
        }
    } else if (shape == 3) {
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
#pragma GCC unroll 4
#endif
        for (unsigned k = 0; k < np; k++) {
            pair_v4d a, b;
            load_v4d(&a, P + pu[k] - 2);
            load_v4d(&b, Q + qu[k] - 2);
            const pair_v4d x = m[0] * a + m[2] * b, y = m[4] * a + m[6] * b;
            const pair_v4d xa = __builtin_shufflevector(a, x, 0, 1, 6, 7), yb = __builtin_shufflevector(b, y, 0, 1, 6, 7);
            store_v4d(P + pu[k] - 2, &xa);
            store_v4d(Q + qu[k] - 2, &yb);
        }
    } else {
        for (unsigned k = 0; k < np; k += 2) {
            pair_v4d a, b;
            load_v4d(&a, P + pu[k]);
            load_v4d(&b, Q + qu[k]);
            const pair_v4d x = m[0] * a + m[2] * b, y = m[4] * a + m[6] * b;
            store_v4d(P + pu[k], &x);
            store_v4d(Q + qu[k], &y);
        }
    }
}
#endif

static ALWAYS_INLINE void octet_walk(const pair_job *job, size_t o_begin, size_t o_end, qml__pair_class cls,
                                     unsigned np, bool vec, unsigned shape)
{
    double *a = job->amplitudes;
    const unsigned p0 = job->pu[0], p1 = job->pu[np > 1 ? 1 : 0], p2 = job->pu[np > 2 ? 2 : 0],
                   p3 = job->pu[np > 3 ? 3 : 0];
    const unsigned q0 = job->qu[0], q1 = job->qu[np > 1 ? 1 : 0], q2 = job->qu[np > 2 ? 2 : 0],
                   q3 = job->qu[np > 3 ? 3 : 0];
    const uint64_t run_length = job->n_high ? (uint64_t)1 << job->high[0] : 0; /* in octets; 0: unbounded */
    const unsigned bb = job->block_bits;
    const size_t step = (size_t)2 << bb; /* doubles per block */
    /* a walk with a fixed bit above the block skips memory or alternates
     * between streams, one whose blocks hold lines without pairs (a control
     * on qubit 2) skips lines: prefetch the lines of the blocks AHEAD_PAIRS
     * pairs later, in units of at most AHEAD_UNIT_BLOCKS blocks (a control
     * on qubit 2 without it took twice the time of a CNOT 0 -> 1) */
    const unsigned lines_per_block = (1u << bb) / 4;
    const bool skips_lines = job->n_plines < lines_per_block || (job->n_qlines && job->n_qlines < lines_per_block);
    /* one fixed bit above the block, the target's, at 5..10, and no line
     * skipped (CRY 0 -> 8, SWAP 1 8): the walk covers all memory, its two
     * streams 2^t amplitudes apart in runs of 2^t, the pattern of a
     * one-qubit gate on t, and prefetches as pair_mid_qubit does, in
     * address order (in its own order it took 1.3-1.5x as long) */
    const unsigned t = job->n_high ? job->high[0] + bb : 0;
    const bool linear = job->n_high == 1 && !skips_lines && job->off0_high == 0 &&
                        job->off1_high == (uint64_t)1 << t && t >= 5 && t <= 10;
    const bool linear_l2 = t >= 9;
    const size_t linear_ahead = (size_t)(linear_l2 ? 16 : 8) << t > 2048 ? (size_t)(linear_l2 ? 16 : 8) << t : 2048;
    const bool prefetch = !linear && ((job->n_high > 0 && job->high[0] + bb < AHEAD_MAX_STRETCH_BITS) || skips_lines);
    const size_t unit_blocks = job->wide_units ? AHEAD_UNIT_BLOCKS_WIDE : AHEAD_UNIT_BLOCKS;
    const size_t total = job->n_items / np, ahead = AHEAD_PAIRS / np;
    const unsigned npl = job->n_plines, nql = job->n_qlines;
    const bool small_lists = npl <= 2 && nql <= 2;
    const bool fill_lines = job->fill_gap && job->n_high == 0 && bb == OCTET_BITS && skips_lines;
    const unsigned pl0 = job->plines[0], pl1 = job->plines[1], ql0 = job->qlines[0], ql1 = job->qlines[1];
    double m[8];
    memcpy(m, job->m, sizeof m);
    const uint64_t H = job->half;
#if defined(QML_HAVE_V2D)
    const pair_v4d diag = {m[0], m[0], m[6], m[6]}, cross = {m[2], m[2], m[4], m[4]};
    unsigned pu[4], qu[4];
    memcpy(pu, job->pu, sizeof pu);
    memcpy(qu, job->qu, sizeof qu);
#else
    (void)shape;
#endif
    for (size_t o = o_begin; o < o_end;) {
        size_t run = o_end - o;
        if (run_length && run > run_length - (o & (run_length - 1)))
            run = (size_t)(run_length - (o & (run_length - 1)));
        if (prefetch && run > unit_blocks)
            run = unit_blocks;
        const uint64_t base = qml__deposit_zeros(o, job->high, job->n_high) << bb;
        double *P = a + 2 * (base | job->off0_high), *Q = a + 2 * (base | job->off1_high);
#if defined(__GNUC__)
        if (linear) {
            /* block j of the run's p half: the two blocks of address at
             * twice its offset in the run, linear_ahead doubles on (for
             * the run, one contiguous stretch of 4 lines per block: step
             * is 16 or more doubles) */
            const size_t pos = (size_t)(o & (run_length - 1));
            const double *F = P + pos * step + linear_ahead;
            if (linear_l2)
                for (size_t d = 0; d < 2 * run * step; d += 32) {
                    __builtin_prefetch(F + d, 1, 2);
                    __builtin_prefetch(F + d + 8, 1, 2);
                    __builtin_prefetch(F + d + 16, 1, 2);
                    __builtin_prefetch(F + d + 24, 1, 2);
                }
            else
                for (size_t d = 0; d < 2 * run * step; d += 32) {
                    __builtin_prefetch(F + d, 1, 3);
                    __builtin_prefetch(F + d + 8, 1, 3);
                    __builtin_prefetch(F + d + 16, 1, 3);
                    __builtin_prefetch(F + d + 24, 1, 3);
                }
        }
        if (prefetch && o + ahead < total) {
            /* the same number of blocks from o + ahead, itself the start of
             * a run or unit (ahead is a multiple of both) */
            const uint64_t future = qml__deposit_zeros(o + ahead, job->high, job->n_high) << bb;
            const double *FP = a + 2 * (future | job->off0_high), *FQ = a + 2 * (future | job->off1_high);
            if (fill_lines) {
                /* a walk over every octet that skips a line of each (a
                 * control on qubit 2 over a target on 0 or 1): both lines
                 * of the octets ahead, one stream in address order. CNOT
                 * 2 -> 0, 2 -> 1 and CRY 2 -> 0, 2 -> 1 took 0.74-0.79 of
                 * the time (n = 24, interleaved, loaded); blocks of 16
                 * (CRY 2 -> 3, SWAP 2 3) took 1.1-1.5x as long so */
                for (size_t d = 0; d < run * step; d += 8)
                    __builtin_prefetch(FP + d, 1);
            } else if (small_lists) {
                /* at most two lines per stream (unrolled: the loops cost
                 * more than the prefetches) */
                for (size_t j = 0; j < run; j++) {
                    __builtin_prefetch(FP + j * step + pl0, 1);
                    if (npl > 1)
                        __builtin_prefetch(FP + j * step + pl1, 1);
                    if (nql > 0)
                        __builtin_prefetch(FQ + j * step + ql0, 1);
                    if (nql > 1)
                        __builtin_prefetch(FQ + j * step + ql1, 1);
                }
            } else {
                for (size_t j = 0; j < run; j++) {
                    for (unsigned l = 0; l < npl; l++)
                        __builtin_prefetch(FP + j * step + job->plines[l], 1);
                    for (unsigned l = 0; l < nql; l++)
                        __builtin_prefetch(FQ + j * step + job->qlines[l], 1);
                }
            }
        }
#endif
#if defined(QML_HAVE_V2D)
        if (vec && cls == QML__PAIR_REAL && shape) {
            for (size_t j = 0; j < run; j++, P += step, Q += step) {
                octet_real_wide(P, Q, pu, qu, np, shape, &diag, &cross, m);
                if (H)
                    octet_real_wide(P + H, Q + H, pu, qu, np, shape, &diag, &cross, m);
            }
            o += run;
            continue;
        }
#endif
        for (size_t j = 0; j < run; j++, P += step, Q += step) {
            octet_pair(P + p0, Q + q0, m, cls, vec);
            if (np > 1)
                octet_pair(P + p1, Q + q1, m, cls, vec);
            if (np > 2) {
                octet_pair(P + p2, Q + q2, m, cls, vec);
                octet_pair(P + p3, Q + q3, m, cls, vec);
            }
            if (H) {
                /* the same block of the upper half (two streams) */
                octet_pair(P + H + p0, Q + H + q0, m, cls, vec);
                if (np > 1)
                    octet_pair(P + H + p1, Q + H + q1, m, cls, vec);
                if (np > 2) {
                    octet_pair(P + H + p2, Q + H + q2, m, cls, vec);
                    octet_pair(P + H + p3, Q + H + q3, m, cls, vec);
                }
            }
        }
        o += run;
    }
}

#if defined(PAIR_AVX2)
/* The octet walk of a real matrix whose pairs fill vectors of two
 * amplitudes (job->shape), compiled for AVX2. */
static ALWAYS_INLINE void octet_real_shapes_body(const pair_job *job, size_t o0, size_t o1)
{
    const unsigned np = job->n_pairs;
    if (job->shape == 1 && np == 4)
        octet_walk(job, o0, o1, QML__PAIR_REAL, 4, true, 1);
    else if (job->shape == 1 && np == 2)
        octet_walk(job, o0, o1, QML__PAIR_REAL, 2, true, 1);
    else if (job->shape == 1)
        octet_walk(job, o0, o1, QML__PAIR_REAL, 1, true, 1);
    else if (job->shape == 3 && np == 4)
        octet_walk(job, o0, o1, QML__PAIR_REAL, 4, true, 3);
    else if (job->shape == 3 && np == 2)
        octet_walk(job, o0, o1, QML__PAIR_REAL, 2, true, 3);
    else if (job->shape == 3)
        octet_walk(job, o0, o1, QML__PAIR_REAL, 1, true, 3);
    else if (np == 4)
        octet_walk(job, o0, o1, QML__PAIR_REAL, 4, true, 2);
    else
        octet_walk(job, o0, o1, QML__PAIR_REAL, 2, true, 2);
}

__attribute__((target("avx2"))) static void octet_real_shapes_avx2(const pair_job *job, size_t o0, size_t o1)
{
    octet_real_shapes_body(job, o0, o1);
}

#endif


static void octet_range(const pair_job *job, size_t begin, size_t end)
{
    const unsigned np = job->n_pairs;
    const size_t o0 = begin / np, o1 = end / np;
#define OCTET_CASE(CLS, VEC)                                                                                     \
    do {                                                                                                         \
        if (np == 4)                                                                                             \
            octet_walk(job, o0, o1, CLS, 4, VEC, 0);                                                             \
        else if (np == 2)                                                                                        \
            octet_walk(job, o0, o1, CLS, 2, VEC, 0);                                                             \
        else                                                                                                     \
            octet_walk(job, o0, o1, CLS, 1, VEC, 0);                                                             \
    } while (0)
    switch (job->cls) {
    case QML__PAIR_GENERAL: OCTET_CASE(QML__PAIR_GENERAL, false); break;
    case QML__PAIR_REAL:
#if defined(PAIR_AVX2)
        if (job->shape) {
            octet_real_shapes_avx2(job, o0, o1); /* shapes are only chosen with AVX2 */
            break;
        }
#endif
        if (job->vec)
            OCTET_CASE(QML__PAIR_REAL, true);
        else
            OCTET_CASE(QML__PAIR_REAL, false);
        break;
    case QML__PAIR_SWAP: OCTET_CASE(QML__PAIR_SWAP, false); break;
    }
#undef OCTET_CASE
}

/* Set up the octet walk of `job` (sorted fixed bits, fixed[0] < OCTET_BITS).
 * Fixed bits at 3, 4 widen the block to 16 or 32 amplitudes (else a CNOT
 * 2 -> 3 would walk runs of one octet); the pairs per block stay 1, 2 or 4. */
static void octet_plan(pair_job *job, unsigned n_qubits)
{
    unsigned bb = OCTET_BITS;
    for (unsigned f = 0; f < job->n_fixed; f++)
        if (job->fixed[f] == bb)
            bb++;
    const uint64_t low = ((uint64_t)1 << bb) - 1;
    uint64_t low_fixed = 0;
    job->block_bits = bb;
    job->n_high = 0;
    for (unsigned f = 0; f < job->n_fixed; f++) {
        if (job->fixed[f] < bb)
            low_fixed |= (uint64_t)1 << job->fixed[f];
        else
            job->high[job->n_high++] = job->fixed[f] - bb;
    }
    job->off0_high = job->off0 & ~low;
    job->off1_high = job->off1 & ~low;
    job->n_pairs = 0;
    for (uint64_t u = 0; u <= low; u++)
        if ((u & low_fixed) == 0) {
            job->pu[job->n_pairs] = (unsigned)(2 * (u | (job->off0 & low)));
            job->qu[job->n_pairs] = (unsigned)(2 * (u | (job->off1 & low)));
            if (job->n_pairs++ == 4)
                return; /* cannot happen with at most 3 fixed bits; the run walk then */
        }
    /* the distinct lines of the p and q amplitudes (one list when both
     * streams are the same) */
    const bool one_stream = job->off0_high == job->off1_high;
    job->n_plines = job->n_qlines = 0;
    for (unsigned k = 0; k < 2 * job->n_pairs; k++) {
        const unsigned line = (k < job->n_pairs ? job->pu[k] : job->qu[k - job->n_pairs]) & ~7u;
        const bool to_q = k >= job->n_pairs && !one_stream;
        unsigned *list = to_q ? job->qlines : job->plines, *count = to_q ? &job->n_qlines : &job->n_plines;
        bool seen = false;
        for (unsigned l = 0; l < *count; l++)
            seen = seen || list[l] == line;
        if (!seen)
            list[(*count)++] = line;
    }
    job->octets = n_qubits >= bb;
}

/* Two or three fixed bits, the lowest at 3 or above: runs of 2^fixed[0]
 * pairs in two streams (p and q) that skip memory (a control) or alternate
 * in short runs, taken in units of at most AHEAD_UNIT pairs; before each,
 * the lines of the unit AHEAD_PAIRS pairs later are prefetched (exactly
 * the ones the walk will touch). Ranges are whole units: grains are
 * multiples of AHEAD_UNIT, and so are the state's pair count and runs
 * whenever they exceed a unit. */
/* log2 of the contiguous stretch of a two-fixed-bit walk, in amplitudes:
 * when the pair's two amplitudes differ in the lower fixed bit only (the
 * target below a control), each p run and its q run are adjacent, and the
 * walk is contiguous up to the higher fixed bit; otherwise it breaks at the
 * lower one. */
static unsigned stretch_bits(const pair_job *job)
{
    return (job->off0 ^ job->off1) == (uint64_t)1 << job->fixed[0] ? job->fixed[1] : job->fixed[0];
}

/* Load the two lines at p (16 doubles) and store them back unchanged. The
 * empty asm keeps the compiler from removing the pair as a no-op: on the
 * vector registers where it can name them, else by a memory clobber
 * (which also makes it reload what it kept from memory). */
static ALWAYS_INLINE void rewrite_lines(double *p)
{
#if defined(QML_HAVE_V2D) && (defined(__x86_64__) || defined(__aarch64__))
    for (unsigned k = 0; k < 16; k += 2) {
        qml__v2d x = qml__load_v2d(p + k);
#if defined(__aarch64__)
        __asm__ volatile("" : "+w"(x));
#else
        __asm__ volatile("" : "+x"(x));
#endif
        qml__store_v2d(p + k, x);
    }
#else
    double line[16];
    memcpy(line, p, sizeof line);
#if defined(__GNUC__)
    __asm__ volatile("" ::: "memory");
#endif
    memcpy(p, line, sizeof line);
#endif
}

static ALWAYS_INLINE void pair_runs_ahead(const pair_job *job, size_t begin, size_t end, qml__pair_class cls,
                                          const void *vec)
{
    double *a = job->amplitudes;
    const size_t run_length = (size_t)1 << job->fixed[0];
    const bool strided = job->strided;
    const size_t unit = strided ? AHEAD_UNIT : run_length < AHEAD_UNIT ? run_length : AHEAD_UNIT;
    for (size_t k = begin; k < end; k += unit) {
        const uint64_t i = qml__deposit_zeros(k, job->fixed, job->n_fixed);
        double *p = a + 2 * (i | job->off0), *q = a + 2 * (i | job->off1);
        if (strided) {
            /* the unit AHEAD_PAIRS pairs later, a run at a time, each run's
             * lines (and the control = 0 run before it: fill_gap) just
             * before the run they are for */
            const bool ahead = k + AHEAD_PAIRS < job->n_items;
            const uint64_t f = ahead ? qml__deposit_zeros(k + AHEAD_PAIRS, job->fixed, job->n_fixed) : 0;
            const uint64_t gap = job->fill_gap ? (uint64_t)1 << job->fixed[0] : 0;
            const double *fp = a + 2 * (f | (job->off0 & ~gap)), *fq = a + 2 * (f | (job->off1 & ~gap));
            for (size_t r = 0; r < AHEAD_UNIT / 8; r++, p += 32, q += 32) {
#if defined(__GNUC__)
                if (ahead) {
                    __builtin_prefetch(fp + 32 * r, 1);
                    __builtin_prefetch(fp + 32 * r + 8, 1);
                    __builtin_prefetch(fq + 32 * r, 1);
                    __builtin_prefetch(fq + 32 * r + 8, 1);
                    if (gap) {
                        __builtin_prefetch(fp + 32 * r + 16, 1);
                        __builtin_prefetch(fp + 32 * r + 24, 1);
                        __builtin_prefetch(fq + 32 * r + 16, 1);
                        __builtin_prefetch(fq + 32 * r + 24, 1);
                    }
                }
#endif
                if (cls == QML__PAIR_GENERAL)
                    pair_rotation_runs(job, p, q, 8, false, vec);
                else if (cls == QML__PAIR_REAL)
                    pair_rotation_runs(job, p, q, 8, true, vec);
                else
                    pair_swap(p, q, 8, 2);
                if (job->rewrite_gap) {
                    rewrite_lines(p - 16);
                    rewrite_lines(q - 16);
                }
            }
            continue;
        }
#if defined(__GNUC__)
        if (k + AHEAD_PAIRS < job->n_items) {
            const uint64_t f = qml__deposit_zeros(k + AHEAD_PAIRS, job->fixed, job->n_fixed);
            if (job->fill_gap) {
                /* the control = 0 run before each touched run too: each
                 * stream read whole, in address order */
                const uint64_t gap = (uint64_t)1 << job->fixed[0];
                const double *fp = a + 2 * (f | (job->off0 & ~gap)), *fq = a + 2 * (f | (job->off1 & ~gap));
                for (size_t d = 0; d < 4 * unit; d += 8) {
                    __builtin_prefetch(fp + d, 1);
                    __builtin_prefetch(fq + d, 1);
                }
            } else {
                const double *fp = a + 2 * (f | job->off0), *fq = a + 2 * (f | job->off1);
                for (size_t d = 0; d < 2 * unit; d += 8) {
                    __builtin_prefetch(fp + d, 1);
                    __builtin_prefetch(fq + d, 1);
                }
            }
        }
#endif
        if (cls == QML__PAIR_GENERAL)
            pair_rotation_runs(job, p, q, unit, false, vec);
        else if (cls == QML__PAIR_REAL)
            pair_rotation_runs(job, p, q, unit, true, vec);
        else
            pair_swap(p, q, unit, 2);
    }
}

/* The walks over items [begin, end); `vec`: see pair_rotation_runs. */
static ALWAYS_INLINE void pair_walk(const pair_job *job, size_t begin, size_t end, const void *vec)
{
    double *a = job->amplitudes;
    if (job->octets) {
        octet_range(job, begin, end);
        return;
    }
    if (job->n_fixed == 1 && job->fixed[0] == 0) {
        /* A one-qubit gate on qubit 0: pairs are adjacent, stride 4. */
        double *p = a + 4 * begin;
        if (job->cls == QML__PAIR_GENERAL)
            pair_general(p, p + 2, end - begin, 4, job->m);
        else if (job->cls == QML__PAIR_REAL)
            pair_real(p, p + 2, end - begin, 4, job->m);
        else
            pair_swap(p, p + 2, end - begin, 4);
        return;
    }
    if (job->fixed[0] >= 5 && job->fixed[0] <= 10 &&
        (job->n_fixed == 1 || ((job->off0 ^ job->off1) == (uint64_t)1 << job->fixed[0] &&
                               job->fixed[1] >= AHEAD_MAX_STRETCH_BITS))) {
        if (job->cls == QML__PAIR_GENERAL)
            pair_mid_qubit(job, begin, end, QML__PAIR_GENERAL, vec);
        else if (job->cls == QML__PAIR_REAL)
            pair_mid_qubit(job, begin, end, QML__PAIR_REAL, vec);
        else
            pair_mid_qubit(job, begin, end, QML__PAIR_SWAP, vec);
        return;
    }
    if (job->n_fixed == 1 && (job->fixed[0] == 1 || job->fixed[0] == 2) && begin % 4 == 0 && end % 4 == 0) {
        /* Qubit 1 or 2: runs of 2 or 4 pairs; a block loop with the run
         * length a constant (unrolled) instead of the general run set-up. */
        const unsigned t = job->fixed[0];
#if defined(PAIR_AVX2)
        if (vec) {
            low_runs_v4d(a, begin, end, t, job->cls == QML__PAIR_REAL, vec);
            return;
        }
#endif
        for (size_t k = begin; k < end; k += 4) {
            double *p = a + 2 * (((uint64_t)k >> t) << (t + 1) | (k & ((1u << t) - 1)));
            if (t == 1) {
                pair_dispatch(job, p, p + 4, 2, vec);
                pair_dispatch(job, p + 8, p + 12, 2, vec);
            } else {
                pair_dispatch(job, p, p + 8, 4, vec);
            }
        }
        return;
    }
    if (job->n_fixed >= 3 || (job->n_fixed == 2 && stretch_bits(job) < AHEAD_MAX_STRETCH_BITS)) {
        switch (job->cls) {
        case QML__PAIR_GENERAL: pair_runs_ahead(job, begin, end, QML__PAIR_GENERAL, vec); break;
        case QML__PAIR_REAL: pair_runs_ahead(job, begin, end, QML__PAIR_REAL, vec); break;
        case QML__PAIR_SWAP: pair_runs_ahead(job, begin, end, QML__PAIR_SWAP, vec); break;
        }
        return;
    }
    const uint64_t run_length = (uint64_t)1 << job->fixed[0];
    if (job->n_fixed == 2 && (job->fixed[0] == 3 || job->fixed[0] == 4) && qml__pair_walk_override != 9) {
        /* Runs of 8 or 16 pairs, the other fixed bit at 12 and above (CNOT
         * 23 -> 3, CRY 23 -> 4): consecutive runs are 2 run_length
         * amplitudes apart up to that bit, so one index per stretch, not
         * per run: CRY 17 -> 3 ran 4.2 instead of 7.7 instructions per
         * amplitude it touches (callgrind, n = 18), and CRY 23 -> 3, CNOT
         * 23 -> 3, CRY 23 -> 4 took 0.86-0.94 of the time (n = 24, `qml
         * bench gate --ab pair_walk=9,-1`, medians of 9). Ranges and
         * stretches are whole runs. */
        const size_t stretch = (size_t)1 << (job->fixed[1] - 1); /* pairs below the upper fixed bit */
        const size_t step = (size_t)(4 * run_length);          /* doubles from run to run */
        for (size_t k = begin; k < end;) {
            size_t span = stretch - (k & (stretch - 1));
            if (span > end - k)
                span = end - k;
            const uint64_t i = qml__deposit_zeros(k, job->fixed, job->n_fixed);
            double *p = a + 2 * (i | job->off0), *q = a + 2 * (i | job->off1);
            for (size_t r = 0; r < span; r += run_length, p += step, q += step)
                pair_dispatch(job, p, q, (size_t)run_length, vec);
            k += span;
        }
        return;
    }
    const bool prefetch = job->fixed[0] >= 5 && job->fixed[0] <= 9;
    for (size_t k = begin; k < end;) {
        size_t run = (size_t)(run_length - (k & (run_length - 1)));
        if (run > end - k)
            run = end - k;
        uint64_t i = qml__deposit_zeros(k, job->fixed, job->n_fixed);
        double *p = a + 2 * (i | job->off0), *q = a + 2 * (i | job->off1);
#if defined(__GNUC__)
        if (prefetch) {
            /* Runs of 2^5..2^9 pairs alternate between two streams 0.5..8 KiB
             * apart, which the hardware prefetchers of the machines we
             * measured follow badly (a plain loop with this pattern runs at
             * a third of the bandwidth). Prefetching the lines 32 KiB ahead
             * of both halves of the run, each in address order, restores
             * most of it. */
            for (uint64_t d = 0; d < 2 * run; d += 8)
                __builtin_prefetch(p + PAIR_PREFETCH + d, 1);
            for (uint64_t d = 0; d < 2 * run; d += 8)
                __builtin_prefetch(q + PAIR_PREFETCH + d, 1);
        }
#endif
        pair_dispatch(job, p, q, run, vec);
        k += run;
    }
}

#if defined(PAIR_AVX2)
/* The walks compiled for AVX2 (rotations only: runs_avx2), the rotation's
 * coefficient vectors built once per range (rotate_v4d's c). */
__attribute__((target("avx2"))) static void pair_walk_avx2(const pair_job *job, size_t begin, size_t end)
{
    pair_v4d c[8];
    for (unsigned e = 0; e < 4; e++) {
        const double re = job->m[2 * e], im = job->m[2 * e + 1];
        c[2 * e] = (pair_v4d){re, re, re, re};
        c[2 * e + 1] = (pair_v4d){-im, im, -im, im};
    }
    pair_walk(job, begin, end, c);
}
#endif

static void pair_range(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const pair_job *job = context;
#if defined(PAIR_AVX2)
    if (job->runs_avx2) {
        pair_walk_avx2(job, begin, end);
        return;
    }
#endif
    pair_walk(job, begin, end, NULL);
}

/* Run a pair kernel. `bits` are the qubits whose bits the enumeration fixes
 * to 0 (any order); off0/off1 then set some of them. */
void qml__apply_pair(qml_statevec *state, const unsigned *bits, unsigned n_bits, uint64_t off0, uint64_t off1,
                     qml__pair_class cls, const double m[8])
{
    pair_job job = {.amplitudes = state->amplitudes, .n_fixed = n_bits, .off0 = off0, .off1 = off1, .cls = cls,
                    .n_items = (size_t)(state->dim >> n_bits)};
    memcpy(job.fixed, bits, n_bits * sizeof *bits);
    qml__sort_bits(job.fixed, n_bits);
    if (m)
        memcpy(job.m, m, sizeof job.m);
    if (n_bits >= 2 && job.fixed[0] < OCTET_BITS)
        octet_plan(&job, state->n_qubits);
    job.vec = qml__pair_path_override != 0;
#if defined(PAIR_AVX2)
    job.runs_avx2 = qml__pair_path_override < 0 && qml__cpu_avx2() && cls != QML__PAIR_SWAP;
#endif
    job.wide_units = qml__pair_octet_override == 0;
#if defined(PAIR_AVX2)
    /* the vector shapes of the block's pairs (octet_real_wide), with AVX2
     * only: on two SSE registers per vector they ran at the speed of the
     * scalar walk, slower than one amplitude per vector */
    if (job.octets && cls == QML__PAIR_REAL && job.vec && qml__pair_path_override != 1 && qml__cpu_avx2()) {
        bool adjacent = job.off0_high == job.off1_high, runs = job.n_pairs % 2 == 0, upper = true;
        for (unsigned k = 0; k < job.n_pairs; k++) {
            adjacent = adjacent && job.qu[k] == job.pu[k] + 2;
            if (k % 2)
                runs = runs && job.pu[k] == job.pu[k - 1] + 2 && job.qu[k] == job.qu[k - 1] + 2;
            upper = upper && job.pu[k] % 4 == 2 && job.qu[k] % 4 == 2;
        }
        job.shape = adjacent ? 1 : runs ? 2 : upper ? 3 : 0;
    }
#endif
    /* An octet walk over every line of every block (all fixed bits below
     * 5, no control skipping lines: CNOT 0 -> 1, SWAP 0 1, CRY 1 -> 0) is
     * one stream in address order; it walks the state as two streams half
     * a state apart, block by block in lockstep, as the diagonal kernels
     * do (statevec_diag.c: such a sweep ran about 10 % faster). */
    if (job.octets && job.n_high == 0 && n_bits == 2 && state->dim >= PAIR_HALVES_MIN_DIM &&
        qml__pair_walk_override != 0) {
        const unsigned lines_per_block = (1u << job.block_bits) / 4;
        const bool skips_lines =
            job.n_plines < lines_per_block || (job.n_qlines && job.n_qlines < lines_per_block);
        if (!skips_lines)
            job.half = state->dim; /* doubles: amplitude bit n - 1 */
    }
    /* So does one whose only fixed bit above the block is the top qubit,
     * set or clear in both amplitudes of a pair (a control on the top
     * qubit over a target on 0..2, CNOT 23 -> 2 at n = 24): its blocks are
     * one contiguous half of the state, walked as two streams a quarter of
     * the state apart: CNOT 23 -> 2, 23 -> 0 and CRY 23 -> 1 took 0.89-0.95
     * of the time of one stream (`qml bench gate --ab pair_walk=8,-1`, 8
     * being one stream, n = 24, medians of 9). */
    if (job.octets && job.n_high == 1 && n_bits == 2 && job.high[0] + job.block_bits == state->n_qubits - 1 &&
        job.off0_high == job.off1_high && state->dim >= 2 * PAIR_HALVES_MIN_DIM && qml__pair_walk_override != 0 &&
        qml__pair_walk_override != 8) {
        const unsigned lines_per_block = (1u << job.block_bits) / 4;
        const bool skips_lines =
            job.n_plines < lines_per_block || (job.n_qlines && job.n_qlines < lines_per_block);
        if (!skips_lines)
            job.half = state->dim / 2; /* doubles: amplitude bit n - 2 */
    }
    /* the run walk with a control on qubit 3 under a target at 5 and up
     * (CNOT 3 -> 23, CRY 3 -> 23: 0.69-0.76 of the time, n = 24,
     * interleaved, loaded; a control on 4 gained nothing); the octet walk:
     * see fill_lines */
    job.fill_gap = qml__pair_walk_override != 0 && n_bits == 2 &&
                   (job.fixed[0] < OCTET_BITS ||
                    (job.fixed[0] == 3 && (job.off0 & job.off1 & ((uint64_t)1 << job.fixed[0]))));
    /* the run walk with runs of 8 pairs (the lowest fixed bit 3) and the
     * next fixed bit at 7 or above: a unit is 8 runs, 16 amplitudes apart,
     * with one index and one prefetch address per unit instead of per run
     * (callgrind, n = 18, instructions per amplitude: CNOT 3 -> 8 5.16 ->
     * 2.72, CRY 3 -> 8 7.35 -> 4.77, SWAP 3 8 4.82 -> 2.56). At n = 24
     * (interleaved with the walk by runs, medians of 11, load 7 on 2 cores)
     * SWAP 3 8, SWAP 3 23 took 0.75-0.89 of the time, CNOT 3 -> 8, CRY 3 ->
     * 8 0.79-0.96, but a control on 3 over a target at 12 and above (CNOT
     * 3 -> 23, CRY 3 -> 23: each stream prefetched whole, see fill_gap)
     * 1.02-1.12: those keep the walk by runs */
    job.strided = qml__pair_walk_override != 0 && !job.octets && n_bits >= 2 && job.fixed[0] == 3 &&
                  job.fixed[1] >= 7 && !(job.fill_gap && job.fixed[1] >= AHEAD_MAX_STRETCH_BITS);
    /* ... and there the control = 0 lines between the runs are rewritten
     * unchanged: the state is then read and written whole, in address
     * order, as a full sweep is. Writing every other pair of lines, CRY 3
     * -> 8 and CNOT 3 -> 8 took longer than a full in-place sweep of the
     * whole state (41-52 against 34-37 ms, n = 24); rewriting took 0.88-0.97
     * of that time on one thread (`qml bench gate --ab pair_walk=7,-1`,
     * medians of 9-11, 4 runs), 0.99 on two. */
    job.rewrite_gap = job.strided && job.fill_gap && qml__pair_walk_override != 7;
    const size_t n_items = (size_t)(state->dim >> n_bits);
    run_parallel(state, job.half ? n_items / 2 : n_items, QML__PARALLEL_GRAIN, pair_range, &job);
}

/* ---- the fused backward step of the adjoint gradient ----------------------
 * The adjoint sweep (gradient.c) needs, at each parametrised gate U_k,
 * Im <lambda| G_k |psi> and then U_k^dagger applied to psi and to lambda.
 * Done separately that is three passes over two states (a read pass for
 * the overlap, one gate pass per state); for a gate that is a 2x2 matrix
 * on pairs, the overlap needs exactly the amplitudes the un-applying
 * reads, so one pass over both states does all of it: per pair, the
 * overlap of the old values, then the new values. */

typedef enum overlap_form { OVERLAP_GENERAL, OVERLAP_X, OVERLAP_Y } overlap_form;

typedef struct adjoint_job {
    double *psi, *lambda;
    unsigned n_fixed;
    unsigned fixed[3];
    uint64_t off0, off1;
    qml__pair_class cls;
    overlap_form form;
    double m[8];
    double g[8];
    size_t chunk;              /* pairs per chunk */
    double *partials;          /* one per chunk */
} adjoint_job;

/* Im(conj(lp) (g p)_0 + conj(lq) (g q)_1) for one pair, summed over `count`
 * pairs `stride` doubles apart, then m applied to (p, q) and (lp, lq). */
static ALWAYS_INLINE double adjoint_run(double *restrict p, double *restrict q, double *restrict lp,
                                        double *restrict lq, size_t count, size_t stride, const adjoint_job *job,
                                        qml__pair_class cls, overlap_form form)
{
#if defined(QML_HAVE_V2D)
    if (form != OVERLAP_GENERAL && cls != QML__PAIR_SWAP) {
        /* One amplitude per two-lane vector. The overlap sums are kept per
         * lane and combined at the end (a fixed order for a given run):
         * Y: lane sums of lq p and lp q; X: of lp swap(q) and lq swap(p),
         * whose lane differences are lpr qi - lpi qr and lqr pi - lqi pr.
         * The matrix as pair_real and pair_general apply it (the same
         * bits). The scalar loop below compiled to 62 instructions per
         * pair. */
        qml__v2d s0 = {0.0, 0.0}, s1 = {0.0, 0.0};
        const qml__v2d m00 = {job->m[0], job->m[0]}, m01 = {job->m[2], job->m[2]};
        const qml__v2d m10 = {job->m[4], job->m[4]}, m11 = {job->m[6], job->m[6]};
        const qml__v2d n00 = {-job->m[1], job->m[1]}, n01 = {-job->m[3], job->m[3]};
        const qml__v2d n10 = {-job->m[5], job->m[5]}, n11 = {-job->m[7], job->m[7]};
        for (size_t k = 0; k < count; k++) {
            const size_t o = k * stride;
            const qml__v2d vp = qml__load_v2d(p + o), vq = qml__load_v2d(q + o);
            const qml__v2d vlp = qml__load_v2d(lp + o), vlq = qml__load_v2d(lq + o);
            if (form == OVERLAP_Y) {
                s0 += vlq * vp;
                s1 += vlp * vq;
            } else {
                s0 += vlp * qml__swap_if(vq, true);
                s1 += vlq * qml__swap_if(vp, true);
            }
            if (cls == QML__PAIR_REAL) {
                qml__store_v2d(p + o, m00 * vp + m01 * vq);
                qml__store_v2d(q + o, m10 * vp + m11 * vq);
                qml__store_v2d(lp + o, m00 * vlp + m01 * vlq);
                qml__store_v2d(lq + o, m10 * vlp + m11 * vlq);
            } else {
                qml__store_v2d(p + o, row_complex(m00, n00, m01, n01, vp, vq));
                qml__store_v2d(q + o, row_complex(m10, n10, m11, n11, vp, vq));
                qml__store_v2d(lp + o, row_complex(m00, n00, m01, n01, vlp, vlq));
                qml__store_v2d(lq + o, row_complex(m10, n10, m11, n11, vlp, vlq));
            }
        }
        if (form == OVERLAP_Y)
            return (s0[0] + s0[1]) - (s1[0] + s1[1]);
        return (s0[0] - s0[1]) + (s1[0] - s1[1]);
    }
#endif
    const double g00r = job->g[0], g00i = job->g[1], g01r = job->g[2], g01i = job->g[3];
    const double g10r = job->g[4], g10i = job->g[5], g11r = job->g[6], g11i = job->g[7];
    double acc0 = 0.0, acc1 = 0.0;
    for (size_t k = 0; k < count; k++) {
        const size_t o = k * stride;
        const double pr = p[o], pi = p[o + 1], qr = q[o], qi = q[o + 1];
        const double lpr = lp[o], lpi = lp[o + 1], lqr = lq[o], lqi = lq[o + 1];
        if (form == OVERLAP_Y) {
            /* Y: (g psi)_0 = -i q, (g psi)_1 = i p */
            acc0 += lqr * pr + lqi * pi;
            acc1 += lpr * qr + lpi * qi;
        } else if (form == OVERLAP_X) {
            /* X: (g psi)_0 = q, (g psi)_1 = p */
            acc0 += lpr * qi - lpi * qr;
            acc1 += lqr * pi - lqi * pr;
        } else {
            const double gpr = g00r * pr - g00i * pi + g01r * qr - g01i * qi;
            const double gpi = g00r * pi + g00i * pr + g01r * qi + g01i * qr;
            const double gqr = g10r * pr - g10i * pi + g11r * qr - g11i * qi;
            const double gqi = g10r * pi + g10i * pr + g11r * qi + g11i * qr;
            acc0 += lpr * gpi - lpi * gpr;
            acc1 += lqr * gqi - lqi * gqr;
        }
        if (cls == QML__PAIR_REAL) {
            pair_real(p + o, q + o, 1, 2, job->m);
            pair_real(lp + o, lq + o, 1, 2, job->m);
        } else if (cls == QML__PAIR_SWAP) {
            pair_swap(p + o, q + o, 1, 2);
            pair_swap(lp + o, lq + o, 1, 2);
        } else {
            pair_general(p + o, q + o, 1, 2, job->m);
            pair_general(lp + o, lq + o, 1, 2, job->m);
        }
    }
    return form == OVERLAP_Y ? acc0 - acc1 : acc0 + acc1;
}

/* The pairs [begin, end) in runs below the lowest fixed bit (one run of
 * stride 4 for a one-qubit gate on qubit 0). */
static ALWAYS_INLINE double adjoint_pairs(const adjoint_job *job, size_t begin, size_t end, qml__pair_class cls,
                                          overlap_form form)
{
    double *psi = job->psi, *lambda = job->lambda;
    if (job->n_fixed == 1 && job->fixed[0] == 0)
        return adjoint_run(psi + 4 * begin, psi + 4 * begin + 2, lambda + 4 * begin, lambda + 4 * begin + 2,
                           end - begin, 4, job, cls, form);
    const uint64_t run_length = (uint64_t)1 << job->fixed[0];
    const bool prefetch = job->fixed[0] >= 5 && job->fixed[0] <= 10;
    double total = 0.0;
    for (size_t k = begin; k < end;) {
        size_t run = (size_t)(run_length - (k & (run_length - 1)));
        if (run > end - k)
            run = end - k;
        const uint64_t i = qml__deposit_zeros(k, job->fixed, job->n_fixed);
        const uint64_t i0 = 2 * (i | job->off0), i1 = 2 * (i | job->off1);
#if defined(__GNUC__)
        if (prefetch) {
            /* Runs of 2^5..2^10 pairs alternate between four streams (two
             * per state) 0.5..16 KiB apart: measured 10x slower than the
             * one-state kernel without help. Prefetching each run's lines
             * 32 KiB ahead in address order, as pair_range does. */
            for (uint64_t d = 0; d < 2 * run; d += 8) {
                __builtin_prefetch(psi + i0 + PAIR_PREFETCH + d, 1);
                __builtin_prefetch(psi + i1 + PAIR_PREFETCH + d, 1);
                __builtin_prefetch(lambda + i0 + PAIR_PREFETCH + d, 1);
                __builtin_prefetch(lambda + i1 + PAIR_PREFETCH + d, 1);
            }
        }
#endif
        total += adjoint_run(psi + i0, psi + i1, lambda + i0, lambda + i1, run, 2, job, cls, form);
        k += run;
    }
    return total;
}

static void adjoint_range(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const adjoint_job *job = context;
    for (size_t c = begin; c < end; c++) {
        const size_t k0 = c * job->chunk, k1 = k0 + job->chunk;
        double s;
        if (job->cls == QML__PAIR_REAL && job->form == OVERLAP_Y)
            s = adjoint_pairs(job, k0, k1, QML__PAIR_REAL, OVERLAP_Y);
        else if (job->cls == QML__PAIR_GENERAL && job->form == OVERLAP_X)
            s = adjoint_pairs(job, k0, k1, QML__PAIR_GENERAL, OVERLAP_X);
        else if (job->cls == QML__PAIR_REAL)
            s = adjoint_pairs(job, k0, k1, QML__PAIR_REAL, OVERLAP_GENERAL);
        else if (job->cls == QML__PAIR_SWAP)
            s = adjoint_pairs(job, k0, k1, QML__PAIR_SWAP, OVERLAP_GENERAL);
        else
            s = adjoint_pairs(job, k0, k1, QML__PAIR_GENERAL, OVERLAP_GENERAL);
        job->partials[c] = s;
    }
}

double qml__adjoint_pair_step(qml_statevec *psi, qml_statevec *lambda, const unsigned *bits, unsigned n_bits,
                              uint64_t off0, uint64_t off1, const double g[8], qml__pair_class cls,
                              const double m[8])
{
    adjoint_job job = {.psi = psi->amplitudes, .lambda = lambda->amplitudes, .n_fixed = n_bits, .off0 = off0,
                       .off1 = off1, .cls = cls};
    memcpy(job.fixed, bits, n_bits * sizeof *bits);
    qml__sort_bits(job.fixed, n_bits);
    if (m)
        memcpy(job.m, m, sizeof job.m);
    memcpy(job.g, g, sizeof job.g);
    static const double x[8] = {0, 0, 1, 0, 1, 0, 0, 0}, y[8] = {0, 0, 0, -1, 0, 1, 0, 0};
    job.form = !memcmp(g, x, sizeof x) ? OVERLAP_X : !memcmp(g, y, sizeof y) ? OVERLAP_Y : OVERLAP_GENERAL;
    const size_t n_pairs = (size_t)(psi->dim >> n_bits);
    job.chunk = n_pairs / ADJOINT_MAX_CHUNKS > ADJOINT_MIN_CHUNK ? n_pairs / ADJOINT_MAX_CHUNKS : ADJOINT_MIN_CHUNK;
    if (job.chunk > n_pairs)
        job.chunk = n_pairs;
    const size_t n_chunks = n_pairs / job.chunk;
    double partials[ADJOINT_MAX_CHUNKS];
    job.partials = partials;
    run_parallel(psi, n_chunks, 1, adjoint_range, &job);
    double total = 0.0;
    for (size_t c = 0; c < n_chunks; c++)
        total += partials[c];
    return total;
}

/* ---- two one-qubit gates in one backward pass ------------------------------
 * Consecutive RX/RY gates on two distinct qubits a (met first on the way
 * back) and b: on each group of four amplitudes (i, i|A, i|B, i|A|B) of
 * both states, the step of gate a on the pairs along a, then the step of
 * gate b on the pairs along b, with the values in registers. The
 * arithmetic per pair is that of adjoint_run (the same bits), in the
 * order the two separate steps would do it; one pass instead of two. */

typedef struct adjoint_quad_job {
    double *psi, *lambda;
    unsigned fixed[2];         /* ascending */
    uint64_t bit_a, bit_b;
    bool y_a, y_b;             /* RY (real matrix, Y overlap), else RX (complex, X overlap) */
    double ma[8], mb[8];
    size_t chunk;              /* groups per chunk */
    double *partials;          /* two per chunk: gate a, gate b */
} adjoint_quad_job;

#if defined(QML_HAVE_V2D)
/* A gate's U^dagger as two-lane constants: {m, m} per entry, and for the
 * complex form {-mi, mi} (see row_complex). Built once per range so the
 * loop keeps them in registers (the stores to the states could alias the
 * job's doubles). */
typedef struct quad_matrix {
    qml__v2d m00, m01, m10, m11, n00, n01, n10, n11;
} quad_matrix;

static quad_matrix quad_matrix_of(const double *m)
{
    quad_matrix c = {{m[0], m[0]}, {m[2], m[2]}, {m[4], m[4]}, {m[6], m[6]},
                     {-m[1], m[1]}, {-m[3], m[3]}, {-m[5], m[5]}, {-m[7], m[7]}};
    return c;
}

/* One pair (p, q) of psi and (lp, lq) of lambda: the overlap sums s0, s1
 * as adjoint_run keeps them, then the matrix on both. */
static ALWAYS_INLINE void quad_pair(qml__v2d *p, qml__v2d *q, qml__v2d *lp, qml__v2d *lq, bool is_y,
                                    const quad_matrix *c, qml__v2d *s0, qml__v2d *s1)
{
    if (is_y) {
        *s0 += *lq * *p;
        *s1 += *lp * *q;
        const qml__v2d np = c->m00 * *p + c->m01 * *q, nq = c->m10 * *p + c->m11 * *q;
        const qml__v2d nlp = c->m00 * *lp + c->m01 * *lq, nlq = c->m10 * *lp + c->m11 * *lq;
        *p = np, *q = nq, *lp = nlp, *lq = nlq;
    } else {
        *s0 += *lp * qml__swap_if(*q, true);
        *s1 += *lq * qml__swap_if(*p, true);
        const qml__v2d np = row_complex(c->m00, c->n00, c->m01, c->n01, *p, *q);
        const qml__v2d nq = row_complex(c->m10, c->n10, c->m11, c->n11, *p, *q);
        const qml__v2d nlp = row_complex(c->m00, c->n00, c->m01, c->n01, *lp, *lq);
        const qml__v2d nlq = row_complex(c->m10, c->n10, c->m11, c->n11, *lp, *lq);
        *p = np, *q = nq, *lp = nlp, *lq = nlq;
    }
}

static ALWAYS_INLINE void quad_groups(const adjoint_quad_job *job, size_t begin, size_t end, bool y_a, bool y_b,
                                      double out[2])
{
    double *restrict psi = job->psi, *restrict lambda = job->lambda;
    const quad_matrix ca = quad_matrix_of(job->ma), cb = quad_matrix_of(job->mb);
    const uint64_t A = 2 * job->bit_a, B = 2 * job->bit_b; /* in doubles */
    const uint64_t run_length = (uint64_t)1 << job->fixed[0];
    const bool prefetch = job->fixed[0] >= 5 && job->fixed[0] <= 10;
    qml__v2d a0 = {0, 0}, a1 = {0, 0}, b0 = {0, 0}, b1 = {0, 0};
    for (size_t k = begin; k < end;) {
        size_t run = (size_t)(run_length - (k & (run_length - 1)));
        if (run > end - k)
            run = end - k;
        const uint64_t i = 2 * qml__deposit_zeros(k, job->fixed, 2);
#if defined(__GNUC__)
        if (prefetch)
            for (uint64_t d = 0; d < 2 * run; d += 8)
                for (unsigned c = 0; c < 4; c++) {
                    const uint64_t o = i + (c & 1 ? A : 0) + (c & 2 ? B : 0) + PAIR_PREFETCH + d;
                    __builtin_prefetch(psi + o, 1);
                    __builtin_prefetch(lambda + o, 1);
                }
#endif
        for (size_t l = 0; l < run; l++) {
            double *x = psi + i + 2 * l, *y = lambda + i + 2 * l;
            qml__v2d x00 = qml__load_v2d(x), x01 = qml__load_v2d(x + A), x10 = qml__load_v2d(x + B),
                     x11 = qml__load_v2d(x + A + B);
            qml__v2d y00 = qml__load_v2d(y), y01 = qml__load_v2d(y + A), y10 = qml__load_v2d(y + B),
                     y11 = qml__load_v2d(y + A + B);
            /* gate a on the pairs along a, then gate b along b */
            quad_pair(&x00, &x01, &y00, &y01, y_a, &ca, &a0, &a1);
            quad_pair(&x10, &x11, &y10, &y11, y_a, &ca, &a0, &a1);
            quad_pair(&x00, &x10, &y00, &y10, y_b, &cb, &b0, &b1);
            quad_pair(&x01, &x11, &y01, &y11, y_b, &cb, &b0, &b1);
            qml__store_v2d(x, x00), qml__store_v2d(x + A, x01), qml__store_v2d(x + B, x10);
            qml__store_v2d(x + A + B, x11);
            qml__store_v2d(y, y00), qml__store_v2d(y + A, y01), qml__store_v2d(y + B, y10);
            qml__store_v2d(y + A + B, y11);
        }
        k += run;
    }
    out[0] = y_a ? (a0[0] + a0[1]) - (a1[0] + a1[1]) : (a0[0] - a0[1]) + (a1[0] - a1[1]);
    out[1] = y_b ? (b0[0] + b0[1]) - (b1[0] + b1[1]) : (b0[0] - b0[1]) + (b1[0] - b1[1]);
}

static void adjoint_quad_range(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const adjoint_quad_job *job = context;
    for (size_t c = begin; c < end; c++) {
        const size_t k0 = c * job->chunk, k1 = k0 + job->chunk;
        double *out = job->partials + 2 * c;
        if (job->y_a && job->y_b)
            quad_groups(job, k0, k1, true, true, out);
        else if (job->y_a)
            quad_groups(job, k0, k1, true, false, out);
        else if (job->y_b)
            quad_groups(job, k0, k1, false, true, out);
        else
            quad_groups(job, k0, k1, false, false, out);
    }
}
#endif

bool qml__adjoint_quad_step(qml_statevec *psi, qml_statevec *lambda, unsigned qubit_a, bool y_a, const double ma[8],
                            unsigned qubit_b, bool y_b, const double mb[8], double d_theta[2])
{
#if defined(QML_HAVE_V2D)
    if (qubit_a == qubit_b || psi->n_qubits < 2)
        return false;
    adjoint_quad_job job = {.psi = psi->amplitudes, .lambda = lambda->amplitudes, .y_a = y_a, .y_b = y_b};
    job.fixed[0] = qubit_a < qubit_b ? qubit_a : qubit_b;
    job.fixed[1] = qubit_a < qubit_b ? qubit_b : qubit_a;
    job.bit_a = (uint64_t)1 << qubit_a;
    job.bit_b = (uint64_t)1 << qubit_b;
    memcpy(job.ma, ma, sizeof job.ma);
    memcpy(job.mb, mb, sizeof job.mb);
    const size_t n_groups = (size_t)(psi->dim >> 2);
    job.chunk = n_groups / ADJOINT_MAX_CHUNKS > ADJOINT_MIN_CHUNK ? n_groups / ADJOINT_MAX_CHUNKS : ADJOINT_MIN_CHUNK;
    if (job.chunk > n_groups)
        job.chunk = n_groups;
    const size_t n_chunks = n_groups / job.chunk;
    double partials[2 * ADJOINT_MAX_CHUNKS];
    job.partials = partials;
    run_parallel(psi, n_chunks, 1, adjoint_quad_range, &job);
    d_theta[0] = d_theta[1] = 0.0;
    for (size_t c = 0; c < n_chunks; c++) {
        d_theta[0] += partials[2 * c];
        d_theta[1] += partials[2 * c + 1];
    }
    return true;
#else
    (void)psi, (void)lambda, (void)qubit_a, (void)y_a, (void)ma, (void)qubit_b, (void)y_b, (void)mb, (void)d_theta;
    return false;
#endif
}

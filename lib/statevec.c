/*
 * statevec.c: 2^n complex amplitudes (interleaved re/im, qubit k = bit k of
 * the index) and the kernels that act on them, specialised by gate class.
 *
 * Kernel classes (docs/simulator.md):
 * - pair kernels: a 2x2 matrix on the amplitude pairs (i|off0, i|off1) for
 *   every i with a set of "fixed" bits clear. One-qubit gates, controlled
 *   gates (the controls are offsets, so only the control = 1 part is
 *   touched), SWAP/iSWAP, Toffoli. The index space is walked as contiguous
 *   runs below the lowest fixed bit; the inner loop has no branches.
 * - diagonal kernels (statevec_diag.c): a_i *= d[parity(i & zmask)] where
 *   (i & cmask) == cmask, only the amplitudes with the controls set walked.
 * - Pauli kernels: (alpha I + beta P) with P = P(x, z), x != 0, pairing i
 *   with i ^ x in one pass.
 * - a 4x4 kernel for arbitrary two-qubit unitaries.
 * Reductions (expectation, inner products) add fixed-size chunk partials in
 * chunk order, so the bits do not depend on the thread count.
 */
/* madvise(MADV_HUGEPAGE) is a Linux extension, hidden by _POSIX_C_SOURCE alone. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1
#endif
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Threads are used only from this many amplitudes (4 MiB) on: handing a
 * sweep to the pool's parked workers costs a wake-up per worker, and at
 * 2^16 amplitudes, with a thread start per call, 2 threads ran slower than
 * 1. */
#define PARALLEL_MIN_DIM QML__PARALLEL_MIN_DIM
/* Work is split in grains of this many items (whole cache lines, and enough
 * work per thread). */
#define PARALLEL_GRAIN QML__PARALLEL_GRAIN
/* Pauli kernels pair runs of up to 2^10 amplitudes (16 KiB): x bits below
 * that permute inside a run, so the partner runs stream in address order. */
#define PAULI_RUN_BITS 10u
/* Software prefetch distance of the Pauli kernels, in amplitudes. */
#define PAULI_PREFETCH 2048u
/* Blocks of the expectation kernel (its tables: 2^8 entries each). Larger
 * blocks would amortise the per-block work over more amplitudes, but their
 * tables spill out of L1 (measured slower at 2^10). */
#define EXPECT_BLOCK_BITS 8u
/* Reductions are summed per chunk; at most this many chunks, so partials fit
 * on the stack and the chunking depends only on the dimension. */
#define MAX_CHUNKS 1024u
/* Expectation batches: at most this many distinct low-bit sign masks and this
 * many terms involving high bits per sweep (bounded stack tables). */
#define MAX_LOW_MASKS 4u
#define MAX_HIGH_TERMS 64u
/* The low bits of a block index whose signs the expectation tabulates
 * (block_coefficients). */
#define EXPECT_SPLIT_BITS 4u
/* States of at least PLACEMENT_MIN_BYTES start at an address with the bit
 * PLACEMENT_BIT set, inside a block PLACEMENT_SLACK bytes larger
 * (statevec_alloc). */
#define PLACEMENT_MIN_BYTES ((uint64_t)1 << 20)
#define PLACEMENT_BIT ((uintptr_t)4096)
#define PLACEMENT_SLACK ((size_t)8192)
/* The largest state: 2^40 amplitudes = 16 TiB. */
#define MAX_QUBITS QML__STATEVEC_MAX_QUBITS

/* The Pauli inner loops take `imaginary` as a parameter and must be compiled
 * once per value: gcc otherwise keeps one out-of-line copy with the test in
 * the loop. `unused`: builds with the two-lane vector kernels do not call
 * the scalar ones (clang warns about unused static inline functions). */
#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline, unused))
#else
#define ALWAYS_INLINE inline
#endif


/* ======================================================================== */
/* Types                                                                    */
/* ======================================================================== */


typedef enum pauli_form { PAULI_GENERAL, PAULI_REAL, PAULI_IMAGINARY } pauli_form;

/* (alpha I + beta P(x, z)) with x != 0, pivot = top bit of x. */
typedef struct pauli_job {
    double *amplitudes;
    uint64_t x, z;
    unsigned pivot;
    unsigned run_bits;         /* runs of 2^run_bits indices share a base sign */
    double alpha[2];
    double gamma_i[2];         /* beta i^y (-1)^y: factor on a_j in a_i' */
    double gamma_j[2];         /* beta i^y: factor on a_i in a_j' */
    const double *signs;       /* 2 * 2^run_bits entries: (-1)^parity(l & z), then negated */
    pauli_form form;
    bool blocks16;             /* x < 16, form not general: the 16-amplitude block walk */
} pauli_job;

typedef struct quad_job {
    double *amplitudes;
    unsigned fixed[2];         /* ascending */
    uint64_t b0, b1;           /* bit of qubits[0], qubits[1] */
    double m[32];
} quad_job;

/* out_i (=|+=) coeff i^y sigma(i ^ x) in_{i ^ x} where (i & cmask) == cmask, else (=) 0. */
typedef struct generator_job {
    double *out;
    const double *in;
    uint64_t x, z, cmask;
    double coeff[2];
    bool accumulate;
} generator_job;

/* ======================================================================== */
/* Small helpers                                                            */
/* ======================================================================== */


static inline unsigned parity64(uint64_t v)
{
    return (unsigned)__builtin_parityll(v);
}

static inline unsigned popcount64(uint64_t v)
{
    return (unsigned)__builtin_popcountll(v);
}

/* Split `n_items` over the state's threads when the state is large enough. */
static void run_parallel(const qml_statevec *state, size_t n_items, size_t grain, qml__range_fn fn, void *context)
{
    unsigned workers = state->dim >= PARALLEL_MIN_DIM ? state->n_threads : 1;
    qml__parallel_for(workers, n_items, grain, fn, context);
}

/* ======================================================================== */
/* Pauli kernels                                                            */
/* ======================================================================== */

static inline void cmul(const double a[2], const double b[2], double out[2])
{
    double re = a[0] * b[0] - a[1] * b[1], im = a[0] * b[1] + a[1] * b[0];
    out[0] = re;
    out[1] = im;
}

/* i^k for k mod 4. */
static inline void ipow(unsigned k, double out[2])
{
    static const double table[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
    out[0] = table[k & 3][0];
    out[1] = table[k & 3][1];
}

/* The common case of a rotation: alpha real and both gammas real, or both
 * purely imaginary (then i*y is used for y): a_i' = alpha a_i + s_l ti (i) a_j,
 * a_j' = alpha a_j + s_l tj (i) a_i, with s_l = +-1 from the sign table and
 * j = l ^ xl inside the partner run. */
static ALWAYS_INLINE void pauli_pair_update(double *restrict x, double *restrict y, double alpha, double si, double sj,
                                     bool imaginary)
{
    double xr = x[0], xi = x[1], yr = y[0], yi = y[1];
    if (imaginary) {
        x[0] = alpha * xr - si * yi;
        x[1] = alpha * xi + si * yr;
        y[0] = alpha * yr - sj * xi;
        y[1] = alpha * yi + sj * xr;
    } else {
        x[0] = alpha * xr + si * yr;
        x[1] = alpha * xi + si * yi;
        y[0] = alpha * yr + sj * xr;
        y[1] = alpha * yi + sj * xi;
    }
}

/* (-1)^parity(v & 15) without a memory access: 0x6996 holds the parities
 * of 0..15. Sign tables in memory would be read next to the stores to the
 * state, and 4K-alias with them for unlucky stack addresses. */
static inline double sign_low4(double g, uint64_t v)
{
    return ((0x6996u >> (v & 15)) & 1u) ? -g : g;
}

static inline void pauli_run_rotation(double *restrict ai, double *restrict aj, uint64_t begin, uint64_t end,
                                      const double *restrict signs, double alpha, double ti, double tj,
                                      bool imaginary, uint64_t xl)
{
    for (uint64_t l = begin; l < end; l++)
        pauli_pair_update(ai + 2 * l, aj + 2 * (l ^ xl), alpha, signs[l] * ti, signs[l] * tj, imaginary);
}

/* A whole run of the Pauli kernel: every l in [0, run) pairs a_i[l] with
 * a_j[l ^ xl]. With xl = 0 (all bits of x at or above the run length) the
 * two runs are contiguous streams: one pair at a time. */
static ALWAYS_INLINE void pauli_run_strided(double *restrict ai, double *restrict aj, uint64_t run, double g0, uint64_t zl,
                                     double alpha, double ti, double tj, bool imaginary)
{
    for (uint64_t l0 = 0; l0 < run; l0 += 16) {
        const double gs = parity64(l0 & zl) ? -g0 : g0; /* the sign of the bits above 4 */
        for (uint64_t l = l0; l < l0 + 16; l++) {
            double sl = sign_low4(gs, l & zl);
            pauli_pair_update(ai + 2 * l, aj + 2 * l, alpha, sl * ti, sl * tj, imaginary);
        }
    }
}

/* By cache lines, for xl != 0: the four amplitudes of a line of a_i pair
 * with the four of one line of a_j, so both lines are loaded, updated and
 * stored as units. On the AMD Zen machine we measured, the two lines of a
 * pair often cannot be in L1 together (the way predictor hashes their
 * virtual addresses to the same tag: e.g. byte bits 12 and 27, qubits 8 and
 * 23): touching them alternately amplitude by amplitude then misses L1 on
 * every access, and the same gate ran 3-4x slower for half of all placements
 * of the state. Line by line, each line is fetched once per group. */
static ALWAYS_INLINE void pauli_run_lines(double *restrict ai, double *restrict aj, uint64_t run, double g0,
                                          uint64_t zl, double alpha, double ti, double tj, bool imaginary,
                                          uint64_t xl)
{
    /* Inside a line the signs and the partner order depend only on the low
     * two bits: coefficients per position, partner position u ^ xq. */
    const uint64_t xq = xl & 3, xh = xl & ~(uint64_t)3;
    double ci[4], cj[4];
    for (unsigned u = 0; u < 4; u++) {
        double su = parity64(u & zl) ? -1.0 : 1.0;
        ci[u] = su * ti;
        cj[u] = su * tj;
    }
    for (uint64_t l0 = 0; l0 < run; l0 += 4) {
#if defined(__GNUC__)
        /* both streams, in address order, into L2 (see above: L1 cannot
         * always hold the two lines of a pair together) */
        __builtin_prefetch(ai + 2 * (l0 + PAULI_PREFETCH), 1, 2);
        __builtin_prefetch(aj + 2 * (l0 + PAULI_PREFETCH), 1, 2);
#endif
        const double gs = parity64(l0 & zl) ? -g0 : g0; /* sign of the bits above 2 */
        double *restrict px = ai + 2 * l0, *restrict py = aj + 2 * (l0 ^ xh);
        double x[8], y[8];
        for (unsigned u = 0; u < 8; u++)
            x[u] = px[u];
        for (unsigned u = 0; u < 4; u++) {
            y[2 * u] = py[2 * (u ^ xq)];
            y[2 * u + 1] = py[2 * (u ^ xq) + 1];
        }
        for (unsigned u = 0; u < 4; u++)
            pauli_pair_update(x + 2 * u, y + 2 * u, alpha, gs * ci[u], gs * cj[u], imaginary);
        for (unsigned u = 0; u < 8; u++)
            px[u] = x[u];
        for (unsigned u = 0; u < 4; u++) {
            py[2 * (u ^ xq)] = y[2 * u];
            py[2 * (u ^ xq) + 1] = y[2 * u + 1];
        }
    }
}

#if defined(QML_HAVE_V2D)
/* pauli_run_lines on two-lane vectors, one amplitude per vector, for any xl
 * (xl = 0: both runs in order). The scalar loops compiled to about 26
 * instructions per amplitude, which made the X Y Z X rotation at n = 24
 * compute-bound at half the bandwidth; this is about 7. Same arithmetic per
 * number as pauli_pair_update: a_i' = alpha a_i + s (i?) a_j lane by lane,
 * the imaginary form as {-s, s} times the swapped partner, so the same bits. */
static ALWAYS_INLINE void pauli_run_v2d(double *restrict ai, double *restrict aj, uint64_t run, double g0, uint64_t zl,
                                        double alpha, double ti, double tj, bool imaginary, uint64_t xl)
{
    const uint64_t xq = xl & 3, xh = xl & ~(uint64_t)3;
    const qml__v2d va = {alpha, alpha};
    qml__v2d ci[4], cj[4];
    for (unsigned u = 0; u < 4; u++) {
        double su = parity64(u & zl) ? -1.0 : 1.0;
        double si = su * ti, sj = su * tj;
        ci[u] = imaginary ? (qml__v2d){-si, si} : (qml__v2d){si, si};
        cj[u] = imaginary ? (qml__v2d){-sj, sj} : (qml__v2d){sj, sj};
    }
    const qml__v2d ci0 = ci[0], ci1 = ci[1], ci2 = ci[2], ci3 = ci[3];
    const qml__v2d cj0 = cj[0], cj1 = cj[1], cj2 = cj[2], cj3 = cj[3];
    /* the partner of line position u is u ^ xq */
    const size_t o0 = 2 * (0 ^ xq), o1 = 2 * (1 ^ xq), o2 = 2 * (2 ^ xq), o3 = 2 * (3 ^ xq);
    for (uint64_t l0 = 0; l0 < run; l0 += 4) {
#if defined(__GNUC__)
        /* both streams, in address order, into L2 (see above: L1 cannot
         * always hold the two lines of a pair together) */
        __builtin_prefetch(ai + 2 * (l0 + PAULI_PREFETCH), 1, 2);
        __builtin_prefetch(aj + 2 * (l0 + PAULI_PREFETCH), 1, 2);
#endif
        const double gs = parity64(l0 & zl) ? -g0 : g0; /* sign of the bits above 2 */
        const qml__v2d vg = {gs, gs};
        double *restrict px = ai + 2 * l0, *restrict py = aj + 2 * (l0 ^ xh);
        /* Each line is loaded whole, then stored whole: alternating
         * between the two lines amplitude by amplitude ran 4x slower (the
         * L1 way predictor, see pauli_run_lines). Written out: gcc -O2
         * keeps small arrays in memory. */
        const qml__v2d x0 = qml__load_v2d(px), x1 = qml__load_v2d(px + 2), x2 = qml__load_v2d(px + 4), x3 = qml__load_v2d(px + 6);
        const qml__v2d y0 = qml__load_v2d(py + o0), y1 = qml__load_v2d(py + o1), y2 = qml__load_v2d(py + o2), y3 = qml__load_v2d(py + o3);
        qml__store_v2d(px, va * x0 + (vg * ci0) * qml__swap_if(y0, imaginary));
        qml__store_v2d(px + 2, va * x1 + (vg * ci1) * qml__swap_if(y1, imaginary));
        qml__store_v2d(px + 4, va * x2 + (vg * ci2) * qml__swap_if(y2, imaginary));
        qml__store_v2d(px + 6, va * x3 + (vg * ci3) * qml__swap_if(y3, imaginary));
        qml__store_v2d(py + o0, va * y0 + (vg * cj0) * qml__swap_if(x0, imaginary));
        qml__store_v2d(py + o1, va * y1 + (vg * cj1) * qml__swap_if(x1, imaginary));
        qml__store_v2d(py + o2, va * y2 + (vg * cj2) * qml__swap_if(x2, imaginary));
        qml__store_v2d(py + o3, va * y3 + (vg * cj3) * qml__swap_if(x3, imaginary));
    }
}
#endif

/* One instantiation per form and shape, so that each inner loop is compiled
 * with its constants. */
static void pauli_run_fast(double *ai, double *aj, uint64_t run, double g0, uint64_t zl, double alpha, double ti,
                           double tj, bool imaginary, uint64_t xl)
{
#if defined(QML_HAVE_V2D)
    if (imaginary)
        pauli_run_v2d(ai, aj, run, g0, zl, alpha, ti, tj, true, xl);
    else
        pauli_run_v2d(ai, aj, run, g0, zl, alpha, ti, tj, false, xl);
#else
    if (imaginary && xl)
        pauli_run_lines(ai, aj, run, g0, zl, alpha, ti, tj, true, xl);
    else if (xl)
        pauli_run_lines(ai, aj, run, g0, zl, alpha, ti, tj, false, xl);
    else if (imaginary)
        pauli_run_strided(ai, aj, run, g0, zl, alpha, ti, tj, true);
    else
        pauli_run_strided(ai, aj, run, g0, zl, alpha, ti, tj, false);
#endif
}

/* x < 16 (every X bit on qubits 0..3): each pair lies inside one aligned
 * block of 16 amplitudes, and runs below the pivot hold 1..8 pairs, which
 * the run walk paid a set-up for each (33 instructions per amplitude for
 * RXX 0 1 under callgrind). Blocks of 16 with the 8 pairs' positions and
 * low signs computed once; one sign per block for the high bits of z.
 * Items are pairs, 8 per block (ranges are whole blocks). */
static ALWAYS_INLINE void pauli_blocks16(double *a, size_t b0, size_t b1, uint64_t z, uint64_t x,
                                         const unsigned *lp, const double *sl, double alpha, double ti, double tj,
                                         bool imaginary)
{
#if defined(QML_HAVE_V2D)
    /* two-lane vectors, the arithmetic of pauli_run_v2d (same bits as
     * pauli_pair_update) */
    const qml__v2d va = {alpha, alpha};
    qml__v2d ci[8], cj[8];
    unsigned pi[8], pj[8];
    for (unsigned k = 0; k < 8; k++) {
        const double si = sl[k] * ti, sj = sl[k] * tj;
        ci[k] = imaginary ? (qml__v2d){-si, si} : (qml__v2d){si, si};
        cj[k] = imaginary ? (qml__v2d){-sj, sj} : (qml__v2d){sj, sj};
        pi[k] = 2 * lp[k];
        pj[k] = 2 * (lp[k] ^ (unsigned)x);
    }
    for (size_t b = b0; b < b1; b++) {
        const uint64_t base = (uint64_t)b << 4;
        const double g = parity64(base & z) ? -1.0 : 1.0;
        const qml__v2d vg = {g, g};
        double *blk = a + 2 * base;
        for (unsigned k = 0; k < 8; k++) {
            const qml__v2d xv = qml__load_v2d(blk + pi[k]), yv = qml__load_v2d(blk + pj[k]);
            qml__store_v2d(blk + pi[k], va * xv + (vg * ci[k]) * qml__swap_if(yv, imaginary));
            qml__store_v2d(blk + pj[k], va * yv + (vg * cj[k]) * qml__swap_if(xv, imaginary));
        }
    }
#else
    for (size_t b = b0; b < b1; b++) {
        const uint64_t base = (uint64_t)b << 4;
        const double g = parity64(base & z) ? -1.0 : 1.0;
        double *blk = a + 2 * base;
        for (unsigned k = 0; k < 8; k++) {
            const unsigned l = lp[k];
            const double sg = g * sl[k];
            pauli_pair_update(blk + 2 * l, blk + 2 * (l ^ x), alpha, sg * ti, sg * tj, imaginary);
        }
    }
#endif
}

static void pauli_range(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const pauli_job *job = context;
    double *a = job->amplitudes;
    const unsigned pivot = job->pivot;
    const uint64_t run_length = (uint64_t)1 << job->run_bits;
    const uint64_t x_low = job->x & (run_length - 1), x_high = job->x & ~(run_length - 1);
    const uint64_t z_low = job->z & (run_length - 1);
    const double ar = job->alpha[0], ai_ = job->alpha[1];
    const double gir = job->gamma_i[0], gii = job->gamma_i[1];
    const double gjr = job->gamma_j[0], gji = job->gamma_j[1];
    const double *restrict signs = job->signs;
    if (job->blocks16) {
        unsigned lp[8];
        double sl[8];
        unsigned count = 0;
        for (unsigned l = 0; l < 16; l++)
            if (!((l >> pivot) & 1u)) {
                lp[count] = l;
                sl[count++] = parity64(l & job->z) ? -1.0 : 1.0;
            }
        if (job->form == PAULI_IMAGINARY)
            pauli_blocks16(a, begin / 8, end / 8, job->z & ~(uint64_t)15, job->x, lp, sl, ar, gii, gji, true);
        else
            pauli_blocks16(a, begin / 8, end / 8, job->z & ~(uint64_t)15, job->x, lp, sl, ar, gir, gjr, false);
        return;
    }
    for (size_t k = begin; k < end;) {
        size_t run = (size_t)(run_length - (k & (run_length - 1)));
        if (run > end - k)
            run = end - k;
        uint64_t i0 = ((k >> pivot) << (pivot + 1)) | (k & (((uint64_t)1 << pivot) - 1));
        uint64_t first = i0 & (run_length - 1);  /* offset inside the run (range may start mid-run) */
        uint64_t base = i0 - first;
        double g0 = parity64(base & job->z) ? -1.0 : 1.0; /* sign of the run's high bits */
        double *restrict ai = a + 2 * base;
        double *restrict aj = a + 2 * (base ^ x_high);
        const double *restrict sg = signs + (g0 < 0 ? run_length : 0);
        /* whole runs of at least 16 (runs are 2^run_bits long and ranges
         * start on run boundaries, except for tiny states) */
        const bool fast = first == 0 && run == run_length && run_length >= 16;
        if (fast && job->form == PAULI_IMAGINARY)
            pauli_run_fast(ai, aj, run, g0, z_low, ar, gii, gji, true, x_low);
        else if (fast && job->form == PAULI_REAL)
            pauli_run_fast(ai, aj, run, g0, z_low, ar, gir, gjr, false, x_low);
        else if (job->form == PAULI_IMAGINARY)
            pauli_run_rotation(ai, aj, first, first + run, sg, ar, gii, gji, true, x_low);
        else if (job->form == PAULI_REAL)
            pauli_run_rotation(ai, aj, first, first + run, sg, ar, gir, gjr, false, x_low);
        else
            for (uint64_t l = first; l < first + run; l++) {
                uint64_t m = l ^ x_low;
                double g = sg[l];
                double xr = ai[2 * l], xi = ai[2 * l + 1], yr = aj[2 * m], yi = aj[2 * m + 1];
                double cir = g * gir, cii = g * gii, cjr = g * gjr, cji = g * gji;
                ai[2 * l] = ar * xr - ai_ * xi + cir * yr - cii * yi;
                ai[2 * l + 1] = ar * xi + ai_ * xr + cir * yi + cii * yr;
                aj[2 * m] = ar * yr - ai_ * yi + cjr * xr - cji * xi;
                aj[2 * m + 1] = ar * yi + ai_ * yr + cjr * xi + cji * xr;
            }
        k += run;
    }
}

/* a <- (alpha I + beta P(x, z)) a, with P(x, z) = i^{|x & z|} X^x Z^z, so that
 * P|j> = i^y (-1)^{|j & z|} |j ^ x>, y = |x & z|. For x = 0 this is diagonal. */
static void apply_pauli_combination(qml_statevec *state, uint64_t x, uint64_t z, const double alpha[2],
                                    const double beta[2])
{
    unsigned y = popcount64(x & z);
    double iy[2], gamma[2];
    ipow(y, iy);
    cmul(beta, iy, gamma);
    if (x == 0) {
        /* (alpha + beta i^y (-1)^{|i & z|}) a_i; y = 0 here. */
        double d0[2] = {alpha[0] + gamma[0], alpha[1] + gamma[1]};
        double d1[2] = {alpha[0] - gamma[0], alpha[1] - gamma[1]};
        qml__apply_diagonal(state, z, 0, d0, d1);
        return;
    }
    if (qml__apply_pauli2(state, x, z, alpha, beta))
        return;
    pauli_job job = {.amplitudes = state->amplitudes, .x = x, .z = z};
    job.pivot = 63u - (unsigned)__builtin_clzll(x);
    job.run_bits = job.pivot < PAULI_RUN_BITS ? job.pivot : PAULI_RUN_BITS;
    job.alpha[0] = alpha[0];
    job.alpha[1] = alpha[1];
    /* sigma(j) = sigma(i) (-1)^y because j = i ^ x and |x & z| = y. */
    double flip = (y & 1) ? -1.0 : 1.0;
    job.gamma_i[0] = gamma[0] * flip;
    job.gamma_i[1] = gamma[1] * flip;
    job.gamma_j[0] = gamma[0];
    job.gamma_j[1] = gamma[1];
    double signs[2u << PAULI_RUN_BITS];
    const uint64_t run_length = (uint64_t)1 << job.run_bits;
    for (uint64_t l = 0; l < run_length; l++) {
        signs[l] = parity64(l & z) ? -1.0 : 1.0;
        signs[run_length + l] = -signs[l];
    }
    job.form = PAULI_GENERAL;
    if (alpha[1] == 0.0 && gamma[1] == 0.0)
        job.form = PAULI_REAL;
    else if (alpha[1] == 0.0 && gamma[0] == 0.0)
        job.form = PAULI_IMAGINARY;
    job.signs = signs;
    job.blocks16 = x < 16 && state->dim >= 16 && job.form != PAULI_GENERAL;
    run_parallel(state, (size_t)(state->dim >> 1), PARALLEL_GRAIN, pauli_range, &job);
}

/* exp(-i angle/2 P(x, z)) = cos(angle/2) I - i sin(angle/2) P, times a
 * global phase `phase` (1 for a plain rotation). */
static void apply_pauli_rotation(qml_statevec *state, uint64_t x, uint64_t z, double angle, const double phase[2])
{
    double c = cos(0.5 * angle), s = sin(0.5 * angle);
    double alpha[2] = {c, 0.0}, beta[2] = {0.0, -s};
    cmul(alpha, phase, alpha);
    cmul(beta, phase, beta);
    apply_pauli_combination(state, x, z, alpha, beta);
}

/* exp(-i theta/2 H) for H = sum_k c_k P_k with commuting terms: the product of
 * the terms' exponentials (any order, since they commute); identity terms
 * are the global phase e^{-i theta c / 2}, folded into the first sweep. */
static void apply_pauli_evolution(qml_statevec *state, const qml_pauli_sum *h, double theta)
{
    double phase_angle = 0.0;
    for (size_t t = 0; t < h->n_terms; t++)
        if (h->x[t * h->words] == 0 && h->z[t * h->words] == 0)
            phase_angle += -0.5 * theta * h->coeff[t];
    double phase[2] = {cos(phase_angle), sin(phase_angle)};
    bool folded = false;
    for (size_t t = 0; t < h->n_terms; t++) {
        uint64_t x = h->x[t * h->words], z = h->z[t * h->words];
        if (x == 0 && z == 0)
            continue;
        static const double one[2] = {1.0, 0.0};
        apply_pauli_rotation(state, x, z, theta * h->coeff[t], folded ? one : phase);
        folded = true;
    }
    if (!folded && (phase[0] != 1.0 || phase[1] != 0.0))
        qml__apply_diagonal(state, 0, 0, phase, phase);
}

/* ======================================================================== */
/* Two-qubit unitaries                                                      */
/* ======================================================================== */

static void quad_range(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const quad_job *job = context;
    double *a = job->amplitudes;
    const double *m = job->m;
    const uint64_t offsets[4] = {0, job->b0, job->b1, job->b0 | job->b1};
    for (size_t k = begin; k < end; k++) {
        uint64_t i = qml__deposit_zeros(k, job->fixed, 2);
        double in[8], out[8];
        for (unsigned c = 0; c < 4; c++) {
            in[2 * c] = a[2 * (i | offsets[c])];
            in[2 * c + 1] = a[2 * (i | offsets[c]) + 1];
        }
        for (unsigned r = 0; r < 4; r++) {
            double re = 0.0, im = 0.0;
            for (unsigned c = 0; c < 4; c++) {
                double mr = m[2 * (4 * r + c)], mi = m[2 * (4 * r + c) + 1];
                re += mr * in[2 * c] - mi * in[2 * c + 1];
                im += mr * in[2 * c + 1] + mi * in[2 * c];
            }
            out[2 * r] = re;
            out[2 * r + 1] = im;
        }
        for (unsigned r = 0; r < 4; r++) {
            a[2 * (i | offsets[r])] = out[2 * r];
            a[2 * (i | offsets[r]) + 1] = out[2 * r + 1];
        }
    }
}

/* ======================================================================== */
/* Gates                                                                    */
/* ======================================================================== */

/* The conjugate transpose of a d x d interleaved matrix. */
static void dagger(unsigned d, const double *m, double *out)
{
    for (unsigned r = 0; r < d; r++)
        for (unsigned c = 0; c < d; c++) {
            out[2 * (r * d + c)] = m[2 * (c * d + r)];
            out[2 * (r * d + c) + 1] = -m[2 * (c * d + r) + 1];
        }
}

void qml__statevec_apply(qml_statevec *state, const qml__gate *gate, double theta, bool inverse)
{
    const unsigned *q = gate->qubits;
    const uint64_t b0 = (uint64_t)1 << q[0];
    const uint64_t b1 = gate->n_targets > 1 && q[1] < 64 ? (uint64_t)1 << q[1] : 0;
    const uint64_t b2 = gate->n_targets > 2 && q[2] < 64 ? (uint64_t)1 << q[2] : 0;
    const double sign = inverse ? -1.0 : 1.0;
    if (qml__gate_is_parametrised(gate->kind))
        theta *= sign;
    const double r2 = 0.70710678118654752440084436210485; /* 1/sqrt(2) */
    const double c = cos(0.5 * theta), s = sin(0.5 * theta);
    double m[8];
    double d0[2], d1[2];
    static const double one[2] = {1.0, 0.0};
    switch (gate->kind) {
    case QML_GATE_I:
        break;
    case QML_GATE_X:
        qml__apply_pair(state, q, 1, 0, b0, QML__PAIR_SWAP, NULL);
        break;
    case QML_GATE_Y: {
        const double y[8] = {0, 0, 0, -1, 0, 1, 0, 0};
        qml__apply_pair(state, q, 1, 0, b0, QML__PAIR_GENERAL, y);
        break;
    }
    case QML_GATE_Z:
        d0[0] = -1.0, d0[1] = 0.0;
        qml__apply_diagonal(state, 0, b0, d0, d0);
        break;
    case QML_GATE_H: {
        const double h[8] = {r2, 0, r2, 0, r2, 0, -r2, 0};
        qml__apply_pair(state, q, 1, 0, b0, QML__PAIR_REAL, h);
        break;
    }
    case QML_GATE_S:
    case QML_GATE_SDG:
    case QML_GATE_T:
    case QML_GATE_TDG: {
        /* diag(1, e^{i phi}): phi = pi/2 (S), pi/4 (T), negated for the daggers. */
        double phi = (gate->kind == QML_GATE_S || gate->kind == QML_GATE_SDG) ? 1.5707963267948966 : 0.78539816339744831;
        if (gate->kind == QML_GATE_SDG || gate->kind == QML_GATE_TDG)
            phi = -phi;
        phi *= sign;
        d0[0] = cos(phi), d0[1] = sin(phi);
        if (gate->kind == QML_GATE_S || gate->kind == QML_GATE_SDG)
            d0[0] = 0.0, d0[1] = phi > 0 ? 1.0 : -1.0; /* exact i or -i */
        qml__apply_diagonal(state, 0, b0, d0, d0);
        break;
    }
    case QML_GATE_SX: {
        /* sqrt(X) = (1/2) [[1+i, 1-i], [1-i, 1+i]]; its adjoint conjugates. */
        const double sx[8] = {0.5, 0.5 * sign, 0.5, -0.5 * sign, 0.5, -0.5 * sign, 0.5, 0.5 * sign};
        qml__apply_pair(state, q, 1, 0, b0, QML__PAIR_GENERAL, sx);
        break;
    }
    case QML_GATE_CNOT:
        qml__apply_pair(state, q, 2, b0, b0 | b1, QML__PAIR_SWAP, NULL);
        break;
    case QML_GATE_CY: {
        const double y[8] = {0, 0, 0, -1, 0, 1, 0, 0};
        qml__apply_pair(state, q, 2, b0, b0 | b1, QML__PAIR_GENERAL, y);
        break;
    }
    case QML_GATE_CZ:
        d0[0] = -1.0, d0[1] = 0.0;
        qml__apply_diagonal(state, 0, b0 | b1, d0, d0);
        break;
    case QML_GATE_SWAP:
        qml__apply_pair(state, q, 2, b0, b1, QML__PAIR_SWAP, NULL);
        break;
    case QML_GATE_ISWAP: {
        /* |01> -> i|10>, |10> -> i|01>; the adjoint has -i. */
        const double is[8] = {0, 0, 0, sign, 0, sign, 0, 0};
        qml__apply_pair(state, q, 2, b0, b1, QML__PAIR_GENERAL, is);
        break;
    }
    case QML_GATE_TOFFOLI:
        qml__apply_pair(state, q, 3, b0 | b1, b0 | b1 | b2, QML__PAIR_SWAP, NULL);
        break;
    case QML_GATE_UNITARY1:
        if (inverse)
            dagger(2, gate->matrix, m);
        else
            memcpy(m, gate->matrix, sizeof m);
        qml__apply_pair(state, q, 1, 0, b0, QML__PAIR_GENERAL, m);
        break;
    case QML_GATE_UNITARY2: {
        quad_job job = {.amplitudes = state->amplitudes, .fixed = {q[0], q[1]}, .b0 = b0, .b1 = b1};
        qml__sort_bits(job.fixed, 2);
        if (inverse)
            dagger(4, gate->matrix, job.m);
        else
            memcpy(job.m, gate->matrix, sizeof job.m);
        run_parallel(state, (size_t)(state->dim >> 2), PARALLEL_GRAIN, quad_range, &job);
        break;
    }
    case QML_GATE_RX:
    case QML_GATE_CRX: {
        /* exp(-i theta/2 X) = [[c, -i s], [-i s, c]] */
        const double rx[8] = {c, 0, 0, -s, 0, -s, c, 0};
        if (gate->kind == QML_GATE_RX)
            qml__apply_pair(state, q, 1, 0, b0, QML__PAIR_GENERAL, rx);
        else
            qml__apply_pair(state, q, 2, b0, b0 | b1, QML__PAIR_GENERAL, rx);
        break;
    }
    case QML_GATE_RY:
    case QML_GATE_CRY: {
        /* exp(-i theta/2 Y) = [[c, -s], [s, c]] */
        const double ry[8] = {c, 0, -s, 0, s, 0, c, 0};
        if (gate->kind == QML_GATE_RY)
            qml__apply_pair(state, q, 1, 0, b0, QML__PAIR_REAL, ry);
        else
            qml__apply_pair(state, q, 2, b0, b0 | b1, QML__PAIR_REAL, ry);
        break;
    }
    case QML_GATE_RZ:
    case QML_GATE_RZZ:
        /* exp(-i theta/2 Z...Z) = e^{-i theta/2} on even parity, e^{+i theta/2} on odd */
        d0[0] = c, d0[1] = -s, d1[0] = c, d1[1] = s;
        qml__apply_diagonal(state, gate->kind == QML_GATE_RZ ? b0 : b0 | b1, 0, d0, d1);
        break;
    case QML_GATE_CRZ:
        d0[0] = c, d0[1] = -s, d1[0] = c, d1[1] = s;
        qml__apply_diagonal(state, b1, b0, d0, d1);
        break;
    case QML_GATE_RXX:
        apply_pauli_rotation(state, b0 | b1, 0, theta, one);
        break;
    case QML_GATE_RYY:
        apply_pauli_rotation(state, b0 | b1, b0 | b1, theta, one);
        break;
    case QML_GATE_PHASE:
        d0[0] = cos(theta), d0[1] = sin(theta);
        qml__apply_diagonal(state, 0, b0, d0, d0);
        break;
    case QML_GATE_PAULI_ROTATION:
    case QML_GATE_PAULI_EVOLUTION:
        apply_pauli_evolution(state, gate->generator, theta);
        break;
    }
}

/* ======================================================================== */
/* Generators and Pauli sums applied to a state                             */
/* ======================================================================== */

static void generator_range(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const generator_job *job = context;
    double *restrict out = job->out;
    const double *restrict in = job->in;
    const double cr = job->coeff[0], ci = job->coeff[1];
    for (size_t i = begin; i < end; i++) {
        double re = 0.0, im = 0.0;
        if ((i & job->cmask) == job->cmask) {
            uint64_t j = i ^ job->x;
            double g = parity64(j & job->z) ? -1.0 : 1.0;
            double jr = in[2 * j], ji = in[2 * j + 1];
            re = g * (cr * jr - ci * ji);
            im = g * (cr * ji + ci * jr);
        }
        if (job->accumulate) {
            out[2 * i] += re;
            out[2 * i + 1] += im;
        } else {
            out[2 * i] = re;
            out[2 * i + 1] = im;
        }
    }
}

/* out (=|+=) coeff * P(x, z) |in>, restricted to indices with cmask set. */
static void apply_pauli_string(qml_statevec *out, const qml_statevec *in, uint64_t x, uint64_t z, double coeff,
                               uint64_t cmask, bool accumulate)
{
    double iy[2];
    ipow(popcount64(x & z), iy);
    generator_job job = {out->amplitudes, in->amplitudes, x, z, cmask, {coeff * iy[0], coeff * iy[1]}, accumulate};
    run_parallel(in, (size_t)in->dim, PARALLEL_GRAIN, generator_range, &job);
}

/* ---- the diagonal part of a Pauli sum in one pass ---------------------------
 * out_i = w(i) in_i, w(i) = sum_t c_t (-1)^{|i & z_t|} over the terms with
 * x = 0, factored like the expectation (docs/simulator.md): blocks of 2^8
 * amplitudes, terms with only low bits in one table A(lo), the others
 * grouped by their low mask with one coefficient per block. Applying
 * sum_i Z_i Z_{i+1} term by term was one pass per term; this is one pass. */
typedef struct diag_sum_job {
    const double *in;
    double *out;
    unsigned bits;
    double table[1u << EXPECT_BLOCK_BITS];
    unsigned n_masks;
    double mask_signs[MAX_LOW_MASKS * (1u << EXPECT_BLOCK_BITS)];
    size_t n_high;
    uint64_t high_z[MAX_HIGH_TERMS];   /* z >> bits */
    unsigned high_mask[MAX_HIGH_TERMS];
    double high_coeff[MAX_HIGH_TERMS];
} diag_sum_job;

static void diag_sum_range(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const diag_sum_job *job = context;
    const size_t block = (size_t)1 << job->bits;
    double w[1u << EXPECT_BLOCK_BITS];
    for (size_t hi = begin; hi < end; hi++) {
        double coeff[MAX_LOW_MASKS] = {0, 0, 0, 0};
        for (size_t t = 0; t < job->n_high; t++)
            coeff[job->high_mask[t]] += parity64(hi & job->high_z[t]) ? -job->high_coeff[t] : job->high_coeff[t];
        for (size_t l = 0; l < block; l++)
            w[l] = job->table[l];
        for (unsigned m = 0; m < job->n_masks; m++) {
            const double *restrict t = job->mask_signs + m * block;
            const double c = coeff[m];
            for (size_t l = 0; l < block; l++)
                w[l] += c * t[l];
        }
        const double *restrict in = job->in + 2 * (hi << job->bits);
        double *restrict out = job->out + 2 * (hi << job->bits);
        for (size_t l = 0; l < block; l++) {
            out[2 * l] = w[l] * in[2 * l];
            out[2 * l + 1] = w[l] * in[2 * l + 1];
        }
    }
}

/* out = (the x = 0 terms of o) |in>, in one pass; false (nothing written)
 * when they need more than MAX_LOW_MASKS low masks or MAX_HIGH_TERMS terms
 * with high bits. */
static bool apply_diagonal_terms(qml_statevec *out, const qml_statevec *in, const qml_pauli_sum *o)
{
    diag_sum_job job;
    job.in = in->amplitudes;
    job.out = out->amplitudes;
    job.bits = in->n_qubits < EXPECT_BLOCK_BITS ? in->n_qubits : EXPECT_BLOCK_BITS;
    job.n_masks = 0;
    job.n_high = 0;
    const size_t block = (size_t)1 << job.bits;
    const uint64_t low = block - 1;
    uint64_t low_masks[MAX_LOW_MASKS];
    memset(job.table, 0, sizeof job.table);
    for (size_t t = 0; t < o->n_terms; t++) {
        if (o->x[t * o->words] != 0)
            continue;
        const uint64_t z = o->z[t * o->words];
        const double c = o->coeff[t];
        if ((z >> job.bits) == 0) {
            for (size_t l = 0; l < block; l++)
                job.table[l] += parity64(l & z) ? -c : c;
            continue;
        }
        unsigned m = 0;
        while (m < job.n_masks && low_masks[m] != (z & low))
            m++;
        if (m == job.n_masks) {
            if (job.n_masks == MAX_LOW_MASKS)
                return false;
            low_masks[job.n_masks++] = z & low;
            for (size_t l = 0; l < block; l++)
                job.mask_signs[m * block + l] = parity64(l & z) ? -1.0 : 1.0;
        }
        if (job.n_high == MAX_HIGH_TERMS)
            return false;
        job.high_z[job.n_high] = z >> job.bits;
        job.high_mask[job.n_high] = m;
        job.high_coeff[job.n_high++] = c;
    }
    const size_t grain = PARALLEL_GRAIN >> job.bits ? PARALLEL_GRAIN >> job.bits : 1;
    run_parallel(in, (size_t)(in->dim >> job.bits), grain, diag_sum_range, &job);
    return true;
}

void qml__statevec_apply_pauli_sum(qml_statevec *out, const qml_statevec *in, const qml_pauli_sum *observable)
{
    const unsigned words = observable->words;
    if (observable->n_terms == 0) {
        memset(out->amplitudes, 0, (size_t)(2 * out->dim) * sizeof(double));
        return;
    }
    /* the x = 0 terms in one pass (if there are any, and their tables fit),
     * then the others term by term, accumulating */
    bool any_diagonal = false;
    for (size_t t = 0; t < observable->n_terms && !any_diagonal; t++)
        any_diagonal = observable->x[t * words] == 0;
    const bool diagonal_done = any_diagonal && apply_diagonal_terms(out, in, observable);
    bool written = diagonal_done;
    for (size_t t = 0; t < observable->n_terms; t++) {
        if (diagonal_done && observable->x[t * words] == 0)
            continue;
        apply_pauli_string(out, in, observable->x[t * words], observable->z[t * words], observable->coeff[t], 0,
                           written);
        written = true;
    }
}

void qml__statevec_apply_generator(qml_statevec *out, const qml_statevec *in, const qml__gate *gate)
{
    const unsigned *q = gate->qubits;
    const uint64_t b0 = (uint64_t)1 << q[0];
    const uint64_t b1 = gate->n_targets > 1 && q[1] < 64 ? (uint64_t)1 << q[1] : 0;
    switch (gate->kind) {
    case QML_GATE_RX: apply_pauli_string(out, in, b0, 0, 1.0, 0, false); break;
    case QML_GATE_RY: apply_pauli_string(out, in, b0, b0, 1.0, 0, false); break;
    case QML_GATE_RZ: apply_pauli_string(out, in, 0, b0, 1.0, 0, false); break;
    case QML_GATE_RXX: apply_pauli_string(out, in, b0 | b1, 0, 1.0, 0, false); break;
    case QML_GATE_RYY: apply_pauli_string(out, in, b0 | b1, b0 | b1, 1.0, 0, false); break;
    case QML_GATE_RZZ: apply_pauli_string(out, in, 0, b0 | b1, 1.0, 0, false); break;
    /* (I - Z_c)/2 = |1><1|_c: the target's Pauli on the control = 1 half. */
    case QML_GATE_CRX: apply_pauli_string(out, in, b1, 0, 1.0, b0, false); break;
    case QML_GATE_CRY: apply_pauli_string(out, in, b1, b1, 1.0, b0, false); break;
    case QML_GATE_CRZ: apply_pauli_string(out, in, 0, b1, 1.0, b0, false); break;
    /* Z - I = -2 |1><1| */
    case QML_GATE_PHASE: apply_pauli_string(out, in, 0, 0, -2.0, b0, false); break;
    case QML_GATE_PAULI_ROTATION:
    case QML_GATE_PAULI_EVOLUTION: qml__statevec_apply_pauli_sum(out, in, gate->generator); break;
    default: /* fixed gates have no generator */
        memset(out->amplitudes, 0, (size_t)(2 * out->dim) * sizeof(double));
        break;
    }
}

/* ======================================================================== */
/* Reductions                                                               */
/* ======================================================================== */

/* Items per chunk so that there are at most MAX_CHUNKS chunks (items is a
 * power of two, so chunks are equal). Depends only on the item count. */
static size_t chunk_items_for(size_t n_items)
{
    return n_items > MAX_CHUNKS ? n_items / MAX_CHUNKS : 1;
}

typedef struct inner_job {
    const double *a, *b;
    size_t chunk;
    double *partials;          /* 2 per chunk */
} inner_job;

static void inner_range(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const inner_job *job = context;
    for (size_t c = begin; c < end; c++) {
        const double *restrict a = job->a + 2 * c * job->chunk;
        const double *restrict b = job->b + 2 * c * job->chunk;
        /* four accumulators per part: the sum is latency-bound otherwise */
        double re[4] = {0, 0, 0, 0}, im[4] = {0, 0, 0, 0};
        size_t n = job->chunk, k = 0;
        for (; k + 4 <= n; k += 4)
            for (unsigned u = 0; u < 4; u++) {
                double ar = a[2 * (k + u)], ai = a[2 * (k + u) + 1];
                double br = b[2 * (k + u)], bi = b[2 * (k + u) + 1];
                re[u] += ar * br + ai * bi;
                im[u] += ar * bi - ai * br;
            }
        for (; k < n; k++) {
            re[0] += a[2 * k] * b[2 * k] + a[2 * k + 1] * b[2 * k + 1];
            im[0] += a[2 * k] * b[2 * k + 1] - a[2 * k + 1] * b[2 * k];
        }
        job->partials[2 * c] = (re[0] + re[1]) + (re[2] + re[3]);
        job->partials[2 * c + 1] = (im[0] + im[1]) + (im[2] + im[3]);
    }
}

void qml__statevec_inner(const qml_statevec *a, const qml_statevec *b, double *re, double *im)
{
    size_t chunk = chunk_items_for((size_t)a->dim);
    size_t n_chunks = (size_t)a->dim / chunk;
    double partials[2 * MAX_CHUNKS];
    inner_job job = {a->amplitudes, b->amplitudes, chunk, partials};
    run_parallel(a, n_chunks, 1, inner_range, &job);
    double sr = 0.0, si = 0.0;
    for (size_t c = 0; c < n_chunks; c++) {
        sr += partials[2 * c];
        si += partials[2 * c + 1];
    }
    *re = sr;
    *im = si;
}

/* ---- expectation values -------------------------------------------------
 *
 * <psi|O|psi> = sum_t c_t sum_i conj(a_i) (P_t a)_i, and
 * (P(x,z) a)_i = i^y (-1)^{|(i ^ x) & z|} a_{i ^ x}. Terms with the same x
 * share the pairing i <-> i ^ x, so one sweep per distinct x computes
 *   sum_i conj(a_i) a_{i^x} w(i),  w(i) = sum_t c'_t (-1)^{|i & z_t|},
 *   c'_t = c_t i^{y_t} (-1)^{|x & z_t|}.
 * With i = (hi, lo), lo the low EXPECT_BLOCK_BITS bits, (-1)^{|i & z|} =
 * (-1)^{|hi & z_hi|} (-1)^{|lo & z_lo|}. Terms with z_hi = 0 fold into one
 * table A(lo); the others are grouped by z_lo ("low masks" m, sign tables
 * T_m), and their high signs give per-block coefficients C_m(hi). A block then
 * costs sum_lo q(lo) (A(lo) + sum_m C_m(hi) T_m(lo)): a few multiply-adds
 * per amplitude however many terms there are. */

typedef struct expect_job {
    const double *a;
    unsigned block_bits;
    uint64_t x_low, x_high;
    unsigned pivot_high;           /* top bit of x_high, when x_high != 0 */
    bool diagonal;                 /* x == 0: q = |a|^2 is real */
    bool use_table;                /* the A table is part of this batch */
    bool avx2;                     /* diagonal blocks: the AVX2 build of the inner loop, */
    const double *table_avx2;      /* ... on table_real and mask_signs permuted for it */
    const double *mask_signs_avx2;
    const double *table;           /* A: complex per lo */
    const double *table_real;      /* its real parts, contiguous (diagonal groups) */
    unsigned n_masks;
    const double *mask_signs;      /* n_masks * block signs */
    size_t n_high;
    const uint64_t *high_z;        /* z >> block_bits */
    size_t mask_first[MAX_LOW_MASKS + 1]; /* the high terms of mask m: mask_first[m] .. mask_first[m + 1] - 1 */
    const double *high_vsign;      /* 2^EXPECT_SPLIT_BITS x n_high: (-1)^{|v & z|} (block_coefficients) */
    const double *high_coeff;      /* complex c' */
    size_t chunk;                  /* items per chunk */
    double *partials;              /* 2 per chunk */
} expect_job;

#if defined(QML_HAVE_V2D)
/* The diagonal expectation's inner loop, two amplitudes per vector:
 * {p_l, p_l+1} = even + odd lanes of {re^2, im^2} of two amplitudes, then
 * three multiply-adds against the tables. Plain C left gcc -O2 with 15
 * scalar instructions per amplitude (compute-bound at 0.7 of the read
 * bandwidth); this is about 8. Two accumulators per sum; the result
 * depends only on the block, so it is the same for any thread count. */
static void expect_diagonal_v2d(const double *restrict ai, size_t block, const double *restrict table,
                                const double *restrict t0, const double *restrict t1, double c0, double c1,
                                double sum[2])
{
    qml__v2d sa0 = {0, 0}, sa1 = {0, 0}, sb0 = {0, 0}, sb1 = {0, 0}, sc0 = {0, 0}, sc1 = {0, 0};
    for (size_t l = 0; l < block; l += 4) {
        qml__v2d x0 = qml__load_v2d(ai + 2 * l), x1 = qml__load_v2d(ai + 2 * l + 2);
        qml__v2d x2 = qml__load_v2d(ai + 2 * l + 4), x3 = qml__load_v2d(ai + 2 * l + 6);
        x0 *= x0;
        x1 *= x1;
        x2 *= x2;
        x3 *= x3;
        qml__v2d p01 = __builtin_shufflevector(x0, x1, 0, 2) + __builtin_shufflevector(x0, x1, 1, 3);
        qml__v2d p23 = __builtin_shufflevector(x2, x3, 0, 2) + __builtin_shufflevector(x2, x3, 1, 3);
        sa0 += p01 * qml__load_v2d(table + l);
        sa1 += p23 * qml__load_v2d(table + l + 2);
        sb0 += p01 * qml__load_v2d(t0 + l);
        sb1 += p23 * qml__load_v2d(t0 + l + 2);
        sc0 += p01 * qml__load_v2d(t1 + l);
        sc1 += p23 * qml__load_v2d(t1 + l + 2);
    }
    qml__v2d sa = sa0 + sa1, sb = sb0 + sb1, sc = sc0 + sc1;
    sum[0] = (sa[0] + sa[1]) + c0 * (sb[0] + sb[1]) + c1 * (sc[0] + sc[1]);
    sum[1] = 0.0;
}
#endif

#if defined(QML_HAVE_V2D) && (defined(__x86_64__) || defined(__i386__)) && defined(__has_builtin)
#if __has_builtin(__builtin_cpu_supports)
#define EXPECT_AVX2 1
typedef double expect_v4d __attribute__((vector_size(32)));
/* expect_diagonal_v2d compiled for AVX2, four amplitudes per vector, on
 * tables permuted within each group of four entries to {0, 2, 1, 3} (the
 * order in which the unpacking instructions leave {p0, p1, p2, p3}): each
 * lane accumulates what one lane of the two-lane code's sa0 or sa1 does,
 * with the same operations in the same order (no FMA: target avx2 only),
 * so the sum has the same bits. 4.2 instead of 8 instructions per
 * amplitude (callgrind): the sum of Z_i Z_i+1 at n = 24 had been bound by
 * computation at 0.6-0.75 of one core's read bandwidth. */
__attribute__((target("avx2"))) static void expect_diagonal_avx2(const double *restrict ai, size_t block,
                                                                 const double *restrict table,
                                                                 const double *restrict t0,
                                                                 const double *restrict t1, double c0, double c1,
                                                                 double sum[2])
{
    expect_v4d sa = {0, 0, 0, 0}, sb = {0, 0, 0, 0}, sc = {0, 0, 0, 0};
    for (size_t l = 0; l < block; l += 4) {
        expect_v4d x01, x23, ta, tb, tc;
        memcpy(&x01, ai + 2 * l, sizeof x01);
        memcpy(&x23, ai + 2 * l + 4, sizeof x23);
        memcpy(&ta, table + l, sizeof ta);
        memcpy(&tb, t0 + l, sizeof tb);
        memcpy(&tc, t1 + l, sizeof tc);
        x01 *= x01;
        x23 *= x23;
        /* {re0^2, re2^2, re1^2, re3^2} + {im0^2, ...}: {p0, p2, p1, p3} */
        const expect_v4d p = __builtin_shufflevector(x01, x23, 0, 4, 2, 6) + __builtin_shufflevector(x01, x23, 1, 5, 3, 7);
        sa += p * ta;
        sb += p * tb;
        sc += p * tc;
    }
    /* lanes 0, 1 hold the sums over p0 and p2 (lane 0 of the two-lane
     * code's sa0 and sa1), lanes 2, 3 those over p1 and p3: its sa0 + sa1
     * lane by lane, then the two lanes */
    const double a0 = sa[0] + sa[1], a1 = sa[2] + sa[3], b0 = sb[0] + sb[1], b1 = sb[2] + sb[3];
    const double e0 = sc[0] + sc[1], e1 = sc[2] + sc[3];
    sum[0] = (a0 + a1) + c0 * (b0 + b1) + c1 * (e0 + e1);
    sum[1] = 0.0;
}

/* A table of expect_diagonal_v2d permuted for expect_diagonal_avx2. */
static void permute_for_avx2(const double *table, size_t count, double *out)
{
    for (size_t l = 0; l + 4 <= count; l += 4) {
        out[l] = table[l];
        out[l + 1] = table[l + 2];
        out[l + 2] = table[l + 1];
        out[l + 3] = table[l + 3];
    }
}
#endif
#endif

int qml__expect_path_override = -1;

/* The block coefficients C_m(hi) = sum_t c'_t (-1)^{|hi & z_t|}, term by
 * term in a fixed order. With hi = (u, v), v its low EXPECT_SPLIT_BITS
 * bits, the sign is (-1)^{|u & z_t|} (-1)^{|v & z_t|}: the first factor
 * times c'_t is recomputed only when u changes (coeff_cache), the second
 * read from job->high_vsign. Products of +-1 and c'_t are exact, so C_m
 * has the bits of the term-by-term parity it replaces (which cost 1.4
 * instructions per amplitude for the sum of Z_i Z_i+1 at n = 18). */
typedef struct coeff_cache {
    uint64_t u;                    /* hi >> EXPECT_SPLIT_BITS of `signed_coeff`; UINT64_MAX: none */
    double signed_coeff[2 * MAX_HIGH_TERMS];
} coeff_cache;

static void block_coefficients(const expect_job *job, uint64_t hi, coeff_cache *cache, double coeff[2 * MAX_LOW_MASKS])
{
    const uint64_t u = hi >> EXPECT_SPLIT_BITS, v = hi & ((1u << EXPECT_SPLIT_BITS) - 1);
    const size_t n_high = job->n_high;
    if (cache->u != u) {
        cache->u = u;
        for (size_t t = 0; t < n_high; t++) {
            const double g = parity64((u << EXPECT_SPLIT_BITS) & job->high_z[t]) ? -1.0 : 1.0;
            cache->signed_coeff[2 * t] = g * job->high_coeff[2 * t];
            cache->signed_coeff[2 * t + 1] = g * job->high_coeff[2 * t + 1];
        }
    }
    for (unsigned m = 0; m < MAX_LOW_MASKS; m++)
        coeff[2 * m] = coeff[2 * m + 1] = 0.0;
    const double *restrict vsign = job->high_vsign + v * n_high;
    const double *restrict sc = cache->signed_coeff;
    /* the terms come grouped by low mask (in their order within a mask) */
    for (unsigned m = 0; m < job->n_masks; m++) {
        double re = 0.0, im = 0.0;
        for (size_t t = job->mask_first[m]; t < job->mask_first[m + 1]; t++)
            re += vsign[t] * sc[2 * t];
        if (!job->diagonal) /* else real coefficients: the imaginary parts stay 0 */
            for (size_t t = job->mask_first[m]; t < job->mask_first[m + 1]; t++)
                im += vsign[t] * sc[2 * t + 1];
        coeff[2 * m] = re;
        coeff[2 * m + 1] = im;
    }
}

/* sum_lo conj(ai[lo]) aj[lo ^ x_low] w_hi(lo), w given by table + coefficients. */
static void expect_block(const expect_job *job, const double *restrict ai, const double *restrict aj, uint64_t hi,
                         coeff_cache *cache, double sum[2])
{
    const size_t block = (size_t)1 << job->block_bits;
    double coeff[2 * MAX_LOW_MASKS];
    block_coefficients(job, hi, cache, coeff);
    double q[2 * (1u << EXPECT_BLOCK_BITS)];
    double total_re = 0.0, total_im = 0.0;
    if (job->diagonal) {
        /* q = |a|^2; the table and coefficients are real. With at most
         * two low masks (the usual case: e.g. a chain of Z Z has one term
         * straddling the block boundary) everything is summed in one loop
         * of loads only; two accumulators per sum keep it from being
         * latency-bound. */
        if (block % 2 == 0 && job->n_masks <= 2) {
            static const double zeros[1u << EXPECT_BLOCK_BITS];
            const double *restrict table = job->use_table ? job->table_real : zeros;
            const double *restrict t0 = job->n_masks > 0 ? job->mask_signs : zeros;
            const double *restrict t1 = job->n_masks > 1 ? job->mask_signs + block : zeros;
#if defined(EXPECT_AVX2)
            if (block % 4 == 0 && job->avx2) {
                expect_diagonal_avx2(ai, block, job->use_table ? job->table_avx2 : zeros,
                                     job->n_masks > 0 ? job->mask_signs_avx2 : zeros,
                                     job->n_masks > 1 ? job->mask_signs_avx2 + block : zeros, coeff[0], coeff[2],
                                     sum);
                return;
            }
#endif
#if defined(QML_HAVE_V2D)
            if (block % 4 == 0) {
                expect_diagonal_v2d(ai, block, table, t0, t1, coeff[0], coeff[2], sum);
                return;
            }
#endif
            double a0 = 0, a1 = 0, b0 = 0, b1 = 0, c0 = 0, c1 = 0;
            for (size_t l = 0; l < block; l += 2) {
                double p0 = ai[2 * l] * ai[2 * l] + ai[2 * l + 1] * ai[2 * l + 1];
                double p1 = ai[2 * l + 2] * ai[2 * l + 2] + ai[2 * l + 3] * ai[2 * l + 3];
                a0 += p0 * table[l];
                a1 += p1 * table[l + 1];
                b0 += p0 * t0[l];
                b1 += p1 * t0[l + 1];
                c0 += p0 * t1[l];
                c1 += p1 * t1[l + 1];
            }
            sum[0] = (a0 + a1) + coeff[0] * (b0 + b1) + coeff[2] * (c0 + c1);
            sum[1] = 0.0;
            return;
        }
        /* q = |a|^2; the table and coefficients are real. Four
         * accumulators per sum: one would make the loop latency-bound. */
        const double *restrict table = job->table_real;
        double acc[4] = {0, 0, 0, 0};
        if (block % 4 == 0 && job->use_table) {
            double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (size_t l = 0; l < block; l += 4) {
                double p0 = ai[2 * l] * ai[2 * l] + ai[2 * l + 1] * ai[2 * l + 1];
                double p1 = ai[2 * l + 2] * ai[2 * l + 2] + ai[2 * l + 3] * ai[2 * l + 3];
                double p2 = ai[2 * l + 4] * ai[2 * l + 4] + ai[2 * l + 5] * ai[2 * l + 5];
                double p3 = ai[2 * l + 6] * ai[2 * l + 6] + ai[2 * l + 7] * ai[2 * l + 7];
                q[l] = p0, q[l + 1] = p1, q[l + 2] = p2, q[l + 3] = p3;
                a0 += p0 * table[l];
                a1 += p1 * table[l + 1];
                a2 += p2 * table[l + 2];
                a3 += p3 * table[l + 3];
            }
            acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
        } else {
            for (size_t l = 0; l < block; l++) {
                q[l] = ai[2 * l] * ai[2 * l] + ai[2 * l + 1] * ai[2 * l + 1];
                if (job->use_table)
                    acc[0] += q[l] * table[l];
            }
        }
        total_re = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (unsigned m = 0; m < job->n_masks; m++) {
            const double *restrict t = job->mask_signs + m * block;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            if (block % 4 == 0) {
                for (size_t l = 0; l < block; l += 4) {
                    s0 += q[l] * t[l];
                    s1 += q[l + 1] * t[l + 1];
                    s2 += q[l + 2] * t[l + 2];
                    s3 += q[l + 3] * t[l + 3];
                }
            } else {
                for (size_t l = 0; l < block; l++)
                    s0 += q[l] * t[l];
            }
            total_re += coeff[2 * m] * ((s0 + s1) + (s2 + s3));
        }
        sum[0] = total_re;
        sum[1] = 0.0;
        return;
    }
    /* q = conj(a_i) a_{i ^ x}, complex. */
    const uint64_t x_low = job->x_low;
    double sr = 0.0, si = 0.0;
    for (size_t l = 0; l < block; l++) {
        double xr = ai[2 * l], xi = ai[2 * l + 1];
        double yr = aj[2 * (l ^ x_low)], yi = aj[2 * (l ^ x_low) + 1];
        double qr = xr * yr + xi * yi, qi = xr * yi - xi * yr;
        q[2 * l] = qr;
        q[2 * l + 1] = qi;
        if (job->use_table) {
            double tr = job->table[2 * l], ti = job->table[2 * l + 1];
            sr += qr * tr - qi * ti;
            si += qr * ti + qi * tr;
        }
    }
    total_re = sr;
    total_im = si;
    for (unsigned m = 0; m < job->n_masks; m++) {
        const double *restrict t = job->mask_signs + m * block;
        double s_re = 0.0, s_im = 0.0;
        for (size_t l = 0; l < block; l++) {
            s_re += q[2 * l] * t[l];
            s_im += q[2 * l + 1] * t[l];
        }
        total_re += coeff[2 * m] * s_re - coeff[2 * m + 1] * s_im;
        total_im += coeff[2 * m] * s_im + coeff[2 * m + 1] * s_re;
    }
    sum[0] = total_re;
    sum[1] = total_im;
}

static void expect_range(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const expect_job *job = context;
    const unsigned bits = job->block_bits;
    coeff_cache cache_i = {.u = UINT64_MAX}, cache_j = {.u = UINT64_MAX};
    for (size_t c = begin; c < end; c++) {
        double re = 0.0, im = 0.0, part[2];
        for (size_t item = c * job->chunk; item < (c + 1) * job->chunk; item++) {
            if (job->x_high == 0) {
                const double *block = job->a + 2 * ((uint64_t)item << bits);
                expect_block(job, block, block, item, &cache_i, part);
                re += part[0];
                im += part[1];
            } else {
                /* Blocks hi (pivot bit clear) and hi ^ x_high, both in cache:
                 * each amplitude is read once. */
                const unsigned p = job->pivot_high;
                uint64_t hi = (((uint64_t)item >> p) << (p + 1)) | (item & (((uint64_t)1 << p) - 1));
                uint64_t hj = hi ^ job->x_high;
                const double *bi = job->a + 2 * (hi << bits), *bj = job->a + 2 * (hj << bits);
                expect_block(job, bi, bj, hi, &cache_i, part);
                re += part[0];
                im += part[1];
                expect_block(job, bj, bi, hj, &cache_j, part);
                re += part[0];
                im += part[1];
            }
        }
        job->partials[2 * c] = re;
        job->partials[2 * c + 1] = im;
    }
}

/* One x-group: the terms `members[0..count)` of `o` (all with the same x).
 * Returns Re of the group's contribution. */
static double expect_group(const qml_statevec *state, const qml_pauli_sum *o, const size_t *members, size_t count)
{
    const unsigned words = o->words;
    const unsigned bits = state->n_qubits < EXPECT_BLOCK_BITS ? state->n_qubits : EXPECT_BLOCK_BITS;
    const size_t block = (size_t)1 << bits;
    const uint64_t low = block - 1;
    const uint64_t x = o->x[members[0] * words];
    expect_job job = {.a = state->amplitudes, .block_bits = bits, .x_low = x & low, .x_high = x >> bits};
    job.diagonal = x == 0;
#if defined(EXPECT_AVX2)
    job.avx2 = qml__expect_path_override != 0 && qml__cpu_avx2();
#endif
    if (job.x_high)
        job.pivot_high = 63u - (unsigned)__builtin_clzll(job.x_high);
    size_t n_items = (size_t)(state->dim >> bits) >> (job.x_high ? 1 : 0);
    job.chunk = chunk_items_for(n_items);
    size_t n_chunks = n_items / job.chunk;

    double table[2 * (1u << EXPECT_BLOCK_BITS)], table_real[1u << EXPECT_BLOCK_BITS];
    double mask_signs[MAX_LOW_MASKS * (1u << EXPECT_BLOCK_BITS)];
#if defined(EXPECT_AVX2)
    double table_avx2[1u << EXPECT_BLOCK_BITS], mask_signs_avx2[2 * (1u << EXPECT_BLOCK_BITS)];
    job.table_avx2 = table_avx2;
    job.mask_signs_avx2 = mask_signs_avx2;
#endif
    uint64_t low_masks[MAX_LOW_MASKS];
    uint64_t high_z[MAX_HIGH_TERMS];
    unsigned high_mask[MAX_HIGH_TERMS];
    double high_coeff[2 * MAX_HIGH_TERMS];
    double high_vsign[MAX_HIGH_TERMS << EXPECT_SPLIT_BITS];
    double partials[2 * MAX_CHUNKS];
    job.table = table;
    job.table_real = table_real;
    job.mask_signs = mask_signs;
    job.high_z = high_z;
    job.high_coeff = high_coeff;
    job.high_vsign = high_vsign;
    job.partials = partials;

    /* c'_t = c_t i^{y_t} (-1)^{|x & z_t|} */
    double total = 0.0;
    bool table_used = false;
    memset(table, 0, 2 * block * sizeof(double));
    for (size_t k = 0; k < count; k++) {
        size_t t = members[k];
        uint64_t z = o->z[t * words];
        if ((z >> bits) != 0)
            continue;
        double cp[2];
        ipow(popcount64(x & z) + 2 * parity64(x & z), cp);
        cp[0] *= o->coeff[t];
        cp[1] *= o->coeff[t];
        for (size_t l = 0; l < block; l++) {
            double g = parity64(l & z) ? -1.0 : 1.0;
            table[2 * l] += g * cp[0];
            table[2 * l + 1] += g * cp[1];
        }
        table_used = true;
    }
    for (size_t l = 0; l < block; l++)
        table_real[l] = table[2 * l];
#if defined(EXPECT_AVX2)
    if (job.avx2)
        permute_for_avx2(table_real, block, table_avx2);
#endif
    /* Terms with high z bits, in batches of bounded tables: usually one. */
    size_t next = 0;
    bool first = true;
    for (;;) {
        while (next < count && (o->z[members[next] * words] >> bits) == 0)
            next++;
        if (next >= count && !(first && table_used))
            break;
        job.n_masks = 0;
        job.n_high = 0;
        size_t k = next;
        for (; k < count; k++) {
            size_t t = members[k];
            uint64_t z = o->z[t * words];
            if ((z >> bits) == 0)
                continue;
            unsigned m = 0;
            while (m < job.n_masks && low_masks[m] != (z & low))
                m++;
            if (m == job.n_masks) {
                if (job.n_masks == MAX_LOW_MASKS)
                    break;
                low_masks[job.n_masks++] = z & low;
                for (size_t l = 0; l < block; l++)
                    mask_signs[m * block + l] = parity64(l & z) ? -1.0 : 1.0;
            }
            if (job.n_high == MAX_HIGH_TERMS)
                break;
            double cp[2];
            ipow(popcount64(x & z) + 2 * parity64(x & z), cp);
            high_z[job.n_high] = z >> bits;
            high_mask[job.n_high] = m;
            high_coeff[2 * job.n_high] = cp[0] * o->coeff[t];
            high_coeff[2 * job.n_high + 1] = cp[1] * o->coeff[t];
            job.n_high++;
        }
        next = k;
        job.use_table = first && table_used;
        /* the batch's terms grouped by low mask, in their order within a
         * mask (each C_m is then summed in the order the terms came) */
        {
            uint64_t z_sorted[MAX_HIGH_TERMS];
            double coeff_sorted[2 * MAX_HIGH_TERMS];
            size_t placed = 0;
            for (unsigned m = 0; m < job.n_masks; m++) {
                job.mask_first[m] = placed;
                for (size_t t = 0; t < job.n_high; t++)
                    if (high_mask[t] == m) {
                        z_sorted[placed] = high_z[t];
                        coeff_sorted[2 * placed] = high_coeff[2 * t];
                        coeff_sorted[2 * placed + 1] = high_coeff[2 * t + 1];
                        placed++;
                    }
            }
            job.mask_first[job.n_masks] = placed;
            memcpy(high_z, z_sorted, placed * sizeof *high_z);
            memcpy(high_coeff, coeff_sorted, 2 * placed * sizeof *high_coeff);
        }
        for (uint64_t v = 0; v < ((uint64_t)1 << EXPECT_SPLIT_BITS); v++)
            for (size_t t = 0; t < job.n_high; t++)
                high_vsign[v * job.n_high + t] = parity64(v & high_z[t]) ? -1.0 : 1.0;
#if defined(EXPECT_AVX2)
        if (job.avx2)
            for (unsigned m = 0; m < job.n_masks && m < 2; m++)
                permute_for_avx2(mask_signs + m * block, block, mask_signs_avx2 + m * block);
#endif
        run_parallel(state, n_chunks, 1, expect_range, &job);
        for (size_t c = 0; c < n_chunks; c++)
            total += partials[2 * c];
        first = false;
        if (next >= count)
            break;
    }
    return total;
}

static int compare_by_x(const void *pa, const void *pb)
{
    const uint64_t *a = pa, *b = pb;
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    return a[1] < b[1] ? -1 : a[1] > b[1];
}

/* `scratch`: 3 * n_terms uint64_t (sort keys and member lists), or NULL to
 * evaluate term by term (no allocation: the internal entry point cannot fail). */
static double expectation_with(const qml_statevec *state, const qml_pauli_sum *o, uint64_t *scratch)
{
    const size_t n = o->n_terms;
    double total = 0.0;
    if (scratch == NULL) {
        for (size_t t = 0; t < n; t++)
            total += expect_group(state, o, &t, 1);
        return total;
    }
    /* Group the terms by x (term order inside a group): pairs (x, index). */
    for (size_t t = 0; t < n; t++) {
        scratch[2 * t] = o->x[t * o->words];
        scratch[2 * t + 1] = t;
    }
    qsort(scratch, n, 2 * sizeof(uint64_t), compare_by_x);
    size_t *members = (size_t *)(scratch + 2 * n);
    for (size_t g = 0; g < n;) {
        size_t e = g;
        while (e < n && scratch[2 * e] == scratch[2 * g]) {
            members[e - g] = (size_t)scratch[2 * e + 1];
            e++;
        }
        total += expect_group(state, o, members, e - g);
        g = e;
    }
    return total;
}

static uint64_t *expectation_scratch(size_t n_terms)
{
    return qml__malloc(qml__mul_size(n_terms, 3 * sizeof(uint64_t)));
}

/* ======================================================================== */
/* Public functions                                                         */
/* ======================================================================== */

/* Ask for transparent huge pages (2 MiB) over the whole 2 MiB-aligned part
 * of a large block, before its first touch. Kernels stream the state
 * through two or more far-apart pointers; with 4 KiB pages each stream
 * crosses a page (a TLB entry, a restart of the hardware prefetcher) every
 * 64 lines. Measured on the benchmark machine (Zen 4 under KVM, THP in
 * "madvise" mode): a streaming sweep 15% faster. Only a hint: failure (other
 * kernels, a caller's allocator returning memory madvise refuses) changes
 * nothing. */
static void advise_huge_pages(void *block, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)1 << 21;
    if (bytes < 2 * huge)
        return;
    uintptr_t begin = ((uintptr_t)block + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)block + bytes) & ~(huge - 1);
    if (end > begin)
        (void)madvise((void *)begin, (size_t)(end - begin), MADV_HUGEPAGE);
#else
    (void)block;
    (void)bytes;
#endif
}

static int statevec_alloc(qml_statevec **out, unsigned n_qubits, const char *caller)
{
    if (n_qubits > MAX_QUBITS)
        return qml__error(QML_ERR_LIMIT, "%s: %u qubits need 2^%u * 16 bytes; the limit is %u qubits", caller,
                          n_qubits, n_qubits, MAX_QUBITS);
    uint64_t dim = (uint64_t)1 << n_qubits;
    if (dim > SIZE_MAX / 16 / 2)
        return qml__error(QML_ERR_LIMIT, "%s: %u qubits need %llu bytes, more than this platform can address",
                          caller, n_qubits, (unsigned long long)(dim * 16));
    uint64_t bytes = dim * 16;
    int status = qml__memory_check(1, bytes, caller, "a statevector of %u qubits", n_qubits);
    if (status)
        return status;
    qml_statevec *state = qml__malloc(sizeof *state);
    if (!state)
        return qml__oom("a statevector");
    /* Large states start at an address with bit 12 set (PLACEMENT_SLACK
     * extra bytes): pairs of lines whose addresses differ exactly in bits
     * 12 and 27 (the X Y Z X rotation on qubits 0, 8, 16, 23 at n = 24)
     * evidently share an L1 way-predictor tag on Zen 4 and evict each other
     * (24 ms per rotation against 10); with bit 12 of the base set, the
     * +-4 KiB offset between them carries into bit 13 instead. */
    const size_t slack = bytes >= PLACEMENT_MIN_BYTES ? PLACEMENT_SLACK : 0;
    unsigned char *block = qml__aligned_alloc((size_t)bytes + slack);
    if (!block) {
        qml__free(state);
        return qml__error(QML_ERR_OUT_OF_MEMORY, "%s: out of memory allocating %llu bytes for %u qubits", caller,
                          (unsigned long long)(bytes + slack), n_qubits);
    }
    state->block = block;
    size_t shift = 0;
    if (slack)
        shift = (size_t)((PLACEMENT_BIT - (uintptr_t)block % (2 * PLACEMENT_BIT)) % (2 * PLACEMENT_BIT));
    state->amplitudes = (double *)(void *)(block + shift);
    advise_huge_pages(state->amplitudes, (size_t)bytes);
    state->n_qubits = n_qubits;
    state->dim = dim;
    state->n_threads = 1;
    *out = state;
    return QML_OK;
}

int qml_statevec_create(qml_statevec **out, unsigned n_qubits)
{
    QML_CHECK_NULL(out);
    QML_CHECK_ARG(n_qubits >= 1, "qml_statevec_create: n_qubits is 0");
    qml_statevec *state;
    int status = statevec_alloc(&state, n_qubits, __func__);
    if (status)
        return status;
    memset(state->amplitudes, 0, (size_t)(2 * state->dim) * sizeof(double));
    state->amplitudes[0] = 1.0;
    *out = state;
    qml__ok();
    return QML_OK;
}

int qml_statevec_copy(qml_statevec **out, const qml_statevec *state)
{
    QML_CHECK_NULL(out);
    QML_CHECK_NULL(state);
    qml_statevec *copy;
    int status = statevec_alloc(&copy, state->n_qubits, __func__);
    if (status)
        return status;
    memcpy(copy->amplitudes, state->amplitudes, (size_t)(2 * state->dim) * sizeof(double));
    copy->n_threads = state->n_threads;
    *out = copy;
    qml__ok();
    return QML_OK;
}

void qml_statevec_free(qml_statevec *state)
{
    if (!state)
        return;
    qml__aligned_free(state->block);
    qml__free(state);
}

unsigned qml_statevec_n_qubits(const qml_statevec *state)
{
    return state ? state->n_qubits : 0;
}

int qml_statevec_set_threads(qml_statevec *state, unsigned n_threads)
{
    QML_CHECK_NULL(state);
    state->n_threads = qml__resolve_threads(n_threads);
    qml__ok();
    return QML_OK;
}

int qml_statevec_set_zero(qml_statevec *state)
{
    QML_CHECK_NULL(state);
    return qml_statevec_set_basis(state, 0);
}

int qml_statevec_set_basis(qml_statevec *state, uint64_t index)
{
    QML_CHECK_NULL(state);
    if (index >= state->dim)
        return qml__error(QML_ERR_OUT_OF_RANGE, "qml_statevec_set_basis: index %llu out of range for %u qubits",
                          (unsigned long long)index, state->n_qubits);
    memset(state->amplitudes, 0, (size_t)(2 * state->dim) * sizeof(double));
    state->amplitudes[2 * index] = 1.0;
    qml__ok();
    return QML_OK;
}

int qml_statevec_set_amplitudes(qml_statevec *state, const double *amplitudes, size_t count, double tolerance)
{
    QML_CHECK_NULL(state);
    QML_CHECK_NULL(amplitudes);
    QML_CHECK_ARG(count == state->dim, "qml_statevec_set_amplitudes: count %zu is not 2^%u = %llu", count,
                  state->n_qubits, (unsigned long long)state->dim);
    QML_CHECK_ARG(isfinite(tolerance) && tolerance >= 0.0,
                  "qml_statevec_set_amplitudes: tolerance %g is not a finite number >= 0", tolerance);
    double norm = 0.0;
    for (size_t k = 0; k < 2 * count; k++) {
        QML_CHECK_ARG(isfinite(amplitudes[k]), "qml_statevec_set_amplitudes: amplitude %zu is not finite", k / 2);
        norm += amplitudes[k] * amplitudes[k];
    }
    if (!(fabs(norm - 1.0) <= tolerance))
        return qml__error(QML_ERR_NOT_NORMALIZED,
                          "qml_statevec_set_amplitudes: squared norm %.17g differs from 1 by more than %g", norm,
                          tolerance);
    memcpy(state->amplitudes, amplitudes, 2 * count * sizeof(double));
    qml__ok();
    return QML_OK;
}

int qml_statevec_amplitudes(const qml_statevec *state, double *amplitudes, size_t count)
{
    QML_CHECK_NULL(state);
    QML_CHECK_NULL(amplitudes);
    QML_CHECK_ARG(count == state->dim, "qml_statevec_amplitudes: count %zu is not 2^%u = %llu", count,
                  state->n_qubits, (unsigned long long)state->dim);
    memcpy(amplitudes, state->amplitudes, 2 * count * sizeof(double));
    qml__ok();
    return QML_OK;
}

const double *qml_statevec_data(const qml_statevec *state)
{
    return state ? state->amplitudes : NULL;
}

int qml_statevec_probabilities(const qml_statevec *state, double *probabilities, size_t count)
{
    QML_CHECK_NULL(state);
    QML_CHECK_NULL(probabilities);
    QML_CHECK_ARG(count == state->dim, "qml_statevec_probabilities: count %zu is not 2^%u = %llu", count,
                  state->n_qubits, (unsigned long long)state->dim);
    const double *a = state->amplitudes;
    for (size_t i = 0; i < count; i++)
        probabilities[i] = a[2 * i] * a[2 * i] + a[2 * i + 1] * a[2 * i + 1];
    qml__ok();
    return QML_OK;
}

/* Shared checks of run/apply_gate. */
static int check_run_inputs(const qml_statevec *state, const qml_circuit *circuit, const double *weights,
                            size_t n_weights, const double *features, size_t n_features, const char *caller)
{
    QML_CHECK_ARG(state != NULL, "%s: argument 'state' is NULL", caller);
    QML_CHECK_ARG(circuit != NULL, "%s: argument 'circuit' is NULL", caller);
    QML_CHECK_ARG(circuit->n_qubits == state->n_qubits, "%s: circuit has %u qubits, state has %u", caller,
                  circuit->n_qubits, state->n_qubits);
    /* sizes, and that every weight and feature the circuit reads is finite */
    return qml__circuit_check_inputs(circuit, weights, n_weights, features, n_features, caller);
}

int qml_statevec_run(qml_statevec *state, const qml_circuit *circuit, const double *weights, size_t n_weights,
                     const double *features, size_t n_features)
{
    int status = check_run_inputs(state, circuit, weights, n_weights, features, n_features, __func__);
    if (status)
        return status;
    unsigned width = qml__fusion_width(state->n_qubits);
    for (size_t g = 0; g < circuit->n_gates; g++) {
        const qml__gate *gate = &circuit->gates[g];
        double theta = qml__gate_is_parametrised(gate->kind) ? qml__gate_angle(gate, weights, features) : 0.0;
        if (!isfinite(theta))
            return qml__error(QML_ERR_INVALID_ARGUMENT, "qml_statevec_run: gate %zu has angle %g", g, theta);
        if (!width)
            qml__statevec_apply(state, gate, theta, false);
    }
    /* large states: fused blocks (fusion.c), after every angle was checked */
    if (width)
        qml__statevec_run_fused(state, circuit, 0, circuit->n_gates, weights, features, width, false, -1);
    qml__ok();
    return QML_OK;
}

int qml_statevec_apply_gate(qml_statevec *state, const qml_circuit *circuit, size_t index, const double *weights,
                            size_t n_weights, const double *features, size_t n_features)
{
    int status = check_run_inputs(state, circuit, weights, n_weights, features, n_features, __func__);
    if (status)
        return status;
    if (index >= circuit->n_gates)
        return qml__error(QML_ERR_OUT_OF_RANGE, "qml_statevec_apply_gate: gate %zu out of range for %zu gates",
                          index, circuit->n_gates);
    const qml__gate *gate = &circuit->gates[index];
    double theta = qml__gate_is_parametrised(gate->kind) ? qml__gate_angle(gate, weights, features) : 0.0;
    if (!isfinite(theta))
        return qml__error(QML_ERR_INVALID_ARGUMENT, "qml_statevec_apply_gate: gate %zu has angle %g", index, theta);
    qml__statevec_apply(state, gate, theta, false);
    qml__ok();
    return QML_OK;
}

static int check_observable(const qml_statevec *state, const qml_pauli_sum *observable, const char *caller)
{
    QML_CHECK_ARG(state != NULL, "%s: argument 'state' is NULL", caller);
    QML_CHECK_ARG(observable != NULL, "%s: argument 'observable' is NULL", caller);
    QML_CHECK_ARG(observable->n_qubits <= state->n_qubits, "%s: observable on %u qubits, state has %u", caller,
                  observable->n_qubits, state->n_qubits);
    for (size_t t = 0; t < observable->n_terms; t++)
        QML_CHECK_ARG(isfinite(observable->coeff[t]), "%s: coefficient of term %zu is %g", caller, t,
                      observable->coeff[t]);
    return QML_OK;
}

int qml_statevec_expectation(const qml_statevec *state, const qml_pauli_sum *observable, double *value)
{
    int status = check_observable(state, observable, __func__);
    if (status)
        return status;
    QML_CHECK_NULL(value);
    double result = 0.0;
    if (observable->n_terms > 0) {
        uint64_t *scratch = expectation_scratch(observable->n_terms);
        if (!scratch)
            return qml__oom("qml_statevec_expectation: term groups");
        result = expectation_with(state, observable, scratch);
        qml__free(scratch);
    }
    *value = result;
    qml__ok();
    return QML_OK;
}

int qml_statevec_inner(const qml_statevec *a, const qml_statevec *b, double *re, double *im)
{
    QML_CHECK_NULL(a);
    QML_CHECK_NULL(b);
    QML_CHECK_NULL(re);
    QML_CHECK_NULL(im);
    QML_CHECK_ARG(a->n_qubits == b->n_qubits, "qml_statevec_inner: states on %u and %u qubits", a->n_qubits,
                  b->n_qubits);
    qml__statevec_inner(a, b, re, im);
    qml__ok();
    return QML_OK;
}

/* ---- sampling ------------------------------------------------------------ */

/* cumulative[i] = p_0 + ... + p_i, summed in index order. */
static double *cumulative_probabilities(const qml_statevec *state)
{
    double *cumulative = qml__malloc(qml__mul_size((size_t)state->dim, sizeof(double)));
    if (!cumulative)
        return NULL;
    const double *a = state->amplitudes;
    double sum = 0.0;
    for (size_t i = 0; i < state->dim; i++) {
        sum += a[2 * i] * a[2 * i] + a[2 * i + 1] * a[2 * i + 1];
        cumulative[i] = sum;
    }
    return cumulative;
}

/* The first index whose cumulative probability exceeds u * total: outcome i
 * has probability p_i / total, and zero-probability outcomes are never drawn. */
static uint64_t draw(const double *cumulative, size_t dim, struct qml_rng *rng)
{
    double r = qml__rng_uniform(rng) * cumulative[dim - 1];
    size_t lo = 0, hi = dim - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cumulative[mid] > r)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int qml_statevec_sample(const qml_statevec *state, uint64_t seed, size_t shots, uint64_t *outcomes)
{
    QML_CHECK_NULL(state);
    QML_CHECK_ARG(shots == 0 || outcomes != NULL, "qml_statevec_sample: outcomes is NULL for %zu shots", shots);
    QML_CHECK_SHOTS(shots, "qml_statevec_sample");
    if (shots == 0) {
        qml__ok();
        return QML_OK;
    }
    double *cumulative = cumulative_probabilities(state);
    if (!cumulative)
        return qml__oom("qml_statevec_sample: cumulative probabilities");
    struct qml_rng rng;
    qml__rng_init(&rng, seed, 0);
    for (size_t s = 0; s < shots; s++)
        outcomes[s] = draw(cumulative, (size_t)state->dim, &rng);
    qml__free(cumulative);
    qml__ok();
    return QML_OK;
}

/* Rotate `state` so that measuring Z on each qubit measures the basis
 * (x, z) of a qubit-wise commuting group: H for X, S^dagger then H for Y
 * (H S^dagger Y S H = Z). */
static void rotate_to_basis(qml_statevec *state, uint64_t x, uint64_t z)
{
    const double r2 = 0.70710678118654752440084436210485;
    const double h[8] = {r2, 0, r2, 0, r2, 0, -r2, 0};
    const double minus_i[2] = {0.0, -1.0};
    for (unsigned q = 0; q < state->n_qubits; q++) {
        uint64_t b = (uint64_t)1 << q;
        if (!(x & b))
            continue;
        if (z & b)
            qml__apply_diagonal(state, 0, b, minus_i, minus_i);
        qml__apply_pair(state, &q, 1, 0, b, QML__PAIR_REAL, h);
    }
}

int qml_statevec_estimate(const qml_statevec *state, const qml_pauli_sum *observable, size_t shots, uint64_t seed,
                          double *estimate, double *stderr_out)
{
    int status = check_observable(state, observable, __func__);
    if (status)
        return status;
    QML_CHECK_NULL(estimate);
    QML_CHECK_ARG(shots >= 2, "qml_statevec_estimate: %zu shots; at least 2 are needed for a standard error", shots);
    QML_CHECK_SHOTS(shots, "qml_statevec_estimate");
    const size_t n = observable->n_terms;
    const unsigned words = observable->words;
    double constant = 0.0, value = 0.0, variance = 0.0;
    if (n == 0) {
        *estimate = 0.0;
        if (stderr_out)
            *stderr_out = 0.0;
        qml__ok();
        return QML_OK;
    }
    /* Greedy qubit-wise commuting groups: a term joins the first group whose
     * basis agrees with it on every qubit both act on. */
    size_t *group_of = qml__malloc(qml__mul_size(n, sizeof(size_t)));
    uint64_t *basis = qml__malloc(qml__mul_size(n, 2 * sizeof(uint64_t)));
    qml_statevec *rotated = NULL;
    double *cumulative = NULL;
    if (!group_of || !basis) {
        status = qml__oom("qml_statevec_estimate: term groups");
        goto done;
    }
    size_t n_groups = 0;
    for (size_t t = 0; t < n; t++) {
        uint64_t x = observable->x[t * words], z = observable->z[t * words];
        group_of[t] = SIZE_MAX;
        if ((x | z) == 0) {
            constant += observable->coeff[t];
            continue;
        }
        for (size_t g = 0; g < n_groups; g++) {
            uint64_t common = (x | z) & (basis[2 * g] | basis[2 * g + 1]);
            if (((x ^ basis[2 * g]) & common) == 0 && ((z ^ basis[2 * g + 1]) & common) == 0) {
                group_of[t] = g;
                basis[2 * g] |= x;
                basis[2 * g + 1] |= z;
                break;
            }
        }
        if (group_of[t] == SIZE_MAX) {
            basis[2 * n_groups] = x;
            basis[2 * n_groups + 1] = z;
            group_of[t] = n_groups++;
        }
    }
    if (n_groups > 0) {
        status = statevec_alloc(&rotated, state->n_qubits, __func__);
        if (status)
            goto done;
        rotated->n_threads = state->n_threads;
    }
    for (size_t g = 0; g < n_groups; g++) {
        memcpy(rotated->amplitudes, state->amplitudes, (size_t)(2 * state->dim) * sizeof(double));
        rotate_to_basis(rotated, basis[2 * g], basis[2 * g + 1]);
        qml__free(cumulative);
        cumulative = cumulative_probabilities(rotated);
        if (!cumulative) {
            status = qml__oom("qml_statevec_estimate: cumulative probabilities");
            goto done;
        }
        /* Group g uses stream g + 1 of the seed; per shot the group's value is
         * v = sum_t c_t (-1)^{|b & support_t|}; its mean estimates the group's
         * part of <O>, its sample variance / shots the squared error. Welford's
         * update keeps the variance accurate. */
        struct qml_rng rng;
        qml__rng_init(&rng, seed, g + 1);
        double mean = 0.0, m2 = 0.0;
        for (size_t s = 0; s < shots; s++) {
            uint64_t b = draw(cumulative, (size_t)state->dim, &rng);
            double v = 0.0;
            for (size_t t = 0; t < n; t++)
                if (group_of[t] == g) {
                    uint64_t support = observable->x[t * words] | observable->z[t * words];
                    v += parity64(b & support) ? -observable->coeff[t] : observable->coeff[t];
                }
            double delta = v - mean;
            mean += delta / (double)(s + 1);
            m2 += delta * (v - mean);
        }
        value += mean;
        variance += m2 / (double)(shots - 1) / (double)shots;
    }
    *estimate = constant + value;
    if (stderr_out)
        *stderr_out = sqrt(variance);
    status = QML_OK;
    qml__ok();
done:
    qml__free(cumulative);
    qml_statevec_free(rotated);
    qml__free(basis);
    qml__free(group_of);
    return status;
}

/*
 * statevec_diag.c: the diagonal kernels of the statevector, a_i *=
 * d[parity(i & zmask)] for every i with (i & cmask) == cmask (Z, S, T,
 * phase, RZ, CZ, CRZ, RZZ, the diagonal part of Pauli evolutions, global
 * phases). statevec.c chooses the kernel for each gate.
 *
 * Both walks visit only the amplitudes whose controls are set, in address
 * order: the control bits are deposited into a compressed index, so a CZ
 * on qubits 3 and 8 reads a quarter of the state and never walks past the
 * rest. A walk that skips memory prefetches, in its own order, the lines
 * it will touch DIAG_AHEAD amplitudes later (docs/simulator.md, "Pair
 * kernels"): without it, CZ 3 8 at 24 qubits took longer than a sweep over
 * the whole state, and RZZ on qubit 3, walking its blocks line by line,
 * three times as long.
 */
#include "internal.h"

#include <string.h>

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* An AVX2 build of the walks (two amplitudes per vector), chosen at run
 * time; the same operations lane by lane as the two-lane code, so the same
 * bits (no FMA: the products are rounded as in the portable path). */
#if (defined(__x86_64__) || defined(__i386__)) && defined(QML_HAVE_V2D) && defined(__has_builtin)
#if __has_builtin(__builtin_cpu_supports)
#define DIAG_AVX2 1
typedef double diag_v4d __attribute__((vector_size(32)));
#endif
#endif

/* Prefetch distance, in amplitudes of the walk (32 KiB of touched data),
 * and the unit of the run walk that each prefetch covers. */
#define DIAG_AHEAD ((size_t)2048)
#define DIAG_UNIT ((size_t)64)
/* Walk as two streams (scale_lines2) from this many amplitudes on (64 KiB;
 * smaller states are in L1 or L2, where the walk does not matter). */
#define HALVES_MIN_ITEMS ((size_t)1 << 12)

typedef struct diag_job {
    double *amplitudes;
    uint64_t zmask, cmask;
    unsigned n_ctrl;           /* control bits the walk deposits (all: run walk; those >= block_bits: block walk) */
    unsigned ctrl[64];         /* ascending, as positions in the walk's index */
    size_t n_items;            /* amplitudes (run walk) or blocks (block walk) visited */
    unsigned run_bits;         /* >= 4: run walk, runs of 2^run_bits amplitudes share a phase */
    double d[2][2];            /* phase by parity */
    bool negate;               /* run walk: the phase is exactly -1 */
    bool prefetch;
    bool same_lines;           /* block walk: every line of the state has the phases of line 0 */
    bool in_order;             /* block walk: each line has the phases of line 0 under parity h or h ^ 1 */
    bool all_lines;            /* block walk, not in_order: every line in address order, its own phases */
    bool real_phases;          /* every phase is real (CZ): a product per number suffices */
    bool halves;               /* items k and k + n_items / 2 line by line in lockstep (scale_lines2) */
    unsigned line_flips;       /* ... bit l: line l of a block under h ^ 1 */
    size_t chunk;              /* block walk: blocks per chunk (contiguous, one parity) */
    /* block walk: blocks of 2^block_bits amplitudes (2..5) below the gate's
     * other bits, the phases of a block by the parity of the bits above
     * it, 4 doubles each ({dr, dr, -di, di}); lines whose 4 phases are all
     * exactly 1 are skipped */
    unsigned block_bits;
    uint64_t zh;               /* zmask's bits at block_bits and above */
    double block[2][128];
    bool identity[2][8];
    double wide[2][128];       /* the phases of `block` for diag_v4d: per line {dr0, dr0, dr1, dr1},
                                * {-di0, di0, -di1, di1}, then the same for amplitudes 2, 3 */
    bool avx2;                 /* run the AVX2 build of the walks */
    unsigned n_lines;          /* lines of a block not skipped under both parities (prefetch) */
    unsigned lines[8];
} diag_job;

static inline unsigned parity64(uint64_t v)
{
    return (unsigned)__builtin_parityll(v);
}

static void run_parallel(const qml_statevec *state, size_t n_items, size_t grain, qml__range_fn fn, void *context)
{
    unsigned workers = state->dim >= QML__PARALLEL_MIN_DIM ? state->n_threads : 1;
    qml__parallel_for(workers, n_items, grain, fn, context);
}

/* a[l] *= (dr + i di) for l in [0, count): the arithmetic of every phase
 * multiplication of the diagonal kernels. Written as {ar, ai} * {dr, dr} +
 * {ai, ar} * {-di, di} so that the compiler pairs both halves in one vector
 * operation (the same bits as ar dr - ai di, ar di + ai dr). */
static ALWAYS_INLINE void scale_run(double *restrict a, size_t count, double dr, double di, bool wide)
{
    const double ndi = -di;
#if defined(DIAG_AVX2)
    if (wide) {
        /* count is even (runs of at least 16 amplitudes) */
        const diag_v4d d = {dr, dr, dr, dr}, e = {ndi, di, ndi, di};
        for (size_t l = 0; l < count; l += 2) {
            diag_v4d x;
            memcpy(&x, a + 2 * l, sizeof x);
            x = x * d + __builtin_shufflevector(x, x, 1, 0, 3, 2) * e;
            memcpy(a + 2 * l, &x, sizeof x);
        }
        return;
    }
#else
    (void)wide;
#endif
    for (size_t l = 0; l < count; l++) {
        double ar = a[2 * l], ai = a[2 * l + 1];
        a[2 * l] = ar * dr + ai * ndi;
        a[2 * l + 1] = ai * dr + ar * di;
    }
}

/* a[l] = -a[l]: a phase of exactly -1 (Z, CZ), one operation per number. */
static inline void negate_run(double *restrict a, size_t count)
{
    /* count is a multiple of 4 (runs are at least 16 amplitudes) */
    for (size_t l = 0; l < 2 * count; l += 8)
        for (unsigned u = 0; u < 8; u++)
            a[l + u] = -a[l + u];
}

#if defined(DIAG_AVX2)
/* One line of 4 amplitudes at p times its phases, the 16 doubles of a
 * diag_job.wide table at w ({d01, e01, d23, e23}), two amplitudes per
 * vector: {ar, ai} {dr, dr} + {ai, ar} {-di, di} lane by lane, the bits
 * of the two-lane code. The table by pointer (vectors by value change the
 * ABI of a function built without AVX: -Wpsabi); inlined in a loop, its
 * loads are hoisted out (p and w do not alias). */
static ALWAYS_INLINE void diag_line_v4d(double *restrict p, const double *restrict w)
{
    diag_v4d d01, e01, d23, e23, x01, x23;
    memcpy(&d01, w, sizeof d01);
    memcpy(&e01, w + 4, sizeof e01);
    memcpy(&d23, w + 8, sizeof d23);
    memcpy(&e23, w + 12, sizeof e23);
    memcpy(&x01, p, sizeof x01);
    memcpy(&x23, p + 4, sizeof x23);
    x01 = x01 * d01 + __builtin_shufflevector(x01, x01, 1, 0, 3, 2) * e01;
    x23 = x23 * d23 + __builtin_shufflevector(x23, x23, 1, 0, 3, 2) * e23;
    memcpy(p, &x01, sizeof x01);
    memcpy(p + 4, &x23, sizeof x23);
}
#endif

/* `count` lines of 4 amplitudes, `stride` doubles apart, all with the
 * phases of one line, kept in registers: position u multiplied by the
 * phase stored at t[4u..4u+3] as {dr, dr, -di, di} (w: the same for
 * diag_v4d, see diag_job.wide). The two-lane code computes {ar, ai} {dr,
 * dr} + {ai, ar} {-di, di}, the same bits as the scalar loop (gcc left
 * that one scalar). */
static ALWAYS_INLINE void scale_lines(double *restrict a, size_t count, size_t stride, const double *restrict t,
                                       const double *restrict w, bool wide)
{
#if defined(DIAG_AVX2)
    if (wide) {
        for (size_t k = 0; k < count; k++)
            diag_line_v4d(a + stride * k, w);
        return;
    }
#else
    (void)w, (void)wide;
#endif
#if defined(QML_HAVE_V2D)
    const qml__v2d d0 = qml__load_v2d(t), e0 = qml__load_v2d(t + 2), d1 = qml__load_v2d(t + 4), e1 = qml__load_v2d(t + 6);
    const qml__v2d d2 = qml__load_v2d(t + 8), e2 = qml__load_v2d(t + 10), d3 = qml__load_v2d(t + 12), e3 = qml__load_v2d(t + 14);
    for (size_t k = 0; k < count; k++) {
        double *restrict p = a + stride * k;
        const qml__v2d x0 = qml__load_v2d(p), x1 = qml__load_v2d(p + 2), x2 = qml__load_v2d(p + 4), x3 = qml__load_v2d(p + 6);
        qml__store_v2d(p, x0 * d0 + qml__swap_if(x0, true) * e0);
        qml__store_v2d(p + 2, x1 * d1 + qml__swap_if(x1, true) * e1);
        qml__store_v2d(p + 4, x2 * d2 + qml__swap_if(x2, true) * e2);
        qml__store_v2d(p + 6, x3 * d3 + qml__swap_if(x3, true) * e3);
    }
#else
    for (size_t k = 0; k < count; k++) {
        double *restrict p = a + stride * k;
        for (unsigned u = 0; u < 4; u++) {
            double ar = p[2 * u], ai = p[2 * u + 1];
            p[2 * u] = ar * t[4 * u] + ai * t[4 * u + 2];
            p[2 * u + 1] = ai * t[4 * u + 1] + ar * t[4 * u + 3];
        }
    }
#endif
}

/* scale_lines on two streams in lockstep, line k of `a` (phases t, w) then
 * line k of `b` (phases tb, wb): the same operations per line, so the
 * same bits. One sweep over a state as two streams half a state apart,
 * alternating line by line, ran about 10 % faster than one in address
 * order on the machine we measured (the in-place limit's "swap_halves"
 * is such a sweep); alternating by 1..4 KiB ran slower than one (each
 * switch meets a page the hardware prefetcher has not followed). */
static ALWAYS_INLINE void scale_lines2(double *restrict a, double *restrict b, size_t count, const double *restrict t,
                                       const double *restrict w, const double *restrict tb,
                                       const double *restrict wb, bool wide)
{
#if defined(DIAG_AVX2)
    if (wide) {
        for (size_t k = 0; k < count; k++) {
            diag_line_v4d(a + 8 * k, w);
            diag_line_v4d(b + 8 * k, wb);
        }
        return;
    }
#else
    (void)wide;
#endif
    for (size_t k = 0; k < count; k++) {
        scale_lines(a + 8 * k, 1, 8, t, w, false);
        scale_lines(b + 8 * k, 1, 8, tb, wb, false);
    }
}

/* The line tables of scale_lines for one phase d on all 4 amplitudes. */
static ALWAYS_INLINE void diag_uniform_table(const double *d, double t[16], double w[16])
{
    for (unsigned u = 0; u < 4; u++) {
        t[4 * u] = t[4 * u + 1] = d[0];
        t[4 * u + 2] = -d[1];
        t[4 * u + 3] = d[1];
    }
    for (unsigned u = 0; u < 4; u += 2) {
        w[4 * u] = w[4 * u + 1] = w[4 * u + 2] = w[4 * u + 3] = d[0];
        w[4 * u + 4] = w[4 * u + 6] = -d[1];
        w[4 * u + 5] = w[4 * u + 7] = d[1];
    }
}

/* The run walk: items are the amplitudes whose controls are set, in units
 * of at most DIAG_UNIT (ranges are whole units: grains, runs and the item
 * count are multiples of it, or smaller runs of 16..32). */
static ALWAYS_INLINE void diag_runs(const diag_job *job, size_t begin, size_t end, bool wide)
{
    double *a = job->amplitudes;
    const size_t run_length = (size_t)1 << job->run_bits;
    const size_t unit = run_length < DIAG_UNIT ? run_length : DIAG_UNIT;
    for (size_t k = begin; k < end; k += unit) {
#if defined(__GNUC__)
        if (job->prefetch && k + DIAG_AHEAD < job->n_items) {
            const double *f = a + 2 * (qml__deposit_zeros(k + DIAG_AHEAD, job->ctrl, job->n_ctrl) | job->cmask);
            for (size_t d = 0; d < 2 * unit; d += 8)
                __builtin_prefetch(f + d, 1);
        }
#endif
        if (job->halves) {
            /* no controls: unit k of each half, line by line in lockstep */
            const uint64_t i = k, j = k + job->n_items / 2;
            const double *di = job->d[parity64(i & job->zmask)], *dj = job->d[parity64(j & job->zmask)];
            double t[16], w[16], tb[16], wb[16];
            diag_uniform_table(di, t, w);
            diag_uniform_table(dj, tb, wb);
            scale_lines2(a + 2 * i, a + 2 * j, unit / 4, t, w, tb, wb, wide);
            continue;
        }
        const uint64_t i = qml__deposit_zeros(k, job->ctrl, job->n_ctrl) | job->cmask;
        if (job->negate) {
            negate_run(a + 2 * i, unit);
        } else {
            const double *d = job->d[parity64(i & job->zmask)];
            scale_run(a + 2 * i, unit, d[0], d[1], wide);
        }
    }
}

/* The block walk: items are the blocks whose control bits above the block
 * are set, in chunks of at most `chunk` blocks that are contiguous and
 * share their phases (the chunk stops below the walk's lowest control or
 * parity bit); each chunk line by line with the line's 4 phases in
 * registers (a chunk is at most 16 blocks, 8 KiB: it stays in L1 between
 * its lines; block by block with the phases reloaded cost twice the
 * instructions). */
static ALWAYS_INLINE void diag_blocks(const diag_job *job, size_t begin, size_t end, bool wide)
{
    double *a = job->amplitudes;
    const unsigned bb = job->block_bits, lines = 1u << (bb - 2);
    const uint64_t ch = job->cmask & ~(((uint64_t)1 << bb) - 1);
    const size_t ahead = DIAG_AHEAD >> bb, chunk = job->chunk, stride = (size_t)2 << bb;
    if (job->same_lines) {
        /* every line has the phases of line 0 (a gate on qubits 0, 1 only) */
        if (job->halves)
            scale_lines2(a + stride * begin, a + stride * (begin + job->n_items / 2), (end - begin) * lines,
                         job->block[0], job->wide[0], job->block[0], job->wide[0], wide);
        else
            scale_lines(a + stride * begin, (end - begin) * lines, 8, job->block[0], job->wide[0], wide);
        return;
    }
    if (job->halves) {
        /* in_order, no controls: chunk k of each half, with the phases of
         * its own parity (line l under the other parity where line_flips
         * has bit l) */
        const size_t half = job->n_items / 2;
        for (size_t k = begin; k < end; k += chunk) {
            const uint64_t i = (uint64_t)k << bb, j = (uint64_t)(k + half) << bb;
            const unsigned h = parity64(i & job->zh), g = parity64(j & job->zh);
            if (!job->line_flips) {
                scale_lines2(a + 2 * i, a + 2 * j, chunk << (bb - 2), job->block[h], job->wide[h], job->block[g],
                             job->wide[g], wide);
                continue;
            }
            for (size_t m = 0; m < (chunk << (bb - 2)); m++) {
                const unsigned f = (job->line_flips >> (m & (lines - 1))) & 1u;
                scale_lines2(a + 2 * i + 8 * m, a + 2 * j + 8 * m, 1, job->block[h ^ f], job->wide[h ^ f],
                             job->block[g ^ f], job->wide[g ^ f], wide);
            }
        }
        return;
    }
    /* ranges are whole chunks: grains are multiples of 16 blocks */
    for (size_t k = begin; k < end; k += chunk) {
#if defined(__GNUC__)
        if (job->prefetch && k + ahead < job->n_items) {
            const double *f = a + 2 * ((qml__deposit_zeros(k + ahead, job->ctrl, job->n_ctrl) << bb) | ch);
            for (size_t j = 0; j < chunk; j++)
                for (unsigned l = 0; l < job->n_lines; l++)
                    __builtin_prefetch(f + stride * j + 8 * job->lines[l], 1);
        }
#endif
        const uint64_t i = (qml__deposit_zeros(k, job->ctrl, job->n_ctrl) << bb) | ch;
        const unsigned h = parity64(i & job->zh);
        double *p = a + 2 * i;
        if (job->in_order) {
            /* the chunk's lines in address order */
            if (!job->line_flips) {
                if (!job->identity[h][0])
                    scale_lines(p, chunk << (bb - 2), 8, job->block[h], job->wide[h], wide);
            } else {
                for (size_t j = 0; j < chunk; j++)
                    for (unsigned l = 0; l < lines; l++) {
                        const unsigned g = h ^ ((job->line_flips >> l) & 1u);
                        scale_lines(p + stride * j + 8 * l, 1, 8, job->block[g], job->wide[g], wide);
                    }
            }
            continue;
        }
        if (job->all_lines) {
            /* every line of the chunk in address order, lines whose phases
             * are all 1 included (multiplied by exactly 1) */
#if defined(DIAG_AVX2)
            if (wide && job->real_phases && lines == 4) {
                /* real phases (CZ: 1 and -1) on blocks of 4 lines: the 8
                 * vectors {dr, dr, dr', dr'} of a block in registers, one
                 * product per vector (3.5 instead of 6 instructions per
                 * amplitude with a table reloaded per line) */
                const double *w = job->wide[h];
                diag_v4d r[8];
                for (unsigned v = 0; v < 8; v++)
                    memcpy(&r[v], w + 8 * v, sizeof r[v]);
                for (size_t j = 0; j < chunk; j++) {
                    double *restrict q = p + stride * j;
                    for (unsigned v = 0; v < 8; v++) {
                        diag_v4d x;
                        memcpy(&x, q + 4 * v, sizeof x);
                        x = x * r[v];
                        memcpy(q + 4 * v, &x, sizeof x);
                    }
                }
                continue;
            }
#endif
            for (size_t j = 0; j < chunk; j++)
                for (unsigned l = 0; l < lines; l++)
                    scale_lines(p + stride * j + 8 * l, 1, 8, job->block[h] + 16 * l, job->wide[h] + 16 * l, wide);
            continue;
        }
        for (unsigned l = 0; l < lines; l++)
            if (!job->identity[h][l])
                scale_lines(p + 8 * l, chunk, stride, job->block[h] + 16 * l, job->wide[h] + 16 * l, wide);
    }
}

static ALWAYS_INLINE void diag_walk(const diag_job *job, size_t begin, size_t end, bool wide)
{
    if (job->run_bits >= 4)
        diag_runs(job, begin, end, wide);
    else
        diag_blocks(job, begin, end, wide);
}

#if defined(DIAG_AVX2)
__attribute__((target("avx2"))) static void diag_walk_avx2(const diag_job *job, size_t begin, size_t end)
{
    diag_walk(job, begin, end, true);
}

#endif

static void diag_range(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const diag_job *job = context;
#if defined(DIAG_AVX2)
    if (job->avx2) {
        diag_walk_avx2(job, begin, end);
        return;
    }
#endif
    diag_walk(job, begin, end, false);
}

int qml__diagonal_path_override = -1;
int qml__diagonal_walk_override = -1;

/* The bits of `mask` at `from` and above, ascending, less `from`. */
static unsigned mask_bits(uint64_t mask, unsigned from, unsigned *bits)
{
    unsigned count = 0;
    for (unsigned b = from; b < 64; b++)
        if ((mask >> b) & 1u)
            bits[count++] = b - from;
    return count;
}

void qml__apply_diagonal(qml_statevec *state, uint64_t zmask, uint64_t cmask, const double d0[2], const double d1[2])
{
    diag_job job = {.amplitudes = state->amplitudes, .zmask = zmask, .cmask = cmask};
#if defined(DIAG_AVX2)
    job.avx2 = qml__diagonal_path_override != 0 && qml__cpu_avx2();
#endif
    job.d[0][0] = d0[0], job.d[0][1] = d0[1];
    job.d[1][0] = d1[0], job.d[1][1] = d1[1];
    if (state->dim < 4) {
        /* 1 qubit: each amplitude its own phase */
        for (uint64_t i = 0; i < state->dim; i++)
            if ((i & cmask) == cmask) {
                const double *d = job.d[parity64(i & zmask)];
                double *p = state->amplitudes + 2 * i, ar = p[0], ai = p[1];
                p[0] = ar * d[0] - ai * d[1];
                p[1] = ar * d[1] + ai * d[0];
            }
        return;
    }
    /* Runs up to the lowest qubit involved (the whole state for a global phase). */
    const uint64_t involved = zmask | cmask;
    job.run_bits = involved ? (unsigned)__builtin_ctzll(involved) : state->n_qubits;
    if (job.run_bits >= 4) {
        job.negate = d0[0] == -1.0 && d0[1] == 0.0 && d1[0] == -1.0 && d1[1] == 0.0;
        job.n_ctrl = mask_bits(cmask, 0, job.ctrl);
        job.n_items = (size_t)(state->dim >> job.n_ctrl);
        job.prefetch = job.n_ctrl > 0;
        job.halves = qml__diagonal_walk_override != 0 && !job.n_ctrl && !job.negate &&
                     job.n_items >= HALVES_MIN_ITEMS;
        run_parallel(state, job.halves ? job.n_items / 2 : job.n_items, QML__PARALLEL_GRAIN, diag_range, &job);
        return;
    }
    /* The block: past the gate's bits below 5 (at least a line). */
    unsigned bb = 2;
    for (unsigned q = 0; q < 5 && q < state->n_qubits; q++)
        if ((involved >> q) & 1u)
            bb = q + 1 > bb ? q + 1 : bb;
    /* at least 16 amplitudes (4 lines): the walk's set-up per block is
     * then shared by 4 lines */
    job.same_lines = (involved >> 2) == 0;
    if (bb < 4)
        bb = state->n_qubits < 4 ? state->n_qubits : 4;
    job.block_bits = bb;
    const uint64_t low = ((uint64_t)1 << bb) - 1;
    job.zh = zmask & ~low;
    for (unsigned h = 0; h < 2; h++) {
        for (unsigned l = 0; l < (1u << (bb - 2)); l++)
            job.identity[h][l] = true;
        for (uint64_t u = 0; u <= low; u++) {
            bool selected = (u & cmask & low) == (cmask & low);
            const double *d = job.d[parity64(u & zmask & low) ^ h];
            double dr = selected ? d[0] : 1.0, di = selected ? d[1] : 0.0;
            job.block[h][4 * u] = job.block[h][4 * u + 1] = dr;
            job.block[h][4 * u + 2] = -di;
            job.block[h][4 * u + 3] = di;
            if (dr != 1.0 || di != 0.0)
                job.identity[h][u >> 2] = false;
        }
    }
    for (unsigned h = 0; h < 2; h++)
        for (uint64_t u = 0; u <= low; u += 2) {
            /* amplitudes u, u + 1: {dr, dr, dr', dr'}, {-di, di, -di', di'} */
            const double *t = job.block[h] + 4 * u;
            double *w = job.wide[h] + 4 * u;
            w[0] = t[0], w[1] = t[1], w[2] = t[4], w[3] = t[5];
            w[4] = t[2], w[5] = t[3], w[6] = t[6], w[7] = t[7];
        }
    job.n_lines = 0;
    for (unsigned l = 0; l < (1u << (bb - 2)); l++)
        if (!job.identity[0][l] || !job.identity[1][l])
            job.lines[job.n_lines++] = l;
    job.n_ctrl = mask_bits(cmask, bb, job.ctrl);
    job.n_items = (size_t)(state->dim >> bb >> job.n_ctrl);
    /* Gates with no control among the line bits of the block (2..bb-1):
     * line l of a block has the phases of line 0 under parity h, or h ^ 1
     * when the parity of l's bits in zmask is odd (RZZ 0 23, RZZ 1 8 and
     * CZ 0 23: every line alike; RZZ 2 3, RZZ 0 3: two sets). The chunk is
     * walked in address order, prefetched only where the walk skips memory
     * in stretches shorter than 2^12 amplitudes (64 KiB: a control below
     * 12). Walked line by line (below), a strided pattern the hardware
     * prefetchers do not follow, RZZ 0 23, RZZ 1 8 and CZ 0 23 took
     * 1.3-1.6x the time of the run walk that came before the block walk
     * (n = 24, alternating, loaded). Gates with controls among the line
     * bits (CZ 2 3) skip lines: line by line, always prefetched. */
    job.in_order = (cmask & low) < 4;
    job.line_flips = 0;
    for (unsigned l = 0; l < (1u << (bb - 2)); l++)
        job.line_flips |= parity64(((uint64_t)l << 2) & zmask) << l;
    const uint64_t high_ctrl = cmask & ~low;
    /* every line only when the gate changes at least half of them: CZ 2 3
     * (one line in four) took 0.47-0.49 of the time of the every-line walk
     * when skipping the others (AMD EPYC, Zen 3; n = 24, interleaved,
     * medians of 9, load 7 on 2 cores), CZ 1 3 and CZ 0 2 (every other
     * line) 0.94-1.07 */
    const bool half_lines = 2 * job.n_lines >= (1u << (bb - 2));
    job.all_lines = !job.in_order && !high_ctrl && half_lines && qml__diagonal_walk_override != 0;
    job.real_phases = d0[1] == 0.0 && d1[1] == 0.0;
    if (job.all_lines) {
        job.n_lines = 1u << (bb - 2);
        for (unsigned l = 0; l < job.n_lines; l++)
            job.lines[l] = l;
    }
    /* Lines skipped in a regular pattern the hardware prefetchers follow:
     * the touched lines of a block are one contiguous run of at least half
     * of them (CZ 3 23: lines 2 and 3 of every 16 amplitudes). Software
     * prefetch only added traffic there: CZ 3 23, 3 16, 3 12 and 23 3 took
     * 0.86-0.92 of the time without it (n = 24, interleaved, medians of
     * 15), CRZ 23 3 0.99; CZ 2 3 (one line in four) needs it (1.07 without). */
    bool contiguous_half = false;
    if (!job.in_order && !job.all_lines && job.n_lines > 0) {
        const unsigned first = job.lines[0], last = job.lines[job.n_lines - 1];
        contiguous_half = last - first + 1 == job.n_lines && 2 * job.n_lines >= (1u << (bb - 2));
    }
    if (qml__diagonal_walk_override == 5)
        contiguous_half = false;
    job.prefetch = (!job.in_order && !job.all_lines && !contiguous_half) ||
                   (high_ctrl && __builtin_ctzll(high_ctrl) < 12);
    /* a chunk ends below the lowest control bit (in the walk's index) and
     * below the lowest parity bit above the block (its position in the
     * walk's index: less the control bits under it) */
    unsigned low_bit = job.n_ctrl ? job.ctrl[0] : 64;
    if (job.zh) {
        const unsigned z = (unsigned)__builtin_ctzll(job.zh);
        unsigned below = 0;
        for (unsigned c = 0; c < job.n_ctrl; c++)
            below += job.ctrl[c] + bb < z;
        if (z - bb - below < low_bit)
            low_bit = z - bb - below;
    }
    job.chunk = 16;
    if (low_bit < 4)
        job.chunk = (size_t)1 << low_bit;
    if (job.chunk > job.n_items)
        job.chunk = job.n_items;
    const size_t grain = QML__PARALLEL_GRAIN >> bb;
    job.halves = qml__diagonal_walk_override != 0 && !job.n_ctrl && (job.same_lines || job.in_order) &&
                 (!job.line_flips || qml__diagonal_walk_override != 6) && job.n_items >= HALVES_MIN_ITEMS >> bb;
    run_parallel(state, job.halves ? job.n_items / 2 : job.n_items, grain, diag_range, &job);
}

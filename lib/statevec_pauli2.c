/*
 * statevec_pauli2.c: the two-qubit Pauli rotations with an X or Y part on
 * both qubits (RXX, RYY, exp(-i theta/2 X_a Y_b), ...: weight-2 strings P,
 * any global phase), a_i' = alpha a_i + gamma_u a_(i ^ x) with u the
 * values of the two bits of i: one pass, each group of four amplitudes
 * (i, i|A, i|B, i|A|B) in registers. statevec.c chooses it for such gates.
 *
 * The general Pauli kernel (statevec.c) walked these in runs up to the
 * higher qubit with a sign per line and always prefetched both streams;
 * RXX ran at 0.5-0.8 of a full in-place sweep at n = 24. Here, two
 * amplitudes per vector (AVX2 where the CPU has it, chosen at run time;
 * the same operations lane by lane in the portable path, so the same
 * bits), the four coefficients constant per vector position, and the walk
 * of docs/simulator.md ("Two-qubit Pauli rotations").
 */
#include "internal.h"

#include <string.h>

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && defined(__has_builtin)
#if __has_builtin(__builtin_cpu_supports) && __has_builtin(__builtin_shufflevector)
#define P2_AVX2 1
typedef double p2_v4d __attribute__((vector_size(32)));
#endif
#endif

/* The forms of the update (alpha, gamma complex in general): REAL, alpha
 * and the gammas real (X_a Y_b); IMAGINARY, alpha real and the gammas
 * imaginary (RXX, RYY); GENERAL, anything else (a folded global phase). */
typedef enum p2_form { P2_REAL, P2_IMAGINARY, P2_GENERAL } p2_form;

typedef struct p2_job {
    double *amplitudes;
    unsigned lo, hi;           /* the two qubits, lo < hi */
    p2_form form;
    double alpha[2];
    double gamma[4][2];        /* by u = (bit lo of i) + 2 (bit hi of i) */
    /* the walk, in units (lo = 0: one pair of vectors X at i, Y at i + B;
     * lo >= 1: four vectors X, X + A, X + B, X + A + B), see p2_plan */
    size_t n_units;
    uint64_t half;             /* > 0: unit k + n_units / 2 (this many doubles on) in lockstep with unit k */
    unsigned stride;           /* doubles from one unit of a run to the next */
    unsigned n_rest;           /* unit bits that split runs */
    unsigned rest[2];          /* their positions in the unit index, ascending */
    unsigned shift;            /* vector index = deposit(k, rest) << shift */
    uint64_t a_off, b_off;     /* offsets of bits lo and hi, in doubles */
    int prefetch;              /* 0 none; 1 in address order (hi 5..10); 2 two streams (lo 5..10, hi >= 11) */
    int locality;              /* of the prefetches: 3 into L1, 2 into L2 */
    size_t ahead;              /* doubles */
    unsigned block_bits;       /* prefetch 2: log2 of the units per block of 2^(hi+1) amplitudes */
    bool avx2;
} p2_job;

int qml__pauli2_path_override = -1;
int qml__pauli2_walk_override = -1;

/* Units from which the walk goes as two streams (1 Ki units: 64..128 KiB;
 * below, the state is in L1 or L2 and the walk does not matter). */
#define P2_HALVES_MIN_UNITS ((size_t)1 << 10)

static void run_parallel(const qml_statevec *state, size_t n_items, size_t grain, qml__range_fn fn, void *context)
{
    unsigned workers = state->dim >= QML__PARALLEL_MIN_DIM ? state->n_threads : 1;
    qml__parallel_for(workers, n_items, grain, fn, context);
}

/* ---- the arithmetic --------------------------------------------------------
 * One amplitude a and its partner b: a' = ((ar a + {-ai, ai} swap(a)) + gr
 * b) + {-gi, gi} swap(b) in the general form, ar a + gr b (real), ar a +
 * {-gi, gi} swap(b) (imaginary); swap exchanges re and im. Lane by lane
 * the same operations in both paths (no FMA: each product is rounded). */
static ALWAYS_INLINE void p2_scalar(double *restrict a, const double *restrict b, double *restrict out,
                                    const double alpha[2], const double g[2], p2_form form)
{
    const double xr = a[0], xi = a[1], yr = b[0], yi = b[1];
    if (form == P2_REAL) {
        out[0] = alpha[0] * xr + g[0] * yr;
        out[1] = alpha[0] * xi + g[0] * yi;
    } else if (form == P2_IMAGINARY) {
        out[0] = alpha[0] * xr + -g[1] * yi;
        out[1] = alpha[0] * xi + g[1] * yr;
    } else {
        out[0] = ((alpha[0] * xr + -alpha[1] * xi) + g[0] * yr) + -g[1] * yi;
        out[1] = ((alpha[0] * xi + alpha[1] * xr) + g[0] * yi) + g[1] * yr;
    }
}

/* One unit at vector index w (4 doubles per vector), portable. */
static ALWAYS_INLINE void p2_unit_scalar(const p2_job *job, double *x, p2_form form, bool lo0)
{
    double in[4][4], out[4][4];
    if (lo0) {
        /* X = (u 0, u 1), Y = X + B = (u 2, u 3); u pairs with u ^ 3 */
        double *y = x + job->b_off;
        memcpy(in[0], x, 4 * sizeof(double));
        memcpy(in[1], y, 4 * sizeof(double));
        p2_scalar(in[0], in[1] + 2, out[0], job->alpha, job->gamma[0], form);
        p2_scalar(in[0] + 2, in[1], out[0] + 2, job->alpha, job->gamma[1], form);
        p2_scalar(in[1], in[0] + 2, out[1], job->alpha, job->gamma[2], form);
        p2_scalar(in[1] + 2, in[0], out[1] + 2, job->alpha, job->gamma[3], form);
        memcpy(x, out[0], 4 * sizeof(double));
        memcpy(y, out[1], 4 * sizeof(double));
        return;
    }
    double *p[4] = {x, x + job->a_off, x + job->b_off, x + job->a_off + job->b_off};
    for (unsigned u = 0; u < 4; u++)
        memcpy(in[u], p[u], 4 * sizeof(double));
    for (unsigned u = 0; u < 4; u++)
        for (unsigned l = 0; l < 2; l++)
            p2_scalar(in[u] + 2 * l, in[u ^ 3] + 2 * l, out[u] + 2 * l, job->alpha, job->gamma[u], form);
    for (unsigned u = 0; u < 4; u++)
        memcpy(p[u], out[u], 4 * sizeof(double));
}

#if defined(P2_AVX2)
/* The constants of one vector position: {gr, gr, gr', gr'}, {-gi, gi,
 * -gi', gi'} for the vector's two amplitudes. */
typedef struct p2_wide {
    p2_v4d ar, ai, gr[4], gi[4];
} p2_wide;

/* x' from x and its partner vector y (already in x's amplitude order),
 * written to `out` (vectors pass by pointer: a 32-byte vector returned by
 * value changes the ABI of code built without AVX) */
static ALWAYS_INLINE void p2_row(double *out, const p2_v4d *x, const p2_v4d *y, const p2_v4d *ar, const p2_v4d *ai,
                                 const p2_v4d *gr, const p2_v4d *gi, p2_form form)
{
    const p2_v4d ys = __builtin_shufflevector(*y, *y, 1, 0, 3, 2);
    p2_v4d r;
    if (form == P2_REAL)
        r = *ar * *x + *gr * *y;
    else if (form == P2_IMAGINARY)
        r = *ar * *x + *gi * ys;
    else
        r = ((*ar * *x + *ai * __builtin_shufflevector(*x, *x, 1, 0, 3, 2)) + *gr * *y) + *gi * ys;
    memcpy(out, &r, sizeof r);
}

static ALWAYS_INLINE void p2_unit_wide(const p2_job *job, const p2_wide *c, double *x, p2_form form, bool lo0)
{
    if (lo0) {
        double *y = x + job->b_off;
        p2_v4d vx, vy;
        memcpy(&vx, x, sizeof vx);
        memcpy(&vy, y, sizeof vy);
        /* the partners in the other vector's opposite amplitude */
        const p2_v4d px = __builtin_shufflevector(vy, vy, 2, 3, 0, 1), py = __builtin_shufflevector(vx, vx, 2, 3, 0, 1);
        p2_row(x, &vx, &px, &c->ar, &c->ai, &c->gr[0], &c->gi[0], form);
        p2_row(y, &vy, &py, &c->ar, &c->ai, &c->gr[1], &c->gi[1], form);
        return;
    }
    double *xa = x + job->a_off, *xb = x + job->b_off, *xab = xa + job->b_off;
    p2_v4d v0, v1, v2, v3;
    memcpy(&v0, x, sizeof v0);
    memcpy(&v1, xa, sizeof v1);
    memcpy(&v2, xb, sizeof v2);
    memcpy(&v3, xab, sizeof v3);
    p2_row(x, &v0, &v3, &c->ar, &c->ai, &c->gr[0], &c->gi[0], form);
    p2_row(xa, &v1, &v2, &c->ar, &c->ai, &c->gr[1], &c->gi[1], form);
    p2_row(xb, &v2, &v1, &c->ar, &c->ai, &c->gr[2], &c->gi[2], form);
    p2_row(xab, &v3, &v0, &c->ar, &c->ai, &c->gr[3], &c->gi[3], form);
}

static ALWAYS_INLINE void p2_constants(const p2_job *job, p2_wide *out)
{
    p2_wide c;
    c.ar = (p2_v4d){job->alpha[0], job->alpha[0], job->alpha[0], job->alpha[0]};
    c.ai = (p2_v4d){-job->alpha[1], job->alpha[1], -job->alpha[1], job->alpha[1]};
    /* lo >= 1: both amplitudes of a vector share u; lo = 0: vector 0 holds
     * u = 0, 1 and vector 1 (Y) u = 2, 3 */
    for (unsigned v = 0; v < 4; v++) {
        const unsigned u0 = job->lo == 0 ? 2 * (v & 1) : v, u1 = job->lo == 0 ? 2 * (v & 1) + 1 : v;
        const double *g0 = job->gamma[u0], *g1 = job->gamma[u1];
        c.gr[v] = (p2_v4d){g0[0], g0[0], g1[0], g1[0]};
        c.gi[v] = (p2_v4d){-g0[1], g0[1], -g1[1], g1[1]};
    }
    *out = c;
}
#endif

/* ---- the walk ----------------------------------------------------------------
 * Units k in [begin, end): runs of units `stride` doubles apart, split at the
 * unit bits `rest`. Prefetch 1 (hi at 5..10: the two streams 0.5..16 KiB
 * apart in short runs, which the hardware prefetchers follow badly, as for
 * one-qubit gates there): the state in address order, `ahead` doubles past
 * the unit's share of it (a block of 2^(hi+1) amplitudes is walked whole
 * before the next, and each unit covers the same number of its bytes).
 * Prefetch 2 (lo at 5..10 under hi >= 11): each of the two streams so. */
static ALWAYS_INLINE void p2_walk(const p2_job *job_in, size_t begin, size_t end, p2_form form, bool wide, bool lo0,
                                   int pf, bool two)
{
    /* a copy the stores to the state cannot alias: its fields stay in
     * registers (the library is built at -O2, without loop unswitching:
     * the lo = 0 case, the prefetch and the two streams are constants of
     * each instantiation) */
    const p2_job job_copy = *job_in, *job = &job_copy;
    double *a = job->amplitudes;
    const size_t run_length = job->n_rest ? (size_t)1 << job->rest[0] : (size_t)-1;
    const size_t unit_doubles = lo0 ? 8 : 16; /* of the state, per unit */
    const size_t stride = job->stride, ahead = job->ahead;
    const uint64_t half = job->half, b_off = job->b_off;
    const unsigned block_bits = job->block_bits;
    const bool l1 = job->locality == 3;
#if defined(P2_AVX2)
    p2_wide c;
    memset(&c, 0, sizeof c);
    if (wide)
        p2_constants(job, &c);
#else
    (void)wide;
#endif
    for (size_t k = begin; k < end;) {
        size_t run = end - k;
        if (job->n_rest && run > run_length - (k & (run_length - 1)))
            run = run_length - (k & (run_length - 1));
        double *x = a + 4 * (qml__deposit_zeros(k, job->rest, job->n_rest) << job->shift);
        for (size_t j = 0; j < run; j++, x += stride) {
#if defined(__GNUC__)
            if (pf == 1) {
                const double *f = a + (k + j) * unit_doubles + ahead;
                if (l1) {
                    __builtin_prefetch(f, 1, 3);
                    if (!lo0)
                        __builtin_prefetch(f + 8, 1, 3);
                } else {
                    __builtin_prefetch(f, 1, 2);
                    if (!lo0)
                        __builtin_prefetch(f + 8, 1, 2);
                }
                if (two) {
                    __builtin_prefetch(f + half, 1, 2);
                    if (!lo0)
                        __builtin_prefetch(f + half + 8, 1, 2);
                }
            } else if (pf == 2) {
                /* the lower half of block (k + j) >> block_bits, at the unit's share */
                const size_t u = k + j, b = u >> block_bits, r = u & (((size_t)1 << block_bits) - 1);
                const double *f = a + (((b << block_bits) << 1) + r) * (unit_doubles / 2) + ahead;
                __builtin_prefetch(f, 1, 3);
                __builtin_prefetch(f + b_off, 1, 3);
            }
#else
            (void)pf, (void)l1, (void)block_bits, (void)b_off, (void)ahead, (void)unit_doubles;
#endif
#if defined(P2_AVX2)
            if (wide) {
                p2_unit_wide(job, &c, x, form, lo0);
                if (two)
                    p2_unit_wide(job, &c, x + half, form, lo0);
                continue;
            }
#endif
            p2_unit_scalar(job, x, form, lo0);
            if (two)
                p2_unit_scalar(job, x + half, form, lo0);
        }
        k += run;
    }
}

/* One instantiation per form, lo = 0 or not, prefetch mode and streams. */
static ALWAYS_INLINE void p2_shapes(const p2_job *job, size_t begin, size_t end, p2_form form, bool wide)
{
    const bool lo0 = job->lo == 0, two = job->half != 0;
#define P2_SHAPE(LO0)                                                                                              \
    do {                                                                                                           \
        if (job->prefetch == 2)                                                                                    \
            p2_walk(job, begin, end, form, wide, LO0, 2, false);                                                   \
        else if (job->prefetch == 1 && two)                                                                        \
            p2_walk(job, begin, end, form, wide, LO0, 1, true);                                                    \
        else if (job->prefetch == 1)                                                                               \
            p2_walk(job, begin, end, form, wide, LO0, 1, false);                                                   \
        else if (two)                                                                                              \
            p2_walk(job, begin, end, form, wide, LO0, 0, true);                                                    \
        else                                                                                                       \
            p2_walk(job, begin, end, form, wide, LO0, 0, false);                                                   \
    } while (0)
    if (lo0)
        P2_SHAPE(true);
    else
        P2_SHAPE(false);
#undef P2_SHAPE
}

static ALWAYS_INLINE void p2_forms(const p2_job *job, size_t begin, size_t end, bool wide)
{
    switch (job->form) {
    case P2_REAL: p2_shapes(job, begin, end, P2_REAL, wide); break;
    case P2_IMAGINARY: p2_shapes(job, begin, end, P2_IMAGINARY, wide); break;
    case P2_GENERAL: p2_shapes(job, begin, end, P2_GENERAL, wide); break;
    }
}

#if defined(P2_AVX2)
__attribute__((target("avx2"))) static void p2_forms_avx2(const p2_job *job, size_t begin, size_t end)
{
    p2_forms(job, begin, end, true);
}

#endif

static void p2_range(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const p2_job *job = context;
#if defined(P2_AVX2)
    if (job->avx2) {
        p2_forms_avx2(job, begin, end);
        return;
    }
#endif
    p2_forms(job, begin, end, false);
}

/* The unit walk of `job` on n qubits: in vector indices (two amplitudes
 * each), the unit's first vector X has the bits lo - 1 and hi - 1 clear
 * (only hi - 1 for lo = 0, where X holds both values of bit 0). Fixed bits
 * 0, 1, ... at the bottom become the stride (vector X of unit k + 1 is
 * 2^t vectors on), the others split runs. */
static void p2_plan(p2_job *job, unsigned n_qubits)
{
    unsigned fixed[2], n_fixed = 0;
    if (job->lo > 0)
        fixed[n_fixed++] = job->lo - 1;
    fixed[n_fixed++] = job->hi - 1;
    unsigned t = 0;
    while (t < n_fixed && fixed[t] == t)
        t++;
    job->shift = t;
    job->stride = 4u << t;
    job->n_rest = 0;
    for (unsigned f = t; f < n_fixed; f++)
        job->rest[job->n_rest++] = fixed[f] - t;
    job->n_units = (size_t)1 << (n_qubits - (job->lo == 0 ? 2 : 3));
    job->a_off = (uint64_t)2 << job->lo;
    job->b_off = (uint64_t)2 << job->hi;
    job->prefetch = 0;
#if defined(__GNUC__)
    const unsigned unit_bits = job->lo == 0 ? 2 : 3; /* amplitudes per unit */
    if (job->hi >= 5 && job->hi <= 10) {
        job->prefetch = 1;
        job->locality = job->hi >= 9 ? 2 : 3;
        job->ahead = (size_t)(job->hi >= 9 ? 16 : 8) << job->hi;
    } else if (job->hi >= 11 && job->lo >= 5 && job->lo <= 10) {
        job->prefetch = 2;
        job->locality = 3;
        job->ahead = (size_t)4 << job->lo;
        job->block_bits = job->hi + 1 - unit_bits;
    }
    if (job->prefetch && job->ahead < 2048)
        job->ahead = 2048;
#endif
}

bool qml__apply_pauli2(qml_statevec *state, uint64_t x, uint64_t z, const double alpha[2], const double beta[2])
{
    if (qml__pauli2_path_override == 0 || __builtin_popcountll(x) != 2 || (z & ~x) != 0 || state->n_qubits < 3)
        return false;
    p2_job job = {.amplitudes = state->amplitudes};
    job.lo = (unsigned)__builtin_ctzll(x);
    job.hi = 63u - (unsigned)__builtin_clzll(x);
    job.alpha[0] = alpha[0], job.alpha[1] = alpha[1];
    /* (P a)_i = i^y (-1)^|(i ^ x) & z| a_(i ^ x), y = |x & z| */
    static const double ipow[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
    const unsigned y = (unsigned)__builtin_popcountll(x & z);
    const double g[2] = {beta[0] * ipow[y][0] - beta[1] * ipow[y][1], beta[0] * ipow[y][1] + beta[1] * ipow[y][0]};
    bool real = alpha[1] == 0.0, imaginary = alpha[1] == 0.0;
    for (unsigned u = 0; u < 4; u++) {
        const unsigned v = u ^ 3u;
        const uint64_t partner = (v & 1u ? (uint64_t)1 << job.lo : 0) | (v & 2u ? (uint64_t)1 << job.hi : 0);
        const double s = __builtin_parityll(partner & z) ? -1.0 : 1.0;
        job.gamma[u][0] = s * g[0];
        job.gamma[u][1] = s * g[1];
        real = real && job.gamma[u][1] == 0.0;
        imaginary = imaginary && job.gamma[u][0] == 0.0;
    }
    job.form = real ? P2_REAL : imaginary ? P2_IMAGINARY : P2_GENERAL;
#if defined(P2_AVX2)
    job.avx2 = qml__pauli2_path_override != 1 && qml__cpu_avx2();
#endif
    p2_plan(&job, state->n_qubits);
    /* Two streams half a state apart, unit by unit in lockstep, where the
     * walk is one stream (the higher qubit at 10 or below; above, its
     * halves are two streams already, and four ran slower): a sweep so
     * ran about 10 % faster than one in address order on the machine we
     * measured (docs/simulator.md) */
    if (job.hi <= 10 && job.hi + 1 < state->n_qubits && job.n_units >= P2_HALVES_MIN_UNITS &&
        qml__pauli2_walk_override != 0)
        job.half = state->dim; /* doubles: amplitude bit n - 1 */
    run_parallel(state, job.half ? job.n_units / 2 : job.n_units, QML__PARALLEL_GRAIN, p2_range, &job);
    return true;
}

/*
 * internal.h: what the translation units of libqml share and callers never
 * see. Only qml.h is API; everything here may change in any release.
 * Cross-unit functions carry the qml__ prefix (a static archive exposes them).
 */
#ifndef QML_INTERNAL_H
#define QML_INTERNAL_H

#include "qml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define QML_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define QML_LIKELY(x) __builtin_expect(!!(x), 1)
#define QML_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define QML_PRINTF(f, a)
#define QML_LIKELY(x) (x)
#define QML_UNLIKELY(x) (x)
#endif

/* ---- errors (error.c) ---------------------------------------------------- */

/* Record `status` and a printf-style message for the calling thread; returns
 * `status` so that a failure path reads `return qml__error(QML_ERR_..., ...)`. */
int qml__error(int status, const char *format, ...) QML_PRINTF(2, 3);
/* The out-of-memory failure, with what was being allocated. */
int qml__oom(const char *what);
/* Mark the calling thread's last call as successful. */
void qml__ok(void);

/* Validation helpers that fail with QML_ERR_INVALID_ARGUMENT and a message
 * naming the function and the argument. */
#define QML_CHECK_ARG(cond, ...)                                              \
    do {                                                                      \
        if (QML_UNLIKELY(!(cond)))                                            \
            return qml__error(QML_ERR_INVALID_ARGUMENT, __VA_ARGS__);         \
    } while (0)
#define QML_CHECK_NULL(ptr)                                                   \
    QML_CHECK_ARG((ptr) != NULL, "%s: argument '%s' is NULL", __func__, #ptr)

/* ---- memory limits (memlimit.c) ------------------------------------------- */

/* The most this process may hold: the smallest of physical memory, its
 * cgroup's memory limit and the address space left under RLIMIT_AS;
 * UINT64_MAX when none can be told. `source` (may be NULL) names which. */
uint64_t qml__memory_available(const char **source);
/* QML_ERR_LIMIT with the numbers when `count` blocks of `block_bytes` (what
 * the call will hold at once, described by `what`, e.g. "statevectors of 30
 * qubits, 2 per worker x 4 workers") exceed qml__memory_available(); else
 * QML_OK. Call it before allocating. */
int qml__memory_check(uint64_t count, uint64_t block_bytes, const char *caller, const char *what, ...)
    QML_PRINTF(4, 5);

/* ---- numbers as text (numtext.c) ----------------------------------------- */

/* Every number the library reads or writes as text goes through these two,
 * with '.' as the decimal point whatever the caller's locale. */
#define QML__NUMBER_TEXT_MAX 32   /* enough for "%.17g" of any double */
/* strtod in the "C" locale: same syntax and rounding, '.' only. */
double qml__number_read(const char *text, const char **stop);
/* The shortest of %.15g/%.16g/%.17g that reads back as `value`, with '.';
 * returns the length written to `out` (NUL-terminated). */
size_t qml__number_write(double value, char out[QML__NUMBER_TEXT_MAX]);
/* Shot counts above QML_SHOTS_MAX (qml.h) are refused: a C caller's -1 is
 * 2^64 - 1 shots, which would never return. */
#define QML_CHECK_SHOTS(shots, caller)                                        \
    QML_CHECK_ARG((uint64_t)(shots) <= QML_SHOTS_MAX,                         \
                  "%s: %llu shots is above QML_SHOTS_MAX = 2^40", (caller),   \
                  (unsigned long long)(shots))

/* ---- memory (alloc.c) ---------------------------------------------------- */

void *qml__malloc(size_t size);
void *qml__calloc(size_t count, size_t size);  /* overflow-checked, zeroed */
void *qml__realloc(void *ptr, size_t size);
void qml__free(void *ptr);
/* count * size, or SIZE_MAX on overflow (which then fails to allocate). */
size_t qml__mul_size(size_t count, size_t size);
/* 64-byte aligned blocks for amplitude arrays; release with qml__aligned_free. */
void *qml__aligned_alloc(size_t size);
void qml__aligned_free(void *ptr);

/* A growable text buffer (formatting, reports). Failure is sticky: after an
 * allocation failure every append is a no-op and `failed` is set. */
typedef struct qml__buffer {
    char *data;
    size_t length;
    size_t capacity;
    bool failed;
} qml__buffer;
void qml__buffer_append(qml__buffer *buffer, const char *text, size_t length);
void qml__buffer_printf(qml__buffer *buffer, const char *format, ...) QML_PRINTF(2, 3);
void qml__buffer_release(qml__buffer *buffer);

/* Copy a caller's size-versioned options struct into the library's own:
 * min(src->size, dst_size) bytes are copied; bytes past dst_size that the
 * caller claims to have must be zero (an option this version does not know,
 * set to a non-default value, is an error, not silently ignored). `defaults`
 * fills whatever the caller's older struct lacks. */
int qml__options_copy(void *dst, size_t dst_size, const void *src, const void *defaults, const char *what);

/* ---- random numbers (rng.c) ---------------------------------------------- */

/* xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 2021). Exposed here so that units can keep
 * generators on the stack, one per sample. */
struct qml_rng {
    uint64_t s[4];
};
/* Stream `stream` of `seed`: the state is four outputs of SplitMix64 started
 * from a mix of both, so distinct (seed, stream) pairs give unrelated states. */
void qml__rng_init(struct qml_rng *rng, uint64_t seed, uint64_t stream);
uint64_t qml__rng_next(struct qml_rng *rng);
double qml__rng_uniform(struct qml_rng *rng);
double qml__rng_normal(struct qml_rng *rng);
uint64_t qml__rng_below(struct qml_rng *rng, uint64_t bound);

/* ---- threads (parallel.c) ------------------------------------------------- */

/* Number of online cores (1 if unknown). */
unsigned qml__cpu_count(void);
/* 0 means all cores; otherwise the count itself. */
unsigned qml__resolve_threads(unsigned requested);

/* Work on items [begin, end) by worker `worker` (0 = calling thread). */
typedef void (*qml__range_fn)(void *context, size_t begin, size_t end, unsigned worker);

/* Split [0, n_items) into n_workers contiguous ranges of whole `grain`s and
 * run them on n_workers threads (the calling thread takes range 0). The
 * split depends only on (n_items, n_workers, grain). A range whose thread
 * cannot be started runs on the calling thread, so the work is always done
 * when the call returns. Returns the number of ranges (>= 1). */
int qml__parallel_for(unsigned n_workers, size_t n_items, size_t grain, qml__range_fn fn, void *context);

/* ---- Pauli sums (pauli.c) ------------------------------------------------- */

/* A Pauli string is a pair of bit masks (x, z) of `words` 64-bit words:
 * qubit q is I (0,0), X (1,0), Y (1,1), Z (0,1). The string is
 * P(x, z) = prod_q i^{x_q z_q} X_q^{x_q} Z_q^{z_q}, so Y = i X Z exactly. */
struct qml_pauli_sum {
    unsigned n_qubits;
    unsigned words;      /* (n_qubits + 63) / 64 */
    size_t n_terms;
    size_t capacity;
    uint64_t *x;         /* n_terms * words, term-major */
    uint64_t *z;
    double *coeff;
    size_t *slots;       /* open-addressing hash: term index + 1, 0 = empty */
    size_t n_slots;      /* a power of two, or 0 */
};

/* The root of a's set in a union-find forest (parent[r] == r at a root),
 * halving the path on the way. */
static inline size_t qml__uf_find(size_t *parent, size_t a)
{
    while (parent[a] != a) {
        parent[a] = parent[parent[a]];
        a = parent[a];
    }
    return a;
}

/* Whether the processor runs AVX2: the run-time choice of the kernels that
 * have an AVX2 build (x86 compilers with __builtin_cpu_supports; elsewhere
 * no kernel has one and none asks). Not cached in a static: two threads
 * writing one would race, and the test is a few loads. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__has_builtin)
#if __has_builtin(__builtin_cpu_supports)
static inline bool qml__cpu_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#endif
#endif

static inline unsigned qml__pauli_words(unsigned n_qubits)
{
    return (n_qubits + 63u) / 64u;
}

/* sum += coeff * P(x, z); drops the term if it cancels to exactly 0. */
int qml__pauli_sum_add_masks(qml_pauli_sum *sum, double coeff, const uint64_t *x, const uint64_t *z);
/* Remove terms with |coeff| <= threshold (0 removes only exact zeros). */
void qml__pauli_sum_prune(qml_pauli_sum *sum, double threshold);
/* Index of the term (x, z), or SIZE_MAX. */
size_t qml__pauli_sum_find(const qml_pauli_sum *sum, const uint64_t *x, const uint64_t *z);
/* P(x1,z1) P(x2,z2) = i^phase P(x1^x2, z1^z2); returns phase mod 4. */
unsigned qml__pauli_product_phase(unsigned words, const uint64_t *x1, const uint64_t *z1,
                                  const uint64_t *x2, const uint64_t *z2);
/* 1 if the strings anticommute, 0 if they commute. */
int qml__pauli_anticommute(unsigned words, const uint64_t *x1, const uint64_t *z1,
                           const uint64_t *x2, const uint64_t *z2);

/* ---- circuits (circuit.c) ------------------------------------------------ */

typedef struct qml__gate {
    qml_gate_kind kind;
    unsigned n_targets;          /* qubits the gate acts on (1..3, or the support of a Pauli gate) */
    unsigned qubits[3];          /* for kinds other than PAULI_*: in the order given */
    /* angle = constant + weight_scale * w[weight] + feature_scale * x[feature] */
    double constant;
    double weight_scale;
    double feature_scale;
    long weight;                 /* QML_NONE if none */
    long feature;                /* QML_NONE if none */
    double matrix[32];           /* UNITARY1 (8 doubles) / UNITARY2 (32 doubles), row-major re/im */
    qml_pauli_sum *generator;    /* PAULI_ROTATION / PAULI_EVOLUTION: owned copy of H */
} qml__gate;

struct qml_circuit {
    unsigned n_qubits;
    size_t n_gates;
    size_t capacity;
    qml__gate *gates;
    size_t n_weights;            /* max weight index + 1 */
    size_t n_features;           /* max feature index + 1 */
    size_t n_parametrised;
};

static inline bool qml__gate_is_parametrised(qml_gate_kind kind)
{
    return kind >= QML_GATE_RX && kind <= QML_GATE_PAULI_EVOLUTION;
}

/* The gate's angle for given weights and features (arrays already checked
 * to be long enough by the caller). */
static inline double qml__gate_angle(const qml__gate *gate, const double *weights, const double *features)
{
    double theta = gate->constant;
    if (gate->weight >= 0)
        theta += gate->weight_scale * weights[gate->weight];
    if (gate->feature >= 0)
        theta += gate->feature_scale * features[gate->feature];
    return theta;
}

/* Check that weight and feature arrays are long enough for `circuit`. */
int qml__circuit_check_inputs(const qml_circuit *circuit, const double *weights, size_t n_weights,
                              const double *features, size_t n_features, const char *caller);

/* ---- circuits, continued (circuit.c; used by ansatz.c) -------------------- */

/* Validate a generator for exp(-i theta/2 H) on `circuit`: same qubit count,
 * at least one term, finite coefficients, pairwise commuting terms
 * (QML_ERR_UNSUPPORTED naming the first anticommuting pair). */
int qml__circuit_check_generator(const qml_circuit *circuit, const qml_pauli_sum *generator, const char *caller);
/* qml_circuit_add_pauli_rotation without the generator check, for a
 * generator that passed qml__circuit_check_generator (the angle is checked). */
int qml__circuit_append_pauli(qml_circuit *circuit, const qml_pauli_sum *generator, double constant, long weight,
                              double weight_scale, long feature, double feature_scale);

/* The counts of a circuit before a multi-gate append (a template), so that a
 * failure part-way can restore the circuit exactly: rollback frees the
 * generators of the gates appended since the mark. */
typedef struct qml__circuit_mark {
    size_t n_gates;
    size_t n_weights;
    size_t n_features;
    size_t n_parametrised;
} qml__circuit_mark;
qml__circuit_mark qml__circuit_mark_get(const qml_circuit *circuit);
void qml__circuit_rollback(qml_circuit *circuit, qml__circuit_mark mark);

/* The generator of parametrised gate `index` moved to the start of the
 * circuit through the fixed gates before it: V^dagger G V for V the product
 * of those fixed gates. With U = W_K R_K ... W_1 R_1 W_0 (R parametrised,
 * W fixed), U = (W_K ... W_0) prod_k exp(-i theta_k/2 V_k^dagger G_k V_k),
 * so these, not the raw G_k, generate the circuit's dynamical Lie algebra
 * when fixed entanglers sit between the rotations (e.g. the HEA's CZ
 * ladder). Exact for Clifford fixed gates (Paulis, H, S, SDG, SX, CNOT, CY,
 * CZ, SWAP, ISWAP, and Clifford UNITARY1/2 matrices); QML_ERR_NOT_APPLICABLE
 * if a T, TDG, Toffoli or non-Clifford matrix precedes the gate. The
 * weight version sums weight_scale * transported G over the gates reading
 * the weight. */
int qml__circuit_transported_generator(const qml_circuit *circuit, size_t index, qml_pauli_sum **out);
int qml__circuit_transported_weight_generator(const qml_circuit *circuit, long weight, qml_pauli_sum **out);
/* Every weight's transported generator at once (out[w] for w < n_weights,
 * each a new sum, zero for a weight no gate reads): one pass over the
 * circuit, the same sums as the per-weight function. */
int qml__circuit_transported_weight_generators(const qml_circuit *circuit, qml_pauli_sum **out);

/* ---- statevector (statevec.c) --------------------------------------------- */

/* The widest statevector: 2^40 amplitudes are 16 TiB. */
#define QML__STATEVEC_MAX_QUBITS 40u

struct qml_statevec {
    unsigned n_qubits;
    uint64_t dim;                /* 2^n_qubits */
    double *amplitudes;          /* 2 * dim doubles, interleaved re/im, 64-byte aligned */
    unsigned n_threads;          /* resolved (>= 1) */
    void *block;                 /* statevec.c: the allocation holding amplitudes (placed inside it) */
};

/* Apply gate g with angle theta (ignored for fixed gates); `inverse` applies
 * its adjoint instead (for parametrised gates the same as angle -theta). */
void qml__statevec_apply(qml_statevec *state, const qml__gate *gate, double theta, bool inverse);
/* out = G |in> for the generator G of a parametrised gate (out != in, same size). */
void qml__statevec_apply_generator(qml_statevec *out, const qml_statevec *in, const qml__gate *gate);
/* <a|b>, deterministic in the thread count (fixed-size chunks reduced in
 * order). Expectation values go through qml_statevec_expectation, which
 * reports a failed scratch allocation instead of hiding it. */
void qml__statevec_inner(const qml_statevec *a, const qml_statevec *b, double *re, double *im);
/* out = O |in> for a Pauli sum (out != in). */
void qml__statevec_apply_pauli_sum(qml_statevec *out, const qml_statevec *in, const qml_pauli_sum *observable);

/* ---- statevector kernels shared by statevec.c and statevec_pairs.c ------- */

/* Two-lane double vectors (GCC >= 12 and Clang: vector_size and
 * __builtin_shufflevector) for the loops the auto-vectoriser pairs wrongly;
 * every use has a plain C fallback. SSE2 or NEON width, so no target flag. */
#if defined(__GNUC__) && defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define QML_HAVE_V2D 1
typedef double qml__v2d __attribute__((vector_size(16)));

static inline qml__v2d qml__load_v2d(const double *p)
{
    qml__v2d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void qml__store_v2d(double *p, qml__v2d v)
{
    memcpy(p, &v, sizeof v);
}

/* {im, re} from {re, im} when `swap` (a constant after inlining) */
static inline __attribute__((always_inline)) qml__v2d qml__swap_if(qml__v2d v, bool swap)
{
    return swap ? __builtin_shufflevector(v, v, 1, 0) : v;
}
#endif
#endif

/* Kernels use the state's threads only from this many amplitudes (4 MiB)
 * on, in grains of this many items. */
#define QML__PARALLEL_MIN_DIM ((uint64_t)1 << 18)
#define QML__PARALLEL_GRAIN ((size_t)1 << 12)

/* Insert a 0 bit at each position of `fixed` (ascending). */
static inline uint64_t qml__deposit_zeros(uint64_t k, const unsigned *fixed, unsigned n_fixed)
{
    for (unsigned f = 0; f < n_fixed; f++) {
        uint64_t low = k & (((uint64_t)1 << fixed[f]) - 1);
        k = ((k >> fixed[f]) << (fixed[f] + 1)) | low;
    }
    return k;
}

static inline void qml__sort_bits(unsigned *bits, unsigned count)
{
    for (unsigned i = 1; i < count; i++)
        for (unsigned j = i; j > 0 && bits[j - 1] > bits[j]; j--) {
            unsigned t = bits[j];
            bits[j] = bits[j - 1];
            bits[j - 1] = t;
        }
}

/* A 2x2 matrix on the amplitude pairs (i | off0, i | off1), i over the
 * indices whose `bits` are 0 (statevec_pairs.c). GENERAL: complex matrix,
 * row-major interleaved; REAL: its real parts only (m[0], m[2], m[4], m[6]);
 * SWAP: exchange (m unused, may be NULL). */
typedef enum qml__pair_class { QML__PAIR_GENERAL, QML__PAIR_REAL, QML__PAIR_SWAP } qml__pair_class;
void qml__apply_pair(qml_statevec *state, const unsigned *bits, unsigned n_bits, uint64_t off0, uint64_t off1,
                     qml__pair_class cls, const double m[8]);
/* Tests only: 0 makes the pair kernels prefetch only the lines they touch
 * (a control on qubit 2 or 3), walk one stream (the octet walk over every
 * line) and walk runs of 8 pairs one run at a time; 7 keeps all of that
 * but leaves the control = 0 lines between runs of 8 pairs unwritten, 8
 * walks a control on the top qubit over a target on 0..2 as one stream, 9
 * computes an index per run of 8 or 16 pairs under a control at 12 and
 * above; -1 (the default) lets them choose. */
extern int qml__pair_walk_override;
/* Tests only: 0 makes the pair kernels' octet walk take its scalar path
 * for real matrices, 1 its portable vector path (no AVX2), and both the
 * run walks' scalar loops; -1 (the default) lets them choose. */
extern int qml__pair_path_override;
/* Tests only: 1 makes the pair kernels' walk for a target at 5..10 (alone
 * or under controls at 12 and above) prefetch each of its two streams on
 * its own, 0 in address order; -1 (the default) lets them choose. */
extern int qml__pair_stream_ahead_override;
/* Tests and `qml bench gate` only: the variants of the mid-qubit walk
 * (statevec_pairs.c, pair_mid_qubit); -1 (the default) lets it choose. */
extern int qml__pair_mid_override;
/* Tests and `qml bench gate` only: 0 makes the pair kernels' octet walk
 * prefetch in units of 32 blocks (the previous walk) instead of 4
 * (statevec_pairs.c, AHEAD_UNIT_BLOCKS); -1 (the default) lets it choose. */
extern int qml__pair_octet_override;

/* a_i *= d0 (even parity of i & zmask) or d1 (odd) for every i with
 * (i & cmask) == cmask (statevec_diag.c). */
void qml__apply_diagonal(qml_statevec *state, uint64_t zmask, uint64_t cmask, const double d0[2], const double d1[2]);
/* Tests only: 0 makes the diagonal kernels take their portable path even
 * where the CPU has AVX2; -1 (the default) lets them choose. */
extern int qml__diagonal_path_override;
/* Tests only: 0 makes the diagonal block walk skip the lines whose phases
 * are all 1 for gates with a control among a line's bits (the walk before
 * 0.2.0's every-line walk); 5 prefetches the skipping walk of one
 * contiguous run of lines per block as every other skipping walk is; 6
 * walks lines with two sets of phases (RZZ 1 3) as one stream instead of
 * two half a state apart; -1 (the default) walks every line, leaves that
 * run to the hardware and walks two streams wherever no control skips. */
extern int qml__diagonal_walk_override;
/* Tests only: 0 keeps the diagonal expectation's inner loop on its portable
 * path where the CPU has AVX2; -1 (the default) lets it choose. */
extern int qml__expect_path_override;

/* a <- (alpha I + beta P) a for a Pauli string P = i^|x & z| X^x Z^z of
 * weight 2 with an X or Y part on both its qubits (x has two bits, z only
 * bits of x) in one pass (statevec_pauli2.c); returns false, doing
 * nothing, for any other string or fewer than 3 qubits. */
bool qml__apply_pauli2(qml_statevec *state, uint64_t x, uint64_t z, const double alpha[2], const double beta[2]);
/* Tests only: 0 makes qml__apply_pauli2 decline (the general Pauli kernel
 * runs), 1 forces its portable path; -1 (the default) lets it choose. */
extern int qml__pauli2_path_override;
/* Tests only: 0 makes qml__apply_pauli2 walk the state as one stream in
 * address order; -1 (the default) as two where that is faster. */
extern int qml__pauli2_walk_override;

/* One backward step of the adjoint method for a gate that is a 2x2 matrix on
 * pairs: returns Im sum over the pairs of conj(lambda) . g psi (g: the
 * generator restricted to the pair, GENERAL layout), then applies `m` (of
 * class `cls`) to the pairs of both psi and lambda, in one pass over both
 * states. The sum adds fixed chunks in chunk order: the same bits for any
 * thread count. */
double qml__adjoint_pair_step(qml_statevec *psi, qml_statevec *lambda, const unsigned *bits, unsigned n_bits,
                              uint64_t off0, uint64_t off1, const double g[8], qml__pair_class cls,
                              const double m[8]);

/* Two consecutive backward steps of one-qubit RX/RY gates on distinct
 * qubits (a met first on the way back; y_*: RY, else RX; m_*: U^dagger),
 * in one pass over both states: d_theta[0], d_theta[1] are what two
 * qml__adjoint_pair_step calls give, to rounding (summed in another order). Returns false (nothing done)
 * where unsupported (no two-lane vectors, equal qubits). */
bool qml__adjoint_quad_step(qml_statevec *psi, qml_statevec *lambda, unsigned qubit_a, bool y_a, const double ma[8],
                            unsigned qubit_b, bool y_b, const double mb[8], double d_theta[2]);

/* ---- gate fusion (fusion.c) ---------------------------------------------- */

/* Fused blocks act on at most QML__FUSE_MAX_WIDTH qubits; qml_statevec_run
 * and the gradients' forward runs fuse to QML__FUSE_WIDTH qubits from
 * QML__FUSE_MIN_QUBITS qubits on (below, the state is in cache and the
 * gate-by-gate kernels are faster). docs/simulator.md, "Gate fusion". */
#define QML__FUSE_MAX_WIDTH 5u
#define QML__FUSE_WIDTH 3u
#define QML__FUSE_MIN_QUBITS 14u
/* Gates per fused block at most. */
#define QML__FUSE_MAX_GATES 32u
/* The fusion width for a state of n qubits (0: do not fuse). */
unsigned qml__fusion_width(unsigned n_qubits);
/* The best kernel path of this machine: 0 scalar, 1 portable vectors,
 * 2 AVX2 + FMA, 3 AVX-512 F + VL (the AVX2 source with 32 vector registers)
 * (runtime CPU checks). */
int qml__fusion_path(void);
/* Apply gates [begin, end) of `circuit` (angles already checked finite), or
 * with `inverse` their adjoint (gates end-1 .. begin, each inverted), fusing
 * blocks of at most `width` qubits; `path` < 0 picks qml__fusion_path(),
 * else a lower path is forced (tests). Returns the number of sweeps over the
 * state. No allocation. */
size_t qml__statevec_run_fused(qml_statevec *state, const qml_circuit *circuit, size_t begin, size_t end,
                               const double *weights, const double *features, unsigned width, bool inverse,
                               int path);
/* A planned block: its gates in application order (circuit indices; for an
 * inverse plan the circuit's last gate first) and the mask of its qubits;
 * mask 0 for a single gate that is never fused (Pauli gates, wider gates). */
typedef void (*qml__fuse_emit)(void *user, const size_t *gates, unsigned n_gates, uint64_t mask);
/* The plan qml__statevec_run_fused follows, block by block, handed to
 * `emit` instead of applied. Returns the number of blocks. No allocation. */
size_t qml__fusion_plan(const qml_circuit *circuit, size_t begin, size_t end, unsigned width, bool inverse,
                        qml__fuse_emit emit, void *user);

/* ---- the adjoint's backward blocks (fusion_adjoint.c) --------------------- */

/* One factor coeff * P(x, z) of a gate's generator (a sum of commuting Pauli
 * strings; circuits on a statevector have at most 62 qubits: one word). */
typedef struct qml__pauli_factor {
    double coeff;
    uint64_t x;
    uint64_t z;
} qml__pauli_factor;

/* A gate of a backward block and its generator's factors (none: the gate is
 * only un-applied). At most 2 factors, supported on the gate's qubits. */
typedef struct qml__adjoint_gate {
    size_t gate;
    const qml__pauli_factor *factors;
    size_t n_factors;
} qml__adjoint_gate;

/* One backward block of the adjoint sweep in one pass over psi and lambda:
 * `gates` (at most QML__FUSE_MAX_GATES, in backward order, every one of
 * them acting inside `mask`, at most QML__FUSE_MAX_WIDTH qubits) are taken
 * from first to last; for each, d[i] = Im <lambda| G_i |psi> at that point
 * (0 without factors), then U_i^dagger is applied to both states. The
 * state must have at least 2^(k+2) amplitudes for a k-qubit block.
 * `partials` (capacity in doubles) lets several threads reduce in a fixed
 * order; NULL or too small: one thread. `path` as for
 * qml__statevec_run_fused. No allocation. */
void qml__adjoint_block(qml_statevec *psi, qml_statevec *lambda, const qml_circuit *circuit,
                        const qml__adjoint_gate *gates, unsigned n_gates, uint64_t mask, const double *weights,
                        const double *features, double *partials, size_t partials_capacity, int path, double *d);
/* Tests only: false runs the fused blocks one by one (no cache tiles). */
extern bool qml__fusion_tiling;
/* The cache tiles of both fused sweeps: at most QML__TILE_BLOCKS
 * consecutive blocks, all on qubits below QML__TILE_BITS, are held back and
 * run tile by tile (2^13 amplitudes, 128 KiB, stay in L2; also the grain of
 * fusion_adjoint.c). */
#define QML__TILE_BLOCKS 8u
#define QML__TILE_BITS 13u
/* The backward's tile span: blocks on qubits below qml__tile_span_bits (at
 * least QML__TILE_BITS, at most QML__TILE_SPAN_MAX) are held back and run
 * on tiles of 2^span amplitudes, each 2^(span - 13) whole grains of every
 * block taken in grain order: the same bits for any span. 14 (2 x 256 KiB
 * for psi and lambda) lets the ladder's backward block on qubits 10..13
 * join the blocks below it (docs/simulator.md, "The adjoint's cost model").
 * Only tests may change it. */
#define QML__TILE_SPAN_MAX 16u
extern unsigned qml__tile_span_bits;
/* The same for the fused forward run's tiles (one state). */
extern unsigned qml__tile_span_forward_bits;
/* Gradients drop the gates outside the observable's backward light cone
 * (gradient.c, plan_light_cone); false: every gate is run (tests and the
 * bench compare the two). */
extern bool qml__gradient_light_cone;
/* For tests: the number of gates the statevector gradients keep for
 * `observable`, and (NULL if none was folded) the observable after the
 * trailing permutation gates were folded into it, owned by the caller. */
int qml__gradient_light_cone_plan(const qml_circuit *circuit, const qml_pauli_sum *observable, size_t *kept,
                                  qml_pauli_sum **folded);
static inline unsigned qml__tile_span_of(unsigned s)
{
    return s < QML__TILE_BITS ? QML__TILE_BITS : s > QML__TILE_SPAN_MAX ? QML__TILE_SPAN_MAX : s;
}
static inline unsigned qml__tile_span(void)
{
    return qml__tile_span_of(qml__tile_span_bits);
}
/* The backward sweep's tiles (one thread): d[b] gets block b's overlaps as
 * qml__adjoint_block's d. */
void qml__adjoint_tiled(qml_statevec *psi, qml_statevec *lambda, const qml_circuit *circuit,
                        const qml__adjoint_gate *const *gates, const unsigned *n_gates, const uint64_t *masks,
                        unsigned n_blocks, const double *weights, const double *features, double *const *d);
/* Tests only: the path every qml__adjoint_block call given `path` < 0 takes
 * (clamped to qml__fusion_path()); -1 (the default) lets it choose. */
extern int qml__adjoint_path_override;
/* Tests only: false makes every block load and store its groups through
 * the local copy (no edges: fusion_adjoint.c, adj_edge); the bits are the
 * same either way. true (the default) lets the block choose. */
extern bool qml__adjoint_edges;

/* ---- datasets and optimisers (dataset.c, optim.c) ------------------------ */

/* PRNG streams of the dataset and minibatch routines (documented in qml.h
 * and docs/datasets.md): ASCII tags, so that they never meet the small
 * stream numbers other units use per sample. */
#define QML__STREAM_MOONS UINT64_C(0x6d6f6f6e73)        /* "moons" */
#define QML__STREAM_CIRCLES UINT64_C(0x636972636c6573)  /* "circles" */
#define QML__STREAM_XOR UINT64_C(0x786f72)              /* "xor" */
#define QML__STREAM_SPLIT UINT64_C(0x73706c6974)        /* "split" */
#define QML__STREAM_SHUFFLE UINT64_C(0x73687566666c65)  /* "shuffle" (+ epoch) */

/* indices = a uniformly random permutation of 0..n-1 (Fisher-Yates from the
 * identity; n - 1 draws of qml__rng_below). */
void qml__permutation(size_t *indices, size_t n, struct qml_rng *rng);

struct qml_dataset {
    size_t n_rows;
    size_t n_features;
    double *features;            /* n_rows * n_features, row-major */
    int *labels;                 /* n_rows, each 0 or 1 */
};

/* The label qml_dataset_symmetric() gives a row x of n_features features
 * under `task` (a known task). */
int qml__symmetric_label(qml_symmetric_task task, const double *x, size_t n_features);

/* ---- finite-shot estimates (train.c) ------------------------------------- */

/* One finite-shot estimate, at the model's parameters, of the readout values
 * e(w, x_i) (values, count entries) and their weight gradients (gradients,
 * count * n_weights, row-major) for `count` rows (row i at rows + i *
 * n_features), as qml_model_train() uses them with shots > 0: SAMPLED by
 * parameter shift with `shots` samples per shifted circuit (row i's shift
 * seeds from seed + i, its value from stream "value" + i of seed), GAUSSIAN
 * as the exact values plus Gaussian noise (stream "noise" + i of seed).
 * Bitwise the same for any thread count. Inputs are the caller's to check. */
int qml__model_shot_estimate(const qml_model *model, const double *rows, size_t count, size_t n_features,
                             uint64_t shots, qml_shot_mode mode, uint64_t seed, unsigned n_threads, double *values,
                             double *gradients);

/* ---- error context (error.c): audit ------------------------------------- */

/* Prefix the calling thread's last message with `function` (a public
 * function that failed because a callee did), unless the message already
 * starts with that name; returns `status`. Messages then name the function
 * the caller called, and keep the callee's specifics after it. */
int qml__error_context(int status, const char *function);

/* ---- algebraic simulators (gsim.c, dicke.c, backend.c) -------------------- */

/* The statevector's own qubit limit (qml_statevec_create). */
#define QML__STATEVEC_MAX_QUBITS 40u

/* g-sim: a circuit of Pauli rotations compiled against the module of the
 * readout's strings (gsim.c). The circuit is borrowed and must outlive it.
 * Creation fails with QML_ERR_NOT_APPLICABLE (message says why) for a fixed
 * gate or a module above max_dim strings (0: no limit but the index's). */
typedef struct qml__gsim qml__gsim;
int qml__gsim_create(qml__gsim **out, const qml_circuit *circuit, const qml_pauli_sum *observable, size_t max_dim,
                     const char *caller);
void qml__gsim_free(qml__gsim *sim);
size_t qml__gsim_dim(const qml__gsim *sim);
/* The Pauli strings whose expectations a given initial state is read on
 * (dim on the string path; all terms of the basis on the Pauli-sum path). */
size_t qml__gsim_strings(const qml__gsim *sim);
/* e0 (dim doubles) = Tr(rho P_a) for rho = |0...0> (initial NULL) or a state. */
int qml__gsim_initial(const qml__gsim *sim, const qml_statevec *initial, double *e0);
size_t qml__gsim_work_doubles(const qml__gsim *sim);
/* Value and (if non-NULL) weight and feature gradients, n_weights and
 * n_features of the circuit's entries, overwritten. */
void qml__gsim_run(const qml__gsim *sim, const double *e0, double *work, const double *weights,
                   const double *features, double *value, double *weight_gradient, double *feature_gradient);

/* The symmetric subspace: n + 1 Dicke states (dicke.c); as g-sim. The
 * initial state is 2 (n + 1) doubles: n + 1 real parts, then the imaginary. */
/* For g-sim: the images V^dagger P V of X and Z on each qubit of a fixed
 * gate on <= 2 qubits (false if it is not Clifford), and with them the image
 * of a one-word string (masks updated in place; returns the sign +-1)
 * (circuit.c). */
bool qml__gate_clifford_images(const qml__gate *gate, uint64_t images[12]);
int qml__gate_clifford_conjugate(const qml__gate *gate, const uint64_t images[12], uint64_t *x, uint64_t *z);
/* Eigen-decomposition of the real symmetric a (N x N row-major, destroyed) by
 * cyclic Jacobi rotations (dicke.c): v gets the eigenvectors as columns. */
void qml__jacobi_eigen(size_t N, double *a, double *v, double *lambda);
typedef struct qml__dicke qml__dicke;
int qml__dicke_create(qml__dicke **out, const qml_circuit *circuit, const qml_pauli_sum *observable,
                      const char *caller);
void qml__dicke_free(qml__dicke *sim);
size_t qml__dicke_dim(const qml__dicke *sim);
int qml__dicke_initial(const qml__dicke *sim, const qml_statevec *initial, double *psi, const char *caller);
size_t qml__dicke_work_doubles(const qml__dicke *sim);
void qml__dicke_run(const qml__dicke *sim, const double *psi0, double *work, const double *weights,
                    const double *features, double *value, double *weight_gradient, double *feature_gradient);
/* psi (N = n + 1 Dicke amplitudes: N real parts, then N imaginary) <-
 * exp(-i theta/2 H) psi for H = cx sum X + cy sum Y + cz sum Z + czz sum Z Z,
 * through the same eigenvectors as a circuit's gates (for tests). */
int qml__dicke_evolve_collective(unsigned n, double cx, double cy, double cz, double czz, double theta,
                                 double *psi);

/* One of the two, with its initial state (backend.c). */
typedef struct qml__algsim {
    qml_backend kind;             /* GSIM or SYMMETRIC */
    const qml_circuit *circuit;   /* borrowed */
    qml__gsim *gsim;
    qml__dicke *dicke;
    double *initial;
    size_t work_doubles;          /* per row */
} qml__algsim;
/* INVALID_ARGUMENT unless backend is a qml_backend. */
int qml__backend_check(qml_backend backend, const char *caller);
/* *out = NULL (and QML_OK) when the statevector is to run: requested
 * STATEVECTOR, or AUTO where no algebraic simulator applies (n <= 40). */
int qml__algsim_create(qml__algsim **out, qml_backend requested, const qml_circuit *circuit,
                       const qml_pauli_sum *observable, const qml_statevec *initial, const char *caller);
void qml__algsim_free(qml__algsim *sim);
/* One row; `work` holds sim->work_doubles. */
void qml__algsim_run(const qml__algsim *sim, double *work, const double *weights, const double *features,
                     double *value, double *weight_gradient, double *feature_gradient);
/* qml_gradient_batch on an algebraic simulator (arguments checked). */
int qml__algsim_batch(const qml__algsim *sim, const double *weights, size_t n_weights, const double *rows,
                      size_t n_rows, size_t n_features, unsigned n_threads, qml_batch_reduction reduction,
                      double *values, double *weight_gradients);
/* The dispatch of qml_gradient: *handled = false when the statevector is to
 * run (options->backend STATEVECTOR, or AUTO choosing it). */
int qml__backend_gradient(const qml_circuit *circuit, const qml_pauli_sum *observable, const qml_statevec *initial,
                          const qml_gradient_options *options, const double *weights, const double *features,
                          double *value, double *weight_gradient, double *feature_gradient, bool *handled,
                          const char *caller);

#endif /* QML_INTERNAL_H */

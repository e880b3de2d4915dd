/*
 * bench_statevec.c: `qml bench [statevec] [--quick] [--json] [--threads-list 1,2]
 * [--sizes 16,20,24] [--all-pairs]` and `qml bench gate` (one gate, A/B runs
 * of the kernels' internal switches; see bench_gate below).
 * Times the statevector kernels (ns per gate, effective GB/s) and measures,
 * in the same run, the machine's in-place and read bandwidth, so that each
 * figure is reported as a ratio to a limit measured here and now (the
 * in-place limit is the best of several sweeps). Bytes are the true
 * traffic of each kernel: the pairs of cache lines it reads, the lines it
 * writes back (a CNOT whose control is qubit 3 or above moves half of a
 * full sweep's bytes, on qubit 2 three quarters).
 * Then every two-qubit kind on (control, target) pairs at the largest size,
 * each as its share of the in-place limit and of its pattern limit (the
 * fastest sweep over the same lines, timed alternately with the gate: the
 * verdict's limit). The layer workloads run gate by
 * gate (one kernel sweep per gate) except ry_cnot_fused, which goes through
 * qml_statevec_run and its fused blocks. Default sizes 16, 20 (well under
 * two minutes); n = 24 with --sizes 16,20,24. The summary gives the fused
 * layer over its bound (a full sweep timed alternately with the layer),
 * the thread speed-ups, and an idle check of the
 * machine (load average and the CPU/wall share of a busy loop) with them.
 */
/* madvise(MADV_HUGEPAGE) is a Linux extension, hidden by _POSIX_C_SOURCE alone. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1
#endif
#include "cli.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define MAX_THREAD_COUNTS 8
#define LIMIT_BUFFER_BYTES ((size_t)512 << 20)

typedef struct result {
    const char *workload;
    unsigned n;
    unsigned threads;
    double ns_per_gate;
    double gbps;
    double ratio;                  /* to the in-place (gates) or read (expectation) limit */
    double over_bound;             /* layer time / (gates x the per-gate bound 32 B 2^n / in-place limit) */
} result;

typedef struct pair_result {
    const char *gate;
    unsigned a, b;
    double ns;
    double share;                  /* true GB/s over the in-place limit */
    double bytes_fraction;         /* true bytes over a full in-place sweep's */
    double pattern_ns;             /* the best sweep touching the same lines (pattern limits below) */
    double pattern_share;          /* the median over repeats of that sweep's time over the gate's, paired */
    double full_ns;                /* a full in-place sweep, timed alternately with the gate */
} pair_result;

/* ---- the machine's limits ------------------------------------------------ */

/* The in-place limit: the best of several sweeps that read and write every
 * element of the buffer once (16 bytes per element), each timed `repeats`
 * times; the limit is the best median. One sweep is not enough: the scalar
 * a[i] = s a[i] + t that was the limit until 0.2.0 ran at 0.7 of what the
 * gate kernels reached, so some gates showed shares above 1. */
#define N_LIMIT_VARIANTS 4
static const char *const limit_variant_names[N_LIMIT_VARIANTS] = {"scale_scalar", "scale_lines", "negate_lines",
                                                                  "swap_halves"};

#if defined(__GNUC__)
typedef double bench_v2d __attribute__((vector_size(16)));
#endif

#if defined(__GNUC__)
static inline bench_v2d load_v2d(const double *p)
{
    bench_v2d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store_v2d(double *p, bench_v2d v)
{
    memcpy(p, &v, sizeof v);
}
#endif

/* One line (8 doubles) at p: x -> s x + t (variant 1) or -x (variant 2),
 * as four two-lane vectors where the compiler has them, each loaded and
 * stored by itself: an array of four vectors (as until 0.2.0) made gcc 12
 * at -O2 copy the line through the stack and loop over it, and the sweep
 * ran at 0.6 of the others (33 against 55 GB/s). */
static inline void limit_line(double *p, double s, double t, bool negate)
{
#if defined(__GNUC__)
    const bench_v2d vs = {negate ? -1.0 : s, negate ? -1.0 : s}, vt = {negate ? 0.0 : t, negate ? 0.0 : t};
    const bench_v2d x0 = load_v2d(p), x1 = load_v2d(p + 2), x2 = load_v2d(p + 4), x3 = load_v2d(p + 6);
    store_v2d(p, vs * x0 + vt);
    store_v2d(p + 2, vs * x1 + vt);
    store_v2d(p + 4, vs * x2 + vt);
    store_v2d(p + 6, vs * x3 + vt);
#else
    for (int u = 0; u < 8; u++)
        p[u] = negate ? -p[u] : s * p[u] + t;
#endif
}

static void limit_sweep(double *restrict a, size_t count, int variant)
{
    const double s = 0.999999, t = 1e-7;
    switch (variant) {
    case 0:
        for (size_t i = 0; i < count; i++)
            a[i] = s * a[i] + t;
        break;
    case 1:
    case 2:
        for (size_t i = 0; i + 8 <= count; i += 8)
            limit_line(a + i, s, t, variant == 2);
        break;
    default: {
        /* exchange the two halves line by line: two streams, as a gate on
         * the highest qubit has */
        const size_t half = count / 2;
        for (size_t i = 0; i + 8 <= half; i += 8) {
            double x[8];
            memcpy(x, a + i, sizeof x);
            memcpy(a + i, a + half + i, sizeof x);
            memcpy(a + half + i, x, sizeof x);
        }
        break;
    }
    }
}

static double inplace_gbps(double *buffer, size_t count, int repeats, double variants[N_LIMIT_VARIANTS])
{
    double best = 0.0;
    for (int v = 0; v < N_LIMIT_VARIANTS; v++) {
        double times[16];
        for (int r = 0; r < repeats; r++) {
            double start = cli_seconds();
            limit_sweep(buffer, count, v);
            times[r] = cli_seconds() - start;
        }
        variants[v] = 16.0 * (double)(count & ~(size_t)15) / cli_median(times, repeats) / 1e9;
        if (variants[v] > best)
            best = variants[v];
    }
    return best;
}

/* A sum with eight accumulators (8 bytes per element), like an expectation. */
static double read_gbps(const double *buffer, size_t count, int repeats, double *sink)
{
    double times[16];
    for (int r = 0; r < repeats; r++) {
        double start = cli_seconds();
        const double *restrict a = buffer;
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t i = 0; i + 8 <= count; i += 8)
            for (int u = 0; u < 8; u++)
                acc[u] += a[i + (size_t)u];
        times[r] = cli_seconds() - start;
        for (int u = 0; u < 8; u++)
            *sink += acc[u];
    }
    return 8.0 * (double)count / cli_median(times, repeats) / 1e9;
}

/* ---- true bytes ----------------------------------------------------------- */

/* Whether gate `kind` on `q` reads and writes amplitude `i` (only the
 * bits of its qubits matter): a controlled gate the amplitudes with its
 * controls set, CZ those with both bits set, SWAP/iSWAP those whose two
 * bits differ, a phase gate those with its bit set; the others all. */
static bool gate_touches(qml_gate_kind kind, const unsigned *q, uint64_t i)
{
    const unsigned b0 = (unsigned)(i >> q[0]) & 1u;
    switch (kind) {
    case QML_GATE_CNOT:
    case QML_GATE_CY:
    case QML_GATE_CRX:
    case QML_GATE_CRY:
    case QML_GATE_CRZ:
    case QML_GATE_Z:
    case QML_GATE_S:
    case QML_GATE_SDG:
    case QML_GATE_T:
    case QML_GATE_TDG:
    case QML_GATE_PHASE: return b0 != 0;
    case QML_GATE_CZ:
    case QML_GATE_TOFFOLI: return b0 && ((i >> q[1]) & 1u);
    case QML_GATE_SWAP:
    case QML_GATE_ISWAP: return b0 != ((i >> q[1]) & 1u);
    default: return true;
    }
}

/* Bytes a kernel moves for one gate on n qubits, counted from what it
 * touches (docs/simulator.md, "How the bench counts bytes"): it reads 128
 * bytes for each aligned pair of cache lines (8 amplitudes) holding an
 * amplitude it touches, since the adjacent-line prefetchers of the
 * machines we measured fetch lines in such pairs, and writes back 64 bytes
 * for each line (4 amplitudes) holding an amplitude it changes; lines it
 * never writes stay clean and are not written back. A full in-place sweep
 * is 32 bytes per amplitude. Only the bits of the gate's qubits and the
 * low three bits of an index decide, so each fraction is counted over
 * their values. */
static double gate_true_bytes(qml_gate_kind kind, const unsigned *q, size_t count, unsigned n)
{
    const double amplitudes = (double)((uint64_t)1 << n);
    if (count > 3)
        return 32.0 * amplitudes;
    uint64_t high = 0; /* the gate's bits at 3 and above */
    for (size_t k = 0; k < count; k++)
        if (q[k] >= 3)
            high |= (uint64_t)1 << q[k];
    unsigned bits[3], n_bits = 0;
    for (unsigned b = 3; b < 64 && n_bits < 3; b++)
        if ((high >> b) & 1u)
            bits[n_bits++] = b;
    unsigned read_blocks = 0, written_lines = 0;
    for (unsigned h = 0; h < (1u << n_bits); h++) {
        uint64_t base = 0;
        for (unsigned k = 0; k < n_bits; k++)
            if ((h >> k) & 1u)
                base |= (uint64_t)1 << bits[k];
        bool read = false;
        for (unsigned line = 0; line < 2; line++) {
            bool written = false;
            for (uint64_t u = 0; u < 4; u++)
                written = written || gate_touches(kind, q, base | (uint64_t)line << 2 | u);
            written_lines += written;
            read = read || written;
        }
        read_blocks += read;
    }
    const double combos = (double)(1u << n_bits);
    return 16.0 * amplitudes * ((double)read_blocks / combos) + 16.0 * amplitudes * ((double)written_lines / (2.0 * combos));
}

/* The true bytes of one run of `circuit`. */
static double circuit_true_bytes(const qml_circuit *circuit)
{
    double total = 0.0;
    unsigned n = qml_circuit_n_qubits(circuit);
    for (size_t g = 0; g < qml_circuit_n_gates(circuit); g++) {
        qml_gate_kind kind;
        unsigned qubits[3] = {0, 0, 0};
        size_t count = 0;
        if (qml_circuit_gate(circuit, g, &kind, qubits, &count) == QML_OK)
            total += gate_true_bytes(kind, qubits, count, n);
    }
    return total;
}

/* ---- pattern limits ---------------------------------------------------------
 * The limit of a gate whose amplitudes skip memory is not the full sweep's:
 * the hardware moves what its prefetchers fetch, not what the kernel needs
 * (docs/simulator.md, "How the bench measures its limits"). So each pair row
 * is also timed against the best of several sweeps that touch exactly the
 * gate's lines (read them, negate the amplitudes the gate changes, write
 * them back; lines without such an amplitude are neither read nor written),
 * on a state-sized buffer placed as the library places states, alternating
 * with the gate's repeats. The walks are described at pattern_sweep. */
#define N_PATTERN_VARIANTS 4
#define PATTERN_MAX_COMBOS 8

/* A pair or one-qubit row's shares and the sweeps they are measured against
 * (the same keys in both json tables). */
static void json_shares(cli_json *out, const pair_result *r)
{
    cli_json_kv_number(out, "share_of_limit", r->share);
    cli_json_kv_number(out, "pattern_ns", r->pattern_ns);
    cli_json_kv_number(out, "full_sweep_ns", r->full_ns);
    cli_json_kv_number(out, "share_of_pattern_limit", r->pattern_share);
}

typedef struct line_pattern {
    unsigned n_bits, bits[3];              /* the gate's qubits at 3 and above that matter, ascending */
    size_t run_blocks;                     /* blocks of 8 amplitudes per run of equal high bits */
    size_t n_runs;
    unsigned char mask[PATTERN_MAX_COMBOS][2]; /* per combination of those bits, per line of a block:
                                            * bit u set when the gate changes amplitude u */
#if defined(__GNUC__)
    bench_v2d sign[PATTERN_MAX_COMBOS][2][4]; /* -1 where changed, else 1 */
#endif
} line_pattern;

/* k with a 0 inserted at each of the ascending bit positions `bits`. */
static inline uint64_t deposit_zeros(uint64_t k, const unsigned *bits, unsigned count)
{
    for (unsigned f = 0; f < count; f++)
        k = ((k >> bits[f]) << (bits[f] + 1)) | (k & (((uint64_t)1 << bits[f]) - 1));
    return k;
}

/* The lines of gate `kind` on `q`. With `all_bits` false, only the gate's
 * qubits at 3 and above on which the touched set depends split it (a CNOT
 * 0 -> 23 touches every line of both halves: one plain stream); with it
 * true, every such qubit does (the pair kernels' streams: a CNOT 8 -> 23
 * walks the control = 1 runs of both halves as two streams). */
static void pattern_of(qml_gate_kind kind, const unsigned *q, size_t count, unsigned n, bool all_bits,
                       line_pattern *pt)
{
    memset(pt, 0, sizeof *pt);
    for (size_t k = 0; k < count && count <= 3; k++) {
        if (q[k] < 3)
            continue;
        bool relevant = all_bits;
        for (uint64_t i = 0; i < 64 && !relevant; i++) {
            uint64_t index = i & 7;
            for (size_t l = 0; l < count; l++)
                if ((i >> (3 + l)) & 1u)
                    index |= (uint64_t)1 << q[l];
            relevant = gate_touches(kind, q, index) != gate_touches(kind, q, index ^ ((uint64_t)1 << q[k]));
        }
        if (relevant)
            pt->bits[pt->n_bits++] = q[k];
    }
    for (unsigned i = 1; i < pt->n_bits; i++)
        for (unsigned j = i; j > 0 && pt->bits[j - 1] > pt->bits[j]; j--) {
            unsigned t = pt->bits[j];
            pt->bits[j] = pt->bits[j - 1];
            pt->bits[j - 1] = t;
        }
    pt->run_blocks = pt->n_bits ? (size_t)1 << (pt->bits[0] - 3) : (size_t)1 << (n - 3);
    pt->n_runs = ((size_t)1 << (n - 3)) / pt->run_blocks;
    for (unsigned h = 0; h < (1u << pt->n_bits); h++) {
        uint64_t base = 0;
        for (unsigned k = 0; k < pt->n_bits; k++)
            if ((h >> k) & 1u)
                base |= (uint64_t)1 << pt->bits[k];
        for (unsigned line = 0; line < 2; line++)
            for (unsigned u = 0; u < 4; u++) {
                bool touched = count > 3 || gate_touches(kind, q, base | (uint64_t)line << 2 | u);
                pt->mask[h][line] |= (unsigned char)(touched << u);
#if defined(__GNUC__)
                double s = touched ? -1.0 : 1.0;
                pt->sign[h][line][u] = (bench_v2d){s, s};
#endif
            }
    }
}

#if defined(__GNUC__)
/* The signs of one line, in registers (loaded once per unit: read through
 * the pattern, they would be reloaded after every store to the buffer). */
typedef struct line_signs {
    bench_v2d s0, s1, s2, s3;
} line_signs;

static inline line_signs signs_of(const bench_v2d *sign)
{
    line_signs l = {sign[0], sign[1], sign[2], sign[3]};
    return l;
}

static inline void pattern_line(double *p, line_signs s)
{
    const bench_v2d x0 = load_v2d(p), x1 = load_v2d(p + 2), x2 = load_v2d(p + 4), x3 = load_v2d(p + 6);
    store_v2d(p, s.s0 * x0);
    store_v2d(p + 2, s.s1 * x1);
    store_v2d(p + 4, s.s2 * x2);
    store_v2d(p + 6, s.s3 * x3);
}
#endif

/* `count` blocks from `block`, all of combination h: the touched lines. */
static inline void pattern_unit(double *block, const line_pattern *pt, unsigned h, size_t count)
{
    const unsigned m0 = pt->mask[h][0], m1 = pt->mask[h][1];
#if defined(__GNUC__)
    const line_signs s0 = signs_of(pt->sign[h][0]), s1 = signs_of(pt->sign[h][1]);
    if (m0 && m1)
        for (size_t j = 0; j < count; j++) {
            pattern_line(block + 16 * j, s0);
            pattern_line(block + 16 * j + 8, s1);
        }
    else if (m0)
        for (size_t j = 0; j < count; j++)
            pattern_line(block + 16 * j, s0);
    else if (m1)
        for (size_t j = 0; j < count; j++)
            pattern_line(block + 16 * j + 8, s1);
#else
    for (size_t j = 0; j < count; j++)
        for (unsigned u = 0; u < 8; u++)
            if (((u < 4 ? m0 : m1) >> (u & 3)) & 1u) {
                double *x = block + 16 * j + 2 * u;
                x[0] = -x[0], x[1] = -x[1];
            }
#endif
}

static inline void prefetch_unit(const double *block, const line_pattern *pt, unsigned h, size_t count)
{
#if defined(__GNUC__)
    const unsigned m0 = pt->mask[h][0], m1 = pt->mask[h][1];
    for (size_t j = 0; j < count; j++) {
        if (m0)
            __builtin_prefetch(block + 16 * j, 1, 3);
        if (m1)
            __builtin_prefetch(block + 16 * j + 8, 1, 3);
    }
#else
    (void)block, (void)pt, (void)h, (void)count;
#endif
}

/* The combination of the pattern's bits in block `block`. */
static inline unsigned pattern_combo(const line_pattern *pt, uint64_t block)
{
    unsigned h = 0;
    for (unsigned k = 0; k < pt->n_bits; k++)
        h |= (unsigned)((block >> (pt->bits[k] - 3)) & 1u) << k;
    return h;
}

/* Three walks over the touched lines, each as fast as we could make it
 * (two-lane vectors, one whole line per step, untouched runs skipped whole):
 *  0: in address order, no software prefetch (plain streams, which the
 *     hardware prefetchers follow);
 *  1: in address order, in units of at most 32 blocks (4 KiB); before each
 *     unit, the touched lines of the unit 32 KiB of touched data later
 *     (patterns that skip memory);
 *  2: in the pair kernels' order: k over the blocks whose pattern bits are
 *     0, in units of at most 32 blocks within a run, each unit for every
 *     touched combination in turn (two streams for a SWAP, as its kernel
 *     walks them), with the same prefetch computed from k;
 *  3: walk 2 split by every gate qubit at 3 and above (pattern_of's
 *     `all_bits`), so in the kernels' streams. */
static void pattern_sweep(double *a, const line_pattern *pt, int variant)
{
    unsigned combos[PATTERN_MAX_COMBOS], n_combos = 0, high[3];
    size_t offset[PATTERN_MAX_COMBOS]; /* in doubles */
    for (unsigned h = 0; h < (1u << pt->n_bits); h++)
        if (pt->mask[h][0] | pt->mask[h][1]) {
            combos[n_combos] = h;
            offset[n_combos] = 0;
            for (unsigned k = 0; k < pt->n_bits; k++)
                if ((h >> k) & 1u)
                    offset[n_combos] |= (size_t)2 << pt->bits[k];
            n_combos++;
        }
    if (!n_combos)
        return;
    for (unsigned k = 0; k < pt->n_bits; k++)
        high[k] = pt->bits[k] - 3;
    const size_t all_blocks = pt->n_runs * pt->run_blocks;
    const size_t unit = pt->run_blocks < 32 ? pt->run_blocks : 32;
    if (variant < 2) {
        /* 256 touched blocks (32 KiB) ahead, in blocks of the address space */
        const size_t ahead = (size_t)256 * ((size_t)1 << pt->n_bits) / n_combos;
        for (size_t r = 0; r < pt->n_runs; r++) {
            const unsigned h = pattern_combo(pt, (uint64_t)r * pt->run_blocks);
            if (!(pt->mask[h][0] | pt->mask[h][1]))
                continue;
            double *run = a + 16 * r * pt->run_blocks;
            if (variant == 0) {
                pattern_unit(run, pt, h, pt->run_blocks);
                continue;
            }
            for (size_t j = 0; j < pt->run_blocks; j += unit) {
                const size_t future = r * pt->run_blocks + j + ahead;
                if (future < all_blocks)
                    prefetch_unit(a + 16 * future, pt, pattern_combo(pt, future), unit);
                pattern_unit(run + 16 * j, pt, h, unit);
            }
        }
        return;
    }
    const size_t n_blocks = all_blocks >> pt->n_bits;
    const size_t ahead = (size_t)256 / n_combos;
    for (size_t k = 0; k < n_blocks; k += unit) {
        if (k + ahead < n_blocks) {
            const size_t future = (size_t)deposit_zeros(k + ahead, high, pt->n_bits) * 16;
            for (unsigned c = 0; c < n_combos; c++)
                prefetch_unit(a + future + offset[c], pt, combos[c], unit);
        }
        const size_t base = (size_t)deposit_zeros(k, high, pt->n_bits) * 16;
        for (unsigned c = 0; c < n_combos; c++)
            pattern_unit(a + base + offset[c], pt, combos[c], unit);
    }
}

/* Nanoseconds per gate of `workload` at n with `threads` threads (first
 * matching row), or 0. */
static double row_ns(const result *results, int n_results, const char *workload, unsigned n, unsigned threads)
{
    for (int k = 0; k < n_results; k++)
        if (results[k].n == n && results[k].threads == threads && !strcmp(results[k].workload, workload))
            return results[k].ns_per_gate;
    return 0.0;
}

/* ---- workloads ------------------------------------------------------------ */

/* A layer of gates of one workload on n qubits; weights all 0.3. */
static int build_layer(const char *workload, unsigned n, qml_circuit **out, size_t *n_gates)
{
    qml_circuit *c = NULL;
    int status = qml_circuit_create(&c, n);
    if (status)
        return status;
    if (!strcmp(workload, "ry")) {
        for (unsigned q = 0; q < n && !status; q++)
            status = qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, 0.3, QML_NONE, 0, QML_NONE, 0);
    } else if (!strcmp(workload, "cnot")) {
        for (unsigned q = 0; q + 1 < n && !status; q++)
            status = qml_circuit_add_gate(c, QML_GATE_CNOT, (unsigned[]){q, q + 1}, 2);
    } else if (!strcmp(workload, "ry_cnot") || !strcmp(workload, "ry_cnot_fused")) {
        /* one layer of the usual ansatz: RY on every qubit, then a CNOT ladder */
        for (unsigned q = 0; q < n && !status; q++)
            status = qml_circuit_add_rotation(c, QML_GATE_RY, &q, 1, 0.3, QML_NONE, 0, QML_NONE, 0);
        for (unsigned q = 0; q + 1 < n && !status; q++)
            status = qml_circuit_add_gate(c, QML_GATE_CNOT, (unsigned[]){q, q + 1}, 2);
    } else if (!strcmp(workload, "rzz")) {
        for (unsigned q = 0; q + 1 < n && !status; q++)
            status = qml_circuit_add_rotation(c, QML_GATE_RZZ, (unsigned[]){q, q + 1}, 2, 0.3, QML_NONE, 0,
                                              QML_NONE, 0);
    } else { /* pauli4: X Y Z X on qubits 0, n/3, 2n/3, n-1; four copies */
        qml_pauli_sum *p = NULL;
        status = qml_pauli_sum_create(&p, n);
        unsigned qubits[4] = {0, n / 3, 2 * n / 3, n - 1};
        if (!status)
            status = qml_pauli_sum_add_term(p, 1.0, "XYZX", qubits, 4);
        for (int k = 0; k < 4 && !status; k++)
            status = qml_circuit_add_pauli_rotation(c, p, 0.3, QML_NONE, 0, QML_NONE, 0);
        qml_pauli_sum_free(p);
    }
    if (status) {
        qml_circuit_free(c);
        return status;
    }
    *out = c;
    *n_gates = qml_circuit_n_gates(c);
    return QML_OK;
}

/* Median seconds of one call of the workload (each repeat loops until it
 * has run for at least `min_seconds`). */
static int time_workload(const char *workload, qml_statevec *state, unsigned n, int repeats, double min_seconds,
                         double *seconds, size_t *units, double *bytes)
{
    double times[16];
    qml_circuit *circuit = NULL;
    qml_pauli_sum *zz = NULL;
    const bool fused = !strcmp(workload, "ry_cnot_fused");
    int status;
    if (!strcmp(workload, "expval_zz")) {
        status = qml_pauli_sum_create(&zz, n);
        for (unsigned q = 0; q + 1 < n && !status; q++)
            status = qml_pauli_sum_add_term(zz, 1.0, "ZZ", (unsigned[]){q, q + 1}, 2);
        *units = 1; /* one pass for all terms */
        *bytes = 16.0 * (double)((uint64_t)1 << n);
    } else {
        status = build_layer(workload, n, &circuit, units);
        if (!status)
            *bytes = circuit_true_bytes(circuit);
    }
    for (int r = 0; r < repeats && !status; r++) {
        long iterations = 0;
        double start = cli_seconds(), elapsed;
        do {
            if (zz) {
                double value;
                status = qml_statevec_expectation(state, zz, &value);
            } else if (fused) {
                status = qml_statevec_run(state, circuit, NULL, 0, NULL, 0); /* fused from 14 qubits on */
            } else {
                /* gate by gate: one kernel sweep per gate */
                for (size_t g = 0; g < *units && !status; g++)
                    status = qml_statevec_apply_gate(state, circuit, g, NULL, 0, NULL, 0);
            }
            iterations++;
            elapsed = cli_seconds() - start;
        } while (!status && elapsed < min_seconds);
        times[r] = elapsed / (double)iterations;
    }
    if (!status)
        *seconds = cli_median(times, repeats);
    qml_circuit_free(circuit);
    qml_pauli_sum_free(zz);
    return status;
}

/* The speed-up of `t2` threads over `t1` on a workload, the two timed
 * alternately (each repeat: `t1` for at least `min_seconds`, then `t2`):
 * the median of the per-repeat ratios, and their least and greatest. The
 * table's rows time each thread count minutes apart; on a shared machine
 * whose load changes in between, their ratio for the expectation was 2.04
 * in the run where this gave 1.74. */
typedef struct speedup {
    double median, lo, hi;
} speedup;

static int thread_speedup_alternating(const char *workload, qml_statevec *state, unsigned n, unsigned t1,
                                      unsigned t2, int repeats, double min_seconds, speedup *out)
{
    double ratios[16];
    size_t units;
    double bytes;
    int status = 0;
    if (repeats > 16)
        repeats = 16;
    out->lo = 1e300;
    out->hi = 0.0;
    for (int r = 0; r < repeats && !status; r++) {
        double s1 = 0.0, s2 = 0.0;
        status = qml_statevec_set_threads(state, t1);
        if (!status)
            status = time_workload(workload, state, n, 1, min_seconds, &s1, &units, &bytes);
        if (!status)
            status = qml_statevec_set_threads(state, t2);
        if (!status)
            status = time_workload(workload, state, n, 1, min_seconds, &s2, &units, &bytes);
        if (!status) {
            ratios[r] = s1 / s2;
            out->lo = ratios[r] < out->lo ? ratios[r] : out->lo;
            out->hi = ratios[r] > out->hi ? ratios[r] : out->hi;
        }
    }
    if (!status)
        out->median = cli_median(ratios, repeats);
    qml_statevec_set_threads(state, t1);
    return status;
}

/* The two-qubit kinds measured per (control, target) pair. */
static const char *const pair_gates[] = {"cnot", "cz", "swap", "cry", "rzz", "rxx"};
#define N_PAIR_GATES 6
/* one-qubit gates timed the same way, on qubits 0..10 and the top */
#define N_SINGLE_GATES 2
static const char *const single_gates[N_SINGLE_GATES] = {"x", "ry"};

/* Median seconds of one gate `gate` on qubits (a, b), its true bytes, the
 * best median of the pattern sweeps over the same lines of `buffer` (a
 * state-sized buffer) and the median of a full in-place sweep of `buffer`
 * (limit variant `full_variant`, the run's fastest), all timed alternately
 * with the gate, so that the limits see the machine as the gate does: each
 * repeat times the gate, then every sweep, each until `min_seconds` have
 * passed. */
static int time_pair(const char *gate, unsigned a, unsigned b, qml_statevec *state, unsigned n, int repeats,
                     double min_seconds, double *buffer, int full_variant, double *seconds, double *bytes,
                     double *pattern_seconds, double *full_seconds, double *pattern_share)
{
    qml_circuit *c = NULL;
    int status = qml_circuit_create(&c, n);
    const unsigned q[2] = {a, b};
    /* "x" and "ry" are one-qubit gates on qubit a (b unused) */
    const unsigned count = !strcmp(gate, "x") || !strcmp(gate, "ry") ? 1 : 2;
    qml_gate_kind kind = !strcmp(gate, "cnot")   ? QML_GATE_CNOT
                         : !strcmp(gate, "cz")   ? QML_GATE_CZ
                         : !strcmp(gate, "swap") ? QML_GATE_SWAP
                         : !strcmp(gate, "cry")  ? QML_GATE_CRY
                         : !strcmp(gate, "rzz")  ? QML_GATE_RZZ
                         : !strcmp(gate, "x")    ? QML_GATE_X
                         : !strcmp(gate, "ry")   ? QML_GATE_RY
                                                 : QML_GATE_RXX;
    if (!status)
        status = kind >= QML_GATE_RX ? qml_circuit_add_rotation(c, kind, q, count, 0.3, QML_NONE, 0, QML_NONE, 0)
                                     : qml_circuit_add_gate(c, kind, q, count);
    line_pattern pattern, streams;
    pattern_of(kind, q, count, n, false, &pattern);
    pattern_of(kind, q, count, n, true, &streams);
    double times[16], pattern_times[N_PATTERN_VARIANTS][16], full_times[16];
    for (int r = 0; r < repeats && !status; r++) {
        long iterations = 0;
        double start = cli_seconds(), elapsed;
        do {
            status = qml_statevec_run(state, c, NULL, 0, NULL, 0);
            iterations++;
            elapsed = cli_seconds() - start;
        } while (!status && elapsed < min_seconds);
        times[r] = elapsed / (double)iterations;
        for (int v = 0; v < N_PATTERN_VARIANTS; v++) {
            iterations = 0;
            start = cli_seconds();
            do {
                pattern_sweep(buffer, v < 3 ? &pattern : &streams, v < 3 ? v : 2);
                iterations++;
                elapsed = cli_seconds() - start;
            } while (elapsed < min_seconds);
            pattern_times[v][r] = elapsed / (double)iterations;
        }
        iterations = 0;
        start = cli_seconds();
        do {
            limit_sweep(buffer, (size_t)2 << n, full_variant);
            iterations++;
            elapsed = cli_seconds() - start;
        } while (elapsed < min_seconds);
        full_times[r] = elapsed / (double)iterations;
    }
    if (!status) {
        /* the limit: the sweep with the least median, the pattern sweeps
         * and the full sweep alike (a full in-place sweep touches the
         * gate's lines too); the share: the median over repeats of that
         * sweep's time over the gate's in the same repeat (timed back to
         * back, so that a change of the machine's load between repeats
         * cancels) */
        const double *limit_times = full_times;
        double scratch[16];
        memcpy(scratch, full_times, (size_t)repeats * sizeof *scratch);
        *full_seconds = cli_median(scratch, repeats);
        *pattern_seconds = *full_seconds;
        for (int v = 0; v < N_PATTERN_VARIANTS; v++) {
            memcpy(scratch, pattern_times[v], (size_t)repeats * sizeof *scratch);
            const double t = cli_median(scratch, repeats);
            if (t < *pattern_seconds) {
                *pattern_seconds = t;
                limit_times = pattern_times[v];
            }
        }
        for (int r = 0; r < repeats; r++)
            scratch[r] = limit_times[r] / times[r];
        *pattern_share = cli_median(scratch, repeats);
        *seconds = cli_median(times, repeats);
        *bytes = circuit_true_bytes(c);
    }
    qml_circuit_free(c);
    return status;
}

/* A buffer of 2^n amplitudes placed as the library places a large state
 * (docs/simulator.md): on 2 MiB pages where available, its start 4 KiB past
 * a 2 MiB boundary (bit 12 set). `*raw` is what to free. */
static double *state_sized_buffer(unsigned n, void **raw)
{
    const size_t bytes = (size_t)16 << n, slack = (size_t)2 << 20;
    *raw = NULL;
    if (posix_memalign(raw, slack, bytes + slack) != 0)
        return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    (void)madvise(*raw, bytes + slack, MADV_HUGEPAGE);
#endif
    double *a = (double *)((char *)*raw + 4096);
    for (size_t i = 0; i < ((size_t)2 << n); i++)
        a[i] = (double)(i & 1023) * 1e-6;
    return a;
}

/* The fused RY + CNOT layer over its bound (gates x one full in-place
 * sweep), both measured alternately so that they see the same machine
 * state: each repeat runs the layer (qml_statevec_run, fused) until
 * `min_seconds` have passed, then each full sweep of `buffer` (the pattern
 * sweeps of a gate touching every line, and the exchange of its halves),
 * each until `min_seconds`. The bound is the best median sweep; the ratio is
 * the layer's median over it, and `lo`, `hi` the least and greatest of the
 * per-repeat ratios (layer over that sweep in the same repeat). */
#define MAX_BOUND_REPEATS 9
static int fused_over_bound_alternating(qml_statevec *state, unsigned n, int repeats, double min_seconds,
                                        double *buffer, double *ratio, double *lo, double *hi, double *sweep_gbps)
{
    qml_circuit *circuit = NULL;
    size_t gates = 0;
    int status = build_layer("ry_cnot_fused", n, &circuit, &gates);
    const unsigned all[4] = {0, 1, 2, 3};
    line_pattern full;
    pattern_of(QML_GATE_RY, all, 4, n, false, &full); /* more than 3 qubits: every line */
    enum { N_SWEEPS = 4 }; /* pattern walks 0, 1, 2 and the exchange of halves */
    double layer[MAX_BOUND_REPEATS], sweeps[N_SWEEPS][MAX_BOUND_REPEATS];
    if (repeats > MAX_BOUND_REPEATS)
        repeats = MAX_BOUND_REPEATS;
    for (int r = 0; r < repeats && !status; r++) {
        long iterations = 0;
        double start = cli_seconds(), elapsed;
        do {
            status = qml_statevec_run(state, circuit, NULL, 0, NULL, 0);
            iterations++;
            elapsed = cli_seconds() - start;
        } while (!status && elapsed < min_seconds);
        layer[r] = elapsed / (double)iterations;
        for (int v = 0; v < N_SWEEPS; v++) {
            iterations = 0;
            start = cli_seconds();
            do {
                if (v < 3)
                    pattern_sweep(buffer, &full, v);
                else
                    limit_sweep(buffer, (size_t)2 << n, 3);
                iterations++;
                elapsed = cli_seconds() - start;
            } while (elapsed < min_seconds);
            sweeps[v][r] = elapsed / (double)iterations;
        }
    }
    qml_circuit_free(circuit);
    if (status)
        return status;
    int best = 0;
    double best_median = 1e300, scratch[MAX_BOUND_REPEATS];
    for (int v = 0; v < N_SWEEPS; v++) {
        memcpy(scratch, sweeps[v], sizeof scratch);
        double m = cli_median(scratch, repeats);
        if (m < best_median)
            best_median = m, best = v;
    }
    *lo = 1e300;
    *hi = 0.0;
    for (int r = 0; r < repeats; r++) {
        double x = layer[r] / ((double)gates * sweeps[best][r]);
        *lo = x < *lo ? x : *lo;
        *hi = x > *hi ? x : *hi;
    }
    memcpy(scratch, layer, sizeof scratch);
    *ratio = cli_median(scratch, repeats) / ((double)gates * best_median);
    *sweep_gbps = 32.0 * (double)((uint64_t)1 << n) / best_median / 1e9;
    return QML_OK;
}

static bool parse_thread_list(const char *text, unsigned *list, int *count)
{
    char copy[128];
    if (!text || strlen(text) >= sizeof copy)
        return false;
    strcpy(copy, text);
    *count = 0;
    for (char *token = strtok(copy, ","); token; token = strtok(NULL, ",")) {
        if (*count == MAX_THREAD_COUNTS || !cli_parse_unsigned(token, &list[*count]) || list[*count] == 0)
            return false;
        (*count)++;
    }
    return *count > 0;
}

/* Up to 3 qubit counts in 16..30 (the default is 16, 20, 24). */
static bool parse_size_list(const char *text, unsigned *list, int *count)
{
    char copy[64];
    if (!text || strlen(text) >= sizeof copy)
        return false;
    strcpy(copy, text);
    *count = 0;
    for (char *token = strtok(copy, ","); token; token = strtok(NULL, ",")) {
        if (*count == 3 || !cli_parse_unsigned(token, &list[*count]) || list[*count] < 16 || list[*count] > 30)
            return false;
        (*count)++;
    }
    return *count > 0;
}

/* ---- qml bench gate: one gate, and A/B runs of an internal switch ---------
 * `qml bench gate --gate CNOT --qubits 23,8 [--n 24] [--repeat K]
 * [--threads T] [--ab SWITCH=a,b[,...]] [--quick] [--json]` times one gate
 * (median of K repeats, each repeat running the gate until it has run for
 * `min_seconds`) and, alternately with it in every repeat, the pattern
 * sweeps over the same lines and the full in-place sweeps of a state-sized
 * buffer, so that its shares of the limit are measured in the same run as
 * the gate. With --ab, every repeat times the gate under each value of the
 * switch in turn (the order rotates from repeat to repeat), so the values
 * see the same machine; the ratios are the medians of the per-repeat
 * ratios to the first value. */

/* The kernels' internal switches (lib/internal.h; this program links the
 * static library). -1 lets the kernels choose; see docs/simulator.md. */
extern int qml__pair_walk_override;
extern int qml__pair_path_override;
extern int qml__pair_stream_ahead_override;
extern int qml__pair_mid_override;
extern int qml__pair_octet_override;
extern int qml__diagonal_path_override;
extern int qml__diagonal_walk_override;
extern int qml__pauli2_path_override;
extern int qml__pauli2_walk_override;

static const struct {
    const char *name;
    int *value;
} gate_switches[] = {
    {"pair_walk", &qml__pair_walk_override},
    {"pair_path", &qml__pair_path_override},
    {"pair_stream_ahead", &qml__pair_stream_ahead_override},
    {"pair_mid", &qml__pair_mid_override},
    {"pair_octet", &qml__pair_octet_override},
    {"diagonal_path", &qml__diagonal_path_override},
    {"diagonal_walk", &qml__diagonal_walk_override},
    {"pauli2_path", &qml__pauli2_path_override},
    {"pauli2_walk", &qml__pauli2_walk_override},
};
#define N_GATE_SWITCHES (sizeof gate_switches / sizeof gate_switches[0])

static const struct {
    const char *name;
    qml_gate_kind kind;
    unsigned count;
} gate_names[] = {
    {"x", QML_GATE_X, 1},       {"y", QML_GATE_Y, 1},         {"z", QML_GATE_Z, 1},       {"h", QML_GATE_H, 1},
    {"s", QML_GATE_S, 1},       {"t", QML_GATE_T, 1},         {"rx", QML_GATE_RX, 1},     {"ry", QML_GATE_RY, 1},
    {"rz", QML_GATE_RZ, 1},     {"phase", QML_GATE_PHASE, 1}, {"cnot", QML_GATE_CNOT, 2}, {"cy", QML_GATE_CY, 2},
    {"cz", QML_GATE_CZ, 2},     {"swap", QML_GATE_SWAP, 2},   {"iswap", QML_GATE_ISWAP, 2}, {"crx", QML_GATE_CRX, 2},
    {"cry", QML_GATE_CRY, 2},   {"crz", QML_GATE_CRZ, 2},     {"rxx", QML_GATE_RXX, 2},   {"ryy", QML_GATE_RYY, 2},
    {"rzz", QML_GATE_RZZ, 2},   {"toffoli", QML_GATE_TOFFOLI, 3},
};
#define N_GATE_NAMES (sizeof gate_names / sizeof gate_names[0])
#define GATE_MAX_REPEATS 31
#define GATE_MAX_VARIANTS 6

static bool same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if ((*a | 0x20) != (*b | 0x20))
            return false;
    return *a == *b;
}

/* "NAME=a,b[,...]": the switch and up to GATE_MAX_VARIANTS values in -1..9. */
static bool parse_ab(const char *text, int *which, int *values, int *count)
{
    const char *eq = strchr(text, '=');
    if (!eq)
        return false;
    *which = -1;
    for (size_t s = 0; s < N_GATE_SWITCHES; s++)
        if (strlen(gate_switches[s].name) == (size_t)(eq - text) && !strncmp(text, gate_switches[s].name, eq - text))
            *which = (int)s;
    if (*which < 0)
        return false;
    char copy[64];
    if (strlen(eq + 1) >= sizeof copy)
        return false;
    strcpy(copy, eq + 1);
    *count = 0;
    for (char *token = strtok(copy, ","); token; token = strtok(NULL, ",")) {
        char *end = NULL;
        long v = strtol(token, &end, 10);
        if (*count == GATE_MAX_VARIANTS || !end || *end || end == token || v < -1 || v > 9)
            return false;
        values[(*count)++] = (int)v;
    }
    return *count >= 1;
}

/* Up to 3 distinct qubits, "23,8". */
static bool parse_qubits(const char *text, unsigned *q, unsigned *count)
{
    char copy[64];
    if (!text || strlen(text) >= sizeof copy)
        return false;
    strcpy(copy, text);
    *count = 0;
    for (char *token = strtok(copy, ","); token; token = strtok(NULL, ",")) {
        if (*count == 3 || !cli_parse_unsigned(token, &q[*count]))
            return false;
        for (unsigned k = 0; k < *count; k++)
            if (q[k] == q[*count])
                return false;
        (*count)++;
    }
    return *count > 0;
}

/* Seconds per run of circuit `c` on `state`, looped until `min_seconds` have passed. */
static double gate_time_once(qml_statevec *state, const qml_circuit *c, double min_seconds, int *status)
{
    long iterations = 0;
    double start = cli_seconds(), elapsed;
    do {
        *status = qml_statevec_run(state, c, NULL, 0, NULL, 0);
        iterations++;
        elapsed = cli_seconds() - start;
    } while (!*status && elapsed < min_seconds);
    return elapsed / (double)iterations;
}

int bench_gate(int argc, char **argv)
{
    static const char usage[] = "usage: qml bench gate --gate NAME --qubits A[,B[,C]] [--n N] [--repeat K] "
                                "[--threads T] [--ab SWITCH=a,b] [--quick] [--json]";
    bool json = false, quick = false;
    int gate = -1, repeats = 7, which = -1, values[GATE_MAX_VARIANTS] = {-1}, n_variants = 1;
    unsigned n = 24, threads = 1, q[3] = {0, 0, 0}, n_q = 0;
    for (int k = 1; k < argc; k++) {
        const bool has_value = k + 1 < argc;
        if (!strcmp(argv[k], "--json"))
            json = true;
        else if (!strcmp(argv[k], "--quick"))
            quick = true;
        else if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            printf("%s\n  gates: x y z h s t rx ry rz phase cnot cy cz swap iswap crx cry crz rxx ryy rzz toffoli\n"
                   "  switches (-1 lets the kernels choose): ",
                   usage);
            for (size_t s = 0; s < N_GATE_SWITCHES; s++)
                printf("%s%s", s ? " " : "", gate_switches[s].name);
            printf("\n");
            return 0;
        } else if (!strcmp(argv[k], "--gate") && has_value) {
            k++;
            for (size_t g = 0; g < N_GATE_NAMES; g++)
                if (same_name(argv[k], gate_names[g].name))
                    gate = (int)g;
            if (gate < 0)
                return cli_usage_error("bench gate: unknown gate '%s' (qml bench gate --help lists them)", argv[k]);
        } else if (!strcmp(argv[k], "--qubits") && has_value) {
            if (!parse_qubits(argv[++k], q, &n_q))
                return cli_usage_error("bench gate: bad qubit list '%s' (e.g. 23,8; distinct)", argv[k]);
        } else if (!strcmp(argv[k], "--n") && has_value) {
            if (!cli_parse_unsigned(argv[++k], &n) || n < 4 || n > 30)
                return cli_usage_error("bench gate: bad qubit count '%s' (4..30)", argv[k]);
        } else if (!strcmp(argv[k], "--repeat") && has_value) {
            unsigned r;
            if (!cli_parse_unsigned(argv[++k], &r) || r < 1 || r > GATE_MAX_REPEATS)
                return cli_usage_error("bench gate: bad repeat count '%s' (1..%d)", argv[k], GATE_MAX_REPEATS);
            repeats = (int)r;
        } else if (!strcmp(argv[k], "--threads") && has_value) {
            if (!cli_parse_unsigned(argv[++k], &threads) || threads < 1 || threads > 256)
                return cli_usage_error("bench gate: bad thread count '%s'", argv[k]);
        } else if (!strcmp(argv[k], "--ab") && has_value) {
            if (!parse_ab(argv[++k], &which, values, &n_variants))
                return cli_usage_error("bench gate: bad --ab '%s' (SWITCH=a,b with values -1..9; "
                                       "qml bench gate --help lists the switches)",
                                       argv[k]);
        } else if (!strcmp(argv[k], "gate"))
            continue;
        else
            return cli_usage_error("bench gate: unknown option '%s' (%s)", argv[k], usage);
    }
    if (gate < 0 || n_q == 0)
        return cli_usage_error("bench gate: --gate and --qubits are required (%s)", usage);
    const qml_gate_kind kind = gate_names[gate].kind;
    if (n_q != gate_names[gate].count)
        return cli_usage_error("bench gate: %s takes %u qubit(s), got %u", gate_names[gate].name,
                               gate_names[gate].count, n_q);
    for (unsigned k = 0; k < n_q; k++)
        if (q[k] >= n)
            return cli_usage_error("bench gate: qubit %u out of range for n = %u", q[k], n);
    const double min_seconds = quick ? 0.01 : 0.04;

    qml_circuit *c = NULL;
    qml_statevec *state = NULL;
    int status = qml_circuit_create(&c, n);
    if (!status)
        status = kind >= QML_GATE_RX ? qml_circuit_add_rotation(c, kind, q, n_q, 0.3, QML_NONE, 0, QML_NONE, 0)
                                     : qml_circuit_add_gate(c, kind, q, n_q);
    if (!status)
        status = qml_statevec_create(&state, n);
    if (!status)
        status = qml_statevec_set_threads(state, threads);
    if (!status) {
        /* a spread-out state, so that no kernel meets only zeros */
        qml_circuit *prep = NULL;
        size_t prep_gates;
        status = build_layer("ry", n, &prep, &prep_gates);
        if (!status)
            status = qml_statevec_run(state, prep, NULL, 0, NULL, 0);
        qml_circuit_free(prep);
    }
    void *raw = NULL;
    double *buffer = status ? NULL : state_sized_buffer(n, &raw);
    if (status || !buffer) {
        qml_circuit_free(c);
        qml_statevec_free(state);
        if (status)
            return cli_fail("bench gate", status);
        fprintf(stderr, "qml: bench gate: cannot allocate the state-sized sweep buffer\n");
        return 1;
    }
    cli_idle_check idle;
    cli_idle_check_begin(&idle);
    line_pattern pattern, streams;
    pattern_of(kind, q, n_q, n, false, &pattern);
    pattern_of(kind, q, n_q, n, true, &streams);
    const int saved = which >= 0 ? *gate_switches[which].value : 0;
    double times[GATE_MAX_VARIANTS][GATE_MAX_REPEATS], pattern_times[N_PATTERN_VARIANTS][GATE_MAX_REPEATS],
        full_times[N_LIMIT_VARIANTS][GATE_MAX_REPEATS];
    for (int r = 0; r < repeats && !status; r++) {
        for (int j = 0; j < n_variants && !status; j++) {
            const int v = (j + r) % n_variants;
            if (which >= 0)
                *gate_switches[which].value = values[v];
            times[v][r] = gate_time_once(state, c, min_seconds, &status);
        }
        if (which >= 0)
            *gate_switches[which].value = saved;
        for (int v = 0; v < N_PATTERN_VARIANTS; v++) {
            long iterations = 0;
            double start = cli_seconds(), elapsed;
            do {
                pattern_sweep(buffer, v < 3 ? &pattern : &streams, v < 3 ? v : 2);
                iterations++;
                elapsed = cli_seconds() - start;
            } while (elapsed < min_seconds);
            pattern_times[v][r] = elapsed / (double)iterations;
        }
        for (int v = 0; v < N_LIMIT_VARIANTS; v++) {
            long iterations = 0;
            double start = cli_seconds(), elapsed;
            do {
                limit_sweep(buffer, (size_t)2 << n, v);
                iterations++;
                elapsed = cli_seconds() - start;
            } while (elapsed < min_seconds);
            full_times[v][r] = elapsed / (double)iterations;
        }
    }
    const double bytes = status ? 0.0 : circuit_true_bytes(c);
    qml_circuit_free(c);
    qml_statevec_free(state);
    free(raw);
    if (status)
        return cli_fail("bench gate: run", status);
    cli_idle_check_end(&idle);

    double scratch[GATE_MAX_REPEATS], pattern_s = 1e300, full_s = 1e300;
    for (int v = 0; v < N_PATTERN_VARIANTS; v++) {
        memcpy(scratch, pattern_times[v], sizeof scratch);
        double t = cli_median(scratch, repeats);
        pattern_s = t < pattern_s ? t : pattern_s;
    }
    for (int v = 0; v < N_LIMIT_VARIANTS; v++) {
        memcpy(scratch, full_times[v], sizeof scratch);
        double t = cli_median(scratch, repeats);
        full_s = t < full_s ? t : full_s;
    }
    const double limit_gbps = 32.0 * (double)((uint64_t)1 << n) / full_s / 1e9;
    struct {
        double median, lo, hi, ratio, ratio_lo, ratio_hi;
    } row[GATE_MAX_VARIANTS];
    for (int v = 0; v < n_variants; v++) {
        row[v].lo = 1e300, row[v].hi = 0.0, row[v].ratio_lo = 1e300, row[v].ratio_hi = 0.0;
        for (int r = 0; r < repeats; r++) {
            row[v].lo = times[v][r] < row[v].lo ? times[v][r] : row[v].lo;
            row[v].hi = times[v][r] > row[v].hi ? times[v][r] : row[v].hi;
            scratch[r] = times[v][r] / times[0][r];
            row[v].ratio_lo = scratch[r] < row[v].ratio_lo ? scratch[r] : row[v].ratio_lo;
            row[v].ratio_hi = scratch[r] > row[v].ratio_hi ? scratch[r] : row[v].ratio_hi;
        }
        row[v].ratio = cli_median(scratch, repeats);
        memcpy(scratch, times[v], sizeof scratch);
        row[v].median = cli_median(scratch, repeats);
    }
    char qubits_text[48];
    snprintf(qubits_text, sizeof qubits_text, n_q == 1 ? "%u" : n_q == 2 ? "%u,%u" : "%u,%u,%u", q[0], q[1], q[2]);
    if (json) {
        cli_json out;
        cli_json_begin(&out, stdout, "bench-gate", argc, argv);
        cli_json_kv_string(&out, "gate", gate_names[gate].name);
        cli_json_key(&out, "qubits");
        cli_json_array_begin(&out);
        for (unsigned k = 0; k < n_q; k++)
            cli_json_u64(&out, q[k]);
        cli_json_array_end(&out);
        cli_json_kv_u64(&out, "n", n);
        cli_json_kv_u64(&out, "threads", threads);
        cli_json_kv_u64(&out, "repeat", (uint64_t)repeats);
        cli_json_kv_string(&out, "switch", which >= 0 ? gate_switches[which].name : NULL);
        cli_json_kv_number(&out, "true_bytes", bytes);
        cli_json_kv_number(&out, "bytes_fraction", bytes / (32.0 * (double)((uint64_t)1 << n)));
        cli_json_kv_number(&out, "inplace_gbps", limit_gbps);
        cli_json_kv_number(&out, "full_sweep_ns", full_s * 1e9);
        cli_json_kv_number(&out, "pattern_ns", pattern_s * 1e9);
        cli_json_key(&out, "variants");
        cli_json_array_begin(&out);
        for (int v = 0; v < n_variants; v++) {
            cli_json_object_begin(&out);
            if (which >= 0)
                cli_json_kv_number(&out, "value", values[v]);
            else
                cli_json_kv_string(&out, "value", NULL);
            cli_json_kv_number(&out, "ns_median", row[v].median * 1e9);
            cli_json_kv_number(&out, "ns_min", row[v].lo * 1e9);
            cli_json_kv_number(&out, "ns_max", row[v].hi * 1e9);
            cli_json_kv_number(&out, "gbps", bytes / row[v].median / 1e9);
            cli_json_kv_number(&out, "share_of_limit", bytes / row[v].median / 1e9 / limit_gbps);
            cli_json_kv_number(&out, "share_of_pattern_limit", pattern_s / row[v].median);
            cli_json_kv_number(&out, "ratio_to_first", row[v].ratio);
            cli_json_kv_number(&out, "ratio_to_first_min", row[v].ratio_lo);
            cli_json_kv_number(&out, "ratio_to_first_max", row[v].ratio_hi);
            cli_json_object_end(&out);
        }
        cli_json_array_end(&out);
        cli_json_idle_check(&out, &idle);
        cli_json_end(&out);
        return 0;
    }
    printf("%s on %s, n = %u, %u thread(s), median of %d (interleaved): true bytes %.3g (%.2f of a full sweep)\n",
           gate_names[gate].name, qubits_text, n, threads, repeats, bytes, bytes / (32.0 * (double)((uint64_t)1 << n)));
    printf("limits in this run: in-place %.1f GB/s (full sweep %.3f ms), pattern sweep %.3f ms\n", limit_gbps,
           full_s * 1e3, pattern_s * 1e3);
    printf("%-22s %10s %10s %10s %8s %8s %8s  %s\n", "variant", "ms median", "ms min", "ms max", "GB/s", "share",
           "pattern", "ratio to first (min..max)");
    for (int v = 0; v < n_variants; v++) {
        char label[48];
        if (which >= 0)
            snprintf(label, sizeof label, "%s=%d", gate_switches[which].name, values[v]);
        else
            snprintf(label, sizeof label, "default");
        printf("%-22s %10.3f %10.3f %10.3f %8.1f %8.3f %8.3f  %.3f (%.3f..%.3f)\n", label, row[v].median * 1e3,
               row[v].lo * 1e3, row[v].hi * 1e3, bytes / row[v].median / 1e9, bytes / row[v].median / 1e9 / limit_gbps,
               pattern_s / row[v].median, row[v].ratio, row[v].ratio_lo, row[v].ratio_hi);
    }
    cli_print_idle_check(&idle);
    return 0;
}

int bench_statevec(int argc, char **argv)
{
    bool quick = false, json = false, all_pairs = false;
    unsigned thread_list[MAX_THREAD_COUNTS] = {1, 2};
    int n_thread_counts = 2;
    unsigned size_list[3] = {16, 20, 24};
    int n_sizes = 0;
    /* argv[0] is "statevec" or "bench" (the default benchmark): skip it. */
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--quick"))
            quick = true;
        else if (!strcmp(argv[k], "--json"))
            json = true;
        else if (!strcmp(argv[k], "--all-pairs"))
            all_pairs = true;
        else if (!strcmp(argv[k], "--sizes") && k + 1 < argc) {
            if (!parse_size_list(argv[++k], size_list, &n_sizes))
                return cli_usage_error("bench statevec: bad size list '%s' (e.g. 20,24; each 16..30)", argv[k]);
        } else if ((!strcmp(argv[k], "--threads-list") || !strcmp(argv[k], "--threads")) && k + 1 < argc) {
            if (!parse_thread_list(argv[++k], thread_list, &n_thread_counts))
                return cli_usage_error("bench statevec: bad thread list '%s' (e.g. 1,2)", argv[k]);
        } else if (!strcmp(argv[k], "statevec"))
            continue;
        else
            return cli_usage_error("bench statevec: unknown option '%s' "
                                   "(usage: qml bench [statevec] [--quick] [--json] [--threads-list 1,2] "
                                   "[--sizes 16,20,24] [--all-pairs])",
                                   argv[k]);
    }
    const unsigned *sizes = size_list;
    if (n_sizes == 0)
        n_sizes = 2; /* 16, 20; n = 24 with --sizes 16,20,24 */
    const int repeats = quick ? 3 : 7;
    const double min_seconds = quick ? 0.02 : 0.05;
    static const char *const workloads[] = {"ry", "cnot", "ry_cnot", "rzz", "pauli4", "expval_zz", "ry_cnot_fused"};
    const int n_workloads = 7;

    /* The limits, over a 512 MiB buffer (far beyond the caches). */
    size_t count = LIMIT_BUFFER_BYTES / sizeof(double);
    /* Large states ask for transparent huge pages (docs/simulator.md), so the
     * limit buffer does too: a limit measured on 4 KiB pages would flatter
     * every ratio by the TLB and prefetcher effects of the page size. */
    double *buffer = NULL;
    if (posix_memalign((void **)&buffer, (size_t)2 << 20, LIMIT_BUFFER_BYTES) != 0)
        buffer = NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (buffer)
        (void)madvise(buffer, LIMIT_BUFFER_BYTES, MADV_HUGEPAGE);
#endif
    if (!buffer) {
        fprintf(stderr, "qml: bench statevec: cannot allocate the 512 MiB bandwidth buffer\n");
        return 1;
    }
    cli_idle_check idle;
    cli_idle_check_begin(&idle);
    for (size_t i = 0; i < count; i++)
        buffer[i] = (double)(i & 1023) * 1e-3;
    double sink = 0.0;
    double limit_variants[N_LIMIT_VARIANTS];
    double limit_inplace = inplace_gbps(buffer, count, quick ? 3 : 5, limit_variants);
    int best_limit_variant = 0;
    for (int v = 1; v < N_LIMIT_VARIANTS; v++)
        if (limit_variants[v] > limit_variants[best_limit_variant])
            best_limit_variant = v;
    double limit_read = read_gbps(buffer, count, quick ? 3 : 5, &sink);
    free(buffer);

    result results[3 * MAX_THREAD_COUNTS * 7];
    int n_results = 0;
    /* pairs at the largest size, on the first thread count: all ordered
     * pairs with --all-pairs, else those of a set of qubits covering the
     * low-qubit walks, the middle and the top */
    pair_result *pairs = NULL;
    size_t n_pairs = 0;
    unsigned pair_n = 0;
    for (int si = 0; si < n_sizes; si++)
        if (sizes[si] > pair_n)
            pair_n = sizes[si];
    unsigned pair_qubits[32];
    unsigned n_pair_qubits = 0;
    if (all_pairs) {
        for (unsigned q = 0; q < pair_n; q++)
            pair_qubits[n_pair_qubits++] = q;
    } else {
        const unsigned chosen[] = {0, 1, 2, 3, 8, pair_n - 1};
        for (unsigned k = 0; k < (quick ? 4u : 6u); k++)
            pair_qubits[n_pair_qubits++] = k == 3 && quick ? pair_n - 1 : chosen[k];
    }
    pairs = calloc((size_t)n_pair_qubits * n_pair_qubits * N_PAIR_GATES, sizeof *pairs);
    if (!pairs) {
        fprintf(stderr, "qml: bench statevec: out of memory\n");
        return 1;
    }
    pair_result singles[N_SINGLE_GATES * 12];
    size_t n_singles = 0;
    /* the fused layer over its bound at the largest size, measured alternately */
    struct {
        double ratio, lo, hi, sweep_gbps;
    } fused_bound = {(double)NAN, (double)NAN, (double)NAN, (double)NAN};
    /* the thread speed-ups at the largest size (with two thread counts) */
    speedup expectation_speedup = {(double)NAN, (double)NAN, (double)NAN};
    speedup fused_speedup = {(double)NAN, (double)NAN, (double)NAN};
    for (int si = 0; si < n_sizes; si++) {
        unsigned n = sizes[si];
        qml_statevec *state = NULL;
        int status = qml_statevec_create(&state, n);
        if (status) {
            free(pairs);
            return cli_fail("bench statevec: create", status);
        }
        /* a spread-out state, so that no kernel meets only zeros */
        qml_circuit *prep = NULL;
        size_t prep_gates;
        if ((status = build_layer("ry", n, &prep, &prep_gates)) != 0 ||
            (status = qml_statevec_run(state, prep, NULL, 0, NULL, 0)) != 0) {
            qml_circuit_free(prep);
            qml_statevec_free(state);
            free(pairs);
            return cli_fail("bench statevec: prepare", status);
        }
        qml_circuit_free(prep);
        for (int ti = 0; ti < n_thread_counts; ti++) {
            qml_statevec_set_threads(state, thread_list[ti]);
            for (int w = 0; w < n_workloads; w++) {
                double seconds, bytes = 0.0;
                size_t units;
                status = time_workload(workloads[w], state, n, repeats, min_seconds, &seconds, &units, &bytes);
                if (status) {
                    qml_statevec_free(state);
                    free(pairs);
                    return cli_fail("bench statevec: workload", status);
                }
                bool is_expectation = !strcmp(workloads[w], "expval_zz");
                result *r = &results[n_results++];
                r->workload = workloads[w];
                r->n = n;
                r->threads = thread_list[ti];
                r->ns_per_gate = seconds / (double)units * 1e9;
                r->gbps = bytes / seconds / 1e9;
                r->ratio = r->gbps / (is_expectation ? limit_read : limit_inplace);
                /* the per-gate memory bound: a full in-place sweep at the limit */
                double bound = 32.0 * (double)((uint64_t)1 << n) / (limit_inplace * 1e9);
                r->over_bound = is_expectation ? 0.0 : seconds / ((double)units * bound);
            }
        }
        if (n == pair_n && n_thread_counts > 1) {
            /* the thread speed-ups, timed alternately */
            const int speedup_repeats = quick ? 3 : 7;
            status = thread_speedup_alternating("expval_zz", state, n, thread_list[0], thread_list[1],
                                                speedup_repeats, min_seconds, &expectation_speedup);
            if (!status)
                status = thread_speedup_alternating("ry_cnot_fused", state, n, thread_list[0], thread_list[1],
                                                    speedup_repeats, min_seconds, &fused_speedup);
            if (status) {
                qml_statevec_free(state);
                free(pairs);
                return cli_fail("bench statevec: thread speed-up", status);
            }
        }
        if (n == pair_n) {
            qml_statevec_set_threads(state, thread_list[0]);
            void *raw = NULL;
            double *pattern_buffer = state_sized_buffer(n, &raw);
            if (!pattern_buffer) {
                qml_statevec_free(state);
                free(pairs);
                fprintf(stderr, "qml: bench statevec: cannot allocate the state-sized sweep buffer\n");
                return 1;
            }
            status = fused_over_bound_alternating(state, n, quick ? 5 : 7, min_seconds, pattern_buffer,
                                                  &fused_bound.ratio, &fused_bound.lo, &fused_bound.hi,
                                                  &fused_bound.sweep_gbps);
            for (int g = 0; g < N_PAIR_GATES; g++)
                for (unsigned i = 0; i < n_pair_qubits; i++)
                    for (unsigned j = 0; j < n_pair_qubits; j++) {
                        unsigned a = pair_qubits[i], b = pair_qubits[j];
                        bool symmetric = strcmp(pair_gates[g], "cnot") && strcmp(pair_gates[g], "cry");
                        if (a == b || (symmetric && a > b))
                            continue;
                        double seconds, bytes;
                        double pattern_seconds = 0.0, full_seconds = 0.0, pattern_share = 0.0;
                        if (!status)
                            status = time_pair(pair_gates[g], a, b, state, n, quick ? 3 : 7, min_seconds / 5,
                                               pattern_buffer, best_limit_variant, &seconds, &bytes,
                                               &pattern_seconds, &full_seconds, &pattern_share);
                        if (status) {
                            free(raw);
                            qml_statevec_free(state);
                            free(pairs);
                            return cli_fail("bench statevec: pair", status);
                        }
                        pair_result *p = &pairs[n_pairs++];
                        p->gate = pair_gates[g];
                        p->a = a;
                        p->b = b;
                        p->ns = seconds * 1e9;
                        p->share = bytes / seconds / 1e9 / limit_inplace;
                        p->bytes_fraction = bytes / (32.0 * (double)((uint64_t)1 << n));
                        /* the pattern limit: the fastest of the sweeps touching
                         * the gate's lines, the full in-place sweep among them,
                         * timed alternately with the gate (a limit timed once
                         * at the start would judge the gate against another
                         * machine state); the share paired per repeat */
                        p->full_ns = full_seconds * 1e9;
                        p->pattern_ns = pattern_seconds * 1e9;
                        p->pattern_share = pattern_share;
                    }
            /* one-qubit gates on qubits 0..10 and the top (0, 8 and the top
             * with --quick): the walks of mid-range targets */
            for (int g = 0; g < N_SINGLE_GATES && !status; g++)
                for (unsigned t = 0; t < pair_n && !status; t++) {
                    if (quick ? (t != 0 && t != 8 && t != pair_n - 1) : (t > 10 && t != pair_n - 1))
                        continue;
                    double seconds, bytes, pattern_seconds = 0.0, full_seconds = 0.0, pattern_share = 0.0;
                    status = time_pair(single_gates[g], t, t, state, n, quick ? 3 : 7, min_seconds / 5,
                                       pattern_buffer, best_limit_variant, &seconds, &bytes, &pattern_seconds,
                                       &full_seconds, &pattern_share);
                    if (status)
                        break;
                    pair_result *p = &singles[n_singles++];
                    p->gate = single_gates[g];
                    p->a = p->b = t;
                    p->ns = seconds * 1e9;
                    p->share = bytes / seconds / 1e9 / limit_inplace;
                    p->bytes_fraction = bytes / (32.0 * (double)((uint64_t)1 << n));
                    p->full_ns = full_seconds * 1e9;
                    p->pattern_ns = pattern_seconds * 1e9;
                    p->pattern_share = pattern_share;
                }
            free(raw);
            if (status) {
                qml_statevec_free(state);
                free(pairs);
                return cli_fail("bench statevec: one-qubit gate", status);
            }
        }
        qml_statevec_free(state);
    }
    double min_single = 1e300;
    unsigned below_single = 0;
    for (size_t k = 0; k < n_singles; k++) {
        min_single = singles[k].pattern_share < min_single ? singles[k].pattern_share : min_single;
        below_single += singles[k].pattern_share < 0.85;
    }
    /* Both limits' minima and the rows below 0.85 of each. The verdict is
     * the pattern limit's (docs/simulator.md, "Which limit the verdict
     * uses"): a gate is at the limit when no sweep touching the same lines
     * is faster; the line model's share is kept beside it. */
    double min_share = 1e300, min_pattern_share = 1e300;
    const pair_result *worst = NULL, *worst_pattern = NULL;
    unsigned below = 0, below_pattern = 0;
    for (size_t k = 0; k < n_pairs; k++) {
        if (pairs[k].share < min_share) {
            min_share = pairs[k].share;
            worst = &pairs[k];
        }
        if (pairs[k].pattern_share < min_pattern_share) {
            min_pattern_share = pairs[k].pattern_share;
            worst_pattern = &pairs[k];
        }
        below += pairs[k].share < 0.85;
        below_pattern += pairs[k].pattern_share < 0.85;
    }

    cli_idle_check_end(&idle);
    /* the figures of the largest size: fused layer over its bound (first
     * thread count), and the speed-up of the second thread count over the
     * first for the expectation and the fused layer */
    unsigned top_n = pair_n, t1 = thread_list[0], t2 = n_thread_counts > 1 ? thread_list[1] : thread_list[0];
    double fused_over_bound = fused_bound.ratio;
    double f1 = row_ns(results, n_results, "ry_cnot_fused", top_n, t1);
    double u1 = row_ns(results, n_results, "ry_cnot", top_n, t1);
    /* per layer: ns_per_gate x gates; both rows have the same gates */
    double fusion_speedup = f1 > 0.0 ? u1 / f1 : (double)NAN;

    if (json) {
        cli_json out;
        cli_json_begin(&out, stdout, "bench-statevec", argc, argv);
        cli_json_kv_bool(&out, "quick", quick);
        cli_json_kv_number(&out, "inplace_gbps", limit_inplace);
        cli_json_key(&out, "inplace_variants_gbps");
        cli_json_object_begin(&out);
        for (int v = 0; v < N_LIMIT_VARIANTS; v++)
            cli_json_kv_number(&out, limit_variant_names[v], limit_variants[v]);
        cli_json_object_end(&out);
        cli_json_kv_number(&out, "read_gbps", limit_read);
        cli_json_kv_bool(&out, "true_bytes", true);
        cli_json_key(&out, "results");
        cli_json_array_begin(&out);
        for (int k = 0; k < n_results; k++) {
            double base = results[k].ns_per_gate;
            for (int j = 0; j < n_results; j++)
                if (results[j].n == results[k].n && !strcmp(results[j].workload, results[k].workload) &&
                    results[j].threads == thread_list[0])
                    base = results[j].ns_per_gate;
            cli_json_object_begin(&out);
            cli_json_kv_string(&out, "workload", results[k].workload);
            cli_json_kv_u64(&out, "n", results[k].n);
            cli_json_kv_u64(&out, "threads", results[k].threads);
            cli_json_kv_number(&out, "ns_per_gate", results[k].ns_per_gate);
            cli_json_kv_number(&out, "gbps", results[k].gbps);
            cli_json_kv_number(&out, "ratio_to_limit", results[k].ratio);
            cli_json_kv_number(&out, "thread_speedup", base / results[k].ns_per_gate);
            /* ry_cnot only; null for the other workloads */
            cli_json_kv_number(&out, "layer_over_bound",
                               !strncmp(results[k].workload, "ry_cnot", 7) ? results[k].over_bound : (double)NAN);
            cli_json_object_end(&out);
        }
        cli_json_array_end(&out);
        cli_json_kv_u64(&out, "pairs_n", pair_n);
        cli_json_kv_u64(&out, "pairs_threads", thread_list[0]);
        cli_json_key(&out, "pairs");
        cli_json_array_begin(&out);
        for (size_t k = 0; k < n_pairs; k++) {
            cli_json_object_begin(&out);
            cli_json_kv_string(&out, "gate", pairs[k].gate);
            cli_json_key(&out, "qubits");
            cli_json_array_begin(&out);
            cli_json_u64(&out, pairs[k].a);
            cli_json_u64(&out, pairs[k].b);
            cli_json_array_end(&out);
            cli_json_kv_number(&out, "ns", pairs[k].ns);
            cli_json_kv_number(&out, "true_bytes_fraction", pairs[k].bytes_fraction);
            json_shares(&out, &pairs[k]);
            cli_json_object_end(&out);
        }
        cli_json_array_end(&out);
        cli_json_kv_number(&out, "pairs_min_share_of_limit", n_pairs ? min_share : (double)NAN);
        cli_json_kv_number(&out, "pairs_min_share_of_pattern_limit", n_pairs ? min_pattern_share : (double)NAN);
        cli_json_kv_u64(&out, "pairs_below_0_85_of_limit", below);
        cli_json_kv_u64(&out, "pairs_below_0_85_of_pattern_limit", below_pattern);
        cli_json_kv_string(&out, "pairs_verdict_limit", "pattern");
        cli_json_key(&out, "singles");
        cli_json_array_begin(&out);
        for (size_t k = 0; k < n_singles; k++) {
            cli_json_object_begin(&out);
            cli_json_kv_string(&out, "gate", singles[k].gate);
            cli_json_kv_u64(&out, "qubit", singles[k].a);
            cli_json_kv_number(&out, "ns", singles[k].ns);
            json_shares(&out, &singles[k]);
            cli_json_object_end(&out);
        }
        cli_json_array_end(&out);
        cli_json_kv_number(&out, "singles_min_share_of_pattern_limit", n_singles ? min_single : (double)NAN);
        cli_json_kv_u64(&out, "singles_below_0_85_of_pattern_limit", below_single);
        cli_json_kv_u64(&out, "summary_n", top_n);
        cli_json_kv_number(&out, "fused_layer_over_bound", fused_over_bound);
        cli_json_kv_number(&out, "fused_layer_over_bound_min", fused_bound.lo);
        cli_json_kv_number(&out, "fused_layer_over_bound_max", fused_bound.hi);
        cli_json_kv_number(&out, "fused_bound_sweep_gbps", fused_bound.sweep_gbps);
        cli_json_kv_number(&out, "fused_over_unfused_speedup", fusion_speedup);
        cli_json_kv_u64(&out, "speedup_threads", t2);
        cli_json_kv_u64(&out, "speedup_base_threads", t1);
        cli_json_kv_number(&out, "expectation_thread_speedup", expectation_speedup.median);
        cli_json_kv_number(&out, "expectation_thread_speedup_min", expectation_speedup.lo);
        cli_json_kv_number(&out, "expectation_thread_speedup_max", expectation_speedup.hi);
        cli_json_kv_number(&out, "fused_layer_thread_speedup", fused_speedup.median);
        cli_json_kv_number(&out, "fused_layer_thread_speedup_min", fused_speedup.lo);
        cli_json_kv_number(&out, "fused_layer_thread_speedup_max", fused_speedup.hi);
        cli_json_idle_check(&out, &idle);
        cli_json_end(&out);
    } else {
        printf("machine limits (512 MiB buffer on huge pages where available, 1 thread): in-place %.2f GB/s, the best "
               "median of",
               limit_inplace);
        for (int v = 0; v < N_LIMIT_VARIANTS; v++)
            printf(" %s %.2f%s", limit_variant_names[v], limit_variants[v], v + 1 < N_LIMIT_VARIANTS ? "," : "");
        printf(" (16 B/element); read %.2f GB/s (8 accumulators, 8 B/element)\n", limit_read);
        printf("bytes are true: 128 B read per aligned pair of cache lines holding an amplitude the kernel touches, 64 B\n"
               "written per line holding one it changes (a CNOT with its control on qubit 3+ moves half of a full sweep's\n"
               "32 B per amplitude, on qubit 2 three quarters), an expectation pass 16 B per amplitude; ratio = GB/s / limit\n"
               "(in-place for gates, read for expval_zz); speedup = this thread count vs the first; over bound (ry_cnot*) =\n"
               "layer time / (gates x one full in-place sweep at the limit); layers run gate by gate, ry_cnot_fused as fused\n"
               "blocks (kernels start threads only from 2^18 amplitudes: rows with n < 18 run on one thread whatever the count)\n\n");
        printf("%-10s %3s %7s %14s %9s %7s %8s %10s\n", "workload", "n", "threads", "ns/gate", "GB/s", "ratio",
               "speedup", "over bound");
        for (int k = 0; k < n_results; k++) {
            const result *r = &results[k];
            double base = r->ns_per_gate;
            for (int j = 0; j < n_results; j++)
                if (results[j].n == r->n && !strcmp(results[j].workload, r->workload) &&
                    results[j].threads == thread_list[0])
                    base = results[j].ns_per_gate;
            printf("%-10s %3u %7u %14.1f %9.2f %7.2f %8.2f", r->workload, r->n, r->threads, r->ns_per_gate, r->gbps,
                   r->ratio, base / r->ns_per_gate);
            if (!strncmp(r->workload, "ry_cnot", 7))
                printf(" %10.2f", r->over_bound);
            printf("\n");
        }
        printf("\ntwo-qubit gates per (control, target) pair at n = %u, %u thread(s): share of the in-place limit\n",
               pair_n, thread_list[0]);
        printf("(share: true bytes / time over the in-place limit; pattern: the best sweep touching the same lines,\n"
               "timed alternately with the gate, over the gate's time: the verdict's limit)\n");
        printf("%-6s %5s %5s %12s %7s %7s %12s %8s\n", "gate", "a", "b", "ns", "bytes", "share", "pattern ns",
               "pattern");
        for (size_t k = 0; k < n_pairs; k++)
            printf("%-6s %5u %5u %12.1f %7.2f %7.2f %12.1f %8.2f\n", pairs[k].gate, pairs[k].a, pairs[k].b,
                   pairs[k].ns, pairs[k].bytes_fraction, pairs[k].share, pairs[k].pattern_ns, pairs[k].pattern_share);
        if (worst && worst_pattern)
            printf("lowest share of the pattern limit: %.2f (%s on %u, %u), %u rows below 0.85; of the in-place "
                   "limit: %.2f (%s on %u, %u), %u rows below 0.85\n",
                   worst_pattern->pattern_share, worst_pattern->gate, worst_pattern->a, worst_pattern->b,
                   below_pattern, worst->share, worst->gate, worst->a, worst->b, below);
        printf("\none-qubit gates per qubit at n = %u, %u thread(s), timed as the pairs\n", pair_n, thread_list[0]);
        printf("%-6s %5s %12s %7s %12s %8s\n", "gate", "qubit", "ns", "share", "pattern ns", "pattern");
        for (size_t k = 0; k < n_singles; k++)
            printf("%-6s %5u %12.1f %7.2f %12.1f %8.2f\n", singles[k].gate, singles[k].a, singles[k].ns,
                   singles[k].share, singles[k].pattern_ns, singles[k].pattern_share);
        if (n_singles)
            printf("lowest share of the pattern limit: %.2f, %u rows below 0.85\n", min_single, below_single);
        printf("\nn = %u: fused RY + CNOT layer over (gates x one full sweep, timed alternately): %.2f, per repeat "
               "%.2f..%.2f (target <= 0.5; sweep %.1f GB/s); fused over gate-by-gate: %.2fx faster\n",
               top_n, fused_over_bound, fused_bound.lo, fused_bound.hi, fused_bound.sweep_gbps, fusion_speedup);
        printf("%u threads over %u, timed alternately (median of per-repeat ratios, least..greatest): expectation "
               "%.2fx (%.2f..%.2f), fused layer %.2fx (%.2f..%.2f)\n",
               t2, t1, expectation_speedup.median, expectation_speedup.lo, expectation_speedup.hi,
               fused_speedup.median, fused_speedup.lo, fused_speedup.hi);
        cli_print_idle_check(&idle);
    }
    free(pairs);
    if (sink == 42.0) /* keep the read loop from being optimised away */
        fputc(' ', stderr);
    return 0;
}

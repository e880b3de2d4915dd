/**
 * @file qml.h
 * @brief libqml: will this variational quantum circuit train, and why?
 *
 * This is the only public header of libqml. If a declaration is not here, it
 * is not API. libqml implements the dynamical-Lie-algebra (DLA) framework of
 * arXiv:2606.31536: Pauli operator algebra, circuits and a statevector
 * simulator, gradients, Lie-algebra analysis, barren-plateau diagnostics and
 * training.
 *
 * Conventions that hold for every function:
 * - Fallible calls return `int`: 0 (#QML_OK) on success, a negative
 *   #qml_status on failure. On failure, qml_last_error() holds a message with
 *   the specifics for the calling thread, and out-parameters are left unset
 *   unless the function says otherwise.
 * - Objects are opaque handles. Constructors take the out-parameter first.
 *   Every handle type has one `_free` function; `_free(NULL)` does nothing.
 *   A `**out` result is owned by the caller.
 * - Complex numbers cross the ABI as interleaved `double` (re, im) pairs.
 * - Options structs begin with `size_t size`; initialise them with their
 *   `QML_*_OPTIONS_INIT` macro. Fields are only ever appended.
 * - Thread safety: distinct handles are independent; one handle must not be
 *   used by two threads at once unless a function says so. Functions taking
 *   `const` handles may be called concurrently on the same handle.
 * - Qubit k is bit k of a computational-basis index (little-endian): the
 *   amplitude of |b_{n-1} ... b_1 b_0> is at index sum_k b_k 2^k.
 *
 * @since 0.1.0
 */
#ifndef QML_H
#define QML_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(QML_BUILDING_LIBRARY) && defined(__GNUC__)
#define QML_API __attribute__((visibility("default")))
#else
#define QML_API
#endif

/* ======================================================================== */
/** @name Versions */
/* ======================================================================== */
/**@{*/

/** Major version: releases with the same major version are ABI compatible. */
#define QML_VERSION_MAJOR 0
/** Minor version: new API, backwards compatible. */
#define QML_VERSION_MINOR 1
/** Patch version: fixes only. */
#define QML_VERSION_PATCH 0
/** The version as one number, MAJOR*10000 + MINOR*100 + PATCH. */
#define QML_VERSION_NUMBER \
    (QML_VERSION_MAJOR * 10000 + QML_VERSION_MINOR * 100 + QML_VERSION_PATCH)

/**
 * @brief The version of the library loaded at run time, as
 * #QML_VERSION_NUMBER encodes it. Compare with #QML_VERSION_NUMBER to check
 * that the library matches the header a program was compiled against.
 * @since 0.1.0
 */
QML_API unsigned qml_version_number(void);

/** @brief The run-time version as "MAJOR.MINOR.PATCH" (static storage). @since 0.1.0 */
QML_API const char *qml_version_string(void);

/**@}*/

/* ======================================================================== */
/** @name Errors */
/* ======================================================================== */
/**@{*/

/**
 * @brief Status codes. Values are pinned and never renumbered.
 * @since 0.1.0
 */
typedef enum qml_status {
    QML_OK = 0,                        /**< success */
    QML_ERR_INVALID_ARGUMENT = -1,     /**< a NULL handle, bad size, NaN, ... */
    QML_ERR_OUT_OF_MEMORY = -2,        /**< an allocation failed */
    QML_ERR_OUT_OF_RANGE = -3,         /**< an index outside its range, or a buffer too small */
    QML_ERR_PARSE = -4,                /**< malformed text input */
    QML_ERR_UNSUPPORTED = -5,          /**< valid, but not supported (e.g. non-commuting evolution terms) */
    QML_ERR_LIMIT = -6,                /**< a size or dimension limit was reached */
    QML_ERR_CANCELLED = -7,            /**< a progress callback asked to stop */
    QML_ERR_IO = -8,                   /**< a file could not be read or written */
    QML_ERR_NOT_NORMALIZED = -9,       /**< a state vector whose norm is not 1 */
    QML_ERR_THREAD = -10,              /**< a worker thread could not be started */
    QML_ERR_NOT_APPLICABLE = -11       /**< the hypotheses of a formula do not hold */
} qml_status;

/**
 * @brief A static, human-readable description of a status code.
 * @param status any integer; unknown codes give "unknown status".
 * @return never NULL; static storage.
 * @since 0.1.0
 */
QML_API const char *qml_status_string(int status);

/**
 * @brief The message of the last failure on the calling thread, with the
 * specifics ("qubit 7 out of range for a 5-qubit circuit"). Empty if the
 * last call on this thread succeeded or no call failed yet.
 * @return never NULL; valid until the next libqml call on this thread.
 * @since 0.1.0
 */
QML_API const char *qml_last_error(void);

/**
 * @brief The status of the last failure on the calling thread (#QML_OK if
 * none since the last qml_clear_error()).
 * @since 0.1.0
 */
QML_API qml_status qml_last_status(void);

/** @brief Forget the calling thread's last error. @since 0.1.0 */
QML_API void qml_clear_error(void);

/**@}*/

/* ======================================================================== */
/** @name Memory */
/* ======================================================================== */
/**@{*/

/**
 * @brief An allocator: every allocation libqml makes goes through it.
 * The functions follow the contracts of malloc, realloc and free.
 * `free_fn(NULL, user)` must be a no-op.
 * @since 0.1.0
 */
typedef struct qml_allocator {
    size_t size;                                          /**< sizeof(qml_allocator) */
    void *(*malloc_fn)(size_t size, void *user);          /**< allocate */
    void *(*realloc_fn)(void *ptr, size_t size, void *user); /**< resize */
    void (*free_fn)(void *ptr, void *user);               /**< release */
    void *user;                                           /**< passed to each function */
} qml_allocator;

/**
 * @brief Install an allocator, or restore the C library's with NULL.
 *
 * Process-wide. Call it before any other libqml call and while no handle is
 * alive: memory allocated by one allocator is released by it, so switching
 * with live handles is undefined. Not thread-safe.
 * @return #QML_OK, or #QML_ERR_INVALID_ARGUMENT if a function pointer is NULL
 * or `size` is not a known size.
 * @since 0.1.0
 */
QML_API int qml_set_allocator(const qml_allocator *allocator);

/** @brief Release memory that a libqml function documents as caller-owned. @since 0.1.0 */
QML_API void qml_free(void *ptr);

/**@}*/

/* ======================================================================== */
/** @name Random numbers */
/* ======================================================================== */
/**@{*/

/**
 * @brief A seedable, splittable pseudo-random generator (xoshiro256**).
 *
 * A generator is identified by (seed, stream): every stream of one seed is an
 * independent sequence. The library gives each sample, row or worker its own
 * stream, so results depend on the seed, never on the thread count.
 * @since 0.1.0
 */
typedef struct qml_rng qml_rng;

/**
 * @brief Create a generator for stream `stream` of seed `seed`.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_rng_create(qml_rng **out, uint64_t seed, uint64_t stream);
/** @brief Free a generator (NULL is a no-op). @since 0.1.0 */
QML_API void qml_rng_free(qml_rng *rng);
/** @brief The next 64 uniformly random bits. @since 0.1.0 */
QML_API uint64_t qml_rng_next(qml_rng *rng);
/** @brief A uniform double in [0, 1) with 53 random bits. @since 0.1.0 */
QML_API double qml_rng_uniform(qml_rng *rng);
/** @brief A standard normal deviate. @since 0.1.0 */
QML_API double qml_rng_normal(qml_rng *rng);
/** @brief A uniform integer in [0, bound), unbiased; 0 if bound is 0. @since 0.1.0 */
QML_API uint64_t qml_rng_below(qml_rng *rng, uint64_t bound);

/**@}*/

/* ======================================================================== */
/** @name Progress */
/* ======================================================================== */
/**@{*/

/**
 * @brief A progress callback for long work.
 * @param stage what is being done (static text).
 * @param done units of work done so far.
 * @param total units of work in all (0 if unknown).
 * @param user the pointer given with the callback.
 * @return 0 to go on; anything else cancels the work, which then returns
 * #QML_ERR_CANCELLED.
 * @since 0.1.0
 */
typedef int (*qml_progress_fn)(const char *stage, size_t done, size_t total, void *user);

/**@}*/

/* ======================================================================== */
/** @name Pauli operators (pauli.c)
 *
 * A Hermitian operator on n qubits is a real linear combination of Pauli
 * strings. A string is written densely ("XIZ": character k acts on qubit k;
 * note that Qiskit labels read the other way round) or indexed ("X0 Z2").
 * Sums are written as `0.5*X0 Z3 - 2 Y1 + Z0`: coefficients optional, `*`
 * optional, whitespace free, `I` allowed, scientific notation accepted.
 */
/* ======================================================================== */
/**@{*/

/** @brief A real linear combination of Pauli strings. @since 0.1.0 */
typedef struct qml_pauli_sum qml_pauli_sum;

/** @brief Create the zero operator on `n_qubits` >= 1 qubits. @since 0.1.0 */
QML_API int qml_pauli_sum_create(qml_pauli_sum **out, unsigned n_qubits);
/** @brief Deep copy. @since 0.1.0 */
QML_API int qml_pauli_sum_copy(qml_pauli_sum **out, const qml_pauli_sum *sum);
/** @brief Free (NULL is a no-op). @since 0.1.0 */
QML_API void qml_pauli_sum_free(qml_pauli_sum *sum);
/** @brief Number of qubits (0 for NULL). @since 0.1.0 */
QML_API unsigned qml_pauli_sum_n_qubits(const qml_pauli_sum *sum);
/** @brief Number of (non-zero) terms (0 for NULL). @since 0.1.0 */
QML_API size_t qml_pauli_sum_n_terms(const qml_pauli_sum *sum);

/**
 * @brief Parse a Pauli sum.
 * @param n_qubits the number of qubits, or 0 to infer it (largest index + 1,
 *        or the length of a dense string).
 * @return #QML_OK, #QML_ERR_PARSE (message names the position and text),
 *         #QML_ERR_OUT_OF_RANGE (a qubit index >= n_qubits), ...
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_parse(qml_pauli_sum **out, unsigned n_qubits, const char *text);

/**
 * @brief Format in the indexed text form; parsing the text gives back the
 * same sum bit for bit (coefficients are printed in the shortest form that
 * round-trips). The zero operator formats as "0".
 * @param buffer where to write, NUL-terminated; may be NULL if capacity is 0.
 * @param capacity bytes available at buffer.
 * @param length set to the length of the text, without the NUL.
 * @return #QML_OK, or #QML_ERR_OUT_OF_RANGE if capacity <= length (nothing is
 *         written; call again with length + 1 bytes).
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_format(const qml_pauli_sum *sum, char *buffer, size_t capacity, size_t *length);

/**
 * @brief Add `coefficient` times the Pauli string given sparsely by
 * `ops[i]` ('I', 'X', 'Y' or 'Z') on `qubits[i]`, i < count (count may be 0:
 * the identity). Qubits must be distinct.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_add_term(qml_pauli_sum *sum, double coefficient, const char *ops,
                                   const unsigned *qubits, size_t count);

/**
 * @brief Add `coefficient` times a dense string of exactly n_qubits
 * characters from "IXYZ" (character k acts on qubit k).
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_add_string(qml_pauli_sum *sum, double coefficient, const char *dense);

/**
 * @brief Read term `index` (< n_terms): its coefficient and its dense string
 * (n_qubits characters plus a NUL, so `dense` needs n_qubits + 1 bytes; may be
 * NULL). Terms are in a deterministic order that depends only on the sequence
 * of operations that built the sum.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_term(const qml_pauli_sum *sum, size_t index, double *coefficient, char *dense);

/** @brief `sum += alpha * other` (same number of qubits). @since 0.1.0 */
QML_API int qml_pauli_sum_add(qml_pauli_sum *sum, double alpha, const qml_pauli_sum *other);
/** @brief `sum *= alpha` (alpha = 0 empties the sum). @since 0.1.0 */
QML_API int qml_pauli_sum_scale(qml_pauli_sum *sum, double alpha);

/**
 * @brief The Lie bracket in Hermitian form, `-i [A, B] = -i (AB - BA)`,
 * which is Hermitian again.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_bracket(qml_pauli_sum **out, const qml_pauli_sum *a, const qml_pauli_sum *b);
/** @brief The anticommutator `{A, B} / 2 = (AB + BA) / 2`. @since 0.1.0 */
QML_API int qml_pauli_sum_anticommutator(qml_pauli_sum **out, const qml_pauli_sum *a, const qml_pauli_sum *b);

/** @brief The normalised Hilbert-Schmidt inner product Tr(AB) / 2^n. @since 0.1.0 */
QML_API int qml_pauli_sum_inner(const qml_pauli_sum *a, const qml_pauli_sum *b, double *out);
/** @brief The norm sqrt(Tr(A^2) / 2^n). @since 0.1.0 */
QML_API int qml_pauli_sum_norm(const qml_pauli_sum *a, double *out);
/** @brief The normalised trace Tr(A) / 2^n (the identity coefficient). @since 0.1.0 */
QML_API int qml_pauli_sum_trace(const qml_pauli_sum *a, double *out);

/**
 * @brief Whether A and B are equal: every coefficient of A - B is at most
 * `tolerance` in magnitude. Sets `*equal` to 1 or 0.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_equal(const qml_pauli_sum *a, const qml_pauli_sum *b, double tolerance, int *equal);

/**
 * @brief Whether A and B commute exactly as operators ([A, B] = 0 up to
 * `tolerance` on each coefficient). Sets `*commute` to 1 or 0.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_commutes(const qml_pauli_sum *a, const qml_pauli_sum *b, double tolerance, int *commute);

/**
 * @brief Whether two dense Pauli strings of n_qubits characters commute.
 * Sets `*commute` to 1 or 0.
 * @since 0.1.0
 */
QML_API int qml_pauli_strings_commute(unsigned n_qubits, const char *a, const char *b, int *commute);

/**
 * @brief The qubits some term acts on non-trivially, ascending.
 * @param qubits output array of `capacity` entries (may be NULL if capacity is 0).
 * @param count set to the number of such qubits, even if it exceeds capacity
 *        (then #QML_ERR_OUT_OF_RANGE is returned).
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_support(const qml_pauli_sum *sum, unsigned *qubits, size_t capacity, size_t *count);

/**
 * @brief The dense 2^n x 2^n matrix, row-major, interleaved (re, im):
 * `matrix[2*(r*2^n + c)]` is the real part of entry (r, c).
 * @param capacity number of doubles at `matrix`: at least 2 * 4^n.
 * @return #QML_ERR_LIMIT for n > 14.
 * @since 0.1.0
 */
QML_API int qml_pauli_sum_to_dense(const qml_pauli_sum *sum, double *matrix, size_t capacity);

/**@}*/

/* ======================================================================== */
/** @name Circuits (circuit.c)
 *
 * A circuit is an ordered list of gates on n qubits. Every parametrised gate
 * is `exp(-i theta/2 G)` for a Hermitian generator G (a #qml_pauli_sum); the
 * generator is exact, global phase included (the phase shift is
 * diag(1, e^{i theta}) = exp(-i theta/2 (Z - I))). Each angle is an affine
 * function of at most one trainable weight and at most one input feature:
 * `theta = constant + weight_scale * w[weight] + feature_scale * x[feature]`,
 * with #QML_NONE for "no weight" or "no feature".
 */
/* ======================================================================== */
/**@{*/

/** @brief A circuit. @since 0.1.0 */
typedef struct qml_circuit qml_circuit;

/** @brief "No weight" or "no feature" in an angle. */
#define QML_NONE (-1)

/**
 * @brief Gate kinds. Values are pinned.
 * Fixed gates: 1-qubit 1..9, 2-qubit 10..14, Toffoli 15 (controls first,
 * target last), matrices 20..21. Parametrised gates: 30 and up.
 * @since 0.1.0
 */
typedef enum qml_gate_kind {
    QML_GATE_I = 0,
    QML_GATE_X = 1,
    QML_GATE_Y = 2,
    QML_GATE_Z = 3,
    QML_GATE_H = 4,
    QML_GATE_S = 5,
    QML_GATE_SDG = 6,
    QML_GATE_T = 7,
    QML_GATE_TDG = 8,
    QML_GATE_SX = 9,
    QML_GATE_CNOT = 10,        /**< qubits: control, target */
    QML_GATE_CY = 11,          /**< qubits: control, target */
    QML_GATE_CZ = 12,
    QML_GATE_SWAP = 13,
    QML_GATE_ISWAP = 14,
    QML_GATE_TOFFOLI = 15,     /**< qubits: control, control, target */
    QML_GATE_UNITARY1 = 20,    /**< a 2x2 matrix */
    QML_GATE_UNITARY2 = 21,    /**< a 4x4 matrix; row/column index = b_q0 + 2 b_q1 */
    QML_GATE_RX = 30,          /**< G = X */
    QML_GATE_RY = 31,          /**< G = Y */
    QML_GATE_RZ = 32,          /**< G = Z */
    QML_GATE_RXX = 33,         /**< G = X X */
    QML_GATE_RYY = 34,         /**< G = Y Y */
    QML_GATE_RZZ = 35,         /**< G = Z Z */
    QML_GATE_CRX = 36,         /**< G = (I - Z_c) X_t / 2; qubits: control, target */
    QML_GATE_CRY = 37,         /**< G = (I - Z_c) Y_t / 2 */
    QML_GATE_CRZ = 38,         /**< G = (I - Z_c) Z_t / 2 */
    QML_GATE_PHASE = 39,       /**< diag(1, e^{i theta}); G = Z - I */
    QML_GATE_PAULI_ROTATION = 40,  /**< G = one Pauli string P (coefficient 1) */
    QML_GATE_PAULI_EVOLUTION = 41  /**< G = a Pauli sum with pairwise commuting terms */
} qml_gate_kind;

/** @brief Create an empty circuit on `n_qubits` (1..62) qubits. @since 0.1.0 */
QML_API int qml_circuit_create(qml_circuit **out, unsigned n_qubits);
/** @brief Deep copy. @since 0.1.0 */
QML_API int qml_circuit_copy(qml_circuit **out, const qml_circuit *circuit);
/** @brief Free (NULL is a no-op). @since 0.1.0 */
QML_API void qml_circuit_free(qml_circuit *circuit);
/** @brief Number of qubits (0 for NULL). @since 0.1.0 */
QML_API unsigned qml_circuit_n_qubits(const qml_circuit *circuit);
/** @brief Number of gates (0 for NULL). @since 0.1.0 */
QML_API size_t qml_circuit_n_gates(const qml_circuit *circuit);
/** @brief Number of trainable weights: the largest weight index read, plus 1. @since 0.1.0 */
QML_API size_t qml_circuit_n_weights(const qml_circuit *circuit);
/** @brief Number of input features: the largest feature index read, plus 1. @since 0.1.0 */
QML_API size_t qml_circuit_n_features(const qml_circuit *circuit);
/** @brief Number of parametrised gates (0 for NULL). @since 0.1.0 */
QML_API size_t qml_circuit_n_parametrised(const qml_circuit *circuit);

/**
 * @brief Append a fixed gate (kinds 0..15).
 * @param qubits `count` distinct qubits, as many as the gate acts on.
 * @since 0.1.0
 */
QML_API int qml_circuit_add_gate(qml_circuit *circuit, qml_gate_kind kind, const unsigned *qubits, size_t count);

/**
 * @brief Append an arbitrary 1- or 2-qubit unitary, given as a 2^count x
 * 2^count row-major matrix of interleaved (re, im) doubles; it must be
 * unitary to 1e-10.
 * @since 0.1.0
 */
QML_API int qml_circuit_add_unitary(qml_circuit *circuit, const double *matrix, const unsigned *qubits, size_t count);

/**
 * @brief Append a parametrised gate of kind RX..PHASE (30..39) with angle
 * `constant + weight_scale * w[weight] + feature_scale * x[feature]`.
 * @param weight a weight index >= 0, or #QML_NONE.
 * @param feature a feature index >= 0, or #QML_NONE.
 * @since 0.1.0
 */
QML_API int qml_circuit_add_rotation(qml_circuit *circuit, qml_gate_kind kind, const unsigned *qubits, size_t count,
                                     double constant, long weight, double weight_scale,
                                     long feature, double feature_scale);

/**
 * @brief Append `exp(-i theta/2 H)` for a Pauli sum H whose terms commute
 * pairwise (identity terms are allowed: they are a global phase). A single
 * string with coefficient 1 becomes a #QML_GATE_PAULI_ROTATION, anything
 * else a #QML_GATE_PAULI_EVOLUTION. The circuit keeps its own copy of H.
 * @return #QML_ERR_UNSUPPORTED if two terms anticommute (the message names
 *         them), #QML_ERR_INVALID_ARGUMENT for an empty H, ...
 * @since 0.1.0
 */
QML_API int qml_circuit_add_pauli_rotation(qml_circuit *circuit, const qml_pauli_sum *generator,
                                           double constant, long weight, double weight_scale,
                                           long feature, double feature_scale);

/**
 * @brief Describe gate `index`.
 * @param kind, qubits (>= 3 entries), count: any may be NULL.
 * @since 0.1.0
 */
QML_API int qml_circuit_gate(const qml_circuit *circuit, size_t index, qml_gate_kind *kind,
                             unsigned *qubits, size_t *count);

/**
 * @brief The angle of parametrised gate `index`; any out-pointer may be NULL.
 * @return #QML_ERR_INVALID_ARGUMENT if the gate is not parametrised.
 * @since 0.1.0
 */
QML_API int qml_circuit_gate_angle(const qml_circuit *circuit, size_t index, double *constant, long *weight,
                                   double *weight_scale, long *feature, double *feature_scale);

/**
 * @brief The generator G of parametrised gate `index` (gate =
 * exp(-i theta/2 G)), as a new sum on the circuit's qubits.
 * @since 0.1.0
 */
QML_API int qml_circuit_gate_generator(const qml_circuit *circuit, size_t index, qml_pauli_sum **out);

/**
 * @brief The effective generator of weight `weight`:
 * sum over the gates reading it of weight_scale * G. This is what the
 * weight moves, and what the Lie-algebra analysis takes for shared weights.
 * @since 0.1.0
 */
QML_API int qml_circuit_weight_generator(const qml_circuit *circuit, long weight, qml_pauli_sum **out);

/**@}*/

/* ======================================================================== */
/** @name Circuit templates (ansatz.c)
 *
 * Templates append to an existing circuit; their weights are numbered from
 * the circuit's current qml_circuit_n_weights().
 */
/* ======================================================================== */
/**@{*/

/** @brief Entangling gates of the hardware-efficient ansatz. Values pinned. @since 0.1.0 */
typedef enum qml_entangler {
    QML_ENTANGLER_CZ = 0,
    QML_ENTANGLER_CNOT = 1
} qml_entangler;

/** @brief Ladder boundary. Values pinned. @since 0.1.0 */
typedef enum qml_boundary {
    QML_BOUNDARY_OPEN = 0,
    QML_BOUNDARY_PERIODIC = 1
} qml_boundary;

/**
 * @brief The hardware-efficient ansatz: `layers` layers, each RY(w) then
 * RZ(w) on every qubit, then an entangler ladder on bonds (q, q+1) (and
 * (n-1, 0) if periodic and n > 2). 2 n layers weights.
 * @since 0.1.0
 */
QML_API int qml_ansatz_hardware_efficient(qml_circuit *circuit, unsigned layers, qml_entangler entangler,
                                          qml_boundary boundary);

/**
 * @brief A layered circuit from generators: in each of `layers` layers,
 * `exp(-i w/2 G_k)` for k = 0..count-1 in order.
 * @param groups NULL for one weight per generator per layer, or `count`
 *        group numbers: generators of one group share one weight in a layer.
 * @param share_layers non-zero to reuse the same weights in every layer.
 * @since 0.1.0
 */
QML_API int qml_ansatz_layered(qml_circuit *circuit, const qml_pauli_sum *const *generators, size_t count,
                               const unsigned *groups, unsigned layers, int share_layers);

/** @brief Named circuit families. Values pinned. @since 0.1.0 */
typedef enum qml_ansatz_family {
    QML_ANSATZ_HEA = 0,          /**< hardware-efficient, open CZ ladder: DLA su(2^n) */
    QML_ANSATZ_TFIM = 1,         /**< {X_i, Z_i Z_{i+1}} open, local weights: DLA so(2n) */
    QML_ANSATZ_TFIM_GLOBAL = 2,  /**< {sum X_i, sum Z_i Z_{i+1}} periodic, one weight each */
    QML_ANSATZ_SN = 3,           /**< permutation-equivariant {sum X_i, sum Z_i, sum_{i<j} Z_i Z_j} */
    QML_ANSATZ_HEISENBERG = 4    /**< {X_i X_{i+1} + Y_i Y_{i+1} + Z_i Z_{i+1}} open, local weights */
} qml_ansatz_family;

/** @brief Append `layers` layers of a named family. @since 0.1.0 */
QML_API int qml_ansatz_family_append(qml_circuit *circuit, qml_ansatz_family family, unsigned layers);

/**
 * @brief Angle encoding: for each qubit q, a rotation of `kind` (RX, RY or
 * RZ) by `scale * x[q mod n_features]`; feature j thus lands on qubits j,
 * j + n_features, ...
 * @since 0.1.0
 */
QML_API int qml_ansatz_angle_encoding(qml_circuit *circuit, qml_gate_kind kind, unsigned n_features, double scale);

/**@}*/

/* ======================================================================== */
/** @name Statevector simulator (statevec.c) */
/* ======================================================================== */
/**@{*/

/** @brief 2^n complex amplitudes and the kernels that act on them. @since 0.1.0 */
typedef struct qml_statevec qml_statevec;

/**
 * @brief Create |0...0> on n_qubits qubits.
 * @return #QML_ERR_LIMIT if 2^n amplitudes cannot be addressed or exceed the
 *         memory limit, #QML_ERR_OUT_OF_MEMORY if the allocation fails.
 * @since 0.1.0
 */
QML_API int qml_statevec_create(qml_statevec **out, unsigned n_qubits);
/** @brief Deep copy. @since 0.1.0 */
QML_API int qml_statevec_copy(qml_statevec **out, const qml_statevec *state);
/** @brief Free (NULL is a no-op). @since 0.1.0 */
QML_API void qml_statevec_free(qml_statevec *state);
/** @brief Number of qubits. @since 0.1.0 */
QML_API unsigned qml_statevec_n_qubits(const qml_statevec *state);
/**
 * @brief Threads the kernels may use: 0 = all cores, default 1. Results are
 * bitwise the same for any count.
 * @since 0.1.0
 */
QML_API int qml_statevec_set_threads(qml_statevec *state, unsigned n_threads);

/** @brief Set to |0...0>. @since 0.1.0 */
QML_API int qml_statevec_set_zero(qml_statevec *state);
/** @brief Set to the basis state |index>. @since 0.1.0 */
QML_API int qml_statevec_set_basis(qml_statevec *state, uint64_t index);
/**
 * @brief Set the amplitudes: `count` = 2^n complex numbers as 2 * count
 * doubles; the norm must be 1 within `tolerance` (e.g. 1e-10).
 * @return #QML_ERR_NOT_NORMALIZED otherwise.
 * @since 0.1.0
 */
QML_API int qml_statevec_set_amplitudes(qml_statevec *state, const double *amplitudes, size_t count, double tolerance);
/** @brief Copy the 2^n amplitudes out (2 * count doubles). @since 0.1.0 */
QML_API int qml_statevec_amplitudes(const qml_statevec *state, double *amplitudes, size_t count);
/** @brief Read-only view of the interleaved amplitudes, owned by the state. @since 0.1.0 */
QML_API const double *qml_statevec_data(const qml_statevec *state);
/** @brief The 2^n basis probabilities. @since 0.1.0 */
QML_API int qml_statevec_probabilities(const qml_statevec *state, double *probabilities, size_t count);

/**
 * @brief Apply the whole circuit for the given weights and features
 * (`n_weights` >= qml_circuit_n_weights, `n_features` >= qml_circuit_n_features;
 * arrays may be NULL when their count is 0).
 * @since 0.1.0
 */
QML_API int qml_statevec_run(qml_statevec *state, const qml_circuit *circuit, const double *weights, size_t n_weights,
                             const double *features, size_t n_features);

/** @brief Apply only gate `index` of a circuit. @since 0.1.0 */
QML_API int qml_statevec_apply_gate(qml_statevec *state, const qml_circuit *circuit, size_t index,
                                    const double *weights, size_t n_weights, const double *features, size_t n_features);

/** @brief <psi| O |psi> for a Pauli sum O, one pass per distinct X-mask. @since 0.1.0 */
QML_API int qml_statevec_expectation(const qml_statevec *state, const qml_pauli_sum *observable, double *value);

/** @brief <a|b> as (re, im). @since 0.1.0 */
QML_API int qml_statevec_inner(const qml_statevec *a, const qml_statevec *b, double *re, double *im);

/**
 * @brief Draw `shots` computational-basis outcomes (indices) with the
 * library PRNG, stream 0 of `seed`.
 * @since 0.1.0
 */
QML_API int qml_statevec_sample(const qml_statevec *state, uint64_t seed, size_t shots, uint64_t *outcomes);

/**
 * @brief A shot-based estimate of <O>: the terms are grouped by qubit-wise
 * commuting bases, and each group is measured with `shots` shots.
 * @param stderr_out set to the estimate's standard error (may be NULL).
 * @since 0.1.0
 */
QML_API int qml_statevec_estimate(const qml_statevec *state, const qml_pauli_sum *observable, size_t shots,
                                  uint64_t seed, double *estimate, double *stderr_out);

/**@}*/

/* ---- gradients (gradient.c): issue 4 ---- */

/* ---- dynamical Lie algebras (lie.c): issue 5 ---- */

/* ======================================================================== */
/** @name Dynamical Lie algebras (lie.c)
 *
 * The dynamical Lie algebra (DLA) of generators {G_k} is
 * g = span_R <i G_1, ..., i G_K>_Lie. libqml works with the Hermitian form
 * i g: a basis element is a Hermitian #qml_pauli_sum, the bracket is
 * -i[A, B], and the basis is orthonormal in the normalised Hilbert-Schmidt
 * inner product <A, B> = Tr(AB) / 2^n. docs/lie.md states the algorithms,
 * their costs and the normalisations of the purities.
 */
/* ======================================================================== */
/**@{*/

/** @brief A closed dynamical Lie algebra and its structure. @since 0.1.0 */
typedef struct qml_lie_algebra qml_lie_algebra;

/**
 * @brief Options of the closure. Initialise with #QML_LIE_OPTIONS_INIT.
 * @since 0.1.0
 */
typedef struct qml_lie_options {
    size_t size;              /**< sizeof(qml_lie_options) */
    size_t max_dim;           /**< stop once the algebra would exceed this dimension (0: no limit) */
    double tolerance;         /**< accept a candidate if its residual norm > tolerance * its norm (default 1e-9) */
    unsigned n_threads;       /**< threads (0 = all cores, default 1); results never depend on it */
    qml_progress_fn progress; /**< called now and then; non-zero cancels (may be NULL) */
    void *progress_user;      /**< passed to progress */
} qml_lie_options;

/** @brief Default options: no dimension limit, tolerance 1e-9, one thread, no callback. */
#define QML_LIE_OPTIONS_INIT {sizeof(qml_lie_options), 0, 1e-9, 1, NULL, NULL}

/**
 * @brief Close generators into their dynamical Lie algebra and analyse its
 * structure (centre, simple ideals, ranks).
 *
 * When every generator is a single Pauli string the closure is exact bit
 * arithmetic (no floating point); otherwise it is a re-orthogonalised
 * Gram-Schmidt closure with a relative acceptance tolerance.
 * @param[out] out the algebra, owned by the caller (free with qml_lie_algebra_free()).
 * @param generators `count` >= 1 Hermitian Pauli sums on the same number of
 *        qubits (zero sums are allowed and ignored).
 * @param options NULL for the defaults.
 * @return #QML_OK; #QML_ERR_INVALID_ARGUMENT (NULL, count 0, mixed qubit
 *         counts, bad options); #QML_ERR_OUT_OF_MEMORY; #QML_ERR_CANCELLED
 *         (`*out` unset); #QML_ERR_LIMIT when the dimension would exceed
 *         `max_dim`: then `*out` IS set to the partial algebra found so far
 *         (the span of what was accepted, not closed, with no structure
 *         analysis), and the caller must free it.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_create(qml_lie_algebra **out, const qml_pauli_sum *const *generators, size_t count,
                                   const qml_lie_options *options);

/**
 * @brief The DLA of a circuit: the generators are the effective generators
 * of its trainable weights (qml_circuit_weight_generator(), so shared
 * weights contribute the scaled sum of their gates' generators).
 * @return as qml_lie_algebra_create(); #QML_ERR_INVALID_ARGUMENT if the
 *         circuit has no trainable weight.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_from_circuit(qml_lie_algebra **out, const qml_circuit *circuit,
                                         const qml_lie_options *options);

/** @brief Free (NULL is a no-op). @since 0.1.0 */
QML_API void qml_lie_algebra_free(qml_lie_algebra *algebra);
/** @brief Number of qubits (0 for NULL). @since 0.1.0 */
QML_API unsigned qml_lie_algebra_n_qubits(const qml_lie_algebra *algebra);
/** @brief Dimension of the algebra (0 for NULL). @since 0.1.0 */
QML_API size_t qml_lie_algebra_dim(const qml_lie_algebra *algebra);

/**
 * @brief Basis element `index` (< dim) as a new Hermitian Pauli sum; the
 * basis is orthonormal in Tr(AB) / 2^n. For algebras spanned by Pauli
 * strings every element is one string with coefficient 1.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_RANGE, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_basis_element(const qml_lie_algebra *algebra, size_t index, qml_pauli_sum **out);

/**
 * @brief Whether the structure (centre, ideals, ranks) was computed: 1, or
 * 0 for a partial algebra (#QML_ERR_LIMIT) or a general (non-Pauli-string)
 * algebra larger than the dense analysis handles (see docs/lie.md).
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_structure_known(const qml_lie_algebra *algebra);

/** @brief 1 if the algebra contains all of su(2^n), else 0 (also for NULL). @since 0.1.0 */
QML_API int qml_lie_algebra_is_full(const qml_lie_algebra *algebra);
/** @brief Dimension of the centre (0 if unknown or NULL). @since 0.1.0 */
QML_API size_t qml_lie_algebra_center_dim(const qml_lie_algebra *algebra);

/**
 * @brief Centre basis element `index` (< center_dim) as a new Pauli sum,
 * orthonormal in Tr(AB) / 2^n.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_center_element(const qml_lie_algebra *algebra, size_t index, qml_pauli_sum **out);

/** @brief Number of simple ideals (0 if unknown or NULL). @since 0.1.0 */
QML_API size_t qml_lie_algebra_n_ideals(const qml_lie_algebra *algebra);

/**
 * @brief Describe simple ideal `index` (< n_ideals); ideals are ordered by
 * decreasing dimension, then by their first basis coordinate.
 * @param[out] dim its dimension (may be NULL).
 * @param[out] rank its rank, 0 if not computed (may be NULL).
 * @param[out] names the compact simple algebras it can be, from (dim, rank):
 *        e.g. "su(4) = so(6)", "so(7) or sp(3)" when dimension and rank
 *        cannot tell; owned by the algebra (may be NULL).
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_ideal(const qml_lie_algebra *algebra, size_t index, size_t *dim, size_t *rank,
                                  const char **names);

/**
 * @brief Element `index` (< the ideal's dim) of an orthonormal basis (in
 * Tr(AB) / 2^n) of simple ideal `ideal`, as a new Pauli sum.
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT, #QML_ERR_OUT_OF_RANGE, #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_ideal_element(const qml_lie_algebra *algebra, size_t ideal, size_t index,
                                          qml_pauli_sum **out);

/**
 * @brief The g-purity of a Hermitian operator H, P_g(H) = sum_a Tr(B_a H)^2
 * over a basis {B_a} of i g orthonormal in Tr(AB) (not normalised by 2^n;
 * Ragone et al., Nat. Commun. 15, 7172 (2024)), total and per component.
 * @param[out] total P_g(H) (may be NULL).
 * @param[out] per_component n_ideals + 1 values: the simple ideals in order,
 *        then the centre (may be NULL if capacity is 0).
 * @param[out] count set to n_ideals + 1 (0 if the structure is unknown),
 *        even when capacity is too small (may be NULL).
 * @return #QML_OK, #QML_ERR_INVALID_ARGUMENT (qubit counts differ),
 *         #QML_ERR_OUT_OF_RANGE (capacity < count), #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_purity(const qml_lie_algebra *algebra, const qml_pauli_sum *operator_, double *total,
                                   double *per_component, size_t capacity, size_t *count);

/**
 * @brief The g-purity of the pure state rho = |psi><psi|, with
 * Tr(B_a rho) = <psi|B_a|psi>; as qml_lie_algebra_purity().
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_state_purity(const qml_lie_algebra *algebra, const qml_statevec *state, double *total,
                                         double *per_component, size_t capacity, size_t *count);

/** @brief Which hypothesis of the variance formula holds. Values pinned. @since 0.1.0 */
typedef enum qml_lie_hypothesis {
    QML_LIE_HYPOTHESIS_OBSERVABLE = 0, /**< O lies in i g (up to a multiple of the identity) */
    QML_LIE_HYPOTHESIS_STATE = 1,      /**< rho lies in i g (up to the identity), O does not */
    QML_LIE_HYPOTHESIS_NONE = 2        /**< neither: the formula does not apply */
} qml_lie_hypothesis;

/** @brief A static description of a hypothesis value ("unknown" otherwise). @since 0.1.0 */
QML_API const char *qml_lie_hypothesis_string(qml_lie_hypothesis hypothesis);

/**
 * @brief The predicted loss and gradient statistics of a deep circuit whose
 * unitary is Haar-random on the group e^g. Set `size` with
 * #QML_LIE_PREDICTION_INIT; fields are only ever appended.
 * @since 0.1.0
 */
typedef struct qml_lie_prediction {
    size_t size;                          /**< sizeof(qml_lie_prediction) */
    qml_lie_hypothesis hypothesis;        /**< which hypothesis holds */
    double loss_mean;                     /**< E[l]: the centre and identity parts, Tr(rho O_fixed) */
    double loss_variance;                 /**< Var[l] = sum_j P_j(rho) P_j(O) / dim g_j */
    double first_gate_gradient_variance;  /**< Var[dl/dtheta_1], rho -> sigma = -(i/2)[G, rho]; NaN if not applicable */
    double middle_gate_gradient_variance; /**< Fontana: 1/4 sum_j P_j(rho) P_j(O) kappa_j(G) / dim(g_j)^2 */
    char message[256];                    /**< what holds, or why not */
} qml_lie_prediction;

/** @brief Initialiser for #qml_lie_prediction. */
#define QML_LIE_PREDICTION_INIT {sizeof(qml_lie_prediction), QML_LIE_HYPOTHESIS_NONE, 0.0, 0.0, 0.0, 0.0, {0}}

/**
 * @brief Predict Var[l] for l = Tr[U rho U^dag O], U Haar on e^g, and the
 * gradient variances of the first gate and of a gate in the middle of the
 * circuit (Ragone et al., Nat. Commun. 15, 7172 (2024); Fontana et al.,
 * Nat. Commun. 15, 7171 (2024)).
 * @param state rho = |psi><psi|.
 * @param observable O, a Hermitian Pauli sum.
 * @param gate_generator G of the differentiated gate, an element of i g; NULL
 *        for the algebra's first generator.
 * @param[in,out] result `size` set by the caller; filled on success and on
 *        #QML_ERR_NOT_APPLICABLE (hypothesis NONE, message says why, the
 *        variances NaN).
 * @return #QML_OK; #QML_ERR_NOT_APPLICABLE when neither O nor rho lies in
 *         i g; #QML_ERR_LIMIT if the structure is unknown;
 *         #QML_ERR_INVALID_ARGUMENT; #QML_ERR_OUT_OF_MEMORY.
 * @since 0.1.0
 */
QML_API int qml_lie_algebra_predict_variance(const qml_lie_algebra *algebra, const qml_statevec *state,
                                             const qml_pauli_sum *observable, const qml_pauli_sum *gate_generator,
                                             qml_lie_prediction *result);

/**@}*/

/* ---- barren-plateau diagnostics (landscape.c): issue 6 ---- */

/* ---- datasets, models, optimisers, training: issue 7 ---- */

#ifdef __cplusplus
}
#endif

#endif /* QML_H */

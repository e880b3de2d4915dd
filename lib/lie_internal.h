/*
 * lie_internal.h: what the Lie-algebra units (lie*.c) share: the algebra's
 * layout, the Pauli-string table, the closure's run state and the bit
 * arithmetic of strings on masks. Only lie*.c include it.
 */
#ifndef QML_LIE_INTERNAL_H
#define QML_LIE_INTERNAL_H

#include "internal.h"

/* ---- types ---------------------------------------------------------------- */

/* A slot of the one-word table: the key lives in the slot, so that a
 * look-up costs one cache miss, not three. */
typedef struct flat_slot {
    uint64_t x;
    uint64_t z;
    size_t id1;           /* id + 1, 0 = empty */
} flat_slot;

/* A set of distinct Pauli strings with ids 0..count-1 (open addressing;
 * n <= 64 uses flat 128-bit keys, more qubits index the string arrays). */
typedef struct string_table {
    unsigned words;
    size_t count;
    size_t capacity;
    uint64_t *x;          /* count * words */
    uint64_t *z;
    size_t *slots;        /* words > 1: id + 1, 0 = empty */
    flat_slot *flat;      /* words == 1 */
    size_t n_slots;       /* power of two */
} string_table;

/* One entry of the inverse index (string -> basis entries using it), packed
 * so that following a chain costs one cache miss per entry, not three. */
typedef struct index_node {
    size_t next;          /* next entry of the same string, SIZE_MAX = end */
    size_t owner;         /* the basis element */
    double val;           /* its coefficient on the string */
} index_node;

/* Products of strings with generator terms, computed once: the closure
 * brackets the same (string, term) pair once per basis element containing
 * the string, and re-hashing the product each time dominated its cost.
 * Row r = the strings whose products are cached; entry t of a row is 0 (not
 * yet computed), 1 (the string commutes with term t) or
 * 2 + 2 id + (bracket sign < 0) for -i[term t, string] = +-2 P(id). */
typedef struct product_cache {
    size_t n_terms;       /* T: the terms of all generators */
    size_t *term_start;   /* generator k owns terms [term_start[k], term_start[k+1]) */
    uint32_t *row_of;     /* per string id: row + 1, 0 = none */
    size_t row_of_capacity;
    uint32_t *rows;       /* n_rows x T */
    size_t n_rows;
    size_t row_capacity;
} product_cache;

/* Largest string id and row count the 32-bit cache entries can hold. */
#define LIE_CACHE_MAX_ID ((UINT32_MAX - 2u) / 2u)

/* The qubit-permutation symmetry of the generators (general closure, n <= 64):
 * blocks of qubits such that every transposition inside a block maps every
 * generator onto itself exactly (same strings, bitwise equal coefficients).
 * Then so does every nested bracket, so each basis element is a combination
 * of orbit sums u_o = |o|^-1/2 sum_{s in o} P(s), orthonormal like strings:
 * the closure runs on orbits (a dictionary id is an orbit, stored as its
 * canonical string) and expands to strings at the end. */
typedef struct orbit_map {
    unsigned n_blocks;
    unsigned block_start[65]; /* block b = qubit[block_start[b] .. block_start[b+1]) */
    unsigned qubit[64];       /* grouped by block, ascending within a block */
    double *root;             /* per dictionary id: sqrt(|orbit|) */
    size_t root_capacity;
} orbit_map;

/* A subspace of g: the span of `dim` orthonormal vectors whose coordinates
 * live on `n_support` basis elements. coords == NULL means the vectors are the
 * basis elements support[0..dim) themselves. */
typedef struct lie_component {
    size_t dim;
    size_t rank;          /* 0 = not computed */
    size_t n_support;
    size_t *support;
    double *coords;       /* n_support x dim, column j = vector j */
    char *names;
} lie_component;

struct qml_lie_algebra {
    unsigned n_qubits;
    unsigned words;
    size_t dim;
    bool pure;            /* every basis element is one string, coefficient 1: element a = string a */
    string_table strings; /* pure: the basis; general: every string met */
    /* general: element a = sum_{e in [start[a], start[a+1])} val[e] * string col[e] */
    size_t *start;
    size_t *col;
    double *val;
    size_t n_entries;
    size_t entry_capacity;
    size_t element_capacity;
    /* inverse index: entries of string s are node[head[s]], node[node[head[s]].next], ... */
    size_t *head;
    index_node *node;
    size_t head_capacity;
    product_cache cache;  /* general closure: products with the generator terms */
    orbit_map *orbit;     /* general closure of qml_lie_algebra_create: NULL = strings */
    unsigned n_threads;   /* resolved options.n_threads; results never depend on it */
    /* generators (copies), the nonzero ones */
    size_t n_generators;
    qml_pauli_sum **generators;
    /* structure */
    bool structure_known;
    bool full;
    lie_component center;
    size_t n_ideals;
    lie_component *ideals;
    /* how the dimension was decided */
    bool exact;              /* the exact closure decided every candidate */
    bool certified;          /* exact, and the floating-point basis confirms closure */
    double smallest_accepted; /* relative residuals of the floating-point closure (NaN: none) */
    double largest_rejected;
    qml_pauli_sum **originals; /* the generators as given (the closure uses them normalised) */
};

/* The exact closure's record: one verdict per candidate, in the order the
 * floating-point closure meets them (1 = independent, 0 = in the span). */
typedef struct lie_verdicts {
    unsigned char *accept;
    size_t count;
    size_t capacity;
    size_t dim;           /* the exact dimension */
} lie_verdicts;

typedef struct closure_run {
    qml_lie_options options;
    size_t processed;
    /* replay: accept candidate i iff verdicts->accept[i] (NULL: the tolerance decides) */
    const lie_verdicts *verdicts;
    size_t next_verdict;
    bool replay_failed;   /* a verdict the floating-point vectors could not follow */
    /* conditioning: relative residuals ||r|| / ||candidate|| */
    double smallest_accepted;
    double largest_rejected;
} closure_run;

/* ---- helpers: Pauli strings on masks ------------------------------------------ */

/* SWAR population count: without -mpopcnt, __builtin_popcountll is a
 * libgcc call, measurably slower in the closure's inner loop. */
static inline unsigned popcount64(uint64_t v)
{
    v = v - ((v >> 1) & 0x5555555555555555ull);
    v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
    v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((v * 0x0101010101010101ull) >> 56);
}

/* 1 if P(x1,z1) and P(x2,z2) anticommute. */
static inline int strings_anticommute(unsigned words, const uint64_t *x1, const uint64_t *z1, const uint64_t *x2,
                                      const uint64_t *z2)
{
    unsigned parity = 0;
    for (unsigned w = 0; w < words; w++)
        parity ^= popcount64((x1[w] & z2[w]) ^ (z1[w] & x2[w]));
    return (int)(parity & 1u);
}

/* P(x1,z1) P(x2,z2) = i^phase P(x1^x2, z1^z2): with P(x,z) = i^{|x&z|} X^x Z^z,
 * phase = |x1&z1| + |x2&z2| + 2|z1&x2| - |x3&z3| (mod 4). */
static inline unsigned strings_product_phase(unsigned words, const uint64_t *x1, const uint64_t *z1,
                                             const uint64_t *x2, const uint64_t *z2)
{
    unsigned phase = 0;
    for (unsigned w = 0; w < words; w++) {
        uint64_t x3 = x1[w] ^ x2[w], z3 = z1[w] ^ z2[w];
        phase += popcount64(x1[w] & z1[w]) + popcount64(x2[w] & z2[w]) + 2u * popcount64(z1[w] & x2[w]) +
                 3u * popcount64(x3 & z3);
    }
    return phase & 3u;
}

/* The Hermitian bracket of anticommuting strings: -i[P1, P2] = -2i P1 P2 =
 * -2i i^phase P3, real because phase is odd: +2 for phase 1, -2 for phase 3. */
static inline double bracket_sign(unsigned phase)
{
    return phase == 1u ? 2.0 : -2.0;
}

static inline uint64_t mix64(uint64_t v)
{
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdull;
    v ^= v >> 33;
    v *= 0xc4ceb9fe1a85ec53ull;
    v ^= v >> 33;
    return v;
}

static inline uint64_t string_hash(unsigned words, const uint64_t *x, const uint64_t *z)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (unsigned w = 0; w < words; w++)
        h = mix64(h ^ x[w]) ^ mix64(z[w] + 0x632be59bd9b4e019ull);
    return h;
}


/* ---- shared between the lie units (qml__lie_ prefix) ---------------------------- */

size_t qml__lie_table_find(const string_table *t, const uint64_t *x, const uint64_t *z);
int qml__lie_table_insert(string_table *t, const uint64_t *x, const uint64_t *z, size_t *id, bool *inserted);
void qml__lie_table_release(string_table *t);
int qml__lie_progress(closure_run *run, const char *stage, size_t done, size_t total);

/* The closure of the algebra's (non-string) generators in exact arithmetic
 * modulo 2^61 - 1 (lie_exact.c), in the floating-point closure's candidate
 * order and coordinates (orbits when algebra->orbit is set). QML_ERR_LIMIT
 * past max_dim. */
int qml__lie_exact_closure(const qml_lie_algebra *algebra, closure_run *run, lie_verdicts *out);
void qml__lie_verdicts_release(lie_verdicts *v);

#endif

/*
 * lie_internal.h: what the Lie-algebra units (lie*.c) share: the algebra's
 * layout, the Pauli-string table, the closure's run state and the bit
 * arithmetic of strings on masks. Only lie*.c include it.
 */
#ifndef QML_LIE_INTERNAL_H
#define QML_LIE_INTERNAL_H

#include "internal.h"

/* Pauli-string components up to this dimension are split by the dense
 * analysis (O(m^3)); see docs/lie.md. */
#define LIE_DENSE_MAX 600u
/* General (non-Pauli-string) algebras up to this dimension get the dense
 * structure analysis (O(d^3) time, at most 5 d^2 doubles: 640 MB at the
 * cap); above it the structure is reported not computed (docs/lie.md). */
#define LIE_GENERAL_DENSE_MAX 4000u
/* A general basis whose largest rejected relative residual exceeds this is
 * too far from closed for the structure analysis (docs/lie.md). */
#define LIE_BASIS_OPEN 1e-3
/* Fixed seed of the random combinations used by the structure analysis. */
#define LIE_SEED 0x6c69652d616c6765ull
/* Relative threshold for "zero" in the dense structure analysis. */
#define LIE_STRUCT_TOL 1e-9
/* The exact variance averages over the commutant of the g-module generated
 * by O: (dim M)^2 unknowns, so M is limited to this dimension. */
#define LIE_MODULE_MAX 24u
/* Tests only: with qml__lie_split_dense set, Pauli-string components up to
 * this dimension split by their symmetries store the ideals' coordinates
 * dense (m x m / 2^k per part), as a reference for the sparse form. */
#define LIE_SPLIT_MAX 8192u
/* A Pauli-string component of m strings split by a symmetry group of 2^k
 * strings stores m 2^k coordinates (index and value, 16 bytes each) for its
 * 2^k ideals; above this many the component is not split and the structure
 * is reported unresolved (docs/lie.md: 2 GiB at the cap). */
#define LIE_SPLIT_MAX_ENTRIES ((size_t)1 << 27)
/* The mean needs only the invariant vectors of the module (m x m), so it is
 * computed exactly up to this module dimension. */
#define LIE_MODULE_MEAN_MAX 400u

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
    /* Sparse columns (coords == NULL; col_nnz == 0: not sparse): column j
     * is sum_e vals[j col_nnz + e] B_{support[rows[j col_nnz + e]]}, rows
     * ascending within a column. The ideals of a symmetry split: a column
     * lives on one coset s P of the symmetry group, col_nnz = |S| entries. */
    size_t col_nnz;
    size_t *rows;
    double *vals;
    unsigned certificate; /* qml_lie_certificate flags: why it is simple */
} lie_component;

/* <column `col` of component c, x> for coordinates x over the basis, summed
 * in the order of the support for every form (dense, sparse, identity), so
 * that the forms give the same bits: the dense sum only adds zeros more. */
static inline double qml__lie_column_dot(const lie_component *c, size_t col, const double *x)
{
    double v = 0;
    if (c->col_nnz) {
        const size_t *rows = c->rows + col * c->col_nnz;
        const double *vals = c->vals + col * c->col_nnz;
        for (size_t e = 0; e < c->col_nnz; e++)
            v += vals[e] * x[c->support[rows[e]]];
    } else if (c->coords) {
        for (size_t i = 0; i < c->n_support; i++)
            v += c->coords[i * c->dim + col] * x[c->support[i]];
    } else {
        v = x[c->support[col]];
    }
    return v;
}

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
    qml_lie_structure_state structure_state; /* set by lie.c / the analysis; KNOWN iff structure_known */
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
    double closure_defect;   /* largest relative residual of a bracket -i[G_k, B_a] outside the span (NaN: strings) */
    bool spanned;            /* general, spanned by Pauli strings: the structure decided on them, the basis adapted */
    bool clustered;          /* general, decided cluster by cluster (lie_sums.c): the basis is the clusters' bases */
    size_t split_entries;    /* pure: entries a symmetry split needed above the entry cap (0: none) */
    size_t split_cap;        /* the entry cap it was refused by */
    char structure_message[320]; /* qml_lie_algebra_structure_message() */
    qml_lie_options options; /* as the caller gave them (defaults filled in), for the cluster closures; the
                                progress callback and its user pointer are only called during creation */
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

/* Lowest set bit of a non-zero word (de Bruijn multiplication). */
static inline unsigned lowest_bit64(uint64_t v)
{
    static const unsigned char table[64] = {
        0,  1,  2,  53, 3,  7,  54, 27, 4,  38, 41, 8,  34, 55, 48, 28, 62, 5,  39, 46, 44, 42,
        22, 9,  24, 35, 59, 56, 49, 18, 29, 11, 63, 52, 6,  26, 37, 40, 33, 47, 61, 45, 43, 21,
        23, 58, 17, 10, 51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12};
    return table[((v & (~v + 1)) * 0x022fdd63cc95386dull) >> 58];
}

/* 1 if P(x1,z1) and P(x2,z2) anticommute. */
static inline int strings_anticommute(unsigned words, const uint64_t *x1, const uint64_t *z1, const uint64_t *x2,
                                      const uint64_t *z2)
{
    /* the parity of a popcount sum is the parity of the words' XOR: one popcount */
    uint64_t acc = 0;
    for (unsigned w = 0; w < words; w++)
        acc ^= (x1[w] & z2[w]) ^ (z1[w] & x2[w]);
    return (int)(popcount64(acc) & 1u);
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

/* x . y over n doubles with four partial sums: one sum would run at the
 * adder's latency, four run at its throughput. A fixed order, so the same
 * bits on every call. */
static inline double qml__lie_dot(size_t n, const double *restrict x, const double *restrict y)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += x[k] * y[k];
        s1 += x[k + 1] * y[k + 1];
        s2 += x[k + 2] * y[k + 2];
        s3 += x[k + 3] * y[k + 3];
    }
    for (; k < n; k++)
        s0 += x[k] * y[k];
    return (s0 + s1) + (s2 + s3);
}

static inline uint64_t string_hash(unsigned words, const uint64_t *x, const uint64_t *z)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (unsigned w = 0; w < words; w++)
        h = mix64(h ^ x[w]) ^ mix64(z[w] + 0x632be59bd9b4e019ull);
    return h;
}


/* A sparse vector over string ids, as a dense accumulator plus the list of
 * touched ids. */
typedef struct sparse_acc {
    double *value;
    unsigned char *mark;
    size_t *touched;
    size_t n_touched;
    size_t capacity;
    /* coefficients over basis elements */
    double *coef;
    unsigned char *coef_mark;
    size_t *coef_touched;
    size_t n_coef;
    size_t coef_capacity;
} sparse_acc;

/* The strings of the orbit of a canonical string: the distinct permutations
 * of each block's letters (an odometer over the blocks). */
typedef struct orbit_iter {
    const orbit_map *orbit;
    unsigned char letter[64];
    uint64_t x, z;
    bool more;
} orbit_iter;

static inline void qml__lie_acc_add(sparse_acc *acc, size_t id, double v)
{
    if (!acc->mark[id]) {
        acc->mark[id] = 1;
        acc->touched[acc->n_touched++] = id;
    }
    acc->value[id] += v;
}

/* ---- shared between the lie units (qml__lie_ prefix) ---------------------------- */

int qml__lie_close_pauli_strings(qml_lie_algebra *algebra, closure_run *run);
int qml__lie_acc_reserve(sparse_acc *acc, size_t n_strings, size_t n_elements);
void qml__lie_acc_release(sparse_acc *acc);
void qml__lie_acc_clear(sparse_acc *acc);
void qml__lie_orbit_canonical(const orbit_map *orbit, uint64_t *x, uint64_t *z, double *size);
void qml__lie_cache_release(product_cache *cache);
int qml__lie_cache_prefill(qml_lie_algebra *algebra, size_t a, size_t k);
void qml__lie_bracket_cached(const qml_lie_algebra *algebra, sparse_acc *acc, size_t a, size_t k);
int qml__lie_close_general(qml_lie_algebra *algebra, closure_run *run, qml_pauli_sum *const *seeds, size_t n_seeds);
void qml__lie_orbit_release(qml_lie_algebra *algebra);
int qml__lie_orbit_setup(qml_lie_algebra *algebra);
void qml__lie_orbit_iter_begin(orbit_iter *it, const orbit_map *orbit, uint64_t x, uint64_t z);
bool qml__lie_orbit_iter_next(orbit_iter *it, uint64_t *x, uint64_t *z);
int qml__lie_symmetric_eigen(size_t n, double *v, double *w, bool vectors);
/* Tests: 0 forces the portable eigensolver, -1 (default) takes the AVX2
 * build where the processor has it (the same bits either way). */
extern int qml__eigen_path_override;
void qml__lie_component_release(lie_component *component);
void qml__lie_acc_coordinates(const qml_lie_algebra *algebra, const sparse_acc *acc, double *coords);
int qml__lie_analyse_structure(qml_lie_algebra *algebra);
int qml__lie_check_generators(const qml_pauli_sum *const *generators, size_t count, unsigned *n_qubits);
int qml__lie_element_to_sum(const qml_lie_algebra *algebra, const double *coords, const lie_component *component,
                          size_t column, qml_pauli_sum **out);
int qml__lie_sum_coordinates(const qml_lie_algebra *algebra, const qml_pauli_sum *sum, double *coords);
int qml__lie_state_coordinates(const qml_lie_algebra *algebra, const qml_statevec *state, double *t);
void qml__lie_component_purities(const qml_lie_algebra *algebra, const double *coords, double scale, double *total,
                               double *per_component);

/* ---- the structure analysis, unit by unit ---------------------------------------- */

/* Simple ideals under construction (lie_structure.c). */
typedef struct ideal_list {
    size_t count;
    lie_component *items;
} ideal_list;
/* Union-find: join the classes of a and b (the smaller root wins). */
void qml__lie_uf_union(size_t *parent, size_t a, size_t b);
/* Replace the basis of a general algebra by start/col/val (d elements,
 * `count` entries in arrays of `capacity`; start has room for d + 2), taken
 * over on success, and rebuild the inverse index. On failure (allocation)
 * nothing changes and the caller still owns the arrays. */
int qml__lie_install_basis(qml_lie_algebra *algebra, size_t *start, size_t *col, double *val, size_t count,
                           size_t capacity);
/* Append *c (moved: *c is zeroed; released on failure). */
int qml__lie_ideal_push(ideal_list *list, lie_component *c);
void qml__lie_ideal_list_release(ideal_list *list);

/* Shapes, roots and names of simple ideals (lie_simple.c). Root-system
 * verdicts that (dim, rank) alone leave open (see qml__lie_string_root_type). */
enum {
    ROOTS_UNKNOWN = 0,
    ROOTS_B = 'B',        /* so(2r+1): 2r short roots, 2r(r-1) long ones */
    ROOTS_C = 'C',        /* sp(r): 2r long roots, 2r(r-1) short ones */
    ROOTS_SIMPLY_LACED = 'S' /* one root length: A, D, E */
};
bool qml__lie_simple_shape(size_t dim, size_t rank);
int qml__lie_nonsimple_exists(size_t dim, size_t rank, bool *exists, bool *decided);
char *qml__lie_ideal_names_typed(size_t dim, size_t rank, bool checked, int roots);
char *qml__lie_ideal_names(size_t dim, size_t rank, bool checked);
bool qml__lie_commutes_with_all(const string_table *t, const uint64_t *x, const uint64_t *z, const size_t *set,
                                size_t count);
int qml__lie_string_root_type(const string_table *t, const size_t *members, size_t m, size_t n_group, size_t rank,
                              int *roots);
char *qml__lie_string_ideal_names(const string_table *t, const size_t *members, size_t m, size_t n_group, size_t dim,
                                  size_t rank, bool checked);
int qml__lie_name_string_spanned(qml_lie_algebra *algebra, lie_component *c);

/* The dense analysis of general algebras and the block split
 * (lie_structure_dense.c); ad may be NULL (no check against generators). */
typedef struct ad_sparse ad_sparse;
struct qml_rng;
int qml__lie_split_block(unsigned n_threads, size_t m, double *x, const double *r, const size_t *support,
                         size_t n_support, const double *basis, ideal_list *out, const ad_sparse *ad,
                         struct qml_rng *rng, lie_component *center);
int qml__lie_structure_general(qml_lie_algebra *algebra, struct qml_rng *rng, ideal_list *ideals);

/* Pauli-string structure (lie_structure_strings.c). */
int qml__lie_structure_pure(qml_lie_algebra *algebra, struct qml_rng *rng, ideal_list *ideals);
int qml__lie_structure_spanned(qml_lie_algebra *algebra, ideal_list *ideals, bool *applies, bool *valid);

/* The certificates of a Pauli-string algebra's ideals (lie_certify.c). */
int qml__lie_certify_pure(qml_lie_algebra *algebra, ideal_list *list, bool *consistent);

/* Dense products of the structure analysis (lie_dense.c): c = a b, all
 * n x n row-major; SYMMETRIC and ANTISYMMETRIC compute the upper triangle
 * (the product is known to be so) and mirror it. Register-blocked; the bits
 * do not depend on the thread count. */
typedef enum qml__lie_product_kind {
    QML__LIE_PRODUCT_FULL = 0,
    QML__LIE_PRODUCT_SYMMETRIC = 1,
    QML__LIE_PRODUCT_ANTISYMMETRIC = 2
} qml__lie_product_kind;
void qml__lie_product(unsigned n_threads, size_t n, const double *a, const double *b, double *c,
                      qml__lie_product_kind kind);
/* out = a^T (n x n; out != a). */
void qml__lie_transpose(size_t n, const double *a, double *out);
/* p = p - p^T in place: the commutator [A, B] = AB - (AB)^T of two
 * antisymmetric matrices from the one product AB. */
void qml__lie_antisymmetric_part(size_t n, double *p);

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

/* A general basis whose closure defect exceeds this is rebuilt by the
 * pivoted re-closure when its dimension is exact (lie_closure.c). */
#define LIE_CLOSED_DEFECT 1e-12
/* Tests only: the defect above which the basis is rebuilt (default
 * LIE_CLOSED_DEFECT; a negative value rebuilds every exact general basis). */
extern double qml__lie_rebuild_above;
/* Tests only: non-zero sends every general algebra through the analysis of
 * string-spanned algebras (lie_structure.c) first, at any dimension; by
 * default only algebras above LIE_GENERAL_DENSE_MAX take it. */
extern int qml__lie_spanned_always;
/* Tests only: non-zero stores the ideals of a Pauli-string symmetry split
 * dense (the reference form) when the component has at most LIE_SPLIT_MAX
 * strings; by default they are sparse. */
extern int qml__lie_split_dense;
/* Tests only: the entry cap of a Pauli-string symmetry split (default
 * LIE_SPLIT_MAX_ENTRIES). */
extern size_t qml__lie_split_max_entries;
/* Tests only: 1 adds one to the rank of the first classified ideal before it
 * is matched with the enumerated structure (an inconsistency on purpose). */
extern int qml__lie_classify_tamper;
/* Tests only: non-zero leaves the inverse index of the general closure in
 * the order it was built (the reference for its contiguous layout, which
 * must give the same bits). */
extern int qml__lie_compact_never;
/* Rebuild the basis of a closed general algebra (dimension = the exact one)
 * by the pivoted closure; *rebuilt says whether it did (not when the dense
 * work space would pass its cap, or rounding stops it short of the
 * dimension), with its smallest accepted and largest remaining relative
 * residual. */
int qml__lie_reclose_pivoted(qml_lie_algebra *algebra, bool *rebuilt, double *smallest_accepted,
                             double *largest_rejected);

/* ---- Pauli-string classification (lie_classify.c) ------------------------------ */

/* One simple ideal of a classified Pauli-string DLA. */
typedef struct pauli_ideal {
    double log2_dim;   /* log2 of its dimension */
    size_t dim;        /* its dimension; 0 when it does not fit a size_t (su(2^m), m >= 32) */
    size_t rank;       /* its rank; 0 when it does not fit */
    unsigned su_log2;  /* m when decided as su(2^m) by the locality criterion, else 0 */
    size_t so_n;       /* N when decided as so(N) from the frustration graph, else 0 */
    size_t sp_r;       /* r when an exactly closed part's roots name it sp(r) (so(2r+1) goes to so_n) */
    unsigned so_log2;  /* a when decided as so(2^a) by the quadratic-form criterion, else 0 */
    unsigned sp_log2;  /* b when decided as sp(2^b) by the quadratic-form criterion, else 0 */
    size_t part;       /* the independent part it belongs to (index into pauli_classification.parts) */
} pauli_ideal;

/* One independent part of a classification (recorded by
 * qml__pauli_classify_parts). All its generators lie in one component of
 * the anticommutation graph of the strings of g (a part is one simple
 * algebra, or one connected frustration component, or a single central
 * string), so `first` finds that component. */
typedef struct pauli_part {
    const qml_pauli_sum *first; /* one of its generators */
    size_t centre_dim;          /* what it adds to the centre */
    int decided;                /* decided by a theorem; 0: its ideals are not listed */
} pauli_part;

/* The DLA of single-string generators: centre plus simple ideals. */
typedef struct pauli_classification {
    double dimension;       /* as qml_dla_summary.dimension */
    double log2_dimension;
    size_t centre_dim;
    size_t n_ideals;
    pauli_ideal *ideals;    /* by decreasing dimension */
    size_t n_parts;         /* independent parts (qubit clusters, graph components) */
    size_t n_closed;        /* of which decided by the enumerating closure */
    size_t n_certified;     /* of which decided by the quadratic-form criterion (a small seed enumerated) */
    int full;               /* contains su(2^n) */
    pauli_part *parts;      /* n_parts entries from qml__pauli_classify_parts, else NULL */
} pauli_classification;

/* Classify without enumeration where a theorem applies, by the exact closure
 * of the part otherwise (QML_ERR_LIMIT above the cap). The generators are
 * checked by the caller: single strings with non-zero coefficients on n qubits. */
int qml__pauli_classify(const qml_pauli_sum *const *generators, size_t count, unsigned n,
                        pauli_classification *out);
void qml__pauli_classification_release(pauli_classification *c);

/* What a variance prediction from the classification collects, part by
 * part, for rho = |0...0>, an observable O and a gate string G (lie_predict.c
 * sums it; see qml_pauli_dla_predict_variance). Per simple ideal g_j,
 * P_j(rho) P_j(O) / dim g_j is added to `var`, and Fontana's middle-gate
 * term to `var_middle`; `mean` gets the centre's part of E[l]. */
typedef struct pauli_prediction {
    const qml_pauli_sum *observable;
    const qml_pauli_sum *gate;   /* a single string */
    unsigned char *term_in_g;    /* per term of O: 1 when it lies in g */
    double var, var_middle, mean;
    double var_first;            /* the first-gate variance, summed where the gate's part counts it */
    int gate_found;              /* the gate's string lies in a part (or the centre) */
    int first_unknown;           /* the gate's part does not count the first-gate variance */
    double nz;                   /* Z-type strings in g (exact while below 2^53) */
    int rho_in_g;                /* every non-identity Z-type string lies in g (decided by a part) */
    int unknown;                 /* a part whose purities were not computed (why says which) */
    char why[192];
} pauli_prediction;

/* qml__pauli_classify with two extras: no_closure makes a part that no
 * criterion decides a QML_ERR_LIMIT ("not decided without enumeration")
 * instead of closing it, and pred (may be NULL) collects the prediction. */
int qml__pauli_classify_ex(const qml_pauli_sum *const *generators, size_t count, unsigned n, int no_closure,
                           pauli_prediction *pred, pauli_classification *out);

/* qml__pauli_classify_ex without enumeration that keeps going past a part
 * no theorem decides: such a part is recorded undecided (its ideals and
 * centre are not listed, the dimension leaves it out), every part is
 * recorded in out->parts and every ideal names its part. */
int qml__pauli_classify_parts(const qml_pauli_sum *const *generators, size_t count, unsigned n,
                              pauli_classification *out);

/* The argument checks of the classification: single strings with finite,
 * non-zero coefficients on one qubit count (stored in *n_out). */
int qml__pauli_check_strings(const qml_pauli_sum *const *generators, size_t count, unsigned *n_out, const char *func);

/* lie_classify_predict.c: what each decided part adds (see there). root[q]
 * is the cluster root of qubit q; start/adj the frustration graph. */
void qml__predict_su(pauli_prediction *p, const size_t *root, size_t r, unsigned m, unsigned words);
void qml__predict_centre_string(pauli_prediction *p, const qml_pauli_sum *s);
int qml__predict_tree(pauli_prediction *p, const qml_pauli_sum *const *g, const size_t *comp, size_t k,
                      const size_t *ea, const size_t *eb, unsigned words);
int qml__predict_cycle(pauli_prediction *p, const size_t *start, const size_t *adj, const qml_pauli_sum *const *g,
                       const size_t *comp, size_t k, size_t rank, unsigned words);
int qml__predict_by_closing(pauli_prediction *p, const qml_pauli_sum *const *g, const size_t *list, size_t count);
/* A component certified L* (or all strings of its span) by the quadratic
 * form: B = g[comp[member[0..nb)]] a basis of its span V, G their
 * frustration graph (nb rows of kw words), (m, rho, q_on_rad, arf) the
 * invariants, all_strings when a dependent string has q = 0. */
int qml__predict_quad(pauli_prediction *p, const qml_pauli_sum *const *g, const size_t *comp, const size_t *member,
                      size_t nb, const uint64_t *G, size_t kw, unsigned words, unsigned m, size_t rho, int q_on_rad,
                      unsigned arf, int all_strings);

/* lie_predict.c: the contribution of one exactly closed part (a direct
 * summand of a string DLA) to a prediction. */
int qml__lie_part_prediction(const qml_lie_algebra *part, pauli_prediction *pred);

/* ---- general sums above the dense cap (lie_sums.c) ------------------------------ */

/* Tests only: non-zero sends every general algebra with two or more
 * commuting clusters of generators through the cluster analysis first, at
 * any dimension; by default only algebras above LIE_GENERAL_DENSE_MAX that
 * strings do not span take it. */
extern int qml__lie_clusters_always;
/* The structure of a general algebra from the commuting clusters of its
 * generators (connected components of "[G_a, G_b] != 0"), each closed and
 * analysed on its own; applies when there are two or more clusters, their
 * dimensions add up to dim g (the sum is direct), every cluster's structure
 * is known and their bases are orthogonal string by string. Then it sets the
 * centre, the ideals and the state and replaces the basis by the clusters'
 * bases; otherwise nothing changes, and *capped says a cluster's structure
 * was above its cap. */
int qml__lie_structure_clusters(qml_lie_algebra *algebra, bool *applies, bool *capped);

/* ---- general sums above the dense cap, iteratively (lie_krylov.c) ---------------- */

/* Work cap (multiply-adds) of the iterative structure analysis: about 3 s
 * of one core; above it the structure is reported above the cap, with a
 * message (docs/lie.md). */
#define LIE_KRYLOV_MAX_WORK 4e9
/* Tests only: non-zero sends every general algebra that the string-spanned
 * and the cluster analyses leave open through the iterative analysis
 * instead of the dense one, at any dimension. */
extern int qml__lie_krylov_always;
/* Tests only: the work cap when options.structure_max_work is 0 (default
 * LIE_KRYLOV_MAX_WORK). */
extern double qml__lie_krylov_max_work;
/* Tests only: non-zero grows the ideals one candidate at a time (the
 * reference for the block growth). */
extern int qml__lie_krylov_unblocked;
/* Tests only: the dimension up to which an ideal's rank is computed densely
 * whatever the budget (default 1500; above it only within the budget). */
extern size_t qml__lie_krylov_rank_dense;
/* The centre (into algebra->center) and the simple ideals (*ideals, a new
 * array of *n_ideals components with dim, rank (0: not decided by the
 * dimension and too large for the dense rank), coordinates and certificate;
 * names left NULL) of a general algebra, without dense d x d matrices (see
 * lie_krylov.c). *valid is false when a Lanczos vector did not converge or
 * a grown subspace or the centre failed its check against the generators
 * (nothing is filled in); *capped when the work cap stopped it (nothing is
 * filled in, algebra->structure_message says so). */
int qml__lie_structure_krylov(qml_lie_algebra *algebra, struct qml_rng *rng, size_t *n_ideals,
                              lie_component **ideals, bool *valid, bool *capped);

/* ---- general sums that act on a sector as su(m) (lie_sector.c) ------------------ */

/* Tests only: non-zero skips the sector route (the reference it is compared
 * with is the dense analysis). It is also skipped while
 * qml__lie_krylov_always is set. */
extern int qml__lie_sector_off;
/* The structure of a general algebra of dimension d = m^2 - 1 + c (c <= 3)
 * that acts on a sector of m computational basis states as su(m) or u(m)
 * (see lie_sector.c): one simple ideal su(m) and a centre of dimension c,
 * with the basis rotated so that both are spanned by basis elements. Sets
 * *decided and the structure when it applies; otherwise nothing changes. */
int qml__lie_structure_sector(qml_lie_algebra *algebra, bool *decided);
/* Whether a Lie algebra L of anti-Hermitian m x m matrices contains su(m),
 * from Hermitian h and c_0..c_{n_combos-1} with i h, i c_r in L (complex
 * row-major, re and im apart): *told false when h's spectrum is
 * too close to tell (try another h); else *contains says whether the clean
 * edges connect (lie_sector.c, step 2). A positive answer is a proof up to
 * the stated margins; a negative one only says this h could not show it. */
int qml__lie_su_certificate(size_t m, const double *h_re, const double *h_im, size_t n_combos,
                            const double *const *c_re, const double *const *c_im, bool *contains, bool *told);

#endif

/*
 * lie_structure_strings.c: the structure of algebras of Pauli strings, by
 * combinatorics on the strings: components of the anticommutation graph,
 * ranks from maximal commuting sets, splits by central symmetries, for
 * closures of single strings (structure_pure) and for general algebras that
 * Pauli strings span (structure_spanned).
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tests only (lie_internal.h): the dense reference form and the entry cap of
 * a symmetry split. */
int qml__lie_split_dense = 0;
size_t qml__lie_split_max_entries = LIE_SPLIT_MAX_ENTRIES;

/* Strings indexed by qubit: for each qubit q, the members whose support
 * contains q (a linked list through the entries). Two strings anticommute
 * only if their supports meet, so "the first member that anticommutes with
 * P" walks the lists of P's qubits only (lowest qubit first, stopping at
 * the first hit), not every member: with local members, a few tests per
 * qubit of P until one anticommutes. */
typedef struct qubit_index {
    unsigned n;
    size_t *head;        /* n: first entry, SIZE_MAX if none */
    size_t *id, *next;   /* entries: member id, next entry of the same qubit */
    size_t count, capacity;
} qubit_index;

static int qindex_init(qubit_index *q, unsigned n)
{
    memset(q, 0, sizeof *q);
    q->n = n;
    q->head = qml__malloc(((size_t)n + 1) * sizeof *q->head);
    if (!q->head)
        return qml__oom("a qubit index of strings");
    for (unsigned i = 0; i < n; i++)
        q->head[i] = SIZE_MAX;
    return QML_OK;
}

static void qindex_release(qubit_index *q)
{
    qml__free(q->head);
    qml__free(q->id);
    qml__free(q->next);
    memset(q, 0, sizeof *q);
}

/* Add string `id` of table t to the lists of its qubits. */
static int qindex_add(qubit_index *q, const string_table *t, size_t id)
{
    unsigned words = t->words;
    const uint64_t *x = t->x + id * words, *z = t->z + id * words;
    for (unsigned w = 0; w < words; w++) {
        for (uint64_t bits = x[w] | z[w]; bits; bits &= bits - 1) {
            unsigned qubit = 64 * w + lowest_bit64(bits);
            if (q->count == q->capacity) {
                size_t cap = q->capacity ? 2 * q->capacity : 64;
                size_t *ids = qml__realloc(q->id, cap * sizeof *ids);
                if (!ids)
                    return qml__oom("a qubit index of strings");
                q->id = ids;
                size_t *next = qml__realloc(q->next, cap * sizeof *next);
                if (!next)
                    return qml__oom("a qubit index of strings");
                q->next = next;
                q->capacity = cap;
            }
            q->id[q->count] = id;
            q->next[q->count] = q->head[qubit];
            q->head[qubit] = q->count++;
        }
    }
    return QML_OK;
}

/* The first member found that anticommutes with string (x, z), or SIZE_MAX
 * when it commutes with all of them. */
static size_t qindex_anticommuting(const qubit_index *q, const string_table *t, const uint64_t *x, const uint64_t *z)
{
    unsigned words = t->words;
    for (unsigned w = 0; w < words; w++) {
        for (uint64_t bits = x[w] | z[w]; bits; bits &= bits - 1) {
            unsigned qubit = 64 * w + lowest_bit64(bits);
            for (size_t e = q->head[qubit]; e != SIZE_MAX; e = q->next[e]) {
                size_t id = q->id[e];
                if (strings_anticommute(words, x, z, t->x + id * words, t->z + id * words))
                    return id;
            }
        }
    }
    return SIZE_MAX;
}

/* Whether string Q = (qx, qz) is one of the n_group strings of the symmetry
 * group S (rows of sx, sz). */
static bool group_contains(unsigned words, const uint64_t *sx, const uint64_t *sz, size_t n_group,
                           const uint64_t *qx, const uint64_t *qz)
{
    for (size_t g = 0; g < n_group; g++)
        if (!memcmp(sx + g * words, qx, words * sizeof *qx) && !memcmp(sz + g * words, qz, words * sizeof *qz))
            return true;
    return false;
}

/* S := S u Q S for a string Q outside S that commutes with S (a product of
 * commuting Hermitian strings is +- a string: the sign goes to sign[]).
 * Returns the new order 2 n_group. */
static size_t group_double(unsigned words, uint64_t *sx, uint64_t *sz, int *sign, size_t n_group,
                           const uint64_t *qx, const uint64_t *qz)
{
    for (size_t g = 0; g < n_group; g++) {
        const uint64_t *gx = sx + g * words, *gz = sz + g * words;
        unsigned phase = strings_product_phase(words, qx, qz, gx, gz); /* 0 or 2 */
        for (unsigned w = 0; w < words; w++) {
            sx[(n_group + g) * words + w] = qx[w] ^ gx[w];
            sz[(n_group + g) * words + w] = qz[w] ^ gz[w];
        }
        sign[n_group + g] = sign[g] * (phase == 2u ? -1 : 1);
    }
    return 2 * n_group;
}

/* Split a large Pauli-string component by its symmetries. A string Q that
 * commutes with the component and maps its strings onto its strings (Q P =
 * +-R, R in the component) makes Pi = (1 + Q) / 2 a central projector: Pi g
 * and (1 - Pi) g are commuting ideals. Every such Q is P_0 R for the first
 * string P_0 and some R of the component commuting with it, so the
 * candidates are few. A group S of 2^k such Q splits the component into
 * 2^k ideals of dim m / 2^k, spanned by (1/sqrt|S|) sum_{s in S} chi(s) s P
 * for the characters chi. Each gets rank (total) / 2^k when that is the only
 * rank a simple algebra of its dimension has; otherwise nothing is split. */
static int split_by_symmetry(qml_lie_algebra *algebra, const size_t *order, size_t m, size_t total_rank,
                             ideal_list *ideals, bool *split)
{
    *split = false;
    const string_table *t = &algebra->strings;
    unsigned words = t->words;
    enum { MAX_K = 8 };
    size_t group_cap = (size_t)1 << MAX_K;
    uint64_t *sx = qml__calloc(group_cap * words, sizeof *sx);
    uint64_t *sz = qml__calloc(group_cap * words, sizeof *sz);
    int *sign = qml__calloc(group_cap, sizeof *sign);
    uint64_t *px = qml__calloc(4 * (size_t)words, sizeof *px); /* P, then Q */
    size_t *gens = qml__malloc((algebra->n_generators + 1) * sizeof *gens);
    size_t *pos = NULL, *target = NULL;
    double *value = NULL;
    unsigned char *seen = NULL;
    if (!sx || !sz || !sign || !px || !gens) {
        qml__free(sx);
        qml__free(sz);
        qml__free(sign);
        qml__free(px);
        qml__free(gens);
        return qml__oom("the symmetries of a Pauli-string component");
    }
    uint64_t *pz = px + words, *qx = px + 2 * words, *qz = px + 3 * words;
    int status = QML_OK;
    pos = qml__malloc((algebra->dim + 1) * sizeof *pos);
    if (!pos) {
        status = qml__oom("the symmetries of a Pauli-string component");
        goto done;
    }
    for (size_t a = 0; a < algebra->dim; a++)
        pos[a] = SIZE_MAX;
    for (size_t i = 0; i < m; i++)
        pos[order[i]] = i;
    /* the component's generators: Q must commute with them (then with all of it) */
    size_t n_gens = 0;
    for (size_t k = 0; k < algebra->n_generators; k++) {
        size_t id = qml__lie_table_find(t, algebra->generators[k]->x, algebra->generators[k]->z);
        for (size_t i = 0; i < m; i++)
            if (order[i] == id) {
                gens[n_gens++] = id;
                break;
            }
    }
    /* S starts as {I} */
    size_t n_group = 1;
    sign[0] = 1;
    unsigned k = 0;
    const uint64_t *p0x = t->x + order[0] * words, *p0z = t->z + order[0] * words;
    for (size_t c = 1; c < m && k < MAX_K; c++) {
        const uint64_t *rx = t->x + order[c] * words, *rz = t->z + order[c] * words;
        if (strings_anticommute(words, p0x, p0z, rx, rz))
            continue;
        for (unsigned w = 0; w < words; w++) {
            qx[w] = p0x[w] ^ rx[w];
            qz[w] = p0z[w] ^ rz[w];
        }
        /* already in S? */
        bool known = group_contains(words, sx, sz, n_group, qx, qz);
        if (known || !qml__lie_commutes_with_all(t, qx, qz, gens, n_gens))
            continue;
        bool maps = true;
        for (size_t i = 0; i < m && maps; i++) {
            for (unsigned w = 0; w < words; w++) {
                px[w] = qx[w] ^ t->x[order[i] * words + w];
                pz[w] = qz[w] ^ t->z[order[i] * words + w];
            }
            size_t id = qml__lie_table_find(t, px, pz);
            maps = id != SIZE_MAX && pos[id] != SIZE_MAX;
        }
        if (!maps)
            continue;
        /* S := S u Q S (Q commutes with S: products of commuting Hermitian strings are +-strings) */
        n_group = group_double(words, sx, sz, sign, n_group, qx, qz);
        k++;
    }
    size_t part = m / n_group, part_rank = total_rank / n_group;
    /* The ranks r_chi of the parts sum to the total and each is a rank a
     * simple algebra of dimension `part` has. Accept only when equal ranks
     * are the one way to do that (two parts: no other pair; more: a single
     * possible rank), so that each part's rank is known. */
    bool decided = k > 0 && m % n_group == 0 && total_rank % n_group == 0 && qml__lie_simple_shape(part, part_rank);
    for (size_t r = 1; r <= part && decided; r++) {
        if (r == part_rank || !qml__lie_simple_shape(part, r))
            continue;
        if (n_group > 2 || (total_rank > r && qml__lie_simple_shape(part, total_rank - r)))
            decided = false;
    }
    if (!decided)
        goto done;
    /* The group acts freely on the component's strings and on its maximal
     * commuting set (a union of cosets: s h commutes with whatever h does),
     * so each part has rank total / 2^k exactly; a part (semisimple) is
     * simple when no sum of simple algebras has its shape. */
    bool nonsimple = true, checked_rank = false;
    status = qml__lie_nonsimple_exists(part, part_rank, &nonsimple, &checked_rank);
    if (status)
        goto done;
    bool checked = checked_rank && !nonsimple;
    /* Each part's column c lives on one coset s P (|S| strings): stored
     * sparse, m entries per part, m 2^k in all; the dense form (m x m / 2^k
     * per part) only as the tests' reference. Above the entry cap the
     * component stays unsplit: the structure is reported unresolved. */
    bool dense = qml__lie_split_dense && m <= LIE_SPLIT_MAX;
    if (!dense && m > qml__lie_split_max_entries / n_group) {
        algebra->split_entries = m > SIZE_MAX / n_group ? SIZE_MAX : m * n_group;
        algebra->split_cap = qml__lie_split_max_entries;
        goto done;
    }
    seen = qml__calloc(m, 1);
    target = qml__malloc(2 * n_group * sizeof *target);
    value = qml__malloc(n_group * sizeof *value);
    if (!seen || !target || !value) {
        status = qml__oom("the symmetries of a Pauli-string component");
        goto done;
    }
    size_t *slot = target + n_group;
    lie_component *parts = qml__calloc(n_group, sizeof *parts);
    if (!parts) {
        status = qml__oom("simple ideals");
        goto done;
    }
    /* the parts are alike: their roots (and names) are counted once */
    char *names = qml__lie_string_ideal_names(t, order, m, n_group, part, part_rank, checked);
    size_t names_size = names ? strlen(names) + 1 : 0;
    if (!names)
        status = qml__oom("simple ideals");
    for (size_t chi = 0; chi < n_group && !status; chi++) {
        parts[chi].dim = part;
        parts[chi].rank = part_rank;
        parts[chi].certificate = checked ? QML_LIE_CERTIFICATE_SHAPE : QML_LIE_CERTIFICATE_NONE;
        parts[chi].n_support = m;
        parts[chi].support = qml__malloc(m * sizeof(size_t));
        parts[chi].names = qml__malloc(names_size);
        if (dense) {
            parts[chi].coords = qml__calloc(m * part, sizeof(double));
        } else {
            parts[chi].col_nnz = n_group;
            parts[chi].rows = qml__malloc(m * sizeof(size_t));
            parts[chi].vals = qml__malloc(m * sizeof(double));
        }
        if (!parts[chi].support || !parts[chi].names || (dense ? !parts[chi].coords : !parts[chi].rows || !parts[chi].vals)) {
            status = qml__oom("simple ideals");
        } else {
            memcpy(parts[chi].support, order, m * sizeof *order);
            memcpy(parts[chi].names, names, names_size);
        }
    }
    qml__free(names);
    double norm = 1.0 / sqrt((double)n_group);
    size_t col = 0;
    for (size_t i = 0; i < m && !status; i++) {
        if (seen[i])
            continue;
        const uint64_t *ax = t->x + order[i] * words, *az = t->z + order[i] * words;
        for (size_t g = 0; g < n_group; g++) {
            const uint64_t *gx = sx + g * words, *gz = sz + g * words;
            unsigned phase = strings_product_phase(words, gx, gz, ax, az); /* 0 or 2: commuting */
            for (unsigned w = 0; w < words; w++) {
                px[w] = gx[w] ^ ax[w];
                pz[w] = gz[w] ^ az[w];
            }
            target[g] = pos[qml__lie_table_find(t, px, pz)];
            seen[target[g]] = 1;
            value[g] = norm * sign[g] * (phase == 2u ? -1.0 : 1.0);
            /* the entries in ascending row order (insertion sort of |S| slots) */
            size_t e = g;
            while (e > 0 && target[slot[e - 1]] > target[g]) {
                slot[e] = slot[e - 1];
                e--;
            }
            slot[e] = g;
        }
        /* chi(g) = (-1)^{popcount(chi & g)}: g's bits say which Q_j it contains */
        for (size_t chi = 0; chi < n_group; chi++) {
            for (size_t e = 0; e < n_group; e++) {
                size_t g = slot[e];
                double v = (popcount64(chi & g) & 1u) ? -value[g] : value[g];
                if (dense) {
                    parts[chi].coords[target[g] * part + col] = v;
                } else {
                    parts[chi].rows[col * n_group + e] = target[g];
                    parts[chi].vals[col * n_group + e] = v;
                }
            }
        }
        col++;
    }
    for (size_t chi = 0; chi < n_group; chi++) {
        if (!status)
            status = qml__lie_ideal_push(ideals, &parts[chi]);
        else
            qml__lie_component_release(&parts[chi]);
    }
    qml__free(parts);
    *split = status == QML_OK;
done:
    qml__free(sx);
    qml__free(sz);
    qml__free(sign);
    qml__free(px);
    qml__free(gens);
    qml__free(pos);
    qml__free(seen);
    qml__free(target);
    qml__free(value);
    return status;
}

int qml__lie_structure_pure(qml_lie_algebra *algebra, struct qml_rng *rng, ideal_list *ideals)
{
    const string_table *t = &algebra->strings;
    unsigned words = algebra->words;
    size_t d = algebra->dim, K = algebra->n_generators;
    int status = QML_OK;
    size_t *parent = qml__malloc((d + 1) * sizeof *parent);
    size_t *gid = qml__malloc((K + 1) * sizeof *gid);
    size_t *sorted = qml__malloc((d + 1) * sizeof *sorted);
    size_t *local = qml__malloc((d + 1) * sizeof *local);
    size_t *slot = qml__malloc((d + 1) * sizeof *slot);
    double *r = qml__malloc(2 * (K + 1) * sizeof *r);
    uint64_t *px = qml__malloc(2 * (size_t)words * sizeof *px);
    qubit_index gq = {0};
    if (!parent || !gid || !sorted || !local || !slot || !r || !px) {
        status = qml__oom("the structure of a Pauli-string algebra");
        goto done;
    }
    if ((status = qindex_init(&gq, algebra->n_qubits)))
        goto done;
    uint64_t *pz = px + words;
    for (size_t k = 0; k < K; k++) {
        gid[k] = qml__lie_table_find(t, algebra->generators[k]->x, algebra->generators[k]->z);
        r[2 * k] = qml__rng_normal(rng);
        r[2 * k + 1] = qml__rng_normal(rng);
        if ((status = qindex_add(&gq, t, gid[k])))
            goto done;
    }
    for (size_t a = 0; a < d; a++)
        parent[a] = a;
    /* Components of the anticommutation graph: every non-generator string
     * anticommutes with the generator that produced it, so linking strings
     * to the generators they anticommute with gives the same components.
     * The generators are linked pair by pair (through the qubit index);
     * a string of the closure of one component of the generators' graph
     * commutes with every generator outside it (a string commuting with P
     * and Q commutes with PQ), so it anticommutes with generators of one
     * component only, and the first one found links it. */
    for (size_t k = 0; k < K; k++) {
        const uint64_t *ax = t->x + gid[k] * words, *az = t->z + gid[k] * words;
        for (unsigned w = 0; w < words; w++)
            for (uint64_t bits = ax[w] | az[w]; bits; bits &= bits - 1)
                for (size_t e = gq.head[64 * w + lowest_bit64(bits)]; e != SIZE_MAX; e = gq.next[e])
                    if (strings_anticommute(words, ax, az, t->x + gq.id[e] * words, t->z + gq.id[e] * words))
                        qml__lie_uf_union(parent, gid[k], gq.id[e]);
    }
    /* Every string of the closure of a component of the generators lives
     * on that component's qubits. When the qubit sets of the components
     * with two or more generators are disjoint, a non-generator string
     * (never central: it anticommutes with the generator that produced it)
     * belongs to the component owning its lowest qubit; otherwise the index
     * finds a generator it anticommutes with. */
    unsigned n_qubits = algebra->n_qubits;
    size_t *owner = qml__malloc(((size_t)n_qubits + 1) * sizeof *owner); /* per qubit: a root, SIZE_MAX none */
    if (!owner) {
        status = qml__oom("the structure of a Pauli-string algebra");
        goto done;
    }
    unsigned char *is_gen = (unsigned char *)local;
    size_t *gens_of = slot; /* per root: how many generators it has */
    memset(is_gen, 0, d + 1);
    memset(gens_of, 0, (d + 1) * sizeof *gens_of);
    bool disjoint = true;
    for (unsigned q = 0; q < n_qubits; q++)
        owner[q] = SIZE_MAX;
    for (size_t k = 0; k < K; k++) {
        gens_of[qml__uf_find(parent, gid[k])] += !is_gen[gid[k]];
        is_gen[gid[k]] = 1;
    }
    for (size_t k = 0; k < K && disjoint; k++) {
        size_t root = qml__uf_find(parent, gid[k]);
        if (gens_of[root] < 2)
            continue; /* a central generator: it produces nothing */
        const uint64_t *ax = t->x + gid[k] * words, *az = t->z + gid[k] * words;
        for (unsigned w = 0; w < words && disjoint; w++)
            for (uint64_t bits = ax[w] | az[w]; bits && disjoint; bits &= bits - 1) {
                unsigned q = 64 * w + lowest_bit64(bits);
                if (owner[q] == SIZE_MAX)
                    owner[q] = root;
                disjoint = owner[q] == root;
            }
    }
    for (size_t a = 0; a < d; a++) {
        if (is_gen[a])
            continue;
        const uint64_t *ax = t->x + a * words, *az = t->z + a * words;
        size_t id = SIZE_MAX;
        if (disjoint) {
            for (unsigned w = 0; w < words && id == SIZE_MAX; w++)
                if (ax[w] | az[w])
                    id = owner[64 * w + lowest_bit64(ax[w] | az[w])];
        } else {
            id = qindex_anticommuting(&gq, t, ax, az);
        }
        if (id != SIZE_MAX)
            qml__lie_uf_union(parent, a, id);
    }
    qml__free(owner);
    /* counting sort of the elements by root: `sorted` lists each component
     * contiguously (ascending ids), from slot[root] - count[root] */
    size_t *count = local;
    memset(count, 0, (d + 1) * sizeof *count);
    for (size_t a = 0; a < d; a++) {
        parent[a] = qml__uf_find(parent, a);
        count[parent[a]]++;
    }
    size_t n_center = 0;
    for (size_t a = 0; a < d; a++)
        n_center += count[a] == 1;
    algebra->center.dim = n_center;
    algebra->center.n_support = n_center;
    algebra->center.support = qml__malloc((n_center + 1) * sizeof(size_t));
    if (!algebra->center.support) {
        status = qml__oom("the centre");
        goto done;
    }
    size_t nc = 0;
    for (size_t a = 0; a < d; a++)
        if (count[a] == 1 && parent[a] == a)
            algebra->center.support[nc++] = a;
    size_t offset = 0;
    for (size_t a = 0; a < d; a++) {
        slot[a] = offset;
        offset += count[a];
    }
    for (size_t a = 0; a < d; a++)
        sorted[slot[parent[a]]++] = a;
    for (size_t root = 0; root < d && !status; root++) {
        if (parent[root] != root || count[root] < 2)
            continue;
        size_t m = count[root];
        const size_t *order = sorted + slot[root] - m;
        lie_component c = {0};
        unsigned n = algebra->n_qubits;
        if (n < 32 && (uint64_t)m == (((uint64_t)1 << (2 * n)) - 1)) {
            c.rank = ((size_t)1 << n) - 1; /* all non-identity strings: su(2^n) */
        } else if (m <= LIE_DENSE_MAX) {
            double *x = qml__calloc(m * m, sizeof *x);
            double *y = qml__calloc(m * m, sizeof *y);
            size_t *pos = qml__malloc(d * sizeof *pos);
            if (!x || !y || !pos) {
                qml__free(x);
                qml__free(y);
                qml__free(pos);
                status = qml__oom("a Pauli-string component");
                break;
            }
            for (size_t i = 0; i < m; i++)
                pos[order[i]] = i;
            /* X, Y = ad of random combinations of every string of the
             * component, not only of the generators: the generators' parts
             * in two isomorphic ideals can be images of each other under one
             * isomorphism (then every polynomial in their ad actions has the
             * same spectrum on both, and the eigenvectors mix the ideals);
             * the basis as a whole cannot be (it would span a diagonal). */
            double *weight = qml__malloc(2 * m * sizeof *weight);
            if (!weight) {
                qml__free(x);
                qml__free(y);
                qml__free(pos);
                status = qml__oom("a Pauli-string component");
                break;
            }
            for (size_t j = 0; j < 2 * m; j++)
                weight[j] = qml__rng_normal(rng);
            for (size_t i = 0; i < m; i++) {
                const uint64_t *ax = t->x + order[i] * words, *az = t->z + order[i] * words;
                for (size_t j = 0; j < m; j++) {
                    const uint64_t *gx = t->x + order[j] * words, *gz = t->z + order[j] * words;
                    if (!strings_anticommute(words, gx, gz, ax, az))
                        continue;
                    for (unsigned w = 0; w < words; w++) {
                        px[w] = gx[w] ^ ax[w];
                        pz[w] = gz[w] ^ az[w];
                    }
                    size_t target = pos[qml__lie_table_find(t, px, pz)];
                    double v = bracket_sign(strings_product_phase(words, gx, gz, ax, az));
                    x[target * m + i] += weight[2 * j] * v;
                    y[target * m + i] += weight[2 * j + 1] * v;
                }
            }
            qml__free(weight);
            qml__free(pos);
            size_t before = ideals->count;
            status = qml__lie_split_block(algebra->n_threads, m, x, y, order, m, NULL, ideals, NULL, NULL, NULL);
            qml__free(x);
            qml__free(y);
            /* A component that is one simple ideal: its strings are its
             * basis, so its roots can be read off them (so(2r+1) or sp(r)). */
            lie_component *whole = ideals->count == before + 1 ? &ideals->items[before] : NULL;
            if (!status && whole && whole->dim == m && whole->rank >= 3 && m == whole->rank * (2 * whole->rank + 1)) {
                char *names = qml__lie_string_ideal_names(t, order, m, 1, m, whole->rank, true);
                if (!names) {
                    status = qml__oom("ideal names");
                    break;
                }
                qml__free(whole->names);
                whole->names = names;
            }
            continue;
        } else {
            /* Rank = size of a maximal set of commuting strings: a combination
             * commuting with every string of such a set has all its strings
             * commuting with the set, so the set spans a maximal abelian
             * subalgebra, i.e. a Cartan subalgebra of this compact ideal. */
            qubit_index cartan;
            if ((status = qindex_init(&cartan, n)))
                break;
            size_t nt = 0;
            for (size_t i = 0; i < m && !status; i++) {
                const uint64_t *ax = t->x + order[i] * words, *az = t->z + order[i] * words;
                if (qindex_anticommuting(&cartan, t, ax, az) == SIZE_MAX) {
                    status = qindex_add(&cartan, t, order[i]);
                    nt++;
                }
            }
            qindex_release(&cartan);
            if (status)
                break;
            c.rank = nt;
            if (!qml__lie_simple_shape(m, nt)) {
                bool split = false;
                status = split_by_symmetry(algebra, order, m, nt, ideals, &split);
                if (status)
                    break;
                if (split)
                    continue;
            }
        }
        c.dim = m;
        c.n_support = m;
        c.support = qml__malloc(m * sizeof *c.support);
        bool full = n < 32 && (uint64_t)m == (((uint64_t)1 << (2 * n)) - 1);
        bool exact = full;
        if (!exact && qml__lie_simple_shape(m, c.rank)) {
            /* a component is semisimple (no centre) with its rank exact:
             * simple when no sum of simple algebras has its shape */
            bool nonsimple = true, decided = false;
            status = qml__lie_nonsimple_exists(m, c.rank, &nonsimple, &decided);
            if (status)
                break;
            exact = decided && !nonsimple;
        }
        c.names = qml__lie_string_ideal_names(t, order, m, 1, m, c.rank, exact);
        if (exact)
            c.certificate = full ? QML_LIE_CERTIFICATE_FULL : QML_LIE_CERTIFICATE_SHAPE;
        if (!c.support || !c.names) {
            qml__lie_component_release(&c);
            status = qml__oom("a simple ideal");
            break;
        }
        memcpy(c.support, order, m * sizeof *order);
        status = qml__lie_ideal_push(ideals, &c);
    }
done:
    qindex_release(&gq);
    qml__free(parent);
    qml__free(gid);
    qml__free(sorted);
    qml__free(local);
    qml__free(slot);
    qml__free(r);
    qml__free(px);
    return status;
}

/* A basis element under construction: |group| strings with coefficients. */
typedef struct spanned_entry {
    size_t id;
    double val;
} spanned_entry;

typedef struct spanned_basis {
    size_t *start;        /* d + 2 */
    size_t *col;
    double *val;
    size_t dim, count, capacity;
} spanned_basis;

static int spanned_push(spanned_basis *b, const spanned_entry *e, size_t n)
{
    if (b->count + n > b->capacity) {
        size_t cap = b->capacity ? b->capacity : 256;
        while (cap < b->count + n)
            cap *= 2;
        size_t *col = qml__realloc(b->col, cap * sizeof *col);
        if (!col)
            return qml__oom("the string basis");
        b->col = col;
        double *val = qml__realloc(b->val, cap * sizeof *val);
        if (!val)
            return qml__oom("the string basis");
        b->val = val;
        b->capacity = cap;
    }
    for (size_t i = 0; i < n; i++) {
        b->col[b->count] = e[i].id;
        b->val[b->count++] = e[i].val;
    }
    b->start[++b->dim] = b->count;
    return QML_OK;
}

/* A component whose elements are basis elements [first, first + dim). */
static int spanned_ideal(const string_table *t, const size_t *members, size_t m, size_t n_group, size_t first,
                         size_t dim, size_t rank, bool checked, ideal_list *ideals)
{
    lie_component c = {0};
    c.dim = c.n_support = dim;
    c.rank = rank;
    c.support = qml__malloc((dim + 1) * sizeof *c.support);
    c.names = qml__lie_string_ideal_names(t, members, m, n_group, dim, rank, checked);
    c.certificate = checked ? QML_LIE_CERTIFICATE_SHAPE : QML_LIE_CERTIFICATE_NONE;
    if (!c.support || !c.names) {
        qml__lie_component_release(&c);
        return qml__oom("a simple ideal");
    }
    for (size_t i = 0; i < dim; i++)
        c.support[i] = first + i;
    return qml__lie_ideal_push(ideals, &c);
}

/* The structure of a general algebra that is spanned by Pauli strings, with
 * no dense matrix. It applies when the strings S on which the orthonormal
 * basis puts weight (sum over the basis of coefficient^2 > 1/2) number
 * exactly d = dim g, contain every generator term, and are closed under
 * the bracket with every term (-i[t, s] = +-2 s' with s' in S, or 0).
 * Then span S contains the generators and is invariant under their ad
 * actions, so it contains g, and has g's dimension: g = span S. (With an
 * exact dimension this is a proof; the weights only propose S.) So g is
 * the DLA of the single strings S, and its structure is that of a Pauli-
 * string algebra, decided combinatorially:
 * - components of the anticommutation graph of S (each string linked to the
 *   terms it anticommutes with: every string of S is a nested bracket of
 *   terms, so strings of different components commute) are commuting
 *   ideals; a string that commutes with every term is central;
 * - the rank of a component: the size of a maximal set of commuting
 *   strings, which spans a Cartan subalgebra (as in qml__lie_structure_pure);
 * - symmetries (split_by_symmetry): a group of 2^k strings Q commuting
 *   with the component and mapping its strings onto its strings splits it
 *   into 2^k ideals (1/2^k) sum_Q chi(Q) Q g; the group acts freely on
 *   the strings and on the Cartan set (a maximal commuting set is a union of
 *   its cosets), so each part has dimension m / 2^k and rank nt / 2^k;
 * - a part (semisimple: a component has no centre) is simple when no
 *   semisimple algebra with two or more ideals has its dimension and rank
 *   (qml__lie_nonsimple_exists); a part whose (dimension, rank) a simple algebra has
 *   but also a sum of several is named "(not checked to be simple)"; any
 *   other makes the structure unresolved (*valid = false).
 * On success the basis is replaced by one adapted to the ideals (each
 * element a string, or a character sum over a symmetry coset: orthonormal,
 * the same span), so every component is a range of basis elements and
 * costs no coordinates. Work O(d T) for T generator terms (plus the
 * symmetry search), memory O(d + strings met). */
int qml__lie_structure_spanned(qml_lie_algebra *algebra, ideal_list *ideals, bool *applies, bool *valid)
{
    *applies = false;
    *valid = false;
    const string_table *t = &algebra->strings;
    unsigned words = t->words;
    size_t d = algebra->dim, N = t->count;
    if (algebra->pure || algebra->orbit || words > 8 || d == 0)
        return QML_OK;
    size_t n_terms = 0;
    for (size_t k = 0; k < algebra->n_generators; k++)
        n_terms += algebra->generators[k]->n_terms;
    int status = QML_OK;
    enum { MAX_K = 8 };
    size_t group_cap = (size_t)1 << MAX_K;
    double *weight = qml__calloc(N + 1, sizeof *weight);
    size_t *pos = qml__malloc((N + 1) * sizeof *pos);
    size_t *ids = qml__malloc((d + 1) * sizeof *ids);
    size_t *terms = qml__malloc((n_terms + 1) * sizeof *terms);
    unsigned char *is_term = qml__calloc(d + 1, 1);
    size_t *parent = qml__malloc((d + 1) * sizeof *parent);
    size_t *members = qml__malloc((d + 1) * sizeof *members);
    size_t *member_ids = qml__malloc((d + 1) * sizeof *member_ids);
    size_t *cartan = qml__malloc((d + 1) * sizeof *cartan);
    size_t *comp_terms = qml__malloc((n_terms + 1) * sizeof *comp_terms);
    unsigned char *seen = qml__calloc(d + 1, 1);
    spanned_entry *coset = qml__malloc((d + 1) * sizeof *coset);
    uint64_t *sx = qml__calloc(group_cap * words, sizeof *sx);
    uint64_t *sz = qml__calloc(group_cap * words, sizeof *sz);
    int *sign = qml__calloc(group_cap, sizeof *sign);
    spanned_entry *element = qml__malloc(group_cap * sizeof *element);
    spanned_basis nb = {0};
    nb.start = qml__calloc(d + 2, sizeof *nb.start);
    size_t *center = qml__malloc((d + 1) * sizeof *center);
    index_node *node = NULL;
    if (!weight || !pos || !ids || !terms || !is_term || !parent || !members || !member_ids || !cartan ||
        !comp_terms || !seen || !coset || !sx || !sz || !sign || !element || !nb.start || !center) {
        status = qml__oom("the structure of a string-spanned algebra");
        goto done;
    }
    /* S: the strings the basis weighs (weight[s] = the squared norm of the
     * projection of s onto g: 1 when s lies in g) */
    for (size_t e = 0; e < algebra->n_entries; e++)
        weight[algebra->col[e]] += algebra->val[e] * algebra->val[e];
    size_t m_all = 0;
    for (size_t s = 0; s < N; s++) {
        pos[s] = SIZE_MAX;
        if (weight[s] > 0.5) {
            if (m_all == d) {
                m_all++;
                break;
            }
            pos[s] = m_all;
            ids[m_all++] = s;
        }
    }
    if (m_all != d)
        goto done;
    /* the generator terms, each in S */
    size_t nt_all = 0;
    for (size_t k = 0; k < algebra->n_generators; k++) {
        const qml_pauli_sum *g = algebra->generators[k];
        for (size_t i = 0; i < g->n_terms; i++) {
            size_t id = qml__lie_table_find(t, g->x + i * words, g->z + i * words);
            if (id == SIZE_MAX || pos[id] == SIZE_MAX)
                goto done;
            if (!is_term[pos[id]]) {
                is_term[pos[id]] = 1;
                terms[nt_all++] = pos[id];
            }
        }
    }
    /* S closed under the bracket with every term; the links of the
     * anticommutation graph on the way */
    for (size_t i = 0; i < d; i++)
        parent[i] = i;
    for (size_t i = 0; i < d; i++) {
        const uint64_t *ax = t->x + ids[i] * words, *az = t->z + ids[i] * words;
        for (size_t j = 0; j < nt_all; j++) {
            const uint64_t *bx = t->x + ids[terms[j]] * words, *bz = t->z + ids[terms[j]] * words;
            if (!strings_anticommute(words, ax, az, bx, bz))
                continue;
            uint64_t px[8], pz[8];
            for (unsigned w = 0; w < words; w++) {
                px[w] = ax[w] ^ bx[w];
                pz[w] = az[w] ^ bz[w];
            }
            size_t id = qml__lie_table_find(t, px, pz);
            if (id == SIZE_MAX || pos[id] == SIZE_MAX)
                goto done;
            qml__lie_uf_union(parent, i, terms[j]);
        }
    }
    *applies = true;
    /* component sizes (count[root]) */
    size_t *count = members; /* reused below, after the sizes are read */
    memset(count, 0, (d + 1) * sizeof *count);
    for (size_t i = 0; i < d; i++)
        count[qml__uf_find(parent, i)]++;
    size_t n_center = 0;
    for (size_t i = 0; i < d; i++)
        if (count[i] == 1 && parent[i] == i)
            center[n_center++] = i;
    unsigned char *multi = seen; /* roots of components of two or more strings */
    for (size_t i = 0; i < d; i++)
        multi[i] = parent[i] == i && count[i] >= 2;
    /* new basis: the centre first */
    for (size_t c = 0; c < n_center && !status; c++) {
        spanned_entry e = {ids[center[c]], 1.0};
        status = spanned_push(&nb, &e, 1);
        center[c] = c;
    }
    bool ok = true;
    unsigned char *in_comp = is_term; /* re-used: 2 = member of the current component */
    for (size_t root = 0; root < d && !status && ok; root++) {
        if (!multi[root])
            continue;
        size_t m = 0, n_ct = 0;
        for (size_t i = root; i < d; i++)
            if (qml__uf_find(parent, i) == root) {
                members[m] = i;
                member_ids[m++] = ids[i];
            }
        for (size_t j = 0; j < nt_all; j++)
            if (qml__uf_find(parent, terms[j]) == root)
                comp_terms[n_ct++] = ids[terms[j]];
        for (size_t i = 0; i < m; i++)
            in_comp[members[i]] |= 2;
        /* rank: a maximal set of commuting strings */
        size_t nt = 0;
        for (size_t i = 0; i < m; i++)
            if (qml__lie_commutes_with_all(t, t->x + member_ids[i] * words, t->z + member_ids[i] * words, cartan, nt))
                cartan[nt++] = member_ids[i];
        /* symmetries: Q = P_0 R for R commuting with P_0, commuting with the
         * component's terms and mapping its strings onto its strings */
        size_t n_group = 1;
        sign[0] = 1;
        memset(sx, 0, words * sizeof *sx);
        memset(sz, 0, words * sizeof *sz);
        unsigned k = 0;
        const uint64_t *p0x = t->x + member_ids[0] * words, *p0z = t->z + member_ids[0] * words;
        for (size_t c = 1; c < m && k < MAX_K; c++) {
            const uint64_t *rx = t->x + member_ids[c] * words, *rz = t->z + member_ids[c] * words;
            if (strings_anticommute(words, p0x, p0z, rx, rz))
                continue;
            uint64_t qx[8], qz[8], px[8], pz[8];
            for (unsigned w = 0; w < words; w++) {
                qx[w] = p0x[w] ^ rx[w];
                qz[w] = p0z[w] ^ rz[w];
            }
            bool known = group_contains(words, sx, sz, n_group, qx, qz);
            bool commutes = true;
            for (size_t j = 0; j < n_ct && commutes && !known; j++)
                commutes = !strings_anticommute(words, qx, qz, t->x + comp_terms[j] * words, t->z + comp_terms[j] * words);
            if (known || !commutes)
                continue;
            bool maps = true;
            for (size_t i = 0; i < m && maps; i++) {
                for (unsigned w = 0; w < words; w++) {
                    px[w] = qx[w] ^ t->x[member_ids[i] * words + w];
                    pz[w] = qz[w] ^ t->z[member_ids[i] * words + w];
                }
                size_t id = qml__lie_table_find(t, px, pz);
                maps = id != SIZE_MAX && pos[id] != SIZE_MAX && (in_comp[pos[id]] & 2);
            }
            if (!maps)
                continue;
            n_group = group_double(words, sx, sz, sign, n_group, qx, qz);
            k++;
        }
        size_t part = m / n_group, part_rank = nt / n_group;
        ok = m % n_group == 0 && nt % n_group == 0 && qml__lie_simple_shape(part, part_rank);
        bool nonsimple = true, decided = false;
        if (ok)
            status = qml__lie_nonsimple_exists(part, part_rank, &nonsimple, &decided);
        if (!ok || status)
            break;
        bool checked = decided && !nonsimple;
        if (n_group == 1) {
            size_t first = nb.dim;
            for (size_t i = 0; i < m && !status; i++) {
                spanned_entry e = {member_ids[i], 1.0};
                status = spanned_push(&nb, &e, 1);
            }
            if (!status)
                status = spanned_ideal(t, member_ids, m, 1, first, m, nt, checked, ideals);
        } else {
            /* cosets S P: coset c holds entries [c * n_group, (c + 1) * n_group) */
            double norm = 1.0 / sqrt((double)n_group);
            size_t n_cosets = 0;
            for (size_t i = 0; i < m; i++)
                in_comp[members[i]] &= (unsigned char)~4u;
            for (size_t i = 0; i < m && ok; i++) {
                if (in_comp[members[i]] & 4)
                    continue;
                const uint64_t *ax = t->x + member_ids[i] * words, *az = t->z + member_ids[i] * words;
                for (size_t g = 0; g < n_group; g++) {
                    const uint64_t *gx = sx + g * words, *gz = sz + g * words;
                    uint64_t px[8], pz[8];
                    unsigned phase = strings_product_phase(words, gx, gz, ax, az); /* 0 or 2: commuting */
                    for (unsigned w = 0; w < words; w++) {
                        px[w] = gx[w] ^ ax[w];
                        pz[w] = gz[w] ^ az[w];
                    }
                    size_t id = qml__lie_table_find(t, px, pz); /* in the component: checked above */
                    in_comp[pos[id]] |= 4;
                    coset[n_cosets * n_group + g] = (spanned_entry){id, norm * sign[g] * (phase == 2u ? -1.0 : 1.0)};
                }
                n_cosets++;
            }
            for (size_t chi = 0; chi < n_group && !status; chi++) {
                size_t first = nb.dim;
                for (size_t c = 0; c < n_cosets && !status; c++) {
                    /* chi(g) = (-1)^{popcount(chi & g)}; entries in string-id order */
                    for (size_t g = 0; g < n_group; g++) {
                        spanned_entry e = coset[c * n_group + g];
                        if (popcount64(chi & g) & 1u)
                            e.val = -e.val;
                        size_t j = g;
                        while (j > 0 && element[j - 1].id > e.id) {
                            element[j] = element[j - 1];
                            j--;
                        }
                        element[j] = e;
                    }
                    status = spanned_push(&nb, element, n_group);
                }
                if (!status)
                    status = spanned_ideal(t, member_ids, m, n_group, first, part, part_rank, false, ideals);
                if (!status && checked) {
                    /* the name of a certified part loses "(not checked ...)" */
                    lie_component *c = &ideals->items[ideals->count - 1];
                    c->certificate = QML_LIE_CERTIFICATE_SHAPE;
                    char *names = qml__lie_string_ideal_names(t, member_ids, m, n_group, part, part_rank, true);
                    if (!names)
                        status = qml__oom("ideal names");
                    else {
                        qml__free(c->names);
                        c->names = names;
                    }
                }
            }
        }
        for (size_t i = 0; i < m; i++)
            in_comp[members[i]] = 0;
    }
    if (status || !ok)
        goto done;
    if (nb.dim != d || nb.count == 0)
        goto done; /* cannot happen (the parts partition S): unresolved, not wrong */
    node = qml__malloc(nb.count * sizeof *node);
    algebra->center.support = qml__malloc((n_center + 1) * sizeof *algebra->center.support);
    if (!node || !algebra->center.support) {
        status = qml__oom("the string basis");
        goto done;
    }
    algebra->center.dim = algebra->center.n_support = n_center;
    memcpy(algebra->center.support, center, n_center * sizeof *center);
    /* install the new basis and its inverse index */
    qml__free(algebra->start);
    qml__free(algebra->col);
    qml__free(algebra->val);
    qml__free(algebra->node);
    algebra->start = nb.start;
    algebra->col = nb.col;
    algebra->val = nb.val;
    algebra->node = node;
    algebra->n_entries = nb.count;
    algebra->entry_capacity = nb.count;
    algebra->element_capacity = d + 2;
    nb = (spanned_basis){0};
    node = NULL;
    for (size_t s = 0; s < algebra->head_capacity; s++)
        algebra->head[s] = SIZE_MAX;
    for (size_t a = 0; a < d; a++)
        for (size_t e = algebra->start[a]; e < algebra->start[a + 1]; e++) {
            size_t s = algebra->col[e];
            algebra->node[e] = (index_node){algebra->head[s], a, algebra->val[e]};
            algebra->head[s] = e;
        }
    algebra->spanned = true;
    *valid = true;
done:
    qml__free(weight);
    qml__free(pos);
    qml__free(ids);
    qml__free(terms);
    qml__free(is_term);
    qml__free(parent);
    qml__free(members);
    qml__free(member_ids);
    qml__free(cartan);
    qml__free(comp_terms);
    qml__free(seen);
    qml__free(coset);
    qml__free(sx);
    qml__free(sz);
    qml__free(sign);
    qml__free(element);
    qml__free(nb.start);
    qml__free(nb.col);
    qml__free(nb.val);
    qml__free(center);
    qml__free(node);
    return status;
}

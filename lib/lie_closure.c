/*
 * lie_closure.c: the Lie closure: the string table, the exact closure of
 * Pauli strings, the re-orthogonalised Gram-Schmidt closure of Pauli sums
 * (products cached, candidates in parallel batches), orbit coordinates.
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers: the string table --------------------------------------------------- */

size_t qml__lie_table_find(const string_table *t, const uint64_t *x, const uint64_t *z)
{
    if (!t->n_slots)
        return SIZE_MAX;
    size_t mask = t->n_slots - 1;
    if (t->words == 1) {
        const uint64_t kx = x[0], kz = z[0];
        for (size_t i = (size_t)string_hash(1, x, z) & mask;; i = (i + 1) & mask) {
            const flat_slot *slot = &t->flat[i];
            if (!slot->id1)
                return SIZE_MAX;
            if (slot->x == kx && slot->z == kz)
                return slot->id1 - 1;
        }
    }
    for (size_t i = (size_t)string_hash(t->words, x, z) & mask;; i = (i + 1) & mask) {
        size_t slot = t->slots[i];
        if (!slot)
            return SIZE_MAX;
        size_t id = slot - 1;
        if (!memcmp(t->x + id * t->words, x, t->words * sizeof *x) &&
            !memcmp(t->z + id * t->words, z, t->words * sizeof *z))
            return id;
    }
}

static int table_rehash(string_table *t, size_t n_slots)
{
    if (t->words == 1) {
        flat_slot *flat = qml__calloc(n_slots, sizeof *flat);
        if (!flat)
            return qml__oom("a Pauli-string hash table");
        size_t mask = n_slots - 1;
        for (size_t id = 0; id < t->count; id++) {
            size_t i = (size_t)string_hash(1, t->x + id, t->z + id) & mask;
            while (flat[i].id1)
                i = (i + 1) & mask;
            flat[i] = (flat_slot){t->x[id], t->z[id], id + 1};
        }
        qml__free(t->flat);
        t->flat = flat;
        t->n_slots = n_slots;
        return QML_OK;
    }
    size_t *slots = qml__calloc(n_slots, sizeof *slots);
    if (!slots)
        return qml__oom("a Pauli-string hash table");
    size_t mask = n_slots - 1;
    for (size_t id = 0; id < t->count; id++) {
        size_t i = (size_t)string_hash(t->words, t->x + id * t->words, t->z + id * t->words) & mask;
        while (slots[i])
            i = (i + 1) & mask;
        slots[i] = id + 1;
    }
    qml__free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return QML_OK;
}

/* Insert (x, z) if absent; *id is its id either way, *inserted whether it is new. */
int qml__lie_table_insert(string_table *t, const uint64_t *x, const uint64_t *z, size_t *id, bool *inserted)
{
    size_t found = qml__lie_table_find(t, x, z);
    if (found != SIZE_MAX) {
        *id = found;
        *inserted = false;
        return QML_OK;
    }
    if (t->count == t->capacity) {
        size_t cap = t->capacity ? 2 * t->capacity : 64;
        uint64_t *nx = qml__realloc(t->x, qml__mul_size(cap, t->words * sizeof *nx));
        if (!nx)
            return qml__oom("Pauli strings");
        t->x = nx;
        uint64_t *nz = qml__realloc(t->z, qml__mul_size(cap, t->words * sizeof *nz));
        if (!nz)
            return qml__oom("Pauli strings");
        t->z = nz;
        t->capacity = cap;
    }
    if (2 * (t->count + 1) > t->n_slots) {
        int status = table_rehash(t, t->n_slots ? 2 * t->n_slots : 128);
        if (status)
            return status;
    }
    size_t new_id = t->count++;
    memcpy(t->x + new_id * t->words, x, t->words * sizeof *x);
    memcpy(t->z + new_id * t->words, z, t->words * sizeof *z);
    size_t mask = t->n_slots - 1;
    size_t i = (size_t)string_hash(t->words, x, z) & mask;
    if (t->words == 1) {
        while (t->flat[i].id1)
            i = (i + 1) & mask;
        t->flat[i] = (flat_slot){x[0], z[0], new_id + 1};
    } else {
        while (t->slots[i])
            i = (i + 1) & mask;
        t->slots[i] = new_id + 1;
    }
    *id = new_id;
    *inserted = true;
    return QML_OK;
}

int qml__lie_progress(closure_run *run, const char *stage, size_t done, size_t total)
{
    if (run->options.progress && run->options.progress(stage, done, total, run->options.progress_user))
        return qml__error(QML_ERR_CANCELLED, "qml_lie_algebra_create: cancelled by the progress callback during %s",
                          stage);
    return QML_OK;
}

static int limit_reached(const qml_lie_algebra *algebra, const closure_run *run)
{
    return qml__error(QML_ERR_LIMIT,
                      "qml_lie_algebra_create: the algebra exceeds max_dim = %zu (partial algebra of dimension %zu "
                      "returned)",
                      run->options.max_dim, algebra->dim);
}

/* ---- closure: Pauli strings ---------------------------------------------------- */

/* Exact closure: breadth-first over the basis, bracketing each string with
 * the generators only (nested brackets [G_k, [G_l, ...]] span g). The bracket
 * of two strings is non-zero iff they anticommute, and is then +-2 times
 * their product; the span needs only the product. */
int qml__lie_close_pauli_strings(qml_lie_algebra *algebra, closure_run *run)
{
    string_table *t = &algebra->strings;
    unsigned words = algebra->words;
    size_t K = algebra->n_generators;
    size_t max_dim = run->options.max_dim ? run->options.max_dim : SIZE_MAX;
    uint64_t *gx = qml__calloc(K ? K * words : 1, sizeof *gx);
    uint64_t *gz = qml__calloc(K ? K * words : 1, sizeof *gz);
    uint64_t *px = qml__calloc(2 * (size_t)words, sizeof *px);
    if (!gx || !gz || !px) {
        qml__free(gx);
        qml__free(gz);
        qml__free(px);
        return qml__oom("the generator strings");
    }
    uint64_t *pz = px + words;
    int status = QML_OK;
    for (size_t k = 0; k < K && !status; k++) {
        memcpy(gx + k * words, algebra->generators[k]->x, words * sizeof *gx);
        memcpy(gz + k * words, algebra->generators[k]->z, words * sizeof *gz);
        size_t id;
        bool inserted;
        if (qml__lie_table_find(t, gx + k * words, gz + k * words) == SIZE_MAX && t->count >= max_dim) {
            status = limit_reached(algebra, run);
            break;
        }
        status = qml__lie_table_insert(t, gx + k * words, gz + k * words, &id, &inserted);
        algebra->dim = t->count;
    }
    for (size_t a = 0; a < t->count && !status; a++) {
        if ((a & 0xffffu) == 0 && (status = qml__lie_progress(run, "closure", t->count, 0)))
            break;
        for (size_t k = 0; k < K; k++) {
            const uint64_t *ax = t->x + a * words, *az = t->z + a * words;
            if (!strings_anticommute(words, ax, az, gx + k * words, gz + k * words))
                continue;
            for (unsigned w = 0; w < words; w++) {
                px[w] = ax[w] ^ gx[k * words + w];
                pz[w] = az[w] ^ gz[k * words + w];
            }
            if (t->count >= max_dim && qml__lie_table_find(t, px, pz) == SIZE_MAX) {
                status = limit_reached(algebra, run);
                break;
            }
            size_t id;
            bool inserted;
            status = qml__lie_table_insert(t, px, pz, &id, &inserted); /* may move t->x: ax re-read next k */
            if (status)
                break;
        }
        algebra->dim = t->count;
    }
    algebra->dim = t->count;
    qml__free(gx);
    qml__free(gz);
    qml__free(px);
    return status;
}

/* ---- closure: general Pauli sums --------------------------------------------------- */


/* Grow one scatter array (values, marks, touched list) to hold `need`
 * entries, zeroing the new values and marks. */
static int scatter_reserve(double **value, unsigned char **mark, size_t **touched, size_t *capacity, size_t need,
                           const char *what)
{
    if (need <= *capacity)
        return QML_OK;
    size_t cap = *capacity ? *capacity : 256;
    while (cap < need)
        cap *= 2;
    double *v = qml__realloc(*value, cap * sizeof *v);
    if (!v)
        return qml__oom(what);
    *value = v;
    unsigned char *mk = qml__realloc(*mark, cap);
    if (!mk)
        return qml__oom(what);
    *mark = mk;
    size_t *tc = qml__realloc(*touched, cap * sizeof *tc);
    if (!tc)
        return qml__oom(what);
    *touched = tc;
    memset(v + *capacity, 0, (cap - *capacity) * sizeof *v);
    memset(mk + *capacity, 0, cap - *capacity);
    *capacity = cap;
    return QML_OK;
}

int qml__lie_acc_reserve(sparse_acc *acc, size_t n_strings, size_t n_elements)
{
    int status = scatter_reserve(&acc->value, &acc->mark, &acc->touched, &acc->capacity, n_strings,
                                 "a sparse accumulator");
    if (status == QML_OK)
        status = scatter_reserve(&acc->coef, &acc->coef_mark, &acc->coef_touched, &acc->coef_capacity, n_elements,
                                 "projection coefficients");
    return status;
}

void qml__lie_acc_release(sparse_acc *acc)
{
    qml__free(acc->value);
    qml__free(acc->mark);
    qml__free(acc->touched);
    qml__free(acc->coef);
    qml__free(acc->coef_mark);
    qml__free(acc->coef_touched);
}


void qml__lie_acc_clear(sparse_acc *acc)
{
    for (size_t i = 0; i < acc->n_touched; i++) {
        acc->value[acc->touched[i]] = 0;
        acc->mark[acc->touched[i]] = 0;
    }
    acc->n_touched = 0;
}

static double acc_norm2(const sparse_acc *acc)
{
    double s = 0;
    for (size_t i = 0; i < acc->n_touched; i++)
        s += acc->value[acc->touched[i]] * acc->value[acc->touched[i]];
    return s;
}

/* One classical Gram-Schmidt pass against the basis elements [0, limit):
 * c = B^T v through the inverse index, then v -= B c. Run twice ("twice is
 * enough", Giraud et al. 2005). */
static void acc_project_out(const qml_lie_algebra *algebra, sparse_acc *acc, size_t limit)
{
    acc->n_coef = 0;
    size_t n = acc->n_touched;
    for (size_t i = 0; i < n; i++) {
        size_t s = acc->touched[i];
        double v = acc->value[s];
        if (v == 0.0 || s >= algebra->head_capacity)
            continue;
        size_t e = algebra->head[s];
        /* chains run newest first: skip the elements >= limit */
        while (e != SIZE_MAX && algebra->node[e].owner >= limit)
            e = algebra->node[e].next;
        for (; e != SIZE_MAX; e = algebra->node[e].next) {
            size_t a = algebra->node[e].owner;
            if (!acc->coef_mark[a]) {
                acc->coef_mark[a] = 1;
                acc->coef_touched[acc->n_coef++] = a;
            }
            acc->coef[a] += algebra->node[e].val * v;
        }
    }
    for (size_t i = 0; i < acc->n_coef; i++) {
        size_t a = acc->coef_touched[i];
        double c = acc->coef[a];
        acc->coef[a] = 0;
        acc->coef_mark[a] = 0;
        for (size_t e = algebra->start[a]; e < algebra->start[a + 1]; e++)
            qml__lie_acc_add(acc, algebra->col[e], -c * algebra->val[e]);
    }
}

/* Append the normalised accumulator as basis element `dim`, dropping entries
 * of magnitude <= drop. */
static int append_element(qml_lie_algebra *algebra, sparse_acc *acc, double norm, double drop)
{
    size_t a = algebra->dim;
    if (a + 2 > algebra->element_capacity) {
        size_t cap = algebra->element_capacity ? 2 * algebra->element_capacity : 64;
        size_t *st = qml__realloc(algebra->start, cap * sizeof *st);
        if (!st)
            return qml__oom("Lie algebra basis");
        algebra->start = st;
        algebra->element_capacity = cap;
    }
    size_t need = algebra->n_entries + acc->n_touched;
    if (need > algebra->entry_capacity) {
        size_t cap = algebra->entry_capacity ? algebra->entry_capacity : 256;
        while (cap < need)
            cap *= 2;
        size_t *c = qml__realloc(algebra->col, cap * sizeof *c);
        if (!c)
            return qml__oom("Lie algebra basis");
        algebra->col = c;
        double *v = qml__realloc(algebra->val, cap * sizeof *v);
        if (!v)
            return qml__oom("Lie algebra basis");
        algebra->val = v;
        index_node *nd = qml__realloc(algebra->node, cap * sizeof *nd);
        if (!nd)
            return qml__oom("Lie algebra basis");
        algebra->node = nd;
        algebra->entry_capacity = cap;
    }
    if (algebra->strings.count > algebra->head_capacity) {
        size_t cap = algebra->head_capacity ? algebra->head_capacity : 256;
        while (cap < algebra->strings.count)
            cap *= 2;
        size_t *h = qml__realloc(algebra->head, cap * sizeof *h);
        if (!h)
            return qml__oom("Lie algebra index");
        for (size_t s = algebra->head_capacity; s < cap; s++)
            h[s] = SIZE_MAX;
        algebra->head = h;
        algebra->head_capacity = cap;
    }
    if (a == 0)
        algebra->start[0] = 0;
    /* Keep entries in string-id order so that the basis does not depend on
     * the order the accumulator was touched in (it does not: the touched order
     * is deterministic, but sorted entries also make formatting stable). */
    for (size_t i = 0; i < acc->n_touched; i++) {
        size_t s = acc->touched[i];
        double v = acc->value[s] / norm;
        if (fabs(v) <= drop)
            continue; /* rounding noise of the projection */
        size_t e = algebra->n_entries++;
        algebra->col[e] = s;
        algebra->val[e] = v;
        algebra->node[e] = (index_node){algebra->head[s], a, v};
        algebra->head[s] = e;
    }
    algebra->start[a + 1] = algebra->n_entries;
    algebra->dim = a + 1;
    return QML_OK;
}

int qml__lie_compact_never = 0;

/* Lay the inverse index out again so that each string's chain is
 * contiguous: node[head[s]], node[head[s] + 1], ... The projections and the
 * coordinates walk a chain per string of a candidate, and a chain built by
 * append_element jumps through the whole node array, one cache miss per
 * element (the Heisenberg chain at n = 8: 1426 elements of 600 strings each
 * on average, a 20 MB index). The chains keep their order (newest element
 * first, the order of the entries' owners descending) and their values, so
 * every walk adds the same numbers in the same order: the same bits. Built
 * from the entries (node e and entry e carry the same string, owner and
 * value until the first compaction; the entries never move). Needs a second
 * node array for a moment; without it, QML_ERR_OUT_OF_MEMORY and the index
 * is left as it was. */
static int index_compact(qml_lie_algebra *algebra)
{
    size_t n_strings = algebra->head_capacity, n = algebra->n_entries;
    if (n == 0 || algebra->entry_capacity < n || qml__lie_compact_never)
        return QML_OK;
    size_t *next_free = qml__calloc(n_strings + 1, sizeof *next_free);
    index_node *node = qml__malloc(algebra->entry_capacity * sizeof *node);
    if (!next_free || !node) {
        qml__free(next_free);
        qml__free(node);
        return qml__oom("the Lie algebra index");
    }
    for (size_t e = 0; e < n; e++)
        next_free[algebra->col[e]]++;
    size_t offset = 0;
    for (size_t str = 0; str < n_strings; str++) {
        size_t count = next_free[str];
        algebra->head[str] = count ? offset : SIZE_MAX;
        next_free[str] = offset;
        offset += count;
    }
    for (size_t a = algebra->dim; a-- > 0;)
        for (size_t e = algebra->start[a]; e < algebra->start[a + 1]; e++) {
            size_t str = algebra->col[e], at = next_free[str]++;
            node[at] = (index_node){SIZE_MAX, a, algebra->val[e]};
            if (at > algebra->head[str])
                node[at - 1].next = at;
        }
    qml__free(algebra->node);
    algebra->node = node;
    qml__free(next_free);
    return QML_OK;
}

/* The exact verdict on the next candidate: 1 independent, 0 in the span,
 * -1 no replay (the tolerance decides). */
static int next_verdict(closure_run *run)
{
    if (!run->verdicts)
        return -1;
    if (run->next_verdict >= run->verdicts->count) {
        run->replay_failed = true; /* cannot happen when both closures agree on the order */
        return -1;
    }
    return run->verdicts->accept[run->next_verdict++];
}

/* Conditioning figures: relative residuals of accepted and rejected candidates. */
static void record_residual(closure_run *run, bool accepted, double relative)
{
    if (accepted) {
        if (!(relative >= run->smallest_accepted))
            run->smallest_accepted = relative;
    } else if (!(relative <= run->largest_rejected)) {
        run->largest_rejected = relative;
    }
}

/* The decision on a projected candidate of residual `norm`, first norm
 * `norm0`: the exact verdict when there is one, else the relative rule with
 * its rounding floor. */
static bool decide(closure_run *run, int verdict, double norm, double norm0, double floor_norm)
{
    bool accept;
    if (verdict >= 0) {
        accept = verdict == 1;
        if (accept && !(norm > 0.0)) {
            run->replay_failed = true; /* independent exactly, zero in floating point */
            accept = false;
        }
    } else {
        accept = norm > run->options.tolerance * norm0 && norm > floor_norm;
    }
    double reference = norm0 > floor_norm ? norm0 : floor_norm;
    if (norm0 > floor_norm || accept)
        record_residual(run, accept, norm / reference);
    return accept;
}

/* Project the accumulator against the basis (twice) and append it if its
 * residual is above tolerance * its norm (or if the exact closure says so). */
static int consider_candidate(qml_lie_algebra *algebra, closure_run *run, sparse_acc *acc, double scale)
{
    double norm0 = sqrt(acc_norm2(acc));
    int verdict = next_verdict(run);
    /* Rounding floor: `scale` = 2 sum_i |g_i| bounds ||-i[G_k, B]|| for a unit
     * B. A bracket that cancels (or nearly) leaves rounding noise that grows
     * along deep chains of brackets (about 1e-10 * scale at n = 9 for the
     * S_n generators), so a candidate or residual below 1e-9 * scale is
     * noise, not a direction. Above the floor the relative rule decides
     * (residual > tolerance * candidate norm). With an exact verdict, only
     * the verdict decides. */
    double floor_norm = 1e-9 * scale;
    bool tiny = !(norm0 > floor_norm) || !(norm0 > 0.0);
    if (tiny && !(verdict == 1 && norm0 > 0.0)) {
        if (verdict == 1)
            run->replay_failed = true;
        qml__lie_acc_clear(acc);
        return QML_OK;
    }
    int status = qml__lie_acc_reserve(acc, algebra->strings.count, algebra->dim + 1);
    if (status)
        return status;
    acc_project_out(algebra, acc, algebra->dim);
    /* A projection can only shorten the vector, so a candidate already below
     * the acceptance thresholds after the first pass is rejected without the
     * second (most candidates: they lie in the span). Accepted elements still
     * get both passes, so the basis is unchanged. */
    double norm = sqrt(acc_norm2(acc));
    if (verdict == 0 || (verdict < 0 && !(norm > run->options.tolerance * norm0 && norm > floor_norm))) {
        (void)decide(run, verdict, norm, norm0, floor_norm);
        qml__lie_acc_clear(acc);
        return QML_OK;
    }
    acc_project_out(algebra, acc, algebra->dim);
    norm = sqrt(acc_norm2(acc));
    /* Relative acceptance, plus a rounding floor: the bracket of a unit
     * element with G_k carries errors of order 1e-16 * scale per term, which
     * a strongly cancelling bracket can lift above the relative tolerance. */
    if (decide(run, verdict, norm, norm0, floor_norm)) {
        size_t max_dim = run->options.max_dim ? run->options.max_dim : SIZE_MAX;
        if (algebra->dim >= max_dim) {
            qml__lie_acc_clear(acc);
            return limit_reached(algebra, run);
        }
        status = append_element(algebra, acc, norm, 1e-14);
    }
    qml__lie_acc_clear(acc);
    return status;
}

/* ---- closure in orbit coordinates ------------------------------------------ */

/* Letter of qubit q (X < Y < Z < I: the canonical order within a block). */
static inline unsigned orbit_letter(uint64_t x, uint64_t z, unsigned q)
{
    unsigned bx = (unsigned)(x >> q) & 1u, bz = (unsigned)(z >> q) & 1u;
    return bx ? (bz ? 1u : 0u) : (bz ? 2u : 3u);
}

static inline void orbit_set_letter(uint64_t *x, uint64_t *z, unsigned q, unsigned letter)
{
    static const unsigned char lx[4] = {1, 1, 0, 0}, lz[4] = {0, 1, 1, 0};
    uint64_t bit = (uint64_t)1 << q;
    *x = (*x & ~bit) | (lx[letter] ? bit : 0);
    *z = (*z & ~bit) | (lz[letter] ? bit : 0);
}

/* Binomial coefficient in double (exact while it stays below 2^53: each step
 * is C(n-k+i, i), an integer). */
static double orbit_binomial(unsigned n, unsigned k)
{
    double r = 1.0;
    for (unsigned i = 1; i <= k; i++)
        r = r * (double)(n - k + i) / (double)i;
    return r;
}

/* The canonical string of the orbit of (x, z) (each block's letters sorted
 * over its qubits in ascending order) and the orbit's size (a product of
 * multinomials over the blocks). */
void qml__lie_orbit_canonical(const orbit_map *orbit, uint64_t *x, uint64_t *z, double *size)
{
    double n_strings = 1.0;
    for (unsigned b = 0; b < orbit->n_blocks; b++) {
        unsigned begin = orbit->block_start[b], end = orbit->block_start[b + 1], count[4] = {0, 0, 0, 0};
        for (unsigned p = begin; p < end; p++)
            count[orbit_letter(*x, *z, orbit->qubit[p])]++;
        unsigned p = begin, left = end - begin;
        for (unsigned letter = 0; letter < 4; letter++) {
            n_strings *= orbit_binomial(left, count[letter]);
            left -= count[letter];
            for (unsigned c = 0; c < count[letter]; c++)
                orbit_set_letter(x, z, orbit->qubit[p++], letter);
        }
    }
    *size = n_strings;
}

/* Look up or insert the orbit of (x, z) in the dictionary; a new orbit
 * records sqrt(|orbit|). */
static int orbit_intern(qml_lie_algebra *algebra, uint64_t x, uint64_t z, size_t *id)
{
    orbit_map *orbit = algebra->orbit;
    double size;
    qml__lie_orbit_canonical(orbit, &x, &z, &size);
    bool inserted;
    int status = qml__lie_table_insert(&algebra->strings, &x, &z, id, &inserted);
    if (status || !inserted)
        return status;
    if (*id >= orbit->root_capacity) {
        size_t cap = orbit->root_capacity ? 2 * orbit->root_capacity : 256;
        while (cap <= *id)
            cap *= 2;
        double *r = qml__realloc(orbit->root, cap * sizeof *r);
        if (!r)
            return qml__oom("the orbit sizes");
        orbit->root = r;
        orbit->root_capacity = cap;
    }
    orbit->root[*id] = sqrt(size);
    return QML_OK;
}

/* Look up or insert a string, growing the accumulator to cover it. */
static int intern_string(qml_lie_algebra *algebra, sparse_acc *acc, const uint64_t *x, const uint64_t *z,
                         size_t *id)
{
    bool inserted;
    int status = qml__lie_table_insert(&algebra->strings, x, z, id, &inserted);
    if (!status && inserted)
        status = qml__lie_acc_reserve(acc, algebra->strings.count, algebra->dim + 1);
    return status;
}

void qml__lie_cache_release(product_cache *cache)
{
    qml__free(cache->term_start);
    qml__free(cache->row_of);
    qml__free(cache->rows);
    *cache = (product_cache){0};
}

/* Index the generator terms: term t of the flat list is term i of G_k. */
static int cache_init(product_cache *cache, qml_pauli_sum *const *generators, size_t n_generators)
{
    cache->term_start = qml__malloc((n_generators + 1) * sizeof *cache->term_start);
    if (!cache->term_start)
        return qml__oom("the product cache");
    cache->term_start[0] = 0;
    for (size_t k = 0; k < n_generators; k++)
        cache->term_start[k + 1] = cache->term_start[k] + generators[k]->n_terms;
    cache->n_terms = cache->term_start[n_generators];
    return QML_OK;
}

/* The cache row of string s (created empty if absent); its index in *row. */
static int cache_row(product_cache *cache, size_t n_strings, size_t s, size_t *row)
{
    if (n_strings > cache->row_of_capacity) {
        size_t cap = cache->row_of_capacity ? cache->row_of_capacity : 64;
        while (cap < n_strings)
            cap *= 2;
        uint32_t *r = qml__realloc(cache->row_of, cap * sizeof *r);
        if (!r)
            return qml__oom("the product cache");
        memset(r + cache->row_of_capacity, 0, (cap - cache->row_of_capacity) * sizeof *r);
        cache->row_of = r;
        cache->row_of_capacity = cap;
    }
    if (cache->row_of[s]) {
        *row = cache->row_of[s] - 1u;
        return QML_OK;
    }
    if (cache->n_rows >= LIE_CACHE_MAX_ID)
        return qml__error(QML_ERR_LIMIT, "qml_lie_algebra_create: more than %zu distinct Pauli strings in the basis",
                          (size_t)LIE_CACHE_MAX_ID);
    if (cache->n_rows == cache->row_capacity) {
        size_t cap = cache->row_capacity ? 2 * cache->row_capacity : 64;
        uint32_t *r = qml__realloc(cache->rows, qml__mul_size(cap, (cache->n_terms ? cache->n_terms : 1) * sizeof *r));
        if (!r)
            return qml__oom("the product cache");
        cache->rows = r;
        cache->row_capacity = cap;
    }
    *row = cache->n_rows++;
    memset(cache->rows + *row * cache->n_terms, 0, cache->n_terms * sizeof *cache->rows);
    cache->row_of[s] = (uint32_t)(*row + 1u);
    return QML_OK;
}

/* The cache entry of (string s, term i of generator g): computed from the
 * masks and the product interned on first use. */
static int cache_fill(qml_lie_algebra *algebra, const qml_pauli_sum *g, size_t i, size_t s, uint32_t *entry)
{
    unsigned words = algebra->words;
    const uint64_t *sx = algebra->strings.x + s * words, *sz = algebra->strings.z + s * words;
    const uint64_t *tx = g->x + i * words, *tz = g->z + i * words;
    if (!strings_anticommute(words, tx, tz, sx, sz)) {
        *entry = 1u;
        return QML_OK;
    }
    unsigned phase = strings_product_phase(words, tx, tz, sx, sz);
    uint64_t pm[2 * 8], *pm_heap = NULL, *px = pm;
    if (words > 8) {
        pm_heap = qml__malloc(2 * (size_t)words * sizeof *pm_heap);
        if (!pm_heap)
            return qml__oom("a Pauli string");
        px = pm_heap;
    }
    uint64_t *pz = px + words;
    for (unsigned w = 0; w < words; w++) {
        px[w] = tx[w] ^ sx[w];
        pz[w] = tz[w] ^ sz[w];
    }
    size_t id;
    bool inserted;
    int status = algebra->orbit ? orbit_intern(algebra, px[0], pz[0], &id)
                                : qml__lie_table_insert(&algebra->strings, px, pz, &id, &inserted);
    qml__free(pm_heap);
    if (status)
        return status;
    if (id >= LIE_CACHE_MAX_ID)
        return qml__error(QML_ERR_LIMIT, "qml_lie_algebra_create: more than %zu distinct Pauli strings met",
                          (size_t)LIE_CACHE_MAX_ID);
    *entry = (uint32_t)(2u + 2u * id + (bracket_sign(phase) < 0.0));
    return QML_OK;
}

/* Fill the cache entries of (the strings of B_a) x (the terms of G_k),
 * interning new products. Sequential: the dictionary grows. */
int qml__lie_cache_prefill(qml_lie_algebra *algebra, size_t a, size_t k)
{
    product_cache *cache = &algebra->cache;
    const qml_pauli_sum *g = algebra->generators[k];
    size_t T = cache->n_terms, t0 = cache->term_start[k];
    for (size_t e = algebra->start[a]; e < algebra->start[a + 1]; e++) {
        size_t s = algebra->col[e], row = 0;
        int status = cache_row(cache, algebra->strings.count, s, &row);
        if (status)
            return status;
        uint32_t *entries = cache->rows + row * T + t0;
        for (size_t i = 0; i < g->n_terms; i++)
            if (!entries[i] && (status = cache_fill(algebra, g, i, s, &entries[i])))
                return status;
    }
    return QML_OK;
}

/* Accumulate -i[G_k, B_a] = sum over (entry e of B_a, term i of G_k) of
 * g_i val_e (+-2) P(product) from the cache (filled by qml__lie_cache_prefill). Reads
 * the algebra only, so candidates can be bracketed in parallel. */
void qml__lie_bracket_cached(const qml_lie_algebra *algebra, sparse_acc *acc, size_t a, size_t k)
{
    const product_cache *cache = &algebra->cache;
    const qml_pauli_sum *g = algebra->generators[k];
    size_t T = cache->n_terms, t0 = cache->term_start[k], nt = g->n_terms;
    const double *restrict coeff = g->coeff;
    if (algebra->orbit) {
        /* -i[G, u_o] = sum_t g_t beta(t, r_o) sqrt(|o| / |o'|) u_o', o' the
         * orbit of t r_o (r_o the canonical string; G is invariant, so the
         * orbit sum of the brackets is |o| times their group average). */
        const double *restrict root = algebra->orbit->root;
        for (size_t e = algebra->start[a]; e < algebra->start[a + 1]; e++) {
            size_t s = algebra->col[e];
            const uint32_t *restrict entries = cache->rows + (cache->row_of[s] - 1u) * T + t0;
            double v = algebra->val[e] * root[s];
            for (size_t i = 0; i < nt; i++) {
                uint32_t entry = entries[i];
                if (entry == 1u)
                    continue;
                size_t target = (entry - 2u) >> 1;
                qml__lie_acc_add(acc, target, coeff[i] * v * ((entry & 1u) ? -2.0 : 2.0) / root[target]);
            }
        }
        return;
    }
    for (size_t e = algebra->start[a]; e < algebra->start[a + 1]; e++) {
        const uint32_t *restrict entries = cache->rows + (cache->row_of[algebra->col[e]] - 1u) * T + t0;
        double v = algebra->val[e];
        for (size_t i = 0; i < nt; i++) {
            uint32_t entry = entries[i];
            if (entry == 1u)
                continue;
            /* the same product order as the uncached formula: bitwise the same sums */
            qml__lie_acc_add(acc, (entry - 2u) >> 1, coeff[i] * v * ((entry & 1u) ? -2.0 : 2.0));
        }
    }
}

/* The candidates -i[G_k, B_a] for k in [k0, k0 + count): bracket, norm and
 * the first Gram-Schmidt pass against the basis [0, limit) as it was when
 * element a was taken up. One accumulator per candidate; each candidate's
 * arithmetic is the same whichever thread runs it. */
typedef struct candidate_batch {
    const qml_lie_algebra *algebra;
    sparse_acc *accs;
    double *norm0;
    const double *bound;
    size_t a, k0, limit;
} candidate_batch;

static void batch_first_pass(void *context, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const candidate_batch *b = context;
    for (size_t j = begin; j < end; j++) {
        sparse_acc *acc = &b->accs[j];
        qml__lie_bracket_cached(b->algebra, acc, b->a, b->k0 + j);
        double norm0 = sqrt(acc_norm2(acc));
        b->norm0[j] = norm0;
        if (norm0 > 1e-9 * b->bound[b->k0 + j] && norm0 > 0.0)
            acc_project_out(b->algebra, acc, b->limit);
    }
}

/* Finish a candidate, in order: project out the elements [limit, dim) that
 * earlier candidates of the same batch added, reject early if below the
 * thresholds, else the second pass against the whole basis, accept. */
static int batch_finish(qml_lie_algebra *algebra, closure_run *run, sparse_acc *acc, double norm0, double scale,
                        size_t limit)
{
    /* Rounding floor and verdicts: see consider_candidate. */
    double floor_norm = 1e-9 * scale;
    int status = QML_OK;
    int verdict = next_verdict(run);
    bool tiny = !(norm0 > floor_norm) || !(norm0 > 0.0);
    if (tiny) {
        if (verdict != 1 || !(norm0 > 0.0)) {
            if (verdict == 1)
                run->replay_failed = true;
            goto done;
        }
        /* exactly independent below the floor: batch_first_pass did not
         * project it; project against the whole basis here */
        acc_project_out(algebra, acc, algebra->dim);
        acc_project_out(algebra, acc, algebra->dim);
        double norm = sqrt(acc_norm2(acc));
        if (decide(run, verdict, norm, norm0, floor_norm))
            goto accept;
        goto done;
    }
    for (size_t b = limit; b < algebra->dim; b++) {
        double c = 0;
        for (size_t e = algebra->start[b]; e < algebra->start[b + 1]; e++)
            c += algebra->val[e] * acc->value[algebra->col[e]];
        acc->coef[b] = c;
    }
    for (size_t b = limit; b < algebra->dim; b++) {
        double c = acc->coef[b];
        acc->coef[b] = 0;
        for (size_t e = algebra->start[b]; e < algebra->start[b + 1]; e++)
            qml__lie_acc_add(acc, algebra->col[e], -c * algebra->val[e]);
    }
    double norm = sqrt(acc_norm2(acc));
    if (verdict == 0 || (verdict < 0 && !(norm > run->options.tolerance * norm0 && norm > floor_norm))) {
        (void)decide(run, verdict, norm, norm0, floor_norm);
        goto done; /* a projection only shortens it: reject without the second pass */
    }
    acc_project_out(algebra, acc, algebra->dim);
    norm = sqrt(acc_norm2(acc));
    if (!decide(run, verdict, norm, norm0, floor_norm))
        goto done;
accept:;
    size_t max_dim = run->options.max_dim ? run->options.max_dim : SIZE_MAX;
    if (algebra->dim >= max_dim) {
        status = limit_reached(algebra, run);
        goto done;
    }
    status = append_element(algebra, acc, sqrt(acc_norm2(acc)), 1e-14);
done:
    qml__lie_acc_clear(acc);
    return status;
}

/* Re-orthogonalised Gram-Schmidt closure over a global string dictionary.
 * Element a is taken up with the basis [0, limit): its candidates
 * -i[G_k, B_a] are bracketed (products from the cache) and projected once
 * against [0, limit) in batches of n_threads candidates in parallel, then
 * finished in the order k = 0, 1, ... (projected against what the batch
 * added, re-orthogonalised against the whole basis, accepted on a relative
 * residual). The batch size changes who computes, never what: the same bits
 * for any thread count. */
int qml__lie_close_general(qml_lie_algebra *algebra, closure_run *run, qml_pauli_sum *const *seeds, size_t n_seeds)
{
    unsigned words = algebra->words;
    size_t K = algebra->n_generators;
    size_t batch = algebra->n_threads > 1 ? algebra->n_threads : 1;
    if (batch > K)
        batch = K ? K : 1;
    /* ||-i[G, B]|| <= 2 ||G||_op ||B|| <= 2 sum_i |g_i| for a unit B */
    double *bound = qml__calloc(K + 1, sizeof *bound);
    double *norm0 = qml__calloc(batch, sizeof *norm0);
    sparse_acc *accs = qml__calloc(batch, sizeof *accs);
    if (!bound || !norm0 || !accs) {
        qml__free(bound);
        qml__free(norm0);
        qml__free(accs);
        return qml__oom("the closure's work space");
    }
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < algebra->generators[k]->n_terms; i++)
            bound[k] += 2.0 * fabs(algebra->generators[k]->coeff[i]);
    int status = cache_init(&algebra->cache, algebra->generators, K);
    if (!status)
        status = qml__lie_acc_reserve(&accs[0], 256, 256);
    for (size_t k = 0; k < n_seeds && !status; k++) {
        const qml_pauli_sum *g = seeds[k];
        for (size_t i = 0; i < g->n_terms && !status; i++) {
            size_t id;
            if (algebra->orbit) {
                /* each of the |o| terms of an orbit adds g / sqrt|o|: g sqrt|o| in all */
                status = orbit_intern(algebra, g->x[i], g->z[i], &id);
                if (!status)
                    status = qml__lie_acc_reserve(&accs[0], algebra->strings.count, algebra->dim + 1);
                if (!status)
                    qml__lie_acc_add(&accs[0], id, g->coeff[i] / algebra->orbit->root[id]);
                continue;
            }
            status = intern_string(algebra, &accs[0], g->x + i * words, g->z + i * words, &id);
            if (!status)
                qml__lie_acc_add(&accs[0], id, g->coeff[i]);
        }
        if (!status)
            status = consider_candidate(algebra, run, &accs[0], 0.0);
    }
    size_t compacted = 0; /* entries in the contiguous part of the index */
    for (size_t a = 0; a < algebra->dim && !status; a++) {
        if ((a & 0xfu) == 0 && (status = qml__lie_progress(run, "closure", algebra->dim, 0)))
            break;
        /* geometric: the compactions cost a few walks of the whole index */
        if (algebra->n_entries >= compacted + compacted / 4 + 1024) {
            if ((status = index_compact(algebra)))
                break;
            compacted = algebra->n_entries;
        }
        size_t limit = algebra->dim;
        for (size_t k0 = 0; k0 < K && !status; k0 += batch) {
            size_t count = K - k0 < batch ? K - k0 : batch;
            for (size_t j = 0; j < count && !status; j++)
                status = qml__lie_cache_prefill(algebra, a, k0 + j);
            for (size_t j = 0; j < count && !status; j++)
                status = qml__lie_acc_reserve(&accs[j], algebra->strings.count, algebra->dim + K + 1);
            if (status)
                break;
            candidate_batch work = {algebra, accs, norm0, bound, a, k0, limit};
            qml__parallel_for(algebra->n_threads, count, 1, batch_first_pass, &work);
            for (size_t j = 0; j < count; j++) {
                if (status)
                    qml__lie_acc_clear(&accs[j]);
                else
                    status = batch_finish(algebra, run, &accs[j], norm0[j], bound[k0 + j], limit);
            }
        }
    }
    if (!status)
        status = index_compact(algebra); /* for the structure analysis and the queries */
    for (size_t j = 0; j < batch; j++)
        qml__lie_acc_release(&accs[j]);
    qml__free(accs);
    qml__free(norm0);
    qml__free(bound);
    return status;
}

void qml__lie_table_release(string_table *t)
{
    qml__free(t->x);
    qml__free(t->z);
    qml__free(t->slots);
    qml__free(t->flat);
    *t = (string_table){.words = t->words};
}

void qml__lie_orbit_release(qml_lie_algebra *algebra)
{
    if (algebra->orbit)
        qml__free(algebra->orbit->root);
    qml__free(algebra->orbit);
    algebra->orbit = NULL;
}

static inline uint64_t swap_bits(uint64_t v, unsigned a, unsigned b)
{
    uint64_t d = ((v >> a) ^ (v >> b)) & 1u;
    return v ^ (d << a) ^ (d << b);
}

/* Whether the transposition (a b) maps every generator onto itself exactly. */
static bool transposition_invariant(const qml_lie_algebra *algebra, const string_table *terms, unsigned a,
                                    unsigned b)
{
    for (size_t k = 0; k < algebra->n_generators; k++) {
        const qml_pauli_sum *g = algebra->generators[k];
        for (size_t i = 0; i < g->n_terms; i++) {
            uint64_t x = swap_bits(g->x[i], a, b), z = swap_bits(g->z[i], a, b);
            size_t id = qml__lie_table_find(&terms[k], &x, &z);
            if (id == SIZE_MAX || g->coeff[id] != g->coeff[i])
                return false;
        }
    }
    return true;
}

/* Detect the qubit blocks of the generators' permutation symmetry. If (a b)
 * and (b c) are symmetries, so is (a c) = (a b)(b c)(a b): "the transposition
 * is a symmetry" is an equivalence, and a qubit joins a block iff it swaps
 * with the block's first qubit. The group is the product of the blocks'
 * symmetric groups, exactly. No block of two or more qubits (or n > 64):
 * the closure stays on strings. Cost O(n * blocks * sum_k |G_k|) look-ups. */
int qml__lie_orbit_setup(qml_lie_algebra *algebra)
{
    unsigned n = algebra->n_qubits;
    size_t K = algebra->n_generators;
    if (algebra->words != 1 || n < 2 || K == 0)
        return QML_OK;
    string_table *terms = qml__calloc(K, sizeof *terms);
    if (!terms)
        return qml__oom("the orbit detection");
    int status = QML_OK;
    bool distinct = true;
    for (size_t k = 0; k < K && !status && distinct; k++) {
        const qml_pauli_sum *g = algebra->generators[k];
        terms[k].words = 1;
        for (size_t i = 0; i < g->n_terms && !status && distinct; i++) {
            size_t id = SIZE_MAX;
            bool inserted = false;
            status = qml__lie_table_insert(&terms[k], &g->x[i], &g->z[i], &id, &inserted);
            /* A repeated string: stay on strings (a failed insert sets neither). */
            distinct = status == QML_OK && inserted && id == i;
        }
    }
    unsigned block_of[64], first[64], n_blocks = 0;
    if (!status && distinct) {
        for (unsigned q = 0; q < n; q++) {
            unsigned b = 0;
            while (b < n_blocks && !transposition_invariant(algebra, terms, first[b], q))
                b++;
            if (b == n_blocks)
                first[n_blocks++] = q;
            block_of[q] = b;
        }
        if (n_blocks < n) {
            algebra->orbit = qml__calloc(1, sizeof *algebra->orbit);
            if (!algebra->orbit)
                status = qml__oom("the orbit map");
        }
    }
    if (algebra->orbit) {
        orbit_map *orbit = algebra->orbit;
        orbit->n_blocks = n_blocks;
        unsigned p = 0;
        for (unsigned b = 0; b < n_blocks; b++) {
            orbit->block_start[b] = p;
            for (unsigned q = 0; q < n; q++)
                if (block_of[q] == b)
                    orbit->qubit[p++] = q;
        }
        orbit->block_start[n_blocks] = p;
    }
    for (size_t k = 0; k < K; k++)
        qml__lie_table_release(&terms[k]);
    qml__free(terms);
    return status;
}

/* Next distinct permutation of a[0..m) in lexicographic order; false (and
 * a sorted again) after the last. */
static bool next_permutation(unsigned char *a, unsigned m)
{
    if (m < 2)
        return false;
    unsigned i = m - 1;
    while (i > 0 && a[i - 1] >= a[i])
        i--;
    if (i > 0) {
        unsigned j = m - 1;
        while (a[j] <= a[i - 1])
            j--;
        unsigned char t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
    for (unsigned l = i, r = m - 1; l < r; l++, r--) {
        unsigned char t = a[l];
        a[l] = a[r];
        a[r] = t;
    }
    return i > 0;
}


void qml__lie_orbit_iter_begin(orbit_iter *it, const orbit_map *orbit, uint64_t x, uint64_t z)
{
    it->orbit = orbit;
    it->x = x;
    it->z = z;
    it->more = true;
    for (unsigned p = 0; p < orbit->block_start[orbit->n_blocks]; p++)
        it->letter[p] = (unsigned char)orbit_letter(x, z, orbit->qubit[p]);
}

bool qml__lie_orbit_iter_next(orbit_iter *it, uint64_t *x, uint64_t *z)
{
    if (!it->more)
        return false;
    const orbit_map *orbit = it->orbit;
    for (unsigned p = 0; p < orbit->block_start[orbit->n_blocks]; p++)
        orbit_set_letter(&it->x, &it->z, orbit->qubit[p], it->letter[p]);
    *x = it->x;
    *z = it->z;
    it->more = false;
    for (unsigned b = 0; b < orbit->n_blocks && !it->more; b++)
        it->more = next_permutation(it->letter + orbit->block_start[b], orbit->block_start[b + 1] - orbit->block_start[b]);
    return true;
}


/* ---- a well-conditioned basis: the pivoted re-closure ------------------------------ */

/* Why: the breadth-first closure above turns each bracket -i[G_k, B_a] into
 * the next element as soon as it is met, however little of it lies outside
 * the span. For generators whose algebra splits into ideals of very different
 * "sizes" (the permutation-equivariant algebra: spin blocks j = n/2, n/2 - 1,
 * ...), a new direction often appears as a residual of 1e-6 .. 1e-10 of its
 * bracket (measured: the smallest accepted residual falls by about one digit
 * per qubit, 7e-3 at n = 6, 5e-6 at n = 10, 7e-10 at n = 14), and the element
 * inherits the rounding error of the whole bracket divided by that residual.
 * Brackets of that element carry the error on, so it compounds along chains:
 * the basis of S_n at n = 12 is closed only to 1.5e-6, at n >= 14 not at all.
 *
 * The cure is column pivoting: keep every bracket of an accepted element with
 * a generator as a candidate, and always accept the candidate with the
 * largest residual (relative to its norm) next, until the exact dimension is
 * reached. Each accepted residual is then as large as the candidates allow
 * (about 0.1 for S_n up to n = 20), so the rounding error of an element stays
 * at a few ulps and does not compound. The span is the same algebra: each
 * candidate is a bracket of an element of g with a generator, and the
 * generators are candidates, so the span stays inside g; it reaches dim g,
 * the exact dimension, so it is g.
 *
 * Lazily: a candidate's residual norm only falls as the basis grows, so its
 * last computed norm bounds it. The candidate with the largest bound is
 * brought up to date (projected against the elements added since, modified
 * Gram-Schmidt); if it still beats every other bound it is the true maximum,
 * is re-orthogonalised against the whole basis and accepted. At the end every
 * candidate still above 1e-14 is brought up to date: the largest residual
 * left is the closure defect of the new basis. Dense vectors over the orbits
 * (or strings) of the first basis, so the memory is (candidates + dim) x that
 * many doubles, capped at LIE_PIVOT_MAX_BYTES. */

/* Memory cap of the pivoted re-closure (candidate and basis vectors). */
#define LIE_PIVOT_MAX_BYTES ((size_t)512 << 20)

typedef struct pivot_pool {
    size_t m;             /* coordinates: the dictionary ids of the first basis' support */
    size_t *ids;          /* m ids */
    size_t *pos;          /* per dictionary id below n_pos: coordinate + 1, 0 = outside */
    size_t n_pos;
    double *q;            /* basis: dim x m */
    size_t dim;
    /* the basis again, sparse (its elements have few non-zero coordinates:
     * about 12 % for S_n at n = 16): element j = qval at qidx over
     * [qstart[j], qstart[j+1]) */
    size_t *qstart;
    uint32_t *qidx;
    double *qval;
    double *vec;          /* candidates: capacity x m, unit norm when added */
    double *bound;        /* per candidate: its residual norm when last updated (an upper bound now) */
    size_t *updated;      /* per candidate: basis elements already projected out */
    size_t count, capacity;
    size_t *heap;         /* live candidates, max-heap on bound */
    size_t n_heap;
    double smallest_accepted;
    double outside;       /* largest relative mass of a bracket outside the coordinates */
} pivot_pool;

static void pool_heap_up(pivot_pool *p, size_t i)
{
    size_t *h = p->heap;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!(p->bound[h[parent]] < p->bound[h[i]]))
            break;
        size_t t = h[parent];
        h[parent] = h[i];
        h[i] = t;
        i = parent;
    }
}

static void pool_heap_down(pivot_pool *p, size_t i)
{
    size_t *h = p->heap, n = p->n_heap;
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        if (l < n && p->bound[h[l]] > p->bound[h[best]])
            best = l;
        if (l + 1 < n && p->bound[h[l + 1]] > p->bound[h[best]])
            best = l + 1;
        if (best == i)
            return;
        size_t t = h[i];
        h[i] = h[best];
        h[best] = t;
        i = best;
    }
}

static size_t pool_heap_pop(pivot_pool *p)
{
    size_t top = p->heap[0];
    p->heap[0] = p->heap[--p->n_heap];
    pool_heap_down(p, 0);
    return top;
}

static void pool_heap_push(pivot_pool *p, size_t c)
{
    p->heap[p->n_heap++] = c;
    pool_heap_up(p, p->n_heap - 1);
}

/* Bring candidate c up to date (modified Gram-Schmidt against the elements
 * added since its last update); returns its residual norm. */
static double pool_update(pivot_pool *p, size_t c)
{
    double *restrict r = p->vec + c * p->m;
    const uint32_t *restrict idx = p->qidx;
    const double *restrict val = p->qval;
    for (size_t j = p->updated[c]; j < p->dim; j++) {
        size_t begin = p->qstart[j], end = p->qstart[j + 1];
        double dot = 0;
        for (size_t e = begin; e < end; e++)
            dot += val[e] * r[idx[e]];
        for (size_t e = begin; e < end; e++)
            r[idx[e]] -= dot * val[e];
    }
    p->updated[c] = p->dim;
    p->bound[c] = sqrt(qml__lie_dot(p->m, r, r));
    return p->bound[c];
}

/* Add the candidate -i[G_k, v] (v dense over the coordinates), normalised;
 * skipped when it is below 1e-12 of its bound (it vanishes but for rounding). */
static void pool_add_bracket(const qml_lie_algebra *algebra, pivot_pool *p, const double *v, size_t k,
                             double bound)
{
    const product_cache *cache = &algebra->cache;
    const qml_pauli_sum *g = algebra->generators[k];
    size_t T = cache->n_terms, t0 = cache->term_start[k], nt = g->n_terms, m = p->m;
    const double *root = algebra->orbit ? algebra->orbit->root : NULL;
    double *out = p->vec + p->count * m, outside = 0;
    memset(out, 0, m * sizeof *out);
    for (size_t i = 0; i < m; i++) {
        if (v[i] == 0.0)
            continue;
        size_t s = p->ids[i];
        const uint32_t *entries = cache->rows + (cache->row_of[s] - 1u) * T + t0;
        double vs = root ? v[i] * root[s] : v[i];
        for (size_t t = 0; t < nt; t++) {
            uint32_t entry = entries[t];
            if (entry == 1u)
                continue;
            size_t target = (entry - 2u) >> 1;
            double add = g->coeff[t] * vs * ((entry & 1u) ? -2.0 : 2.0);
            if (root)
                add /= root[target];
            size_t at = target < p->n_pos ? p->pos[target] : 0;
            if (at)
                out[at - 1] += add;
            else
                outside += add * add; /* exactly cancelling rounding: g lives on the coordinates */
        }
    }
    double norm = sqrt(qml__lie_dot(m, out, out));
    if (!(norm > 1e-12 * bound))
        return;
    double rel = sqrt(outside) / norm;
    if (rel > p->outside)
        p->outside = rel;
    for (size_t i = 0; i < m; i++)
        out[i] /= norm;
    size_t c = p->count++;
    p->bound[c] = 1.0;
    p->updated[c] = 0;
    pool_heap_push(p, c);
}

/* Accept candidate c (up to date, residual `norm`): re-orthogonalise against
 * the whole basis (one classical pass), normalise, append, and add its
 * brackets with every generator as candidates. */
static void pool_accept(const qml_lie_algebra *algebra, pivot_pool *p, size_t c, double norm, const double *bounds)
{
    size_t m = p->m;
    double *r = p->vec + c * m, *q = p->q + p->dim * m;
    memcpy(q, r, m * sizeof *q);
    for (size_t j = 0; j < p->dim; j++) {
        size_t begin = p->qstart[j], end = p->qstart[j + 1];
        double dot = 0;
        for (size_t e = begin; e < end; e++)
            dot += p->qval[e] * q[p->qidx[e]];
        for (size_t e = begin; e < end; e++)
            q[p->qidx[e]] -= dot * p->qval[e];
    }
    double n2 = sqrt(qml__lie_dot(m, q, q));
    size_t e = p->qstart[p->dim];
    for (size_t i = 0; i < m; i++) {
        q[i] /= n2;
        if (q[i] != 0.0) {
            p->qidx[e] = (uint32_t)i;
            p->qval[e++] = q[i];
        }
    }
    p->qstart[++p->dim] = e;
    if (norm < p->smallest_accepted)
        p->smallest_accepted = norm;
    for (size_t k = 0; k < algebra->n_generators; k++)
        pool_add_bracket(algebra, p, q, k, bounds[k]);
}

static void pool_release(pivot_pool *p)
{
    qml__free(p->ids);
    qml__free(p->pos);
    qml__free(p->q);
    qml__free(p->qstart);
    qml__free(p->qidx);
    qml__free(p->qval);
    qml__free(p->vec);
    qml__free(p->bound);
    qml__free(p->updated);
    qml__free(p->heap);
}

/* Replace the algebra's basis by the pivoted one. */
static int pool_install(qml_lie_algebra *algebra, const pivot_pool *p)
{
    sparse_acc acc = {0};
    int status = qml__lie_acc_reserve(&acc, algebra->strings.count, p->dim + 1);
    if (status) {
        qml__lie_acc_release(&acc);
        return status;
    }
    for (size_t s = 0; s < algebra->head_capacity; s++)
        algebra->head[s] = SIZE_MAX;
    algebra->n_entries = 0;
    algebra->dim = 0;
    for (size_t a = 0; a < p->dim && !status; a++) {
        const double *q = p->q + a * p->m;
        for (size_t i = 0; i < p->m; i++)
            if (q[i] != 0.0)
                qml__lie_acc_add(&acc, p->ids[i], q[i]);
        status = append_element(algebra, &acc, 1.0, 0.0); /* the exact zeros only: the defect is of this basis */
        qml__lie_acc_clear(&acc);
    }
    qml__lie_acc_release(&acc);
    if (!status)
        status = index_compact(algebra);
    return status;
}

int qml__lie_reclose_pivoted(qml_lie_algebra *algebra, bool *rebuilt, double *smallest_accepted,
                             double *largest_rejected)
{
    *rebuilt = false;
    size_t d = algebra->dim, K = algebra->n_generators, N = algebra->strings.count;
    if (d == 0 || K == 0 || algebra->words != 1 || algebra->pure)
        return QML_OK;
    pivot_pool p = {.smallest_accepted = 1.0, .n_pos = N};
    p.pos = qml__calloc(N, sizeof *p.pos);
    if (!p.pos)
        return qml__oom("the pivoted closure");
    /* coordinates: every orbit (string) the first closure met. Not only the
     * support of its basis: an element that rounding had spoiled may miss
     * coordinates of g. */
    for (size_t s = 0; s < N; s++)
        p.pos[s] = ++p.m;
    size_t capacity = K * (d + 1);
    size_t doubles = qml__mul_size(p.m, capacity + 3 * d);
    if (doubles == SIZE_MAX || qml__mul_size(doubles, sizeof(double)) > LIE_PIVOT_MAX_BYTES) {
        pool_release(&p);
        return QML_OK; /* too large: keep the first basis */
    }
    double *bounds = qml__calloc(K, sizeof *bounds);
    p.ids = qml__malloc(p.m * sizeof *p.ids);
    p.q = qml__malloc(qml__mul_size(d, p.m * sizeof *p.q));
    p.qstart = qml__calloc(d + 1, sizeof *p.qstart);
    p.qidx = qml__malloc(qml__mul_size(d, p.m * sizeof *p.qidx));
    p.qval = qml__malloc(qml__mul_size(d, p.m * sizeof *p.qval));
    p.vec = qml__malloc(qml__mul_size(capacity, p.m * sizeof *p.vec));
    p.bound = qml__malloc(capacity * sizeof *p.bound);
    p.updated = qml__malloc(capacity * sizeof *p.updated);
    p.heap = qml__malloc(capacity * sizeof *p.heap);
    p.capacity = capacity;
    int status = QML_OK;
    if (!bounds || !p.ids || !p.q || !p.qstart || !p.qidx || !p.qval || !p.vec || !p.bound || !p.updated || !p.heap)
        status = qml__oom("the pivoted closure");
    for (size_t s = 0; s < N && !status; s++)
        if (p.pos[s])
            p.ids[p.pos[s] - 1] = s;
    /* the generators, as the first closure took them */
    for (size_t k = 0; k < K && !status; k++) {
        const qml_pauli_sum *g = algebra->generators[k];
        double *v = p.vec + p.count * p.m;
        memset(v, 0, p.m * sizeof *v);
        for (size_t i = 0; i < g->n_terms; i++) {
            bounds[k] += 2.0 * fabs(g->coeff[i]);
            uint64_t x = g->x[i * algebra->words], z = g->z[i * algebra->words];
            double size = 1.0;
            size_t id;
            if (algebra->orbit) {
                qml__lie_orbit_canonical(algebra->orbit, &x, &z, &size);
                id = qml__lie_table_find(&algebra->strings, &x, &z);
            } else {
                id = qml__lie_table_find(&algebra->strings, g->x + i * algebra->words, g->z + i * algebra->words);
            }
            if (id != SIZE_MAX && id < N && p.pos[id])
                v[p.pos[id] - 1] += algebra->orbit ? g->coeff[i] / sqrt(size) : g->coeff[i];
        }
        double norm = sqrt(qml__lie_dot(p.m, v, v));
        if (!(norm > 0.0))
            continue;
        for (size_t i = 0; i < p.m; i++)
            v[i] /= norm;
        p.bound[p.count] = 1.0;
        p.updated[p.count] = 0;
        pool_heap_push(&p, p.count);
        p.count++;
    }
    /* every coordinate has its cache row, filled (the first closure
     * bracketed every element with every generator); fill any gap */
    for (size_t i = 0; i < p.m && !status; i++) {
        size_t s = p.ids[i], row = 0;
        status = cache_row(&algebra->cache, algebra->strings.count, s, &row);
        for (size_t k = 0; k < K && !status; k++) {
            const qml_pauli_sum *g = algebra->generators[k];
            uint32_t *entries = algebra->cache.rows + row * algebra->cache.n_terms + algebra->cache.term_start[k];
            for (size_t t = 0; t < g->n_terms && !status; t++)
                if (!entries[t])
                    status = cache_fill(algebra, g, t, s, &entries[t]);
        }
    }
    bool complete = false;
    while (!status && p.n_heap) {
        size_t c = pool_heap_pop(&p);
        double norm = pool_update(&p, c);
        if (p.n_heap && norm < p.bound[p.heap[0]]) {
            pool_heap_push(&p, c); /* another candidate may be larger now */
            continue;
        }
        if (!(norm > 1e-13))
            break; /* nothing left above rounding: the exact dimension is not reached */
        pool_accept(algebra, &p, c, norm, bounds);
        if (p.dim == d) {
            complete = true;
            break;
        }
    }
    double defect = 0;
    if (complete) {
        for (size_t i = 0; i < p.n_heap; i++) {
            size_t c = p.heap[i];
            if (p.bound[c] > 1e-14)
                (void)pool_update(&p, c);
            if (p.bound[c] > defect)
                defect = p.bound[c];
        }
        if (p.outside > defect)
            defect = p.outside;
    }
    if (!status && complete) {
        status = pool_install(algebra, &p);
        if (!status) {
            *rebuilt = true;
            *smallest_accepted = p.smallest_accepted;
            *largest_rejected = defect;
        }
    }
    qml__free(bounds);
    pool_release(&p);
    return status;
}

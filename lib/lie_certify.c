/*
 * lie_certify.c: the certificates of a Pauli-string algebra's simple ideals:
 * the shape check, and the match of the enumerated structure with the
 * classification of the generators (lie_classify.c), part by part.
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qml__lie_classify_tamper = 0;

/* One simple ideal as the match sees it: the part it lies in, its
 * dimension and rank, its root type where known (ROOTS_B, ROOTS_C, else
 * ROOTS_UNKNOWN), and for an enumerated ideal its index in the list. */
typedef struct match_key {
    size_t part, dim, rank;
    int roots;
    size_t index;
} match_key;

static int match_key_cmp(const void *pa, const void *pb)
{
    const match_key *a = pa, *b = pb;
    if (a->part != b->part)
        return a->part < b->part ? -1 : 1;
    if (a->dim != b->dim)
        return a->dim < b->dim ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* " (not checked to be simple)" off the end of a name, once certified. */
static void names_checked(char *names)
{
    static const char suffix[] = " (not checked to be simple)";
    size_t len = names ? strlen(names) : 0, sl = sizeof suffix - 1;
    if (len >= sl && !strcmp(names + len - sl, suffix))
        names[len - sl] = '\0';
}

/* so(2r+1) or sp(r) (r >= 3) as an enumerated ideal's name says: the name
 * carries the verdict of the root lengths (qml__lie_string_root_type), and
 * only then is it "so(2r+1)" or "sp(r)" alone. */
static int enumerated_roots(const lie_component *c)
{
    size_t r = c->rank;
    if (!c->names || r < 3 || c->dim != r * (2 * r + 1))
        return ROOTS_UNKNOWN;
    static const char suffix[] = " (not checked to be simple)";
    char so[48], sp[48];
    snprintf(so, sizeof so, "so(%zu)", 2 * r + 1);
    snprintf(sp, sizeof sp, "sp(%zu)", r);
    size_t len = strlen(c->names), sl = sizeof suffix - 1;
    if (len >= sl && !strcmp(c->names + len - sl, suffix))
        len -= sl;
    if (len == strlen(so) && !strncmp(c->names, so, len))
        return ROOTS_B;
    if (len == strlen(sp) && !strncmp(c->names, sp, len))
        return ROOTS_C;
    return ROOTS_UNKNOWN;
}

/* so(2r+1) or sp(r) (r >= 3) as the classification decided it: so(N) of a
 * free-fermion tree with N odd, sp(2^b) of the quadratic form, or the roots
 * of an exactly closed part. */
static int classified_roots(const pauli_ideal *p)
{
    size_t r = p->rank;
    if (r < 3 || p->dim != r * (2 * r + 1))
        return ROOTS_UNKNOWN;
    if (p->so_n == 2 * r + 1)
        return ROOTS_B;
    if (p->sp_r == r || (p->sp_log2 && ((size_t)1 << p->sp_log2) == r))
        return ROOTS_C;
    return ROOTS_UNKNOWN;
}

/* Tests only (qml__lie_classify_tamper == 2): the first so(2r+1) or sp(r)
 * of the classification becomes the other one. */
static void tamper_roots(pauli_classification *pc)
{
    for (size_t j = 0; j < pc->n_ideals; j++) {
        pauli_ideal *p = &pc->ideals[j];
        int roots = classified_roots(p);
        if (roots == ROOTS_UNKNOWN)
            continue;
        p->so_n = roots == ROOTS_C ? 2 * p->rank + 1 : 0;
        p->sp_r = roots == ROOTS_B ? p->rank : 0;
        p->sp_log2 = 0;
        return;
    }
}

/* Whether the ideals a[0..n) and b[0..n) (one part, sorted by dimension and
 * rank) pair one to one with equal dimension and rank and no known root
 * type against the other known one: within each (dimension, rank), ideals
 * of the same known type pair first, and the rest must find ideals of
 * unknown type on the other side. */
static bool keys_pair(const match_key *a, const match_key *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].dim != b[i].dim || a[i].rank != b[i].rank)
            return false;
    for (size_t i = 0; i < n;) {
        size_t e = i;
        size_t count[2][3] = {{0}}; /* [side][B, C, unknown] */
        while (e < n && a[e].dim == a[i].dim && a[e].rank == a[i].rank) {
            count[0][a[e].roots == ROOTS_B ? 0 : a[e].roots == ROOTS_C ? 1 : 2]++;
            count[1][b[e].roots == ROOTS_B ? 0 : b[e].roots == ROOTS_C ? 1 : 2]++;
            e++;
        }
        size_t left[2] = {0, 0}; /* known types left unpaired on each side */
        for (int t = 0; t < 2; t++) {
            size_t paired = count[0][t] < count[1][t] ? count[0][t] : count[1][t];
            left[0] += count[0][t] - paired;
            left[1] += count[1][t] - paired;
        }
        if (left[0] > count[1][2] || left[1] > count[0][2])
            return false;
        i = e;
    }
    return true;
}

/* Appends " dim:rank" (with the type of so(2r+1) / sp(r) where known) for
 * up to 8 keys. */
static void keys_print(qml__buffer *b, const match_key *k, size_t n)
{
    for (size_t j = 0; j < n && j < 8; j++)
        qml__buffer_printf(b, " %zu:%zu%s", k[j].dim, k[j].rank,
                           k[j].roots == ROOTS_B ? "(so)" : k[j].roots == ROOTS_C ? "(sp)" : "");
    if (n > 8)
        qml__buffer_printf(b, " ...");
}

/* The certificates of a Pauli-string algebra's ideals. Every ideal whose
 * shape admits no sum of simple algebras gets QML_LIE_CERTIFICATE_SHAPE.
 * Then the generators are classified without enumeration (lie_classify.c),
 * part by part: the classification splits them into independent parts (each
 * a direct summand of g), decides by theorem those it can and leaves the
 * others undecided. All generators of a part lie in one component of the
 * anticommutation graph of g's strings, and the enumerated ideals and
 * central strings of that component are the part's. For every decided part,
 * when its centre dimension and the multiset of (dimension, rank) of its
 * simple ideals agree with the enumerated ones, and no so(2r+1) (r >= 3)
 * stands against an sp(r) (same dimension and rank; the enumerated side
 * tells them apart by root lengths, the classification by its theorem),
 * each of the part's ideals is certified simple by the classification (a
 * summand decided by theorem is simple, and the enumerated ideals are
 * invariant subspaces that add up to the part, so equal dimensions pair
 * them one to one); when they do not, the two methods disagree:
 * *consistent = false and the message gives both answers for that part.
 * The ideals of undecided parts keep their other certificates; when there
 * are any, the message says which ideals the classification certified. */
int qml__lie_certify_pure(qml_lie_algebra *algebra, ideal_list *list, bool *consistent)
{
    *consistent = true;
    for (size_t j = 0; j < list->count; j++) {
        lie_component *c = &list->items[j];
        if ((c->certificate & QML_LIE_CERTIFICATE_SHAPE) || !qml__lie_simple_shape(c->dim, c->rank))
            continue;
        bool nonsimple = true, decided = false;
        int status = qml__lie_nonsimple_exists(c->dim, c->rank, &nonsimple, &decided);
        if (status)
            return status;
        if (decided && !nonsimple)
            c->certificate |= QML_LIE_CERTIFICATE_SHAPE;
    }
    pauli_classification pc;
    int status = qml__pauli_classify_parts((const qml_pauli_sum *const *)algebra->generators,
                                           algebra->n_generators, algebra->n_qubits, &pc);
    if (status == QML_ERR_LIMIT)
        return QML_OK; /* no part decided without enumeration: no certificate from the classification */
    if (status)
        return status;
    if (qml__lie_classify_tamper == 1 && pc.n_ideals)
        pc.ideals[0].rank++;
    if (qml__lie_classify_tamper == 2)
        tamper_roots(&pc);
    const string_table *t = &algebra->strings;
    size_t d = algebra->dim, count = list->count, n_parts = pc.n_parts;
    size_t *part_of = qml__malloc((d + 1) * sizeof *part_of);      /* per string id: the part it represents */
    size_t *centre = qml__calloc(n_parts + 1, sizeof *centre);      /* enumerated central strings per part */
    match_key *mine = qml__malloc((count + 1) * sizeof *mine);      /* enumerated ideals */
    match_key *theirs = qml__malloc((pc.n_ideals + 1) * sizeof *theirs);
    qml__buffer b = {0};
    if (!part_of || !centre || !mine || !theirs) {
        status = qml__oom("the certificates of the simple ideals");
        goto done;
    }
    for (size_t a = 0; a < d; a++)
        part_of[a] = SIZE_MAX;
    for (size_t p = 0; p < n_parts; p++) {
        if (!pc.parts[p].decided)
            continue; /* its generators may lie in several components; its ideals stay unmatched */
        size_t id = qml__lie_table_find(t, pc.parts[p].first->x, pc.parts[p].first->z);
        if (id < d && part_of[id] == SIZE_MAX)
            part_of[id] = p;
    }
    /* an ideal's support is its whole component (ideals split from a
     * component share it), which holds its part's representative */
    for (size_t j = 0; j < count; j++) {
        const lie_component *c = &list->items[j];
        size_t p = SIZE_MAX;
        for (size_t i = 0; i < c->n_support && p == SIZE_MAX; i++)
            p = c->support[i] < d ? part_of[c->support[i]] : SIZE_MAX;
        mine[j] = (match_key){p, c->dim, c->rank, enumerated_roots(c), j};
    }
    size_t stray_centre = 0; /* central strings in no decided part */
    for (size_t i = 0; i < algebra->center.n_support; i++) {
        size_t a = algebra->center.support[i];
        size_t p = a < d ? part_of[a] : SIZE_MAX;
        if (p == SIZE_MAX)
            stray_centre++;
        else
            centre[p]++;
    }
    for (size_t j = 0; j < pc.n_ideals; j++)
        theirs[j] = (match_key){pc.ideals[j].part, pc.ideals[j].dim, pc.ideals[j].rank,
                                classified_roots(&pc.ideals[j]), j};
    qsort(mine, count, sizeof *mine, match_key_cmp);
    qsort(theirs, pc.n_ideals, sizeof *theirs, match_key_cmp);
    size_t n_decided = 0, n_certified = 0, n_left = 0;
    size_t em = 0, et = 0; /* runs of the current part in mine and theirs */
    for (size_t p = 0; p < n_parts && *consistent; p++) {
        size_t sm = em, st = et;
        while (em < count && mine[em].part == p)
            em++;
        while (et < pc.n_ideals && theirs[et].part == p)
            et++;
        if (!pc.parts[p].decided)
            continue; /* no ideal maps to it */
        n_decided++;
        if (em - sm == et - st && centre[p] == pc.parts[p].centre_dim && keys_pair(mine + sm, theirs + st, em - sm)) {
            for (size_t j = sm; j < em; j++) {
                list->items[mine[j].index].certificate |= QML_LIE_CERTIFICATE_CLASSIFICATION;
                names_checked(list->items[mine[j].index].names);
            }
            n_certified += em - sm;
            continue;
        }
        *consistent = false;
        qml__buffer_printf(&b, "the enumerated structure of a part of the generators (centre %zu, ideals", centre[p]);
        keys_print(&b, mine + sm, em - sm);
        qml__buffer_printf(&b, ") does not match the classification of its generators (centre %zu, ideals", pc.parts[p].centre_dim);
        keys_print(&b, theirs + st, et - st);
        qml__buffer_printf(&b, "; dim:rank) in an algebra of dim %zu: an internal inconsistency, please report it", d);
    }
    /* with every part decided, ideals and central strings outside every
     * part mean that the parts do not cover g (cannot happen when both
     * sides are right); otherwise they lie in undecided parts */
    n_left += count - em;
    if (*consistent && n_decided == n_parts && (em < count || stray_centre)) {
        *consistent = false;
        qml__buffer_printf(&b, "%zu enumerated ideals and %zu central strings of the algebra (dim %zu) lie in no "
                           "part of the classification of the generators: an internal inconsistency, please report it",
                           count - em, stray_centre, d);
    }
    if (*consistent && n_decided < n_parts && n_certified) {
        qml__buffer_printf(&b, "the classification decides %zu of %zu independent parts of the generators without "
                           "enumeration and certifies the simple ideals in them (%zu); %zu ideals lie in parts it "
                           "does not decide", n_decided, n_parts, n_certified, n_left);
        size_t shown = 0;
        for (size_t j = 0; j < count && shown < 8; j++)
            if (!(list->items[j].certificate & QML_LIE_CERTIFICATE_CLASSIFICATION))
                qml__buffer_printf(&b, "%s%zu", shown++ ? ", " : " (dimensions ", list->items[j].dim);
        qml__buffer_printf(&b, "%s", shown ? (n_left > shown ? ", ...)" : ")") : "");
    }
    if (b.failed)
        status = qml__oom("the structure message");
    else if (b.data)
        snprintf(algebra->structure_message, sizeof algebra->structure_message, "%s", b.data);
done:
    qml__buffer_release(&b);
    qml__free(part_of);
    qml__free(centre);
    qml__free(mine);
    qml__free(theirs);
    qml__pauli_classification_release(&pc);
    return status;
}

/*
 * lie_certify.c: the certificates of a Pauli-string algebra's simple ideals:
 * the shape check, and the match of the enumerated structure with the
 * classification of the generators (lie_classify.c).
 */
#include "lie_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qml__lie_classify_tamper = 0;

static int dim_rank_cmp(const void *pa, const void *pb)
{
    const size_t *a = pa, *b = pb;
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    return a[1] < b[1] ? -1 : a[1] > b[1];
}

/* " (not checked to be simple)" off the end of a name, once certified. */
static void names_checked(char *names)
{
    static const char suffix[] = " (not checked to be simple)";
    size_t len = names ? strlen(names) : 0, sl = sizeof suffix - 1;
    if (len >= sl && !strcmp(names + len - sl, suffix))
        names[len - sl] = '\0';
}

/* The certificates of a Pauli-string algebra's ideals. Every ideal whose
 * shape admits no sum of simple algebras gets QML_LIE_CERTIFICATE_SHAPE.
 * Then the generators are classified without enumeration (lie_classify.c:
 * where a theorem decides every part; otherwise there is no such
 * certificate): when the centre dimension, the dimension and the multiset
 * of (dimension, rank) of the simple ideals agree with the enumerated ones,
 * each ideal is certified simple by the classification (a summand decided
 * by theorem is simple, and the enumerated ideals are invariant subspaces
 * that add up to g, so equal dimensions pair them one to one); when they do
 * not, the two methods disagree: *consistent = false and the message gives
 * both. */
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
    int status = qml__pauli_classify_ex((const qml_pauli_sum *const *)algebra->generators, algebra->n_generators,
                                        algebra->n_qubits, 1, NULL, &pc);
    if (status == QML_ERR_LIMIT)
        return QML_OK; /* a part no theorem decides: no certificate from the classification */
    if (status)
        return status;
    if (qml__lie_classify_tamper && pc.n_ideals)
        pc.ideals[0].rank++;
    size_t count = list->count;
    size_t *pairs = qml__malloc((4 * count + 1) * sizeof *pairs);
    if (!pairs) {
        qml__pauli_classification_release(&pc);
        return qml__oom("the certificates of the simple ideals");
    }
    bool same = pc.n_ideals == count && pc.centre_dim == algebra->center.dim &&
                (algebra->dim >= ((size_t)1 << 53) || pc.dimension == (double)algebra->dim);
    for (size_t j = 0; j < count && same; j++) {
        pairs[2 * j] = list->items[j].dim;
        pairs[2 * j + 1] = list->items[j].rank;
        pairs[2 * count + 2 * j] = pc.ideals[j].dim;
        pairs[2 * count + 2 * j + 1] = pc.ideals[j].rank;
    }
    if (same) {
        qsort(pairs, count, 2 * sizeof *pairs, dim_rank_cmp);
        qsort(pairs + 2 * count, count, 2 * sizeof *pairs, dim_rank_cmp);
        same = !memcmp(pairs, pairs + 2 * count, 2 * count * sizeof *pairs);
    }
    qml__free(pairs);
    if (same) {
        for (size_t j = 0; j < count; j++) {
            list->items[j].certificate |= QML_LIE_CERTIFICATE_CLASSIFICATION;
            names_checked(list->items[j].names);
        }
    } else {
        *consistent = false;
        qml__buffer b = {0};
        qml__buffer_printf(&b, "the enumerated structure (dim %zu, centre %zu, ideals", algebra->dim,
                           algebra->center.dim);
        for (size_t j = 0; j < count && j < 8; j++)
            qml__buffer_printf(&b, " %zu:%zu", list->items[j].dim, list->items[j].rank);
        qml__buffer_printf(&b, "%s) does not match the classification of the generators (dim %.17g, centre %zu, "
                           "ideals", count > 8 ? " ..." : "", pc.dimension, pc.centre_dim);
        for (size_t j = 0; j < pc.n_ideals && j < 8; j++)
            qml__buffer_printf(&b, " %zu:%zu", pc.ideals[j].dim, pc.ideals[j].rank);
        qml__buffer_printf(&b, "%s; dim:rank): an internal inconsistency, please report it", pc.n_ideals > 8 ? " ..." : "");
        snprintf(algebra->structure_message, sizeof algebra->structure_message, "%s",
                 b.data && !b.failed ? b.data : "the enumerated structure does not match the classification");
        qml__buffer_release(&b);
    }
    qml__pauli_classification_release(&pc);
    return QML_OK;
}

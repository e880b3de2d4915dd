/*
 * lie_sets.h: generator sets as the Lie-algebra tests build them (parsed
 * Pauli sums collected into a set, closed into an algebra). Include after
 * harness.h.
 */
#ifndef QML_TEST_LIE_SETS_H
#define QML_TEST_LIE_SETS_H

#include "harness.h"

static inline qml_pauli_sum *parse(unsigned n, const char *text)
{
    qml_pauli_sum *s = NULL;
    assert_ok(qml_pauli_sum_parse(&s, n, text));
    return s;
}

typedef struct generator_set {
    size_t count;
    qml_pauli_sum *items[256];
} generator_set;

static inline void set_add(generator_set *set, unsigned n, const char *text)
{
    assert_true(set->count < 256);
    set->items[set->count++] = parse(n, text);
}

static inline void set_free(generator_set *set)
{
    for (size_t i = 0; i < set->count; i++)
        qml_pauli_sum_free(set->items[i]);
    set->count = 0;
}

static inline qml_lie_algebra *close_set(const generator_set *set)
{
    qml_lie_algebra *a = NULL;
    assert_ok(qml_lie_algebra_create(&a, (const qml_pauli_sum *const *)set->items, set->count, NULL));
    return a;
}

#endif

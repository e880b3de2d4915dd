/* fuzz_options.c: size-versioned structs of random sizes and tails. Each
 * input picks a struct, a claimed size in [0, sizeof + 64] and the bytes past
 * the library's struct; the struct lives in a heap block of exactly its
 * claimed size, so AddressSanitizer reports any read or write past it.
 * Promises: a size below sizeof(size_t) is refused; a non-zero byte past the
 * library's struct is refused; a struct of at least the library's size with
 * a zero tail is accepted (the known fields hold the defaults); a result
 * struct is written within the caller's size only, which is kept. */
#include "fuzz_common.h"

enum { EXTRA = 64 };

typedef struct input {
    const uint8_t *data;
    size_t size;
} input;

static uint8_t next_byte(input *in)
{
    if (in->size == 0)
        return 0;
    uint8_t b = in->data[0];
    in->data++;
    in->size--;
    return b;
}

/* A block of `claimed` bytes: the defaults' prefix, then tail bytes from
 * the input past the library's struct; returns whether the tail is zero. */
static unsigned char *make_block(input *in, const void *defaults, size_t known, size_t claimed, int *zero_tail)
{
    /* Every struct holds its size field, whatever size it claims. */
    size_t bytes = claimed < sizeof(size_t) ? sizeof(size_t) : claimed;
    unsigned char *block = malloc(bytes);
    FUZZ_CHECK(block != NULL);
    memcpy(block, defaults, bytes < known ? bytes : known);
    *zero_tail = 1;
    for (size_t k = known; k < claimed; k++) {
        block[k] = next_byte(in);
        if (block[k])
            *zero_tail = 0;
    }
    memcpy(block, &claimed, sizeof claimed);
    return block;
}

static void expect(int status, size_t claimed, size_t known, int zero_tail)
{
    if (claimed < sizeof(size_t) || !zero_tail) {
        FUZZ_CHECK(status == QML_ERR_INVALID_ARGUMENT);
        fuzz_check_failure(status);
    } else if (claimed >= known) {
        FUZZ_CHECK(status == QML_OK);
    } else if (status != QML_OK) {
        fuzz_check_failure(status); /* an older struct cut inside a field */
    }
}

/* A result struct (written by the library): only the caller's bytes are
 * touched, and its size field is kept. */
static void check_result_block(const unsigned char *block, size_t claimed)
{
    size_t kept;
    memcpy(&kept, block, sizeof kept);
    FUZZ_CHECK(kept == claimed);
}

static qml_pauli_sum *z0;
static qml_pauli_sum *gens[2];
static qml_circuit *circuit;
static qml_dataset *data;
static qml_bp_scan *scan;
static qml_lie_algebra *algebra;

static void setup(void)
{
    if (circuit)
        return;
    unsigned q0 = 0, q1 = 1;
    FUZZ_CHECK(qml_pauli_sum_parse(&z0, 2, "Z0") == QML_OK);
    FUZZ_CHECK(qml_pauli_sum_parse(&gens[0], 2, "X0 X1") == QML_OK);
    FUZZ_CHECK(qml_pauli_sum_parse(&gens[1], 2, "Z0") == QML_OK);
    FUZZ_CHECK(qml_circuit_create(&circuit, 2) == QML_OK);
    FUZZ_CHECK(qml_circuit_add_rotation(circuit, QML_GATE_RY, &q0, 1, 0.0, 0, 1.0, QML_NONE, 0.0) == QML_OK);
    FUZZ_CHECK(qml_circuit_add_rotation(circuit, QML_GATE_RY, &q1, 1, 0.0, 1, 1.0, QML_NONE, 0.0) == QML_OK);
    FUZZ_CHECK(qml_dataset_moons(&data, 8, 0.1, 1) == QML_OK);
    qml_bp_scan_options so = QML_BP_SCAN_OPTIONS_INIT;
    so.n_min = 2;
    so.n_max = 4;
    so.depth = QML_BP_DEPTH_FIXED;
    so.layers = 1;
    qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
    lo.samples = 4;
    FUZZ_CHECK(qml_bp_scan_family(&scan, QML_ANSATZ_HEA, &so, &lo) == QML_OK);
    FUZZ_CHECK(qml_lie_algebra_create(&algebra, (const qml_pauli_sum *const *)gens, 2, NULL) == QML_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    setup();
    input in = {bytes, size};
    unsigned which = next_byte(&in) % 10;
    int zero_tail = 1, status;
    unsigned char *block = NULL;
    size_t known = 0, claimed = 0;
#define CLAIM(type)                                                        \
    do {                                                                   \
        known = sizeof(type);                                              \
        claimed = (size_t)next_byte(&in) % (known + EXTRA + 1);            \
    } while (0)

    switch (which) {
    case 0: {
        static const qml_gradient_options defaults = QML_GRADIENT_OPTIONS_INIT;
        CLAIM(qml_gradient_options);
        block = make_block(&in, &defaults, known, claimed, &zero_tail);
        double w[2] = {0.3, 0.7}, g[2], value;
        status = qml_gradient(circuit, z0, NULL, w, 2, NULL, 0, (const qml_gradient_options *)block, &value, g, NULL);
        expect(status, claimed, known, zero_tail);
        break;
    }
    case 1: {
        static const qml_lie_options defaults = QML_LIE_OPTIONS_INIT;
        CLAIM(qml_lie_options);
        block = make_block(&in, &defaults, known, claimed, &zero_tail);
        qml_lie_algebra *alg = NULL;
        status = qml_lie_algebra_create(&alg, (const qml_pauli_sum *const *)gens, 2, (const qml_lie_options *)block);
        expect(status, claimed, known, zero_tail);
        qml_lie_algebra_free(alg);
        break;
    }
    case 2: {
        qml_landscape_options defaults = QML_LANDSCAPE_OPTIONS_INIT;
        defaults.samples = 2;
        CLAIM(qml_landscape_options);
        block = make_block(&in, &defaults, known, claimed, &zero_tail);
        qml_gradient_stats *stats = NULL;
        status = qml_gradient_stats_create(&stats, circuit, z0, NULL, NULL, 0, (const qml_landscape_options *)block);
        /* A struct shorter than `samples`'s end has the default 200 samples. */
        expect(status, claimed, known, zero_tail);
        qml_gradient_stats_free(stats);
        break;
    }
    case 3: {
        static const qml_csv_options defaults = QML_CSV_OPTIONS_INIT;
        CLAIM(qml_csv_options);
        block = make_block(&in, &defaults, known, claimed, &zero_tail);
        qml_dataset *parsed = NULL;
        status = qml_dataset_parse_csv(&parsed, "1,0\n2,1\n", (const qml_csv_options *)block);
        expect(status, claimed, known, zero_tail);
        qml_dataset_free(parsed);
        break;
    }
    case 4: {
        static const qml_optimizer_options defaults = QML_OPTIMIZER_OPTIONS_INIT;
        CLAIM(qml_optimizer_options);
        block = make_block(&in, &defaults, known, claimed, &zero_tail);
        qml_optimizer *opt = NULL;
        status = qml_optimizer_create(&opt, 2, (const qml_optimizer_options *)block);
        expect(status, claimed, known, zero_tail);
        if (status == QML_OK && claimed >= sizeof(size_t)) {
            /* The getter writes the caller's prefix only. */
            FUZZ_CHECK(qml_optimizer_options_get(opt, (qml_optimizer_options *)block) == QML_OK);
            check_result_block(block, claimed);
        }
        qml_optimizer_free(opt);
        break;
    }
    case 5: {
        qml_train_options defaults = QML_TRAIN_OPTIONS_INIT;
        defaults.epochs = 1;
        CLAIM(qml_train_options);
        block = make_block(&in, &defaults, known, claimed, &zero_tail);
        qml_model *model = NULL;
        FUZZ_CHECK(qml_model_create_template(&model, QML_MODEL_UNSTRUCTURED, 2, 1, 2, QML_LOSS_BCE) == QML_OK);
        status = qml_model_train(model, data, NULL, (const qml_train_options *)block, NULL, 0);
        if (claimed < offsetof(qml_train_options, epochs) + sizeof(unsigned)) {
            if (status != QML_OK)
                fuzz_check_failure(status); /* 30 default epochs: slow but fine */
        } else {
            expect(status, claimed, known, zero_tail);
        }
        qml_model_free(model);
        break;
    }
    case 6: {
        qml_bp_scan_options defaults = QML_BP_SCAN_OPTIONS_INIT;
        defaults.n_min = 2;
        defaults.n_max = 2;
        defaults.depth = QML_BP_DEPTH_FIXED;
        defaults.layers = 1;
        CLAIM(qml_bp_scan_options);
        block = make_block(&in, &defaults, known, claimed, &zero_tail);
        qml_landscape_options lo = QML_LANDSCAPE_OPTIONS_INIT;
        lo.samples = 2;
        qml_bp_scan *s = NULL;
        /* Shorter structs take the default range 2..8 only if cut before
         * n_min: keep those out (slow), check the others. */
        if (claimed >= sizeof(size_t) && claimed < offsetof(qml_bp_scan_options, n_max) + sizeof(unsigned))
            break;
        status = qml_bp_scan_family(&s, QML_ANSATZ_HEA, (const qml_bp_scan_options *)block, &lo);
        expect(status, claimed, known, zero_tail);
        qml_bp_scan_free(s);
        break;
    }
    case 7: { /* result: a scan row */
        CLAIM(qml_bp_row);
        static const qml_bp_row defaults = QML_BP_ROW_INIT;
        block = make_block(&in, &defaults, known, claimed, &zero_tail);
        status = qml_bp_scan_row(scan, 0, (qml_bp_row *)block);
        if (claimed < sizeof(size_t))
            FUZZ_CHECK(status == QML_ERR_INVALID_ARGUMENT);
        else
            FUZZ_CHECK(status == QML_OK);
        check_result_block(block, claimed);
        break;
    }
    case 8: { /* result: a fit */
        CLAIM(qml_bp_fit);
        static const qml_bp_fit defaults = QML_BP_FIT_INIT;
        block = make_block(&in, &defaults, known, claimed, &zero_tail);
        status = qml_bp_scan_fit(scan, (qml_bp_fit *)block);
        if (claimed < sizeof(size_t))
            FUZZ_CHECK(status == QML_ERR_INVALID_ARGUMENT);
        else if (status != QML_OK)
            fuzz_check_failure(status);
        check_result_block(block, claimed);
        break;
    }
    default: { /* result: a variance prediction */
        CLAIM(qml_lie_prediction);
        static const qml_lie_prediction defaults = QML_LIE_PREDICTION_INIT;
        block = make_block(&in, &defaults, known, claimed, &zero_tail);
        qml_statevec *zero = NULL;
        FUZZ_CHECK(qml_statevec_create(&zero, 2) == QML_OK);
        status = qml_lie_algebra_predict_variance(algebra, zero, z0, gens[0], (qml_lie_prediction *)block);
        if (status != QML_OK)
            fuzz_check_failure(status);
        check_result_block(block, claimed);
        qml_statevec_free(zero);
        break;
    }
    }
    free(block);
    return 0;
}

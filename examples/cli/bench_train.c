/*
 * bench_train.c: `qml bench train [--quick] [--json]`: the cost of one
 * optimiser step with exact adjoint gradients, with the fast Gaussian shot
 * model and with sampled parameter shift, as ratios measured in the same run.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_TRAIN_REPEATS 5
#define BENCH_TRAIN_ROWS 16

/* Process CPU seconds on one thread: ratios then do not move with the load
 * of a shared machine. */
static double cpu_seconds(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

typedef struct train_bench {
    unsigned n, layers;
    size_t params;
    uint64_t shots;
    double forward_s;     /* one forward pass + expectation, per row */
    double exact_step_s;  /* the exact step's gradient (qml_model_loss_gradient) */
    double epoch_s[3];    /* one-step epochs: exact, Gaussian, sampled */
} train_bench;

/* One epoch of one step over the 16 rows, from the same starting weights. */
static int time_epoch(qml_model *model, const double *start, size_t n_params, const qml_dataset *data,
                      uint64_t shots, qml_shot_mode mode, double *seconds)
{
    int status = qml_model_set_params(model, start, n_params);
    if (status)
        return status;
    qml_train_options options = QML_TRAIN_OPTIONS_INIT;
    options.epochs = 1;
    options.batch_size = BENCH_TRAIN_ROWS;
    options.init = QML_INIT_KEEP;
    options.shots = shots;
    options.shot_mode = mode;
    double t0 = cpu_seconds();
    status = qml_model_train(model, data, NULL, &options, NULL, 0);
    *seconds = cpu_seconds() - t0;
    return status;
}

static int measure(unsigned n, unsigned layers, uint64_t shots, int repeats, train_bench *result)
{
    memset(result, 0, sizeof *result);
    result->n = n;
    result->layers = layers;
    result->shots = shots;
    qml_model *model = NULL;
    qml_dataset *data = NULL;
    qml_rng *rng = NULL;
    double *start = NULL, *gradient = NULL, *probabilities = NULL;
    int status = qml_model_create_template(&model, QML_MODEL_UNSTRUCTURED, n, layers, n, QML_LOSS_BCE);
    if (!status)
        status = qml_dataset_symmetric(&data, QML_TASK_COS_MEDIAN, BENCH_TRAIN_ROWS, n, 5);
    if (!status)
        status = qml_rng_create(&rng, 2024, n);
    if (status)
        goto done;
    size_t n_params = qml_model_n_params(model);
    result->params = qml_model_n_weights(model);
    start = calloc(n_params, sizeof *start);
    gradient = calloc(n_params, sizeof *gradient);
    probabilities = calloc(BENCH_TRAIN_ROWS, sizeof *probabilities);
    if (!start || !gradient || !probabilities) {
        status = QML_ERR_OUT_OF_MEMORY;
        goto done;
    }
    for (size_t k = 0; k + 2 < n_params; k++)
        start[k] = 6.283185307179586 * qml_rng_uniform(rng);
    start[n_params - 2] = 1.0;
    if ((status = qml_model_set_params(model, start, n_params)))
        goto done;

    double forward[BENCH_TRAIN_REPEATS], step[BENCH_TRAIN_REPEATS], epochs[3][BENCH_TRAIN_REPEATS];
    for (int r = 0; r < repeats; r++) {
        double t0 = cpu_seconds();
        if ((status = qml_model_predict(model, qml_dataset_features(data), BENCH_TRAIN_ROWS, n, 1, probabilities,
                                        NULL)))
            goto done;
        double t1 = cpu_seconds();
        if ((status = qml_model_loss_gradient(model, data, NULL, 0, 1, NULL, gradient, n_params)))
            goto done;
        double t2 = cpu_seconds();
        forward[r] = (t1 - t0) / BENCH_TRAIN_ROWS;
        step[r] = t2 - t1;
        for (int mode = 0; mode < 2; mode++)
            if ((status = time_epoch(model, start, n_params, data, mode ? shots : 0, QML_SHOTS_GAUSSIAN,
                                     &epochs[mode][r])))
                goto done;
    }
    /* Sampled parameter shift costs about 2 x params forward passes per row:
     * measured once. */
    if ((status = time_epoch(model, start, n_params, data, shots, QML_SHOTS_SAMPLED, &epochs[2][0])))
        goto done;
    result->forward_s = cli_median(forward, repeats);
    result->exact_step_s = cli_median(step, repeats);
    result->epoch_s[0] = cli_median(epochs[0], repeats);
    result->epoch_s[1] = cli_median(epochs[1], repeats);
    result->epoch_s[2] = epochs[2][0];
done:
    free(start);
    free(gradient);
    free(probabilities);
    qml_rng_free(rng);
    qml_dataset_free(data);
    qml_model_free(model);
    return status;
}

int bench_train(int argc, char **argv)
{
    bool quick = false, json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = true;
        else if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: qml bench train [--quick] [--json]\n"
                   "  one optimiser step (batch of 16 rows) of the unstructured model at n = 8,\n"
                   "  L = 8n (--quick: n = 6, L = 2n): exact adjoint gradients, the Gaussian shot\n"
                   "  model and sampled parameter shift at S = 100, as ratios of CPU time on one\n"
                   "  thread (medians of 5 repeats; the sampled step is timed once).\n");
            return 0;
        } else
            return cli_usage_error("bench train: unknown option '%s'", argv[i]);
    }
    const unsigned n = quick ? 6 : 8, layers = quick ? 2 * n : 8 * n;
    train_bench b;
    int status = measure(n, layers, 100, quick ? 3 : BENCH_TRAIN_REPEATS, &b);
    if (status)
        return cli_fail("bench train", status);
    /* Each timed epoch is one step plus the same exact bookkeeping (the
     * epoch's full-batch gradient and loss); that bookkeeping is the exact
     * epoch minus the exact step, and comes off every mode. */
    double bookkeeping = b.epoch_s[0] - b.exact_step_s;
    double gaussian_step = b.epoch_s[1] - bookkeeping, sampled_step = b.epoch_s[2] - bookkeeping;
    double gaussian_ratio = gaussian_step / b.exact_step_s, sampled_ratio = sampled_step / b.exact_step_s;
    double passes_per_param = sampled_step / BENCH_TRAIN_ROWS / b.forward_s / (double)b.params;
    if (json) {
        printf("{\"benchmark\": \"train\", \"quick\": %s, \"n\": %u, \"layers\": %u, \"weights\": %zu, "
               "\"batch\": %d, \"shots\": %llu, \"exact_step_seconds\": %.4g, \"gaussian_over_exact\": %.4g, "
               "\"sampled_over_exact\": %.5g, \"sampled_forward_passes_per_weight_per_row\": %.4g, "
               "\"forward_seconds_per_row\": %.4g}\n",
               quick ? "true" : "false", b.n, b.layers, b.params, BENCH_TRAIN_ROWS, (unsigned long long)b.shots,
               b.exact_step_s, gaussian_ratio, sampled_ratio, passes_per_param, b.forward_s);
        return 0;
    }
    printf("one optimiser step, unstructured model n = %u, L = %u (%zu weights), batch %d, S = %llu\n"
           "CPU time on one thread, ratios to the exact step measured in the same run\n\n",
           b.n, b.layers, b.params, BENCH_TRAIN_ROWS, (unsigned long long)b.shots);
    printf("%-28s %12s %10s\n", "gradient", "step [s]", "ratio");
    printf("%-28s %12.4g %10.2f\n", "exact (adjoint)", b.exact_step_s, 1.0);
    printf("%-28s %12.4g %10.2f\n", "Gaussian shot model", gaussian_step, gaussian_ratio);
    printf("%-28s %12.4g %10.1f\n", "sampled parameter shift", sampled_step, sampled_ratio);
    printf("\nsampled step: %.2f forward passes per weight per row (one forward pass: %.3g s)\n", passes_per_param,
           b.forward_s);
    printf("targets: Gaussian <= 1.3x exact; sampled <= 2.5 forward passes per weight per row\n");
    return 0;
}

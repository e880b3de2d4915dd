/* Worked example (docs/datasets.md): the two-moons dataset, a split, and a
 * permutation-symmetric classifier trained by Adam. Built and run by the
 * test suite (suite 'examples'). */
#include <qml.h>
#include <stdio.h>

int main(void)
{
    qml_dataset *data = NULL, *train = NULL, *test = NULL;
    qml_model *model = NULL;
    int status = qml_dataset_moons(&data, 80, 0.1, 1);
    if (status == QML_OK)
        status = qml_dataset_split(&train, &test, data, 0.25, 2, 1);
    if (status == QML_OK)
        status = qml_model_create_template(&model, QML_MODEL_PERMUTATION, 2, 2, 2, QML_LOSS_BCE);
    qml_train_options options = QML_TRAIN_OPTIONS_INIT;
    options.epochs = 5;
    if (status == QML_OK)
        status = qml_model_train(model, train, test, &options, NULL, 0);
    double loss = 0, accuracy = 0;
    if (status == QML_OK)
        status = qml_model_evaluate(model, test, 1, &loss, &accuracy);
    if (status != QML_OK) {
        fprintf(stderr, "training: %s\n", qml_last_error());
        return 1;
    }
    printf("test loss %.4f, test accuracy %.2f after %u epochs\n", loss, accuracy, options.epochs);
    qml_model_free(model);
    qml_dataset_free(train);
    qml_dataset_free(test);
    qml_dataset_free(data);
    return 0;
}

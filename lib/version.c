/*
 * version.c: the run-time version, so that a program can check that the
 * library it loaded matches the header it was compiled against.
 */
#include "internal.h"

#define QML_STR2(x) #x
#define QML_STR(x) QML_STR2(x)

unsigned qml_version_number(void)
{
    return QML_VERSION_NUMBER;
}

const char *qml_version_string(void)
{
    return QML_STR(QML_VERSION_MAJOR) "." QML_STR(QML_VERSION_MINOR) "." QML_STR(QML_VERSION_PATCH);
}

/*
 * json.h: the one JSON writer of the qml program. Every command's --json
 * output is one object that starts with the same keys:
 *   "schema":  "qml-COMMAND/1" (the layout of the rest; the number changes
 *              only when a key is removed or changes meaning),
 *   "version": the libqml version string,
 *   "run":     {"command", "arguments" (as given, after --opt=value is
 *              split), "started_utc"},
 * then the command's own keys. Keys are snake_case and stable; a number that
 * is not finite or not known is written null (never a sentinel like -1).
 */
#ifndef QML_CLI_JSON_H
#define QML_CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_JSON_MAX_DEPTH 16

typedef struct cli_json {
    FILE *out;
    int depth;
    bool need_comma[CLI_JSON_MAX_DEPTH];
    bool after_key;
} cli_json;

/* Open the top-level object and write schema, version and run. argv[0] is
 * the command's name (as the commands receive it). */
void cli_json_begin(cli_json *json, FILE *out, const char *command, int argc, char **argv);
/* Close the top-level object and end the line. */
void cli_json_end(cli_json *json);

void cli_json_key(cli_json *json, const char *key);
void cli_json_object_begin(cli_json *json);
void cli_json_object_end(cli_json *json);
void cli_json_array_begin(cli_json *json);
void cli_json_array_end(cli_json *json);
void cli_json_string(cli_json *json, const char *value); /* NULL is null */
void cli_json_number(cli_json *json, double value);      /* non-finite is null */
void cli_json_u64(cli_json *json, uint64_t value);
void cli_json_bool(cli_json *json, bool value);
void cli_json_null(cli_json *json);

/* key + value in one call. */
void cli_json_kv_string(cli_json *json, const char *key, const char *value);
void cli_json_kv_number(cli_json *json, const char *key, double value);
void cli_json_kv_u64(cli_json *json, const char *key, uint64_t value);
void cli_json_kv_bool(cli_json *json, const char *key, bool value);

#endif

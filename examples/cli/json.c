/* json.c: the JSON writer behind every `qml ... --json` (see json.h). */
#include "json.h"

#include "qml.h"

#include <inttypes.h>
#include <math.h>
#include <time.h>

static void separate(cli_json *json)
{
    if (json->after_key) {
        json->after_key = false;
        return;
    }
    if (json->depth > 0 && json->depth <= CLI_JSON_MAX_DEPTH) {
        if (json->need_comma[json->depth - 1])
            fputc(',', json->out);
        json->need_comma[json->depth - 1] = true;
    }
}

static void open_container(cli_json *json, char bracket)
{
    separate(json);
    fputc(bracket, json->out);
    if (json->depth < CLI_JSON_MAX_DEPTH)
        json->need_comma[json->depth] = false;
    json->depth++;
}

static void close_container(cli_json *json, char bracket)
{
    json->depth--;
    fputc(bracket, json->out);
}

void cli_json_object_begin(cli_json *json)
{
    open_container(json, '{');
}

void cli_json_object_end(cli_json *json)
{
    close_container(json, '}');
}

void cli_json_array_begin(cli_json *json)
{
    open_container(json, '[');
}

void cli_json_array_end(cli_json *json)
{
    close_container(json, ']');
}

static void write_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void cli_json_key(cli_json *json, const char *key)
{
    separate(json);
    write_string(json->out, key);
    fputc(':', json->out);
    json->after_key = true;
}

void cli_json_string(cli_json *json, const char *value)
{
    separate(json);
    if (value)
        write_string(json->out, value);
    else
        fputs("null", json->out);
}

void cli_json_number(cli_json *json, double value)
{
    separate(json);
    if (isfinite(value))
        fprintf(json->out, "%.17g", value);
    else
        fputs("null", json->out);
}

void cli_json_u64(cli_json *json, uint64_t value)
{
    separate(json);
    fprintf(json->out, "%" PRIu64, value);
}

void cli_json_bool(cli_json *json, bool value)
{
    separate(json);
    fputs(value ? "true" : "false", json->out);
}

void cli_json_null(cli_json *json)
{
    separate(json);
    fputs("null", json->out);
}

void cli_json_kv_string(cli_json *json, const char *key, const char *value)
{
    cli_json_key(json, key);
    cli_json_string(json, value);
}

void cli_json_kv_number(cli_json *json, const char *key, double value)
{
    cli_json_key(json, key);
    cli_json_number(json, value);
}

void cli_json_kv_u64(cli_json *json, const char *key, uint64_t value)
{
    cli_json_key(json, key);
    cli_json_u64(json, value);
}

void cli_json_kv_bool(cli_json *json, const char *key, bool value)
{
    cli_json_key(json, key);
    cli_json_bool(json, value);
}

void cli_json_begin(cli_json *json, FILE *out, const char *command, int argc, char **argv)
{
    json->out = out;
    json->depth = 0;
    json->after_key = false;
    cli_json_object_begin(json);
    char schema[64];
    snprintf(schema, sizeof schema, "qml-%s/1", command);
    cli_json_kv_string(json, "schema", schema);
    cli_json_kv_string(json, "version", qml_version_string());
    cli_json_key(json, "run");
    cli_json_object_begin(json);
    cli_json_kv_string(json, "command", command);
    cli_json_key(json, "arguments");
    cli_json_array_begin(json);
    for (int i = 1; i < argc; i++)
        cli_json_string(json, argv[i]);
    cli_json_array_end(json);
    char started[32] = "";
    time_t now = time(NULL);
    struct tm utc;
    if (gmtime_r(&now, &utc))
        strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &utc);
    cli_json_kv_string(json, "started_utc", started[0] ? started : NULL);
    cli_json_object_end(json);
}

void cli_json_end(cli_json *json)
{
    cli_json_object_end(json);
    fputc('\n', json->out);
}

/*
 * json.c: JSON input under limits, and problem documents.
 *
 * jansson parses without limits on nesting or string length, so a body is
 * first scanned once for UTF-8 validity, depth and string length; only a body
 * that passes reaches the parser. The scan also lets the answer say exactly
 * what was wrong and where.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"

/*
 * Scans a JSON text for the limits. Strings are measured in bytes of their
 * source text, escapes included: a cheap, safe upper bound. `offset` gets the
 * byte where a limit was passed.
 */
enum json_check
json_precheck(const char *s, size_t len, const struct json_limits *lim, size_t *offset)
{
	size_t depth = 0, strstart = 0;
	bool in_string = false;

	if (!utf8_valid(s, len)) {
		*offset = 0;
		return JSON_CHECK_UTF8;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\') {
				i++;
			} else if (c == '"') {
				in_string = false;
				if (i - strstart > lim->max_string) {
					*offset = strstart;
					return JSON_CHECK_STRING;
				}
			}
			continue;
		}
		if (c == '"') {
			in_string = true;
			strstart = i + 1;
		} else if (c == '[' || c == '{') {
			if (++depth > lim->max_depth) {
				*offset = i;
				return JSON_CHECK_DEPTH;
			}
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	if (in_string && len - strstart > lim->max_string) {
		*offset = strstart;
		return JSON_CHECK_STRING;
	}
	return JSON_CHECK_OK;
}

/*
 * jansson's values cost it far more than their text: "{}," is 3 bytes and
 * some 250 bytes of hash table parsed, a 1 MiB body of them 70 MB. So the
 * arrays and objects, and the values in all (counted by their commas), are
 * bounded before parsing; no request of the API comes near either bound.
 */
#define JSON_MAX_CONTAINERS 10000
#define JSON_MAX_VALUES     50000

/* Counts containers and values outside strings; false past a bound. */
static bool
json_count_ok(const char *s, size_t len, char *detail, size_t detailsz)
{
	size_t containers = 0, values = 1;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if ((c == '[' || c == '{') && ++containers > JSON_MAX_CONTAINERS) {
			snprintf(detail, detailsz,
			         "JSON with more than %d arrays and objects (at byte %zu).",
			         JSON_MAX_CONTAINERS, i);
			return false;
		} else if (c == ',' && ++values > JSON_MAX_VALUES) {
			snprintf(detail, detailsz, "JSON with more than %d values (at byte %zu).",
			         JSON_MAX_VALUES, i);
			return false;
		}
	}
	return true;
}

/*
 * Parses a body under the limits. On failure returns NULL, sets `status` to
 * the HTTP status to answer (400) and writes a detail message for the user.
 */
json_t *
json_parse_limited(const char *s, size_t len, const struct json_limits *lim, int *status,
                   char *detail, size_t detailsz)
{
	json_error_t err;
	json_t *j;
	size_t off = 0;

	*status = 400;
	switch (json_precheck(s, len, lim, &off)) {
	case JSON_CHECK_UTF8:
		snprintf(detail, detailsz, "The request body is not valid UTF-8.");
		return NULL;
	case JSON_CHECK_DEPTH:
		snprintf(detail, detailsz, "JSON nested deeper than %zu levels (at byte %zu).",
		         lim->max_depth, off);
		return NULL;
	case JSON_CHECK_STRING:
		snprintf(detail, detailsz, "JSON string longer than %zu bytes (at byte %zu).",
		         lim->max_string, off);
		return NULL;
	case JSON_CHECK_OK:
		break;
	}
	if (!json_count_ok(s, len, detail, detailsz))
		return NULL;
	j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL) {
		snprintf(detail, detailsz, "Malformed JSON at line %d, column %d: %s.", err.line,
		         err.column, err.text);
		return NULL;
	}
	return j;
}

/* A new RFC 9457 problem document; the caller owns it. */
json_t *
json_problem(int status, const char *title, const char *detail)
{
	/* about:blank: the status code says it all (RFC 9457 section 4.2.1). */
	json_t *p = json_pack("{s:s, s:s, s:i}", "type", "about:blank", "title",
	                      title ? title : http_status_text(status), "status", status);
	if (p == NULL)
		fatalx("json_pack");
	if (detail) {
		json_t *d = json_string(detail);
		if (d == NULL) {
			/* not UTF-8 (jansson's error text quotes a byte of the input,
			 * a cut fell inside a character): keep the ASCII */
			char *copy = xstrdup(detail);
			for (char *c = copy; *c; c++)
				if ((unsigned char)*c >= 0x80)
					*c = '?';
			d = json_string(copy);
			free(copy);
		}
		json_object_set_new(p, "detail", d);
	}
	return p;
}

/* The compact text of a JSON value; the caller frees it. */
char *
json_dump_compact(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (s == NULL)
		fatalx("json_dumps");
	return s;
}

/*
 * Checks a request object against the fields it may hold. Returns NULL when
 * all is well, else a 400 problem naming the first unknown field (the caller
 * owns it).
 */
json_t *
json_unknown_fields(json_t *obj, const char *const *allowed, const char *prefix)
{
	const char *key;
	json_t *val;

	json_object_foreach (obj, key, val) {
		bool ok = false;
		(void)val;
		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], key) == 0)
				ok = true;
		if (!ok) {
			char field[300], detail[400];
			snprintf(field, sizeof(field), "%s%s", prefix ? prefix : "", key);
			/* a long key is cut: not inside a character (json_pack refuses that) */
			for (size_t n = strlen(field); n > 0 && !utf8_valid(field, n); n--)
				field[n - 1] = '\0';
			snprintf(detail, sizeof(detail), "Unknown field '%s'.", field);
			json_t *p = json_problem(400, NULL, detail);
			json_object_set_new(p, "errors",
			                    json_pack("[{s:s, s:s, s:s}]", "field", field, "code",
			                              "unknown", "message", "Ukendt felt."));
			return p;
		}
	}
	return NULL;
}

/* Adds one entry to a problem's "errors" list. */
void
json_problem_add_error(json_t *problem, const char *field, const char *code, const char *message)
{
	json_t *errors = json_object_get(problem, "errors");
	if (errors == NULL) {
		errors = json_array();
		json_object_set_new(problem, "errors", errors);
	}
	json_array_append_new(
	    errors, json_pack("{s:s, s:s, s:s}", "field", field, "code", code, "message", message));
}

const char *
json_str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

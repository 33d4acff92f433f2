/*
 * http_query.c: a request's query string as the handlers read it: whether
 * a parameter is there, its decoded value, and a 400 naming a parameter
 * that is unknown or invalid. Above http.c, whose problem answers it uses;
 * http.c never calls it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"

/* Is the parameter in the query at all (whatever its value)? */
bool
http_query_has(const struct http_request *req, const char *name)
{
	const char *q = req->head.query;
	size_t nl = strlen(name);

	while (q && *q) {
		if (strncmp(q, name, nl) == 0 && (q[nl] == '=' || q[nl] == '&' || q[nl] == '\0'))
			return true;
		q = strchr(q, '&');
		if (q)
			q++;
	}
	return false;
}

/*
 * Finds a query parameter, decoded into buf: '+' is a space, %XX two hex
 * digits, not %00. NULL when absent, too long, not UTF-8, or with any other
 * '%' (a trailing "%" or "%4" too, as the path decoder refuses them).
 */
const char *
http_query_param(const struct http_request *req, const char *name, char *buf, size_t bufsz)
{
	const char *q = req->head.query;
	size_t nl = strlen(name);

	while (q && *q) {
		const char *amp = strchr(q, '&');
		const char *end = amp ? amp : q + strlen(q);
		if ((size_t)(end - q) > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
			size_t w = 0;
			for (const char *p = q + nl + 1; p < end; p++) {
				int ch = (unsigned char)*p;
				if (ch == '+') {
					ch = ' ';
				} else if (ch == '%') {
					/* strtol alone would take "% 1", "%+1" and "%-1" */
					if (end - p < 3 || !isxdigit((unsigned char)p[1]) ||
					    !isxdigit((unsigned char)p[2]))
						return NULL;
					char hex[3] = {p[1], p[2], 0};
					char *e;
					long v = strtol(hex, &e, 16);
					if (*e != '\0' || v == 0)
						return NULL;
					ch = (int)v;
					p += 2;
				}
				if (w + 1 >= bufsz)
					return NULL;
				buf[w++] = (char)ch;
			}
			buf[w] = '\0';
			return utf8_valid(buf, w) ? buf : NULL;
		}
		if ((size_t)(end - q) == nl && strncmp(q, name, nl) == 0) {
			buf[0] = '\0';
			return buf;
		}
		q = amp ? amp + 1 : NULL;
	}
	return NULL;
}

/* A 400 naming the query parameter at fault; `message` is for caseworkers. */
void
http_bad_param(struct http_request *req, const char *field, const char *message)
{
	char detail[160];
	snprintf(detail, sizeof(detail), "Invalid query parameter '%s'.", field);
	json_t *p = json_problem(400, NULL, detail);
	json_problem_add_error(p, field, "invalid", message);
	http_problem_json(req, p);
}

/* Only the parameters a route knows; anything else is a 400 naming it. */
bool
http_query_check(struct http_request *req, const char *const *allowed)
{
	const char *q = req->head.query;
	while (q && *q) {
		const char *end = strchr(q, '&'), *eq;
		size_t n;
		if (end == NULL)
			end = q + strlen(q);
		eq = memchr(q, '=', (size_t)(end - q));
		n = (size_t)((eq ? eq : end) - q);
		bool ok = n == 0;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strlen(allowed[i]) == n && strncmp(allowed[i], q, n) == 0;
		if (!ok) {
			char name[64];
			snprintf(name, sizeof(name), "%.*s", (int)(n < 60 ? n : 60), q);
			http_bad_param(req, name, "Ukendt parameter.");
			return false;
		}
		q = *end ? end + 1 : end;
	}
	return true;
}

/*
 * resolve_text.c: the text of counterpart resolution (resolve.c): a
 * growable string for the Danish reasons, JSON strings from any bytes
 * (built, or written straight to a buffer), Danish dates, a person's
 * {id, display_name}.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "resolve.h"
#include "resolve_rules.h"
#include "resolve_int.h"
#include "names.h"

/* ---- strings ---- */

void
dir_rtext_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* Printed once where it fits (a reason is a few hundred bytes: the
	 * first 256 hold most), twice only when the builder must grow. */
	if (b->cap == 0) {
		b->cap = 256;
		b->s = xmalloc(b->cap);
	}
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("resolve: vsnprintf");
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* A JSON string even from bytes that are not UTF-8 (those become '?'). */
json_t *
dir_rtext_jstr(const char *s)
{
	json_t *j;
	char *copy;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	copy = xstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j ? j : json_string("");
}

/* The builder's text as a JSON string; the builder is emptied. */
json_t *
dir_rtext_json(struct sb *b)
{
	json_t *j = dir_rtext_jstr(b->s ? b->s : "");
	free(b->s);
	memset(b, 0, sizeof(*b));
	return j;
}

json_t *
dir_rtext_or_null(const char *s)
{
	return s && *s ? dir_rtext_jstr(s) : json_null();
}

/* ---- dates ---- */

int
dir_rtext_digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* "3. marts", with the year when it is not the year of date. */
void
dir_rtext_day(struct sb *b, const char *ymd, const char *date)
{
	static const char *const months[] = {"januar",    "februar", "marts",    "april",
	                                     "maj",       "juni",    "juli",     "august",
	                                     "september", "oktober", "november", "december"};

	if (!clock_date_valid(ymd, strlen(ymd))) {
		dir_rtext_printf(b, "%s", ymd);
		return;
	}
	dir_rtext_printf(b, "%d. %s", dir_rtext_digits(ymd + 8, 2),
	                 months[dir_rtext_digits(ymd + 5, 2) - 1]);
	if (strncmp(ymd, date, 4) != 0)
		dir_rtext_printf(b, " %.4s", ymd);
}

/* ---- JSON ---- */

json_t *
dir_rtext_person_ref(const struct dir_snapshot *s, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", dir_rtext_jstr(s->persons[i].id));
	json_object_set_new(o, "display_name", dir_rtext_jstr(s->persons[i].display_name));
	return o;
}

/*
 * A JSON string written straight to b: the reasons are most of an
 * answer's text, and jansson's dump reads them a code point at a time
 * (the answer with its tie-break took a third more time so). Text that
 * is not UTF-8 goes through dir_rtext_jstr's repair.
 */
void
dir_rtext_ev_str(struct evbuffer *b, const char *s, size_t n)
{
	const char *run = s, *p;

	if (!utf8_valid(s, n)) {
		json_t *j = dir_rtext_jstr(s);
		char *t = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
		if (t == NULL)
			fatalx("resolve: json_dumps");
		evbuffer_add(b, t, strlen(t));
		free(t);
		json_decref(j);
		return;
	}
	ADD_LIT(b, "\"");
	for (p = s; p < s + n; p++) {
		unsigned char c = (unsigned char)*p;
		if (c != '"' && c != '\\' && c >= 0x20)
			continue;
		evbuffer_add(b, run, (size_t)(p - run));
		if (c == '"' || c == '\\')
			evbuffer_add_printf(b, "\\%c", c);
		else
			evbuffer_add_printf(b, "\\u%04x", c);
		run = p + 1;
	}
	evbuffer_add(b, run, (size_t)(p - run));
	ADD_LIT(b, "\"");
}

/* A person's {id, display_name}, or null. */
void
dir_rtext_ref_write(struct evbuffer *b, const struct dir_snapshot *s, int i)
{
	if (i == DIR_NONE) {
		ADD_LIT(b, "null");
		return;
	}
	ADD_LIT(b, "{\"id\":");
	dir_rtext_ev_str(b, s->persons[i].id, strlen(s->persons[i].id));
	ADD_LIT(b, ",\"display_name\":");
	dir_rtext_ev_str(b, s->persons[i].display_name, strlen(s->persons[i].display_name));
	ADD_LIT(b, "}");
}

/* Appends a JSON object's members without its braces; false if it has none. */
bool
dir_rtext_members(struct evbuffer *b, const json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	size_t n;

	if (text == NULL)
		fatalx("resolve: json_dumps");
	n = strlen(text);
	if (n > 2)
		evbuffer_add(b, text + 1, n - 2);
	free(text);
	return n > 2;
}

/* "KLE 27.39.00 »Name«", or without the name when none is known. */
void
dir_rtext_kle(struct sb *b, const char *kle)
{
	const char *name = names_kle(kle);
	if (name)
		dir_rtext_printf(b, "KLE %s »%s«", kle, name);
	else
		dir_rtext_printf(b, "KLE %s", kle);
}

/* A target group by its Danish name (»Unge ledige«), else its key. */
void
dir_rtext_group(struct sb *b, const char *key)
{
	const char *name = names_target_group(key);
	if (name)
		dir_rtext_printf(b, "»%s«", name);
	else
		dir_rtext_printf(b, "%s", key);
}

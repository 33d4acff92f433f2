/*
 * access.c: which units a person acts for, and so which notes they see.
 *
 * A caseworker acts for their own unit and every unit below it; a lead
 * also for each unit they lead and the units below that. A note is seen by
 * those who act for its sending or its receiving unit; everyone else gets
 * 404, as if it did not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "../handover/handover.h"

/* Is unit u the unit `top` or below it? Cycles in a broken tree end. */
bool
ho_unit_within(const struct dir_snapshot *s, int u, int top)
{
	for (size_t hops = 0; u != DIR_NONE && hops <= s->nunits; hops++) {
		if (u == top)
			return true;
		u = s->units[u].parent;
	}
	return false;
}

bool
ho_unit_code_within(const struct dir_snapshot *s, const char *code, const char *top)
{
	int u, t;
	if (code == NULL || top == NULL)
		return false;
	if (strcmp(code, top) == 0)
		return true;
	u = dir_snapshot_find_unit(s, code);
	t = dir_snapshot_find_unit(s, top);
	return u != DIR_NONE && t != DIR_NONE && ho_unit_within(s, u, t);
}

static void
add_subtree(const struct dir_snapshot *s, int u, bool *mark)
{
	if (mark[u])
		return;
	mark[u] = true;
	for (size_t i = 0; i < s->units[u].nchildren; i++)
		add_subtree(s, s->units[u].children[i], mark);
}

size_t
ho_acting_units(const struct dir_snapshot *s, int person, int *out, size_t max)
{
	bool *mark;
	size_t n = 0;

	if (s == NULL || person == DIR_NONE || s->nunits == 0)
		return 0;
	mark = xcalloc(s->nunits, sizeof(*mark));
	if (s->persons[person].unit != DIR_NONE)
		add_subtree(s, s->persons[person].unit, mark);
	for (size_t u = 0; u < s->nunits; u++)
		if (s->units[u].lead == person)
			add_subtree(s, (int)u, mark);
	for (size_t u = 0; u < s->nunits && n < max; u++)
		if (mark[u])
			out[n++] = (int)u;
	free(mark);
	return n;
}

bool
ho_acts_for(const struct dir_snapshot *s, int person, const char *unit_code)
{
	int u;
	const struct dir_person *p;

	if (s == NULL || person == DIR_NONE || unit_code == NULL)
		return false;
	if ((u = dir_snapshot_find_unit(s, unit_code)) == DIR_NONE)
		return false;
	p = &s->persons[person];
	if (p->unit != DIR_NONE && ho_unit_within(s, u, p->unit))
		return true;
	for (size_t l = 0; l < s->nunits; l++)
		if (s->units[l].lead == person && ho_unit_within(s, u, (int)l))
			return true;
	return false;
}

/* A PostgreSQL text[] literal of the person's acting units: {"UR","UR-A"}.
 * The caller frees it. */
char *
ho_acting_units_array(const struct dir_snapshot *s, int person)
{
	int units[512];
	size_t n = ho_acting_units(s, person, units, sizeof(units) / sizeof(units[0]));
	struct evbuffer *b = evbuffer_new();
	char *out;

	evbuffer_add(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		const char *c = s->units[units[i]].code;
		evbuffer_add(b, i ? ",\"" : "\"", i ? 2 : 1);
		for (; *c; c++) {
			if (*c == '"' || *c == '\\')
				evbuffer_add(b, "\\", 1);
			evbuffer_add(b, c, 1);
		}
		evbuffer_add(b, "\"", 1);
	}
	evbuffer_add(b, "}", 2); /* with the NUL */
	out = xstrdup((const char *)evbuffer_pullup(b, -1));
	evbuffer_free(b);
	return out;
}

/*
 * access.c: who sees a note, and who acts on it (need to know).
 *
 * A note is seen, and acted on for its side, by the members of its sending
 * unit and of its receiving unit: the people placed in that unit itself,
 * not in the units above it, and the unit's lead, who counts as a member.
 * The receiving side sees it once it was first submitted. The lead of a
 * unit above either unit reads it masked (the CPR number as DDMMYY-XXXX,
 * the name as initials) and may not act on it. Everyone else gets 404, as
 * if it did not exist (API.md, "Who sees a note").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"

/* Is unit u the unit `top` or below it? Cycles in a broken tree end. */
bool
access_unit_within(const struct dir_snapshot *s, int u, int top)
{
	for (size_t hops = 0; u != DIR_NONE && hops <= s->nunits; hops++) {
		if (u == top)
			return true;
		u = s->units[u].parent;
	}
	return false;
}

bool
access_unit_code_within(const struct dir_snapshot *s, const char *code, const char *top)
{
	int u, t;
	if (code == NULL || top == NULL)
		return false;
	if (strcmp(code, top) == 0)
		return true;
	u = dir_lookup_unit(s, code);
	t = dir_lookup_unit(s, top);
	return u != DIR_NONE && t != DIR_NONE && access_unit_within(s, u, t);
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
access_visible_units(const struct dir_snapshot *s, int person, int *out, size_t max)
{
	bool *mark;
	size_t n = 0;

	if (s == NULL || person == DIR_NONE || s->nunits == 0)
		return 0;
	mark = xcalloc(s->nunits, sizeof(*mark));
	/* the led subtrees first: add_subtree stops at a unit already marked */
	for (size_t u = 0; u < s->nunits; u++)
		if (s->units[u].lead == person)
			add_subtree(s, (int)u, mark);
	if (s->persons[person].unit != DIR_NONE)
		mark[s->persons[person].unit] = true;
	for (size_t u = 0; u < s->nunits && n < max; u++)
		if (mark[u])
			out[n++] = (int)u;
	free(mark);
	return n;
}

bool
access_member_of(const struct dir_snapshot *s, int person, const char *unit_code)
{
	int u;

	if (s == NULL || person == DIR_NONE || unit_code == NULL)
		return false;
	if ((u = dir_lookup_unit(s, unit_code)) == DIR_NONE)
		return false;
	return s->persons[person].unit == u || s->units[u].lead == person;
}

bool
access_leads_above(const struct dir_snapshot *s, int person, const char *unit_code)
{
	int u;

	if (s == NULL || person == DIR_NONE || unit_code == NULL)
		return false;
	if ((u = dir_lookup_unit(s, unit_code)) == DIR_NONE)
		return false;
	/* the units strictly above u, each led by someone (or no one) */
	u = s->units[u].parent;
	for (size_t hops = 0; u != DIR_NONE && hops <= s->nunits; hops++) {
		if (s->units[u].lead == person)
			return true;
		u = s->units[u].parent;
	}
	return false;
}

unsigned
access_of_note(const struct dir_snapshot *s, int person, const json_t *row)
{
	return access_of_units(s, person, json_str(row, "sender_unit"),
	                       json_str(row, "receiver_unit"),
	                       json_str(row, "first_submitted_at") != NULL);
}

/* access_of_note() from the note's two units and whether it was filed. */
unsigned
access_of_units(const struct dir_snapshot *s, int person, const char *from, const char *to,
                bool submitted)
{
	unsigned a = 0;

	if (access_member_of(s, person, from))
		a |= HO_ACCESS_SENDER;
	if (submitted && access_member_of(s, person, to))
		a |= HO_ACCESS_RECEIVER;
	if (a == 0 && (access_leads_above(s, person, from) ||
	               (submitted && access_leads_above(s, person, to))))
		a = HO_ACCESS_READ;
	return a;
}

const char *
access_name(unsigned access)
{
	if ((access & HO_ACCESS_BOTH) == HO_ACCESS_BOTH)
		return "both";
	if (access & HO_ACCESS_SENDER)
		return "sender";
	if (access & HO_ACCESS_RECEIVER)
		return "receiver";
	return "read";
}

/* A PostgreSQL text[] literal of the person's visible units: {"UR","UR-A"}.
 * The caller frees it. */
char *
access_visible_units_array(const struct dir_snapshot *s, int person)
{
	int units[512];
	size_t n = access_visible_units(s, person, units, sizeof(units) / sizeof(units[0]));
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

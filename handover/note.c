/*
 * note.c: a handover note as the API shows it, and who hears of it.
 *
 * PostgreSQL hands a note over as one JSON object (handover_json() in
 * migration 0004); this file renders the API's shape from it, with names
 * from the current directory snapshot and the CPR number masked unless
 * the caller may see it whole, and turns an alert's audience (a person, a
 * unit) into addresses: the person, their deputy while they are away, the
 * unit's mailbox, else the nearest lead up the tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"

/* {"id", "display_name"} of a person id, display_name null when the person
 * has left the directory; json null for a NULL id. */
json_t *
note_person_ref(const struct dir_snapshot *s, const char *id)
{
	int p;
	if (id == NULL)
		return json_null();
	p = s ? dir_lookup_person(s, id) : DIR_NONE;
	return json_pack("{s:s, s:o}", "id", id, "display_name",
	                 p == DIR_NONE ? json_null() : json_string(s->persons[p].display_name));
}

/* "140308-XXXX": the date part, never the serial. Anything not shaped like
 * a CPR number is masked whole. */
void
note_cpr_mask(const char *cpr, char out[12])
{
	size_t n = cpr ? strlen(cpr) : 0;
	if ((n == 10 || (n == 11 && cpr[6] == '-')) && strspn(cpr, "0123456789") >= 6) {
		memcpy(out, cpr, 6);
		memcpy(out + 6, "-XXXX", 6);
		return;
	}
	snprintf(out, 12, "XXXXXX-XXXX");
}

static json_t *
str_or_null(const json_t *row, const char *key)
{
	const char *v = json_str(row, key);
	return v ? json_string(v) : json_null();
}

/* The first letter (a whole UTF-8 sequence) of each word and each part of
 * a hyphenated word, each followed by a full stop: "Mette Hansen" gives
 * "M. H.", "Hans-Peter Ørum" "H.-P. Ø.". Cut to fit `size`. */
void
note_name_initials(const char *name, char *out, size_t size)
{
	size_t n = 0;
	bool start = true;

	if (size == 0)
		return;
	for (const unsigned char *c = (const unsigned char *)(name ? name : ""); *c; c++) {
		if (*c == ' ' || *c == '\t' || *c == '-') {
			if (*c == '-' && n > 0 && out[n - 1] == '.' && n + 1 < size)
				out[n++] = '-';
			start = true;
			continue;
		}
		if (!start || (*c & 0xc0) == 0x80)
			continue;
		start = false;
		size_t len = *c < 0x80 ? 1 : *c >= 0xf0 ? 4 : *c >= 0xe0 ? 3 : 2;
		if (strnlen((const char *)c, len) < len)
			break;
		/* "X. " at most: the letter, the stop and a space */
		if (n + len + 2 >= size)
			break;
		if (n > 0 && out[n - 1] == '.')
			out[n++] = ' ';
		memcpy(out + n, c, len);
		n += len;
		out[n++] = '.';
		c += len - 1;
	}
	out[n] = '\0';
}

static json_t *
render_citizen(const json_t *row, bool full_cpr, bool initials)
{
	const json_t *c = json_object_get(row, "citizen");
	const char *cpr = json_str(c, "cpr"), *born = json_str(c, "birthdate");
	const char *planned = json_str(row, "planned_date");
	json_t *out = json_object();
	char masked[12];
	int age = -1;

	if (cpr == NULL) {
		json_object_set_new(out, "cpr", json_null());
	} else if (full_cpr) {
		json_object_set_new(out, "cpr", json_string(cpr));
	} else {
		note_cpr_mask(cpr, masked);
		json_object_set_new(out, "cpr", json_string(masked));
	}
	if (initials && json_str(c, "name")) {
		char buf[64];
		note_name_initials(json_str(c, "name"), buf, sizeof(buf));
		json_object_set_new(out, "name", json_string(buf));
	} else {
		json_object_set_new(out, "name", str_or_null(c, "name"));
	}
	json_object_set_new(out, "birthdate", born ? json_string(born) : json_null());
	if (born && planned)
		age = checks_age_on(born, planned);
	json_object_set_new(out, "age_at_handover", age >= 0 ? json_integer(age) : json_null());
	return out;
}

json_t *
note_render_flags(const json_t *flags, const struct dir_snapshot *s)
{
	const json_t *f;
	json_t *out = json_array();
	size_t i;

	json_array_foreach (flags, i, f) {
		/* the sending side's reply (migration 0010), or null */
		const json_t *r = json_object_get(f, "reply");
		json_t *reply = json_is_object(r)
		                    ? json_pack("{s:o, s:o, s:o}", "text", str_or_null(r, "text"),
		                                "by", note_person_ref(s, json_str(r, "by")), "at",
		                                str_or_null(r, "at"))
		                    : json_null();
		json_array_append_new(
		    out, json_pack("{s:o, s:o, s:o, s:o, s:o, s:b, s:o}", "section",
		                   str_or_null(f, "section"), "kind", str_or_null(f, "kind"),
		                   "comment", str_or_null(f, "comment"), "by",
		                   note_person_ref(s, json_str(f, "by")), "at",
		                   str_or_null(f, "at"), "resolved",
		                   json_is_true(json_object_get(f, "resolved")), "reply", reply));
	}
	return out;
}

/*
 * The API's Handover from a row of handover_json(). access: the caller's
 * HO_ACCESS_* bits (a reader above gets the CPR number masked and the name
 * as initials); full_cpr: the note's own view for its two units; with_body:
 * the sections (the lists leave them out, API.md's "Handover without
 * sections"). The caller owns the result.
 */
json_t *
note_render(const json_t *row, const struct dir_snapshot *s, unsigned access, bool full_cpr,
            bool with_body)
{
	json_t *o = json_object();
	const json_t *v;
	bool reader = !(access & HO_ACCESS_BOTH);

	json_object_set_new(o, "id", str_or_null(row, "id"));
	json_object_set_new(o, "ref", str_or_null(row, "ref"));
	json_object_set_new(o, "route", str_or_null(row, "route"));
	json_object_set_new(o, "status", str_or_null(row, "status"));
	v = json_object_get(row, "version");
	json_object_set_new(o, "version", json_integer(json_integer_value(v)));
	json_object_set_new(
	    o, "template",
	    json_pack("{s:o, s:I}", "code", str_or_null(row, "template"), "version",
	              json_integer_value(json_object_get(row, "template_version"))));
	json_object_set_new(o, "access", json_string(access_name(access)));
	json_object_set_new(o, "citizen", render_citizen(row, full_cpr && !reader, reader));
	json_object_set_new(o, "sender",
	                    json_pack("{s:o, s:o}", "person",
	                              note_person_ref(s, json_str(row, "sender_person")), "unit",
	                              str_or_null(row, "sender_unit")));
	json_object_set_new(o, "receiver",
	                    json_pack("{s:o, s:o}", "unit", str_or_null(row, "receiver_unit"),
	                              "person",
	                              note_person_ref(s, json_str(row, "receiver_person"))));
	json_object_set_new(o, "planned_date", str_or_null(row, "planned_date"));
	if (with_body) {
		v = json_object_get(row, "sections");
		json_object_set_new(o, "sections",
		                    json_is_object(v) ? json_deep_copy(v) : json_object());
	}
	if (with_body) {
		v = json_object_get(row, "checks");
		json_object_set_new(o, "checks",
		                    json_is_array(v) ? json_deep_copy(v) : json_array());
	}
	json_object_set_new(o, "completeness",
	                    json_integer(json_integer_value(json_object_get(row, "completeness"))));
	json_object_set_new(o, "flags", note_render_flags(json_object_get(row, "flags"), s));
	json_object_set_new(o, "readback", str_or_null(row, "readback"));
	json_object_set_new(o, "created_at", str_or_null(row, "created_at"));
	json_object_set_new(o, "updated_at", str_or_null(row, "updated_at"));
	json_object_set_new(o, "submitted_at", str_or_null(row, "submitted_at"));
	json_object_set_new(o, "received_at", str_or_null(row, "received_at"));
	json_object_set_new(o, "decided_at", str_or_null(row, "decided_at"));
	return o;
}

/* -- alert addressing ------------------------------------------------------------------ */

static void
add_address(json_t *out, const char *email, const char *person, const char *unit,
            const char *deputy_for)
{
	size_t i;
	json_t *r;

	if (email == NULL || *email == '\0')
		return;
	json_array_foreach (out, i, r) {
		if (strcasecmp(json_str(r, "email"), email) == 0)
			return; /* nobody twice */
	}
	json_array_append_new(out, json_pack("{s:s, s:o, s:o, s:o}", "email", email, "person",
	                                     person ? json_string(person) : json_null(), "unit",
	                                     unit ? json_string(unit) : json_null(), "deputy_for",
	                                     deputy_for ? json_string(deputy_for) : json_null()));
}

/* The unit's mailbox, else the nearest lead up the tree. */
static void
add_unit(json_t *out, const struct dir_snapshot *s, const char *code)
{
	int u = dir_lookup_unit(s, code);
	for (size_t hops = 0; u != DIR_NONE && hops <= s->nunits; hops++) {
		const struct dir_unit *un = &s->units[u];
		if (un->mailbox && *un->mailbox) {
			add_address(out, un->mailbox, NULL, un->code, NULL);
			return;
		}
		if (un->lead != DIR_NONE && s->persons[un->lead].email) {
			add_address(out, s->persons[un->lead].email, s->persons[un->lead].id,
			            un->code, NULL);
			return;
		}
		u = un->parent;
	}
}

/* The nearest lead up the tree from the unit (never a unit's mailbox). */
static void
add_lead(json_t *out, const struct dir_snapshot *s, const char *code)
{
	int u = dir_lookup_unit(s, code);
	for (size_t hops = 0; u != DIR_NONE && hops <= s->nunits; hops++) {
		const struct dir_unit *un = &s->units[u];
		if (un->lead != DIR_NONE && s->persons[un->lead].email) {
			add_address(out, s->persons[un->lead].email, s->persons[un->lead].id,
			            un->code, NULL);
			return;
		}
		u = un->parent;
	}
}

/*
 * An alert's addresses on `day` from its audience, a list of {"person": id,
 * "unit": code} (person optional; the unit is the fallback when the person
 * has left the directory or has no address), {"unit": code} or {"lead":
 * code} (the unit's lead, or the nearest up the tree). An absent
 * person's deputy is added (unless away too). Nobody twice. The caller owns
 * the result.
 */
json_t *
note_recipients(const struct dir_snapshot *s, const json_t *audience, const char *day)
{
	json_t *out = json_array();
	const json_t *a;
	size_t i;

	if (s == NULL)
		return out;
	json_array_foreach (audience, i, a) {
		const char *pid = json_str(a, "person"), *unit = json_str(a, "unit");
		int p = pid ? dir_lookup_person(s, pid) : DIR_NONE;

		if (json_str(a, "lead")) {
			add_lead(out, s, json_str(a, "lead"));
		} else if (p != DIR_NONE && s->persons[p].email && *s->persons[p].email) {
			const struct dir_person *pp = &s->persons[p];
			add_address(out, pp->email, pp->id, NULL, NULL);
			if (dir_resolve_absent_on(pp, day) && pp->deputy != DIR_NONE &&
			    !dir_resolve_absent_on(&s->persons[pp->deputy], day))
				add_address(out, s->persons[pp->deputy].email,
				            s->persons[pp->deputy].id, NULL, pp->id);
		} else if (unit) {
			add_unit(out, s, unit);
		}
	}
	return out;
}

/* One outbox entry: {"event", "audience", "recipients"}. */
json_t *
note_alert(const struct dir_snapshot *s, const char *event, json_t *audience)
{
	char day[11];
	clock_today(day);
	return json_pack("{s:s, s:o, s:o}", "event", event, "recipients",
	                 note_recipients(s, audience, day), "audience", audience);
}

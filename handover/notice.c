/*
 * notice.c: notices (varsler, DESIGN.md "Notices"): a route's milestones as
 * data and their due dates, need to know for a notice, and a notice as the
 * API shows it.
 *
 * A route's milestones are rules.milestones in its JSON (schema/routes/):
 * a key, a Danish label, the legal ground, and a due rule counted from the
 * citizen's birthdate or the notice's expected date. Every route has two
 * more, computed here: "notat_sendt" (the note sent NOTICE_NOTE_WORKDAYS
 * working days before the expected date) and "overdragelse" (the expected
 * date itself). Month arithmetic keeps the day of the month where it can
 * and otherwise takes the month's last day (a birthday on 29 February
 * gives 28 February in other years); a due date that is not a Danish
 * working day moves to the working day before it, so that a deadline is
 * never later than the law's.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "workdays.h"
#include "notice.h"

static int fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

static bool
whole_in(const json_t *v, long lo, long hi)
{
	return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

static bool
builtin_key(const char *k)
{
	return strcmp(k, "notat_sendt") == 0 || strcmp(k, "overdragelse") == 0;
}

int
notice_milestones_check(const json_t *list, char *err, size_t errsz)
{
	static const char *const known[] = {"key",    "label",    "law", "from",
	                                    "months", "workdays", NULL};
	const json_t *m, *v;
	const char *k;
	size_t i;

	if (list == NULL || json_is_null(list))
		return 0;
	if (!json_is_array(list) || json_array_size(list) > NOTICE_MILESTONES_MAX)
		return fail(err, errsz, "%s must be a list of at most 12 milestones",
		            "rules.milestones");
	json_array_foreach (list, i, m) {
		if (!json_is_object(m))
			return fail(err, errsz, "%s must hold objects", "rules.milestones");
		json_object_foreach ((json_t *)(uintptr_t)m, k, v) {
			bool ok = false;
			for (size_t j = 0; known[j]; j++)
				ok = ok || strcmp(k, known[j]) == 0;
			if (!ok)
				return fail(err, errsz, "rules.milestones: unknown key '%.64s'", k);
		}
		k = json_str(m, "key");
		if (k == NULL || strlen(k) == 0 || strlen(k) > 40 ||
		    strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(k) ||
		    builtin_key(k))
			return fail(err, errsz,
			            "%s: each needs a key of a-z, 0-9 and _ (not "
			            "notat_sendt or overdragelse)",
			            "rules.milestones");
		for (size_t j = 0; j < i; j++)
			if (strcmp(json_str(json_array_get(list, j), "key"), k) == 0)
				return fail(err, errsz, "rules.milestones: key '%.40s' twice", k);
		if (json_str(m, "label") == NULL ||
		    json_string_length(json_object_get(m, "label")) == 0 ||
		    json_string_length(json_object_get(m, "label")) > 200)
			return fail(err, errsz, "rules.milestones.%.40s needs a label (1-200)", k);
		v = json_object_get(m, "law");
		if (v && !json_is_null(v) && (!json_is_string(v) || json_string_length(v) > 200))
			return fail(err, errsz, "rules.milestones.%.40s: law must be a text", k);
		if (json_str(m, "from") == NULL ||
		    (strcmp(json_str(m, "from"), "birthdate") != 0 &&
		     strcmp(json_str(m, "from"), "expected_date") != 0))
			return fail(
			    err, errsz,
			    "rules.milestones.%.40s: from must be birthdate or expected_date", k);
		if (!whole_in(json_object_get(m, "months"), -600, 600))
			return fail(err, errsz, "rules.milestones.%.40s: months must be -600..600",
			            k);
		v = json_object_get(m, "workdays");
		if (v && !whole_in(v, -60, 60))
			return fail(err, errsz, "rules.milestones.%.40s: workdays must be -60..60",
			            k);
	}
	return 0;
}

/* The working day on or before date (date itself when it is one). */
static int
workday_on_or_before(char date[11], unsigned off)
{
	long d;

	if (workdays_date_days(date, &d) == -1)
		return -1;
	for (int i = 0; i < 20 && !workdays_is_workday(date, off); i++)
		if (workdays_date_from_days(--d, date) == -1)
			return -1;
	return 0;
}

int
notice_due(const char *from, int months, int workdays, unsigned off, char out[11])
{
	long d;

	if (from == NULL || checks_date_add_months(from, months, out) == -1)
		return -1;
	if (workdays > 0)
		return workdays_add(out, workdays, off, out) == -1 ? -1
		                                                   : workday_on_or_before(out, off);
	if (workday_on_or_before(out, off) == -1 || workdays_date_days(out, &d) == -1)
		return -1;
	/* back over |workdays| working days */
	for (int left = -workdays; left > 0;) {
		if (workdays_date_from_days(--d, out) == -1)
			return -1;
		if (workdays_is_workday(out, off))
			left--;
	}
	return 0;
}

static bool
in_done(const json_t *row, const char *key)
{
	const json_t *done = json_object_get(row, "milestones_done"), *v;
	size_t i;

	json_array_foreach (done, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), key) == 0)
			return true;
	}
	return false;
}

static void
add(json_t *out, const char *key, const char *label, const char *law, const char *due, bool done)
{
	json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:o, s:b}", "key", key, "label",
	                                     label, "due", due, "law",
	                                     law ? json_string(law) : json_null(), "done", done));
}

static int
by_due(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	return strcmp(json_str(x, "due"), json_str(y, "due"));
}

json_t *
notice_milestones(const struct ho_route *r, const json_t *row, unsigned off)
{
	const char *born = json_str(json_object_get(row, "citizen"), "birthdate");
	const char *expected = json_str(row, "expected_date");
	const char *hs = json_str(row, "handover_status");
	const json_t *list = r ? json_object_get(r->rules, "milestones") : NULL, *m;
	json_t *out = json_array(), *items[NOTICE_MILESTONES_MAX + 2];
	size_t i, n;
	char due[11];

	json_array_foreach (list, i, m) {
		const char *from = strcmp(json_str(m, "from"), "birthdate") == 0 ? born : expected;
		if (notice_due(from, (int)json_integer_value(json_object_get(m, "months")),
		               (int)json_integer_value(json_object_get(m, "workdays")), off,
		               due) == -1)
			continue;
		add(out, json_str(m, "key"), json_str(m, "label"), json_str(m, "law"), due,
		    in_done(row, json_str(m, "key")));
	}
	if (notice_due(expected, 0, -NOTICE_NOTE_WORKDAYS, off, due) == 0)
		add(out, "notat_sendt", "Overdragelsesnotatet sendt til den modtagende enhed", NULL,
		    due,
		    json_is_true(json_object_get(row, "handover_submitted")) &&
		        (hs == NULL || strcmp(hs, "withdrawn") != 0));
	if (notice_due(expected, 0, 0, off, due) == 0)
		add(out, "overdragelse", "Forventet overdragelse", NULL, due,
		    hs && strcmp(hs, "accepted") == 0);
	/* earliest first (a stable order of at most 14) */
	n = json_array_size(out);
	for (i = 0; i < n && i < sizeof(items) / sizeof(items[0]); i++)
		items[i] = json_incref(json_array_get(out, i));
	qsort(items, i, sizeof(items[0]), by_due);
	json_array_clear(out);
	for (size_t j = 0; j < i; j++)
		json_array_append_new(out, items[j]);
	return out;
}

unsigned
notice_access(const struct dir_snapshot *s, int person, const json_t *row)
{
	const char *from = json_str(row, "sender_unit"), *to = json_str(row, "receiver_unit");
	unsigned a = 0;

	if (access_member_of(s, person, from))
		a |= HO_ACCESS_SENDER;
	if (access_member_of(s, person, to))
		a |= HO_ACCESS_RECEIVER;
	if (a == 0 && (access_leads_above(s, person, from) || access_leads_above(s, person, to)))
		a = HO_ACCESS_READ;
	return a;
}

static json_t *
str_or_null(const json_t *row, const char *key)
{
	const char *v = json_str(row, key);
	return v ? json_string(v) : json_null();
}

static json_t *
render_citizen(const json_t *row, bool full_cpr, bool initials)
{
	const json_t *c = json_object_get(row, "citizen");
	const char *cpr = json_str(c, "cpr");
	char masked[12], buf[64];
	json_t *out = json_object();

	if (cpr && !full_cpr) {
		note_cpr_mask(cpr, masked);
		json_object_set_new(out, "cpr", json_string(masked));
	} else {
		json_object_set_new(out, "cpr", str_or_null(c, "cpr"));
	}
	if (initials && json_str(c, "name")) {
		note_name_initials(json_str(c, "name"), buf, sizeof(buf));
		json_object_set_new(out, "name", json_string(buf));
	} else {
		json_object_set_new(out, "name", str_or_null(c, "name"));
	}
	json_object_set_new(out, "birthdate", str_or_null(c, "birthdate"));
	return out;
}

json_t *
notice_render(const json_t *row, const struct dir_snapshot *s, const struct ho_route *r,
              unsigned access, bool full_cpr, unsigned off)
{
	bool reader = !(access & HO_ACCESS_BOTH);
	json_t *o = json_object();

	json_object_set_new(o, "id", str_or_null(row, "id"));
	json_object_set_new(o, "ref", str_or_null(row, "ref"));
	json_object_set_new(o, "route", str_or_null(row, "route"));
	json_object_set_new(o, "status", str_or_null(row, "status"));
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
	json_object_set_new(o, "expected_date", str_or_null(row, "expected_date"));
	json_object_set_new(o, "comment",
	                    json_string(json_str(row, "comment") ? json_str(row, "comment") : ""));
	json_object_set_new(o, "milestones", notice_milestones(r, row, off));
	json_object_set_new(o, "handover_id", str_or_null(row, "handover_id"));
	json_object_set_new(o, "acknowledged_at", str_or_null(row, "acknowledged_at"));
	json_object_set_new(o, "acknowledged_by",
	                    note_person_ref(s, json_str(row, "acknowledged_by")));
	json_object_set_new(o, "cancel_reason", str_or_null(row, "cancel_reason"));
	json_object_set_new(o, "version",
	                    json_integer(json_integer_value(json_object_get(row, "version"))));
	json_object_set_new(o, "created_at", str_or_null(row, "created_at"));
	json_object_set_new(o, "updated_at", str_or_null(row, "updated_at"));
	return o;
}

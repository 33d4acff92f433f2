/*
 * test_access.c: need to know (handover/access.c, API.md "Who sees a
 * note"). Over a small municipality, every relation a person can have to a
 * note: a member or the lead of its sending or receiving unit sees and acts
 * for that side (the receiving side once it was submitted); the lead of a
 * unit above either reads it; a person placed in a parent unit, a sibling
 * unit or another department sees nothing. Also the units a person's lists
 * cover, and the initials a reader above sees for a name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"

static char *
dn(const char *rdn, const char *name)
{
	char *s;

	if (xasprintf(&s, "%s=%s,dc=stafet,dc=example", rdn, name) < 0)
		fail();
	return s;
}

/*
 * BUF (lead tlo; yst placed in it)   BSF (lead ojo; ano placed in it)
 *   BUR (lead pka; sbo)                UR (lead kmo; mha)
 *   BUR-H (lbk)                          UR-A (uaa)
 *                                      JC (kfr)
 * AEHF (lead lkj)
 *   VH (vhm)
 */
static struct dir_snapshot *
municipality(void)
{
	static const struct {
		const char *code, *department, *parent, *lead;
	} units[] = {
	    {"BUF", "BUF", NULL, "tlo"},   {"BUR", "BUF", "BUF", "pka"},
	    {"BUR-H", "BUF", "BUF", NULL}, {"BSF", "BSF", NULL, "ojo"},
	    {"UR", "BSF", "BSF", "kmo"},   {"UR-A", "BSF", "UR", NULL},
	    {"JC", "BSF", "BSF", NULL},    {"AEHF", "AEHF", NULL, "lkj"},
	    {"VH", "AEHF", "AEHF", NULL},
	};
	static const struct {
		const char *user, *unit;
	} people[] = {
	    {"tlo", "BUF"}, {"yst", "BUF"},  {"pka", "BUR"}, {"sbo", "BUR"}, {"lbk", "BUR-H"},
	    {"ojo", "BSF"}, {"ano", "BSF"},  {"kmo", "UR"},  {"mha", "UR"},  {"uaa", "UR-A"},
	    {"kfr", "JC"},  {"lkj", "AEHF"}, {"vhm", "VH"},
	};
	struct dir_records r = {0};
	struct dir_snapshot *s;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		struct dir_urec *u = dir_records_add_unit(&r);
		u->dn = dn("ou", units[i].code);
		u->code = xstrdup(units[i].code);
		u->name = xstrdup(units[i].code);
		u->department = xstrdup(units[i].department);
		u->parent_dn = units[i].parent ? dn("ou", units[i].parent) : NULL;
		u->lead_dn = units[i].lead ? dn("uid", units[i].lead) : NULL;
	}
	for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++) {
		struct dir_prec *p = dir_records_add_person(&r);
		p->dn = dn("uid", people[i].user);
		if (xasprintf(&p->id, "id-%s", people[i].user) < 0)
			fail();
		p->username = xstrdup(people[i].user);
		p->display_name = xstrdup(people[i].user);
		p->unit_code = xstrdup(people[i].unit);
	}
	s = dir_snapshot_build(&r, 1);
	dir_records_free(&r);
	assert_non_null(s);
	return s;
}

static int
person(const struct dir_snapshot *s, const char *user)
{
	char id[32];
	int p;

	snprintf(id, sizeof(id), "id-%s", user);
	p = dir_lookup_person(s, id);
	assert_int_not_equal(p, DIR_NONE);
	return p;
}

static json_t *
note(const char *from, const char *to, bool submitted)
{
	json_t *row = json_pack("{s:s, s:s}", "sender_unit", from, "receiver_unit", to);
	if (submitted)
		json_object_set_new(row, "first_submitted_at", json_string("2026-11-02T09:00:00Z"));
	return row;
}

/* Every relation to a BUR -> UR note, as a draft and once submitted. */
static void
test_note_access(void **state)
{
	static const struct {
		const char *user;
		unsigned draft, submitted;
	} cases[] = {
	    {"sbo", HO_ACCESS_SENDER, HO_ACCESS_SENDER}, /* member, sending unit */
	    {"pka", HO_ACCESS_SENDER, HO_ACCESS_SENDER}, /* lead, sending unit */
	    {"mha", 0, HO_ACCESS_RECEIVER},              /* member, receiving unit */
	    {"kmo", 0, HO_ACCESS_RECEIVER},              /* lead, receiving unit */
	    {"tlo", HO_ACCESS_READ, HO_ACCESS_READ},     /* lead above the sender */
	    {"ojo", 0, HO_ACCESS_READ},                  /* lead above the receiver */
	    {"yst", 0, 0},                               /* placed in the parent */
	    {"ano", 0, 0},                               /* placed in the parent */
	    {"lbk", 0, 0},                               /* sibling of the sender */
	    {"kfr", 0, 0},                               /* sibling of the receiver */
	    {"uaa", 0, 0},                               /* below the receiver */
	    {"vhm", 0, 0},                               /* another department */
	    {"lkj", 0, 0},                               /* lead of another department */
	};
	struct dir_snapshot *s = municipality();
	json_t *draft = note("BUR", "UR", false), *sent = note("BUR", "UR", true);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int p = person(s, cases[i].user);
		if (access_of_note(s, p, draft) != cases[i].draft ||
		    access_of_note(s, p, sent) != cases[i].submitted)
			fail_msg("%s: draft %u (want %u), submitted %u (want %u)", cases[i].user,
			         access_of_note(s, p, draft), cases[i].draft,
			         access_of_note(s, p, sent), cases[i].submitted);
	}
	assert_int_equal(access_of_note(s, DIR_NONE, sent), 0);
	json_decref(draft);
	json_decref(sent);
	dir_snapshot_unref(s);
}

/* A note within one department: the lead of both units acts for both; a
 * note to a unit below the receiving unit is seen by that unit, and read by
 * the receiving unit's lead. */
static void
test_both_sides_and_below(void **state)
{
	struct dir_snapshot *s = municipality();
	json_t *inside = note("UR", "JC", true), *below = note("BUR", "UR-A", true);

	(void)state;
	assert_int_equal(access_of_note(s, person(s, "mha"), inside), HO_ACCESS_SENDER);
	assert_int_equal(access_of_note(s, person(s, "kfr"), inside), HO_ACCESS_RECEIVER);
	assert_int_equal(access_of_note(s, person(s, "ojo"), inside), HO_ACCESS_READ);
	assert_string_equal(access_name(HO_ACCESS_BOTH), "both");
	assert_string_equal(access_name(HO_ACCESS_SENDER), "sender");
	assert_string_equal(access_name(HO_ACCESS_RECEIVER), "receiver");
	assert_string_equal(access_name(HO_ACCESS_READ), "read");
	assert_int_equal(access_of_note(s, person(s, "uaa"), below), HO_ACCESS_RECEIVER);
	assert_int_equal(access_of_note(s, person(s, "mha"), below), 0);
	assert_int_equal(access_of_note(s, person(s, "kmo"), below), HO_ACCESS_READ);
	assert_int_equal(access_of_note(s, person(s, "ojo"), below), HO_ACCESS_READ);
	json_decref(inside);
	json_decref(below);
	dir_snapshot_unref(s);
}

static void
expect_units(const struct dir_snapshot *s, const char *user, const char *want)
{
	char *got = access_visible_units_array(s, person(s, user));
	if (strcmp(got, want) != 0)
		fail_msg("%s: %s, want %s", user, got, want);
	free(got);
}

/* A member's lists cover their own unit; a lead's also every unit below
 * the units they lead. */
static void
test_visible_units(void **state)
{
	struct dir_snapshot *s = municipality();

	(void)state;
	expect_units(s, "sbo", "{\"BUR\"}");
	expect_units(s, "yst", "{\"BUF\"}");
	expect_units(s, "kmo", "{\"UR\",\"UR-A\"}");
	expect_units(s, "tlo", "{\"BUF\",\"BUR\",\"BUR-H\"}");
	expect_units(s, "ojo", "{\"BSF\",\"UR\",\"UR-A\",\"JC\"}");
	assert_false(access_member_of(s, person(s, "yst"), "BUR"));
	assert_true(access_member_of(s, person(s, "pka"), "BUR"));
	assert_false(access_leads_above(s, person(s, "pka"), "BUR"));
	assert_true(access_leads_above(s, person(s, "tlo"), "BUR"));
	assert_false(access_leads_above(s, person(s, "tlo"), "UR"));
	assert_false(access_member_of(s, person(s, "sbo"), "NOPE"));
	dir_snapshot_unref(s);
}

static void
expect_initials(const char *name, size_t size, const char *want)
{
	char out[64];
	assert_true(size <= sizeof(out));
	note_name_initials(name, out, size);
	assert_string_equal(out, want);
}

static void
test_initials(void **state)
{
	(void)state;
	expect_initials("Mette Hansen", 64, "M. H.");
	expect_initials("Åse Nørgaard", 64, "Å. N.");
	expect_initials("Hans-Peter Ørum", 64, "H.-P. Ø.");
	expect_initials("  ida   \t  lund ", 64, "i. l.");
	expect_initials("Ølse", 64, "Ø.");
	expect_initials("", 64, "");
	expect_initials(NULL, 64, "");
	/* cut whole, never inside a letter */
	expect_initials("Åse Nørgaard", 5, "Å.");
	expect_initials("Anne Bent Carl", 7, "A. B.");
	/* a cut UTF-8 sequence is not copied */
	expect_initials("A \xc3", 64, "A.");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_note_access),
	    cmocka_unit_test(test_both_sides_and_below),
	    cmocka_unit_test(test_visible_units),
	    cmocka_unit_test(test_initials),
	};
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return cmocka_run_group_tests_name("access", tests, NULL, NULL);
}

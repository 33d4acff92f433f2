/*
 * test_resolve.c: counterpart resolution over a small directory built the
 * way the sync builds it (records, then dir_snapshot_build): the receiving
 * unit by route and KLE number, allocation rules and their ranking (in a
 * crowd too, against a brute-force reference), deputies for the absent,
 * the fallback, the myndighedssnit, the rendered answer against the built
 * one, and CPR numbers and dates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "resolve.h"
#include "resolve_rules.h"

/* ---- the directory ---- */

enum { KMO, LLU, MHA, AKH, BBE, DDA, EER, FFR, GGR, HHO, IIS, JJE, NPEOPLE };

static const struct {
	const char *user, *name, *unit, *deputy, *from, *until, *email, *phone;
} people[NPEOPLE] = {
    [KMO] = {"kmo", "Kirsten Mølgaard", "BSF", NULL, NULL, NULL, "kmo@stafet.example",
             "+45 65 51 00 00"},
    [LLU] = {"llu", "Lars Lund", "UR", NULL, NULL, NULL, "llu@stafet.example", NULL},
    [MHA] = {"mha", "Mette Hansen", "UR", "akh", "2026-02-20", "2026-03-03", NULL, NULL},
    [AKH] = {"akh", "Ali Khan", "UR", NULL, NULL, NULL, NULL, NULL},
    [BBE] = {"bbe", "Bo Berg", "UR", "dda", "2026-02-01", NULL, NULL, NULL},
    [DDA] = {"dda", "Dorte Dahl", "UR", NULL, "2026-01-01", "2027-01-15", NULL, NULL},
    [EER] = {"eer", "Eva Eriksen", "UR", NULL, NULL, NULL, NULL, NULL},
    [FFR] = {"ffr", "Finn Frost", "UR", NULL, NULL, NULL, NULL, NULL},
    [GGR] = {"ggr", "Gitte Grøn", "UR", NULL, NULL, NULL, NULL, NULL},
    [HHO] = {"hho", "Hans Holm", "UR", NULL, "2026-02-25", "2026-04-01", NULL, NULL},
    [IIS] = {"iis", "Ida Isaksen", "JC-UNG", NULL, NULL, NULL, NULL, NULL},
    [JJE] = {"jje", "Jens Jensen", "AEHF", NULL, NULL, NULL, NULL, NULL},
};

/* KLE marks are space-separated. */
static const struct {
	const char *code, *name, *department, *parent, *lead, *mailbox, *responsible, *performing;
} units[] = {
    {"BSF", "Beskæftigelses- og Socialforvaltningen", "BSF", NULL, "kmo", "bsf@stafet.example",
     "15.14", NULL},
    {"UR", "Ungerådgivningen", "BSF", "BSF", "llu", "ur@stafet.example", "27.39",
     "17.18.00 27.37.00"},
    {"UR-ANB", "Ungerådgivningen Anbragte", "BSF", "UR", NULL, NULL, "27.39.05", NULL},
    {"JC-UNG", "Jobcenter Ung", "BSF", "BSF", NULL, NULL, "32.18.00", NULL},
    {"AEHF", "Ældre- og Handicapforvaltningen", "ÆHF", NULL, "jje", "aehf@stafet.example", "27.37",
     "17.18.00"},
    /* "27.3" must not cover 27.37.00: marks match on dot boundaries */
    {"VH", "Voksenhandicap", "ÆHF", "AEHF", NULL, "vh@stafet.example", "32.18.00 27.3", NULL},
};
#define NUNITS (sizeof(units) / sizeof(units[0]))

static char *
dn(const char *rdn, const char *name)
{
	char *s;
	if (xasprintf(&s, "%s=%s,dc=stafet,dc=example", rdn, name) < 0)
		fail();
	return s;
}

static void
split(struct strlist *v, const char *list)
{
	char *copy, *tok, *save;

	if (list == NULL)
		return;
	copy = xstrdup(list);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		strlist_push(v, tok);
	free(copy);
}

/* Fills extra person n of build_with(): name, rules, absence. */
typedef void (*extra_fn)(int n, struct dir_prec *p, char name[32]);

/*
 * The directory with each person's rules: "birthday:11-20 surname:A-G
 * tg:anbragt" (tg: a target group); plus `extra` people in UR, each as
 * `fill` makes them, or taking every birthday.
 */
static struct dir_snapshot *
build_with(const char *const rules[NPEOPLE], int extra, extra_fn fill)
{
	struct dir_records r = {0};
	struct dir_snapshot *s;

	for (size_t i = 0; i < NUNITS; i++) {
		struct dir_urec *u = dir_records_add_unit(&r);
		u->dn = dn("ou", units[i].code);
		u->code = xstrdup(units[i].code);
		u->name = xstrdup(units[i].name);
		u->department = xstrdup(units[i].department);
		u->mailbox = units[i].mailbox ? xstrdup(units[i].mailbox) : NULL;
		u->parent_dn = units[i].parent ? dn("ou", units[i].parent) : NULL;
		u->lead_dn = units[i].lead ? dn("uid", units[i].lead) : NULL;
		split(&u->kle[0], units[i].responsible);
		split(&u->kle[1], units[i].performing);
		split(&u->kle[2], "99.99.99"); /* insight never decides */
	}
	for (int i = 0; i < NPEOPLE + extra; i++) {
		struct dir_prec *p = dir_records_add_person(&r);
		struct strlist v = {0};
		char user[16], name[32];

		if (i >= NPEOPLE) {
			snprintf(user, sizeof(user), "x%02d", i);
			snprintf(name, sizeof(name), "Xenia %02d", i);
			p->unit_code = xstrdup("UR");
			if (fill)
				fill(i - NPEOPLE, p, name);
			else
				strlist_push(&p->allocation, "birthday:1-31");
		} else {
			snprintf(user, sizeof(user), "%s", people[i].user);
			snprintf(name, sizeof(name), "%s", people[i].name);
			p->unit_code = xstrdup(people[i].unit);
			p->email = people[i].email ? xstrdup(people[i].email) : NULL;
			p->phone = people[i].phone ? xstrdup(people[i].phone) : NULL;
			p->deputy_dn = people[i].deputy ? dn("uid", people[i].deputy) : NULL;
			p->absent_from = people[i].from ? xstrdup(people[i].from) : NULL;
			p->absent_until = people[i].until ? xstrdup(people[i].until) : NULL;
			split(&v, rules ? rules[i] : NULL);
		}
		p->dn = dn("uid", user);
		if (xasprintf(&p->id, "id-%s", user) < 0)
			fail();
		p->username = xstrdup(user);
		p->display_name = xstrdup(name);
		for (size_t k = 0; k < v.n; k++) {
			if (strncmp(v.v[k], "tg:", 3) == 0)
				strlist_push(&p->target_groups, v.v[k] + 3);
			else
				strlist_push(&p->allocation, v.v[k]);
		}
		strlist_free(&v);
	}
	s = dir_snapshot_build(&r, 1);
	dir_records_free(&r);
	assert_non_null(s);
	return s;
}

static struct dir_snapshot *
build(const char *const rules[NPEOPLE], int extra)
{
	return build_with(rules, extra, NULL);
}

static struct resolve_facts
facts_on(const char *date)
{
	struct resolve_facts f;

	memset(&f, 0, sizeof(f));
	f.placed = -1;
	f.caller = DIR_NONE;
	snprintf(f.date, sizeof(f.date), "%s", date);
	return f;
}

static void
set_birthdate(struct resolve_facts *f, const char *d)
{
	snprintf(f->birthdate, sizeof(f->birthdate), "%s", d ? d : "");
}

static const struct resolve_route route_ur = {
    .code = "BUR-UR",
    .name = "Fra Børne- og Ungerådgivningen til Ungerådgivningen",
    .from_unit = "BUR",
    .to_unit = "UR",
    .placed_target_group = "anbragt",
};

static const char *
str_at(json_t *o, const char *path)
{
	json_t *j = json_object_get(o, path);
	if (!json_is_string(j))
		fail_msg("\"%s\" is not a string", path);
	return json_string_value(j);
}

/* The warning that begins with prefix, or NULL. */
static const char *
warning(json_t *answer, const char *prefix)
{
	json_t *w;
	size_t i;

	json_array_foreach (json_object_get(answer, "warnings"), i, w)
		if (strncmp(json_string_value(w), prefix, strlen(prefix)) == 0)
			return json_string_value(w);
	return NULL;
}

/* "Gitte Grøn; Ali Khan for Mette Hansen; !Bo Berg" ('!' unavailable). */
static void
describe(json_t *answer, char *out, size_t outsz)
{
	json_t *c;
	size_t i, len = 0;

	*out = '\0';
	json_array_foreach (json_object_get(answer, "candidates"), i, c) {
		json_t *acting = json_object_get(c, "acting_for");
		const char *name = str_at(json_object_get(c, "person"), "display_name");

		assert_int_equal(json_integer_value(json_object_get(c, "rank")), (json_int_t)i + 1);
		assert_true(json_is_boolean(json_object_get(c, "available")));
		len += (size_t)snprintf(out + len, outsz - len, "%s%s%s", i ? "; " : "",
		                        json_is_true(json_object_get(c, "available")) ? "" : "!",
		                        name);
		if (json_is_object(acting))
			len += (size_t)snprintf(out + len, outsz - len, " for %s",
			                        str_at(acting, "display_name"));
		else
			assert_true(json_is_null(acting));
		assert_true(len < outsz);
	}
}

static json_t *
resolve_ok(const struct dir_snapshot *s, const struct resolve_route *r,
           const struct resolve_facts *f)
{
	json_t *problem = NULL;
	json_t *a = dir_resolve(s, r, f, &problem);

	if (a == NULL) {
		char *text = json_dumps(problem, 0);
		fail_msg("resolve failed: %s", text);
	}
	assert_null(problem);
	return a;
}

/* ---- the receiving unit ---- */

static const struct {
	const char *to_unit, *route_kle, *facts_kle;
	const char *unit;   /* the receiving unit's code, or NULL: a 422 */
	const char *reason; /* the unit's reason, or the 422's field/code */
	const char *warning;
} unit_cases[] = {
    {"UR", NULL, NULL, "UR", "Ruten sender til Ungerådgivningen.", NULL},
    {"UR", "27.39.00", NULL, "UR",
     "Ungerådgivningen er ansvarlig for KLE 27.39.00 »Unge i overgangen til voksenlivet«.", NULL},
    /* the deepest unit holding its own mark */
    {"UR", "27.39.05", NULL, "UR-ANB", "Ungerådgivningen Anbragte er ansvarlig for KLE 27.39.05.",
     NULL},
    {NULL, "27.39.05", NULL, "UR-ANB", "Ungerådgivningen Anbragte er ansvarlig for KLE 27.39.05.",
     NULL},
    {"BSF", "27.39.00", NULL, "UR",
     "Ungerådgivningen er ansvarlig for KLE 27.39.00 »Unge i overgangen til voksenlivet«.", NULL},
    /* equally deep: the first by code */
    {NULL, "32.18.00", NULL, "JC-UNG",
     "Jobcenter Ung er ansvarlig for KLE 32.18.00 »Sygedagpenge«.", NULL},
    {"AEHF", "32.18.00", NULL, "VH", "Voksenhandicap er ansvarlig for KLE 32.18.00 »Sygedagpenge«.",
     NULL},
    /* no one responsible: the deepest performing unit */
    {NULL, "17.18.00", NULL, "UR", "Ungerådgivningen udfører KLE 17.18.00 »Uddannelsesvejledning«.",
     NULL},
    /* responsible beats performing, however deep; "27.3" does not cover it */
    {NULL, "27.37.00", NULL, "AEHF",
     "Ældre- og Handicapforvaltningen er ansvarlig for KLE 27.37.00 »Voksne med handicap«.", NULL},
    {NULL, "27.3", NULL, "VH", "Voksenhandicap er ansvarlig for KLE 27.3.", NULL},
    /* inherited from outside the scope */
    {"JC-UNG", "15.14.02", NULL, "JC-UNG",
     "Jobcenter Ung er ansvarlig for KLE 15.14.02 (arvet fra Beskæftigelses- og "
     "Socialforvaltningen).",
     NULL},
    {"UR-ANB", "17.18.00", NULL, "UR-ANB",
     "Ungerådgivningen Anbragte udfører KLE 17.18.00 »Uddannelsesvejledning« (arvet fra "
     "Ungerådgivningen).",
     NULL},
    /* an own responsible mark in the scope beats an inherited one */
    {"BSF", "15.14.02", NULL, "BSF",
     "Beskæftigelses- og Socialforvaltningen er ansvarlig for KLE 15.14.02.", NULL},
    /* the request's number overrides the route's */
    {NULL, "27.39.05", "17.18.00", "UR",
     "Ungerådgivningen udfører KLE 17.18.00 »Uddannelsesvejledning«.", NULL},
    {"UR", NULL, "27.39.05", "UR-ANB", "Ungerådgivningen Anbragte er ansvarlig for KLE 27.39.05.",
     NULL},
    /* nothing in the scope: the route's unit, with a warning */
    {"AEHF", "27.39.00", NULL, "AEHF", "Ruten sender til Ældre- og Handicapforvaltningen.",
     "Ingen enhed under Ældre- og Handicapforvaltningen er markeret med KLE 27.39.00 »Unge i "
     "overgangen til voksenlivet«; ruten "
     "sender til Ældre- og Handicapforvaltningen."},
    {"UR", "27.3", NULL, "UR", "Ruten sender til Ungerådgivningen.",
     "Ingen enhed under Ungerådgivningen er markeret med KLE 27.3; ruten sender til "
     "Ungerådgivningen."},
    /* insight marks never decide */
    {NULL, "99.99.99", NULL, NULL, "kle/no_unit", NULL},
    {NULL, NULL, NULL, NULL, "kle/required", NULL},
    {"NOPE", NULL, NULL, NULL, "route/unit_missing", NULL},
    {"NOPE", "27.39.00", NULL, NULL, "route/unit_missing", NULL},
};

static void
test_receiving_unit(void **state)
{
	struct dir_snapshot *s = build(NULL, 0);
	(void)state;

	for (size_t i = 0; i < sizeof(unit_cases) / sizeof(unit_cases[0]); i++) {
		struct resolve_route r = {
		    .code = "R", .to_unit = unit_cases[i].to_unit, .kle = unit_cases[i].route_kle};
		struct resolve_facts f = facts_on("2026-03-01");
		json_t *problem = NULL, *a;

		f.kle = unit_cases[i].facts_kle;
		a = dir_resolve(s, &r, &f, &problem);
		if (unit_cases[i].unit == NULL) {
			char want[64];
			json_t *err;

			if (a != NULL)
				fail_msg("case %zu: an answer, want a 422", i);
			assert_non_null(problem);
			assert_int_equal(json_integer_value(json_object_get(problem, "status")),
			                 422);
			assert_non_null(json_object_get(problem, "detail"));
			err = json_array_get(json_object_get(problem, "errors"), 0);
			assert_non_null(err);
			snprintf(want, sizeof(want), "%s/%s", str_at(err, "field"),
			         str_at(err, "code"));
			if (strcmp(want, unit_cases[i].reason) != 0)
				fail_msg("case %zu: %s, want %s", i, want, unit_cases[i].reason);
			assert_string_equal(str_at(err, "message"), str_at(problem, "detail"));
			json_decref(problem);
			continue;
		}
		if (a == NULL)
			fail_msg("case %zu: a problem, want %s", i, unit_cases[i].unit);
		assert_null(problem);
		json_t *ru = json_object_get(a, "receiving_unit");
		if (strcmp(str_at(ru, "code"), unit_cases[i].unit) != 0)
			fail_msg("case %zu: %s, want %s", i, str_at(ru, "code"),
			         unit_cases[i].unit);
		assert_string_equal(str_at(ru, "reason"), unit_cases[i].reason);
		if (unit_cases[i].warning)
			assert_string_equal(
			    json_string_value(json_array_get(json_object_get(a, "warnings"), 0)),
			    unit_cases[i].warning);
		else
			assert_int_equal(json_array_size(json_object_get(a, "warnings")), 0);
		json_decref(a);
	}
	dir_snapshot_unref(s);
}

static void
test_problem_messages(void **state)
{
	struct dir_snapshot *s = build(NULL, 0);
	struct resolve_route generic = {.code = "GENERISK"};
	struct resolve_facts f = facts_on("2026-03-01");
	json_t *problem, *err;
	(void)state;

	assert_null(dir_resolve(s, &generic, &f, &problem));
	err = json_array_get(json_object_get(problem, "errors"), 0);
	assert_string_equal(
	    str_at(err, "message"),
	    "Ruten »GENERISK« finder modtageren ud fra et KLE-nummer; angiv et KLE-nummer.");
	json_decref(problem);

	f.kle = "99.01";
	assert_null(dir_resolve(s, &generic, &f, &problem));
	err = json_array_get(json_object_get(problem, "errors"), 0);
	assert_string_equal(str_at(err, "message"),
	                    "Ingen enhed er ansvarlig for eller udfører KLE 99.01.");
	json_decref(problem);
	dir_snapshot_unref(s);
}

/* ---- allocation ---- */

struct alloc_case {
	const char *what;
	const char *rules[NPEOPLE];
	const char *birthdate, *surname, *district, *target_group;
	char placed;            /* 'y', 'n', or 0: unknown */
	const char *allocation; /* the route's kinds, space-separated */
	const char *date;       /* default 2026-03-01 */
	const char *expect;
};

static const struct alloc_case alloc_cases[] = {
    {"birthday split",
     {[AKH] = "birthday:21-31", [EER] = "birthday:1-10", [FFR] = "birthday:11-20"},
     "2010-03-14",
     .expect = "Finn Frost"},
    {"range ends included",
     {[AKH] = "birthday:21-31", [EER] = "birthday:1-10", [FFR] = "birthday:11-20"},
     "2010-03-20",
     .expect = "Finn Frost"},
    {"narrowest first",
     {[EER] = "birthday:11-20", [GGR] = "birthday:11-15", [FFR] = "birthday:1-31"},
     "2010-03-14",
     .expect = "Gitte Grøn; Eva Eriksen; Finn Frost"},
    {"a single day",
     {[EER] = "birthday:14", [FFR] = "birthday:5"},
     "2010-03-14",
     .expect = "Eva Eriksen"},
    {"narrowest of one person's rules",
     {[EER] = "birthday:1-31 birthday:14", [FFR] = "birthday:11-15"},
     "2010-03-14",
     .expect = "Eva Eriksen; Finn Frost"},
    {"two kinds beat one",
     {[EER] = "birthday:1-31 surname:A-G", [GGR] = "birthday:14"},
     "2010-03-14",
     "Andersen",
     .expect = "Eva Eriksen; Gitte Grøn"},
    {"a mismatch excludes",
     {[EER] = "birthday:11-20 surname:H-Å", [GGR] = "birthday:11-20"},
     "2010-03-14",
     "Andersen",
     .expect = "Gitte Grøn"},
    {"an unknown fact is undecided",
     {[EER] = "birthday:11-20 surname:H-Å", [GGR] = "birthday:1-31"},
     "2010-03-14",
     .expect = "Eva Eriksen; Gitte Grøn"},
    /* equal rules: the day's turn orders them (here it puts Eva first;
     * stable: ids, birth date and day are fixed; the crowd test checks
     * the turn against its definition) */
    {"equal rules: the turn",
     {[FFR] = "birthday:11-20", [EER] = "birthday:11-20"},
     "2010-03-14",
     .expect = "Eva Eriksen; Finn Frost"},
    {"nothing matches",
     {[EER] = "birthday:1-10", [FFR] = "birthday:21-31"},
     "2010-03-14",
     .expect = ""},
    {"no rules at all", {0}, "2010-03-14", .expect = ""},
    {"unknown kinds are ignored",
     {[EER] = "school:Tarup birthday:11-20", [FFR] = "school:Tarup"},
     "2010-03-14",
     .expect = "Eva Eriksen"},
    {"malformed rules are ignored",
     {[EER] = "birthday:x-y birthday:11-20", [FFR] = "birthday:40-50"},
     "2010-03-14",
     .expect = "Eva Eriksen"},
    {"the lead is not a candidate",
     {[LLU] = "birthday:1-31", [EER] = "birthday:11-20"},
     "2010-03-14",
     .expect = "Eva Eriksen"},
    /* absence and deputies */
    {"absent: the deputy stands in",
     {[MHA] = "birthday:11-20", [EER] = "birthday:1-31"},
     "2010-03-14",
     .expect = "Ali Khan for Mette Hansen; Eva Eriksen"},
    {"back on the until day",
     {[MHA] = "birthday:11-20", [EER] = "birthday:1-31"},
     "2010-03-14",
     .date = "2026-03-03",
     .expect = "Mette Hansen; Eva Eriksen"},
    {"absent from the from day",
     {[MHA] = "birthday:11-20", [EER] = "birthday:1-31"},
     "2010-03-14",
     .date = "2026-02-20",
     .expect = "Ali Khan for Mette Hansen; Eva Eriksen"},
    {"not yet absent",
     {[MHA] = "birthday:11-20", [EER] = "birthday:1-31"},
     "2010-03-14",
     .date = "2026-02-19",
     .expect = "Mette Hansen; Eva Eriksen"},
    {"the deputy is absent too: last",
     {[BBE] = "birthday:11-20", [EER] = "birthday:1-31", [FFR] = "birthday:1-31"},
     "2010-03-14",
     .expect = "Eva Eriksen; Finn Frost; !Bo Berg"},
    {"no deputy: last",
     {[HHO] = "birthday:14", [DDA] = "birthday:11-20", [EER] = "birthday:1-31"},
     "2010-03-14",
     .expect = "Eva Eriksen; !Hans Holm; !Dorte Dahl"},
    {"the deputy ranks higher already",
     {[AKH] = "birthday:11-15", [MHA] = "birthday:11-20"},
     "2010-03-14",
     .expect = "Ali Khan; !Mette Hansen"},
    {"the deputy ranks lower: shown once",
     {[MHA] = "birthday:11-15", [AKH] = "birthday:11-20", [EER] = "birthday:1-31"},
     "2010-03-14",
     .expect = "Ali Khan for Mette Hansen; Eva Eriksen"},
    /* surnames */
    {"Aagaard is Å",
     {[EER] = "surname:A-G", [FFR] = "surname:S-Å"},
     .surname = "Aagaard",
     .expect = "Finn Frost"},
    {"aagaard is Å",
     {[EER] = "surname:A-G", [FFR] = "surname:S-Å"},
     .surname = "aagaard",
     .expect = "Finn Frost"},
    {"Andersen is A",
     {[EER] = "surname:A-G", [FFR] = "surname:S-Å"},
     .surname = "Andersen",
     .expect = "Eva Eriksen"},
    {"Østergaard",
     {[EER] = "surname:A-Æ", [FFR] = "surname:Ø", [GGR] = "surname:Å"},
     .surname = "Østergaard",
     .expect = "Finn Frost"},
    {"Ölander is Ø",
     {[EER] = "surname:A-Æ", [FFR] = "surname:Ø", [GGR] = "surname:Å"},
     .surname = "Ölander",
     .expect = "Finn Frost"},
    {"ærø folds",
     {[EER] = "surname:A-Æ", [FFR] = "surname:Ø", [GGR] = "surname:Å"},
     .surname = "ærø",
     .expect = "Eva Eriksen"},
    {"Älmhult is Æ",
     {[EER] = "surname:A-Z", [FFR] = "surname:Æ", [GGR] = "surname:Ø-Å"},
     .surname = "Älmhult",
     .expect = "Finn Frost"},
    {"decomposed Å",
     {[EER] = "surname:A-G", [FFR] = "surname:S-Å"},
     .surname = "A\xcc\x8a"
                "gesen",
     .expect = "Finn Frost"},
    {"Éclair is E",
     {[EER] = "surname:A-G", [FFR] = "surname:H-Å"},
     .surname = "Éclair",
     .expect = "Eva Eriksen"},
    {"ëlle is E",
     {[EER] = "surname:A-G", [FFR] = "surname:H-Å"},
     .surname = "ëlle",
     .expect = "Eva Eriksen"},
    {"Über is Y",
     {[EER] = "surname:A-X", [FFR] = "surname:Y"},
     .surname = "Über",
     .expect = "Finn Frost"},
    {"Ñuñez is undecided",
     {[EER] = "surname:A-G birthday:1-31", [FFR] = "surname:H-Å birthday:1-31"},
     "2010-03-14",
     "Ñuñez",
     .expect = "Eva Eriksen; Finn Frost"},
    {"Olsen decides",
     {[EER] = "surname:A-G birthday:1-31", [FFR] = "surname:H-Å birthday:1-31"},
     "2010-03-14",
     "Olsen",
     .expect = "Finn Frost"},
    {"narrower letters first",
     {[EER] = "surname:A-Å", [FFR] = "surname:H-M"},
     .surname = "Holm",
     .expect = "Finn Frost; Eva Eriksen"},
    /* districts */
    {"district folds case",
     {[EER] = "district:Korsløkke", [FFR] = "district:Vollsmose"},
     .district = "KORSLØKKE",
     .expect = "Eva Eriksen"},
    {"district lower case",
     {[EER] = "district:Korsløkke", [FFR] = "district:Vollsmose"},
     .district = "vollsmose",
     .expect = "Finn Frost"},
    {"district elsewhere",
     {[EER] = "district:Korsløkke", [FFR] = "district:Vollsmose"},
     .district = "Dalum",
     .expect = ""},
    /* target groups */
    {"target group given",
     {[EER] = "tg:ung-social birthday:1-31", [FFR] = "tg:anbragt birthday:1-31"},
     "2010-03-14",
     .target_group = "anbragt",
     .expect = "Finn Frost"},
    {"placed: in the placed group",
     {[EER] = "tg:ung-social birthday:1-31",
      [FFR] = "tg:anbragt birthday:1-31",
      [GGR] = "birthday:1-31"},
     "2010-03-14",
     .placed = 'y',
     .expect = "Finn Frost; Gitte Grøn"},
    {"not placed: not in it",
     {[EER] = "tg:ung-social birthday:1-31", [FFR] = "tg:anbragt birthday:1-31"},
     "2010-03-14",
     .placed = 'n',
     .expect = "Eva Eriksen"},
    {"placement unknown",
     {[EER] = "tg:ung-social birthday:1-31", [FFR] = "tg:anbragt birthday:1-31"},
     "2010-03-14",
     .expect = "Eva Eriksen; Finn Frost"},
    {"a target group alone is a rule",
     {[EER] = "tg:anbragt", [FFR] = "tg:ung-social"},
     .target_group = "Anbragt",
     .expect = "Eva Eriksen"},
    /* the route's kinds */
    {"the route allocates by birthday only",
     {[EER] = "birthday:11-20 surname:H-Å", [FFR] = "surname:A-G"},
     "2010-03-14",
     "Andersen",
     .allocation = "birthday",
     .expect = "Eva Eriksen"},
    {"the route allocates by surname only",
     {[EER] = "birthday:1-31", [FFR] = "surname:A-G"},
     "2010-03-14",
     "Andersen",
     .allocation = "surname",
     .expect = "Finn Frost"},
    {"the route ignores target groups",
     {[EER] = "tg:ung-social birthday:1-31", [FFR] = "tg:anbragt birthday:1-31"},
     "2010-03-14",
     .target_group = "anbragt",
     .allocation = "birthday district",
     .expect = "Eva Eriksen; Finn Frost"},
};

static void
run_alloc_case(const struct alloc_case *c)
{
	struct dir_snapshot *s = build(c->rules, 0);
	struct resolve_route r = route_ur;
	struct resolve_facts f = facts_on(c->date ? c->date : "2026-03-01");
	const char *kinds[4];
	char *copy = NULL, *tok, *save, got[1024];
	json_t *a;

	if (c->allocation) {
		copy = xstrdup(c->allocation);
		for (tok = strtok_r(copy, " ", &save); tok && r.nallocation < 4;
		     tok = strtok_r(NULL, " ", &save))
			kinds[r.nallocation++] = tok;
		r.allocation = kinds;
	}
	set_birthdate(&f, c->birthdate);
	f.surname = c->surname;
	f.district = c->district;
	f.target_group = c->target_group;
	f.placed = c->placed == 'y' ? 1 : c->placed == 'n' ? 0 : -1;
	a = resolve_ok(s, &r, &f);
	describe(a, got, sizeof(got));
	if (strcmp(got, c->expect) != 0)
		fail_msg("%s: \"%s\", want \"%s\"", c->what, got, c->expect);
	json_decref(a);
	free(copy);
	dir_snapshot_unref(s);
}

static void
test_allocation(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(alloc_cases) / sizeof(alloc_cases[0]); i++)
		run_alloc_case(&alloc_cases[i]);
}

/* The candidates' reasons, one per line. */
static void
reasons(const char *const rules[NPEOPLE], const struct resolve_facts *f, char *out, size_t outsz)
{
	struct dir_snapshot *s = build(rules, 0);
	json_t *a = resolve_ok(s, &route_ur, f), *c;
	size_t i, len = 0;

	*out = '\0';
	json_array_foreach (json_object_get(a, "candidates"), i, c)
		len += (size_t)snprintf(out + len, outsz - len, "%s\n", str_at(c, "reason"));
	assert_true(len < outsz);
	json_decref(a);
	dir_snapshot_unref(s);
}

static void
test_reasons(void **state)
{
	struct resolve_facts f = facts_on("2026-03-01");
	char got[2048];
	(void)state;

	set_birthdate(&f, "2010-03-14");
	f.target_group = "ung-social";
	reasons((const char *[NPEOPLE]){[MHA] = "tg:ung-social birthday:11-20"}, &f, got,
	        sizeof(got));
	assert_string_equal(
	    got, "Ungerådgivningen fordeler efter målgruppe »Unge med sociale problemer« og "
	         "fødselsdag 11.–20. → Mette Hansen. Mette Hansen er fraværende "
	         "til 3. marts; stedfortræderen er Ali Khan.\n");

	f.target_group = NULL;
	reasons(
	    (const char *[NPEOPLE]){
	        [BBE] = "birthday:14", [HHO] = "birthday:11-20", [DDA] = "birthday:1-31"},
	    &f, got, sizeof(got));
	assert_string_equal(got, "Ungerådgivningen fordeler efter fødselsdag 14. → Bo Berg. Bo "
	                         "Berg er fraværende indtil videre, og stedfortræderen Dorte Dahl "
	                         "er også fraværende.\n"
	                         "Ungerådgivningen fordeler efter fødselsdag 11.–20. → Hans Holm. "
	                         "Hans Holm er fraværende til 1. april og har ingen "
	                         "stedfortræder.\n"
	                         "Ungerådgivningen fordeler efter fødselsdag 1.–31. → Dorte Dahl. "
	                         "Dorte Dahl er fraværende til 15. januar 2027 og har ingen "
	                         "stedfortræder.\n");

	f.surname = "Ølgaard";
	f.district = "vollsmose";
	f.target_group = "anbragt";
	reasons((const char *[NPEOPLE]){[EER] = "surname:S-Å district:Vollsmose tg:anbragt",
	                                [FFR] = "district:Vollsmose surname:Ø"},
	        &f, got, sizeof(got));
	assert_string_equal(
	    got, "Ungerådgivningen fordeler efter målgruppe »Anbragte børn og unge«, distrikt "
	         "Vollsmose og efternavn S–Å → Eva Eriksen.\n"
	         "Ungerådgivningen fordeler efter distrikt Vollsmose og efternavn "
	         "Ø → Finn Frost.\n");

	reasons((const char *[NPEOPLE]){[AKH] = "birthday:11-15", [MHA] = "birthday:11-20"}, &f,
	        got, sizeof(got));
	assert_string_equal(got, "Ungerådgivningen fordeler efter fødselsdag 11.–15. → Ali Khan.\n"
	                         "Ungerådgivningen fordeler efter fødselsdag 11.–20. → Mette "
	                         "Hansen. Mette Hansen er fraværende til 3. marts; "
	                         "stedfortræderen Ali Khan står allerede højere på listen.\n");
}

static void
test_candidate_fields(void **state)
{
	struct dir_snapshot *s = build((const char *[NPEOPLE]){[MHA] = "birthday:11-20"}, 0);
	struct resolve_facts f = facts_on("2026-03-01");
	json_t *a, *c, *acting;
	(void)state;

	set_birthdate(&f, "2010-03-14");
	a = resolve_ok(s, &route_ur, &f);
	c = json_array_get(json_object_get(a, "candidates"), 0);
	assert_string_equal(str_at(json_object_get(c, "person"), "id"), "id-akh");
	assert_string_equal(str_at(json_object_get(c, "person"), "username"), "akh");
	assert_true(json_is_true(json_object_get(c, "available")));
	acting = json_object_get(c, "acting_for");
	assert_string_equal(str_at(acting, "id"), "id-mha");
	assert_string_equal(str_at(acting, "display_name"), "Mette Hansen");
	assert_int_equal(json_object_size(acting), 2);
	json_decref(a);
	dir_snapshot_unref(s);
}

static void
test_cap(void **state)
{
	struct dir_snapshot *s = build((const char *[NPEOPLE]){[EER] = "birthday:14"}, 14);
	struct resolve_facts f = facts_on("2026-03-01");
	json_t *a, *cands;
	(void)state;

	set_birthdate(&f, "2010-03-14");
	a = resolve_ok(s, &route_ur, &f);
	cands = json_object_get(a, "candidates");
	assert_int_equal(json_array_size(cands), 10);
	assert_string_equal(
	    str_at(json_object_get(json_array_get(cands, 0), "person"), "display_name"),
	    "Eva Eriksen");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(cands, 9), "rank")), 10);
	json_decref(a);
	dir_snapshot_unref(s);
}

/* ---- ranking a crowd ---- */

/*
 * More candidates than resolve.c sorts up front (4 * 10), in few classes of
 * equal score: a birthday rule of one of four widths (or one that misses),
 * a second kind (surname A-Å) for every third, names in another order than
 * the people were added. Some absent (from 2026-01-01, no deputy) as
 * crowd_mode says: with all but every 8th absent, ranking goes past the
 * first 40 to find ten available.
 */
static const char *const crowd_birthday[] = {"birthday:14", "birthday:13-15", "birthday:10-20",
                                             "birthday:1-31", "birthday:1-5"};
static const int crowd_width[] = {1, 3, 11, 31, 0}; /* 0: misses the 14th */
static int crowd_mode; /* 0: nobody absent; 1: all but every 8th; 2: every 3rd */

static int
crowd_rule(int n)
{
	return (n * 7 + 3) % 5;
}

static bool
crowd_absent(int n)
{
	return crowd_mode == 1 ? n % 8 != 0 : crowd_mode == 2 ? n % 3 == 0 : false;
}

static void
crowd_name(int n, char name[32])
{
	snprintf(name, 32, "Xenia %02d", (n * 37 + 11) % 100); /* unique below 100 */
}

static void
crowd_fill(int n, struct dir_prec *p, char name[32])
{
	crowd_name(n, name);
	strlist_push(&p->allocation, crowd_birthday[crowd_rule(n)]);
	if (n % 3 == 0)
		strlist_push(&p->allocation, "surname:A-Å");
	if (crowd_absent(n))
		p->absent_from = xstrdup("2026-01-01");
}

struct crowd_ref {
	int nmatched, width;
	bool absent;
	char name[32];
	uint64_t rot; /* the turn, for the equal best */
};

/* The rotation as resolve.c defines it: the id's hash xor a seed mixed
 * (splitmix64's finalizer) from the citizen (here the birth date) and the
 * day. */
static uint64_t
ref_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t
ref_turn(const char *id, const char *birthdate, const char *date)
{
	uint64_t seed = ref_mix(dir_rules_id_hash(birthdate) ^ ref_mix(dir_rules_id_hash(date)));
	return dir_rules_id_hash(id) ^ seed;
}

static int
crowd_rot_cmp(const void *a, const void *b)
{
	const struct crowd_ref *x = a, *y = b;
	if (x->rot != y->rot)
		return x->rot < y->rot ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Among the equal best with a turn: the present first, then the turn. */
static int
crowd_turn_cmp(const void *a, const void *b)
{
	const struct crowd_ref *x = a, *y = b;
	if (x->absent != y->absent)
		return x->absent ? 1 : -1;
	return crowd_rot_cmp(a, b);
}

/* The ranking as DESIGN.md states it: more kinds matched, then narrower,
 * then by name (the unit's member order). */
static int
crowd_ref_cmp(const void *a, const void *b)
{
	const struct crowd_ref *x = a, *y = b;
	if (x->nmatched != y->nmatched)
		return y->nmatched - x->nmatched;
	if (x->width != y->width)
		return x->width - y->width;
	return strcmp(x->name, y->name);
}

/*
 * What the answer must list, worked out by brute force: every candidate
 * ranked by a full sort, walked until ten are available; the available
 * first, then the unavailable met on the way, ten at most; as describe().
 */
static void ref_expect(struct crowd_ref *r, size_t nr, char *out, size_t outsz);

static void
crowd_expect(int n, char *out, size_t outsz)
{
	struct crowd_ref *r = xcalloc((size_t)n, sizeof(*r));
	size_t nr = 0;

	for (int i = 0; i < n; i++) {
		if (crowd_width[crowd_rule(i)] == 0)
			continue;
		r[nr].nmatched = i % 3 == 0 ? 2 : 1;
		r[nr].width = crowd_width[crowd_rule(i)];
		r[nr].absent = crowd_absent(i);
		crowd_name(i, r[nr].name);
		{
			char id[32];
			snprintf(id, sizeof(id), "id-x%02d", NPEOPLE + i);
			r[nr].rot = ref_turn(id, "2010-03-14", "2026-03-01");
		}
		nr++;
	}
	ref_expect(r, nr, out, outsz);
	free(r);
}

/* The brute-force expectation for the candidates r[0..nr) (reordered). */
static void
ref_expect(struct crowd_ref *r, size_t nr, char *out, size_t outsz)
{
	const struct crowd_ref *walked[512] = {NULL};
	size_t nw = 0, navail = 0, len = 0, listed = 0;

	qsort(r, nr, sizeof(*r), crowd_ref_cmp);
	/* The equal best: the first 32 by the turn (TIE_MAX), those ordered
	 * present first, then by the turn; the rest of them after, by name. */
	{
		size_t g = 0, t;
		while (g < nr && r[g].nmatched == r[0].nmatched && r[g].width == r[0].width)
			g++;
		if (g >= 2) {
			qsort(r, g, sizeof(*r), crowd_rot_cmp);
			t = g < 32 ? g : 32;
			qsort(r, t, sizeof(*r), crowd_turn_cmp);
			qsort(r + t, g - t, sizeof(*r), crowd_ref_cmp);
		}
	}
	for (size_t i = 0; i < nr && navail < 10; i++) {
		walked[nw++] = &r[i];
		navail += !r[i].absent;
	}
	*out = '\0';
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < nw && listed < 10; i++) {
			if (walked[i]->absent != (pass == 1))
				continue;
			len +=
			    (size_t)snprintf(out + len, outsz - len, "%s%s%s", listed ? "; " : "",
			                     pass ? "!" : "", walked[i]->name);
			listed++;
		}
	assert_true(len < outsz);
}

static void
test_crowd_ranking(void **state)
{
	static const struct {
		int n, mode;
	} cases[] = {{60, 0}, {70, 0}, {99, 0}, {70, 1}, {99, 1}, {60, 2}, {99, 2}};
	struct resolve_facts f = facts_on("2026-03-01");
	char got[1024], want[1024];
	(void)state;

	set_birthdate(&f, "2010-03-14");
	f.surname = "Andersen";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dir_snapshot *s;
		json_t *a;

		crowd_mode = cases[i].mode;
		s = build_with(NULL, cases[i].n, crowd_fill);
		a = resolve_ok(s, &route_ur, &f);
		describe(a, got, sizeof(got));
		crowd_expect(cases[i].n, want, sizeof(want));
		if (strcmp(got, want) != 0)
			fail_msg("%d people, mode %d:\n got  %s\n want %s", cases[i].n,
			         cases[i].mode, got, want);
		json_decref(a);
		dir_snapshot_unref(s);
	}
	crowd_mode = 0;
}

/*
 * More equal best than TIE_MAX (32), in two classes of the same score:
 * everyone takes every birthday, every second also has a target group the
 * citizen says nothing about (another class, the same score), every
 * seventh a birthday rule that misses; every fourth absent. resolve.c
 * judges one member per class and finds the first 32 by the turn without
 * visiting the rest: the answer must be the brute force's, and the count
 * of equal colleagues all of them.
 */
static void assert_render_matches(const struct dir_snapshot *, const struct resolve_route *,
                                  const struct resolve_facts *);

static void
tie_crowd_name(int n, char name[32])
{
	snprintf(name, 32, "Xenia %03d", (n * 37 + 11) % 1000); /* unique below 1000 */
}

static bool tie_crowd_unique; /* every second a target group of their own: a class each */

/* Every fourth absent; with a class each three in four, of both kinds
 * (the walk goes past the 32 chosen into the merge of the classes). */
static bool
tie_crowd_absent(int n)
{
	return tie_crowd_unique ? n % 8 >= 2 : n % 4 == 0;
}

static void
tie_crowd_fill(int n, struct dir_prec *p, char name[32])
{
	char group[16];

	tie_crowd_name(n, name);
	strlist_push(&p->allocation, n % 7 == 0 ? "birthday:1-5" : "birthday:1-31");
	snprintf(group, sizeof(group), "g%03d", n);
	if (n % 2)
		strlist_push(&p->target_groups, tie_crowd_unique ? group : "handicap");
	if (tie_crowd_absent(n))
		p->absent_from = xstrdup("2026-01-01");
}

static void
test_tie_crowd(void **state)
{
	static const int sizes[] = {3, 33, 40, 90, 150, 400};
	struct resolve_facts f = facts_on("2026-03-01");
	char got[1024], want[1024], count[64];
	(void)state;

	set_birthdate(&f, "2010-03-14");
	for (size_t c = 0; c < 2 * sizeof(sizes) / sizeof(sizes[0]); c++) {
		int n = sizes[c % (sizeof(sizes) / sizeof(sizes[0]))];
		struct crowd_ref *r = xcalloc((size_t)n, sizeof(*r));
		struct dir_snapshot *s;
		json_t *a;
		size_t nr = 0;
		char *dump;

		tie_crowd_unique = c >= sizeof(sizes) / sizeof(sizes[0]);
		s = build_with(NULL, n, tie_crowd_fill);
		a = resolve_ok(s, &route_ur, &f);
		for (int i = 0; i < n; i++) {
			char id[32];
			if (i % 7 == 0)
				continue;
			r[nr].nmatched = 1;
			r[nr].width = 31;
			r[nr].absent = tie_crowd_absent(i);
			tie_crowd_name(i, r[nr].name);
			snprintf(id, sizeof(id), "id-x%02d", NPEOPLE + i);
			r[nr].rot = ref_turn(id, "2010-03-14", "2026-03-01");
			nr++;
		}
		describe(a, got, sizeof(got));
		snprintf(count, sizeof(count), "%zu kolleger i", nr);
		ref_expect(r, nr, want, sizeof(want));
		if (strcmp(got, want) != 0)
			fail_msg("%d people%s:\n got  %s\n want %s", n,
			         tie_crowd_unique ? ", a class each" : "", got, want);
		dump = json_dumps(a, 0);
		if (nr >= 2 && !tie_crowd_unique && strstr(dump, count) == NULL)
			fail_msg("%d people: no \"%s\" in %s", n, count, dump);
		free(dump);
		assert_render_matches(s, &route_ur, &f);
		free(r);
		json_decref(a);
		dir_snapshot_unref(s);
	}
	tie_crowd_unique = false;
}

/* dir_resolve_render (the HTTP handler's way) against dir_resolve plus the
 * members of `more`: the same JSON, or the same problem. */
static void
assert_render_matches(const struct dir_snapshot *s, const struct resolve_route *r,
                      const struct resolve_facts *f)
{
	json_t *problem = NULL, *render_problem = NULL, *want, *got, *more;
	struct evbuffer *b = evbuffer_new();
	json_error_t err;
	int rc;

	want = dir_resolve(s, r, f, &problem);
	more = json_pack("{s:{s:s, s:b}}", "directory", "synced_at", "2026-03-01T00:00:00Z",
	                 "stale", 0);
	rc = dir_resolve_render(s, r, f, json_incref(more), &render_problem, b);
	if (want == NULL) {
		assert_int_equal(rc, -1);
		assert_non_null(render_problem);
		assert_true(json_equal(problem, render_problem));
		assert_int_equal(evbuffer_get_length(b), 0);
		json_decref(problem);
		json_decref(render_problem);
	} else {
		assert_int_equal(rc, 0);
		assert_null(render_problem);
		evbuffer_add(b, "", 1);
		got =
		    json_loads((const char *)evbuffer_pullup(b, -1), JSON_REJECT_DUPLICATES, &err);
		if (got == NULL)
			fail_msg("rendered answer is not JSON: %s", err.text);
		json_object_update(want, more);
		if (!json_equal(got, want)) {
			char *g = json_dumps(got, JSON_SORT_KEYS),
			     *w = json_dumps(want, JSON_SORT_KEYS);
			fail_msg("rendered:\n%s\nbuilt:\n%s", g, w);
		}
		assert_true(json_array_size(json_object_get(got, "candidates")) > 0 ||
		            json_object_get(got, "fallback") != NULL);
		json_decref(got);
		json_decref(want);
	}
	json_decref(more);
	evbuffer_free(b);
}

static void
test_render_equals_resolve(void **state)
{
	static const int modes[] = {0, 1, 2};
	struct resolve_facts f = facts_on("2026-03-01");
	struct dir_snapshot *s;
	(void)state;

	set_birthdate(&f, "2010-03-14");
	f.surname = "Andersen";
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		crowd_mode = modes[i];
		s = build_with(NULL, 70, crowd_fill);
		assert_render_matches(s, &route_ur, &f);
		dir_snapshot_unref(s);
	}
	crowd_mode = 0;

	/* deputies standing in, the unavailable, target groups, absences with
	 * and without an end, a warning, the myndighedssnit, a 422 */
	s = build((const char *[NPEOPLE]){[MHA] = "tg:ung-social birthday:11-20",
	                                  [BBE] = "birthday:14",
	                                  [HHO] = "birthday:11-20",
	                                  [DDA] = "birthday:1-31",
	                                  [EER] = "surname:A-G"},
	          0);
	f.target_group = "ung-social";
	f.surname = NULL;
	assert_render_matches(s, &route_ur, &f);
	f.employment = EMP_DISABILITY_PENSION;
	struct resolve_route snit = route_ur;
	snit.labour_market_department = "BSF";
	snit.pension_department = "ÆHF";
	assert_render_matches(s, &snit, &f);
	struct resolve_route generic = {.code = "GENERISK"};
	assert_render_matches(s, &generic, &f);
	dir_snapshot_unref(s);
}

/* ---- the fallback ---- */

static void
test_fallback(void **state)
{
	struct dir_snapshot *s =
	    build((const char *[NPEOPLE]){[EER] = "birthday:1-10", [IIS] = "birthday:1-31"}, 0);
	struct resolve_facts f = facts_on("2026-03-01");
	struct resolve_route jc = {.code = "BUR-JC", .to_unit = "JC-UNG"};
	json_t *a, *fb, *lead;
	(void)state;

	set_birthdate(&f, "2010-03-14");
	a = resolve_ok(s, &route_ur, &f);
	assert_int_equal(json_array_size(json_object_get(a, "candidates")), 0);
	fb = json_object_get(a, "fallback");
	assert_string_equal(str_at(fb, "mailbox"), "ur@stafet.example");
	assert_string_equal(str_at(json_object_get(fb, "lead"), "display_name"), "Lars Lund");
	assert_string_equal(str_at(fb, "reason"),
	                    "Ingen sagsbehandler matcher fordelingsreglerne; skriv til "
	                    "ur@stafet.example eller kontakt lederen Lars Lund.");
	json_decref(a);

	/* never the caller themself: the next lead up */
	f.caller = dir_lookup_username(s, "llu");
	a = resolve_ok(s, &route_ur, &f);
	fb = json_object_get(a, "fallback");
	lead = json_object_get(fb, "lead");
	assert_string_equal(str_at(lead, "id"), "id-kmo");
	assert_string_equal(str_at(fb, "reason"),
	                    "Ingen sagsbehandler matcher fordelingsreglerne; skriv til "
	                    "ur@stafet.example eller kontakt lederen Kirsten Mølgaard (leder for "
	                    "Beskæftigelses- og Socialforvaltningen).");
	json_decref(a);

	/* no lead, no mailbox: both inherited; there is a candidate */
	f.caller = DIR_NONE;
	a = resolve_ok(s, &jc, &f);
	assert_int_equal(json_array_size(json_object_get(a, "candidates")), 1);
	fb = json_object_get(a, "fallback");
	assert_string_equal(str_at(fb, "mailbox"), "bsf@stafet.example");
	lead = json_object_get(fb, "lead");
	assert_string_equal(str_at(lead, "display_name"), "Kirsten Mølgaard");
	assert_string_equal(str_at(lead, "email"), "kmo@stafet.example");
	assert_string_equal(str_at(lead, "phone"), "+45 65 51 00 00");
	assert_int_equal(json_object_size(lead), 4);
	assert_string_equal(str_at(fb, "reason"),
	                    "Hvis ingen af kandidaterne kan tage sagen: skriv til "
	                    "bsf@stafet.example eller kontakt lederen Kirsten Mølgaard (leder for "
	                    "Beskæftigelses- og Socialforvaltningen).");
	json_decref(a);

	/* the caller leads the top: no lead at all */
	f.caller = dir_lookup_username(s, "kmo");
	a = resolve_ok(s, &jc, &f);
	fb = json_object_get(a, "fallback");
	assert_true(json_is_null(json_object_get(fb, "lead")));
	assert_string_equal(str_at(fb, "reason"), "Hvis ingen af kandidaterne kan tage sagen: "
	                                          "skriv til bsf@stafet.example.");
	json_decref(a);
	dir_snapshot_unref(s);
}

/* ---- one answer: the steps that settle equal colleagues ---- */

static json_t *
cand_named(json_t *a, const char *name)
{
	json_t *c;
	size_t i;
	json_array_foreach (json_object_get(a, "candidates"), i, c) {
		if (strcmp(str_at(json_object_get(c, "person"), "display_name"), name) == 0)
			return c;
	}
	fail_msg("no candidate %s", name);
	return NULL;
}

static const char *
answer_of(json_t *a, const char *key)
{
	return str_at(json_object_get(a, "answer"), key);
}

/* Begins a lookup of the three equal ones (Eva, Finn, Gitte: days 11-20),
 * gives it data (opens[i] per person in the people table order EER, FFR,
 * GGR; received[i] or NULL), and returns the answer. */
static json_t *
tie_lookup(const struct dir_snapshot *s, const struct resolve_route *r, bool load, bool cont,
           const int opens[3], const char *const received[3])
{
	struct resolve_facts f = facts_on("2026-03-01");
	struct dir_resolution *res;
	const char *ids[32];
	json_t *problem = NULL;
	size_t n;

	set_birthdate(&f, "2010-03-14");
	res = dir_resolution_begin(s, r, &f, &problem);
	assert_non_null(res);
	n = dir_resolution_wants(res, ids, 32);
	assert_int_equal(n, 3);
	dir_resolution_data(res, load, cont);
	for (int i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof(id), "id-%s", people[EER + i].user);
		dir_resolution_set(res, id, opens ? opens[i] : -1, received ? received[i] : NULL);
	}
	return dir_resolution_json(res);
}

static void
test_tie_break(void **state)
{
	struct dir_snapshot *s = build(
	    (const char *[NPEOPLE]){
	        [EER] = "birthday:11-20", [FFR] = "birthday:11-20", [GGR] = "birthday:11-20"},
	    0);
	struct resolve_route r = route_ur;
	json_t *a, *c;
	(void)state;

	/* No data: the turn decides, stable; every equal one says so. */
	a = tie_lookup(s, &r, false, false, NULL, NULL);
	assert_string_equal(answer_of(a, "kind"), "person");
	assert_string_equal(answer_of(a, "decided_by"), "rotation");
	assert_string_equal(answer_of(a, "unit"), "UR");
	c = json_array_get(json_object_get(a, "candidates"), 0);
	assert_string_equal(str_at(json_object_get(json_object_get(a, "answer"), "person"), "id"),
	                    str_at(json_object_get(c, "person"), "id"));
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(
		    str_at(json_array_get(json_object_get(a, "candidates"), i), "tie_break"),
		    "rotation");
	assert_non_null(strstr(str_at(c, "reason"), "i dagens tur"));
	assert_non_null(
	    strstr(answer_of(a, "why"), "3 kolleger i Ungerådgivningen passer lige godt"));
	json_decref(a);

	/* Load: Finn has fewest (1), then Gitte (2), then Eva (4). */
	a = tie_lookup(s, &r, true, false, (const int[3]){4, 1, 2}, NULL);
	assert_string_equal(answer_of(a, "decided_by"), "load");
	assert_string_equal(
	    str_at(json_object_get(json_object_get(a, "answer"), "person"), "display_name"),
	    "Finn Frost");
	c = cand_named(a, "Finn Frost");
	assert_int_equal(json_integer_value(json_object_get(c, "rank")), 1);
	assert_string_equal(str_at(c, "tie_break"), "load");
	assert_non_null(
	    strstr(str_at(c, "reason"), "Finn Frost har færrest åbne overdragelser (1)."));
	c = cand_named(a, "Gitte Grøn");
	assert_int_equal(json_integer_value(json_object_get(c, "rank")), 2);
	assert_non_null(strstr(str_at(c, "reason"),
	                       "Gitte Grøn har færre åbne overdragelser (2) end Eva Eriksen (4)."));
	c = cand_named(a, "Eva Eriksen");
	assert_non_null(strstr(str_at(c, "reason"),
	                       "Eva Eriksen har flere åbne overdragelser (4) end Gitte Grøn (2)."));
	json_decref(a);

	/* Continuity beats load: Eva received a note for this citizen. */
	a = tie_lookup(s, &r, true, true, (const int[3]){4, 1, 2},
	               (const char *const[3]){"2026-01-10T09:00:00.000000", NULL, NULL});
	assert_string_equal(answer_of(a, "decided_by"), "continuity");
	c = json_array_get(json_object_get(a, "candidates"), 0);
	assert_string_equal(str_at(json_object_get(c, "person"), "display_name"), "Eva Eriksen");
	assert_string_equal(str_at(c, "tie_break"), "continuity");
	assert_non_null(strstr(str_at(c, "reason"),
	                       "Eva Eriksen har før modtaget en overdragelse om borgeren "
	                       "(10. januar)."));
	json_decref(a);

	/* Two received before: the latest first. */
	a = tie_lookup(s, &r, true, true, (const int[3]){4, 1, 2},
	               (const char *const[3]){"2026-01-10T09:00:00", NULL, "2026-02-01T08:00:00"});
	assert_string_equal(
	    str_at(json_object_get(json_object_get(a, "answer"), "person"), "display_name"),
	    "Gitte Grøn");
	json_decref(a);

	/* A route without continuity: load decides though Eva knows the citizen. */
	r.tie_break[0] = STEP_LOAD;
	r.ntie_break = 1;
	a = tie_lookup(s, &r, true, true, (const int[3]){4, 1, 2},
	               (const char *const[3]){"2026-01-10T09:00:00", NULL, NULL});
	assert_string_equal(answer_of(a, "decided_by"), "load");
	assert_string_equal(
	    str_at(json_object_get(json_object_get(a, "answer"), "person"), "display_name"),
	    "Finn Frost");
	json_decref(a);

	/* Intake: new cases to the unit's lead; a known citizen to who knows them. */
	r = route_ur;
	r.intake = true;
	a = tie_lookup(s, &r, true, true, (const int[3]){4, 1, 2}, NULL);
	assert_string_equal(answer_of(a, "kind"), "intake");
	assert_string_equal(answer_of(a, "decided_by"), "intake");
	assert_string_equal(
	    str_at(json_object_get(json_object_get(a, "answer"), "person"), "display_name"),
	    "Lars Lund");
	assert_non_null(strstr(answer_of(a, "why"), "skriv til ur@stafet.example"));
	assert_int_equal(json_array_size(json_object_get(a, "candidates")), 3);
	json_decref(a);
	a = tie_lookup(s, &r, true, true, (const int[3]){4, 1, 2},
	               (const char *const[3]){NULL, NULL, "2026-02-01T08:00:00"});
	assert_string_equal(answer_of(a, "kind"), "person");
	assert_string_equal(answer_of(a, "decided_by"), "continuity");
	json_decref(a);
	dir_snapshot_unref(s);

	/* The chosen one away: Mette Hansen (away 20 Feb - 3 Mar, deputy Ali
	 * Khan) received a note for the citizen; her deputy answers. Load and
	 * the turn never choose the away one. */
	s = build((const char *[NPEOPLE]){[MHA] = "birthday:11-20", [EER] = "birthday:11-20"}, 0);
	{
		struct resolve_facts f = facts_on("2026-03-01");
		struct dir_resolution *res;
		const char *ids[32];
		json_t *problem = NULL;

		set_birthdate(&f, "2010-03-14");
		r = route_ur;
		res = dir_resolution_begin(s, &r, &f, &problem);
		assert_int_equal(dir_resolution_wants(res, ids, 32), 2);
		dir_resolution_data(res, true, true);
		dir_resolution_set(res, "id-mha", 9, "2025-11-03T10:00:00");
		dir_resolution_set(res, "id-eer", 0, NULL);
		a = dir_resolution_json(res);
		assert_string_equal(answer_of(a, "decided_by"), "deputy");
		assert_string_equal(
		    str_at(json_object_get(json_object_get(a, "answer"), "person"), "display_name"),
		    "Ali Khan");
		assert_non_null(
		    strstr(answer_of(a, "why"), "Mette Hansen er fraværende til 3. marts"));
		json_decref(a);

		res = dir_resolution_begin(s, &r, &f, &problem);
		dir_resolution_wants(res, ids, 32);
		dir_resolution_data(res, true, true);
		dir_resolution_set(res, "id-mha", 0, NULL);
		dir_resolution_set(res, "id-eer", 5, NULL);
		a = dir_resolution_json(res);
		assert_string_equal(answer_of(a, "decided_by"), "load");
		assert_string_equal(
		    str_at(json_object_get(json_object_get(a, "answer"), "person"), "display_name"),
		    "Eva Eriksen");
		json_decref(a);
	}
	dir_snapshot_unref(s);
}

static void
test_plausibility(void **state)
{
	struct dir_snapshot *s = build((const char *[NPEOPLE]){[EER] = "birthday:11-20"}, 0);
	struct resolve_facts f = facts_on("2026-12-06");
	struct resolve_route r = route_ur;
	const char *why;
	json_t *a, *p;
	(void)state;

	r.has_ages = true;
	r.age_min = 15;
	r.age_max = 18;
	assert_int_equal(dir_citizen_birthdate("140310-1235", 11, f.birthdate, &why), 0);
	f.from_cpr = true;
	a = resolve_ok(s, &r, &f);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(a, "citizen"), "age_on_date")), 116);
	p = json_object_get(a, "plausibility");
	assert_true(json_is_false(json_object_get(p, "ok")));
	assert_int_equal(json_integer_value(json_array_get(json_object_get(p, "route_ages"), 0)),
	                 15);
	/* the sending unit is not in this directory: the route names the receiver */
	assert_string_equal(
	    str_at(p, "message"),
	    "Borgeren er 116 år den 6. december 2026; ruten til Ungerådgivningen er "
	    "for unge på 15–18 år. Er CPR-nummeret rigtigt?");
	assert_int_equal(json_array_size(json_object_get(a, "candidates")), 1);
	json_decref(a);

	set_birthdate(&f, "2010-12-06"); /* 16 that very day */
	f.from_cpr = false;
	a = resolve_ok(s, &r, &f);
	p = json_object_get(a, "plausibility");
	assert_true(json_is_true(json_object_get(p, "ok")));
	assert_true(json_is_null(json_object_get(p, "message")));
	json_decref(a);

	set_birthdate(&f, "2012-12-07"); /* 13 */
	a = resolve_ok(s, &r, &f);
	p = json_object_get(a, "plausibility");
	assert_non_null(strstr(str_at(p, "message"), "Borgeren er 13 år"));
	assert_non_null(strstr(str_at(p, "message"), "Er fødselsdatoen rigtig?"));
	json_decref(a);

	r.has_ages = false; /* no window: nothing to judge */
	a = resolve_ok(s, &r, &f);
	p = json_object_get(a, "plausibility");
	assert_true(json_is_true(json_object_get(p, "ok")));
	assert_true(json_is_null(json_object_get(p, "route_ages")));
	json_decref(a);
	dir_snapshot_unref(s);
}

/* ---- the answer as a whole ---- */

static void
test_answer(void **state)
{
	struct dir_snapshot *s = build((const char *[NPEOPLE]){[EER] = "birthday:11-20"}, 0);
	struct resolve_facts f = facts_on("2026-03-01");
	const char *why;
	json_t *a, *citizen, *ru;
	(void)state;

	assert_int_equal(dir_citizen_birthdate("140310-4321", 11, f.birthdate, &why), 0);
	a = resolve_ok(s, &route_ur, &f);
	assert_string_equal(str_at(a, "route"), "BUR-UR");
	assert_string_equal(str_at(a, "date"), "2026-03-01");
	citizen = json_object_get(a, "citizen");
	assert_int_equal(json_object_size(citizen), 2);
	assert_string_equal(str_at(citizen, "birthdate"), "2010-03-14");
	assert_int_equal(json_integer_value(json_object_get(citizen, "age_on_date")), 15);
	ru = json_object_get(a, "receiving_unit");
	assert_string_equal(str_at(ru, "code"), "UR");
	assert_string_equal(str_at(ru, "name"), "Ungerådgivningen");
	assert_string_equal(str_at(ru, "department"), "BSF");
	assert_string_equal(str_at(ru, "parent"), "BSF");
	assert_string_equal(str_at(ru, "mailbox"), "ur@stafet.example");
	assert_string_equal(str_at(json_object_get(ru, "lead"), "display_name"), "Lars Lund");
	assert_non_null(json_object_get(ru, "kle"));
	assert_true(json_is_null(json_object_get(a, "myndighedssnit")));
	assert_int_equal(json_array_size(json_object_get(a, "warnings")), 0);
	assert_int_equal(json_array_size(json_object_get(a, "candidates")), 1);
	json_decref(a);

	/* nothing known */
	set_birthdate(&f, NULL);
	a = resolve_ok(s, &route_ur, &f);
	assert_true(json_is_null(json_object_get(json_object_get(a, "citizen"), "birthdate")));
	json_decref(a);
	dir_snapshot_unref(s);
}

static void
test_missing_facts(void **state)
{
	struct dir_snapshot *s =
	    build((const char *[NPEOPLE]){[EER] = "birthday:11-20 district:Dalum",
	                                  [FFR] = "surname:A-G",
	                                  [LLU] = "district:Tarup"},
	          0);
	struct resolve_facts f = facts_on("2026-03-01");
	json_t *a;
	(void)state;

	a = resolve_ok(s, &route_ur, &f);
	assert_int_equal(json_array_size(json_object_get(a, "warnings")), 3);
	assert_non_null(warning(a, "Fødselsdato mangler: Ungerådgivningen fordeler efter "
	                           "fødselsdag"));
	assert_non_null(warning(a, "Efternavn mangler: Ungerådgivningen fordeler efter efternavn"));
	assert_non_null(warning(a, "Distrikt mangler: Ungerådgivningen fordeler efter distrikt"));
	json_decref(a);

	set_birthdate(&f, "2010-03-14");
	f.surname = "Ñuñez";
	f.district = "Dalum";
	a = resolve_ok(s, &route_ur, &f);
	assert_int_equal(json_array_size(json_object_get(a, "warnings")), 1);
	assert_non_null(warning(a, "Efternavnet begynder ikke med et bogstav fra A til Å"));
	json_decref(a);

	/* kinds the route does not use need no facts */
	struct resolve_route r = route_ur;
	const char *kinds[] = {"district"};
	r.allocation = kinds;
	r.nallocation = 1;
	f.surname = NULL;
	set_birthdate(&f, NULL);
	a = resolve_ok(s, &r, &f);
	assert_int_equal(json_array_size(json_object_get(a, "warnings")), 0);
	json_decref(a);
	dir_snapshot_unref(s);
}

/* ---- the myndighedssnit ---- */

static void
test_myndighedssnit(void **state)
{
	static const struct {
		const char *to_unit;
		enum resolve_employment e;
		const char *department, *reason, *warning;
	} cases[] = {
	    {"UR", EMP_JOB, "BSF",
	     "Borgeren er i job og hører til Beskæftigelses- og Socialforvaltningen efter "
	     "myndighedssnittet (tilknytning til "
	     "arbejdsmarkedet).",
	     NULL},
	    {"UR", EMP_PENSION_ASSESSMENT, "BSF",
	     "Borgeren er under afklaring til førtidspension og hører til Beskæftigelses- og "
	     "Socialforvaltningen efter "
	     "myndighedssnittet (tilknytning til arbejdsmarkedet).",
	     NULL},
	    {"UR", EMP_DISABILITY_PENSION, "ÆHF",
	     "Borgeren har fået tilkendt førtidspension og hører til ÆHF efter "
	     "myndighedssnittet (tilkendt pension).",
	     "Efter myndighedssnittet hører borgeren til ÆHF (tilkendt førtidspension), men ruten "
	     "sender til Beskæftigelses- og Socialforvaltningen. Overvej den modsatte rute."},
	    {"VH", EMP_OLD_AGE_PENSION, "ÆHF",
	     "Borgeren har fået tilkendt folkepension og hører til ÆHF efter myndighedssnittet "
	     "(tilkendt pension).",
	     NULL},
	    {"VH", EMP_EDUCATION, "BSF",
	     "Borgeren er under uddannelse og hører til Beskæftigelses- og Socialforvaltningen "
	     "efter myndighedssnittet (tilknytning "
	     "til arbejdsmarkedet).",
	     "Efter myndighedssnittet hører borgeren til Beskæftigelses- og Socialforvaltningen "
	     "(under uddannelse), men ruten "
	     "sender til ÆHF. Overvej den modsatte rute."},
	    {"VH", EMP_EMPLOYMENT_CASE, "BSF", NULL, NULL},
	    {"VH", EMP_EDUCATION_CASE, "BSF", NULL, NULL},
	    {"UR", EMP_UNKNOWN, NULL, NULL,
	     "Angiv borgerens beskæftigelsesstatus: ruten følger myndighedssnittet."},
	};
	struct dir_snapshot *s = build(NULL, 0);
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct resolve_route r = {.code = "BSF-AEHF",
		                          .to_unit = cases[i].to_unit,
		                          .labour_market_department = "BSF",
		                          .pension_department = "ÆHF"};
		struct resolve_facts f = facts_on("2026-03-01");
		json_t *a, *m;

		f.employment = cases[i].e;
		a = resolve_ok(s, &r, &f);
		m = json_object_get(a, "myndighedssnit");
		if (cases[i].department == NULL) {
			assert_true(json_is_null(m));
		} else {
			assert_string_equal(str_at(m, "department"), cases[i].department);
			if (cases[i].reason)
				assert_string_equal(str_at(m, "reason"), cases[i].reason);
		}
		if (cases[i].warning) {
			assert_int_equal(json_array_size(json_object_get(a, "warnings")), 1);
			assert_string_equal(
			    json_string_value(json_array_get(json_object_get(a, "warnings"), 0)),
			    cases[i].warning);
		} else if (cases[i].reason) {
			assert_int_equal(json_array_size(json_object_get(a, "warnings")), 0);
		}
		json_decref(a);
	}

	/* a route without the myndighedssnit says nothing about it */
	struct resolve_facts f = facts_on("2026-03-01");
	struct resolve_route half = {.code = "R", .to_unit = "UR", .pension_department = "ÆHF"};
	json_t *a = resolve_ok(s, &route_ur, &f);
	assert_true(json_is_null(json_object_get(a, "myndighedssnit")));
	assert_int_equal(json_array_size(json_object_get(a, "warnings")), 0);
	json_decref(a);
	f.employment = EMP_DISABILITY_PENSION;
	a = resolve_ok(s, &half, &f);
	assert_true(json_is_null(json_object_get(a, "myndighedssnit")));
	assert_int_equal(json_array_size(json_object_get(a, "warnings")), 0);
	json_decref(a);
	dir_snapshot_unref(s);
}

/* ---- CPR numbers, dates, employment ---- */

static void
test_cpr(void **state)
{
	static const struct {
		const char *cpr, *want; /* want: the birth date, or "len"/"date" for the error */
	} cases[] = {
	    /* the century from the 7th digit */
	    {"0101001234", "1900-01-01"},
	    {"010100-1234", "1900-01-01"},
	    {"010199-2234", "1999-01-01"},
	    {"010136-3234", "1936-01-01"},
	    {"010136-4234", "2036-01-01"},
	    {"010137-4234", "1937-01-01"},
	    {"010100-4234", "2000-01-01"},
	    {"010157-5234", "2057-01-01"},
	    {"010158-5234", "1858-01-01"},
	    {"010157-8234", "2057-01-01"},
	    {"010158-8234", "1858-01-01"},
	    {"010136-9234", "2036-01-01"},
	    {"010137-9234", "1937-01-01"},
	    {"140308-4321", "2008-03-14"},
	    /* leap years */
	    {"290200-4234", "2000-02-29"},
	    {"290200-1234", "date"}, /* 1900 */
	    {"290296-1234", "1996-02-29"},
	    {"290297-1234", "date"},
	    {"290260-5234", "1860-02-29"},
	    {"290259-5234", "date"},
	    /* impossible dates */
	    {"310478-1234", "date"},
	    {"300278-1234", "date"},
	    {"320178-1234", "date"},
	    {"000178-1234", "date"},
	    {"010078-1234", "date"},
	    {"011378-1234", "date"},
	    /* modulus 11 is not checked: 0101001234 fails it, so does this one */
	    {"0101001235", "1900-01-01"},
	    /* form */
	    {"010100123", "len"},
	    {"01010012345", "len"},
	    {"01010-01234", "len"},
	    {"0101001-234", "len"},
	    {"010100 1234", "len"},
	    {"010100--234", "len"},
	    {"01010O1234", "len"},
	    {"010100-123a", "len"},
	    {"", "len"},
	    {"０１０１００１２３４", "len"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[11] = "";
		const char *why = NULL;
		int rc = dir_citizen_birthdate(cases[i].cpr, strlen(cases[i].cpr), out, &why);

		if (strcmp(cases[i].want, "len") == 0 || strcmp(cases[i].want, "date") == 0) {
			if (rc != -1)
				fail_msg("case %zu: accepted as %s", i, out);
			assert_non_null(why);
			assert_non_null(
			    strstr(why, strcmp(cases[i].want, "len") == 0
			                    ? "CPR-nummeret skal have 10 cifre"
			                    : "CPR-nummeret indeholder ikke en gyldig dato"));
		} else {
			if (rc != 0)
				fail_msg("case %zu: rejected: %s", i, why);
			assert_string_equal(out, cases[i].want);
		}
	}
	/* the length given counts, not the NUL */
	char out[11];
	const char *why;
	assert_int_equal(dir_citizen_birthdate("0101001234XYZ", 10, out, &why), 0);
	assert_string_equal(out, "1900-01-01");
	assert_int_equal(dir_citizen_birthdate(NULL, 0, out, &why), -1);
}

static void
test_date_valid(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
	    {"2024-02-29", true},  {"2023-02-29", false},  {"2000-02-29", true},
	    {"2100-02-29", false}, {"1900-02-29", false},  {"1800-01-01", true},
	    {"1799-12-31", false}, {"2199-12-31", true},   {"2200-01-01", false},
	    {"2026-04-31", false}, {"2026-04-30", true},   {"2026-00-10", false},
	    {"2026-13-10", false}, {"2026-01-00", false},  {"2026-1-10", false},
	    {"2026/01/10", false}, {"2026-01-1x", false},  {"20260110", false},
	    {"", false},           {" 2026-01-10", false},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (clock_date_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
			fail_msg("\"%s\": want %s", cases[i].s, cases[i].ok ? "valid" : "invalid");
	assert_false(clock_date_valid("2026-01-10x", 11));
	assert_true(clock_date_valid("2026-01-10x", 10));
}

static void
test_employment_parse(void **state)
{
	(void)state;
	assert_int_equal(dir_citizen_employment_parse("job"), EMP_JOB);
	assert_int_equal(dir_citizen_employment_parse("education"), EMP_EDUCATION);
	assert_int_equal(dir_citizen_employment_parse("employment_case"), EMP_EMPLOYMENT_CASE);
	assert_int_equal(dir_citizen_employment_parse("education_case"), EMP_EDUCATION_CASE);
	assert_int_equal(dir_citizen_employment_parse("pension_assessment"),
	                 EMP_PENSION_ASSESSMENT);
	assert_int_equal(dir_citizen_employment_parse("disability_pension"),
	                 EMP_DISABILITY_PENSION);
	assert_int_equal(dir_citizen_employment_parse("old_age_pension"), EMP_OLD_AGE_PENSION);
	assert_int_equal(dir_citizen_employment_parse("Job"), EMP_UNKNOWN);
	assert_int_equal(dir_citizen_employment_parse(""), EMP_UNKNOWN);
	assert_int_equal(dir_citizen_employment_parse(NULL), EMP_UNKNOWN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_receiving_unit),
	    cmocka_unit_test(test_problem_messages),
	    cmocka_unit_test(test_allocation),
	    cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_candidate_fields),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_crowd_ranking),
	    cmocka_unit_test(test_tie_crowd),
	    cmocka_unit_test(test_render_equals_resolve),
	    cmocka_unit_test(test_fallback),
	    cmocka_unit_test(test_answer),
	    cmocka_unit_test(test_tie_break),
	    cmocka_unit_test(test_plausibility),
	    cmocka_unit_test(test_missing_facts),
	    cmocka_unit_test(test_myndighedssnit),
	    cmocka_unit_test(test_cpr),
	    cmocka_unit_test(test_date_valid),
	    cmocka_unit_test(test_employment_parse),
	};
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return cmocka_run_group_tests_name("resolve", tests, NULL, NULL);
}

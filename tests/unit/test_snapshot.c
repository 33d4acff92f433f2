/*
 * test_snapshot.c: how a snapshot takes LDAP's values: absence dates in
 * their several forms, hostile ones refused, and a person's JSON that stays
 * JSON whatever the directory holds; freeing a snapshot leaves the slow
 * malloc_trim to whoever calls dir_snapshot_trim (the sync thread); names
 * match without regard to Latin-1 case; the groups' lists beat memberOf.
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
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "stafetd.h"
#include "directory.h"

static void
test_dates_accepted(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
	    {"20260303000000Z", "2026-03-03"},   /* GeneralizedTime */
	    {"20260303000000.0Z", "2026-03-03"}, /* AD's GeneralizedTime */
	    {"202603031200+0100", "2026-03-03"},    {"20261231", "2026-12-31"},
	    {"2026-03-03", "2026-03-03"}, /* AD extensionAttributes */
	    {"2026-03-03T08:00:00Z", "2026-03-03"}, {"2026-01-31 ", "2026-01-31"},
	};
	char out[11];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *r = dir_snapshot_date_from_ldap(ok[i].in, out);
		if (r != out || strcmp(out, ok[i].out) != 0)
			fail_msg("%s gave \"%s\"", ok[i].in, out);
	}
}

static void
test_dates_hostile(void **state)
{
	static const char *const bad[] = {
	    "2\"\\x-01-01",
	    "2026-1\"-01",
	    "2026-01-0\"",
	    "2026-01-3\\",
	    "2\x01\x02\x03-01-01",
	    "2026-00-01",
	    "2026-13-01",
	    "2026-01-00",
	    "2026-01-32",
	    "2026-+1-01",
	    "2026- 1-01",
	    "2026-01- 1",
	    "-026-01-01",
	    "2026-01-1",
	    "2026\"0101",
	    "2026010\"",
	    "20261301",
	    "20260100000000Z",
	    "2026",
	    "",
	    "dato ukendt",
	    "2026-01-01"
	    "\"}]",
	};
	char out[11];

	(void)state;
	assert_null(dir_snapshot_date_from_ldap(NULL, out));
	assert_string_equal(out, "");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) - 1; i++) {
		memset(out, 'x', sizeof(out));
		if (dir_snapshot_date_from_ldap(bad[i], out) != NULL || out[0] != '\0')
			fail_msg("\"%s\" taken as \"%s\"", bad[i], out);
	}
	/* What follows a date is ignored, not copied. */
	assert_non_null(dir_snapshot_date_from_ldap(bad[sizeof(bad) / sizeof(bad[0]) - 1], out));
	assert_string_equal(out, "2026-01-01");
}

/* A person per hostile absence, through dir_snapshot_build and the search's
 * JSON writer: every answer parses, and a garbage date reads as none. */
static void
test_person_json_with_hostile_absence(void **state)
{
	static const struct {
		const char *from, *until; /* as LDAP holds them */
		const char *shown, *back; /* "absent" in the JSON; shown NULL: null */
	} cases[] = {
	    {"2\"\\x-01-01", NULL, NULL, NULL},
	    {"2\"\\x-01-01", "2999-01-01", NULL, NULL},
	    {"2020-01-01", "2\"\\x-01-01", "2020-01-01", NULL},
	    {"2020-01-01", "2999-12-3\"", "2020-01-01", NULL},
	    {"20200101000000Z", "29991231000000Z", "2020-01-01", "2999-12-31"},
	    {"1\x01\x7f\xff-01-01", "2999-01-01", NULL, NULL},
	};
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	struct dir_records r = {0};
	struct dir_snapshot *s;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		struct dir_prec *p = dir_records_add_person(&r);
		if (xasprintf(&p->dn, "uid=p%zu,dc=stafet,dc=example", i) < 0 ||
		    xasprintf(&p->id, "id-%zu", i) < 0 || xasprintf(&p->username, "p%zu", i) < 0)
			fail();
		p->display_name = xstrdup("Pia Hansen");
		p->absent_from = xstrdup(cases[i].from);
		p->absent_until = cases[i].until ? xstrdup(cases[i].until) : NULL;
	}
	s = dir_snapshot_build(&r, 1);
	dir_records_free(&r);
	assert_non_null(s);
	assert_int_equal(s->npersons, n);
	for (size_t i = 0; i < n; i++) {
		char id[16];
		struct evbuffer *b = evbuffer_new();
		json_error_t err;
		json_t *o, *absent;
		int k;

		snprintf(id, sizeof(id), "id-%zu", i);
		k = dir_lookup_person(s, id);
		assert_int_not_equal(k, DIR_NONE);
		dir_render_person_append(b, &s->persons[k], "2026-03-03");
		evbuffer_add(b, "", 1);
		o = json_loads((const char *)evbuffer_pullup(b, -1), 0, &err);
		if (o == NULL)
			fail_msg("invalid JSON for %s: %s", id, err.text);
		absent = json_object_get(o, "absent");
		if (cases[i].shown == NULL) {
			assert_true(json_is_null(absent));
		} else {
			assert_string_equal(json_string_value(json_object_get(absent, "from")),
			                    cases[i].shown);
			if (cases[i].back)
				assert_string_equal(
				    json_string_value(json_object_get(absent, "until")),
				    cases[i].back);
			else
				assert_true(json_is_null(json_object_get(absent, "until")));
		}
		json_decref(o);
		evbuffer_free(b);
	}
	dir_snapshot_unref(s);
}

/* Usernames, UPNs and DNs match without regard to case, Latin-1's too
 * (AD takes BJØRN for bjørn); × and ÷ are not a pair. */
static void
test_names_fold_latin1(void **state)
{
	struct dir_records r = {0};
	struct dir_snapshot *s;
	struct dir_prec *p;
	int i;

	(void)state;
	p = dir_records_add_person(&r);
	p->dn = xstrdup("CN=Bjørn Ærø,OU=Brugere,DC=stafet,DC=example");
	p->id = xstrdup("id-b");
	p->username = xstrdup("bjørn");
	p->upn = xstrdup("bjørn@stafet.example");
	s = dir_snapshot_build(&r, 1);
	dir_records_free(&r);
	assert_non_null(s);
	i = dir_lookup_login(s, "bjørn");
	assert_int_not_equal(i, DIR_NONE);
	assert_int_equal(dir_lookup_login(s, "BJØRN"), i);
	assert_int_equal(dir_lookup_login(s, "Bjørn"), i);
	assert_int_equal(dir_lookup_login(s, "BJØRN@STAFET.EXAMPLE"), i);
	assert_int_equal(dir_lookup_dn(s, "cn=BJØRN ærø, ou=brugere,dc=STAFET,dc=example"), i);
	assert_int_equal(dir_lookup_login(s, "bjorn"), DIR_NONE);
	assert_int_equal(dir_lookup_login(s, "bjÃ¸rn"), DIR_NONE);
	assert_true(dir_lookup_dn_equal("cn=Å", "CN=å"));
	assert_false(dir_lookup_dn_equal("cn=\xc3\x97", "cn=\xc3\xb7")); /* × ÷ */
	assert_false(dir_lookup_dn_equal("cn=\xc3", "cn=\xe3"));
	dir_snapshot_unref(s);
}

/* AD units as groups: a person in UR's memberOf whom BUR's member list now
 * names (moved, memberOf not re-read) is in BUR when the lists were read
 * whole, in UR by memberOf when not (records saved before lists_whole). */
static void
test_lists_whole_beat_member_of(void **state)
{
	for (int whole = 0; whole <= 1; whole++) {
		struct dir_records r = {0};
		struct dir_snapshot *s;
		struct dir_prec *p;
		struct dir_urec *u;
		int i;

		(void)state;
		r.lists_whole = whole;
		u = dir_records_add_unit(&r);
		u->dn = xstrdup("CN=stafet-unit-UR,OU=Grupper,DC=x");
		u->code = xstrdup("UR");
		u = dir_records_add_unit(&r);
		u->dn = xstrdup("CN=stafet-unit-BUR,OU=Grupper,DC=x");
		u->code = xstrdup("BUR");
		strlist_push(&u->members, "CN=Mads,OU=Brugere,DC=x");
		p = dir_records_add_person(&r);
		p->dn = xstrdup("CN=Mads,OU=Brugere,DC=x");
		p->id = xstrdup("id-m");
		p->username = xstrdup("mads");
		strlist_push(&p->member_of, "CN=stafet-unit-UR,OU=Grupper,DC=x");
		s = dir_snapshot_build(&r, 1);
		dir_records_free(&r);
		assert_non_null(s);
		i = dir_lookup_username(s, "mads");
		assert_int_not_equal(i, DIR_NONE);
		assert_string_equal(s->units[s->persons[i].unit].code, whole ? "BUR" : "UR");
		dir_snapshot_unref(s);
	}
}

/* A unit's intake flag: its own value (LDAP Boolean, or ja/nej, yes/no,
 * 1/0), else the nearest unit above that says; FALSE stops a TRUE above;
 * anything else is unset. AD: the unit groups in a group named with the
 * intake prefix. The flag survives the records' save and load. */
static void
test_unit_intake(void **state)
{
	static const char *const units[][3] = {
	    /* code, parent DN (under ou=units), own value */
	    {"BSF", NULL, "TRUE"},     {"UR", "ou=BSF", NULL},
	    {"VH", "ou=BSF", "FALSE"}, {"VHN", "ou=VH,ou=BSF", NULL},
	    {"BUF", NULL, "maybe"},    {"BUR", "ou=BUF", "ja"},
	    {"JOB", NULL, NULL}};
	static const char *const want[][2] = {{"BSF", "1"}, {"UR", "1"},  {"VH", "0"}, {"VHN", "0"},
	                                      {"BUF", "0"}, {"BUR", "1"}, {"JOB", "0"}};
	struct dir_records r = {0}, back = {0};
	struct dir_snapshot *s;
	json_t *doc;
	char dn[128];

	(void)state;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		struct dir_urec *u = dir_records_add_unit(&r);
		snprintf(dn, sizeof(dn), "ou=%s,%s%sou=units,dc=x", units[i][0],
		         units[i][1] ? units[i][1] : "", units[i][1] ? "," : "");
		u->dn = xstrdup(dn);
		u->code = xstrdup(units[i][0]);
		u->intake = units[i][2] ? xstrdup(units[i][2]) : NULL;
	}
	doc = dir_records_to_json(&r);
	assert_int_equal(dir_records_from_json(doc, &back), 0);
	json_decref(doc);
	s = dir_snapshot_build(&back, 1);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int u = dir_lookup_unit(s, want[i][0]);
		assert_int_not_equal(u, DIR_NONE);
		if (dir_lookup_intake(s, u) != (want[i][1][0] == '1'))
			fail_msg("%s: intake %d, want %s", want[i][0], dir_lookup_intake(s, u),
			         want[i][1]);
	}
	assert_false(dir_lookup_intake(s, DIR_NONE));
	dir_snapshot_unref(s);
	dir_records_free(&back);

	/* AD: a group named with the prefix lists JOB's unit group */
	{
		struct dir_grec *g = dir_records_add_group(&r);
		g->dn = xstrdup("cn=stafet-intake-job,dc=x");
		g->name = xstrdup("stafet-intake-job");
		strlist_push(&g->members, "OU=JOB,ou=units,dc=x");
		snprintf(r.intake_prefix, sizeof(r.intake_prefix), "stafet-intake");
		s = dir_snapshot_build(&r, 2);
		assert_true(dir_lookup_intake(s, dir_lookup_unit(s, "JOB")));
		assert_false(dir_lookup_intake(s, dir_lookup_unit(s, "VH")));
		dir_snapshot_unref(s);
	}
	dir_records_free(&r);
}

#ifdef __GLIBC__
/* Stands in for glibc's (the executable's definition wins): counts calls. */
static int trims;
int
malloc_trim(size_t pad)
{
	(void)pad;
	trims++;
	return 0;
}
#endif

/* The loop frees snapshots; malloc_trim takes 8-36 ms at 50,000 people and
 * must not run there, only in dir_snapshot_trim. */
/* The saved file, written a record at a time, is the document
 * dir_records_to_json gives, and reads back to the same records. */
static void
test_records_write_streams_the_document(void **state)
{
	struct dir_records r = {0}, back = {0};
	json_t *doc, *read, *again;
	json_error_t err;
	FILE *f;

	(void)state;
	snprintf(r.source, sizeof(r.source), "ldap://x \"q\"");
	r.synced_at = 1767225600.25;
	r.lists_whole = true;
	r.aliases = json_pack("{s:s}", "uid=old,dc=x", "uid=new,dc=x");
	for (int i = 0; i < 3; i++) {
		struct dir_prec *p = dir_records_add_person(&r);
		char v[64];
		snprintf(v, sizeof(v), "uid=p%d,dc=x", i);
		p->dn = xstrdup(v);
		snprintf(v, sizeof(v), "id-%d", i);
		p->id = xstrdup(v);
		p->username = xstrdup(i == 1 ? "s\u00f8ren \"\\" : "p");
		p->title = i == 2 ? NULL : xstrdup("Socialr\u00e5dgiver\n");
		strlist_push(&p->target_groups, "handicap");
		if (i == 0) {
			strlist_push(&p->allocation, "birthday:1-10");
			strlist_push(&p->member_of, "cn=g,dc=x");
		}
	}
	struct dir_urec *u = dir_records_add_unit(&r);
	u->dn = xstrdup("ou=A,dc=x");
	u->code = xstrdup("A");
	strlist_push(&u->kle[1], "27.12");
	struct dir_grec *g = dir_records_add_group(&r);
	g->dn = xstrdup("cn=g,dc=x");
	strlist_push(&g->members, "uid=p0,dc=x");

	f = tmpfile();
	assert_non_null(f);
	assert_int_equal(dir_records_write(f, &r), 0);
	rewind(f);
	read = json_loadf(f, 0, &err);
	fclose(f);
	if (read == NULL)
		fail_msg("not JSON: %s", err.text);
	doc = dir_records_to_json(&r);
	assert_true(json_equal(read, doc));
	assert_int_equal(dir_records_from_json(read, &back), 0);
	again = dir_records_to_json(&back);
	assert_true(json_equal(again, doc));
	json_decref(again);
	dir_records_free(&back);

	/* read back a record at a time: from this text, and from the whole
	 * document as json_dump_file wrote it before (and with spaces) */
	for (int form = 0; form < 2; form++) {
		char *text = json_dumps(read, form == 0 ? JSON_COMPACT : JSON_INDENT(2));
		assert_int_equal(dir_records_read(text, strlen(text), &back), 0);
		assert_int_equal(back.np, 3);
		again = dir_records_to_json(&back);
		assert_true(json_equal(again, doc));
		json_decref(again);
		dir_records_free(&back);
		/* cut short, or not the format: -1, nothing kept */
		assert_int_equal(dir_records_read(text, strlen(text) - 3, &back), -1);
		assert_int_equal(back.np, 0);
		free(text);
	}
	assert_int_equal(dir_records_read("{\"format\":2,\"people\":[]}", 24, &back), -1);
	assert_int_equal(dir_records_read("[]", 2, &back), -1);
	json_decref(doc);
	json_decref(read);

	/* empty records too */
	dir_records_free(&r);
	f = tmpfile();
	assert_int_equal(dir_records_write(f, &r), 0);
	rewind(f);
	read = json_loadf(f, 0, &err);
	fclose(f);
	assert_non_null(read);
	doc = dir_records_to_json(&r);
	assert_true(json_equal(read, doc));
	json_decref(doc);
	json_decref(read);
}

static void
test_unref_does_not_trim(void **state)
{
	struct dir_records r = {0};
	struct dir_snapshot *s;
	struct dir_prec *p;

	(void)state;
	p = dir_records_add_person(&r);
	p->dn = xstrdup("uid=p,dc=stafet,dc=example");
	p->id = xstrdup("id-p");
	p->username = xstrdup("p");
	s = dir_snapshot_build(&r, 1);
	dir_records_free(&r);
	assert_non_null(s);
	dir_snapshot_trim(); /* whatever earlier tests left */
	assert_false(dir_snapshot_trim_due());
#ifdef __GLIBC__
	trims = 0;
#endif
	dir_snapshot_ref(s);
	dir_snapshot_unref(s);
	assert_false(dir_snapshot_trim_due()); /* still held */
	dir_snapshot_unref(s);
#ifdef __GLIBC__
	assert_int_equal(trims, 0);
#endif
	assert_true(dir_snapshot_trim_due());
	assert_true(dir_snapshot_trim());
	assert_false(dir_snapshot_trim_due());
	assert_false(dir_snapshot_trim()); /* once per free */
#ifdef __GLIBC__
	assert_int_equal(trims, 1);
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dates_accepted),
	    cmocka_unit_test(test_dates_hostile),
	    cmocka_unit_test(test_person_json_with_hostile_absence),
	    cmocka_unit_test(test_unref_does_not_trim),
	    cmocka_unit_test(test_names_fold_latin1),
	    cmocka_unit_test(test_lists_whole_beat_member_of),
	    cmocka_unit_test(test_unit_intake),
	    cmocka_unit_test(test_records_write_streams_the_document),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

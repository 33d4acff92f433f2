/*
 * test_index.c: people search over hand-built snapshots: prefix and Danish
 * matching, ranking, filters, keyset pagination, bad cursors and hostile
 * queries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "stafetd.h"
#include "directory.h"

#define MAXP 32

struct fixture {
	struct dir_snapshot snap;
	struct dir_person persons[MAXP];
	struct dir_unit units[4];
	int by_name[MAXP];
	char names[MAXP][64], ids[MAXP][16];
};

static const char *tg_ung[] = {"ung-social"};
static const char *tg_ung_handicap[] = {"ung-social", "handicap"};

static const struct dir_person *sort_persons;
static char long_title[71];

static int
cmp_name(const void *a, const void *b)
{
	const struct dir_person *x = &sort_persons[*(const int *)a];
	const struct dir_person *y = &sort_persons[*(const int *)b];
	int c = strcmp(x->display_name, y->display_name);
	return c ? c : strcmp(x->id, y->id);
}

/* by_name, then the index: what the snapshot code does. */
static void
fixture_finish(struct fixture *fx)
{
	for (size_t i = 0; i < fx->snap.npersons; i++)
		fx->by_name[i] = (int)i;
	sort_persons = fx->persons;
	qsort(fx->by_name, fx->snap.npersons, sizeof(int), cmp_name);
	fx->snap.persons = fx->persons;
	fx->snap.by_name = fx->by_name;
	fx->snap.generation = 1;
	fx->snap.index = dir_index_build(&fx->snap);
	assert_non_null(fx->snap.index);
}

static void
set_units(struct fixture *fx)
{
	static const char *const u[][3] = {
	    {"BSF", "Børn og Unge", "BSF"},
	    {"UR", "Ungerådgivningen", "BSF"},
	    {"BUR-H", "Børne- og Ungerådgivningen Handicap", "BSF"},
	    {"JC", "Jobcenter Ærø", "BEF"},
	};
	for (int i = 0; i < 4; i++) {
		fx->units[i].code = u[i][0];
		fx->units[i].name = u[i][1];
		fx->units[i].department = u[i][2];
		fx->units[i].parent = i == 0 ? DIR_NONE : 0;
		fx->units[i].lead = DIR_NONE;
	}
	fx->snap.units = fx->units;
	fx->snap.nunits = 4;
}

static struct dir_person *
add_person(struct fixture *fx, const char *given, const char *surname, const char *username,
           int unit)
{
	size_t i = fx->snap.npersons++;
	struct dir_person *p = &fx->persons[i];

	assert_true(i < MAXP);
	snprintf(fx->names[i], sizeof(fx->names[i]), "%s %s", given, surname);
	snprintf(fx->ids[i], sizeof(fx->ids[i]), "id-%02zu", i);
	p->id = fx->ids[i];
	p->display_name = fx->names[i];
	p->given_name = given;
	p->surname = surname;
	p->username = username;
	p->unit = unit;
	p->deputy = p->manager = DIR_NONE;
	return p;
}

/* The small staff used by most tests; the index of each is its comment. */
static int
setup_small(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct dir_person *p;

	set_units(fx);
	p = add_person(fx, "Søren", "Bøgh", "sbo", 1); /* 0 */
	p->title = "Socialrådgiver";
	p->email = "sbo@stafet.example";
	p->target_groups = tg_ung;
	p->ntarget_groups = 1;
	p = add_person(fx, "Åse", "Kærgaard", "aak", 2); /* 1 */
	p->title = "Teamleder";
	p = add_person(fx, "Mette", "Hansen", "mha", 1); /* 2 */
	p->title = "Rådgiver";
	p->email = "mha@stafet.example";
	p->target_groups = tg_ung_handicap;
	p->ntarget_groups = 2;
	add_person(fx, "Hans", "Mettesen", "hme", 3); /* 3 */
	p = add_person(fx, "Ali", "Khan", "akh", 3);  /* 4 */
	p->title = "Jobkonsulent";
	add_person(fx, "Hanne", "Sørensen", "hso", 2);           /* 5 */
	p = add_person(fx, "Ulla", "Ungersen", "ulu", DIR_NONE); /* 6: no unit */
	memset(long_title, 'q', 70);
	p->title = long_title;
	fixture_finish(fx);
	*state = fx;
	return 0;
}

/* 25 people, every combination of 5 given names and 5 surnames. */
static int
setup_25(void **state)
{
	static const char *const given[] = {"Hans", "Hanne", "Anna", "Mette", "Han"};
	static const char *const sur[] = {"Hansen", "Jensen", "Han", "Hanberg", "Olsen"};
	static const char *const user[] = {"u00", "u01", "u02", "u03", "u04", "u05", "u06",
	                                   "u07", "u08", "u09", "u10", "u11", "u12", "u13",
	                                   "u14", "u15", "u16", "u17", "u18", "u19", "u20",
	                                   "u21", "u22", "u23", "u24"};
	struct fixture *fx = calloc(1, sizeof(*fx));

	set_units(fx);
	/* interleaved so that index order differs from name order */
	for (int i = 0; i < 25; i++)
		add_person(fx, given[(i * 7) % 5], sur[(i * 7 / 5) % 5], user[i], i % 2);
	fixture_finish(fx);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	dir_index_free(fx->snap.index);
	free(fx);
	return 0;
}

/* Runs a query; returns the count and fills out (up to 64). */
static int
search(struct fixture *fx, const char *q, int unit, const char *dep, const char *tg, size_t limit,
       const char *cursor, int *out, char **next)
{
	struct dir_query dq = {q, unit, dep, tg, limit, cursor};
	char *dummy = NULL;
	int n = dir_index_search(&fx->snap, &dq, out, next ? next : &dummy);
	free(dummy);
	return n;
}

static int
find(struct fixture *fx, const char *q, int *out)
{
	return search(fx, q, DIR_NONE, NULL, NULL, 64, NULL, out, NULL);
}

/* The query finds exactly these persons, in this order. */
static void
expect(struct fixture *fx, const char *q, const int *want, int nwant)
{
	int out[64];
	int n = find(fx, q, out);
	if (n != nwant)
		fail_msg("\"%.60s\": %d results, want %d", q, n, nwant);
	for (int i = 0; i < n; i++)
		if (out[i] != want[i])
			fail_msg("\"%.60s\": result %d is %d, want %d", q, i, out[i], want[i]);
}

#define EXPECT(fx, q, ...)                                                                         \
	do {                                                                                       \
		const int want_[] = {__VA_ARGS__};                                                 \
		expect(fx, q, want_, (int)(sizeof(want_) / sizeof(want_[0])));                     \
	} while (0)
#define EXPECT_NONE(fx, q) expect(fx, q, NULL, 0)

static void
test_single_word(void **state)
{
	struct fixture *fx = *state;

	EXPECT(fx, "soren", 0, 5); /* exact Søren before prefix Sørensen */
	EXPECT(fx, "Søren", 0, 5);
	EXPECT(fx, "SOEREN", 0, 5);
	EXPECT(fx, "sørensen", 5);
	EXPECT(fx, "aase", 1);
	EXPECT(fx, "åse", 1);
	EXPECT(fx, "Åse", 1);
	EXPECT(fx, "boegh", 0);
	EXPECT(fx, "bøgh", 0);
	EXPECT(fx, "kaergaard", 1);
	EXPECT(fx, "kærgård", 1);
	EXPECT_NONE(fx, "kargaard");
	EXPECT(fx, "mha", 2);
	EXPECT(fx, "jobkonsulent", 4);
	EXPECT_NONE(fx, "xyz");
}

static void
test_fields(void **state)
{
	struct fixture *fx = *state;

	/* email words, in name order when scores tie */
	EXPECT(fx, "stafet", 2, 0);
	EXPECT(fx, "mha@stafet.example", 2);
	/* unit name and code */
	EXPECT(fx, "ungerådgivningen", 5, 2, 0, 1); /* two units, tied: name order */
	EXPECT(fx, "aero", 4, 3);
	EXPECT(fx, "Ærø", 4, 3);
	EXPECT(fx, "bur-h", 5, 1);
	EXPECT(fx, "jc", 4, 3);
	/* title prefix */
	EXPECT(fx, "rådgiv", 2);
	EXPECT(fx, "socialrå", 0);
}

static void
test_ranking(void **state)
{
	struct fixture *fx = *state;

	/*
	 * "han": name prefixes (Hanne, Hans, Hansen) tie, in name order; Åse
	 * only through her unit's "Handicap", last.
	 */
	EXPECT(fx, "han", 5, 3, 2, 1);
	/* exact "hans" (Hans Mettesen) before prefix "hansen" */
	EXPECT(fx, "hans", 3, 2);
	/* a name prefix beats a unit prefix, and an email prefix */
	EXPECT(fx, "ung", 6, 5, 2, 0, 1);
	EXPECT(fx, "s", 5, 0, 2);
	/* an exact word beats a prefix whatever the field: unit code "H" */
	EXPECT(fx, "h", 5, 1, 3, 2);
	/* name 3 + exact 4 per word: Mette Hansen 14 > Hans Mettesen 6 */
	EXPECT(fx, "mette hansen", 2);
	EXPECT(fx, "mette han", 2, 3);
	EXPECT(fx, "han mette", 2, 3);
	EXPECT(fx, "han mettesen", 3);
	/* both words must match */
	EXPECT_NONE(fx, "mette khan");
	/* word order and repetition do not matter */
	EXPECT(fx, "hansen mette", 2);
	EXPECT(fx, "mette mette", 2, 3);
}

static void
test_filters(void **state)
{
	struct fixture *fx = *state;
	int out[64];

	assert_int_equal(search(fx, NULL, DIR_NONE, NULL, NULL, 64, NULL, out, NULL), 7);
	assert_int_equal(out[0], 4); /* Ali Khan */
	assert_int_equal(out[5], 6); /* Ulla Ungersen */
	assert_int_equal(out[6], 1); /* Åse Kærgaard: "Å" sorts after "U" */
	assert_int_equal(search(fx, "", 1, NULL, NULL, 64, NULL, out, NULL), 2);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 0);
	assert_int_equal(search(fx, "han", 2, NULL, NULL, 64, NULL, out, NULL), 2);
	assert_int_equal(out[0], 5);
	assert_int_equal(out[1], 1);
	assert_int_equal(search(fx, NULL, 0, NULL, NULL, 64, NULL, out, NULL), 0);
	assert_int_equal(search(fx, NULL, 99, NULL, NULL, 64, NULL, out, NULL), 0);
	assert_int_equal(search(fx, NULL, -7, NULL, NULL, 64, NULL, out, NULL), 0);

	/* department, case-insensitive */
	assert_int_equal(search(fx, NULL, DIR_NONE, "bsf", NULL, 64, NULL, out, NULL), 4);
	assert_int_equal(search(fx, NULL, DIR_NONE, "BEF", NULL, 64, NULL, out, NULL), 2);
	assert_int_equal(out[0], 4);
	assert_int_equal(out[1], 3);
	assert_int_equal(search(fx, "han", DIR_NONE, "BEF", NULL, 64, NULL, out, NULL), 1);
	assert_int_equal(out[0], 3);
	assert_int_equal(search(fx, NULL, DIR_NONE, "nope", NULL, 64, NULL, out, NULL), 0);
	assert_int_equal(search(fx, NULL, 3, "BSF", NULL, 64, NULL, out, NULL), 0);

	/* target group */
	assert_int_equal(search(fx, NULL, DIR_NONE, NULL, "ung-social", 64, NULL, out, NULL), 2);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 0);
	assert_int_equal(search(fx, "s", DIR_NONE, NULL, "handicap", 64, NULL, out, NULL), 1);
	assert_int_equal(out[0], 2);
	assert_int_equal(search(fx, NULL, DIR_NONE, NULL, "voksen", 64, NULL, out, NULL), 0);
	assert_int_equal(search(fx, NULL, 1, "BSF", "handicap", 64, NULL, out, NULL), 1);
}

static void
test_hostile(void **state)
{
	struct fixture *fx = *state;
	int out[64];
	char *big = malloc(10 * 1024 + 1);

	EXPECT_NONE(fx, "*)(uid=*");
	EXPECT_NONE(fx, "*)(|(objectClass=*");
	/* no words at all: like an empty query */
	assert_int_equal(find(fx, "\\*()", out), 7);
	assert_int_equal(find(fx, "\xff\xfe", out), 7);
	EXPECT(fx, "\xff s\xc3\xb8ren\xc3", 0, 5);

	memset(big, 'a', 10 * 1024);
	big[10 * 1024] = '\0';
	EXPECT_NONE(fx, big); /* one word over 64 bytes */
	for (size_t i = 0; i < 10 * 1024; i++)
		big[i] = (i % 2) ? ' ' : 'm';
	EXPECT(fx, big, 3, 2); /* 5,120 words "m"; the first 8 count */
	for (size_t i = 0; i < 10 * 1024; i++)
		big[i] = "*)(\\\xff\xc3"[i % 6];
	assert_int_equal(find(fx, big, out), 7);
	free(big);

	/* 64 bytes is the longest word that can match */
	char w[80];
	memset(w, 'q', 65);
	w[65] = '\0';
	EXPECT_NONE(fx, w);
	w[64] = '\0';
	EXPECT(fx, w, 6); /* a prefix of Ulla's 70-letter title */

	/* nothing to find, no snapshot, no limit */
	struct dir_query dq = {"han", DIR_NONE, NULL, NULL, 0, NULL};
	char *next = (char *)1;
	assert_int_equal(dir_index_search(&fx->snap, &dq, out, &next), 0);
	assert_null(next);
	dq.limit = 10;
	assert_int_equal(dir_index_search(NULL, &dq, out, &next), 0);
	assert_int_equal(dir_index_search(&fx->snap, NULL, out, &next), 0);
	assert_int_equal(dir_index_search(&fx->snap, &dq, out, NULL), 4);
}

static void
test_no_index(void **state)
{
	struct fixture *fx = *state;
	struct dir_snapshot copy = fx->snap;
	struct dir_query dq = {"han", DIR_NONE, NULL, NULL, 10, NULL};
	int out[10];
	char *next;

	copy.index = NULL;
	assert_int_equal(dir_index_search(&copy, &dq, out, &next), 4);
	assert_int_equal(out[0], 5);
	assert_null(next);

	struct dir_snapshot empty = {0};
	empty.index = dir_index_build(&empty);
	assert_non_null(empty.index);
	assert_int_equal(dir_index_search(&empty, &dq, out, &next), 0);
	dq.q = NULL;
	assert_int_equal(dir_index_search(&empty, &dq, out, &next), 0);
	dir_index_free(empty.index);
	dir_index_free(NULL);
}

/* Pages of limit through the query equal one big page; returns the total. */
static int
check_pages(struct fixture *fx, const char *q, int unit, size_t limit, int npages)
{
	int all[64], got[64], page[64], total, n = 0, pages = 0;
	char *cursor = NULL, *next = NULL;

	total = search(fx, q, unit, NULL, NULL, 64, NULL, all, &next);
	assert_null(next);
	do {
		int k = search(fx, q, unit, NULL, NULL, limit, cursor, page, &next);
		assert_true(k >= 0 && (size_t)k <= limit);
		if (next != NULL)
			assert_int_equal(k, (int)limit);
		for (const char *c = next; c && *c; c++)
			assert_true(strchr("0123456789abcdef.", *c) != NULL); /* URL-safe */
		memcpy(got + n, page, (size_t)k * sizeof(int));
		n += k;
		pages++;
		free(cursor);
		cursor = next;
	} while (cursor != NULL && pages < 64);
	assert_int_equal(pages, npages);
	assert_int_equal(n, total);
	assert_memory_equal(got, all, (size_t)total * sizeof(int));
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			assert_int_not_equal(got[i], got[j]);
	return total;
}

static void
test_pagination(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(check_pages(fx, NULL, DIR_NONE, 10, 3), 25);
	assert_int_equal(check_pages(fx, "", DIR_NONE, 10, 3), 25);
	/* 21 match (not Anna/Mette with Jensen/Olsen), exact and prefix, ties */
	assert_int_equal(check_pages(fx, "han", DIR_NONE, 10, 3), 21);
	assert_int_equal(check_pages(fx, "han", DIR_NONE, 1, 21), 21);
	assert_int_equal(check_pages(fx, "han", DIR_NONE, 7, 3), 21);
	/* Hans or Hansen: 5 + 5 - 1 */
	assert_int_equal(check_pages(fx, "hans han", DIR_NONE, 4, 3), 9);
	assert_int_equal(check_pages(fx, "hansen", DIR_NONE, 10, 1), 5);
	/* the odd ones are in unit 1; candidates from the unit, then from postings */
	assert_int_equal(check_pages(fx, NULL, 1, 5, 3), 12);
	assert_int_equal(check_pages(fx, "han", 1, 4, 3), 9);
	assert_int_equal(check_pages(fx, "hansen", 1, 1, 1), 1);
}

static void
test_cursor(void **state)
{
	struct fixture *fx = *state;
	int out[64], again[64];
	char *next = NULL, *next2 = NULL;
	static const char *const bad[] = {
	    "x",
	    "1",
	    "1.",
	    "1.1.0.0",
	    "1.1.0.0.0.0",
	    "2.1.0.0.0",
	    "1.1.0.0.g",
	    "1.1.0.0.A",
	    "1.1..0.0",
	    "1.1.0.0.0.",
	    " 1.1.0.0.0",
	    "1.1.0.0.0 ",
	    "1.1.-1.0.0",
	    "1.1.0x1.0.0",
	    "1.1.0.0.123456789",
	    "1.12345678901234567.0.0.0",
	    "*)(uid=*",
	    "1.1.0.0.0\xff",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		next = (char *)1;
		if (search(fx, "han", DIR_NONE, NULL, NULL, 10, bad[i], out, &next) != -1)
			fail_msg("cursor \"%s\" accepted", bad[i]);
		assert_null(next);
	}
	/* an empty cursor is no cursor */
	assert_int_equal(search(fx, NULL, DIR_NONE, NULL, NULL, 5, "", out, NULL), 5);

	/* a cursor keeps working on the next generation, and with another query */
	assert_int_equal(search(fx, NULL, DIR_NONE, NULL, NULL, 10, NULL, out, &next), 10);
	assert_non_null(next);
	assert_int_equal(strncmp(next, "1.1.", 4), 0);
	fx->snap.generation = 2;
	assert_int_equal(search(fx, NULL, DIR_NONE, NULL, NULL, 10, next, again, &next2), 10);
	assert_non_null(next2);
	assert_int_equal(strncmp(next2, "1.2.", 4), 0);
	for (int i = 0; i < 10; i++)
		for (int j = 0; j < 10; j++)
			assert_int_not_equal(out[i], again[j]);
	assert_true(search(fx, "han", DIR_NONE, NULL, NULL, 10, next, out, NULL) >= 0);
	free(next);
	free(next2);
	fx->snap.generation = 1;

	/* a well-formed cursor from nowhere: past the end, or before the start */
	assert_int_equal(
	    search(fx, NULL, DIR_NONE, NULL, NULL, 10, "1.0.0.ffffffff.ffffffff", out, NULL), 0);
	assert_int_equal(search(fx, NULL, DIR_NONE, NULL, NULL, 64, "1.0.ff.0.0", out, NULL), 25);
	assert_int_equal(search(fx, "hansen", DIR_NONE, NULL, NULL, 64, "1.0.0.0.0", out, NULL), 0);
}

/*
 * Randomised check against a brute-force reference: fold every field of
 * every person, score each query word by its best word (class + 4 when
 * exact), rank by score, then name order. Pools are small so that ties,
 * shared prefixes and Danish spellings are everywhere.
 */
static unsigned long long rng_state = 0x2545f4914f6cdd1dull;

static unsigned
rng(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

static const char *const pool_given[] = {"Søren", "Soeren", "Åse",   "Aase",   "Mette", "Mads",
                                         "Han",   "Hans",   "Hanne", "Ærling", "Bo",    "Oe"};
static const char *const pool_sur[] = {"Hansen", "Bøgh",   "Boegh",     "Kærgaard", "Kjær",
                                       "Han",    "Møller", "Mortensen", "Aagaard",  "Bo-Hansen"};
static const char *const pool_title[] = {"Rådgiver", "Socialrådgiver", "Teamleder", "Hans",
                                         "Konsulent, Handicap"};
static const char *pool_tg1[] = {"ung-social"};
static const char *pool_tg2[] = {"handicap", "UNG-SOCIAL"};

static int
ref_word(const struct dir_snapshot *s, size_t p, const char *w, size_t wl)
{
	const struct dir_person *x = &s->persons[p];
	const struct dir_unit *u = x->unit >= 0 ? &s->units[x->unit] : NULL;
	const char *fields[] = {x->display_name,    x->given_name,     x->surname,
	                        x->username,        x->title,          x->email,
	                        u ? u->name : NULL, u ? u->code : NULL};
	static const int cls[] = {3, 3, 3, 2, 1, 1, 0, 0};
	int best = -1;

	for (size_t f = 0; f < 8; f++) {
		char buf[256];
		const char *tok[64];
		size_t len[64], n;
		if (fields[f] == NULL)
			continue;
		dir_fold(fields[f], buf, sizeof(buf));
		n = dir_fold_tokens(buf, tok, len, 64);
		for (size_t i = 0; i < n; i++) {
			if (len[i] < wl || memcmp(tok[i], w, wl) != 0)
				continue;
			int sc = cls[f] + (len[i] == wl ? 4 : 0);
			if (sc > best)
				best = sc;
		}
	}
	return best;
}

struct ref_hit {
	int score, rank, idx;
};

static int
ref_hit_cmp(const void *a, const void *b)
{
	const struct ref_hit *x = a, *y = b;
	if (x->score != y->score)
		return y->score - x->score;
	return x->rank - y->rank;
}

static int
ref_search(const struct dir_snapshot *s, const struct dir_query *q, int *out)
{
	char buf[512];
	const char *tok[8];
	size_t len[8], nw;
	struct ref_hit hits[512] = {{0, 0, 0}};
	int n = 0;

	dir_fold(q->q, buf, sizeof(buf));
	nw = dir_fold_tokens(buf, tok, len, 8);
	for (size_t r = 0; r < s->npersons; r++) {
		size_t p = (size_t)s->by_name[r];
		const struct dir_person *x = &s->persons[p];
		int total = 0;
		if (q->unit != DIR_NONE && x->unit != q->unit)
			continue;
		if (q->department &&
		    (x->unit < 0 || strcasecmp(s->units[x->unit].department, q->department) != 0))
			continue;
		if (q->target_group) {
			size_t i;
			for (i = 0; i < x->ntarget_groups; i++)
				if (strcasecmp(x->target_groups[i], q->target_group) == 0)
					break;
			if (i == x->ntarget_groups)
				continue;
		}
		for (size_t i = 0; i < nw && total >= 0; i++) {
			int sc = len[i] > 64 ? -1 : ref_word(s, p, tok[i], len[i]);
			total = sc < 0 ? -1 : total + sc;
		}
		if (total >= 0)
			hits[n++] = (struct ref_hit){total, (int)r, (int)p};
	}
	qsort(hits, (size_t)n, sizeof(hits[0]), ref_hit_cmp);
	for (int i = 0; i < n; i++)
		out[i] = hits[i].idx;
	return n;
}

static void
test_random_against_reference(void **state)
{
	enum { NP = 400 };
	struct fixture *small = *state; /* for its units */
	struct dir_snapshot s = {0};
	struct dir_person *persons = calloc(NP, sizeof(*persons));
	char(*names)[64] = calloc(NP, 64), (*ids)[16] = calloc(NP, 16), (*users)[8] = calloc(NP, 8);
	int *by_name = calloc(NP, sizeof(int)), *want = calloc(NP, sizeof(int));
	int *got = calloc(NP, sizeof(int)), *page = calloc(NP, sizeof(int));

	for (size_t i = 0; i < NP; i++) {
		struct dir_person *p = &persons[i];
		p->given_name = pool_given[rng(12)];
		p->surname = pool_sur[rng(10)];
		snprintf(names[i], 64, "%s %s", p->given_name, p->surname);
		snprintf(ids[i], 16, "id%03zu", i);
		snprintf(users[i], 8, "%c%c", 'a' + rng(6), 'h' + rng(3));
		p->display_name = names[i];
		p->id = ids[i];
		p->username = users[i];
		p->title = rng(4) ? pool_title[rng(5)] : NULL;
		p->email = rng(2) ? "x@stafet.example" : NULL;
		p->unit = (int)rng(5) - 1;
		if (rng(3) == 0) {
			p->target_groups = rng(2) ? pool_tg1 : pool_tg2;
			p->ntarget_groups = p->target_groups == pool_tg1 ? 1 : 2;
		}
		p->deputy = p->manager = DIR_NONE;
		by_name[i] = (int)i;
	}
	s.persons = persons;
	s.npersons = NP;
	s.units = small->snap.units;
	s.nunits = small->snap.nunits;
	sort_persons = persons;
	qsort(by_name, NP, sizeof(int), cmp_name);
	s.by_name = by_name;
	s.index = dir_index_build(&s);
	assert_non_null(s.index);

	static const char *const *const pools[] = {pool_given, pool_sur, pool_title};
	static const size_t pool_n[] = {12, 10, 5};
	static const char *const units_words[] = {"ung", "børn", "jobcenter", "ærø", "bur-h",
	                                          "jc",  "H",    "stafet",    "ah",  "b"};
	for (int round = 0; round < 3000; round++) {
		char q[256] = "";
		size_t nw = 1 + rng(3);
		for (size_t i = 0; i < nw; i++) {
			const char *src;
			if (rng(4) == 0)
				src = units_words[rng(10)];
			else {
				size_t k = rng(3);
				src = pools[k][rng((unsigned)pool_n[k])];
			}
			size_t cut = 1 + rng((unsigned)strlen(src));
			strcat(q, i ? " " : "");
			strncat(q, src, cut);
		}
		struct dir_query dq = {q, DIR_NONE, NULL, NULL, NP, NULL};
		if (rng(6) == 0)
			dq.unit = (int)rng(4);
		if (rng(6) == 0)
			dq.department = rng(2) ? "bsf" : "BEF";
		if (rng(6) == 0)
			dq.target_group = rng(2) ? "ung-social" : "handicap";
		if (rng(20) == 0)
			dq.q = NULL;

		int nwant = dq.q ? ref_search(&s, &dq, want) : -1;
		if (!dq.q) {
			dq.q = "";
			nwant = ref_search(&s, &dq, want);
			dq.q = NULL;
		}
		char *next = NULL;
		int n = dir_index_search(&s, &dq, got, &next);
		assert_null(next);
		if (n != nwant || memcmp(got, want, (size_t)n * sizeof(int)) != 0)
			fail_msg("\"%s\": %d results, reference %d", q, n, nwant);

		/* the same, page by page */
		size_t limit = 1 + rng(7);
		int total = 0, pages = 0;
		char *cursor = NULL;
		dq.limit = limit;
		do {
			dq.cursor = cursor;
			int k = dir_index_search(&s, &dq, page, &next);
			assert_true(k >= 0 && total + k <= nwant);
			memcpy(got + total, page, (size_t)k * sizeof(int));
			total += k;
			free(cursor);
			cursor = next;
		} while (cursor != NULL && ++pages <= NP);
		if (total != nwant || memcmp(got, want, (size_t)total * sizeof(int)) != 0)
			fail_msg("\"%s\" in pages of %zu: %d results, reference %d", q, limit,
			         total, nwant);
	}
	dir_index_free(s.index);
	free(persons);
	free(names);
	free(ids);
	free(users);
	free(by_name);
	free(want);
	free(got);
	free(page);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_single_word, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_fields, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_ranking, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_filters, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_no_index, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_pagination, setup_25, teardown),
	    cmocka_unit_test_setup_teardown(test_cursor, setup_25, teardown),
	    cmocka_unit_test_setup_teardown(test_random_against_reference, setup_small, teardown),
	};
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return cmocka_run_group_tests_name("index", tests, NULL, NULL);
}

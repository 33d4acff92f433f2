/*
 * fuzz_directory.c: what the directory code does with text it did not
 * write: DNs read from LDAP (equality, the hash tables, a unit's parent
 * found by DN ancestry with RFC 4514 escapes), login names, the search
 * folding and tokenizer (directory/fold.c) and search with a client's
 * cursor (directory/index.c).
 *
 * There is no LDAP filter built from input to fuzz: the sync's filters
 * come from the configuration and a timestamp, and a login reads the
 * account by its DN from the snapshot with a base search, so nothing a
 * client sends is escaped into a filter.
 *
 * The input is two strings split at the first NUL: A (a DN, a name) and
 * B (a value for an RDN, a search, a cursor).
 */
#include <ctype.h>

#include "fuzz_common.h"
#include "stafetd.h"
#include "directory.h"

/* RFC 4514 section 2.4: escape what a DN value must not hold bare. */
static char *
rdn_escape(const char *v)
{
	size_t n = strlen(v);
	char *out = malloc(2 * n + 1), *w = out;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (strchr(",+\"\\<>;=", c) || (i == 0 && (c == ' ' || c == '#')) ||
		    (i == n - 1 && c == ' '))
			*w++ = '\\';
		*w++ = c;
	}
	*w = '\0';
	return out;
}

/* A as another server might spell it: case flipped, a space after each comma. */
static char *
respell(const char *a)
{
	char *out = malloc(2 * strlen(a) + 1), *w = out;
	for (const char *p = a; *p; p++) {
		unsigned char c = (unsigned char)*p;
		*w++ = (char)(isupper(c) ? tolower(c) : toupper(c));
		if (c == ',')
			*w++ = ' ';
	}
	*w = '\0';
	return out;
}

static void
check_fold(const char *s)
{
	char full[4096], again[4096], small[64];
	size_t n = dir_fold(s, full, sizeof(full));

	FUZZ_ASSERT(n == strlen(full) && n < sizeof(full));
	/* a short buffer gets a prefix, cut between characters */
	static const size_t sizes[] = {1, 2, 3, 5, 17, 64};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t m = dir_fold(s, small, sizes[i]);
		FUZZ_ASSERT(m == strlen(small) && m < sizes[i]);
		if (n + 1 < sizeof(full))
			FUZZ_ASSERT(strncmp(small, full, m) == 0);
		FUZZ_ASSERT(utf8_valid(small, m));
	}
	FUZZ_ASSERT(dir_fold(s, small, 0) == 0);
	FUZZ_ASSERT(utf8_valid(full, n));
	/* never longer than the input; ASCII comes out as lowercase words and
	 * single spaces between them (folding twice may shorten "aaa" again:
	 * only the index and the query, each folded once, need to agree) */
	FUZZ_ASSERT(n <= strlen(s));
	if (n) {
		FUZZ_ASSERT(full[0] != ' ' && full[n - 1] != ' ');
		FUZZ_ASSERT(strstr(full, "  ") == NULL);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)full[i];
		FUZZ_ASSERT(c >= 0x80 || c == ' ' || islower(c) || isdigit(c));
	}
	if (n + 1 < sizeof(full))
		FUZZ_ASSERT(dir_fold(full, again, sizeof(again)) <= n);
	const char *tok[8];
	size_t lens[8];
	size_t k = dir_fold_tokens(full, tok, lens, 8);
	FUZZ_ASSERT(k <= 8);
	for (size_t i = 0; i < k; i++) {
		FUZZ_ASSERT(tok[i] >= full && tok[i] + lens[i] <= full + n && lens[i] > 0);
		FUZZ_ASSERT(memchr(tok[i], ' ', lens[i]) == NULL);
		if (i)
			FUZZ_ASSERT(tok[i] >= tok[i - 1] + lens[i - 1]);
	}
}

static void
check_snapshot(const char *a, const char *b)
{
	struct dir_records r;
	char *esc = rdn_escape(b), *child, *pdn;
	memset(&r, 0, sizeof(r));
	if (asprintf(&child, "ou=%s,%s", esc, a) < 0 || asprintf(&pdn, "uid=p,%s", child) < 0)
		abort();

	struct dir_urec *u = dir_records_add_unit(&r);
	u->dn = xstrdup(a);
	u->code = xstrdup("U");
	u->name = xstrdup("Unit");
	u = dir_records_add_unit(&r);
	u->dn = xstrdup(child);
	u->code = xstrdup("C");
	u->name = xstrdup("Child");
	struct dir_prec *p = dir_records_add_person(&r);
	p->dn = xstrdup(pdn);
	p->id = xstrdup("p-1");
	p->username = xstrdup(a);
	p->display_name = xstrdup(b);
	p->unit_code = xstrdup("C");
	struct dir_snapshot *s = dir_snapshot_build(&r, 7);
	dir_records_free(&r);

	int ui = dir_lookup_unit(s, "U"), ci = dir_lookup_unit(s, "C");
	FUZZ_ASSERT(ui != DIR_NONE && ci != DIR_NONE);
	/* the child's parent is the unit its DN names after the first RDN */
	FUZZ_ASSERT(s->units[ci].parent == ui);
	FUZZ_ASSERT(dir_lookup_dn_equal(a, a) && dir_lookup_dn_equal(child, child));
	char *ra = respell(pdn);
	FUZZ_ASSERT(dir_lookup_dn_equal(pdn, ra) && dir_lookup_dn_equal(ra, pdn));
	int pi = dir_lookup_dn(s, ra);
	FUZZ_ASSERT(pi != DIR_NONE && strcmp(s->persons[pi].id, "p-1") == 0);
	FUZZ_ASSERT(s->persons[pi].unit == ci);
	free(ra);
	if (*a && strchr(a, '@') == NULL) {
		char *up = xstrdup(a);
		for (char *c = up; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		FUZZ_ASSERT(dir_lookup_login(s, up) == pi);
		free(up);
	}

	/* a search for B with B as a client's cursor, and with the next page's */
	int out[4];
	char *next = NULL;
	struct dir_query q = {b, DIR_NONE, NULL, NULL, 4, b};
	int got = dir_index_search(s, &q, out, &next);
	FUZZ_ASSERT(got >= -1 && got <= 4);
	if (got == -1)
		FUZZ_ASSERT(next == NULL);
	for (int i = 0; i < got; i++)
		FUZZ_ASSERT(out[i] >= 0 && (size_t)out[i] < s->npersons);
	free(next);
	q.cursor = NULL;
	q.limit = 1;
	next = NULL;
	got = dir_index_search(s, &q, out, &next);
	FUZZ_ASSERT(got == 0 || got == 1);
	if (next) {
		q.cursor = next;
		char *next2 = NULL;
		FUZZ_ASSERT(dir_index_search(s, &q, out, &next2) >= 0);
		free(next2);
		free(next);
	}
	dir_snapshot_unref(s);
	free(esc);
	free(child);
	free(pdn);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *a = fuzz_cstr(data, size);
	const char *nul = memchr(data, '\0', size);
	const char *b = nul ? a + (nul - (const char *)data) + 1 : "";

	check_fold(a);
	check_fold(b);
	/* the directory is UTF-8 (LDAP strings are); a unit DN is not empty */
	if (*a && strlen(a) < 1024 && strlen(b) < 1024 && utf8_valid(a, strlen(a)) &&
	    utf8_valid(b, strlen(b)))
		check_snapshot(a, b);
	free(a);
	return 0;
}

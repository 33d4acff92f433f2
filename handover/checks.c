/*
 * checks.c: the quality checks of DESIGN.md run against a handover note
 * under its template: required and required-if sections, placeholders,
 * the citizen's CPR number and age, dates in order, goals, actions,
 * consent, the Barnets Lov deadlines, benefits at 18, the directory and
 * the myndighedssnit, and near-identical texts across sections. Every
 * message is Danish, from the template: what is required when a check
 * fails, the fact when it passes; never note text, a name or a CPR number.
 * The shape of a note's "sections" is validate.c's.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"
#include "directory.h"
#include "resolve.h"

#define HO_TEMPLATE_INTERNAL
#include "checks.h"

/* A section's value as the checks see it. */
enum sstate {
	S_ABSENT, /* missing or null */
	S_EMPTY,  /* {"empty_reason"} with a reason the section allows */
	S_BADEMPTY,
	S_VALUE,
};

struct run {
	const struct ho_check_ctx *ctx;
	const struct ho_template *t;
	const json_t *sections;
	json_t *out;
	int listed, passed, failed_errors;
	bool have_birth, have_planned;
	char birth[11], planned[11];
	int age; /* at the planned date; -1 unknown */
};

static const char *const placeholders[] = {
    "-",  "--",  "n/a",    "na", "se journal", "se journalen", "følger",
    "xx", "xxx", "ukendt", "?",  "...",        NULL,
};

static bool ymd(const char *, int *, int *, int *);
static int days_in_month(int, int);
static void trim(const char *, const char **, size_t *);
static const char *str(const json_t *, const char *);
static json_t *add(struct run *, const char *, bool, const char *, bool, const char *,
                   const char *);
static enum sstate section_state(const struct ho_section *, const json_t *);
static bool cond_holds(const struct run *, const struct ho_section *);
static bool section_required(const struct run *, const struct ho_section *);
static bool section_filled(const struct ho_section *, const json_t *);
static bool goals_area_ok(const json_t *, const char *);
static bool actions_ok(const json_t *);
static bool consent_ok(const json_t *);
static bool benefits_ok(const json_t *);
static bool deadline_ok(const json_t *, enum sstate, const char *);
static void run_check(struct run *, const struct ho_tcheck *);
static void check_receiver(struct run *, const struct ho_tcheck *);
static void check_myndighedssnit(struct run *, const struct ho_tcheck *);

/* ---- dates ---- */

static bool
ymd(const char *s, int *y, int *m, int *d)
{
	if (s == NULL || !clock_date_valid(s, strlen(s)))
		return false;
	*y = atoi(s);
	*m = (s[5] - '0') * 10 + (s[6] - '0');
	*d = (s[8] - '0') * 10 + (s[9] - '0');
	return true;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int
checks_age_on(const char *birthdate, const char *date)
{
	int by, bm, bd, y, m, d, age;

	if (!ymd(birthdate, &by, &bm, &bd) || !ymd(date, &y, &m, &d))
		return -1;
	/* A 29 February birthday compares above 28 February, so in a
	 * non-leap year the birthday comes on 1 March. */
	age = y - by;
	if (m < bm || (m == bm && d < bd))
		age--;
	return age < 0 ? -1 : age;
}

int
checks_date_add_months(const char *date, int months, char out[11])
{
	int y, m, d;
	long total;

	if (!ymd(date, &y, &m, &d) || months < -12 * 400 || months > 12 * 400)
		return -1;
	total = (long)y * 12 + (m - 1) + months;
	y = (int)(total / 12);
	m = (int)(total % 12) + 1;
	if (y < 1800 || y > 2199)
		return -1;
	if (d > days_in_month(y, m))
		d = days_in_month(y, m);
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
	return 0;
}

int
checks_note_birthdate(const json_t *note, char out[11])
{
	const json_t *citizen = json_object_get(note, "citizen");
	const char *b = str(citizen, "birthdate"), *cpr = str(citizen, "cpr"), *why;

	if (b && clock_date_valid(b, strlen(b))) {
		memcpy(out, b, 11);
		return 0;
	}
	if (cpr && dir_citizen_birthdate(cpr, strlen(cpr), out, &why) == 0)
		return 0;
	return -1;
}

/* ---- text ---- */

size_t
checks_utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

static void
trim(const char *s, const char **start, size_t *len)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	*start = s;
	*len = n;
}

bool
checks_text_placeholder(const char *s)
{
	const char *p;
	size_t n, w = 0;
	char buf[48];
	bool only_marks = true;

	if (s == NULL)
		return true;
	trim(s, &p, &n);
	for (size_t i = 0; i < n; i++)
		if (strchr("-./?!,:;_*", p[i]) == NULL)
			only_marks = false;
	if (only_marks) /* also the empty text */
		return true;
	if (n >= sizeof(buf))
		return false;
	/* Fold case, Danish capitals too, for the comparison. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == 0xc3 && i + 1 < n &&
		    ((unsigned char)p[i + 1] == 0x86 || (unsigned char)p[i + 1] == 0x98 ||
		     (unsigned char)p[i + 1] == 0x85)) {
			buf[w++] = (char)c;
			buf[w++] = (char)((unsigned char)p[++i] + 0x20);
		} else
			buf[w++] = (char)tolower(c);
	}
	buf[w] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; placeholders[i]; i++)
			if (strcmp(buf, placeholders[i]) == 0)
				return true;
		/* then without trailing punctuation: "Se journal.", "Følger!" */
		while (w && (strchr(".,;:!?", buf[w - 1]) || isspace((unsigned char)buf[w - 1])))
			buf[--w] = '\0';
	}
	return false;
}

/* Lower-case ASCII and Æ Ø Å for comparing words. */
static unsigned char
fold(const unsigned char *w, size_t i)
{
	if (i > 0 && w[i - 1] == 0xc3 && (w[i] == 0x86 || w[i] == 0x98 || w[i] == 0x85))
		return (unsigned char)(w[i] + 0x20);
	return (unsigned char)tolower(w[i]);
}

/* The same word, ignoring case and the punctuation around it. */
static bool
same_word(const char *a, size_t na, const char *b, size_t nb)
{
	while (na && ispunct((unsigned char)a[na - 1]))
		na--;
	while (nb && ispunct((unsigned char)b[nb - 1]))
		nb--;
	if (na != nb || na == 0)
		return false;
	for (size_t i = 0; i < na; i++)
		if (fold((const unsigned char *)a, i) != fold((const unsigned char *)b, i))
			return false;
	return true;
}

size_t
checks_text_chars(const char *s, size_t len)
{
	size_t n = 0, i = 0, prev_at = 0, prev_len = 0;
	bool first = true;

	while (i < len) {
		size_t start, wl, run = 0;
		while (i < len && isspace((unsigned char)s[i]))
			i++;
		start = i;
		while (i < len && !isspace((unsigned char)s[i]))
			i++;
		wl = i - start;
		if (wl == 0)
			break;
		/* a word repeating the one before it is filler */
		if (!first && same_word(s + start, wl, s + prev_at, prev_len))
			continue;
		n += first ? 0 : 1; /* the space before it */
		for (size_t k = start; k < i; k++) {
			if ((unsigned char)s[k] >= 0x80 && ((unsigned char)s[k] & 0xc0) == 0x80)
				continue;
			/* beyond the second of a run of the same character */
			run = k > start && s[k] == s[k - 1] ? run + 1 : 0;
			if (run < 2)
				n++;
		}
		first = false;
		prev_at = start;
		prev_len = wl;
	}
	return n;
}

bool
checks_text_ok(const char *s, size_t min)
{
	const char *p;
	size_t n;

	if (s == NULL || checks_text_placeholder(s))
		return false;
	trim(s, &p, &n);
	return checks_text_chars(p, n) >= (min ? min : 1);
}

static const char *
str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* ---- near-identical texts ---- */

#define SIMILAR_MIN_CHARS 40 /* shorter texts are not compared */
#define SIMILAR_SHINGLE   3  /* words in a shingle */
#define SIMILAR_LIMIT     0.8

char *
checks_text_normalise(const char *s)
{
	size_t n = s ? strlen(s) : 0, w = 0;
	char *out = xmalloc(n + 1);
	bool space = true; /* drops leading spaces */

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0xc3 && i + 1 < n &&
		    ((unsigned char)s[i + 1] == 0x86 || (unsigned char)s[i + 1] == 0x98 ||
		     (unsigned char)s[i + 1] == 0x85)) {
			out[w++] = (char)c; /* Æ Ø Å -> æ ø å */
			out[w++] = (char)((unsigned char)s[++i] + 0x20);
			space = false;
		} else if (c >= 0x80 || isalnum(c)) {
			out[w++] = (char)tolower(c);
			space = false;
		} else if (!space) {
			out[w++] = ' ';
			space = true;
		}
	}
	if (w && out[w - 1] == ' ')
		w--;
	out[w] = '\0';
	return out;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The distinct hashes of a normalised text's word shingles, sorted; a text
 * of fewer words is one shingle. */
static uint64_t *
shingles(const char *t, size_t *n)
{
	size_t words = 1, len = strlen(t), k = 0, u = 0;
	size_t *start;
	uint64_t *h;

	for (size_t i = 0; i < len; i++)
		words += t[i] == ' ';
	start = xcalloc(words + 1, sizeof(*start));
	for (size_t i = 0, w = 1; i < len; i++)
		if (t[i] == ' ')
			start[w++] = i + 1;
	start[words] = len + 1;
	h = xcalloc(words, sizeof(*h));
	for (size_t i = 0; i + SIMILAR_SHINGLE <= words || (i == 0 && k == 0); i++) {
		size_t end = i + SIMILAR_SHINGLE <= words ? start[i + SIMILAR_SHINGLE] - 1 : len;
		uint64_t x = 14695981039346656037ULL; /* FNV-1a */
		for (size_t j = start[i]; j < end; j++)
			x = (x ^ (unsigned char)t[j]) * 1099511628211ULL;
		h[k++] = x;
	}
	free(start);
	qsort(h, k, sizeof(*h), cmp_u64);
	for (size_t i = 0; i < k; i++)
		if (u == 0 || h[u - 1] != h[i])
			h[u++] = h[i];
	*n = u;
	return h;
}

static double
jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	size_t i = 0, j = 0, both = 0;

	while (i < na && j < nb) {
		if (a[i] == b[j]) {
			both++;
			i++;
			j++;
		} else if (a[i] < b[j])
			i++;
		else
			j++;
	}
	return na + nb - both ? (double)both / (double)(na + nb - both) : 1.0;
}

double
checks_text_similarity(const char *a, const char *b)
{
	size_t na, nb;
	uint64_t *ha = shingles(a, &na), *hb = shingles(b, &nb);
	double j = jaccard(ha, na, hb, nb);

	free(ha);
	free(hb);
	return j;
}

/* ---- the results ---- */

/* A result; its message is `failed` (what to do) or `passed` (the fact,
 * `failed` when NULL). Borrowed: the array holds it. */
static json_t *
add(struct run *r, const char *id, bool error, const char *section, bool ok, const char *failed,
    const char *passed)
{
	json_t *res = json_pack("{s:s, s:s, s:s, s:b, s:s}", "id", id, "severity",
	                        error ? "error" : "warning", "section", section, "passed", ok,
	                        "message", ok && passed ? passed : failed);

	if (res == NULL)
		fatalx("json_pack");
	json_array_append_new(r->out, res);
	r->listed++;
	if (ok)
		r->passed++;
	else if (error)
		r->failed_errors++;
	return res;
}

static enum sstate
section_state(const struct ho_section *s, const json_t *v)
{
	const char *reason;

	if (v == NULL || json_is_null(v))
		return S_ABSENT;
	if (!json_is_object(v) || json_object_get(v, "empty_reason") == NULL)
		return S_VALUE;
	reason = str(v, "empty_reason");
	for (size_t i = 0; reason && i < s->nempty; i++)
		if (strcmp(reason, s->empty_reasons[i]) == 0)
			return S_EMPTY;
	return S_BADEMPTY;
}

/* Unknown inputs (no age, the other section not answered) hold nothing. */
static bool
cond_holds(const struct run *r, const struct ho_section *s)
{
	const struct ho_section *ref;
	const json_t *v;

	switch (s->cond) {
	case HO_COND_AGE:
		return r->age >= 0 && r->age >= s->cond_age;
	case HO_COND_SECTION:
		ref = &r->t->sections[s->cond_section];
		v = json_object_get(r->sections, ref->key);
		return section_state(ref, v) == S_VALUE && json_equal(v, s->cond_equals);
	case HO_COND_NONE:
	default:
		return false;
	}
}

static bool
section_required(const struct run *r, const struct ho_section *s)
{
	return s->required || cond_holds(r, s);
}

/* A value that satisfies "required" (the kind checks judge the rest). */
static bool
section_filled(const struct ho_section *s, const json_t *v)
{
	switch (s->kind) {
	case HO_TEXT:
		return checks_text_ok(json_string_value(v), s->min_length);
	case HO_DATE:
		return json_is_string(v) &&
		       clock_date_valid(json_string_value(v), json_string_length(v));
	case HO_BOOLEAN:
		return json_is_boolean(v);
	case HO_CHOICE:
		for (size_t i = 0; json_is_string(v) && i < s->noptions; i++)
			if (strcmp(s->options[i].value, json_string_value(v)) == 0)
				return true;
		return false;
	case HO_GOALS:
	case HO_ACTIONS:
	case HO_BENEFITS:
		return json_is_array(v) && json_array_size(v) > 0;
	case HO_CONSENT: {
		const char *b = str(v, "basis");
		return b && (strcmp(b, "consent") == 0 || strcmp(b, "law") == 0 ||
		             strcmp(b, "significant_importance") == 0);
	}
	case HO_DECISION: {
		const char *d = str(v, "date");
		return d && clock_date_valid(d, strlen(d)) &&
		       checks_text_ok(str(v, "text"), s->min_length);
	}
	}
	return false;
}

static bool
goals_area_ok(const json_t *goals, const char *area)
{
	size_t i;
	json_t *g;

	json_array_foreach (goals, i, g) {
		const char *a = str(g, "area");
		if (a && strcmp(a, area) == 0 && checks_text_ok(str(g, "goal"), 1) &&
		    checks_text_ok(str(g, "timeframe"), 1))
			return true;
	}
	return false;
}

static bool
actions_ok(const json_t *actions)
{
	size_t i;
	json_t *a;

	if (!json_is_array(actions) || json_array_size(actions) == 0)
		return false;
	json_array_foreach (actions, i, a) {
		const char *due = str(a, "due");
		if (!checks_text_ok(str(a, "action"), 1) || !checks_text_ok(str(a, "owner"), 1) ||
		    due == NULL || !clock_date_valid(due, strlen(due)))
			return false;
	}
	return true;
}

/* Forvaltningsloven § 28: consent (dated, with purpose and recipients, not
 * withdrawn), the law (a reference), or significant importance (why). */
static bool
consent_ok(const json_t *c)
{
	const char *basis = str(c, "basis"), *date = str(c, "date");

	if (basis == NULL)
		return false;
	if (strcmp(basis, "consent") == 0)
		return date && clock_date_valid(date, strlen(date)) &&
		       checks_text_ok(str(c, "purpose"), 1) &&
		       checks_text_ok(str(c, "recipients"), 1) &&
		       !json_is_true(json_object_get(c, "withdrawn"));
	if (strcmp(basis, "law") == 0)
		return checks_text_ok(str(c, "law_reference"), 1);
	if (strcmp(basis, "significant_importance") == 0)
		return checks_text_ok(str(c, "purpose"), 1);
	return false;
}

static bool
benefits_ok(const json_t *benefits)
{
	size_t i;
	json_t *b;

	if (!json_is_array(benefits) || json_array_size(benefits) == 0)
		return false;
	json_array_foreach (benefits, i, b) {
		if (!checks_text_ok(str(b, "child_benefit"), 1))
			return false;
		if (!checks_text_ok(str(b, "adult_benefit"), 1) &&
		    !json_is_true(json_object_get(b, "ends_without_successor")))
			return false;
	}
	return true;
}

/* A decision dated by the deadline, or not taken with the reason given. */
static bool
deadline_ok(const json_t *v, enum sstate st, const char *deadline)
{
	const char *d;

	if (st == S_EMPTY)
		return checks_text_ok(str(v, "comment"), 1);
	if (st != S_VALUE)
		return false;
	d = str(v, "date");
	return d && clock_date_valid(d, strlen(d)) && strcmp(d, deadline) <= 0;
}

static void
check_receiver(struct run *r, const struct ho_tcheck *c)
{
	const json_t *recv = json_object_get(r->ctx->note, "receiver");
	const json_t *pv = json_object_get(recv, "person"), *uv = json_object_get(recv, "unit");
	const char *pid = json_is_object(pv) ? str(pv, "id") : json_string_value(pv);
	const char *ucode = json_is_object(uv) ? str(uv, "code") : json_string_value(uv);
	const struct dir_snapshot *dir = r->ctx->dir;
	int p, u, at;
	bool ok = false;

	if (dir == NULL || pid == NULL || *pid == '\0')
		return;
	p = dir_lookup_person(dir, pid);
	if (p < 0 || (size_t)p >= dir->npersons) {
		add(r, c->id, c->error, c->section, false,
		    c->message_unknown ? c->message_unknown
		                       : "Den navngivne modtager findes ikke i kataloget.",
		    NULL);
		return;
	}
	if (ucode == NULL || *ucode == '\0') {
		/* no unit to judge against: the person exists, nothing more */
		add(r, c->id, c->error, c->section, true, c->message,
		    "Den navngivne modtager findes i kataloget.");
		return;
	}
	u = dir_lookup_unit(dir, ucode);
	at = dir->persons[p].unit;
	/* the person's unit or one above it is the receiving unit */
	for (size_t hops = 0; u >= 0 && at >= 0 && (size_t)at < dir->nunits && hops <= dir->nunits;
	     hops++) {
		if (at == u) {
			ok = true;
			break;
		}
		at = dir->units[at].parent;
	}
	add(r, c->id, c->error, c->section, ok, c->message, c->message_passed);
}

static void
check_myndighedssnit(struct run *r, const struct ho_tcheck *c)
{
	const struct ho_section *s = &r->t->sections[c->section_i];
	const json_t *v = json_object_get(r->sections, s->key);
	const char *dept = NULL, *name;
	char *msg, *pmsg = NULL;
	int u;

	if (!section_filled(s, v) || r->ctx->receiving_department == NULL)
		return;
	switch (dir_citizen_employment_parse(json_string_value(v))) {
	case EMP_JOB:
	case EMP_EDUCATION:
	case EMP_EMPLOYMENT_CASE:
	case EMP_EDUCATION_CASE:
	case EMP_PENSION_ASSESSMENT:
		dept = r->ctx->labour_market_department;
		break;
	case EMP_DISABILITY_PENSION:
	case EMP_OLD_AGE_PENSION:
		dept = r->ctx->pension_department;
		break;
	case EMP_UNKNOWN:
	default:
		break;
	}
	if (dept == NULL)
		return;
	/* {department}: the name of the department that holds the case, or
	 * its code when the directory does not know it */
	name = dept;
	if (r->ctx->dir && (u = dir_lookup_unit(r->ctx->dir, dept)) >= 0 &&
	    (size_t)u < r->ctx->dir->nunits && r->ctx->dir->units[u].name)
		name = r->ctx->dir->units[u].name;
	msg = template_subst(c->message, "department", name);
	if (c->message_passed)
		pmsg = template_subst(c->message_passed, "department", name);
	add(r, c->id, c->error, c->section, strcmp(dept, r->ctx->receiving_department) == 0, msg,
	    pmsg);
	free(msg);
	free(pmsg);
}

static void
run_check(struct run *r, const struct ho_tcheck *c)
{
	const struct ho_check_ctx *ctx = r->ctx;
	const json_t *citizen = json_object_get(ctx->note, "citizen");
	const char *cpr = str(citizen, "cpr"), *birth = str(citizen, "birthdate"), *why;
	const struct ho_section *s = NULL;
	const json_t *v = NULL;
	enum sstate st = S_ABSENT;
	bool in_play = false, done = false;
	char date[11], limit[11];

	if (c->section_i < r->t->nsections &&
	    strcmp(c->section, r->t->sections[c->section_i].key) == 0) {
		s = &r->t->sections[c->section_i];
		v = json_object_get(r->sections, s->key);
		st = section_state(s, v);
		/* content checks judge a required section not deliberately
		 * empty, once its required check passes: a missing section is
		 * one problem, listed once */
		done = st == S_EMPTY || (st == S_VALUE && section_filled(s, v));
		in_play = section_required(r, s) && st == S_VALUE && done;
	}
	switch (c->kind) {
	case HO_CK_CPR_VALID:
		if (cpr && *cpr)
			add(r, c->id, c->error, c->section,
			    dir_citizen_birthdate(cpr, strlen(cpr), date, &why) == 0, c->message,
			    c->message_passed);
		break;
	case HO_CK_CPR_MATCHES_BIRTHDATE:
		if (cpr && birth && *birth &&
		    dir_citizen_birthdate(cpr, strlen(cpr), date, &why) == 0)
			add(r, c->id, c->error, c->section, strcmp(date, birth) == 0, c->message,
			    c->message_passed);
		break;
	case HO_CK_AGE_WINDOW:
		if (r->have_birth && r->have_planned)
			add(r, c->id, c->error, c->section,
			    r->age >= r->t->age_min && r->age <= r->t->age_max, c->message,
			    c->message_passed);
		break;
	case HO_CK_PLANNED_DATE_FUTURE:
		/* advice while drafting, a block at submit */
		if (r->have_planned && clock_date_valid(ctx->today, strnlen(ctx->today, 11)))
			add(r, c->id, ctx->submit && c->error, c->section,
			    strcmp(r->planned, ctx->today) >= 0, c->message, c->message_passed);
		break;
	case HO_CK_PLANNED_BEFORE_AGE:
		if (r->have_birth && r->have_planned &&
		    checks_date_add_months(r->birth, 12 * c->age, limit) == 0)
			add(r, c->id, c->error, c->section, strcmp(r->planned, limit) <= 0,
			    c->message, c->message_passed);
		break;
	case HO_CK_RECEIVER_IN_UNIT:
		check_receiver(r, c);
		break;
	case HO_CK_GOALS_COMPLETE:
		if (in_play)
			for (size_t i = 0; i < c->nareas; i++)
				add(r, c->area_ids[i], c->error, c->section,
				    goals_area_ok(v, s->options[i].value), c->area_messages[i],
				    c->area_messages_passed[i]);
		break;
	case HO_CK_ACTIONS_COMPLETE:
		if (in_play)
			add(r, c->id, c->error, c->section, actions_ok(v), c->message,
			    c->message_passed);
		break;
	case HO_CK_CONSENT_RECORDED:
		if (in_play)
			add(r, c->id, c->error, c->section, consent_ok(v), c->message,
			    c->message_passed);
		break;
	case HO_CK_BENEFITS_MATCHED:
		if (in_play)
			add(r, c->id, c->error, c->section, benefits_ok(v), c->message,
			    c->message_passed);
		break;
	case HO_CK_UNGEPLAN_DEADLINE:
		/* from the age (16) on: the decision by the birthday + months */
		if (s && section_required(r, s) && done && r->have_birth && r->age >= c->age &&
		    checks_date_add_months(r->birth, 12 * c->age + c->months, limit) == 0)
			add(r, c->id, c->error, c->section, deadline_ok(v, st, limit), c->message,
			    c->message_passed);
		break;
	case HO_CK_SUPPORT_DEADLINE:
		/* when the section is required (placed): by the birthday - months */
		if (s && section_required(r, s) && done && r->have_birth &&
		    checks_date_add_months(r->birth, 12 * c->age + c->months, limit) == 0)
			add(r, c->id, c->error, c->section, deadline_ok(v, st, limit), c->message,
			    c->message_passed);
		break;
	case HO_CK_MYNDIGHEDSSNIT:
		check_myndighedssnit(r, c);
		break;
	}
}

/* The text a section holds for the near-identical check, or NULL. */
static const char *
section_text(const struct ho_section *s, const json_t *v)
{
	if (section_state(s, v) != S_VALUE)
		return NULL;
	if (s->kind == HO_TEXT)
		return json_string_value(v);
	if (s->kind == HO_DECISION)
		return str(v, "text");
	return NULL;
}

static int
uf_root(int *up, int i)
{
	while (up[i] != i)
		i = up[i] = up[up[i]];
	return i;
}

/* One warning for each group of sections whose texts are near-identical. */
static void
similar_result(struct run *r, int *up, size_t n, int root)
{
	struct strlist names = {0};
	json_t *keys = json_array(), *res;
	size_t first = SIZE_MAX;
	char *id, *msg, *list = NULL;

	for (size_t i = 0; i < n; i++) {
		if (up[i] < 0 || uf_root(up, (int)i) != root)
			continue;
		if (first == SIZE_MAX)
			first = i;
		json_array_append_new(keys, json_string(r->t->sections[i].key));
		strlist_add(&names, "»%s«", r->t->sections[i].label);
	}
	for (size_t i = 0; i < names.n; i++) {
		const char *sep = i == 0 ? "" : i + 1 == names.n ? " og " : ", ";
		char *next;
		if (xasprintf(&next, "%s%s%s", list ? list : "", sep, names.v[i]) < 0)
			fatalx("xasprintf");
		free(list);
		list = next;
	}
	if (xasprintf(&id, "%s.%s.similar", r->t->id_prefix, r->t->sections[first].key) < 0 ||
	    xasprintf(&msg, "Afsnittene %s har næsten samme tekst. Skriv hvert afsnit for sig.",
	              list) < 0)
		fatalx("xasprintf");
	res = add(r, id, false, r->t->sections[first].key, false, msg, NULL);
	json_object_set_new(res, "sections", keys);
	free(id);
	free(msg);
	free(list);
	strlist_free(&names);
}

static void
check_similar(struct run *r)
{
	size_t n = r->t->nsections;
	int *up = xcalloc(n, sizeof(*up)), *size = xcalloc(n, sizeof(*size));
	uint64_t **sh = xcalloc(n, sizeof(*sh));
	size_t *nsh = xcalloc(n, sizeof(*nsh));

	for (size_t i = 0; i < n; i++) {
		const char *t = section_text(&r->t->sections[i],
		                             json_object_get(r->sections, r->t->sections[i].key));
		char *norm;
		up[i] = -1; /* not compared */
		if (t == NULL)
			continue;
		norm = checks_text_normalise(t);
		if (checks_utf8_chars(norm, strlen(norm)) >= SIMILAR_MIN_CHARS) {
			up[i] = (int)i;
			sh[i] = shingles(norm, &nsh[i]);
		}
		free(norm);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; up[i] >= 0 && j < n; j++)
			/* Jaccard is at most the smaller set over the larger */
			if (up[j] >= 0 && uf_root(up, (int)i) != uf_root(up, (int)j) &&
			    (double)(nsh[i] < nsh[j] ? nsh[i] : nsh[j]) >=
			        SIMILAR_LIMIT * (double)(nsh[i] < nsh[j] ? nsh[j] : nsh[i]) &&
			    jaccard(sh[i], nsh[i], sh[j], nsh[j]) >= SIMILAR_LIMIT)
				up[uf_root(up, (int)j)] = uf_root(up, (int)i);
	for (size_t i = 0; i < n; i++)
		if (up[i] >= 0)
			size[uf_root(up, (int)i)]++;
	for (size_t i = 0; i < n; i++)
		if (up[i] >= 0 && up[i] == (int)i && size[i] > 1)
			similar_result(r, up, n, (int)i);
	for (size_t i = 0; i < n; i++)
		free(sh[i]);
	free(sh);
	free(nsh);
	free(size);
	free(up);
}

json_t *
checks_run(const struct ho_check_ctx *ctx, int *completeness, int *failed_errors)
{
	struct run r = {0};
	const json_t *citizen, *pd;
	const char *cpr, *name;

	r.ctx = ctx;
	r.t = ctx->tmpl;
	r.out = json_array();
	r.age = -1;
	if (r.out == NULL)
		fatalx("json_array");
	if (r.t == NULL)
		goto done;
	r.sections = json_object_get(ctx->note, "sections");
	citizen = json_object_get(ctx->note, "citizen");
	cpr = str(citizen, "cpr");
	name = str(citizen, "name");
	r.have_birth = checks_note_birthdate(ctx->note, r.birth) == 0;
	pd = json_object_get(ctx->note, "planned_date");
	if (json_is_string(pd) && clock_date_valid(json_string_value(pd), json_string_length(pd))) {
		memcpy(r.planned, json_string_value(pd), 11);
		r.have_planned = true;
	}
	if (r.have_birth && r.have_planned)
		r.age = checks_age_on(r.birth, r.planned);

	add(&r, r.t->citizen_id, true, "citizen", cpr && *cpr && checks_text_ok(name, 1),
	    "Udfyld borgerens CPR-nummer og navn.", "Borgerens CPR-nummer og navn er udfyldt.");
	add(&r, r.t->planned_id, true, "planned_date", r.have_planned,
	    "Udfyld den planlagte overdragelsesdato med en gyldig dato.",
	    "Den planlagte overdragelsesdato er udfyldt.");
	for (size_t i = 0; i < r.t->nsections; i++) {
		const struct ho_section *s = &r.t->sections[i];
		const json_t *v = json_object_get(r.sections, s->key);
		enum sstate st;

		if (!section_required(&r, s))
			continue;
		st = section_state(s, v);
		if (st == S_EMPTY) {
			char *m;
			if (xasprintf(&m, "Afsnittet »%s« er markeret som tomt: »%s«.", s->label,
			              str(v, "empty_reason")) < 0)
				fatalx("xasprintf");
			add(&r, s->required_id, true, s->key, true, m, m);
			free(m);
			continue;
		}
		add(&r, s->required_id, true, s->key, st == S_VALUE && section_filled(s, v),
		    s->required_message, s->required_message_passed);
	}
	for (size_t i = 0; i < r.t->nchecks; i++)
		run_check(&r, &r.t->checks[i]);
	check_similar(&r);
done:
	if (completeness)
		*completeness = r.listed ? (int)(100L * r.passed / r.listed) : 100;
	if (failed_errors)
		*failed_errors = r.failed_errors;
	return r.out;
}

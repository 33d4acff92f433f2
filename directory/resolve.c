/*
 * resolve.c: counterpart resolution (DESIGN.md "Finding the counterpart"):
 * the receiving unit by route or KLE number, its caseworkers ranked by the
 * allocation rules with deputies for the absent, a fallback, the
 * myndighedssnit, and a Danish reason for each. Pure: reads a snapshot and
 * the facts given; never stores or logs a CPR number.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "resolve.h"
#include "resolve_rules.h"

#define MAX_CANDIDATES 10

/* A growable string for reasons and messages. */
struct sb {
	char *s;
	size_t len, cap;
};

static void sb_printf(struct sb *, const char *, ...) PRINTFLIKE(2, 3);

/* What one person's rules say about the citizen. */
struct cand {
	int person;
	int pos; /* in the unit's member order (by display name) */
	int nmatched;
	long width; /* sum of matched widths, in 1/(31*29) */
	bool matched[NKINDS];
	const struct dir_alloc *rule[NKINDS]; /* narrowest matching rule */
	int group_idx;                        /* the matching target group, in the person's list */
	uint64_t rot;                         /* the rotation's turn (equal colleagues only) */
	int tie;                              /* its data in the resolution's ties, or -1 */
};

/* What settles a tie for one of the equal colleagues (from the caller). */
struct tie {
	int open;         /* open notes on their desk; -1 unknown */
	bool cont;        /* they received a note for this citizen before */
	char cont_at[32]; /* when, last (sortable) */
	int step;         /* tie_break: the step that decided their place; -1 none */
	bool away;        /* absent on the lookup's date */
};

/* The one answer (API.md "Counterparts: one answer"). */
struct answer {
	bool intake;            /* kind intake, else person */
	int person;             /* the person, the intake's lead, or DIR_NONE */
	const char *decided_by; /* static */
	char *why;              /* owned */
	size_t len;
};

/* A candidate as the answer shows it. */
struct shown {
	int person;     /* the person shown (a deputy, for the absent) */
	int acting_for; /* the absent one a deputy stands in for, or DIR_NONE */
	bool available;
	int step;     /* tie_break, or -1 */
	char *reason; /* owned */
	size_t len;
};

#define ADD_LIT(b, lit) evbuffer_add((b), (lit), sizeof(lit) - 1)

#define TIE_MAX 32 /* equal colleagues whose data is asked for */

struct dir_resolution {
	const struct dir_snapshot *s;
	int u;
	char date[11];
	enum resolve_step steps[3];
	size_t nsteps;
	bool intake, have_load, have_cont;
	struct cand *cs;
	size_t nc, sorted;
	size_t ngroup; /* cs[0..ngroup): equal by the rules, the best */
	size_t ntie;   /* cs[0..ntie) of them: with data, ordered by the steps */
	struct tie ties[TIE_MAX];
	int lead;            /* the intake's lead, or DIR_NONE */
	const char *mailbox; /* the intake's mailbox (the snapshot's), or NULL */
	struct shown shown[MAX_CANDIDATES];
	size_t nshown;
	struct answer answer;
	json_t *o; /* the answer but "candidates" and "answer" */
};

struct entry {
	const struct cand *c;
	int shown; /* the person the entry shows */
	bool available;
	int deputy; /* when the absent candidate's deputy stands in */
};

/* ---- strings ---- */

static void
sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* Printed once where it fits (a reason is a few hundred bytes: the
	 * first 256 hold most), twice only when the builder must grow. */
	if (b->cap == 0) {
		b->cap = 256;
		b->s = xmalloc(b->cap);
	}
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("resolve: vsnprintf");
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* A JSON string even from bytes that are not UTF-8 (those become '?'). */
static json_t *
jstr(const char *s)
{
	json_t *j;
	char *copy;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	copy = xstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j ? j : json_string("");
}

/* The builder's text as a JSON string; the builder is emptied. */
static json_t *
sb_json(struct sb *b)
{
	json_t *j = jstr(b->s ? b->s : "");
	free(b->s);
	memset(b, 0, sizeof(*b));
	return j;
}

static json_t *
str_or_null(const char *s)
{
	return s && *s ? jstr(s) : json_null();
}

/* ---- dates ---- */

static int
digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* "3. marts", with the year when it is not the year of date. */
static void
sb_day(struct sb *b, const char *ymd, const char *date)
{
	static const char *const months[] = {"januar",    "februar", "marts",    "april",
	                                     "maj",       "juni",    "juli",     "august",
	                                     "september", "oktober", "november", "december"};

	if (!clock_date_valid(ymd, strlen(ymd))) {
		sb_printf(b, "%s", ymd);
		return;
	}
	sb_printf(b, "%d. %s", digits(ymd + 8, 2), months[digits(ymd + 5, 2) - 1]);
	if (strncmp(ymd, date, 4) != 0)
		sb_printf(b, " %.4s", ymd);
}

bool
dir_resolve_absent_on(const struct dir_person *p, const char *date)
{
	return *p->absent_from && *date && strcmp(p->absent_from, date) <= 0 &&
	       (!*p->absent_until || strcmp(date, p->absent_until) < 0);
}

/* ---- KLE and the unit tree ---- */

/* A mark covers a number it equals or that it prefixes on a dot boundary. */
static bool
kle_covers(const char *mark, const char *kle)
{
	size_t n = strlen(mark);
	return n > 0 && strncmp(mark, kle, n) == 0 && (kle[n] == '\0' || kle[n] == '.');
}

static bool
kle_own(const struct dir_unit *u, int aspect, const char *kle)
{
	for (size_t i = 0; i < u->nkle[aspect]; i++)
		if (u->kle[aspect][i] && kle_covers(u->kle[aspect][i], kle))
			return true;
	return false;
}

/* Parent links are data from LDAP: every walk up stops after nunits steps. */
static int
unit_depth(const struct dir_snapshot *s, int u)
{
	int d = 0;
	for (size_t n = 0; s->units[u].parent != DIR_NONE && n < s->nunits; n++, d++)
		u = s->units[u].parent;
	return d;
}

static bool
unit_within(const struct dir_snapshot *s, int u, int root)
{
	for (size_t n = 0; u != DIR_NONE && n <= s->nunits; n++, u = s->units[u].parent)
		if (u == root)
			return true;
	return false;
}

/* The nearest strict ancestor with its own mark, or DIR_NONE. */
static int
kle_inherited(const struct dir_snapshot *s, int u, int aspect, const char *kle)
{
	u = s->units[u].parent;
	for (size_t n = 0; u != DIR_NONE && n < s->nunits; n++, u = s->units[u].parent)
		if (kle_own(&s->units[u], aspect, kle))
			return u;
	return DIR_NONE;
}

/*
 * The unit for a KLE number in the scope (root and its subtree, or every
 * unit): the deepest unit with its own mark of the aspect, else the root
 * when it inherits one. *from gets the unit the mark was inherited from, or
 * DIR_NONE.
 */
static int
kle_find(const struct dir_snapshot *s, int root, int aspect, const char *kle, int *from)
{
	int best = DIR_NONE, best_depth = -1;

	*from = DIR_NONE;
	for (size_t i = 0; i < s->nunits; i++) {
		int u = (int)i, d;
		if (!kle_own(&s->units[i], aspect, kle))
			continue;
		if (root != DIR_NONE && !unit_within(s, u, root))
			continue;
		d = unit_depth(s, u);
		if (d > best_depth ||
		    (d == best_depth && strcmp(s->units[i].code, s->units[best].code) < 0)) {
			best = u;
			best_depth = d;
		}
	}
	if (best != DIR_NONE || root == DIR_NONE)
		return best;
	if ((*from = kle_inherited(s, root, aspect, kle)) != DIR_NONE)
		return root;
	return DIR_NONE;
}

static json_t *
problem_422(const char *field, const char *code, const char *message)
{
	json_t *p = json_problem(422, NULL, message);
	json_problem_add_error(p, field, code, message);
	return p;
}

/*
 * The receiving unit and why; DIR_NONE with *problem set when there is none.
 * A warning may be added.
 */
static int
receiving_unit(const struct dir_snapshot *s, const struct resolve_route *r, const char *kle,
               struct sb *reason, json_t *warnings, json_t **problem)
{
	static const char *const verbs[] = {"er ansvarlig for", "udfører"};
	const char *code = r->code ? r->code : "";
	int to = DIR_NONE, u = DIR_NONE, from = DIR_NONE, aspect;
	struct sb m = {0};

	if (r->to_unit && (to = dir_lookup_unit(s, r->to_unit)) == DIR_NONE) {
		sb_printf(&m, "Ruten %s sender til enheden %s, som ikke findes i kataloget.", code,
		          r->to_unit);
		*problem = problem_422("route", "unit_missing", m.s);
		free(m.s);
		return DIR_NONE;
	}
	if (kle == NULL) {
		if (to == DIR_NONE) {
			sb_printf(&m, "Ruten %s finder modtageren ud fra et KLE-nummer; angiv kle.",
			          code);
			*problem = problem_422("kle", "required", m.s);
			free(m.s);
			return DIR_NONE;
		}
		sb_printf(reason, "Ruten %s sender til %s.", code, s->units[to].name);
		return to;
	}
	for (aspect = 0; aspect < 2; aspect++)
		if ((u = kle_find(s, to, aspect, kle, &from)) != DIR_NONE)
			break;
	if (u != DIR_NONE) {
		sb_printf(reason, "%s %s KLE %s", s->units[u].name, verbs[aspect], kle);
		if (from != DIR_NONE)
			sb_printf(reason, " (arvet fra %s)", s->units[from].name);
		sb_printf(reason, ".");
		return u;
	}
	if (to == DIR_NONE) {
		sb_printf(&m, "Ingen enhed er ansvarlig for eller udfører KLE %s.", kle);
		*problem = problem_422("kle", "no_unit", m.s);
		free(m.s);
		return DIR_NONE;
	}
	sb_printf(&m, "Ingen enhed under %s er markeret med KLE %s; ruten sender til %s.",
	          s->units[to].name, kle, s->units[to].name);
	json_array_append_new(warnings, sb_json(&m));
	sb_printf(reason, "Ruten %s sender til %s.", code, s->units[to].name);
	return to;
}

/* ---- allocation (the rules themselves: resolve_rules.c) ---- */

static bool
kind_allowed(const struct resolve_route *r, int kind)
{
	if (r->nallocation == 0)
		return true;
	for (size_t i = 0; i < r->nallocation; i++)
		if (r->allocation[i] && strcmp(r->allocation[i], dir_rules_kind_names[kind]) == 0)
			return true;
	return false;
}

/* The citizen's facts, reduced to what allocation compares. */
struct citizen {
	int day;                  /* 1..31, 0 unknown */
	int letter;               /* NO_LETTER unknown */
	const char *district;     /* folded; NULL unknown */
	const char *group;        /* folded; the citizen is in it; NULL unknown */
	const char *not_in_group; /* folded; the citizen is known not to be in it */
	unsigned allowed;         /* bit k: kind k counts on this route */
};

/* The citizen's names as the cache's numbers: -1 not given, -2 no one's. */
struct znums {
	int district, group, not_in_group;
};

/* One kind for one member: 1 matched, 0 undecided or no rule, -1 mismatch. */
static int
judge_kind(const struct cunit *cu, const struct cmember *m, int kind, const struct citizen *z,
           const struct znums *zn, struct cand *c)
{
	bool any = false;
	long best = -1;

	if (kind == K_TARGET_GROUP) {
		const int *g = cu->groups + m->group0;
		for (int i = 0; i < m->ngroups; i++) {
			if (zn->group != -1 && g[i] == zn->group) {
				c->group_idx = i;
				return 1;
			}
			if (zn->not_in_group != -1 && g[i] == zn->not_in_group)
				return -1;
		}
		return z->group ? -1 : 0;
	}
	for (int i = 0; i < m->nrules; i++) {
		const struct crule *r = &cu->rules[m->rule0 + i];
		bool hit;

		if (r->kind != kind)
			continue;
		if (kind == K_DISTRICT) {
			if (z->district == NULL)
				return 0;
			hit = r->district == zn->district;
		} else {
			int v = kind == K_BIRTHDAY ? z->day : z->letter;
			if (kind == K_BIRTHDAY ? v == 0 : v == NO_LETTER)
				return 0;
			hit = v >= r->lo && v <= r->hi;
		}
		any = true;
		if (hit && (best < 0 || r->width < best)) {
			best = r->width;
			c->rule[kind] = r->a;
		}
	}
	if (!any)
		return 0;
	if (best < 0)
		return -1;
	c->width += best;
	return 1;
}

/* Whether m is a candidate: at least one kind matched and none mismatched. */
static bool
judge(const struct cunit *cu, const struct cmember *m, const struct citizen *z,
      const struct znums *zn, struct cand *c)
{
	unsigned kinds = m->kinds & z->allowed;

	for (int k = 0; k < NKINDS; k++) {
		if (!(kinds & (1u << k)))
			continue;
		switch (judge_kind(cu, m, k, z, zn, c)) {
		case -1:
			return false;
		case 1:
			c->matched[k] = true;
			c->nmatched++;
			break;
		default:
			break;
		}
	}
	return c->nmatched > 0;
}

static int
cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->nmatched != y->nmatched)
		return y->nmatched - x->nmatched;
	if (x->width != y->width)
		return x->width < y->width ? -1 : 1;
	return x->pos - y->pos;
}

#define RANK_FIRST (4 * MAX_CANDIDATES)

static void
cand_swap(struct cand *a, struct cand *b)
{
	struct cand t = *a;
	*a = *b;
	*b = t;
}

/*
 * Moves the k best of cs[0..n) (by cand_cmp) to the front, in no order
 * (quickselect, median-of-three pivot): a lookup sorts tens of candidates
 * instead of the hundreds or thousands that match.
 */
static void
select_best(struct cand *cs, size_t n, size_t k, int (*cmp)(const void *, const void *))
{
	size_t lo = 0, hi = n;

	while (k > lo && k < hi && hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2, store = lo;
		if (cmp(&cs[mid], &cs[lo]) < 0)
			cand_swap(&cs[mid], &cs[lo]);
		if (cmp(&cs[hi - 1], &cs[lo]) < 0)
			cand_swap(&cs[hi - 1], &cs[lo]);
		if (cmp(&cs[hi - 1], &cs[mid]) < 0)
			cand_swap(&cs[hi - 1], &cs[mid]);
		cand_swap(&cs[mid], &cs[hi - 1]); /* the median as pivot, at the end */
		for (size_t i = lo; i < hi - 1; i++)
			if (cmp(&cs[i], &cs[hi - 1]) < 0)
				cand_swap(&cs[i], &cs[store++]);
		cand_swap(&cs[store], &cs[hi - 1]);
		if (store == k || store + 1 == k)
			return;
		if (store > k)
			hi = store;
		else
			lo = store + 1;
	}
}

/* "målgruppe ung-social og fødselsdag 11.–20." */
static void
sb_rules(struct sb *b, const struct dir_snapshot *s, const struct cand *c)
{
	int n = 0;

	for (int k = 0; k < NKINDS; k++) {
		const struct dir_alloc *a;
		int lo, hi;

		if (!c->matched[k])
			continue;
		a = c->rule[k]; /* never set for K_TARGET_GROUP: group_idx says */
		if (n > 0)
			sb_printf(b, "%s", n + 1 == c->nmatched ? " og " : ", ");
		n++;
		switch (k) {
		case K_TARGET_GROUP:
			sb_printf(b, "målgruppe %s",
			          s->persons[c->person].target_groups[c->group_idx]);
			break;
		case K_DISTRICT:
			sb_printf(b, "distrikt %s", a->from);
			break;
		case K_SURNAME:
			if (a->to)
				sb_printf(b, "efternavn %s–%s", a->from, a->to);
			else
				sb_printf(b, "efternavn %s", a->from);
			break;
		case K_BIRTHDAY:
			dir_rules_width(K_BIRTHDAY, a, &lo, &hi);
			if (hi != lo)
				sb_printf(b, "fødselsdag %d.–%d.", lo, hi);
			else
				sb_printf(b, "fødselsdag %d.", lo);
			break;
		}
	}
}

static void
sb_absence(struct sb *b, const struct dir_person *p, const char *date)
{
	if (*p->absent_until) {
		sb_printf(b, "%s er fraværende til ", p->display_name);
		sb_day(b, p->absent_until, date);
	} else {
		sb_printf(b, "%s er fraværende indtil videre", p->display_name);
	}
}

static json_t *
person_ref(const struct dir_snapshot *s, int i)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", jstr(s->persons[i].id));
	json_object_set_new(o, "display_name", jstr(s->persons[i].display_name));
	return o;
}

static bool
listed(const int *v, size_t n, int p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

/* By the rules alone: more kinds matched, then the narrower rules. */
static int
rules_cmp(const struct cand *x, const struct cand *y)
{
	if (x->nmatched != y->nmatched)
		return y->nmatched - x->nmatched;
	if (x->width != y->width)
		return x->width < y->width ? -1 : 1;
	return 0;
}

static int
rot_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->rot != y->rot)
		return x->rot < y->rot ? -1 : 1;
	return x->pos - y->pos;
}

/* splitmix64's finalizer: every bit of the input moves every bit. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * The rotation's seed: the citizen (their CPR number's key, else their
 * birth date) and the day. The same lookup on the same day gets the same
 * turn on every daemon; another citizen, or the next day, another.
 */
static uint64_t
rotation_seed(const struct resolve_facts *f)
{
	uint64_t h = f->citizen_seed ? f->citizen_seed : dir_rules_id_hash(f->birthdate);
	return mix64(h ^ mix64(dir_rules_id_hash(f->date)));
}

/* Keeps cs[i] among the TIE_MAX first by the turn (a max-heap of indices). */
static void
heap_keep(struct cand *cs, int heap[TIE_MAX], size_t *nh, int i)
{
	size_t c;

	if (*nh < TIE_MAX) {
		c = (*nh)++;
		heap[c] = i;
		while (c > 0 && rot_cmp(&cs[heap[(c - 1) / 2]], &cs[heap[c]]) < 0) {
			int x = heap[c];
			heap[c] = heap[(c - 1) / 2];
			heap[(c - 1) / 2] = x;
			c = (c - 1) / 2;
		}
		return;
	}
	if (rot_cmp(&cs[i], &cs[heap[0]]) >= 0)
		return;
	heap[0] = i;
	for (c = 0;;) {
		size_t l = 2 * c + 1, r = l + 1, m = c;
		int x;
		if (l < *nh && rot_cmp(&cs[heap[l]], &cs[heap[m]]) > 0)
			m = l;
		if (r < *nh && rot_cmp(&cs[heap[r]], &cs[heap[m]]) > 0)
			m = r;
		if (m == c)
			break;
		x = heap[c];
		heap[c] = heap[m];
		heap[m] = x;
		c = m;
	}
}

/*
 * Judges every member of the unit; the matching ones in cs: first those
 * equal to the best by the rules (*ngroup of them; when two or more, the
 * first TIE_MAX in the rotation's order), then the best RANK_FIRST of the
 * rest in rank order (*sorted: how many from the front are in order).
 * Returns their number.
 */
static size_t
judge_members(struct resolve_cache *rc, const struct cunit *cu, const struct citizen *z,
              uint64_t seed, struct cand *cs, size_t *sorted, size_t *ngroup)
{
	size_t nc = 0, g = 0, t = 0, k, best = 0, nh = 0;
	int heap[TIE_MAX]; /* the equal best's first TIE_MAX by the turn: a max-heap */
	struct znums zn = {
	    z->district ? dir_rules_name_number(rc, z->district, false) : -1,
	    z->group ? dir_rules_name_number(rc, z->group, false) : -1,
	    z->not_in_group ? dir_rules_name_number(rc, z->not_in_group, false) : -1,
	};

	/*
	 * Judged, and as they come the equal best counted and the first
	 * TIE_MAX of them in the turn's order kept in a heap of indices (a
	 * better one starts both again): one pass that moves no candidate
	 * (moving thousands of them, and a second pass, cost more than the
	 * rest of the lookup at 50,000 people).
	 */
	for (size_t i = 0; i < cu->n; i++) {
		const struct cmember *m = &cu->m[i];
		struct cand *c = &cs[nc]; /* judged in place: kept by counting it */
		int cmp;

		/* rule[k] and group_idx are read only where matched[k] is set;
		 * zeroed all the same, as a candidate is copied whole when sorted */
		*c = (struct cand){.person = m->person, .pos = m->pos, .rot = m->idhash, .tie = -1};
		if (!judge(cu, m, z, &zn, c))
			continue;
		cmp = nc > 0 ? rules_cmp(c, &cs[best]) : -1;
		if (cmp < 0) {
			best = nc;
			g = nh = 0;
		}
		nc++;
		if (cmp > 0)
			continue;
		g++;
		c->rot ^= seed; /* the seed is mixed; the id's FNV hash spreads enough */
		heap_keep(cs, heap, &nh, (int)(nc - 1));
	}
	*ngroup = g;
	if (g >= 2) {
		/* The chosen to the front: each one outside it swaps with one
		 * not chosen inside it; then in the turn's order. */
		size_t hole = 0;
		t = nh;
		for (size_t h = 0; h < nh; h++)
			cs[heap[h]].tie = -2;
		for (size_t h = 0; h < nh; h++) {
			if ((size_t)heap[h] < t)
				continue;
			while (cs[hole].tie == -2)
				hole++;
			cand_swap(&cs[hole], &cs[heap[h]]);
		}
		for (size_t i = 0; i < t; i++)
			cs[i].tie = -1;
		qsort(cs, t, sizeof(*cs), rot_cmp);
	}
	/* Rank order is needed only as far as the walk goes: the best few
	 * first, the rest sorted only if the walk gets there. */
	k = nc - t < RANK_FIRST ? nc - t : RANK_FIRST;
	select_best(cs + t, nc - t, k, cand_cmp);
	qsort(cs + t, k, sizeof(*cs), cand_cmp);
	*sorted = t + k;
	return nc;
}

/*
 * Walks the candidates in rank order into entries: a deputy stands in for
 * the absent, once; stops when MAX_CANDIDATES are available. Returns the
 * number of entries.
 */
static size_t
walk_entries(const struct dir_snapshot *s, const char *date, struct cand *cs, size_t nc,
             size_t sorted, struct entry *es, int *shown)
{
	size_t ne = 0, nshown = 0, navail = 0;

	for (size_t i = 0; i < nc && navail < MAX_CANDIDATES; i++) {
		const struct dir_person *p;
		struct entry *e;
		int d;

		if (i == sorted) {
			qsort(cs + i, nc - i, sizeof(*cs), cand_cmp);
			sorted = nc;
		}
		p = &s->persons[cs[i].person];
		d = p->deputy;

		if (listed(shown, nshown, cs[i].person))
			continue; /* already standing in for someone ranked higher */
		e = &es[ne++];
		e->c = &cs[i];
		e->shown = cs[i].person;
		e->available = true;
		e->deputy = DIR_NONE;
		if (dir_resolve_absent_on(p, date)) {
			if (d < 0 || (size_t)d >= s->npersons || d == cs[i].person ||
			    dir_resolve_absent_on(&s->persons[d], date) ||
			    listed(shown, nshown, d)) {
				e->available = false;
			} else {
				e->deputy = d;
				e->shown = d;
			}
		}
		shown[nshown++] = e->shown;
		navail += e->available;
	}
	return ne;
}

/* ---- settling a tie (API.md "Counterparts: one answer") ---- */

static const char *const step_names[] = {"continuity", "load", "rotation"};

static const struct tie *
tie_of(const struct dir_resolution *res, const struct cand *c)
{
	return c->tie >= 0 ? &res->ties[c->tie] : NULL;
}

/*
 * Orders two equal colleagues by the route's steps; *step gets the step
 * that told them apart. A step without data for both is passed over.
 */
static int
step_cmp(const struct dir_resolution *res, const struct cand *a, const struct cand *b, int *step)
{
	const struct tie *x = tie_of(res, a), *y = tie_of(res, b);

	for (size_t i = 0; i < res->nsteps; i++) {
		int c = 0;
		switch (res->steps[i]) {
		case STEP_CONTINUITY:
			if (!res->have_cont || !x || !y)
				continue;
			if (x->cont != y->cont)
				c = x->cont ? -1 : 1;
			else if (x->cont)
				c = -strcmp(x->cont_at, y->cont_at);
			break;
		case STEP_LOAD:
			if (!res->have_load || !x || !y || x->open < 0 || y->open < 0)
				continue;
			/* Load and rotation choose among those present: an absent
			 * colleague's desk does not fill, and their deputy would
			 * take every case. Continuity alone may choose the absent. */
			if (x->away != y->away)
				c = x->away ? 1 : -1;
			else
				c = x->open < y->open ? -1 : x->open > y->open;
			break;
		case STEP_ROTATION:
			if (x && y && x->away != y->away)
				c = x->away ? 1 : -1;
			else
				c = a->rot < b->rot ? -1 : a->rot > b->rot;
			break;
		}
		if (c) {
			*step = (int)res->steps[i];
			return c;
		}
	}
	*step = STEP_ROTATION;
	return a->pos - b->pos;
}

/*
 * The equal colleagues with data in the steps' order (at most TIE_MAX:
 * insertion sort), and each one's tie_break: the step that told it from
 * the next (the last: from the one before; those past TIE_MAX stand later
 * in the rotation).
 */
static void
settle(struct dir_resolution *res)
{
	struct cand *cs = res->cs;
	int step;

	for (size_t i = 1; i < res->ntie; i++) {
		struct cand c = cs[i];
		size_t j = i;
		while (j > 0 && step_cmp(res, &c, &cs[j - 1], &step) < 0) {
			cs[j] = cs[j - 1];
			j--;
		}
		cs[j] = c;
	}
	for (size_t i = 0; i < res->ntie; i++) {
		struct tie *t = &res->ties[cs[i].tie];
		if (res->ngroup < 2)
			t->step = -1;
		else if (i + 1 < res->ntie)
			step_cmp(res, &cs[i], &cs[i + 1], &t->step);
		else if (res->ntie < res->ngroup)
			t->step = STEP_ROTATION;
		else
			step_cmp(res, &cs[i - 1], &cs[i], &t->step);
	}
}

/* The day of an earlier receipt ("6. marts"). */
static void
sb_cont_day(struct sb *b, const struct tie *t, const char *date)
{
	char day[11];
	memcpy(day, t->cont_at, 10);
	day[10] = '\0';
	sb_day(b, day, date);
}

static const char *
pname(const struct dir_resolution *res, const struct cand *c)
{
	return res->s->persons[c->person].display_name;
}

/* Between a present and an absent colleague: the present one first. */
static void
sb_away(struct sb *b, const struct dir_resolution *res, const struct cand *c, const struct cand *o,
        bool c_away)
{
	if (c_away)
		sb_printf(b, "%s er fraværende, så %s går foran.", pname(res, c), pname(res, o));
	else
		sb_printf(b, "%s går foran %s, som er fraværende.", pname(res, c), pname(res, o));
}

/*
 * What tells equal colleague gi from the next (the last: from the one
 * before), in Danish, appended to b; returns the step (tie_break).
 */
static int
sb_tie(struct sb *b, const struct dir_resolution *res, size_t gi)
{
	const struct cand *c = &res->cs[gi], *o;
	const struct tie *x = tie_of(res, c), *y;
	bool last = gi + 1 >= res->ngroup;
	int step = x ? x->step : STEP_ROTATION;

	if (x == NULL) { /* past TIE_MAX: no data, later in the turn */
		sb_printf(b, "%s står senere i dagens tur blandt %zu ligestillede kolleger.",
		          pname(res, c), res->ngroup);
		return STEP_ROTATION;
	}
	o = last ? &res->cs[gi - 1] : &res->cs[gi + 1];
	y = tie_of(res, o);
	switch (step) {
	case STEP_CONTINUITY:
		if (!last && x->cont && y && y->cont) {
			sb_printf(b, "%s modtog senest en overdragelse om borgeren (",
			          pname(res, c));
			sb_cont_day(b, x, res->date);
			sb_printf(b, "); %s før det.", pname(res, o));
		} else if (!last) {
			sb_printf(b, "%s har før modtaget en overdragelse om borgeren (",
			          pname(res, c));
			sb_cont_day(b, x, res->date);
			sb_printf(b, ").");
		} else if (x->cont) {
			sb_printf(b, "%s modtog en overdragelse om borgeren før %s gjorde.",
			          pname(res, o), pname(res, c));
		} else {
			sb_printf(b, "%s har ikke før modtaget en overdragelse om borgeren.",
			          pname(res, c));
		}
		break;
	case STEP_LOAD:
		if (y && x->away != y->away) {
			sb_away(b, res, c, o, x->away);
			break;
		}
		if (gi == 0)
			sb_printf(b, "%s har færrest åbne overdragelser (%d).", pname(res, c),
			          x->open);
		else if (!last && y)
			sb_printf(b, "%s har færre åbne overdragelser (%d) end %s (%d).",
			          pname(res, c), x->open, pname(res, o), y->open);
		else if (y)
			sb_printf(b, "%s har flere åbne overdragelser (%d) end %s (%d).",
			          pname(res, c), x->open, pname(res, o), y->open);
		break;
	default:
		if (y && x->away != y->away) {
			sb_away(b, res, c, o, x->away);
			break;
		}
		if (res->have_load && x->open >= 0 && y && y->open == x->open)
			sb_printf(b, "%s og %s har lige mange åbne overdragelser (%d); ",
			          pname(res, c), pname(res, o), x->open);
		if (last)
			sb_printf(b, "%s står efter %s i dagens tur.", pname(res, c),
			          pname(res, o));
		else
			sb_printf(b, "%s står før %s i dagens tur.", pname(res, c), pname(res, o));
		break;
	}
	return step;
}

/* One shown entry as the answer's candidate, with its Danish reason. */
static void
entry_fill(const struct dir_resolution *res, const struct entry *e, struct shown *out)
{
	const struct dir_snapshot *s = res->s;
	const struct dir_unit *unit = &s->units[res->u];
	const char *date = res->date;
	const struct dir_person *p = &s->persons[e->c->person];
	size_t gi = (size_t)(e->c - res->cs);
	int d = p->deputy, step = -1;
	struct sb b = {0};

	sb_printf(&b, "%s fordeler efter ", unit->name);
	sb_rules(&b, s, e->c);
	sb_printf(&b, " → %s.", p->display_name);
	if (res->ngroup >= 2 && gi < res->ngroup) {
		sb_printf(&b, " ");
		step = sb_tie(&b, res, gi);
	}
	if (dir_resolve_absent_on(p, date)) {
		sb_printf(&b, " ");
		sb_absence(&b, p, date);
		if (d < 0 || (size_t)d >= s->npersons || d == e->c->person)
			sb_printf(&b, " og har ingen stedfortræder.");
		else if (dir_resolve_absent_on(&s->persons[d], date))
			sb_printf(&b, ", og stedfortræderen %s er også fraværende.",
			          s->persons[d].display_name);
		else if (e->deputy == DIR_NONE)
			sb_printf(&b, "; stedfortræderen %s står allerede højere på listen.",
			          s->persons[d].display_name);
		else
			sb_printf(&b, "; stedfortræderen er %s.", s->persons[d].display_name);
	}
	out->person = e->shown;
	out->acting_for = e->deputy != DIR_NONE ? e->c->person : DIR_NONE;
	out->available = e->available;
	out->step = step;
	out->reason = b.s;
	out->len = b.len;
}

static json_t *
shown_json(const struct dir_resolution *res, const struct shown *c, size_t rank)
{
	json_t *o = json_object();

	json_object_set_new(o, "rank", json_integer((json_int_t)rank));
	json_object_set_new(o, "reason", jstr(c->reason ? c->reason : ""));
	json_object_set_new(o, "tie_break",
	                    c->step >= 0 ? json_string(step_names[c->step]) : json_null());
	json_object_set_new(o, "available", json_boolean(c->available));
	json_object_set_new(o, "acting_for",
	                    c->acting_for != DIR_NONE ? person_ref(res->s, c->acting_for)
	                                              : json_null());
	return o;
}

/*
 * A JSON string written straight to b: the reasons are most of an
 * answer's text, and jansson's dump reads them a code point at a time
 * (the answer with its tie-break took a third more time so). Text that
 * is not UTF-8 goes through jstr's repair.
 */
static void
ev_json_str(struct evbuffer *b, const char *s, size_t n)
{
	const char *run = s, *p;

	if (!utf8_valid(s, n)) {
		json_t *j = jstr(s);
		char *t = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
		if (t == NULL)
			fatalx("resolve: json_dumps");
		evbuffer_add(b, t, strlen(t));
		free(t);
		json_decref(j);
		return;
	}
	ADD_LIT(b, "\"");
	for (p = s; p < s + n; p++) {
		unsigned char c = (unsigned char)*p;
		if (c != '"' && c != '\\' && c >= 0x20)
			continue;
		evbuffer_add(b, run, (size_t)(p - run));
		if (c == '"' || c == '\\')
			evbuffer_add_printf(b, "\\%c", c);
		else
			evbuffer_add_printf(b, "\\u%04x", c);
		run = p + 1;
	}
	evbuffer_add(b, run, (size_t)(p - run));
	ADD_LIT(b, "\"");
}

static void ref_write(struct evbuffer *, const struct dir_snapshot *, int);

/* A candidate but its "person" (written before it), as shown_json has it. */
static void
shown_write(struct evbuffer *b, const struct dir_resolution *res, const struct shown *c,
            size_t rank)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%zu", rank);

	ADD_LIT(b, ",\"rank\":");
	evbuffer_add(b, num, (size_t)n);
	ADD_LIT(b, ",\"reason\":");
	ev_json_str(b, c->reason ? c->reason : "", c->reason ? c->len : 0);
	ADD_LIT(b, ",\"tie_break\":");
	if (c->step >= 0) {
		ADD_LIT(b, "\"");
		evbuffer_add(b, step_names[c->step], strlen(step_names[c->step]));
		ADD_LIT(b, "\"");
	} else {
		ADD_LIT(b, "null");
	}
	if (c->available)
		ADD_LIT(b, ",\"available\":true,\"acting_for\":");
	else
		ADD_LIT(b, ",\"available\":false,\"acting_for\":");
	ref_write(b, res->s, c->acting_for);
}

/* Hints for facts the unit's rules need but the request lacks. */
static void
missing_facts(const struct dir_snapshot *s, const struct resolve_facts *f, int u,
              const struct citizen *z, json_t *warnings)
{
	unsigned uses = dir_rules_of(s)->units[u].uses & z->allowed;
	const char *name = s->units[u].name;
	struct sb b = {0};

	if ((uses & (1u << K_BIRTHDAY)) && z->day == 0) {
		sb_printf(&b,
		          "Fødselsdato mangler: %s fordeler efter fødselsdag; angiv fødselsdato "
		          "eller CPR-nummer.",
		          name);
		json_array_append_new(warnings, sb_json(&b));
	}
	if ((uses & (1u << K_SURNAME)) && z->letter == NO_LETTER) {
		if (f->surname && *f->surname)
			sb_printf(&b,
			          "Efternavnet begynder ikke med et bogstav fra A til Å, men %s "
			          "fordeler efter efternavn.",
			          name);
		else
			sb_printf(
			    &b, "Efternavn mangler: %s fordeler efter efternavn; angiv efternavn.",
			    name);
		json_array_append_new(warnings, sb_json(&b));
	}
	if ((uses & (1u << K_DISTRICT)) && z->district == NULL) {
		sb_printf(&b, "Distrikt mangler: %s fordeler efter distrikt; angiv distrikt.",
		          name);
		json_array_append_new(warnings, sb_json(&b));
	}
}

/* ---- fallback ---- */

/* The unit's intake: the nearest functional mailbox and the nearest lead
 * up the tree (never the caller). */
static void
intake_of(const struct dir_snapshot *s, int caller, int u, const char **mailbox, int *lead,
          int *lead_unit)
{
	size_t n = 0;

	*mailbox = NULL;
	*lead = *lead_unit = DIR_NONE;
	for (int v = u; v != DIR_NONE && n <= s->nunits; v = s->units[v].parent, n++) {
		const struct dir_unit *w = &s->units[v];
		if (*mailbox == NULL && w->mailbox && *w->mailbox)
			*mailbox = w->mailbox;
		if (*lead == DIR_NONE && w->lead >= 0 && (size_t)w->lead < s->npersons &&
		    w->lead != caller) {
			*lead = w->lead;
			*lead_unit = v;
		}
	}
}

static json_t *
fallback(const struct dir_snapshot *s, const struct resolve_facts *f, int u, bool none)
{
	const char *mailbox;
	int lead, lead_unit;
	json_t *o = json_object(), *l = json_null();
	struct sb b = {0};

	intake_of(s, f->caller, u, &mailbox, &lead, &lead_unit);
	if (lead != DIR_NONE) {
		const struct dir_person *p = &s->persons[lead];
		l = person_ref(s, lead);
		json_object_set_new(l, "email", str_or_null(p->email));
		json_object_set_new(l, "phone", str_or_null(p->phone));
	}
	json_object_set_new(o, "mailbox", str_or_null(mailbox));
	json_object_set_new(o, "lead", l);

	sb_printf(&b, "%s",
	          none ? "Ingen sagsbehandler matcher fordelingsreglerne; "
	               : "Hvis ingen af kandidaterne kan tage sagen: ");
	if (mailbox)
		sb_printf(&b, "skriv til %s", mailbox);
	if (mailbox && lead != DIR_NONE)
		sb_printf(&b, " eller ");
	if (lead != DIR_NONE) {
		sb_printf(&b, "kontakt lederen %s", s->persons[lead].display_name);
		if (lead_unit != u)
			sb_printf(&b, " (leder for %s)", s->units[lead_unit].name);
	}
	if (!mailbox && lead == DIR_NONE)
		sb_printf(&b, "%s har hverken en postkasse eller en leder i kataloget",
		          s->units[u].name);
	sb_printf(&b, ".");
	json_object_set_new(o, "reason", sb_json(&b));
	return o;
}

/* ---- the myndighedssnit ---- */

static json_t *
myndighedssnit(const struct dir_snapshot *s, const struct resolve_route *r,
               const struct resolve_facts *f, int u, json_t *warnings)
{
	/* indexed by enum resolve_employment */
	static const char *const says[] = {
	    NULL,
	    "er i job",
	    "er under uddannelse",
	    "har en beskæftigelsessag",
	    "har en uddannelsessag",
	    "er under afklaring til førtidspension",
	    "har fået tilkendt førtidspension",
	    "har fået tilkendt folkepension",
	};
	static const char *const status[] = {
	    NULL,
	    "i job",
	    "under uddannelse",
	    "beskæftigelsessag",
	    "uddannelsessag",
	    "under afklaring til førtidspension",
	    "tilkendt førtidspension",
	    "tilkendt folkepension",
	};
	const char *code = r->code ? r->code : "";
	const char *dept, *why, *have = s->units[u].department;
	struct sb b = {0};
	json_t *o;

	if (r->labour_market_department == NULL || r->pension_department == NULL)
		return json_null();
	if ((int)f->employment <= (int)EMP_UNKNOWN ||
	    (int)f->employment > (int)EMP_OLD_AGE_PENSION) {
		sb_printf(&b,
		          "Angiv borgerens beskæftigelsesstatus: ruten %s følger "
		          "myndighedssnittet.",
		          code);
		json_array_append_new(warnings, sb_json(&b));
		return json_null();
	}
	if (f->employment == EMP_DISABILITY_PENSION || f->employment == EMP_OLD_AGE_PENSION) {
		dept = r->pension_department;
		why = "tilkendt pension";
	} else {
		dept = r->labour_market_department;
		why = "tilknytning til arbejdsmarkedet";
	}
	o = json_object();
	json_object_set_new(o, "department", jstr(dept));
	sb_printf(&b, "Borgeren %s og hører til %s efter myndighedssnittet (%s).",
	          says[f->employment], dept, why);
	json_object_set_new(o, "reason", sb_json(&b));
	if (have == NULL || strcmp(have, dept) != 0) {
		sb_printf(&b,
		          "Efter myndighedssnittet hører borgeren til %s (%s), men ruten %s "
		          "sender til %s. Overvej den modsatte rute.",
		          dept, status[f->employment], code, have ? have : s->units[u].name);
		json_array_append_new(warnings, sb_json(&b));
	}
	return o;
}

/* ---- plausibility ---- */

/* Whole years from born to date (both YYYY-MM-DD); -1 unknown. */
static int
age_on(const char *born, const char *date)
{
	int y;

	if (!clock_date_valid(born, strlen(born)) || !clock_date_valid(date, strlen(date)))
		return -1;
	y = digits(date, 4) - digits(born, 4);
	if (strcmp(date + 5, born + 5) < 0)
		y--;
	return y < 0 ? -1 : y;
}

/*
 * "citizen" {birthdate, age_on_date} and "plausibility" {ok, route_ages,
 * message}: the age on the lookup's date against the route's window, the
 * message naming the units, not their codes.
 */
static void
plausibility(json_t *o, const struct dir_snapshot *s, const struct resolve_route *r,
             const struct resolve_facts *f, int u, bool known)
{
	static const char *const months[] = {"januar",    "februar", "marts",    "april",
	                                     "maj",       "juni",    "juli",     "august",
	                                     "september", "oktober", "november", "december"};
	int age = known ? age_on(f->birthdate, f->date) : -1, from;
	bool ok = age < 0 || !r->has_ages || (age >= r->age_min && age <= r->age_max);
	json_t *p = json_object();
	struct sb b = {0};

	json_object_set_new(o, "citizen",
	                    json_pack("{s:o, s:o}", "birthdate",
	                              str_or_null(known ? f->birthdate : NULL), "age_on_date",
	                              age >= 0 ? json_integer(age) : json_null()));
	json_object_set_new(p, "ok", json_boolean(ok));
	json_object_set_new(p, "route_ages",
	                    r->has_ages ? json_pack("[i, i]", r->age_min, r->age_max)
	                                : json_null());
	if (!ok) {
		from = r->from_unit ? dir_lookup_unit(s, r->from_unit) : DIR_NONE;
		sb_printf(&b, "Borgeren er %d år den %d. %s %.4s; ruten ", age,
		          digits(f->date + 8, 2), months[digits(f->date + 5, 2) - 1], f->date);
		if (from != DIR_NONE)
			sb_printf(&b, "fra %s ", s->units[from].name);
		sb_printf(&b, "til %s er for %s på %d–%d år. Er %s rigtig%s?", s->units[u].name,
		          r->age_max <= 25 ? "unge" : "borgere", r->age_min, r->age_max,
		          f->from_cpr ? "CPR-nummeret" : "fødselsdatoen", f->from_cpr ? "t" : "");
		json_object_set_new(p, "message", sb_json(&b));
	} else {
		json_object_set_new(p, "message", json_null());
	}
	json_object_set_new(o, "plausibility", p);
}

/* ---- the answer ---- */

/* The route's steps, in force: its list, rotation last. */
static void
steps_of(struct dir_resolution *res, const struct resolve_route *r)
{
	bool rot = false;

	res->nsteps = 0;
	for (size_t i = 0; i < r->ntie_break && i < 3; i++) {
		if ((int)r->tie_break[i] < 0 || (int)r->tie_break[i] > STEP_ROTATION)
			continue;
		res->steps[res->nsteps++] = r->tie_break[i];
		rot = rot || r->tie_break[i] == STEP_ROTATION;
	}
	if (r->ntie_break == 0) {
		res->steps[0] = STEP_CONTINUITY;
		res->steps[1] = STEP_LOAD;
		res->nsteps = 2;
	}
	if (!rot && res->nsteps < 3)
		res->steps[res->nsteps++] = STEP_ROTATION;
}

struct dir_resolution *
dir_resolution_begin(const struct dir_snapshot *s, const struct resolve_route *r,
                     const struct resolve_facts *f, json_t **problem)
{
	const char *kle = f->kle ? f->kle : r->kle;
	struct citizen z = {0, NO_LETTER, NULL, NULL, NULL, 0};
	char *fdistrict = NULL, *fgroup = NULL;
	json_t *warnings = json_array(), *ru, *o, *snit;
	struct sb reason = {0};
	struct dir_resolution *res;
	struct resolve_cache *rc;
	const struct cunit *cu;
	int u;

	*problem = NULL;
	if (kle && *kle == '\0')
		kle = NULL;
	if ((u = receiving_unit(s, r, kle, &reason, warnings, problem)) == DIR_NONE) {
		free(reason.s);
		json_decref(warnings);
		return NULL;
	}
	res = xcalloc(1, sizeof(*res));
	res->s = s;
	res->u = u;
	memcpy(res->date, f->date, sizeof(res->date));
	res->intake = r->intake;
	steps_of(res, r);

	ru = dir_render_unit(s, u, false);
	{
		json_t *children = json_array(); /* codes, as GET /units/{code} has them */
		for (size_t c = 0; c < s->units[u].nchildren; c++)
			json_array_append_new(children,
			                      json_string(s->units[s->units[u].children[c]].code));
		json_object_set_new(ru, "children", children);
	}
	json_object_set_new(ru, "reason", sb_json(&reason));
	snit = myndighedssnit(s, r, f, u, warnings);

	if (clock_date_valid(f->birthdate, strlen(f->birthdate)))
		z.day = digits(f->birthdate + 8, 2);
	if (f->surname && *f->surname)
		z.letter = dir_rules_letter(f->surname);
	if (f->district && *f->district)
		z.district = fdistrict = dir_rules_folded(f->district);
	if (f->target_group && *f->target_group)
		z.group = fgroup = dir_rules_folded(f->target_group);
	else if (r->placed_target_group && f->placed == 1)
		z.group = fgroup = dir_rules_folded(r->placed_target_group);
	else if (r->placed_target_group && f->placed == 0)
		z.not_in_group = fgroup = dir_rules_folded(r->placed_target_group);
	for (int k = 0; k < NKINDS; k++)
		if (kind_allowed(r, k))
			z.allowed |= 1u << k;
	/* A folded fact that is empty ("" or only marks) matches nothing. */
	if (z.district && *z.district == '\0')
		z.district = NULL;
	if (z.group && *z.group == '\0')
		z.group = NULL;
	if (z.not_in_group && *z.not_in_group == '\0')
		z.not_in_group = NULL;

	rc = dir_rules_of(s);
	cu = &rc->units[u];
	res->cs = xmalloc((cu->n ? cu->n : 1) * sizeof(*res->cs));
	res->nc = judge_members(rc, cu, &z, rotation_seed(f), res->cs, &res->sorted, &res->ngroup);
	/* The equal ones whose data would settle the tie; on an intake route
	 * the one best match too (continuity may keep the case from intake). */
	if (res->ngroup >= 2 || (res->intake && res->ngroup == 1))
		res->ntie = res->ngroup < TIE_MAX ? res->ngroup : TIE_MAX;
	for (size_t i = 0; i < res->ntie; i++) {
		res->cs[i].tie = (int)i;
		res->ties[i].open = -1;
		res->ties[i].step = -1;
		res->ties[i].away = dir_resolve_absent_on(&s->persons[res->cs[i].person], f->date);
	}
	missing_facts(s, f, u, &z, warnings);
	free(fdistrict);
	free(fgroup);

	o = json_object();
	json_object_set_new(o, "route", jstr(r->code));
	json_object_set_new(o, "date", str_or_null(f->date));
	plausibility(o, s, r, f, u, z.day != 0);
	json_object_set_new(o, "receiving_unit", ru);
	json_object_set_new(o, "fallback", fallback(s, f, u, res->nc == 0));
	json_object_set_new(o, "myndighedssnit", snit);
	json_object_set_new(o, "warnings", warnings);
	res->o = o;
	{
		/* the intake's mailbox and lead, for the answer */
		const char *mailbox;
		int lead, lead_unit;
		intake_of(s, f->caller, u, &mailbox, &lead, &lead_unit);
		res->lead = lead;
		res->mailbox = mailbox;
	}
	return res;
}

size_t
dir_resolution_wants(const struct dir_resolution *res, const char **ids, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < res->ntie && n < max; i++)
		ids[n++] = res->s->persons[res->cs[i].person].id;
	return n;
}

bool
dir_resolution_uses(const struct dir_resolution *res, enum resolve_step step)
{
	for (size_t i = 0; i < res->nsteps; i++)
		if (res->steps[i] == step)
			return true;
	return false;
}

void
dir_resolution_warn(struct dir_resolution *res, const char *text)
{
	json_array_append_new(json_object_get(res->o, "warnings"), jstr(text));
}

void
dir_resolution_data(struct dir_resolution *res, bool load, bool continuity)
{
	res->have_load = load;
	res->have_cont = continuity;
}

void
dir_resolution_set(struct dir_resolution *res, const char *id, int open, const char *received)
{
	dir_resolution_set_nth(res, SIZE_MAX, id, open, received);
}

void
dir_resolution_set_nth(struct dir_resolution *res, size_t nth, const char *id, int open,
                       const char *received)
{
	if (id == NULL)
		return;
	for (size_t j = 0; j <= res->ntie; j++) {
		/* the nth wanted first (the caller's order is ours), then all */
		size_t i = j == 0 ? nth : j - 1;
		if (i >= res->ntie)
			continue;
		struct tie *t = &res->ties[res->cs[i].tie];
		if (strcmp(res->s->persons[res->cs[i].person].id, id) != 0)
			continue;
		t->open = open;
		t->cont = received && strlen(received) >= 10 && clock_date_valid(received, 10);
		if (t->cont)
			snprintf(t->cont_at, sizeof(t->cont_at), "%s", received);
		return;
	}
}

/* "Henrik Iversen tager sagen: ..." for the answer */
static void
sb_why(struct sb *b, const struct dir_resolution *res, const struct entry *e, const char *by)
{
	const struct dir_snapshot *s = res->s;
	const struct dir_unit *unit = &s->units[res->u];
	const struct dir_person *p = &s->persons[e->c->person];
	size_t gi = (size_t)(e->c - res->cs);

	if (e->deputy != DIR_NONE) {
		sb_printf(b,
		          "%s tager sagen som stedfortræder: ", s->persons[e->deputy].display_name);
		sb_absence(b, p, res->date);
		sb_printf(b, ". ");
	} else {
		sb_printf(b, "%s tager sagen: ", p->display_name);
	}
	if (strcmp(by, "continuity") == 0 && res->ngroup < 2) {
		sb_printf(b, "%s tager nye sager ind gennem visitationen, men ", unit->name);
		sb_printf(b, "%s har før modtaget en overdragelse om borgeren (", p->display_name);
		sb_cont_day(b, tie_of(res, e->c), res->date);
		sb_printf(b, ").");
	} else if (res->ngroup >= 2 && gi < res->ngroup) {
		sb_printf(b, "%zu kolleger i %s passer lige godt på fordelingen (", res->ngroup,
		          unit->name);
		sb_rules(b, s, e->c);
		sb_printf(b, "). ");
		sb_tie(b, res, gi);
	} else {
		sb_printf(b, "%s fordeler efter ", unit->name);
		sb_rules(b, s, e->c);
		sb_printf(b, " → %s.", p->display_name);
	}
}

/* The answer: the first available entry, or the unit's intake. */
static void
answer_fill(struct dir_resolution *res, const struct entry *es, size_t ne)
{
	const struct dir_snapshot *s = res->s;
	const struct dir_unit *unit = &s->units[res->u];
	const struct entry *e = NULL;
	const struct tie *t;
	const char *by;
	struct sb b = {0};
	struct answer *o = &res->answer;
	bool cont;

	for (size_t i = 0; i < ne && e == NULL; i++)
		if (es[i].available)
			e = &es[i];
	t = e ? tie_of(res, e->c) : NULL;
	cont = t && res->have_cont && t->cont && (size_t)(e->c - res->cs) == 0;
	if (e == NULL || (res->intake && !cont)) {
		o->intake = true;
		o->person = res->lead;
		o->decided_by = "intake";
		if (e == NULL)
			sb_printf(&b,
			          "Ingen i %s er til rådighed efter fordelingsreglerne, så sagen "
			          "går til visitationen: ",
			          unit->name);
		else
			sb_printf(&b, "%s tager nye sager ind gennem visitationen: ", unit->name);
		if (res->mailbox)
			sb_printf(&b, "skriv til %s", res->mailbox);
		if (res->mailbox && res->lead != DIR_NONE)
			sb_printf(&b, "; ");
		if (res->lead != DIR_NONE)
			sb_printf(&b, "lederen %s fordeler sagen",
			          s->persons[res->lead].display_name);
		if (!res->mailbox && res->lead == DIR_NONE)
			sb_printf(&b, "%s har hverken en postkasse eller en leder i kataloget",
			          unit->name);
		sb_printf(&b, ".");
		o->why = b.s;
		o->len = b.len;
		return;
	}
	if (e->deputy != DIR_NONE)
		by = "deputy";
	else if (res->intake)
		by = "continuity";
	else if (res->ngroup >= 2 && (size_t)(e->c - res->cs) < res->ngroup)
		by = step_names[t ? (t->step >= 0 ? t->step : STEP_ROTATION) : STEP_ROTATION];
	else
		by = "rule";
	o->intake = false;
	o->person = e->shown;
	o->decided_by = by;
	sb_why(&b, res, e, by);
	o->why = b.s;
	o->len = b.len;
}

static json_t *
answer_json(const struct dir_resolution *res)
{
	const struct answer *a = &res->answer;

	return json_pack("{s:s, s:o, s:o, s:s, s:o}", "kind", a->intake ? "intake" : "person",
	                 "person",
	                 a->person != DIR_NONE ? person_ref(res->s, a->person) : json_null(),
	                 "unit", jstr(res->s->units[res->u].code), "decided_by", a->decided_by,
	                 "why", jstr(a->why ? a->why : ""));
}

/* A person's {id, display_name}, or null. */
static void
ref_write(struct evbuffer *b, const struct dir_snapshot *s, int i)
{
	if (i == DIR_NONE) {
		ADD_LIT(b, "null");
		return;
	}
	ADD_LIT(b, "{\"id\":");
	ev_json_str(b, s->persons[i].id, strlen(s->persons[i].id));
	ADD_LIT(b, ",\"display_name\":");
	ev_json_str(b, s->persons[i].display_name, strlen(s->persons[i].display_name));
	ADD_LIT(b, "}");
}

/* "answer":{...}, as answer_json has it. */
static void
answer_write(struct evbuffer *b, const struct dir_resolution *res)
{
	const struct answer *a = &res->answer;
	const char *code = res->s->units[res->u].code;

	ADD_LIT(b, "\"answer\":{\"kind\":\"");
	evbuffer_add(b, a->intake ? "intake" : "person", 6);
	ADD_LIT(b, "\",\"person\":");
	ref_write(b, res->s, a->person);
	ADD_LIT(b, ",\"unit\":");
	ev_json_str(b, code, strlen(code));
	ADD_LIT(b, ",\"decided_by\":\"");
	evbuffer_add(b, a->decided_by, strlen(a->decided_by));
	ADD_LIT(b, "\",\"why\":");
	ev_json_str(b, a->why ? a->why : "", a->why ? a->len : 0);
	ADD_LIT(b, "},");
}

/*
 * The second half: the tie settled, the walk (deputies for the absent),
 * the candidates (available first, each group in rank order) in
 * res->shown, and the answer added to res->o.
 */
static void
finish(struct dir_resolution *res)
{
	size_t n = res->nc ? res->nc : 1, ne;
	struct entry *es = xmalloc(n * sizeof(*es));
	int *shown = xmalloc(n * sizeof(int));

	settle(res);
	ne = walk_entries(res->s, res->date, res->cs, res->nc, res->sorted, es, shown);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ne && res->nshown < MAX_CANDIDATES; i++) {
			if (es[i].available != (pass == 0))
				continue;
			entry_fill(res, &es[i], &res->shown[res->nshown++]);
		}
	answer_fill(res, es, ne);
	free(es);
	free(shown);
}

void
dir_resolution_free(struct dir_resolution *res)
{
	if (res == NULL)
		return;
	json_decref(res->o);
	for (size_t i = 0; i < res->nshown; i++)
		free(res->shown[i].reason);
	free(res->answer.why);
	free(res->cs);
	free(res);
}

json_t *
dir_resolution_json(struct dir_resolution *res)
{
	json_t *cands = json_array(), *o;

	finish(res);
	for (size_t i = 0; i < res->nshown; i++) {
		json_t *c = shown_json(res, &res->shown[i], i + 1);
		json_object_set_new(
		    c, "person",
		    dir_render_person_json_on(res->s, res->shown[i].person, res->date));
		json_array_append_new(cands, c);
	}
	o = res->o;
	json_object_set_new(o, "candidates", cands);
	json_object_set_new(o, "answer", answer_json(res));
	res->o = NULL;
	dir_resolution_free(res);
	return o;
}

json_t *
dir_resolve(const struct dir_snapshot *s, const struct resolve_route *r,
            const struct resolve_facts *f, json_t **problem)
{
	struct dir_resolution *res = dir_resolution_begin(s, r, f, problem);
	return res ? dir_resolution_json(res) : NULL;
}

/* Appends a JSON object's members without its braces; false if it has none. */
static bool
append_members(struct evbuffer *b, const json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	size_t n;

	if (text == NULL)
		fatalx("resolve: json_dumps");
	n = strlen(text);
	if (n > 2)
		evbuffer_add(b, text + 1, n - 2);
	free(text);
	return n > 2;
}

void
dir_resolution_render(struct dir_resolution *res, json_t *more, struct evbuffer *b)
{
	finish(res);
	ADD_LIT(b, "{\"candidates\":[");
	for (size_t i = 0; i < res->nshown; i++) {
		if (i)
			ADD_LIT(b, ",");
		ADD_LIT(b, "{\"person\":");
		dir_render_person_append(b, &res->s->persons[res->shown[i].person], res->date);
		shown_write(b, res, &res->shown[i], i + 1);
		ADD_LIT(b, "}");
	}
	ADD_LIT(b, "],");
	answer_write(b, res);
	json_object_update(res->o, more);
	json_decref(more);
	append_members(b, res->o);
	ADD_LIT(b, "}");
	dir_resolution_free(res);
}

int
dir_resolve_render(const struct dir_snapshot *s, const struct resolve_route *r,
                   const struct resolve_facts *f, json_t *more, json_t **problem,
                   struct evbuffer *b)
{
	struct dir_resolution *res = dir_resolution_begin(s, r, f, problem);

	if (res == NULL) {
		json_decref(more);
		return -1;
	}
	dir_resolution_render(res, more, b);
	return 0;
}

/*
 * resolve.c: counterpart resolution (DESIGN.md "Finding the counterpart"):
 * the receiving unit by route or KLE number, its caseworkers ranked by the
 * allocation rules with deputies for the absent, a fallback, the
 * myndighedssnit, and a Danish reason for each. Pure: reads a snapshot and
 * the facts given; never stores or logs a CPR number.
 */
#include <ctype.h>
#include <stdarg.h>
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

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("resolve: vsnprintf");
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
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
select_best(struct cand *cs, size_t n, size_t k)
{
	size_t lo = 0, hi = n;

	while (k > lo && k < hi && hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2, store = lo;
		if (cand_cmp(&cs[mid], &cs[lo]) < 0)
			cand_swap(&cs[mid], &cs[lo]);
		if (cand_cmp(&cs[hi - 1], &cs[lo]) < 0)
			cand_swap(&cs[hi - 1], &cs[lo]);
		if (cand_cmp(&cs[hi - 1], &cs[mid]) < 0)
			cand_swap(&cs[hi - 1], &cs[mid]);
		cand_swap(&cs[mid], &cs[hi - 1]); /* the median as pivot, at the end */
		for (size_t i = lo; i < hi - 1; i++)
			if (cand_cmp(&cs[i], &cs[hi - 1]) < 0)
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

/* Judges every member of the unit; the matching ones, in cs, with the best
 * RANK_FIRST in rank order (*sorted of them). Returns their number. */
static size_t
judge_members(struct resolve_cache *rc, const struct cunit *cu, const struct citizen *z,
              struct cand *cs, size_t *sorted)
{
	size_t nc = 0;
	struct znums zn = {
	    z->district ? dir_rules_name_number(rc, z->district, false) : -1,
	    z->group ? dir_rules_name_number(rc, z->group, false) : -1,
	    z->not_in_group ? dir_rules_name_number(rc, z->not_in_group, false) : -1,
	};

	for (size_t i = 0; i < cu->n; i++) {
		const struct cmember *m = &cu->m[i];
		struct cand *c = &cs[nc]; /* judged in place: kept by counting it */

		/* rule[k] and group_idx are read only where matched[k] is set;
		 * zeroed all the same, as a candidate is copied whole when sorted */
		*c = (struct cand){.person = m->person, .pos = m->pos};
		if (judge(cu, m, z, &zn, c))
			nc++;
	}
	/* Rank order is needed only as far as the walk goes: the best few
	 * first, the rest sorted only if the walk gets there. */
	*sorted = nc < RANK_FIRST ? nc : RANK_FIRST;
	select_best(cs, nc, *sorted);
	qsort(cs, *sorted, sizeof(*cs), cand_cmp);
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

/* One shown entry as the answer's candidate, with its Danish reason. */
static json_t *
entry_json(const struct dir_snapshot *s, const struct dir_unit *unit, const char *date,
           const struct entry *e, size_t rank)
{
	const struct dir_person *p = &s->persons[e->c->person];
	int d = p->deputy;
	struct sb b = {0};
	json_t *o;

	sb_printf(&b, "%s fordeler efter ", unit->name);
	sb_rules(&b, s, e->c);
	sb_printf(&b, " → %s.", p->display_name);
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
	o = json_object();
	json_object_set_new(o, "rank", json_integer((json_int_t)rank));
	json_object_set_new(o, "reason", sb_json(&b));
	json_object_set_new(o, "available", json_boolean(e->available));
	json_object_set_new(o, "acting_for",
	                    e->deputy != DIR_NONE ? person_ref(s, e->c->person) : json_null());
	return o;
}

/*
 * Ranks the candidates in unit u: allocation order, deputies standing in
 * for the absent, the unavailable last. Returns the "candidates" array.
 * Entries are worked out in rank order only until MAX_CANDIDATES are
 * available (no later one could be shown), and a reason is written only
 * for an entry that is shown.
 */
static json_t *
candidates(const struct dir_snapshot *s, const struct resolve_facts *f, int u,
           const struct citizen *z, int shown_out[MAX_CANDIDATES])
{
	struct resolve_cache *rc = dir_rules_of(s);
	const struct cunit *cu = &rc->units[u];
	struct cand *cs = xmalloc((cu->n ? cu->n : 1) * sizeof(*cs));
	size_t sorted, nc = judge_members(rc, cu, z, cs, &sorted);
	struct entry *es = xmalloc((nc ? nc : 1) * sizeof(*es));
	int *shown = xmalloc((nc ? nc : 1) * sizeof(int));
	size_t ne = walk_entries(s, f->date, cs, nc, sorted, es, shown);
	json_t *out = json_array();

	/* available first, each group in rank order */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ne && json_array_size(out) < MAX_CANDIDATES; i++) {
			if (es[i].available != (pass == 0))
				continue;
			shown_out[json_array_size(out)] = es[i].shown; /* "person": the caller's */
			json_array_append_new(out, entry_json(s, &s->units[u], f->date, &es[i],
			                                      json_array_size(out) + 1));
		}
	free(es);
	free(shown);
	free(cs);
	return out;
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

static json_t *
fallback(const struct dir_snapshot *s, const struct resolve_facts *f, int u, bool none)
{
	const char *mailbox = NULL;
	int lead = DIR_NONE, lead_unit = DIR_NONE;
	json_t *o = json_object(), *l = json_null();
	struct sb b = {0};
	size_t n = 0;

	for (int v = u; v != DIR_NONE && n <= s->nunits; v = s->units[v].parent, n++) {
		const struct dir_unit *w = &s->units[v];
		if (mailbox == NULL && w->mailbox && *w->mailbox)
			mailbox = w->mailbox;
		if (lead == DIR_NONE && w->lead >= 0 && (size_t)w->lead < s->npersons &&
		    w->lead != f->caller) {
			lead = w->lead;
			lead_unit = v;
		}
	}
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

/* ---- the answer ---- */

/*
 * The answer but the candidates' "person", which the callers add: as
 * objects (dir_resolve) or as the people's pre-rendered JSON
 * (dir_resolve_render). *cands is o's "candidates", shown[i] the person
 * candidate i shows.
 */
static json_t *
resolve_core(const struct dir_snapshot *s, const struct resolve_route *r,
             const struct resolve_facts *f, json_t **problem, json_t **candsp,
             int shown[MAX_CANDIDATES])
{
	const char *kle = f->kle ? f->kle : r->kle;
	struct citizen z = {0, NO_LETTER, NULL, NULL, NULL, 0};
	char *fdistrict = NULL, *fgroup = NULL;
	json_t *warnings = json_array(), *ru, *cands, *o, *snit;
	struct sb reason = {0};
	int u;

	*problem = NULL;
	if (kle && *kle == '\0')
		kle = NULL;
	if ((u = receiving_unit(s, r, kle, &reason, warnings, problem)) == DIR_NONE) {
		free(reason.s);
		json_decref(warnings);
		return NULL;
	}
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
	cands = candidates(s, f, u, &z, shown);
	missing_facts(s, f, u, &z, warnings);
	free(fdistrict);
	free(fgroup);

	o = json_object();
	json_object_set_new(o, "route", jstr(r->code));
	json_object_set_new(o, "date", str_or_null(f->date));
	json_object_set_new(
	    o, "citizen",
	    json_pack("{s:o}", "birthdate", str_or_null(z.day ? f->birthdate : NULL)));
	json_object_set_new(o, "receiving_unit", ru);
	json_object_set_new(o, "candidates", cands);
	json_object_set_new(o, "fallback", fallback(s, f, u, json_array_size(cands) == 0));
	json_object_set_new(o, "myndighedssnit", snit);
	json_object_set_new(o, "warnings", warnings);
	*candsp = cands;
	return o;
}

json_t *
dir_resolve(const struct dir_snapshot *s, const struct resolve_route *r,
            const struct resolve_facts *f, json_t **problem)
{
	int shown[MAX_CANDIDATES];
	json_t *cands, *c, *o = resolve_core(s, r, f, problem, &cands, shown);
	size_t i;

	if (o == NULL)
		return NULL;
	json_array_foreach (cands, i, c) {
		json_object_set_new(c, "person", dir_render_person_json_on(s, shown[i], f->date));
	}
	return o;
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

int
dir_resolve_render(const struct dir_snapshot *s, const struct resolve_route *r,
                   const struct resolve_facts *f, json_t *more, json_t **problem,
                   struct evbuffer *b)
{
	int shown[MAX_CANDIDATES];
	json_t *cands, *c, *o = resolve_core(s, r, f, problem, &cands, shown);
	size_t i;

	if (o == NULL) {
		json_decref(more);
		return -1;
	}
	json_incref(cands);
	json_object_del(o, "candidates");
	evbuffer_add(b, "{\"candidates\":[", 15);
	json_array_foreach (cands, i, c) {
		evbuffer_add_printf(b, "%s{\"person\":", i ? "," : "");
		dir_render_person_append(b, &s->persons[shown[i]], f->date);
		evbuffer_add(b, ",", 1);
		append_members(b, c);
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add(b, "],", 2);
	json_decref(cands);
	json_object_update(o, more);
	json_decref(more);
	append_members(b, o);
	evbuffer_add(b, "}", 1);
	json_decref(o);
	return 0;
}

/*
 * resolve.c: counterpart resolution (DESIGN.md "Finding the counterpart"):
 * the receiving unit's caseworkers judged by the allocation rules and
 * ranked, deputies for the absent, and the public API: the lookup in two
 * halves (dir_resolution_begin, the tie's data, dir_resolution_render)
 * and dir_resolve. The receiving unit, the fallback and the myndighedssnit
 * are in resolve_unit.c, settling a tie and the one answer in
 * resolve_answer.c, the strings in resolve_text.c. Pure: reads a snapshot
 * and the facts given; never stores or logs a CPR number.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "resolve.h"
#include "resolve_rules.h"
#include "resolve_int.h"

bool
dir_resolve_absent_on(const struct dir_person *p, const char *date)
{
	return *p->absent_from && *date && strcmp(p->absent_from, date) <= 0 &&
	       (!*p->absent_until || strcmp(date, p->absent_until) < 0);
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

		/* Field by field: rule[k] and group_idx are written before they
		 * are read (where matched[k] is set), so they are left as they
		 * are; zeroing the whole candidate (a rep stos per member) took
		 * a third of the judging at 50,000 people. */
		c->person = m->person;
		c->pos = m->pos;
		c->nmatched = 0;
		c->width = 0;
		memset(c->matched, 0, sizeof(c->matched));
		c->group_idx = 0;
		c->rot = m->idhash;
		c->tie = -1;
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

/* ---- the lookup ---- */

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

	dir_rtext_printf(&b, "%s fordeler efter ", unit->name);
	dir_ranswer_rules(&b, s, e->c);
	dir_rtext_printf(&b, " → %s.", p->display_name);
	if (res->ngroup >= 2 && gi < res->ngroup) {
		dir_rtext_printf(&b, " ");
		step = dir_ranswer_tie(&b, res, gi);
	}
	if (dir_resolve_absent_on(p, date)) {
		dir_rtext_printf(&b, " ");
		dir_ranswer_absence(&b, p, date);
		if (d < 0 || (size_t)d >= s->npersons || d == e->c->person)
			dir_rtext_printf(&b, " og har ingen stedfortræder.");
		else if (dir_resolve_absent_on(&s->persons[d], date))
			dir_rtext_printf(&b, ", og stedfortræderen %s er også fraværende.",
			                 s->persons[d].display_name);
		else if (e->deputy == DIR_NONE)
			dir_rtext_printf(&b, "; stedfortræderen %s står allerede højere på listen.",
			                 s->persons[d].display_name);
		else
			dir_rtext_printf(&b, "; stedfortræderen er %s.",
			                 s->persons[d].display_name);
	}
	out->person = e->shown;
	out->acting_for = e->deputy != DIR_NONE ? e->c->person : DIR_NONE;
	out->available = e->available;
	out->step = step;
	out->reason = b.s;
	out->len = b.len;
}

/*
 * The citizen's facts reduced to what allocation compares; *fdistrict and
 * *fgroup get the folded strings z points into (the caller frees them).
 */
static void
citizen_of(const struct resolve_route *r, const struct resolve_facts *f, struct citizen *z,
           char **fdistrict, char **fgroup)
{
	if (clock_date_valid(f->birthdate, strlen(f->birthdate)))
		z->day = dir_rtext_digits(f->birthdate + 8, 2);
	if (f->surname && *f->surname)
		z->letter = dir_rules_letter(f->surname);
	if (f->district && *f->district)
		z->district = *fdistrict = dir_rules_folded(f->district);
	if (f->target_group && *f->target_group)
		z->group = *fgroup = dir_rules_folded(f->target_group);
	else if (r->placed_target_group && f->placed == 1)
		z->group = *fgroup = dir_rules_folded(r->placed_target_group);
	else if (r->placed_target_group && f->placed == 0)
		z->not_in_group = *fgroup = dir_rules_folded(r->placed_target_group);
	for (int k = 0; k < NKINDS; k++)
		if (kind_allowed(r, k))
			z->allowed |= 1u << k;
	/* A folded fact that is empty ("" or only marks) matches nothing. */
	if (z->district && *z->district == '\0')
		z->district = NULL;
	if (z->group && *z->group == '\0')
		z->group = NULL;
	if (z->not_in_group && *z->not_in_group == '\0')
		z->not_in_group = NULL;
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
	if ((u = dir_runit_receiving(s, r, kle, &reason, warnings, problem)) == DIR_NONE) {
		free(reason.s);
		json_decref(warnings);
		return NULL;
	}
	res = xcalloc(1, sizeof(*res));
	res->s = s;
	res->u = u;
	memcpy(res->date, f->date, sizeof(res->date));
	/* the route or the unit (the directory) may send new cases to intake */
	res->intake = r->intake || dir_lookup_intake(s, u);
	dir_ranswer_steps(res, r);

	ru = dir_render_unit(s, u, false);
	{
		json_t *children = json_array(); /* codes, as GET /units/{code} has them */
		for (size_t c = 0; c < s->units[u].nchildren; c++)
			json_array_append_new(children,
			                      json_string(s->units[s->units[u].children[c]].code));
		json_object_set_new(ru, "children", children);
	}
	json_object_set_new(ru, "reason", dir_rtext_json(&reason));
	snit = dir_runit_myndighedssnit(s, r, f, u, warnings);

	citizen_of(r, f, &z, &fdistrict, &fgroup);

	rc = dir_rules_of(s);
	cu = &rc->units[u];
	res->cs = xmalloc((cu->n ? cu->n : 1) * sizeof(*res->cs));
	res->nc =
	    judge_members(rc, cu, &z, dir_ranswer_seed(f), res->cs, &res->sorted, &res->ngroup);
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
	dir_runit_missing_facts(s, f, u, &z, warnings);
	free(fdistrict);
	free(fgroup);

	o = json_object();
	json_object_set_new(o, "route", dir_rtext_jstr(r->code));
	json_object_set_new(o, "date", dir_rtext_or_null(f->date));
	dir_ranswer_plausibility(o, s, r, f, u, z.day != 0);
	json_object_set_new(o, "receiving_unit", ru);
	json_object_set_new(o, "fallback", dir_runit_fallback(s, f, u, res->nc == 0));
	json_object_set_new(o, "myndighedssnit", snit);
	json_object_set_new(o, "warnings", warnings);
	res->o = o;
	{
		/* the intake's mailbox and lead, for the answer */
		const char *mailbox;
		int lead, lead_unit;
		dir_runit_intake(s, f->caller, u, &mailbox, &lead, &lead_unit);
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
	json_array_append_new(json_object_get(res->o, "warnings"), dir_rtext_jstr(text));
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

	dir_ranswer_settle(res);
	ne = walk_entries(res->s, res->date, res->cs, res->nc, res->sorted, es, shown);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ne && res->nshown < MAX_CANDIDATES; i++) {
			if (es[i].available != (pass == 0))
				continue;
			entry_fill(res, &es[i], &res->shown[res->nshown++]);
		}
	dir_ranswer_fill(res, es, ne);
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
		json_t *c = dir_ranswer_shown_json(res, &res->shown[i], i + 1);
		json_object_set_new(
		    c, "person",
		    dir_render_person_json_on(res->s, res->shown[i].person, res->date));
		json_array_append_new(cands, c);
	}
	o = res->o;
	json_object_set_new(o, "candidates", cands);
	json_object_set_new(o, "answer", dir_ranswer_json(res));
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
		dir_ranswer_shown_write(b, res, &res->shown[i], i + 1);
		ADD_LIT(b, "}");
	}
	ADD_LIT(b, "],");
	dir_ranswer_write(b, res);
	json_object_update(res->o, more);
	json_decref(more);
	dir_rtext_members(b, res->o);
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

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

/* Rank order among classes: more kinds matched, then the narrower rules. */
static int
mclass_cmp(const void *a, const void *b)
{
	const struct mclass *x = a, *y = b;

	if (x->nmatched != y->nmatched)
		return y->nmatched - x->nmatched;
	if (x->width != y->width)
		return x->width < y->width ? -1 : 1;
	return x->c < y->c ? -1 : x->c > y->c;
}

static bool
same_key(const struct mclass *x, const struct mclass *y)
{
	return x->nmatched == y->nmatched && x->width == y->width;
}

/* Member mi of the unit judged as one candidate (it matches: its class does). */
static struct cand *
judge_one(struct dir_resolution *res, uint32_t mi)
{
	const struct cmember *m = &res->cu->m[mi];
	struct cand *c;

	if (res->nmat == res->cap) {
		res->cap = res->cap ? 2 * res->cap : 64;
		res->cs = xrealloc(res->cs, res->cap * sizeof(*res->cs));
	}
	c = &res->cs[res->nmat++];
	memset(c, 0, sizeof(*c));
	c->person = m->person;
	c->pos = m->pos;
	c->rot = m->idhash;
	c->tie = -1;
	judge(res->cu, m, &res->z, &res->zn, c);
	return c;
}

/*
 * The first `need` of a class's members r[lo..hi) (by_rot: by hash, all
 * sharing the hash's bits above `bit`) by hash ^ seed, then by their order,
 * appended to out; returns how many. A walk down the binary trie the sorted
 * hashes make: whole subtrees are taken, only the one on the boundary is
 * split (a binary search), so a class of any size costs O(need + 64 log n).
 */
static size_t
trie_first(const struct cunit *cu, const uint32_t *r, size_t lo, size_t hi, int bit, uint64_t seed,
           size_t need, uint32_t *out)
{
	size_t a = lo, z = hi, mid, got;
	uint64_t mask;

	if (need == 0 || lo >= hi)
		return 0;
	if (hi - lo <= need || bit < 0) {
		got = hi - lo < need ? hi - lo : need; /* equal hashes: by order */
		memcpy(out, r + lo, got * sizeof(*out));
		return got;
	}
	mask = 1ull << bit;
	while (a < z) { /* the first with the bit set */
		mid = a + (z - a) / 2;
		if (bit >= 32 ? (cu->rot_hi[mid] >> (bit - 32)) & 1 : cu->m[r[mid]].idhash & mask)
			z = mid;
		else
			a = mid + 1;
	}
	if (seed & mask) { /* those with the bit set come first under xor */
		got = trie_first(cu, r, a, hi, bit - 1, seed, need, out);
		got += trie_first(cu, r, lo, a, bit - 1, seed, need - got, out + got);
	} else {
		got = trie_first(cu, r, lo, a, bit - 1, seed, need, out);
		got += trie_first(cu, r, a, hi, bit - 1, seed, need - got, out + got);
	}
	return got;
}

struct turn {
	uint64_t rot;
	int pos;
	uint32_t mi;
};

static int
turn_cmp(const void *a, const void *b)
{
	const struct turn *x = a, *y = b;
	if (x->rot != y->rot)
		return x->rot < y->rot ? -1 : 1;
	return x->pos - y->pos;
}

/*
 * Judges the unit's classes (one member each: the class's others are
 * judged the same) into res->mc, by rank; res->nc: how many members
 * match, res->ngroup: how many are equal to the best by the rules. When
 * two or more are, the first TIE_MAX of them in the rotation's order
 * (hash ^ seed, then their order) are judged one by one into cs, in that
 * order; the rest are judged as the walk reaches them (next_rest).
 */
static void
judge_members(struct dir_resolution *res, struct resolve_cache *rc, uint64_t seed)
{
	const struct cunit *cu = res->cu;
	const struct citizen *z = &res->z;
	size_t g = 0, nbest = 0;

	res->zn.district = z->district ? dir_rules_name_number(rc, z->district, false) : -1;
	res->zn.group = z->group ? dir_rules_name_number(rc, z->group, false) : -1;
	res->zn.not_in_group =
	    z->not_in_group ? dir_rules_name_number(rc, z->not_in_group, false) : -1;
	res->mc = xmalloc((cu->nclasses ? cu->nclasses : 1) * sizeof(*res->mc));
	for (size_t i = 0; i < cu->nclasses; i++) {
		struct cand c = {0};
		if (!judge(cu, &cu->m[cu->classes[i].m0], z, &res->zn, &c))
			continue;
		res->mc[res->nmc++] = (struct mclass){(uint32_t)i, c.nmatched, c.width};
		res->nc += cu->classes[i].n;
	}
	qsort(res->mc, res->nmc, sizeof(*res->mc), mclass_cmp);
	res->cur = xcalloc(res->nmc ? res->nmc : 1, sizeof(*res->cur));
	for (; nbest < res->nmc && same_key(&res->mc[nbest], &res->mc[0]); nbest++)
		g += cu->classes[res->mc[nbest].c].n;
	res->heap = xmalloc((res->nmc ? res->nmc : 1) * sizeof(*res->heap));
	res->ngroup = g;
	if (g >= 2) {
		size_t nt = 0, t = g < TIE_MAX ? g : TIE_MAX, cap = 0;
		uint32_t first[TIE_MAX];
		struct turn *tu;

		for (size_t j = 0; j < nbest; j++) {
			uint32_t n = cu->classes[res->mc[j].c].n;
			cap += n < TIE_MAX ? n : TIE_MAX;
		}
		tu = xmalloc(cap * sizeof(*tu));

		for (size_t j = 0; j < nbest; j++) {
			const struct cclass *k = &cu->classes[res->mc[j].c];
			size_t n = trie_first(cu, cu->by_rot, k->m0, k->m0 + k->n, 63, seed,
			                      TIE_MAX, first);
			for (size_t i = 0; i < n; i++) {
				const struct cmember *m = &cu->m[first[i]];
				tu[nt++] = (struct turn){m->idhash ^ seed, m->pos, first[i]};
			}
		}
		qsort(tu, nt, sizeof(*tu), turn_cmp);
		/* Their rules and people, asked for at once: at 200,000 people
		 * they are far apart, and one miss after another added up. */
		for (size_t i = 0; i < t; i++) {
			const struct cmember *m = &cu->m[tu[i].mi];
			if (m->nrules)
				__builtin_prefetch(&cu->rules[m->rule0]);
			if (m->ngroups)
				__builtin_prefetch(&cu->groups[m->group0]);
			__builtin_prefetch(&res->s->persons[m->person]);
		}
		for (size_t i = 0; i < t; i++) {
			struct cand *c = judge_one(res, tu[i].mi);
			c->rot =
			    tu[i].rot; /* the seed is mixed; the id's FNV hash spreads enough */
			res->chosen[res->nchosen++] = tu[i].mi;
		}
		free(tu);
	}
}

static bool
chosen(const struct dir_resolution *res, uint32_t mi)
{
	for (size_t i = 0; i < res->nchosen; i++)
		if (res->chosen[i] == mi)
			return true;
	return false;
}

/* The unit's order of mc[j]'s next member. */
static int
head_pos(const struct dir_resolution *res, uint32_t j)
{
	const struct cclass *k = &res->cu->classes[res->mc[j].c];
	return res->cu->m[k->m0 + res->cur[j]].pos;
}

/* Restores the heap (by head_pos, the least first) below slot i. */
static void
heap_down(struct dir_resolution *res, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		uint32_t x;
		if (l < res->nheap && head_pos(res, res->heap[l]) < head_pos(res, res->heap[m]))
			m = l;
		if (r < res->nheap && head_pos(res, res->heap[r]) < head_pos(res, res->heap[m]))
			m = r;
		if (m == i)
			return;
		x = res->heap[i];
		res->heap[i] = res->heap[m];
		res->heap[m] = x;
		i = m;
	}
}

/*
 * The next candidate in rank order (more kinds matched, narrower rules,
 * then the unit's order) past those already in cs, judged into cs; false
 * when there is none. The classes of one key are merged by the unit's
 * order (a heap of the classes by their next member: a key shared by many
 * classes costs a logarithm per candidate, not a pass over them).
 */
static bool
next_rest(struct dir_resolution *res)
{
	const struct cunit *cu = res->cu;

	for (;;) {
		uint32_t j, mi;

		if (res->nheap == 0) { /* the key is done (or none begun): the next */
			res->grp0 = res->grp1;
			if (res->grp0 >= res->nmc)
				return false;
			while (res->grp1 < res->nmc &&
			       same_key(&res->mc[res->grp1], &res->mc[res->grp0]))
				res->grp1++;
			for (size_t k = res->grp0; k < res->grp1; k++)
				res->heap[res->nheap++] = (uint32_t)k;
			for (size_t k = res->nheap / 2; k-- > 0;)
				heap_down(res, k);
			continue;
		}
		j = res->heap[0];
		mi = cu->classes[res->mc[j].c].m0 + res->cur[j];
		if (++res->cur[j] >= cu->classes[res->mc[j].c].n)
			res->heap[0] = res->heap[--res->nheap];
		if (res->nheap > 0)
			heap_down(res, 0);
		if (chosen(res, mi))
			continue;
		judge_one(res, mi);
		return true;
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

/*
 * Walks the candidates in rank order into entries (*esp, grown): a deputy
 * stands in for the absent, once; stops when MAX_CANDIDATES are available.
 * Returns the number of entries.
 */
static size_t
walk_entries(struct dir_resolution *res, struct entry **esp)
{
	const struct dir_snapshot *s = res->s;
	const char *date = res->date;
	size_t ne = 0, nshown = 0, navail = 0, cap = 16;
	struct entry *es = xmalloc(cap * sizeof(*es));
	int *shown = xmalloc(cap * sizeof(*shown));

	for (size_t i = 0; navail < MAX_CANDIDATES; i++) {
		const struct dir_person *p;
		struct entry *e;
		int d, person;

		if (i == res->nmat && !next_rest(res))
			break;
		person = res->cs[i].person;
		p = &s->persons[person];
		d = p->deputy;

		if (listed(shown, nshown, person))
			continue; /* already standing in for someone ranked higher */
		if (ne == cap) {
			cap *= 2;
			es = xrealloc(es, cap * sizeof(*es));
			shown = xrealloc(shown, cap * sizeof(*shown));
		}
		e = &es[ne++];
		e->ci = i;
		e->shown = person;
		e->available = true;
		e->deputy = DIR_NONE;
		if (dir_resolve_absent_on(p, date)) {
			if (d < 0 || (size_t)d >= s->npersons || d == person ||
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
	/* A tie's sentence names the next equal colleague: judged too. */
	if (ne > 0 && es[ne - 1].ci + 1 == res->nmat)
		next_rest(res);
	for (size_t i = 0; i < ne; i++)
		es[i].c = &res->cs[es[i].ci];
	free(shown);
	*esp = es;
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
	res->cu = &rc->units[u];
	res->z = z;
	res->fdistrict = fdistrict;
	res->fgroup = fgroup;
	judge_members(res, rc, dir_ranswer_seed(f));
	/* g == 1: the one best (rank order's first) is the one equal */
	if (res->ngroup == 1 && res->intake && res->nmat == 0)
		next_rest(res);
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
	struct entry *es;
	size_t ne;

	dir_ranswer_settle(res);
	ne = walk_entries(res, &es);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ne && res->nshown < MAX_CANDIDATES; i++) {
			if (es[i].available != (pass == 0))
				continue;
			entry_fill(res, &es[i], &res->shown[res->nshown++]);
		}
	dir_ranswer_fill(res, es, ne);
	free(es);
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
	free(res->mc);
	free(res->cur);
	free(res->heap);
	free(res->fdistrict);
	free(res->fgroup);
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

/*
 * snapshot.c: builds an immutable directory snapshot from the records the
 * sync read (records.c); its lookups are lookup.c's.
 *
 * All of a snapshot's strings live in one arena, so freeing a snapshot of
 * 50,000 people is a handful of free() calls. References (unit, deputy,
 * manager, lead, parent) are resolved to indexes once, here; DNs are
 * compared case-insensitively (ASCII), as LDAP does for the attribute
 * types in them.
 */
#include <ctype.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stafetd.h"
#include "directory.h"
#include "lookup.h"

#define ARENA_CHUNK (256 * 1024)

struct dir_arena {
	struct dir_arena *next;
	size_t used, size;
	char data[];
};

/* n bytes at the given alignment (1 or 8) from the arena. */
static void *
arena_get(struct dir_arena **a, size_t n, size_t align)
{
	struct dir_arena *c = *a;
	size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;

	if (c == NULL || at > c->size || c->size - at < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		struct dir_arena *nc = xmalloc(sizeof(*nc) + size);
		nc->next = c;
		nc->used = 0;
		nc->size = size;
		*a = c = nc;
		at = 0;
	}
	void *p = c->data + at;
	c->used = at + n;
	return p;
}

static void *
arena_alloc(struct dir_arena **a, size_t n)
{
	return arena_get(a, n, 8);
}

/* A copy of s in the arena, not padded (strings need no alignment); NULL for NULL. */
static const char *
arena_str(struct dir_arena **a, const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = arena_get(a, n, 1);
	memcpy(p, s, n);
	return p;
}

/*
 * Strings that repeat across people (names, titles, offices, target
 * groups, allocation rules, group DNs, units) are kept once per snapshot:
 * a set of the arena's copies, open addressing, while the snapshot is
 * built. So are the parts of the people's JSON that repeat (render_people).
 */
struct dir_strings {
	const char **slot;
	size_t cap, n;
};

static uint32_t
str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static const char *
intern(struct dir_snapshot *snap, const char *s)
{
	struct dir_strings *t = snap->strings;
	size_t i;

	if (s == NULL || t == NULL)
		return arena_str(&snap->arena, s);
	if ((t->n + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		const char **slot = xcalloc(cap, sizeof(*slot));
		for (size_t k = 0; k < t->cap; k++) {
			if (t->slot[k] == NULL)
				continue;
			i = str_hash(t->slot[k]) & (cap - 1);
			while (slot[i] != NULL)
				i = (i + 1) & (cap - 1);
			slot[i] = t->slot[k];
		}
		free(t->slot);
		t->slot = slot;
		t->cap = cap;
	}
	i = str_hash(s) & (t->cap - 1);
	while (t->slot[i] != NULL) {
		if (strcmp(t->slot[i], s) == 0)
			return t->slot[i];
		i = (i + 1) & (t->cap - 1);
	}
	t->n++;
	return t->slot[i] = arena_str(&snap->arena, s);
}

static void
strings_free(struct dir_snapshot *snap)
{
	if (snap->strings == NULL)
		return;
	free(snap->strings->slot);
	free(snap->strings);
	snap->strings = NULL;
}

static void
arena_free(struct dir_arena *a)
{
	while (a) {
		struct dir_arena *next = a->next;
		free(a);
		a = next;
	}
}

/* -- collation --------------------------------------------------------------- */

/*
 * A Danish sort key: case folded, accents dropped by fold.c's letter table,
 * and æ, ø, å after z as in the Danish alphabet. Written into `out`
 * (truncated at outsz).
 */
static void
collate_key(const char *s, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t w = 0;

	while (*p && w + 1 < outsz) {
		unsigned int c = *p;
		if (c < 0x80) {
			out[w++] = (char)tolower((int)c);
			p++;
			continue;
		}
		if (c == 0xc3 && p[1] >= 0x80 && p[1] <= 0xbf) {
			/* U+00C0..U+00FF as its small letter: ß's byte falls on ÿ */
			unsigned int cp = 0xe0 + (p[1] & 0x1f);
			char k = cp == 0xe6 ? '{' : cp == 0xf8 ? '|' : cp == 0xe5 ? '}' : 0;
			/* ð keeps its bytes, as the sort always had it */
			if (k == 0 && cp != 0xf0)
				k = dir_fold_latin1_letter(cp);
			if (k) {
				out[w++] = k;
				p += 2;
				continue;
			}
		}
		out[w++] = (char)c; /* other bytes sort after the alphabet, as they are */
		p++;
	}
	out[w] = '\0';
}

/* qsort_r contexts: no globals, as snapshots are built on the sync thread. */
struct name_sort {
	const struct dir_snapshot *s;
	char (*keys)[96];
};

static int
cmp_person_name(const void *a, const void *b, void *arg)
{
	const struct name_sort *ns = arg;
	int ia = *(const int *)a, ib = *(const int *)b;
	int c = strcmp(ns->keys[ia], ns->keys[ib]);
	if (c == 0)
		c = strcmp(ns->s->persons[ia].id, ns->s->persons[ib].id);
	return c;
}

static int
cmp_unit_code(const void *a, const void *b, void *arg)
{
	const struct dir_snapshot *s = arg;
	int ia = *(const int *)a, ib = *(const int *)b;
	return strcmp(s->units[ia].code, s->units[ib].code);
}

/* -- dates ------------------------------------------------------------------- */

static bool
all_digits(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)v[i]))
			return false;
	return true;
}

/*
 * "20260303000000Z" (GeneralizedTime, also AD's "20260303000000.0Z") or
 * "2026-03-03" (AD's extensionAttributes; anything may follow) →
 * "2026-03-03". Every byte of out is checked, as it goes into JSON
 * unescaped (dir_render_person_append). Returns out, or NULL (out empty) when the
 * value is not a date.
 */
char *
dir_snapshot_date_from_ldap(const char *v, char out[11])
{
	out[0] = '\0';
	if (v == NULL)
		return NULL;
	size_t n = strnlen(v, 10);
	if (n >= 10 && all_digits(v, 4) && v[4] == '-' && all_digits(v + 5, 2) && v[7] == '-' &&
	    all_digits(v + 8, 2)) {
		memcpy(out, v, 10);
	} else if (n >= 8 && all_digits(v, 8)) {
		snprintf(out, 11, "%.4s-%.2s-%.2s", v, v + 4, v + 6);
	} else {
		return NULL;
	}
	out[10] = '\0';
	int m = atoi(out + 5), d = atoi(out + 8);
	if (m < 1 || m > 12 || d < 1 || d > 31) {
		out[0] = '\0';
		return NULL;
	}
	return out;
}

/* -- building ----------------------------------------------------------------- */

static const char **
arena_strv(struct dir_snapshot *s, const struct strlist *v, size_t *n)
{
	const char **out = arena_alloc(&s->arena, (v->n ? v->n : 1) * sizeof(char *));
	for (size_t i = 0; i < v->n; i++)
		out[i] = intern(s, v->v[i]);
	*n = v->n;
	return out;
}

/* "birthday:11-20" → {birthday, 11, 20}; "district:Vollsmose" → {district, Vollsmose, NULL}. */
static bool
parse_alloc(struct dir_snapshot *s, const char *rule, struct dir_alloc *out)
{
	const char *colon = strchr(rule, ':');
	char kind[32], val[256];
	char *dash;

	if (colon == NULL || colon == rule || (size_t)(colon - rule) >= sizeof(kind) ||
	    strlen(colon + 1) >= sizeof(val) || colon[1] == '\0')
		return false;
	memcpy(kind, rule, (size_t)(colon - rule));
	kind[colon - rule] = '\0';
	for (char *k = kind; *k; k++)
		*k = (char)tolower((unsigned char)*k);
	snprintf(val, sizeof(val), "%s", colon + 1);
	out->kind = intern(s, kind);
	out->to = NULL;
	/* Ranges only for kinds whose values have an order. */
	if ((strcmp(kind, "birthday") == 0 || strcmp(kind, "surname") == 0) &&
	    (dash = strchr(val, '-')) != NULL && dash != val && dash[1] != '\0') {
		*dash = '\0';
		out->to = intern(s, dash + 1);
	}
	out->from = intern(s, val);
	return true;
}

static int
cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Who is in which group, as the records list it. */
struct group_graph {
	size_t ng;
	int **parents; /* parents[g]: groups that list group g as a member */
	size_t *nparents;
	int **direct; /* direct[p]: groups that list person p, or that p's memberOf names */
	size_t *ndirect;
};

static void
int_push(int **v, size_t *n, int x)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(int));
	(*v)[(*n)++] = x;
}

static void
group_graph_read(struct group_graph *gg, const struct dir_snapshot *s, const struct dir_records *r)
{
	size_t ng = gg->ng = r->ng;

	gg->parents = xcalloc(ng ? ng : 1, sizeof(int *));
	gg->nparents = xcalloc(ng ? ng : 1, sizeof(size_t));
	gg->direct = xcalloc(s->npersons ? s->npersons : 1, sizeof(int *));
	gg->ndirect = xcalloc(s->npersons ? s->npersons : 1, sizeof(size_t));
	/* Group DNs are few (hundreds); a linear DN match per member is fine. */
	for (size_t g = 0; g < ng; g++) {
		for (size_t m = 0; m < r->g[g].members.n; m++) {
			const char *mdn = r->g[g].members.v[m];
			int p = dir_lookup_dn(s, mdn);
			if (p != DIR_NONE) {
				int_push(&gg->direct[p], &gg->ndirect[p], (int)g);
				continue;
			}
			for (size_t h = 0; h < ng; h++)
				if (dir_lookup_dn_equal(r->g[h].dn, mdn))
					int_push(&gg->parents[h], &gg->nparents[h], (int)g);
		}
	}
	/* memberOf only where the groups' lists were not read whole: AD
	 * computes it, and a member's record is not re-read when only the
	 * group changed, so the list is the fresher word. */
	for (size_t i = 0; i < r->np && !r->lists_whole; i++) {
		int p = dir_lookup_dn(s, r->p[i].dn);
		if (p == DIR_NONE)
			continue;
		for (size_t m = 0; m < r->p[i].member_of.n; m++)
			for (size_t h = 0; h < ng; h++)
				if (dir_lookup_dn_equal(r->g[h].dn, r->p[i].member_of.v[m]))
					int_push(&gg->direct[p], &gg->ndirect[p], (int)h);
	}
}

static void
group_graph_free(struct group_graph *gg)
{
	for (size_t g = 0; g < gg->ng; g++)
		free(gg->parents[g]);
	free(gg->parents);
	free(gg->nparents);
	free(gg->direct);
	free(gg->ndirect);
}

/* AD: target groups are the groups named with the prefix, nested too. */
static void
add_prefixed_target_groups(struct dir_snapshot *s, struct dir_person *dp, const char *prefix,
                           const char **names, size_t n)
{
	size_t plen = strlen(prefix), ntg;

	if (plen == 0 || n == 0)
		return;
	const char **tg = arena_alloc(&s->arena, (dp->ntarget_groups + n) * sizeof(char *));
	memcpy(tg, dp->target_groups, dp->ntarget_groups * sizeof(char *));
	ntg = dp->ntarget_groups;
	for (size_t k = 0; k < n; k++) {
		const char *name = names[k];
		if (name && strncasecmp(name, prefix, plen) == 0 && name[plen] != '\0')
			tg[ntg++] = intern(s, name + plen);
	}
	dp->target_groups = tg;
	dp->ntarget_groups = ntg;
}

/*
 * Nested group membership: for each person, every group reachable from the
 * groups that list them (or that their memberOf names), through groups
 * listed as members of other groups. Cycles are cut by a visited mark.
 */
static void
resolve_groups(struct dir_snapshot *s, const struct dir_records *r)
{
	struct group_graph gg;
	size_t ng = r->ng;
	unsigned *mark = xcalloc(ng ? ng : 1, sizeof(unsigned));
	int *stack = xmalloc((ng ? ng : 1) * sizeof(int));
	const char **found = xmalloc((ng ? ng : 1) * sizeof(char *));
	const char **found_names = xmalloc((ng ? ng : 1) * sizeof(char *));

	group_graph_read(&gg, s, r);
	for (size_t p = 0; p < s->npersons; p++) {
		size_t nfound = 0, sp = 0;
		unsigned stamp = (unsigned)p + 1;
		for (size_t d = 0; d < gg.ndirect[p]; d++) {
			if (mark[gg.direct[p][d]] != stamp) {
				mark[gg.direct[p][d]] = stamp;
				stack[sp++] = gg.direct[p][d];
			}
		}
		while (sp > 0) {
			int g = stack[--sp];
			found_names[nfound] = r->g[g].name;
			found[nfound++] = r->g[g].dn;
			for (size_t k = 0; k < gg.nparents[g]; k++) {
				if (mark[gg.parents[g][k]] != stamp) {
					mark[gg.parents[g][k]] = stamp;
					stack[sp++] = gg.parents[g][k];
				}
			}
		}
		add_prefixed_target_groups(s, &s->persons[p], r->target_group_prefix, found_names,
		                           nfound);
		if (nfound > 1)
			qsort(found, nfound, sizeof(char *), cmp_str_ptr);
		s->persons[p].groups =
		    arena_alloc(&s->arena, (nfound ? nfound : 1) * sizeof(char *));
		for (size_t k = 0; k < nfound; k++)
			s->persons[p].groups[k] = intern(s, found[k]);
		s->persons[p].ngroups = nfound;
		free(gg.direct[p]);
	}
	group_graph_free(&gg);
	free(mark);
	free(stack);
	free(found);
	free(found_names);
}

/* The unit with this DN, not `self`; DIR_NONE if none (units are few: linear). */
static int
unit_by_dn(const struct dir_snapshot *s, const char *dn, int self)
{
	for (size_t j = 0; j < s->nunits; j++)
		if ((int)j != self && dir_lookup_dn_equal(s->units[j].dn, dn))
			return (int)j;
	return DIR_NONE;
}

/* A unit (not `self`) whose member list names `dn`, or DIR_NONE. */
static int
units_listing(const struct dir_snapshot *s, const struct dir_records *r, const size_t *urec,
              const char *dn, int self)
{
	for (size_t j = 0; j < s->nunits; j++) {
		const struct strlist *m = &r->u[urec[j]].members;
		if ((int)j == self)
			continue;
		for (size_t k = 0; k < m->n; k++)
			if (dir_lookup_dn_equal(m->v[k], dn))
				return (int)j;
	}
	return DIR_NONE;
}

/* The unit whose DN is the nearest proper ancestor of `dn`, or DIR_NONE. */
static int
ancestor_unit(const struct dir_snapshot *s, const int *unit_dn_table, size_t mask, const char *dn)
{
	const char *p = dn;

	while ((p = strchr(p, ',')) != NULL) {
		/* an escaped comma ("\,") is part of a value; "\\," is an escaped
		 * backslash before a separator: count the backslashes */
		size_t bs = 0;
		while (p - bs > dn && p[-1 - (ptrdiff_t)bs] == '\\')
			bs++;
		if (bs % 2 == 1) {
			p++;
			continue;
		}
		p++;
		size_t h = dir_lookup_hash(p, true) & mask;
		while (unit_dn_table[h] != DIR_NONE) {
			if (dir_lookup_dn_equal(s->units[unit_dn_table[h]].dn, p))
				return unit_dn_table[h];
			h = (h + 1) & mask;
		}
	}
	return DIR_NONE;
}

static size_t
pow2_at_least(size_t n)
{
	size_t s = 16;
	while (s < n)
		s <<= 1;
	return s;
}

/* An intake flag as read: LDAP Boolean TRUE/FALSE (and, from attributes
 * of another syntax, ja/nej, yes/no, 1/0); -1 unset or not understood. */
static signed char
intake_of(const char *v)
{
	static const char *const yes[] = {"TRUE", "ja", "yes", "1"}, *const no[] = {"FALSE", "nej",
	                                                                            "no", "0"};

	for (size_t i = 0; v && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* Copies the units that have a code and a DN; urec[i]: unit i's record. */
static void
copy_units(struct dir_snapshot *s, const struct dir_records *r, size_t *urec)
{
	for (size_t i = 0; i < r->nu; i++) {
		const struct dir_urec *u = &r->u[i];
		struct dir_unit *d = &s->units[s->nunits];
		if (u->code == NULL || u->dn == NULL)
			continue;
		d->code = intern(s, u->code);
		d->name = intern(s, u->name ? u->name : u->code);
		d->department = intern(s, u->department);
		d->mailbox = intern(s, u->mailbox);
		d->dn = arena_str(&s->arena, u->dn);
		d->intake = intake_of(u->intake);
		for (int k = 0; k < 3; k++)
			d->kle[k] = arena_strv(s, &u->kle[k], &d->nkle[k]);
		d->parent = d->lead = DIR_NONE;
		urec[s->nunits++] = i;
	}
}

static void
copy_person(struct dir_snapshot *s, const struct dir_prec *p, struct dir_person *d)
{
	d->id = arena_str(&s->arena, p->id);
	d->dn = arena_str(&s->arena, p->dn);
	d->username = arena_str(&s->arena, p->username);
	d->upn = arena_str(&s->arena, p->upn);
	d->given_name = intern(s, p->given_name);
	d->surname = intern(s, p->surname);
	if (p->display_name) {
		d->display_name = intern(s, p->display_name);
	} else {
		char name[512];
		snprintf(name, sizeof(name), "%s%s%s", p->given_name ? p->given_name : "",
		         p->given_name && p->surname ? " " : "", p->surname ? p->surname : "");
		d->display_name = intern(s, *name ? name : p->username);
	}
	d->title = intern(s, p->title);
	d->email = arena_str(&s->arena, p->email);
	d->phone = arena_str(&s->arena, p->phone);
	d->mobile = arena_str(&s->arena, p->mobile);
	d->office = intern(s, p->office);
	d->target_groups = arena_strv(s, &p->target_groups, &d->ntarget_groups);
	d->alloc =
	    arena_alloc(&s->arena, (p->allocation.n ? p->allocation.n : 1) * sizeof(*d->alloc));
	for (size_t k = 0; k < p->allocation.n; k++)
		if (parse_alloc(s, p->allocation.v[k], &d->alloc[d->nalloc]))
			d->nalloc++;
	dir_snapshot_date_from_ldap(p->absent_from, d->absent_from);
	dir_snapshot_date_from_ldap(p->absent_until, d->absent_until);
	d->unit = d->deputy = d->manager = DIR_NONE;
}

/* Copies the persons that have an id, a username and a DN; prec[i]: person i's record. */
static void
copy_persons(struct dir_snapshot *s, const struct dir_records *r, size_t *prec)
{
	size_t np = 0;

	for (size_t i = 0; i < r->np; i++) {
		const struct dir_prec *p = &r->p[i];
		if (p->id == NULL || p->username == NULL || p->dn == NULL)
			continue;
		copy_person(s, p, &s->persons[np]);
		prec[np++] = i;
	}
	s->npersons = np;
}

/* Units: parents by DN ancestry (or an explicit parent DN), leads, departments. */
static void
link_units(struct dir_snapshot *s, const struct dir_records *r, const size_t *urec)
{
	size_t mask = s->table_size - 1;
	int *unit_dn_table = xmalloc(s->table_size * sizeof(int));

	for (size_t i = 0; i < s->table_size; i++)
		unit_dn_table[i] = DIR_NONE;
	for (size_t i = 0; i < s->nunits; i++) {
		size_t h = dir_lookup_hash(s->units[i].dn, true) & mask;
		while (unit_dn_table[h] != DIR_NONE)
			h = (h + 1) & mask;
		unit_dn_table[h] = (int)i;
	}
	for (size_t i = 0; i < s->nunits; i++) {
		struct dir_unit *d = &s->units[i];
		size_t ri = urec[i];
		if (r->u[ri].parent_dn) {
			d->parent = unit_by_dn(s, r->u[ri].parent_dn, (int)i);
		} else if (r->lists_whole) {
			/* AD: a unit group is a member of its parent unit's group,
			 * as that group's list says now */
			d->parent = units_listing(s, r, urec, d->dn, (int)i);
			if (d->parent == DIR_NONE)
				d->parent = ancestor_unit(s, unit_dn_table, mask, d->dn);
		} else if (r->u[ri].member_of.n > 0 ||
		           units_listing(s, r, urec, d->dn, (int)i) != DIR_NONE) {
			/* AD: a unit group is a member of its parent unit's group */
			for (size_t k = 0; k < r->u[ri].member_of.n && d->parent == DIR_NONE; k++)
				d->parent = unit_by_dn(s, r->u[ri].member_of.v[k], (int)i);
			if (d->parent == DIR_NONE)
				d->parent = units_listing(s, r, urec, d->dn, (int)i);
		} else {
			d->parent = ancestor_unit(s, unit_dn_table, mask, d->dn);
		}
		d->lead = dir_lookup_dn(s, r->u[ri].lead_dn);
	}
	free(unit_dn_table);
	for (size_t i = 0; i < s->nunits; i++) {
		struct dir_unit *d = &s->units[i];
		int top = (int)i, guard = 0;
		if (d->department)
			continue;
		while (s->units[top].parent != DIR_NONE && guard++ < 64)
			top = s->units[top].parent;
		d->department = s->units[top].code;
	}
}

/* AD: the unit groups that are members of a group named with the intake
 * prefix take new cases in through their intake. */
static void
mark_intake_groups(struct dir_snapshot *s, const struct dir_records *r)
{
	size_t plen = strlen(r->intake_prefix);

	for (size_t g = 0; plen && g < r->ng; g++) {
		const struct dir_grec *gr = &r->g[g];
		if (gr->name == NULL || strncasecmp(gr->name, r->intake_prefix, plen) != 0)
			continue;
		for (size_t k = 0; k < gr->members.n; k++) {
			int u = unit_by_dn(s, gr->members.v[k], DIR_NONE);
			if (u != DIR_NONE)
				s->units[u].intake = 1;
		}
	}
}

/* Persons: unit, deputy, manager (a DN, or for AD-style data a username). */
static void
link_persons(struct dir_snapshot *s, const struct dir_records *r, const size_t *urec,
             const size_t *prec)
{
	for (size_t i = 0; i < s->npersons; i++) {
		struct dir_person *d = &s->persons[i];
		size_t ri = prec[i];
		d->unit = dir_lookup_unit(s, r->p[ri].unit_code);
		for (size_t k = 0;
		     d->unit == DIR_NONE && !r->lists_whole && k < r->p[ri].member_of.n; k++)
			d->unit = unit_by_dn(s, r->p[ri].member_of.v[k], DIR_NONE);
		d->deputy = dir_lookup_dn(s, r->p[ri].deputy_dn);
		if (d->deputy == DIR_NONE)
			d->deputy = dir_lookup_username(s, r->p[ri].deputy_dn);
		d->manager = dir_lookup_dn(s, r->p[ri].manager_dn);
		if (d->deputy == (int)i)
			d->deputy = DIR_NONE;
		if (d->manager == (int)i)
			d->manager = DIR_NONE;
	}
	/* AD: the unit groups' member lists name the people (without memberOf,
	 * or with lists_whole, where they come before it) */
	for (size_t j = 0; j < s->nunits; j++) {
		const struct strlist *m = &r->u[urec[j]].members;
		for (size_t k = 0; k < m->n; k++) {
			int p = dir_lookup_dn(s, m->v[k]);
			if (p != DIR_NONE && s->persons[p].unit == DIR_NONE)
				s->persons[p].unit = (int)j;
		}
	}
}

/* Orders: people by name; unit members by name; unit children by code. */
static void
sort_orders(struct dir_snapshot *s)
{
	struct name_sort ns = {s, xmalloc((s->npersons ? s->npersons : 1) * sizeof(*ns.keys))};

	for (size_t i = 0; i < s->npersons; i++)
		collate_key(s->persons[i].display_name, ns.keys[i], sizeof(ns.keys[i]));
	s->by_name = xmalloc((s->npersons ? s->npersons : 1) * sizeof(int));
	for (size_t i = 0; i < s->npersons; i++)
		s->by_name[i] = (int)i;
	qsort_r(s->by_name, s->npersons, sizeof(int), cmp_person_name, &ns);
	for (size_t k = 0; k < s->npersons; k++) {
		int p = s->by_name[k];
		struct dir_unit *u;
		if (s->persons[p].unit == DIR_NONE)
			continue;
		u = &s->units[s->persons[p].unit];
		u->members = xrealloc(u->members, (u->nmembers + 1) * sizeof(int));
		u->members[u->nmembers++] = p;
	}
	for (size_t i = 0; i < s->nunits; i++) {
		int parent = s->units[i].parent;
		if (parent == DIR_NONE)
			continue;
		struct dir_unit *u = &s->units[parent];
		u->children = xrealloc(u->children, (u->nchildren + 1) * sizeof(int));
		u->children[u->nchildren++] = (int)i;
	}
	for (size_t i = 0; i < s->nunits; i++)
		if (s->units[i].nchildren > 1)
			qsort_r(s->units[i].children, s->units[i].nchildren, sizeof(int),
			        cmp_unit_code, s);
	free(ns.keys);
}

/* The last occurrence of needle in the n bytes at h, or NULL. */
static const char *
last_of(const char *h, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = n >= k ? n - k + 1 : 0; i-- > 0;)
		if (memcmp(h + i, needle, k) == 0)
			return h + i;
	return NULL;
}

/*
 * Each person's answer, rendered once and kept in the arena, in three
 * parts: their own fields; "unit" to "allocation", which people of a unit
 * with the same target groups and rules share; "deputy" and "manager",
 * which people with the same manager (and no deputy) share. The shared
 * parts are kept once (559 -> ~330 bytes a person at 200,000). A quote in
 * a value is escaped, so ,"unit": and ,"deputy": occur unescaped only as
 * keys: the first ,"unit": is the person's (the keys before it are
 * strings), the last ,"deputy": too (only a person reference follows it;
 * a target group named "deputy" comes before).
 */
static void
render_people(struct dir_snapshot *s)
{
	for (size_t i = 0; i < s->npersons; i++) {
		struct dir_person *p = &s->persons[i];
		size_t len;
		char *text = dir_render_person(s, (int)i, &len);
		const char *u = strstr(text, ",\"unit\":");
		const char *d = u ? last_of(u, len - (size_t)(u - text), ",\"deputy\":") : NULL;
		size_t own = d ? (size_t)(u - text) : len;
		char *copy = arena_get(&s->arena, own, 1);

		memcpy(copy, text, own);
		p->json = copy;
		p->json_len = (uint32_t)own;
		p->json_mid = p->json_refs = "";
		p->json_mid_len = p->json_refs_len = 0;
		if (d) {
			p->json_refs = intern(s, d);
			p->json_refs_len = (uint32_t)(len - (size_t)(d - text));
			text[d - text] = '\0';
			p->json_mid = intern(s, u);
			p->json_mid_len = (uint32_t)(d - u);
		}
		free(text);
	}
}

/*
 * Builds a snapshot from records (which are copied; the caller keeps them).
 * Persons without a username or id are skipped.
 */
struct dir_snapshot *
dir_snapshot_build(const struct dir_records *r, uint64_t generation)
{
	struct dir_snapshot *s = xcalloc(1, sizeof(*s));
	/* the record each unit and person came from */
	size_t *urec = xmalloc((r->nu ? r->nu : 1) * sizeof(size_t));
	size_t *prec = xmalloc((r->np ? r->np : 1) * sizeof(size_t));

	s->refs = 1;
	s->strings = xcalloc(1, sizeof(*s->strings));
	s->generation = generation;
	s->synced_at = r->synced_at;
	snprintf(s->source, sizeof(s->source), "%s", r->source);
	s->persons = xcalloc(r->np ? r->np : 1, sizeof(*s->persons));
	s->units = xcalloc(r->nu ? r->nu : 1, sizeof(*s->units));
	copy_units(s, r, urec);
	copy_persons(s, r, prec);
	s->table_size = pow2_at_least(2 * (s->npersons > s->nunits ? s->npersons : s->nunits) + 2);
	s->id_table = dir_lookup_table_build(s, T_ID, s->npersons);
	s->dn_table = dir_lookup_table_build(s, T_DN, s->npersons);
	s->username_table = dir_lookup_table_build(s, T_USERNAME, s->npersons);
	s->upn_table = dir_lookup_table_build(s, T_UPN, s->npersons);
	s->unit_table = dir_lookup_table_build(s, T_UNIT, s->nunits);
	link_units(s, r, urec);
	mark_intake_groups(s, r);
	link_persons(s, r, urec, prec);
	free(urec);
	free(prec);
	resolve_groups(s, r);
	sort_orders(s);
	s->index = dir_index_build(s);
	render_people(s);
	strings_free(s);
	return s;
}

void
dir_snapshot_ref(struct dir_snapshot *s)
{
	s->refs++;
}

/* Set when a snapshot was freed and its pages not yet given back. */
static atomic_bool trim_due;

void
dir_snapshot_unref(struct dir_snapshot *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	dir_index_free(s->index);
	dir_rules_cache_free(s->resolve_cache);
	for (size_t i = 0; i < s->nunits; i++) {
		free(s->units[i].children);
		free(s->units[i].members);
	}
	free(s->persons);
	free(s->units);
	free(s->by_name);
	free(s->id_table);
	free(s->dn_table);
	free(s->username_table);
	free(s->upn_table);
	free(s->unit_table);
	arena_free(s->arena);
	free(s);
	atomic_store(&trim_due, true);
}

void
dir_snapshot_trim_soon(void)
{
	atomic_store(&trim_due, true);
}

bool
dir_snapshot_trim_due(void)
{
	return atomic_load(&trim_due);
}

/*
 * A snapshot is hundreds of megabytes at 50,000 people, built on the sync
 * thread's malloc arena: give the pages back once one was freed, or the
 * process keeps the old one's size after every full load (453 MB instead of
 * 266 after a restart that loaded the saved snapshot and then synced). This
 * takes 8-36 ms at 50,000 people, so not on the loop: the sync thread calls
 * it (sync.c, thread_wait). Returns whether a freed snapshot was waiting.
 */
bool
dir_snapshot_trim(void)
{
	if (!atomic_exchange(&trim_due, false))
		return false;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	return true;
}

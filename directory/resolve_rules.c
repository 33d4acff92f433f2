/*
 * resolve_rules.c: the allocation rules of a snapshot (DESIGN.md "Finding
 * the counterpart"), read from the directory's free-text attributes and
 * compiled once per snapshot into flat arrays that resolve.c walks for
 * each resolution.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"
#include "directory.h"
#include "resolve_rules.h"

const char *const dir_rules_kind_names[NKINDS] = {"target_group", "district", "surname",
                                                  "birthday"};

/* ---- reading a rule ---- */

/* One UTF-8 code point at *p, advancing; -1 for a bad sequence. */
static long
utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	long c;
	int n;

	if (s[0] < 0x80) {
		*p += 1;
		return s[0];
	}
	if ((s[0] & 0xe0) == 0xc0)
		c = s[0] & 0x1f, n = 1;
	else if ((s[0] & 0xf0) == 0xe0)
		c = s[0] & 0x0f, n = 2;
	else if ((s[0] & 0xf8) == 0xf0)
		c = s[0] & 0x07, n = 3;
	else
		return -1;
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	*p += n + 1;
	return c;
}

/*
 * The position in the Danish alphabet (A=0 .. Z=25, Æ=26, Ø=27, Å=28) of
 * the letter a name sorts by, or NO_LETTER. "Aa" is Å; é, è, ê, ë sort as
 * E, ü as Y, ö as Ø, ä as Æ, precomposed or with a combining mark.
 */
int
dir_rules_letter(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	long c;

	if (name == NULL)
		return NO_LETTER;
	while (*p == ' ' || *p == '\t')
		p++;
	if ((c = utf8_next(&p)) <= 0)
		return NO_LETTER;
	if (c < 0x80 && isalpha((int)c)) {
		c = toupper((int)c);
		if (c == 'A' && (*p == 'a' || *p == 'A'))
			return 28;
		long next = *p ? utf8_next(&p) : 0;
		if (next == 0x030a && c == 'A')
			return 28;
		if (next == 0x0308 && c == 'A')
			return 26;
		if (next == 0x0308 && c == 'O')
			return 27;
		if (next == 0x0308 && c == 'U')
			return 24;
		return (int)(c - 'A');
	}
	if (c >= 0xe0 && c <= 0xfe)
		c -= 0x20; /* Latin-1 lowercase to uppercase */
	switch (c) {
	case 0xc6: /* Æ */
	case 0xc4: /* Ä */
		return 26;
	case 0xd8: /* Ø */
	case 0xd6: /* Ö */
		return 27;
	case 0xc5: /* Å */
		return 28;
	case 0xc8: /* È */
	case 0xc9: /* É */
	case 0xca: /* Ê */
	case 0xcb: /* Ë */
		return 'E' - 'A';
	case 0xdc: /* Ü */
		return 'Y' - 'A';
	default:
		return NO_LETTER;
	}
}

/* "11" or "5": a day 1..31, else 0. */
static int
rule_day(const char *s)
{
	int v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 2)
		return 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= BIRTHDAY_DAYS ? v : 0;
}

/* The width of a range rule in units of 1/(31*29); -1 if it is malformed. */
long
dir_rules_width(int kind, const struct dir_alloc *a, int *lo, int *hi)
{
	if (kind == K_BIRTHDAY) {
		*lo = rule_day(a->from);
		*hi = a->to ? rule_day(a->to) : *lo;
		if (*lo == 0 || *hi == 0 || *hi < *lo)
			return -1;
		return (long)(*hi - *lo + 1) * DANISH_LETTERS;
	}
	*lo = dir_rules_letter(a->from);
	*hi = a->to ? dir_rules_letter(a->to) : *lo;
	if (*lo == NO_LETTER || *hi == NO_LETTER || *hi < *lo)
		return -1;
	return (long)(*hi - *lo + 1) * BIRTHDAY_DAYS;
}

/* ---- the compiled rules ---- */

char *
dir_rules_folded(const char *s)
{
	size_t n = strlen(s) + 1;
	char *f = xmalloc(n);
	dir_fold(s, f, n);
	return f;
}

static uint32_t
name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

int
dir_rules_name_number(struct resolve_cache *rc, const char *f, bool add)
{
	size_t i;

	if (rc->nslots == 0) {
		if (!add)
			return -2;
		rc->nslots = 256;
		rc->slots = xcalloc(rc->nslots, sizeof(int));
	}
	for (i = name_hash(f) & (rc->nslots - 1); rc->slots[i]; i = (i + 1) & (rc->nslots - 1))
		if (strcmp(rc->names[rc->slots[i] - 1], f) == 0)
			return rc->slots[i] - 1;
	if (!add)
		return -2;
	if (rc->nnames == rc->cap) {
		rc->cap = rc->cap ? 2 * rc->cap : 64;
		rc->names = xrealloc(rc->names, rc->cap * sizeof(char *));
	}
	rc->names[rc->nnames] = xstrdup(f);
	rc->slots[i] = (int)++rc->nnames;
	if (2 * rc->nnames > rc->nslots) { /* grow and rehash */
		free(rc->slots);
		rc->nslots *= 2;
		rc->slots = xcalloc(rc->nslots, sizeof(int));
		for (size_t n = 0; n < rc->nnames; n++) {
			size_t j = name_hash(rc->names[n]) & (rc->nslots - 1);
			while (rc->slots[j])
				j = (j + 1) & (rc->nslots - 1);
			rc->slots[j] = (int)n + 1;
		}
	}
	return (int)rc->nnames - 1;
}

static int
folded_number(struct resolve_cache *rc, const char *s, bool add)
{
	char *f = dir_rules_folded(s);
	int v;

	v = *f ? dir_rules_name_number(rc, f, add) : -1;
	free(f);
	return v;
}

static int
kind_of(const char *name)
{
	for (int k = 0; k < NKINDS; k++)
		if (name && strcmp(name, dir_rules_kind_names[k]) == 0)
			return k;
	return -1;
}

void
dir_rules_cache_free(struct resolve_cache *rc)
{
	if (rc == NULL)
		return;
	for (size_t u = 0; u < rc->nunits; u++) {
		free(rc->units[u].m);
		free(rc->units[u].rules);
		free(rc->units[u].groups);
		free(rc->units[u].classes);
		free(rc->units[u].by_rot);
		free(rc->units[u].rot_hi);
	}
	for (size_t i = 0; i < rc->nnames; i++)
		free(rc->names[i]);
	free(rc->names);
	free(rc->slots);
	free(rc->units);
	free(rc);
}

/* Appends person p's readable rules and groups to unit cu; their kinds. */
static unsigned
compile_person(struct resolve_cache *rc, const struct dir_person *p, struct cunit *cu, size_t *rcap,
               size_t *nrules, size_t *gcap, size_t *ngroups, struct cmember *m)
{
	unsigned kinds = 0;

	m->rule0 = (int)*nrules;
	m->group0 = (int)*ngroups;
	for (size_t k = 0; k < p->nalloc; k++) {
		const struct dir_alloc *a = &p->alloc[k];
		struct crule cr = {0};
		int kind = kind_of(a->kind);

		if (kind < 0 || kind == K_TARGET_GROUP || a->from == NULL)
			continue;
		cr.kind = kind;
		cr.a = a;
		if (kind == K_DISTRICT) {
			if ((cr.district = folded_number(rc, a->from, true)) < 0)
				continue;
		} else if ((cr.width = dir_rules_width(kind, a, &cr.lo, &cr.hi)) < 0) {
			continue; /* a rule we cannot read says nothing */
		}
		if (*nrules == *rcap) {
			*rcap = *rcap ? 2 * *rcap : 64;
			cu->rules = xrealloc(cu->rules, *rcap * sizeof(*cu->rules));
		}
		cu->rules[(*nrules)++] = cr;
		kinds |= 1u << kind;
	}
	for (size_t g = 0; g < p->ntarget_groups; g++) {
		if (*ngroups == *gcap) {
			*gcap = *gcap ? 2 * *gcap : 64;
			cu->groups = xrealloc(cu->groups, *gcap * sizeof(int));
		}
		/* an empty name keeps its place (-1 matches nothing) */
		cu->groups[(*ngroups)++] = folded_number(rc, p->target_groups[g], true);
		kinds |= 1u << K_TARGET_GROUP;
	}
	m->nrules = (int)*nrules - m->rule0;
	m->ngroups = (int)*ngroups - m->group0;
	return kinds;
}

/* ---- classes of members with the same rules (resolve_rules.h) ---- */

static uint64_t
sig_hash(const struct cunit *cu, const struct cmember *m)
{
	uint64_t h = 14695981039346656037ull;
#define MIX(v) (h = (h ^ (uint64_t)(uint32_t)(v)) * 1099511628211ull)
	MIX(m->kinds);
	MIX(m->nrules);
	MIX(m->ngroups);
	for (int i = 0; i < m->nrules; i++) {
		const struct crule *r = &cu->rules[m->rule0 + i];
		MIX(r->kind);
		MIX(r->lo);
		MIX(r->hi);
		MIX(r->district);
		MIX(r->width);
	}
	for (int i = 0; i < m->ngroups; i++)
		MIX(cu->groups[m->group0 + i]);
#undef MIX
	return h;
}

/* Whether a and b are judged the same for every citizen (resolve.c's
 * judge reads nothing else of a member). */
static bool
sig_same(const struct cunit *cu, const struct cmember *a, const struct cmember *b)
{
	if (a->kinds != b->kinds || a->nrules != b->nrules || a->ngroups != b->ngroups)
		return false;
	for (int i = 0; i < a->nrules; i++) {
		const struct crule *x = &cu->rules[a->rule0 + i], *y = &cu->rules[b->rule0 + i];
		if (x->kind != y->kind || x->lo != y->lo || x->hi != y->hi ||
		    x->district != y->district || x->width != y->width)
			return false;
	}
	for (int i = 0; i < a->ngroups; i++)
		if (cu->groups[a->group0 + i] != cu->groups[b->group0 + i])
			return false;
	return true;
}

struct rot_key {
	uint64_t h;
	uint32_t i;
};

static int
rot_key_cmp(const void *a, const void *b)
{
	const struct rot_key *x = a, *y = b;
	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * Groups the unit's members into classes (the same rules), each class's
 * members kept in the unit's order, and orders each class by the rotation's
 * hash (by_rot).
 */
static void
classify(struct cunit *cu)
{
	size_t n = cu->n, nslots = 16, nc = 0;
	uint32_t *slots, *cls, *rep, *count;
	uint64_t *chash;
	struct cmember *m;
	struct rot_key *keys;

	while (nslots < 2 * n)
		nslots *= 2;
	slots = xcalloc(nslots, sizeof(*slots));
	cls = xmalloc((n ? n : 1) * sizeof(*cls));
	rep = xmalloc((n ? n : 1) * sizeof(*rep));
	count = xmalloc((n ? n : 1) * sizeof(*count));
	chash = xmalloc((n ? n : 1) * sizeof(*chash));
	for (size_t i = 0; i < n; i++) {
		uint64_t h = sig_hash(cu, &cu->m[i]);
		size_t j = (size_t)h & (nslots - 1);
		for (; slots[j]; j = (j + 1) & (nslots - 1)) {
			uint32_t c = slots[j] - 1;
			if (chash[c] == h && sig_same(cu, &cu->m[rep[c]], &cu->m[i]))
				break;
		}
		if (slots[j] == 0) {
			rep[nc] = (uint32_t)i;
			chash[nc] = h;
			count[nc] = 0;
			slots[j] = (uint32_t)++nc;
		}
		cls[i] = slots[j] - 1;
		count[cls[i]]++;
	}
	cu->nclasses = nc;
	cu->classes = xmalloc((nc ? nc : 1) * sizeof(*cu->classes));
	for (size_t c = 0, off = 0; c < nc; c++) {
		cu->classes[c].m0 = (uint32_t)off;
		cu->classes[c].n = count[c];
		off += count[c];
		count[c] = cu->classes[c].m0; /* now: the next place */
	}
	m = xmalloc((n ? n : 1) * sizeof(*m));
	for (size_t i = 0; i < n; i++)
		m[count[cls[i]]++] = cu->m[i];
	free(cu->m);
	cu->m = m;
	cu->by_rot = xmalloc((n ? n : 1) * sizeof(*cu->by_rot));
	cu->rot_hi = xmalloc((n ? n : 1) * sizeof(*cu->rot_hi));
	keys = xmalloc((n ? n : 1) * sizeof(*keys));
	for (size_t c = 0; c < nc; c++) {
		const struct cclass *k = &cu->classes[c];
		for (uint32_t i = 0; i < k->n; i++) {
			keys[i].h = m[k->m0 + i].idhash;
			keys[i].i = k->m0 + i;
		}
		qsort(keys, k->n, sizeof(*keys), rot_key_cmp);
		for (uint32_t i = 0; i < k->n; i++) {
			cu->by_rot[k->m0 + i] = keys[i].i;
			cu->rot_hi[k->m0 + i] = (uint32_t)(keys[i].h >> 32);
		}
	}
	free(keys);
	free(slots);
	free(cls);
	free(rep);
	free(count);
	free(chash);
}

static struct resolve_cache *
cache_build(const struct dir_snapshot *s)
{
	struct resolve_cache *rc = xcalloc(1, sizeof(*rc));

	rc->nunits = s->nunits;
	rc->units = xcalloc(s->nunits ? s->nunits : 1, sizeof(*rc->units));
	for (size_t u = 0; u < s->nunits; u++) {
		const struct dir_unit *unit = &s->units[u];
		struct cunit *cu = &rc->units[u];
		size_t rcap = 0, nrules = 0, gcap = 0, ngroups = 0;

		cu->m = xcalloc(unit->nmembers ? unit->nmembers : 1, sizeof(*cu->m));
		for (size_t i = 0; i < unit->nmembers; i++) {
			int p = unit->members[i];
			struct cmember *m = &cu->m[cu->n];
			size_t r0 = nrules, g0 = ngroups;

			if (p < 0 || (size_t)p >= s->npersons || p == unit->lead)
				continue;
			m->person = p;
			m->pos = (int)i;
			m->idhash = dir_rules_id_hash(s->persons[p].id);
			m->kinds = compile_person(rc, &s->persons[p], cu, &rcap, &nrules, &gcap,
			                          &ngroups, m);
			if (m->kinds == 0) { /* no rule: never a candidate */
				nrules = r0;
				ngroups = g0;
				continue;
			}
			cu->uses |= m->kinds;
			cu->n++;
		}
		classify(cu);
	}
	return rc;
}

/* FNV-1a over the stable id: the same on every daemon and every snapshot,
 * unlike a person's index, so a rotation's turn does not move with a
 * directory refresh. */
uint64_t
dir_rules_id_hash(const char *id)
{
	uint64_t h = 14695981039346656037ull;
	for (const unsigned char *p = (const unsigned char *)(id ? id : ""); *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

struct resolve_cache *
dir_rules_of(const struct dir_snapshot *s)
{
	if (s->resolve_cache == NULL)
		((struct dir_snapshot *)(uintptr_t)s)->resolve_cache = cache_build(s);
	return s->resolve_cache;
}

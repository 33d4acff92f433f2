/*
 * sync_map.c: LDAP entries to records. Reads people, units and groups (all,
 * or those changed since a mark) and maps each entry by the layout and the
 * map_* keys into the records the sync holds; an incremental run updates
 * the records in place, finding each by its stable id (objectGUID,
 * entryUUID; by DN for records without one), and makes the references by
 * DN follow a rename.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "stafetd.h"
#include "directory.h"
#include "sync.h"

/* GeneralizedTime "YYYYMMDDHHMMSS[.f]Z" ↔ seconds; 0 when unparsable. */
static double
gtime_parse(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strlen(s) < 14 ||
	    sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	           &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm);
}

static void
gtime_format(double t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 16, "%Y%m%d%H%M%SZ", &tm);
}

enum { REC_PERSON, REC_UNIT, REC_GROUP };

static const char *
rec_dn(const struct dir_records *r, int kind, size_t i)
{
	return kind == REC_PERSON ? r->p[i].dn : kind == REC_UNIT ? r->u[i].dn : r->g[i].dn;
}

static const char *
rec_id(const struct dir_records *r, int kind, size_t i)
{
	return kind == REC_PERSON ? r->p[i].id : kind == REC_UNIT ? r->u[i].id : r->g[i].id;
}

static size_t
rec_count(const struct dir_records *r, int kind)
{
	return kind == REC_PERSON ? r->np : kind == REC_UNIT ? r->nu : r->ng;
}

/* The lookup keys of a record: "i:" and its stable id (objectGUID,
 * entryUUID), "d:" and its lowercased DN. */
static char *
rec_key(char tag, const char *s)
{
	char *k;
	xasprintf(&k, "%c:%s", tag, s);
	if (tag == 'd')
		for (char *p = k + 2; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return k;
}

static void
index_put(json_t *ix, char tag, const char *s, size_t i)
{
	char *k;
	if (s == NULL)
		return;
	k = rec_key(tag, s);
	json_object_set_new(ix, k, json_integer((json_int_t)i));
	free(k);
}

static long
index_get(json_t *ix, char tag, const char *s)
{
	char *k;
	json_t *v;
	if (s == NULL)
		return -1;
	k = rec_key(tag, s);
	v = json_object_get(ix, k);
	free(k);
	return v ? (long)json_integer_value(v) : -1;
}

/*
 * The index of the record of the entry with this stable id and DN, or -1.
 * The id decides: a rename (modrdn) or a move between OUs changes the DN,
 * not the id, and the record found keeps its place (the caller notes the
 * rename). By DN only for a record without an id (one saved before ids
 * were kept) or an entry without one. An incremental run looks up every
 * entry it reads (after a bulk change, tens of thousands), so the records
 * get a hash table for the run; a full load starts empty and needs none.
 */
static long
find_record(struct dir_load *l, int kind, const char *id, const char *dn)
{
	long i;

	if (l->full)
		return -1;
	if (l->by_dn[kind] == NULL) {
		l->by_dn[kind] = json_object();
		for (size_t j = 0; j < rec_count(l->r, kind); j++) {
			index_put(l->by_dn[kind], 'i', rec_id(l->r, kind, j), j);
			index_put(l->by_dn[kind], 'd', rec_dn(l->r, kind, j), j);
		}
	}
	if ((i = index_get(l->by_dn[kind], 'i', id)) >= 0)
		return i;
	i = index_get(l->by_dn[kind], 'd', dn);
	if (i >= 0 && id && rec_id(l->r, kind, (size_t)i) &&
	    strcmp(rec_id(l->r, kind, (size_t)i), id) != 0)
		return -1; /* another entry now holds that DN */
	return i;
}

static void
note_record(struct dir_load *l, int kind, const char *id, const char *dn, size_t i)
{
	if (l->by_dn[kind] == NULL)
		return;
	index_put(l->by_dn[kind], 'i', id, i);
	index_put(l->by_dn[kind], 'd', dn, i);
}

/* Aliases past this many are not kept (a mass rename is a case for a
 * reconcile after the references are mended in the directory). */
#define MAX_ALIASES 100000

/* The record about to take the entry's DN `dn`: a DN that changed is a
 * rename, kept in the records' aliases to mend references to it. */
static void
note_rename(struct dir_load *l, const char *old_dn, const char *dn)
{
	json_t *al;
	const char *k;
	json_t *v;
	char *ok, *nk;

	if (old_dn == NULL || dn == NULL || dir_lookup_dn_equal(old_dn, dn))
		return;
	if (l->r->aliases == NULL)
		l->r->aliases = json_object();
	al = l->r->aliases;
	if (json_object_size(al) >= MAX_ALIASES) {
		log_warnx("directory: %d renames kept; older references are not mended",
		          MAX_ALIASES);
		return;
	}
	ok = rec_key('d', old_dn);
	nk = rec_key('d', dn);
	json_object_foreach (al, k, v) /* earlier names now lead here too */
		if (dir_lookup_dn_equal(json_string_value(v), old_dn))
			json_object_set_new(al, k, json_string(dn));
	json_object_del(al, nk + 2); /* renamed back: that name is current again */
	json_object_set_new(al, ok + 2, json_string(dn));
	free(ok);
	free(nk);
	l->renamed++;
}

void
dir_map_load_done(struct dir_load *l)
{
	for (int k = 0; k < 3; k++) {
		json_decref(l->by_dn[k]);
		l->by_dn[k] = NULL;
	}
}

/* A DN reference renamed in this run: its new DN in place of the old. */
static void
rename_ref(json_t *al, char **ref)
{
	char *k;
	json_t *v;
	if (*ref == NULL)
		return;
	k = rec_key('d', *ref);
	v = json_object_get(al, k + 2);
	free(k);
	if (v) {
		free(*ref);
		*ref = xstrdup(json_string_value(v));
	}
}

static void
rename_refs(json_t *al, struct strlist *v)
{
	for (size_t i = 0; i < v->n; i++)
		rename_ref(al, &v->v[i]);
}

/*
 * References by DN (group and unit members, memberOf, deputies, managers,
 * leads, parents) follow the renames: AD rewrites a renamed member's DN in
 * its groups without touching the groups' uSNChanged, so the incremental
 * refresh does not re-read them; slapd without refint keeps the old DN;
 * a deputy in a free-text attribute keeps it in both. Every entry read is
 * mended as it is stored, every record after a run that renamed.
 */
static void
mend_person(json_t *al, struct dir_prec *p)
{
	rename_ref(al, &p->deputy_dn);
	rename_ref(al, &p->manager_dn);
	rename_refs(al, &p->member_of);
}

static void
mend_unit(json_t *al, struct dir_urec *u)
{
	rename_ref(al, &u->lead_dn);
	rename_ref(al, &u->parent_dn);
	rename_refs(al, &u->members);
	rename_refs(al, &u->member_of);
}

static void
mend_group(json_t *al, struct dir_grec *g)
{
	rename_refs(al, &g->members);
}

/* After a run that renamed entries: every record's references follow. */
static void
apply_renames(struct dir_load *l)
{
	struct dir_records *r = l->r;

	if (l->renamed == 0 || r->aliases == NULL)
		return;
	for (size_t i = 0; i < r->np; i++)
		mend_person(r->aliases, &r->p[i]);
	for (size_t i = 0; i < r->nu; i++)
		mend_unit(r->aliases, &r->u[i]);
	for (size_t i = 0; i < r->ng; i++)
		mend_group(r->aliases, &r->g[i]);
}

static bool
is_ad(const struct dir_load *l)
{
	return l->cfg->layout == DIR_LAYOUT_AD;
}

/*
 * Notes an entry's change marks: the layout's change attribute moves the
 * high-water mark; the record's `modified` (entryCSN, finer than a second,
 * else the change attribute) tells whether it differs from the one held.
 */
static void
note_entry(struct dir_load *l, LDAP *ld, LDAPMessage *e, const char *old_mark, const char *new_mark)
{
	char *v = dir_ldap_first(ld, e, is_ad(l) ? "uSNChanged" : "modifyTimestamp");
	double t = is_ad(l) ? (v ? strtod(v, NULL) : 0) : gtime_parse(v);
	free(v);
	if (t > l->newest)
		l->newest = t;
	if (old_mark == NULL || new_mark == NULL || strcmp(old_mark, new_mark) != 0)
		l->changed++;
}

static char *
change_mark(const struct dir_load *l, LDAP *ld, LDAPMessage *e)
{
	char *m = dir_ldap_first(ld, e, "entryCSN");
	if (m)
		return m;
	return dir_ldap_first(ld, e, is_ad(l) ? "uSNChanged" : "modifyTimestamp");
}

/* Values of an attribute, each split on ';' (AD packs lists into one value). */
static void
all_split(LDAP *ld, LDAPMessage *e, const char *attr, struct strlist *out)
{
	struct strlist raw = {0};
	dir_ldap_all(ld, e, attr, &raw);
	for (size_t i = 0; i < raw.n; i++) {
		char *save = NULL;
		for (char *t = strtok_r(raw.v[i], ";", &save); t; t = strtok_r(NULL, ";", &save)) {
			while (*t == ' ')
				t++;
			if (*t)
				strlist_push(out, t);
		}
	}
	strlist_free(&raw);
}

static char *
entry_dn(LDAP *ld, LDAPMessage *e)
{
	char *dn = ldap_get_dn(ld, e), *copy = dn ? xstrdup(dn) : NULL;
	ldap_memfree(dn);
	return copy;
}

static char *
entry_id(const struct dir_load *l, LDAP *ld, LDAPMessage *e)
{
	if (!is_ad(l))
		return dir_ldap_first(ld, e, "entryUUID");
	struct berval **v = ldap_get_values_len(ld, e, "objectGUID");
	char *s = v && v[0]
	              ? dir_ldap_guid_string((const unsigned char *)v[0]->bv_val, v[0]->bv_len)
	              : NULL;
	ldap_value_free_len(v);
	return s;
}

/*
 * If the attribute description a is attr's "attr;range=LOW-HIGH", the next
 * step's description ("attr;range=HIGH+1-*") into *next, unless HIGH is "*"
 * (the last chunk). True if a is one of attr's chunks.
 */
static bool
range_chunk(const char *a, const char *attr, size_t alen, char **next)
{
	const char *low, *dash;
	char *end;
	unsigned long long high;

	if (strncasecmp(a, attr, alen) != 0 || strncasecmp(a + alen, ";range=", 7) != 0)
		return false;
	low = a + alen + 7;
	dash = strchr(low, '-');
	if (dash == NULL || dash == low)
		return false;
	if (dash[1] == '*' || *next != NULL)
		return true;
	high = strtoull(dash + 1, &end, 10);
	if (end != dash + 1 && *end == '\0')
		xasprintf(next, "%s;range=%llu-*", attr, high + 1);
	return true;
}

/* The values of e's chunks of attr into out; the next step into *next. */
static void
take_chunks(LDAP *ld, LDAPMessage *e, const char *attr, struct strlist *out, char **next)
{
	BerElement *ber = NULL;
	size_t alen = strlen(attr);
	char *a;

	for (a = ldap_first_attribute(ld, e, &ber); a; a = ldap_next_attribute(ld, e, ber)) {
		if (range_chunk(a, attr, alen, next))
			dir_ldap_all(ld, e, a, out);
		ldap_memfree(a);
	}
	ber_free(ber, 0);
}

/*
 * The values of a multi-valued attribute, following AD's range retrieval:
 * past MaxValRange (1,500) values AD answers "member;range=0-1499" and the
 * rest must be asked for in further steps ("member;range=1500-*", and so
 * on until a chunk ends in "*"). 0, or -1 when a step fails: then the
 * values are not whole and the caller fails the round rather than keep a
 * list cut short (the error is logged, without the entry's DN, which may
 * name a person).
 */
static int
all_ranged(LDAP *ld, LDAPMessage *e, const struct dir_ldap_cfg *cfg, const char *attr,
           struct strlist *out)
{
	char *dn = NULL, *next = NULL;
	int rc = LDAP_SUCCESS, step;

	dir_ldap_all(ld, e, attr, out);
	take_chunks(ld, e, attr, out, &next);
	dn = next ? ldap_get_dn(ld, e) : NULL;
	for (step = 0; next && dn && step < 10000; step++) {
		char *attrs[] = {next, NULL};
		LDAPMessage *res = NULL, *f;
		struct timeval tv = clock_timeval(cfg->timeout);
		char *more = NULL;

		rc = ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL,
		                       NULL, &tv, 0, &res);
		if (rc == LDAP_SUCCESS && (f = ldap_first_entry(ld, res)) != NULL)
			take_chunks(ld, f, attr, out, &more);
		ldap_msgfree(res);
		free(next);
		next = more;
		if (rc != LDAP_SUCCESS)
			break;
	}
	ldap_memfree(dn);
	if (next != NULL || rc != LDAP_SUCCESS) {
		log_warnx("directory: range retrieval of %s failed at step %d: %s", attr, step + 1,
		          rc != LDAP_SUCCESS ? ldap_err2string(rc) : "too many steps");
		free(next);
		return -1;
	}
	return 0;
}

static bool
map_person(struct dir_load *l, LDAP *ld, LDAPMessage *e, struct dir_prec *p)
{
	const struct dir_ldap_cfg *c = l->cfg;
	const struct dir_layout *lay = dir_cfg_layout_of(c->layout);

	if (dir_ldap_account_state(ld, e, c->layout) != NULL)
		return false; /* disabled or expired: left out */
	p->dn = entry_dn(ld, e);
	p->id = entry_id(l, ld, e);
	p->username = dir_ldap_first(ld, e, lay->username);
	p->upn = lay->upn ? dir_ldap_first(ld, e, lay->upn) : NULL;
	p->display_name = dir_ldap_first(ld, e, "displayName");
	if (p->display_name == NULL)
		p->display_name = dir_ldap_first(ld, e, "cn");
	p->given_name = dir_ldap_first(ld, e, "givenName");
	p->surname = dir_ldap_first(ld, e, "sn");
	p->title = dir_ldap_first(ld, e, "title");
	p->email = dir_ldap_first(ld, e, "mail");
	p->phone = dir_ldap_first(ld, e, "telephoneNumber");
	p->mobile = dir_ldap_first(ld, e, "mobile");
	p->office = dir_ldap_first(ld, e, "physicalDeliveryOfficeName");
	if (!dir_cfg_group_prefix(c->map_unit))
		p->unit_code = dir_ldap_first(ld, e, c->map_unit);
	p->deputy_dn = dir_ldap_first(ld, e, c->map_deputy);
	p->manager_dn = dir_ldap_first(ld, e, "manager");
	p->absent_from = dir_ldap_first(ld, e, c->map_absent_from);
	p->absent_until = dir_ldap_first(ld, e, c->map_absent_until);
	p->modified = change_mark(l, ld, e);
	if (!dir_cfg_group_prefix(c->map_target_groups))
		dir_ldap_all(ld, e, c->map_target_groups, &p->target_groups);
	all_split(ld, e, c->map_allocation, &p->allocation);
	if (all_ranged(ld, e, c, lay->member_of, &p->member_of) == -1)
		l->failed = true;
	return true;
}

static void
map_unit(struct dir_load *l, LDAP *ld, LDAPMessage *e, struct dir_urec *u)
{
	const struct dir_ldap_cfg *c = l->cfg;
	const struct dir_layout *lay = dir_cfg_layout_of(c->layout);
	/* a unit group's code is its name less the prefix */
	const char *prefix = dir_cfg_group_prefix(c->map_unit)
	                         ? dir_cfg_group_prefix(c->map_unit)
	                         : dir_cfg_group_prefix(lay->unit_code);

	u->dn = entry_dn(ld, e);
	u->id = entry_id(l, ld, e);
	if (prefix) {
		char *cn = dir_ldap_first(ld, e, "cn");
		size_t n = strlen(prefix);
		if (cn && strncasecmp(cn, prefix, n) == 0 && cn[n] != '\0')
			u->code = xstrdup(cn + n);
		free(cn);
	} else {
		u->code = dir_ldap_first(ld, e, lay->unit_code);
	}
	u->name = dir_ldap_first(ld, e, lay->unit_name);
	if (u->name == NULL)
		u->name = dir_ldap_first(ld, e, is_ad(l) ? "cn" : "ou");
	u->department = lay->unit_department ? dir_ldap_first(ld, e, lay->unit_department) : NULL;
	u->mailbox = dir_ldap_first(ld, e, lay->unit_mailbox);
	u->lead_dn = dir_ldap_first(ld, e, lay->unit_lead);
	if (!dir_cfg_group_prefix(c->map_unit_intake))
		u->intake = dir_ldap_first(ld, e, c->map_unit_intake);
	u->modified = change_mark(l, ld, e);
	for (int k = 0; k < 3; k++)
		all_split(ld, e, c->map_kle[k], &u->kle[k]);
	if (is_ad(l)) {
		if (all_ranged(ld, e, c, "member", &u->members) == -1 ||
		    all_ranged(ld, e, c, lay->member_of, &u->member_of) == -1)
			l->failed = true;
	}
}

static void
map_group(struct dir_load *l, LDAP *ld, LDAPMessage *e, struct dir_grec *g)
{
	g->dn = entry_dn(ld, e);
	g->id = entry_id(l, ld, e);
	g->name = dir_ldap_first(ld, e, "cn");
	g->modified = change_mark(l, ld, e);
	if (all_ranged(ld, e, l->cfg, "member", &g->members) == -1)
		l->failed = true;
	dir_ldap_all(ld, e, "uniqueMember", &g->members);
}

/* Drops a held person record (an account disabled or expired since). */
static void
drop_person(struct dir_load *l, const char *id, const char *dn)
{
	struct dir_records *r = l->r;
	long i = dn ? find_record(l, REC_PERSON, id, dn) : -1;
	char *k;

	if (i < 0)
		return;
	k = rec_key('i', r->p[i].id ? r->p[i].id : "");
	json_object_del(l->by_dn[REC_PERSON], k);
	free(k);
	k = rec_key('d', r->p[i].dn ? r->p[i].dn : "");
	json_object_del(l->by_dn[REC_PERSON], k);
	free(k);
	dir_records_free_person(&r->p[i]);
	r->p[i] = r->p[--r->np];
	if ((size_t)i < r->np)
		note_record(l, REC_PERSON, r->p[i].id, r->p[i].dn, (size_t)i);
	l->changed++;
}

static int
person_cb(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct dir_load *l = arg;
	struct dir_prec tmp = {0}, *p = NULL;
	long i;

	if (!map_person(l, ld, e, &tmp)) {
		char *dn = entry_dn(ld, e), *id = entry_id(l, ld, e);
		drop_person(l, id, dn);
		free(dn);
		free(id);
		l->skipped++;
		return 0;
	}
	if (tmp.dn == NULL || l->failed) {
		dir_records_free_person(&tmp);
		return l->failed ? -1 : 0;
	}
	if ((i = find_record(l, REC_PERSON, tmp.id, tmp.dn)) >= 0)
		p = &l->r->p[i];
	note_entry(l, ld, e, p ? p->modified : NULL, tmp.modified);
	if (l->r->aliases)
		mend_person(l->r->aliases, &tmp);
	dir_records_pack_person(&tmp); /* ~18 allocations become ~5 */
	if (p) {
		note_rename(l, p->dn, tmp.dn);
		dir_records_free_person(p);
		note_record(l, REC_PERSON, tmp.id, tmp.dn, (size_t)i);
	} else {
		p = dir_records_add_person(l->r);
		note_record(l, REC_PERSON, tmp.id, tmp.dn, l->r->np - 1);
	}
	*p = tmp;
	return 0;
}

static int
unit_cb(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct dir_load *l = arg;
	struct dir_urec tmp = {0}, *u = NULL;
	long i;

	map_unit(l, ld, e, &tmp);
	if (tmp.dn == NULL || l->failed) {
		dir_records_free_unit(&tmp);
		return l->failed ? -1 : 0;
	}
	if ((i = find_record(l, REC_UNIT, tmp.id, tmp.dn)) >= 0)
		u = &l->r->u[i];
	note_entry(l, ld, e, u ? u->modified : NULL, tmp.modified);
	if (l->r->aliases)
		mend_unit(l->r->aliases, &tmp);
	if (u) {
		note_rename(l, u->dn, tmp.dn);
		dir_records_free_unit(u);
		note_record(l, REC_UNIT, tmp.id, tmp.dn, (size_t)i);
	} else {
		u = dir_records_add_unit(l->r);
		note_record(l, REC_UNIT, tmp.id, tmp.dn, l->r->nu - 1);
	}
	*u = tmp;
	return 0;
}

static int
group_cb(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct dir_load *l = arg;
	struct dir_grec tmp = {0}, *g = NULL;
	long i;

	map_group(l, ld, e, &tmp);
	if (tmp.dn == NULL || l->failed) {
		dir_records_free_group(&tmp);
		return l->failed ? -1 : 0;
	}
	if ((i = find_record(l, REC_GROUP, tmp.id, tmp.dn)) >= 0)
		g = &l->r->g[i];
	note_entry(l, ld, e, g ? g->modified : NULL, tmp.modified);
	if (l->r->aliases)
		mend_group(l->r->aliases, &tmp);
	if (g) {
		note_rename(l, g->dn, tmp.dn);
		dir_records_free_group(g);
		note_record(l, REC_GROUP, tmp.id, tmp.dn, (size_t)i);
	} else {
		g = dir_records_add_group(l->r);
		note_record(l, REC_GROUP, tmp.id, tmp.dn, l->r->ng - 1);
	}
	*g = tmp;
	return 0;
}

/*
 * Reads people, units and groups into the load's records: all of them
 * (`since` < 0), or those changed since the mark (OpenLDAP: modifyTimestamp
 * at or after it, less the overlap; AD: uSNChanged above it). Returns an
 * LDAP result code.
 */
int
dir_map_read(LDAP *ld, const struct dir_ldap_cfg *cfg, double since, struct dir_load *l, char *err,
             size_t errsz)
{
	struct {
		const char *base, *filter;
		char **attrs;
		dir_entry_cb cb;
	} parts[] = {
	    {cfg->units_base, cfg->units_filter, cfg->unit_attrs, unit_cb},
	    {cfg->groups_base, cfg->groups_filter, cfg->group_attrs, group_cb},
	    {cfg->people_base, cfg->people_filter, cfg->person_attrs, person_cb},
	};
	char since_cond[64] = "";
	int rc = LDAP_SUCCESS;

	if (since >= 0 && cfg->layout == DIR_LAYOUT_AD) {
		snprintf(since_cond, sizeof(since_cond), "(uSNChanged>=%.0f)", since + 1);
	} else if (since >= 0) {
		char ts[16];
		gtime_format(since - cfg->overlap, ts);
		snprintf(since_cond, sizeof(since_cond), "(modifyTimestamp>=%s)", ts);
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && rc == LDAP_SUCCESS; i++) {
		char *filter;
		if (*since_cond)
			xasprintf(&filter, "(&%s%s)", parts[i].filter, since_cond);
		else
			filter = xstrdup(parts[i].filter);
		rc = dir_ldap_search(ld, cfg, parts[i].base, filter, parts[i].attrs, parts[i].cb, l,
		                     err, errsz);
		free(filter);
	}
	apply_renames(l);
	return rc;
}

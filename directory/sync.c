/*
 * sync.c: mirrors the directory into snapshots, on a worker thread.
 *
 * The thread connects (best server first, see ldap.c), loads people,
 * units and groups in full, then refreshes incrementally (entries with
 * modifyTimestamp at or after the last one seen, less an overlap window)
 * and reloads in full every reconcile interval, which is how deletions are
 * seen. Each change becomes a new immutable snapshot, built on the thread
 * and handed to the loop through a pipe; the loop swaps it in. Requests only
 * ever read the loop's current snapshot, so none waits on LDAP.
 *
 * The records behind the last snapshot are saved to a file (written whole,
 * then renamed) and loaded at start, so a restart while LDAP is down still
 * answers, marked stale.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "stafetd.h"
#include "directory.h"
#include "sync.h"

#define BACKOFF_MIN 1.0
#define BACKOFF_MAX 60.0

/*
 * The two layouts. OpenLDAP: Stafet's schema (schema/ldap/stafet.schema),
 * units are organizationalUnits nested by DN. Active Directory: the schema
 * is not extended, so units are groups named PREFIX<code> nested by
 * membership, target groups are groups too, and the rest sits in
 * extensionAttributes; ids are objectGUIDs; disabled and expired accounts
 * are left out. The map_* keys change any of the mapped attributes.
 */
struct layout {
	const char *people_filter, *units_filter, *groups_filter;
	const char *id, *username, *upn, *change, *member_of;
	const char *unit, *target_groups, *allocation, *deputy, *absent_from, *absent_until;
	const char *unit_code, *unit_name, *unit_department, *unit_mailbox, *unit_lead;
	const char *kle[3];
};
static const struct layout layouts[] = {
    [DIR_LAYOUT_OPENLDAP] = {"(objectClass=inetOrgPerson)",
                             "(objectClass=stafetUnit)",
                             "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
                             "entryUUID",
                             "uid",
                             NULL,
                             "modifyTimestamp",
                             "memberOf",
                             "stafetUnitCode",
                             "stafetTargetGroup",
                             "stafetAllocation",
                             "stafetDeputy",
                             "stafetAbsentFrom",
                             "stafetAbsentUntil",
                             "stafetUnitCode",
                             "description",
                             "stafetDepartment",
                             "stafetMailbox",
                             "stafetLead",
                             {"stafetKleResponsible", "stafetKlePerforming", "stafetKleInsight"}},
    [DIR_LAYOUT_AD] = {"(&(objectCategory=person)(objectClass=user))",
                       "(&(objectClass=group)(cn=stafet-unit-*))",
                       "(objectClass=group)",
                       "objectGUID",
                       "sAMAccountName",
                       "userPrincipalName",
                       "uSNChanged",
                       "memberOf",
                       "group:stafet-unit-",
                       "group:stafet-tg-",
                       "extensionAttribute2",
                       "extensionAttribute3",
                       "extensionAttribute4",
                       "extensionAttribute5",
                       "group:stafet-unit-",
                       "description",
                       NULL,
                       "mail",
                       "managedBy",
                       {"extensionAttribute1", "extensionAttribute2", "extensionAttribute3"}},
};

/* "group:PREFIX" → PREFIX; NULL for a plain attribute. */
static const char *
group_prefix(const char *map)
{
	return map && strncmp(map, "group:", 6) == 0 ? map + 6 : NULL;
}

static void
attrs_add(char ***v, size_t *n, const char *a)
{
	if (a == NULL || *a == '\0' || group_prefix(a))
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcasecmp((*v)[i], a) == 0)
			return;
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(a);
	(*v)[*n] = NULL;
}

static void
attrs_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* -- state shared between the loop and the thread, under `mu` -------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static bool running;
static bool stop_requested;
static bool wake_requested;
static struct dir_ldap_cfg *next_cfg; /* a reload's settings, for the thread */
static struct dir_snapshot *pending;  /* built by the thread, for the loop */
static int wake_pipe[2] = {-1, -1};
static struct {
	double last_attempt, last_success, last_full_seconds, last_incr_seconds;
	unsigned long long ldap_errors, full_syncs, incremental_syncs, save_errors;
	char server[256];
	char last_error[512];
	bool failing;
	uint64_t generation_synced; /* the snapshot that last_success confirms */
} stats;

/* -- loop side ---------------------------------------------------------------- */

static struct dir_snapshot *current;
static struct event *wake_ev;
static bool configured;
static uint64_t generation;

struct dir_snapshot *
dir_current(void)
{
	return current;
}

bool
dir_configured(void)
{
	return configured;
}

/* Stale: served from a saved file, or the last attempt to sync failed. */
/*
 * When the data served was last confirmed against LDAP: a refresh that finds
 * nothing changed publishes no snapshot but still confirms the one in use.
 */
double
dir_synced_at(void)
{
	double t = current ? current->synced_at : 0;
	pthread_mutex_lock(&mu);
	if (!stats.failing && stats.last_success > t && current &&
	    current->generation == stats.generation_synced)
		t = stats.last_success;
	pthread_mutex_unlock(&mu);
	return t;
}

bool
dir_stale(void)
{
	bool stale;
	pthread_mutex_lock(&mu);
	stale = stats.failing || stats.last_success == 0;
	pthread_mutex_unlock(&mu);
	return stale;
}

static void
install(struct dir_snapshot *s)
{
	struct dir_snapshot *old = current;
	current = s;
	dir_snapshot_unref(old);
	/* Giving the pages back takes milliseconds: the thread does it. A
	 * snapshot a request still held is freed later, and trimmed at the
	 * thread's next wake. */
	if (running && dir_snapshot_trim_due()) {
		pthread_mutex_lock(&mu);
		pthread_cond_signal(&cond);
		pthread_mutex_unlock(&mu);
	}
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[64];
	struct dir_snapshot *s;
	(void)what;
	(void)arg;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&mu);
	s = pending;
	pending = NULL;
	pthread_mutex_unlock(&mu);
	if (s) {
		log_info("directory: snapshot %llu: %zu people, %zu units",
		         (unsigned long long)s->generation, s->npersons, s->nunits);
		install(s);
	}
}

static char *
dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

/* A copy of what the LDAP code needs from the configuration; see sync.h. */
struct dir_ldap_cfg *
dir_ldap_cfg_new(const struct config *c)
{
	struct dir_ldap_cfg *d = xcalloc(1, sizeof(*d));
	const char *why = NULL;

	if (dir_parse_uris(c->ldap_uri, &d->servers, &d->nservers, &why) == -1)
		log_warnx("directory: ldap_uri: %s", why); /* --check-config said so too */
	d->starttls = c->ldap_starttls;
	d->allow_plaintext = c->ldap_allow_plaintext;
	d->ca_file = dup_or_null(c->ldap_ca_file);
	d->bind_dn = dup_or_null(c->ldap_bind_dn);
	d->bind_password = dup_or_null(c->ldap_bind_password);
	d->connect_timeout = c->ldap_connect_timeout;
	d->timeout = c->ldap_timeout;
	d->page_size = c->ldap_page_size;
	d->layout = c->directory_layout;
	d->people_base = xstrdup(c->directory_people_base);
	d->people_filter = xstrdup(c->directory_people_filter);
	d->units_base =
	    xstrdup(*c->directory_units_base ? c->directory_units_base : c->directory_people_base);
	d->units_filter = xstrdup(c->directory_units_filter);
	d->groups_base = xstrdup(*c->directory_groups_base ? c->directory_groups_base
	                                                   : c->directory_people_base);
	d->groups_filter = xstrdup(c->directory_groups_filter);
	d->refresh_interval = c->directory_refresh_interval;
	d->reconcile_interval = c->directory_reconcile_interval;
	d->overlap = c->directory_overlap;
	d->probe_interval = c->directory_probe_interval;
	d->snapshot_file = dup_or_null(c->directory_snapshot_file);

	const struct layout *l = &layouts[d->layout];
	if (!*c->directory_people_filter) {
		free(d->people_filter);
		d->people_filter = xstrdup(l->people_filter);
	}
	if (!*c->directory_units_filter) {
		free(d->units_filter);
		d->units_filter = xstrdup(l->units_filter);
	}
	if (!*c->directory_groups_filter) {
		free(d->groups_filter);
		d->groups_filter = xstrdup(l->groups_filter);
	}
	d->map_unit = xstrdup(*c->map_unit ? c->map_unit : l->unit);
	d->map_target_groups =
	    xstrdup(*c->map_target_groups ? c->map_target_groups : l->target_groups);
	d->map_allocation = xstrdup(*c->map_allocation ? c->map_allocation : l->allocation);
	d->map_deputy = xstrdup(*c->map_deputy ? c->map_deputy : l->deputy);
	d->map_absent_from = xstrdup(*c->map_absent_from ? c->map_absent_from : l->absent_from);
	d->map_absent_until = xstrdup(*c->map_absent_until ? c->map_absent_until : l->absent_until);

	size_t np = 0, nu = 0, ng = 0;
	const char *pa[] = {l->id,
	                    l->username,
	                    l->upn,
	                    "displayName",
	                    "cn",
	                    "givenName",
	                    "sn",
	                    "title",
	                    "mail",
	                    "telephoneNumber",
	                    "mobile",
	                    "physicalDeliveryOfficeName",
	                    "manager",
	                    l->member_of,
	                    d->map_unit,
	                    d->map_target_groups,
	                    d->map_allocation,
	                    d->map_deputy,
	                    d->map_absent_from,
	                    d->map_absent_until,
	                    l->change,
	                    "entryCSN",
	                    d->layout == DIR_LAYOUT_AD ? "userAccountControl"
	                                               : "pwdAccountLockedTime",
	                    d->layout == DIR_LAYOUT_AD ? "accountExpires" : "shadowExpire"};
	for (size_t i = 0; i < sizeof(pa) / sizeof(pa[0]); i++)
		attrs_add(&d->person_attrs, &np, pa[i]);
	const char *ua[] = {
	    l->unit_code,    "cn",         "ou",      l->unit_name, l->unit_department,
	    l->unit_mailbox, l->unit_lead, l->kle[0], l->kle[1],    l->kle[2],
	    l->change,       "entryCSN",   "member",  l->member_of};
	for (size_t i = 0; i < sizeof(ua) / sizeof(ua[0]); i++)
		attrs_add(&d->unit_attrs, &nu, ua[i]);
	const char *ga[] = {"cn", "member", "uniqueMember", l->change, "entryCSN"};
	for (size_t i = 0; i < sizeof(ga) / sizeof(ga[0]); i++)
		attrs_add(&d->group_attrs, &ng, ga[i]);
	return d;
}

void
dir_ldap_cfg_free(struct dir_ldap_cfg *d)
{
	if (d == NULL)
		return;
	dir_free_servers(d->servers, d->nservers);
	if (d->bind_password)
		explicit_wipe(d->bind_password, strlen(d->bind_password));
	free(d->bind_password);
	free(d->ca_file);
	free(d->bind_dn);
	free(d->people_base);
	free(d->people_filter);
	free(d->units_base);
	free(d->units_filter);
	free(d->groups_base);
	free(d->groups_filter);
	free(d->snapshot_file);
	free(d->map_unit);
	free(d->map_target_groups);
	free(d->map_allocation);
	free(d->map_deputy);
	free(d->map_absent_from);
	free(d->map_absent_until);
	attrs_free(d->person_attrs);
	attrs_free(d->unit_attrs);
	attrs_free(d->group_attrs);
	free(d);
}

/* Loads the saved records, if any, as a first (stale) snapshot. */
static void
load_saved(const char *path)
{
	json_error_t err;
	struct dir_records r;
	json_t *doc;

	if (path == NULL)
		return;
	if ((doc = json_load_file(path, 0, &err)) == NULL) {
		if (access(path, F_OK) == 0)
			log_warnx("directory: cannot read saved snapshot %s: %s", path, err.text);
		return;
	}
	if (dir_records_from_json(doc, &r) == -1) {
		log_warnx("directory: saved snapshot %s has an unknown format; ignored", path);
		json_decref(doc);
		return;
	}
	json_decref(doc);
	install(dir_snapshot_build(&r, ++generation));
	log_notice("directory: loaded saved snapshot from %s (%zu people, synced %.0f s ago)", path,
	           current->npersons, clock_wall() - current->synced_at);
	dir_records_free(&r);
}

/* -- thread side ----------------------------------------------------------------- */

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

struct load {
	const struct dir_ldap_cfg *cfg;
	struct dir_records *r;
	double newest;    /* the highest change mark seen: modifyTimestamp s, or uSNChanged */
	size_t changed;   /* entries new or different from the record held */
	size_t skipped;   /* AD accounts disabled or expired */
	bool full;        /* a full load into empty records: nothing to look up */
	json_t *by_dn[3]; /* incremental: lowercased DN → record index, per kind */
};

enum { REC_PERSON, REC_UNIT, REC_GROUP };

static char *
dn_key(const char *dn)
{
	char *k = xstrdup(dn);
	for (char *p = k; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

static const char *
rec_dn(const struct dir_records *r, int kind, size_t i)
{
	return kind == REC_PERSON ? r->p[i].dn : kind == REC_UNIT ? r->u[i].dn : r->g[i].dn;
}

static size_t
rec_count(const struct dir_records *r, int kind)
{
	return kind == REC_PERSON ? r->np : kind == REC_UNIT ? r->nu : r->ng;
}

/*
 * The index of the record with this DN, or -1. An incremental run looks up
 * every entry it reads (after a bulk change, tens of thousands), so the
 * records get a hash table for the run; a full load starts empty and
 * needs none.
 */
static long
find_record(struct load *l, int kind, const char *dn)
{
	if (l->full)
		return -1;
	if (l->by_dn[kind] == NULL) {
		l->by_dn[kind] = json_object();
		for (size_t i = 0; i < rec_count(l->r, kind); i++) {
			if (rec_dn(l->r, kind, i) == NULL)
				continue;
			char *k = dn_key(rec_dn(l->r, kind, i));
			json_object_set_new(l->by_dn[kind], k, json_integer((json_int_t)i));
			free(k);
		}
	}
	char *k = dn_key(dn);
	json_t *v = json_object_get(l->by_dn[kind], k);
	free(k);
	return v ? (long)json_integer_value(v) : -1;
}

static void
note_record(struct load *l, int kind, const char *dn, size_t i)
{
	if (l->by_dn[kind] == NULL)
		return;
	char *k = dn_key(dn);
	json_object_set_new(l->by_dn[kind], k, json_integer((json_int_t)i));
	free(k);
}

static void
load_done(struct load *l)
{
	for (int k = 0; k < 3; k++) {
		json_decref(l->by_dn[k]);
		l->by_dn[k] = NULL;
	}
}

static bool
is_ad(const struct load *l)
{
	return l->cfg->layout == DIR_LAYOUT_AD;
}

/*
 * Notes an entry's change marks: the layout's change attribute moves the
 * high-water mark; the record's `modified` (entryCSN, finer than a second,
 * else the change attribute) tells whether it differs from the one held.
 */
static void
note_entry(struct load *l, LDAP *ld, LDAPMessage *e, const char *old_mark, const char *new_mark)
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
change_mark(const struct load *l, LDAP *ld, LDAPMessage *e)
{
	char *m = dir_ldap_first(ld, e, "entryCSN");
	if (m)
		return m;
	return dir_ldap_first(ld, e, is_ad(l) ? "uSNChanged" : "modifyTimestamp");
}

/* Values of an attribute, each split on ';' (AD packs lists into one value). */
static void
all_split(LDAP *ld, LDAPMessage *e, const char *attr, struct strv *out)
{
	struct strv raw = {0};
	dir_ldap_all(ld, e, attr, &raw);
	for (size_t i = 0; i < raw.n; i++) {
		char *save = NULL;
		for (char *t = strtok_r(raw.v[i], ";", &save); t; t = strtok_r(NULL, ";", &save)) {
			while (*t == ' ')
				t++;
			if (*t)
				strv_add(out, t);
		}
	}
	strv_free(&raw);
}

static char *
entry_dn(LDAP *ld, LDAPMessage *e)
{
	char *dn = ldap_get_dn(ld, e), *copy = dn ? xstrdup(dn) : NULL;
	ldap_memfree(dn);
	return copy;
}

static char *
entry_id(const struct load *l, LDAP *ld, LDAPMessage *e)
{
	if (!is_ad(l))
		return dir_ldap_first(ld, e, "entryUUID");
	struct berval **v = ldap_get_values_len(ld, e, "objectGUID");
	char *s =
	    v && v[0] ? dir_guid_string((const unsigned char *)v[0]->bv_val, v[0]->bv_len) : NULL;
	ldap_value_free_len(v);
	return s;
}

/*
 * The values of a multi-valued attribute, following AD's range retrieval:
 * past 1,500 values AD answers "member;range=0-1499" and the rest must be
 * asked for in further steps ("member;range=1500-*").
 */
static void
all_ranged(LDAP *ld, LDAPMessage *e, const struct dir_ldap_cfg *cfg, const char *attr,
           struct strv *out)
{
	BerElement *ber = NULL;
	char *a, *dn = NULL, *next = NULL;
	size_t alen = strlen(attr);

	dir_ldap_all(ld, e, attr, out);
	for (a = ldap_first_attribute(ld, e, &ber); a; a = ldap_next_attribute(ld, e, ber)) {
		if (strncasecmp(a, attr, alen) == 0 && strncasecmp(a + alen, ";range=", 7) == 0) {
			const char *dash = strchr(a + alen + 7, '-');
			dir_ldap_all(ld, e, a, out);
			if (dash && dash[1] != '*' && next == NULL)
				xasprintf(&next, "%s;range=%llu-*", attr,
				          strtoull(dash + 1, NULL, 10) + 1);
		}
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	dn = next ? ldap_get_dn(ld, e) : NULL;
	for (int step = 0; next && dn && step < 10000; step++) {
		char *attrs[] = {next, NULL};
		LDAPMessage *res = NULL, *f;
		struct timeval tv = {(time_t)cfg->timeout, 0};
		char *more = NULL;
		if (ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL,
		                      NULL, &tv, 0, &res) != LDAP_SUCCESS) {
			ldap_msgfree(res);
			log_warnx("directory: range retrieval of %s stopped early", attr);
			break;
		}
		if ((f = ldap_first_entry(ld, res)) != NULL) {
			for (a = ldap_first_attribute(ld, f, &ber); a;
			     a = ldap_next_attribute(ld, f, ber)) {
				if (strncasecmp(a, attr, alen) == 0) {
					const char *dash = strchr(a, '-');
					dir_ldap_all(ld, f, a, out);
					if (dash && dash[1] != '*' && more == NULL)
						xasprintf(&more, "%s;range=%llu-*", attr,
						          strtoull(dash + 1, NULL, 10) + 1);
				}
				ldap_memfree(a);
			}
			ber_free(ber, 0);
		}
		ldap_msgfree(res);
		free(next);
		next = more;
	}
	free(next);
	ldap_memfree(dn);
}

static bool
map_person(struct load *l, LDAP *ld, LDAPMessage *e, struct dir_prec *p)
{
	const struct dir_ldap_cfg *c = l->cfg;
	const struct layout *lay = &layouts[c->layout];

	if (dir_account_state(ld, e, c->layout) != NULL)
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
	if (!group_prefix(c->map_unit))
		p->unit_code = dir_ldap_first(ld, e, c->map_unit);
	p->deputy_dn = dir_ldap_first(ld, e, c->map_deputy);
	p->manager_dn = dir_ldap_first(ld, e, "manager");
	p->absent_from = dir_ldap_first(ld, e, c->map_absent_from);
	p->absent_until = dir_ldap_first(ld, e, c->map_absent_until);
	p->modified = change_mark(l, ld, e);
	if (!group_prefix(c->map_target_groups))
		dir_ldap_all(ld, e, c->map_target_groups, &p->target_groups);
	all_split(ld, e, c->map_allocation, &p->allocation);
	dir_ldap_all(ld, e, lay->member_of, &p->member_of);
	return true;
}

static void
map_unit(struct load *l, LDAP *ld, LDAPMessage *e, struct dir_urec *u)
{
	const struct dir_ldap_cfg *c = l->cfg;
	const struct layout *lay = &layouts[c->layout];
	/* a unit group's code is its name less the prefix */
	const char *prefix =
	    group_prefix(c->map_unit) ? group_prefix(c->map_unit) : group_prefix(lay->unit_code);

	u->dn = entry_dn(ld, e);
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
	u->modified = change_mark(l, ld, e);
	for (int k = 0; k < 3; k++)
		all_split(ld, e, lay->kle[k], &u->kle[k]);
	if (is_ad(l)) {
		all_ranged(ld, e, c, "member", &u->members);
		dir_ldap_all(ld, e, lay->member_of, &u->member_of);
	}
}

static void
map_group(struct load *l, LDAP *ld, LDAPMessage *e, struct dir_grec *g)
{
	g->dn = entry_dn(ld, e);
	g->name = dir_ldap_first(ld, e, "cn");
	g->modified = change_mark(l, ld, e);
	all_ranged(ld, e, l->cfg, "member", &g->members);
	dir_ldap_all(ld, e, "uniqueMember", &g->members);
}

/* Drops a held person record (an account disabled or expired since). */
static void
drop_person(struct load *l, const char *dn)
{
	struct dir_records *r = l->r;
	long i = dn ? find_record(l, REC_PERSON, dn) : -1;

	if (i < 0)
		return;
	char *k = dn_key(dn);
	json_object_del(l->by_dn[REC_PERSON], k);
	free(k);
	dir_prec_free(&r->p[i]);
	r->p[i] = r->p[--r->np];
	if ((size_t)i < r->np && r->p[i].dn)
		note_record(l, REC_PERSON, r->p[i].dn, (size_t)i);
	l->changed++;
}

static int
person_cb(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct load *l = arg;
	struct dir_prec tmp = {0}, *p = NULL;
	long i;

	if (!map_person(l, ld, e, &tmp)) {
		char *dn = entry_dn(ld, e);
		drop_person(l, dn);
		free(dn);
		l->skipped++;
		return 0;
	}
	if (tmp.dn == NULL) {
		dir_prec_free(&tmp);
		return 0;
	}
	if ((i = find_record(l, REC_PERSON, tmp.dn)) >= 0)
		p = &l->r->p[i];
	note_entry(l, ld, e, p ? p->modified : NULL, tmp.modified);
	if (p) {
		dir_prec_free(p);
	} else {
		p = dir_records_add_person(l->r);
		note_record(l, REC_PERSON, tmp.dn, l->r->np - 1);
	}
	*p = tmp;
	return 0;
}

static int
unit_cb(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct load *l = arg;
	struct dir_urec tmp = {0}, *u = NULL;
	long i;

	map_unit(l, ld, e, &tmp);
	if (tmp.dn == NULL) {
		dir_urec_free(&tmp);
		return 0;
	}
	if ((i = find_record(l, REC_UNIT, tmp.dn)) >= 0)
		u = &l->r->u[i];
	note_entry(l, ld, e, u ? u->modified : NULL, tmp.modified);
	if (u) {
		dir_urec_free(u);
	} else {
		u = dir_records_add_unit(l->r);
		note_record(l, REC_UNIT, tmp.dn, l->r->nu - 1);
	}
	*u = tmp;
	return 0;
}

static int
group_cb(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct load *l = arg;
	struct dir_grec tmp = {0}, *g = NULL;
	long i;

	map_group(l, ld, e, &tmp);
	if (tmp.dn == NULL) {
		dir_grec_free(&tmp);
		return 0;
	}
	if ((i = find_record(l, REC_GROUP, tmp.dn)) >= 0)
		g = &l->r->g[i];
	note_entry(l, ld, e, g ? g->modified : NULL, tmp.modified);
	if (g) {
		dir_grec_free(g);
	} else {
		g = dir_records_add_group(l->r);
		note_record(l, REC_GROUP, tmp.dn, l->r->ng - 1);
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
static int
read_all(LDAP *ld, const struct dir_ldap_cfg *cfg, double since, struct load *l, char *err,
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
	return rc;
}

static bool unsaved; /* a published change not yet in the file (sync thread only) */

/* Writes the records to the snapshot file: whole, synced, then renamed in. */
static void
save_records(const struct dir_ldap_cfg *cfg, const struct dir_records *r)
{
	char tmp[PATH_MAX];
	json_t *doc;
	int fd, rc;

	if (cfg->snapshot_file == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", cfg->snapshot_file);
	doc = dir_records_to_json(r);
	rc = json_dump_file(doc, tmp, JSON_COMPACT);
	json_decref(doc);
	if (rc == 0 && (fd = open(tmp, O_RDONLY | O_CLOEXEC)) != -1) {
		rc = fsync(fd);
		close(fd);
	}
	if (rc != 0 || rename(tmp, cfg->snapshot_file) == -1) {
		pthread_mutex_lock(&mu);
		stats.save_errors++;
		pthread_mutex_unlock(&mu);
		log_warn("directory: cannot save the snapshot to %s", cfg->snapshot_file);
		unlink(tmp);
	}
}

/*
 * The saved file is for restarts while LDAP is down; a minute behind is
 * fine there, and writing 50,000 people on every small change is not.
 */
#define SAVE_INTERVAL 60.0

static void
publish(struct dir_records *r, const struct dir_ldap_cfg *cfg, uint64_t gen, bool full)
{
	static double last_save;
	struct dir_snapshot *s = dir_snapshot_build(r, gen), *old;

	pthread_mutex_lock(&mu);
	old = pending; /* the loop has not taken the previous one: replace it */
	pending = s;
	/* fresh from here on: a reader must not see the new data called stale */
	if (stats.failing)
		log_notice("directory: synced again from %s", stats.server);
	stats.failing = false;
	stats.last_success = r->synced_at;
	stats.generation_synced = gen;
	pthread_mutex_unlock(&mu);
	if (old)
		dir_snapshot_unref(old);
	if (write(wake_pipe[1], "x", 1) == -1 && errno != EAGAIN)
		log_warn("directory: wake the loop");
	if (full || clock_mono() - last_save >= SAVE_INTERVAL) {
		save_records(cfg, r);
		unsaved = false;
		last_save = clock_mono();
	} else {
		unsaved = true;
	}
}

/* A quiet refresh writes what the last changes left unsaved. */
static void
flush_unsaved(const struct dir_ldap_cfg *cfg, const struct dir_records *r)
{
	save_records(cfg, r);
	unsaved = false;
}

static void
note_failure(const char *err)
{
	pthread_mutex_lock(&mu);
	stats.ldap_errors++;
	if (!stats.failing || strcmp(stats.last_error, err) != 0)
		log_warnx("directory: %s", err);
	stats.failing = true;
	snprintf(stats.last_error, sizeof(stats.last_error), "%s", err);
	pthread_mutex_unlock(&mu);
}

/*
 * The socket of the connection in use, so that a stop can cut a blocking
 * LDAP call short (shutdown() makes it return at once) instead of waiting
 * for ldap_timeout. Guarded by `mu`.
 */
static int active_fd = -1;

/* For ldap.c: stop trying servers once a stop was asked for. */
bool
dir_sync_stopping(void)
{
	bool stop;
	pthread_mutex_lock(&mu);
	stop = stop_requested;
	pthread_mutex_unlock(&mu);
	return stop;
}

static void
ld_track(LDAP *ld)
{
	int fd = -1;
	/* LDAP_OPT_DESC can succeed and give -1 (STYLE.md): check both */
	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS)
		fd = -1;
	pthread_mutex_lock(&mu);
	active_fd = fd;
	if (stop_requested && fd >= 0)
		shutdown(fd, SHUT_RDWR);
	pthread_mutex_unlock(&mu);
}

static void
ld_close(LDAP *ld)
{
	pthread_mutex_lock(&mu);
	active_fd = -1;
	pthread_mutex_unlock(&mu);
	ldap_unbind_ext_s(ld, NULL, NULL);
}

/*
 * Waits up to `secs`, or until woken. Returns false when asked to stop.
 * Meanwhile gives freed snapshots' pages back (dir_snapshot_trim), which
 * is too slow for the loop.
 */
static bool
thread_wait(double secs)
{
	struct timespec ts;
	bool go_on;

	dir_snapshot_trim();
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)secs;
	ts.tv_nsec += (long)((secs - floor(secs)) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mu);
	while (!stop_requested && !wake_requested) {
		if (dir_snapshot_trim_due()) {
			pthread_mutex_unlock(&mu); /* the loop takes mu: not held for the trim */
			dir_snapshot_trim();
			pthread_mutex_lock(&mu);
			continue;
		}
		if (pthread_cond_timedwait(&cond, &mu, &ts) == ETIMEDOUT)
			break;
	}
	wake_requested = false;
	go_on = !stop_requested;
	pthread_mutex_unlock(&mu);
	return go_on;
}

static void *
sync_main(void *arg)
{
	struct dir_ldap_cfg *cfg = arg;
	struct dir_records recs = {0};
	bool have = false;
	LDAP *ld = NULL;
	size_t server = 0, full_server = 0;
	double last_full = 0, last_probe = 0, newest = 0, backoff = BACKOFF_MIN;
	uint64_t gen = generation;
	char err[512];

	for (;;) {
		double t0 = clock_mono(), started = clock_wall();
		bool full, ok = false;
		int rc;

		bool reconfigured = false;
		pthread_mutex_lock(&mu);
		if (next_cfg) {
			dir_ldap_cfg_free(cfg);
			cfg = next_cfg;
			next_cfg = NULL;
			reconfigured = true;
			have = false; /* new settings: read everything again */
		}
		stats.last_attempt = started;
		pthread_mutex_unlock(&mu);
		/* ld_close takes mu itself: after the unlock (a reload once hung here) */
		if (reconfigured && ld) {
			ld_close(ld);
			ld = NULL;
		}

		/* Back to a preferred server once it answers; keep this one until then. */
		if (ld && cfg->servers[server].priority > 0 &&
		    t0 - last_probe >= cfg->probe_interval) {
			size_t better;
			LDAP *nld;
			last_probe = t0;
			nld = dir_ldap_connect(cfg, cfg->servers[server].priority, &better, err,
			                       sizeof(err));
			if (nld) {
				log_notice("directory: back to %s", cfg->servers[better].uri);
				pthread_mutex_lock(&mu);
				snprintf(stats.server, sizeof(stats.server), "%s",
				         cfg->servers[better].uri);
				pthread_mutex_unlock(&mu);
				ld_close(ld);
				ld = nld;
				ld_track(ld);
				server = better;
			}
		}
		for (int attempt = 0; attempt < 2 && !ok; attempt++) {
			if (ld == NULL) {
				ld = dir_ldap_connect(cfg, INT_MAX, &server, err, sizeof(err));
				if (ld == NULL)
					break;
				ld_track(ld);
				last_probe = t0;
				pthread_mutex_lock(&mu);
				snprintf(stats.server, sizeof(stats.server), "%s",
				         cfg->servers[server].uri);
				pthread_mutex_unlock(&mu);
				log_info("directory: connected to %s", cfg->servers[server].uri);
			}
			/* AD's change numbers are per controller: another one means
			 * reading everything again. */
			full = !have || t0 - last_full >= cfg->reconcile_interval ||
			       (cfg->layout == DIR_LAYOUT_AD && server != full_server);
			if (full) {
				struct dir_records fresh = {0};
				struct load l = {cfg, &fresh, 0, 0, 0, true, {NULL}};
				rc = read_all(ld, cfg, -1, &l, err, sizeof(err));
				load_done(&l);
				if (rc == LDAP_SUCCESS) {
					dir_records_free(&recs);
					recs = fresh;
					have = true;
					last_full = t0;
					newest = l.newest;
					recs.synced_at = started;
					full_server = server;
					snprintf(recs.source, sizeof(recs.source), "%s",
					         cfg->servers[server].uri);
					if (group_prefix(cfg->map_target_groups))
						snprintf(recs.target_group_prefix,
						         sizeof(recs.target_group_prefix), "%s",
						         group_prefix(cfg->map_target_groups));
					publish(&recs, cfg, ++gen, true);
					pthread_mutex_lock(&mu);
					stats.full_syncs++;
					stats.last_full_seconds = clock_mono() - t0;
					pthread_mutex_unlock(&mu);
					ok = true;
				} else {
					dir_records_free(&fresh);
				}
			} else {
				struct load l = {cfg, &recs, newest, 0, 0, false, {NULL}};
				rc = read_all(ld, cfg, newest, &l, err, sizeof(err));
				load_done(&l);
				if (rc == LDAP_SUCCESS) {
					/* Entries in the overlap window come back every time;
					 * publish only when one of them is new or changed. */
					bool changed = l.changed > 0;
					if (l.newest > newest)
						newest = l.newest;
					recs.synced_at = started;
					if (changed)
						publish(&recs, cfg, ++gen, false);
					else if (unsaved && cfg->snapshot_file)
						flush_unsaved(cfg, &recs);
					pthread_mutex_lock(&mu);
					stats.incremental_syncs++;
					stats.last_incr_seconds = clock_mono() - t0;
					pthread_mutex_unlock(&mu);
					ok = true;
				}
			}
			if (!ok) {
				/* The server failed us: drop it and try the list again. */
				ld_close(ld);
				ld = NULL;
			}
		}
		if (ok) {
			pthread_mutex_lock(&mu);
			if (stats.failing)
				log_notice("directory: synced again from %s", stats.server);
			stats.failing = false;
			stats.last_success = started;
			pthread_mutex_unlock(&mu);
			backoff = BACKOFF_MIN;
			if (!thread_wait(cfg->refresh_interval))
				break;
		} else {
			note_failure(err);
			double wait = fmin(backoff, cfg->refresh_interval);
			wait *= 0.75 + 0.5 * ((double)random() / RAND_MAX);
			backoff = fmin(backoff * 2, BACKOFF_MAX);
			if (!thread_wait(wait))
				break;
		}
	}
	if (ld)
		ld_close(ld);
	if (unsaved && have)
		flush_unsaved(cfg, &recs);
	dir_records_free(&recs);
	dir_ldap_cfg_free(cfg);
	return NULL;
}

/* -- control from the loop ------------------------------------------------------- */

void
dir_sync_start(struct event_base *base, const struct config *c)
{
	configured = *c->ldap_uri != '\0';
	if (!configured)
		return;
	load_saved(*c->directory_snapshot_file ? c->directory_snapshot_file : NULL);
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("directory: pipe");
	wake_ev = event_new(base, wake_pipe[0], EV_READ | EV_PERSIST, wake_cb, NULL);
	event_add(wake_ev, NULL);
	struct dir_ldap_cfg *cfg = dir_ldap_cfg_new(c);
	if (pthread_create(&thread, NULL, sync_main, cfg) != 0)
		fatalx("directory: cannot start the sync thread");
	running = true;
}

/* A reload: the thread picks the new settings up and reads everything again. */
void
dir_sync_reconfigure(const struct config *c)
{
	if (!running) {
		if (*c->ldap_uri)
			log_warnx("config: ldap_uri set; takes effect at restart");
		return;
	}
	pthread_mutex_lock(&mu);
	dir_ldap_cfg_free(next_cfg);
	next_cfg = dir_ldap_cfg_new(c);
	wake_requested = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&mu);
}

void
dir_sync_stop(void)
{
	if (running) {
		pthread_mutex_lock(&mu);
		stop_requested = true;
		if (active_fd >= 0)
			shutdown(active_fd, SHUT_RDWR); /* cut a blocking search short */
		pthread_cond_signal(&cond);
		pthread_mutex_unlock(&mu);
		/* A connect in progress still ends within ldap_connect_timeout. */
		pthread_join(thread, NULL);
		running = false;
		dir_ldap_cfg_free(next_cfg);
		next_cfg = NULL;
		dir_snapshot_unref(pending);
		pending = NULL;
	}
	if (wake_ev) {
		event_free(wake_ev);
		wake_ev = NULL;
	}
	for (int i = 0; i < 2; i++)
		if (wake_pipe[i] != -1) {
			close(wake_pipe[i]);
			wake_pipe[i] = -1;
		}
	install(NULL);
}

void
dir_metrics_render(struct evbuffer *b)
{
	if (!configured)
		return;
	double synced_at = dir_synced_at();
	pthread_mutex_lock(&mu);
	evbuffer_add_printf(
	    b,
	    "# HELP stafet_directory_snapshot_age_seconds Age of the LDAP read behind the "
	    "snapshot served.\n# TYPE stafet_directory_snapshot_age_seconds gauge\n"
	    "stafet_directory_snapshot_age_seconds %.3f\n"
	    "# TYPE stafet_directory_snapshot_people gauge\nstafet_directory_snapshot_people %zu\n"
	    "# TYPE stafet_directory_snapshot_units gauge\nstafet_directory_snapshot_units %zu\n"
	    "# TYPE stafet_directory_stale gauge\nstafet_directory_stale %d\n"
	    "# TYPE stafet_directory_full_sync_seconds gauge\n"
	    "stafet_directory_full_sync_seconds %.3f\n"
	    "# TYPE stafet_directory_incremental_sync_seconds gauge\n"
	    "stafet_directory_incremental_sync_seconds %.3f\n"
	    "# TYPE stafet_directory_full_syncs_total counter\n"
	    "stafet_directory_full_syncs_total %llu\n"
	    "# TYPE stafet_directory_incremental_syncs_total counter\n"
	    "stafet_directory_incremental_syncs_total %llu\n"
	    "# TYPE stafet_directory_ldap_errors_total counter\n"
	    "stafet_directory_ldap_errors_total %llu\n"
	    "# TYPE stafet_directory_save_errors_total counter\n"
	    "stafet_directory_save_errors_total %llu\n"
	    "# HELP stafet_directory_server The LDAP server in use.\n"
	    "# TYPE stafet_directory_server gauge\nstafet_directory_server{uri=\"%s\"} 1\n",
	    current ? clock_wall() - synced_at : -1.0, current ? current->npersons : 0,
	    current ? current->nunits : 0, stats.failing || stats.last_success == 0,
	    stats.last_full_seconds, stats.last_incr_seconds, stats.full_syncs,
	    stats.incremental_syncs, stats.ldap_errors, stats.save_errors, stats.server);
	pthread_mutex_unlock(&mu);
}

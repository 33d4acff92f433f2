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
#include <sys/stat.h>

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

/* Attribute names of the OpenLDAP layout (schema/ldap/stafet.schema). */
static char *person_attrs[] = {
    "entryUUID",     "uid",	      "displayName",	 "cn",
    "givenName",     "sn",	      "title",		 "mail",
    "telephoneNumber", "mobile",       "physicalDeliveryOfficeName", "stafetUnitCode",
    "stafetTargetGroup", "stafetAllocation", "stafetDeputy", "stafetAbsentFrom",
    "stafetAbsentUntil", "manager",	"memberOf",	 "modifyTimestamp",
    "entryCSN", NULL,
};
static char *unit_attrs[] = {
    "stafetUnitCode", "description", "ou",		  "stafetDepartment",
    "stafetMailbox",  "stafetLead",  "stafetKleResponsible", "stafetKlePerforming",
    "stafetKleInsight", "modifyTimestamp", "entryCSN", NULL,
};
static char *group_attrs[] = {"cn", "member", "uniqueMember", "modifyTimestamp", "entryCSN",
			      NULL};

/* -- state shared between the loop and the thread, under `mu` -------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static bool running;
static bool stop_requested;
static bool wake_requested;
static struct dir_ldap_cfg *next_cfg;	   /* a reload's settings, for the thread */
static struct dir_snapshot *pending;	   /* built by the thread, for the loop */
static int wake_pipe[2] = {-1, -1};
static struct {
	double last_attempt, last_success, last_full_seconds, last_incr_seconds;
	unsigned long long ldap_errors, full_syncs, incremental_syncs, save_errors;
	char server[256];
	char last_error[512];
	bool failing;
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

static struct dir_ldap_cfg *
cfg_copy(const struct config *c)
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
	d->units_base = xstrdup(*c->directory_units_base ? c->directory_units_base
							  : c->directory_people_base);
	d->units_filter = xstrdup(c->directory_units_filter);
	d->groups_base = xstrdup(*c->directory_groups_base ? c->directory_groups_base
							    : c->directory_people_base);
	d->groups_filter = xstrdup(c->directory_groups_filter);
	d->refresh_interval = c->directory_refresh_interval;
	d->reconcile_interval = c->directory_reconcile_interval;
	d->overlap = c->directory_overlap;
	d->probe_interval = c->directory_probe_interval;
	d->snapshot_file = dup_or_null(c->directory_snapshot_file);
	return d;
}

static void
cfg_free(struct dir_ldap_cfg *d)
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
	log_notice("directory: loaded saved snapshot from %s (%zu people, synced %.0f s ago)",
		   path, current->npersons, now_wall() - current->synced_at);
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
	double newest;	/* the latest modifyTimestamp seen */
	size_t changed; /* entries new or different from the record held */
};

/*
 * Notes an entry's change marks: modifyTimestamp moves the high-water mark;
 * the record's `modified` (entryCSN, finer than a second, else the
 * timestamp) tells whether it differs from the one held.
 */
static void
note_entry(struct load *l, LDAP *ld, LDAPMessage *e, const char *old_mark, const char *new_mark)
{
	char *ts = dir_ldap_first(ld, e, "modifyTimestamp");
	double t = gtime_parse(ts);
	free(ts);
	if (t > l->newest)
		l->newest = t;
	if (old_mark == NULL || new_mark == NULL || strcmp(old_mark, new_mark) != 0)
		l->changed++;
}

/* entryCSN where the server keeps it (OpenLDAP), else modifyTimestamp. */
static char *
change_mark(LDAP *ld, LDAPMessage *e)
{
	char *m = dir_ldap_first(ld, e, "entryCSN");
	return m ? m : dir_ldap_first(ld, e, "modifyTimestamp");
}

static void
map_person(LDAP *ld, LDAPMessage *e, struct dir_prec *p)
{
	char *dn = ldap_get_dn(ld, e);
	p->dn = dn ? xstrdup(dn) : NULL;
	ldap_memfree(dn);
	p->id = dir_ldap_first(ld, e, "entryUUID");
	p->username = dir_ldap_first(ld, e, "uid");
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
	p->unit_code = dir_ldap_first(ld, e, "stafetUnitCode");
	p->deputy_dn = dir_ldap_first(ld, e, "stafetDeputy");
	p->manager_dn = dir_ldap_first(ld, e, "manager");
	p->absent_from = dir_ldap_first(ld, e, "stafetAbsentFrom");
	p->absent_until = dir_ldap_first(ld, e, "stafetAbsentUntil");
	p->modified = change_mark(ld, e);
	dir_ldap_all(ld, e, "stafetTargetGroup", &p->target_groups);
	dir_ldap_all(ld, e, "stafetAllocation", &p->allocation);
	dir_ldap_all(ld, e, "memberOf", &p->member_of);
}

static void
map_unit(LDAP *ld, LDAPMessage *e, struct dir_urec *u)
{
	char *dn = ldap_get_dn(ld, e);
	u->dn = dn ? xstrdup(dn) : NULL;
	ldap_memfree(dn);
	u->code = dir_ldap_first(ld, e, "stafetUnitCode");
	u->name = dir_ldap_first(ld, e, "description");
	if (u->name == NULL)
		u->name = dir_ldap_first(ld, e, "ou");
	u->department = dir_ldap_first(ld, e, "stafetDepartment");
	u->mailbox = dir_ldap_first(ld, e, "stafetMailbox");
	u->lead_dn = dir_ldap_first(ld, e, "stafetLead");
	u->modified = change_mark(ld, e);
	dir_ldap_all(ld, e, "stafetKleResponsible", &u->kle[0]);
	dir_ldap_all(ld, e, "stafetKlePerforming", &u->kle[1]);
	dir_ldap_all(ld, e, "stafetKleInsight", &u->kle[2]);
}

static void
map_group(LDAP *ld, LDAPMessage *e, struct dir_grec *g)
{
	char *dn = ldap_get_dn(ld, e);
	g->dn = dn ? xstrdup(dn) : NULL;
	ldap_memfree(dn);
	g->name = dir_ldap_first(ld, e, "cn");
	g->modified = change_mark(ld, e);
	dir_ldap_all(ld, e, "member", &g->members);
	dir_ldap_all(ld, e, "uniqueMember", &g->members);
}

/* Finds a record by DN (linear: incremental batches are small). */
#define FIND_BY_DN(arr, n, key, out)                                                                \
	do {                                                                                       \
		(out) = NULL;                                                                      \
		for (size_t i_ = 0; i_ < (n); i_++)                                                \
			if ((arr)[i_].dn && strcasecmp((arr)[i_].dn, (key)) == 0) {                  \
				(out) = &(arr)[i_];                                                \
				break;                                                             \
			}                                                                          \
	} while (0)

static int
person_cb(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct load *l = arg;
	struct dir_prec tmp = {0}, *p;
	map_person(ld, e, &tmp);
	if (tmp.dn == NULL) {
		dir_prec_free(&tmp);
		return 0;
	}
	FIND_BY_DN(l->r->p, l->r->np, tmp.dn, p);
	note_entry(l, ld, e, p ? p->modified : NULL, tmp.modified);
	if (p)
		dir_prec_free(p);
	else
		p = dir_records_add_person(l->r);
	*p = tmp;
	return 0;
}

static int
unit_cb(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct load *l = arg;
	struct dir_urec tmp = {0}, *u;
	map_unit(ld, e, &tmp);
	if (tmp.dn == NULL) {
		dir_urec_free(&tmp);
		return 0;
	}
	FIND_BY_DN(l->r->u, l->r->nu, tmp.dn, u);
	note_entry(l, ld, e, u ? u->modified : NULL, tmp.modified);
	if (u)
		dir_urec_free(u);
	else
		u = dir_records_add_unit(l->r);
	*u = tmp;
	return 0;
}

static int
group_cb(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct load *l = arg;
	struct dir_grec tmp = {0}, *g;
	map_group(ld, e, &tmp);
	if (tmp.dn == NULL) {
		dir_grec_free(&tmp);
		return 0;
	}
	FIND_BY_DN(l->r->g, l->r->ng, tmp.dn, g);
	note_entry(l, ld, e, g ? g->modified : NULL, tmp.modified);
	if (g)
		dir_grec_free(g);
	else
		g = dir_records_add_group(l->r);
	*g = tmp;
	return 0;
}

/*
 * Reads people, units and groups into `r`: all of them (`since` empty), or
 * those changed at or after `since`. Returns an LDAP result code.
 */
static int
read_all(LDAP *ld, const struct dir_ldap_cfg *cfg, const char *since, struct load *l, char *err,
	 size_t errsz)
{
	struct {
		const char *base, *filter;
		char **attrs;
		dir_entry_cb cb;
	} parts[] = {
	    {cfg->units_base, cfg->units_filter, unit_attrs, unit_cb},
	    {cfg->groups_base, cfg->groups_filter, group_attrs, group_cb},
	    {cfg->people_base, cfg->people_filter, person_attrs, person_cb},
	};
	int rc = LDAP_SUCCESS;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && rc == LDAP_SUCCESS; i++) {
		char *filter;
		if (*since)
			xasprintf(&filter, "(&%s(modifyTimestamp>=%s))", parts[i].filter, since);
		else
			filter = xstrdup(parts[i].filter);
		rc = dir_ldap_search(ld, cfg, parts[i].base, filter, parts[i].attrs, parts[i].cb, l,
				     err, errsz);
		free(filter);
	}
	return rc;
}

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

static void
publish(struct dir_records *r, const struct dir_ldap_cfg *cfg, uint64_t gen)
{
	struct dir_snapshot *s = dir_snapshot_build(r, gen), *old;

	pthread_mutex_lock(&mu);
	old = pending; /* the loop has not taken the previous one: replace it */
	pending = s;
	pthread_mutex_unlock(&mu);
	if (old)
		dir_snapshot_unref(old);
	if (write(wake_pipe[1], "x", 1) == -1 && errno != EAGAIN)
		log_warn("directory: wake the loop");
	save_records(cfg, r);
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

/* Waits up to `secs`, or until woken. Returns false when asked to stop. */
static bool
thread_wait(double secs)
{
	struct timespec ts;
	bool go_on;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)secs;
	ts.tv_nsec += (long)((secs - floor(secs)) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mu);
	while (!stop_requested && !wake_requested)
		if (pthread_cond_timedwait(&cond, &mu, &ts) == ETIMEDOUT)
			break;
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
	size_t server = 0;
	double last_full = 0, last_probe = 0, newest = 0, backoff = BACKOFF_MIN;
	uint64_t gen = generation;
	char err[512];

	for (;;) {
		double t0 = now_monotonic(), started = now_wall();
		bool full, ok = false;
		int rc;

		pthread_mutex_lock(&mu);
		if (next_cfg) {
			cfg_free(cfg);
			cfg = next_cfg;
			next_cfg = NULL;
			if (ld) {
				ldap_unbind_ext_s(ld, NULL, NULL);
				ld = NULL;
			}
			have = false; /* new settings: read everything again */
		}
		stats.last_attempt = started;
		pthread_mutex_unlock(&mu);

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
				ldap_unbind_ext_s(ld, NULL, NULL);
				ld = nld;
				server = better;
			}
		}
		for (int attempt = 0; attempt < 2 && !ok; attempt++) {
			if (ld == NULL) {
				ld = dir_ldap_connect(cfg, INT_MAX, &server, err, sizeof(err));
				if (ld == NULL)
					break;
				last_probe = t0;
				pthread_mutex_lock(&mu);
				snprintf(stats.server, sizeof(stats.server), "%s",
					 cfg->servers[server].uri);
				pthread_mutex_unlock(&mu);
				log_info("directory: connected to %s", cfg->servers[server].uri);
			}
			full = !have || t0 - last_full >= cfg->reconcile_interval;
			if (full) {
				struct dir_records fresh = {0};
				struct load l = {cfg, &fresh, 0, 0};
				rc = read_all(ld, cfg, "", &l, err, sizeof(err));
				if (rc == LDAP_SUCCESS) {
					dir_records_free(&recs);
					recs = fresh;
					have = true;
					last_full = t0;
					newest = l.newest;
					recs.synced_at = started;
					snprintf(recs.source, sizeof(recs.source), "%s",
						 cfg->servers[server].uri);
					publish(&recs, cfg, ++gen);
					pthread_mutex_lock(&mu);
					stats.full_syncs++;
					stats.last_full_seconds = now_monotonic() - t0;
					pthread_mutex_unlock(&mu);
					ok = true;
				} else {
					dir_records_free(&fresh);
				}
			} else {
				char since[16] = "";
				struct load l = {cfg, &recs, newest, 0};
				if (newest > 0)
					gtime_format(newest - cfg->overlap, since);
				rc = read_all(ld, cfg, since, &l, err, sizeof(err));
				if (rc == LDAP_SUCCESS) {
					/* Entries in the overlap window come back every time;
					 * publish only when one of them is new or changed. */
					bool changed = l.changed > 0;
					if (l.newest > newest)
						newest = l.newest;
					recs.synced_at = started;
					if (changed)
						publish(&recs, cfg, ++gen);
					pthread_mutex_lock(&mu);
					stats.incremental_syncs++;
					stats.last_incr_seconds = now_monotonic() - t0;
					pthread_mutex_unlock(&mu);
					ok = true;
				}
			}
			if (!ok) {
				/* The server failed us: drop it and try the list again. */
				ldap_unbind_ext_s(ld, NULL, NULL);
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
		ldap_unbind_ext_s(ld, NULL, NULL);
	dir_records_free(&recs);
	cfg_free(cfg);
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
	struct dir_ldap_cfg *cfg = cfg_copy(c);
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
	cfg_free(next_cfg);
	next_cfg = cfg_copy(c);
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
		pthread_cond_signal(&cond);
		pthread_mutex_unlock(&mu);
		/* An LDAP call in progress ends within ldap_timeout. */
		pthread_join(thread, NULL);
		running = false;
		cfg_free(next_cfg);
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
	    current ? now_wall() - current->synced_at : -1.0, current ? current->npersons : 0,
	    current ? current->nunits : 0, stats.failing || stats.last_success == 0,
	    stats.last_full_seconds, stats.last_incr_seconds, stats.full_syncs,
	    stats.incremental_syncs, stats.ldap_errors, stats.save_errors, stats.server);
	pthread_mutex_unlock(&mu);
}

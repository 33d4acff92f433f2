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
 * Between refreshes the sync watches its connection, in real time (a test
 * clock moves the schedule, not these): its socket every WATCH_TICK, so a
 * server that stops or restarts is noticed at once; a read of the root DSE
 * after WATCH_PROBE without a word from the server, so a hung one or a
 * silent network is noticed too. While no server answers, it tries again
 * at least this often, so a directory that returns is read within seconds.
 */
#define WATCH_TICK  0.5
#define WATCH_PROBE 5.0

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
dir_sync_current(void)
{
	return current;
}

bool
dir_sync_configured(void)
{
	return configured;
}

/* Stale: served from a saved file, or the last attempt to sync failed. */
/*
 * When the data served was last confirmed against LDAP: a refresh that finds
 * nothing changed publishes no snapshot but still confirms the one in use.
 */
double
dir_sync_synced_at(void)
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
dir_sync_stale(void)
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

/* Loads the saved records, if any, as a first (stale) snapshot. */
static void
load_saved(const char *path)
{
	struct dir_records r;

	if (path == NULL || dir_save_load(path, &r) == -1)
		return;
	install(dir_snapshot_build(&r, ++generation));
	log_notice("directory: loaded saved snapshot from %s (%zu people, synced %.0f s ago)", path,
	           current->npersons, clock_wall() - current->synced_at);
	dir_records_free(&r);
	dir_snapshot_trim_soon(); /* the file's document and the records: at the thread's first wait
	                           */
}

/* -- thread side ----------------------------------------------------------------- */

static bool unsaved; /* a published change not yet in the file (sync thread only) */

/* Writes the records to the snapshot file, if there is one; counts a failure. */
static void
save_records(const struct dir_ldap_cfg *cfg, const struct dir_records *r)
{
	if (cfg->snapshot_file == NULL || dir_save_write(cfg->snapshot_file, r) == 0)
		return;
	pthread_mutex_lock(&mu);
	stats.save_errors++;
	pthread_mutex_unlock(&mu);
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

	/* A full load freed the LDAP replies it read, the records before it
	 * and the build's scratch: their pages go back before the loop gets
	 * the snapshot (~0.1 s at 200,000 people; without it, after the first
	 * load, when no snapshot was freed, 1,063 MB stayed resident instead
	 * of 531). */
	if (full) {
		dir_snapshot_trim_soon();
		dir_snapshot_trim();
	}
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
	if (full) /* the save's scratch: at the thread's next wait */
		dir_snapshot_trim_soon();
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
static bool
sync_stopping(void)
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

enum wait_end { WAIT_TIMEOUT, WAIT_WOKEN, WAIT_STOP };

/*
 * Waits up to `secs`, or until woken: says which, or that a stop was asked
 * for. Meanwhile gives freed snapshots' pages back (dir_snapshot_trim),
 * which is too slow for the loop.
 */
static enum wait_end
thread_wait(double secs)
{
	struct timespec ts;
	enum wait_end end = WAIT_TIMEOUT;

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
	if (wake_requested)
		end = WAIT_WOKEN;
	if (stop_requested)
		end = WAIT_STOP;
	wake_requested = false;
	pthread_mutex_unlock(&mu);
	return end;
}

/* The sync thread's state between rounds. */
struct syncer {
	struct dir_ldap_cfg *cfg;
	struct dir_records recs;
	bool have; /* recs holds a full load */
	LDAP *ld;
	size_t server, full_server;
	double last_full, last_probe, newest;
	uint64_t gen;
	bool unreachable; /* the last round failed for want of a server that answers */
	char err[512];
};

/* Takes a reload's settings, if any: everything is read again. */
static void
take_settings(struct syncer *y, double started)
{
	bool reconfigured = false;

	pthread_mutex_lock(&mu);
	if (next_cfg) {
		dir_cfg_free(y->cfg);
		y->cfg = next_cfg;
		next_cfg = NULL;
		reconfigured = true;
		y->have = false; /* new settings: read everything again */
	}
	stats.last_attempt = started;
	pthread_mutex_unlock(&mu);
	/* ld_close takes mu itself: after the unlock (a reload once hung here) */
	if (reconfigured && y->ld) {
		ld_close(y->ld);
		y->ld = NULL;
	}
}

static void
note_server(const char *uri)
{
	pthread_mutex_lock(&mu);
	snprintf(stats.server, sizeof(stats.server), "%s", uri);
	pthread_mutex_unlock(&mu);
}

/* Back to a preferred server once it answers; keep this one until then. */
static void
probe_preferred(struct syncer *y, double t0)
{
	const struct dir_ldap_cfg *cfg = y->cfg;
	size_t better;
	LDAP *nld;

	if (!y->ld || cfg->servers[y->server].priority == 0 ||
	    t0 - y->last_probe < cfg->probe_interval)
		return;
	y->last_probe = t0;
	nld = dir_ldap_connect(cfg, cfg->servers[y->server].priority, &better, y->err,
	                       sizeof(y->err));
	if (nld) {
		log_notice("directory: back to %s", cfg->servers[better].uri);
		note_server(cfg->servers[better].uri);
		ld_close(y->ld);
		y->ld = nld;
		ld_track(y->ld);
		y->server = better;
	}
}

/* Connects to the best server that answers, unless connected; false if none. */
static bool
ensure_connected(struct syncer *y, double t0)
{
	if (y->ld)
		return true;
	y->ld = dir_ldap_connect(y->cfg, INT_MAX, &y->server, y->err, sizeof(y->err));
	if (y->ld == NULL)
		return false;
	ld_track(y->ld);
	y->last_probe = t0;
	note_server(y->cfg->servers[y->server].uri);
	log_info("directory: connected to %s", y->cfg->servers[y->server].uri);
	return true;
}

/* Reads everything into fresh records and publishes them; false on an LDAP failure. */
static bool
sync_full(struct syncer *y, double t0, double started)
{
	const struct dir_ldap_cfg *cfg = y->cfg;
	struct dir_records fresh = {.aliases = json_incref(y->recs.aliases)};
	struct dir_load l = {.cfg = cfg, .r = &fresh, .full = true};

	dir_schema_check(y->ld, cfg); /* at start and at each full load: warns once */
	int rc = dir_map_read(y->ld, cfg, -1, &l, y->err, sizeof(y->err));

	dir_map_load_done(&l);
	if (rc != LDAP_SUCCESS) {
		dir_records_free(&fresh);
		return false;
	}
	dir_records_free(&y->recs);
	y->recs = fresh;
	y->have = true;
	y->last_full = t0;
	y->newest = l.newest;
	y->recs.synced_at = started;
	y->recs.lists_whole = true; /* every group's and unit group's member list is read */
	y->full_server = y->server;
	snprintf(y->recs.source, sizeof(y->recs.source), "%s", cfg->servers[y->server].uri);
	if (dir_cfg_group_prefix(cfg->map_target_groups))
		snprintf(y->recs.target_group_prefix, sizeof(y->recs.target_group_prefix), "%s",
		         dir_cfg_group_prefix(cfg->map_target_groups));
	if (dir_cfg_group_prefix(cfg->map_unit_intake))
		snprintf(y->recs.intake_prefix, sizeof(y->recs.intake_prefix), "%s",
		         dir_cfg_group_prefix(cfg->map_unit_intake));
	publish(&y->recs, cfg, ++y->gen, true);
	pthread_mutex_lock(&mu);
	stats.full_syncs++;
	stats.last_full_seconds = clock_mono() - t0;
	pthread_mutex_unlock(&mu);
	return true;
}

/* Reads what changed since the mark into the records held; false on an LDAP failure. */
static bool
sync_incremental(struct syncer *y, double t0, double started)
{
	const struct dir_ldap_cfg *cfg = y->cfg;
	struct dir_load l = {.cfg = cfg, .r = &y->recs, .newest = y->newest};
	int rc = dir_map_read(y->ld, cfg, y->newest, &l, y->err, sizeof(y->err));

	dir_map_load_done(&l);
	if (rc != LDAP_SUCCESS)
		return false;
	/* Entries in the overlap window come back every time;
	 * publish only when one of them is new or changed. */
	bool changed = l.changed > 0;
	if (l.newest > y->newest)
		y->newest = l.newest;
	y->recs.synced_at = started;
	if (changed)
		publish(&y->recs, cfg, ++y->gen, false);
	else if (unsaved && cfg->snapshot_file)
		flush_unsaved(cfg, &y->recs);
	pthread_mutex_lock(&mu);
	stats.incremental_syncs++;
	stats.last_incr_seconds = clock_mono() - t0;
	pthread_mutex_unlock(&mu);
	return true;
}

/* One round: connect if need be, read in full or incrementally, with one
 * more try on another server if the one in use fails. */
static bool
sync_round(struct syncer *y, double t0, double started)
{
	bool ok = false;

	probe_preferred(y, t0);
	y->unreachable = false;
	for (int attempt = 0; attempt < 2 && !ok; attempt++) {
		if (!ensure_connected(y, t0)) {
			y->unreachable = true;
			break;
		}
		/* AD's change numbers are per controller: another one means
		 * reading everything again. */
		bool full = !y->have || t0 - y->last_full >= y->cfg->reconcile_interval ||
		            (y->cfg->layout == DIR_LAYOUT_AD && y->server != y->full_server);
		ok = full ? sync_full(y, t0, started) : sync_incremental(y, t0, started);
		if (!ok) {
			/* The server failed us: drop it and try the list again. */
			ld_close(y->ld);
			y->ld = NULL;
		}
	}
	return ok;
}

/* Drops the connection in use; the next round tries the list again. */
static void
drop_connection(struct syncer *y)
{
	ld_close(y->ld);
	y->ld = NULL;
}

/*
 * Waits `secs` for the next round, watching the connection if there is one
 * (see WATCH_TICK). Returns false when asked to stop, true when the round
 * is due: the time is up, a reload woke the thread, or the connection was
 * lost (then dropped). A closed connection is not called stale by itself:
 * the round that follows at once tries the list, and is stale only if no
 * server answers (failover takes milliseconds). A probe that goes
 * unanswered for ldap_connect_timeout is: the data could not be confirmed.
 */
static bool
watch_wait(struct syncer *y, double secs)
{
	double now = clock_mono_real(), until = now + secs, heard = now;
	bool unread_seen = false; /* bytes waiting that a probe found harmless */
	char why[400];

	for (;;) {
		if (until - now <= 0)
			return true;
		enum wait_end end =
		    thread_wait(y->ld ? fmin(until - now, WATCH_TICK) : until - now);
		if (end != WAIT_TIMEOUT)
			return end == WAIT_WOKEN;
		now = clock_mono_real();
		if (y->ld == NULL)
			continue;
		const char *uri = y->cfg->servers[y->server].uri;
		enum dir_ldap_idle idle = dir_ldap_idle_check(y->ld);
		if (idle == DIR_LDAP_GONE) {
			log_notice("directory: %s closed the connection; connecting again", uri);
			drop_connection(y);
			return true;
		}
		if (now - heard < WATCH_PROBE && (idle == DIR_LDAP_QUIET || unread_seen))
			continue;
		if (dir_ldap_probe(y->ld, y->cfg->connect_timeout, why, sizeof(why)) !=
		    LDAP_SUCCESS) {
			if (sync_stopping())
				return false; /* dir_sync_stop cut the read short: no failure */
			snprintf(y->err, sizeof(y->err), "%s: %s", uri, why);
			note_failure(y->err);
			drop_connection(y);
			return true;
		}
		unread_seen = idle == DIR_LDAP_UNREAD;
		heard = now = clock_mono_real();
	}
}

static void *
sync_main(void *arg)
{
	struct syncer y = {.cfg = arg, .gen = generation};
	double backoff = BACKOFF_MIN;

	for (;;) {
		double t0 = clock_mono(), started = clock_wall();

		take_settings(&y, started);
		if (sync_round(&y, t0, started)) {
			pthread_mutex_lock(&mu);
			if (stats.failing)
				log_notice("directory: synced again from %s", stats.server);
			stats.failing = false;
			stats.last_success = started;
			pthread_mutex_unlock(&mu);
			backoff = BACKOFF_MIN;
			if (!watch_wait(&y, y.cfg->refresh_interval))
				break;
		} else {
			note_failure(y.err);
			/* Trying to connect costs little, reading everything again
			 * does not: only the first is repeated every WATCH_PROBE. */
			double wait = fmin(backoff, y.cfg->refresh_interval);
			if (y.unreachable)
				wait = fmin(wait, WATCH_PROBE);
			wait *= 0.75 + 0.5 * ((double)random() / RAND_MAX);
			backoff = fmin(backoff * 2, BACKOFF_MAX);
			if (!watch_wait(&y, wait))
				break;
		}
	}
	if (y.ld)
		ld_close(y.ld);
	if (unsaved && y.have)
		flush_unsaved(y.cfg, &y.recs);
	dir_records_free(&y.recs);
	dir_cfg_free(y.cfg);
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
	struct dir_ldap_cfg *cfg = dir_cfg_new(c);
	cfg->stopping = sync_stopping;
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
	dir_cfg_free(next_cfg);
	next_cfg = dir_cfg_new(c);
	next_cfg->stopping = sync_stopping;
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
		dir_cfg_free(next_cfg);
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
dir_sync_metrics_render(struct evbuffer *b)
{
	if (!configured)
		return;
	double synced_at = dir_sync_synced_at();
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
	dir_schema_metrics_render(b);
}

/* {"synced_at", "stale"}: when the snapshot served was read and whether it is stale. */
json_t *
dir_sync_info(void)
{
	char when[32];
	time_t t = (time_t)dir_sync_synced_at();
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s, s:b}", "synced_at", when, "stale", dir_sync_stale());
}

/*
 * session_cache.c: sessions remembered between requests, and told when
 * they end.
 *
 * Every authenticated request needs its session. Asking PostgreSQL each
 * time costs a query per request, which bounds the rate of every
 * authenticated endpoint (bench/README.md). A session found in PostgreSQL
 * is therefore kept here for at most `ttl` seconds, the interval at which
 * the lookup moves the idle clock (session_idle_timeout / 10, at most 30 s),
 * so the idle clock keeps moving as before: the first request after that
 * asks PostgreSQL again.
 *
 * A logout on any daemon must end the session on all of them before its
 * answer. Triggers on sessions (migrations 0006, 0007) announce every
 * session that ends (deleted, or its expiry moved earlier) with NOTIFY
 * stafet_session_end, and a connection of our own LISTENs. The cache is
 * used only while that connection is up, listening, and the triggers exist
 * and fire always; they are looked for again every SC_RECHECK seconds. When
 * any of that fails, everything cached is forgotten and each request asks
 * PostgreSQL until it is back. The connection must reach PostgreSQL
 * itself or a pooler in session mode: in transaction mode LISTEN hears
 * nothing.
 *
 * PostgreSQL delivers a notification to a listening connection
 * asynchronously, but always before the ReadyForQuery that ends any query
 * sent after the notifying transaction committed (postgres.c: pending
 * notifies are sent "before ReadyForQuery"). Every completed empty query
 * ("confirm") on the listening connection therefore proves that every
 * session ended before its send time has been forgotten here.
 *
 * The lease. While requests come, a confirm is sent every SC_TICK seconds
 * (and whenever one is needed); the send time, on the real monotonic
 * clock (clock_mono_real: a test build's clock must not stretch it), of
 * the last completed one is kept. A request whose session is cached is
 * answered at once while that send time S is within SC_LEASE (W) of now.
 * A logout (api/session.c) answers its 204 only SESSION_END_WAIT = W plus
 * a margin after its DELETE committed (an event timer on the real clock,
 * never blocking the loop). So for any request another daemon checks at
 * T after that 204 reached the client: T > commit + W + margin, and it is
 * answered from memory only if T - S < W, so S > commit + margin: the
 * confirm was sent after the commit, and the notification was read (and
 * the session forgotten) before that confirm completed. The margin covers
 * the two machines' clocks running at slightly different rates over W
 * (ppm, against 10 ms). Every path that ends a session for a client who
 * is waiting for the answer must wait the same: today that is the logout
 * only (the janitor sweeps sessions already ended by their clocks, which
 * every lookup and cached entry check themselves; a person gone from the
 * directory is refused by every daemon's own snapshot). An operator's
 * DELETE or UPDATE of expires_at in psql is final everywhere within W.
 *
 * Without a lease (no request for a while, or the connection slow or
 * stalled: no confirm completes), a cached session waits as before for
 * one confirm sent after the request arrived; requests that arrive while
 * one is out share the next: one round trip for a batch. If none completes
 * within db_query_timeout the connection is dropped and every request
 * asks PostgreSQL. A lookup whose answer was on its way while a
 * notification came is not cached (the epoch), so it cannot bring back a
 * session that just ended: the entry is put before the notification is
 * read (and forgotten by it) or after (and then not put).
 */
#include <sys/queue.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "stafetd.h"
#include "auth.h"

#define SC_SLOTS         8192 /* direct-mapped: a colliding session replaces the older */
#define SC_BACKOFF_MIN   0.1
#define SC_BACKOFF_MAX   2.0
#define SC_BACKOFF_NOTRG 10.0 /* schema without the triggers: not fixed soon */
#define SC_RECHECK       10.0 /* seconds between looks for the triggers */
#define SC_LEASE         0.25 /* W: a confirm sent this recently lets hits answer at once */
#define SC_TICK          0.05 /* seconds between confirms while hits come */
#define SC_IDLE          1.0  /* no hit for this long: no more ticks until the next */

struct sc_waiter {
	struct http_request *req;
	http_handler next;
	session_confirmed_cb cb;
	double ttl;
	char hash[67];
	long long session_id;
	TAILQ_ENTRY(sc_waiter) entry;
};
TAILQ_HEAD(sc_waiters, sc_waiter);

struct sc_entry {
	bool used;
	char hash[67];
	double verified; /* monotonic time of the PostgreSQL lookup */
	double ttl;
	struct http_auth auth;
};

enum sc_state { SC_DOWN, SC_CONNECTING, SC_SUBSCRIBING, SC_UP };

/* The triggers of migration 0007, each enabled ALWAYS: "3" when all are. */
#define TRIGGERS_SQL                                                                               \
	"SELECT count(*) FROM pg_trigger WHERE tgrelid = 'sessions'::regclass AND tgenabled = "    \
	"'A' AND tgname IN ('sessions_announce_end', 'sessions_announce_truncate', "               \
	"'sessions_announce_change')"
#define TRIGGERS_ALL "3"

static const char subscribe_sql[] =
    "SET application_name = 'stafetd session listener'; LISTEN stafet_session_end; " TRIGGERS_SQL;

static struct {
	struct event_base *base;
	struct sc_entry *slots;
	PGconn *pg;
	enum sc_state state;
	struct event *ev;      /* the socket */
	struct event *timer;   /* connect deadline, reconnect backoff, or query deadline */
	struct event *recheck; /* the next look for the triggers */
	struct event *tick;    /* the next confirm of the lease */
	double backoff;
	bool enabled, stopping, trigger_ok;
	bool sub_failed, sub_trigger; /* the subscribe statements' results so far */
	bool flushing;                /* libpq holds output the socket did not take */
	bool check_due, checking;     /* the triggers: to be looked for, being looked for */
	bool check_failed;
	bool tick_due;             /* a confirm for the lease is to be sent */
	double sent_at;            /* real monotonic time the confirm that is out was sent */
	double leased_at;          /* ... that of the last completed one; 0 without */
	double last_hit;           /* real monotonic time of the last hit (ticks stop when idle) */
	char *conninfo, *password; /* what the connection was made with */
	unsigned long long epoch;
	unsigned long long hits, misses, ends, drops, syncs, leased;
	struct sc_waiters sent;    /* waiting for the empty query that is out */
	struct sc_waiters pending; /* arrived since it was sent: the next one's */
	bool syncing;
} sc;

/* -- the cache ------------------------------------------------------------------------ */

static size_t
slot_of(const char *hash)
{
	/* "\x" and hex digits of SHA-256: uniformly spread already. */
	unsigned long v = strtoul(
	    (char[9]){hash[2], hash[3], hash[4], hash[5], hash[6], hash[7], hash[8], hash[9], '\0'},
	    NULL, 16);
	return v % SC_SLOTS;
}

static void
forget_all(void)
{
	if (sc.slots)
		memset(sc.slots, 0, SC_SLOTS * sizeof(*sc.slots));
	sc.epoch++;
}

void
session_cache_forget(long long session_id)
{
	sc.epoch++;
	if (sc.slots == NULL)
		return;
	for (size_t i = 0; i < SC_SLOTS; i++)
		if (sc.slots[i].used && sc.slots[i].auth.session_id == session_id)
			memset(&sc.slots[i], 0, sizeof(sc.slots[i]));
}

static void sc_reset(const char *why, double min_backoff);

/* Notifications parsed so far end their sessions here too. */
static void
take_notifies(void)
{
	PGnotify *n;

	while ((n = PQnotifies(sc.pg)) != NULL) {
		if (strcmp(n->relname, "stafet_session_end") != 0) {
			PQfreemem(n);
			continue;
		}
		sc.ends++;
		if (strcmp(n->extra, "*") == 0)
			forget_all();
		else
			session_cache_forget(strtoll(n->extra, NULL, 10));
		PQfreemem(n);
	}
}

static void sync_done(void);
static void sc_timer(double secs);
static void sc_watch(short what);

/*
 * Sends what libpq holds. When the socket takes not all of it, the
 * connection is watched for writing too until it has (libpq's non-blocking
 * rule: read while waiting, then flush again). False when it failed.
 */
static bool
sc_flush(void)
{
	int rc = PQflush(sc.pg);

	if (rc == -1)
		return false;
	if (rc == 1 && !sc.flushing) {
		sc.flushing = true;
		sc_watch(EV_READ | EV_WRITE | EV_PERSIST);
	} else if (rc == 0 && sc.flushing) {
		sc.flushing = false;
		sc_watch(EV_READ | EV_PERSIST);
	}
	return true;
}

/* Reads what the server sent: notifications, and the query's end. */
static void
drain(void)
{
	if (!PQconsumeInput(sc.pg) || PQstatus(sc.pg) != CONNECTION_OK) {
		sc_reset("the server closed the connection", SC_BACKOFF_MIN);
		return;
	}
	if (sc.flushing && !sc_flush()) {
		sc_reset("cannot send", SC_BACKOFF_MIN);
		return;
	}
	take_notifies();
	if (sc.syncing)
		sync_done();
}

unsigned long long
session_cache_epoch(void)
{
	return sc.epoch;
}

/* ttl: the current one (a reload may have shortened the idle timeout). */
bool
session_cache_get(const char *hash, double ttl, struct http_auth *out)
{
	struct sc_entry *e;
	double now;

	if (!sc.enabled || sc.state != SC_UP) {
		sc.misses++;
		return false;
	}
	e = &sc.slots[slot_of(hash)];
	now = clock_mono();
	if (!e->used || strcmp(e->hash, hash) != 0 || now - e->verified >= fmin(e->ttl, ttl) ||
	    clock_wall() >= e->auth.expires_at) {
		sc.misses++;
		return false;
	}
	sc.hits++;
	*out = e->auth;
	return true;
}

void
session_cache_put(unsigned long long epoch, const char *hash, const struct http_auth *a, double ttl)
{
	struct sc_entry *e;

	if (!sc.enabled || sc.state != SC_UP || epoch != sc.epoch || ttl <= 0)
		return;
	e = &sc.slots[slot_of(hash)];
	e->used = true;
	snprintf(e->hash, sizeof(e->hash), "%s", hash);
	e->verified = clock_mono();
	e->ttl = ttl;
	e->auth = *a;
	e->auth.ok = false;
	e->auth.cookie = false;
}

/* -- confirming a cached session --------------------------------------------------------- */

static bool
still_cached(const struct sc_waiter *w)
{
	const struct sc_entry *e;

	if (sc.slots == NULL || sc.state != SC_UP)
		return false;
	e = &sc.slots[slot_of(w->hash)];
	return e->used && e->auth.session_id == w->session_id && strcmp(e->hash, w->hash) == 0;
}

/* Answers the waiters of `list`: from memory if still cached, else asks. */
static void
release(struct sc_waiters *list, bool confirmed)
{
	struct sc_waiter *w;

	while ((w = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, w, entry);
		w->cb(w->req, w->next, w->hash, w->ttl, confirmed && still_cached(w));
		free(w);
	}
}

/*
 * Sends a confirm: the query the pending requests wait for, or the lease's
 * next: an empty one, before whose end PostgreSQL sends every pending
 * notification; or, when the triggers are due to be looked for, that
 * look, which serves the same. Its send time is taken before it is sent.
 */
static void
send_sync(void)
{
	if (sc.syncing || (TAILQ_EMPTY(&sc.pending) && !sc.check_due && !sc.tick_due))
		return;
	sc.checking = sc.check_due;
	sc.check_due = false;
	sc.tick_due = false;
	sc.check_failed = false;
	sc.sent_at = clock_mono_real();
	if (!PQsendQuery(sc.pg, sc.checking ? TRIGGERS_SQL : "") || !sc_flush()) {
		sc_reset("cannot send", SC_BACKOFF_MIN);
		return;
	}
	TAILQ_CONCAT(&sc.sent, &sc.pending, entry);
	sc.syncing = true;
	sc.syncs++;
	sc_timer(config_current()->db_query_timeout);
}

/*
 * Calls cb once every session ended before the request arrived has been
 * heard of: at once (before returning) while the lease holds, else after
 * the next confirm.
 */
void
session_cache_confirm(struct http_request *req, http_handler next, const char *hash, double ttl,
                      session_confirmed_cb cb)
{
	struct sc_waiter *w;
	double now = clock_mono_real();

	if (sc.state != SC_UP) {
		cb(req, next, hash, ttl, false);
		return;
	}
	sc.last_hit = now;
	if (sc.leased_at > 0 && now - sc.leased_at < SC_LEASE) {
		sc.leased++;
		cb(req, next, hash, ttl, true);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->req = req;
	w->next = next;
	w->cb = cb;
	w->ttl = ttl;
	w->session_id = req->auth.session_id;
	snprintf(w->hash, sizeof(w->hash), "%s", hash);
	TAILQ_INSERT_TAIL(&sc.pending, w, entry);
	send_sync();
}

/* The query's results, once complete: the batch that waited for it. */
static void
sync_done(void)
{
	PGresult *r;

	while (!PQisBusy(sc.pg)) {
		if ((r = PQgetResult(sc.pg)) == NULL) {
			/* ReadyForQuery: the notifications before it are parsed now */
			take_notifies();
			sc.syncing = false;
			evtimer_del(sc.timer);
			if (sc.checking && sc.check_failed) {
				log_warnx("session cache: the triggers that announce session ends "
				          "are gone or not enabled always; not caching");
				sc.trigger_ok = false;
				sc_reset("triggers gone", SC_BACKOFF_NOTRG);
				return;
			}
			sc.checking = false;
			/* every session ended before sent_at is forgotten now */
			sc.leased_at = sc.sent_at;
			release(&sc.sent, true);
			send_sync();
			return;
		}
		if (sc.checking && !(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		                     strcmp(PQgetvalue(r, 0, 0), TRIGGERS_ALL) == 0))
			sc.check_failed = true;
		PQclear(r);
	}
}

/* Every SC_RECHECK seconds: are the triggers still there? */
static void
sc_recheckcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (sc.state != SC_UP)
		return;
	sc.check_due = true;
	send_sync();
}

/* Every SC_TICK seconds while hits come: the lease's next confirm. */
static void
sc_tickcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (sc.state != SC_UP || clock_mono_real() - sc.last_hit > SC_IDLE)
		return;
	sc.tick_due = true;
	send_sync();
}

/* -- the listening connection ---------------------------------------------------------- */

static void sc_connect(void);

static void sc_eventcb(evutil_socket_t, short, void *);

static void
sc_watch(short what)
{
	if (sc.ev) {
		event_free(sc.ev);
		sc.ev = NULL;
	}
	sc.ev = event_new(sc.base, PQsocket(sc.pg), what, sc_eventcb, NULL);
	if (sc.ev == NULL || event_add(sc.ev, NULL) == -1)
		fatalx("session cache: event_new");
}

static void
sc_timer(double secs)
{
	struct timeval tv = clock_timeval(secs);
	evtimer_add(sc.timer, &tv);
}

static void
sc_reset(const char *why, double min_backoff)
{
	bool was_up = sc.state == SC_UP;

	if (sc.ev) {
		event_free(sc.ev);
		sc.ev = NULL;
	}
	evtimer_del(sc.timer);
	if (sc.pg) {
		PQfinish(sc.pg);
		sc.pg = NULL;
	}
	sc.state = SC_DOWN;
	sc.syncing = false;
	sc.flushing = false;
	sc.checking = false;
	sc.check_due = false;
	sc.tick_due = false;
	sc.leased_at = 0;
	forget_all();
	/* Those waiting ask the database instead. */
	release(&sc.sent, false);
	release(&sc.pending, false);
	if (was_up && !sc.stopping) {
		sc.drops++;
		log_warnx("session cache: not listening (%s); every request asks the database",
		          why);
	}
	if (sc.stopping)
		return;
	if (sc.backoff < min_backoff)
		sc.backoff = min_backoff;
	sc_timer(sc.backoff * (0.75 + 0.5 * ((double)random() / RAND_MAX)));
	sc.backoff = fmin(sc.backoff * 2, fmax(SC_BACKOFF_MAX, min_backoff));
}

/*
 * The subscribe statements' results as they come. PQgetResult is called
 * only while PQisBusy says it will not wait: a result still on its way
 * would otherwise block the loop.
 */
static void
sc_subscribed(void)
{
	PGresult *r;

	if (!PQconsumeInput(sc.pg)) {
		sc_reset("lost while subscribing", SC_BACKOFF_MIN);
		return;
	}
	for (;;) {
		if (PQisBusy(sc.pg)) {
			sc_watch(EV_READ);
			return;
		}
		if ((r = PQgetResult(sc.pg)) == NULL)
			break;
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK)
			sc.sub_trigger =
			    PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), TRIGGERS_ALL) == 0;
		else if (st != PGRES_COMMAND_OK)
			sc.sub_failed = true;
		PQclear(r);
	}
	if (sc.sub_failed) {
		sc_reset("LISTEN failed", SC_BACKOFF_MIN);
		return;
	}
	if (!sc.sub_trigger) {
		/* Not migrated yet: no one would tell us of a logout. */
		if (sc.trigger_ok || sc.backoff <= SC_BACKOFF_MIN)
			log_info("session cache: the schema does not announce every session end "
			         "(migrations not applied, or a trigger disabled); not caching");
		sc.trigger_ok = false;
		sc_reset("no trigger", SC_BACKOFF_NOTRG);
		return;
	}
	sc.trigger_ok = true;
	sc.state = SC_UP;
	sc.backoff = SC_BACKOFF_MIN;
	evtimer_del(sc.timer);
	forget_all(); /* whatever ended while we were not listening */
	log_info("session cache: listening for session ends");
	sc_watch(EV_READ | EV_PERSIST);
}

static void
sc_poll_connect(void)
{
	switch (PQconnectPoll(sc.pg)) {
	case PGRES_POLLING_READING:
		sc_watch(EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		sc_watch(EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		/* Two short statements fit the socket buffer: no flushing loop. */
		sc.sub_failed = false;
		sc.sub_trigger = false;
		if (PQsetnonblocking(sc.pg, 1) == -1 || !PQsendQuery(sc.pg, subscribe_sql) ||
		    PQflush(sc.pg) != 0) {
			sc_reset("cannot send LISTEN", SC_BACKOFF_MIN);
			return;
		}
		sc.state = SC_SUBSCRIBING;
		sc_watch(EV_READ);
		break;
	default:
		sc_reset("connect failed", SC_BACKOFF_MIN);
		break;
	}
}

static void
sc_eventcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)arg;
	switch (sc.state) {
	case SC_CONNECTING:
		sc_poll_connect();
		break;
	case SC_SUBSCRIBING:
		sc_subscribed();
		break;
	case SC_UP:
		if ((what & EV_WRITE) && !(what & EV_READ)) {
			if (!sc_flush())
				sc_reset("cannot send", SC_BACKOFF_MIN);
			break;
		}
		drain();
		break;
	case SC_DOWN:
		break;
	}
}

static void
sc_timercb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (sc.state == SC_DOWN)
		sc_connect();
	else if (sc.state != SC_UP)
		sc_reset("connect timed out", SC_BACKOFF_MIN);
	else if (sc.syncing)
		sc_reset("no answer to the empty query", SC_BACKOFF_MIN);
}

static void
sc_connect(void)
{
	const struct config *cfg = config_current();
	char **kw, **val;

	free(sc.conninfo);
	sc.conninfo = xstrdup(cfg->db_conninfo ? cfg->db_conninfo : "");
	if (sc.password)
		explicit_wipe(sc.password, strlen(sc.password));
	free(sc.password);
	sc.password = xstrdup(cfg->db_password ? cfg->db_password : "");
	db_conn_params(cfg, &kw, &val);
	sc.pg = PQconnectStartParams((const char *const *)kw, (const char *const *)val, 1);
	db_conn_params_free(kw, val);
	if (sc.pg == NULL)
		fatalx("session cache: out of memory");
	db_notices_to_log(sc.pg, "session cache");
	if (PQstatus(sc.pg) == CONNECTION_BAD) {
		sc_reset("connect failed", SC_BACKOFF_MIN);
		return;
	}
	sc.state = SC_CONNECTING;
	sc_timer(cfg->db_connect_timeout);
	sc_poll_connect();
}

void
session_cache_start(struct event_base *base, const struct config *cfg)
{
	sc.base = base;
	TAILQ_INIT(&sc.sent);
	TAILQ_INIT(&sc.pending);
	sc.enabled = cfg->session_cache;
	sc.backoff = SC_BACKOFF_MIN;
	sc.state = SC_DOWN;
	if (!sc.enabled)
		return;
	sc.slots = xcalloc(SC_SLOTS, sizeof(*sc.slots));
	sc.timer = evtimer_new(base, sc_timercb, NULL);
	sc.recheck = event_new(base, -1, EV_PERSIST, sc_recheckcb, NULL);
	sc.tick = event_new(base, -1, EV_PERSIST, sc_tickcb, NULL);
	if (sc.timer == NULL || sc.recheck == NULL || sc.tick == NULL)
		fatalx("session cache: evtimer_new");
	struct timeval every = clock_timeval(SC_RECHECK);
	event_add(sc.recheck, &every);
	struct timeval tick = clock_timeval(SC_TICK);
	event_add(sc.tick, &tick);
	sc_connect();
}

/*
 * A reload: when the database settings changed, the listening connection is
 * made again with the new ones (sessions may now live elsewhere), and until
 * it listens nothing is answered from memory.
 */
void
session_cache_reconfigure(const struct config *cfg)
{
	if (!sc.enabled || sc.state == SC_DOWN)
		return; /* the next connect reads the current settings */
	if (strcmp(sc.conninfo, cfg->db_conninfo ? cfg->db_conninfo : "") == 0 &&
	    strcmp(sc.password, cfg->db_password ? cfg->db_password : "") == 0)
		return;
	log_info("session cache: database settings changed; listening anew");
	sc.backoff = SC_BACKOFF_MIN;
	sc_reset("database settings changed", SC_BACKOFF_MIN);
}

void
session_cache_stop(void)
{
	sc.stopping = true;
	if (!sc.enabled)
		return;
	sc_reset("stopping", 0);
	event_free(sc.timer);
	sc.timer = NULL;
	event_free(sc.recheck);
	sc.recheck = NULL;
	event_free(sc.tick);
	sc.tick = NULL;
	free(sc.slots);
	sc.slots = NULL;
	free(sc.conninfo);
	sc.conninfo = NULL;
	if (sc.password)
		explicit_wipe(sc.password, strlen(sc.password));
	free(sc.password);
	sc.password = NULL;
	sc.enabled = false;
}

void
session_cache_metrics(struct evbuffer *b)
{
	evbuffer_add_printf(b,
	                    "# HELP stafet_session_cache_listening 1 while session ends are heard "
	                    "and the cache is used\n"
	                    "# TYPE stafet_session_cache_listening gauge\n"
	                    "stafet_session_cache_listening %d\n",
	                    sc.state == SC_UP);
	evbuffer_add_printf(b,
	                    "# HELP stafet_session_cache_lookups_total Session lookups, answered "
	                    "from memory (hit) or by the database (miss)\n"
	                    "# TYPE stafet_session_cache_lookups_total counter\n"
	                    "stafet_session_cache_lookups_total{result=\"hit\"} %llu\n"
	                    "stafet_session_cache_lookups_total{result=\"miss\"} %llu\n",
	                    sc.hits, sc.misses);
	evbuffer_add_printf(
	    b,
	    "# HELP stafet_session_cache_ends_total Session ends announced by the "
	    "database\n"
	    "# TYPE stafet_session_cache_ends_total counter\n"
	    "stafet_session_cache_ends_total %llu\n"
	    "# HELP stafet_session_cache_drops_total Times the listening "
	    "connection was lost\n"
	    "# TYPE stafet_session_cache_drops_total counter\n"
	    "stafet_session_cache_drops_total %llu\n"
	    "# HELP stafet_session_cache_confirmations_total Empty queries on the "
	    "listening connection that confirmed cached sessions (per batch, or the "
	    "lease's every 50 ms while requests come)\n"
	    "# TYPE stafet_session_cache_confirmations_total counter\n"
	    "stafet_session_cache_confirmations_total %llu\n"
	    "# HELP stafet_session_cache_leased_total Cached sessions answered at "
	    "once, a confirm sent less than the lease ago having completed\n"
	    "# TYPE stafet_session_cache_leased_total counter\n"
	    "stafet_session_cache_leased_total %llu\n",
	    sc.ends, sc.drops, sc.syncs, sc.leased);
}

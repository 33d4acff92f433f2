/*
 * db.c: a small PostgreSQL connection pool driven by the event loop.
 *
 * Each connection is a state machine on its socket: connecting
 * (PQconnectPoll), checking the schema version, idle (still watched for
 * reads, so a server that goes away is noticed at once), busy with one query
 * (PQsendQueryParams, PQflush until done, PQconsumeInput/PQisBusy/
 * PQgetResult). A named statement (db_query_stmt) is prepared on a
 * connection the first time that connection runs it (PQsendPrepare, then
 * PQsendQueryPrepared once its answer is in); a new connection starts with
 * none. Queries wait in a bounded queue for a free connection. When
 * no connection is up, a query fails at once, so a request gets its 503
 * fast instead of hanging; broken connections come back by themselves with
 * backoff and jitter. Why the database is unavailable is kept twice: in
 * full (libpq's text, with host, port and role) for the log, and as a
 * short reason without them for unauthenticated answers such as /readyz.
 */
#include <sys/queue.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "stafetd.h"

#define BACKOFF_MIN    0.1
#define BACKOFF_MAX    2.0
#define BACKOFF_SCHEMA 10.0 /* a wrong schema version does not fix itself soon */

enum pc_state { PC_DOWN, PC_CONNECTING, PC_CHECKING, PC_IDLE, PC_BUSY };
static const char *const pc_names[] = {"down", "connecting", "checking", "idle", "busy"};

struct db_job {
	char *sql;            /* NULL for a named statement */
	struct db_stmt *stmt; /* or NULL */
	int nparams;
	char **params;
	db_cb cb;
	void *arg;
	double deadline;
	TAILQ_ENTRY(db_job) entry;
};
TAILQ_HEAD(job_queue, db_job);

struct pconn {
	int id;
	PGconn *pg;
	enum pc_state state;
	struct event *ev; /* socket readiness, one-shot, re-created per socket */
	bool armed;
	int sock;
	short want;
	struct event *timer; /* connect or query deadline, or reconnect backoff */
	double until;        /* the deadline on the real clock (clock_mono_real) */
	double backoff;
	struct db_job *job;
	PGresult *result;
	bool flushing;
	bool preparing;          /* the job's statement is being prepared */
	unsigned char *prepared; /* by statement slot: prepared on this connection */
	int nprepared;
	unsigned generation;
};

static struct {
	struct event_base *base;
	struct pconn **c;
	int n;
	struct job_queue queue;
	int qlen;
	char **kw, **val; /* libpq connection keywords, NULL-terminated */
	char timeout_sql[96];
	double connect_timeout, query_timeout;
	int queue_max;
	unsigned generation;
	char why[256];      /* the full reason, libpq's details included: for the log */
	char reason[160];   /* the reason without connection details: for answers */
	int schema_version; /* last seen; -1 unknown */
	int nstmts;         /* named statements seen: slots 1..nstmts */
	bool stopping;
	unsigned long long queries, errors, connects, connect_failures, timeouts, rejected;
} pool;

static void pc_connect(struct pconn *);
static void pc_eventcb(evutil_socket_t, short, void *);
static void pc_start_next(struct pconn *);
static void pc_send(struct pconn *);

/*
 * Sets why the pool is unavailable: `reason` may be shown to anyone, so it
 * holds no host, port, role or database name; `detail` (libpq's message,
 * or NULL) is appended for the log only.
 */
static void
set_why(const char *reason, const char *detail)
{
	char buf[256];
	snprintf(pool.reason, sizeof(pool.reason), "%s", reason);
	snprintf(buf, sizeof(buf), "%s%s%s", reason, detail ? ": " : "", detail ? detail : "");
	/* libpq messages end in newlines and may span lines. */
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
	snprintf(pool.why, sizeof(pool.why), "%s", buf);
}

static void
job_free(struct db_job *j)
{
	if (j == NULL)
		return;
	free(j->sql);
	for (int i = 0; i < j->nparams; i++)
		free(j->params[i]);
	free(j->params);
	free(j);
}

static void
job_fail(struct db_job *j, const char *why)
{
	pool.errors++;
	j->cb(NULL, why, j->arg);
	job_free(j);
}

static void
pc_disarm(struct pconn *c)
{
	if (c->armed) {
		event_del(c->ev);
		c->armed = false;
	}
}

/* Waits for `what` on the connection's current socket (re-read each time). */
static void
pc_arm(struct pconn *c, short what)
{
	int sock = PQsocket(c->pg);

	pc_disarm(c);
	if (c->ev && (sock != c->sock || what != c->want)) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (c->ev == NULL) {
		c->ev = event_new(pool.base, sock, what, pc_eventcb, c);
		if (c->ev == NULL)
			fatalx("db: event_new");
		c->sock = sock;
		c->want = what;
	}
	event_add(c->ev, NULL);
	c->armed = true;
}

static void
pc_timer(struct pconn *c, double secs)
{
	struct timeval tv = clock_timeval(secs);
	evtimer_add(c->timer, &tv);
}

/* A connect's or a query's deadline: the server's time, which a test
 * clock's step does not move (it fires the timer early; pc_timercb arms it
 * again for what is left). */
static void
pc_deadline(struct pconn *c, double secs)
{
	c->until = clock_mono_real() + secs;
	pc_timer(c, secs);
}

static bool
any_up(void)
{
	for (int i = 0; i < pool.n; i++)
		if (pool.c[i]->state == PC_IDLE || pool.c[i]->state == PC_BUSY)
			return true;
	return false;
}

/* With nothing up, waiting queries would only hang: fail them now. */
static void
fail_queue_if_down(void)
{
	struct db_job *j;

	if (any_up())
		return;
	while ((j = TAILQ_FIRST(&pool.queue)) != NULL) {
		TAILQ_REMOVE(&pool.queue, j, entry);
		pool.qlen--;
		job_fail(j, pool.why);
	}
}

/* Drops the connection and schedules a reconnect after a backoff. */
static void
pc_reset(struct pconn *c, const char *why, double min_backoff)
{
	struct db_job *job = c->job;
	double jitter;

	pc_disarm(c);
	evtimer_del(c->timer);
	if (c->ev) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (c->result) {
		PQclear(c->result);
		c->result = NULL;
	}
	if (c->pg) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	c->state = PC_DOWN;
	c->job = NULL;
	c->flushing = false;
	c->preparing = false;
	if (job)
		job_fail(job, why);
	if (pool.stopping)
		return;
	if (c->backoff < min_backoff)
		c->backoff = min_backoff;
	jitter = 0.75 + 0.5 * ((double)random() / RAND_MAX);
	pc_timer(c, c->backoff * jitter);
	c->backoff = fmin(c->backoff * 2, fmax(BACKOFF_MAX, min_backoff));
	fail_queue_if_down();
}

static void
pc_broken(struct pconn *c, const char *what)
{
	const char *msg = c->pg ? PQerrorMessage(c->pg) : "";
	if (c->state == PC_CONNECTING || c->state == PC_CHECKING)
		pool.connect_failures++;
	set_why("database unavailable", *msg ? msg : what);
	if (c->state != PC_CONNECTING || c->backoff <= BACKOFF_MIN)
		log_warnx("db: connection %d: %s", c->id, pool.why);
	pc_reset(c, pool.why, BACKOFF_MIN);
}

static void
pc_deliver(struct pconn *c)
{
	struct db_job *job = c->job;
	PGresult *res = c->result;
	const char *err = NULL;
	ExecStatusType st;

	if (c->preparing) {
		/* The statement is prepared: now run it (same deadline). On
		 * failure its error goes to the callback as a query's would. */
		c->preparing = false;
		if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
			PQclear(res);
			c->result = NULL;
			c->prepared[job->stmt->slot - 1] = 1;
			pc_send(c);
			return;
		}
	}
	c->job = NULL;
	c->result = NULL;
	c->state = PC_IDLE;
	evtimer_del(c->timer);
	if (res == NULL) {
		err = "no result";
	} else {
		st = PQresultStatus(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			err = PQresultErrorMessage(res);
			pool.errors++;
		}
	}
	job->cb(res, err, job->arg);
	PQclear(res);
	job_free(job);
	/* The callback may have queued its next query on this very connection. */
	if (c->state != PC_IDLE)
		return;
	if (c->generation != pool.generation) {
		/* The configuration changed: reconnect with the new settings. */
		PQfinish(c->pg);
		c->pg = NULL;
		pc_disarm(c);
		if (c->ev) {
			event_free(c->ev);
			c->ev = NULL;
		}
		c->state = PC_DOWN;
		pc_connect(c);
		return;
	}
	pc_start_next(c);
}

/* Reads what has arrived; collects results until libpq says the query is done. */
static void
pc_read_results(struct pconn *c, void (*done)(struct pconn *))
{
	if (!PQconsumeInput(c->pg)) {
		pc_broken(c, "read failed");
		return;
	}
	if (c->flushing) {
		int r = PQflush(c->pg);
		if (r == -1) {
			pc_broken(c, "write failed");
			return;
		}
		c->flushing = r == 1;
	}
	while (!PQisBusy(c->pg)) {
		PGresult *r = PQgetResult(c->pg);
		if (r == NULL) {
			done(c);
			return;
		}
		/* Keep the first error, else the last result. */
		if (c->result && PQresultStatus(c->result) == PGRES_FATAL_ERROR) {
			PQclear(r);
		} else {
			PQclear(c->result);
			c->result = r;
		}
	}
	pc_arm(c, c->flushing ? EV_READ | EV_WRITE : EV_READ);
}

static void
pc_schema_checked(struct pconn *c)
{
	PGresult *res = c->result;
	int version = -1, latest = migrate_latest();
	const char *state;

	c->result = NULL;
	if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		version = atoi(PQgetvalue(res, 0, 0));
	} else if (res && (state = PQresultErrorField(res, PG_DIAG_SQLSTATE)) != NULL &&
	           strcmp(state, "42P01") == 0) {
		version = 0; /* no schema_migrations table: nothing migrated */
	} else {
		set_why("database unavailable",
		        res ? PQresultErrorMessage(res) : "schema check failed");
		PQclear(res);
		log_warnx("db: connection %d: %s", c->id, pool.why);
		pc_reset(c, pool.why, BACKOFF_MIN);
		return;
	}
	PQclear(res);
	if (version != latest) {
		char detail[160];
		if (version > latest)
			snprintf(
			    detail, sizeof(detail),
			    "database schema version %d is newer than this stafetd knows (%d); "
			    "upgrade stafetd",
			    version, latest);
		else
			snprintf(
			    detail, sizeof(detail),
			    "database schema version %d, stafetd needs %d; run stafetd --migrate",
			    version, latest);
		if (pool.schema_version != version)
			log_errx("db: %s", detail);
		pool.schema_version = version;
		set_why(detail, NULL);
		pool.connect_failures++;
		pc_reset(c, pool.why, BACKOFF_SCHEMA);
		return;
	}
	if (pool.schema_version != version)
		log_notice("db: connected, schema version %d", version);
	pool.schema_version = version;
	c->state = PC_IDLE;
	c->backoff = BACKOFF_MIN;
	pool.connects++;
	pc_start_next(c);
}

static void
pc_send_check(struct pconn *c)
{
	c->state = PC_CHECKING;
	if (PQsetnonblocking(c->pg, 1) == -1 || !PQsendQuery(c->pg, pool.timeout_sql)) {
		pc_broken(c, "cannot send");
		return;
	}
	c->flushing = true;
	pc_deadline(c, pool.connect_timeout);
	pc_read_results(c, pc_schema_checked);
}

static void
pc_poll_connect(struct pconn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		pc_arm(c, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		pc_arm(c, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		pc_disarm(c);
		pc_send_check(c);
		break;
	default:
		pc_broken(c, "connect failed");
		break;
	}
}

static void
pc_connect(struct pconn *c)
{
	c->generation = pool.generation;
	/* A new server session: it has none of our statements. */
	if (c->prepared)
		memset(c->prepared, 0, (size_t)c->nprepared);
	c->pg =
	    PQconnectStartParams((const char *const *)pool.kw, (const char *const *)pool.val, 1);
	if (c->pg == NULL)
		fatalx("db: out of memory");
	db_notices_to_log(c->pg, "db");
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		pc_broken(c, "connect failed");
		return;
	}
	c->state = PC_CONNECTING;
	pc_deadline(c, pool.connect_timeout);
	pc_poll_connect(c);
}

static void
pc_eventcb(evutil_socket_t fd, short what, void *arg)
{
	struct pconn *c = arg;
	(void)fd;
	(void)what;

	c->armed = false;
	switch (c->state) {
	case PC_CONNECTING:
		pc_poll_connect(c);
		break;
	case PC_CHECKING:
		pc_read_results(c, pc_schema_checked);
		break;
	case PC_BUSY:
		pc_read_results(c, pc_deliver);
		break;
	case PC_IDLE:
		/* Idle and readable: the server closed, or sent a notice. */
		if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK) {
			pc_broken(c, "server closed the connection");
			return;
		}
		pc_arm(c, EV_READ);
		break;
	case PC_DOWN:
		break;
	}
}

static void
pc_timercb(evutil_socket_t fd, short what, void *arg)
{
	struct pconn *c = arg;
	(void)fd;
	(void)what;

	if ((c->state == PC_CONNECTING || c->state == PC_CHECKING || c->state == PC_BUSY) &&
	    c->until - clock_mono_real() > 0.001) {
		pc_timer(c, c->until - clock_mono_real());
		return;
	}
	switch (c->state) {
	case PC_DOWN:
		pc_connect(c);
		break;
	case PC_CONNECTING:
	case PC_CHECKING:
		set_why("database unavailable", "connect timed out");
		log_warnx("db: connection %d: %s", c->id, pool.why);
		pool.connect_failures++;
		pc_reset(c, pool.why, BACKOFF_MIN);
		break;
	case PC_BUSY:
		pool.timeouts++;
		log_warnx("db: connection %d: query timed out; reconnecting", c->id);
		pc_reset(c, "database query timed out", BACKOFF_MIN);
		/* The others may be fine; reconnect this one at once. */
		evtimer_del(c->timer);
		pc_timer(c, 0);
		break;
	case PC_IDLE:
		break;
	}
}

static bool
pc_has_prepared(struct pconn *c, const struct db_stmt *st)
{
	if (st->slot > c->nprepared) {
		int n = pool.nstmts > st->slot ? pool.nstmts : st->slot;
		c->prepared = xrealloc(c->prepared, (size_t)n);
		memset(c->prepared + c->nprepared, 0, (size_t)(n - c->nprepared));
		c->nprepared = n;
	}
	return c->prepared[st->slot - 1] != 0;
}

/* Sends the connection's job (or its statement's preparation first). */
static void
pc_send(struct pconn *c)
{
	struct db_job *j = c->job;
	const char *const *params = (const char *const *)j->params;
	int ok;

	if (j->stmt == NULL)
		ok = PQsendQueryParams(c->pg, j->sql, j->nparams, NULL, params, NULL, NULL, 0);
	else if (pc_has_prepared(c, j->stmt))
		ok = PQsendQueryPrepared(c->pg, j->stmt->name, j->nparams, params, NULL, NULL, 0);
	else {
		c->preparing = true;
		ok = PQsendPrepare(c->pg, j->stmt->name, j->stmt->sql, j->nparams, NULL);
	}
	if (!ok) {
		pc_broken(c, "cannot send query");
		return;
	}
	switch (PQflush(c->pg)) {
	case -1:
		pc_broken(c, "cannot send query");
		break;
	case 1:
		c->flushing = true;
		pc_arm(c, EV_READ | EV_WRITE);
		break;
	default:
		pc_arm(c, EV_READ);
		break;
	}
}

static void
pc_start(struct pconn *c, struct db_job *j)
{
	c->job = j;
	c->state = PC_BUSY;
	pool.queries++;
	/* The server's statement_timeout should answer first; this is the backstop. */
	pc_deadline(c, pool.query_timeout + 1.0);
	pc_send(c);
}

static void
pc_start_next(struct pconn *c)
{
	struct db_job *j;
	double now = clock_mono_real();

	while ((j = TAILQ_FIRST(&pool.queue)) != NULL) {
		TAILQ_REMOVE(&pool.queue, j, entry);
		pool.qlen--;
		if (j->deadline < now) {
			pool.timeouts++;
			job_fail(j, "timed out waiting for a database connection");
			if (c->state != PC_IDLE)
				return; /* its callback put a query here */
			continue;
		}
		pc_start(c, j);
		return;
	}
	pc_arm(c, EV_READ);
}

static struct db_job *
job_new(const char *sql, struct db_stmt *stmt, int nparams, const char *const *params, db_cb cb,
        void *arg)
{
	struct db_job *j = xcalloc(1, sizeof(*j));
	j->sql = sql ? xstrdup(sql) : NULL;
	j->stmt = stmt;
	j->nparams = nparams;
	j->params = xcalloc((size_t)nparams + 1, sizeof(char *));
	for (int i = 0; i < nparams; i++)
		j->params[i] = params[i] ? xstrdup(params[i]) : NULL;
	j->cb = cb;
	j->arg = arg;
	j->deadline = clock_mono_real() + pool.query_timeout;
	return j;
}

static int
submit(const char *sql, struct db_stmt *stmt, int nparams, const char *const *params, db_cb cb,
       void *arg)
{
	struct db_job *j;

	if (pool.stopping || !any_up()) {
		pool.rejected++;
		return -1;
	}
	for (int i = 0; i < pool.n; i++) {
		struct pconn *c = pool.c[i];
		if (c->state == PC_IDLE) {
			pc_disarm(c);
			j = job_new(sql, stmt, nparams, params, cb, arg);
			pc_start(c, j);
			return 0;
		}
	}
	if (pool.qlen >= pool.queue_max) {
		pool.rejected++;
		set_why("database busy: query queue full", NULL);
		return -1;
	}
	j = job_new(sql, stmt, nparams, params, cb, arg);
	TAILQ_INSERT_TAIL(&pool.queue, j, entry);
	pool.qlen++;
	return 0;
}

/*
 * Queues a query; sql and params are copied. Returns -1 at once when the
 * database is unavailable or the queue is full (answer 503), and then the
 * callback is never called. Returns 0 when the callback will be called
 * exactly once, usually later on the loop, though possibly before this call
 * returns if the connection breaks while sending: after 0 the caller must
 * leave the request to the callback. The callback gets the result (borrowed:
 * cleared when it returns) and an error text for a failed query, or a NULL
 * result and a reason when the query could not run.
 */
int
db_query(const char *sql, int nparams, const char *const *params, db_cb cb, void *arg)
{
	return submit(sql, NULL, nparams, params, cb, arg);
}

/*
 * As db_query, for a statement the caller keeps (static): each connection
 * prepares it under its name the first time it runs it, so the server
 * parses and analyses its text once per connection, not per call, and
 * keeps its plan (PostgreSQL's plan cache: custom plans for the first
 * runs, then the generic plan when it costs no more).
 */
int
db_query_stmt(struct db_stmt *st, const char *const *params, db_cb cb, void *arg)
{
	if (st->slot == 0)
		st->slot = ++pool.nstmts;
	return submit(NULL, st, st->nparams, params, cb, arg);
}

/*
 * True when a connection is up. Else `why` (if not NULL) gets a reason fit
 * for any client, without connection details (those were logged when the
 * connection failed); it stays valid until the pool's next change.
 */
bool
db_available(const char **why)
{
	if (any_up())
		return true;
	if (why)
		*why = pool.reason[0] ? pool.reason : "database unavailable: connecting";
	return false;
}

static void
free_params(void)
{
	db_conn_params_free(pool.kw, pool.val);
	pool.kw = pool.val = NULL;
}

static void
apply_config(const struct config *cfg)
{
	free_params();
	db_conn_params(cfg, &pool.kw, &pool.val);
	pool.connect_timeout = cfg->db_connect_timeout;
	pool.query_timeout = cfg->db_query_timeout;
	pool.queue_max = cfg->db_queue_max;
	snprintf(pool.timeout_sql, sizeof(pool.timeout_sql),
	         "SET statement_timeout = %ld; SELECT coalesce(max(version), 0) FROM "
	         "schema_migrations",
	         (long)(cfg->db_query_timeout * 1000));
}

void
db_pool_start(struct event_base *base, const struct config *cfg)
{
	pool.base = base;
	pool.schema_version = -1;
	TAILQ_INIT(&pool.queue);
	apply_config(cfg);
	set_why("database unavailable: connecting", NULL);
	pool.n = cfg->db_pool_size;
	pool.c = xcalloc((size_t)pool.n, sizeof(*pool.c));
	for (int i = 0; i < pool.n; i++) {
		struct pconn *c = xcalloc(1, sizeof(*c));
		c->id = i;
		c->sock = -1;
		c->backoff = BACKOFF_MIN;
		c->timer = evtimer_new(base, pc_timercb, c);
		pool.c[i] = c;
	}
	/* Only once all exist: a connect can fail at once and scan the pool. */
	for (int i = 0; i < pool.n; i++)
		pc_connect(pool.c[i]);
}

/* A reload: new connections use the new settings; busy ones finish first. */
void
db_pool_reconfigure(const struct config *cfg)
{
	char **kw, **val;
	bool same = true;

	if (cfg->db_pool_size != pool.n)
		log_warnx("config: db_pool_size changed; takes effect at restart");
	db_conn_params(cfg, &kw, &val);
	for (int i = 0; kw[i] || pool.kw[i]; i++)
		if (!kw[i] || !pool.kw[i] || strcmp(kw[i], pool.kw[i]) ||
		    strcmp(val[i], pool.val[i]))
			same = false;
	db_conn_params_free(kw, val);
	apply_config(cfg);
	if (same)
		return;
	pool.generation++;
	log_notice("db: connection settings changed; reconnecting");
	for (int i = 0; i < pool.n; i++) {
		struct pconn *c = pool.c[i];
		if (c->state != PC_BUSY) {
			pc_reset(c, "reconfigured", 0);
			evtimer_del(c->timer);
			pc_connect(c);
		}
	}
}

void
db_pool_stop(void)
{
	struct db_job *j;

	pool.stopping = true;
	set_why("stafetd is stopping", NULL);
	while ((j = TAILQ_FIRST(&pool.queue)) != NULL) {
		TAILQ_REMOVE(&pool.queue, j, entry);
		pool.qlen--;
		job_fail(j, pool.why);
	}
	for (int i = 0; i < pool.n; i++) {
		struct pconn *c = pool.c[i];
		pc_reset(c, pool.why, 0);
		event_free(c->timer);
		free(c->prepared);
		free(c);
	}
	free(pool.c);
	pool.c = NULL;
	pool.n = 0;
	free_params();
}

void
db_metrics_render(struct evbuffer *b)
{
	int counts[5] = {0};

	for (int i = 0; i < pool.n; i++)
		counts[pool.c[i]->state]++;
	evbuffer_add_printf(b,
	                    "# HELP stafet_db_connections PostgreSQL pool connections by state.\n"
	                    "# TYPE stafet_db_connections gauge\n");
	for (int s = 0; s < 5; s++)
		evbuffer_add_printf(b, "stafet_db_connections{state=\"%s\"} %d\n", pc_names[s],
		                    counts[s]);
	evbuffer_add_printf(
	    b,
	    "# TYPE stafet_db_queue_depth gauge\nstafet_db_queue_depth %d\n"
	    "# TYPE stafet_db_queries_total counter\nstafet_db_queries_total %llu\n"
	    "# HELP stafet_db_errors_total Queries that failed, for any reason.\n"
	    "# TYPE stafet_db_errors_total counter\nstafet_db_errors_total %llu\n"
	    "# TYPE stafet_db_rejected_total counter\nstafet_db_rejected_total %llu\n"
	    "# TYPE stafet_db_timeouts_total counter\nstafet_db_timeouts_total %llu\n"
	    "# TYPE stafet_db_connects_total counter\nstafet_db_connects_total %llu\n"
	    "# TYPE stafet_db_connect_failures_total counter\n"
	    "stafet_db_connect_failures_total %llu\n"
	    "# TYPE stafet_db_schema_version gauge\nstafet_db_schema_version %d\n",
	    pool.qlen, pool.queries, pool.errors, pool.rejected, pool.timeouts, pool.connects,
	    pool.connect_failures, pool.schema_version);
}

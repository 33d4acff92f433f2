/*
 * outbox.c: delivering the alerts in the outbox.
 *
 * A timer claims due rows (FOR UPDATE SKIP LOCKED, with a lease, so that
 * several daemons on one database never claim the same row, and a daemon
 * that dies lets its rows go when the lease ends). For each row the loop
 * resolves the recipients through the directory as it is now (the named
 * person, else the unit's mailbox; an absent person's deputy too; nobody
 * twice), holds back the addresses of those who chose a daily digest,
 * builds the mail, refuses it if anything in it looks like a CPR number,
 * and hands it to the SMTP worker (smtp.c). Each result is written back:
 * sent; tried again later with exponential backoff and jitter (4xx,
 * connection errors); or, after alert_max_attempts permanent failures
 * (5xx), dead. A crash between sending and writing "sent" means the row is
 * sent again after its lease, with the same Message-ID.
 *
 * The outbox's and the alert settings' endpoints are api/alerts.c's.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "alerts.h"

struct pending {
	long long id;
	int attempts;
	json_t *digest; /* [{"person", "email"}] held for digests, or NULL */
	char ref[32];
};

static struct {
	struct event_base *base;
	struct event *timer, *gauge_timer;
	bool claiming, gauging;
	size_t outstanding; /* mails and writes of the last claim not finished */
	int last_claimed;
	double poll, retry_min, retry_max, lease;
	int max_attempts, batch;
	char base_url[512], from[256];
	bool enabled;
	long long pending, dead, held;
	double oldest;
	unsigned long long claimed, sent, temporary, permanent, dead_lettered, refused, no_rcpt,
	    write_errors;
} ob;

static void claim(void);

static void
arm(double secs)
{
	struct timeval tv = clock_timeval(secs);
	if (ob.timer)
		evtimer_add(ob.timer, &tv);
}

/* Looks for due rows now (an admin's retry made one due). */
void
outbox_kick(void)
{
	arm(0);
}

static void
settings(const struct config *c)
{
	ob.poll = c->alert_poll_interval;
	ob.retry_min = c->alert_retry_min;
	ob.retry_max = c->alert_retry_max;
	ob.lease = c->alert_lease;
	ob.max_attempts = c->alert_max_attempts;
	ob.batch = c->alert_batch;
	ob.enabled = *c->smtp_url != '\0';
	snprintf(ob.from, sizeof(ob.from), "%s", c->smtp_from);
	if (*c->public_url)
		snprintf(ob.base_url, sizeof(ob.base_url), "%s", c->public_url);
	else
		snprintf(ob.base_url, sizeof(ob.base_url), "http://%s", c->listen);
}

/* One piece of work of the current claim is done; claim again at once when
 * the claim was full (a backlog drains at the worker's pace). */
static void
finished_one(void)
{
	if (ob.outstanding > 0 && --ob.outstanding == 0 && ob.last_claimed >= ob.batch)
		arm(0);
}

static void
write_done(PGresult *res, const char *error, void *arg)
{
	struct pending *p = arg;
	(void)res;
	if (error) {
		ob.write_errors++;
		log_warnx("alerts: outbox %lld: recording the result: %s", p->id, error);
	}
	json_decref(p->digest);
	free(p);
	finished_one();
}

static void
write_result(struct pending *p, const char *sql, int n, const char *const *params)
{
	if (db_query(sql, n, params, write_done, p) == -1) {
		ob.write_errors++;
		log_warnx("alerts: outbox %lld: database unavailable; the row goes again after its "
		          "lease",
		          p->id);
		json_decref(p->digest);
		free(p);
		finished_one();
	}
}

static void
mark_sent(struct pending *p, const char *state)
{
	char id[32], *dg = p->digest ? json_dumps(p->digest, JSON_COMPACT) : xstrdup("[]");
	const char *params[3] = {id, dg, state};
	snprintf(id, sizeof(id), "%lld", p->id);
	write_result(
	    p,
	    "WITH u AS (UPDATE outbox SET state = $3, sent_at = CASE WHEN $3 = 'sent' "
	    "THEN now() END, lease_until = NULL, last_error = NULL WHERE id = $1::bigint "
	    "AND state = 'pending' RETURNING id) "
	    "INSERT INTO digest_items (person_id, email, outbox_id) "
	    "SELECT d->>'person', d->>'email', u.id FROM u, jsonb_array_elements($2::jsonb) d "
	    "ON CONFLICT DO NOTHING",
	    3, params);
	free(dg);
}

static void
mark_dead(struct pending *p, const char *why)
{
	char id[32];
	const char *params[2] = {id, why};
	snprintf(id, sizeof(id), "%lld", p->id);
	ob.dead_lettered++;
	log_warnx("alerts: outbox %lld (%s) dead after %d attempt%s: %s", p->id, p->ref,
	          p->attempts, p->attempts == 1 ? "" : "s", why);
	write_result(p,
	             "UPDATE outbox SET state = 'dead', lease_until = NULL, last_error = $2 "
	             "WHERE id = $1::bigint AND state = 'pending'",
	             2, params);
}

static void
retry_later(struct pending *p, const char *why)
{
	char id[32], wait[32];
	const char *params[3] = {id, wait, why};
	double w = ob.retry_min * pow(2.0, p->attempts > 1 ? p->attempts - 1 : 0);
	if (w > ob.retry_max)
		w = ob.retry_max;
	w *= 0.75 + 0.5 * ((double)(random() % 1000) / 1000.0); /* jitter: ±25 % */
	snprintf(id, sizeof(id), "%lld", p->id);
	/* from the daemon's clock (a moved test clock is ahead of now()) */
	snprintf(wait, sizeof(wait), "%.3f", w + clock_db_offset());
	log_notice("alerts: outbox %lld (%s) attempt %d failed, again in %.0fs: %s", p->id, p->ref,
	           p->attempts, w, why);
	write_result(
	    p,
	    "UPDATE outbox SET lease_until = NULL, last_error = $3, next_attempt_at = now() "
	    "+ make_interval(secs => $2::float8) WHERE id = $1::bigint AND state = "
	    "'pending'",
	    3, params);
}

static void
mail_done(struct smtp_mail *m)
{
	struct pending *p = m->arg;

	switch (m->result) {
	case SMTP_SENT:
		ob.sent++;
		log_info("alerts: outbox %lld (%s) sent to %zu address%s", p->id, p->ref, m->nrcpt,
		         m->nrcpt == 1 ? "" : "es");
		mark_sent(p, "sent");
		break;
	case SMTP_TEMPORARY:
		ob.temporary++;
		retry_later(p, m->error);
		break;
	case SMTP_PERMANENT:
		ob.permanent++;
		if (p->attempts >= ob.max_attempts)
			mark_dead(p, m->error);
		else
			retry_later(p, m->error);
		break;
	}
	smtp_mail_free(m);
}

static void
rfc5322_date(char out[64])
{
	time_t t = clock_time();
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 64, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static bool
in_list(const json_t *list, const char *s)
{
	size_t i;
	const json_t *v;
	json_array_foreach (list, i, v) {
		if (json_is_string(v) && s && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

/* Row columns: id, event, audience, recipients, message_id, attempts,
 * detail, note, digest persons. */
static void
deliver_row(PGresult *res, int i, const struct dir_snapshot *s)
{
	struct pending *p = xcalloc(1, sizeof(*p));
	json_t *audience = json_loads(PQgetvalue(res, i, 2), 0, NULL);
	json_t *stored = json_loads(PQgetvalue(res, i, 3), 0, NULL);
	json_t *detail = PQgetisnull(res, i, 6) ? NULL : json_loads(PQgetvalue(res, i, 6), 0, NULL);
	json_t *note = PQgetisnull(res, i, 7) ? NULL : json_loads(PQgetvalue(res, i, 7), 0, NULL);
	json_t *digesters = json_loads(PQgetvalue(res, i, 8), 0, NULL);
	const char *event = PQgetvalue(res, i, 1);
	json_t *rcpt, *r;
	struct alert_info a;
	const char **to;
	size_t n = 0, k;
	char date[64], today[11], *data;
	size_t len;

	p->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	p->attempts = atoi(PQgetvalue(res, i, 5));
	snprintf(p->ref, sizeof(p->ref), "%s",
	         note && json_str(note, "ref") ? json_str(note, "ref") : "-");
	clock_today(today);
	/* Who, as the directory says now; what was stored if it cannot say. */
	rcpt = (s && strcmp(event, "digest") != 0) ? note_recipients(s, audience, today) : NULL;
	if (rcpt == NULL || json_array_size(rcpt) == 0) {
		json_decref(rcpt);
		rcpt = json_is_array(stored) ? json_incref(stored) : json_array();
	}
	to = xcalloc(json_array_size(rcpt) + 1, sizeof(*to));
	json_array_foreach (rcpt, k, r) {
		const char *email = json_str(r, "email"), *person = json_str(r, "person");
		if (email == NULL)
			continue;
		if (strcmp(event, "digest") != 0 && person && in_list(digesters, person)) {
			if (p->digest == NULL)
				p->digest = json_array();
			json_array_append_new(
			    p->digest, json_pack("{s:s, s:s}", "person", person, "email", email));
			continue;
		}
		to[n++] = email;
	}
	if (n == 0) {
		if (p->digest) {
			mark_sent(p, "digest"); /* all held for digests */
		} else {
			ob.no_rcpt++;
			mark_dead(p, "no recipient address");
		}
		goto out;
	}
	memset(&a, 0, sizeof(a));
	a.event = event;
	a.ref = note ? json_str(note, "ref") : NULL;
	a.note_id = note ? json_str(note, "id") : NULL;
	a.route = note ? json_str(note, "route") : NULL;
	a.status = note ? json_str(note, "status") : NULL;
	a.planned_date = note ? json_str(note, "planned_date") : NULL;
	a.due = detail ? json_str(detail, "due") : NULL;
	a.detail = detail;
	a.message_id = PQgetvalue(res, i, 4);
	a.base_url = ob.base_url;
	a.from = ob.from;
	a.to = to;
	a.nto = n;
	rfc5322_date(date);
	a.date = date;
	data = mail_build(&a, &len);
	if (mail_text_has_cpr(data, len)) {
		/* Never the number itself in the log: only that it was there. */
		ob.refused++;
		metrics_count("alerts_cpr_refused_total");
		free(data);
		mark_dead(p, "refused: the mail holds something shaped like a CPR number");
		goto out;
	}
	struct smtp_mail *m = xcalloc(1, sizeof(*m));
	m->outbox_id = p->id;
	m->rcpt = xcalloc(n, sizeof(char *));
	for (k = 0; k < n; k++)
		m->rcpt[k] = xstrdup(to[k]);
	m->nrcpt = n;
	m->data = data;
	m->len = len;
	m->arg = p;
	smtp_submit(m);
out:
	free(to);
	json_decref(rcpt);
	json_decref(audience);
	json_decref(stored);
	json_decref(detail);
	json_decref(note);
	json_decref(digesters);
}

static void
claimed(PGresult *res, const char *error, void *arg)
{
	const struct dir_snapshot *s = dir_sync_current();
	int n;
	(void)arg;

	ob.claiming = false;
	if (error || res == NULL) {
		log_warnx("alerts: claiming from the outbox: %s", error ? error : "no result");
		arm(ob.poll);
		return;
	}
	n = PQntuples(res);
	ob.last_claimed = n;
	ob.claimed += (unsigned long long)n;
	if (n == 0) {
		arm(ob.poll);
		return;
	}
	ob.outstanding = (size_t)n;
	for (int i = 0; i < n; i++)
		deliver_row(res, i, s);
	/* the next claim comes when these are done, or at the next poll */
	arm(ob.poll);
}

static void
claim(void)
{
	char batch[16], lease[32], off[32];
	const char *params[3] = {batch, lease, clock_db_offset_param(off)};

	if (!ob.enabled || ob.claiming || ob.outstanding > 0)
		return;
	snprintf(batch, sizeof(batch), "%d", ob.batch);
	snprintf(lease, sizeof(lease), "%.3f", ob.lease);
	if (db_query(
	        "WITH n AS (SELECT now() + make_interval(secs => $3::float8) AS now), "
	        "c AS (SELECT id FROM outbox, n WHERE state = 'pending' "
	        "AND next_attempt_at <= n.now AND (lease_until IS NULL OR lease_until < n.now) "
	        "ORDER BY next_attempt_at, id LIMIT $1::int FOR UPDATE OF outbox SKIP LOCKED), "
	        "d AS (SELECT COALESCE(jsonb_agg(person_id), '[]') AS j FROM alert_preferences "
	        "WHERE digest) "
	        "UPDATE outbox o SET lease_until = (SELECT now FROM n) + make_interval(secs => "
	        "$2::float8), "
	        "attempts = o.attempts + 1 FROM c WHERE o.id = c.id "
	        "RETURNING o.id, o.event, o.audience::text, o.recipients::text, o.message_id, "
	        "o.attempts, o.detail::text, COALESCE((SELECT jsonb_build_object('id', h.id, "
	        "'ref', h.ref, 'route', h.route, 'status', h.status, 'planned_date', "
	        "h.planned_date) FROM handovers h WHERE h.id = o.handover_id), "
	        /* a notice's alert (migration 0013): its ref, route and status */
	        "(SELECT jsonb_build_object('id', n.id, 'ref', n.ref, 'route', n.route, 'status', "
	        "n.status) FROM notices n WHERE n.id = o.notice_id))::text, (SELECT j FROM "
	        "d)::text",
	        3, params, claimed, NULL) == 0)
		ob.claiming = true;
	else
		arm(ob.poll);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (!ob.claiming && ob.outstanding == 0)
		claim();
	else
		arm(ob.poll);
}

static void
gauged(PGresult *res, const char *error, void *arg)
{
	(void)arg;
	ob.gauging = false;
	if (error || res == NULL || PQntuples(res) != 1)
		return;
	ob.pending = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	ob.dead = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	ob.held = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	ob.oldest = strtod(PQgetvalue(res, 0, 3), NULL);
}

static void
gauge_tick(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = {10, 0};
	(void)fd;
	(void)what;
	(void)arg;
	if (!ob.gauging &&
	    db_query("SELECT count(*) FILTER (WHERE state = 'pending'), "
	             "count(*) FILTER (WHERE state = 'dead'), "
	             "(SELECT count(*) FROM digest_items WHERE digest_id IS NULL), "
	             "COALESCE(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = "
	             "'pending')), 0) FROM outbox WHERE state IN ('pending', 'dead')",
	             0, NULL, gauged, NULL) == 0)
		ob.gauging = true;
	evtimer_add(ob.gauge_timer, &tv);
}

void
outbox_start(struct event_base *base, const struct config *c)
{
	struct timeval tv = {1, 0};
	ob.base = base;
	settings(c);
	smtp_start(base, c, mail_done);
	ob.timer = evtimer_new(base, tick, NULL);
	ob.gauge_timer = evtimer_new(base, gauge_tick, NULL);
	if (ob.timer == NULL || ob.gauge_timer == NULL)
		fatalx("alerts: evtimer_new");
	arm(1.0);
	evtimer_add(ob.gauge_timer, &tv);
	if (!ob.enabled)
		log_notice("alerts: no smtp_url: alerts wait in the outbox");
}

void
outbox_reconfigure(const struct config *c)
{
	bool was = ob.enabled;
	settings(c);
	smtp_reconfigure(c);
	if (ob.enabled && !was)
		arm(0);
}

static void
pending_free(void *arg)
{
	struct pending *p = arg;
	if (p) {
		json_decref(p->digest);
		free(p);
	}
}

void
outbox_stop(void)
{
	smtp_stop(pending_free);
	if (ob.timer)
		event_free(ob.timer);
	if (ob.gauge_timer)
		event_free(ob.gauge_timer);
	memset(&ob, 0, sizeof(ob));
}

void
outbox_metrics_render(struct evbuffer *b)
{
	evbuffer_add_printf(
	    b,
	    "# HELP stafet_outbox_pending Alerts waiting to be sent.\n"
	    "# TYPE stafet_outbox_pending gauge\nstafet_outbox_pending %lld\n"
	    "# HELP stafet_outbox_dead Alerts given up on (dead letters).\n"
	    "# TYPE stafet_outbox_dead gauge\nstafet_outbox_dead %lld\n"
	    "# HELP stafet_outbox_digest_held Alerts held for daily digests.\n"
	    "# TYPE stafet_outbox_digest_held gauge\nstafet_outbox_digest_held %lld\n"
	    "# HELP stafet_outbox_oldest_pending_seconds Age of the oldest waiting alert.\n"
	    "# TYPE stafet_outbox_oldest_pending_seconds gauge\n"
	    "stafet_outbox_oldest_pending_seconds %.3f\n"
	    "# HELP stafet_alerts_total Alert delivery attempts by outcome, by this daemon.\n"
	    "# TYPE stafet_alerts_total counter\n"
	    "stafet_alerts_total{outcome=\"sent\"} %llu\n"
	    "stafet_alerts_total{outcome=\"temporary_failure\"} %llu\n"
	    "stafet_alerts_total{outcome=\"permanent_failure\"} %llu\n"
	    "stafet_alerts_total{outcome=\"dead\"} %llu\n"
	    "stafet_alerts_total{outcome=\"refused_cpr\"} %llu\n"
	    "stafet_alerts_total{outcome=\"no_recipient\"} %llu\n"
	    "# HELP stafet_alerts_claimed_total Outbox rows claimed by this daemon.\n"
	    "# TYPE stafet_alerts_claimed_total counter\nstafet_alerts_claimed_total %llu\n"
	    "# HELP stafet_alerts_write_errors_total Delivery results not recorded.\n"
	    "# TYPE stafet_alerts_write_errors_total counter\n"
	    "stafet_alerts_write_errors_total %llu\n",
	    ob.pending, ob.dead, ob.held, ob.oldest, ob.sent, ob.temporary, ob.permanent,
	    ob.dead_lettered, ob.refused, ob.no_rcpt, ob.claimed, ob.write_errors);
}

/* The alert keys' values (app/config_keys.c's table). */
int
outbox_check_smtp_url(const char *v, char *why, size_t n)
{
	if (!*v || strncmp(v, "smtp://", 7) == 0 || strncmp(v, "smtps://", 8) == 0)
		return 0;
	snprintf(why, n, "'%s' is not smtp://host[:port] or smtps://host[:port]", v);
	return -1;
}

int
outbox_check_smtp_from(const char *v, char *why, size_t n)
{
	if (strchr(v, '@') != NULL && strpbrk(v, "<>\r\n ,;") == NULL)
		return 0;
	snprintf(why, n, "'%s' is not a plain address (user@host)", v);
	return -1;
}

int
outbox_check_digest_time(const char *v, char *why, size_t n)
{
	int hh, mm;
	char tail;

	if (strlen(v) == 5 && isdigit((unsigned char)v[0]) && isdigit((unsigned char)v[1]) &&
	    v[2] == ':' && isdigit((unsigned char)v[3]) && isdigit((unsigned char)v[4]) &&
	    sscanf(v, "%2d:%2d%c", &hh, &mm, &tail) == 2 && hh <= 23 && mm <= 59)
		return 0;
	snprintf(why, n, "'%s' is not HH:MM", v);
	return -1;
}

/* The alert keys that relate. */
void
outbox_check_keys(const struct config *cfg, const char *path, struct strlist *errors)
{
	if (cfg->smtp_password && *cfg->smtp_password && !*cfg->smtp_username)
		strlist_add(errors, "%s: smtp_password_file is set but smtp_username is not", path);
	if (cfg->alert_retry_min > cfg->alert_retry_max)
		strlist_add(errors, "%s: alert_retry_min must not exceed alert_retry_max", path);
}

/*
 * reminders.c: alerts for notes that wait too long, counted in Danish
 * working days (workdays.c), and the daily digests.
 *
 * Every reminder_interval the open notes are read and, in C, held to the
 * rules of DESIGN.md's alert table (the route's rules.reminders may change
 * the thresholds):
 *   undecided         submitted or received, and not decided within N
 *                     working days of being sent: the receiver and the
 *                     receiving unit's lead;
 *   returned_waiting  returned and not sent again within N working days:
 *                     the sender;
 *   draft_due         still a draft N working days or less before the
 *                     planned date: the sender;
 *   before_18         routes with months_before_18 (BUR-H): the 18th
 *                     birthday minus each of those months has come and the
 *                     note is not accepted: the sender and the receiver.
 *   notice_milestone  a notice (varsel) open or acknowledged: each of its
 *                     milestones not done (notice.c) from NEAR working
 *                     days before its due date until that date: the sender,
 *                     and the named receiver once acknowledged. Once per
 *                     notice, milestone and due date: the outbox row's
 *                     Message-ID is made of them (unique), so a second
 *                     tick or daemon writes nothing.
 * And a note waiting for a receiver who has left the directory goes to the
 * receiving unit as a whole (its mailbox and lead are told); one waiting
 * for a unit that is gone goes to the route's receiving unit.
 * A reminder is written (a reminders row and its outbox row, in one
 * statement) once per due point: the day the note was sent or returned,
 * the planned date, the number of months. So a tick that finds it again
 * writes nothing, and two daemons write it once.
 *
 * "Today" is clock_today(): the Copenhagen date of the daemon's clock
 * (clock.c), which only a test build lets a test move.
 *
 * A round is the digests, the read of the open notes and every reminder it
 * writes; the next round starts reminder_interval after the last write is
 * answered, and /metrics tells when the last whole round began (so a test
 * that moved the clock knows when the daemon has judged the new day).
 */
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
#include "workdays.h"
#include "notice.h"

#define CANDIDATES_MAX 200000
#define NEAR           10 /* working days before a notice's milestone */

static struct {
	struct event *timer;
	bool running;       /* a round is under way */
	size_t outstanding; /* queries of the round not answered yet */
	bool judged;        /* the round read and judged the open notes */
	double started;     /* the round's start, on the daemon's wall clock */
	double next;        /* seconds from the round's end to the next */
	char today[11];     /* the round's day */
	double interval;
	int undecided, returned, draft;
	unsigned off;
	int digest_minutes; /* local time of day of the digest */
	char last_digest[11];
	double last_round; /* start of the last whole round that judged the notes */
	unsigned long long written, runs, errors;
} rm;

static void
arm(double secs)
{
	struct timeval tv = clock_timeval(secs);
	if (rm.timer)
		evtimer_add(rm.timer, &tv);
}

/* One query of the round is answered (or was never sent); the last one
 * ends the round. */
static void
round_part_done(void)
{
	if (rm.outstanding == 0 || --rm.outstanding > 0)
		return;
	rm.running = false;
	if (rm.judged) {
		rm.runs++;
		rm.last_round = rm.started;
	}
	arm(rm.next);
}

static void
settings(const struct config *c)
{
	int hh = 7, mm = 0;
	rm.interval = c->reminder_interval;
	rm.undecided = c->reminder_undecided_days;
	rm.returned = c->reminder_returned_days;
	rm.draft = c->reminder_draft_days;
	if (workdays_days_off(c->days_off, &rm.off) == -1)
		rm.off = 0;
	if (sscanf(c->digest_time, "%d:%d", &hh, &mm) != 2)
		hh = 7, mm = 0;
	rm.digest_minutes = hh * 60 + mm;
}

static void
written(PGresult *res, const char *error, void *arg)
{
	char *what = arg;
	if (error) {
		rm.errors++;
		log_warnx("reminders: %s: %s", what, error);
	} else if (res && PQntuples(res) > 0) {
		rm.written++;
		log_info("reminders: %s", what);
	}
	free(what);
	round_part_done();
}

/* Writes one reminder unless its (note, kind, due point) was written. */
static void
remind(const char *id, const char *ref, const char *kind, const char *point, json_t *audience,
       json_t *detail)
{
	const struct dir_snapshot *s = dir_sync_current();
	char today[11], *aud, *rcpt, *det, *what;
	json_t *recipients;

	clock_today(today);
	recipients = note_recipients(s, audience, today);
	aud = json_dumps(audience, JSON_COMPACT);
	rcpt = json_dumps(recipients, JSON_COMPACT);
	det = json_dumps(detail, JSON_COMPACT);
	xasprintf(&what, "%s for %s (%s)", kind, ref, point);
	const char *params[6] = {id, kind, point, aud, rcpt, det};
	/* The outbox row's id is drawn first, so the reminder can name it. */
	if (db_query(
	        "WITH r AS (INSERT INTO reminders (handover_id, kind, due_point, outbox_id) "
	        "VALUES ($1::uuid, $2, $3, nextval('outbox_id_seq')) ON CONFLICT DO NOTHING "
	        "RETURNING handover_id, outbox_id) "
	        "INSERT INTO outbox (id, handover_id, event, audience, recipients, message_id, "
	        "detail) SELECT outbox_id, handover_id, $2, $4::jsonb, $5::jsonb, '<' || "
	        "gen_random_uuid()::text || '@stafet>', $6::jsonb FROM r RETURNING id",
	        6, params, written, what) == -1) {
		rm.errors++;
		free(what);
	} else {
		rm.outstanding++;
	}
	json_decref(audience);
	json_decref(detail);
	json_decref(recipients);
	free(aud);
	free(rcpt);
	free(det);
}

static void
rerouted(PGresult *res, const char *error, void *arg)
{
	char *what = arg;
	if (error)
		log_warnx("reminders: %s: %s", what, error);
	else if (res && PQntuples(res) == 1)
		log_notice("reminders: %s", what);
	free(what);
	round_part_done();
}

/* Moves a waiting note off a receiver (or unit) that is gone. */
static void
reroute(const char *id, const char *ref, const char *version, const char *unit, const char *why)
{
	const struct dir_snapshot *s = dir_sync_current();
	char today[11], *what, *head, *detail, *outbox;
	json_t *audience = json_pack("[{s:s}, {s:s}]", "unit", unit, "lead", unit);

	clock_today(today);
	head = json_dumps(json_pack("{s:s, s:n}", "receiver_unit", unit, "receiver_person"),
	                  JSON_COMPACT);
	detail = json_dumps(json_pack("{s:s, s:s}", "reason", why, "to_unit", unit), JSON_COMPACT);
	outbox = json_dumps(json_pack("[{s:s, s:O, s:o}]", "event", "rerouted", "audience",
	                              audience, "recipients", note_recipients(s, audience, today)),
	                    JSON_COMPACT);
	json_decref(audience);
	xasprintf(&what, "%s moved to unit %s (%s)", ref, unit, why);
	const char *params[6] = {id, version, "stafetd", head, detail, outbox};
	if (db_query("SELECT 1 FROM handover_write($1::uuid, $2::int, $3, $3, NULL, 'reroute', "
	             "$4::jsonb, $5::jsonb, NULL, $6::jsonb) w WHERE w IS NOT NULL",
	             6, params, rerouted, what) == -1)
		free(what);
	else
		rm.outstanding++;
	free(head);
	free(detail);
	free(outbox);
}

static void
local_date(const char *epoch, char out[11])
{
	clock_date_copenhagen((time_t)strtoll(epoch, NULL, 10), out);
}

static json_t *
party(const char *person, const char *unit)
{
	if (person && *person)
		return json_pack("{s:s, s:s}", "person", person, "unit", unit);
	return json_pack("{s:s}", "unit", unit);
}

/* Columns: id, ref, route, status, sender_person, sender_unit, receiver_unit,
 * receiver_person, submitted (epoch), decided (epoch), planned_date, birthdate,
 * version. */
static void
judge(PGresult *res, int i, const struct ho_route_set *set, const char *today, bool s_ok)
{
	const char *id = PQgetvalue(res, i, 0), *ref = PQgetvalue(res, i, 1);
	const char *status = PQgetvalue(res, i, 3);
	const char *sender = PQgetvalue(res, i, 4), *sunit = PQgetvalue(res, i, 5);
	const char *runit = PQgetvalue(res, i, 6);
	const char *rperson = PQgetisnull(res, i, 7) ? NULL : PQgetvalue(res, i, 7);
	const struct ho_route *r = routes_find_any(set, PQgetvalue(res, i, 2));
	char day[11], due[11];

	if ((strcmp(status, "submitted") == 0 || strcmp(status, "received") == 0) && s_ok) {
		const struct dir_snapshot *s = dir_sync_current();
		if (dir_lookup_unit(s, runit) == DIR_NONE) {
			if (r && r->to_unit && strcmp(r->to_unit, runit) != 0 &&
			    dir_lookup_unit(s, r->to_unit) != DIR_NONE)
				reroute(id, ref, PQgetvalue(res, i, 12), r->to_unit, "unit_gone");
			return;
		}
		if (rperson && dir_lookup_person(s, rperson) == DIR_NONE) {
			reroute(id, ref, PQgetvalue(res, i, 12), runit, "receiver_left");
			return;
		}
	}
	if (strcmp(status, "submitted") == 0 || strcmp(status, "received") == 0) {
		int n = r && r->undecided_days ? r->undecided_days : rm.undecided;
		if (PQgetisnull(res, i, 8))
			return;
		local_date(PQgetvalue(res, i, 8), day);
		if (workdays_add(day, n, rm.off, due) == 0 && strcmp(today, due) >= 0) {
			char point[96];
			snprintf(point, sizeof(point), "%s %s", day, runit);
			remind(id, ref, "undecided", point,
			       json_pack("[o, {s:s}]", party(rperson, runit), "lead", runit),
			       json_pack("{s:s}", "due", due));
		}
	} else if (strcmp(status, "returned") == 0) {
		int n = r && r->returned_days ? r->returned_days : rm.returned;
		if (PQgetisnull(res, i, 9))
			return;
		local_date(PQgetvalue(res, i, 9), day);
		if (workdays_add(day, n, rm.off, due) == 0 && strcmp(today, due) >= 0)
			remind(id, ref, "returned_waiting", day,
			       json_pack("[o]", party(sender, sunit)),
			       json_pack("{s:s}", "due", due));
	} else if (strcmp(status, "draft") == 0 && !PQgetisnull(res, i, 10)) {
		int n = r && r->draft_days ? r->draft_days : rm.draft;
		const char *planned = PQgetvalue(res, i, 10);
		int left = workdays_between(today, planned, rm.off);
		if (left >= 0 && left <= n)
			remind(id, ref, "draft_due", planned,
			       json_pack("[o]", party(sender, sunit)),
			       json_pack("{s:s}", "due", planned));
	}
	/* BUR-H: the adult decision must be ready by the 18th birthday. */
	if (r && r->nmonths_before_18 && !PQgetisnull(res, i, 11)) {
		for (size_t k = 0; k < r->nmonths_before_18; k++) {
			char point[16];
			int m = r->months_before_18[k];
			if (checks_date_add_months(PQgetvalue(res, i, 11), 18 * 12 - m, due) != 0 ||
			    strcmp(today, due) < 0)
				continue;
			snprintf(point, sizeof(point), "%d", m);
			remind(id, ref, "before_18", point,
			       json_pack("[o, o]", party(sender, sunit), party(rperson, runit)),
			       json_pack("{s:i}", "months", m));
		}
	}
}

static void
candidates(PGresult *res, const char *error, void *arg)
{
	struct ho_route_set *set = routes_current();
	(void)arg;

	if (error || res == NULL) {
		rm.errors++;
		log_warnx("reminders: reading the open notes: %s", error ? error : "no result");
	} else if (set != NULL && dir_sync_current() != NULL) { /* else the next round */
		/* Only a fresh, whole directory may move notes away from people. */
		bool s_ok = !dir_sync_stale() && dir_sync_current()->npersons > 0;
		rm.judged = true;
		for (int i = 0; i < PQntuples(res); i++)
			judge(res, i, set, rm.today, s_ok);
		if (PQntuples(res) >= CANDIDATES_MAX)
			log_warnx("reminders: more than %d open notes; the oldest changes wait a "
			          "round",
			          CANDIDATES_MAX);
	}
	round_part_done();
}

/* A notice's milestone reminder, unless written before (the Message-ID). */
static void
notice_remind(const json_t *row, const json_t *m, json_t *audience)
{
	const struct dir_snapshot *s = dir_sync_current();
	const char *id = json_str(row, "id"), *key = json_str(m, "key"), *due = json_str(m, "due");
	json_t *recipients = note_recipients(s, audience, rm.today);
	json_t *detail =
	    json_pack("{s:s, s:s, s:s}", "key", key, "due", due, "label", json_str(m, "label"));
	char *aud = json_dumps(audience, JSON_COMPACT),
	     *rcpt = json_dumps(recipients, JSON_COMPACT);
	char *det = json_dumps(detail, JSON_COMPACT), *what;

	xasprintf(&what, "notice_milestone %s for %s (%s)", key, json_str(row, "ref"), due);
	const char *params[6] = {id, key, due, aud, rcpt, det};
	if (db_query("INSERT INTO outbox (notice_id, event, audience, recipients, message_id, "
	             "detail) VALUES ($1::uuid, 'notice_milestone', $4::jsonb, $5::jsonb, "
	             "'<notice.' || $1 || '.' || $2 || '.' || $3 || '@stafet>', $6::jsonb) "
	             "ON CONFLICT (message_id) DO NOTHING RETURNING id",
	             6, params, written, what) == -1) {
		rm.errors++;
		free(what);
	} else {
		rm.outstanding++;
	}
	json_decref(audience);
	json_decref(recipients);
	json_decref(detail);
	free(aud);
	free(rcpt);
	free(det);
}

/* The open notices' milestones, near and not done. */
static void
notice_candidates(PGresult *res, const char *error, void *arg)
{
	struct ho_route_set *set = routes_current();
	char near[11];
	(void)arg;

	if (error || res == NULL) {
		rm.errors++;
		log_warnx("reminders: reading the notices: %s", error ? error : "no result");
	} else if (set && workdays_add(rm.today, NEAR, rm.off, near) == 0) {
		for (int i = 0; i < PQntuples(res); i++) {
			json_t *row = json_loads(PQgetvalue(res, i, 0), 0, NULL), *ms, *m;
			size_t k;
			if (row == NULL)
				continue;
			ms = notice_milestones(routes_find_any(set, json_str(row, "route")), row,
			                       rm.off);
			json_array_foreach (ms, k, m) {
				const char *due = json_str(m, "due"),
				           *rp = json_str(row, "receiver_person");
				if (json_is_true(json_object_get(m, "done")) ||
				    strcmp(due, rm.today) < 0 || strcmp(due, near) > 0)
					continue;
				json_t *aud =
				    json_pack("[{s:s}]", "person", json_str(row, "sender_person"));
				if (rp && json_str(row, "acknowledged_at"))
					json_array_append_new(aud,
					                      json_pack("{s:s}", "person", rp));
				notice_remind(row, m, aud);
			}
			json_decref(ms);
			json_decref(row);
		}
	}
	round_part_done();
}

static void
digests_made(PGresult *res, const char *error, void *arg)
{
	char *day = arg;
	if (error) {
		rm.errors++;
		log_warnx("reminders: making the digests of %s: %s", day, error);
	} else {
		snprintf(rm.last_digest, sizeof(rm.last_digest), "%s", day);
		if (res && PQntuples(res) == 1 && atoi(PQgetvalue(res, 0, 0)) > 0)
			log_info("reminders: %s digest mails for %s", PQgetvalue(res, 0, 0), day);
	}
	free(day);
	round_part_done();
}

static void
maybe_digests(const char *today)
{
	char *day;

	if (strcmp(rm.last_digest, today) == 0 ||
	    clock_minutes_copenhagen(clock_time()) < rm.digest_minutes)
		return;
	day = xstrdup(today);
	const char *params[1] = {day};
	if (db_query("SELECT alert_make_digests($1::date)", 1, params, digests_made, day) == -1)
		free(day);
	else
		rm.outstanding++;
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;

	if (rm.running)
		return;
	rm.running = true;
	rm.judged = false;
	rm.started = clock_wall();
	rm.next = rm.interval;
	clock_today(rm.today);
	rm.outstanding = 1; /* held until the read of the notes is sent */
	maybe_digests(rm.today);
	char limit[16];
	snprintf(limit, sizeof(limit), "%d", CANDIDATES_MAX);
	const char *params[1] = {limit};
	if (db_query(
	        "SELECT id, ref, route, status, sender_person, sender_unit, receiver_unit, "
	        "receiver_person, extract(epoch FROM submitted_at)::bigint, "
	        "extract(epoch FROM decided_at)::bigint, planned_date, birthdate, version "
	        "FROM handovers WHERE status IN ('draft', 'submitted', 'received', 'returned') "
	        "AND deleted_at IS NULL ORDER BY updated_at DESC LIMIT $1::int",
	        1, params, candidates, NULL) == 0)
		rm.outstanding++;
	else
		rm.next = rm.interval < 5 ? rm.interval : 5;
	if (db_query("SELECT notice_json(n)::text FROM notices n WHERE n.status IN ('open', "
	             "'acknowledged') ORDER BY n.expected_date LIMIT $1::int",
	             1, params, notice_candidates, NULL) == 0)
		rm.outstanding++;
	round_part_done();
}

void
reminders_start(struct event_base *base, const struct config *c)
{
	settings(c);
	rm.timer = evtimer_new(base, tick, NULL);
	if (rm.timer == NULL)
		fatalx("reminders: evtimer_new");
	arm(rm.interval < 2 ? rm.interval : 2);
}

void
reminders_reconfigure(const struct config *c)
{
	settings(c);
	reminders_run_now();
}

/* Looks again now (SIGHUP: changed thresholds or days off take effect at once). */
void
reminders_run_now(void)
{
	if (rm.timer && !rm.running) {
		evtimer_del(rm.timer);
		arm(0);
	}
}

void
reminders_metrics_render(struct evbuffer *b)
{
	evbuffer_add_printf(
	    b,
	    "# HELP stafet_reminder_rounds_total Reminder rounds that judged every open note.\n"
	    "# TYPE stafet_reminder_rounds_total counter\nstafet_reminder_rounds_total %llu\n"
	    "# HELP stafet_reminder_last_round_timestamp_seconds Start of the last such round, "
	    "its reminders written.\n"
	    "# TYPE stafet_reminder_last_round_timestamp_seconds gauge\n"
	    "stafet_reminder_last_round_timestamp_seconds %.6f\n"
	    "# HELP stafet_reminders_written_total Reminders written by this daemon.\n"
	    "# TYPE stafet_reminders_written_total counter\nstafet_reminders_written_total %llu\n"
	    "# HELP stafet_reminder_errors_total Reminder reads and writes that failed.\n"
	    "# TYPE stafet_reminder_errors_total counter\nstafet_reminder_errors_total %llu\n",
	    rm.runs, rm.last_round, rm.written, rm.errors);
}

void
reminders_stop(void)
{
	if (rm.timer)
		event_free(rm.timer);
	memset(&rm, 0, sizeof(rm));
}

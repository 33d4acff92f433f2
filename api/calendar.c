/*
 * calendar.c: a user's deadlines as a calendar feed (API.md 1.1 "Exports"):
 * POST and DELETE /api/v1/me/calendar, and GET /cal/{secret}.ics, which a
 * calendar program (Outlook) fetches without a session.
 *
 * The secret is 256 random bits in base64url (auth_token_new); the database
 * keeps its SHA-256 only (calendar_feeds, migration 0012), one per person:
 * a new one replaces the old, which answers 404 at once. Every 404 of the
 * feed is the same bytes, for an unknown, revoked or malformed secret
 * alike, and for an owner who has left the directory. The secret never
 * reaches a log: the access log shows any path under /cal/, whatever the
 * method or the answer, as "/cal/<8 hex digits of its hash>"
 * (api_calendar_log_path, which app/routes.c hands to the HTTP server).
 *
 * Fetches are limited per client address (ratelimit.c, in this process's
 * memory): calendar_fetch_max per FETCH_WINDOW seconds, then FETCH_BLOCK
 * seconds of 429; misses (404) count on their own, calendar_miss_max per
 * MISS_WINDOW, then MISS_BLOCK seconds of 429 — a mistyped address is harmless, a scan is
 * slowed.
 *
 * The feed (RFC 5545): a VTIMEZONE for Europe/Copenhagen and all-day
 * events, by need to know as for acting on a note: the notes whose sending
 * unit is one of the user's own units (the unit they are placed in, the
 * units they lead; drafts only the user's own) or whose receiving unit is,
 * once the note was first sent. A lead of a unit above reads notes masked
 * and acts on none: their deadlines are not theirs, and they are left out.
 * Per note, each event's UID is "<note id>-<kind>@<host>", so a client
 * updates an event rather than adds another, and SEQUENCE is the note's
 * version (it rises with every change):
 *   planned     the planned handover date;
 *   send        an own draft: the last day to send it (the planned date
 *               minus the draft reminder's working days);
 *   decide      a sent note the user's unit receives: the decision
 *               deadline (sent + the undecided reminder's working days);
 *   fix         a returned note the user's unit sent: sent again by
 *               (returned + the returned reminder's working days);
 *   age18       routes with months_before_18 (BUR-H): the 18th birthday;
 *   ms-KEY      the template's deadline checks (ungeplan_deadline, § 108;
 *               support_after_18_deadline, § 111) while their decision
 *               section holds no decision date and the section applies;
 *   action-KEY-N  the due date of the note's N-th action.
 * A note accepted or withdrawn within CANCELLED_DAYS keeps its planned,
 * age18, milestone and action events with STATUS:CANCELLED, so clients
 * that imported them remove them. SUMMARY and DESCRIPTION carry the ref,
 * a Danish phrase, the route's and the units' names and a link: never a
 * CPR number, a name or note text (the owner of an action is text, and is
 * not read).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "workdays.h"
#include "auth.h"
#include "api.h"

#define FETCH_WINDOW   60.0
#define FETCH_BLOCK    60.0
#define MISS_WINDOW    600.0
#define MISS_BLOCK     600.0
#define NOTES_MAX      2000
#define CANCELLED_DAYS 60

static const char not_found[] = "Der er ingen kalender på denne adresse.";

/* ---- writing iCalendar ---------------------------------------------------- */

/* TEXT escaped as RFC 5545 3.3.11 says: backslash, semicolon, comma and
 * newline; other control characters dropped. Into out, cut at outsz. */
static void
ics_escape(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	for (; in && *in && o + 3 < outsz; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '\\' || c == ';' || c == ',') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c >= 0x20 && c != 0x7f) {
			out[o++] = (char)c;
		}
	}
	/* a cut must not leave half a UTF-8 sequence */
	while (o > 0 && ((unsigned char)out[o - 1] & 0x80)) {
		size_t start = o - 1;
		while (start > 0 && ((unsigned char)out[start] & 0xC0) == 0x80)
			start--;
		unsigned char lead = (unsigned char)out[start];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
		if (o - start >= need)
			break;
		o = start;
	}
	out[o] = '\0';
}

static void
ics_prop(struct evbuffer *b, const char *name, const char *text)
{
	char esc[2048], line[2200];
	ics_escape(text, esc, sizeof(esc));
	snprintf(line, sizeof(line), "%s:%s", name, esc);
	api_content_line(b, line);
}

static const char vtimezone[] = "BEGIN:VTIMEZONE\r\n"
                                "TZID:Europe/Copenhagen\r\n"
                                "X-LIC-LOCATION:Europe/Copenhagen\r\n"
                                "BEGIN:DAYLIGHT\r\n"
                                "TZOFFSETFROM:+0100\r\n"
                                "TZOFFSETTO:+0200\r\n"
                                "TZNAME:CEST\r\n"
                                "DTSTART:19700329T020000\r\n"
                                "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
                                "END:DAYLIGHT\r\n"
                                "BEGIN:STANDARD\r\n"
                                "TZOFFSETFROM:+0200\r\n"
                                "TZOFFSETTO:+0100\r\n"
                                "TZNAME:CET\r\n"
                                "DTSTART:19701025T030000\r\n"
                                "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
                                "END:STANDARD\r\n"
                                "END:VTIMEZONE\r\n";

/* ---- the feed's context ---------------------------------------------------- */

struct feed {
	struct http_request *req;
	char person_id[128];
	char hash[67];
	int me;
	unsigned off;
	char host[256];     /* the UIDs' domain */
	char base_url[512]; /* the links' */
	struct evbuffer *out;
};

/* Columns of the notes query. */
enum {
	C_ID,
	C_REF,
	C_ROUTE,
	C_STATUS,
	C_VERSION,
	C_SENDER_UNIT,
	C_RECEIVER_UNIT,
	C_SENDER_PERSON,
	C_PLANNED,
	C_BIRTHDATE,
	C_SUBMITTED,
	C_DECIDED,
	C_STAMP,
	C_FILED,
	C_MILESTONES,
	C_ACTIONS,
};

static const char *
col(PGresult *res, int i, int c)
{
	return PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
}

/* One event of a note. */
struct event_spec {
	const char *kind; /* the UID's suffix */
	const char *date; /* YYYY-MM-DD */
	char summary[400];
};

static const char *
unit_name(const struct dir_snapshot *s, const char *code)
{
	int u = code ? dir_lookup_unit(s, code) : DIR_NONE;
	if (u == DIR_NONE)
		return code ? code : "-";
	return s->units[u].name && *s->units[u].name ? s->units[u].name : code;
}

static const char *
status_text(const char *status)
{
	static const char *const map[][2] = {
	    {"draft", "kladde"},        {"submitted", "sendt"},
	    {"received", "modtaget"},   {"returned", "sendt retur"},
	    {"accepted", "accepteret"}, {"withdrawn", "trukket tilbage"}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], status) == 0)
			return map[i][1];
	return status;
}

/* YYYY-MM-DD -> YYYYMMDD, and the day after it; false on a bad date. */
static bool
date_pair(const char *date, char start[9], char end[9])
{
	long days;
	char next[11];
	if (date == NULL || workdays_date_days(date, &days) == -1 ||
	    workdays_date_from_days(days + 1, next) == -1)
		return false;
	snprintf(start, 9, "%.4s%.2s%.2s", date, date + 5, date + 8);
	snprintf(end, 9, "%.4s%.2s%.2s", next, next + 5, next + 8);
	return true;
}

static void
emit_event(struct feed *f, PGresult *res, int i, const struct event_spec *e, bool cancelled,
           const char *description)
{
	struct evbuffer *b = f->out;
	char start[9], end[9], line[700];
	const char *id = col(res, i, C_ID);

	if (!date_pair(e->date, start, end))
		return;
	evbuffer_add(b, "BEGIN:VEVENT\r\n", 14);
	snprintf(line, sizeof(line), "UID:%s-%s@%s", id, e->kind, f->host);
	api_content_line(b, line);
	snprintf(line, sizeof(line), "DTSTAMP:%s", col(res, i, C_STAMP));
	api_content_line(b, line);
	snprintf(line, sizeof(line), "LAST-MODIFIED:%s", col(res, i, C_STAMP));
	api_content_line(b, line);
	snprintf(line, sizeof(line), "SEQUENCE:%s", col(res, i, C_VERSION));
	api_content_line(b, line);
	snprintf(line, sizeof(line), "DTSTART;VALUE=DATE:%s", start);
	api_content_line(b, line);
	snprintf(line, sizeof(line), "DTEND;VALUE=DATE:%s", end);
	api_content_line(b, line);
	ics_prop(b, "SUMMARY", e->summary);
	ics_prop(b, "DESCRIPTION", description);
	snprintf(line, sizeof(line), "URL:%s/#/notater/%s", f->base_url, id);
	api_content_line(b, line);
	api_content_line(b, cancelled ? "STATUS:CANCELLED" : "STATUS:CONFIRMED");
	api_content_line(b, "TRANSP:TRANSPARENT");
	api_content_line(b, "CATEGORIES:Stafet");
	api_content_line(b, "X-MICROSOFT-CDO-ALLDAYEVENT:TRUE");
	evbuffer_add(b, "END:VEVENT\r\n", 12);
}

/* The Copenhagen date `days` working days after an epoch ("" on error). */
static void
after_workdays(const char *epoch, int days, unsigned off, char out[11])
{
	char day[11];
	*out = '\0';
	if (epoch == NULL)
		return;
	clock_date_copenhagen((time_t)strtoll(epoch, NULL, 10), day);
	if (workdays_add(day, days, off, out) == -1)
		*out = '\0';
}

/* The date `days` working days before `date` ("" on error). */
static void
before_workdays(const char *date, int days, unsigned off, char out[11])
{
	long d;
	*out = '\0';
	if (date == NULL || workdays_date_days(date, &d) == -1)
		return;
	for (int n = 0, guard = 0; n < days && guard < 3660; guard++) {
		if (workdays_date_from_days(--d, out) == -1) {
			*out = '\0';
			return;
		}
		if (workdays_is_workday(out, off))
			n++;
	}
	if (days <= 0)
		snprintf(out, 11, "%s", date);
}

/* ---- a note's events --------------------------------------------------------- */

/* The reminders' working days: the route's, else the configured ones. */
static int
route_days(const struct ho_route *r, char which)
{
	const struct config *c = config_current();
	if (which == 'u')
		return r && r->undecided_days ? r->undecided_days : c->reminder_undecided_days;
	if (which == 'r')
		return r && r->returned_days ? r->returned_days : c->reminder_returned_days;
	return r && r->draft_days ? r->draft_days : c->reminder_draft_days;
}

/* The milestones and actions of a note (columns of JSON arrays). */
static void
note_items(struct feed *f, PGresult *res, int i, bool cancelled, const char *description)
{
	const char *ref = col(res, i, C_REF);
	json_t *ms =
	    json_loads(col(res, i, C_MILESTONES) ? col(res, i, C_MILESTONES) : "[]", 0, NULL);
	json_t *acts = json_loads(col(res, i, C_ACTIONS) ? col(res, i, C_ACTIONS) : "[]", 0, NULL);
	json_t *v;
	size_t k;
	char kind[160];
	struct event_spec e;

	json_array_foreach (ms, k, v) {
		const char *law = json_str(v, "law");
		snprintf(kind, sizeof(kind), "ms-%s", json_str(v, "key") ? json_str(v, "key") : "");
		e.kind = kind;
		e.date = json_str(v, "due");
		if (law)
			snprintf(e.summary, sizeof(e.summary), "Frist: %s (%s) %s",
			         json_str(v, "label") ? json_str(v, "label") : "afgørelse", law,
			         ref);
		else
			snprintf(e.summary, sizeof(e.summary), "Frist: %s %s",
			         json_str(v, "label") ? json_str(v, "label") : "afgørelse", ref);
		emit_event(f, res, i, &e, cancelled, description);
	}
	json_array_foreach (acts, k, v) {
		json_int_t n = json_integer_value(json_object_get(v, "n"));
		snprintf(kind, sizeof(kind), "action-%s-%" JSON_INTEGER_FORMAT,
		         json_str(v, "key") ? json_str(v, "key") : "", n);
		e.kind = kind;
		e.date = json_str(v, "due");
		snprintf(e.summary, sizeof(e.summary),
		         "Frist for handling %" JSON_INTEGER_FORMAT " %s", n, ref);
		emit_event(f, res, i, &e, cancelled, description);
	}
	json_decref(ms);
	json_decref(acts);
}

/* Every event of row i that the feed's owner should see. */
static void
note_events(struct feed *f, const struct dir_snapshot *s, const struct ho_route_set *set,
            PGresult *res, int i)
{
	const char *status = col(res, i, C_STATUS), *ref = col(res, i, C_REF);
	const char *born = col(res, i, C_BIRTHDATE), *planned = col(res, i, C_PLANNED);
	const struct ho_route *r = set ? routes_find_any(set, col(res, i, C_ROUTE)) : NULL;
	bool filed = strcmp(col(res, i, C_FILED), "t") == 0;
	bool sender = access_member_of(s, f->me, col(res, i, C_SENDER_UNIT));
	bool receiver = filed && access_member_of(s, f->me, col(res, i, C_RECEIVER_UNIT));
	bool draft = strcmp(status, "draft") == 0;
	bool cancelled = strcmp(status, "accepted") == 0 || strcmp(status, "withdrawn") == 0;
	bool waiting = strcmp(status, "submitted") == 0 || strcmp(status, "received") == 0;
	char description[1200], d[11];
	struct event_spec e;

	if (!sender && !receiver)
		return; /* the units moved since the query was written */
	if (draft && (!sender || col(res, i, C_SENDER_PERSON) == NULL ||
	              strcmp(col(res, i, C_SENDER_PERSON), f->person_id) != 0))
		return;
	snprintf(description, sizeof(description),
	         "Overdragelse %s på ruten %s fra %s til %s. Status: %s. Notatet står i Stafet.",
	         ref, r && r->name ? r->name : col(res, i, C_ROUTE),
	         unit_name(s, col(res, i, C_SENDER_UNIT)),
	         unit_name(s, col(res, i, C_RECEIVER_UNIT)), status_text(status));
	if (planned) {
		e.kind = "planned", e.date = planned;
		snprintf(e.summary, sizeof(e.summary), "Planlagt overdragelse %s", ref);
		emit_event(f, res, i, &e, cancelled, description);
	}
	if (draft && planned) {
		before_workdays(planned, route_days(r, 'd'), f->off, d);
		e.kind = "send", e.date = d;
		snprintf(e.summary, sizeof(e.summary), "Send kladden %s senest i dag", ref);
		emit_event(f, res, i, &e, false, description);
	}
	if (waiting && receiver) {
		after_workdays(col(res, i, C_SUBMITTED), route_days(r, 'u'), f->off, d);
		e.kind = "decide", e.date = d;
		snprintf(e.summary, sizeof(e.summary), "Frist for at tage stilling til %s", ref);
		emit_event(f, res, i, &e, false, description);
	}
	if (strcmp(status, "returned") == 0 && sender) {
		after_workdays(col(res, i, C_DECIDED), route_days(r, 'r'), f->off, d);
		e.kind = "fix", e.date = d;
		snprintf(e.summary, sizeof(e.summary), "Frist for at rette og sende %s igen", ref);
		emit_event(f, res, i, &e, false, description);
	}
	if (r && r->nmonths_before_18 && born && checks_date_add_months(born, 18 * 12, d) == 0) {
		e.kind = "age18", e.date = d;
		snprintf(e.summary, sizeof(e.summary), "Afgørelse inden 18-årsdagen %s", ref);
		emit_event(f, res, i, &e, cancelled, description);
	}
	note_items(f, res, i, cancelled, description);
}

/* ---- the feed ---------------------------------------------------------------- */

/*
 * The notes of the owner's units ($1: text[]; $2: the owner): those they
 * send (drafts only their own) and those they receive once sent; open, or
 * accepted or withdrawn since $3 (today) minus CANCELLED_DAYS. With each,
 * its template's open deadline milestones and its actions' due dates
 * (only the dates: never an action's text or owner).
 */
static const char notes_sql[] =
    "SELECT h.id, h.ref, h.route, h.status, h.version, h.sender_unit, h.receiver_unit, "
    "h.sender_person, to_char(h.planned_date, 'YYYY-MM-DD'), to_char(h.birthdate, 'YYYY-MM-DD'), "
    "extract(epoch FROM h.submitted_at)::bigint, extract(epoch FROM h.decided_at)::bigint, "
    "to_char(h.updated_at AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"'), "
    "h.first_submitted_at IS NOT NULL, "
    "(SELECT jsonb_agg(jsonb_build_object('key', c->>'section', 'label', s->>'label', "
    "'law', substring(c->>'message' FROM '\\(([^()]*§[^()]*)\\)'), "
    "'due', to_char(h.birthdate + make_interval(months => 12 * COALESCE((c->>'age')::int, "
    "CASE WHEN c->>'kind' = 'ungeplan_deadline' THEN 16 ELSE 18 END) + "
    "CASE WHEN c->>'kind' = 'ungeplan_deadline' THEN COALESCE((c->>'months')::int, 3) "
    "ELSE -COALESCE((c->>'months_before')::int, 6) END), 'YYYY-MM-DD')) ORDER BY c->>'section') "
    "FROM templates t, jsonb_array_elements(t.body->'checks') c, "
    "jsonb_array_elements(t.body->'sections') s "
    "WHERE t.code = h.template AND t.version = h.template_version AND h.birthdate IS NOT NULL "
    "AND c->>'kind' IN ('ungeplan_deadline', 'support_after_18_deadline') "
    "AND s->>'key' = c->>'section' "
    "AND jsonb_typeof(h.sections->(c->>'section')->'date') IS DISTINCT FROM 'string' "
    "AND (s->'required' = 'true'::jsonb OR (s->'required_if' ? 'age_at_least' AND "
    "h.birthdate + make_interval(years => (s->'required_if'->>'age_at_least')::int) <= "
    "COALESCE(h.planned_date, $3::date)) OR (s->'required_if' ? 'section' AND "
    "h.sections->(s->'required_if'->>'section') = s->'required_if'->'equals')) "
    "AND (c->>'kind' <> 'ungeplan_deadline' OR h.birthdate + make_interval(years => "
    "COALESCE((c->>'age')::int, 16)) <= COALESCE(h.planned_date, $3::date))), "
    "(SELECT jsonb_agg(jsonb_build_object('key', s->>'key', 'n', a.n, 'due', a.v->>'due') "
    "ORDER BY s->>'key', a.n) FROM templates t, jsonb_array_elements(t.body->'sections') s, "
    "jsonb_array_elements(CASE WHEN jsonb_typeof(h.sections->(s->>'key')) = 'array' "
    "THEN h.sections->(s->>'key') ELSE '[]'::jsonb END) WITH ORDINALITY a(v, n) "
    "WHERE t.code = h.template AND t.version = h.template_version AND s->>'kind' = 'actions' "
    "AND jsonb_typeof(a.v) = 'object' AND a.v->>'due' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') "
    "FROM handovers h WHERE h.deleted_at IS NULL "
    "AND ((h.sender_unit = ANY($1::text[]) AND (h.status <> 'draft' OR h.sender_person = $2)) "
    "OR (h.receiver_unit = ANY($1::text[]) AND h.first_submitted_at IS NOT NULL)) "
    "AND (h.status NOT IN ('accepted', 'withdrawn') OR h.decided_at >= $3::date - $5::int) "
    "ORDER BY h.updated_at DESC, h.id LIMIT $4::int";

static void
feed_free(struct feed *f)
{
	if (f->out)
		evbuffer_free(f->out);
	explicit_wipe(f->hash, sizeof(f->hash));
	free(f);
}

/* The feed, or 304 when If-None-Match names its ETag (the SHA-256 of its
 * bytes: a client that polls often gets the feed again only when it
 * changed). */
static void
answer_feed(struct feed *f)
{
	size_t len = evbuffer_get_length(f->out);
	const char *inm = http_request_header(f->req, "If-None-Match");
	char hash[67], etag[40];

	auth_token_hash_hex((const char *)evbuffer_pullup(f->out, -1), len, hash);
	snprintf(etag, sizeof(etag), "\"%.32s\"", hash + 2);
	http_add_header(f->req, "ETag", etag);
	http_add_header(f->req, "Cache-Control", "no-store");
	if (inm && (strstr(inm, etag) != NULL || strcmp(inm, "*") == 0))
		http_respond(f->req, 304, NULL, NULL, 0);
	else
		http_respond_buffer(f->req, 200, "text/calendar; charset=utf-8", f->out);
	feed_free(f);
}

static void
notes_read(PGresult *res, const char *error, void *arg)
{
	struct feed *f = arg;
	const struct dir_snapshot *s = dir_sync_current();

	if (error || res == NULL || s == NULL) {
		log_warnx("calendar: feed %.8s: %s", f->hash + 2, error ? error : "no snapshot");
		http_add_header(f->req, "Retry-After", "5");
		http_problem(f->req, 503, NULL, "Kalenderen kan ikke hentes lige nu.");
		feed_free(f);
		return;
	}
	f->me = dir_lookup_person(s, f->person_id);
	f->out = evbuffer_new();
	evbuffer_add_printf(f->out, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
	                            "PRODID:-//Stafet//Stafet frister//DA\r\n"
	                            "CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n");
	ics_prop(f->out, "X-WR-CALNAME", "Stafet: mine frister");
	api_content_line(f->out, "X-WR-TIMEZONE:Europe/Copenhagen");
	api_content_line(f->out, "REFRESH-INTERVAL;VALUE=DURATION:PT1H");
	api_content_line(f->out, "X-PUBLISHED-TTL:PT1H");
	evbuffer_add(f->out, vtimezone, sizeof(vtimezone) - 1);
	for (int i = 0; f->me != DIR_NONE && i < PQntuples(res); i++)
		note_events(f, s, routes_current(), res, i);
	evbuffer_add(f->out, "END:VCALENDAR\r\n", 15);
	answer_feed(f);
}

/* The units the person acts for (their own and those they lead), as a
 * PostgreSQL text[] literal. The caller frees it. */
static char *
member_units(const struct dir_snapshot *s, int me)
{
	struct evbuffer *b = evbuffer_new();
	bool first = true;
	char *out;

	evbuffer_add(b, "{", 1);
	for (size_t u = 0; me != DIR_NONE && u < s->nunits; u++) {
		if (!access_member_of(s, me, s->units[u].code))
			continue;
		evbuffer_add(b, first ? "\"" : ",\"", first ? 1 : 2);
		for (const char *c = s->units[u].code; *c; c++) {
			if (*c == '"' || *c == '\\')
				evbuffer_add(b, "\\", 1);
			evbuffer_add(b, c, 1);
		}
		evbuffer_add(b, "\"", 1);
		first = false;
	}
	evbuffer_add(b, "}", 2); /* with the NUL */
	out = xstrdup((const char *)evbuffer_pullup(b, -1));
	evbuffer_free(b);
	return out;
}

/* An address without a calendar behind it: counted, and the one 404. */
static void
answer_miss(struct http_request *req, const char *miss_key, bool count)
{
	int max = config_current()->calendar_miss_max;
	if (count && ratelimit_fail(miss_key, clock_mono(), MISS_WINDOW, max, MISS_BLOCK)) {
		log_notice("calendar: address %s blocked for %.0fs after %d unknown feed addresses",
		           req->client, MISS_BLOCK, max);
		metrics_count("calendar_blocks_total");
	}
	http_problem(req, 404, NULL, not_found);
}

static void
owner_read(PGresult *res, const char *error, void *arg)
{
	struct feed *f = arg;
	const struct dir_snapshot *s = dir_sync_current();
	char miss_key[96], today[11], limit[16], days[16];

	ratelimit_key(miss_key, sizeof(miss_key), 'a', f->req->client);
	miss_key[0] = 'm';
	if (error || res == NULL || s == NULL) {
		log_warnx("calendar: feed %.8s: %s", f->hash + 2, error ? error : "no snapshot");
		http_add_header(f->req, "Retry-After", "5");
		http_problem(f->req, 503, NULL, "Kalenderen kan ikke hentes lige nu.");
		feed_free(f);
		return;
	}
	if (PQntuples(res) != 1) {
		answer_miss(f->req, miss_key, true);
		feed_free(f);
		return;
	}
	snprintf(f->person_id, sizeof(f->person_id), "%s", PQgetvalue(res, 0, 0));
	if ((f->me = dir_lookup_person(s, f->person_id)) == DIR_NONE) {
		/* the owner has left the directory: the feed ends with them */
		answer_miss(f->req, miss_key, false);
		feed_free(f);
		return;
	}
	char *units = member_units(s, f->me);
	clock_today(today);
	snprintf(limit, sizeof(limit), "%d", NOTES_MAX);
	snprintf(days, sizeof(days), "%d", CANCELLED_DAYS);
	const char *params[5] = {units, f->person_id, today, limit, days};
	if (db_query(notes_sql, 5, params, notes_read, f) == -1) {
		http_add_header(f->req, "Retry-After", "5");
		http_problem(f->req, 503, NULL, "Kalenderen kan ikke hentes lige nu.");
		feed_free(f);
	}
	free(units);
}

/* Where links point: public_url, else this request's own scheme and Host;
 * and the UIDs' domain: public_url's host, else the listen address (never
 * the Host a client sent, so UIDs stay the same whoever fetches). */
static void
own_addresses(const struct http_request *req, char *base, size_t bsz, char *host, size_t hsz)
{
	const struct config *c = config_current();
	const char *h = http_request_header(req, "Host");

	if (c->public_url && *c->public_url) {
		const char *a = strstr(c->public_url, "://");
		a = a ? a + 3 : c->public_url;
		snprintf(base, bsz, "%s", c->public_url);
		snprintf(host, hsz, "%.*s", (int)strcspn(a, "/"), a);
	} else {
		bool ok =
		    h && *h && strlen(h) < 200 &&
		    strspn(h,
		           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
		        strlen(h);
		snprintf(base, bsz, "%s://%s", c->http_tls_proxy ? "https" : "http",
		         ok ? h : c->listen);
		snprintf(host, hsz, "%s", c->listen);
	}
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
}

/*
 * The access log's view of a path under /cal/ (http_set_log_path; any
 * method, any answer): "/cal/" and the first 8 hex digits of the SHA-256
 * of what follows, which for a well-formed address is the secret's hash
 * as the audit rows give it. Any other path whose last segment ends in
 * ".ics" shows that segment as 8 hex digits of its hash and ".ics".
 */
bool
api_calendar_log_path(const char *path, char *out, size_t outsz)
{
	char hash[67];
	const char *seg;
	size_t len;

	if (strncmp(path, "/cal/", 5) != 0) {
		/* an address sent to the wrong place (a client that dropped
		 * "/cal/", or "/cal/../x.ics" resolved): whatever ends in .ics
		 * may be a secret, so its last segment is shown as a hash too */
		const char *last = strrchr(path, '/');
		size_t n = last ? strlen(last + 1) : 0;
		if (last == NULL || n < 5 || strcmp(last + 1 + n - 4, ".ics") != 0)
			return false;
		auth_token_hash_hex(last + 1, n - 4, hash);
		snprintf(out, outsz, "%.*s/%.8s.ics", (int)(last - path), path, hash + 2);
		return true;
	}
	seg = path + 5;
	len = strlen(seg);
	if (len == AUTH_TOKEN_LEN + 4 && strcmp(seg + AUTH_TOKEN_LEN, ".ics") == 0)
		len = AUTH_TOKEN_LEN;
	auth_token_hash_hex(seg, len, hash);
	snprintf(out, outsz, "/cal/%.8s", hash + 2);
	return true;
}

/* GET /cal/{secret}.ics: the feed, without a session. */
void
api_calendar_feed(struct http_request *req)
{
	const char *seg = req->head.path + 5; /* after "/cal/" */
	size_t len = strlen(seg);
	bool wellformed = len == AUTH_TOKEN_LEN + 4 && strcmp(seg + AUTH_TOKEN_LEN, ".ics") == 0 &&
	                  auth_token_wellformed(seg, AUTH_TOKEN_LEN);
	char fetch_key[96], miss_key[96], ra[32];
	struct feed *f = xcalloc(1, sizeof(*f));
	double now = clock_mono();
	long wait;

	f->req = req;
	auth_token_hash_hex(seg, wellformed ? AUTH_TOKEN_LEN : len, f->hash);
	ratelimit_key(fetch_key, sizeof(fetch_key), 'a', req->client);
	snprintf(miss_key, sizeof(miss_key), "%s", fetch_key);
	fetch_key[0] = 'c', miss_key[0] = 'm';
	if ((wait = ratelimit_blocked(fetch_key, now)) > 0 ||
	    (wait = ratelimit_blocked(miss_key, now)) > 0 ||
	    (ratelimit_fail(fetch_key, now, FETCH_WINDOW, config_current()->calendar_fetch_max + 1,
	                    FETCH_BLOCK) &&
	     (wait = (long)FETCH_BLOCK) > 0)) {
		metrics_count("calendar_refused_total");
		snprintf(ra, sizeof(ra), "%ld", wait);
		http_add_header(req, "Retry-After", ra);
		http_problem(req, 429, NULL,
		             "For mange forespørgsler på kalendere. Prøv igen senere.");
		feed_free(f);
		return;
	}
	if (!wellformed) {
		answer_miss(req, miss_key, true);
		feed_free(f);
		return;
	}
	if (answer_snapshot_or_fail(req) == NULL) {
		feed_free(f);
		return;
	}
	own_addresses(req, f->base_url, sizeof(f->base_url), f->host, sizeof(f->host));
	{
		const struct config *c = config_current();
		if (workdays_days_off(c->days_off, &f->off) == -1)
			f->off = 0;
	}
	const char *params[1] = {f->hash};
	if (db_query("SELECT person_id FROM calendar_feeds WHERE secret_hash = $1::bytea", 1,
	             params, owner_read, f) == -1) {
		http_add_header(req, "Retry-After", "5");
		http_problem(req, 503, NULL, "Kalenderen kan ikke hentes lige nu.");
		feed_free(f);
	}
}

/* ---- POST and DELETE /api/v1/me/calendar ----------------------------------- */

struct created {
	struct http_request *req;
	char url[700];
};

static void
created_done(PGresult *res, const char *error, void *arg)
{
	struct created *c = arg;
	if (error || res == NULL || PQntuples(res) != 1) {
		answer_db_error(c->req, error ? error : "no row");
	} else {
		metrics_count("calendar_created_total");
		http_respond_json(c->req, 201, json_pack("{s:s}", "url", c->url));
	}
	explicit_wipe(c->url, sizeof(c->url));
	free(c);
}

/* A new secret address for the caller's feed; the old one stops working. */
void
api_calendar_create(struct http_request *req)
{
	static const char *const none[] = {NULL};
	char token[AUTH_TOKEN_LEN + 1], hash[67], base[512], host[256], prefix[9];
	struct created *c;

	if (!http_query_check(req, none))
		return;
	if (auth_person(req) == DIR_NONE) {
		auth_unauthorized(req, "The account is no longer in the directory.");
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->req = req;
	auth_token_new(token, hash);
	snprintf(prefix, sizeof(prefix), "%.8s", hash + 2);
	own_addresses(req, base, sizeof(base), host, sizeof(host));
	snprintf(c->url, sizeof(c->url), "%s/cal/%s.ics", base, token);
	explicit_wipe(token, sizeof(token));
	const char *p[5] = {hash, req->auth.person_id, req->auth.username, req->client, prefix};
	if (db_query(
	        "WITH o AS (SELECT 1 FROM calendar_feeds WHERE person_id = $2), "
	        "u AS (INSERT INTO calendar_feeds (person_id, secret_hash) VALUES ($2, $1::bytea) "
	        "ON CONFLICT (person_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, "
	        "created_at = now() RETURNING person_id), "
	        "a AS (INSERT INTO audit_log (actor_id, actor_username, address, action, "
	        "object_type, object_id, detail) SELECT $2, $3, $4, 'calendar.create', "
	        "'calendar', $2, CASE WHEN EXISTS (SELECT 1 FROM o) THEN 'replaced; ' ELSE '' "
	        "END || 'hash ' || $5 FROM u) SELECT person_id FROM u",
	        5, p, created_done, c) == -1) {
		explicit_wipe(c->url, sizeof(c->url));
		free(c);
		answer_db_error(req, "unavailable");
	}
	explicit_wipe(hash, sizeof(hash));
}

static void
revoked_done(PGresult *res, const char *error, void *arg)
{
	struct http_request *req = arg;
	if (error || res == NULL) {
		answer_db_error(req, error ? error : "no result");
		return;
	}
	http_respond(req, 204, NULL, NULL, 0);
}

/* The caller's feed is gone: its address answers 404 from now on. */
void
api_calendar_delete(struct http_request *req)
{
	static const char *const none[] = {NULL};
	const char *p[3] = {req->auth.person_id, req->auth.username, req->client};

	if (!http_query_check(req, none))
		return;
	if (db_query("WITH d AS (DELETE FROM calendar_feeds WHERE person_id = $1 "
	             "RETURNING encode(secret_hash, 'hex') AS h), "
	             "a AS (INSERT INTO audit_log (actor_id, actor_username, address, action, "
	             "object_type, object_id, detail) SELECT $1, $2, $3, 'calendar.revoke', "
	             "'calendar', $1, 'hash ' || substr(d.h, 1, 8) FROM d) SELECT count(*) FROM d",
	             3, p, revoked_done, req) == -1)
		answer_db_error(req, "unavailable");
}

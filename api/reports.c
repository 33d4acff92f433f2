/*
 * reports.c: GET /api/v1/reports/quality?from=&to=&route= (API.md,
 * "Reports"; DESIGN.md, "Quality checks"): per quarter and route, how many
 * notes were filed, how many of them were returned, how many working days
 * acceptance took, and which sections the receivers flagged most.
 *
 * Semantics (the OpenAPI document repeats them):
 * - A note counts in the period of the calendar quarter in which it was
 *   first filed (first_submitted_at, as a local date in Europe/Copenhagen),
 *   labelled "YYYY-Qn". Drafts never filed do not count.
 * - from, to: dates YYYY-MM-DD (years 1900-2200), both optional; the notes
 *   filed on local dates from..to, both included. `to` defaults to today in
 *   Copenhagen, `from` to the first day of the quarter four quarters before
 *   `to`'s (so five quarters, the current one partial). from after to, or
 *   more than 3,653 days (ten years) between them, is 400.
 * - route: a route code (at most 64 characters); an unknown code gives no
 *   periods. Any other parameter is 400.
 * - Per (period, route): filed, the notes filed; returned, those of them
 *   returned at least once (any "return" event, whatever came after);
 *   returned_share, returned/filed rounded half up to 3 decimals (0 when
 *   filed is 0); median_working_days_to_accept, the median over the notes
 *   now accepted of the Danish working days after the filing date up to and
 *   including the accept date (decided_at), both local dates, without the
 *   optional days off (workdays_between; the mean of the middle two for
 *   an even count, so it may end in .5), null when none is accepted;
 *   top_flagged_sections, up to 5 {section, count} counting every flag ever
 *   set on those notes (resolved or not), count descending, then section
 *   by byte order.
 * - Periods are sorted by period, then route (byte order); only pairs with
 *   at least one note appear. The answer also echoes the effective "from"
 *   and "to".
 * - Who sees what: the quality role sees every note; anyone else the notes
 *   whose sending or receiving unit is one they act for (access.c); someone
 *   not in the directory snapshot sees nothing (200, no periods).
 * - With an Accept header naming text/csv the answer is the CSV Danish
 *   spreadsheets open as columns, and naming the XLSX type the same as a
 *   workbook (reports_export.c); as the attachments stafet-kvalitet.csv
 *   and stafet-kvalitet.xlsx.
 * - At most 200,000 notes per report: a range holding more is 422 (ask
 *   for a shorter one). The database unavailable or failing is 503 with
 *   Retry-After. Every report read is audited ("report.quality").
 *
 * One query does the work: notes filtered by time range, route and units,
 * grouped by (period, route, filed date, accept date) with counts, plus
 * the ranked flag counts per (period, route); medians are computed here,
 * because working days are C (workdays.c), not SQL.
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
#include "reports_int.h"

#define REPORT_NOTES_MAX 200000
#define REPORT_SPAN_DAYS 3653 /* ten years, leap days included */
#define REPORT_ROUTE_MAX 64
#define REPORT_QUARTERS  4 /* the default `from`: this many quarters back */
#define XLSX_TYPE        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

enum report_form { FORM_JSON, FORM_CSV, FORM_XLSX };

struct report_ctx {
	struct http_request *req;
	enum report_form form;
	char from[11], to[11];
};

/* Rows: kind 0 (notes: period, route, filed, accepted or NULL, count,
 * returned count) or 1 (flags: period, route, section, NULL, count, rank).
 * $1 from, $2 to (local dates), $3 route or NULL, $4 the acting units as
 * text[] or NULL for all, $5 the note limit plus one. */
static const char report_sql[] =
    "WITH n AS ("
    " SELECT h.id, h.route,"
    "  (h.first_submitted_at AT TIME ZONE 'Europe/Copenhagen')::date AS filed,"
    "  CASE WHEN h.status = 'accepted' THEN"
    "   (h.decided_at AT TIME ZONE 'Europe/Copenhagen')::date END AS accepted,"
    "  EXISTS (SELECT 1 FROM handover_events e"
    "   WHERE e.handover_id = h.id AND e.action = 'return') AS returned,"
    "  (SELECT (min(nt.created_at) AT TIME ZONE 'Europe/Copenhagen')::date"
    "   FROM notices nt WHERE nt.handover_id = h.id) AS noticed"
    " FROM handovers h"
    " WHERE h.first_submitted_at >= ($1::date::timestamp AT TIME ZONE 'Europe/Copenhagen')"
    "  AND h.first_submitted_at < (($2::date + 1)::timestamp AT TIME ZONE 'Europe/Copenhagen')"
    "  AND ($3::text IS NULL OR h.route = $3::text)"
    "  AND ($4::text[] IS NULL OR h.sender_unit = ANY ($4::text[])"
    "   OR h.receiver_unit = ANY ($4::text[]))"
    " LIMIT $5::int"
    "), p AS ("
    " SELECT n.*, to_char(n.filed, 'YYYY-\"Q\"Q') AS period FROM n"
    "), f AS ("
    " SELECT p.period, p.route, fl.section, count(*) AS c,"
    "  row_number() OVER (PARTITION BY p.period, p.route"
    "   ORDER BY count(*) DESC, fl.section COLLATE \"C\") AS rn"
    " FROM p JOIN handover_flags fl ON fl.handover_id = p.id"
    " GROUP BY p.period, p.route, fl.section"
    ")"
    "SELECT k, period, route, a, b, c, r, d, e FROM ("
    " SELECT 0 AS k, period, route, to_char(filed, 'YYYY-MM-DD') AS a,"
    "  to_char(accepted, 'YYYY-MM-DD') AS b, count(*) AS c,"
    "  count(*) FILTER (WHERE returned) AS r,"
    "  accepted - noticed AS d,"
    "  noticed <= (accepted - interval '6 months')::date AS e"
    " FROM p GROUP BY period, route, filed, accepted, noticed"
    " UNION ALL"
    " SELECT 1, period, route, section, NULL, c, rn, NULL, NULL FROM f WHERE rn <= 5"
    ") u ORDER BY k, period, route COLLATE \"C\", r";

static void
report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct group *g = &r->v[i];
		free(g->period);
		free(g->route);
		free(g->days);
		free(g->lead);
		for (size_t t = 0; t < g->ntop; t++)
			free(g->top[t].section);
	}
	free(r->v);
}

static int
group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c = strcmp(x->period, y->period);
	return c ? c : strcmp(x->route, y->route);
}

/* The group of (period, route): the last one, as the rows come ordered,
 * else a new one; the groups are sorted again afterwards all the same. */
static struct group *
group_for(struct report *r, const char *period, const char *route)
{
	struct group *g;
	if (r->n && strcmp(r->v[r->n - 1].period, period) == 0 &&
	    strcmp(r->v[r->n - 1].route, route) == 0)
		return &r->v[r->n - 1];
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	g = &r->v[r->n++];
	memset(g, 0, sizeof(*g));
	g->period = xstrdup(period);
	g->route = xstrdup(route);
	return g;
}

static void
add_days(struct group *g, int days, long count)
{
	if (g->ndays + (size_t)count > g->capdays) {
		g->capdays = g->ndays + (size_t)count + g->capdays;
		g->days = xrealloc(g->days, g->capdays * sizeof(*g->days));
	}
	for (long i = 0; i < count; i++)
		g->days[g->ndays++] = days;
}

static void
add_lead(struct group *g, int days, long count)
{
	if (days < 0)
		days = 0; /* a notice made after the note was accepted says nothing */
	if (g->nlead + (size_t)count > g->caplead) {
		g->caplead = g->nlead + (size_t)count + g->caplead;
		g->lead = xrealloc(g->lead, g->caplead * sizeof(*g->lead));
	}
	for (long i = 0; i < count; i++)
		g->lead[g->nlead++] = days;
}

struct group_key {
	const char *period, *route;
};

static int
key_cmp(const void *k, const void *e)
{
	const struct group_key *x = k;
	const struct group *y = e;
	int c = strcmp(x->period, y->period);
	return c ? c : strcmp(x->route, y->route);
}

/* Builds the report from the query's rows: the notes, then the flags.
 * Returns the number of notes, or -1 on a row that makes no sense. */
static long
report_build(PGresult *res, struct report *r)
{
	int n = PQntuples(res), i;
	long notes = 0;
	unsigned off = 0;

	/* the municipality's optional days off count as not working */
	if (config_current() && workdays_days_off(config_current()->days_off, &off) == -1)
		off = 0;

	for (i = 0; i < n && *PQgetvalue(res, i, 0) == '0'; i++) {
		struct group *g = group_for(r, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
		long count = strtol(PQgetvalue(res, i, 5), NULL, 10);
		if (count < 1 || count > REPORT_NOTES_MAX + 1)
			return -1;
		g->filed += count;
		g->returned += strtol(PQgetvalue(res, i, 6), NULL, 10);
		notes += count;
		if (!PQgetisnull(res, i, 4)) {
			int days =
			    workdays_between(PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), off);
			if (days >= 0) /* else accepted after 2200: left out */
				add_days(g, days, count);
			g->accepted += count;
			if (!PQgetisnull(res, i, 7)) /* a notice came first: days from it */
				add_lead(g, (int)strtol(PQgetvalue(res, i, 7), NULL, 10), count);
			if (*PQgetvalue(res, i, 8) == 't')
				g->noticed6 += count;
		}
	}
	if (r->n == 0)
		return notes; /* no notes, no flags (and no NULL to qsort) */
	qsort(r->v, r->n, sizeof(*r->v), group_cmp);
	/* flag rows: rank 1 first within each (period, route) */
	for (; i < n; i++) {
		struct group_key key = {PQgetvalue(res, i, 1), PQgetvalue(res, i, 2)};
		struct group *g = bsearch(&key, r->v, r->n, sizeof(*r->v), key_cmp);
		if (g == NULL || g->ntop == REPORT_TOP)
			continue;
		g->top[g->ntop].section = xstrdup(PQgetvalue(res, i, 3));
		g->top[g->ntop++].count = strtol(PQgetvalue(res, i, 5), NULL, 10);
	}
	return notes;
}

/* A number as an integer when it is one (3, not 3.0), else as a real. */
static json_t *
number(double v)
{
	return v == (double)(long)v ? json_integer((json_int_t)v) : json_real(v);
}

/* {median, p25, p75, notes} of the days from notice to acceptance; null
 * when no accepted note of the group had a notice. */
static json_t *
lead_json(struct group *g)
{
	double q[3];

	if (g->nlead == 0)
		return json_null();
	reports_quartiles(g->lead, g->nlead, q);
	return json_pack("{s:o, s:o, s:o, s:I}", "median", number(q[1]), "p25", number(q[0]), "p75",
	                 number(q[2]), "notes", (json_int_t)g->nlead);
}

static json_t *
report_json(struct report *r, const struct report_ctx *ctx)
{
	json_t *periods = json_array();

	for (size_t i = 0; i < r->n; i++) {
		struct group *g = &r->v[i];
		json_t *top = json_array(), *median;
		double m = reports_median(g->days, g->ndays);

		if (g->ndays == 0)
			median = json_null();
		else if (m == (double)(long)m)
			median = json_integer((json_int_t)m);
		else
			median = json_real(m);
		for (size_t t = 0; t < g->ntop; t++)
			json_array_append_new(top,
			                      json_pack("{s:s, s:I}", "section", g->top[t].section,
			                                "count", (json_int_t)g->top[t].count));
		json_array_append_new(
		    periods,
		    json_pack("{s:s, s:s, s:I, s:I, s:f, s:o, s:o, s:o, s:o}", "period", g->period,
		              "route", g->route, "filed", (json_int_t)g->filed, "returned",
		              (json_int_t)g->returned, "returned_share",
		              (double)reports_share_milli(g) / 1000,
		              "median_working_days_to_accept", median, "top_flagged_sections", top,
		              "lead_time_days", lead_json(g), "share_noticed_6_months",
		              g->accepted ? json_real((double)reports_noticed_milli(g) / 1000)
		                          : json_null()));
	}
	return json_pack("{s:s, s:s, s:o}", "from", ctx->from, "to", ctx->to, "periods", periods);
}

static void
respond_report(struct report_ctx *ctx, struct report *r)
{
	struct http_request *req = ctx->req;

	audit_record(req, req->auth.person_id, req->auth.username, "report.quality", NULL, NULL,
	             NULL);
	http_add_header(req, "Vary", "Accept");
	if (ctx->form != FORM_JSON) {
		struct evbuffer *b = evbuffer_new();
		bool csv = ctx->form == FORM_CSV;
		if (csv) {
			reports_csv(b, r);
		} else if (reports_xlsx(b, r, ctx->from, ctx->to) == -1) {
			evbuffer_free(b);
			http_problem(req, 500, NULL, "Regnearket kunne ikke skrives.");
			return;
		}
		http_add_header(req, "Content-Disposition",
		                csv ? "attachment; filename=\"stafet-kvalitet.csv\""
		                    : "attachment; filename=\"stafet-kvalitet.xlsx\"");
		http_respond_buffer(req, 200, csv ? "text/csv; charset=utf-8" : XLSX_TYPE, b);
		evbuffer_free(b);
		return;
	}
	/* shares with three decimals print as such, not as 0.33300000000000002 */
	json_t *j = report_json(r, ctx);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
	json_decref(j);
	if (s == NULL) {
		http_problem(req, 500, NULL, "The report could not be written.");
		return;
	}
	http_respond(req, 200, "application/json", s, strlen(s));
	free(s);
}

static void
unavailable(struct http_request *req)
{
	http_add_header(req, "Retry-After", "1");
	http_problem(req, 503, NULL, "The reports are unavailable: the database does not answer.");
}

static void
report_done(PGresult *res, const char *error, void *arg)
{
	struct report_ctx *ctx = arg;
	struct report r = {0};
	long notes;

	if (error || res == NULL) {
		log_warnx("reports: quality: %s", error ? error : "no result");
		unavailable(ctx->req);
		free(ctx);
		return;
	}
	notes = report_build(res, &r);
	if (notes < 0) {
		log_warnx("reports: quality: a row out of range (id=%s)", ctx->req->id);
		http_problem(ctx->req, 500, NULL, "The report could not be computed.");
	} else if (notes > REPORT_NOTES_MAX) {
		http_problem(ctx->req, 422, NULL,
		             "Perioden rummer mere end 200.000 overdragelser. Vælg en kortere "
		             "periode eller en enkelt rute.");
	} else {
		respond_report(ctx, &r);
	}
	report_free(&r);
	free(ctx);
}

/* A date parameter: absent or empty leaves *out NULL; false when answered. */
static bool
date_param(struct http_request *req, const char *name, char buf[16], const char **out, long *days)
{
	const char *v;
	*out = NULL;
	if (!http_query_has(req, name))
		return true;
	v = http_query_param(req, name, buf, 16);
	if (v && *v == '\0')
		return true;
	if (v == NULL || workdays_date_days(v, days) == -1) {
		http_bad_param(req, name, "Skal være en gyldig dato ÅÅÅÅ-MM-DD (år 1900-2200).");
		return false;
	}
	*out = v;
	return true;
}

/* The route code: absent or empty leaves *out NULL; false when answered. */
static bool
route_param(struct http_request *req, char *buf, size_t n, const char **out)
{
	*out = NULL;
	if (!http_query_has(req, "route"))
		return true;
	if ((*out = http_query_param(req, "route", buf, n)) == NULL) {
		http_bad_param(req, "route", "Højst 64 tegn.");
		return false;
	}
	if (**out == '\0')
		*out = NULL;
	return true;
}

/* The form Accept names: the XLSX type before text/csv, else JSON. */
static enum report_form
wanted_form(const struct http_request *req)
{
	const char *a = http_request_header(req, "Accept");
	if (a && strcasestr(a, XLSX_TYPE) != NULL)
		return FORM_XLSX;
	return a && strcasestr(a, "text/csv") != NULL ? FORM_CSV : FORM_JSON;
}

void
api_reports_quality(struct http_request *req)
{
	static const char *const known[] = {"from", "to", "route", NULL};
	char from_b[16], to_b[16], route_b[REPORT_ROUTE_MAX + 1], limit[16];
	const char *fv, *tv, *rv;
	long from_d = 0, to_d = 0;
	char *units = NULL;
	struct report_ctx *ctx;

	if (!http_query_check(req, known))
		return;
	if (!date_param(req, "from", from_b, &fv, &from_d) ||
	    !date_param(req, "to", to_b, &tv, &to_d))
		return;
	if (!route_param(req, route_b, sizeof(route_b), &rv))
		return;

	ctx = xcalloc(1, sizeof(*ctx));
	ctx->req = req;
	ctx->form = wanted_form(req);
	if (tv)
		memcpy(ctx->to, tv, 11);
	else
		clock_date_copenhagen(clock_time(), ctx->to);
	if (fv)
		memcpy(ctx->from, fv, 11);
	else if (workdays_quarter_start(ctx->to, REPORT_QUARTERS, ctx->from) == -1)
		memcpy(ctx->from, "1900-01-01", 11);
	if (workdays_date_days(ctx->from, &from_d) == -1 ||
	    workdays_date_days(ctx->to, &to_d) == -1) {
		free(ctx); /* today outside 1900-2200: a clock gone wrong */
		http_problem(req, 500, NULL, "The server's clock is out of range.");
		return;
	}
	if (from_d > to_d) {
		free(ctx);
		http_bad_param(req, fv ? "from" : "to", "'from' må ikke ligge efter 'to'.");
		return;
	}
	if (to_d - from_d > REPORT_SPAN_DAYS) {
		free(ctx);
		http_bad_param(req, fv ? "from" : "to", "Højst ti år mellem 'from' og 'to'.");
		return;
	}

	if (!auth_has_role(req, ROLE_QUALITY)) {
		int person = auth_person(req);
		if (person == DIR_NONE) {
			struct report none = {0};
			respond_report(ctx, &none);
			free(ctx);
			return;
		}
		units = access_visible_units_array(dir_sync_current(), person);
	}
	snprintf(limit, sizeof(limit), "%d", REPORT_NOTES_MAX + 1);
	const char *params[5] = {ctx->from, ctx->to, rv, units, limit};
	if (db_query(report_sql, 5, params, report_done, ctx) == -1) {
		free(ctx);
		unavailable(req);
	}
	free(units);
}

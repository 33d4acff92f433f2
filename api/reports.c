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
 *   Retry-After. Every report read is audited ("report.quality"); the row
 *   is written before the figures are read, so a read refused for its size
 *   (422) or failing after it is audited too.
 *
 * One query does the work: report_quality() (migration 0015) sums the
 * figures kept per day, month and quarter of filing as notes change, so
 * the cost does not grow with the number of notes; the medians and
 * quartiles are computed here from the distributions it returns.
 *
 * Dashboards read the same reports far more often than notes change, so
 * the answers are kept (reports_cache.c) and each request first reads the
 * figures' version (report_version(), migration 0016, which also writes
 * the audit row): a report kept under the same key (range, route, days
 * off, the reader's scope) and version is answered at once, exactly as
 * report_quality() would answer it now; else the query runs and its report
 * is kept under the version read before it. At 100,000 notes and 8
 * clients that took the answer from p99 52 ms (4.2 ms of PostgreSQL and
 * 1.75 ms of this thread a request) to 2 ms (0.09 and 0.05 ms), when no
 * note changes between reads.
 */
#include <errno.h>
#include <limits.h>
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
	char *route;  /* owned, or NULL for every route */
	char *units;  /* the acting units as text[], owned, or NULL for all */
	unsigned off; /* the optional days off (HO_OFF_* bits) */
	char *key;    /* the answer's key in the cache (cache_key), owned */
	struct report_version version;
};

/*
 * The figures come from report_quality() (migration 0015), which reads the
 * notes' contributions that triggers keep in report_dists as notes change
 * (per day, month and quarter of filing, route, units, kind and section,
 * each row the distribution of the values as arrays), so its cost follows
 * the calendar and the keys, not the number of notes or of values; it
 * plans once per connection, with JIT off. Rows, in no order: quarter (its
 * first day), route, kind, section, then parallel arrays of value, the
 * optional days off crossed (grundlovsdag, juleaftensdag, nytårsaftensdag)
 * and count; kind 'F' filed, 'R' returned, 'A' accepted, 'S' noticed six
 * months ahead, 'W' notes accepted after `value` working days (the days
 * off the configuration names taken off here), 'L' accepted `value` days
 * after a notice, 'X' the flags of a section. A key may come in several
 * rows (units, grains, the differences not folded yet, whose counts may be
 * negative): they are summed here, as the sections are ranked and the
 * groups sorted (in SQL, grouping and sorting cost more than the rest of
 * the query). $1 from, $2 to (local dates), $3 route or NULL, $4 the
 * acting units as text[] or NULL for all.
 */
static const char report_sql[] =
    "SELECT o_quarter, o_route, o_kind, o_section, o_vals, o_cgs, o_cjs, o_cns, o_ns"
    " FROM report_quality($1::date, $2::date, $3::text, $4::text[])";

static int
group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c = strcmp(x->period, y->period);
	return c ? c : strcmp(x->route, y->route);
}

/* The group of (period, route): the last one found, another one (a
 * report has a few dozen), or a new one. */
static struct group *
group_for(struct report *r, size_t *last, const char *period, const char *route)
{
	struct group *g;
	if (*last < r->n && strcmp(r->v[*last].period, period) == 0 &&
	    strcmp(r->v[*last].route, route) == 0)
		return &r->v[*last];
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].period, period) == 0 && strcmp(r->v[i].route, route) == 0) {
			*last = i;
			return &r->v[i];
		}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	*last = r->n;
	g = &r->v[r->n++];
	memset(g, 0, sizeof(*g));
	g->period = xstrdup(period);
	g->route = xstrdup(route);
	return g;
}

/* Count descending, then section by byte order. */
static int
top_cmp(const void *a, const void *b)
{
	const struct top *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->section, y->section);
}

/* The group's most flagged sections from all of them. */
static void
rank_flags(struct group *g)
{
	if (g->nflags == 0)
		return;
	qsort(g->flags, g->nflags, sizeof(*g->flags), top_cmp);
	for (size_t t = 0; t < g->nflags; t++) {
		if (g->ntop < REPORT_TOP)
			g->top[g->ntop++] = g->flags[t];
		else
			free(g->flags[t].section);
	}
	free(g->flags);
	g->flags = NULL;
	g->nflags = 0;
}

/* Flags summed per section (they come a row per unit pair and grain),
 * those at zero or below dropped. */
static int
flag_cmp(const void *a, const void *b)
{
	return strcmp(((const struct top *)a)->section, ((const struct top *)b)->section);
}

static void
merge_flags(struct group *g)
{
	size_t o = 0;

	if (g->nflags == 0)
		return;
	qsort(g->flags, g->nflags, sizeof(*g->flags), flag_cmp);
	for (size_t t = 0; t < g->nflags; t++) {
		if (o && strcmp(g->flags[o - 1].section, g->flags[t].section) == 0) {
			g->flags[o - 1].count += g->flags[t].count;
			free(g->flags[t].section);
		} else {
			g->flags[o++] = g->flags[t];
		}
	}
	g->nflags = 0;
	for (size_t t = 0; t < o; t++) {
		if (g->flags[t].count > 0)
			g->flags[g->nflags++] = g->flags[t];
		else
			free(g->flags[t].section);
	}
}

/* Room doubles at each power of two: *nv is all the state there is. */
static void
add_hist(struct hist **h, size_t *nv, int v, long n)
{
	if ((*nv & (*nv - 1)) == 0)
		*h = xrealloc(*h, (*nv ? *nv * 2 : 1) * sizeof(**h));
	(*h)[(*nv)++] = (struct hist){v, n};
}

/* A PostgreSQL array of integers in text form ("{1,-2,3}") into v[0..max):
 * the number of elements, or -1 when it is not one or holds more. */
static long
int_array(const char *s, long long *v, long max)
{
	long n = 0;
	char *end;

	if (*s++ != '{')
		return -1;
	if (*s == '}')
		return s[1] == '\0' ? 0 : -1;
	for (;;) {
		if (n == max)
			return -1;
		errno = 0;
		v[n++] = strtoll(s, &end, 10);
		if (end == s || errno)
			return -1;
		s = end;
		if (*s == '}')
			return s[1] == '\0' ? n : -1;
		if (*s++ != ',')
			return -1;
	}
}

/* Builds the report from the query's rows (see report_sql), `off` the
 * optional days off that count as not working. Returns the number of
 * notes, or -1 on a row that makes no sense. */
static long
report_build(PGresult *res, struct report *r, unsigned off)
{
	int n = PQntuples(res);
	long notes = 0;
	size_t o = 0, last = 0;
	long long *a = NULL;
	long cap = 0;

	for (int i = 0; i < n; i++) {
		char period[8];
		struct group *g;
		char kind;
		long len, m;
		long long *vals, *cgs, *cjs, *cns, *ns;
		if (workdays_quarter_label(PQgetvalue(res, i, 0), period) == -1)
			goto bad;
		g = group_for(r, &last, period, PQgetvalue(res, i, 1));
		kind = *PQgetvalue(res, i, 2);
		/* an array's text holds at most one element per two characters */
		len = (long)strlen(PQgetvalue(res, i, 4)) / 2 + 1;
		if (len > cap) {
			cap = len;
			a = xrealloc(a, (size_t)cap * 5 * sizeof(*a));
		}
		vals = a, cgs = a + cap, cjs = a + 2 * cap, cns = a + 3 * cap, ns = a + 4 * cap;
		m = int_array(PQgetvalue(res, i, 4), vals, cap);
		if (m < 0 || int_array(PQgetvalue(res, i, 5), cgs, cap) != m ||
		    int_array(PQgetvalue(res, i, 6), cjs, cap) != m ||
		    int_array(PQgetvalue(res, i, 7), cns, cap) != m ||
		    int_array(PQgetvalue(res, i, 8), ns, cap) != m)
			goto bad;
		for (long e = 0; e < m; e++) {
			long long v = vals[e], count = ns[e];
			if (kind == 'W')
				v -= (off & 1 ? cgs[e] : 0) + (off & 2 ? cjs[e] : 0) +
				     (off & 4 ? cns[e] : 0);
			if (v < INT_MIN || v > INT_MAX || count < LONG_MIN / 4 ||
			    count > LONG_MAX / 4)
				goto bad;
			switch (kind) {
			case 'F':
				g->filed += (long)count;
				notes += (long)count;
				break;
			case 'R':
				g->returned += (long)count;
				break;
			case 'A':
				g->accepted += (long)count;
				break;
			case 'S':
				g->noticed6 += (long)count;
				break;
			case 'W':
				add_hist(&g->days, &g->ndaysv, (int)v, (long)count);
				g->ndays += (long)count;
				break;
			case 'L':
				add_hist(&g->lead, &g->nleadv, (int)v, (long)count);
				g->nlead += (long)count;
				break;
			case 'X':
				g->flags = xrealloc(g->flags, (g->nflags + 1) * sizeof(*g->flags));
				g->flags[g->nflags].section = xstrdup(PQgetvalue(res, i, 3));
				g->flags[g->nflags++].count = (long)count;
				break;
			default:
				goto bad;
			}
		}
	}
	free(a);
	/* a group without a note filed cannot come, but would not show */
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].filed > 0) {
			merge_flags(&r->v[i]);
			rank_flags(&r->v[i]);
			r->v[o++] = r->v[i];
		} else {
			reports_group_clear(&r->v[i]);
		}
	}
	r->n = o;
	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), group_cmp);
	return notes;
bad:
	free(a);
	return -1;
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
	reports_hist_quartiles(g->lead, &g->nleadv, q);
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
		double m = reports_hist_median(g->days, &g->ndaysv);

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

/* Answers with r in the form asked for; *json, when json is not NULL, is
 * the JSON text kept with r: used when set, else set to what is written
 * (the caller's to free). Audited by the caller. */
static void
respond_report(struct report_ctx *ctx, struct report *r, char **json)
{
	struct http_request *req = ctx->req;

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
	if (json && *json) {
		http_respond(req, 200, "application/json", *json, strlen(*json));
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
	if (json)
		*json = s;
	else
		free(s);
}

static void
unavailable(struct http_request *req)
{
	http_add_header(req, "Retry-After", "1");
	http_problem(req, 503, NULL, "The reports are unavailable: the database does not answer.");
}

static void
ctx_free(struct report_ctx *ctx)
{
	free(ctx->key);
	free(ctx->route);
	free(ctx->units);
	free(ctx);
}

static void
report_done(PGresult *res, const char *error, void *arg)
{
	struct report_ctx *ctx = arg;
	struct report r = {0};
	struct report_cached *c;
	long notes;

	if (error || res == NULL) {
		log_warnx("reports: quality: %s", error ? error : "no result");
		unavailable(ctx->req);
		ctx_free(ctx);
		return;
	}
	notes = report_build(res, &r, ctx->off);
	if (notes < 0) {
		log_warnx("reports: quality: a row out of range (id=%s)", ctx->req->id);
		http_problem(ctx->req, 500, NULL, "The report could not be computed.");
	} else if (notes > REPORT_NOTES_MAX) {
		http_problem(ctx->req, 422, NULL,
		             "Perioden rummer mere end 200.000 overdragelser. Vælg en kortere "
		             "periode eller en enkelt rute.");
	} else if ((c = reports_cache_put(ctx->key, &ctx->version, &r, notes)) != NULL) {
		respond_report(ctx, &c->r, &c->json);
	} else {
		respond_report(ctx, &r, NULL);
	}
	reports_free(&r);
	ctx_free(ctx);
}

/*
 * The figures' version, read (with the read's audit row written) before
 * anything else: an answer kept under the same key and version is exact;
 * else report_quality() runs, and its answer is kept under this version
 * (it holds this state or a newer one).
 */
static struct db_stmt version_stmt = {
    "report_version", "SELECT o_generation, o_deltas FROM report_version($1, $2, $3)", 3, 0};

static bool
version_parse(PGresult *res, struct report_version *v)
{
	char *end;

	if (PQntuples(res) != 1 || PQnfields(res) != 2 || PQgetisnull(res, 0, 0) ||
	    PQgetisnull(res, 0, 1))
		return false;
	errno = 0;
	v->generation = strtoll(PQgetvalue(res, 0, 0), &end, 10);
	if (errno || *end != '\0')
		return false;
	v->deltas = strtoll(PQgetvalue(res, 0, 1), &end, 10);
	return errno == 0 && *end == '\0';
}

static void
version_done(PGresult *res, const char *error, void *arg)
{
	struct report_ctx *ctx = arg;
	struct report_cached *c;

	if (error || res == NULL || !version_parse(res, &ctx->version)) {
		log_warnx("reports: quality: version: %s", error ? error
		                                           : res ? "an answer out of shape"
		                                                 : "no result");
		unavailable(ctx->req);
		ctx_free(ctx);
		return;
	}
	if ((c = reports_cache_find(ctx->key, &ctx->version)) != NULL) {
		respond_report(ctx, &c->r, &c->json);
		ctx_free(ctx);
		return;
	}
	const char *params[4] = {ctx->from, ctx->to, ctx->route, ctx->units};
	if (db_query(report_sql, 4, params, report_done, ctx) == -1) {
		unavailable(ctx->req);
		ctx_free(ctx);
	}
}

/* Everything the answer depends on besides the figures' version: the
 * range, the route, the days off, and whose notes (every one for the
 * quality role, else the acting units; a reader never gets an answer
 * computed for another scope). The form is not in it: every form is
 * rendered from the kept report, the names at render time. Unambiguous:
 * the dates have fixed width, the route its length. */
static char *
cache_key(const struct report_ctx *ctx)
{
	const char *route = ctx->route ? ctx->route : "";
	const char *scope = ctx->units ? ctx->units : "*";
	size_t n = strlen(route) + strlen(scope) + 64;
	char *k = xmalloc(n);

	snprintf(k, n, "%s %s %u %c%zu:%s %s", ctx->from, ctx->to, ctx->off, ctx->route ? 'r' : '-',
	         strlen(route), route, scope);
	return k;
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
	char from_b[16], to_b[16], route_b[REPORT_ROUTE_MAX + 1];
	unsigned off = 0;
	const char *fv, *tv, *rv;
	long from_d = 0, to_d = 0;
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
			audit_record(req, req->auth.person_id, req->auth.username, "report.quality",
			             NULL, NULL, NULL);
			respond_report(ctx, &none, NULL);
			free(ctx);
			return;
		}
		ctx->units = access_visible_units_array(dir_sync_current(), person);
	}
	/* the municipality's optional days off count as not working */
	if (config_current() && workdays_days_off(config_current()->days_off, &off) == -1)
		off = 0;
	ctx->off = off;
	ctx->route = rv ? xstrdup(rv) : NULL;
	ctx->key = cache_key(ctx);
	const char *params[3] = {req->auth.person_id, req->auth.username,
	                         *req->client ? req->client : NULL};
	if (db_query_stmt(&version_stmt, params, version_done, ctx) == -1) {
		unavailable(req);
		ctx_free(ctx);
	}
}

void
api_reports_start(struct event_base *base, const struct config *c)
{
	(void)base;
	(void)c;
}

void
api_reports_stop(void)
{
	reports_cache_stop();
}

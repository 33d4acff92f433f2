/*
 * notices_import.c: POST /api/v1/notices/import (notices from a CSV export
 * of the case system) and GET /api/v1/notices/pipeline (the receiving
 * unit's coming transitions by month).
 *
 * The import reads `text/csv`, UTF-8 (a BOM is skipped), ';' between
 * fields, a header line `cpr;name;route;expected_date;comment` (the comment
 * may be left out), fields optionally in double quotes ("" for a quote; a
 * quoted field may hold ';' and line breaks). At most IMPORT_MAX_BYTES and
 * IMPORT_MAX_LINES lines (413). Each line is judged alone and stored all
 * or nothing (migration 0013's notice_import, one statement for the file):
 * a bad line is skipped with its line number and a Danish reason that
 * never repeats the CPR number or the name; a line for a citizen and route
 * that already has an open notice, or a notice with the same expected
 * date, changes nothing ("unchanged"), so a re-import changes nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "auth.h"
#include "api.h"

#define IMPORT_MAX_BYTES (5 * 1024 * 1024)
#define IMPORT_MAX_LINES 5000
#define FIELDS_MAX       8
#define NAME_MAX_LEN     200
#define COMMENT_MAX      2000

struct record {
	int line; /* where it starts, 1 the header */
	int nfields;
	bool bad_quote;
	char *field[FIELDS_MAX];
};

/* Reads one record from *p (up to end) into rec: the fields are copies the
 * caller frees (record_clear). *line counts the lines passed. false at
 * the end of the text. */
static bool
record_read(const char **p, const char *end, int *line, struct record *rec)
{
	struct evbuffer *f = evbuffer_new();
	const char *c = *p;
	bool quoted = false, was_quoted = false;

	memset(rec, 0, sizeof(*rec));
	if (c >= end) {
		evbuffer_free(f);
		return false;
	}
	rec->line = *line;
	for (;; c++) {
		bool at_end = c >= end;
		if (!at_end && quoted) {
			if (*c == '"' && c + 1 < end && c[1] == '"') {
				evbuffer_add(f, "\"", 1);
				c++;
			} else if (*c == '"') {
				quoted = false;
			} else {
				if (*c == '\n')
					(*line)++;
				evbuffer_add(f, c, 1);
			}
			continue;
		}
		if (at_end && quoted)
			rec->bad_quote = true;
		if (at_end || *c == ';' || *c == '\n' || *c == '\r') {
			size_t n = evbuffer_get_length(f);
			char *v = xmalloc(n + 1);
			evbuffer_remove(f, v, n);
			v[n] = '\0';
			if (rec->nfields < FIELDS_MAX)
				rec->field[rec->nfields] = v;
			else
				free(v);
			rec->nfields++;
			was_quoted = false;
			if (at_end || *c != ';') {
				if (!at_end && *c == '\r' && c + 1 < end && c[1] == '\n')
					c++;
				if (!at_end) {
					c++;
					(*line)++;
				}
				break;
			}
			continue;
		}
		if (*c == '"' && evbuffer_get_length(f) == 0 && !was_quoted) {
			quoted = was_quoted = true;
			continue;
		}
		if (was_quoted)
			rec->bad_quote = true; /* text after a closing quote */
		evbuffer_add(f, c, 1);
	}
	*p = c;
	evbuffer_free(f);
	return true;
}

static void
record_clear(struct record *rec)
{
	for (int i = 0; i < rec->nfields && i < FIELDS_MAX; i++)
		free(rec->field[i]);
	memset(rec, 0, sizeof(*rec));
}

static char *
trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static void
skip(json_t *skipped, int line, const char *reason)
{
	json_array_append_new(skipped, json_pack("{s:i, s:s}", "line", line, "reason", reason));
}

/* One record judged; a new line for notice_import, or NULL with the reason
 * added to skipped. */
static json_t *
judge_line(struct http_request *req, const struct dir_snapshot *s, struct ho_route_set *set, int me,
           struct record *rec, json_t *skipped)
{
	const char *why = NULL, *from;
	const struct ho_route *r;
	char born[11], cpr[12], reason[200];
	char *f_cpr, *f_name, *f_route, *f_date, *f_comment;
	json_t *p, *date;
	int status = 0;

	if (rec->bad_quote) {
		skip(skipped, rec->line, "Et felt i anførselstegn er ikke afsluttet korrekt.");
		return NULL;
	}
	if (rec->nfields < 4 || rec->nfields > 5) {
		snprintf(reason, sizeof(reason),
		         "Linjen har %d felter; der skal være 4 eller 5 "
		         "(cpr;name;route;expected_date;comment).",
		         rec->nfields);
		skip(skipped, rec->line, reason);
		return NULL;
	}
	f_cpr = trim(rec->field[0]), f_name = trim(rec->field[1]), f_route = trim(rec->field[2]);
	f_date = trim(rec->field[3]), f_comment = rec->nfields == 5 ? trim(rec->field[4]) : "";
	if (!utf8_valid(f_name, strlen(f_name)) || !utf8_valid(f_comment, strlen(f_comment)) ||
	    !utf8_valid(f_route, strlen(f_route))) {
		skip(skipped, rec->line, "Linjen er ikke gyldig UTF-8.");
		return NULL;
	}
	if (strlen(f_cpr) > 11 || dir_citizen_birthdate(f_cpr, strlen(f_cpr), born, &why) == -1) {
		snprintf(reason, sizeof(reason), "Ugyldigt CPR-nummer: %s",
		         why ? why : "forkert form.");
		skip(skipped, rec->line, reason);
		return NULL;
	}
	if (*f_name == '\0' || strlen(f_name) > NAME_MAX_LEN) {
		skip(skipped, rec->line, "Borgerens navn mangler eller er længere end 200 tegn.");
		return NULL;
	}
	if ((r = routes_find(set, f_route)) == NULL) {
		bool plain = strlen(f_route) <= 40 &&
		             strspn(f_route, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
		                             "nopqrstuvwxyz0123456789-_") == strlen(f_route);
		snprintf(reason, sizeof(reason), "Ukendt rute%s%s%s.", plain ? " »" : "",
		         plain ? f_route : "", plain ? "«" : "");
		skip(skipped, rec->line, reason);
		return NULL;
	}
	if ((from = api_notice_sending_unit(s, me, r)) == NULL) {
		snprintf(reason, sizeof(reason),
		         "Du kan ikke varsle på ruten %s: kun rutens afsenderenhed kan det.",
		         r->code);
		skip(skipped, rec->line, reason);
		return NULL;
	}
	p = json_problem(422, NULL, NULL);
	date = json_string(f_date);
	if (date == NULL || !api_notice_expected_ok(date, p, &status)) {
		json_t *e = json_array_get(json_object_get(p, "errors"), 0);
		skip(skipped, rec->line,
		     json_str(e, "message") ? json_str(e, "message") : "Ugyldig forventet dato.");
		json_decref(date);
		json_decref(p);
		return NULL;
	}
	json_decref(p);
	if (strlen(f_comment) > COMMENT_MAX) {
		json_decref(date);
		skip(skipped, rec->line, "Kommentaren er længere end 2000 tegn.");
		return NULL;
	}
	size_t n = strlen(f_cpr);
	memcpy(cpr, f_cpr, 6);
	cpr[6] = '-';
	memcpy(cpr + 7, f_cpr + (n == 11 ? 7 : 6), 4);
	cpr[11] = '\0';
	(void)req;
	return json_pack("{s:i, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:o, s:s}", "line",
	                 rec->line, "route", r->code, "citizen", "cpr", cpr, "name", f_name,
	                 "birthdate", born, "birthdate", born, "sender_unit", from, "receiver_unit",
	                 r->to_unit ? r->to_unit : from, "expected_date", date, "comment",
	                 f_comment);
}

struct import_ctx {
	struct http_request *req;
	json_t *skipped;
};

static int
by_line(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	return (int)(json_integer_value(json_object_get(x, "line")) -
	             json_integer_value(json_object_get(y, "line")));
}

static void
imported(PGresult *res, const char *error, void *arg)
{
	struct import_ctx *ctx = arg;
	struct http_request *req = ctx->req;
	json_t *results, *r, *notices = json_array(), **v;
	int created = 0, unchanged = 0;
	size_t i, n;
	char reason[200];

	if (error || res == NULL || PQntuples(res) != 1 ||
	    (results = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL) {
		answer_db_error(req, error ? error : "no result");
		json_decref(ctx->skipped);
		json_decref(notices);
		free(ctx);
		return;
	}
	api_counterparts_changed();
	json_array_foreach (results, i, r) {
		const char *what = json_str(r, "result");
		int line = (int)json_integer_value(json_object_get(r, "line"));
		if (strcmp(what, "conflict") == 0) {
			const json_t *c = json_object_get(r, "conflict");
			snprintf(reason, sizeof(reason),
			         "Der er allerede et notat i gang for borgeren på ruten (%s).",
			         json_str(c, "ref") ? json_str(c, "ref") : "-");
			skip(ctx->skipped, line, reason);
			continue;
		}
		if (strcmp(what, "created") == 0)
			created++;
		else
			unchanged++;
		json_array_append_new(notices, json_pack("{s:i, s:s, s:s, s:s}", "line", line,
		                                         "result", what, "id", json_str(r, "id"),
		                                         "ref", json_str(r, "ref")));
	}
	json_decref(results);
	/* the skipped lines in order of their line numbers */
	n = json_array_size(ctx->skipped);
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(ctx->skipped, i));
	qsort(v, n, sizeof(*v), by_line);
	json_array_clear(ctx->skipped);
	for (i = 0; i < n; i++)
		json_array_append_new(ctx->skipped, v[i]);
	free(v);
	log_info("notices: import by %s: %d created, %d unchanged, %zu skipped",
	         req->auth.person_id, created, unchanged, n);
	http_respond_json(req, 200,
	                  json_pack("{s:i, s:i, s:o, s:o}", "created", created, "unchanged",
	                            unchanged, "skipped", ctx->skipped, "notices", notices));
	free(ctx);
}

static bool
import_head(struct http_request *req, const char **text, size_t *len)
{
	const char *ct = http_request_header(req, "Content-Type");
	size_t n = evbuffer_get_length(req->body);

	if (ct == NULL || strncasecmp(ct, "text/csv", 8) != 0 ||
	    (ct[8] != '\0' && ct[8] != ';' && ct[8] != ' ')) {
		http_problem(req, 415, NULL,
		             "Send filen som text/csv (UTF-8, semikolon mellem felterne).");
		return false;
	}
	if (n > IMPORT_MAX_BYTES) {
		http_problem(req, 413, NULL, "Filen er for stor: højst 5 MB.");
		return false;
	}
	*text = (const char *)evbuffer_pullup(req->body, -1);
	*len = n;
	if (n >= 3 && memcmp(*text, "\xef\xbb\xbf", 3) == 0)
		*text += 3, *len -= 3;
	return true;
}

/* The header line; false after answering 422. */
static bool
header_ok(struct http_request *req, struct record *h)
{
	static const char *const want[] = {"cpr", "name", "route", "expected_date", "comment"};
	bool ok = !h->bad_quote && (h->nfields == 4 || h->nfields == 5);

	for (int i = 0; ok && i < h->nfields; i++)
		ok = strcasecmp(trim(h->field[i]), want[i]) == 0;
	if (!ok) {
		json_t *p = json_problem(422, "Forkert overskriftslinje",
		                         "Filens første linje skal være "
		                         "cpr;name;route;expected_date;comment.");
		json_problem_add_error(
		    p, "header", "invalid",
		    "Første linje skal være cpr;name;route;expected_date;comment.");
		http_problem_json(req, p);
	}
	return ok;
}

void
api_notices_import(struct http_request *req)
{
	static const char *const no_params[] = {NULL};
	const struct dir_snapshot *s;
	struct ho_route_set *set;
	const char *text, *end, *c;
	json_t *lines, *skipped;
	struct record rec;
	size_t len;
	int line = 1, nrec = 0, me;
	char *arg;

	if (!http_query_check(req, no_params) || !import_head(req, &text, &len))
		return;
	if ((set = answer_routes_or_fail(req)) == NULL ||
	    (s = answer_snapshot_or_fail(req)) == NULL)
		return;
	me = auth_person(req);
	c = text, end = text + len;
	if (!record_read(&c, end, &line, &rec) || !header_ok(req, &rec)) {
		if (rec.line == 0)
			http_problem(req, 422, "Tom fil", "Filen er tom.");
		record_clear(&rec);
		return;
	}
	record_clear(&rec);
	lines = json_array();
	skipped = json_array();
	while (record_read(&c, end, &line, &rec)) {
		json_t *l;
		if (rec.nfields == 1 && *trim(rec.field[0]) == '\0' && !rec.bad_quote) {
			record_clear(&rec); /* an empty line */
			continue;
		}
		if (++nrec > IMPORT_MAX_LINES) {
			record_clear(&rec);
			json_decref(lines);
			json_decref(skipped);
			http_problem(req, 413, NULL,
			             "Filen har for mange linjer: højst 5000 varsler ad gangen.");
			return;
		}
		if (me != DIR_NONE && (l = judge_line(req, s, set, me, &rec, skipped)) != NULL)
			json_array_append_new(lines, l);
		else if (me == DIR_NONE)
			skip(skipped, rec.line, "Du findes ikke i kataloget.");
		record_clear(&rec);
	}
	struct import_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->req = req;
	ctx->skipped = skipped;
	arg = json_dumps(lines, JSON_COMPACT);
	json_decref(lines);
	const char *params[4] = {arg, req->auth.person_id, req->auth.username,
	                         *req->client ? req->client : NULL};
	if (db_query("SELECT notice_import($1::jsonb, $2, $3, $4)::text", 4, params, imported,
	             ctx) == -1) {
		answer_db_error(req, "unavailable");
		json_decref(skipped);
		free(ctx);
	}
	free(arg);
}

/* -- GET /api/v1/notices/pipeline ---------------------------------------------------------- */

struct pipe_ctx {
	struct http_request *req;
	char unit[72];
	char first[11];
	int months;
};

static void
piped(PGresult *res, const char *error, void *arg)
{
	struct pipe_ctx *ctx = arg;
	json_t *months = json_array();
	char day[11];

	if (error || res == NULL) {
		answer_db_error(ctx->req, error);
		json_decref(months);
		free(ctx);
		return;
	}
	for (int m = 0; m < ctx->months; m++) {
		int e = 0, a = 0, cv = 0;
		if (checks_date_add_months(ctx->first, m, day) == -1)
			break;
		day[7] = '\0';
		for (int i = 0; i < PQntuples(res); i++)
			if (strcmp(PQgetvalue(res, i, 0), day) == 0) {
				e = atoi(PQgetvalue(res, i, 1));
				a = atoi(PQgetvalue(res, i, 2));
				cv = atoi(PQgetvalue(res, i, 3));
			}
		json_array_append_new(months,
		                      json_pack("{s:s, s:i, s:i, s:i}", "month", day, "expected", e,
		                                "acknowledged", a, "converted", cv));
	}
	audit_record(ctx->req, ctx->req->auth.person_id, ctx->req->auth.username, "notice.pipeline",
	             "unit", ctx->unit, NULL);
	http_respond_json(ctx->req, 200,
	                  json_pack("{s:s, s:o}", "unit", ctx->unit, "months", months));
	free(ctx);
}

void
api_notices_pipeline(struct http_request *req)
{
	static const char *const known[] = {"unit", "months", NULL};
	const struct dir_snapshot *s;
	struct pipe_ctx *ctx;
	char unit[72] = "", months_s[8] = "", today[11], last[11], *end;
	long months = 12;
	int me, u;

	if (!http_query_check(req, known))
		return;
	if (http_query_has(req, "unit") &&
	    (!http_query_param(req, "unit", unit, sizeof(unit)) || strlen(unit) > 64 || !*unit)) {
		http_bad_param(req, "unit", "Ugyldig enhed.");
		return;
	}
	if (http_query_has(req, "months") &&
	    (!http_query_param(req, "months", months_s, sizeof(months_s)) ||
	     (months = strtol(months_s, &end, 10), *end) || months < 1 || months > 24)) {
		http_bad_param(req, "months", "Skal være et tal fra 1 til 24.");
		return;
	}
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	me = auth_person(req);
	if (!*unit && me != DIR_NONE && s->persons[me].unit != DIR_NONE)
		snprintf(unit, sizeof(unit), "%s", s->units[s->persons[me].unit].code);
	/* members and leads of the unit, and leads above it; anyone else 404,
	 * as for a unit that does not exist */
	if (me == DIR_NONE || (u = dir_lookup_unit(s, unit)) == DIR_NONE ||
	    !(access_member_of(s, me, unit) || access_leads_above(s, me, unit))) {
		http_problem(req, 404, NULL, "Enheden findes ikke.");
		return;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->req = req;
	ctx->months = (int)months;
	snprintf(ctx->unit, sizeof(ctx->unit), "%s", s->units[u].code);
	clock_today(today);
	memcpy(ctx->first, today, 8);
	memcpy(ctx->first + 8, "01", 3);
	if (checks_date_add_months(ctx->first, (int)months, last) == -1) {
		free(ctx);
		http_bad_param(req, "months", "Skal være et tal fra 1 til 24.");
		return;
	}
	const char *params[3] = {ctx->unit, ctx->first, last};
	if (db_query("SELECT to_char(expected_date, 'YYYY-MM'), count(*), "
	             "count(*) FILTER (WHERE acknowledged_at IS NOT NULL), "
	             "count(*) FILTER (WHERE status = 'converted') FROM notices "
	             "WHERE receiver_unit = $1 AND status <> 'cancelled' "
	             "AND expected_date >= $2::date AND expected_date < $3::date GROUP BY 1",
	             3, params, piped, ctx) == -1) {
		answer_db_error(req, "unavailable");
		free(ctx);
	}
}

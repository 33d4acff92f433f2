/*
 * handovers_list.c: the incoming and outgoing boxes and the caller's own
 * drafts (GET /api/v1/handovers; API.md "Handovers"): one call of
 * handover_list() (migration 0014) writes the audit row and reads the page
 * as plain columns, and the items' JSON is written straight from them.
 * The rest of the collection is handovers.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stafetd.h"
#include "directory.h"
#include "handover.h"
#include "auth.h"
#include "api.h"

/* -- GET /api/v1/handovers -------------------------------------------------------------- */

struct list_ctx {
	struct http_request *req;
	int me;
	int limit;
	char box[16];
};

static const char *const statuses[] = {"draft",    "submitted", "received", "returned",
                                       "accepted", "withdrawn", NULL};

/* -- the list's rendering: JSON written straight from the columns -------------------- */

/* The columns of handover_list() (migration 0014), in order. */
enum {
	L_ID,
	L_REF,
	L_ROUTE,
	L_TEMPLATE,
	L_TEMPLATE_VERSION,
	L_STATUS,
	L_VERSION,
	L_SENDER_PERSON,
	L_SENDER_UNIT,
	L_RECEIVER_UNIT,
	L_RECEIVER_PERSON,
	L_CPR,
	L_NAME,
	L_BIRTHDATE,
	L_PLANNED_DAY,
	L_COMPLETENESS,
	L_READBACK,
	L_CREATED,
	L_UPDATED,
	L_SUBMITTED,
	L_RECEIVED,
	L_DECIDED,
	L_FILED,
	L_FLAGS,
	L_FAILED_CHECKS,
	L_NCOLS
};

/* The page's JSON is written into one flat buffer and handed to the answer
 * at the end: appending each of an item's ~60 pieces to an evbuffer was a
 * third of the request thread's time under the list's load (its callbacks
 * and chain checks at every append; perf, bench/README.md). */
struct out {
	char *p;
	size_t len, cap;
};

static void
out_add(struct out *o, const void *v, size_t n)
{
	if (n > o->cap - o->len) {
		while (n > o->cap - o->len)
			o->cap = o->cap ? o->cap * 2 : 64 * 1024;
		o->p = xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, v, n);
	o->len += n;
}

/* A string literal, its length known at compile time. */
#define out_lit(o, s) out_add((o), (s), sizeof(s) - 1)

/* A JSON string as jansson's json_dumps writes it (UTF-8 as is; ", \ and
 * the control characters escaped), or null for NULL. */
static void
put_str(struct out *b, const char *v)
{
	const char *run;

	if (v == NULL) {
		out_lit(b, "null");
		return;
	}
	out_lit(b, "\"");
	for (run = v; *v; v++) {
		unsigned char c = (unsigned char)*v;
		const char *esc = NULL;
		char u[8];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		out_add(b, run, (size_t)(v - run));
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			snprintf(u, sizeof(u), "\\u%04X", c);
			esc = u;
		}
		out_add(b, esc, strlen(esc));
		run = v + 1;
	}
	out_add(b, run, (size_t)(v - run));
	out_lit(b, "\"");
}

static const char *
col(const PGresult *res, int row, int c)
{
	return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

/* A time in microseconds since the epoch as stafet_ts() writes it
 * (RFC 3339, UTC, milliseconds cut off), or null. */
static void
put_digits(char *out, long v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		out[i] = (char)('0' + v % 10);
}

static void
put_time(struct out *b, const char *us_text)
{
	char out[26] = "\"0000-00-00T00:00:00.000Z\"";
	long long us, secs;
	long days, rem;
	int y, m, d;

	if (us_text == NULL) {
		out_lit(b, "null");
		return;
	}
	us = strtoll(us_text, NULL, 10);
	secs = us / 1000000 - (us % 1000000 < 0);
	days = clock_floor_div((long)secs, 86400);
	rem = (long)(secs - (long long)days * 86400);
	clock_civil_from_days(days, &y, &m, &d);
	put_digits(out + 1, y, 4);
	put_digits(out + 6, m, 2);
	put_digits(out + 9, d, 2);
	put_digits(out + 12, rem / 3600, 2);
	put_digits(out + 15, rem / 60 % 60, 2);
	put_digits(out + 18, rem % 60, 2);
	put_digits(out + 21, (long)((us - secs * 1000000) / 1000), 3);
	out_add(b, out, sizeof(out));
}

/* An integer column as PostgreSQL wrote it (its decimal text is jansson's). */
static void
put_int(struct out *b, const PGresult *res, int row, int c)
{
	out_add(b, PQgetvalue(res, row, c), (size_t)PQgetlength(res, row, c));
}

/* {"id", "display_name"} of a person id, or null: note_person_ref()'s. */
static void
put_person(struct out *b, const struct dir_snapshot *s, const char *id)
{
	int p;

	if (id == NULL) {
		out_lit(b, "null");
		return;
	}
	p = s ? dir_lookup_person(s, id) : DIR_NONE;
	out_lit(b, "{\"id\":");
	put_str(b, id);
	out_lit(b, ",\"display_name\":");
	put_str(b, p == DIR_NONE ? NULL : s->persons[p].display_name);
	out_lit(b, "}");
}

/* One item, as note_render() without the sections, then the checks that
 * did not pass as stored; the same bytes note_render() and json_dumps()
 * gave (bench/handover_bench.py compares the two). */
static void
put_item(struct out *b, const PGresult *res, int i, const struct dir_snapshot *s, unsigned access)
{
	bool reader = !(access & HO_ACCESS_BOTH);
	const char *cpr = col(res, i, L_CPR), *name = col(res, i, L_NAME),
	           *born = col(res, i, L_BIRTHDATE), *day = col(res, i, L_PLANNED_DAY);
	char planned[11] = "", masked[12], initials[64];
	int age = -1;

	out_lit(b, "{\"id\":");
	put_str(b, col(res, i, L_ID));
	out_lit(b, ",\"ref\":");
	put_str(b, col(res, i, L_REF));
	out_lit(b, ",\"route\":");
	put_str(b, col(res, i, L_ROUTE));
	out_lit(b, ",\"status\":");
	put_str(b, col(res, i, L_STATUS));
	out_lit(b, ",\"version\":");
	put_int(b, res, i, L_VERSION);
	out_lit(b, ",\"template\":{\"code\":");
	put_str(b, col(res, i, L_TEMPLATE));
	out_lit(b, ",\"version\":");
	put_int(b, res, i, L_TEMPLATE_VERSION);
	out_lit(b, "},\"access\":");
	put_str(b, access_name(access));
	out_lit(b, ",\"citizen\":{\"cpr\":");
	if (cpr) {
		note_cpr_mask(cpr, masked);
		cpr = masked;
	}
	put_str(b, cpr);
	out_lit(b, ",\"name\":");
	if (reader && name) {
		note_name_initials(name, initials, sizeof(initials));
		name = initials;
	}
	put_str(b, name);
	out_lit(b, ",\"birthdate\":");
	put_str(b, born);
	if (day) {
		int y, m, d;
		clock_civil_from_days(strtol(day, NULL, 10), &y, &m, &d);
		clock_put_date(planned, y, m, d);
	}
	if (born && *planned)
		age = checks_age_on(born, planned);
	out_lit(b, ",\"age_at_handover\":");
	if (age >= 0) {
		char digits[12];
		int n = snprintf(digits, sizeof(digits), "%d", age);
		out_add(b, digits, (size_t)n);
	} else {
		out_lit(b, "null");
	}
	out_lit(b, "},\"sender\":{\"person\":");
	put_person(b, s, col(res, i, L_SENDER_PERSON));
	out_lit(b, ",\"unit\":");
	put_str(b, col(res, i, L_SENDER_UNIT));
	out_lit(b, "},\"receiver\":{\"unit\":");
	put_str(b, col(res, i, L_RECEIVER_UNIT));
	out_lit(b, ",\"person\":");
	put_person(b, s, col(res, i, L_RECEIVER_PERSON));
	out_lit(b, "},\"planned_date\":");
	put_str(b, *planned ? planned : NULL);
	out_lit(b, ",\"completeness\":");
	put_int(b, res, i, L_COMPLETENESS);
	out_lit(b, ",\"flags\":");
	/* flags are few: those notes that have them go through jansson */
	json_t *flags = col(res, i, L_FLAGS) ? json_loads(col(res, i, L_FLAGS), 0, NULL) : NULL;
	if (flags) {
		json_t *shown = note_render_flags(flags, s);
		char *text = json_dumps(shown, JSON_COMPACT);
		out_add(b, text, strlen(text));
		free(text);
		json_decref(shown);
		json_decref(flags);
	} else {
		out_lit(b, "[]");
	}
	out_lit(b, ",\"readback\":");
	put_str(b, col(res, i, L_READBACK));
	out_lit(b, ",\"created_at\":");
	put_time(b, col(res, i, L_CREATED));
	out_lit(b, ",\"updated_at\":");
	put_time(b, col(res, i, L_UPDATED));
	out_lit(b, ",\"submitted_at\":");
	put_time(b, col(res, i, L_SUBMITTED));
	out_lit(b, ",\"received_at\":");
	put_time(b, col(res, i, L_RECEIVED));
	out_lit(b, ",\"decided_at\":");
	put_time(b, col(res, i, L_DECIDED));
	out_lit(b, ",\"checks\":");
	if (col(res, i, L_FAILED_CHECKS))
		put_int(b, res, i, L_FAILED_CHECKS); /* the stored JSON as it is */
	else
		out_lit(b, "[]");
	out_lit(b, "}");
}

static void
listed(PGresult *res, const char *error, void *arg)
{
	struct list_ctx *ctx = arg;
	struct http_request *req = ctx->req;
	const struct dir_snapshot *s = dir_sync_current();
	struct out b = {NULL, 0, 0};
	char next[96] = "";
	int n;

	if (error || res == NULL || PQnfields(res) != L_NCOLS) {
		answer_db_error(req, error ? error : "unexpected columns");
		free(ctx);
		return;
	}
	n = PQntuples(res);
	out_lit(&b, "{\"items\":[");
	for (int i = 0, shown = 0; i < n && i < ctx->limit; i++) {
		unsigned access;
		/* The units' notes: each as its reader may see it (a lead above
		 * reads them masked); none, were the snapshot to change between
		 * the query and its answer, that the reader no longer may see. */
		access = access_of_units(s, ctx->me, col(res, i, L_SENDER_UNIT),
		                         col(res, i, L_RECEIVER_UNIT),
		                         strcmp(PQgetvalue(res, i, L_FILED), "t") == 0);
		if (access == 0 ||
		    (strcmp(ctx->box, "drafts") == 0 && !(access & HO_ACCESS_SENDER)))
			continue;
		if (shown++)
			out_lit(&b, ",");
		put_item(&b, res, i, s, access);
		if (n > ctx->limit && i == ctx->limit - 1)
			snprintf(next, sizeof(next), "\"%s.%s\"", PQgetvalue(res, i, L_UPDATED),
			         PQgetvalue(res, i, L_ID));
	}
	out_lit(&b, "],\"next_cursor\":");
	if (*next)
		out_add(&b, next, strlen(next));
	else
		out_lit(&b, "null");
	out_lit(&b, "}");
	http_respond(req, 200, "application/json", b.p, b.len);
	free(b.p);
	free(ctx);
}

/* A cursor's key: microseconds since the epoch, at most 18 digits. */
static bool
cursor_us_ok(const char *s, size_t len)
{
	return len > 0 && len <= 18 && strspn(s, "0123456789") >= len;
}

void
api_handovers_list(struct http_request *req)
{
	static const char *const known[] = {"box", "status", "route", "limit", "cursor", NULL};
	char box[16] = "", route[72] = "", cursor[96] = "";
	char statuses_arr[160] = "", limit_q[24], *units;
	const char *cur_us = NULL, *cur_id = NULL;
	const struct dir_snapshot *s;
	long limit = 50;
	int me;

	if (!http_query_check(req, known))
		return;
	if ((http_query_has(req, "box") && !http_query_param(req, "box", box, sizeof(box))) ||
	    (*box && strcmp(box, "incoming") != 0 && strcmp(box, "outgoing") != 0 &&
	     strcmp(box, "drafts") != 0)) {
		http_bad_param(req, "box", "Skal være incoming, outgoing eller drafts.");
		return;
	}
	if (!answer_statuses_param(req, statuses,
	                           "Ukendt status; brug draft, submitted, received, returned, "
	                           "accepted eller withdrawn (flere adskilt af komma).",
	                           statuses_arr, sizeof(statuses_arr)))
		return;
	if (http_query_has(req, "route") &&
	    (!http_query_param(req, "route", route, sizeof(route)) || strlen(route) > 64)) {
		http_bad_param(req, "route", "Ugyldig rute.");
		return;
	}
	if (!answer_page_params(req, &limit, cursor, sizeof(cursor), cursor_us_ok, &cur_us,
	                        &cur_id))
		return;
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	me = auth_person(req);
	units = access_visible_units_array(s, me);
	snprintf(limit_q, sizeof(limit_q), "%ld", limit + 1);
	struct list_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->req = req;
	ctx->me = me;
	ctx->limit = (int)limit;
	snprintf(ctx->box, sizeof(ctx->box), "%s", *box ? box : "all");
	/* the page and the read's audit row in one statement (migration 0014) */
	const char *params[10] = {ctx->box,
	                          units,
	                          *statuses_arr ? statuses_arr : NULL,
	                          *route ? route : NULL,
	                          cur_us,
	                          cur_id,
	                          limit_q,
	                          req->auth.person_id,
	                          req->auth.username,
	                          *req->client ? req->client : NULL};
	static struct db_stmt list_stmt = {"handovers_list",
	                                   "SELECT * FROM handover_list($1, $2::text[], "
	                                   "$3::text[], $4, $5::bigint, $6::uuid, $7::int, $8, "
	                                   "$9, $10)",
	                                   10, 0};
	if (db_query_stmt(&list_stmt, params, listed, ctx) == -1) {
		free(ctx);
		answer_db_error(req, "unavailable");
	}
	free(units);
}

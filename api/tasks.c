/*
 * tasks.c: GET /api/v1/me/tasks (API.md 1.1 "Drafts, tasks"): what needs
 * the caller's action, most urgent first, with counts for the menu.
 *
 * Need to know decides, as for the notes themselves: the caller's own
 * units are the unit they are placed in and the units they lead (a lead
 * counts as a member); a lead of a unit above reads notes masked but acts
 * on none, so nothing below is a task for them. The kinds:
 *   to_receive  submitted or received notes waiting for the receiving
 *               unit's decision (accept, return, forward): one's own unit
 *               receives them;
 *   to_fix      returned notes one's own unit sent: it must fix and send
 *               them again;
 *   drafts      one's own drafts (not a colleague's), not deleted;
 *   due_soon    any other open note of one's own units (sent and waiting,
 *               or returned and waiting for the sender) whose date falls
 *               within the horizon or is past;
 *   notice_to_acknowledge  open notices (varsler) one's own unit receives:
 *               it acknowledges them (due: the expected date; the query's
 *               rows with status "notice");
 *   notice_milestone  the next milestone not done (handover/notice.c: the
 *               route's legal milestones, the note sent, the handover) of
 *               an open or acknowledged notice one's own unit sends or that
 *               names the caller as receiver, when it falls within the
 *               horizon or is past (rows with status "milestone"); one per
 *               notice, counted in due_soon.
 * Each note is one item, of the first kind that applies (to_fix,
 * to_receive, drafts, due_soon). Its `due` is the earliest of: the
 * planned handover date; for to_receive the decision deadline (sent +
 * the undecided reminder's working days), for to_fix the fix deadline
 * (returned + the returned reminder's working days); on routes with
 * months_before_18 (BUR-H) the 18th birthday. The horizon is today plus
 * HORIZON working days (workdays.c, with the configured days off);
 * counts.due_soon counts every item, of any kind, due within it or past.
 * Order: items due within the horizon first, earliest (most overdue)
 * first; then to_fix, to_receive, drafts, each earliest due first
 * (undated last), then the longest waiting first (drafts: the newest
 * change first). At most ITEMS_MAX items; the counts count all.
 *
 * Titles are short Danish phrases with unit names, never the citizen's
 * name or CPR number. One query reads the candidate notes.
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
#include "notice.h"
#include "api.h"

#define HORIZON   10   /* working days */
#define ITEMS_MAX 200  /* items in the answer */
#define ROWS_MAX  5000 /* candidate notes read */

enum task_kind { T_FIX, T_RECEIVE, T_DRAFT, T_NOTICE, T_MILESTONE, T_DUE, T_NKINDS };

static const char *const kind_names[T_NKINDS] = {
    "to_fix", "to_receive", "drafts", "notice_to_acknowledge", "notice_milestone", "due_soon"};

struct task {
	enum task_kind kind;
	int row;
	char due[11]; /* "" when none */
	enum { DUE_NONE, DUE_PLANNED, DUE_DECIDE, DUE_FIX, DUE_18 } due_what;
	bool urgent;
	long long updated;
	char label[160]; /* notice_milestone: the milestone's label and law */
};

struct tasks_ctx {
	struct http_request *req;
	int me;
	char today[11], horizon[11];
	unsigned off;
};

/* Columns of the query. */
enum {
	C_ID,
	C_REF,
	C_ROUTE,
	C_STATUS,
	C_SENDER_UNIT,
	C_RECEIVER_UNIT,
	C_SENDER_PERSON,
	C_PLANNED,
	C_BIRTHDATE,
	C_SUBMITTED,
	C_DECIDED,
	C_UPDATED,
	C_DONE, /* a notice's milestones_done (JSON), for the "milestone" rows */
};

static const char *
col(PGresult *res, int i, int c)
{
	return PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
}

/* One element of a PostgreSQL text[] literal being built in b. */
static void
literal_add(struct evbuffer *b, const char *v, bool *first)
{
	evbuffer_add(b, *first ? "\"" : ",\"", *first ? 1 : 2);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			evbuffer_add(b, "\\", 1);
		evbuffer_add(b, v, 1);
	}
	evbuffer_add(b, "\"", 1);
	*first = false;
}

/* The literal's text (the caller frees it); b is freed. */
static char *
literal_end(struct evbuffer *b)
{
	char *out;
	evbuffer_add(b, "}", 2); /* with the NUL */
	out = xstrdup((const char *)evbuffer_pullup(b, -1));
	evbuffer_free(b);
	return out;
}

/* The units a person acts for: their own and those they lead, as a
 * PostgreSQL text[] literal. The caller frees it. */
static char *
member_units_array(const struct dir_snapshot *s, int me)
{
	struct evbuffer *b = evbuffer_new();
	bool first = true;

	evbuffer_add(b, "{", 1);
	for (size_t u = 0; me != DIR_NONE && u < s->nunits; u++)
		if (access_member_of(s, me, s->units[u].code))
			literal_add(b, s->units[u].code, &first);
	return literal_end(b);
}

/* The routes whose notes are due by the 18th birthday (months_before_18),
 * as a text[] literal. The caller frees it. */
static char *
routes_18_array(const struct ho_route_set *set)
{
	struct evbuffer *b = evbuffer_new();
	bool first = true;

	evbuffer_add(b, "{", 1);
	for (size_t i = 0; set && i < set->n; i++)
		if (set->v[i].nmonths_before_18)
			literal_add(b, set->v[i].code, &first);
	return literal_end(b);
}

/* Lowers t's due to date when it is earlier. */
static void
due_min(struct task *t, const char *date, int what)
{
	if (date == NULL || *date == '\0')
		return;
	if (*t->due == '\0' || strcmp(date, t->due) < 0) {
		snprintf(t->due, sizeof(t->due), "%s", date);
		t->due_what = what;
	}
}

/* The Copenhagen date N working days after an epoch, into out ("" on error). */
static void
deadline_after(const char *epoch, int days, unsigned off, char out[11])
{
	char day[11];
	*out = '\0';
	if (epoch == NULL)
		return;
	clock_date_copenhagen((time_t)strtoll(epoch, NULL, 10), day);
	if (workdays_add(day, days, off, out) == -1)
		*out = '\0';
}

/* The kind and due date of row i for the caller; false when it is no task. */
/* A notice's next milestone not done, when within the horizon or past
 * (the query reads only the notices its sending unit's members and its
 * named receiver see to). */
static bool
milestone_task(const struct tasks_ctx *ctx, const struct ho_route *r, PGresult *res, int i,
               struct task *t)
{
	json_t *row, *list, *m;
	size_t k;
	bool found = false;

	if (r == NULL)
		return false;
	row = json_pack("{s:{s:s?}, s:s?, s:o}", "citizen", "birthdate", col(res, i, C_BIRTHDATE),
	                "expected_date", col(res, i, C_PLANNED), "milestones_done",
	                col(res, i, C_DONE) ? json_loads(col(res, i, C_DONE), 0, NULL)
	                                    : json_array());
	if (row == NULL)
		return false;
	list = notice_milestones(r, row, ctx->off);
	json_array_foreach (list, k, m) {
		const char *law = json_string_value(json_object_get(m, "law"));
		if (json_is_true(json_object_get(m, "done")))
			continue;
		snprintf(t->due, sizeof(t->due), "%s",
		         json_string_value(json_object_get(m, "due")));
		snprintf(t->label, sizeof(t->label), law ? "%s (%s)" : "%s%s",
		         json_string_value(json_object_get(m, "label")), law ? law : "");
		found = true;
		break;
	}
	json_decref(list);
	json_decref(row);
	if (!found || strcmp(t->due, ctx->horizon) > 0)
		return false;
	t->kind = T_MILESTONE;
	t->urgent = true;
	return true;
}

static bool
classify(const struct tasks_ctx *ctx, const struct dir_snapshot *s, const struct ho_route_set *set,
         PGresult *res, int i, struct task *t)
{
	const struct config *c = config_current();
	const char *status = col(res, i, C_STATUS), *born = col(res, i, C_BIRTHDATE);
	const char *sender_person = col(res, i, C_SENDER_PERSON);
	bool sender = access_member_of(s, ctx->me, col(res, i, C_SENDER_UNIT));
	bool receiver = access_member_of(s, ctx->me, col(res, i, C_RECEIVER_UNIT));
	const struct ho_route *r = set ? routes_find_any(set, col(res, i, C_ROUTE)) : NULL;
	bool waiting = strcmp(status, "submitted") == 0 || strcmp(status, "received") == 0;
	char d[11];

	memset(t, 0, sizeof(*t));
	t->row = i;
	t->updated = strtoll(col(res, i, C_UPDATED), NULL, 10);
	if (strcmp(status, "notice") == 0) {
		/* an open notice (notices.c) one's own unit receives */
		if (!receiver)
			return false;
		t->kind = T_NOTICE;
		due_min(t, col(res, i, C_PLANNED), DUE_PLANNED);
		t->urgent = *t->due && strcmp(t->due, ctx->horizon) <= 0;
		return true;
	}
	if (strcmp(status, "milestone") == 0)
		return milestone_task(ctx, r, res, i, t);
	if (strcmp(status, "returned") == 0 && sender) {
		t->kind = T_FIX;
		deadline_after(col(res, i, C_DECIDED),
		               r && r->returned_days ? r->returned_days
		                                     : (c ? c->reminder_returned_days : 5),
		               ctx->off, d);
		due_min(t, d, DUE_FIX);
	} else if (waiting && receiver) {
		t->kind = T_RECEIVE;
		deadline_after(col(res, i, C_SUBMITTED),
		               r && r->undecided_days ? r->undecided_days
		                                      : (c ? c->reminder_undecided_days : 5),
		               ctx->off, d);
		due_min(t, d, DUE_DECIDE);
	} else if (strcmp(status, "draft") == 0 && sender && sender_person &&
	           strcmp(sender_person, ctx->req->auth.person_id) == 0) {
		t->kind = T_DRAFT;
	} else if ((waiting || strcmp(status, "returned") == 0) && (sender || receiver)) {
		t->kind = T_DUE;
	} else {
		return false;
	}
	due_min(t, col(res, i, C_PLANNED), DUE_PLANNED);
	if (r && r->nmonths_before_18 && born && checks_date_add_months(born, 18 * 12, d) == 0)
		due_min(t, d, DUE_18);
	t->urgent = *t->due && strcmp(t->due, ctx->horizon) <= 0;
	return t->kind != T_DUE || t->urgent;
}

static int
task_cmp(const void *a, const void *b)
{
	const struct task *x = a, *y = b;
	int c;

	if (x->urgent != y->urgent)
		return x->urgent ? -1 : 1;
	if (x->urgent && (c = strcmp(x->due, y->due)) != 0)
		return c;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	if ((*x->due == '\0') != (*y->due == '\0'))
		return *x->due ? -1 : 1;
	if ((c = strcmp(x->due, y->due)) != 0)
		return c;
	if (x->updated != y->updated)
		return (x->updated < y->updated) == (x->kind != T_DRAFT) ? -1 : 1;
	return x->row - y->row;
}

/* Calendar days from a to b (YYYY-MM-DD each); 0 on a bad date. */
static int
days_between(const char *a, const char *b)
{
	struct tm ta = {0}, tb = {0};

	if (sscanf(a, "%4d-%2d-%2d", &ta.tm_year, &ta.tm_mon, &ta.tm_mday) != 3 ||
	    sscanf(b, "%4d-%2d-%2d", &tb.tm_year, &tb.tm_mon, &tb.tm_mday) != 3)
		return 0;
	ta.tm_year -= 1900, tb.tm_year -= 1900;
	ta.tm_mon--, tb.tm_mon--;
	return (int)((timegm(&tb) - timegm(&ta)) / 86400);
}

/* "om 3 arbejdsdage", "i dag", "for 2 arbejdsdage siden" into out; in
 * calendar days when no working day lies between (a weekend, a holiday). */
static void
when_text(const struct tasks_ctx *ctx, const char *due, char *out, size_t n)
{
	int c = strcmp(due, ctx->today);
	int wd = c > 0 ? workdays_between(ctx->today, due, ctx->off)
	               : workdays_between(due, ctx->today, ctx->off);
	int d = days_between(c > 0 ? ctx->today : due, c > 0 ? due : ctx->today);
	const char *unit = wd > 0 ? "arbejdsdag" : "dag";
	int k = wd > 0 ? wd : d;

	if (c == 0 || k <= 0)
		snprintf(out, n, "i dag");
	else if (c > 0)
		snprintf(out, n, "om %d %s%s", k, unit, k == 1 ? "" : "e");
	else
		snprintf(out, n, "for %d %s%s siden", k, unit, k == 1 ? "" : "e");
}

static const char *
unit_name(const struct dir_snapshot *s, const char *code)
{
	int u = code ? dir_lookup_unit(s, code) : DIR_NONE;
	if (u == DIR_NONE)
		return "en enhed, der ikke længere findes";
	return s->units[u].name && *s->units[u].name ? s->units[u].name : code;
}

/* The item's Danish title: what to do, with unit names; no citizen. */
static void
title_of(const struct tasks_ctx *ctx, const struct dir_snapshot *s, PGresult *res,
         const struct task *t, char *out, size_t n)
{
	const char *from = unit_name(s, col(res, t->row, C_SENDER_UNIT));
	const char *to = unit_name(s, col(res, t->row, C_RECEIVER_UNIT));
	char when[64];

	switch (t->kind) {
	case T_FIX:
		snprintf(out, n, "Ret notatet, som %s har sendt retur", to);
		break;
	case T_RECEIVE:
		if (strcmp(col(res, t->row, C_STATUS), "submitted") == 0)
			snprintf(out, n, "Modtag overdragelse fra %s", from);
		else
			snprintf(out, n, "Tag stilling til overdragelse fra %s", from);
		break;
	case T_DRAFT:
		snprintf(out, n, "Kladde til %s", to);
		break;
	case T_NOTICE:
		snprintf(out, n, "Kvittér for varsel fra %s", from);
		break;
	case T_MILESTONE:
		when_text(ctx, t->due, when, sizeof(when));
		snprintf(out, n, "Milepæl: %s, %s", t->label, when);
		break;
	default:
		when_text(ctx, t->due, when, sizeof(when));
		if (t->due_what == DUE_18)
			snprintf(out, n, "Afgørelse inden 18-årsdagen %s", when);
		else if (strcmp(t->due, ctx->today) < 0)
			snprintf(out, n, "Planlagt overdragelse var %s", when);
		else
			snprintf(out, n, "Planlagt overdragelse %s", when);
		break;
	}
}

static void
tasks_answer(struct tasks_ctx *ctx, PGresult *res)
{
	const struct dir_snapshot *s = dir_sync_current();
	int n = PQntuples(res), ntasks = 0, counts[T_NKINDS] = {0}, due_soon = 0;
	struct task *tasks = xcalloc((size_t)n + 1, sizeof(*tasks));
	json_t *items = json_array();
	char title[300];

	for (int i = 0; s && i < n; i++) {
		if (!classify(ctx, s, routes_current(), res, i, &tasks[ntasks]))
			continue;
		counts[tasks[ntasks].kind]++;
		due_soon += tasks[ntasks].urgent;
		ntasks++;
	}
	qsort(tasks, (size_t)ntasks, sizeof(*tasks), task_cmp);
	for (int k = 0; k < ntasks && k < ITEMS_MAX; k++) {
		const struct task *t = &tasks[k];
		title_of(ctx, s, res, t, title, sizeof(title));
		json_array_append_new(
		    items, json_pack("{s:s, s:s, s:s, s:s, s:o, s:s}", "kind", kind_names[t->kind],
		                     t->kind == T_NOTICE || t->kind == T_MILESTONE ? "notice_id"
		                                                                   : "handover_id",
		                     col(res, t->row, C_ID), "ref", col(res, t->row, C_REF),
		                     "route", col(res, t->row, C_ROUTE), "due",
		                     *t->due ? json_string(t->due) : json_null(), "title", title));
	}
	free(tasks);
	http_respond_json(ctx->req, 200,
	                  json_pack("{s:{s:i, s:i, s:i, s:i, s:i}, s:o}", "counts", "to_receive",
	                            counts[T_RECEIVE], "to_fix", counts[T_FIX], "drafts",
	                            counts[T_DRAFT], "due_soon", due_soon, "notices_to_acknowledge",
	                            counts[T_NOTICE], "items", items));
}

static void
tasks_read(PGresult *res, const char *error, void *arg)
{
	struct tasks_ctx *ctx = arg;

	if (error || res == NULL)
		answer_db_error(ctx->req, error);
	else
		tasks_answer(ctx, res);
	free(ctx);
}

/*
 * The candidates: waiting notes the caller's units receive, returned notes
 * they sent, the caller's own drafts, and the units' other open notes with
 * a planned date or, on the routes in $5 (BUR-H), an 18th birthday within
 * the horizon or past.
 */
static const char tasks_sql[] =
    "SELECT h.id, h.ref, h.route, h.status, h.sender_unit, h.receiver_unit, h.sender_person, "
    "h.planned_date, h.birthdate, extract(epoch FROM h.submitted_at)::bigint, "
    "extract(epoch FROM h.decided_at)::bigint, "
    "(extract(epoch FROM h.updated_at) * 1000000)::bigint, NULL::text FROM handovers h "
    "WHERE h.deleted_at IS NULL AND ("
    "(h.receiver_unit = ANY($1::text[]) AND h.status IN ('submitted', 'received')) "
    "OR (h.sender_unit = ANY($1::text[]) AND h.status = 'returned') "
    "OR (h.sender_unit = ANY($1::text[]) AND h.status = 'draft' AND h.sender_person = $2) "
    "OR ((h.sender_unit = ANY($1::text[]) OR h.receiver_unit = ANY($1::text[])) "
    "AND h.status IN ('submitted', 'received', 'returned') AND (h.planned_date <= $3::date "
    "OR (h.route = ANY($5::text[]) AND h.birthdate <= $3::date - interval '18 years')))) "
    /* the open notices the units receive (migration 0013) */
    "UNION ALL SELECT n.id, n.ref, n.route, 'notice', n.sender_unit, n.receiver_unit, "
    "n.sender_person, n.expected_date, n.birthdate, NULL, NULL, "
    "(extract(epoch FROM n.updated_at) * 1000000)::bigint, NULL FROM notices n "
    "WHERE n.receiver_unit = ANY($1::text[]) AND n.status = 'open' "
    /* the notices whose milestones the units (or the named receiver) see to */
    "UNION ALL SELECT n.id, n.ref, n.route, 'milestone', n.sender_unit, n.receiver_unit, "
    "n.sender_person, n.expected_date, n.birthdate, NULL, NULL, "
    "(extract(epoch FROM n.updated_at) * 1000000)::bigint, n.milestones_done::text "
    "FROM notices n WHERE n.status IN ('open', 'acknowledged') "
    "AND (n.sender_unit = ANY($1::text[]) OR n.receiver_person = $2) "
    "ORDER BY 12 LIMIT $4::int";

void
api_me_tasks(struct http_request *req)
{
	static const char *const no_params[] = {NULL};
	const struct dir_snapshot *s;
	const struct config *c = config_current();
	struct tasks_ctx *ctx;
	char *units, *routes18, limit[16];

	if (!http_query_check(req, no_params))
		return;
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->req = req;
	ctx->me = auth_person(req);
	if (c == NULL || workdays_days_off(c->days_off, &ctx->off) == -1)
		ctx->off = 0;
	clock_today(ctx->today);
	if (workdays_add(ctx->today, HORIZON, ctx->off, ctx->horizon) == -1)
		snprintf(ctx->horizon, sizeof(ctx->horizon), "%s", ctx->today);
	units = member_units_array(s, ctx->me);
	routes18 = routes_18_array(routes_current());
	snprintf(limit, sizeof(limit), "%d", ROWS_MAX);
	const char *params[5] = {units, req->auth.person_id, ctx->horizon, limit, routes18};
	if (db_query(tasks_sql, 5, params, tasks_read, ctx) == -1) {
		answer_db_error(req, "unavailable");
		free(ctx);
	}
	free(units);
	free(routes18);
}

/*
 * routes.c: the handover routes, as data. They live in PostgreSQL (table
 * routes, migration 0003), seeded from schema/routes/ (one JSON file a route); operators
 * change them with `stafetd --import-routes FILE...` or SQL. The daemon
 * reads the table at start, every routes_reload_interval and on SIGHUP,
 * checks every row (a bad one is left out and logged, the others stay in
 * force), and publishes an immutable set that requests share by reference.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "stafetd.h"
#include "handover.h"
#include "notice.h"

static const char *const kinds[] = {"birthday", "surname", "district", "target_group", NULL};

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void
routes_clear(struct ho_route *r)
{
	free(r->code);
	free(r->name);
	free(r->from_unit);
	free(r->to_unit);
	free(r->template);
	free(r->kle);
	json_decref(r->rules);
	for (size_t i = 0; i < r->nallocation; i++)
		free(r->allocation[i]);
	free(r->allocation);
	free(r->placed_target_group);
	free(r->labour_market);
	free(r->pension);
	memset(r, 0, sizeof(*r));
}

/* As the table's CHECK: 1-32 letters (A-Z, Æ, Ø, Å either case), digits,
 * '-' or '_', not starting with '-' or '_'. */
static bool
code_ok(const char *s)
{
	size_t chars = 0;

	if (*s == '-' || *s == '_')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++, chars++) {
		if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= 'a' && *p <= 'z') || *p == '-' || *p == '_')
			continue;
		/* Æ Ø Å æ ø å: C3 86, C3 98, C3 85, C3 A6, C3 B8, C3 A5 */
		if (p[0] == 0xC3 && p[1] && strchr("\x86\x98\x85\xA6\xB8\xA5", p[1])) {
			p++;
			continue;
		}
		return false;
	}
	return chars >= 1 && chars <= 32;
}

/* "NN", "NN.NN" or "NN.NN.NN" */
static bool
kle_ok(const char *s)
{
	size_t n = strlen(s);
	if (n != 2 && n != 5 && n != 8)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((i % 3 == 2) ? s[i] != '.' : (s[i] < '0' || s[i] > '9'))
			return false;
	return true;
}

/* A string member, NULL member or absent; -1 for another type. */
static int
opt_string(json_t *doc, const char *key, const char **out)
{
	json_t *v = json_object_get(doc, key);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

static int fail(char *err, size_t errsz, const char *fmt, ...) PRINTFLIKE(3, 4);

static int
fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

/* The first key of obj not in allowed (NULL-terminated), or NULL. */
static const char *
unknown_key(json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach (obj, key, v) {
		bool ok = false;
		(void)v;
		for (size_t i = 0; allowed[i]; i++)
			ok = ok || strcmp(key, allowed[i]) == 0;
		if (!ok)
			return key;
	}
	return NULL;
}

/*
 * rules.reminders: {"undecided_days", "returned_days", "draft_days": working
 * days (1-365), "months_before_18": [months, ...] (1-24, at most 4)}; each
 * optional (0: the configured default; no months: none).
 */
static int
reminders_from_json(json_t *rem, struct ho_route *r, char *err, size_t errsz)
{
	static const char *const allowed[] = {"undecided_days", "returned_days", "draft_days",
	                                      "months_before_18", NULL};
	static const char *const days[] = {"undecided_days", "returned_days", "draft_days"};
	int *slots[] = {&r->undecided_days, &r->returned_days, &r->draft_days};
	const char *key;
	json_t *v, *m;
	size_t i;

	if (rem == NULL || json_is_null(rem))
		return 0;
	if (!json_is_object(rem))
		return fail(err, errsz, "%s must be an object", "rules.reminders");
	if ((key = unknown_key(rem, allowed)) != NULL)
		return fail(err, errsz, "rules.reminders: unknown key '%.64s'", key);
	for (i = 0; i < 3; i++) {
		v = json_object_get(rem, days[i]);
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 365)
			return fail(err, errsz, "rules.reminders.%s must be a whole number 1-365",
			            days[i]);
		*slots[i] = (int)json_integer_value(v);
	}
	m = json_object_get(rem, "months_before_18");
	if (m && !json_is_null(m)) {
		if (!json_is_array(m) || json_array_size(m) > 4)
			return fail(err, errsz, "%s must be a list of at most 4 numbers",
			            "rules.reminders.months_before_18");
		json_array_foreach (m, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 24)
				return fail(err, errsz, "%s must hold whole numbers 1-24",
				            "rules.reminders.months_before_18");
			r->months_before_18[r->nmonths_before_18++] = (int)json_integer_value(v);
		}
	}
	return 0;
}

/* rules.ages: [min, max], whole years 0-130, min <= max; absent: no window. */
static int
ages_from_json(json_t *ages, struct ho_route *r, char *err, size_t errsz)
{
	json_t *lo, *hi;

	r->age_min = r->age_max = -1;
	if (ages == NULL || json_is_null(ages))
		return 0;
	lo = json_array_get(ages, 0);
	hi = json_array_get(ages, 1);
	if (!json_is_array(ages) || json_array_size(ages) != 2 || !json_is_integer(lo) ||
	    !json_is_integer(hi) || json_integer_value(lo) < 0 || json_integer_value(hi) > 130 ||
	    json_integer_value(lo) > json_integer_value(hi))
		return fail(err, errsz, "%s must be [min, max], whole years 0-130, min <= max",
		            "rules.ages");
	r->age_min = (int)json_integer_value(lo);
	r->age_max = (int)json_integer_value(hi);
	return 0;
}

/*
 * rules.tie_break: the steps that settle equal colleagues, in order, each
 * at most once; rotation is added at the end when missing (one answer
 * needs a last step that always decides). Absent: continuity, load,
 * rotation. rules.intake: true sends new cases to the unit's intake.
 */
static int
ties_from_json(json_t *rules, struct ho_route *r, char *err, size_t errsz)
{
	static const char *const steps[] = {"continuity", "load", "rotation"};
	json_t *list = json_object_get(rules, "tie_break"), *v, *in;
	bool seen[3] = {false, false, false};
	size_t i;

	in = json_object_get(rules, "intake");
	if (in && !json_is_null(in) && !json_is_boolean(in))
		return fail(err, errsz, "%s must be true or false", "rules.intake");
	r->intake = in && json_is_true(in);
	r->ntie_break = 0;
	if (list == NULL || json_is_null(list)) {
		for (i = 0; i < 3; i++)
			r->tie_break[r->ntie_break++] = (int)i;
		return 0;
	}
	if (!json_is_array(list) || json_array_size(list) > 3)
		return fail(err, errsz, "%s must be a list of continuity, load, rotation",
		            "rules.tie_break");
	json_array_foreach (list, i, v) {
		int k = -1;
		for (int j = 0; j < 3 && json_is_string(v); j++)
			if (strcmp(json_string_value(v), steps[j]) == 0)
				k = j;
		if (k < 0 || seen[k])
			return fail(err, errsz,
			            "%s must name continuity, load and rotation, each at most once",
			            "rules.tie_break");
		seen[k] = true;
		r->tie_break[r->ntie_break++] = k;
	}
	if (!seen[2])
		r->tie_break[r->ntie_break++] = 2;
	return 0;
}

static int
rules_from_json(json_t *rules, struct ho_route *r, char *err, size_t errsz)
{
	static const char *const allowed[] = {
	    "allocation", "placed_target_group", "myndighedssnit", "reminders",
	    "ages",       "tie_break",           "intake",         "milestones",
	    NULL};
	const char *key, *s;
	json_t *alloc, *snit;

	if (!json_is_object(rules))
		return fail(err, errsz, "%s must be an object", "rules");
	if ((key = unknown_key(rules, allowed)) != NULL)
		return fail(err, errsz, "rules: unknown key '%.64s'", key);
	if ((alloc = json_object_get(rules, "allocation")) != NULL) {
		size_t i;
		json_t *v;
		if (!json_is_array(alloc))
			return fail(err, errsz, "%s must be a list of kinds", "rules.allocation");
		r->allocation = xcalloc(json_array_size(alloc) + 1, sizeof(char *));
		json_array_foreach (alloc, i, v) {
			bool known = false;
			if (!json_is_string(v))
				return fail(err, errsz, "%s must hold strings", "rules.allocation");
			for (size_t k = 0; kinds[k]; k++)
				known = known || strcmp(json_string_value(v), kinds[k]) == 0;
			if (!known)
				return fail(
				    err, errsz,
				    "rules.allocation: unknown kind '%.64s' (known: " HO_ROUTE_KINDS
				    ")",
				    json_string_value(v));
			r->allocation[r->nallocation++] = xstrdup(json_string_value(v));
		}
	}
	if (opt_string(rules, "placed_target_group", &s) == -1)
		return fail(err, errsz, "%s must be a string", "rules.placed_target_group");
	r->placed_target_group = s && *s ? xstrdup(s) : NULL;
	if ((snit = json_object_get(rules, "myndighedssnit")) != NULL && !json_is_null(snit)) {
		const char *lm, *pe;
		if (!json_is_object(snit) || json_object_size(snit) != 2 ||
		    opt_string(snit, "labour_market", &lm) == -1 ||
		    opt_string(snit, "pension", &pe) == -1 || !lm || !pe || !*lm || !*pe)
			return fail(err, errsz,
			            "%s must be {\"labour_market\": DEPT, \"pension\": DEPT}",
			            "rules.myndighedssnit");
		r->labour_market = xstrdup(lm);
		r->pension = xstrdup(pe);
	}
	if (reminders_from_json(json_object_get(rules, "reminders"), r, err, errsz) == -1)
		return -1;
	if (ages_from_json(json_object_get(rules, "ages"), r, err, errsz) == -1)
		return -1;
	/* notices' milestones (notice.c): read from r->rules where needed */
	if (notice_milestones_check(json_object_get(rules, "milestones"), err, errsz) == -1)
		return -1;
	return ties_from_json(rules, r, err, errsz);
}

/*
 * A route from its JSON form (the seed files, --import-routes, and the
 * table's rows). Returns 0, or -1 with err saying what is wrong (English:
 * for the operator).
 */
int
routes_from_json(json_t *doc, struct ho_route *r, char *err, size_t errsz)
{
	static const char *const allowed[] = {
	    "code", "name",  "from_unit", "to_unit", "template", "template_version",
	    "kle",  "rules", "enabled",   NULL};
	const char *code, *name, *from, *to, *tmpl, *kle, *key;
	json_t *v, *rules;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(doc))
		return fail(err, errsz, "%s", "a route must be a JSON object");
	if ((key = unknown_key(doc, allowed)) != NULL)
		return fail(err, errsz, "unknown key '%.64s'", key);
	if (opt_string(doc, "code", &code) == -1 || code == NULL || !code_ok(code))
		return fail(err, errsz, "%s: 1-32 letters (A-Z, Æ, Ø, Å), digits, '-' or '_'",
		            "code");
	if (opt_string(doc, "name", &name) == -1 || name == NULL || !*name || strlen(name) > 200)
		return fail(err, errsz, "%s: 1-200 characters", "name");
	if (opt_string(doc, "from_unit", &from) == -1 || (from && (!*from || strlen(from) > 64)))
		return fail(err, errsz, "%s: a unit code or null", "from_unit");
	if (opt_string(doc, "to_unit", &to) == -1 || (to && (!*to || strlen(to) > 64)))
		return fail(err, errsz, "%s: a unit code or null", "to_unit");
	if (opt_string(doc, "template", &tmpl) == -1 || tmpl == NULL || !*tmpl || strlen(tmpl) > 64)
		return fail(err, errsz, "%s: 1-64 characters", "template");
	if (opt_string(doc, "kle", &kle) == -1 || (kle && !kle_ok(kle)))
		return fail(err, errsz, "%s: a KLE number (NN, NN.NN or NN.NN.NN) or null", "kle");
	r->template_version = 1;
	if ((v = json_object_get(doc, "template_version")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 1000000)
			return fail(err, errsz, "%s: a positive integer", "template_version");
		r->template_version = (int)json_integer_value(v);
	}
	r->enabled = true;
	if ((v = json_object_get(doc, "enabled")) != NULL) {
		if (!json_is_boolean(v))
			return fail(err, errsz, "%s: true or false", "enabled");
		r->enabled = json_is_true(v);
	}
	rules = json_object_get(doc, "rules");
	if (rules == NULL || json_is_null(rules))
		rules = json_object();
	else
		json_incref(rules);
	r->rules = rules;
	if (rules_from_json(rules, r, err, errsz) == -1) {
		routes_clear(r);
		return -1;
	}
	r->code = xstrdup(code);
	r->name = xstrdup(name);
	r->from_unit = dup_or_null(from);
	r->to_unit = dup_or_null(to);
	r->template = xstrdup(tmpl);
	r->kle = dup_or_null(kle);
	return 0;
}

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The route as GET /routes and --export-routes show it. */
json_t *
routes_to_json(const struct ho_route *r)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:s, s:i, s:o, s:O, s:b}", "code", r->code, "name",
	                 r->name, "from_unit", str_or_null(r->from_unit), "to_unit",
	                 str_or_null(r->to_unit), "template", r->template, "template_version",
	                 r->template_version, "kle", str_or_null(r->kle), "rules", r->rules,
	                 "enabled", r->enabled);
}

/* What resolution needs of the route; points into it. */
void
routes_resolve_view(const struct ho_route *r, struct resolve_route *out)
{
	memset(out, 0, sizeof(*out));
	out->code = r->code;
	out->name = r->name;
	out->from_unit = r->from_unit;
	out->to_unit = r->to_unit;
	out->kle = r->kle;
	out->allocation = (const char *const *)r->allocation;
	out->nallocation = r->nallocation;
	out->placed_target_group = r->placed_target_group;
	out->labour_market_department = r->labour_market;
	out->pension_department = r->pension;
	out->has_ages = r->age_min >= 0;
	out->age_min = r->age_min;
	out->age_max = r->age_max;
	for (size_t i = 0; i < r->ntie_break && i < 3; i++)
		out->tie_break[out->ntie_break++] = (enum resolve_step)r->tie_break[i];
	out->intake = r->intake;
}

/* An enabled route by code, case-insensitively; NULL if none. */
const struct ho_route *
routes_find(const struct ho_route_set *set, const char *code)
{
	if (set == NULL || code == NULL)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].enabled && strcasecmp(set->v[i].code, code) == 0)
			return &set->v[i];
	return NULL;
}

/* --- the set in force, and its reloading ---------------------------------- */

static struct {
	struct event_base *base;
	struct event *timer;
	struct ho_route_set *current;
	char *fingerprint; /* the rows of the last load, to log only changes */
	bool loading;
	double interval;
	unsigned long loads, load_errors, bad_rows;
} st;

static void
set_free(struct ho_route_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		routes_clear(&set->v[i]);
	free(set->v);
	for (size_t i = 0; i < set->ntemplates; i++)
		template_free(set->templates[i]);
	free(set->templates);
	free(set);
}

/* A template by code and version; NULL if not loaded. */
const struct ho_template *
routes_template_find(const struct ho_route_set *set, const char *code, int version)
{
	if (set == NULL || code == NULL)
		return NULL;
	for (size_t i = 0; i < set->ntemplates; i++)
		if (template_version_of(set->templates[i]) == version &&
		    strcmp(template_code(set->templates[i]), code) == 0)
			return set->templates[i];
	return NULL;
}

/* The routes in force, or NULL before the first load. Borrowed: valid
 * until the loop runs again (handlers answer synchronously). */
struct ho_route_set *
routes_current(void)
{
	return st.current;
}

#define SELECT_ROUTES                                                                              \
	"SELECT 'r', json_build_object('code', code, 'name', name, 'from_unit', from_unit, "       \
	"'to_unit', to_unit, 'template', template, 'template_version', template_version, "         \
	"'kle', kle, 'rules', rules, 'enabled', enabled)::text FROM routes "                       \
	"UNION ALL SELECT 't', body::text FROM templates ORDER BY 1, 2"

static void arm(double secs);

static void
loaded(PGresult *res, const char *error, void *arg)
{
	struct ho_route_set *set;
	struct evbuffer *fp;
	size_t n, bad = 0;
	char *print;
	(void)arg;

	st.loading = false;
	arm(st.interval);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		st.load_errors++;
		log_warnx("routes: cannot read the routes table: %s%s",
		          error ? error : PQresultErrorMessage(res),
		          st.current ? "; keeping the routes in force" : "");
		return;
	}
	n = (size_t)PQntuples(res);
	fp = evbuffer_new();
	for (size_t i = 0; i < n; i++)
		evbuffer_add_printf(fp, "%s\n", PQgetvalue(res, (int)i, 1));
	evbuffer_add(fp, "", 1);
	print = xstrdup((const char *)evbuffer_pullup(fp, -1));
	evbuffer_free(fp);
	st.loads++;
	if (st.current && st.fingerprint && strcmp(print, st.fingerprint) == 0) {
		free(print);
		return;
	}
	set = xcalloc(1, sizeof(*set));
	set->refs = 1;
	set->v = xcalloc(n ? n : 1, sizeof(*set->v));
	set->loaded_at = clock_wall();
	set->templates = xcalloc(n ? n : 1, sizeof(*set->templates));
	for (size_t i = 0; i < n; i++) {
		json_error_t jerr;
		char err[256];
		json_t *doc = json_loads(PQgetvalue(res, (int)i, 1), 0, &jerr);
		if (doc == NULL) {
			bad++;
			continue;
		}
		if (*PQgetvalue(res, (int)i, 0) == 't') {
			struct ho_template *t = template_parse(doc, err, sizeof(err));
			if (t == NULL) {
				json_t *code = json_object_get(doc, "code");
				log_warnx("routes: template %s left out: %s",
				          json_is_string(code) ? json_string_value(code) : "?",
				          err);
				bad++;
			} else {
				set->templates[set->ntemplates++] = t;
			}
		} else if (routes_from_json(doc, &set->v[set->n], err, sizeof(err)) == -1) {
			json_t *code = json_object_get(doc, "code");
			log_warnx("routes: route %s left out: %s",
			          json_is_string(code) ? json_string_value(code) : "?", err);
			bad++;
		} else {
			set->n++;
		}
		json_decref(doc);
	}
	st.bad_rows = bad;
	if (st.current)
		set_free(st.current);
	st.current = set;
	free(st.fingerprint);
	st.fingerprint = print;
	log_notice("routes: %zu in force, %zu templates%s", set->n, set->ntemplates,
	           bad ? " (some left out; see above)" : "");
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (st.loading)
		return;
	if (db_query(SELECT_ROUTES, 0, NULL, loaded, NULL) == -1) {
		/* No database yet: try again soon, not after a whole interval. */
		arm(st.current ? st.interval : 0.2);
		return;
	}
	st.loading = true;
}

static void
arm(double secs)
{
	struct timeval tv = clock_timeval(secs);
	if (st.timer)
		evtimer_add(st.timer, &tv);
}

void
routes_start(struct event_base *base, const struct config *cfg)
{
	st.base = base;
	st.interval = cfg->routes_reload_interval;
	st.timer = evtimer_new(base, tick, NULL);
	if (st.timer == NULL)
		fatalx("routes: evtimer_new");
	arm(0.0);
}

void
routes_reconfigure(const struct config *cfg)
{
	st.interval = cfg->routes_reload_interval;
	routes_reload();
}

/* Reads the table again now (SIGHUP). */
void
routes_reload(void)
{
	if (st.timer && !st.loading) {
		evtimer_del(st.timer);
		arm(0.0);
	}
}

void
routes_stop(void)
{
	if (st.timer)
		event_free(st.timer);
	if (st.current)
		set_free(st.current);
	free(st.fingerprint);
	memset(&st, 0, sizeof(st));
}

void
routes_metrics_render(struct evbuffer *b)
{
	evbuffer_add_printf(b,
	                    "# HELP stafet_routes Routes in force.\n"
	                    "# TYPE stafet_routes gauge\n"
	                    "stafet_routes %zu\n"
	                    "# HELP stafet_routes_left_out Rows of the routes table that failed "
	                    "their checks at the last load.\n"
	                    "# TYPE stafet_routes_left_out gauge\n"
	                    "stafet_routes_left_out %lu\n"
	                    "# HELP stafet_routes_load_errors_total Failed reads of the routes "
	                    "table.\n"
	                    "# TYPE stafet_routes_load_errors_total counter\n"
	                    "stafet_routes_load_errors_total %lu\n",
	                    st.current ? st.current->n : 0, st.bad_rows, st.load_errors);
}

/* --- seeding, import and export (blocking libpq: no loop runs) ------------ */

#define UPSERT_ROUTE                                                                               \
	"INSERT INTO routes (code, name, from_unit, to_unit, template, template_version, kle, "    \
	"rules, enabled) VALUES ($1, $2, $3, $4, $5, $6::integer, $7, $8::jsonb, $9::boolean) "    \
	"ON CONFLICT (code) DO "

static int
store(PGconn *pg, const struct ho_route *r, bool replace, const char *what)
{
	char ver[16], *rules = json_dumps(r->rules, JSON_COMPACT);
	const char *p[9] = {r->code,    r->name,     r->from_unit,
	                    r->to_unit, r->template, ver,
	                    r->kle,     rules,       r->enabled ? "true" : "false"};
	const char *sql = replace ? UPSERT_ROUTE
	                      "UPDATE SET name = EXCLUDED.name, from_unit = EXCLUDED.from_unit, "
	                      "to_unit = EXCLUDED.to_unit, template = EXCLUDED.template, "
	                      "template_version = EXCLUDED.template_version, kle = EXCLUDED.kle, "
	                      "rules = EXCLUDED.rules, enabled = EXCLUDED.enabled, "
	                      "updated_at = now()"
	                          : UPSERT_ROUTE "NOTHING";
	PGresult *res;
	int rc = 0;

	snprintf(ver, sizeof(ver), "%d", r->template_version);
	res = PQexecParams(pg, sql, 9, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_errx("routes: %s: %s: %s", what, r->code, PQresultErrorMessage(res));
		rc = -1;
	}
	PQclear(res);
	free(rules);
	return rc;
}

/* The shipped routes (the files in schema/routes/), in migration 0003's
 * transaction: a route an operator later deletes stays deleted. */
int
routes_seed(PGconn *pg)
{
	for (size_t i = 0; i < route_seeds_count; i++) {
		json_error_t jerr;
		struct ho_route r;
		char err[256];
		json_t *doc = json_loads(route_seeds[i].text, 0, &jerr);
		int rc;

		if (doc == NULL || routes_from_json(doc, &r, err, sizeof(err)) == -1) {
			log_errx("routes: seed %s: %s", route_seeds[i].name, doc ? err : jerr.text);
			json_decref(doc);
			return -1;
		}
		json_decref(doc);
		rc = store(pg, &r, false, "seed");
		routes_clear(&r);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*
 * The shipped templates (schema/templates/, compiled in), checked as the
 * daemon will check them, then stored where their (code, version) is
 * missing: a stored version is never changed.
 */
int
routes_templates_seed(PGconn *pg)
{
	for (size_t i = 0; i < template_seeds_count; i++) {
		json_error_t jerr;
		char err[256], ver[16];
		json_t *doc = json_loads(template_seeds[i].text, 0, &jerr);
		struct ho_template *t;
		PGresult *r;

		if (doc == NULL || (t = template_parse(doc, err, sizeof(err))) == NULL) {
			log_errx("templates: seed %s: %s", template_seeds[i].name,
			         doc ? err : jerr.text);
			json_decref(doc);
			return -1;
		}
		snprintf(ver, sizeof(ver), "%d", template_version_of(t));
		const char *p[3] = {template_code(t), ver, template_seeds[i].text};
		r = PQexecParams(pg,
		                 "INSERT INTO templates (code, version, body) VALUES ($1, $2, $3) "
		                 "ON CONFLICT (code, version) DO NOTHING",
		                 3, NULL, p, NULL, NULL, 0);
		template_free(t);
		json_decref(doc);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			log_errx("templates: seed %s: %s", template_seeds[i].name,
			         PQresultErrorMessage(r));
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	return 0;
}

static PGconn *
connect_blocking(const struct config *cfg)
{
	PGconn *pg = db_connect_blocking(cfg);

	if (PQstatus(pg) != CONNECTION_OK) {
		log_errx("routes: cannot connect to the database: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

/*
 * `stafetd --import-routes FILE...`: each file holds one route or a list
 * of them (the form --export-routes writes). All are checked first; then
 * they are stored in one transaction, replacing routes of the same code.
 */
int
routes_import(const struct config *cfg, char *const *files, int nfiles)
{
	struct ho_route *v = NULL;
	size_t n = 0, cap = 0;
	int bad = 0, rc = -1;
	PGconn *pg = NULL;

	for (int f = 0; f < nfiles; f++) {
		json_error_t jerr;
		json_t *doc = json_load_file(files[f], JSON_REJECT_DUPLICATES, &jerr), *one;
		size_t i;

		if (doc == NULL) {
			log_errx("routes: %s:%d: %s", files[f], jerr.line, jerr.text);
			bad++;
			continue;
		}
		if (!json_is_array(doc)) {
			json_t *list = json_array();
			json_array_append_new(list, doc);
			doc = list;
		}
		json_array_foreach (doc, i, one) {
			char err[256];
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				v = xrealloc(v, cap * sizeof(*v));
			}
			if (routes_from_json(one, &v[n], err, sizeof(err)) == -1) {
				log_errx("routes: %s: route %zu: %s", files[f], i + 1, err);
				bad++;
			} else {
				n++;
			}
		}
		json_decref(doc);
	}
	if (bad) {
		log_errx("routes: nothing imported (%d error%s)", bad, bad == 1 ? "" : "s");
		goto out;
	}
	if ((pg = connect_blocking(cfg)) == NULL)
		goto out;
	PQclear(PQexec(pg, "BEGIN"));
	for (size_t i = 0; i < n; i++)
		if (store(pg, &v[i], true, "import") == -1) {
			PQclear(PQexec(pg, "ROLLBACK"));
			goto out;
		}
	{
		PGresult *res = PQexec(pg, "COMMIT");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_errx("routes: import: %s", PQresultErrorMessage(res));
			PQclear(res);
			goto out;
		}
		PQclear(res);
	}
	for (size_t i = 0; i < n; i++)
		printf("imported %s\n", v[i].code);
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		routes_clear(&v[i]);
	free(v);
	if (pg)
		PQfinish(pg);
	return rc;
}

/* `stafetd --export-routes`: every route, as a JSON list on stdout. */
int
routes_export(const struct config *cfg)
{
	PGconn *pg = connect_blocking(cfg);
	PGresult *res;
	json_t *list;
	char *text;

	if (pg == NULL)
		return -1;
	res = PQexec(pg, SELECT_ROUTES);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_errx("routes: export: %s", PQresultErrorMessage(res));
		PQclear(res);
		PQfinish(pg);
		return -1;
	}
	list = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *doc;
		if (*PQgetvalue(res, i, 0) != 'r')
			continue; /* templates are not routes */
		doc = json_loads(PQgetvalue(res, i, 1), 0, NULL);
		if (doc)
			json_array_append_new(list, doc);
	}
	PQclear(res);
	PQfinish(pg);
	text = json_dumps(list, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(list);
	if (text == NULL)
		return -1;
	printf("%s\n", text);
	free(text);
	return 0;
}

/* A route by code, enabled or not (an old note's route may be disabled). */
const struct ho_route *
routes_find_any(const struct ho_route_set *set, const char *code)
{
	if (set == NULL || code == NULL)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].code, code) == 0)
			return &set->v[i];
	return NULL;
}

/*
 * routes.c: GET /api/v1/routes and POST /api/v1/counterparts (API.md).
 * Both answer from memory: the routes in force (routes.c) and the
 * directory snapshot; resolution itself is directory/resolve.c. A CPR
 * number in a request is turned into a birth date, wiped from the parsed
 * body at once, and never stored, logged or echoed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <openssl/evp.h>

#include "stafetd.h"
#include "directory.h"
#include "names.h"
#include "handover.h"
#include "auth.h"
#include "api.h"

#define TEXT_MAX 200 /* surname, district, target group, kle */
#define TIE_IDS  32  /* equal colleagues asked about in one query */

/*
 * The citizen's key for continuity: SHA-256 of the CPR number's ten
 * digits, as PostgreSQL's stafet_citizen_key() makes it from a note
 * (migration 0008), in bytea's hex form. The number itself is wiped as
 * soon as this and the birth date are taken from it.
 */
struct citizen_key {
	char hex[2 + 64 + 1]; /* "\\x..." or "" */
	uint64_t seed;        /* its first 8 bytes: the rotation's seed */
};

static const char *const no_params[] = {NULL};

static void route_names(json_t *, const struct ho_route *);

static struct ho_route_set *
routes_or_fail(struct http_request *req)
{
	struct ho_route_set *set = routes_current();
	if (set == NULL) {
		http_add_header(req, "Retry-After", "5");
		http_problem(req, 503, NULL,
		             "The routes have not been loaded from the database yet.");
	}
	return set;
}

void
api_routes_list(struct http_request *req)
{
	struct ho_route_set *set;
	json_t *items;

	if (!http_query_check(req, no_params))
		return;
	if ((set = routes_or_fail(req)) == NULL)
		return;
	items = json_array();
	for (size_t i = 0; i < set->n; i++) {
		const struct ho_route *r = &set->v[i];
		json_t *o;
		if (!r->enabled)
			continue;
		o = routes_to_json(r);
		json_object_del(o, "enabled");
		route_names(o, r);
		json_array_append_new(items, o);
	}
	http_respond_json(req, 200, json_pack("{s:o}", "items", items));
}

static json_t *
name_or_null(const char *name)
{
	return name ? json_string(name) : json_null();
}

/* A unit's name from the snapshot served now, or NULL. */
static const char *
unit_name(const char *code)
{
	const struct dir_snapshot *s = dir_sync_current();
	int u;

	if (s == NULL || code == NULL || (u = dir_lookup_unit(s, code)) < 0 ||
	    (size_t)u >= s->nunits)
		return NULL;
	return s->units[u].name;
}

/* The Danish names beside the route's codes (not in --export-routes). */
static void
route_names(json_t *o, const struct ho_route *r)
{
	json_object_set_new(o, "from_unit_name", name_or_null(unit_name(r->from_unit)));
	json_object_set_new(o, "to_unit_name", name_or_null(unit_name(r->to_unit)));
	json_object_set_new(o, "kle_name", name_or_null(r->kle ? names_kle(r->kle) : NULL));
	json_object_set_new(o, "placed_target_group_name",
	                    name_or_null(r->placed_target_group
	                                     ? names_target_group(r->placed_target_group)
	                                     : NULL));
}

/* An optional string field of at most TEXT_MAX bytes; false after adding
 * an error to p. */
static bool
text_field(json_t *obj, const char *key, const char *field, json_t *p, const char **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		json_problem_add_error(p, field, "type", "Skal være en tekst.");
		return false;
	}
	if (json_string_length(v) > TEXT_MAX) {
		json_problem_add_error(p, field, "too_long", "Teksten er for lang.");
		return false;
	}
	if (json_string_length(v) > 0)
		*out = json_string_value(v);
	return true;
}

/* kle: NN, NN.NN or NN.NN.NN. */
static void
read_kle(json_t *body, json_t *p, struct resolve_facts *f)
{
	if (text_field(body, "kle", "kle", p, &f->kle) && f->kle) {
		size_t n = strlen(f->kle);
		bool ok = n == 2 || n == 5 || n == 8;
		for (size_t i = 0; ok && i < n; i++)
			ok = (i % 3 == 2) ? f->kle[i] == '.'
			                  : (f->kle[i] >= '0' && f->kle[i] <= '9');
		if (!ok)
			json_problem_add_error(p, "kle", "invalid",
			                       "Et KLE-nummer skrives NN, NN.NN eller NN.NN.NN.");
	}
}

/* The lookup's date: the body's, or today in Copenhagen. */
static void
read_date(json_t *body, json_t *p, struct resolve_facts *f)
{
	json_t *v = json_object_get(body, "date");

	if (v && !json_is_null(v)) {
		if (!json_is_string(v) ||
		    !clock_date_valid(json_string_value(v), json_string_length(v)))
			json_problem_add_error(p, "date", "invalid",
			                       "Datoen skal være en gyldig dato (ÅÅÅÅ-MM-DD).");
		else
			memcpy(f->date, json_string_value(v), 11);
	}
	if (!*f->date)
		clock_today(f->date);
}

/* citizen.birthdate, then citizen.cpr: the birth date they give (they must
 * agree). The CPR number is wiped from the body once read. */
static void
citizen_key_of(const char *cpr, size_t len, struct citizen_key *k)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char digits[10];
	size_t n = 0;

	for (size_t i = 0; i < len && n < sizeof(digits); i++)
		if (cpr[i] >= '0' && cpr[i] <= '9')
			digits[n++] = cpr[i];
	if (n == 10 && EVP_Digest(digits, n, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32) {
		k->hex[0] = '\\';
		k->hex[1] = 'x';
		for (unsigned i = 0; i < 32; i++)
			snprintf(k->hex + 2 + 2 * i, 3, "%02x", md[i]);
		k->seed = 0;
		for (int i = 0; i < 8; i++)
			k->seed = k->seed << 8 | md[i];
	}
	explicit_wipe(digits, sizeof(digits));
	explicit_wipe(md, sizeof(md));
}

static void
read_birth(json_t *citizen, json_t *p, struct resolve_facts *f, struct citizen_key *key)
{
	json_t *v = json_object_get(citizen, "birthdate");
	const char *why = NULL;
	char born[11];
	int rc;

	if (v && !json_is_null(v)) {
		if (!json_is_string(v) ||
		    !clock_date_valid(json_string_value(v), json_string_length(v)))
			json_problem_add_error(
			    p, "citizen.birthdate", "invalid",
			    "Fødselsdatoen skal være en gyldig dato (ÅÅÅÅ-MM-DD).");
		else if (strcmp(json_string_value(v), f->date) > 0)
			json_problem_add_error(p, "citizen.birthdate", "future",
			                       "Fødselsdatoen ligger efter datoen for opslaget.");
		else
			memcpy(f->birthdate, json_string_value(v), 11);
	}
	v = json_object_get(citizen, "cpr");
	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_string(v)) {
		json_problem_add_error(p, "citizen.cpr", "type", "Skal være en tekst.");
		return;
	}
	rc = dir_citizen_birthdate(json_string_value(v), json_string_length(v), born, &why);
	if (rc == 0)
		citizen_key_of(json_string_value(v), json_string_length(v), key);
	/* The number has done its work: gone from memory now. */
	explicit_wipe((char *)(uintptr_t)json_string_value(v), json_string_length(v));
	if (rc == -1)
		json_problem_add_error(p, "citizen.cpr", "invalid", why);
	else if (strcmp(born, f->date) > 0)
		json_problem_add_error(p, "citizen.cpr", "future",
		                       "CPR-nummerets fødselsdato ligger efter datoen for "
		                       "opslaget.");
	else if (*f->birthdate && strcmp(born, f->birthdate) != 0)
		json_problem_add_error(p, "citizen.cpr", "mismatch",
		                       "CPR-nummeret passer ikke med fødselsdatoen.");
	else {
		memcpy(f->birthdate, born, 11);
		f->from_cpr = true;
		f->citizen_seed = key->seed;
		return;
	}
	memset(key, 0, sizeof(*key));
}

/* The citizen's facts but the birth date: texts, placed, employment. */
static void
read_citizen(json_t *citizen, json_t *p, struct resolve_facts *f)
{
	json_t *v;
	const char *s;

	text_field(citizen, "surname", "citizen.surname", p, &f->surname);
	text_field(citizen, "district", "citizen.district", p, &f->district);
	text_field(citizen, "target_group", "citizen.target_group", p, &f->target_group);
	v = json_object_get(citizen, "placed");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v))
			json_problem_add_error(p, "citizen.placed", "type",
			                       "Skal være true eller false.");
		else
			f->placed = json_is_true(v) ? 1 : 0;
	}
	if (text_field(citizen, "employment_status", "citizen.employment_status", p, &s) && s &&
	    (f->employment = dir_citizen_employment_parse(s)) == EMP_UNKNOWN)
		json_problem_add_error(p, "citizen.employment_status", "invalid",
		                       "Ukendt beskæftigelsesstatus; brug job, education, "
		                       "employment_case, education_case, pension_assessment, "
		                       "disability_pension eller old_age_pension.");
}

/* The body's shape: an object with known fields, citizen an object. */
static bool
body_shape_ok(struct http_request *req, json_t *body, json_t **citizen)
{
	static const char *const top[] = {"route", "citizen", "kle", "date", NULL};
	static const char *const cit[] = {
	    "birthdate", "cpr",          "surname",           "placed",
	    "district",  "target_group", "employment_status", NULL};
	json_t *p;

	if (!json_is_object(body)) {
		http_problem(req, 400, NULL, "The request body must be a JSON object.");
		return false;
	}
	if ((p = json_unknown_fields(body, top, NULL)) != NULL) {
		http_problem_json(req, p);
		return false;
	}
	*citizen = json_object_get(body, "citizen");
	if (*citizen && !json_is_object(*citizen)) {
		http_problem(req, 400, NULL, "'citizen' must be a JSON object.");
		return false;
	}
	if (*citizen && (p = json_unknown_fields(*citizen, cit, "citizen.")) != NULL) {
		http_problem_json(req, p);
		return false;
	}
	return true;
}

/*
 * The citizen's facts from the body. Structure errors (unknown fields,
 * wrong types) answer 400, values that cannot be used 422; false when
 * answered.
 */
static bool
read_facts(struct http_request *req, json_t *body, struct resolve_facts *f, const char **code,
           struct citizen_key *key)
{
	json_t *p, *citizen, *v;

	if (!body_shape_ok(req, body, &citizen))
		return false;
	p = json_problem(422, "Uanvendelige oplysninger",
	                 "Oplysningerne kan ikke bruges til at finde modtageren.");
	memset(f, 0, sizeof(*f));
	memset(key, 0, sizeof(*key));
	f->placed = -1;
	f->caller = DIR_NONE;

	v = json_object_get(body, "route");
	if (!json_is_string(v) || json_string_length(v) == 0)
		json_problem_add_error(p, "route", "required", "Angiv en rute.");
	else if (json_string_length(v) > 64)
		json_problem_add_error(p, "route", "unknown", "Ruten findes ikke.");
	else
		*code = json_string_value(v);
	read_kle(body, p, f);
	read_date(body, p, f);
	if (citizen == NULL || json_object_size(citizen) == 0) {
		json_problem_add_error(p, "citizen", "required",
		                       "Angiv mindst én oplysning om borgeren, fx fødselsdato.");
	} else {
		read_birth(citizen, p, f, key);
		read_citizen(citizen, p, f);
	}
	if (json_object_get(p, "errors") != NULL) {
		http_problem_json(req, p);
		return false;
	}
	json_decref(p);
	return true;
}

/*
 * What settles ties, remembered for a moment (DESK_TTL): a query per
 * lookup made every lookup wait for PostgreSQL and cut their rate to a
 * third (demo directory, wrk -c16: 8,825 -> 3,376/s). A colleague's open
 * notes and a citizen's earlier receivers are read by one query for all
 * the equal colleagues, kept here, and used again until they are DESK_TTL
 * old or this daemon writes a note (notes.c calls
 * api_counterparts_changed(), which moves the generation: the next lookup
 * asks again, so a lookup right after a submit here sees it). Another
 * daemon's writes show within DESK_TTL. A citizen is remembered by their
 * key (a SHA-256 of the CPR number, never the number) and wiped by the
 * sweep within a second of going stale.
 */
#define DESK_TTL    1.0 /* seconds */
#define DESK_SLOTS  16384
#define DESK_WAYS   4 /* slots a colleague or a citizen may take */
#define KNOWN_SLOTS 1024
#define ID_KEEP     64

struct desk {
	uint64_t hash; /* fnv of id: compared before the id */
	char id[ID_KEEP];
	int open;
	uint64_t gen;
	double at;
};
struct known {
	char key[2 + 64 + 1]; /* "" free */
	uint64_t ids_hash;    /* the colleagues asked about */
	uint64_t gen;
	double at;
	size_t n;
	char received[TIE_IDS][32]; /* per colleague asked, in order; "" none */
};
static struct desk *desks;
static struct known *knowns;
static uint64_t desk_gen = 1;

static struct event *desk_sweep;
static bool desk_stopped; /* after stop: nothing more is kept */

void
api_counterparts_changed(void)
{
	desk_gen++;
}

/* Every second: a citizen's key is wiped once it is DESK_TTL old, not
 * kept until its slot is wanted again. */
static void
desk_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	double now = clock_mono();

	(void)fd;
	(void)what;
	(void)arg;
	for (size_t i = 0; knowns && i < KNOWN_SLOTS; i++)
		if (*knowns[i].key && (now - knowns[i].at >= DESK_TTL || now < knowns[i].at))
			explicit_wipe(&knowns[i], sizeof(knowns[i]));
}

void
api_counterparts_start(struct event_base *b, const struct config *c)
{
	struct timeval second = {1, 0};

	(void)c;
	if ((desk_sweep = event_new(b, -1, EV_PERSIST, desk_sweep_cb, NULL)) == NULL ||
	    event_add(desk_sweep, &second) == -1)
		fatalx("counterparts: the sweep's timer");
}

void
api_counterparts_stop(void)
{
	desk_stopped = true;
	if (desk_sweep) {
		event_free(desk_sweep);
		desk_sweep = NULL;
	}
	if (knowns)
		explicit_wipe(knowns, KNOWN_SLOTS * sizeof(*knowns));
	free(knowns);
	free(desks);
	knowns = NULL;
	desks = NULL;
}

static uint64_t
fnv(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/*
 * A colleague's entry: the set of DESK_WAYS slots the id hashes to, the one
 * holding it, else (with `take`) the stalest, to be filled; NULL when not
 * there and not taken. Direct-mapped, two groups whose ids met in a slot
 * pushed each other out at every lookup and every lookup asked again.
 */
static struct desk *
desk_slot(const char *id, bool take)
{
	uint64_t h = fnv(id, 14695981039346656037ull);
	struct desk *set, *old;

	if (desks == NULL)
		desks = xcalloc(DESK_SLOTS, sizeof(*desks));
	set = &desks[h % (DESK_SLOTS / DESK_WAYS) * DESK_WAYS];
	old = set;
	for (size_t w = 0; w < DESK_WAYS; w++) {
		if (set[w].hash == h && strcmp(set[w].id, id) == 0)
			return &set[w];
		if (set[w].at < old->at)
			old = &set[w];
	}
	return take ? old : NULL;
}

static uint64_t
ids_hash(const char *const *ids, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++)
		h = fnv(ids[i], h ^ 0xff);
	return h;
}

static struct known *
known_slot(const char *key, bool take)
{
	struct known *set, *old;

	if (knowns == NULL)
		knowns = xcalloc(KNOWN_SLOTS, sizeof(*knowns));
	set = &knowns[fnv(key, 14695981039346656037ull) % (KNOWN_SLOTS / DESK_WAYS) * DESK_WAYS];
	old = set;
	for (size_t w = 0; w < DESK_WAYS; w++) {
		if (strcmp(set[w].key, key) == 0)
			return &set[w];
		if (set[w].at < old->at)
			old = &set[w];
	}
	return take ? old : NULL;
}

static bool
fresh(uint64_t gen, double at, double now)
{
	return gen == desk_gen && now - at < DESK_TTL && now >= at;
}

/* The tie's data from memory, if all of it is there and fresh. */
static bool
desk_answer(struct dir_resolution *res, const char *const *ids, size_t n, bool load,
            const char *key)
{
	double now = clock_mono();
	const struct known *k = NULL;
	const struct desk *found[TIE_IDS];

	for (size_t i = 0; load && i < n && i < TIE_IDS; i++) {
		const struct desk *d = desk_slot(ids[i], false);
		if (d == NULL || !fresh(d->gen, d->at, now))
			return false;
		found[i] = d;
	}
	if (key) {
		k = known_slot(key, false);
		if (k == NULL || k->ids_hash != ids_hash(ids, n) || k->n != n ||
		    !fresh(k->gen, k->at, now))
			return false;
	}
	dir_resolution_data(res, load, key != NULL);
	for (size_t i = 0; i < n; i++)
		dir_resolution_set_nth(res, i, ids[i], load ? found[i]->open : -1,
		                       k && *k->received[i] ? k->received[i] : NULL);
	return true;
}

/* A lookup waiting for what settles its tie. */
struct tie_wait {
	struct http_request *req;
	struct dir_snapshot *s; /* a reference of its own */
	struct dir_resolution *res;
	json_t *more;
	bool load, cont;
	uint64_t gen; /* desk_gen when asked */
	double at;
	char key[2 + 64 + 1];
};

static void
answer_resolution(struct http_request *req, struct dir_resolution *res, json_t *more)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		fatalx("counterparts: evbuffer_new");
	dir_resolution_render(res, more, b);
	http_respond_buffer(req, 200, "application/json", b);
	evbuffer_free(b);
}

static void
ties_read(PGresult *res, const char *error, void *arg)
{
	struct tie_wait *w = arg;

	if (error || res == NULL) {
		/* Answered all the same: the rotation decides, and says so. */
		log_warnx("counterparts: open notes and earlier receivers not read: %s",
		          error ? error : "no result");
		dir_resolution_warn(w->res, "Sagsbehandlernes åbne overdragelser kunne ikke "
		                            "hentes lige nu; turen afgjorde valget.");
	} else {
		int n = PQntuples(res);
		const char *ids[TIE_IDS];
		struct known *k = NULL;

		dir_resolution_data(w->res, w->load, w->cont);
		if (w->cont && n <= TIE_IDS && !desk_stopped) {
			k = known_slot(w->key, true);
			explicit_wipe(k, sizeof(*k));
			snprintf(k->key, sizeof(k->key), "%s", w->key);
			k->gen = w->gen;
			k->at = w->at;
			k->n = (size_t)n;
		}
		for (int i = 0; i < n; i++) {
			const char *id = PQgetvalue(res, i, 0);
			int open = PQgetisnull(res, i, 1) ? -1 : atoi(PQgetvalue(res, i, 1));
			const char *got = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
			dir_resolution_set_nth(w->res, (size_t)i, id, open, got);
			if (i < TIE_IDS)
				ids[i] = id;
			if (w->load && open >= 0 && strlen(id) < ID_KEEP && !desk_stopped) {
				struct desk *d = desk_slot(id, true);
				snprintf(d->id, sizeof(d->id), "%s", id);
				d->hash = fnv(id, 14695981039346656037ull);
				d->open = open;
				d->gen = w->gen;
				d->at = w->at;
			}
			if (k && got && i < TIE_IDS)
				snprintf(k->received[i], sizeof(k->received[i]), "%s", got);
		}
		if (k)
			k->ids_hash = ids_hash(ids, (size_t)n);
	}
	answer_resolution(w->req, w->res, w->more);
	dir_snapshot_unref(w->s);
	explicit_wipe(w->key, sizeof(w->key));
	free(w);
}

/* ids as a PostgreSQL array literal, each element quoted. */
static char *
id_array(const char *const *ids, size_t n)
{
	struct evbuffer *b = evbuffer_new();
	size_t len;
	char *out;

	if (b == NULL)
		fatalx("counterparts: evbuffer_new");
	evbuffer_add(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		evbuffer_add(b, i ? ",\"" : "\"", i ? 2 : 1);
		for (const char *p = ids[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				evbuffer_add(b, "\\", 1);
			evbuffer_add(b, p, 1);
		}
		evbuffer_add(b, "\"", 1);
	}
	evbuffer_add(b, "}", 1);
	len = evbuffer_get_length(b);
	out = xmalloc(len + 1);
	evbuffer_remove(b, out, len);
	out[len] = '\0';
	evbuffer_free(b);
	return out;
}

/*
 * One query for every equal colleague at once (never one per candidate):
 * their open notes (submitted, received, returned: on their desk) and when
 * each last received a note for this citizen (by the key; not drafts, not
 * withdrawn ones). Notices (varsler, migration 0013) count too: an open or
 * acknowledged one naming the colleague is on their desk, and one for this
 * citizen (not cancelled) names who knows the family.
 */
#define TIES_SQL                                                                                   \
	"SELECT c.id, CASE WHEN $3::boolean THEN (SELECT count(*) FROM handovers h "               \
	"WHERE h.receiver_person = c.id AND h.status IN ('submitted', 'received', "                \
	"'returned')) + (SELECT count(*) FROM notices n WHERE n.receiver_person = c.id "           \
	"AND n.status IN ('open', 'acknowledged')) END, CASE WHEN $2::bytea IS NOT NULL THEN "     \
	"to_char(greatest((SELECT max(coalesce(h.submitted_at, h.updated_at)) FROM handovers h "   \
	"WHERE h.citizen_key = $2::bytea AND h.receiver_person = c.id AND h.status NOT IN "        \
	"('draft', 'withdrawn')), (SELECT max(coalesce(n.acknowledged_at, n.updated_at)) "         \
	"FROM notices n WHERE n.citizen_key = $2::bytea AND n.receiver_person = c.id "             \
	"AND n.status <> 'cancelled')) AT TIME ZONE 'Europe/Copenhagen', "                         \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.US') END FROM unnest($1::text[]) AS c(id)"

/*
 * Asks PostgreSQL what settles the tie and answers from the callback;
 * false when nothing needs asking (or the pool refused: then the
 * rotation decides, with a warning) and the caller answers at once.
 */
static bool
ask_ties(struct http_request *req, const struct dir_snapshot *s, struct dir_resolution *res,
         json_t *more, const struct citizen_key *key)
{
	const char *ids[TIE_IDS];
	size_t n = dir_resolution_wants(res, ids, TIE_IDS);
	bool cont = *key->hex && dir_resolution_uses(res, STEP_CONTINUITY);
	bool load = dir_resolution_uses(res, STEP_LOAD);
	const char *params[3];
	struct tie_wait *w;
	char *array;

	if (n == 0 || (!cont && !load))
		return false;
	if (!desk_stopped && desk_answer(res, ids, n, load, cont ? key->hex : NULL))
		return false;
	array = id_array(ids, n);
	params[0] = array;
	params[1] = cont ? key->hex : NULL;
	params[2] = load ? "true" : "false";
	w = xcalloc(1, sizeof(*w));
	*w = (struct tie_wait){
	    req, (struct dir_snapshot *)(uintptr_t)s, res, more, load, cont, desk_gen, clock_mono(),
	    ""};
	if (cont)
		snprintf(w->key, sizeof(w->key), "%s", key->hex);
	dir_snapshot_ref(w->s);
	if (db_query(TIES_SQL, 3, params, ties_read, w) == -1) {
		dir_snapshot_unref(w->s);
		free(w);
		free(array);
		dir_resolution_warn(res, "Sagsbehandlernes åbne overdragelser kunne ikke hentes "
		                         "lige nu; turen afgjorde valget.");
		return false;
	}
	free(array);
	return true;
}

void
api_counterparts(struct http_request *req)
{
	struct resolve_facts f;
	struct resolve_route rr;
	struct citizen_key key;
	const struct ho_route *route;
	struct ho_route_set *set;
	const struct dir_snapshot *s;
	const char *code = NULL;
	json_t *more, *problem = NULL;
	struct dir_resolution *res;

	if (!http_query_check(req, no_params))
		return;
	if (!read_facts(req, req->json, &f, &code, &key))
		return;
	if ((set = routes_or_fail(req)) == NULL)
		return;
	if ((route = routes_find(set, code)) == NULL) {
		json_t *p = json_problem(422, "Ukendt rute", "Ruten findes ikke.");
		json_problem_add_error(
		    p, "route", "unknown",
		    "Ruten findes ikke; se listen over ruter (GET /api/v1/routes).");
		http_problem_json(req, p);
		return;
	}
	if ((s = answer_snapshot_or_fail(req)) == NULL)
		return;
	f.caller = auth_person(req);
	routes_resolve_view(route, &rr);
	if ((res = dir_resolution_begin(s, &rr, &f, &problem)) == NULL) {
		explicit_wipe(&key, sizeof(key));
		http_problem_json(req, problem);
		return;
	}
	more = json_pack("{s:o}", "directory", dir_sync_info());
	if (!ask_ties(req, s, res, more, &key))
		answer_resolution(req, res, more);
	explicit_wipe(&key, sizeof(key));
}

/*
 * session.c: logging in and out, and who one is.
 *
 * POST /api/v1/session finds the username in the directory snapshot, has a
 * worker bind to LDAP as that account (directory/login.c), and on success
 * stores a new session and its audit row in one statement. Every failure
 * looks the same from outside: one 401 body, answered no sooner than
 * login_failure_delay after the request came in, whether the username was
 * unknown, the password wrong or empty, or the account disabled; only the
 * audit log says which. Failures are counted per username and per client
 * address (ratelimit.c); a blocked key gets 429 without a bind. A username
 * counts by the name typed, folded alike for accounts and unknown names, so
 * a 429 does not tell them apart; an account's failures also count on the
 * account, so all of its logon names share one count.
 *
 * DELETE /api/v1/session deletes the row and answers 204 only
 * SESSION_END_WAIT later, the session cache's lease (auth/session_cache.c):
 * from then on no daemon answers for the token. GET /api/v1/me answers
 * from the snapshot's pre-rendered JSON and the draft keys read before.
 */
#include <sys/queue.h>
#include <sys/random.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "stafetd.h"
#include "directory.h"
#include "auth.h"
#include "api.h"

#define USERNAME_MAX 256
#define PASSWORD_MAX 1024

struct login {
	TAILQ_ENTRY(login) entry;
	struct http_request *req;
	struct event *delay; /* holds a failure back until login_failure_delay */
	double started;
	char person_id[128]; /* empty for an unknown username */
	char username[USERNAME_MAX + 1];
	char user_key[USERNAME_MAX + 8]; /* the name as typed, folded */
	char acct_key[USERNAME_MAX + 8]; /* the account's name; empty if none or the same */
	char addr_key[96];
	const char *override; /* the audit reason when the bind was a decoy */
	char token[AUTH_TOKEN_LEN + 1];
};
TAILQ_HEAD(login_list, login);
static struct login_list delayed = TAILQ_HEAD_INITIALIZER(delayed);
static struct event_base *base;

static void
login_free(struct login *l)
{
	if (l->delay)
		event_free(l->delay);
	explicit_wipe(l->token, sizeof(l->token));
	free(l);
}

static void
answer_denied(struct http_request *req)
{
	http_add_header(req, "WWW-Authenticate", "Bearer realm=\"stafet\"");
	http_problem(req, 401, "Login failed", "Forkert brugernavn eller adgangskode.");
}

static void
answer_blocked(struct http_request *req, long secs)
{
	char ra[32], detail[160];
	if (secs < 1)
		secs = 1;
	snprintf(ra, sizeof(ra), "%ld", secs);
	snprintf(detail, sizeof(detail),
	         "For mange mislykkede forsøg på at logge ind. Prøv igen om %ld sekunder.", secs);
	http_add_header(req, "Retry-After", ra);
	http_problem(req, 429, "Too many failed logins", detail);
}

static void
answer_unavailable(struct http_request *req, const char *detail)
{
	http_add_header(req, "Retry-After", "5");
	http_problem(req, 503, "Login unavailable", detail);
}

static void
delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;
	(void)fd;
	(void)what;
	TAILQ_REMOVE(&delayed, l, entry);
	answer_denied(l->req);
	login_free(l);
}

/* Answers 401 once login_failure_delay (plus up to 10 % jitter) has passed. */
static void
deny_later(struct login *l)
{
	const struct config *c = config_current();
	double wait = c->login_failure_delay * (1.0 + (double)(random() % 1000) / 10000.0) -
	              (clock_mono() - l->started);
	if (wait <= 0 || base == NULL) {
		answer_denied(l->req);
		login_free(l);
		return;
	}
	struct timeval tv = clock_timeval(wait);
	l->delay = evtimer_new(base, delay_cb, l);
	evtimer_add(l->delay, &tv);
	TAILQ_INSERT_TAIL(&delayed, l, entry);
}

/* Counts the failure, records it, and answers after the delay. */
static void
login_failed(struct login *l, const char *reason)
{
	const struct config *c = config_current();
	double now = clock_mono();
	const char *id = *l->person_id ? l->person_id : NULL;
	const char *name = *l->person_id ? l->username : NULL;
	bool user_blocked;

	metrics_count("login_failures_total");
	audit_record(l->req, id, name, "login.failed", NULL, NULL, reason);
	user_blocked = ratelimit_fail(l->user_key, now, c->login_failure_window,
	                              c->login_user_max_failures, c->login_user_block);
	if (*l->acct_key && ratelimit_fail(l->acct_key, now, c->login_failure_window,
	                                   c->login_user_max_failures, c->login_user_block))
		user_blocked = true;
	if (user_blocked) {
		log_notice("login: a username blocked for %.0fs after %d failures (from %s)",
		           c->login_user_block, c->login_user_max_failures, l->req->client);
		metrics_count("login_blocks_total");
		audit_record(l->req, id, name, "login.blocked", NULL, NULL, "user");
	}
	if (ratelimit_fail(l->addr_key, now, c->login_failure_window, c->login_address_max_failures,
	                   c->login_address_block)) {
		log_notice("login: address %s blocked for %.0fs after %d failures", l->req->client,
		           c->login_address_block, c->login_address_max_failures);
		metrics_count("login_blocks_total");
		audit_record(l->req, NULL, NULL, "login.blocked", NULL, NULL, "address");
	}
	deny_later(l);
}

static void
session_stored(PGresult *res, const char *error, void *arg)
{
	struct login *l = arg;
	struct http_request *req = l->req;
	const struct dir_snapshot *s = dir_sync_current();
	int p;

	if (error || res == NULL || PQntuples(res) != 1) {
		log_warnx("login: storing the session: %s", error ? error : "no row");
		answer_unavailable(req, "Log ind er ikke muligt lige nu: databasen svarer ikke.");
		login_free(l);
		return;
	}
	if (s == NULL || (p = dir_lookup_person(s, l->person_id)) == DIR_NONE) {
		answer_denied(req);
		login_free(l);
		return;
	}
	long max_age = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	metrics_count("logins_total");
	json_t *user = dir_render_person_json(s, p);
	auth_set_cookie(req, l->token, max_age);
	http_respond_json(req, 201,
	                  json_pack("{s:s, s:s, s:o}", "token", l->token, "expires_at",
	                            PQgetvalue(res, 0, 0), "user", user));
	login_free(l);
}

static void
login_succeeded(struct login *l)
{
	const struct config *c = config_current();
	char hash[67], secs[32], off[32];
	const char *params[6] = {hash,           l->person_id, l->username,
	                         l->req->client, secs,         clock_db_offset_param(off)};

	ratelimit_clear(l->user_key);
	if (*l->acct_key)
		ratelimit_clear(l->acct_key);
	auth_token_new(l->token, hash);
	snprintf(secs, sizeof(secs), "%.0f", c->session_absolute_timeout);
	log_info("login: session opened for person %s from %s", l->person_id, l->req->client);
	if (db_query(
	        "WITH n AS (SELECT now() + make_interval(secs => $6::float8) AS now), "
	        "s AS (INSERT INTO sessions (token_hash, person_id, username, address, "
	        "expires_at, last_seen_at) SELECT $1::bytea, $2, $3, $4, "
	        "n.now + make_interval(secs => $5::float8), n.now FROM n "
	        "RETURNING id, expires_at), "
	        "a AS (INSERT INTO audit_log (actor_id, actor_username, address, action, "
	        "object_type, object_id) SELECT $2, $3, $4, 'login', 'session', s.id::text "
	        "FROM s) "
	        "SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	        "ceil(extract(epoch FROM expires_at - n.now))::bigint FROM s, n",
	        6, params, session_stored, l) == -1) {
		answer_unavailable(l->req,
		                   "Log ind er ikke muligt lige nu: databasen svarer ikke.");
		login_free(l);
	}
}

static void
bind_done(enum dir_login_result result, const char *reason, void *arg)
{
	struct login *l = arg;

	switch (result) {
	case DIR_LOGIN_OK:
		login_succeeded(l);
		return;
	case DIR_LOGIN_DENIED:
		login_failed(l, l->override ? l->override : reason);
		return;
	case DIR_LOGIN_UNAVAILABLE:
		metrics_count("login_unavailable_total");
		answer_unavailable(l->req,
		                   "Log ind er ikke muligt lige nu: LDAP-kataloget svarer ikke.");
		login_free(l);
		return;
	}
}

/* The request's fields: 422 for a missing or mistyped one, 400 for unknown ones. */
static bool
login_fields(struct http_request *req, const char **user, size_t *ulen, const char **pass,
             size_t *plen)
{
	static const char *const allowed[] = {"username", "password", NULL};
	json_t *body = req->json, *p, *u, *pw;

	if (!json_is_object(body)) {
		http_problem(req, 400, NULL, "The request body must be a JSON object.");
		return false;
	}
	if ((p = json_unknown_fields(body, allowed, NULL)) != NULL) {
		http_problem_json(req, p);
		return false;
	}
	u = json_object_get(body, "username");
	pw = json_object_get(body, "password");
	p = json_problem(422, "Invalid login request", "Both username and password are needed.");
	if (!json_is_string(u))
		json_problem_add_error(p, "username", "required", "Skriv dit brugernavn.");
	else if (json_string_length(u) > USERNAME_MAX)
		json_problem_add_error(p, "username", "too_long", "Brugernavnet er for langt.");
	if (!json_is_string(pw))
		json_problem_add_error(p, "password", "required", "Skriv din adgangskode.");
	else if (json_string_length(pw) > PASSWORD_MAX)
		json_problem_add_error(p, "password", "too_long", "Adgangskoden er for lang.");
	if (json_object_get(p, "errors") != NULL) {
		http_problem_json(req, p);
		return false;
	}
	json_decref(p);
	*user = json_string_value(u);
	*ulen = json_string_length(u);
	/*
	 * The password is copied out and the parsed one wiped at once: an
	 * answer frees the request, body and all, and the copy outlives it.
	 * (The raw body buffer is wiped when the request is freed.)
	 */
	*plen = json_string_length(pw);
	char *copy = xmalloc(*plen + 1);
	memcpy(copy, json_string_value(pw), *plen + 1);
	explicit_wipe((char *)(uintptr_t)json_string_value(pw), *plen);
	*pass = copy;
	return true;
}

void
api_session_create(struct http_request *req)
{
	const struct config *c = config_current();
	const struct dir_snapshot *s = dir_sync_current();
	const char *user, *pass;
	size_t ulen, plen;
	long wait;
	int p = DIR_NONE;

	if (!login_fields(req, &user, &ulen, &pass, &plen))
		return;
	/* Login CSRF: a foreign page must not log a browser in as someone else. */
	if (!auth_origin_allowed(req, false)) {
		http_problem(req, 403, "Cross-site request refused",
		             "Login must come from Stafet's own pages (Origin).");
		goto wipe;
	}
	if (!dir_sync_configured()) {
		answer_unavailable(
		    req, "Log ind er ikke muligt: der er ikke konfigureret et LDAP-katalog.");
		goto wipe;
	}
	if (s == NULL) {
		answer_unavailable(req, "Log ind er ikke muligt endnu: kataloget er ikke indlæst.");
		goto wipe;
	}

	struct login *l = xcalloc(1, sizeof(*l));
	l->req = req;
	l->started = clock_mono();
	/* a NUL inside the JSON string would cut the name short: such a name is nobody */
	bool clean_user = strlen(user) == ulen;
	snprintf(l->username, sizeof(l->username), "%s", user);
	if (clean_user && ulen > 0) {
		p = dir_lookup_login(s, user);
		/* Windows habit: DOMAIN\user is the user's sAMAccountName */
		const char *bs = strrchr(user, '\\');
		if (p == DIR_NONE && bs && bs[1] && c->directory_layout == DIR_LAYOUT_AD)
			p = dir_lookup_login(s, bs + 1);
	}
	const char *dn = NULL;
	if (p != DIR_NONE) {
		snprintf(l->person_id, sizeof(l->person_id), "%s", s->persons[p].id);
		snprintf(l->username, sizeof(l->username), "%s", s->persons[p].username);
		dn = s->persons[p].dn;
	} else {
		l->override = "unknown user";
	}
	/*
	 * Counted by the name as typed, folded the same way whether an account
	 * has it or not (ratelimit_key), so the 429s cannot tell which names
	 * are accounts; an account's failures count on the account too, so its
	 * uid, a UPN whose local part differs, and DOMAIN\uid share one count.
	 */
	ratelimit_key(l->user_key, sizeof(l->user_key), 'u', user);
	if (p != DIR_NONE) {
		ratelimit_key(l->acct_key, sizeof(l->acct_key), 'u', l->username);
		if (strcmp(l->acct_key, l->user_key) == 0)
			*l->acct_key = '\0';
	}
	ratelimit_key(l->addr_key, sizeof(l->addr_key), 'a', req->client);
	if ((wait = ratelimit_blocked(l->addr_key, clock_mono())) > 0 ||
	    (wait = ratelimit_blocked(l->user_key, clock_mono())) > 0 ||
	    (*l->acct_key && (wait = ratelimit_blocked(l->acct_key, clock_mono())) > 0)) {
		metrics_count("login_refused_blocked_total");
		answer_blocked(req, wait);
		login_free(l);
		goto wipe;
	}
	/* An empty password (an unauthenticated bind) or one with a NUL: never tried. */
	char decoy[AUTH_TOKEN_LEN + 1], decoy_hash[67];
	const char *bind_pw = pass;
	size_t bind_len = plen;
	if (plen == 0 || strlen(pass) != plen) {
		auth_token_new(decoy, decoy_hash);
		bind_pw = decoy;
		bind_len = AUTH_TOKEN_LEN;
		dn = NULL;
		l->override = plen == 0 ? "empty password" : "wrong password";
	}
	if (ulen == 0)
		l->override = "empty username";
	if (dir_login_submit(dn, *l->person_id ? l->person_id : NULL, bind_pw, bind_len, bind_done,
	                     l) == -1) {
		log_warnx("login: the login queue is full (login_queue_max %d)",
		          c->login_queue_max);
		answer_unavailable(req, "Log ind er travlt lige nu. Prøv igen om lidt.");
		login_free(l);
	}
	if (bind_pw != pass)
		explicit_wipe(decoy, sizeof(decoy));
wipe:
	explicit_wipe((char *)(uintptr_t)pass, plen);
	free((char *)(uintptr_t)pass);
}

/*
 * A logout whose DELETE has committed, waiting SESSION_END_WAIT before its
 * 204: by then every daemon's session cache has heard of the end or no
 * longer answers from memory (auth/session_cache.c). The wait is counted
 * on the real monotonic clock; a test build's clock steps fire timers
 * early, so the timer is set again until the time has really passed.
 */
struct logout {
	TAILQ_ENTRY(logout) entry;
	struct http_request *req;
	struct event *ev;
	double until; /* clock_mono_real() */
};
TAILQ_HEAD(logout_list, logout);
static struct logout_list ending = TAILQ_HEAD_INITIALIZER(ending);

static void
logout_answer(struct logout *lo)
{
	TAILQ_REMOVE(&ending, lo, entry);
	event_free(lo->ev);
	auth_set_cookie(lo->req, "", 0);
	http_respond(lo->req, 204, NULL, NULL, 0);
	free(lo);
}

static void
logout_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct logout *lo = arg;
	double left = lo->until - clock_mono_real();
	(void)fd;
	(void)what;
	if (left > 0) {
		struct timeval tv = clock_timeval(left);
		evtimer_add(lo->ev, &tv);
		return;
	}
	logout_answer(lo);
}

static void
logout_done(PGresult *res, const char *error, void *arg)
{
	struct http_request *req = arg;
	struct logout *lo;
	(void)res;
	if (error) {
		log_warnx("logout: %s", error);
		http_add_header(req, "Retry-After", "1");
		http_problem(req, 503, NULL, "The session store is unavailable.");
		return;
	}
	if (base == NULL) {
		/* stopping: the wait cannot be kept, so no 204 (the session has ended) */
		http_add_header(req, "Retry-After", "1");
		http_problem(req, 503, NULL, "The server is stopping.");
		return;
	}
	lo = xcalloc(1, sizeof(*lo));
	lo->req = req;
	lo->until = clock_mono_real() + SESSION_END_WAIT;
	lo->ev = evtimer_new(base, logout_wait_cb, lo);
	if (lo->ev == NULL)
		fatalx("logout: evtimer_new");
	TAILQ_INSERT_TAIL(&ending, lo, entry);
	struct timeval tv = clock_timeval(SESSION_END_WAIT);
	evtimer_add(lo->ev, &tv);
}

/*
 * Ends the session that authenticated this request; the 204 comes once every
 * daemon refuses the token (logout_done).
 */
void
api_session_delete(struct http_request *req)
{
	char id[32];
	const char *p[4] = {id, req->auth.person_id, req->auth.username, req->client};

	snprintf(id, sizeof(id), "%lld", req->auth.session_id);
	session_cache_forget(req->auth.session_id);
	if (db_query("WITH d AS (DELETE FROM sessions WHERE id = $1::bigint RETURNING id) "
	             "INSERT INTO audit_log (actor_id, actor_username, address, action, "
	             "object_type, object_id) SELECT $2, $3, $4, 'logout', 'session', d.id::text "
	             "FROM d",
	             4, p, logout_done, req) == -1) {
		http_add_header(req, "Retry-After", "1");
		http_problem(req, 503, NULL, "The session store is unavailable.");
	}
}

/*
 * The draft keys read so far, by person: a key never changes once stored
 * (migration 0011), so /me asks the database only for a person's first
 * call here, and again KEY_TTL seconds later (an operator may delete a
 * row to make that user's local copies unreadable; every daemon then
 * hands out the new key within KEY_TTL). Direct-mapped: a colliding person
 * replaces the older.
 */
#define KEY_SLOTS 1024
#define KEY_TTL   60.0

struct key_slot {
	char person_id[128];
	char key[48]; /* base64 of 32 bytes: 44 characters */
	double at;    /* clock_mono_real() when read */
};
static struct key_slot *keys;

static struct key_slot *
key_slot_of(const char *person_id)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)person_id; *p; p++)
		h = (h ^ *p) * 16777619u;
	return &keys[h % KEY_SLOTS];
}

/* Not before start nor after stop: then every /me asks the database. */
static const char *
key_cached(const char *person_id)
{
	if (keys == NULL)
		return NULL;
	const struct key_slot *k = key_slot_of(person_id);
	if (*k->key && strcmp(k->person_id, person_id) == 0 && clock_mono_real() - k->at < KEY_TTL)
		return k->key;
	return NULL;
}

static void
key_remember(const char *person_id, const char *key)
{
	if (keys == NULL)
		return;
	struct key_slot *k = key_slot_of(person_id);
	if (strlen(person_id) >= sizeof(k->person_id) || strlen(key) >= sizeof(k->key))
		return;
	snprintf(k->person_id, sizeof(k->person_id), "%s", person_id);
	snprintf(k->key, sizeof(k->key), "%s", key);
	k->at = clock_mono_real();
}

/*
 * The body of /me but its draft key and closing brace: the person from the
 * snapshot's pre-rendered JSON (as searches answer), roles and session.
 * Building and dumping jansson objects for the person was half of a /me.
 * The caller frees.
 */
static struct evbuffer *
me_body(const struct http_request *req, const struct dir_snapshot *s, int p)
{
	struct evbuffer *person = evbuffer_new(), *b = evbuffer_new();
	char today[11], expires[32];
	time_t t = (time_t)req->auth.expires_at;
	struct tm tm;

	if (person == NULL || b == NULL)
		fatalx("me: evbuffer_new");
	clock_today(today);
	dir_render_person_append(person, &s->persons[p], today);
	/* all but its closing brace */
	evbuffer_remove_buffer(person, b, evbuffer_get_length(person) - 1);
	evbuffer_free(person);
	gmtime_r(&t, &tm);
	strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *roles = auth_roles_json(s, p);
	char *text = json_dump_compact(roles);
	json_decref(roles);
	evbuffer_add_printf(b, ",\"roles\":%s,\"session\":{\"expires_at\":\"%s\",\"via\":\"%s\"}",
	                    text, expires, req->auth.cookie ? "cookie" : "bearer");
	free(text);
	return b;
}

/* Answers /me with body (consumed) and the key (base64: nothing to escape). */
static void
me_respond(struct http_request *req, struct evbuffer *body, const char *key)
{
	if (key)
		evbuffer_add_printf(body, ",\"draft_key\":\"%s\"}", key);
	else
		evbuffer_add(body, "}", 1);
	http_respond_buffer(req, 200, "application/json", body);
	evbuffer_free(body);
}

/* A GET /me waiting for the user's draft key. */
struct me_answer {
	struct http_request *req;
	struct evbuffer *body;
};

static void
me_done(PGresult *res, const char *error, void *arg)
{
	struct me_answer *m = arg;
	const char *key = NULL;
	if (error == NULL && res != NULL && PQntuples(res) == 1) {
		key = PQgetvalue(res, 0, 0);
		key_remember(m->req->auth.person_id, key);
	} else {
		log_warnx("me: no draft key: %s", error ? error : "no row");
	}
	me_respond(m->req, m->body, key);
	free(m);
}

/* 32 random bytes as 64 hex digits, for a user's first draft key. */
static void
random_key_hex(char out[65])
{
	unsigned char r[32];
	size_t got = 0;
	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("me: getrandom");
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	explicit_bzero(r, sizeof(r));
}

/*
 * Who one is: the person, their roles, this session's end, and the key
 * (base64, 32 bytes) the web UI encrypts its local copy of unsaved text
 * with, drawn at random at the user's first call and kept (draft_keys).
 * Without the database the answer comes without the key.
 */
void
api_me(struct http_request *req)
{
	static const char *const none[] = {NULL};
	const struct dir_snapshot *s = dir_sync_current();
	int p = auth_person(req);
	char fresh[65];
	const char *key;

	if (!http_query_check(req, none))
		return;
	if (s == NULL || p == DIR_NONE) {
		auth_unauthorized(req, "The account is no longer in the directory.");
		return;
	}
	struct evbuffer *body = me_body(req, s, p);
	if ((key = key_cached(req->auth.person_id)) != NULL) {
		me_respond(req, body, key);
		return;
	}
	struct me_answer *m = xcalloc(1, sizeof(*m));
	m->req = req;
	m->body = body;
	random_key_hex(fresh);
	const char *params[2] = {req->auth.person_id, fresh};
	/* a new row's key comes from the insert; an existing one from the select */
	int rc = db_query("WITH i AS (INSERT INTO draft_keys (person_id, key) VALUES ($1, "
	                  "decode($2, 'hex')) ON CONFLICT (person_id) DO NOTHING RETURNING key) "
	                  "SELECT encode(key, 'base64') FROM i UNION ALL SELECT encode(key, "
	                  "'base64') FROM draft_keys WHERE person_id = $1 LIMIT 1",
	                  2, params, me_done, m);
	explicit_bzero(fresh, sizeof(fresh));
	if (rc == -1) {
		free(m);
		me_respond(req, body, NULL);
	}
}

void
api_session_start(struct event_base *b)
{
	base = b;
	if (keys == NULL)
		keys = xcalloc(KEY_SLOTS, sizeof(*keys));
}

/*
 * At stop: failures still held back are answered now; so are logouts still
 * waiting, with 503 (their sessions have ended, but a 204 now would come
 * before every daemon is sure to refuse them).
 */
void
api_session_stop(void)
{
	struct login *l;
	struct logout *lo;
	while ((l = TAILQ_FIRST(&delayed)) != NULL) {
		TAILQ_REMOVE(&delayed, l, entry);
		answer_denied(l->req);
		login_free(l);
	}
	while ((lo = TAILQ_FIRST(&ending)) != NULL) {
		TAILQ_REMOVE(&ending, lo, entry);
		event_free(lo->ev);
		http_add_header(lo->req, "Retry-After", "1");
		http_problem(lo->req, 503, NULL, "The server is stopping.");
		free(lo);
	}
	if (keys) {
		explicit_wipe(keys, KEY_SLOTS * sizeof(*keys));
		free(keys);
		keys = NULL;
	}
	base = NULL;
}

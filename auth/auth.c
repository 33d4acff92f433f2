/*
 * auth.c: who a request is from.
 *
 * A session is a random 256-bit token; PostgreSQL keeps only its SHA-256,
 * so a copy of the database opens no session. An authenticated request
 * looks its session up there (several daemons may serve behind one load
 * balancer, and a logout must end a session everywhere before its answer),
 * and the same query moves the idle clock, at most every few seconds per
 * session; in between, the session cache (session_cache.c) answers from
 * memory while it hears every session end.
 *
 * Browsers send the token as the stafet_session cookie (HttpOnly,
 * SameSite=Strict); a state-changing request authenticated by cookie must
 * also come from our own origin. API clients send it as a Bearer token,
 * which a foreign page cannot make a browser send.
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "stafetd.h"
#include "directory.h"
#include "auth.h"

#define JANITOR_INTERVAL 300.0 /* seconds between sweeps of ended sessions */

static struct event *janitor_ev;
static EVP_MD *sha256; /* fetched once: EVP_sha256() fetches it again at every digest */

/* -- tokens -------------------------------------------------------------------- */

static void
hex_of(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The token's SHA-256 as PostgreSQL's bytea hex input: "\x" and 64 digits. */
void
auth_token_hash_hex(const char *token, size_t len, char hash_hex[67])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		fatalx("auth: no SHA-256");
	if (EVP_Digest(token, len, md, &mdlen, sha256, NULL) != 1 || mdlen != 32)
		fatalx("auth: SHA-256 failed");
	hash_hex[0] = '\\';
	hash_hex[1] = 'x';
	hex_of(md, 32, hash_hex + 2);
}

/* A new token (base64url, no padding) and its hash. */
void
auth_token_new(char token[AUTH_TOKEN_LEN + 1], char hash_hex[67])
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[33];
	size_t got = 0;

	while (got < 32) {
		ssize_t n = getrandom(r + got, 32 - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("auth: getrandom");
		}
		got += (size_t)n;
	}
	r[32] = 0;
	/* 32 bytes: ten groups of three, then two bytes as three characters */
	size_t o = 0;
	for (size_t i = 0; i < 30; i += 3) {
		unsigned v = (unsigned)r[i] << 16 | (unsigned)r[i + 1] << 8 | r[i + 2];
		token[o++] = b64[(v >> 18) & 63];
		token[o++] = b64[(v >> 12) & 63];
		token[o++] = b64[(v >> 6) & 63];
		token[o++] = b64[v & 63];
	}
	unsigned v = (unsigned)r[30] << 16 | (unsigned)r[31] << 8;
	token[o++] = b64[(v >> 18) & 63];
	token[o++] = b64[(v >> 12) & 63];
	token[o++] = b64[(v >> 6) & 63];
	token[o] = '\0';
	auth_token_hash_hex(token, AUTH_TOKEN_LEN, hash_hex);
	explicit_wipe(r, sizeof(r));
}

bool
auth_token_wellformed(const char *t, size_t n)
{
	if (n != AUTH_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '_')
			return false;
	return true;
}

/* -- addresses and origins (parsed by daemon/net.c) ------------------------------ */

/*
 * The client's address: the peer, or when the peer is a trusted proxy the
 * last X-Forwarded-For entry (the one that proxy added; earlier entries are
 * whatever the client claimed).
 */
void
auth_client_address(struct http_request *req)
{
	const struct config *c = config_current();
	const char *xff;

	snprintf(req->client, sizeof(req->client), "%s", req->peer);
	if (!*c->http_trusted_proxies || !net_address_listed(c->http_trusted_proxies, req->peer))
		return;
	/* several lines make one list: the last entry is on the last line */
	xff = NULL;
	for (int i = 0; i < req->head.nheaders; i++)
		if (strcasecmp(req->head.headers[i].name, "X-Forwarded-For") == 0)
			xff = req->head.headers[i].value;
	if (xff == NULL)
		return;
	const char *last = strrchr(xff, ',');
	last = last ? last + 1 : xff;
	last += strspn(last, " \t");
	size_t n = strcspn(last, " \t");
	unsigned char ip[16];
	int fam;
	if (net_parse_ip(last, n, ip, &fam))
		inet_ntop(fam, ip, req->client, sizeof(req->client));
}

/* Our own origin: public_url, else the Host this request was sent to. */
static bool
own_origin(const struct http_request *req, char *out, size_t outsz)
{
	const struct config *c = config_current();
	char url[600];

	if (*c->public_url)
		return net_parse_origin(c->public_url, out, outsz) == 0;
	const char *host = http_request_header(req, "Host");
	if (host == NULL || strlen(host) > 500)
		return false;
	snprintf(url, sizeof(url), "%s://%s", c->http_tls_proxy ? "https" : "http", host);
	return net_parse_origin(url, out, outsz) == 0;
}

/*
 * Does the request come from a page of ours? Origin decides; without it the
 * Referer's origin; without either, `required` decides (browsers send Origin
 * with every POST, PUT, PATCH and DELETE).
 */
bool
auth_origin_allowed(const struct http_request *req, bool required)
{
	const char *origin = http_request_header(req, "Origin");
	char want[600], got[600], url[600];

	if (origin == NULL) {
		const char *ref = http_request_header(req, "Referer");
		if (ref == NULL)
			return !required;
		const char *scheme_end = strstr(ref, "://");
		if (scheme_end == NULL)
			return false;
		size_t n = (size_t)(scheme_end + 3 - ref) + strcspn(scheme_end + 3, "/?#");
		if (n >= sizeof(url))
			return false;
		memcpy(url, ref, n);
		url[n] = '\0';
		origin = url;
	}
	if (!own_origin(req, want, sizeof(want)) ||
	    net_parse_origin(origin, got, sizeof(got)) == -1)
		return false;
	return strcmp(want, got) == 0;
}

/* -- cookies and 401 ------------------------------------------------------------- */

void
auth_set_cookie(struct http_request *req, const char *token, long max_age)
{
	char buf[256];
	snprintf(buf, sizeof(buf),
	         "stafet_session=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s", token,
	         max_age, config_current()->http_tls_proxy ? "; Secure" : "");
	http_add_header(req, "Set-Cookie", buf);
}

void
auth_unauthorized(struct http_request *req, const char *detail)
{
	http_add_header(req, "WWW-Authenticate",
	                detail ? "Bearer realm=\"stafet\", error=\"invalid_token\""
	                       : "Bearer realm=\"stafet\"");
	http_problem(req, 401, "Unauthorized", detail ? detail : "Authentication required.");
}

/* The token from "Authorization: Bearer" or, failing that, the cookie. */
static const char *
find_token(const struct http_request *req, size_t *len, bool *cookie, bool *garbled)
{
	const char *h = http_request_header(req, "Authorization");

	*garbled = false;
	*cookie = false;
	if (h) {
		if (strncasecmp(h, "Bearer ", 7) != 0) {
			*garbled = true;
			return NULL;
		}
		h += 7;
		h += strspn(h, " ");
		*len = strcspn(h, " \t");
		if (h[*len] != '\0')
			*garbled = true;
		return h;
	}
	if ((h = http_request_header(req, "Cookie")) == NULL)
		return NULL;
	while (*h) {
		h += strspn(h, " ;");
		size_t n = strcspn(h, ";");
		if (strncmp(h, "stafet_session=", 15) == 0) {
			*cookie = true;
			*len = n - 15;
			while (*len > 0 && h[15 + *len - 1] == ' ')
				(*len)--;
			return h + 15;
		}
		h += n;
	}
	return NULL;
}

/* -- authenticating a request ------------------------------------------------------ */

struct auth_ctx {
	struct http_request *req;
	http_handler next;
	unsigned long long epoch; /* the session cache's, when the lookup was sent */
	double ttl;
	char hash[67];
};

/*
 * A session alive by both clocks; the idle clock is moved when it is more
 * than $3 seconds old, so most requests only read.
 */
static const char lookup_sql[] =
    "WITH n AS (SELECT now() + make_interval(secs => $4::float8) AS now), "
    "s AS (SELECT id, person_id, username, expires_at, last_seen_at FROM sessions, n "
    "  WHERE token_hash = $1::bytea AND expires_at > n.now "
    "    AND last_seen_at > n.now - make_interval(secs => $2::float8)), "
    "t AS (UPDATE sessions SET last_seen_at = n.now FROM s, n "
    "  WHERE sessions.id = s.id AND s.last_seen_at < n.now - make_interval(secs => $3::float8)) "
    "SELECT id, person_id, username, extract(epoch FROM expires_at), "
    "  CASE WHEN last_seen_at < n.now - make_interval(secs => $3::float8) THEN 0 "
    "  ELSE extract(epoch FROM n.now - last_seen_at) END FROM s, n";

static void
forget_session_done(PGresult *res, const char *error, void *arg)
{
	(void)res;
	(void)arg;
	if (error)
		log_warnx("auth: ending a session: %s", error);
}

/* The session is alive: the person must still be in the directory. */
static void
session_found(struct http_request *req, http_handler next)
{
	const struct dir_snapshot *s = dir_sync_current();

	if (s == NULL) {
		http_add_header(req, "Retry-After", "1");
		http_problem(req, 503, NULL, "The directory is not loaded yet.");
		return;
	}
	if (dir_lookup_person(s, req->auth.person_id) == DIR_NONE) {
		/* Gone from the directory (left, or disabled): the session ends. */
		char id[32];
		const char *p[1] = {id};
		snprintf(id, sizeof(id), "%lld", req->auth.session_id);
		session_cache_forget(req->auth.session_id);
		if (db_query("DELETE FROM sessions WHERE id = $1", 1, p, forget_session_done,
		             NULL) == -1)
			log_warnx("auth: could not end session %s", id);
		auth_unauthorized(req, "The account is no longer in the directory.");
		return;
	}
	req->auth.ok = true;
	next(req);
}

static void
lookup_done(PGresult *res, const char *error, void *arg)
{
	struct auth_ctx *ctx = arg;
	struct http_request *req = ctx->req;
	http_handler next = ctx->next;

	if (error || res == NULL) {
		free(ctx);
		log_warnx("auth: session lookup: %s", error ? error : "no result");
		http_add_header(req, "Retry-After", "1");
		http_problem(req, 503, NULL, "The session store is unavailable.");
		return;
	}
	if (PQntuples(res) != 1) {
		free(ctx);
		auth_unauthorized(req, "The session has ended or the token is not valid.");
		return;
	}
	req->auth.session_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(req->auth.person_id, sizeof(req->auth.person_id), "%s", PQgetvalue(res, 0, 1));
	snprintf(req->auth.username, sizeof(req->auth.username), "%s", PQgetvalue(res, 0, 2));
	req->auth.expires_at = strtod(PQgetvalue(res, 0, 3), NULL);
	/*
	 * Kept only until the idle clock, as the row has it now, is due to move:
	 * so the row's last use trails the real one by at most ttl.
	 */
	session_cache_put(ctx->epoch, ctx->hash, &req->auth,
	                  ctx->ttl - strtod(PQgetvalue(res, 0, 4), NULL));
	free(ctx);
	session_found(req, next);
}

/* Looks the session up in PostgreSQL (and moves its idle clock). */
static void
lookup_db(struct http_request *req, http_handler next, const char *hash, double ttl)
{
	const struct config *c = config_current();
	char idle[32], touch[32], off[32];
	const char *params[4] = {hash, idle, touch, clock_db_offset_param(off)};
	struct auth_ctx *ctx;

	snprintf(idle, sizeof(idle), "%.3f", c->session_idle_timeout);
	snprintf(touch, sizeof(touch), "%.3f", ttl);
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->req = req;
	ctx->next = next;
	ctx->epoch = session_cache_epoch();
	ctx->ttl = ttl;
	snprintf(ctx->hash, sizeof(ctx->hash), "%s", hash);
	if (db_query(lookup_sql, 4, params, lookup_done, ctx) == -1) {
		free(ctx);
		http_add_header(req, "Retry-After", "1");
		http_problem(req, 503, NULL, "The session store is unavailable.");
	}
}

/* The session cache's answer: still alive after every announced end, or ask. */
static void
cache_confirmed(struct http_request *req, http_handler next, const char *hash, double ttl,
                bool alive)
{
	if (alive)
		session_found(req, next);
	else
		lookup_db(req, next, hash, ttl);
}

/*
 * Authenticates `req`, then calls `next` on the loop; or answers 401 (no or
 * bad token), 403 (a cookie from a foreign origin on a state-changing
 * request) or 503 itself.
 */
void
auth_authenticate(struct http_request *req, http_handler next)
{
	const struct config *c = config_current();
	size_t len = 0;
	bool cookie, garbled;
	const char *token = find_token(req, &len, &cookie, &garbled);
	char hash[67];

	if (token == NULL && !garbled) {
		auth_unauthorized(req, NULL);
		return;
	}
	if (garbled || !auth_token_wellformed(token, len)) {
		auth_unauthorized(req, "The token is not valid.");
		return;
	}
	if (cookie && !(req->head.method & (HTTP_GET | HTTP_HEAD)) &&
	    !auth_origin_allowed(req, true)) {
		http_problem(
		    req, 403, "Cross-site request refused",
		    "A request authenticated by the session cookie must come from Stafet's "
		    "own pages (Origin).");
		return;
	}
	/* move the idle clock at most every 30 s, finer for short timeouts */
	double ttl = c->session_idle_timeout / 10 < 30 ? c->session_idle_timeout / 10 : 30.0;
	auth_token_hash_hex(token, len, hash);
	if (session_cache_get(hash, ttl, &req->auth)) {
		req->auth.cookie = cookie;
		/* answered once PostgreSQL has told of every session ended so far */
		session_cache_confirm(req, next, hash, ttl, cache_confirmed);
		return;
	}
	req->auth.cookie = cookie;
	lookup_db(req, next, hash, ttl);
}

/* -- roles ---------------------------------------------------------------------------- */

int
auth_person(const struct http_request *req)
{
	if (!req->auth.ok)
		return DIR_NONE;
	return dir_lookup_person(dir_sync_current(), req->auth.person_id);
}

static bool
in_group(const struct dir_person *p, const char *dn)
{
	if (dn == NULL || *dn == '\0')
		return false;
	for (size_t i = 0; i < p->ngroups; i++)
		if (dir_lookup_dn_equal(p->groups[i], dn))
			return true;
	return false;
}

static bool
has_role(const struct dir_snapshot *s, int person, enum auth_role role)
{
	const struct config *c = config_current();
	const struct dir_person *p = &s->persons[person];

	switch (role) {
	case ROLE_CASEWORKER:
		return p->unit != DIR_NONE;
	case ROLE_LEAD:
		for (size_t u = 0; u < s->nunits; u++)
			if (s->units[u].lead == person)
				return true;
		return false;
	case ROLE_QUALITY:
		return in_group(p, c->role_quality_group);
	case ROLE_ADMIN:
		return in_group(p, c->role_admin_group);
	}
	return false;
}

bool
auth_has_role(const struct http_request *req, enum auth_role role)
{
	const struct dir_snapshot *s = dir_sync_current();
	int p = auth_person(req);
	return p != DIR_NONE && has_role(s, p, role);
}

/*
 * The person's roles: caseworker for their own unit, lead for each unit they
 * lead, quality and admin by group. The caller owns the array.
 */
json_t *
auth_roles_json(const struct dir_snapshot *s, int person)
{
	json_t *a = json_array();
	const struct dir_person *p = &s->persons[person];

	if (p->unit != DIR_NONE)
		json_array_append_new(a, json_pack("{s:s, s:s}", "role", "caseworker", "unit",
		                                   s->units[p->unit].code));
	for (size_t u = 0; u < s->nunits; u++)
		if (s->units[u].lead == person)
			json_array_append_new(
			    a, json_pack("{s:s, s:s}", "role", "lead", "unit", s->units[u].code));
	if (has_role(s, person, ROLE_QUALITY))
		json_array_append_new(a, json_pack("{s:s, s:n}", "role", "quality", "unit"));
	if (has_role(s, person, ROLE_ADMIN))
		json_array_append_new(a, json_pack("{s:s, s:n}", "role", "admin", "unit"));
	return a;
}

/* -- the janitor: ended sessions are deleted ------------------------------------------ */

static void
janitor_done(PGresult *res, const char *error, void *arg)
{
	(void)arg;
	if (error)
		log_warnx("auth: sweeping ended sessions: %s", error);
	else if (res && atoi(PQcmdTuples(res)) > 0)
		log_info("auth: %s ended sessions removed", PQcmdTuples(res));
}

static void
janitor_cb(evutil_socket_t fd, short what, void *arg)
{
	char idle[32], off[32];
	const char *p[2] = {idle, clock_db_offset_param(off)};
	(void)fd;
	(void)what;
	(void)arg;
	snprintf(idle, sizeof(idle), "%.3f", config_current()->session_idle_timeout);
	if (db_available(NULL) &&
	    db_query("DELETE FROM sessions WHERE expires_at < now() + make_interval(secs => "
	             "$2::float8) OR last_seen_at < now() + make_interval(secs => $2::float8) - "
	             "make_interval(secs => $1::float8)",
	             2, p, janitor_done, NULL) == -1)
		log_debug("auth: session sweep skipped: database unavailable");
}

void
auth_start(struct event_base *base)
{
	struct timeval tv = clock_timeval(JANITOR_INTERVAL);
	janitor_ev = event_new(base, -1, EV_PERSIST, janitor_cb, NULL);
	event_add(janitor_ev, &tv);
}

void
auth_stop(void)
{
	if (janitor_ev) {
		event_free(janitor_ev);
		janitor_ev = NULL;
	}
	EVP_MD_free(sha256);
	sha256 = NULL;
}

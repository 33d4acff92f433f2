/*
 * ldap.c: connections to the directory servers, on the sync thread.
 *
 * libldap is used blocking, on the sync worker thread only, never on the
 * event loop (STYLE.md: "on worker threads that hand results back"). The
 * servers are a list in priority order, with equals tried in random order;
 * every connect and operation has a timeout; TLS verifies the server's
 * certificate (LDAPS, or StartTLS on ldap://); plain ldap:// is used only
 * when the configuration says so. Every search is paged (RFC 2696).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lber.h>
#include <ldap.h>

#include "stafetd.h"
#include "directory.h"
#include "dir_ldap.h"

/*
 * Parses "ldaps://a|ldaps://b ldaps://c": spaces or commas separate
 * priority levels, "|" joins servers of equal priority. Returns -1 with
 * `why` for a URI libldap does not accept or a scheme we do not speak.
 */
int
dir_ldap_parse_uris(const char *spec, struct dir_server **out, size_t *n, const char **why)
{
	char *copy = xstrdup(spec), *save = NULL, *level;
	int prio = 0;

	*out = NULL;
	*n = 0;
	for (level = strtok_r(copy, " \t,", &save); level; level = strtok_r(NULL, " \t,", &save)) {
		char *save2 = NULL, *uri;
		for (uri = strtok_r(level, "|", &save2); uri; uri = strtok_r(NULL, "|", &save2)) {
			LDAPURLDesc *lud = NULL;
			/*
			 * libldap also takes "LDAP://" and "URL:ldap://"; we decide on
			 * TLS from the scheme as written, so only the plain forms pass.
			 */
			if (strncmp(uri, "ldap://", 7) != 0 && strncmp(uri, "ldaps://", 8) != 0) {
				*why = "write each server as ldap://host[:port] or "
				       "ldaps://host[:port]";
				goto fail;
			}
			if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS) {
				*why = "not an LDAP URI";
				goto fail;
			}
			bool ok = strcmp(lud->lud_scheme, "ldap") == 0 ||
			          strcmp(lud->lud_scheme, "ldaps") == 0;
			ldap_free_urldesc(lud);
			if (!ok) {
				*why = "only ldap:// and ldaps:// are supported";
				goto fail;
			}
			*out = xrealloc(*out, (*n + 1) * sizeof(**out));
			(*out)[*n].uri = xstrdup(uri);
			(*out)[*n].priority = prio;
			(*n)++;
		}
		prio++;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	dir_ldap_free_servers(*out, *n);
	*out = NULL;
	*n = 0;
	return -1;
}

/* For --check-config: is the URI list usable? */
int
dir_ldap_check_uris(const char *spec, const char **why)
{
	struct dir_server *s;
	size_t n;
	if (dir_ldap_parse_uris(spec, &s, &n, why) == -1)
		return -1;
	dir_ldap_free_servers(s, n);
	return 0;
}

void
dir_ldap_free_servers(struct dir_server *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].uri);
	free(s);
}

static void
set_err(char *err, size_t errsz, const char *uri, const char *what, int rc, LDAP *ld)
{
	char *diag = NULL;
	if (ld)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	snprintf(err, errsz, "%s: %s: %s%s%s", uri, what, ldap_err2string(rc),
	         diag && *diag ? ": " : "", diag && *diag ? diag : "");
	ldap_memfree(diag);
}

/*
 * libldap with GnuTLS reports a failed handshake as "Can't contact LDAP
 * server: (unknown error code)", like a closed port. This callback runs once
 * the connection is up and the handshake begins, so a failure after it is a
 * TLS failure, and the log can say so.
 */
static int
tls_started_cb(LDAP *ld, void *session, void *ctx, void *arg)
{
	(void)ld;
	(void)session;
	(void)ctx;
	*(int *)arg = 1;
	return 0;
}

static void
set_tls_err(char *err, size_t errsz, const char *uri, const char *what, int rc, LDAP *ld,
            int started)
{
	if (started && (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR)) {
		snprintf(err, errsz,
		         "%s: %s: TLS handshake failed: the server's certificate is not signed "
		         "by a CA in ldap_ca_file, or not issued for this host name",
		         uri, what);
		return;
	}
	set_err(err, errsz, uri, what, rc, ld);
}

/* Opens and binds one server. Returns the handle, or NULL with `err` set. */
LDAP *
dir_ldap_open(const struct dir_ldap_cfg *cfg, const char *uri, char *err, size_t errsz)
{
	LDAP *ld = NULL;
	int rc, version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	struct timeval ctv = clock_timeval(cfg->connect_timeout), otv = clock_timeval(cfg->timeout);
	struct berval cred;
	bool plain = strncmp(uri, "ldap://", 7) == 0;
	/* the TLS callback's flag; the sync thread opens one handle at a time */
	static _Thread_local int tls_started;

	tls_started = 0;

	if ((rc = ldap_initialize(&ld, uri)) != LDAP_SUCCESS) {
		set_err(err, errsz, uri, "initialize", rc, NULL);
		return NULL;
	}
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &ctv);
	/* StartTLS and the bind are part of connecting: connect_timeout bounds them */
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &ctv);
	ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON);
	if (!plain || cfg->starttls) {
		ldap_set_option(ld, LDAP_OPT_X_TLS_CONNECT_CB, (void *)(uintptr_t)tls_started_cb);
		ldap_set_option(ld, LDAP_OPT_X_TLS_CONNECT_ARG, &tls_started);
		ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
		if (cfg->ca_file && *cfg->ca_file)
			ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ca_file);
		ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	}
	if (plain && cfg->starttls) {
		if ((rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
			set_tls_err(err, errsz, uri, "StartTLS", rc, ld, tls_started);
			ldap_unbind_ext_s(ld, NULL, NULL);
			return NULL;
		}
	} else if (plain && !cfg->allow_plaintext) {
		snprintf(err, errsz,
		         "%s: plain ldap:// refused (set ldap_starttls or "
		         "ldap_allow_plaintext)",
		         uri);
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	cred.bv_val = cfg->bind_password ? cfg->bind_password : (char *)(uintptr_t) "";
	cred.bv_len = cfg->bind_password ? strlen(cfg->bind_password) : 0;
	rc = ldap_sasl_bind_s(ld, cfg->bind_dn && *cfg->bind_dn ? cfg->bind_dn : NULL,
	                      LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		set_tls_err(err, errsz, uri, "bind", rc, ld, tls_started);
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &otv);
	return ld;
}

/*
 * Connects to the best server that answers: by priority, equals in random
 * order. Only servers with a priority better than `below` are tried (pass
 * INT_MAX for all). Returns the handle and sets *chosen, or NULL.
 */
LDAP *
dir_ldap_connect(const struct dir_ldap_cfg *cfg, int below, size_t *chosen, char *err, size_t errsz)
{
	size_t n = cfg->nservers;
	size_t *order = xmalloc((n ? n : 1) * sizeof(size_t));
	LDAP *ld = NULL;

	for (size_t i = 0; i < n; i++)
		order[i] = i;
	/* shuffle within each priority level */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && cfg->servers[order[j]].priority == cfg->servers[order[i]].priority)
			j++;
		for (size_t k = j - 1; k > i; k--) {
			size_t r = i + (size_t)random() % (k - i + 1), t = order[k];
			order[k] = order[r];
			order[r] = t;
		}
		i = j;
	}
	snprintf(err, errsz, "no LDAP server configured");
	for (size_t i = 0; i < n && ld == NULL && !(cfg->stopping && cfg->stopping()); i++) {
		const struct dir_server *s = &cfg->servers[order[i]];
		if (s->priority >= below)
			break;
		ld = dir_ldap_open(cfg, s->uri, err, errsz);
		if (ld)
			*chosen = order[i];
	}
	free(order);
	return ld;
}

/*
 * Why the entry's account may not be used, or NULL when it may: for the sync
 * (such people are left out) and for each login (read fresh). AD:
 * userAccountControl bit 2 is "disabled"; accountExpires is a FILETIME.
 * OpenLDAP: ppolicy's permanent (administrative) lock, and RFC 2307's
 * shadowExpire in days since 1970 (0 is ambiguous in shadow(5): never).
 */
const char *
dir_ldap_account_state(LDAP *ld, LDAPMessage *e, int layout)
{
	const char *why = NULL;
	double now = clock_wall();

	if (layout == DIR_LAYOUT_AD) {
		char *uac = dir_ldap_first(ld, e, "userAccountControl");
		char *exp = dir_ldap_first(ld, e, "accountExpires");
		if (uac && (strtoull(uac, NULL, 10) & 2))
			why = "account disabled";
		if (why == NULL && exp) {
			unsigned long long ft = strtoull(exp, NULL, 10);
			/* FILETIME: 100 ns since 1601; 0 and 2^63-1 mean never */
			if (ft != 0 && ft != 9223372036854775807ULL &&
			    (double)ft / 1e7 - 11644473600.0 < now)
				why = "account expired";
		}
		free(uac);
		free(exp);
		return why;
	}
	/* OpenLDAP: ppolicy's permanent (administrative) lock, and RFC 2307 expiry */
	char *locked = dir_ldap_first(ld, e, "pwdAccountLockedTime");
	char *expire = dir_ldap_first(ld, e, "shadowExpire");
	if (locked && strcmp(locked, "000001010000Z") == 0)
		why = "account disabled";
	if (why == NULL && expire && *expire) {
		char *end;
		long days = strtol(expire, &end, 10);
		if (*end == '\0' && days > 0 && (double)days * 86400.0 <= now)
			why = "account expired";
	}
	free(locked);
	free(expire);
	return why;
}

/*
 * Runs a paged search, calling `cb` for each entry. Returns LDAP_SUCCESS,
 * or an LDAP error with `err` set; a callback returning -1 stops the search.
 */
int
dir_ldap_search(LDAP *ld, const struct dir_ldap_cfg *cfg, const char *base, const char *filter,
                char **attrs, dir_entry_cb cb, void *arg, char *err, size_t errsz)
{
	struct berval *cookie = NULL;
	struct timeval tv = clock_timeval(cfg->timeout);
	int rc;

	do {
		LDAPControl *page = NULL, *ctrls[2] = {NULL, NULL}, **rctrls = NULL;
		LDAPMessage *res = NULL, *e;
		int errcode = LDAP_SUCCESS;
		char *matched = NULL, *diag = NULL;

		rc = ldap_create_page_control(ld, (ber_int_t)cfg->page_size, cookie, 0, &page);
		if (rc != LDAP_SUCCESS)
			break;
		ctrls[0] = page;
		rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, ctrls, NULL,
		                       &tv, LDAP_NO_LIMIT, &res);
		ldap_control_free(page);
		if (rc != LDAP_SUCCESS && res == NULL)
			break;
		for (e = ldap_first_entry(ld, res); e; e = ldap_next_entry(ld, e)) {
			if (cb(ld, e, arg) == -1) {
				ldap_msgfree(res);
				if (cookie)
					ber_bvfree(cookie);
				snprintf(err, errsz, "search of %s stopped", base);
				return LDAP_OTHER;
			}
		}
		rc = ldap_parse_result(ld, res, &errcode, &matched, &diag, NULL, &rctrls, 1);
		ldap_memfree(matched);
		ldap_memfree(diag);
		if (rc == LDAP_SUCCESS)
			rc = errcode;
		if (cookie) {
			ber_bvfree(cookie);
			cookie = NULL;
		}
		if (rc == LDAP_SUCCESS && rctrls) {
			LDAPControl *pr =
			    ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL);
			ber_int_t estimate;
			struct berval c = {0, NULL};
			if (pr && ldap_parse_pageresponse_control(ld, pr, &estimate, &c) ==
			              LDAP_SUCCESS) {
				if (c.bv_len > 0)
					cookie = ber_bvdup(&c);
				ber_memfree(c.bv_val);
			}
		}
		ldap_controls_free(rctrls);
	} while (rc == LDAP_SUCCESS && cookie != NULL);
	if (cookie)
		ber_bvfree(cookie);
	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
		char what[300];
		snprintf(what, sizeof(what), "search %s", base);
		set_err(err, errsz, "", what, rc, ld);
		return rc;
	}
	return LDAP_SUCCESS;
}

/*
 * Whether an idle connection still looks open, without waiting (the sync's
 * watch between refreshes). The server's end closed, or the socket gone or
 * in error, is DIR_LDAP_GONE. Bytes waiting while no request is out are
 * DIR_LDAP_UNREAD: a Notice of Disconnection, or TLS records libldap has
 * not read; dir_ldap_probe reads them and tells which.
 */
enum dir_ldap_idle
dir_ldap_idle_check(LDAP *ld)
{
	int fd = -1;
	/* LDAP_OPT_DESC can succeed and give -1 (STYLE.md): check both */
	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0)
		return DIR_LDAP_GONE;
#ifndef POLLRDHUP
#define POLLRDHUP 0 /* then the end of the stream shows as POLLIN: a probe tells */
#endif
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
	int n;
	while ((n = poll(&p, 1, 0)) == -1 && errno == EINTR)
		;
	if (n <= 0)
		return DIR_LDAP_QUIET;
	if (p.revents & (POLLHUP | POLLERR | POLLNVAL | POLLRDHUP))
		return DIR_LDAP_GONE;
	return DIR_LDAP_UNREAD;
}

/*
 * Reads the root DSE, asking for no attributes, within `timeout` seconds:
 * the cheapest request every server answers. Returns LDAP_SUCCESS when the
 * server answered at all (a refusal is an answer: it is there), else the
 * code, with `err` set: no answer in time, the connection lost, or the
 * server saying it is unavailable (as a Notice of Disconnection does).
 */
int
dir_ldap_probe(LDAP *ld, double timeout, char *err, size_t errsz)
{
	char *attrs[] = {(char *)(uintptr_t)LDAP_NO_ATTRS, NULL};
	struct timeval tv = clock_timeval(timeout);
	LDAPMessage *res = NULL;
	int rc = ldap_search_ext_s(ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL,
	                           &tv, 1, &res);

	ldap_msgfree(res);
	if (!LDAP_API_ERROR(rc) && rc != LDAP_UNAVAILABLE)
		return LDAP_SUCCESS;
	snprintf(err, errsz, "no answer to a read of the root DSE: %s", ldap_err2string(rc));
	return rc;
}

/* Reads one string attribute's first value; the caller frees. */
char *
dir_ldap_first(LDAP *ld, LDAPMessage *e, const char *attr)
{
	struct berval **v;
	char *s = NULL;

	if (attr == NULL || *attr == '\0')
		return NULL;
	v = ldap_get_values_len(ld, e, attr);
	if (v && v[0] && v[0]->bv_len > 0 && memchr(v[0]->bv_val, '\0', v[0]->bv_len) == NULL &&
	    utf8_valid(v[0]->bv_val, v[0]->bv_len))
		s = xstrndup(v[0]->bv_val, v[0]->bv_len);
	ldap_value_free_len(v);
	return s;
}

/* Appends every (valid UTF-8) value of an attribute to `out`. */
void
dir_ldap_all(LDAP *ld, LDAPMessage *e, const char *attr, struct strlist *out)
{
	struct berval **v;

	if (attr == NULL || *attr == '\0')
		return;
	v = ldap_get_values_len(ld, e, attr);
	for (size_t i = 0; v && v[i]; i++) {
		if (v[i]->bv_len == 0 || memchr(v[i]->bv_val, '\0', v[i]->bv_len) != NULL ||
		    !utf8_valid(v[i]->bv_val, v[i]->bv_len))
			continue;
		char *s = xstrndup(v[i]->bv_val, v[i]->bv_len);
		strlist_push(out, s);
		free(s);
	}
	ldap_value_free_len(v);
}

/*
 * AD's objectGUID (16 bytes; the first three fields little-endian) as the
 * usual UUID string. Returns NULL when the value is not 16 bytes.
 */
char *
dir_ldap_guid_string(const unsigned char *b, size_t len)
{
	char *s;
	if (len != 16)
		return NULL;
	xasprintf(&s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3],
	          b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
	          b[14], b[15]);
	return s;
}

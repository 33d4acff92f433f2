/*
 * login.c: logging in by an LDAP bind as the user, on worker threads.
 *
 * libldap's bind is blocking, so binds run on a few threads behind a queue
 * (PgBouncer's ldapauth does the same with one); results come back to the
 * loop through a pipe. Each login opens its own connection through the
 * server list (TLS as configured), reads the account's state fresh with the
 * service account, then binds as the user. Disabled and expired accounts
 * fail even when the snapshot has not caught up yet.
 *
 * A login for a username the directory does not know runs the same steps
 * against a decoy DN, so that "no such user" and "wrong password" take the
 * same time. A password never leaves this file but in the bind request, and
 * is wiped when the job ends.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "stafetd.h"
#include "directory.h"
#include "sync.h"

#define MAX_WORKERS 32

struct login_job {
	TAILQ_ENTRY(login_job) entry;
	char *dn; /* NULL: a decoy run, always denied */
	char *id; /* the person's stable id (objectGUID, entryUUID), or NULL */
	char *password;
	size_t pwlen;
	enum dir_login_result result;
	char reason[96];
	dir_login_cb cb;
	void *arg;
};
TAILQ_HEAD(job_list, login_job);

/* The configuration the workers use; replaced on reload, freed by the last user. */
struct shared_cfg {
	int refs;
	struct dir_ldap_cfg *c;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct job_list queue = TAILQ_HEAD_INITIALIZER(queue);
static struct job_list done = TAILQ_HEAD_INITIALIZER(done);
static size_t nqueued;
static bool stopping;
static struct shared_cfg *shared;
static int active_fd[MAX_WORKERS];
static pthread_t threads[MAX_WORKERS];
static int nthreads;
static int done_pipe[2] = {-1, -1};
static struct event *done_ev;
static size_t queue_max;

/* For dir_ldap_connect: no further server once the workers stop. */
static bool
login_stopping(void)
{
	bool stop;
	pthread_mutex_lock(&mu);
	stop = stopping;
	pthread_mutex_unlock(&mu);
	return stop;
}

static void
job_free(struct login_job *j)
{
	if (j == NULL)
		return;
	if (j->password) {
		explicit_wipe(j->password, j->pwlen);
		free(j->password);
	}
	free(j->dn);
	free(j->id);
	free(j);
}

static void
shared_unref(struct shared_cfg *s)
{
	if (s && --s->refs == 0) {
		dir_cfg_free(s->c);
		free(s);
	}
}

/* -- worker side --------------------------------------------------------------- */

static void
track(int slot, LDAP *ld)
{
	int fd = -1;
	if (ld && ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS)
		fd = -1;
	pthread_mutex_lock(&mu);
	active_fd[slot] = fd;
	if (stopping && fd >= 0)
		shutdown(fd, SHUT_RDWR);
	pthread_mutex_unlock(&mu);
}

static bool
unreachable(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR ||
	       rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_TIMELIMIT_EXCEEDED;
}

/*
 * AD explains a failed bind in its diagnostic text ("... data 533, v4563"):
 * the code says why, for the audit log.
 */
static const char *
ad_bind_reason(const char *diag)
{
	static const struct {
		const char *code, *why;
	} codes[] = {
	    {"525", "unknown user"},        {"52e", "wrong password"},
	    {"530", "outside logon hours"}, {"531", "workstation not allowed"},
	    {"532", "password expired"},    {"533", "account disabled"},
	    {"701", "account expired"},     {"773", "password must be changed"},
	    {"775", "account locked"},
	};
	const char *d = diag ? strstr(diag, "data ") : NULL;
	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strncasecmp(d + 5, codes[i].code, 3) == 0)
			return codes[i].why;
	return NULL;
}

/*
 * The filter that finds an entry by its stable id: AD's objectGUID as its
 * sixteen bytes escaped (the string form's first three fields are
 * little-endian), OpenLDAP's entryUUID as it is. -1 for an id not of that
 * form (nothing from it reaches the filter).
 */
static int
id_filter(int layout, const char *id, char *out, size_t outsz)
{
	static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	unsigned char b[16];
	size_t n = 0, o;

	for (const char *p = id; *p; p++) {
		unsigned int v;
		if (*p == '-')
			continue;
		if (n == 16 || !isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
		    sscanf(p, "%2x", &v) != 1)
			return -1;
		b[n++] = (unsigned char)v;
		p++;
	}
	if (n != 16)
		return -1;
	if (layout != DIR_LAYOUT_AD)
		return snprintf(out, outsz, "(entryUUID=%s)", id) < (int)outsz ? 0 : -1;
	o = (size_t)snprintf(out, outsz, "(objectGUID=");
	for (int i = 0; i < 16 && o + 4 < outsz; i++)
		o += (size_t)snprintf(out + o, outsz - o, "\\%02x", b[order[i]]);
	return o + 2 <= outsz && snprintf(out + o, outsz - o, ")") == 1 ? 0 : -1;
}

/*
 * The account's entry under its current DN: the one held (j->dn), or,
 * when that is gone (renamed or moved since the snapshot was read), the
 * entry with the person's stable id; j->dn becomes its DN. An LDAP code.
 */
static int
read_account(LDAP *ld, const struct dir_ldap_cfg *c, struct login_job *j, const char *dn,
             char **attrs, struct timeval *tv, LDAPMessage **res)
{
	char filter[128];
	int rc = ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL,
	                           tv, 1, res);
	LDAPMessage *e;
	char *now;

	if (rc != LDAP_NO_SUCH_OBJECT || j->dn == NULL || j->id == NULL ||
	    id_filter(c->layout, j->id, filter, sizeof(filter)) == -1)
		return rc;
	ldap_msgfree(*res);
	*res = NULL;
	rc = ldap_search_ext_s(ld, c->people_base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL,
	                       tv, 2, res);
	if (rc != LDAP_SUCCESS || ldap_count_entries(ld, *res) != 1)
		return rc == LDAP_SUCCESS ? LDAP_NO_SUCH_OBJECT : rc;
	e = ldap_first_entry(ld, *res);
	if ((now = ldap_get_dn(ld, e)) == NULL)
		return LDAP_NO_SUCH_OBJECT;
	free(j->dn);
	j->dn = xstrdup(now);
	ldap_memfree(now);
	return LDAP_SUCCESS;
}

static void
run_job(const struct dir_ldap_cfg *c, struct login_job *j, int slot)
{
	static char *const ad_attrs[] = {"userAccountControl", "accountExpires", NULL};
	static char *const ol_attrs[] = {"pwdAccountLockedTime", "shadowExpire", NULL};
	char err[512], decoy[1024];
	size_t chosen;
	const char *dn, *state = NULL;
	LDAPMessage *res = NULL;
	struct timeval tv = clock_timeval(c->timeout);
	struct berval cred;
	int rc;
	LDAP *ld;

	j->result = DIR_LOGIN_UNAVAILABLE;
	snprintf(j->reason, sizeof(j->reason), "directory unavailable");
	ld = dir_ldap_connect(c, INT_MAX, &chosen, err, sizeof(err));
	if (ld == NULL) {
		log_warnx("login: no LDAP server for the bind: %s", err);
		return;
	}
	track(slot, ld);
	snprintf(decoy, sizeof(decoy), "cn=stafet-no-such-account,%s", c->people_base);
	dn = j->dn ? j->dn : decoy;

	rc = read_account(ld, c, j, dn,
	                  (char **)(uintptr_t)(c->layout == DIR_LAYOUT_AD ? ad_attrs : ol_attrs),
	                  &tv, &res);
	dn = j->dn ? j->dn : decoy;
	if (rc == LDAP_SUCCESS) {
		LDAPMessage *e = ldap_first_entry(ld, res);
		state = e ? dir_ldap_account_state(ld, e, c->layout) : "no longer in the directory";
	} else if (rc == LDAP_NO_SUCH_OBJECT) {
		state = j->dn ? "no longer in the directory" : "unknown user";
	} else if (unreachable(rc)) {
		log_warnx("login: reading the account state: %s", ldap_err2string(rc));
		goto out;
	} else {
		/* The service account cannot read the entry: say so; fail closed. */
		log_warnx("login: cannot read the account state (%s); check the service "
		          "account's rights",
		          ldap_err2string(rc));
		goto out;
	}
	ldap_msgfree(res);
	res = NULL;

	/* An empty password would be an unauthenticated bind: never sent. */
	cred.bv_val = j->password;
	cred.bv_len = j->pwlen;
	if (j->pwlen == 0) {
		j->result = DIR_LOGIN_DENIED;
		snprintf(j->reason, sizeof(j->reason), "empty password");
		goto out;
	}
	rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc == LDAP_SUCCESS) {
		if (j->dn == NULL) {
			j->result = DIR_LOGIN_DENIED;
			snprintf(j->reason, sizeof(j->reason), "unknown user");
		} else if (state) {
			j->result = DIR_LOGIN_DENIED;
			snprintf(j->reason, sizeof(j->reason), "%s", state);
		} else {
			j->result = DIR_LOGIN_OK;
			snprintf(j->reason, sizeof(j->reason), "ok");
		}
	} else if (unreachable(rc)) {
		log_warnx("login: bind: %s", ldap_err2string(rc));
	} else {
		char *diag = NULL;
		const char *why = NULL;
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		j->result = DIR_LOGIN_DENIED;
		if (state)
			why = state;
		else if (rc == LDAP_INVALID_CREDENTIALS)
			why = ad_bind_reason(diag);
		if (why == NULL && rc == LDAP_INVALID_CREDENTIALS)
			why = "wrong password";
		if (why)
			snprintf(j->reason, sizeof(j->reason), "%s", why);
		else
			snprintf(j->reason, sizeof(j->reason), "bind refused: %s",
			         ldap_err2string(rc));
		ldap_memfree(diag);
	}
out:
	ldap_msgfree(res);
	track(slot, NULL);
	ldap_unbind_ext_s(ld, NULL, NULL);
}

static void *
worker_main(void *arg)
{
	int slot = (int)(intptr_t)arg;

	for (;;) {
		struct login_job *j;
		struct shared_cfg *s;

		pthread_mutex_lock(&mu);
		while (!stopping && TAILQ_EMPTY(&queue))
			pthread_cond_wait(&cond, &mu);
		if (stopping) {
			pthread_mutex_unlock(&mu);
			return NULL;
		}
		j = TAILQ_FIRST(&queue);
		TAILQ_REMOVE(&queue, j, entry);
		nqueued--;
		s = shared;
		s->refs++;
		pthread_mutex_unlock(&mu);

		run_job(s->c, j, slot);
		explicit_wipe(j->password, j->pwlen);

		pthread_mutex_lock(&mu);
		shared_unref(s);
		TAILQ_INSERT_TAIL(&done, j, entry);
		pthread_mutex_unlock(&mu);
		char one = 1;
		if (write(done_pipe[1], &one, 1) == -1 && errno != EAGAIN)
			log_warn("login: wake pipe");
	}
}

/* -- loop side ------------------------------------------------------------------ */

static void
deliver(struct job_list *list)
{
	struct login_job *j;
	while ((j = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, j, entry);
		j->cb(j->result, j->reason, j->arg);
		job_free(j);
	}
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[64];
	struct job_list ready = TAILQ_HEAD_INITIALIZER(ready);
	(void)what;
	(void)arg;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&mu);
	TAILQ_CONCAT(&ready, &done, entry);
	pthread_mutex_unlock(&mu);
	deliver(&ready);
}

void
dir_login_start(struct event_base *base, const struct config *c)
{
	if (*c->ldap_uri == '\0')
		return;
	if (pipe2(done_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("login: pipe");
	done_ev = event_new(base, done_pipe[0], EV_READ | EV_PERSIST, done_cb, NULL);
	event_add(done_ev, NULL);
	shared = xcalloc(1, sizeof(*shared));
	shared->refs = 1;
	shared->c = dir_cfg_new(c);
	shared->c->stopping = login_stopping;
	queue_max = (size_t)c->login_queue_max;
	stopping = false;
	for (int i = 0; i < c->login_workers && i < MAX_WORKERS; i++) {
		active_fd[i] = -1;
		if (pthread_create(&threads[i], NULL, worker_main, (void *)(intptr_t)i) != 0)
			fatalx("login: cannot start a worker thread");
		nthreads++;
	}
}

/* A reload: jobs started keep the settings they began with. */
void
dir_login_reconfigure(const struct config *c)
{
	if (nthreads == 0)
		return;
	struct shared_cfg *s = xcalloc(1, sizeof(*s));
	s->refs = 1;
	s->c = dir_cfg_new(c);
	s->c->stopping = login_stopping;
	pthread_mutex_lock(&mu);
	shared_unref(shared);
	shared = s;
	queue_max = (size_t)c->login_queue_max;
	pthread_mutex_unlock(&mu);
}

/* Binds still running are cut short; every waiting caller hears "unavailable". */
void
dir_login_stop(void)
{
	struct job_list left = TAILQ_HEAD_INITIALIZER(left);

	if (nthreads > 0) {
		pthread_mutex_lock(&mu);
		stopping = true;
		for (int i = 0; i < nthreads; i++)
			if (active_fd[i] >= 0)
				shutdown(active_fd[i], SHUT_RDWR);
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&mu);
		for (int i = 0; i < nthreads; i++)
			pthread_join(threads[i], NULL);
		nthreads = 0;
	}
	TAILQ_CONCAT(&left, &done, entry);
	deliver(&left);
	struct login_job *j;
	while ((j = TAILQ_FIRST(&queue)) != NULL) {
		TAILQ_REMOVE(&queue, j, entry);
		j->result = DIR_LOGIN_UNAVAILABLE;
		snprintf(j->reason, sizeof(j->reason), "stopping");
		TAILQ_INSERT_TAIL(&left, j, entry);
	}
	nqueued = 0;
	deliver(&left);
	shared_unref(shared);
	shared = NULL;
	if (done_ev) {
		event_free(done_ev);
		done_ev = NULL;
	}
	for (int i = 0; i < 2; i++)
		if (done_pipe[i] != -1) {
			close(done_pipe[i]);
			done_pipe[i] = -1;
		}
}

/*
 * Queues a login: `dn` the account's DN, or NULL for a decoy run (unknown
 * username); the password is copied and wiped after use. `cb` runs on the
 * loop. Returns -1 when logins cannot be queued (no directory, queue full).
 */
int
dir_login_submit(const char *dn, const char *id, const char *password, size_t pwlen,
                 dir_login_cb cb, void *arg)
{
	struct login_job *j;

	if (nthreads == 0)
		return -1;
	pthread_mutex_lock(&mu);
	if (nqueued >= queue_max || stopping) {
		pthread_mutex_unlock(&mu);
		return -1;
	}
	pthread_mutex_unlock(&mu);
	j = xcalloc(1, sizeof(*j));
	j->dn = dn ? xstrdup(dn) : NULL;
	j->id = dn && id ? xstrdup(id) : NULL;
	j->password = xmalloc(pwlen + 1);
	memcpy(j->password, password, pwlen);
	j->password[pwlen] = '\0';
	j->pwlen = pwlen;
	j->cb = cb;
	j->arg = arg;
	pthread_mutex_lock(&mu);
	TAILQ_INSERT_TAIL(&queue, j, entry);
	nqueued++;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&mu);
	return 0;
}

/*
 * smtp.c: sending mail through the SMTP relay, on a worker thread.
 *
 * libcurl's SMTP is blocking, so one thread sends the mails the loop
 * hands it, one after the other on one curl handle: the connection to
 * the relay stays open between mails (curl reuses it) and is opened again
 * only when it breaks or the settings change. Results go back to the loop
 * through a pipe. The loop owns everything but the two queues; a mail is
 * the worker's from smtp_submit() until it is back on the done queue.
 *
 * A stop aborts the mail in flight (curl's progress callback); that mail's
 * outbox row keeps its lease and is sent again after the lease ends, with
 * the same Message-ID.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "stafetd.h"
#include "handover.h"
#include "alerts.h"

TAILQ_HEAD(mail_list, smtp_mail);

/* What the worker needs of the configuration; copied under the lock. */
struct smtp_cfg {
	char *url, *ca_file, *username, *password, *from;
	int starttls;
	long timeout_ms;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct mail_list queue = TAILQ_HEAD_INITIALIZER(queue);
static struct mail_list done = TAILQ_HEAD_INITIALIZER(done);
static struct smtp_cfg shared;     /* under mu */
static unsigned shared_generation; /* under mu */
static bool stopping;              /* under mu; also read by the progress callback */
static volatile int abort_now;
static pthread_t thread;
static bool started;
static int done_pipe[2] = {-1, -1};
static struct event *done_ev;
static smtp_done_cb done_cb_fn;
static size_t inflight; /* loop: submitted, not yet back */

static void
cfg_clear(struct smtp_cfg *c)
{
	free(c->url);
	free(c->ca_file);
	free(c->username);
	if (c->password) {
		explicit_wipe(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->from);
	memset(c, 0, sizeof(*c));
}

static void
cfg_copy(struct smtp_cfg *dst, const struct smtp_cfg *src)
{
	dst->url = src->url ? xstrdup(src->url) : NULL;
	dst->ca_file = src->ca_file ? xstrdup(src->ca_file) : NULL;
	dst->username = src->username ? xstrdup(src->username) : NULL;
	dst->password = src->password ? xstrdup(src->password) : NULL;
	dst->from = src->from ? xstrdup(src->from) : NULL;
	dst->starttls = src->starttls;
	dst->timeout_ms = src->timeout_ms;
}

void
smtp_mail_free(struct smtp_mail *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nrcpt; i++)
		free(m->rcpt[i]);
	free(m->rcpt);
	free(m->data);
	free(m);
}

struct reader {
	const char *p;
	size_t left;
};

static size_t
read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct reader *r = arg;
	size_t n = size * nmemb;
	if (n > r->left)
		n = r->left;
	memcpy(buf, r->p, n);
	r->p += n;
	r->left -= n;
	return n;
}

static int
progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)arg;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return abort_now ? 1 : 0;
}

/* Sends one mail on handle h with settings c; fills in the result. */
static void
send_one(CURL *h, const struct smtp_cfg *c, struct smtp_mail *m)
{
	struct curl_slist *rcpt = NULL;
	struct reader rd = {m->data, m->len};
	char from[512], errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	long code = 0;

	snprintf(from, sizeof(from), "<%s>", c->from ? c->from : "");
	for (size_t i = 0; i < m->nrcpt; i++) {
		char to[512];
		snprintf(to, sizeof(to), "<%s>", m->rcpt[i]);
		rcpt = curl_slist_append(rcpt, to);
	}
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_USE_SSL,
	                 c->starttls == SMTP_STARTTLS_REQUIRED   ? (long)CURLUSESSL_ALL
	                 : c->starttls == SMTP_STARTTLS_OPTIONAL ? (long)CURLUSESSL_TRY
	                                                         : (long)CURLUSESSL_NONE);
	curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file && *c->ca_file ? c->ca_file : NULL);
	if (c->username && *c->username) {
		curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "");
	}
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &rd);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->len);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpt);
	m->code = code;
	if (rc == CURLE_OK) {
		m->result = SMTP_SENT;
		*m->error = '\0';
		return;
	}
	/*
	 * A 5xx from the relay refuses this mail for good; anything else (4xx,
	 * a connection or TLS failure, a login the operator must fix) may pass
	 * later. The connection is dropped either way.
	 */
	m->result = (code >= 500 && code < 600 && rc != CURLE_LOGIN_DENIED) ? SMTP_PERMANENT
	                                                                    : SMTP_TEMPORARY;
	if (code)
		snprintf(m->error, sizeof(m->error), "%s (SMTP %ld): %.180s",
		         curl_easy_strerror(rc), code, *errbuf ? errbuf : "-");
	else
		snprintf(m->error, sizeof(m->error), "%s: %.180s", curl_easy_strerror(rc),
		         *errbuf ? errbuf : "-");
}

static void *
worker_main(void *arg)
{
	struct smtp_cfg c = {0};
	unsigned gen = 0;
	CURL *h = NULL;
	(void)arg;

	pthread_mutex_lock(&mu);
	for (;;) {
		struct smtp_mail *m;
		while (!stopping && TAILQ_EMPTY(&queue))
			pthread_cond_wait(&cond, &mu);
		if (stopping)
			break;
		m = TAILQ_FIRST(&queue);
		TAILQ_REMOVE(&queue, m, entry);
		if (gen != shared_generation || h == NULL) {
			/* new settings: a new handle, so a new connection */
			cfg_clear(&c);
			cfg_copy(&c, &shared);
			gen = shared_generation;
			if (h)
				curl_easy_cleanup(h);
			h = curl_easy_init();
		}
		pthread_mutex_unlock(&mu);
		if (h == NULL || c.url == NULL || *c.url == '\0') {
			m->result = SMTP_TEMPORARY;
			snprintf(m->error, sizeof(m->error), "no SMTP relay configured");
		} else {
			send_one(h, &c, m);
			if (m->result != SMTP_SENT) {
				curl_easy_cleanup(h); /* start over on a fresh connection */
				h = NULL;
			}
		}
		pthread_mutex_lock(&mu);
		TAILQ_INSERT_TAIL(&done, m, entry);
		char one = 1;
		if (write(done_pipe[1], &one, 1) == -1 && errno != EAGAIN)
			log_warn("smtp: wake pipe");
	}
	pthread_mutex_unlock(&mu);
	if (h)
		curl_easy_cleanup(h);
	cfg_clear(&c);
	return NULL;
}

static void
deliver_done(void)
{
	struct mail_list list = TAILQ_HEAD_INITIALIZER(list);
	struct smtp_mail *m;

	pthread_mutex_lock(&mu);
	TAILQ_CONCAT(&list, &done, entry);
	pthread_mutex_unlock(&mu);
	while ((m = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, m, entry);
		inflight--;
		done_cb_fn(m); /* the callback owns m now */
	}
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[256];
	(void)what;
	(void)arg;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	deliver_done();
}

static void
set_shared(const struct config *cfg)
{
	struct smtp_cfg n = {
	    .url = cfg->smtp_url,
	    .ca_file = cfg->smtp_ca_file,
	    .username = cfg->smtp_username,
	    .password = cfg->smtp_password,
	    .from = cfg->smtp_from,
	    .starttls = cfg->smtp_starttls,
	    .timeout_ms = (long)(cfg->smtp_timeout * 1000),
	};
	pthread_mutex_lock(&mu);
	bool same =
	    shared.url && strcmp(shared.url, n.url) == 0 &&
	    strcmp(shared.ca_file, n.ca_file) == 0 && strcmp(shared.username, n.username) == 0 &&
	    strcmp(shared.password ? shared.password : "", n.password ? n.password : "") == 0 &&
	    strcmp(shared.from, n.from) == 0 && shared.starttls == n.starttls &&
	    shared.timeout_ms == n.timeout_ms;
	if (!same) {
		cfg_clear(&shared);
		cfg_copy(&shared, &n);
		if (shared.password == NULL)
			shared.password = xstrdup("");
		shared_generation++;
	}
	pthread_mutex_unlock(&mu);
}

void
smtp_start(struct event_base *base, const struct config *cfg, smtp_done_cb cb)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("smtp: curl_global_init failed");
	done_cb_fn = cb;
	set_shared(cfg);
	if (pipe2(done_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("smtp: pipe");
	done_ev = event_new(base, done_pipe[0], EV_READ | EV_PERSIST, done_cb, NULL);
	if (done_ev == NULL || event_add(done_ev, NULL) == -1)
		fatalx("smtp: event_new");
	stopping = false;
	abort_now = 0;
	if (pthread_create(&thread, NULL, worker_main, NULL) != 0)
		fatalx("smtp: cannot start the worker thread");
	started = true;
}

void
smtp_reconfigure(const struct config *cfg)
{
	if (started)
		set_shared(cfg);
}

/* Queues a mail; the done callback gets it back. */
void
smtp_submit(struct smtp_mail *m)
{
	pthread_mutex_lock(&mu);
	TAILQ_INSERT_TAIL(&queue, m, entry);
	inflight++;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&mu);
}

size_t
smtp_inflight(void)
{
	return inflight;
}

/* Stops the worker (aborting a mail in flight); unsent mails are freed
 * without their callback: their rows wait out the lease. */
void
smtp_stop(void (*free_arg)(void *))
{
	struct smtp_mail *m;

	if (!started)
		return;
	pthread_mutex_lock(&mu);
	stopping = true;
	abort_now = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
	pthread_join(thread, NULL);
	started = false;
	while ((m = TAILQ_FIRST(&queue)) != NULL) {
		TAILQ_REMOVE(&queue, m, entry);
		if (free_arg)
			free_arg(m->arg);
		smtp_mail_free(m);
	}
	while ((m = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, m, entry);
		if (free_arg)
			free_arg(m->arg);
		smtp_mail_free(m);
	}
	inflight = 0;
	event_free(done_ev);
	done_ev = NULL;
	for (int i = 0; i < 2; i++) {
		close(done_pipe[i]);
		done_pipe[i] = -1;
	}
	cfg_clear(&shared);
	curl_global_cleanup();
}

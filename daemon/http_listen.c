/*
 * http_listen.c: the HTTP server's listening socket and who gets through
 * it. It binds the socket, pauses accepting at the limit of open
 * connections or when the process is out of descriptors (a ready listening
 * socket would otherwise spin the loop) and resumes after, and admits a
 * connection only while its client address is under its own limit
 * (http_peers.c): one over it is answered 503 and closed here, never
 * becoming a connection.
 *
 * The connections themselves are http.c's, which calls this file; this
 * file never calls http.c, and learns the count of open connections from
 * it (http_listen_opened, http_listen_closed).
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "stafetd.h"
#include "http_internal.h"

/* Seconds a client over its address's limit is told to wait. */
#define REFUSED_RETRY_AFTER 10

static struct evconnlistener *listener;
static struct event *resume_ev;
static bool listener_paused;
static double emfile_logged;
static size_t nopen; /* connections open, as http.c last said */

/* Accepting again once under the limit, unless the pause after EMFILE runs. */
static void
maybe_resume(void)
{
	if (listener && listener_paused && nopen < (size_t)config_current()->http_max_connections &&
	    !evtimer_pending(resume_ev, NULL)) {
		evconnlistener_enable(listener);
		listener_paused = false;
	}
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	maybe_resume();
}

/*
 * Answers a connection over its address's limit with 503 and closes it at
 * once, without a connection's state: a flood from one address costs no
 * memory and holds no descriptor. The answer is one non-blocking write (it
 * is far smaller than a socket's buffer); what the client sent already is
 * read and dropped, so that the close sends a FIN rather than a reset that
 * could destroy the answer.
 */
static void
refuse_connection(evutil_socket_t fd)
{
	static const char body[] = "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\","
	                           "\"status\":503,\"detail\":\"Too many connections from this "
	                           "address.\"}";
	char buf[512], sink[4096];
	int n;

	n = snprintf(buf, sizeof(buf),
	             "HTTP/1.1 503 Service Unavailable\r\nDate: %s\r\nContent-Length: %zu\r\n"
	             "Content-Type: application/problem+json\r\nRetry-After: %d\r\n"
	             "Connection: close\r\nCache-Control: no-store\r\n"
	             "X-Content-Type-Options: nosniff\r\n\r\n%s",
	             http_date(), sizeof(body) - 1, REFUSED_RETRY_AFTER, body);
	if (n > 0 && (size_t)n < sizeof(buf) &&
	    send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("http: answering a refused connection: %s", strerror(errno));
	for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	evutil_closesocket(fd);
}

/*
 * Counts an accepted socket against its client address. False when the
 * address is over its limit: the socket was answered 503 and closed.
 */
bool
http_listen_admit(struct event_base *base, evutil_socket_t fd, const struct sockaddr *sa,
                  struct http_peer **counted)
{
	if (http_peers_open(base, sa, counted))
		return true;
	metrics_count("http_connections_refused_total");
	refuse_connection(fd);
	return false;
}

/* A connection opened: n are open now; at the limit, accepting pauses. */
void
http_listen_opened(size_t n)
{
	nopen = n;
	if (listener && nopen >= (size_t)config_current()->http_max_connections &&
	    !listener_paused) {
		evconnlistener_disable(listener);
		listener_paused = true;
		log_warnx("http: %zu connections open, the limit; pausing accept", nopen);
	}
}

/* A connection closed: n are open now. */
void
http_listen_closed(size_t n)
{
	nopen = n;
	maybe_resume();
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {1, 0};
	(void)arg;

	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* Out of descriptors: pause rather than spin on a ready socket. */
		double now = clock_mono();
		if (now - emfile_logged > 10) {
			log_warnx("http: accept: %s; pausing accept for 1s", strerror(err));
			emfile_logged = now;
		}
		metrics_count("http_accept_errors_total");
		evconnlistener_disable(l);
		listener_paused = true;
		evtimer_add(resume_ev, &tv);
		return;
	}
	log_debug("http: accept: %s", strerror(err));
}

/* Listens on the configured address; accepted sockets go to on_accept. */
int
http_listen_start(struct event_base *base, const struct config *c, evconnlistener_cb on_accept)
{
	struct addrinfo hints, *res = NULL;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", c->listen_port);
	if ((rc = getaddrinfo(*c->listen_host ? c->listen_host : NULL, port, &hints, &res)) != 0) {
		log_errx("http: cannot resolve listen address %s: %s", c->listen, gai_strerror(rc));
		return -1;
	}
	listener = evconnlistener_new_bind(base, on_accept, NULL,
	                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                                       LEV_OPT_CLOSE_ON_EXEC,
	                                   1024, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (listener == NULL) {
		log_warn("http: cannot listen on %s", c->listen);
		return -1;
	}
	evconnlistener_set_error_cb(listener, accept_error_cb);
	resume_ev = evtimer_new(base, resume_cb, NULL);
	log_notice("http: listening on %s", c->listen);
	return 0;
}

/* Closes the listening socket; what is open stays open. */
void
http_listen_stop(void)
{
	if (listener) {
		evconnlistener_free(listener);
		listener = NULL;
	}
	if (resume_ev) {
		event_free(resume_ev);
		resume_ev = NULL;
	}
	http_peers_stop();
}

/*
 * http.c: the HTTP/1.1 server's connections on libevent bufferevents:
 * reading each request, handing it to the dispatcher, and writing its
 * response. The listening socket, the pauses of accept and the admission
 * per client address are http_listen.c's; query parameters are
 * http_query.c's.
 *
 * Our own rather than evhttp, because every limit must answer as a JSON
 * problem (evhttp answers 413 in HTML) and the hostile cases need control
 * evhttp does not give: a deadline for the whole request head (slowloris),
 * running from accept on a new connection, caps on open connections in all
 * and per client address (http_peers.c), a pause on EMFILE instead of
 * spinning (http_listen.c), and strict framing. One request per connection
 * is handled at a time; pipelined requests wait in the input buffer until
 * the response before them is out.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "stafetd.h"
#include "http_internal.h"

#define CHUNK_LINE_MAX 1024
#define TRAILER_MAX    8192
/* Chunk extensions are read and dropped: bound them per request too. */
#define CHUNK_EXT_MAX 4096
/*
 * Leading zeros and blanks in a size line are legal, so with 1-byte chunks
 * a body could take a thousand times its size in input. A request's size
 * lines (CRLF included) may total CHUNK_FRAMING_FREE plus the body bytes
 * read so far: chunks of 3 bytes or more never reach that, 1-byte chunks
 * after 32 KiB of body.
 */
#define CHUNK_FRAMING_FREE (64 * 1024)
/*
 * After an error answer (413 say) the client may still be sending; closing
 * with unread input makes the kernel send RST, and the client may lose our
 * answer. So we read and discard for a while first, as nginx does.
 */
#define LINGER_SECONDS   2.0
#define LINGER_MAX_BYTES (16 * 1024 * 1024)

enum conn_state {
	CONN_IDLE,       /* waiting for a request */
	CONN_HEAD,       /* reading a request head */
	CONN_BODY,       /* reading a Content-Length body */
	CONN_CHUNK_SIZE, /* chunked body: size line */
	CONN_CHUNK_DATA, /* chunked body: data */
	CONN_CHUNK_END,  /* chunked body: CRLF after data */
	CONN_TRAILER,    /* chunked body: trailer lines */
	CONN_HANDLING,   /* a handler owns the request */
	CONN_CLOSING,    /* flushing the last response */
	CONN_LINGER,     /* after an error: discarding what the client still sends */
};

struct http_conn {
	struct bufferevent *bev;
	struct event *timer;
	enum conn_state state;
	struct http_request *req;
	uint64_t remaining;
	size_t trailer_bytes;
	size_t ext_bytes;     /* chunk extensions read in this request */
	size_t framing_bytes; /* chunk size lines read in this request */
	bool in_read;         /* inside the read loop: respond must not recurse */
	bool dead;            /* the socket is gone while a handler holds the request */
	bool linger;          /* discard input for a while before closing */
	size_t lingered;
	size_t head_scanned;       /* head bytes already searched for its end */
	double body_deadline;      /* monotonic time the body must have arrived by */
	bool kept_alive;           /* a response went out and the connection stayed open */
	struct http_peer *counted; /* its address's count of open connections */
	char peer[64];
	TAILQ_ENTRY(http_conn) entry;
};

static TAILQ_HEAD(conn_list, http_conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static size_t nconns;
static struct event_base *base;
static bool accepting;        /* started, not stopping: a response may keep its connection */
static http_handler dispatch; /* where complete requests go (router_init sets it) */

static void conn_process(struct http_conn *);
static void conn_free(struct http_conn *);
static void conn_readcb(struct bufferevent *, void *);
static void make_request_id(char out[17]);
static void conn_start_body(struct http_conn *, enum conn_state);

static const struct config *
cfg(void)
{
	return config_current();
}

static void
conn_arm_timer(struct http_conn *c, double secs)
{
	struct timeval tv = clock_timeval(secs);
	evtimer_add(c->timer, &tv);
}

static void
request_free(struct http_request *req)
{
	if (req == NULL)
		return;
	http_head_free(&req->head);
	if (req->body) {
		/* JSON bodies may carry passwords: leave nothing in freed memory. */
		size_t n = evbuffer_get_length(req->body);
		if (n && req->route && (req->route->flags & ROUTE_JSON))
			explicit_wipe(evbuffer_pullup(req->body, -1), n);
		evbuffer_free(req->body);
	}
	json_decref(req->json);
	for (int i = 0; i < req->nresp_headers; i++) {
		free(req->resp_headers[i].name);
		free(req->resp_headers[i].value);
	}
	free(req);
}

/* Frees the event before its socket; safe with a handler still pending. */
static void
conn_free(struct http_conn *c)
{
	if (c->timer) {
		event_free(c->timer);
		c->timer = NULL;
	}
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->state == CONN_HANDLING && c->req) {
		/* The handler still holds the request: free when it responds. */
		c->dead = true;
		return;
	}
	request_free(c->req);
	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	http_peers_close(c->counted);
	free(c);
	http_listen_closed(nconns);
}

static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;
	(void)bev;
	if (c->state != CONN_CLOSING)
		return;
	if (!c->linger) {
		conn_free(c);
		return;
	}
	/* Answer sent: half-close, then drain what the client still sends. */
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	c->state = CONN_LINGER;
	evbuffer_drain(bufferevent_get_input(c->bev),
	               evbuffer_get_length(bufferevent_get_input(c->bev)));
	conn_arm_timer(c, LINGER_SECONDS);
	bufferevent_enable(c->bev, EV_READ);
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if ((what & BEV_EVENT_ERROR) && errno != ECONNRESET && errno != EPIPE)
			log_debug("http: connection from %s: %s", c->peer, strerror(errno));
		conn_free(c);
	}
}

/* Answers an error found while reading a request, then closes. */
static void
conn_fail(struct http_conn *c, int status, const char *why)
{
	struct http_request *req = c->req;

	log_info("http: %s: %d %s", c->peer, status, why);
	if (req == NULL) {
		req = xcalloc(1, sizeof(*req));
		req->conn = c;
		req->started = clock_mono();
		snprintf(req->peer, sizeof(req->peer), "%s", c->peer);
		make_request_id(req->id);
		c->req = req;
	}
	req->head.keep_alive = false;
	c->linger = true;
	c->state = CONN_HANDLING;
	http_problem(req, status, NULL, why);
}

static void
conn_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	(void)fd;
	(void)what;
	switch (c->state) {
	case CONN_IDLE:
	case CONN_CLOSING:
	case CONN_LINGER:
		conn_free(c);
		break;
	case CONN_HANDLING:
		break;
	default:
		metrics_count("http_request_timeouts_total");
		bufferevent_disable(c->bev, EV_READ);
		conn_fail(c, 408, "request not received in time");
		break;
	}
}

static void
make_request_id(char out[17])
{
	static uint64_t counter;
	static uint64_t seed;
	if (seed == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed =
		    ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40);
	}
	snprintf(out, 17, "%016llx",
	         (unsigned long long)(seed + ++counter * 0x9E3779B97F4A7C15ULL));
}

static void
conn_dispatch(struct http_conn *c)
{
	struct http_request *req = c->req;

	c->state = CONN_HANDLING;
	evtimer_del(c->timer);
	/* Pipelined bytes stay buffered; reading resumes after the response. */
	bufferevent_disable(c->bev, EV_READ);
	dispatch(req);
}

/* Starts a request from a complete head of `len` bytes in the input. */
static void
conn_start_request(struct http_conn *c, size_t len)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct http_request *req = xcalloc(1, sizeof(*req));
	const char *why = NULL;
	unsigned char *data;
	int rc;

	req->conn = c;
	req->started = clock_mono();
	snprintf(req->peer, sizeof(req->peer), "%s", c->peer);
	make_request_id(req->id);
	c->req = req;
	data = evbuffer_pullup(in, (ev_ssize_t)len);
	rc = http_parse_head((const char *)data, len, &req->head, &why);
	evbuffer_drain(in, len);
	if (rc != 0) {
		conn_fail(c, rc, why);
		return;
	}
	req->body = evbuffer_new();
	if (req->head.has_length && req->head.content_length > cfg()->http_max_body) {
		conn_fail(c, 413, "request body larger than the limit");
		return;
	}
	if (req->head.expect_continue && (req->head.chunked || req->head.content_length > 0))
		bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	if (req->head.chunked) {
		c->trailer_bytes = 0;
		c->ext_bytes = 0;
		c->framing_bytes = 0;
		conn_start_body(c, CONN_CHUNK_SIZE);
	} else if (req->head.has_length && req->head.content_length > 0) {
		c->remaining = req->head.content_length;
		conn_start_body(c, CONN_BODY);
	} else {
		conn_dispatch(c);
	}
}

/*
 * Finds the end of a request head ("\n\r\n" or "\n\n"); returns its length,
 * or 0. Searching resumes where the last call stopped (less the two bytes a
 * terminator can straddle), so a head trickling in byte by byte costs linear
 * time, not quadratic.
 */
static size_t
find_head_end(struct evbuffer *in, size_t *scanned)
{
	struct evbuffer_ptr from, a, b;
	size_t best = 0, len = evbuffer_get_length(in);

	if (evbuffer_ptr_set(in, &from, *scanned > 2 ? *scanned - 2 : 0, EVBUFFER_PTR_SET) != 0)
		evbuffer_ptr_set(in, &from, 0, EVBUFFER_PTR_SET);
	a = evbuffer_search(in, "\n\r\n", 3, &from);
	b = evbuffer_search(in, "\n\n", 2, &from);
	if (a.pos >= 0)
		best = (size_t)a.pos + 3;
	if (b.pos >= 0 && (best == 0 || (size_t)b.pos + 2 < best))
		best = (size_t)b.pos + 2;
	*scanned = best ? 0 : len;
	return best;
}

/*
 * A body has http_header_timeout from the end of the head, and one second
 * more for every BODY_MIN_RATE bytes that arrive (as Apache's
 * mod_reqtimeout): a body that trickles in slower than that is cut with 408
 * however steadily it comes, so a slow-drip client holds a connection for a
 * bounded time.
 */
#define BODY_MIN_RATE 500.0

static void
conn_start_body(struct http_conn *c, enum conn_state state)
{
	c->state = state;
	c->body_deadline = clock_mono() + cfg()->http_header_timeout;
	conn_arm_timer(c, cfg()->http_header_timeout);
}

/* Moves up to `c->remaining` body bytes from the input; false on overflow. */
static bool
conn_take_body(struct http_conn *c, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	size_t n = avail < c->remaining ? avail : (size_t)c->remaining;

	if (evbuffer_get_length(c->req->body) + n > cfg()->http_max_body)
		return false;
	evbuffer_remove_buffer(in, c->req->body, n);
	c->remaining -= n;
	if (n > 0) {
		double left;
		c->body_deadline += (double)n / BODY_MIN_RATE;
		left = c->body_deadline - clock_mono();
		conn_arm_timer(c, left > 0 ? left : 0);
	}
	return true;
}

/*
 * After a chunk size's digits: only blanks, then nothing or ";" and an
 * extension without control characters ("5 6" or "5;a<LF>b" would be
 * read otherwise by another parser).
 */
static bool
chunk_tail_ok(const char *line, size_t n)
{
	size_t i = 0;

	while (i < n && isxdigit((unsigned char)line[i]))
		i++;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < n && line[i] != ';')
		return false;
	for (; i < n; i++)
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
			return false;
	return true;
}

/* A trailer field line: a token, a colon, a value without controls. */
static bool
trailer_line_ok(const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);

	if (colon == NULL || colon == line)
		return false;
	for (const char *p = line; p < colon; p++)
		if (!(isalnum((unsigned char)*p) || (*p && strchr("!#$%&'*+-.^_`|~", *p) != NULL)))
			return false;
	for (const char *p = colon + 1; p < line + n; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

/* What a step of the parse leaves to conn_process: another step, a wait for
 * more input (or for the handler), or nothing (the connection is freed). */
enum conn_step { STEP_AGAIN, STEP_WAIT, STEP_GONE };

static enum conn_step
step_idle(struct http_conn *c, struct evbuffer *in)
{
	unsigned char ch;

	/* Tolerate stray CRLFs between requests (RFC 9112 2.2). */
	while (evbuffer_copyout(in, &ch, 1) == 1 && (ch == '\r' || ch == '\n'))
		evbuffer_drain(in, 1);
	if (evbuffer_get_length(in) == 0)
		return STEP_WAIT;
	c->state = CONN_HEAD;
	c->head_scanned = 0;
	/* A new connection's head is due a header timeout after accept. */
	if (c->kept_alive)
		conn_arm_timer(c, cfg()->http_header_timeout);
	return STEP_AGAIN;
}

static enum conn_step
step_head(struct http_conn *c, struct evbuffer *in)
{
	size_t n = find_head_end(in, &c->head_scanned);

	if (n == 0) {
		if (evbuffer_get_length(in) > cfg()->http_max_header)
			conn_fail(c, 431, "request head larger than the limit");
		return STEP_WAIT;
	}
	if (n > cfg()->http_max_header) {
		conn_fail(c, 431, "request head larger than the limit");
		return STEP_WAIT;
	}
	conn_start_request(c, n);
	return STEP_AGAIN;
}

/* A Content-Length body (whole: dispatched), or one chunk's data (whole:
 * its CRLF is next). */
static enum conn_step
step_body(struct http_conn *c, struct evbuffer *in, bool chunk)
{
	if (!conn_take_body(c, in)) {
		conn_fail(c, 413, "request body larger than the limit");
		return STEP_WAIT;
	}
	if (c->remaining > 0)
		return STEP_WAIT;
	if (chunk)
		c->state = CONN_CHUNK_END;
	else
		conn_dispatch(c);
	return STEP_AGAIN;
}

static enum conn_step
step_chunk_size(struct http_conn *c, struct evbuffer *in)
{
	uint64_t size;
	size_t n;
	/* CRLF only: a bare LF is where parsers disagree on framing. */
	char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT);
	const char *ext;

	if (line == NULL) {
		if (evbuffer_get_length(in) > CHUNK_LINE_MAX)
			conn_fail(c, 400, "chunk size line too long");
		return STEP_WAIT;
	}
	if (n > CHUNK_LINE_MAX || http_decode_chunk_size(line, n, &size) == -1 ||
	    !chunk_tail_ok(line, n)) {
		free(line);
		conn_fail(c, 400, "malformed chunk size");
		return STEP_WAIT;
	}
	ext = memchr(line, ';', n);
	c->ext_bytes += ext ? n - (size_t)(ext - line) : 0;
	free(line);
	if (c->ext_bytes > CHUNK_EXT_MAX) {
		conn_fail(c, 400, "chunk extensions too long");
		return STEP_WAIT;
	}
	c->framing_bytes += n + 2;
	if (c->framing_bytes > CHUNK_FRAMING_FREE + evbuffer_get_length(c->req->body)) {
		conn_fail(c, 400, "chunked framing too large");
		return STEP_WAIT;
	}
	if (size > cfg()->http_max_body ||
	    evbuffer_get_length(c->req->body) + size > cfg()->http_max_body) {
		conn_fail(c, 413, "request body larger than the limit");
		return STEP_WAIT;
	}
	c->remaining = size;
	c->state = size == 0 ? CONN_TRAILER : CONN_CHUNK_DATA;
	return STEP_AGAIN;
}

static enum conn_step
step_chunk_end(struct http_conn *c, struct evbuffer *in)
{
	size_t n;
	char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT);

	if (line == NULL) {
		if (evbuffer_get_length(in) >= 2)
			conn_fail(c, 400, "malformed chunked body");
		return STEP_WAIT;
	}
	free(line);
	if (n != 0) {
		conn_fail(c, 400, "malformed chunked body");
		return STEP_WAIT;
	}
	c->state = CONN_CHUNK_SIZE;
	return STEP_AGAIN;
}

static enum conn_step
step_trailer(struct http_conn *c, struct evbuffer *in)
{
	size_t n;
	char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT);

	if (line == NULL) {
		if (evbuffer_get_length(in) > TRAILER_MAX)
			conn_fail(c, 431, "trailer too large");
		return STEP_WAIT;
	}
	/* Trailer fields are dropped, but only well-formed ones. */
	if (n > 0 && !trailer_line_ok(line, n)) {
		free(line);
		conn_fail(c, 400, "malformed trailer field");
		return STEP_WAIT;
	}
	free(line);
	c->trailer_bytes += n + 2;
	if (c->trailer_bytes > TRAILER_MAX) {
		conn_fail(c, 431, "trailer too large");
		return STEP_WAIT;
	}
	if (n == 0)
		conn_dispatch(c);
	return STEP_AGAIN;
}

static enum conn_step
step_linger(struct http_conn *c, struct evbuffer *in)
{
	c->lingered += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (c->lingered > LINGER_MAX_BYTES) {
		c->in_read = false;
		conn_free(c);
		return STEP_GONE;
	}
	return STEP_WAIT;
}

/* Advances the parse state as far as the buffered input allows. */
static void
conn_process(struct http_conn *c)
{
	struct evbuffer *in;
	enum conn_step st = STEP_AGAIN;

	if (c->bev == NULL)
		return;
	in = bufferevent_get_input(c->bev);
	c->in_read = true;
	while (st == STEP_AGAIN) {
		switch (c->state) {
		case CONN_IDLE:
			st = step_idle(c, in);
			break;
		case CONN_HEAD:
			st = step_head(c, in);
			break;
		case CONN_BODY:
			st = step_body(c, in, false);
			break;
		case CONN_CHUNK_SIZE:
			st = step_chunk_size(c, in);
			break;
		case CONN_CHUNK_DATA:
			st = step_body(c, in, true);
			break;
		case CONN_CHUNK_END:
			st = step_chunk_end(c, in);
			break;
		case CONN_TRAILER:
			st = step_trailer(c, in);
			break;
		case CONN_LINGER:
			st = step_linger(c, in);
			break;
		case CONN_HANDLING:
		case CONN_CLOSING:
			st = STEP_WAIT;
			break;
		}
	}
	if (st != STEP_GONE)
		c->in_read = false;
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

/* A socket the listener accepted becomes a connection, once its address is
 * admitted (http_listen.c). */
static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct http_conn *c;
	struct http_peer *counted;
	char addr[INET6_ADDRSTRLEN] = "?";
	struct timeval wtv;
	(void)l;
	(void)salen;
	(void)arg;

	if (!http_listen_admit(base, fd, sa, &counted))
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, addr, sizeof(addr));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof(addr));
	/*
	 * Responses go out whole in one buffer: without this, the tail of one
	 * larger than a single write waits ~40 ms for the client's delayed ACK.
	 */
	int one = 1;
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = xcalloc(1, sizeof(*c));
	c->counted = counted;
	snprintf(c->peer, sizeof(c->peer), "%s", addr);
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(base, conn_timeoutcb, c);
	if (c->bev == NULL || c->timer == NULL) {
		log_warnx("http: cannot set up a connection");
		if (c->bev)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		if (c->timer)
			event_free(c->timer);
		http_peers_close(counted);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
	metrics_count("http_connections_total");
	bufferevent_setcb(c->bev, conn_readcb, conn_writecb, conn_eventcb, c);
	/* A client that stops reading our answer is dropped after a while. */
	wtv = clock_timeval(cfg()->http_idle_timeout);
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->state = CONN_IDLE;
	/* Its first head is due in the header timeout: silence holds no place for long. */
	conn_arm_timer(c, cfg()->http_header_timeout);
	http_listen_opened(nconns);
}

void
http_set_dispatch(http_handler handler)
{
	dispatch = handler;
}

/* Paths that carry a secret: the access log shows what this gives instead. */
static http_log_path_fn log_path;

void
http_set_log_path(http_log_path_fn fn)
{
	log_path = fn;
}

int
http_server_start(struct event_base *b, const struct config *c)
{
	if (dispatch == NULL)
		fatalx("http: no request dispatcher set");
	base = b;
	if (http_listen_start(base, c, accept_cb) == -1)
		return -1;
	metrics_add_gauge("http_connections_open", "Client connections open.",
	                  http_server_connections);
	accepting = true;
	return 0;
}

/* Stops accepting; idle connections close, busy ones after their response. */
void
http_server_stop_accepting(void)
{
	struct http_conn *c, *tmp;

	accepting = false;
	http_listen_stop();
	for (c = TAILQ_FIRST(&conns); c != NULL; c = tmp) {
		tmp = TAILQ_NEXT(c, entry);
		if (c->state == CONN_IDLE)
			conn_free(c);
		else if (c->req)
			c->req->head.keep_alive = false;
	}
}

/* Frees every connection, pending handlers or not (final shutdown). */
void
http_server_free_all(void)
{
	struct http_conn *c;
	while ((c = TAILQ_FIRST(&conns)) != NULL) {
		if (c->state == CONN_HANDLING)
			c->state = CONN_CLOSING;
		conn_free(c);
	}
	http_peers_free_all();
}

size_t
http_server_connections(void)
{
	return nconns;
}

bool
http_server_idle(void)
{
	return nconns == 0;
}

/* Adds a response header; name and value are copied. */
void
http_add_header(struct http_request *req, const char *name, const char *value)
{
	if (req->nresp_headers == (int)(sizeof(req->resp_headers) / sizeof(req->resp_headers[0]))) {
		log_warnx("http: too many response headers, dropping %s", name);
		return;
	}
	req->resp_headers[req->nresp_headers].name = xstrdup(name);
	req->resp_headers[req->nresp_headers].value = xstrdup(value);
	req->nresp_headers++;
}

const char *
http_request_header(const struct http_request *req, const char *name)
{
	return http_head_get(&req->head, name);
}

static bool
has_resp_header(const struct http_request *req, const char *name)
{
	for (int i = 0; i < req->nresp_headers; i++)
		if (strcasecmp(req->resp_headers[i].name, name) == 0)
			return true;
	return false;
}

/*
 * Sends the response and releases the request. The body buffer, if given, is
 * drained into the connection. Safe to call after the client went away.
 */
void
http_respond_buffer(struct http_request *req, int status, const char *ctype, struct evbuffer *body)
{
	struct http_conn *c = req->conn;
	struct evbuffer *out;
	size_t len = body ? evbuffer_get_length(body) : 0;
	bool keep;
	double elapsed = clock_mono() - req->started;

	if (req->responded)
		fatalx("http: request %s answered twice", req->id);
	req->responded = true;
	metrics_observe(req->route, req->head.method_str[0] ? req->head.method_str : "-", status,
	                elapsed);
	/* Path only: query strings can carry search terms, which are personal;
	 * a path with a secret in it (http_set_log_path) is shown without it. */
	const char *shown = req->head.path ? req->head.path : "-";
	char redacted[96];
	if (req->head.path && log_path && log_path(req->head.path, redacted, sizeof(redacted)))
		shown = redacted;
	log_info("access: %s \"%s %s\" %d %zu %.1fms id=%s", req->peer,
	         req->head.method_str[0] ? req->head.method_str : "-", shown, status, len,
	         elapsed * 1000, req->id);
	if (c->dead) {
		c->state = CONN_CLOSING;
		conn_free(c);
		return;
	}
	keep = req->head.keep_alive && accepting && status != 408;
	out = bufferevent_get_output(c->bev);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, http_status_text(status),
	                    http_date());
	if (status != 204 && status != 304)
		evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
	if (ctype)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	if (!keep)
		evbuffer_add_printf(out, "Connection: close\r\n");
	else if (req->head.minor_version == 0)
		evbuffer_add_printf(out, "Connection: keep-alive\r\n");
	if (!has_resp_header(req, "Cache-Control"))
		evbuffer_add_printf(out, "Cache-Control: no-store\r\n");
	/* Only behind TLS: browsers ignore it over http://, and it is a promise about https. */
	if (cfg()->http_tls_proxy && cfg()->http_hsts >= 1)
		evbuffer_add_printf(
		    out, "Strict-Transport-Security: max-age=%lld; includeSubDomains\r\n",
		    (long long)cfg()->http_hsts);
	evbuffer_add_printf(out,
	                    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"
	                    "X-Request-Id: %s\r\n",
	                    req->id);
	for (int i = 0; i < req->nresp_headers; i++)
		evbuffer_add_printf(out, "%s: %s\r\n", req->resp_headers[i].name,
		                    req->resp_headers[i].value);
	evbuffer_add(out, "\r\n", 2);
	if (body && req->head.method != HTTP_HEAD)
		evbuffer_add_buffer(out, body);
	else if (body)
		evbuffer_drain(body, len);

	request_free(req);
	c->req = NULL;
	if (!keep) {
		c->state = CONN_CLOSING;
		bufferevent_disable(c->bev, EV_READ);
		/* The write callback frees once the output has drained. */
		return;
	}
	c->state = CONN_IDLE;
	c->kept_alive = true;
	conn_arm_timer(c, cfg()->http_idle_timeout);
	bufferevent_enable(c->bev, EV_READ);
	if (!c->in_read)
		conn_process(c);
}

void
http_respond(struct http_request *req, int status, const char *ctype, const void *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	if (len)
		evbuffer_add(b, body, len);
	http_respond_buffer(req, status, ctype, b);
	evbuffer_free(b);
}

/* Answers with a JSON value, which is consumed. */
void
http_respond_json(struct http_request *req, int status, json_t *j)
{
	char *s = json_dump_compact(j);
	json_decref(j);
	http_respond(req, status, "application/json", s, strlen(s));
	free(s);
}

/* Answers with a problem document, which is consumed. */
void
http_problem_json(struct http_request *req, json_t *problem)
{
	json_int_t status = json_integer_value(json_object_get(problem, "status"));
	char *s = json_dump_compact(problem);
	json_decref(problem);
	http_respond(req, (int)status, "application/problem+json", s, strlen(s));
	free(s);
}

void
http_problem(struct http_request *req, int status, const char *title, const char *detail)
{
	http_problem_json(req, json_problem(status, title, detail));
}

/*
 * fuzz_http_conn.c: the HTTP connection state machine of daemon/http.c
 * (request heads, Content-Length and chunked bodies, chunk extensions and
 * trailers, pipelining, Expect: 100-continue, error answers and lingering)
 * and the router behind it (daemon/router.c: routes, 404/405, CORS-less
 * origin checks, cookies and Bearer tokens in auth.c, JSON bodies of
 * public routes), on a real socket and libevent loop, without a database
 * or directory: what needs them answers 503.
 *
 * The fuzzed bytes are what a client sends before it closes its side. What
 * comes back must be a clean sequence of HTTP/1.1 responses: a status line,
 * headers, exactly Content-Length bytes of body (JSON where it says so),
 * nothing after "Connection: close", and never more responses than the
 * input has request lines.
 *
 * http.c is compiled into the harness (not taken from the library) to
 * hand it a connection without a listening socket.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <poll.h>

#include "fuzz_common.h"
#include "../../daemon/http.c"
#include "app.h"

static struct event_base *evb;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LVL_ERR + 1, LOG_TS_NO); /* quiet: access lines per run */
	app_config_keys_init();               /* the key table, as the daemon's */
	struct config *c = config_defaults();
	config_set_current(c);
	app_routes_init(); /* the route table, as the daemon's */
	metrics_init();
	evb = event_base_new();
	base = evb;
	accepting = true;
	return 0;
}

static size_t
count(const uint8_t *d, size_t n, const char *needle)
{
	size_t k = 0, nl = strlen(needle);
	const uint8_t *p = d, *e = d + n;
	while ((p = memmem(p, (size_t)(e - p), needle, nl)) != NULL) {
		k++;
		p += nl;
	}
	return k;
}

/* Checks the response stream; returns the number of final responses. */
static size_t
check_responses(const char *out, size_t len, bool head_requests)
{
	size_t pos = 0, finals = 0;
	bool closed = false;

	while (pos < len) {
		FUZZ_ASSERT(!closed); /* nothing after Connection: close */
		const char *h = out + pos;
		const char *end = memmem(h, len - pos, "\r\n\r\n", 4);
		FUZZ_ASSERT(end != NULL);
		FUZZ_ASSERT(len - pos > 13 && memcmp(h, "HTTP/1.1 ", 9) == 0);
		int status = atoi(h + 9);
		FUZZ_ASSERT(status >= 100 && status <= 599);
		FUZZ_ASSERT(strcmp(http_status_text(status), "Unknown") != 0);
		size_t hlen = (size_t)(end - h) + 4;
		char *head = strndup(h, hlen);
		FUZZ_ASSERT(strlen(head) == hlen); /* no NUL in a head */
		pos += hlen;
		if (status == 100) {
			free(head);
			continue;
		}
		finals++;
		long cl = -1;
		bool json = false;
		int ncl = 0;
		for (char *line = strstr(head, "\r\n") + 2; *line && line < head + hlen - 2;) {
			char *eol = strstr(line, "\r\n");
			*eol = '\0';
			/* a header line: name, colon, no bare CR or LF injected */
			FUZZ_ASSERT(strchr(line, ':') != NULL && strchr(line, '\r') == NULL);
			if (strncasecmp(line, "Content-Length: ", 16) == 0) {
				cl = atol(line + 16);
				ncl++;
			}
			if (strncasecmp(line, "Content-Type: application/", 26) == 0 &&
			    strstr(line, "json"))
				json = true;
			if (strcasecmp(line, "Connection: close") == 0)
				closed = true;
			line = eol + 2;
		}
		free(head);
		if (status == 204 || status == 304) {
			FUZZ_ASSERT(ncl == 0);
			continue;
		}
		FUZZ_ASSERT(ncl == 1 && cl >= 0);
		if (head_requests)
			break; /* an answer to HEAD has a length but no body: from here
			        * on the bodies cannot be told apart */
		FUZZ_ASSERT((size_t)cl <= len - pos);
		if (json && cl > 0) {
			json_error_t je;
			json_t *j = json_loadb(out + pos, (size_t)cl, 0, &je);
			FUZZ_ASSERT(j != NULL);
			if (status >= 400)
				FUZZ_ASSERT(json_integer_value(json_object_get(j, "status")) ==
				            status);
			json_decref(j);
		}
		pos += (size_t)cl;
	}
	return finals;
}

static void
drain(int fd, char **out, size_t *len, size_t *cap)
{
	for (;;) {
		if (*cap - *len < 65536) {
			*cap = *cap * 2 + 65536;
			*out = realloc(*out, *cap);
		}
		ssize_t n = read(fd, *out + *len, *cap - *len);
		if (n <= 0)
			return;
		*len += (size_t)n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	struct sockaddr_in sin;
	char *out = NULL;
	size_t len = 0, cap = 0;

	if (size > 128 * 1024)
		return 0;
	FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	int big = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	evutil_make_socket_nonblocking(sv[0]);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	accept_cb(NULL, sv[0], (struct sockaddr *)&sin, sizeof(sin), NULL);
	FUZZ_ASSERT(nconns == 1);

	size_t sent = 0;
	for (int i = 0; i < 1000 && nconns > 0; i++) {
		if (sent < size) {
			ssize_t n = write(sv[1], data + sent, size - sent);
			if (n > 0)
				sent += (size_t)n;
			if (sent == size)
				shutdown(sv[1], SHUT_WR);
		} else if (i == 0) {
			shutdown(sv[1], SHUT_WR);
		}
		event_base_loop(evb, EVLOOP_NONBLOCK);
		drain(sv[1], &out, &len, &cap);
	}
	/* a handler still waiting (none should without a database): drop it */
	http_server_free_all();
	drain(sv[1], &out, &len, &cap);
	close(sv[1]);
	FUZZ_ASSERT(nconns == 0);

	size_t finals = check_responses(out ? out : "", len, count(data, size, "HEAD") > 0);
	/* every answer is to a request line, or is the one error that closes */
	FUZZ_ASSERT(finals <= count(data, size, "HTTP/1.") + 1);
	free(out);
	return 0;
}

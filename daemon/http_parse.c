/*
 * http_parse.c: the request head parser, kept free of I/O so that unit
 * tests and fuzzers can drive it directly.
 *
 * It is strict where leniency lets requests be smuggled past a proxy: no
 * obsolete line folding, no whitespace before the colon, one Content-Length,
 * never Content-Length together with Transfer-Encoding.
 *
 * Also the protocol's words that the server writes: the reason phrase of a
 * status and the Date value (http.c's responses, http_listen.c's refusals).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "stafetd.h"
#include "http_internal.h"

static const struct {
	int code;
	const char *text;
} statuses[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {204, "No Content"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Content"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
    {505, "HTTP Version Not Supported"},
};

const char *
http_status_text(int code)
{
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].code == code)
			return statuses[i].text;
	return "Unknown";
}

/* The Date header's value for now, formatted once a second. */
const char *
http_date(void)
{
	static char buf[40];
	static time_t last;
	time_t now = time(NULL);
	if (now != last) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		last = now;
	}
	return buf;
}

/* RFC 9110 tchar */
static bool
is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes in place; refuses bad escapes, NUL and invalid UTF-8. */
static int
pct_decode(char *s)
{
	char *w = s, *start = s;

	for (char *r = s; *r; r++) {
		if (*r == '%') {
			int h = hexval((unsigned char)r[1]), l;
			if (h < 0 || (l = hexval((unsigned char)r[2])) < 0)
				return -1;
			if (h == 0 && l == 0)
				return -1;
			*w++ = (char)(h * 16 + l);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return utf8_valid(start, (size_t)(w - start)) ? 0 : -1;
}

static const struct {
	const char *name;
	enum http_method m;
} methods[] = {
    {"GET", HTTP_GET},     {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},       {"PUT", HTTP_PUT},
    {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS},
};

void
http_head_free(struct http_head *h)
{
	free(h->buf);
	h->buf = NULL;
}

const char *
http_head_get(const struct http_head *h, const char *name)
{
	for (int i = 0; i < h->nheaders; i++)
		if (strcasecmp(h->headers[i].name, name) == 0)
			return h->headers[i].value;
	return NULL;
}

/* Does a comma-separated header value hold `token`? */
static bool
has_token(const char *value, const char *token)
{
	size_t tl = strlen(token);
	const char *p = value;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0)
			return true;
		p = e;
	}
	return false;
}

static int
parse_request_line(char *line, struct http_head *h, const char **why)
{
	char *sp1, *sp2, *version;
	size_t i;

	if ((sp1 = strchr(line, ' ')) == NULL || (sp2 = strchr(sp1 + 1, ' ')) == NULL) {
		*why = "malformed request line";
		return 400;
	}
	*sp1 = *sp2 = '\0';
	version = sp2 + 1;
	if (*line == '\0' || strlen(line) >= sizeof(h->method_str)) {
		*why = "malformed method";
		return 400;
	}
	for (char *p = line; *p; p++) {
		if (!is_tchar((unsigned char)*p)) {
			*why = "malformed method";
			return 400;
		}
	}
	strcpy(h->method_str, line);
	h->method = HTTP_OTHER;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, line) == 0)
			h->method = methods[i].m;
	h->target = sp1 + 1;
	if (strlen(h->target) > HTTP_MAX_TARGET) {
		*why = "request target too long";
		return 414;
	}
	if (h->target[0] != '/') {
		*why = "request target must be an absolute path";
		return 400;
	}
	for (char *p = h->target; *p; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			*why = "invalid character in request target";
			return 400;
		}
	}
	if (strncmp(version, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)version[7]) ||
	    version[8] != '\0') {
		*why = "unsupported HTTP version";
		return strncmp(version, "HTTP/", 5) == 0 ? 505 : 400;
	}
	h->minor_version = version[7] - '0';
	if (h->minor_version > 1) {
		*why = "unsupported HTTP version";
		return 505;
	}
	return 0;
}

/* Splits the target into path and query, decoding the path. */
static int
split_target(struct http_head *h, size_t len, const char **why)
{
	char *q = strchr(h->target, '?');
	size_t plen = q ? (size_t)(q - h->target) : strlen(h->target);
	char *frag;

	/*
	 * The path gets its own copy in the room past the head's copy (not just
	 * past the target: that is the request line's tail and then the first
	 * header, which a long path would overwrite).
	 */
	h->path = h->buf + len + 1;
	memcpy(h->path, h->target, plen);
	h->path[plen] = '\0';
	h->query = q ? q + 1 : NULL;
	if (h->query && (frag = strchr(h->query, '#')) != NULL)
		*frag = '\0';
	if (pct_decode(h->path) == -1) {
		*why = "invalid percent-encoding in path";
		return 400;
	}
	return 0;
}

/* No NUL byte, and every line ends in CRLF: a proxy that splits only there
 * reads a bare LF as part of a field, where we would see a new one. */
static int
check_head_bytes(const char *data, size_t len, const char **why)
{
	if (memchr(data, '\0', len) != NULL) {
		*why = "NUL byte in request head";
		return 400;
	}
	for (const char *lf = memchr(data, '\n', len); lf != NULL;
	     lf = memchr(lf + 1, '\n', len - (size_t)(lf + 1 - data))) {
		if (lf == data || lf[-1] != '\r') {
			*why = "line ending without CR in request head";
			return 400;
		}
	}
	return 0;
}

/* Cuts the line at p (CRLF or LF) in place: returns it and sets *next past
 * its end, or NULL when no line ending is left. */
static char *
cut_line(char *p, char **next)
{
	char *nl = strchr(p, '\n');

	if (nl == NULL)
		return NULL;
	*nl = '\0';
	if (nl > p && nl[-1] == '\r')
		nl[-1] = '\0';
	*next = nl + 1;
	return p;
}

/* One "name: value" line, split in place and added to h's headers: the name
 * a token, the value trimmed and without control characters. */
static int
parse_header_line(char *line, struct http_head *h, const char **why)
{
	char *colon, *v, *ve;

	if (*line == ' ' || *line == '\t') {
		*why = "obsolete header line folding";
		return 400;
	}
	if ((colon = strchr(line, ':')) == NULL || colon == line) {
		*why = "malformed header line";
		return 400;
	}
	*colon = '\0';
	for (char *c = line; *c; c++) {
		if (!is_tchar((unsigned char)*c)) {
			*why = "invalid header name";
			return 400;
		}
	}
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	ve = v + strlen(v);
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		*--ve = '\0';
	for (char *c = v; *c; c++) {
		if ((unsigned char)*c < 0x20 && *c != '\t') {
			*why = "control character in header value";
			return 400;
		}
	}
	if (h->nheaders == HTTP_MAX_HEADERS) {
		*why = "too many header fields";
		return 431;
	}
	h->headers[h->nheaders].name = line;
	h->headers[h->nheaders].value = v;
	h->nheaders++;
	return 0;
}

/* Content-Length as a number, all its headers agreeing. */
static int
parse_content_length(const char *cl, struct http_head *h, const char **why)
{
	char *e;

	if (!isdigit((unsigned char)*cl)) {
		*why = "malformed Content-Length";
		return 400;
	}
	errno = 0;
	h->content_length = strtoull(cl, &e, 10);
	if (*e != '\0' || errno != 0) {
		*why = "malformed Content-Length";
		return 400;
	}
	h->has_length = true;
	return 0;
}

/* The body's framing: one Transfer-Encoding (chunked, HTTP/1.1) or
 * Content-Length headers that agree, never both. */
static int
check_framing(struct http_head *h, const char **why)
{
	const char *te = http_head_get(h, "Transfer-Encoding"), *cl = NULL;

	for (int i = 0; i < h->nheaders; i++) {
		/* a proxy may act on another one ("chunked" then "identity") */
		if (te && h->headers[i].value != te &&
		    strcasecmp(h->headers[i].name, "Transfer-Encoding") == 0) {
			*why = "more than one Transfer-Encoding header";
			return 400;
		}
		if (strcasecmp(h->headers[i].name, "Content-Length") != 0)
			continue;
		if (cl != NULL && strcmp(cl, h->headers[i].value) != 0) {
			*why = "conflicting Content-Length headers";
			return 400;
		}
		cl = h->headers[i].value;
	}
	if (te && cl) {
		*why = "both Content-Length and Transfer-Encoding";
		return 400;
	}
	if (te) {
		if (h->minor_version == 0) {
			*why = "Transfer-Encoding in HTTP/1.0";
			return 400;
		}
		if (strcasecmp(te, "chunked") != 0) {
			*why = "unsupported Transfer-Encoding";
			return 501;
		}
		h->chunked = true;
	}
	return cl ? parse_content_length(cl, h, why) : 0;
}

/* Host (exactly one on HTTP/1.1, RFC 9112 3.2; the Origin check compares
 * with it), keep-alive and Expect. */
static int
check_host_and_options(struct http_head *h, const char **why)
{
	const char *conn, *expect;

	if (h->minor_version == 1 && http_head_get(h, "Host") == NULL) {
		*why = "missing Host header";
		return 400;
	}
	for (int i = 0, hosts = 0; i < h->nheaders; i++) {
		if (strcasecmp(h->headers[i].name, "Host") == 0 && ++hosts > 1) {
			*why = "more than one Host header";
			return 400;
		}
	}
	conn = http_head_get(h, "Connection");
	if (h->minor_version == 1)
		h->keep_alive = !(conn && has_token(conn, "close"));
	else
		h->keep_alive = conn && has_token(conn, "keep-alive");
	expect = http_head_get(h, "Expect");
	if (expect) {
		if (strcasecmp(expect, "100-continue") != 0) {
			*why = "unsupported Expect";
			return 417;
		}
		h->expect_continue = h->minor_version == 1;
	}
	return 0;
}

/*
 * Parses a request head: `len` bytes ending in the empty line. Returns 0, or
 * the HTTP status to answer with `why` set. On success `h` owns a buffer the
 * caller releases with http_head_free() (on failure too: h->buf is set
 * first).
 */
int
http_parse_head(const char *data, size_t len, struct http_head *h, const char **why)
{
	char *p, *end, *line;
	int rc;

	memset(h, 0, sizeof(*h));
	/* Room to copy the path out of the target without touching headers. */
	h->buf = xmalloc(len + 1 + HTTP_MAX_TARGET + 2);
	memcpy(h->buf, data, len);
	h->buf[len] = '\0';
	if ((rc = check_head_bytes(data, len, why)) != 0)
		return rc;
	p = h->buf;
	end = h->buf + len;
	if ((line = cut_line(p, &p)) == NULL) {
		*why = "unterminated request line";
		return 400;
	}
	if ((rc = parse_request_line(line, h, why)) != 0)
		return rc;
	while (p < end && (line = cut_line(p, &p)) != NULL && *line != '\0')
		if ((rc = parse_header_line(line, h, why)) != 0)
			return rc;
	if ((rc = check_framing(h, why)) != 0 || (rc = check_host_and_options(h, why)) != 0)
		return rc;
	return split_target(h, len, why);
}

/* Parses a chunk-size line ("1a3f;ext=1"); returns -1 when malformed. */
int
http_decode_chunk_size(const char *line, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len && line[i] != ';' && line[i] != ' ' && line[i] != '\t'; i++) {
		int d = hexval((unsigned char)line[i]);
		if (d < 0 || v > (UINT64_MAX >> 4))
			return -1;
		v = (v << 4) | (uint64_t)d;
	}
	if (i == 0)
		return -1;
	*out = v;
	return 0;
}

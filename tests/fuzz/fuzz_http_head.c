/*
 * fuzz_http_head.c: the request head parser (daemon/http_parse.c), the
 * chunk-size line and the query string helpers of daemon/http.c, each held
 * to what the handlers rely on: every pointer inside the parsed copy, the
 * path exactly the percent-decoding of the target's path part, framing
 * without ambiguity (never chunked and a length, every Transfer-Encoding
 * header agreeing), and query values decoded as a plain decoder would.
 */
#include <ctype.h>
#include <strings.h>

#include "fuzz_common.h"
#include "stafetd.h"

static bool
in_buf(const struct http_head *h, const char *p, size_t len)
{
	return p >= h->buf && p <= h->buf + len;
}

static bool
tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Strict percent-decoding of n bytes; -1 on a bad escape or %00. */
static long
ref_pct_decode(const char *s, size_t n, char *out)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n)
				return -1;
			int h = fuzz_hexval((unsigned char)s[i + 1]),
			    l = fuzz_hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return -1;
			out[w++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[w++] = s[i];
		}
	}
	out[w] = '\0';
	return (long)w;
}

/*
 * A query value as http_query_param() documents it: '+' is a space, %XX
 * two hex digits (not %00); NULL on any other '%' (a trailing "%" or "%4"
 * too), on invalid UTF-8, or when it does not fit.
 */
static const char *
ref_query_value(const char *v, size_t n, char *buf, size_t bufsz)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		int ch = (unsigned char)v[i];
		if (ch == '+') {
			ch = ' ';
		} else if (ch == '%') {
			if (n - i < 3)
				return NULL;
			int h = fuzz_hexval((unsigned char)v[i + 1]),
			    l = fuzz_hexval((unsigned char)v[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return NULL;
			ch = h * 16 + l;
			i += 2;
		}
		if (w + 1 >= bufsz)
			return NULL;
		buf[w++] = (char)ch;
	}
	buf[w] = '\0';
	return utf8_valid(buf, w) ? buf : NULL;
}

/* The first occurrence of `name` in the query, as http_query_param() finds it. */
static const char *
ref_query_param(const char *q, const char *name, char *buf, size_t bufsz)
{
	size_t nl = strlen(name);
	while (q && *q) {
		const char *amp = strchr(q, '&');
		const char *end = amp ? amp : q + strlen(q);
		if ((size_t)(end - q) > nl && strncmp(q, name, nl) == 0 && q[nl] == '=')
			return ref_query_value(q + nl + 1, (size_t)(end - q - (long)nl - 1), buf,
			                       bufsz);
		if ((size_t)(end - q) == nl && strncmp(q, name, nl) == 0) {
			buf[0] = '\0';
			return buf;
		}
		q = amp ? amp + 1 : NULL;
	}
	return NULL;
}

static void
check_query(char *query)
{
	struct http_request req;
	char name[64];
	const char *names[] = {"q", "limit", "cursor", "unit", "a", "", name};

	memset(&req, 0, sizeof(req));
	req.head.query = query;
	/* the first parameter's own name too */
	size_t nl = strcspn(query, "=&");
	snprintf(name, sizeof(name), "%.*s", (int)(nl < 63 ? nl : 63), query);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *n = names[i];
		static const size_t sizes[] = {1, 4, 16, 4096};
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			char *got_buf = malloc(sizes[s]), *ref_buf = malloc(sizes[s]);
			const char *got = http_query_param(&req, n, got_buf, sizes[s]);
			const char *ref = ref_query_param(query, n, ref_buf, sizes[s]);
			FUZZ_ASSERT((got == NULL) == (ref == NULL));
			if (got) {
				FUZZ_ASSERT(strlen(got) < sizes[s]);
				FUZZ_ASSERT(strlen(got) <= strlen(query));
				FUZZ_ASSERT(strcmp(got, ref) == 0);
				FUZZ_ASSERT(utf8_valid(got, strlen(got)));
				FUZZ_ASSERT(http_query_has(&req, n));
			}
			free(got_buf);
			free(ref_buf);
		}
	}
}

static void
check_head(const char *data, size_t size, const struct http_head *h)
{
	FUZZ_ASSERT(memchr(data, '\0', size) == NULL);
	/* method */
	FUZZ_ASSERT(h->method_str[0] != '\0');
	for (const char *p = h->method_str; *p; p++)
		FUZZ_ASSERT(tchar((unsigned char)*p));
	FUZZ_ASSERT(strncmp(data, h->method_str, strlen(h->method_str)) == 0);
	FUZZ_ASSERT((h->method == HTTP_OTHER) ==
	            (strcmp(h->method_str, "GET") && strcmp(h->method_str, "HEAD") &&
	             strcmp(h->method_str, "POST") && strcmp(h->method_str, "PUT") &&
	             strcmp(h->method_str, "PATCH") && strcmp(h->method_str, "DELETE") &&
	             strcmp(h->method_str, "OPTIONS")));
	/* target, path, query */
	FUZZ_ASSERT(in_buf(h, h->target, size));
	FUZZ_ASSERT(h->target[0] == '/');
	size_t tlen = strlen(h->target);
	FUZZ_ASSERT(tlen <= HTTP_MAX_TARGET && tlen < size);
	FUZZ_ASSERT(memmem(data, size, h->target, tlen) != NULL);
	for (const char *p = h->target; *p; p++)
		FUZZ_ASSERT((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f);
	const char *qm = strchr(h->target, '?');
	size_t plen = qm ? (size_t)(qm - h->target) : tlen;
	char *decoded = malloc(plen + 1);
	FUZZ_ASSERT(ref_pct_decode(h->target, plen, decoded) >= 0);
	FUZZ_ASSERT(strcmp(decoded, h->path) == 0);
	FUZZ_ASSERT(utf8_valid(h->path, strlen(h->path)));
	free(decoded);
	if (qm) {
		FUZZ_ASSERT(h->query == qm + 1);
		FUZZ_ASSERT(strchr(h->query, '#') == NULL);
	} else {
		FUZZ_ASSERT(h->query == NULL);
	}
	FUZZ_ASSERT(h->minor_version == 0 || h->minor_version == 1);
	/* headers */
	FUZZ_ASSERT(h->nheaders >= 0 && h->nheaders <= HTTP_MAX_HEADERS);
	const char *last = h->target;
	for (int i = 0; i < h->nheaders; i++) {
		const char *n = h->headers[i].name, *v = h->headers[i].value;
		FUZZ_ASSERT(in_buf(h, n, size) && in_buf(h, v, size));
		FUZZ_ASSERT(n > last && v > n); /* in order, after the request line */
		last = v;
		FUZZ_ASSERT(*n != '\0');
		for (const char *p = n; *p; p++)
			FUZZ_ASSERT(tchar((unsigned char)*p));
		size_t vl = strlen(v);
		FUZZ_ASSERT(v + vl <= h->buf + size);
		if (vl) {
			FUZZ_ASSERT(v[0] != ' ' && v[0] != '\t');
			FUZZ_ASSERT(v[vl - 1] != ' ' && v[vl - 1] != '\t');
		}
		for (const char *p = v; *p; p++)
			FUZZ_ASSERT((unsigned char)*p >= 0x20 || *p == '\t');
	}
	/* framing */
	FUZZ_ASSERT(!(h->chunked && h->has_length));
	int nte = 0, ncl = 0;
	for (int i = 0; i < h->nheaders; i++) {
		if (strcasecmp(h->headers[i].name, "Transfer-Encoding") == 0) {
			nte++;
			/* a proxy may read any of them: all must say what we act on */
			FUZZ_ASSERT(h->chunked);
			FUZZ_ASSERT(strcasecmp(h->headers[i].value, "chunked") == 0);
		}
		if (strcasecmp(h->headers[i].name, "Content-Length") == 0) {
			ncl++;
			char *e;
			FUZZ_ASSERT(isdigit((unsigned char)h->headers[i].value[0]));
			FUZZ_ASSERT(strtoull(h->headers[i].value, &e, 10) == h->content_length);
			FUZZ_ASSERT(*e == '\0');
		}
	}
	FUZZ_ASSERT(h->chunked == (nte > 0));
	FUZZ_ASSERT(h->has_length == (ncl > 0));
	if (h->chunked)
		FUZZ_ASSERT(h->minor_version == 1);
	if (h->minor_version == 1)
		FUZZ_ASSERT(http_head_get(h, "Host") != NULL);
	if (h->expect_continue)
		FUZZ_ASSERT(h->minor_version == 1 && http_head_get(h, "Expect") != NULL);
	if (!h->keep_alive && h->minor_version == 1)
		FUZZ_ASSERT(http_head_get(h, "Connection") != NULL);
	if (h->keep_alive && h->minor_version == 0)
		FUZZ_ASSERT(http_head_get(h, "Connection") != NULL);
}

static void
check_chunk_size(const char *s, size_t n)
{
	uint64_t got = 0, ref = 0;
	size_t i;
	bool ok = true;
	for (i = 0; i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t'; i++) {
		int d = fuzz_hexval((unsigned char)s[i]);
		if (d < 0 || ref > (UINT64_MAX >> 4)) {
			ok = false;
			break;
		}
		ref = ref * 16 + (uint64_t)d;
	}
	if (i == 0)
		ok = false;
	int rc = http_decode_chunk_size(s, n, &got);
	FUZZ_ASSERT((rc == 0) == ok);
	if (ok)
		FUZZ_ASSERT(got == ref);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct http_head h;
	const char *why = NULL;
	int rc = http_parse_head(s, size, &h, &why);

	if (rc == 0) {
		FUZZ_ASSERT(why == NULL);
		check_head(s, size, &h);
		if (h.query)
			check_query(h.query);
	} else {
		FUZZ_ASSERT(why != NULL && *why != '\0');
		FUZZ_ASSERT(rc >= 400 && rc <= 505);
		FUZZ_ASSERT(strcmp(http_status_text(rc), "Unknown") != 0);
	}
	http_head_free(&h);
	/* the input as a chunk-size line and, up to a NUL, as a query string */
	check_chunk_size(s, size);
	char *q = fuzz_cstr(data, size);
	check_query(q);
	free(q);
	return 0;
}

/*
 * test_http_parse.c: the request head parser, including the framing cases
 * that request smuggling relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stafetd.h"

static int
parse(const char *text, struct http_head *h)
{
	const char *why = NULL;
	int rc = http_parse_head(text, strlen(text), h, &why);
	if (rc != 0)
		assert_non_null(why);
	return rc;
}

static void
test_simple_get(void **state)
{
	(void)state;
	struct http_head h;
	assert_int_equal(parse("GET /api/v1/people?q=s%C3%B8ren HTTP/1.1\r\nHost: x\r\n"
	                       "Accept: */*\r\n\r\n",
	                       &h),
	                 0);
	assert_int_equal(h.method, HTTP_GET);
	assert_string_equal(h.path, "/api/v1/people");
	assert_string_equal(h.query, "q=s%C3%B8ren");
	assert_string_equal(http_head_get(&h, "accept"), "*/*");
	assert_true(h.keep_alive);
	assert_false(h.has_length);
	http_head_free(&h);
}

/* A long path once overwrote the first header (its copy went right after the target). */
static void
test_long_path_keeps_first_header(void **state)
{
	(void)state;
	struct http_head h;
	assert_int_equal(parse("DELETE /api/v1/a-rather-long-path/with/segments?x=1 HTTP/1.1\r\n"
	                       "Host: 127.0.0.1:8080\r\nOrigin: http://127.0.0.1:8080\r\n\r\n",
	                       &h),
	                 0);
	assert_string_equal(h.path, "/api/v1/a-rather-long-path/with/segments");
	assert_string_equal(h.target, "/api/v1/a-rather-long-path/with/segments?x=1");
	assert_string_equal(h.query, "x=1");
	assert_string_equal(http_head_get(&h, "Host"), "127.0.0.1:8080");
	assert_string_equal(http_head_get(&h, "Origin"), "http://127.0.0.1:8080");
	assert_int_equal(h.minor_version, 1);
	http_head_free(&h);
}

static void
test_path_decoding(void **state)
{
	(void)state;
	struct http_head h;
	assert_int_equal(parse("GET /a%20b/%C3%A6 HTTP/1.1\r\nHost: x\r\n\r\n", &h), 0);
	assert_string_equal(h.path, "/a b/\xc3\xa6");
	http_head_free(&h);
	assert_int_equal(parse("GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", &h), 400);
	http_head_free(&h);
	assert_int_equal(parse("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", &h), 400);
	http_head_free(&h);
	assert_int_equal(parse("GET /%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n", &h), 400);
	http_head_free(&h);
}

static void
test_framing(void **state)
{
	(void)state;
	struct http_head h;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", &h), 0);
	assert_true(h.has_length);
	assert_int_equal(h.content_length, 5);
	http_head_free(&h);
	/* smuggling shapes */
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	                       "Transfer-Encoding: chunked\r\n\r\n",
	                       &h),
	                 400);
	http_head_free(&h);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	                       "Content-Length: 6\r\n\r\n",
	                       &h),
	                 400);
	http_head_free(&h);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", &h),
	                 400);
	http_head_free(&h);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n", &h),
	                 400);
	http_head_free(&h);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", &h),
	                 501);
	http_head_free(&h);
	/* a proxy may act on the second one (found by tests/fuzz) */
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	                       "Transfer-Encoding: identity\r\n\r\n",
	                       &h),
	                 400);
	http_head_free(&h);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n", &h), 400);
	http_head_free(&h);
	assert_int_equal(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", &h), 400);
	http_head_free(&h);
	assert_int_equal(
	    parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", &h), 0);
	assert_true(h.chunked);
	http_head_free(&h);
}

static void
test_bad_request_lines(void **state)
{
	(void)state;
	struct http_head h;
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &h), 400); /* no Host */
	http_head_free(&h);
	assert_int_equal(parse("GET / HTTP/2.0\r\nHost: x\r\n\r\n", &h), 505);
	http_head_free(&h);
	assert_int_equal(parse("GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n", &h), 400);
	http_head_free(&h);
	assert_int_equal(parse("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", &h), 400);
	http_head_free(&h);
	assert_int_equal(parse("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", &h), 400);
	http_head_free(&h);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nBad\x01: y\r\n\r\n", &h), 400);
	http_head_free(&h);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nX: a\x7f\x01\r\n\r\n", &h), 400);
	http_head_free(&h);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", &h), 417);
	http_head_free(&h);
}

static void
test_connection_semantics(void **state)
{
	(void)state;
	struct http_head h;
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &h), 0);
	assert_false(h.keep_alive);
	http_head_free(&h);
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h), 0);
	assert_true(h.keep_alive);
	http_head_free(&h);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n", &h),
	                 0);
	assert_false(h.keep_alive);
	http_head_free(&h);
	/* bare LF line ends are refused: a proxy may split lines elsewhere */
	assert_int_equal(parse("GET /x HTTP/1.1\nHost: x\n\n", &h), 400);
	http_head_free(&h);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", &h), 400);
	http_head_free(&h);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", &h), 400);
	http_head_free(&h);
}

static void
test_too_many_headers(void **state)
{
	(void)state;
	struct http_head h;
	char buf[8192] = "GET / HTTP/1.1\r\nHost: x\r\n";
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		strcat(buf, "A: b\r\n");
	strcat(buf, "\r\n");
	assert_int_equal(parse(buf, &h), 431);
	http_head_free(&h);
}

static void
test_chunk_size(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(http_decode_chunk_size("1a", 2, &v), 0);
	assert_int_equal(v, 26);
	assert_int_equal(http_decode_chunk_size("FF;name=val", 11, &v), 0);
	assert_int_equal(v, 255);
	assert_int_equal(http_decode_chunk_size("", 0, &v), -1);
	assert_int_equal(http_decode_chunk_size("-1", 2, &v), -1);
	assert_int_equal(http_decode_chunk_size("fffffffffffffffff", 17, &v), -1);
}

/* Query values: '+' and %XX decoded; any other '%' refused, at the end too. */
static void
test_query_param(void **state)
{
	static const struct {
		const char *query, *name, *want; /* want NULL: refused */
	} cases[] = {
	    {"q=s%C3%B8ren", "q", "s\xc3\xb8ren"},
	    {"q=a+b%2B", "q", "a b+"},
	    {"x=1&q=%41&y=%", "q", "A"},
	    {"q=", "q", ""},
	    {"q", "q", ""},
	    {"q=abc%", "q", NULL},
	    {"q=abc%4", "q", NULL},
	    {"q=%", "q", NULL},
	    {"q=%4&unit=UR", "q", NULL},
	    {"q=%&unit=UR", "q", NULL},
	    {"q=ab%4&unit=UR", "unit", "UR"},
	    {"unit=UR&q=%e", "q", NULL},
	    {"q=%zz", "q", NULL},
	    {"q=% 1", "q", NULL},
	    {"q=%+1", "q", NULL},
	    {"q=%00", "q", NULL},
	    {"q=%ff", "q", NULL},
	};
	struct http_request req;
	char query[64], buf[64];

	(void)state;
	memset(&req, 0, sizeof(req));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(query, sizeof(query), "%s", cases[i].query);
		req.head.query = query;
		const char *got = http_query_param(&req, cases[i].name, buf, sizeof(buf));
		if (cases[i].want == NULL && got != NULL)
			fail_msg("%s: %s taken as \"%s\"", cases[i].query, cases[i].name, got);
		if (cases[i].want != NULL && (got == NULL || strcmp(got, cases[i].want) != 0))
			fail_msg("%s: %s gave %s", cases[i].query, cases[i].name,
			         got ? got : "NULL");
		assert_true(http_query_has(&req, cases[i].name));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple_get),
	    cmocka_unit_test(test_long_path_keeps_first_header),
	    cmocka_unit_test(test_path_decoding),
	    cmocka_unit_test(test_framing),
	    cmocka_unit_test(test_bad_request_lines),
	    cmocka_unit_test(test_connection_semantics),
	    cmocka_unit_test(test_too_many_headers),
	    cmocka_unit_test(test_chunk_size),
	    cmocka_unit_test(test_query_param),
	};
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return cmocka_run_group_tests_name("http_parse", tests, NULL, NULL);
}

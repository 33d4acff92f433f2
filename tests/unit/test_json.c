/*
 * test_json.c: JSON input limits, UTF-8 validation, problem documents and
 * the static path checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stafetd.h"

static const struct json_limits lim = {32, 64 * 1024};

static void
test_utf8(void **state)
{
	(void)state;
	assert_true(utf8_valid("S\xc3\xb8ren \xc3\x86r\xc3\xb8", 12));
	assert_true(utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	assert_false(utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(utf8_valid("\xc3", 1));             /* truncated */
	assert_false(utf8_valid("\xff", 1));
}

static json_t *
parse(const char *s, int *status)
{
	char detail[256];
	return json_parse_limited(s, strlen(s), &lim, status, detail, sizeof(detail));
}

static void
test_depth(void **state)
{
	(void)state;
	char buf[200];
	int status;
	json_t *j;

	memset(buf, '[', 32);
	memset(buf + 32, ']', 32);
	buf[64] = '\0';
	j = parse(buf, &status);
	assert_non_null(j);
	json_decref(j);
	memset(buf, '[', 33);
	memset(buf + 33, ']', 33);
	buf[66] = '\0';
	assert_null(parse(buf, &status));
	assert_int_equal(status, 400);
	/* brackets inside strings do not count */
	j = parse("{\"a\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", &status);
	assert_non_null(j);
	json_decref(j);
}

static void
test_string_limit(void **state)
{
	(void)state;
	size_t n = 64 * 1024 + 1;
	char *buf = malloc(n + 10);
	int status;
	buf[0] = '"';
	memset(buf + 1, 'a', n);
	buf[n + 1] = '"';
	buf[n + 2] = '\0';
	assert_null(parse(buf, &status));
	assert_int_equal(status, 400);
	free(buf);
}

static void
test_malformed_and_duplicates(void **state)
{
	(void)state;
	int status;
	assert_null(parse("{\"a\": 1,}", &status));
	assert_null(parse("{\"a\": 1, \"a\": 2}", &status));
	assert_null(parse("{\"a\": \"\\u0000\"}", &status));
	assert_null(parse("\xff", &status));
	json_t *j = parse("{\"navn\": \"\xc3\x85se\"}", &status);
	assert_non_null(j);
	json_decref(j);
}

static void
test_problem_and_unknown_fields(void **state)
{
	(void)state;
	static const char *const allowed[] = {"username", "password", NULL};
	json_t *p = json_problem(413, NULL, "too big");
	assert_string_equal(json_string_value(json_object_get(p, "title")), "Content Too Large");
	assert_int_equal(json_integer_value(json_object_get(p, "status")), 413);
	json_decref(p);

	json_t *body = json_pack("{s:s, s:s}", "username", "a", "pasword", "b");
	p = json_unknown_fields(body, allowed, NULL);
	assert_non_null(p);
	json_t *e = json_array_get(json_object_get(p, "errors"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "field")), "pasword");
	json_decref(p);
	json_decref(body);
}

static void
test_static_paths(void **state)
{
	(void)state;
	assert_true(static_path_ok("/"));
	assert_true(static_path_ok("/index.html"));
	assert_true(static_path_ok("/css/app.css"));
	assert_false(static_path_ok("/../etc/passwd"));
	assert_false(static_path_ok("/a/../../b"));
	assert_false(static_path_ok("/.git/config"));
	assert_false(static_path_ok("//etc/passwd"));
	assert_false(static_path_ok("/a\\..\\b"));
	assert_string_equal(static_content_type("/index.html"), "text/html; charset=utf-8");
	assert_null(static_content_type("/stafetd.conf"));
	/* dkfds's fonts: ".woff" is not mistaken for ".woff2" or the other way */
	assert_string_equal(static_content_type("/dkfds/fonts/a.woff"), "font/woff");
	assert_string_equal(static_content_type("/dkfds/fonts/a.woff2"), "font/woff2");
	assert_string_equal(static_content_type("/dkfds/fonts/a.ttf"), "font/ttf");
	assert_string_equal(static_content_type("/dkfds/fonts/a.eot"),
	                    "application/vnd.ms-fontobject");
	assert_null(static_content_type("/dkfds/LICENSE.md"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_string_limit),
	    cmocka_unit_test(test_malformed_and_duplicates),
	    cmocka_unit_test(test_problem_and_unknown_fields),
	    cmocka_unit_test(test_static_paths),
	};
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}

/*
 * test_config.c: the configuration parser: values, units, errors with line
 * numbers, secret files and their permissions, and checks across keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "stafetd.h"
#include "app.h"

static char dir[] = "/tmp/stafet-test-config-XXXXXX";

static char *
write_file(const char *name, const char *text, mode_t mode)
{
	char *path;
	FILE *f;

	xasprintf(&path, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static bool
has_error(const struct strlist *e, const char *needle)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->v[i], needle))
			return true;
	return false;
}

static void
test_defaults(void **state)
{
	(void)state;
	struct config *c = config_defaults();
	assert_string_equal(c->listen_host, "127.0.0.1");
	assert_int_equal(c->listen_port, 8080);
	assert_int_equal(c->http_max_body, 1024 * 1024);
	assert_int_equal(c->db_pool_size, 4);
	assert_true(c->db_query_timeout == 10.0);
	assert_null(c->db_password);
	config_free(c);
}

static void
test_values(void **state)
{
	(void)state;
	struct strlist e = {0};
	char *p = write_file("ok.conf",
	                     "# comment\n\n  listen = [::1]:9000\n"
	                     "db_conninfo = \"host=/run/pg dbname=x \\\"q\\\"\"\n"
	                     "http_max_body = 2M\nhttp_idle_timeout = 250ms\nlog_level = debug\n"
	                     "db_pool_size=12\n",
	                     0644);
	struct config *c = config_load(p, &e);
	assert_non_null(c);
	assert_int_equal(e.n, 0);
	assert_string_equal(c->listen_host, "::1");
	assert_int_equal(c->listen_port, 9000);
	assert_string_equal(c->db_conninfo, "host=/run/pg dbname=x \"q\"");
	assert_int_equal(c->http_max_body, 2 * 1024 * 1024);
	assert_true(c->http_idle_timeout > 0.249 && c->http_idle_timeout < 0.251);
	assert_int_equal(c->log_level, LOG_LVL_DEBUG);
	assert_int_equal(c->db_pool_size, 12);
	config_free(c);
	free(p);
}

static void
test_errors_name_lines(void **state)
{
	(void)state;
	struct strlist e = {0};
	char *p = write_file("bad.conf",
	                     "listen = 127.0.0.1:8080\nfrobnicate = yes\nhttp_max_body = lots\n"
	                     "db_pool_size = 0\nlog_level = loud\nno equals sign\n"
	                     "listen = 127.0.0.1:1\nhttp_idle_timeout = -1s\nweb_root = \"open\n",
	                     0644);
	assert_null(config_load(p, &e));
	assert_true(has_error(&e, ":2: unknown key 'frobnicate'"));
	assert_true(has_error(&e, ":3: http_max_body"));
	assert_true(has_error(&e, ":4: db_pool_size"));
	assert_true(has_error(&e, ":5: log_level"));
	assert_true(has_error(&e, ":6: expected 'key = value'"));
	assert_true(has_error(&e, ":7: listen: set more than once"));
	assert_true(has_error(&e, ":8: http_idle_timeout"));
	assert_true(has_error(&e, ":9: web_root: unbalanced quotes"));
	assert_int_equal(e.n, 8);
	strlist_free(&e);
	free(p);
}

static void
test_secret_file(void **state)
{
	(void)state;
	struct strlist e = {0};
	char *secret = write_file("pw", "s3cret\n", 0600);
	char *text, *p;
	struct config *c;

	xasprintf(&text, "db_password_file = %s\n", secret);
	p = write_file("secret.conf", text, 0644);
	c = config_load(p, &e);
	assert_non_null(c);
	assert_string_equal(c->db_password, "s3cret");
	config_free(c);

	/* readable by others: refused, with the reason */
	assert_int_equal(chmod(secret, 0644), 0);
	assert_null(config_load(p, &e));
	assert_true(has_error(&e, "readable or writable by others"));
	strlist_free(&e);

	/* a missing file names itself */
	free(text);
	xasprintf(&text, "db_password_file = %s/nope\n", dir);
	free(p);
	p = write_file("secret2.conf", text, 0644);
	assert_null(config_load(p, &e));
	assert_true(has_error(&e, "No such file"));
	strlist_free(&e);
	free(text);
	free(p);
	free(secret);
}

static void
test_conninfo_password_needs_private_file(void **state)
{
	(void)state;
	struct strlist e = {0};
	char *p = write_file("pwinline.conf", "db_conninfo = dbname=x password=y\n", 0644);
	assert_null(config_load(p, &e));
	assert_true(has_error(&e, "readable by others"));
	strlist_free(&e);
	assert_int_equal(chmod(p, 0640), 0);
	struct config *c = config_load(p, &e);
	assert_non_null(c);
	config_free(c);
	free(p);
	/* the URI form carries a password too */
	p = write_file("pwuri.conf", "db_conninfo = postgresql://u:pw@db/stafet\n", 0644);
	assert_null(config_load(p, &e));
	strlist_free(&e);
	free(p);
	p = write_file("nopwuri.conf", "db_conninfo = postgresql://u@db:5432/stafet\n", 0644);
	c = config_load(p, &e);
	assert_non_null(c);
	config_free(c);
	free(p);
}

static void
test_units(void **state)
{
	(void)state;
	double d;
	size_t s;
	assert_int_equal(config_parse_duration("5m", &d), 0);
	assert_true(d == 300);
	assert_int_equal(config_parse_duration("2h", &d), 0);
	assert_true(d == 7200);
	assert_int_equal(config_parse_duration("10", &d), 0);
	assert_true(d == 10);
	assert_int_equal(config_parse_duration("10 s", &d), -1);
	assert_int_equal(config_parse_duration("", &d), -1);
	assert_int_equal(config_parse_duration("nan", &d), -1);
	assert_int_equal(config_parse_size("512K", &s), 0);
	assert_int_equal(s, 512 * 1024);
	assert_int_equal(config_parse_size("1MiB", &s), 0);
	assert_int_equal(s, 1024 * 1024);
	assert_int_equal(config_parse_size("-1", &s), -1);
	assert_int_equal(config_parse_size("1X", &s), -1);
	assert_int_equal(config_parse_size("99999999999999999999999", &s), -1);
}

/* Behind a TLS proxy the origin comes from public_url, never from Host. */
static void
test_tls_proxy_needs_public_url(void **state)
{
	(void)state;
	struct strlist e = {0};
	char *p = write_file("proxy.conf", "http_tls_proxy = yes\n", 0644);
	assert_null(config_load(p, &e));
	assert_int_equal(e.n, 1);
	assert_true(has_error(&e, "http_tls_proxy = yes needs public_url"));
	strlist_free(&e);
	free(p);
	p = write_file("proxy2.conf",
	               "http_tls_proxy = yes\npublic_url = https://stafet.kommune.example\n", 0644);
	struct config *c = config_load(p, &e);
	assert_non_null(c);
	assert_int_equal(e.n, 0);
	assert_int_equal(c->http_tls_proxy, 1);
	config_free(c);
	free(p);
}

/* http_hsts: a year by default, 0 for none, two years at most. */
static void
test_hsts(void **state)
{
	(void)state;
	struct strlist e = {0};
	struct config *c = config_defaults();
	assert_true(c->http_hsts == 365 * 86400.0);
	config_free(c);
	char *p = write_file("hsts0.conf", "http_hsts = 0\n", 0644);
	c = config_load(p, &e);
	assert_non_null(c);
	assert_true(c->http_hsts == 0);
	config_free(c);
	free(p);
	p = write_file("hsts3y.conf", "http_hsts = 1096d\n", 0644);
	assert_null(config_load(p, &e));
	assert_true(has_error(&e, ":1: http_hsts"));
	strlist_free(&e);
	free(p);
}

static void
test_missing_file(void **state)
{
	(void)state;
	struct strlist e = {0};
	assert_null(config_load("/nonexistent/stafetd.conf", &e));
	assert_int_equal(e.n, 1);
	strlist_free(&e);
}

static int
setup(void **state)
{
	(void)state;
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	app_config_keys_init(); /* the key table, as the daemon's */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_errors_name_lines),
	    cmocka_unit_test(test_secret_file),
	    cmocka_unit_test(test_conninfo_password_needs_private_file),
	    cmocka_unit_test(test_units),
	    cmocka_unit_test(test_tls_proxy_needs_public_url),
	    cmocka_unit_test(test_hsts),
	    cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}

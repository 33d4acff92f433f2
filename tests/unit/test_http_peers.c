/*
 * test_http_peers.c: open connections counted per client address: the cap,
 * IPv4 by address (IPv4-mapped IPv6 too), IPv6 by /64, trusted proxies
 * uncapped, 0 for no cap, and a table that grows and empties.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <event2/event.h>

#include "stafetd.h"
#include "app.h"

static struct event_base *evb;

static void
set_config(int cap, const char *proxies)
{
	struct config *c = config_defaults();
	c->http_max_connections_per_address = cap;
	free(c->http_trusted_proxies);
	c->http_trusted_proxies = xstrdup(proxies);
	config_set_current(c);
}

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return ss;
}

/* Opens a connection from `text`; NULL entry on refusal. */
static bool
open_from(const char *text, struct http_peer **out)
{
	struct sockaddr_storage ss = addr(text);
	return http_peers_open(evb, (struct sockaddr *)&ss, out);
}

static int
setup(void **state)
{
	(void)state;
	log_init(LOG_LVL_ERR + 1, LOG_TS_NO);
	evb = event_base_new();
	return evb ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	http_peers_free_all();
	config_set_current(NULL);
	event_base_free(evb);
	return 0;
}

static void
test_cap_per_address(void **state)
{
	struct http_peer *p[3], *q, *other;
	(void)state;

	set_config(3, "");
	for (int i = 0; i < 3; i++) {
		assert_true(open_from("192.0.2.7", &p[i]));
		assert_non_null(p[i]);
	}
	assert_false(open_from("192.0.2.7", &q));
	assert_null(q);
	assert_false(open_from("192.0.2.7", &q));
	assert_true(open_from("192.0.2.8", &other)); /* another address is not affected */
	http_peers_close(p[0]);
	assert_true(open_from("192.0.2.7", &p[0])); /* a place freed */
	for (int i = 0; i < 3; i++)
		http_peers_close(p[i]);
	http_peers_close(other);
	/* the refused address stays until its refusals are logged */
	assert_int_equal(http_peers_count(), 1);
	http_peers_stop();
	assert_int_equal(http_peers_count(), 0);
	http_peers_close(NULL);
}

static void
test_ipv6_counts_by_its_64(void **state)
{
	struct http_peer *a, *b, *c;
	(void)state;

	set_config(2, "");
	assert_true(open_from("2001:db8:1:2::1", &a));
	assert_true(open_from("2001:db8:1:2:ffff:ffff:ffff:ffff", &b));
	assert_ptr_equal(a, b);
	assert_false(open_from("2001:db8:1:2::99", &c));
	assert_true(open_from("2001:db8:1:3::1", &c)); /* the next /64 */
	assert_ptr_not_equal(a, c);
	http_peers_close(a);
	http_peers_close(b);
	http_peers_close(c);
	http_peers_stop();
	assert_int_equal(http_peers_count(), 0);
}

static void
test_mapped_ipv4_counts_as_ipv4(void **state)
{
	struct http_peer *a, *b, *c;
	(void)state;

	set_config(2, "");
	assert_true(open_from("10.0.0.1", &a));
	assert_true(open_from("::ffff:10.0.0.1", &b));
	assert_ptr_equal(a, b);
	/* not cut to a /64, which would put every IPv4 client in one */
	assert_true(open_from("::ffff:10.0.0.2", &c));
	assert_ptr_not_equal(a, c);
	http_peers_close(a);
	http_peers_close(b);
	http_peers_close(c);
	assert_int_equal(http_peers_count(), 0);
}

static void
test_trusted_proxy_and_no_cap(void **state)
{
	struct http_peer *p[10], *q;
	(void)state;

	set_config(2, "198.51.100.1, 2001:db8::5");
	for (int i = 0; i < 10; i++)
		assert_true(open_from("198.51.100.1", &p[i]));
	for (int i = 0; i < 10; i++)
		http_peers_close(p[i]);
	for (int i = 0; i < 10; i++)
		assert_true(open_from("2001:db8::5", &p[i]));
	/* the proxy's /64 neighbour is capped (the proxy already holds ten) */
	assert_false(open_from("2001:db8::6", &q));
	for (int i = 0; i < 10; i++)
		http_peers_close(p[i]);
	http_peers_stop();

	set_config(0, "");
	for (int i = 0; i < 10; i++)
		assert_true(open_from("192.0.2.7", &p[i]));
	for (int i = 0; i < 10; i++)
		http_peers_close(p[i]);
	assert_int_equal(http_peers_count(), 0);
}

static void
test_other_families_are_not_counted(void **state)
{
	struct sockaddr_un un;
	struct http_peer *p = (struct http_peer *)&un;
	(void)state;

	set_config(1, "");
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_true(http_peers_open(evb, (struct sockaddr *)&un, &p));
	assert_null(p);
	assert_int_equal(http_peers_count(), 0);
}

static void
test_many_addresses(void **state)
{
	enum { N = 20000 };
	struct http_peer **p = xcalloc(2 * N, sizeof(*p));
	char text[INET6_ADDRSTRLEN];
	struct http_peer *q;
	(void)state;

	set_config(2, "");
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		assert_true(open_from(text, &p[2 * i]));
		assert_true(open_from(text, &p[2 * i + 1]));
		assert_ptr_equal(p[2 * i], p[2 * i + 1]);
	}
	assert_int_equal(http_peers_count(), N);
	for (int i = 0; i < N; i += 997) {
		snprintf(text, sizeof(text), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		assert_false(open_from(text, &q));
	}
	for (int i = 0; i < 2 * N; i++)
		http_peers_close(p[i]);
	http_peers_stop();
	assert_int_equal(http_peers_count(), 0);
	free(p);
}

int
main(void)
{
	app_config_keys_init(); /* the key table, as the daemon's */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cap_per_address),
	    cmocka_unit_test(test_ipv6_counts_by_its_64),
	    cmocka_unit_test(test_mapped_ipv4_counts_as_ipv4),
	    cmocka_unit_test(test_trusted_proxy_and_no_cap),
	    cmocka_unit_test(test_other_families_are_not_counted),
	    cmocka_unit_test(test_many_addresses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

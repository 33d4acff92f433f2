/*
 * test_auth.c: session tokens and their hashes, origins and the Origin
 * check, trusted-proxy client addresses, and the failed-login counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stafetd.h"
#include "auth.h"
#include "app.h"

static void
test_token_shape_and_uniqueness(void **state)
{
	char seen[64][AUTH_TOKEN_LEN + 1];
	(void)state;
	for (int i = 0; i < 64; i++) {
		char hash[67];
		auth_token_new(seen[i], hash);
		assert_int_equal(strlen(seen[i]), AUTH_TOKEN_LEN);
		assert_true(auth_token_wellformed(seen[i], AUTH_TOKEN_LEN));
		assert_int_equal(strlen(hash), 66);
		assert_memory_equal(hash, "\\x", 2);
		/* the hash is of the token, and not the token */
		char again[67];
		auth_token_hash_hex(seen[i], AUTH_TOKEN_LEN, again);
		assert_string_equal(hash, again);
		assert_null(strstr(hash, seen[i]));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
	}
}

static void
test_token_hash_is_sha256(void **state)
{
	char hash[67];
	(void)state;
	auth_token_hash_hex("abc", 3, hash);
	assert_string_equal(hash,
	                    "\\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_token_wellformed(void **state)
{
	(void)state;
	assert_false(auth_token_wellformed("", 0));
	assert_false(auth_token_wellformed("abc", 3));
	char t[AUTH_TOKEN_LEN + 2];
	memset(t, 'A', sizeof(t));
	t[AUTH_TOKEN_LEN + 1] = '\0';
	assert_false(auth_token_wellformed(t, AUTH_TOKEN_LEN + 1));
	t[AUTH_TOKEN_LEN] = '\0';
	assert_true(auth_token_wellformed(t, AUTH_TOKEN_LEN));
	t[5] = '+'; /* base64, not base64url */
	assert_false(auth_token_wellformed(t, AUTH_TOKEN_LEN));
	t[5] = '=';
	assert_false(auth_token_wellformed(t, AUTH_TOKEN_LEN));
	t[5] = '\0';
	assert_false(auth_token_wellformed(t, AUTH_TOKEN_LEN));
}

static void
check_origin(const char *in, const char *want)
{
	char out[256];
	int rc = net_parse_origin(in, out, sizeof(out));
	if (want == NULL) {
		if (rc != -1)
			fail_msg("origin \"%s\" accepted as \"%s\"", in, out);
		return;
	}
	if (rc != 0 || strcmp(out, want) != 0)
		fail_msg("origin \"%s\" = \"%s\" (rc %d), want \"%s\"", in, rc ? "" : out, rc,
		         want);
}

static void
test_origins(void **state)
{
	(void)state;
	check_origin("http://127.0.0.1:8080", "http://127.0.0.1:8080");
	check_origin("HTTPS://Stafet.Odense.DK/", "https://stafet.odense.dk");
	check_origin("https://stafet.example:443", "https://stafet.example");
	check_origin("http://stafet.example:80", "http://stafet.example");
	check_origin("https://stafet.example:80", "https://stafet.example:80");
	check_origin("http://[::1]:8080", "http://[::1]:8080");
	check_origin("http://[::1]", "http://[::1]");
	check_origin("ftp://x", (const char *)NULL);
	check_origin("http://", (const char *)NULL);
	check_origin("http://x/path", (const char *)NULL);
	check_origin("http://x:", (const char *)NULL);
	check_origin("http://x:8a", (const char *)NULL);
	check_origin("http://:80", (const char *)NULL);
	check_origin("null", (const char *)NULL);
	check_origin("http://evil.example@stafet.example", (const char *)NULL);
	check_origin("http://a b", (const char *)NULL);
	assert_int_equal(net_parse_origin("http://ok.example", NULL, 0), 0);
}

static void
test_address_lists(void **state)
{
	const char *why = NULL;
	(void)state;
	assert_int_equal(net_check_addresses("127.0.0.1 ::1, 10.0.0.7", &why), 0);
	assert_int_equal(net_check_addresses("", &why), 0);
	assert_int_equal(net_check_addresses("127.0.0.1 proxy.example", &why), -1);
	assert_non_null(why);
	assert_int_equal(net_check_addresses("10.0.0.0/8", &why), -1);
}

/* A request with the given headers (name, value pairs, NULL-ended). */
static void
fake_request(struct http_request *req, enum http_method m, const char *peer, ...)
{
	va_list ap;
	memset(req, 0, sizeof(*req));
	req->head.method = m;
	snprintf(req->peer, sizeof(req->peer), "%s", peer);
	va_start(ap, peer);
	for (;;) {
		const char *name = va_arg(ap, const char *);
		if (name == NULL)
			break;
		req->head.headers[req->head.nheaders].name = (char *)(uintptr_t)name;
		req->head.headers[req->head.nheaders].value =
		    (char *)(uintptr_t)va_arg(ap, const char *);
		req->head.nheaders++;
	}
	va_end(ap);
}

static void
set_config(const char *public_url, int tls_proxy, const char *proxies)
{
	struct config *c = config_defaults();
	free(c->public_url);
	c->public_url = xstrdup(public_url);
	c->http_tls_proxy = tls_proxy;
	free(c->http_trusted_proxies);
	c->http_trusted_proxies = xstrdup(proxies);
	config_set_current(c);
}

static void
test_origin_check(void **state)
{
	struct http_request r;
	(void)state;

	set_config("", 0, "");
	fake_request(&r, HTTP_POST, "127.0.0.1", "Host", "127.0.0.1:8080", "Origin",
	             "http://127.0.0.1:8080", (const char *)NULL);
	assert_true(auth_origin_allowed(&r, true));
	fake_request(&r, HTTP_POST, "127.0.0.1", "Host", "127.0.0.1:8080", "Origin",
	             "http://evil.example", (const char *)NULL);
	assert_false(auth_origin_allowed(&r, true));
	assert_false(auth_origin_allowed(&r, false));
	fake_request(&r, HTTP_POST, "127.0.0.1", "Host", "127.0.0.1:8080", "Origin", "null",
	             (const char *)NULL);
	assert_false(auth_origin_allowed(&r, true));
	/* without Origin: the Referer's origin, else the caller's rule */
	fake_request(&r, HTTP_DELETE, "127.0.0.1", "Host", "127.0.0.1:8080", "Referer",
	             "http://127.0.0.1:8080/sag?id=1", (const char *)NULL);
	assert_true(auth_origin_allowed(&r, true));
	fake_request(&r, HTTP_DELETE, "127.0.0.1", "Host", "127.0.0.1:8080", "Referer",
	             "http://127.0.0.1:8080.evil.example/", (const char *)NULL);
	assert_false(auth_origin_allowed(&r, true));
	fake_request(&r, HTTP_DELETE, "127.0.0.1", "Host", "127.0.0.1:8080", (const char *)NULL);
	assert_false(auth_origin_allowed(&r, true));
	assert_true(auth_origin_allowed(&r, false));
	/* behind a TLS proxy the page's origin is https */
	set_config("", 1, "");
	fake_request(&r, HTTP_POST, "127.0.0.1", "Host", "stafet.example", "Origin",
	             "http://stafet.example", (const char *)NULL);
	assert_false(auth_origin_allowed(&r, true));
	fake_request(&r, HTTP_POST, "127.0.0.1", "Host", "stafet.example", "Origin",
	             "https://stafet.example", (const char *)NULL);
	assert_true(auth_origin_allowed(&r, true));
	/* public_url wins over whatever Host says */
	set_config("https://stafet.odense.dk", 1, "");
	fake_request(&r, HTTP_POST, "127.0.0.1", "Host", "evil.example", "Origin",
	             "https://evil.example", (const char *)NULL);
	assert_false(auth_origin_allowed(&r, true));
	fake_request(&r, HTTP_POST, "127.0.0.1", "Host", "evil.example", "Origin",
	             "https://stafet.odense.dk", (const char *)NULL);
	assert_true(auth_origin_allowed(&r, true));
	config_set_current(NULL);
}

static void
test_client_address(void **state)
{
	struct http_request r;
	(void)state;

	set_config("", 0, "");
	fake_request(&r, HTTP_GET, "10.0.0.7", "X-Forwarded-For", "192.0.2.1", (const char *)NULL);
	auth_client_address(&r);
	assert_string_equal(r.client, "10.0.0.7"); /* no proxy is trusted */
	set_config("", 0, "10.0.0.7 ::1");
	auth_client_address(&r);
	assert_string_equal(r.client, "192.0.2.1");
	/* the last entry is the one the proxy added; the rest is the client's say */
	fake_request(&r, HTTP_GET, "10.0.0.7", "X-Forwarded-For", "6.6.6.6, 192.0.2.9",
	             (const char *)NULL);
	auth_client_address(&r);
	assert_string_equal(r.client, "192.0.2.9");
	fake_request(&r, HTTP_GET, "10.0.0.8", "X-Forwarded-For", "192.0.2.9", (const char *)NULL);
	auth_client_address(&r);
	assert_string_equal(r.client, "10.0.0.8");
	fake_request(&r, HTTP_GET, "::1", "X-Forwarded-For", "2001:DB8::1", (const char *)NULL);
	auth_client_address(&r);
	assert_string_equal(r.client, "2001:db8::1");
	fake_request(&r, HTTP_GET, "10.0.0.7", "X-Forwarded-For", "not-an-address",
	             (const char *)NULL);
	auth_client_address(&r);
	assert_string_equal(r.client, "10.0.0.7");
	config_set_current(NULL);
}

static void
test_ratelimit_keys(void **state)
{
	char k[400];
	(void)state;
	ratelimit_key(k, sizeof(k), 'u', "MHA");
	assert_string_equal(k, "u:mha");
	ratelimit_key(k, sizeof(k), 'a', "192.0.2.1");
	assert_string_equal(k, "a:192.0.2.1");
	ratelimit_key(k, sizeof(k), 'a', "2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	assert_string_equal(k, "a:2001:db8:1:2::/64");
	char one[400], two[400];
	ratelimit_key(one, sizeof(one), 'a', "2001:db8:1:2::1");
	ratelimit_key(two, sizeof(two), 'a', "2001:db8:1:2::ffff");
	assert_string_equal(one, two);
	char long_name[1000];
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ratelimit_key(k, sizeof(k), 'u', long_name);
	assert_true(strlen(k) < sizeof(k));
}

/*
 * A username's key is its bare name whatever the spelling, by the text
 * alone: an unknown name folds exactly as an account's would, so which
 * spellings share a block cannot tell accounts from unknown names.
 */
static void
test_ratelimit_user_keys_fold_spellings(void **state)
{
	static const char *const spellings[] = {
	    "ghost",         "GHOST",    "ghost@stafet.example", "Ghost@Other.Example",
	    "STAFET\\ghost", "x\\ghost", "a\\b\\GHOST",          "STAFET\\ghost@stafet.example",
	};
	char k[400];
	(void)state;
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		ratelimit_key(k, sizeof(k), 'u', spellings[i]);
		assert_string_equal(k, "u:ghost");
	}
	/* nothing left after the cut: the whole name is the key */
	ratelimit_key(k, sizeof(k), 'u', "STAFET\\");
	assert_string_equal(k, "u:stafet\\");
	ratelimit_key(k, sizeof(k), 'u', "@stafet.example");
	assert_string_equal(k, "u:@stafet.example");
	ratelimit_key(k, sizeof(k), 'u', "");
	assert_string_equal(k, "u:");
	/* an address is not folded as a name */
	ratelimit_key(k, sizeof(k), 'a', "x\\y@z");
	assert_string_equal(k, "a:x\\y@z");
}

static void
test_ratelimit_blocks_and_releases(void **state)
{
	(void)state;
	ratelimit_reset_all();
	/* 3 failures within 60 s block for 10 s */
	assert_false(ratelimit_fail("u:mha", 100, 60, 3, 10));
	assert_false(ratelimit_fail("u:mha", 101, 60, 3, 10));
	assert_int_equal(ratelimit_blocked("u:mha", 101), 0);
	assert_true(ratelimit_fail("u:mha", 102, 60, 3, 10));
	assert_int_equal(ratelimit_blocked("u:mha", 102), 10);
	assert_int_equal(ratelimit_blocked("u:mha", 111.5), 1);
	/* failures while blocked neither count nor stretch the block */
	assert_false(ratelimit_fail("u:mha", 105, 60, 3, 10));
	assert_int_equal(ratelimit_blocked("u:mha", 111.9), 1);
	assert_int_equal(ratelimit_blocked("u:mha", 112), 0);
	/* after the block the count starts over */
	assert_false(ratelimit_fail("u:mha", 113, 60, 3, 10));
	assert_false(ratelimit_fail("u:mha", 114, 60, 3, 10));
	assert_int_equal(ratelimit_blocked("u:mha", 114), 0);
	/* other keys are untouched */
	assert_int_equal(ratelimit_blocked("u:sbo", 114), 0);
	/* a success forgets the failures */
	ratelimit_clear("u:mha");
	assert_false(ratelimit_fail("u:mha", 115, 60, 3, 10));
	assert_false(ratelimit_fail("u:mha", 116, 60, 3, 10));
	assert_int_equal(ratelimit_blocked("u:mha", 116), 0);
	ratelimit_reset_all();
	assert_int_equal(ratelimit_entries(), 0);
}

static void
test_ratelimit_window_slides(void **state)
{
	(void)state;
	ratelimit_reset_all();
	/* failures further apart than the window never add up */
	for (int i = 0; i < 10; i++)
		assert_false(ratelimit_fail("a:192.0.2.1", 100.0 + i * 61, 60, 2, 10));
	assert_int_equal(ratelimit_blocked("a:192.0.2.1", 800), 0);
	ratelimit_reset_all();
}

static void
test_ratelimit_is_bounded(void **state)
{
	char k[64];
	(void)state;
	ratelimit_reset_all();
	for (int i = 0; i < 150000; i++) {
		snprintf(k, sizeof(k), "u:guess%d", i);
		ratelimit_fail(k, 100, 60, 5, 10);
	}
	assert_true(ratelimit_entries() <= 100000);
	/* a blocked key survives the pruning */
	assert_true(ratelimit_fail("u:victim", 200, 60, 1, 30));
	for (int i = 0; i < 150000; i++) {
		snprintf(k, sizeof(k), "u:more%d", i);
		ratelimit_fail(k, 201, 60, 5, 10);
	}
	assert_true(ratelimit_blocked("u:victim", 202) > 0);
	ratelimit_reset_all();
}

int
main(void)
{
	app_config_keys_init(); /* the key table, as the daemon's */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_shape_and_uniqueness),
	    cmocka_unit_test(test_token_hash_is_sha256),
	    cmocka_unit_test(test_token_wellformed),
	    cmocka_unit_test(test_origins),
	    cmocka_unit_test(test_address_lists),
	    cmocka_unit_test(test_origin_check),
	    cmocka_unit_test(test_client_address),
	    cmocka_unit_test(test_ratelimit_keys),
	    cmocka_unit_test(test_ratelimit_user_keys_fold_spellings),
	    cmocka_unit_test(test_ratelimit_blocks_and_releases),
	    cmocka_unit_test(test_ratelimit_window_slides),
	    cmocka_unit_test(test_ratelimit_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

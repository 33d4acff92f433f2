/*
 * test_reports_cache.c: the quality reports kept (api/reports_cache.c): an
 * entry is found only under its exact key and version, a newer version
 * replaces it and an older one does not, the least recently used goes
 * first past 32, one too large is not kept, and stop frees everything
 * (the ASan build's leak check). In this order: stop is for good.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "stafetd.h"
#include "api.h"
#include "reports_int.h"

/* A report of n groups, each filed `filed` notes. */
static struct report
make(size_t n, long filed)
{
	struct report r = {0};
	r.v = xcalloc(n ? n : 1, sizeof(*r.v));
	r.n = r.cap = n;
	for (size_t i = 0; i < n; i++) {
		r.v[i].period = xstrdup("2026-Q1");
		r.v[i].route = xstrdup("BUR-UR");
		r.v[i].filed = filed;
		r.v[i].days = xmalloc(sizeof(struct hist));
		r.v[i].days[0] = (struct hist){3, 1};
		r.v[i].ndaysv = 1;
		r.v[i].ndays = 1;
		r.v[i].top[0] = (struct top){xstrdup("goals"), 2};
		r.v[i].ntop = 1;
	}
	return r;
}

static void
test_exact_key_and_version(void **state)
{
	struct report_version v = {4, 10}, w = {4, 11}, old = {4, 9}, g = {5, 10};
	struct report r = make(2, 7);
	struct report_cached *c;
	(void)state;

	c = reports_cache_put("k", &v, &r, 14);
	assert_non_null(c);
	assert_null(r.v); /* taken */
	assert_int_equal(c->r.n, 2);
	assert_int_equal(c->notes, 14);
	assert_ptr_equal(reports_cache_find("k", &v), c);
	assert_null(reports_cache_find("k", &w));
	assert_null(reports_cache_find("k", &g));
	assert_null(reports_cache_find("k2", &v));
	assert_null(reports_cache_find("", &v));
	c->json = xstrdup("{}");

	/* an older version does not replace it; r stays the caller's */
	r = make(1, 1);
	assert_null(reports_cache_put("k", &old, &r, 1));
	assert_non_null(r.v);
	reports_free(&r);
	assert_null(r.v);
	/* the same version neither */
	r = make(1, 1);
	assert_null(reports_cache_put("k", &v, &r, 1));
	reports_free(&r);
	/* a newer one does, and the old one (with its JSON) is gone */
	r = make(1, 3);
	c = reports_cache_put("k", &g, &r, 3);
	assert_non_null(c);
	assert_null(c->json);
	assert_int_equal(c->r.v[0].filed, 3);
	assert_null(reports_cache_find("k", &v));
	assert_ptr_equal(reports_cache_find("k", &g), c);
	reports_cache_stop();
	assert_null(reports_cache_find("k", &g));
	/* stopped: nothing more is kept */
	r = make(1, 1);
	assert_null(reports_cache_put("k", &g, &r, 1));
	reports_free(&r);
}

static void
test_least_recently_used_goes(void **state)
{
	struct report_version v = {1, 0};
	char key[16];
	(void)state;

	for (int i = 0; i < 32; i++) {
		struct report r = make(1, i);
		snprintf(key, sizeof(key), "k%d", i);
		assert_non_null(reports_cache_put(key, &v, &r, i));
	}
	assert_non_null(reports_cache_find("k0", &v)); /* k1 is now the oldest */
	struct report r = make(1, 99);
	assert_non_null(reports_cache_put("k32", &v, &r, 99));
	assert_null(reports_cache_find("k1", &v));
	for (int i = 0; i < 33; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if (i != 1)
			assert_non_null(reports_cache_find(key, &v));
	}
	/* too large an entry is not kept */
	r = make(20000, 1);
	assert_null(reports_cache_put("big", &v, &r, 1));
	reports_free(&r);
	assert_null(reports_cache_find("big", &v));
	/* the entries left are freed by the next test's reports_cache_stop() */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_least_recently_used_goes),
	    cmocka_unit_test(test_exact_key_and_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_reports_hist.c: the quality report's median and quartiles over a
 * distribution (api/reports_figures.c, as the report reads it from
 * report_items) give what they give over the same values one per note.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "stafetd.h"
#include "api.h"
#include "reports_int.h"

#define VALUES_MAX 400

static void
test_empty_and_small(void **state)
{
	struct hist none[1] = {{0, 0}};
	struct hist zero[] = {{7, 0}, {3, 0}};
	struct hist two[] = {{223, 1}, {37, 1}};
	struct hist many[] = {{4, 1}, {1, 1}, {4, 2}, {2, 3}};
	size_t n;
	double q[3];
	(void)state;
	n = 0;
	assert_true(reports_hist_median(none, &n) == -1);
	n = 2;
	assert_true(reports_hist_median(zero, &n) == -1); /* entries of no note count none */
	assert_int_equal(n, 0);
	n = 2;
	reports_hist_quartiles(two, &n, q);
	assert_true(q[0] == 83.5 && q[1] == 130 && q[2] == 176.5);
	n = 4; /* 1, 2, 2, 2, 4, 4, 4: merged, sorted */
	assert_true(reports_hist_median(many, &n) == 2);
	assert_int_equal(n, 3);
	assert_int_equal(many[0].v, 1);
	assert_int_equal(many[2].n, 3);
}

/* Random distributions, negative and large values, odd and even counts:
 * the same figures as the values laid out. */
static void
test_same_as_values(void **state)
{
	static int v[VALUES_MAX * 8];
	struct hist h[VALUES_MAX];
	(void)state;
	srand(23);
	for (int round = 0; round < 2000; round++) {
		size_t nh = 1 + (size_t)rand() % 12, nv = 0, n;
		double a[3], b[3], ma, mb;
		for (size_t i = 0; i < nh; i++) {
			h[i].v = rand() % 3 == 0 ? rand() % 200000 - 100000 : rand() % 20;
			h[i].n = rand() % 5; /* 0 too: an entry of no note */
			for (long k = 0; k < h[i].n; k++)
				v[nv++] = h[i].v;
		}
		if (nv == 0)
			continue;
		ma = reports_median(v, nv);
		reports_quartiles(v, nv, a);
		n = nh;
		mb = reports_hist_median(h, &n);
		reports_hist_quartiles(h, &n, b);
		assert_true(ma == mb);
		assert_true(a[0] == b[0] && a[1] == b[1] && a[2] == b[2]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_and_small),
	    cmocka_unit_test(test_same_as_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

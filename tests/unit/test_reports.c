/*
 * test_reports.c: the quality report's arithmetic (api/reports.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "stafetd.h"
#include "api.h"
#include "reports_int.h"

static void
test_median(void **state)
{
	int none[1] = {0};
	int one[] = {5};
	int odd[] = {9, 1, 4};
	int even[] = {4, 1, 3, 2};
	int same[] = {0, 0};
	int wide[] = {2147483647, 2147483647};
	(void)state;
	assert_true(reports_median(none, 0) == -1);
	assert_true(reports_median(one, 1) == 5);
	assert_true(reports_median(odd, 3) == 4);
	assert_int_equal(odd[0], 1); /* sorted in place */
	assert_true(reports_median(even, 4) == 2.5);
	assert_true(reports_median(same, 2) == 0);
	assert_true(reports_median(wide, 2) == 2147483647.0);
}

/* Spreadsheets' quartiles (type 7); the share noticed, rounded half up. */
static void
test_quartiles_and_share(void **state)
{
	int two[] = {223, 37};
	int one[] = {12};
	int four[] = {10, 40, 20, 30};
	double q[3];
	struct group g = {0};
	(void)state;
	reports_quartiles(two, 2, q);
	assert_true(q[0] == 83.5 && q[1] == 130 && q[2] == 176.5);
	reports_quartiles(one, 1, q);
	assert_true(q[0] == 12 && q[1] == 12 && q[2] == 12);
	reports_quartiles(four, 4, q);
	assert_true(q[0] == 17.5 && q[1] == 25 && q[2] == 32.5);
	assert_int_equal(reports_noticed_milli(&g), 0); /* none accepted */
	g.accepted = 3;
	g.noticed6 = 1;
	assert_int_equal(reports_noticed_milli(&g), 333);
	g.noticed6 = 2;
	assert_int_equal(reports_noticed_milli(&g), 667);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_median),
	    cmocka_unit_test(test_quartiles_and_share),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

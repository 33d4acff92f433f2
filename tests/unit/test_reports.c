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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_median),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

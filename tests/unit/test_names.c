/*
 * test_names.c: the Danish names beside codes (daemon/names.c): every KLE
 * number and target group of the demo directory has one, unknown codes have
 * none, target groups match in any case, and the maps hold only the named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stafetd.h"
#include "names.h"

static void
test_kle(void **state)
{
	static const char *const demo[] = {
	    "15.14.00", "17.18.00", "27.12.00", "27.15.00", "27.20.00", "27.24.00", "27.36.00",
	    "27.37.00", "27.39.00", "27.40.00", "27.42.00", "27.45.00", "32.18.00"};

	(void)state;
	for (size_t i = 0; i < sizeof(demo) / sizeof(demo[0]); i++) {
		const char *n = names_kle(demo[i]);
		if (n == NULL || *n == '\0')
			fail_msg("no name for KLE %s", demo[i]);
	}
	assert_string_equal(names_kle("27.39.00"), "Unge i overgangen til voksenlivet");
	assert_null(names_kle("99.99.99"));
	assert_null(names_kle("27.39"));
	assert_null(names_kle(""));
	assert_null(names_kle(NULL));
}

static void
test_target_groups(void **state)
{
	(void)state;
	assert_string_equal(names_target_group("socialt-udsat"), "Socialt udsatte");
	assert_string_equal(names_target_group("Socialt-Udsat"), "Socialt udsatte");
	assert_string_equal(names_target_group("anbragt"), "Anbragte børn og unge");
	assert_null(names_target_group("stor"));
	assert_null(names_target_group(NULL));
}

static void
test_maps(void **state)
{
	static const char *const kle[] = {"27.39.00", "99.00.00", NULL, "17.18.00"};
	static const char *const groups[] = {"ung-social", "ukendt"};
	json_t *m;

	(void)state;
	m = names_kle_map(kle, 4);
	assert_int_equal(json_object_size(m), 2);
	assert_string_equal(json_string_value(json_object_get(m, "17.18.00")),
	                    "Uddannelsesvejledning");
	assert_null(json_object_get(m, "99.00.00"));
	json_decref(m);
	m = names_target_group_map(groups, 2);
	assert_int_equal(json_object_size(m), 1);
	assert_string_equal(json_string_value(json_object_get(m, "ung-social")),
	                    "Unge med sociale problemer");
	json_decref(m);
	m = names_kle_map(NULL, 0);
	assert_int_equal(json_object_size(m), 0);
	json_decref(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kle),
	    cmocka_unit_test(test_target_groups),
	    cmocka_unit_test(test_maps),
	};
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}

/*
 * test_schema.c: the attribute names read from a directory's schema
 * (directory/schema.c): RFC 4512's NAME forms, case, DESC text that looks
 * like a NAME, and values cut short or hostile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stafetd.h"
#include "directory.h"
#include "sync.h"

static json_t *
names_of(const char *const *values, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++)
		dir_schema_names(o, values[i]);
	return o;
}

static void
test_name_forms(void **state)
{
	static const char *const v[] = {
	    "( 2.5.4.3 NAME 'cn' SUP name )",
	    "( 2.5.4.4 NAME ( 'sn' 'surname' ) SUP name )",
	    "( 1.2.840.113556.1.2.423 NAME 'extensionAttribute2' SYNTAX "
	    "'1.3.6.1.4.1.1466.115.121.1.15' SINGLE-VALUE )",
	    "(1.2.3 NAME'tight'DESC 'x')",
	    "( 1.2.4 NAME\t(\t'Tab1'\t'TAB2' ) )",
	};
	json_t *o = names_of(v, sizeof(v) / sizeof(v[0]));

	(void)state;
	assert_non_null(json_object_get(o, "cn"));
	assert_non_null(json_object_get(o, "sn"));
	assert_non_null(json_object_get(o, "surname"));
	assert_non_null(json_object_get(o, "extensionattribute2"));
	assert_non_null(json_object_get(o, "tab1"));
	assert_non_null(json_object_get(o, "tab2"));
	json_decref(o);
}

/* A DESC that holds "NAME 'x'" names nothing; nor do SUP NAMEd or XNAME. */
static void
test_desc_is_not_a_name(void **state)
{
	static const char *const v[] = {
	    "( 1.2.5 DESC 'the NAME \\27fake\\27 of it' NAME 'real' )",
	    "( 1.2.6 DESC 'NAME ' NAME 'after' )",
	    "( 1.2.7 SUP NAMEd SYNTAX 1.2 )",
	    "( 1.2.8 XNAME 'no' )",
	};
	json_t *o = names_of(v, sizeof(v) / sizeof(v[0]));

	(void)state;
	assert_non_null(json_object_get(o, "real"));
	assert_non_null(json_object_get(o, "after"));
	assert_null(json_object_get(o, "fake"));
	assert_null(json_object_get(o, "no"));
	assert_int_equal(json_object_size(o), 2);
	json_decref(o);
}

/* Cut short, empty, or a name too long: nothing read past the value's end
 * (ASan watches), no name longer than 255 bytes kept. */
static void
test_hostile_values(void **state)
{
	static const char *const v[] = {
	    "",
	    "(",
	    "( 1 NAME",
	    "( 1 NAME '",
	    "( 1 NAME ( 'a' 'b",
	    "( 1 NAME ( ",
	    "'''''",
	    "( 1 DESC 'unterminated NAME 'x'",
	};
	char longname[400];
	json_t *o = names_of(v, sizeof(v) / sizeof(v[0]));
	const char *k;
	json_t *val;

	(void)state;
	assert_null(json_object_get(o, "b"));
	snprintf(longname, sizeof(longname), "( 1 NAME '%0300d' )", 0);
	dir_schema_names(o, longname);
	json_object_foreach (o, k, val)
		assert_true(strlen(k) <= 255);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_forms),
	    cmocka_unit_test(test_desc_is_not_a_name),
	    cmocka_unit_test(test_hostile_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

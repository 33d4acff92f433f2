/*
 * test_log.c: daemon/log.c. One line a message with its level; a burst from
 * one call site is written up to 50 lines a window and then counted, with
 * one line that says how many more there were and the last of them;
 * another call site, errors and log_always() are never held back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stafetd.h"

static char path[64];
static int saved_stderr = -1;

/* stderr to a fresh file; returns what was written there so far. */
static void
capture(void)
{
	snprintf(path, sizeof(path), "/tmp/stafet-log-%d", (int)getpid());
	fflush(stderr);
	if (saved_stderr == -1)
		saved_stderr = dup(2);
	assert_non_null(freopen(path, "w", stderr));
	setvbuf(stderr, NULL, _IONBF, 0);
}

/* stderr back where it was, for cmocka's report. */
static void
release(void)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	unlink(path);
}

static int
count_lines(const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static void
retry_line(int i)
{
	log_notice("alerts: outbox %d attempt 2 failed, again in 3s: 421 try later", i);
}

static void
test_a_burst_is_counted(void **state)
{
	(void)state;
	capture();
	for (int i = 0; i < 120; i++)
		retry_line(i);
	log_warnx("another call site %d", 1); /* not held */
	for (int i = 0; i < 3; i++)
		log_errx("an error %d", i); /* errors never held */
	for (int i = 0; i < 60; i++)
		log_always(LOG_LVL_INFO, "test clock: step %d", i);
	log_flush();
	assert_int_equal(count_lines("attempt 2 failed"), 51);
	assert_int_equal(count_lines("notice: alerts: outbox 49 attempt"), 1);
	assert_int_equal(count_lines("notice: alerts: outbox 50 attempt"), 0);
	assert_int_equal(count_lines("70 more like this in"), 1);
	assert_int_equal(count_lines("the last: alerts: outbox 119 attempt 2 failed"), 1);
	assert_int_equal(count_lines("another call site 1"), 1);
	assert_int_equal(count_lines("error: an error"), 3);
	assert_int_equal(count_lines("test clock: step"), 60);
	/* a flush with nothing held writes nothing */
	log_flush();
	assert_int_equal(count_lines("more like this"), 1);
	release();
}

static void
test_lines_stay_one_line(void **state)
{
	(void)state;
	capture();
	log_notice("a value with\na newline and\r a return");
	assert_int_equal(count_lines("a value with a newline and  a return"), 1);
	release();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_burst_is_counted),
	    cmocka_unit_test(test_lines_stay_one_line),
	};
	log_init(LOG_LVL_INFO, LOG_TS_NO);
	/* cmocka reports on stdout; the tests read what stderr got */
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}

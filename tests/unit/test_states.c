/*
 * test_states.c: the handover state machine's table (handover/states.c),
 * the whole of it against the moves API.md and DESIGN.md describe, written
 * out here by hand: every action from every state, who takes it, where it
 * leads, what its body may carry and which alert it writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "states.h"

/* The moves: for each action, a row of six, in the order draft, submitted,
 * received, returned, accepted, withdrawn; 1 where the action may start. */
static const struct {
	const char *name;
	int from[HO_NSTATUS];
	enum ho_side side;
	const char *to; /* NULL: stays */
	const char *body[5];
	const char *alert;
	bool own_call; /* a POST /handovers/{id}/NAME of its own */
} want[HO_NACTIONS] = {
    [HO_ACT_EDIT] = {"edit",
                     {1, 0, 0, 1, 0, 0},
                     HO_SIDE_SENDER,
                     NULL,
                     {"citizen", "receiver", "sections", "planned_date"},
                     NULL,
                     false},
    [HO_ACT_SUBMIT] = {"submit",
                       {1, 0, 0, 1, 0, 0},
                       HO_SIDE_SENDER,
                       "submitted",
                       {NULL},
                       "submitted (resubmitted after a return)",
                       true},
    [HO_ACT_RECEIVE] =
        {"receive", {0, 1, 0, 0, 0, 0}, HO_SIDE_RECEIVER, "received", {NULL}, NULL, false},
    [HO_ACT_RETURN] =
        {"return", {0, 1, 1, 0, 0, 0}, HO_SIDE_RECEIVER, "returned", {"flags"}, "returned", true},
    [HO_ACT_ACCEPT] = {"accept",
                       {0, 1, 1, 0, 0, 0},
                       HO_SIDE_RECEIVER,
                       "accepted",
                       {"readback"},
                       "accepted",
                       true},
    [HO_ACT_WITHDRAW] =
        {"withdraw", {1, 1, 1, 1, 0, 0}, HO_SIDE_SENDER, "withdrawn", {"reason"}, NULL, true},
    [HO_ACT_FORWARD] = {"forward",
                        {0, 1, 1, 0, 0, 0},
                        HO_SIDE_RECEIVER,
                        "submitted",
                        {"unit", "reason"},
                        "forwarded",
                        true},
};

static void
test_the_whole_table(void **state)
{
	(void)state;
	for (int a = 0; a < HO_NACTIONS; a++) {
		const struct states_transition *t = states_transition((enum ho_action)a);
		assert_non_null(t);
		assert_int_equal(t->action, a);
		assert_string_equal(t->name, want[a].name);
		assert_int_equal(t->side, want[a].side);
		for (int s = 0; s < HO_NSTATUS; s++)
			if (states_allowed(t, (enum ho_status)s) != (want[a].from[s] == 1))
				fail_msg("%s from %s: %d", t->name, states_name((enum ho_status)s),
				         states_allowed(t, (enum ho_status)s));
		if (want[a].to == NULL)
			assert_int_equal(t->to, HO_STATUS_NONE);
		else
			assert_string_equal(states_name(t->to), want[a].to);
		size_t n = 0;
		for (; t->body && t->body[n]; n++)
			assert_string_equal(t->body[n], want[a].body[n]);
		assert_null(want[a].body[n]);
		if (want[a].alert)
			assert_string_equal(t->alert, want[a].alert);
		else
			assert_null(t->alert);
		assert_non_null(t->verb);
		assert_non_null(t->writes);
		/* the URL names only the actions that are calls of their own */
		assert_true((states_transition_named(t->name) == t) == want[a].own_call);
	}
	assert_null(states_transition((enum ho_action)HO_NACTIONS));
	assert_null(states_transition_named("delete"));
	assert_null(states_transition_named(NULL));
	assert_false(states_allowed(NULL, HO_DRAFT));
	assert_false(states_allowed(states_transition(HO_ACT_SUBMIT), HO_STATUS_NONE));
}

/* Nothing leaves an accepted or withdrawn note; every state but draft is
 * reached by some action; a withdrawn note is reached only by the sender. */
static void
test_the_machine(void **state)
{
	bool reached[HO_NSTATUS] = {0};
	(void)state;
	for (int a = 0; a < HO_NACTIONS; a++) {
		const struct states_transition *t = states_transition((enum ho_action)a);
		assert_false(states_allowed(t, HO_ACCEPTED));
		assert_false(states_allowed(t, HO_WITHDRAWN));
		if (t->to != HO_STATUS_NONE)
			reached[t->to] = true;
		if (t->to == HO_WITHDRAWN)
			assert_int_equal(t->side, HO_SIDE_SENDER);
		if (t->to == HO_ACCEPTED || t->to == HO_RETURNED)
			assert_int_equal(t->side, HO_SIDE_RECEIVER);
	}
	assert_false(reached[HO_DRAFT]);
	for (int s = HO_SUBMITTED; s < HO_NSTATUS; s++)
		assert_true(reached[s]);
}

static void
test_status_names(void **state)
{
	static const char *const names[HO_NSTATUS] = {"draft",    "submitted", "received",
	                                              "returned", "accepted",  "withdrawn"};
	static const char *const labels[HO_NSTATUS] = {"kladde",     "sendt",    "modtaget",
	                                               "returneret", "godkendt", "trukket tilbage"};
	(void)state;
	for (int s = 0; s < HO_NSTATUS; s++) {
		assert_int_equal(states_of(names[s]), s);
		assert_string_equal(states_name((enum ho_status)s), names[s]);
		assert_string_equal(states_label((enum ho_status)s), labels[s]);
	}
	assert_int_equal(states_of("Draft"), HO_STATUS_NONE);
	assert_int_equal(states_of(NULL), HO_STATUS_NONE);
	assert_string_equal(states_name(HO_STATUS_NONE), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_whole_table),
	    cmocka_unit_test(test_the_machine),
	    cmocka_unit_test(test_status_names),
	};
	return cmocka_run_group_tests_name("states", tests, NULL, NULL);
}

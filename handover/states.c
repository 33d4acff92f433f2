/*
 * states.c: the handover note's states and the one table of its moves
 * (states.h). A submitted note is received by the receiving unit's first
 * read; the receiving side then returns it (with flags), accepts it or
 * forwards it to another unit; the sending side edits a draft or a
 * returned note, submits it, and may withdraw it until it is decided.
 */
#include <stddef.h>
#include <string.h>

#include "states.h"

static const struct {
	const char *name, *label;
} statuses[HO_NSTATUS] = {
    [HO_DRAFT] = {"draft", "kladde"},         [HO_SUBMITTED] = {"submitted", "sendt"},
    [HO_RECEIVED] = {"received", "modtaget"}, [HO_RETURNED] = {"returned", "returneret"},
    [HO_ACCEPTED] = {"accepted", "godkendt"}, [HO_WITHDRAWN] = {"withdrawn", "trukket tilbage"},
};

static const char *const edit_body[] = {"citizen", "receiver", "sections", "planned_date", NULL};
static const char *const no_body[] = {NULL};
static const char *const return_body[] = {"flags", NULL};
static const char *const accept_body[] = {"readback", NULL};
static const char *const withdraw_body[] = {"reason", NULL};
static const char *const forward_body[] = {"unit", "reason", NULL};

#define OPEN (HO_FROM(HO_SUBMITTED) | HO_FROM(HO_RECEIVED))

/*
 * action      from                           side      to            body
 */
static const struct states_transition table[HO_NACTIONS] = {
    [HO_ACT_EDIT] = {HO_ACT_EDIT, "edit", HO_FROM(HO_DRAFT) | HO_FROM(HO_RETURNED), HO_SIDE_SENDER,
                     HO_STATUS_NONE, "redigere", edit_body, NULL,
                     "the changed fields, the checks and the completeness; a version"},
    [HO_ACT_SUBMIT] = {HO_ACT_SUBMIT, "submit", HO_FROM(HO_DRAFT) | HO_FROM(HO_RETURNED),
                       HO_SIDE_SENDER, HO_SUBMITTED, "sende", no_body,
                       "submitted (resubmitted after a return)",
                       "the checks, which must have no error; a version; an event"},
    [HO_ACT_RECEIVE] = {HO_ACT_RECEIVE, "receive", HO_FROM(HO_SUBMITTED), HO_SIDE_RECEIVER,
                        HO_RECEIVED, "modtage", NULL, NULL, "received_at; a version; an event"},
    [HO_ACT_RETURN] = {HO_ACT_RETURN, "return", OPEN, HO_SIDE_RECEIVER, HO_RETURNED, "returnere",
                       return_body, "returned",
                       "the flags (1 to 50); returned_by; a version; an event"},
    [HO_ACT_ACCEPT] = {HO_ACT_ACCEPT, "accept", OPEN, HO_SIDE_RECEIVER, HO_ACCEPTED, "godkende",
                       accept_body, "accepted",
                       "the read-back, if any; decided_at; a version; an event"},
    [HO_ACT_WITHDRAW] = {HO_ACT_WITHDRAW, "withdraw",
                         HO_FROM(HO_DRAFT) | OPEN | HO_FROM(HO_RETURNED), HO_SIDE_SENDER,
                         HO_WITHDRAWN, "trække tilbage", withdraw_body, NULL,
                         "the reason, if any, in the event; a version"},
    [HO_ACT_FORWARD] = {HO_ACT_FORWARD, "forward", OPEN, HO_SIDE_RECEIVER, HO_SUBMITTED,
                        "videresende", forward_body, "forwarded",
                        "the new receiving unit (no named receiver); the reason; a version; "
                        "an event"},
};

const struct states_transition *
states_transition(enum ho_action a)
{
	return (unsigned)a < HO_NACTIONS ? &table[a] : NULL;
}

const struct states_transition *
states_transition_named(const char *name)
{
	for (size_t i = 0; name && i < HO_NACTIONS; i++)
		if (i != HO_ACT_EDIT && i != HO_ACT_RECEIVE && strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

bool
states_allowed(const struct states_transition *t, enum ho_status s)
{
	return t && (unsigned)s < HO_NSTATUS && (t->from & HO_FROM(s)) != 0;
}

enum ho_status
states_of(const char *name)
{
	for (int i = 0; name && i < HO_NSTATUS; i++)
		if (strcmp(statuses[i].name, name) == 0)
			return (enum ho_status)i;
	return HO_STATUS_NONE;
}

const char *
states_name(enum ho_status s)
{
	return (unsigned)s < HO_NSTATUS ? statuses[s].name : "?";
}

const char *
states_label(enum ho_status s)
{
	return (unsigned)s < HO_NSTATUS ? statuses[s].label : "?";
}

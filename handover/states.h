/*
 * states.h: the handover note's state machine as one table: for each
 * action, the states it may start from, the side that may take it, the
 * state it leads to, what its body may carry, and what it writes. The
 * API's handlers (api/notes.c) look an action up here and do what its row
 * says; nothing beside the table decides which move is legal.
 */
#ifndef HO_STATES_H
#define HO_STATES_H

#include <stdbool.h>

enum ho_status {
	HO_DRAFT,
	HO_SUBMITTED,
	HO_RECEIVED,
	HO_RETURNED,
	HO_ACCEPTED,
	HO_WITHDRAWN,
	HO_NSTATUS,
	HO_STATUS_NONE = -1,
};

enum ho_action {
	HO_ACT_EDIT,     /* PATCH: the sender edits */
	HO_ACT_SUBMIT,   /* the sender sends it (again) */
	HO_ACT_RECEIVE,  /* the receiving unit's first GET */
	HO_ACT_RETURN,   /* the receiver sends it back with flags */
	HO_ACT_ACCEPT,   /* the receiver takes it over */
	HO_ACT_WITHDRAW, /* the sender takes it back */
	HO_ACT_FORWARD,  /* the receiver hands it to another unit */
	HO_NACTIONS,
};

enum ho_side { HO_SIDE_SENDER, HO_SIDE_RECEIVER };

#define HO_FROM(s) (1u << (s))

struct states_transition {
	enum ho_action action;
	const char *name;        /* in the URL and the event log */
	unsigned from;           /* HO_FROM() of the states it starts from */
	enum ho_side side;       /* who may take it */
	enum ho_status to;       /* HO_STATUS_NONE: stays where it is */
	const char *verb;        /* Danish, for messages: "sende" */
	const char *const *body; /* the fields its body may carry (NULL: none) */
	const char *alert;       /* the outbox event it writes, or NULL */
	const char *writes;      /* what else it writes, for people */
};

/* The row of an action; of an action's name (NULL when there is none, or
 * when it is no call of its own: receive, edit). */
const struct states_transition *states_transition(enum ho_action);
const struct states_transition *states_transition_named(const char *name);
/* May the action start from this state? */
bool states_allowed(const struct states_transition *, enum ho_status);

/* "draft" -> HO_DRAFT (HO_STATUS_NONE for anything else), and back; the
 * Danish label of a state ("kladde"). */
enum ho_status states_of(const char *name);
const char *states_name(enum ho_status);
const char *states_label(enum ho_status);

#endif

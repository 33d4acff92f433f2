/*
 * alerts.h: email alerts: the SMTP worker (smtp.c), the mails' text and
 * the CPR guard (mail.c), delivery from the outbox (outbox.c), reminders
 * and digests (reminders.c).
 */
#ifndef HO_ALERTS_H
#define HO_ALERTS_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct event_base;
struct config;
struct evbuffer;
struct dir_snapshot;
struct http_request;

/* smtp.c */
enum smtp_result { SMTP_SENT, SMTP_TEMPORARY, SMTP_PERMANENT };
struct smtp_mail {
	TAILQ_ENTRY(smtp_mail) entry;
	long long outbox_id;
	char **rcpt; /* addresses, owned */
	size_t nrcpt;
	char *data; /* the whole message, CRLF lines, owned */
	size_t len;
	void *arg; /* the loop's, untouched by the worker */
	/* the result */
	enum smtp_result result;
	long code; /* the relay's last reply code, 0 if none */
	char error[256];
};
typedef void (*smtp_done_cb)(struct smtp_mail *); /* takes ownership */
void smtp_start(struct event_base *, const struct config *, smtp_done_cb);
void smtp_reconfigure(const struct config *);
void smtp_stop(void (*free_arg)(void *));
void smtp_submit(struct smtp_mail *);
size_t smtp_inflight(void);
void smtp_mail_free(struct smtp_mail *);

/* mail.c */
struct alert_info {
	const char *event;   /* submitted, returned, ..., digest */
	const char *ref;     /* STF-2026-000123, or NULL for a digest */
	const char *note_id; /* for the link */
	const char *route;
	const char *status;
	const char *planned_date; /* or NULL */
	const char *due;          /* reminders: the date it was due, or NULL */
	const json_t *detail;     /* outbox.detail: digest items, reminder facts */
	const char *message_id;   /* "<uuid@stafet>" */
	const char *base_url;     /* links point here */
	const char *from;
	const char *const *to;
	size_t nto;
	const char *date; /* RFC 5322 date */
};
/* The whole message (headers and body, CRLF); the caller frees it. */
char *mail_build(const struct alert_info *, size_t *len);
/* True if the text holds anything shaped like a CPR number (six digits, an
 * optional hyphen, four digits, not part of a longer run of digits);
 * UUIDs are not looked into. */
bool mail_text_has_cpr(const char *text, size_t len);
const char *mail_event_label(const char *event);

/* outbox.c */
void outbox_start(struct event_base *, const struct config *);
void outbox_reconfigure(const struct config *);
void outbox_stop(void);
void outbox_kick(void);
void outbox_metrics_render(struct evbuffer *);
/* The alert keys' checks (app/config_keys.c's table): one value each, and
 * those that relate. */
int outbox_check_smtp_url(const char *, char *why, size_t);
int outbox_check_smtp_from(const char *, char *why, size_t);
int outbox_check_digest_time(const char *, char *why, size_t);
void outbox_check_keys(const struct config *, const char *path, struct strlist *errors);

/* reminders.c */
void reminders_start(struct event_base *, const struct config *);
void reminders_reconfigure(const struct config *);
void reminders_stop(void);
void reminders_run_now(void);
void reminders_metrics_render(struct evbuffer *);

#endif

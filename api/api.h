/*
 * api.h: the HTTP handlers (app/routes.c's table names them) and the
 * helpers the handlers share. Only app/ includes this.
 */
#ifndef STAFET_API_H
#define STAFET_API_H

#include "stafetd.h"

struct dir_snapshot;
struct ho_route_set;
struct ho_route;
struct ho_template;

/* ops.c: health, readiness, metrics, the OpenAPI document. */
void ops_healthz(struct http_request *);
void ops_readyz(struct http_request *);
void ops_metrics(struct http_request *);
void ops_openapi(struct http_request *);

/* api_session.c */
void api_session_create(struct http_request *);
void api_session_delete(struct http_request *);
void api_me(struct http_request *);
void api_session_start(struct event_base *);
void api_session_stop(void);

/* people.c */
void api_people_list(struct http_request *);
void api_people_get(struct http_request *);
void api_units_list(struct http_request *);
void api_units_get(struct http_request *);

/* The current snapshot, or NULL after answering 503 (none configured or
 * not read yet). Borrowed: valid while the request's handler runs on the
 * loop (a new one is swapped in only between events); take a reference
 * (dir_snapshot_ref) to keep it longer. */
struct http_request;
const struct dir_snapshot *answer_snapshot_or_fail(struct http_request *);

/* audit.c */
void api_audit_list(struct http_request *);

/* alerts.c: the outbox and the alert settings. */
void api_outbox_list(struct http_request *);
void api_outbox_retry(struct http_request *);
void api_alert_settings_get(struct http_request *);
void api_alert_settings_put(struct http_request *);

/* reports.c: GET /api/v1/reports/quality */
void api_reports_quality(struct http_request *);
/* The module row: nothing to start; stop frees the answers kept
 * (reports_cache.c). */
struct event_base;
struct config;
void api_reports_start(struct event_base *, const struct config *);
void api_reports_stop(void);
/* Median of n counts (the mean of the middle two for even n); sorts v in
 * place. -1 when n is 0. */
double reports_median(int *v, size_t n);

/* handovers.c: shared with notes.c */
void answer_db_error(struct http_request *, const char *error);
void answer_not_found(struct http_request *);
/* routes_current(), borrowed the same way, or NULL after answering 503. */
struct ho_route_set *answer_routes_or_fail(struct http_request *);
/* The checks' results on doc (borrowed): a new array the caller owns. */
json_t *api_handovers_run_checks(const struct ho_template *, const struct ho_route *,
                                 const struct dir_snapshot *, const json_t *doc, bool submit,
                                 int *completeness, int *failed);
/* Reads body (borrowed) into out, which takes references of its own to the
 * values it keeps; errors are added to problem. 0, 400 or 422. */
int api_handovers_read_fields(json_t *body, const struct ho_template *, bool patch, bool strict,
                              json_t *out, json_t *problem);
int api_handovers_check_receiver(const struct dir_snapshot *, const struct ho_route *,
                                 const char *unit, const char *person, json_t *problem);
/* The document the checks read, from row with changes laid over it (both
 * borrowed, either may be NULL): a new object the caller owns. */
json_t *api_handovers_check_doc(const json_t *row, const json_t *changes);
bool answer_uuid_ok(const char *);
/* ?status=a,b, each one of known, as a PostgreSQL array literal "{a,b}"
 * in arr (n bytes; empty when none is given); false when one is unknown or
 * the list too long, the 400 (why) sent. */
bool answer_statuses_param(struct http_request *, const char *const *known, const char *why,
                           char *arr, size_t n);
/* A list's ?limit= (1 to 500; *limit keeps its default when absent) and
 * ?cursor=KEY.UUID, KEY judged by key_ok, split in place in cursor (n
 * bytes) into *key and *id, left NULL when there is none; false when either
 * is malformed, the 400 sent. */
bool answer_page_params(struct http_request *, long *limit, char *cursor, size_t n,
                        bool (*key_ok)(const char *, size_t), const char **key, const char **id);
bool answer_body_object(struct http_request *, const char *const *known);

/* handovers.c, notes.c: the handlers */
void api_templates_get(struct http_request *);
void api_handovers_check(struct http_request *);
void api_handovers_create(struct http_request *);
void api_handovers_list(struct http_request *);
void api_handover_get(struct http_request *);
void api_handover_patch(struct http_request *);
void api_handover_history(struct http_request *);
void api_handover_action(struct http_request *);
/* drafts.c: DELETE /api/v1/handovers/{id} (a draft, soft) */
void api_handover_delete(struct http_request *);
/* tasks.c: GET /api/v1/me/tasks */
void api_me_tasks(struct http_request *);
/* flags.c: the sending side's reply to a flag */
void api_handover_flag_reply(struct http_request *);
/* calendar.c: the deadline feed; vcard.c: a person's vCard */
void api_calendar_create(struct http_request *);
void api_calendar_delete(struct http_request *);
void api_calendar_feed(struct http_request *);
bool api_calendar_log_path(const char *path, char *out, size_t outsz);
/* contentline.c: one iCalendar/vCard content line appended to b, folded
 * at 75 octets (never inside a UTF-8 sequence) and ended with CRLF. */
void api_content_line(struct evbuffer *b, const char *line);
void api_people_vcard(struct http_request *);
/* notes.c: a note write's If-Match: "N" gives N, * 0 (any version), W/"N"
 * a version no note reaches (never matches); -1 when absent, -2 when
 * unreadable. */
long answer_if_match(const struct http_request *);

/* notices.c, notices_import.c: notices (varsler) */
void api_notices_create(struct http_request *);
void api_notices_list(struct http_request *);
void api_notice_get(struct http_request *);
void api_notice_patch(struct http_request *);
void api_notice_action(struct http_request *);
void api_notices_import(struct http_request *);
void api_notices_pipeline(struct http_request *);
/* The configured days off (HO_OFF_* bits). */
unsigned api_notices_days_off(void);
/* The API's Notice from a row of notice_json() (borrowed): a new object. */
json_t *api_notice_render(const json_t *row, unsigned access, bool full_cpr);
/* expected_date judged: false with the error added to p (status 400/422). */
bool api_notice_expected_ok(const json_t *v, json_t *p, int *status);
/* The unit a person files from on route r (borrowed from s), or NULL. */
const char *api_notice_sending_unit(const struct dir_snapshot *, int me, const struct ho_route *);
/* Answers 409 naming the open notice or unfinished note (borrowed). */
void api_notice_conflict(struct http_request *, const json_t *conflict);

/* pdf.c: GET /api/v1/handovers/{id}/pdf, rendered off the loop (the module
 * row starts the worker and reads the fonts from web_root). */
void api_handover_pdf(struct http_request *);
void api_pdf_start(struct event_base *, const struct config *);
void api_pdf_stop(void);

/* routes.c */
void api_routes_list(struct http_request *);
void api_counterparts(struct http_request *);
/* A note was written here: the open notes and earlier receivers that
 * counterpart lookups remember are read again (notes.c calls it). */
void api_counterparts_changed(void);
/* The module row: a timer that wipes the citizen keys kept past their
 * second; stop frees what lookups keep. */
struct event_base;
struct config;
void api_counterparts_start(struct event_base *, const struct config *);
void api_counterparts_stop(void);

#endif

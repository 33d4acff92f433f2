/*
 * auth.h: the auth layer (above the directory, below the handovers and the
 * API): session tokens, the login check on every request, roles, the
 * session cache, the audit log's writer.
 */
#ifndef STAFET_AUTH_H
#define STAFET_AUTH_H

#include "stafetd.h"

struct dir_snapshot;

/* auth.c: tokens, sessions, origins, client addresses, roles. */
#define AUTH_TOKEN_LEN 43 /* 256 bits, base64url without padding */
enum auth_role { ROLE_CASEWORKER, ROLE_LEAD, ROLE_QUALITY, ROLE_ADMIN };
void auth_start(struct event_base *);
void auth_stop(void);
void auth_token_new(char token[AUTH_TOKEN_LEN + 1], char hash_hex[67]);
void auth_token_hash_hex(const char *token, size_t len, char hash_hex[67]);
bool auth_token_wellformed(const char *, size_t);

void auth_client_address(struct http_request *);
bool auth_origin_allowed(const struct http_request *, bool required);
void auth_set_cookie(struct http_request *, const char *token, long max_age);
void auth_authenticate(struct http_request *, http_handler next);
int auth_person(const struct http_request *);
bool auth_has_role(const struct http_request *, enum auth_role);
json_t *auth_roles_json(const struct dir_snapshot *, int person);
void auth_unauthorized(struct http_request *, const char *detail);

/* session_cache.c: sessions kept in memory while session ends are heard. */
/*
 * Seconds a path that ends a session waits, after its statement committed,
 * before it answers the client: the lease (0.25 s) and a margin for the
 * daemons' clock rates. Every daemon then refuses the session for any
 * request it answers after that answer (session_cache.c).
 */
#define SESSION_END_WAIT 0.26
void session_cache_start(struct event_base *, const struct config *);
void session_cache_reconfigure(const struct config *);
void session_cache_stop(void);
bool session_cache_get(const char *hash_hex, double ttl, struct http_auth *out) WUR;
void session_cache_put(unsigned long long epoch, const char *hash_hex, const struct http_auth *,
                       double ttl);
void session_cache_forget(long long session_id);
typedef void (*session_confirmed_cb)(struct http_request *, http_handler, const char *hash_hex,
                                     double ttl, bool alive);
void session_cache_confirm(struct http_request *, http_handler, const char *hash_hex, double ttl,
                           session_confirmed_cb);
unsigned long long session_cache_epoch(void);
void session_cache_metrics(struct evbuffer *);

/* audit.c: the append-only audit log. */
void audit_record(const struct http_request *, const char *actor_id, const char *actor_username,
                  const char *action, const char *object_type, const char *object_id,
                  const char *detail);

#endif

/*
 * http_internal.h: what the HTTP server's files share and nothing else
 * names: http.c (the connections) calls http_listen.c (the listening
 * socket and admission), never the other way round; both write the Date
 * that http_parse.c formats.
 */
#ifndef HTTP_INTERNAL_H
#define HTTP_INTERNAL_H

#include <event2/listener.h>

struct http_peer;
struct sockaddr;

/* http_parse.c */
const char *http_date(void);

/* http_listen.c */
int http_listen_start(struct event_base *, const struct config *, evconnlistener_cb) WUR;
void http_listen_stop(void);
bool http_listen_admit(struct event_base *, evutil_socket_t, const struct sockaddr *,
                       struct http_peer **) WUR;
void http_listen_opened(size_t n);
void http_listen_closed(size_t n);

#endif

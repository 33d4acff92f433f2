/*
 * stafetd.h: the daemon's shared declarations, grouped by the file that
 * defines them.
 */
#ifndef STAFETD_H
#define STAFETD_H

#include <sys/time.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

struct event_base;
struct evbuffer;

#define STAFET_VERSION "0.1.0"

#define WUR              __attribute__((warn_unused_result))
#define PRINTFLIKE(f, a) __attribute__((format(printf, f, a)))

/* Compiled-in defaults; the Makefile sets them from PREFIX/SYSCONFDIR. */
#ifndef STAFET_SYSCONFDIR
#define STAFET_SYSCONFDIR "/etc/stafet"
#endif
#ifndef STAFET_DATADIR
#define STAFET_DATADIR "/usr/share/stafet"
#endif

/* log.c */
enum log_level {
	LOG_LVL_DEBUG,
	LOG_LVL_INFO,
	LOG_LVL_NOTICE,
	LOG_LVL_WARNING,
	LOG_LVL_ERR,
};
void log_init(int level, int timestamps);
void log_set_level(int level);
bool log_enabled(int level);
void log_debug(const char *, ...) PRINTFLIKE(1, 2);
void log_info(const char *, ...) PRINTFLIKE(1, 2);
void log_notice(const char *, ...) PRINTFLIKE(1, 2);
void log_warn(const char *, ...) PRINTFLIKE(1, 2);
void log_warnx(const char *, ...) PRINTFLIKE(1, 2);
void log_errx(const char *, ...) PRINTFLIKE(1, 2);
/* A line never held back as part of a burst (each is awaited by a test or
 * an operator: the test clock's moves). */
void log_always(int level, const char *, ...) PRINTFLIKE(2, 3);
/* Writes the counts of bursts still held (at stop). */
void log_flush(void);
__attribute__((noreturn)) void fatal(const char *, ...) PRINTFLIKE(1, 2);
__attribute__((noreturn)) void fatalx(const char *, ...) PRINTFLIKE(1, 2);

/* xmalloc.c: allocation wrappers that never return NULL. */
void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
int xasprintf(char **, const char *, ...) PRINTFLIKE(2, 3);
void explicit_wipe(void *, size_t);

/*
 * strlist: a growable list of owned strings (error reports, an attribute's
 * values). Start from {0}. strlist_add appends a formatted string,
 * strlist_push a copy of s (s stays the caller's); strlist_free frees every
 * string and the array, and leaves an empty list.
 */
struct strlist {
	char **v;
	size_t n, cap;
};
void strlist_add(struct strlist *, const char *, ...) PRINTFLIKE(2, 3);
void strlist_push(struct strlist *, const char *s);
void strlist_free(struct strlist *);

/* config.c */
enum log_ts_mode { LOG_TS_AUTO, LOG_TS_YES, LOG_TS_NO };
struct config {
	char *path;
	char *listen;      /* as written, "host:port" */
	char *listen_host; /* parsed */
	int listen_port;
	char *web_root;
	int log_level;
	int log_timestamps;
	char *db_conninfo;
	char *db_password; /* from db_password_file; wiped on free */
	int db_pool_size;
	double db_connect_timeout;
	double db_query_timeout;
	int db_queue_max;
	size_t http_max_body;
	size_t http_max_header;
	int http_max_connections;
	int http_max_connections_per_address; /* 0: no limit */
	double http_header_timeout;
	double http_idle_timeout;
	double http_shutdown_grace;
	/* the directory */
	char *ldap_uri;
	int ldap_starttls;
	int ldap_allow_plaintext;
	char *ldap_ca_file;
	char *ldap_bind_dn;
	char *ldap_bind_password;
	double ldap_connect_timeout;
	double ldap_timeout;
	int ldap_page_size;
	int directory_layout;
	char *directory_people_base, *directory_people_filter;
	char *directory_units_base, *directory_units_filter;
	char *directory_groups_base, *directory_groups_filter;
	char *map_unit, *map_target_groups, *map_allocation, *map_deputy, *map_absent_from,
	    *map_absent_until;
	char *map_kle_responsible, *map_kle_performing, *map_kle_insight;
	char *map_unit_intake;
	double directory_refresh_interval;
	double directory_reconcile_interval;
	double directory_overlap;
	double directory_probe_interval;
	char *directory_snapshot_file;
	int directory_anonymous_read;
	int session_cache;
	/* login and sessions */
	char *public_url;
	int http_tls_proxy;
	double http_hsts; /* Strict-Transport-Security max-age behind TLS; 0: none */
	char *http_trusted_proxies;
	double session_idle_timeout;
	double session_absolute_timeout;
	char *role_quality_group;
	char *role_admin_group;
	int login_workers;
	int login_queue_max;
	double login_failure_delay;
	double login_failure_window;
	int login_user_max_failures;
	double login_user_block;
	int login_address_max_failures;
	double login_address_block;
	int calendar_fetch_max; /* deadline feed fetches per address a minute */
	int calendar_miss_max;  /* unknown feed addresses per address in 10 min */
	double routes_reload_interval;
	char *names_file; /* operator's names beside the built-in ones; "" none */
	/* alerts */
	char *smtp_url;
	int smtp_starttls;
	char *smtp_ca_file;
	char *smtp_username;
	char *smtp_password;
	char *smtp_from;
	double smtp_timeout;
	int alert_batch;
	int alert_max_attempts;
	double alert_retry_min;
	double alert_retry_max;
	double alert_lease;
	double alert_poll_interval;
	double reminder_interval;
	int reminder_undecided_days;
	int reminder_returned_days;
	int reminder_draft_days;
	char *days_off;
	char *digest_time;
};
enum { SMTP_STARTTLS_NO, SMTP_STARTTLS_OPTIONAL, SMTP_STARTTLS_REQUIRED };
enum { DIR_LAYOUT_OPENLDAP, DIR_LAYOUT_AD };
/* The engine (config.c) parses and applies; the table of keys is the
 * wiring's (app/config_keys.c), given with config_set_keys before any load. */
enum cfg_type {
	CFG_STRING,
	CFG_LISTEN,
	CFG_INT,
	CFG_SIZE,
	CFG_DURATION,
	CFG_ENUM,
	CFG_SECRET_FILE,
};
/* A check of one string key's final value: 0, or -1 with a sentence in `why`
 * (the engine puts the file and the key before it). */
typedef int cfg_check_fn(const char *value, char *why, size_t whysize);
/* A check of keys that relate: adds "path: ..." to `errors`. */
typedef void cfg_relation_fn(const struct config *, const char *path, struct strlist *errors);
struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t offset;
	const char *def;
	double min, max;            /* CFG_INT, CFG_SIZE, CFG_DURATION */
	const char *const *choices; /* CFG_ENUM: index is the value */
	bool restart;               /* a change needs a restart, not a reload */
	const char *help;
	cfg_check_fn *check; /* CFG_STRING only; NULL: any value */
};
/* The tables are not copied: they must outlive every config. */
void config_set_keys(const struct cfg_key *, size_t, cfg_relation_fn *const *relations,
                     size_t nrelations);
struct config *config_load(const char *path, struct strlist *errors) WUR;
struct config *config_defaults(void);
void config_free(struct config *);
const struct config *config_current(void);
void config_set_current(struct config *);
int config_parse_duration(const char *, double *) WUR;
int config_parse_size(const char *, size_t *) WUR;
void config_print_keys(void);
void config_report_restart_keys(const struct config *, const struct config *);

/* utf8.c: strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past
 * U+10FFFF. */
bool utf8_valid(const char *, size_t);

/* json.c */
struct json_limits {
	size_t max_depth;
	size_t max_string;
};
enum json_check {
	JSON_CHECK_OK,
	JSON_CHECK_UTF8,
	JSON_CHECK_DEPTH,
	JSON_CHECK_STRING,
};
enum json_check json_precheck(const char *, size_t, const struct json_limits *, size_t *offset);
json_t *json_parse_limited(const char *, size_t, const struct json_limits *, int *status,
                           char *detail, size_t detailsz) WUR;
json_t *json_problem(int status, const char *title, const char *detail);
char *json_dump_compact(const json_t *);
json_t *json_unknown_fields(json_t *, const char *const *allowed, const char *prefix);
void json_problem_add_error(json_t *, const char *field, const char *code, const char *message);
/* The string member `key` of an object, or NULL when it is missing, not a
 * string or o is not an object; borrowed from o. */
const char *json_str(const json_t *o, const char *key);

/* http.c */
enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_HEAD = 1 << 1,
	HTTP_POST = 1 << 2,
	HTTP_PUT = 1 << 3,
	HTTP_PATCH = 1 << 4,
	HTTP_DELETE = 1 << 5,
	HTTP_OPTIONS = 1 << 6,
	HTTP_OTHER = 1 << 7,
};
#define HTTP_MAX_HEADERS 100
#define HTTP_MAX_TARGET  (32 * 1024)
struct http_header {
	char *name;
	char *value;
};
/* The parsed head of a request; names and values point into `buf`. */
struct http_head {
	char *buf;
	enum http_method method;
	char method_str[16];
	char *target;
	char *path; /* percent-decoded, without the query */
	char *query;
	int minor_version;
	struct http_header headers[HTTP_MAX_HEADERS];
	int nheaders;
	bool chunked;
	bool has_length;
	uint64_t content_length;
	bool keep_alive;
	bool expect_continue;
};
int http_parse_head(const char *, size_t, struct http_head *, const char **why) WUR;
void http_head_free(struct http_head *);
const char *http_head_get(const struct http_head *, const char *name);
int http_decode_chunk_size(const char *, size_t, uint64_t *) WUR;
const char *http_status_text(int);

struct http_request;
struct route;
typedef void (*http_handler)(struct http_request *);

/* Who a request is from, once auth_authenticate() has passed it. */
struct http_auth {
	bool ok;
	bool cookie; /* by the session cookie (CSRF rules apply), not Bearer */
	long long session_id;
	double expires_at;
	char person_id[128];
	char username[128];
};

struct http_request {
	struct http_conn *conn;
	struct http_head head;
	struct evbuffer *body;
	json_t *json; /* parsed body for routes that take JSON */
	const struct route *route;
	char peer[64];
	char client[64]; /* the client's address: peer, or X-Forwarded-For from a trusted proxy */
	char id[17];
	struct http_auth auth;
	double started;
	/* response under construction */
	struct http_header resp_headers[16];
	int nresp_headers;
	bool responded;
};
/* The function every complete request goes to (the router sets it). */
void http_set_dispatch(http_handler);
/* A path the access log must not show as it is (it holds a secret): the
 * function writes what to show into out and returns true. */
typedef bool (*http_log_path_fn)(const char *path, char *out, size_t outsz);
void http_set_log_path(http_log_path_fn);
int http_server_start(struct event_base *, const struct config *) WUR;
void http_server_stop_accepting(void);
void http_server_free_all(void);
size_t http_server_connections(void);
bool http_server_idle(void);
void http_respond(struct http_request *, int status, const char *ctype, const void *body,
                  size_t len);
void http_respond_buffer(struct http_request *, int status, const char *ctype, struct evbuffer *);
void http_respond_json(struct http_request *, int status, json_t *);
void http_problem(struct http_request *, int status, const char *title, const char *detail);
void http_problem_json(struct http_request *, json_t *problem);
void http_add_header(struct http_request *, const char *name, const char *value);
const char *http_request_header(const struct http_request *, const char *name);
const char *http_query_param(const struct http_request *, const char *name, char *buf,
                             size_t bufsz);
bool http_query_has(const struct http_request *, const char *name);
bool http_query_check(struct http_request *, const char *const *allowed);
void http_bad_param(struct http_request *, const char *field, const char *message);

/* http_peers.c: open connections counted per client address. */
struct http_peer;
struct sockaddr;
bool http_peers_open(struct event_base *, const struct sockaddr *, struct http_peer **) WUR;
void http_peers_close(struct http_peer *);
void http_peers_stop(void);
void http_peers_free_all(void);
size_t http_peers_count(void);

/* router.c */
enum route_flags {
	ROUTE_PUBLIC = 1 << 0,    /* no authentication */
	ROUTE_JSON = 1 << 1,      /* parse a JSON body before the handler */
	ROUTE_PREFIX = 1 << 2,    /* pattern matches this prefix and below */
	ROUTE_DIRECTORY = 1 << 3, /* directory reads: anonymous while directory_anonymous_read */
	ROUTE_JSON_OPTIONAL = 1 << 4, /* a JSON body if there is one (req->json NULL if not) */
};
struct route {
	unsigned methods;
	const char *pattern;
	http_handler handler;
	unsigned flags;
	int index; /* slot in the metrics tables */
};
void router_init(struct route *, size_t, void (*login)(struct http_request *, http_handler),
                 void (*client_address)(struct http_request *));

/* metrics.c: knows no other part of the daemon; they register with it. */
void metrics_init(void);
void metrics_routes(size_t n);
void metrics_add_gauge(const char *name, const char *help, size_t (*read)(void));
void metrics_observe(const struct route *, const char *method, int status, double seconds);
void metrics_count(const char *name);
void metrics_render(struct evbuffer *);
/* A module's own metrics, rendered after the core's. */
void metrics_add_renderer(void (*)(struct evbuffer *));
/* net.c: addresses and origins. An IPv4 or IPv6 address of n bytes (out
 * gets 4 or 16 bytes); a list of them separated by spaces or commas (0, or
 * -1 with why); whether addr is in such a list; "http(s)://host[:port]"
 * to the form browsers send in Origin (out may be NULL to only check). */
bool net_parse_ip(const char *s, size_t n, unsigned char out[16], int *family);
int net_check_addresses(const char *list, const char **why) WUR;
bool net_address_listed(const char *list, const char *addr);
int net_parse_origin(const char *url, char *out, size_t outsz) WUR;

/* clock.c: the daemon's one clock (wall, monotonic, the Copenhagen date,
 * and the offset its SQL adds to now()). A test build (STAFET_TEST_CLOCK)
 * lets a test move it; a production build cannot be moved. */
double clock_mono(void);
double clock_mono_real(void);
double clock_wall(void);
time_t clock_time(void);
struct timeval clock_timeval(double secs);
void clock_today(char out[11]);
/* Seconds to add to PostgreSQL's now() (0 but in a moved test clock), as
 * a query parameter written into buf. */
double clock_db_offset(void);
const char *clock_db_offset_param(char buf[32]);
bool clock_is_test(void);
/* The civil calendar on day numbers (days since 1970-01-01, proleptic
 * Gregorian) and Copenhagen's time (CET, CEST by the EU rule: last Sunday
 * of March to last Sunday of October, 01:00 UTC), independent of TZ. */
long clock_floor_div(long a, long b);
bool clock_leap(int year);
int clock_month_days(int year, int month);
/* A date "YYYY-MM-DD" (exactly len 10, ASCII digits) that exists, in the
 * years 1800-2199; true if so. */
bool clock_date_valid(const char *s, size_t len);
long clock_days_from_civil(int y, int m, int d);
void clock_civil_from_days(long days, int *y, int *m, int *d);
/* "YYYY-MM-DD" of a year in 0..9999 into out. */
void clock_put_date(char out[11], int y, int m, int d);
/* ISO weekday of a day number: 1 Monday .. 7 Sunday. */
int clock_weekday(long days);
/* Copenhagen's offset from UTC at t in seconds (3600 or 7200), its date at
 * t, and the minutes since local midnight there. */
long clock_copenhagen_offset(time_t t);
void clock_date_copenhagen(time_t t, char out[11]);
int clock_minutes_copenhagen(time_t t);
void clock_init(struct event_base *);
void clock_stop(void);

/* db.c: the asynchronous PostgreSQL pool. */
typedef void (*db_cb)(PGresult *res, const char *error, void *arg);
void db_pool_start(struct event_base *, const struct config *);
void db_pool_reconfigure(const struct config *);
void db_pool_stop(void);
int db_query(const char *sql, int nparams, const char *const *params, db_cb, void *arg) WUR;
/* A statement prepared once per pool connection (parsed and analysed once,
 * its plan cached by the server) under `name`, which must be unique in the
 * process and stable; the caller keeps the struct for the process's life
 * (static) and leaves `slot` 0. */
struct db_stmt {
	const char *name;
	const char *sql;
	int nparams;
	int slot; /* the pool's: 0 until first used */
};
/* As db_query, the statement's SQL prepared on the connection first if
 * it is not yet (and again after a reconnect). */
int db_query_stmt(struct db_stmt *, const char *const *params, db_cb, void *arg) WUR;
bool db_available(const char **why);
void db_metrics_render(struct evbuffer *);

/* db_conn.c: connecting to PostgreSQL (the pool, the migrations, the
 * session cache). */
void db_conn_params(const struct config *, char ***kw, char ***val);
void db_conn_params_free(char **kw, char **val);
/* Sends a connection's notices to the log, as "WHO: postgresql says: ...". */
void db_notices_to_log(PGconn *, const char *who);
PGconn *db_connect_blocking(const struct config *);

/* migrate.c */
struct migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct migration migrations[];
extern const size_t migrations_count;
/* Files compiled in by scripts/embed.sh (mode "files"). */
struct embedded_file {
	const char *name;
	const char *text;
};
extern const struct embedded_file route_seeds[]; /* schema/routes/NAME.json */
extern const size_t route_seeds_count;
extern const struct embedded_file template_seeds[]; /* schema/templates/NAME.json */
extern const size_t template_seeds_count;
int migrate_latest(void);
int migrate_run(const struct config *) WUR;
int migrate_check_startup(const struct config *) WUR;
/* Fills what migration `version` made (in its transaction); every_run: also
 * at each later --migrate (what ships may have grown). 0 or -1. */
struct migrate_seed {
	int version;
	const char *name;
	int (*seed)(PGconn *);
	bool every_run;
};
void migrate_set_seeds(const struct migrate_seed *, size_t);

extern const char openapi_json[];
extern const size_t openapi_json_len;

/* static.c: the web UI's files. */
void static_serve(struct http_request *);
const char *static_content_type(const char *path);
bool static_path_ok(const char *path);

/* ratelimit.c: failed-login counters, in memory. */
void ratelimit_key(char *out, size_t outsz, char kind, const char *value);
long ratelimit_blocked(const char *key, double now);
bool ratelimit_fail(const char *key, double now, double window, int max, double block);
void ratelimit_clear(const char *key);
void ratelimit_reset_all(void);
size_t ratelimit_entries(void);

/* main.c */
struct event_base *stafetd_base(void);
void sd_notify_msg(const char *);

#endif

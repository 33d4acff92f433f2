/*
 * metrics.c: counters and latency histograms in Prometheus text format.
 *
 * Requests are counted per route pattern (never per raw path, which would
 * let clients grow the table and could carry identifiers), method and
 * status. Everything runs on the loop thread, so no locking.
 *
 * The registry names no other part of the daemon: the router tells it how
 * many routes it numbered (router_init), a request's route brings its own
 * label, and the HTTP server registers its gauge (http_server_start).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "stafetd.h"

#define MAX_ROUTES   64
#define MAX_STATUS   24
#define MAX_COUNTERS 32

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct status_count {
	char method[8];
	int status;
	unsigned long long n;
};

struct route_stats {
	const char *label; /* the route's pattern, from its first request */
	struct status_count st[MAX_STATUS];
	int nst;
	unsigned long long bucket[NBUCKETS + 1];
	unsigned long long count;
	double sum;
};

/* Slot MAX_ROUTES-1 holds requests that matched no route. */
static struct route_stats stats[MAX_ROUTES];
static struct {
	const char *name;
	unsigned long long n;
} counters[MAX_COUNTERS];
static int ncounters;
/* Gauges read when rendered (the HTTP server's open connections). */
#define MAX_GAUGES 4
static struct {
	const char *name, *help;
	size_t (*read)(void);
} gauges[MAX_GAUGES];
static size_t ngauges;
static double started_at;
/* The modules' own metrics (app/modules.c registers them). */
#define MAX_RENDERERS 16
static void (*renderers[MAX_RENDERERS])(struct evbuffer *);
static size_t nrenderers;

void
metrics_init(void)
{
	started_at = clock_wall();
}

/* The router numbers its n routes 0..n-1 (struct route's index): a slot
 * each here, and the last for requests that matched none. */
void
metrics_routes(size_t n)
{
	if (n >= MAX_ROUTES)
		fatalx("metrics: more routes than slots");
}

/* A gauge read at each rendering, as stafet_NAME; name and help must be
 * literals. */
void
metrics_add_gauge(const char *name, const char *help, size_t (*read)(void))
{
	if (ngauges == MAX_GAUGES)
		fatalx("metrics: more gauges than slots");
	gauges[ngauges].name = name;
	gauges[ngauges].help = help;
	gauges[ngauges++].read = read;
}

void
metrics_observe(const struct route *r, const char *method, int status, double seconds)
{
	struct route_stats *s = &stats[r ? r->index : MAX_ROUTES - 1];
	int i;

	s->label = r ? r->pattern : "unmatched";
	for (i = 0; i < s->nst; i++)
		if (s->st[i].status == status && strcmp(s->st[i].method, method) == 0)
			break;
	if (i == s->nst) {
		if (s->nst == MAX_STATUS) {
			i = MAX_STATUS - 1; /* saturated: fold into the last slot */
		} else {
			s->nst++;
			snprintf(s->st[i].method, sizeof(s->st[i].method), "%s",
			         strlen(method) < 8 ? method : "OTHER");
			s->st[i].status = status;
		}
	}
	s->st[i].n++;
	for (i = 0; i < (int)NBUCKETS && seconds > buckets[i]; i++)
		;
	s->bucket[i]++;
	s->count++;
	s->sum += seconds;
}

/* Counts one occurrence of a named event; `name` must be a literal. */
void
metrics_count(const char *name)
{
	for (int i = 0; i < ncounters; i++) {
		if (counters[i].name == name || strcmp(counters[i].name, name) == 0) {
			counters[i].n++;
			return;
		}
	}
	if (ncounters == MAX_COUNTERS) {
		log_warnx("metrics: counter table full, dropping %s", name);
		return;
	}
	counters[ncounters].name = name;
	counters[ncounters++].n = 1;
}

void
metrics_render(struct evbuffer *b)
{
	evbuffer_add_printf(b, "# HELP stafet_build_info Build information.\n"
	                       "# TYPE stafet_build_info gauge\n"
	                       "stafet_build_info{version=\"" STAFET_VERSION "\"} 1\n");
	evbuffer_add_printf(
	    b,
	    "# HELP stafet_start_time_seconds Start time of the process.\n"
	    "# TYPE stafet_start_time_seconds gauge\nstafet_start_time_seconds %.3f\n",
	    started_at);
	evbuffer_add_printf(b, "# HELP stafet_http_requests_total HTTP requests answered.\n"
	                       "# TYPE stafet_http_requests_total counter\n");
	for (int i = 0; i < MAX_ROUTES; i++) {
		for (int j = 0; j < stats[i].nst; j++)
			evbuffer_add_printf(b,
			                    "stafet_http_requests_total{route=\"%s\",method=\"%s\","
			                    "status=\"%d\"} %llu\n",
			                    stats[i].label, stats[i].st[j].method,
			                    stats[i].st[j].status, stats[i].st[j].n);
	}
	evbuffer_add_printf(b, "# HELP stafet_http_request_duration_seconds Time from a complete "
	                       "request head to the response.\n"
	                       "# TYPE stafet_http_request_duration_seconds histogram\n");
	for (int i = 0; i < MAX_ROUTES; i++) {
		const char *label = stats[i].label;
		unsigned long long cum = 0;
		if (stats[i].count == 0)
			continue;
		for (size_t k = 0; k < NBUCKETS; k++) {
			cum += stats[i].bucket[k];
			evbuffer_add_printf(
			    b,
			    "stafet_http_request_duration_seconds_bucket{route=\"%s\","
			    "le=\"%g\"} %llu\n",
			    label, buckets[k], cum);
		}
		evbuffer_add_printf(
		    b,
		    "stafet_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
		    "%llu\n"
		    "stafet_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
		    "stafet_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
		    label, stats[i].count, label, stats[i].sum, label, stats[i].count);
	}
	for (size_t i = 0; i < ngauges; i++)
		evbuffer_add_printf(b,
		                    "# HELP stafet_%s %s\n# TYPE stafet_%s gauge\nstafet_%s %zu\n",
		                    gauges[i].name, gauges[i].help, gauges[i].name, gauges[i].name,
		                    gauges[i].read());
	for (int i = 0; i < ncounters; i++)
		evbuffer_add_printf(b, "# TYPE stafet_%s counter\nstafet_%s %llu\n",
		                    counters[i].name, counters[i].name, counters[i].n);
	for (size_t i = 0; i < nrenderers; i++)
		renderers[i](b);
}

void
metrics_add_renderer(void (*render)(struct evbuffer *))
{
	if (nrenderers == MAX_RENDERERS)
		fatalx("metrics: more renderers than slots");
	renderers[nrenderers++] = render;
}

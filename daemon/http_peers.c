/*
 * http_peers.c: open connections counted per client address, so that one
 * address cannot take every connection (http_max_connections_per_address).
 *
 * The address is the TCP peer's: X-Forwarded-For is not known at accept,
 * and a client could write anything there. IPv4 counts by the address
 * (an IPv4-mapped IPv6 peer as its IPv4 address), IPv6 by its /64, which
 * one host or customer usually holds whole. A peer named in
 * http_trusted_proxies carries many clients and is not capped; the global
 * http_max_connections still holds it.
 *
 * Entries live while their address has a connection open or a refusal not
 * yet logged, so the table never holds more than the open connections plus
 * the addresses refused within the last minute. Refusals are logged once
 * when they start and then as one count a minute at most per address: a
 * flood must not flood the log.
 */
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "stafetd.h"

/* At most one log line per address in this many seconds. */
#define PEER_LOG_WINDOW  60.0
#define PEER_MIN_BUCKETS 256

struct http_peer {
	struct http_peer *next;       /* in its bucket */
	TAILQ_ENTRY(http_peer) entry; /* in the refusal log, oldest line first */
	unsigned char key[16];        /* IPv4 as ::ffff:a.b.c.d; IPv6 cut to its /64 */
	unsigned open;                /* connections open */
	unsigned long refused;        /* refused since its last log line */
	double logged_at;             /* when its last line was logged */
	bool in_log;                  /* its refusals are logged within the window */
	char label[INET6_ADDRSTRLEN + 4];
};

static struct http_peer **buckets;
static size_t nbuckets;
static size_t npeers;
static uint64_t seed;
static TAILQ_HEAD(peer_log, http_peer) refusal_log = TAILQ_HEAD_INITIALIZER(refusal_log);
static struct event *log_timer;

static void log_timer_cb(evutil_socket_t, short, void *);

/*
 * A keyed hash: an attacker with many source addresses should not be able
 * to choose ones that land in one bucket.
 */
static size_t
hash_key(const unsigned char key[16])
{
	uint64_t h = seed, w;

	for (int i = 0; i < 16; i += 8) {
		memcpy(&w, key + i, 8);
		h ^= w;
		h *= 0x9E3779B97F4A7C15ULL;
		h ^= h >> 29;
	}
	return (size_t)(h & (nbuckets - 1));
}

static void
table_init(void)
{
	if (seed == 0 && getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	seed |= 1;
	nbuckets = PEER_MIN_BUCKETS;
	buckets = xcalloc(nbuckets, sizeof(*buckets));
}

/* Doubles the buckets once the chains average more than two entries. */
static void
table_grow(void)
{
	struct http_peer **old = buckets;
	size_t oldn = nbuckets;

	nbuckets *= 2;
	buckets = xcalloc(nbuckets, sizeof(*buckets));
	for (size_t i = 0; i < oldn; i++) {
		struct http_peer *p = old[i], *next;
		for (; p != NULL; p = next) {
			size_t b = hash_key(p->key);
			next = p->next;
			p->next = buckets[b];
			buckets[b] = p;
		}
	}
	free(old);
}

/*
 * The counting key of an address; false for anything but IPv4 and IPv6.
 * `exact` gets the whole address (a trusted proxy is one address, not a
 * /64).
 */
static bool
peer_key(const struct sockaddr *sa, unsigned char key[16], unsigned char exact[16])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (sa->sa_family == AF_INET) {
		memcpy(exact, mapped, 12);
		memcpy(exact + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(exact, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	} else {
		return false;
	}
	memcpy(key, exact, 16);
	if (memcmp(key, mapped, 12) != 0)
		memset(key + 8, 0, 8);
	return true;
}

static void
peer_label(const unsigned char key[16], char *out, size_t outsz)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char buf[INET6_ADDRSTRLEN];

	if (memcmp(key, mapped, 12) == 0) {
		inet_ntop(AF_INET, key + 12, out, (socklen_t)outsz);
		return;
	}
	inet_ntop(AF_INET6, key, buf, sizeof(buf));
	snprintf(out, outsz, "%s/64", buf);
}

/* Is the exact address one of http_trusted_proxies (checked by config.c)? */
static bool
trusted_proxy(const unsigned char exact[16])
{
	const char *p = config_current()->http_trusted_proxies;
	unsigned char ip[16];
	char buf[INET6_ADDRSTRLEN + 1];

	while (p && *p) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, " \t,");
		if (n == 0)
			break;
		if (n < sizeof(buf)) {
			memcpy(buf, p, n);
			buf[n] = '\0';
			if (inet_pton(AF_INET, buf, ip + 12) == 1) {
				memset(ip, 0, 10);
				ip[10] = ip[11] = 0xff;
			} else if (inet_pton(AF_INET6, buf, ip) != 1) {
				memset(ip, 0, sizeof(ip)); /* not an address: matches nobody */
			}
			if (memcmp(ip, exact, 16) == 0)
				return true;
		}
		p += n;
	}
	return false;
}

static struct http_peer *
peer_find(const unsigned char key[16], bool create)
{
	size_t b;

	if (buckets == NULL) {
		if (!create)
			return NULL;
		table_init();
	}
	b = hash_key(key);
	for (struct http_peer *p = buckets[b]; p != NULL; p = p->next)
		if (memcmp(p->key, key, 16) == 0)
			return p;
	if (!create)
		return NULL;
	if (npeers >= 2 * nbuckets) {
		table_grow();
		b = hash_key(key);
	}
	struct http_peer *p = xcalloc(1, sizeof(*p));
	memcpy(p->key, key, 16);
	peer_label(key, p->label, sizeof(p->label));
	p->next = buckets[b];
	buckets[b] = p;
	npeers++;
	return p;
}

/* Frees an entry with nothing left to count or to log. */
static void
peer_release(struct http_peer *p)
{
	struct http_peer **pp;

	if (p->open > 0 || p->in_log)
		return;
	for (pp = &buckets[hash_key(p->key)]; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	npeers--;
	free(p);
}

/* Logs what was refused since the entry's last line; ends its window if nothing was. */
static void
peer_log_flush(struct http_peer *p, double now)
{
	TAILQ_REMOVE(&refusal_log, p, entry);
	if (p->refused == 0) {
		p->in_log = false;
		peer_release(p);
		return;
	}
	log_warnx("http: %s: %lu more connections refused over the limit per address in the "
	          "last %.0f s",
	          p->label, p->refused, now - p->logged_at);
	p->refused = 0;
	p->logged_at = now;
	TAILQ_INSERT_TAIL(&refusal_log, p, entry);
}

static void
log_timer_arm(void)
{
	struct http_peer *first = TAILQ_FIRST(&refusal_log);
	struct timeval tv;
	double wait;

	if (first == NULL || log_timer == NULL)
		return;
	wait = first->logged_at + PEER_LOG_WINDOW - clock_mono();
	tv = clock_timeval(wait > 0 ? wait : 0);
	evtimer_add(log_timer, &tv);
}

static void
log_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	double now = clock_mono();
	struct http_peer *p;
	(void)fd;
	(void)what;
	(void)arg;

	/* The log is in the order of the entries' last lines: stop at the first not due. */
	while ((p = TAILQ_FIRST(&refusal_log)) != NULL && now - p->logged_at >= PEER_LOG_WINDOW)
		peer_log_flush(p, now);
	log_timer_arm();
}

/*
 * Counts a new connection from `sa`. Returns false when its address already
 * has http_max_connections_per_address open: the caller refuses it (the
 * refusal is counted and logged here). On true, `*out` is the entry to hand
 * to http_peers_close() when the connection closes (NULL for an address
 * that is not counted). `evb` carries the timer of the refusal log.
 */
bool
http_peers_open(struct event_base *evb, const struct sockaddr *sa, struct http_peer **out)
{
	unsigned char key[16], exact[16];
	int cap = config_current()->http_max_connections_per_address;
	struct http_peer *p;

	*out = NULL;
	if (!peer_key(sa, key, exact))
		return true;
	p = peer_find(key, true);
	if (cap > 0 && p->open >= (unsigned)cap && !trusted_proxy(exact)) {
		double now = clock_mono();
		if (p->in_log) {
			p->refused++;
			return false;
		}
		log_warnx("http: %s: %u connections open from this address, the limit per "
		          "address; refusing more (logged again in %.0f s at most)",
		          p->label, p->open, PEER_LOG_WINDOW);
		p->in_log = true;
		p->logged_at = now;
		TAILQ_INSERT_TAIL(&refusal_log, p, entry);
		if (log_timer == NULL)
			log_timer = evtimer_new(evb, log_timer_cb, NULL);
		if (log_timer && !evtimer_pending(log_timer, NULL))
			log_timer_arm();
		return false;
	}
	p->open++;
	*out = p;
	return true;
}

/* One connection of the entry closed; NULL is a no-op. */
void
http_peers_close(struct http_peer *p)
{
	if (p == NULL)
		return;
	p->open--;
	peer_release(p);
}

/* Logs the refusals not yet logged and stops the log's timer (at stop). */
void
http_peers_stop(void)
{
	double now = clock_mono();
	struct http_peer *p;

	while ((p = TAILQ_FIRST(&refusal_log)) != NULL) {
		if (p->refused > 0)
			log_warnx("http: %s: %lu more connections refused over the limit per "
			          "address in the last %.0f s",
			          p->label, p->refused, now - p->logged_at);
		TAILQ_REMOVE(&refusal_log, p, entry);
		p->refused = 0;
		p->in_log = false;
		peer_release(p);
	}
	if (log_timer) {
		event_free(log_timer);
		log_timer = NULL;
	}
}

/* Frees the table; every connection must have been closed. */
void
http_peers_free_all(void)
{
	http_peers_stop();
	for (size_t i = 0; i < nbuckets; i++) {
		while (buckets[i]) {
			struct http_peer *p = buckets[i];
			buckets[i] = p->next;
			free(p);
		}
	}
	free(buckets);
	buckets = NULL;
	nbuckets = 0;
	npeers = 0;
}

/* Addresses counted (for tests). */
size_t
http_peers_count(void)
{
	return npeers;
}

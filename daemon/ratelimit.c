/*
 * ratelimit.c: counting failed logins per username and per client address.
 *
 * A key collects failures over a window; reaching the limit blocks the key
 * for a fixed time, after which its count starts over. Blocked attempts are
 * neither tried nor counted, so an attacker cannot stretch a block by
 * hammering it, and a username block is short: it slows guessing without
 * locking the real user out for long. The counts live in this process's
 * memory (a restart forgets them); each daemon behind a load balancer
 * counts on its own.
 *
 * IPv6 clients are counted by their /64, which one customer usually holds
 * whole. The table is bounded; when it fills, keys neither blocked nor
 * recently failed are dropped first.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"

#define RL_BUCKETS     4096
#define RL_MAX_ENTRIES 100000
#define RL_KEY_MAX     300

struct rl_entry {
	struct rl_entry *next;
	double first;         /* first failure counted in the current window */
	double blocked_until; /* 0 when not blocked */
	int count;
	char key[];
};

static struct rl_entry *buckets[RL_BUCKETS];
static size_t nentries;

static size_t
bucket_of(const char *key)
{
	size_t h = 5381;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = h * 33 + *p;
	return h % RL_BUCKETS;
}

/*
 * The counting key for a username ('u') or a client address ('a', IPv6 cut
 * to its /64). A username is folded to its bare account name: case folded,
 * without a DOMAIN\ prefix or an @domain suffix. The folding looks at the
 * text alone, never at the directory, so "x\name" and "name@y" count with
 * "name" whether or not an account is called that: which names share a
 * counter must not tell which names are accounts.
 */
void
ratelimit_key(char *out, size_t outsz, char kind, const char *value)
{
	const char *end = value + strlen(value);
	size_t o = 0;

	if (kind == 'a' && strchr(value, ':')) {
		unsigned char ip[16];
		char buf[INET6_ADDRSTRLEN];
		if (inet_pton(AF_INET6, value, ip) == 1) {
			memset(ip + 8, 0, 8);
			inet_ntop(AF_INET6, ip, buf, sizeof(buf));
			snprintf(out, outsz, "a:%s/64", buf);
			return;
		}
	}
	if (outsz < 3) {
		*out = '\0';
		return;
	}
	if (kind == 'u') {
		/* an empty remainder ("DOMAIN\\", "@domain") keeps the whole name */
		const char *bs = strrchr(value, '\\'), *at;
		if (bs && bs[1])
			value = bs + 1;
		if ((at = strchr(value, '@')) != NULL && at != value)
			end = at;
	}
	out[o++] = kind;
	out[o++] = ':';
	for (const char *p = value; p < end && o + 1 < outsz && o < RL_KEY_MAX; p++)
		out[o++] = (char)tolower((unsigned char)*p);
	out[o] = '\0';
}

static struct rl_entry *
find(const char *key, bool create, double now)
{
	size_t b = bucket_of(key);
	for (struct rl_entry *e = buckets[b]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	if (!create)
		return NULL;
	if (nentries >= RL_MAX_ENTRIES) {
		/* Full: drop what is not blocked, oldest window first is not worth sorting. */
		for (size_t i = 0; i < RL_BUCKETS; i++) {
			struct rl_entry **pp = &buckets[i];
			while (*pp) {
				struct rl_entry *e = *pp;
				if (e->blocked_until <= now) {
					*pp = e->next;
					free(e);
					nentries--;
				} else {
					pp = &e->next;
				}
			}
		}
		if (nentries >= RL_MAX_ENTRIES)
			return NULL;
	}
	size_t n = strlen(key);
	struct rl_entry *e = xcalloc(1, sizeof(*e) + n + 1);
	memcpy(e->key, key, n + 1);
	e->next = buckets[b];
	buckets[b] = e;
	nentries++;
	return e;
}

static void
remove_entry(const char *key)
{
	struct rl_entry **pp = &buckets[bucket_of(key)];
	while (*pp) {
		struct rl_entry *e = *pp;
		if (strcmp(e->key, key) == 0) {
			*pp = e->next;
			free(e);
			nentries--;
			return;
		}
		pp = &e->next;
	}
}

/* Seconds the key stays blocked (rounded up), or 0. */
long
ratelimit_blocked(const char *key, double now)
{
	struct rl_entry *e = find(key, false, now);
	if (e == NULL || e->blocked_until <= now)
		return 0;
	return (long)ceil(e->blocked_until - now);
}

/*
 * Counts a failure. Returns true when this failure starts a block (`max`
 * failures within `window` seconds block the key for `block` seconds).
 */
bool
ratelimit_fail(const char *key, double now, double window, int max, double block)
{
	struct rl_entry *e = find(key, true, now);
	if (e == NULL)
		return false; /* table full of blocked keys: counting resumes as they expire */
	if (e->blocked_until > now)
		return false;
	if (e->blocked_until != 0 || e->count == 0 || now - e->first > window) {
		e->blocked_until = 0;
		e->count = 0;
		e->first = now;
	}
	if (++e->count >= max) {
		e->blocked_until = now + block;
		e->count = 0;
		return true;
	}
	return false;
}

/* A success: the key's failures are forgotten. */
void
ratelimit_clear(const char *key)
{
	remove_entry(key);
}

void
ratelimit_reset_all(void)
{
	for (size_t i = 0; i < RL_BUCKETS; i++) {
		while (buckets[i]) {
			struct rl_entry *e = buckets[i];
			buckets[i] = e->next;
			free(e);
		}
	}
	nentries = 0;
}

size_t
ratelimit_entries(void)
{
	return nentries;
}

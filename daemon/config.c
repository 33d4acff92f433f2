/*
 * config.c: the configuration engine: a file of "key = value" lines with #
 * comments, read against a typed table of keys. The table (every key, its
 * type, default, range, help and value check) is the wiring's
 * (app/config_keys.c), handed over with config_set_keys; the engine parses,
 * applies, reads secret files and reports. A file is checked as a whole:
 * every bad line is reported with its number, and a file with any error is
 * not used.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stafetd.h"

#define CONFIG_MAX_LINE 4096
#define SECRET_MAX      4096

/* The key table, given by the wiring (app/config_keys.c) before any load:
 * the engine names no key but those it parses itself (listen) or keeps
 * secret (db_conninfo). */
static const struct cfg_key *keys;
static size_t nkeys;
static cfg_relation_fn *const *relations;
static size_t nrelations;

void
config_set_keys(const struct cfg_key *k, size_t n, cfg_relation_fn *const *r, size_t nr)
{
	for (size_t i = 0; i < n; i++)
		if (k[i].check && k[i].type != CFG_STRING)
			fatalx("config: %s: a check on a key that is not a string", k[i].name);
	keys = k;
	nkeys = n;
	relations = r;
	nrelations = nr;
}

static struct config *current;

const struct config *
config_current(void)
{
	return current;
}

/* Takes ownership of `cfg`; the previous configuration is freed. */
void
config_set_current(struct config *cfg)
{
	struct config *old = current;
	current = cfg;
	config_free(old);
}

/* Stores a typed value in the key's field (memcpy: no type-punned pointers). */
static void
set_slot(struct config *cfg, const struct cfg_key *k, const void *v, size_t n)
{
	memcpy((char *)cfg + k->offset, v, n);
}

static char **
str_slot(struct config *cfg, const struct cfg_key *k)
{
	return (char **)((char *)cfg + k->offset);
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < nkeys; i++) {
		const struct cfg_key *k = &keys[i];
		if (k->type == CFG_STRING || k->type == CFG_LISTEN || k->type == CFG_SECRET_FILE) {
			char **s = str_slot(cfg, k);
			if (*s && k->type == CFG_SECRET_FILE)
				explicit_wipe(*s, strlen(*s));
			free(*s);
		}
	}
	free(cfg->listen_host);
	free(cfg->path);
	free(cfg);
}

/* "250ms", "10s", "5m", "2h", "1d", or bare seconds. */
int
config_parse_duration(const char *s, double *out)
{
	char *end;
	double v, mult = 1;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v) || v < 0)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		mult = 1;
	else if (strcmp(end, "ms") == 0)
		mult = 0.001;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60;
	else if (strcmp(end, "h") == 0)
		mult = 3600;
	else if (strcmp(end, "d") == 0)
		mult = 86400;
	else
		return -1;
	*out = v * mult;
	return 0;
}

/* "1048576", "512K", "1M", "1MiB", "2G". */
int
config_parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v, mult = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == 'K' || *end == 'k')
		mult = 1024ULL;
	else if (*end == 'M')
		mult = 1024ULL * 1024;
	else if (*end == 'G')
		mult = 1024ULL * 1024 * 1024;
	else if (*end != '\0' && strcmp(end, "B") != 0)
		return -1;
	if (mult > 1) {
		end++;
		if (*end != '\0' && strcmp(end, "iB") != 0 && strcmp(end, "B") != 0)
			return -1;
	}
	if (v > SIZE_MAX / mult)
		return -1;
	*out = (size_t)(v * mult);
	return 0;
}

static int
parse_listen(const char *s, char **host, int *port)
{
	const char *colon;
	char *end;
	long p;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		*host = xstrndup(s + 1, (size_t)(close - s - 1));
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || colon == s)
			return -1;
		*host = xstrndup(s, (size_t)(colon - s));
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 0 || p > 65535) {
		free(*host);
		*host = NULL;
		return -1;
	}
	*port = (int)p;
	return 0;
}

/*
 * Reads a secret from a file. The file must not be readable or writable by
 * others; one trailing newline is dropped. Returns NULL with `why` set.
 */
static char *
read_secret_file(const char *path, const char **why)
{
	struct stat st;
	char buf[SECRET_MAX + 1];
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		*why = strerror(errno);
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		close(fd);
		return NULL;
	}
	if (st.st_mode & S_IRWXO) {
		*why = "readable or writable by others (chmod o-rwx)";
		close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n < 0) {
		*why = strerror(errno);
		explicit_wipe(buf, sizeof(buf));
		return NULL;
	}
	if (len == sizeof(buf) - 1) {
		*why = "longer than 4096 bytes";
		explicit_wipe(buf, sizeof(buf));
		return NULL;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\n', len) != NULL || len == 0) {
		*why = len == 0 ? "empty" : "more than one line";
		explicit_wipe(buf, sizeof(buf));
		return NULL;
	}
	char *s = xstrndup(buf, len);
	explicit_wipe(buf, sizeof(buf));
	return s;
}

/* Applies one value to the key; on error adds a report naming the line. */
static void
apply(struct config *cfg, const struct cfg_key *k, const char *v, const char *file, int line,
      struct strlist *errors)
{
	double d;
	size_t sz;
	long l;
	char *end;
	const char *why = NULL;

	switch (k->type) {
	case CFG_STRING: {
		char **s = str_slot(cfg, k);
		free(*s);
		*s = xstrdup(v);
		return;
	}
	case CFG_LISTEN: {
		char *host = NULL;
		int port;
		if (parse_listen(v, &host, &port) == -1) {
			strlist_add(errors, "%s:%d: %s: '%s' is not host:port", file, line, k->name,
			            v);
			return;
		}
		free(cfg->listen);
		free(cfg->listen_host);
		cfg->listen = xstrdup(v);
		cfg->listen_host = host;
		cfg->listen_port = port;
		return;
	}
	case CFG_INT:
		errno = 0;
		l = strtol(v, &end, 10);
		if (errno || *end || end == v || l < k->min || l > k->max) {
			strlist_add(errors,
			            "%s:%d: %s: '%s' is not a whole number from %.0f to %.0f", file,
			            line, k->name, v, k->min, k->max);
			return;
		}
		set_slot(cfg, k, &(int){(int)l}, sizeof(int));
		return;
	case CFG_SIZE:
		if (config_parse_size(v, &sz) == -1 || sz < k->min || sz > k->max) {
			strlist_add(
			    errors,
			    "%s:%d: %s: '%s' is not a size from %.0f to %.0f bytes (e.g. 1M)", file,
			    line, k->name, v, k->min, k->max);
			return;
		}
		set_slot(cfg, k, &sz, sizeof(sz));
		return;
	case CFG_DURATION:
		if (config_parse_duration(v, &d) == -1 || d < k->min || d > k->max) {
			strlist_add(errors,
			            "%s:%d: %s: '%s' is not a duration from %gs to %gs (e.g. 10s)",
			            file, line, k->name, v, k->min, k->max);
			return;
		}
		set_slot(cfg, k, &d, sizeof(d));
		return;
	case CFG_ENUM:
		for (int i = 0; k->choices[i]; i++) {
			if (strcmp(k->choices[i], v) == 0) {
				set_slot(cfg, k, &i, sizeof(i));
				return;
			}
		}
		strlist_add(errors, "%s:%d: %s: '%s' is not one of the allowed values", file, line,
		            k->name, v);
		return;
	case CFG_SECRET_FILE: {
		char **s = str_slot(cfg, k);
		char *secret;
		if (*v == '\0') {
			free(*s);
			*s = NULL;
			return;
		}
		if ((secret = read_secret_file(v, &why)) == NULL) {
			strlist_add(errors, "%s:%d: %s: %s: %s", file, line, k->name, v, why);
			return;
		}
		if (*s) {
			explicit_wipe(*s, strlen(*s));
			free(*s);
		}
		*s = secret;
		return;
	}
	}
}

struct config *
config_defaults(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct strlist errors = {0};

	if (nkeys == 0)
		fatalx("config: no key table (config_set_keys)");
	for (size_t i = 0; i < nkeys; i++)
		apply(cfg, &keys[i], keys[i].def, "(defaults)", 0, &errors);
	if (errors.n)
		fatalx("built-in default is invalid: %s", errors.v[0]);
	return cfg;
}

static char *
trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Unquotes a "double-quoted" value in place, with \" and \\ escapes. */
static int
unquote(char *v)
{
	size_t n = strlen(v);
	char *w = v;

	if (n == 0 || v[0] != '"')
		return 0;
	if (n < 2 || v[n - 1] != '"')
		return -1;
	v[n - 1] = '\0';
	for (char *r = v + 1; *r; r++) {
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
			r++;
		else if (*r == '"')
			return -1;
		*w++ = *r;
	}
	*w = '\0';
	return 0;
}

/* key=value form ("password=..."), or URI form ("postgresql://user:pw@host"). */
static bool
conninfo_has_password(const char *ci)
{
	const char *scheme = strstr(ci, "://"), *at, *colon;

	if (strstr(ci, "password") != NULL)
		return true;
	if (scheme == NULL)
		return false;
	scheme += 3;
	at = strchr(scheme, '@');
	colon = strchr(scheme, ':');
	return at != NULL && colon != NULL && colon < at;
}

/* A conninfo carrying a password must live in a file nobody else reads. */
static void
check_file_secrecy(const struct config *cfg, int fd, const char *path, struct strlist *errors)
{
	struct stat st;

	if (cfg->db_conninfo && conninfo_has_password(cfg->db_conninfo) && fstat(fd, &st) == 0 &&
	    (st.st_mode & S_IROTH))
		strlist_add(errors,
		            "%s: holds a password (db_conninfo) but is readable by others; use "
		            "db_password_file or chmod o-r",
		            path);
}

/* Each string key's final value through its own check, in the table's order;
 * the message holds the value where the check quotes it. */
static void
check_values(const struct config *cfg, const char *path, struct strlist *errors)
{
	char why[CONFIG_MAX_LINE + 256];

	for (size_t i = 0; i < nkeys; i++) {
		const struct cfg_key *k = &keys[i];
		const char *v;
		if (k->check == NULL)
			continue;
		v = *(char *const *)(const void *)((const char *)cfg + k->offset);
		why[0] = '\0';
		if (k->check(v, why, sizeof(why)) == -1)
			strlist_add(errors, "%s: %s: %s", path, k->name, why);
	}
}

/*
 * Loads and checks a whole file. Returns a new config (caller frees), or NULL
 * with every problem found added to `errors`.
 */
struct config *
config_load(const char *path, struct strlist *errors)
{
	struct config *cfg = config_defaults();
	char line[CONFIG_MAX_LINE + 2];
	bool *seen = xcalloc(nkeys ? nkeys : 1, sizeof(*seen));
	size_t before = errors->n;
	FILE *f;
	int lineno = 0;

	if ((f = fopen(path, "re")) == NULL) {
		strlist_add(errors, "%s: %s", path, strerror(errno));
		free(seen);
		config_free(cfg);
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p, *eq, *key, *val;
		size_t i;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			int c;
			strlist_add(errors, "%s:%d: line longer than %d bytes", path, lineno,
			            CONFIG_MAX_LINE);
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		p = trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			strlist_add(errors, "%s:%d: expected 'key = value'", path, lineno);
			continue;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		if (unquote(val) == -1) {
			strlist_add(errors, "%s:%d: %s: unbalanced quotes", path, lineno, key);
			continue;
		}
		for (i = 0; i < nkeys; i++)
			if (strcmp(keys[i].name, key) == 0)
				break;
		if (i == nkeys) {
			strlist_add(errors, "%s:%d: unknown key '%s'", path, lineno, key);
			continue;
		}
		if (seen[i])
			strlist_add(errors, "%s:%d: %s: set more than once", path, lineno, key);
		seen[i] = true;
		apply(cfg, &keys[i], val, path, lineno, errors);
	}
	if (ferror(f))
		strlist_add(errors, "%s: read error", path);
	check_file_secrecy(cfg, fileno(f), path, errors);
	fclose(f);
	free(seen);
	check_values(cfg, path, errors);
	for (size_t r = 0; r < nrelations; r++)
		relations[r](cfg, path, errors);
	if (errors->n > before) {
		config_free(cfg);
		return NULL;
	}
	cfg->path = xstrdup(path);
	return cfg;
}

/* Lists the keys with their defaults, for --config-keys. */
void
config_print_keys(void)
{
	for (size_t i = 0; i < nkeys; i++)
		printf("%-22s %-16s %s%s\n", keys[i].name, *keys[i].def ? keys[i].def : "(none)",
		       keys[i].help, keys[i].restart ? " [restart]" : "");
}

/* Names the keys whose change a reload cannot apply. */
void
config_report_restart_keys(const struct config *old, const struct config *new)
{
	if (strcmp(old->listen, new->listen) != 0)
		log_warnx("config: listen changed to %s; takes effect at restart", new->listen);
	if (old->login_workers != new->login_workers)
		log_warnx("config: login_workers changed to %d; takes effect at restart",
		          new->login_workers);
}

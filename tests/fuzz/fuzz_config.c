/*
 * fuzz_config.c: the configuration file parser (daemon/config.c) on a
 * fuzzed file, and its value parsers on the same bytes. A file is either
 * used whole or refused with at least one error; every error names the file
 * and, where it names a line, one that exists; a used file's values are in
 * their ranges; sizes and durations agree with a reference parser.
 */
#include <sys/mman.h>

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "stafetd.h"
#include "workdays.h"
#include "app.h"

static int fd = -1;
static char path[64];

static int
ref_size(const char *s, size_t *out)
{
	unsigned long long v = 0, mult = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		if (v > (ULLONG_MAX - (unsigned)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned)(*p++ - '0');
	}
	if (*p == 'K' || *p == 'k')
		mult = 1ULL << 10;
	else if (*p == 'M')
		mult = 1ULL << 20;
	else if (*p == 'G')
		mult = 1ULL << 30;
	if (mult > 1)
		p++;
	if (strcmp(p, "") != 0 && strcmp(p, "B") != 0 && !(mult > 1 && strcmp(p, "iB") == 0))
		return -1;
	if (v > SIZE_MAX / mult)
		return -1;
	*out = (size_t)(v * mult);
	return 0;
}

static void
check_values(const char *s)
{
	size_t got = 0, ref = 0;
	int rc = config_parse_size(s, &got);
	FUZZ_ASSERT(rc == ref_size(s, &ref));
	if (rc == 0)
		FUZZ_ASSERT(got == ref);
	double d = -1;
	if (config_parse_duration(s, &d) == 0) {
		FUZZ_ASSERT(isfinite(d) && d >= 0);
		if (*s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 10)
			FUZZ_ASSERT(d == (double)atol(s));
	}
	unsigned off = 12345;
	if (workdays_days_off(s, &off) == 0)
		FUZZ_ASSERT(off < 8);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	app_config_keys_init(); /* the key table, as the daemon's */
	fd = memfd_create("stafetd.conf", 0);
	FUZZ_ASSERT(fd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strlist errors = {0};
	size_t lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	FUZZ_ASSERT(ftruncate(fd, 0) == 0);
	FUZZ_ASSERT(pwrite(fd, data, size, 0) == (ssize_t)size);

	struct config *c = config_load(path, &errors);
	FUZZ_ASSERT((c == NULL) == (errors.n > 0));
	for (size_t i = 0; i < errors.n; i++) {
		const char *e = errors.v[i];
		size_t pl = strlen(path);
		FUZZ_ASSERT(strncmp(e, path, pl) == 0 && e[pl] == ':');
		if (isdigit((unsigned char)e[pl + 1])) {
			long line = strtol(e + pl + 1, NULL, 10);
			FUZZ_ASSERT(line >= 1 && (size_t)line <= lines);
		}
	}
	if (c) {
		FUZZ_ASSERT(strcmp(c->path, path) == 0);
		FUZZ_ASSERT(c->listen_host != NULL);
		FUZZ_ASSERT(c->listen_port >= 0 && c->listen_port <= 65535);
		FUZZ_ASSERT(c->db_pool_size >= 1 && c->db_pool_size <= c->db_queue_max);
		FUZZ_ASSERT(c->http_max_body > 0 && c->http_max_header > 0);
		FUZZ_ASSERT(c->alert_retry_min <= c->alert_retry_max);
		FUZZ_ASSERT(strchr(c->smtp_from, '@') != NULL);
		FUZZ_ASSERT(strlen(c->digest_time) == 5);
		FUZZ_ASSERT(c->log_level >= 0 && c->log_level <= 4);
		/* a reload from the defaults */
		struct config *d = config_defaults();
		config_report_restart_keys(d, c);
		config_free(d);
		config_free(c);
	}
	strlist_free(&errors);

	/* the bytes up to a NUL or newline as one value */
	char *s = fuzz_cstr(data, size);
	s[strcspn(s, "\n")] = '\0';
	check_values(s);
	free(s);
	return 0;
}

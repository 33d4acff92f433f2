/*
 * main.c: stafetd's entry point: options, start-up, signals, shutdown.
 *
 * stafetd runs in the foreground (systemd Type=notify): READY=1 once it
 * listens, RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1 at SIGTERM.
 * A reload that finds a bad file logs every error and keeps the old
 * configuration. SIGTERM lets requests in flight finish for a grace period,
 * then exits 0.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "stafetd.h"
#include "names.h"
#include "app.h"
#include "handover.h"
#include "alerts.h"

static struct event_base *base;
static struct event *sig_hup, *sig_term, *sig_int, *shutdown_timer;
static double shutdown_deadline;
static bool stopping;

struct event_base *
stafetd_base(void)
{
	return base;
}

/* The sd_notify protocol, without linking libsystemd. */
void
sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("sd_notify: socket");
		return;
	}
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) == -1)
		log_warn("sd_notify: %s", msg);
	close(fd);
}

static void
report_errors(const struct strlist *errors)
{
	for (size_t i = 0; i < errors->n; i++)
		log_errx("config: %s", errors->v[i]);
}

static void
reload(void)
{
	const struct config *old = config_current();
	struct strlist errors = {0};
	struct config *cfg;
	char monotonic[64];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(monotonic, sizeof(monotonic), "RELOADING=1\nMONOTONIC_USEC=%llu",
	         (unsigned long long)ts.tv_sec * 1000000ULL +
	             (unsigned long long)ts.tv_nsec / 1000);
	sd_notify_msg(monotonic);
	log_notice("config: reloading %s", old->path);
	if ((cfg = config_load(old->path, &errors)) == NULL) {
		report_errors(&errors);
		log_errx("config: reload failed; keeping the old configuration");
		strlist_free(&errors);
		routes_reload(); /* the routes table is read again all the same */
		sd_notify_msg("READY=1");
		return;
	}
	config_report_restart_keys(old, cfg);
	/* Keep what needs a restart as it is, so the running state stays true. */
	free(cfg->listen);
	free(cfg->listen_host);
	cfg->listen = xstrdup(old->listen);
	cfg->listen_host = xstrdup(old->listen_host);
	cfg->listen_port = old->listen_port;
	log_init(cfg->log_level, cfg->log_timestamps);
	modules_reconfigure(cfg, true);
	config_set_current(cfg);
	modules_reconfigure(cfg, false);
	log_notice("config: reloaded");
	sd_notify_msg("READY=1");
}

static void
shutdown_tick(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = {0, 50000};
	(void)fd;
	(void)what;
	(void)arg;

	if (http_server_idle() || clock_mono() >= shutdown_deadline) {
		if (!http_server_idle())
			log_warnx("stopping with %zu connections still busy",
			          http_server_connections());
		event_base_loopexit(base, NULL);
		return;
	}
	evtimer_add(shutdown_timer, &tv);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;

	if (sig == SIGHUP) {
		if (!stopping)
			reload();
		return;
	}
	if (stopping)
		return;
	stopping = true;
	log_notice("stopping on signal %d", (int)sig);
	sd_notify_msg("STOPPING=1");
	http_server_stop_accepting();
	shutdown_deadline = clock_mono() + config_current()->http_shutdown_grace;
	shutdown_timer = evtimer_new(base, shutdown_tick, NULL);
	shutdown_tick(-1, 0, NULL);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: stafetd [-c FILE] [--check-config | --migrate | --config-keys | "
	           "--version]\n"
	           "       stafetd [-c FILE] --import-routes FILE... | --export-routes\n"
	           "  -c, --config FILE   configuration file (default " STAFET_SYSCONFDIR
	           "/stafetd.conf)\n"
	           "      --check-config  check the configuration and exit\n"
	           "      --migrate       apply the database migrations and exit\n"
	           "      --config-keys   list the configuration keys and their defaults\n"
	           "      --import-routes FILE...\n"
	           "                      check the routes in the files (JSON) and store them\n"
	           "      --export-routes print every route as JSON\n"
	           "  -V, --version       print the version and exit\n"
	           "  -h, --help          print this help and exit\n");
}

/* What the command line asks for. */
struct options {
	const char *path;
	bool check, migrate, import_routes, export_routes;
};

/* Reads the options into o; returns -1 to go on, or the exit status of what
 * was answered already (--config-keys, --version, --help, a usage error). */
static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'C'},
	    {"migrate", no_argument, NULL, 'M'},
	    {"config-keys", no_argument, NULL, 'K'},
	    {"import-routes", no_argument, NULL, 'I'},
	    {"export-routes", no_argument, NULL, 'E'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->path = optarg;
			break;
		case 'C':
			o->check = true;
			break;
		case 'M':
			o->migrate = true;
			break;
		case 'I':
			o->import_routes = true;
			break;
		case 'E':
			o->export_routes = true;
			break;
		case 'K':
			config_print_keys();
			return 0;
		case 'V':
			printf("stafetd %s (schema %d%s)\n", STAFET_VERSION, migrate_latest(),
			       clock_is_test() ? ", test clock" : "");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if ((optind != argc) != o->import_routes || (o->import_routes && o->export_routes)) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The one-shot commands on a loaded configuration (--check-config,
 * --migrate, --import-routes, --export-routes): -1 when none was asked for
 * and the daemon is to run, else the exit status. */
static int
run_command(struct config *cfg, const struct options *o, int argc, char **argv)
{
	int rc;

	if (o->check) {
		printf("configuration ok\n");
		config_free(cfg);
		return 0;
	}
	config_set_current(cfg);
	log_init(cfg->log_level, cfg->log_timestamps);
	if (o->migrate) {
		rc = migrate_run(cfg);
		config_set_current(NULL);
		return rc == 0 ? 0 : 1;
	}
	if (o->import_routes || o->export_routes) {
		rc = o->import_routes ? routes_import(cfg, argv + optind, argc - optind)
		                      : routes_export(cfg);
		config_set_current(NULL);
		return rc == 0 ? 0 : 1;
	}
	return -1;
}

static void
signals_start(void)
{
	sig_hup = evsignal_new(base, SIGHUP, signal_cb, NULL);
	sig_term = evsignal_new(base, SIGTERM, signal_cb, NULL);
	sig_int = evsignal_new(base, SIGINT, signal_cb, NULL);
	if (!sig_hup || !sig_term || !sig_int || evsignal_add(sig_hup, NULL) == -1 ||
	    evsignal_add(sig_term, NULL) == -1 || evsignal_add(sig_int, NULL) == -1)
		fatalx("cannot set up signal events");
}

/* After the loop: the modules, connections, events and config go, in that
 * order. */
static void
teardown(void)
{
	/*
	 * A second SIGTERM during teardown must not kill us with a signal
	 * status: freeing the signal events restores the default actions, so
	 * block the signals first; they die with the process.
	 */
	sigset_t stop_sigs;
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGHUP);
	sigaddset(&stop_sigs, SIGUSR2);
	sigprocmask(SIG_BLOCK, &stop_sigs, NULL);
	/* Logins still running are answered before the pool and connections go
	 * (the table's stop_first). */
	modules_stop();
	http_server_free_all();
	if (shutdown_timer)
		event_free(shutdown_timer);
	event_free(sig_hup);
	event_free(sig_term);
	event_free(sig_int);
	clock_stop();
	event_base_free(base);
	config_set_current(NULL);
	log_notice("stopped");
	log_flush();
}

int
main(int argc, char **argv)
{
	struct options o = {.path = STAFET_SYSCONFDIR "/stafetd.conf"};
	struct strlist errors = {0};
	struct config *cfg;
	int rc;

	app_config_keys_init();
	if ((rc = parse_options(argc, argv, &o)) != -1)
		return rc;
	log_init(LOG_LVL_INFO, LOG_TS_AUTO);
	modules_init();
	if ((cfg = config_load(o.path, &errors)) == NULL) {
		for (size_t i = 0; i < errors.n; i++)
			fprintf(stderr, "%s\n", errors.v[i]);
		strlist_free(&errors);
		return 1;
	}
	if ((rc = run_command(cfg, &o, argc, argv)) != -1)
		return rc;
	if (migrate_check_startup(cfg) == -1)
		return 1;
	if (*cfg->names_file) {
		char err[512];
		/* before any thread asks for a name */
		if (names_load_file(cfg->names_file, err, sizeof(err)) == -1) {
			fprintf(stderr, "names_file: %s\n", err);
			return 1;
		}
	}

	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)clock_time() ^ (unsigned)getpid());
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	app_routes_init();
	metrics_init();
	clock_init(base);
	signals_start();
	if (http_server_start(base, cfg) == -1)
		return 1;
	modules_start(base, cfg);
	log_notice("stafetd %s started (pid %d, schema %d)", STAFET_VERSION, (int)getpid(),
	           migrate_latest());
	sd_notify_msg("READY=1");

	event_base_dispatch(base);
	teardown();
	return 0;
}

/*
 * static.c: serves the web UI's files from web_root.
 *
 * Paths are checked segment by segment (no "..", no hidden files, no
 * backslashes) and the file found must resolve inside web_root, so neither
 * traversal nor a symlink leads out of it. Files carry an ETag so browsers
 * revalidate cheaply.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "stafetd.h"

#define STATIC_MAX_FILE (16 * 1024 * 1024)

static const struct {
	const char *ext;
	const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".ttf", "font/ttf"},
    {".eot", "application/vnd.ms-fontobject"},
    {".txt", "text/plain; charset=utf-8"},
};

const char *
static_content_type(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (dot && strchr(dot, '/') == NULL)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].type;
	return NULL;
}

/* A path is served only if every segment is a plain, visible name. */
bool
static_path_ok(const char *path)
{
	const char *p = path;

	if (*p != '/' || strlen(path) > 1024 || strchr(path, '\\') != NULL)
		return false;
	while (*p == '/') {
		p++;
		if (*p == '/')
			return false;
		if (*p == '.')
			return false; /* ".", "..", and hidden files alike */
		p += strcspn(p, "/");
	}
	return true;
}

static void
not_found(struct http_request *req)
{
	http_problem(req, 404, NULL, "No such resource.");
}

void
static_serve(struct http_request *req)
{
	const struct config *cfg = config_current();
	char rel[1100], full[PATH_MAX], real[PATH_MAX], root[PATH_MAX], etag[64];
	const char *ctype, *inm;
	struct stat st;
	struct evbuffer *b;
	size_t rl;
	int fd;

	if (!static_path_ok(req->head.path)) {
		not_found(req);
		return;
	}
	snprintf(rel, sizeof(rel), "%s", req->head.path);
	rl = strlen(rel);
	if (rel[rl - 1] == '/')
		snprintf(rel + rl, sizeof(rel) - rl, "index.html");
	if ((ctype = static_content_type(rel)) == NULL) {
		not_found(req);
		return;
	}
	if (realpath(cfg->web_root, root) == NULL) {
		log_warn("static: web_root %s", cfg->web_root);
		not_found(req);
		return;
	}
	if ((size_t)snprintf(full, sizeof(full), "%s%s", root, rel) >= sizeof(full) ||
	    realpath(full, real) == NULL || strncmp(real, root, strlen(root)) != 0 ||
	    real[strlen(root)] != '/') {
		not_found(req);
		return;
	}
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		not_found(req);
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX_FILE) {
		close(fd);
		not_found(req);
		return;
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st.st_size,
	         (unsigned long long)st.st_mtime);
	http_add_header(req, "ETag", etag);
	http_add_header(req, "Cache-Control", "no-cache");
	if (strncmp(ctype, "text/html", 9) == 0) {
		http_add_header(req, "Content-Security-Policy",
		                "default-src 'self'; script-src 'self'; style-src 'self'; "
		                "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
		                "base-uri 'none'; form-action 'self'");
		http_add_header(req, "X-Frame-Options", "DENY");
	}
	if ((inm = http_request_header(req, "If-None-Match")) != NULL && strcmp(inm, etag) == 0) {
		close(fd);
		http_respond(req, 304, NULL, NULL, 0);
		return;
	}
	b = evbuffer_new();
	if (st.st_size == 0) {
		close(fd);
	} else if (evbuffer_add_file(b, fd, 0, st.st_size) == -1) {
		/* evbuffer_add_file closes fd on failure too */
		evbuffer_free(b);
		http_problem(req, 500, NULL, "The file could not be read.");
		return;
	}
	http_respond_buffer(req, 200, ctype, b);
	evbuffer_free(b);
}

/*
 * api_session.c: POST /api/v1/session, logging in.
 *
 * The request is checked here in full (shape, unknown fields, limits). Login
 * itself is an LDAP bind as the user, which needs the directory; until a
 * directory is configured the answer is 503, said plainly, never a fake
 * session.
 */
#include <stdint.h>
#include <string.h>

#include "stafetd.h"

#define USERNAME_MAX 256
#define PASSWORD_MAX 1024

void
api_session_create(struct http_request *req)
{
	static const char *const allowed[] = {"username", "password", NULL};
	json_t *body = req->json, *p, *u, *pw;

	if (!json_is_object(body)) {
		http_problem(req, 400, NULL, "The request body must be a JSON object.");
		return;
	}
	if ((p = json_unknown_fields(body, allowed, NULL)) != NULL) {
		http_problem_json(req, p);
		return;
	}
	u = json_object_get(body, "username");
	pw = json_object_get(body, "password");
	p = json_problem(422, "Invalid login request", "Both username and password are needed.");
	if (!json_is_string(u) || json_string_length(u) == 0)
		json_problem_add_error(p, "username", "required", "Skriv dit brugernavn.");
	else if (json_string_length(u) > USERNAME_MAX)
		json_problem_add_error(p, "username", "too_long", "Brugernavnet er for langt.");
	if (!json_is_string(pw) || json_string_length(pw) == 0)
		json_problem_add_error(p, "password", "required", "Skriv din adgangskode.");
	else if (json_string_length(pw) > PASSWORD_MAX)
		json_problem_add_error(p, "password", "too_long", "Adgangskoden er for lang.");
	if (json_object_get(p, "errors") != NULL) {
		http_problem_json(req, p);
		return;
	}
	json_decref(p);
	explicit_wipe((char *)(uintptr_t)json_string_value(pw), json_string_length(pw));
	http_add_header(req, "Retry-After", "60");
	http_problem(req, 503, "Login unavailable",
	             "Log ind er ikke muligt: der er ikke konfigureret et LDAP-katalog.");
}

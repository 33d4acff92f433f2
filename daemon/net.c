/*
 * net.c: network addresses and origins as configuration and requests give
 * them: IPv4 and IPv6 addresses, lists of them, and a web origin
 * ("https://host[:port]").
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "stafetd.h"

bool
net_parse_ip(const char *s, size_t n, unsigned char out[16], int *family)
{
	char buf[INET6_ADDRSTRLEN + 1];
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, out) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, out) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

int
net_check_addresses(const char *list, const char **why)
{
	const char *p = list;
	while (*p) {
		size_t n;
		unsigned char ip[16];
		int fam;
		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == 0)
			break;
		if (!net_parse_ip(p, n, ip, &fam)) {
			*why = "not a list of IP addresses";
			return -1;
		}
		p += n;
	}
	return 0;
}

bool
net_address_listed(const char *list, const char *addr)
{
	unsigned char want[16], ip[16];
	int wf, f;
	const char *p = list;

	if (!net_parse_ip(addr, strlen(addr), want, &wf))
		return false;
	while (*p) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, " \t,");
		if (n == 0)
			break;
		if (net_parse_ip(p, n, ip, &f) && f == wf &&
		    memcmp(ip, want, f == AF_INET ? 4 : 16) == 0)
			return true;
		p += n;
	}
	return false;
}

/*
 * "http(s)://host[:port]" (a trailing "/" allowed) to the form browsers send
 * in Origin: scheme and host lower-case, default port left out. `out` may be
 * NULL to only check. Returns 0, or -1 for anything else.
 */
int
net_parse_origin(const char *url, char *out, size_t outsz)
{
	const char *host;
	bool https;
	char buf[512];
	size_t n;

	if (strncasecmp(url, "https://", 8) == 0) {
		https = true;
		host = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		https = false;
		host = url + 7;
	} else {
		return -1;
	}
	n = strlen(host);
	if (n > 0 && host[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof(buf) - 16)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)host[i];
		if (!isalnum(ch) && !strchr(".-:[]", ch))
			return -1;
		buf[i] = (char)tolower(ch);
	}
	buf[n] = '\0';
	/* the port, if any, is digits after the last ':' outside brackets */
	char *colon = strrchr(buf, ':');
	char *bracket = strrchr(buf, ']');
	if (colon && (!bracket || colon > bracket)) {
		if (colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1))
			return -1;
		if ((https && strcmp(colon, ":443") == 0) || (!https && strcmp(colon, ":80") == 0))
			*colon = '\0';
	}
	if (buf[0] == ':' || buf[0] == '\0')
		return -1;
	if (out && snprintf(out, outsz, "%s://%s", https ? "https" : "http", buf) >= (int)outsz)
		return -1;
	return 0;
}

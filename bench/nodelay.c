/*
 * nodelay.c: a diagnostic LD_PRELOAD shim, not part of any product: every
 * socket the process accepts gets TCP_NODELAY. `BENCH_NODELAY=1 make bench`
 * runs the directory benchmark with stafetd under it, to show how much of
 * the people search's latency is Nagle's algorithm meeting the client's
 * delayed ACK (bench/README.md, "Targets: met or not").
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>

static void
nodelay(int fd)
{
	int one = 1;
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int
accept4(int s, struct sockaddr *addr, socklen_t *len, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "accept4");
	int fd = real(s, addr, len, flags);
	nodelay(fd);
	return fd;
}

int
accept(int s, struct sockaddr *addr, socklen_t *len)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "accept");
	int fd = real(s, addr, len);
	nodelay(fd);
	return fd;
}

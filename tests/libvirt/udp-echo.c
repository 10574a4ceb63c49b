/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udp-echo NAME [PORT]: the test guest's UDP listener.
 *
 * Debian's static busybox has no UDP mode in nc, so the guest image carries this (built with
 * gcc -static by build-image.sh). Every datagram is answered with "NAME PAYLOAD", so the test
 * knows which guest a forwarded UDP port reached. One dual-stack socket (IPv4 peers arrive as
 * IPv4-mapped addresses), or IPv4 alone on a kernel without IPv6.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_PORT 27015
#define MAX_DATAGRAM 512

static int parse_port(const char *s, unsigned short *ret_port)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v == 0 || v > 65535)
		return -EINVAL;
	*ret_port = (unsigned short)v;
	return 0;
}

/* Bind one UDP socket of family to the wildcard address: IPv6 with IPV6_V6ONLY off serves both
 * families. */
static int bind_any(int family, unsigned short port, int *ret_fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, off = 0, r;

	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *sa6 = (struct sockaddr_in6 *)&ss;
		sa6->sin6_family = AF_INET6;
		sa6->sin6_port = htons(port);
		sa6->sin6_addr = in6addr_any;
		len = sizeof(*sa6);
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
			goto fail;
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
		sa->sin_family = AF_INET;
		sa->sin_port = htons(port);
		sa->sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof(*sa);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	*ret_fd = fd;
	return 0;
fail:
	r = -errno;
	close(fd);
	return r;
}

static int open_socket(unsigned short port, int *ret_fd)
{
	int r = bind_any(AF_INET6, port, ret_fd);

	/* A kernel without IPv6 (or booted with ipv6.disable=1) still gets its IPv4 listener. */
	if (r == -EAFNOSUPPORT)
		r = bind_any(AF_INET, port, ret_fd);
	return r;
}

/* Answer datagrams forever; a failed send is not fatal (the client may be gone). */
static int serve(int fd, const char *name)
{
	char in[MAX_DATAGRAM], out[MAX_DATAGRAM + 256];

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t n;
		int len;

		n = recvfrom(fd, in, sizeof(in) - 1, 0, (struct sockaddr *)&peer, &plen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		in[n] = '\0';
		len = snprintf(out, sizeof(out), "%s %s", name, in);
		if (len < 0)
			continue;
		if ((size_t)len >= sizeof(out))
			len = (int)sizeof(out) - 1;
		(void)sendto(fd, out, (size_t)len, 0, (struct sockaddr *)&peer, plen);
	}
}

int main(int argc, char **argv)
{
	unsigned short port = DEFAULT_PORT;
	int fd = -1, r;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: udp-echo NAME [PORT]\n");
		return 2;
	}
	if (argc == 3 && parse_port(argv[2], &port) < 0) {
		fprintf(stderr, "udp-echo: '%s' is not a port (1-65535)\n", argv[2]);
		return 2;
	}
	r = open_socket(port, &fd);
	if (r < 0) {
		fprintf(stderr, "udp-echo: cannot bind UDP port %u: %s\n", port, strerror(-r));
		return 1;
	}
	r = serve(fd, argv[1]);
	fprintf(stderr, "udp-echo: %s\n", strerror(-r));
	close(fd);
	return 1;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The neighbour table over rtnetlink: one RTM_GETNEIGH dump per question, filtered by the
 * kernel to one bridge, and the choice of a guest's address in it. */
#include "neigh.h"

#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "util.h"

#define DUMP_RECV  (16u << 10)   /* one buffer of a dump: ~200 entries */
#define DUMP_READS 4096u         /* VP_NEIGH_MAX entries fit in far fewer buffers */
#define DUMP_MS    2000          /* the whole dump; one read waits at most a second */

bool vp_neigh_state_usable(uint16_t state)
{
	return (state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE)) &&
	       !(state & (NUD_FAILED | NUD_INCOMPLETE | NUD_NOARP | NUD_PERMANENT));
}

/* ---- parsing ----------------------------------------------------------------------------- */

static int append(struct vp_neighs *t, const struct vp_neigh *e)
{
	if (t->n >= VP_NEIGH_MAX)
		return -E2BIG;
	if (vp_grow(&t->e, &t->cap, t->n + 1, sizeof(*t->e)) < 0)
		return -ENOMEM;
	t->e[t->n++] = *e;
	return 0;
}

/* NDA_DST and NDA_LLADDR of an entry's attributes p[0..len); 0 or -EBADMSG. The buffer may be
 * unaligned (a fuzzer's): everything is copied out, never cast. */
static int entry_attrs(const char *p, size_t len, struct vp_neigh *e, bool *ret_dst,
                       bool *ret_ll)
{
	for (size_t off = 0; off + NLA_HDRLEN <= len;) {
		struct nlattr a;
		size_t pl;
		memcpy(&a, p + off, sizeof(a));
		if (a.nla_len < NLA_HDRLEN || a.nla_len > len - off)
			return -EBADMSG;
		pl = a.nla_len - NLA_HDRLEN;
		if ((a.nla_type & NLA_TYPE_MASK) == NDA_DST &&
		    pl == (e->ip.family == AF_INET ? sizeof(e->ip.v4) : sizeof(e->ip.v6))) {
			memcpy(&e->ip.v6, p + off + NLA_HDRLEN, pl);   /* v4 and v6 share the union */
			*ret_dst = true;
		} else if ((a.nla_type & NLA_TYPE_MASK) == NDA_LLADDR && pl == 6) {
			const unsigned char *m = (const unsigned char *)p + off + NLA_HDRLEN;
			snprintf(e->mac, sizeof(e->mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
			         m[2], m[3], m[4], m[5]);
			*ret_ll = true;
		}
		off += NLA_ALIGN(a.nla_len);
	}
	return 0;
}

/* One RTM_NEWNEIGH's payload p[0..len): appended when it is an entry we can use. */
static int entry(const char *p, size_t len, int ifindex, int family, struct vp_neighs *t)
{
	struct ndmsg m;
	struct vp_neigh e = {0};
	bool dst = false, ll = false;
	size_t hl = NLMSG_ALIGN(sizeof(m));
	int r;

	if (len < sizeof(m))
		return -EBADMSG;
	memcpy(&m, p, sizeof(m));
	if ((m.ndm_family != AF_INET && m.ndm_family != AF_INET6) ||
	    (family != AF_UNSPEC && m.ndm_family != family) ||
	    (ifindex && m.ndm_ifindex != ifindex) || (m.ndm_flags & NTF_PROXY))
		return 0;
	e.ip.family = m.ndm_family;
	e.ifindex = m.ndm_ifindex;
	e.state = m.ndm_state;
	r = entry_attrs(p + hl, len > hl ? len - hl : 0, &e, &dst, &ll);
	if (r < 0 || !dst || !ll)
		return r;
	return append(t, &e);
}

static int error_of(const char *p, size_t len)
{
	struct nlmsgerr e;

	if (len < sizeof(e))
		return -EBADMSG;
	memcpy(&e, p, sizeof(e));
	if (e.error == 0)
		return 0;   /* an acknowledgement */
	return e.error < 0 && e.error >= -4095 ? e.error : -EBADMSG;
}

int vp_neigh_parse(const void *buf, size_t len, int ifindex, int family, struct vp_neighs *t)
{
	const char *p = buf;
	size_t off = 0;
	int r = 0;

	if (!buf || !t)
		return -EINVAL;
	while (r == 0 && off + NLMSG_HDRLEN <= len) {
		struct nlmsghdr h;
		memcpy(&h, p + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off)
			return -EBADMSG;
		if (h.nlmsg_type == NLMSG_DONE)
			return 1;
		if (h.nlmsg_type == NLMSG_ERROR)
			r = error_of(p + off + NLMSG_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN);
		else if (h.nlmsg_type == RTM_NEWNEIGH)
			r = entry(p + off + NLMSG_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN, ifindex, family, t);
		off += NLMSG_ALIGN(h.nlmsg_len);
	}
	if (r == 0 && off < len)
		return -EBADMSG;   /* trailing bytes shorter than a header */
	return r;
}

void vp_neighs_free(struct vp_neighs *t)
{
	if (!t)
		return;
	free(t->e);
	*t = (struct vp_neighs){0};
}

/* ---- choosing ---------------------------------------------------------------------------- */

static bool believed(const struct vp_neigh *e, int family)
{
	return e->ip.family == family && vp_neigh_state_usable(e->state) &&
	       !(family == AF_INET6 && (IN6_IS_ADDR_LINKLOCAL(&e->ip.v6) ||
	                                IN6_IS_ADDR_MULTICAST(&e->ip.v6)));
}

int vp_neigh_pick(const struct vp_neighs *t, const char *mac, const struct vp_network *net,
                  int family, struct vp_neigh_pick *ret)
{
	const struct vp_neigh *found = NULL;

	if (!t || !mac || !ret)
		return -EINVAL;
	*ret = (struct vp_neigh_pick){0};
	for (size_t i = 0; mac[0] && i < t->n; i++) {
		const struct vp_neigh *e = &t->e[i];
		if (!believed(e, family) || strcmp(e->mac, mac) != 0 ||
		    (net && !vp_network_subnet(net, family, &e->ip)))
			continue;
		if (found && !vp_addr_equal(&found->ip, &e->ip)) {
			ret->addr = found->ip;
			ret->other = e->ip;
			return -ENOTUNIQ;
		}
		found = e;
	}
	if (!found)
		return -ENOENT;
	ret->addr = found->ip;
	for (size_t i = 0; i < t->n; i++) {
		const struct vp_neigh *e = &t->e[i];
		if (believed(e, family) && vp_addr_equal(&e->ip, &found->ip) &&
		    strcmp(e->mac, mac) != 0) {
			memcpy(ret->other_mac, e->mac, sizeof(ret->other_mac));
			return -EADDRINUSE;
		}
	}
	return 0;
}

/* ---- the socket -------------------------------------------------------------------------- */

static int dump_request(int fd, int ifindex, int family)
{
	struct {
		struct nlmsghdr h;
		struct ndmsg m;
		struct nlattr a;
		uint32_t ifindex;
	} req = {
		.h = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETNEIGH,
		      .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
		.m = {.ndm_family = (uint8_t)family},
		/* The kernel's filter (Linux >= 4.15); older ones send all, parse filters too. */
		.a = {.nla_len = NLA_HDRLEN + sizeof(uint32_t), .nla_type = NDA_IFINDEX},
		.ifindex = (uint32_t)ifindex,
	};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return 0;
}

int vp_neigh_dump(int ifindex, int family, struct vp_neighs *t)
{
	struct timeval tv = {.tv_sec = 1};
	long long until = vp_now_ms() + DUMP_MS;
	char *buf = NULL;
	int fd, r;

	if (ifindex <= 0 || (family != AF_INET && family != AF_INET6) || !t)
		return -EINVAL;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	r = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ? -errno : 0;
	if (r == 0)
		r = dump_request(fd, ifindex, family);
	if (r == 0 && !(buf = malloc(DUMP_RECV)))
		r = -ENOMEM;
	for (unsigned i = 0; r == 0 && i < DUMP_READS; i++) {
		ssize_t n = recv(fd, buf, DUMP_RECV, MSG_TRUNC);
		int e = errno;
		if (n < 0 && e != EINTR)
			r = e == EAGAIN ? -ETIMEDOUT : -e;
		else if (n > 0 && (size_t)n > DUMP_RECV)
			r = -EMSGSIZE;
		else if (n > 0)
			r = vp_neigh_parse(buf, (size_t)n, ifindex, family, t);
		if (r == 0 && vp_now_ms() > until)
			r = -ETIMEDOUT;
	}
	free(buf);
	close(fd);
	return r == 1 ? 0 : r == 0 ? -E2BIG : r;
}

int vp_neigh_events_open(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1u << (RTNLGRP_NEIGH - 1)};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

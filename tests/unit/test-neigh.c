/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The neighbour table (neigh.c): the rtnetlink dump parser over buffers built here, and the
 * choice of a guest's address in it with its trust rules; one live dump, which needs no root. */
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "neigh.h"
#include "network.h"
#include "tap.h"

#define BR   7           /* the bridge's ifindex in these buffers */
#define MAC1 "52:54:00:aa:00:01"
#define MAC2 "52:54:00:aa:00:02"

struct nlbuf {
	char b[8192];
	size_t len;
};

static void put(struct nlbuf *m, const void *p, size_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void put_attr(struct nlbuf *m, uint16_t type, const void *p, size_t n)
{
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + n), .nla_type = type};
	size_t pad = NLA_ALIGN(n) - n;

	put(m, &a, sizeof(a));
	put(m, p, n);
	memset(m->b + m->len, 0, pad);
	m->len += pad;
}

/* One RTM_NEWNEIGH: ip "" has no NDA_DST, mac NULL no NDA_LLADDR. */
static void put_neigh(struct nlbuf *m, int ifindex, uint16_t state, uint8_t flags, const char *ip,
                      const char *mac)
{
	size_t start = m->len;
	struct vp_addr a = {0};
	struct nlmsghdr h = {.nlmsg_type = RTM_NEWNEIGH, .nlmsg_flags = NLM_F_MULTI};
	struct ndmsg nd = {.ndm_ifindex = ifindex, .ndm_state = state, .ndm_flags = flags};

	vp_addr_parse(ip, strlen(ip), &a);
	nd.ndm_family = (uint8_t)(a.family ? a.family : AF_INET);
	put(m, &h, sizeof(h));
	put(m, &nd, sizeof(nd));
	if (a.family)
		put_attr(m, NDA_DST, &a.v6, a.family == AF_INET ? 4 : 16);
	if (mac) {
		unsigned char ll[6];
		for (int i = 0; i < 6; i++)
			ll[i] = (unsigned char)strtoul(mac + 3 * i, NULL, 16);
		put_attr(m, NDA_LLADDR, ll, sizeof(ll));
	}
	h.nlmsg_len = (uint32_t)(m->len - start);
	memcpy(m->b + start, &h, sizeof(h));
}

static void put_done(struct nlbuf *m)
{
	struct nlmsghdr h = {.nlmsg_len = NLMSG_LENGTH(sizeof(int)), .nlmsg_type = NLMSG_DONE};
	int zero = 0;

	put(m, &h, sizeof(h));
	put(m, &zero, sizeof(zero));
}

static void put_error(struct nlbuf *m, int err)
{
	struct nlmsghdr h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr)),
	                     .nlmsg_type = NLMSG_ERROR};
	struct nlmsgerr e = {.error = err};

	put(m, &h, sizeof(h));
	put(m, &e, sizeof(e));
}

static const char *addr_s(const struct vp_addr *a)
{
	static char buf[4][VP_ADDR_STRLEN];
	static unsigned i;
	return vp_addr_str(a, buf[i++ % 4]);
}

static void test_parse(void)
{
	struct nlbuf m = {0};
	struct vp_neighs t = {0};
	int r;

	put_neigh(&m, BR, NUD_REACHABLE, 0, "192.168.122.10", MAC1);
	put_neigh(&m, BR + 1, NUD_REACHABLE, 0, "192.168.122.11", MAC1);   /* another link */
	put_neigh(&m, BR, NUD_STALE, 0, "2001:db8:ca2:2::10", MAC1);
	put_neigh(&m, BR, NUD_INCOMPLETE, 0, "192.168.122.12", NULL);      /* no lladdr yet */
	put_neigh(&m, BR, NUD_REACHABLE, NTF_PROXY, "192.168.122.13", MAC2);
	put_neigh(&m, BR, NUD_FAILED, 0, "192.168.122.14", MAC2);          /* kept, not believed */
	r = vp_neigh_parse(m.b, m.len, BR, AF_INET, &t);
	tap_ok(r == 0 && t.n == 2, "parse: entries of the bridge and family only (r=%d n=%zu)", r,
	       t.n);
	tap_ok(t.n == 2 && !strcmp(t.e[0].mac, MAC1) && t.e[0].ifindex == BR &&
	       t.e[0].state == NUD_REACHABLE && !strcmp(addr_s(&t.e[0].ip), "192.168.122.10"),
	       "parse: address, MAC, link and state of an entry");
	vp_neighs_free(&t);
	r = vp_neigh_parse(m.b, m.len, 0, AF_UNSPEC, &t);
	tap_ok(r == 0 && t.n == 4, "parse: any link, any family (n=%zu)", t.n);
	put_done(&m);
	put_neigh(&m, BR, NUD_REACHABLE, 0, "192.168.122.99", MAC2);      /* after the end */
	vp_neighs_free(&t);
	r = vp_neigh_parse(m.b, m.len, BR, AF_INET6, &t);
	tap_ok(r == 1 && t.n == 1, "parse: NLMSG_DONE ends the dump (r=%d n=%zu)", r, t.n);
	vp_neighs_free(&t);
	vp_neighs_free(&t);
	vp_neighs_free(NULL);
	tap_ok(t.n == 0 && !t.e, "free: twice and NULL-safe");
}

static void test_parse_bad(void)
{
	struct nlbuf m = {0};
	struct vp_neighs t = {0};
	struct nlmsghdr h;

	put_error(&m, -EPERM);
	tap_ok(vp_neigh_parse(m.b, m.len, BR, AF_INET, &t) == -EPERM, "parse: the kernel's error");
	m.len = 0;
	put_error(&m, 0);
	tap_ok(vp_neigh_parse(m.b, m.len, BR, AF_INET, &t) == 0, "parse: an ack is no error");
	m.len = 0;
	put_neigh(&m, BR, NUD_REACHABLE, 0, "192.168.122.10", MAC1);
	tap_ok(vp_neigh_parse(m.b, m.len - 1, BR, AF_INET, &t) == -EBADMSG && t.n == 0,
	       "parse: a message longer than the buffer");
	tap_ok(vp_neigh_parse(m.b, m.len + 3, BR, AF_INET, &t) == -EBADMSG,
	       "parse: trailing bytes");
	vp_neighs_free(&t);
	memcpy(&h, m.b, sizeof(h));
	h.nlmsg_len = 8;
	memcpy(m.b, &h, sizeof(h));
	tap_ok(vp_neigh_parse(m.b, m.len, BR, AF_INET, &t) == -EBADMSG, "parse: a short header");
	m.len = 0;
	put_neigh(&m, BR, NUD_REACHABLE, 0, "192.168.122.10", MAC1);
	m.b[m.len - 12] = 40;   /* NDA_LLADDR's length past the message */
	tap_ok(vp_neigh_parse(m.b, m.len, BR, AF_INET, &t) == -EBADMSG && t.n == 0,
	       "parse: an attribute longer than its message");
	tap_ok(vp_neigh_parse(m.b, 0, BR, AF_INET, &t) == 0 && t.n == 0, "parse: nothing");
	tap_ok(vp_neigh_parse(NULL, 0, BR, AF_INET, &t) == -EINVAL, "parse: NULL buffer");
	vp_neighs_free(&t);
}

static void test_states(void)
{
	tap_ok(vp_neigh_state_usable(NUD_REACHABLE) && vp_neigh_state_usable(NUD_STALE) &&
	       vp_neigh_state_usable(NUD_DELAY) && vp_neigh_state_usable(NUD_PROBE),
	       "states: reachable, stale, delay, probe are believed");
	tap_ok(!vp_neigh_state_usable(NUD_FAILED) && !vp_neigh_state_usable(NUD_INCOMPLETE) &&
	       !vp_neigh_state_usable(NUD_NOARP) && !vp_neigh_state_usable(NUD_PERMANENT) &&
	       !vp_neigh_state_usable(NUD_NONE), "states: failed, incomplete, noarp, permanent not");
}

/* A network with 192.168.122.0/24 and 2001:db8:ca2:2::/64. */
static void make_net(struct vp_network *n)
{
	*n = (struct vp_network){.name = "default", .bridge = "virbr0", .n_subnets = 2};
	vp_cidr_parse("192.168.122.0/24", 16, &n->subnets[0].net);
	vp_cidr_parse("2001:db8:ca2:2::/64", 19, &n->subnets[1].net);
}

/* Parse m, pick MAC1 in family; r and the picked address. */
static int pick(const struct nlbuf *m, const struct vp_network *net, int family,
                struct vp_neigh_pick *pk)
{
	struct vp_neighs t = {0};
	int r = vp_neigh_parse(m->b, m->len, BR, AF_UNSPEC, &t);

	if (r >= 0)
		r = vp_neigh_pick(&t, MAC1, net, family, pk);
	vp_neighs_free(&t);
	return r;
}

static void test_pick4(const struct vp_network *net)
{
	struct nlbuf m = {0};
	struct vp_neigh_pick pk;
	int r;

	put_neigh(&m, BR, NUD_STALE, 0, "192.168.122.10", MAC1);
	put_neigh(&m, BR, NUD_REACHABLE, 0, "192.168.122.20", MAC2);
	put_neigh(&m, BR, NUD_FAILED, 0, "192.168.122.30", MAC1);      /* not believed */
	put_neigh(&m, BR, NUD_REACHABLE, 0, "10.9.9.9", MAC1);         /* outside the network */
	r = pick(&m, net, AF_INET, &pk);
	tap_ok(r == 0 && !strcmp(addr_s(&pk.addr), "192.168.122.10"),
	       "pick: the MAC's believed address inside the network (r=%d %s)", r,
	       addr_s(&pk.addr));
	r = pick(&m, NULL, AF_INET, &pk);
	tap_ok(r == -ENOTUNIQ, "pick: without the network, the outside one counts too (r=%d)", r);
	put_neigh(&m, BR, NUD_DELAY, 0, "192.168.122.11", MAC1);
	r = pick(&m, net, AF_INET, &pk);
	tap_ok(r == -ENOTUNIQ && !strcmp(addr_s(&pk.addr), "192.168.122.10") &&
	       !strcmp(addr_s(&pk.other), "192.168.122.11"),
	       "pick: a MAC with two addresses is ambiguous (%s, %s)", addr_s(&pk.addr),
	       addr_s(&pk.other));
	m.len = 0;
	put_neigh(&m, BR, NUD_REACHABLE, 0, "192.168.122.10", MAC1);
	put_neigh(&m, BR, NUD_PROBE, 0, "192.168.122.10", MAC2);
	r = pick(&m, net, AF_INET, &pk);
	tap_ok(r == -EADDRINUSE && !strcmp(pk.other_mac, MAC2) &&
	       !strcmp(addr_s(&pk.addr), "192.168.122.10"),
	       "pick: an address seen for two MACs is ambiguous (r=%d %s)", r, pk.other_mac);
	m.len = 0;
	put_neigh(&m, BR, NUD_REACHABLE, 0, "192.168.122.10", MAC1);
	put_neigh(&m, BR, NUD_FAILED, 0, "192.168.122.10", MAC2);
	tap_ok(pick(&m, net, AF_INET, &pk) == 0, "pick: a failed entry of another MAC does not count");
	m.len = 0;
	put_neigh(&m, BR, NUD_REACHABLE, 0, "192.168.122.10", MAC2);
	put_neigh(&m, BR, NUD_FAILED, 0, "192.168.122.11", MAC1);
	put_neigh(&m, BR, NUD_INCOMPLETE, 0, "192.168.122.12", MAC1);
	put_neigh(&m, BR, NUD_NOARP, 0, "192.168.122.13", MAC1);
	put_neigh(&m, BR, NUD_PERMANENT, 0, "192.168.122.14", MAC1);
	tap_ok(pick(&m, net, AF_INET, &pk) == -ENOENT && pk.addr.family == 0,
	       "pick: no believed entry of the MAC: none");
	tap_ok(pick(&m, net, AF_INET6, &pk) == -ENOENT, "pick: none of the other family");
}

static void test_pick6(const struct vp_network *net)
{
	struct nlbuf m = {0};
	struct vp_neigh_pick pk;
	int r;

	put_neigh(&m, BR, NUD_REACHABLE, 0, "fe80::5054:ff:feaa:1", MAC1);   /* link-local: never */
	put_neigh(&m, BR, NUD_STALE, 0, "2001:db8:ca2:2:5054:ff:feaa:1", MAC1);
	put_neigh(&m, BR, NUD_REACHABLE, 0, "192.168.122.10", MAC1);
	r = pick(&m, net, AF_INET6, &pk);
	tap_ok(r == 0 && !strcmp(addr_s(&pk.addr), "2001:db8:ca2:2:5054:ff:feaa:1"),
	       "pick6: the SLAAC address of the subnet, not the link-local one (r=%d %s)", r,
	       addr_s(&pk.addr));
	r = pick(&m, net, AF_INET, &pk);
	tap_ok(r == 0 && !strcmp(addr_s(&pk.addr), "192.168.122.10"), "pick6: IPv4 beside it");
	put_neigh(&m, BR, NUD_REACHABLE, 0, "2001:db8:ffff::1", MAC1);   /* another prefix */
	tap_ok(pick(&m, net, AF_INET6, &pk) == 0, "pick6: an address of another prefix is passed over");
	put_neigh(&m, BR, NUD_REACHABLE, 0, "2001:db8:ca2:2::77", MAC1);
	tap_ok(pick(&m, net, AF_INET6, &pk) == -ENOTUNIQ, "pick6: two global addresses of the subnet "
	       "are ambiguous");
	m.len = 0;
	put_neigh(&m, BR, NUD_REACHABLE, 0, "fe80::1", MAC1);
	tap_ok(pick(&m, NULL, AF_INET6, &pk) == -ENOENT, "pick6: link-local only: none");
}

static void test_pick_args(void)
{
	struct vp_neighs t = {0};
	struct vp_neigh_pick pk;

	tap_ok(vp_neigh_pick(&t, MAC1, NULL, AF_INET, &pk) == -ENOENT, "pick: empty table");
	tap_ok(vp_neigh_pick(&t, "", NULL, AF_INET, &pk) == -ENOENT, "pick: NIC without a MAC");
	tap_ok(vp_neigh_pick(NULL, MAC1, NULL, AF_INET, &pk) == -EINVAL, "pick: NULL table");
}

/* The kernel's answer for the loopback device, and the event socket: no root needed. */
static void test_live(void)
{
	struct vp_neighs t = {0};
	int r = vp_neigh_dump(1, AF_INET, &t), fd;

	tap_ok(r == 0, "dump: the loopback's table (r=%d, %zu entries)", r, t.n);
	vp_neighs_free(&t);
	tap_ok(vp_neigh_dump(0, AF_INET, &t) == -EINVAL && vp_neigh_dump(1, AF_UNIX, &t) == -EINVAL,
	       "dump: bad arguments");
	fd = vp_neigh_events_open();
	tap_ok(fd >= 0, "events: a socket on RTNLGRP_NEIGH (%d)", fd);
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	struct vp_network net;

	make_net(&net);
	test_parse();
	test_parse_bad();
	test_states();
	test_pick4(&net);
	test_pick6(&net);
	test_pick_args();
	test_live();
	return tap_done();
}

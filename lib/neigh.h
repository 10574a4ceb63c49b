/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host's neighbour table (ARP for IPv4, NDP for IPv6) on a network's bridge, read over
 * rtnetlink by a small client of our own: the address of a guest that no libvirt file names (an
 * address set inside the guest, IPv6 SLAAC), known to the host as soon as the guest talks.
 * The parse and the choice are pure functions over buffers; only vp_neigh_dump and
 * vp_neigh_events_open touch a socket. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "network.h"

/* More entries than this on one bridge is not a guest network: the dump is refused. */
#define VP_NEIGH_MAX 65536u

struct vp_neigh {
	struct vp_addr ip;
	char mac[VP_MAC_STRLEN];     /* its link-layer address, lowercase */
	int ifindex;
	uint16_t state;              /* NUD_* */
};

struct vp_neighs {
	struct vp_neigh *e;
	size_t n, cap;
};

/* Whether an entry in this state is believed: the guest answered lately (reachable), or did
 * and has not been asked since (stale, delay, probe). Not failed, incomplete, noarp or
 * permanent (an entry the administrator or a driver set, not the guest). */
bool vp_neigh_state_usable(uint16_t state);

/* One buffer of rtnetlink messages, a dump's reply or events: each RTM_NEWNEIGH with a 6-byte
 * link-layer address and an address of its family (family AF_UNSPEC: either), on interface
 * ifindex (0: any), is appended to t whatever its state; other messages are passed over.
 * 1 at NLMSG_DONE, 0 when more may follow, -EBADMSG (malformed), -E2BIG (over VP_NEIGH_MAX
 * entries), -ENOMEM, or the kernel's error. t keeps what was appended before a failure. */
int vp_neigh_parse(const void *buf, size_t len, int ifindex, int family, struct vp_neighs *t);
void vp_neighs_free(struct vp_neighs *t);   /* NULL-safe; t is empty again */

/* What the table says of one MAC. */
struct vp_neigh_pick {
	struct vp_addr addr;                /* its address */
	struct vp_addr other;               /* -ENOTUNIQ: another address of that MAC */
	char other_mac[VP_MAC_STRLEN];      /* -EADDRINUSE: another MAC seen with addr */
};
/* The address of mac in t: usable entries of family only, inside a subnet of net of that
 * family (net NULL: any), never an IPv6 link-local address (nothing forwards to one). A MAC
 * with two such addresses is ambiguous (-ENOTUNIQ: a guest can answer ARP under another's MAC
 * for an address of its own), so is an address also seen for another MAC (-EADDRINUSE): the
 * forward must not follow either. 0, -ENOENT (none), -ENOTUNIQ, -EADDRINUSE; ret is filled
 * for the log in every case but -ENOENT. */
int vp_neigh_pick(const struct vp_neighs *t, const char *mac, const struct vp_network *net,
                  int family, struct vp_neigh_pick *ret);

/* The neighbour entries of family (AF_INET, AF_INET6) on interface ifindex, by one
 * RTM_GETNEIGH dump that the kernel filters by ifindex, appended to t. Each read waits at most
 * a second, the whole dump two (-ETIMEDOUT). 0 or -errno. */
int vp_neigh_dump(int ifindex, int family, struct vp_neighs *t);
/* A non-blocking rtnetlink socket that receives every change of the neighbour tables
 * (RTNLGRP_NEIGH: ARP and NDP both); read it and hand the bytes to vp_neigh_parse. fd or
 * -errno. */
int vp_neigh_events_open(void);

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A ctnetlink client of our own (no library, like nfnl.h): the conntrack entries a DNAT of ours
 * made, found in a dump of the table and deleted one by one, so that flows follow a forward that
 * was removed or moved instead of going on to the old address for as long as they send. The
 * message building, the parser and the match are pure, for the unit tests and the fuzzer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* One DNAT as its flows show in the conntrack table: ORIGINAL destination host:hport..hport_end
 * (host family 0: any local address), REPLY source guest:gport..gport_end. */
struct vp_dnat {
	int family;                  /* AF_INET / AF_INET6 */
	uint8_t proto;               /* IPPROTO_TCP / UDP / SCTP */
	struct vp_addr host;
	uint16_t hport, hport_end;
	struct vp_addr guest;
	uint16_t gport, gport_end;
};

bool vp_dnat_equal(const struct vp_dnat *a, const struct vp_dnat *b);

/* What we read of one conntrack entry. orig_tuple points into the message it was parsed from:
 * the CTA_TUPLE_ORIG attribute as the kernel sent it, the key a deletion names it by. */
struct vp_ct_entry {
	int family;
	uint8_t proto;
	struct vp_addr orig_dst, reply_src;
	uint16_t orig_dport, reply_sport;
	uint32_t status;             /* IPS_* */
	bool has_id, has_zone;
	uint32_t id;                 /* CTA_ID, network order as sent */
	uint16_t zone;               /* CTA_ZONE, network order as sent */
	const void *orig_tuple;
	size_t orig_tuple_len;
};

/* One netlink message of a dump at msg[0..len) (len >= the message's own length): 0 and *ret
 * filled, 1 for the end of the dump (NLMSG_DONE) or an acknowledgement (NLMSG_ERROR 0), the
 * kernel's -errno for an NLMSG_ERROR,
 * -EBADMSG for anything malformed or not a conntrack entry of the families we know. */
int vp_ct_parse(const void *msg, size_t len, struct vp_ct_entry *ret);

/* Whether DNAT d made entry e: destination NAT done, same family and protocol, original
 * destination port in d's host range (and address, when d has one), reply source d's guest
 * address and a port in its guest range. */
bool vp_ct_match(const struct vp_ct_entry *e, const struct vp_dnat *d);

/* Which entries a change ends. */
struct vp_ct_sel {
	/* DNATs removed or moved: the entries they made, unless a DNAT of keep (there now) would
	 * make them the same way (those flows still go where they went). */
	const struct vp_dnat *gone, *keep;
	size_t n_gone, n_keep;
	/* UDP DNATs added: the entries of flows that came to their port while no forward had it
	 * (between the removal and the addition of a forward that moves to another guest, or before
	 * a guest started) and went to the host, not NATed at all: a client that keeps sending would
	 * stay bound to the host for as long as it sends. local[0..n_local): the host's addresses,
	 * for a DNAT on any local address. TCP needs none of this: such a flow found no listener and
	 * was reset. */
	const struct vp_dnat *added;
	size_t n_added;
	const struct vp_addr *local;
	size_t n_local;
	/* vp_now_ms by which vp_ct_flush stops (-ETIMEDOUT; what was deleted stays deleted), each
	 * wait for the kernel also keeping its own bound; 0: that bound only. */
	long long deadline;
};
bool vp_ct_selected(const struct vp_ct_sel *s, const struct vp_ct_entry *e);

/* Requests into buf[0..cap): their length, or -ENOBUFS. A dump of family's table; with
 * reply_src (may be NULL) the kernel is asked to send only the entries whose reply comes from
 * that address (CTA_FILTER, Linux 5.9; older kernels refuse it or ignore it). A deletion of e by
 * its original tuple, its id and zone. */
int vp_ct_build_dump(void *buf, size_t cap, uint32_t seq, int family,
                     const struct vp_addr *reply_src);
int vp_ct_build_delete(void *buf, size_t cap, uint32_t seq, const struct vp_ct_entry *e);

/* Delete every entry of the kernel's table that s selects (vp_ct_selected; s->local is filled
 * here when added needs it). Nothing gone nor added: no I/O. Else one netlink socket, a dump per
 * family concerned (of IPv4, when only entries of gone are wanted and they share one guest
 * address, only those whose reply comes from it), a deletion per entry; an entry that ended meanwhile is not an error. 0 and
 * the number deleted in *ret_deleted (may be NULL), or -errno (what was deleted stays deleted). */
int vp_ct_flush(const struct vp_ct_sel *s, unsigned *ret_deleted);

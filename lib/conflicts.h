/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Other tools' DNATs on the host's ports, found in rule listings: a host port another program
 * already forwards is one our forward would fight over (whichever NAT rule comes first takes the
 * connection). Known owners, by where they write:
 *  - Docker: iptables nat chain DOCKER (IPv4 and IPv6); its nftables mode's tables
 *    `ip docker-bridges` and `ip6 docker-bridges` (chain nat-prerouting-and-output);
 *  - netavark (podman): iptables nat chains NETAVARK-HOSTPORT-DNAT and NETAVARK-DN-*; its
 *    nftables table `inet netavark` (NETAVARK-HOSTPORT-DNAT, nv_*_dnat);
 *  - firewalld forward-ports: iptables nat chains PRE_<zone>_allow; nftables table
 *    `inet firewalld` (or ip/ip6 firewalld of old versions), chains nat_PRE_<zone>_allow.
 * Rules of any other owner are none of these findings (doctor-shadow.c judges foreign rules
 * ahead of ours). Pure: a rule's text in, findings out; no I/O, no logging. */
#pragma once

#include <stddef.h>

#include "addr.h"
#include "config.h"

struct vp_other_dnat {
	const char *tool;           /* "Docker", "netavark", "firewalld" (static) */
	int proto;                  /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
	int family;                 /* AF_INET, AF_INET6; 0: both (an inet rule without either) */
	struct vp_addr addr;        /* the destination it matches; family 0: any */
	unsigned port, port_end;    /* host ports, end == port for one */
	char where[224];            /* "iptables-nft nat DOCKER rule 3",
	                               "nftables ip docker-bridges nat-prerouting-and-output rule 1" */
};

struct vp_other_dnats {
	struct vp_other_dnat *d;
	size_t n, cap;
};

/* Where a rule was listed: the listing ("iptables-nft", "iptables-legacy" or "nftables"), the
 * family of the listing (AF_INET, AF_INET6) or, for nftables, of the table ("ip", "ip6",
 * "inet" as 0), the table, the chain and the rule's 1-based position in it. */
struct vp_other_src {
	const char *listing;
	int family;
	const char *table, *chain;
	unsigned pos;
};

/* One rule as `iptables-save` prints it, without "-A CHAIN ": each host port or range it DNATs
 * (or REDIRECTs, firewalld's forward-port without an address) appended to out when its chain is
 * a known tool's. 0 (nothing of that kind), 1 (added), -ENOMEM. */
int vp_other_dnat_xt(struct vp_other_dnats *out, const struct vp_other_src *src, const char *spec);

/* One rule as nft lists it (one line, without its leading tabs): the same, when its table is a
 * known tool's. 0, 1, -ENOMEM. */
int vp_other_dnat_nft(struct vp_other_dnats *out, const struct vp_other_src *src, const char *rule);

/* The first of d that takes traffic for f's host side: same protocol, a family f's covers, an
 * overlapping port range, the same address or either one any (a loopback one only when f also
 * takes the host's own connections, local=yes). NULL: none. */
const struct vp_other_dnat *vp_other_dnat_conflict(const struct vp_other_dnats *d,
                                                   const struct vp_forward *f);

/* "tcp port 8080" / "tcp ports 8000-8010" and the address when it has one ("on 127.0.0.1"),
 * into out (at least 96 bytes). */
const char *vp_other_dnat_ports_str(const struct vp_other_dnat *d, char *out, size_t n);

void vp_other_dnats_free(struct vp_other_dnats *d);

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt network status XML (/run/libvirt/network/<net>.xml, a <networkstatus> wrapping a
 * <network>; a bare <network> is accepted too) -> struct vp_network. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "domain.h"

#define VP_NETWORK_XML_MAX (16u << 20)
#define VP_MAX_HOSTS       65536u
#define VP_MAX_SUBNETS     16u

enum vp_fwmode { VP_FWMODE_NAT = 0, VP_FWMODE_ROUTE, VP_FWMODE_OPEN, VP_FWMODE_NONE, VP_FWMODE_OTHER };
/* Whether s can be a network interface's name, as the kernel takes them (not empty, shorter
 * than IFNAMSIZ, not "." or "..", no '/' or ':') and in printable ASCII without blanks or
 * quotes: a bridge name goes into rules, in iptables' words and nft's. */
bool vp_ifname_valid(const char *s);
/* "nat", "route", "open", "none (isolated)", "a bridge or device mode". */
const char *vp_fwmode_name(enum vp_fwmode m);
enum vp_libvirt_fw { VP_LVFW_UNKNOWN = 0, VP_LVFW_IPTABLES, VP_LVFW_NFTABLES };

struct vp_host {                 /* <dhcp><host mac=.. name=.. ip=.. id=../> */
	char mac[18];                /* lowercase, "" when absent (IPv6 hosts use id/name) */
	char name[VP_NAME_MAX];
	char id[VP_NAME_MAX];        /* DHCPv6 DUID, "" when absent */
	struct vp_addr ip;
};

struct vp_subnet {               /* <ip address=.. netmask=..|prefix=.. [family=ipv6]> */
	struct vp_addr gateway;      /* the host's address on the bridge */
	struct vp_cidr net;          /* network, host bits cleared */
};

struct vp_network {
	char name[VP_NAME_MAX];
	char bridge[VP_NAME_MAX];
	enum vp_fwmode mode;         /* <forward mode=..>; absent <forward> = VP_FWMODE_NONE (isolated),
	                                <forward> without mode = NAT */
	enum vp_libvirt_fw fw;       /* <firewall backend=..> (libvirt >= 10.4), else UNKNOWN */
	struct vp_subnet subnets[VP_MAX_SUBNETS];
	size_t n_subnets;
	struct vp_host *hosts;       /* static DHCP reservations of every <ip> */
	size_t n_hosts;
};

/* 0, -EINVAL (not a network document / no bridge name), -E2BIG, -ENOMEM. *ret untouched on failure. */
int vp_network_parse(const char *buf, size_t len, struct vp_network *ret);
void vp_network_free(struct vp_network *n);  /* NULL-safe */
/* The subnet of this family that contains a, or the first subnet of the family if a is NULL. */
const struct vp_subnet *vp_network_subnet(const struct vp_network *n, int family,
                                          const struct vp_addr *a);

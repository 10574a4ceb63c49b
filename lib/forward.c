/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A forward in words, for messages and listings: its protocol's name, the backend `set backend`
 * names, its host side as written ("[addr]:port-end"). The grammar is config.c's. */
#include "config.h"

#include <netinet/in.h>

const char *vp_proto_name(int proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	default:
		return "?";
	}
}

const char *vp_backend_name(enum vp_backend_choice b)
{
	switch (b) {
	case VP_BACKEND_IPT_LEGACY:
		return "iptables-legacy";
	case VP_BACKEND_IPT_NFT:
		return "iptables-nft";
	case VP_BACKEND_NFT:
		return "nftables";
	default:
		return "auto";
	}
}

void vp_forward_host(struct vp_buf *out, const struct vp_forward *f, unsigned lo, unsigned hi)
{
	char a[VP_ADDR_STRLEN];
	bool v6 = f->family == AF_INET6;

	if (f->host_addr.family)
		vp_buf_printf(out, v6 ? "[%s]:" : "%s:", vp_addr_str(&f->host_addr, a));
	else if (v6)
		vp_buf_printf(out, "[::]:");
	vp_buf_printf(out, "%u", lo);
	if (hi != lo)
		vp_buf_printf(out, "-%u", hi);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inside the nftables backend: accepts of our flows in iptables-nft's filter FORWARD when that
 * chain would drop them (Docker, ufw), fw-nft-nb.c. Not an interface for anything else. */
#pragma once

#include "fw-nft.h"

/* Make the owner's accepts in iptables-nft's `filter FORWARD` (or Docker's DOCKER-USER) of each
 * family concerned (o->families, as apply takes them) exactly what rs needs there: one per
 * forward accept of rs when that chain would drop forwarded traffic, none otherwise (n == 0
 * removes them all). Nothing is read or written in a family without that chain, which is asked
 * of the kernel on q, the caller's socket. 0 or -errno, logged. */
int vp_nft_neighbours(struct vp_nfnl *q, const struct vp_ruleset *rs, const struct vp_fw_opts *o);

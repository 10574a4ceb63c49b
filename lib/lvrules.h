/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How many of libvirt's own firewall rules are in place: what tells that libvirt has put its
 * rules back after something flushed them (firewalld's reload), so that ours go above them and
 * not under. */
#pragma once

#include "fw.h"

/* libvirt's rules in backend b's tables, both families, into *ret: on iptables (either
 * variant) every rule in a LIBVIRT_ chain or jumping to one, from the save tools' listing; on
 * libvirt's nftables backend every rule in the chains of its libvirt_network tables that is
 * not ours. Read-only; a tool it runs ends by deadline (run.h). 0 or -errno. */
int vp_libvirt_rules(const struct vp_backend *b, long long deadline, unsigned *ret);

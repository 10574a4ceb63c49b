/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What `check` warns about in a valid table: lines the hook would skip without fail, or whose
 * rules would take traffic that is not theirs. Unlike the table's errors these depend on the
 * host, so the hook never asks (lint.c reads the host: libvirt's files under VIRT_PORTFWD_ROOT,
 * the host's addresses, /proc/net). Nothing here logs or prints. */
#pragma once

#include "diags.h"
#include "table.h"

/* Each warning, "file:line:col: warning: ..." (the place of the forward's host field), into w,
 * in table order, at most one of each kind per forward:
 *  - its NIC's network is known (network=, or the guest's status or persistent domain XML) and
 *    is not in NAT mode: the hook skips the forward;
 *  - its ADDR: is not an address of this host: its DNAT would take routed (transit) traffic;
 *  - a local TCP or UDP socket listens on one of its host ports (on an address the forward
 *    covers): its DNAT takes that socket's traffic.
 * What cannot be read is no warning. 0 or -ENOMEM. */
int vp_table_lint(const struct vp_table *t, struct vp_diags *w);

/* The host's listening TCP and UDP sockets (/proc/net), for the listener warning above and the
 * doctor's. 0 or -ENOMEM (a table that cannot be read is left out); vp_listeners_free() it
 * either way. */
struct vp_listener;
struct vp_listeners {
	struct vp_listener *ls;     /* sorted by protocol and port */
	size_t n, cap;
};
int vp_listeners_read(struct vp_listeners *ret);
/* Whether f's DNAT takes the traffic of one of l's sockets; if so, which one into out ("tcp
 * port 2500 at 0.0.0.0"). */
bool vp_listener_taken(const struct vp_listeners *l, const struct vp_forward *f, char *out,
                       size_t n);
void vp_listeners_free(struct vp_listeners *l);

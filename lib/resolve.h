/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which NIC a forward targets, and the guest address behind it. Pure. */
#pragma once

#include <time.h>

#include "config.h"
#include "domain.h"
#include "leases.h"
#include "network.h"

/* Where a guest's address came from. VP_SRC_NEIGHBOUR: the host's neighbour table (ARP, NDP),
 * asked by the pipeline only when none of the others gives one (neigh.h). */
enum vp_addr_source {
	VP_SRC_NONE = 0, VP_SRC_OPTION, VP_SRC_STATIC, VP_SRC_LEASE, VP_SRC_NEIGHBOUR
};

/* nic=MAC picks that NIC; else network=NAME the first NIC on that network; else the first
 * NIC of type network. NULL when none fits. */
const struct vp_nic *vp_pick_nic(const struct vp_domain *d, const struct vp_forward *f);

/* Address of `family` for the forward, in this order: ip= option; a static <host> of the
 * network (IPv4: by MAC; IPv6: by id=, a DUID holding the MAC); the unexpired lease of the NIC's
 * MAC. net and leases may be NULL. 0 with *ret and *ret_src set, -ENOENT, or -ENOTUNIQ when the
 * MAC has unexpired leases with different addresses (then *ret is the newest lease's address
 * and *ret_other, when not NULL, another one: for saying why nothing is installed). */
int vp_resolve(const struct vp_forward *f, const struct vp_domain *d, const struct vp_nic *nic,
               const struct vp_network *net, const struct vp_leases *leases, time_t now,
               struct vp_addr *ret, enum vp_addr_source *ret_src, struct vp_addr *ret_other);
const char *vp_addr_source_name(enum vp_addr_source s);

/* Whether address a, leased to nic, is held by something else of the network: a static DHCP
 * host reserving it for another MAC (IPv6: another DUID's MAC), or an unexpired lease of another
 * MAC. Then a lease of ours for it is not to be trusted (a guest claiming a neighbour's MAC in
 * DHCP), and by says whose it is ("the static host of MAC ..", "the lease of MAC .."). */
/* Whether the NIC's MAC has an unexpired lease for address a (inside the network's subnets). */
bool vp_lease_holds(const struct vp_nic *nic, const struct vp_network *net,
                    const struct vp_leases *leases, time_t now, const struct vp_addr *a);
bool vp_addr_held(const struct vp_nic *nic, const struct vp_network *net,
                  const struct vp_leases *leases, time_t now, const struct vp_addr *a, char *by,
                  size_t bysz);  /* "ip=", "static host", "lease" */

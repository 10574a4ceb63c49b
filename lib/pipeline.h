/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One guest's forwards, from the table to the rules (pipeline.c). Reads libvirt's files through
 * the network cache; no firewall I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "table.h"
#include "domain.h"
#include "inputs.h"
#include "plan.h"
#include "resolve.h"
#include "state.h"

/* Why a forward is left out of the rules. */
enum vp_skip {
	VP_SKIP_NONE = 0,      /* resolved: its rules are planned */
	VP_SKIP_NO_NIC,        /* no NIC of the guest matches its nic= / network= */
	VP_SKIP_NOT_NETWORK,   /* the NIC is not on a libvirt network (bridged: on the LAN already) */
	VP_SKIP_NET_DOWN,      /* the network's status cannot be read: not running */
	VP_SKIP_NOT_NAT,       /* the network's forward mode is not nat */
	VP_SKIP_NO_ADDRESS,    /* no address for the NIC yet (counted in pending) */
	VP_SKIP_AMBIGUOUS,     /* its MAC has leases with different addresses (addr, other) */
	VP_SKIP_OUTSIDE,       /* the address is outside the network's subnets */
	VP_SKIP_HELD,          /* its leased address is another's (held): a static host, a lease
	                          of another MAC, or ip= of another guest in the table */
};

/* What the pipeline decided for one forward of the guest, in table order. The hook uses only
 * the rules; status and the doctor show and judge these. */
struct vp_decision {
	const struct vp_forward *f;
	const struct vp_nic *nic;          /* NULL: none matched */
	struct vp_netinfo *net;            /* its network (in nets), NULL when not reached */
	struct vp_addr addr;               /* the guest's address, when found */
	struct vp_addr other;              /* VP_SKIP_AMBIGUOUS: another address of the MAC (its
	                                      leases; its neighbour entries when src says so) */
	char held[160];                    /* VP_SKIP_HELD: whose the address is (or another MAC
	                                      seen with it in the neighbour table) */
	enum vp_addr_source src;           /* ... and where it came from */
	enum vp_skip skip;
	size_t target;                     /* its index in targets; SIZE_MAX when skipped */
};

/* Zero-initialised by the caller, which may set cache and quiet first. It must not move while
 * its decisions are used (they point into its network cache). */
struct vp_pipeline {
	struct vp_netcache *cache;  /* the networks, read through this cache; NULL: nets */
	bool quiet;                 /* decide without logging (status, the doctor) */
	const struct vp_table *table;   /* set by vp_pipeline_run: the table it decides from */
	const struct vp_state_addr *installed;   /* set by the caller: what our rules send to now */
	size_t n_installed;
	struct vp_table meta;       /* the guest's metadata forwards that joined the table's */
	struct vp_netcache nets;
	struct vp_target *targets;
	size_t n_targets, cap_targets;
	struct vp_decision *dec;
	size_t n_dec, cap_dec;
	unsigned pending;           /* forwards whose guest address is not known yet */
};

/* The rules for the forwards of table t that name guest d, then those of d's metadata (less any
 * that clashes with the table: metadata.h), at time now (lease expiry), into rs
 * (owner: d's uuid). A forward that cannot be resolved is skipped with a log line (counted in
 * p->pending when only its address is missing). 0, or -errno (logged). */
int vp_pipeline_run(struct vp_pipeline *p, const struct vp_table *t, time_t now,
                    const struct vp_domain *d, struct vp_ruleset *rs);
/* The network of the first resolved forward (whose firewall tells the backend), or NULL. */
/* The guest address of each planned forward's NIC, once each (for the state), into
 * out[0..max); how many. */
size_t vp_pipeline_addrs(const struct vp_pipeline *p, struct vp_state_addr *out, size_t max);
const struct vp_network *vp_pipeline_network(const struct vp_pipeline *p);
void vp_pipeline_free(struct vp_pipeline *p);

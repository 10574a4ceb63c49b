/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The planner: forwards + resolved guest addresses -> abstract rules. Pure data, no I/O.
 * Backends render these; they never decide what to forward. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "network.h"

/* Our chains (iptables backends). Jumps to them sit at position 1 of the built-in chains. */
#define VP_CHAIN_PRE  "VIRT_PORTFWD_PRE"   /* nat PREROUTING  -> DNAT */
#define VP_CHAIN_OUT  "VIRT_PORTFWD_OUT"   /* nat OUTPUT (! -d 127.0.0.0/8) -> DNAT, host-local */
#define VP_CHAIN_POST "VIRT_PORTFWD_POST"  /* nat POSTROUTING -> hairpin / masquerade */
#define VP_CHAIN_FWD  "VIRT_PORTFWD_FWD"   /* filter FORWARD  -> DNAT-only accept */
#define VP_TAG        "virt-portfwd"       /* comment on our jumps */
#define VP_OWNER_PREFIX "virt-portfwd:"    /* comment on every rule: virt-portfwd:<uuid> */
#define VP_OWNER_MAX  64

enum vp_stage {
	VP_ST_PRE_DNAT = 0,  /* nat PREROUTING: [-s FROM] [-d HOST] [! -i BR] -p P --dport HP
	                        [addrtype LOCAL] -j DNAT GIP:GP (! -i BR: hairpin=no) */
	VP_ST_OUT_DNAT,      /* nat OUTPUT: same match but ! -i, clients on the host itself */
	VP_ST_POST_HAIRPIN,  /* nat POSTROUTING: -s NET -d GIP -p P --dport GP ctstate DNAT -j MASQUERADE
	                        (no host side: hport/host_addr are 0, so forwards sharing a guest
	                        port share this rule) */
	VP_ST_POST_MASQ,     /* nat POSTROUTING: -d GIP -o BR -p P --dport GP ctstate DNAT
	                        --ctorigdstport HP -j MASQUERADE (masquerade=yes) */
	VP_ST_FWD_ACCEPT,    /* filter FORWARD: [-s FROM] -d GIP -o BR -p P --dport GP ctstate DNAT
	                        --ctorigdstport HP -j ACCEPT */
	VP_ST_COUNT
};

struct vp_rule {
	enum vp_stage stage;
	int family;                 /* AF_INET / AF_INET6 */
	int proto;                  /* IPPROTO_TCP / UDP / SCTP */
	bool has_src;               /* from= */
	struct vp_cidr src;
	struct vp_addr host_addr;   /* family 0: any local address (addrtype LOCAL) */
	uint16_t hport, hport_end;  /* host side (original destination) */
	struct vp_addr guest;
	uint16_t gport, gport_end;  /* guest side */
	struct vp_cidr net;         /* the guest network (hairpin source) */
	char bridge[IFNAMSIZ];      /* the network's bridge (-o; ! -i with not_from_bridge) */
	bool not_from_bridge;       /* PRE_DNAT of a hairpin=no forward: not for packets that come
	                               in on the bridge, i.e. from the guests of that network */
};

struct vp_ruleset {
	char owner[VP_OWNER_MAX];   /* "virt-portfwd:<uuid>" */
	struct vp_rule *r;
	size_t n, cap;
};

/* One forward with everything resolved. */
struct vp_target {
	const struct vp_forward *f;
	struct vp_addr guest;              /* resolved guest address, family == f->family */
	const struct vp_subnet *subnet;    /* the network's subnet holding `guest` */
	const char *bridge;                /* the network's bridge */
};

/* Append the rules for targets to rs (whose owner must be set with vp_ruleset_init).
 * Order: for each target, PRE, OUT, POST_HAIRPIN, POST_MASQ, FWD_ACCEPT; one rule per from= CIDR.
 * 0, -EINVAL (family mismatch, bridge name too long), -ENOMEM. */
int vp_plan(const struct vp_target *t, size_t n, struct vp_ruleset *rs);

int vp_ruleset_init(struct vp_ruleset *rs, const char *uuid);  /* -EINVAL if uuid too long */
void vp_ruleset_free(struct vp_ruleset *rs);                     /* NULL-safe */
int vp_ruleset_add(struct vp_ruleset *rs, const struct vp_rule *r);

/* Table and chain of a stage for the iptables backends. */
const char *vp_stage_table(enum vp_stage s);  /* "nat" or "filter" */
const char *vp_stage_chain(enum vp_stage s);  /* VP_CHAIN_* */

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The firewall backend interface. A backend renders abstract rules and applies them; it never
 * decides what to forward. One backend per file, each compiled only when its library is found. */
#pragma once

#include <stdbool.h>

#include "plan.h"
#include "util.h"

#define VP_FAM_V4 1u
#define VP_FAM_V6 2u

struct vp_fw_opts {
	unsigned lock_wait_ms;     /* bounded wait for the xtables lock (legacy backend); 0 = 5000 */
	unsigned families;         /* VP_FAM_* that may hold rules of this owner besides those in
	                              the ruleset (from our state); 0 = look at both */
};

struct vp_backend {
	const char *name;          /* "iptables-legacy", "iptables-nft", "nftables" */
	/* Load the library the backend works through (dl.h): 0, or -ELIBACC when it is
	 * unavailable (logged once), and then apply fails the same way, having done nothing.
	 * NULL: the backend runs programs, it needs no library. */
	int (*load)(void);
	/* Make the rules owned by rs->owner exactly rs->r[0..n) (n == 0 removes them all):
	 * create our chains if missing, keep the jumps to them at position 1 of the built-in chains,
	 * delete our chains and jumps once no rule of any owner is left in them. Rules of other
	 * owners and foreign rules are never touched. Idempotent: when the owner's rules are
	 * already exactly these, nothing is written. All or nothing: on failure the owner is left
	 * with no rule at all (best-effort rollback) and a negative errno is returned; the reason
	 * is logged once. IPv4 rules go to the IPv4 tables, IPv6 rules to the IPv6 ones. */
	int (*apply)(const struct vp_ruleset *rs, const struct vp_fw_opts *o);
};

extern const struct vp_backend vp_backend_xt;    /* fw-xt.c: iptables-nft-restore, exec */
extern const struct vp_backend vp_backend_xt_legacy; /* fw-xt.c: iptables-legacy-restore, exec
                                                        (fallback when built without libiptc) */
#ifdef HAVE_LIBIPTC
extern const struct vp_backend vp_backend_iptc;  /* fw-iptc.c: libiptc, legacy tables */
#endif
#ifdef HAVE_LIBNFTABLES
extern const struct vp_backend vp_backend_nft;   /* fw-nft.c: libnftables, libvirt's nftables */
/* The nft commands vp_backend_nft would run to install the rules of family `family` on a host
 * with libvirt's nftables table and nothing of ours yet, one per line ("add rule ip
 * virt_portfwd prerouting ...", "insert rule ip libvirt_network forward ..."), for --dry-run. */
void vp_render_nft(const struct vp_ruleset *rs, int family, struct vp_buf *out);
#endif

/* iptables-save canonical text of one rule, without the leading "-A CHAIN " and without a
 * newline, exactly as iptables-save 1.8.9 prints it (render-xt.c). */
void vp_render_xt_rule(const struct vp_rule *r, const char *owner, struct vp_buf *out);
/* Whole rule lines "-A CHAIN ...\n" for every rule of family `family`, for --dry-run. */
void vp_render_xt(const struct vp_ruleset *rs, int family, struct vp_buf *out);

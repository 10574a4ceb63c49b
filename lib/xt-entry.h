/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kernel xtables entries (struct ipt_entry / ip6t_entry) for our rules: the half of the
 * iptables-legacy backend that does not talk to libiptc. Entries are built byte for byte as
 * iptables 1.8.9 builds them for the text render-xt.c prints (same matches in the same order,
 * same revisions and padding), so iptables-legacy-save shows exactly our rendered lines and
 * `iptables -C/-D` with that text finds our rules. Pure: no I/O, no libiptc call.
 * Only fw-iptc.c (and its tests) use this. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "plan.h"

#define VP_XENT_MAX 2048u   /* our largest entry (IPv6, sctp + conntrack) is ~1100 bytes */

struct vp_xent {
	size_t len;                /* next_offset: the whole entry is b[0..len) */
	const char *target;        /* target name as libiptc's get_target reports it */
	bool std_target;           /* a verdict or a jump, which libiptc resolves by name */
	_Alignas(max_align_t) unsigned char b[VP_XENT_MAX];   /* the entry */
};

/* Whether build can represent the rule: family, protocol, ports, addresses, bridge. */
int vp_xent_check(const struct vp_rule *r);    /* 0 or -EINVAL */
/* The entry of one rule tagged with the owner comment; *out is unspecified on failure. */
int vp_xent_rule(const struct vp_rule *r, const char *owner, struct vp_xent *out);
/* Our jump from a built-in chain to one of ours (comment VP_TAG; nat OUTPUT skips loopback). */
int vp_xent_jump(int family, const char *builtin, const char *chain, struct vp_xent *out);

/* On entries read back through libiptc (sizes are checked, not trusted): */
/* whether the entry's comment match is exactly `text`; */
bool vp_xent_has_comment(int family, const void *e, const char *text);
/* The entry's comment into out (always terminated), "" when it has none. */
void vp_xent_comment(int family, const void *e, char *out, size_t outsz);
/* whether it is the same rule as x; old_target: the name libiptc reports for its target. */
bool vp_xent_equal(int family, const void *old, const char *old_target, const struct vp_xent *x);

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The planner: what to forward, as abstract rules. Pure: no I/O, no backend knowledge. */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int vp_ruleset_init(struct vp_ruleset *rs, const char *uuid)
{
	*rs = (struct vp_ruleset){0};
	int n = snprintf(rs->owner, sizeof(rs->owner), VP_OWNER_PREFIX "%s", uuid);
	return n < 0 || (size_t)n >= sizeof(rs->owner) ? -EINVAL : 0;
}

void vp_ruleset_free(struct vp_ruleset *rs)
{
	if (!rs)
		return;
	free(rs->r);
	rs->r = NULL;
	rs->n = rs->cap = 0;
}

int vp_ruleset_add(struct vp_ruleset *rs, const struct vp_rule *r)
{
	if (vp_grow(&rs->r, &rs->cap, rs->n + 1, sizeof(*rs->r)) < 0)
		return -ENOMEM;
	rs->r[rs->n++] = *r;
	return 0;
}

const char *vp_stage_table(enum vp_stage s)
{
	return s == VP_ST_FWD_ACCEPT ? "filter" : "nat";
}

const char *vp_stage_chain(enum vp_stage s)
{
	switch (s) {
	case VP_ST_PRE_DNAT: return VP_CHAIN_PRE;
	case VP_ST_OUT_DNAT: return VP_CHAIN_OUT;
	case VP_ST_POST_HAIRPIN:
	case VP_ST_POST_MASQ: return VP_CHAIN_POST;
	case VP_ST_FWD_ACCEPT: return VP_CHAIN_FWD;
	case VP_ST_COUNT: break;
	}
	return NULL;
}

/* Whether a forward wants a rule of this stage at all. The stages are the same for both
 * families. In particular IPv6 gets the hairpin masquerade whether libvirt masquerades the
 * network's IPv6 (<nat ipv6='yes'/>, NAT66) or routes it (a NAT network without it): either way
 * the guest would answer a neighbour on its own bridge directly, from an address that neighbour
 * never spoke to, unless the DNAT'd connection also comes from the host (tests/netns/cases/
 * ipv6-routed.sh). hairpin=no needs no masquerade: its DNAT skips the bridge (see
 * excludes_bridge). */
static bool stage_wanted(const struct vp_forward *f, enum vp_stage s)
{
	switch (s) {
	case VP_ST_OUT_DNAT: return f->local;
	case VP_ST_POST_HAIRPIN: return f->hairpin;
	case VP_ST_POST_MASQ: return f->masquerade;
	case VP_ST_PRE_DNAT:
	case VP_ST_FWD_ACCEPT: return true;
	case VP_ST_COUNT: break;
	}
	return false;
}

/* hairpin=no: no guest of the forward's network reaches it through the host's address. Only
 * dropping the hairpin masquerade is not that: the DNAT would still send a neighbour's SYN or
 * datagram to the guest, which receives it and answers the neighbour directly, and a UDP
 * client that does not check the answer's source gets through. So the PREROUTING DNAT skips
 * packets coming in on the bridge; they reach the host itself, as without the forward. Clients
 * on the host keep the OUTPUT DNAT (local=), guests of other networks are routed clients like
 * any other; from= is what limits who gets in. */
static bool excludes_bridge(const struct vp_forward *f, enum vp_stage s)
{
	return s == VP_ST_PRE_DNAT && !f->hairpin;
}

/* Source restriction applies to the stages that see the outside client's address. The hairpin
 * rule matches the guest network as source instead. */
static bool stage_uses_from(enum vp_stage s)
{
	return s != VP_ST_POST_HAIRPIN;
}

static bool rule_equal(const struct vp_rule *a, const struct vp_rule *b)
{
	return a->stage == b->stage && a->family == b->family && a->proto == b->proto &&
	       a->has_src == b->has_src && (!a->has_src || (a->src.prefix == b->src.prefix &&
	                                                    vp_addr_equal(&a->src.addr, &b->src.addr))) &&
	       vp_addr_equal(&a->host_addr, &b->host_addr) && a->hport == b->hport &&
	       a->hport_end == b->hport_end && vp_addr_equal(&a->guest, &b->guest) &&
	       a->gport == b->gport && a->gport_end == b->gport_end &&
	       a->net.prefix == b->net.prefix && vp_addr_equal(&a->net.addr, &b->net.addr) &&
	       !strcmp(a->bridge, b->bridge) && a->not_from_bridge == b->not_from_bridge;
}

/* Two forwards to the same guest port (2222->22 and 2223->22 from=...) need one hairpin rule. */
static bool already_planned(const struct vp_ruleset *rs, const struct vp_rule *r)
{
	if (r->stage != VP_ST_POST_HAIRPIN)
		return false;
	for (size_t i = 0; i < rs->n; i++)
		if (rule_equal(&rs->r[i], r))
			return true;
	return false;
}

static int plan_stage(const struct vp_target *t, const struct vp_rule *base, enum vp_stage s,
                      struct vp_ruleset *rs)
{
	const struct vp_forward *f = t->f;
	struct vp_rule r = *base;
	int ret;

	r.stage = s;
	r.not_from_bridge = excludes_bridge(f, s);
	if (s == VP_ST_POST_HAIRPIN) {
		/* Matches the guest side only: what the client asked for does not matter here. */
		r.hport = r.hport_end = 0;
		r.host_addr = (struct vp_addr){0};
	}
	if (!stage_uses_from(s) || f->n_from == 0)
		return already_planned(rs, &r) ? 0 : vp_ruleset_add(rs, &r);
	for (size_t i = 0; i < f->n_from; i++) {
		r.has_src = true;
		r.src = f->from[i];
		ret = vp_ruleset_add(rs, &r);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int plan_one(const struct vp_target *t, struct vp_ruleset *rs)
{
	const struct vp_forward *f = t->f;
	struct vp_rule base = {
		.family = f->family,
		.proto = f->proto,
		.host_addr = f->host_addr,
		.hport = f->host_port,
		.hport_end = f->host_port_end,
		.guest = t->guest,
		.gport = f->guest_port,
		.gport_end = f->guest_port_end,
	};
	size_t bl;
	int r;

	if (t->guest.family != f->family || (f->host_addr.family && f->host_addr.family != f->family))
		return -EINVAL;
	if (!t->bridge || !t->subnet || t->subnet->net.addr.family != f->family)
		return -EINVAL;
	bl = strlen(t->bridge);
	if (!vp_ifname_valid(t->bridge) || bl >= sizeof(base.bridge))
		return -EINVAL;
	memcpy(base.bridge, t->bridge, bl + 1);
	base.net = t->subnet->net;

	for (enum vp_stage s = 0; s < VP_ST_COUNT; s++) {
		if (!stage_wanted(f, s))
			continue;
		r = plan_stage(t, &base, s, rs);
		if (r < 0)
			return r;
	}
	return 0;
}

int vp_plan(const struct vp_target *t, size_t n, struct vp_ruleset *rs)
{
	for (size_t i = 0; i < n; i++) {
		int r = plan_one(&t[i], rs);
		if (r < 0)
			return r;
	}
	return 0;
}

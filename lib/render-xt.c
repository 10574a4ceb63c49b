/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Abstract rules -> iptables-save text, in the exact canonical form iptables-save 1.8.9 prints,
 * so that rules read back from the kernel compare equal to rules we would write. */
#include "render-xt.h"

#include <netinet/in.h>
#include <string.h>

#include "config.h"

static void put_ports(struct vp_buf *b, const char *opt, uint16_t lo, uint16_t hi)
{
	if (lo == hi)
		vp_buf_printf(b, " %s %u", opt, lo);
	else
		vp_buf_printf(b, " %s %u:%u", opt, lo, hi);
}

static void put_host(struct vp_buf *b, const char *opt, const struct vp_addr *a)
{
	char s[VP_ADDR_STRLEN];
	vp_buf_printf(b, " %s %s/%u", opt, vp_addr_str(a, s), a->family == AF_INET ? 32 : 128);
}

static void put_cidr(struct vp_buf *b, const char *opt, const struct vp_cidr *c)
{
	char s[VP_CIDR_STRLEN];
	vp_buf_printf(b, " %s %s", opt, vp_cidr_str(c, s));
}

/* DNAT --to-destination: IPv6 addresses are bracketed; a range carries its base port. */
static void put_dnat(struct vp_buf *b, const struct vp_rule *r)
{
	char s[VP_ADDR_STRLEN];
	bool v6 = r->family == AF_INET6;

	vp_buf_printf(b, " -j DNAT --to-destination %s%s%s:%u", v6 ? "[" : "",
	              vp_addr_str(&r->guest, s), v6 ? "]" : "", r->gport);
	if (r->gport_end != r->gport)
		vp_buf_printf(b, "-%u/%u", r->gport_end, r->hport);
}

static void put_match_src_dst(struct vp_buf *b, const struct vp_rule *r)
{
	switch (r->stage) {
	case VP_ST_PRE_DNAT:
	case VP_ST_OUT_DNAT:
		if (r->has_src)
			put_cidr(b, "-s", &r->src);
		if (r->host_addr.family)
			put_host(b, "-d", &r->host_addr);
		if (r->not_from_bridge)
			vp_buf_printf(b, " ! -i %s", r->bridge);
		break;
	case VP_ST_POST_HAIRPIN:
		put_cidr(b, "-s", &r->net);
		put_host(b, "-d", &r->guest);
		break;
	case VP_ST_POST_MASQ:
	case VP_ST_FWD_ACCEPT:
		if (r->has_src)
			put_cidr(b, "-s", &r->src);
		put_host(b, "-d", &r->guest);
		vp_buf_printf(b, " -o %s", r->bridge);
		break;
	case VP_ST_COUNT:
		break;
	}
}

void vp_render_xt_rule(const struct vp_rule *r, const char *owner, struct vp_buf *b)
{
	const char *p = vp_proto_name(r->proto);
	bool dnat = r->stage == VP_ST_PRE_DNAT || r->stage == VP_ST_OUT_DNAT;
	size_t start = b->len;

	put_match_src_dst(b, r);
	vp_buf_printf(b, " -p %s -m %s", p, p);
	if (dnat)
		put_ports(b, "--dport", r->hport, r->hport_end);
	else
		put_ports(b, "--dport", r->gport, r->gport_end);
	if (dnat && !r->host_addr.family)
		vp_buf_printf(b, " -m addrtype --dst-type LOCAL");
	if (!dnat) {
		vp_buf_printf(b, " -m conntrack --ctstate DNAT");
		if (r->stage != VP_ST_POST_HAIRPIN)
			put_ports(b, "--ctorigdstport", r->hport, r->hport_end);
	}
	vp_buf_printf(b, " -m comment --comment \"%s\"", owner);
	if (dnat)
		put_dnat(b, r);
	else if (r->stage == VP_ST_FWD_ACCEPT)
		vp_buf_printf(b, " -j ACCEPT");
	else
		vp_buf_printf(b, " -j MASQUERADE");
	/* Every piece above starts with a space; iptables-save has none before the first. */
	if (b->s && b->len > start && b->s[start] == ' ') {
		memmove(b->s + start, b->s + start + 1, b->len - start);
		b->len--;
	}
}

void vp_render_xt(const struct vp_ruleset *rs, int family, struct vp_buf *out)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct vp_buf line = {0};
		if (rs->r[i].family != family)
			continue;
		vp_render_xt_rule(&rs->r[i], rs->owner, &line);
		vp_buf_printf(out, "-A %s %s\n", vp_stage_chain(rs->r[i].stage), line.s ? line.s : "");
		vp_buf_free(&line);
	}
}

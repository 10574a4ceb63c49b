/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kernel xtables entries for our rules, built and compared (see xt-entry.h). The layouts were
 * checked against the entries iptables 1.8.9 itself writes for the same text: the backend test
 * runs `iptables-legacy -C` on every rendered rule after our apply. */
#include "xt-entry.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_sctp.h>
#include <linux/netfilter/xt_tcpudp.h>

struct hdr_spec {
	const struct vp_addr *src, *dst;   /* NULL: any */
	unsigned src_len, dst_len;         /* prefix lengths */
	bool inv_dst;                      /* ! -d */
	const char *not_inif;              /* ! -i, NULL: any */
	const char *outif;                 /* -o, NULL: any */
	uint16_t proto;
};


/* What differs between struct ipt_entry and struct ip6t_entry. */
struct layout {
	int af;
	size_t hdr_size;                   /* sizeof the entry header: matches start here */
	size_t ip_size;                    /* leading header bytes describing the packet */
	size_t to_off, no_off;             /* offsetof target_offset / next_offset */
	void (*hdr)(void *e, const struct hdr_spec *s);
};

/* Prefix length -> netmask bytes; the address is masked like iptables does ("-s 10.0.0.1/8"
 * is stored as 10.0.0.0/255.0.0.0). */
static void put_masked(unsigned char *addr, unsigned char *mask, const struct vp_addr *a,
                       size_t n, unsigned len)
{
	const unsigned char *src = a->family == AF_INET ? (const void *)&a->v4
	                                                : (const void *)&a->v6;

	for (size_t i = 0; i < n; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;
		mask[i] = bits >= 8 ? 0xff : (unsigned char)(0xff00u >> bits);
		addr[i] = src[i] & mask[i];
	}
}

static void put_iface(char *name, unsigned char *mask, const char *ifname)
{
	size_t l = strlen(ifname);

	memcpy(name, ifname, l + 1);
	memset(mask, 0xff, l + 1);     /* exact name, NUL included: no wildcard */
}

static void v4_hdr(void *ep, const struct hdr_spec *s)
{
	struct ipt_entry *e = ep;

	if (s->src)
		put_masked((void *)&e->ip.src, (void *)&e->ip.smsk, s->src, 4, s->src_len);
	if (s->dst)
		put_masked((void *)&e->ip.dst, (void *)&e->ip.dmsk, s->dst, 4, s->dst_len);
	if (s->inv_dst)
		e->ip.invflags |= IPT_INV_DSTIP;
	if (s->not_inif) {
		put_iface(e->ip.iniface, e->ip.iniface_mask, s->not_inif);
		e->ip.invflags |= IPT_INV_VIA_IN;
	}
	if (s->outif)
		put_iface(e->ip.outiface, e->ip.outiface_mask, s->outif);
	e->ip.proto = s->proto;
}

static void v6_hdr(void *ep, const struct hdr_spec *s)
{
	struct ip6t_entry *e = ep;

	if (s->src)
		put_masked((void *)&e->ipv6.src, (void *)&e->ipv6.smsk, s->src, 16, s->src_len);
	if (s->dst)
		put_masked((void *)&e->ipv6.dst, (void *)&e->ipv6.dmsk, s->dst, 16, s->dst_len);
	if (s->inv_dst)
		e->ipv6.invflags |= IP6T_INV_DSTIP;
	if (s->not_inif) {
		put_iface(e->ipv6.iniface, e->ipv6.iniface_mask, s->not_inif);
		e->ipv6.invflags |= IP6T_INV_VIA_IN;
	}
	if (s->outif)
		put_iface(e->ipv6.outiface, e->ipv6.outiface_mask, s->outif);
	e->ipv6.proto = s->proto;
	if (s->proto)
		e->ipv6.flags |= IP6T_F_PROTO;  /* the kernel reads proto only with this flag */
}

static const struct layout layouts[] = {
	{.af = AF_INET, .hdr_size = sizeof(struct ipt_entry), .ip_size = sizeof(struct ipt_ip),
	 .to_off = offsetof(struct ipt_entry, target_offset),
	 .no_off = offsetof(struct ipt_entry, next_offset), .hdr = v4_hdr},
	/* ip6t_ip6 ends in padding that other writers need not zero: compare up to invflags. */
	{.af = AF_INET6, .hdr_size = sizeof(struct ip6t_entry),
	 .ip_size = offsetof(struct ip6t_ip6, invflags) + 1,
	 .to_off = offsetof(struct ip6t_entry, target_offset),
	 .no_off = offsetof(struct ip6t_entry, next_offset), .hdr = v6_hdr},
};

static const struct layout *layout(int family)
{
	return &layouts[family == AF_INET6];
}

static uint16_t get16(const void *base, size_t off)
{
	uint16_t v;
	memcpy(&v, (const unsigned char *)base + off, sizeof(v));
	return v;
}

static void set16(void *base, size_t off, uint16_t v)
{
	memcpy((unsigned char *)base + off, &v, sizeof(v));
}

static void xent_init(const struct layout *f, struct vp_xent *x, const struct hdr_spec *s)
{
	memset(x, 0, sizeof(*x));
	f->hdr(x->b, s);
	x->len = f->hdr_size;
}

/* Append a match; returns its zeroed data area (XT_ALIGNed, so any struct fits). */
static void *add_match(struct vp_xent *x, const char *name, uint8_t rev, size_t datalen)
{
	size_t sz = XT_ALIGN(sizeof(struct xt_entry_match) + datalen);
	struct xt_entry_match *m;

	if (x->len + sz > sizeof(x->b))
		return NULL;
	m = (void *)(x->b + x->len);   /* b is XT_ALIGN-aligned, offsets too */
	m->u.user.match_size = (uint16_t)sz;
	snprintf(m->u.user.name, sizeof(m->u.user.name), "%s", name);
	m->u.user.revision = rev;
	x->len += sz;
	return m->data;
}

static void *add_target(const struct layout *f, struct vp_xent *x, const char *name,
                        uint8_t rev, size_t datalen)
{
	size_t sz = XT_ALIGN(sizeof(struct xt_entry_target) + datalen);
	struct xt_entry_target *t;

	if (x->len + sz > sizeof(x->b))
		return NULL;
	t = (void *)(x->b + x->len);
	t->u.user.target_size = (uint16_t)sz;
	snprintf(t->u.user.name, sizeof(t->u.user.name), "%s", name);
	t->u.user.revision = rev;
	set16(x->b, f->to_off, (uint16_t)x->len);
	x->len += sz;
	set16(x->b, f->no_off, (uint16_t)x->len);
	x->target = name;
	return t->data;
}

/* A verdict or a jump, passed to libiptc by name: it resolves it to the kernel's form. */
static int add_std_target(const struct layout *f, struct vp_xent *x, const char *name)
{
	if (!add_target(f, x, name, 0, sizeof(int)))
		return -ENOSPC;
	x->std_target = true;
	return 0;
}

static int add_comment(struct vp_xent *x, const char *text)
{
	struct xt_comment_info *c = add_match(x, "comment", 0, sizeof(*c));
	size_t l = strlen(text);

	if (!c || l >= sizeof(c->comment))
		return -ENOSPC;
	memcpy(c->comment, text, l);
	return 0;
}

/* -p P -m P --dport LO[:HI]: tcp/udp rev 0 or sctp, ports in host order. */
static int add_proto(struct vp_xent *x, int proto, uint16_t lo, uint16_t hi)
{
	if (proto == IPPROTO_SCTP) {
		struct xt_sctp_info *s = add_match(x, "sctp", 0, sizeof(*s));
		if (!s)
			return -ENOSPC;
		s->dpts[0] = lo;
		s->dpts[1] = hi;
		for (size_t i = 0; i < XT_NUM_SCTP_FLAGS; i++)
			s->flag_info[i].chunktype = 0xff;   /* "no flag match", as iptables has it */
		s->flags = XT_SCTP_DEST_PORTS;
		return 0;
	}
	if (proto == IPPROTO_TCP) {
		struct xt_tcp *t = add_match(x, "tcp", 0, sizeof(*t));
		if (!t)
			return -ENOSPC;
		t->spts[1] = 0xffff;
		t->dpts[0] = lo;
		t->dpts[1] = hi;
		return 0;
	}
	struct xt_udp *u = add_match(x, "udp", 0, sizeof(*u));
	if (!u)
		return -ENOSPC;
	u->spts[1] = 0xffff;
	u->dpts[0] = lo;
	u->dpts[1] = hi;
	return 0;
}

/* -m addrtype --dst-type LOCAL: revision 1, the one iptables 1.8.9 picks. */
static int add_addrtype_local(struct vp_xent *x)
{
	struct xt_addrtype_info_v1 *a = add_match(x, "addrtype", 1, sizeof(*a));

	if (!a)
		return -ENOSPC;
	a->dest = XT_ADDRTYPE_LOCAL;
	return 0;
}

/* -m conntrack --ctstate DNAT [--ctorigdstport LO[:HI]]: revision 3, the only one with a port
 * range; its ports are in host order (revisions 1-2: network order, no range). */
static int add_conntrack(struct vp_xent *x, bool origdst, uint16_t lo, uint16_t hi)
{
	struct xt_conntrack_mtinfo3 *c = add_match(x, "conntrack", 3, sizeof(*c));

	if (!c)
		return -ENOSPC;
	c->match_flags = XT_CONNTRACK_STATE;
	c->state_mask = XT_CONNTRACK_STATE_DNAT;
	if (origdst) {
		c->match_flags |= XT_CONNTRACK_ORIGDST_PORT;
		c->origdst_port = lo;
		c->origdst_port_high = hi;
	}
	return 0;
}

/* -j DNAT --to-destination GIP:LO[-HI/BASE]: revision 2 (struct nf_nat_range2), as iptables
 * 1.8.9 writes it. Only revision 2 has base_proto: revision 0's nf_nat_ipv4_range cannot map
 * a host port range one to one onto a guest range. Ports in network order. */
static int add_dnat(const struct layout *f, struct vp_xent *x, const struct vp_rule *r)
{
	struct nf_nat_range2 *n = add_target(f, x, "DNAT", 2, sizeof(*n));

	if (!n)
		return -ENOSPC;
	n->flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
	if (f->af == AF_INET)
		n->min_addr.in = n->max_addr.in = r->guest.v4;
	else
		n->min_addr.in6 = n->max_addr.in6 = r->guest.v6;
	n->min_proto.all = htons(r->gport);
	n->max_proto.all = htons(r->gport_end);
	if (r->gport_end != r->gport) {
		n->flags |= NF_NAT_RANGE_PROTO_OFFSET;
		n->base_proto.all = htons(r->hport);
	}
	return 0;
}

/* -j MASQUERADE, revision 0: IPv4 takes the old multi-range struct, IPv6 nf_nat_range. */
static int add_masquerade(const struct layout *f, struct vp_xent *x)
{
	if (f->af == AF_INET) {
		struct nf_nat_ipv4_multi_range_compat *m;
		m = add_target(f, x, "MASQUERADE", 0, sizeof(*m));
		if (!m)
			return -ENOSPC;
		m->rangesize = 1;
		return 0;
	}
	return add_target(f, x, "MASQUERADE", 0, sizeof(struct nf_nat_range)) ? 0 : -ENOSPC;
}

static bool proto_ok(int p)
{
	return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_SCTP;
}

/* Everything vp_xent_rule relies on; the backend checks it before any table is touched. */
int vp_xent_check(const struct vp_rule *r)
{
	bool dnat = r->stage == VP_ST_PRE_DNAT || r->stage == VP_ST_OUT_DNAT;
	size_t bl = strnlen(r->bridge, sizeof(r->bridge));

	if ((r->family != AF_INET && r->family != AF_INET6) || !proto_ok(r->proto) ||
	    r->stage < 0 || r->stage >= VP_ST_COUNT || r->guest.family != r->family ||
	    r->hport > r->hport_end || r->gport > r->gport_end ||
	    (r->stage != VP_ST_POST_HAIRPIN && r->gport_end - r->gport != r->hport_end - r->hport))
		return -EINVAL;
	if (r->has_src && r->src.addr.family != r->family)
		return -EINVAL;
	if (dnat && r->host_addr.family && r->host_addr.family != r->family)
		return -EINVAL;
	if (r->stage == VP_ST_POST_HAIRPIN && r->net.addr.family != r->family)
		return -EINVAL;
	if ((r->stage == VP_ST_POST_MASQ || r->stage == VP_ST_FWD_ACCEPT || r->not_from_bridge) &&
	    (bl == 0 || bl >= sizeof(r->bridge)))
		return -EINVAL;
	if (r->not_from_bridge && r->stage != VP_ST_PRE_DNAT)
		return -EINVAL;   /* no input interface in OUTPUT and POSTROUTING */
	return 0;
}

/* Addresses and interface of a rule, exactly those render-xt.c prints. */
static void rule_hdr(const struct vp_rule *r, struct hdr_spec *s)
{
	unsigned full = r->family == AF_INET ? 32 : 128;

	*s = (struct hdr_spec){.proto = (uint16_t)r->proto};
	if (r->has_src && r->stage != VP_ST_POST_HAIRPIN) {
		s->src = &r->src.addr;
		s->src_len = r->src.prefix;
	}
	switch (r->stage) {
	case VP_ST_PRE_DNAT:
	case VP_ST_OUT_DNAT:
		if (r->host_addr.family) {
			s->dst = &r->host_addr;
			s->dst_len = full;
		}
		if (r->not_from_bridge)
			s->not_inif = r->bridge;
		break;
	case VP_ST_POST_HAIRPIN:
		s->src = &r->net.addr;
		s->src_len = r->net.prefix;
		__attribute__((fallthrough));
	case VP_ST_POST_MASQ:
	case VP_ST_FWD_ACCEPT:
		s->dst = &r->guest;
		s->dst_len = full;
		if (r->stage != VP_ST_POST_HAIRPIN)
			s->outif = r->bridge;
		break;
	case VP_ST_COUNT:
		break;
	}
}

/* One rule -> one entry; matches in the order iptables-save prints them. */
int vp_xent_rule(const struct vp_rule *r, const char *owner, struct vp_xent *x)
{
	const struct layout *f = layout(r->family);
	bool dnat = r->stage == VP_ST_PRE_DNAT || r->stage == VP_ST_OUT_DNAT;
	struct hdr_spec s;
	int ret;

	rule_hdr(r, &s);
	xent_init(f, x, &s);
	ret = dnat ? add_proto(x, r->proto, r->hport, r->hport_end)
	           : add_proto(x, r->proto, r->gport, r->gport_end);
	if (ret == 0 && dnat && !r->host_addr.family)
		ret = add_addrtype_local(x);
	if (ret == 0 && !dnat)
		ret = add_conntrack(x, r->stage != VP_ST_POST_HAIRPIN, r->hport, r->hport_end);
	if (ret == 0)
		ret = add_comment(x, owner);
	if (ret < 0)
		return ret;
	if (dnat)
		return add_dnat(f, x, r);
	if (r->stage == VP_ST_FWD_ACCEPT)
		return add_std_target(f, x, "ACCEPT");
	return add_masquerade(f, x);
}

/* The jump from a built-in chain to ours. nat OUTPUT skips loopback destinations: DNAT of
 * 127.0.0.1 would need route_localnet and is never what a forward means. */
int vp_xent_jump(int family, const char *builtin, const char *chain, struct vp_xent *x)
{
	const struct layout *f = layout(family);
	struct vp_addr lo4 = {.family = AF_INET}, lo6 = {.family = AF_INET6};
	struct hdr_spec s = {0};
	int ret;

	lo4.v4.s_addr = htonl(INADDR_LOOPBACK & IN_CLASSA_NET);
	lo6.v6 = in6addr_loopback;
	if (!strcmp(builtin, "OUTPUT")) {
		s.dst = f->af == AF_INET ? &lo4 : &lo6;
		s.dst_len = f->af == AF_INET ? 8 : 128;
		s.inv_dst = true;
	}
	xent_init(f, x, &s);
	ret = add_comment(x, VP_TAG);
	return ret < 0 ? ret : add_std_target(f, x, chain);
}

/* ---- reading what is there ------------------------------------------------------------------ */

/* The match named `name` of an entry (read from the kernel: sizes are checked, not trusted). */
static const struct xt_entry_match *find_match(const struct layout *f, const void *e,
                                               const char *name, size_t datalen)
{
	size_t to = get16(e, f->to_off);

	for (size_t off = f->hdr_size; off + sizeof(struct xt_entry_match) <= to;) {
		const struct xt_entry_match *m = (const void *)((const unsigned char *)e + off);
		size_t sz = m->u.match_size;
		if (sz < sizeof(*m) || off + sz > to)
			return NULL;
		if (!strncmp(m->u.user.name, name, sizeof(m->u.user.name)) &&
		    sz - sizeof(*m) >= datalen)
			return m;
		off += sz;
	}
	return NULL;
}

/* Whether the entry's comment is exactly `text` (owner tags and our jumps are told apart by it). */
bool vp_xent_has_comment(int family, const void *e, const char *text)
{
	const struct layout *f = layout(family);
	const struct xt_entry_match *m = find_match(f, e, "comment",
	                                            sizeof(struct xt_comment_info));
	const struct xt_comment_info *c;
	size_t l = strlen(text);

	if (!m)
		return false;
	c = (const void *)m->data;
	return l < sizeof(c->comment) && !memcmp(c->comment, text, l) && c->comment[l] == '\0';
}

void vp_xent_comment(int family, const void *e, char *out, size_t outsz)
{
	const struct xt_entry_match *m = find_match(layout(family), e, "comment",
	                                            sizeof(struct xt_comment_info));
	const struct xt_comment_info *c = m ? (const void *)m->data : NULL;

	snprintf(out, outsz, "%.*s", c ? (int)sizeof(c->comment) : 0, c ? c->comment : "");
}

/* What "the same rule" means: the packet fields of the header (addresses, masks, interfaces,
 * protocol, flags), the same matches in the same order with the same revision and data, and
 * the same target. Counters, comefrom and nfcache are the kernel's bookkeeping, not the rule.
 * Match and target headers are compared field by field: the kernel fills the bytes after a
 * name's NUL as it likes. A verdict or jump is compared by the name libiptc resolves. */
bool vp_xent_equal(int family, const void *old, const char *old_target, const struct vp_xent *x)
{
	const struct layout *f = layout(family);
	const unsigned char *o = old, *n = x->b;
	size_t to = get16(o, f->to_off), no = get16(o, f->no_off);
	const struct xt_entry_target *ot, *nt;

	if (to != get16(n, f->to_off) || no != x->len || memcmp(o, n, f->ip_size))
		return false;
	for (size_t off = f->hdr_size; off < to;) {
		const struct xt_entry_match *om = (const void *)(o + off);
		const struct xt_entry_match *nm = (const void *)(n + off);
		size_t sz = nm->u.match_size;
		if (om->u.match_size != sz || om->u.user.revision != nm->u.user.revision ||
		    strncmp(om->u.user.name, nm->u.user.name, sizeof(om->u.user.name)) ||
		    memcmp(om->data, nm->data, sz - sizeof(*nm)))
			return false;
		off += sz;
	}
	if (strcmp(old_target, x->target))
		return false;
	if (x->std_target)
		return true;
	ot = (const void *)(o + to);
	nt = (const void *)(n + to);
	return ot->u.target_size == nt->u.target_size &&
	       ot->u.user.revision == nt->u.user.revision &&
	       !memcmp(ot->data, nt->data, nt->u.target_size - sizeof(*nt));
}


/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Flows follow the forward, without root: the ctnetlink parser on messages as the kernel sends
 * them, the match that picks a DNAT's entries and leaves every other flow alone, the requests we
 * send, and the list of installed DNATs kept with the state. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

#include "conntrack.h"
#include "ct-follow.h"
#include "tap.h"

/* ---- a kernel-style entry ------------------------------------------------------------------ */

struct msg {
	char b[512];
	size_t len;
};

static size_t put(struct msg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type};
	size_t at = m->len;

	memset(m->b + at, 0, NLA_ALIGN(a.nla_len));
	memcpy(m->b + at, &a, sizeof(a));
	if (len)
		memcpy(m->b + at + NLA_HDRLEN, data, len);
	m->len += NLA_ALIGN(a.nla_len);
	return at;
}

static void end(struct msg *m, size_t at)
{
	uint16_t len = (uint16_t)(m->len - at);
	memcpy(m->b + at, &len, sizeof(len));
}

struct flow {
	int family;
	uint8_t proto;
	const char *src, *dst, *rsrc, *rdst;
	uint16_t sport, dport, rsport, rdport;
	uint32_t status;
};

static void tuple(struct msg *m, uint16_t type, const struct flow *f, const char *src,
                  const char *dst, uint16_t sport, uint16_t dport)
{
	struct vp_addr s, d;
	bool v6 = f->family == AF_INET6;
	uint16_t bs = htons(sport), bd = htons(dport);
	size_t t = put(m, type | NLA_F_NESTED, NULL, 0), ip = put(m, CTA_TUPLE_IP | NLA_F_NESTED,
	                                                           NULL, 0);

	vp_addr_parse(src, strlen(src), &s);
	vp_addr_parse(dst, strlen(dst), &d);
	put(m, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, &s.v6, v6 ? 16 : 4);
	put(m, v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, &d.v6, v6 ? 16 : 4);
	end(m, ip);
	size_t p = put(m, CTA_TUPLE_PROTO | NLA_F_NESTED, NULL, 0);
	put(m, CTA_PROTO_NUM, &f->proto, 1);
	put(m, CTA_PROTO_SRC_PORT, &bs, 2);
	put(m, CTA_PROTO_DST_PORT, &bd, 2);
	end(m, p);
	end(m, t);
}

static void entry_msg(struct msg *m, const struct flow *f)
{
	struct nlmsghdr h = {.nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW,
	                     .nlmsg_flags = NLM_F_MULTI};
	struct nfgenmsg g = {.nfgen_family = (uint8_t)f->family};
	uint32_t status = htonl(f->status), id = htonl(0x1234), len;
	uint16_t zone = 0;

	memset(m, 0, sizeof(*m));
	m->len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(g));
	memcpy(m->b, &h, sizeof(h));
	memcpy(m->b + NLMSG_HDRLEN, &g, sizeof(g));
	tuple(m, CTA_TUPLE_ORIG, f, f->src, f->dst, f->sport, f->dport);
	tuple(m, CTA_TUPLE_REPLY, f, f->rsrc, f->rdst, f->rsport, f->rdport);
	put(m, CTA_STATUS, &status, 4);
	put(m, CTA_ID, &id, 4);
	put(m, CTA_ZONE, &zone, 2);
	len = (uint32_t)m->len;
	memcpy(m->b, &len, sizeof(len));
}

/* A client 198.51.100.2:40000 to the host's 198.51.100.1:2222, DNAT'd to guest1's :22. */
static const struct flow dnatted = {AF_INET, IPPROTO_TCP, "198.51.100.2", "198.51.100.1",
	"192.168.122.10", "198.51.100.2", 40000, 2222, 22, 40000,
	IPS_DST_NAT | IPS_DST_NAT_DONE | IPS_CONFIRMED};

static struct vp_dnat dnat(int proto, const char *host, uint16_t hp, uint16_t hpe,
                           const char *guest, uint16_t gp, uint16_t gpe)
{
	struct vp_dnat d = {.proto = (uint8_t)proto, .hport = hp, .hport_end = hpe, .gport = gp,
	                    .gport_end = gpe};
	vp_addr_parse(guest, strlen(guest), &d.guest);
	if (host)
		vp_addr_parse(host, strlen(host), &d.host);
	d.family = d.guest.family;
	return d;
}

static bool matches(const struct flow *f, const struct vp_dnat *d)
{
	struct msg m;
	struct vp_ct_entry e;

	entry_msg(&m, f);
	return vp_ct_parse(m.b, m.len, &e) == 0 && vp_ct_match(&e, d);
}

static void test_parse(void)
{
	struct msg m;
	struct vp_ct_entry e;
	char a[VP_ADDR_STRLEN], b[VP_ADDR_STRLEN];

	entry_msg(&m, &dnatted);
	tap_ok(vp_ct_parse(m.b, m.len, &e) == 0, "parse: a DNAT'd TCP entry");
	tap_ok(e.family == AF_INET && e.proto == IPPROTO_TCP && e.orig_dport == 2222 &&
	       e.reply_sport == 22 && (e.status & IPS_DST_NAT), "parse: family, protocol, ports, status");
	tap_streq(vp_addr_str(&e.orig_dst, a), "198.51.100.1", "parse: original destination");
	tap_streq(vp_addr_str(&e.reply_src, b), "192.168.122.10", "parse: reply source");
	tap_ok(e.has_id && ntohl(e.id) == 0x1234 && e.has_zone, "parse: id and zone");
	tap_ok(e.orig_tuple == (const void *)(m.b + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg))),
	       "parse: the original tuple is the kernel's attribute itself");

	/* Cut before the end of its status (its id and zone, 16 bytes, are optional). */
	bool all_fail = true;
	for (size_t n = 0; n < m.len - 16; n++) {
		uint32_t l = (uint32_t)n;
		char copy[512];
		memcpy(copy, m.b, m.len);
		if (n >= 4)
			memcpy(copy, &l, sizeof(l));   /* a message that says it is shorter */
		all_fail &= vp_ct_parse(copy, n, &e) < 0;
	}
	tap_ok(all_fail, "parse: every truncation of the entry is refused");

	struct nlmsghdr done = {.nlmsg_len = NLMSG_HDRLEN + 4, .nlmsg_type = NLMSG_DONE};
	char dbuf[NLMSG_HDRLEN + 4] = {0};
	memcpy(dbuf, &done, sizeof(done));
	tap_ok(vp_ct_parse(dbuf, sizeof(dbuf), &e) == 1, "parse: the end of a dump");
	struct {
		struct nlmsghdr h;
		struct nlmsgerr e;
	} err = {{.nlmsg_len = sizeof(err), .nlmsg_type = NLMSG_ERROR}, {.error = -ENOENT}};
	tap_ok(vp_ct_parse(&err, sizeof(err), &e) == -ENOENT, "parse: an error is its errno");
	err.e.error = 0;
	tap_ok(vp_ct_parse(&err, sizeof(err), &e) == 1, "parse: an acknowledgement");
}

static void test_match(void)
{
	struct vp_dnat d = dnat(IPPROTO_TCP, NULL, 2222, 2222, "192.168.122.10", 22, 22);
	struct flow f = dnatted;

	tap_ok(matches(&f, &d), "match: the forward's own flow");
	f.status = IPS_CONFIRMED;
	tap_ok(!matches(&f, &d), "match: not without destination NAT");
	f = dnatted;
	f.proto = IPPROTO_UDP;
	tap_ok(!matches(&f, &d), "match: not another protocol");
	f = dnatted;
	f.dport = 2223;
	tap_ok(!matches(&f, &d), "match: not another host port");
	f = dnatted;
	f.rsrc = "192.168.122.11";
	tap_ok(!matches(&f, &d), "match: not a flow that reaches another address (moved already)");
	f = dnatted;
	f.rsport = 23;
	tap_ok(!matches(&f, &d), "match: not another guest port");
	struct vp_dnat r = dnat(IPPROTO_TCP, NULL, 8080, 8081, "192.168.122.10", 80, 81);
	f = dnatted;
	f.dport = 8081;
	f.rsport = 81;
	tap_ok(matches(&f, &r), "match: a port of a range");
	struct vp_dnat a = dnat(IPPROTO_TCP, "198.51.100.1", 2222, 2222, "192.168.122.10", 22, 22);
	tap_ok(matches(&dnatted, &a), "match: ADDR: forward, its address");
	f = dnatted;
	f.dst = "198.51.100.9";
	tap_ok(!matches(&f, &a), "match: ADDR: forward, not another address");
	tap_ok(matches(&f, &d), "match: any-address forward, any address");
	struct flow f6 = {AF_INET6, IPPROTO_UDP, "2001:db8:1::2", "2001:db8:1::1",
	                  "2001:db8:122::10", "2001:db8:1::2", 5000, 27015, 27015, 5000,
	                  IPS_DST_NAT};
	struct vp_dnat d6 = dnat(IPPROTO_UDP, NULL, 27015, 27015, "2001:db8:122::10", 27015, 27015);
	tap_ok(matches(&f6, &d6), "match: IPv6");
	tap_ok(!matches(&dnatted, &d6), "match: not another family");
}

static bool selected(const struct flow *f, const struct vp_ct_sel *s)
{
	struct msg m;
	struct vp_ct_entry e;

	entry_msg(&m, f);
	return vp_ct_parse(m.b, m.len, &e) == 0 && vp_ct_selected(s, &e);
}

static void test_select(void)
{
	struct vp_dnat old = dnat(IPPROTO_TCP, NULL, 2222, 2222, "192.168.122.10", 22, 22);
	struct vp_dnat same = old;
	struct vp_ct_sel s = {.gone = &old, .n_gone = 1};

	tap_ok(selected(&dnatted, &s), "select: a flow of a removed forward");
	s.keep = &same;
	s.n_keep = 1;
	tap_ok(!selected(&dnatted, &s), "select: not one a DNAT there now makes the same way");

	/* UDP to the host's port 5000 with no NAT: it came while no forward had the port. */
	struct flow bound = {AF_INET, IPPROTO_UDP, "198.51.100.2", "198.51.100.1", "198.51.100.1",
	                     "198.51.100.2", 40000, 5000, 5000, 40000, IPS_CONFIRMED};
	struct vp_dnat added = dnat(IPPROTO_UDP, NULL, 5000, 5000, "192.168.122.11", 5001, 5001);
	struct vp_addr local[2];
	vp_addr_parse("192.168.122.1", 13, &local[0]);
	vp_addr_parse("198.51.100.1", 12, &local[1]);
	struct vp_ct_sel a = {.added = &added, .n_added = 1, .local = local, .n_local = 2};
	tap_ok(selected(&bound, &a), "select: a UDP flow bound to the host on an added port");
	struct flow transit = bound;
	transit.dst = transit.rsrc = "203.0.113.7";
	tap_ok(!selected(&transit, &a), "select: not one to an address not the host's (transit)");
	struct flow masq = bound;
	masq.status |= IPS_SRC_NAT;
	tap_ok(!selected(&masq, &a), "select: not one NATed (a guest's masqueraded flow)");
	struct flow other = bound;
	other.dport = other.rsport = 5003;
	tap_ok(!selected(&other, &a), "select: not another port");
	added.proto = IPPROTO_TCP;
	bound.proto = IPPROTO_TCP;
	tap_ok(!selected(&bound, &a), "select: not for TCP (such a flow was reset)");
}

static void test_requests(void)
{
	char buf[512];
	struct msg m;
	struct vp_ct_entry e;
	struct nlmsghdr h;
	struct vp_addr g;
	int n;

	n = vp_ct_build_dump(buf, sizeof(buf), 7, AF_INET, NULL);
	memcpy(&h, buf, sizeof(h));
	tap_ok(n == NLMSG_HDRLEN + 4 && h.nlmsg_len == (uint32_t)n &&
	       h.nlmsg_type == (NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET) &&
	       h.nlmsg_flags == (NLM_F_REQUEST | NLM_F_DUMP) && h.nlmsg_seq == 7 &&
	       buf[NLMSG_HDRLEN] == AF_INET, "dump: a GET of the family's table, NLM_F_DUMP");
	vp_addr_parse("192.168.122.10", 14, &g);
	n = vp_ct_build_dump(buf, sizeof(buf), 8, AF_INET, &g);
	/* CTA_FILTER { REPLY_FLAGS = IP_SRC }, CTA_TUPLE_REPLY { CTA_TUPLE_IP { V4_SRC } } */
	static const unsigned char filt[] = {
		12, 0, CTA_FILTER, 0x80, 8, 0, CTA_FILTER_REPLY_FLAGS, 0, 1, 0, 0, 0,
		16, 0, CTA_TUPLE_REPLY, 0x80, 12, 0, CTA_TUPLE_IP, 0x80, 8, 0, CTA_IP_V4_SRC, 0,
		192, 168, 122, 10};
	tap_ok(n == NLMSG_HDRLEN + 4 + (int)sizeof(filt) &&
	       !memcmp(buf + NLMSG_HDRLEN + 4, filt, sizeof(filt)),
	       "dump: filtered on the reply's source address");
	tap_ok(vp_ct_build_dump(buf, 20, 8, AF_INET, &g) == -ENOBUFS, "dump: too small a buffer");

	entry_msg(&m, &dnatted);
	vp_ct_parse(m.b, m.len, &e);
	n = vp_ct_build_delete(buf, sizeof(buf), 9, &e);
	memcpy(&h, buf, sizeof(h));
	size_t hl = NLMSG_HDRLEN + 4;
	uint32_t id;
	memcpy(&id, buf + hl + NLA_ALIGN(e.orig_tuple_len) + NLA_HDRLEN, 4);
	tap_ok(n > 0 && h.nlmsg_type == (NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE) &&
	       h.nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK) &&
	       !memcmp(buf + hl, e.orig_tuple, e.orig_tuple_len) && ntohl(id) == 0x1234,
	       "delete: by the original tuple as sent, and the id");
}

static void test_list(void)
{
	struct vp_ruleset rs;
	struct vp_rule r = {.stage = VP_ST_PRE_DNAT, .family = AF_INET, .proto = IPPROTO_TCP,
	                    .hport = 2222, .hport_end = 2222, .gport = 22, .gport_end = 22};
	struct vp_dnat_list l, back;
	struct vp_buf text = {0};

	vp_ruleset_init(&rs, "c0ffee00-0000-4000-8000-00000000000a");
	vp_addr_parse("192.168.122.10", 14, &r.guest);
	vp_ruleset_add(&rs, &r);
	vp_ruleset_add(&rs, &r);   /* a second from= CIDR */
	r.stage = VP_ST_FWD_ACCEPT;
	vp_ruleset_add(&rs, &r);
	r.stage = VP_ST_PRE_DNAT;
	r.proto = IPPROTO_UDP;
	r.hport = r.hport_end = 27015;
	vp_addr_parse("198.51.100.1", 12, &r.host_addr);
	vp_ruleset_add(&rs, &r);
	tap_ok(vp_dnat_from_rules(&rs, &l) == 0 && l.n == 2, "list: one per DNAT, from= or not");
	vp_dnat_format(&l, &text);
	tap_streq(text.s, "dnat 1\n6 * 2222-2222 192.168.122.10 22-22\n"
	          "17 198.51.100.1 27015-27015 192.168.122.10 22-22\n", "list: its text");
	tap_ok(vp_dnat_parse(text.s, text.len, &back) == 0 && back.n == 2 &&
	       vp_dnat_equal(&back.d[0], &l.d[0]) && vp_dnat_equal(&back.d[1], &l.d[1]),
	       "list: read back the same");
	vp_dnat_list_free(&back);
	static const char *const bad[] = {
		"", "dnat 2\n", "dnat 1\n6 * 2222-2222 192.168.122.10 22-22",
		"dnat 1\n6 * 2222 192.168.122.10 22-22\n", "dnat 1\n6 * 2223-2222 192.168.122.10 22-22\n",
		"dnat 1\n6 * 2222-2222 192.168.122.10 22-22 x\n", "dnat 1\n0 * 1-1 192.168.122.10 1-1\n",
		"dnat 1\n6 2001:db8::1 1-1 192.168.122.10 1-1\n", "dnat 1\n6 * 1-1 host 1-1\n",
		"dnat 1\n6  * 1-1 192.168.122.10 1-1\n", "dnat 1\n6 * 0-1 192.168.122.10 1-1\n",
	};
	bool refused = true;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		refused &= vp_dnat_parse(bad[i], strlen(bad[i]), &back) == -EINVAL && !back.n;
		vp_dnat_list_free(&back);
	}
	tap_ok(refused, "list: every damaged text is refused whole");
	vp_buf_free(&text);
	vp_dnat_list_free(&l);
	vp_ruleset_free(&rs);
}

int main(void)
{
	test_parse();
	test_match();
	test_select();
	test_requests();
	test_list();
	return tap_done();
}

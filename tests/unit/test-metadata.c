/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Forwards in the domain's <metadata>: what the XML parser copies, good elements against their
 * parsed values, every bad value against its exact message and against the table's message for
 * the same line (one validator), hostile XML, and the clash check against the table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata.h"
#include "table.h"
#include "tap.h"
#include "util.h"

#define UUID "6c1f0d3e-8f5a-4b6e-9a2d-1b2c3d4e5f60"
#define HEAD "<domain type='kvm'><name>web1</name><uuid>" UUID "</uuid><metadata>" \
	"<portfwd:forwards xmlns:portfwd='" VP_META_NS "'>"
#define TAIL "</portfwd:forwards></metadata><devices/></domain>"
#define FWD(attrs) "<portfwd:forward " attrs "/>"

/* The table every case is judged beside (file "T"). */
static const char table_text[] =
	"web0 tcp 8080 80\n"
	"web0 udp 198.51.100.7:5000-5010 5000-5010\n"
	"web0 tcp [2001:db8::1]:443 443\n";

struct run {
	struct vp_table t, meta;
	struct vp_domain d;
	struct vp_diags dg;
	int rd, r;
};

static void run_free(struct run *m)
{
	vp_table_free(&m->t);
	vp_table_free(&m->meta);
	vp_domain_free(&m->d);
	vp_diags_free(&m->dg);
}

/* Parse xml (a whole document) and take its metadata beside table_text. */
static void run_xml(const char *xml, size_t len, struct run *m)
{
	struct vp_diags td = {0};

	*m = (struct run){0};
	vp_table_init(&m->t);
	vp_table_init(&m->meta);
	if (vp_table_parse(&m->t, "T", table_text, strlen(table_text), &td) < 0 ||
	    vp_table_check(&m->t, &td) < 0)
		tap_ok(false, "the test's table parses");
	vp_diags_free(&td);
	m->rd = vp_domain_parse(xml, len, &m->d);
	m->r = m->rd < 0 ? m->rd : vp_metadata_forwards(&m->t, &m->d, &m->meta, &m->dg);
}

static void run_forwards(const char *inner, struct run *m)
{
	struct vp_buf b = {0};

	vp_buf_printf(&b, "%s%s%s", HEAD, inner, TAIL);
	run_xml(b.s, b.len, m);
	vp_buf_free(&b);
}

static char *joined(const struct vp_diags *d)
{
	struct vp_buf b = {0};

	vp_buf_append(&b, "", 0);
	for (size_t i = 0; i < d->n; i++)
		vp_buf_printf(&b, "%s\n", d->msg[i]);
	return b.s;
}

/* ---- good elements ---- */

static void test_minimal(void)
{
	struct run m;
	const struct vp_forward *f;
	char where[128];

	run_forwards(FWD("proto='tcp' host='2222' guest='22'"), &m);
	tap_ok(m.r == 0 && m.dg.n == 0 && m.meta.n == 1, "minimal: one forward (%d, %zu)", m.r,
	       m.meta.n);
	if (m.meta.n == 1) {
		f = &m.meta.fwd[0];
		tap_ok(f->domain_is_uuid && !strcmp(f->domain, UUID) &&
		       vp_forward_matches(f, "web1", UUID) && !vp_forward_matches(f, "web1", NULL),
		       "minimal: names the guest by its uuid");
		tap_ok(f->proto == IPPROTO_TCP && f->family == AF_INET && !f->host_addr.family &&
		       f->host_port == 2222 && f->host_port_end == 2222 && f->guest_port == 22 &&
		       f->guest_port_end == 22, "minimal: proto, host and guest ports");
		tap_ok(f->local && f->hairpin && !f->masquerade && !f->n_from && !f->nic[0] &&
		       !f->network && !f->ip.family, "minimal: the table's defaults");
		vp_forward_where(f, where, sizeof(where));
		tap_streq(where, "domain web1 metadata forward 1", "minimal: its place");
	}
	run_free(&m);
}

static void test_all_options(void)
{
	struct run m;
	const struct vp_forward *f;
	char a[VP_ADDR_STRLEN], c[VP_CIDR_STRLEN];

	run_forwards(FWD("proto='udp' host='[2001:db8::5]:6000-6001' guest='7000-7001' "
	                 "from='2001:db8::/32,2001:db8:1::/48' nic='52:54:00:AA:bb:01' "
	                 "network='default' ip='2001:db8::10' masquerade='yes' local='no' "
	                 "hairpin='no'"), &m);
	tap_ok(m.r == 0 && m.meta.n == 1, "all options: accepted (%d)", m.r);
	if (m.meta.n == 1) {
		f = &m.meta.fwd[0];
		tap_ok(f->proto == IPPROTO_UDP && f->family == AF_INET6 && f->host_port == 6000 &&
		       f->host_port_end == 6001 && f->guest_port == 7000 && f->guest_port_end == 7001,
		       "all options: ports and family");
		tap_streq(vp_addr_str(&f->host_addr, a), "2001:db8::5", "all options: host address");
		tap_ok(f->n_from == 2 && !strcmp(vp_cidr_str(&f->from[1], c), "2001:db8:1::/48"),
		       "all options: from=");
		tap_streq(f->nic, "52:54:00:aa:bb:01", "all options: nic= lowercased");
		tap_streq(f->network ? f->network : "", "default", "all options: network=");
		tap_streq(vp_addr_str(&f->ip, a), "2001:db8::10", "all options: ip=");
		tap_ok(f->masquerade && !f->local && !f->hairpin, "all options: yes/no options");
	}
	run_free(&m);
}

static void test_shapes(void)
{
	struct run m;
	static const char status[] =
		"<domstatus state='running' reason='booted' pid='1'><domain type='kvm'>"
		"<name>web1</name><uuid>" UUID "</uuid><metadata>"
		"<p:forwards xmlns:p='" VP_META_NS "'><p:forward proto='tcp' host='2222' guest='22'/>"
		"</p:forwards></metadata></domain></domstatus>";
	static const char other_ns[] =
		"<domain><name>web1</name><uuid>" UUID "</uuid><metadata>"
		"<x:forwards xmlns:x='urn:other'><x:forward proto='tcp' host='1' guest='1'/>"
		"</x:forwards></metadata></domain>";
	static const char two_blocks[] =
		"<domain><name>web1</name><uuid>" UUID "</uuid><metadata>"
		"<forwards xmlns='" VP_META_NS "'><forward proto='tcp' host='2222' guest='22'/>"
		"</forwards><a:forwards xmlns:a='" VP_META_NS "'>"
		"<a:forward proto='tcp' host='2223' guest='22'>text is ignored</a:forward>"
		"</a:forwards></metadata></domain>";

	run_xml(status, strlen(status), &m);
	tap_ok(m.r == 0 && m.meta.n == 1 && m.meta.fwd[0].host_port == 2222,
	       "status file: the metadata of its <domain> (%d)", m.r);
	run_free(&m);
	run_xml(other_ns, strlen(other_ns), &m);
	tap_ok(m.r == 0 && m.d.n_meta == 0 && m.meta.n == 0 && !vp_domain_has_meta(&m.d),
	       "another namespace's <forwards> is not ours");
	run_free(&m);
	run_xml(two_blocks, strlen(two_blocks), &m);
	tap_ok(m.r == 0 && m.meta.n == 2 && m.meta.fwd[1].host_port == 2223 &&
	       m.meta.fwd[1].line == 2, "a default namespace and a second block: all, in order");
	run_free(&m);
	run_forwards("", &m);
	tap_ok(m.r == 0 && m.meta.n == 0 && m.dg.n == 0, "an empty <portfwd:forwards>");
	run_free(&m);
}

/* ---- bad values: the exact message, and the table's message for the same line ---- */

struct bad {
	const char *attrs;   /* of one <portfwd:forward> */
	const char *line;    /* the same forward as a table line (after "web1 "), or NULL */
	const char *msg;     /* after "domain web1 metadata forward 1: " */
};

static const struct bad bads[] = {
	{"proto='icmp' host='1' guest='1'", "icmp 1 1",
	 "unknown protocol 'icmp' (expected tcp, udp or sctp)"},
	{"proto='tcp' host='0' guest='22'", "tcp 0 22", "invalid port '0' (expected 1-65535)"},
	{"proto='tcp' host='2222-2223' guest='22'", "tcp 2222-2223 22",
	 "host range 2222-2223 has 2 ports but guest port 22 is a single port"},
	{"proto='tcp' host='[fe80::1]:22' guest='22'", "tcp [fe80::1]:22 22",
	 "link-local address 'fe80::1' cannot be forwarded (expected a global IPv6 address, or [::])"},
	{"proto='tcp' host='2222' guest='22' from='10.0.0.1/8'", "tcp 2222 22 from=10.0.0.1/8",
	 "CIDR '10.0.0.1/8' in from= has host bits set (did you mean 10.0.0.0/8?)"},
	{"proto='tcp' host='2222' guest='22' nic='zz'", "tcp 2222 22 nic=zz",
	 "invalid MAC address 'zz' in nic= (expected six hex pairs such as 52:54:00:aa:bb:cc)"},
	{"proto='tcp' host='2222' guest='22' ip='2001:db8::1'", "tcp 2222 22 ip=2001:db8::1",
	 "address '2001:db8::1' in ip= is IPv6 but the forward is IPv4"},
	{"proto='tcp' host='2222' guest='22' network='a/b'", "tcp 2222 22 network=a/b",
	 "invalid network name 'a/b' in network= (expected a libvirt network name: at most 255 "
	 "bytes, no '/')"},
	{"proto='tcp' host='2222' guest='22' masquerade='maybe'", "tcp 2222 22 masquerade=maybe",
	 "invalid value 'maybe' for option 'masquerade' (expected yes or no)"},
	{"proto='tcp' host='2222' guest='22' colour='red'", "tcp 2222 22 colour=red",
	 "unknown option 'colour' (expected from, nic, network, ip, masquerade, local or hairpin)"},
	{"proto='tcp' host='2222' guest='22' from=''", "tcp 2222 22 from=",
	 "missing value for option 'from' (expected from=VALUE)"},
	/* what only an element can get wrong */
	{"proto='tcp' host='2222'", NULL,
	 "missing attribute 'guest' (expected proto, host and guest, as the fields of a table line)"},
	{"host='2222' guest='22'", NULL,
	 "missing attribute 'proto' (expected proto, host and guest, as the fields of a table line)"},
	{"proto='tcp' host='2222&#10;' guest='22'", NULL,
	 "control character 0x0a in attribute 'host' (only printable text is allowed)"},
	{"xmlns:x='urn:x' x:proto='udp' proto='tcp' host='2222' guest='22'", NULL,
	 "unknown option 'x:proto' (expected from, nic, network, ip, masquerade, local or hairpin)"},
};

/* The message the table gives for line "web1 LINE", without its place. */
static char *table_msg(const char *line)
{
	struct vp_table t;
	struct vp_diags d = {0};
	struct vp_buf b = {0};
	char *msg = NULL;

	vp_table_init(&t);
	vp_buf_printf(&b, "web1 %s\n", line);
	vp_table_parse(&t, "T", b.s, b.len, &d);
	if (d.n == 1) {
		const char *p = d.msg[0];
		for (int colons = 0; *p && colons < 3; p++)   /* "T:1:COL: " */
			colons += *p == ':';
		msg = vp_strndup(p + 1, strlen(p + 1));
	}
	vp_diags_free(&d);
	vp_table_free(&t);
	vp_buf_free(&b);
	return msg;
}

static void test_bad_values(void)
{
	for (size_t i = 0; i < VP_ARRAY_SIZE(bads); i++) {
		const struct bad *c = &bads[i];
		struct vp_buf el = {0}, want = {0};
		struct run m;
		char *got;

		vp_buf_printf(&el, "<portfwd:forward %s/>", c->attrs);
		vp_buf_printf(&want, "domain web1 metadata forward 1: %s\n", c->msg);
		run_forwards(el.s, &m);
		got = joined(&m.dg);
		tap_ok(m.r == -EINVAL && m.meta.n == 0, "bad %s: refused (%d)", c->attrs, m.r);
		tap_streq(got, want.s, "bad %s: message", c->attrs);
		if (c->line) {
			char *tm = table_msg(c->line);
			tap_streq(tm, c->msg, "bad %s: the table's message for '%s'", c->attrs, c->line);
			free(tm);
		}
		free(got);
		vp_buf_free(&el);
		vp_buf_free(&want);
		run_free(&m);
	}
}

static void test_bad_shapes(void)
{
	struct run m;
	struct vp_buf b = {0};
	char *got;

	run_forwards(FWD("proto='tcp' host='2222' guest='22'")
	             "<portfwd:foward proto='tcp' host='2223' guest='22'/>", &m);
	got = joined(&m.dg);
	tap_ok(m.r == -EINVAL && m.meta.n == 0, "one bad element refuses the good one too");
	tap_streq(got, "domain web1 metadata forward 2: unexpected element 'portfwd:foward' "
	          "(expected forward, in namespace " VP_META_NS ")\n", "a misspelt element");
	free(got);
	run_free(&m);

	vp_buf_append(&b, "<portfwd:forward proto='tcp' host='2222' guest='22'", 51);
	for (int i = 0; i < 20; i++)
		vp_buf_printf(&b, " a%d='x'", i);
	vp_buf_append(&b, "/>", 2);
	run_forwards(b.s, &m);
	got = joined(&m.dg);
	tap_streq(got, "domain web1 metadata forward 1: too many attributes (expected proto, host, "
	          "guest and at most 7 options)\n", "23 attributes");
	tap_ok(m.d.n_meta == 1 && m.d.meta[0].n_attrs == VP_META_MAX_ATTRS &&
	       m.d.meta[0].too_many_attrs, "only VP_META_MAX_ATTRS attributes are kept");
	free(got);
	run_free(&m);
	vp_buf_free(&b);

	for (unsigned i = 0; i <= VP_META_MAX_FORWARDS; i++)
		vp_buf_printf(&b, "<portfwd:forward proto='tcp' host='%u' guest='22'/>", 1000 + i);
	run_forwards(b.s, &m);
	got = joined(&m.dg);
	tap_ok(m.rd == 0 && m.r == -EINVAL && m.d.n_meta == 0 && m.d.meta_too_many,
	       "1025 elements: the domain parses, none is kept");
	tap_streq(got, "domain web1 metadata: more than 1024 forwards\n", "1025 elements: message");
	free(got);
	run_free(&m);
	vp_buf_free(&b);

	vp_buf_append(&b, "<portfwd:forward proto='tcp' host='2222' guest='22' network='", 61);
	for (int i = 0; i < 5000; i++)
		vp_buf_append(&b, "n", 1);
	vp_buf_append(&b, "'/>", 3);
	run_forwards(b.s, &m);
	got = joined(&m.dg);
	tap_streq(got, "domain web1 metadata forward 1: value of attribute 'network' too long (max "
	          "4096 bytes)\n", "an over-long value");
	free(got);
	run_free(&m);
	vp_buf_free(&b);
}

static void test_odd_name(void)
{
	static const char xml[] = "<domain><name>we&#10;b1</name><uuid>" UUID "</uuid><metadata>"
		"<p:forwards xmlns:p='" VP_META_NS "'><p:forward proto='tcp' host='0' guest='22'/>"
		"</p:forwards></metadata></domain>";
	struct run m;
	char *got;

	run_xml(xml, strlen(xml), &m);
	got = joined(&m.dg);
	tap_streq(got, "domain we?b1 metadata forward 1: invalid port '0' (expected 1-65535)\n",
	          "a newline in the guest's name cannot forge a log line");
	free(got);
	run_free(&m);
}

/* ---- hostile XML ---- */

static void test_hostile(void)
{
	static const char entity[] =
		"<!DOCTYPE domain [<!ENTITY h '2222'>]><domain><name>web1</name><uuid>" UUID
		"</uuid><metadata><p:forwards xmlns:p='" VP_META_NS "'>"
		"<p:forward proto='tcp' host='&h;' guest='22'/></p:forwards></metadata></domain>";
	static const char external[] =
		"<domain><name>web1</name><uuid>" UUID "</uuid><metadata><p:forwards xmlns:p='"
		VP_META_NS "' xmlns:xi='http://www.w3.org/2001/XInclude'><xi:include "
		"href='/etc/passwd' parse='text'/></p:forwards></metadata></domain>";
	struct vp_buf b = {0};
	struct run m;

	run_xml(entity, strlen(entity), &m);
	tap_ok(m.rd == -EINVAL && m.meta.n == 0, "an entity in an attribute: the DOCTYPE is refused");
	run_free(&m);
	run_xml(external, strlen(external), &m);
	tap_ok(m.rd == 0 && m.r == -EINVAL && m.meta.n == 0 && m.dg.n == 1,
	       "XInclude is an unknown element, never followed");
	run_free(&m);

	for (int i = 0; i < 5000; i++)
		vp_buf_append(&b, "<portfwd:forward>", 17);
	run_forwards(b.s, &m);
	tap_ok(m.rd < 0, "5000 nested elements: refused by the reader (%d)", m.rd);
	run_free(&m);
	vp_buf_free(&b);

	run_forwards(FWD("proto='tcp' proto='udp' host='1' guest='1'"), &m);
	tap_ok(m.rd == -EINVAL, "a repeated attribute: not well-formed");
	run_free(&m);
}

/* ---- the clash check ---- */

static void expect_clash(const char *what, const char *inner, int want_r, size_t want_n,
                         const char *want_msgs)
{
	struct run m;
	char *got;

	run_forwards(inner, &m);
	got = joined(&m.dg);
	tap_ok(m.r == want_r && m.meta.n == want_n, "%s: %d, %zu kept (got %d, %zu)", what, want_r,
	       want_n, m.r, m.meta.n);
	tap_streq(got, want_msgs, "%s: messages", what);
	free(got);
	run_free(&m);
}

static void test_clashes(void)
{
	expect_clash("a table line wins", FWD("proto='tcp' host='2222' guest='22'")
	             FWD("proto='tcp' host='8080' guest='80'") FWD("proto='tcp' host='2223' guest='22'"),
	             -EEXIST, 2,
	             "domain web1 metadata forward 2: host port 8080/tcp is already forwarded at "
	             "T:1:10 (web0): this forward is not installed\n");
	expect_clash("an overlapping range, any address against a specific one",
	             FWD("proto='udp' host='5009-5011' guest='5009-5011'"), -EEXIST, 0,
	             "domain web1 metadata forward 1: host port 5009/udp is already "
	             "forwarded at T:2:10 (web0): this forward is not installed\n");
	expect_clash("another address, another protocol, another family: no clash",
	             FWD("proto='udp' host='198.51.100.8:5005' guest='5005'")
	             FWD("proto='tcp' host='5005' guest='5005'")
	             FWD("proto='tcp' host='[2001:db8::2]:443' guest='443'")
	             FWD("proto='sctp' host='8080' guest='80'"), 0, 4, "");
	expect_clash("IPv6: [::] against the table's [2001:db8::1]",
	             FWD("proto='tcp' host='[::]:443' guest='443'"), -EEXIST, 0,
	             "domain web1 metadata forward 1: host port [::]:443/tcp is already forwarded "
	             "at T:3:10 (web0): this forward is not installed\n");
	expect_clash("two of the metadata: the first stays",
	             FWD("proto='tcp' host='3000-3001' guest='3000-3001'")
	             FWD("proto='tcp' host='3001' guest='22'"), -EEXIST, 1,
	             "domain web1 metadata forward 2: host port 3001/tcp is already forwarded at "
	             "domain web1 metadata forward 1: this forward is not installed\n");
}

/* Over 64 forwards every table line goes into the sweep, below only those that may clash: the
 * same verdict either way. */
static void test_many_clashes(void)
{
	for (unsigned n = 60; n <= 70; n += 10) {
		struct vp_buf b = {0}, want = {0};
		struct run m;
		char *got;

		for (unsigned i = 0; i < n; i++)
			vp_buf_printf(&b, "<portfwd:forward proto='tcp' host='%u' guest='22'/>", 8040 + i);
		vp_buf_printf(&want, "domain web1 metadata forward 41: host port 8080/tcp is already "
		              "forwarded at T:1:10 (web0): this forward is not installed\n");
		run_forwards(b.s, &m);
		got = joined(&m.dg);
		tap_ok(m.r == -EEXIST && m.meta.n == n - 1, "%u forwards, one on the table's: %u kept "
		       "(%d, %zu)", n, n - 1, m.r, m.meta.n);
		tap_streq(got, want.s, "%u forwards: the message", n);
		free(got);
		run_free(&m);
		vp_buf_free(&b);
		vp_buf_free(&want);
	}
}

/* vp_table_check_extra against a table with no forwards, and with no extra ones. */
static void test_check_extra_edges(void)
{
	struct vp_table t, e;
	struct vp_diags d = {0};

	vp_table_init(&t);
	vp_table_init(&e);
	tap_ok(vp_table_check_extra(&t, &e, &d) == 0 && d.n == 0, "check_extra: both empty");
	vp_table_add_words(&e, "domain x metadata", 1,
	                   (const char *const[]){UUID, "tcp", "22", "22"}, 4, &d);
	tap_ok(vp_table_check_extra(&t, &e, &d) == 0 && e.n == 1 && d.n == 0,
	       "check_extra: one forward, empty table");
	vp_diags_free(&d);
	vp_table_free(&t);
	vp_table_free(&e);
}

/* vp_forwards_clash, the doctor's check across guests' metadata: each forward that clashes
 * names the earliest one it clashes with; protocols and disjoint ports do not clash. */
static void test_forwards_clash(void)
{
	static const char *const w[][4] = {{UUID, "tcp", "2451", "22"}, {UUID, "udp", "2451", "22"},
	                                   {UUID, "tcp", "2440-2460", "22-42"}, {UUID, "tcp", "2461", "22"}};
	const struct vp_forward *items[4];
	struct vp_table e;
	struct vp_diags d = {0};
	size_t *best = NULL;

	vp_table_init(&e);
	for (unsigned i = 0; i < 4; i++)
		vp_table_add_words(&e, "domain x metadata", i + 1, w[i], 4, &d);
	for (size_t i = 0; i < e.n; i++)
		items[i] = &e.fwd[i];
	tap_ok(e.n == 4 && d.n == 0, "forwards_clash: four forwards");
	tap_ok(vp_forwards_clash(items, 0, &best) == 0 && !best, "forwards_clash: none, no answer");
	tap_ok(vp_forwards_clash(items, e.n, &best) == 0 && best, "forwards_clash: answers");
	tap_ok(best && best[2] == 0 && best[0] == 2 && best[1] == SIZE_MAX && best[3] == SIZE_MAX,
	       "forwards_clash: the tcp port and range name each other; udp and the port past it "
	       "clash with nothing");
	free(best);
	vp_diags_free(&d);
	vp_table_free(&e);
}

int main(void)
{
	test_minimal();
	test_all_options();
	test_shapes();
	test_bad_values();
	test_bad_shapes();
	test_odd_name();
	test_hostile();
	test_clashes();
	test_many_clashes();
	test_check_extra_edges();
	test_forwards_clash();
	return tap_done();
}

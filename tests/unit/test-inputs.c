/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Domain XML (live and libvirt's status file), network status XML and lease file parsers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "domain.h"
#include "leases.h"
#include "network.h"
#include "tap.h"
#include "util.h"

/* "Now" for every lease test: the fixtures' expiry times are around it. */
#define NOW ((time_t)1795590000)
#define UUID_WEB1 "9f1c6b2e-3d4a-4c8b-9e0f-1a2b3c4d5e6f"

/* Memory bounds mean nothing under valgrind (which preloads its helpers) or
 * AddressSanitizer: those runs check correctness only. */
#if defined(__SANITIZE_ADDRESS__)   /* gcc */
#define VP_ASAN 1
#elif defined(__has_feature)        /* clang */
#if __has_feature(address_sanitizer)
#define VP_ASAN 1
#endif
#endif

static bool unmeasured(void)
{
#ifdef VP_ASAN
	return true;
#else
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "vgpreload");
#endif
}

static long max_rss_mib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

static const char *addr_s(const struct vp_addr *a)
{
	static char buf[4][VP_ADDR_STRLEN];
	static unsigned i;
	return vp_addr_str(a, buf[i++ % 4]);
}

static const char *cidr_s(const struct vp_cidr *c)
{
	static char buf[VP_CIDR_STRLEN];
	return vp_cidr_str(c, buf);
}

enum kind { DOMAIN, NETWORK, LEASES };

/* Parse fixtures/<kind>/<name> into *ret: a struct vp_domain, vp_network or vp_leases. */
static int fixture(enum kind k, const char *name, void *ret)
{
	static const char *const dir[] = {"domain", "network", "leases"};
	char path[256];
	size_t len;
	char *buf;
	int r;

	snprintf(path, sizeof(path), "fixtures/%s/%s", dir[k], name);
	buf = tap_fixture(path, &len);
	r = k == DOMAIN    ? vp_domain_parse(buf, len, ret)
	    : k == NETWORK ? vp_network_parse(buf, len, ret)
	                   : vp_leases_parse(buf, len, ret);
	free(buf);
	return r;
}

/* ---- domain XML ---------------------------------------------------------------------- */

static void test_domain_live(void)
{
	struct vp_domain d = {0};

	tap_ok(fixture(DOMAIN, "live-2nics.xml", &d) == 0, "live domain XML parses");
	tap_streq(d.name, "web1", "domain name");
	tap_streq(d.uuid, UUID_WEB1, "domain uuid");
	if (!tap_ok(d.n_nics == 2, "two NICs (got %zu)", d.n_nics))
		goto out;
	tap_ok(d.nics[0].type == VP_NIC_NETWORK, "NIC 0 is type network");
	tap_streq(d.nics[0].mac, "52:54:00:aa:bb:01", "NIC 0 mac");
	tap_streq(d.nics[0].network, "default", "NIC 0 source network");
	tap_streq(d.nics[0].bridge, "virbr0", "NIC 0 live bridge");
	tap_streq(d.nics[0].target, "vnet2", "NIC 0 target");
	tap_ok(d.nics[1].type == VP_NIC_BRIDGE, "NIC 1 is type bridge");
	tap_streq(d.nics[1].mac, "52:54:00:aa:bb:02", "NIC 1 mac lowercased");
	tap_streq(d.nics[1].network, "", "NIC 1 has no network");
	tap_streq(d.nics[1].bridge, "br0", "NIC 1 bridge");
out:
	vp_domain_free(&d);
	vp_domain_free(&d);
	vp_domain_free(NULL);
	tap_ok(d.nics == NULL && d.n_nics == 0, "vp_domain_free twice and on NULL is safe");

	tap_ok(fixture(DOMAIN, "no-nics.xml", &d) == 0 && d.n_nics == 0 && !d.nics,
	       "domain without NICs parses with zero NICs");
	vp_domain_free(&d);
	tap_ok(fixture(DOMAIN, "uuid-nodash.xml", &d) == 0, "32-hex uppercase uuid accepted");
	tap_streq(d.uuid, UUID_WEB1, "uuid normalised to lowercase 8-4-4-4-12");
	vp_domain_free(&d);
	tap_ok(fixture(DOMAIN, "other-nics.xml", &d) == 0 && d.n_nics == 4 &&
	       d.nics[0].type == VP_NIC_OTHER && d.nics[1].type == VP_NIC_OTHER,
	       "user and direct NICs kept as VP_NIC_OTHER");
	vp_domain_free(&d);
}

static void test_domain_odd_name(void)
{
	struct vp_domain d = {0};

	tap_ok(fixture(DOMAIN, "odd-name.xml", &d) == 0, "name with quotes, UTF-8, tab, newline");
	tap_streq(d.name, "web \"one\" & it's <tab>\t\xc3\xa9\xe6\x97\xa5\xe6\x9c\xac\nx",
	          "name kept byte for byte");
	tap_ok(d.n_nics == 1, "one NIC");
	if (d.n_nics == 1)
		tap_streq(d.nics[0].network, "net with spaces 'q'", "network name with spaces");
	vp_domain_free(&d);
}

static void test_domain_errors(void)
{
	static const char *const bad[] = {
		"no-uuid.xml",      "no-name.xml",      "bad-uuid.xml", "not-domain.xml",
		"namespaced-root.xml", "truncated.xml", "xxe.xml",      "xxe-param.xml",
		"external-dtd.xml", "attr-default.xml", "bad-mac.xml", "status-no-state.xml",
		"status-no-domain.xml",
	};
	struct vp_domain d = {.name = "untouched"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = fixture(DOMAIN, bad[i], &d);
		tap_ok(r == -EINVAL, "%s refused with -EINVAL (got %d)", bad[i], r);
	}
	tap_streq(d.name, "untouched", "*ret untouched on failure");
	tap_ok(vp_domain_parse("", 0, &d) == -EINVAL, "empty buffer refused");
	tap_ok(vp_domain_parse("<domain/>", 9, &d) == -EINVAL, "bare <domain/> refused");
}

static void test_domain_billion_laughs(void)
{
	struct vp_domain d = {0};
	double base = 1e9, t0 = tap_now(), dt;
	int r = fixture(DOMAIN, "billion-laughs.xml", &d);

	dt = tap_now() - t0;
	tap_ok(r == -EINVAL, "billion laughs refused (got %d)", r);
	/* the baseline: an ordinary domain read and parsed the same way, best of 3 */
	for (int i = 0; i < 3; i++) {
		struct vp_domain ok = {0};
		t0 = tap_now();
		fixture(DOMAIN, "live-2nics.xml", &ok);
		t0 = tap_now() - t0;
		base = t0 < base ? t0 : base;
		vp_domain_free(&ok);
	}
	tap_ratio(dt, base, 50, "billion laughs refused quickly (at most 50x an ordinary domain)");
}

/* A FIFO nobody writes to: a parser that opened it would block, and the alarm ends the test.
 * So returning at all proves no external entity or DTD was read. */
static void test_domain_no_file_read(void)
{
	char fifo[64], buf[1024];
	struct vp_domain d = {0};
	static const struct {
		const char *pre, *post;
	} docs[] = {
		{"<!DOCTYPE domain [<!ENTITY x SYSTEM \"",
		 "\">]><domain><name>&x;</name><uuid>" UUID_WEB1 "</uuid></domain>"},
		{"<!DOCTYPE domain [<!ENTITY % p SYSTEM \"",
		 "\"> %p;]><domain><name>a</name><uuid>" UUID_WEB1 "</uuid></domain>"},
		{"<!DOCTYPE domain SYSTEM \"",
		 "\"><domain><name>a</name><uuid>" UUID_WEB1 "</uuid></domain>"},
	};

	snprintf(fifo, sizeof(fifo), "/tmp/vp-test-inputs-%ld.fifo", (long)getpid());
	unlink(fifo);
	if (!tap_ok(mkfifo(fifo, 0600) == 0, "mkfifo %s", fifo))
		return;
	alarm(20);
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		int n = snprintf(buf, sizeof(buf), "%s%s%s", docs[i].pre, fifo, docs[i].post);
		int r = vp_domain_parse(buf, (size_t)n, &d);
		tap_ok(r == -EINVAL, "external reference %zu refused without reading it (%d)", i, r);
	}
	alarm(0);
	unlink(fifo);
}

/* Domain with n minimal NICs and the given name, in a heap buffer. */
static char *gen_domain(size_t nics, const char *name, size_t *ret_len)
{
	size_t cap = 256 + strlen(name) + nics * 160, len = 0;
	char *b = malloc(cap);

	if (!b)
		abort();
	len += (size_t)snprintf(b + len, cap - len,
	                        "<domain type='qemu'><name>%s</name><uuid>" UUID_WEB1
	                        "</uuid><devices>", name);
	for (size_t i = 0; i < nics; i++)
		len += (size_t)snprintf(b + len, cap - len,
		                        "<interface type='network'><mac address='52:54:00:00:%02zx:%02zx'/>"
		                        "<source network='default'/><target dev='vnet%zu'/></interface>",
		                        (i >> 8) & 0xff, i & 0xff, i);
	len += (size_t)snprintf(b + len, cap - len, "</devices></domain>");
	*ret_len = len;
	return b;
}

static void test_domain_bounds(void)
{
	struct vp_domain d = {0};
	char name[VP_NAME_MAX + 1];
	size_t len;
	char *b;
	int r;

	b = gen_domain(300, "many", &len);
	r = vp_domain_parse(b, len, &d);
	tap_ok(r == 0 && d.n_nics == 300, "300 NICs parse (r=%d, n=%zu)", r, d.n_nics);
	if (d.n_nics == 300)
		tap_streq(d.nics[299].mac, "52:54:00:00:01:2b", "last of 300 NICs");
	vp_domain_free(&d);
	free(b);

	b = gen_domain(VP_MAX_NICS, "max", &len);
	r = vp_domain_parse(b, len, &d);
	tap_ok(r == 0 && d.n_nics == VP_MAX_NICS, "VP_MAX_NICS NICs parse (r=%d)", r);
	vp_domain_free(&d);
	free(b);

	b = gen_domain(VP_MAX_NICS + 1, "toomany", &len);
	r = vp_domain_parse(b, len, &d);
	tap_ok(r == -E2BIG, "VP_MAX_NICS+1 NICs -> -E2BIG (got %d)", r);
	free(b);

	memset(name, 'n', VP_NAME_MAX - 1);
	name[VP_NAME_MAX - 1] = '\0';
	b = gen_domain(0, name, &len);
	r = vp_domain_parse(b, len, &d);
	tap_ok(r == 0 && strlen(d.name) == VP_NAME_MAX - 1, "name of VP_NAME_MAX-1 bytes fits");
	vp_domain_free(&d);
	free(b);
	name[VP_NAME_MAX - 1] = 'n';
	name[VP_NAME_MAX] = '\0';
	b = gen_domain(0, name, &len);
	tap_ok(vp_domain_parse(b, len, &d) == -EINVAL, "name of VP_NAME_MAX bytes refused, not cut");
	free(b);

	b = malloc(VP_DOMAIN_XML_MAX + 1u);   /* never touched: the length alone is refused */
	tap_ok(b && vp_domain_parse(b, VP_DOMAIN_XML_MAX + 1u, &d) == -E2BIG,
	       "document over VP_DOMAIN_XML_MAX -> -E2BIG");
	free(b);
}

/* TOTAL bytes: head, then `fill` repeated, then tail. */
static char *gen_big(size_t total, const char *head, const char *fill, const char *tail,
                     size_t *ret_len)
{
	size_t hl = strlen(head), fl = strlen(fill), tl = strlen(tail), len;
	char *b = malloc(total + 1);

	if (!b)
		abort();
	memcpy(b, head, hl);
	for (len = hl; len + fl + tl <= total; len += fl)
		memcpy(b + len, fill, fl);
	memcpy(b + len, tail, tl);
	*ret_len = len + tl;
	return b;
}

/* Baselines of a 50 MiB document, so that what is timed is ours (the guards, the walk, the
 * copies we keep), not libxml2 nor the machine. Where our guard stops the parser early (too many
 * elements): the same shape at an eighth of the size, best of 3; a parser linear in its input
 * takes 8x as long for the whole, and 64x fails a hang or a blowup. Where libxml2 reads it all
 * (one huge text node or attribute): libxml2 alone on the same bytes with the options lib/xml.c
 * gives it, the tree freed. Against its eighth that would time libxml2, which grows such a node
 * by copies: 30x its eighth on one machine, 80-125x on a fresh one, same build. */
static double time_parse_best3(const char *head, const char *fill, const char *tail)
{
	double best = 1e9;
	size_t len;
	char *b = gen_big(50u << 17, head, fill, tail, &len);

	for (int i = 0; i < 3; i++) {
		struct vp_domain d = {0};
		double t0 = tap_now();
		vp_domain_parse(b, len, &d);
		t0 = tap_now() - t0;
		best = t0 < best ? t0 : best;
		vp_domain_free(&d);
	}
	free(b);
	return best;
}

static double time_libxml2(const char *b, size_t len)
{
	double t0 = tap_now();
	xmlDocPtr doc = xmlReadMemory(b, (int)len, NULL, NULL,
	                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	                              XML_PARSE_NOBLANKS);
	xmlFreeDoc(doc);
	return tap_now() - t0;
}

static void test_domain_huge(void)
{
	static const char head[] = "<domain type='qemu'><name>big</name><uuid>" UUID_WEB1 "</uuid>";
	static const struct {
		const char *what, *head, *fill, *tail;
		int err;
		bool guard;     /* our guard stops it: timed against its eighth */
	} cases[] = {
		{"many elements", "<metadata><m:x xmlns:m='urn:x'>", "<m:i a='1'/>",
		 "</m:x></metadata></domain>", -E2BIG, true},
		/* libxml2 2.9 takes a text node this big, newer ones refuse it: either is fine */
		{"one huge text node", "<description>", "aaaaaaaaaaaaaaaa", "</description></domain>",
		 0, false},
		{"one huge attribute", "<devices><interface type='", "bbbbbbbbbbbbbbbb",
		 "'/></devices></domain>", -EINVAL, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vp_domain d = {0};
		char h[256];
		size_t len;
		snprintf(h, sizeof(h), "%s%s", head, cases[i].head);
		double base = cases[i].guard ? time_parse_best3(h, cases[i].fill, cases[i].tail) : 0;
		char *b = gen_big(50u << 20, h, cases[i].fill, cases[i].tail, &len);
		double t0;

		if (!cases[i].guard)
			base = time_libxml2(b, len);
		t0 = tap_now();
		int r = vp_domain_parse(b, len, &d);
		double dt = tap_now() - t0;
		free(b);
		if (cases[i].err)
			tap_ok(r == cases[i].err, "50 MiB, %s: refused with %d (got %d)", cases[i].what,
			       cases[i].err, r);
		else
			tap_ok((r == 0 && strcmp(d.name, "big") == 0) || r == -EINVAL,
			       "50 MiB, %s: parsed or refused (got %d)", cases[i].what, r);
		vp_domain_free(&d);
		if (cases[i].guard)
			tap_ratio(dt, base, 64, "50 MiB, %s: at most 64x the time of its eighth",
			          cases[i].what);
		else
			tap_ratio(dt, base, 4, "50 MiB, %s: at most 4x the time of libxml2 alone",
			          cases[i].what);
	}
	tap_ok(unmeasured() || max_rss_mib() < 400, "peak memory stays bounded (%ld MiB)",
	       max_rss_mib());
}

/* ---- network status XML -------------------------------------------------------------- */

static void test_network_9_0(void)
{
	struct vp_network n = {0};

	tap_ok(fixture(NETWORK, "status-9.0.xml", &n) == 0, "libvirt 9.0 status XML parses");
	tap_streq(n.name, "default", "network name");
	tap_streq(n.bridge, "virbr0", "bridge");
	tap_ok(n.mode == VP_FWMODE_NAT, "forward mode nat");
	tap_ok(n.fw == VP_LVFW_UNKNOWN, "no <firewall>: backend unknown");
	if (tap_ok(n.n_subnets == 2, "two subnets (got %zu)", n.n_subnets)) {
		tap_streq(addr_s(&n.subnets[0].gateway), "192.168.122.1", "IPv4 gateway");
		tap_streq(cidr_s(&n.subnets[0].net), "192.168.122.0/24", "netmask -> /24");
		tap_streq(addr_s(&n.subnets[1].gateway), "2001:db8:ca2:2::1", "IPv6 gateway");
		tap_streq(cidr_s(&n.subnets[1].net), "2001:db8:ca2:2::/64", "IPv6 prefix");
	}
	if (tap_ok(n.n_hosts == 5, "five static hosts (got %zu)", n.n_hosts)) {
		tap_streq(n.hosts[0].mac, "52:54:00:aa:bb:01", "host mac lowercased");
		tap_streq(n.hosts[0].name, "web1", "host name");
		tap_streq(addr_s(&n.hosts[0].ip), "192.168.122.40", "host ip");
		tap_streq(n.hosts[2].id, "0:3:0:1:52:54:0:aa:bb:1", "IPv6 host id");
		tap_streq(n.hosts[2].mac, "", "IPv6 host without mac");
		tap_streq(addr_s(&n.hosts[3].ip), "2001:db8:ca2:2::41", "IPv6 host ip");
	}
	const struct vp_subnet *s = vp_network_subnet(&n, AF_INET6, NULL);
	tap_ok(s == &n.subnets[1], "first IPv6 subnet");
	struct vp_addr a;
	vp_addr_parse("192.168.122.77", 14, &a);
	tap_ok(vp_network_subnet(&n, AF_INET, &a) == &n.subnets[0], "subnet containing address");
	vp_addr_parse("192.168.123.77", 14, &a);
	tap_ok(vp_network_subnet(&n, AF_INET, &a) == NULL, "no subnet for a foreign address");
	tap_ok(vp_network_subnet(NULL, AF_INET, NULL) == NULL, "vp_network_subnet(NULL)");
	vp_network_free(&n);
	vp_network_free(&n);
	vp_network_free(NULL);
}

static void test_network_variants(void)
{
	struct vp_network n = {0};

	tap_ok(fixture(NETWORK, "status-11-nftables.xml", &n) == 0, "libvirt 11 status XML parses");
	tap_ok(n.fw == VP_LVFW_NFTABLES, "firewall backend nftables (sibling of <network>)");
	tap_ok(n.n_subnets == 1 && n.subnets[0].net.prefix == 24, "prefix='24'");
	tap_ok(n.n_hosts == 0 && n.hosts == NULL, "no static hosts");
	vp_network_free(&n);

	tap_ok(fixture(NETWORK, "status-iptables-inside.xml", &n) == 0, "routed network parses");
	tap_ok(n.fw == VP_LVFW_IPTABLES, "firewall backend iptables (inside <network>)");
	tap_ok(n.mode == VP_FWMODE_ROUTE, "forward mode route");
	tap_ok(n.n_subnets == 1 && strcmp(cidr_s(&n.subnets[0].net), "198.51.100.64/26") == 0,
	       "netmask 255.255.255.192 -> 198.51.100.64/26");
	vp_network_free(&n);

	tap_ok(fixture(NETWORK, "isolated.xml", &n) == 0, "isolated network parses");
	tap_ok(n.mode == VP_FWMODE_NONE, "no <forward>: isolated");
	tap_ok(n.n_subnets == 1 && strcmp(cidr_s(&n.subnets[0].net), "10.0.0.0/8") == 0,
	       "no netmask/prefix: classful default");
	vp_network_free(&n);

	tap_ok(fixture(NETWORK, "bare-open.xml", &n) == 0, "bare <network> parses");
	tap_ok(n.mode == VP_FWMODE_OPEN, "forward mode open");
	tap_ok(n.n_subnets == 2 && strcmp(cidr_s(&n.subnets[0].net), "203.0.113.0/25") == 0,
	       "family='ipv4' prefix='25'");
	tap_ok(n.n_subnets == 2 && n.subnets[1].net.prefix == 64, "IPv6 without prefix: /64");
	vp_network_free(&n);

	tap_ok(fixture(NETWORK, "forward-nomode.xml", &n) == 0 && n.mode == VP_FWMODE_NAT,
	       "<forward/> without mode is nat");
	vp_network_free(&n);
	tap_ok(fixture(NETWORK, "forward-bridge.xml", &n) == 0 && n.mode == VP_FWMODE_OTHER &&
	       n.n_subnets == 0, "forward mode bridge is OTHER, no subnets");
	vp_network_free(&n);
}

static void test_network_errors(void)
{
	static const char *const bad[] = {
		"no-bridge.xml",       "not-network.xml", "bad-netmask.xml", "mask-and-prefix.xml",
		"family-mismatch.xml", "host-bad-ip.xml", "entity.xml",     "bad-bridge.xml",
		"long-bridge.xml",
	};
	struct vp_network n = {.name = "untouched"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = fixture(NETWORK, bad[i], &n);
		tap_ok(r == -EINVAL, "%s refused (got %d)", bad[i], r);
	}
	tap_streq(n.name, "untouched", "*ret untouched on failure");

	struct vp_buf b = {0};
	vp_buf_printf(&b, "<network><name>n</name><bridge name='b'/>");
	for (unsigned i = 0; i <= VP_MAX_SUBNETS; i++)
		vp_buf_printf(&b, "<ip address='10.%u.0.1' prefix='24'/>", i);
	vp_buf_printf(&b, "</network>");
	tap_ok(vp_network_parse(b.s, b.len, &n) == -E2BIG, "VP_MAX_SUBNETS+1 <ip> -> -E2BIG");
	vp_buf_free(&b);

	vp_buf_printf(&b, "<network><name>n</name><bridge name='b'/><ip address='10.0.0.1' "
	                  "prefix='8'><dhcp>");
	for (unsigned i = 0; i <= VP_MAX_HOSTS; i++)
		vp_buf_printf(&b, "<host mac='52:54:00:%02x:%02x:%02x' ip='10.%u.%u.%u'/>",
		              (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, (i >> 16) & 0xff,
		              (i >> 8) & 0xff, i & 0xff);
	vp_buf_printf(&b, "</dhcp></ip></network>");
	tap_ok(vp_network_parse(b.s, b.len, &n) == -E2BIG, "VP_MAX_HOSTS+1 hosts -> -E2BIG");
	vp_buf_free(&b);
}

/* ---- leases ---------------------------------------------------------------------------- */

/* The address of the lease vp_leases_find() picks, or "none". */
static const char *find_s(const struct vp_leases *l, const char *mac, int family, time_t now)
{
	const struct vp_lease *x = vp_leases_find(l, mac, family, now);
	return x ? addr_s(&x->ip) : "none";
}

static void test_leases_real(void)
{
	struct vp_leases l = {0};

	tap_ok(fixture(LEASES, "real.status", &l) == 0, "real lease file parses");
	if (!tap_ok(l.n == 4, "four leases (got %zu)", l.n))
		goto out;
	tap_streq(addr_s(&l.l[0].ip), "192.168.122.55", "IPv4 lease address");
	tap_ok(l.l[0].expiry == 1795597282 && !l.l[0].has_iaid, "IPv4 lease expiry, no iaid");
	tap_ok(l.l[1].has_iaid && l.l[1].ip.family == AF_INET6, "IPv6 lease has iaid");
	tap_streq(l.l[2].mac, "52:54:00:aa:bb:05", "mac lowercased");
	tap_streq(l.l[3].mac, "", "DHCPv6 lease without mac");
	tap_ok(vp_leases_find(&l, "52:54:00:aa:bb:01", AF_INET, NOW) == &l.l[0], "IPv4 lease by mac");
	tap_streq(find_s(&l, "52:54:00:AA:BB:01", AF_INET6, NOW), "2001:db8:ca2:2::c5",
	          "IPv6 lease by mac, case-insensitive");
	tap_streq(find_s(&l, "", AF_INET6, NOW), "none", "empty mac matches nothing");
	tap_streq(find_s(&l, "52:54:00:aa:bb:01", AF_INET, 1795597282), "none",
	          "lease expired at its expiry time");
out:
	vp_leases_free(&l);
	vp_leases_free(NULL);
}

static void test_leases_shapes(void)
{
	static const struct {
		const char *file;
		int err;
		size_t n;
	} cases[] = {
		{"empty.status", 0, 0},         {"whitespace.status", 0, 0},
		{"truncated.status", -EINVAL, 0}, {"object.status", -EINVAL, 0},
		{"trailing.status", -EINVAL, 0},  {"hostile.status", 0, 2},
		{"malformed.status", 0, 2},
	};
	struct vp_leases l;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		l = (struct vp_leases){.n = 999};
		int r = fixture(LEASES, cases[i].file, &l);
		size_t want_n = cases[i].err ? 999 : cases[i].n;
		tap_ok(r == cases[i].err && l.n == want_n, "%s: %d with %zu entries (got %d, %zu)",
		       cases[i].file, cases[i].err, want_n, r, l.n);
		if (r == 0)
			vp_leases_free(&l);
	}
	fixture(LEASES, "malformed.status", &l);
	tap_ok(l.n == 2 && strcmp(l.l[0].mac, "52:54:00:aa:bb:0a") == 0 &&
	       strcmp(addr_s(&l.l[1].ip), "192.168.122.100") == 0,
	       "only the well-formed entries survive");
	vp_leases_free(&l);
	fixture(LEASES, "hostile.status", &l);
	tap_ok(vp_leases_find(&l, "52:54:00:aa:bb:08", AF_INET, NOW) != NULL &&
	       vp_leases_find(&l, "52:54:00:aa:bb:09", AF_INET, NOW) != NULL,
	       "hostile hostnames do not hide their leases");
	vp_leases_free(&l);
	tap_ok(vp_leases_parse("[1,\0]", 5, &l) == -EINVAL, "NUL byte refused");
	tap_ok(vp_leases_parse("[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]", 37, &l) == -EINVAL,
	       "nesting deeper than 16 refused");
}

static void test_leases_expiry(void)
{
	struct vp_leases l = {0};

	tap_ok(fixture(LEASES, "expired.status", &l) == 0 && l.n == 5, "expired.status parses");
	tap_streq(find_s(&l, "52:54:00:aa:bb:01", AF_INET, NOW), "none", "only expired leases");
	tap_streq(find_s(&l, "52:54:00:aa:bb:01", AF_INET, 1795450000), "192.168.122.11",
	          "earlier, one is still valid");
	tap_streq(find_s(&l, "52:54:00:aa:bb:02", AF_INET, NOW), "192.168.122.20",
	          "absent expiry-time = infinite, newest");
	tap_streq(find_s(&l, "52:54:00:aa:bb:03", AF_INET, NOW), "192.168.122.30",
	          "expiry-time 0 = infinite");
	vp_leases_free(&l);

	tap_ok(fixture(LEASES, "dup-mac.status", &l) == 0, "dup-mac.status parses");
	tap_streq(find_s(&l, "52:54:00:aa:bb:01", AF_INET, NOW), "10.9.9.9",
	          "two leases for one MAC: newest wins");
	tap_streq(find_s(&l, "52:54:00:aa:bb:02", AF_INET, NOW), "192.168.122.71",
	          "equal expiry: later entry wins");
	vp_leases_free(&l);
}

/* A lease file of just under LIMIT bytes whose last lease is 52:54:00:ff:ff:fe, parsed into *l
 * (*ret_n: the leases before the last one). Returns how long the parse took, in seconds: a
 * parser linear in its input takes 8x as long for 8x the bytes; the check allows 32x. */
static double time_leases(size_t limit, struct vp_leases *l, size_t *ret_n)
{
	struct vp_buf b = {0};
	char pad[161];
	size_t n = 0;
	double t0;

	memset(pad, 'h', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	vp_buf_printf(&b, "[\n");
	while (b.len < limit - 4096) {
		vp_buf_printf(&b, "  {\"ip-address\": \"10.%zu.%zu.%zu\", \"mac-address\": "
		                  "\"52:54:00:%02zx:%02zx:%02zx\", \"hostname\": \"%s\", "
		                  "\"expiry-time\": 1795597282},\n",
		              (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, (n >> 16) & 0xff,
		              (n >> 8) & 0xff, n & 0xff, pad);
		n++;
	}
	vp_buf_printf(&b, "  {\"ip-address\": \"192.168.122.250\", \"mac-address\": "
	                  "\"52:54:00:ff:ff:fe\"}\n]\n");
	t0 = tap_now();
	if (vp_leases_parse(b.s, b.len, l) < 0)
		l->n = 0;
	t0 = tap_now() - t0;
	vp_buf_free(&b);
	*ret_n = n;
	return t0;
}

static void test_leases_bounds(void)
{
	struct vp_buf b = {0};
	struct vp_leases l = {0};
	size_t n = 0;
	int r;

	/* a 100 KB hostname full of escaped control characters */
	vp_buf_printf(&b, "[{\"ip-address\":\"192.168.122.5\",\"mac-address\":\"52:54:00:aa:bb:01\","
	                  "\"hostname\":\"");
	for (int i = 0; i < 100000 / 12; i++)
		vp_buf_printf(&b, "\\u001b[31m\\r");
	vp_buf_printf(&b, "\",\"expiry-time\":0}]");
	r = vp_leases_parse(b.s, b.len, &l);
	tap_ok(r == 0 && l.n == 1, "100 KB hostile hostname: entry kept (r=%d)", r);
	vp_leases_free(&l);
	vp_buf_free(&b);

	/* just under VP_LEASES_MAX_SIZE, the last entry must still be found */
	double base = 1e9;
	for (int i = 0; i < 3; i++) {
		double dt = time_leases(VP_LEASES_MAX_SIZE / 8, &l, &n);
		base = dt < base ? dt : base;
		vp_leases_free(&l);
	}
	double dt = time_leases(VP_LEASES_MAX_SIZE, &l, &n);
	tap_ok(l.n == n + 1, "%zu leases just under the bound parse (n=%zu)", n + 1, l.n);
	tap_ok(vp_leases_find(&l, "52:54:00:ff:ff:fe", AF_INET, NOW) != NULL, "last lease found");
	tap_ratio(dt, base, 32, "near-bound file parsed in at most 32x the time of its eighth");
	vp_leases_free(&l);

	char *big = malloc(VP_LEASES_MAX_SIZE + 1u);   /* never read: refused by length */
	tap_ok(big && vp_leases_parse(big, VP_LEASES_MAX_SIZE + 1u, &l) == -E2BIG,
	       "file over VP_LEASES_MAX_SIZE -> -E2BIG");
	free(big);

	vp_buf_printf(&b, "[");
	for (size_t i = 0; i <= VP_LEASES_MAX; i++)
		vp_buf_printf(&b, "%s{}", i ? "," : "");
	vp_buf_printf(&b, "]");
	tap_ok(vp_leases_parse(b.s, b.len, &l) == -E2BIG, "VP_LEASES_MAX+1 entries -> -E2BIG");
	vp_buf_free(&b);
}

/* ---- libvirt's status file (/run/libvirt/qemu/<name>.xml) ----------------------------- */

static bool nic_eq(const struct vp_nic *a, const struct vp_nic *b)
{
	return a->type == b->type && !strcmp(a->mac, b->mac) && !strcmp(a->network, b->network) &&
	       !strcmp(a->bridge, b->bridge) && !strcmp(a->target, b->target);
}

static void test_status_full(void)
{
	struct vp_domain live = {0}, st = {0};
	bool same;

	tap_ok(fixture(DOMAIN, "status-web1.xml", &st) == 0, "full libvirt 9.0 status file parses");
	tap_ok(st.status && st.running, "status file of a running guest: status, running");
	tap_streq(st.name, "web1", "name from the wrapped <domain>");
	tap_streq(st.uuid, UUID_WEB1, "uuid from the wrapped <domain>");
	tap_ok(fixture(DOMAIN, "live-2nics.xml", &live) == 0 && !live.status && live.running,
	       "plain <domain>: not a status file, running");
	same = st.n_nics == 2 && live.n_nics == 2;
	for (size_t i = 0; same && i < st.n_nics; i++)
		same = nic_eq(&st.nics[i], &live.nics[i]);
	tap_ok(same, "status file gives the live XML's NICs (bridge from <actual>)");
	if (st.n_nics == 2)
		tap_streq(st.nics[0].bridge, "virbr0", "NIC 0 bridge from <actual><source bridge=..>");
	vp_domain_free(&st);
	vp_domain_free(&live);
}

static void test_status_variants(void)
{
	static const char *const unknown_state = "<domstatus state='hibernating'><domain><name>a"
		"</name><uuid>" UUID_WEB1 "</uuid></domain></domstatus>";
	static const char *const actual_in_domain = "<domain><name>a</name><uuid>" UUID_WEB1
		"</uuid><devices><interface type='network'><source network='n'/><actual type='bridge'>"
		"<source bridge='br9'/></actual></interface></devices></domain>";
	struct vp_domain d = {0};

	tap_ok(fixture(DOMAIN, "status-actual.xml", &d) == 0 && d.n_nics == 3, "<actual> NICs parse");
	if (d.n_nics == 3) {
		tap_ok(d.nics[0].type == VP_NIC_NETWORK && !strcmp(d.nics[0].bridge, "virbr0"),
		       "actual network: type network, its bridge");
		tap_ok(d.nics[1].type == VP_NIC_BRIDGE && !strcmp(d.nics[1].bridge, "br0") &&
		       !strcmp(d.nics[1].network, "host-bridge"), "actual bridge: type bridge, host bridge");
		tap_ok(d.nics[2].type == VP_NIC_OTHER && !d.nics[2].bridge[0] &&
		       !strcmp(d.nics[2].target, "macvtap0"), "actual direct: other, no bridge");
	}
	vp_domain_free(&d);
	tap_ok(fixture(DOMAIN, "status-paused.xml", &d) == 0 && d.status && d.running,
	       "paused guest counts as running");
	tap_streq(d.uuid, "c7a5fdbd-edaf-9455-926a-d65c16db1809", "status uuid normalised");
	vp_domain_free(&d);
	tap_ok(fixture(DOMAIN, "status-shutoff.xml", &d) == 0 && d.status && !d.running,
	       "state='shutoff': not running");
	vp_domain_free(&d);
	tap_ok(vp_domain_parse(unknown_state, strlen(unknown_state), &d) == 0 && d.running,
	       "unknown state counts as running");
	vp_domain_free(&d);
	tap_ok(vp_domain_parse(actual_in_domain, strlen(actual_in_domain), &d) == 0 &&
	       d.n_nics == 1 && d.nics[0].type == VP_NIC_NETWORK && !d.nics[0].bridge[0],
	       "<actual> outside a status file is ignored, as libvirt ignores it");
	vp_domain_free(&d);
}

/* A status file around a domain with VP_MAX_NICS NICs and `flags` qemuCaps flags. */
static int parse_status(size_t flags, struct vp_domain *ret)
{
	struct vp_buf b = {0};
	size_t len;
	char *dom = gen_domain(VP_MAX_NICS, "caps", &len);
	int r;

	vp_buf_printf(&b, "<domstatus state='running' reason='booted' pid='1'><qemuCaps>");
	for (size_t i = 0; i < flags; i++)
		vp_buf_printf(&b, "<flag name='f%zu'/>", i);
	vp_buf_printf(&b, "</qemuCaps>");
	vp_buf_append(&b, dom, len);
	vp_buf_printf(&b, "</domstatus>");
	r = b.err ? b.err : vp_domain_parse(b.s, b.len, ret);
	vp_buf_free(&b);
	free(dom);
	return r;
}

static void test_status_bounds(void)
{
	struct vp_domain d = {0};
	int r = parse_status(5000, &d);

	tap_ok(r == 0 && d.n_nics == VP_MAX_NICS, "5000 qemuCaps flags and VP_MAX_NICS NICs (r=%d)", r);
	vp_domain_free(&d);
	r = parse_status(200000, &d);
	tap_ok(r == -E2BIG, "200 000 flags: element bound applies to status files (got %d)", r);
}

int main(void)
{
	test_domain_live();
	test_domain_odd_name();
	test_domain_errors();
	test_domain_billion_laughs();
	test_domain_no_file_read();
	test_domain_bounds();
	test_domain_huge();
	test_network_9_0();
	test_network_variants();
	test_network_errors();
	test_leases_real();
	test_leases_shapes();
	test_leases_expiry();
	test_leases_bounds();
	test_status_full();
	test_status_variants();
	test_status_bounds();
	return tap_done();
}

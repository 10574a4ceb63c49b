/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Planner + renderers: forwards in, rule text out, compared with golden files. fixtures/plan/
 * NAME.rules: iptables-save text, what iptables-nft-restore is given and what the libiptc
 * backend's entries read back as (test-iptc checks that byte for byte); NAME.nft: the nft
 * commands of the nftables backend (--dry-run's output there). IPv4 and IPv6 cases.
 * VP_UPDATE_GOLDEN=1 rewrites them; review the diff like code. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw.h"
#include "plan.h"
#include "render-xt.h"
#include "tap.h"

#define UUID "9f1c2b7e-1d3a-4c5b-8e6f-0a1b2c3d4e5f"

static struct vp_subnet subnet4, subnet6;

static struct vp_forward fwd(int proto, unsigned hp, unsigned hpe, unsigned gp, unsigned gpe)
{
	struct vp_forward f = {
		.domain = (char *)"web1", .proto = proto, .family = AF_INET,
		.host_port = (uint16_t)hp, .host_port_end = (uint16_t)hpe,
		.guest_port = (uint16_t)gp, .guest_port_end = (uint16_t)gpe,
		.local = true, .hairpin = true,
	};
	return f;
}

static struct vp_addr addr_of(const char *s)
{
	struct vp_addr a;
	if (vp_addr_parse(s, strlen(s), &a) < 0)
		abort();
	return a;
}

static struct vp_cidr cidr_of(const char *s)
{
	struct vp_cidr c;
	if (vp_cidr_parse(s, strlen(s), &c) < 0)
		abort();
	return c;
}

static struct vp_forward fwd6(int proto, unsigned hp, unsigned hpe, unsigned gp, unsigned gpe)
{
	struct vp_forward f = fwd(proto, hp, hpe, gp, gpe);
	f.family = AF_INET6;
	return f;
}

/* Compare out with fixtures/plan/NAME.EXT (or rewrite that file with VP_UPDATE_GOLDEN=1). */
static void check_golden(const char *name, const char *ext, const struct vp_buf *out)
{
	char path[256];

	snprintf(path, sizeof(path), "fixtures/plan/%s.%s", name, ext);
	if (getenv("VP_UPDATE_GOLDEN")) {
		FILE *fp = fopen(path, "w");
		if (fp) {
			fputs(out->s ? out->s : "", fp);
			fclose(fp);
		}
	}
	char *want = tap_fixture(path, NULL);
	tap_streq(out->s ? out->s : "", want, "%s: rendered rules match %s", name, path);
	free(want);
}

/* Plan n forwards to one guest of guest's family, render them for every backend. */
static void golden(const char *name, const struct vp_forward *f, size_t n, const char *guest)
{
	struct vp_target t[8];
	struct vp_ruleset rs;
	struct vp_buf out = {0};
	struct vp_addr g = addr_of(guest);
	int other = g.family == AF_INET ? AF_INET6 : AF_INET;

	for (size_t i = 0; i < n; i++)
		t[i] = (struct vp_target){.f = &f[i], .guest = g,
		                          .subnet = g.family == AF_INET ? &subnet4 : &subnet6,
		                          .bridge = "virbr0"};
	tap_ok(vp_ruleset_init(&rs, UUID) == 0, "%s: ruleset init", name);
	tap_ok(vp_plan(t, n, &rs) == 0, "%s: plan", name);
	vp_render_xt(&rs, g.family, &out);
	check_golden(name, "rules", &out);
	vp_buf_free(&out);
	vp_render_xt(&rs, other, &out);
	tap_ok(out.len == 0, "%s: nothing rendered for the other family", name);
	vp_buf_free(&out);
#ifdef HAVE_LIBNFTABLES
	vp_render_nft(&rs, g.family, &out);
	check_golden(name, "nft", &out);
	vp_buf_free(&out);
	vp_render_nft(&rs, other, &out);
	tap_ok(out.len == 0, "%s: no nft command for the other family", name);
	vp_buf_free(&out);
#endif
	vp_ruleset_free(&rs);
}

static void test_errors(void)
{
	struct vp_forward f = fwd(IPPROTO_TCP, 2222, 2222, 22, 22);
	struct vp_target t = {.f = &f, .guest = addr_of("192.168.122.10"), .subnet = &subnet4,
	                      .bridge = "a-bridge-name-longer-than-ifnamsiz"};
	struct vp_ruleset rs;

	vp_ruleset_init(&rs, UUID);
	tap_ok(vp_plan(&t, 1, &rs) < 0 && rs.n == 0, "bridge name over IFNAMSIZ is refused");
	t.bridge = "virbr0";
	t.guest.family = AF_INET6;
	tap_ok(vp_plan(&t, 1, &rs) < 0 && rs.n == 0, "guest family mismatch is refused");
	struct vp_forward f6 = fwd6(IPPROTO_TCP, 2222, 2222, 22, 22);
	t = (struct vp_target){.f = &f6, .guest = addr_of("2001:db8:122::10"), .subnet = &subnet4,
	                       .bridge = "virbr0"};
	tap_ok(vp_plan(&t, 1, &rs) < 0 && rs.n == 0, "IPv6 guest with an IPv4 subnet is refused");
	t.subnet = &subnet6;
	f6.host_addr = addr_of("198.51.100.7");
	tap_ok(vp_plan(&t, 1, &rs) < 0 && rs.n == 0, "IPv6 forward with an IPv4 host address is refused");
	/* A name that is no interface name (a quote, a blank) never reaches a rule. */
	f6.host_addr = (struct vp_addr){0};
	t.bridge = "br\"0";
	tap_ok(vp_plan(&t, 1, &rs) < 0 && rs.n == 0, "a bridge name with a quote is refused");
	t.bridge = "virbr0 -j ACCEPT";
	tap_ok(vp_plan(&t, 1, &rs) < 0 && rs.n == 0, "a bridge name with blanks is refused");
#ifdef HAVE_LIBNFTABLES
	/* And should one come anyway, nft gets no command at all, a comment saying so. */
	struct vp_buf out = {0};
	t.bridge = "virbr0";
	tap_ok(vp_plan(&t, 1, &rs) == 0 && rs.n > 0, "the same forward plans on virbr0");
	snprintf(rs.r[0].bridge, sizeof(rs.r[0].bridge), "br\"0");
	vp_render_nft(&rs, AF_INET6, &out);
	tap_streq(out.s ? out.s : "", "# ip6 rules cannot be rendered: Invalid argument\n",
	          "a rule with a quote in its bridge is not rendered for nft");
	vp_buf_free(&out);
#endif
	vp_ruleset_free(&rs);
	char longuuid[80];
	memset(longuuid, 'a', sizeof(longuuid) - 1);
	longuuid[79] = '\0';
	tap_ok(vp_ruleset_init(&rs, longuuid) < 0, "over-long owner is refused");
}

/* hairpin=no: the PREROUTING DNAT skips the bridge (! -i / iifname !=), and only it; the OUTPUT
 * DNAT for the host's own clients stays; no hairpin masquerade. A forward of the same guest port
 * without it keeps its own DNAT open to the bridge and the shared hairpin rule. */
static void test_hairpin_no(struct vp_cidr *from, const char *name, const char *guest,
                            const struct vp_addr *host)
{
	int fam = host->family;
	struct vp_forward f[3] = {
		fwd(IPPROTO_TCP, 2222, 2222, 22, 22),
		fwd(IPPROTO_TCP, 8080, 8081, 80, 81),
		fwd(IPPROTO_TCP, 2223, 2223, 22, 22),
	};
	for (size_t i = 0; i < 3; i++)
		f[i].family = fam;
	f[0].hairpin = false;
	f[0].from = from;
	f[0].n_from = 1;
	f[1].hairpin = false;
	f[1].host_addr = *host;
	golden(name, f, 3, guest);

	struct vp_target t[3];
	struct vp_ruleset rs;
	size_t pre_not = 0, other_not = 0, hairpin = 0;
	for (size_t i = 0; i < 3; i++)
		t[i] = (struct vp_target){.f = &f[i], .guest = addr_of(guest), .bridge = "virbr0",
		                          .subnet = fam == AF_INET ? &subnet4 : &subnet6};
	vp_ruleset_init(&rs, UUID);
	tap_ok(vp_plan(t, 3, &rs) == 0, "%s: plan", name);
	for (size_t i = 0; i < rs.n; i++) {
		pre_not += rs.r[i].stage == VP_ST_PRE_DNAT && rs.r[i].not_from_bridge;
		other_not += rs.r[i].stage != VP_ST_PRE_DNAT && rs.r[i].not_from_bridge;
		hairpin += rs.r[i].stage == VP_ST_POST_HAIRPIN;
	}
	tap_ok(pre_not == 2 && other_not == 0, "%s: the 2 hairpin=no DNATs in PREROUTING skip the "
	       "bridge, no other rule does (%zu, %zu)", name, pre_not, other_not);
	tap_ok(hairpin == 1, "%s: one hairpin masquerade, of the forward with hairpin (%zu)", name,
	       hairpin);
	vp_ruleset_free(&rs);
}

/* The IPv4 cases again for IPv6: ip6tables-save and nft print addresses compressed, brackets
 * around a DNAT address with a port, /128 for a host. */
static void test_ipv6(struct vp_cidr *from4)
{
	struct vp_forward basic[3] = {
		fwd6(IPPROTO_TCP, 2222, 2222, 22, 22),
		fwd6(IPPROTO_TCP, 8080, 8089, 80, 89),
		fwd6(IPPROTO_UDP, 27015, 27015, 27015, 27015),
	};
	golden("basic6", basic, 3, "2001:db8:122::10");

	struct vp_cidr from[2] = {cidr_of("2001:db8:203::/48"), cidr_of("2001:db8:1::64/128")};
	struct vp_forward opts[4] = {
		fwd6(IPPROTO_TCP, 5432, 5432, 5432, 5432),
		fwd6(IPPROTO_SCTP, 3868, 3870, 3868, 3870),
		fwd6(IPPROTO_UDP, 53, 53, 5353, 5353),
		fwd6(IPPROTO_TCP, 8443, 8444, 8443, 8444),
	};
	opts[0].host_addr = addr_of("2001:db8:1::7");
	opts[0].from = from;
	opts[0].n_from = 2;
	opts[1].masquerade = true;
	opts[1].local = false;
	opts[2].hairpin = false;
	opts[2].local = false;
	opts[3].host_addr = addr_of("2001:db8:1:0:a:b:c:d");   /* the same range on both sides */
	golden("options6", opts, 4, "2001:db8:122::40");

	struct vp_forward shared[2] = {
		fwd6(IPPROTO_TCP, 2222, 2222, 22, 22),
		fwd6(IPPROTO_TCP, 2223, 2223, 22, 22),
	};
	shared[1].from = from;
	shared[1].n_from = 1;
	golden("shared-guest-port6", shared, 2, "2001:db8:122::10");

	/* One guest, both families: each family's rules render alone, in table order. */
	struct vp_forward dual[2] = {fwd(IPPROTO_TCP, 2222, 2222, 22, 22),
	                             fwd6(IPPROTO_TCP, 2222, 2222, 22, 22)};
	dual[0].from = from4;
	dual[0].n_from = 1;
	struct vp_target t[2] = {
		{.f = &dual[0], .guest = addr_of("192.168.122.10"), .subnet = &subnet4, .bridge = "virbr0"},
		{.f = &dual[1], .guest = addr_of("2001:db8:122::10"), .subnet = &subnet6, .bridge = "virbr0"},
	};
	struct vp_ruleset rs;
	struct vp_buf out4 = {0}, out6 = {0};
	vp_ruleset_init(&rs, UUID);
	tap_ok(vp_plan(t, 2, &rs) == 0 && rs.n == 8, "dual stack: 4 rules per family");
	vp_render_xt(&rs, AF_INET, &out4);
	vp_render_xt(&rs, AF_INET6, &out6);
	tap_ok(out4.s && out6.s && !strchr(out4.s, '[') && strstr(out6.s, "[2001:db8:122::10]:22\n") &&
	       !strstr(out6.s, "203.0.113"), "dual stack: each family renders only its rules");
	vp_buf_free(&out4);
	vp_buf_free(&out6);
	vp_ruleset_free(&rs);
}

int main(void)
{
	subnet4.gateway = addr_of("192.168.122.1");
	subnet4.net = cidr_of("192.168.122.0/24");
	subnet6.gateway = addr_of("2001:db8:122::1");
	subnet6.net = cidr_of("2001:db8:122::/64");

	struct vp_forward basic[3] = {
		fwd(IPPROTO_TCP, 2222, 2222, 22, 22),
		fwd(IPPROTO_TCP, 8080, 8089, 80, 89),
		fwd(IPPROTO_UDP, 27015, 27015, 27015, 27015),
	};
	golden("basic", basic, 3, "192.168.122.10");

	struct vp_cidr from[2] = {cidr_of("203.0.113.0/24"), cidr_of("198.51.100.64/26")};
	struct vp_forward opts[3] = {
		fwd(IPPROTO_TCP, 5432, 5432, 5432, 5432),
		fwd(IPPROTO_SCTP, 3868, 3870, 3868, 3870),
		fwd(IPPROTO_UDP, 53, 53, 5353, 5353),
	};
	opts[0].host_addr = addr_of("198.51.100.7");
	opts[0].from = from;
	opts[0].n_from = 2;
	opts[1].masquerade = true;
	opts[1].local = false;
	opts[2].hairpin = false;
	opts[2].local = false;
	golden("options", opts, 3, "192.168.122.40");

	/* Two host ports to one guest port: one hairpin rule, not two. */
	struct vp_forward shared[2] = {
		fwd(IPPROTO_TCP, 2222, 2222, 22, 22),
		fwd(IPPROTO_TCP, 2223, 2223, 22, 22),
	};
	shared[1].from = from;
	shared[1].n_from = 1;
	golden("shared-guest-port", shared, 2, "192.168.122.10");

	struct vp_addr h4 = addr_of("198.51.100.7"), h6 = addr_of("2001:db8:1::7");
	struct vp_cidr from6 = cidr_of("2001:db8:203::/48");
	test_hairpin_no(from, "hairpin-no", "192.168.122.10", &h4);
	test_hairpin_no(&from6, "hairpin-no6", "2001:db8:122::10", &h6);
	test_ipv6(from);
	test_errors();
	return tap_done();
}

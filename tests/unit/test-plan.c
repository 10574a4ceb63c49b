/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Planner + iptables renderer: forwards in, iptables-save text out, compared with golden files
 * (fixtures/plan/ *.rules). VP_UPDATE_GOLDEN=1 rewrites them; review the diff like code. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw.h"
#include "plan.h"
#include "tap.h"

#define UUID "9f1c2b7e-1d3a-4c5b-8e6f-0a1b2c3d4e5f"

static struct vp_subnet subnet4;

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

static struct vp_addr a4(const char *s)
{
	struct vp_addr a;
	if (vp_addr_parse(s, strlen(s), &a) < 0)
		abort();
	return a;
}

static struct vp_cidr c4(const char *s)
{
	struct vp_cidr c;
	if (vp_cidr_parse(s, strlen(s), &c) < 0)
		abort();
	return c;
}

static void golden(const char *name, const struct vp_forward *f, size_t n, const char *guest)
{
	struct vp_target t[8];
	struct vp_ruleset rs;
	struct vp_buf out = {0};
	char path[256];

	for (size_t i = 0; i < n; i++)
		t[i] = (struct vp_target){.f = &f[i], .guest = a4(guest), .subnet = &subnet4,
		                          .bridge = "virbr0"};
	tap_ok(vp_ruleset_init(&rs, UUID) == 0, "%s: ruleset init", name);
	tap_ok(vp_plan(t, n, &rs) == 0, "%s: plan", name);
	vp_render_xt(&rs, AF_INET, &out);
	snprintf(path, sizeof(path), "fixtures/plan/%s.rules", name);
	if (getenv("VP_UPDATE_GOLDEN")) {
		FILE *fp = fopen(path, "w");
		if (fp) {
			fputs(out.s ? out.s : "", fp);
			fclose(fp);
		}
	}
	char *want = tap_fixture(path, NULL);
	tap_streq(out.s ? out.s : "", want, "%s: rendered rules match %s", name, path);
	free(want);
	vp_buf_free(&out);
	vp_ruleset_free(&rs);
}

static void test_errors(void)
{
	struct vp_forward f = fwd(IPPROTO_TCP, 2222, 2222, 22, 22);
	struct vp_target t = {.f = &f, .guest = a4("192.168.122.10"), .subnet = &subnet4,
	                      .bridge = "a-bridge-name-longer-than-ifnamsiz"};
	struct vp_ruleset rs;

	vp_ruleset_init(&rs, UUID);
	tap_ok(vp_plan(&t, 1, &rs) < 0 && rs.n == 0, "bridge name over IFNAMSIZ is refused");
	t.bridge = "virbr0";
	t.guest.family = AF_INET6;
	tap_ok(vp_plan(&t, 1, &rs) < 0 && rs.n == 0, "guest family mismatch is refused");
	vp_ruleset_free(&rs);
	char longuuid[80];
	memset(longuuid, 'a', sizeof(longuuid) - 1);
	longuuid[79] = '\0';
	tap_ok(vp_ruleset_init(&rs, longuuid) < 0, "over-long owner is refused");
}

int main(void)
{
	subnet4.gateway = a4("192.168.122.1");
	subnet4.net = c4("192.168.122.0/24");

	struct vp_forward basic[3] = {
		fwd(IPPROTO_TCP, 2222, 2222, 22, 22),
		fwd(IPPROTO_TCP, 8080, 8089, 80, 89),
		fwd(IPPROTO_UDP, 27015, 27015, 27015, 27015),
	};
	golden("basic", basic, 3, "192.168.122.10");

	struct vp_cidr from[2] = {c4("203.0.113.0/24"), c4("198.51.100.64/26")};
	struct vp_forward opts[3] = {
		fwd(IPPROTO_TCP, 5432, 5432, 5432, 5432),
		fwd(IPPROTO_SCTP, 3868, 3870, 3868, 3870),
		fwd(IPPROTO_UDP, 53, 53, 5353, 5353),
	};
	opts[0].host_addr = a4("198.51.100.7");
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

	test_errors();
	return tap_done();
}

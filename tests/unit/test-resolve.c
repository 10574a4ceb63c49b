/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which NIC a forward targets and the guest address behind it (resolve.c), over parsed
 * fixtures; and the MAC / UUID normalisation that lets the inputs name the same NIC. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "config.h"
#include "domain.h"
#include "leases.h"
#include "network.h"
#include "resolve.h"
#include "tap.h"

/* "Now" for every lease test: the fixtures' expiry times are around it. */
#define NOW ((time_t)1795590000)
#define UUID_WEB1 "9f1c6b2e-3d4a-4c8b-9e0f-1a2b3c4d5e6f"

static const char *addr_s(const struct vp_addr *a)
{
	static char buf[4][VP_ADDR_STRLEN];
	static unsigned i;
	return vp_addr_str(a, buf[i++ % 4]);
}

/* Every parsed input the resolution tests look at. */
struct world {
	struct vp_domain dom, other, status;
	struct vp_network net9, net11;
	struct vp_leases real, dup;
};

static int parse_domain(const char *buf, size_t len, void *ret)
{
	return vp_domain_parse(buf, len, ret);
}

static int parse_network(const char *buf, size_t len, void *ret)
{
	return vp_network_parse(buf, len, ret);
}

static int parse_leases(const char *buf, size_t len, void *ret)
{
	return vp_leases_parse(buf, len, ret);
}

static bool load_world(struct world *w)
{
	static const struct {
		const char *path;
		int (*parse)(const char *buf, size_t len, void *ret);
		size_t off;
	} inputs[] = {
		{"fixtures/domain/live-2nics.xml", parse_domain, offsetof(struct world, dom)},
		{"fixtures/domain/other-nics.xml", parse_domain, offsetof(struct world, other)},
		{"fixtures/domain/status-web1.xml", parse_domain, offsetof(struct world, status)},
		{"fixtures/network/status-9.0.xml", parse_network, offsetof(struct world, net9)},
		{"fixtures/network/status-11-nftables.xml", parse_network, offsetof(struct world, net11)},
		{"fixtures/leases/real.status", parse_leases, offsetof(struct world, real)},
		{"fixtures/leases/dup-mac.status", parse_leases, offsetof(struct world, dup)},
	};
	bool ok = true;

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		size_t len;
		char *buf = tap_fixture(inputs[i].path, &len);
		if (inputs[i].parse(buf, len, (char *)w + inputs[i].off) < 0)
			ok = tap_ok(false, "%s parses", inputs[i].path);
		free(buf);
	}
	return ok;
}

static void free_world(struct world *w)
{
	vp_domain_free(&w->dom);
	vp_domain_free(&w->other);
	vp_domain_free(&w->status);
	vp_network_free(&w->net9);
	vp_network_free(&w->net11);
	vp_leases_free(&w->real);
	vp_leases_free(&w->dup);
}

static void check_resolve(const struct vp_forward *f, const struct vp_domain *d,
                          const struct vp_nic *nic, const struct vp_network *net,
                          const struct vp_leases *l, const char *want, enum vp_addr_source src,
                          const char *what)
{
	struct vp_addr a = {0};
	enum vp_addr_source s = VP_SRC_NONE;
	int r = vp_resolve(f, d, nic, net, l, NOW, &a, &s, NULL);

	if (!want) {
		tap_ok(r == -ENOENT && a.family == 0 && s == VP_SRC_NONE,
		       "%s: -ENOENT, outputs untouched (r=%d)", what, r);
		return;
	}
	tap_ok(r == 0 && s == src && strcmp(addr_s(&a), want) == 0, "%s: %s from %s (got %d %s %s)",
	       what, want, vp_addr_source_name(src), r, addr_s(&a), vp_addr_source_name(s));
}

/* Leases of one MAC with different addresses: -ENOTUNIQ, the newest and another one told. */
static void check_ambiguous(const struct vp_forward *f, const struct vp_domain *d,
                            const struct vp_nic *nic, const struct vp_network *net,
                            const struct vp_leases *l, const char *newest, const char *what)
{
	struct vp_addr a = {0}, other = {0};
	enum vp_addr_source s = VP_SRC_NONE;
	int r = vp_resolve(f, d, nic, net, l, NOW, &a, &s, &other);

	tap_ok(r == -ENOTUNIQ && !strcmp(addr_s(&a), newest) && other.family &&
	       !vp_addr_equal(&a, &other), "%s: ambiguous, %s the newest (got %d %s)", what, newest,
	       r, addr_s(&a));
}

static void test_pick_nic(const struct world *w)
{
	struct vp_forward f = {.domain = (char *)"web1", .family = AF_INET};
	const struct vp_nic *nic;

	tap_ok(vp_pick_nic(&w->dom, &f) == &w->dom.nics[0], "default: first network NIC");
	memcpy(f.nic, "52:54:00:AA:BB:02", 18);
	tap_ok(vp_pick_nic(&w->dom, &f) == &w->dom.nics[1], "nic= picks by MAC, any case, any type");
	memcpy(f.nic, "52:54:00:aa:bb:99", 18);
	tap_ok(vp_pick_nic(&w->dom, &f) == NULL, "nic= unknown MAC: none");
	f.nic[0] = '\0';
	f.network = (char *)"default";
	tap_ok(vp_pick_nic(&w->dom, &f) == &w->dom.nics[0], "network=default");
	nic = vp_pick_nic(&w->other, &f);
	tap_ok(nic && strcmp(nic->mac, "52:54:00:aa:bb:13") == 0, "network= skips other networks");
	f.network = (char *)"nope";
	tap_ok(vp_pick_nic(&w->dom, &f) == NULL, "network= unknown: none");
	f.network = NULL;
	nic = vp_pick_nic(&w->other, &f);
	tap_ok(nic && strcmp(nic->mac, "52:54:00:aa:bb:12") == 0, "first NIC of type network");
	struct vp_domain empty = {.name = "x"};
	tap_ok(vp_pick_nic(&empty, &f) == NULL, "no NIC: none");
	tap_ok(vp_pick_nic(NULL, &f) == NULL && vp_pick_nic(&w->dom, NULL) == NULL, "NULL-safe");
}

static void test_resolve(const struct world *w)
{
	struct vp_forward f = {.domain = (char *)"web1", .family = AF_INET};
	const struct vp_nic *nic = &w->dom.nics[0];

	vp_addr_parse("192.168.122.99", 14, &f.ip);
	check_resolve(&f, &w->dom, nic, &w->net9, &w->real, "192.168.122.99", VP_SRC_OPTION,
	              "ip= wins over static host and lease");
	check_resolve(&f, &w->dom, NULL, NULL, NULL, "192.168.122.99", VP_SRC_OPTION,
	              "ip= needs no NIC");
	f.family = AF_INET6;
	check_resolve(&f, &w->dom, nic, &w->net9, &w->real, NULL, 0, "ip= of the other family");
	f.family = AF_INET;
	f.ip = (struct vp_addr){0};

	check_resolve(&f, &w->dom, nic, &w->net9, &w->real, "192.168.122.40", VP_SRC_STATIC,
	              "static host wins over lease");
	check_resolve(&f, &w->dom, nic, &w->net11, &w->real, "192.168.122.55", VP_SRC_LEASE,
	              "lease when no static host");
	check_resolve(&f, &w->dom, nic, NULL, &w->real, "192.168.122.55", VP_SRC_LEASE,
	              "lease without a known network");
	check_ambiguous(&f, &w->dom, nic, &w->net11, &w->dup, "192.168.122.61",
	                "leases with different addresses for one MAC");
	check_ambiguous(&f, &w->dom, nic, NULL, &w->dup, "10.9.9.9",
	                "no network: leases with different addresses for one MAC");
	struct vp_nic renewed = {.type = VP_NIC_NETWORK, .mac = "52:54:00:aa:bb:03"};
	check_resolve(&f, &w->dom, &renewed, &w->net11, &w->dup, "192.168.122.80", VP_SRC_LEASE,
	              "two leases of one address for one MAC (a renewal): that address");
	check_resolve(&f, &w->dom, &w->dom.nics[1], &w->net11, &w->real, NULL, 0,
	              "MAC without lease");
	check_resolve(&f, &w->dom, NULL, &w->net9, &w->real, NULL, 0, "no NIC");
	check_resolve(&f, &w->dom, nic, NULL, NULL, NULL, 0, "nothing known");

	f.family = AF_INET6;
	check_resolve(&f, &w->dom, nic, &w->net9, &w->real, "2001:db8:ca2:2::40", VP_SRC_STATIC,
	              "IPv6 static host by DUID-LL id");
	struct vp_domain db = {.name = "db", .uuid = UUID_WEB1};
	struct vp_nic dbnic = {.type = VP_NIC_NETWORK, .mac = "52:54:00:aa:bb:05"};
	check_resolve(&f, &db, &dbnic, &w->net9, NULL, NULL, 0,
	              "IPv6 static host by name only: not used (any guest can send a name)");
	struct vp_nic other = {.type = VP_NIC_NETWORK, .mac = "52:54:00:aa:bb:07"};
	check_resolve(&f, &w->dom, &other, &w->net9, NULL, "2001:db8:ca2:2::42", VP_SRC_STATIC,
	              "IPv6 static host by DUID-LLT id");
	check_resolve(&f, &w->dom, nic, NULL, &w->real, "2001:db8:ca2:2::c5", VP_SRC_LEASE,
	              "IPv6 lease");
	check_resolve(&f, &w->dom, nic, &w->net11, &w->real, NULL, 0,
	              "IPv6 lease but the network has no IPv6 subnet");

	tap_streq(vp_addr_source_name(VP_SRC_OPTION), "ip=", "source name ip=");
	tap_streq(vp_addr_source_name(VP_SRC_STATIC), "static host", "source name static");
	tap_streq(vp_addr_source_name(VP_SRC_LEASE), "lease", "source name lease");
	tap_streq(vp_addr_source_name(VP_SRC_NONE), "none", "source name none");
}

/* The reconciler reads running guests from libvirt's status files instead of the hook's
 * stdin: the same guest must pick the same NIC and resolve to the same address. */
static void test_status_resolves_like_live(const struct world *w)
{
	struct vp_forward f = {.domain = (char *)"web1", .family = AF_INET};
	const struct vp_nic *live = vp_pick_nic(&w->dom, &f), *st = vp_pick_nic(&w->status, &f);

	tap_ok(live && st && st == &w->status.nics[0], "status file: first network NIC picked");
	if (!live || !st)
		return;
	tap_ok(!strcmp(st->mac, live->mac) && !strcmp(st->bridge, live->bridge),
	       "same MAC and bridge as from the live XML");
	check_resolve(&f, &w->status, st, &w->net9, &w->real, "192.168.122.40", VP_SRC_STATIC,
	              "status file: static host");
	check_resolve(&f, &w->status, st, &w->net11, &w->real, "192.168.122.55", VP_SRC_LEASE,
	              "status file: lease");
	memcpy(f.nic, "52:54:00:aa:bb:02", 18);
	tap_ok(vp_pick_nic(&w->status, &f) == &w->status.nics[1], "status file: nic= picks by MAC");
}

static void test_mac_uuid(void)
{
	char mac[18] = "untouched", uuid[37] = "untouched";
	static const char *const bad_macs[] = {
		"52:54:00:aa:bb", "52:54:00:aa:bb:0g", "52-54-00-aa-bb-01", "52:54:00:aa:bb:01:",
		"5:254:00:aa:bb:01", "",
	};
	static const char *const bad_uuids[] = {
		"9f1c6b2e-3d4a-4c8b-9e0f-1a2b3c4d5e6", "9f1c6b2e3d4a-4c8b-9e0f-1a2b3c4d5e6f0",
		"9f1c6b2e-3d4a-4c8b-9e0f-1a2b3c4d5e6g", " 9f1c6b2e3d4a4c8b9e0f1a2b3c4d5e6f",
		"9f1c6b2e-3d4a-4c8b-9e0f1a2b3c4d5e6f-", "9f1c6b2e-3d4a-4c8b-9e0f-1a2b3c4d",
	};

	tap_ok(vp_mac_normalize("52:54:00:AA:bB:01", 17, mac) == 0, "MAC in any case accepted");
	tap_streq(mac, "52:54:00:aa:bb:01", "MAC lowercased");
	tap_ok(vp_mac_normalize("52:54:00:aa:bb:01xyz", 17, mac) == 0, "only s[0..len) is read");
	for (size_t i = 0; i < sizeof(bad_macs) / sizeof(bad_macs[0]); i++)
		tap_ok(vp_mac_normalize(bad_macs[i], strlen(bad_macs[i]), mac) == -EINVAL,
		       "bad MAC '%s' refused", bad_macs[i]);
	tap_ok(vp_mac_normalize("52:54:00:aa\0bb:01", 17, mac) == -EINVAL, "NUL inside a MAC refused");
	tap_streq(mac, "52:54:00:aa:bb:01", "MAC output untouched on failure");

	tap_ok(vp_uuid_normalize("9F1C6B2E3D4A4C8B9E0F1A2B3C4D5E6F", 32, uuid) == 0 &&
	       !strcmp(uuid, UUID_WEB1), "32 hex digits -> lowercase 8-4-4-4-12");
	tap_ok(vp_uuid_normalize("9F1C6B2E-3D4A-4C8B-9E0F-1A2B3C4D5E6F", 36, uuid) == 0 &&
	       !strcmp(uuid, UUID_WEB1), "dashed uppercase -> lowercase");
	memcpy(uuid, "untouched", sizeof("untouched"));
	for (size_t i = 0; i < sizeof(bad_uuids) / sizeof(bad_uuids[0]); i++)
		tap_ok(vp_uuid_normalize(bad_uuids[i], strlen(bad_uuids[i]), uuid) == -EINVAL,
		       "bad UUID '%s' refused", bad_uuids[i]);
	tap_streq(uuid, "untouched", "UUID output untouched on failure");
}

static struct vp_addr ip(const char *s)
{
	struct vp_addr a = {0};
	vp_addr_parse(s, strlen(s), &a);
	return a;
}

/* A leased address that a static host or another MAC's lease holds is another's. */
static void test_held(void)
{
	struct vp_host hosts[] = {{.mac = "52:54:00:00:00:02", .ip = ip("192.168.122.2")}};
	struct vp_network net = {.hosts = hosts, .n_hosts = 1};
	struct vp_lease l[] = {
		{.ip = ip("192.168.122.3"), .mac = "52:54:00:00:00:03", .expiry = NOW + 60},
		{.ip = ip("192.168.122.4"), .mac = "52:54:00:00:00:04", .expiry = NOW - 60},
		{.ip = ip("192.168.122.5"), .mac = "52:54:00:00:00:01", .expiry = NOW + 60},
	};
	struct vp_leases leases = {l, 3};
	struct vp_nic nic = {.mac = "52:54:00:00:00:01"}, owner = {.mac = "52:54:00:00:00:02"};
	char by[96] = "";
	struct vp_addr a;

	a = ip("192.168.122.2");
	tap_ok(vp_addr_held(&nic, &net, &leases, NOW, &a, by, sizeof(by)) &&
	       !strcmp(by, "the static DHCP host of MAC 52:54:00:00:00:02"), "static host: %s", by);
	tap_ok(!vp_addr_held(&owner, &net, &leases, NOW, &a, by, sizeof(by)),
	       "a static host is not held from the MAC it is for");
	a = ip("192.168.122.3");
	tap_ok(vp_addr_held(&nic, &net, &leases, NOW, &a, by, sizeof(by)) &&
	       !strcmp(by, "the lease of MAC 52:54:00:00:00:03"), "another MAC's lease: %s", by);
	a = ip("192.168.122.4");
	tap_ok(!vp_addr_held(&nic, &net, &leases, NOW, &a, by, sizeof(by)),
	       "an expired lease of another MAC holds nothing");
	a = ip("192.168.122.5");
	tap_ok(!vp_addr_held(&nic, &net, &leases, NOW, &a, by, sizeof(by)),
	       "the NIC's own lease holds nothing from it");
	tap_ok(!vp_addr_held(&nic, NULL, NULL, NOW, &a, by, sizeof(by)), "no network, no leases");
}

int main(void)
{
	struct world w = {0};

	if (tap_ok(load_world(&w), "resolution fixtures load")) {
		test_pick_nic(&w);
		test_resolve(&w);
		test_status_resolves_like_live(&w);
	}
	free_world(&w);
	test_mac_uuid();
	test_held();
	return tap_done();
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: the neighbour table's rtnetlink messages (vp_neigh_parse) and the choice of
 * a guest's address in them (vp_neigh_pick). The kernel writes these bytes, but guests choose
 * what goes into them (their MACs and addresses, by answering ARP and NDP), and the waiter
 * parses event messages too. The first byte picks the family and link filter. */
#include <errno.h>
#include <linux/neighbour.h>

#include "fuzz.h"
#include "neigh.h"
#include "network.h"

static void make_net(struct vp_network *n)
{
	*n = (struct vp_network){.name = "default", .bridge = "virbr0", .n_subnets = 2};
	vp_cidr_parse("192.168.122.0/24", 16, &n->subnets[0].net);
	vp_cidr_parse("2001:db8:ca2:2::/64", 19, &n->subnets[1].net);
}

/* The promises of vp_neigh_pick for the MAC of entry e. */
static void check_pick(const struct vp_neighs *t, const struct vp_neigh *e,
                       const struct vp_network *net)
{
	struct vp_neigh_pick pk;
	int fam = e->ip.family, r = vp_neigh_pick(t, e->mac, net, fam, &pk);

	FUZZ_ASSERT(r == 0 || r == -ENOENT || r == -ENOTUNIQ || r == -EADDRINUSE);
	FUZZ_ASSERT_STR(pk.other_mac);
	if (r == -ENOENT) {
		FUZZ_ASSERT(pk.addr.family == 0);
		/* none found: e itself was not to be believed, or outside the network */
		FUZZ_ASSERT(!vp_neigh_state_usable(e->state) || (net && !vp_network_subnet(net, fam,
		            &e->ip)) || fam == AF_INET6);
		return;
	}
	FUZZ_ASSERT(pk.addr.family == fam);
	FUZZ_ASSERT(!(fam == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&pk.addr.v6)));
	FUZZ_ASSERT(!net || vp_network_subnet(net, fam, &pk.addr));
	if (r == -ENOTUNIQ)
		FUZZ_ASSERT(pk.other.family == fam && !vp_addr_equal(&pk.addr, &pk.other));
	if (r == -EADDRINUSE)
		FUZZ_ASSERT(fuzz_mac_ok(pk.other_mac) && strcmp(pk.other_mac, e->mac) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int families[] = {AF_UNSPEC, AF_INET, AF_INET6, AF_UNSPEC};
	struct vp_neighs t = {0};
	struct vp_network net;
	int family, ifindex, r;

	if (size < 1)
		return 0;
	family = families[data[0] & 3];
	ifindex = (data[0] >> 2) & 7;
	make_net(&net);
	r = vp_neigh_parse(data + 1, size - 1, ifindex, family, &t);
	FUZZ_ASSERT(r == 0 || r == 1 || (r < 0 && r >= -4095));
	FUZZ_ASSERT(t.n <= VP_NEIGH_MAX && (t.n == 0 || t.e));
	for (size_t i = 0; i < t.n; i++) {
		const struct vp_neigh *e = &t.e[i];
		FUZZ_ASSERT(e->ip.family == AF_INET || e->ip.family == AF_INET6);
		FUZZ_ASSERT(family == AF_UNSPEC || e->ip.family == family);
		FUZZ_ASSERT(!ifindex || e->ifindex == ifindex);
		FUZZ_ASSERT_STR(e->mac);
		FUZZ_ASSERT(e->mac[0] && fuzz_mac_ok(e->mac));
		check_pick(&t, e, &net);
		check_pick(&t, e, NULL);
	}
	vp_neighs_free(&t);
	FUZZ_ASSERT(t.n == 0 && !t.e);
	return 0;
}

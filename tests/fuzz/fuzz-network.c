/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: libvirt's network status XML (vp_network_parse) and the subnet lookup the
 * planner does with its result. */
#include <errno.h>

#include "fuzz.h"
#include "network.h"

static void check_network(const struct vp_network *n)
{
	FUZZ_ASSERT_STR(n->name);
	FUZZ_ASSERT_STR(n->bridge);
	FUZZ_ASSERT(n->bridge[0] != '\0');   /* no bridge name is -EINVAL */
	FUZZ_ASSERT(n->mode >= VP_FWMODE_NAT && n->mode <= VP_FWMODE_OTHER);
	FUZZ_ASSERT(n->fw >= VP_LVFW_UNKNOWN && n->fw <= VP_LVFW_NFTABLES);
	FUZZ_ASSERT(n->n_subnets <= VP_MAX_SUBNETS);
	for (size_t i = 0; i < n->n_subnets; i++) {
		const struct vp_subnet *s = &n->subnets[i];
		int fam = s->net.addr.family;
		FUZZ_ASSERT(fam == AF_INET || fam == AF_INET6);
		FUZZ_ASSERT(s->net.prefix <= (fam == AF_INET ? 32 : 128));
		/* Asking for the subnet of its own gateway finds a subnet of that family. */
		const struct vp_subnet *g = vp_network_subnet(n, fam, &s->gateway);
		FUZZ_ASSERT(!g || g->net.addr.family == fam);
		FUZZ_ASSERT(vp_network_subnet(n, fam, NULL) != NULL);
	}
	FUZZ_ASSERT(n->n_hosts <= VP_MAX_HOSTS && (n->n_hosts == 0 || n->hosts));
	for (size_t i = 0; i < n->n_hosts; i++) {
		const struct vp_host *h = &n->hosts[i];
		FUZZ_ASSERT_STR(h->mac);
		FUZZ_ASSERT(fuzz_mac_ok(h->mac));
		FUZZ_ASSERT_STR(h->name);
		FUZZ_ASSERT_STR(h->id);
		if (h->ip.family)
			(void)vp_network_subnet(n, h->ip.family, &h->ip);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vp_network n, before;
	int r;

	memset(&n, 0xa5, sizeof(n));   /* a failed parse must leave *ret alone (network.h) */
	memcpy(&before, &n, sizeof(n));   /* with the padding: memcmp compares it */
	r = vp_network_parse((const char *)data, size, &n);
	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -E2BIG || r == -ENOMEM);
	if (r < 0) {
		FUZZ_ASSERT(memcmp(&n, &before, sizeof(n)) == 0);
		return 0;
	}
	check_network(&n);
	vp_network_free(&n);
	return 0;
}

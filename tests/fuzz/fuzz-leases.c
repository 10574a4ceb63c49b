/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: dnsmasq's lease status file (vp_leases_parse) and the lookup the resolver
 * does in it. Guests choose their hostname and client-id, which leaseshelper writes into this
 * file verbatim: the parser reads guest-controlled bytes. */
#include <errno.h>

#include "fuzz.h"
#include "leases.h"

/* Around the expiry times of the seed corpus. */
#define FUZZ_NOW ((time_t)1795590000)

static void check_leases(const struct vp_leases *ls)
{
	FUZZ_ASSERT(ls->n <= VP_LEASES_MAX && (ls->n == 0 || ls->l));
	for (size_t i = 0; i < ls->n; i++) {
		const struct vp_lease *l = &ls->l[i];
		FUZZ_ASSERT(l->ip.family == AF_INET || l->ip.family == AF_INET6);
		FUZZ_ASSERT_STR(l->mac);
		FUZZ_ASSERT(fuzz_mac_ok(l->mac));
		FUZZ_ASSERT(l->expiry >= 0);
		if (!l->mac[0])
			continue;
		/* The newest lease for a MAC exists, is of the family asked for and has that MAC. */
		const struct vp_lease *f = vp_leases_find(ls, l->mac, l->ip.family, FUZZ_NOW);
		FUZZ_ASSERT(!f || (f->ip.family == l->ip.family && !strcmp(f->mac, l->mac)));
		if (l->expiry == 0 || l->expiry > FUZZ_NOW)
			FUZZ_ASSERT(f != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vp_leases ls = {(struct vp_lease *)(uintptr_t)0xa5a5, 0xa5a5};
	int r;

	r = vp_leases_parse((const char *)data, size, &ls);
	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -E2BIG || r == -ENOMEM);
	if (r < 0) {   /* like its siblings, a failed parse leaves *ret alone */
		FUZZ_ASSERT(ls.l == (struct vp_lease *)(uintptr_t)0xa5a5 && ls.n == 0xa5a5);
		return 0;
	}
	check_leases(&ls);
	vp_leases_free(&ls);
	return 0;
}

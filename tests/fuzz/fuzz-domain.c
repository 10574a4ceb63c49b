/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: the live domain XML libvirt hands the hook on stdin (vp_domain_parse).
 * The XML carries guest-influenced text (names, metadata), so the parser must survive
 * anything: malformed documents, entities, DTDs, huge counts. */
#include <errno.h>

#include "domain.h"
#include "fuzz.h"

static void check_domain(const struct vp_domain *d)
{
	FUZZ_ASSERT_STR(d->name);
	FUZZ_ASSERT(d->name[0] != '\0');
	FUZZ_ASSERT(strnlen(d->uuid, sizeof(d->uuid)) == 36);
	for (size_t i = 0; i < 36; i++)   /* lowercase 8-4-4-4-12 */
		FUZZ_ASSERT(i == 8 || i == 13 || i == 18 || i == 23
		            ? d->uuid[i] == '-'
		            : (d->uuid[i] >= '0' && d->uuid[i] <= '9') ||
		              (d->uuid[i] >= 'a' && d->uuid[i] <= 'f'));
	FUZZ_ASSERT(d->n_nics <= VP_MAX_NICS && (d->n_nics == 0 || d->nics));
	for (size_t i = 0; i < d->n_nics; i++) {
		const struct vp_nic *n = &d->nics[i];
		FUZZ_ASSERT(n->type == VP_NIC_OTHER || n->type == VP_NIC_NETWORK ||
		            n->type == VP_NIC_BRIDGE);
		FUZZ_ASSERT_STR(n->mac);
		FUZZ_ASSERT(fuzz_mac_ok(n->mac));
		FUZZ_ASSERT_STR(n->network);
		FUZZ_ASSERT_STR(n->bridge);
		FUZZ_ASSERT_STR(n->target);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vp_domain d, before;
	int r;

	/* A pattern, to see that a failed parse leaves *ret alone as domain.h promises. */
	memset(&d, 0xa5, sizeof(d));
	memcpy(&before, &d, sizeof(d));   /* with the padding: memcmp compares it */
	r = vp_domain_parse((const char *)data, size, &d);
	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -E2BIG || r == -ENOMEM);
	if (r < 0) {
		FUZZ_ASSERT(memcmp(&d, &before, sizeof(d)) == 0);
		return 0;
	}
	check_domain(&d);
	vp_domain_free(&d);
	return 0;
}

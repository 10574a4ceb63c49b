/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "lvrules.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "fw-xt.h"
#include "nfnl.h"
#include "run.h"

/* The chains of libvirt's nftables tables (libvirt >= 10.4, network_nftables.c): a chain it
 * does not have is passed over. */
static const char *const lv_nft_chains[] = {"forward",     "guest_output", "guest_input",
                                             "guest_cross", "guest_nat",    "postrouting"};

/* "-A CHAIN ..." lines naming a LIBVIRT_ chain, as its own or as a jump target. */
static unsigned count_xt(const char *s)
{
	unsigned n = 0;

	for (const char *l = s; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);

		n += len > 3 && !memcmp(l, "-A ", 3) && memmem(l, len, "LIBVIRT_", 8);
		l = end ? end + 1 : NULL;
	}
	return n;
}

static int xt_rules(const struct xt_tools *t, long long deadline, unsigned *ret)
{
	*ret = 0;
	for (int f = 0; f < 2; f++) {
		const char *argv[] = {t->save[f], NULL};
		struct vp_buf out = {0};
		int r = vp_spawn(argv, NULL, 0, &out, VP_SPAWN_OUT_MAX, NULL, -1, deadline);

		if (r == 0)
			*ret += count_xt(out.s);
		vp_buf_free(&out);
		if (r < 0)
			return r;
	}
	return 0;
}

static int count_not_ours(const struct vp_nfnl_rule *r, void *data)
{
	char uuid[37];

	*(unsigned *)data += !vp_owner_uuid(r->comment, uuid);
	return 0;
}

static int nft_rules(unsigned *ret)
{
	static const int fam[] = {AF_INET, AF_INET6};

	*ret = 0;
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++)
		for (size_t c = 0; c < sizeof(lv_nft_chains) / sizeof(lv_nft_chains[0]); c++) {
			int r = vp_nfnl_chain_head(fam[f], "libvirt_network", lv_nft_chains[c],
			                           count_not_ours, ret);
			if (r < 0 && r != -ENOENT)
				return r;
		}
	return 0;
}

int vp_libvirt_rules(const struct vp_backend *b, long long deadline, unsigned *ret)
{
	if (!strcmp(b->name, "nftables"))
		return nft_rules(ret);
	return xt_rules(strcmp(b->name, "iptables-legacy") ? &vp_xt_tools_nft : &vp_xt_tools_legacy,
	                deadline, ret);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fw.h"

static int nft_apply_stub(const struct vp_ruleset *rs, const struct vp_fw_opts *o)
{
	(void)rs;
	(void)o;
	return -95;
}

const struct vp_backend vp_backend_nft = {.name = "nftables", .apply = nft_apply_stub};

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libnftables, loaded on demand by the nftables backend (see dl.h). */
#include "dl-nft.h"

VP_DL_SYM_DEFINE(nft_ctx_new);
VP_DL_SYM_DEFINE(nft_ctx_free);
VP_DL_SYM_DEFINE(nft_ctx_output_set_flags);
VP_DL_SYM_DEFINE(nft_ctx_buffer_output);
VP_DL_SYM_DEFINE(nft_ctx_buffer_error);
VP_DL_SYM_DEFINE(nft_ctx_get_output_buffer);
VP_DL_SYM_DEFINE(nft_ctx_get_error_buffer);
VP_DL_SYM_DEFINE(nft_run_cmd_from_buffer);

static const struct vp_dl_sym syms[] = {
	VP_DL_SYM(nft_ctx_new),
	VP_DL_SYM(nft_ctx_free),
	VP_DL_SYM(nft_ctx_output_set_flags),
	VP_DL_SYM(nft_ctx_buffer_output),
	VP_DL_SYM(nft_ctx_buffer_error),
	VP_DL_SYM(nft_ctx_get_output_buffer),
	VP_DL_SYM(nft_ctx_get_error_buffer),
	VP_DL_SYM(nft_run_cmd_from_buffer),
};

struct vp_dl_lib vp_dl_libnftables = VP_DL_LIB(VP_SONAME_NFT, "the nftables backend", syms);

VP_DL_NOTE(nftables,
	"[{\"feature\":\"nftables\",\"description\":\"firewall backend for libvirt's nftables "
	"firewall (libvirt >= 10.4)\",\"priority\":\"recommended\",\"soname\":[\"" VP_SONAME_NFT
	"\"]}]");

int vp_dl_nft(void)
{
	return vp_dl_open(&vp_dl_libnftables);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The functions of libnftables the nftables backend calls, loaded on demand (see dl.h). */
#pragma once

#include <nftables/libnftables.h>

#include "dl.h"

VP_DL_SYM_DECLARE(nft_ctx_new);
VP_DL_SYM_DECLARE(nft_ctx_free);
VP_DL_SYM_DECLARE(nft_ctx_output_set_flags);
VP_DL_SYM_DECLARE(nft_ctx_buffer_output);
VP_DL_SYM_DECLARE(nft_ctx_buffer_error);
VP_DL_SYM_DECLARE(nft_ctx_get_output_buffer);
VP_DL_SYM_DECLARE(nft_ctx_get_error_buffer);
VP_DL_SYM_DECLARE(nft_run_cmd_from_buffer);

extern struct vp_dl_lib vp_dl_libnftables;

/* libnftables loaded, every sym_ above set: 0, or -ELIBACC (logged once). */
int vp_dl_nft(void);

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The functions of libnftables we call, loading it on first use (see dl.h). Everything starts
 * with nft_ctx_new. */
#include <errno.h>
#include <stddef.h>
#include <nftables/libnftables.h>

#include "dl.h"

#define L VP_DL_NFT
#define NO VP_DL_UNREACHABLE

VP_DL_FN(L, VP_DL_FAIL(NULL), struct nft_ctx *, nft_ctx_new, (uint32_t flags), (flags))
VP_DL_VOID(L, nft_ctx_free, (struct nft_ctx *ctx), (ctx))
VP_DL_VOID(L, nft_ctx_output_set_flags, (struct nft_ctx *ctx, unsigned int flags),
           (ctx, flags))
VP_DL_FN(L, NO, int, nft_ctx_buffer_output, (struct nft_ctx *ctx), (ctx))
VP_DL_FN(L, NO, int, nft_ctx_buffer_error, (struct nft_ctx *ctx), (ctx))
VP_DL_FN(L, NO, const char *, nft_ctx_get_output_buffer, (struct nft_ctx *ctx), (ctx))
VP_DL_FN(L, NO, const char *, nft_ctx_get_error_buffer, (struct nft_ctx *ctx), (ctx))
VP_DL_FN(L, NO, int, nft_run_cmd_from_buffer, (struct nft_ctx *nft, const char *buf),
         (nft, buf))

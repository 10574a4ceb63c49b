/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: the nftables backend's record (record.h, VP_REC_NFT), "table <family>
 * <table> <handle>" and "<family> <table> <chain> <handle>" lines, parsed and written again
 * (fuzz-rec.h). libnftables builds only. */
#include "fuzz-rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_rec(&vp_rec_nft, data, size);
}

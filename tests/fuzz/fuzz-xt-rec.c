/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: iptables-nft's record (record.h, VP_REC_XT), "t<4|6> <table> <handle>" and
 * "<4|6> <chain> <handle> <spec>" lines, parsed and written again (fuzz-rec.h). */
#include "fuzz-rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_rec(&vp_rec_xt, data, size);
}

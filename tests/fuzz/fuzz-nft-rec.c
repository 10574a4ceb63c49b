/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: the nftables backend's record, the body of "<uuid>.rules" after its first
 * line (fw-nft-rec.c's rec_parse): "table <family> <table> <handle>" and
 * "<family> <table> <chain> <handle>" lines, read back from the state directory before each
 * change of the guest, and its writer rec_format.
 *
 * The parser and the record's type are private to their module, and fw-xt-rec.c has
 * functions of the same names: the module is compiled into this harness whole, so that it needs
 * no change to be reached (its one external symbol, vp_backend_nft, is then the harness's, and
 * the library's copy of the module is never linked in). */
#include "fuzz.h"

#include "fw-nft-rec.c"

static void check_rec(const struct rec *r)
{
	FUZZ_ASSERT(r->n == 0 || r->e);
	for (size_t i = 0; i < r->n; i++) {
		FUZZ_ASSERT(r->e[i].fam < N_FAMS && r->e[i].c < NC_COUNT && r->e[i].handle > 0);
		FUZZ_ASSERT(table_of(r->e[i].c) < N_TABLES);
	}
}

static bool same_rec(const struct rec *a, const struct rec *b)
{
	if (a->n != b->n || memcmp(a->table, b->table, sizeof(a->table)))
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->e[i].fam != b->e[i].fam || a->e[i].c != b->e[i].c ||
		    a->e[i].handle != b->e[i].handle)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec x = {0}, y = {0};
	struct vp_record next = {.kind = VP_RULES_UNKNOWN};
	char *body = vp_strndup((const char *)data, size);   /* the record as vp_rules_read gives it */
	int r;

	if (!body)
		return 0;
	r = rec_parse(body, &x);
	FUZZ_ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
	check_rec(&x);   /* a failed parse is freed all the same: what it kept must be whole */
	if (r == 0) {
		/* What was understood is written as the backend writes it, and reads back the same. */
		rec_format(&x, &next);
		if (next.kind == VP_RULES_KNOWN) {
			FUZZ_ASSERT(next.body != NULL);
			r = rec_parse(next.body, &y);
			FUZZ_ASSERT(r == 0 || r == -ENOMEM);
			FUZZ_ASSERT(r != 0 || same_rec(&x, &y));
		}
	}
	vp_record_free(&next);
	rec_free(&y);
	rec_free(&x);
	free(body);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: iptables-nft's record, the body of "<uuid>.rules" after its first line
 * (fw-xt-rec.c's rec_parse): "t<4|6> <table> <handle>" and "<4|6> <chain> <handle> <spec>"
 * lines, read back from the state directory before each change of the guest.
 *
 * The parser and the record's type are private to their module, and fw-nft-rec.c has
 * functions of the same names: the module is compiled into this harness whole, so that it needs
 * no change to be reached (its one external symbol, vp_backend_xt, is then the harness's, and
 * the library's copy of the module is never linked in). */
#include "fuzz.h"

#include "fw-xt-rec.c"

static void check_rec(const struct vp_xt_fast *x)
{
	for (int fi = 0; fi < 2; fi++) {
		for (size_t t = 0; t < 2; t++)
			(void)table_used(&x->rec[fi], t);
		for (size_t i = 0; i < N_CHAINS; i++) {
			FUZZ_ASSERT(x->rec[fi].n[i] == 0 || (x->rec[fi].s[i] && x->handle[fi][i]));
			for (size_t j = 0; j < x->rec[fi].n[i]; j++)
				FUZZ_ASSERT(x->rec[fi].s[i][j] && !strchr(x->rec[fi].s[i][j], '\n'));
		}
	}
}

/* The record in its own format again, as rec_build writes it: tables first, then the rules of
 * each family and chain. */
static void format_rec(const struct vp_xt_fast *x, struct vp_buf *b)
{
	for (int fi = 0; fi < 2; fi++) {
		for (size_t t = 0; t < 2; t++)
			if (x->table[fi][t])
				vp_buf_printf(b, "t%c %s %" PRIu64 "\n", fi ? '6' : '4', table_names[t],
				              x->table[fi][t]);
		for (size_t i = 0; i < N_CHAINS; i++)
			for (size_t j = 0; j < x->rec[fi].n[i]; j++)
				vp_buf_printf(b, "%c %s %" PRIu64 " %s\n", fi ? '6' : '4',
				              vp_xt_chains[i].chain, x->handle[fi][i][j], x->rec[fi].s[i][j]);
	}
}

static bool same_rec(const struct vp_xt_fast *a, const struct vp_xt_fast *b)
{
	if (memcmp(a->table, b->table, sizeof(a->table)))
		return false;
	for (int fi = 0; fi < 2; fi++)
		for (size_t i = 0; i < N_CHAINS; i++) {
			if (a->rec[fi].n[i] != b->rec[fi].n[i])
				return false;
			for (size_t j = 0; j < a->rec[fi].n[i]; j++)
				if (a->handle[fi][i][j] != b->handle[fi][i][j] ||
				    strcmp(a->rec[fi].s[i][j], b->rec[fi].s[i][j]))
					return false;
		}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vp_xt_fast x = {.kind = VP_RULES_KNOWN, .q = {.fd = -1}};
	struct vp_xt_fast y = {.kind = VP_RULES_KNOWN, .q = {.fd = -1}};
	struct vp_buf again = {0};
	char *body = vp_strndup((const char *)data, size);   /* the record as vp_rules_read gives it */
	int r;

	if (!body)
		return 0;
	r = rec_parse(body, &x);
	FUZZ_ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
	check_rec(&x);   /* a failed parse is freed all the same: what it kept must be whole */
	if (r == 0) {
		/* What was understood reads back the same from the format it was written in. */
		format_rec(&x, &again);
		if (!again.err) {
			r = rec_parse(again.s ? again.s : (char[]){""}, &y);
			FUZZ_ASSERT(r == 0 || r == -ENOMEM);
			FUZZ_ASSERT(r != 0 || same_rec(&x, &y));
		}
	}
	vp_buf_free(&again);
	fast_free(&y);
	fast_free(&x);
	free(body);
	return 0;
}

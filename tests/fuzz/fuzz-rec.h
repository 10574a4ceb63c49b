/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What fuzz-xt-rec.c and fuzz-nft-rec.c share: the record of nf_tables handles (record.h), the
 * body of "<uuid>.rules" after its first line, read back from the state directory before each
 * change of the guest. One parser (vp_rec_parse) and one writer (vp_rec_format), told by a
 * backend's description which syntax and which names; each harness passes its backend's, so
 * each keeps its own corpus. */
#pragma once

#include "fuzz.h"

#include <errno.h>
#include <stdbool.h>

#include "fw.h"
#include "record.h"
#include "util.h"

/* What a parse kept, failed or not, is whole and names only what the description has. */
static void fuzz_rec_check(const struct vp_rec *r)
{
	const struct vp_rec_desc *d = r->d;

	FUZZ_ASSERT(r->n <= r->cap && (r->n == 0 || r->r));
	for (size_t i = 0; i < r->n; i++) {
		const struct vp_rec_rule *e = &r->r[i];
		FUZZ_ASSERT(e->fam < VP_REC_FAMS && e->chain < d->n_chains);
		FUZZ_ASSERT(vp_rec_table_of(d, e->chain) < VP_REC_TABLES);
		FUZZ_ASSERT((d->syntax == VP_REC_XT) == (e->spec != NULL));
		FUZZ_ASSERT(d->syntax == VP_REC_XT || e->handle > 0);
		FUZZ_ASSERT(!e->spec || !strchr(e->spec, '\n'));
	}
	for (size_t f = 0; f < VP_REC_FAMS; f++)
		for (size_t t = 0; t < VP_REC_TABLES; t++)
			FUZZ_ASSERT(!r->table[f][t] || d->tables[t]);
}

/* The next rule of family f at or after *i, or NULL. */
static const struct vp_rec_rule *fuzz_rec_next(const struct vp_rec *r, size_t f, size_t *i)
{
	for (; *i < r->n; (*i)++)
		if (r->r[*i].fam == f)
			return &r->r[(*i)++];
	return NULL;
}

/* The same tables, and each family's rules the same in the same order (the writer puts one
 * family's lines together). */
static bool fuzz_rec_same(const struct vp_rec *a, const struct vp_rec *b)
{
	if (a->n != b->n || memcmp(a->table, b->table, sizeof(a->table)))
		return false;
	for (size_t f = 0; f < VP_REC_FAMS; f++) {
		const struct vp_rec_rule *x, *y;
		size_t i = 0, j = 0;
		do {
			x = fuzz_rec_next(a, f, &i);
			y = fuzz_rec_next(b, f, &j);
			if (!x != !y || (x && (x->chain != y->chain || x->handle != y->handle ||
			                       !x->spec != !y->spec || (x->spec && strcmp(x->spec, y->spec)))))
				return false;
		} while (x);
	}
	return true;
}

static int fuzz_rec(const struct vp_rec_desc *d, const uint8_t *data, size_t size)
{
	struct vp_rec x = {.d = d}, y = {.d = d};
	struct vp_record next = {.kind = VP_RULES_UNKNOWN};
	char *body = vp_strndup((const char *)data, size);   /* the record as vp_rules_read gives it */
	int r;

	if (!body)
		return 0;
	r = vp_rec_parse(&x, body);
	FUZZ_ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
	FUZZ_ASSERT(!memcmp(body, data, size));   /* the engine's copy stays as it was */
	fuzz_rec_check(&x);   /* a failed parse is freed all the same: what it kept must be whole */
	if (r == 0) {
		/* What was understood is written as the backend writes it, and reads back the same. */
		vp_rec_format(&x, &next);
		if (next.kind == VP_RULES_KNOWN) {
			FUZZ_ASSERT(next.body != NULL);
			r = vp_rec_parse(&y, next.body);
			FUZZ_ASSERT(r == 0 || r == -ENOMEM);
			FUZZ_ASSERT(r != 0 || fuzz_rec_same(&x, &y));
		}
	}
	vp_record_free(&next);
	vp_rec_free(&y);
	vp_rec_free(&x);
	free(body);
	return 0;
}

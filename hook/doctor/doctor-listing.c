/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The doctor's listings: a ruleset reduced to table, chain, position, rule text and packet
 * counter, whichever tool listed it, and the lookups every check makes in one. */
#include "doctor-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void dr_listing_free(struct dr_listing *s)
{
	free(s->text);
	free(s->l);
	free(s->c);
	*s = (struct dr_listing){0};
}

int dr_listing_add_chain(struct dr_listing *s, const char *table, const char *name)
{
	if (vp_grow(&s->c, &s->cap_c, s->n_c + 1, sizeof(*s->c)) < 0)
		return -ENOMEM;
	s->c[s->n_c++] = (struct dr_chain){.table = table, .name = name};
	return 0;
}

int dr_listing_add(struct dr_listing *s, const char *table, const char *chain, const char *spec,
                   uint64_t pkts)
{
	const struct dr_line *prev;
	unsigned pos;

	if (vp_grow(&s->l, &s->cap, s->n + 1, sizeof(*s->l)) < 0)
		return -ENOMEM;
	/* Both listings show a chain's rules together, in order. */
	prev = s->n ? &s->l[s->n - 1] : NULL;
	pos = prev && !strcmp(prev->table, table) && !strcmp(prev->chain, chain) ? prev->pos + 1 : 1;
	s->l[s->n++] = (struct dr_line){table, chain, spec, pkts, pos};
	return 0;
}

const struct dr_line *dr_find(const struct dr_listing *s, const char *table, const char *chain,
                             const char *spec)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->l[i].chain, chain) && !strcmp(s->l[i].table, table) &&
		    !strcmp(s->l[i].spec, spec))
			return &s->l[i];
	return NULL;
}

static bool jumps_to(const char *spec, const char *target)
{
	size_t sl = strlen(spec), tl = strlen(target);
	return sl >= tl + 3 && !strcmp(spec + sl - tl, target) &&
	       !memcmp(spec + sl - tl - 3, "-j ", 3) && (sl == tl + 3 || spec[sl - tl - 4] == ' ');
}

const struct dr_line *dr_jump(const struct dr_listing *s, const char *table, const char *chain,
                             const char *target)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->l[i].chain, chain) && !strcmp(s->l[i].table, table) &&
		    jumps_to(s->l[i].spec, target))
			return &s->l[i];
	return NULL;
}

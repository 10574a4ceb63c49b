/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: the doctor's listings of the firewall, `iptables-save -c` (dr_xt_parse)
 * and libnftables' listing of our table and libvirt's (dr_nft_parse), both on each input; the
 * lookups every check makes in them (dr_find, dr_jump), and the packet counters the traffic
 * check keeps of them ("<uuid>.doctor", dr_counters_get). Any root process, libvirt included,
 * writes rules the doctor then reads: the listing holds foreign text. */
#include <errno.h>

#include "fuzz.h"
#include "doctor-int.h"

/* A string of a listing line points into the listing's text, or is the parser's own "". */
static void check_str(const struct dr_listing *s, size_t len, const char *str)
{
	FUZZ_ASSERT(str != NULL);
	FUZZ_ASSERT(!*str || (str >= s->text && str < s->text + len));
	FUZZ_ASSERT(!strchr(str, '\n'));
}

/* The target of "... -j TARGET", as dr_jump matches it; NULL if the rule has none. */
static const char *jump_target(const char *spec)
{
	const char *t = NULL;

	for (const char *p = spec; (p = strstr(p, "-j ")); p++)
		if (p == spec || p[-1] == ' ')
			t = p + 3;
	return t;
}

/* The counters file the traffic check would write for these lines reads back: every rule's
 * key is found in it. */
static void check_counters(const struct dr_listing *s)
{
	struct vp_buf next = {0}, key = {0};
	uint64_t p;

	vp_buf_printf(&next, "time 1795590000\n");
	for (size_t i = 0; i < s->n && !next.err; i++) {
		const struct dr_line *l = &s->l[i];
		key.len = 0;
		vp_buf_printf(&key, "%s %s %s", l->table, l->chain, l->spec);
		if (key.err)
			break;
		if (!dr_counters_get(next.s, key.s, &p))
			vp_buf_printf(&next, "%llu\t%s\n", (unsigned long long)l->pkts, key.s);
		FUZZ_ASSERT(next.err || dr_counters_get(next.s, key.s, &p));
	}
	FUZZ_ASSERT(next.err || dr_counters_time(next.s) == 1795590000);
	vp_buf_free(&key);
	vp_buf_free(&next);
}

static void check_listing(const struct dr_listing *s, size_t len, bool xt)
{
	FUZZ_ASSERT(s->n == 0 || s->l);
	FUZZ_ASSERT(s->n_c == 0 || s->c);
	for (size_t i = 0; i < s->n_c; i++) {
		check_str(s, len, s->c[i].table);
		check_str(s, len, s->c[i].name);
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct dr_line *l = &s->l[i], *prev = i ? &s->l[i - 1] : NULL, *f;
		const char *target;
		check_str(s, len, l->table);
		check_str(s, len, l->chain);
		check_str(s, len, l->spec);
		/* Positions count each chain's run of lines from 1. */
		FUZZ_ASSERT(l->pos == (prev && !strcmp(prev->table, l->table) &&
		                       !strcmp(prev->chain, l->chain) ? prev->pos + 1 : 1));
		f = dr_find(s, l->table, l->chain, l->spec);
		FUZZ_ASSERT(f && f <= l && !strcmp(f->spec, l->spec));
		target = xt ? jump_target(l->spec) : NULL;
		if (target) {
			f = dr_jump(s, l->table, l->chain, target);
			FUZZ_ASSERT(f && f <= l);
		}
	}
	check_counters(s);
}

static void one(const uint8_t *data, size_t size, bool xt)
{
	struct dr_listing s = {.loaded = true};
	size_t len;
	int r;

	s.text = vp_strndup((const char *)data, size);   /* as vp_spawn's output buffer holds it */
	if (!s.text)
		return;
	len = strlen(s.text);   /* the parsers cut the text into strings in place */
#ifndef HAVE_LIBNFTABLES
	if (!xt) {
		free(s.text);
		return;
	}
	r = dr_xt_parse(&s);
#else
	r = xt ? dr_xt_parse(&s) : dr_nft_parse(&s);
#endif
	FUZZ_ASSERT(r == 0 || r == -ENOMEM);
	check_listing(&s, len, xt);
	free(s.text);
	free(s.l);
	free(s.c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, true);
	one(data, size, false);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer harness: the backends' listings of the firewall (listing.h), `iptables-save -c`
 * (vp_listing_parse_xt) and libnftables' listing of our table and libvirt's
 * (vp_listing_parse_nft), both on each input; the lookups every check makes in them
 * (vp_listing_find, vp_listing_jump), the packet counters the traffic check
 * keeps of them ("<uuid>.doctor", dr_counters_get), and the rule checks that read the rules'
 * text further (dr_find_installed: the address our DNAT sends to; dr_check_rules, with
 * dr_check_shadow: the matches of foreign rules ahead of ours). Any root process, libvirt
 * included, writes rules the doctor then reads: the listing holds foreign text. */
#include <errno.h>
#include <netinet/in.h>

#include "fuzz.h"
#include "doctor-int.h"
#include "engine.h"

#define UUID "c0ffee00-0000-4000-8000-00000000000a"   /* the seeds' guest1 */

/* The seeds' guest1 forwards, as the doctor plans them: tcp 2222 -> 22 on each family, and
 * 2223 -> 22 from=203.0.113.0/24 (foreign rules' -s is compared with it). */
#define N_FWD 3
static struct vp_forward fwd[N_FWD];
static struct vp_cidr from;
static struct vp_ruleset planned[N_FWD];

static void plan_one(size_t i, int family, const char *guest, const char *net, uint16_t hport)
{
	struct vp_subnet sub = {0};
	struct vp_target t = {.f = &fwd[i], .subnet = &sub, .bridge = "virbr0"};

	fwd[i] = (struct vp_forward){.domain = (char *)"guest1", .proto = IPPROTO_TCP,
	                             .family = family, .host_port = hport, .host_port_end = hport,
	                             .guest_port = 22, .guest_port_end = 22, .hairpin = true,
	                             .local = true};
	FUZZ_ASSERT(vp_addr_parse(guest, strlen(guest), &t.guest) == 0);
	FUZZ_ASSERT(vp_cidr_parse(net, strlen(net), &sub.net) == 0);
	if (hport == 2223) {
		FUZZ_ASSERT(vp_cidr_parse("203.0.113.0/24", 14, &from) == 0);
		fwd[i].from = &from;
		fwd[i].n_from = 1;
	}
	FUZZ_ASSERT(vp_ruleset_init(&planned[i], UUID) == 0 && vp_plan(&t, 1, &planned[i]) == 0);
}

static void plan_all(void)
{
	if (planned[0].n)
		return;
	plan_one(0, AF_INET, "192.168.122.10", "192.168.122.0/24", 2222);
	plan_one(1, AF_INET6, "2001:db8:122::10", "2001:db8:122::/64", 2222);
	plan_one(2, AF_INET, "192.168.122.10", "192.168.122.0/24", 2223);
}

/* The rule checks of each forward on the listing s, as the listing of both families where
 * `backend` writes. Quiet: the checks run for their findings, nothing is printed. */
static void check_rules(struct vp_listing *s, const char *backend)
{
	const struct vp_backend be = {.name = backend};
	struct vp_buf out = {0};
	struct vp_ctx c = {.out = &out};
	struct doctor dr = {.c = &c, .quiet = true};
	struct dr_net net = {.lv = &be};
	int v = dr_variant(&be);

	plan_all();
	dr.offline = true;
	dr.lists[v][0] = dr.lists[v][1] = *s;   /* read: the doctor lists nothing itself */
	for (int o = 0; o < DR_VARIANTS; o++)   /* nor any other table of this machine */
		if (o != v)
			dr.lists[o][0] = dr.lists[o][1] = (struct vp_listing){.loaded = true, .r = -ENOENT};
	for (size_t i = 0; i < N_FWD; i++) {
		struct dr_fwd fw = {.f = &fwd[i], .net = &net, .resolved = true, .planned = true,
		                    .rs = planned[i]};
		snprintf(fw.label, sizeof(fw.label), "guest1 tcp %u", fwd[i].host_port);
		dr_find_installed(&dr, &fw);
		/* Of either family: here one listing stands for both (the doctor's are per family). */
		FUZZ_ASSERT(!fw.installed.family || fw.installed.family == AF_INET ||
		            fw.installed.family == AF_INET6);
		dr_check_rules(&dr, &fw);
	}
	dr_hooks_free(&dr);
	FUZZ_ASSERT(!out.s);   /* quiet */
}

/* A string of a listing line points into the listing's text, or is the parser's own "". */
static void check_str(const struct vp_listing *s, size_t len, const char *str)
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
static void check_counters(const struct vp_listing *s)
{
	struct vp_buf next = {0}, key = {0};
	uint64_t p;

	vp_buf_printf(&next, "time 1795590000\n");
	for (size_t i = 0; i < s->n && !next.err; i++) {
		const struct vp_listed_rule *l = &s->l[i];
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

static void check_listing(const struct vp_listing *s, size_t len, bool xt)
{
	FUZZ_ASSERT(s->n == 0 || s->l);
	FUZZ_ASSERT(s->n_c == 0 || s->c);
	for (size_t i = 0; i < s->n_c; i++) {
		check_str(s, len, s->c[i].table);
		check_str(s, len, s->c[i].name);
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct vp_listed_rule *l = &s->l[i], *prev = i ? &s->l[i - 1] : NULL, *f;
		const char *target;
		check_str(s, len, l->table);
		check_str(s, len, l->chain);
		check_str(s, len, l->spec);
		/* Positions count each chain's run of lines from 1. */
		FUZZ_ASSERT(l->pos == (prev && !strcmp(prev->table, l->table) &&
		                       !strcmp(prev->chain, l->chain) ? prev->pos + 1 : 1));
		f = vp_listing_find(s, l->table, l->chain, l->spec);
		FUZZ_ASSERT(f && f <= l && !strcmp(f->spec, l->spec));
		target = xt ? jump_target(l->spec) : NULL;
		if (target) {
			f = vp_listing_jump(s, l->table, l->chain, target);
			FUZZ_ASSERT(f && f <= l);
		}
	}
	check_counters(s);
}

static void one(const uint8_t *data, size_t size, bool xt)
{
	struct vp_listing s = {.loaded = true};
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
	r = vp_listing_parse_xt(&s);
#else
	r = xt ? vp_listing_parse_xt(&s) : vp_listing_parse_nft(&s);
#endif
	FUZZ_ASSERT(r == 0 || r == -ENOMEM);
	check_listing(&s, len, xt);
	/* Each input is mostly of one format: the other's parser finds no line in it, and the
	 * checks on an empty listing are the seeds' (the time goes to the format it is). */
	if (r == 0 && s.n)
		check_rules(&s, xt ? "iptables-nft" : "nftables");
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

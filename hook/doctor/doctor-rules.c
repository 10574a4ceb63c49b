/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The doctor's rule stage: each rule a forward needs, found by its exact text (the backend's
 * where()) in the listing of where libvirt's rules live (the backend's list(), read once); our
 * accept above libvirt's reject; nothing of ours in the other iptables variant's tables; no
 * foreign rule ahead of ours that drops or diverts the same traffic. */
#include "doctor-int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char fix_apply[] =
	"run `virt-portfwd apply`: it re-installs the forwards of every running guest";

const struct vp_listing *dr_listing(struct doctor *dr, int variant, int family)
{
	struct vp_listing *s = &dr->lists[variant][family == AF_INET6];
	const struct vp_backend *b = dr_backend(variant);

	if (s->loaded)
		return s;
	if (b && b->list) {
		b->list(family, s);
	} else {
		s->r = -EOPNOTSUPP;
		snprintf(s->err, sizeof(s->err), "this build cannot list them");
	}
	s->loaded = true;
	return s;
}

void dr_listings_free(struct doctor *dr)
{
	for (int v = 0; v < DR_VARIANTS; v++)
		for (int fi = 0; fi < 2; fi++)
			vp_listing_free(&dr->lists[v][fi]);
}

/* The listing of the variant a forward's rules must be in; NULL when there is none (the
 * backend check said why) or it cannot be read (reported if `report`). */
static const struct vp_listing *fwd_listing(struct doctor *dr, const struct dr_fwd *fw,
                                            bool report)
{
	int v = fw->net ? dr_variant(fw->net->lv) : -1;
	const struct vp_listing *s;

	if (v < 0)
		return NULL;
	s = dr_listing(dr, v, fw->f->family);
	if (s->r < 0) {
		if (report)
			dr_report(dr, "rules", fw->label, DR_FAIL, "run the doctor as root",
			          "cannot list the rules: %s", s->err);
		return NULL;
	}
	return s;
}

int dr_where(int variant, const struct vp_rule *r, const char *owner, struct vp_where *ret)
{
	const struct vp_backend *b = dr_backend(variant);

	return b && b->where ? b->where(r, owner, ret) : -EOPNOTSUPP;
}

/* ------------------------------------------------------------------------------------------- */
/* Where our DNAT sends to. */

/* The guest address of a DNAT's translation: iptables "192.0.2.1:22" or "[2001:db8::1]:22"
 * (after --to-destination); nft "to 192.0.2.1:22", "to [2001:db8::1]:22", "to 192.0.2.1", or
 * a port map "ip to tcp dport map { 8080 : 192.0.2.1 . 80, ... }". */
static bool dnat_addr(const char *to, int family, struct vp_addr *ret)
{
	const char *m = strstr(to, "map { "), *end;

	if (m && (m = strstr(m, " : ")))
		to = m + 3;
	else if (!strncmp(to, "to ", 3))
		to += 3;
	if (*to == '[')
		end = strchr(++to, ']');
	else
		end = to + strcspn(to, family == AF_INET6 ? " ," : ": ,");
	return end && vp_addr_parse(to, (size_t)(end - to), ret) == 0;
}

/* Our DNAT rule of this forward as listed, whatever guest address it has: same text up to the
 * translation, and the owner's comment. */
static void find_dnat(const struct vp_listing *s, const struct vp_where *w, const char *cut_at,
                      const char *owner, int family, struct vp_addr *ret)
{
	const char *cut = strstr(w->spec, cut_at);
	size_t plen = cut ? (size_t)(cut - w->spec) + strlen(cut_at) : 0;
	struct vp_addr a;

	for (size_t i = 0; cut && i < s->n; i++) {
		const struct vp_listed_rule *l = &s->l[i];
		if (!strcmp(l->chain, w->chain) && !strcmp(l->table, w->table) &&
		    !strncmp(l->spec, w->spec, plen) && strstr(l->spec, owner) &&
		    dnat_addr(l->spec + plen, family, &a)) {
			*ret = a;
			return;
		}
	}
}

void dr_find_installed(struct doctor *dr, struct dr_fwd *fw)
{
	const struct vp_listing *s = fwd_listing(dr, fw, false);
	int v = s ? dr_variant(fw->net->lv) : -1;
	char owner[VP_OWNER_MAX + 2];

	snprintf(owner, sizeof(owner), "\"%s\"", fw->rs.owner);
	for (size_t k = 0; s && k < fw->rs.n && !fw->installed.family; k++) {
		const struct vp_rule *r = &fw->rs.r[k];
		struct vp_where w;
		if ((r->stage != VP_ST_PRE_DNAT && r->stage != VP_ST_OUT_DNAT) ||
		    dr_where(v, r, fw->rs.owner, &w) < 0)
			continue;
		find_dnat(s, &w, v == DR_NFTABLES ? " dnat " : " -j DNAT --to-destination ", owner,
		          r->family, &fw->installed);
		vp_where_free(&w);
	}
}

/* ------------------------------------------------------------------------------------------- */
/* Each rule present, and reached from its built-in chain (iptables; nft chains of ours are base
 * chains). */

static const struct {
	const char *check, *builtin;
} stage_info[VP_ST_COUNT] = {
	[VP_ST_PRE_DNAT] = {"rules.dnat", "PREROUTING"},
	[VP_ST_OUT_DNAT] = {"rules.output_dnat", "OUTPUT"},
	[VP_ST_POST_HAIRPIN] = {"rules.hairpin", "POSTROUTING"},
	[VP_ST_POST_MASQ] = {"rules.masquerade", "POSTROUTING"},
	[VP_ST_FWD_ACCEPT] = {"rules.accept", "FORWARD"},
};

/* The rule in words: "the DNAT to 192.168.122.10:22", "the accept of DNAT'd connections ...". */
static void describe(const struct vp_rule *r, struct vp_buf *b)
{
	char g[VP_ADDR_STRLEN], c[VP_CIDR_STRLEN];
	bool v6 = r->family == AF_INET6;

	vp_addr_str(&r->guest, g);
	switch (r->stage) {
	case VP_ST_PRE_DNAT: vp_buf_printf(b, "the DNAT"); break;
	case VP_ST_OUT_DNAT: vp_buf_printf(b, "the DNAT for clients on the host itself"); break;
	case VP_ST_POST_HAIRPIN:
		vp_buf_printf(b, "the hairpin MASQUERADE of %s", vp_cidr_str(&r->net, c));
		break;
	case VP_ST_POST_MASQ: vp_buf_printf(b, "the MASQUERADE (masquerade=yes)"); break;
	case VP_ST_FWD_ACCEPT: vp_buf_printf(b, "the accept of DNAT'd connections"); break;
	case VP_ST_COUNT: break;
	}
	vp_buf_printf(b, " to %s%s%s:%u", v6 ? "[" : "", g, v6 ? "]" : "", r->gport);
	if (r->gport_end != r->gport)
		vp_buf_printf(b, "-%u", r->gport_end);
	if (r->stage == VP_ST_FWD_ACCEPT)
		vp_buf_printf(b, " out %s", r->bridge);
	if (r->not_from_bridge)
		vp_buf_printf(b, " except from %s (hairpin=no)", r->bridge);
	if (r->has_src && r->stage != VP_ST_POST_HAIRPIN)
		vp_buf_printf(b, " from %s", vp_cidr_str(&r->src, c));
}

/* The rules of one stage of a forward, as found: how many, how many missing, where. */
struct found {
	size_t n, missing;
	const struct vp_rule *shown;    /* the first missing one, else the first */
	const struct vp_listed_rule *first;
	const char *table, *chain;
};

static void find_stage(const struct dr_fwd *fw, const struct vp_listing *s, int v,
                       enum vp_stage st, struct found *f)
{
	for (size_t k = 0; k < fw->rs.n; k++) {
		const struct vp_rule *r = &fw->rs.r[k];
		const struct vp_listed_rule *l = NULL;
		struct vp_where w;
		if (r->stage != st)
			continue;
		f->n++;
		if (dr_where(v, r, fw->rs.owner, &w) == 0) {
			f->table = w.table;
			f->chain = w.chain;
			l = vp_listing_find(s, w.table, w.chain, w.spec);
			vp_where_free(&w);
		}
		if (!l && !f->missing++)
			f->shown = r;
		if (l && !f->first)
			f->first = l;
		if (!f->shown && l)
			f->shown = r;
	}
}

static void check_stage(struct doctor *dr, const struct dr_fwd *fw, const struct vp_listing *s,
                        int v, enum vp_stage st)
{
	const char *check = stage_info[st].check, *builtin = stage_info[st].builtin;
	const char *fam = v != DR_NFTABLES ? "" : fw->f->family == AF_INET6 ? "ip6 " : "ip ";
	const struct vp_listed_rule *jump = NULL;
	struct found f = {0};
	struct vp_buf d = {0};

	find_stage(fw, s, v, st, &f);
	if (!f.n)
		return;
	describe(f.shown, &d);
	if (f.table && v != DR_NFTABLES)
		jump = vp_listing_jump(s, f.table, builtin, f.chain);
	if (f.missing || !f.table)
		dr_report(dr, check, fw->label, DR_FAIL, fix_apply, "%s is missing from %s%s %s%s", d.s,
		          fam, f.table ? f.table : "?", f.chain ? f.chain : "?",
		          f.table && !vp_listing_has_chain(s, f.table, f.chain) ? " (the chain does not exist)"
		          : f.n > 1 ? " (or one of its from= rules)" : "");
	else if (v != DR_NFTABLES && !jump)
		dr_report(dr, check, fw->label, DR_FAIL, fix_apply, "%s is in %s %s, but no rule of %s "
		          "jumps there: no packet reaches it", d.s, f.table, f.chain, builtin);
	else if (v != DR_NFTABLES)
		dr_report(dr, check, fw->label, DR_OK, NULL, "%s: %s %s rule %u, reached from %s rule "
		          "%u", d.s, f.table, f.chain, f.first->pos, builtin, jump->pos);
	else
		dr_report(dr, check, fw->label, DR_OK, NULL, "%s: %s%s %s rule %u", d.s, fam, f.table,
		          f.chain, f.first->pos);
	vp_buf_free(&d);
}

bool dr_check_rules(struct doctor *dr, const struct dr_fwd *fw)
{
	const struct vp_listing *s;
	int v;

	if (!fw->net)
		return false;   /* the NIC check said why */
	if (!fw->planned) {
		dr_report(dr, "rules", fw->label, DR_SKIP, NULL,
		          "without the guest's address the expected rules are not known");
		return false;
	}
	s = fwd_listing(dr, fw, true);
	if (!s)
		return false;
	v = dr_variant(fw->net->lv);
	for (enum vp_stage st = 0; st < VP_ST_COUNT; st++)
		check_stage(dr, fw, s, v, st);
	if (v != DR_NFTABLES)
		dr_check_shadow(dr, fw, s, dr_tool(v, fw->f->family));
	return true;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The doctor's rule stage: each rule a forward needs, found by its exact text (render-xt.c
 * prints what iptables-save prints, fw-nft.c what nft lists) where libvirt's rules live; our
 * accept above libvirt's reject; nothing of ours in the other iptables variant's tables; no
 * foreign rule ahead of ours that drops or diverts the same traffic. Listings come from
 * `iptables-{nft,legacy}-save -c` (a fixed argv, no shell) or libnftables, each read once. */
#include "doctor-int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render-xt.h"
#include "run.h"

static const char *const save_tool[DR_NFTABLES][2] = {
	{"iptables-nft-save", "ip6tables-nft-save"},
	{"iptables-legacy-save", "ip6tables-legacy-save"},
};
static const char *const xt_tool[DR_NFTABLES][2] = {
	{"iptables-nft", "ip6tables-nft"},
	{"iptables-legacy", "ip6tables-legacy"},
};

static const char fix_apply[] =
	"run `virt-portfwd apply`: it re-installs the forwards of every running guest";

/* ------------------------------------------------------------------------------------------- */
/* Listings: lines of both kinds, and `iptables-save -c` read into them. */

/* ":CHAIN POLICY [p:b]" */
static int add_chain(struct dr_listing *s, const char *table, char *line)
{
	char *sp = strchr(line, ' '), *end;
	int r;

	if (sp)
		*sp++ = '\0';
	r = dr_listing_add_chain(s, table, line);
	if (r == 0 && sp && *sp != '-') {
		if ((end = strchr(sp, ' ')))
			*end = '\0';
		s->c[s->n_c - 1].policy = sp;
	}
	return r;
}

/* "[pkts:bytes] -A CHAIN SPEC" */
static int add_rule(struct dr_listing *s, const char *table, char *line)
{
	unsigned long pkts = 0;
	char *p = line, *chain, *sp;
	const char *spec = "";

	if (*p == '[') {
		char *colon = strchr(p, ':'), *end = colon ? strchr(colon, ']') : NULL;
		if (!end || vp_parse_uint(p + 1, (size_t)(colon - p - 1), 0, ULONG_MAX, &pkts) < 0)
			return 0;
		p = end + 1;
		while (*p == ' ')
			p++;
	}
	if (strncmp(p, "-A ", 3) != 0)
		return 0;
	chain = p + 3;
	sp = strchr(chain, ' ');
	if (sp) {
		*sp = '\0';
		spec = sp + 1;
	}
	return dr_listing_add(s, table, chain, spec, pkts);
}

int dr_xt_parse(struct dr_listing *s)
{
	const char *table = "";
	char *next;
	int r = 0;

	for (char *line = s->text; r == 0 && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (line[0] == '*')
			table = line + 1;
		else if (line[0] == ':')
			r = add_chain(s, table, line + 1);
		else
			r = add_rule(s, table, line);
	}
	return r;
}

/* Whether the namespace has any legacy table of this family. Listing them never creates one,
 * but a host without them needs no listing at all. */
static bool legacy_tables(int fi)
{
	const char *path = fi ? "/proc/net/ip6_tables_names" : "/proc/net/ip_tables_names";
	char *names = NULL;
	size_t len;
	bool any;

	if (vp_read_file(path, 4096, false, &names, &len) < 0)
		return false;
	any = len > 0;
	free(names);
	return any;
}

static void xt_load(struct dr_listing *s, int variant, int fi)
{
	const char *argv[] = {save_tool[variant][fi], "-c", NULL};
	struct vp_buf out = {0}, err = {0};
	int r;

	s->loaded = true;
	if (variant == DR_IPT_LEGACY && !legacy_tables(fi))
		return;
	r = vp_spawn(argv, NULL, 0, &out, VP_SPAWN_OUT_MAX, &err, -1, 0);
	if (r != 0) {
		char *nl = err.s ? strchr(err.s, '\n') : NULL;
		if (nl)
			*nl = '\0';
		snprintf(s->err, sizeof(s->err), "%s failed: %s", argv[0],
		         r < 0 ? strerror(-r) : err.s && *err.s ? err.s : "non-zero exit status");
		s->r = r < 0 ? r : -EIO;
	} else if (out.s) {
		s->text = out.s;
		out = (struct vp_buf){0};
		s->r = dr_xt_parse(s);
		if (s->r < 0)
			snprintf(s->err, sizeof(s->err), "%s: %s", argv[0], strerror(-s->r));
	}
	vp_buf_free(&out);
	vp_buf_free(&err);
}

const struct dr_listing *dr_listing(struct doctor *dr, int variant, int family)
{
	int fi = family == AF_INET6;
	struct dr_listing *s = &dr->lists[variant][fi];

	if (!s->loaded && variant == DR_NFTABLES)
		dr_nft_load(s, family);
	else if (!s->loaded)
		xt_load(s, variant, fi);
	return s;
}

void dr_listings_free(struct doctor *dr)
{
	for (int v = 0; v < DR_VARIANTS; v++)
		for (int fi = 0; fi < 2; fi++)
			dr_listing_free(&dr->lists[v][fi]);
}

static bool xt_has_chain(const struct dr_listing *s, const char *table, const char *chain)
{
	for (size_t i = 0; i < s->n_c; i++)
		if (!strcmp(s->c[i].name, chain) && !strcmp(s->c[i].table, table))
			return true;
	return false;
}

/* The listing of the variant a forward's rules must be in; NULL when there is none (the
 * backend check said why) or it cannot be read (reported if `report`). */
static const struct dr_listing *fwd_listing(struct doctor *dr, const struct dr_fwd *fw,
                                            bool report)
{
	int v = fw->net ? dr_variant(fw->net->lv) : -1;
	const struct dr_listing *s;

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

int dr_where(int variant, const struct vp_rule *r, const char *owner, struct dr_where *ret)
{
	struct vp_buf spec = {0};

	if (variant == DR_NFTABLES)
		return dr_nft_where(r, owner, ret);
	vp_render_xt_rule(r, owner, &spec);
	if (spec.err || !spec.s) {
		vp_buf_free(&spec);
		return -ENOMEM;
	}
	*ret = (struct dr_where){vp_stage_table(r->stage), vp_stage_chain(r->stage), spec.s};
	return 0;
}

void dr_where_free(struct dr_where *w)
{
	if (!w)
		return;
	free(w->spec);
	w->spec = NULL;
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
static void find_dnat(const struct dr_listing *s, const struct dr_where *w, const char *cut_at,
                      const char *owner, int family, struct vp_addr *ret)
{
	const char *cut = strstr(w->spec, cut_at);
	size_t plen = cut ? (size_t)(cut - w->spec) + strlen(cut_at) : 0;
	struct vp_addr a;

	for (size_t i = 0; cut && i < s->n; i++) {
		const struct dr_line *l = &s->l[i];
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
	const struct dr_listing *s = fwd_listing(dr, fw, false);
	int v = s ? dr_variant(fw->net->lv) : -1;
	char owner[VP_OWNER_MAX + 2];

	snprintf(owner, sizeof(owner), "\"%s\"", fw->rs.owner);
	for (size_t k = 0; s && k < fw->rs.n && !fw->installed.family; k++) {
		const struct vp_rule *r = &fw->rs.r[k];
		struct dr_where w;
		if ((r->stage != VP_ST_PRE_DNAT && r->stage != VP_ST_OUT_DNAT) ||
		    dr_where(v, r, fw->rs.owner, &w) < 0)
			continue;
		find_dnat(s, &w, v == DR_NFTABLES ? " dnat " : " -j DNAT --to-destination ", owner,
		          r->family, &fw->installed);
		dr_where_free(&w);
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
	const struct dr_line *first;
	const char *table, *chain;
};

static void find_stage(const struct dr_fwd *fw, const struct dr_listing *s, int v,
                       enum vp_stage st, struct found *f)
{
	for (size_t k = 0; k < fw->rs.n; k++) {
		const struct vp_rule *r = &fw->rs.r[k];
		const struct dr_line *l = NULL;
		struct dr_where w;
		if (r->stage != st)
			continue;
		f->n++;
		if (dr_where(v, r, fw->rs.owner, &w) == 0) {
			f->table = w.table;
			f->chain = w.chain;
			l = dr_find(s, w.table, w.chain, w.spec);
			dr_where_free(&w);
		}
		if (!l && !f->missing++)
			f->shown = r;
		if (l && !f->first)
			f->first = l;
		if (!f->shown && l)
			f->shown = r;
	}
}

static void check_stage(struct doctor *dr, const struct dr_fwd *fw, const struct dr_listing *s,
                        int v, enum vp_stage st)
{
	const char *check = stage_info[st].check, *builtin = stage_info[st].builtin;
	const char *fam = v != DR_NFTABLES ? "" : fw->f->family == AF_INET6 ? "ip6 " : "ip ";
	const struct dr_line *jump = NULL;
	struct found f = {0};
	struct vp_buf d = {0};

	find_stage(fw, s, v, st, &f);
	if (!f.n)
		return;
	describe(f.shown, &d);
	if (f.table && v != DR_NFTABLES)
		jump = dr_jump(s, f.table, builtin, f.chain);
	if (f.missing || !f.table)
		dr_report(dr, check, fw->label, DR_FAIL, fix_apply, "%s is missing from %s%s %s%s", d.s,
		          fam, f.table ? f.table : "?", f.chain ? f.chain : "?",
		          f.table && !xt_has_chain(s, f.table, f.chain) ? " (the chain does not exist)"
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
	const struct dr_listing *s;
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
		dr_check_shadow(dr, fw, s, xt_tool[v][fw->f->family == AF_INET6]);
	return true;
}
